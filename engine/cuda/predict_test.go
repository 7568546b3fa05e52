//go:build cuda

package cuda

import (
	"cmp"
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/brainalign/brainalign/engine"
	"github.com/brainalign/brainalign/fallback"
)

// TestPredictMatchesCPU: the CUDA engine's predictions and fitted model (Options.Weights) equal
// the CPU engine's (scikit-learn's, by the conformance suite), with more rows than features (the
// primal decomposition, V its eigenvectors) and fewer (the dual one, V formed from U), the brain
// data resident and streamed from the host in batches, in float64, float32 and TF32 (its
// products rounded: within 1% of each target's sd), without an intercept, and the model alone
// (no new stimuli).
func TestPredictMatchesCPU(t *testing.T) {
	e := newTestEngine(t)
	for _, pb := range []struct {
		name          string
		n, nNew, d, m int
	}{
		{"primal", 200, 30, 16, 3000},
		{"dual", 60, 20, 150, 2000},
	} {
		n, nNew, d, m := pb.n, pb.nNew, pb.d, pb.m
		xAll, yAll := problem(n+nNew, d, m, 5)
		x := engine.NewMatrix64(n, d, xAll.F64[:n*d])
		xNew := engine.NewMatrix64(nNew, d, xAll.F64[n*d:])
		y := engine.NewMatrix64(n, m, yAll.F64[:n*m])
		for _, tc := range []struct {
			name                                  string
			p                                     engine.Precision
			streamed, weights, noIntercept, alone bool
			tol, agree                            float64
		}{
			{"float64", engine.Float64, false, true, false, false, 1e-9, 1},
			{"float64/streamed", engine.Float64, true, true, false, false, 1e-9, 1},
			{"float64/model-alone", engine.Float64, false, true, false, true, 1e-9, 1},
			{"float32", engine.Float32, false, true, false, false, 2e-3, 0.99},
			{"float32/streamed", engine.Float32, true, true, false, false, 2e-3, 0.99},
			{"float32/streamed/model-alone", engine.Float32, true, true, false, true, 2e-3, 0.99},
			{"float32/no-intercept", engine.Float32, false, true, true, false, 2e-3, 0.99},
			{"float32/no-weights", engine.Float32, false, false, false, false, 2e-3, 0.99},
			// TF32's penalties agree less often with fewer rows than features (TestMatchesCPU)
			{"tf32", engine.TF32, false, true, false, false, 1e-2, 0.8},
			{"tf32/streamed", engine.TF32, true, true, false, false, 1e-2, 0.8},
			{"tf32/no-intercept", engine.TF32, false, true, true, false, 1e-2, 0.8},
		} {
			t.Run(pb.name+"/"+tc.name, func(t *testing.T) {
				opts := engine.Options{Alphas: engine.DefaultAlphas(), Precision: tc.p, Weights: tc.weights, NoIntercept: tc.noIntercept}
				xn := xNew
				if tc.alone {
					xn = engine.Matrix{}
				}
				ref := opts
				if tc.p == engine.TF32 {
					ref.Precision = engine.Float64
				}
				want, err := fallback.New().Predict(context.Background(), x, y, xn, ref)
				if err != nil {
					t.Fatal(err)
				}
				if tc.streamed {
					opts.MemoryLimit = streamedLimit(y, tc.p)
				}
				got, err := e.Predict(context.Background(), x, y, xn, opts)
				if err != nil {
					t.Fatal(err)
				}
				if tc.streamed && got.Batches < 2 {
					t.Errorf("streamed brain data in %d batch(es)", got.Batches)
				}
				if (got.Values.F64 != nil) != (tc.p == engine.Float64) || got.Rank != want.Rank || got.Rows != xn.Rows {
					t.Errorf("values float64: %v for %v; rank %d, cpu %d; %d rows, want %d", got.Values.F64 != nil, tc.p, got.Rank, want.Rank, got.Rows, xn.Rows)
				}
				sd := targetScale(y, !tc.noIntercept)
				same, worst := 0, 0.0
				for j := 0; j < m; j++ {
					if got.Alphas[j] != want.Alphas[j] {
						continue
					}
					same++
					for i := 0; i < xn.Rows; i++ {
						g, w := got.Values.At(i, j), want.Values.At(i, j)
						e := math.Abs(g-w) / max(sd[j], 1e-300) // a constant target: its value exactly (intercept)
						if math.IsNaN(g) {
							e = math.Inf(1)
						}
						worst = max(worst, e)
					}
				}
				t.Logf("%d of %d penalties equal the cpu's; worst prediction error %.3g of a target's sd", same, m, worst)
				if worst > tc.tol || math.IsNaN(worst) {
					t.Errorf("predictions differ from the cpu engine's by %.3g of a target's sd (tolerance %g)", worst, tc.tol)
				}
				if float64(same) < tc.agree*float64(m) {
					t.Errorf("%d of %d penalties equal the cpu engine's, want >= %.0f%%", same, m, 100*tc.agree)
				}
				if !tc.weights {
					if got.Weights.Rows != 0 || got.Intercepts != nil {
						t.Errorf("weights %d x %d and %d intercepts returned unasked", got.Weights.Rows, got.Weights.Cols, len(got.Intercepts))
					}
					return
				}
				compareModel(t, got, want, x, sd, tc.tol)
			})
		}
	}
}

