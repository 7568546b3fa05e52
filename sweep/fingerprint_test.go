package sweep_test

import (
	"testing"

	"github.com/brainalign/brainalign/engine"
	"github.com/brainalign/brainalign/sweep"
)

// A sweep's units are reused only under the same fingerprint: options added since must leave
// the fingerprints of sweeps that do not use them as they were (1f94fb80414621d9: computed by
// the code before --standardize existed), and change it when used.
func TestFingerprintStandardize(t *testing.T) {
	y := make([]float64, 12*3)
	for i := range y {
		y[i] = float64(i%7) - 0.5*float64(i%3)
	}
	ym := engine.NewMatrix64(12, 3, y)
	opts, err := engine.Defaults(12)
	if err != nil {
		t.Fatal(err)
	}
	if got := sweep.Fingerprint(ym, opts); got != "1f94fb80414621d9" {
		t.Errorf("fingerprint without --standardize %s, want 1f94fb80414621d9 (as before the option)", got)
	}
	opts.Standardize = true
	if got := sweep.Fingerprint(ym, opts); got == "1f94fb80414621d9" {
		t.Errorf("fingerprint with --standardize %s: the same as without", got)
	}
}
