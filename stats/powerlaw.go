package stats

import (
	"fmt"
	"math"
	"sort"

	"gonum.org/v1/gonum/mat"
)

// PowerLaw is a saturating power law in x (compute, parameters, training steps):
//
//	y(x) = YInf - Gap (x/XRef)^(-Alpha)
//
// YInf is the value approached as x grows; Gap is how far below it (above it, when negative:
// a falling curve) y is at the reference XRef, the geometric mean of the fitted x; Alpha is the
// exponent. The same curve written with a raw coefficient is YInf - Coefficient() x^(-Alpha).
type PowerLaw struct {
	YInf  float64 `json:"y_inf"`
	Gap   float64 `json:"gap"`
	Alpha float64 `json:"alpha"`
	XRef  float64 `json:"x_ref"`
	// SE are the asymptotic standard errors of YInf, Gap and Alpha, as scipy.optimize.curve_fit's
	// pcov (absolute_sigma=False): the inverse of J^T J times RSS/(n-3). NaN when J^T J is
	// singular or n = 3.
	SE struct {
		YInf  float64 `json:"y_inf"`
		Gap   float64 `json:"gap"`
		Alpha float64 `json:"alpha"`
	} `json:"se"`
	RSS float64 `json:"rss"` // residual sum of squares
	R2  float64 `json:"r2"`  // 1 - RSS / total sum of squares
	N   int     `json:"n"`
	// Bound says that the least-squares exponent lies at the edge of the range searched, where
	// the parameters are not identified: BoundLogLinear (no saturation within the data: the best
	// curve is the alpha -> 0 limit, a straight line in log x; see FitLogLinear) or BoundStep
	// (the data jump between their smallest x values and are flat after). Empty otherwise.
	Bound string `json:"bound,omitempty"`
}

// The edges of the exponent's search range, as the total decay over the data's range of log x:
// Alpha ln(xmax/xmin) between PowerLawMinDecay and PowerLawMaxDecay.
const (
	PowerLawMinDecay = 1e-3
	PowerLawMaxDecay = 300
	BoundLogLinear   = "log-linear"
	BoundStep        = "step"
)

// At is the curve's value at x.
func (p PowerLaw) At(x float64) float64 { return p.YInf - p.Gap*math.Pow(x/p.XRef, -p.Alpha) }

// Coefficient is A in y = YInf - A x^(-Alpha) (it may overflow to ±Inf for extreme x and Alpha,
// which Gap and XRef avoid).
func (p PowerLaw) Coefficient() float64 { return p.Gap * math.Pow(p.XRef, p.Alpha) }

// LogLinear is the straight line y = Intercept + Slope ln(x): the non-saturating alternative to a
// PowerLaw, and its alpha -> 0 limit.
type LogLinear struct {
	Intercept float64 `json:"intercept"`
	Slope     float64 `json:"slope"`
	RSS       float64 `json:"rss"`
	R2        float64 `json:"r2"`
}

// FitLogLinear fits y = Intercept + Slope ln(x) by least squares. x must be positive.
func FitLogLinear(x, y []float64) (LogLinear, error) {
	lx, err := powerLawInputs("FitLogLinear", x, y, 2)
	if err != nil {
		return LogLinear{}, err
	}
	slope, icpt, err := LinearFit(lx, y)
	if err != nil {
		return LogLinear{}, err
	}
	rss := 0.0
	for i := range y {
		r := y[i] - icpt - slope*lx[i]
		rss += r * r
	}
	return LogLinear{Intercept: icpt, Slope: slope, RSS: rss, R2: 1 - rss/sumSquares(y)}, nil
}

