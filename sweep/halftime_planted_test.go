package sweep_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/brainalign/brainalign/metrics"
	"github.com/brainalign/brainalign/sweep"
)

// plantedCheckpoints are the checkpoints of the planted half-time sweeps: steps 10, 100, 1000,
// so that a half-time interpolated a fraction f of the way from step 10^k to 10^(k+1) is
// 10^(k+f).
func plantedCheckpoints() []sweep.CheckpointInfo {
	var cs []sweep.CheckpointInfo
	for _, st := range []float64{10, 100, 1000} {
		s := st
		cs = append(cs, sweep.CheckpointInfo{Name: fmt.Sprintf("ckpt-%g", st), Step: &s})
	}
	return cs
}

// plantedFMRI is one subject's in-memory sweep of 3 checkpoints x 3 layers x 7 targets: target
// t's score at checkpoint c is peak[c][t] at layer best[c][t] and a quarter of it at the other
// layers, plus shift. Targets 0-1 are ROI V1, 2-3 V2, 4-5 IT, 6 none (label -1); they lie on
// the x axis at 0, 2, 11, 21, 31, 41, 51 mm, so V1's centroid is x = 1 and their distances
// from it 1, 1, 10, 20, 30, 40, 50 mm.
func plantedFMRI(subject string, shift float64) *sweep.Sweep {
	peak := [3][7]float64{
		{0.1, 0.1, 0.1, 0.1, 0, 0, 0},
		{0.4, 0.4, 0.25, 0.25, 0.1, 0.1, 0.1},
		{0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4},
	}
	best := [3][7]int{{0, 0, 0, 0, 0, 0, 0}, {0, 0, 1, 1, 2, 2, 2}, {0, 0, 1, 1, 2, 2, 2}}
	s := &sweep.Sweep{Dir: "/sweeps/vit/" + subject, C: 3, L: 3, M: 7, F: 1}
	s.Model, s.Subject, s.Targets, s.Trailing = "vit", subject, 7, []int{7}
	s.Fingerprint = "fp-" + subject
	s.Layers = []string{"embed", "block1", "head"}
	s.Checkpoints = plantedCheckpoints()
	s.Meta.ROI = []int{1, 1, 2, 2, 3, 3, -1}
	s.Meta.ROINames = map[int]string{1: "V1", 2: "V2", 3: "IT"}
	for _, x := range []float64{0, 2, 11, 21, 31, 41, 51} {
		s.Meta.Coords = append(s.Meta.Coords, x, 0, 0)
	}
	for c := range 3 {
		for l := range 3 {
			for t := range 7 {
				v := peak[c][t] / 4
				if l == best[c][t] {
					v = peak[c][t]
				}
				s.Scores = append(s.Scores, v+shift)
			}
		}
	}
	return s
}

// plantedMEG is one subject's in-memory MEG sweep of 3 checkpoints x 3 layers x (2 channels x 4
// times 0.09, 0.14, 0.2, 0.3 s): the score of channel ch at time index i is w[ch] amp[c] at the
// layer's peak time and a tenth of that elsewhere, w = 1, 0.5 and amp = 0.1, 0.25, 0.4; layer l
// peaks at time index l, except at the first checkpoint, where every layer peaks at index 0.
func plantedMEG(subject string, shift float64) *sweep.Sweep {
	amp := []float64{0.1, 0.25, 0.4}
	w := []float64{1, 0.5}
	s := &sweep.Sweep{Dir: "/sweeps/vit-meg/" + subject, C: 3, L: 3, M: 8, F: 1}
	s.Model, s.Subject, s.Targets, s.Trailing = "vit", subject, 8, []int{2, 4}
	s.Fingerprint = "fp-meg-" + subject
	s.Layers = []string{"embed", "block1", "head"}
	s.Checkpoints = plantedCheckpoints()
	s.Meta.Times = []float64{0.09, 0.14, 0.2, 0.3}
	for c := range 3 {
		for l := range 3 {
			peakAt := l
			if c == 0 {
				peakAt = 0
			}
			for ch := range 2 {
				for i := range 4 {
					v := w[ch] * amp[c] / 10
					if i == peakAt {
						v = w[ch] * amp[c]
					}
					s.Scores = append(s.Scores, v+shift)
				}
			}
		}
	}
	return s
}

// near reports whether got is within tol of want (false for NaN).
func near(got, want, tol float64) bool { return math.Abs(got-want) <= tol }

func nearAll(got, want []float64, tol float64) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if !near(got[i], want[i], tol) {
			return false
		}
	}
	return true
}

