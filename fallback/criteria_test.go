package fallback

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/brainalign/brainalign/engine"
)

// TestCriteriaByDefinition: the selection criteria of outer fold 0, every penalty and target,
// against their definitions computed by brute force: leave-one-out's mean squared error of
// ridge refitted (intercept and means included) without each training row in turn, GCV's
// mean squared residual of the fit on all training rows over (1 - tr(H)/n)², tr(H) counting
// the intercept, and inner K-fold's mean R² (r2_score) of fits on K-1 of K consecutive parts
// of the training rows, negated (the criterion is minimised). Two designs: more rows than features (the primal decomposition), and fewer
// with repeated and combined images (the dual decomposition with null directions, whose leave-one-out
// residual at small penalties is taken directly as U diag(1-f) Z plus the part of Y outside
// the rows' span). The penalties picked from them are checked against scikit-learn by the
// conformance suite; this checks the values, which a near-miss could leave picking the same.
func TestCriteriaByDefinition(t *testing.T) {
	for _, c := range []struct {
		name    string
		n, d    int
		repeats int // the last rows: repeats and combinations of others
	}{{"n > d", 60, 20, 0}, {"n < d, repeated and combined images", 40, 60, 10}, {"n < d, one repeated image", 40, 60, 1}} {
		rng := rand.New(rand.NewPCG(uint64(c.n), 9))
		const m = 6
		xs := make([]float64, c.n*c.d)
		for i := range xs {
			xs[i] = rng.NormFloat64() * math.Exp(-0.05*float64(i%c.d)) // a decaying spectrum
		}
		for i := range c.repeats {
			// the last rows: repeats of the first ones, and affine combinations of two others
			// (an exact repeat's null direction alone leaves the direct residual's sign unseen:
			// both rows have the same leverage and fit)
			row := xs[(c.n-c.repeats+i)*c.d : (c.n-c.repeats+i+1)*c.d]
			for k := range row {
				if i%2 == 0 { // of training rows of fold 0 (its test rows are 0..7)
					row[k] = xs[(i+8)*c.d+k]
				} else {
					row[k] = 0.3*xs[(i+8)*c.d+k] + 0.7*xs[(i+19)*c.d+k]
				}
			}
		}
		ys := make([]float64, c.n*m)
		for j := range m {
			gain := math.Pow(10, float64(j)/2-1) // signal to noise 0.1 .. 30
			w := make([]float64, c.d)
			for k := range w {
				w[k] = rng.NormFloat64()
			}
			for i := range c.n {
				var s float64
				for k := range c.d {
					s += xs[i*c.d+k] * w[k]
				}
				ys[i*m+j] = gain*s/math.Sqrt(float64(c.d)) + rng.NormFloat64() + 3
			}
		}
		x, y := engine.NewMatrix64(c.n, c.d, xs), engine.NewMatrix64(c.n, m, ys)
		for _, inner := range []engine.Inner{{Mode: engine.LOO}, {Mode: engine.GCV}, {Mode: engine.KFoldInner, K: 4, Score: engine.R2}} {
			opts, err := engine.Defaults(c.n)
			if err != nil {
				t.Fatal(err)
			}
			opts.Inner = inner
			train := opts.Folds[0].Train
			crit := fold0Criteria[float64](t, opts, x, y)
			for a, alpha := range opts.Alphas {
				for j := range m {
					var want float64
					switch inner.Mode {
					case engine.LOO:
						want = looByRefits(xs, ys, c.d, m, j, train, alpha)
					case engine.GCV:
						want = gcvByFit(xs, ys, c.d, m, j, train, alpha)
					default:
						want = kfoldR2ByFits(t, xs, ys, c.d, m, j, train, inner.K, alpha)
					}
					if got := crit[a*m+j]; math.Abs(got-want) > 1e-8*math.Abs(want) {
						t.Errorf("%s, %s, penalty %g, target %d: criterion %.12g, by definition %.12g", c.name, opts.Inner, alpha, j, got, want)
					}
				}
			}
		}
	}
}

// ridgeFit fits ridge with an unpenalised intercept on the given rows (target j) and returns
// the predictions at the rows of at: means of the rows, then the dual solution
// w = Xc^T (Xc Xc^T + a I)^-1 yc.
func ridgeFit(xs, ys []float64, d, m, j int, rows, at []int, alpha float64) []float64 {
	k := len(rows)
	xm, ym := make([]float64, d), 0.0
	for _, i := range rows {
		for f := range d {
			xm[f] += xs[i*d+f] / float64(k)
		}
		ym += ys[i*m+j] / float64(k)
	}
	xc := mat.NewDense(k, d, nil)
	yc := mat.NewVecDense(k, nil)
	for r, i := range rows {
		for f := range d {
			xc.Set(r, f, xs[i*d+f]-xm[f])
		}
		yc.SetVec(r, ys[i*m+j]-ym)
	}
	var gram mat.Dense
	gram.Mul(xc, xc.T())
	for r := range k {
		gram.Set(r, r, gram.At(r, r)+alpha)
	}
	var c mat.VecDense
	if err := c.SolveVec(&gram, yc); err != nil {
		panic(err)
	}
	var w mat.VecDense
	w.MulVec(xc.T(), &c)
	out := make([]float64, len(at))
	for r, i := range at {
		out[r] = ym
		for f := range d {
			out[r] += (xs[i*d+f] - xm[f]) * w.AtVec(f)
		}
	}
	return out
}

// looByRefits is the mean over the training rows of the squared error of each row's prediction
// by ridge fitted to the others.
func looByRefits(xs, ys []float64, d, m, j int, train []int, alpha float64) float64 {
	var sum float64
	for r, i := range train {
		others := slices.Delete(slices.Clone(train), r, r+1)
		e := ys[i*m+j] - ridgeFit(xs, ys, d, m, j, others, []int{i}, alpha)[0]
		sum += e * e
	}
	return sum / float64(len(train))
}

