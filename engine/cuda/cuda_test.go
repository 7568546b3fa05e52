//go:build cuda

package cuda

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"gorgonia.org/cu"

	"github.com/brainalign/brainalign/engine"
	"github.com/brainalign/brainalign/engine/enginetest"
	"github.com/brainalign/brainalign/fallback"
)

// A binary with this package cannot start without the CUDA driver (gorgonia.org/cu exits in its
// init); newTestEngine still skips, with the reason, when the driver sees no device. An engine
// that fails to start on a device the driver sees (its kernels not loading, a library handle not
// created) fails the test: a skip there would pass a run that tested nothing.
func newTestEngine(t testing.TB) *Engine {
	t.Helper()
	e := startEngine(t)
	t.Cleanup(func() { e.Close() })
	return e
}

func startEngine(t testing.TB) *Engine {
	t.Helper()
	e, err := New(0)
	if err != nil {
		if n, nerr := cu.NumDevices(); nerr == nil && n == 0 {
			t.Skipf("no CUDA device: %v", err)
		}
		t.Fatalf("the CUDA engine did not start on a device the driver sees: %v", err)
	}
	return e
}

func TestConformance(t *testing.T) {
	enginetest.RunAll(t, func(t *testing.T) engine.Engine { return startEngine(t) })
}

// syevdExtraBytes is how much more workspace the device's cusolverDnDsyevd asks for an n x n
// matrix than LAPACK's dsyevd (1 + 6n + 2n^2 doubles, what cudasim reports): tests that set a
// memory limit from the sizes of their problem add it, since cuSOLVER's minimum workspace is
// its own.
func syevdExtraBytes(t *testing.T, e *Engine, n int) int64 {
	t.Helper()
	var lw int
	onDevice(t, e, func(d *device) error {
		p := &pool{d: d}
		defer p.release()
		a, w := put(t, d, p, make([]float64, n*n)), put(t, d, p, make([]float64, n))
		var err error
		lw, err = d.sol.dsyevdWork(n, n, a, w)
		return err
	})
	return max(0, 8*int64(lw-(1+6*n+2*n*n)))
}

// problem makes a planted-signal problem: y = x w + noise, plus a constant target.
func problem(n, d, m int, seed uint64) (x, y engine.Matrix) {
	rng := rand.New(rand.NewPCG(seed, 7))
	xs := make([]float64, n*d)
	for i := range xs {
		xs[i] = rng.NormFloat64() + 3 // an offset the intercept must absorb
	}
	w := make([]float64, d*m)
	for i := range w {
		w[i] = rng.NormFloat64() / math.Sqrt(float64(d))
	}
	ys := make([]float64, n*m)
	for i := 0; i < n; i++ {
		for t := 0; t < m; t++ {
			s := 10.0
			for k := 0; k < d; k++ {
				s += xs[i*d+k] * w[k*m+t]
			}
			ys[i*m+t] = s + (0.5+float64(t%4))*rng.NormFloat64()
		}
	}
	for i := 0; i < n; i++ {
		ys[i*m+m-1] = 4 // constant target: degenerate
	}
	return engine.NewMatrix64(n, d, xs), engine.NewMatrix64(n, m, ys)
}

func options(t testing.TB, n int, mod func(*engine.Options)) engine.Options {
	opts, err := engine.Defaults(n)
	if err != nil {
		t.Fatal(err)
	}
	if mod != nil {
		mod(&opts)
	}
	return opts
}

func score(t testing.TB, e engine.Engine, x, y engine.Matrix, opts engine.Options) *engine.Result {
	t.Helper()
	res, err := engine.Score(context.Background(), e, x, y, opts)
	if err != nil {
		t.Fatalf("%s: %v", e.Name(), err)
	}
	return res
}

// compare checks two results: scores within tol, penalties agreeing on at least agree of the
// (fold, target) pairs, identical degenerate counts and ranks.
func compare(t *testing.T, what string, got, want *engine.Result, tol, agree float64) {
	t.Helper()
	maxd, same := 0.0, 0
	for k := range want.FoldScores {
		maxd = math.Max(maxd, math.Abs(got.FoldScores[k]-want.FoldScores[k]))
		if got.Alphas[k] == want.Alphas[k] {
			same++
		}
	}
	frac := float64(same) / float64(len(want.Alphas))
	t.Logf("%s: max |r diff| %.3g, penalties agree %.4f", what, maxd, frac)
	if maxd > tol {
		t.Errorf("%s: fold scores differ by %.3g > %.3g", what, maxd, tol)
	}
	if frac < agree {
		t.Errorf("%s: penalties agree on %.4f < %.4f of (fold, target) pairs", what, frac, agree)
	}
	if got.Degenerate != want.Degenerate || got.DegenerateTargets != want.DegenerateTargets {
		t.Errorf("%s: degenerate %d/%d, want %d/%d", what, got.Degenerate, got.DegenerateTargets, want.Degenerate, want.DegenerateTargets)
	}
	for f := range want.Rank {
		if got.Rank[f] != want.Rank[f] || got.Dropped[f] != want.Dropped[f] {
			t.Errorf("%s: fold %d rank %d (dropped %d), want %d (%d)", what, f, got.Rank[f], got.Dropped[f], want.Rank[f], want.Dropped[f])
		}
	}
}

// TestMatchesCPU runs the CPU engine and this one on the same problems, in both regimes of the
// decomposition (more rows than features and fewer) and every mode this engine supports.
func TestMatchesCPU(t *testing.T) {
	e := newTestEngine(t)
	cpu := fallback.New()
	for _, shape := range []struct {
		name    string
		n, d, m int
	}{
		{"primal", 120, 20, 37}, {"dual", 60, 150, 23},
	} {
		x, y := problem(shape.n, shape.d, shape.m, 1)
		modes := []struct {
			name  string
			mod   func(*engine.Options)
			tol   float64
			agree float64
		}{
			{"loo_f64", func(o *engine.Options) { o.Precision = engine.Float64 }, 1e-9, 1},
			{"loo_f32", nil, 2e-3, 0.95},
			{"gcv_f64", func(o *engine.Options) { o.Precision = engine.Float64; o.Inner = engine.Inner{Mode: engine.GCV} }, 1e-9, 1},
			{"shared_f64", func(o *engine.Options) { o.Precision = engine.Float64; o.SharedAlpha = true }, 1e-9, 1},
			{"nointercept_f64", func(o *engine.Options) { o.Precision = engine.Float64; o.NoIntercept = true }, 1e-9, 1},
			// TF32's goal (issue 3): |r| within 0.005 of float64. The penalties may differ where
			// the criterion is flat (ties within TF32's rounding; 100% identical on the simulator,
			// 88% and 96% before the residual's form was chosen per penalty); the r may not.
			{"tf32", func(o *engine.Options) { o.Precision = engine.TF32 }, 5e-3, 0.98},
			{"kfold3_r2_f64", func(o *engine.Options) { o.Precision = engine.Float64; o.Inner = kfold(3, engine.R2) }, 1e-9, 1},
			{"kfold5_pearson_f64", func(o *engine.Options) { o.Precision = engine.Float64; o.Inner = kfold(5, engine.Pearson) }, 1e-9, 1},
			{"kfold3_r2_f32", func(o *engine.Options) { o.Inner = kfold(3, engine.R2) }, 2e-3, 0.95},
			{"kfold3_pearson_f32", func(o *engine.Options) { o.Inner = kfold(3, engine.Pearson) }, 2e-3, 0.9},
			{"shared_kfold5_r2_f64", func(o *engine.Options) {
				o.Precision = engine.Float64
				o.Inner = kfold(5, engine.R2)
				o.SharedAlpha = true
			}, 1e-9, 1},
			{"shared_kfold3_pearson_f64", func(o *engine.Options) {
				o.Precision = engine.Float64
				o.Inner = kfold(3, engine.Pearson)
				o.SharedAlpha = true
			}, 1e-9, 1},
			{"kfold3_nointercept_f64", func(o *engine.Options) {
				o.Precision = engine.Float64
				o.Inner = kfold(3, engine.R2)
				o.NoIntercept = true
			}, 1e-9, 1},
		}
		for _, md := range modes {
			t.Run(shape.name+"/"+md.name, func(t *testing.T) {
				opts := options(t, shape.n, md.mod)
				got := score(t, e, x, y, opts)
				ref := opts
				if ref.Precision == engine.TF32 {
					ref.Precision = engine.Float64
				}
				want := score(t, cpu, x, y, ref)
				compare(t, md.name, got, want, md.tol, md.agree)
				// The same products, counted term by term as the CPU engine (the count depends on
				// the batching only in shared mode, which re-stages when there is more than one);
				// TF32 mode's extra products (split operands, R0) are not the algorithm's.
				if got.Batches == want.Batches && got.Flops != want.Flops {
					t.Errorf("%s: flops %v, CPU engine's count %v", md.name, got.Flops, want.Flops)
				}
			})
		}
	}
}

