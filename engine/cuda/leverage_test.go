//go:build cuda

package cuda

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/brainalign/brainalign/engine"
	"github.com/brainalign/brainalign/fallback"
)

// Training rows of leverage near 1 (a large feature on two of 60 images): their leave-one-out
// errors come from loo_hot in float64, as the CPU engine's (fallback's exactRows); float32 and
// TF32 once picked other penalties there (|r| off by 0.039).
func TestHighLeverageRows(t *testing.T) {
	e := newTestEngine(t)
	for _, c := range []struct {
		n, d, m int
		seed    uint64
	}{{60, 6, 6, 3}, {90, 8, 70, 4}} {
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
		x[0*c.d+c.d-1], x[20*c.d+c.d-1] = 1e4, 1e4
		X, Y := engine.NewMatrix64(c.n, c.d, x), engine.NewMatrix64(c.n, c.m, y)
		opts := options(t, c.n, func(o *engine.Options) { o.Precision = engine.Float64 })
		want := score(t, fallback.New(), X, Y, opts)
		for _, p := range []engine.Precision{engine.Float32, engine.TF32} {
			for _, mb := range []int{0, 16} {
				o := opts
				o.Precision, o.MaxBatch = p, mb
				got := score(t, e, X, Y, o)
				worst := 0.0
				for k := range want.FoldScores {
					worst = math.Max(worst, math.Abs(got.FoldScores[k]-want.FoldScores[k]))
				}
				t.Logf("n %d %s batch %d: max |r diff| %.3g against float64", c.n, p, mb, worst)
				if worst > 2e-3 {
					t.Errorf("n %d %s batch %d: |r| off float64 by %.3g (tolerance 2e-3)", c.n, p, mb, worst)
				}
			}
		}
	}
}
