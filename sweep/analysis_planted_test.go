package sweep_test

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/brainalign/brainalign/metrics"
	"github.com/brainalign/brainalign/sweep"
)

// spatialSweep is a sweep of one checkpoint and 2 layers whose target t lies at coords[t] and
// scores 0.5 at layer best[t], 0.1 at the other.
func spatialSweep(subject string, coords [][3]float64, roi, best []int) *sweep.Sweep {
	m := len(coords)
	s := &sweep.Sweep{Dir: "/sweeps/vit/" + subject, C: 1, L: 2, M: m, F: 1}
	s.Model, s.Subject, s.Targets, s.Trailing, s.Fingerprint = "vit", subject, m, []int{m}, "fp-"+subject
	s.Layers = []string{"early", "late"}
	s.Checkpoints = []sweep.CheckpointInfo{{Name: "final"}}
	s.Meta.ROI, s.Meta.ROINames = roi, map[int]string{1: "V1", 2: "IT"}
	for _, c := range coords {
		s.Meta.Coords = append(s.Meta.Coords, c[:]...)
	}
	for l := range 2 {
		for t := range m {
			v := 0.1
			if best[t] == l {
				v = 0.5
			}
			s.Scores = append(s.Scores, v)
		}
	}
	return s
}

// Spatial on the planted fMRI sweeps (halftime_planted_test.go) at the last checkpoint, against
// values derived by hand.
func TestSpatialPlanted(t *testing.T) {
	g := []*sweep.Sweep{plantedFMRI("sub-01", 0.01), plantedFMRI("sub-02", -0.01)}
	off := sweep.MaskOptions{Off: true}
	res, err := sweep.Spatial(g, sweep.SpatialOptions{Checkpoint: 2, Mask: off})
	if err != nil {
		t.Fatal(err)
	}
	// Depths 0, 0, 0.5, 0.5, 1, 1, 1 against distances 1, 1, 10, 20, 30, 40, 50 from V1's
	// centroid (1, 0, 0): r = 337/sqrt(8.5*15410) (TestHalfTimesPlantedValues), and the least
	// squares line of distance on depth has slope Sxy/Sxx = (337/7)/(8.5/7) and passes through
	// the means (4/7, 152/7).
	r, slope := 337/math.Sqrt(8.5*15410), 337/8.5
	if res.Checkpoint != "ckpt-1000" || res.RefFrom != "centroid of ROI V1" || res.Ref == nil || *res.Ref != [3]float64{1, 0, 0} || res.PartRefs != nil {
		t.Errorf("checkpoint %s, reference %v from %q (parts %v)", res.Checkpoint, res.Ref, res.RefFrom, res.PartRefs)
	}
	if !near(res.Target.R, r, 1e-12) || res.Target.N != 7 || !near(res.Slope, slope, 1e-9) || !near(res.Intercept, 152.0/7-slope*4/7, 1e-9) {
		t.Errorf("target level %+v, slope %v, intercept %v; want r %v, slope %v", res.Target, res.Slope, res.Intercept, r, slope)
	}
	if !nearAll(res.Depth, []float64{0, 0, 0.5, 0.5, 1, 1, 1}, 0) || !nearAll(res.Distance, []float64{1, 1, 10, 20, 30, 40, 50}, 1e-12) {
		t.Errorf("depths %v, distances %v", res.Depth, res.Distance)
	}
	// ROI level over V1, V2, IT (target 6, of no ROI, left out): mean depths 0, 0.5, 1 against
	// mean distances 1, 15, 35: Sxy = 17, Sxx = 0.5, Syy = 584, r = 17/sqrt(292).
	if roi := res.ROI; roi == nil || !slices.Equal(roi.Names, []string{"V1", "V2", "IT"}) || !slices.Equal(roi.Count, []int{2, 2, 2}) ||
		!nearAll(roi.MeanDepth, []float64{0, 0.5, 1}, 0) || !nearAll(roi.MeanDistance, []float64{1, 15, 35}, 1e-12) || !near(roi.R, 17/math.Sqrt(292), 1e-12) {
		t.Errorf("ROI level %+v", res.ROI)
	}
	if len(res.Subjects) != 2 || res.Subjects[1].Subject != "sub-02" || !near(res.Subjects[0].R, r, 1e-12) || !near(res.Subjects[1].R, r, 1e-12) || res.Subjects[1].N != 7 {
		t.Errorf("subjects %+v", res.Subjects)
	}
	for _, c := range []int{-1, 3} {
		if _, err := sweep.Spatial(g, sweep.SpatialOptions{Checkpoint: c, Mask: off}); err == nil || !strings.Contains(err.Error(), "out of range (3 checkpoints)") {
			t.Errorf("checkpoint %d: %v", c, err)
		}
	}
	if res, err := sweep.Spatial(g, sweep.SpatialOptions{Checkpoint: 0, Mask: off}); err == nil || !strings.Contains(err.Error(), "constant") {
		t.Errorf("first checkpoint, every best layer the first: %+v %v", res, err)
	}
}

