//go:build unix

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/brainalign/brainalign/array"
	"github.com/brainalign/brainalign/internal/crashpoint/crashtest"
	"github.com/brainalign/brainalign/sweep"
)

// The crash tests kill a command at every step at which it changes what is on disk
// (internal/crashpoint: a temp file written, renamed into place, a file removed, the merge lock
// taken or released), one kill per child process, then resume it as a user would, and check
// that the outputs end byte for byte as those of an uninterrupted run, that nothing temporary
// is left, and that no reader took what a killed run left for current results.

// crashStudy is a tiny sweep: 2 checkpoints x 2 layers against a few hundred targets.
type crashStudy struct {
	model, brain, roi string
}

const (
	crashRows     = 24
	crashFeatures = 5
	crashTargets  = 300
)

func writeCrashStudy(t *testing.T, dir string) crashStudy {
	t.Helper()
	rng := rand.New(rand.NewPCG(11, 12))
	s := crashStudy{model: filepath.Join(dir, "model"), brain: filepath.Join(dir, "brain.npy"), roi: filepath.Join(dir, "roi.npy")}
	for _, ck := range []string{"ckpt-10", "ckpt-20"} {
		must(t, os.MkdirAll(filepath.Join(s.model, ck), 0o755))
		for _, ly := range []string{"layer-0", "layer-1"} {
			writeCrashLayer(t, filepath.Join(s.model, ck, ly+".npy"), rng)
		}
	}
	y := make([]float64, crashRows*crashTargets)
	for i := range y {
		y[i] = rng.NormFloat64()
	}
	must(t, array.WriteNPY(s.brain, []int{crashRows, crashTargets}, y))
	roi := make([]int64, crashTargets)
	for i := range roi {
		roi[i] = int64(i%3) - 1 // -1: none, then ROIs 0 and 1
	}
	must(t, array.WriteNPY(s.roi, []int{crashTargets}, roi))
	return s
}

func writeCrashLayer(t *testing.T, path string, rng *rand.Rand) {
	t.Helper()
	x := make([]float32, crashRows*crashFeatures)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	must(t, array.WriteNPY(path, []int{crashRows, crashFeatures}, x))
}

func (s crashStudy) sweep(out string, more ...string) []string {
	return append([]string{"sweep", "--features", s.model, "--brain", s.brain, "--roi", s.roi, "--out", out,
		"--alphas", "1,100", "--folds", "3", "--device", "cpu"}, more...)
}

// sweepTables are the files of a sweep folder that must be byte for byte those of an
// uninterrupted run (unit records and merged.json hold times: checked otherwise).
func sweepTables(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if strings.HasSuffix(rel, ".json") && rel != "sweep.json" {
			return nil
		}
		b, err := os.ReadFile(p)
		files[rel] = b
		return err
	})
	must(t, err)
	return files
}

// checkSameFiles checks that got holds exactly want's files, with the same bytes.
func checkSameFiles(t *testing.T, what string, got, want map[string][]byte) {
	t.Helper()
	for _, name := range slices.Sorted(maps.Keys(want)) {
		if b, ok := got[name]; !ok {
			t.Errorf("%s: %s missing", what, name)
		} else if !bytes.Equal(b, want[name]) {
			t.Errorf("%s: %s differs from an uninterrupted run's", what, name)
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("%s: %s, which an uninterrupted run does not write", what, name)
		}
	}
}

// checkNoLeftovers fails on what a killed run leaves and a resumed one must have removed: temp
// files and staging folders (hidden names), the merge lock and its break mark.
func checkNoLeftovers(t *testing.T, what, dir string) {
	t.Helper()
	filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err == nil && (strings.HasPrefix(e.Name(), ".") || strings.HasPrefix(e.Name(), "merge.lock")) {
			t.Errorf("%s: %s left behind", what, p)
		}
		return nil
	})
}

