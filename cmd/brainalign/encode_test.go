package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/brainalign/brainalign/array"
)

// runCLI runs brainalign in-process and returns stdout, stderr (as main prints it) and the exit code.
func runCLI(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	defer snapshotFlags()() // each run starts from the flags' own defaults
	var out, errb bytes.Buffer
	err := run(context.Background(), append([]string{"brainalign"}, args...), &out, &errb)
	code := exitCode(err, &errb)
	return out.String(), errb.String(), code
}

// writeStudy writes X (n x d) and Y (n x m) with a planted linear signal.
func writeStudy(t *testing.T, dir string, n, d, m int) (string, string) {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	x := make([]float32, n*d)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	y := make([]float64, n*m)
	for j := 0; j < m; j++ {
		w := make([]float64, d)
		for k := range w {
			w[k] = rng.NormFloat64()
		}
		for i := 0; i < n; i++ {
			s := 0.0
			for k := 0; k < d; k++ {
				s += float64(x[i*d+k]) * w[k]
			}
			y[i*m+j] = s + 3*rng.NormFloat64()
		}
	}
	xp, yp := filepath.Join(dir, "X.npy"), filepath.Join(dir, "Y.npy")
	if err := array.WriteNPY(xp, []int{n, d}, x); err != nil {
		t.Fatal(err)
	}
	if err := array.WriteNPY(yp, []int{n, m}, y); err != nil {
		t.Fatal(err)
	}
	return xp, yp
}

func TestEncodeWritesContract(t *testing.T) {
	dir := t.TempDir()
	xp, yp := writeStudy(t, dir, 120, 8, 6)
	out := filepath.Join(dir, "out")
	stdout, stderr, code := runCLI(t, "encode", "--features", xp, "--brain", yp, "--out", out, "--precision", "float64")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "scored 6 targets") || strings.Contains(stdout, "numerically zero") {
		t.Errorf("stdout: %q", stdout)
	}
	for name, shape := range map[string][]int{"scores.npy": {6}, "fold_scores.npy": {5, 6}, "alphas.npy": {5, 6}} {
		a, err := array.ReadNPY(filepath.Join(out, name))
		if err != nil {
			t.Fatal(err)
		}
		if a.DType != "float64" || len(a.Shape) != len(shape) || a.Shape[0] != shape[0] {
			t.Errorf("%s: dtype %s shape %v, want float64 %v", name, a.DType, a.Shape, shape)
		}
		if name == "scores.npy" {
			for _, v := range a.F64 {
				if v < 0.5 {
					t.Errorf("planted signal scored %v, want > 0.5", v)
				}
			}
		}
		a.Close()
	}
	b, err := os.ReadFile(filepath.Join(out, "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"alphas"`, `"engine"`, `"precision": "float64"`, `"seconds"`, `"degenerate_targets"`, `"version"`,
		`"host"`, `"os": "` + runtime.GOOS + `"`, `"cores": `} {
		if !bytes.Contains(b, []byte(key)) {
			t.Errorf("summary.json lacks %s", key)
		}
	}
}

