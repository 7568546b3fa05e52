package stats

import (
	"math"
	"testing"
)

// Two pairs lie on a line: r is the product of the signs of the two differences and p is 1, as
// SciPy's pearsonr; Spearman's rho is the same (to rounding: np.corrcoef's order gives 1 - 2^-53)
// and its p undefined. The differences are chosen so
// that neither sign can come from a sum of the values or from a unit threshold.
func TestCorrelationTwoPairs(t *testing.T) {
	for _, c := range []struct {
		x, y []float64
		want float64
	}{
		{[]float64{3, 1}, []float64{0, 1}, -1},     // x falls, its values' sum is positive
		{[]float64{-1, -3}, []float64{-5, -2}, -1}, // y rises, its values' sum is negative
		{[]float64{0, 0.5}, []float64{0, 0.25}, 1}, // differences below 1
		{[]float64{0, -0.5}, []float64{0, 0.25}, -1},
	} {
		r, p, err := Pearson(c.x, c.y)
		if err != nil || r != c.want || p != 1 {
			t.Errorf("Pearson(%v, %v) = %v, %v (%v), want %v, 1", c.x, c.y, r, p, err, c.want)
		}
		rho, p, err := Spearman(c.x, c.y)
		if err != nil || math.Abs(rho-c.want) > 1e-15 || !math.IsNaN(p) {
			t.Errorf("Spearman(%v, %v) = %v, %v (%v), want %v, NaN", c.x, c.y, rho, p, err, c.want)
		}
	}
}

// x = (0, 1, 2) and y = (0, 2, 1) have deviations (-1, 0, 1) and (-1, 1, 0): r = 1 / (sqrt 2
// sqrt 2) = 1/2. With one degree of freedom t = r sqrt(1/(1-r^2)) = 1/sqrt 3 follows a Cauchy
// law, P(|T| >= 1/sqrt 3) = 1 - (2/pi) atan(1/sqrt 3) = 1 - (2/pi)(pi/6) = 2/3. The largest
// deviation is exactly 1 here, and the same data in units of 2^-1040 (subnormal numbers, whose
// norm needs the scale's exponent clamped to stay finite) give the same r to the 34 bits such
// numbers hold.
func TestPearsonByHand(t *testing.T) {
	for _, unit := range []float64{1, math.Ldexp(1, -1040)} {
		x := []float64{0, unit, 2 * unit}
		y := []float64{0, 2 * unit, unit}
		r, p, err := Pearson(x, y)
		tol := 1e-15
		if unit != 1 {
			tol = 1e-8
		}
		if err != nil || !(math.Abs(r-0.5) <= tol && math.Abs(p-2.0/3) <= tol) {
			t.Errorf("unit %g: r %v p %v (%v), want 1/2 and 2/3", unit, r, p, err)
		}
	}
}

// Collinear data whose unit vectors' dot product rounds to 1 + 2^-52 (SciPy 1.10's pearsonr
// computes the same 1.0000000000000002 here, then clips it): r is exactly 1, and -1 for a falling
// line. Spearman's rho of 8 monotone pairs rounds past 1 the same way in np.corrcoef's order
// (rankCorrelation), and np.corrcoef clips it too.
func TestCorrelationClippedToOne(t *testing.T) {
	x := []float64{15, -6, 2, -6, -6, 9}
	for _, sign := range []float64{1, -1} {
		y := make([]float64, len(x))
		for i, v := range x {
			y[i] = sign*2*v + 1
		}
		if r, p, err := Pearson(x, y); err != nil || r != sign || p != 0 {
			t.Errorf("Pearson of a line of slope %v: r %v p %v (%v), want %v and 0", 2*sign, r, p, err, sign)
		}
	}
	x, y := make([]float64, 8), make([]float64, 8)
	for i := range x {
		x[i], y[i] = float64(i), float64(i*i*i)
	}
	for _, sign := range []float64{1, -1} {
		for i := range y {
			y[i] = -y[i]
		}
		if rho := rankCorrelation(Rank(x), Rank(y)); rho != -sign {
			t.Errorf("rank correlation of 8 monotone pairs: %v, want %v", rho, -sign)
		}
	}
}

// Spearman's rho of monotone data is spearmanr's to the last bit (testdata/stats/
// spearman_monotone.json): exactly ±1 for most lengths, 1 - 2^-53 or 1 - 2^-52 for some, as
// np.corrcoef's order of operations rounds.
func TestSpearmanMonotoneExact(t *testing.T) {
	type monoCase struct {
		N      int `json:"n"`
		X, Y   []jf
		Rho, P jf
	}
	cs := load[[]monoCase](t, "spearman_monotone")
	if len(cs) < 20 {
		t.Fatalf("only %d monotone cases", len(cs))
	}
	inexact := 0
	for _, c := range cs {
		rho, p, err := Spearman(fl(c.X), fl(c.Y))
		if err != nil || rho != float64(c.Rho) {
			t.Errorf("n %d: rho %.17g (%v), want spearmanr's %.17g", c.N, rho, err, float64(c.Rho))
		}
		near(t, "p", p, float64(c.P), tolP)
		if math.Abs(float64(c.Rho)) != 1 {
			inexact++
		}
	}
	if inexact == 0 {
		t.Error("no case where spearmanr's rho is not exactly ±1: the fixture tells no order of operations apart")
	}
}

// PearsonP is pearsonr's p-value of an r computed elsewhere (metrics' held-out scores); an r
// rounded past ±1 (a mean of r's, say) is a perfect correlation, p = 0, not 1 - r^2 < 0.
func TestPearsonP(t *testing.T) {
	for _, c := range load[[]corrCase](t, "pearson") {
		if n := len(c.X); n >= 3 {
			near(t, c.Name+" PearsonP", PearsonP(float64(c.R), n), float64(c.P), tolP)
		}
	}
	for _, c := range []struct {
		r    float64
		n    int
		want float64
	}{
		{1, 2, math.NaN()}, // two pairs: no p-value (Pearson itself reports 1)
		{0.5, 2, math.NaN()},
		{math.NaN(), 10, math.NaN()},
		{1, 10, 0},
		{1 + 0x1p-52, 10, 0},
		{-1 - 0x1p-52, 10, 0},
	} {
		if got := PearsonP(c.r, c.n); !(got == c.want || math.IsNaN(got) && math.IsNaN(c.want)) {
			t.Errorf("PearsonP(%v, %d) = %v, want %v", c.r, c.n, got, c.want)
		}
	}
}
