package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func entries(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

func TestWriteBytesCreatesAndReplaces(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "out.bin")
	if err := WriteBytes(p, []byte("first")); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := WriteBytes(p, []byte("second")); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "second" {
		t.Fatalf("content %q, want %q", got, "second")
	}
	st, _ := os.Stat(p)
	if st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want the replaced file's 0600", st.Mode().Perm())
	}
	if n := entries(t, dir); len(n) != 1 {
		t.Errorf("directory holds %v, want only out.bin", n)
	}
}

func TestWriteErrorLeavesTargetUntouched(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "out.bin")
	if err := WriteBytes(p, []byte("old")); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	err := Write(p, func(w io.Writer) error {
		w.Write(make([]byte, 3<<20)) // past the buffer: the temp file really has data
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want the writer's error", err)
	}
	got, _ := os.ReadFile(p)
	if string(got) != "old" {
		t.Errorf("target changed to %d bytes", len(got))
	}
	if n := entries(t, dir); len(n) != 1 {
		t.Errorf("temp file left behind: %v", n)
	}
}

func TestWritePanicRemovesTemp(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "new.bin")
	func() {
		defer func() { recover() }()
		Write(p, func(w io.Writer) error { panic("writer panicked") })
	}()
	if n := entries(t, dir); len(n) != 0 {
		t.Errorf("files left behind: %v", n)
	}
}

func TestWriteMissingDir(t *testing.T) {
	p := filepath.Join(t.TempDir(), "no", "such", "dir", "f")
	if err := WriteBytes(p, nil); err == nil {
		t.Fatal("want an error for a missing directory")
	}
}

func TestWriteRelativePath(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	if err := WriteBytes("rel.txt", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "rel.txt")); string(got) != "x" {
		t.Errorf("content %q", got)
	}
}

func TestWriteOverDirectoryFails(t *testing.T) {
	dir := t.TempDir()
	if err := WriteBytes(dir, []byte("x")); err == nil {
		t.Fatal("want an error when path is a directory")
	}
}

// A path that is a symbolic link is written through: the file it points to gets the content,
// the temp file lives beside that file, and the link stays a link.
func TestWriteThroughSymlink(t *testing.T) {
	root := t.TempDir()
	a, b := filepath.Join(root, "a"), filepath.Join(root, "b")
	os.Mkdir(a, 0o755)
	os.Mkdir(b, 0o755)
	real := filepath.Join(a, "real.txt")
	link := filepath.Join(b, "link.txt")
	if err := os.Symlink(filepath.Join("..", "a", "real.txt"), link); err != nil {
		t.Skipf("no symbolic links here: %v", err)
	}
	for _, content := range []string{"first", "second"} { // dangling, then to a file
		var temps []string
		err := Write(link, func(w io.Writer) error {
			for _, n := range entries(t, a) {
				if strings.HasPrefix(n, ".real.txt.tmp") {
					temps = append(temps, n)
				}
			}
			_, err := io.WriteString(w, content)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(temps) != 1 {
			t.Errorf("temp files beside the target while writing: %v, want one", temps)
		}
		if st, err := os.Lstat(link); err != nil || st.Mode()&os.ModeSymlink == 0 {
			t.Fatalf("%s is no longer a symbolic link (%v)", link, err)
		}
		if got, _ := os.ReadFile(real); string(got) != content {
			t.Errorf("target holds %q, want %q", got, content)
		}
		if n := entries(t, a); len(n) != 1 {
			t.Errorf("%s holds %v", a, n)
		}
		if n := entries(t, b); len(n) != 1 {
			t.Errorf("%s holds %v", b, n)
		}
	}
}
