package stats

import (
	"math"
	"testing"
)

// plantedProfile is the profile of an exact curve y = 0.5 - 0.2 (x/XRef)^-alpha0 over 9 x from
// 1 to 1e8: its residual sum of squares is 0 at alpha0, and falls then rises around it.
func plantedProfile(alpha0 float64) *powerLawProfile {
	const n = 9
	pf := &powerLawProfile{d: make([]float64, n), y: make([]float64, n), w: make([]float64, n)}
	for i := range n {
		pf.d[i] = (float64(i) - 4) * math.Ln10 // ln(x/XRef), XRef = 1e4 the geometric mean
		pf.y[i] = 0.5 - 0.2*math.Exp(-alpha0*pf.d[i])
	}
	return pf
}

// slope is the derivative of the profile (the envelope theorem): it matches central differences
// of rss, evaluated after rss at another exponent (slope must not reuse its coefficients).
func TestProfileSlopeIsDerivative(t *testing.T) {
	c := load[[]powerLawCase](t, "powerlaw")[0]
	x, y := fl(c.X), fl(c.Y)
	lx := make([]float64, len(x))
	for i, v := range x {
		lx[i] = math.Log(v)
	}
	lref := mean(lx)
	pf := &powerLawProfile{d: make([]float64, len(x)), y: y, w: make([]float64, len(x))}
	for i, l := range lx {
		pf.d[i] = l - lref
	}
	for _, alpha := range []float64{0.05, 0.2, 0.6, 1.5} { // away from the minimum, where slope is 0
		h := 1e-5 * alpha
		want := (pf.rss(alpha+h) - pf.rss(alpha-h)) / (2 * h)
		pf.rss(3 * alpha)
		if got := pf.slope(alpha); math.Abs(got-want) > 1e-6*math.Abs(want) {
			t.Errorf("alpha %v: slope %.12g, central difference %.12g", alpha, got, want)
		}
	}
}

// refine locates the minimum of the profile within its bracket: by bisection on the slope to
// rounding (2e-14 here, where a golden section search on the profile's values stops near 1e-13),
// and when the bracket holds no sign change of the slope (the minimum beyond it) by a golden
// section search, at the bracket's end nearer the minimum, which beats the grid point mid. (The
// exact curves with exponents 0.1 and 0.3 have their minimum at the exponent to rounding; with
// 0.02 or 2 the rounding of y moves it by up to 1e-12.)
func TestRefineBrackets(t *testing.T) {
	for _, alpha0 := range []float64{0.02, 0.1, 0.3, 2} {
		pf := plantedProfile(alpha0)
		for _, c := range []struct {
			name         string
			lo, mid, hi  float64
			want, relTol float64
		}{
			{"around", 0.9, 1.02, 1.1, 1, 2e-14},
			{"below", 0.8, 0.85, 0.9, 0.9, 1e-10},
			{"above", 1.1, 1.15, 1.2, 1.1, 1e-10},
		} {
			if c.name == "around" && (alpha0 == 0.02 || alpha0 == 2) {
				continue
			}
			got := pf.refine(c.lo*alpha0, c.mid*alpha0, c.hi*alpha0)
			if want := c.want * alpha0; math.Abs(got-want) > c.relTol*want {
				t.Errorf("alpha %v, bracket %s: %.17g, want %.17g (rel err %.2g)", alpha0, c.name, got, want, math.Abs(got-want)/want)
			}
		}
	}
}
