package main

import (
	"context"
	"encoding/binary"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/brainalign/brainalign/array"
	"github.com/brainalign/brainalign/ceiling"
	"github.com/brainalign/brainalign/engine"
)

// trialStudy is trial-level MEG-shaped data (trials x channels x times) driven by features of
// the stimuli, with one to three trials per stimulus over two sessions.
type trialStudy struct {
	dir                            string
	features, featureIDs           string // stimuli x d, in another order than the trials
	trials, ids, sessions          string
	y                              engine.Matrix
	idList                         []string
	sessionList                    []int
	stimuli, channels, times, nTri int
}

func writeTrialStudy(t *testing.T) trialStudy {
	t.Helper()
	rng := rand.New(rand.NewPCG(7, 8))
	st := trialStudy{dir: t.TempDir(), stimuli: 150, channels: 3, times: 4}
	const d = 6
	m := st.channels * st.times
	x := make([]float32, st.stimuli*d)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	w := make([]float64, d*m)
	for i := range w {
		w[i] = rng.NormFloat64() * float64(i%m) / float64(m) // target 0 (channel 0, time 0) pure noise
	}
	var data []float32
	for s := range st.stimuli {
		for range 1 + s%3 {
			st.idList = append(st.idList, fmt.Sprintf("img%03d", s))
			st.sessionList = append(st.sessionList, len(st.idList)%2)
			for j := range m {
				v := rng.NormFloat64()
				for k := range d {
					v += float64(x[s*d+k]) * w[k*m+j]
				}
				data = append(data, float32(v))
			}
		}
	}
	st.nTri = len(st.idList)
	rng.Shuffle(st.nTri, func(a, b int) {
		st.idList[a], st.idList[b] = st.idList[b], st.idList[a]
		for j := range m {
			data[a*m+j], data[b*m+j] = data[b*m+j], data[a*m+j]
		}
	})
	st.y = engine.NewMatrix32(st.nTri, m, data)
	st.trials, st.ids, st.sessions = filepath.Join(st.dir, "trials.npy"), filepath.Join(st.dir, "trial_ids.txt"), filepath.Join(st.dir, "sessions.npy")
	must(t, array.WriteNPY(st.trials, []int{st.nTri, st.channels, st.times}, data))
	must(t, os.WriteFile(st.ids, []byte(strings.Join(st.idList, "\n")+"\n"), 0o644))
	sess := make([]int64, st.nTri)
	for i, v := range st.sessionList {
		sess[i] = int64(v)
	}
	must(t, array.WriteNPY(st.sessions, []int{st.nTri}, sess))
	// features listed in reverse stimulus order
	rev := make([]float32, 0, len(x))
	var fids []string
	for s := st.stimuli - 1; s >= 0; s-- {
		rev = append(rev, x[s*d:(s+1)*d]...)
		fids = append(fids, fmt.Sprintf("img%03d", s))
	}
	st.features, st.featureIDs = filepath.Join(st.dir, "X.npy"), filepath.Join(st.dir, "X_ids.txt")
	must(t, array.WriteNPY(st.features, []int{st.stimuli, d}, rev))
	must(t, os.WriteFile(st.featureIDs, []byte(strings.Join(fids, "\n")+"\n"), 0o644))
	return st
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func readNPY(t *testing.T, path string) *array.Array {
	t.Helper()
	a, err := array.ReadNPY(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

// ceiling writes what the library computes, shaped as the brain data's targets; encode divides
// its scores by it.
func TestCeilingThenEncode(t *testing.T) {
	st := writeTrialStudy(t)
	out := filepath.Join(st.dir, "ceil")
	stdout, stderr, code := runCLI(t, "ceiling", "--brain", st.trials, "--ids", st.ids, "--sessions", st.sessions, "--out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "noise ceiling (ncsnr) of 12 targets from 300 trials of 150 stimuli (100 shown more than once") {
		t.Errorf("stdout: %s", stdout)
	}
	want, err := ceiling.Estimate(context.Background(), st.y, st.idList, ceiling.Options{Groups: st.sessionList, Average: true})
	must(t, err)
	for name, v := range map[string][]float64{"ceiling.npy": want.Ceiling, "explainable_variance.npy": want.Explainable, "ncsnr.npy": want.SNR} {
		a := readNPY(t, filepath.Join(out, name))
		if fmt.Sprint(a.Shape) != "[3 4]" || a.DType != "float64" {
			t.Errorf("%s: shape %v dtype %s, want [3 4] float64", name, a.Shape, a.DType)
		}
		for j := range v {
			if a.F64[j] != v[j] {
				t.Errorf("%s[%d] = %v, want %v", name, j, a.F64[j], v[j])
			}
		}
	}
	if want.Ceiling[0] > 0.2 || want.Ceiling[11] < 0.8 {
		t.Errorf("planted ceilings: noise target %.3f, strongest %.3f", want.Ceiling[0], want.Ceiling[11])
	}
	avg := readNPY(t, filepath.Join(out, "averaged.npy"))
	if fmt.Sprint(avg.Shape) != "[150 3 4]" || avg.DType != "float32" {
		t.Errorf("averaged.npy: shape %v dtype %s", avg.Shape, avg.DType)
	}
	for i, v := range want.Averaged.F32 {
		if avg.F32[i] != v {
			t.Fatalf("averaged[%d] = %v, want %v", i, avg.F32[i], v)
		}
	}
	ids, err := readIDs(filepath.Join(out, "averaged_ids.txt"))
	must(t, err)
	if strings.Join(ids, ",") != strings.Join(want.Stimuli, ",") {
		t.Errorf("averaged_ids.txt does not list the stimuli in first-appearance order")
	}
	var summary map[string]any
	b, err := os.ReadFile(filepath.Join(out, "ceiling.json"))
	must(t, err)
	must(t, json.Unmarshal(b, &summary))
	if summary["command"] != "ceiling" || summary["trials"] != 300.0 || summary["repeated_stimuli"] != 100.0 ||
		fmt.Sprint(summary["repeats"]) != "map[1:50 2:50 3:50]" || fmt.Sprint(summary["sessions"]) != fmt.Sprintf("map[count:2 path:%s]", st.sessions) {
		t.Errorf("ceiling.json: %s", b)
	}

	enc := filepath.Join(st.dir, "enc")
	stdout, stderr, code = runCLI(t, "encode", "--features", st.features, "--features-ids", st.featureIDs,
		"--brain", filepath.Join(out, "averaged.npy"), "--brain-ids", filepath.Join(out, "averaged_ids.txt"),
		"--ceiling", filepath.Join(out, "ceiling.npy"), "--ceiling-min", "0.3", "--out", enc, "--precision", "float64")
	if code != 0 {
		t.Fatalf("encode: exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "divided by the noise ceiling") {
		t.Errorf("encode stdout: %s", stdout)
	}
	scores, ceiled := readNPY(t, filepath.Join(enc, "scores.npy")), readNPY(t, filepath.Join(enc, "ceiled_scores.npy"))
	if fmt.Sprint(ceiled.Shape) != "[3 4]" {
		t.Errorf("ceiled_scores.npy shape %v", ceiled.Shape)
	}
	below := 0
	for j, c := range want.Ceiling {
		switch {
		case c < 0.3:
			below++
			if !math.IsNaN(ceiled.F64[j]) {
				t.Errorf("target %d: ceiling %.3f below the floor, ceiled score %v, want NaN", j, c, ceiled.F64[j])
			}
		case math.Abs(ceiled.F64[j]-scores.F64[j]/c) > 1e-15:
			t.Errorf("target %d: ceiled %v, want %v / %v", j, ceiled.F64[j], scores.F64[j], c)
		}
	}
	if below == 0 {
		t.Error("no target below the floor: the test does not check NaN")
	}
	b, err = os.ReadFile(filepath.Join(enc, "summary.json"))
	must(t, err)
	if !strings.Contains(string(b), fmt.Sprintf(`"targets_below_min": %d`, below)) {
		t.Errorf("summary.json does not count %d targets below the floor: %s", below, b)
	}
}

func TestCeilingSplitHalf(t *testing.T) {
	st := writeTrialStudy(t)
	out := filepath.Join(st.dir, "ceil")
	_, stderr, code := runCLI(t, "ceiling", "--brain", st.trials, "--ids", st.ids, "--method", "split-half", "--splits", "3", "--seed", "5", "--no-averaged", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	want, err := ceiling.Estimate(context.Background(), st.y, st.idList, ceiling.Options{Method: ceiling.SplitHalf, Splits: 3, Seed: 5})
	must(t, err)
	r := readNPY(t, filepath.Join(out, "split_half_r.npy"))
	for j, v := range want.SplitHalfR {
		if r.F64[j] != v {
			t.Errorf("split_half_r[%d] = %v, want %v", j, r.F64[j], v)
		}
	}
	if _, err := os.Stat(filepath.Join(out, "averaged.npy")); err == nil {
		t.Error("--no-averaged wrote averaged.npy")
	}
}

func TestCeilingBadInput(t *testing.T) {
	st := writeTrialStudy(t)
	dir := st.dir
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		must(t, os.WriteFile(p, []byte(text), 0o644))
		return p
	}
	short := write("short.txt", strings.Join(st.idList[:10], "\n"))
	unique := make([]string, st.nTri)
	for i := range unique {
		unique[i] = fmt.Sprint("u", i)
	}
	noRepeats := write("unique.txt", strings.Join(unique, "\n"))
	gap := write("gap.txt", strings.Join(st.idList[:5], "\n")+"\n\n"+strings.Join(st.idList[5:], "\n"))
	bad := append([]float32(nil), st.y.F32...)
	bad[7*12+5] = float32(math.NaN())
	nan := filepath.Join(dir, "nan.npy")
	must(t, array.WriteNPY(nan, []int{st.nTri, 3, 4}, bad))
	sess := filepath.Join(dir, "sess_short.npy")
	must(t, array.WriteNPY(sess, []int{3}, []int64{0, 1, 2}))
	wrongShape := filepath.Join(dir, "ceil_shape.npy")
	must(t, array.WriteNPY(wrongShape, []int{4, 3}, make([]float64, 12)))
	tooBig := filepath.Join(dir, "ceil_big.npy")
	must(t, array.WriteNPY(tooBig, []int{12}, append(make([]float64, 11), 1.5)))
	avg := filepath.Join(dir, "avg.npy")
	must(t, array.WriteNPY(avg, []int{st.stimuli, 3, 4}, make([]float32, st.stimuli*12)))

	out := filepath.Join(dir, "out")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"ceiling", "--brain", st.trials, "--ids", short, "--out", out}, "10 ids for the 300 trials"},
		{[]string{"ceiling", "--brain", st.trials, "--ids", noRepeats, "--out", out}, "too few repeated stimuli"},
		{[]string{"ceiling", "--brain", st.trials, "--ids", gap, "--out", out}, "line 6 is empty"},
		{[]string{"ceiling", "--brain", nan, "--ids", st.ids, "--out", out}, "nan.npy"},
		{[]string{"ceiling", "--brain", st.trials, "--ids", st.ids, "--sessions", sess, "--out", out}, "3 group labels"},
		{[]string{"ceiling", "--brain", st.trials, "--ids", st.ids, "--method", "loo", "--out", out}, "unknown noise-ceiling method"},
		{[]string{"ceiling", "--brain", st.trials, "--ids", st.ids, "--splits", "4", "--out", out}, "for --method split-half"},
		{[]string{"ceiling", "--brain", st.trials, "--ids", st.ids, "--method", "split-half", "--splits", "0", "--out", out}, "--splits 0"},
		{[]string{"encode", "--features", st.features, "--brain", avg, "--ceiling", wrongShape, "--out", out}, "shape 4 x 3, but the brain data's targets are shaped 3 x 4"},
		{[]string{"encode", "--features", st.features, "--brain", avg, "--ceiling", tooBig, "--out", out}, "value 1.5 at target 11"},
		{[]string{"encode", "--features", st.features, "--brain", avg, "--ceiling-min", "0.2", "--out", out}, "--ceiling-min needs --ceiling"},
	} {
		_, stderr, code := runCLI(t, c.args...)
		if code == 0 || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q, want %q", c.args, code, stderr, c.want)
		}
		if _, err := os.Stat(out); err == nil {
			t.Fatalf("%v: a failed run left %s", c.args, out)
		}
	}
}

// sweep --ceiling saves the ceiling with the sweep (kept by a rerun without it), and rank
// --ceiled divides each subject's mean score by the mean ceiling of the targets.
func TestSweepCeilingThenRankCeiled(t *testing.T) {
	dir := t.TempDir()
	st := filepath.Join(dir, "study")
	mustRun(t, "synth", "--out", st, "--subjects", "1")
	brain := filepath.Join(st, "fmri", "sub-01", "brain.npy")
	b := readNPY(t, brain)
	m := b.Size() / b.Shape[0]
	half := make([]float64, m)
	for j := range half {
		half[j] = 0.5
	}
	ceil := filepath.Join(dir, "ceiling.npy")
	must(t, array.WriteNPY(ceil, b.Shape[1:], half))
	wrong := filepath.Join(dir, "wrong.npy")
	must(t, array.WriteNPY(wrong, []int{m + 1}, append(half, 0.5)))

	sw := filepath.Join(dir, "sweeps", "synth", "sub-01")
	args := []string{"sweep", "--features", filepath.Join(st, "model"), "--model", "synth", "--subject", "sub-01", "--brain", brain, "--out", sw,
		"--roi", filepath.Join(st, "fmri", "roi_labels.npy"), "--roi-names", filepath.Join(st, "fmri", "roi_names.txt")}
	if _, stderr, code := runCLI(t, append(args, "--ceiling", wrong)...); code == 0 || !strings.Contains(stderr, fmt.Sprintf("noise ceiling shaped %d, but the targets of %s are shaped %d", m+1, brain, m)) {
		t.Errorf("a ceiling of the wrong size: exit %d, %s", code, stderr)
	}
	mustRun(t, append(args, "--ceiling", ceil)...)
	if got := get(t, readJSON(t, filepath.Join(sw, "sweep.json")), "metadata", "ceiling"); got != true {
		t.Errorf("sweep.json metadata.ceiling = %v", got)
	}
	mustRun(t, args...) // a rerun without --ceiling keeps it
	if out := mustRun(t, "inspect", sw); !strings.Contains(out, "metadata: ROI labels, noise ceiling (--ceiled)\n") {
		t.Errorf("inspect does not show the ceiling:\n%s", out)
	}
	saved := readNPY(t, filepath.Join(sw, "meta", "ceiling.npy"))
	if len(saved.F64) != m || saved.F64[0] != 0.5 {
		t.Errorf("meta/ceiling.npy: %d values, first %v", len(saved.F64), saved.F64[0])
	}

	// table.csv: the ceiled means are twice the means, over all targets and per ROI
	rows, err := csv.NewReader(strings.NewReader(readFile(t, filepath.Join(sw, "table.csv")))).ReadAll()
	must(t, err)
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	for _, pair := range [][2]string{{"mean_score", "ceiled_mean_score"}, {"roi_V1", "ceiled_roi_V1"}, {"roi_PFC", "ceiled_roi_PFC"}} {
		i, j := col[pair[0]], col[pair[1]]
		if i == 0 || j == 0 {
			t.Fatalf("table.csv has no %s or %s: %v", pair[0], pair[1], rows[0])
		}
		for _, r := range rows[1:] {
			a, _ := strconv.ParseFloat(r[i], 64)
			b, _ := strconv.ParseFloat(r[j], 64)
			if math.Abs(b-2*a) > 1e-8*(1+math.Abs(a)) {
				t.Errorf("table.csv %s %s: %s %v, %s %v", r[col["checkpoint"]], r[col["layer"]], pair[0], a, pair[1], b)
			}
		}
	}

	plain, ceiled := filepath.Join(dir, "rank"), filepath.Join(dir, "rank-ceiled")
	mustRun(t, "rank", "--out", plain, filepath.Join(dir, "sweeps"))
	out := mustRun(t, "rank", "--ceiled", "--out", ceiled, filepath.Join(dir, "sweeps"))
	if !strings.Contains(out, "mean score divided by the mean noise ceiling over all targets") {
		t.Errorf("rank --ceiled says:\n%s", out)
	}
	score := func(dir string) float64 {
		models := get(t, readJSON(t, filepath.Join(dir, "rank.json")), "models").([]any)
		return models[0].(map[string]any)["score"].(float64)
	}
	if p, c := score(plain), score(ceiled); math.Abs(c-2*p) > 1e-12 || p <= 0 {
		t.Errorf("ceiled score %v, want twice %v", c, p)
	}
}

// synth --trials writes trials that average to brain.npy, whose planted noise ceiling the ceiling
// command recovers.
func TestSynthTrialsCeiling(t *testing.T) {
	dir := t.TempDir()
	st := filepath.Join(dir, "study")
	if _, stderr, code := runCLI(t, "synth", "--out", st, "--trials", "1"); code != 2 || !strings.Contains(stderr, "--trials 1: want at least 2") {
		t.Errorf("--trials 1: exit %d, %s", code, stderr)
	}
	mustRun(t, "synth", "--out", st, "--subjects", "1", "--trials", "3")
	sub := filepath.Join(st, "fmri", "sub-01")
	out := filepath.Join(dir, "ceil")
	mustRun(t, "ceiling", "--brain", filepath.Join(sub, "trials.npy"), "--ids", filepath.Join(sub, "trial_ids.txt"),
		"--sessions", filepath.Join(st, "fmri", "trial_sessions.npy"), "--out", out)
	brain, avg := readNPY(t, filepath.Join(sub, "brain.npy")), readNPY(t, filepath.Join(out, "averaged.npy"))
	if fmt.Sprint(avg.Shape) != fmt.Sprint(brain.Shape) {
		t.Fatalf("averaged %v, brain %v", avg.Shape, brain.Shape)
	}
	ids, err := readIDs(filepath.Join(out, "averaged_ids.txt"))
	must(t, err)
	if ids[0] != "img00000" || ids[len(ids)-1] != fmt.Sprintf("img%05d", len(ids)-1) {
		t.Errorf("averaged ids %s ... %s: want the images in order", ids[0], ids[len(ids)-1])
	}
	truth, got := readNPY(t, filepath.Join(st, "fmri", "truth_ceiling.npy")), readNPY(t, filepath.Join(out, "ceiling.npy"))
	var errSum, bias float64
	var n int
	for j, rho := range truth.F64 {
		if rho > 0 {
			errSum += math.Abs(got.F64[j] - rho)
			bias += got.F64[j] - rho
			n++
		}
	}
	// 400 images: each target's ceiling is off by sampling error (a standard error of about 0.05),
	// but not on average
	t.Logf("mean |ceiling - planted| = %.4f, mean difference %.4f over %d signal targets", errSum/float64(n), bias/float64(n), n)
	if e, b := errSum/float64(n), bias/float64(n); n == 0 || e > 0.07 || math.Abs(b) > 0.02 {
		t.Errorf("mean |ceiling - planted| = %.3f, mean difference %.4f over %d signal targets", e, b, n)
	}
	if d := readFile(t, filepath.Join(st, "commands.sh")); !strings.Contains(d, `--ceiling "$R/ceiling/sub-01/ceiling.npy"`) || !strings.Contains(d, "rank --ceiled") {
		t.Errorf("commands.sh does not use the ceiling:\n%s", d)
	}
}

// Trials in several files (one per session) give what one file with --sessions gives.
func TestCeilingSeveralFiles(t *testing.T) {
	st := writeTrialStudy(t)
	m := st.channels * st.times
	half := st.nTri / 2
	a, b := filepath.Join(st.dir, "ses-1.npy"), filepath.Join(st.dir, "ses-2.npy")
	must(t, array.WriteNPY(a, []int{half, st.channels, st.times}, st.y.F32[:half*m]))
	must(t, array.WriteNPY(b, []int{st.nTri - half, st.channels, st.times}, st.y.F32[half*m:]))
	sess := make([]int64, st.nTri)
	for i := half; i < st.nTri; i++ {
		sess[i] = 1
	}
	sp := filepath.Join(st.dir, "by_file.npy")
	must(t, array.WriteNPY(sp, []int{st.nTri}, sess))

	one, two := filepath.Join(st.dir, "one"), filepath.Join(st.dir, "two")
	mustRun(t, "ceiling", "--brain", st.trials, "--ids", st.ids, "--sessions", sp, "--out", one)
	out := mustRun(t, "ceiling", "--brain", a, "--brain", b, "--ids", st.ids, "--session-per-file", "--out", two)
	if !strings.Contains(out, "from 300 trials of 150 stimuli") {
		t.Errorf("stdout: %s", out)
	}
	for _, name := range []string{"ceiling.npy", "averaged.npy"} {
		x, y := readNPY(t, filepath.Join(one, name)), readNPY(t, filepath.Join(two, name))
		if fmt.Sprint(x.Shape) != fmt.Sprint(y.Shape) || fmt.Sprint(x.F64) != fmt.Sprint(y.F64) || fmt.Sprint(x.F32) != fmt.Sprint(y.F32) {
			t.Errorf("%s differs between one file with --sessions and two files with --session-per-file", name)
		}
	}
	if s := readFile(t, filepath.Join(two, "ceiling.json")); !strings.Contains(s, `"per_file": true`) || !strings.Contains(s, "ses-2.npy") {
		t.Errorf("ceiling.json: %s", s)
	}

	wrong := filepath.Join(st.dir, "wrong.npy")
	must(t, array.WriteNPY(wrong, []int{4, st.channels + 1, st.times}, make([]float32, 4*(st.channels+1)*st.times)))
	out2 := filepath.Join(st.dir, "out")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--brain", a, "--brain", wrong, "--ids", st.ids}, "targets shaped 4 x 4, but " + a + "'s are shaped 3 x 4"},
		{[]string{"--brain", a, "--ids", st.ids}, "300 ids for the 150 trials (rows) of " + a},
		{[]string{"--brain", a, "--brain", b, "--ids", st.ids, "--session-per-file", "--sessions", sp}, "--sessions and --session-per-file exclude each other"},
	} {
		_, stderr, code := runCLI(t, append(append([]string{"ceiling"}, c.args...), "--out", out2)...)
		if code == 0 || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, %s; want %q", c.args, code, stderr, c.want)
		}
	}
}

