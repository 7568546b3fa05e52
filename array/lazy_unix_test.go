//go:build unix

package array

import (
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// A named pipe is refused without opening it (which would wait for a writer).
func TestNamedPipe(t *testing.T) {
	p := filepath.Join(t.TempDir(), "fifo.npy")
	if err := unix.Mkfifo(p, 0o600); err != nil {
		t.Skip(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := Read(p)
		done <- err
	}()
	select {
	case err := <-done:
		checkErr(t, "fifo", err, p, "is not a regular file (a named pipe)")
	case <-time.After(10 * time.Second):
		t.Fatal("Read of a named pipe waits for a writer")
	}
}
