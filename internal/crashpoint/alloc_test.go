package crashpoint

import "testing"

// A step costs nothing but the check of Hook in a normal build: every atomic write and removal
// takes a few, and none should allocate for a hook that is not there.
func TestStepWithoutHookAllocatesNothing(t *testing.T) {
	if Hook != nil {
		t.Skip("a hook is set")
	}
	paths := []string{"/a/folder/.results.json.tmp-0badf00d-12345-0000abcd"}
	if n := testing.AllocsPerRun(100, func() { Step("renamed into", paths[0]) }); n != 0 {
		t.Errorf("%v allocations a step", n)
	}
	var got string
	Hook = func(step string) { got = step }
	defer func() { Hook = nil }()
	Step("renamed into", paths[0])
	if want := "renamed into " + paths[0]; got != want {
		t.Errorf("hook told %q, want %q", got, want)
	}
}
