//go:build cuda

package cuda

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/brainalign/brainalign/engine"
)

// Fault injection (faults_test.go) into two error paths the sweeps do not reach: the wait for
// the next matrix's upload when a Score hands its work ahead over to the session (handOver),
// and the growth of the engine's pool of timing events (which the sweeps' fault-free first run
// has already grown).

// TestHandOverWaitFails fails, in turn, each event wait of a Score that looks ahead: the one
// that waits for the next matrix's upload (handOver) must give up the work ahead, not the Score
// (its numbers are complete); the next Score, of the announced matrix, starts from scratch with
// the numbers it has without the fault, and nothing is left live.
func TestHandOverWaitFails(t *testing.T) {
	e := newTestEngine(t)
	faultHooks(t)
	n, m := 40, 60
	xa, y := problem(n, 6, m, 11)
	xb, _ := problem(n, 45, m, 21)
	xa = to32(xa)
	opts := options(t, n, func(o *engine.Options) { o.Alphas = []float64{1, 100, 1e4} })
	ctx := context.Background()

	// the pair of Score calls, xa with xb announced then xb, on a session opened with spec armed;
	// the spec is disarmed after the first Score
	type outcome struct {
		a, b       *engine.Result
		errA       error
		held       bool // the session held xb's work after xa's Score
		lookaheads int
	}
	pair := func(spec string) outcome {
		t.Helper()
		armFaults(t, spec)
		s, err := e.Open(y, opts)
		if err != nil {
			t.Fatalf("%s: Open: %v", spec, err)
		}
		ss := s.(*session)
		defer s.Close()
		var o outcome
		ss.Prepare(xb)
		o.a, o.errA = s.Score(ctx, xa)
		armFaults(t, "off")
		o.held = ss.ahead != nil
		if o.errA != nil {
			if o.a, err = s.Score(ctx, xa); err != nil {
				t.Fatalf("%s: Score of xa again without the fault: %v", spec, err)
			}
		}
		if o.b, err = s.Score(ctx, xb); err != nil {
			t.Fatalf("%s: Score of xb after the fault: %v", spec, err)
		}
		o.lookaheads = ss.lookaheads
		return o
	}

	pair("off") // grows the engine's pool of events
	onDevice(t, e, func(d *device) error { basePool = len(d.events); return nil })
	base := simState(t)
	want := pair("count")
	st := simState(t)
	if want.errA != nil || !want.held || want.lookaheads != 1 {
		t.Fatalf("without a fault: error %v, work held %v, %d look-aheads: want none, true, 1", want.errA, want.held, want.lookaheads)
	}
	checkReleased(t, e, "fault-free", base)
	names := calls(st.Calls) // before the next arming restarts the counts
	handedOver, waits := 0, 0
	for k, name := range names {
		if name != "cuEventSynchronize" {
			continue
		}
		waits++
		spec := fmt.Sprintf("call:%d", k+1)
		got := pair(spec)
		site := spec + " (cuEventSynchronize)"
		if got.errA != nil {
			checkFaultError(t, spec, "cuEventSynchronize", got.errA)
		} else if !got.held {
			// the wait for the upload failed: xa's Score is complete, xb's work given up
			handedOver++
			if got.lookaheads != 0 {
				t.Errorf("%s: xb's Score started from work whose upload was not waited for", site)
			}
		}
		for i, r := range [][2]*engine.Result{{got.a, want.a}, {got.b, want.b}} {
			if err := sameResults(r[:1], r[1:], []engine.Options{opts}); err != nil {
				t.Errorf("%s: Score %d: %v", site, i+1, err)
			}
		}
		checkReleased(t, e, site, base)
	}
	if handedOver == 0 {
		t.Fatal("no event wait's failure gave up the work ahead: handOver's wait not reached")
	}
	if t.Failed() {
		return
	}
	t.Logf("%d event waits failed, %d of them handOver's", waits, handedOver)
}

