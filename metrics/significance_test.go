package metrics

import (
	"math"
	"strings"
	"testing"
)

// TestHeldOutSignificanceMatchesSciPy: p-values of Pearson r's of 60 held-out rows against
// scipy.stats (2 t.sf(|t|, 58), which pearsonr gives), then Benjamini-Hochberg by hand.
func TestHeldOutSignificanceMatchesSciPy(t *testing.T) {
	r := []float64{0.3, -0.05, 0.12, 0.999, 0.0, 0.25, math.NaN()}
	want := []float64{0.01986818288932169, 0.7043993349428023, 0.3611012313635721, 5.52516487956204e-80, 1.0, 0.0540459703118191}
	sig, err := HeldOutSignificance(r, 60, 0.06)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range want {
		if math.Abs(sig.P[i]-p) > 1e-12*p {
			t.Errorf("r %v: p %v, SciPy %v", r[i], sig.P[i], p)
		}
	}
	// BH over the 6 p-values: 0.999 -> 3.3e-79, 0.3 -> 0.0199*6/2 = 0.0596, 0.25 -> 0.108, ...
	wantMask := []bool{true, false, false, true, false, false, false}
	for i, m := range wantMask {
		if sig.Mask[i] != m {
			t.Errorf("r %v: significant %v at FDR 0.06, want %v (q %v)", r[i], sig.Mask[i], m, sig.Q[i])
		}
	}
	if sig.T[1] >= 0 || !math.IsNaN(sig.P[6]) {
		t.Errorf("t %v for r -0.05, p %v for r NaN", sig.T[1], sig.P[6])
	}
	if _, err := HeldOutSignificance(r, 2, 0.01); err == nil {
		t.Error("2 held-out rows accepted")
	}
}

// TestHeldOutSignificanceByHand: with n = 4 held-out rows (2 degrees of freedom) the two-sided p
// of r is exactly 1 - |r| (t^2 = 2 r^2/(1 - r^2), so |t|/sqrt(2 + t^2) = |r|), and with n = 3
// (1 degree of freedom, Cauchy's distribution) it is 1 - (2/pi) atan(|t|). The t statistic is
// r sqrt((n-2)/(1-r^2)).
func TestHeldOutSignificanceByHand(t *testing.T) {
	// r = .75 and .5: p = .25 and .5, adjusted min(.25*2/1, .5) = .5 and .5*2/2 = .5, exactly
	// the threshold q = .5: both significant.
	sig, err := HeldOutSignificance([]float64{0.75, -0.5}, 4, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "p(.75)", sig.P[0], 0.25, 1e-15)
	near(t, "p(-.5)", sig.P[1], 0.5, 1e-15)
	near(t, "t(.75)", sig.T[0], 0.75*math.Sqrt(2/(1-0.5625)), 1e-15)
	near(t, "t(-.5)", sig.T[1], -math.Sqrt(2.0/3), 1e-15)
	if sig.Q[0] != 0.5 || sig.Q[1] != 0.5 || !sig.Mask[0] || !sig.Mask[1] {
		t.Errorf("adjusted p %v, mask %v; want both 0.5, significant at q = 0.5", sig.Q, sig.Mask)
	}
	// Three rows are enough: r = .5 has t = 1/sqrt(3), atan = pi/6, p = 2/3.
	sig, err = HeldOutSignificance([]float64{0.5}, 3, 0.01)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "p(.5, n = 3)", sig.P[0], 2.0/3, 1e-14)
	near(t, "t(.5, n = 3)", sig.T[0], 1/math.Sqrt(3), 1e-15)
	// q <= 0 is the default 0.01: p = .001 and .02 (r = .999, .98 at n = 4) adjust to .002 and .02.
	for _, q := range []float64{0, -0.5} {
		sig, err := HeldOutSignificance([]float64{0.999, 0.98}, 4, q)
		if err != nil || !sig.Mask[0] || sig.Mask[1] {
			t.Errorf("q = %v: mask %v (adjusted p %v), %v; want [true false] at FDR 0.01", q, sig.Mask, sig.Q, err)
		}
	}
	if _, err := HeldOutSignificance([]float64{0.5}, 4, 1); err == nil || !strings.Contains(err.Error(), "not below 1") {
		t.Errorf("q = 1: %v", err)
	}
}

// TestSignificanceMaskTwoReplicates: two replicates are enough. With 1 degree of freedom the
// t-test's two-sided p is 1 - (2/pi) atan(|t|): replicates 1, 0 have mean 1/2 and standard error
// 1/2 (t = 1, p = 1/2); 5, 3 have mean 4 and standard error 1 (t = 4).
func TestSignificanceMaskTwoReplicates(t *testing.T) {
	scores := []float64{ // 2 replicates x 2 targets
		1, 5,
		0, 3,
	}
	sig, err := SignificanceMask(scores, 2, 2, 0.6)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "t0", sig.T[0], 1, 1e-14)
	near(t, "t1", sig.T[1], 4, 1e-14)
	p1 := 1 - 2/math.Pi*math.Atan(4)
	near(t, "p0", sig.P[0], 0.5, 1e-14)
	near(t, "p1", sig.P[1], p1, 1e-14)
	// Benjamini-Hochberg: 0.5 (rank 2 of 2) stays, p1 = 0.156 (rank 1) becomes 2 p1.
	near(t, "q0", sig.Q[0], 0.5, 1e-14)
	near(t, "q1", sig.Q[1], 2*p1, 1e-14)
	if !sig.Mask[0] || !sig.Mask[1] {
		t.Errorf("mask %v at FDR 0.6, want both", sig.Mask)
	}
	// The mask is the adjusted p at or below q: a threshold equal to a target's adjusted p keeps
	// it (q taken from the result; what is tested is the inclusive comparison, by the doc).
	sig2, err := SignificanceMask(scores, 2, 2, sig.Q[1])
	if err != nil || !sig2.Mask[1] || sig2.Mask[0] {
		t.Errorf("q = %v, target 1's adjusted p: mask %v, %v; want [false true]", sig.Q[1], sig2.Mask, err)
	}
	if _, err := SignificanceMask(scores[:2], 1, 2, 0); err == nil || !strings.Contains(err.Error(), "needs at least 2 replicates, got 1") {
		t.Errorf("one replicate: %v", err)
	}
}
