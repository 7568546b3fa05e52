package main

import (
	"encoding/csv"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/brainalign/brainalign/metrics"
	"github.com/brainalign/brainalign/sweep"
)

// rank recovers a planted order of models from their sweep folders, with the exact Wilcoxon p of
// each comparison with the first (all subjects' differences of one sign: p = 2 / 2^n), pairs
// subjects by their brain data even when the folders name them otherwise, and marks a model
// scored with other options.
func TestRankPlanted(t *testing.T) {
	dir := t.TempDir()
	root := filepath.Join(dir, "sweeps")
	// Best layer block1 at base + offset for each subject; blocks 0 and 2 lower.
	add := func(model string, subjects []int, offset float64, fp string) {
		for _, s := range subjects {
			base := 0.2 + 0.01*float64(s)
			sub := fmt.Sprintf("sub-%02d", s)
			writeMergedSweep(t, filepath.Join(root, model, "s"+strconv.Itoa(s)), model, sub, fp+sub, [3]float64{base - 0.1, base + offset, base - 0.05})
		}
	}
	six := []int{1, 2, 3, 4, 5, 6}
	add("mid", six, 0.03, "brain-")
	add("top", six, 0.05, "brain-")
	add("few", []int{1, 2, 3}, 0.01, "brain-")
	add("other-options", six, 0.04, "alphas2-")
	add("low", six, 0.0, "brain-")

	out := filepath.Join(dir, "rank")
	got := mustRun(t, "rank", "--out", out, root)
	checkPNGFile(t, filepath.Join(out, "rank.png"))
	for _, want := range []string{"5 model(s) from 27 sweeps: mean score over all targets at the best layer and the last checkpoint",
		"* 2 model(s) scored on other subjects, brain data or options than most models: compare with care: other-options (other brain data or options), few (3 subject(s) missing: sub-04, sub-05, sub-06)"} {
		if !strings.Contains(got, want) {
			t.Errorf("no %q in\n%s", want, got)
		}
	}
	f, err := os.Open(filepath.Join(out, "rank.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil || len(rows) != 6 {
		t.Fatalf("rank.csv: %d rows, %v", len(rows), err)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	type want struct {
		model       string
		score       float64 // mean over the model's subjects of base + offset
		subjects    int
		same        string
		pairs       int
		meanDiff, p float64
		layer       string
		holm        float64 // Holm over the 4 comparisons: 2/64 x 4 (made monotone) and 2/8 x 1
	}
	mean6 := 0.2 + 0.035
	wants := []want{
		{"top", mean6 + 0.05, 6, "true", 0, math.NaN(), math.NaN(), "block1", math.NaN()},
		{"other-options", mean6 + 0.04, 6, "false", 6, 0.01, 2.0 / 64, "block1", 0.125}, // paired by name
		{"mid", mean6 + 0.03, 6, "true", 6, 0.02, 2.0 / 64, "block1", 0.125},
		{"low", mean6, 6, "true", 6, 0.05, 2.0 / 64, "block1", 0.125},
		{"few", 0.22 + 0.01, 3, "false", 3, 0.04, 2.0 / 8, "block1", 0.25}, // a subset of the subjects
	}
	num := func(s string) float64 {
		if s == "" {
			return math.NaN()
		}
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	close := func(a, b float64) bool { return math.IsNaN(a) && math.IsNaN(b) || math.Abs(a-b) < 1e-9 }
	for i, w := range wants {
		r := rows[i+1]
		if r[col["rank"]] != strconv.Itoa(i+1) || r[col["model"]] != w.model || !close(num(r[col["score"]]), w.score) ||
			r[col["subjects"]] != strconv.Itoa(w.subjects) || r[col["same_data_as_most"]] != w.same || r[col["layer"]] != w.layer ||
			(i > 0 && (r[col["paired_with_first"]] != strconv.Itoa(w.pairs) || !close(num(r[col["mean_diff_first"]]), w.meanDiff) ||
				!close(num(r[col["wilcoxon_p"]]), w.p) || num(r[col["wilcoxon_t"]]) != 0 || !close(num(r[col["wilcoxon_p_holm"]]), w.holm))) {
			t.Errorf("rank %d: %v, want %+v", i+1, r, w)
		}
	}
	doc := readJSON(t, filepath.Join(out, "rank.json"))
	if m := get(t, doc, "models").([]any); len(m) != 5 || m[0].(map[string]any)["model"] != "top" ||
		m[0].(map[string]any)["vs_first"] != nil || m[1].(map[string]any)["vs_first"].(map[string]any)["wilcoxon_p"] == nil {
		t.Errorf("rank.json models: %v", m)
	}

	// --by-roi: the same models on each ROI. Targets 0-1 are V1 and 2-3 IT, spread by -0.015,
	// -0.005, +0.005, +0.015 around the layer's mean: V1 scores 0.01 under the model's, IT 0.01 over.
	roiOut := filepath.Join(dir, "rank-roi")
	got = mustRun(t, "rank", "--by-roi", "--no-figures", "--out", roiOut, root)
	if !strings.Contains(got, "by ROI (* the first in the ROI):") || !regexp.MustCompile(`top\s+0\.2750\*\s+0\.2950\*`).MatchString(got) {
		t.Errorf("rank --by-roi:\n%s", got)
	}
	roiRows, err := csv.NewReader(strings.NewReader(readFile(t, filepath.Join(roiOut, "rank_roi.csv")))).ReadAll()
	if err != nil || len(roiRows) != 11 || roiRows[0][0] != "roi" || roiRows[1][0] != "V1" || roiRows[6][0] != "IT" {
		t.Fatalf("rank_roi.csv: %v %v", roiRows, err)
	}
	for i, w := range wants {
		for k, shift := range []float64{-0.01, 0.01} {
			r := roiRows[1+5*k+i]
			if r[2] != w.model || !close(num(r[3]), w.score+shift) || r[1] != strconv.Itoa(i+1) {
				t.Errorf("rank_roi.csv row %v, want %s at %v", r, w.model, w.score+shift)
			}
		}
	}
	if byROI := get(t, readJSON(t, filepath.Join(roiOut, "rank.json")), "by_roi").(map[string]any); len(byROI) != 2 || byROI["IT"] == nil {
		t.Errorf("rank.json by_roi: %v", byROI)
	}
	if _, stderr, code := runCLI(t, "rank", "--by-roi", "--roi", "V1", root); code != 2 || !strings.Contains(stderr, "do not go together") {
		t.Errorf("--by-roi with --roi: exit %d, %s", code, stderr)
	}

	// --layer cv reads fold_scores.npy: its folds repeat the scores here, so it agrees with best.
	cvOut := filepath.Join(dir, "rank-cv")
	mustRun(t, "rank", "--layer", "cv", "--no-figures", "--out", cvOut, root)
	cvCSV, _ := os.ReadFile(filepath.Join(cvOut, "rank.csv"))
	bestCSV, _ := os.ReadFile(filepath.Join(out, "rank.csv"))
	if string(cvCSV) != string(bestCSV) {
		t.Errorf("rank --layer cv on fold-constant sweeps:\n%s\nwant as --layer best:\n%s", cvCSV, bestCSV)
	}
	if doc := readJSON(t, filepath.Join(cvOut, "rank.json")); fmt.Sprint(get(t, doc, "models").([]any)[0].(map[string]any)["fold_layers"]) != "[block1 block1]" {
		t.Errorf("rank.json fold_layers: %v", get(t, doc, "models").([]any)[0].(map[string]any)["fold_layers"])
	}

	// Print only, an ROI, a named layer: block0 is base - 0.1 in every model, so the models with
	// all six subjects tie (ordered by name, p 1 against the first).
	got = mustRun(t, "rank", "--sweeps", root, "--roi", "IT", "--layer", "block0")
	if !strings.Contains(got, "mean score over ROI IT at layer block0") || !strings.Contains(got, "+0.0000, p 1, Holm 1 (6)") ||
		!(strings.Index(got, " low ") < strings.Index(got, " mid ") && strings.Index(got, " mid ") < strings.Index(got, " top ")) {
		t.Errorf("rank --roi IT --layer block0:\n%s", got)
	}
}

// A model marked for holding a subject more than most is said to, not to be of other brain data
// or options (the brain data and options of its other subjects are theirs).
func TestRankNamesExtraSubjects(t *testing.T) {
	root := filepath.Join(t.TempDir(), "sweeps")
	for _, m := range []string{"a", "b", "more"} {
		for s := 1; s <= 3; s++ {
			if s == 3 && m != "more" {
				continue
			}
			sub := fmt.Sprintf("sub-%02d", s)
			writeMergedSweep(t, filepath.Join(root, m, sub), m, sub, "fp-"+sub, [3]float64{0.1, 0.3, 0.2})
		}
	}
	got := mustRun(t, "rank", root)
	if want := "compare with care: more (1 subject(s) more: sub-03)"; !strings.Contains(got, want) {
		t.Errorf("no %q in\n%s", want, got)
	}
}

// A model whose sweeps are not all merged (a job array still running) is left out with a
// warning, and recorded in rank.json; with none merged, rank fails.
func TestRankLeavesOutUnmerged(t *testing.T) {
	dir := t.TempDir()
	root := filepath.Join(dir, "sweeps")
	writeMergedSweep(t, filepath.Join(root, "done", "s1"), "done", "sub-01", "fp1", [3]float64{0.1, 0.3, 0.2})
	writeMergedSweep(t, filepath.Join(root, "running", "s1"), "running", "sub-01", "fp1", [3]float64{0.1, 0.4, 0.2})
	if err := os.Remove(filepath.Join(root, "running", "s1", "scores.npy")); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "rank")
	stdout, stderr, code := runCLI(t, "rank", "--no-figures", "--out", out, root)
	if code != 0 || !strings.Contains(stderr, "warning: not ranked: model running (") || !strings.Contains(stderr, "not merged") ||
		!strings.Contains(stdout, "1 model(s) from 2 sweeps") || strings.Contains(stdout, " running ") {
		t.Errorf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	if nr := fmt.Sprint(get(t, readJSON(t, filepath.Join(out, "rank.json")), "not_ranked")); !strings.Contains(nr, "running") {
		t.Errorf("rank.json not_ranked: %s", nr)
	}
	if err := os.Remove(filepath.Join(root, "done", "s1", "scores.npy")); err != nil {
		t.Fatal(err)
	}
	if _, stderr, code := runCLI(t, "rank", root); code != 1 || !strings.Contains(stderr, "no model to rank") {
		t.Errorf("nothing merged: exit %d, %s", code, stderr)
	}
}

func TestRankErrors(t *testing.T) {
	dir := t.TempDir()
	root := filepath.Join(dir, "sweeps")
	writeMergedSweep(t, filepath.Join(root, "a", "s1"), "a", "sub-01", "fp1", [3]float64{0.1, 0.2, 0.3})
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"rank"}, 2, "rank needs sweep folders"},
		{[]string{"rank", filepath.Join(dir, "nothing")}, 1, "nothing"},
		{[]string{"rank", "--roi", "MT", root}, 1, "MT"},
		{[]string{"rank", "--layer", "block9", root}, 1, "block9"},
		{[]string{"rank", "--window", "0.3:0.1", root}, 2, "--window"},
	} {
		_, stderr, code := runCLI(t, c.args...)
		if code != c.code || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, %s; want exit %d naming %q", c.args, code, stderr, c.code, c.want)
		}
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// rank.png says what its scores are, as the printed ranking does: divided by the noise ceiling
// with --ceiled (its axis said "mean score" for scores two to three times as large), and of the
// times of --window (its title named the ROI alone).
func TestRankFigureLabels(t *testing.T) {
	title, xlabel := rankFigureLabels(sweep.AlignmentOptions{ROI: "IT", Window: &metrics.Window{Start: 0.1, End: 0.2}, Ceiled: true})
	if !strings.Contains(title, "ROI IT, times 0.1-0.2 s") || !strings.Contains(xlabel, "noise ceiling") {
		t.Errorf("--roi IT --window 0.1:0.2 --ceiled: title %q, axis %q", title, xlabel)
	}
	title, xlabel = rankFigureLabels(sweep.AlignmentOptions{})
	if !strings.Contains(title, "all targets") || strings.Contains(xlabel, "ceiling") {
		t.Errorf("default options: title %q, axis %q", title, xlabel)
	}
}

// A rerun into a results folder leaves none of the earlier run's files that it does not write
// itself: rank --no-figures without --by-roi after rank --by-roi removed neither rank.png nor
// rank_roi.csv, which then showed the earlier ranking beside the new rank.csv. Files of other
// commands in the folder stay.
func TestRankRerunLeavesNoEarlierFiles(t *testing.T) {
	dir := t.TempDir()
	root := filepath.Join(dir, "sweeps")
	for s := 1; s <= 2; s++ {
		sub := fmt.Sprintf("sub-%02d", s)
		writeMergedSweep(t, filepath.Join(root, "a", sub), "a", sub, "fp-"+sub, [3]float64{0.1, 0.3, 0.2})
		writeMergedSweep(t, filepath.Join(root, "b", sub), "b", sub, "fp-"+sub, [3]float64{0.1, 0.2, 0.2})
	}
	out := filepath.Join(dir, "rank")
	mustRun(t, "rank", "--by-roi", "--out", out, root)
	writeText(t, out, "notes.txt", "mine")
	for _, f := range []string{"rank.png", "rank_roi.csv"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Fatalf("the first run: %v", err)
		}
	}
	mustRun(t, "rank", "--no-figures", "--layer", "last", "--out", out, root)
	for _, f := range []string{"rank.png", "rank_roi.csv"} {
		if _, err := os.Stat(filepath.Join(out, f)); err == nil {
			t.Errorf("%s of the earlier run is still there", f)
		}
	}
	if rows := readFile(t, filepath.Join(out, "rank.csv")); !strings.Contains(rows, ",block2,") || readFile(t, filepath.Join(out, "notes.txt")) != "mine" {
		t.Errorf("rank.csv of --layer last, or notes.txt, not as expected:\n%s", rows)
	}
}
