package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// precious makes a directory of the user's own files, which no --overwrite may delete.
func precious(t *testing.T, dir string) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "thesis.tex"), []byte("important\n"), 0o666); err != nil {
		t.Fatal(err)
	}
	return dir
}

func checkPrecious(t *testing.T, dir string) {
	t.Helper()
	if b, err := os.ReadFile(filepath.Join(dir, "thesis.tex")); err != nil || string(b) != "important\n" {
		t.Fatalf("%s/thesis.tex was changed or deleted: %q, %v", dir, b, err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("%s: %d entries, want only thesis.tex", dir, len(entries))
	}
}

// encode --overwrite replaces an earlier encode output, not a directory of other files.
func TestEncodeOverwriteRefusesForeignDirectory(t *testing.T) {
	root := t.TempDir()
	xp, yp := writeStudy(t, root, 40, 4, 3)
	enc := func(out string) []string {
		return []string{"encode", "--features", xp, "--brain", yp, "--out", out, "--overwrite"}
	}

	dir := precious(t, filepath.Join(root, "precious"))
	wantError(t, 1, dir+" is not empty and holds no earlier brainalign encode output (no summary.json); refusing to replace it", enc(dir)...)
	checkPrecious(t, dir)

	// through a symbolic link: its target is what would be replaced
	if runtime.GOOS != "windows" {
		link := filepath.Join(root, "link")
		if err := os.Symlink(dir, link); err != nil {
			t.Fatal(err)
		}
		wantError(t, 1, link+" (-> "+dir+") is not empty and holds no earlier brainalign encode output (no summary.json)", enc(link)...)
		checkPrecious(t, dir)
	}

	// another command's summary.json is not encode's
	other := filepath.Join(root, "other")
	os.MkdirAll(other, 0o777)
	os.WriteFile(filepath.Join(other, "summary.json"), []byte(`{"command": "sweep"}`), 0o666)
	wantError(t, 1, other+" is not empty and holds no earlier brainalign encode output (summary.json is not one brainalign encode writes)", enc(other)...)
	if _, err := os.Stat(filepath.Join(other, "summary.json")); err != nil {
		t.Error(err)
	}

	// an empty directory, and an earlier encode output, are replaced
	empty := filepath.Join(root, "empty")
	os.MkdirAll(empty, 0o777)
	mustRun(t, enc(empty)...)
	mustRun(t, enc(empty)...)
	if _, err := os.Stat(filepath.Join(empty, "scores.npy")); err != nil {
		t.Error(err)
	}
	// without --overwrite, a non-empty directory is refused as before
	wantError(t, 1, "not empty (use --overwrite to replace it)", "encode", "--features", xp, "--brain", yp, "--out", dir)
	checkPrecious(t, dir)
	// and a refused run leaves no staging directory beside it
	entries, _ := os.ReadDir(root)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("left in %s: %s", root, e.Name())
		}
	}
}

// synth --overwrite replaces an earlier synth output (it holds commands.sh), nothing else.
func TestSynthOverwriteRefusesForeignDirectory(t *testing.T) {
	root := t.TempDir()
	dir := precious(t, filepath.Join(root, "precious"))
	wantError(t, 1, dir+" is not empty and holds no earlier brainalign synth output (no commands.sh); refusing to replace it",
		"synth", "--out", dir, "--overwrite")
	checkPrecious(t, dir)
	os.WriteFile(filepath.Join(dir, "commands.sh"), []byte("#!/bin/sh\nmake thesis\n"), 0o666)
	wantError(t, 1, "(commands.sh is not one brainalign synth writes)", "synth", "--out", dir, "--overwrite")

	out := filepath.Join(root, "study")
	mustRun(t, "synth", "--out", out)
	mustRun(t, "synth", "--out", out, "--overwrite", "--seed", "2")
	if !isSynthOutput(out) {
		t.Error("the replaced synth output holds no commands.sh of synth")
	}
}

// demo --study-out --overwrite replaces an earlier demo study (sweeps/ and spatial/spatial.json),
// nothing else, and refuses before anything runs.
func TestDemoStudyOutOverwriteRefusesForeignDirectory(t *testing.T) {
	root := t.TempDir()
	dir := precious(t, filepath.Join(root, "precious"))
	stdout, errOut, code := runCLI(t, "demo", "--study-out", dir, "--overwrite")
	if code != 1 || stdout != "" || !strings.Contains(errOut, "--study-out "+dir+" is not empty and holds no earlier brainalign demo study output (no sweeps/ with spatial/spatial.json); refusing to replace it") {
		t.Errorf("demo --study-out %s --overwrite: exit %d, stderr %q, stdout %q", dir, code, errOut, stdout)
	}
	checkPrecious(t, dir)

	// a synth study's results folder (spatial/ but no sweeps/) is not a demo study
	res := filepath.Join(root, "results")
	os.MkdirAll(filepath.Join(res, "spatial"), 0o777)
	os.WriteFile(filepath.Join(res, "spatial", "spatial.json"), []byte(`{"command": "spatial"}`), 0o666)
	if err := checkStudyOut(res, true); err == nil || !strings.Contains(err.Error(), "holds no earlier brainalign demo study output") {
		t.Errorf("results folder without sweeps/: %v", err)
	}
	os.MkdirAll(filepath.Join(res, "sweeps", "fmri"), 0o777)
	if err := checkStudyOut(res, true); err != nil {
		t.Errorf("a demo study's layout refused: %v", err)
	}
	if err := checkStudyOut(t.TempDir(), true); err != nil {
		t.Errorf("an empty directory refused: %v", err)
	}
}

// cancelWriter cancels a context once what was written to it holds a string.
type cancelWriter struct {
	mu     sync.Mutex
	b      strings.Builder
	when   string
	cancel context.CancelFunc
}

func (w *cancelWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.b.Write(p)
	if strings.Contains(w.b.String(), w.when) {
		w.cancel()
	}
	return len(p), nil
}

// A demo interrupted in its study part leaves no partial temporary study folder behind (its path
// was never printed).
func TestDemoInterruptedRemovesTemporaryStudy(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// cancelled once the first part is done: the study part has made its folder and is sweeping
	stdout := &cancelWriter{when: "result: the planted answer was recovered", cancel: cancel}
	var stderr strings.Builder
	err := run(ctx, []string{"brainalign", "demo"}, stdout, &stderr)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("demo cancelled in its study part: error %v; stdout:\n%s", err, stdout.b.String())
	}
	if !strings.Contains(stdout.b.String(), "result: the planted answer was recovered") {
		t.Fatalf("the first part did not finish:\n%s", stdout.b.String())
	}
	entries, _ := os.ReadDir(tmp)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "brainalign-demo-") {
			t.Errorf("interrupted demo left %s", filepath.Join(tmp, e.Name()))
		}
	}
}

// A synth cancelled (a signal) before its data are generated returns at once, and writes nothing.
// (Cancelled while generating, it returns at once too: the generation is left to the exiting
// process; checked by hand, as it would keep a test's CPUs busy.)
func TestSynthInterrupted(t *testing.T) {
	out := filepath.Join(t.TempDir(), "study")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var stdout, stderr strings.Builder
	err := run(ctx, []string{"brainalign", "synth", "--size", "study", "--out", out}, &stdout, &stderr)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("synth cancelled: %v\n%s", err, stdout.String())
	}
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("cancelled synth left %s: %v", out, err)
	}
}