// NIfTI trials: ceiling writes ceiling.nii.gz in their space; encode of the averaged data writes
// scores.nii.gz with --space (and of a NIfTI brain file, by itself), holding scores.npy's values.
func TestNIfTIBrainData(t *testing.T) {
	st := writeTrialStudy(t)
	tmpl, err := array.ReadGeometry(filepath.Join("..", "..", "testdata", "neuro", "float32_be.nii"))
	must(t, err)
	g := *tmpl
	g.Spatial = []int{st.channels, st.times, 1} // the 12 targets as a 3 x 4 x 1 volume
	trials := filepath.Join(st.dir, "trials.nii.gz")
	vals := make([]float64, len(st.y.F32))
	for i, v := range st.y.F32 {
		vals[i] = float64(v)
	}
	must(t, array.WriteFrames(trials, &g, st.nTri, vals))

	ceil := filepath.Join(st.dir, "ceil")
	out := mustRun(t, "ceiling", "--brain", trials, "--ids", st.ids, "--out", ceil)
	if !strings.Contains(out, "ceiling.nii.gz") || !strings.Contains(out, "ncsnr.nii.gz") {
		t.Errorf("ceiling output: %s", out)
	}
	sameVolume(t, filepath.Join(ceil, "ceiling.nii.gz"), filepath.Join(ceil, "ceiling.npy"), []int{3, 4, 1})

	enc := filepath.Join(st.dir, "enc")
	args := []string{"encode", "--features", st.features, "--features-ids", st.featureIDs,
		"--brain", filepath.Join(ceil, "averaged.npy"), "--brain-ids", filepath.Join(ceil, "averaged_ids.txt"), "--precision", "float64"}
	mustRun(t, append(args, "--space", trials, "--out", enc)...)
	sameVolume(t, filepath.Join(enc, "scores.nii.gz"), filepath.Join(enc, "scores.npy"), []int{3, 4, 1})
	if s := readFile(t, filepath.Join(enc, "summary.json")); !strings.Contains(s, `"scores.nii.gz"`) {
		t.Errorf("summary.json does not list the volume: %s", s)
	}

	// the averaged data as a NIfTI file: scored, and the scores written as a volume, by itself
	avg := readNPY(t, filepath.Join(ceil, "averaged.npy"))
	avgVals := make([]float64, len(avg.F32))
	for i, v := range avg.F32 {
		avgVals[i] = float64(v)
	}
	avgNii := filepath.Join(st.dir, "averaged.nii.gz")
	must(t, array.WriteFrames(avgNii, &g, avg.Shape[0], avgVals))
	enc2 := filepath.Join(st.dir, "enc2")
	mustRun(t, "encode", "--features", st.features, "--features-ids", st.featureIDs, "--brain", avgNii,
		"--brain-ids", filepath.Join(ceil, "averaged_ids.txt"), "--precision", "float64", "--out", enc2)
	sameVolume(t, filepath.Join(enc2, "scores.nii.gz"), filepath.Join(enc2, "scores.npy"), []int{3, 4, 1})
	a, b := readNPY(t, filepath.Join(enc, "scores.npy")), readNPY(t, filepath.Join(enc2, "scores.npy"))
	for j := range a.F64 {
		if math.Abs(a.F64[j]-b.F64[j]) > 1e-9 {
			t.Errorf("target %d: %v from averaged.npy, %v from averaged.nii.gz", j, a.F64[j], b.F64[j])
		}
	}

	other := *tmpl
	other.Spatial = []int{4, 3, 1}
	wrong := filepath.Join(st.dir, "wrong.nii.gz")
	must(t, array.WriteVolume(wrong, &other, make([]float64, 12)))
	if _, stderr, code := runCLI(t, append(args, "--space", wrong, "--out", filepath.Join(st.dir, "enc3"))...); code == 0 ||
		!strings.Contains(stderr, "a space of 4 x 3 x 1 voxels or vertices, but "+filepath.Join(ceil, "averaged.npy")+"'s targets are shaped 3 x 4") {
		t.Errorf("--space of another shape: exit %d, %s", code, stderr)
	}
}