// TestLargeOffsets: float64 brain data with a large offset (1e6, where float32's spacing is
// 0.0625 against noise of about 1) in float32 precision agrees with the CPU engine, which centres
// in float64 before rounding: the engine takes each column's float64 mean off before the float32
// copy (columnShift), resident and streamed, row- and column-major.
func TestLargeOffsets(t *testing.T) {
	e := newTestEngine(t)
	cpu := fallback.New()
	n, m := 120, 1500 // Y large next to X and a fold's factors, for the streamed case
	x, y := problem(n, 20, m, 6)
	off := make([]float64, len(y.F64))
	for k, v := range y.F64 {
		off[k] = v + 1e6
	}
	yoff := engine.NewMatrix64(n, m, off)
	cm := make([]float64, len(off)) // the same data, column-major
	for i := 0; i < n; i++ {
		for j := 0; j < m; j++ {
			cm[j*n+i] = off[i*m+j]
		}
	}
	ycm := engine.Matrix{Rows: n, Cols: m, ColMajor: true, F64: cm}
	for _, inner := range []engine.Inner{{Mode: engine.LOO}, {Mode: engine.KFoldInner, K: 3}} {
		base := options(t, n, func(o *engine.Options) { o.Inner = inner })
		want := score(t, cpu, x, yoff, base)
		t.Run(inner.String()+"/resident", func(t *testing.T) {
			compare(t, "offset", score(t, e, x, yoff, base), want, 2e-3, 0.95)
		})
		t.Run(inner.String()+"/colmajor", func(t *testing.T) {
			compare(t, "offset colmajor", score(t, e, x, ycm, base), want, 2e-3, 0.95)
		})
		t.Run(inner.String()+"/streamed", func(t *testing.T) {
			opts := base
			opts.MemoryLimit = int64(n*m) * 4 * 2 / 3 // Y (float32 on the device) is 1.5x the budget
			compare(t, "offset streamed", scoreStreamed(t, e, x, yoff, opts), want, 2e-3, 0.95)
		})
	}
}

// TestColumnShift checks the host side of the offset removal: medians, constant columns exactly
// zero after the shift, both layouts and both input types alike.
func TestColumnShift(t *testing.T) {
	const n, m = 5, 3
	rm := []float64{
		1e4 + 0.1, 0.1, -2,
		1e4 + 0.7, 0.1, 3,
		1e4 - 0.3, 0.1, 5,
		1e4 + 0.2, 0.1, 7,
		1e4 + 0.4, 0.1, 1e9, // an outlier, which would move a mean to 2e8
	}
	for k := range rm { // float32-representable, so the float32 copies below hold the same values
		rm[k] = float64(float32(rm[k]))
	}
	cm := make([]float64, n*m)
	for i := 0; i < n; i++ {
		for j := 0; j < m; j++ {
			cm[j*n+i] = rm[i*m+j]
		}
	}
	to32 := func(a []float64) []float32 {
		out := make([]float32, len(a))
		for k, v := range a {
			out[k] = float32(v)
		}
		return out
	}
	for _, y := range []engine.Matrix{
		engine.NewMatrix64(n, m, rm), {Rows: n, Cols: m, ColMajor: true, F64: cm},
		engine.NewMatrix32(n, m, to32(rm)), {Rows: n, Cols: m, ColMajor: true, F32: to32(cm)},
	} {
		sh := columnShift(y)
		for j, want := range []float64{rm[3*m], rm[1], rm[2*m+2]} { // the medians (the second, constant)
			if sh[j] != want {
				t.Errorf("colmajor %v: shift[%d] = %v, want %v", y.ColMajor, j, sh[j], want)
			}
		}
		rows := []int{4, 0, 2}
		got := make([]float32, len(rows)*2)
		gatherShifted32(y, rows, 1, 3, sh, got)
		for r, i := range rows {
			for j := 1; j < 3; j++ {
				want := float32(rm[i*m+j] - sh[j])
				if j == 1 && got[r*2] != 0 {
					t.Errorf("colmajor %v: constant column not exactly zero: %v", y.ColMajor, got[r*2])
				}
				if got[r*2+j-1] != want {
					t.Errorf("colmajor %v: (%d, %d) = %v, want %v", y.ColMajor, i, j, got[r*2+j-1], want)
				}
			}
		}
	}
}

func kfold(k int, sc engine.InnerScore) engine.Inner {
	return engine.Inner{Mode: engine.KFoldInner, K: k, Score: sc}
}

