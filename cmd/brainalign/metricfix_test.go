package main

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/brainalign/brainalign/array"
)

// megFixture adds MEG sweeps of sub-01 and sub-02 to the metric commands' study (metricSweeps),
// made once, for the tests of temporal windows.
var megFixture struct {
	once sync.Once
	err  string
	mg   []string
}

func megSweeps(t *testing.T) []string {
	t.Helper()
	dir, study, _ := metricSweeps(t)
	f := &megFixture
	f.once.Do(func() {
		for _, sub := range []string{"sub-01", "sub-02"} {
			o := filepath.Join(dir, "meg", sub)
			_, errOut, code := runCLI(t, "sweep", "--features", filepath.Join(study, "model"), "--model", "synth", "--subject", sub,
				"--brain", filepath.Join(study, "meg", sub, "brain.npy"), "--times", filepath.Join(study, "meg", "times.npy"), "--out", o)
			if code != 0 {
				f.err = "sweep: " + errOut
				return
			}
			f.mg = append(f.mg, o)
		}
	})
	if f.err != "" {
		t.Fatal(f.err)
	}
	return f.mg
}

// notThere fails when a command left path behind.
func notThere(t *testing.T, path, what string) {
	t.Helper()
	if _, err := os.Lstat(path); err == nil {
		entries, _ := os.ReadDir(path)
		t.Errorf("%s left %s behind (holding %d entries)", what, path, len(entries))
	}
}

// Sweeps of different models (or of other layers, checkpoints or steps) are not subjects of one
// model: every command that pools a group refuses them as a command-line mistake naming both
// folders, before writing anything.
func TestMetricCommandsRefuseOtherModels(t *testing.T) {
	_, _, fm := metricSweeps(t)
	tmp := t.TempDir()
	other := filepath.Join(tmp, "vitB", "sub-02")
	copySweep(t, fm[1], other, func(s string) string { return strings.Replace(s, `"model": "synth"`, `"model": "vitB"`, 1) })
	layers := filepath.Join(tmp, "layers", "sub-02")
	copySweep(t, fm[1], layers, func(s string) string { return strings.Replace(s, `"layer05"`, `"head"`, 1) })
	ckpt := filepath.Join(tmp, "ckpt", "sub-02")
	copySweep(t, fm[1], ckpt, func(s string) string {
		return strings.Replace(s, `"name": "ckpt-000000100"`, `"name": "ckpt-000000200"`, 1)
	})
	steps := filepath.Join(tmp, "steps", "sub-02")
	copySweep(t, fm[1], steps, func(s string) string { return strings.Replace(s, `"step": 100,`, `"step": 200,`, 1) })
	out := filepath.Join(tmp, "out")
	model := fm[0] + ` is a sweep of model "synth", ` + other + ` of model "vitB": the sweeps pooled must be subjects of one model`
	for _, cmd := range []string{"spatial", "temporal", "halftime"} {
		wantError(t, 2, model, cmd, "--out", out, fm[0], other)
		wantError(t, 2, model, cmd, "--out", out, "--sweep", fm[0], "--sweep", other)
		wantError(t, 2, layers+`: layer 5 is "head", in `+fm[0]+` it is "layer05"`, cmd, "--out", out, fm[0], layers)
		wantError(t, 2, ckpt+`: checkpoint 0 is "ckpt-000000200", in `+fm[0]+` it is "ckpt-000000100"`, cmd, "--out", out, fm[0], ckpt)
		notThere(t, out, cmd)
	}
	wantError(t, 2, steps+": checkpoint ckpt-000000100 is at step 200, in "+fm[0]+" at step 100", "halftime", "--out", out, fm[0], steps)
	// compare: each side is one model's subjects; A and B may be different models.
	wantError(t, 2, "--a: "+model, "compare", "--a", fm[0], "--a", other, "--b", fm[0], "--b", fm[1], "--out", out)
	wantError(t, 2, "--b: "+model, "compare", "--a", fm[0], "--a", fm[1], "--b", fm[0], "--b", other, "--out", out)
	notThere(t, out, "compare")
	mustRun(t, "compare", "--a", fm[1], "--b", other, "--out", out)
}

