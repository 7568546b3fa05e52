//go:build cuda

package cuda

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"gorgonia.org/cu"

	"github.com/brainalign/brainalign/engine"
)

func init() {
	engine.Register("cuda", func(dev int) (engine.Engine, error) { return New(dev) })
}

// Engine is the CUDA engine on one device. Sessions on one engine run one Score at a time.
type Engine struct {
	mu     sync.Mutex
	dev    *device
	name   string
	ord    int
	holder *session // the session holding work prepared for its next Score, if any

	predictHook func(*session) // testing hook: called with the session Predict opens
}

var _ engine.Engine = (*Engine)(nil)

// New opens device ord (0 for the first GPU).
func New(ord int) (*Engine, error) {
	if ord < 0 {
		return nil, fmt.Errorf("cuda engine: device index %d < 0", ord)
	}
	d, err := newDevice(ord)
	if err != nil {
		return nil, err
	}
	return &Engine{dev: d, name: d.name, ord: ord}, nil
}

// dropHeld releases the work another session than s prepared for its next Score (e.mu held).
func (e *Engine) dropHeld(s *session) {
	if h := e.holder; h != nil && h != s {
		e.dev.do(func() error { h.dropAhead(); return nil })
	}
}

// Name implements engine.Engine: "cuda:N (device name)".
func (e *Engine) Name() string { return e.name }

// Close implements engine.Engine; it releases the device (open sessions become unusable).
func (e *Engine) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.dev != nil {
		e.dev.close()
		e.dev = nil
	}
	return nil
}

// Open implements engine.Engine: it validates y and the options and uploads y to the device,
// where it stays for the session's Score calls, unless it would take more than half of the
// memory available to the engine; then it stays on the host and is uploaded batch by batch (as
// it is from the first Score that runs out of memory beside it: see score).
func (e *Engine) Open(y engine.Matrix, opts engine.Options) (engine.Session, error) {
	if err := engine.CheckBrain(y, opts); err != nil {
		return nil, err
	}
	return e.open(y, opts, 0)
}