// TestBatching: tiny batches (MaxBatch, a MemoryLimit) and injected out-of-memory failures that
// halve the batch give the same numbers as one batch.
func TestBatching(t *testing.T) {
	e := newTestEngine(t)
	x, y := problem(100, 12, 41, 3)
	base := options(t, 100, func(o *engine.Options) { o.Precision = engine.Float64 })
	want := score(t, e, x, y, base)
	if want.Batches != 1 {
		t.Fatalf("reference ran in %d batches, want 1", want.Batches)
	}
	extra := syevdExtraBytes(t, e, 12) // the 12 x 12 eigenproblem of every fold
	t.Run("max_batch", func(t *testing.T) {
		opts := base
		opts.MaxBatch = 4
		got := score(t, e, x, y, opts)
		if got.Batches != 11 {
			t.Errorf("batches %d, want 11", got.Batches)
		}
		compare(t, "max_batch", got, want, 1e-12, 1)
	})
	t.Run("oom_halves", func(t *testing.T) {
		s, err := e.Open(y, base)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		s.(*session).failAllocs = 3 // the first three batch allocations fail: 41 -> 20 -> 10 -> 5
		got, err := s.Score(context.Background(), x)
		if err != nil {
			t.Fatal(err)
		}
		if got.Batches != 9 {
			t.Errorf("batches %d after three out-of-memory failures, want 9 (batch of 5)", got.Batches)
		}
		compare(t, "oom_halves", got, want, 1e-12, 1)
	})
	t.Run("memory_limit", func(t *testing.T) {
		opts := base
		// Y resident (32 KiB, under half the limit), X (9.5 KiB), the fold's kept factors
		// (about 18 KiB) and, during the decomposition, about 20 KiB of temporaries plus
		// cuSOLVER's workspace; after it about 67 KiB stay for targets of 1.7 KiB each: 2
		// batches (40 + 1) rather than 1 of 41.
		opts.MemoryLimit = 128<<10 + extra
		got := score(t, e, x, y, opts)
		if got.Batches < 2 {
			t.Errorf("a 128 KiB limit ran in %d batch(es)", got.Batches)
		}
		compare(t, "memory_limit", got, want, 1e-12, 1)
	})
	// Memory limits from roomy down to too small, the next fold's factorisation held beside the
	// batches: every run that completes has the reference's numbers, the first that does not
	// fails with ErrOutOfMemory.
	t.Run("memory_limit_sweep", func(t *testing.T) {
		completed := 0
		for limit := 128<<10 + extra; ; limit -= 512 {
			opts := base
			opts.MemoryLimit = limit
			got, err := engine.Score(context.Background(), e, x, y, opts)
			if err != nil {
				if !errors.Is(err, engine.ErrOutOfMemory) {
					t.Fatalf("limit %d: %v", limit, err)
				}
				t.Logf("%d limits completed; at %d: %v", completed, limit, err)
				break
			}
			completed++
			compare(t, fmt.Sprintf("limit %d", limit), got, want, 1e-12, 1)
		}
		if completed < 10 {
			t.Errorf("only %d limits completed", completed)
		}
	})
	// Not even a batch of one target fits (every batch allocation of the first sizing fails):
	// the next fold's factorisation, held to overlap this fold's products, is given up and the
	// batches are sized again, rather than the run failing.
	t.Run("oom_gives_up_overlap", func(t *testing.T) {
		s, err := e.Open(y, base)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		s.(*session).failAllocs = 6 // batches of 41, 20, 10, 5, 2 and 1 target
		got, err := s.Score(context.Background(), x)
		if err != nil {
			t.Fatal(err)
		}
		if n := s.(*session).overlapsDropped; n != 1 {
			t.Errorf("%d next-fold factorisations given up, want 1", n)
		}
		if got.Batches != 1 {
			t.Errorf("batches %d, want 1 (sized again)", got.Batches)
		}
		compare(t, "oom_gives_up_overlap", got, want, 1e-12, 1)
	})
	// A library's allocation failing in the middle of a fold (the second target batch of fold
	// 0): the fold starts again with batches of half the size, the other folds keep theirs.
	midFold := func(t *testing.T, x, y engine.Matrix, opts engine.Options, streamed bool, batches int, want *engine.Result) {
		s, err := e.Open(y, opts)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if got := !s.(*session).Resident(); got != streamed {
			t.Fatalf("streamed %v, want %v", got, streamed)
		}
		s.(*session).failStage = 2
		got, err := s.Score(context.Background(), x)
		if err != nil {
			t.Fatal(err)
		}
		if got.Batches != batches {
			t.Errorf("batches %d after an out-of-memory failure in fold 0's second batch, want %d", got.Batches, batches)
		}
		compare(t, "oom_mid_fold", got, want, 1e-12, 1)
		// the fold's batches before the failure are counted once: the flops of the same batching
		// without a failure (shared penalties stage Y again for the refit when there are several
		// batches, so the reference is not the unbatched run)
		if ref := score(t, e, x, y, opts); got.Flops != ref.Flops {
			t.Errorf("flops %g after the fold was scored again, want %g", got.Flops, ref.Flops)
		}
	}
	t.Run("oom_mid_fold", func(t *testing.T) {
		opts := base
		opts.MaxBatch = 16 // 16, 16, 9; fold 0 again in batches of 8
		midFold(t, x, y, opts, false, 6, want)
	})
	t.Run("oom_mid_fold_shared", func(t *testing.T) {
		opts := base
		opts.SharedAlpha = true
		wantShared := score(t, e, x, y, opts)
		opts.MaxBatch = 16
		midFold(t, x, y, opts, false, 6, wantShared)
	})
	t.Run("oom_mid_fold_streamed", func(t *testing.T) {
		x, y := problem(100, 12, 2000, 5)
		opts := base
		want := score(t, e, x, y, opts)
		opts.MemoryLimit = int64(100*2000*8) * 2 / 3 // Y is 1.5x the budget: streamed
		opts.MaxBatch = 200                          // 10 batches (memory allows about 250)
		midFold(t, x, y, opts, true, 21, want)       // fold 0 again in batches of 96 (whole granules)
	})
	// With batches of one target, a library's out-of-memory first gives up the next fold's
	// factorisation, queued alongside this fold's products, and runs the fold again; a second
	// failure ends the run with the brain data resident, which is then streamed for the Score
	// to run again (once per session); only failures that persist with it streamed end the Score,
	// with ErrOutOfMemory and nothing left on the device but what the session held before.
	t.Run("oom_mid_fold_one_target", func(t *testing.T) {
		opts := base
		opts.MaxBatch = 1
		s, err := e.Open(y, opts)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		s.(*session).failStage = 3
		got, err := s.Score(context.Background(), x)
		if err != nil {
			t.Fatalf("a library out of memory with batches of one target, the next fold's factorisation held: %v", err)
		}
		compare(t, "oom_mid_fold_one_target", got, want, 1e-12, 1)
		if n := s.(*session).overlapsDropped; n != 1 {
			t.Errorf("%d next-fold factorisations given up, want 1", n)
		}
		ss := s.(*session)
		if !ss.Resident() {
			t.Fatal("brain data streamed, want resident")
		}
		ss.failStage, ss.failRepeat = 3, 1
		got, err = s.Score(context.Background(), x)
		if err != nil {
			t.Fatalf("a library out of memory twice with batches of one target, then streamed: %v", err)
		}
		compare(t, "oom_mid_fold_one_target streamed", got, want, 1e-12, 1)
		if ss.Resident() || ss.residencyDropped != 1 {
			t.Errorf("resident %v, dropped %d times after the resident run failed: want false, 1", ss.Resident(), ss.residencyDropped)
		}
		var held int64
		onDevice(t, e, func(d *device) error { held = d.used; return nil })
		ss.failStage, ss.failRepeat = 3, 1
		_, err = s.Score(context.Background(), x)
		if err == nil || !errors.Is(err, engine.ErrOutOfMemory) {
			t.Fatalf("a library out of memory twice with batches of one target, streamed: got %v, want ErrOutOfMemory", err)
		}
		if ss.residencyDropped != 1 {
			t.Errorf("dropped %d times, want 1", ss.residencyDropped)
		}
		onDevice(t, e, func(d *device) error {
			if d.used != held {
				t.Errorf("%s on the device after the failed Score, %s before it", engine.FormatBytes(d.used), engine.FormatBytes(held))
			}
			return nil
		})
	})
	t.Run("oom_error", func(t *testing.T) {
		opts := base
		opts.MemoryLimit = 16 << 10
		_, err := engine.Score(context.Background(), e, x, y, opts)
		if err == nil || !errors.Is(err, engine.ErrOutOfMemory) {
			t.Fatalf("16 KiB limit: got %v, want ErrOutOfMemory", err)
		}
	})
}

