package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// The README's first command, whole: the encoding part recovers the planted layers, and the study
// part recovers the planted spatial and temporal scores and noise ceiling, writing its figures
// (about 6 s on 2 cores; on the CPU engine in every build).
func TestDemoEndToEnd(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "study")
	stdout, stderr, code := runCLI(t, "demo", "--device", "cpu", "--study-out", dir)
	if code != 0 {
		t.Fatalf("demo: exit %d: %s\n%s", code, stderr, stdout)
	}
	for _, want := range []string{"result: the planted answer was recovered", "recovered from the sweeps vs planted", "the same analysis from files"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("no %q in the demo's output:\n%s", want, stdout)
		}
	}
	// planted and recovered columns of the study's table
	row := func(label string) (planted, recovered float64) {
		t.Helper()
		re := regexp.MustCompile(regexp.QuoteMeta(label) + `\s+([-0-9.e+]+)\s+([-0-9.e+]+)`)
		m := re.FindStringSubmatch(stdout)
		if m == nil {
			t.Fatalf("no row %q in:\n%s", label, stdout)
		}
		p, err1 := strconv.ParseFloat(m[1], 64)
		r, err2 := strconv.ParseFloat(m[2], 64)
		if err1 != nil || err2 != nil {
			t.Fatalf("row %q: %q", label, m[0])
		}
		return p, r
	}
	for _, c := range []struct {
		label string
		tol   float64
	}{
		{"spatial score r (best layer vs distance from V1)", 0.03},
		{"temporal score r (layer vs T_max)", 0.03},
		{"fMRI noise ceiling from 3 trials per image (mean)", 0.02},
	} {
		if p, r := row(c.label); r < p-c.tol || r > p+c.tol {
			t.Errorf("%s: recovered %v, planted %v", c.label, r, p)
		}
	}
	// The study's sweeps record their folds as `brainalign sweep` does (docs/study.md: sweep.json
	// records the scheme, fold_scheme), 5 contiguous unshuffled folds being the demo's.
	sweeps, _ := filepath.Glob(filepath.Join(dir, "sweeps", "*", "*", "sweep.json"))
	if len(sweeps) != 6 {
		t.Errorf("sweeps: %d sweep.json files, want 6 (fMRI and MEG of 3 subjects)", len(sweeps))
	}
	for _, f := range sweeps {
		var m struct {
			FoldScheme *string `json:"fold_scheme"`
		}
		if err := json.Unmarshal([]byte(readFile(t, f)), &m); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if m.FoldScheme == nil || *m.FoldScheme != "kfold (contiguous, unshuffled)" {
			t.Errorf("%s: fold_scheme %v, want %q", f, m.FoldScheme, "kfold (contiguous, unshuffled)")
		}
	}
	for _, f := range []string{"spatial/spatial.png", "temporal/temporal.png", "halftime-fmri/halftime_roi.png"} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
			t.Errorf("figure %s: %v", f, err)
		}
	}
}
