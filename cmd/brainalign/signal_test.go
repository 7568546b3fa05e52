package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/brainalign/brainalign/internal/atomicfile"
)

// runCancelled runs brainalign with a context cancelled up front, as main's is by the first
// SIGINT or SIGTERM: the command must stop with the cancellation (exit 130; 143 for SIGTERM,
// which main takes from the cause), not finish and exit 0.
func runCancelled(t *testing.T, args ...string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var stdout, stderr strings.Builder
	err := run(ctx, append([]string{"brainalign"}, args...), &stdout, &stderr)
	if code := exitCode(err, &stderr); !errors.Is(err, context.Canceled) || code != 130 {
		t.Errorf("brainalign %s, interrupted: exit %d, error %v; want the cancellation, exit 130\n%s", strings.Join(args, " "), code, err, stdout.String())
	}
}

// A signal stops every command that writes results (it used to be swallowed: the run finished,
// wrote its outputs and exited 0), and nothing is written.
func TestCommandsStopOnSignal(t *testing.T) {
	_, _, fm := metricSweeps(t)
	mg := megSweeps(t)
	tmp := t.TempDir()
	ua, ub, uy := writeUniversalStudy(t, tmp, 60)
	table := writeModels(t, tmp)
	for _, args := range [][]string{
		{"spatial", "--out", "OUT", fm[0], fm[1]},
		{"temporal", "--out", "OUT", mg[0], mg[1]},
		{"halftime", "--out", "OUT", fm[0], fm[1]},
		{"compare", "--a", fm[0], "--b", fm[0], "--checkpoint-b", "0", "--out", "OUT"},
		{"rank", "--out", "OUT", fm[0], fm[1]},
		{"scaling", "--table", table, "--group", "family", "--bootstrap", "2000", "--out", "OUT"},
		{"universal", "--features", ua, "--features", ub, "--brain", uy, "--dims", "3", "--top", "2", "--out", "OUT"},
	} {
		out := filepath.Join(tmp, args[0])
		args[slices.Index(args, "OUT")] = out
		runCancelled(t, args...)
		notThere(t, out, args[0]+" interrupted")
	}

	// An existing results folder keeps its earlier results.
	out := filepath.Join(tmp, "earlier")
	if err := os.Mkdir(out, 0o755); err != nil {
		t.Fatal(err)
	}
	writeText(t, out, "spatial.json", "earlier")
	runCancelled(t, "spatial", "--out", out, fm[0], fm[1])
	if b := mustRead(t, filepath.Join(out, "spatial.json")); string(b) != "earlier" {
		t.Errorf("interrupted spatial replaced spatial.json: %q", b)
	}

	// sweep's merge (here --merge-only) writes no table once interrupted.
	sw := filepath.Join(tmp, "sweep")
	copySweep(t, fm[0], sw, nil)
	for _, f := range []string{"scores.npy", "fold_scores.npy", "table.csv", "merged.json"} {
		if err := os.Remove(filepath.Join(sw, f)); err != nil {
			t.Fatal(err)
		}
	}
	runCancelled(t, "sweep", "--merge-only", "--out", sw)
	notThere(t, filepath.Join(sw, "scores.npy"), "sweep --merge-only interrupted")
	mustRun(t, "sweep", "--merge-only", "--out", sw)
}

// earlierResults makes a results folder holding five files of an earlier run and one of the
// user's.
func earlierResults(t *testing.T) (dir string, names []string) {
	t.Helper()
	dir = t.TempDir()
	names = []string{"a.json", "b.npy", "c.npy", "d.csv", "e.png"}
	for _, f := range append([]string{"thesis.tex"}, names...) {
		writeText(t, dir, f, "earlier "+f)
	}
	return dir, names
}

func checkEarlier(t *testing.T, dir string, names []string, what string) {
	t.Helper()
	for _, f := range append([]string{"thesis.tex"}, names...) {
		if b, err := os.ReadFile(filepath.Join(dir, f)); err != nil || string(b) != "earlier "+f {
			t.Errorf("%s: %s holds %q (%v), want the earlier results whole", what, f, b, err)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != len(names)+1 {
		var left []string
		for _, e := range entries {
			left = append(left, e.Name())
		}
		t.Errorf("%s: the folder holds %v, want the earlier files only (no temp file)", what, left)
	}
}

// A rerun into a folder of earlier results that fails half-way (the disk full at the fifth
// file), or is interrupted once its files are written, leaves the earlier results whole, not new
// files beside old ones; a rerun that succeeds replaces them all, and keeps the user's files.
func TestWriteResultsReplacesTogether(t *testing.T) {
	dir, names := earlierResults(t)
	full := errors.New("write e.png: no space left on device")
	_, err := writeResults(context.Background(), dir, func(put putFile) ([]string, error) {
		for _, f := range names[:4] {
			if err := put.bytes(f, []byte("new "+f)); err != nil {
				return nil, err
			}
		}
		return nil, full
	})
	if !errors.Is(err, full) {
		t.Errorf("error %v, want %v", err, full)
	}
	checkEarlier(t, dir, names, "failed at the fifth file")

	ctx, cancel := context.WithCancel(context.Background())
	_, err = writeResults(ctx, dir, func(put putFile) ([]string, error) {
		for _, f := range names {
			if err := put.bytes(f, []byte("new "+f)); err != nil {
				return nil, err
			}
		}
		cancel() // the signal comes as the last file is written
		return names, nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("interrupted: error %v, want context.Canceled", err)
	}
	checkEarlier(t, dir, names, "interrupted")

	files, err := writeResults(context.Background(), dir, func(put putFile) ([]string, error) {
		for _, f := range names {
			if err := put.bytes(f, []byte("new "+f)); err != nil {
				return nil, err
			}
		}
		return names, nil
	})
	if err != nil || !slices.Equal(files, names) {
		t.Fatalf("rerun: %v, %v", files, err)
	}
	for _, f := range names {
		if b := mustRead(t, filepath.Join(dir, f)); string(b) != "new "+f {
			t.Errorf("%s holds %q after the rerun", f, b)
		}
	}
	if b := mustRead(t, filepath.Join(dir, "thesis.tex")); string(b) != "earlier thesis.tex" {
		t.Errorf("the user's file changed: %q", b)
	}

	// A new folder interrupted as its files are written does not appear.
	out := filepath.Join(t.TempDir(), "new", "res")
	ctx, cancel = context.WithCancel(context.Background())
	_, err = writeResults(ctx, out, func(put putFile) ([]string, error) {
		cancel()
		return names[:1], put.bytes(names[0], []byte("new"))
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("new folder interrupted: %v", err)
	}
	notThere(t, filepath.Dir(out), "an interrupted writeResults")
}

// The same through a command: spatial rerun into its earlier results, where one of its files
// cannot be replaced (a folder stands at mask.npy), fails and leaves the earlier spatial.json.
func TestFailedRerunKeepsEarlierResults(t *testing.T) {
	_, _, fm := metricSweeps(t)
	out := t.TempDir()
	writeText(t, out, "spatial.json", "earlier")
	if err := os.Mkdir(filepath.Join(out, "mask.npy"), 0o755); err != nil {
		t.Fatal(err)
	}
	wantError(t, 1, "mask.npy: exists and is not a regular file", "spatial", "--no-figures", "--out", out, fm[0], fm[1])
	if b := mustRead(t, filepath.Join(out, "spatial.json")); string(b) != "earlier" {
		t.Errorf("the failed rerun replaced spatial.json: %.40q", b)
	}
	if left := atomicfile.ListTemp(out, false); len(left) > 0 {
		t.Errorf("the failed rerun left %v", left)
	}
}