// checkSweepReaders checks what the readers of a sweep folder make of it as a killed run left
// it: tables read as current (Load, OpenScores, ReadStatus, ReadStatusQuick) must be whole
// tables of one of the runs (refs), and hold the units recorded in the folder now.
func checkSweepReaders(t *testing.T, what, dir string, refs ...map[string][]byte) {
	t.Helper()
	accepted := map[string]bool{}
	if s, err := sweep.Load(dir); err == nil {
		accepted["Load"] = true
		s.Close()
	} else if !errors.Is(err, sweep.ErrNotMerged) && fileExists(filepath.Join(dir, "merged.json")) {
		t.Errorf("%s: Load: %v (with merged.json there)", what, err)
	}
	if s, err := sweep.OpenScores(dir); err == nil {
		accepted["OpenScores"] = true
		s.Close()
	}
	if st, err := sweep.ReadStatus(dir); err == nil && st.Current {
		accepted["ReadStatus"] = true
	}
	if st, err := sweep.ReadStatusQuick(dir); err == nil && st.Current {
		accepted["ReadStatusQuick"] = true
	}
	if len(accepted) == 0 {
		return
	}
	tables := []string{"scores.npy", "fold_scores.npy", "steps.npy", "table.csv", "sweep.json"}
	got := sweepTables(t, dir)
	whole := false
	for _, ref := range refs {
		same := true
		for _, f := range tables {
			same = same && bytes.Equal(got[f], ref[f])
		}
		whole = whole || same
	}
	// The units recorded now: the tables must hold their scores.
	var m sweep.Manifest
	must(t, json.Unmarshal(got["sweep.json"], &m))
	held := true
	if sa, err := array.ReadNPY(filepath.Join(dir, "scores.npy")); err == nil {
		for c, ck := range m.Checkpoints {
			for l, ly := range m.Layers {
				base := filepath.Join(dir, "units", ck.Name, ly)
				u, err := array.ReadNPY(base + ".scores.npy")
				if err != nil || !fileExists(base+".json") {
					held = false
					continue
				}
				L := len(m.Layers)
				held = held && slices.Equal(u.F64, sa.F64[(c*L+l)*m.Targets:(c*L+l+1)*m.Targets])
				u.Close()
			}
		}
		sa.Close()
	} else {
		held = false
	}
	if !whole || !held {
		t.Errorf("%s: %v take the tables as current, but they are not those of a run (whole: %v), or not of the units recorded (%v)",
			what, slices.Sorted(maps.Keys(accepted)), whole, held)
	}
}

// copyTree copies the folder src to dst (which must not exist).
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	must(t, filepath.WalkDir(src, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		to := filepath.Join(dst, rel)
		if e.IsDir() {
			return os.MkdirAll(to, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(to, b, 0o644)
	}))
}

// crashSequence kills each command of cmds at every step in turn, the commands before it run
// whole (from snapshots), then resumes: the killed command again, then the ones after it. The
// folder out must end as want (an uninterrupted run's), and readers at each kill may take as
// current only tables of accept. start, if set, is the folder before the first command.
// mergeOnly, if set, is also run alone on the folder as each kill left it: it must merge the
// tables of want, or refuse (units not done) leaving no current tables.
func crashSequence(t *testing.T, out, start string, cmds [][]string, mergeOnly []string, want map[string][]byte, accept ...map[string][]byte) (kills int) {
	t.Helper()
	snaps := filepath.Join(t.TempDir(), "snap")
	// what the runs keep in the temp directory (the metadata compared) must go too
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	reset := func(k int) {
		must(t, os.RemoveAll(out))
		if p := fmt.Sprintf("%s%d", snaps, k); fileExists(p) {
			copyTree(t, p, out)
		}
	}
	if start != "" {
		copyTree(t, start, snaps+"0")
	}
	for k := range cmds {
		if k > 0 {
			reset(k - 1)
			mustRun(t, cmds[k-1]...)
			copyTree(t, out, fmt.Sprintf("%s%d", snaps, k))
		}
		kills += crashtest.EachStep(t, filepath.Dir(out), func() { reset(k) }, func(where string, _ crashtest.Result) {
			what := crashLabel(cmds[k]) + " " + where
			checkSweepReaders(t, what, out, append(accept, want)...)
			if mergeOnly != nil {
				killedState := filepath.Join(t.TempDir(), "killed")
				copyTree(t, out, killedState)
				if _, _, code := runCLIWithin(t, time.Minute, mergeOnly...); code == 0 {
					checkSameFiles(t, what+", then --merge-only", sweepTables(t, out), want)
					checkNoLeftovers(t, what+", then --merge-only", out)
				} else {
					checkSweepReaders(t, what+", then a --merge-only that refused", out, append(accept, want)...)
				}
				must(t, os.RemoveAll(out))
				copyTree(t, killedState, out)
				must(t, os.RemoveAll(killedState))
			}
			for _, c := range cmds[k:] {
				if _, errOut, code := runCLIWithin(t, time.Minute, c...); code != 0 {
					t.Errorf("%s: resumed, %v: exit %d: %s", what, c, code, errOut)
				}
			}
			checkSameFiles(t, what+", then resumed", sweepTables(t, out), want)
			if st, err := sweep.ReadStatus(out); err != nil || !st.Current {
				t.Errorf("%s, then resumed: tables not current (%v)", what, err)
			}
			checkNoLeftovers(t, what+", then resumed", out)
			checkNoLeftovers(t, what+", then resumed", tmp)
			if t.Failed() {
				t.FailNow() // one kill point at a time
			}
		}, cmds[k]...)
	}
	return kills
}

