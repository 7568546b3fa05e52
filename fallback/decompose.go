package fallback

import (
	"context"
	"math"

	"github.com/brainalign/brainalign/engine"
	"github.com/brainalign/brainalign/internal/eigen"
)

// decomposition is the float64 factorisation of one training split, shared by every penalty and
// every target: Xc = U diag(s) V^T restricted to the kept directions, and the projection of the
// held-out rows onto V.
type decomposition struct {
	ntr, nte, r int
	intercept   bool
	s2          []float64 // squared singular values (r)
	u           []float64 // ntr x r, orthonormal columns
	u2          []float64 // ntr x r, u squared (leverages)
	p           []float64 // nte x r: (Xtest - mean) V
	dropped     int       // directions dropped below the rank tolerance
	// scale: with Options.Standardize, the factor each feature was multiplied by (after
	// centring): 1/sd on the training rows (engine.StandardScale); nil otherwise
	scale []float64

	// With the model asked for (Predict's weights): v (d x r), the kept right singular vectors,
	// so that the weights are V diag(g) Z (with scale, V's rows multiplied by it: the weights
	// apply to the features as given), and xmean (d), the training rows' column means (0
	// without an intercept).
	v, xmean []float64

	// complete: U and uc (ntr x nc, the other eigenvectors of Xc Xc^T: the null directions,
	// but for the constant one with an intercept, which it fits) with that constant direction are
	// an orthonormal basis of the training rows. Then the leave-one-out residual Yc - U diag(f) Z is U diag(1-f) Z + uc (uc^T Yc)
	// exactly, with no cancellation where the fit is near exact (fewer rows than features, small
	// penalties, h near 1), which float32 would lose. Set when the fold has no more rows than
	// features (the dual decomposition).
	complete bool
	uc       []float64
	nc       int
	ucRow2   []float64 // complete: sum_c uc_ic² per training row, the leverage 1-h_i takes at a = 0
}

// splitBytes is the memory a split of ntr training and nte test rows keeps (an estimate): its
// float64 decomposition and the copies in the products' precision, es bytes an element.
func splitBytes(ntr, nte, d int, es int64) int64 {
	rk := int64(min(ntr, d))
	return (8+3*es)*int64(ntr)*rk + (8+es)*int64(nte)*rk
}

// decomposeBytes is the working memory decompose holds while it runs (on top of what the
// decomposition keeps): the prepared training and test rows (a block of featureBlock features
// at a time with no more training rows than features) with the training rows' transpose, the
// features' means, second means and factors (with the factors' temporaries, a block's worth),
// the Gram matrix and the eigensolver's workspace, and with fewer rows than features the test
// rows' kernel with the training rows.
func decomposeBytes(ntr, nte, d int) int64 {
	size, width := min(ntr, d), d
	if ntr <= d {
		width = min(d, featureBlock)
	}
	n := 8*int64(2*ntr+nte)*int64(width) + 24*int64(d) + 24*int64(width) + 8*int64(size)*int64(size) + eigen.WorkspaceBytes(size)
	if ntr <= d {
		n += 8 * int64(nte) * int64(ntr)
	}
	return n
}

// rowPrep is how the rows are prepared before the decomposition: centred by the training rows'
// column means (intercept), then, with standardize, each feature multiplied by scale, or when
// scale is nil by its own training rows' engine.StandardScale (an outer fold; its inner splits
// are given the outer fold's).
type rowPrep struct {
	intercept, standardize bool
	scale                  []float64
}

// decompose factorises x[train] (prepared as prep says) and projects x[test]. It uses the
// eigendecomposition of the smaller Gram matrix: Xc^T Xc (d x d) when the fold has more rows
// than features, else Xc Xc^T (ntr x ntr).
func decompose(ctx context.Context, x engine.Matrix, train, test []int, prep rowPrep) (*decomposition, error) {
	return decomposeFrom(ctx, x, train, x, test, prep, false)
}

