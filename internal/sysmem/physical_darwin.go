package sysmem

import "golang.org/x/sys/unix"

// physicalMemory is hw.memsize: macOS has no MemAvailable, and its compressed memory and swap
// make the physical size the working figure.
func physicalMemory() int64 {
	n, err := unix.SysctlUint64("hw.memsize")
	if err != nil {
		return 0
	}
	return int64(n)
}