// emptyWork empties the folder work of a crash test and, with earlier, copies the results folder
// from (an earlier run's) to out inside it.
func emptyWork(t *testing.T, work, out string, earlier bool, from string) {
	t.Helper()
	must(t, os.RemoveAll(work))
	must(t, os.MkdirAll(work, 0o755))
	if earlier {
		copyTree(t, from, out)
	}
}

// runCLIWithin is runCLI stopped after limit (a resumed run that waits for a lock that its
// killed predecessor left fails, not hangs).
func runCLIWithin(t *testing.T, limit time.Duration, args ...string) (string, string, int) {
	t.Helper()
	defer snapshotFlags()()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	var out, errb bytes.Buffer
	err := run(ctx, append([]string{"brainalign"}, args...), &out, &errb)
	code := exitCode(err, &errb) // which writes the error: before errb is read
	return out.String(), errb.String(), code
}

// crashLabel names a command of a crash test in messages: the command and the flags that set
// it apart.
func crashLabel(args []string) string {
	label := args[0]
	for i, a := range args {
		switch {
		case a == "--shard" && i+1 < len(args):
			label += " --shard " + args[i+1]
		case a == "--merge-only" || a == "--overwrite":
			label += " " + a
		}
	}
	return label
}

// A sweep killed at every step, resumed with the same command.
func TestSweepCrashEveryStep(t *testing.T) {
	dir := t.TempDir()
	s := writeCrashStudy(t, filepath.Join(dir, "in"))
	ref := filepath.Join(dir, "ref")
	mustRun(t, s.sweep(ref)...)
	want := sweepTables(t, ref)
	out := filepath.Join(dir, "work", "out")
	must(t, os.MkdirAll(filepath.Dir(out), 0o755))
	n := crashSequence(t, out, "", [][]string{s.sweep(out)}, []string{"sweep", "--merge-only", "--out", out}, want)
	t.Logf("%d kill points", n)
}

// Two shards and a --merge-only merge, each killed at every step, resumed with the same command
// and the ones after it.
func TestSweepShardsCrashEveryStep(t *testing.T) {
	dir := t.TempDir()
	s := writeCrashStudy(t, filepath.Join(dir, "in"))
	ref := filepath.Join(dir, "ref")
	mustRun(t, s.sweep(ref)...)
	want := sweepTables(t, ref)
	out := filepath.Join(dir, "work", "out")
	must(t, os.MkdirAll(filepath.Dir(out), 0o755))
	n := crashSequence(t, out, "", [][]string{s.sweep(out, "--shard", "0/2"), s.sweep(out, "--shard", "1/2"),
		{"sweep", "--merge-only", "--out", out}}, []string{"sweep", "--merge-only", "--out", out}, want)
	t.Logf("%d kill points", n)
}

// A finished sweep rerun after a layer's activations were extracted again, killed at every
// step: the tables read as current at each kill are the old ones while the folder's records
// are the old ones, never the old tables beside a new unit, nor a mix.
func TestSweepRescoreCrashEveryStep(t *testing.T) {
	dir := t.TempDir()
	s := writeCrashStudy(t, filepath.Join(dir, "in"))
	before := filepath.Join(dir, "before")
	mustRun(t, s.sweep(before)...)
	old := sweepTables(t, before)
	writeCrashLayer(t, filepath.Join(s.model, "ckpt-20", "layer-0.npy"), rand.New(rand.NewPCG(99, 98)))
	ref := filepath.Join(dir, "ref")
	mustRun(t, s.sweep(ref)...)
	want := sweepTables(t, ref)
	if bytes.Equal(old["scores.npy"], want["scores.npy"]) {
		t.Fatal("the new activations give the old scores")
	}
	out := filepath.Join(dir, "work", "out")
	must(t, os.MkdirAll(filepath.Dir(out), 0o755))
	n := crashSequence(t, out, before, [][]string{s.sweep(out)}, nil, want, old)
	t.Logf("%d kill points", n)
}

