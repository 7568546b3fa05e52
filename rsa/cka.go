package rsa

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/brainalign/brainalign/engine"
)

// ErrNoVariance is wrapped by the error of CKA with data that do not vary across stimuli (every
// column constant): its centred Gram matrix is zero.
var ErrNoVariance = errors.New("every feature or target is constant across the stimuli")

// ErrNoUnbiasedVariance is wrapped by the error of DebiasedCKA with data whose unbiased HSIC with
// themselves is zero although they vary: the unbiased estimator averages ((x_i - x_j) · (x_k -
// x_l))² over disjoint pairs of stimuli, zero when the data vary at one stimulus only (or at two
// whose differences from the rest are orthogonal).
var ErrNoUnbiasedVariance = errors.New("the data vary at too few stimuli for the unbiased HSIC (one stimulus apart from the others): debiased CKA is undefined")

// MinDebiasedStimuli is the fewest stimuli of DebiasedCKA: the unbiased HSIC divides by n(n-3).
const MinDebiasedStimuli = 4

// unbiasedTol is how small, relative to the root sum of squares of K's off-diagonal entries, the
// root sum of squares of the unbiased-centred entries (sqrt(n(n-3) HSIC_1(K, K))) may be, over
// sqrt(n), before it counts as zero: rounding leaves a few float64 epsilons where the exact value
// is 0. Data that vary have far more: the share is about n/sqrt(n² + d) for d isotropic features.
const unbiasedTol = 1e-13

// CKA returns linear CKA of the data of two centred Gram matrices of the same stimuli,
//
//	CKA = tr(Kx Ky) / (||Kx||_F ||Ky||_F),
//
// summed over the diagonals and twice the upper triangles (both are symmetric). It is the
// biased (V-statistic) HSIC estimator's CKA of Kornblith et al. 2019, as their code and
// rsatoolbox's compute it; debiased CKA (Song et al. 2012's unbiased HSIC) is not this number.
func CKA(x, y *Gram) (float64, error) {
	if x.N != y.N {
		return math.NaN(), fmt.Errorf("rsa: CKA of %d and %d stimuli", x.N, y.N)
	}
	tr, xx, yy := 0.0, 0.0, 0.0
	for i, a := range x.Diag {
		b := y.Diag[i]
		tr, xx, yy = tr+a*b, xx+a*a, yy+b*b
	}
	tu, xu, yu := 0.0, 0.0, 0.0
	for k, a := range x.Upper {
		b := y.Upper[k]
		tu, xu, yu = tu+a*b, xu+a*a, yu+b*b
	}
	tr, xx, yy = tr+2*tu, xx+2*xu, yy+2*yu
	switch {
	case xx == 0:
		return math.NaN(), fmt.Errorf("rsa: CKA: the first data: %w", ErrNoVariance)
	case yy == 0:
		return math.NaN(), fmt.Errorf("rsa: CKA: the second data: %w", ErrNoVariance)
	}
	// within [-1, 1] as in exact arithmetic (x against itself may round to 1 + 2^-52)
	return clampUnit(tr / (math.Sqrt(xx) * math.Sqrt(yy))), nil
}

