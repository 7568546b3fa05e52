package fallback

import (
	"math"
	"testing"
)

// Pearson r is scale-free: data of extreme scale (1e160, 1e-160) give the r of unit-scale data,
// not 0 or a rounded value from an over- or underflowing product of the sums of squares.
func TestPearsonExtremeScales(t *testing.T) {
	p := []float64{1, 2, 3, 5}
	base := []float64{1.5, 1.9, 3.4, 4.2}
	want, _ := pearsonCols(p, base, 4, 1)
	for _, s := range []float64{1e-160, 1e160} {
		y := make([]float64, len(base))
		for i, v := range base {
			y[i] = v * s
		}
		got, degenerate := pearsonCols(p, y, 4, 1)
		if degenerate[0] || math.Abs(got[0]-want[0]) > 1e-12 {
			t.Errorf("y x %g: r %v (degenerate %v), want %v", s, got[0], degenerate[0], want[0])
		}
	}
}