// Every series of HalfTimes on planted sweeps, against values derived by hand from the planted
// scores (two subjects at +-0.01 average to the planted table; mask off: every target counts).
func TestHalfTimesPlantedValues(t *testing.T) {
	noMask := sweep.HalfTimeOptions{Mask: sweep.MaskOptions{Off: true}}
	fmri := []*sweep.Sweep{plantedFMRI("sub-01", 0.01), plantedFMRI("sub-02", -0.01)}
	res, err := sweep.HalfTimes(context.Background(), fmri, noMask)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Checkpoints, []string{"ckpt-10", "ckpt-100", "ckpt-1000"}) || !slices.Equal(res.Steps, []float64{10, 100, 1000}) {
		t.Errorf("checkpoints %v at steps %v", res.Checkpoints, res.Steps)
	}
	if res.Mask.Replicates != "none" || res.Mask.Significant != 7 || res.Mask.Targets != 7 {
		t.Errorf("mask %+v, want none, 7 of 7 targets", res.Mask)
	}
	// Encoding: the mean over the 7 targets of their peaks: 0.4/7, 1.6/7, 0.4. Half of 0.4 is
	// 1.4/7, crossed 5/6 of the way from step 10 to 100: 10^(1+5/6).
	checkSeries := func(what string, s sweep.Series, values []float64, step float64, undefined ...string) {
		t.Helper()
		if !nearAll(s.Values, values, 1e-12) {
			t.Errorf("%s values %v, want %v", what, s.Values, values)
		}
		if h := s.HalfTime; !near(h.Step, step, 1e-9*step) || !near(h.Fraction, step/1000, 1e-12) || !h.Interpolated || h.Error != "" {
			t.Errorf("%s half-time %+v, want step %v (interpolated)", what, h, step)
		}
		if !slices.Equal(s.Undefined, undefined) {
			t.Errorf("%s undefined at %v, want %v", what, s.Undefined, undefined)
		}
	}
	checkSeries("encoding", res.Encoding, []float64{0.4 / 7, 1.6 / 7, 0.4}, math.Pow(10, 1+5.0/6))
	// Spatial: at the first checkpoint every target's best layer is the first (no correlation:
	// undefined, 0); then depths 0, 0, 0.5, 0.5, 1, 1, 1 against distances 1, 1, 10, ..., 50:
	// Sxy = 135 - 4*152/7 = 337/7, Sxx = 3.5 - 16/7 = 8.5/7, Syy = 5502 - 152^2/7 = 15410/7, so
	// r = 337/sqrt(8.5*15410) (numpy.corrcoef: 0.931148865908194). Half of r is crossed half way
	// from 0 at step 10 to r at 100: 10^1.5.
	r := 337 / math.Sqrt(8.5*15410)
	if res.Spatial == nil {
		t.Fatalf("no spatial half-time (notes %v)", res.Notes)
	}
	checkSeries("spatial", *res.Spatial, []float64{0, r, r}, math.Pow(10, 1.5), "ckpt-10")
	// ROIs V1, V2, IT (target 6, of no ROI, in none): peaks V1 0.1, 0.4, 0.4 (half crossed 1/3
	// of the way from 10 to 100), V2 0.1, 0.25, 0.4 (2/3 of the way), IT 0, 0.1, 0.4 (1/3 of the
	// way from 100 to 1000); mean distances 1, 15 and 35 mm.
	want := []struct {
		name   string
		label  int
		values []float64
		step   float64
		dist   float64
	}{
		{"V1", 1, []float64{0.1, 0.4, 0.4}, math.Pow(10, 4.0/3), 1},
		{"V2", 2, []float64{0.1, 0.25, 0.4}, math.Pow(10, 5.0/3), 15},
		{"IT", 3, []float64{0, 0.1, 0.4}, math.Pow(10, 7.0/3), 35},
	}
	if len(res.ROI) != len(want) {
		t.Fatalf("ROI half-times %+v, want V1, V2, IT", res.ROI)
	}
	for k, w := range want {
		got := res.ROI[k]
		if got.Name != w.name || got.Label != w.label || !nearAll(got.Values, w.values, 1e-12) ||
			!near(got.HalfTime.Step, w.step, 1e-9*w.step) || got.MeanDistance == nil || !near(*got.MeanDistance, w.dist, 1e-12) {
			t.Errorf("ROI %d: %+v (distance %v), want %s (%d) values %v half-time %v distance %v", k, got, got.MeanDistance, w.name, w.label, w.values, w.step, w.dist)
		}
	}
	// Half-time fractions 10^(4/3)/1000, 10^(5/3)/1000, 10^(7/3)/1000 against 1, 15, 35 mm:
	// numpy.corrcoef gives r = 0.9541712167077105.
	if c := res.ROIDistance; c == nil || !near(c.R, 0.9541712167077105, 1e-12) || c.N != 3 {
		t.Errorf("ROI half-time vs distance %+v, want r 0.95417 over 3 ROIs", c)
	}
	if res.Temporal != nil || res.Windows != nil {
		t.Errorf("fMRI: temporal %+v, windows %+v", res.Temporal, res.Windows)
	}

	// MEG: encoding is the mean over 2 x 4 targets of the best layer's score: w amp at the three
	// times some layer peaks at, w amp / 10 at 0.3 s; at the first checkpoint w amp at 0.09 s
	// only. So 1.5 amp (1 + 0.3)/8 = 0.024375, then 1.5 amp 3.1/8 = 0.1453125, 0.2325; half of
	// 0.2325 is crossed (0.11625 - 0.024375)/(0.1453125 - 0.024375) = 98/129 of the way from 10.
	meg := []*sweep.Sweep{plantedMEG("sub-01", 0.01), plantedMEG("sub-02", -0.01)}
	res, err = sweep.HalfTimes(context.Background(), meg, noMask)
	if err != nil {
		t.Fatal(err)
	}
	checkSeries("MEG encoding", res.Encoding, []float64{0.024375, 0.1453125, 0.2325}, math.Pow(10, 1+98.0/129))
	// Temporal: T_max is the layer's peak time, 0.09, 0.14, 0.2 s (one time per layer): all
	// 0.09 s at the first checkpoint (undefined), then r of 0, 1, 2 against 0.09, 0.14, 0.2:
	// Sxy = 0.11, Sxx = 2, Syy = 0.0677 - 0.43^2/3 = 0.0182/3.
	rt := 0.11 / math.Sqrt(2*0.0182/3)
	if res.Temporal == nil {
		t.Fatal("no temporal half-time")
	}
	checkSeries("temporal", *res.Temporal, []float64{0, rt, rt}, math.Pow(10, 1.5), "ckpt-10")
	// The study's windows holding a time: [0.08, 0.13) s holds 0.09, [0.13, 0.18) holds 0.14,
	// [0.5, 0.55) none (left out). Each is the channel mean of the best score at its time:
	// 0.75 amp, but 0.075 amp at 0.14 s at the first checkpoint (all layers peak at 0.09).
	// Halves of 0.3 crossed (0.15 - 0.075)/(0.1875 - 0.075) = 2/3 and (0.15 - 0.0075)/0.18 =
	// 19/24 of the way from 10.
	wantW := []struct {
		w      metrics.Window
		values []float64
		step   float64
	}{
		{metrics.StudyWindows[0], []float64{0.075, 0.1875, 0.3}, math.Pow(10, 1+2.0/3)},
		{metrics.StudyWindows[1], []float64{0.0075, 0.1875, 0.3}, math.Pow(10, 1+19.0/24)},
	}
	if len(res.Windows) != len(wantW) {
		t.Fatalf("windows %+v, want the first two study windows", res.Windows)
	}
	for k, w := range wantW {
		got := res.Windows[k]
		if got.Window != w.w || !nearAll(got.Values, w.values, 1e-12) || !near(got.HalfTime.Step, w.step, 1e-9*w.step) || got.HalfTime.Error != "" {
			t.Errorf("window %d: %+v, want %v values %v half-time %v", k, got, w.w, w.values, w.step)
		}
	}
	// Windows given: each of them, in their order.
	given := noMask
	given.Windows = []metrics.Window{{Start: 0.13, End: 0.25}, {Start: 0, End: 0.1}}
	res, err = sweep.HalfTimes(context.Background(), meg, given)
	if err != nil {
		t.Fatal(err)
	}
	// [0.13, 0.25) holds 0.14 and 0.2 s: (0.075 amp0 at both, 0.75 amp after) -> 0.0075, 0.1875,
	// 0.3 averaged with 0.0075, 0.1875, 0.3 at 0.2 s (layer 2 peaks there).
	if len(res.Windows) != 2 || res.Windows[0].Window != given.Windows[0] || !nearAll(res.Windows[0].Values, []float64{0.0075, 0.1875, 0.3}, 1e-12) ||
		res.Windows[1].Window != given.Windows[1] || !nearAll(res.Windows[1].Values, []float64{0.075, 0.1875, 0.3}, 1e-12) {
		t.Errorf("windows given: %+v", res.Windows)
	}
}