// streamedLimit is a memory limit under which Predict streams y from the host: y takes 2/3 of
// it, more than the half that Open places on the device.
func streamedLimit(y engine.Matrix, p engine.Precision) int64 {
	es := int64(4)
	if p == engine.Float64 {
		es = 8
	}
	return int64(y.Rows) * int64(y.Cols) * es * 3 / 2
}

// targetScale is each target's standard deviation (centred), or its root mean square.
func targetScale(y engine.Matrix, centred bool) []float64 {
	n, m := y.Rows, y.Cols
	out := make([]float64, m)
	for j := range out {
		mean := 0.0
		if centred {
			for i := 0; i < n; i++ {
				mean += y.At(i, j) / float64(n)
			}
		}
		ss := 0.0
		for i := 0; i < n; i++ {
			ss += (y.At(i, j) - mean) * (y.At(i, j) - mean)
		}
		out[j] = math.Sqrt(ss / float64(n))
	}
	return out
}

// compareModel checks the fitted model of got against want's (the CPU engine's), for the
// targets whose penalties agree: each weight within tol of the target's largest weight, each
// intercept within tol of the target's scale (sd) plus what the weights' errors move it by (the
// features' means times the weights), and the weights in the values' precision.
func compareModel(t *testing.T, got, want *engine.Prediction, x engine.Matrix, sd []float64, tol float64) {
	t.Helper()
	d, m := x.Cols, got.Targets
	w := got.Weights
	if w.Rows != d || w.Cols != m || len(got.Intercepts) != m || (w.F64 != nil) != (got.Precision == engine.Float64) {
		t.Fatalf("weights %d x %d (float64: %v) and %d intercepts; want %d x %d in %v", w.Rows, w.Cols, w.F64 != nil, len(got.Intercepts), d, m, got.Precision)
	}
	xmean := make([]float64, d)
	for k := range xmean {
		for i := 0; i < x.Rows; i++ {
			xmean[k] += x.At(i, k) / float64(x.Rows)
		}
	}
	worstW, worstB := 0.0, 0.0
	for j := 0; j < m; j++ {
		if got.Alphas[j] != want.Alphas[j] {
			continue
		}
		colMax, shift := 0.0, 0.0
		for k := 0; k < d; k++ {
			colMax = max(colMax, math.Abs(want.Weights.At(k, j)))
			shift += math.Abs(xmean[k] * want.Weights.At(k, j))
		}
		for k := 0; k < d; k++ {
			e := math.Abs(w.At(k, j)-want.Weights.At(k, j)) / max(colMax, 1e-300)
			if math.IsNaN(e) {
				e = math.Inf(1)
			}
			worstW = max(worstW, e)
		}
		e := math.Abs(got.Intercepts[j]-want.Intercepts[j]) / max(sd[j]+shift, 1e-300)
		if math.IsNaN(e) {
			e = math.Inf(1)
		}
		worstB = max(worstB, e)
	}
	t.Logf("worst weight error %.3g of the target's largest weight, worst intercept error %.3g", worstW, worstB)
	if worstW > tol || worstB > tol {
		t.Errorf("the model differs from the cpu engine's: weights by %.3g, intercepts by %.3g (tolerance %g)", worstW, worstB, tol)
	}
}

