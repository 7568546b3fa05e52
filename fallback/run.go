package fallback

import (
	"context"
	"fmt"
	"math"
	"time"
	"unsafe"

	"github.com/brainalign/brainalign/engine"
)

// runner scores one activation matrix in precision T (the precision of the large products).
type runner[T float] struct {
	ctx context.Context
	s   *session
	x   engine.Matrix
	// xNew, when set (Predict), holds the outer fold's test rows: the new stimuli, fitted on
	// every row of x. Otherwise test rows are rows of x.
	xNew engine.Matrix
	pred *prediction // Predict's output, filled batch by batch (nil when scoring)
	res  *engine.Result
	degn []bool // folds x m: (fold, target) scored 0 for zero variance
	tm   *engine.Timings
	done int
	work int
	pre  []*foldSplits[T] // decompositions started ahead, or nil
	// preBytes is the memory the decompositions started ahead hold together (an estimate), which
	// target batches must leave room for; with Predict's output, kept to the end.
	preBytes int64
	// decPack: the packing buffers of the decompositions started ahead, or of one decomposition
	// when they run one at a time (counted beside preBytes in every batch plan)
	decPack packUse

	// Working buffers reused across batches and folds, by role: fresh 100 MB allocations per
	// batch cost page faults and garbage-collector work comparable to the products they feed.
	bufT  map[string][]T
	buf64 map[string][]float64
}

// scratch returns the buffer for a role, of length n (contents undefined).
func scratch[V any](m map[string][]V, role string, n int) []V {
	if b := m[role]; cap(b) >= n {
		return b[:n]
	}
	b := make([]V, n)
	m[role] = b
	return b
}

func (r *runner[T]) bufferT(role string, n int) []T        { return scratch(r.bufT, role, n) }
func (r *runner[T]) buffer64(role string, n int) []float64 { return scratch(r.buf64, role, n) }

// split is one training split prepared for the products: its float64 decomposition and the
// precision-T copies of U, U^T and P.
type split[T float] struct {
	dec      *decomposition
	u, ut, p []T
	pscale   float64 // p is dec.p times pscale (a power of two; 1 for inner splits)
	uc, uct  []T     // the complement of U (decomposition.complete), ntr x nc and nc x ntr
	v        []T     // dec.v (Predict's weights), d x r
	// inner splits: the split's training and validation rows of the brain data (not positions
	// in the outer training fold: see kfold)
	trainRows, valRows []int

	// pmean: an outer split's dec.p column centres over the held-out rows (medians), taken off
	// p before the conversion (so p is (dec.p - pmean) pscale); nil for inner splits
	pmean []float64
}

// newSplit converts dec for the products. An outer split's P only ever feeds the held-out
// prediction, whose Pearson r ignores a shift and its scale. Its columns are centred on the
// held-out rows, by their medians (engine.CentreRows, in float64; the predictions in the data's
// units add the shift back, see heldOutBase): held-out rows far from the training rows' mean
// (a fixed test set of other images; a training row of huge activations, which moves the
// mean), whose projections share an offset many times their spread, lost that spread to
// float32's rounding of the offset (|r| off by 0.005 with a test set offset by 1e5 times its
// spread, by 0.7 beside a training row 1e12 times the others). Then a power of two brings it to
// unit size (engine.UnitScale), so that tiny features do not underflow float32 predictions. An
// inner split's P is centred alike (centre) when its predictions are scored by Pearson r (not
// centred, an inner K-fold's validation blocks of activations 1e5 from the others' moved |r| by
// 0.02 through the penalties picked); scored by R², which reads the predictions themselves, it
// stays as it is.
func newSplit[T float](dec *decomposition, outer, centre bool) *split[T] {
	p, pscale := dec.p, 1.0
	var pmean []float64
	if outer || centre {
		// in place: dec.p has no other reader
		pmean = make([]float64, dec.r)
		rows := engine.CentreRows(dec.nte)
		at := make([]float64, len(rows))
		for j := range pmean {
			for k, i := range rows {
				at[k] = p[i*dec.r+j]
			}
			pmean[j] = engine.Median(at)
		}
		shiftRows(p, nil, dec.r, pmean, nil)
		if outer {
			pscale = engine.ScaleToUnit(p)
		} else {
			pmean = nil // an inner split's predictions are never given in the data's units
		}
	}
	defer func() { dec.p = nil }() // converted below; as many rows as the new stimuli in Predict
	return &split[T]{
		dec:    dec,
		pscale: pscale,
		pmean:  pmean,
		u:      convert[T](dec.u),
		ut:     convert[T](transpose(dec.ntr, dec.r, dec.u)),
		p:      convert[T](p),
		uc:     convert[T](dec.uc),
		uct:    convert[T](transpose(dec.ntr, dec.nc, dec.uc)),
		v:      convert[T](dec.v),
	}
}

