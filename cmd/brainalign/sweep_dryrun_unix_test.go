//go:build unix

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// sweep --dry-run finds an output folder that a run could not write (under a file; its
// permissions, and a read-only file system, found the same way), and on a login node, outside a job array,
// checks every unit for the job script's --shard slurm.
func TestSweepDryRunOutAndSlurmCLI(t *testing.T) {
	dir := t.TempDir()
	st := filepath.Join(dir, "study")
	mustRun(t, "synth", "--out", st, "--subjects", "1")
	t.Setenv("SLURM_ARRAY_TASK_ID", "")
	t.Setenv("SLURM_ARRAY_TASK_COUNT", "")
	ro := filepath.Join(dir, "ro")
	if err := os.Mkdir(ro, 0o555); err != nil {
		t.Fatal(err)
	}
	defer os.Chmod(ro, 0o755)
	args := []string{"sweep", "--features", filepath.Join(st, "model"), "--brain", filepath.Join(st, "fmri", "sub-01", "brain.npy"),
		"--alphas", "1,100", "--folds", "3", "--dry-run", "--shard", "slurm"}
	stdout, stderr, code := runCLI(t, append(args, "--out", filepath.Join(dir, "s"))...)
	if code != 0 || !strings.Contains(stderr, "the dry run checks every unit") || !strings.Contains(stdout, "0 done, 36 to score") {
		t.Errorf("dry run with --shard slurm outside a job array: exit %d\n%s\n%s", code, stdout, stderr)
	}
	// Under a file: no folder can be made there.
	file := writeText(t, dir, "file", "x")
	stdout, stderr, code = runCLI(t, append(args, "--out", filepath.Join(file, "s"))...)
	if code != 1 || !strings.Contains(stdout, file+" is not a folder") {
		t.Errorf("dry run with --out under a file: exit %d\n%s\n%s", code, stdout, stderr)
	}
	// The error names --out, not the activations, which have no problem.
	if want := "dry run: --out " + filepath.Join(file, "s") + " cannot be written (listed above)"; !strings.Contains(stderr, want) || strings.Contains(stderr, "cannot be scored") {
		t.Errorf("dry run with --out under a file: want %q on stderr, got\n%s", want, stderr)
	}
	if os.Geteuid() == 0 {
		t.Skip("root writes into a folder of mode 0555: make test-unprivileged runs this as nobody")
	}
	out := filepath.Join(ro, "s")
	stdout, stderr, code = runCLI(t, append(args, "--out", out)...)
	if code != 1 || !strings.Contains(stdout, "out "+out+": cannot be created in "+ro) || strings.Contains(stdout, "no problems found") {
		t.Errorf("dry run into a folder that cannot be written: exit %d\n%s\n%s", code, stdout, stderr)
	}
}
