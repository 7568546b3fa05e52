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

// A constant column is one of exactly equal values, as in pearsonCols: 0.1 three times has the
// mean 0.10000000000000002, whose deviations summed to SS_tot 1e-33 and an R² of -5e32 (that
// split then decided the penalty). scikit-learn's r2_score (force_finite): 1 for an exact
// prediction, else 0.
func TestR2ConstantColumn(t *testing.T) {
	y := []float64{0.1, 0.2, 0.1, 0.2, 0.1, 0.2}
	p := []float64{0.5, 0.1, -0.2, 0.1, 0.3, 0.1}
	got := r2Cols(p, []float64{0, 0.1}, y, 3, 2)
	if got[0] != 0 || got[1] != 1 {
		t.Errorf("r2 of constant columns predicted inexactly and exactly: %v, want [0 1]", got)
	}
}

// Re-centring the inner training targets leaves a target constant on those rows exactly zero
// (as the outer fold's centring), with its mean returned for the prediction's offset.
func TestCentreColsConstant(t *testing.T) {
	y := []float64{0.7, 1, 0.7, 2, 0.7, 4}
	mu := centreCols(y, 3, 2, true)
	if y[0] != 0 || y[2] != 0 || y[4] != 0 {
		t.Errorf("constant column centred to %v, %v, %v, want exact zeros", y[0], y[2], y[4])
	}
	if math.Abs(mu[0]-0.7) > 1e-15 || mu[1] != 7.0/3 {
		t.Errorf("means %v, want [0.7 7/3]", mu)
	}
}
