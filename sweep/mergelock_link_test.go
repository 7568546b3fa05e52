package sweep

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// The merge lock is taken, holding its tag, where hard links cannot be made (created with
// O_EXCL then), and where a link reports EEXIST for the link it made itself (NFS: a LINK request
// sent again after its reply was lost); in the latter it waited for its own lock, held by a live
// process, until MergeLockStale.
func TestMergeLockLinks(t *testing.T) {
	for _, c := range []struct {
		name string
		link func(oldname, newname string) error
	}{
		{"no hard links", func(oldname, newname string) error {
			return &os.LinkError{Op: "link", Old: oldname, New: newname, Err: syscall.EPERM}
		}},
		{"link retried on NFS", func(oldname, newname string) error {
			if err := os.Link(oldname, newname); err != nil {
				return err
			}
			return &os.LinkError{Op: "link", Old: oldname, New: newname, Err: syscall.EEXIST}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			defer func(old func(string, string) error) { linkFile = old }(linkFile)
			linkFile = c.link
			defer func(old func(context.Context) error) { mergeLockWait = old }(mergeLockWait)
			errWaited := errors.New("waited for the lock")
			mergeLockWait = func(context.Context) error { return errWaited }

			dir := t.TempDir()
			unlock, waited, err := lockMerge(context.Background(), dir, nil)
			if err != nil || waited {
				t.Fatalf("lock not taken at once: waited %v, %v", waited, err)
			}
			p := filepath.Join(dir, mergeLockFile)
			b, err := os.ReadFile(p)
			if err != nil || !strings.HasSuffix(string(b), "\n") || len(b) < 10 {
				t.Errorf("lock holds %q, %v; want its tag", b, err)
			}
			// a second merger waits
			if _, _, err := lockMerge(context.Background(), dir, nil); !errors.Is(err, errWaited) {
				t.Errorf("second merger: %v, want it to wait", err)
			}
			unlock()
			entries, _ := os.ReadDir(dir)
			for _, e := range entries {
				t.Errorf("left in the folder: %s", e.Name())
			}
		})
	}
}