// TestPredictWeightsOOM: a batch that runs out of device memory mid-fold (a library's
// workspace) is predicted again in smaller batches, and so are its weights: the same model as
// without the failure, with the brain data resident and streamed, and under MaxBatch.
func TestPredictWeightsOOM(t *testing.T) {
	e := newTestEngine(t)
	const n, nNew, d, m = 60, 10, 90, 2000
	xAll, yAll := problem(n+nNew, d, m, 21)
	x := engine.NewMatrix64(n, d, xAll.F64[:n*d])
	xNew := engine.NewMatrix64(nNew, d, xAll.F64[n*d:])
	y := engine.NewMatrix64(n, m, yAll.F64[:n*m])
	for _, tc := range []struct {
		name  string
		limit int64
		batch int
	}{
		{"resident", 0, 0},
		{"streamed", streamedLimit(y, engine.Float64), 0},
		{"max-batch", 0, 70},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := engine.Options{Alphas: engine.DefaultAlphas(), Precision: engine.Float64, Weights: true, MemoryLimit: tc.limit, MaxBatch: tc.batch}
			want, err := e.Predict(context.Background(), x, y, xNew, opts)
			if err != nil {
				t.Fatal(err)
			}
			e.predictHook = func(s *session) { s.failStage = 1 }
			defer func() { e.predictHook = nil }()
			got, err := e.Predict(context.Background(), x, y, xNew, opts)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("batches %d, %d after an out-of-memory failure", want.Batches, got.Batches)
			if got.Batches <= want.Batches {
				t.Errorf("batches %d after an out-of-memory failure, %d without", got.Batches, want.Batches)
			}
			compareModel(t, got, want, x, targetScale(y, true), 1e-12)
		})
	}
}

// TestPredictWeightsFloat32Range: float32 weights that would leave float32's range are the CPU
// engine's errors, naming the way out (float64), never Inf or zeros: weights of huge features
// and tiny brain data (1e-50: zeros in float32, so that X_new W + b would no longer give the
// predictions), and of tiny features with tiny penalties (1e40); in float64 both fit.
func TestPredictWeightsFloat32Range(t *testing.T) {
	e := newTestEngine(t)
	const n, d, m, nNew = 50, 10, 4, 5
	for _, tc := range []struct {
		name   string
		xs, ys float64
		alphas []float64
		want   string
	}{
		{"underflow", 1e28, 1e-22, engine.DefaultAlphas(), "are below float32's range"},
		{"overflow", 1e-30, 1e10, []float64{1e-62, 1e-61}, "the weight of feature"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(3, 4))
			xs := make([]float64, (n+nNew)*d)
			for i := range xs {
				xs[i] = rng.NormFloat64()
			}
			ys := make([]float64, n*m)
			for i := 0; i < n; i++ {
				for j := 0; j < m; j++ {
					ys[i*m+j] = (xs[i*d+j] + 0.5*rng.NormFloat64()) * tc.ys
				}
			}
			for i := range xs {
				xs[i] *= tc.xs
			}
			x, y, xNew := engine.NewMatrix64(n, d, xs[:n*d]), engine.NewMatrix64(n, m, ys), engine.NewMatrix64(nNew, d, xs[n*d:])
			opts := engine.Options{Alphas: tc.alphas, Weights: true}
			for _, eng := range []engine.Predictor{fallback.New(), e} {
				_, err := eng.Predict(context.Background(), x, y, xNew, opts)
				if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "--precision float64") {
					t.Errorf("%T: %v, want an error containing %q and the way out", eng, err, tc.want)
				}
			}
			opts.Precision = engine.Float64
			got, err := e.Predict(context.Background(), x, y, xNew, opts)
			if err != nil {
				t.Fatalf("float64: %v", err)
			}
			most := 0.0
			for _, w := range got.Weights.F64 {
				most = max(most, math.Abs(w))
			}
			t.Logf("float64: the largest weight %.3g", most)
		})
	}
}

