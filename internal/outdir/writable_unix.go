//go:build unix

package outdir

import "golang.org/x/sys/unix"

// canWrite checks that this process may create files in the existing directory dir (its
// permissions, and a file system mounted read-only), without writing anything.
func canWrite(dir string) error { return unix.Access(dir, unix.W_OK|unix.X_OK) }
