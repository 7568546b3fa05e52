//go:build cuda

package cuda

import (
	"cmp"
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

// faultRun is one run of the engine under test, with a fault armed. On an error it calls
// disarm and does what failed again (on the same session: it must be usable again) and returns
// what that computed, with the first error; what it computed is compared with the fault-free
// run's by same. It releases all it took.
type faultRun struct {
	name string
	run  func(ctx context.Context, e *Engine, disarm func()) (any, error)
	same func(got, want any) error
}

// againError is a run's error whose retry without the fault failed too.
type againError struct{ first, again error }

func (e againError) Error() string {
	return fmt.Sprintf("%v; and again without the fault: %v", e.first, e.again)
}
func (e againError) Unwrap() error { return e.first }

// faultSweep is how thorough a sweep is (FAULTS_SWEEP, else short with -short, else full).
type faultSweep struct {
	name string
	// most is about how many faults of each kind a run gets beyond its call sites: allocations
	// and a stride of the calls
	most int
	// sized: a call site tells apart the bytes a copy, memset or allocation moves (cudasim
	// names them: "cuMemAlloc (256 bytes)"), which reaches places that follow the same
	// function as another (the next matrix's upload, queued as a fold's row indices are)
	sized bool
	// reduced: the first occurrence of each call site only, failing with the library's generic
	// error (out of memory only for allocations), and from the first call of each function on
	// every call to the end; for the sweep under random stream schedules (scripts/cudasim.sh)
	reduced bool
}

var faultSweeps = map[string]faultSweep{
	"full":    {"full", 300, true, false},
	"short":   {"short", 120, false, false},
	"reduced": {"reduced", 8, true, true},
}

func sweepOf(t *testing.T) faultSweep {
	name := os.Getenv("FAULTS_SWEEP")
	if name == "" {
		name = "full"
		if testing.Short() {
			name = "short"
		}
	}
	sw, ok := faultSweeps[name]
	if !ok {
		t.Fatalf("FAULTS_SWEEP=%q: want full, short or reduced", name)
	}
	return sw
}

// faultSpecs returns the faults to inject into a run that made calls (their C names, in order)
// and allocs device allocations: the allocations failing as out of memory, all of them up to
// most, else the first most/2 (Open's and the first fold's: every kind of buffer) and a stride
// of the others; every call failing with its library's generic error and with its
// out-of-memory code, all of them when there are few, else with a stride plus the first and
// last call of every call site, roughly: every distinct name (a launch's names its kernel,
// with sw.sized a copy's its bytes) after every distinct name before it, so that every call
// site fails at least once; and from the first call of every function on, that call and the
// next (a failed product's handle made again) or every call to the end (a device that stays
// broken). A reduced sweep does less of each (faultSweep).
func faultSpecs(calls []string, allocs uint64, sw faultSweep) []string {
	var specs []string
	most := sw.most
	astride := max(1, (allocs-uint64(most/2))/uint64(max(1, most/2)))
	for k := uint64(1); k <= allocs; k++ {
		if allocs <= uint64(most) || k <= uint64(most/2) || k%astride == 0 {
			specs = append(specs, fmt.Sprintf("alloc:%d", k))
		}
	}
	// a call site, roughly: the C function after the one before (the same function called from
	// two places of the engine mostly follows different calls)
	pick := map[int]bool{}
	firstSite, lastSite := map[[2]string]int{}, map[[2]string]int{}
	first := map[string]int{}
	function := func(c string) string {
		fn, _, _ := strings.Cut(c, " (") // without the bytes it moves
		return fn
	}
	for i, c := range calls {
		site := [2]string{"", c}
		if i > 0 {
			site[0] = calls[i-1]
		}
		if !sw.sized {
			site = [2]string{function(site[0]), function(site[1])}
		}
		if _, ok := firstSite[site]; !ok {
			firstSite[site] = i
		}
		lastSite[site] = i
		if _, ok := first[function(c)]; !ok {
			first[function(c)] = i
		}
	}
	for _, i := range firstSite {
		pick[i] = true
	}
	for _, i := range lastSite {
		if !sw.reduced {
			pick[i] = true
		}
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
		specs = append(specs, fmt.Sprintf("call:%d", k))
		if !sw.reduced || strings.HasPrefix(calls[k-1], "cuMemAlloc") {
			specs = append(specs, fmt.Sprintf("oom:%d", k))
		}
	}
	firsts := make([]int, 0, len(first))
	for _, i := range first {
		firsts = append(firsts, i+1)
	}
	slices.Sort(firsts)
	for _, k := range firsts {
		if sw.reduced {
			specs = append(specs, fmt.Sprintf("call:%d-", k))
			continue
		}
		specs = append(specs, fmt.Sprintf("call:%d-%d", k, k+1), fmt.Sprintf("call:%d-", k), fmt.Sprintf("oom:%d-", k))
	}
	return specs
}

// faultSite is the C function a spec fails ("" for a run of calls, whose error may be any
// of theirs), with "oom " before it for an out-of-memory code.
func faultSite(spec string, calls []string) string {
	kind, ks, _ := strings.Cut(spec, ":")
	if kind == "alloc" {
		return "oom cuMemAlloc"
	}
	if strings.Contains(ks, "-") {
		return ""
	}
	site := calls[atoi(ks)-1]
	if kind == "oom" {
		site = "oom " + site
	}
	return site
}

// faultWords are what an error must say for a failed call of each C function (by prefix; one of
// the words between |): what failed, not only its code. A launch's names its kernel.
var faultWords = []struct{ call, word string }{
	{"cuMemAlloc", "allocating"},
	{"cuMemHostAlloc", "cuMemHostAlloc"},
	{"cuMemcpyHtoD", "host-to-device copy"},
	{"cuMemcpyDtoH", "device-to-host copy|reading"},
	{"cuMemcpyDtoD", "copy"},
	{"cuMemsetD32Async", "memset"},
	{"cuMemGetInfo", "free memory"},
	{"cuStreamSynchronize", "waiting for"},
	{"cuEventSynchronize", "waiting for"},
	{"cuEventRecord", "event"},
	{"cuEventCreate", "event"},
	{"cuEventElapsedTime", "event"},
	{"cuStreamWaitEvent", "stream wait"},
	{"cuStreamCreate", "stream"},
	{"cublasSgemm", "gemm"},
	{"cublasDgemm", "gemm"},
	{"cublasCreate", "cublasCreate"},
	{"cublasSetStream", "cublasSetStream"},
	{"cublasSetMathMode", "cublasSetMathMode"},
	{"cusolverDn", "cusolverDn"},
	{"cuModuleLoadData", "loading kernels"},
	{"cuModuleGetFunction", "kernel"},
	{"cuCtxCreate", "context"},
	{"cuDeviceGetCount", "counting devices"},
	{"cuDeviceGet", "device"},
}

// checkFaultError fails t unless err, from a fault of site (see faultSite), is the engine's and
// names what failed and the library's code.
func checkFaultError(t *testing.T, spec, site string, err error) {
	t.Helper()
	msg := err.Error()
	if !strings.HasPrefix(msg, "cuda engine:") && !strings.HasPrefix(msg, "fold ") {
		t.Errorf("%s (%s): %v: not the engine's error", spec, site, err)
	}
	if site == "" {
		return
	}
	call, oom := strings.CutPrefix(site, "oom ")
	code := []string{"Unknown", "ExecFailed", "EXECUTION_FAILED"}
	if oom {
		code = []string{"OutOfMemory", "AllocFailed", "ALLOC_FAILED"}
	}
	if !slices.ContainsFunc(code, func(c string) bool { return strings.Contains(msg, c) }) {
		t.Errorf("%s (%s): %v: the library's code (%s) not said", spec, site, err, strings.Join(code, ", "))
	}
	if k, ok := strings.CutPrefix(call, "cuLaunchKernel "); ok {
		if !strings.Contains(msg, "launching "+k) {
			t.Errorf("%s (%s): %v: does not say %q", spec, site, err, "launching "+k)
		}
		return
	}
	for _, w := range faultWords {
		if strings.HasPrefix(call, w.call) {
			says := func(word string) bool { return strings.Contains(strings.ToLower(msg), strings.ToLower(word)) }
			if !slices.ContainsFunc(strings.Split(w.word, "|"), says) {
				t.Errorf("%s (%s): %v: does not say %q", spec, site, err, w.word)
			}
			return
		}
	}
	t.Errorf("%s (%s): %v: no words expected of an error of %s (faultWords)", spec, site, err, call)
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
		v, err := r.run(ctx, e, func() { simFaults("off") })
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
// resident and streamed; float32 then TF32, which switches cuBLAS's math mode; a fresh
// engine's first), a Predict and New, and from the first call of each C function on, every
// call to the end.
func TestFaultInjection(t *testing.T) {
	e := newTestEngine(t)
	faultHooks(t)
	n, nd, m := 40, 6, 240
	x, y := problem(n, nd, m, 11)
	xNew, _ := problem(7, nd, 1, 12)
	alphas := []float64{1, 100, 1e4}
	var runs []faultRun
	for _, inner := range []engine.Inner{{Mode: engine.LOO}, {Mode: engine.KFoldInner, K: 3}} {
		for _, p := range []engine.Precision{engine.Float32, engine.Float64} {
			for _, streamed := range []bool{false, true} {
				opts := options(t, n, func(o *engine.Options) { o.Inner, o.Precision, o.Alphas = inner, p, alphas })
				where := "resident"
				if streamed {
					where = "streamed"
					// Y is two thirds of the budget, more than the half Open keeps resident: streamed,
					// in batches
					opts.MemoryLimit = int64(n*m) * map[engine.Precision]int64{engine.Float64: 8, engine.Float32: 4}[p] * 3 / 2
				}
				runs = append(runs, scoreRun(fmt.Sprintf("%s/%s/%s", inner, p, where), x, y, opts))
			}
		}
		f32 := options(t, n, func(o *engine.Options) { o.Inner, o.Alphas = inner, alphas })
		tf32 := options(t, n, func(o *engine.Options) { o.Inner, o.Precision, o.Alphas = inner, engine.TF32, alphas })
		runs = append(runs, scoreRun(fmt.Sprintf("%s/float32-then-tf32", inner), x, y, f32, tf32))
	}
	popts := options(t, n, func(o *engine.Options) { o.Folds, o.Alphas, o.Weights = nil, alphas, true })
	runs = append(runs, faultRun{
		name: "predict",
		run: func(ctx context.Context, e *Engine, disarm func()) (any, error) {
			p, err := e.Predict(ctx, x, y, xNew, popts)
			if err != nil {
				disarm()
				var again error
				if p, again = e.Predict(ctx, x, y, xNew, popts); again != nil {
					return nil, againError{err, again}
				}
			}
			return p, err
		},
		same: samePrediction,
	}, freshScoreRun("fresh-engine/loo/float32", x, y, options(t, n, func(o *engine.Options) { o.Alphas = alphas })), faultRun{
		name: "new",
		run: func(ctx context.Context, _ *Engine, disarm func()) (any, error) {
			e2, err := New(0)
			if err != nil {
				disarm()
				var again error
				if e2, again = New(0); again != nil {
					return nil, againError{err, again}
				}
			}
			name := e2.Name()
			e2.Close()
			return name, err
		},
		same: func(got, want any) error {
			if got != want {
				return fmt.Errorf("engine %v, without the fault %v", got, want)
			}
			return nil
		},
	})
	sweepFaults(t, e, runs)
}

// sweepFaults runs each of runs without a fault, counting its calls, then once with each fault
// of faultSpecs, and checks every outcome: no panic or hang, the fault-free numbers or an error
// that names what failed, nothing left live, and the session or engine usable again.
func sweepFaults(t *testing.T, e *Engine, runs []faultRun) {
	only := os.Getenv("FAULTS_ONLY") // a part of the runs' names, when looking into one
	sw := sweepOf(t)
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
			specs := faultSpecs(calls, st.Allocs, sw)
			t.Logf("%d calls (%d distinct), %d allocations: %d faults (%s sweep)", len(calls), distinct(calls), st.Allocs, len(specs), sw.name)
			if os.Getenv("FAULTS_DRY") != "" { // counting the faults only
				return
			}
			failed := 0
			for _, spec := range specs {
				site := faultSite(spec, calls)
				got, err := runGuarded(t, e, r, spec)
				if err != nil {
					failed++
					if testing.Verbose() {
						t.Logf("%-12s %-36s %v", spec, site, err)
					}
					checkFaultError(t, spec, site, err)
				}
				var again againError
				if errors.As(err, &again) {
					t.Errorf("%s (%s): not usable again: %v", spec, site, err)
				} else if derr := r.same(got, want); derr != nil {
					t.Errorf("%s (%s): %v", spec, site, derr)
				}
				checkReleased(t, e, spec+" ("+site+")", base)
				if t.Failed() {
					t.FailNow()
				}
			}
			t.Logf("%d faults gave an error, %d the numbers without the fault", failed, len(specs)-failed)
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

// scoreRun opens a session of y with each options in turn, scores x and closes it; after a
// failed Open or Score, it does it again without the fault (the same session for Score).
func scoreRun(name string, x, y engine.Matrix, opts ...engine.Options) faultRun {
	return faultRun{
		name: name,
		run: func(ctx context.Context, e *Engine, disarm func()) (any, error) {
			var first error
			var out []*engine.Result
			for _, o := range opts {
				s, err := e.Open(y, o)
				if err != nil {
					first = cmp.Or(first, err)
					disarm()
					if s, err = e.Open(y, o); err != nil {
						return nil, againError{first, err}
					}
				}
				res, err := s.Score(ctx, x)
				if err != nil {
					first = cmp.Or(first, err)
					disarm()
					if res, err = s.Score(ctx, x); err != nil {
						s.Close()
						return nil, againError{first, err}
					}
				}
				s.Close()
				out = append(out, res)
			}
			return out, first
		},
		same: func(got, want any) error { return sameResults(got.([]*engine.Result), want.([]*engine.Result), opts) },
	}
}

// freshScoreRun starts an engine, opens a session of y and scores x, and closes both: the
// engine's first Score, which grows its pool of timing events (every other run's faults come
// after a fault-free run has grown the pool). A failed New, Open or Score is done again without
// the fault (the same engine and session).
func freshScoreRun(name string, x, y engine.Matrix, opts engine.Options) faultRun {
	return faultRun{
		name: name,
		run: func(ctx context.Context, _ *Engine, disarm func()) (any, error) {
			st := &steps{disarm: disarm}
			var e *Engine
			if err := st.do(func() (err error) { e, err = New(0); return err }); err != nil {
				return nil, err
			}
			defer e.Close()
			var s engine.Session
			if err := st.do(func() (err error) { s, err = e.Open(y, opts); return err }); err != nil {
				return nil, err
			}
			defer s.Close()
			var res *engine.Result
			if err := st.do(func() (err error) { res, err = s.Score(ctx, x); return err }); err != nil {
				return nil, err
			}
			return []*engine.Result{res}, st.first
		},
		same: func(got, want any) error {
			return sameResults(got.([]*engine.Result), want.([]*engine.Result), []engine.Options{opts})
		},
	}
}

// sameResults compares the results of Score calls with those of the fault-free run, the i-th
// scored with opts[i].
func sameResults(got, want []*engine.Result, opts []engine.Options) error {
	for i, w := range want {
		g := got[i]
		// a batch shrunk by an out-of-memory, or streamed brain data: other products, other
		// sums (OpenBLAS's blocking), the same numbers but for rounding
		tol := 1e-12
		if opts[i].Precision != engine.Float64 {
			tol = 1e-6
		}
		for k := range w.FoldScores {
			if d := math.Abs(g.FoldScores[k] - w.FoldScores[k]); !(d <= tol) || g.Alphas[k] != w.Alphas[k] {
				return fmt.Errorf("Score %d (%s): score %d: r %v penalty %g (%d batches), without the fault %v, %g (%d batches)",
					i+1, opts[i].Precision, k, g.FoldScores[k], g.Alphas[k], g.Batches, w.FoldScores[k], w.Alphas[k], w.Batches)
			}
		}
		if !slices.Equal(g.Rank, w.Rank) || !slices.Equal(g.Dropped, w.Dropped) || g.Degenerate != w.Degenerate {
			return fmt.Errorf("Score %d (%s): ranks %v dropped %v degenerate %d, without the fault %v %v %d",
				i+1, opts[i].Precision, g.Rank, g.Dropped, g.Degenerate, w.Rank, w.Dropped, w.Degenerate)
		}
	}
	return nil
}

func samePrediction(got, want any) error {
	g, w := got.(*engine.Prediction), want.(*engine.Prediction)
	if !slices.Equal(g.Alphas, w.Alphas) || g.Rank != w.Rank {
		return fmt.Errorf("penalties %v rank %d, without the fault %v %d", g.Alphas, g.Rank, w.Alphas, w.Rank)
	}
	// other batches, other sums (OpenBLAS's blocking): float32's rounding
	const tol = 1e-5
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
