package sweep_test

import (
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/brainalign/brainalign/metrics"
	"github.com/brainalign/brainalign/sweep"
)

// Ties go to the first layer, for "best" and for each fold of "cv", and the layer cv reports is
// the first of those chosen most often. Scores are multiples of 1/8, so the sums tie exactly.
func TestModelAlignmentTies(t *testing.T) {
	// Layer means 1/3, 1/3, 1/8: best is l0. cv: fold 0 on folds 1-2: l0 0.5, l1 0.75 -> l1;
	// fold 1 on folds 0, 2: l0 0.75, l1 0.5 -> l0; fold 2 on folds 0-1: l0 0.75, l1 0.75 -> l0,
	// the first. Score (l1's fold 0 + l0's folds 1, 2)/3 = (0.25 + 0.25 + 0.25)/3.
	tied := [3][3]float64{{0.5, 0.25, 0.25}, {0.25, 0.5, 0.25}, {0.125, 0.125, 0.125}}
	a, err := sweep.ModelAlignment([]*sweep.Sweep{foldSweep("s1", tied)}, sweep.AlignmentOptions{})
	if err != nil || a.Layer != "l0" || a.Score != 1.0/3 {
		t.Errorf("best of two tied layers: %+v %v, want l0", a, err)
	}
	a, err = sweep.ModelAlignment([]*sweep.Sweep{foldSweep("s1", tied)}, sweep.AlignmentOptions{Layer: "cv"})
	if err != nil || strings.Join(a.FoldLayers, " ") != "l1 l0 l0" || a.Layer != "l0" || a.Score != 0.25 {
		t.Errorf("cv with a tie on fold 2: %+v %v, want l1 l0 l0", a, err)
	}
	// Each layer chosen once: fold 0 on folds 1-2: l0 0.5, l1 0.75, l2 0.375 -> l1; fold 1 on
	// folds 0, 2: 1, 0.25, 0.375 -> l0; fold 2 on folds 0-1: 0.5, 0.5, 0.75 -> l2. Reported:
	// l0, the first of the three. Score (0 + 0 + 0)/3.
	once := [3][3]float64{{0.5, 0, 0.5}, {0, 0.5, 0.25}, {0.375, 0.375, 0}}
	a, err = sweep.ModelAlignment([]*sweep.Sweep{foldSweep("s1", once)}, sweep.AlignmentOptions{Layer: "cv"})
	if err != nil || strings.Join(a.FoldLayers, " ") != "l1 l0 l2" || a.Layer != "l0" || a.LayerIndex != 0 || a.Score != 0 {
		t.Errorf("cv choosing each layer once: %+v %v, want l1 l0 l2, reported l0", a, err)
	}
}

// --layer cv needs two folds: with two, each fold is scored at the layer best on the other.
func TestModelAlignmentCrossValidatedFolds(t *testing.T) {
	twoFolds := func(folds [3][2]float64) *sweep.Sweep {
		s := foldSweep("s1", [3][3]float64{})
		s.F, s.FoldScores, s.Scores = 2, nil, nil
		for l := range 3 {
			s.Scores = append(s.Scores, (folds[l][0]+folds[l][1])/2)
			s.FoldScores = append(s.FoldScores, folds[l][:]...)
		}
		return s
	}
	// Fold 0 takes the best layer on fold 1 (l2: 0.5), whose fold 0 is 0.125; fold 1 the best on
	// fold 0 (l0: 0.75), whose fold 1 is 0.25.
	a, err := sweep.ModelAlignment([]*sweep.Sweep{twoFolds([3][2]float64{{0.75, 0.25}, {0.5, 0.375}, {0.125, 0.5}})}, sweep.AlignmentOptions{Layer: "cv"})
	if err != nil || strings.Join(a.FoldLayers, " ") != "l2 l0" || a.Score != (0.125+0.25)/2 {
		t.Errorf("cv of 2 folds: %+v %v", a, err)
	}
	one := foldSweep("s1", [3][3]float64{})
	one.F, one.FoldScores = 1, []float64{0.1, 0.2, 0.3}
	if _, err := sweep.ModelAlignment([]*sweep.Sweep{one}, sweep.AlignmentOptions{Layer: "cv"}); err == nil || !strings.Contains(err.Error(), "--layer cv needs at least 2 folds, the sweep has 1") {
		t.Errorf("cv of 1 fold: %v", err)
	}
}

