package metrics

import (
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/brainalign/brainalign/stats"
)

func near(t *testing.T, what string, got, want, tol float64) {
	t.Helper()
	if math.IsNaN(want) && math.IsNaN(got) {
		return
	}
	if !(math.Abs(got-want) <= tol*math.Max(1, math.Abs(want))) {
		t.Errorf("%s = %.17g, want %.17g (tol %g)", what, got, want, tol)
	}
}

// peakTable plants a layers x targets table whose column j peaks at layer
// best[j]: R = 0.5 - 0.01 (l - best)^2 plus a per-target offset.
func peakTable(layers int, best []int) []float64 {
	m := len(best)
	r := make([]float64, layers*m)
	for l := 0; l < layers; l++ {
		for j, b := range best {
			d := float64(l - b)
			r[l*m+j] = 0.5 - 0.01*d*d + 0.001*float64(j)
		}
	}
	return r
}

func TestBestLayerPlanted(t *testing.T) {
	best := []int{0, 3, 11, 7, 7, 1}
	b, err := BestLayer(peakTable(12, best), 12, len(best))
	if err != nil {
		t.Fatal(err)
	}
	for j, k := range best {
		if b.Index[j] != k {
			t.Errorf("target %d: best layer %d, want %d", j, b.Index[j], k)
		}
		near(t, "depth", b.Depth[j], float64(k)/11, 1e-15)
		near(t, "max", b.Max[j], 0.5+0.001*float64(j), 1e-15)
	}
	// Ties go to the first layer.
	b, err = BestLayer([]float64{1, 2, 3, 1, 2, 3}, 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	for j := range b.Index {
		if b.Index[j] != 0 {
			t.Errorf("tie: best layer %d, want 0", b.Index[j])
		}
	}
}

func TestBestLayerErrors(t *testing.T) {
	_, err := BestLayer([]float64{1, 2, 3}, 1, 3)
	if !errors.Is(err, ErrTooFewLayers) {
		t.Errorf("one layer: err = %v, want ErrTooFewLayers", err)
	}
	if _, err := BestLayer([]float64{1, 2, 3}, 2, 2); err == nil {
		t.Error("3 values accepted as 2 x 2")
	}
	if _, err := BestLayer([]float64{1, math.NaN(), 3, 4}, 2, 2); err == nil {
		t.Error("NaN score accepted")
	}
	if _, err := BestLayer(nil, 2, 0); err == nil {
		t.Error("zero targets accepted")
	}
}

func TestNormalise(t *testing.T) {
	// Column 0: max 0.4; column 1: max <= 0 (NaN); column 2: max 2.
	r := []float64{
		0.1, -0.2, 2,
		0.4, -0.1, 1,
	}
	n, np, err := Normalise(r, 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{0.25, math.NaN(), 1, 1, math.NaN(), 0.5}
	for i := range want {
		near(t, "norm", n[i], want[i], 1e-15)
	}
	if np != 1 {
		t.Errorf("nonPositive = %d, want 1", np)
	}
}

// lineCoords places target j at x = dist[j] mm from the origin.
func lineCoords(dist []float64) []float64 {
	c := make([]float64, 3*len(dist))
	for j, d := range dist {
		c[3*j] = d
	}
	return c
}

func TestSpatialScorePlanted(t *testing.T) {
	// Depths 0, .5, .25, 1, .75 against distances 0..40: r of (0,2,1,4,3)
	// with (0,1,2,3,4) = 8/10.
	layers := 5
	best := []int{0, 2, 1, 4, 3}
	b, err := BestLayer(peakTable(layers, best), layers, len(best))
	if err != nil {
		t.Fatal(err)
	}
	dist := []float64{0, 10, 20, 30, 40}
	ref := [3]float64{0, 0, 0}
	c, err := SpatialScore(b.Depth, lineCoords(dist), ref, nil)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "r", c.R, 0.8, 1e-14)
	// p for r = .8, n = 5: t = .8 sqrt(3/.36), two-sided with 3 dof.
	near(t, "p", c.P, stats.TTwoSided(0.8*math.Sqrt(3/0.36), 3), 1e-12)
	if c.N != 5 {
		t.Errorf("N = %d", c.N)
	}
	// Masking targets 1 and 2 out leaves depths 0, 1, .75 at 0, 30, 40 mm.
	mask := []bool{true, false, false, true, true}
	c, err = SpatialScore(b.Depth, lineCoords(dist), ref, mask)
	if err != nil {
		t.Fatal(err)
	}
	want, _, _ := stats.Pearson([]float64{0, 1, 0.75}, []float64{0, 30, 40})
	near(t, "masked r", c.R, want, 1e-14)
	// A reference moved to (-10, 0, 0) shifts all distances by 10: same r.
	c2, err := SpatialScore(b.Depth, lineCoords(dist), [3]float64{-10, 0, 0}, mask)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "shifted r", c2.R, c.R, 1e-14)
}

