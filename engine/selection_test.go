package engine

import (
	"fmt"
	"math"
	"testing"
)

// TestKeptDirections: eigenvalues at or below max(ntr, d) eps lambda_max are dropped, and the
// drop is counted against min(d, ntr), less one with an intercept, never below zero. The
// expected values follow from that rule by hand.
func TestKeptDirections(t *testing.T) {
	const eps = 0x1p-52
	for _, c := range []struct {
		lambda    []float64
		ntr, d    int
		intercept bool
		keep      []int
		dropped   int
	}{
		// tol = 1 * max(10, 3) * eps: the eigenvalue equal to it is a numerical zero.
		{[]float64{1, 10 * eps, 0.5}, 10, 3, false, []int{0, 2}, 1},
		{[]float64{1, 11 * eps, 0.5}, 10, 3, false, []int{0, 1, 2}, 0},
		// 3 rows, 5 features: rank min(5, 3) = 3, or 2 once centred.
		{[]float64{1, 0, 0}, 3, 5, false, []int{0}, 2},
		{[]float64{1, 0, 0}, 3, 5, true, []int{0}, 1},
		{[]float64{1, 1, 0}, 3, 5, true, []int{0, 1}, 0},
		// more kept than the centred rank: no negative drop
		{[]float64{1, 1, 1}, 3, 5, true, []int{0, 1, 2}, 0},
	} {
		keep, dropped := KeptDirections(c.lambda, c.ntr, c.d, c.intercept)
		if fmt.Sprint(keep) != fmt.Sprint(c.keep) || dropped != c.dropped {
			t.Errorf("KeptDirections(%v, ntr=%d, d=%d, intercept=%v) = %v, %d dropped; want %v, %d",
				c.lambda, c.ntr, c.d, c.intercept, keep, dropped, c.keep, c.dropped)
		}
	}
}

// TestResidualDirect: the direct form is taken where sum (1-f)^2 < sum f^2, directions mostly
// kept.
func TestResidualDirect(t *testing.T) {
	for _, c := range []struct {
		f    []float64
		want bool
	}{
		{[]float64{0.9, 0.9}, true},   // (1-f)^2 sum 0.02 < f^2 sum 1.62
		{[]float64{0.1, 0.1}, false},  // 1.62 > 0.02
		{[]float64{0.9, 0.05}, false}, // 0.01 + 0.9025 = 0.9125 > 0.81 + 0.0025 = 0.8125
		{[]float64{0.6}, true},        // 0.16 < 0.36 (but 1 - f^2 = 0.64 is not)
	} {
		if got := ResidualDirect(c.f); got != c.want {
			t.Errorf("ResidualDirect(%v) = %v, want %v", c.f, got, c.want)
		}
	}
}

// TestGCVDenominator: (1 - tr(H)/ntr)^2 with tr(H) = [1] + sum s2/(s2+a), by hand; a complete
// decomposition (ntr = [1] + len(s2) + nc) gives the same value summed the other way.
func TestGCVDenominator(t *testing.T) {
	s2 := []float64{3, 1}
	for _, c := range []struct {
		a         float64
		ntr, nc   int
		intercept bool
		want      float64
	}{
		// tr = 1 + 3/4 + 1/2 = 2.25; 1 - 2.25/4 = 0.4375 = (1/4 + 1/2 + nc 1)/4
		{1, 4, 1, true, 0.4375 * 0.4375},
		// tr = 3/4 + 1/2 = 1.25; 1 - 1.25/4 = 0.6875 = (1/4 + 1/2 + nc 2)/4
		{1, 4, 2, false, 0.6875 * 0.6875},
		// a = 3: tr = 1 + 1/2 + 1/4 = 1.75; 1 - 1.75/5 = 0.65 = (1/2 + 3/4 + nc 2)/5
		{3, 5, 2, true, 0.65 * 0.65},
	} {
		for _, complete := range []bool{false, true} {
			got := GCVDenominator(s2, c.a, c.ntr, c.nc, c.intercept, complete)
			if math.Abs(got-c.want) > 1e-15 {
				t.Errorf("GCVDenominator(%v, a=%g, ntr=%d, nc=%d, intercept=%v, complete=%v) = %v, want %v",
					s2, c.a, c.ntr, c.nc, c.intercept, complete, got, c.want)
			}
		}
	}
}