// A spatial or temporal score undefined at the last checkpoint leaves its half-time undefined,
// saying why; no V1 ROI leaves the spatial half-time out with a note, unless a reference was
// asked for.
func TestHalfTimesUndefinedSeries(t *testing.T) {
	noMask := sweep.HalfTimeOptions{Mask: sweep.MaskOptions{Off: true}}
	g := []*sweep.Sweep{plantedFMRI("sub-01", 0.01), plantedFMRI("sub-02", -0.01)}
	for _, s := range g { // the last checkpoint as the first: every best layer the first
		copy(s.Scores[2*s.L*s.M:], s.Scores[:s.L*s.M])
	}
	res, err := sweep.HalfTimes(context.Background(), g, noMask)
	if err != nil {
		t.Fatal(err)
	}
	r := 337 / math.Sqrt(8.5*15410)
	if sp := res.Spatial; sp == nil || !nearAll(sp.Values, []float64{0, r, 0}, 1e-12) || !slices.Equal(sp.Undefined, []string{"ckpt-10", "ckpt-1000"}) ||
		!math.IsNaN(sp.HalfTime.Step) || !strings.Contains(sp.HalfTime.Error, "undefined at the last checkpoint, ckpt-1000") {
		t.Errorf("spatial undefined at the last checkpoint: %+v", sp)
	}
	// IT's targets below 0 at the last checkpoint: no half-time, and the error says why.
	g = []*sweep.Sweep{plantedFMRI("sub-01", 0.01), plantedFMRI("sub-02", -0.01)}
	for _, s := range g {
		for l := range 3 {
			s.Scores[(2*3+l)*7+4], s.Scores[(2*3+l)*7+5] = -0.1, -0.1
		}
	}
	res, err = sweep.HalfTimes(context.Background(), g, noMask)
	if err != nil || len(res.ROI) != 3 || !math.IsNaN(res.ROI[2].HalfTime.Step) || !strings.Contains(res.ROI[2].HalfTime.Error, "final value -0.1") {
		t.Errorf("IT below 0 at the end: %+v, %v", res.ROI, err)
	}
	// two ROIs with a half-time: no correlation with distance, said so
	if res.ROIDistance != nil || len(res.Notes) != 1 || !strings.HasPrefix(res.Notes[0], "no ROI half-time vs distance correlation: ") {
		t.Errorf("two ROI half-times: %+v, notes %q", res.ROIDistance, res.Notes)
	}
	g = []*sweep.Sweep{plantedFMRI("sub-01", 0.01), plantedFMRI("sub-02", -0.01)}
	for _, s := range g {
		s.Meta.ROINames = map[int]string{1: "LGN", 2: "V2", 3: "IT"}
	}
	res, err = sweep.HalfTimes(context.Background(), g, noMask)
	if err != nil || res.Spatial != nil || len(res.ROI) != 3 || len(res.Notes) != 1 || !strings.HasPrefix(res.Notes[0], `no spatial half-time: /sweeps/vit/sub-01: no ROI named "V1"`) {
		t.Errorf("no V1 ROI: spatial %+v, %d ROIs, notes %q, %v", res.Spatial, len(res.ROI), res.Notes, err)
	}
	asked := noMask
	asked.Spatial.V1ROI = "LGN2"
	if _, err := sweep.HalfTimes(context.Background(), g, asked); err == nil || !strings.Contains(err.Error(), `no ROI named "LGN2"`) {
		t.Errorf("--v1-roi of no ROI: %v", err)
	}
}