func TestSpatialScoreRecoversDepthDistance(t *testing.T) {
	// 300 targets in 3-D; the true best layer is a noisy increasing function
	// of the distance from V1, so BestLayer must recover it and the score
	// must equal Pearson of the planted pairs.
	rng := rand.New(rand.NewPCG(1, 2))
	layers, m := 24, 300
	coords := make([]float64, 3*m)
	best := make([]int, m)
	dist := make([]float64, m)
	v1 := [3]float64{-10, -90, 0}
	for j := 0; j < m; j++ {
		for k := 0; k < 3; k++ {
			coords[3*j+k] = v1[k] + rng.NormFloat64()*30
		}
		dx, dy, dz := coords[3*j]-v1[0], coords[3*j+1]-v1[1], coords[3*j+2]-v1[2]
		dist[j] = math.Sqrt(dx*dx + dy*dy + dz*dz)
		k := int(math.Round(dist[j]/100*float64(layers-1) + rng.NormFloat64()*4))
		best[j] = min(layers-1, max(0, k))
	}
	b, err := BestLayer(peakTable(layers, best), layers, m)
	if err != nil {
		t.Fatal(err)
	}
	depth := make([]float64, m)
	for j, k := range best {
		depth[j] = float64(k) / float64(layers-1)
	}
	wantR, wantP, _ := stats.Pearson(depth, dist)
	c, err := SpatialScore(b.Depth, coords, v1, nil)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "r", c.R, wantR, 1e-12)
	near(t, "p", c.P, wantP, 1e-9)
	if c.R < 0.5 {
		t.Errorf("planted positive relation gave r = %v", c.R)
	}
}

func TestSpatialScoreROIPlanted(t *testing.T) {
	// Three ROIs (labels 1, 2, 3), two targets each, ROI 3 has one target
	// masked out. ROI means: depth .1, .5, .8; distance 5, 25, 40.
	depth := []float64{0, 0.2, 0.4, 0.6, 0.8, 0.0}
	dist := []float64{0, 10, 20, 30, 40, 99}
	labels := []int{1, 1, 2, 2, 3, 3}
	mask := []bool{true, true, true, true, true, false}
	res, err := SpatialScoreROI(depth, lineCoords(dist), labels, [3]float64{}, mask)
	if err != nil {
		t.Fatal(err)
	}
	wd := []float64{0.1, 0.5, 0.8}
	wr := []float64{5, 25, 40}
	for k := range wd {
		near(t, "mean depth", res.MeanDepth[k], wd[k], 1e-15)
		near(t, "mean distance", res.MeanDistance[k], wr[k], 1e-15)
	}
	if res.Labels[0] != 1 || res.Labels[2] != 3 || res.Count[2] != 1 {
		t.Errorf("labels %v counts %v", res.Labels, res.Count)
	}
	want, wantP, _ := stats.Pearson(wd, wr)
	near(t, "r", res.R, want, 1e-14)
	near(t, "p", res.P, wantP, 1e-12)
}

