//go:build cuda

package cuda

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/brainalign/brainalign/engine"
)

// Fault injection (faults_test.go) into what spans several calls of a session: the look-ahead
// across matrices (engine.Preparer: the next matrix's upload and first factorisation queued on
// the decomposition stream during the current one's last fold, adopted by the next Score),
// Predict while another session holds such work, and a Score cancelled between batches with
// work queued on every stream.

// steps runs a run's steps: a step that fails is run again without the fault (on the same
// session), and a second failure ends the run with an againError.
type steps struct {
	disarm func()
	first  error // the first step's error that the fault caused
}

func (st *steps) do(step func() error) error {
	err := step()
	if err == nil {
		return nil
	}
	st.first = cmp.Or(st.first, err)
	st.disarm()
	if again := step(); again != nil {
		return againError{st.first, again}
	}
	return nil
}

// aheadOutcome is what a run of several Score calls (and a Predict) computed.
type aheadOutcome struct {
	results    []*engine.Result
	opts       []engine.Options // each result's
	prediction *engine.Prediction
	lookaheads int    // Score calls that started from the work done ahead (not compared)
	heldBefore bool   // the session held work done ahead when Predict began (not compared)
	problem    string // what went wrong that is not a fault's error (compared: must be "")
}

func sameAhead(got, want any) error {
	g, w := got.(*aheadOutcome), want.(*aheadOutcome)
	if g.problem != "" {
		return errors.New(g.problem)
	}
	if err := sameResults(g.results, w.results, w.opts); err != nil {
		return err
	}
	if w.prediction != nil {
		return samePrediction(g.prediction, w.prediction)
	}
	return nil
}

// openSession opens a session of y, again without the fault if the first Open fails. Options
// with MemoryLimit -1 (not an option Open takes) open a session streamed from the host: as if
// a Score had run out of memory beside the resident brain data (session.stream), which a
// memory limit cannot give at these sizes with room for the work ahead.
func openSession(e *Engine, st *steps, y engine.Matrix, opts engine.Options) (*session, error) {
	streamed := opts.MemoryLimit == -1
	if streamed {
		opts.MemoryLimit = 0
	}
	var s engine.Session
	err := st.do(func() (err error) {
		s, err = e.Open(y, opts)
		return err
	})
	if err != nil {
		return nil, err
	}
	ss := s.(*session)
	if streamed {
		e.dev.do(func() error { ss.stream(); return nil })
	}
	return ss, nil
}

// lookaheadRun scores seq in one session of y, each matrix announced (Prepare) while the one
// before it is scored, as package sweep does. A failed Score is run again without the fault,
// the next matrix announced again first.
func lookaheadRun(name string, seq []engine.Matrix, y engine.Matrix, opts engine.Options) faultRun {
	return faultRun{
		name: name,
		run: func(ctx context.Context, e *Engine, disarm func()) (any, error) {
			st := &steps{disarm: disarm}
			s, err := openSession(e, st, y, opts)
			if err != nil {
				return nil, err
			}
			defer s.Close()
			out := &aheadOutcome{}
			for i, x := range seq {
				var res *engine.Result
				err := st.do(func() (err error) {
					if i+1 < len(seq) {
						s.Prepare(seq[i+1])
					}
					res, err = s.Score(ctx, x)
					return err
				})
				if err != nil {
					return nil, err
				}
				out.results, out.opts = append(out.results, res), append(out.opts, opts)
			}
			out.lookaheads = s.lookaheads
			return out, st.first
		},
		same: sameAhead,
	}
}

