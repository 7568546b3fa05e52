package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

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
	err    error // the first name that could not be resolved
	done   bool
}

type staged struct {
	path   string // as the caller named it
	target string // path with a final symbolic link followed: what is replaced
	tmp    string
}

// stagedAs maps the staging path of each file of a Batch not yet committed or aborted to the
// path its caller named, so that Write's errors (a full disk) name the file asked for, not a temp
// name within a temp name: Write writes a staging path through a temp file of its own.
var stagedAs sync.Map

// NewBatch starts a batch of files in dir.
func NewBatch(dir string) *Batch { return &Batch{dir: dir, byName: map[string]int{}} }

// Path returns the temp path to write the file name of the batch to (with Write, or anything
// that creates the file; Write's errors name it as dir/name). A name asked for and never written
// is left as it is by Commit.
func (b *Batch) Path(name string) string {
	if i, ok := b.byName[name]; ok {
		return b.staged[i].tmp
	}
	path := filepath.Join(b.dir, name)
	target, err := resolve(path)
	if err != nil {
		if b.err == nil {
			b.err = fmt.Errorf("atomicfile: %s: %w", path, err)
		}
		target = path
	}
	dir, base := filepath.Split(target)
	tmp := filepath.Join(dir, "."+base+tmpInfix+owner.NewTag())
	b.byName[name] = len(b.staged)
	b.staged = append(b.staged, staged{path: path, target: target, tmp: tmp})
	stagedAs.Store(tmp, path)
	return tmp
}

// Commit renames the files written into place. Every file is checked first (what it replaces
// must be a regular file), so that a batch refused is refused before any file is replaced; the
// renames themselves, within one folder, do not fail for want of space. On error the temp files
// not yet renamed are removed.
func (b *Batch) Commit() error {
	if b.done {
		return errors.New("atomicfile: batch already committed or aborted")
	}
	if b.err != nil {
		b.Abort()
		return b.err
	}
	var written []staged
	for _, s := range b.staged {
		if st, err := os.Lstat(s.tmp); err == nil && st.Mode().IsRegular() {
			written = append(written, s)
		}
	}
	for _, s := range written {
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
	for i, s := range written {
		crashpoint.Step("batch: renaming", s.tmp)
		if err := os.Rename(s.tmp, s.target); err != nil {
			b.Abort()
			return fmt.Errorf("atomicfile: %s: %w (%d of the %d files were replaced)", s.path, err, i, len(written))
		}
		dirs[filepath.Dir(s.target)] = true
	}
	b.done = true
	b.forget()
	for d := range dirs {
		syncDir(d)
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
	b.forget()
	for _, s := range b.staged {
		os.Remove(s.tmp) // renamed already, or never written: nothing there
	}
}

// forget removes the batch's staging paths from stagedAs.
func (b *Batch) forget() {
	for _, s := range b.staged {
		stagedAs.Delete(s.tmp)
	}
}
