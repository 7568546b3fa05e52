package stats

import (
	"math"
	"testing"
)

// One-sample t-tests by hand. x = c + (1, 2, 3, 4) against mu = c: mean difference 5/2, s^2 =
// 5/3, t = (5/2) / sqrt(5/12) = sqrt 15 with 3 degrees of freedom, whose two-sided tail is
// 1 - (2/pi)(t/(sqrt 3 (1 + t^2/3)) + atan(t/sqrt 3)) = 1 - (2/pi)(sqrt 5/6 + atan sqrt 5). With
// c = 2^50 every deviation is exact, but (v + mean)(v - mean) is not: the squares must be of the
// deviations. Two rows (1, 3) of one target: mean 2, s^2 = 2, t = 2/sqrt(2/2) = 2 with one degree
// of freedom (Cauchy), p = 1 - (2/pi) atan 2. Zero targets are no error.
func TestTTestByHand(t *testing.T) {
	wantP := 1 - 2/math.Pi*(math.Sqrt(5)/6+math.Atan(math.Sqrt(5)))
	for _, c := range []float64{0, 0x1p50} {
		tt, p := TTest1Samp([]float64{c + 1, c + 2, c + 3, c + 4}, c)
		if math.Abs(tt-math.Sqrt(15)) > 1e-14 || math.Abs(p-wantP) > 1e-12 {
			t.Errorf("offset %g: t %.17g p %.17g, want sqrt 15 and %.17g", c, tt, p, wantP)
		}
	}
	tt, p, err := TTest1SampColumns([]float64{1, 3}, 2, 1)
	if err != nil || math.Abs(tt[0]-2) > 1e-15 || math.Abs(p[0]-(1-2/math.Pi*math.Atan(2))) > 1e-12 {
		t.Errorf("two rows: t %v p %v (%v), want 2 and 1 - (2/pi) atan 2", tt, p, err)
	}
	if tt, p, err := TTest1SampColumns(nil, 3, 0); err != nil || len(tt) != 0 || len(p) != 0 {
		t.Errorf("3 rows of no targets: %v %v %v, want empty results", tt, p, err)
	}
}