// predictHeldRun scores xa in a session of y with xb announced, so that the session holds xb's
// upload and factorisation when Predict opens a session of its own on the engine (which gives
// that work up: dropHeld); then xb (announcing xc) and xc in the first session, the work ahead
// adopted by xc's Score.
func predictHeldRun(name string, xa, xb, xc, y, xNew engine.Matrix, opts, popts engine.Options) faultRun {
	return faultRun{
		name: name,
		run: func(ctx context.Context, e *Engine, disarm func()) (any, error) {
			st := &steps{disarm: disarm}
			s, err := openSession(e, st, y, opts)
			if err != nil {
				return nil, err
			}
			defer s.Close()
			out := &aheadOutcome{}
			scoreNext := func(x, next engine.Matrix) error {
				return st.do(func() error {
					if next.Rows > 0 {
						s.Prepare(next)
					}
					res, err := s.Score(ctx, x)
					if err == nil {
						out.results, out.opts = append(out.results, res), append(out.opts, opts)
					}
					return err
				})
			}
			if err := scoreNext(xa, xb); err != nil {
				return nil, err
			}
			out.heldBefore = s.ahead != nil
			if err := st.do(func() (err error) {
				out.prediction, err = e.Predict(ctx, xa, y, xNew, popts)
				return err
			}); err != nil {
				return nil, err
			}
			if err := scoreNext(xb, xc); err != nil {
				return nil, err
			}
			if err := scoreNext(xc, engine.Matrix{}); err != nil {
				return nil, err
			}
			out.lookaheads = s.lookaheads
			return out, st.first
		},
		same: sameAhead,
	}
}

// cancelRun scores xa in a session of y with xb announced and cancels the Score's context from
// its progress callback once cancelAt batches are done: the next batch does not start, and the
// Score returns context.Canceled with whatever it had queued on the compute, copy and
// decomposition streams (the next fold's factorisation, the next matrix's, the next batch's
// upload) waited for and released. Then xa again (xb announced) and xb, which must have the
// numbers of a session never cancelled.
func cancelRun(name string, xa, xb, y engine.Matrix, opts engine.Options, cancelAt int) faultRun {
	var cancel context.CancelFunc // of the Score being cancelled; called on the context thread
	opts.Progress = func(done, _ int) {
		if cancel != nil && done == cancelAt {
			cancel()
		}
	}
	return faultRun{
		name: name,
		run: func(ctx context.Context, e *Engine, disarm func()) (any, error) {
			st := &steps{disarm: disarm}
			s, err := openSession(e, st, y, opts)
			if err != nil {
				return nil, err
			}
			defer s.Close()
			out := &aheadOutcome{}
			s.Prepare(xb)
			cctx, stop := context.WithCancel(ctx)
			cancel = stop
			_, err = s.Score(cctx, xa)
			cancel = nil
			stop()
			switch {
			case err == nil:
				out.problem = fmt.Sprintf("the Score cancelled after %d batches completed", cancelAt)
			case errors.Is(err, context.Canceled):
				if !errors.Is(cctx.Err(), context.Canceled) {
					out.problem = fmt.Sprintf("Score: %v, but its context was not cancelled", err)
				}
			default:
				st.first = err // a fault before the cancellation
			}
			if s.ahead != nil {
				out.problem = cmp.Or(out.problem, "the cancelled Score left work held for the next one")
			}
			for i, x := range []engine.Matrix{xa, xb} {
				if err := st.do(func() error {
					if i == 0 {
						s.Prepare(xb)
					}
					res, err := s.Score(ctx, x)
					if err == nil {
						out.results, out.opts = append(out.results, res), append(out.opts, opts)
					}
					return err
				}); err != nil {
					return nil, err
				}
			}
			out.lookaheads = s.lookaheads
			return out, st.first
		},
		same: sameAhead,
	}
}

