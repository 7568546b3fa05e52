package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/brainalign/brainalign/array"
	"github.com/brainalign/brainalign/internal/crashpoint/crashtest"
	"github.com/brainalign/brainalign/sweep"
)

// metricsFixture is a synthetic study with fMRI sweeps of two subjects, made once for the tests
// of the metric commands' argument handling and for TestStudyCommandsEndToEnd.
var metricsFixture struct {
	once     sync.Once
	dir, err string
	study    string
	fm       []string // fMRI sweeps of sub-01, sub-02
	reports  []string // what their sweeps printed
}

func metricSweeps(t *testing.T) (dir, study string, fm []string) {
	t.Helper()
	f := &metricsFixture
	f.once.Do(func() {
		d, err := os.MkdirTemp("", "brainalign-metrics-cli-")
		if err != nil {
			f.err = err.Error()
			return
		}
		f.dir, f.study = d, filepath.Join(d, "study")
		if _, errOut, code := runCLI(t, "synth", "--out", f.study, "--subjects", "2"); code != 0 {
			f.err = "synth: " + errOut
			return
		}
		for _, sub := range []string{"sub-01", "sub-02"} {
			o := filepath.Join(d, "fmri", sub)
			out, errOut, code := runCLI(t, "sweep", "--features", filepath.Join(f.study, "model"), "--model", "synth", "--subject", sub,
				"--brain", filepath.Join(f.study, "fmri", sub, "brain.npy"), "--coords", filepath.Join(f.study, "fmri", sub, "coords.npy"),
				"--roi", filepath.Join(f.study, "fmri", "roi_labels.npy"), "--roi-names", filepath.Join(f.study, "fmri", "roi_names.txt"), "--out", o)
			if code != 0 {
				f.err = "sweep: " + errOut
				return
			}
			f.fm, f.reports = append(f.fm, o), append(f.reports, out)
		}
	})
	if f.err != "" {
		t.Fatal(f.err)
	}
	return f.dir, f.study, f.fm
}

// crashChildMain runs a command line in a child process of the crash tests (crash_test.go).
func crashChildMain(args []string) int {
	if len(args) > 0 && args[0] == demoStudyStub {
		return exitCode(runDemoStudyStub(args[1:]), os.Stderr)
	}
	err := run(context.Background(), append([]string{"brainalign"}, args...), os.Stdout, os.Stderr)
	return exitCode(err, os.Stderr)
}

func TestMain(m *testing.M) {
	if crashtest.Child(crashChildMain) { // a child process of the crash tests: runs and exits
		return
	}
	code := m.Run()
	if metricsFixture.dir != "" {
		os.RemoveAll(metricsFixture.dir)
	}
	os.Exit(code)
}

// wantError runs brainalign and checks the exit code and a one-line error containing want.
func wantError(t *testing.T, code int, want string, args ...string) {
	t.Helper()
	out, errOut, got := runCLI(t, args...)
	msg := strings.TrimSpace(errOut)
	if got != code || !strings.Contains(msg, want) || strings.Contains(msg, "\n") {
		t.Errorf("brainalign %s: exit %d, stderr %q (stdout %q); want exit %d and one line containing %q",
			strings.Join(args, " "), got, errOut, out, code, want)
	}
}

