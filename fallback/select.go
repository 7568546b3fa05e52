package fallback

import (
	"math"
	"time"

	"github.com/brainalign/brainalign/engine"
)

// criteria returns, for every penalty and target of the batch, the quantity the inner selection
// minimises (A x mb): the mean leave-one-out squared error (loo), the GCV error (gcv), or minus
// the mean inner-fold score (kfold).
func (r *runner[T]) criteria(outer *split[T], inner []*split[T], b *batch[T], train []int) []float64 {
	switch r.s.opts.Inner.Mode {
	case engine.GCV:
		return r.gcv(outer, b)
	case engine.KFoldInner:
		return r.kfold(inner, b)
	default:
		return r.loo(outer, b)
	}
}

// loo: for each penalty, Yhat = U diag(f) Z (one product) and the fused error
// sum_i ((Yc_i - Yhat_i) / (1 - h_i))² per target. With a complete decomposition, the penalties
// engine.ResidualDirect picks take the residual as R0 + U diag(1-f) Z instead, R0 = uc Zc (see
// decomposition.complete): they run after the others, with b.yc replaced by R0 (nothing reads
// b.yc after the selection).
func (r *runner[T]) loo(sp *split[T], b *batch[T]) []float64 {
	// Targets per unit of work: each core takes one range of units and reads its rows in one
	// segment, so the unit sets only how evenly they divide (64 left 20,000 targets in 313
	// units, 2 or 3 to each of 128 cores: 81% busy), and a cache line of float32 (16) keeps the
	// ranges' edges apart.
	const looColumns = 16
	d, mb := sp.dec, b.mb
	alphas := r.s.opts.Alphas
	crit := make([]float64, len(alphas)*mb)
	f := make([]float64, d.r)
	w := make([]float64, d.ntr)
	fz := r.bufferT("fz", d.r*mb)
	yhat := r.bufferT("yhat", d.ntr*mb)
	var classic, direct []int
	for a, alpha := range alphas {
		d.shrink(alpha, f)
		if d.complete && engine.ResidualDirect(f) {
			direct = append(direct, a)
		} else {
			classic = append(classic, a)
		}
	}
	for k, a := range append(classic, direct...) {
		if r.ctx.Err() != nil {
			return crit // a cancelled run stops here, between products; the caller checks
		}
		t0 := time.Now()
		alpha := alphas[a]
		d.shrink(alpha, f)
		d.looWeights(alpha, f, w)
		var exact [][]float64 // rows of leverage near 1: their residual in float64 (exactRows)
		if k < len(classic) {
			exact = exactRows(d, f, w, b.yc, mb)
		}
		sign := T(1) // residual = yc - yhat
		if k >= len(classic) {
			if k == len(classic) { // R0 = uc Zc replaces yc
				if d.nc > 0 {
					mul(d.ntr, mb, d.nc, sp.uc, b.zc, 0, b.yc)
				} else {
					clear(b.yc)
				}
			}
			d.residualShrink(alpha, f)
			sign = -1 // residual = R0 + yhat
		}
		scaleRows(b.z, mb, f, fz)
		mul(d.ntr, mb, d.r, sp.u, fz, 0, yhat)
		r.res.Flops += 2 * float64(d.ntr) * float64(d.r) * float64(mb)
		t0 = r.since(t0, &r.tm.Products)
		// Each core takes a range of targets and sums their rows in order, so the criterion,
		// and the penalty it picks, has the same bits whatever the number of cores.
		out := crit[a*mb : (a+1)*mb]
		parallelFor((mb+looColumns-1)/looColumns, func(_, c0, c1 int) {
			lo, hi := c0*looColumns, min(mb, c1*looColumns)
			acc := make([]float64, hi-lo) // not out: neighbouring cores would share its cache lines
			for i := 0; i < d.ntr; i++ {
				wi := w[i]
				if exact != nil && exact[i] != nil {
					for t, v := range exact[i][lo:hi] {
						e := v * wi
						acc[t] += e * e
					}
					continue
				}
				yc, yh := b.yc[i*mb+lo:i*mb+hi], yhat[i*mb+lo:i*mb+hi]
				for t, v := range yc {
					e := (float64(v) - float64(sign*yh[t])) * wi
					acc[t] += e * e
				}
			}
			copy(out[lo:hi], acc)
		})
		for t := range out {
			out[t] /= float64(d.ntr)
		}
		r.since(t0, &r.tm.Select)
	}
	return crit
}

