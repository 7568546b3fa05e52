package enginetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/brainalign/brainalign/engine"
)

// Tolerances of the prediction cases against scikit-learn, relative to each target's standard
// deviation on the rows fitted (a prediction's natural scale), plus the rounding of the value
// itself in the output's precision (a baseline of 1e4 in float32 is held to 1e-3). Tol64 is the
// scores' (Tol64): features of scale 1e-3 on offsets of 1e4 (case scales) keep about 9 digits
// through anyone's centring, and the CPU engine and scikit-learn differ there by 9e-8 sd (6e-12 elsewhere).
const (
	PredictTol64 = Tol64
	PredictTol32 = 2e-3
)

// PredictCase is one prediction fixture: testdata/predict/<name>/ as written by
// testdata/gen_predict.py.
type PredictCase struct {
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Alphas      []float64 `json:"alphas"`
	Inner       string    `json:"inner"`
	SharedAlpha bool      `json:"shared_alpha"`
	Intercept   bool      `json:"intercept"`
	Standardize bool      `json:"standardize"`
	YShape      []int     `json:"y_shape"`

	X, Y, XNew engine.Matrix
	Want       []float64 // new rows x m, row-major
	Chosen     []float64 // m
	Weights    []float64 // d x m, row-major: scikit-learn's coef_ transposed
	Intercepts []float64 // m
}

// LoadPredictCases reads every case under dir (testdata/predict), sorted by name.
func LoadPredictCases(dir string) ([]*PredictCase, error) {
	names, err := caseNames(dir)
	if err != nil {
		return nil, err
	}
	var cases []*PredictCase
	for _, name := range names {
		c, err := loadPredictCase(filepath.Join(dir, name))
		if err != nil {
			return nil, err
		}
		cases = append(cases, c)
	}
	if len(cases) == 0 {
		return nil, fmt.Errorf("%s: no prediction cases", dir)
	}
	return cases, nil
}

func loadPredictCase(dir string) (*PredictCase, error) {
	raw, err := os.ReadFile(filepath.Join(dir, "case.json"))
	if err != nil {
		return nil, err
	}
	c := &PredictCase{}
	if err := json.Unmarshal(raw, c); err != nil {
		return nil, fmt.Errorf("%s/case.json: %v", dir, err)
	}
	for _, in := range []struct {
		name string
		dst  *engine.Matrix
	}{{"X.npy", &c.X}, {"Y.npy", &c.Y}, {"X_new.npy", &c.XNew}} {
		if *in.dst, err = loadMatrix(filepath.Join(dir, in.name)); err != nil {
			return nil, err
		}
	}
	pred, err := loadMatrix(filepath.Join(dir, "predictions.npy"))
	if err != nil {
		return nil, err
	}
	alphas, err := loadMatrix(filepath.Join(dir, "alphas.npy"))
	if err != nil {
		return nil, err
	}
	w, err := loadMatrix(filepath.Join(dir, "weights.npy"))
	if err != nil {
		return nil, err
	}
	icpt, err := loadMatrix(filepath.Join(dir, "intercepts.npy"))
	if err != nil {
		return nil, err
	}
	m := c.Y.Cols
	if w.Rows != c.X.Cols || w.Rows*w.Cols != c.X.Cols*m || len(icpt.F64) != m {
		return nil, fmt.Errorf("%s: weights %d x %d and %d intercepts for %d features x %d targets", dir, w.Rows, w.Cols, len(icpt.F64), c.X.Cols, m)
	}
	c.Weights, c.Intercepts = rowMajor(w), rowMajor(icpt) // coef_.T is saved in Fortran order
	if pred.Rows != c.XNew.Rows || pred.Rows*pred.Cols != c.XNew.Rows*m || len(alphas.F64) != m {
		return nil, fmt.Errorf("%s: predictions %d x %d and %d penalties for %d new rows x %d targets",
			dir, pred.Rows, pred.Cols, len(alphas.F64), c.XNew.Rows, m)
	}
	c.Want, c.Chosen = rowMajor(pred), rowMajor(alphas)
	return c, nil
}