// Directions of the activations dropped as numerically zero are said, with the likely causes: a
// duplicated column, or a column of a scale 1e9 below the others'.
func TestEncodeSaysDroppedDirections(t *testing.T) {
	dir := t.TempDir()
	xp, yp := writeStudy(t, dir, 80, 6, 3)
	a, err := array.ReadNPY(xp)
	must(t, err)
	for _, c := range []struct {
		name string
		col  func(x []float32, i int) float32
	}{{"duplicated", func(x []float32, i int) float32 { return x[i*6+1] }}, {"tiny", func(x []float32, i int) float32 { return x[i*6+5] * 1e-9 }}} {
		x := append([]float32(nil), a.F32...)
		for i := range 80 {
			x[i*6+5] = c.col(x, i)
		}
		p := filepath.Join(dir, c.name+".npy")
		must(t, array.WriteNPY(p, []int{80, 6}, x))
		stdout := mustRun(t, "encode", "--features", p, "--brain", yp, "--out", filepath.Join(dir, c.name), "--precision", "float64")
		if !strings.Contains(stdout, "note: directions of the activations numerically zero were dropped (up to 1 in a training fold") ||
			!strings.Contains(stdout, "(--standardize them)") {
			t.Errorf("%s column: %s", c.name, stdout)
		}
		// standardised, the tiny column is a direction like the others; a duplicate stays one
		stdout = mustRun(t, "encode", "--features", p, "--brain", yp, "--out", filepath.Join(dir, c.name+"-std"), "--precision", "float64", "--standardize")
		if dropped := strings.Contains(stdout, "were dropped"); dropped != (c.name == "duplicated") || strings.Contains(stdout, "--standardize them") {
			t.Errorf("%s column, --standardize: %s", c.name, stdout)
		}
	}
	a.Close()
	// more features than images: repeated images (rows 40-44 those of 0-4) are the cause
	rng := rand.New(rand.NewPCG(3, 9))
	wide := make([]float32, 80*200)
	for i := range wide {
		wide[i] = float32(rng.NormFloat64())
	}
	copy(wide[40*200:45*200], wide[:5*200])
	p := filepath.Join(dir, "wide.npy")
	must(t, array.WriteNPY(p, []int{80, 200}, wide))
	stdout := mustRun(t, "encode", "--features", p, "--brain", yp, "--out", filepath.Join(dir, "wide"), "--precision", "float64")
	if !strings.Contains(stdout, "numerically zero were dropped (up to 5 in a training fold") || !strings.Contains(stdout, "the same image twice") {
		t.Errorf("repeated images: %s", stdout)
	}
}