// exactRows returns, for the rows engine.HotRows picks from the weights w (nil for the others, or
// nil altogether where there are none or the products are float64), the residual
// yc_i - mean(yc) - sum_k H_ik yc_k of every target, in float64, with H = U diag(f) U^T the hat
// matrix at this penalty (the mean with an intercept: the fit's constant, which float32's rounding
// of the centred yc leaves slightly off 0).
func exactRows[T float](d *decomposition, f, w []float64, yc []T, mb int) [][]float64 {
	if _, ok := any(yc).([]float64); ok {
		return nil
	}
	hot := engine.HotRows(w)
	if len(hot) == 0 {
		return nil
	}
	ntr, r := d.ntr, d.r
	h := make([]float64, len(hot)*ntr) // the hot rows of H
	g := make([]float64, r)
	for q, i := range hot {
		for j := range g {
			g[j] = f[j] * d.u[i*r+j]
		}
		mul(ntr, 1, r, d.u, g, 0, h[q*ntr:(q+1)*ntr])
	}
	// H_hot Yc in float64, a slab of targets at a time (its float64 copy made on all cores), and
	// the targets' means (each summed over the rows in order, on all cores)
	const slab = 128
	hy := make([]float64, len(hot)*mb)
	ys := make([]float64, ntr*min(slab, mb))
	out := make([]float64, len(hot)*min(slab, mb))
	for c0 := 0; c0 < mb; c0 += slab {
		cw := min(slab, mb-c0)
		parallelFor(ntr, func(_, i0, i1 int) {
			for i := i0; i < i1; i++ {
				for t, v := range yc[i*mb+c0 : i*mb+c0+cw] {
					ys[i*cw+t] = float64(v)
				}
			}
		})
		mul(len(hot), cw, ntr, h, ys[:ntr*cw], 0, out[:len(hot)*cw])
		for q := range hot {
			copy(hy[q*mb+c0:q*mb+c0+cw], out[q*cw:(q+1)*cw])
		}
	}
	mean := make([]float64, mb)
	if d.intercept {
		columnSums(mb, func(lo, hi int, acc []float64) {
			for i := range ntr {
				for t, v := range yc[i*mb+lo : i*mb+hi] {
					acc[t] += float64(v)
				}
			}
			for t, v := range acc {
				mean[lo+t] = v / float64(ntr)
			}
		})
	}
	rows := make([][]float64, ntr)
	for q, i := range hot {
		e := hy[q*mb : (q+1)*mb]
		for t := range e {
			e[t] = float64(yc[i*mb+t]) - mean[t] - e[t]
		}
		rows[i] = e
	}
	return rows
}

