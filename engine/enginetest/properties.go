package enginetest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/brainalign/brainalign/engine"
)

// RunProperties runs the engine-agnostic cases, which need no fixtures: planted ground truth,
// batching invariance, memory layouts, input dtypes, row order, degenerate counts, session reuse,
// progress and cancellation.
func RunProperties(t *testing.T, newEngine func(t *testing.T) engine.Engine) {
	t.Run("planted", func(t *testing.T) { testPlanted(t, newEngine) })
	t.Run("batching", func(t *testing.T) { testBatching(t, newEngine) })
	t.Run("out_of_memory", func(t *testing.T) { testOutOfMemory(t, newEngine) })
	t.Run("col_major", func(t *testing.T) { testColMajor(t, newEngine) })
	t.Run("input_dtype", func(t *testing.T) { testInputDtype(t, newEngine) })
	t.Run("extreme_scales", func(t *testing.T) { testExtremeScales(t, newEngine) })
	t.Run("near_exact_fits", func(t *testing.T) { testNearExactFits(t, newEngine) })
	t.Run("high_leverage_rows", func(t *testing.T) { testHighLeverageRows(t, newEngine) })
	t.Run("outlier_activations", func(t *testing.T) { testOutlierActivations(t, newEngine) })
	t.Run("shifted_rows", func(t *testing.T) { testShiftedRows(t, newEngine) })
	t.Run("outlier_brain_row", func(t *testing.T) { testOutlierBrainRow(t, newEngine) })
	t.Run("fold_indices", func(t *testing.T) { testFoldIndices(t, newEngine) })
	t.Run("degenerate", func(t *testing.T) { testDegenerate(t, newEngine) })
	t.Run("session_reuse", func(t *testing.T) { testSessionReuse(t, newEngine) })
	t.Run("progress", func(t *testing.T) { testProgress(t, newEngine) })
	t.Run("cancel", func(t *testing.T) { testCancel(t, newEngine) })
}

// problem is a synthetic data set held in float64, row-major.
type problem struct {
	n, d, m int
	x, y    []float64
}

func rng(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x5eed)) }

// randomProblem makes X (n x d, standard normal) and Y = X W * gain + noise with gains spread
// over [0.1, 3] (mixed signal-to-noise) and non-zero target means.
func randomProblem(seed uint64, n, d, m int) *problem {
	r := rng(seed)
	p := &problem{n: n, d: d, m: m, x: make([]float64, n*d), y: make([]float64, n*m)}
	for i := range p.x {
		p.x[i] = r.NormFloat64()
	}
	w := make([]float64, d*m)
	for i := range w {
		w[i] = r.NormFloat64() / math.Sqrt(float64(d))
	}
	for t := 0; t < m; t++ {
		gain := 0.1 * math.Pow(30, float64(t%7)/6)
		off := 3 * r.NormFloat64()
		for i := 0; i < n; i++ {
			s := 0.0
			for j := 0; j < d; j++ {
				s += p.x[i*d+j] * w[j*m+t]
			}
			p.y[i*m+t] = gain*s + r.NormFloat64() + off
		}
	}
	return p
}

func (p *problem) X() engine.Matrix { return engine.NewMatrix64(p.n, p.d, p.x) }
func (p *problem) Y() engine.Matrix { return engine.NewMatrix64(p.n, p.m, p.y) }

// roundTo32 rounds every value to the nearest float32 (so float32 and float64 copies agree).
func (p *problem) roundTo32() {
	for i := range p.x {
		p.x[i] = float64(float32(p.x[i]))
	}
	for i := range p.y {
		p.y[i] = float64(float32(p.y[i]))
	}
}

func to32(a []float64) []float32 {
	out := make([]float32, len(a))
	for i, v := range a {
		out[i] = float32(v)
	}
	return out
}

// colMajor returns a column-major copy of a row-major r x c matrix.
func colMajor(r, c int, a []float64) []float64 {
	out := make([]float64, len(a))
	for i := 0; i < r; i++ {
		for j := 0; j < c; j++ {
			out[j*r+i] = a[i*c+j]
		}
	}
	return out
}

func defaults(t *testing.T, n int, p engine.Precision) engine.Options {
	t.Helper()
	opts, err := engine.Defaults(n)
	if err != nil {
		t.Fatalf("engine.Defaults(%d): %v", n, err)
	}
	opts.Precision = p
	return opts
}