// gcvByFit is the mean squared residual of ridge fitted to the training rows over
// (1 - tr(H)/n)², H the fit's hat matrix with the intercept's 1/n per row: tr(H) is the sum of
// the predictions' changes when each row's target is changed by one.
func gcvByFit(xs, ys []float64, d, m, j int, train []int, alpha float64) float64 {
	n := len(train)
	fit := ridgeFit(xs, ys, d, m, j, train, train, alpha)
	var rss float64
	for r, i := range train {
		e := ys[i*m+j] - fit[r]
		rss += e * e
	}
	var tr float64
	for r, i := range train {
		old := ys[i*m+j]
		ys[i*m+j] = old + 1
		tr += ridgeFit(xs, ys, d, m, j, train, []int{i}, alpha)[0] - fit[r]
		ys[i*m+j] = old
	}
	q := 1 - tr/float64(n)
	return rss / float64(n) / (q * q)
}

// kfoldR2ByFits is minus the mean over K consecutive parts of the training rows (KFold without
// shuffling: the first parts one row larger) of the R² of ridge fitted to the other parts.
func kfoldR2ByFits(t *testing.T, xs, ys []float64, d, m, j int, train []int, K int, alpha float64) float64 {
	t.Helper()
	n := len(train)
	var sum float64
	start := 0
	for k := range K {
		size := n / K
		if k < n%K {
			size++
		}
		val := train[start : start+size]
		fit := slices.Concat(train[:start], train[start+size:])
		start += size
		pred := ridgeFit(xs, ys, d, m, j, fit, val, alpha)
		var mean float64
		for _, i := range val {
			mean += ys[i*m+j] / float64(len(val))
		}
		var res, tot float64
		for r, i := range val {
			res += (ys[i*m+j] - pred[r]) * (ys[i*m+j] - pred[r])
			tot += (ys[i*m+j] - mean) * (ys[i*m+j] - mean)
		}
		sum += 1 - res/tot
	}
	return -sum / float64(K)
}

// TestHotRowsManyTargets: with one training row more than features of large scale, small
// penalties leave rows of leverage near 1, whose leave-one-out residuals float32 products lose;
// they are recomputed in float64 (exactRows), 128 targets at a time. Over 300 targets, the
// float32 engine's criteria are those of the float64 engine (checked by definition above) to
// float32's accuracy, on the targets of every slab.
func TestHotRowsManyTargets(t *testing.T) {
	const n, d, m = 40, 31, 300
	rng := rand.New(rand.NewPCG(40, 31))
	xs := make([]float64, n*d)
	for f := range d {
		scale, offset := 100+900*rng.Float64(), rng.NormFloat64()
		for i := range n {
			xs[i*d+f] = rng.NormFloat64()*scale + offset
		}
	}
	ys := make([]float64, n*m)
	for j := range m {
		gain := 0.01 + rng.Float64()
		w := make([]float64, d)
		for f := range w {
			w[f] = rng.NormFloat64()
		}
		for i := range n {
			var s float64
			for f := range d {
				s += xs[i*d+f] * w[f]
			}
			ys[i*m+j] = gain*s + 3*rng.NormFloat64() + 5
		}
	}
	opts, err := engine.Defaults(n)
	if err != nil {
		t.Fatal(err)
	}
	opts.Inner = engine.Inner{Mode: engine.LOO}
	xs32, ys32 := make([]float32, len(xs)), make([]float32, len(ys))
	for i, v := range xs {
		xs32[i] = float32(v)
	}
	for i, v := range ys {
		ys32[i] = float32(v)
	}
	// the same float32 values in both engines
	x64, y64 := make([]float64, len(xs)), make([]float64, len(ys))
	for i, v := range xs32 {
		x64[i] = float64(v)
	}
	for i, v := range ys32 {
		y64[i] = float64(v)
	}
	want := fold0Criteria[float64](t, opts, engine.NewMatrix64(n, d, x64), engine.NewMatrix64(n, m, y64))
	got := fold0Criteria[float32](t, opts, engine.NewMatrix32(n, d, xs32), engine.NewMatrix32(n, m, ys32))
	worst := 0.0
	for k := range want {
		worst = max(worst, math.Abs(got[k]-want[k])/want[k])
	}
	t.Logf("largest relative difference from float64: %.2g", worst)
	// Rows of weight just below engine.LOOHotWeight keep float32's rounding times their weight
	// (0.35% at penalties 100 and 1000 here); a hot row's residual from another target, or none,
	// is off by far more.
	if worst > 1e-2 {
		for k := range want {
			if math.Abs(got[k]-want[k]) > 1e-2*want[k] {
				t.Errorf("penalty %g, target %d: float32 criterion %.6g, float64 %.6g", opts.Alphas[k/m], k%m, got[k], want[k])
			}
		}
	}
}

// fold0Criteria returns the selection criteria of outer fold 0 (penalty-major: a*m + target),
// computed in precision T.
func fold0Criteria[T float](t *testing.T, opts engine.Options, x, y engine.Matrix) []float64 {
	t.Helper()
	r := &runner[T]{ctx: context.Background(), s: &session{opts: opts, y: y}, x: x,
		res: engine.NewResult(y.Cols, len(opts.Folds)), tm: new(engine.Timings),
		bufT: map[string][]T{}, buf64: map[string][]float64{}}
	outer, inners, err := r.decomposeFold(0)
	if err != nil {
		t.Fatal(err)
	}
	train := opts.Folds[0].Train
	return slices.Clone(r.criteria(outer, inners, r.stage(train, outer, 0, y.Cols), train))
}
