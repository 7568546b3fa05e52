package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/brainalign/brainalign/array"
	"github.com/brainalign/brainalign/sweep"
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
	acts := twoLayers(t, dir, xp)
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

// TestMergeOnlyTakesOutAlone: --merge-only merges the units as they were scored, so a flag
// beside --out is refused, naming it: a --ceiling (or --roi, --steps, --shard, a model option)
// given with it was silently not used, the tables merged without it. A variable of the
// environment (BRAINALIGN_DEVICE) is not a flag given, and -o is --out.
func TestMergeOnlyTakesOutAlone(t *testing.T) {
	dir := t.TempDir()
	xp, yp := writeStudy(t, dir, 30, 4, 3)
	acts := twoLayers(t, dir, xp)
	ceil := filepath.Join(dir, "ceiling.npy")
	if err := array.WriteNPY(ceil, []int{3}, []float64{0.5, 0.6, 0.7}); err != nil {
		t.Fatal(err)
	}
	sw := filepath.Join(dir, "sweep")
	mustRun(t, "sweep", "--features", acts, "-y", yp, "--out", sw)
	for _, extra := range [][]string{{"--ceiling", ceil}, {"--shard", "0/2"}, {"--alphas", "1,10"}, {"-y", yp}} {
		_, stderr, code := runCLI(t, append([]string{"sweep", "--merge-only", "--out", sw}, extra...)...)
		want := "--" + strings.TrimLeft(extra[0], "-")
		if extra[0] == "-y" {
			want = "--brain"
		}
		if code != 2 || !strings.Contains(stderr, "--merge-only takes --out alone") || !strings.Contains(stderr, want+" would not be used") {
			t.Errorf("sweep --merge-only %s: exit %d, %q; want it refused naming %s", strings.Join(extra, " "), code, stderr, want)
		}
	}
	// the resources of a run, which a job script may pass to every step, are no options of it
	if _, stderr, code := runCLI(t, "sweep", "--merge-only", "--out", sw, "--device", "cpu", "--memory", "1GiB"); code != 0 {
		t.Errorf("sweep --merge-only --device cpu --memory 1GiB: exit %d, %q", code, stderr)
	}
	t.Setenv("BRAINALIGN_DEVICE", "cpu")
	if _, stderr, code := runCLI(t, "sweep", "--merge-only", "-o", sw); code != 0 {
		t.Errorf("sweep --merge-only -o with BRAINALIGN_DEVICE set: exit %d, %q", code, stderr)
	}
}

// twoLayers makes a sweep's folder of two layers, both the activations xp.
func twoLayers(t *testing.T, dir, xp string) string {
	t.Helper()
	acts := filepath.Join(dir, "acts")
	if err := os.Mkdir(acts, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, l := range []string{"layer-0.npy", "layer-1.npy"} {
		if err := os.Link(xp, filepath.Join(acts, l)); err != nil {
			t.Fatal(err)
		}
	}
	return acts
}

// TestSweepRecordsMaskAndIDs: sweep.json names the --brain-mask and the id files that chose the
// targets and rows its tables hold, as encode's summary.json does (brain_mask, the command line):
// it named neither, so a sweep of a .npy brain file's masked targets did not say which they are.
func TestSweepRecordsMaskAndIDs(t *testing.T) {
	dir := t.TempDir()
	xp, yp := writeStudy(t, dir, 30, 4, 3)
	acts := twoLayers(t, dir, xp)
	mask := filepath.Join(dir, "mask.npy")
	if err := array.WriteNPY(mask, []int{3}, []bool{true, false, true}); err != nil {
		t.Fatal(err)
	}
	ids := filepath.Join(dir, "ids.txt")
	var b strings.Builder
	for i := range 30 {
		fmt.Fprintf(&b, "img%02d\n", i)
	}
	if err := os.WriteFile(ids, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	read := func(sw string) sweep.Manifest {
		var m sweep.Manifest
		data, err := os.ReadFile(filepath.Join(sw, "sweep.json"))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	masked := filepath.Join(dir, "masked")
	mustRun(t, "sweep", "--features", acts, "-y", yp, "--brain-mask", mask, "--features-ids", ids, "--brain-ids", ids, "--out", masked)
	if m := read(masked); !slices.Equal(m.BrainMask, []string{mask}) || m.IDs == nil || m.IDs.Features != ids || !slices.Equal(m.IDs.Brain, []string{ids}) {
		t.Errorf("sweep.json of a masked sweep matched by id: brain_mask %v, ids %+v", m.BrainMask, m.IDs)
	}
	plain := filepath.Join(dir, "plain")
	mustRun(t, "sweep", "--features", acts, "-y", yp, "--out", plain)
	if m := read(plain); m.BrainMask != nil || m.IDs != nil {
		t.Errorf("sweep.json of a sweep of every target, rows as stored: brain_mask %v, ids %+v", m.BrainMask, m.IDs)
	}
}

// TestRepeatedBrainIDsSayWhatToDo: --brain-ids of trials (a stimulus on several lines) is refused
// saying how to average them first, as an epochs file's repeated events are; it named the lines
// only. Repeated feature ids are ambiguous, not trials: no such advice.
func TestRepeatedBrainIDsSayWhatToDo(t *testing.T) {
	dir := t.TempDir()
	xp, yp := writeStudy(t, dir, 30, 4, 3)
	var b strings.Builder
	for i := range 30 {
		fmt.Fprintf(&b, "img%02d\n", i%15)
	}
	trials := filepath.Join(dir, "trials.txt")
	if err := os.WriteFile(trials, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	b.Reset()
	for i := range 30 {
		fmt.Fprintf(&b, "img%02d\n", i)
	}
	ids := filepath.Join(dir, "ids.txt")
	if err := os.WriteFile(ids, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	const advice = "average repeated trials first with brainalign ceiling --brain BRAIN --ids "
	_, stderr, code := runCLI(t, "encode", "-x", xp, "-y", yp, "--features-ids", ids, "--brain-ids", trials, "-o", filepath.Join(dir, "a"))
	if code != 1 || !strings.Contains(stderr, `id "img00" on line 16 repeats line 1`) || !strings.Contains(stderr, advice+trials) {
		t.Errorf("repeated brain ids: exit %d, %q", code, stderr)
	}
	// the advice runs as written (BRAIN and DIR filled in) and writes the files it names
	_, advised, _ := strings.Cut(stderr, "average repeated trials first with brainalign ")
	advised, _, _ = strings.Cut(advised, ", then give")
	avg := filepath.Join(dir, "avg")
	args := strings.Fields(strings.NewReplacer("BRAIN", yp, "DIR", avg).Replace(advised))
	if _, errOut, code := runCLI(t, args...); code != 0 {
		t.Errorf("the advice, brainalign %s: exit %d, %q", strings.Join(args, " "), code, errOut)
	}
	for _, f := range []string{"averaged.npy", "averaged_ids.txt"} {
		if _, err := os.Stat(filepath.Join(avg, f)); err != nil || !strings.Contains(stderr, "DIR/"+f) {
			t.Errorf("the advice's %s: %v, in %q", f, err, stderr)
		}
	}
	_, stderr, code = runCLI(t, "encode", "-x", xp, "-y", yp, "--features-ids", trials, "--brain-ids", ids, "-o", filepath.Join(dir, "b"))
	if code != 1 || !strings.Contains(stderr, `id "img00" on line 16 repeats line 1`) || strings.Contains(stderr, "average") {
		t.Errorf("repeated feature ids: exit %d, %q", code, stderr)
	}
}