func score(t *testing.T, newEngine func(t *testing.T) engine.Engine, x, y engine.Matrix, opts engine.Options) *engine.Result {
	t.Helper()
	e := newEngine(t)
	defer e.Close()
	res, err := engine.Score(context.Background(), e, x, y, opts)
	if errors.Is(err, engine.ErrUnsupported) {
		t.Skipf("this engine does not implement it: %v", err)
	}
	if err != nil {
		t.Fatalf("Score: %v", err)
	}
	if !checkShape(t, res, y.Cols, len(opts.Folds)) {
		t.FailNow()
	}
	return res
}

// diff returns the largest |a - b| over scores and fold scores and the number of differing
// penalties.
func diff(a, b *engine.Result) (maxDiff float64, penalties int) {
	for i := range a.Scores {
		maxDiff = math.Max(maxDiff, nanInf(math.Abs(a.Scores[i]-b.Scores[i])))
	}
	for i := range a.FoldScores {
		maxDiff = math.Max(maxDiff, nanInf(math.Abs(a.FoldScores[i]-b.FoldScores[i])))
		if a.Alphas[i] != b.Alphas[i] {
			penalties++
		}
	}
	return maxDiff, penalties
}

func expectSame(t *testing.T, what string, a, b *engine.Result, tol float64) {
	t.Helper()
	d, np := diff(a, b)
	t.Logf("%s: max |r diff| %.3g, %d penalties differ", what, d, np)
	if d > tol || np > 0 {
		t.Errorf("%s: max |r diff| %.3g (tolerance %g), %d of %d penalties differ", what, d, tol, np, len(a.Alphas))
	}
	if a.Degenerate != b.Degenerate || a.DegenerateTargets != b.DegenerateTargets {
		t.Errorf("%s: degenerate counts %d/%d vs %d/%d", what, a.Degenerate, a.DegenerateTargets, b.Degenerate, b.DegenerateTargets)
	}
}

var precisions = []engine.Precision{engine.Float64, engine.Float32}

// testPlanted: y = X w + small noise scores near 1; pure noise scores near 0.
func testPlanted(t *testing.T, newEngine func(t *testing.T) engine.Engine) {
	const n, d, signal, noise = 300, 20, 30, 20
	m := signal + noise
	r := rng(1)
	x := make([]float64, n*d)
	for i := range x {
		x[i] = r.NormFloat64()
	}
	y := make([]float64, n*m)
	for t := 0; t < m; t++ {
		w := make([]float64, d)
		for j := range w {
			w[j] = r.NormFloat64()
		}
		for i := 0; i < n; i++ {
			s := 5.0 * float64(t) // an offset: the intercept must absorb it
			if t < signal {
				for j := 0; j < d; j++ {
					s += x[i*d+j] * w[j]
				}
				s += 0.01 * r.NormFloat64()
			} else {
				s += r.NormFloat64()
			}
			y[i*m+t] = s
		}
	}
	for _, p := range precisions {
		t.Run(p.String(), func(t *testing.T) {
			res := score(t, newEngine, engine.NewMatrix64(n, d, x), engine.NewMatrix64(n, m, y), defaults(t, n, p))
			worst, mean, maxNoise := 1.0, 0.0, 0.0
			for tt := 0; tt < m; tt++ {
				if tt < signal {
					worst = math.Min(worst, res.Scores[tt])
				} else {
					mean += res.Scores[tt] / noise
					maxNoise = math.Max(maxNoise, math.Abs(res.Scores[tt]))
				}
			}
			t.Logf("planted: worst signal score %.6f; noise targets mean %.4f, max |score| %.3f", worst, mean, maxNoise)
			if !(worst > 0.999) {
				t.Errorf("planted targets (noise 1%% of the signal): worst score %.6f, want > 0.999", worst)
			}
			if !(math.Abs(mean) < 0.1) || !(maxNoise < 0.4) {
				t.Errorf("pure-noise targets: mean score %.4f (want |mean| < 0.1), max |score| %.3f (want < 0.4)", mean, maxNoise)
			}
			if res.Degenerate != 0 {
				t.Errorf("planted problem: %d degenerate pairs, want 0", res.Degenerate)
			}
		})
	}
}

