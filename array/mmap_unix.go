//go:build unix

package array

import (
	"os"

	"golang.org/x/sys/unix"
)

// mapFile maps size bytes of f read-only. The map outlives f's descriptor.
func mapFile(f *os.File, size int) ([]byte, func([]byte) error, error) {
	b, err := unix.Mmap(int(f.Fd()), 0, size, unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return nil, nil, err
	}
	return b, unix.Munmap, nil
}