// Compare's per-subject encoding (the mean best-layer score over the targets significant for
// either model; mask off: all), paired by subject label whatever the folders' order, and the
// Wilcoxon test of the pairs.
func TestComparePlantedEncoding(t *testing.T) {
	off := sweep.MaskOptions{Off: true}
	a := []*sweep.Sweep{plantedSweep("sub-01", "vit", 0), plantedSweep("sub-02", "vit", 0.02), plantedSweep("sub-03", "vit", 0.04)}
	b := []*sweep.Sweep{plantedSweep("sub-03", "cnn", 0.07), plantedSweep("sub-02", "cnn", 0), plantedSweep("sub-01", "cnn", 0.01)}
	// At the last checkpoint every target's best layer is block2 (0.45): a subject's encoding is
	// 0.45 + shift + 0.025 (the mean of 0.01 t). Differences a - b: -0.01, 0.02, -0.03, ranks 1-,
	// 2+, 3-: T = min(2, 4) = 2, and 3 of the 8 sign patterns have W+ <= 2: p = 2 x 3/8.
	res, err := sweep.Compare(context.Background(), a, b, sweep.CompareOptions{Mask: off})
	if err != nil {
		t.Fatal(err)
	}
	if res.Metric != "encoding" || res.Pairing != "subject labels" || !slices.Equal(res.Subjects, []string{"sub-01", "sub-02", "sub-03"}) {
		t.Errorf("metric %q, pairing %q, subjects %v", res.Metric, res.Pairing, res.Subjects)
	}
	if len(res.Pairs) != 3 {
		t.Errorf("pairs %v", res.Pairs)
	}
	for i, p := range res.Pairs {
		if want := "/sweeps/cnn/" + res.Subjects[i]; p.A != "/sweeps/vit/"+res.Subjects[i] || p.B != want {
			t.Errorf("pair %d: %+v", i, p)
		}
	}
	if !nearAll(res.A, []float64{0.475, 0.495, 0.515}, 1e-12) || !nearAll(res.B, []float64{0.485, 0.475, 0.545}, 1e-12) {
		t.Errorf("encoding A %v, B %v", res.A, res.B)
	}
	if c := res.Test; c.Stat != 2 || !near(c.P, 0.75, 1e-12) || c.N != 3 || !near(c.MeanDiff, -0.02/3, 1e-12) {
		t.Errorf("test %+v, want T 2, p 0.75, mean difference -0.00667", c)
	}
	if len(res.Notes) != 1 || res.Notes[0] != "mean best-layer score over the 6 targets significant for either model" {
		t.Errorf("notes %q", res.Notes)
	}
	// Two checkpoints of one model: at ckpt-100 the best layer is block1 (0.2).
	res, err = sweep.Compare(context.Background(), a, a, sweep.CompareOptions{Mask: off, CheckpointA: "ckpt-100", CheckpointB: "-1"})
	if err != nil || !nearAll(res.A, []float64{0.225, 0.245, 0.265}, 1e-12) || !nearAll(res.B, []float64{0.475, 0.495, 0.515}, 1e-12) {
		t.Errorf("ckpt-100 vs the last: A %v, B %v, %v", res.A, res.B, err)
	}
	// Without subject labels, paired in order, and said so.
	for _, s := range append(slices.Clone(a), b...) {
		s.Subject = ""
	}
	for _, s := range b {
		s.Fingerprint = "other-options-" + s.Fingerprint
	}
	res, err = sweep.Compare(context.Background(), a, b, sweep.CompareOptions{Mask: off})
	if err != nil || res.Pairing != "order" || !nearAll(res.B, []float64{0.545, 0.475, 0.485}, 1e-12) || len(res.Notes) != 2 ||
		res.Notes[0] != "A sweeps have no subject labels; B sweeps have no subject labels: paired by order: /sweeps/vit/sub-01 ↔ /sweeps/cnn/sub-03, /sweeps/vit/sub-02 ↔ /sweeps/cnn/sub-02, /sweeps/vit/sub-03 ↔ /sweeps/cnn/sub-01" {
		t.Errorf("paired by order: pairing %q, B %v, notes %q, %v", res.Pairing, res.B, res.Notes, err)
	}
	// Two pairs in order: said so.
	res, err = sweep.Compare(context.Background(), a[:2], b[:2], sweep.CompareOptions{Mask: off})
	if err != nil || res.Pairing != "order" || len(res.Notes) != 2 || !strings.HasSuffix(res.Notes[0], "/sweeps/vit/sub-02 ↔ /sweeps/cnn/sub-02") {
		t.Errorf("two pairs in order: notes %q, %v", res.Notes, err)
	}
	// One pair cannot be mis-ordered: no note (and one difference: exact p 2 x 1/2).
	res, err = sweep.Compare(context.Background(), a[:1], b[:1], sweep.CompareOptions{Mask: off})
	if err != nil || res.Pairing != "order" || len(res.Notes) != 1 || res.Test.P != 1 {
		t.Errorf("one pair: %+v, %v", res, err)
	}
}

