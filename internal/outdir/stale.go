package outdir

import (
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// staleAge is how old a staging directory must be before it is removed when its process cannot
// be checked: it may belong to a run on another host, which can last days.
var staleAge = 7 * 24 * time.Hour

const (
	tmpInfix  = ".tmp-"
	oldSuffix = ".old"
)

// hostTag names this host (and PID namespace) in staging names, so that a PID is only ever
// looked up on the host, and in the namespace, that it belongs to.
var hostTag = sync.OnceValue(func() string {
	h := fnv.New32a()
	name, _ := os.Hostname()
	h.Write([]byte(name))
	if ns, err := os.Readlink("/proc/self/ns/pid"); err == nil {
		h.Write([]byte{0})
		h.Write([]byte(ns))
	}
	return fmt.Sprintf("%08x", h.Sum32())
})

// mkdirStaging creates the staging directory .BASE.tmp-HOST-PID-RANDOM in parent. Mkdir with
// 0777 lets the kernel apply the umask (os.MkdirTemp would make it 0700).
func mkdirStaging(parent, base string) (string, error) {
	prefix := filepath.Join(parent, "."+base+tmpInfix+hostTag()+"-"+strconv.Itoa(os.Getpid())+"-")
	for range 10000 {
		p := fmt.Sprintf("%s%08x", prefix, rand.Uint32())
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
		_ = os.RemoveAll(filepath.Join(parent, name))
	}
}

// stale reports whether the staging directory entry e, whose name ends in rest after the
// ".BASE.tmp-" prefix, is left over from a process that no longer runs.
func stale(rest string, e fs.DirEntry, now time.Time) bool {
	host, pid, ok := parseStaging(rest)
	if !ok && !isDigits(rest) { // not a staging name (os.MkdirTemp's digits: older versions)
		return false
	}
	if ok && host == hostTag() {
		if pid == os.Getpid() {
			return false
		}
		if alive, known := processAlive(pid); known {
			return !alive
		}
	}
	info, err := e.Info()
	return err == nil && now.Sub(info.ModTime()) > staleAge
}

// parseStaging splits HOST-PID-RANDOM.
func parseStaging(rest string) (host string, pid int, ok bool) {
	f := strings.Split(rest, "-")
	if len(f) != 3 || len(f[0]) != 8 || !isHex(f[0]) || len(f[2]) != 8 || !isHex(f[2]) || !isDigits(f[1]) {
		return "", 0, false
	}
	pid, err := strconv.Atoi(f[1])
	if err != nil || pid <= 0 {
		return "", 0, false
	}
	return f[0], pid, true
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func isHex(s string) bool {
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