// TestDecompositionOverlap: factorising fold f+1 on the decomposition stream while fold f's
// products run changes no number: the fold scores, penalties and ranks are those of the run that
// factorises each fold when it comes, in every inner mode and precision, with resident and
// streamed brain data. scripts/cudasim.sh also runs it with the streams interleaved at random.
func TestDecompositionOverlap(t *testing.T) {
	e := newTestEngine(t)
	x, y := problem(90, 14, 70, 11)
	xd, yd := problem(40, 60, 70, 12)  // fewer training rows than features: the dual Gram matrix
	_, yw := problem(90, 14, 2000, 11) // brain data 1.5x the memory limit: streamed
	cases := []struct {
		name     string
		x, y     engine.Matrix
		mod      func(*engine.Options)
		streamed bool
	}{
		{"loo_float32", x, y, nil, false},
		{"loo_float64", x, y, func(o *engine.Options) { o.Precision = engine.Float64 }, false},
		{"gcv_dual", xd, yd, func(o *engine.Options) { o.Inner = engine.Inner{Mode: engine.GCV} }, false},
		{"loo_dual_tf32", xd, yd, func(o *engine.Options) { o.Precision = engine.TF32 }, false},
		{"kfold", x, y, func(o *engine.Options) { o.Inner = engine.Inner{Mode: engine.KFoldInner, K: 3, Score: engine.R2} }, false},
		{"shared_batched", x, y, func(o *engine.Options) { o.SharedAlpha = true; o.MaxBatch = 32 }, false},
		{"streamed", x, yw, func(o *engine.Options) { o.MemoryLimit = 90 * 2000 * 4 * 3 / 2; o.MaxBatch = 320 }, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			opts := options(t, c.x.Rows, c.mod)
			run := func(noOverlap bool) *engine.Result {
				s, err := e.Open(c.y, opts)
				if err != nil {
					t.Fatal(err)
				}
				defer s.Close()
				if got := !s.(*session).Resident(); got != c.streamed {
					t.Fatalf("streamed %v, want %v", got, c.streamed)
				}
				s.(*session).noOverlap = noOverlap
				res, err := s.Score(context.Background(), c.x)
				if err != nil {
					t.Fatal(err)
				}
				return res
			}
			want, got := run(true), run(false)
			if want.Timings.Overlapped != 0 {
				t.Errorf("overlapped %v without the overlap", want.Timings.Overlapped)
			}
			if got.Timings.Overlapped <= 0 {
				t.Errorf("no decomposition overlapped with the products in %d folds", got.Folds)
			}
			// The same products in the same order: identical numbers on cudasim. A real GPU runs
			// the same kernels, so any difference beyond rounding (a stale or half-written
			// factorisation) fails; the tolerance only allows for a library that is not
			// bitwise reproducible when another stream shares the device.
			compare(t, c.name, got, want, 1e-9, 0.99)
		})
	}
}

// TestAlignedProducts: every float32 product of a Score, on W2-like odd sizes (training and
// test rows and targets not multiples of 4), runs over dimensions and leading dimensions that
// are whole granules (align): what cuBLAS's tensor-core kernels need. The numbers are the
// CPU engine's.
func TestAlignedProducts(t *testing.T) {
	e := newTestEngine(t)
	n, m := 227, 1001 // folds of 45-46 test and 181-182 training rows
	x, y := problem(n, 40, m, 8)
	for _, tc := range []struct {
		name  string
		inner engine.Inner
		p     engine.Precision
	}{
		{"loo", engine.Inner{Mode: engine.LOO}, engine.Float32},
		{"loo_tf32", engine.Inner{Mode: engine.LOO}, engine.TF32},
		{"gcv", engine.Inner{Mode: engine.GCV}, engine.Float32},
		{"kfold", kfold(3, engine.R2), engine.Float32},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := options(t, n, func(o *engine.Options) { o.Inner, o.Precision, o.MaxBatch = tc.inner, tc.p, 300 })
			var shapes []gemmShape
			onDevice(t, e, func(d *device) error {
				d.onGemm = func(g gemmShape) {
					if g.t == f32 {
						shapes = append(shapes, g)
					}
				}
				return nil
			})
			got := score(t, e, x, y, opts)
			onDevice(t, e, func(d *device) error { d.onGemm = nil; return nil })
			if len(shapes) == 0 {
				t.Fatal("no float32 products")
			}
			for _, g := range shapes {
				// cuBLAS's rule: the rows of op(A) and of op(B) as stored, C's rows, and every ld
				stA, stB := g.m, g.k
				if g.tA {
					stA = g.k
				}
				if g.tB {
					stB = g.n
				}
				for _, v := range []int{stA, stB, g.m, g.lda, g.ldb, g.ldc} {
					if v%align != 0 {
						t.Fatalf("unaligned product %+v", g)
					}
				}
			}
			cpu := score(t, fallback.New(), x, y, func() engine.Options { o := opts; o.Precision = engine.Float64; return o }())
			tol, agree := 2e-3, 0.99
			if tc.p == engine.TF32 {
				// TF32's goal. Under the simulator's default TF32 (inputs truncated, as tensor
				// cores fed raw float32 may do), it fails by 0.06 unless the penalty loop's operand
				// is rounded to nearest first (scale_cols_tf32). Penalties: 100% identical (98%
				// before the residual's form was chosen per penalty).
				tol, agree = 5e-3, 0.98
			}
			compare(t, tc.name, got, cpu, tol, agree)
		})
	}
}

// TestTF32NearExactDual: TF32 with fewer training rows than features and near-exact fits (the
// dual decomposition, small penalties chosen), where the leave-one-out residual is a small
// difference of large terms. Reference: the CPU engine in float64, and every target's float64
// leave-one-out errors computed from scratch (penaltyTies). The criteria are flat across the
// small penalties: float64 chooses 1e-3 for 245 of the 385 (fold, target) pairs, where 1e-2,
// 1e-1 and 1 are above it by 2.3e-6, 2.5e-5 and 2.5e-4 (median), about as flat as the criteria's
// own TF32 error there (3.5e-5 to 4e-5 median, up to 2.4e-4): the complement of the kept
// directions is empty (R0 = 0), so outside the hot rows the residual is all the penalty loop's
// plain TF32 product, rounded as TF32 must. Many choices differ; each must be a tie (tieGap),
// and every r within TF32's goal. On the simulator (truncating TF32 or rounding to nearest
// alike: the loop's operands are TF32-exact): 64% identical penalties, the others within 2.2e-4
// (median 4.4e-6), |r| within 0.0012; with the loop's product alone float32-accurate (3xTF32,
// three times the loop's cost) 99.5%, the others within 2.1e-8, as in float32 (99.7%). With
// R0 = Yc - U Z (looResiduals) rather than uc uc^T Yc: a penalty 0.099 above, |r| 0.065.
func TestTF32NearExactDual(t *testing.T) {
	e := newTestEngine(t)
	n, d, m := 70, 150, 77
	rng := rand.New(rand.NewPCG(11, 3))
	xs := make([]float64, n*d)
	for i := range xs {
		xs[i] = rng.NormFloat64() * (0.1 + 10*float64(i%d)/float64(d))
	}
	ys := make([]float64, n*m)
	w := make([]float64, d*m)
	for i := range w {
		w[i] = rng.NormFloat64()
	}
	for i := 0; i < n; i++ {
		for j := 0; j < m; j++ {
			s := 0.0
			for k := 0; k < d; k++ {
				s += xs[i*d+k] * w[k*m+j]
			}
			ys[i*m+j] = s + 0.01*rng.NormFloat64()
		}
	}
	x, y := engine.NewMatrix64(n, d, xs), engine.NewMatrix64(n, m, ys)
	alphas := []float64{1e-3, 1e-2, 1e-1, 1, 10, 100, 1e3, 1e4}
	opts := options(t, n, func(o *engine.Options) { o.Precision, o.Alphas = engine.TF32, alphas })
	got := score(t, e, x, y, opts)
	ref := opts
	ref.Precision = engine.Float64
	want := score(t, fallback.New(), x, y, ref)
	// the ranks and degenerate targets; the penalties' agreement is penaltyTies'
	compare(t, "tf32 near-exact dual", got, want, 5e-3, 0)
	if _, _, _, worstGap := penaltyTies(t, x, y, opts, got, want); worstGap > tieGap {
		t.Errorf("a TF32 penalty's float64 leave-one-out error is %.2g above float64's choice (want <= %g: a tie)", worstGap, tieGap)
	}
}