// testBatching: a MemoryLimit small enough to force many target batches gives the unlimited
// result (1e-12 in float64). Targets are many beside the features, so that the smallest limit an
// engine accepts (at least what one fold's decomposition holds) leaves room for a few of them
// only.
func testBatching(t *testing.T, newEngine func(t *testing.T) engine.Engine) {
	pr := randomProblem(2, 100, 20, 2048)
	for _, p := range precisions {
		t.Run(p.String(), func(t *testing.T) {
			opts := defaults(t, pr.n, p)
			full := score(t, newEngine, pr.X(), pr.Y(), opts)
			// the smallest limit the engine accepts, up from 256 bytes by doubling (an engine's
			// fixed memory, the decomposition's, may be refused at a quarter of a limit that still
			// leaves room for only three batches); the limits refused below it cost no scoring,
			// where the limits above it (down from 64 MiB, as this went before) each scored
			// everything again
			var small *engine.Result
			var limit int64
			var lastErr error
			for l := int64(256); l <= 64<<20; l *= 2 {
				o := opts
				o.MemoryLimit = l
				e := newEngine(t)
				res, err := engine.Score(context.Background(), e, pr.X(), pr.Y(), o)
				e.Close()
				if err == nil {
					small, limit = res, l
					break
				}
				if !errors.Is(err, engine.ErrOutOfMemory) {
					t.Fatalf("MemoryLimit %d: error %v does not wrap engine.ErrOutOfMemory", l, err)
				}
				lastErr = err
			}
			if small == nil {
				t.Fatalf("no MemoryLimit up to 64 MiB was accepted for n=%d, d=%d, m=%d: %v", pr.n, pr.d, pr.m, lastErr)
			}
			t.Logf("unlimited: %d batch(es); MemoryLimit %d bytes: %d batches", full.Batches, limit, small.Batches)
			if small.Batches < 4 {
				t.Fatalf("MemoryLimit %d bytes (the smallest accepted) gave %d target batches, want >= 4 (%d unlimited); "+
					"either the limit is ignored or the out-of-memory error comes too early", limit, small.Batches, full.Batches)
			}
			tol := 1e-12
			if p != engine.Float64 {
				tol = 1e-5
			}
			expectSame(t, fmt.Sprintf("batched (%d) vs unlimited (%d)", small.Batches, full.Batches), small, full, tol)
		})
	}
}

// testOutOfMemory: a limit of one byte cannot hold one target: the error wraps ErrOutOfMemory.
func testOutOfMemory(t *testing.T, newEngine func(t *testing.T) engine.Engine) {
	pr := randomProblem(3, 60, 10, 8)
	opts := defaults(t, pr.n, engine.Float64)
	opts.MemoryLimit = 1
	e := newEngine(t)
	defer e.Close()
	_, err := engine.Score(context.Background(), e, pr.X(), pr.Y(), opts)
	if err == nil {
		t.Fatalf("MemoryLimit of 1 byte: no error (want one wrapping engine.ErrOutOfMemory)")
	}
	if !errors.Is(err, engine.ErrOutOfMemory) {
		t.Errorf("MemoryLimit of 1 byte: %v does not wrap engine.ErrOutOfMemory", err)
	}
	checkMessage(t, err)
}

// testColMajor: column-major X and Y give the row-major result.
func testColMajor(t *testing.T, newEngine func(t *testing.T) engine.Engine) {
	pr := randomProblem(4, 90, 15, 30)
	xc := engine.Matrix{Rows: pr.n, Cols: pr.d, ColMajor: true, F64: colMajor(pr.n, pr.d, pr.x)}
	yc := engine.Matrix{Rows: pr.n, Cols: pr.m, ColMajor: true, F64: colMajor(pr.n, pr.m, pr.y)}
	x32 := engine.Matrix{Rows: pr.n, Cols: pr.d, ColMajor: true, F32: to32(colMajor(pr.n, pr.d, pr.x))}
	y32 := engine.Matrix{Rows: pr.n, Cols: pr.m, ColMajor: true, F32: to32(colMajor(pr.n, pr.m, pr.y))}
	for _, p := range precisions {
		t.Run(p.String(), func(t *testing.T) {
			opts := defaults(t, pr.n, p)
			rm := score(t, newEngine, pr.X(), pr.Y(), opts)
			tol := 1e-12
			if p != engine.Float64 {
				tol = 1e-5
			}
			expectSame(t, "col-major X and Y vs row-major", score(t, newEngine, xc, yc, opts), rm, tol)
			expectSame(t, "col-major Y only", score(t, newEngine, pr.X(), yc, opts), rm, tol)
			rm32 := score(t, newEngine, engine.NewMatrix32(pr.n, pr.d, to32(pr.x)), engine.NewMatrix32(pr.n, pr.m, to32(pr.y)), opts)
			expectSame(t, "col-major float32 X and Y vs row-major float32", score(t, newEngine, x32, y32, opts), rm32, tol)
		})
	}
}

