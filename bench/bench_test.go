package bench

import (
	"context"
	"errors"
	"testing"

	"github.com/brainalign/brainalign/engine"
	"github.com/brainalign/brainalign/fallback"
)

// The CPU engine registers itself; engines_cuda_test.go adds the CUDA engine under the cuda tag.
var _ = fallback.New

// BenchmarkEngines scores the small and medium workloads on every engine of the build (cpu;
// cuda too with -tags cuda, on a machine with a GPU), exact LOO and GCV, in float32 and float64
// (and tf32 where the engine has it), reporting GFLOP/s of the large products. The medium size
// takes about a minute per run on 2 CPU cores and is skipped under -short (CI runs every
// benchmark once with -short).
func BenchmarkEngines(b *testing.B) {
	for _, kind := range engine.Kinds() {
		for _, w := range []Workload{Small(), Medium()} {
			if testing.Short() && w.Name != "small" {
				continue
			}
			x, y := w.Generate()
			for _, inner := range []string{"loo", "gcv"} {
				for _, prec := range []engine.Precision{engine.Float32, engine.Float64, engine.TF32} {
					w := w
					w.Inner, _ = engine.ParseInner(inner)
					w.Precision = prec
					b.Run(kind+"/"+w.Name+"/"+inner+"/"+prec.String(), func(b *testing.B) {
						benchEngine(b, kind, w, x, y)
					})
				}
			}
		}
	}
}

func benchEngine(b *testing.B, kind string, w Workload, x, y engine.Matrix) {
	opts, err := w.Options()
	if err != nil {
		b.Fatal(err)
	}
	e, err := engine.New(kind)
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	sess, err := e.Open(y, opts)
	if errors.Is(err, engine.ErrUnsupported) {
		b.Skipf("%s: %v", kind, err)
	}
	if err != nil {
		b.Fatal(err)
	}
	defer sess.Close()
	// The session is opened outside the timed loop: brain data are prepared once per sweep.
	b.ResetTimer()
	var res *engine.Result
	for i := 0; i < b.N; i++ {
		if res, err = sess.Score(context.Background(), x); err != nil {
			b.Fatal(err)
		}
	}
	rate := res.Flops * float64(b.N) / b.Elapsed().Seconds()
	b.ReportMetric(rate/1e9, "GFLOP/s")
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/op")
	if d, ok := e.(engine.Describer); ok {
		if peak := d.Device().PeakFLOPS[w.Precision]; peak > 0 {
			b.ReportMetric(100*rate/peak, "%peak")
		}
	}
}

// BenchmarkPredict fits a workload on its first 80% of rows and predicts the other 20% (brainalign
// predict: one decomposition of every fitted row, the penalty per target by exact LOO) on every
// engine that can predict. The medium size is skipped under -short.
func BenchmarkPredict(b *testing.B) {
	for _, kind := range engine.Kinds() {
		for _, w := range []Workload{Small(), Medium()} {
			if testing.Short() && w.Name != "small" {
				continue
			}
			x, y := w.Generate()
			fit := w.N * 4 / 5
			for _, prec := range []engine.Precision{engine.Float32, engine.Float64} {
				b.Run(kind+"/"+w.Name+"/"+prec.String(), func(b *testing.B) {
					e, err := engine.New(kind)
					if err != nil {
						b.Fatal(err)
					}
					defer e.Close()
					pr, ok := e.(engine.Predictor)
					if !ok {
						b.Skipf("the %s engine does not predict", kind)
					}
					opts := engine.Options{Alphas: engine.DefaultAlphas(), Precision: prec}
					xFit := engine.NewMatrix32(fit, w.D, x.F32[:fit*w.D])
					yFit := engine.NewMatrix32(fit, w.M, y.F32[:fit*w.M])
					xNew := engine.NewMatrix32(w.N-fit, w.D, x.F32[fit*w.D:])
					var p *engine.Prediction
					for i := 0; i < b.N; i++ {
						if p, err = pr.Predict(context.Background(), xFit, yFit, xNew, opts); err != nil {
							b.Fatal(err)
						}
					}
					b.ReportMetric(p.Flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
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
	for _, inner := range []string{"loo", "gcv", "kfold:4"} {
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