// TestStreamedBrainData: brain data larger than the engine's memory budget stays on the host and
// is uploaded batch by batch, with the same numbers (float32 and float64).
func TestStreamedBrainData(t *testing.T) {
	e := newTestEngine(t)
	n, m := 200, 3000
	x, y := problem(n, 16, m, 4)
	for _, p := range []engine.Precision{engine.Float64, engine.Float32} {
		t.Run(p.String(), func(t *testing.T) {
			base := options(t, n, func(o *engine.Options) { o.Precision = p })
			want := score(t, e, x, y, base)
			opts := base
			ybytes := int64(n*m) * map[engine.Precision]int64{engine.Float64: 8, engine.Float32: 4}[p]
			opts.MemoryLimit = ybytes * 2 / 3 // Y is 1.5x the budget
			// In float32 the batches' products may take other cuBLAS kernels than one batch's
			// (another order of summation): a near-tie of two penalties may then go the other way,
			// which changes that target's r by more than rounding.
			tol, agree := 1e-6, 1.0
			if p == engine.Float32 {
				tol, agree = 2e-3, 0.999
			}
			compare(t, "streamed", scoreStreamed(t, e, x, y, opts), want, tol, agree)
		})
	}
}

// scoreStreamed opens a session on y, requires the brain data to stay on the host (streamed),
// scores x and requires more than one target batch.
func scoreStreamed(t *testing.T, e *Engine, x, y engine.Matrix, opts engine.Options) *engine.Result {
	t.Helper()
	s, err := e.Open(y, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.(*session).Resident() {
		t.Fatalf("Y of %d x %d resident (memory limit %s, device %s)", y.Rows, y.Cols,
			engine.FormatBytes(opts.MemoryLimit), engine.FormatBytes(e.Device().MemoryBytes))
	}
	got, err := s.Score(context.Background(), x)
	if err != nil {
		t.Fatal(err)
	}
	if got.Batches < 2 {
		t.Errorf("streamed Y in %d batch(es)", got.Batches)
	}
	return got
}

// TestBrainDataLargerThanDevice: brain data 1.5 times the device's whole memory, no MemoryLimit:
// the engine learns the size from the driver, keeps Y on the host, and sizes its batches from
// what the driver reports free, with the CPU engine's numbers. It needs a device of at most 64
// MiB (a 1.5x problem on an 80 GiB GPU would need 120 GB of host memory): the host simulator
// started with CUDASIM_MEMORY=8M (scripts/cudasim.sh); on a real GPU it skips.
func TestBrainDataLargerThanDevice(t *testing.T) {
	e := newTestEngine(t)
	mem := e.Device().MemoryBytes
	if mem <= 0 || mem > 64<<20 {
		t.Skipf("device memory %s: this test needs a device of at most 64 MiB (the simulator)", engine.FormatBytes(mem))
	}
	n := 400
	m := int(mem * 3 / 2 / (4 * int64(n))) // float32 Y of 1.5x the device
	x, y := problem(n, 24, m, 6)
	opts := options(t, n, nil)
	got := scoreStreamed(t, e, x, y, opts)
	want := score(t, fallback.New(), x, y, opts)
	t.Logf("n %d m %d (Y %s, device %s): %d batches", n, m, engine.FormatBytes(int64(n*m*4)), engine.FormatBytes(mem), got.Batches)
	compare(t, "larger than the device", got, want, 2e-3, 0.99)
}

// TestTF32Accuracy measures TF32 against float64 at the scale of W1 (n = 10000, d = 4096, 5
// folds, 9 penalties, exact LOO; 10000 targets with a planted signal): the goal is
// |r difference| <= 0.005. It needs a GPU node (16 GiB or more of device memory); TestMatchesCPU
// checks the same bound on small problems everywhere.
func TestTF32Accuracy(t *testing.T) {
	e := newGPUNodeEngine(t)
	n, d, m := 10000, 4096, 10000
	x, y := plantedProblem32(n, d, m, 64, 7, 0.02)
	run := func(p engine.Precision) *engine.Result {
		t0 := time.Now()
		res := score(t, e, x, y, options(t, n, func(o *engine.Options) { o.Precision = p }))
		t.Logf("%s: %.1f s, %.1f TFLOP/s over the run", p, time.Since(t0).Seconds(), res.Flops/time.Since(t0).Seconds()/1e12)
		return res
	}
	want, got := run(engine.Float64), run(engine.TF32)
	maxd, sum := 0.0, 0.0
	for k := range want.FoldScores {
		diff := math.Abs(got.FoldScores[k] - want.FoldScores[k])
		maxd, sum = math.Max(maxd, diff), sum+diff
	}
	same := 0
	for k := range want.Alphas {
		if got.Alphas[k] == want.Alphas[k] {
			same++
		}
	}
	t.Logf("tf32 vs float64 over %d (fold, target) pairs: max |r diff| %.2g, mean %.2g; penalties identical %.4f",
		len(want.FoldScores), maxd, sum/float64(len(want.FoldScores)), float64(same)/float64(len(want.Alphas)))
	if maxd > 0.005 {
		t.Errorf("tf32: max |r diff| %.3g against float64 > 0.005", maxd)
	}
}

// --- kernel unit tests against plain Go references ---

// onDevice runs fn on the engine's context thread. fn must not call t.Fatal (runtime.Goexit
// would end the context thread and leave do waiting forever): put and get panic on failure,
// which do turns into the error reported here; checks use t.Error.
func onDevice(t *testing.T, e *Engine, fn func(d *device) error) {
	t.Helper()
	if err := e.dev.do(func() error { return fn(e.dev) }); err != nil {
		t.Fatal(err)
	}
}

func put[T any](t *testing.T, d *device, p *pool, v []T) cu.DevicePtr {
	var z T
	_ = z
	ptr, err := p.alloc(int64(len(v)) * int64(sizeOf(v)))
	if err != nil {
		panic(err)
	}
	if err := upload(ptr, v, d.compute); err != nil {
		panic(err)
	}
	return ptr
}

func sizeOf[T any](v []T) int {
	var z T
	switch any(z).(type) {
	case float64:
		return 8
	default:
		return 4
	}
}

func get[T any](t *testing.T, d *device, p cu.DevicePtr, n int) []T {
	out := make([]T, n)
	if err := download(out, p, d.compute); err != nil {
		panic(err)
	}
	return out
}

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol*(1+math.Abs(b)) }

