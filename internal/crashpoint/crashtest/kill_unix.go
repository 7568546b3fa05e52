//go:build unix

package crashtest

import (
	"os"
	"os/exec"
	"syscall"
)

// kill ends the process as SIGKILL does.
func kill() {
	syscall.Kill(os.Getpid(), syscall.SIGKILL)
	select {} // the signal is on its way: take no further step
}

// killedBy reports whether the child of ee was ended by kill.
func killedBy(ee *exec.ExitError) bool {
	ws, ok := ee.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL
}
