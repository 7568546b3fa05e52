//go:build cuda

package cuda

import (
	"fmt"

	"gorgonia.org/cu"

	"github.com/brainalign/brainalign/engine"
)

// Inner K-fold selection (--inner kfold:K[:r2|pearson]), step by step as fallback's
// decomposeFold and kfold: one decomposition per inner split of the outer training fold, then
// per target batch and inner split Z_i = U_i^T Yc_i (the inner training targets, centred on
// their own mean), per penalty the validation prediction P_i diag(s/(s²+a)) Z_i and its score;
// the criterion is minus the mean score over the inner splits, its argmin (first penalty on
// ties) the choice.

// decomposeInner factorises the inner splits of outer fold f (nil unless the inner mode is
// KFoldInner): engine.KFold over the fold's training rows in order, each split's rows picked
// from the outer training rows and scaled as the outer split's (Options.Standardize), as
// fallback's decomposeFold. The splits' allocations go to fp.
func (r *runner) decomposeInner(fp *pool, f int, fold engine.Fold, outer *split) ([]*split, error) {
	opts := r.s.opts
	if opts.Inner.Mode != engine.KFoldInner {
		return nil, nil
	}
	ifolds, err := engine.KFold(len(fold.Train), opts.Inner.K)
	if err != nil {
		return nil, fmt.Errorf("fold %d: inner %w", f, err)
	}
	inner := make([]*split, 0, len(ifolds))
	for _, in := range ifolds {
		sp, err := r.decompose(fp, engine.Fold{Train: engine.Pick(fold.Train, in.Train), Test: engine.Pick(fold.Train, in.Test)}, outer.xscale)
		if err != nil {
			return nil, fmt.Errorf("fold %d: inner split: %w", f, err)
		}
		inner = append(inner, sp)
	}
	return inner, nil
}

// selectKFold fills b.crit (A x mb, ld mb: criterion of penalty a for target j at j + a*mb)
// with minus the mean inner-split score and b.idx with each target's argmin. It reads only the
// batch's brain data ysrc (the device copy, ld ldy, as stage) and overwrites b.yh, b.kz, b.kgz,
// b.kpred, b.kmean, b.cnst, b.rr and b.deg (b.z and b.zf, which the refit reads, are untouched;
// b.cnst is stage's, free once Yc is centred).
func (r *runner) selectKFold(inner []*split, b *batch, mb int, ysrc cu.DevicePtr, ldy int) (err error) {
	d, t, opts, ld, mp := r.d, r.t, r.s.opts, b.ld, b.productRows(mb)
	A := len(opts.Alphas)
	K := float64(len(inner))
	if d.tf32 {
		// The inner products in float32: their R² and Pearson criteria compare predictions of
		// held-out rows whose TF32 rounding (2^-11 of terms that cancel, without an intercept
		// above all) moved |r| by up to 0.34 on small random problems; TF32 keeps the outer
		// products.
		if err := cublasSetup(d.blas, d.compute, false); err != nil {
			return err
		}
		defer func() {
			// TF32 again for the outer products, or the error: they would run in float32
			if serr := cublasSetup(d.blas, d.compute, true); err == nil {
				err = serr
			}
		}()
	}
	if err := d.zero(b.crit, 8*int64(A)*int64(mb)); err != nil {
		return err
	}
	for _, sp := range inner {
		// Inner training targets, centred on the inner training rows, into b.yh: column-major
		// mb x ntr_i (ld b.ld), i.e. row-major Yi (ntr_i x mb). They and the validation targets
		// are the brain data's rows as stage takes them, shifted by the columns' medians, not
		// Yc's: Yc's rows share the outer training mean, which a row 1e9 times the others moves
		// 1e7 from every other row, whose digits float32 lost to it (|r| off float64 by 0.12
		// with kfold:4, 0.14 with kfold:4:pearson), as fallback's kfold. A target exactly
		// constant on the inner training rows becomes exact zeros, as stage's and fallback's
		// centreCols: the mean's rounding left ~1e-17, a prediction of rounding noise that
		// Pearson scored as a real r.
		var mu, zero cu.DevicePtr // inner training means (mb) and constant flags, or none without an intercept
		if !opts.NoIntercept {
			if err := d.colStats(t, ysrc, ldy, sp.train, sp.ntr, mb, b.kmean, b.cnst, 0); err != nil {
				return err
			}
			mu, zero = b.kmean, b.cnst
		}
		if err := d.gatherCenter(t, t, ysrc, ldy, sp.train, sp.ntr, mb, mu, zero, b.yh, ld, 0); err != nil {
			return err
		}
		// its padding columns (ntr_i..ldu_i) zero, as Yc's in stage
		if err := d.zero(b.yh+cu.DevicePtr(int64(sp.ntr)*int64(ld)*t.size()), int64(sp.ldu-sp.ntr)*int64(ld)*t.size()); err != nil {
			return err
		}
		if err := r.mark(&r.tm.Transfer); err != nil {
			return err
		}
		// Row-major Z_i (r_i x mb) = U_i^T Yi. Column-major: kz (mb x r_i, = Z_i^T) =
		// yh (mb x ntr_i, = Yi^T) U_i (ntr_i x r_i, ld ldu_i), (N, N), over the padded rows and
		// columns.
		if err := d.gemm(t, false, false, mp, sp.r, sp.ldu, b.yh, ld, sp.u, sp.ldu, b.kz, ld); err != nil {
			return err
		}
		r.res.Flops += 2 * float64(sp.ntr) * float64(sp.r) * float64(mb)
		if err := r.mark(&r.tm.Products); err != nil {
			return err
		}
		for a := 0; a < A; a++ {
			// kgz = diag(g(a)) Z_i, g(a) = s/(s²+a) (r_i values at sp.g + a*r_i).
			ga := sp.g + cu.DevicePtr(int64(a)*int64(sp.r)*8)
			if err := d.scaleCols(t, b.kz, ld, mb, sp.r, ga, b.kgz, ld); err != nil {
				return err
			}
			// Row-major Pred_i (nte_i x mb) = P_i diag(g(a)) Z_i. Column-major: kpred (mb x nte_i,
			// = Pred_i^T) = kgz (mb x r_i, the scaled Z_i^T) P_i^T (N, T; P_i column-major
			// nte_i x r_i, ld ldp_i), over the padded rows and columns.
			if err := d.gemm(t, false, true, mp, sp.ldp, sp.r, b.kgz, ld, sp.p, sp.ldp, b.kpred, ld); err != nil {
				return err
			}
			r.res.Flops += 2 * float64(sp.nte) * float64(sp.r) * float64(mb)
			if err := r.mark(&r.tm.Products); err != nil {
				return err
			}
			// R² compares the validation targets with the prediction plus the inner training
			// mean (both of the shifted brain data).
			if opts.Inner.Score == engine.Pearson {
				if err := d.pearson(t, b.kpred, ld, ysrc, ldy, sp.test, sp.nte, mb, b.rr, b.deg); err != nil {
					return err
				}
			} else {
				if err := d.r2(t, b.kpred, ld, mu, ysrc, ldy, sp.test, sp.nte, mb, b.rr); err != nil {
					return err
				}
			}
			if err := d.kfoldAccumulate(b.rr, mb, K, b.crit+cu.DevicePtr(int64(a)*int64(mb)*8)); err != nil {
				return err
			}
			if err := r.mark(&r.tm.Select); err != nil {
				return err
			}
		}
	}
	if err := d.argminPenalty(b.crit, mb, mb, A, b.best, b.idx); err != nil {
		return err
	}
	return r.mark(&r.tm.Select)
}
