package engine

import (
	"cmp"
	"math"
	"slices"
)

// The rules below are shared by every engine, so that they decide alike.

// KeptDirections applies the rank decision to the eigenvalues of a training fold's Gram matrix
// (Xc^T Xc or Xc Xc^T, ntr rows by d features): its eigenvalues are accurate to about
// eps * lambda_max in absolute terms, so those at or below max(ntr, d) * eps * lambda_max are
// numerical zeros. (That is LAPACK's relative tolerance applied to the squared singular values,
// so directions of singular values below sqrt(max(ntr, d) eps) s_max, 5e-7 to 5e-6 of it, are
// dropped too: features of scales 1e6 apart may lose their smallest; the commands say so when
// any is dropped.) It returns the indices of the kept
// directions and how many fewer there are than the fold's expected rank, min(d, ntr) less one
// with an intercept (centring removes a dimension).
func KeptDirections(lambda []float64, ntr, d int, intercept bool) (keep []int, dropped int) {
	lmax := 0.0
	for _, l := range lambda {
		lmax = math.Max(lmax, l)
	}
	tol := lmax * float64(max(ntr, d)) * 0x1p-52
	for j, l := range lambda {
		if l > tol && l > 0 {
			keep = append(keep, j)
		}
	}
	expected := min(d, ntr)
	if intercept {
		expected = min(d, ntr-1)
	}
	return keep, max(0, expected-len(keep))
}

// ResidualDirect reports whether, at the shrinkage f_j = s_j²/(s_j²+a) of a penalty, an engine
// whose decomposition spans the training rows completely (U and its complement Uc: the dual
// decomposition, no more rows than features) computes the leave-one-out residual directly,
// U diag(1-f) Z + Uc Uc^T Yc, rather than as Yc - U diag(f) Z. Both are exact; their rounding
// errors go with the size of their product's factors, diag(1-f) or diag(f), so the direct form
// is the accurate one where most directions are mostly kept: small penalties, near-exact fits,
// where Yc - U diag(f) Z is a small difference of large terms that float32 loses. The CUDA
// engine's TF32 mode takes the same rule with any decomposition (Uc Uc^T Yc then formed as
// Yc - U Z at float32's accuracy), so that its rounded product is the smaller term.
func ResidualDirect(f []float64) bool {
	var kept, left float64
	for _, v := range f {
		kept += v * v
		left += (1 - v) * (1 - v)
	}
	return left < kept
}

// GCVDenominator returns GCV's (1 - tr(H(a))/ntr)² for a training split of ntr rows with
// squared singular values s2 (tr(H) = [1 with an intercept] + sum_j s_j²/(s_j²+a)). With a
// complete decomposition (U, nc complement directions and the constant one span the rows),
// 1 - tr/ntr = (sum_j a/(s_j²+a) + nc)/ntr, summed rather than subtracted from 1: at penalties
// far below the features' scale it is near 0, and the subtraction kept few digits.
func GCVDenominator(s2 []float64, a float64, ntr, nc int, intercept, complete bool) float64 {
	var q float64
	if complete {
		for _, v := range s2 {
			q += a / (v + a)
		}
		q = (q + float64(nc)) / float64(ntr)
	} else {
		tr := 0.0
		if intercept {
			tr = 1
		}
		for _, v := range s2 {
			tr += v / (v + a)
		}
		q = 1 - tr/float64(ntr)
	}
	return q * q
}

// SharedPenalty picks one penalty for all targets from crit (penalties x m, row-major, the
// criterion each target minimises): the smallest sum over targets, the first on ties, as
// scikit-learn's RidgeCV without alpha_per_target.
func SharedPenalty(crit []float64, A, m int) int {
	best, bestVal := 0, 0.0
	for a := 0; a < A; a++ {
		sum := 0.0
		for _, v := range crit[a*m : (a+1)*m] {
			sum += v
		}
		if a == 0 || sum < bestVal {
			best, bestVal = a, sum
		}
	}
	return best
}

// UnitScale returns the power of two that brings v (a largest magnitude) into [0.5, 1), or 1
// for 0 and non-finite v. Engines scale the held-out prediction's factors with it, P by one
// factor and the coefficient factors s/(s²+a) by one per penalty: the Pearson r of a
// prediction does not change when a target's prediction is multiplied by a positive number,
// and powers of two change no mantissa, so scores are bit for bit what they would be unscaled;
// but a float32 prediction no longer underflows to exact zeros (a "degenerate" r of 0) or
// loses digits to subnormals when the features are tiny (e.g. 1e-30) or the coefficient
// factors are (huge features with tiny targets).
func UnitScale(v float64) float64 {
	if v == 0 || math.IsInf(v, 0) || math.IsNaN(v) {
		return 1
	}
	_, e := math.Frexp(v)
	return math.Ldexp(1, min(-e, 1000)) // below 2^-1000 (subnormal v): no further than 2^1000
}

