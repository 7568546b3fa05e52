package atomicfile

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// A full disk (a real one: a 64 KiB tmpfs) fails Write with an error that names the file being
// written and says the disk is full, whether the data meet it in the buffer's flush or, larger
// than the buffer, straight from write (whose error named only the temp file, a .NAME.tmp-...
// name); the file it would replace stays whole and no temp file is left. A Batch fails the same
// way, naming the file asked for, then the one file written for it (its staging name: not Write's
// temp file of that, .NAME.tmp-....tmp-..., as when the staging name was written with Write),
// and Abort leaves the earlier set. Mounting needs root; elsewhere it skips.
func TestWriteOnFullDisk(t *testing.T) {
	mnt := filepath.Join(t.TempDir(), "disk")
	if err := os.Mkdir(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("tmpfs", mnt, "tmpfs", 0, "size=64k"); err != nil {
		t.Skipf("cannot mount here: %v", err)
	}
	defer unix.Unmount(mnt, unix.MNT_DETACH)
	p := filepath.Join(mnt, "scores.npy")
	if err := WriteBytes(p, []byte("earlier")); err != nil {
		t.Fatal(err)
	}
	for _, size := range []int{100 << 10, 2 << 20} { // flushed by Write; written through by write
		err := Write(p, func(w io.Writer) error {
			_, err := io.Copy(w, bytes.NewReader(make([]byte, size)))
			return err
		})
		if err == nil || !errors.Is(err, syscall.ENOSPC) || !strings.HasPrefix(err.Error(), "atomicfile: "+p+": ") ||
			!strings.HasSuffix(err.Error(), "no space left on device") {
			t.Errorf("%d bytes: %v, want an error naming %s and saying no space left on device", size, err, p)
		}
		if b, err := os.ReadFile(p); string(b) != "earlier" {
			t.Errorf("%d bytes: %s holds %.20q (%v), want the earlier content", size, p, b, err)
		}
		if entries, _ := os.ReadDir(mnt); len(entries) != 1 {
			t.Errorf("%d bytes: %s holds %d entries, want scores.npy only (no temp file)", size, mnt, len(entries))
		}
	}

	b := NewBatch(mnt)
	err := writeString(b, "a.json", "new")
	if err == nil {
		err = b.Write("scores.npy", func(w io.Writer) error {
			_, err := w.Write(make([]byte, 2<<20))
			return err
		})
	}
	// The staged file is written once, at its staging name: the error names scores.npy, the
	// file asked for, then the staging name (not a temp name within a temp name, as when Write
	// wrote the staging name through a temp file of its own).
	if !errors.Is(err, syscall.ENOSPC) || !strings.HasPrefix(err.Error(), "atomicfile: "+p+": write ") ||
		strings.Count(err.Error(), tmpInfix) != 1 || strings.Count(err.Error(), "no space left on device") != 1 {
		t.Errorf("batch: %v, want 'atomicfile: %s: write %s: no space left on device'", err, p, filepath.Join(mnt, ".scores.npy.tmp-…"))
	}
	b.Abort()
	if entries, _ := os.ReadDir(mnt); len(entries) != 1 {
		t.Errorf("batch aborted: %s holds %d entries, want scores.npy only", mnt, len(entries))
	}
	if b, err := os.ReadFile(p); string(b) != "earlier" {
		t.Errorf("batch aborted: %s holds %.20q (%v)", p, b, err)
	}
}
