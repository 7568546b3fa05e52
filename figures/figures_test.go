package figures

import (
	"fmt"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gonum.org/v1/plot/vg"
)

// create creates path for a figure to be written to, closed when the test ends.
func create(t *testing.T, path string) *os.File {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// checkPNG decodes the file and checks its size and that it is not blank.
func checkPNG(t *testing.T, path string) { t.Helper(); checkPNGHeight(t, path, Height) }

func checkPNGHeight(t *testing.T, path string, height vg.Length) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	b := img.Bounds()
	if b.Dx() != int(Width.Dots(DPI)+0.5) || b.Dy() != int(height.Dots(DPI)+0.5) {
		t.Errorf("%s: %v, want %.0f x %.0f", path, b, Width.Dots(DPI), height.Dots(DPI))
	}
	colors := map[uint32]bool{}
	for y := b.Min.Y; y < b.Max.Y; y += 7 {
		for x := b.Min.X; x < b.Max.X; x += 7 {
			r, g, bb, _ := img.At(x, y).RGBA()
			colors[r>>8<<16|g>>8<<8|bb>>8] = true
		}
	}
	if len(colors) < 8 {
		t.Errorf("%s: only %d colours: blank figure?", path, len(colors))
	}
}

func TestFigures(t *testing.T) {
	dir := os.Getenv("FIGURES_OUT") // set to keep the files and look at them
	if dir == "" {
		dir = t.TempDir()
	}
	L, T := 8, 31
	times := make([]float64, T)
	for i := range times {
		times[i] = -0.5 + 0.05*float64(i)
	}
	curves := make([]float64, L*T)
	tmax := make([]float64, L)
	var layers []string
	for l := 0; l < L; l++ {
		layers = append(layers, "layer"+string(rune('0'+l)))
		peak := 0.1 + 0.06*float64(l)
		for i, tm := range times {
			if tm > 0 {
				curves[l*T+i] = 0.3 * math.Exp(-(tm-peak)*(tm-peak)/0.02)
			}
		}
		tmax[l] = peak
	}
	tmax[0] = math.NaN()
	if err := LayerTime(create(t, filepath.Join(dir, "layer_time.png")), "MEG score by layer and time", curves, layers, times, tmax); err != nil {
		t.Fatal(err)
	}
	checkPNG(t, filepath.Join(dir, "layer_time.png"))

	n := 500
	dist, depth := make([]float64, n), make([]float64, n)
	for i := range dist {
		dist[i] = 150 * float64(i) / float64(n)
		depth[i] = math.Round(math.Min(1, dist[i]/130+0.1*math.Sin(float64(i)))*7) / 7
	}
	rois := []ROIPoint{{"V1", 10, 0.05}, {"IT", 90, 0.6}, {"PFC", 140, 0.95}}
	if err := DepthDistance(create(t, filepath.Join(dir, "depth_distance.png")), "Best layer vs distance from V1", dist, depth, L, 0.93, 1e-40, rois); err != nil {
		t.Fatal(err)
	}
	checkPNG(t, filepath.Join(dir, "depth_distance.png"))

	steps := []float64{1e2, 1e3, 1e4, 1e5, 1e6, 1e7}
	vals := []float64{0.01, 0.02, 0.08, 0.2, 0.28, 0.3}
	if err := MetricSteps(create(t, filepath.Join(dir, "half_time.png")), "Encoding score over training", "mean best-layer r", steps, vals, 3.2e4); err != nil {
		t.Fatal(err)
	}
	checkPNG(t, filepath.Join(dir, "half_time.png"))

	if err := ROIBars(create(t, filepath.Join(dir, "roi_bars.png")), "Half-time per ROI", "fraction of training", []string{"V1", "V2", "V4", "LO", "IT", "PFC"}, []float64{0.002, 0.003, 0.004, math.NaN(), 0.01, 0.03}); err != nil {
		t.Fatal(err)
	}
	checkPNG(t, filepath.Join(dir, "roi_bars.png"))

	// Shape errors.
	if err := LayerTime(create(t, filepath.Join(dir, "x.png")), "", curves[:10], layers, times, tmax); err == nil {
		t.Error("LayerTime accepted a short table")
	}
	if err := MetricSteps(create(t, filepath.Join(dir, "x.png")), "", "", steps, vals[:2], 1); err == nil {
		t.Error("MetricSteps accepted mismatched lengths")
	}
	if err := ROIBars(create(t, filepath.Join(dir, "x.png")), "", "", nil, nil); err == nil {
		t.Error("ROIBars accepted no bars")
	}
}