// sameVolume checks that a volume file holds the values of an .npy file of the given shape.
func sameVolume(t *testing.T, volume, npy string, shape []int) {
	t.Helper()
	v, n := readNPY(t, npy), readVolume(t, volume)
	if fmt.Sprint(n.Shape) != fmt.Sprint(shape) {
		t.Errorf("%s: shape %v, want %v", volume, n.Shape, shape)
	}
	for i, x := range v.F64 {
		if y := float64(n.F32[i]); y != float64(float32(x)) && !(math.IsNaN(x) && math.IsNaN(y)) {
			t.Errorf("%s[%d] = %v, %s has %v", volume, i, y, npy, x)
			return
		}
	}
}

func readVolume(t *testing.T, path string) *array.Array {
	t.Helper()
	arrs, err := array.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { array.CloseAll(arrs) })
	return arrs[0]
}

// A sweep of NIfTI brain data keeps its space (meta/space.nii.gz) and takes the voxels'
// coordinates from its affine; spatial then writes the best-layer map as a volume.
func TestSweepNIfTISpace(t *testing.T) {
	dir := t.TempDir()
	st := filepath.Join(dir, "study")
	mustRun(t, "synth", "--out", st, "--subjects", "1")
	b := readNPY(t, filepath.Join(st, "fmri", "sub-01", "brain.npy"))
	tmpl, err := array.ReadGeometry(filepath.Join("..", "..", "testdata", "neuro", "float32_be.nii"))
	must(t, err)
	g := *tmpl
	g.Spatial = []int{6, 6, 10} // the 360 vertices as a volume
	vals := make([]float64, len(b.F32))
	for i, v := range b.F32 {
		vals[i] = float64(v)
	}
	brain := filepath.Join(dir, "brain.nii.gz")
	must(t, array.WriteFrames(brain, &g, b.Shape[0], vals))

	sw := filepath.Join(dir, "sweep")
	_, stderr, code := runCLI(t, "sweep", "--features", filepath.Join(st, "model"), "--model", "synth", "--brain", brain, "--out", sw)
	if code != 0 || !strings.Contains(stderr, "note: target coordinates taken from the voxel-to-world matrix of "+brain) {
		t.Fatalf("sweep: exit %d, %s", code, stderr)
	}
	if got := get(t, readJSON(t, filepath.Join(sw, "sweep.json")), "metadata", "space"); got != true {
		t.Errorf("sweep.json metadata.space = %v", got)
	}
	want, err := g.Coordinates()
	must(t, err)
	coords := readNPY(t, filepath.Join(sw, "meta", "coords.npy"))
	if fmt.Sprint(coords.Shape) != "[360 3]" || coords.F64[3*359+2] != want[3*359+2] {
		t.Errorf("meta/coords.npy: shape %v", coords.Shape)
	}
	sp := filepath.Join(dir, "spatial")
	mustRun(t, "spatial", "--v1", "0,0,0", "--no-figures", "--out", sp, sw)
	depth, mask, vol := readNPY(t, filepath.Join(sp, "best_layer_depth.npy")), readNPY(t, filepath.Join(sp, "mask.npy")), readVolume(t, filepath.Join(sp, "best_layer_depth.nii.gz"))
	if fmt.Sprint(vol.Shape) != "[6 6 10]" {
		t.Fatalf("best_layer_depth.nii.gz shape %v", vol.Shape)
	}
	kept := 0
	for i, d := range depth.F64 {
		v := float64(vol.F32[i])
		if mask.Ints()[i] != 0 {
			kept++
			if v != float64(float32(d)) {
				t.Errorf("voxel %d: %v in the volume, depth %v", i, v, d)
			}
		} else if !math.IsNaN(v) {
			t.Errorf("voxel %d outside the mask: %v, want NaN", i, v)
		}
	}
	if kept == 0 {
		t.Error("no voxel in the significance mask")
	}
}

