package engine

import "testing"

// TestTimingsAdd: every stage is summed, each into its own field.
func TestTimingsAdd(t *testing.T) {
	a := Timings{Transfer: 1, Decompose: 2, Products: 3, Select: 4, Refit: 5, Score: 6, Total: 7, Overlapped: 8}
	b := Timings{Transfer: 10, Decompose: 20, Products: 30, Select: 40, Refit: 50, Score: 60, Total: 70, Overlapped: 80}
	a.Add(b)
	want := Timings{Transfer: 11, Decompose: 22, Products: 33, Select: 44, Refit: 55, Score: 66, Total: 77, Overlapped: 88}
	if a != want {
		t.Errorf("Add: %+v, want %+v", a, want)
	}
}
