//go:build cuda

package cuda

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/brainalign/brainalign/engine"
	"github.com/brainalign/brainalign/fallback"
)

// TF32 without an intercept: the held-out predictions are offset + signal (ReLU activations of
// positive mean, a bias feature, brain data with a raw baseline), and the refit product, in TF32,
// rounded the offset over the signal. It runs in float32 then: |r| within 0.005 of float64.
func TestTF32NoIntercept(t *testing.T) {
	e := newTestEngine(t)
	n, d, m := 600, 50, 64
	rng := rand.New(rand.NewPCG(1, 2))
	xs := make([]float64, n*d)
	for i := range xs {
		xs[i] = math.Max(0, rng.NormFloat64())
	}
	for i := range n {
		xs[i*d] = 1
	}
	ys := make([]float64, n*m)
	for i := range n {
		for j := range m {
			s := 2e5 // a raw baseline
			for k := range 5 {
				s += xs[i*d+(j+k)%d]
			}
			ys[i*m+j] = s + rng.NormFloat64()
		}
	}
	x, y := engine.NewMatrix64(n, d, xs), engine.NewMatrix64(n, m, ys)
	opts := options(t, n, func(o *engine.Options) { o.NoIntercept = true; o.Precision = engine.Float64 })
	want := score(t, fallback.New(), x, y, opts)
	opts.Precision = engine.TF32
	got := score(t, e, x, y, opts)
	worst := 0.0
	for k := range want.FoldScores {
		worst = math.Max(worst, math.Abs(got.FoldScores[k]-want.FoldScores[k]))
	}
	t.Logf("tf32 without an intercept: max |r diff| %.3g against float64", worst)
	if worst > 5e-3 {
		t.Errorf("tf32 without an intercept: max |r diff| %.3g against float64 (tolerance 0.005)", worst)
	}
}

// TF32 without an intercept on awkward data (a constant feature, features offset by about 2, a
// target offset by 1e5; unequal shuffled folds): TF32's refit once gave r = -0.77 where float32
// and float64 give 0.86.
func TestTF32NoInterceptOffsets(t *testing.T) {
	e := newTestEngine(t)
	x, y, folds := awkward(80, 10, 40, 800)
	opts := engine.Options{Folds: folds, Alphas: []float64{100, 1, 1e4, 1, 0.01, 1e6}, NoIntercept: true, Precision: engine.Float64}
	want := score(t, fallback.New(), x, y, opts)
	opts.Precision = engine.TF32
	got := score(t, e, x, y, opts)
	for k := range want.FoldScores {
		if d := math.Abs(got.FoldScores[k] - want.FoldScores[k]); d > 5e-3 {
			t.Errorf("fold %d target %d: tf32 r %.4f, float64 %.4f (penalty %g, %g)", k/40, k%40, got.FoldScores[k], want.FoldScores[k], got.Alphas[k], want.Alphas[k])
		}
	}
}

// awkward is a problem of shuffled, unequal folds not covering every row; y with columns constant on some
// rows only, an all-zero column, a huge-offset column; x with a constant and a duplicated column.
func awkward(n, d, m int, seed uint64) (x, y engine.Matrix, folds []engine.Fold) {
	rng := rand.New(rand.NewPCG(seed, 99))
	xs := make([]float64, n*d)
	for i := range xs {
		xs[i] = rng.NormFloat64()*float64(1+i%3) + 2
	}
	for i := 0; i < n; i++ {
		xs[i*d+0] = 5 // constant feature
		if d > 2 {
			xs[i*d+2] = xs[i*d+1] // duplicate
		}
	}
	ys := make([]float64, n*m)
	for i := 0; i < n; i++ {
		for t := 0; t < m; t++ {
			s := 0.0
			for k := 1; k < min(d, 6); k++ {
				s += xs[i*d+k] * float64((t+k)%5-2)
			}
			ys[i*m+t] = s + rng.NormFloat64()*(1+float64(t%3))
		}
	}
	perm := rng.Perm(n)
	for i := 0; i < n; i++ {
		r := perm[i]
		if m > 1 {
			ys[r*m+1] = 0 // all zero
		}
		if m > 2 && i < n/2 {
			ys[r*m+2] = 7 // constant on half the rows
		}
		if m > 3 {
			ys[r*m+3] += 1e5
		}
	}
	// 3 folds of unequal size, rows perm[n-5:] unused
	use := perm[:n-5]
	cuts := []int{0, len(use) / 6, len(use) / 2, len(use)}
	for f := 0; f < 3; f++ {
		test := append([]int(nil), use[cuts[f]:cuts[f+1]]...)
		var train []int
		for _, r := range use {
			in := false
			for _, q := range test {
				in = in || q == r
			}
			if !in {
				train = append(train, r)
			}
		}
		folds = append(folds, engine.Fold{Train: train, Test: test})
	}
	return engine.NewMatrix64(n, d, xs), engine.NewMatrix64(n, m, ys), folds
}
