//go:build cuda

package cuda

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
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
	x    engine.Matrix
	t    dtype // precision of the large products and of the target batches
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
	allRows []int
	host    [2]any
	copied  [2]cu.Event
	pending func() error // the next batch's upload, issued by presync

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
	r.tm = &r.res.Timings
	r.tm.Transfer += s.openTime
	s.openTime = 0

	var keep pool
	keep.d = d
	defer func() {
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
			return nil, fmt.Errorf("cuda engine: uploading activations: %w", err)
		}
		r.tm.Transfer += time.Since(t0)
	}

	if s.dy == 0 {
		r.allRows = everyRow(r.x.Rows)
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
		return fmt.Errorf("cuda engine: %w", err)
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

// --- decomposition ---

// bytes is the device memory fz holds.
func (fz *factoring) bytes(d *device) int64 {
	var n int64
	for _, p := range [][]cu.DevicePtr{fz.keep.ptrs, fz.tmp.ptrs, fz.layer.ptrs()} {
		for _, ptr := range p {
			n += d.sizes[ptr]
		}
	}
	return n
}

// split is one training split on the device: Xc = U diag(s) V^T with the kept directions.
type split struct {
	ntr, nte, r int
	dropped     int
	// U and P are stored with ldu = padded(ntr) and ldp = padded(nte) rows, the rows past ntr
	// and nte zero: the products then run over aligned dimensions (see align), and the zero
	// rows add nothing to U^T Yc and give prediction columns that nobody reads.
	ldu, ldp    int
	train, test cu.DevicePtr // int32 row indices
	u           cu.DevicePtr // ntr x r column-major (ld ldu), precision t (TF32 mode: rounded to TF32)
	ul          cu.DevicePtr // TF32 mode, outer splits: U - tf32(U), for float32-accurate products
	p           cu.DevicePtr // nte x r column-major (ld ldp), precision t: (Xtest - mean) V
	f           cu.DevicePtr // r x A: s²/(s²+a)
	fm1         cu.DevicePtr // r x A: f - 1 = -a/(s²+a) (TF32 leave-one-out residuals)
	g           cu.DevicePtr // r x A: s/(s²+a)
	w           cu.DevicePtr // ntr x A: 1/(1-h(a))
	den         cu.DevicePtr // A: (1 - tr(H(a))/ntr)², GCV

	// Leave-one-out with the dual decomposition (no more training rows than features): U and
	// uc (ntr x nc, ld ldu, precision t: the other eigenvectors of Xc Xc^T) span the training
	// rows, and the residual of the penalties marked direct is computed as U diag(1-f) Z +
	// uc uc^T Yc, as the CPU engine does (engine.ResidualDirect, fallback's decomposition).
	complete bool
	nc       int
	uc       cu.DevicePtr
	ucl      cu.DevicePtr // TF32 mode: uc - tf32(uc), uc itself rounded to TF32 (as U, splitU)
	direct   []bool       // per penalty

	// Leave-one-out in float32/TF32: the training rows of leverage near 1 (engine.HotRows), whose
	// errors loo_hot computes in float64 (their weights in w are 0): for penalty a, columns
	// hotOff[a] to hotOff[a+1] of hotH (ldu x nh float64: the rows' hat-matrix rows), hotRows
	// (int32) and hotW (float64, their weights). hotOff is nil without hot rows.
	hotOff              []int
	hotH, hotRows, hotW cu.DevicePtr

	// Inner k-fold splits only: the split's training and validation rows as int32 positions in
	// the outer training fold (rows of the outer batch's Yc).
	trainPos, valPos cu.DevicePtr
}

func toInt32(idx []int) []int32 {
	out := make([]int32, len(idx))
	for i, v := range idx {
		out[i] = int32(v)
	}
	return out
}

// factoring is the first half of a split's decomposition, queued on the decomposition stream
// (device.aux) so that it can run while the previous fold's products do: the split's rows
// gathered and centred in float64, their Gram matrix (the smaller one) and its
// eigendecomposition, cuSOLVER's Dsyevd. finishSplit waits for it and does the rest.
type factoring struct {
	fold        engine.Fold
	src         activations // the matrix whose rows are factorised
	layer       *nextLayer  // set when src is the next matrix's (uploaded first; ahead.go)
	primal      bool        // Gram matrix Xc^T Xc (d x d), else Xc Xc^T (ntr x ntr)
	size        int         // the Gram matrix's order
	keep        pool        // the split's row indices, handed to the fold's pool
	tmp         pool        // everything else, released once the split is finished
	train, test cu.DevicePtr
	xtr, xte    cu.DevicePtr // centred rows, d x ntr and d x nte column-major
	mean        cu.DevicePtr // training column means (intercept only)
	gram, lam   cu.DevicePtr // Gram matrix, then its eigenvectors; eigenvalues
	work, info  cu.DevicePtr
	lwork       int
	queued      bool
	ahead       bool     // prepared during the previous fold, to run alongside its products
	outer       bool     // an outer fold (its P and g feed only the Pearson-scored prediction)
	start, done cu.Event // on aux, around the queued work
}

// prepareSplit allocates a factoring of fold's rows of src (an outer fold, or an inner split);
// nothing is queued yet.
func (r *runner) prepareSplit(fold engine.Fold, outer bool, src activations) (*factoring, error) {
	d := r.d
	ntr, nte, nd := len(fold.Train), len(fold.Test), src.cols
	fz := &factoring{fold: fold, src: src, primal: ntr > nd, size: ntr, outer: outer}
	fz.keep.d, fz.tmp.d = d, d
	if fz.primal {
		fz.size = nd
	}
	var err error
	alloc := allocUntil(&err)
	fz.train = alloc(&fz.keep, int64(ntr)*4)
	fz.test = alloc(&fz.keep, int64(nte)*4)
	fz.xtr = alloc(&fz.tmp, int64(nd)*int64(ntr)*8)
	fz.xte = alloc(&fz.tmp, int64(nd)*int64(nte)*8)
	if !r.s.opts.NoIntercept {
		fz.mean = alloc(&fz.tmp, int64(nd)*8)
	}
	fz.gram = alloc(&fz.tmp, int64(fz.size)*int64(fz.size)*8)
	fz.lam = alloc(&fz.tmp, int64(fz.size)*8)
	fz.info = alloc(&fz.tmp, 8)
	if err == nil {
		fz.lwork, err = d.auxSol.dsyevdWork(fz.size, fz.size, fz.gram, fz.lam)
	}
	fz.work = alloc(&fz.tmp, int64(fz.lwork)*8)
	if err == nil {
		if fz.start, err = cu.MakeEvent(cu.DefaultEvent); err == nil {
			if fz.done, err = cu.MakeEvent(cu.DefaultEvent); err != nil {
				cu.DestroyEvent(&fz.start)
			}
		}
		if err != nil {
			err = fmt.Errorf("cuda engine: event: %w", err)
		}
	}
	if err != nil {
		fz.keep.release()
		fz.tmp.release()
		return nil, r.oom("decomposition", err)
	}
	return fz, nil
}

// queueSplit queues fz's work on the decomposition stream (once). Nothing in it waits for the
// device: the host goes on queueing the current fold's products. After an error, fz is only
// fit for release.
func (r *runner) queueSplit(fz *factoring) error {
	if fz.queued {
		return nil
	}
	d := r.d
	ntr, nte, nd := len(fz.fold.Train), len(fz.fold.Test), fz.src.cols
	xt, dx := fz.src.xt, fz.src.dx
	return d.onAux(func() error {
		if err := fz.start.Record(d.aux); err != nil {
			return fmt.Errorf("cuda engine: event: %w", err)
		}
		if fz.layer != nil {
			if err := fz.layer.upload(dx, d.aux); err != nil {
				return err
			}
		}
		if err := upload(fz.train, toInt32(fz.fold.Train), d.aux); err != nil {
			return err
		}
		if err := upload(fz.test, toInt32(fz.fold.Test), d.aux); err != nil {
			return err
		}
		if fz.mean != 0 {
			if err := d.colStats(xt, dx, nd, fz.train, ntr, nd, fz.mean, 0, 0); err != nil {
				return err
			}
		}
		if err := d.gatherCenter(xt, f64, dx, nd, fz.train, ntr, nd, fz.mean, 0, fz.xtr, nd); err != nil {
			return err
		}
		if err := d.gatherCenter(xt, f64, dx, nd, fz.test, nte, nd, fz.mean, 0, fz.xte, nd); err != nil {
			return err
		}
		// xtr is d x ntr column-major (Xc row-major), xte d x nte (Xtest_c row-major).
		var err error
		if fz.primal {
			// row-major gram (d x d) = Xc^T Xc; column-major: xtr xtr^T (N, T; m = n = d, k = ntr)
			err = d.gemm(f64, false, true, nd, nd, ntr, fz.xtr, nd, fz.xtr, nd, fz.gram, nd)
		} else {
			// row-major gram (ntr x ntr) = Xc Xc^T; column-major: xtr^T xtr (T, N; m = n = ntr, k = d)
			err = d.gemm(f64, true, false, ntr, ntr, nd, fz.xtr, nd, fz.xtr, nd, fz.gram, ntr)
		}
		if err != nil {
			return err
		}
		if err := d.auxSol.dsyevdAsync(fz.size, fz.size, fz.gram, fz.lam, fz.work, fz.lwork, fz.info); err != nil {
			return fmt.Errorf("%w (Gram matrix of %d x %d)", err, fz.size, fz.size)
		}
		if err := fz.done.Record(d.aux); err != nil {
			return fmt.Errorf("cuda engine: event: %w", err)
		}
		fz.queued = true
		return nil
	})
}

// release frees a factoring that will not be finished (the decomposition stream is waited for
// first: its queued work writes these buffers).
func (fz *factoring) release(d *device) {
	if fz == nil {
		return
	}
	d.aux.Synchronize()
	fz.keep.release()
	fz.tmp.release()
	if fz.layer != nil {
		fz.layer.release()
	}
	cu.DestroyEvent(&fz.start)
	cu.DestroyEvent(&fz.done)
}

// decompose factorises the centred training rows of an inner split in float64 and projects
// its test rows, exactly as fallback's decompose does, waiting for the work.
func (r *runner) decompose(fp *pool, fold engine.Fold) (*split, error) {
	fz, err := r.prepareSplit(fold, false, r.activations())
	if err != nil {
		return nil, err
	}
	return r.finishSplit(fp, fz)
}

// finishSplit waits for fz's eigendecomposition (queueing it first if it is not yet) and
// builds the split from it: the kept directions, U, P and the per-penalty factors. The split's
// allocations go to fp; fz is used up.
func (r *runner) finishSplit(fp *pool, fz *factoring) (*split, error) {
	d, opts := r.d, r.s.opts
	defer func() {
		d.compute.Synchronize()
		fz.release(d)
	}()
	if err := r.queueSplit(fz); err != nil {
		return nil, err
	}
	if err := fz.done.Synchronize(); err != nil {
		return nil, fmt.Errorf("cuda engine: decomposition: %w", err)
	}
	if fz.ahead {
		if ms, err := fz.start.Elapsed(fz.done); err == nil {
			r.tm.Overlapped += time.Duration(ms * float64(time.Millisecond))
		}
	}
	if err := d.auxSol.syevdInfo("cusolverDnDsyevd", fz.size, fz.info); err != nil {
		return nil, err
	}
	fold := fz.fold
	intercept := !opts.NoIntercept
	ntr, nte, nd := len(fold.Train), len(fold.Test), r.x.Cols
	A := len(opts.Alphas)
	sp := &split{ntr: ntr, nte: nte, ldu: padded(ntr), ldp: padded(nte), train: fz.train, test: fz.test}
	fp.ptrs = append(fp.ptrs, fz.keep.ptrs...)
	fz.keep.ptrs = nil
	ldu, ldp := sp.ldu, sp.ldp
	primal, size := fz.primal, fz.size
	xtr, xte, gram := fz.xtr, fz.xte, fz.gram
	var err error
	alloc := allocUntil(&err)
	tmp := &fz.tmp
	lambda := make([]float64, size)
	if err := download(lambda, fz.lam, d.aux); err != nil {
		return nil, err
	}
	keepIdx, dropped := engine.KeptDirections(lambda, ntr, nd, intercept)
	rk := len(keepIdx)
	sp.r, sp.dropped = rk, dropped
	if !primal && (opts.Inner.Mode == engine.LOO || opts.Inner.Mode == engine.GCV) {
		if err := r.complement(fp, sp, gram, keepIdx, intercept); err != nil {
			return nil, err
		}
	}
	s2 := make([]float64, rk)
	for k, j := range keepIdx {
		s2[k] = lambda[j]
	}
	// The kept eigenvectors, size x rk (ld size): cuSOLVER returns eigenvector j as column j of
	// the column-major gram (gram[i + j*size] = component i; fallback's row-major gram[i*size+j]
	// is the same element), so a kept vector is size contiguous values, and the kept set is a
	// contiguous block when they are the largest (ascending order).
	vecs := gram
	if rk > 0 {
		vecs = gram + cu.DevicePtr(int64(keepIdx[0])*int64(size)*8)
		if keepIdx[rk-1]-keepIdx[0] != rk-1 {
			vecs = alloc(tmp, int64(size)*int64(rk)*8)
			if err != nil {
				return nil, r.oom("decomposition", err)
			}
			for k, j := range keepIdx {
				src := gram + cu.DevicePtr(int64(j)*int64(size)*8)
				if err := cu.MemcpyDtoDAsync(vecs+cu.DevicePtr(int64(k)*int64(size)*8), src, int64(size)*8, d.compute); err != nil {
					return nil, fmt.Errorf("cuda engine: copy: %w", err)
				}
			}
		}
	}
	invs := make([]float64, rk)
	for k, v := range s2 {
		invs[k] = 1 / math.Sqrt(v)
	}
	dinvs := alloc(tmp, int64(rk)*8)
	u64 := alloc(tmp, int64(ldu)*int64(rk)*8)
	p64 := alloc(tmp, int64(ldp)*int64(rk)*8)
	if err != nil {
		return nil, r.oom("decomposition", err)
	}
	if err := upload(dinvs, invs, d.compute); err != nil {
		return nil, err
	}
	// the padding rows of U and P are zero
	if err := d.zero(u64, int64(ldu)*int64(rk)*8); err != nil {
		return nil, err
	}
	if err := d.zero(p64, int64(ldp)*int64(rk)*8); err != nil {
		return nil, err
	}
	if rk > 0 {
		if primal {
			// U = Xc V diag(1/s); P = Xtest_c V. u64 and p64 are column-major (ntr x rk, nte x rk).
			// Column-major U (ntr x rk) = xtr^T (ntr x d) V (d x rk): row-major U = Xc V.
			if err := d.gemm(f64, true, false, ntr, rk, nd, xtr, nd, vecs, size, u64, ldu); err != nil {
				return nil, err
			}
			if err := d.scaleCols(f64, u64, ldu, ntr, rk, dinvs, u64, ldu); err != nil {
				return nil, err
			}
			// Column-major P (nte x rk) = xte^T (nte x d) V (d x rk): row-major P = Xtest_c V.
			if err := d.gemm(f64, true, false, nte, rk, nd, xte, nd, vecs, size, p64, ldp); err != nil {
				return nil, err
			}
		} else {
			// U = Q; P = (Xtest_c Xc^T) U diag(1/s).
			kte := alloc(tmp, int64(nte)*int64(ntr)*8)
			ones := alloc(tmp, int64(rk)*8)
			if err != nil {
				return nil, r.oom("decomposition", err)
			}
			// U: the eigenvectors (ld size = ntr) into u64's padded layout (scaled by ones).
			if err := d.fill64(ones, rk, 1); err != nil {
				return nil, err
			}
			if err := d.scaleCols(f64, vecs, size, ntr, rk, ones, u64, ldu); err != nil {
				return nil, err
			}
			// Column-major kte (nte x ntr) = xte^T xtr: row-major Xtest_c Xc^T.
			if err := d.gemm(f64, true, false, nte, ntr, nd, xte, nd, xtr, nd, kte, nte); err != nil {
				return nil, err
			}
			// Column-major P (nte x rk) = kte (nte x ntr) U (ntr x rk), all column-major.
			if err := d.gemm(f64, false, false, nte, rk, ntr, kte, nte, u64, ldu, p64, ldp); err != nil {
				return nil, err
			}
			if err := d.scaleCols(f64, p64, ldp, nte, rk, dinvs, p64, ldp); err != nil {
				return nil, err
			}
		}
	}
	if fz.outer && rk > 0 {
		// An outer fold's P only feeds the held-out prediction, whose Pearson r ignores its
		// scale: a power of two brings it near unit size (engine.UnitScale; |P| is about
		// sqrt(lambda_max / ntr)), so that tiny features do not underflow float32 predictions.
		ps := alloc(tmp, int64(rk)*8)
		if err != nil {
			return nil, r.oom("decomposition", err)
		}
		if err := d.fill64(ps, rk, engine.UnitScale(math.Sqrt(slices.Max(s2)/float64(ntr)))); err != nil {
			return nil, err
		}
		if err := d.scaleCols(f64, p64, ldp, nte, rk, ps, p64, ldp); err != nil {
			return nil, err
		}
	}
	// Per-penalty factors: f = s²/(s²+a), g = s/(s²+a), the GCV denominators, the LOO weights.
	fh := make([]float64, rk*A)
	fm1 := make([]float64, rk*A)
	gh := make([]float64, rk*A)
	den := make([]float64, A)
	for a, alpha := range opts.Alphas {
		tr := 0.0
		if intercept {
			tr = 1
		}
		for j, v := range s2 {
			fh[a*rk+j] = v / (v + alpha)
			fm1[a*rk+j] = -alpha / (v + alpha)
			gh[a*rk+j] = math.Sqrt(v) / (v + alpha)
			tr += fh[a*rk+j]
		}
		den[a] = (1 - tr/float64(ntr)) * (1 - tr/float64(ntr))
		if fz.outer {
			// refit only: a positive factor per target, r unchanged (engine.UnitScale)
			engine.ScaleToUnit(gh[a*rk : (a+1)*rk])
		}
		if sp.complete {
			sp.direct = append(sp.direct, engine.ResidualDirect(fh[a*rk:(a+1)*rk]))
		}
	}
	sp.f = alloc(fp, int64(rk*A)*8)
	sp.fm1 = alloc(fp, int64(rk*A)*8)
	sp.g = alloc(fp, int64(rk*A)*8)
	sp.den = alloc(fp, int64(A)*8)
	sp.w = alloc(fp, int64(ntr)*int64(A)*8)
	u2 := alloc(tmp, int64(ldu)*int64(rk)*8)
	if err != nil {
		return nil, r.oom("decomposition", err)
	}
	for _, c := range []struct {
		p cu.DevicePtr
		v []float64
	}{{sp.f, fh}, {sp.fm1, fm1}, {sp.g, gh}, {sp.den, den}} {
		if err := upload(c.p, c.v, d.compute); err != nil {
			return nil, err
		}
	}
	if err := d.square64(u64, ldu*rk, u2); err != nil {
		return nil, err
	}
	base := 0.0
	if intercept {
		base = 1 / float64(ntr)
	}
	if err := d.looWeights(u2, ldu, ntr, rk, sp.f, A, base, sp.w); err != nil {
		return nil, err
	}
	if r.t != f64 && fz.outer && opts.Inner.Mode == engine.LOO {
		if err := r.hotRows(fp, sp, u64, fh); err != nil {
			return nil, err
		}
	}
	if r.t == f64 {
		// keep the float64 factors: move them from tmp to the fold's pool
		sp.u, sp.p = u64, p64
		tmp.ptrs = without(tmp.ptrs, u64, p64)
		fp.ptrs = append(fp.ptrs, u64, p64)
	} else {
		sp.u = alloc(fp, int64(ldu)*int64(rk)*4)
		sp.p = alloc(fp, int64(ldp)*int64(rk)*4)
		if err != nil {
			return nil, r.oom("decomposition", err)
		}
		if err := d.convert64to32(u64, ldu*rk, sp.u); err != nil {
			return nil, err
		}
		if err := d.convert64to32(p64, ldp*rk, sp.p); err != nil {
			return nil, err
		}
	}
	if err := d.compute.Synchronize(); err != nil {
		return nil, fmt.Errorf("cuda engine: decomposition: %w", err)
	}
	return sp, nil
}

// hotRows finds, per penalty, the training rows whose leave-one-out weight engine.HotRows picks,
// and prepares their float64 errors (looHot): their rows of the hat matrix U diag(f) U^T in
// sp.hotH (a float64 product on the device, from U's hot rows), their indices and weights, and
// their weights in sp.w set to 0, so that loo_update adds their errors instead of its own.
func (r *runner) hotRows(fp *pool, sp *split, u64 cu.DevicePtr, fh []float64) error {
	d, ntr, ldu, rk := r.d, sp.ntr, sp.ldu, sp.r
	A := len(r.s.opts.Alphas)
	w := make([]float64, ntr*A)
	if err := download(w, sp.w, d.compute); err != nil {
		return err
	}
	off := make([]int, A+1)
	var rows []int32
	var ws []float64
	var pen []int
	for a := range A {
		for _, i := range engine.HotRows(w[a*ntr : (a+1)*ntr]) {
			rows, ws, pen = append(rows, int32(i)), append(ws, w[a*ntr+i]), append(pen, a)
			w[a*ntr+i] = 0
		}
		off[a+1] = len(rows)
	}
	nh := len(rows)
	if nh == 0 || rk == 0 {
		return nil
	}
	u := make([]float64, ldu*rk) // rare: U is copied only when some row is hot
	if err := download(u, u64, d.compute); err != nil {
		return err
	}
	g := make([]float64, rk*nh) // column c: f_a(j) U[i, j], for hot row i of penalty a
	for c := range nh {
		a, i := pen[c], int(rows[c])
		for j := range rk {
			g[j+c*rk] = fh[a*rk+j] * u[i+j*ldu]
		}
	}
	var err error
	alloc := allocUntil(&err)
	var tmp pool
	tmp.d = d
	defer func() {
		d.compute.Synchronize()
		tmp.release()
	}()
	gd := alloc(&tmp, int64(rk*nh)*8)
	sp.hotH = alloc(fp, int64(ldu)*int64(nh)*8)
	sp.hotRows = alloc(fp, int64(nh)*4)
	sp.hotW = alloc(fp, int64(nh)*8)
	if err != nil {
		return r.oom("decomposition", err)
	}
	for _, e := range []error{upload(gd, g, d.compute), upload(sp.hotRows, rows, d.compute), upload(sp.hotW, ws, d.compute), upload(sp.w, w, d.compute)} {
		if e != nil {
			return e
		}
	}
	// hotH (ldu x nh) = U (ldu x rk) G (rk x nh), in float64
	if err := d.gemm(f64, false, false, ldu, nh, rk, u64, ldu, gd, rk, sp.hotH, ldu); err != nil {
		return err
	}
	sp.hotOff = off
	return nil
}

// complement stores in sp.uc the eigenvectors of the dual Gram matrix (gram, ntr x ntr
// column-major, cuSOLVER's output) that decompose did not keep, in the products' precision with
// zero padding rows, and marks the split complete. With an intercept the constant direction,
// which the intercept fits, is taken out of them (engine.ConstantFirst, on the host: nc is small,
// the null space of the centred rows).
func (r *runner) complement(fp *pool, sp *split, gram cu.DevicePtr, keepIdx []int, intercept bool) error {
	d, ntr := r.d, sp.ntr
	kept := make([]bool, ntr)
	for _, j := range keepIdx {
		kept[j] = true
	}
	sp.complete, sp.nc = true, ntr-len(keepIdx)
	if sp.nc == 0 {
		return nil
	}
	var tmp pool
	tmp.d = d
	defer func() {
		d.compute.Synchronize()
		tmp.release()
	}()
	c64, err := tmp.alloc(int64(sp.ldu) * int64(sp.nc) * 8)
	if err != nil {
		return r.oom("decomposition", err)
	}
	if err := d.zero(c64, int64(sp.ldu)*int64(sp.nc)*8); err != nil {
		return err
	}
	k := 0
	for j := 0; j < ntr; j++ {
		if kept[j] {
			continue
		}
		src := gram + cu.DevicePtr(int64(j)*int64(ntr)*8)
		if err := cu.MemcpyDtoDAsync(c64+cu.DevicePtr(int64(k)*int64(sp.ldu)*8), src, int64(ntr)*8, d.compute); err != nil {
			return fmt.Errorf("cuda engine: copy: %w", err)
		}
		k++
	}
	first := c64 // the first column kept
	if intercept {
		host := make([]float64, sp.ldu*sp.nc)
		if err := download(host, c64, d.compute); err != nil {
			return err
		}
		if engine.ConstantFirst(host, ntr, sp.nc, 1, sp.ldu) {
			if err := upload(c64, host, d.compute); err != nil {
				return err
			}
			first += cu.DevicePtr(int64(sp.ldu) * 8)
			sp.nc--
		}
		if err := d.compute.Synchronize(); err != nil { // host is read by the copy until then
			return fmt.Errorf("cuda engine: %w", err)
		}
		if sp.nc == 0 {
			return nil
		}
	}
	if r.t == f64 {
		tmp.ptrs = without(tmp.ptrs, c64)
		fp.ptrs = append(fp.ptrs, c64) // released by its base
		sp.uc = first
		return nil
	}
	if sp.uc, err = fp.alloc(int64(sp.ldu) * int64(sp.nc) * 4); err != nil {
		return r.oom("decomposition", err)
	}
	if err := d.convert64to32(first, sp.ldu*sp.nc, sp.uc); err != nil {
		return err
	}
	if !d.tf32 {
		return nil
	}
	if sp.ucl, err = fp.alloc(int64(sp.ldu) * int64(sp.nc) * 4); err != nil {
		return r.oom("decomposition", err)
	}
	return d.splitTF32(sp.uc, sp.ldu, sp.ldu, sp.nc, sp.uc, sp.ldu, sp.ucl, sp.ldu)
}

func without(ps []cu.DevicePtr, drop ...cu.DevicePtr) []cu.DevicePtr {
	out := ps[:0]
	for _, p := range ps {
		keep := true
		for _, q := range drop {
			keep = keep && p != q
		}
		if keep {
			out = append(out, p)
		}
	}
	return out
}

// --- target batches ---

// align is the granule, in elements, of the leading dimensions of the matrices the products
// read and write and of their stored row counts: cuBLAS's fast (tensor-core) kernels want C's
// rows (m), the stored rows of A and B (m or k, k or n, as transposed) and every leading
// dimension to be whole 16-byte vectors, and fall back to slower ones otherwise (cuBLAS
// documentation, "Tensor Core Usage"); W2's 17,958 training rows and 28,726 targets are not.
// The rank r is never a stored row count in these products (it is n of U^T Yc, k of the others)
// and is not padded. 32 elements also start every column on a 128-byte line.
const align = 32

// padded rounds n up to a whole number of granules.
func padded(n int) int { return (n + align - 1) / align * align }

// batchLd is the leading dimension of a batch of bs targets: bs padded to whole granules, or bs
// itself for a batch smaller than one granule (tiny problems, memory caps that tight).
func batchLd(bs int) int {
	if bs < align {
		return bs
	}
	return padded(bs)
}

// productRows is the number of target rows a product over a batch of mb targets runs over:
// mb padded within the batch's leading dimension. The rows past mb hold whatever is there
// (stale targets, never-written memory); a product's row depends on the same row of its
// operand only, so they never reach a real target.
func (b *batch) productRows(mb int) int { return min(padded(mb), b.ld) }

// batch holds the device buffers of one batch of up to bs targets. Its matrices are
// column-major with ld rows, a target per row (Yc^T and so on).
type batch struct {
	bs, ld               int
	yc, z, zf, yh, pred  cu.DevicePtr // precision t: ldu x ld, r x ld, r x ld, ldu x ld, ldp x ld (columns x ld)
	mean, best, rr, crit cu.DevicePtr // float64: bs, bs, bs, A x bs (shared penalty only)
	cnst, idx, deg       cu.DevicePtr // int32: bs
	staged               [2]cu.DevicePtr
	hostIdx              []int32
	hostR                []float64
	hostDeg              []int32
	hostCrit             []float64

	// Inner k-fold selection (KFoldInner only), sized for the largest inner split; the inner
	// training targets go to yh (ntr_i < ntr rows), the criteria to crit.
	kz, kgz, kpred cu.DevicePtr // precision t: r_i x ld, r_i x ld, ldp_i x ld
	kmean          cu.DevicePtr // float64: bs, the inner training means

	// TF32 mode with a complete decomposition: Zc = uc^T Yc (nc x ld), for complementResidual
	zc cu.DevicePtr

	// Splits with hot rows (split.hotOff): their float64 errors per penalty (A x ld)
	extra cu.DevicePtr
}

// perTarget is the device memory one target (one row of ld) of a batch takes.
func (r *runner) perTarget(sp *split, inner []*split) int64 {
	es := r.t.size()
	A := int64(len(r.s.opts.Alphas))
	b := es*(2*int64(sp.ldu)+2*int64(sp.r)+int64(sp.ldp)) + 8*(3+A) + 4*3
	if r.s.dy == 0 {
		b += 2 * es * int64(r.x.Rows)
	}
	if len(inner) > 0 {
		rmax, ldpmax := innerMax(inner)
		b += es*(2*int64(rmax)+int64(ldpmax)) + 8
	}
	if sp.ucl != 0 {
		b += es * int64(sp.nc)
	}
	if sp.hotOff != nil {
		b += 8 * A
	}
	return b
}

// innerMax returns the largest rank and padded validation size over the inner splits.
func innerMax(inner []*split) (rmax, ldpmax int) {
	for _, sp := range inner {
		rmax, ldpmax = max(rmax, sp.r), max(ldpmax, sp.ldp)
	}
	return rmax, ldpmax
}

// maxColumns is the most columns (of ld rows) of any batch matrix: cuBLAS's 32-bit interface
// is not trusted with a matrix past 2^31 elements, so batches stay under 2^31 / maxColumns.
func maxColumns(sp *split, inner []*split) int {
	rmax, ldpmax := innerMax(inner)
	return max(sp.ldu, sp.ldp, sp.r, rmax, ldpmax, 1)
}

func (r *runner) allocBatch(p *pool, sp *split, inner []*split, bs, ld int) (*batch, error) {
	es, A := r.t.size(), int64(len(r.s.opts.Alphas))
	b := &batch{bs: bs, ld: ld}
	n, nl := int64(bs), int64(ld)
	var err error
	own := pool{d: p.d} // released on failure without touching p's other allocations
	alloc := allocUntil(&err)
	al := func(bytes int64) cu.DevicePtr { return alloc(&own, bytes) }
	b.yc = al(es * int64(sp.ldu) * nl)
	b.yh = al(es * int64(sp.ldu) * nl)
	b.z = al(es * int64(sp.r) * nl)
	b.zf = al(es * int64(sp.r) * nl)
	b.pred = al(es * int64(sp.ldp) * nl)
	b.mean, b.best, b.rr = al(8*n), al(8*n), al(8*n)
	if r.s.opts.SharedAlpha || len(inner) > 0 {
		b.crit = al(8 * A * n)
	}
	if len(inner) > 0 {
		rmax, ldpmax := innerMax(inner)
		b.kz = al(es * int64(rmax) * nl)
		b.kgz = al(es * int64(rmax) * nl)
		b.kpred = al(es * int64(ldpmax) * nl)
		b.kmean = al(8 * n)
	}
	if sp.ucl != 0 {
		b.zc = al(es * int64(sp.nc) * nl)
	}
	if sp.hotOff != nil {
		b.extra = al(8 * A * n)
	}
	b.cnst, b.idx, b.deg = al(4*n), al(4*n), al(4*n)
	if r.s.dy == 0 {
		b.staged[0] = al(es * int64(r.x.Rows) * n)
		b.staged[1] = al(es * int64(r.x.Rows) * n)
	}
	if err != nil {
		own.release()
		return nil, err
	}
	p.ptrs = append(p.ptrs, own.ptrs...)
	b.hostIdx, b.hostR, b.hostDeg = make([]int32, bs), make([]float64, bs), make([]int32, bs)
	return b, nil
}

// batches sizes and allocates the target batch: from the free device memory capped by the
// memory limit and MaxBatch, or bs when it is not 0 (a retry); an out-of-memory allocation
// halves the batch and retries.
func (r *runner) batches(p *pool, sp *split, inner []*split, bs int) (*batch, error) {
	d, m := r.d, r.s.y.Cols
	per, fit := r.fitTargets(sp, inner, 0)
	bs = r.batchSize(sp, inner, fit, bs)
	most := math.MaxInt32 / maxColumns(sp, inner)
	ld := batchLd(bs)
	if (int64(ld) > fit && bs == m) || ld > most {
		ld = bs // every target fits, their padding does not; or the padding would pass 2^31
	}
	if r.s.failAllocs > 0 {
		d.failAllocs, r.s.failAllocs = r.s.failAllocs, 0
	}
	for {
		b, err := r.allocBatch(p, sp, inner, bs, ld)
		if err == nil {
			return b, nil
		}
		if !errors.Is(err, errDeviceOOM) || bs == 1 {
			return nil, r.oom(fmt.Sprintf("a batch of %d targets (%s)", bs, engine.FormatBytes(int64(ld)*per)), err)
		}
		bs = wholeGranules(bs / 2)
		ld = batchLd(bs)
	}
}

// fitTargets returns the bytes one target's batch columns take and how many targets fit in the
// memory left (free device memory, and the engine's limit), with freed more bytes.
func (r *runner) fitTargets(sp *split, inner []*split, freed int64) (per, fit int64) {
	d := r.d
	per = r.perTarget(sp, inner)
	avail := (d.freeMem() + freed) * 9 / 10
	if d.limit > 0 {
		avail = min(avail, d.limit-d.used+freed)
	}
	return per, max(avail/per, 0)
}

// batchSize is the batch for fit targets of memory (bs, when not 0, chosen already), in whole
// granules unless every target fits, capped by 2^31 elements per matrix and MaxBatch.
func (r *runner) batchSize(sp *split, inner []*split, fit int64, bs int) int {
	m := r.s.y.Cols
	if bs == 0 {
		bs = int(min(fit, int64(m)))
		if bs < m {
			bs = wholeGranules(bs)
		}
	}
	if most := math.MaxInt32 / maxColumns(sp, inner); bs > most {
		bs = wholeGranules(most)
	}
	if r.s.opts.MaxBatch > 0 {
		bs = min(bs, r.s.opts.MaxBatch)
	}
	return max(bs, 1)
}

// costsBatches reports whether holding fz (the next matrix's work, queued during this last
// fold) would split the fold's targets into more batches than without it.
func (r *runner) costsBatches(sp *split, inner []*split, fz *factoring) bool {
	m := r.s.y.Cols
	batches := func(freed int64) int {
		_, fit := r.fitTargets(sp, inner, freed)
		bs := r.batchSize(sp, inner, fit, 0)
		return (m + bs - 1) / bs
	}
	return batches(0) > batches(fz.bytes(r.d))
}

// wholeGranules rounds a batch size down to whole granules (align), when it is at least one.
func wholeGranules(bs int) int {
	if bs < align {
		return bs
	}
	return bs / align * align
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
		fz, err = r.prepareSplit(fold, true, r.activations())
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
	inner, err := r.decomposeInner(&fp, f, fold)
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
			r.next, err = r.prepareSplit(opts.Folds[f+1], true, r.activations())
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
			if err := r.selectPenalty(sp, inner, b, mb); err != nil {
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
		if err := r.selectPenalty(sp, inner, b, mb); err != nil {
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
				return fmt.Errorf("cuda engine: %w", err)
			}
			type gathered struct {
				buf any
				dt  time.Duration
			}
			ch := make(chan gathered, 1)
			old := r.host[k2]
			go func() {
				t0 := time.Now()
				h := stageCols(r.s.y, r.allRows, next, next+nmb, r.t, r.s.shift, old)
				ch <- gathered{h, time.Since(t0)}
			}()
			r.pending = func() error {
				g := <-ch
				r.host[k2] = g.buf
				r.tm.Transfer += g.dt
				if err := uploadAny(b.staged[k2], g.buf, d.copy); err != nil {
					return err
				}
				if err := r.copied[k2].Record(d.copy); err != nil {
					return fmt.Errorf("cuda engine: event: %w", err)
				}
				return nil
			}
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

// presync issues the pending upload of the next batch, if any, and the next fold's
// factorisation, if not yet queued (called before a batch's results are read back, which waits
// for its compute: the work queued before it is then on the device's queues).
func (r *runner) presync() error {
	if r.next != nil && !r.next.queued {
		if err := r.queueSplit(r.next); err != nil {
			layer := r.next.layer != nil
			r.dropNext()
			if !errors.Is(err, errDeviceOOM) && !layer {
				return err
			}
			// out of memory in a library's workspace: the next fold is factorised when it
			// comes; the next matrix's work (withdrawn, or any error) is given up
		}
	}
	p := r.pending
	r.pending = nil
	if p == nil {
		return nil
	}
	return p()
}

// prefetch gathers targets [c0, c0+mb) of every row on the host and uploads them into staging
// buffer k on the copy stream.
func (r *runner) prefetch(b *batch, k, c0, mb int) error {
	d := r.d
	t0 := time.Now()
	if err := r.copied[k].Synchronize(); err != nil { // the previous upload from host[k] is done
		return fmt.Errorf("cuda engine: %w", err)
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
	if err := d.gatherCenter(t, t, ysrc, ldy, sp.train, sp.ntr, mb, mean, zero, b.yc, ld); err != nil {
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
// float32's accuracy (TF32 mode only; leave-one-out selection only, the one reader of b.yc
// after Z).
//
// Why: the leave-one-out residual at penalty a is Yc - U diag(f) Z, and at small penalties
// (f near 1, above all when n < d and U spans nearly all of Yc) it is a small difference of large
// terms, so the product's TF32 rounding (relative 2^-11) swamps it and picks the wrong penalty
// (measured on the simulator: |r| off by 0.06, 95% of penalties agreeing). Written as
// R0 + U diag(1-f) Z, the TF32 product is of the small term only: loo_update's yc - yh with
// yc = R0 and yh = U diag(f-1) Z. R0 itself is three TF32 products of split operands
// (gemm3xTF32), float32-accurate at tensor-core speed. Result.Flops counts the algorithm's
// products, so neither R0 nor the split's extra products are in it: they show as time.
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
// criteria into b.crit in shared mode).
func (r *runner) selectPenalty(sp *split, inner []*split, b *batch, mb int) error {
	d, t, opts, ld := r.d, r.t, r.s.opts, b.ld
	A := len(opts.Alphas)
	if opts.Inner.Mode == engine.KFoldInner {
		return r.selectKFold(inner, b, mb)
	}
	if opts.Inner.Mode == engine.GCV {
		// With a complete decomposition the residual outside U is R0 = uc uc^T Yc, formed in
		// b.yc (which GCV reads last), rather than |Yc|² - |Z|² (the CPU engine's |Zc|²).
		if sp.complete {
			if err := r.complementResidual(sp, b, mb); err != nil {
				return err
			}
		}
		if err := d.gcvSelect(t, b.yc, ld, sp.ntr, b.z, ld, sp.r, mb, sp.f, sp.den, A, b.crit, mb, b.best, b.idx, sp.complete); err != nil {
			return err
		}
		return r.mark(&r.tm.Select)
	}
	// The penalties whose residual is Yc - U diag(f) Z (classic), then those whose residual is
	// R0 - U diag(f-1) Z, with b.yc replaced by R0 = Yc - U Z in between: every penalty in TF32
	// mode (see looResiduals), those ResidualDirect picks with a complete decomposition (float32
	// and float64; R0 = uc uc^T Yc). The argmin is the grid's whatever the order (loo_update).
	var classic, direct []int
	for a := 0; a < A; a++ {
		if d.tf32 || (sp.complete && sp.direct[a]) {
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
	// rows and columns. TF32 without an intercept: in float32, as the predictions are then
	// offset + signal and TF32's rounding of the offset (2^-11) swamped the signal (r of -0.77
	// for 0.86); with an intercept P is centred and TF32 keeps |r| within 0.005.
	noTF32 := d.tf32 && opts.NoIntercept
	if noTF32 {
		if err := cublasSetup(d.blas, d.compute, false); err != nil {
			return err
		}
	}
	err := d.gemm(t, false, true, b.productRows(mb), sp.ldp, sp.r, b.zf, ld, sp.p, sp.ldp, b.pred, ld)
	if noTF32 {
		if serr := cublasSetup(d.blas, d.compute, true); err == nil {
			err = serr
		}
	}
	if err != nil {
		return err
	}
	r.res.Flops += 2 * float64(sp.nte) * float64(sp.r) * float64(mb)
	if err := r.mark(&r.tm.Refit); err != nil {
		return err
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
	return nil
}

func (r *runner) progress() {
	r.done++
	if p := r.s.opts.Progress; p != nil {
		p(r.done, r.work)
	}
}
