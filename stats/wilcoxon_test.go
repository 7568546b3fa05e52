package stats

import (
	"math"
	"testing"
)

// The exact two-sided p-value of four untied differences, by hand: the 16 subsets of ranks
// {1, 2, 3, 4} have sums 0 to 10 with counts 1 1 1 2 2 2 2 2 1 1 1, so P(R+ <= 0) = 1/16,
// P(R+ <= 3) = 5/16, P(R+ <= 4) = 7/16, P(R+ >= 6) = 7/16 and p = 2 min(P(R+ <= r),
// P(R+ >= r)): 1/8, 5/8, 7/8 and 7/8 (scipy.stats.wilcoxon gives the same); the centre r+ = 5
// has p = 1. Infinite differences are refused like NaN.
func TestWilcoxonExactByHand(t *testing.T) {
	for _, c := range []struct {
		d       []float64
		stat, p float64
	}{
		{[]float64{-1, -2, -3, -4}, 0, 1.0 / 8},
		{[]float64{1, 2, -3, -4}, 3, 5.0 / 8},
		{[]float64{1, -2, 3, -4}, 4, 7.0 / 8},
		{[]float64{-1, 2, -3, 4}, 4, 7.0 / 8},
		{[]float64{1, -2, -3, 4}, 5, 1},
	} {
		stat, p, err := Wilcoxon(c.d, nil)
		if err != nil || stat != c.stat || p != c.p {
			t.Errorf("Wilcoxon(%v) = %v, %v (%v), want %v, %v", c.d, stat, p, err, c.stat, c.p)
		}
	}
	for _, inf := range []float64{math.Inf(1), math.Inf(-1)} {
		if _, _, err := Wilcoxon([]float64{1, inf, 2}, nil); err == nil {
			t.Errorf("difference %v accepted", inf)
		}
	}
}
