package outdir

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// CheckWritable checks, without writing anything, that an output directory could be written at
// path: path itself when it exists, else the nearest directory above it that does (where path
// would be created), must be a directory this process may create files in (its permissions, a
// file system mounted read-only; not checked where the system cannot say: Windows). A symbolic
// link at path is followed, also a dangling one, as Create writes through it. Checking first
// makes a long run fail in its first second, not its last.
func CheckWritable(path string) error {
	d := path
	if st, err := os.Lstat(path); err == nil && st.Mode()&fs.ModeSymlink != 0 {
		t, err := Target(path)
		if err != nil {
			return err
		}
		d = t
	}
	start := d
	for {
		st, err := os.Stat(d)
		if err == nil {
			if !st.IsDir() {
				return fmt.Errorf("%s: %s is not a folder", path, d)
			}
			if err := canWrite(d); err != nil {
				if d == start {
					return fmt.Errorf("%s: cannot be written: %v", path, err)
				}
				return fmt.Errorf("%s: cannot be created in %s: %v", path, d, err)
			}
			return nil
		}
		up := filepath.Dir(d)
		if up == d {
			return nil
		}
		d = up
	}
}
