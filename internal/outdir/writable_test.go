package outdir

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// CheckWritable finds, without writing, an output directory that could not be made: under a
// file, through a link to a folder whose parent is missing, in a folder without write permission.
func TestCheckWritable(t *testing.T) {
	root := t.TempDir()
	file := filepath.Join(root, "file")
	write(t, file, "x")
	for _, ok := range []string{root, filepath.Join(root, "new"), filepath.Join(root, "new", "deeper")} {
		if err := CheckWritable(ok); err != nil {
			t.Errorf("CheckWritable(%s): %v", ok, err)
		}
	}
	if err := CheckWritable(filepath.Join(file, "out")); err == nil || !strings.Contains(err.Error(), file+" is not a folder") {
		t.Errorf("under a file: %v", err)
	}
	if runtime.GOOS != "windows" {
		symlink(t, "real", filepath.Join(root, "dangling"))
		if err := CheckWritable(filepath.Join(root, "dangling")); err != nil {
			t.Errorf("a dangling link, its target to be created: %v", err)
		}
		symlink(t, filepath.Join(root, "no", "real"), filepath.Join(root, "far"))
		if err := CheckWritable(filepath.Join(root, "far")); err == nil || !strings.Contains(err.Error(), "does not exist") {
			t.Errorf("a link to a folder whose parent is missing: %v", err)
		}
	}
	if runtime.GOOS == "windows" || os.Geteuid() == 0 {
		t.Skip("permissions not checked here, or do not bind root (make test-unprivileged runs this as nobody)")
	}
	ro := filepath.Join(root, "ro")
	if err := os.Mkdir(ro, 0o555); err != nil {
		t.Fatal(err)
	}
	if err := CheckWritable(filepath.Join(ro, "out")); err == nil || !strings.Contains(err.Error(), "cannot be created in "+ro) {
		t.Errorf("in a read-only folder: %v", err)
	}
	if err := CheckWritable(ro); err == nil || !strings.Contains(err.Error(), "cannot be written") {
		t.Errorf("a read-only folder: %v", err)
	}
}

// Target resolves a dangling link at the end of the path to where its target will be made.
func TestTargetOfDanglingLink(t *testing.T) {
	root := t.TempDir()
	symlink(t, "real", filepath.Join(root, "link"))
	real, err := filepath.EvalSymlinks(root)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Target(filepath.Join(root, "link"))
	if err != nil || got != filepath.Join(real, "real") {
		t.Errorf("Target = %s, %v; want %s", got, err, filepath.Join(real, "real"))
	}
}
