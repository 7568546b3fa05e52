package fallback

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"

	"github.com/brainalign/brainalign/engine"
	"github.com/brainalign/brainalign/internal/gemm"
)

// TestMemoryPlanCountsPacking: on 128 cores the products' packing buffers, per goroutine, are
// counted in the target batches' memory plan (with the decompositions started ahead beside
// them), and neither the buffers held at once nor any one product's take more than counted:
// before, none of them was, and a run of 4,000 images x 1,024 features x 6,000 targets at
// GOMAXPROCS=128 held 0.8 GB of them beyond the plan. Both precisions, leave-one-out and the
// inner K-fold, with more rows than features and fewer, decompositions ahead or one at a time.
func TestMemoryPlanCountsPacking(t *testing.T) {
	if _, ours := level3.(gemm.Implementation); !ours || !gemm.Available() {
		t.Skipf("%s: no packing buffers of internal/gemm's", blasName)
	}
	if testing.Short() && raceEnabled {
		t.Skip("short, under -race: 128 goroutines a product")
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(128))
	rng := rand.New(rand.NewPCG(8, 1))
	for _, shape := range []struct{ n, d, m int }{{600, 300, 3000}, {200, 700, 2000}} {
		xs, ys := make([]float32, shape.n*shape.d), make([]float32, shape.n*shape.m)
		for i := range xs {
			xs[i] = float32(rng.NormFloat64())
		}
		for i := range ys {
			ys[i] = float32(rng.NormFloat64())
		}
		x, y := engine.NewMatrix32(shape.n, shape.d, xs), engine.NewMatrix32(shape.n, shape.m, ys)
		for _, prec := range []engine.Precision{engine.Float32, engine.Float64} {
			for _, inner := range []engine.Inner{{Mode: engine.LOO}, {Mode: engine.KFoldInner, K: 3, Score: engine.R2}} {
				for _, limit := range []int64{0, 64 << 20} { // decompositions ahead (the default), or not
					t.Run(fmt.Sprintf("n%d_d%d_%s_%s_limit%d", shape.n, shape.d, prec, inner, limit), func(t *testing.T) {
						if testing.Short() && inner.Mode != engine.LOO {
							t.Skip("short: leave-one-out only")
						}
						opts, err := engine.Defaults(shape.n)
						if err != nil {
							t.Fatal(err)
						}
						opts.Precision, opts.Inner, opts.MemoryLimit = prec, inner, limit
						counted := int64(0)
						onBatchPlan = func(p int64) { counted = max(counted, p) }
						var mu sync.Mutex
						largest, shape := int64(0), ""
						onProduct = func(m, n, k int, double bool) {
							g, each := gemm.Packing(m, n, k, double, false, false)
							mu.Lock()
							defer mu.Unlock()
							if int64(g)*each > largest {
								largest, shape = int64(g)*each, fmt.Sprintf("%d x %d x %d (%d goroutines)", m, n, k, g)
							}
						}
						defer func() { onBatchPlan, onProduct = nil, nil }()
						runtime.GC() // twice: sync.Pool keeps buffers of earlier products over one
						runtime.GC()
						gemm.ResetPackPeak()
						if _, err := engine.Score(context.Background(), New(), x, y, opts); err != nil {
							t.Fatal(err)
						}
						held, _ := gemm.PackPeak()
						t.Logf("packing: held at once %.1f MiB on 2 cores, the largest product's %.1f MiB, counted %.1f MiB", float64(held)/(1<<20), float64(largest)/(1<<20), float64(counted)/(1<<20))
						// On 2 cores a product's goroutines seldom all hold their buffers at
						// once, as on 128: its own count (each product's, by internal/gemm)
						// is the bound that node reaches.
						if held > counted || largest > counted {
							t.Errorf("the products' packing buffers held %d bytes at once, and the product %s takes %d; the memory plan counted %d", held, shape, largest, counted)
						}
					})
				}
			}
		}
	}
}
