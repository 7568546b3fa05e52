package enginetest

import (
	"context"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/brainalign/brainalign/engine"
)

// RunHeldOutPredictions checks Score's out-of-fold predictions (Options.KeepPredictions) on
// every parity case: on each fold their Pearson r with the data is scikit-learn's fold score
// (Tol64 or Tol32), and, on engines that predict, they are what the engine's Predict (itself
// checked against scikit-learn's RidgeCV.predict) gives fitted on the fold's training rows:
// scikit-learn's cross_val_predict. Rows no fold holds out are NaN.
func RunHeldOutPredictions(t *testing.T, dir string, newEngine func(t *testing.T) engine.Engine) {
	cases := eachCase(t, dir, func(t *testing.T, c *Case, p engine.Precision) { runHeldOut(t, c, p, false, newEngine) })
	// two folds of 30 rows held out, the other rows only ever trained on
	t.Run("rows-never-held-out", func(t *testing.T) { runHeldOut(t, cases[0], engine.Float64, true, newEngine) })
	t.Run("overlapping-folds", func(t *testing.T) { checkOverlapRefused(t, cases[0], newEngine) })
}

func runHeldOut(t *testing.T, c *Case, p engine.Precision, partial bool, newEngine func(t *testing.T) engine.Engine) {
	opts, err := c.Options(p)
	if err != nil {
		t.Fatal(err)
	}
	n, m := c.Y.Rows, c.Y.Cols
	if partial {
		all := make([]int, n)
		for i := range all {
			all[i] = i
		}
		opts.Folds = []engine.Fold{
			{Train: append([]int(nil), all[30:]...), Test: append([]int(nil), all[:30]...)},
			{Train: append(append([]int(nil), all[:30]...), all[60:]...), Test: append([]int(nil), all[30:60]...)},
		}
	}
	opts.KeepPredictions = true
	e := newEngine(t)
	defer e.Close()
	res, err := engine.Score(context.Background(), e, c.X, c.Y, opts)
	if errors.Is(err, engine.ErrUnsupported) {
		t.Skipf("%s: %v", c.Name, err)
	}
	if err != nil {
		t.Fatal(err)
	}
	pr := res.Predictions
	if pr.Rows != n || pr.Cols != m || pr.F64 == nil {
		t.Fatalf("Predictions %d x %d (float64 %v), want %d x %d in float64", pr.Rows, pr.Cols, pr.F64 != nil, n, m)
	}
	held := make([]bool, n)
	for _, f := range opts.Folds {
		for _, i := range f.Test {
			held[i] = true
		}
	}
	for i := 0; i < n; i++ {
		for tg := 0; tg < m; tg++ {
			if v := pr.At(i, tg); math.IsNaN(v) == held[i] {
				t.Fatalf("row %d target %d (held out: %v): prediction %v", i, tg, held[i], v)
			}
		}
	}
	// rel bounds a kept prediction's difference from Predict's relative to its size: predictions
	// extrapolated far outside the training rows (shifted_test_set's, up to 2e6 for targets of
	// sd 1 to 5) are sums of large terms that cancel, whose float32 rounding (of Z; of Y's copy
	// on the device) differs between the two runs by a few 1e-6 of them
	tol, rel := Tol64, 1e-6
	if p != engine.Float64 {
		tol, rel = Tol32, 1e-5
	}
	predictor, canPredict := e.(engine.Predictor)
	sd := columnSD(c.Y)
	for f, fold := range opts.Folds {
		// the fold's r from the kept predictions: the engine's own fold score, and (KFold
		// cases) scikit-learn's
		for tg := 0; tg < m; tg++ {
			a, b := make([]float64, len(fold.Test)), make([]float64, len(fold.Test))
			for k, i := range fold.Test {
				a[k], b[k] = pr.At(i, tg), c.Y.At(i, tg)
			}
			r := pearsonR(a, b)
			if d := math.Abs(r - res.FoldScore(f, tg)); d > tol {
				t.Fatalf("fold %d target %d: r of the kept predictions %.9g, the fold's score %.9g", f, tg, r, res.FoldScore(f, tg))
			}
			if !partial && math.Abs(r-c.FoldScores[f*m+tg]) > tol {
				t.Fatalf("fold %d target %d: r of the kept predictions %.9g, scikit-learn's %.9g", f, tg, r, c.FoldScores[f*m+tg])
			}
		}
		if !canPredict {
			continue
		}
		popts := opts
		popts.Folds, popts.KeepPredictions = nil, false
		want, err := predictor.Predict(context.Background(), pick(c.X, fold.Train), pick(c.Y, fold.Train), pick(c.X, fold.Test), popts)
		if err != nil {
			t.Fatal(err)
		}
		for k, i := range fold.Test {
			for tg := 0; tg < m; tg++ {
				if want.Alphas[tg] != res.Alpha(f, tg) {
					continue // a float32 near-tie between two penalties
				}
				g, w := pr.At(i, tg), want.Values.At(k, tg)
				if math.Abs(g-w) > tol*sd[tg]+rel*math.Abs(w) {
					t.Fatalf("fold %d row %d target %d: kept prediction %.10g, Predict on the fold's training rows %.10g", f, i, tg, g, w)
				}
			}
		}
	}
}

// pick returns the rows of a matrix, row-major float64.
func pick(a engine.Matrix, rows []int) engine.Matrix {
	out := make([]float64, len(rows)*a.Cols)
	a.GatherRows(rows, out)
	return engine.NewMatrix64(len(rows), a.Cols, out)
}

// pearsonR is Pearson's r, 0 where either side is exactly constant (as the engines score such
// folds: a mean that rounds would leave deviations of 1e-16 and an r of 1).
func pearsonR(a, b []float64) float64 {
	if slices.Min(a) == slices.Max(a) || slices.Min(b) == slices.Max(b) {
		return 0
	}
	var ma, mb float64
	for k := range a {
		ma += a[k] / float64(len(a))
		mb += b[k] / float64(len(b))
	}
	var saa, sbb, sab float64
	for k := range a {
		da, db := a[k]-ma, b[k]-mb
		saa, sbb, sab = saa+da*da, sbb+db*db, sab+da*db
	}
	if saa == 0 || sbb == 0 {
		return 0
	}
	return sab / math.Sqrt(saa*sbb)
}

// checkOverlapRefused: a row held out by two folds has two predictions, and Score with
// KeepPredictions refuses such folds (scikit-learn's cross_val_predict needs a partition).
func checkOverlapRefused(t *testing.T, c *Case, newEngine func(t *testing.T) engine.Engine) {
	opts, err := c.Options(engine.Float64)
	if err != nil {
		t.Fatal(err)
	}
	n := c.Y.Rows
	var a, b engine.Fold
	for i := 0; i < n; i++ {
		if i >= 20 && i < 30 || i >= 60 {
			a.Train = append(a.Train, i)
		} else {
			a.Test = append(a.Test, i)
		}
		if i < 20 || i >= 40 {
			b.Train = append(b.Train, i)
		} else {
			b.Test = append(b.Test, i)
		}
	}
	opts.Folds, opts.KeepPredictions = []engine.Fold{a, b}, true
	e := newEngine(t)
	defer e.Close()
	if _, err := engine.Score(context.Background(), e, c.X, c.Y, opts); err == nil || !strings.Contains(err.Error(), "held out by folds 0 and 1") {
		t.Errorf("folds holding out rows 20-29 twice, with KeepPredictions: %v", err)
	}
}
