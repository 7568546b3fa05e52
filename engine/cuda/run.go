//go:build cuda

package cuda

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorgonia.org/cu"

	"github.com/brainalign/brainalign/engine"
)

// runner scores one activation matrix: the CPU engine's algorithm (package fallback), stage by
// stage, on the device. It runs on the context thread.
type runner struct {
	ctx  context.Context
	s    *session
	d    *device
	x    engine.Matrix // the activations: y's rows, then in Predict the new stimuli's
	pred *prediction   // Predict's output (nil when scoring)
	kept *prediction   // scoring with KeepPredictions: the held-out predictions (Result.Predictions)
	t    dtype         // precision of the large products and of the target batches
	res  *engine.Result
	degn []bool
	tm   *engine.Timings
	done int
	work int

	xt dtype        // precision of the activations on the device
	dx cu.DevicePtr // activations, n x d row-major

	// event marks on the compute stream: marks[i] closes the interval that goes to stage[i]
	nmarks int
	stages []*time.Duration

	// streamed brain data: double-buffered host staging (the device copies are the batch's
	// staged buffers); copied[k] marks the end of the upload from host[k] on the copy stream
	allRows    []int
	host       [2]any
	copied     [2]cu.Event
	pending    *nextUpload // the next batch's upload, issued by presync
	pinRefused bool        // the staging buffers stay pageable in this Score (pinned.go)

	// the next fold's factorisation, allocated before this fold's batches and queued on the
	// decomposition stream at this fold's first read-back (presync), after its products
	next *factoring
}

func (r *runner) run() (*engine.Result, error) {
	s, d := r.s, r.d
	opts := s.opts
	m, k := s.y.Cols, len(opts.Folds)
	r.t = s.t
	r.res = engine.NewResult(m, k)
	r.degn = make([]bool, k*m)
	// Open's upload of resident brain data is in no stage: it was before Score began, and the
	// stages are parts of Score's Total (brainalign bench prints it on its own line)
	r.tm = &r.res.Timings
	if opts.KeepPredictions && r.pred == nil {
		if err := r.keepHeldOut(); err != nil {
			return nil, err
		}
	}

	var keep pool
	keep.d = d
	defer func() {
		r.dropPending()
		d.compute.Synchronize()
		d.copy.Synchronize()
		r.next.release(d)
		r.next = nil
		keep.release()
	}()

	// Activations: uploaded once in their own precision (row-major), centred per fold in float64,
	// unless the previous Score uploaded them and factorised their first fold (engine.Preparer).
	if !r.adoptAhead(&keep) {
		t0 := time.Now()
		r.xt = activationType(r.x)
		var err error
		if r.dx, err = keep.alloc(int64(r.x.Rows) * int64(r.x.Cols) * r.xt.size()); err != nil {
			return nil, r.oom("activations", err)
		}
		if err := uploadAny(r.dx, hostActivations(r.x), d.compute); err != nil {
			return nil, err
		}
		if err := d.compute.Synchronize(); err != nil {
			return nil, fmt.Errorf("cuda engine: waiting for the upload of the activations: %w", err)
		}
		r.tm.Transfer += time.Since(t0)
	}

	if s.dy == 0 {
		r.allRows = everyRow(r.s.y.Rows)
		for i := range r.copied {
			var err error
			if r.copied[i], err = cu.MakeEvent(cu.DisableTiming); err != nil {
				return nil, fmt.Errorf("cuda engine: event: %w", err)
			}
			defer cu.DestroyEvent(&r.copied[i])
		}
	}
	for f := range opts.Folds {
		if err := r.fold(f); err != nil {
			return nil, err
		}
	}
	if fz := r.next; fz != nil { // the next matrix's, queued during the last fold
		r.next = nil
		r.handOver(fz)
	}
	if r.kept != nil && r.kept.err != nil {
		return nil, r.kept.err
	}
	r.res.Finish(r.degn)
	return r.res, nil
}

// activations is the matrix being scored, on the device.
func (r *runner) activations() activations {
	return activations{dx: r.dx, xt: r.xt, cols: r.x.Cols}
}

// oom turns an allocation failure into the engine's error.
func (r *runner) oom(what string, err error) error {
	if errors.Is(err, errDeviceOOM) {
		return fmt.Errorf("cuda engine: %s: %w (%v)", what, engine.ErrOutOfMemory, err)
	}
	return err
}

// --- event timing ---

func (r *runner) markStart() error {
	r.nmarks, r.stages = 0, r.stages[:0]
	return r.mark(nil)
}

