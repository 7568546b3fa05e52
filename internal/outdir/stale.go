package outdir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/brainalign/brainalign/internal/owner"
)

const (
	tmpInfix  = ".tmp-"
	oldSuffix = ".old"
)

// mkdirStaging creates the staging directory .BASE.tmp-HOST-PID-RANDOM in parent. Mkdir with
// 0777 lets the kernel apply the umask (os.MkdirTemp would make it 0700).
func mkdirStaging(parent, base string) (string, error) {
	prefix := filepath.Join(parent, "."+base+tmpInfix)
	for range 10000 {
		p := prefix + owner.NewTag()
		err := os.Mkdir(p, 0o777)
		if err == nil {
			return p, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return "", err
		}
	}
	return "", fmt.Errorf("cannot find an unused staging name %s*", prefix)
}

// removeStale removes the staging directories of output base in parent that runs which no longer
// exist left behind (see the package documentation). It is best effort: whatever cannot be
// removed stays.
func removeStale(parent, base string, now time.Time) {
	entries, err := os.ReadDir(parent)
	if err != nil {
		return
	}
	prefix := "." + base + tmpInfix
	finalExists := false
	if st, err := os.Stat(filepath.Join(parent, base)); err == nil && st.IsDir() {
		finalExists = true
	}
	for _, e := range entries {
		name := e.Name()
		if !strings.HasPrefix(name, prefix) || !e.IsDir() { // IsDir is false for a symbolic link
			continue
		}
		rest, old := strings.CutSuffix(name[len(prefix):], oldSuffix)
		if old && !finalExists {
			continue // may be the only copy of the previous results
		}
		if !stale(rest, e, now) {
			continue
		}
		removeAll(filepath.Join(parent, name))
	}
}

// stale reports whether the staging directory entry e, whose name ends in rest after the
// ".BASE.tmp-" prefix, is left over from a process that no longer runs.
func stale(rest string, e fs.DirEntry, now time.Time) bool {
	if _, _, ok := owner.Parse(rest); !ok && !owner.IsDigits(rest) {
		return false // not a staging name (os.MkdirTemp's digits: older versions)
	}
	info, err := e.Info()
	return err == nil && owner.Abandoned(rest, info.ModTime(), now)
}
