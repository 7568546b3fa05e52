package crashtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/brainalign/brainalign/internal/crashpoint"
)

const (
	// EnvAt is the step (1-based) at which the child kills itself.
	EnvAt = "BRAINALIGN_TEST_CRASH_AT"
	// envArgs holds the child's command, JSON-encoded.
	envArgs = "BRAINALIGN_TEST_CRASH_ARGS"
	// killedAt prefixes the line a child writes to stderr as it kills itself.
	killedAt = "crashtest: killed at step "
)

// Child runs the command of a child process started by Run, with main(args) (the command line
// as given to Run; main returns the exit status), and exits; it returns false in a process
// that is not such a child. Call it first in TestMain.
func Child(main func(args []string) int) bool {
	spec := os.Getenv(envArgs)
	if spec == "" {
		return false
	}
	var args []string
	if err := json.Unmarshal([]byte(spec), &args); err != nil {
		fmt.Fprintf(os.Stderr, "crashtest: %s: %v\n", envArgs, err)
		os.Exit(3)
	}
	if n, err := strconv.Atoi(os.Getenv(EnvAt)); err == nil && n > 0 {
		arm(n)
	}
	os.Exit(main(args))
	return true
}

// arm makes the n-th step kill the process.
func arm(n int) {
	var mu sync.Mutex
	seen := 0
	crashpoint.Hook = func(step string) {
		mu.Lock()
		defer mu.Unlock()
		if seen++; seen < n {
			return
		}
		fmt.Fprintf(os.Stderr, "%s%d: %s\n", killedAt, n, step)
		kill()
	}
}

// Result is how a child ended.
type Result struct {
	Killed bool   // at its step n
	Step   string // the step it was killed at, as crashpoint.Step described it
	Code   int    // its exit status when not killed
	Stdout string
	Stderr string
}

// Run runs args in a child process (the test binary, see Child), killed at step n (0: not
// killed), with env added to its environment, and reports how it ended. A child that ends
// otherwise than killed at n or exiting is a test failure.
func Run(t testing.TB, n int, env []string, args ...string) Result {
	t.Helper()
	spec, err := json.Marshal(args)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envArgs+"="+string(spec), EnvAt+"="+strconv.Itoa(n))
	cmd.Env = append(cmd.Env, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	res := Result{Stdout: stdout.String(), Stderr: stderr.String()}
	if err == nil {
		return res
	}
	ee, ok := err.(*exec.ExitError)
	if !ok {
		t.Fatalf("%v: %v", args, err)
	}
	if killedBy(ee) {
		i := strings.Index(res.Stderr, killedAt)
		if i < 0 {
			t.Fatalf("%v: killed, but not at a step:\n%s", args, res.Stderr)
		}
		res.Killed = true
		line, _, _ := strings.Cut(res.Stderr[i+len(killedAt):], "\n")
		_, res.Step, _ = strings.Cut(line, ": ")
		return res
	}
	res.Code = ee.ExitCode()
	return res
}

// EachStep runs args killed at step 1, 2, ... in turn (Run), calling prepare before each run
// and killed after each kill with the child's Result and where: "killed at step N: STEP", trim
// removed from the step's paths. It stops at the first run that ends without being killed, which must exit 0, and
// returns the number of kill points. With BRAINALIGN_TEST_CRASH_LOG set (and -v) it logs each.
func EachStep(t testing.TB, trim string, prepare func(), killed func(where string, res Result), args ...string) int {
	t.Helper()
	for n := 1; ; n++ {
		prepare()
		res := Run(t, n, nil, args...)
		if !res.Killed {
			if res.Code != 0 {
				t.Fatalf("%v, not killed: exit %d\n%s", args, res.Code, res.Stderr)
			}
			return n - 1
		}
		where := fmt.Sprintf("killed at step %d: %s", n, res.Step)
		if trim != "" {
			where = strings.ReplaceAll(where, trim+string(os.PathSeparator), "")
		}
		if os.Getenv("BRAINALIGN_TEST_CRASH_LOG") != "" {
			t.Log(where)
		}
		killed(where, res)
	}
}
