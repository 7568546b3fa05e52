package sweep_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/brainalign/brainalign/array"
	"github.com/brainalign/brainalign/engine"
	"github.com/brainalign/brainalign/fallback"
	"github.com/brainalign/brainalign/sweep"
)

// BenchmarkRestart times a rerun of a finished sweep (4 checkpoints x 10 layers, 100,000 targets,
// 5 folds: 350 MB of unit arrays), which finds every unit done and the tables current: the
// check that a Slurm requeue or a repeated job script pays before doing nothing.
func BenchmarkRestart(b *testing.B) {
	const n, d, C, L = 40, 4, 4, 10
	m := 100000
	if testing.Short() {
		m = 2000
	}
	dir := b.TempDir()
	rng := rand.New(rand.NewPCG(1, 2))
	for c := range C {
		cd := filepath.Join(dir, "model", fmt.Sprintf("ckpt-%d", c+1))
		if err := os.MkdirAll(cd, 0o755); err != nil {
			b.Fatal(err)
		}
		for l := range L {
			x := make([]float32, n*d)
			for i := range x {
				x[i] = float32(rng.NormFloat64())
			}
			if err := array.WriteNPY(filepath.Join(cd, fmt.Sprintf("layer-%d.npy", l)), []int{n, d}, x); err != nil {
				b.Fatal(err)
			}
		}
	}
	yd := make([]float64, n*m)
	for i := range yd {
		yd[i] = rng.NormFloat64()
	}
	y := engine.NewMatrix64(n, m, yd)
	plan, err := sweep.Discover(filepath.Join(dir, "model"), "")
	if err != nil {
		b.Fatal(err)
	}
	opts, err := engine.Defaults(n)
	if err != nil {
		b.Fatal(err)
	}
	opts.Alphas = []float64{1, 100}
	sess, err := fallback.New().Open(y, opts)
	if err != nil {
		b.Fatal(err)
	}
	defer sess.Close()
	cfg := sweep.Config{Dir: filepath.Join(dir, "out"), Plan: plan, Session: sess, Options: opts,
		Brain: sweep.BrainInfo{Path: "Y.npy", Shape: []int{n, m}, DType: "float64"}, Rows: n, Trailing: []int{m},
		Fingerprint: sweep.Fingerprint(y, opts)}
	if _, err := sweep.Run(context.Background(), cfg); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		rep, err := sweep.Run(context.Background(), cfg)
		if err != nil || rep.Computed != 0 || !rep.Merged {
			b.Fatalf("%+v %v", rep, err)
		}
	}
}
