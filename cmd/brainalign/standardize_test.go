package main

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/brainalign/brainalign/array"
)

// TestStandardizeMatchesScikitLearn: --standardize reaches the engine from encode and predict,
// whose files then hold make_pipeline(StandardScaler(), RidgeCV(...))'s numbers (features of
// scales 1e-3..1e5, where standardising changes the penalties and scores), summary.json says so,
// and predict's weights are in the features' own units (coef_ / scale_).
func TestStandardizeMatchesScikitLearn(t *testing.T) {
	keepFlagDefaults(t)
	dir := t.TempDir()
	fix := filepath.Join("..", "..", "testdata", "parity", "standardize_scales")
	xp, yp := filepath.Join(fix, "X.npy"), filepath.Join(fix, "Y.npy")
	encode := func(out string, extra ...string) (worst float64, penaltiesDiffer int) {
		args := append([]string{"encode", "-x", xp, "-y", yp, "-o", out, "--precision", "float64"}, extra...)
		if _, stderr, code := runCLI(t, args...); code != 0 {
			t.Fatal(stderr)
		}
		for _, f := range []string{"scores.npy", "fold_scores.npy"} {
			got, want := readNPY(t, filepath.Join(out, f)), readNPY(t, filepath.Join(fix, f))
			for k, v := range want.F64 {
				worst = math.Max(worst, math.Abs(v-got.F64[k]))
			}
		}
		got, want := readNPY(t, filepath.Join(out, "alphas.npy")), readNPY(t, filepath.Join(fix, "alphas.npy"))
		for k, v := range want.F64 {
			if got.F64[k] != v {
				penaltiesDiffer++
			}
		}
		return worst, penaltiesDiffer
	}
	std := filepath.Join(dir, "std")
	if worst, differ := encode(std, "--standardize"); worst > 1e-6 || differ > 0 {
		t.Errorf("encode --standardize: max |r - scikit-learn's| %.3g, %d penalties differ", worst, differ)
	}
	var sum struct{ Model struct{ Standardize bool } }
	b, err := os.ReadFile(filepath.Join(std, "summary.json"))
	must(t, err)
	must(t, json.Unmarshal(b, &sum))
	if !sum.Model.Standardize {
		t.Errorf("summary.json: %s", b)
	}
	if worst, differ := encode(filepath.Join(dir, "raw")); worst < 1e-3 && differ == 0 {
		t.Errorf("encode without --standardize matches the standardised fixture (|r| within %.3g): the case tests nothing", worst)
	}

	pfix := predictFixture("standardize_scales")
	out := filepath.Join(dir, "predict")
	if _, stderr, code := runCLI(t, "predict", "-x", filepath.Join(pfix, "X.npy"), "--new-features", filepath.Join(pfix, "X_new.npy"),
		"-y", filepath.Join(pfix, "Y.npy"), "-o", out, "--precision", "float64", "--standardize", "--save-weights"); code != 0 {
		t.Fatal(stderr)
	}
	checkPredictions(t, out, pfix, "float64", 1e-6, nil)
	wantW, wantB := readNPY(t, filepath.Join(pfix, "weights.npy")), readNPY(t, filepath.Join(pfix, "intercepts.npy"))
	w, icpt := readNPY(t, filepath.Join(out, "weights.npy")), readNPY(t, filepath.Join(out, "intercepts.npy"))
	d, m := wantW.Shape[0], wantW.Shape[1]
	for j := 0; j < m; j++ {
		for k := 0; k < d; k++ {
			// relative to the feature's weight scale: weights of features 1e8 apart in scale
			// are 1e8 apart too
			if got, want := w.F64[k*m+j], wantW.F64[k*m+j]; math.Abs(got-want) > 1e-6*math.Abs(want)+1e-12 {
				t.Fatalf("weight of feature %d for target %d: %.10g, scikit-learn %.10g", k, j, got, want)
			}
		}
		if got, want := icpt.F64[j], wantB.F64[j]; math.Abs(got-want) > 1e-6*math.Max(1, math.Abs(want)) {
			t.Fatalf("intercept of target %d: %.10g, scikit-learn %.10g", j, got, want)
		}
	}
}

// A feature far from zero on a tiny spread (1 + 1e-9 noise): StandardScaler(with_mean=False)
// divides it into a column of about 1e9 plus unit noise, beside which float64 cannot resolve the
// other features' directions, so --standardize --no-intercept drops them, and encode says why;
// with an intercept the feature is centred first, and nothing is dropped.
func TestStandardizeNoInterceptFarFeatureNote(t *testing.T) {
	keepFlagDefaults(t)
	dir := t.TempDir()
	n, d, m := 100, 10, 4
	rng := rand.New(rand.NewPCG(5, 6))
	x, y := make([]float64, n*d), make([]float64, n*m)
	for i := range n {
		for j := range d {
			x[i*d+j] = rng.NormFloat64()
		}
		x[i*d] = 1 + 1e-9*rng.NormFloat64()
		for k := range m {
			y[i*m+k] = x[i*d+1+k] + rng.NormFloat64()
		}
	}
	xp, yp := filepath.Join(dir, "X.npy"), filepath.Join(dir, "Y.npy")
	must(t, array.WriteNPY(xp, []int{n, d}, x))
	must(t, array.WriteNPY(yp, []int{n, m}, y))
	stdout := mustRun(t, "encode", "-x", xp, "-y", yp, "-o", filepath.Join(dir, "noicpt"), "--standardize", "--no-intercept")
	if !strings.Contains(stdout, "without an intercept divides into a column of its mean over its spread") {
		t.Errorf("--standardize --no-intercept with a feature of spread 1e-9 on 1: %s", stdout)
	}
	if stdout := mustRun(t, "encode", "-x", xp, "-y", yp, "-o", filepath.Join(dir, "icpt"), "--standardize"); strings.Contains(stdout, "dropped") {
		t.Errorf("--standardize with an intercept: %s", stdout)
	}
}