// DebiasedCKA returns linear CKA of the data of two centred Gram matrices of the same stimuli
// with the unbiased HSIC estimator (Song et al. 2012) in place of the biased one: with K~ and L~
// the Gram matrices with zeroed diagonals, 1 the vector of n ones,
//
//	n(n-3) HSIC_1(K, L) = tr(K~ L~) + 1ᵀK~1 1ᵀL~1 / ((n-1)(n-2)) - 2/(n-2) 1ᵀK~L~1,
//	CKA_1 = HSIC_1(K, L) / sqrt(HSIC_1(K, K) HSIC_1(L, L)),
//
// Kornblith's cka(..., debiased=True). The biased estimator's tr(Kx Ky) counts each stimulus with
// itself (the diagonals), which for d features and n stimuli, d >> n, dominates: biased CKA of
// unrelated data is then near 1, debiased CKA near 0. It lies in [-1, 1] (HSIC_1 is an inner
// product of the Gram matrices projected to zero-diagonal, doubly centred ones) and may be
// slightly negative. It needs MinDebiasedStimuli stimuli; data that do not vary are an error
// wrapping ErrNoVariance (as for CKA), data that vary at one stimulus only one wrapping
// ErrNoUnbiasedVariance; the value is then NaN.
//
// It takes two passes over both triangles (the diagonals are not used) and 2n float64 of row sums:
// the estimator does not depend on the data's means, so the centred Gram matrices serve, and
// no n x n matrix is formed.
func DebiasedCKA(x, y *Gram) (float64, error) {
	if x.N != y.N {
		return math.NaN(), fmt.Errorf("rsa: debiased CKA of %d and %d stimuli", x.N, y.N)
	}
	n := x.N
	if n < MinDebiasedStimuli {
		return math.NaN(), fmt.Errorf("rsa: debiased CKA of %d stimuli: the unbiased HSIC needs at least %d", n, MinDebiasedStimuli)
	}
	// first pass: the row sums K~1, L~1 of the zero-diagonal matrices and their totals
	rx, ry := make([]float64, n), make([]float64, n)
	sx, sy, kk, ll := 0.0, 0.0, 0.0, 0.0 // sums over i < j of K_ij, L_ij, K_ij², L_ij²
	for i := range n - 1 {
		base := CondensedIndex(n, i, i+1)
		xr, yr := x.Upper[base:base+n-i-1], y.Upper[base:base+n-i-1]
		rxAfter, ryAfter := rx[i+1:], ry[i+1:]
		rxi, ryi := 0.0, 0.0
		for k, a := range xr {
			b := yr[k]
			rxi, ryi = rxi+a, ryi+b
			kk, ll = kk+a*a, ll+b*b
			rxAfter[k] += a
			ryAfter[k] += b
		}
		rx[i] += rxi
		ry[i] += ryi
		sx, sy = sx+rxi, sy+ryi
	}
	// second pass: n(n-3) HSIC_1 is the inner product of the zero-diagonal matrices with m_i +
	// m_j taken off every entry, m_i = (K~1)_i / (n-2) - 1ᵀK~1 / (2(n-1)(n-2)) (Kornblith et
	// al.'s unbiased centring). The formula above, summed as it stands, cancels terms of order
	// d² n down to a result of order d n² and loses about log10(d/n) digits (1e-10 at 5 stimuli
	// of 300,000 targets); this way the large part is taken off entry by entry.
	for i := range n {
		rx[i] = rx[i]/float64(n-2) - sx/float64((n-1)*(n-2))
		ry[i] = ry[i]/float64(n-2) - sy/float64((n-1)*(n-2))
	}
	hxy, hxx, hyy := 0.0, 0.0, 0.0
	for i := range n - 1 {
		base := CondensedIndex(n, i, i+1)
		xr, yr := x.Upper[base:base+n-i-1], y.Upper[base:base+n-i-1]
		mxAfter, myAfter := rx[i+1:], ry[i+1:]
		mxi, myi := rx[i], ry[i]
		for k, a := range xr {
			a -= mxi + mxAfter[k]
			b := yr[k] - myi - myAfter[k]
			hxy, hxx, hyy = hxy+a*b, hxx+a*a, hyy+b*b
		}
	}
	for _, side := range []struct {
		which string
		g     *Gram
		h     float64
		size  float64
	}{{"first", x, hxx, kk}, {"second", y, hyy, ll}} {
		switch {
		case side.size == 0 && dot(side.g.Diag, side.g.Diag) == 0:
			return math.NaN(), fmt.Errorf("rsa: debiased CKA: the %s data: %w", side.which, ErrNoVariance)
		case side.h <= unbiasedTol*unbiasedTol*float64(n)*side.size:
			return math.NaN(), fmt.Errorf("rsa: debiased CKA: the %s data: %w", side.which, ErrNoUnbiasedVariance)
		}
	}
	return clampUnit(hxy / (math.Sqrt(hxx) * math.Sqrt(hyy))), nil
}

func clampUnit(v float64) float64 { return max(-1, min(1, v)) }

func dot(a, b []float64) float64 {
	s := 0.0
	for i, v := range a {
		s += v * b[i]
	}
	return s
}

// LinearCKA is CKA of x (n x d) and y (n x m), through their n x n centred Gram matrices.
func LinearCKA(ctx context.Context, x, y engine.Matrix) (float64, error) {
	return linear(ctx, x, y, "CKA", 0, CKA)
}

// LinearDebiasedCKA is DebiasedCKA of x (n x d) and y (n x m), through their n x n centred Gram
// matrices.
func LinearDebiasedCKA(ctx context.Context, x, y engine.Matrix) (float64, error) {
	return linear(ctx, x, y, "debiased CKA", MinDebiasedStimuli, DebiasedCKA)
}

// linear computes the centred Gram matrices of x and y (the same stimuli, at least minRows of
// them, which are checked first: the Gram matrices are the costly part) and cka of them.
func linear(ctx context.Context, x, y engine.Matrix, what string, minRows int, cka func(x, y *Gram) (float64, error)) (float64, error) {
	if x.Rows != y.Rows {
		return math.NaN(), fmt.Errorf("rsa: %s of %d and %d stimuli", what, x.Rows, y.Rows)
	}
	if x.Rows < minRows {
		return math.NaN(), fmt.Errorf("rsa: %s of %d stimuli: the unbiased HSIC needs at least %d", what, x.Rows, minRows)
	}
	gx, err := CentredGram(ctx, x)
	if err != nil {
		return math.NaN(), err
	}
	gy, err := CentredGram(ctx, y)
	if err != nil {
		return math.NaN(), err
	}
	return cka(gx, gy)
}