func TestROICentroid(t *testing.T) {
	coords := []float64{0, 0, 0, 2, 4, 6, 9, 9, 9}
	c, err := ROICentroid(coords, []int{1, 1, 2}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if c != [3]float64{1, 2, 3} {
		t.Errorf("centroid %v", c)
	}
	if _, err := ROICentroid(coords, []int{1, 1, 2}, 7); err == nil {
		t.Error("missing label accepted")
	}
	if _, err := ROICentroid(coords[:8], []int{1, 1, 2}, 1); err == nil {
		t.Error("short coordinates accepted")
	}
}

func TestSpatialErrors(t *testing.T) {
	d := []float64{0, 0.5, 1}
	if _, err := SpatialScore(d, make([]float64, 8), [3]float64{}, nil); err == nil {
		t.Error("8 coordinate values for 3 targets accepted")
	}
	if _, err := SpatialScore(d, lineCoords([]float64{1, 2, 3}), [3]float64{}, []bool{true}); err == nil {
		t.Error("short mask accepted")
	}
	if _, err := SpatialScore(d, lineCoords([]float64{1, 2, 3}), [3]float64{}, []bool{true, true, false}); err == nil {
		t.Error("2 masked targets accepted")
	}
	if _, err := SpatialScoreROI(d, lineCoords([]float64{1, 2, 3}), []int{1, 2}, [3]float64{}, nil); err == nil {
		t.Error("short labels accepted")
	}
	if _, err := SpatialScoreROI(d, lineCoords([]float64{1, 2, 3}), []int{1, 1, 2}, [3]float64{}, nil); err == nil {
		t.Error("2 ROIs accepted")
	}
	// a constant input is named: which values, over what
	for _, c := range []struct {
		depth, dist []float64
		want        string
	}{
		{[]float64{0.6, 0.6, 0.6, 0.6}, []float64{1, 2, 3, 4}, "the best-layer depth is 0.6 for all 4 masked targets"},
		{[]float64{0, 0.5, 1, 0.5}, []float64{42, 42, 42, 42}, "the distance (mm) from the V1 reference is 42 for all 4 masked targets"},
	} {
		_, err := SpatialScore(c.depth, lineCoords(c.dist), [3]float64{}, nil)
		if err == nil || !strings.Contains(err.Error(), c.want) || !errors.Is(err, stats.ErrConstantInput) {
			t.Errorf("constant input: %v, want %q", err, c.want)
		}
	}
	times := grid(20, 0, 0.01)
	if _, err := TemporalScore(megScores(times, []int{5, 5, 5}, 2), 3, 2, times); err == nil || !strings.Contains(err.Error(), "the time of peak T_max (s) is 0.05 for all 3 layers") {
		t.Errorf("every layer peaking at once: %v", err)
	}
}

// megScores plants layers x channels x times scores whose channel mean for
// layer l is a Gaussian bump centred at times[centre[l]]; channels carry
// offsets +-a that cancel in the mean.
func megScores(times []float64, centre []int, channels int) []float64 {
	nt := len(times)
	s := make([]float64, len(centre)*channels*nt)
	for l, c := range centre {
		for ch := 0; ch < channels; ch++ {
			off := 0.05 * float64(2*(ch%2)-1)
			for i := range times {
				d := times[i] - times[c]
				s[(l*channels+ch)*nt+i] = 0.3*math.Exp(-d*d/(2*0.05*0.05)) + off
			}
		}
	}
	return s
}

func grid(n int, t0, dt float64) []float64 {
	g := make([]float64, n)
	for i := range g {
		g[i] = t0 + float64(i)*dt
	}
	return g
}

func TestTemporalScorePlanted(t *testing.T) {
	times := grid(106, -0.5, 1.0/30)
	// Peaks move later with depth; the bump is symmetric on the grid, so
	// T_max is exactly the planted peak time.
	centre := []int{20, 21, 22, 24, 25, 27, 30, 31}
	res, err := TemporalScore(megScores(times, centre, 4), len(centre), 4, times)
	if err != nil {
		t.Fatal(err)
	}
	peak := make([]float64, len(centre))
	layer := make([]float64, len(centre))
	for l, c := range centre {
		peak[l] = times[c]
		layer[l] = float64(l)
		near(t, "T_max", res.TMax[l], times[c], 1e-12)
	}
	want, _, _ := stats.Pearson(layer, peak)
	near(t, "r", res.R, want, 1e-10)
	if res.R < 0.95 {
		t.Errorf("r = %v for a monotone planted sequence", res.R)
	}
	// Channel offsets cancel: the curve of layer 0 at its peak is 0.3.
	near(t, "R_0(peak)", res.Curves[centre[0]], 0.3, 1e-14)
}

func TestTMaxKnown(t *testing.T) {
	times := []float64{0, 1, 2, 3, 4}
	curves := []float64{
		0.1, 1.0, 0.96, 0.2, 0.0, // times 1 and 2 pass: 1.5
		0.0, 0.0, 0.0, 0.5, 0.5, // 3 and 4: 3.5
		-1, -1, -1, -1, -1, // never positive: NaN
	}
	tm, err := TMax(curves, 3, times, TMaxThreshold)
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{1.5, 3.5, math.NaN()}
	for i := range want {
		near(t, "T_max", tm[i], want[i], 0)
	}
	if _, err := TMax(curves, 3, times, 1.5); err == nil {
		t.Error("threshold 1.5 accepted")
	}
	if _, err := TemporalScore(make([]float64, 5), 1, 1, times); !errors.Is(err, ErrTooFewLayers) {
		t.Errorf("one layer: %v", err)
	}
}

func TestBestLayerInWindows(t *testing.T) {
	times := grid(106, -0.5, 1.0/30)
	centre := []int{18, 20, 22, 24, 26, 28, 30, 32}
	scores := megScores(times, centre, 3)
	// Windows centred (half a sample off the grid) on the peaks of layers 2 and 6.
	dt := 1.0 / 30
	ws := []Window{{times[22] - dt/2, times[22] + dt/2}, {times[30] - 1.5*dt, times[30] + 1.5*dt}}
	res, err := BestLayerInWindows(scores, len(centre), 3, times, ws)
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Layer != 2 || res[1].Layer != 6 {
		t.Errorf("best layers %d, %d, want 2, 6", res[0].Layer, res[1].Layer)
	}
	near(t, "depth", res[1].Depth, 6.0/7, 1e-15)
	if _, err := BestLayerInWindows(scores, len(centre), 3, times, []Window{{5, 6}}); err == nil {
		t.Error("empty window accepted")
	}
	if _, err := BestLayerInWindows(scores[1:], len(centre), 3, times, ws); err == nil {
		t.Error("wrong shape accepted")
	}
}

func TestSignificanceMaskPlanted(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	subjects, targets := 8, 200
	scores := make([]float64, subjects*targets)
	signal := make([]bool, targets)
	for j := 0; j < targets; j++ {
		signal[j] = j%4 == 0
		for s := 0; s < subjects; s++ {
			v := rng.NormFloat64() * 0.02
			if signal[j] {
				v += 0.2
			}
			scores[s*targets+j] = v
		}
	}
	sig, err := SignificanceMask(scores, subjects, targets, 0)
	if err != nil {
		t.Fatal(err)
	}
	for j := range signal {
		if sig.Mask[j] != signal[j] {
			t.Errorf("target %d: mask %v, planted %v (q=%v)", j, sig.Mask[j], signal[j], sig.Q[j])
		}
	}
	// Per-target p agrees with the scalar t-test, and Q with BH of P.
	col := make([]float64, subjects)
	for s := range col {
		col[s] = scores[s*targets+5]
	}
	tt, p := stats.TTest1Samp(col, 0)
	near(t, "t", sig.T[5], tt, 1e-12)
	near(t, "p", sig.P[5], p, 1e-12)
	q := stats.BenjaminiHochberg(sig.P)
	near(t, "q", sig.Q[7], q[7], 0)
	if _, err := SignificanceMask(scores, 1, subjects*targets, 0.01); err == nil {
		t.Error("one replicate accepted")
	}
	if _, err := SignificanceMask(scores, subjects, targets, 1); err == nil {
		t.Error("q = 1 accepted")
	}
}

// sigmoidCurve is an affine copy of a logistic curve in log(step), odd
// around log(h) and scaled so the value at the final step is exactly 2 times
// the value 0.5 it takes at h: half of the final value is reached at h.
func sigmoidCurve(steps []float64, h, a float64) []float64 {
	sig := func(s float64) float64 { return 1 / (1 + math.Exp(-a*(math.Log(s)-math.Log(h)))) }
	k := 0.5 / (sig(steps[len(steps)-1]) - 0.5)
	v := make([]float64, len(steps))
	for i, s := range steps {
		v[i] = 0.5 + k*(sig(s)-0.5)
	}
	return v
}

func TestHalfTimeSigmoid(t *testing.T) {
	// Checkpoints log-uniform (ratio 10^0.25) and symmetric in log around the
	// half point h: linear interpolation in log(step) of an odd curve is exact.
	h := 2e5
	var steps []float64
	for e := -12; e <= 8; e++ {
		steps = append(steps, h*math.Pow(10, (float64(e)+0.5)/4))
	}
	v := sigmoidCurve(steps, h, 2.5)
	ht, err := HalfTimeOf(steps, v)
	if err != nil {
		t.Fatal(err)
	}
	if !ht.Interpolated {
		t.Error("not interpolated")
	}
	near(t, "step", ht.Step, h, 1e-9)
	near(t, "fraction", ht.Fraction, h/steps[len(steps)-1], 1e-9)
	// Interpolation must be in log(step): linear in step would land elsewhere.
	lin := steps[11] + (v[len(v)-1]/2-v[11])/(v[12]-v[11])*(steps[12]-steps[11])
	if math.Abs(lin-h) < 1e-3*h {
		t.Fatalf("test does not distinguish log from linear interpolation")
	}
}

func TestHalfTimePiecewiseLogLinear(t *testing.T) {
	// Values linear in log10(step) between 1e3 (0.1) and 1e5 (0.5): half of
	// the final 0.8 (0.4) is reached at log10 = 3 + 2*(0.3/0.4) = 4.5.
	steps := []float64{0, 1e3, 1e5, 1e6, 1e7}
	v := []float64{0.05, 0.1, 0.5, 0.7, 0.8}
	ht, err := HalfTimeOf(steps, v)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "step", ht.Step, math.Pow(10, 4.5), 1e-12)
	near(t, "fraction", ht.Fraction, math.Pow(10, 4.5)/1e7, 1e-12)
}

