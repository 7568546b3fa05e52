//go:build cuda

package cuda

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/brainalign/brainalign/engine"
)

// Fault injection: every call the engine makes to the driver, cuBLAS and cuSOLVER fails in turn
// (cudasim's CUDASIM_FAIL, armed through its hooks: simhook.go), during New, Open, Score,
// Predict and Close. Whatever fails, the engine must not panic or hang; it either gives the
// numbers of the run without the fault (an out-of-memory may shrink a batch, or stream the
// brain data, and go on) or an error that names what failed and carries the library's code; it
// frees all the device and page-locked memory it took, and the session or engine works again
// afterwards. Only on cudasim (a real driver has no hooks).

// faultHooks skips t unless the driver is cudasim with its fault hooks, and disarms them at the
// end.
func faultHooks(t *testing.T) {
	t.Helper()
	ok, err := simFaults("off")
	if !ok {
		t.Skip("needs cudasim's fault injection (engine/cuda/sim), not a real driver")
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { simFaults("off") })
}

func armFaults(t *testing.T, spec string) {
	t.Helper()
	if _, err := simFaults(spec); err != nil {
		t.Fatal(err)
	}
}

func simState(t *testing.T) simStats {
	t.Helper()
	st, ok := readSimStats()
	if !ok {
		t.Fatal("cudasim's stats hook is gone")
	}
	return st
}

// faultRun is one run of the engine under test: it returns what it computed (compared with
// the fault-free run's by same) or the first error, having released all it took.
type faultRun struct {
	name string
	run  func(ctx context.Context, e *Engine) (any, error)
	same func(got, want any) error
}

// faultSpecs returns the faults to inject into a run that made calls (their C names, in order)
// and allocs device allocations: every allocation failing as out of memory; every call failing
// with its library's generic error and with its out-of-memory code, all of them when there are
// few, else with a stride plus the first and last call of every distinct name (a launch's names
// its kernel), so that every call site fails at least once.
func faultSpecs(calls []string, allocs uint64, most int) []string {
	var specs []string
	for k := uint64(1); k <= allocs; k++ {
		specs = append(specs, fmt.Sprintf("alloc:%d", k))
	}
	pick := map[int]bool{}
	first, last := map[string]int{}, map[string]int{}
	for i, c := range calls {
		if _, ok := first[c]; !ok {
			first[c] = i
		}
		last[c] = i
	}
	for _, i := range first {
		pick[i] = true
	}
	for _, i := range last {
		pick[i] = true
	}
	stride := max(1, len(calls)/max(1, most-len(pick)))
	for i := 0; i < len(calls); i += stride {
		pick[i] = true
	}
	ks := make([]int, 0, len(pick))
	for i := range pick {
		ks = append(ks, i+1)
	}
	slices.Sort(ks)
	for _, k := range ks {
		specs = append(specs, fmt.Sprintf("call:%d", k), fmt.Sprintf("oom:%d", k))
	}
	return specs
}

// faultGuard is how long one run may take before it counts as hung: a guard against a
// deadlock, not a timing check (a run takes milliseconds on the simulator).
const faultGuard = 2 * time.Minute

// runGuarded runs r once with the faults armed by spec and reports what it returned; a panic
// or a hang fails t.
func runGuarded(t *testing.T, e *Engine, r faultRun, spec string) (any, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), faultGuard)
	defer cancel()
	type outcome struct {
		v     any
		err   error
		panic any
	}
	done := make(chan outcome, 1)
	armFaults(t, spec)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				done <- outcome{panic: p}
			}
		}()
		v, err := r.run(ctx, e)
		done <- outcome{v: v, err: err}
	}()
	var o outcome
	select {
	case o = <-done:
	case <-time.After(faultGuard + 10*time.Second):
		t.Fatalf("%s with %s: no answer after %v (hung)", r.name, spec, faultGuard)
	}
	armFaults(t, "off")
	if o.panic != nil {
		t.Fatalf("%s with %s: panic: %v", r.name, spec, o.panic)
	}
	var pe panicError
	if errors.As(o.err, &pe) {
		t.Errorf("%s with %s: panic on the context thread: %v", r.name, spec, o.err)
	}
	if errors.Is(o.err, context.DeadlineExceeded) {
		t.Fatalf("%s with %s: %v (hung)", r.name, spec, o.err)
	}
	return o.v, o.err
}