// batch is a block of targets staged for one outer fold.
type batch[T float] struct {
	c0, mb int
	mu     []float64 // mb: the training means taken out of yc (0 without an intercept)
	yc     []T       // ntr x mb: training targets centred by their training means (constant ones: 0)
	z      []T       // r x mb: U^T yc
	zc     []T       // nc x mb: uc^T yc (complete decompositions, leave-one-out and GCV)
}

func run[T float](ctx context.Context, s *session, x engine.Matrix) (*engine.Result, error) {
	opts := s.opts
	m, k := s.y.Cols, len(opts.Folds)
	res := engine.NewResult(m, k)
	r := &runner[T]{ctx: ctx, s: s, x: x, res: res, degn: make([]bool, k*m), tm: &res.Timings,
		bufT: map[string][]T{}, buf64: map[string][]float64{}}
	kept := int64(0)
	if opts.KeepPredictions {
		kept = int64(s.y.Rows) * int64(m) * 8
	}
	if err := r.checkFits(kept, fmt.Sprintf("the held-out predictions kept (%d rows x %d targets)", s.y.Rows, m), ""); err != nil {
		return nil, err
	}
	if opts.KeepPredictions {
		r.keepPredictions()
	}
	r.pre = r.prefetch()
	r.preBytes += kept
	for f := range opts.Folds {
		if err := r.fold(f); err != nil {
			r.drain()
			return nil, err
		}
	}
	res.Finish(r.degn)
	return res, nil
}

// keepPredictions allocates Result.Predictions (NaN for rows no fold holds out).
func (r *runner[T]) keepPredictions() {
	n, m := r.s.y.Rows, r.s.y.Cols
	p := engine.Matrix{Rows: n, Cols: m, F64: make([]float64, n*m)}
	for i := range p.F64 {
		p.F64[i] = math.NaN()
	}
	r.res.Predictions = p
}

// drain waits for decompositions still running after an error, so none outlives Score.
func (r *runner[T]) drain() {
	for _, fs := range r.pre {
		if fs != nil {
			<-fs.done
		}
	}
}

func (r *runner[T]) since(t0 time.Time, d *time.Duration) time.Time {
	now := time.Now()
	*d += now.Sub(t0)
	return now
}

// foldSplits are the decompositions one outer fold needs: its training split and, for an inner
// k-fold, the inner splits.
type foldSplits[T float] struct {
	outer *split[T]
	inner []*split[T]
	err   error
	done  chan struct{}
}