// Options builds the case's engine options (no folds: Predict fits every row).
func (c *PredictCase) Options(p engine.Precision) (engine.Options, error) {
	inner, err := engine.ParseInner(c.Inner)
	if err != nil {
		return engine.Options{}, err
	}
	return engine.Options{Alphas: append([]float64(nil), c.Alphas...), Inner: inner,
		SharedAlpha: c.SharedAlpha, NoIntercept: !c.Intercept, Standardize: c.Standardize, Precision: p}, nil
}

// RunPredict runs every prediction case under dir at float64 (PredictTol64, identical
// penalties) and float32 (PredictTol32, Agree32 of the penalties identical; targets whose
// penalty differs are not compared) against engines implementing engine.Predictor; others skip,
// saying so.
func RunPredict(t *testing.T, dir string, newEngine func(t *testing.T) engine.Engine) {
	cases, err := LoadPredictCases(dir)
	if err != nil {
		t.Fatalf("prediction fixtures: %v", err)
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			for _, p := range []engine.Precision{engine.Float64, engine.Float32} {
				t.Run(p.String(), func(t *testing.T) { runPredictCase(t, c, p, 0, false, newEngine) })
				t.Run(p.String()+"/weights", func(t *testing.T) { runPredictCase(t, c, p, 0, true, newEngine) })
			}
			// batches of 7 targets: the shared penalty's second pass, results placed by column
			t.Run("float64/batches", func(t *testing.T) { runPredictCase(t, c, engine.Float64, 7, false, newEngine) })
			t.Run("float64/weights/batches", func(t *testing.T) { runPredictCase(t, c, engine.Float64, 7, true, newEngine) })
			// the model alone: no new stimuli
			t.Run("float64/model-only", func(t *testing.T) {
				only := *c
				only.XNew, only.Want = engine.Matrix{}, nil
				runPredictCase(t, &only, engine.Float64, 0, true, newEngine)
			})
		})
	}
	t.Run("errors", func(t *testing.T) { runPredictErrors(t, cases[0], newEngine) })
	for _, c := range cases {
		if c.Name == "loo_n_gt_d" {
			for _, p := range []engine.Precision{engine.Float64, engine.Float32} {
				t.Run("huge-new-row/"+p.String(), func(t *testing.T) { runPredictHugeRow(t, c, p, newEngine) })
			}
		}
	}
}

// runPredictHugeRow predicts c's new stimuli with one more, of activations 1e20 times the first
// one's: the others' predictions stay scikit-learn's. (The engines centre the new rows'
// projections before rounding them to float32, on their median: a mean, moved by the huge row,
// taken off the others in float64, took their digits.)
func runPredictHugeRow(t *testing.T, c *PredictCase, p engine.Precision, newEngine func(t *testing.T) engine.Engine) {
	opts, err := c.Options(p)
	if err != nil {
		t.Fatal(err)
	}
	nNew, d, m := c.XNew.Rows, c.XNew.Cols, c.Y.Cols
	xn := make([]float64, (nNew+1)*d)
	rows := make([]int, nNew)
	for i := range rows {
		rows[i] = i
	}
	c.XNew.GatherRows(rows, xn[:nNew*d])
	for j := range d {
		xn[nNew*d+j] = 1e20 * xn[j]
	}
	e := newEngine(t)
	defer e.Close()
	pr, ok := e.(engine.Predictor)
	if !ok {
		t.Skipf("engine %s does not implement engine.Predictor", e.Name())
	}
	got, err := pr.Predict(context.Background(), c.X, c.Y, engine.NewMatrix64(nNew+1, d, xn), opts)
	if err != nil {
		t.Fatal(err)
	}
	sd := columnSD(c.Y)
	tol, eps := PredictTol64, 0x1p-52
	if p != engine.Float64 {
		tol, eps = PredictTol32, 0x1p-23
	}
	for tg := 0; tg < m; tg++ {
		if got.Alphas[tg] != c.Chosen[tg] {
			continue // a float32 near-tie: runPredictCase counts them
		}
		for i := 0; i < nNew; i++ {
			want, v := c.Want[i*m+tg], got.Values.At(i, tg)
			if math.Abs(v-want) > tol*sd[tg]+eps*math.Abs(want) || math.IsNaN(v) {
				t.Fatalf("new row %d target %d beside a huge one: got %.10g, sklearn %.10g (target sd %.3g)", i, tg, v, want, sd[tg])
			}
		}
	}
}

