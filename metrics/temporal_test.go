package metrics

import (
	"math"
	"strings"
	"testing"
)

// TestTMaxBounds: the threshold's interval (0, 1] at both ends, a value exactly at the threshold
// in the peak period, one time point, and a curve whose maximum is negative but above -1.
func TestTMaxBounds(t *testing.T) {
	times := []float64{0, 1, 2, 3}
	curve := []float64{0.2, 1, 1, 0.5}
	for _, bad := range []float64{0, -0.5} {
		if _, err := TMax(curve, 1, times, bad); err == nil || !strings.Contains(err.Error(), "outside (0, 1]") {
			t.Errorf("threshold %v: %v", bad, err)
		}
	}
	// Threshold 1: only the maximum's times (1 and 2) count.
	if tm, err := TMax(curve, 1, times, 1); err != nil || tm[0] != 1.5 {
		t.Errorf("threshold 1: %v, %v; want [1.5]", tm, err)
	}
	// 0.95 / 1 is exactly the threshold: time 0 is in the peak period with time 1, mean 0.5.
	if tm, err := TMax([]float64{0.95, 1, 0.5}, 1, times[:3], TMaxThreshold); err != nil || tm[0] != 0.5 {
		t.Errorf("value at the threshold: %v, %v; want [0.5]", tm, err)
	}
	// One time point: the positive layer peaks there, the negative one never.
	tm, err := TMax([]float64{0.3, -0.2}, 2, []float64{0.1}, TMaxThreshold)
	if err != nil || tm[0] != 0.1 || !math.IsNaN(tm[1]) {
		t.Errorf("one time point: %v, %v; want [0.1 NaN]", tm, err)
	}
	// A maximum of -0.2 is no peak (every ratio of negatives would pass).
	if tm, err := TMax([]float64{-0.5, -0.2, -0.3}, 1, times[:3], TMaxThreshold); err != nil || !math.IsNaN(tm[0]) {
		t.Errorf("negative curve: %v, %v; want [NaN]", tm, err)
	}
}

// TestTemporalScoreTwoLayers: two layers with a positive curve (the third never rises above 0) are
// too few; the correlation is left undefined over the 2.
func TestTemporalScoreTwoLayers(t *testing.T) {
	scores := []float64{ // 3 layers x 1 channel x 3 times
		1, 0, 0,
		0, 1, 0,
		-1, -1, -1,
	}
	res, err := TemporalScore(scores, 3, 1, []float64{0, 1, 2})
	if err == nil || !strings.Contains(err.Error(), "2 layers have a positive score curve, need at least 3") {
		t.Fatalf("two positive layers: %v", err)
	}
	if !math.IsNaN(res.R) || !math.IsNaN(res.P) || res.N != 2 {
		t.Errorf("two positive layers: %+v, want NaN r and p over 2", res.Correlation)
	}
	if res.TMax[0] != 0 || res.TMax[1] != 1 || !math.IsNaN(res.TMax[2]) {
		t.Errorf("T_max %v, want [0 1 NaN]", res.TMax)
	}
}

// TestWindowContains: a time within WindowTolerance of the start is in the window (0.1 s saved as
// 0.09999999999999998), one within it of the end is not; the edges of the tolerance included as
// Contains computes them.
func TestWindowContains(t *testing.T) {
	start, end := 0.1, 0.2
	w := Window{start, end}
	for _, c := range []struct {
		t    float64
		want bool
	}{
		{0.09999999999999998, true},
		{0.1, true},
		{start - WindowTolerance, true},
		{start - 2*WindowTolerance, false},
		{0.15, true},
		{end - 2*WindowTolerance, true},
		{end - WindowTolerance, false},
		{0.19999999999999998, false},
		{0.2, false},
	} {
		if got := w.Contains(c.t); got != c.want {
			t.Errorf("[%v, %v) contains %.17g: %v, want %v", start, end, c.t, got, c.want)
		}
	}
}

// divided returns i/d for i = from..to, each time one rounding from the exact value.
func divided(from, to int, d float64) []float64 {
	var v []float64
	for i := from; i <= to; i++ {
		v = append(v, float64(i)/d)
	}
	return v
}