// gcv: the residual sum of squares per target from Z alone,
// |Yc|² - |Z|² + sum_j (1-f_j)² Z_j², over (1 - tr(H)/n)² with tr(H) = [1] + sum_j f_j.
// Per penalty this costs r x mb, not a product.
func (r *runner[T]) gcv(sp *split[T], b *batch[T]) []float64 {
	// Targets per chunk: the A accumulators of a chunk stay in L1 at 256; fewer where that
	// would leave each core under 4 chunks (20,000 targets made 79 chunks for 128 cores).
	gcvColumns := chunkColumns(b.mb, 256)
	t0 := time.Now()
	d, mb := sp.dec, b.mb
	alphas := r.s.opts.Alphas
	A := len(alphas)
	// Per penalty the weights (1-f_j)² and the denominator (1 - tr(H)/n)².
	g := make([]float64, A*d.r)
	den := make([]float64, A)
	f := make([]float64, d.r)
	for a, alpha := range alphas {
		d.residualShrink(alpha, f) // 1-f_j, computed as such (near 0 where f_j is near 1)
		for j, v := range f {
			g[a*d.r+j] = v * v
		}
		den[a] = engine.GCVDenominator(d.s2, alpha, d.ntr, d.nc, d.intercept, d.complete)
	}
	crit := make([]float64, A*mb)
	// Each core takes ranges of targets; per target the sums run over rows in order, as before,
	// so the criterion has the same bits whatever the number of cores. Z is read once, not once
	// per penalty, and no r x mb float64 copy of Z² is made.
	nchunk := (mb + gcvColumns - 1) / gcvColumns
	parallelFor(nchunk, func(_, k0, k1 int) {
		var acc [][]float64
		for k := k0; k < k1; k++ {
			lo, hi := k*gcvColumns, min(mb, (k+1)*gcvColumns)
			w := hi - lo
			yy := make([]float64, w)
			for i := 0; i < d.ntr; i++ {
				for t, v := range b.yc[i*mb+lo : i*mb+hi] {
					yy[t] += float64(v) * float64(v)
				}
			}
			zsum := make([]float64, w)
			for j := 0; j < d.r; j++ {
				for t, v := range b.z[j*mb+lo : j*mb+hi] {
					zsum[t] += float64(v) * float64(v)
				}
			}
			// The residual outside U, |Yc|² - |Z|²: with a complete decomposition |Zc|² instead,
			// which has no cancellation (with fewer rows than features U spans nearly all of Yc,
			// and float32's |Yc|² - |Z|² is rounding noise that picked the wrong penalty: |r| off
			// by 0.03).
			outside := make([]float64, w)
			for t := range outside {
				outside[t] = yy[t] - zsum[t]
			}
			if d.complete {
				clear(outside)
				for c := 0; c < d.nc; c++ {
					for t, v := range b.zc[c*mb+lo : c*mb+hi] {
						outside[t] += float64(v) * float64(v)
					}
				}
			}
			if acc == nil {
				acc = make([][]float64, A)
				for a := range acc {
					acc[a] = make([]float64, gcvColumns)
				}
			}
			for a := range acc {
				copy(acc[a][:w], outside)
			}
			for j := 0; j < d.r; j++ {
				zr := b.z[j*mb+lo : j*mb+hi]
				for a := range acc {
					ga, out := g[a*d.r+j], acc[a][:w]
					for t, v := range zr {
						out[t] += ga * (float64(v) * float64(v))
					}
				}
			}
			for a := range acc {
				out := crit[a*mb+lo : a*mb+hi]
				for t, v := range acc[a][:w] {
					out[t] = math.Max(v, 0) / float64(d.ntr) / den[a]
				}
			}
		}
	})
	r.since(t0, &r.tm.Select)
	return crit
}

