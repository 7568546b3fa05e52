package stats

import (
	"errors"
	"fmt"
	"math"
)

// WilcoxonExactMaxN is the largest sample size for which Wilcoxon uses the
// exact null distribution (SciPy 1.10's method='auto' threshold).
const WilcoxonExactMaxN = 50

// Wilcoxon is the two-sided Wilcoxon signed-rank test of the paired samples x
// and y (differences d = x - y; y may be nil to test x itself against 0). It
// reproduces scipy.stats.wilcoxon(x, y) of SciPy 1.10 with its defaults
// (zero_method='wilcox', correction=False, method='auto'): stat is
// T = min(r+, r-), and p is exact for n <= 50 without zero differences, and
// from the tie-corrected normal approximation otherwise (zeros dropped). See
// the package documentation for the formulas and SciPy 1.10's handling of
// ties in the exact branch.
//
// Errors: mismatched lengths, an empty sample, non-finite differences, and
// all differences zero (SciPy raises there too).
func Wilcoxon(x, y []float64) (stat, p float64, err error) {
	d := make([]float64, len(x))
	if y == nil {
		copy(d, x)
	} else {
		if len(x) != len(y) {
			return math.NaN(), math.NaN(), fmt.Errorf("stats: Wilcoxon: x and y have different lengths (%d and %d)", len(x), len(y))
		}
		for i := range x {
			d[i] = x[i] - y[i]
		}
	}
	if len(d) == 0 {
		return math.NaN(), math.NaN(), errors.New("stats: Wilcoxon: empty sample")
	}
	nZero := 0
	for i, v := range d {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return math.NaN(), math.NaN(), fmt.Errorf("stats: Wilcoxon: difference %d is not finite (%v)", i, v)
		}
		if v == 0 {
			nZero++
		}
	}
	// SciPy decides on the exact branch from the full length, before zeros
	// are considered; any zero then forces the approximation.
	exact := len(d) <= WilcoxonExactMaxN && nZero == 0
	if !exact {
		if nZero == len(d) {
			return math.NaN(), math.NaN(), errors.New("stats: Wilcoxon: all differences are zero")
		}
		nz := d[:0:0]
		for _, v := range d {
			if v != 0 {
				nz = append(nz, v)
			}
		}
		d = nz
	}
	n := len(d)
	abs := make([]float64, n)
	for i, v := range d {
		abs[i] = math.Abs(v)
	}
	r := Rank(abs)
	rPlus, rMinus := 0.0, 0.0
	for i, v := range d {
		if v > 0 {
			rPlus += r[i]
		} else {
			rMinus += r[i]
		}
	}
	stat = math.Min(rPlus, rMinus)
	if exact {
		return stat, wilcoxonExactP(n, int(rPlus)), nil
	}
	fn := float64(n)
	mn := fn * (fn + 1) / 4
	se := fn * (fn + 1) * (2*fn + 1)
	for _, t := range tieGroups(r) {
		ft := float64(t)
		se -= 0.5 * ft * (ft*ft - 1)
	}
	se = math.Sqrt(se / 24)
	z := (stat - mn) / se
	return stat, NormalTwoSided(z), nil
}

// wilcoxonExactP returns the two-sided exact p-value for r+ (truncated to an
// integer, as SciPy 1.10 does) among n untied ranks.
func wilcoxonExactP(n, rPlus int) float64 {
	pmf := wilcoxonPMF(n)
	if rPlus == (len(pmf)-1)/2 {
		return 1
	}
	lo, hi := 0.0, 0.0
	for s := 0; s <= rPlus; s++ {
		lo += pmf[s]
	}
	for s := rPlus; s < len(pmf); s++ {
		hi += pmf[s]
	}
	return math.Min(1, math.Max(0, 2*math.Min(lo, hi)))
}

// wilcoxonPMF returns P(R+ = s), s = 0..n(n+1)/2, under the null: each rank k
// joins R+ with probability 1/2, so c_k(s) = (c_{k-1}(s) + c_{k-1}(s-k))/2.
// Every value is a multiple of 2^-n, exact in float64 for n <= 50.
func wilcoxonPMF(n int) []float64 {
	c := []float64{1}
	for k := 1; k <= n; k++ {
		next := make([]float64, k*(k+1)/2+1)
		m := len(c)
		for s := 0; s < m; s++ {
			next[s] += c[s] * 0.5
			next[len(next)-m+s] += c[s] * 0.5
		}
		c = next
	}
	return c
}
