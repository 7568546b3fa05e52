package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestModelFlagsRefusedBeforeReading: model and fold flags wrong in themselves or together are
// refused as encode, sweep and universal start, before the brain data are read: they were
// checked once the brain file was read (and matched by id), seconds per GB of a compressed
// file. The brain file here is not an array at all, so a command that reads it first fails on
// it instead.
func TestModelFlagsRefusedBeforeReading(t *testing.T) {
	dir := t.TempDir()
	xp, _ := writeStudy(t, dir, 30, 4, 3)
	brain := filepath.Join(dir, "brain.npy")
	if err := os.WriteFile(brain, []byte("not an array"), 0o644); err != nil {
		t.Fatal(err)
	}
	acts := filepath.Join(dir, "acts")
	if err := os.Mkdir(acts, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(xp, filepath.Join(acts, "layer-0.npy")); err != nil {
		t.Fatal(err)
	}
	ids := filepath.Join(dir, "ids.txt") // never read: the refusals come first
	commands := map[string][]string{
		"encode":    {"encode", "-x", xp, "-y", brain},
		"sweep":     {"sweep", "--features", acts, "-y", brain},
		"universal": {"universal", "--features", xp, "--features", xp, "-y", brain},
	}
	cases := []struct {
		flags []string
		want  string
	}{
		{[]string{"--alphas", "1,x"}, `--alphas "1,x"`},
		{[]string{"--inner", "kfold:1"}, `--inner "kfold:1"`},
		{[]string{"--folds", "1"}, "--folds: need at least 2"},
		{[]string{"--shuffle-seed", "4294967296"}, "numpy's seeds stop at 4294967295"},
		{[]string{"--groups", ids, "--shuffle-seed", "1"}, "--groups and --shuffle-seed exclude each other"},
		{[]string{"--test-fold", ids, "--folds", "3"}, "--test-fold and --folds exclude each other"},
		{[]string{"--test-ids", ids}, "needs --brain-ids"},
	}
	for name, cmd := range commands {
		for i, tc := range cases {
			args := append(append(slices.Clone(cmd), "-o", filepath.Join(dir, name, string(rune('a'+i)))), tc.flags...)
			_, stderr, code := runCLI(t, args...)
			if code != 2 || !strings.Contains(stderr, tc.want) {
				t.Errorf("%s %s: exit %d, %q; want exit 2 and %q", name, strings.Join(tc.flags, " "), code, stderr, tc.want)
			}
		}
	}
	_, stderr, code := runCLI(t, "encode", "-x", xp, "-y", brain, "-o", filepath.Join(dir, "ceil"), "--ceiling-min", "0.2")
	if code != 2 || !strings.Contains(stderr, "--ceiling-min needs --ceiling") {
		t.Errorf("encode --ceiling-min without --ceiling: exit %d, %q", code, stderr)
	}
}
