package synth

import (
	"math"
	"sort"
	"strings"
	"sync"
	"testing"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat"

	"github.com/brainalign/brainalign/engine"
)

// The tests check what was planted with plain least squares on a layer's top principal
// components (never the ridge engine): K = 2q components hold every latent column.

var (
	demoOnce sync.Once
	demo     *Dataset
	demoErr  error
	// scores[c][l] holds held-out r of fMRI subject 0's targets from layer l at checkpoint c.
	scores    [][][]float64
	megScores [][]float64 // trained model, MEG subject 0, per layer
)

const nTrain = 450 // of the demo's 600 images; the rest are held out

func demoData(t *testing.T) *Dataset {
	t.Helper()
	demoOnce.Do(func() {
		demo, demoErr = Generate(Demo())
		if demoErr != nil {
			return
		}
		m := demo.Model
		k := 2 * demo.Config.LatentDim
		for c := 0; c < m.NumCheckpoints(); c++ {
			var per [][]float64
			for l := 0; l < m.NumLayers(); l++ {
				x := m.Activations(c, l)
				per = append(per, heldOutR(x, demo.FMRI.Subjects[0].Data, k, nTrain))
				if c == m.NumCheckpoints()-1 {
					megScores = append(megScores, heldOutR(x, demo.MEG.Subjects[0], k, nTrain))
				}
			}
			scores = append(scores, per)
		}
	})
	if demoErr != nil {
		t.Fatal(demoErr)
	}
	return demo
}

func dense(x engine.Matrix) *mat.Dense {
	d := mat.NewDense(x.Rows, x.Cols, nil)
	for i := 0; i < x.Rows; i++ {
		for j := 0; j < x.Cols; j++ {
			d.Set(i, j, x.At(i, j))
		}
	}
	return d
}

func centre(d *mat.Dense, rows int) []float64 {
	_, c := d.Dims()
	mean := make([]float64, c)
	for j := range mean {
		for i := 0; i < rows; i++ {
			mean[j] += d.At(i, j)
		}
		mean[j] /= float64(rows)
	}
	return mean
}

// heldOutR fits OLS from the top k principal components of x's first ntr rows to every column
// of y and returns the Pearson r between prediction and data on the remaining rows.
func heldOutR(x, y engine.Matrix, k, ntr int) []float64 {
	xd, yd := dense(x), dense(y)
	n, d := xd.Dims()
	_, m := yd.Dims()
	mx, my := centre(xd, ntr), centre(yd, ntr)
	xc := mat.NewDense(n, d, nil)
	xc.Apply(func(i, j int, v float64) float64 { return v - mx[j] }, xd)
	yc := mat.NewDense(n, m, nil)
	yc.Apply(func(i, j int, v float64) float64 { return v - my[j] }, yd)
	var svd mat.SVD
	if !svd.Factorize(xc.Slice(0, ntr, 0, d), mat.SVDThin) {
		panic("svd failed")
	}
	var u, v mat.Dense
	svd.UTo(&u)
	svd.VTo(&v)
	s := svd.Values(nil)
	// B = V_k S_k^-1 U_k^T Yc_train.
	var z mat.Dense
	z.Mul(u.Slice(0, ntr, 0, k).T(), yc.Slice(0, ntr, 0, m))
	z.Apply(func(i, j int, val float64) float64 { return val / s[i] }, &z)
	var pred mat.Dense
	var tk mat.Dense
	tk.Mul(xc.Slice(ntr, n, 0, d), v.Slice(0, d, 0, k))
	pred.Mul(&tk, &z)
	r := make([]float64, m)
	a, b := make([]float64, n-ntr), make([]float64, n-ntr)
	for j := range r {
		mat.Col(a, j, &pred)
		mat.Col(b, j, yc.Slice(ntr, n, 0, m))
		r[j] = stat.Correlation(a, b, nil)
	}
	return r
}

