package sweep_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/brainalign/brainalign/array"
	"github.com/brainalign/brainalign/metrics"
	"github.com/brainalign/brainalign/sweep"
)

// plantedSweep is an in-memory merged sweep of 2 checkpoints x 4 layers x 6 targets whose score
// at (checkpoint c, layer l, target t) is base[c][l] + shift + 0.01 t; targets 0-2 are ROI V1
// (label 1), 3-5 IT (label 2).
func plantedSweep(subject, model string, shift float64) *sweep.Sweep {
	base := [2][4]float64{{0.1, 0.2, 0.15, 0.05}, {0.2, 0.3, 0.45, 0.4}}
	step0, step1 := 100.0, 1000.0
	s := &sweep.Sweep{Dir: "/sweeps/" + model + "/" + subject, C: 2, L: 4, M: 6, F: 5}
	s.Model, s.Subject, s.Targets, s.Trailing = model, subject, 6, []int{6}
	s.Fingerprint = "fp-" + subject
	s.Layers = []string{"embed", "block1", "block2", "head"}
	s.Checkpoints = []sweep.CheckpointInfo{{Name: "ckpt-100", Step: &step0}, {Name: "ckpt-1000", Step: &step1}}
	s.Meta.ROI = []int{1, 1, 1, 2, 2, 2}
	s.Meta.ROINames = map[int]string{1: "V1", 2: "IT"}
	for c := range 2 {
		for l := range 4 {
			for t := range 6 {
				s.Scores = append(s.Scores, base[c][l]+shift+0.01*float64(t))
			}
		}
	}
	return s
}

func TestModelAlignmentPlanted(t *testing.T) {
	g := []*sweep.Sweep{plantedSweep("sub-01", "vit", 0), plantedSweep("sub-02", "vit", 0.02), plantedSweep("sub-03", "vit", 0.04)}
	// Subject means over targets add 0.025 (the mean of 0.01 t); subjects add 0, 0.02, 0.04.
	se := 0.02 / math.Sqrt(3) // sd of {0, 0.02, 0.04} over sqrt(3)
	cases := []struct {
		o      sweep.AlignmentOptions
		layer  int
		ckpt   string
		score  float64
		target int
	}{
		{sweep.AlignmentOptions{}, 2, "ckpt-1000", 0.45 + 0.025 + 0.02, 6},
		{sweep.AlignmentOptions{Checkpoint: "0"}, 1, "ckpt-100", 0.2 + 0.025 + 0.02, 6},
		{sweep.AlignmentOptions{Checkpoint: "ckpt-100", Layer: "last"}, 3, "ckpt-100", 0.05 + 0.025 + 0.02, 6},
		{sweep.AlignmentOptions{Layer: "block1"}, 1, "ckpt-1000", 0.3 + 0.025 + 0.02, 6},
		{sweep.AlignmentOptions{Layer: "-1"}, 3, "ckpt-1000", 0.4 + 0.025 + 0.02, 6},
		{sweep.AlignmentOptions{ROI: "it"}, 2, "ckpt-1000", 0.45 + 0.04 + 0.02, 3},
		{sweep.AlignmentOptions{ROI: "V1", Checkpoint: "-2"}, 1, "ckpt-100", 0.2 + 0.01 + 0.02, 3},
	}
	for _, tc := range cases {
		a, err := sweep.ModelAlignment(g, tc.o)
		if err != nil {
			t.Fatalf("%+v: %v", tc.o, err)
		}
		if a.LayerIndex != tc.layer || a.Layer != g[0].Layers[tc.layer] || a.RelativeDepth != float64(tc.layer)/3 || a.Checkpoint != tc.ckpt {
			t.Errorf("%+v: layer %d %s (depth %v) at %s, want layer %d at %s", tc.o, a.LayerIndex, a.Layer, a.RelativeDepth, a.Checkpoint, tc.layer, tc.ckpt)
		}
		if !(math.Abs(a.Score-tc.score) <= 1e-12) || !(math.Abs(a.SE-se) <= 1e-12) { // NaN fails too
			t.Errorf("%+v: score %v ± %v, want %v ± %v", tc.o, a.Score, a.SE, tc.score, se)
		}
		for i, s := range a.Subjects {
			if want := tc.score - 0.02 + 0.02*float64(i); s.Subject != g[i].Subject || math.Abs(s.Score-want) > 1e-12 {
				t.Errorf("%+v: subject %d: %+v, want %s %v", tc.o, i, s, g[i].Subject, want)
			}
			if a.Targets[i] != tc.target {
				t.Errorf("%+v: %d targets, want %d", tc.o, a.Targets[i], tc.target)
			}
		}
		if len(a.LayerScores) != 4 || a.Model != "vit" || len(a.Dirs) != 3 || len(a.Fingerprints) != 3 {
			t.Errorf("%+v: %+v", tc.o, a)
		}
	}

	one, err := sweep.ModelAlignment(g[:1], sweep.AlignmentOptions{})
	if err != nil || !math.IsNaN(one.SE) || math.Abs(one.Score-0.475) > 1e-12 {
		t.Errorf("one subject: %v ± %v (%v), want 0.475 ± NaN", one.Score, one.SE, err)
	}
}