// testInputDtype: the same values stored as float32 and as float64 give the same result.
func testInputDtype(t *testing.T, newEngine func(t *testing.T) engine.Engine) {
	pr := randomProblem(5, 90, 15, 30)
	pr.roundTo32()
	x32 := engine.NewMatrix32(pr.n, pr.d, to32(pr.x))
	y32 := engine.NewMatrix32(pr.n, pr.m, to32(pr.y))
	for _, p := range precisions {
		t.Run(p.String(), func(t *testing.T) {
			opts := defaults(t, pr.n, p)
			r64 := score(t, newEngine, pr.X(), pr.Y(), opts)
			tol := 1e-10
			if p != engine.Float64 {
				tol = 1e-5
			}
			expectSame(t, "float32 X and Y vs float64", score(t, newEngine, x32, y32, opts), r64, tol)
			expectSame(t, "float32 X, float64 Y", score(t, newEngine, x32, pr.Y(), opts), r64, tol)
			expectSame(t, "float64 X, float32 Y", score(t, newEngine, pr.X(), y32, opts), r64, tol)
		})
	}
}

// testFoldIndices: shuffled folds on the original rows equal contiguous folds on permuted rows
// (the engine honours Fold indices rather than assuming contiguous blocks).
// testExtremeScales: features and targets far from unit scale (powers of two, so the float32
// and float64 inputs are the same numbers) score in float32 as in float64, within the float32
// tolerance of the conformance fixtures, and with no more degenerate pairs. Ridge's prediction
// is then tiny (features of 1e-30: every penalty shrinks it by 1e-30 or more) or its
// coefficient factors are (features of 1e30 with targets of 1e-12); float32 predictions
// underflowed to exact zeros, scored 0, before the engines brought the prediction's factors to
// unit size (engine.UnitScale). Which penalty is chosen hardly matters here (all shrink alike),
// so only the scores are compared.
// testNearExactFits: fewer training rows than features, with an intercept, features of large
// scale (s² far above the small penalties): the training fit is near exact and the leave-one-out
// residuals are far below float32's rounding of the centred targets. Float32 must pick the
// penalties float64 picks (a mean of rounding noise, ~1e-7 |Yc| per column, once passed for a
// residual: |r| off by 0.08, 18% of penalties).
func testNearExactFits(t *testing.T, newEngine func(t *testing.T) engine.Engine) {
	const n, d, m = 40, 80, 20
	r := rng(4) // with seeds 3 and 4 the lost residuals picked wrong penalties: |r| off by 0.03, 0.08
	x := make([]float64, n*d)
	for i := range n {
		for j := range d {
			x[i*d+j] = 1e4 * math.Exp(-0.03*float64(j)) * r.NormFloat64()
		}
	}
	y := make([]float64, n*m)
	for i := range n {
		for k := range m {
			s := 0.0
			for j := range 5 {
				s += x[i*d+j+k] / 1e4
			}
			y[i*m+k] = s*float64(k)/10 + r.NormFloat64() + 3
		}
	}
	pr := &problem{n: n, d: d, m: m, x: x, y: y}
	for _, mode := range []engine.InnerMode{engine.LOO, engine.GCV} {
		o64, o32 := defaults(t, n, engine.Float64), defaults(t, n, engine.Float32)
		o64.Inner.Mode, o32.Inner.Mode = mode, mode
		r64 := score(t, newEngine, pr.X(), pr.Y(), o64)
		r32 := score(t, newEngine, pr.X(), pr.Y(), o32)
		// penalties may differ where they tie (near-exact fits score the same over a range of
		// small penalties): the scores say whether the choice was right
		worst, np := diff(r64, r32)
		t.Logf("inner %v: max |r diff| %.3g, %d of %d penalties differ", mode, worst, np, len(r64.Alphas))
		if worst > 2e-3 {
			t.Errorf("inner %v: float32 differs from float64 by up to %.3g (tolerance 2e-3)", mode, worst)
		}
	}
}

