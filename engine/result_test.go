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

// TestResultAccessorsAndFinish: fold-major storage (folds x targets); Finish's mean over folds
// and degenerate counts, by hand.
func TestResultAccessorsAndFinish(t *testing.T) {
	r := NewResult(3, 2) // 3 targets, 2 folds
	copy(r.FoldScores, []float64{0.1, 0.2, 0.3, 0.5, 0.6, 0.9})
	copy(r.Alphas, []float64{1, 10, 100, 1000, 1e4, 1e5})
	if r.FoldScore(1, 2) != 0.9 || r.FoldScore(0, 1) != 0.2 || r.Alpha(1, 0) != 1000 || r.Alpha(0, 2) != 100 {
		t.Errorf("FoldScore(1,2)=%v FoldScore(0,1)=%v Alpha(1,0)=%v Alpha(0,2)=%v, want 0.9 0.2 1000 100",
			r.FoldScore(1, 2), r.FoldScore(0, 1), r.Alpha(1, 0), r.Alpha(0, 2))
	}
	// target 0 degenerate on both folds, target 2 on fold 1: 3 pairs, 2 targets
	r.Finish([]bool{true, false, false, true, false, true})
	want := []float64{(0.1 + 0.5) / 2, (0.2 + 0.6) / 2, (0.3 + 0.9) / 2}
	for i := range want {
		if r.Scores[i] != want[i] {
			t.Errorf("Scores[%d] = %v, want %v", i, r.Scores[i], want[i])
		}
	}
	if r.Degenerate != 3 || r.DegenerateTargets != 2 {
		t.Errorf("Degenerate %d, DegenerateTargets %d; want 3, 2", r.Degenerate, r.DegenerateTargets)
	}
	// no degenerate marks at all
	r2 := NewResult(1, 2)
	copy(r2.FoldScores, []float64{0.25, 0.75})
	r2.Finish(nil)
	if r2.Scores[0] != 0.5 || r2.Degenerate != 0 || r2.DegenerateTargets != 0 {
		t.Errorf("Finish(nil): score %v, %d degenerate, %d targets; want 0.5, 0, 0", r2.Scores[0], r2.Degenerate, r2.DegenerateTargets)
	}
}
