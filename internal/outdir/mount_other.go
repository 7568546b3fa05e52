//go:build !unix

package outdir

// mountPoint is not checked here: a rename that cannot move the directory fails at Commit.
func mountPoint(dir string) bool { return false }