// Pairing refuses a model B's sweep of the same brain data as a model A's paired with another
// (labels or an order that name other subjects' data), and a subject without a sweep of B.
func TestPairingRefusals(t *testing.T) {
	a := []*sweep.Sweep{plantedSweep("sub-01", "vit", 0), plantedSweep("sub-02", "vit", 0)}
	b := []*sweep.Sweep{plantedSweep("sub-01", "cnn", 0), plantedSweep("sub-02", "cnn", 0)}
	if p, byLabel, err := sweep.Pairing(a, []*sweep.Sweep{b[1], b[0]}); err != nil || !byLabel || p[0] != b[0] || p[1] != b[1] {
		t.Errorf("by label: %v %v %v", p, byLabel, err)
	}
	b[0].Subject, b[1].Subject = "sub-02", "sub-01" // labels swapped: each data paired with the other's
	if _, _, err := sweep.Pairing(a, b); err == nil || !strings.Contains(err.Error(), "/sweeps/vit/sub-01 (model A) and /sweeps/cnn/sub-01 (model B) are sweeps of the same brain data, but by subject label the first is paired with /sweeps/cnn/sub-02") {
		t.Errorf("labels naming the other subject's data: %v", err)
	}
	for _, s := range append(slices.Clone(a), b...) {
		s.Subject = ""
	}
	if _, _, err := sweep.Pairing(a, []*sweep.Sweep{b[1], b[0]}); err == nil || !strings.Contains(err.Error(), "by their order the first is paired with /sweeps/cnn/sub-02") {
		t.Errorf("an order naming the other subject's data: %v", err)
	}
	if p, byLabel, err := sweep.Pairing(a, b); err != nil || byLabel || p[0] != b[0] {
		t.Errorf("in order: %v %v %v", p, byLabel, err)
	}
	a[0].Subject, a[1].Subject, b[0].Subject, b[1].Subject = "sub-01", "sub-02", "sub-01", "sub-03"
	if _, _, err := sweep.Pairing(a, b); err == nil || !strings.Contains(err.Error(), `subject "sub-02" (/sweeps/vit/sub-02) has no sweep for model B`) {
		t.Errorf("a subject without a sweep of B: %v", err)
	}
	b[1].Subject = "" // one unlabelled sweep: all paired in order
	if _, byLabel, err := sweep.Pairing(a, b); err != nil || byLabel {
		t.Errorf("one sweep unlabelled: by label %v, %v", byLabel, err)
	}
	note := sweep.OrderNote(a, b)
	if note != "1 of 2 B sweeps has no subject label (/sweeps/cnn/sub-02): paired by order: sub-01 ↔ sub-01, sub-02 ↔ /sweeps/cnn/sub-02" {
		t.Errorf("order note %q", note)
	}
	a[0].Subject, a[1].Subject = "", ""
	b[0].Subject = ""
	a = append(a, plantedSweep("sub-03", "vit", 0))
	b = append(b, plantedSweep("sub-03", "cnn", 0))
	if note := sweep.OrderNote(a, b); !strings.HasPrefix(note, "2 of 3 A sweeps have no subject label (/sweeps/vit/sub-01, /sweeps/vit/sub-02); 2 of 3 B sweeps have no subject label (/sweeps/cnn/sub-01, /sweeps/cnn/sub-02): paired by order: ") {
		t.Errorf("order note %q", note)
	}
}

