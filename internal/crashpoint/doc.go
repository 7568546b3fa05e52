// Package crashpoint marks the steps at which a process writing outputs changes what is on disk
// (a temp file written, renamed into place, a file removed), so that tests can kill a run at
// each of them in turn and check that the outputs survive every kill (package crashtest). In a
// normal build Hook is nil and Step costs a nil check: its description is put together only
// for a Hook.
package crashpoint
