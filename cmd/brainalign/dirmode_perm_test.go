//go:build unix

package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// setUmask sets the process umask for the test (the tests of this package do not run in
// parallel).
func setUmask(t *testing.T, mask int) {
	old := syscall.Umask(mask)
	t.Cleanup(func() { syscall.Umask(old) })
}

// checkDirModes checks that every directory under root (root included) has mode want.
func checkDirModes(t *testing.T, root string, want fs.FileMode) {
	t.Helper()
	n := 0
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		n++
		st, err := os.Stat(p)
		if err != nil {
			return err
		}
		if got := st.Mode().Perm(); got != want {
			t.Errorf("%s: mode %v, want %v", p, got, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatalf("%s: no directories", root)
	}
}

// Directories the commands make follow the umask, as their files do: under umask 002 a group
// can write in them (they were made 0755 whatever the umask).
func TestDirModesFollowUmask(t *testing.T) {
	_, _, fm := metricSweeps(t) // made before the umask is set; only their readers run below
	setUmask(t, 0o002)
	root := t.TempDir()

	// synth: the output directory and every folder in it (model/, model/ckpt-*, fmri/sub-NN, meg/...)
	for _, format := range []string{"npy", "npz"} {
		out := filepath.Join(root, "synth-"+format)
		mustRun(t, "synth", "--out", out, "--format", format)
		checkDirModes(t, out, 0o775)
		if format == "npy" {
			if entries, _ := os.ReadDir(filepath.Join(out, "model")); len(entries) == 0 || !entries[0].IsDir() {
				t.Errorf("synth --format npy: no checkpoint folders in model/: %v", entries)
			}
		}
	}

	// the metric commands: --out and the parents they create
	for _, c := range [][]string{
		{"spatial", "--no-figures", "--out", filepath.Join(root, "metrics", "a", "spatial"), fm[0], fm[1]},
		{"halftime", "--no-figures", "--out", filepath.Join(root, "metrics", "b", "halftime"), fm[0], fm[1]},
		{"compare", "--a", fm[0], "--a", fm[1], "--b", fm[0], "--b", fm[1], "--out", filepath.Join(root, "metrics", "c", "compare")},
	} {
		mustRun(t, c...)
	}
	checkDirModes(t, filepath.Join(root, "metrics"), 0o775)

	// demo's temporary study folder, kept after a successful demo
	t.Setenv("TMPDIR", t.TempDir())
	d, err := mkdirTemp("brainalign-demo-")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(filepath.Base(d), "brainalign-demo-") || filepath.Dir(d) != os.TempDir() {
		t.Errorf("temporary folder %s", d)
	}
	checkDirModes(t, d, 0o775)

	// and with a stricter umask, stricter modes
	setUmask(t, 0o027)
	out := filepath.Join(root, "strict", "spatial")
	mustRun(t, "spatial", "--no-figures", "--out", out, fm[0], fm[1])
	checkDirModes(t, filepath.Join(root, "strict"), 0o750)
}
