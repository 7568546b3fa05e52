package outdir

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/brainalign/brainalign/internal/atomicfile"
	"github.com/brainalign/brainalign/internal/crashpoint"
)

// Dir is an output directory being staged.
type Dir struct {
	final     string // the path as given, cleaned
	abs       string // final made absolute when Create was called
	target    string // abs with symbolic links resolved: what is replaced
	tmp       string
	overwrite bool
	done      bool
	committed bool
}

// Create checks that final can be written (its parent exists; it does not exist, is empty, or
// overwrite is set; it is not the working directory or a parent of it), removes staging
// directories of the same name left by dead runs, and creates the staging directory. Checking
// first makes a long run fail in its first second, not its last. A final that is a symbolic link
// is written through (see the package documentation).
func Create(final string, overwrite bool) (*Dir, error) {
	final = filepath.Clean(final)
	abs, err := absolute(final)
	if err != nil {
		return nil, err
	}
	target, err := resolve(final, abs)
	if err != nil {
		return nil, err
	}
	d := &Dir{final: final, abs: abs, target: target, overwrite: overwrite}
	if _, err := d.checkTarget(); err != nil {
		return nil, err
	}
	parent, base := filepath.Split(target)
	removeStale(parent, base, time.Now())
	tmp, err := mkdirStaging(parent, base)
	if err != nil {
		return nil, fmt.Errorf("%s: cannot create output: %v", d.name(), err)
	}
	d.tmp = tmp
	return d, nil
}

// absolute makes p (clean) absolute: relative to the physical working directory, so that a
// leading .. means what it means to the kernel, also when $PWD passes through a symbolic link.
func absolute(p string) (string, error) {
	if filepath.IsAbs(p) {
		return p, nil
	}
	wd, err := workDir()
	if err != nil {
		return "", fmt.Errorf("%s: %v", p, err)
	}
	return filepath.Join(wd, p), nil
}

// Target returns the directory that Create would write for path: path made absolute, with the
// symbolic links in it resolved, also a dangling link at its end, whose target does not exist
// yet. Its parent (the link target's parent) must exist. Commands that write into an output
// directory of their own rather than replacing it (sweep) create Target's result, so that a
// link is written through as Create writes it.
func Target(path string) (string, error) {
	path = filepath.Clean(path)
	abs, err := absolute(path)
	if err != nil {
		return "", err
	}
	return resolve(path, abs)
}

// name is the output directory as messages show it: the path given, and where a symbolic link
// led.
func (d *Dir) name() string {
	if st, err := os.Lstat(d.abs); err == nil && st.Mode()&fs.ModeSymlink != 0 {
		return d.final + " (-> " + d.target + ")"
	}
	return d.final
}

// maxLinks bounds the symbolic links followed from the output path (Linux's own limit is 40).
const maxLinks = 40

// resolve returns the path that writing to abs, the absolute form of p, as a directory would
// replace: symbolic links in its parent are resolved, and so is abs itself when it is a link,
// also a dangling one (whose target will be created). Messages name p.
func resolve(p, abs string) (string, error) {
	t := abs
	for links := 0; ; links++ {
		parent, err := filepath.EvalSymlinks(filepath.Dir(t))
		if errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("%s: parent directory %s does not exist", p, filepath.Dir(t))
		}
		if err != nil {
			return "", fmt.Errorf("%s: %v", p, err)
		}
		if st, err := os.Stat(parent); err != nil || !st.IsDir() {
			return "", fmt.Errorf("%s: parent %s is not a directory", p, filepath.Dir(t))
		}
		t = filepath.Join(parent, filepath.Base(t))
		st, err := os.Lstat(t)
		if errors.Is(err, fs.ErrNotExist) {
			return t, nil
		}
		if err != nil {
			return "", fmt.Errorf("%s: %v", p, err)
		}
		if st.Mode()&fs.ModeSymlink == 0 {
			return t, nil
		}
		if links == maxLinks {
			return "", fmt.Errorf("%s: too many levels of symbolic links", p)
		}
		link, err := os.Readlink(t)
		if err != nil {
			return "", fmt.Errorf("%s: %v", p, err)
		}
		if !filepath.IsAbs(link) {
			link = filepath.Join(parent, link)
		}
		t = link
	}
}

// workDir returns the working directory with symbolic links resolved.
func workDir() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	return filepath.EvalSymlinks(wd)
}

// HoldsWorkDir reports whether path (relative paths against the physical working directory,
// symbolic links resolved) is the working directory or one of its parents: a directory that
// must not be replaced as a whole.
func HoldsWorkDir(path string) bool {
	wd, err := workDir()
	if err != nil {
		return false
	}
	abs := path
	if !filepath.IsAbs(abs) {
		abs = filepath.Join(wd, abs)
	}
	if r, err := filepath.EvalSymlinks(abs); err == nil {
		abs = r
	}
	return within(wd, filepath.Clean(abs))
}