// open is Open after the checks (Predict's fold has test rows of another matrix than y's);
// reserve is device memory the session's work will need beyond what Score's budgeting sees
// (Predict's new stimuli), taken off the budget before y is placed.
func (e *Engine) open(y engine.Matrix, opts engine.Options, reserve int64) (*session, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.dev == nil {
		return nil, fmt.Errorf("cuda engine: closed")
	}
	s := &session{e: e, y: y, opts: opts, t: f32}
	e.dropHeld(s)
	if opts.Precision == engine.Float64 {
		s.t = f64
	}
	if s.t == f32 && !opts.NoIntercept {
		// Data held in float32: take each column's median off first (in float64), so large
		// offsets in float64 data do not cost float32 precision (see columnShift).
		s.shift = columnShift(y)
	}
	err := e.dev.do(func() error {
		e.dev.limit = opts.MemoryLimit
		budget := e.dev.freeMem() * 9 / 10
		if opts.MemoryLimit > 0 {
			budget = min(budget, opts.MemoryLimit-e.dev.used)
		}
		budget -= reserve
		bytes := int64(y.Rows) * int64(y.Cols) * s.t.size()
		if bytes > budget/2 {
			return nil // streamed from the host
		}
		p, err := e.dev.alloc(bytes)
		if err != nil {
			return nil // streamed after all
		}
		host := stageAll(y, s.t, s.shift)
		if err := uploadAny(p, host, e.dev.compute); err != nil {
			e.dev.free(p)
			return err
		}
		if err := e.dev.compute.Synchronize(); err != nil {
			e.dev.free(p)
			return fmt.Errorf("cuda engine: waiting for the upload of the brain data: %w", err)
		}
		s.dy = p
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// session holds the brain data, resident on the device (dy != 0) or on the host.
type session struct {
	e    *Engine
	y    engine.Matrix
	opts engine.Options
	t    dtype
	dy   cu.DevicePtr // n x m row-major (column-major m x n, ld m) in precision t; 0: streamed
	// shift, when not nil, is subtracted from each column of y (in float64) before its
	// conversion to float32 for the device, resident or streamed: see columnShift.
	shift  []float64
	closed bool
	// streamed: the host staging buffers of the target batches in page-locked memory, kept
	// from one Score to the next (pinned.go); none where the driver refused them
	staging [2]pinnedBuf

	// The matrix announced by Prepare (engine.Preparer; set from any goroutine) and the number
	// of withdrawals (Prepare(Matrix{})); on the context thread, the factorisation of an
	// announced matrix's first fold, done during the previous Score (ahead.go).
	prepMu      sync.Mutex
	prepared    engine.Matrix
	withdrawals int
	ahead       *factoring

	// testing hooks: the next Score's first failAllocs batch allocations fail as out of memory;
	// its failStage-th target batch fails as out of memory in a library (cuBLAS's workspace),
	// and so do the failRepeat batches after it
	failAllocs int
	failStage  int
	failRepeat int
	noOverlap  bool // each fold factorised when it comes, none alongside the fold before

	overlapsDropped int // next-fold factorisations given up (or not started) for memory
	lookaheads      int // Score calls that started from a factorisation prepared ahead
	// Score calls that ran out of device memory beside the resident brain data and ran again
	// with it streamed (at most 1: the session streams from then on)
	residencyDropped int
}

var _ engine.Preparer = (*session)(nil)

// stream frees the resident brain data: batches are uploaded from the host from now on (on the
// context thread).
func (s *session) stream() {
	if s.dy == 0 {
		return
	}
	s.e.dev.free(s.dy)
	s.dy = 0
	s.residencyDropped++
}

// Resident reports whether the brain data lives on the device (false: streamed from the host).
func (s *session) Resident() bool { return s.dy != 0 }

// Close implements engine.Session.
func (s *session) Close() error {
	s.Prepare(engine.Matrix{})
	s.e.mu.Lock()
	defer s.e.mu.Unlock()
	if s.closed || s.e.dev == nil {
		return nil
	}
	s.closed = true
	return s.e.dev.do(func() error {
		s.dropAhead()
		s.e.dev.free(s.dy)
		s.dy = 0
		s.releaseStaging()
		return nil
	})
}

// Score implements engine.Session.
func (s *session) Score(ctx context.Context, x engine.Matrix) (*engine.Result, error) {
	start := time.Now()
	s.forgetPrepared(x) // being scored now, not next
	if err := engine.CheckActivations(x, s.y.Rows, s.opts.Precision); err != nil {
		return nil, err
	}
	return s.score(ctx, x, nil, start)
}

// score is Score after the checks (begun at start); with pred (Predict), the outer fold's test
// rows are predicted into it rather than scored.
func (s *session) score(ctx context.Context, x engine.Matrix, pred *prediction, start time.Time) (*engine.Result, error) {
	s.e.mu.Lock()
	defer s.e.mu.Unlock()
	if s.closed || s.e.dev == nil {
		return nil, fmt.Errorf("cuda engine: session closed")
	}
	s.e.dropHeld(s)
	var res *engine.Result
	err := s.e.dev.do(func() error {
		d := s.e.dev
		d.limit = s.opts.MemoryLimit
		defer func() { d.failAllocs = 0 }()
		if d.blas == nil {
			// a failed product's handle could not be made again then (resetBLAS): now
			if err := d.resetBLAS(); err != nil {
				return err
			}
		}
		if err := d.setTF32(s.opts.Precision == engine.TF32); err != nil {
			return err
		}
		r := &runner{ctx: ctx, s: s, d: d, x: x, pred: pred}
		var err error
		res, err = r.run()
		if err != nil && s.dy != 0 && errors.Is(err, engine.ErrOutOfMemory) {
			// The placement at Open cannot see the activations: a wide matrix's decomposition
			// (or a library's workspace) may not fit beside the resident brain data where it
			// fits beside streamed batches. The failed run has freed all it held; the session
			// streams from now on (once: later Scores do not fail first), and this Score runs
			// again from the start, with the numbers of a session streamed from Open. Progress
			// goes on from where the failed run left it, so it never goes back.
			s.stream()
			if pred != nil {
				pred.err = nil
			}
			r = &runner{ctx: ctx, s: s, d: d, x: x, pred: pred, done: r.done}
			res, err = r.run()
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	res.Engine = s.e.name
	res.Precision = s.opts.Precision
	res.Timings.Total = time.Since(start)
	return res, nil
}

// columnShift returns, per column of y, the value the device copy subtracts before converting
// to float32: the column's median over the rows engine.CentreRows picks (all rows up to 64), or
// for a column constant there its value (so that a constant column becomes exact zeros). With an
// intercept every result is invariant to a per-column shift of Y: each fold's training targets
// are centred by their own means on the device, the LOO/GCV/k-fold criteria read only those
// centred targets, and Pearson r against the held-out rows is shift-invariant. Without the
// shift, float32 would round raw float64 values (e.g. around 1e4, varying by ~1) before
// centring, where the CPU engine centres each fold's training rows in float64 first. A median,
// not the mean over all rows: one row of the brain data 1e9 times the others (an artefact)
// moved the mean 1e7 from every other row, whose digits float32 then lost to the offset on the
// folds that do not train on it (|r| off scikit-learn's by 0.43, constant predictions scored 0;
// the CPU engine's were right). float32 input is shifted too (in float64, then rounded): the
// same values given as float32 or float64 then reach the device identically, as they reach the
// CPU engine's products. Not used without an intercept (the fit is not shift-invariant there)
// nor in float64 precision.
func columnShift(y engine.Matrix) []float64 {
	if y.F64 != nil {
		return colShift(y.F64, y.Rows, y.Cols, y.ColMajor)
	}
	return colShift(y.F32, y.Rows, y.Cols, y.ColMajor)
}

func colShift[V float32 | float64](a []V, n, m int, colMajor bool) []float64 {
	rows := engine.CentreRows(n)
	k := len(rows)
	shift := make([]float64, m)
	// a block of columns at a time, so that row-major data is read a row's segment at a time
	const block = 256
	buf := make([]float64, block*k)
	for c0 := 0; c0 < m; c0 += block {
		c1 := min(m, c0+block)
		for s, i := range rows {
			for j := c0; j < c1; j++ {
				v := a[i*m+j]
				if colMajor {
					v = a[j*n+i]
				}
				buf[(j-c0)*k+s] = float64(v)
			}
		}
		for j := c0; j < c1; j++ {
			shift[j] = engine.Median(buf[(j-c0)*k : (j-c0+1)*k])
		}
	}
	return shift
}

// gatherShifted32 is engine.Matrix.GatherCols32 with shift[j] subtracted from column j in
// float64 before the conversion to float32.
func gatherShifted32(y engine.Matrix, rows []int, c0, c1 int, shift []float64, dst []float32) {
	if y.F64 != nil {
		gatherShifted(y.F64, y.Rows, y.Cols, y.ColMajor, rows, c0, c1, shift, dst)
	} else {
		gatherShifted(y.F32, y.Rows, y.Cols, y.ColMajor, rows, c0, c1, shift, dst)
	}
}

func gatherShifted[V float32 | float64](a []V, n, m int, colMajor bool, rows []int, c0, c1 int, shift []float64, dst []float32) {
	w := c1 - c0
	if colMajor {
		for j := c0; j < c1; j++ {
			col, sh := a[j*n:(j+1)*n], shift[j]
			for r, i := range rows {
				dst[r*w+j-c0] = float32(float64(col[i]) - sh)
			}
		}
		return
	}
	sh := shift[c0:c1]
	for r, i := range rows {
		src := a[i*m+c0 : i*m+c1]
		out := dst[r*w : (r+1)*w]
		for j, v := range src {
			out[j] = float32(float64(v) - sh[j])
		}
	}
}

// stageAll returns y as one row-major host slice in precision t (no copy when it already is),
// shifted by shift (see stageCols).
func stageAll(y engine.Matrix, t dtype, shift []float64) any {
	return stageCols(y, everyRow(y.Rows), 0, y.Cols, t, shift, nil)
}

// everyRow is the row indices 0..n-1, for the gathers that take every row.
func everyRow(n int) []int {
	rows := make([]int, n)
	for i := range rows {
		rows[i] = i
	}
	return rows
}

// stageCols gathers columns [c0, c1) of y's rows into a row-major host slice in precision t,
// reusing buf when it is large enough; whole row-major matrices of the right type are used in
// place. With a shift (float32 t only), shift[j] is subtracted from column j in float64 before
// the conversion (never in place).
func stageCols(y engine.Matrix, rows []int, c0, c1 int, t dtype, shift []float64, buf any) any {
	w := c1 - c0
	if inPlace(y, rows, c0, c1, t, shift) {
		if t == f32 {
			return y.F32
		}
		return y.F64
	}
	if t == f32 {
		b, _ := buf.([]float32)
		if cap(b) < len(rows)*w {
			b = make([]float32, len(rows)*w)
		}
		b = b[:len(rows)*w]
		if shift != nil {
			gatherShifted32(y, rows, c0, c1, shift, b)
		} else {
			y.GatherCols32(rows, c0, c1, b)
		}
		return b
	}
	b, _ := buf.([]float64)
	if cap(b) < len(rows)*w {
		b = make([]float64, len(rows)*w)
	}
	b = b[:len(rows)*w]
	y.GatherCols64(rows, c0, c1, b)
	return b
}

// inPlace reports whether stageCols returns y's own data: a whole row-major matrix of type t,
// unshifted.
func inPlace(y engine.Matrix, rows []int, c0, c1 int, t dtype, shift []float64) bool {
	if y.ColMajor || c0 != 0 || c1 != y.Cols || len(rows) != y.Rows {
		return false
	}
	if t == f32 {
		return y.F32 != nil && shift == nil
	}
	return y.F64 != nil
}

func uploadAny(dst cu.DevicePtr, src any, s cu.Stream) error {
	switch v := src.(type) {
	case []float32:
		return upload(dst, v, s)
	case []float64:
		return upload(dst, v, s)
	case []int32:
		return upload(dst, v, s)
	}
	return fmt.Errorf("cuda engine: upload of %T", src)
}