// Targets joined from two hemispheres are each measured from their own hemisphere's V1.
func TestSpatialHemispheres(t *testing.T) {
	// lh: V1 at x = -10, -12 (centroid -11, 0, 0), IT at (-11, 5, 0) and (-11, 9, 0); rh: V1 at
	// 10, 12 (centroid 11, 0, 0), IT at (11, 3, 0), (11, 7, 0). Distances 1, 1, 5, 9, 1, 1, 3, 7
	// against depths 0, 0, 1, 1, 0, 0, 1, 1: Sxy = 24 - 4*28/8 = 10, Sxx = 2, Syy = 168 - 98, so
	// r = 10/sqrt(140).
	coords := [][3]float64{{-10, 0, 0}, {-12, 0, 0}, {-11, 5, 0}, {-11, 9, 0}, {10, 0, 0}, {12, 0, 0}, {11, 3, 0}, {11, 7, 0}}
	s := spatialSweep("sub-01", coords, []int{1, 1, 2, 2, 1, 1, 2, 2}, []int{0, 0, 1, 1, 0, 0, 1, 1})
	s.Meta.Parts = []sweep.TargetPart{{Name: "lh", Targets: 4}, {Name: "rh", Targets: 4}}
	res, err := sweep.Spatial([]*sweep.Sweep{s}, sweep.SpatialOptions{Mask: sweep.MaskOptions{Off: true}})
	if err != nil {
		t.Fatal(err)
	}
	want := []sweep.PartRef{{Part: "lh", Point: [3]float64{-11, 0, 0}}, {Part: "rh", Point: [3]float64{11, 0, 0}}}
	if res.Ref != nil || !slices.Equal(res.PartRefs, want) || res.RefFrom != "centroid of ROI V1 in each hemisphere" {
		t.Errorf("references %v %v from %q, want %v", res.Ref, res.PartRefs, res.RefFrom, want)
	}
	if !nearAll(res.Distance, []float64{1, 1, 5, 9, 1, 1, 3, 7}, 1e-12) || !near(res.Target.R, 10/math.Sqrt(140), 1e-12) {
		t.Errorf("distances %v, r %v, want r %v", res.Distance, res.Target.R, 10/math.Sqrt(140))
	}
	// One point per hemisphere given.
	res, err = sweep.Spatial([]*sweep.Sweep{s}, sweep.SpatialOptions{Mask: sweep.MaskOptions{Off: true}, V1: [][3]float64{{-11, 5, 0}, {11, 7, 0}}})
	if err != nil || res.RefFrom != "given" || !nearAll(res.Distance, []float64{math.Sqrt(26), math.Sqrt(26), 0, 4, math.Sqrt(50), math.Sqrt(50), 4, 0}, 1e-12) {
		t.Errorf("points given: %v from %q, %v", res.Distance, res.RefFrom, err)
	}
	if _, err := sweep.Spatial([]*sweep.Sweep{s}, sweep.SpatialOptions{Mask: sweep.MaskOptions{Off: true}, V1: [][3]float64{{0, 0, 0}}}); err == nil || !strings.Contains(err.Error(), "give one per hemisphere") {
		t.Errorf("one point for two hemispheres: %v", err)
	}
}