// IsMountPoint reports whether path (symbolic links resolved) is a directory on which a file
// system is mounted (a container's volume, a bind mount): Create refuses it, as it cannot be
// replaced as a whole, but files can be written into it.
func IsMountPoint(path string) bool {
	t, err := Target(path)
	if err != nil {
		return false
	}
	st, err := os.Stat(t)
	return err == nil && st.IsDir() && mountPoint(t)
}

// checkTarget checks that the target can be written, and returns its mode when it exists (0 when
// it does not).
func (d *Dir) checkTarget() (fs.FileMode, error) {
	if wd, err := workDir(); err == nil && within(wd, d.target) {
		what := "the current working directory"
		if !samePath(wd, d.target) {
			what = "a parent of the current working directory " + wd
		}
		return 0, fmt.Errorf("%s: the output directory cannot be %s, as it is replaced as a whole; choose another output directory, or run from elsewhere", d.name(), what)
	}
	if filepath.Dir(d.target) == d.target {
		return 0, fmt.Errorf("%s: the output directory cannot be a root directory", d.name())
	}
	st, err := os.Stat(d.target)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("%s: %v", d.name(), err)
	}
	if !st.IsDir() {
		return 0, fmt.Errorf("%s: exists and is not a directory", d.name())
	}
	if mountPoint(d.target) {
		// Refused here, not found at Commit: rename cannot move a mount point, nor a staging
		// directory onto it from the file system around it.
		return 0, fmt.Errorf("%s: is a mount point (a volume, a bind mount), which cannot be replaced as a whole: choose a folder inside it as the output directory, e.g. %s",
			d.name(), filepath.Join(d.final, "results"))
	}
	entries, err := os.ReadDir(d.target)
	if err != nil {
		return 0, fmt.Errorf("%s: %v", d.name(), err)
	}
	if len(entries) > 0 && !d.overwrite {
		return 0, fmt.Errorf("%s: output directory exists and is not empty (use --overwrite to replace it)", d.name())
	}
	return st.Mode(), nil
}

// within reports whether path p is dir or lies inside it; both are absolute and clean.
func within(p, dir string) bool {
	if samePath(p, dir) {
		return true
	}
	if !strings.HasSuffix(dir, string(filepath.Separator)) {
		dir += string(filepath.Separator)
	}
	return len(p) > len(dir) && samePath(p[:len(dir)], dir)
}

func samePath(a, b string) bool {
	if runtime.GOOS == "windows" || runtime.GOOS == "darwin" {
		// Case-insensitive by default; a false match only refuses an output directory.
		return strings.EqualFold(a, b)
	}
	return a == b
}

// CheckInputs refuses input files that lie inside the output directory, which Commit replaces
// as a whole: with overwrite, the run would read them and then delete them. Paths are compared
// with symbolic links resolved; empty paths are skipped.
func (d *Dir) CheckInputs(paths ...string) error {
	for _, p := range paths {
		if p == "" {
			continue
		}
		abs, err := filepath.Abs(p)
		if err != nil {
			continue
		}
		if r, err := filepath.EvalSymlinks(abs); err == nil {
			abs = r
		}
		if within(filepath.Clean(abs), d.target) {
			return fmt.Errorf("%s: input inside the output directory %s, which is replaced when the results are written: write the output elsewhere", p, d.name())
		}
	}
	return nil
}

// Path returns the staging path of a file in the directory, for what writes it itself (its
// errors then name the staging path); Write names the file by its final path.
func (d *Dir) Path(name string) string { return filepath.Join(d.tmp, name) }

// Write writes the file name (a path within the directory, whose folders it makes as needed)
// of the directory: directly, once, without a temp file of its own, as nothing reads the
// staging directory (atomicfile.WriteStaged). write is as for atomicfile.Write; errors name the
// file by its path in the output directory as given to Create, not in the staging directory.
func (d *Dir) Write(name string, write func(w io.Writer) error) error {
	final := filepath.Join(d.final, name)
	if sub := filepath.Dir(name); sub != "." {
		if err := os.MkdirAll(d.Path(sub), 0o777); err != nil {
			return fmt.Errorf("%s: %w", final, err)
		}
	}
	return atomicfile.WriteStaged(d.Path(name), final, write)
}

// syncDir is atomicfile.SyncDir; tests see which directories Commit syncs.
var syncDir = atomicfile.SyncDir

// syncTree makes the entries of every directory of the staging tree root durable, before it is
// renamed into place: Write syncs each file, not the directory that names it, so that a crash
// after the rename could otherwise leave the output directory without some of its files. One
// sync per directory, not one per file as a temp file renamed into place needs.
func syncTree(root string) {
	_ = filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err == nil && e.IsDir() {
			syncDir(p)
		}
		return nil
	})
}

// Final returns the directory's final path, as given to Create (cleaned).
func (d *Dir) Final() string { return d.final }

