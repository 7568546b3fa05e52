//go:build cuda

package cuda

import (
	"fmt"
	"math"
	"slices"
	"time"

	"gorgonia.org/cu"

	"github.com/brainalign/brainalign/engine"
)

// The decomposition of a training split (one outer or inner fold's training rows), shared by the
// whole penalty grid and every target: the Gram matrix or its dual, cuSOLVER's eigensolver in
// float64, the factors the products use, the training rows of high leverage (hotRows) and the
// constant direction taken out (complement). A factorisation is queued on the decomposition
// stream while the previous fold's products run.

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
	// Outer splits: the powers of two P and each penalty's g were brought to unit size by
	// (the held-out prediction's scale is free for Pearson r; Predict takes them back).
	pscale float64
	gscale []float64
	w      cu.DevicePtr // ntr x A: 1/(1-h(a))
	rest   cu.DevicePtr // ntr, complete splits: ucRow2 on the device (loo_weights)
	den    cu.DevicePtr // A: (1 - tr(H(a))/ntr)², GCV

	// Outer splits whose predictions are kept (Predict, Options.KeepPredictions): the column
	// centres over the held-out rows taken off P (see finishSplit), in float64 (pmean) and
	// times the power of two pmscale in precision t (pm, r values) for heldOutShift.
	pmean   []float64
	pm      cu.DevicePtr
	pmscale float64

	// Leave-one-out with the dual decomposition (no more training rows than features): U and
	// uc (ntr x nc, ld ldu, precision t: the other eigenvectors of Xc Xc^T) span the training
	// rows, and the residual of the penalties marked direct is computed as U diag(1-f) Z +
	// uc uc^T Yc, as the CPU engine does (engine.ResidualDirect, fallback's decomposition).
	complete bool
	nc       int
	ucRow2   []float64 // per training row, sum_c uc_ic²: 1-h_i = ucRow2_i + sum_j U_ij² a/(s_j²+a)
	uc       cu.DevicePtr
	ucl      cu.DevicePtr // TF32 mode: uc - tf32(uc), uc itself rounded to TF32 (as U, splitU)
	direct   []bool       // per penalty (complete splits, and every split in TF32 mode: looResiduals)

	// Leave-one-out in float32/TF32: the training rows of leverage near 1 (engine.HotRows), whose
	// errors loo_hot computes in float64 (their weights in w are 0): for penalty a, columns
	// hotOff[a] to hotOff[a+1] of hotH (ldu x nh float64: the rows' hat-matrix rows), hotRows
	// (int32) and hotW (float64, their weights). hotOff is nil without hot rows.
	hotOff              []int
	hotH, hotRows, hotW cu.DevicePtr

	// Predict's fitted model (Options.Weights) only: V (d x r column-major, ld d, precision t),
	// the weights being V diag(g) Z, and the training rows' column means (nil without an
	// intercept), for the intercepts.
	v     cu.DevicePtr
	xmean []float64

	// Options.Standardize: each feature's factor (d float64, engine.StandardScale of the outer
	// training rows), applied after centring to the training and test rows; inner splits are
	// given their outer split's. 0 otherwise.
	xscale cu.DevicePtr
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
	// The prepared (centred, standardised) rows of a block of width features, width x ntr and
	// width x nte column-major: every feature in the primal decomposition, or with no more
	// training rows than features featureBlock at a time (prepareBlock).
	xtr, xte cu.DevicePtr
	width    int
	kte      cu.DevicePtr // dual decomposition with test rows: Xtest_c Xc^T, nte x ntr column-major
	mean     cu.DevicePtr // training column means (intercept only)
	// Options.Standardize: the factor each feature is multiplied by after centring. An outer
	// split's own (kept: inner splits and the model use it), from its training rows' means
	// (mean, or smean without an intercept) and centred sums of squares ss; an inner split's is
	// its outer split's (ss 0). With an intercept, the centred rows are centred again by their
	// training rows' means, rmean (see fallback's rowPreparer.block), before ss is taken.
	scale, smean, ss, rmean cu.DevicePtr
	gram, lam               cu.DevicePtr // Gram matrix, then its eigenvectors; eigenvalues
	work, info              cu.DevicePtr
	lwork                   int
	queued                  bool
	ahead                   bool     // prepared during the previous fold, to run alongside its products
	outer                   bool     // an outer fold (its P and g feed only the Pearson-scored prediction)
	start, done             cu.Event // on aux, around the queued work
}