// TestSharedPenalty: the smallest sum over targets, the first on ties (numpy's argmin, which
// scikit-learn's RidgeCV takes).
func TestSharedPenalty(t *testing.T) {
	for _, c := range []struct {
		crit []float64 // penalties x 2 targets
		want int
	}{
		{[]float64{1, 2, 2, 1, 0, 5}, 0},   // sums 3, 3, 5: the first of the tie
		{[]float64{4, 2, 2, 1, 0, 5}, 1},   // sums 6, 3, 5
		{[]float64{4, 2, 2, 3, 0, 0.5}, 2}, // sums 6, 5, 0.5
		{[]float64{-1, -2, 2, 3, 0, 0}, 0}, // the first sum starts the search, not 0
	} {
		if got := SharedPenalty(c.crit, 3, 2); got != c.want {
			t.Errorf("SharedPenalty(%v) = %d, want %d", c.crit, got, c.want)
		}
	}
}

// TestUnitScale: the power of two that brings v into [0.5, 1), by hand; 1 for 0 and non-finite
// v; at most 2^1000 for subnormal v.
func TestUnitScale(t *testing.T) {
	for _, c := range []struct{ v, want float64 }{
		{0.75, 1}, {0.5, 1}, {1, 0.5}, {3, 0.25}, {1e-30, 0x1p99}, // 1e-30 = 0.634 * 2^-99
		{0x1p-1060, 0x1p1000}, // subnormal, 0.5 * 2^-1059: capped at 2^1000
		{0, 1}, {math.Inf(1), 1}, {math.NaN(), 1},
	} {
		if got := UnitScale(c.v); got != c.want {
			t.Errorf("UnitScale(%v) = %v, want %v", c.v, got, c.want)
		}
	}
}

// TestHotRows: rows of |w| above 1e3, at most 32, the heaviest, in increasing row order. Here
// rows 0..34 are hot with |w| growing with the row (signs alternating), so the 32 heaviest are
// rows 3..34; |w| = 1e3 exactly is not above it.
func TestHotRows(t *testing.T) {
	w := make([]float64, 0, 40)
	for i := range 35 {
		w = append(w, float64(1-2*(i%2))*(1001+10*float64(i)))
	}
	w = append(w, 1000, -1000, 5, 0, -3)
	var want []int
	for i := 3; i < 35; i++ {
		want = append(want, i)
	}
	if got := HotRows(w); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("HotRows: %v, want %v", got, want)
	}
	// under the cap: every hot row, in order
	if got := HotRows(w[30:]); fmt.Sprint(got) != fmt.Sprint([]int{0, 1, 2, 3, 4}) {
		t.Errorf("HotRows of 5 hot rows: %v, want [0 1 2 3 4]", got)
	}
}

// TestCentreRows: every row up to 64; beyond, the 64 rows k n / 64.
func TestCentreRows(t *testing.T) {
	if got := CentreRows(5); fmt.Sprint(got) != "[0 1 2 3 4]" {
		t.Errorf("CentreRows(5) = %v", got)
	}
	for _, n := range []int{64, 128, 100} {
		got := CentreRows(n)
		if len(got) != 64 {
			t.Fatalf("CentreRows(%d): %d rows, want 64", n, len(got))
		}
		for k, i := range got {
			if i != k*n/64 {
				t.Errorf("CentreRows(%d)[%d] = %d, want %d", n, k, i, k*n/64)
			}
		}
	}
	if got := CentreRows(128); got[1] != 2 || got[63] != 126 { // by hand: every other row
		t.Errorf("CentreRows(128) = %v", got)
	}
}

// TestMedian: the lower median, 0 for no values.
func TestMedian(t *testing.T) {
	for _, c := range []struct {
		v    []float64
		want float64
	}{
		{nil, 0}, {[]float64{5}, 5}, {[]float64{3, 1, 2}, 2}, {[]float64{4, 3, 1, 2}, 2}, {[]float64{-1, 9}, -1},
	} {
		if got := Median(append([]float64(nil), c.v...)); got != c.want {
			t.Errorf("Median(%v) = %v, want %v", c.v, got, c.want)
		}
	}
}