// TestPredictHugeNewRows: new stimuli far larger than those fitted on (features of 5e37) scale
// P by its own largest value, as the CPU engine does, not by the training rows' estimate
// (float32 P overflowed to Inf on the device, an error where the CPU engine predicts).
func TestPredictHugeNewRows(t *testing.T) {
	e := newTestEngine(t)
	const n, nNew, d, m = 120, 3, 8, 20
	xAll, yAll := problem(n+nNew, d, m, 9)
	x := engine.NewMatrix64(n, d, xAll.F64[:n*d])
	y := engine.NewMatrix64(n, m, yAll.F64[:n*m])
	big := append([]float64(nil), xAll.F64[n*d:]...)
	for k := range big[:d] {
		big[k] = 5e37 * (big[k] - 3) // the first new row: huge, around 0
	}
	xNew := engine.NewMatrix64(nNew, d, big)
	opts := engine.Options{Alphas: engine.DefaultAlphas()}
	want, err := fallback.New().Predict(context.Background(), x, y, xNew, opts)
	if err != nil {
		t.Fatalf("cpu engine: %v", err)
	}
	got, err := e.Predict(context.Background(), x, y, xNew, opts)
	if err != nil {
		t.Fatalf("cuda engine: %v", err)
	}
	for k, w := range want.Values.F32 {
		if g := got.Values.F32[k]; math.Abs(float64(g-w)) > 1e-4*math.Abs(float64(w))+1e-3 {
			t.Fatalf("prediction %d: %g, cpu engine %g", k, g, w)
		}
	}
}

// TestPredictMemoryMonotone: under a growing memory limit a prediction either fails with
// ErrOutOfMemory or succeeds, and once it succeeds it succeeds under every larger limit (the
// brain data was placed on the device without counting the new stimuli's rows, so that a limit
// just large enough for it failed where a smaller one streamed it); so does the fitted model
// alone, whose V (fewer rows than features: formed from U) the placement counts too. The limits
// are swept densely where the outcome changes (sweepLimits): out of memory, streamed, placed on
// the device, placed and then streamed.
func TestPredictMemoryMonotone(t *testing.T) {
	e := newTestEngine(t)
	for _, tc := range []struct {
		name           string
		n, nNew, d, m  int
		weights        bool
		precision      engine.Precision
		from, to, step int64
	}{
		// Y 2 MB, the new stimuli's rows on the device about 3 MB
		{"predictions", 100, 2500, 40, 2500, false, engine.Float64, 2 << 20, 8 << 20, 256 << 10},
		// Y 2 MB; the activations, their centred rows and V 400 KB each (V as much again
		// while formed)
		{"model", 100, 0, 500, 2500, true, engine.Float64, 2 << 20, 8 << 20, 192 << 10},
		// in float32 (the default) Y takes 1 MB, less than the activations and their centred
		// rows: a limit that places it on the device leaves too little for the decomposition
		// and V, where a smaller one streams it and succeeds
		{"model/float32", 100, 0, 500, 2500, true, engine.Float32, 1 << 20, 4 << 20, 64 << 10},
		{"predictions/float32", 100, 300, 500, 2500, false, engine.Float32, 3 << 20, 6 << 20, 64 << 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, nNew, d, m := tc.n, tc.nNew, tc.d, tc.m
			xAll, yAll := problem(n+nNew, d, m, 13)
			x := engine.NewMatrix64(n, d, xAll.F64[:n*d])
			y := engine.NewMatrix64(n, m, yAll.F64[:n*m])
			var xNew engine.Matrix
			if nNew > 0 {
				xNew = engine.NewMatrix64(nNew, d, xAll.F64[n*d:])
			}
			var opened *session
			residentAtOpen := false
			e.predictHook = func(s *session) { opened, residentAtOpen = s, s.Resident() }
			defer func() { e.predictHook = nil }()
			errs := map[int64]error{}
			tried := sweepLimits(tc.from, tc.to, 4*tc.step, tc.step, func(limit int64) string {
				opts := engine.Options{Alphas: engine.DefaultAlphas(), Precision: tc.precision, MemoryLimit: limit, Weights: tc.weights}
				opened = nil
				_, err := e.Predict(context.Background(), x, y, xNew, opts)
				switch {
				case errors.Is(err, engine.ErrOutOfMemory):
					errs[limit] = err
					return outOfMemory
				case err != nil:
					t.Fatalf("%s: %v", engine.FormatBytes(limit), err)
				}
				return placement(residentAtOpen, opened)
			}, nil)
			succeeded := firstSuccess(t, tried, errs)
			if succeeded == 0 {
				t.Errorf("no limit up to %s sufficed", engine.FormatBytes(tc.to))
			}
			t.Logf("the first limit that sufficed: %s (%d limits tried)", engine.FormatBytes(succeeded), len(tried))
		})
	}
}