func TestModelAlignmentErrors(t *testing.T) {
	g := func() []*sweep.Sweep {
		return []*sweep.Sweep{plantedSweep("sub-01", "vit", 0), plantedSweep("sub-02", "vit", 0.02)}
	}
	noROI := g()
	noROI[1].Meta.ROI = nil
	other := g()
	other[1].Model = "convnext"
	twice := g()
	twice[1].Subject = "sub-01"
	sameData := g()
	sameData[1].Fingerprint = sameData[0].Fingerprint
	damaged := g()
	damaged[0].Scores[len(damaged[0].Scores)-1] = math.NaN()
	meg := g() // the second subject's sweep of MEG data, found beside the fMRI one
	meg[1].Trailing, meg[1].Subject = []int{2, 3}, "sub-01"
	for _, tc := range []struct {
		g    []*sweep.Sweep
		o    sweep.AlignmentOptions
		want string
	}{
		{g(), sweep.AlignmentOptions{Layer: "block9"}, `no layer "block9" (want best, cv, last, an index from 0 to 3, or one of embed, block1, block2, head)`},
		{g(), sweep.AlignmentOptions{Layer: "4"}, `no layer "4"`},
		{g(), sweep.AlignmentOptions{Checkpoint: "ckpt-5"}, `no checkpoint "ckpt-5"`},
		{g(), sweep.AlignmentOptions{ROI: "V4"}, `no ROI named "V4" (have V1, IT)`},
		{noROI, sweep.AlignmentOptions{ROI: "V1"}, "sub-02: --roi V1, but the sweep has no ROI labels"},
		{other, sweep.AlignmentOptions{}, `is a sweep of model "vit"`},
		{twice, sweep.AlignmentOptions{}, "subject sub-01 has two sweeps among the sweeps of model vit"},
		{sameData, sweep.AlignmentOptions{}, "among the sweeps of model vit are sweeps of the same brain data"},
		{damaged, sweep.AlignmentOptions{}, "the mean score of layer head at checkpoint ckpt-1000 is NaN"},
		{meg, sweep.AlignmentOptions{}, "brain data of shape [2 3], /sweeps/vit/sub-01 of [6]: the sweeps pooled must be of one kind of brain data"},
	} {
		_, err := sweep.ModelAlignment(tc.g, tc.o)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want %q", tc.o, err, tc.want)
		}
	}
}

// TestAlignmentFromSweepFolders finds the study's sweep folders, groups them by model and checks
// each subject's score against table.csv (written by Merge, not by ModelAlignment).
func TestAlignmentFromSweepFolders(t *testing.T) {
	st := runStudy(t)
	root := filepath.Dir(filepath.Dir(st.fmri[0].Dir))
	fmriDir := filepath.Dir(st.fmri[0].Dir)

	dirs, err := sweep.FindSweeps([]string{fmriDir, st.fmri[1].Dir})
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) != len(st.fmri) {
		t.Fatalf("found %v, want the %d fMRI sweeps once each", dirs, len(st.fmri))
	}
	models, by, err := sweep.ModelSweeps(dirs)
	if err != nil || len(models) != 1 || models[0] != "synth" || len(by["synth"]) != len(st.fmri) {
		t.Fatalf("models %v %v (%v)", models, by, err)
	}
	for _, roi := range []string{"", st.ds.FMRI.ROINames[1]} {
		a, err := sweep.LoadAlignment(context.Background(), by["synth"], sweep.AlignmentOptions{ROI: roi})
		if err != nil {
			t.Fatal(err)
		}
		col := "mean_score"
		if roi != "" {
			col = "roi_" + roi
		}
		// Each subject's table.csv: the score column per layer at the last checkpoint.
		last := st.fmri[0].Checkpoints[st.fmri[0].C-1].Name
		means := make([]float64, st.fmri[0].L)
		for i, d := range a.Dirs {
			rows := readTable(t, filepath.Join(d, "table.csv"))
			var layer []float64
			for _, r := range rows {
				if r["checkpoint"] == last {
					v, err := strconv.ParseFloat(r[col], 64)
					if err != nil {
						t.Fatalf("%s: %s %q", d, col, r[col])
					}
					layer = append(layer, v)
				}
			}
			if math.Abs(layer[a.LayerIndex]-a.Subjects[i].Score) > 1e-9 {
				t.Errorf("roi %q: %s: score %v, table.csv says %v", roi, d, a.Subjects[i].Score, layer[a.LayerIndex])
			}
			for l, v := range layer {
				means[l] += v / float64(len(a.Dirs))
			}
		}
		for l, v := range means {
			if v > means[a.LayerIndex]+1e-9 {
				t.Errorf("roi %q: layer %d scores %v on average, more than the chosen layer %d (%v)", roi, l, v, a.LayerIndex, means[a.LayerIndex])
			}
		}
		if a.Checkpoint != last || a.Step == nil {
			t.Errorf("checkpoint %s (step %v), want %s", a.Checkpoint, a.Step, last)
		}
		// The layer chosen on other folds, from the merged fold_scores.npy: one per fold, and a
		// score that the best layer's (chosen on every fold) cannot fall below.
		cv, err := sweep.LoadAlignment(context.Background(), by["synth"], sweep.AlignmentOptions{ROI: roi, Layer: "cv"})
		if err != nil || len(cv.FoldLayers) != st.fmri[0].F || cv.Score > a.Score+1e-12 || cv.Score < a.Score-0.05 {
			t.Errorf("roi %q: cv %v (fold layers %v), best %v: %v", roi, cv.Score, cv.FoldLayers, a.Score, err)
		}
	}

	// Links are followed (a results folder linking to sweeps elsewhere), cycles end, and a
	// folder reached twice is listed once.
	links := t.TempDir()
	if err := os.Symlink(st.fmri[0].Dir, filepath.Join(links, "a")); err != nil {
		t.Fatal(err)
	}
	os.Symlink(st.fmri[0].Dir, filepath.Join(links, "b"))
	os.Symlink(links, filepath.Join(links, "loop"))
	os.Symlink(filepath.Join(links, "missing"), filepath.Join(links, "dangling"))
	got, err := sweep.FindSweeps([]string{links, links, filepath.Join(links, "loop")})
	if err != nil || len(got) != 1 || got[0] != filepath.Join(links, "a") {
		t.Errorf("through links: %v (%v), want only %s", got, err, filepath.Join(links, "a"))
	}

	// The whole study holds fMRI and MEG sweeps of one model label: they cannot be pooled.
	all, err := sweep.FindSweeps([]string{root})
	if err != nil || len(all) != len(st.fmri)+len(st.meg) {
		t.Fatalf("found %d sweeps under %s (%v), want %d", len(all), root, err, len(st.fmri)+len(st.meg))
	}
	_, by, _ = sweep.ModelSweeps(all)
	var ge *sweep.GroupError
	if _, err := sweep.LoadAlignment(context.Background(), by["synth"], sweep.AlignmentOptions{}); !errors.As(err, &ge) {
		t.Errorf("fMRI and MEG pooled: error %v, want a GroupError", err)
	}
}

