package stats

import (
	"math"
	"strings"
	"testing"
)

type powerLawCase struct {
	Name string `json:"name"`
	X    []jf   `json:"x"`
	Y    []jf   `json:"y"`
	Fit  struct {
		YInf  jf   `json:"y_inf"`
		Gap   jf   `json:"gap"`
		Alpha jf   `json:"alpha"`
		XRef  jf   `json:"x_ref"`
		SE    []jf `json:"se"`
		RSS   jf   `json:"rss"`
		R2    jf   `json:"r2"`
	} `json:"fit"`
	LogLinear struct {
		Intercept jf `json:"intercept"`
		Slope     jf `json:"slope"`
		RSS       jf `json:"rss"`
	} `json:"loglinear"`
}

// TestFitPowerLawMatchesCurveFit compares with scipy.optimize.curve_fit's global least-squares
// solution (many starts, checked against a dense scan) and its pcov standard errors.
func TestFitPowerLawMatchesCurveFit(t *testing.T) {
	for _, c := range load[[]powerLawCase](t, "powerlaw") {
		t.Run(c.Name, func(t *testing.T) {
			x, y := fl(c.X), fl(c.Y)
			p, err := FitPowerLaw(x, y)
			if err != nil {
				t.Fatal(err)
			}
			if p.Bound != "" || p.N != len(x) {
				t.Errorf("bound %q, n %d", p.Bound, p.N)
			}
			// The minimum is flat: parameters agree to about the square root of the RSS's precision.
			near(t, "y_inf", p.YInf, float64(c.Fit.YInf), 1e-6)
			near(t, "gap", p.Gap, float64(c.Fit.Gap), 1e-6)
			near(t, "alpha", p.Alpha, float64(c.Fit.Alpha), 1e-6)
			near(t, "x_ref", p.XRef, float64(c.Fit.XRef), 1e-12)
			near(t, "rss", p.RSS, float64(c.Fit.RSS), 1e-10)
			near(t, "r2", p.R2, float64(c.Fit.R2), 1e-10)
			near(t, "se y_inf", p.SE.YInf, float64(c.Fit.SE[0]), 1e-5)
			near(t, "se gap", p.SE.Gap, float64(c.Fit.SE[1]), 1e-5)
			near(t, "se alpha", p.SE.Alpha, float64(c.Fit.SE[2]), 1e-5)
			if p.RSS > float64(c.Fit.RSS)*(1+1e-12) {
				t.Errorf("rss %.17g above curve_fit's %.17g", p.RSS, float64(c.Fit.RSS))
			}
			l, err := FitLogLinear(x, y)
			if err != nil {
				t.Fatal(err)
			}
			near(t, "loglinear intercept", l.Intercept, float64(c.LogLinear.Intercept), 1e-9)
			near(t, "loglinear slope", l.Slope, float64(c.LogLinear.Slope), 1e-9)
			near(t, "loglinear rss", l.RSS, float64(c.LogLinear.RSS), 1e-9)
		})
	}
}

// TestFitPowerLawPlanted recovers exact curves, including exponents near both ends of the
// search and decreasing curves, and the reference-free parameters whatever x's units.
func TestFitPowerLawPlanted(t *testing.T) {
	for _, tc := range []struct {
		yinf, a, alpha float64
		x0, x1         float64
	}{
		{0.5, 3, 0.25, 1e15, 1e22},
		{0.2, -4, 0.7, 1, 1e4},
		{1.5, 0.01, 0.02, 1e2, 1e8},
		{-3, 2, 3, 1e-3, 1e1},
	} {
		var x, y []float64
		for i := 0; i < 9; i++ {
			xi := tc.x0 * math.Pow(tc.x1/tc.x0, float64(i)/8)
			x, y = append(x, xi), append(y, tc.yinf-tc.a*math.Pow(xi, -tc.alpha))
		}
		p, err := FitPowerLaw(x, y)
		if err != nil {
			t.Fatal(err)
		}
		lo, hi := minMaxOf(y)
		scale := hi - lo // y's rounding is relative to its range
		if math.Abs(p.Alpha-tc.alpha) > 1e-7*tc.alpha || math.Abs(p.YInf-tc.yinf) > 1e-9*scale ||
			math.Abs(p.Coefficient()-tc.a) > 1e-6*math.Abs(tc.a) || p.R2 < 1-1e-12 {
			t.Errorf("planted %+v: got y_inf %v, A %v, alpha %v, r2 %v", tc, p.YInf, p.Coefficient(), p.Alpha, p.R2)
		}
		for i := range x {
			if d := math.Abs(p.At(x[i]) - y[i]); d > 1e-12*scale {
				t.Errorf("planted %+v: At(%g) = %v, want %v", tc, x[i], p.At(x[i]), y[i])
			}
		}
		// Units of x: only XRef (and so the raw coefficient) changes.
		xs := make([]float64, len(x))
		for i := range x {
			xs[i] = x[i] * 1e6
		}
		q, err := FitPowerLaw(xs, y)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(q.Alpha-p.Alpha) > 1e-9*p.Alpha || math.Abs(q.YInf-p.YInf) > 1e-9*scale || math.Abs(q.Gap-p.Gap) > 1e-9*math.Abs(p.Gap) ||
			math.Abs(q.XRef/p.XRef-1e6) > 1e-3 {
			t.Errorf("planted %+v: x in other units gives %+v, want %+v", tc, q, p)
		}
	}
}