// TestScoreMemoryMonotone is TestPredictMemoryMonotone for Score, in float32 with wide
// activations (Y 1 MB, the activations and their centred rows more): a limit that places Y on
// the device at Open can leave too little for a fold's decomposition, where a smaller one
// streams Y and succeeds. The Score that runs out of memory beside the resident Y streams it and
// runs again, with the numbers of a session streamed from Open under the same limit; the session
// stays streamed (a second Score does not fail first). Every limit fails with ErrOutOfMemory or
// succeeds, and once one succeeds every larger one does, with the CPU engine's numbers.
func TestScoreMemoryMonotone(t *testing.T) {
	e := newTestEngine(t)
	n, d, m := 100, 500, 2500
	x, y := problem(n, d, m, 13)
	base := options(t, n, func(o *engine.Options) { o.Precision = engine.Float32 })
	want := score(t, fallback.New(), x, y, base)
	retried := 0
	errs := map[int64]error{}
	const from, to, step = 1 << 20, 4 << 20, 64 << 10
	tried := sweepLimits(from, to, 4*step, step, func(limit int64) string {
		opts := base
		opts.MemoryLimit = limit
		at := engine.FormatBytes(limit)
		lastDone, lastTotal := 0, 0
		opts.Progress = func(done, total int) {
			if done < lastDone || done > total {
				t.Errorf("%s: Progress(%d, %d) after Progress(%d, %d)", at, done, total, lastDone, lastTotal)
			}
			lastDone, lastTotal = done, total
		}
		s, err := e.Open(y, opts)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		ss := s.(*session)
		resident := ss.Resident()
		got, err := s.Score(context.Background(), x)
		if err != nil {
			if !errors.Is(err, engine.ErrOutOfMemory) {
				t.Fatalf("%s: %v", at, err)
			}
			if ss.Resident() {
				t.Errorf("%s: out of memory with Y still on the device: %v", at, err)
			}
			errs[limit] = err
			return outOfMemory
		}
		// float32 batches of other sizes may take other kernels: a near-tie of penalties may go
		// the other way (TestStreamedBrainData)
		compare(t, at, got, want, 2e-3, 0.99)
		if ss.residencyDropped > 0 {
			retried++
			if !resident || ss.Resident() || ss.residencyDropped != 1 {
				t.Errorf("%s: resident at Open %v, now %v, dropped %d times: want true, false, 1", at, resident, ss.Resident(), ss.residencyDropped)
			}
			if lastDone != lastTotal {
				t.Errorf("%s: the last Progress(%d, %d): done should reach total", at, lastDone, lastTotal)
			}
			onDevice(t, e, func(d *device) error {
				if d.used != 0 {
					t.Errorf("%s: %s held on the device after the Score (the streamed session holds nothing)", at, engine.FormatBytes(d.used))
				}
				return nil
			})
			opts.Progress = nil
			streamed := scoreForcedStreamed(t, e, x, y, opts)
			compare(t, at+" (streamed from the start)", got, streamed, 0, 1)
			if retried == 1 {
				lastDone, lastTotal = 0, 0 // a new Score
				again, err := s.Score(context.Background(), x)
				if err != nil {
					t.Fatalf("%s: the second Score: %v", at, err)
				}
				if ss.residencyDropped != 1 {
					t.Errorf("%s: the brain data dropped %d times over two Scores, want 1", at, ss.residencyDropped)
				}
				compare(t, at+" (the second Score)", again, streamed, 0, 1)
			}
		}
		return placement(resident, ss)
	}, nil)
	succeeded := firstSuccess(t, tried, errs)
	if succeeded == 0 {
		t.Errorf("no limit up to %s sufficed", engine.FormatBytes(to))
	}
	if retried == 0 {
		t.Errorf("no limit placed Y on the device with too little left beside it: the test no longer exercises the retry")
	}
	t.Logf("the first limit that sufficed: %s; %d limits ran again with Y streamed (%d limits tried)", engine.FormatBytes(succeeded), retried, len(tried))
}