// FitPowerLaw fits the saturating power law y = YInf - Gap (x/XRef)^(-Alpha) by least squares.
// It needs x > 0 with at least 3 distinct values, finite y that are not all equal, and at least
// 4 points (3 parameters and an error estimate).
//
// For a fixed exponent the curve is linear in YInf and Gap, so the residual sum of squares is
// minimised over the exponent alone (variable projection): a grid over the exponent's range
// finds the global minimum's neighbourhood, and bisection on the exact derivative (by the
// envelope theorem, -2 Gap sum r_i u_i ln(x_i/XRef), u_i = (x_i/XRef)^-Alpha) locates it to
// rounding. Least-squares solvers started from one point (curve_fit) can stop in a local minimum
// or wander off to alpha -> 0; the grid does not.
func FitPowerLaw(x, y []float64) (PowerLaw, error) {
	lx, err := powerLawInputs("FitPowerLaw", x, y, 3)
	if err != nil {
		return PowerLaw{}, err
	}
	if len(x) < 4 {
		return PowerLaw{}, fmt.Errorf("stats: FitPowerLaw: %d points; need at least 4 (3 parameters and an error estimate)", len(x))
	}
	n := len(x)
	lref := mean(lx)
	d := make([]float64, n) // ln(x/XRef)
	lo, hi := math.Inf(1), math.Inf(-1)
	for i, l := range lx {
		d[i] = l - lref
		lo, hi = math.Min(lo, l), math.Max(hi, l)
	}
	span := hi - lo
	pf := powerLawProfile{d: d, y: y, w: make([]float64, n)}

	// Grid over t = ln(Alpha span), then refine in the best point's bracket.
	const steps = 300
	t0, t1 := math.Log(PowerLawMinDecay), math.Log(PowerLawMaxDecay)
	alphaAt := func(t float64) float64 { return math.Exp(t) / span }
	best, bestRSS := 0, math.Inf(1)
	for k := 0; k <= steps; k++ {
		if r := pf.rss(alphaAt(t0 + (t1-t0)*float64(k)/steps)); r < bestRSS {
			best, bestRSS = k, r
		}
	}
	tk := func(k int) float64 { return t0 + (t1-t0)*float64(k)/steps }
	var alpha float64
	bound := ""
	switch best {
	case 0:
		alpha, bound = alphaAt(t0), BoundLogLinear
	case steps:
		alpha, bound = alphaAt(t1), BoundStep
	default:
		alpha = pf.refine(alphaAt(tk(best-1)), alphaAt(tk(best)), alphaAt(tk(best+1)))
		// Past this the term has vanished at every x but the smallest, whose point the gap then
		// fits alone: any larger exponent fits as well.
		if alpha*secondGap(lx, lo) > stepDecay {
			bound = BoundStep
		}
	}
	rss := pf.rss(alpha) // also sets pf.c, pf.a
	p := PowerLaw{YInf: pf.c, Gap: pf.a, Alpha: alpha, XRef: math.Exp(lref), RSS: rss, N: n, Bound: bound}
	p.R2 = 1 - p.RSS/sumSquares(y)
	p.SE.YInf, p.SE.Gap, p.SE.Alpha = math.NaN(), math.NaN(), math.NaN()
	if n > 3 {
		p.SE.YInf, p.SE.Gap, p.SE.Alpha = powerLawSE(d, p)
	}
	return p, nil
}

// powerLawInputs checks x and y and returns ln x.
func powerLawInputs(fn string, x, y []float64, distinct int) ([]float64, error) {
	if len(x) != len(y) {
		return nil, fmt.Errorf("stats: %s: %d x and %d y values", fn, len(x), len(y))
	}
	lx := make([]float64, len(x))
	for i := range x {
		if !(x[i] > 0) || math.IsInf(x[i], 1) {
			return nil, fmt.Errorf("stats: %s: x[%d] = %v; x must be positive and finite", fn, i, x[i])
		}
		if math.IsNaN(y[i]) || math.IsInf(y[i], 0) {
			return nil, fmt.Errorf("stats: %s: y[%d] = %v is not finite", fn, i, y[i])
		}
		lx[i] = math.Log(x[i])
	}
	if k := CountDistinct(x); k < distinct {
		return nil, fmt.Errorf("stats: %s: %d distinct x values; need at least %d", fn, k, distinct)
	}
	if isConstant(y) {
		return nil, fmt.Errorf("stats: %s: y is constant (%v), so there is no trend to fit", fn, y[0])
	}
	return lx, nil
}

// stepDecay is the decay, in e-folds, between the two smallest distinct x beyond which a fit is
// a step (BoundStep): the curve's term at the second is below 1e-6 of that at the first.
const stepDecay = 13.8

// secondGap is the distance in log x from the smallest x (lo) to the next distinct one.
func secondGap(lx []float64, lo float64) float64 {
	g := math.Inf(1)
	for _, l := range lx {
		if l > lo {
			g = math.Min(g, l-lo)
		}
	}
	return g
}

// CountDistinct is the number of distinct values in x.
func CountDistinct(x []float64) int {
	s := append([]float64(nil), x...)
	sort.Float64s(s)
	k := 0
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			k++
		}
	}
	return k
}

func sumSquares(y []float64) float64 {
	m, s := mean(y), 0.0
	for _, v := range y {
		s += (v - m) * (v - m)
	}
	return s
}

// powerLawProfile evaluates the residual sum of squares minimised over YInf and Gap at a fixed
// exponent (the profile), keeping the last solution in c and a.
type powerLawProfile struct {
	d, y, w []float64 // ln(x/XRef), y, scratch
	c, a    float64
}

