package stats

import (
	"fmt"
	"math"
)

// Pearson returns Pearson's correlation coefficient of x and y and its
// two-sided p-value from Student's t distribution with n-2 degrees of freedom,
// as scipy.stats.pearsonr. It needs at least two pairs; with exactly two, r is
// ±1 and p is 1. A constant input returns r = p = NaN and an error wrapping
// ErrConstantInput. Non-finite inputs propagate NaN.
func Pearson(x, y []float64) (r, p float64, err error) {
	if err := checkPaired(x, y, 2); err != nil {
		return math.NaN(), math.NaN(), err
	}
	if isConstant(x) || isConstant(y) {
		return math.NaN(), math.NaN(), fmt.Errorf("stats: Pearson: %w", ErrConstantInput)
	}
	n := len(x)
	if n == 2 {
		// Two points always lie on a line; SciPy reports the sign and p = 1.
		return sign(x[1]-x[0]) * sign(y[1]-y[0]), 1, nil
	}
	r = pearsonR(x, y)
	return r, pearsonP(r, n), nil
}

// pearsonR centres, scales each vector to unit norm, then takes the dot
// product, which is the order of operations SciPy uses; scaling first keeps
// huge or tiny inputs from overflowing.
func pearsonR(x, y []float64) float64 {
	mx, my := mean(x), mean(y)
	nx, ny := centredNorm(x, mx), centredNorm(y, my)
	s := 0.0
	for i := range x {
		s += (x[i] - mx) / nx * ((y[i] - my) / ny)
	}
	return math.Max(-1, math.Min(1, s))
}

// centredNorm is |x - m|, as sqrt of the sum of squares (SciPy's norm: collinear data give r of
// exactly ±1), the deviations first scaled by the power of two that brings the largest to about 1
// (exact), so that huge or tiny inputs neither overflow nor underflow.
func centredNorm(x []float64, m float64) float64 {
	big := 0.0
	for _, v := range x {
		big = max(big, math.Abs(v-m))
	}
	if big == 0 || math.IsInf(big, 0) || math.IsNaN(big) {
		return big
	}
	_, e := math.Frexp(big)
	e = max(-1000, min(1000, e))
	sc := math.Ldexp(1, -e)
	ss := 0.0
	for _, v := range x {
		d := (v - m) * sc
		ss += d * d
	}
	return math.Ldexp(math.Sqrt(ss), e)
}

// PearsonP is the two-sided p-value of a Pearson r of n pairs against 0, as
// scipy.stats.pearsonr gives it (exact for independent normal pairs): NaN for
// a NaN r or fewer than 3 pairs.
func PearsonP(r float64, n int) float64 {
	if n < 3 {
		return math.NaN()
	}
	return pearsonP(r, n)
}

// pearsonP is 2 P(T_{n-2} >= |t|) for t = r sqrt((n-2)/(1-r^2)). It is
// passed to the t distribution through t, whose CDF evaluates
// I_{df/(df+t^2)}(df/2, 1/2); (1-|r|)(1+|r|) keeps 1-r^2 accurate near |r| = 1.
func pearsonP(r float64, n int) float64 {
	if math.IsNaN(r) {
		return math.NaN()
	}
	df := float64(n - 2)
	one := (1 - math.Abs(r)) * (1 + math.Abs(r))
	if one <= 0 {
		return 0
	}
	t := math.Abs(r) * math.Sqrt(df/one)
	return TTwoSided(t, df)
}

// Spearman returns Spearman's rank correlation of x and y (Pearson's r of the
// average ranks) and its two-sided p-value, as scipy.stats.spearmanr: the
// p-value uses t = rho sqrt((n-2)/((1+rho)(1-rho))) with n-2 degrees of
// freedom. It needs at least two pairs; a constant input returns NaN and an
// error wrapping ErrConstantInput.
func Spearman(x, y []float64) (rho, p float64, err error) {
	if err := checkPaired(x, y, 2); err != nil {
		return math.NaN(), math.NaN(), err
	}
	if isConstant(x) || isConstant(y) {
		return math.NaN(), math.NaN(), fmt.Errorf("stats: Spearman: %w", ErrConstantInput)
	}
	rho = rankCorrelation(Rank(x), Rank(y))
	df := float64(len(x) - 2)
	den := (rho + 1) * (1 - rho)
	var t float64
	switch {
	case den <= 0:
		t = math.Inf(1)
	default:
		t = rho * math.Sqrt(df/den)
	}
	if df == 0 {
		// SciPy divides 0 by (1+rho)(1-rho) here and gets t = 0 or NaN;
		// with two points the p-value carries no information.
		return rho, math.NaN(), nil
	}
	return rho, TTwoSided(t, df), nil
}

// rankCorrelation is Pearson's r of ranks in np.corrcoef's order of operations, which
// spearmanr uses: the covariances scaled by 1/(n-1), then divided by y's standard deviation and
// then x's. Ranks (integers and half-integers) are centred and summed exactly, so the result is
// numpy's to the last bit, and perfectly monotone data give exactly ±1 (p = 0) as in SciPy;
// pearsonR's unit vectors give 0.9999999999999998 for n = 3.
func rankCorrelation(rx, ry []float64) float64 {
	mx, my := mean(rx), mean(ry)
	sxx, syy, sxy := 0.0, 0.0, 0.0
	for i := range rx {
		dx, dy := rx[i]-mx, ry[i]-my
		sxx += dx * dx
		syy += dy * dy
		sxy += dx * dy
	}
	f := 1 / float64(len(rx)-1)
	r := sxy * f / math.Sqrt(syy*f) / math.Sqrt(sxx*f)
	return math.Max(-1, math.Min(1, r))
}

func isConstant(x []float64) bool {
	for _, v := range x[1:] {
		if v != x[0] {
			return false
		}
	}
	return true
}

func mean(x []float64) float64 {
	s := 0.0
	for _, v := range x {
		s += v
	}
	return s / float64(len(x))
}

func sign(v float64) float64 {
	switch {
	case v > 0:
		return 1
	case v < 0:
		return -1
	}
	return 0
}