// One V1 centroid for targets on both sides of the midline is warned of when each side holds at
// least a tenth of the ROI's targets (a target at x = 0 on neither).
func TestSpatialBothHemispheresWarning(t *testing.T) {
	sweepOf := func(v1x ...float64) *sweep.Sweep {
		var coords [][3]float64
		var roi, best []int
		for _, x := range v1x {
			coords, roi, best = append(coords, [3]float64{x, 0, 0}), append(roi, 1), append(best, 0)
		}
		for _, y := range []float64{20, 40, 60} {
			coords, roi, best = append(coords, [3]float64{30, y, 0}), append(roi, 2), append(best, 1)
		}
		best[len(best)-1] = 0 // depths vary among the IT targets too
		return spatialSweep("sub-01", coords, roi, best)
	}
	off := sweep.MaskOptions{Off: true}
	res, err := sweep.Spatial([]*sweep.Sweep{sweepOf(-1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9)}, sweep.SpatialOptions{Mask: off})
	if err != nil || len(res.Warnings) != 1 || !strings.HasPrefix(res.Warnings[0], "the V1 ROI's targets lie in both hemispheres (1 at x < 0, 9 at x > 0)") {
		t.Errorf("1 of 10 on the left: warnings %q, %v", res.Warnings, err)
	}
	res, err = sweep.Spatial([]*sweep.Sweep{sweepOf(-1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10)}, sweep.SpatialOptions{Mask: off})
	if err != nil || res.Warnings != nil {
		t.Errorf("1 of 11 on the left: warnings %q, %v", res.Warnings, err)
	}
}

// Temporal on the planted MEG sweeps at the last checkpoint: T_max is each layer's peak time.
func TestTemporalPlanted(t *testing.T) {
	g := []*sweep.Sweep{plantedMEG("sub-01", 0.01), plantedMEG("sub-02", -0.01)}
	res, err := sweep.Temporal(g, sweep.TemporalOptions{Checkpoint: 2})
	if err != nil {
		t.Fatal(err)
	}
	rt := 0.11 / math.Sqrt(2*0.0182/3) // TestHalfTimesPlantedValues
	if res.Checkpoint != "ckpt-1000" || res.Channels != 2 || !near(res.Score.R, rt, 1e-12) || !nearAll(res.TMax, []float64{0.09, 0.14, 0.2}, 1e-12) {
		t.Errorf("checkpoint %s, %d channels, r %v, T_max %v", res.Checkpoint, res.Channels, res.Score.R, res.TMax)
	}
	// The study's windows holding a time: [0.08, 0.13) s, where layer 0 peaks, [0.13, 0.18) s,
	// where layer 1 does.
	if len(res.Windows) != 2 || res.Windows[0].Layer != 0 || res.Windows[1].Layer != 1 || res.Windows[1].Window != metrics.StudyWindows[1] {
		t.Errorf("windows %+v", res.Windows)
	}
	if len(res.Subjects) != 2 || !near(res.Subjects[0].R, rt, 1e-12) || !near(res.Subjects[1].R, rt, 1e-12) || res.Subjects[1].N != 3 {
		t.Errorf("subjects %+v", res.Subjects)
	}
	for _, tc := range []struct {
		o    sweep.TemporalOptions
		want string
	}{
		{sweep.TemporalOptions{Checkpoint: 3}, "checkpoint 3 out of range (3 checkpoints)"},
		{sweep.TemporalOptions{Checkpoint: -1}, "checkpoint -1 out of range"},
		{sweep.TemporalOptions{Checkpoint: 2, Windows: []metrics.Window{{Start: 1, End: 2}}}, "window [1, 2) holds no time point (times run from 0.09 to 0.3 s)"},
		{sweep.TemporalOptions{Checkpoint: 2, Times: []float64{0, 0.1}}, "2 time points, but /sweeps/vit-meg/sub-01 has 4 along its last axis"},
		{sweep.TemporalOptions{Checkpoint: 2, Times: []float64{0, 0.1, 0.2}}, "3 time points do not divide the 8 targets"},
	} {
		if _, err := sweep.Temporal(g, tc.o); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.o, err, tc.want)
		}
	}
	// One window given, holding 0.14 and 0.2 s: layers 1 and 2 tie (0.165), the first taken.
	res, err = sweep.Temporal(g, sweep.TemporalOptions{Checkpoint: 2, Windows: []metrics.Window{{Start: 0.1, End: 0.25}}})
	if err != nil || len(res.Windows) != 1 || res.Windows[0].Layer != 1 {
		t.Errorf("one window of two times: %+v %v", res.Windows, err)
	}
	if err := sweep.CheckWindows(nil, []metrics.Window{{Start: 1, End: 2}}); err != nil {
		t.Errorf("windows without times to check: %v", err)
	}
}