func TestHalfTimeEdgeCases(t *testing.T) {
	steps := []float64{0, 100, 1000, 10000}
	// Step 0 already at half: 0.
	ht, err := HalfTimeOf(steps, []float64{0.6, 0.7, 0.9, 1})
	if err != nil || ht.Step != 0 || ht.Fraction != 0 || ht.Interpolated {
		t.Errorf("step 0 at half: %+v %v", ht, err)
	}
	// Crossing between step 0 and 100: step 0 skipped, 100 returned, not interpolated.
	ht, err = HalfTimeOf(steps, []float64{0.1, 0.7, 0.9, 1})
	if err != nil || ht.Step != 100 || ht.Interpolated || ht.Fraction != 0.01 {
		t.Errorf("crossing after step 0: %+v %v", ht, err)
	}
	// First (positive) checkpoint already above half.
	ht, err = HalfTimeOf([]float64{10, 100}, []float64{0.6, 1})
	if err != nil || ht.Step != 10 || ht.Interpolated {
		t.Errorf("first checkpoint above half: %+v %v", ht, err)
	}
	// Exactly half at a checkpoint.
	ht, err = HalfTimeOf([]float64{10, 100, 1000}, []float64{0.1, 0.5, 1})
	if err != nil || ht.Step != 100 {
		t.Errorf("exactly half at a checkpoint: %+v %v", ht, err)
	}
	// Non-positive final value.
	ht, err = HalfTimeOf(steps, []float64{0.1, 0.2, 0.1, -0.1})
	if !errors.Is(err, ErrNoHalfTime) || !math.IsNaN(ht.Step) {
		t.Errorf("negative final: %+v %v", ht, err)
	}
	for name, c := range map[string][2][]float64{
		"one checkpoint":  {{1}, {1}},
		"decreasing":      {{10, 5}, {1, 2}},
		"repeated step":   {{10, 10}, {1, 2}},
		"negative step":   {{-1, 10}, {1, 2}},
		"length mismatch": {{1, 10}, {1}},
		"NaN value":       {{1, 10}, {math.NaN(), 1}},
	} {
		if _, err := HalfTimeOf(c[0], c[1]); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
}

func TestROIHalfTimesAndDistance(t *testing.T) {
	// Four ROIs whose score curves are shifted in log(step) in proportion to
	// their distance from V1: half-times grow with distance (r = 1 in log
	// fraction; Pearson on fractions is checked against stats.Pearson).
	steps := []float64{1e2, 1e3, 1e4, 1e5, 1e6, 1e7}
	roiDist := []float64{0, 20, 40, 60}
	halfLog := []float64{3.5, 4.0, 4.5, 5.0}
	labels := []int{10, 10, 20, 30, 30, 40, 99}
	mask := []bool{true, true, true, true, true, true, false}
	roiOf := map[int]int{10: 0, 20: 1, 30: 2, 40: 3, 99: 0}
	targets := len(labels)
	scores := make([]float64, len(steps)*targets)
	for i, s := range steps {
		for j, l := range labels {
			// Linear in log10(step), 0 at two decades before half, 0.5 at half, capped at 1 (final).
			x := math.Log10(s) - halfLog[roiOf[l]]
			v := math.Min(1, math.Max(0, 0.5+0.25*x))
			if l == 99 {
				v = -5 // masked out, would spoil the means
			}
			scores[i*targets+j] = v * (1 + 0.1*float64(j%2))
		}
	}
	roi, ht, err := ROIHalfTimes(steps, scores, targets, labels, mask)
	if err != nil {
		t.Fatal(err)
	}
	if len(roi) != 4 || roi[0] != 10 || roi[3] != 40 {
		t.Fatalf("ROIs %v", roi)
	}
	fr := make([]float64, 4)
	for k := range ht {
		near(t, "ROI half-time", ht[k].Step, math.Pow(10, halfLog[k]), 1e-9)
		fr[k] = ht[k].Fraction
	}
	c, err := HalfTimeDistance(ht, roiDist)
	if err != nil {
		t.Fatal(err)
	}
	want, wantP, _ := stats.Pearson(fr, roiDist)
	near(t, "r", c.R, want, 1e-14)
	near(t, "p", c.P, wantP, 1e-12)
	if _, err := HalfTimeDistance(ht, roiDist[:3]); err == nil {
		t.Error("mismatched lengths accepted")
	}
}

func TestHalfTimesUndefinedColumn(t *testing.T) {
	steps := []float64{1, 10, 100}
	values := []float64{ // 3 checkpoints x 2 series
		0.1, 0.1,
		0.5, 0.2,
		1.0, -0.1,
	}
	ht, err := HalfTimes(steps, values, 2)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "series 0", ht[0].Step, 10, 1e-12)
	if !math.IsNaN(ht[1].Step) {
		t.Errorf("series 1 with negative final: %+v", ht[1])
	}
	if _, err := HalfTimes(steps, values[:5], 2); err == nil {
		t.Error("wrong shape accepted")
	}
}