// inSampleR2 returns the in-sample R^2 of OLS from the top k principal components of x to
// every column of y.
func inSampleR2(x, y engine.Matrix, k int) []float64 {
	xd, yd := dense(x), dense(y)
	n, _ := xd.Dims()
	_, m := yd.Dims()
	mx, my := centre(xd, n), centre(yd, n)
	xd.Apply(func(i, j int, v float64) float64 { return v - mx[j] }, xd)
	yd.Apply(func(i, j int, v float64) float64 { return v - my[j] }, yd)
	var svd mat.SVD
	svd.Factorize(xd, mat.SVDThin)
	var u, p mat.Dense
	svd.UTo(&u)
	p.Mul(u.Slice(0, n, 0, k).T(), yd)
	r2 := make([]float64, m)
	col := make([]float64, n)
	pc := make([]float64, k)
	for j := range r2 {
		mat.Col(col, j, yd)
		mat.Col(pc, j, &p)
		r2[j] = floatsDot(pc, pc) / floatsDot(col, col)
	}
	return r2
}

func floatsDot(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

func argmax(per [][]float64, t int) int {
	best := 0
	for l := range per {
		if per[l][t] > per[best][t] {
			best = l
		}
	}
	return best
}

func TestPresetsValid(t *testing.T) {
	for name, c := range map[string]Config{"Demo": Demo(), "Study": Study()} {
		if err := c.Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	d := Demo().LayerDims()
	if d[0] != 64 || d[len(d)-1] != 128 {
		t.Errorf("Demo dims %v, want 64..128", d)
	}
}

func TestValidate(t *testing.T) {
	cases := []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"images", func(c *Config) { c.Images = 5 }, "Images"},
		{"subjects", func(c *Config) { c.Subjects = 0 }, "Subjects"},
		{"layers", func(c *Config) { c.Layers = 1 }, "Layers"},
		{"dims len", func(c *Config) { c.Dims = []int{64} }, "Dims has 1 entries"},
		{"dim small", func(c *Config) { c.Dims[3] = 10 }, "layer 3 has 10 features"},
		{"rho", func(c *Config) { c.Rho = 1 }, "Rho"},
		{"steps", func(c *Config) { c.StepMin = 0 }, "StepMin"},
		{"width", func(c *Config) { c.SigmoidWidth = 0 }, "SigmoidWidth"},
		{"fmri noise", func(c *Config) { c.FMRI.NoiseFraction = 1.5 }, "FMRI.NoiseFraction"},
		{"fmri signal", func(c *Config) { c.FMRI.SignalMax = 1 }, "SignalMax"},
		{"meg onset", func(c *Config) { c.MEG.TMin = 0.1 }, "onset"},
		{"meg rate", func(c *Config) { c.MEG.SampleRate = 0 }, "SampleRate"},
		{"meg ar", func(c *Config) { c.MEG.NoiseAR = 1 }, "NoiseAR"},
		{"meg no time after onset", func(c *Config) { c.MEG.SampleRate = 0.6 }, "after the onset"},
		{"meg peaks outside the epoch", func(c *Config) { c.MEG.Early, c.MEG.Late = c.MEG.TMax+1, c.MEG.TMax+2 }, "inside the epoch"},
		{"no brain", func(c *Config) { c.FMRI.Targets, c.MEG.Channels = 0, 0 }, "no brain data"},
	}
	for _, tc := range cases {
		c := Demo()
		tc.edit(&c)
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error mentioning %q", tc.name, err, tc.want)
		}
		if _, gerr := Generate(c); gerr == nil {
			t.Errorf("%s: Generate accepted an invalid config", tc.name)
		}
	}
}

func small(seed uint64) Config {
	c := Demo()
	c.Seed, c.Images, c.Subjects = seed, 100, 2
	c.FMRI.Targets, c.MEG.Channels = 200, 4
	return c
}

func equal32(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}