// testHighLeverageRows: training rows of leverage near 1 (a large feature on two images only,
// more rows than features). float32's and TF32's rounding of their residual, divided by
// 1-h ~ 1e-8, once passed for their leave-one-out error and moved the penalty choice (|r| off by
// 0.039 from float64 with the first case); their errors are now float64's (engine.HotRows), in
// whole and in small batches. TF32 is skipped where the engine has no tensor cores.
func testHighLeverageRows(t *testing.T, newEngine func(t *testing.T) engine.Engine) {
	for _, c := range []struct {
		n, d, m int
		spike   float64
		seed    uint64
	}{
		{60, 6, 6, 1e4, 3},
		{90, 8, 70, 1e4, 4},
		{200, 20, 30, 1e4, 5},
		{200, 20, 30, 1e3, 7},
	} {
		r := rand.New(rand.NewPCG(c.seed, 1))
		x := make([]float64, c.n*c.d)
		y := make([]float64, c.n*c.m)
		for i := range c.n {
			for j := range c.d - 1 {
				x[i*c.d+j] = r.NormFloat64()
			}
			for k := range c.m {
				y[i*c.m+k] = x[i*c.d+k%3] + r.NormFloat64()
			}
		}
		x[0*c.d+c.d-1], x[20*c.d+c.d-1] = c.spike, c.spike
		X, Y := engine.NewMatrix64(c.n, c.d, x), engine.NewMatrix64(c.n, c.m, y)
		want := score(t, newEngine, X, Y, defaults(t, c.n, engine.Float64))
		for _, p := range []engine.Precision{engine.Float32, engine.TF32} {
			t.Run(fmt.Sprintf("n%d_spike%g_%s", c.n, c.spike, p), func(t *testing.T) {
				for _, mb := range []int{0, 16} {
					o := defaults(t, c.n, p)
					o.MaxBatch = mb
					got := score(t, newEngine, X, Y, o)
					worst, np := diff(want, got)
					t.Logf("batch %d: max |r diff| %.3g against float64, %d of %d penalties differ", mb, worst, np, len(want.Alphas))
					if worst > 2e-3 {
						t.Errorf("batch %d: |r| off float64 by %.3g (tolerance 2e-3)", mb, worst)
					}
				}
			})
		}
	}
}

// testOutlierActivations: one row of activations 1e9 times the others' (rows of the training
// folds that hold it then have rank 1, its direction: engine.KeptDirections). Where it trains it
// moves the training mean, from which every held-out row then sits 1e7 times its spread away;
// where it is held out it sits as far from the other held-out rows. Float32 must score as
// float64 does (the held-out projections lost their spread to float32's rounding of that
// offset: |r| off by 0.49 on the CPU, 0.46 on cudasim, a prediction made constant and scored
// 0), and keep the same held-out predictions in the data's units, the outlier's own among them.
func testOutlierActivations(t *testing.T, newEngine func(t *testing.T) engine.Engine) {
	pr := randomProblem(13, 100, 10, 12)
	for j := range pr.d {
		pr.x[37*pr.d+j] *= 1e9
	}
	var res [2]*engine.Result
	for k, p := range precisions {
		opts := defaults(t, pr.n, p)
		opts.KeepPredictions = true
		res[k] = score(t, newEngine, pr.X(), pr.Y(), opts)
	}
	r64, r32 := res[0], res[1]
	worst, np := diff(r64, r32)
	t.Logf("max |r diff| %.3g, %d of %d penalties differ; degenerate pairs %d (float32), %d (float64)", worst, np, len(r64.Alphas), r32.Degenerate, r64.Degenerate)
	if worst > 2e-3 {
		t.Errorf("float32 scores differ from float64 by up to %.3g (tolerance 2e-3)", worst)
	}
	if r32.Degenerate != r64.Degenerate {
		t.Errorf("%d degenerate (fold, target) pairs in float32, %d in float64", r32.Degenerate, r64.Degenerate)
	}
	sd := columnSD(pr.Y())
	folds := defaults(t, pr.n, engine.Float64).Folds
	for f, fold := range folds {
		for _, i := range fold.Test {
			for tg := 0; tg < pr.m; tg++ {
				if r32.Alpha(f, tg) != r64.Alpha(f, tg) {
					continue
				}
				g, w := r32.Predictions.At(i, tg), r64.Predictions.At(i, tg)
				if math.Abs(g-w) > 2e-3*sd[tg]+1e-5*math.Abs(w) || math.IsNaN(g) {
					t.Fatalf("row %d target %d: held-out prediction %.9g in float32, %.9g in float64 (target sd %.3g)", i, tg, g, w, sd[tg])
				}
			}
		}
	}
}