// ScaleToUnit multiplies v by UnitScale of its largest magnitude and returns that factor.
func ScaleToUnit(v []float64) float64 {
	most := 0.0
	for _, x := range v {
		most = math.Max(most, math.Abs(x))
	}
	s := UnitScale(most)
	if s != 1 {
		for i := range v {
			v[i] *= s
		}
	}
	return s
}

// ConstantFirst rotates the orthonormal columns of q (rows x cols; element (i, j) at
// q[i*rs+j*cs]) within their span so that the first is the constant unit vector's direction (as
// far as the span holds it) and the others are orthogonal to it, and reports whether the span
// holds that direction (then callers drop column 0). With an intercept, the complement Uc of a
// dual decomposition holds the constant direction, which the intercept fits exactly: the
// residual Uc Uc^T Yc must leave it out, or float32's rounding of the centred Yc (a mean of
// about 1e-7 |Yc| per column) passes for a residual where the true one is smaller, and picks
// the wrong penalty. A Householder reflection in float64: the columns stay orthonormal.
func ConstantFirst(q []float64, rows, cols, rs, cs int) bool {
	if rows == 0 || cols == 0 {
		return false
	}
	e := 1 / math.Sqrt(float64(rows))
	v := make([]float64, cols) // q^T e: the constant direction in the columns' coordinates
	for j := range v {
		for i := range rows {
			v[j] += q[i*rs+j*cs] * e
		}
	}
	norm := 0.0
	for _, x := range v {
		norm += x * x
	}
	norm = math.Sqrt(norm)
	if norm < 0.5 { // not in the span (to rounding it is all there, or not at all)
		return false
	}
	for j := range v {
		v[j] /= norm
	}
	// H = I - u u^T / (1 + |v0|), u = v + sign(v0) e1, maps v to -sign(v0) e1; q H then has
	// q v (the constant direction, up to its sign) as its first column.
	s := 1.0
	if v[0] < 0 {
		s = -1
	}
	c := 1 / (1 + math.Abs(v[0]))
	u := v // v becomes u
	u[0] += s
	for i := range rows {
		t := 0.0
		for j, uj := range u {
			t += q[i*rs+j*cs] * uj
		}
		t *= c
		for j, uj := range u {
			q[i*rs+j*cs] -= t * uj
		}
	}
	return true
}

// Training rows of leave-one-out weight 1/(1-h) above LOOHotWeight (leverage within 1e-3 of 1:
// an image with a large feature few others have) get their leave-one-out error in float64 in
// the engines' float32 and TF32 runs: the rounding of Yc - U diag(f) Z (about 1e-7 |Yc| in
// float32) divided by 1-h ~ 1e-8 passed for an error and moved the penalty choice (|r| off by
// 0.035 to 0.07 from float64). At most LOOHotRows such rows per penalty, the heaviest: each
// costs ntr x (rank + targets) float64 operations.
const (
	LOOHotWeight = 1e3
	LOOHotRows   = 32
)

// HotRows returns the rows of w (leave-one-out weights of one penalty) above LOOHotWeight in
// magnitude, at most LOOHotRows of them, the heaviest, in increasing row order.
func HotRows(w []float64) []int {
	var hot []int
	for i, wi := range w {
		if math.Abs(wi) > LOOHotWeight {
			hot = append(hot, i)
		}
	}
	if len(hot) > LOOHotRows {
		slices.SortStableFunc(hot, func(a, b int) int { return cmp.Compare(math.Abs(w[b]), math.Abs(w[a])) })
		hot = hot[:LOOHotRows]
		slices.Sort(hot)
	}
	return hot
}

// centreSample is how many rows, at most, CentreRows picks.
const centreSample = 64

// CentreRows returns the rows of n whose values a robust centre (Median) is taken of: all of
// them up to 64, else 64 evenly spaced (k n / 64). The engines take such a centre off values
// that share a large offset before rounding them to float32 (the held-out rows' projections;
// the CUDA engine's float32 copy of the brain data): a median, unlike a mean, stays in the bulk
// of the values when a few of them are huge (an outlier row), whose offset would otherwise land
// on every other row and take their digits.
func CentreRows(n int) []int {
	k := min(n, centreSample)
	rows := make([]int, k)
	for i := range rows {
		rows[i] = i * n / k
	}
	return rows
}

// Median returns the lower median of v (0 for none), sorting v in place.
func Median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	slices.Sort(v)
	return v[(len(v)-1)/2]
}