func runPredictCase(t *testing.T, c *PredictCase, p engine.Precision, maxBatch int, weights bool, newEngine func(t *testing.T) engine.Engine) {
	opts, err := c.Options(p)
	if err != nil {
		t.Fatalf("%s: options: %v", c.Name, err)
	}
	opts.MaxBatch, opts.Weights = maxBatch, weights
	e := newEngine(t)
	defer e.Close()
	pr, ok := e.(engine.Predictor)
	if !ok {
		t.Skipf("engine %s does not implement engine.Predictor", e.Name())
	}
	got, err := pr.Predict(context.Background(), c.X, c.Y, c.XNew, opts)
	if errors.Is(err, engine.ErrUnsupported) {
		t.Skipf("%s: this engine does not implement it: %v", c.Name, err)
	}
	if err != nil {
		t.Fatalf("%s (%s): %v", c.Name, c.Description, err)
	}
	m, nNew := c.Y.Cols, c.XNew.Rows
	if got.Rows != nNew || got.Targets != m || got.Values.Rows != nNew || got.Values.Cols != m || len(got.Alphas) != m {
		t.Fatalf("prediction shape: %d x %d (values %d x %d), %d penalties; want %d x %d", got.Rows, got.Targets, got.Values.Rows, got.Values.Cols, len(got.Alphas), nNew, m)
	}
	if (got.Values.F64 != nil) != (p == engine.Float64) || got.Precision != p {
		t.Errorf("values stored as float64: %v, precision %v; asked for %v", got.Values.F64 != nil, got.Precision, p)
	}
	sd := columnSD(c.Y)
	tol, eps, agree := PredictTol64, 0x1p-52, 1.0
	if p != engine.Float64 {
		tol, eps, agree = PredictTol32, 0x1p-23, Agree32
	}
	mismatches, worst, worstAt, worstSD := 0, 0.0, "", 0.0
	for tg := 0; tg < m; tg++ {
		if got.Alphas[tg] != c.Chosen[tg] {
			if mismatches == 0 {
				t.Logf("%s: first penalty mismatch at target %d: got %g, sklearn %g", c.Name, tg, got.Alphas[tg], c.Chosen[tg])
			}
			mismatches++
			continue
		}
		for i := 0; i < nNew; i++ {
			want, v := c.Want[i*m+tg], got.Values.At(i, tg)
			excess := math.Abs(v-want) / (tol*sd[tg] + eps*math.Abs(want) + 1e-300)
			if sd[tg] > 0 {
				worstSD = max(worstSD, math.Abs(v-want)/sd[tg])
			}
			if math.IsNaN(excess) {
				excess = math.Inf(1)
			}
			if excess > worst {
				worst, worstAt = excess, fmt.Sprintf("new row %d target %d: got %.10g, sklearn %.10g (target sd %.3g)", i, tg, v, want, sd[tg])
			}
		}
	}
	t.Logf("%s [%s]: worst error %.3g of the tolerance, %.3g of a target's sd; penalties: %d of %d differ", c.Name, c.Inner, worst, worstSD, mismatches, m)
	if worst > 1 {
		t.Errorf("%s: prediction beyond the tolerance (%.3g times it) at %s", c.Name, worst, worstAt)
	}
	if 1-float64(mismatches)/float64(m) < agree {
		t.Errorf("%s: %d of %d chosen penalties differ from sklearn's (want >= %.0f%% identical)", c.Name, mismatches, m, 100*agree)
	}
	if got.Rank <= 0 || got.Engine == "" {
		t.Errorf("Rank %d, Engine %q", got.Rank, got.Engine)
	}
	if maxBatch > 0 && m > maxBatch && got.Batches < 2 {
		t.Errorf("MaxBatch %d over %d targets: %d batch(es)", maxBatch, m, got.Batches)
	}
	if weights {
		checkWeights(t, c, got, sd, tol, eps)
	} else if got.Weights.Rows != 0 || got.Intercepts != nil {
		t.Errorf("weights %d x %d and %d intercepts returned unasked", got.Weights.Rows, got.Weights.Cols, len(got.Intercepts))
	}
}

