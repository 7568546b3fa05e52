//go:build cuda

package cuda

import (
	"context"
	"errors"
	"math"
	"testing"

	"github.com/brainalign/brainalign/engine"
	"github.com/brainalign/brainalign/fallback"
)

// TestPredictMatchesCPU: the CUDA engine's predictions equal the CPU engine's (scikit-learn's,
// by the conformance suite), with the brain data resident and streamed from the host in batches,
// in float64, float32 and TF32 (its products rounded: within 1% of each target's sd).
func TestPredictMatchesCPU(t *testing.T) {
	e := newTestEngine(t)
	const n, nNew, d, m = 200, 30, 16, 3000
	xAll, yAll := problem(n+nNew, d, m, 5)
	x := engine.NewMatrix64(n, d, xAll.F64[:n*d])
	xNew := engine.NewMatrix64(nNew, d, xAll.F64[n*d:])
	y := engine.NewMatrix64(n, m, yAll.F64[:n*m])
	sd := make([]float64, m)
	for j := range sd {
		var s, ss float64
		for i := 0; i < n; i++ {
			s += y.F64[i*m+j]
		}
		for i := 0; i < n; i++ {
			dv := y.F64[i*m+j] - s/n
			ss += dv * dv
		}
		sd[j] = math.Sqrt(ss / n)
	}
	for _, tc := range []struct {
		name     string
		p        engine.Precision
		streamed bool
		tol      float64
		agree    float64
	}{
		{"float64", engine.Float64, false, 1e-9, 1},
		{"float64/streamed", engine.Float64, true, 1e-9, 1},
		{"float32", engine.Float32, false, 2e-3, 0.99},
		{"float32/streamed", engine.Float32, true, 2e-3, 0.99},
		{"tf32", engine.TF32, false, 1e-2, 0.95},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := engine.Options{Alphas: engine.DefaultAlphas(), Precision: tc.p}
			ref := opts
			if tc.p == engine.TF32 {
				ref.Precision = engine.Float64
			}
			want, err := fallback.New().Predict(context.Background(), x, y, xNew, ref)
			if err != nil {
				t.Fatal(err)
			}
			if tc.streamed {
				es := map[engine.Precision]int64{engine.Float64: 8, engine.Float32: 4}[tc.p]
				opts.MemoryLimit = int64(n*m) * es * 2 / 3 // Y is 1.5x the budget: streamed
			}
			got, err := e.Predict(context.Background(), x, y, xNew, opts)
			if err != nil {
				t.Fatal(err)
			}
			if tc.streamed && got.Batches < 2 {
				t.Errorf("streamed brain data in %d batch(es)", got.Batches)
			}
			if (got.Values.F64 != nil) != (tc.p == engine.Float64) || got.Rank != want.Rank {
				t.Errorf("values float64: %v for %v; rank %d, cpu %d", got.Values.F64 != nil, tc.p, got.Rank, want.Rank)
			}
			same, worst := 0, 0.0
			for j := 0; j < m; j++ {
				if got.Alphas[j] != want.Alphas[j] {
					continue
				}
				same++
				for i := 0; i < nNew; i++ {
					g, w := got.Values.At(i, j), want.Values.At(i, j)
					e := math.Abs(g-w) / max(sd[j], 1e-300) // a constant target: its value exactly
					if math.IsNaN(g) {
						e = math.Inf(1)
					}
					worst = max(worst, e)
				}
			}
			t.Logf("%s: %d of %d penalties equal the cpu's; worst prediction error %.3g of a target's sd", tc.name, same, m, worst)
			if worst > tc.tol || math.IsNaN(worst) {
				t.Errorf("predictions differ from the cpu engine's by %.3g of a target's sd (tolerance %g)", worst, tc.tol)
			}
			if float64(same) < tc.agree*m {
				t.Errorf("%d of %d penalties equal the cpu engine's, want >= %.0f%%", same, m, 100*tc.agree)
			}
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
// just large enough for it failed where a smaller one streamed it).
func TestPredictMemoryMonotone(t *testing.T) {
	e := newTestEngine(t)
	// Y 2 MB, the new stimuli's rows on the device about 3 MB
	const n, nNew, d, m = 100, 2500, 40, 2500
	xAll, yAll := problem(n+nNew, d, m, 13)
	x := engine.NewMatrix64(n, d, xAll.F64[:n*d])
	y := engine.NewMatrix64(n, m, yAll.F64[:n*m])
	xNew := engine.NewMatrix64(nNew, d, xAll.F64[n*d:])
	succeeded := int64(0)
	for limit := int64(2 << 20); limit <= 8<<20; limit += 256 << 10 {
		opts := engine.Options{Alphas: engine.DefaultAlphas(), Precision: engine.Float64, MemoryLimit: limit}
		_, err := e.Predict(context.Background(), x, y, xNew, opts)
		switch {
		case err == nil:
			if succeeded == 0 {
				succeeded = limit
			}
		case !errors.Is(err, engine.ErrOutOfMemory):
			t.Fatalf("%s: %v", engine.FormatBytes(limit), err)
		case succeeded > 0:
			t.Errorf("%s: %v, though %s sufficed", engine.FormatBytes(limit), err, engine.FormatBytes(succeeded))
		}
	}
	if succeeded == 0 {
		t.Errorf("no limit up to 8 MiB sufficed")
	}
	t.Logf("the first limit that sufficed: %s", engine.FormatBytes(succeeded))
}
