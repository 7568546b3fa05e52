package engine

import (
	"strings"
	"testing"
)

// TestCheckPredictBounds: Predict fits on at least MinFitRows = 3 rows, an inner kfold:K on at
// least 2K, and takes no folds, not even one.
func TestCheckPredictBounds(t *testing.T) {
	data := func(n int) (x, y, xNew Matrix) {
		xv, yv := make([]float64, n*2), make([]float64, n)
		for i := range n {
			xv[2*i], xv[2*i+1], yv[i] = float64(i), float64(i*i%5), float64(i%3)
		}
		return NewMatrix64(n, 2, xv), NewMatrix64(n, 1, yv), NewMatrix64(1, 2, []float64{1, 2})
	}
	opts := Options{Alphas: DefaultAlphas(), Precision: Float64}
	check := func(n int, o Options) error {
		x, y, xNew := data(n)
		return CheckPredict(x, y, xNew, o)
	}
	if err := check(3, opts); err != nil {
		t.Errorf("3 rows: %v", err)
	}
	if err := check(2, opts); err == nil || !strings.Contains(err.Error(), "at least 3 stimuli") {
		t.Errorf("2 rows: %v", err)
	}
	kfold := opts
	kfold.Inner = Inner{Mode: KFoldInner, K: 3}
	if err := check(6, kfold); err != nil {
		t.Errorf("kfold:3 on 6 rows: %v", err)
	}
	if err := check(5, kfold); err == nil || !strings.Contains(err.Error(), "there are 5 rows, fewer than 6") {
		t.Errorf("kfold:3 on 5 rows: %v", err)
	}
	oneFold := opts
	oneFold.Folds = []Fold{{Train: []int{0, 1, 2}, Test: []int{3}}}
	if err := check(4, oneFold); err == nil || !strings.Contains(err.Error(), "folds (1 given) must be empty") {
		t.Errorf("one fold: %v", err)
	}
}

// TestCheckNewStimuli: no new stimuli at all is a model-only fit, with weights asked for; a
// matrix that claims rows but holds no data is refused either way.
func TestCheckNewStimuli(t *testing.T) {
	x := NewMatrix64(3, 2, []float64{1, 2, 3, 4, 5, 6})
	if err := checkNew(x, Matrix{}, Options{Weights: true}); err != nil {
		t.Errorf("no new stimuli, weights asked for: %v", err)
	}
	if err := checkNew(x, Matrix{}, Options{}); err == nil {
		t.Error("no new stimuli and no weights accepted")
	}
	if err := checkNew(x, Matrix{Rows: 1, Cols: 2}, Options{Weights: true}); err == nil {
		t.Error("a new-stimuli matrix of 1 row without data accepted")
	}
}

// TestPredictionKept: an out-of-memory error names what is held: the predictions, the model
// alone (no new stimuli), or both.
func TestPredictionKept(t *testing.T) {
	for _, c := range []struct {
		nNew    int
		weights bool
		want    string
	}{
		{5, false, "the predictions (5 new stimuli x 7 targets)"},
		{0, true, "the model (3 features x 7 targets)"},
		{5, true, "the predictions and the model (5 new stimuli and 3 features x 7 targets)"},
	} {
		if what, _ := PredictionKept(c.nNew, 3, 7, c.weights); what != c.want {
			t.Errorf("PredictionKept(%d, weights=%v) = %q, want %q", c.nNew, c.weights, what, c.want)
		}
	}
}