// Compare's spatial and temporal metrics are each subject's own score (mask off): on the planted
// sweeps every subject's best layers are the table's, so each subject's r is the group's.
func TestComparePlantedSpatialTemporal(t *testing.T) {
	off := sweep.MaskOptions{Off: true}
	a := []*sweep.Sweep{plantedFMRI("sub-01", 0.01), plantedFMRI("sub-02", -0.01)}
	b := []*sweep.Sweep{plantedFMRI("sub-01", 0), plantedFMRI("sub-02", 0.02)}
	for _, s := range b {
		s.Model, s.Fingerprint = "cnn", "cnn-"+s.Fingerprint
		s.Dir = strings.Replace(s.Dir, "vit", "cnn", 1)
	}
	r := 337 / math.Sqrt(8.5*15410)
	res, err := sweep.Compare(context.Background(), a, b, sweep.CompareOptions{Metric: "spatial", Mask: off, CheckpointA: "ckpt-100", CheckpointB: "ckpt-10"})
	// B at ckpt-10: every best layer the first, no spatial score: an error naming the sweep.
	if err == nil || !strings.HasPrefix(err.Error(), "/sweeps/cnn/sub-01: ") {
		t.Errorf("spatial at a checkpoint without one: %+v, %v", res, err)
	}
	res, err = sweep.Compare(context.Background(), a, b, sweep.CompareOptions{Metric: "spatial", Mask: off, CheckpointA: "ckpt-100"})
	if err != nil || !nearAll(res.A, []float64{r, r}, 1e-12) || !nearAll(res.B, []float64{r, r}, 1e-12) || res.Test.P != 1 ||
		len(res.Notes) != 1 || res.Notes[0] != "each subject's target-level spatial r, over all targets (no significance mask)" {
		t.Errorf("spatial: %+v, %v", res, err)
	}
	am := []*sweep.Sweep{plantedMEG("sub-01", 0.01), plantedMEG("sub-02", -0.01)}
	bm := []*sweep.Sweep{plantedMEG("sub-01", 0), plantedMEG("sub-02", 0.02)}
	for _, s := range bm {
		s.Model, s.Fingerprint = "cnn", "cnn-"+s.Fingerprint
	}
	rt := 0.11 / math.Sqrt(2*0.0182/3)
	res, err = sweep.Compare(context.Background(), am, bm, sweep.CompareOptions{Metric: "temporal", CheckpointB: "ckpt-100"})
	if err != nil || !nearAll(res.A, []float64{rt, rt}, 1e-12) || !nearAll(res.B, []float64{rt, rt}, 1e-12) || len(res.Notes) != 1 || res.Notes[0] != "each subject's temporal r" {
		t.Errorf("temporal: %+v, %v", res, err)
	}
	if _, err := sweep.Compare(context.Background(), am, bm, sweep.CompareOptions{Metric: "temporal", CheckpointA: "ckpt-10"}); err == nil || !strings.HasPrefix(err.Error(), "/sweeps/vit-meg/sub-01: ") {
		t.Errorf("temporal at a checkpoint without one: %v", err)
	}
}

// A half-time's JSON writes an undefined (NaN) or infinite step or fraction as null.
func TestHalfTimeJSON(t *testing.T) {
	for _, v := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		b, err := json.Marshal(sweep.HalfTime{HalfTime: metrics.HalfTime{Step: v, Fraction: 0.5}, Error: "e"})
		if err != nil || string(b) != `{"step":null,"fraction":0.5,"interpolated":false,"error":"e"}` {
			t.Errorf("step %v: %s %v", v, b, err)
		}
	}
	b, err := json.Marshal(sweep.HalfTime{HalfTime: metrics.HalfTime{Step: 0, Fraction: math.NaN(), Interpolated: true}})
	if err != nil || string(b) != `{"step":0,"fraction":null,"interpolated":true}` {
		t.Errorf("step 0: %s %v", b, err)
	}
}

// Steps below 0 or infinite are refused, each checkpoint named.
func TestHalfTimesRefuseStepsOutOfRange(t *testing.T) {
	for _, steps := range [][3]float64{{-0.5, 100, 1000}, {-1, 100, 1000}, {10, 100, math.Inf(1)}} {
		g := []*sweep.Sweep{plantedFMRI("sub-01", 0.01), plantedFMRI("sub-02", -0.01)}
		for _, s := range g {
			for c := range 3 {
				st := steps[c]
				s.Checkpoints[c].Step = &st
			}
		}
		if _, err := sweep.HalfTimes(context.Background(), g, sweep.HalfTimeOptions{Mask: sweep.MaskOptions{Off: true}}); err == nil || !strings.Contains(err.Error(), "a half-time needs finite steps >= 0") {
			t.Errorf("steps %v: %v", steps, err)
		}
	}
}

