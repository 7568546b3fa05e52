package metrics

import (
	"math"
	"strings"
	"testing"
)

// TestDistancesEveryAxis: every axis of the reference counts, with its sign. Target 0 is off the
// reference by (3, 4, -12), whose length is 13 (9 + 16 + 144 = 169); target 1, at the origin, by
// (2, 2, -15): sqrt(4 + 4 + 225) = sqrt(233).
func TestDistancesEveryAxis(t *testing.T) {
	ref := [3]float64{-2, -2, 15}
	d, err := Distances([]float64{1, 2, 3, 0, 0, 0}, ref)
	if err != nil {
		t.Fatal(err)
	}
	if len(d) != 2 || d[0] != 13 || d[1] != math.Sqrt(233) {
		t.Errorf("distances %v, want [13 %v]", d, math.Sqrt(233))
	}
}

// TestSpatialReferenceNotFinite: a reference with a NaN or an infinity of either sign on any axis
// is refused, naming it.
func TestSpatialReferenceNotFinite(t *testing.T) {
	depth := []float64{0, 0.5, 1}
	coords := lineCoords([]float64{1, 2, 3})
	for _, bad := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		for k := 0; k < 3; k++ {
			ref := [3]float64{}
			ref[k] = bad
			_, err := SpatialScore(depth, coords, ref, nil)
			if err == nil || !strings.Contains(err.Error(), "is not finite") {
				t.Errorf("reference %v: %v", ref, err)
			}
			_, err = SpatialScoreROI(depth, coords, []int{1, 2, 3}, ref, nil)
			if err == nil || !strings.Contains(err.Error(), "is not finite") {
				t.Errorf("ROI score, reference %v: %v", ref, err)
			}
		}
	}
}

// TestSpatialTooFewTargets: no target at all is said as such; one target is not "no targets" but
// too few passing the mask.
func TestSpatialTooFewTargets(t *testing.T) {
	if _, err := SpatialScore(nil, nil, [3]float64{}, nil); err == nil || !strings.Contains(err.Error(), "SpatialScore: no targets") {
		t.Errorf("no targets: %v", err)
	}
	c, err := SpatialScore([]float64{0.5}, []float64{1, 2, 3}, [3]float64{}, nil)
	if err == nil || !strings.Contains(err.Error(), "1 targets pass the mask, need at least 3") || c.N != 1 {
		t.Errorf("one target: %+v, %v", c, err)
	}
}

// TestSpatialScoreROITooFewROIs: with 2 ROIs the score is refused and the correlation left
// undefined (NaN, not a zero r that reads as "no relation"), with the ROI means still given.
func TestSpatialScoreROITooFewROIs(t *testing.T) {
	res, err := SpatialScoreROI([]float64{0, 0.5, 1}, lineCoords([]float64{1, 2, 3}), []int{4, 4, 9}, [3]float64{}, nil)
	if err == nil || !strings.Contains(err.Error(), "2 ROIs have masked targets, need at least 3") {
		t.Fatalf("2 ROIs: %v", err)
	}
	if !math.IsNaN(res.R) || !math.IsNaN(res.P) || res.N != 2 {
		t.Errorf("2 ROIs: correlation %+v, want NaN r and p over 2", res.Correlation)
	}
	// ROI 4: depths 0, .5 at 1, 2 mm; ROI 9: depth 1 at 3 mm.
	if len(res.MeanDepth) != 2 || res.MeanDepth[0] != 0.25 || res.MeanDistance[0] != 1.5 || res.MeanDepth[1] != 1 || res.MeanDistance[1] != 3 {
		t.Errorf("2 ROIs: means %v, %v", res.MeanDepth, res.MeanDistance)
	}
}