// mark closes the interval since the previous mark and charges it to stage.
func (r *runner) mark(stage *time.Duration) error {
	ev, err := r.d.event(r.nmarks)
	if err != nil {
		return err
	}
	if err := ev.Record(r.d.compute); err != nil {
		return fmt.Errorf("cuda engine: event: %w", err)
	}
	r.nmarks++
	r.stages = append(r.stages, stage)
	return nil
}

// flushMarks waits for the last mark and adds the intervals to their stages.
func (r *runner) flushMarks() error {
	if r.nmarks == 0 {
		return nil
	}
	last := r.d.events[r.nmarks-1]
	if err := last.Synchronize(); err != nil {
		return fmt.Errorf("cuda engine: waiting for the timing events: %w", err)
	}
	for i := 1; i < r.nmarks; i++ {
		ms, err := r.d.events[i-1].Elapsed(r.d.events[i])
		if err == nil && r.stages[i] != nil {
			*r.stages[i] += time.Duration(ms * float64(time.Millisecond))
		}
	}
	r.nmarks, r.stages = 0, r.stages[:0]
	return nil
}

// fold runs outer fold f. Its factorisation may have been queued during fold f-1 (r.next);
// the factorisation of fold f+1 is allocated here, before the batches are sized, and queued
// once this fold's first batch of products is queued (presync), so that it runs alongside
// them on the decomposition stream.
func (r *runner) fold(f int) error {
	d, opts := r.d, r.s.opts
	fold := opts.Folds[f]
	var fp pool
	fp.d = d
	defer func() {
		d.compute.Synchronize()
		d.copy.Synchronize()
		fp.release()
	}()
	t0 := time.Now()
	fz := r.next
	r.next = nil
	var sp *split
	var err error
	if fz == nil {
		fz, err = r.prepareSplit(fold, true, r.activations(), 0)
	}
	if err == nil {
		sp, err = r.finishSplit(&fp, fz)
	}
	if err == nil {
		err = r.splitU(&fp, sp)
	}
	if err != nil {
		return fmt.Errorf("fold %d: %w", f, r.oom("decomposition", err))
	}
	inner, err := r.decomposeInner(&fp, f, fold, sp)
	if err != nil {
		return r.oom("decomposition", err)
	}
	r.tm.Decompose += time.Since(t0)
	r.res.Rank[f], r.res.Dropped[f] = sp.r, sp.dropped
	if !r.s.noOverlap {
		// The next fold's factorisation, or in the last fold the next matrix's first (when
		// announced: engine.Preparer). Without the memory for it, it is done when it comes.
		last := f+1 == len(opts.Folds)
		if !last {
			r.next, err = r.prepareSplit(opts.Folds[f+1], true, r.activations(), 0)
		} else {
			r.next, err = r.prepareNextLayer()
		}
		switch {
		case err == nil && r.next != nil:
			r.next.ahead = true
			if last && r.costsBatches(sp, inner, r.next) {
				r.dropNext() // the next matrix's work would split this fold's targets further
			}
		case errors.Is(err, engine.ErrOutOfMemory) || (err != nil && last):
			// the next matrix's work is given up on any error: this matrix's Score goes on
			r.s.overlapsDropped++
		case err != nil:
			return fmt.Errorf("fold %d: %w", f+1, err)
		}
	}

	bs := 0 // sized from the free memory
	for {
		var bp pool
		bp.d = d
		b, err := r.batches(&bp, sp, inner, bs)
		if err != nil && r.next != nil && errors.Is(err, engine.ErrOutOfMemory) {
			// not even one target fits beside the next fold's factorisation: give that up first
			r.dropNext()
			continue
		}
		if err != nil {
			return fmt.Errorf("fold %d: %w", f, err)
		}
		flops, done := r.res.Flops, r.done // a retried fold is counted once
		err = r.scoreFold(f, sp, inner, b)
		if err != nil {
			r.res.Flops, r.done = flops, done
		}
		d.compute.Synchronize()
		d.copy.Synchronize()
		bp.release()
		if err == nil {
			return nil
		}
		if !errors.Is(err, errDeviceOOM) {
			return fmt.Errorf("fold %d: %w", f, err)
		}
		if b.bs == 1 {
			if r.next == nil {
				return fmt.Errorf("fold %d: %w", f, r.oom(fmt.Sprintf("batches of %d targets", b.bs), err))
			}
			// the next fold's factorisation goes first, then the fold again at one target
			r.dropNext()
			bs = 1
			continue
		}
		// A library ran out of device memory mid-fold (cuBLAS's workspace, a kernel module's
		// lazy load: memory the batch sizing cannot see). Smaller batches, the fold again from
		// its first target (the targets already scored get the same numbers again).
		bs = wholeGranules(b.bs / 2)
	}
}