// featureBlock is how many features the dual decomposition (no more training rows than
// features) prepares at a time: its Gram matrix Xc Xc^T and the test rows' kernel with the
// training rows are sums over the features, accumulated a block at a time, so that wide
// activations (flattened feature maps of 1e5-1e6 features) never need their prepared rows
// whole, twice (with the transpose) and in float64. A constant, never sized from the memory
// limit: results are the same bits whatever --memory is, and activations of up to featureBlock
// features are summed in one block, as before blocks. Tests lower it.
var featureBlock = 4096

// onFeatureBlock, when set (by tests), is called as each block of features of a dual
// decomposition begins, the Gram matrix's and then the model's V's, with the decomposition's
// row preparer (the same for both).
var onFeatureBlock func(decomposition any, c0 int)

// decomposeFrom is decompose with the test rows taken from xt (Predict's new stimuli), and with
// keepV the model's parts (decomposition.v, xmean).
func decomposeFrom(ctx context.Context, x engine.Matrix, train []int, xt engine.Matrix, test []int, prep rowPrep, keepV bool) (*decomposition, error) {
	intercept := prep.intercept
	ntr, nte, d := len(train), len(test), x.Cols
	dec := &decomposition{ntr: ntr, nte: nte, intercept: intercept}
	rows := newRowPreparer(x, train, xt, test, prep)
	dec.scale = rows.scale

	primal := ntr > d
	size := ntr
	var gram []float64
	var xtr, xte, xtrT []float64 // primal: the prepared rows, whole
	var kte []float64            // dual: the test rows' kernel with the training rows (nte x ntr)
	if primal {
		size = d
		xtr, xte = rows.block(0, d)
		xtrT = transpose(ntr, d, xtr)
		gram = make([]float64, d*d)
		gramProduct(d, ntr, xtrT, xtr, gram, 0) // Xc^T Xc
	} else {
		gram = make([]float64, ntr*ntr)
		if nte > 0 {
			kte = make([]float64, nte*ntr)
		}
		var btrT []float64 // a block's transpose, its memory reused by the next
		for c0 := 0; c0 < d; c0 += featureBlock {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			if onFeatureBlock != nil {
				onFeatureBlock(rows, c0)
			}
			c1 := min(d, c0+featureBlock)
			btr, bte := rows.block(c0, c1)
			btrT = transposeInto(btrT, ntr, c1-c0, btr)
			beta := 1.0 // sums over the blocks of features
			if c0 == 0 {
				beta = 0
			}
			gramProduct(ntr, c1-c0, btr, btrT, gram, beta) // Xc Xc^T
			if nte > 0 {
				mul(nte, ntr, c1-c0, bte, btrT, beta, kte)
			}
		}
	}
	lambda := make([]float64, size)
	if err := symEigen(ctx, size, gram, lambda); err != nil {
		return nil, err
	}
	keep, dropped := engine.KeptDirections(lambda, ntr, d, intercept)
	r := len(keep)
	dec.r, dec.dropped = r, dropped
	dec.s2 = make([]float64, r)
	for k, j := range keep {
		dec.s2[k] = lambda[j]
	}
	// The kept eigenvectors, size x r.
	vecs := make([]float64, size*r)
	parallelFor(size, func(_, i0, i1 int) {
		for i := i0; i < i1; i++ {
			for k, j := range keep {
				vecs[i*r+k] = gram[i*size+j]
			}
		}
	})
	if !primal {
		dec.complete, dec.nc = true, size-r
		dec.uc = make([]float64, 0, size*dec.nc)
		kept := make([]bool, size)
		for _, j := range keep {
			kept[j] = true
		}
		for i := 0; i < size; i++ {
			for j := 0; j < size; j++ {
				if !kept[j] {
					dec.uc = append(dec.uc, gram[i*size+j])
				}
			}
		}
		// the intercept fits the constant direction: it is no residual (engine.ConstantFirst)
		if intercept && engine.ConstantFirst(dec.uc, size, dec.nc, dec.nc, 1) {
			nc := dec.nc - 1
			for i := 0; i < size; i++ {
				copy(dec.uc[i*nc:(i+1)*nc], dec.uc[i*dec.nc+1:(i+1)*dec.nc])
			}
			dec.uc, dec.nc = dec.uc[:size*nc], nc
		}
		dec.ucRow2 = make([]float64, size)
		for i := range dec.ucRow2 {
			for _, v := range dec.uc[i*dec.nc : (i+1)*dec.nc] {
				dec.ucRow2[i] += v * v
			}
		}
	}
	dec.u = make([]float64, ntr*r)
	dec.p = make([]float64, nte*r)
	if primal {
		// U = Xc V diag(1/s); P = Xtest_c V.
		mul(ntr, r, d, xtr, vecs, 0, dec.u)
		scaleCols(dec.u, r, dec.s2, func(s2 float64) float64 { return 1 / math.Sqrt(s2) })
		if nte > 0 {
			mul(nte, r, d, xte, vecs, 0, dec.p)
		}
		if keepV {
			dec.v = vecs
		}
	} else {
		// U = Q; V = Xc^T U diag(1/s), so P = (Xtest_c Xc^T) U diag(1/s).
		copy(dec.u, vecs)
		if nte > 0 {
			mul(nte, r, ntr, kte, dec.u, 0, dec.p)
			scaleCols(dec.p, r, dec.s2, func(s2 float64) float64 { return 1 / math.Sqrt(s2) })
		}
		if keepV {
			var btrT []float64
			dec.v = make([]float64, d*r)
			for c0 := 0; c0 < d; c0 += featureBlock { // V's rows a block of features at a time
				if err := ctx.Err(); err != nil { // as long as the Gram matrix's blocks, wide
					return nil, err
				}
				if onFeatureBlock != nil {
					onFeatureBlock(rows, c0)
				}
				c1 := min(d, c0+featureBlock)
				btr, _ := rows.block(c0, c1)
				btrT = transposeInto(btrT, ntr, c1-c0, btr)
				mul(c1-c0, r, ntr, btrT, dec.u, 0, dec.v[c0*r:c1*r])
			}
			scaleCols(dec.v, r, dec.s2, func(s2 float64) float64 { return 1 / math.Sqrt(s2) })
		}
	}
	if keepV {
		dec.xmean = rows.centres()
		if dec.scale != nil {
			// the weights apply to the features as given: V's row j times feature j's scale
			for k := range dec.v {
				dec.v[k] *= dec.scale[k/r]
			}
		}
	}
	dec.u2 = make([]float64, len(dec.u))
	parallelFor(ntr, func(_, i0, i1 int) {
		for k := i0 * r; k < i1*r; k++ {
			dec.u2[k] = dec.u[k] * dec.u[k]
		}
	})
	return dec, nil
}