func TestWindowHalfTimes(t *testing.T) {
	// Two windows of two time points each, with known window means.
	steps := []float64{10, 100, 1000}
	times := []float64{0.0, 0.1, 0.2, 0.3}
	curves := []float64{
		0.1, 0.1, 0.0, 0.0,
		0.5, 0.5, 0.2, 0.2,
		0.8, 0.8, 1.0, 1.0,
	}
	ht, err := WindowHalfTimes(steps, curves, times, []Window{{-0.05, 0.15}, {0.15, 0.35}})
	if err != nil {
		t.Fatal(err)
	}
	// Window 0: .1, .5, .8 -> half .4 at log10 = 1 + .3/.4 = 1.75.
	near(t, "w0", ht[0].Step, math.Pow(10, 1.75), 1e-12)
	// Window 1: 0, .2, 1 -> half .5 at log10 = 2 + .3/.8 = 2.375.
	near(t, "w1", ht[1].Step, math.Pow(10, 2.375), 1e-12)
}

func TestCompareModels(t *testing.T) {
	a := []float64{0.31, 0.29, 0.35, 0.33, 0.30, 0.28, 0.36, 0.32}
	b := []float64{0.30, 0.27, 0.31, 0.30, 0.295, 0.27, 0.33, 0.31}
	c, err := CompareModels(a, b)
	if err != nil {
		t.Fatal(err)
	}
	// Every subject favours a: T = 0, exact p = 2/2^8.
	if c.Stat != 0 || c.P != 2.0/256 || c.N != 8 {
		t.Errorf("%+v", c)
	}
	near(t, "mean diff", c.MeanDiff, 0.155/8, 1e-12)
	if _, err := CompareModels(a, b[:7]); err == nil {
		t.Error("mismatched subjects accepted")
	}
	// A model compared with itself: no difference, p = 1 (not an error).
	c, err = CompareModels(a, a)
	if err != nil || c.Stat != 0 || c.P != 1 || c.MeanDiff != 0 || c.N != 8 || c.Note != NoDifferenceNote {
		t.Errorf("identical models: %+v, %v; want T = 0, p = 1 and the note", c, err)
	}
	// Some zero differences are dropped as SciPy does (normal approximation), and said: the p
	// can fall below the exact test's floor (scipy.stats.wilcoxon([1,2,3],[1,1,1]): 0.1797, under
	// 2/2^3 = 0.25).
	b2 := append([]float64(nil), b...)
	b2[0] = a[0]
	if c, err := CompareModels(a, b2); err != nil || c.Note != ZeroDifferencesNote(1, 8) || !(c.P > 0 && c.P < 0.05) {
		t.Errorf("one zero difference: %+v, %v", c, err)
	}
	if c, err := CompareModels([]float64{1, 2, 3}, []float64{1, 1, 1}); err != nil || math.Abs(c.P-0.17971249487899976) > 1e-12 ||
		!strings.Contains(c.Note, "1 of 3 paired differences are exactly zero") || !strings.Contains(c.Note, "(here 2)") {
		t.Errorf("three subjects, one zero difference: %+v, %v; want SciPy's p 0.1797 and the note", c, err)
	}
	for _, bad := range []float64{math.NaN(), math.Inf(1)} {
		b2[3] = bad
		if _, err := CompareModels(a, b2); err == nil || !strings.Contains(err.Error(), "subject 3") {
			t.Errorf("non-finite value %v: %v", bad, err)
		}
	}
}

