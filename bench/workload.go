package bench

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"

	"github.com/brainalign/brainalign/engine"
)

// Workload is a synthetic encoding problem of a given size.
type Workload struct {
	Name        string
	N, D, M     int // images, features, targets
	Folds       int
	Alphas      []float64
	Inner       engine.Inner
	Precision   engine.Precision
	SharedAlpha bool
	Standardize bool // features standardised per training fold (engine.Options.Standardize)
	Seed        uint64
}

// Small is the quick CPU workload: n=500, d=128, m=2000.
func Small() Workload { return Workload{Name: "small", N: 500, D: 128, M: 2000} }

// Medium is the CPU reference workload of issue 2: n=2000, d=512, m=20000, 5 folds, 9 penalties.
func Medium() Workload { return Workload{Name: "medium", N: 2000, D: 512, M: 20000} }

// W1 is the fMRI-scale GPU workload: n=10,000, d=4096, m=100,000.
func W1() Workload { return Workload{Name: "W1", N: 10000, D: 4096, M: 100000} }

// W2 is the MEG-scale GPU workload: n=22,448, d=4096, m=271 x 106.
func W2() Workload { return Workload{Name: "W2", N: 22448, D: 4096, M: 271 * 106} }

// Named returns a preset by name.
func Named(name string) (Workload, error) {
	switch name {
	case "small":
		return Small(), nil
	case "medium":
		return Medium(), nil
	case "W1", "w1":
		return W1(), nil
	case "W2", "w2":
		return W2(), nil
	}
	return Workload{}, fmt.Errorf("unknown workload %q (small, medium, W1, W2)", name)
}

// Options returns the engine options: KFold(Folds, default 5), the grid (default 1..1e8, 9).
func (w Workload) Options() (engine.Options, error) {
	k := w.Folds
	if k == 0 {
		k = 5
	}
	folds, err := engine.KFold(w.N, k)
	if err != nil {
		return engine.Options{}, err
	}
	alphas := w.Alphas
	if alphas == nil {
		alphas = engine.DefaultAlphas()
	}
	return engine.Options{Folds: folds, Alphas: alphas, Inner: w.Inner, Precision: w.Precision, SharedAlpha: w.SharedAlpha,
		Standardize: w.Standardize}, nil
}

// String describes the workload in one line.
func (w Workload) String() string {
	k := w.Folds
	if k == 0 {
		k = 5
	}
	na := len(w.Alphas)
	if na == 0 {
		na = 9
	}
	s := fmt.Sprintf("%s: n=%d d=%d m=%d, %d folds, %d penalties, inner %s, %s", w.Name, w.N, w.D, w.M, k, na, w.Inner, w.Precision)
	if w.Standardize {
		s += ", standardized features"
	}
	return s
}

// Flops predicts the floating-point operations of the large products, as the engines count them
// (engine.Result.Flops), with r = min(ntr-1, d) directions (no feature constant or collinear).
// Per outer fold: Z = U^T Y (2 ntr r m) and the held-out prediction (2 nte r m); with exact LOO
// one fitted-value product per penalty (2 ntr r m each); with an inner K-fold, per inner split
// its own Z and one validation prediction per penalty. Shared-alpha runs whose targets need
// more than one batch stage each batch twice, which this does not count.
func (w Workload) Flops() float64 {
	opts, err := w.Options()
	if err != nil {
		return 0
	}
	m, A := float64(w.M), float64(len(opts.Alphas))
	rank := func(ntr int) float64 { return math.Min(float64(ntr-1), float64(w.D)) }
	total := 0.0
	for _, f := range opts.Folds {
		ntr, nte := float64(len(f.Train)), float64(len(f.Test))
		r := rank(len(f.Train))
		per := 2 * ntr * r * m
		total += per + 2*nte*r*m
		switch w.Inner.Mode {
		case engine.LOO:
			total += A * per
		case engine.KFoldInner:
			inner, err := engine.KFold(len(f.Train), w.Inner.K)
			if err != nil {
				return 0
			}
			for _, in := range inner {
				ri := rank(len(in.Train))
				total += 2*float64(len(in.Train))*ri*m + A*2*float64(len(in.Test))*ri*m
			}
		}
	}
	return total
}

// Generate makes float32 activations with a power-law spectrum and targets carrying a planted
// rank-16 linear signal plus noise (signal-to-noise varying across targets), in parallel.
func (w Workload) Generate() (x, y engine.Matrix) {
	const rank = 16
	rng := rand.New(rand.NewPCG(w.Seed, 1))
	xd := make([]float32, w.N*w.D)
	scale := make([]float64, w.D)
	for j := range scale {
		scale[j] = 1 / math.Sqrt(float64(j+1))
	}
	parallelRows(w.N, w.Seed+2, func(r *rand.Rand, i int) {
		for j := 0; j < w.D; j++ {
			xd[i*w.D+j] = float32(r.NormFloat64() * scale[j])
		}
	})
	a := make([]float64, w.D*rank)
	for k := range a {
		a[k] = rng.NormFloat64()
	}
	b := make([]float64, rank*w.M)
	for k := range b {
		b[k] = rng.NormFloat64()
	}
	noise := make([]float64, w.M)
	for t := range noise {
		noise[t] = 0.5 + 4*rng.Float64()
	}
	yd := make([]float32, w.N*w.M)
	parallelRows(w.N, w.Seed+3, func(r *rand.Rand, i int) {
		var h [rank]float64
		for j := 0; j < w.D; j++ {
			v := float64(xd[i*w.D+j])
			for k := 0; k < rank; k++ {
				h[k] += v * a[j*rank+k]
			}
		}
		row := yd[i*w.M : (i+1)*w.M]
		for t := range row {
			s := 0.0
			for k := 0; k < rank; k++ {
				s += h[k] * b[k*w.M+t]
			}
			row[t] = float32(s/rank + noise[t]*r.NormFloat64())
		}
	})
	return engine.NewMatrix32(w.N, w.D, xd), engine.NewMatrix32(w.N, w.M, yd)
}

// parallelRows runs body over rows on all cores, each worker with its own seeded generator so
// the data do not depend on scheduling (rows are assigned to workers deterministically).
func parallelRows(n int, seed uint64, body func(r *rand.Rand, i int)) {
	const chunk = 64
	var wg sync.WaitGroup
	jobs := make(chan int)
	for wk := 0; wk < runtime.GOMAXPROCS(0); wk++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range jobs {
				r := rand.New(rand.NewPCG(seed, uint64(c)))
				for i := c * chunk; i < min(n, (c+1)*chunk); i++ {
					body(r, i)
				}
			}
		}()
	}
	for c := 0; c*chunk < n; c++ {
		jobs <- c
	}
	close(jobs)
	wg.Wait()
}
