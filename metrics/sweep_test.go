package metrics

import (
	"math"
	"testing"
)

// TestNormaliseZeroMax: a target whose best score is exactly 0 has no predicting layer, as one
// below 0: its column is NaN throughout (not 0/0 and -1/0) and it is counted. An error gives no
// table and no count.
func TestNormaliseZeroMax(t *testing.T) {
	r := []float64{ // 2 layers x 2 targets
		0, 2,
		-1, 1,
	}
	norm, nonPositive, err := Normalise(r, 2, 2)
	if err != nil {
		t.Fatal(err)
	}
	if !math.IsNaN(norm[0]) || norm[1] != 1 || !math.IsNaN(norm[2]) || norm[3] != 0.5 || nonPositive != 1 {
		t.Errorf("norm %v, non-positive %d; want [NaN 1 NaN 0.5] and 1", norm, nonPositive)
	}
	norm, nonPositive, err = Normalise([]float64{1, math.NaN()}, 2, 1)
	if err == nil || norm != nil || nonPositive != 0 {
		t.Errorf("NaN score: %v, %d, %v; want an error only", norm, nonPositive, err)
	}
}
