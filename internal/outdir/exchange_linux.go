package outdir

import (
	"errors"

	"golang.org/x/sys/unix"
)

// renameat2 is unix.Renameat2; tests replace it to play a file system that refuses the exchange.
var renameat2 = unix.Renameat2

// exchange swaps the directories a and b in one step (renameat2's RENAME_EXCHANGE, Linux 3.15).
// It returns errNoExchange where the kernel (ENOSYS, also a seccomp filter's answer) or the file
// system (EINVAL, EOPNOTSUPP: some network and FUSE file systems) cannot, and nothing has moved.
func exchange(a, b string) error {
	err := renameat2(unix.AT_FDCWD, a, unix.AT_FDCWD, b, unix.RENAME_EXCHANGE)
	if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EOPNOTSUPP) {
		return errNoExchange
	}
	return err
}