// Commit moves the staged directory into place, replacing an existing one (which is removed only
// after the new one is in place, see replace), once its directories are synced (syncTree), and
// syncs the folder that then names it.
func (d *Dir) Commit() error {
	if d.done {
		return errors.New("outdir: already committed or aborted")
	}
	if t, err := resolve(d.final, d.abs); err != nil || t != d.target {
		d.Abort()
		if err != nil {
			return err
		}
		return fmt.Errorf("%s: now leads to %s, not %s as when the run started; results not written", d.final, t, d.target)
	}
	mode, err := d.checkTarget()
	if err != nil {
		d.Abort()
		return err
	}
	syncTree(d.tmp)
	if mode == 0 {
		crashpoint.Step("outdir: renaming", d.tmp)
		if err := os.Rename(d.tmp, d.target); err != nil {
			d.Abort()
			return fmt.Errorf("%s: cannot move results into place: %v", d.name(), err)
		}
		d.done, d.committed = true, true
		syncDir(filepath.Dir(d.target)) // the rename itself, across a machine's crash
		crashpoint.Step("outdir: renamed into", d.target)
		// The previous results that a replacement killed between its two renames left beside
		// the path (.NAME.tmp-....old), kept by Create while they were the only copy, are
		// superseded now.
		parent, base := filepath.Split(d.target)
		removeStale(parent, base, time.Now())
		return nil
	}
	// The new directory takes over the permissions of the one it replaces.
	keep := mode & (fs.ModePerm | fs.ModeSetgid | fs.ModeSticky)
	if st, err := os.Stat(d.tmp); err == nil && st.Mode()&(fs.ModePerm|fs.ModeSetgid|fs.ModeSticky) != keep {
		_ = os.Chmod(d.tmp, keep)
	}
	old, err := d.replace()
	if err != nil {
		d.Abort()
		return err
	}
	d.done, d.committed = true, true
	syncDir(filepath.Dir(d.target))
	removeAll(old)
	crashpoint.Step("outdir: removed the previous", d.target)
	return nil
}

// errNoExchange says that the kernel or the file system cannot exchange two paths in one step.
var errNoExchange = errors.New("outdir: no atomic exchange here")

// betweenReplaceSteps is called by replace once the target path holds the new results (after
// the exchange) or nothing (after the fallback's first rename), before the previous results are
// removed or the new ones renamed in; tests look at the target path there.
var betweenReplaceSteps = func(target string) {}

// replace puts the staged directory in place of the existing target and returns where the
// previous results now are, for the caller to remove. Where the file system can (Linux's
// renameat2 RENAME_EXCHANGE) the two are exchanged in one step, so that the target path names a
// complete results folder throughout, for a reader (a second job, a sync) and across a kill.
// Elsewhere the previous results are renamed away and then the new ones in, a moment in which the
// path names nothing; a kill then leaves the previous results as .NAME.tmp-...old beside it.
func (d *Dir) replace() (string, error) {
	crashpoint.Step("outdir: replacing", d.target)
	err := exchange(d.tmp, d.target)
	if err == nil {
		// The staging name now holds the previous results; a kill before they are removed
		// leaves them as a staging directory of a dead run, which the next run removes.
		betweenReplaceSteps(d.target)
		crashpoint.Step("outdir: exchanged", d.target)
		return d.tmp, nil
	}
	if !errors.Is(err, errNoExchange) {
		return "", fmt.Errorf("%s: cannot replace: %v", d.name(), err)
	}
	old := d.tmp + oldSuffix
	if err := os.Rename(d.target, old); err != nil {
		return "", fmt.Errorf("%s: cannot replace: %v", d.name(), err)
	}
	betweenReplaceSteps(d.target)
	crashpoint.Step("outdir: moved aside", d.target)
	if err := os.Rename(d.tmp, d.target); err != nil {
		_ = os.Rename(old, d.target) // put the previous results back
		return "", fmt.Errorf("%s: cannot move results into place: %v", d.name(), err)
	}
	crashpoint.Step("outdir: renamed into", d.target)
	return old, nil
}

// removeAll removes a directory tree we wrote, also when it was made read-only (results folders
// are sometimes chmod'ed a-w to protect them, and a replaced folder keeps that mode): directories
// are made writable and removal tried again. Best effort: what cannot be removed is left.
func removeAll(dir string) {
	if os.RemoveAll(dir) == nil {
		return
	}
	_ = filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err == nil && e.IsDir() {
			if info, err := e.Info(); err == nil {
				_ = os.Chmod(p, info.Mode().Perm()|0o700)
			}
		}
		return nil
	})
	_ = os.RemoveAll(dir)
}

// Committed reports whether Commit put the results in place.
func (d *Dir) Committed() bool { return d.committed }

// Abort removes the staging directory; a no-op after Commit.
func (d *Dir) Abort() {
	if d.done {
		return
	}
	d.done = true
	_ = os.RemoveAll(d.tmp)
}