func TestDeterminism(t *testing.T) {
	a, err := Generate(small(7))
	if err != nil {
		t.Fatal(err)
	}
	// Generating other activations first must not change a given one (independent streams).
	want := a.Model.Activations(2, 3)
	b, _ := Generate(small(7))
	b.Model.Activations(0, 0)
	b.Model.Activations(5, 7)
	if !equal32(want.F32, b.Model.Activations(2, 3).F32) {
		t.Error("activations differ for the same seed")
	}
	for s := range a.FMRI.Subjects {
		if !equal32(a.FMRI.Subjects[s].Data.F32, b.FMRI.Subjects[s].Data.F32) ||
			!equal32(a.MEG.Subjects[s].F32, b.MEG.Subjects[s].F32) {
			t.Errorf("subject %d: brain data differ for the same seed", s)
		}
	}
	c, _ := Generate(small(8))
	if equal32(want.F32, c.Model.Activations(2, 3).F32) || equal32(a.FMRI.Subjects[0].Data.F32, c.FMRI.Subjects[0].Data.F32) {
		t.Error("a different seed gave the same data")
	}
	if equal32(a.FMRI.Subjects[0].Data.F32, a.FMRI.Subjects[1].Data.F32) {
		t.Error("two subjects share their noise")
	}
	for _, x := range []engine.Matrix{want, a.FMRI.Subjects[0].Data, a.FMRI.Subjects[0].Coords, a.MEG.Subjects[1]} {
		if err := x.Validate("x"); err != nil {
			t.Error(err)
		}
		if err := x.CheckFinite("x"); err != nil {
			t.Error(err)
		}
	}
}

// TestSpectrum fits the slope of log eigenvalue against log rank of each layer's covariance.
func TestSpectrum(t *testing.T) {
	for _, tc := range []struct {
		alpha, spread float64
	}{{1, 0.2}, {2, 0}} {
		c := small(3)
		c.Images, c.SpectrumExponent, c.FeatureScaleSpread = 1000, tc.alpha, tc.spread
		d, err := Generate(c)
		if err != nil {
			t.Fatal(err)
		}
		for l := 0; l < d.Model.NumLayers(); l++ {
			x := dense(d.Model.Layer(l))
			var cov mat.SymDense
			stat.CovarianceMatrix(&cov, x, nil)
			var eig mat.EigenSym
			eig.Factorize(&cov, false)
			ev := eig.Values(nil)
			sort.Sort(sort.Reverse(sort.Float64Slice(ev)))
			var lx, ly []float64
			for k := 1; k <= len(ev)/2; k++ {
				lx, ly = append(lx, math.Log(float64(k))), append(ly, math.Log(ev[k-1]))
			}
			_, slope := stat.LinearRegression(lx, ly, nil, false)
			if math.Abs(slope+tc.alpha) > 0.2*tc.alpha {
				t.Errorf("alpha %v, layer %d: spectrum slope %.3f", tc.alpha, l, slope)
			}
		}
	}
}

// TestDrivingLayer: the planted layer explains a signal target best, and its neighbours less by
// about Rho.
func TestDrivingLayer(t *testing.T) {
	d := demoData(t)
	tr := d.Truth.FMRI
	final := scores[len(scores)-1]
	var hit, sig int
	var ratio []float64
	for tg, k := range tr.Layer {
		if k < 0 {
			continue
		}
		sig++
		if argmax(final, tg) == k {
			hit++
		}
		if k > 0 && k < len(final)-1 && final[k][tg] > 0.3 {
			ratio = append(ratio, (final[k-1][tg]+final[k+1][tg])/2/final[k][tg])
		}
	}
	frac := float64(hit) / float64(sig)
	t.Logf("fMRI: planted layer best for %.3f of %d signal targets; neighbour/best ratio %.3f (Rho %v)",
		frac, sig, stat.Mean(ratio, nil), d.Config.Rho)
	if frac < 0.8 {
		t.Errorf("planted layer best for only %.3f of signal targets", frac)
	}
	if r := stat.Mean(ratio, nil); math.Abs(r-d.Config.Rho) > 0.12 {
		t.Errorf("neighbour/best score ratio %.3f, want about Rho = %v", r, d.Config.Rho)
	}

	mt := d.Truth.MEG
	hit, sig = 0, 0
	for tg, k := range mt.Layer {
		if k < 0 || mt.Signal[tg] < 0.3 {
			continue
		}
		sig++
		if argmax(megScores, tg) == k {
			hit++
		}
	}
	frac = float64(hit) / float64(sig)
	t.Logf("MEG: planted layer best for %.3f of %d targets with signal >= 0.3", frac, sig)
	if frac < 0.8 {
		t.Errorf("MEG: planted layer best for only %.3f", frac)
	}
}