// When a sweep has no subject label, compare pairs A and B by position: it says so and names the
// pairs, so that a -b list in another order shows, and compare.json records the pairs.
func TestComparePairingByOrderNoted(t *testing.T) {
	_, _, fm := metricSweeps(t)
	tmp := t.TempDir()
	var unl []string
	for i, sub := range []string{"sub-01", "sub-02"} {
		d := filepath.Join(tmp, "m4", sub)
		copySweep(t, fm[i], d, func(s string) string { return strings.Replace(s, `"subject": "`+sub+`",`, "", 1) })
		unl = append(unl, d)
	}
	// B unlabelled, given in the other order: each pair's sweeps are of other subjects' brain data
	out := filepath.Join(tmp, "cmp")
	wantError(t, 1, fm[0]+" (model A) and "+unl[0]+" (model B) are sweeps of the same brain data, but by their order the first is paired with "+unl[1],
		"compare", "--a", fm[0], "--a", fm[1], "--b", unl[1], "--b", unl[0], "--out", out)
	// labelled, but each B label on the other subject's data (brain files swapped in the sweeps)
	swapped := []string{filepath.Join(tmp, "swap", "sub-02"), filepath.Join(tmp, "swap", "sub-01")}
	copySweep(t, fm[0], swapped[0], func(s string) string { return strings.Replace(s, `"subject": "sub-01"`, `"subject": "sub-02"`, 1) })
	copySweep(t, fm[1], swapped[1], func(s string) string { return strings.Replace(s, `"subject": "sub-02"`, `"subject": "sub-01"`, 1) })
	wantError(t, 1, fm[0]+" (model A) and "+swapped[0]+" (model B) are sweeps of the same brain data, but by subject label the first is paired with "+swapped[1],
		"compare", "--a", fm[0], "--a", fm[1], "--b", swapped[1], "--b", swapped[0], "--out", out)
	// in the right order: paired by order, said
	stdout := mustRun(t, "compare", "--a", fm[0], "--a", fm[1], "--b", unl[0], "--b", unl[1], "--out", out)
	want := "note: B sweeps have no subject labels: paired by order: sub-01 ↔ " + unl[0] + ", sub-02 ↔ " + unl[1]
	if !strings.Contains(stdout, want) {
		t.Errorf("compare with unlabelled B sweeps: want %q in\n%s", want, stdout)
	}
	cmp := readJSON(t, filepath.Join(out, "compare.json"))
	if p := get(t, cmp, "result", "pairing"); p != "order" {
		t.Errorf("pairing %v, want order", p)
	}
	pairs, _ := get(t, cmp, "result", "pairs").([]any)
	if len(pairs) != 2 {
		t.Fatalf("pairs %v", get(t, cmp, "result", "pairs"))
	}
	for i, w := range [][2]string{{fm[0], unl[0]}, {fm[1], unl[1]}} {
		p, _ := pairs[i].(map[string]any)
		if p["a"] != w[0] || p["b"] != w[1] {
			t.Errorf("pair %d: %v, want a %s, b %s", i, p, w[0], w[1])
		}
	}
	// One A sweep unlabelled: named.
	out2 := filepath.Join(tmp, "cmp2")
	stdout = mustRun(t, "compare", "--a", unl[0], "--a", fm[1], "--b", fm[0], "--b", fm[1], "--out", out2)
	if want := "note: 1 of 2 A sweeps has no subject label (" + unl[0] + "): paired by order: " + unl[0] + " ↔ sub-01, sub-02 ↔ sub-02"; !strings.Contains(stdout, want) {
		t.Errorf("compare with one unlabelled A sweep: want %q in\n%s", want, stdout)
	}
	// Every sweep labelled: paired by label whatever the order, and no note.
	out3 := filepath.Join(tmp, "cmp3")
	stdout = mustRun(t, "compare", "--a", fm[0], "--a", fm[1], "--b", fm[1], "--b", fm[0], "--checkpoint-b", "2", "--out", out3)
	if strings.Contains(stdout, "paired by order") {
		t.Errorf("labelled sweeps reported as paired by order:\n%s", stdout)
	}
	cmp = readJSON(t, filepath.Join(out3, "compare.json"))
	pairs, _ = get(t, cmp, "result", "pairs").([]any)
	if p := get(t, cmp, "result", "pairing"); p != "subject labels" || len(pairs) != 2 || pairs[0].(map[string]any)["b"] != fm[0] {
		t.Errorf("labelled sweeps: pairing %v, pairs %v", p, pairs)
	}
}