// writeText writes a small text file into dir and returns its path.
func writeText(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// copySweep copies a sweep folder, editing its sweep.json with edit.
func copySweep(t *testing.T, from, to string, edit func(string) string) {
	t.Helper()
	err := filepath.Walk(from, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		dst := filepath.Join(to, rel)
		if rel == "units" && edit != nil {
			// the edited sweep.json names other units: a copy of the tables alone (as for
			// analysis elsewhere), which the units' records, named after the original's, would
			// make a sweep whose units are not all done
			return filepath.SkipDir
		}
		if info.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if rel == "sweep.json" && edit != nil {
			b = []byte(edit(string(b)))
		}
		return os.WriteFile(dst, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// The same subject's sweep twice would count its scores twice (more significant targets, a
// subject listed twice): refused, however the folder is given.
func TestMetricCommandsRefuseDuplicateSubjects(t *testing.T) {
	dir, _, fm := metricSweeps(t)
	out := filepath.Join(t.TempDir(), "o")
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(fm[0], link); err != nil {
		t.Fatal(err)
	}
	// A copy keeps its subject label; another copy relabelled is still the same brain data.
	same := filepath.Join(t.TempDir(), "copy")
	copySweep(t, fm[0], same, nil)
	relabelled := filepath.Join(t.TempDir(), "relabelled")
	copySweep(t, fm[0], relabelled, func(s string) string { return strings.Replace(s, `"sub-01"`, `"sub-09"`, 1) })
	wd, _ := os.Getwd()
	rel, err := filepath.Rel(wd, fm[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, cmd := range []string{"spatial", "temporal", "halftime"} {
		wantError(t, 2, fm[0]+" is given twice among the sweep folders", cmd, "--out", out, fm[0], fm[1], fm[0])
		wantError(t, 2, "is given twice", cmd, "--out", out, "--sweep", fm[0], fm[0])
		wantError(t, 2, "are the same folder", cmd, "--out", out, fm[0], fm[0]+string(filepath.Separator))
		wantError(t, 2, "are the same folder", cmd, "--out", out, fm[0], rel)
		wantError(t, 2, "are the same folder", cmd, "--out", out, fm[0], link)
	}
	wantError(t, 2, "subject sub-01 has two sweeps among the sweep folders ("+fm[0]+" and "+same+")", "spatial", "--out", out, fm[0], same)
	wantError(t, 2, "are sweeps of the same brain data", "spatial", "--out", out, fm[0], relabelled)
	// compare: within --a (the pairing would otherwise report a subject without a B sweep).
	wantError(t, 2, fm[0]+" is given twice among the --a folders", "compare", "--a", fm[0], "--a", fm[0], "--b", fm[0], "--b", fm[1], "--out", out)
	wantError(t, 2, "subject sub-01 has two sweeps among the --b folders", "compare", "--a", fm[0], "--a", fm[1], "--b", fm[0], "--b", same, "--out", out)
	// Different subjects, and the same folders for A and B (checkpoints compared), are fine.
	mustRun(t, "spatial", "--no-figures", "--out", out, fm[0], fm[1])
	mustRun(t, "compare", "--a", fm[0], "--a", fm[1], "--b", fm[0], "--b", fm[1], "--checkpoint-b", "2", "--out", filepath.Join(dir, "cmp-ok"))
}

// mask.npy is bool, so numpy's best[mask] selects the kept targets.
func TestSpatialMaskIsBool(t *testing.T) {
	_, _, fm := metricSweeps(t)
	out := filepath.Join(t.TempDir(), "sp")
	mustRun(t, "spatial", "--no-figures", "--out", out, fm[0], fm[1])
	p := filepath.Join(out, "mask.npy")
	raw, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(raw[:min(len(raw), 128)], []byte("'descr': '|b1'")) {
		t.Errorf("mask.npy header %q: want numpy's bool dtype '|b1'", raw[:min(len(raw), 80)])
	}
	a, err := array.ReadNPY(p)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	kept := 0
	for _, v := range a.Ints() {
		kept += int(v)
	}
	sp := readJSON(t, filepath.Join(out, "spatial.json"))
	if a.DType != "bool" || len(a.Shape) != 1 || a.Shape[0] != 360 || float64(kept) != num(t, sp, "result", "mask", "significant") {
		t.Errorf("mask.npy: %s %v with %d kept; spatial.json says %v significant", a.DType, a.Shape, kept, get(t, sp, "result", "mask", "significant"))
	}
}

// halftime uses every checkpoint: --checkpoint is not offered, and refused with the reason.
func TestHalftimeHelpOmitsCheckpoint(t *testing.T) {
	help := mustRun(t, "halftime", "--help")
	if strings.Contains(help, "--checkpoint") {
		t.Errorf("halftime --help lists --checkpoint, which halftime refuses:\n%s", help)
	}
	if !strings.Contains(help, "--fdr") || !strings.Contains(help, "--out") {
		t.Errorf("halftime --help lost its flags:\n%s", help)
	}
	_, _, fm := metricSweeps(t)
	wantError(t, 2, "halftime uses every checkpoint", "halftime", "--checkpoint", "1", "--out", t.TempDir(), fm[0])
	if help := mustRun(t, "spatial", "--help"); !strings.Contains(help, "--checkpoint") {
		t.Error("spatial --help lost --checkpoint")
	}
}

// urfave/cli stops reading flags at the first folder; a flag after the folders is named.
func TestFlagsAfterFolders(t *testing.T) {
	_, _, fm := metricSweeps(t)
	out := filepath.Join(t.TempDir(), "o")
	for _, cmd := range []string{"spatial", "temporal", "halftime"} {
		wantError(t, 2, "flags must come before the sweep folders: move --v1-roi before "+fm[0], cmd, "--out", out, fm[0], "--v1-roi", "V9")
		wantError(t, 2, "flags must come before the sweep folders: move --no-figures before "+fm[0], cmd, "--out", out, fm[0], fm[1], "--no-figures")
		wantError(t, 2, "move --fdr before", cmd, "--out", out, fm[0], "--fdr=0.05")
		// --out after the folders is misplaced, not missing.
		wantError(t, 2, "move --out before", cmd, fm[0], "--out", out)
		wantError(t, 2, `Required flag "out" not set`, cmd, fm[0])
	}
	wantError(t, 2, `compare takes no arguments (got "extra"; the flags after it, --metric first, were not read)`,
		"compare", "--a", fm[0], "--b", fm[1], "--out", out, "extra", "--metric", "spatial")
	wantError(t, 2, `Required flags "b, out" not set`, "compare", "--a", fm[0])
	wantError(t, 2, `synth takes no arguments (got "x"; the flags after it, --size first, were not read)`, "synth", "--out", out, "x", "--size", "demo")
}

// A model compared with itself shows no difference (p = 1), not an internal error; compare.json
// has snake_case names and the checkpoints used.
func TestCompareIdenticalAndJSON(t *testing.T) {
	_, _, fm := metricSweeps(t)
	out := filepath.Join(t.TempDir(), "cmp")
	stdout := mustRun(t, "compare", "--a", fm[0], "--a", fm[1], "--b", fm[0], "--b", fm[1], "--out", out)
	if !strings.Contains(stdout, "p = 1;") || !strings.Contains(stdout, "every paired difference is zero") ||
		!strings.Contains(stdout, "A and B are the same sweeps at the same checkpoint") {
		t.Errorf("identical models:\n%s", stdout)
	}
	raw, err := os.ReadFile(filepath.Join(out, "compare.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{`"MeanDiff"`, `"Stat"`, `"P"`, `"N"`, `""`} {
		if bytes.Contains(raw, []byte(bad)) {
			t.Errorf("compare.json holds %s:\n%s", bad, raw)
		}
	}
	cmp := readJSON(t, filepath.Join(out, "compare.json"))
	if p, d, n := num(t, cmp, "result", "wilcoxon", "p"), num(t, cmp, "result", "wilcoxon", "mean_diff"), num(t, cmp, "result", "wilcoxon", "n"); p != 1 || d != 0 || n != 2 {
		t.Errorf("wilcoxon p %v, mean_diff %v, n %v; want 1, 0, 2", p, d, n)
	}
	if a, b := get(t, cmp, "checkpoint_a"), get(t, cmp, "checkpoint_b"); a != "ckpt-010000000" || b != "ckpt-010000000" {
		t.Errorf("checkpoint_a %v, checkpoint_b %v: want the checkpoint used", a, b)
	}
	// A metric the sweeps cannot give: the folder once, the metric named.
	_, errOut, code := runCLI(t, "compare", "--metric", "temporal", "--a", fm[0], "--b", fm[1], "--out", out)
	if code != 1 || strings.Count(errOut, fm[0]) != 1 || !strings.Contains(errOut, "no MEG times, which --metric temporal needs") {
		t.Errorf("compare --metric temporal on fMRI sweeps: exit %d, %q", code, errOut)
	}
	wantError(t, 2, "--checkpoint-b", "compare", "--a", fm[0], "--b", fm[1], "--checkpoint-b", "nope", "--out", out)
}

func TestSynthRefusesNonPositiveSubjects(t *testing.T) {
	for _, n := range []string{"-1", "0"} {
		out := filepath.Join(t.TempDir(), "s")
		wantError(t, 2, "--subjects "+n+": want a positive number of subjects", "synth", "--out", out, "--subjects", n)
		if _, err := os.Stat(out); err == nil {
			t.Errorf("--subjects %s wrote %s", n, out)
		}
	}
}

// demo checks --study-out before its first part runs.
func TestDemoStudyOutCheckedFirst(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	os.WriteFile(file, []byte("x"), 0o644)
	full := filepath.Join(dir, "full")
	os.MkdirAll(full, 0o755)
	os.WriteFile(filepath.Join(full, "keep"), []byte("x"), 0o644)
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--study-out", file}, 1, "--study-out " + file + ": exists and is not a directory"},
		{[]string{"--study-out", filepath.Join(file, "sub")}, 1, file + " is not a directory"},
		{[]string{"--study-out", full}, 1, "not empty (use --overwrite to replace it)"},
		{[]string{"--study-out", full, "--no-study"}, 2, "--study-out and --no-study exclude each other"},
		{[]string{"extra"}, 2, `demo takes no arguments (got "extra")`},
	} {
		stdout, errOut, code := runCLI(t, append([]string{"demo"}, c.args...)...)
		if code != c.code || !strings.Contains(errOut, c.want) || stdout != "" {
			t.Errorf("demo %v: exit %d, stderr %q, stdout %q; want exit %d, %q, and nothing run", c.args, code, errOut, stdout, c.code, c.want)
		}
	}
	if b, err := os.ReadFile(filepath.Join(full, "keep")); err != nil || string(b) != "x" {
		t.Errorf("refused --study-out was changed: %v", err)
	}
}

// --overwrite replaces the study folder only when the study part succeeds.
func TestReplaceStudyOut(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "study")
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "old"), []byte("1"), 0o644)
	err := replaceStudyOut(dir, func() error {
		if _, err := os.Stat(filepath.Join(dir, "old")); err == nil {
			t.Error("old files visible while the study part runs")
		}
		os.MkdirAll(dir, 0o755)
		os.WriteFile(filepath.Join(dir, "partial"), []byte("2"), 0o644)
		return errors.New("failed")
	})
	if err == nil || err.Error() != "failed" {
		t.Fatalf("error %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "old")); err != nil {
		t.Errorf("old results not put back after a failure: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "partial")); err == nil {
		t.Error("partial results of the failed run kept")
	}
	if err := replaceStudyOut(dir, func() error {
		os.MkdirAll(dir, 0o755)
		return os.WriteFile(filepath.Join(dir, "new"), []byte("3"), 0o644)
	}); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != "new" {
		t.Errorf("after a successful replacement: %v", entries)
	}
	siblings, _ := os.ReadDir(filepath.Dir(dir))
	if len(siblings) != 1 {
		t.Errorf("left beside the study folder: %v", siblings)
	}
}

// ROI names that do not cover the labels are reported (sweep saves an unnamed label as roiN).
func TestROINameWarnings(t *testing.T) {
	mk := func(dir string, roi []int, names map[int]string) *sweep.Sweep {
		return &sweep.Sweep{Dir: dir, Meta: sweep.Meta{ROI: roi, ROINames: names}}
	}
	roi := []int{0, 0, 1, 2, 3, 4, 5, -1}
	twoNames := map[int]string{0: "V1", 1: "V2", 2: "roi2", 3: "roi3", 4: "roi4", 5: "roi5"}
	w := roiNameWarnings([]*sweep.Sweep{mk("a", roi, twoNames), mk("b", roi, twoNames)})
	if len(w) != 1 || !strings.HasPrefix(w[0], "a (and 1 more sweeps): ROI names and labels disagree: labels 2, 3, 4, 5 have no name (reported as roi2, roi3, ...)") {
		t.Errorf("2 names for 6 labels: %q", w)
	}
	w = roiNameWarnings([]*sweep.Sweep{mk("a", []int{0, 1, 99}, map[int]string{0: "V1", 1: "V2", 99: "roi99"})})
	if len(w) != 1 || !strings.Contains(w[0], "label 99 has no name (reported as roi99)") {
		t.Errorf("label 99 unnamed: %q", w)
	}
	w = roiNameWarnings([]*sweep.Sweep{mk("a", []int{1, 2}, map[int]string{0: "V1", 1: "V2", 2: "V4"})})
	if len(w) != 1 || !strings.Contains(w[0], "name V1 (label 0) labels no target") {
		t.Errorf("name without targets: %q", w)
	}
	for _, ok := range []*sweep.Sweep{
		mk("a", roi, map[int]string{0: "V1", 1: "V2", 2: "V4", 3: "LO", 4: "IT", 5: "PFC"}),
		mk("a", roi, map[int]string{0: "roi0", 1: "roi1", 2: "roi2", 3: "roi3", 4: "roi4", 5: "roi5"}), // no names given
		mk("a", nil, nil),
	} {
		if w := roiNameWarnings([]*sweep.Sweep{ok}); len(w) != 0 {
			t.Errorf("%v: warned %q", ok.Meta.ROINames, w)
		}
	}
}

// The metric commands warn, on stderr, when a sweep's ROI names do not cover its labels.
func TestSpatialWarnsOnROINames(t *testing.T) {
	dir, study, fm := metricSweeps(t)
	names := filepath.Join(dir, "two-names.txt")
	os.WriteFile(names, []byte("V1\nV2\n"), 0o644)
	o := filepath.Join(t.TempDir(), "sub-01")
	args := []string{"sweep", "--features", filepath.Join(study, "model"), "--model", "synth", "--subject", "sub-01",
		"--brain", filepath.Join(study, "fmri", "sub-01", "brain.npy"), "--coords", filepath.Join(study, "fmri", "sub-01", "coords.npy"),
		"--roi", filepath.Join(study, "fmri", "roi_labels.npy"), "--roi-names", names, "--out", o, "--alphas", "1,100,10000"}
	// A sweep refuses names that leave labels unnamed ...
	if _, errOut, code := runCLI(t, args...); code != 1 || !strings.Contains(errOut, "two-names.txt: 4 ROI label(s) carried by targets have no name: 2 (60 targets)") {
		t.Errorf("sweep with 2 ROI names for 6 labels: exit %d, stderr %q", code, errOut)
	}
	// ... so only a sweep saved by an earlier version holds them: its saved names, with the
	// placeholders it wrote for the unnamed labels.
	six := filepath.Join(dir, "six-names.txt")
	os.WriteFile(six, []byte("V1\nV2\nV3\nV4\nV5\nV6\n"), 0o644)
	args[len(args)-5] = six
	mustRun(t, args...)
	os.WriteFile(filepath.Join(o, "meta", "roi_names.txt"), []byte("0\tV1\n1\tV2\n2\troi2\n3\troi3\n4\troi4\n5\troi5\n"), 0o644)
	_, errOut, code := runCLI(t, "spatial", "--no-figures", "--replicates", "folds", "--out", filepath.Join(t.TempDir(), "sp"), o)
	if code != 0 || !strings.Contains(errOut, "warning: "+o+": ROI names and labels disagree: labels 2, 3, 4, 5 have no name") {
		t.Errorf("spatial on a sweep with 2 ROI names for 6 labels: exit %d, stderr %q", code, errOut)
	}
	if _, errOut, _ := runCLI(t, "spatial", "--no-figures", "--out", filepath.Join(t.TempDir(), "sp"), fm[0], fm[1]); strings.Contains(errOut, "warning") {
		t.Errorf("warning on well-named sweeps: %q", errOut)
	}
}

// Checkpoints at steps 0 and N: the half-time is defined (interpolated from step 0), the figure
// over a log axis is not (one point): halftime writes its numbers and skips the figure with a
// note. An ROI name with a comma is quoted in halftime.csv.
func TestHalftimeFromStepZero(t *testing.T) {
	dir, study, _ := metricSweeps(t)
	model := filepath.Join(dir, "model-step0")
	for src, dst := range map[string]string{"ckpt-000000100": "ckpt-000000000", "ckpt-000100000": "ckpt-000100000"} {
		must(t, os.MkdirAll(filepath.Join(model, dst), 0o777))
		for _, l := range []string{"layer00.npy", "layer03.npy", "layer05.npy"} {
			b, err := os.ReadFile(filepath.Join(study, "model", src, l))
			must(t, err)
			must(t, os.WriteFile(filepath.Join(model, dst, l), b, 0o644))
		}
	}
	names, err := os.ReadFile(filepath.Join(study, "fmri", "roi_names.txt"))
	must(t, err)
	lines := strings.SplitN(string(names), "\n", 2)
	commaNames := filepath.Join(dir, "roi_names_comma.txt")
	must(t, os.WriteFile(commaNames, []byte(lines[0]+", dorsal\n"+lines[1]), 0o644))
	var sweeps []string
	for _, sub := range []string{"sub-01", "sub-02"} {
		o := filepath.Join(dir, "step0", sub)
		mustRun(t, "sweep", "--features", model, "--model", "synth", "--subject", sub,
			"--brain", filepath.Join(study, "fmri", sub, "brain.npy"), "--coords", filepath.Join(study, "fmri", sub, "coords.npy"),
			"--roi", filepath.Join(study, "fmri", "roi_labels.npy"), "--roi-names", commaNames, "--alphas", "1,100,10000", "--out", o)
		sweeps = append(sweeps, o)
	}
	out := filepath.Join(dir, "halftime-step0")
	_, stderr, code := runCLI(t, append([]string{"halftime", "--v1-roi", lines[0] + ", dorsal", "--out", out}, sweeps...)...)
	if code != 0 || !strings.Contains(stderr, "note: no halftime_encoding.png") {
		t.Fatalf("halftime: exit %d, %s", code, stderr)
	}
	rows, err := csv.NewReader(strings.NewReader(readFile(t, filepath.Join(out, "halftime.csv")))).ReadAll()
	if err != nil {
		t.Fatalf("halftime.csv: %v", err)
	}
	found := false
	for _, r := range rows {
		found = found || r[1] == lines[0]+", dorsal"
	}
	if len(rows) < 3 || !found {
		t.Errorf("halftime.csv rows %q: no ROI %q", rows, lines[0]+", dorsal")
	}
}

// A spatial score undefined at the last checkpoint (every target's best layer the same) has no
// half-time, and halftime says why (not "final value 0"), with an empty final value in
// halftime.csv; a checkpoint at step 0 already at half is labelled as the untrained model.
func TestHalftimeUndefinedAndStepZero(t *testing.T) {
	dir, study, fm := metricSweeps(t)
	var sweeps []string
	for _, src := range fm {
		dst := filepath.Join(t.TempDir(), filepath.Base(src))
		must(t, os.CopyFS(dst, os.DirFS(src)))
		a := readNPY(t, filepath.Join(dst, "scores.npy")) // checkpoints x layers x targets
		C, L, M := a.Shape[0], a.Shape[1], a.Shape[2]
		v := slices.Clone(a.F64)
		for l := range L {
			for j := range M {
				v[((C-1)*L+l)*M+j] = 0.1
				if l == 3 {
					v[((C-1)*L+l)*M+j] = 0.3
				}
			}
		}
		must(t, array.WriteNPY(filepath.Join(dst, "scores.npy"), a.Shape, v))
		sweeps = append(sweeps, dst)
	}
	out := filepath.Join(t.TempDir(), "ht")
	stdout := mustRun(t, append([]string{"halftime", "--no-figures", "--out", out}, sweeps...)...)
	if !strings.Contains(stdout, "spatial                undefined (the spatial score is undefined at the last checkpoint, ckpt-010000000") {
		t.Errorf("halftime output:\n%s", stdout)
	}
	rows, err := csv.NewReader(strings.NewReader(readFile(t, filepath.Join(out, "halftime.csv")))).ReadAll()
	must(t, err)
	for _, r := range rows {
		if r[0] == "spatial" && (r[2] != "" || r[4] != "") {
			t.Errorf("halftime.csv spatial row %q: want no half-time and no final value", r)
		}
	}

	// a model trained 0 and 1e5 steps, identical: at half at step 0 already
	model := filepath.Join(dir, "model-same")
	for _, dst := range []string{"ckpt-000000000", "ckpt-000100000"} {
		must(t, os.MkdirAll(filepath.Join(model, dst), 0o777))
		for _, l := range []string{"layer00.npy", "layer03.npy", "layer05.npy"} {
			b, err := os.ReadFile(filepath.Join(study, "model", "ckpt-000100000", l))
			must(t, err)
			must(t, os.WriteFile(filepath.Join(model, dst, l), b, 0o644))
		}
	}
	sweeps = nil
	for _, sub := range []string{"sub-01", "sub-02"} {
		o := filepath.Join(t.TempDir(), sub)
		mustRun(t, "sweep", "--features", model, "--model", "same", "--subject", sub,
			"--brain", filepath.Join(study, "fmri", sub, "brain.npy"), "--alphas", "1,100,10000", "--out", o)
		sweeps = append(sweeps, o)
	}
	stdout, stderr, _ := runCLI(t, append([]string{"halftime", "--no-figures", "--out", filepath.Join(t.TempDir(), "ht0")}, sweeps...)...)
	if !strings.Contains(stdout, "encoding               step 0") || !strings.Contains(stdout, "(already at half at step 0: the untrained model)") || strings.Contains(stdout, "upper bound") {
		t.Errorf("halftime of a model already trained at step 0:\n%s\n%s", stdout, stderr)
	}
}

// The metric commands read one checkpoint's fold scores, mapped, not all of them (10 GB per
// subject at the study's scale): a damaged value at another checkpoint does not stop them, one
// at the checkpoint used is refused.
func TestFoldScoresReadWhereUsed(t *testing.T) {
	_, _, fm := metricSweeps(t)
	var sweeps []string
	for i, src := range fm {
		dst := filepath.Join(t.TempDir(), filepath.Base(src))
		must(t, os.CopyFS(dst, os.DirFS(src)))
		if i == 0 {
			a := readNPY(t, filepath.Join(dst, "fold_scores.npy")) // checkpoints x layers x folds x targets
			v := slices.Clone(a.F64)
			v[17] = math.NaN() // checkpoint 0
			must(t, array.WriteNPY(filepath.Join(dst, "fold_scores.npy"), a.Shape, v))
		}
		sweeps = append(sweeps, dst)
	}
	mustRun(t, append([]string{"spatial", "--no-figures", "--replicates", "folds", "--out", filepath.Join(t.TempDir(), "last")}, sweeps...)...)
	_, stderr, code := runCLI(t, append([]string{"spatial", "--no-figures", "--replicates", "folds", "--checkpoint", "ckpt-000000100", "--out", filepath.Join(t.TempDir(), "first")}, sweeps...)...)
	if code == 0 || !strings.Contains(stderr, "NaN") {
		t.Errorf("spatial at the damaged checkpoint: exit %d, %s", code, stderr)
	}
}

// With --no-mask every target is used: the report says so, not "significant (FDR 0, none)".
func TestNoMaskReport(t *testing.T) {
	_, _, fm := metricSweeps(t)
	for _, cmd := range []string{"spatial", "halftime"} {
		out := mustRun(t, cmd, "--no-figures", "--no-mask", "--out", filepath.Join(t.TempDir(), cmd), fm[0], fm[1])
		if !strings.Contains(out, "mask: none (--no-mask): all 360 targets used") || strings.Contains(out, "FDR 0") {
			t.Errorf("%s --no-mask: %s", cmd, out)
		}
	}
}

// --study-out given as a symbolic link to a folder is written through, as --out of the other
// commands (internal/outdir): the folder it leads to is replaced, after a failure put back, and
// the link stays a link.
func TestReplaceStudyOutThroughLink(t *testing.T) {
	base := t.TempDir()
	real, link := filepath.Join(base, "real"), filepath.Join(base, "link")
	os.MkdirAll(real, 0o755)
	os.WriteFile(filepath.Join(real, "old"), []byte("1"), 0o644)
	if err := os.Symlink("real", link); err != nil {
		t.Fatal(err)
	}
	study := func(name string, fail bool) func() error {
		return func() error { // as demoStudy: the folder made through the link, then written
			if err := os.MkdirAll(link, 0o777); err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(link, name), []byte("2"), 0o644); err != nil {
				return err
			}
			if fail {
				return errors.New("failed")
			}
			return nil
		}
	}
	check := func(when string, want ...string) {
		t.Helper()
		if st, err := os.Lstat(link); err != nil || st.Mode()&fs.ModeSymlink == 0 {
			t.Fatalf("%s: %s is no longer a symbolic link (%v)", when, link, err)
		}
		entries, _ := os.ReadDir(real)
		var got []string
		for _, e := range entries {
			got = append(got, e.Name())
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: the link's folder holds %v, want %v", when, got, want)
		}
		if siblings, _ := os.ReadDir(base); len(siblings) != 2 {
			t.Errorf("%s: left beside the study folder: %v", when, siblings)
		}
	}
	if err := replaceStudyOut(link, study("partial", true)); err == nil || err.Error() != "failed" {
		t.Fatalf("error %v", err)
	}
	check("after a failure", "old")
	if err := replaceStudyOut(link, study("new", false)); err != nil {
		t.Fatal(err)
	}
	check("after a replacement", "new")
	// a link to nothing yet: its target is created, the link kept
	os.RemoveAll(real)
	if err := replaceStudyOut(link, study("new", false)); err != nil {
		t.Fatal(err)
	}
	check("through a dangling link", "new")
}