// dropNext gives up the next fold's factorisation for the memory it holds: that fold is
// factorised when it comes.
func (r *runner) dropNext() {
	r.next.release(r.d)
	r.next = nil
	r.s.overlapsDropped++
}

// scoreFold selects, refits and scores every target of outer fold f in batches of b.
func (r *runner) scoreFold(f int, sp *split, inner []*split, b *batch) error {
	d, opts := r.d, r.s.opts
	m, A := r.s.y.Cols, len(opts.Alphas)
	nb := (m + b.bs - 1) / b.bs
	r.res.Batches = max(r.res.Batches, nb)
	r.work = r.done + (len(opts.Folds)-f)*nb // the progress total, as batch sizes become known
	if !opts.SharedAlpha {
		return r.forBatches(b, func(c0, mb int, ysrc cu.DevicePtr, ldy int) error {
			if err := r.stage(sp, b, ysrc, ldy, mb); err != nil {
				return err
			}
			if err := r.selectPenalty(sp, inner, b, mb, ysrc, ldy); err != nil {
				return err
			}
			if err := r.refitAndScore(f, sp, b, c0, mb, ysrc, ldy); err != nil {
				return err
			}
			r.progress()
			return nil
		})
	}
	// One penalty for all targets: the criteria of every batch, then the smallest sum.
	shared := make([]float64, A*m)
	b.hostCrit = make([]float64, A*b.bs)
	err := r.forBatches(b, func(c0, mb int, ysrc cu.DevicePtr, ldy int) error {
		if err := r.stage(sp, b, ysrc, ldy, mb); err != nil {
			return err
		}
		if err := r.selectPenalty(sp, inner, b, mb, ysrc, ldy); err != nil {
			return err
		}
		if err := r.presync(); err != nil {
			return err
		}
		if err := download(b.hostCrit[:A*b.bs], b.crit, d.compute); err != nil {
			return err
		}
		for a := 0; a < A; a++ {
			copy(shared[a*m+c0:a*m+c0+mb], b.hostCrit[a*mb:(a+1)*mb]) // device layout: A x mb
		}
		return r.flushMarks()
	})
	if err != nil {
		return err
	}
	best := engine.SharedPenalty(shared, A, m)
	refit := func(c0, mb int, ysrc cu.DevicePtr, ldy int) error {
		if err := cu.MemsetD32Async(b.idx, uint(best), int64(mb), d.compute); err != nil {
			return fmt.Errorf("cuda engine: memset: %w", err)
		}
		if err := r.refitAndScore(f, sp, b, c0, mb, ysrc, ldy); err != nil {
			return err
		}
		r.progress()
		return nil
	}
	if nb == 1 {
		// the only batch is still staged (Z in b.z)
		ysrc, ldy := r.s.dy, m
		if ysrc == 0 {
			ysrc, ldy = b.staged[0], m
		}
		if err := r.markStart(); err != nil {
			return err
		}
		return refit(0, m, ysrc, ldy)
	}
	return r.forBatches(b, func(c0, mb int, ysrc cu.DevicePtr, ldy int) error {
		if err := r.stage(sp, b, ysrc, ldy, mb); err != nil {
			return err
		}
		return refit(c0, mb, ysrc, ldy)
	})
}