// checkWeights compares the fitted model with scikit-learn's coef_ and intercept_: each weight
// within tol of its target's largest weight, each intercept within tol of what those errors
// move it by (the features' means times the weights) and of the target's sd; and the
// predictions with xNew Weights + Intercepts.
func checkWeights(t *testing.T, c *PredictCase, got *engine.Prediction, sd []float64, tol, eps float64) {
	t.Helper()
	d, m := c.X.Cols, c.Y.Cols
	w := got.Weights
	if w.Rows != d || w.Cols != m || len(got.Intercepts) != m || (w.F64 != nil) != (got.Precision == engine.Float64) {
		t.Fatalf("weights %d x %d (float64: %v) and %d intercepts; want %d x %d in %v", w.Rows, w.Cols, w.F64 != nil, len(got.Intercepts), d, m, got.Precision)
	}
	xmean := make([]float64, d)
	for k := range xmean {
		for i := 0; i < c.X.Rows; i++ {
			xmean[k] += c.X.At(i, k) / float64(c.X.Rows)
		}
	}
	worstW, worstB, at := 0.0, 0.0, ""
	for tg := 0; tg < m; tg++ {
		if got.Alphas[tg] != c.Chosen[tg] {
			continue // a float32 near-tie: another model
		}
		colMax, shift := 0.0, 0.0
		for k := 0; k < d; k++ {
			colMax = max(colMax, math.Abs(c.Weights[k*m+tg]))
			shift += math.Abs(xmean[k]) * math.Abs(c.Weights[k*m+tg])
		}
		for k := 0; k < d; k++ {
			want, v := c.Weights[k*m+tg], w.At(k, tg)
			e := math.Abs(v-want) / (tol*colMax + eps*math.Abs(want) + 1e-300)
			if e > worstW || math.IsNaN(e) {
				worstW, at = nanInf(e), fmt.Sprintf("weight of feature %d for target %d: got %.10g, sklearn %.10g (largest %.3g)", k, tg, v, want, colMax)
			}
		}
		want, v := c.Intercepts[tg], got.Intercepts[tg]
		e := math.Abs(v-want) / (tol*(sd[tg]+shift) + eps*math.Abs(want) + 1e-300)
		if e > worstB || math.IsNaN(e) {
			worstB = nanInf(e)
			if e > 1 || math.IsNaN(e) {
				at = fmt.Sprintf("intercept of target %d: got %.10g, sklearn %.10g", tg, v, want)
			}
		}
	}
	t.Logf("%s: worst weight %.3g of the tolerance, worst intercept %.3g", c.Name, worstW, worstB)
	if worstW > 1 || worstB > 1 {
		t.Errorf("%s: model beyond the tolerance at %s", c.Name, at)
	}
	// the model reproduces the predictions
	for i := 0; i < c.XNew.Rows; i++ {
		for tg := 0; tg < m; tg++ {
			s := got.Intercepts[tg]
			for k := 0; k < d; k++ {
				s += c.XNew.At(i, k) * w.At(k, tg)
			}
			if v := got.Values.At(i, tg); math.Abs(s-v) > tol*sd[tg]+eps*(math.Abs(v)+math.Abs(got.Intercepts[tg])) {
				t.Fatalf("%s: new row %d target %d: xNew Weights + Intercepts = %.10g, the prediction %.10g", c.Name, i, tg, s, v)
			}
		}
	}
}

