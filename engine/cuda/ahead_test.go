//go:build cuda

package cuda

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"syscall"
	"testing"
	"unsafe"

	"github.com/brainalign/brainalign/engine"
)

// Looking ahead across matrices (engine.Preparer, ahead.go): the next matrix's upload and first
// factorisation run during the current one's last fold. Every number must be that of scoring
// each matrix in a session of its own; a matrix that is not the announced one, or whose data
// changed after the announcement, must not be scored from the work done ahead.

func to32(x engine.Matrix) engine.Matrix {
	v := make([]float32, len(x.F64))
	for i, f := range x.F64 {
		v[i] = float32(f)
	}
	return engine.NewMatrix32(x.Rows, x.Cols, v)
}

func colMajor(x engine.Matrix) engine.Matrix {
	v := make([]float64, x.Rows*x.Cols)
	for i := range x.Rows {
		for j := range x.Cols {
			v[j*x.Rows+i] = x.At(i, j)
		}
	}
	return engine.Matrix{Rows: x.Rows, Cols: x.Cols, ColMajor: true, F64: v}
}

func cloneMatrix(x engine.Matrix) engine.Matrix {
	x.F32, x.F64 = slices.Clone(x.F32), slices.Clone(x.F64)
	return x
}

// alone scores x in a session of its own.
func alone(t *testing.T, e *Engine, x, y engine.Matrix, opts engine.Options) *engine.Result {
	t.Helper()
	s, err := e.Open(y, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	res, err := s.Score(context.Background(), x)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestLookahead(t *testing.T) {
	e := newTestEngine(t)
	xa, y := problem(90, 14, 70, 11)
	_, yw := problem(90, 14, 2000, 11) // brain data 1.5x the memory limit: streamed
	xb, _ := problem(90, 120, 70, 12)  // more features than training rows: the dual Gram matrix
	xc, _ := problem(90, 30, 70, 13)
	// float32, float64 and column-major float64 activations, each held differently on the device
	seq := []engine.Matrix{to32(xa), xb, colMajor(xc), to32(xa)}
	cases := []struct {
		name     string
		y        engine.Matrix
		mod      func(*engine.Options)
		streamed bool
	}{
		{"loo_float32", y, nil, false},
		{"loo_float64", y, func(o *engine.Options) { o.Precision = engine.Float64 }, false},
		{"gcv_tf32", y, func(o *engine.Options) { o.Inner, o.Precision = engine.Inner{Mode: engine.GCV}, engine.TF32 }, false},
		{"kfold", y, func(o *engine.Options) { o.Inner = engine.Inner{Mode: engine.KFoldInner, K: 3, Score: engine.R2} }, false},
		{"shared_batched", y, func(o *engine.Options) { o.SharedAlpha = true; o.MaxBatch = 32 }, false},
		{"streamed", yw, func(o *engine.Options) { o.MemoryLimit = 90 * 2000 * 4 * 3 / 2; o.MaxBatch = 320 }, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			opts := options(t, 90, c.mod)
			var wants []*engine.Result
			for _, x := range seq {
				wants = append(wants, alone(t, e, x, c.y, opts))
			}
			s, err := e.Open(c.y, opts)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			ss := s.(*session)
			if got := !ss.Resident(); got != c.streamed {
				t.Fatalf("streamed %v, want %v", got, c.streamed)
			}
			for i, x := range seq {
				if i+1 < len(seq) {
					s.(engine.Preparer).Prepare(seq[i+1])
				}
				got, err := s.Score(context.Background(), x)
				if err != nil {
					t.Fatal(err)
				}
				if ss.lookaheads != i {
					t.Fatalf("matrix %d: %d Score calls started from work done ahead, want %d", i, ss.lookaheads, i)
				}
				// The same products in the same order (TestDecompositionOverlap): identical on
				// cudasim, within rounding on a GPU.
				compare(t, fmt.Sprintf("matrix %d", i), got, wants[i], 1e-9, 0.99)
			}
			if ss.ahead != nil {
				t.Error("a factorisation was prepared with nothing announced")
			}
		})
	}

	opts := options(t, 90, nil)
	want := map[string]*engine.Result{}
	for name, x := range map[string]engine.Matrix{"a": seq[0], "b": xb, "c": seq[2]} {
		want[name] = alone(t, e, x, y, opts)
	}
	open := func(t *testing.T) *session {
		s, err := e.Open(y, opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s.(*session)
	}
	scoreAs := func(t *testing.T, s *session, x engine.Matrix, want *engine.Result, what string) {
		t.Helper()
		got, err := s.Score(context.Background(), x)
		if err != nil {
			t.Fatal(err)
		}
		compare(t, what, got, want, 1e-9, 0.99)
	}

	// Another matrix comes than the one announced: the work done ahead is dropped.
	t.Run("other_matrix", func(t *testing.T) {
		s := open(t)
		s.Prepare(xb)
		scoreAs(t, s, seq[0], want["a"], "a")
		if s.ahead == nil {
			t.Fatal("nothing prepared for the announced matrix")
		}
		scoreAs(t, s, seq[2], want["c"], "c instead of b")
		if s.lookaheads != 0 || s.ahead != nil {
			t.Errorf("lookaheads %d, ahead %v: want 0 and nil", s.lookaheads, s.ahead)
		}
	})
	// Announced from another goroutine while Score runs, as a sweep's reader does (for the race
	// detector: scripts/cudasim.sh); whether the work ahead was done in time or not, the numbers
	// are the same.
	t.Run("announced_concurrently", func(t *testing.T) {
		s := open(t)
		for i := range 4 {
			done := make(chan struct{})
			go func() {
				defer close(done)
				s.Prepare(xb)
			}()
			scoreAs(t, s, seq[0], want["a"], fmt.Sprintf("a, round %d", i))
			<-done
			scoreAs(t, s, xb, want["b"], fmt.Sprintf("b, round %d", i))
		}
	})
	// The announced matrix's data changed after its upload (against the contract): the sampled
	// values differ and it is scored from scratch, with its new values.
	t.Run("changed_data", func(t *testing.T) {
		s := open(t)
		xd, _ := problem(90, 120, 70, 14)
		wantD := alone(t, e, xd, y, opts)
		xb2 := cloneMatrix(xb)
		s.Prepare(xb2)
		scoreAs(t, s, seq[0], want["a"], "a")
		copy(xb2.F64, xd.F64)
		scoreAs(t, s, xb2, wantD, "b changed into d")
		if s.lookaheads != 0 {
			t.Errorf("%d Score calls used a stale upload", s.lookaheads)
		}
	})
	// Announcements that cannot be scored are not acted on, or fail in their own Score.
	t.Run("bad_matrices", func(t *testing.T) {
		s := open(t)
		short, _ := problem(80, 14, 70, 15)
		s.Prepare(short)
		scoreAs(t, s, seq[0], want["a"], "a, short announced")
		if s.ahead != nil {
			t.Error("prepared a matrix of the wrong number of rows")
		}
		s.Prepare(engine.Matrix{Rows: 90, Cols: 14, F64: make([]float64, 5)}) // truncated data
		scoreAs(t, s, seq[0], want["a"], "a, truncated announced")
		if s.ahead != nil {
			t.Error("prepared a matrix whose data does not fill its shape")
		}
		nan := cloneMatrix(xb)
		nan.F64[17*120+3] = math.NaN()
		s.Prepare(nan)
		scoreAs(t, s, seq[0], want["a"], "a, NaN announced")
		if _, err := s.Score(context.Background(), nan); err == nil || !strings.Contains(err.Error(), "NaN") {
			t.Errorf("scoring a NaN matrix prepared ahead: %v, want the NaN named", err)
		}
		scoreAs(t, s, xb, want["b"], "b after the NaN matrix")
		if s.lookaheads != 0 || s.ahead != nil {
			t.Errorf("lookaheads %d, ahead %v: want 0 and nil", s.lookaheads, s.ahead)
		}
	})
	// Prepare(Matrix{}) withdraws the announcement, before or after the work ahead was done;
	// announcing the matrix being scored does nothing; closing a session frees what it prepared.
	t.Run("withdrawn_and_closed", func(t *testing.T) {
		var before int64
		onDevice(t, e, func(d *device) error { before = d.used; return nil })
		s := open(t)
		s.Prepare(xb)
		s.Prepare(engine.Matrix{})
		scoreAs(t, s, seq[0], want["a"], "a")
		if s.ahead != nil {
			t.Error("prepared a withdrawn matrix")
		}
		s.Prepare(xb)
		scoreAs(t, s, seq[0], want["a"], "a, b announced")
		s.Prepare(engine.Matrix{}) // after the work on b was done: b may have been freed
		scoreAs(t, s, xb, want["b"], "b withdrawn after its upload")
		if s.lookaheads != 0 {
			t.Error("scored a withdrawn matrix from its upload")
		}
		s.Prepare(seq[0])
		scoreAs(t, s, seq[0], want["a"], "a announced while scored")
		if s.ahead != nil {
			t.Error("prepared the matrix being scored")
		}
		s.Prepare(xb)
		scoreAs(t, s, seq[0], want["a"], "a, b announced")
		if s.ahead == nil {
			t.Fatal("nothing prepared")
		}
		s.Close()
		onDevice(t, e, func(d *device) error {
			if d.used != before {
				t.Errorf("%d bytes in use after Close, %d before Open", d.used, before)
			}
			return nil
		})
	})
	// A withdrawal while Score runs, after the last fold took the announcement and before its
	// data is read: the caller may free the data as soon as Prepare(Matrix{}) returns (here it
	// is unmapped, so a read crashes the test binary). An announcement made after the
	// withdrawal, in the same Score, is worked on and used.
	t.Run("withdrawn_during_score", func(t *testing.T) {
		s := open(t)
		mapped := mmapFloat64(t, len(xb.F64))
		copy(mapped, xb.F64)
		xm := engine.NewMatrix64(xb.Rows, xb.Cols, mapped)
		freed := false
		onDevice(t, e, func(d *device) error {
			d.onGemm = func(gemmShape) {
				s.prepMu.Lock()
				taken := s.prepared.Rows == 0
				s.prepMu.Unlock()
				if taken && !freed {
					s.Prepare(engine.Matrix{})
					if err := syscall.Munmap(unsafeBytes(mapped)); err != nil {
						panic(err)
					}
					freed = true
				}
			}
			return nil
		})
		t.Cleanup(func() { onDevice(t, e, func(d *device) error { d.onGemm = nil; return nil }) })
		s.Prepare(xm)
		scoreAs(t, s, seq[0], want["a"], "a, its announcement withdrawn and freed mid-Score")
		if !freed || s.ahead != nil {
			t.Fatalf("freed %v, ahead %v: want the work given up", freed, s.ahead)
		}
		// withdraw and announce b during a's first fold: b is taken at the last fold, after
		first := true
		onDevice(t, e, func(d *device) error {
			d.onGemm = func(gemmShape) {
				if first {
					first = false
					s.Prepare(engine.Matrix{})
					s.Prepare(xb)
				}
			}
			return nil
		})
		scoreAs(t, s, seq[0], want["a"], "a, b announced after a withdrawal")
		scoreAs(t, s, xb, want["b"], "b")
		if s.lookaheads != 1 {
			t.Errorf("%d Score calls started from work done ahead, want 1 (b's)", s.lookaheads)
		}
	})
	// Work held for a session's next Score is given up when another session opens or scores
	// on the engine: it counts against their memory.
	t.Run("other_session", func(t *testing.T) {
		s := open(t)
		s.Prepare(xb)
		scoreAs(t, s, seq[0], want["a"], "a")
		if s.ahead == nil {
			t.Fatal("nothing prepared")
		}
		var held int64
		onDevice(t, e, func(d *device) error { held = d.used; return nil })
		other := open(t)
		if s.ahead != nil {
			t.Fatal("another session's Open left the work held")
		}
		onDevice(t, e, func(d *device) error {
			if d.used >= held+int64(len(y.F64))*4 {
				t.Errorf("%d bytes in use after the other Open, %d before (with the work held)", d.used, held)
			}
			return nil
		})
		scoreAs(t, other, seq[0], want["a"], "a in the other session")
		scoreAs(t, s, xb, want["b"], "b")
		if s.lookaheads != 0 {
			t.Error("adopted work that was given up")
		}
		s.Prepare(xb)
		scoreAs(t, s, seq[0], want["a"], "a")
		scoreAs(t, other, seq[2], want["c"], "c in the other session")
		if s.ahead != nil {
			t.Error("another session's Score left the work held")
		}
	})
	// The next matrix's work never costs the current matrix's last fold a batch: where it would
	// split the targets further, it is given up.
	t.Run("batches_unchanged", func(t *testing.T) {
		_, ym := problem(90, 14, 700, 11)
		wide, _ := problem(90, 600, 70, 16)
		o64 := options(t, 90, func(o *engine.Options) { o.Precision = engine.Float64 })
		kept, given := 0, 0
		// every 200 KiB, and every 50 KiB where the work ahead goes from given up to kept or the
		// batches change (sweepLimits)
		const step = 50 << 10
		sweepLimits(3300<<10, 3900<<10, 4*step, step, func(limit int64) string {
			o := o64
			o.MemoryLimit = limit
			ref := alone(t, e, xb, ym, o)
			s, err := e.Open(ym, o)
			if err != nil {
				t.Fatal(err)
			}
			s.(engine.Preparer).Prepare(wide)
			got, err := s.Score(context.Background(), xb)
			if err != nil {
				t.Fatal(err)
			}
			held := s.(*session).ahead != nil
			if held {
				kept++
			} else {
				given++
			}
			s.Close()
			if got.Batches != ref.Batches {
				t.Errorf("limit %d: %d batches with the next matrix announced, %d without", limit, got.Batches, ref.Batches)
			}
			compare(t, fmt.Sprintf("limit %d", limit), got, ref, 1e-12, 1)
			return fmt.Sprintf("kept %v, %d batches", held, ref.Batches)
		}, nil)
		t.Logf("work ahead kept at %d limits, given up at %d", kept, given)
		if kept == 0 || given == 0 {
			t.Errorf("work ahead kept at %d limits and given up at %d: want both", kept, given)
		}
	})
	// Under every memory limit the pair of matrices completes with the numbers of each alone, or
	// fails with ErrOutOfMemory; the work ahead is given up first where it does not fit. The
	// matrix announced is wide (a large upload and Gram factorisation): near the limit, the last
	// fold of the matrix before it has room for its own products but not for that as well. (float64: the numbers are then the same to
	// 1e-12 whatever the batches' padding, which the limit changes, as in TestBatching.) From 2 MiB
	// down to the first limit out of memory, every 48 KiB, and every 6 KiB where the work ahead is
	// given up or the batches change (sweepLimits).
	t.Run("memory_limit_sweep", func(t *testing.T) {
		o64 := options(t, 90, func(o *engine.Options) { o.Precision = engine.Float64 })
		wide, _ := problem(90, 600, 70, 16)
		wantWide, wantB := alone(t, e, wide, y, o64), alone(t, e, xb, y, o64)
		completed, adopted, notAdopted := 0, 0, 0
		const step = 6 << 10
		tried := sweepLimits(2<<20, step, 8*step, step, func(limit int64) string {
			o := o64
			o.MemoryLimit = limit
			s, err := e.Open(y, o)
			if err != nil {
				t.Fatal(err)
			}
			s.(engine.Preparer).Prepare(wide)
			rb, err := s.Score(context.Background(), xb)
			var rw *engine.Result
			if err == nil {
				rw, err = s.Score(context.Background(), wide)
			}
			looked := s.(*session).lookaheads
			s.Close()
			if err != nil {
				if !errors.Is(err, engine.ErrOutOfMemory) {
					t.Fatalf("limit %d: %v", limit, err)
				}
				t.Logf("at %d: %v", limit, err)
				return outOfMemory
			}
			completed++
			if looked == 1 {
				adopted++
			} else {
				notAdopted++ // everything else fitted: given up for memory
			}
			compare(t, fmt.Sprintf("limit %d b", limit), rb, wantB, 1e-12, 1)
			compare(t, fmt.Sprintf("limit %d wide", limit), rw, wantWide, 1e-12, 1)
			return fmt.Sprintf("looked ahead %v, %d and %d batches", looked == 1, rb.Batches, rw.Batches)
		}, func(outcome string) bool { return outcome == outOfMemory })
		t.Logf("%d limits completed (%d looked ahead, %d gave it up), %d tried", completed, adopted, notAdopted, len(tried))
		if tried[0].outcome != outOfMemory {
			t.Errorf("no limit down to %d ran out of memory", tried[0].limit)
		}
		if completed < 10 || adopted == 0 || notAdopted == 0 {
			t.Errorf("%d limits completed, %d looked ahead and %d gave it up for memory: want 10 or more, and both", completed, adopted, notAdopted)
		}
	})
}

// mmapFloat64 returns n float64 values of anonymous mapped memory, unmapped at the end of the
// test unless the test unmaps it first.
func mmapFloat64(t *testing.T, n int) []float64 {
	b, err := syscall.Mmap(-1, 0, n*8, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		t.Fatal(err)
	}
	v := unsafe.Slice((*float64)(unsafe.Pointer(&b[0])), n)
	t.Cleanup(func() { syscall.Munmap(b) }) // EINVAL if already unmapped: ignored
	return v
}

func unsafeBytes(v []float64) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), len(v)*8)
}
