package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/brainalign/brainalign/array"
	"github.com/brainalign/brainalign/sweep"
)

// writeMergedSweep writes a merged sweep folder of one subject: 3 layers x 4 targets at one
// checkpoint, whose layer means are means (targets spread around them by ±0.015), the first two
// targets of ROI V1 (label 0) and the others of IT (label 1).
func writeMergedSweep(t *testing.T, dir, model, subject, fingerprint string, means [3]float64) {
	t.Helper()
	step := 1e6
	m := sweep.Manifest{Format: 1, Model: model, Subject: subject, Rows: 100, Targets: 4, Trailing: []int{4},
		Fingerprint: fingerprint, Layers: []string{"block0", "block1", "block2"},
		Checkpoints: []sweep.CheckpointInfo{{Name: "final", Step: &step}}, Metadata: sweep.MetaFlags{ROI: true}}
	m.Options.Folds = 2
	if err := os.MkdirAll(filepath.Join(dir, "meta"), 0o755); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(m)
	writeText(t, dir, "sweep.json", string(b))
	writeText(t, filepath.Join(dir, "meta"), "roi_names.txt", "V1\nIT\n")
	var scores, folds []float64
	for _, mean := range means {
		for k := range 4 {
			scores = append(scores, mean+0.01*float64(k)-0.015)
		}
	}
	for l := range 3 {
		for range 2 {
			folds = append(folds, scores[4*l:4*l+4]...)
		}
	}
	for name, a := range map[string]struct {
		shape []int
		data  any
	}{
		"scores.npy":          {[]int{1, 3, 4}, scores},
		"fold_scores.npy":     {[]int{1, 3, 2, 4}, folds},
		"meta/roi_labels.npy": {[]int{4}, []int64{0, 0, 1, 1}},
	} {
		if err := array.WriteNPY(filepath.Join(dir, name), a.shape, a.data); err != nil {
			t.Fatal(err)
		}
	}
	writeText(t, dir, "merged.json", `{"stamp": "test", "units": 3}`) // as a merge of its 3 units leaves it
}

// plantedScore is the planted law of each family: y_inf - gap (x/1e18)^-alpha.
func plantedScore(family string, x float64) float64 {
	if family == "vit" {
		return 0.5 - 0.2*math.Pow(x/1e18, -0.15)
	}
	return 0.4 - 0.15*math.Pow(x/1e18, -0.3)
}

// writeScalingSweeps writes a table of 12 models (two families of 6) with 2 subjects' sweeps each,
// whose best layer (block1) scores the planted law exactly on average over the subjects, plus a
// model in the table without sweeps and sweeps of a model not in the table.
func writeScalingSweeps(t *testing.T, dir string) (table, root string) {
	t.Helper()
	root = filepath.Join(dir, "sweeps")
	var b strings.Builder
	b.WriteString("model,family,compute,score\n")
	for _, fam := range []string{"vit", "cnn"} {
		for i := range 6 {
			name := fmt.Sprintf("%s-%d", fam, i)
			x := math.Pow(10, 16+float64(i))
			fmt.Fprintf(&b, "%s,%s,%g,0.999\n", name, fam, x) // the score column is not used
			y := plantedScore(fam, x)
			for s, d := range []float64{-0.01, 0.01} {
				sub := fmt.Sprintf("sub-%02d", s+1)
				writeMergedSweep(t, filepath.Join(root, name, sub), name, sub, "brain-"+sub, [3]float64{y - 0.1, y + d, y - 0.05})
			}
		}
	}
	b.WriteString("unswept,vit,1e30,0.1\n")
	writeMergedSweep(t, filepath.Join(root, "orphan", "sub-01"), "orphan", "sub-01", "brain-sub-01", [3]float64{0.1, 0.2, 0.3})
	return writeText(t, dir, "models.csv", b.String()), root
}