// testShiftedRows: the activations of one fold's rows (a session, a set of other images) offset
// by 1e6 from the others', whose spread is 1. Held out, their projections share an offset a
// million times their spread; in an inner K-fold scored by Pearson r they are a validation
// block as far from its training rows. Float32 must score as float64 does in every inner mode
// (before the projections were centred: |r| off by 0.033 with loo and gcv on the CPU, and with
// kfold:4:pearson by 0.049 on the CPU and 0.11 on cudasim).
func testShiftedRows(t *testing.T, newEngine func(t *testing.T) engine.Engine) {
	pr := randomProblem(14, 100, 10, 12)
	for i := 40; i < 60; i++ { // fold 2 of KFold(5)
		for j := range pr.d {
			pr.x[i*pr.d+j] += 1e6 * (1 + float64(j)/float64(pr.d))
		}
	}
	for _, inner := range []string{"loo", "gcv", "kfold:4:pearson"} {
		t.Run(inner, func(t *testing.T) { float32AsFloat64(t, newEngine, pr, inner) })
	}
}

// float32AsFloat64 fails t unless pr scored in float32 with inner selection is within 2e-3 of
// its float64 scores.
func float32AsFloat64(t *testing.T, newEngine func(t *testing.T) engine.Engine, pr *problem, inner string) {
	t.Helper()
	in, err := engine.ParseInner(inner)
	if err != nil {
		t.Fatal(err)
	}
	var res [2]*engine.Result
	for k, p := range precisions {
		opts := defaults(t, pr.n, p)
		opts.Inner = in
		res[k] = score(t, newEngine, pr.X(), pr.Y(), opts)
	}
	worst, np := diff(res[0], res[1])
	t.Logf("max |r diff| %.3g, %d of %d penalties differ", worst, np, len(res[0].Alphas))
	if worst > 2e-3 {
		t.Errorf("float32 scores differ from float64 by up to %.3g (tolerance 2e-3)", worst)
	}
}

// testOutlierBrainRow: one row of the brain data (an artefact) 1e3 to 1e9 times the others. The
// outer training folds that hold it have their means moved far from every other row, whose
// targets, centred on that mean, share an offset many times their spread; an inner K-fold's
// training and validation targets are its rows re-centred, and must not lose their digits to
// float32's rounding of that offset. Float32 must score as float64 does, scored by R² or
// Pearson r.
func testOutlierBrainRow(t *testing.T, newEngine func(t *testing.T) engine.Engine) {
	for _, inner := range []string{"kfold:4", "kfold:4:pearson"} {
		for _, size := range []float64{1e3, 1e5, 1e7, 1e9} {
			t.Run(fmt.Sprintf("%s/%g", inner, size), func(t *testing.T) {
				pr := randomProblem(15, 100, 10, 12)
				for j := range pr.m {
					pr.y[37*pr.m+j] *= size
				}
				float32AsFloat64(t, newEngine, pr, inner)
			})
		}
	}
}

func testExtremeScales(t *testing.T, newEngine func(t *testing.T) engine.Engine) {
	base := randomProblem(9, 80, 12, 20)
	for _, c := range []struct {
		name   string
		xs, ys int // powers of two
	}{
		{"x_1e-30", -100, 0},
		{"x_1e-30_y_1e-12", -100, -40},
		{"x_1e-20_y_1e-12", -66, -40},
		{"x_1e30_y_1e-12", 100, -40},
		{"x_1e-12_y_1e12", -40, 40},
	} {
		t.Run(c.name, func(t *testing.T) {
			pr := &problem{n: base.n, d: base.d, m: base.m, x: slices.Clone(base.x), y: slices.Clone(base.y)}
			pr.roundTo32()
			for i := range pr.x {
				pr.x[i] = math.Ldexp(pr.x[i], c.xs)
			}
			for i := range pr.y {
				pr.y[i] = math.Ldexp(pr.y[i], c.ys)
			}
			r64 := score(t, newEngine, pr.X(), pr.Y(), defaults(t, pr.n, engine.Float64))
			r32 := score(t, newEngine, pr.X(), pr.Y(), defaults(t, pr.n, engine.Float32))
			worst := 0.0
			for k := range r64.FoldScores {
				worst = math.Max(worst, math.Abs(r32.FoldScores[k]-r64.FoldScores[k]))
			}
			t.Logf("max |r diff| %.3g; degenerate pairs %d (float32), %d (float64); first score %.3f", worst, r32.Degenerate, r64.Degenerate, r64.Scores[0])
			if worst > 2e-3 || math.IsNaN(worst) {
				t.Errorf("float32 scores differ from float64 by up to %.3g (tolerance 2e-3)", worst)
			}
			if r32.Degenerate > r64.Degenerate {
				t.Errorf("%d degenerate (fold, target) pairs in float32, %d in float64", r32.Degenerate, r64.Degenerate)
			}
		})
	}
}