// decomposeFold factorises outer fold f (and its inner splits).
func (r *runner[T]) decomposeFold(f int) (*split[T], []*split[T], error) {
	opts := r.s.opts
	fold := opts.Folds[f]
	prep := rowPrep{intercept: !opts.NoIntercept, standardize: opts.Standardize}
	xTest := r.x
	if r.xNew.Rows > 0 {
		xTest = r.xNew
	}
	dec, err := decomposeFrom(r.ctx, r.x, fold.Train, xTest, fold.Test, prep, r.pred != nil && r.pred.weights)
	if err != nil {
		return nil, nil, fmt.Errorf("fold %d: %w", f, err)
	}
	outer := newSplit[T](dec, true, true)
	var inner []*split[T]
	if opts.Inner.Mode == engine.KFoldInner {
		ifolds, err := engine.KFold(len(fold.Train), opts.Inner.K)
		if err != nil {
			return nil, nil, fmt.Errorf("fold %d: inner %w", f, err)
		}
		prep.scale = dec.scale // inner splits keep the outer fold's scaling (a Pipeline's scaler)
		for _, in := range ifolds {
			d, err := decompose(r.ctx, r.x, engine.Pick(fold.Train, in.Train), engine.Pick(fold.Train, in.Test), prep)
			if err != nil {
				return nil, nil, fmt.Errorf("fold %d: inner split: %w", f, err)
			}
			sp := newSplit[T](d, false, opts.Inner.Score == engine.Pearson)
			sp.trainRows, sp.valRows = engine.Pick(fold.Train, in.Train), engine.Pick(fold.Train, in.Test)
			inner = append(inner, sp)
		}
	}
	return outer, inner, nil
}

// prefetch starts the decompositions of all folds on all cores when they fit in a quarter of
// the memory limit together, with the working memory of those running at once: much of the
// eigensolver does not keep every core busy (the tridiagonalisation's memory-bound products,
// the small merges of divide and conquer), so folds factorised side by side (and beside the
// products of earlier folds) use cores that would otherwise idle. It returns nil when the
// folds must be factorised one at a time.
func (r *runner[T]) prefetch() []*foldSplits[T] {
	opts := r.s.opts
	limit, _ := r.memoryLimit()
	var zero T
	es := int64(unsafe.Sizeof(zero))
	d := r.x.Cols
	total, transient := int64(0), int64(0)
	for _, fold := range opts.Folds {
		total += splitBytes(len(fold.Train), len(fold.Test), d, es)
		transient = max(transient, decomposeBytes(len(fold.Train), len(fold.Test), d))
		if opts.Inner.Mode == engine.KFoldInner {
			total += int64(opts.Inner.K) * splitBytes(len(fold.Train), len(fold.Train)/opts.Inner.K+1, d, es)
		}
	}
	// Besides what they keep, the decompositions running at once hold their working memory, and
	// their products' packing buffers.
	total += int64(workers(len(opts.Folds))) * transient
	var pack, one packUse // the decompositions side by side, or one at a time
	for _, fold := range opts.Folds {
		pack.addDecomposition(workers(len(opts.Folds)), len(fold.Train), len(fold.Test), d)
		one.addDecomposition(1, len(fold.Train), len(fold.Test), d)
	}
	total += pack.bytes()
	if len(opts.Folds) < 2 || workers(len(opts.Folds)) < 2 || total > limit/4 {
		// One at a time: one decomposition's packing buffers, counted beside the batches too
		// (they stay in internal/gemm's pool, whose float64 buffers the batches' products share).
		r.decPack = one
		return nil
	}
	r.preBytes, r.decPack = total-pack.bytes(), pack
	pre := make([]*foldSplits[T], len(opts.Folds))
	sem := make(chan struct{}, workers(len(opts.Folds)))
	for f := range pre {
		pre[f] = &foldSplits[T]{done: make(chan struct{})}
		go func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			fs := pre[f]
			if r.ctx.Err() == nil {
				fs.outer, fs.inner, fs.err = r.decomposeFold(f)
			}
			close(fs.done)
		}()
	}
	return pre
}