// forBatches calls fn for each batch of targets with the batch's brain data on the device:
// the resident matrix at an offset, or the batch uploaded from the host (the next batch's
// host gather and copy overlapping this batch's compute).
func (r *runner) forBatches(b *batch, fn func(c0, mb int, ysrc cu.DevicePtr, ldy int) error) error {
	d := r.d
	m := r.s.y.Cols
	streamed := r.s.dy == 0
	if streamed {
		if err := r.prefetch(b, 0, 0, min(b.bs, m)); err != nil {
			return err
		}
	}
	for i, c0 := 0, 0; c0 < m; i, c0 = i+1, c0+b.bs {
		if err := r.ctx.Err(); err != nil {
			return err
		}
		mb := min(b.bs, m-c0)
		ysrc, ldy := r.s.dy+cu.DevicePtr(int64(c0)*r.t.size()), m
		if streamed {
			k := i % 2
			if err := d.compute.Wait(r.copied[k], 0); err != nil {
				return fmt.Errorf("cuda engine: stream wait: %w", err)
			}
			ysrc, ldy = b.staged[k], mb
		}
		if err := r.markStart(); err != nil {
			return err
		}
		if streamed && c0+b.bs < m {
			// Stage the next batch while this one computes: the host gather runs now on another
			// goroutine, its upload is issued on the copy stream just before this batch's results
			// are read back (presync), so the copy overlaps the compute queued before it.
			k2, next := (i+1)%2, c0+b.bs
			nmb := min(b.bs, m-next)
			if err := r.copied[k2].Synchronize(); err != nil { // the upload from host[k2] is done
				return fmt.Errorf("cuda engine: waiting for the upload of a batch of brain data: %w", err)
			}
			ch := make(chan gathered, 1)
			old := r.stagingBuf(b, k2)
			go func() {
				t0 := time.Now()
				h := stageCols(r.s.y, r.allRows, next, next+nmb, r.t, r.s.shift, old)
				ch <- gathered{h, time.Since(t0)}
			}()
			r.pending = &nextUpload{k: k2, dst: b.staged[k2], gather: ch}
		}
		err := fn(c0, mb, ysrc, ldy)
		if perr := r.presync(); err == nil {
			err = perr
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// gathered is a batch's targets gathered on the host (stageCols) and the time it took.
type gathered struct {
	buf any
	dt  time.Duration
}

// nextUpload is the next batch's upload into staging slot k (device buffer dst), once the host
// gather running on another goroutine has sent its buffer on gather.
type nextUpload struct {
	k      int
	dst    cu.DevicePtr
	gather <-chan gathered
}

// wait waits for the gather and takes its buffer back as host[k] (the goroutine no longer
// writes it: the buffer may be refilled, or freed).
func (u *nextUpload) wait(r *runner) any {
	g := <-u.gather
	r.host[u.k] = g.buf
	r.tm.Transfer += g.dt
	return g.buf
}

// dropPending waits for a pending gather whose upload will not be issued.
func (r *runner) dropPending() {
	if u := r.pending; u != nil {
		r.pending = nil
		u.wait(r)
	}
}

// presync issues the pending upload of the next batch, if any, and the next fold's
// factorisation, if not yet queued (called before a batch's results are read back, which waits
// for its compute: the work queued before it is then on the device's queues).
func (r *runner) presync() error {
	if r.next != nil && !r.next.queued {
		if err := r.queueSplit(r.next); err != nil {
			layer := r.next.layer != nil
			r.dropNext()
			if !errors.Is(err, errDeviceOOM) && !layer {
				r.dropPending()
				// the current fold's error (fold wraps it) says whose decomposition failed
				return fmt.Errorf("the next fold's decomposition: %w", err)
			}
			// out of memory in a library's workspace: the next fold is factorised when it
			// comes; the next matrix's work (withdrawn, or any error) is given up
		}
	}
	u := r.pending
	r.pending = nil
	if u == nil {
		return nil
	}
	buf := u.wait(r)
	if err := uploadAny(u.dst, buf, r.d.copy); err != nil {
		return err
	}
	if err := r.copied[u.k].Record(r.d.copy); err != nil {
		return fmt.Errorf("cuda engine: event: %w", err)
	}
	return nil
}

// prefetch gathers targets [c0, c0+mb) of every row on the host and uploads them into staging
// buffer k on the copy stream.
func (r *runner) prefetch(b *batch, k, c0, mb int) error {
	d := r.d
	t0 := time.Now()
	if err := r.copied[k].Synchronize(); err != nil { // the previous upload from host[k] is done
		return fmt.Errorf("cuda engine: waiting for the upload of a batch of brain data: %w", err)
	}
	if !inPlace(r.s.y, r.allRows, c0, c0+mb, r.t, r.s.shift) {
		r.host[k] = r.stagingBuf(b, k)
	}
	h := stageCols(r.s.y, r.allRows, c0, c0+mb, r.t, r.s.shift, r.host[k])
	if err := uploadAny(b.staged[k], h, d.copy); err != nil {
		return err
	}
	r.host[k] = h
	if c0 == 0 && mb == r.s.y.Cols && !r.s.y.ColMajor {
		// A batch of every target may be the caller's Y itself (stageCols uses a whole row-major
		// matrix of the right type in place): never keep it as a gather buffer, or a later batch
		// (a smaller one in another fold) would be gathered into the caller's data.
		r.host[k] = nil
	}
	if err := r.copied[k].Record(d.copy); err != nil {
		return fmt.Errorf("cuda engine: event: %w", err)
	}
	r.tm.Transfer += time.Since(t0)
	return nil
}

// splitU splits a split's U for float32-accurate TF32 products (gemm3xTF32): sp.u becomes
// tf32(U), sp.ul the rest. TF32 mode only; outer splits only (the inner K-fold's products are
// plain TF32: their criteria compare predictions with data, no cancellation).
func (r *runner) splitU(fp *pool, sp *split) error {
	if !r.d.tf32 || sp.r == 0 {
		return nil
	}
	var err error
	if sp.ul, err = fp.alloc(int64(sp.ldu) * int64(sp.r) * 4); err != nil {
		return r.oom("decomposition", err)
	}
	return r.d.splitTF32(sp.u, sp.ldu, sp.ldu, sp.r, sp.u, sp.ldu, sp.ul, sp.ldu)
}

// stage centres the batch's training targets by their training means (constant targets become
// exact zeros, as fallback) and computes Z = U^T Yc.
func (r *runner) stage(sp *split, b *batch, ysrc cu.DevicePtr, ldy, mb int) error {
	d, t, ld, mp := r.d, r.t, b.ld, b.productRows(mb)
	if r.s.failStage > 0 {
		if r.s.failStage--; r.s.failStage == 0 {
			if r.s.failRepeat > 0 {
				r.s.failRepeat, r.s.failStage = r.s.failRepeat-1, 1
			}
			return fmt.Errorf("%w: injected failure of a library allocation", errDeviceOOM)
		}
	}
	var mean, zero cu.DevicePtr
	if !r.s.opts.NoIntercept {
		if err := d.colStats(t, ysrc, ldy, sp.train, sp.ntr, mb, b.mean, b.cnst, 0); err != nil {
			return err
		}
		mean, zero = b.mean, b.cnst
	}
	if err := d.gatherCenter(t, t, ysrc, ldy, sp.train, sp.ntr, mb, mean, zero, b.yc, ld, 0); err != nil {
		return err
	}
	// Yc's padding columns (ntr..ldu) are zero: they meet U's zero rows in the products, where
	// never-written memory could hold a NaN (NaN x 0 is NaN).
	if err := d.zero(b.yc+cu.DevicePtr(int64(sp.ntr)*int64(ld)*t.size()), int64(sp.ldu-sp.ntr)*int64(ld)*t.size()); err != nil {
		return err
	}
	if err := r.mark(&r.tm.Transfer); err != nil {
		return err
	}
	// Row-major Z (r x mb) = U^T Yc. Column-major: Z^T (mb x r) = yc (mb x ntr, = Yc^T) U (ntr x r),
	// over the padded rows and columns.
	if d.tf32 && sp.r > 0 {
		// float32-accurate (every criterion and the refit are built on Z; see looResiduals):
		// Yc split into hi (in place) and lo (in yh, free until the penalty loop), three TF32
		// products, then Yc joined again exactly.
		if err := d.splitTF32(b.yc, ld, mp, sp.ldu, b.yc, ld, b.yh, ld); err != nil {
			return err
		}
		if err := d.gemm3xTF32(false, false, mp, sp.r, sp.ldu, 1, b.yc, b.yh, ld, sp.u, sp.ul, sp.ldu, 0, b.z, ld); err != nil {
			return err
		}
		if err := d.joinF32(b.yc, ld, mp, sp.ldu, b.yh, ld); err != nil {
			return err
		}
	} else if err := d.gemm(t, false, false, mp, sp.r, sp.ldu, b.yc, ld, sp.u, sp.ldu, b.z, ld); err != nil {
		return err
	}
	r.res.Flops += 2 * float64(sp.ntr) * float64(sp.r) * float64(mb)
	return r.mark(&r.tm.Products)
}

// looResiduals replaces b.yc by the residual outside the kept directions, R0 = Yc - U Z, at
// float32's accuracy (TF32 mode only, without a complete decomposition; leave-one-out selection
// only, the one reader of b.yc after Z).
//
// Why: the leave-one-out residual at penalty a is Yc - U diag(f) Z, and at small penalties
// (f near 1, above all when n < d and U spans nearly all of Yc) it is a small difference of large
// terms, so the product's TF32 rounding (relative 2^-11) swamps it and picks the wrong penalty
// (measured on the simulator: |r| off by 0.06, 95% of penalties agreeing). Written as
// R0 + U diag(1-f) Z, the TF32 product is of the small term only: loo_update's yc - yh with
// yc = R0 and yh = U diag(f-1) Z. At large penalties (f near 0) the roles swap and U diag(f) Z
// is the small term, so each penalty takes the form engine.ResidualDirect picks (selectPenalty).
// R0 itself is three TF32 products of split operands (gemm3xTF32), float32-accurate at
// tensor-core speed. Result.Flops counts the algorithm's products, so neither R0 nor the split's
// extra products are in it: they show as time.
func (r *runner) looResiduals(sp *split, b *batch, mb int) error {
	d, ld, mp := r.d, b.ld, b.productRows(mb)
	if sp.r == 0 {
		return nil // R0 = Yc
	}
	// Z split into hi (zf) and lo (yh, mb x r of its mb x ntr), both free until the penalty loop.
	if err := d.splitTF32(b.z, ld, mp, sp.r, b.zf, ld, b.yh, ld); err != nil {
		return err
	}
	// Column-major yc (mb x ntr) = yc - z (mb x r) U^T (N, T): row-major Yc - U Z (the padding
	// columns stay zero: U's padding rows are).
	if err := d.gemm3xTF32(false, true, mp, sp.ldu, sp.r, -1, b.zf, b.yh, ld, sp.u, sp.ul, sp.ldu, 1, b.yc, ld); err != nil {
		return err
	}
	return r.mark(&r.tm.Products)
}

// selectPenalty runs the inner selection: per-target best penalty index into b.idx (and the
// criteria into b.crit in shared mode). ysrc (ld ldy) is the batch's brain data, which the
// inner K-fold reads.
func (r *runner) selectPenalty(sp *split, inner []*split, b *batch, mb int, ysrc cu.DevicePtr, ldy int) error {
	d, t, opts, ld := r.d, r.t, r.s.opts, b.ld
	A := len(opts.Alphas)
	if opts.Inner.Mode == engine.KFoldInner {
		return r.selectKFold(inner, b, mb, ysrc, ldy)
	}
	if opts.Inner.Mode == engine.GCV {
		// With a complete decomposition the residual outside U is R0 = uc uc^T Yc, formed in
		// b.yc (which GCV reads last), rather than |Yc|² - |Z|² (the CPU engine's |Zc|²).
		if sp.complete {
			if err := r.complementResidual(sp, b, mb); err != nil {
				return err
			}
		}
		if err := d.gcvSelect(t, b.yc, ld, sp.ntr, b.z, ld, sp.r, mb, sp.fm1, sp.den, A, b.crit, mb, b.best, b.idx, sp.complete); err != nil {
			return err
		}
		return r.mark(&r.tm.Select)
	}
	// The penalties whose residual is Yc - U diag(f) Z (classic), then those whose residual is
	// R0 - U diag(f-1) Z (direct), with b.yc replaced in between by R0 = uc uc^T Yc with a
	// complete decomposition, else (TF32 mode) R0 = Yc - U Z (see looResiduals). Direct are
	// the penalties engine.ResidualDirect picks, with a complete decomposition or in TF32 mode:
	// each penalty's rounded product is then of the residual's smaller term. (TF32 mode took
	// every penalty direct before: at large penalties its plain product was then nearly all of
	// Yc, whose rounding, 5e-5 of the criteria, swamped their differences there, 1e-6 to 1e-5;
	// 84% of float64's penalties and |r| off by 0.06 on a 60 x 150 problem, TestTF32LOOPenalties.)
	// The argmin is the grid's whatever the order (loo_update).
	var classic, direct []int
	for a := 0; a < A; a++ {
		if sp.direct != nil && sp.direct[a] {
			direct = append(direct, a)
		} else {
			classic = append(classic, a)
		}
	}
	if sp.hotOff != nil {
		// the hot rows' float64 errors, from Yc (the direct penalties replace b.yc by R0 below)
		for a := 0; a < A; a++ {
			lo, hi := sp.hotOff[a], sp.hotOff[a+1]
			if lo == hi {
				continue
			}
			h := sp.hotH + cu.DevicePtr(int64(lo)*int64(sp.ldu)*8)
			rows := sp.hotRows + cu.DevicePtr(int64(lo)*4)
			w := sp.hotW + cu.DevicePtr(int64(lo)*8)
			if err := d.looHot(t, b.yc, ld, sp.ntr, mb, h, sp.ldu, rows, w, hi-lo, !opts.NoIntercept, b.extra+cu.DevicePtr(int64(a*mb)*8)); err != nil {
				return err
			}
		}
		if err := r.mark(&r.tm.Select); err != nil {
			return err
		}
	}
	first := true
	for _, a := range classic {
		if err := r.looPenalty(sp, b, mb, a, sp.f, first); err != nil {
			return err
		}
		first = false
	}
	if len(direct) == 0 {
		return nil
	}
	if sp.complete {
		if err := r.complementResidual(sp, b, mb); err != nil {
			return err
		}
	} else if err := r.looResiduals(sp, b, mb); err != nil {
		return err
	}
	for _, a := range direct {
		if err := r.looPenalty(sp, b, mb, a, sp.fm1, first); err != nil {
			return err
		}
		first = false
	}
	return nil
}

// looPenalty is penalty a's leave-one-out errors and running argmin: b.yh = U diag(factors_a) Z,
// then the errors of b.yc - b.yh (factors f against Yc, or f - 1 against R0).
func (r *runner) looPenalty(sp *split, b *batch, mb, a int, factors cu.DevicePtr, first bool) error {
	d, t, ld, mp := r.d, r.t, b.ld, b.productRows(mb)
	// Row-major Yhat (ntr x mb) = U diag(f) Z. Column-major: yh (mb x ntr, = Yhat^T) =
	// zf (mb x r, = (diag(f) Z)^T) U^T (N, T; U column-major ntr x r, ld ldu), over the
	// padded rows and columns.
	fa := factors + cu.DevicePtr(int64(a*sp.r)*8)
	var err error
	if d.tf32 {
		// both operands exact in TF32 (U is tf32(U), splitU): the product's only rounding
		// is this one, to nearest
		err = d.scaleColsTF32(b.z, ld, mb, sp.r, fa, b.zf, ld)
	} else {
		err = d.scaleCols(t, b.z, ld, mb, sp.r, fa, b.zf, ld)
	}
	if err != nil {
		return err
	}
	if err := d.gemm(t, false, true, mp, sp.ldu, sp.r, b.zf, ld, sp.u, sp.ldu, b.yh, ld); err != nil {
		return err
	}
	r.res.Flops += 2 * float64(sp.ntr) * float64(sp.r) * float64(mb)
	if err := r.mark(&r.tm.Products); err != nil {
		return err
	}
	var crit cu.DevicePtr
	if b.crit != 0 {
		crit = b.crit + cu.DevicePtr(int64(a*mb)*8)
	}
	wa := sp.w + cu.DevicePtr(int64(a)*int64(sp.ntr)*8)
	var extra cu.DevicePtr
	if sp.hotOff != nil && sp.hotOff[a] < sp.hotOff[a+1] {
		extra = b.extra + cu.DevicePtr(int64(a*mb)*8)
	}
	if err := d.looUpdate(t, b.yc, ld, b.yh, ld, wa, sp.ntr, mb, a, first, crit, b.best, b.idx, extra); err != nil {
		return err
	}
	return r.mark(&r.tm.Select)
}

// complementResidual replaces b.yc by R0 = uc uc^T Yc, the residual outside U of a complete
// decomposition (zero without complement directions), through b.yh; the padding columns stay
// zero (uc's padding rows are).
func (r *runner) complementResidual(sp *split, b *batch, mb int) error {
	d, t, ld, mp := r.d, r.t, b.ld, b.productRows(mb)
	if sp.nc == 0 {
		return d.zero(b.yc, int64(sp.ldu)*int64(ld)*t.size())
	}
	if d.tf32 {
		// float32-accurate on the tensor cores, as looResiduals: yc split into hi (in place) and
		// lo (yh), Zc^T = yc uc in 3xTF32 into zc; Zc^T split into hi (in place) and lo (yh, free
		// again: yc is not needed once Zc is formed), yc = Zc^T uc^T in 3xTF32.
		if err := d.splitTF32(b.yc, ld, mp, sp.ldu, b.yc, ld, b.yh, ld); err != nil {
			return err
		}
		if err := d.gemm3xTF32(false, false, mp, sp.nc, sp.ldu, 1, b.yc, b.yh, ld, sp.uc, sp.ucl, sp.ldu, 0, b.zc, ld); err != nil {
			return err
		}
		if err := d.splitTF32(b.zc, ld, mp, sp.nc, b.zc, ld, b.yh, ld); err != nil {
			return err
		}
		if err := d.gemm3xTF32(false, true, mp, sp.ldu, sp.nc, 1, b.zc, b.yh, ld, sp.uc, sp.ucl, sp.ldu, 0, b.yc, ld); err != nil {
			return err
		}
		return r.mark(&r.tm.Products)
	}
	// Column-major Zc^T (mb x nc) = yc (mb x ntr) uc (ntr x nc), into yh; then
	// yc (mb x ntr) = Zc^T uc^T: row-major uc Zc.
	if err := d.gemm(t, false, false, mp, sp.nc, sp.ldu, b.yc, ld, sp.uc, sp.ldu, b.yh, ld); err != nil {
		return err
	}
	if err := d.gemm(t, false, true, mp, sp.ldu, sp.nc, b.yh, ld, sp.uc, sp.ldu, b.yc, ld); err != nil {
		return err
	}
	return r.mark(&r.tm.Products)
}

// refitAndScore predicts the held-out rows at each target's penalty, P diag(s/(s²+a_t)) Z, and
// scores them; results go to the fold's row of the Result.
func (r *runner) refitAndScore(f int, sp *split, b *batch, c0, mb int, ysrc cu.DevicePtr, ldy int) error {
	d, t, opts, ld := r.d, r.t, r.s.opts, b.ld
	if err := d.scaleRefit(t, b.z, ld, mb, sp.r, sp.g, b.idx, b.zf, ld); err != nil {
		return err
	}
	// Row-major Pred (nte x mb) = P diag(g_t) Z. Column-major: pred (mb x nte, = Pred^T) =
	// zf (mb x r, the scaled Z^T) P^T (N, T; P column-major nte x r, ld ldp), over the padded
	// rows and columns.
	if err := r.refitProduct(b.productRows(mb), sp.ldp, sp.r, b.zf, ld, sp.p, sp.ldp, b.pred, ld); err != nil {
		return err
	}
	r.res.Flops += 2 * float64(sp.nte) * float64(sp.r) * float64(mb)
	if err := r.mark(&r.tm.Refit); err != nil {
		return err
	}
	if r.pred != nil {
		return r.keepPredictions(sp, b, c0, mb)
	}
	if err := d.pearson(t, b.pred, ld, ysrc, ldy, sp.test, sp.nte, mb, b.rr, b.deg); err != nil {
		return err
	}
	if err := r.mark(&r.tm.Score); err != nil {
		return err
	}
	if err := r.presync(); err != nil {
		return err
	}
	if err := download(b.hostIdx[:mb], b.idx, d.compute); err != nil {
		return err
	}
	if err := download(b.hostR[:mb], b.rr, d.compute); err != nil {
		return err
	}
	if err := download(b.hostDeg[:mb], b.deg, d.compute); err != nil {
		return err
	}
	if err := r.flushMarks(); err != nil {
		return err
	}
	m := r.s.y.Cols
	for j := 0; j < mb; j++ {
		k := f*m + c0 + j
		r.res.FoldScores[k] = b.hostR[j]
		r.res.Alphas[k] = opts.Alphas[b.hostIdx[j]]
		r.degn[k] = b.hostDeg[j] != 0
	}
	if r.kept != nil {
		return r.unscale(sp, b, c0, mb, r.kept, opts.Folds[f].Test)
	}
	return nil
}

// refitProduct is the column-major product C (m x n) = A (m x k) B^T (B n x k) of a refit:
// the held-out predictions, or Predict's weights. TF32 without an intercept: in float32, as the
// predictions are then offset + signal and TF32's rounding of the offset (2^-11) swamped the
// signal (r of -0.77 for 0.86); with an intercept P is centred and TF32 keeps |r| within 0.005.
func (r *runner) refitProduct(m, n, k int, a cu.DevicePtr, lda int, b cu.DevicePtr, ldb int, c cu.DevicePtr, ldc int) error {
	d := r.d
	noTF32 := d.tf32 && r.s.opts.NoIntercept
	if noTF32 {
		if err := cublasSetup(d.blas, d.compute, false); err != nil {
			return err
		}
	}
	err := d.gemm(r.t, false, true, m, n, k, a, lda, b, ldb, c, ldc)
	if noTF32 {
		if serr := cublasSetup(d.blas, d.compute, true); err == nil {
			err = serr
		}
	}
	return err
}

func (r *runner) progress() {
	r.done++
	if p := r.s.opts.Progress; p != nil {
		p(r.done, r.work)
	}
}