func testFoldIndices(t *testing.T, newEngine func(t *testing.T) engine.Engine) {
	pr := randomProblem(6, 95, 12, 24)
	perm := rng(7).Perm(pr.n)
	xp := make([]float64, len(pr.x))
	yp := make([]float64, len(pr.y))
	for i, src := range perm {
		copy(xp[i*pr.d:(i+1)*pr.d], pr.x[src*pr.d:(src+1)*pr.d])
		copy(yp[i*pr.m:(i+1)*pr.m], pr.y[src*pr.m:(src+1)*pr.m])
	}
	contiguous, err := engine.KFold(pr.n, 5)
	if err != nil {
		t.Fatal(err)
	}
	// the same splits in the original row numbering
	mapped := make([]engine.Fold, len(contiguous))
	for f, fold := range contiguous {
		test := make([]int, len(fold.Test))
		for i, r := range fold.Test {
			test[i] = perm[r]
		}
		mapped[f] = foldFromTest(pr.n, test)
	}
	for _, inner := range []string{"loo", "kfold:3"} {
		t.Run(inner, func(t *testing.T) {
			in, err := engine.ParseInner(inner)
			if err != nil {
				t.Fatal(err)
			}
			opts := defaults(t, pr.n, engine.Float64)
			opts.Inner = in
			opts.Folds = contiguous
			a := score(t, newEngine, engine.NewMatrix64(pr.n, pr.d, xp), engine.NewMatrix64(pr.n, pr.m, yp), opts)
			opts.Folds = mapped
			b := score(t, newEngine, pr.X(), pr.Y(), opts)
			if inner == "loo" {
				// LOO does not depend on the order of the training rows
				expectSame(t, "permuted rows, mapped folds", b, a, 1e-9)
				return
			}
			// an inner K-fold splits the training rows in order, so only a different split is
			// expected: check the scores are sane and the outer test sets were honoured
			d, _ := diff(a, b)
			t.Logf("kfold inner on reordered training rows: max |r diff| %.3g", d)
			if d > 0.5 {
				t.Errorf("kfold inner: permuted rows with mapped folds differ by %.3g in r", d)
			}
		})
	}
}

func foldFromTest(n int, test []int) engine.Fold {
	in := make([]bool, n)
	for _, i := range test {
		in[i] = true
	}
	var f engine.Fold
	for i := 0; i < n; i++ {
		if in[i] {
			f.Test = append(f.Test, i)
		} else {
			f.Train = append(f.Train, i)
		}
	}
	return f
}

// testDegenerate: constant columns and a column constant on one held-out fold are counted in
// Result.Degenerate/DegenerateTargets and score exactly 0 there.
func testDegenerate(t *testing.T, newEngine func(t *testing.T) engine.Engine) {
	pr := randomProblem(8, 100, 10, 12) // KFold(5): 20 rows a fold
	set := func(t0 int, rows []int, v float64) {
		for _, i := range rows {
			pr.y[i*pr.m+t0] = v
		}
	}
	all := make([]int, pr.n)
	for i := range all {
		all[i] = i
	}
	set(0, all, 0)
	set(5, all, 2.5)
	set(9, all, -1024)
	set(3, all[40:60], 0.75) // constant only on fold 2's held-out rows
	wantPairs := map[[2]int]bool{{2, 3}: true}
	for f := 0; f < 5; f++ {
		for _, tt := range []int{0, 5, 9} {
			wantPairs[[2]int{f, tt}] = true
		}
	}
	for _, p := range precisions {
		t.Run(p.String(), func(t *testing.T) {
			res := score(t, newEngine, pr.X(), pr.Y(), defaults(t, pr.n, p))
			if res.Degenerate != len(wantPairs) || res.DegenerateTargets != 4 {
				t.Errorf("Degenerate %d, DegenerateTargets %d; want %d and 4 (3 constant columns x 5 folds + 1 fold of a column constant on its test rows)",
					res.Degenerate, res.DegenerateTargets, len(wantPairs))
			}
			for pair := range wantPairs {
				if v := res.FoldScore(pair[0], pair[1]); v != 0 {
					t.Errorf("fold %d target %d: constant data scores %v, want exactly 0", pair[0], pair[1], v)
				}
			}
			for tt := 0; tt < pr.m; tt++ {
				for f := 0; f < 5; f++ {
					if v := res.FoldScore(f, tt); math.IsNaN(v) || math.Abs(v) > 1 {
						t.Errorf("fold %d target %d: score %v outside [-1, 1]", f, tt, v)
					}
				}
			}
			for _, tt := range []int{0, 5, 9} {
				if res.Scores[tt] != 0 {
					t.Errorf("constant target %d: score %v, want 0", tt, res.Scores[tt])
				}
			}
		})
	}
}