// The axis of ROIBars reaches past its longest bar (halftime_roi.png's largest half-time
// touched the top of the plot, its last bar the figure's right edge): by a twentieth of the
// values' range from 0, at the end the bar points to.
func TestROIBarsHeadroom(t *testing.T) {
	for _, c := range []struct {
		values []float64
		lo, hi float64 // the bars' range, from 0
	}{
		{[]float64{0.002, 0.003, 0.004, math.NaN(), 0.01, 0.03}, 0, 0.03},
		{[]float64{-0.2, 0.1, math.NaN()}, -0.2, 0.1},
		{[]float64{-0.5, -0.25}, -0.5, 0},
	} {
		names := make([]string, len(c.values))
		for i := range names {
			names[i] = fmt.Sprintf("roi%d", i)
		}
		p, err := roiBarsPlot("", "", names, c.values)
		if err != nil {
			t.Fatal(err)
		}
		pad := 0.05 * (c.hi - c.lo)
		wantLo, wantHi := c.lo, c.hi
		if c.lo < 0 {
			wantLo -= pad
		}
		if c.hi > 0 {
			wantHi += pad
		}
		if math.Abs(p.Y.Min-wantLo) > 1e-12 || math.Abs(p.Y.Max-wantHi) > 1e-12 {
			t.Errorf("bars %v: axis from %v to %v, want %v to %v", c.values, p.Y.Min, p.Y.Max, wantLo, wantHi)
		}
		// the bars at x = 0, 1, ..., half a bar's slot clear of the left and right edges
		if p.X.Min != -0.5 || p.X.Max != float64(len(c.values))-0.5 {
			t.Errorf("bars %v: x axis from %v to %v, want -0.5 to %v", c.values, p.X.Min, p.X.Max, float64(len(c.values))-0.5)
		}
	}
}

func TestScalingFigure(t *testing.T) {
	dir := os.Getenv("FIGURES_OUT")
	if dir == "" {
		dir = t.TempDir()
	}
	var series []ScalingSeries
	for k, alpha := range []float64{0.15, 0.3} {
		s := ScalingSeries{Name: []string{"vit", "convnet"}[k]}
		for i := 0; i < 20; i++ {
			x := math.Pow(10, 15+0.35*float64(i))
			s.X, s.Y = append(s.X, x), append(s.Y, 0.5-0.2*math.Pow(x/1e18, -alpha)+0.01*math.Sin(float64(i)))
			s.CurveX, s.Curve = append(s.CurveX, x), append(s.Curve, 0.5-0.2*math.Pow(x/1e18, -alpha))
			s.CurveLo, s.CurveHi = append(s.CurveLo, s.Curve[i]-0.01), append(s.CurveHi, s.Curve[i]+0.01)
		}
		if k == 1 {
			s.CurveLo, s.CurveHi = nil, nil // no band
		}
		series = append(series, s)
	}
	p := filepath.Join(dir, "scaling.png")
	if err := Scaling(create(t, p), "score against compute", "compute", "score", series); err != nil {
		t.Fatal(err)
	}
	checkPNG(t, p)
	if err := Scaling(create(t, p), "", "", "", nil); err == nil {
		t.Error("no series: no error")
	}
	series[0].Curve = series[0].Curve[:3]
	if err := Scaling(create(t, p), "", "", "", series); err == nil {
		t.Error("curve x and values of different lengths: no error")
	}
}

func TestScatterFigure(t *testing.T) {
	dir := os.Getenv("FIGURES_OUT")
	if dir == "" {
		dir = t.TempDir()
	}
	g := []ScatterGroup{{Name: "a", X: []float64{0.1, 0.5, 0.9, math.NaN()}, Y: []float64{0.2, 0.4, 0.95, 1}}, {Name: "b", X: []float64{-0.1, 0.7}, Y: []float64{0, 0.6}}}
	p := filepath.Join(dir, "scatter.png")
	if err := Scatter(create(t, p), "universal dimensions", "universality", "brain similarity", g, true); err != nil {
		t.Fatal(err)
	}
	checkPNG(t, p)
	if err := Scatter(create(t, p), "", "", "", nil, false); err == nil {
		t.Error("no groups: no error")
	}
	g[1].Y = g[1].Y[:1]
	if err := Scatter(create(t, p), "", "", "", g, false); err == nil {
		t.Error("x and y of different lengths: no error")
	}
}