func TestFindSweepsErrors(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f.txt")
	os.WriteFile(file, []byte("x"), 0o644)
	os.MkdirAll(filepath.Join(dir, "empty", ".staging"), 0o755)
	os.WriteFile(filepath.Join(dir, "empty", ".staging", "sweep.json"), []byte("{}"), 0o644)
	for path, want := range map[string]string{
		filepath.Join(dir, "missing"): "no such file",
		file:                          "not a folder",
		filepath.Join(dir, "empty"):   "no sweep output folder in it",
	} {
		if _, err := sweep.FindSweeps([]string{path}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want %q", path, err, want)
		}
	}
	unlabelled := filepath.Join(dir, "unlabelled")
	os.MkdirAll(unlabelled, 0o755)
	os.WriteFile(filepath.Join(unlabelled, "sweep.json"),
		[]byte(`{"format":1,"layers":["a","b"],"checkpoints":[{"name":"c"}],"targets":1,"trailing_shape":[1],"options":{"folds":5}}`), 0o644)
	if _, _, err := sweep.ModelSweeps([]string{unlabelled}); err == nil || !strings.Contains(err.Error(), "no model label") {
		t.Errorf("unlabelled sweep: error %v", err)
	}
}

// readCSV reads a CSV file's records.
func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// readTable reads a CSV file into rows keyed by the header.
func readTable(t *testing.T, path string) []map[string]string {
	t.Helper()
	recs := readCSV(t, path)
	var rows []map[string]string
	for _, r := range recs[1:] {
		m := map[string]string{}
		for i, h := range recs[0] {
			m[h] = r[i]
		}
		rows = append(rows, m)
	}
	return rows
}

// TestModelAlignmentWindow keeps the MEG time points of a window: 2 channels x 3 times at
// -0.1, 0.1, 0.2 s, layer l's score at time t being 0.1 l + t' (t' the time index) per channel.
func TestModelAlignmentWindow(t *testing.T) {
	meg := func(subject string) *sweep.Sweep {
		s := &sweep.Sweep{Dir: "/meg/" + subject, C: 1, L: 3, M: 6, F: 5}
		s.Model, s.Subject, s.Targets, s.Trailing, s.Fingerprint = "vit", subject, 6, []int{2, 3}, subject
		s.Layers = []string{"a", "b", "c"}
		s.Checkpoints = []sweep.CheckpointInfo{{Name: "final"}}
		s.Meta.Times = []float64{-0.1, 0.1, 0.2}
		for l := range 3 {
			for ch := range 2 {
				for ti := range 3 {
					v := 0.1*float64(l) + float64(ti)
					if l == 2 && ti == 0 {
						v = 5 // the last layer is best only before the window
					}
					s.Scores = append(s.Scores, v+0.01*float64(ch))
				}
			}
		}
		return s
	}
	g := []*sweep.Sweep{meg("sub-01"), meg("sub-02")}
	all, err := sweep.ModelAlignment(g, sweep.AlignmentOptions{})
	if err != nil || all.LayerIndex != 2 {
		t.Fatalf("all times: layer %v (%v), want c", all, err)
	}
	w, err := sweep.ModelAlignment(g, sweep.AlignmentOptions{Window: &metrics.Window{Start: 0.05, End: 0.25}})
	if err != nil {
		t.Fatal(err)
	}
	// In the window, layer c (0.2 + 1.5 + 0.005) beats b; its mean over times 1, 2 and channels.
	if w.LayerIndex != 2 || math.Abs(w.Score-(0.2+1.5+0.005)) > 1e-12 || w.Targets[0] != 4 {
		t.Errorf("window: layer %d score %v over %v targets, want c 1.705 over 4", w.LayerIndex, w.Score, w.Targets)
	}
	w, err = sweep.ModelAlignment(g, sweep.AlignmentOptions{Window: &metrics.Window{Start: -0.2, End: 0}})
	if err != nil || w.LayerIndex != 2 || math.Abs(w.Score-5.005) > 1e-12 || w.Targets[0] != 2 {
		t.Errorf("window before 0: %+v (%v)", w, err)
	}
	w, err = sweep.ModelAlignment(g, sweep.AlignmentOptions{Window: &metrics.Window{Start: 0.1, End: 0.15}})
	if err != nil || w.LayerIndex != 2 || math.Abs(w.Score-(0.2+1+0.005)) > 1e-12 {
		t.Errorf("window [0.1, 0.15): %+v (%v)", w, err)
	}
	for _, tc := range []struct {
		g    []*sweep.Sweep
		o    sweep.AlignmentOptions
		want string
	}{
		{g, sweep.AlignmentOptions{Window: &metrics.Window{Start: 1, End: 2}}, "no MEG time point in the window 1:2 s (times -0.1 to 0.2 s)"},
		{[]*sweep.Sweep{plantedSweep("sub-01", "vit", 0)}, sweep.AlignmentOptions{Window: &metrics.Window{Start: 0, End: 1}}, "--window, but the sweep has no MEG times"},
	} {
		if _, err := sweep.ModelAlignment(tc.g, tc.o); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want %q", tc.o, err, tc.want)
		}
	}
}

