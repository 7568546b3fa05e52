package metrics

import (
	"math"
	"strings"
	"testing"
)

// TestNonFiniteNamed: +Inf and -Inf are refused as NaN is, in tables (with the value's
// multi-index: flat index 8 of 2 x 2 x 3 is [1 0 2]) and in vectors.
func TestNonFiniteNamed(t *testing.T) {
	for _, bad := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		s := make([]float64, 12)
		s[8] = bad
		_, err := ChannelMean(s, 2, 2, 3)
		if err == nil || !strings.Contains(err.Error(), "scores value 8 ([1 0 2]) is not finite") {
			t.Errorf("%v in scores: %v", bad, err)
		}
		_, err = TMax([]float64{1, 2}, 1, []float64{0, bad}, TMaxThreshold)
		if err == nil || !strings.Contains(err.Error(), "times[1] is not finite") {
			t.Errorf("%v in times: %v", bad, err)
		}
	}
}
