package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/brainalign/brainalign/array"
)

// sweep --dry-run: what a run would do, from the units done by an earlier shard; a bad layer is
// named with exit status 1; nothing is written; flags that do not go with it are usage errors.
func TestSweepDryRunCLI(t *testing.T) {
	dir := t.TempDir()
	st := filepath.Join(dir, "study")
	mustRun(t, "synth", "--out", st, "--subjects", "1")
	out := filepath.Join(dir, "s")
	args := []string{"sweep", "--features", filepath.Join(st, "model"), "--brain", filepath.Join(st, "fmri", "sub-01", "brain.npy"),
		"--out", out, "--alphas", "1,100", "--folds", "3"}

	got := mustRun(t, append(args, "--dry-run", "--scan-values")...)
	for _, want := range []string{"6 checkpoint(s) x 6 layers = 36 units", "36 units checked (headers and values), 0 problem(s)",
		"would be created; 0 done, 36 to score", "no problems found"} {
		if !strings.Contains(got, want) {
			t.Errorf("dry run of a new sweep: no %q in\n%s", want, got)
		}
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Fatalf("the dry run created %s", out)
	}
	mustRun(t, append(args, "--shard", "0/2")...)
	got = mustRun(t, append(args, "--shard", "1/2", "--dry-run")...)
	for _, want := range []string{"shard 1/2 has 18 of the 36 units: 0 done, 18 to score; other shards: 0 not done",
		"per unit on ", "(18 units done): the 18 units left take about"} {
		if !strings.Contains(got, want) {
			t.Errorf("dry run of shard 1/2 after shard 0/2: no %q in\n%s", want, got)
		}
	}

	for _, want := range []string{"tables: merged once these units are scored"} {
		if !strings.Contains(got, want) {
			t.Errorf("dry run of the last shard: no %q in\n%s", want, got)
		}
	}

	// The sweep finished: rerun as it was, its tables are kept; with other checkpoint steps, no
	// unit is scored but the tables are rewritten (steps.npy, table.csv's steps), as a run does.
	mustRun(t, append(args, "--shard", "1/2")...)
	if got = mustRun(t, append(args, "--dry-run")...); !strings.Contains(got, "0 to score\ntables: current, kept as they are\n") {
		t.Errorf("dry run of the finished sweep: tables not said to be kept in\n%s", got)
	}
	withSteps := append(args, "--steps", "1,2,3,4,5,6")
	if got = mustRun(t, append(withSteps, "--dry-run")...); !strings.Contains(got, "0 to score\ntables: rewritten, with no unit scored: sweep.json: checkpoint steps\n") {
		t.Errorf("dry run of the finished sweep with other --steps: tables not said to be rewritten in\n%s", got)
	}
	mustRun(t, withSteps...)
	if got = mustRun(t, append(withSteps, "--dry-run")...); !strings.Contains(got, "tables: current, kept as they are") {
		t.Errorf("dry run after the run with --steps: tables not said to be kept in\n%s", got)
	}

	// A layer with other rows: named, exit status 1, and the sweep folder untouched.
	bad := filepath.Join(st, "model", "ckpt-000001000", "layer03.npy")
	if err := array.WriteNPY(bad, []int{3, 32}, make([]float32, 3*32)); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(filepath.Join(out, "sweep.json"))
	stdout, stderr, code := runCLI(t, append(args, "--dry-run")...)
	if code != 1 || !strings.Contains(stdout, "problems (1)") || !strings.Contains(stdout, bad+": 3 rows, but the brain data") ||
		!strings.Contains(stderr, "1 unit(s) or file(s)") {
		t.Errorf("dry run with a short layer: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if after, _ := os.ReadFile(filepath.Join(out, "sweep.json")); string(after) != string(before) {
		t.Error("the dry run rewrote sweep.json")
	}

	// A memory limit the CPU engine would refuse for the widest layer: a problem before the job.
	stdout, stderr, code = runCLI(t, append(args, "--dry-run", "--device", "cpu", "--memory", "64KB")...)
	if code != 1 || !strings.Contains(stdout, "the memory limit (--memory), 62.5 KiB, is below the ") ||
		!strings.Contains(stdout, "one fold's decomposition of its 32 features needs on the CPU engine") {
		t.Errorf("dry run with --memory 64KB: exit %d\n%s", code, stdout)
	}
	// the short layer and the memory limit, each said as what it is
	if want := "dry run: 1 unit(s) or file(s) of " + filepath.Join(st, "model") + " cannot be scored; the widest layer needs more memory than the CPU engine may take"; !strings.Contains(stderr, want) {
		t.Errorf("dry run with --memory 64KB: want %q on stderr, got\n%s", want, stderr)
	}

	for _, extra := range [][]string{{"--scan-values"}, {"--dry-run", "--merge-only"}} {
		if _, stderr, code := runCLI(t, append(args, extra...)...); code != 2 {
			t.Errorf("%v: exit %d, want 2 (usage)\n%s", extra, code, stderr)
		}
	}
}
