package bench

import (
	"context"
	"testing"

	"github.com/brainalign/brainalign/engine"
	"github.com/brainalign/brainalign/fallback"
)

// BenchmarkCPU scores the small and medium workloads on the CPU engine, exact LOO and GCV, in
// float32 and float64, reporting GFLOP/s of the large products. The medium size takes about a
// minute per run and is skipped under -short (CI runs every benchmark once with -short).
func BenchmarkCPU(b *testing.B) {
	for _, w := range []Workload{Small(), Medium()} {
		if testing.Short() && w.Name != "small" {
			continue
		}
		x, y := w.Generate()
		for _, inner := range []string{"loo", "gcv"} {
			for _, prec := range []engine.Precision{engine.Float32, engine.Float64} {
				w := w
				w.Inner, _ = engine.ParseInner(inner)
				w.Precision = prec
				b.Run(w.Name+"/"+inner+"/"+prec.String(), func(b *testing.B) {
					opts, err := w.Options()
					if err != nil {
						b.Fatal(err)
					}
					var res *engine.Result
					for i := 0; i < b.N; i++ {
						res, err = engine.Score(context.Background(), fallback.New(), x, y, opts)
						if err != nil {
							b.Fatal(err)
						}
					}
					b.ReportMetric(res.Flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
					b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/op")
				})
			}
		}
	}
}

// TestWorkloadFlops checks the predicted operation count against what the engine counts.
func TestWorkloadFlops(t *testing.T) {
	w := Small()
	w.N, w.M = 200, 300
	x, y := w.Generate()
	for _, inner := range []string{"loo", "gcv"} {
		w.Inner, _ = engine.ParseInner(inner)
		opts, _ := w.Options()
		res, err := engine.Score(context.Background(), fallback.New(), x, y, opts)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := res.Flops, w.Flops(); got != want {
			t.Errorf("%s: engine counted %.4g flops, workload predicts %.4g", inner, got, want)
		}
	}
}

// TestGenerateDeterministic: the same seed gives the same data, whatever the scheduling.
func TestGenerateDeterministic(t *testing.T) {
	w := Small()
	w.N, w.M = 300, 50
	_, y1 := w.Generate()
	_, y2 := w.Generate()
	for k := range y1.F32 {
		if y1.F32[k] != y2.F32[k] {
			t.Fatalf("element %d differs between two generations", k)
		}
	}
}