// A sweep rerun with other metadata (--steps), killed at every step: steps.npy, table.csv and
// sweep.json change, the scores do not; tables read as current are all of one run.
func TestSweepNewMetadataCrashEveryStep(t *testing.T) {
	dir := t.TempDir()
	s := writeCrashStudy(t, filepath.Join(dir, "in"))
	before := filepath.Join(dir, "before")
	mustRun(t, s.sweep(before, "--steps", "1,2")...)
	old := sweepTables(t, before)
	ref := filepath.Join(dir, "ref")
	mustRun(t, s.sweep(ref, "--steps", "5,6")...)
	want := sweepTables(t, ref)
	out := filepath.Join(dir, "work", "out")
	must(t, os.MkdirAll(filepath.Dir(out), 0o755))
	n := crashSequence(t, out, before, [][]string{s.sweep(out, "--steps", "5,6")}, nil, want, old)
	t.Logf("%d kill points", n)
}

// encodeFiles are the files of an encode output folder; summary.json, which holds timings, is
// checked to be whole JSON and left out.
func encodeFiles(t *testing.T, what, dir string) map[string][]byte {
	t.Helper()
	files := sweepTables(t, dir)
	b, err := os.ReadFile(filepath.Join(dir, "summary.json"))
	if err != nil || !json.Valid(b) {
		t.Errorf("%s: summary.json: %v (valid JSON: %v)", what, err, json.Valid(b))
	}
	return files
}

// encode --out DIR killed at every step, on its own and replacing an earlier output
// (--overwrite): at each kill DIR holds the whole earlier results, or the whole new ones, or
// (before the first run's commit) nothing; rerun, it holds the new ones, and nothing staged is
// left beside it.
func TestEncodeCrashEveryStep(t *testing.T) {
	dir := t.TempDir()
	xp, yp := writeStudy(t, dir, 40, 6, 50)
	encode := func(out, alphas string, more ...string) []string {
		return append([]string{"encode", "--features", xp, "--brain", yp, "--out", out, "--folds", "3", "--alphas", alphas, "--device", "cpu"}, more...)
	}
	oldRef, newRef := filepath.Join(dir, "old"), filepath.Join(dir, "new")
	mustRun(t, encode(oldRef, "1,10")...)
	mustRun(t, encode(newRef, "1,100")...)
	old, want := encodeFiles(t, "old", oldRef), encodeFiles(t, "new", newRef)
	if bytes.Equal(old["alphas.npy"], want["alphas.npy"]) {
		t.Fatal("the two grids chose the same penalties")
	}
	work := filepath.Join(dir, "work")
	out := filepath.Join(work, "out")
	for _, overwrite := range []bool{false, true} {
		args := encode(out, "1,100")
		if overwrite {
			args = append(args, "--overwrite")
		}
		prepare := func() { emptyWork(t, work, out, overwrite, oldRef) }
		kills := crashtest.EachStep(t, work, prepare, func(where string, _ crashtest.Result) {
			what := crashLabel(args) + " " + where
			switch {
			case !fileExists(out):
				// where the file system cannot exchange two folders (and off Linux), the
				// previous results are renamed aside, then the new ones in
				olds, _ := filepath.Glob(filepath.Join(work, ".out.tmp-*.old"))
				if overwrite && (len(olds) != 1 || !maps.EqualFunc(encodeFiles(t, what, olds[0]), old, bytes.Equal)) {
					t.Errorf("%s: no results at %s, and beside it %v", what, out, olds)
				}
			default:
				got := encodeFiles(t, what, out)
				if !maps.EqualFunc(got, old, bytes.Equal) && !maps.EqualFunc(got, want, bytes.Equal) {
					t.Errorf("%s: %s holds neither the earlier results whole nor the new ones (%v)", what, out, slices.Sorted(maps.Keys(got)))
				}
			}
			if !overwrite && fileExists(out) {
				// killed once the results were in place: nothing to resume
				checkSameFiles(t, what, encodeFiles(t, what, out), want)
			} else if _, errOut, code := runCLIWithin(t, time.Minute, args...); code != 0 {
				t.Errorf("%s: rerun: exit %d: %s", what, code, errOut)
			}
			checkSameFiles(t, what+", then rerun", encodeFiles(t, what, out), want)
			checkNoLeftovers(t, what+", then rerun", work)
			if t.Failed() {
				t.FailNow()
			}
		}, args...)
		t.Logf("%s: %d kill points", crashLabel(args), kills)
	}
}