func TestKernels(t *testing.T) {
	e := newTestEngine(t)
	rng := rand.New(rand.NewPCG(5, 5))
	const n, mb, ld = 9, 5, 7 // batch of 5 targets inside a wider matrix (ld 7)
	a := make([]float64, n*ld)
	for i := range a {
		a[i] = rng.NormFloat64() + 2
	}
	for i := 0; i < n; i++ {
		a[i*ld+3] = 1.5 // constant column 3
	}
	rows := []int32{0, 2, 3, 5, 8}
	onDevice(t, e, func(d *device) error {
		p := &pool{d: d}
		defer p.release()
		da, drows := put(t, d, p, a), put(t, d, p, rows)
		mean, cnst, ss := put(t, d, p, make([]float64, mb)), put(t, d, p, make([]int32, mb)), put(t, d, p, make([]float64, mb))
		if err := d.colStats(f64, da, ld, drows, len(rows), mb, mean, cnst, ss); err != nil {
			return err
		}
		gm, gc, gs := get[float64](t, d, mean, mb), get[int32](t, d, cnst, mb), get[float64](t, d, ss, mb)
		for j := 0; j < mb; j++ {
			mu, q, same := 0.0, 0.0, true
			for _, r := range rows {
				mu += a[int(r)*ld+j]
				same = same && a[int(r)*ld+j] == a[int(rows[0])*ld+j]
			}
			mu /= float64(len(rows))
			for _, r := range rows {
				q += (a[int(r)*ld+j] - mu) * (a[int(r)*ld+j] - mu)
			}
			if !near(gm[j], mu, 1e-14) || !near(gs[j], q, 1e-12) || (gc[j] != 0) != same {
				t.Errorf("col_stats column %d: %v %v %v, want %v %v %v", j, gm[j], gs[j], gc[j], mu, q, same)
			}
		}
		// gather_center to float32, zeroing the constant column
		out := put(t, d, p, make([]float32, len(rows)*mb))
		if err := d.gatherCenter(f64, f32, da, ld, drows, len(rows), mb, mean, cnst, out, mb, 0); err != nil {
			return err
		}
		go32 := get[float32](t, d, out, len(rows)*mb)
		for i, r := range rows {
			for j := 0; j < mb; j++ {
				want := float32(a[int(r)*ld+j] - gm[j])
				if gc[j] != 0 {
					want = 0
				}
				if go32[i*mb+j] != want {
					t.Errorf("gather_center (%d, %d) = %v, want %v", i, j, go32[i*mb+j], want)
				}
			}
		}
		// col_scale (engine.StandardScale's rule: the constant column 3 gets 1), then
		// gather_center standardising in float64
		scale := put(t, d, p, make([]float64, mb))
		if err := d.colScale(mean, ss, len(rows), mb, scale); err != nil {
			return err
		}
		gsc := get[float64](t, d, scale, mb)
		for j := 0; j < mb; j++ {
			if want := engine.StandardScale(gs[j], gm[j], len(rows)); gsc[j] != want || (j == 3) != (want == 1) {
				t.Errorf("col_scale column %d = %v, want %v", j, gsc[j], want)
			}
		}
		out64 := put(t, d, p, make([]float64, len(rows)*mb))
		if err := d.gatherCenter(f64, f64, da, ld, drows, len(rows), mb, mean, 0, out64, mb, scale); err != nil {
			return err
		}
		g64 := get[float64](t, d, out64, len(rows)*mb)
		for i, r := range rows {
			for j := 0; j < mb; j++ {
				if want := (a[int(r)*ld+j] - gm[j]) * gsc[j]; g64[i*mb+j] != want {
					t.Errorf("gather_center scaled (%d, %d) = %v, want %v", i, j, g64[i*mb+j], want)
				}
			}
		}
		// loo_update with running argmin over three penalties: penalty 1 has four times the error
		// of penalties 0 and 2, which tie exactly; the first (0) must win, whichever order the
		// penalties are visited in
		yc := make([]float64, n*mb)
		for i := range yc {
			yc[i] = rng.NormFloat64()
		}
		w := make([]float64, n)
		for i := range w {
			w[i] = 1 + rng.Float64()
		}
		dyc, dw := put(t, d, p, yc), put(t, d, p, w)
		best, idx := put(t, d, p, make([]float64, mb)), put(t, d, p, make([]int32, mb))
		errs := put(t, d, p, make([]float64, mb))
		for _, order := range [][]int{{0, 1, 2}, {2, 1, 0}, {1, 2, 0}} {
			wantBest := make([]float64, mb)
			wantIdx := make([]int32, mb)
			for k, a := range order {
				yh := make([]float64, n*mb)
				for i := range yh {
					yh[i] = yc[i] * float64(a%2) * 3 // residual yc (a = 0, 2) or -2 yc (a = 1)
				}
				dyh := put(t, d, p, yh)
				if err := d.looUpdate(f64, dyc, mb, dyh, mb, dw, n, mb, a, k == 0, errs, best, idx, 0); err != nil {
					return err
				}
				ge := get[float64](t, d, errs, mb)
				for j := 0; j < mb; j++ {
					s := 0.0
					for i := 0; i < n; i++ {
						r := (yc[i*mb+j] - yh[i*mb+j]) * w[i]
						s += r * r
					}
					s /= n
					if !near(ge[j], s, 1e-13) {
						t.Errorf("loo_update penalty %d target %d: error %v, want %v", a, j, ge[j], s)
					}
					if k == 0 || s < wantBest[j] || (s == wantBest[j] && int32(a) < wantIdx[j]) {
						wantBest[j], wantIdx[j] = s, int32(a)
					}
				}
			}
			gi := get[int32](t, d, idx, mb)
			for j := range gi {
				if wantIdx[j] != 0 {
					t.Errorf("test setup: target %d's reference argmin is %d, want the tie at 0", j, wantIdx[j])
				}
				if gi[j] != wantIdx[j] {
					t.Errorf("loo_update argmin target %d, penalties visited %v: %d, want %d", j, order, gi[j], wantIdx[j])
				}
			}
		}
		// pearson with a constant prediction column (degenerate) and clamping
		pr := make([]float64, len(rows)*mb)
		for i := range pr {
			pr[i] = rng.NormFloat64()
		}
		for i := range rows {
			pr[i*mb+1] = 2
		}
		dp := put(t, d, p, pr)
		rr, deg := put(t, d, p, make([]float64, mb)), put(t, d, p, make([]int32, mb))
		if err := d.pearson(f64, dp, mb, da, ld, drows, len(rows), mb, rr, deg); err != nil {
			return err
		}
		gr, gd := get[float64](t, d, rr, mb), get[int32](t, d, deg, mb)
		for j := 0; j < mb; j++ {
			var xs, ys []float64
			for i, r := range rows {
				xs = append(xs, pr[i*mb+j])
				ys = append(ys, a[int(r)*ld+j])
			}
			want, wdeg := pearsonRef(xs, ys)
			if (gd[j] != 0) != wdeg || !near(gr[j], want, 1e-12) {
				t.Errorf("pearson target %d: %v (degenerate %v), want %v (%v)", j, gr[j], gd[j], want, wdeg)
			}
		}
		// scale_refit
		const r = 3
		z := make([]float64, mb*r)
		for i := range z {
			z[i] = rng.NormFloat64()
		}
		g := []float64{1, 2, 3, 10, 20, 30} // r x 2 penalties
		ix := []int32{1, 0, 1, 1, 0}
		dz, dg, dix := put(t, d, p, z), put(t, d, p, g), put(t, d, p, ix)
		zs := put(t, d, p, make([]float64, mb*r))
		if err := d.scaleRefit(f64, dz, mb, mb, r, dg, dix, zs, mb); err != nil {
			return err
		}
		gz := get[float64](t, d, zs, mb*r)
		for j := 0; j < mb; j++ {
			for c := 0; c < r; c++ {
				if want := z[j+c*mb] * g[c+int(ix[j])*r]; gz[j+c*mb] != want {
					t.Errorf("scale_refit (%d, %d) = %v, want %v", j, c, gz[j+c*mb], want)
				}
			}
		}
		return nil
	})
}