// TestCeilingTestIDs: ceiling --test-ids gives the ceiling of scores over those stimuli (nu over
// their repeats: 1/3 for stimuli of three trials), which encode --test-ids then divides by.
func TestCeilingTestIDs(t *testing.T) {
	st := writeTrialStudy(t)
	var test []string
	for s := 2; s < st.stimuli; s += 3 { // the stimuli of three trials
		test = append(test, fmt.Sprintf("img%03d", s))
	}
	testIDs := writeLines(t, filepath.Join(st.dir, "test_ids.txt"), append(test, "img999"))
	out := filepath.Join(st.dir, "ceil")
	_, stderr, code := runCLI(t, "ceiling", "--brain", st.trials, "--ids", st.ids, "--test-ids", testIDs, "--out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, "1 of the stimulus ids of --test-ids") {
		t.Errorf("the never-shown test id is not reported: %q", stderr)
	}
	want, err := ceiling.Estimate(context.Background(), st.y, st.idList, ceiling.Options{Scored: test})
	must(t, err)
	all, err := ceiling.Estimate(context.Background(), st.y, st.idList, ceiling.Options{})
	must(t, err)
	got := readNPY(t, filepath.Join(out, "ceiling.npy"))
	for j, v := range want.Ceiling {
		if got.F64[j] != v {
			t.Errorf("ceiling[%d] = %v, want %v", j, got.F64[j], v)
		}
		if j > 0 && v <= all.Ceiling[j] {
			t.Errorf("target %d: test-set ceiling %v not above all stimuli's %v (their averages are of fewer trials)", j, v, all.Ceiling[j])
		}
	}
	var summary struct {
		NoiseTerm float64        `json:"noise_term"`
		TestIDs   map[string]any `json:"test_ids"`
	}
	b, err := os.ReadFile(filepath.Join(out, "ceiling.json"))
	must(t, err)
	must(t, json.Unmarshal(b, &summary))
	if math.Abs(summary.NoiseTerm-1.0/3) > 1e-15 || summary.TestIDs["stimuli"] != 50.0 || summary.TestIDs["never_shown"] != 1.0 {
		t.Errorf("ceiling.json: noise_term %v, test_ids %v; want 1/3 over 50 stimuli, 1 never shown", summary.NoiseTerm, summary.TestIDs)
	}
	enc := filepath.Join(st.dir, "enc")
	_, stderr, code = runCLI(t, "encode", "--features", st.features, "--features-ids", st.featureIDs,
		"--brain", filepath.Join(out, "averaged.npy"), "--brain-ids", filepath.Join(out, "averaged_ids.txt"), "--test-ids", testIDs,
		"--ceiling", filepath.Join(out, "ceiling.npy"), "--out", enc)
	if code != 0 {
		t.Fatalf("encode: exit %d: %s", code, stderr)
	}
	if fs := readNPY(t, filepath.Join(enc, "fold_scores.npy")); fmt.Sprint(fs.Shape) != "[1 3 4]" {
		t.Errorf("fold_scores.npy shape %v, want one fold", fs.Shape)
	}
	if strings.Contains(stderr, "ceiling of") {
		t.Errorf("a warning about the ceiling of the same test set: %q", stderr)
	}
	// a ceiling of all stimuli, or of another test set, for test-set scores; a test set's ceiling
	// for scores of all stimuli: warned
	allDir := filepath.Join(st.dir, "ceil-all")
	if _, stderr, code := runCLI(t, "ceiling", "--brain", st.trials, "--ids", st.ids, "--out", allDir); code != 0 {
		t.Fatal(stderr)
	}
	other := writeLines(t, filepath.Join(st.dir, "other.txt"), test[1:])
	for _, c := range []struct {
		ceil string
		args []string
		want string
	}{
		{allDir, []string{"--test-ids", testIDs}, "is the ceiling of all stimuli"},
		{out, []string{"--test-ids", other}, "is the ceiling of another test set"},
		{out, nil, "and these scores are of all stimuli"},
	} {
		args := append([]string{"encode", "--features", st.features, "--features-ids", st.featureIDs,
			"--brain", filepath.Join(out, "averaged.npy"), "--brain-ids", filepath.Join(out, "averaged_ids.txt"),
			"--ceiling", filepath.Join(c.ceil, "ceiling.npy"), "--out", filepath.Join(st.dir, fmt.Sprintf("enc%d", len(c.want)))}, c.args...)
		if _, stderr, code := runCLI(t, args...); code != 0 || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, %q; want a warning saying %q", c.args, code, stderr, c.want)
		}
	}
	none := writeLines(t, filepath.Join(st.dir, "none.txt"), []string{"x", "y"})
	if _, stderr, code := runCLI(t, "ceiling", "--brain", st.trials, "--ids", st.ids, "--test-ids", none, "--out", filepath.Join(st.dir, "c2")); code == 0 ||
		!strings.Contains(stderr, "--test-ids "+none+": none of its 2 stimulus ids is among the trials' (--ids "+st.ids+")") {
		t.Errorf("test ids never shown: exit %d, %q", code, stderr)
	}
}

