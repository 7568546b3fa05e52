//go:build unix

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/brainalign/brainalign/internal/crashpoint/crashtest"
)

// The crash tests of the commands that write a results folder other than sweep, encode and
// halftime (crash_test.go): each killed at every step at which it changes what is on disk,
// writing a new folder and replacing an earlier run's, then rerun.

// crashFolder is what a results folder holds, to tell one run's results from another's: every
// file's bytes by its path in dir, temp files and staging folders (hidden names) left out, and
// in .json files the keys that hold times, the host and the process's command line removed.
func crashFolder(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != dir && strings.HasPrefix(e.Name(), ".") {
			if e.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if e.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		b, err := os.ReadFile(p)
		if err == nil && strings.HasSuffix(rel, ".json") {
			b = stableJSON(b)
		}
		files[rel] = b
		return err
	})
	must(t, err)
	return files
}

// stableJSON is a summary without what differs between two runs of one command line (a
// summary that does not parse is returned as it is, and so differs from a whole one).
func stableJSON(b []byte) []byte {
	var v any
	if json.Unmarshal(b, &v) != nil {
		return b
	}
	var strip func(v any)
	strip = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for _, k := range []string{"created", "host", "args", "seconds", "gflops_per_second"} {
				delete(v, k)
			}
			for _, x := range v {
				strip(x)
			}
		case []any:
			for _, x := range v {
				strip(x)
			}
		}
	}
	strip(v)
	out, _ := json.Marshal(v)
	return out
}

// resultsCrash kills a command writing the results folder work/out at every step, rerunning it
// after each kill. earlier and later give the command lines (out their --out) of an earlier
// run, whose results the folder holds before the killed run when replacing, and of the run
// killed; a staged command (internal/outdir: encode, ceiling, predict, synth) replaces a folder
// only with --overwrite, which replace, appended to later, adds. At each kill the folder holds
// the earlier results whole or the later ones whole (or, before the first commit, nothing); a
// metric command replacing results in place may leave files of both runs while its batch is
// renamed in, or the earlier run's files it does not write again are removed (the documented
// window of writeResults). Rerun, the folder holds what an uninterrupted run writes, and
// nothing temporary is left beside it or in $TMPDIR. It returns the number of kill points.
func resultsCrash(t *testing.T, work string, staged bool, earlier, later func(out string) []string, replace ...string) int {
	t.Helper()
	out := filepath.Join(work, "out")
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	// The references are written at the same path as the runs killed: summaries name it.
	ref := func(args []string) map[string][]byte {
		emptyWork(t, work, out, false, "")
		mustRun(t, args...)
		return crashFolder(t, out)
	}
	old := ref(earlier(out))
	oldCopy := filepath.Join(t.TempDir(), "earlier")
	copyTree(t, out, oldCopy)
	want := ref(later(out))
	same := func(a, b map[string][]byte) bool { return maps.EqualFunc(a, b, bytes.Equal) }
	if same(old, want) {
		t.Fatalf("%s: the earlier and later runs write the same results", crashLabel(later(out)))
	}
	kills := 0
	for _, existing := range []bool{false, true} {
		args := later(out)
		if existing && staged {
			args = append(args, replace...)
		}
		mixed := 0
		prepare := func() { emptyWork(t, work, out, existing, oldCopy) }
		kills += crashtest.EachStep(t, work, prepare, func(where string, res crashtest.Result) {
			what := crashLabel(args) + " " + where
			if existing {
				what = "replacing, " + what
			}
			if fileExists(out) {
				got := crashFolder(t, out)
				switch {
				case same(got, old) && existing, same(got, want):
				case existing && !staged && (strings.HasPrefix(res.Step, "batch: ") || strings.HasPrefix(res.Step, "removed ")):
					mixed++
				default:
					t.Errorf("%s: the folder holds neither run's results whole: %v", what, slices.Sorted(maps.Keys(got)))
				}
			} else if existing {
				// where the file system cannot exchange two folders, the earlier results are
				// renamed aside, then the new ones in
				olds, _ := filepath.Glob(filepath.Join(work, ".out.tmp-*.old"))
				if !staged || len(olds) != 1 || !same(crashFolder(t, olds[0]), old) {
					t.Errorf("%s: no results at %s, and beside it %v", what, out, olds)
				}
			}
			if staged && !existing && fileExists(out) {
				// killed once the results were in place: nothing to resume, and a rerun
				// without --overwrite refuses the folder
			} else if _, errOut, code := runCLIWithin(t, time.Minute, args...); code != 0 {
				t.Errorf("%s: rerun: exit %d: %s", what, code, errOut)
			}
			if got := crashFolder(t, out); !same(got, want) {
				checkSameFiles(t, what+", then rerun", got, want)
			}
			checkNoLeftovers(t, what+", then rerun", work)
			checkNoLeftovers(t, what+", then rerun", tmp)
			if t.Failed() {
				t.FailNow() // one kill point at a time
			}
		}, args...)
		if mixed > 0 {
			t.Logf("%s (replacing): %d kill points with files of both runs", crashLabel(args), mixed)
		}
	}
	t.Logf("%s: %d kill points", crashLabel(later(out)), kills)
	return kills
}