// checkReleased fails t if anything the engine took during a run is still live: device
// memory, page-locked memory, events beyond the engine's pool, streams, modules or library
// handles beyond its own.
func checkReleased(t *testing.T, e *Engine, what string, base simStats) {
	t.Helper()
	var pool int
	var used int64
	var sizes int
	onDevice(t, e, func(d *device) error {
		pool, used, sizes = len(d.events), d.used, len(d.sizes)
		return nil
	})
	st := simState(t)
	if st.DeviceBytes != 0 || st.DeviceAllocs != 0 || used != 0 || sizes != 0 {
		t.Errorf("%s: %d device bytes in %d allocations still live (the engine counts %d in %d)", what, st.DeviceBytes, st.DeviceAllocs, used, sizes)
	}
	if st.PinnedBytes != 0 || st.PinnedAllocs != 0 {
		t.Errorf("%s: %d page-locked bytes in %d allocations still live", what, st.PinnedBytes, st.PinnedAllocs)
	}
	if want := base.Events - uint64(basePool) + uint64(pool); st.Events != want {
		t.Errorf("%s: %d events live, want %d (the engine's pool holds %d)", what, st.Events, want, pool)
	}
	if st.Streams != base.Streams || st.Modules != base.Modules || st.BLASHandles != base.BLASHandles || st.SolverHandles != base.SolverHandles || st.Context != base.Context {
		t.Errorf("%s: %d streams, %d modules, %d cuBLAS and %d cuSOLVER handles, %d contexts live, want %d, %d, %d, %d, %d",
			what, st.Streams, st.Modules, st.BLASHandles, st.SolverHandles, st.Context,
			base.Streams, base.Modules, base.BLASHandles, base.SolverHandles, base.Context)
	}
}

var basePool int

// TestFaultInjection fails, one at a time, every device allocation and every call (or, for
// runs of thousands of calls, a stride of them and the first and last of each C function and
// kernel) of a Score (leave-one-out and inner K-fold, float32 and float64, the brain data
// resident and streamed) and a Predict.
func TestFaultInjection(t *testing.T) {
	e := newTestEngine(t)
	faultHooks(t)
	n, nd, m := 40, 6, 120
	x, y := problem(n, nd, m, 11)
	xNew, _ := problem(7, nd, 1, 12)
	var runs []faultRun
	for _, inner := range []engine.Inner{{Mode: engine.LOO}, {Mode: engine.KFoldInner, K: 3}} {
		for _, p := range []engine.Precision{engine.Float32, engine.Float64} {
			for _, streamed := range []bool{false, true} {
				opts := options(t, n, func(o *engine.Options) {
					o.Inner, o.Precision, o.Alphas = inner, p, []float64{1, 100, 1e4}
				})
				where := "resident"
				if streamed {
					where = "streamed"
					// Y is two thirds of the budget, more than the half Open keeps resident: streamed,
					// in batches
					opts.MemoryLimit = int64(n*m) * map[engine.Precision]int64{engine.Float64: 8, engine.Float32: 4}[p] * 3 / 2
				}
				runs = append(runs, scoreRun(fmt.Sprintf("%s/%s/%s", inner, p, where), x, y, opts, streamed))
			}
		}
	}
	popts := options(t, n, func(o *engine.Options) { o.Folds, o.Alphas, o.Weights = nil, []float64{1, 100, 1e4}, true })
	runs = append(runs, faultRun{
		name: "predict",
		run: func(ctx context.Context, e *Engine) (any, error) {
			p, err := e.Predict(ctx, x, y, xNew, popts)
			if err != nil {
				// usable again: the same call without the fault
				if _, again := e.Predict(ctx, x, y, xNew, popts); again != nil {
					return nil, fmt.Errorf("%w; and again without the fault: %v", err, again)
				}
			}
			return p, err
		},
		same: samePrediction,
	})
	only := os.Getenv("FAULTS_ONLY")
	for _, r := range runs {
		if only != "" && !strings.Contains(r.name, only) {
			continue
		}
		t.Run(r.name, func(t *testing.T) {
			// the first run grows the engine's pool of events: the calls of the second are
			// those of every later run up to its fault
			if _, err := runGuarded(t, e, r, "off"); err != nil {
				t.Fatal(err)
			}
			onDevice(t, e, func(d *device) error { basePool = len(d.events); return nil })
			base := simState(t)
			want, err := runGuarded(t, e, r, "count")
			if err != nil {
				t.Fatal(err)
			}
			st := simState(t)
			calls := make([]string, st.Calls)
			for k := range calls {
				calls[k] = simCallName(uint64(k + 1))
			}
			checkReleased(t, e, "fault-free", base)
			specs := faultSpecs(calls, st.Allocs, 400)
			t.Logf("%d calls (%d distinct), %d allocations: %d faults", len(calls), distinct(calls), st.Allocs, len(specs))
			errs := map[string]string{}
			for _, spec := range specs {
				site := spec
				if k, ok := strings.CutPrefix(spec, "call:"); ok {
					site = calls[atoi(k)-1]
				} else if k, ok := strings.CutPrefix(spec, "oom:"); ok {
					site = "oom " + calls[atoi(k)-1]
				}
				got, err := runGuarded(t, e, r, spec)
				if err != nil {
					errs[site] = err.Error()
					if !strings.HasPrefix(err.Error(), "cuda engine:") && !strings.HasPrefix(err.Error(), "fold") {
						t.Errorf("%s (%s): %v: not the engine's error", spec, site, err)
					}
				} else if derr := r.same(got, want); derr != nil {
					t.Errorf("%s (%s): %v", spec, site, derr)
				}
				checkReleased(t, e, spec+" ("+site+")", base)
				if t.Failed() {
					t.FailNow()
				}
			}
			sites := make([]string, 0, len(errs))
			for s := range errs {
				sites = append(sites, s)
			}
			slices.Sort(sites)
			for _, s := range sites {
				t.Logf("%-40s %s", s, errs[s])
			}
		})
	}
}