// rss solves the linear least-squares problem at alpha. With u = (x/XRef)^-alpha = 1 + w, the
// curve is c - a - a w: fitting on w = expm1(-alpha d) rather than u keeps the columns'
// differences exact when alpha is small (u is then 1 + O(alpha)).
func (pf *powerLawProfile) rss(alpha float64) float64 {
	n := float64(len(pf.y))
	mw, my := 0.0, mean(pf.y)
	for i, d := range pf.d {
		pf.w[i] = math.Expm1(-alpha * d)
		mw += pf.w[i]
	}
	mw /= n
	sww, swy := 0.0, 0.0
	for i, w := range pf.w {
		sww += (w - mw) * (w - mw)
		swy += (w - mw) * (pf.y[i] - my)
	}
	b1 := swy / sww
	b0 := my - b1*mw
	pf.a, pf.c = -b1, b0-b1
	rss := 0.0
	for i, w := range pf.w {
		r := pf.y[i] - b0 - b1*w
		rss += r * r
	}
	return rss
}

// slope is d rss / d alpha at alpha (the envelope theorem: YInf and Gap at their optimum).
func (pf *powerLawProfile) slope(alpha float64) float64 {
	pf.rss(alpha)
	s := 0.0
	for i, w := range pf.w {
		u := 1 + w
		r := pf.y[i] - pf.c + pf.a*u
		s += r * u * pf.d[i]
	}
	return -2 * pf.a * s
}

// refine finds the minimum of the profile in [lo, hi], where mid is the best grid point: by
// bisection on the sign of its derivative when that changes across the bracket, else by a golden
// section search on the profile itself.
func (pf *powerLawProfile) refine(lo, mid, hi float64) float64 {
	sl, sh := pf.slope(lo), pf.slope(hi)
	if sl < 0 && sh > 0 {
		for i := 0; i < 200 && hi-lo > 1e-15*hi; i++ {
			m := 0.5 * (lo + hi)
			if m <= lo || m >= hi {
				break
			}
			if pf.slope(m) < 0 {
				lo = m
			} else {
				hi = m
			}
		}
		a := 0.5 * (lo + hi)
		if pf.rss(a) <= pf.rss(mid) {
			return a
		}
		return mid
	}
	g := (math.Sqrt(5) - 1) / 2
	a, b := lo, hi
	c, e := b-g*(b-a), a+g*(b-a)
	fc, fe := pf.rss(c), pf.rss(e)
	for i := 0; i < 200 && b-a > 1e-12*b; i++ {
		if fc <= fe {
			b, e, fe = e, c, fc
			c = b - g*(b-a)
			fc = pf.rss(c)
		} else {
			a, c, fc = c, e, fe
			e = a + g*(b-a)
			fe = pf.rss(e)
		}
	}
	if fc <= pf.rss(mid) {
		return c
	}
	return mid
}

// powerLawSE is curve_fit's standard errors: sqrt(diag((J^T J)^-1) RSS/(n-3)) with J the
// Jacobian of the curve in (YInf, Gap, Alpha).
func powerLawSE(d []float64, p PowerLaw) (se0, se1, se2 float64) {
	n := len(d)
	j := mat.NewDense(n, 3, nil)
	for i, di := range d {
		u := math.Exp(-p.Alpha * di)
		j.Set(i, 0, 1)
		j.Set(i, 1, -u)
		j.Set(i, 2, p.Gap*u*di)
	}
	// Each column scaled to unit length before J^T J is inverted, and the inverse scaled back:
	// Alpha's column is in y's units, the others are not, so y in other units (scores times 1e-10
	// or 1e8) made J^T J look singular to the inverse's condition test, and every error NaN.
	nan := math.NaN()
	var norm [3]float64
	for k := range norm {
		norm[k] = mat.Norm(j.ColView(k), 2)
		if !(norm[k] > 0) {
			return nan, nan, nan
		}
	}
	for i := range n {
		for k := range norm {
			j.Set(i, k, j.At(i, k)/norm[k])
		}
	}
	var jtj mat.SymDense
	jtj.SymOuterK(1, j.T())
	var cov mat.Dense
	if err := cov.Inverse(&jtj); err != nil {
		return nan, nan, nan
	}
	s2 := p.RSS / float64(n-3)
	sd := func(k int) float64 {
		if v := cov.At(k, k) * s2; v >= 0 {
			return math.Sqrt(v) / norm[k]
		}
		return math.NaN()
	}
	return sd(0), sd(1), sd(2)
}