// runPredictErrors checks that bad inputs to Predict are refused with an error naming the
// problem (a case's data, altered).
func runPredictErrors(t *testing.T, c *PredictCase, newEngine func(t *testing.T) engine.Engine) {
	e := newEngine(t)
	defer e.Close()
	pr, ok := e.(engine.Predictor)
	if !ok {
		t.Skipf("engine %s does not implement engine.Predictor", e.Name())
	}
	opts, err := c.Options(engine.Float32)
	if err != nil {
		t.Fatal(err)
	}
	x, y, xNew := c.X, c.Y, c.XNew
	x.Name, y.Name, xNew.Name = "train.npy", "brain.npy", "new.npy"
	withNaN := func(m engine.Matrix) engine.Matrix {
		m.F64 = append([]float64(nil), m.F64...)
		m.F32 = append([]float32(nil), m.F32...)
		if m.F64 != nil {
			m.F32 = nil
			m.F64[m.Cols+1] = math.NaN()
		} else {
			m.F64 = nil
			m.F32[m.Cols+1] = float32(math.NaN())
		}
		return m
	}
	narrow := xNew
	narrow.Cols--
	narrow.F64, narrow.F32 = nil, make([]float32, narrow.Rows*narrow.Cols)
	few := func(m engine.Matrix, n int) engine.Matrix {
		m.Rows = n
		if m.F64 != nil {
			m.F64 = m.F64[:n*m.Cols]
		} else {
			m.F32 = m.F32[:n*m.Cols]
		}
		return m
	}
	withFolds := opts
	withFolds.Folds, _ = engine.KFold(y.Rows, 5)
	kfold := opts
	kfold.Inner = engine.Inner{Mode: engine.KFoldInner, K: 3}
	tiny := opts
	tiny.MemoryLimit = 1 << 10
	for _, tc := range []struct {
		name       string
		x, y, xNew engine.Matrix
		opts       engine.Options
		want       string
	}{
		{"folds", x, y, xNew, withFolds, "folds (5 given) must be empty"},
		{"features differ", x, y, narrow, opts, fmt.Sprintf("new.npy: %d features, but the activations fitted on have %d", narrow.Cols, x.Cols)},
		{"NaN in new stimuli", x, y, withNaN(xNew), opts, "new.npy"},
		{"NaN in brain data", x, withNaN(y), xNew, opts, "brain.npy"},
		{"rows differ", few(x, x.Rows-1), y, xNew, opts, "train.npy"},
		{"too few rows", few(x, 2), few(y, 2), xNew, opts, "at least 3 stimuli"},
		{"kfold too few rows", few(x, 5), few(y, 5), xNew, kfold, "kfold:3"},
		{"memory", x, y, xNew, tiny, "memory limit"},
	} {
		_, err := pr.Predict(context.Background(), tc.x, tc.y, tc.xNew, tc.opts)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.want)
		}
	}
	if _, err := pr.Predict(context.Background(), x, y, xNew, tiny); !errors.Is(err, engine.ErrOutOfMemory) {
		t.Errorf("a 1 KiB memory limit: %v, want engine.ErrOutOfMemory", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := pr.Predict(ctx, x, y, xNew, opts); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: %v, want context.Canceled", err)
	}
}

// columnSD is each column's standard deviation.
func columnSD(y engine.Matrix) []float64 {
	sd := make([]float64, y.Cols)
	for j := range sd {
		mu := 0.0
		for i := 0; i < y.Rows; i++ {
			mu += y.At(i, j)
		}
		mu /= float64(y.Rows)
		ss := 0.0
		for i := 0; i < y.Rows; i++ {
			d := y.At(i, j) - mu
			ss += d * d
		}
		sd[j] = math.Sqrt(ss / float64(y.Rows))
	}
	return sd
}

// rowMajor returns a matrix's values in row-major order, as float64.
func rowMajor(a engine.Matrix) []float64 {
	out := make([]float64, 0, a.Rows*a.Cols)
	for i := 0; i < a.Rows; i++ {
		for j := 0; j < a.Cols; j++ {
			out = append(out, a.At(i, j))
		}
	}
	return out
}
