package main

import (
	"encoding/csv"
	"encoding/json"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/brainalign/brainalign/array"
)

// readJSON decodes a results file into a generic map.
func readJSON(t *testing.T, path string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return m
}

// get walks a decoded JSON document by keys.
func get(t *testing.T, m map[string]any, keys ...string) any {
	t.Helper()
	var v any = m
	for _, k := range keys {
		mm, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("%v: no object at %q", keys, k)
		}
		v = mm[k]
	}
	return v
}

func num(t *testing.T, m map[string]any, keys ...string) float64 {
	t.Helper()
	f, ok := get(t, m, keys...).(float64)
	if !ok {
		t.Fatalf("%v is not a number: %v", keys, get(t, m, keys...))
	}
	return f
}

func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, code := runCLI(t, args...)
	if code != 0 {
		t.Fatalf("brainalign %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

func checkPNGFile(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := png.Decode(f); err != nil {
		t.Errorf("%s: %v", path, err)
	}
}

// TestStudyCommandsEndToEnd writes the small synthetic study with `synth`, sweeps it from the
// files, and checks what spatial, temporal, halftime and compare recover against truth.json.
// The study and its sweeps are the metric commands' fixture (the same commands, made once).
func TestStudyCommandsEndToEnd(t *testing.T) {
	_, st, fm := metricSweeps(t)
	mg := megSweeps(t)
	truth := readJSON(t, filepath.Join(st, "truth.json"))
	res := t.TempDir()
	if len(metricsFixture.reports) != len(fm) {
		t.Fatalf("%d sweep reports for %d sweeps", len(metricsFixture.reports), len(fm))
	}
	for i, out := range metricsFixture.reports {
		if !strings.Contains(out, "6 checkpoint(s) x 6 layers = 36 units") || !strings.Contains(out, "scored 36, reused 0") {
			t.Errorf("sweep report of %s:\n%s", fm[i], out)
		}
	}
	// A second run reuses every unit (in a copy: the fixture is shared).
	again := filepath.Join(res, "meg-again")
	copySweep(t, mg[1], again, nil)
	out := mustRun(t, "sweep", "--features", filepath.Join(st, "model"), "--model", "synth", "--subject", "sub-02",
		"--brain", filepath.Join(st, "meg", "sub-02", "brain.npy"), "--times", filepath.Join(st, "meg", "times.npy"), "--out", again)
	if !strings.Contains(out, "scored 0, reused 36") {
		t.Errorf("rerun did not reuse the units:\n%s", out)
	}
	a, err := array.ReadNPY(filepath.Join(mg[0], "scores.npy"))
	if err != nil {
		t.Fatal(err)
	}
	if got := a.Shape; len(got) != 4 || got[0] != 6 || got[1] != 6 || got[2] != 16 || got[3] != 31 {
		t.Errorf("MEG scores.npy shape %v, want [6 6 16 31]", got)
	}
	a.Close()

	out = mustRun(t, append([]string{"spatial", "--out", filepath.Join(res, "spatial")}, fm...)...)
	sp := readJSON(t, filepath.Join(res, "spatial", "spatial.json"))
	if r, want := num(t, sp, "result", "target_level", "r"), num(t, truth, "fmri", "spatial_r"); math.Abs(r-want) > 0.05 {
		t.Errorf("spatial r %.3f, planted %.3f\n%s", r, want, out)
	}
	for _, f := range []string{"spatial.png", "spatial_roi.png"} {
		checkPNGFile(t, filepath.Join(res, "spatial", f))
	}
	out = mustRun(t, append([]string{"temporal", "--out", filepath.Join(res, "temporal")}, mg...)...)
	tp := readJSON(t, filepath.Join(res, "temporal", "temporal.json"))
	if r, want := num(t, tp, "result", "temporal_score", "r"), num(t, truth, "meg", "temporal_r"); math.Abs(r-want) > 0.05 {
		t.Errorf("temporal r %.3f, planted %.3f\n%s", r, want, out)
	}
	checkPNGFile(t, filepath.Join(res, "temporal", "temporal.png"))

	out = mustRun(t, append([]string{"halftime", "--out", filepath.Join(res, "ht")}, fm...)...)
	ht := readJSON(t, filepath.Join(res, "ht", "halftime.json"))
	got, want := num(t, ht, "result", "encoding", "half_time", "step"), num(t, truth, "fmri", "encoding_half_time")
	if d := math.Abs(math.Log10(got / want)); d > 0.2 {
		t.Errorf("fMRI encoding half-time %.0f, planted %.0f (%.2f decades)\n%s", got, want, d, out)
	}
	for _, f := range []string{"halftime_encoding.png", "halftime_spatial.png", "halftime_roi.png"} {
		checkPNGFile(t, filepath.Join(res, "ht", f))
	}
	f, err := os.Open(filepath.Join(res, "ht", "halftime.csv"))
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil || len(recs) != 1+2+6 || strings.Join(recs[0], ",") != "metric,name,half_time_step,half_time_fraction,final_value" {
		t.Errorf("halftime.csv: %v %v", recs, err)
	}

	// A rerun with --no-figures into the same folders leaves none of the earlier run's figures
	// beside its numbers.
	for _, c := range []struct {
		cmd, dir string
		sweeps   []string
		figures  []string
	}{
		{"spatial", "spatial", fm, []string{"spatial.png", "spatial_roi.png"}},
		{"temporal", "temporal", mg, []string{"temporal.png"}},
		{"halftime", "ht", fm, []string{"halftime_encoding.png", "halftime_spatial.png", "halftime_roi.png"}},
	} {
		mustRun(t, append([]string{c.cmd, "--no-figures", "--out", filepath.Join(res, c.dir)}, c.sweeps...)...)
		for _, f := range c.figures {
			if _, err := os.Stat(filepath.Join(res, c.dir, f)); err == nil {
				t.Errorf("%s --no-figures: %s of the earlier run is still there", c.cmd, f)
			}
		}
	}

	// Compare the trained model with a mid-training checkpoint, on the same subjects.
	args := []string{"compare", "--metric", "encoding", "--checkpoint-b", "2", "--out", filepath.Join(res, "cmp")}
	for i := range fm {
		args = append(args, "--a", fm[i], "--b", fm[i])
	}
	out = mustRun(t, args...)
	cmp := readJSON(t, filepath.Join(res, "cmp", "compare.json"))
	if d := num(t, cmp, "result", "wilcoxon", "mean_diff"); !(d > 0.05) {
		t.Errorf("trained minus checkpoint 2 mean difference %v, want > 0.05\n%s", d, out)
	}
	if !strings.Contains(out, "Wilcoxon signed-rank") {
		t.Errorf("compare report:\n%s", out)
	}
}

func TestSweepShardsCLI(t *testing.T) {
	dir := t.TempDir()
	st := filepath.Join(dir, "study")
	mustRun(t, "synth", "--out", st, "--subjects", "1", "--format", "npz")
	args := []string{"sweep", "--features", filepath.Join(st, "model"), "--brain", filepath.Join(st, "fmri", "sub-01", "brain.npy"),
		"--out", filepath.Join(dir, "s"), "--alphas", "1,100", "--folds", "3"}
	out := mustRun(t, append(args, "--shard", "0/2")...)
	if !strings.Contains(out, "shard 0/2 (18 units)") || !strings.Contains(out, "18 units of other shards are not done yet") {
		t.Errorf("shard 0/2:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(dir, "s", "scores.npy")); err == nil {
		t.Error("merged before every shard was done")
	}
	t.Setenv("SLURM_ARRAY_TASK_ID", "1")
	t.Setenv("SLURM_ARRAY_TASK_COUNT", "2")
	// A job array alone does not shard (one subject per task is as common) ...
	_, stderr, code := runCLI(t, append(args[:len(args)-6:len(args)-6], "--out", filepath.Join(dir, "whole"), "--alphas", "1,100", "--folds", "3")...)
	if code != 0 || !strings.Contains(stderr, "give --shard slurm to split one sweep") {
		t.Errorf("in a job array without --shard: exit %d, %s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "whole", "scores.npy")); err != nil {
		t.Errorf("in a job array without --shard, the sweep was not completed: %v", err)
	}
	// ... --shard slurm does.
	out = mustRun(t, append(args, "--shard", "slurm")...)
	if !strings.Contains(out, "shard 1/2 (18 units)") || !strings.Contains(out, "wrote "+filepath.Join(dir, "s")) {
		t.Errorf("Slurm shard 1/2:\n%s", out)
	}
	f, err := os.Open(filepath.Join(dir, "s", "table.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil || len(recs) != 37 || recs[0][0] != "model" || recs[1][2] != "ckpt-000000100" || recs[1][3] != "100" {
		t.Errorf("table.csv: %d rows, %v", len(recs), err)
	}
}

func TestStudyCLIErrors(t *testing.T) {
	dir := t.TempDir()
	st := filepath.Join(dir, "study")
	mustRun(t, "synth", "--out", st, "--subjects", "1")
	model := filepath.Join(st, "model")
	fbrain := filepath.Join(st, "fmri", "sub-01", "brain.npy")
	short := filepath.Join(dir, "short.npy")
	array.WriteNPY(short, []int{399, 3}, make([]float64, 399*3))
	roi2 := filepath.Join(dir, "roi2.npy")
	array.WriteNPY(roi2, []int{2}, []int64{0, 1})
	// A single-checkpoint sweep, for the metrics that need more.
	one := filepath.Join(dir, "one")
	mustRun(t, "sweep", "--features", filepath.Join(model, "ckpt-010000000"), "--brain", fbrain, "--out", one, "--alphas", "1,100")
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"sweep", "--brain", fbrain, "--out", filepath.Join(dir, "x")}, 2, "sweep needs --features and --brain"},
		{[]string{"sweep", "--features", model, "--brain", short, "--out", filepath.Join(dir, "x")}, 1, "rows"},
		{[]string{"sweep", "--features", model, "--brain", fbrain, "--roi", roi2, "--out", filepath.Join(dir, "x")}, 1, roi2 + ": 2 ROI labels for the 360 targets"},
		{[]string{"sweep", "--features", model, "--brain", fbrain, "--steps", "1,2", "--out", filepath.Join(dir, "x")}, 1, "2 steps given for 6 checkpoints"},
		{[]string{"sweep", "--features", filepath.Join(model, "ckpt-000000100", "layer00.npy"), "--brain", fbrain, "--out", filepath.Join(dir, "x")}, 1, "too few layers"},
		{[]string{"sweep", "--features", model, "--brain", fbrain, "--shard", "2/2", "--out", filepath.Join(dir, "x")}, 2, "--shard"},
		{[]string{"halftime", "--out", filepath.Join(dir, "h"), one}, 1, "too few checkpoints: 1"},
		{[]string{"spatial", "--out", filepath.Join(dir, "h"), one}, 1, one + ": no target coordinates"},
		{[]string{"temporal", "--out", filepath.Join(dir, "h"), one}, 1, one + ": no MEG times"},
		{[]string{"spatial", "--out", filepath.Join(dir, "h"), model}, 1, "not a sweep output folder"},
		{[]string{"spatial", "--out", filepath.Join(dir, "h")}, 2, "no sweep folders"},
		{[]string{"compare", "--a", one, "--b", one, "--metric", "size", "--out", filepath.Join(dir, "h")}, 2, `metric "size"`},
	} {
		out, errOut, code := runCLI(t, c.args...)
		msg := strings.TrimSpace(errOut)
		if code != c.code || !strings.Contains(msg, c.want) || strings.Count(msg, "\n") > 0 {
			t.Errorf("brainalign %s: exit %d, stderr %q (stdout %q); want exit %d and one line containing %q",
				strings.Join(c.args, " "), code, errOut, out, c.code, c.want)
		}
	}
}
