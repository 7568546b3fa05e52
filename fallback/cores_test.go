package fallback

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"

	"github.com/brainalign/brainalign/engine"
)

// TestScoresIndependentOfCores: the CPU engine gives the same bits on 1, 2, 3, 7 and 128 cores
// (and so on a laptop as on a 128-core node running the same binary), in both precisions and
// every inner mode, with more rows than features and fewer, in one batch of targets or several
// (7 and 128 cores in one). Orders
// from 256 up take the parallel paths: divide and conquer, symvUpper's parts, every product.
// Before the leave-one-out sums and symvUpper's parts were fixed, nearly every float64 score
// differed in its last bits between core counts.
func TestScoresIndependentOfCores(t *testing.T) {
	if !sameBitsAnyCores {
		t.Skipf("%s: results may differ in their last bits with the cores and the target batches", blasName)
	}
	rng := rand.New(rand.NewPCG(3, 7))
	for _, shape := range []struct{ n, d int }{{400, 300}, {300, 360}} {
		const m = 300
		// Features with a planted signal in every target (strengths spread so that the chosen
		// penalties vary across targets).
		xs := make([]float64, shape.n*shape.d)
		for i := range xs {
			xs[i] = rng.NormFloat64()
		}
		ys := make([]float64, shape.n*m)
		for j := 0; j < m; j++ {
			gain := 0.02 * float64(j%30)
			for i := 0; i < shape.n; i++ {
				s := 0.0
				for k := 0; k < 5; k++ {
					s += xs[i*shape.d+(j+k)%shape.d]
				}
				ys[i*m+j] = gain*s + rng.NormFloat64()
			}
		}
		x, y := engine.NewMatrix64(shape.n, shape.d, xs), engine.NewMatrix64(shape.n, m, ys)
		for _, prec := range []engine.Precision{engine.Float32, engine.Float64} {
			for _, inner := range []engine.Inner{{Mode: engine.LOO}, {Mode: engine.GCV}, {Mode: engine.KFoldInner, K: 3, Score: engine.R2}} {
				name := fmt.Sprintf("n%d_d%d_%s_%s", shape.n, shape.d, prec, inner)
				t.Run(name, func(t *testing.T) {
					// -short (every CI run) keeps GCV's and the inner K-fold's loops in float64,
					// where the last bits differed most; under the race detector (40 s more),
					// leave-one-out's alone
					if testing.Short() && inner.Mode != engine.LOO && (prec != engine.Float64 || raceEnabled) {
						t.Skip("short: float64 only for gcv and the inner k-fold, and not under -race")
					}
					var first *engine.Result
					for _, batch := range []int{0, 70} {
						cores := []int{1, 2, 3}
						if batch == 0 {
							// 7 and 128: the grids of internal/gemm, chunks of a few
							// targets or rows per core
							cores = append(cores, 7, 128)
						}
						for _, cores := range cores {
							res := scoreOnCores(t, cores, x, y, func(o *engine.Options) {
								o.Precision, o.Inner, o.MaxBatch = prec, inner, batch
							})
							if first == nil {
								first = res
								continue
							}
							if !slices.Equal(res.FoldScores, first.FoldScores) || !slices.Equal(res.Alphas, first.Alphas) {
								t.Errorf("%d cores, %d target batches: scores or penalties differ from 1 core's in one batch", cores, res.Batches)
							}
						}
					}
				})
			}
		}
	}
}

// scoreOnCores scores x against y with GOMAXPROCS set to cores.
func scoreOnCores(t *testing.T, cores int, x, y engine.Matrix, set func(*engine.Options)) *engine.Result {
	t.Helper()
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(cores))
	opts, err := engine.Defaults(x.Rows)
	if err != nil {
		t.Fatal(err)
	}
	set(&opts)
	res, err := engine.Score(context.Background(), New(), x, y, opts)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestCriteriaIndependentOfCores: the selection criteria themselves (not only the penalties
// they pick) have the same bits on 1, 2 and 3 cores, so a near-tie goes the same way on every
// machine. The leave-one-out sums over rows once took one partial sum per core.
func TestCriteriaIndependentOfCores(t *testing.T) {
	const n, d, m = 200, 40, 150
	rng := rand.New(rand.NewPCG(5, 5))
	xs, ys := make([]float32, n*d), make([]float32, n*m)
	for i := range xs {
		xs[i] = float32(rng.NormFloat64())
	}
	for i := range ys {
		ys[i] = float32(rng.NormFloat64())
	}
	x, y := engine.NewMatrix32(n, d, xs), engine.NewMatrix32(n, m, ys)
	for _, inner := range []engine.Inner{{Mode: engine.LOO}, {Mode: engine.GCV}, {Mode: engine.KFoldInner, K: 3, Score: engine.R2}} {
		var first []float64
		for _, cores := range []int{1, 2, 3} {
			crit := criteriaOnCores(t, cores, x, y, inner)
			if first != nil && !slices.Equal(crit, first) {
				t.Errorf("%s: %d cores give other criteria than 1", inner, cores)
			}
			first = crit
		}
	}
}

// criteriaOnCores returns the selection criteria of outer fold 0 with GOMAXPROCS set to cores.
func criteriaOnCores(t *testing.T, cores int, x, y engine.Matrix, inner engine.Inner) []float64 {
	t.Helper()
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(cores))
	opts, err := engine.Defaults(x.Rows)
	if err != nil {
		t.Fatal(err)
	}
	opts.Inner = inner
	return fold0Criteria[float32](t, opts, x, y)
}