// More of HalfTimes' paths on the planted sweeps: ROIs of unequal sizes (mean distances over
// each ROI's own targets), a temporal score undefined at the last checkpoint, a V1 reference
// whose targets lie on both sides of the midline (a note), one point given for two
// hemispheres (an error, as spatial's), no ROI label on any target (a note).
func TestHalfTimesMorePaths(t *testing.T) {
	noMask := sweep.HalfTimeOptions{Mask: sweep.MaskOptions{Off: true}}
	g := []*sweep.Sweep{plantedFMRI("sub-01", 0.01), plantedFMRI("sub-02", -0.01)}
	for _, s := range g {
		s.Meta.ROI = []int{1, 1, 2, 2, 3, 3, 3} // target 6 in IT: distances 30, 40, 50
	}
	res, err := sweep.HalfTimes(context.Background(), g, noMask)
	if err != nil || len(res.ROI) != 3 || *res.ROI[0].MeanDistance != 1 || *res.ROI[1].MeanDistance != 15 || *res.ROI[2].MeanDistance != 40 {
		t.Errorf("IT of 3 targets: %+v %v", res.ROI, err)
	}
	meg := []*sweep.Sweep{plantedMEG("sub-01", 0.01), plantedMEG("sub-02", -0.01)}
	for _, s := range meg { // the last checkpoint as the first: every layer peaks at 0.09 s
		for l := range 3 {
			for ch := range 2 {
				for i := range 4 {
					s.Scores[((2*3+l)*2+ch)*4+i] = s.Scores[((0*3+l)*2+ch)*4+i]
				}
			}
		}
	}
	res, err = sweep.HalfTimes(context.Background(), meg, noMask)
	if err != nil || res.Temporal == nil || !slices.Equal(res.Temporal.Undefined, []string{"ckpt-10", "ckpt-1000"}) ||
		!strings.Contains(res.Temporal.HalfTime.Error, "undefined at the last checkpoint, ckpt-1000") {
		t.Errorf("temporal undefined at the last checkpoint: %+v %v", res.Temporal, err)
	}
	g = []*sweep.Sweep{plantedFMRI("sub-01", 0.01), plantedFMRI("sub-02", -0.01)}
	for _, s := range g {
		s.Meta.Coords[0] = -2 // V1 at x = -2 and 2
	}
	res, err = sweep.HalfTimes(context.Background(), g, noMask)
	if err != nil || len(res.Notes) != 1 || !strings.HasPrefix(res.Notes[0], "the V1 ROI's targets lie in both hemispheres (1 at x < 0, 1 at x > 0)") {
		t.Errorf("V1 on both sides: notes %q, %v", res.Notes, err)
	}
	g = []*sweep.Sweep{plantedFMRI("sub-01", 0.01), plantedFMRI("sub-02", -0.01)}
	for _, s := range g {
		s.Meta.Parts = []sweep.TargetPart{{Name: "lh", Targets: 4}, {Name: "rh", Targets: 3}}
	}
	one := noMask
	one.Spatial.V1 = [][3]float64{{1, 0, 0}}
	if _, err := sweep.HalfTimes(context.Background(), g, one); err == nil || !strings.Contains(err.Error(), "give one per hemisphere") {
		t.Errorf("one point for two hemispheres: %v", err)
	}
	g = []*sweep.Sweep{plantedFMRI("sub-01", 0.01), plantedFMRI("sub-02", -0.01)}
	for _, s := range g {
		s.Meta.ROI = []int{-1, -1, -1, -1, -1, -1, -1}
	}
	one.Spatial.V1 = [][3]float64{{1, 0, 0}}
	res, err = sweep.HalfTimes(context.Background(), g, one)
	if err != nil || res.ROI != nil || res.Spatial == nil || len(res.Notes) != 1 || !strings.HasPrefix(res.Notes[0], "no ROI half-times: ") {
		t.Errorf("no target in an ROI: ROIs %+v, notes %q, %v", res.ROI, res.Notes, err)
	}
}