func atoi(s string) int {
	var v int
	fmt.Sscan(s, &v)
	return v
}

func distinct(calls []string) int {
	seen := map[string]bool{}
	for _, c := range calls {
		seen[c] = true
	}
	return len(seen)
}

// scoreRun opens a session of y (streamed or resident, as required), scores x, and after a
// failed Score scores again on the same session without the fault, then closes the session.
func scoreRun(name string, x, y engine.Matrix, opts engine.Options, streamed bool) faultRun {
	return faultRun{
		name: name,
		run: func(ctx context.Context, e *Engine) (any, error) {
			s, err := e.Open(y, opts)
			if err != nil {
				return nil, err
			}
			defer s.Close()
			res, err := s.Score(ctx, x)
			if err != nil {
				if _, again := s.Score(ctx, x); again != nil {
					return nil, fmt.Errorf("%w; and again without the fault: %v", err, again)
				}
				return nil, err
			}
			return res, nil
		},
		same: func(got, want any) error {
			g, w := got.(*engine.Result), want.(*engine.Result)
			// a batch shrunk by an out-of-memory: other products, other sums (OpenBLAS's
			// blocking), the same numbers but for rounding
			tol := 1e-12
			if opts.Precision != engine.Float64 {
				tol = 1e-6
			}
			for k := range w.FoldScores {
				if d := math.Abs(g.FoldScores[k] - w.FoldScores[k]); !(d <= tol) || g.Alphas[k] != w.Alphas[k] {
					return fmt.Errorf("score %d: r %v penalty %g (%d batches), without the fault %v, %g (%d batches)",
						k, g.FoldScores[k], g.Alphas[k], g.Batches, w.FoldScores[k], w.Alphas[k], w.Batches)
				}
			}
			if !slices.Equal(g.Rank, w.Rank) || !slices.Equal(g.Dropped, w.Dropped) || g.Degenerate != w.Degenerate {
				return fmt.Errorf("ranks %v dropped %v degenerate %d, without the fault %v %v %d", g.Rank, g.Dropped, g.Degenerate, w.Rank, w.Dropped, w.Degenerate)
			}
			return nil
		},
	}
}

func samePrediction(got, want any) error {
	g, w := got.(*engine.Prediction), want.(*engine.Prediction)
	if !slices.Equal(g.Alphas, w.Alphas) || g.Rank != w.Rank {
		return fmt.Errorf("penalties %v rank %d, without the fault %v %d", g.Alphas, g.Rank, w.Alphas, w.Rank)
	}
	// other batches, other sums (OpenBLAS's blocking): float32's rounding
	tol := 1e-5
	differ := func(a, b float64) bool { return !(math.Abs(a-b) <= tol*max(math.Abs(b), 1)) }
	for i := 0; i < w.Rows; i++ {
		for j := 0; j < w.Targets; j++ {
			if a, b := g.Values.At(i, j), w.Values.At(i, j); differ(a, b) {
				return fmt.Errorf("prediction (%d, %d) %v, without the fault %v", i, j, a, b)
			}
		}
	}
	for i := 0; i < w.Weights.Rows; i++ {
		for j := 0; j < w.Weights.Cols; j++ {
			if a, b := g.Weights.At(i, j), w.Weights.At(i, j); differ(a, b) {
				return fmt.Errorf("weight (%d, %d) %v, without the fault %v", i, j, a, b)
			}
		}
	}
	for j, b := range w.Intercepts {
		if differ(g.Intercepts[j], b) {
			return fmt.Errorf("intercept %d %v, without the fault %v", j, g.Intercepts[j], b)
		}
	}
	return nil
}