// TestEncodeBadInput: every bad input of docs/design.md §5 gets a one-line error naming the file and the
// problem, a non-zero exit, and no output directory (nor staging leftovers).
func TestEncodeBadInput(t *testing.T) {
	dir := t.TempDir()
	xp, yp := writeStudy(t, dir, 40, 4, 3)
	write := func(name string, shape []int, data any) string {
		p := filepath.Join(dir, name)
		if err := array.WriteNPY(p, shape, data); err != nil {
			t.Fatal(err)
		}
		return p
	}
	nanY := make([]float64, 40*3)
	nanY[2*3+1] = math.NaN()
	infX := make([]float32, 40*4)
	for i := range infX {
		infX[i] = float32(i % 7)
	}
	infX[5*4+3] = float32(math.Inf(1))
	raw, _ := os.ReadFile(yp)
	truncated := filepath.Join(dir, "truncated.npy")
	os.WriteFile(truncated, raw[:len(raw)-100], 0o644)
	corrupt := filepath.Join(dir, "corrupt.npy")
	os.WriteFile(corrupt, []byte("\x93NUMPY\x01\x00\x10\x00{'descr': '<f4',"), 0o644)
	notnpy := filepath.Join(dir, "text.npy")
	os.WriteFile(notnpy, []byte("hello, world"), 0o644)
	complexY := filepath.Join(dir, "complex.npy")
	hdr := "{'descr': '<c16', 'fortran_order': False, 'shape': (40, 3), }"
	hdr += strings.Repeat(" ", 64-(10+len(hdr)+1)%64) + "\n"
	var cb bytes.Buffer
	cb.WriteString("\x93NUMPY\x01\x00")
	binary.Write(&cb, binary.LittleEndian, uint16(len(hdr)))
	cb.WriteString(hdr)
	cb.Write(make([]byte, 40*3*16))
	os.WriteFile(complexY, cb.Bytes(), 0o644)

	cases := []struct {
		name string
		args []string
		want []string // substrings of the error line
	}{
		{"mismatched rows", []string{"--features", write("X30.npy", []int{30, 4}, make([]float32, 120)), "--brain", yp}, []string{"X30.npy", "30 rows", "40"}},
		{"nan in brain", []string{"--features", xp, "--brain", write("nan.npy", []int{40, 3}, nanY)}, []string{"nan.npy", "non-finite", "row 2, column 1"}},
		{"inf in features", []string{"--features", write("inf.npy", []int{40, 4}, infX), "--brain", yp}, []string{"inf.npy", "non-finite", "row 5, column 3"}},
		{"features wrong rank", []string{"--features", write("x1d.npy", []int{40}, make([]float32, 40)), "--brain", yp}, []string{"x1d.npy", "2-d"}},
		{"features 3-d", []string{"--features", write("x3d.npy", []int{40, 2, 2}, make([]float32, 160)), "--brain", yp}, []string{"x3d.npy", "2-d"}},
		{"unknown dtype", []string{"--features", xp, "--brain", complexY}, []string{"complex.npy", "c16"}},
		{"bool data", []string{"--features", xp, "--brain", write("bool.npy", []int{40, 3}, make([]bool, 120))}, []string{"bool.npy", "bool data (true/false), want numbers"}},
		{"truncated", []string{"--features", xp, "--brain", truncated}, []string{"truncated.npy", "truncated"}},
		{"corrupt header", []string{"--features", xp, "--brain", corrupt}, []string{"corrupt.npy"}},
		{"not npy", []string{"--features", xp, "--brain", notnpy}, []string{"text.npy"}},
		{"missing file", []string{"--features", xp, "--brain", filepath.Join(dir, "nope.npy")}, []string{"nope.npy"}},
		{"empty array", []string{"--features", xp, "--brain", write("empty.npy", []int{0, 3}, []float64{})}, []string{"empty.npy", "empty"}},
		{"non-positive penalty", []string{"--features", xp, "--brain", yp, "--alphas", "1,0,10"}, []string{"--alphas", "penalty 0"}},
		{"malformed grid", []string{"--features", xp, "--brain", yp, "--alphas", "logspace:0:2:3,x"}, []string{"--alphas"}},
		{"fewer rows than folds", []string{"--features", write("x3.npy", []int{3, 4}, make([]float32, 12)), "--brain", write("y3.npy", []int{3, 2}, []float64{1, 2, 3, 4, 5, 6}), "--folds", "5"}, []string{"3 rows", "5 folds"}},
		{"bad inner", []string{"--features", xp, "--brain", yp, "--inner", "kfold:1"}, []string{"--inner", "K must be"}},
		{"tf32 on cpu", []string{"--features", xp, "--brain", yp, "--precision", "tf32", "--device", "cpu"}, []string{"tf32"}},
		{"unknown device", []string{"--features", xp, "--brain", yp, "--device", "tpu"}, []string{"--device", "tpu"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := filepath.Join(dir, "out-"+strings.ReplaceAll(c.name, " ", "-"))
			_, stderr, code := runCLI(t, append([]string{"encode", "--out", out}, c.args...)...)
			if code == 0 {
				t.Fatalf("exit 0 for bad input; stderr %q", stderr)
			}
			line := strings.TrimSuffix(stderr, "\n")
			if strings.Contains(line, "\n") {
				t.Errorf("error is not one line: %q", stderr)
			}
			for _, w := range c.want {
				if !strings.Contains(line, w) {
					t.Errorf("error %q lacks %q", line, w)
				}
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Errorf("output directory left behind after a failure")
			}
		})
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".out") {
			t.Errorf("staging directory %s left behind", e.Name())
		}
	}
}

func TestEncodeKeepsExistingOutput(t *testing.T) {
	dir := t.TempDir()
	xp, yp := writeStudy(t, dir, 50, 4, 2)
	out := filepath.Join(dir, "out")
	if _, stderr, code := runCLI(t, "encode", "-x", xp, "-y", yp, "-o", out); code != 0 {
		t.Fatal(stderr)
	}
	before, _ := os.ReadFile(filepath.Join(out, "scores.npy"))
	_, stderr, code := runCLI(t, "encode", "-x", xp, "-y", yp, "-o", out, "--alphas", "5")
	if code == 0 || !strings.Contains(stderr, "--overwrite") {
		t.Fatalf("rerun into a full directory: exit %d, %q", code, stderr)
	}
	after, _ := os.ReadFile(filepath.Join(out, "scores.npy"))
	if !bytes.Equal(before, after) {
		t.Fatal("existing results changed by a refused run")
	}
	if _, stderr, code := runCLI(t, "encode", "-x", xp, "-y", yp, "-o", out, "--alphas", "5", "--overwrite"); code != 0 {
		t.Fatal(stderr)
	}
}

