package stats

import (
	"math"
	"slices"
	"strings"
	"testing"
)

// TTwoSided and NormalTwoSided at the edges of their domains: no degrees of freedom (gonum's
// Student's t panics there) or a NaN is no p-value, an infinite statistic has p = 0.
func TestTwoSidedEdges(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	for _, c := range []struct{ t, df, want float64 }{
		{2, 0, nan}, {2, -0.5, nan}, {2, -3, nan}, {nan, 5, nan}, {2, nan, nan}, {nan, nan, nan},
		{inf, 5, 0}, {-inf, 5, 0},
	} {
		if got := TTwoSided(c.t, c.df); !(got == c.want || math.IsNaN(got) && math.IsNaN(c.want)) {
			t.Errorf("TTwoSided(%v, %v) = %v, want %v", c.t, c.df, got, c.want)
		}
	}
	for _, c := range []struct{ z, want float64 }{{nan, nan}, {inf, 0}, {-inf, 0}} {
		if got := NormalTwoSided(c.z); !(got == c.want || math.IsNaN(got) && math.IsNaN(c.want)) {
			t.Errorf("NormalTwoSided(%v) = %v, want %v", c.z, got, c.want)
		}
	}
}

// An adjusted p-value equal to q is significant (adjusted p <= q): p = (0.01, 0.04) adjust to
// (min(0.01 x 2/1, 0.04), 0.04 x 2/2) = (0.02, 0.04), exactly, as doubling is exact.
func TestFDRMaskAtThreshold(t *testing.T) {
	if m := FDRMask([]float64{0.01, 0.04}, 0.02); !m[0] || m[1] {
		t.Errorf("FDRMask at q = adjusted p: %v, want [true false]", m)
	}
}

// Values outside [0, 1] are not p-values: left out of m and NaN, in both corrections, and never
// significant. The two valid ones adjust as a family of two: 0.01 x 2 = 0.02 and 0.02.
func TestCorrectionsSkipInvalidP(t *testing.T) {
	p := []float64{0.01, -0.5, 1.5, 0.02, math.Inf(1)}
	want := []float64{0.02, math.NaN(), math.NaN(), 0.02, math.NaN()}
	for name, adj := range map[string][]float64{"BenjaminiHochberg": BenjaminiHochberg(p), "Holm": Holm(p)} {
		for i := range want {
			if !(adj[i] == want[i] || math.IsNaN(adj[i]) && math.IsNaN(want[i])) {
				t.Errorf("%s(%v) = %v, want %v", name, p, adj, want)
				break
			}
		}
	}
	if m := FDRMask(p, 1); m[1] || m[2] || m[4] || !m[0] || !m[3] {
		t.Errorf("FDRMask(%v, 1) = %v", p, m)
	}
}

// Two points determine the line: through (1, 5) and (3, 2), slope -3/2 and intercept 13/2, as
// linregress gives (exact in binary). One point is too few, not a constant x.
func TestLinearFitTwoPoints(t *testing.T) {
	if s, i, err := LinearFit([]float64{1, 3}, []float64{5, 2}); err != nil || s != -1.5 || i != 6.5 {
		t.Errorf("LinearFit of two points: %v, %v (%v), want -1.5, 6.5", s, i, err)
	}
	if _, _, err := LinearFit([]float64{1}, []float64{5}); err == nil || !strings.Contains(err.Error(), "at least 2") {
		t.Errorf("LinearFit of one point: %v, want an error asking for 2", err)
	}
}

// tieGroups lists the sizes of groups of equal values, in ascending order of value; a NaN equals
// nothing, itself included, so it is in no group.
func TestTieGroups(t *testing.T) {
	for _, c := range []struct {
		x    []float64
		want []int
	}{
		{[]float64{5, 2.5, 1, 2.5, 5, 5}, []int{2, 3}},
		{[]float64{3, 1, 2}, nil},
		{[]float64{1, math.NaN(), 1, math.NaN(), 2}, []int{2}},
	} {
		if got := tieGroups(c.x); !slices.Equal(got, c.want) {
			t.Errorf("tieGroups(%v) = %v, want %v", c.x, got, c.want)
		}
	}
}
