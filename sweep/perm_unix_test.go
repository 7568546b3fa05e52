//go:build unix

package sweep_test

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/brainalign/brainalign/sweep"
)

// TestSweepFoldersFollowUmask: a sweep's folders (the output, units/, meta/) get 0777 less the
// umask, as its files do, so a group-shared project folder stays writable by the group's other
// shards.
func TestSweepFoldersFollowUmask(t *testing.T) {
	old := syscall.Umask(0o002)
	defer syscall.Umask(old)
	dir := t.TempDir()
	y := writeModel(t, filepath.Join(dir, "model"), []int{10, 100}, 2)
	p, err := sweep.Discover(filepath.Join(dir, "model"), "m")
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	cfg := config(t, out, p, y, session(t, y))
	cfg.Meta = sweep.Meta{Times: []float64{0}}
	if _, err := sweep.Run(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	n := 0
	filepath.WalkDir(out, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		st, err := os.Stat(path)
		if err != nil {
			return err
		}
		if st.Mode().Perm() != 0o775 {
			t.Errorf("%s: mode %v, want drwxrwxr-x under umask 002", path, st.Mode().Perm())
		}
		n++
		return nil
	})
	if n < 3 {
		t.Errorf("%d folders checked", n)
	}
}