// Sessions of NIfTI trials on other grids (one session shifted 5 mm) hold other places in the
// same voxel indices: ceiling refuses to join their trials, as it refuses a mask off their grid,
// instead of estimating each voxel's noise from trials of several places.
func TestCeilingSessionsOnOtherGrids(t *testing.T) {
	st := writeTrialStudy(t)
	tmpl, err := array.ReadGeometry(filepath.Join("..", "..", "testdata", "neuro", "float32_be.nii"))
	must(t, err)
	g := *tmpl
	g.Spatial = []int{st.channels, st.times, 1}
	m := st.channels * st.times
	half := st.nTri / 2
	vals := make([]float64, len(st.y.F32))
	for i, v := range st.y.F32 {
		vals[i] = float64(v)
	}
	a, b := filepath.Join(st.dir, "ses-1.nii"), filepath.Join(st.dir, "ses-2.nii")
	must(t, array.WriteFrames(a, &g, half, vals[:half*m]))
	must(t, array.WriteFrames(b, &g, st.nTri-half, vals[half*m:]))
	mustRun(t, "ceiling", "--brain", a, "--brain", b, "--ids", st.ids, "--session-per-file", "--out", filepath.Join(st.dir, "same"))

	shiftNIfTI(t, b)
	out := filepath.Join(st.dir, "shifted")
	_, stderr, code := runCLI(t, "ceiling", "--brain", a, "--brain", b, "--ids", st.ids, "--session-per-file", "--out", out)
	if code != 1 || !strings.Contains(stderr, b+" is not on the grid of "+a+" (voxel-to-world matrix row 1 ") {
		t.Errorf("sessions on other grids: exit %d, %s", code, stderr)
	}
	notThere(t, out, "ceiling of sessions on other grids")
}

// shiftNIfTI moves the NIfTI-1 file at path 5 mm along x in its sform (srow_x[3]): the same
// voxels, on another grid.
func shiftNIfTI(t *testing.T, path string) {
	t.Helper()
	raw, err := os.ReadFile(path)
	must(t, err)
	var order binary.ByteOrder = binary.LittleEndian
	if order.Uint32(raw) != 348 {
		order = binary.BigEndian
	}
	order.PutUint32(raw[292:], math.Float32bits(math.Float32frombits(order.Uint32(raw[292:]))+5)) // srow_x[3]
	must(t, os.WriteFile(path, raw, 0o644))
}
