package sweep_test

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/brainalign/brainalign/engine"
	"github.com/brainalign/brainalign/fallback"
	"github.com/brainalign/brainalign/internal/crashpoint/crashtest"
	"github.com/brainalign/brainalign/sweep"
	"github.com/brainalign/brainalign/synth"
)

type studyRun struct {
	ds        *synth.Dataset
	fmri, meg []*sweep.Sweep
}

var (
	studyOnce sync.Once
	studyRes  *studyRun
	studyErr  error
	studyDir  string // removed when the test binary ends (TestMain)
)

func TestMain(m *testing.M) {
	if crashtest.Child(crashChildMain) { // a child process of the crash tests: runs and exits
		return
	}
	code := m.Run()
	if studyDir != "" {
		os.RemoveAll(studyDir)
	}
	os.Exit(code)
}

// crashChildMain runs, in a child process of the crash tests, "merge DIR": MergeTables of DIR.
func crashChildMain(args []string) int {
	if len(args) != 2 || args[0] != "merge" {
		fmt.Fprintf(os.Stderr, "crash child: %q\n", args)
		return 2
	}
	if _, err := sweep.MergeTables(context.Background(), args[1], nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// runStudy sweeps every subject's fMRI and MEG data over all checkpoints and layers, once per
// test binary.
func runStudy(t *testing.T) *studyRun {
	t.Helper()
	studyOnce.Do(func() {
		dir, err := mkdirTemp()
		if err != nil {
			studyErr = err
			return
		}
		studyDir = dir
		studyRes, studyErr = sweepStudy(synth.Small(), dir)
	})
	if studyErr != nil {
		t.Fatal(studyErr)
	}
	return studyRes
}

func sweepStudy(cfg synth.Config, dir string) (*studyRun, error) {
	ds, err := synth.Generate(cfg)
	if err != nil {
		return nil, err
	}
	m := ds.Model
	plan := sweep.ModelPlan("synth", m.LayerNames, m.Steps, m.Activations)
	out := &studyRun{ds: ds}
	var megTimes = ds.MEG.Times
	for s := 0; s < cfg.Subjects; s++ {
		for _, kind := range []string{"fmri", "meg"} {
			var y engine.Matrix
			var meta sweep.Meta
			trailing := []int{cfg.FMRI.Targets}
			if kind == "fmri" {
				y = ds.FMRI.Subjects[s].Data
				meta.Coords = ds.FMRI.Subjects[s].Coords.F64
				meta.ROI = ds.FMRI.ROI
				meta.ROINames = map[int]string{}
				for i, n := range ds.FMRI.ROINames {
					meta.ROINames[i] = n
				}
			} else {
				y = ds.MEG.Subjects[s]
				meta.Times = megTimes
				trailing = []int{ds.MEG.Channels, len(megTimes)}
			}
			opts, err := engine.Defaults(y.Rows)
			if err != nil {
				return nil, err
			}
			sess, err := fallback.New().Open(y, opts)
			if err != nil {
				return nil, err
			}
			d := filepath.Join(dir, kind, fmt.Sprintf("sub-%02d", s+1))
			_, err = sweep.Run(context.Background(), sweep.Config{Dir: d, Plan: plan, Session: sess, Options: opts,
				Brain: sweep.BrainInfo{Path: "synthetic", Shape: append([]int{y.Rows}, trailing...), DType: "float32"},
				Rows:  y.Rows, Trailing: trailing, Fingerprint: sweep.Fingerprint(y, opts), Subject: fmt.Sprintf("sub-%02d", s+1), Meta: meta})
			sess.Close()
			if err != nil {
				return nil, err
			}
			sw, err := sweep.Load(d)
			if err != nil {
				return nil, err
			}
			if kind == "fmri" {
				out.fmri = append(out.fmri, sw)
			} else {
				out.meg = append(out.meg, sw)
			}
		}
	}
	return out, nil
}

// logDiff is |log10(a/b)|, the distance of two steps in decades.
func logDiff(a, b float64) float64 { return math.Abs(math.Log10(a / b)) }

func TestPlantedSpatial(t *testing.T) {
	r := runStudy(t)
	tr := r.ds.Truth
	last := len(tr.Steps) - 1
	sp, err := sweep.Spatial(r.fmri, sweep.SpatialOptions{Checkpoint: last})
	if err != nil {
		t.Fatal(err)
	}
	// The V1 reference comes from the V1 ROI's centroid, within ~1 mm of the planted point.
	if d := math.Hypot(math.Hypot(sp.Ref[0]-r.ds.FMRI.V1Ref[0], sp.Ref[1]-r.ds.FMRI.V1Ref[1]), sp.Ref[2]-r.ds.FMRI.V1Ref[2]); !(d <= 3) {
		t.Errorf("V1 centroid %v is %.1f mm from the planted reference %v", sp.Ref, d, r.ds.FMRI.V1Ref)
	}
	// Tolerance 0.05: measured 0.938 recovered vs 0.946 planted.
	if !(math.Abs(sp.Target.R-tr.FMRI.SpatialR) <= 0.05) {
		t.Errorf("spatial r %.3f, planted %.3f (tolerance 0.05)", sp.Target.R, tr.FMRI.SpatialR)
	}
	if !(sp.Target.P <= 1e-10) {
		t.Errorf("spatial p %g", sp.Target.P)
	}
	if sp.ROI == nil || len(sp.ROI.Names) != 6 || sp.ROI.Names[0] != "V1" || !(sp.ROI.R >= 0.9) {
		t.Errorf("ROI-level spatial score %+v, want 6 ROIs from V1 with r >= 0.9", sp.ROI)
	}
	for _, s := range sp.Subjects {
		if !(math.Abs(s.R-tr.FMRI.SpatialR) <= 0.1) {
			t.Errorf("subject %s: spatial r %.3f, planted %.3f (tolerance 0.1)", s.Subject, s.R, tr.FMRI.SpatialR)
		}
	}
}

func TestPlantedTemporal(t *testing.T) {
	r := runStudy(t)
	tr := r.ds.Truth
	tp, err := sweep.Temporal(r.meg, sweep.TemporalOptions{Checkpoint: len(tr.Steps) - 1})
	if err != nil {
		t.Fatal(err)
	}
	// Measured 0.980 vs planted 0.975; T_max per layer within one sample or two (0.05 s each).
	if !(math.Abs(tp.Score.R-tr.MEG.TemporalR) <= 0.05) {
		t.Errorf("temporal r %.3f, planted %.3f (tolerance 0.05)", tp.Score.R, tr.MEG.TemporalR)
	}
	for l, v := range tp.TMax {
		if !(math.Abs(v-tr.MEG.TMax[l]) <= 0.1) {
			t.Errorf("layer %d: T_max %.3f s, planted %.3f s (tolerance 0.1 s)", l, v, tr.MEG.TMax[l])
		}
	}
	if len(tp.Windows) != 3 {
		t.Fatalf("%d study windows, want 3", len(tp.Windows))
	}
	if !(tp.Windows[0].Layer <= tp.Windows[1].Layer && tp.Windows[1].Layer < tp.Windows[2].Layer) {
		t.Errorf("best layers per window %d, %d, %d: want later windows deeper", tp.Windows[0].Layer, tp.Windows[1].Layer, tp.Windows[2].Layer)
	}
}

func TestPlantedHalfTimes(t *testing.T) {
	r := runStudy(t)
	tr := r.ds.Truth
	ht, err := sweep.HalfTimes(context.Background(), r.fmri, sweep.HalfTimeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Measured: encoding 0.05 decades late, ROIs 0.02-0.14 decades late (weak early scores are
	// pulled to chance); see synth's documentation for why.
	if d := logDiff(ht.Encoding.HalfTime.Step, tr.FMRI.HalfTime); !(d <= 0.2) {
		t.Errorf("fMRI encoding half-time %.0f, planted %.0f: %.2f decades apart (tolerance 0.2)", ht.Encoding.HalfTime.Step, tr.FMRI.HalfTime, d)
	}
	if len(ht.ROI) != 6 {
		t.Fatalf("%d ROI half-times, want 6", len(ht.ROI))
	}
	for k, roi := range ht.ROI {
		if d := logDiff(roi.HalfTime.Step, tr.FMRI.ROIHalfTime[roi.Label]); !(d <= 0.25) {
			t.Errorf("ROI %s (%d): half-time %.0f, planted %.0f: %.2f decades apart (tolerance 0.25)", roi.Name, k, roi.HalfTime.Step, tr.FMRI.ROIHalfTime[roi.Label], d)
		}
	}
	if ht.ROIDistance == nil || !(ht.ROIDistance.R >= 0.8) {
		t.Errorf("ROI half-time vs distance: %+v, want r >= 0.8 (planted: later with distance)", ht.ROIDistance)
	}
	if ht.Spatial == nil || ht.Spatial.HalfTime.Error != "" {
		t.Errorf("no spatial half-time: %+v", ht.Spatial)
	}
	hm, err := sweep.HalfTimes(context.Background(), r.meg, sweep.HalfTimeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if d := logDiff(hm.Encoding.HalfTime.Step, tr.MEG.HalfTime); !(d <= 0.2) {
		t.Errorf("MEG encoding half-time %.0f, planted %.0f: %.2f decades apart (tolerance 0.2)", hm.Encoding.HalfTime.Step, tr.MEG.HalfTime, d)
	}
	if hm.Temporal == nil {
		t.Fatal("no temporal series for MEG")
	}
	T := len(r.ds.MEG.Times)
	for _, w := range hm.Windows {
		var ts []int
		for j, k := range tr.MEG.Layer {
			if tm := r.ds.MEG.Times[j%T]; k >= 0 && tm >= w.Start && tm < w.End {
				ts = append(ts, j)
			}
		}
		want := tr.MEGHalfTime(ts, synth.Best)
		if d := logDiff(w.HalfTime.Step, want); !(d <= 0.3) {
			t.Errorf("window [%g, %g): half-time %.0f, planted %.0f: %.2f decades apart (tolerance 0.3)", w.Start, w.End, w.HalfTime.Step, want, d)
		}
	}
}

func TestFDRMaskKeepsNoiseOut(t *testing.T) {
	r := runStudy(t)
	tr := r.ds.Truth
	last := len(tr.Steps) - 1
	const q = 0.01
	check := func(name string, g []*sweep.Sweep, noise func(int) bool, rep string, maxFDP, minPower float64) {
		m, err := sweep.SignificanceMask(g, last, sweep.MaskOptions{FDR: q, Replicates: rep})
		if err != nil {
			t.Fatal(err)
		}
		falseKept, signal, signalKept := 0, 0, 0
		for j, k := range m.Keep {
			if noise(j) {
				if k {
					falseKept++
				}
				continue
			}
			signal++
			if k {
				signalKept++
			}
		}
		fdp := float64(falseKept) / math.Max(1, float64(m.Significant))
		power := float64(signalKept) / float64(signal)
		if rep == "" {
			rep = m.Replicates
		}
		t.Logf("%s, %s: %d kept, %d noise among them (FDP %.3f), %.0f%% of signal targets kept", name, rep, m.Significant, falseKept, fdp, 100*power)
		if fdp > maxFDP {
			t.Errorf("%s, %s: false discovery proportion %.3f > %.3f", name, rep, fdp, maxFDP)
		}
		if power < minPower {
			t.Errorf("%s, %s: kept %.0f%% of signal targets, want >= %.0f%%", name, rep, 100*power, 100*minPower)
		}
	}
	fmriNoise := func(j int) bool { return tr.FMRI.Noise[j] }
	megNoise := func(j int) bool { return tr.MEG.Layer[j] < 0 }
	// Across subjects the replicates are independent and BH controls the FDR at q (measured 0
	// of 160); with 3 subjects (2 degrees of freedom) it finds about half the signal targets.
	check("fMRI", r.fmri, fmriNoise, "subjects", 2*q, 0.3)
	// Fold scores share training data, so the test is approximate: measured FDP 1% (fMRI) and
	// 3% (MEG) at q = 1%, with most signal targets found.
	check("fMRI", r.fmri, fmriNoise, "folds", 3*q, 0.9)
	check("MEG", r.meg, megNoise, "folds", 5*q, 0.5)
	// One fixed test set (the sweeps' first fold alone, as --test-fold would make it): no
	// replicates (auto picks heldout), so the subjects' mean layer-mean r is tested as one r of
	// the test rows, conservatively (a mean's null variance is at most one r's): within q. 80
	// test rows find only the strongest targets (r above about 0.4): measured 11% of the fMRI
	// signal targets (12% in one subject), 1% of the MEG ones, no noise target.
	check("fMRI, one fold", firstFold(t, r.fmri), fmriNoise, "", q, 0.05)
	check("MEG, one fold", firstFold(t, r.meg), megNoise, "", q, 0)
	check("fMRI, one fold, one subject", firstFold(t, r.fmri[:1]), fmriNoise, "", q, 0.05)
}

// firstFold returns the sweeps as if scored on their first fold alone (a PredefinedSplit
// holding out its rows): scores and fold scores of that fold, one fold size.
func firstFold(t *testing.T, g []*sweep.Sweep) []*sweep.Sweep {
	t.Helper()
	out := make([]*sweep.Sweep, len(g))
	for i, s := range g {
		if s.FoldScores == nil || len(s.Options.FoldSizes) != s.F {
			t.Fatalf("%s: fold scores or sizes not loaded", s.Dir)
		}
		o := *s
		o.F = 1
		o.Options.Folds = 1
		o.Options.FoldSizes = s.Options.FoldSizes[:1]
		o.Scores = make([]float64, s.C*s.L*s.M)
		for cl := 0; cl < s.C*s.L; cl++ {
			copy(o.Scores[cl*s.M:(cl+1)*s.M], s.FoldScores[cl*s.F*s.M:(cl*s.F+1)*s.M])
		}
		o.FoldScores = slices.Clone(o.Scores)
		out[i] = &o
	}
	return out
}

func mkdirTemp() (string, error) { return os.MkdirTemp("", "sweep-study-") }

// Subjects whose epochs were cut at other times are not pooled: their curves would be averaged
// sample by sample at the first subject's times.
func TestTemporalRefusesSubjectsOfOtherTimes(t *testing.T) {
	r := runStudy(t)
	last := len(r.ds.Truth.Steps) - 1
	other := *r.meg[1]
	other.Meta.Times = slices.Clone(other.Meta.Times)
	for i := range other.Meta.Times {
		other.Meta.Times[i] += 0.1
	}
	g := []*sweep.Sweep{r.meg[0], &other}
	_, err := sweep.Temporal(g, sweep.TemporalOptions{Checkpoint: last})
	if err == nil || !strings.Contains(err.Error(), "other MEG times") || !strings.Contains(err.Error(), other.Dir) {
		t.Fatalf("got %v, want subjects of other times refused", err)
	}
	if _, err := sweep.HalfTimes(context.Background(), g, sweep.HalfTimeOptions{}); err == nil || !strings.Contains(err.Error(), "other MEG times") {
		t.Errorf("halftime: got %v, want subjects of other times refused", err)
	}
	other.Meta.Times = nil
	if _, err := sweep.Temporal(g, sweep.TemporalOptions{Checkpoint: last}); err == nil || !strings.Contains(err.Error(), "no MEG times") {
		t.Errorf("got %v, want a subject without times refused", err)
	}
	// One set of times given for all subjects is the user's to choose.
	if _, err := sweep.Temporal(g, sweep.TemporalOptions{Checkpoint: last, Times: r.meg[0].Meta.Times}); err != nil {
		t.Errorf("with --times: %v", err)
	}
}