// maskSweep is one subject's sweep of one checkpoint, 2 layers and 4 targets scoring v[t] at
// both layers, with a fixed test set of rows rows.
func maskSweep(subject string, rows int, v ...float64) *sweep.Sweep {
	s := &sweep.Sweep{Dir: "/sweeps/vit/" + subject, C: 1, L: 2, M: 4, F: 1}
	s.Model, s.Subject, s.Targets, s.Trailing, s.Fingerprint = "vit", subject, 4, []int{4}, "fp-"+subject
	s.Layers = []string{"early", "late"}
	s.Checkpoints = []sweep.CheckpointInfo{{Name: "final"}}
	s.Options.FoldSizes = []int{rows}
	s.Scores = append(append(s.Scores, v...), v...)
	return s
}

// The mask's replicates as chosen (5 subjects and more: subjects; fewer, of one fold: held out),
// keeping the targets significantly above 0, not those significantly below, and the default
// FDR reported.
func TestSignificanceMaskReplicates(t *testing.T) {
	// Target 0 about 0.6, 1 about 0, 2 about -0.6, 3 about 0.5 in every subject.
	var g []*sweep.Sweep
	noise := []float64{-0.1, 0.1, -0.05, 0.05, 0}
	for s := range 5 {
		d := 0.01 * float64(s)
		g = append(g, maskSweep("sub-0"+string(rune('1'+s)), 60-5*s, 0.6+d, noise[s], -0.6-d, 0.5+2*d))
	}
	m, err := sweep.SignificanceMask(g, 0, sweep.MaskOptions{})
	if err != nil || m.Replicates != "subjects" || m.N != 5 || m.FDR != metrics.DefaultFDR || !slices.Equal(m.Keep, []bool{true, false, false, true}) || m.Significant != 2 || m.Targets != 4 {
		t.Errorf("5 subjects: %+v %v", m, err)
	}
	// 4 subjects of one test fold each: the subject-mean tested as a Pearson r over the smallest
	// test fold's rows (45).
	m, err = sweep.SignificanceMask(g[:4], 0, sweep.MaskOptions{FDR: 0.05})
	if err != nil || m.Replicates != "heldout" || m.N != 45 || m.FDR != 0.05 || !slices.Equal(m.Keep, []bool{true, false, false, true}) || m.Significant != 2 {
		t.Errorf("4 subjects of one fold: %+v %v", m, err)
	}
	if _, err := sweep.SignificanceMask(g[:1], 0, sweep.MaskOptions{Replicates: "subjects"}); err == nil || !strings.Contains(err.Error(), "needs at least 2 subjects' sweeps, got 1") {
		t.Errorf("subjects of one sweep: %v", err)
	}
	if m, err := sweep.SignificanceMask(g[:2], 0, sweep.MaskOptions{Replicates: "subjects"}); err != nil || m.N != 2 {
		t.Errorf("subjects of two sweeps: %+v %v", m, err)
	}
	// The FDR given is kept, 0 is the default, in either path.
	if m, err := sweep.SignificanceMask(g, 0, sweep.MaskOptions{FDR: 0.05}); err != nil || m.FDR != 0.05 {
		t.Errorf("subjects, FDR 0.05: %+v %v", m, err)
	}
	if m, err := sweep.SignificanceMask(g[:4], 0, sweep.MaskOptions{}); err != nil || m.FDR != metrics.DefaultFDR {
		t.Errorf("held out, FDR 0: %+v %v", m, err)
	}
	// The score tested is the layer mean: a target at 0.6 + d in one layer and -0.6 - d in the
	// other averages 0, significant in neither direction; one at 1.2 + 2d and 0 averages as
	// target 0 did.
	for _, s := range g {
		s.Scores[4+0] = -s.Scores[0]
		s.Scores[3], s.Scores[4+3] = 2*s.Scores[3], 0
	}
	for _, n := range []int{5, 4} {
		if m, err := sweep.SignificanceMask(g[:n], 0, sweep.MaskOptions{}); err != nil || !slices.Equal(m.Keep, []bool{false, false, false, true}) {
			t.Errorf("%d subjects, layers apart: %+v %v", n, m, err)
		}
	}
	m, err = sweep.SignificanceMask(g[:2], 0, sweep.MaskOptions{Off: true})
	if err != nil || m.Replicates != "none" || m.Significant != 4 || !slices.Equal(m.Keep, []bool{true, true, true, true}) {
		t.Errorf("off: %+v %v", m, err)
	}
}