// fold runs outer fold f: decompositions (or waiting for them), then target batches.
func (r *runner[T]) fold(f int) error {
	opts := r.s.opts
	fold := opts.Folds[f]
	t0 := time.Now()
	var (
		outer *split[T]
		inner []*split[T]
		err   error
	)
	if r.pre != nil {
		fs := r.pre[f]
		<-fs.done
		outer, inner, err = fs.outer, fs.inner, fs.err
		r.pre[f] = nil // release the memory once used
	} else {
		outer, inner, err = r.decomposeFold(f)
	}
	if err != nil {
		return err
	}
	if outer == nil { // cancelled before it started
		return r.ctx.Err()
	}
	r.res.Rank[f], r.res.Dropped[f] = outer.dec.r, outer.dec.dropped
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
		if err := r.ctx.Err(); err != nil { // criteria stop early when cancelled
			return err
		}
		if !opts.SharedAlpha {
			r.finish(f, outer, b, argminPerTarget(crit, A, b.mb))
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
	best := engine.SharedPenalty(shared, A, m)
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
		r.finish(f, outer, b, idx)
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

// memoryLimit is the working-memory cap and how to name it in errors.
func (r *runner[T]) memoryLimit() (int64, string) {
	if r.s.opts.MemoryLimit > 0 {
		return r.s.opts.MemoryLimit, "memory limit"
	}
	return defaultMemoryLimit(), "default memory limit (half of the memory available to this process, under its job's or container's limit; set it with --memory)"
}

// checkFits refuses, before any work, a memory limit below what one fold's decomposition holds
// while it runs (the centred copies of the rows, the Gram matrix, the eigensolver's workspace)
// with what it keeps: the limit would be exceeded before the first target batch is sized. An
// output held to the end (kept bytes, described by what: the held-out predictions, Predict's
// predictions and model) must fit beside the decompositions, and in half the limit the batches
// are sized from. hint, when set, ends the errors about the kept output (what to do instead).
func (r *runner[T]) checkFits(kept int64, what, hint string) error {
	d := r.x.Cols
	need, ntr := decompositionFloor(r.s.opts, d)
	limit, which := DecompositionLimit(r.s.opts), "memory limit"
	if r.s.opts.MemoryLimit == 0 {
		which = "memory available to this process (under its job's or container's limit)"
	}
	if hint != "" {
		hint = "; " + hint
	}
	if need > limit { // whatever is kept beside it: no hint about that helps
		return fmt.Errorf("%w: the %s, %s, is below the %s one fold's decomposition needs (%d training rows x %d features)",
			engine.ErrOutOfMemory, which, engine.FormatBytes(limit), engine.FormatBytes(need), ntr, d)
	}
	if kept == 0 {
		return nil
	}
	if need+kept > limit {
		return fmt.Errorf("%w: the %s, %s, is below the %s one fold's decomposition needs (%d training rows x %d features) beside the %s of %s%s",
			engine.ErrOutOfMemory, which, engine.FormatBytes(limit), engine.FormatBytes(need), ntr, d, engine.FormatBytes(kept), what, hint)
	}
	if half, which := r.memoryLimit(); kept > half/2 {
		return fmt.Errorf("%w: %s take %s, more than half the %s, %s%s",
			engine.ErrOutOfMemory, what, engine.FormatBytes(kept), which, engine.FormatBytes(half), hint)
	}
	return nil
}

// DecompositionFloor returns the least memory limit the CPU engine accepts under opts for
// activations of d features: what the largest fold's decomposition holds while it runs, with
// what it keeps (below it, Score fails with engine.ErrOutOfMemory before any work). For a dry
// run's check of --memory.
func DecompositionFloor(opts engine.Options, d int) int64 {
	need, _ := decompositionFloor(opts, d)
	return need
}

// DecompositionLimit returns the memory the CPU engine lets one fold's decomposition take with
// opts: its MemoryLimit, or without one the memory available to the process (the default
// limit, half of it, sizes the target batches; a decomposition may take more, as it always could).
func DecompositionLimit(opts engine.Options) int64 {
	if opts.MemoryLimit > 0 {
		return opts.MemoryLimit
	}
	return 2 * defaultMemoryLimit()
}

// decompositionFloor is the most memory one outer fold's decompositions hold at once, and that
// fold's training rows: the outer split's working memory with what it keeps, or, with an inner
// k-fold (its splits factorised one after another, after the outer one), the outer split and
// every inner split kept with the largest inner one's working memory.
func decompositionFloor(opts engine.Options, d int) (need int64, ntr int) {
	es := int64(4) // the products' element: float32, or float64 at that precision
	if opts.Precision == engine.Float64 {
		es = 8
	}
	for _, fold := range opts.Folds {
		nt, nv := len(fold.Train), len(fold.Test)
		kept := splitBytes(nt, nv, d, es)
		n := decomposeBytes(nt, nv, d) + kept
		if opts.Inner.Mode == engine.KFoldInner {
			if inner, err := engine.KFold(nt, opts.Inner.K); err == nil {
				all, work := kept, int64(0)
				for _, in := range inner {
					all += splitBytes(len(in.Train), len(in.Test), d, es)
					work = max(work, decomposeBytes(len(in.Train), len(in.Test), d))
				}
				n = max(n, all+work)
			}
		}
		if n > need {
			need, ntr = n, nt
		}
	}
	return need, ntr
}

// batchSize sizes target batches so the working set stays under the memory limit.
func (r *runner[T]) batchSize(outer *split[T], inner []*split[T]) (int, error) {
	opts := r.s.opts
	var zero T
	es := int64(unsafe.Sizeof(zero))
	d := outer.dec
	ntr, nte, rk := int64(d.ntr), int64(d.nte), int64(d.r)
	A := int64(len(opts.Alphas))
	nc := int64(d.nc)
	fixed := d.bytes() + es*(2*ntr*rk+nte*rk+2*ntr*nc)
	perCol := es*(2*ntr+2*rk+nte+nc) + 8*(nte+A+8)
	// In float32, the float64 copy the targets are centred in before their conversion: stage's
	// training rows (float64 brain data) and kfold's inner training rows share it.
	y64 := int64(0)
	if es < 8 && r.s.y.Is64() {
		y64 = ntr
	}
	for _, sp := range inner {
		fixed += sp.dec.bytes() + es*(2*int64(sp.dec.ntr)*int64(sp.dec.r)+int64(sp.dec.nte*sp.dec.r))
		perCol += es * int64(sp.dec.ntr+2*sp.dec.r+2*sp.dec.nte)
		if es < 8 {
			y64 = max(y64, int64(sp.dec.ntr))
		}
	}
	perCol += 8 * y64
	fixed += r.preBytes + r.decPack.bytes()
	m := int64(r.s.y.Cols)
	if opts.SharedAlpha {
		fixed += 8 * A * m
	}
	limit, which := r.memoryLimit()
	bs := min((limit-fixed)/perCol, m)
	if opts.MaxBatch > 0 {
		bs = min(bs, int64(opts.MaxBatch))
	}
	// The products' packing buffers: per goroutine, and wider with the batch (a panel of its
	// columns each). Sized again with them until the batch fits (they shrink with it).
	pack := int64(0)
	for range 64 {
		if bs < 1 {
			break
		}
		pack = r.packing(outer, inner, int(bs))
		if fixed+pack+bs*perCol <= limit {
			break
		}
		next := (limit - fixed - pack) / perCol
		if next < 1 { // the buffers of bs columns alone exceed it: they are fewer for fewer
			next = bs / 2
		}
		bs = min(bs-1, next)
	}
	if onBatchPlan != nil {
		onBatchPlan(pack + r.decPack.bytes())
	}
	if bs < 1 {
		return 0, fmt.Errorf("%w: %s %s is below the %s one fold needs (decomposition %s + one target)",
			engine.ErrOutOfMemory, which, engine.FormatBytes(limit), engine.FormatBytes(fixed+pack+perCol), engine.FormatBytes(fixed+pack))
	}
	return int(bs), nil
}

// onBatchPlan, when set (by tests), receives the packing buffers each batch size counts, with
// those of the decompositions started ahead.
var onBatchPlan func(packing int64)

// stage gathers targets [c0, c1) on the training rows, centres them by their training means
// (when the model has an intercept) and computes Z = U^T Yc. Centring happens before any
// conversion to float32, so large offsets in float64 data do not cost float32 precision.
func (r *runner[T]) stage(train []int, sp *split[T], c0, c1 int) *batch[T] {
	t0 := time.Now()
	ntr, mb := len(train), c1-c0
	b := &batch[T]{c0: c0, mb: mb, yc: r.bufferT("yc", ntr*mb)}
	if _, is32 := any(b.yc).([]float32); is32 && r.s.y.Is64() {
		y64 := r.buffer64("y64", ntr*mb)
		r.s.y.GatherCols64(train, c0, c1, y64)
		b.mu = r.centre(y64, ntr, mb)
		narrow(b.yc, y64)
	} else {
		gather(r.s.y, train, c0, c1, b.yc)
		b.mu = r.centre(b.yc, ntr, mb)
	}
	t0 = r.since(t0, &r.tm.Transfer)
	b.z = r.bufferT("z", sp.dec.r*mb)
	mul(sp.dec.r, mb, ntr, sp.ut, b.yc, 0, b.z)
	r.res.Flops += 2 * float64(ntr) * float64(sp.dec.r) * float64(mb)
	if nc := sp.dec.nc; nc > 0 && (r.s.opts.Inner.Mode == engine.LOO || r.s.opts.Inner.Mode == engine.GCV) {
		// the residual's part outside U (decomposition.complete); not the algorithm's product
		b.zc = r.bufferT("zc", nc*mb)
		mul(nc, mb, ntr, sp.uct, b.yc, 0, b.zc)
	}
	r.since(t0, &r.tm.Products)
	return b
}

// centre subtracts each column's mean (with an intercept) from the rows x cols matrix y and
// sets constant columns to exactly zero: a constant target then gets zero
// coefficients and a constant prediction, whatever the rounding of its mean. It returns the
// means (centreCols).
func (r *runner[T]) centre(y any, rows, cols int) []float64 {
	switch y := y.(type) {
	case []float32:
		return centreCols(y, rows, cols, !r.s.opts.NoIntercept)
	case []float64:
		return centreCols(y, rows, cols, !r.s.opts.NoIntercept)
	}
	panic("centre: not a float slice")
}

// centreCols centres the columns of y (rows x cols, row-major) as centre does and returns their
// means (sum / rows, constant columns included; all zero without an intercept).
func centreCols[V float](y []V, rows, cols int, intercept bool) []float64 {
	means := make([]float64, cols)
	// Row by row within a block of columns: the matrix is row-major, so this reads memory in
	// order (a column-by-column walk would stride through it).
	parallelFor(cols, func(_, lo, hi int) {
		w := hi - lo
		sum := make([]float64, w)
		same := make([]bool, w)
		first := y[lo:hi]
		for t := range same {
			same[t] = true
		}
		for i := 0; i < rows; i++ {
			row := y[i*cols+lo : i*cols+hi]
			for t, v := range row {
				sum[t] += float64(v)
				same[t] = same[t] && v == first[t]
			}
		}
		shift := make([]float64, w)
		zero := make([]bool, w)
		for t := range shift {
			switch {
			case same[t]:
				zero[t] = intercept || first[t] == 0
			case intercept:
				shift[t] = sum[t] / float64(rows)
			}
			if intercept {
				means[lo+t] = sum[t] / float64(rows)
			}
		}
		for i := 0; i < rows; i++ {
			row := y[i*cols+lo : i*cols+hi]
			for t := range row {
				if zero[t] {
					row[t] = 0
				} else if shift[t] != 0 {
					row[t] = V(float64(row[t]) - shift[t])
				}
			}
		}
	})
	return means
}

// narrow converts src into dst (of its length) in precision T, on all cores: ntr x targets
// values a batch (8e8 at 8,000 rows x 100,000 targets), once on one core beside the products.
func narrow[T float](dst []T, src []float64) {
	const chunk = 1 << 16
	parallelFor((len(src)+chunk-1)/chunk, func(_, c0, c1 int) {
		for k := c0 * chunk; k < min(len(src), c1*chunk); k++ {
			dst[k] = T(src[k])
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
