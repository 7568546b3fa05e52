//go:build !unix

package crashtest

import (
	"os"
	"os/exec"
)

// killedExit is the exit status of a child ended by kill.
const killedExit = 137

// kill ends the process at once, running nothing deferred (no signals here).
func kill() { os.Exit(killedExit) }

// killedBy reports whether the child of ee was ended by kill.
func killedBy(ee *exec.ExitError) bool { return ee.ExitCode() == killedExit }
