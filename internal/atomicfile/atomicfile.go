package atomicfile

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/brainalign/brainalign/internal/crashpoint"
	"github.com/brainalign/brainalign/internal/owner"
)

// Write creates path by writing a temp file in the same directory, fsyncing, and renaming it over
// path; on any error the temp file is removed and path is untouched.
//
// write receives a buffered writer; large writes pass through the buffer straight to the file.
// An error returned by write is returned unchanged, except the temp file's own (a full disk),
// which names path as Write's other errors do. The file gets the permissions of the file it
// replaces, or those of any new file, 0666 less the umask (as os.Create gives). The temp file
// lives in the same directory because rename is only atomic within one file system.
//
// A path that is a symbolic link is written through, as os.WriteFile would: the file it points
// to (created if the link dangles) gets the new content, and the link stays a link.
func Write(path string, write func(w io.Writer) error) error {
	target, err := resolve(path)
	if err != nil {
		return fmt.Errorf("atomicfile: %s: %w", path, err)
	}
	dir, base := filepath.Split(target)
	if dir == "" {
		dir = "."
	}
	if base == "" {
		return fmt.Errorf("atomicfile: %q: not a file name", path)
	}
	replaced, err := os.Stat(target)
	if err != nil {
		replaced = nil // nothing to replace: a new file (errors are met creating the temp file)
	} else if !replaced.Mode().IsRegular() {
		return fmt.Errorf("atomicfile: %s: exists and is not a regular file", path)
	}
	f, err := createTemp(dir, "."+base+tmpInfix)
	if err != nil {
		return fmt.Errorf("atomicfile: %s: %w", path, err)
	}
	tmp := f.Name()
	if err := fill(f, path, replaced, write); err != nil {
		return err
	}
	if err := os.Rename(tmp, target); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("atomicfile: %s: %w", path, err)
	}
	SyncDir(dir)
	crashpoint.Step("renamed into", target)
	return nil
}

// WriteStaged creates path, which must not exist, and writes it in place, without a temp file
// of its own: for a file that no reader looks for under path, because path is a staging name to
// be renamed into place (a Batch's file, a file of a folder staged as a whole by
// internal/outdir). Errors name name, the path the file will have, with path where the file
// system's own error names it. The file gets the permissions of a new file, 0666 less the
// umask; on any error, or a panic of write, it is removed. write is as for Write. The file is
// synced, not the directory naming it: the caller syncs that before the rename (SyncDir).
func WriteStaged(path, name string, write func(w io.Writer) error) error {
	return writeStaged(path, name, nil, write)
}

// writeStaged is WriteStaged giving the file the permissions of replaced (nil: a new file's).
func writeStaged(path, name string, replaced fs.FileInfo, write func(w io.Writer) error) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o666)
	if err != nil {
		return fmt.Errorf("atomicfile: %s: %w", name, err)
	}
	return fill(f, name, replaced, write)
}

// fill writes the new file f through a buffer with write, gives it the permissions of the file
// it replaces (replaced; nil for none: it keeps those it was created with), syncs and closes it.
// On any error, or a panic of write, f is closed and removed. Errors name name, the file f will
// become.
func fill(f *os.File, name string, replaced fs.FileInfo, write func(w io.Writer) error) error {
	path := f.Name()
	done := false
	defer func() {
		// Also runs when write panics, so no partial file is left behind.
		if !done {
			f.Close()
			os.Remove(path)
		}
	}()
	bw := bufio.NewWriterSize(f, 1<<20)
	if err := write(bw); err != nil {
		// The file's own error (a full disk, met by a write larger than the buffer) names the
		// file being written, as Flush's below does, not only its temp or staging name.
		var pe *fs.PathError
		if errors.As(err, &pe) && pe.Path == path {
			return fmt.Errorf("atomicfile: %s: %w", name, err)
		}
		return err
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("atomicfile: %s: %w", name, err)
	}
	if replaced != nil {
		if err := f.Chmod(replaced.Mode().Perm()); err != nil {
			return fmt.Errorf("atomicfile: %s: %w", name, err)
		}
	}
	// Sync before rename: otherwise a crash can leave the new name pointing at an empty file.
	if err := f.Sync(); err != nil {
		return fmt.Errorf("atomicfile: %s: %w", name, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("atomicfile: %s: %w", name, err)
	}
	done = true
	crashpoint.Step("written", path)
	return nil
}

// tmpInfix separates a temp file's target name from its owner tag: .BASE.tmp-HOST-PID-RANDOM.
const tmpInfix = ".tmp-"

// createTemp creates a new file prefix+HOST-PID-RANDOM (internal/owner) in dir with mode 0666,
// which the kernel reduces by the umask (os.CreateTemp would make it 0600). The owner tag lets
// RemoveAbandoned tell a killed writer's temp file from a live one's.
func createTemp(dir, prefix string) (*os.File, error) {
	for range 10000 {
		name := filepath.Join(dir, prefix+owner.NewTag())
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o666)
		if !errors.Is(err, fs.ErrExist) {
			return f, err
		}
	}
	return nil, fmt.Errorf("cannot find an unused temp name %s*", filepath.Join(dir, prefix))
}