// TestNoiseTargets: pure-noise fMRI targets, noise MEG channels and pre-onset MEG times are at
// chance on every layer, and signal targets are not.
func TestNoiseTargets(t *testing.T) {
	d := demoData(t)
	k := 2 * d.Config.LatentDim
	n := d.Config.Images
	chance := float64(k) / float64(n-1) // mean in-sample R^2 of a pure-noise target
	for l := 0; l < d.Model.NumLayers(); l++ {
		x := d.Model.Layer(l)
		r2 := inSampleR2(x, d.FMRI.Subjects[1].Data, k)
		var noise, signal []float64
		for tg, isNoise := range d.Truth.FMRI.Noise {
			if isNoise {
				noise = append(noise, r2[tg])
			} else if d.Truth.FMRI.Layer[tg] == l {
				signal = append(signal, r2[tg])
			}
		}
		mn, mx := stat.Mean(noise, nil), maxOf(noise)
		if math.Abs(mn-chance) > 0.25*chance || mx > 0.1 {
			t.Errorf("layer %d: noise targets R^2 mean %.4f (chance %.4f), max %.4f", l, mn, chance, mx)
		}
		if len(signal) > 0 && stat.Mean(signal, nil) < 3*chance {
			t.Errorf("layer %d: its own signal targets R^2 %.4f, barely above chance", l, stat.Mean(signal, nil))
		}

		g := d.MEG
		r2 = inSampleR2(x, g.Subjects[1], k)
		var pre, noiseCh []float64
		for ch := 0; ch < g.Channels; ch++ {
			for ti, tm := range g.Times {
				j := g.Target(ch, ti)
				switch {
				case tm <= 0:
					pre = append(pre, r2[j])
				case d.Truth.MEG.NoiseChannel[ch]:
					noiseCh = append(noiseCh, r2[j])
				}
			}
		}
		for name, v := range map[string][]float64{"pre-onset": pre, "noise channels": noiseCh} {
			if mn := stat.Mean(v, nil); math.Abs(mn-chance) > 0.25*chance || maxOf(v) > 0.1 {
				t.Errorf("layer %d: MEG %s R^2 mean %.4f (chance %.4f), max %.4f", l, name, mn, chance, maxOf(v))
			}
		}
	}
}

func maxOf(v []float64) float64 {
	m := math.Inf(-1)
	for _, x := range v {
		m = math.Max(m, x)
	}
	return m
}

