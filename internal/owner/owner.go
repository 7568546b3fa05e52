package owner

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// MaxAge is how old something must be before it is taken as abandoned when its process cannot
// be checked.
var MaxAge = 7 * 24 * time.Hour

// Host names this host and PID namespace: 8 hex digits.
var Host = sync.OnceValue(func() string {
	h := fnv.New32a()
	name, _ := os.Hostname()
	h.Write([]byte(name))
	if ns, err := os.Readlink("/proc/self/ns/pid"); err == nil {
		h.Write([]byte{0})
		h.Write([]byte(ns))
	}
	return fmt.Sprintf("%08x", h.Sum32())
})

// NewTag returns a fresh HOST-PID-RANDOM for this process.
func NewTag() string {
	return Host() + "-" + strconv.Itoa(os.Getpid()) + "-" + fmt.Sprintf("%08x", rand.Uint32())
}

// Parse splits a HOST-PID-RANDOM tag.
func Parse(tag string) (host string, pid int, ok bool) {
	f := strings.Split(tag, "-")
	if len(f) != 3 || len(f[0]) != 8 || !isHex(f[0]) || len(f[2]) != 8 || !isHex(f[2]) || !IsDigits(f[1]) {
		return "", 0, false
	}
	pid, err := strconv.Atoi(f[1])
	if err != nil || pid <= 0 {
		return "", 0, false
	}
	return f[0], pid, true
}

// Abandoned reports whether something named with tag, last modified at mod, was left by a
// process that no longer runs (see the package documentation). A tag that does not parse is
// judged by age alone: callers pass one only for names they know to be theirs.
func Abandoned(tag string, mod, now time.Time) bool {
	if host, pid, ok := Parse(tag); ok && host == Host() {
		if pid == os.Getpid() {
			return false
		}
		if alive, known := processAlive(pid); known {
			return !alive
		}
	}
	return now.Sub(mod) > MaxAge
}

// IsDigits reports whether s is a non-empty run of decimal digits.
func IsDigits(s string) bool {
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

// IsHex8 reports whether s is 8 lower-case hex digits (a random suffix of older names).
func IsHex8(s string) bool { return len(s) == 8 && isHex(s) }