// TestJSONFieldNames: the metric types marshal with snake_case names, as the commands' other
// JSON outputs.
func TestJSONFieldNames(t *testing.T) {
	for _, c := range []struct {
		v    any
		want string
	}{
		{Comparison{Stat: 1, P: 0.5, MeanDiff: 0.25, N: 3}, `{"stat":1,"p":0.5,"mean_diff":0.25,"n":3}`},
		{Correlation{R: 0.5, P: 0.25, N: 4}, `{"r":0.5,"p":0.25,"n":4}`},
		{WindowBest{Window: Window{Start: 0.1, End: 0.2}, Layer: 1, Depth: 0.5, Mean: []float64{1}}, `{"start":0.1,"end":0.2,"layer":1,"depth":0.5,"mean":[1]}`},
		{HalfTime{Step: 10, Fraction: 0.5, Interpolated: true}, `{"step":10,"fraction":0.5,"interpolated":true}`},
		{BestLayers{Index: []int{0}, Depth: []float64{0}, Max: []float64{1}}, `{"index":[0],"depth":[0],"max":[1]}`},
	} {
		b, err := json.Marshal(c.v)
		if err != nil || string(b) != c.want {
			t.Errorf("%T: %s, %v; want %s", c.v, b, err, c.want)
		}
	}
}