// TestSpatial: relative depth of the planted and of the recovered best layer grows with the
// distance from V1, in every subject's own coordinates.
func TestSpatial(t *testing.T) {
	d := demoData(t)
	ft := d.Truth.FMRI
	if ft.SpatialR < 0.8 {
		t.Errorf("planted spatial r %.3f", ft.SpatialR)
	}
	final := scores[len(scores)-1]
	L := float64(d.Config.Layers - 1)
	for s, sub := range d.FMRI.Subjects {
		// V1 reference as the centroid of the subject's V1 vertices.
		var v1 [3]float64
		var nv1 float64
		for tg, roi := range d.FMRI.ROI {
			if d.FMRI.ROINames[roi] == "V1" {
				for k := range v1 {
					v1[k] += sub.Coords.At(tg, k)
				}
				nv1++
			}
		}
		for k := range v1 {
			v1[k] /= nv1
		}
		if dd := dist3(v1, d.FMRI.V1Ref); dd > 2 {
			t.Errorf("subject %d: V1 centroid %.1f mm from V1Ref", s, dd)
		}
		var dist, planted, found []float64
		for tg, k := range ft.Layer {
			if k < 0 {
				continue
			}
			p := [3]float64{sub.Coords.At(tg, 0), sub.Coords.At(tg, 1), sub.Coords.At(tg, 2)}
			dist = append(dist, dist3(p, v1))
			planted = append(planted, ft.Depth[tg])
			found = append(found, float64(argmax(final, tg))/L)
		}
		rp := stat.Correlation(planted, dist, nil)
		if math.Abs(rp-ft.SpatialR) > 0.02 {
			t.Errorf("subject %d: planted spatial r %.3f in own coordinates, truth says %.3f", s, rp, ft.SpatialR)
		}
		if s == 0 {
			rf := stat.Correlation(found, dist, nil)
			t.Logf("spatial r: planted %.3f, recovered %.3f", rp, rf)
			if rf < 0.7 {
				t.Errorf("recovered spatial r %.3f", rf)
			}
		}
	}
}

// TestTemporal: T_max grows with layer, planted and recovered; signal is ~0 before onset.
func TestTemporal(t *testing.T) {
	d := demoData(t)
	mt, g := d.Truth.MEG, d.MEG
	for l := 1; l < len(mt.TMax); l++ {
		if !(mt.TMax[l] > mt.TMax[l-1]) {
			t.Errorf("planted T_max not increasing: %v", mt.TMax)
			break
		}
	}
	if mt.TemporalR < 0.9 {
		t.Errorf("planted temporal r %.3f", mt.TemporalR)
	}
	for ti, tm := range g.Times {
		for ch := 0; ch < g.Channels; ch++ {
			if j := g.Target(ch, ti); tm <= 0 && (mt.Signal[j] != 0 || mt.Layer[j] != -1) {
				t.Fatalf("signal planted before onset at channel %d, t=%v", ch, tm)
			}
		}
	}
	T := len(g.Times)
	tmax := make([]float64, len(megScores))
	layers := make([]float64, len(megScores))
	for l, sc := range megScores {
		curve := make([]float64, T)
		for ti := range curve {
			for ch := 0; ch < g.Channels; ch++ {
				curve[ti] += sc[g.Target(ch, ti)] / float64(g.Channels)
			}
		}
		mx := maxOf(curve)
		var sum, cnt float64
		for ti, v := range curve {
			if v >= 0.95*mx {
				sum += g.Times[ti]
				cnt++
			}
			if g.Times[ti] < 0 && math.Abs(v) > 0.06 {
				t.Errorf("layer %d: mean held-out r %.3f at t=%.2f before onset", l, v, g.Times[ti])
			}
		}
		tmax[l], layers[l] = sum/cnt, float64(l)
	}
	r := stat.Correlation(layers, tmax, nil)
	t.Logf("T_max planted %v\nrecovered %v; temporal r planted %.3f, recovered %.3f", mt.TMax, tmax, mt.TemporalR, r)
	if r < 0.85 {
		t.Errorf("recovered temporal r %.3f", r)
	}
}

// empiricalHalfTime is docs/design.md §4's rule: the first step at which f reaches half its final
// value, interpolated linearly in log(step).
func empiricalHalfTime(steps, f []float64) float64 {
	half := f[len(f)-1] / 2
	for c, v := range f {
		if v >= half {
			if c == 0 {
				return steps[0]
			}
			a := (half - f[c-1]) / (v - f[c-1])
			return math.Exp(math.Log(steps[c-1]) + a*(math.Log(steps[c])-math.Log(steps[c-1])))
		}
	}
	return math.NaN()
}

