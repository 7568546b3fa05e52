package metrics

import (
	"math"
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