func minMaxOf(v []float64) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, x := range v {
		lo, hi = math.Min(lo, x), math.Max(hi, x)
	}
	return lo, hi
}

func TestFitPowerLawBounds(t *testing.T) {
	x := []float64{1, 10, 100, 1000, 1e4}
	line := make([]float64, len(x))
	for i := range x {
		line[i] = 0.1 + 0.05*math.Log(x[i])
	}
	p, err := FitPowerLaw(x, line)
	if err != nil || p.Bound != BoundLogLinear {
		t.Errorf("a straight line in log x: bound %q, err %v; want %q", p.Bound, err, BoundLogLinear)
	}
	if p.R2 < 1-1e-6 {
		t.Errorf("a straight line in log x: r2 %v at the log-linear limit", p.R2)
	}
	step := []float64{0, 1, 1, 1, 1}
	if p, err := FitPowerLaw(x, step); err != nil || p.Bound != BoundStep {
		t.Errorf("a step: bound %q, err %v; want %q", p.Bound, err, BoundStep)
	}
	// A step between the two smallest x, 1 and 1.01: the curve's term would have to vanish at
	// 1.01 and not at 1, so the residual falls all the way to the largest exponent searched,
	// PowerLawMaxDecay / ln(xmax/xmin), where the term at 1.01 is still 0.72 of that at 1.
	x = []float64{1, 1.01, 100, 1000, 1e4}
	if p, err := FitPowerLaw(x, step); err != nil || p.Bound != BoundStep || math.Abs(p.Alpha*math.Log(1e4)/PowerLawMaxDecay-1) > 1e-12 {
		t.Errorf("a step between close x: bound %q, alpha %v, err %v; want %q at alpha %v", p.Bound, p.Alpha, err, BoundStep, PowerLawMaxDecay/math.Log(1e4))
	}
}

// FitLogLinear by hand: ln x = (0, 0, L, L) with L = ln 10 and y = (0, 2, 1, 3) + c: the line
// through the two groups' means, c + 1 and c + 2, has intercept c + 1 and slope 1/L; the
// residuals are -1, 1, -1, 1 (RSS 4) about a total sum of squares of 5, so R2 = 1/5. The offset
// c = 2^50 leaves all of this unchanged (y and its mean are exact), but a total sum of squares
// taken as sum (y + mean)(y - mean) would round its terms to 0.5. Two distinct x are enough for
// a line.
func TestFitLogLinearByHand(t *testing.T) {
	for _, c := range []float64{0, 0x1p50} {
		l, err := FitLogLinear([]float64{1, 1, 10, 10}, []float64{c, c + 2, c + 1, c + 3})
		if err != nil || math.Abs(l.Intercept-(c+1)) > 1e-9 || math.Abs(l.Slope*math.Ln10-1) > 1e-9 ||
			math.Abs(l.RSS-4) > 1e-9 || !(math.Abs(l.R2-0.2) <= 1e-12) {
			t.Errorf("offset %g: %+v (%v), want intercept %g, slope 1/ln 10, rss 4, r2 0.2", c, l, err, c+1)
		}
	}
}

func TestFitPowerLawErrors(t *testing.T) {
	x := []float64{1, 2, 4, 8}
	y := []float64{0.1, 0.2, 0.25, 0.27}
	for _, tc := range []struct {
		name string
		x, y []float64
		want string
	}{
		{"lengths", x, y[:3], "4 x and 3 y"},
		{"zero x", []float64{0, 2, 4, 8}, y, "x[0] = 0"},
		{"negative x", []float64{1, 2, -4, 8}, y, "x[2] = -4"},
		{"inf x", []float64{1, 2, 4, math.Inf(1)}, y, "x[3] = +Inf"},
		{"nan y", x, []float64{0.1, math.NaN(), 0.2, 0.3}, "y[1] = NaN"},
		{"inf y", x, []float64{0.1, 0.2, math.Inf(1), 0.3}, "y[2] = +Inf"},
		{"-inf y", x, []float64{math.Inf(-1), 0.1, 0.2, 0.3}, "y[0] = -Inf"},
		{"constant y", x, []float64{0.2, 0.2, 0.2, 0.2}, "y is constant"},
		{"two distinct x", []float64{1, 1, 8, 8}, y, "2 distinct x"},
		{"three points", x[:3], y[:3], "3 points"},
	} {
		_, err := FitPowerLaw(tc.x, tc.y)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want %q", tc.name, err, tc.want)
		}
	}
	if _, err := FitLogLinear([]float64{1, 1, 1}, []float64{1, 2, 3}); err == nil || !strings.Contains(err.Error(), "1 distinct x values; need at least 2") {
		t.Errorf("FitLogLinear with one distinct x: %v", err)
	}
}

// BenchmarkFitPowerLaw fits 600 models (the scale of a study of alignment over 600 models); a
// bootstrap of 1000 resamples is 1000 of these, spread over the cores.
func BenchmarkFitPowerLaw(b *testing.B) {
	x, y := make([]float64, 600), make([]float64, 600)
	for i := range x {
		x[i] = math.Pow(10, 14+10*float64(i)/600)
		y[i] = 0.5 - 0.25*math.Pow(x[i]/1e19, -0.12) + 0.03*math.Sin(float64(7*i))
	}
	for b.Loop() {
		if _, err := FitPowerLaw(x, y); err != nil {
			b.Fatal(err)
		}
	}
}