// The outcomes of a memory limit in the monotone tests: out of memory, or where the brain data
// was held.
const outOfMemory = "out of memory"

// placement is where a session held the brain data: streamed from the host, resident on the
// device, or resident at Open until a Score ran out of memory beside it and streamed it.
func placement(residentAtOpen bool, s *session) string {
	switch {
	case !residentAtOpen:
		return "streamed"
	case s.residencyDropped > 0:
		return "resident, then streamed"
	}
	return "resident"
}

// firstSuccess returns the smallest limit tried that did not run out of memory (0: none), and
// fails the test for every larger limit that did.
func firstSuccess(t *testing.T, tried []limitOutcome, errs map[int64]error) int64 {
	t.Helper()
	succeeded := int64(0)
	for _, o := range tried {
		switch {
		case o.outcome != outOfMemory && succeeded == 0:
			succeeded = o.limit
		case o.outcome == outOfMemory && succeeded > 0:
			t.Errorf("%s: %v, though %s sufficed", engine.FormatBytes(o.limit), errs[o.limit], engine.FormatBytes(succeeded))
		}
	}
	return succeeded
}

// limitOutcome is what a memory limit led to in sweepLimits.
type limitOutcome struct {
	limit   int64
	outcome string
}

// sweepLimits tries memory limits from `from` towards `to` (up or down, to included) every
// coarse bytes, and wherever two neighbouring limits' outcomes (try's results) differ, every fine
// bytes between them as well: the sweep is dense where the engine's behaviour changes (the brain
// data placed on the device or streamed, work given up, out of memory) and sparse where the
// limits would repeat one another. An outcome for which stop returns true ends the sweep (after
// the fine steps before it, up to the first of them that stops). It returns the limits tried,
// ascending.
func sweepLimits(from, to, coarse, fine int64, try func(limit int64) string, stop func(outcome string) bool) []limitOutcome {
	dir := int64(1)
	if to < from {
		dir = -1
	}
	stops := func(o string) bool { return stop != nil && stop(o) }
	var tried []limitOutcome
	done := func() []limitOutcome {
		slices.SortFunc(tried, func(a, b limitOutcome) int { return cmp.Compare(a.limit, b.limit) })
		return tried
	}
	for limit := from; ; {
		o := try(limit)
		if n := len(tried); n > 0 && tried[n-1].outcome != o {
			for l := tried[n-1].limit + dir*fine; dir*(limit-l) > 0; l += dir * fine {
				lo := try(l)
				tried = append(tried, limitOutcome{l, lo})
				if stops(lo) {
					return done()
				}
			}
		}
		tried = append(tried, limitOutcome{limit, o})
		if stops(o) || limit == to {
			return done()
		}
		limit += dir * coarse
		if dir*(limit-to) > 0 {
			limit = to
		}
	}
}

// scoreForcedStreamed scores x against y with the brain data streamed from the first Score
// whatever Open chose.
func scoreForcedStreamed(t *testing.T, e *Engine, x, y engine.Matrix, opts engine.Options) *engine.Result {
	t.Helper()
	s, err := e.Open(y, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	onDevice(t, e, func(*device) error { s.(*session).stream(); return nil })
	res, err := s.Score(context.Background(), x)
	if err != nil {
		t.Fatalf("streamed from the start: %v", err)
	}
	return res
}