// writeBigSweep writes a merged sweep folder of C checkpoints x L layers x M targets (5 folds)
// with random scores, for the benchmarks.
func writeBigSweep(b *testing.B, dir, subject string, C, L, M int) {
	b.Helper()
	m := sweep.Manifest{Format: 1, Model: "vit", Subject: subject, Rows: 1000, Targets: M, Trailing: []int{M}, Fingerprint: subject}
	m.Options.Folds = 5
	for l := range L {
		m.Layers = append(m.Layers, "layer"+strconv.Itoa(l))
	}
	for c := range C {
		m.Checkpoints = append(m.Checkpoints, sweep.CheckpointInfo{Name: "ckpt" + strconv.Itoa(c)})
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	js, _ := json.Marshal(m)
	if err := os.WriteFile(filepath.Join(dir, "sweep.json"), js, 0o644); err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	scores := make([]float64, C*L*M)
	for i := range scores {
		scores[i] = r.Float64()
	}
	folds := make([]float64, 0, 5*len(scores))
	for k := range C * L {
		for range 5 {
			folds = append(folds, scores[k*M:(k+1)*M]...)
		}
	}
	if err := array.WriteNPY(filepath.Join(dir, "scores.npy"), []int{C, L, M}, scores); err != nil {
		b.Fatal(err)
	}
	if err := array.WriteNPY(filepath.Join(dir, "fold_scores.npy"), []int{C, L, 5, M}, folds); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "merged.json"), fmt.Appendf(nil, `{"stamp": "bench", "units": %d}`, C*L), 0o644); err != nil {
		b.Fatal(err) // as a merge leaves it
	}
}

// BenchmarkModelAlignment reads one model's alignment from 4 subjects' sweeps of 10
// checkpoints x 24 layers x 50,000 targets (96 MB of scores and 480 MB of fold scores per
// subject; -short: 1,000 targets): LoadAlignment maps the scores and reads the last
// checkpoint's tenth; Load reads and checks all the scores and maps the fold scores.
func BenchmarkModelAlignment(b *testing.B) {
	dir := b.TempDir()
	targets := 50000
	if testing.Short() {
		targets = 1000
	}
	var dirs []string
	for s := range 4 {
		d := filepath.Join(dir, "sub-"+strconv.Itoa(s))
		writeBigSweep(b, d, "sub-"+strconv.Itoa(s), 10, 24, targets)
		dirs = append(dirs, d)
	}
	b.Run("LoadAlignment", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := sweep.LoadAlignment(context.Background(), dirs, sweep.AlignmentOptions{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Load", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var g []*sweep.Sweep
			for _, d := range dirs {
				s, err := sweep.Load(d)
				if err != nil {
					b.Fatal(err)
				}
				g = append(g, s)
			}
			if _, err := sweep.ModelAlignment(g, sweep.AlignmentOptions{}); err != nil {
				b.Fatal(err)
			}
			for _, s := range g {
				s.Close()
			}
		}
	})
}

// foldSweep is a sweep of one checkpoint, 3 layers and 1 target whose fold scores are
// folds[layer][fold] (scores: their means).
func foldSweep(subject string, folds [3][3]float64) *sweep.Sweep {
	s := &sweep.Sweep{Dir: "/sweeps/m/" + subject, C: 1, L: 3, M: 1, F: 3}
	s.Model, s.Subject, s.Targets, s.Trailing = "m", subject, 1, []int{1}
	s.Fingerprint = "fp-" + subject
	s.Layers = []string{"l0", "l1", "l2"}
	s.Checkpoints = []sweep.CheckpointInfo{{Name: "final"}}
	for l := range 3 {
		s.Scores = append(s.Scores, (folds[l][0]+folds[l][1]+folds[l][2])/3)
		s.FoldScores = append(s.FoldScores, folds[l][:]...)
	}
	return s
}