// maxLinks bounds the symbolic links followed from path (Linux's own limit is 40).
const maxLinks = 40

// resolve follows path while it is a symbolic link and returns the path it leads to, which may
// not exist yet.
func resolve(path string) (string, error) {
	t := path
	for links := 0; ; links++ {
		st, err := os.Lstat(t)
		if err != nil || st.Mode()&fs.ModeSymlink == 0 {
			return t, nil // the errors are reported where the file is created
		}
		if links == maxLinks {
			return "", errors.New("too many levels of symbolic links")
		}
		link, err := os.Readlink(t)
		if err != nil {
			return "", err
		}
		if !filepath.IsAbs(link) {
			// Relative to the link's directory, its symbolic links resolved first so that a
			// leading .. in link leaves the directory the kernel would.
			dir, err := filepath.EvalSymlinks(filepath.Dir(t))
			if err != nil {
				return "", err
			}
			link = filepath.Join(dir, link)
		}
		t = link
	}
}

// WriteBytes writes b to path atomically (see Write).
func WriteBytes(path string, b []byte) error {
	return Write(path, func(w io.Writer) error {
		_, err := io.Copy(w, bytes.NewReader(b))
		return err
	})
}

// SyncDir makes the entries of dir (a file renamed or created in it) durable. It is best effort:
// the files are complete and in place whatever happens here, and some systems (Windows, some
// network file systems) cannot sync a directory.
func SyncDir(dir string) {
	if runtime.GOOS == "windows" {
		return
	}
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	d.Sync()
	d.Close()
}

// RemoveAbandoned removes the temp files that writers killed mid-write (SIGKILL, the out-of-memory
// killer, the end of a batch job's time) left in dir and, with recursive, in the directories
// below it; it returns how many it removed. A temp file of a live writer is never touched;
// one whose writer cannot be checked (another host, names of older versions: .BASE.tmpRANDOM) is
// removed once it is older than owner.MaxAge. It is best effort: what cannot be read or
// removed stays. Symbolic links are not followed.
func RemoveAbandoned(dir string, recursive bool) int {
	removed := 0
	for _, t := range ListTemp(dir, recursive) {
		if t.Abandoned && os.Remove(t.Path) == nil {
			removed++
		}
	}
	return removed
}

// Temp is a temp file of Write found in a directory.
type Temp struct {
	Path      string
	Size      int64
	ModTime   time.Time
	Abandoned bool // its writer was killed: RemoveAbandoned removes it
}

// ListTemp lists the temp files of Write in dir and, with recursive, in the directories below
// it (symbolic links not followed; what cannot be read is left out), in the order of their
// paths: those of live writers, and those RemoveAbandoned would remove.
func ListTemp(dir string, recursive bool) []Temp {
	now := time.Now()
	var out []Temp
	var visit func(dir string)
	visit = func(dir string) {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return
		}
		for _, e := range entries {
			name := e.Name()
			switch {
			case e.IsDir():
				if recursive {
					visit(filepath.Join(dir, name))
				}
			case e.Type().IsRegular():
				tag, ok := tempTag(name)
				if !ok {
					continue
				}
				info, err := e.Info()
				if err != nil {
					continue
				}
				out = append(out, Temp{Path: filepath.Join(dir, name), Size: info.Size(), ModTime: info.ModTime(),
					Abandoned: owner.Abandoned(tag, info.ModTime(), now)})
			}
		}
	}
	visit(dir)
	return out
}

// tempTag reports whether name is one of Write's temp names, .BASE.tmp-HOST-PID-RANDOM or, from
// older versions, .BASE.tmpRANDOM (8 hex digits), and returns its owner tag ("" for the older
// names, which owner.Abandoned judges by age).
func tempTag(name string) (tag string, ok bool) {
	if !strings.HasPrefix(name, ".") {
		return "", false
	}
	if i := strings.LastIndex(name, tmpInfix); i > 1 {
		if _, _, ok := owner.Parse(name[i+len(tmpInfix):]); ok {
			return name[i+len(tmpInfix):], true
		}
	}
	i := strings.LastIndex(name, ".tmp")
	return "", i > 1 && owner.IsHex8(name[i+len(".tmp"):])
}