// TestKFoldKernels checks r2, kfold_accumulate and argmin_penalty against Go references written
// as fallback's r2Cols, kfold and argminPerTarget.
func TestKFoldKernels(t *testing.T) {
	e := newTestEngine(t)
	rng := rand.New(rand.NewPCG(11, 3))
	const n, mb, ld = 10, 6, 8 // validation rows picked from a 10-row batch of 6 targets (ld 8)
	y := make([]float64, n*ld)
	for i := range y {
		y[i] = rng.NormFloat64() + 5
	}
	for i := 0; i < n; i++ {
		y[i*ld+2] = 0    // constant column predicted exactly: R² 1
		y[i*ld+3] = 1.25 // constant column predicted inexactly: R² 0
		y[i*ld+5] = 0.11 // constant, its mean over 5 rows not 0.11 (SS_tot 1e-33 if summed): R² 0
	}
	rows := []int32{1, 3, 4, 7, 9}
	nv := len(rows)
	p := make([]float64, nv*mb)
	for i := range p {
		p[i] = rng.NormFloat64()
	}
	mu := []float64{5, 4.5, 0, 1.25, -1, 5.5}
	for i := 0; i < nv; i++ {
		p[i*mb+2] = 0
		p[i*mb+3] = 0.5
	}
	r2Ref := func(j int, withMu bool) float64 {
		m := 0.0
		if withMu {
			m = mu[j]
		}
		my := 0.0
		for _, r := range rows {
			my += y[int(r)*ld+j]
		}
		my /= float64(nv)
		res, tot, same := 0.0, 0.0, true
		for i, r := range rows {
			yv := y[int(r)*ld+j]
			e := yv - (p[i*mb+j] + m)
			res += e * e
			tot += (yv - my) * (yv - my)
			same = same && yv == y[int(rows[0])*ld+j]
		}
		switch {
		case !same && tot != 0:
			return 1 - res/tot
		case res == 0:
			return 1
		}
		return 0
	}
	onDevice(t, e, func(d *device) error {
		pl := &pool{d: d}
		defer pl.release()
		dy, dp, drows, dmu := put(t, d, pl, y), put(t, d, pl, p), put(t, d, pl, rows), put(t, d, pl, mu)
		out := put(t, d, pl, make([]float64, mb))
		for _, withMu := range []bool{true, false} {
			m := dmu
			if !withMu {
				m = 0
			}
			if err := d.r2(f64, dp, mb, m, dy, ld, drows, nv, mb, out); err != nil {
				return err
			}
			got := get[float64](t, d, out, mb)
			for j := 0; j < mb; j++ {
				if want := r2Ref(j, withMu); !near(got[j], want, 1e-12) {
					t.Errorf("r2 (mu %v) target %d: %v, want %v", withMu, j, got[j], want)
				}
			}
			if withMu && (got[2] != 1 || got[3] != 0 || got[5] != 0) {
				t.Errorf("r2 of constant columns: %v, %v, %v, want 1 (exact), 0 and 0", got[2], got[3], got[5])
			}
		}
		// criteria of 3 penalties over K = 3 splits, then the argmin; target 0 ties penalties 1
		// and 2 exactly (the first, 1, must win), target 1 ties all three (0 wins)
		const A, K = 3, 3
		scores := make([][]float64, K*A) // [split*A + a][target]
		for k := range scores {
			scores[k] = make([]float64, mb)
			for j := range scores[k] {
				scores[k][j] = rng.Float64()
			}
			a := k % A
			scores[k][0] = []float64{0.1, 0.5, 0.5}[a]
			scores[k][1] = 0.25
		}
		crit := put(t, d, pl, make([]float64, A*mb))
		want := make([]float64, A*mb)
		sc := put(t, d, pl, make([]float64, mb))
		for k := 0; k < K; k++ {
			for a := 0; a < A; a++ {
				if err := upload(sc, scores[k*A+a], d.compute); err != nil {
					return err
				}
				if err := d.kfoldAccumulate(sc, mb, K, crit+cu.DevicePtr(a*mb*8)); err != nil {
					return err
				}
				for j := 0; j < mb; j++ {
					want[a*mb+j] -= scores[k*A+a][j] / K
				}
			}
		}
		gc := get[float64](t, d, crit, A*mb)
		for k := range want {
			if gc[k] != want[k] {
				t.Errorf("kfold_accumulate crit[%d] = %v, want %v", k, gc[k], want[k])
			}
		}
		best, idx := put(t, d, pl, make([]float64, mb)), put(t, d, pl, make([]int32, mb))
		if err := d.argminPenalty(crit, mb, mb, A, best, idx); err != nil {
			return err
		}
		gb, gi := get[float64](t, d, best, mb), get[int32](t, d, idx, mb)
		for j := 0; j < mb; j++ {
			bi := 0
			for a := 1; a < A; a++ {
				if want[a*mb+j] < want[bi*mb+j] {
					bi = a
				}
			}
			if gi[j] != int32(bi) || gb[j] != want[bi*mb+j] {
				t.Errorf("argmin_penalty target %d: %d (%v), want %d (%v)", j, gi[j], gb[j], bi, want[bi*mb+j])
			}
		}
		if gi[0] != 1 || gi[1] != 0 {
			t.Errorf("argmin_penalty ties: targets 0, 1 chose %d, %d, want 1, 0", gi[0], gi[1])
		}
		return nil
	})
}

func pearsonRef(x, y []float64) (float64, bool) {
	n := float64(len(x))
	mx, my := 0.0, 0.0
	for i := range x {
		mx += x[i]
		my += y[i]
	}
	mx /= n
	my /= n
	var xx, yy, xy float64
	cx, cy := true, true
	for i := range x {
		xx += (x[i] - mx) * (x[i] - mx)
		yy += (y[i] - my) * (y[i] - my)
		xy += (x[i] - mx) * (y[i] - my)
		cx = cx && x[i] == x[0]
		cy = cy && y[i] == y[0]
	}
	if cx || cy || xx == 0 || yy == 0 {
		return 0, true
	}
	return math.Max(-1, math.Min(1, xy/math.Sqrt(xx*yy))), false
}

