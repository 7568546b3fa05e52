package fallback

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/brainalign/brainalign/engine"
)

// TestFloat32AcrossShapes: float32 against float64 over random shapes on both sides of n = d,
// strong signals (gains 0.01 to 1 per unit weight, noise 0.3 to 100), feature scales 0.1 to 10
// with offsets, with and without an intercept: the fold scores within 2e-3, and the chosen penalties mostly the same
// (near-ties may go either way). The float32 path's leave-one-out residual switches between
// Yc - U diag(f) Z and the direct form per penalty (engine.ResidualDirect), and GCV takes the
// residual outside U from the complement of a complete decomposition; all must hold up.
func TestFloat32AcrossShapes(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 2026))
	cases := 24
	if testing.Short() {
		cases = 8
	}
	for c := 0; c < cases; c++ {
		n := 30 + rng.IntN(120)
		d := 2 + rng.IntN(400)
		m := 5 + rng.IntN(40)
		noise := []float64{0.3, 3, 3, 100}[rng.IntN(4)]
		noint := rng.IntN(5) == 0
		inner := []engine.Inner{{Mode: engine.LOO}, {Mode: engine.LOO}, {Mode: engine.GCV}, {Mode: engine.KFoldInner, K: 3, Score: engine.R2}, {Mode: engine.KFoldInner, K: 4, Score: engine.Pearson}}[rng.IntN(5)]
		name := fmt.Sprintf("%d_n%d_d%d_m%d_noise%g_noint%v_%s", c, n, d, m, noise, noint, inner)
		t.Run(name, func(t *testing.T) {
			// features of scales 0.1 to 10 with offsets; targets a strong linear signal (gain 0.01
			// to 1 per target, unit weights) plus noise and an offset
			xs := make([]float64, n*d)
			scale, offset := make([]float64, d), make([]float64, d)
			for j := range scale {
				scale[j], offset[j] = 0.1+9.9*rng.Float64(), rng.NormFloat64()
			}
			for i := range xs {
				xs[i] = rng.NormFloat64()*scale[i%d] + offset[i%d]
			}
			ys := make([]float64, n*m)
			for t := 0; t < m; t++ {
				gain := 0.01 + 0.99*rng.Float64()
				w := make([]float64, d)
				for k := range w {
					w[k] = rng.NormFloat64() * gain
				}
				for i := 0; i < n; i++ {
					s := 5.0
					for k := 0; k < d; k++ {
						s += xs[i*d+k] * w[k]
					}
					ys[i*m+t] = s + noise*rng.NormFloat64()
				}
			}
			x, y := engine.NewMatrix64(n, d, xs), engine.NewMatrix64(n, m, ys)
			opts, err := engine.Defaults(n)
			if err != nil {
				t.Fatal(err)
			}
			opts.NoIntercept, opts.Inner = noint, inner
			run := func(p engine.Precision) *engine.Result {
				o := opts
				o.Precision = p
				res, err := engine.Score(context.Background(), New(), x, y, o)
				if err != nil {
					t.Fatal(err)
				}
				return res
			}
			r64, r32 := run(engine.Float64), run(engine.Float32)
			maxd, same := 0.0, 0
			for k := range r64.FoldScores {
				maxd = math.Max(maxd, math.Abs(r32.FoldScores[k]-r64.FoldScores[k]))
				if r32.Alphas[k] == r64.Alphas[k] {
					same++
				}
			}
			frac := float64(same) / float64(len(r64.Alphas))
			t.Logf("max |r diff| %.2g, penalties agree %.3f", maxd, frac)
			if maxd > 2e-3 || frac < 0.9 {
				t.Errorf("float32 against float64: max |r diff| %.3g (want <= 2e-3), penalties agree %.3f (want >= 0.9)", maxd, frac)
			}
		})
	}
}