// A --windows window holding no time point is a mistake in the flag, named as such, for every
// command that takes --windows; nothing is written.
func TestWindowsWithoutTimePoints(t *testing.T) {
	_, _, fm := metricSweeps(t)
	mg := megSweeps(t)
	out := filepath.Join(t.TempDir(), "o")
	const want = "--windows: window [2, 3) holds no time point (times run from -0.5 to 1 s)"
	wantError(t, 2, want, "temporal", "--windows", "0.2:0.3,2:3", "--out", out, mg[0], mg[1])
	wantError(t, 2, want, "halftime", "--windows", "0.2:0.3,2:3", "--out", out, mg[0], mg[1])
	// compare's metrics use no windows: the flag is refused rather than ignored, as are the
	// flags of the other metrics; halftime's V1 needs coordinates
	wantError(t, 2, "flag provided but not defined: -windows", "compare", "--metric", "temporal", "--windows", "2:3", "--a", mg[0], "--b", mg[1], "--out", out)
	wantError(t, 2, "--fdr does not apply to --metric temporal", "compare", "--metric", "temporal", "--fdr", "0.5", "--a", mg[0], "--b", mg[1], "--out", out)
	wantError(t, 2, "--v1 does not apply to --metric encoding", "compare", "--v1", "1,2,3", "--a", fm[0], "--b", fm[1], "--out", out)
	wantError(t, 2, "--times does not apply to --metric spatial", "compare", "--metric", "spatial", "--times", fm[0], "--a", fm[0], "--b", fm[1], "--out", out)
	wantError(t, 2, "--v1: "+mg[0]+" has no target coordinates", "halftime", "--v1", "1,2,3", "--out", out, mg[0], mg[1])
	wantError(t, 2, "--windows: "+fm[0]+" has no MEG times, so no window applies", "halftime", "--windows", "0.2:0.3", "--out", out, fm[0])
	notThere(t, out, "--windows")
	stdout := mustRun(t, "temporal", "--no-figures", "--windows", "0.2:0.3", "--out", out, mg[0], mg[1])
	if !strings.Contains(stdout, "best layer in [0.2, 0.3) s:") {
		t.Errorf("temporal --windows 0.2:0.3:\n%s", stdout)
	}
}

// Times saved as TMin + j/rate (or by np.arange) carry rounding errors: 0.1 s stored as
// 0.09999999999999998 is in the window 0.1:0.15 all the same. A window of no significant target
// has no half-time and no values (empty cells, JSON null), not values of 0.
func TestWindowBoundsAndEmptyWindows(t *testing.T) {
	mg := megSweeps(t)
	dir := t.TempDir()
	n := len(readNPY(t, filepath.Join(mg[0], "meta", "times.npy")).F64)
	times := make([]float64, n)
	for j := range times {
		times[j] = -0.5 + float64(j)/20
	}
	if times[12] == 0.1 || math.Abs(times[12]-0.1) > 1e-15 {
		t.Fatalf("time 12 is %v: the test needs one off 0.1 by rounding", times[12])
	}
	tf := filepath.Join(dir, "times.npy")
	must(t, array.WriteNPY(tf, []int{n}, times))
	stdout := mustRun(t, "temporal", "--no-figures", "--times", tf, "--windows", "0.1:0.15", "--out", filepath.Join(dir, "t"), mg[0], mg[1])
	if !strings.Contains(stdout, "best layer in [0.1, 0.15) s:") {
		t.Errorf("temporal --windows 0.1:0.15 with 0.1 stored as %v:\n%s", times[12], stdout)
	}
	// times in milliseconds: used as given, but said, and why no window has a best layer
	ms := make([]float64, n)
	for j := range ms {
		ms[j] = 1000 * times[j]
	}
	must(t, array.WriteNPY(tf, []int{n}, ms))
	for _, cmd := range []string{"temporal", "halftime"} {
		_, stderr, code := runCLI(t, cmd, "--no-figures", "--times", tf, "--out", filepath.Join(dir, cmd+"-ms"), mg[0], mg[1])
		if code != 0 || !strings.Contains(stderr, "warning: the MEG times run from -500 to 1000 in steps of 50: are they seconds?") ||
			!strings.Contains(stderr, "note: none of the study's windows (0.08-0.13, 0.13-0.18, 0.5-0.55 s) holds a time point (times -500 to 1000)") {
			t.Errorf("%s with times in ms: exit %d, %s", cmd, code, stderr)
		}
	}
	ht := filepath.Join(dir, "h")
	mustRun(t, "halftime", "--no-figures", "--windows", "-0.3:-0.2", "--out", ht, mg[0], mg[1])
	if csv := readFile(t, filepath.Join(ht, "halftime.csv")); !strings.Contains(csv, "\nwindow,-0.3--0.2 s,,,\n") {
		t.Errorf("halftime of a window without a significant target:\n%s", csv)
	}
	w := get(t, readJSON(t, filepath.Join(ht, "halftime.json")), "result", "windows").([]any)[0].(map[string]any)
	for c, v := range w["values"].([]any) {
		if v != nil {
			t.Errorf("window without a significant target: value %v at checkpoint %d, want null", v, c)
		}
	}
}