// A mean score or fold score that is not finite, of either sign, is refused as damaged tables
// (OpenScores does not read every value).
func TestModelAlignmentNonFinite(t *testing.T) {
	for _, v := range []float64{math.Inf(1), math.Inf(-1), math.NaN()} {
		g := []*sweep.Sweep{plantedSweep("sub-01", "vit", 0), plantedSweep("sub-02", "vit", 0.02)}
		g[1].Scores[(1*4+2)*6+3] = v // last checkpoint, block2, target 3
		if _, err := sweep.ModelAlignment(g, sweep.AlignmentOptions{}); err == nil || !strings.Contains(err.Error(), "/sweeps/vit/sub-02: the mean score of layer block2 at checkpoint ckpt-1000 is") {
			t.Errorf("score %v: %v", v, err)
		}
		s := foldSweep("s1", [3][3]float64{{0.5, 0.25, 0.25}, {0.25, 0.5, 0.25}, {0.125, 0.125, 0.125}})
		s.FoldScores[1*3+2] = v // l1, fold 2
		if _, err := sweep.ModelAlignment([]*sweep.Sweep{s}, sweep.AlignmentOptions{Layer: "cv"}); err == nil || !strings.Contains(err.Error(), "the mean fold score of layer l1, fold 2 at checkpoint final is") {
			t.Errorf("fold score %v: %v", v, err)
		}
	}
}

// Layers by name (the first too), by index and by negative index; indices out of range refused.
func TestModelAlignmentLayerByNameOrIndex(t *testing.T) {
	g := []*sweep.Sweep{plantedSweep("sub-02", "vit", 0.02), plantedSweep("sub-01", "vit", 0)}
	for layer, want := range map[string]int{"embed": 0, "0": 0, "3": 3, "-1": 3, "-4": 0, "head": 3, "last": 3} {
		a, err := sweep.ModelAlignment(g, sweep.AlignmentOptions{Layer: layer})
		if err != nil || a.LayerIndex != want {
			t.Errorf("layer %q: %+v %v, want index %d", layer, a, err, want)
			continue
		}
		// Fingerprints sorted, whatever the folders' order.
		if !slices.Equal(a.Fingerprints, []string{"fp-sub-01", "fp-sub-02"}) {
			t.Errorf("fingerprints %v, want them sorted", a.Fingerprints)
		}
	}
	for _, layer := range []string{"-5", "4", "-9"} {
		if _, err := sweep.ModelAlignment(g, sweep.AlignmentOptions{Layer: layer}); err == nil || !strings.Contains(err.Error(), `no layer "`+layer+`"`) {
			t.Errorf("layer %q: %v", layer, err)
		}
	}
}

// --window needs targets shaped channels x times, the last axis the times.
func TestModelAlignmentWindowShape(t *testing.T) {
	flat := plantedSweep("sub-01", "vit", 0) // 6 targets of one axis
	flat.Meta.Times = []float64{0, 0.1, 0.2, 0.3, 0.4, 0.5}
	times := plantedSweep("sub-01", "vit", 0) // 3 x 2, with 3 times
	times.Trailing, times.Meta.ROI, times.Meta.ROINames = []int{3, 2}, nil, nil
	times.Meta.Times = []float64{0, 0.1, 0.2}
	w := &metrics.Window{Start: 0, End: 0.15}
	for _, s := range []*sweep.Sweep{flat, times} {
		if _, err := sweep.ModelAlignment([]*sweep.Sweep{s}, sweep.AlignmentOptions{Window: w}); err == nil || !strings.Contains(err.Error(), "want channels x times") {
			t.Errorf("targets %v, %d times: %v", s.Trailing, len(s.Meta.Times), err)
		}
	}
}

// A folder given twice, as a relative and an absolute path, or reached again through a link
// back up the tree, is listed once; a loop of links holding no sweep is no sweep.
func TestFindSweepsOnce(t *testing.T) {
	dir := t.TempDir()
	sw := filepath.Join(dir, "runs", "sub-01")
	if err := os.MkdirAll(sw, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(sw, "sweep.json"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(dir, filepath.Join(dir, "runs", "up")); err != nil {
		t.Skip("no symbolic links:", err)
	}
	t.Chdir(dir)
	got, err := sweep.FindSweeps([]string{"runs", filepath.Join(dir, "runs")})
	if err != nil || !slices.Equal(got, []string{filepath.Join("runs", "sub-01")}) {
		t.Errorf("runs twice, with a link up: %v %v, want runs/sub-01 once", got, err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.MkdirAll(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(empty, filepath.Join(empty, "loop")); err != nil {
		t.Fatal(err)
	}
	if _, err := sweep.FindSweeps([]string{empty}); err == nil || !strings.Contains(err.Error(), "no sweep output folder in it") {
		t.Errorf("a loop of links without sweeps: %v", err)
	}
}