// TestSecondsDoubtBounds: a span of 30 s passes and one over 30 s is doubted, whatever the step;
// a step of 0.2 s is doubted, whatever the span; two time points are enough to doubt; the
// warning gives the range and the mean step.
func TestSecondsDoubtBounds(t *testing.T) {
	for _, c := range []struct {
		name   string
		times  []float64
		doubt  bool
		inText string
	}{
		{"30 s at 100 Hz", divided(0, 3000, 100), false, ""},
		{"30.5 s at 100 Hz", divided(0, 3050, 100), true, "from 0 to 30.5"},
		{"-20 to 20 s at 100 Hz", divided(-2000, 2000, 100), true, "from -20 to 20"},
		{"0.4 s at 5 Hz", []float64{0, 0.2, 0.4}, true, "in steps of 0.2:"},
		{"two times in ms", []float64{0, 1000}, true, "from 0 to 1000 in steps of 1e+03:"},
		{"milliseconds", []float64{-100, 0, 100, 200, 300, 400, 500, 600, 700, 800, 900, 1000, 1100, 1200, 1300}, true, "from -100 to 1300 in steps of 100:"},
	} {
		d := SecondsDoubt(c.times)
		if (d != "") != c.doubt || !strings.Contains(d, c.inText) {
			t.Errorf("%s: %q, want doubt %v with %q", c.name, d, c.doubt, c.inText)
		}
	}
}

// TestBestLayerInWindowsMeans: window means derived by hand from channel means that are all
// negative (so a layer left out would win with a mean of 0), a tie (to the first layer), and
// windows of one time point at either end of the times.
func TestBestLayerInWindowsMeans(t *testing.T) {
	curves := [][]float64{ // channel means of layers 0-2 at times 0, 0.1, 0.2, 0.3
		{-1, -3, -5, -7},
		{-2, -2, -2, -2},
		{-4, -1, -3, 0},
	}
	var scores []float64 // 3 layers x 2 channels (the mean + 1 and - 1) x 4 times
	for _, c := range curves {
		for _, off := range []float64{1, -1} {
			for _, v := range c {
				scores = append(scores, v+off)
			}
		}
	}
	times := []float64{0, 0.1, 0.2, 0.3}
	ws := []Window{{0.05, 0.25}, {0, 0.1}, {0.25, 0.35}}
	res, err := BestLayerInWindows(scores, 3, 2, times, ws)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []struct {
		layer int
		depth float64
		mean  []float64
	}{
		{1, 0.5, []float64{-4, -2, -2}}, // times 0.1, 0.2: layers 1 and 2 tie
		{0, 0, []float64{-1, -2, -4}},   // time 0
		{2, 1, []float64{-7, -2, 0}},    // time 0.3
	} {
		got := res[i]
		if got.Layer != want.layer || got.Depth != want.depth || got.Window != ws[i] || len(got.Mean) != 3 ||
			got.Mean[0] != want.mean[0] || got.Mean[1] != want.mean[1] || got.Mean[2] != want.mean[2] {
			t.Errorf("window %v: %+v, want layer %d, depth %v, means %v", ws[i], got, want.layer, want.depth, want.mean)
		}
	}
	_, err = BestLayerInWindows(scores, 3, 2, times, []Window{{0.5, 0.55}})
	if err == nil || !strings.Contains(err.Error(), "holds no time point (times span 0 to 0.3)") {
		t.Errorf("empty window: %v", err)
	}
	_, err = BestLayerInWindows(scores[:6], 3, 2, []float64{0.4}, []Window{{0.5, 0.55}})
	if err == nil || !strings.Contains(err.Error(), "(times span 0.4 to 0.4)") {
		t.Errorf("one time point, empty window: %v", err)
	}
}

// TestWindowMeansKnown: means over windows of two points and of one point, by hand; an empty
// window is refused.
func TestWindowMeansKnown(t *testing.T) {
	values := []float64{ // 2 rows x 3 times
		1, 2, 4,
		-3, 5, 8,
	}
	times := []float64{0, 0.1, 0.2}
	m, err := WindowMeans(values, 2, times, []Window{{0, 0.15}, {0.15, 0.25}})
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{1.5, 4, 1, 8}
	for i := range want {
		if m[i] != want[i] {
			t.Errorf("means %v, want %v", m, want)
			break
		}
	}
	if _, err := WindowMeans(values, 2, times, []Window{{0.3, 0.4}}); err == nil || !strings.Contains(err.Error(), "holds no time point") {
		t.Errorf("empty window: %v", err)
	}
}

// TestMinMaxOf: NaN for no values, the value itself for one, and the extremes of unsorted values.
func TestMinMaxOf(t *testing.T) {
	if !math.IsNaN(minOf(nil)) || !math.IsNaN(maxOf(nil)) {
		t.Errorf("no values: %v, %v", minOf(nil), maxOf(nil))
	}
	if minOf([]float64{7}) != 7 || maxOf([]float64{7}) != 7 {
		t.Errorf("one value: %v, %v", minOf([]float64{7}), maxOf([]float64{7}))
	}
	v := []float64{3, -1, 9, 4}
	if minOf(v) != -1 || maxOf(v) != 9 || v[0] != 3 || v[2] != 9 {
		t.Errorf("min %v, max %v of %v (unchanged?)", minOf(v), maxOf(v), v)
	}
}