// withOut is a command line with --out out (the place of "OUT" in args).
func withOut(args ...string) func(out string) []string {
	return func(out string) []string {
		a := slices.Clone(args)
		a[slices.Index(a, "OUT")] = out
		return a
	}
}

func TestSpatialTemporalCompareRankCrashEveryStep(t *testing.T) {
	_, _, fm := metricSweeps(t)
	mg := megSweeps(t)
	dir := t.TempDir()
	for _, c := range []struct{ earlier, later []string }{
		// the later run draws figures the earlier did not
		{[]string{"spatial", "--no-figures", "--no-mask", "--out", "OUT", fm[0], fm[1]}, []string{"spatial", "--out", "OUT", fm[0], fm[1]}},
		// the earlier run's figure is removed
		{[]string{"temporal", "--out", "OUT", mg[0], mg[1]}, []string{"temporal", "--no-figures", "--windows", "0.1:0.2", "--out", "OUT", mg[0], mg[1]}},
		{[]string{"compare", "--a", fm[0], "--b", fm[0], "--checkpoint-b", "0", "--out", "OUT"}, []string{"compare", "--a", fm[0], "--b", fm[0], "--checkpoint-b", "1", "--out", "OUT"}},
		{[]string{"rank", "--no-figures", "--out", "OUT", fm[0], fm[1]}, []string{"rank", "--by-roi", "--layer", "last", "--out", "OUT", fm[0], fm[1]}},
	} {
		resultsCrash(t, filepath.Join(dir, c.later[0]), false, withOut(c.earlier...), withOut(c.later...))
	}
}

func TestRSAUniversalScalingCrashEveryStep(t *testing.T) {
	dir := t.TempDir()
	in := func(name string) string { d := filepath.Join(dir, name); must(t, os.Mkdir(d, 0o755)); return d }
	good, bad, brain, roi, names := writeRSAStudy(t, in("rsa-in"), 40)
	ua, ub, uy := writeUniversalStudy(t, in("universal-in"), 60)
	table := writeModels(t, in("scaling-in"))
	for _, c := range []struct{ earlier, later []string }{
		// the later run writes fewer RDMs: the earlier run's others are removed
		{[]string{"rsa", "--features", good, "--features", "random=" + bad, "--brain", brain, "--roi", roi, "--roi-names", names, "--save-rdms", "--out", "OUT"},
			[]string{"rsa", "--features", good, "--brain", brain, "--save-rdms", "--no-cka", "--out", "OUT"}},
		{[]string{"universal", "--features", ua, "--features", ub, "--brain", uy, "--dims", "3", "--top", "2", "--no-figures", "--alphas", "1,10", "--folds", "3", "--out", "OUT"},
			[]string{"universal", "--features", ua, "--features", ub, "--brain", uy, "--dims", "2", "--top", "1", "--alphas", "1,10", "--folds", "3", "--out", "OUT"}},
		{[]string{"scaling", "--table", table, "--group", "family", "--bootstrap", "0", "--out", "OUT"},
			[]string{"scaling", "--table", table, "--group", "family", "--bootstrap", "20", "--predict", "1e20", "--out", "OUT"}},
	} {
		resultsCrash(t, filepath.Join(dir, c.later[0]), false, withOut(c.earlier...), withOut(c.later...))
	}
}

func TestStagedCommandsCrashEveryStep(t *testing.T) {
	dir := t.TempDir()
	tr := writeTrialStudy(t)
	xp, yp := writeStudy(t, dir, 40, 6, 50)
	for _, c := range []struct{ earlier, later []string }{
		{[]string{"ceiling", "--brain", tr.trials, "--ids", tr.ids, "--out", "OUT"},
			[]string{"ceiling", "--brain", tr.trials, "--ids", tr.ids, "--sessions", tr.sessions, "--out", "OUT"}},
		{[]string{"predict", "-x", xp, "--new-features", xp, "-y", yp, "--alphas", "1,10", "-o", "OUT"},
			[]string{"predict", "-x", xp, "--new-features", xp, "-y", yp, "--alphas", "1,100", "--save-weights", "-o", "OUT"}},
		{[]string{"synth", "--subjects", "1", "--format", "npz", "--out", "OUT"}, []string{"synth", "--subjects", "1", "--format", "npz", "--seed", "2", "--out", "OUT"}},
	} {
		resultsCrash(t, filepath.Join(dir, c.later[0]), true, withOut(c.earlier...), withOut(c.later...), "--overwrite")
	}
	st := newPlantedStudy(t)
	sw := st.sweep(t, "sweep", st.brain, "--alphas", "1,100", "--folds", "3")
	resultsCrash(t, filepath.Join(dir, "best"), true,
		withOut("predict", "--features", st.train, "--layer", "blocks.1", "--new-features", st.freshNPZ, "--brain", st.brain, "--alphas", "1,100", "--out", "OUT"),
		withOut("predict", "--best-layer", sw, "--features", st.train, "--new-features", st.fresh, "--brain", st.brain, "--alphas", "1,100", "--out", "OUT"), "--overwrite")
}

