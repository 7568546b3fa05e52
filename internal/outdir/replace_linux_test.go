package outdir

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// exchangeable skips the test where the file system of dir cannot exchange two directories.
func exchangeable(t *testing.T, dir string) {
	t.Helper()
	a, b := filepath.Join(dir, "xa"), filepath.Join(dir, "xb")
	os.Mkdir(a, 0o755)
	os.Mkdir(b, 0o755)
	defer os.Remove(a)
	defer os.Remove(b)
	err := unix.Renameat2(unix.AT_FDCWD, a, unix.AT_FDCWD, b, unix.RENAME_EXCHANGE)
	if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EOPNOTSUPP) {
		t.Skipf("%s cannot exchange directories: the fallback is tested by TestReplaceFallsBackToRenames", dir)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// replaceWatched replaces final (holding a) with a folder holding b, and returns whether the path
// named a folder between the steps of the replacement, and what it held.
func replaceWatched(t *testing.T, final string) (named bool, held []string) {
	t.Helper()
	commit(t, final, false, "a")
	d, err := Create(final, true)
	if err != nil {
		t.Fatal(err)
	}
	write(t, d.Path("b"), "b")
	seen := false
	betweenReplaceSteps = func(path string) {
		seen = true
		if path != final {
			t.Errorf("hook called for %s, want %s", path, final)
		}
		entries, err := os.ReadDir(path)
		named = err == nil
		for _, e := range entries {
			held = append(held, e.Name())
		}
	}
	defer func() { betweenReplaceSteps = func(string) {} }()
	if err := d.Commit(); err != nil {
		t.Fatal(err)
	}
	if !seen {
		t.Error("the hook between the steps was not called")
	}
	if n := names(t, final); len(n) != 1 || n[0] != "b" {
		t.Errorf("output holds %v, want [b]", n)
	}
	if n := names(t, filepath.Dir(final)); len(n) != 1 {
		t.Errorf("leftovers beside the output: %v", n)
	}
	return named, held
}

// Replacing an output directory (--overwrite) leaves no moment in which its path names nothing
// or a partial folder: between the exchange and the removal of the previous results, a reader
// finds the complete new folder.
func TestReplaceNeverLeavesPathEmpty(t *testing.T) {
	root := t.TempDir()
	exchangeable(t, root)
	if named, held := replaceWatched(t, filepath.Join(root, "out")); !named || len(held) != 1 || held[0] != "b" {
		t.Errorf("between the steps the output path named a folder: %v, holding %v; want the new results [b]", named, held)
	}
}

// Where the file system or kernel refuses the exchange, the previous results are renamed away
// and the new ones in, as on other systems; any other error is reported, nothing replaced.
func TestReplaceFallsBackToRenames(t *testing.T) {
	t.Cleanup(func() { renameat2 = unix.Renameat2 })
	for _, refusal := range []syscall.Errno{unix.EINVAL, unix.ENOSYS, unix.EOPNOTSUPP} {
		renameat2 = func(int, string, int, string, uint) error { return refusal }
		if named, held := replaceWatched(t, filepath.Join(t.TempDir(), "out")); named {
			t.Errorf("%v: between the renames the output path named a folder holding %v, want nothing (the fallback's renames)", refusal, held)
		}
	}

	renameat2 = func(int, string, int, string, uint) error { return unix.EIO }
	final := filepath.Join(t.TempDir(), "out")
	commit(t, final, false, "a")
	d, err := Create(final, true)
	if err != nil {
		t.Fatal(err)
	}
	write(t, d.Path("b"), "b")
	want := final + ": cannot replace: " + unix.EIO.Error()
	if err := d.Commit(); err == nil || err.Error() != want {
		t.Errorf("Commit with the exchange failing: %v, want %q", err, want)
	}
	if n := names(t, final); len(n) != 1 || n[0] != "a" {
		t.Errorf("output holds %v, want the previous results [a]", n)
	}
	if n := names(t, filepath.Dir(final)); len(n) != 1 {
		t.Errorf("leftovers beside the output: %v", n)
	}
}