// kfold: for each inner split, Z_i = U_i^T Yc_i once, then per penalty the validation prediction
// P_i diag(s/(s²+a)) Z_i (+ the inner training mean) and its score; the criterion is minus the
// mean score over inner splits.
func (r *runner[T]) kfold(inner []*split[T], b *batch[T]) []float64 {
	opts := r.s.opts
	mb, A := b.mb, len(opts.Alphas)
	crit := make([]float64, A*mb)
	K := float64(len(inner))
	for _, sp := range inner {
		if r.ctx.Err() != nil {
			return crit // cancelled: the caller checks
		}
		t0 := time.Now()
		d := sp.dec
		// Inner training targets, centred on the inner training rows by centreCols (a target
		// constant on these rows becomes exact zeros, so its prediction is exactly constant: the
		// mean's rounding left ~1e-17 that Pearson scored as a real r), and validation targets,
		// both gathered from the brain data in float64, as stage's: not from Yc, whose float32
		// rows share the outer training mean, which a row of the brain data 1e9 times the others
		// moves 1e7 from every other row, and lost the digits of the rows it does not train on
		// (|r| off float64 by 0.09 with kfold:4, 0.12 with kfold:4:pearson).
		yi := r.bufferT("kfold-y", d.ntr*mb)
		var mu []float64
		if y64, is64 := any(yi).([]float64); is64 {
			r.s.y.GatherCols64(sp.trainRows, b.c0, b.c0+mb, y64)
			mu = centreCols(y64, d.ntr, mb, !opts.NoIntercept)
		} else {
			y64 := r.buffer64("y64", d.ntr*mb) // stage's, free once Yc is converted
			r.s.y.GatherCols64(sp.trainRows, b.c0, b.c0+mb, y64)
			mu = centreCols(y64, d.ntr, mb, !opts.NoIntercept)
			narrow(yi, y64)
		}
		yv := r.buffer64("kfold-yval", d.nte*mb)
		r.s.y.GatherCols64(sp.valRows, b.c0, b.c0+mb, yv)
		t0 = r.since(t0, &r.tm.Transfer)
		z := r.bufferT("kfold-z", d.r*mb)
		mul(d.r, mb, d.ntr, sp.ut, yi, 0, z)
		r.res.Flops += 2 * float64(d.ntr) * float64(d.r) * float64(mb)
		r.since(t0, &r.tm.Products)
		g := make([]float64, d.r)
		gz := r.bufferT("kfold-gz", d.r*mb)
		pred := r.bufferT("kfold-pred", d.nte*mb)
		for a, alpha := range opts.Alphas {
			t0 := time.Now()
			d.coefScale(alpha, g)
			scaleRows(z, mb, g, gz)
			mul(d.nte, mb, d.r, sp.p, gz, 0, pred)
			r.res.Flops += 2 * float64(d.nte) * float64(d.r) * float64(mb)
			t0 = r.since(t0, &r.tm.Products)
			var sc []float64
			if opts.Inner.Score == engine.Pearson {
				sc, _ = pearsonCols(pred, yv, d.nte, mb)
			} else {
				sc = r2Cols(pred, mu, yv, d.nte, mb)
			}
			out := crit[a*mb : (a+1)*mb]
			for t, v := range sc {
				out[t] -= v / K
			}
			r.since(t0, &r.tm.Select)
		}
	}
	return crit
}

// refitAndScore predicts the held-out rows at each target's chosen penalty (idx into the grid)
// and scores them.
func (r *runner[T]) refitAndScore(f int, sp *split[T], b *batch[T], idx []int) {
	t0 := time.Now()
	opts := r.s.opts
	d, mb, m := sp.dec, b.mb, r.s.y.Cols
	// each target's g(a) at a positive factor: r is unchanged (engine.UnitScale)
	gz, undo := r.scaledGZ(sp, b, idx)
	pred := r.bufferT("pred", d.nte*mb)
	mul(d.nte, mb, d.r, sp.p, gz, 0, pred)
	r.res.Flops += 2 * float64(d.nte) * float64(d.r) * float64(mb)
	if opts.KeepPredictions {
		// float64 (keepPredictions): no value is out of range, so no error
		_ = storeUnscaled(pred, d.nte, b.c0, heldOutBase(sp, b, gz, idx, undo), idx, undo, nil, r.res.Predictions.F64, m, opts.Folds[f].Test)
	}
	t0 = r.since(t0, &r.tm.Refit)
	yte := r.buffer64("yte", d.nte*mb)
	r.s.y.GatherCols64(opts.Folds[f].Test, b.c0, b.c0+mb, yte)
	t0 = r.since(t0, &r.tm.Transfer)
	sc, degn := pearsonCols(pred, yte, d.nte, mb)
	for t := 0; t < mb; t++ {
		k := f*m + b.c0 + t
		r.res.FoldScores[k] = sc[t]
		r.res.Alphas[k] = opts.Alphas[idx[t]]
		r.degn[k] = degn[t]
	}
	r.since(t0, &r.tm.Score)
}

// scaleRows sets out[j, :] = s[j] * z[j, :] for a row-major matrix with cols columns.
func scaleRows[T float](z []T, cols int, s []float64, out []T) {
	parallelFor(len(s), func(_, j0, j1 int) {
		for j := j0; j < j1; j++ {
			sj := s[j]
			o, in := out[j*cols:(j+1)*cols], z[j*cols:(j+1)*cols]
			for t, v := range in {
				o[t] = T(sj * float64(v))
			}
		}
	})
}
