package ownertest

import (
	"os"
	"os/exec"
	"testing"
)

// DeadPID returns the PID of a process that has exited: the test binary run again with no
// tests, then waited for.
func DeadPID(t testing.TB) int {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return cmd.Process.Pid
}
