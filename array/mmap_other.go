//go:build !unix

package array

import (
	"errors"
	"os"
)

// mapFile is not available here: openData falls back to reading the file into memory.
func mapFile(f *os.File, size int) ([]byte, func([]byte) error, error) {
	return nil, nil, errors.ErrUnsupported
}
