package fallback

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/brainalign/brainalign/engine"
)

// Training rows of leverage near 1 (a large feature on two images only, more rows than
// features): float32's rounding of their residual, divided by 1-h ~ 1e-8, once passed for their
// leave-one-out error and moved the penalty choice (|r| off by 0.035 to 0.07 from float64, itself
// scikit-learn's to 1e-10). Their residuals are now float64's: float32 scores as float64 does.
func TestFloat32HighLeverageRows(t *testing.T) {
	for _, c := range []struct {
		n, d, m int
		spike   float64
		seed    uint64
	}{
		{60, 6, 6, 1e4, 3},
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
		{ // leave-one-out (the default): GCV uses the mean leverage, k-fold held-out rows
			opts, err := engine.Defaults(c.n)
			if err != nil {
				t.Fatal(err)
			}
			opts.Precision = engine.Float64
			r64, err := engine.Score(context.Background(), New(), X, Y, opts)
			if err != nil {
				t.Fatal(err)
			}
			opts.Precision = engine.Float32
			r32, err := engine.Score(context.Background(), New(), X, Y, opts)
			if err != nil {
				t.Fatal(err)
			}
			worst, differ := 0.0, 0
			for k := range r64.FoldScores {
				worst = math.Max(worst, math.Abs(r64.FoldScores[k]-r32.FoldScores[k]))
				if r64.Alphas[k] != r32.Alphas[k] {
					differ++
				}
			}
			t.Logf("n %d d %d spike %g: max |r32 - r64| %.3g, %d of %d penalties differ", c.n, c.d, c.spike, worst, differ, len(r64.Alphas))
			if worst > 2e-3 {
				t.Errorf("n %d d %d spike %g: float32 off float64 by %.3g (tolerance 2e-3)", c.n, c.d, c.spike, worst)
			}
		}
	}
}