// TestHalfTime: each ROI's encoding score (its targets' driving layer) reaches half its final
// value within 0.25 decades of the planted half-time (0.35 for the best layer), and half-times grow with distance from V1.
func TestHalfTime(t *testing.T) {
	d := demoData(t)
	tr := d.Truth
	steps := d.Model.Steps
	for l := 1; l < len(tr.LayerHalfTime); l++ {
		if !(tr.LayerHalfTime[l] > tr.LayerHalfTime[l-1]) {
			t.Fatalf("layer half-times not increasing: %v", tr.LayerHalfTime)
		}
	}
	var dist, planted []float64
	for roi, name := range d.FMRI.ROINames {
		var ts []int
		var dsum float64
		for tg, r := range d.FMRI.ROI {
			if r == roi && tr.FMRI.Layer[tg] >= 0 {
				ts = append(ts, tg)
				dsum += tr.FMRI.Distance[tg]
			}
		}
		want := tr.FMRIHalfTime(ts, Driving)
		wantBest := tr.FMRI.ROIHalfTime[roi]
		// The planted half-time solves mean popR(h) = mean popR(final) / 2.
		for _, c := range []struct {
			layer int
			h     float64
		}{{Driving, want}, {Best, wantBest}} {
			var at, fin float64
			for _, tg := range ts {
				at += tr.FMRIPopR(tg, c.layer, c.h)
				fin += tr.FMRIPopR(tg, c.layer, 0)
			}
			if math.Abs(at/fin-0.5) > 1e-6 {
				t.Errorf("%s: population score at the planted half-time is %.6f of final", name, at/fin)
			}
		}
		f, fb := make([]float64, len(steps)), make([]float64, len(steps))
		for c := range steps {
			for _, tg := range ts {
				f[c] += scores[c][tr.FMRI.Layer[tg]][tg]
				best := math.Inf(-1)
				for l := range scores[c] {
					best = math.Max(best, scores[c][l][tg])
				}
				fb[c] += best
			}
		}
		got, gotBest := empiricalHalfTime(steps, f), empiricalHalfTime(steps, fb)
		t.Logf("%-3s driving layer: planted %.3g recovered %.3g; best layer: planted %.3g recovered %.3g",
			name, want, got, wantBest, gotBest)
		if e := math.Abs(math.Log10(got / want)); !(e < 0.25) {
			t.Errorf("%s: half-time %.3g, planted %.3g (%.2f decades off)", name, got, want, e)
		}
		if e := math.Abs(math.Log10(gotBest / wantBest)); !(e < 0.35) {
			t.Errorf("%s: best-layer half-time %.3g, planted %.3g (%.2f decades off)", name, gotBest, wantBest, e)
		}
		dist, planted = append(dist, dsum/float64(len(ts))), append(planted, math.Log(wantBest))
	}
	if r := stat.Correlation(dist, planted, nil); r < 0.9 {
		t.Errorf("planted ROI half-time vs distance r = %.3f", r)
	}
}

func BenchmarkGenerateDemo(b *testing.B) {
	for b.Loop() {
		if _, err := Generate(Demo()); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkActivationsDemo(b *testing.B) {
	d, _ := Generate(small(1))
	for b.Loop() {
		d.Model.Activations(5, 7)
	}
}

// MEG times fall on round values where the epoch starts on the sample grid, as MNE's epochs.times
// ((first + j) / rate): windows bounded by round times then hold the samples on their bounds.
func TestMEGTimesOnGrid(t *testing.T) {
	c := Demo()
	c.MEG.TMin, c.MEG.TMax, c.MEG.SampleRate = -0.5, 1, 20
	times := c.MEGTimes()
	if len(times) != 31 || times[0] != -0.5 || times[12] != 0.1 || times[30] != 1 {
		t.Errorf("times %v: want 31 from -0.5 to 1 with 0.1 exactly at 12", times)
	}
	c.MEG.TMin = -0.512 // off the grid: TMin + j/rate
	times = c.MEGTimes()
	if times[0] != -0.512 || math.Abs(times[1]-(-0.462)) > 1e-15 || times[len(times)-1] > 1+1e-9 {
		t.Errorf("times off the grid %v", times)
	}
}
