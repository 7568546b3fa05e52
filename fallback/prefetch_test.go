package fallback

import (
	"context"
	"errors"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"

	"github.com/brainalign/brainalign/engine"
)

// TestPrefetchCountsWorkingMemory: folds are factorised side by side only when what they keep
// and the working memory of the decompositions running at once (workers of them, with their
// products' packing buffers) fit in a quarter of the memory limit.
func TestPrefetchCountsWorkingMemory(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	const n, d = 400, 300
	rng := rand.New(rand.NewPCG(1, 2))
	xs := make([]float32, n*d)
	for i := range xs {
		xs[i] = float32(rng.NormFloat64())
	}
	x := engine.NewMatrix32(n, d, xs)
	folds, err := engine.KFold(n, 5)
	if err != nil {
		t.Fatal(err)
	}
	// What the five splits keep: ~11 MB; two decompositions' working memory: ~9 MB, and their
	// products' packing buffers (two goroutines each).
	kept := int64(0)
	var pack packUse
	for _, f := range folds {
		kept += splitBytes(len(f.Train), len(f.Test), d, 4)
		pack.addDecomposition(2, len(f.Train), len(f.Test), d)
	}
	transient := 2*decomposeBytes(len(folds[0].Train), len(folds[0].Test), d) + pack.bytes()
	type limitCase struct {
		limit int64
		ahead bool
	}
	cases := []limitCase{
		{4 * (kept + transient/2), false}, // the kept splits fit, not with the working memory
		{4 * (kept + transient + 1<<20), true},
	}
	if pack.bytes() > 0 { // all fits but the packing buffers
		cases = append(cases, limitCase{4 * (kept + transient - pack.bytes()/2), false})
	}
	for _, tc := range cases {
		opts := engine.Options{Folds: folds, MemoryLimit: tc.limit, Precision: engine.Float32}
		r := &runner[float32]{ctx: context.Background(), s: &session{opts: opts}, x: x}
		pre := r.prefetch()
		r.pre = pre
		r.drain()
		if (pre != nil) != tc.ahead {
			t.Errorf("limit %s (kept %s, working %s): factorised ahead %v, want %v", engine.FormatBytes(tc.limit),
				engine.FormatBytes(kept), engine.FormatBytes(transient), pre != nil, tc.ahead)
		}
	}
}

// TestLimitBelowDecomposition: a memory limit below what one fold's decomposition holds while it
// runs (with what it keeps) is refused before any work, naming that figure; one just above it
// runs. (A limit counted only against the target batches let a 100 MB limit peak at 250 MB.)
func TestLimitBelowDecomposition(t *testing.T) {
	const n, d = 400, 300
	x, y, folds := noiseProblem(t, n, d, 3)
	need := decomposeBytes(320, 80, d) + splitBytes(320, 80, d, 4)
	for _, tc := range []struct {
		limit int64
		ok    bool
	}{{need - 1, false}, {need + 1<<20, true}} {
		opts := engine.Options{Folds: folds, MemoryLimit: tc.limit, Precision: engine.Float32, Alphas: []float64{1, 10}}
		e := New()
		_, err := engine.Score(context.Background(), e, x, y, opts)
		e.Close()
		want := "is below the " + engine.FormatBytes(need) + " one fold's decomposition needs (320 training rows x 300 features)"
		switch {
		case tc.ok && err != nil:
			t.Errorf("limit %s, above the decomposition's %s: %v", engine.FormatBytes(tc.limit), engine.FormatBytes(need), err)
		case !tc.ok && (!errors.Is(err, engine.ErrOutOfMemory) || !strings.Contains(err.Error(), want)):
			t.Errorf("limit %s, below the decomposition's: %v; want ErrOutOfMemory, %q", engine.FormatBytes(tc.limit), err, want)
		}
	}
}

// With an inner k-fold the splits are factorised one after another: the floor is the outer split
// and the inner ones kept, with one inner split's working memory, not every split's at once
// (14 MB runs here; a floor of 17.9 MB refused it).
func TestLimitInnerKFold(t *testing.T) {
	const n, d = 400, 300
	x, y, folds := noiseProblem(t, n, d, 5)
	opts := engine.Options{Folds: folds, MemoryLimit: 14 << 20, Precision: engine.Float32, Alphas: []float64{1, 10},
		Inner: engine.Inner{Mode: engine.KFoldInner, K: 5}}
	if floor := DecompositionFloor(opts, d); floor > opts.MemoryLimit || floor < 12<<20 {
		t.Errorf("inner kfold:5 floor %s: want between 12 MiB and 14 MiB", engine.FormatBytes(floor))
	}
	e := New()
	defer e.Close()
	if _, err := engine.Score(context.Background(), e, x, y, opts); err != nil {
		t.Errorf("inner kfold:5 under 14 MiB: %v", err)
	}
}

// noiseProblem is n x d activations and n x 50 targets of unit normal noise, and 5 folds.
func noiseProblem(t *testing.T, n, d int, seed uint64) (x, y engine.Matrix, folds []engine.Fold) {
	rng := rand.New(rand.NewPCG(seed, seed+1))
	xs, ys := make([]float32, n*d), make([]float32, n*50)
	for i := range xs {
		xs[i] = float32(rng.NormFloat64())
	}
	for i := range ys {
		ys[i] = float32(rng.NormFloat64())
	}
	folds, err := engine.KFold(n, 5)
	if err != nil {
		t.Fatal(err)
	}
	return engine.NewMatrix32(n, d, xs), engine.NewMatrix32(n, 50, ys), folds
}

// Without --memory the target batches are sized to the default limit (half the memory
// available), and only a decomposition may take up to all of it.
func TestDefaultLimits(t *testing.T) {
	r := &runner[float32]{s: &session{opts: engine.Options{}}}
	if got, _ := r.memoryLimit(); got != defaultMemoryLimit() {
		t.Errorf("batches' limit without --memory: %s, want the default %s", engine.FormatBytes(got), engine.FormatBytes(defaultMemoryLimit()))
	}
	if got := DecompositionLimit(engine.Options{}); got != 2*defaultMemoryLimit() {
		t.Errorf("decomposition's limit without --memory: %s, want all available %s", engine.FormatBytes(got), engine.FormatBytes(2*defaultMemoryLimit()))
	}
	if got := DecompositionLimit(engine.Options{MemoryLimit: 1 << 30}); got != 1<<30 {
		t.Errorf("decomposition's limit with --memory 1GiB: %s", engine.FormatBytes(got))
	}
}