// --layer cv against values worked by hand: each fold is scored at the layer best on the other
// two folds (subject-mean), which removes the optimism of choosing the best layer on all folds.
func TestModelAlignmentCrossValidatedLayer(t *testing.T) {
	// One subject. Layer means 0.2, 0.2, 0.15; "best" takes l0 (the first of the tie): 0.2.
	// Fold 0: on folds 1-2, l0 0.1+0.2=0.3, l1 0.3+0.1=0.4, l2 0.3: l1, whose fold 0 is 0.2.
	// Fold 1: on folds 0 and 2, l0 0.5, l1 0.3, l2 0.15: l0, fold 1 0.1.
	// Fold 2: on folds 0-1, l0 0.4, l1 0.5, l2 0.3: l1, fold 2 0.1.
	// cv score (0.2 + 0.1 + 0.1) / 3; layers l1, l0, l1: l1 most often.
	one := [3][3]float64{{0.3, 0.1, 0.2}, {0.2, 0.3, 0.1}, {0.15, 0.15, 0.15}}
	best, err := sweep.ModelAlignment([]*sweep.Sweep{foldSweep("s1", one)}, sweep.AlignmentOptions{})
	if err != nil || best.Layer != "l0" || math.Abs(best.Score-0.2) > 1e-12 {
		t.Fatalf("best: %+v %v", best, err)
	}
	cv, err := sweep.ModelAlignment([]*sweep.Sweep{foldSweep("s1", one)}, sweep.AlignmentOptions{Layer: "cv"})
	if err != nil || math.Abs(cv.Score-0.4/3) > 1e-12 || cv.Layer != "l1" || cv.LayerIndex != 1 ||
		strings.Join(cv.FoldLayers, " ") != "l1 l0 l1" || !math.IsNaN(cv.SE) {
		t.Fatalf("cv, one subject: %+v %v", cv, err)
	}

	// Two subjects: the choice is on the subject-mean of the other folds, each subject scored on
	// its own fold. Subject 2 adds 0.3 to l2's fold 0 only: l2's sum over folds 1-2 stays 0.3 per
	// subject, so folds 1 and 2 choose as before (l0, l1); fold 0 still chooses l1 (0.8 against
	// l2's 0.6). Subject scores: s1 0.4/3; s2 (0.2 + 0.1 + 0.1)/3 as well, since l2 is never chosen.
	two := one
	two[2][0] += 0.3
	g := []*sweep.Sweep{foldSweep("s1", one), foldSweep("s2", two)}
	cv, err = sweep.ModelAlignment(g, sweep.AlignmentOptions{Layer: "cv"})
	if err != nil || math.Abs(cv.Score-0.4/3) > 1e-12 || cv.SE != 0 || len(cv.Subjects) != 2 ||
		math.Abs(cv.Subjects[1].Score-0.4/3) > 1e-12 || strings.Join(cv.FoldLayers, " ") != "l1 l0 l1" {
		t.Fatalf("cv, two subjects: %+v %v", cv, err)
	}
	// Fold scores all equal to the scores: cv is best.
	flat := [3][3]float64{{0.2, 0.2, 0.2}, {0.3, 0.3, 0.3}, {0.1, 0.1, 0.1}}
	cv, err = sweep.ModelAlignment([]*sweep.Sweep{foldSweep("s1", flat)}, sweep.AlignmentOptions{Layer: "cv"})
	if err != nil || math.Abs(cv.Score-0.3) > 1e-12 || cv.Layer != "l1" {
		t.Errorf("cv of fold-constant scores: %+v %v", cv, err)
	}
}