// testSessionReuse: one session scores several activation matrices, each as a one-shot Score
// would, and scoring the same matrix twice is deterministic.
func testSessionReuse(t *testing.T, newEngine func(t *testing.T) engine.Engine) {
	pr := randomProblem(9, 80, 12, 20)
	other := randomProblem(10, 80, 25, 1)
	for _, p := range precisions {
		t.Run(p.String(), func(t *testing.T) {
			opts := defaults(t, pr.n, p)
			tol := 1e-12
			if p != engine.Float64 {
				tol = 1e-6 // parallel float32 reductions need not be bit-reproducible
			}
			e := newEngine(t)
			defer e.Close()
			s, err := e.Open(pr.Y(), opts)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer s.Close()
			var got []*engine.Result
			for i, x := range []engine.Matrix{pr.X(), other.X(), pr.X()} {
				res, err := s.Score(context.Background(), x)
				if err != nil {
					t.Fatalf("Score #%d: %v", i, err)
				}
				got = append(got, res)
			}
			expectSame(t, "second X in a session vs one-shot", got[1], score(t, newEngine, other.X(), pr.Y(), opts), tol)
			expectSame(t, "same X scored twice in one session", got[2], got[0], tol)
			expectSame(t, "first X in a session vs one-shot", got[0], score(t, newEngine, pr.X(), pr.Y(), opts), tol)
		})
	}
}

// testProgress: Progress reports increasing counts up to the total.
func testProgress(t *testing.T, newEngine func(t *testing.T) engine.Engine) {
	pr := randomProblem(11, 60, 8, 10)
	opts := defaults(t, pr.n, engine.Float64)
	var calls, lastDone, lastTotal int
	opts.Progress = func(done, total int) {
		if done < lastDone || done > total || total <= 0 {
			t.Errorf("Progress(%d, %d) after Progress(%d, %d)", done, total, lastDone, lastTotal)
		}
		calls++
		lastDone, lastTotal = done, total
	}
	score(t, newEngine, pr.X(), pr.Y(), opts)
	t.Logf("progress: %d calls, last (%d, %d)", calls, lastDone, lastTotal)
	if calls == 0 {
		t.Fatalf("Options.Progress was never called")
	}
	if lastDone != lastTotal {
		t.Errorf("last Progress call (%d, %d): done should reach total", lastDone, lastTotal)
	}
}

// testCancel: a cancelled context stops Score with context.Canceled, before or during the work.
func testCancel(t *testing.T, newEngine func(t *testing.T) engine.Engine) {
	pr := randomProblem(12, 100, 10, 16)
	t.Run("before", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		e := newEngine(t)
		defer e.Close()
		s, err := e.Open(pr.Y(), defaults(t, pr.n, engine.Float64))
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		defer s.Close()
		res, err := s.Score(ctx, pr.X())
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Score with a cancelled context: result %v, error %v; want context.Canceled", res != nil, err)
		}
	})
	t.Run("during", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		opts := defaults(t, pr.n, engine.Float64)
		calls := 0
		opts.Progress = func(done, total int) {
			calls++
			cancel() // after the first unit of work
		}
		e := newEngine(t)
		defer e.Close()
		s, err := e.Open(pr.Y(), opts)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		defer s.Close()
		_, err = s.Score(ctx, pr.X())
		if calls == 0 {
			t.Fatalf("Progress never called, so cancellation during the work could not be tested (error %v)", err)
		}
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled after the first of several units of work: error %v, want context.Canceled", err)
		}
		if calls > 1 {
			t.Logf("%d progress calls after cancellation before Score returned", calls-1)
		}
	})
}
