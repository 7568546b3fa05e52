package engine

import "testing"

// TestStandardScale: 1/sd with sd = sqrt(ss/n), or 1 for a column scikit-learn's
// _is_constant_feature takes for constant: var <= n eps var + (n mean eps)^2. Values by hand.
func TestStandardScale(t *testing.T) {
	for _, c := range []struct {
		ss, mean float64
		n        int
		want     float64
	}{
		{40, 3, 10, 0.5},        // var 4
		{0, 0, 10, 1},           // all zeros: var 0 is at the bound 0, constant (not 1/0)
		{0, 5, 10, 1},           // a constant column
		{1e-14, 1e6, 100, 1},    // var 1e-16 <= (100 * 1e6 * 2^-52)^2 = 4.9e-16: constant
		{1e-14, 1e-6, 100, 1e8}, // var 1e-16 > (100 * 1e-6 * 2^-52)^2: a small sd, not constant
	} {
		if got := StandardScale(c.ss, c.mean, c.n); got != c.want {
			t.Errorf("StandardScale(ss=%g, mean=%g, n=%d) = %v, want %v", c.ss, c.mean, c.n, got, c.want)
		}
	}
}