// rowPreparer prepares blocks of features of the training and test rows as rowPrep says. The
// means (mu, zero without an intercept), with standardised features what a second centring
// takes off (recentre), and factors (scale, nil unless standardised) of a block's features are
// taken from its training rows when first prepared (an outer split's own factors), and reused
// when it is prepared again (the dual decomposition's second pass, for V).
type rowPreparer struct {
	x, xt       engine.Matrix
	train, test []int
	prep        rowPrep
	mu, scale   []float64
	recentre    []float64
	known       []bool // per feature: mu (recentre, an own scale) computed
	// the memory of the last block's rows, which the next reuses: a fresh block of 4,096
	// features of 800 rows was 26 MB for the allocator to zero, on one core, for every block
	// of every fold (most of a wide decomposition's time on many cores)
	tr, te []float64
}

func newRowPreparer(x engine.Matrix, train []int, xt engine.Matrix, test []int, prep rowPrep) *rowPreparer {
	p := &rowPreparer{x: x, xt: xt, train: train, test: test, prep: prep, mu: make([]float64, x.Cols), known: make([]bool, x.Cols)}
	if prep.standardize {
		p.scale = prep.scale
		if p.scale == nil {
			p.scale = make([]float64, x.Cols)
		}
		if prep.intercept {
			p.recentre = make([]float64, x.Cols)
		}
	}
	return p
}

// centres returns what each feature's training and test rows were centred by: the training
// rows' column means, with the second centring of standardised features.
func (p *rowPreparer) centres() []float64 {
	if p.recentre == nil {
		return p.mu
	}
	c := make([]float64, len(p.mu))
	for j := range c {
		c[j] = p.mu[j] + p.recentre[j]
	}
	return c
}