// CheckGroup: subjects of one model need the same folds and the same steps where both know
// them, and the same parts; a sweep without a model label is taken as any.
func TestCheckGroupMismatches(t *testing.T) {
	if err := sweep.CheckGroup(nil); err == nil || err.Error() != "no sweeps given" {
		t.Errorf("no sweeps: %v", err)
	}
	a, b := plantedSweep("sub-01", "vit", 0), plantedSweep("sub-02", "vit", 0)
	a.Model = ""
	if err := sweep.CheckGroup([]*sweep.Sweep{a, b}); err != nil {
		t.Errorf("an unlabelled sweep first: %v", err)
	}
	b.F = 3
	if err := sweep.CheckGroup([]*sweep.Sweep{a, b}); err == nil || !strings.Contains(err.Error(), "3 folds) does not match") {
		t.Errorf("other folds: %v", err)
	}
	b = plantedSweep("sub-02", "vit", 0)
	b.Checkpoints[1].Step = nil
	if err := sweep.CheckGroup([]*sweep.Sweep{a, b}); err != nil {
		t.Errorf("steps unknown for one: %v", err)
	}
	if err := sweep.CheckGroup([]*sweep.Sweep{b, a}); err != nil {
		t.Errorf("steps unknown for the first: %v", err)
	}
	other := 2000.0
	b.Checkpoints[1].Step = &other
	if err := sweep.CheckGroup([]*sweep.Sweep{a, b}); err == nil || !strings.Contains(err.Error(), "checkpoint ckpt-1000 is at step 2000") {
		t.Errorf("other steps: %v", err)
	}
	b = plantedSweep("sub-02", "vit", 0)
	a.Meta.Parts = []sweep.TargetPart{{Name: "lh", Targets: 3}, {Name: "rh", Targets: 3}}
	if err := sweep.CheckGroup([]*sweep.Sweep{a, b}); err != nil {
		t.Errorf("parts known for one: %v", err)
	}
	b.Meta.Parts = []sweep.TargetPart{{Name: "rh", Targets: 3}, {Name: "lh", Targets: 3}}
	if err := sweep.CheckGroup([]*sweep.Sweep{a, b}); err == nil || !strings.Contains(err.Error(), "joins its targets from lh (3) + rh (3), /sweeps/vit/sub-02 from rh (3) + lh (3)") {
		t.Errorf("parts in another order: %v", err)
	}
}
