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