// block returns features [c0, c1) of the training rows (ntr x w, row-major, w = c1-c0) and of
// the test rows (nte x w), centred and standardised, in memory that the next call reuses.
func (p *rowPreparer) block(c0, c1 int) (xtr, xte []float64) {
	ntr, nte, w := len(p.train), len(p.test), c1-c0
	p.tr, p.te = reuse(p.tr, ntr*w), reuse(p.te, nte*w)
	xtr, xte = p.tr, p.te // every element written below
	p.x.GatherCols64(p.train, c0, c1, xtr)
	if nte > 0 {
		p.xt.GatherCols64(p.test, c0, c1, xte)
	}
	mu := p.mu[c0:c1]
	if !p.known[c0] && p.prep.intercept { // blocks are prepared whole: the first feature stands for all
		columnMeans(xtr, ntr, w, mu)
	}
	if p.prep.intercept {
		shiftRows(xtr, xte, w, mu, nil)
	}
	if p.recentre != nil {
		// Standardised: centred again by the centred rows' means, as RidgeCV centres the
		// scaler's output. A feature's computed mean is off by rounding errors up to n eps
		// times its offset, which scaling brings to unit scale where the offset is large
		// beside the spread (1e9 times or more): a column off centre keeps the constant
		// direction that the intercept fits (with fewer rows than features, a leverage of 1/n
		// too many in each 1 - h), and inflates the standard deviation.
		rc := p.recentre[c0:c1]
		if !p.known[c0] {
			columnMeans(xtr, ntr, w, rc)
		}
		shiftRows(xtr, xte, w, rc, nil)
	}
	if p.scale != nil {
		scale := p.scale[c0:c1]
		if p.prep.scale == nil && !p.known[c0] { // an own scale, from the (centred) training rows
			var means []float64
			if p.prep.intercept {
				means = mu
			}
			copy(scale, standardScales(xtr, ntr, w, means))
		}
		shiftRows(xtr, xte, w, nil, scale)
	}
	for j := c0; j < c1; j++ {
		p.known[j] = true
	}
	return xtr, xte
}

// shiftRows takes shift (when not nil) off each column of the rows of a and b (w columns each),
// or multiplies them by scale: on all cores, by rows. The rows' preparation ran on one core
// beside the Gram matrix's products on all of them; with wide activations (a block of 4,096
// features of 800 rows: 3 M values a pass, against 2.6 GFLOP of Gram product) it was most of a
// 128-core node's time.
func shiftRows(a, b []float64, w int, shift, scale []float64) {
	for _, m := range [][]float64{a, b} {
		parallelFor(len(m)/max(w, 1), func(_, i0, i1 int) {
			for i := i0; i < i1; i++ {
				row := m[i*w : (i+1)*w]
				if shift != nil {
					for j, s := range shift[:w] {
						row[j] -= s
					}
					continue
				}
				for j, s := range scale[:w] {
					row[j] *= s
				}
			}
		})
	}
}

// columnSums runs sum(lo, hi, acc) on all cores for ranges of columns of a rows x cols row-major
// matrix, acc zeroed and hi-lo long, for the caller to sum each column over the rows in order
// (the same bits on any number of cores), each core in its own accumulators (not in a shared
// output, whose cache lines neighbouring cores would write at every row).
func columnSums(cols int, sum func(lo, hi int, acc []float64)) {
	parallelFor(cols, func(_, lo, hi int) {
		sum(lo, hi, make([]float64, hi-lo))
	})
}

// columnMeans writes the column means of x (rows x cols, row-major) into dst, zero on entry, summing
// each column over the rows in order.
func columnMeans(x []float64, rows, cols int, dst []float64) {
	columnSums(cols, func(lo, hi int, acc []float64) {
		for i := 0; i < rows; i++ {
			for j, v := range x[i*cols+lo : i*cols+hi] {
				acc[j] += v
			}
		}
		for j, v := range acc {
			dst[lo+j] += v
			dst[lo+j] /= float64(rows)
		}
	})
}

