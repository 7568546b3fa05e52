//go:build unix

package outdir

import (
	"os"
	"path/filepath"
	"syscall"
)

// otherDevice reports whether the directory dir lies on another file system than its parent:
// the mount points that statx cannot name (a bind mount within one file system is missed).
func otherDevice(dir string) bool {
	st, err := os.Lstat(dir)
	if err != nil {
		return false
	}
	up, err := os.Stat(filepath.Dir(dir))
	if err != nil {
		return false
	}
	a, ok1 := st.Sys().(*syscall.Stat_t)
	b, ok2 := up.Sys().(*syscall.Stat_t)
	return ok1 && ok2 && a.Dev != b.Dev
}