// --ceiled divides each subject's mean score by the mean noise ceiling of the same targets,
// leaving out targets without a ceiling (NaN).
func TestModelAlignmentCeiled(t *testing.T) {
	nan := math.NaN()
	g := []*sweep.Sweep{plantedSweep("sub-01", "vit", 0), plantedSweep("sub-02", "vit", 0.02)}
	g[0].Meta.Ceiling = []float64{0.5, 0.5, nan, 1, 1, 1}
	g[1].Meta.Ceiling = []float64{0.4, 0.4, 0.4, 0.8, 0.8, 0.8}
	cases := []struct {
		o        sweep.AlignmentOptions
		subjects [2]float64
		ceilings [2]float64
		targets  [2]int
	}{
		// all targets: sub-01 keeps 0, 1, 3, 4, 5 (mean of 0.01 t: 0.026; ceiling 0.8); sub-02 all
		// six (0.025; 0.6); layer 2 at the last checkpoint (base 0.45) is best
		{sweep.AlignmentOptions{Ceiled: true}, [2]float64{(0.45 + 0.026) / 0.8, (0.45 + 0.02 + 0.025) / 0.6}, [2]float64{0.8, 0.6}, [2]int{5, 6}},
		// V1: sub-01 targets 0 and 1, sub-02 0 to 2
		{sweep.AlignmentOptions{Ceiled: true, ROI: "V1"}, [2]float64{(0.45 + 0.005) / 0.5, (0.45 + 0.02 + 0.01) / 0.4}, [2]float64{0.5, 0.4}, [2]int{2, 3}},
	}
	for _, tc := range cases {
		a, err := sweep.ModelAlignment(g, tc.o)
		if err != nil {
			t.Fatalf("%+v: %v", tc.o, err)
		}
		if !a.Ceiled || a.Layer != "block2" || math.Abs(a.Score-(tc.subjects[0]+tc.subjects[1])/2) > 1e-12 {
			t.Errorf("%+v: ceiled %v, layer %s, score %v", tc.o, a.Ceiled, a.Layer, a.Score)
		}
		for i, s := range a.Subjects {
			if math.Abs(s.Score-tc.subjects[i]) > 1e-12 || math.Abs(s.Ceiling-tc.ceilings[i]) > 1e-12 || a.Targets[i] != tc.targets[i] {
				t.Errorf("%+v: subject %d: %+v over %d targets, want %v (ceiling %v) over %d", tc.o, i, s, a.Targets[i], tc.subjects[i], tc.ceilings[i], tc.targets[i])
			}
		}
	}
	// the cross-validated layer choice divides the fold scores alike
	s := foldSweep("s1", [3][3]float64{{0.3, 0.1, 0.2}, {0.2, 0.3, 0.1}, {0.15, 0.15, 0.15}})
	s.Meta.Ceiling = []float64{0.5}
	cv, err := sweep.ModelAlignment([]*sweep.Sweep{s}, sweep.AlignmentOptions{Layer: "cv", Ceiled: true})
	if err != nil || math.Abs(cv.Score-0.8/3) > 1e-12 {
		t.Errorf("cv, ceiled: %+v %v (want twice 0.4/3)", cv, err)
	}

	for _, tc := range []struct {
		ceiling []float64
		o       sweep.AlignmentOptions
		want    string
	}{
		{nil, sweep.AlignmentOptions{Ceiled: true}, "--ceiled, but the sweep has no noise ceiling"},
		{[]float64{nan, nan, nan, nan, nan, nan}, sweep.AlignmentOptions{Ceiled: true}, "no target has a noise ceiling"},
		{[]float64{nan, nan, nan, 1, 1, 1}, sweep.AlignmentOptions{Ceiled: true, ROI: "V1"}, "ROI V1 has no targets with a noise ceiling"},
		{[]float64{0, 0, 0, 1, 1, 1}, sweep.AlignmentOptions{Ceiled: true, ROI: "V1"}, "the noise ceiling of the targets scored is 0"},
	} {
		s := plantedSweep("sub-01", "vit", 0)
		s.Meta.Ceiling = tc.ceiling
		if _, err := sweep.ModelAlignment([]*sweep.Sweep{s}, tc.o); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ceiling %v %+v: %v, want %q", tc.ceiling, tc.o, err, tc.want)
		}
	}
}

// ROI labels can come as a NIfTI label volume (an atlas), flattened in (x, y, z) order.
func TestROIFromNIfTIVolume(t *testing.T) {
	path := filepath.Join("..", "testdata", "neuro", "mask_uint8.nii")
	m, err := sweep.ReadMeta("", path, "", "")
	if err != nil {
		t.Fatal(err)
	}
	arrs, err := array.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	defer array.CloseAll(arrs)
	if len(m.ROI) != 12 {
		t.Fatalf("%d labels from a 3 x 2 x 2 volume", len(m.ROI))
	}
	for i, v := range arrs[0].F32 {
		if m.ROI[i] != int(v) {
			t.Errorf("label %d = %d, the volume has %v", i, m.ROI[i], v)
		}
	}
	if err := m.Check("brain", []int{3, 2, 2}); err != nil {
		t.Error(err)
	}
	if _, err := sweep.ReadMeta("", filepath.Join("..", "testdata", "neuro", "float32_be.nii"), "", ""); err == nil {
		t.Error("a 4-d volume was read as labels")
	}
}

