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
	name, _ := os.Hostname()
	ns, _ := os.Readlink("/proc/self/ns/pid")
	boot, _ := os.ReadFile("/proc/sys/kernel/random/boot_id")
	return hostTag(name, ns, strings.TrimSpace(string(boot)))
})

// hostTag hashes what makes PIDs comparable: the host name, and on Linux the PID namespace and
// the kernel's boot ID. The namespace alone does not tell machines apart (the initial one is
// pid:[4026531836] on every machine, and containers' are numbered alike on alike hosts), nor
// does a host name that two machines sharing a file system both have (containers given one
// name, cloned VMs): another machine's live process was then looked up here, not found, and its
// temp files and staging directory removed under it. A process killed before a reboot is
// another boot's, judged by age.
func hostTag(name, pidNS, bootID string) string {
	h := fnv.New32a()
	h.Write([]byte(name))
	if pidNS != "" {
		h.Write([]byte{0})
		h.Write([]byte(pidNS))
	}
	if bootID != "" {
		h.Write([]byte{0})
		h.Write([]byte(bootID))
	}
	return fmt.Sprintf("%08x", h.Sum32())
}

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
