package fallback

import (
	"context"
	"fmt"
	"time"
	"unsafe"

	"github.com/brainalign/brainalign/engine"
)

// runner scores one activation matrix in precision T (the precision of the large products).
type runner[T float] struct {
	ctx  context.Context
	s    *session
	x    engine.Matrix
	res  *engine.Result
	degn []bool // folds x m: (fold, target) scored 0 for zero variance
	tm   *engine.Timings
	done int
	work int
}

// split is one training split prepared for the products: its float64 decomposition and the
// precision-T copies of U, U^T and P.
type split[T float] struct {
	dec      *decomposition
	u, ut, p []T
	trainPos []int // rows of the split, as positions in the outer training fold (inner splits)
	valPos   []int
}

func newSplit[T float](dec *decomposition) *split[T] {
	return &split[T]{
		dec: dec,
		u:   convert[T](dec.u),
		ut:  convert[T](transpose(dec.ntr, dec.r, dec.u)),
		p:   convert[T](dec.p),
	}
}

// batch is a block of targets staged for one outer fold.
type batch[T float] struct {
	c0, mb int
	yc     []T // ntr x mb: training targets centred by their training means (constant ones: 0)
	z      []T // r x mb: U^T yc
}

func run[T float](ctx context.Context, s *session, x engine.Matrix) (*engine.Result, error) {
	opts := s.opts
	m, k := s.y.Cols, len(opts.Folds)
	res := engine.NewResult(m, k)
	r := &runner[T]{ctx: ctx, s: s, x: x, res: res, degn: make([]bool, k*m), tm: &res.Timings}
	for f := range opts.Folds {
		if err := r.fold(f); err != nil {
			return nil, err
		}
	}
	res.Finish(r.degn)
	return res, nil
}

func (r *runner[T]) since(t0 time.Time, d *time.Duration) time.Time {
	now := time.Now()
	*d += now.Sub(t0)
	return now
}

// fold runs outer fold f: decompositions, then target batches.
func (r *runner[T]) fold(f int) error {
	opts := r.s.opts
	fold := opts.Folds[f]
	intercept := !opts.NoIntercept
	t0 := time.Now()
	dec, err := decompose(r.x, fold.Train, fold.Test, intercept)
	if err != nil {
		return fmt.Errorf("fold %d: %w", f, err)
	}
	r.res.Rank[f], r.res.Dropped[f] = dec.r, dec.dropped
	outer := newSplit[T](dec)
	var inner []*split[T]
	if opts.Inner.Mode == engine.KFoldInner {
		ifolds, err := engine.KFold(len(fold.Train), opts.Inner.K)
		if err != nil {
			return fmt.Errorf("fold %d: inner %w", f, err)
		}
		for _, in := range ifolds {
			d, err := decompose(r.x, pick(fold.Train, in.Train), pick(fold.Train, in.Test), intercept)
			if err != nil {
				return fmt.Errorf("fold %d: inner split: %w", f, err)
			}
			sp := newSplit[T](d)
			sp.trainPos, sp.valPos = in.Train, in.Test
			inner = append(inner, sp)
		}
	}
	r.since(t0, &r.tm.Decompose)

	m, A := r.s.y.Cols, len(opts.Alphas)
	bs, err := r.batchSize(outer, inner)
	if err != nil {
		return fmt.Errorf("fold %d: %w", f, err)
	}
	nb := (m + bs - 1) / bs
	r.res.Batches = max(r.res.Batches, nb)
	if r.work == 0 {
		r.work = len(opts.Folds) * nb
	}

	var shared []float64 // A x m criteria, shared-penalty mode
	var kept *batch[T]   // the only batch, kept between the two passes of shared mode
	if opts.SharedAlpha {
		shared = make([]float64, A*m)
	}
	for c0 := 0; c0 < m; c0 += bs {
		if err := r.ctx.Err(); err != nil {
			return err
		}
		b := r.stage(fold.Train, outer, c0, min(c0+bs, m))
		crit := r.criteria(outer, inner, b, fold.Train)
		if !opts.SharedAlpha {
			r.refitAndScore(f, outer, b, argminPerTarget(crit, A, b.mb))
			r.progress()
			continue
		}
		for a := 0; a < A; a++ {
			copy(shared[a*m+c0:a*m+c0+b.mb], crit[a*b.mb:(a+1)*b.mb])
		}
		if nb == 1 {
			kept = b
		}
	}
	if !opts.SharedAlpha {
		return nil
	}
	// One penalty for all targets: the smallest criterion summed over targets (first wins ties).
	best, bestVal := 0, 0.0
	for a := 0; a < A; a++ {
		sum := 0.0
		for _, v := range shared[a*m : (a+1)*m] {
			sum += v
		}
		if a == 0 || sum < bestVal {
			best, bestVal = a, sum
		}
	}
	for c0 := 0; c0 < m; c0 += bs {
		if err := r.ctx.Err(); err != nil {
			return err
		}
		b := kept
		if b == nil {
			b = r.stage(fold.Train, outer, c0, min(c0+bs, m))
		}
		idx := make([]int, b.mb)
		for t := range idx {
			idx[t] = best
		}
		r.refitAndScore(f, outer, b, idx)
		r.progress()
	}
	return nil
}