// demo --study-out replaced (--overwrite) or written anew, killed at every step of
// replaceStudyOut and of writing the study (demoStudyStub): at each kill --study-out holds the
// earlier study whole, the new one whole, or (the study is written in place) an incomplete new
// one with the earlier study set aside whole beside it, or nothing; rerun, it holds the new
// study, and neither the earlier study nor anything else is left beside it.
func TestDemoStudyOutCrashEveryStep(t *testing.T) {
	work := filepath.Join(t.TempDir(), "work")
	out := filepath.Join(work, "study")
	stub := func(content string, more ...string) []string {
		return append([]string{demoStudyStub, out, content}, more...)
	}
	studyOf := func(args []string) map[string][]byte {
		emptyWork(t, work, out, false, "")
		if err := runDemoStudyStub(args[1:]); err != nil {
			t.Fatal(err)
		}
		return crashFolder(t, out)
	}
	old := studyOf(stub("old"))
	oldCopy := filepath.Join(t.TempDir(), "old")
	copyTree(t, out, oldCopy)
	want := studyOf(stub("new"))
	same := func(a, b map[string][]byte) bool { return maps.EqualFunc(a, b, bytes.Equal) }
	for _, overwrite := range []bool{false, true} {
		args := stub("new")
		if overwrite {
			args = append(args, "--overwrite")
		}
		prepare := func() { emptyWork(t, work, out, overwrite, oldCopy) }
		kills := crashtest.EachStep(t, work, prepare, func(where string, _ crashtest.Result) {
			what := fmt.Sprintf("demo --study-out (--overwrite: %v) %s", overwrite, where)
			aside, _ := filepath.Glob(filepath.Join(work, ".study"+oldStudyInfix+"*"))
			got := map[string][]byte{}
			if fileExists(out) {
				got = crashFolder(t, out)
			}
			switch {
			case same(got, want) || overwrite && same(got, old):
			case overwrite && (len(aside) != 1 || !same(crashFolder(t, aside[0]), old)):
				t.Errorf("%s: the study is incomplete (%v), and the earlier one not whole beside it (%v)", what, slices.Sorted(maps.Keys(got)), aside)
			}
			if !overwrite && same(got, want) && !fileExists(filepath.Join(out, studyIncomplete)) {
				// killed once the study was whole and so marked: nothing to resume, and a
				// rerun without --overwrite refuses the folder
			} else if err := runDemoStudyStub(args[1:]); err != nil {
				t.Errorf("%s: rerun: %v", what, err)
			}
			if got := crashFolder(t, out); !same(got, want) {
				checkSameFiles(t, what+", then rerun", got, want)
			}
			checkNoLeftovers(t, what+", then rerun", work)
			if t.Failed() {
				t.FailNow()
			}
		}, args...)
		t.Logf("--overwrite %v: %d kill points", overwrite, kills)
	}
}

// The real demo --study-out --overwrite killed while it writes its study: rerun, it replaces
// the incomplete study with a whole one, and removes the earlier study it had set aside.
func TestDemoStudyOutKilledThenRerun(t *testing.T) {
	work := filepath.Join(t.TempDir(), "work")
	out := filepath.Join(work, "study")
	t.Setenv("TMPDIR", t.TempDir())
	// an earlier study: what demo takes for one (isDemoStudy), and a file it does not write
	must(t, os.MkdirAll(filepath.Join(out, "sweeps"), 0o755))
	must(t, os.MkdirAll(filepath.Join(out, "spatial"), 0o755))
	writeText(t, filepath.Join(out, "spatial"), "spatial.json", `{"command": "spatial"}`)
	writeText(t, out, "earlier.txt", "earlier")
	args := []string{"demo", "--study-out", out, "--overwrite"}
	// a few files into the study (its sweeps')
	if res := crashtest.Run(t, 8, nil, args...); !res.Killed {
		t.Fatalf("not killed: exit %d\n%s", res.Code, res.Stderr)
	}
	if fileExists(filepath.Join(out, "earlier.txt")) || !fileExists(filepath.Join(out, studyIncomplete)) {
		t.Fatalf("killed at step 8, the study is not incomplete")
	}
	if _, errOut, code := runCLIWithin(t, time.Minute, args...); code != 0 {
		t.Fatalf("rerun: exit %d: %s", code, errOut)
	}
	if !isDemoStudy(out) || fileExists(filepath.Join(out, "earlier.txt")) {
		t.Errorf("rerun: %s does not hold the new study alone", out)
	}
	checkNoLeftovers(t, "demo killed, then rerun", work)
	checkNoLeftovers(t, "demo killed, then rerun", os.Getenv("TMPDIR"))
}