// TestFaultInjectionAhead fails every call site (and allocation) of a sequence of Score calls
// looking ahead across matrices (leave-one-out float32 resident; GCV float64 streamed: TestFaultInjection
// has the inner K-fold),
// of Predict between Score calls while the session holds work done ahead, and of Score calls
// cancelled between batches (in the last fold, with the next matrix's work queued; in the
// second fold of streamed brain data, with the next batch's upload and the next fold's
// factorisation queued), with the checks of TestFaultInjection.
func TestFaultInjectionAhead(t *testing.T) {
	e := newTestEngine(t)
	faultHooks(t)
	n, m := 40, 240
	xa, y := problem(n, 6, m, 11)
	xb, _ := problem(n, 45, m, 21) // more features than training rows: the dual Gram matrix
	xc, _ := problem(n, 10, m, 22)
	xNew, _ := problem(7, 6, 1, 12)
	alphas := []float64{1, 100, 1e4}
	// float32, float64 and column-major float64 activations, each held differently on the device
	seq := []engine.Matrix{to32(xa), xb, colMajor(xc)}
	loo := options(t, n, func(o *engine.Options) { o.Alphas = alphas })
	gcv := options(t, n, func(o *engine.Options) {
		o.Inner, o.Precision, o.Alphas = engine.Inner{Mode: engine.GCV}, engine.Float64, alphas
		o.MemoryLimit = -1 // streamed (openSession)
		o.MaxBatch = 120   // 2 batches: both staging buffers
	})
	popts := options(t, n, func(o *engine.Options) { o.Folds, o.Alphas, o.Weights = nil, alphas, true })
	batched := options(t, n, func(o *engine.Options) { o.Alphas, o.MaxBatch = alphas, 80 }) // 3 batches a fold
	streamed := batched
	streamed.Precision, streamed.MemoryLimit = engine.Float64, -1
	runs := []faultRun{
		lookaheadRun("lookahead/loo/float32/resident", seq, y, loo),
		lookaheadRun("lookahead/gcv/float64/streamed", seq, y, gcv),
		predictHeldRun("predict-beside-held-work", to32(xa), xb, colMajor(xc), y, xNew, loo, popts),
		cancelRun("cancel/last-fold/resident", to32(xa), xb, y, batched, 4*3+1),
		cancelRun("cancel/second-fold/streamed", to32(xa), xb, y, streamed, 3+1),
	}
	// Each run must do what it is here for, without a fault: look ahead at every matrix
	// announced (but the one whose work Predict gave up), hold work when Predict begins, be
	// cancelled.
	lookaheads := []int{2, 2, 1, 1, 1}
	for i, r := range runs {
		got, err := runGuarded(t, e, r, "off")
		if err != nil {
			t.Fatalf("%s: %v", r.name, err)
		}
		o := got.(*aheadOutcome)
		if o.problem != "" {
			t.Fatalf("%s: %s", r.name, o.problem)
		}
		if o.lookaheads != lookaheads[i] {
			t.Fatalf("%s: %d Score calls started from work done ahead, want %d", r.name, o.lookaheads, lookaheads[i])
		}
		if o.prediction != nil && !o.heldBefore {
			t.Fatalf("%s: no work held ahead when Predict began", r.name)
		}
	}
	sweepFaults(t, e, runs)
}

// TestNextFoldDecompositionError: a failure of the next fold's factorisation, queued during the
// current fold's products, is reported as the next fold's decomposition, not as the current
// fold's (it said "fold 0: ... cusolverDnDsyevd ..." for fold 1's eigendecomposition).
func TestNextFoldDecompositionError(t *testing.T) {
	e := newTestEngine(t)
	faultHooks(t)
	x, y := problem(40, 6, 30, 11)
	s, err := e.Open(y, options(t, 40, nil))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// the first Score grows the engine's pool of events: the second's calls are the third's
	for _, spec := range []string{"off", "count"} {
		armFaults(t, spec)
		if _, err := s.Score(context.Background(), x); err != nil {
			t.Fatal(err)
		}
	}
	st := simState(t)
	var syevd []uint64 // the eigendecompositions, one a fold
	for k := uint64(1); k <= st.Calls; k++ {
		if simCallName(k) == "cusolverDnDsyevd" {
			syevd = append(syevd, k)
		}
	}
	if len(syevd) != 5 {
		t.Fatalf("%d eigendecompositions, want one for each of 5 folds", len(syevd))
	}
	armFaults(t, fmt.Sprintf("call:%d", syevd[1])) // fold 1's, queued during fold 0
	_, err = s.Score(context.Background(), x)
	armFaults(t, "off")
	if err == nil || !strings.HasPrefix(err.Error(), "fold 0: the next fold's decomposition: cuda engine: cusolverDnDsyevd") {
		t.Errorf("fold 1's eigendecomposition failed: %v, want it named as the next fold's", err)
	}
}
