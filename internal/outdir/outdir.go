package outdir

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Dir is an output directory being staged.
type Dir struct {
	final, tmp string
	overwrite  bool
	done       bool
}

// Create checks that final can be written (its parent exists; it does not exist, is empty, or
// overwrite is set) and creates the staging directory. Checking first makes a long run fail in
// its first second, not its last.
func Create(final string, overwrite bool) (*Dir, error) {
	final = filepath.Clean(final)
	if err := checkTarget(final, overwrite); err != nil {
		return nil, err
	}
	parent := filepath.Dir(final)
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(final)+".tmp-")
	if err != nil {
		return nil, fmt.Errorf("%s: cannot create output: %v", final, err)
	}
	return &Dir{final: final, tmp: tmp, overwrite: overwrite}, nil
}

func checkTarget(final string, overwrite bool) error {
	parent := filepath.Dir(final)
	if st, err := os.Stat(parent); err != nil || !st.IsDir() {
		return fmt.Errorf("%s: parent directory %s does not exist", final, parent)
	}
	st, err := os.Stat(final)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s: %v", final, err)
	}
	if !st.IsDir() {
		return fmt.Errorf("%s: exists and is not a directory", final)
	}
	entries, err := os.ReadDir(final)
	if err != nil {
		return fmt.Errorf("%s: %v", final, err)
	}
	if len(entries) > 0 && !overwrite {
		return fmt.Errorf("%s: output directory exists and is not empty (use --overwrite to replace it)", final)
	}
	return nil
}

// Path returns the staging path of a file in the directory.
func (d *Dir) Path(name string) string { return filepath.Join(d.tmp, name) }

// Final returns the directory's final path.
func (d *Dir) Final() string { return d.final }

// Commit moves the staged directory into place, replacing an existing one (which is removed only
// after the new one is in place).
func (d *Dir) Commit() error {
	if d.done {
		return errors.New("outdir: already committed or aborted")
	}
	if err := checkTarget(d.final, d.overwrite); err != nil {
		d.Abort()
		return err
	}
	var old string
	if _, err := os.Stat(d.final); err == nil {
		old = d.tmp + ".old"
		if err := os.Rename(d.final, old); err != nil {
			d.Abort()
			return fmt.Errorf("%s: cannot replace: %v", d.final, err)
		}
	}
	if err := os.Rename(d.tmp, d.final); err != nil {
		if old != "" {
			_ = os.Rename(old, d.final) // put the previous results back
		}
		d.Abort()
		return fmt.Errorf("%s: cannot move results into place: %v", d.final, err)
	}
	d.done = true
	if old != "" {
		_ = os.RemoveAll(old)
	}
	return nil
}

// Abort removes the staging directory; a no-op after Commit.
func (d *Dir) Abort() {
	if d.done {
		return
	}
	d.done = true
	_ = os.RemoveAll(d.tmp)
}