// halftimeRun identifies a halftime results folder: its files' bytes, halftime.json's read as
// the sweeps it names (it holds the time it was written).
func halftimeRun(t *testing.T, what, dir string) map[string][]byte {
	t.Helper()
	files := sweepTables(t, dir)
	for name := range files {
		if strings.HasPrefix(filepath.Base(name), ".") {
			delete(files, name) // a temp file: not results (checkNoLeftovers looks for them)
		}
	}
	var h struct {
		Sweeps []string `json:"sweeps"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "halftime.json"))
	if err != nil || json.Unmarshal(b, &h) != nil {
		t.Errorf("%s: halftime.json: %v, or not whole", what, err)
	}
	files["halftime.json"] = []byte(strings.Join(h.Sweeps, "\n"))
	return files
}

// A metric command (halftime) killed at every step, writing a new results folder (staged whole,
// internal/outdir) and replacing the results in a folder that holds files (atomicfile.Batch,
// then the earlier run's figures that this one does not draw removed): at each kill the folder
// holds one run's results whole, except while the batch's files are renamed one by one or the
// earlier figures removed, the documented window where a kill leaves files of both runs; rerun,
// it holds the new results only, nothing staged left beside them.
func TestMetricResultsCrashEveryStep(t *testing.T) {
	dir := t.TempDir()
	s := writeCrashStudy(t, filepath.Join(dir, "in"))
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	mustRun(t, s.sweep(a, "--steps", "1,2")...)
	mustRun(t, s.sweep(b, "--steps", "5,6")...)
	oldRef, newRef := filepath.Join(dir, "old"), filepath.Join(dir, "new")
	mustRun(t, "halftime", "--no-mask", "--out", oldRef, a)
	mustRun(t, "halftime", "--no-mask", "--no-figures", "--out", newRef, b)
	old, want := halftimeRun(t, "old", oldRef), halftimeRun(t, "new", newRef)
	same := func(x, y map[string][]byte) bool { return maps.EqualFunc(x, y, bytes.Equal) }
	work := filepath.Join(dir, "work")
	out := filepath.Join(work, "ht")
	for _, existing := range []bool{false, true} {
		args := []string{"halftime", "--no-mask", "--no-figures", "--out", out, b}
		mixed := 0
		prepare := func() { emptyWork(t, work, out, existing, oldRef) }
		kills := crashtest.EachStep(t, work, prepare, func(where string, res crashtest.Result) {
			what := fmt.Sprintf("halftime (existing folder: %v) %s", existing, where)
			if fileExists(out) {
				got := halftimeRun(t, what, out)
				switch {
				case same(got, old) || same(got, want):
				case existing && (strings.HasPrefix(res.Step, "batch: ") || strings.HasPrefix(res.Step, "removed ")):
					mixed++
				default:
					t.Errorf("%s: the folder holds neither run's results whole: %v", what, slices.Sorted(maps.Keys(got)))
				}
			} else if existing {
				t.Errorf("%s: the folder is gone", what)
			}
			if _, errOut, code := runCLIWithin(t, time.Minute, args...); code != 0 {
				t.Errorf("%s: rerun: exit %d: %s", what, code, errOut)
			}
			if got := halftimeRun(t, what, out); !same(got, want) {
				t.Errorf("%s, then rerun: %v, not the new results", what, slices.Sorted(maps.Keys(got)))
			}
			checkNoLeftovers(t, what+", then rerun", work)
			if t.Failed() {
				t.FailNow()
			}
		}, args...)
		t.Logf("existing folder %v: %d kill points, %d with files of both runs", existing, kills, mixed)
	}
}
