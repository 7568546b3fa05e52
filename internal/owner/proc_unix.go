//go:build unix

package owner

import (
	"errors"
	"syscall"
)

// processAlive reports whether process pid exists on this host; known is false when that cannot
// be told. Signal 0 checks without signalling; EPERM means it exists but belongs to another user.
// A PID reused by an unrelated process reads as alive, which only keeps its leftovers longer.
func processAlive(pid int) (alive, known bool) {
	err := syscall.Kill(pid, 0)
	switch {
	case err == nil, errors.Is(err, syscall.EPERM):
		return true, true
	case errors.Is(err, syscall.ESRCH):
		return false, true
	}
	return false, false
}