// TestSyevd checks both cuSOLVER bindings: A v = lambda v, ascending eigenvalues.
func TestSyevd(t *testing.T) {
	e := newTestEngine(t)
	const n = 40
	rng := rand.New(rand.NewPCG(9, 9))
	b := make([]float64, n*n)
	for i := range b {
		b[i] = rng.NormFloat64()
	}
	a := make([]float64, n*n) // B B^T, symmetric positive semi-definite
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			for k := 0; k < n; k++ {
				a[i*n+j] += b[i*n+k] * b[j*n+k]
			}
		}
	}
	check := func(name string, vecs, vals []float64, tol float64) {
		for k := 0; k < n; k++ {
			if k > 0 && vals[k] < vals[k-1] {
				t.Errorf("%s: eigenvalues not ascending at %d", name, k)
			}
			for i := 0; i < n; i++ {
				av := 0.0
				for j := 0; j < n; j++ {
					av += a[i*n+j] * vecs[j+k*n]
				}
				if math.Abs(av-vals[k]*vecs[i+k*n]) > tol*vals[n-1] {
					t.Errorf("%s: A v != lambda v for eigenpair %d", name, k) // not Fatal: on the context thread
					return
				}
			}
		}
	}
	onDevice(t, e, func(d *device) error {
		p := &pool{d: d}
		defer p.release()
		info := put(t, d, p, make([]int32, 2))
		da, w := put(t, d, p, a), put(t, d, p, make([]float64, n))
		lw, err := d.sol.dsyevdWork(n, n, da, w)
		if err != nil {
			return err
		}
		work := put(t, d, p, make([]float64, lw))
		if err := d.sol.dsyevd(n, n, da, w, work, lw, info); err != nil {
			return err
		}
		check("dsyevd", get[float64](t, d, da, n*n), get[float64](t, d, w, n), 1e-10)
		a32 := make([]float32, n*n)
		for i, v := range a {
			a32[i] = float32(v)
		}
		sa, sw := put(t, d, p, a32), put(t, d, p, make([]float32, n))
		lw, err = d.sol.ssyevdWork(n, n, sa, sw)
		if err != nil {
			return err
		}
		swork := put(t, d, p, make([]float32, lw))
		if err := d.sol.ssyevd(n, n, sa, sw, swork, lw, info); err != nil {
			return err
		}
		v32, w32 := get[float32](t, d, sa, n*n), get[float32](t, d, sw, n)
		v64, w64 := make([]float64, n*n), make([]float64, n)
		for i := range v32 {
			v64[i] = float64(v32[i])
		}
		for i := range w32 {
			w64[i] = float64(w32[i])
		}
		check("ssyevd", v64, w64, 1e-4)
		if err := d.sol.dsyevd(0, 1, da, w, work, lw, info); err == nil {
			t.Error("dsyevd with n = 0: no error")
		}
		return nil
	})
}

// TestSplitTF32Product: split_tf32 splits exactly (hi TF32, hi + lo = a, ties to even), join_f32
// undoes it in place, and gemm3xTF32 on split operands has float32's accuracy in TF32 mode, where
// a plain product has TF32's (logged, not asserted: cuBLAS may choose its kernels by shape).
func TestSplitTF32Product(t *testing.T) {
	e := newTestEngine(t)
	rng := rand.New(rand.NewPCG(9, 9))
	const m, n, k = 64, 48, 700
	a := make([]float32, m*k) // column-major m x k
	for i := range a {
		a[i] = float32(rng.NormFloat64() * math.Pow(10, 3*rng.Float64()-1.5))
	}
	// Ties: exactly half a TF32 unit above a TF32 value, with an even and an odd last bit.
	a[0] = math.Float32frombits(0x3f800000 | 0x1000) // 1 + 2^-11: rounds down to 1 (even)
	a[1] = math.Float32frombits(0x3f802000 | 0x1000) // (1 + 2^-10) + 2^-11: rounds up (odd)
	b := make([]float32, k*n)                        // column-major k x n
	for i := range b {
		b[i] = float32(rng.NormFloat64())
	}
	onDevice(t, e, func(d *device) error {
		p := &pool{d: d}
		defer p.release()
		defer d.setTF32(false)
		da, db := put(t, d, p, a), put(t, d, p, b)
		ahi, alo := put(t, d, p, make([]float32, m*k)), put(t, d, p, make([]float32, m*k))
		bhi, blo := put(t, d, p, make([]float32, k*n)), put(t, d, p, make([]float32, k*n))
		if err := d.splitTF32(da, m, m, k, ahi, m, alo, m); err != nil {
			return err
		}
		if err := d.splitTF32(db, k, k, n, bhi, k, blo, k); err != nil {
			return err
		}
		hi, lo := get[float32](t, d, ahi, m*k), get[float32](t, d, alo, m*k)
		for i, v := range a {
			if math.Float32bits(hi[i])&0x1fff != 0 || hi[i]+lo[i] != v || math.Abs(float64(lo[i])) > math.Abs(float64(v))/2048 {
				t.Errorf("split_tf32(%v) = %v + %v: want hi with 10 mantissa bits, hi + lo exact, |lo| <= 2^-11 |a|", v, hi[i], lo[i])
				break
			}
		}
		if hi[0] != 1 || hi[1] != math.Float32frombits(0x3f804000) {
			t.Errorf("split_tf32 ties: %v, %v; want 1 and 1+2^-9 (to even)", hi[0], hi[1])
		}
		// In place, then joined: a again, bit for bit.
		if err := d.splitTF32(da, m, m, k, da, m, alo, m); err != nil {
			return err
		}
		if err := d.joinF32(da, m, m, k, alo, m); err != nil {
			return err
		}
		if got := get[float32](t, d, da, m*k); !slices.Equal(got, a) {
			t.Errorf("split_tf32 in place then join_f32 did not give a back")
		}
		// Products against a float64 reference, errors relative to sum |a||b| per element.
		maxErr := func(c cu.DevicePtr) float64 {
			got := get[float32](t, d, c, m*n)
			worst := 0.0
			for i := 0; i < m; i++ {
				for j := 0; j < n; j++ {
					s, sa := 0.0, 0.0
					for l := 0; l < k; l++ {
						s += float64(a[i+l*m]) * float64(b[l+j*k])
						sa += math.Abs(float64(a[i+l*m]) * float64(b[l+j*k]))
					}
					worst = math.Max(worst, math.Abs(float64(got[i+j*m])-s)/sa)
				}
			}
			return worst
		}
		c := put(t, d, p, make([]float32, m*n))
		if err := d.setTF32(true); err != nil {
			return err
		}
		if err := d.gemm(f32, false, false, m, n, k, da, m, db, k, c, m); err != nil {
			return err
		}
		plain := maxErr(c)
		if err := d.gemm3xTF32(false, false, m, n, k, 1, ahi, alo, m, bhi, blo, k, 0, c, m); err != nil {
			return err
		}
		split := maxErr(c)
		if err := d.setTF32(false); err != nil {
			return err
		}
		if err := d.gemm(f32, false, false, m, n, k, da, m, db, k, c, m); err != nil {
			return err
		}
		single := maxErr(c)
		t.Logf("max error / sum|a b|: TF32 %.3g, 3xTF32 %.3g, float32 %.3g", plain, split, single)
		if split > 1e-6 {
			t.Errorf("3xTF32 product error %.3g of sum|a b|, want float32's (< 1e-6; plain float32 %.3g)", split, single)
		}
		return nil
	})
}
