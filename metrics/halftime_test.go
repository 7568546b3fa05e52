package metrics

import (
	"errors"
	"math"
	"strings"
	"testing"
)

// TestHalfTimeAtBounds: the edge cases of HalfTimeOf at equality: a final value of exactly 0 has
// no half-time; a checkpoint exactly at half is reached there (at step 0, or at the first
// positive step, not interpolated).
func TestHalfTimeAtBounds(t *testing.T) {
	if ht, err := HalfTimeOf([]float64{1, 10}, []float64{0.1, 0}); !errors.Is(err, ErrNoHalfTime) || !math.IsNaN(ht.Step) {
		t.Errorf("final value 0: %+v, %v; want ErrNoHalfTime", ht, err)
	}
	if ht, err := HalfTimeOf([]float64{0, 10, 100}, []float64{0.5, 0.7, 1}); err != nil || ht != (HalfTime{Step: 0, Fraction: 0}) {
		t.Errorf("half at step 0: %+v, %v; want step 0", ht, err)
	}
	if ht, err := HalfTimeOf([]float64{10, 100}, []float64{0.5, 1}); err != nil || ht != (HalfTime{Step: 10, Fraction: 0.1}) {
		t.Errorf("half at the first step: %+v, %v; want step 10, not interpolated", ht, err)
	}
}

// TestROIMeansKnown: means per ROI by hand, over two rows (checkpoints), with an ROI of two
// targets, labels out of order and a masked-out ROI; a mask of the wrong length and a mask
// leaving no target are refused.
func TestROIMeansKnown(t *testing.T) {
	values := []float64{ // 2 rows x 4 targets
		1, 10, 4, 100,
		-2, 6, 8, 50,
	}
	labels := []int{7, 3, 7, 5}
	mask := []bool{true, true, true, false}
	roi, means, err := ROIMeans(values, 2, 4, labels, mask)
	if err != nil {
		t.Fatal(err)
	}
	// ROI 3: target 1; ROI 7: targets 0 and 2 (means (1+4)/2 and (-2+8)/2); ROI 5 masked out.
	want := []float64{10, 2.5, 6, 3}
	if len(roi) != 2 || roi[0] != 3 || roi[1] != 7 || len(means) != 4 {
		t.Fatalf("ROIs %v, means %v", roi, means)
	}
	for i := range want {
		if means[i] != want[i] {
			t.Errorf("means %v, want %v", means, want)
			break
		}
	}
	// One ROI is enough.
	if roi, means, err := ROIMeans(values, 2, 4, []int{1, 1, 1, 1}, nil); err != nil || len(roi) != 1 || means[0] != 28.75 || means[1] != 15.5 {
		t.Errorf("one ROI: %v, %v, %v; want means 28.75 and 15.5", roi, means, err)
	}
	for _, m := range [][]bool{mask[:3], append(mask, true)} {
		if _, _, err := ROIMeans(values, 2, 4, labels, m); err == nil || !strings.Contains(err.Error(), "entries for 4 targets") {
			t.Errorf("mask of %d: %v", len(m), err)
		}
	}
	if _, _, err := ROIMeans(values, 2, 4, labels, make([]bool, 4)); err == nil || !strings.Contains(err.Error(), "no target passes the mask") {
		t.Errorf("nothing masked in: %v", err)
	}
}

// TestHalfTimeDistanceThreeROIs: three ROIs with a half-time (a fourth without) are enough. By
// hand: fractions (1, 2, 4)/100 against distances 0, 10, 20 mm have deviations (-4, -1, 5)/3 and
// (-1, 0, 1), so r = 3 / sqrt(14/3 * 2) = sqrt(27/28); with 1 degree of freedom t = r
// sqrt(1/(1-r^2)) = sqrt(27) and the t distribution is Cauchy's: p = 1 - (2/pi) atan(sqrt(27)).
// Two ROIs with a half-time are too few, with r and p NaN.
func TestHalfTimeDistanceThreeROIs(t *testing.T) {
	nan := undefinedHalfTime()
	ht := []HalfTime{{Step: 1, Fraction: 0.01}, nan, {Step: 2, Fraction: 0.02}, {Step: 4, Fraction: 0.04}}
	c, err := HalfTimeDistance(ht, []float64{0, 99, 10, 20})
	if err != nil {
		t.Fatal(err)
	}
	near(t, "r", c.R, math.Sqrt(27.0/28), 1e-14)
	near(t, "p", c.P, 1-2/math.Pi*math.Atan(math.Sqrt(27)), 1e-12)
	if c.N != 3 {
		t.Errorf("N = %d, want 3", c.N)
	}
	c, err = HalfTimeDistance(ht[:3], []float64{0, 99, 10})
	if err == nil || !strings.Contains(err.Error(), "2 ROIs have a half-time, need at least 3") || !math.IsNaN(c.R) || !math.IsNaN(c.P) || c.N != 2 {
		t.Errorf("two ROIs with a half-time: %+v, %v", c, err)
	}
}