// TestScalingYRange keeps the data readable when a band is blown up: the axis spans the points
// and curves, and the bands only up to half that span beyond.
func TestScalingYRange(t *testing.T) {
	s := []ScalingSeries{{Y: []float64{0.1, 0.3, math.NaN()}, Curve: []float64{0.12, 0.28}}}
	for _, tc := range []struct{ min, max, wantMin, wantMax float64 }{
		{-5, 0.35, 0, 0.35}, // a band down to -5: cut at 0.1 - 0.1
		{0.05, 10, 0.05, 0.4},
		{0.1, 0.3, 0.1, 0.3}, // no band beyond the data
	} {
		lo, hi := scalingYRange(s, tc.min, tc.max)
		if math.Abs(lo-tc.wantMin) > 1e-12 || math.Abs(hi-tc.wantMax) > 1e-12 {
			t.Errorf("data in [%v, %v]: axis [%v, %v], want [%v, %v]", tc.min, tc.max, lo, hi, tc.wantMin, tc.wantMax)
		}
	}
	flat := []ScalingSeries{{Y: []float64{0.2, 0.2}, Curve: []float64{0.2}}}
	if lo, hi := scalingYRange(flat, 0.1, 0.3); lo != 0.1 || hi != 0.3 {
		t.Errorf("constant data: axis [%v, %v], want the plotted range", lo, hi)
	}
}

func TestRankingFigure(t *testing.T) {
	dir := os.Getenv("FIGURES_OUT")
	if dir == "" {
		dir = t.TempDir()
	}
	for _, n := range []int{3, 60} {
		names := make([]string, n)
		scores, se := make([]float64, n), make([]float64, n)
		subjects := make([][]float64, n)
		for i := range n {
			names[i] = fmt.Sprintf("model-%02d", i)
			scores[i], se[i] = 0.3-0.004*float64(i), 0.01
			subjects[i] = []float64{scores[i] - 0.02, scores[i], scores[i] + 0.02}
		}
		se[1], scores[2] = math.NaN(), math.NaN()
		path := filepath.Join(dir, fmt.Sprintf("ranking_%d.png", n))
		if err := Ranking(create(t, path), "Models by alignment", "mean score (bars: mean over subjects ± SE; dots: subjects)", names, scores, se, subjects); err != nil {
			t.Fatal(err)
		}
		// 40 bars drawn at most: 1 + 0.18 x 40 inches.
		checkPNGHeight(t, path, vg.Length(max(3, 1+0.18*float64(min(n, RankingMost))))*vg.Inch)
	}
	if err := Ranking(create(t, filepath.Join(dir, "x.png")), "", "", []string{"a"}, []float64{1, 2}, []float64{0}, nil); err == nil {
		t.Error("Ranking accepted mismatched lengths")
	}
}

// A heatmap of no finite value (every layer's curve NaN) is drawn empty: moreland's colour map
// panicked on the infinite range the min and max of nothing gave.
func TestLayerTimeNoFiniteValue(t *testing.T) {
	nan := math.NaN()
	path := filepath.Join(t.TempDir(), "temporal.png")
	if err := LayerTime(create(t, path), "all NaN", []float64{nan, nan, nan, nan, nan, nan}, []string{"a", "b"}, []float64{0, 0.1, 0.2}, []float64{nan, nan}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Error(err)
	}
}

// A panic while drawing (the plotting library's, on data it cannot place) is the figure's
// error, not the process's end: the numbers written beside the figure must survive it.
func TestDrawingPanicIsAnError(t *testing.T) {
	draw := func() (err error) {
		defer recovered("Test", &err)
		var curves []float64
		_ = curves[3] // the kind of index panic a plotter meets
		return nil
	}
	if err := draw(); err == nil || !strings.Contains(err.Error(), "figures: Test: drawing failed: runtime error: index out of range") {
		t.Errorf("a panic while drawing: %v", err)
	}
}

// A log axis leaves out what it cannot show: a scaling curve from x = 0 is drawn from its first
// positive x, and a figure over steps whose data reach 0 (the last step given as 0) is refused
// with an error. Both hung: the ticks of an axis from 0 counted up from log10(0) = -Inf forever.
func TestLogAxisFromZero(t *testing.T) {
	dir := t.TempDir()
	s := ScalingSeries{Name: "vit", X: []float64{0, 1e18, 1e19, 1e20}, Y: []float64{0.1, 0.2, 0.3, 0.35},
		CurveX: []float64{0, 1e18, 1e19, 1e20}, Curve: []float64{0.1, 0.2, 0.3, 0.35},
		CurveLo: []float64{0.05, 0.15, 0.25, 0.3}, CurveHi: []float64{0.15, 0.25, 0.35, 0.4}}
	p := filepath.Join(dir, "scaling.png")
	if err := Scaling(create(t, p), "from zero", "compute", "score", []ScalingSeries{s}); err != nil {
		t.Fatal(err)
	}
	checkPNG(t, p)
	if err := MetricSteps(create(t, filepath.Join(dir, "steps.png")), "", "r", []float64{100, 1000, 0}, []float64{0.1, 0.2, 0.3}, 500); err == nil {
		t.Error("MetricSteps drew a last step of 0 on a log axis")
	}
	if ticks := (logTicks{}).Ticks(0, 100); ticks != nil {
		t.Errorf("ticks of a log axis from 0: %v", ticks)
	}
}