func TestEncodeMatchesIDs(t *testing.T) {
	dir := t.TempDir()
	xp, yp := writeStudy(t, dir, 60, 4, 2)
	var xids, yids []string
	for i := 0; i < 60; i++ {
		xids = append(xids, "img"+string(rune('A'+i%26))+string(rune('a'+i/26)))
	}
	// The brain rows are the same stimuli reversed, plus two the features lack.
	for i := 59; i >= 0; i-- {
		yids = append(yids, xids[i])
	}
	yids[0], yids[1] = "extra1", "extra2"
	os.WriteFile(filepath.Join(dir, "x.txt"), []byte(strings.Join(xids, "\n")+"\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "y.txt"), []byte(strings.Join(yids, "\n")+"\n"), 0o644)
	_, stderr, code := runCLI(t, "encode", "-x", xp, "-y", yp, "-o", filepath.Join(dir, "o"),
		"--features-ids", filepath.Join(dir, "x.txt"), "--brain-ids", filepath.Join(dir, "y.txt"))
	if code != 0 {
		t.Fatal(stderr)
	}
	if !strings.Contains(stderr, "2 stimulus ids only in the features") || !strings.Contains(stderr, "2 stimulus ids only in the brain") {
		t.Errorf("unmatched ids not reported: %q", stderr)
	}
}

// TestEncodeShuffledFolds: --shuffle-seed gives scikit-learn's shuffled KFold (fold sizes and
// scheme recorded), and refuses to combine with --groups.
func TestEncodeShuffledFolds(t *testing.T) {
	dir := t.TempDir()
	xp, yp := writeStudy(t, dir, 23, 4, 2)
	out := filepath.Join(dir, "o")
	if _, stderr, code := runCLI(t, "encode", "-x", xp, "-y", yp, "-o", out, "--shuffle-seed", "42", "--folds", "5"); code != 0 {
		t.Fatal(stderr)
	}
	b, _ := os.ReadFile(filepath.Join(out, "summary.json"))
	if !bytes.Contains(b, []byte("random_state=42")) || !bytes.Contains(b, []byte(`"fold_test_sizes": [`)) {
		t.Errorf("summary lacks the fold scheme: %s", b)
	}
	g := filepath.Join(dir, "g.npy")
	groups := make([]int64, 23)
	for i := range groups {
		groups[i] = int64(i % 6)
	}
	if err := array.WriteNPY(g, []int{23}, groups); err != nil {
		t.Fatal(err)
	}
	_, stderr, code := runCLI(t, "encode", "-x", xp, "-y", yp, "-o", filepath.Join(dir, "o2"), "--shuffle-seed", "1", "--groups", g)
	if code != 2 || !strings.Contains(stderr, "exclude each other") {
		t.Errorf("--groups with --shuffle-seed: exit %d, %q", code, stderr)
	}
	if _, stderr, code := runCLI(t, "encode", "-x", xp, "-y", yp, "-o", filepath.Join(dir, "o3"), "--groups", g, "--folds", "3"); code != 0 {
		t.Errorf("--groups: %s", stderr)
	}
}

// TestEncodeMatchesScikitLearn runs the command end to end on scikit-learn fixtures (a 3-D MEG-
// shaped case, and one with constant targets) and compares every output file with scikit-learn's
// numbers: the CLI adds nothing between the files and the engine.
func TestEncodeMatchesScikitLearn(t *testing.T) {
	for _, name := range []string{"meg3d", "constant_targets"} {
		dir := filepath.Join("..", "..", "testdata", "parity", name)
		out := filepath.Join(t.TempDir(), "out")
		_, stderr, code := runCLI(t, "encode", "-x", filepath.Join(dir, "X.npy"), "-y", filepath.Join(dir, "Y.npy"),
			"-o", out, "--precision", "float64")
		if code != 0 {
			t.Fatalf("%s: %s", name, stderr)
		}
		for _, f := range []string{"scores.npy", "fold_scores.npy", "alphas.npy"} {
			got, err := array.ReadNPY(filepath.Join(out, f))
			if err != nil {
				t.Fatal(err)
			}
			want, err := array.ReadNPY(filepath.Join(dir, f))
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got.Shape) != fmt.Sprint(want.Shape) {
				t.Errorf("%s/%s: shape %v, scikit-learn %v", name, f, got.Shape, want.Shape)
			}
			worst := 0.0
			for k, v := range want.F64 {
				worst = math.Max(worst, math.Abs(v-got.F64[k]))
			}
			tol := 1e-6
			if f == "alphas.npy" {
				tol = 0 // identical penalties
			}
			if worst > tol {
				t.Errorf("%s/%s: max |difference| from scikit-learn %.3g > %g", name, f, worst, tol)
			}
			got.Close()
			want.Close()
		}
	}
}

// TestUsageErrorsExitTwo: command-line mistakes exit 2, data problems 1.
func TestUsageErrorsExitTwo(t *testing.T) {
	for _, args := range [][]string{
		{"encode"},            // required flags missing
		{"encode", "--bogus"}, // unknown flag
		{"encode", "-x", "a", "-y", "b", "-o", "c", "--folds", "x"}, // malformed value
		{"encode", "-x", "a", "-y", "b", "-o", "c", "extra"},        // stray argument
	} {
		if _, stderr, code := runCLI(t, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2 (%q)", args, code, stderr)
		}
	}
	if _, _, code := runCLI(t, "encode", "-x", "missing.npy", "-y", "missing.npy", "-o", filepath.Join(t.TempDir(), "o")); code != 1 {
		t.Errorf("missing input file: exit %d, want 1", code)
	}
}

// With stimulus ids the matched rows keep the brain file's order, so the contiguous folds are
// those of the brain data aligned by hand (sessions stay together), whatever order the
// activations were extracted in.
func TestEncodeIDsFoldInBrainOrder(t *testing.T) {
	dir := t.TempDir()
	n := 60
	xp, yp := writeStudy(t, dir, n, 4, 2)
	xa, err := array.ReadNPY(xp)
	if err != nil {
		t.Fatal(err)
	}
	d := xa.Shape[1]
	perm := rand.New(rand.NewPCG(5, 6)).Perm(n) // the features in another order
	xs := make([]float64, 0, n*d)
	var xids, yids []string
	for _, r := range perm {
		for j := 0; j < d; j++ {
			xs = append(xs, float64(xa.F32[r*d+j]))
		}
		xids = append(xids, fmt.Sprintf("img%03d", r))
	}
	xa.Close()
	for i := 0; i < n; i++ {
		yids = append(yids, fmt.Sprintf("img%03d", i))
	}
	xpp := filepath.Join(dir, "Xperm.npy")
	if err := array.WriteNPY(xpp, []int{n, d}, xs); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "x.txt"), []byte(strings.Join(xids, "\n")+"\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "y.txt"), []byte(strings.Join(yids, "\n")+"\n"), 0o644)
	ref, got := filepath.Join(dir, "ref"), filepath.Join(dir, "got")
	if _, stderr, code := runCLI(t, "encode", "-x", xp, "-y", yp, "-o", ref, "--precision", "float64"); code != 0 {
		t.Fatal(stderr)
	}
	if _, stderr, code := runCLI(t, "encode", "-x", xpp, "-y", yp, "-o", got, "--precision", "float64",
		"--features-ids", filepath.Join(dir, "x.txt"), "--brain-ids", filepath.Join(dir, "y.txt")); code != 0 {
		t.Fatal(stderr)
	}
	if b, _ := os.ReadFile(filepath.Join(got, "summary.json")); !bytes.Contains(b, []byte(`"features": []`)) {
		t.Errorf("summary.json's unmatched_ids should list no features ids as []:\n%s", b)
	}
	a, err := array.ReadNPY(filepath.Join(ref, "fold_scores.npy"))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := array.ReadNPY(filepath.Join(got, "fold_scores.npy"))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for i := range a.F64 {
		if math.Abs(a.F64[i]-b.F64[i]) > 1e-9 {
			t.Fatalf("fold_scores[%d]: %v with ids, %v aligned in the brain file's order", i, b.F64[i], a.F64[i])
		}
	}
}

// encode and synth make the missing parents of --out (as the README's `--out
// results/subj01_layer12` needs in a fresh clone), and a run that fails leaves none behind.
func TestOutParentsMade(t *testing.T) {
	dir := t.TempDir()
	xp, yp := writeStudy(t, dir, 30, 4, 2)
	out := filepath.Join(dir, "results", "deeper", "subj01_layer12")
	if _, stderr, code := runCLI(t, "encode", "-x", xp, "-y", yp, "-o", out); code != 0 {
		t.Fatalf("encode into missing parents: %s", stderr)
	}
	if _, err := os.Stat(filepath.Join(out, "scores.npy")); err != nil {
		t.Fatal(err)
	}
	failed := filepath.Join(dir, "new", "deeper", "o")
	if _, _, code := runCLI(t, "encode", "-x", xp, "-y", filepath.Join(dir, "missing.npy"), "-o", failed); code == 0 {
		t.Fatal("encode of a missing file succeeded")
	}
	if _, err := os.Stat(filepath.Join(dir, "new")); err == nil {
		t.Errorf("a failed encode left the parents it made")
	}
	if _, stderr, code := runCLI(t, "synth", "--out", filepath.Join(dir, "s", "t", "study"), "--size", "small"); code != 0 {
		t.Errorf("synth into missing parents: %s", stderr)
	}
}

// A bad value from the environment (a .bashrc's BRAINALIGN_ALPHAS) is named as such, not as a
// flag the user never typed; one given on the command line as well is the flag's.
func TestBadValueFromEnvironment(t *testing.T) {
	keepFlagDefaults(t)
	dir := t.TempDir()
	xp, yp := writeStudy(t, dir, 40, 4, 3)
	out := filepath.Join(dir, "o")
	t.Setenv("BRAINALIGN_ALPHAS", "0")
	wantError(t, 2, `BRAINALIGN_ALPHAS "0":`, "encode", "--features", xp, "--brain", yp, "--out", out)
	wantError(t, 2, `--alphas "-1":`, "encode", "--features", xp, "--brain", yp, "--alphas", "-1", "--out", out)
	t.Setenv("BRAINALIGN_ALPHAS", "1,10")
	t.Setenv("BRAINALIGN_FOLDS", "1")
	wantError(t, 2, "BRAINALIGN_FOLDS: need at least 2, got 1", "encode", "--features", xp, "--brain", yp, "--out", out)
	wantError(t, 2, "--folds: need at least 2, got 0", "encode", "--features", xp, "--brain", yp, "--folds", "0", "--out", out)
	wantError(t, 2, "--folds: need at least 2, got 1", "encode", "--features", xp, "--brain", yp, "--folds=1", "--out", out) // typed as well
	t.Setenv("BRAINALIGN_FOLDS", "01")
	wantError(t, 2, "BRAINALIGN_FOLDS: need at least 2, got 1", "encode", "--features", xp, "--brain", yp, "--out", out)
	t.Setenv("BRAINALIGN_FOLDS", "5")
	t.Setenv("BRAINALIGN_DEVICE", "gpu")
	wantError(t, 2, "BRAINALIGN_DEVICE: ", "encode", "--features", xp, "--brain", yp, "--out", out)
}

// keepFlagDefaults restores every command's flags when t ends (snapshotFlags), for tests that
// run commands other than through runCLI.
func keepFlagDefaults(t *testing.T) {
	t.Cleanup(snapshotFlags())
}

// snapshotFlags copies every command's flags and returns the function that puts them back:
// urfave/cli keeps a value taken from the environment in the flag itself (BRAINALIGN_DEVICE=cpu
// becomes --device's default), so later runs in this process (other tests) would take it as the
// default. A process of the tool runs one command, so only tests meet this.
func snapshotFlags() (restore func()) {
	var saved []func()
	for _, c := range commands {
		for _, f := range c.Flags {
			v := reflect.ValueOf(f)
			if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
				continue
			}
			copied := reflect.New(v.Elem().Type()).Elem()
			copied.Set(v.Elem())
			saved = append(saved, func() { v.Elem().Set(copied) })
		}
	}
	return func() {
		for _, r := range saved {
			r()
		}
	}
}
