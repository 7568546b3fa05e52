package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/brainalign/brainalign/array"
	"github.com/brainalign/brainalign/engine"
)

// TestEncodeTestFoldMatchesScikitLearn: a predefined held-out set is RidgeCV fitted on the other
// rows and scored on it, so holding out the rows of one of scikit-learn's KFold folds must give
// that fold's scores and penalties of the fixture (scikit-learn's numbers), by --test-fold
// labels (two folds, labels out of order: folds come in ascending label order) and by
// --test-ids (stimulus ids, the brain rows in another order than the features').
func TestEncodeTestFoldMatchesScikitLearn(t *testing.T) {
	fix := filepath.Join("..", "..", "testdata", "parity", "meg3d")
	var c struct{ Folds, N int }
	b, err := os.ReadFile(filepath.Join(fix, "case.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	folds, err := engine.KFold(c.N, c.Folds)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	xp, yp := filepath.Join(fix, "X.npy"), filepath.Join(fix, "Y.npy")

	// fold 3 labelled 2 and fold 1 labelled 5: output fold 0 is KFold's 3, output fold 1 its 1
	labels := make([]int64, c.N)
	for i := range labels {
		labels[i] = -1
	}
	for _, i := range folds[3].Test {
		labels[i] = 2
	}
	for _, i := range folds[1].Test {
		labels[i] = 5
	}
	lp := filepath.Join(dir, "test_fold.npy")
	if err := array.WriteNPY(lp, []int{c.N}, labels); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "predefined")
	if _, stderr, code := runCLI(t, "encode", "-x", xp, "-y", yp, "-o", out, "--precision", "float64", "--test-fold", lp); code != 0 {
		t.Fatal(stderr)
	}
	compareFolds(t, out, fix, []int{3, 1})
	if b, _ := os.ReadFile(filepath.Join(out, "summary.json")); !strings.Contains(string(b), `"fold_scheme": "predefined:`) {
		t.Errorf("summary.json does not name the predefined folds: %s", b)
	}

	// --test-ids: the features stored in reverse order (matched back by id: the folds follow
	// the brain file's order); the test ids in reverse order, one of them unknown (a warning)
	ids := make([]string, c.N)
	for i := range ids {
		ids[i] = fmt.Sprintf("img%03d", i)
	}
	rev := make([]string, c.N)
	for i := range rev {
		rev[i] = ids[c.N-1-i]
	}
	var test []string
	for k := len(folds[2].Test) - 1; k >= 0; k-- {
		test = append(test, ids[folds[2].Test[k]])
	}
	test = append(test, "not-shown")
	write := func(name string, lines []string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	fids, tids := write("features_ids.txt", ids), write("test_ids.txt", test)
	xr := filepath.Join(dir, "X_reversed.npy")
	x, err := array.ReadNPY(xp)
	if err != nil {
		t.Fatal(err)
	}
	d := x.Shape[1]
	rows := make([]float64, 0, len(x.F64))
	for i := c.N - 1; i >= 0; i-- {
		rows = append(rows, x.F64[i*d:(i+1)*d]...)
	}
	x.Close()
	if err := array.WriteNPY(xr, []int{c.N, d}, rows); err != nil {
		t.Fatal(err)
	}
	out = filepath.Join(dir, "test_ids")
	_, stderr, code := runCLI(t, "encode", "-x", xr, "-y", yp, "-o", out, "--precision", "float64",
		"--features-ids", write("reversed_ids.txt", rev), "--brain-ids", fids, "--test-ids", tids)
	if code != 0 {
		t.Fatal(stderr)
	}
	if !strings.Contains(stderr, "1 of the") {
		t.Errorf("the unknown test id is not reported: %q", stderr)
	}
	compareFolds(t, out, fix, []int{2})
}

// compareFolds compares the output's fold scores and penalties, fold by fold, with the fixture's
// folds want (its fold numbers, in the output's order).
func compareFolds(t *testing.T, out, fix string, want []int) {
	t.Helper()
	for _, f := range []string{"fold_scores.npy", "alphas.npy"} {
		got, err := array.ReadNPY(filepath.Join(out, f))
		if err != nil {
			t.Fatal(err)
		}
		ref, err := array.ReadNPY(filepath.Join(fix, f))
		if err != nil {
			t.Fatal(err)
		}
		m := len(ref.F64) / ref.Shape[0]
		if got.Shape[0] != len(want) || len(got.F64) != len(want)*m {
			t.Fatalf("%s: shape %v, want %d folds of %d targets", f, got.Shape, len(want), m)
		}
		worst := 0.0
		for g, k := range want {
			for j := 0; j < m; j++ {
				worst = math.Max(worst, math.Abs(got.F64[g*m+j]-ref.F64[k*m+j]))
			}
		}
		tol := 1e-6
		if f == "alphas.npy" {
			tol = 0
		}
		if worst > tol {
			t.Errorf("%s/%s: max |difference| from scikit-learn's folds %v: %.3g > %g", out, f, want, worst, tol)
		}
		got.Close()
		ref.Close()
	}
}

// TestTestFoldRefusals: bad labels and flags that choose the folds twice are refused.
func TestTestFoldRefusals(t *testing.T) {
	dir := t.TempDir()
	xp, yp := writeStudy(t, dir, 30, 4, 2)
	label := func(name string, v []int64) string {
		p := filepath.Join(dir, name)
		if err := array.WriteNPY(p, []int{len(v)}, v); err != nil {
			t.Fatal(err)
		}
		return p
	}
	none := make([]int64, 30)
	for i := range none {
		none[i] = -1
	}
	bad := make([]int64, 30)
	bad[7] = -2
	good := labelsOf(30, func(i int) int64 { return int64(i%3) - 1 })
	ids := filepath.Join(dir, "ids.txt")
	os.WriteFile(ids, []byte("a\nb\n"), 0o644)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--test-fold", label("short.npy", none[:29])}, "29 test fold labels for the 30 rows"},
		{[]string{"--test-fold", label("none.npy", none)}, "no row is held out"},
		{[]string{"--test-fold", label("bad.npy", bad)}, "row 7 has test fold -2"},
		{[]string{"--test-fold", label("good.npy", good), "--folds", "3"}, "exclude each other"},
		{[]string{"--test-fold", label("good.npy", good), "--groups", label("good.npy", good)}, "exclude each other"},
		{[]string{"--test-fold", label("good.npy", good), "--shuffle-seed", "1"}, "exclude each other"},
		{[]string{"--test-fold", label("good.npy", good), "--test-ids", ids}, "exclude each other"},
		{[]string{"--test-ids", ids}, "needs --brain-ids"},
	} {
		args := append([]string{"encode", "-x", xp, "-y", yp, "-o", filepath.Join(dir, "out")}, c.args...)
		_, stderr, code := runCLI(t, args...)
		if code == 0 || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, %q; want an error saying %q", c.args, code, stderr, c.want)
		}
	}
	// folds named by their labels; a fold whose rows all lack features is an error, not a fold
	// that vanishes (the others renumbered); rows of a fold lacking features are said
	brainIDs := make([]string, 30)
	for i := range brainIDs {
		brainIDs[i] = fmt.Sprintf("img%02d", i)
	}
	featureIDs := slices.Clone(brainIDs)
	featureIDs[0], featureIDs[1], featureIDs[2], featureIDs[10] = "other0", "other1", "other2", "other10"
	bi, fi := writeLines(t, filepath.Join(dir, "brain_ids.txt"), brainIDs), writeLines(t, filepath.Join(dir, "feature_ids.txt"), featureIDs)
	ided := []string{"--features-ids", fi, "--brain-ids", bi}
	vanish := labelsOf(30, func(i int) int64 {
		switch {
		case i < 3:
			return 4
		case i >= 10 && i < 16:
			return 1
		}
		return -1
	})
	small := labelsOf(30, func(i int) int64 {
		if i == 20 || i == 21 {
			return 7
		}
		return -1
	})
	mask := make([]bool, 30)
	mask[5], mask[6], mask[7] = true, true, true
	bp := filepath.Join(dir, "mask.npy")
	must(t, array.WriteNPY(bp, []int{30}, mask))
	for _, c := range []struct {
		args []string
		want string
	}{
		{append([]string{"--test-fold", label("vanish.npy", vanish)}, ided...), "none of the 3 rows of test fold 4 has features"},
		{[]string{"--test-fold", label("small.npy", small)}, "test fold 7 holds 2 rows; a held-out Pearson r needs at least 3"},
		{[]string{"--test-fold", label("all.npy", make([]int64, 30))}, "every row is held out"},
		{[]string{"--test-fold", bp}, "a boolean array"},
		{append([]string{"--test-ids", writeLines(t, filepath.Join(dir, "t2.txt"), []string{"img03", "img04", "img99"})}, ided...), "the test set holds 2 rows"},
	} {
		args := append([]string{"encode", "-x", xp, "-y", yp, "-o", filepath.Join(dir, "out")}, c.args...)
		_, stderr, code := runCLI(t, args...)
		if code == 0 || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, %q; want an error saying %q", c.args, code, stderr, c.want)
		}
	}
	out := filepath.Join(dir, "lost")
	vanish[0], vanish[1], vanish[2] = -1, -1, -1
	_, stderr, code := runCLI(t, append([]string{"encode", "-x", xp, "-y", yp, "-o", out, "--test-fold", label("lost.npy", vanish)}, ided...)...)
	if code != 0 || !strings.Contains(stderr, "1 of the 6 rows of test fold 1 (") {
		t.Errorf("a row of a fold lacking features: exit %d, %q; want a warning", code, stderr)
	}

	// BRAINALIGN_FOLDS in the environment is a default, not a second choice of folds
	keepFlagDefaults(t)
	t.Setenv("BRAINALIGN_FOLDS", "3")
	if _, stderr, code := runCLI(t, "encode", "-x", xp, "-y", yp, "-o", filepath.Join(dir, "env"), "--test-fold", label("good.npy", good)); code != 0 {
		t.Errorf("--test-fold with BRAINALIGN_FOLDS set: %s", stderr)
	}
}