func calls(n uint64) []string {
	c := make([]string, n)
	for k := range c {
		c[k] = simCallName(uint64(k + 1))
	}
	return c
}

// TestEventPoolGrowthFails fails, in turn, each event creation (with the library's generic error
// and as out of memory) of the first Score and the first Predict of a fresh engine, which grow
// its pool of timing events (the sweeps' fault-free first run grows the pool before any fault):
// the error must name the event, the same session (engine) must give the fault-free numbers
// again, and the engine's Close must leave nothing live.
func TestEventPoolGrowthFails(t *testing.T) {
	e := newTestEngine(t)
	faultHooks(t)
	n, m := 40, 60
	x, y := problem(n, 6, m, 11)
	xNew, _ := problem(7, 6, 1, 12)
	alphas := []float64{1, 100, 1e4}
	opts := options(t, n, func(o *engine.Options) { o.Alphas = alphas })
	popts := options(t, n, func(o *engine.Options) { o.Folds, o.Alphas, o.Weights = nil, alphas, true })
	ctx := context.Background()
	onDevice(t, e, func(d *device) error { basePool = len(d.events); return nil })
	base := simState(t)

	runs := []struct {
		name string
		// run does the engine's first work with the faults armed by spec, then again disarmed
		// (the same session, for Score), returning what that computed and the first error
		run  func(e2 *Engine, spec string) (any, error)
		same func(got, want any) error
	}{
		{"score", func(e2 *Engine, spec string) (any, error) {
			armFaults(t, spec)
			s, err := e2.Open(y, opts)
			if err != nil {
				return nil, err // Open's faults are TestFaultInjection's
			}
			defer s.Close()
			res, first := s.Score(ctx, x)
			armFaults(t, "off")
			if first != nil {
				var again error
				if res, again = s.Score(ctx, x); again != nil {
					return nil, againError{first, again}
				}
			}
			return []*engine.Result{res}, first
		}, func(got, want any) error {
			return sameResults(got.([]*engine.Result), want.([]*engine.Result), []engine.Options{opts})
		}},
		{"predict", func(e2 *Engine, spec string) (any, error) {
			armFaults(t, spec)
			p, first := e2.Predict(ctx, x, y, xNew, popts)
			armFaults(t, "off")
			if first != nil {
				var again error
				if p, again = e2.Predict(ctx, x, y, xNew, popts); again != nil {
					return nil, againError{first, again}
				}
			}
			return p, first
		}, samePrediction},
	}
	for _, r := range runs {
		t.Run(r.name, func(t *testing.T) {
			fresh := func(spec string) (any, error) {
				t.Helper()
				e2, err := New(0)
				if err != nil {
					t.Fatal(err)
				}
				got, err := r.run(e2, spec)
				var again againError
				if errors.As(err, &again) {
					t.Errorf("%s: not usable again: %v", spec, err)
				}
				var pool int
				onDevice(t, e2, func(d *device) error { pool = len(d.events); return nil })
				if got != nil {
					if pool == 0 {
						t.Errorf("%s: the engine's pool of timing events did not grow", spec)
					}
				}
				e2.Close()
				checkReleased(t, e, spec+" (after Close)", base)
				return got, err
			}
			want, err := fresh("count")
			if err != nil {
				t.Fatal(err)
			}
			names := calls(simState(t).Calls)
			failed, creations := 0, 0
			for k, name := range names {
				if name != "cuEventCreate" {
					continue
				}
				creations++
				for _, spec := range []string{fmt.Sprintf("call:%d", k+1), fmt.Sprintf("oom:%d", k+1)} {
					got, err := fresh(spec)
					if err != nil {
						failed++
						checkFaultError(t, spec, faultSite(spec, names), err)
					}
					if got != nil {
						if derr := r.same(got, want); derr != nil {
							t.Errorf("%s: %v", spec, derr)
						}
					}
				}
			}
			if failed == 0 {
				t.Fatal("no event creation failed a run")
			}
			t.Logf("%d event creations failed both ways: %d runs gave an error", creations, failed)
		})
	}
}