func TestScalingFromSweeps(t *testing.T) {
	dir := t.TempDir()
	table, root := writeScalingSweeps(t, dir)
	out := filepath.Join(dir, "res")
	stdout, stderr, code := runCLI(t, "scaling", "--table", table, "--group", "family", "--sweeps", root, "--bootstrap", "0", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"scores of 12 models from 24 sweeps: the mean over all targets at each model's best layer", "vit: 6 models", "cnn: 6 models"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	for _, want := range []string{"1 models of " + table + " have no sweeps among --sweeps and were left out: unswept",
		"sweeps of 1 models not in " + table + " were left out: orphan"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	// The planted laws are recovered exactly: the subjects' mean at block1 is the law.
	doc := readJSON(t, filepath.Join(out, "scaling.json"))
	groups := get(t, doc, "groups").([]any)
	for i, want := range [][3]float64{{0.5, 0.2, 0.15}, {0.4, 0.15, 0.3}} {
		g := groups[i].(map[string]any)
		yinf, alpha := num(t, g, "fit", "power_law", "y_inf"), num(t, g, "fit", "power_law", "alpha")
		if math.Abs(yinf-want[0]) > 1e-6 || math.Abs(alpha-want[2]) > 1e-6 {
			t.Errorf("%s: y_inf %v, alpha %v; planted %v", g["group"], yinf, alpha, want)
		}
	}
	models := get(t, doc, "sweeps", "models").([]any)
	if len(models) != 12 {
		t.Fatalf("scaling.json: %d models from sweeps", len(models))
	}
	// Each model's record is flat: its table row and its alignment side by side.
	first := models[0].(map[string]any)
	if first["model"] != "vit-0" || first["group"] != "vit" || first["layer"] != "block1" || math.Abs(num(t, first, "score_se")-0.01) > 1e-12 {
		t.Errorf("scaling.json: first model %v", first)
	}
	// models.csv: one row per model, the best layer, the subjects' mean and standard error.
	lines := strings.Split(strings.TrimSpace(string(mustRead(t, filepath.Join(out, "models.csv")))), "\n")
	if lines[0] != "group,model,compute,score,score_se,subjects,checkpoint,step,layer,layer_index,relative_depth,line" || len(lines) != 13 {
		t.Fatalf("models.csv:\n%s", strings.Join(lines, "\n"))
	}
	for _, l := range lines[1:] {
		c := strings.Split(l, ",")
		x, _ := strconv.ParseFloat(c[2], 64)
		score, _ := strconv.ParseFloat(c[3], 64)
		se, _ := strconv.ParseFloat(c[4], 64)
		if math.Abs(score-plantedScore(c[0], x)) > 1e-9 || math.Abs(se-0.01) > 1e-9 || c[5] != "2" || c[6] != "final" || c[8] != "block1" || c[10] != "0.5" {
			t.Errorf("models.csv row %q: want score %v ± 0.01 at block1", l, plantedScore(c[0], x))
		}
	}

	// --layer last and an ROI: block2 of IT (targets 2, 3: mean + 0.01).
	out2 := filepath.Join(dir, "res2")
	stdout = mustRun(t, "scaling", "--table", table, "--group", "family", "--sweeps", filepath.Join(root, "vit-0"), "--sweeps", root,
		"--layer", "last", "--roi", "it", "--bootstrap", "0", "--no-figures", "--out", out2)
	if !strings.Contains(stdout, "the mean over the targets of it at each model's last layer and its last checkpoint") {
		t.Errorf("stdout: %s", stdout)
	}
	lines = strings.Split(strings.TrimSpace(string(mustRead(t, filepath.Join(out2, "models.csv")))), "\n")
	for _, l := range lines[1:] {
		c := strings.Split(l, ",")
		x, _ := strconv.ParseFloat(c[2], 64)
		score, _ := strconv.ParseFloat(c[3], 64)
		if want := plantedScore(c[0], x) - 0.05 + 0.01; math.Abs(score-want) > 1e-9 || c[8] != "block2" {
			t.Errorf("--layer last --roi it: row %q, want %v at block2", l, want)
		}
	}
}

func TestScalingFromSweepsErrors(t *testing.T) {
	dir := t.TempDir()
	table, root := writeScalingSweeps(t, dir)
	out := filepath.Join(dir, "out")
	args := func(extra ...string) []string {
		return append([]string{"scaling", "--table", table, "--group", "family", "--sweeps", root, "--out", out}, extra...)
	}
	wantError(t, 2, "--y names the table's score column; with --sweeps the scores come from the sweeps", args("--y", "score")...)
	wantError(t, 2, "--layer chooses the scores of --sweeps", "scaling", "--table", table, "--layer", "last", "--out", out)
	wantError(t, 1, `no layer "block7"`, args("--layer", "block7")...)
	wantError(t, 1, `no ROI named "V4" (have V1, IT)`, args("--roi", "V4")...)
	wantError(t, 1, `no checkpoint "ckpt-5"`, args("--checkpoint", "ckpt-5")...)
	wantError(t, 1, "--window, but the sweep has no MEG times (sweep's --times)", args("--window", "0.1:0.3")...)
	wantError(t, 2, `--window: "0.3:0.1" is not START:END in seconds with END > START`, args("--window", "0.3:0.1")...)
	wantError(t, 2, "--window chooses the scores of --sweeps", "scaling", "--table", table, "--window", "0:1", "--out", out)
	wantError(t, 2, "--ceiled chooses the scores of --sweeps", "scaling", "--table", table, "--ceiled", "--out", out)
	wantError(t, 1, "--ceiled, but the sweep has no noise ceiling (sweep's --ceiling", args("--ceiled")...)
	wantError(t, 1, `no column "name" for the model names`, args("--model-column", "name")...)
	os.Mkdir(filepath.Join(dir, "none"), 0o755)
	wantError(t, 1, "none: no sweep output folder in it", "scaling", "--table", table, "--sweeps", filepath.Join(dir, "none"), "--out", out)
	other := writeText(t, dir, "other.csv", "model,compute\nx,1\ny,2\n")
	wantError(t, 1, "other.csv: none of its models has sweeps among --sweeps (25 sweeps, of models cnn-0, cnn-1, cnn-2, cnn-3, cnn-4, cnn-5, ... 7 more; the table's model column", "scaling", "--table", other, "--sweeps", root, "--out", out)

	// A subject given twice (a copy of a sweep) is refused, naming the model and its line.
	copySweep(t, filepath.Join(root, "cnn-2", "sub-01"), filepath.Join(root, "cnn-2", "sub-01-again"), nil)
	wantError(t, 2, "model cnn-2 ("+table+" line 10): subject sub-01 has two sweeps among the sweeps of model cnn-2", args()...)
	os.RemoveAll(filepath.Join(root, "cnn-2", "sub-01-again"))

	// A model scored on other brain data is fitted, with a warning.
	copySweep(t, filepath.Join(root, "cnn-3", "sub-02"), filepath.Join(root, "cnn-3", "sub-02-new"), func(s string) string {
		return strings.Replace(strings.Replace(s, "brain-sub-02", "brain-sub-02-v2", 1), `"sub-02"`, `"sub-03"`, 1)
	})
	_, stderr, code := runCLI(t, args("--bootstrap", "0")...)
	if code != 0 || !strings.Contains(stderr, "1 models were scored on other subjects, brain data or options than most models (as vit-0, 2 sweeps; their sweeps' fingerprints differ), so their scores may not be comparable: cnn-3") {
		t.Errorf("exit %d, stderr %s", code, stderr)
	}
	os.RemoveAll(out)
	// Damaged scores are an error, not a number.
	p := filepath.Join(root, "vit-4", "sub-01", "scores.npy")
	if err := array.WriteNPY(p, []int{1, 3, 3}, make([]float64, 9)); err != nil {
		t.Fatal(err)
	}
	wantError(t, 1, "scores.npy: shape [1 3 3], want [1 3 4]", args()...)
	if err := array.WriteNPY(p, []int{1, 3, 4}, []float64{0, 0, 0, 0, 0, math.NaN(), 0, 0, 0, 0, 0, 0}); err != nil {
		t.Fatal(err)
	}
	wantError(t, 1, "the mean score of layer block1 at checkpoint final is NaN", args()...)
	if _, err := os.Stat(out); err == nil {
		t.Errorf("a failed run left %s", out)
	}
}
