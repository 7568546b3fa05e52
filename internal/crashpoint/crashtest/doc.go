// Package crashtest kills a process at a chosen step of its writing (package crashpoint), for
// tests that rerun the test binary as a child process and kill it at every step in turn.
//
// The child is the test binary itself: TestMain calls Child, which, in a child, runs the
// command the parent gave and exits; in the test binary proper it returns false and the tests
// run. Run starts a child killed at step n (SIGKILL: no deferred cleanup, no signal handler, as
// the out-of-memory killer or the end of a batch job's time) and says whether it got there.
package crashtest
