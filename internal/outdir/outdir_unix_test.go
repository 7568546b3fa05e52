//go:build unix

package outdir

import (
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// withUmask sets the process umask for the test (tests in this package do not run in parallel).
func withUmask(t *testing.T, mask int) {
	old := syscall.Umask(mask)
	t.Cleanup(func() { syscall.Umask(old) })
}

func perm(t *testing.T, p string) fs.FileMode {
	t.Helper()
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return st.Mode() & (fs.ModePerm | fs.ModeSetgid | fs.ModeSticky)
}

func TestModesFollowUmask(t *testing.T) {
	for _, tc := range []struct {
		umask          int
		dirMode, fMode fs.FileMode
	}{{0o022, 0o755, 0o644}, {0o002, 0o775, 0o664}, {0o027, 0o750, 0o640}, {0o077, 0o700, 0o600}} {
		withUmask(t, tc.umask)
		root := t.TempDir()
		final := filepath.Join(root, "out")
		d, err := Create(final, false)
		if err != nil {
			t.Fatal(err)
		}
		if got := perm(t, d.Path("")); got != tc.dirMode {
			t.Errorf("umask %04o: staging directory %v, want %v", tc.umask, got, tc.dirMode)
		}
		// as the commands write: by Write, a file in a folder of the output too (Write makes it)
		for _, name := range []string{"scores.npy", filepath.Join("sub-01", "brain.npy")} {
			if err := d.Write(name, func(w io.Writer) error { _, err := w.Write([]byte("x")); return err }); err != nil {
				t.Fatal(err)
			}
		}
		if err := d.Commit(); err != nil {
			t.Fatal(err)
		}
		for _, dir := range []string{final, filepath.Join(final, "sub-01")} {
			if got := perm(t, dir); got != tc.dirMode {
				t.Errorf("umask %04o: %s %v, want %v", tc.umask, dir, got, tc.dirMode)
			}
		}
		for _, file := range []string{"scores.npy", filepath.Join("sub-01", "brain.npy")} {
			if got := perm(t, filepath.Join(final, file)); got != tc.fMode {
				t.Errorf("umask %04o: %s %v, want %v", tc.umask, file, got, tc.fMode)
			}
		}
	}
}

// A directory that replaces another takes over its permissions (here wider than the umask's,
// with setgid, as group directories on clusters often are).
func TestOverwriteKeepsMode(t *testing.T) {
	withUmask(t, 0o077)
	for _, full := range []bool{false, true} {
		final := filepath.Join(t.TempDir(), "out")
		if err := os.Mkdir(final, 0o700); err != nil {
			t.Fatal(err)
		}
		want := fs.FileMode(0o2751)
		if err := os.Chmod(final, want); err != nil {
			t.Fatal(err)
		}
		if perm(t, final) != want { // setgid not settable here (not in the group)
			want = perm(t, final)
		}
		if full {
			os.WriteFile(filepath.Join(final, "old"), nil, 0o644)
		}
		d, err := Create(final, full)
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Commit(); err != nil {
			t.Fatal(err)
		}
		if got := perm(t, final); got != want {
			t.Errorf("non-empty %v: replaced directory %v, want the previous %v", full, got, want)
		}
	}
}

// Replacing a results folder made read-only (chmod a-w, to protect it) leaves no copy of the old
// results behind, run after run (the new folder keeps the mode). Root ignores permissions, so
// the test needs another user.
func TestReplaceReadOnly(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("permissions do not bind root: make test-unprivileged runs this as nobody")
	}
	root := t.TempDir()
	final := filepath.Join(root, "out")
	for i := range 3 {
		d, err := Create(final, i > 0)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(d.Path("a"), []byte("1"), 0o444); err != nil {
			t.Fatal(err)
		}
		if err := d.Commit(); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(final, 0o555); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { os.Chmod(final, 0o755) })
	if entries, _ := os.ReadDir(root); len(entries) != 1 {
		t.Errorf("leftovers beside the output: %v", entries)
	}
}
