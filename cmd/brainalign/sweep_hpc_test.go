package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/brainalign/brainalign/internal/owner"
)

// Shards of a job array after a checkpoint's activations were re-extracted: a shard that finds
// another shard's units changed says that their shards score them again (not --merge-only, which
// refuses them), and the tables are not current from then on; inspect lists a killed merge's
// temp file with its size, and --merge-only removes it.
func TestSweepShardsChangedActivationsCLI(t *testing.T) {
	dir := t.TempDir()
	st := filepath.Join(dir, "study")
	mustRun(t, "synth", "--out", st, "--subjects", "1", "--format", "npz")
	out := filepath.Join(dir, "s")
	args := []string{"sweep", "--features", filepath.Join(st, "model"), "--brain", filepath.Join(st, "fmri", "sub-01", "brain.npy"),
		"--out", out, "--alphas", "1,100", "--folds", "3"}
	mustRun(t, append(args, "--shard", "0/2")...)
	mustRun(t, append(args, "--shard", "1/2")...)

	// A checkpoint's bundle saved again: its layers, of both shards, are to be scored again.
	bundles, _ := filepath.Glob(filepath.Join(st, "model", "*.npz"))
	if len(bundles) == 0 {
		t.Fatal("no bundles")
	}
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(bundles[0], later, later); err != nil {
		t.Fatal(err)
	}
	got := mustRun(t, append(args, "--shard", "0/2")...)
	if !strings.Contains(got, "because their activations changed since they were scored") || strings.Contains(got, "--merge-only") {
		t.Errorf("shard 0 after a checkpoint changed:\n%s", got)
	}
	if got := mustRun(t, "inspect", out); !strings.Contains(got, "not current") {
		t.Errorf("inspect after a checkpoint changed:\n%s", got)
	}
	_, errOut, code := runCLI(t, "sweep", "--merge-only", "--out", out)
	if code != 1 || !strings.Contains(errOut, "changed since they were scored") {
		t.Errorf("--merge-only with units whose activations changed: exit %d, %s", code, errOut)
	}

	got = mustRun(t, append(args, "--shard", "1/2")...)
	if !strings.Contains(got, "wrote "+out) {
		t.Errorf("shard 1:\n%s", got)
	}
	// A merge killed on another node a while ago left its fold scores half written.
	other := "0badf00d"
	if other == owner.Host() {
		other = "0badf00e"
	}
	tmp := filepath.Join(out, ".fold_scores.npy.tmp-"+other+"-4242-0000abcd")
	if err := os.WriteFile(tmp, make([]byte, 3<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-owner.MaxAge - time.Hour)
	os.Chtimes(tmp, old, old)
	if got := mustRun(t, "inspect", out); !strings.Contains(got, "1 left by killed runs or merges (3.0 MiB") ||
		!strings.Contains(got, filepath.Base(tmp)) {
		t.Errorf("inspect with a killed merge's temp file:\n%s", got)
	}
	if got := mustRun(t, "sweep", "--merge-only", "--out", out); !strings.Contains(got, "removed 1 temp file(s)") {
		t.Errorf("--merge-only:\n%s", got)
	}
	if _, err := os.Stat(tmp); err == nil {
		t.Error("the killed merge's temp file is still there")
	}
}

// A merger whose tables are being merged again by another process when it reads them back for
// its summary warns: its own merge succeeded, and a Slurm task failing there would be marked
// FAILED.
func TestSweepSummaryOfTablesMergedAgain(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "s")
	writeMergedSweep(t, dir, "m", "s1", "fp", [3]float64{0.1, 0.2, 0.3})
	var out, errOut bytes.Buffer
	if err := printSweepSummary(&out, &errOut, dir, true); err != nil || !strings.Contains(out.String(), "best layer block2") {
		t.Fatalf("summary: %v\n%s", err, out.String())
	}
	out.Reset()
	os.Remove(filepath.Join(dir, "merged.json")) // another merge began
	if err := printSweepSummary(&out, &errOut, dir, true); err != nil || !strings.Contains(errOut.String(), "warning: "+dir+": no summary") {
		t.Errorf("summary of tables being merged again: %v, stderr %q", err, errOut.String())
	}
}