func TestChannelMeanShape(t *testing.T) {
	s := []float64{ // 1 layer x 2 channels x 3 times
		1, 2, 3,
		3, 4, 5,
	}
	m, err := ChannelMean(s, 1, 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{2, 3, 4}
	for i := range want {
		near(t, "mean", m[i], want[i], 0)
	}
	if _, err := ChannelMean(s, 1, 3, 3); err == nil {
		t.Error("wrong shape accepted")
	}
}

// MEG times in seconds pass; milliseconds and sample indices are doubted.
func TestSecondsDoubt(t *testing.T) {
	sec := make([]float64, 281) // THINGS-MEG: -0.1 to 1.3 s at 200 Hz
	for j := range sec {
		sec[j] = (float64(j) - 20) / 200
	}
	if d := SecondsDoubt(sec); d != "" {
		t.Errorf("seconds doubted: %s", d)
	}
	ms, idx := make([]float64, len(sec)), make([]float64, len(sec))
	for j, v := range sec {
		ms[j], idx[j] = 1000*v, float64(j)
	}
	for name, times := range map[string][]float64{"milliseconds": ms, "sample indices": idx} {
		if d := SecondsDoubt(times); !strings.Contains(d, "are they seconds?") {
			t.Errorf("%s not doubted: %q", name, d)
		}
	}
	if SecondsDoubt([]float64{0.1}) != "" {
		t.Error("one time point doubted")
	}
}