// standardScales returns engine.StandardScale of each column of the training rows x (ntr x d,
// row-major): x's column means, or x already centred by means.
func standardScales(x []float64, ntr, d int, means []float64) []float64 {
	mean := make([]float64, d)
	if means == nil {
		columnMeans(x, ntr, d, mean)
	}
	ss := make([]float64, d)
	columnSums(d, func(lo, hi int, acc []float64) {
		for i := 0; i < ntr; i++ {
			for j, v := range x[i*d+lo : i*d+hi] {
				dv := v - mean[lo+j]
				acc[j] += dv * dv
			}
		}
		copy(ss[lo:hi], acc)
	})
	if means != nil {
		mean = means // the constant test's bound takes the column's own mean
	}
	scale := make([]float64, d)
	for j := range scale {
		scale[j] = engine.StandardScale(ss[j], mean[j], ntr)
	}
	return scale
}

// scaleCols multiplies column j of the row-major matrix a (cols wide) by f(s2[j]), on all cores
// by rows.
func scaleCols(a []float64, cols int, s2 []float64, f func(float64) float64) {
	if cols == 0 {
		return
	}
	sc := make([]float64, cols)
	for j := range sc {
		sc[j] = f(s2[j])
	}
	shiftRows(a, nil, cols, nil, sc)
}

// shrink returns f_j(a) = s_j²/(s_j²+a), the fraction of direction j kept at penalty a.
func (d *decomposition) shrink(a float64, f []float64) {
	for j, s2 := range d.s2 {
		f[j] = s2 / (s2 + a)
	}
}

// looWeights returns w_i = 1/(1-h_i(a)) for the training rows at penalty a (f: shrink's f_j(a)),
// with the leverage h_i = 1/ntr (intercept) + sum_j U_ij² f_j(a). With a complete decomposition
// 1-h_i is summed as such, sum_j U_ij² a/(s_j²+a) + sum_c uc_ic² (the basis's rows have unit
// norm), not subtracted from 1: with fewer rows than features and a small penalty h_i is near 1,
// and 1-h_i kept few digits (penalties picked by rounding, |r| off by 2e-5 in float64).
//
// It reads all of U² (ntr x r) for each penalty of each target batch: rows on all cores (each
// row's sum is the same on any number of them), 9 x 33 M multiply-adds a batch at 8,000 rows x
// 4,096 features, which on one core were a serial step beside products on 128.
func (d *decomposition) looWeights(a float64, f []float64, w []float64) {
	r := d.r
	if d.complete {
		rf := make([]float64, r)
		d.residualShrink(a, rf)
		parallelFor(d.ntr, func(_, lo, hi int) {
			for i := lo; i < hi; i++ {
				m := d.ucRow2[i]
				for j, u2 := range d.u2[i*r : (i+1)*r] {
					m += u2 * rf[j]
				}
				w[i] = 1 / m
			}
		})
		return
	}
	base := 0.0
	if d.intercept {
		base = 1 / float64(d.ntr)
	}
	parallelFor(d.ntr, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			h := base
			for j, u2 := range d.u2[i*r : (i+1)*r] {
				h += u2 * f[j]
			}
			w[i] = 1 / (1 - h)
		}
	})
}

// residualShrink returns 1 - f_j(a) = a/(s_j²+a), the fraction of direction j left in the
// residual (computed as such: 1 - f loses digits when f is near 1).
func (d *decomposition) residualShrink(a float64, f []float64) {
	for j, s2 := range d.s2 {
		f[j] = a / (s2 + a)
	}
}

// coefScale returns g_j(a) = s_j/(s_j²+a): prediction = P diag(g) Z.
func (d *decomposition) coefScale(a float64, g []float64) {
	for j, s2 := range d.s2 {
		g[j] = math.Sqrt(s2) / (s2 + a)
	}
}

// bytes estimates the memory the decomposition holds.
func (d *decomposition) bytes() int64 {
	return int64(8 * (2*d.ntr*d.r + d.nte*d.r + d.r + d.ntr*d.nc))
}
