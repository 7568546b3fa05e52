package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// writeString writes content as the file name of b.
func writeString(b *Batch, name, content string) error {
	return b.Write(name, func(w io.Writer) error {
		_, err := io.WriteString(w, content)
		return err
	})
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// oldSet writes the earlier results a.txt and b.txt (b made 0600) beside a file of the user's.
func oldSet(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range []string{"a.txt", "b.txt", "notes.txt"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("old "+f), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(filepath.Join(dir, "b.txt"), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

func wantOld(t *testing.T, dir string) {
	t.Helper()
	for _, f := range []string{"a.txt", "b.txt", "notes.txt"} {
		if got := readFile(t, filepath.Join(dir, f)); got != "old "+f {
			t.Errorf("%s holds %q, want the earlier %q", f, got, "old "+f)
		}
	}
	if n := entries(t, dir); !slices.Equal(n, []string{"a.txt", "b.txt", "notes.txt"}) {
		t.Errorf("folder holds %v, want the earlier set only (no temp files)", n)
	}
}

// The files of a batch are written under temp names (Write's, which ListTemp recognises) while
// the earlier ones stay in place, once each, and replace them together on Commit, keeping their
// permissions; other files stay.
func TestBatchReplacesTogether(t *testing.T) {
	dir := oldSet(t)
	b := NewBatch(dir)
	for _, f := range []string{"a.txt", "b.txt", "c.txt"} {
		if err := writeString(b, f, "new "+f); err != nil {
			t.Fatal(err)
		}
	}
	if err := writeString(b, "a.txt", "again"); err == nil {
		t.Error("a name written twice in one batch: no error")
	}
	if got := readFile(t, filepath.Join(dir, "a.txt")); got != "old a.txt" {
		t.Errorf("a.txt replaced before Commit: %q", got)
	}
	temps := ListTemp(dir, false)
	if len(temps) != 3 {
		t.Errorf("ListTemp finds %d temp files, want the batch's 3: %v", len(temps), temps)
	}
	for _, tf := range temps {
		if tf.Abandoned {
			t.Errorf("%s of a live batch taken as abandoned", tf.Path)
		}
	}
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"a.txt", "b.txt", "c.txt"} {
		if got := readFile(t, filepath.Join(dir, f)); got != "new "+f {
			t.Errorf("%s holds %q after Commit", f, got)
		}
	}
	if n := entries(t, dir); !slices.Equal(n, []string{"a.txt", "b.txt", "c.txt", "notes.txt"}) {
		t.Errorf("folder holds %v", n)
	}
	if runtime.GOOS != "windows" {
		if st, _ := os.Stat(filepath.Join(dir, "b.txt")); st.Mode().Perm() != 0o600 {
			t.Errorf("b.txt mode %v, want the replaced file's 0600", st.Mode().Perm())
		}
	}
	b.Abort() // a no-op after Commit
	if got := readFile(t, filepath.Join(dir, "c.txt")); got != "new c.txt" {
		t.Errorf("Abort after Commit removed a file: %q", got)
	}
}

// A batch that fails half-way (the fifth file finds the disk full, say) and is aborted leaves the
// earlier set whole: no new file beside old ones, no temp file.
func TestBatchAbortKeepsEarlierSet(t *testing.T) {
	dir := oldSet(t)
	b := NewBatch(dir)
	for _, f := range []string{"a.txt", "c.txt"} {
		if err := writeString(b, f, "new "+f); err != nil {
			t.Fatal(err)
		}
	}
	b.Abort()
	wantOld(t, dir)
	if err := b.Commit(); err == nil {
		t.Error("Commit after Abort succeeded")
	}
	wantOld(t, dir)
}

// What a batch would replace is checked before any file is: a folder where a file should go
// refuses the batch, and the earlier set stays whole.
func TestBatchRefusedBeforeReplacing(t *testing.T) {
	dir := oldSet(t)
	if err := os.Mkdir(filepath.Join(dir, "y.txt"), 0o755); err != nil {
		t.Fatal(err)
	}
	b := NewBatch(dir)
	for _, f := range []string{"a.txt", "b.txt", "z.txt"} {
		if err := writeString(b, f, "new "+f); err != nil {
			t.Fatal(err)
		}
	}
	// a folder where a file is to be written is refused at once ...
	if err := writeString(b, "y.txt", "new y.txt"); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("writing over a folder: %v, want 'not a regular file'", err)
	}
	// ... and one that appears before Commit by Commit, before any file is replaced
	if err := os.Mkdir(filepath.Join(dir, "z.txt"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := b.Commit(); err == nil {
		t.Fatal("a batch replacing a folder committed")
	}
	for _, f := range []string{"y.txt", "z.txt"} {
		if err := os.Remove(filepath.Join(dir, f)); err != nil {
			t.Fatal(err)
		}
	}
	wantOld(t, dir)
}

// A file that replaces another has that file's permissions from the start, before Commit, so
// that the mode is synced with the data (a machine's crash after Commit keeps it).
func TestBatchModeBeforeCommit(t *testing.T) {
	dir := oldSet(t) // b.txt is 0600
	b := NewBatch(dir)
	defer b.Abort()
	if err := writeString(b, "b.txt", "new b.txt"); err != nil {
		t.Fatal(err)
	}
	staged, err := filepath.Glob(filepath.Join(dir, ".b.txt"+tmpInfix+"*"))
	if err != nil || len(staged) != 1 {
		t.Fatalf("staged files of b.txt: %v, %v", staged, err)
	}
	st, err := os.Stat(staged[0])
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("staged b.txt has mode %v before Commit, want the replaced file's -rw-------", st.Mode().Perm())
	}
}

// A name that is a symbolic link is written through, as Write does: the link stays, its target
// (created if the link dangles) gets the content.
func TestBatchWritesThroughLinks(t *testing.T) {
	dir := t.TempDir()
	if err := os.Symlink("target.txt", filepath.Join(dir, "link.txt")); err != nil {
		t.Skipf("no symbolic links here: %v", err)
	}
	b := NewBatch(dir)
	if err := writeString(b, "link.txt", "through"); err != nil {
		t.Fatal(err)
	}
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Lstat(filepath.Join(dir, "link.txt")); err != nil || st.Mode()&os.ModeSymlink == 0 {
		t.Errorf("link.txt is no longer a symbolic link (%v)", err)
	}
	if got := readFile(t, filepath.Join(dir, "target.txt")); got != "through" {
		t.Errorf("target.txt holds %q", got)
	}
}

// A file of a batch whose writer fails or panics leaves nothing, the writer's error returned as
// it is; the batch's other files are committed all the same.
func TestBatchWriterFails(t *testing.T) {
	dir := oldSet(t)
	b := NewBatch(dir)
	if err := writeString(b, "c.txt", "new c.txt"); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	err := b.Write("a.txt", func(w io.Writer) error {
		w.Write(make([]byte, 3<<20)) // past the buffer: the staged file really has data
		return boom
	})
	if err != boom {
		t.Errorf("a writer's error: %v, want it unchanged", err)
	}
	func() {
		defer func() { recover() }()
		b.Write("b.txt", func(w io.Writer) error { panic("writer panicked") })
	}()
	if temps := ListTemp(dir, false); len(temps) != 1 {
		t.Errorf("temp files %v, want c.txt's only", temps)
	}
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	if n := entries(t, dir); !slices.Equal(n, []string{"a.txt", "b.txt", "c.txt", "notes.txt"}) {
		t.Errorf("folder holds %v", n)
	}
	if got := readFile(t, filepath.Join(dir, "a.txt")); got != "old a.txt" {
		t.Errorf("a.txt, whose writer failed, holds %q", got)
	}
}