// ROI labels can come as a CIFTI-2 label file (an atlas such as HCP's .dlabel.nii): its label
// table names the ROIs (NiBabel wrote testdata/neuro/atlas.dlabel.nii with keys 0 "???", 1 "V1",
// 2 "V2 & V3" over labels 0, 1, 2, 0), and the unlabelled key "???" is no ROI (-1).
func TestROIFromCiftiLabels(t *testing.T) {
	path := filepath.Join("..", "testdata", "neuro", "atlas.dlabel.nii")
	m, err := sweep.ReadMeta("", path, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(m.ROI) != "[-1 1 2 -1]" || len(m.ROINames) != 2 || m.ROINames[1] != "V1" || m.ROINames[2] != "V2 & V3" {
		t.Errorf("labels %v names %v", m.ROI, m.ROINames)
	}
	names := filepath.Join(t.TempDir(), "names.txt")
	if err := os.WriteFile(names, []byte("zero\none\ntwo\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if m, err := sweep.ReadMeta("", path, names, ""); err != nil || fmt.Sprint(m.ROI) != "[0 1 2 0]" || m.ROINames[0] != "zero" {
		t.Errorf("--roi-names given: labels %v names %v, %v", m.ROI, m.ROINames, err)
	}
	// a label of the data missing from the table, and several maps: said as such
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	off := binary.LittleEndian.Uint64(b[168:]) // vox_offset of the NIfTI-2 header; int32 labels 0 1 2 0
	binary.LittleEndian.PutUint32(b[off+4:], 3)
	unknown := filepath.Join(t.TempDir(), "unknown.dlabel.nii")
	if err := os.WriteFile(unknown, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := sweep.ReadMeta("", unknown, "", ""); err == nil || !strings.Contains(err.Error(), "label(s) [3] of its data are not in its label table (give --roi-names)") {
		t.Errorf("a label missing from the table: %v", err)
	}
	for name, want := range map[string]string{"maps.dscalar.nii": "a CIFTI file of 2 maps: want one map of labels"} {
		if _, err := sweep.ReadMeta("", filepath.Join("..", "testdata", "neuro", name), "", ""); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s as ROI labels: %v, want %q", name, err, want)
		}
	}
}

// Subjects in their own native spaces (other numbers of voxels, or MEG channels) have each their
// own mean: rank and scaling summarise them; the metrics that pool target by target refuse them.
func TestModelAlignmentSubjectsOfOwnTargets(t *testing.T) {
	a, b := plantedSweep("sub-01", "vit", 0), plantedSweep("sub-02", "vit", 0.02)
	var trimmed []float64 // sub-02 with its first 4 targets only (V1, V1, V1, IT)
	for k := 0; k < len(b.Scores); k += 6 {
		trimmed = append(trimmed, b.Scores[k:k+4]...)
	}
	b.Scores, b.M, b.Targets, b.Trailing, b.Meta.ROI = trimmed, 4, 4, []int{4}, b.Meta.ROI[:4]
	g := []*sweep.Sweep{a, b}
	res, err := sweep.ModelAlignment(g, sweep.AlignmentOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if want := 0.45 + 0.02 + 0.015; math.Abs(res.Subjects[1].Score-want) > 1e-12 || res.Targets[1] != 4 || res.Targets[0] != 6 {
		t.Errorf("subject of 4 targets: %+v (targets %v), want score %v", res.Subjects[1], res.Targets, want)
	}
	if r, err := sweep.ModelAlignment(g, sweep.AlignmentOptions{ROI: "IT"}); err != nil || math.Abs(r.Subjects[1].Score-(0.45+0.02+0.03)) > 1e-12 {
		t.Errorf("--roi IT over a subject's own targets: %v, %v", r, err)
	}
	if err := sweep.CheckGroup(g); err == nil || !strings.Contains(err.Error(), "subjects pooled target by target need the same targets") {
		t.Errorf("CheckGroup: %v", err)
	}
}

// MEG subjects whose channels differ in name or order are not pooled channel by channel (where
// both sweeps know their channels, from an epochs file); rank's means over each subject's own
// targets take them.
func TestCheckGroupChannels(t *testing.T) {
	a, b := plantedSweep("sub-01", "vit", 0), plantedSweep("sub-02", "vit", 0.02)
	for _, s := range []*sweep.Sweep{a, b} {
		s.Trailing = []int{2, 3}
		s.Meta.Times = []float64{0, 0.1, 0.2}
	}
	a.Meta.Channels, b.Meta.Channels = []string{"MLC11", "MLC12"}, []string{"MLC11", "MLC12"}
	if err := sweep.CheckGroup([]*sweep.Sweep{a, b}); err != nil {
		t.Fatalf("the same channels: %v", err)
	}
	b.Meta.Channels = []string{"MLC12", "MLC11"}
	if err := sweep.CheckGroup([]*sweep.Sweep{a, b}); err == nil || !strings.Contains(err.Error(), "other MEG channels (channel 0 is MLC11 in one, MLC12 in the other)") {
		t.Errorf("channels in another order: %v", err)
	}
	if _, err := sweep.ModelAlignment([]*sweep.Sweep{a, b}, sweep.AlignmentOptions{}); err != nil {
		t.Errorf("rank of subjects of other channel orders: %v", err)
	}
	b.Meta.Channels = nil // a sweep of .npy data: nothing to compare
	if err := sweep.CheckGroup([]*sweep.Sweep{a, b}); err != nil {
		t.Errorf("channels unknown for one: %v", err)
	}
}

// The model that rank and scaling mark as scored on other data is the one that differs from
// most models, not every model that differs from the first: the best model missing a subject is
// the one marked.
func TestRankMarksModelsAgainstMost(t *testing.T) {
	model := func(name string, shift float64, subjects ...string) *sweep.Alignment {
		var g []*sweep.Sweep
		for _, s := range subjects {
			g = append(g, plantedSweep(s, name, shift))
		}
		a, err := sweep.ModelAlignment(g, sweep.AlignmentOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	best := model("best", 0.1, "sub-01", "sub-02") // sub-03 missing, the noisiest, say
	b, c := model("b", 0, "sub-01", "sub-02", "sub-03"), model("c", 0.01, "sub-01", "sub-02", "sub-03")
	if i := sweep.ReferenceData([]*sweep.Alignment{best, b, c}); i != 1 {
		t.Errorf("ReferenceData = %d, want 1 (b: the data of most models)", i)
	}
	r := sweep.Rank([]*sweep.Alignment{best, b, c})
	if r[0].Model != "best" || r[0].SameData || !slices.Equal(r[0].Missing, []string{"sub-03"}) {
		t.Errorf("#1 missing a subject: %+v", r[0])
	}
	for _, m := range r[1:] {
		if !m.SameData || m.Missing != nil {
			t.Errorf("%s, of the same data as most: %+v", m.Model, m)
		}
	}
}

// Between sets of data as common as each other, the model lacking a subject is the one marked,
// whichever ranks first, and a model marked for a subject more than most says so (it was said to
// be of other brain data or options, its data and options those of the others).
func TestRankMarksTheModelLackingASubject(t *testing.T) {
	model := func(name string, shift float64, subjects ...string) *sweep.Alignment {
		var g []*sweep.Sweep
		for _, s := range subjects {
			g = append(g, plantedSweep(s, name, shift))
		}
		a, err := sweep.ModelAlignment(g, sweep.AlignmentOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	for _, shift := range []float64{0.1, -0.1} { // the model of two subjects first, then second
		two, three := model("two", shift, "sub-01", "sub-02"), model("three", 0, "sub-01", "sub-02", "sub-03")
		for _, r := range sweep.Rank([]*sweep.Alignment{two, three}) {
			switch r.Model {
			case "two":
				if r.SameData || !slices.Equal(r.Missing, []string{"sub-03"}) || r.Extra != nil {
					t.Errorf("shift %g: two, lacking sub-03: %+v", shift, r)
				}
			case "three":
				if !r.SameData || r.Missing != nil || r.Extra != nil {
					t.Errorf("shift %g: three, the reference: %+v", shift, r)
				}
			}
		}
	}
	// Most models lack sub-03: the one holding it is marked for it.
	r := sweep.Rank([]*sweep.Alignment{model("a", 0, "sub-01", "sub-02"), model("b", 0.01, "sub-01", "sub-02"),
		model("more", 0.1, "sub-01", "sub-02", "sub-03")})
	if r[0].Model != "more" || r[0].SameData || r[0].Missing != nil || !slices.Equal(r[0].Extra, []string{"sub-03"}) {
		t.Errorf("a subject more than most: %+v", r[0])
	}
}

// ROI labels can come as FreeSurfer annotations (gen_annot.py's, read by NiBabel): each vertex
// its colour table entry, named by the table; lh.annot then rh.annot joined, FreeSurfer's
// "unknown" an ROI as any other entry; old.annot's "???" entry is no ROI (-1), as a GIFTI or
// CIFTI label table's. --roi-names replaces the table's names.
func TestROIFromAnnot(t *testing.T) {
	dir := filepath.Join("..", "testdata", "annot")
	b, err := os.ReadFile(filepath.Join(dir, "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var want map[string]struct {
		Labels []int             `json:"labels"`
		Names  map[string]string `json:"names"`
	}
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	lh, rh := filepath.Join(dir, "lh.annot"), filepath.Join(dir, "rh.annot")
	m, err := sweep.ReadMetaJoined(nil, []string{lh, rh}, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if joined := append(slices.Clone(want["lh.annot"].Labels), want["rh.annot"].Labels...); !slices.Equal(m.ROI, joined) {
		t.Errorf("labels %v, want NiBabel's %v", m.ROI, joined)
	}
	if fmt.Sprint(m.ROINames) != "map[0:unknown 1:V1 2:V2 3:MT]" || m.Files.ROI != lh+" + "+rh {
		t.Errorf("names %v (from %s)", m.ROINames, m.Files.ROI)
	}
	if err := m.Check("brain", []int{80}); err != nil {
		t.Error(err)
	}
	if err := m.Check("brain", []int{40}); err == nil {
		t.Error("80 labels checked against 40 targets")
	}
	old := filepath.Join(dir, "old.annot")
	m, err = sweep.ReadMeta("", old, "", "")
	if err != nil {
		t.Fatal(err)
	}
	var unlabelled []int // NiBabel's labels, the "???" entry's (0) none
	for _, l := range want["old.annot"].Labels {
		unlabelled = append(unlabelled, map[bool]int{true: -1, false: l}[l == 0])
	}
	if !slices.Equal(m.ROI, unlabelled) || fmt.Sprint(m.ROINames) != "map[1:LO 2:FFA]" {
		t.Errorf("old.annot: labels %v names %v, want %v", m.ROI, m.ROINames, unlabelled)
	}
	names := filepath.Join(t.TempDir(), "names.txt")
	if err := os.WriteFile(names, []byte("medial\nlateral\nfusiform\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if m, err := sweep.ReadMeta("", old, names, ""); err != nil || !slices.Equal(m.ROI, want["old.annot"].Labels) || m.ROINames[0] != "medial" {
		t.Errorf("--roi-names given: labels %v names %v, %v", m.ROI, m.ROINames, err)
	}
	// two entries of one name, both carried: refused as a label table's
	raw, err := os.ReadFile(lh)
	if err != nil {
		t.Fatal(err)
	}
	dup := filepath.Join(t.TempDir(), "lh.annot")
	if err := os.WriteFile(dup, bytes.Replace(raw, []byte("V2\x00"), []byte("V1\x00"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := sweep.ReadMeta("", dup, "", ""); err == nil || !strings.Contains(err.Error(), `labels 1 and 2 are both named "V1"`) {
		t.Errorf("two ROIs of one name: %v", err)
	}
}
