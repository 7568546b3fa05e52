package crashpoint

// Hook, when set (tests only, before any output is written), is called at every step with a
// short description of it; it may end the process there.
var Hook func(step string)

// Step marks a step, what was done to path ("renamed into", target): what is on disk now is
// what a process killed here leaves.
func Step(what, path string) {
	if Hook != nil {
		Hook(what + " " + path)
	}
}