// Compare's encoding over the targets significant for either model (the union of the two
// masks), and the refusals: no target significant for either, a subject's score not finite.
func TestCompareEncodingMasks(t *testing.T) {
	noise := []float64{-0.1, 0.1, -0.05, 0.05, 0}
	var a, b, none []*sweep.Sweep
	for s := range 5 {
		d := 0.01 * float64(s)
		name := "sub-0" + string(rune('1'+s))
		a = append(a, maskSweep(name, 60, 0.6+d, noise[s], -0.6-d, 0.5+2*d)) // mask: targets 0, 3
		sb := maskSweep(name, 60, noise[s], 0.6+d, -0.6-d, 0.5+2*d)          // mask: targets 1, 3
		sb.Model = "cnn"
		b = append(b, sb)
		sn := maskSweep(name, 60, noise[s], noise[s], noise[s], noise[s])
		sn.Model = "cnn"
		none = append(none, sn)
	}
	res, err := sweep.Compare(context.Background(), a, b, sweep.CompareOptions{})
	if err != nil || len(res.Notes) != 1 || res.Notes[0] != "mean best-layer score over the 3 targets significant for either model" {
		t.Fatalf("%+v %v", res, err)
	}
	for s := range 5 { // over targets 0, 1, 3: (0.6 + d + noise + 0.5 + 2d)/3 for both models
		d := 0.01 * float64(s)
		if want := (1.1 + 3*d + noise[s]) / 3; !near(res.A[s], want, 1e-12) || !near(res.B[s], want, 1e-12) {
			t.Errorf("subject %d: %v, %v, want %v", s, res.A[s], res.B[s], want)
		}
	}
	if _, err := sweep.Compare(context.Background(), none, none, sweep.CompareOptions{}); err == nil || err.Error() != "no target is significant for either model" {
		t.Errorf("no target significant: %v", err)
	}
	a[2].Scores[1] = math.NaN()
	if _, err := sweep.Compare(context.Background(), a, b, sweep.CompareOptions{Mask: sweep.MaskOptions{Off: true}}); err == nil || !strings.Contains(err.Error(), "not both finite") {
		t.Errorf("a NaN score: %v", err)
	}
	// Spatial with each subject's own mask: held out (one test fold of 1000 rows each).
	fa := []*sweep.Sweep{plantedFMRI("sub-01", 0.01), plantedFMRI("sub-02", -0.01)}
	fb := []*sweep.Sweep{plantedFMRI("sub-01", 0), plantedFMRI("sub-02", 0.02)}
	for _, s := range append(slices.Clone(fa), fb...) {
		s.Options.FoldSizes = []int{1000}
	}
	for _, s := range fb {
		s.Model, s.Fingerprint = "cnn", "cnn-"+s.Fingerprint
	}
	res, err = sweep.Compare(context.Background(), fa, fb, sweep.CompareOptions{Metric: "spatial"})
	if err != nil || len(res.Notes) != 1 || res.Notes[0] != "each subject's target-level spatial r, with its own significance mask (heldout)" {
		t.Errorf("spatial, masked: %+v %v", res, err)
	}
}

// HalfTimes masks the targets at the last checkpoint (5 subjects: replicates across subjects),
// and refuses a group whose last checkpoint has no significant target.
func TestHalfTimesMaskOfTheLastCheckpoint(t *testing.T) {
	noise := []float64{-0.1, 0.1, -0.05, 0.05, 0}
	group := func(last func(s int) [4]float64) []*sweep.Sweep {
		var g []*sweep.Sweep
		for s := range 5 {
			d := 0.01 * float64(s)
			// first checkpoint: targets 1 and 3 significant; the last: last(s)
			sw := maskSweep("sub-0"+string(rune('1'+s)), 60, noise[s], 0.6+d, noise[s], 0.2+d)
			v := last(s)
			sw.Scores = append(sw.Scores, append(v[:], v[:]...)...)
			st0, st1 := 10.0, 100.0
			sw.C, sw.Checkpoints = 2, []sweep.CheckpointInfo{{Name: "ckpt-10", Step: &st0}, {Name: "ckpt-100", Step: &st1}}
			sw.Meta.ROI, sw.Meta.ROINames = []int{1, 1, 2, 2}, map[int]string{1: "V1", 2: "IT"}
			sw.Meta.Coords = []float64{0, 0, 0, 2, 0, 0, 10, 0, 0, 20, 0, 0}
			g = append(g, sw)
		}
		return g
	}
	g := group(func(s int) [4]float64 {
		d := 0.01 * float64(s)
		return [4]float64{0.6 + d, noise[s], noise[s], 0.5 + 2*d} // targets 0 and 3 significant
	})
	res, err := sweep.HalfTimes(context.Background(), g, sweep.HalfTimeOptions{})
	// Over targets 0 and 3, subject means (the noise averages 0, d 0.02): (0 + 0.22)/2, then
	// (0.62 + 0.54)/2.
	if err != nil || res.Mask.Replicates != "subjects" || !slices.Equal(res.Mask.Keep, []bool{true, false, false, true}) || !nearAll(res.Encoding.Values, []float64{0.11, 0.58}, 1e-12) {
		t.Errorf("mask %+v, encoding %v, %v", res.Mask, res.Encoding.Values, err)
	}
	// 2 targets masked: no spatial score at any checkpoint
	if res.Spatial == nil || !slices.Equal(res.Spatial.Undefined, []string{"ckpt-10", "ckpt-100"}) || !slices.Equal(res.Spatial.Values, []float64{0, 0}) {
		t.Errorf("spatial over 2 targets: %+v", res.Spatial)
	}
	g = group(func(s int) [4]float64 { return [4]float64{noise[s], noise[s], noise[s], noise[s]} })
	if _, err := sweep.HalfTimes(context.Background(), g, sweep.HalfTimeOptions{}); err == nil || !strings.Contains(err.Error(), "no target passes the significance mask at the last checkpoint") {
		t.Errorf("none significant at the last checkpoint: %v", err)
	}
}
