//go:build unix && !linux

package outdir

// mountPoint reports whether the directory dir is the root of a mounted file system, which
// rename cannot move.
func mountPoint(dir string) bool { return otherDevice(dir) }