func (r *runner[T]) progress() {
	r.done++
	if p := r.s.opts.Progress; p != nil {
		p(r.done, r.work)
	}
}

// pick returns idx[pos] for each position.
func pick(idx, pos []int) []int {
	out := make([]int, len(pos))
	for i, p := range pos {
		out[i] = idx[p]
	}
	return out
}

// batchSize sizes target batches so the working set stays under the memory limit.
func (r *runner[T]) batchSize(outer *split[T], inner []*split[T]) (int, error) {
	opts := r.s.opts
	var zero T
	es := int64(unsafe.Sizeof(zero))
	d := outer.dec
	ntr, nte, rk := int64(d.ntr), int64(d.nte), int64(d.r)
	A := int64(len(opts.Alphas))
	fixed := d.bytes() + es*(2*ntr*rk+nte*rk)
	perCol := es*(2*ntr+2*rk+nte) + 8*(nte+A+8)
	for _, sp := range inner {
		fixed += sp.dec.bytes() + es*(2*int64(sp.dec.ntr)*int64(sp.dec.r)+int64(sp.dec.nte*sp.dec.r))
		perCol += es * int64(sp.dec.ntr+2*sp.dec.r+2*sp.dec.nte)
	}
	m := int64(r.s.y.Cols)
	if opts.SharedAlpha {
		fixed += 8 * A * m
	}
	limit := opts.MemoryLimit
	if limit == 0 {
		limit = defaultMemoryLimit()
	}
	bs := (limit - fixed) / perCol
	if bs < 1 {
		return 0, fmt.Errorf("%w: memory limit %s is below the %s one fold needs (decomposition %s + one target)",
			engine.ErrOutOfMemory, formatBytes(limit), formatBytes(fixed+perCol), formatBytes(fixed))
	}
	bs = min(bs, m)
	if opts.MaxBatch > 0 {
		bs = min(bs, int64(opts.MaxBatch))
	}
	return int(bs), nil
}

// stage gathers targets [c0, c1) on the training rows, centres them by their training means
// (when the model has an intercept) and computes Z = U^T Yc. Centring happens before any
// conversion to float32, so large offsets in float64 data do not cost float32 precision.
func (r *runner[T]) stage(train []int, sp *split[T], c0, c1 int) *batch[T] {
	t0 := time.Now()
	ntr, mb := len(train), c1-c0
	b := &batch[T]{c0: c0, mb: mb, yc: make([]T, ntr*mb)}
	if _, is32 := any(b.yc).([]float32); is32 && r.s.y.Is64() {
		y64 := make([]float64, ntr*mb)
		r.s.y.GatherCols64(train, c0, c1, y64)
		r.centre(y64, ntr, mb)
		for k, v := range y64 {
			b.yc[k] = T(v)
		}
	} else {
		gather(r.s.y, train, c0, c1, b.yc)
		r.centre(b.yc, ntr, mb)
	}
	t0 = r.since(t0, &r.tm.Transfer)
	b.z = make([]T, sp.dec.r*mb)
	mul(sp.dec.r, mb, ntr, sp.ut, b.yc, 0, b.z)
	r.res.Flops += 2 * float64(ntr) * float64(sp.dec.r) * float64(mb)
	r.since(t0, &r.tm.Products)
	return b
}

// centre subtracts each column's mean (with an intercept) from the rows x cols matrix y and
// sets constant columns to exactly zero: a constant target then gets zero
// coefficients and a constant prediction, whatever the rounding of its mean.
func (r *runner[T]) centre(y any, rows, cols int) {
	switch y := y.(type) {
	case []float32:
		centreCols(y, rows, cols, !r.s.opts.NoIntercept)
	case []float64:
		centreCols(y, rows, cols, !r.s.opts.NoIntercept)
	}
}

func centreCols[V float](y []V, rows, cols int, intercept bool) {
	parallelFor(cols, func(_, lo, hi int) {
		for t := lo; t < hi; t++ {
			sum, first, same := 0.0, y[t], true
			for i := 0; i < rows; i++ {
				v := y[i*cols+t]
				sum += float64(v)
				same = same && v == first
			}
			if same {
				if intercept || first == 0 {
					for i := 0; i < rows; i++ {
						y[i*cols+t] = 0
					}
				}
				continue
			}
			if intercept {
				mean := sum / float64(rows)
				for i := 0; i < rows; i++ {
					y[i*cols+t] = V(float64(y[i*cols+t]) - mean)
				}
			}
		}
	})
}

// gather copies y[rows, c0:c1] into dst in precision T.
func gather[T float](y engine.Matrix, rows []int, c0, c1 int, dst []T) {
	switch d := any(dst).(type) {
	case []float32:
		y.GatherCols32(rows, c0, c1, d)
	case []float64:
		y.GatherCols64(rows, c0, c1, d)
	}
}

// argminPerTarget returns, per target, the index of the smallest criterion over penalties
// (crit is A x mb); strict < keeps the first penalty on ties.
func argminPerTarget(crit []float64, A, mb int) []int {
	idx := make([]int, mb)
	for t := 0; t < mb; t++ {
		best := crit[t]
		for a := 1; a < A; a++ {
			if v := crit[a*mb+t]; v < best {
				best, idx[t] = v, a
			}
		}
	}
	return idx
}