// labelsOf returns f(i) for i < n.
func labelsOf(n int, f func(int) int64) []int64 {
	v := make([]int64, n)
	for i := range v {
		v[i] = f(i)
	}
	return v
}

// TestSweepTestFold: a sweep with --test-fold scores each layer as encode does with it (one
// fold), records the scheme in sweep.json, and inspect says so.
func TestSweepTestFold(t *testing.T) {
	dir := t.TempDir()
	xp, yp := writeStudy(t, dir, 40, 5, 3)
	acts := filepath.Join(dir, "acts")
	must(t, os.MkdirAll(acts, 0o755))
	for _, l := range []string{"layer0.npy", "layer1.npy"} {
		b, err := os.ReadFile(xp)
		must(t, err)
		must(t, os.WriteFile(filepath.Join(acts, l), b, 0o644))
	}
	labels := labelsOf(40, func(i int) int64 {
		if i%4 == 1 {
			return 0 // held out
		}
		return -1
	})
	lp := filepath.Join(dir, "test_fold.npy")
	must(t, array.WriteNPY(lp, []int{40}, labels))
	sw := filepath.Join(dir, "sweep")
	if _, stderr, code := runCLI(t, "sweep", "--features", acts, "-y", yp, "--test-fold", lp, "-o", sw); code != 0 {
		t.Fatal(stderr)
	}
	enc := filepath.Join(dir, "enc")
	if _, stderr, code := runCLI(t, "encode", "-x", xp, "-y", yp, "--test-fold", lp, "-o", enc); code != 0 {
		t.Fatal(stderr)
	}
	fs, want := readNPY(t, filepath.Join(sw, "fold_scores.npy")), readNPY(t, filepath.Join(enc, "fold_scores.npy"))
	if fmt.Sprint(fs.Shape) != "[1 2 1 3]" {
		t.Fatalf("fold_scores.npy shape %v, want [1 2 1 3]", fs.Shape)
	}
	for l := range 2 {
		for j := range 3 {
			if fs.F64[l*3+j] != want.F64[j] {
				t.Errorf("layer %d target %d: sweep %v, encode %v", l, j, fs.F64[l*3+j], want.F64[j])
			}
		}
	}
	b, err := os.ReadFile(filepath.Join(sw, "sweep.json"))
	must(t, err)
	if !strings.Contains(string(b), `"fold_scheme": "predefined:`) {
		t.Errorf("sweep.json does not record the test fold: %s", b)
	}
	stdout, stderr, code := runCLI(t, "inspect", sw)
	if code != 0 || !strings.Contains(stdout, "1 fold (10 held-out rows; predefined:") {
		t.Errorf("inspect: exit %d, %s%s", code, stdout, stderr)
	}
}