// A metric command that fails leaves no --out folder (nor the parents it would have made); a
// folder that existed before is left as it was; an existing folder with files gets the results
// beside them.
func TestFailedMetricRunsLeaveNoFolder(t *testing.T) {
	_, _, fm := metricSweeps(t)
	mg := megSweeps(t)
	tmp := t.TempDir()
	newOut := filepath.Join(tmp, "new", "deeper", "o")
	for _, c := range []struct {
		want string
		args []string
	}{
		{`no ROI named "V9"`, []string{"spatial", "--v1-roi", "V9", "--out", newOut, fm[0], fm[1]}},
		{"no MEG times", []string{"temporal", "--out", newOut, fm[0], fm[1]}},
		{"significance across subjects needs at least 2", []string{"halftime", "--replicates", "subjects", "--out", newOut, fm[0]}},
		{`no ROI named "V9"`, []string{"compare", "--metric", "spatial", "--v1-roi", "V9", "--a", fm[0], "--b", fm[0], "--checkpoint-b", "2", "--out", newOut}},
	} {
		wantError(t, 1, c.want, c.args...)
		notThere(t, filepath.Join(tmp, "new"), c.args[0])
	}
	// An empty folder given stays, empty.
	empty := filepath.Join(tmp, "empty")
	os.Mkdir(empty, 0o755)
	wantError(t, 1, `no ROI named "V9" (have V1, V2, V4, LO, IT, PFC: a sweep keeps the ROIs its targets carry`, "spatial", "--v1-roi", "V9", "--out", empty, fm[0])
	if entries, err := os.ReadDir(empty); err != nil || len(entries) != 0 {
		t.Errorf("failed run into an empty folder: %v, %v", entries, err)
	}
	// Success: a new nested folder is made; results join the files of an existing folder.
	mustRun(t, "spatial", "--no-figures", "--out", newOut, fm[0], fm[1])
	mustRun(t, "temporal", "--no-figures", "--out", newOut, mg[0], mg[1])
	for _, f := range []string{"spatial.json", "mask.npy", "temporal.json", "temporal_curves.npy"} {
		if _, err := os.Stat(filepath.Join(newOut, f)); err != nil {
			t.Error(err)
		}
	}
	entries, _ := os.ReadDir(filepath.Dir(newOut))
	if len(entries) != 1 {
		t.Errorf("beside the output folder: %v", entries)
	}
	// A file where the folder should be is refused before anything is computed.
	file := filepath.Join(tmp, "file")
	os.WriteFile(file, []byte("x"), 0o644)
	wantError(t, 1, "--out "+file+": exists and is not a directory", "spatial", "--out", file, fm[0])
}

// Flag values out of range are command-line mistakes (exit 2) naming the flag.
func TestModelAndCompareFlagValuesExitTwo(t *testing.T) {
	dir := t.TempDir()
	xp, yp := writeStudy(t, dir, 60, 4, 8)
	out := filepath.Join(dir, "o")
	for _, k := range []string{"1", "0", "-3"} {
		wantError(t, 2, "--folds: need at least 2, got "+k, "encode", "-x", xp, "-y", yp, "-o", out, "--folds", k)
	}
	wantError(t, 2, "--folds: need at least 2, got 1", "encode", "-x", xp, "-y", yp, "-o", out, "--folds", "1", "--shuffle-seed", "3")
	for _, s := range []string{"-5", "-2"} {
		wantError(t, 2, "--shuffle-seed "+s+": want a seed from 0 to 4294967295, or -1 for no shuffle", "encode", "-x", xp, "-y", yp, "-o", out, "--shuffle-seed", s)
	}
	notThere(t, out, "encode")
	mustRun(t, "encode", "-x", xp, "-y", yp, "-o", out, "--shuffle-seed", "-1", "--folds", "3")

	_, _, fm := metricSweeps(t)
	cmp := filepath.Join(dir, "cmp")
	wantError(t, 2, `--metric "bogus": want encoding, spatial or temporal`, "compare", "--metric", "bogus", "--a", fm[0], "--b", fm[1], "--out", cmp)
	notThere(t, cmp, "compare --metric bogus")
}
