package atomicfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/brainalign/brainalign/internal/crashpoint"
	"github.com/brainalign/brainalign/internal/owner"
)

// Batch writes several files of a folder that replace their predecessors together: each is
// written under a temp name (Write's, .NAME.tmp-HOST-PID-RANDOM, so that RemoveAbandoned clears
// what a killed run left), and Commit renames them into place only once every one is written. A
// run that fails half-way (a full disk, a signal) calls Abort and leaves the previous set whole,
// not new files beside old ones. A process killed (SIGKILL, out of memory) during Commit's
// renames, one per file in a few microseconds, does leave new files beside old ones: POSIX
// renames one name at a time; a folder that can be replaced as a whole is written with
// internal/outdir instead.
//
// As with Write, a name that is a symbolic link is written through, and a file replaced keeps
// its permissions.
type Batch struct {
	dir    string
	staged []staged
	byName map[string]int
	done   bool
}

type staged struct {
	path   string // as the caller named it
	target string // path with a final symbolic link followed: what is replaced
	tmp    string
}

// NewBatch starts a batch of files in dir.
func NewBatch(dir string) *Batch { return &Batch{dir: dir, byName: map[string]int{}} }

// Write writes the file name of the batch, once, under its temp name beside the file it will
// replace (written through a buffer, synced: see WriteStaged), for Commit to rename into place.
// write is as for Write; errors name the file as dir/name. On any error, or a panic of write,
// nothing of the file is left, and the batch's other files are kept for Commit or Abort.
func (b *Batch) Write(name string, write func(w io.Writer) error) error {
	if b.done {
		return errors.New("atomicfile: batch already committed or aborted")
	}
	path := filepath.Join(b.dir, name)
	if _, ok := b.byName[name]; ok {
		return fmt.Errorf("atomicfile: %s: written twice in one batch", path)
	}
	target, err := resolve(path)
	if err != nil {
		return fmt.Errorf("atomicfile: %s: %w", path, err)
	}
	dir, base := filepath.Split(target)
	if base == "" {
		return fmt.Errorf("atomicfile: %q: not a file name", path)
	}
	// The file takes the permissions of the file it replaces before it is synced, so that a
	// machine's crash after Commit cannot leave it with a new file's (Commit checks them again).
	replaced, err := os.Stat(target)
	if err != nil {
		replaced = nil // nothing to replace (or Commit says why)
	} else if !replaced.Mode().IsRegular() {
		return fmt.Errorf("atomicfile: %s: exists and is not a regular file", path)
	}
	tmp := filepath.Join(dir, "."+base+tmpInfix+owner.NewTag())
	if err := writeStaged(tmp, path, replaced, write); err != nil {
		return err
	}
	b.byName[name] = len(b.staged)
	b.staged = append(b.staged, staged{path: path, target: target, tmp: tmp})
	return nil
}

// Commit renames the files written into place. Every file is checked first (what it replaces
// must be a regular file), so that a batch refused is refused before any file is replaced; the
// renames themselves, within one folder, do not fail for want of space. On error the temp files
// not yet renamed are removed.
func (b *Batch) Commit() error {
	if b.done {
		return errors.New("atomicfile: batch already committed or aborted")
	}
	for _, s := range b.staged {
		st, err := os.Stat(s.target)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err == nil && !st.Mode().IsRegular() {
			err = errors.New("exists and is not a regular file")
		}
		if err == nil {
			err = os.Chmod(s.tmp, st.Mode().Perm()) // the replaced file's permissions, as Write keeps them
		}
		if err != nil {
			b.Abort()
			return fmt.Errorf("atomicfile: %s: %w", s.path, err)
		}
	}
	dirs := map[string]bool{}
	for i, s := range b.staged {
		crashpoint.Step("batch: renaming", s.tmp)
		if err := os.Rename(s.tmp, s.target); err != nil {
			b.Abort()
			return fmt.Errorf("atomicfile: %s: %w (%d of the %d files were replaced)", s.path, err, i, len(b.staged))
		}
		dirs[filepath.Dir(s.target)] = true
	}
	b.done = true
	for d := range dirs {
		SyncDir(d)
	}
	crashpoint.Step("batch: renamed into", b.dir)
	return nil
}

// Abort removes the temp files written; a no-op after Commit.
func (b *Batch) Abort() {
	if b.done {
		return
	}
	b.done = true
	for _, s := range b.staged {
		os.Remove(s.tmp) // renamed already, or never written: nothing there
	}
}