// prepareSplit allocates a factoring of fold's rows of src (an outer fold, or an inner split,
// which is given its outer split's feature scaling, xscale); nothing is queued yet.
func (r *runner) prepareSplit(fold engine.Fold, outer bool, src activations, xscale cu.DevicePtr) (*factoring, error) {
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
	fz.width = nd
	if !fz.primal {
		fz.width = min(nd, featureBlock)
		if nte > 0 {
			fz.kte = alloc(&fz.tmp, int64(nte)*int64(ntr)*8)
		}
	}
	fz.xtr = alloc(&fz.tmp, int64(fz.width)*int64(ntr)*8)
	fz.xte = alloc(&fz.tmp, int64(fz.width)*int64(nte)*8)
	if !r.s.opts.NoIntercept {
		fz.mean = alloc(&fz.tmp, int64(nd)*8)
	}
	if r.s.opts.Standardize {
		fz.scale = xscale
		if xscale == 0 {
			fz.scale = alloc(&fz.keep, int64(nd)*8)
			fz.ss = alloc(&fz.tmp, int64(nd)*8)
			if fz.mean == 0 {
				fz.smean = alloc(&fz.tmp, int64(nd)*8)
			}
		}
		if fz.mean != 0 {
			fz.rmean = alloc(&fz.tmp, int64(nd)*8)
		}
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
	dx := fz.src.dx
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
		if fz.primal {
			if err := r.prepareBlock(fz, 0, nd, true, true); err != nil {
				return err
			}
			// xtr is d x ntr column-major (Xc row-major): row-major gram (d x d) = Xc^T Xc;
			// column-major: xtr xtr^T (N, T; m = n = d, k = ntr)
			if err := d.gemm(f64, false, true, nd, nd, ntr, fz.xtr, nd, fz.xtr, nd, fz.gram, nd); err != nil {
				return err
			}
		}
		for c0 := 0; !fz.primal && c0 < nd; c0 += fz.width {
			// The Gram matrix and the test rows' kernel are sums over the features, a block of
			// them at a time (fallback's decomposeFrom): row-major gram (ntr x ntr) += Xc Xc^T,
			// column-major xtr^T xtr (T, N; m = n = ntr, k = w); column-major kte (nte x ntr) +=
			// xte^T xtr, row-major Xtest_c Xc^T.
			c1 := min(nd, c0+fz.width)
			w, beta := c1-c0, 1.0
			if c0 == 0 {
				beta = 0
			}
			if err := r.prepareBlock(fz, c0, c1, true, true); err != nil {
				return err
			}
			if err := d.gemmScaled(f64, true, false, ntr, ntr, w, 1, fz.xtr, w, fz.xtr, w, beta, fz.gram, ntr); err != nil {
				return err
			}
			if nte > 0 {
				if err := d.gemmScaled(f64, true, false, nte, ntr, w, 1, fz.xte, w, fz.xtr, w, beta, fz.kte, nte); err != nil {
					return err
				}
			}
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

// featureBlock is how many features the dual decomposition prepares at a time (fallback's
// featureBlock: the same constant, for the same sums; tests lower it).
var featureBlock = 4096

// prepareBlock gathers features [c0, c1) of fz's training rows into fz.xtr (w x ntr column-major,
// w = c1-c0: row-major Xc's columns c0 to c1) and, with test, its test rows into fz.xte, prepared
// as fallback's rowPreparer.block does, on the current stream: centred by the training rows'
// means (mean); standardised with an intercept, centred again by the centred training rows' means
// (rmean: what the first means' rounding errors left, which scaling would bring to unit scale at
// a large offset and small spread, as RidgeCV centres the scaler's output again), then scaled. On
// first, the block's means (and an outer split's own factors, from ss) are taken from its
// training rows; after, they are reused (the dual decomposition's V, a block at a time).
func (r *runner) prepareBlock(fz *factoring, c0, c1 int, first, test bool) error {
	d := r.d
	ntr, nte, nd, w := len(fz.fold.Train), len(fz.fold.Test), fz.src.cols, c1-c0
	xt := fz.src.xt
	if !test {
		nte = 0
	}
	a := fz.src.dx + cu.DevicePtr(int64(c0)*xt.size())
	at := func(p cu.DevicePtr) cu.DevicePtr { // the block's part of a per-feature vector
		if p == 0 {
			return 0
		}
		return p + cu.DevicePtr(int64(c0)*8)
	}
	mean, smean, ss, scale, rmean := at(fz.mean), at(fz.smean), at(fz.ss), at(fz.scale), at(fz.rmean)
	own := first && ss != 0
	if rmean != 0 {
		if first {
			if err := d.colStats(xt, a, nd, fz.train, ntr, w, mean, 0, 0); err != nil {
				return err
			}
		}
		if err := d.gatherCenter(xt, f64, a, nd, fz.train, ntr, w, mean, 0, fz.xtr, w, 0); err != nil {
			return err
		}
		if err := d.gatherCenter(xt, f64, a, nd, fz.test, nte, w, mean, 0, fz.xte, w, 0); err != nil {
			return err
		}
		if first {
			if err := d.colStats(f64, fz.xtr, w, 0, ntr, w, rmean, 0, ss); err != nil {
				return err
			}
		}
		if own {
			// the constant test's bound takes the column's own mean
			if err := d.colScale(mean, ss, ntr, w, scale); err != nil {
				return err
			}
		}
		// in place: each element is read and written by the same thread
		if err := d.gatherCenter(f64, f64, fz.xtr, w, 0, ntr, w, rmean, 0, fz.xtr, w, scale); err != nil {
			return err
		}
		return d.gatherCenter(f64, f64, fz.xte, w, 0, nte, w, rmean, 0, fz.xte, w, scale)
	}
	switch {
	case own: // standardised by its own training rows, no intercept
		if err := d.colStats(xt, a, nd, fz.train, ntr, w, smean, 0, ss); err != nil {
			return err
		}
		if err := d.colScale(smean, ss, ntr, w, scale); err != nil {
			return err
		}
	case first && mean != 0:
		if err := d.colStats(xt, a, nd, fz.train, ntr, w, mean, 0, 0); err != nil {
			return err
		}
	}
	if err := d.gatherCenter(xt, f64, a, nd, fz.train, ntr, w, mean, 0, fz.xtr, w, scale); err != nil {
		return err
	}
	return d.gatherCenter(xt, f64, a, nd, fz.test, nte, w, mean, 0, fz.xte, w, scale)
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

// decompose factorises the centred (and with xscale, its outer split's, scaled) training rows
// of an inner split in float64 and projects its test rows, exactly as fallback's decompose
// does, waiting for the work.
func (r *runner) decompose(fp *pool, fold engine.Fold, xscale cu.DevicePtr) (*split, error) {
	fz, err := r.prepareSplit(fold, false, r.activations(), xscale)
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
		return nil, fmt.Errorf("cuda engine: waiting for the decomposition: %w", err)
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
	sp := &split{ntr: ntr, nte: nte, ldu: padded(ntr), ldp: padded(nte), train: fz.train, test: fz.test, xscale: fz.scale}
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
			if nte > 0 { // none when Predict fits the model alone
				// Column-major P (nte x rk) = kte (nte x ntr, queueSplit's) U (ntr x rk).
				if err := d.gemm(f64, false, false, nte, rk, ntr, fz.kte, nte, u64, ldu, p64, ldp); err != nil {
					return nil, err
				}
				if err := d.scaleCols(f64, p64, ldp, nte, rk, dinvs, p64, ldp); err != nil {
					return nil, err
				}
			}
		}
	}
	if fz.outer && r.pred != nil && r.pred.weights {
		if err := r.rightVectors(fp, tmp, sp, fz, vecs, u64, dinvs); err != nil {
			return nil, err
		}
	}
	if (fz.outer || opts.Inner.Score == engine.Pearson) && rk > 0 && nte > 0 {
		// An outer fold's P only feeds the held-out prediction, whose Pearson r ignores a shift
		// (and its scale, below); so does an inner split's scored by Pearson r. Its columns are
		// centred on the held-out rows, by their medians, in float64 (centreRows), so that
		// held-out rows far from the training rows' mean do not lose their spread to float32's
		// rounding of their shared offset (as the CPU engine's newSplit; the predictions in the
		// data's units add it back, heldOutShift).
		centre, err := r.centreRows(tmp, p64, ldp, nte, rk)
		if err != nil {
			return nil, err
		}
		if fz.outer && (r.pred != nil || r.kept != nil) {
			if err := r.keepShift(fp, sp, centre); err != nil {
				return nil, err
			}
		}
	}
	if fz.outer && rk > 0 && nte > 0 {
		// A power of two brings P near unit size (engine.UnitScale; |P| is about
		// sqrt(lambda_max / ntr)), so that tiny features do not underflow float32 predictions.
		ps := alloc(tmp, int64(rk)*8)
		if err != nil {
			return nil, r.oom("decomposition", err)
		}
		sp.pscale = engine.UnitScale(math.Sqrt(slices.Max(s2) / float64(ntr)))
		if r.pred != nil || r.kept != nil {
			// Predictions are given back in the data's units, and Predict's new stimuli may be
			// far larger than the training rows the estimate above is of: P's own largest
			// value sets the scale, as the CPU engine's (a power of two either way: the
			// scores keep their bits)
			var most float64
			if most, err = r.maxAbs(p64, ldp, nte, rk); err != nil {
				return nil, err
			}
			sp.pscale = engine.UnitScale(most)
		}
		if err := d.fill64(ps, rk, sp.pscale); err != nil {
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
		for j, v := range s2 {
			fh[a*rk+j] = v / (v + alpha)
			fm1[a*rk+j] = -alpha / (v + alpha)
			gh[a*rk+j] = math.Sqrt(v) / (v + alpha)
		}
		den[a] = engine.GCVDenominator(s2, alpha, ntr, sp.nc, intercept, sp.complete)
		if fz.outer {
			// refit only: a positive factor per target, r unchanged (engine.UnitScale)
			sp.gscale = append(sp.gscale, engine.ScaleToUnit(gh[a*rk:(a+1)*rk]))
		}
		if sp.complete || r.d.tf32 {
			sp.direct = append(sp.direct, engine.ResidualDirect(fh[a*rk:(a+1)*rk]))
		}
	}
	sp.f = alloc(fp, int64(rk*A)*8)
	sp.fm1 = alloc(fp, int64(rk*A)*8)
	sp.g = alloc(fp, int64(rk*A)*8)
	sp.den = alloc(fp, int64(A)*8)
	sp.w = alloc(fp, int64(ntr)*int64(A)*8)
	if sp.complete {
		sp.rest = alloc(fp, int64(ntr)*8)
	}
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
	if sp.complete {
		// 1-h summed as ucRow2 + sum_j U² (1-f), from f - 1 (fallback's looWeights)
		if err := upload(sp.rest, sp.ucRow2, d.compute); err != nil {
			return nil, err
		}
		if err := d.looWeights(u2, ldu, ntr, rk, sp.fm1, A, 0, sp.rest, sp.w); err != nil {
			return nil, err
		}
	} else {
		base := 0.0
		if intercept {
			base = 1 / float64(ntr)
		}
		if err := d.looWeights(u2, ldu, ntr, rk, sp.f, A, base, 0, sp.w); err != nil {
			return nil, err
		}
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
		return nil, fmt.Errorf("cuda engine: waiting for the decomposition's factors: %w", err)
	}
	return sp, nil
}

// centreRows takes each column's median over the rows engine.CentreRows picks off p64 (n x rk
// column-major float64, ld ldp), in float64 on the device, and returns the medians: each sampled
// row is copied out by a 1 x 1 by 1 x rk product (a row of p64 is a 1 x rk matrix of leading
// dimension ldp; times 1, exact) and read back. Nothing of the size of n x the sample is held
// (Predict's new stimuli may be a million rows).
func (r *runner) centreRows(tmp *pool, p64 cu.DevicePtr, ldp, n, rk int) ([]float64, error) {
	d := r.d
	rows := engine.CentreRows(n)
	K := len(rows)
	var err error
	alloc := allocUntil(&err)
	ones := alloc(tmp, int64(n)*8)
	sample := alloc(tmp, int64(K)*int64(rk)*8)
	dcentre := alloc(tmp, int64(rk)*8)
	if err != nil {
		return nil, r.oom("decomposition", err)
	}
	if err := d.fill64(ones, n, 1); err != nil {
		return nil, err
	}
	for k, i := range rows { // sample's row k (K x rk, column-major) = 1 x p64's row i
		if err := d.gemm(f64, false, false, 1, rk, 1, ones, 1, p64+cu.DevicePtr(int64(i)*8), ldp, sample+cu.DevicePtr(int64(k)*8), K); err != nil {
			return nil, err
		}
	}
	at := make([]float64, K*rk)
	if err := download(at, sample, d.compute); err != nil {
		return nil, err
	}
	centre := make([]float64, rk)
	for j := range centre {
		centre[j] = engine.Median(at[j*K : (j+1)*K])
	}
	if err := upload(dcentre, centre, d.compute); err != nil {
		return nil, err
	}
	// p64 -= 1 centre^T
	if err := d.gemmScaled(f64, false, false, n, rk, 1, -1, ones, n, dcentre, 1, 1, p64, ldp); err != nil {
		return nil, err
	}
	return centre, nil
}

// keepShift keeps the centres taken off an outer split's P (r values) for the predictions in
// the data's units: in sp.pmean, and times a power of two that brings them near unit size in
// sp.pm, in the products' precision.
func (r *runner) keepShift(fp *pool, sp *split, centre []float64) error {
	sp.pmean = centre
	scaled := slices.Clone(centre)
	sp.pmscale = engine.ScaleToUnit(scaled)
	var err error
	if sp.pm, err = fp.alloc(int64(sp.r) * r.t.size()); err != nil {
		return r.oom("decomposition", err)
	}
	if r.t == f64 {
		return upload(sp.pm, scaled, r.d.compute)
	}
	f32 := make([]float32, len(scaled))
	for j, v := range scaled {
		f32[j] = float32(v)
	}
	return upload(sp.pm, f32, r.d.compute)
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
	sp.ucRow2 = make([]float64, ntr)
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
	host := make([]float64, sp.ldu*sp.nc)
	if err := download(host, c64, d.compute); err != nil {
		return err
	}
	col0 := 0
	if intercept && engine.ConstantFirst(host, ntr, sp.nc, 1, sp.ldu) {
		if err := upload(c64, host, d.compute); err != nil {
			return err
		}
		first += cu.DevicePtr(int64(sp.ldu) * 8)
		col0 = 1
		sp.nc--
	}
	for c := col0; c < col0+sp.nc; c++ {
		for i, v := range host[c*sp.ldu : c*sp.ldu+ntr] {
			sp.ucRow2[i] += v * v
		}
	}
	if err := d.compute.Synchronize(); err != nil { // host is read by the copy until then
		return fmt.Errorf("cuda engine: waiting for the complement's upload: %w", err)
	}
	if sp.nc == 0 {
		return nil
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
