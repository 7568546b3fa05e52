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
)

// predictFixture is a case of testdata/predict (scikit-learn's predictions, gen_predict.py).
func predictFixture(name string) string {
	return filepath.Join("..", "..", "testdata", "predict", name)
}

// checkPredictions compares an output's predictions.npy and alphas.npy with a fixture's:
// penalties identical, predictions within tol of each target's standard deviation (over the
// fitted rows: Y.npy's), NaN where nan says (mask) and the fixture's values elsewhere, in order.
func checkPredictions(t *testing.T, out, fix, wantDtype string, tol float64, kept []bool) {
	t.Helper()
	got, want := readNPY(t, filepath.Join(out, "predictions.npy")), readNPY(t, filepath.Join(fix, "predictions.npy"))
	if got.DType != wantDtype || fmt.Sprint(got.Shape) != fmt.Sprint(want.Shape) {
		t.Fatalf("predictions.npy: %s %v, want %s %v", got.DType, got.Shape, wantDtype, want.Shape)
	}
	y := readNPY(t, filepath.Join(fix, "Y.npy"))
	m := len(want.F64) / want.Shape[0]
	sd := make([]float64, m)
	for j := range sd {
		var s, ss float64
		n := float64(y.Shape[0])
		for i := 0; i < y.Shape[0]; i++ {
			s += y.F64[i*m+j]
		}
		for i := 0; i < y.Shape[0]; i++ {
			d := y.F64[i*m+j] - s/n
			ss += d * d
		}
		sd[j] = math.Sqrt(ss / n)
	}
	gotA, wantA := readNPY(t, filepath.Join(out, "alphas.npy")), readNPY(t, filepath.Join(fix, "alphas.npy"))
	for k, w := range want.F64 {
		j := k % m
		var g float64
		if got.F32 != nil {
			g = float64(got.F32[k])
		} else {
			g = got.F64[k]
		}
		if kept != nil && !kept[j] {
			if !math.IsNaN(g) || !math.IsNaN(gotA.F64[j]) {
				t.Fatalf("target %d outside the mask: prediction %v, penalty %v; want NaN", j, g, gotA.F64[j])
			}
			continue
		}
		if gotA.F64[j] != wantA.F64[j] {
			t.Fatalf("target %d: penalty %g, scikit-learn %g", j, gotA.F64[j], wantA.F64[j])
		}
		if math.Abs(g-w) > tol*sd[j] || math.IsNaN(g) {
			t.Fatalf("prediction %d (row %d, target %d): %.9g, scikit-learn %.9g (sd %.3g)", k, k/m, j, g, w, sd[j])
		}
	}
}

// TestPredictMatchesScikitLearn: predict's files hold scikit-learn's RidgeCV(alpha_per_target)
// predictions for the new stimuli and its penalties, shaped as the brain data (3-d, MEG-like),
// in float32 by default and float64 on request; with ids, the fitted rows are matched (features
// stored in another order) and new stimuli that were fitted on are warned about and recorded.
func TestPredictMatchesScikitLearn(t *testing.T) {
	keepFlagDefaults(t)
	fix := predictFixture("meg3d")
	dir := t.TempDir()
	xp, yp, np := filepath.Join(fix, "X.npy"), filepath.Join(fix, "Y.npy"), filepath.Join(fix, "X_new.npy")

	out32 := filepath.Join(dir, "f32")
	stdout, stderr, code := runCLI(t, "predict", "-x", xp, "--new-features", np, "-y", yp, "-o", out32)
	if code != 0 {
		t.Fatal(stderr)
	}
	if !strings.Contains(stdout, "predicted 60 targets for 30 new images from 32 features, fitted on 130 images") {
		t.Errorf("stdout: %q", stdout)
	}
	checkPredictions(t, out32, fix, "float32", 2e-3, nil)

	out64 := filepath.Join(dir, "f64")
	if _, stderr, code := runCLI(t, "predict", "-x", xp, "--new-features", np, "-y", yp, "-o", out64, "--precision", "float64"); code != 0 {
		t.Fatal(stderr)
	}
	checkPredictions(t, out64, fix, "float64", 1e-6, nil)
	var rec struct {
		Command string `json:"command"`
		Rows    int    `json:"rows_fitted"`
		NewRows int    `json:"new_rows"`
		Targets int    `json:"targets"`
		Model   struct{ Inner string }
		Run     struct{ Precision string }
		NewIDs  *struct {
			AlsoFitted []string `json:"also_fitted"`
		} `json:"new_ids"`
	}
	b, err := os.ReadFile(filepath.Join(out64, "predict.json"))
	must(t, err)
	must(t, json.Unmarshal(b, &rec))
	if rec.Command != "predict" || rec.Rows != 130 || rec.NewRows != 30 || rec.Targets != 60 || rec.Model.Inner != "loo" || rec.Run.Precision != "float64" || rec.NewIDs != nil {
		t.Errorf("predict.json: %+v", rec)
	}
	checkOneFitModel(t, filepath.Join(out64, "predict.json"))

	// ids: the features stored in reverse order with two rows unknown to the brain data; two
	// new stimuli were fitted on
	x := readNPY(t, xp)
	n, d := x.Shape[0], x.Shape[1]
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("img%03d", i)
	}
	rev := make([]float64, 0, (n+2)*d)
	revIDs := []string{"extra-a"}
	rev = append(rev, make([]float64, d)...)
	for i := n - 1; i >= 0; i-- {
		rev = append(rev, x.F64[i*d:(i+1)*d]...)
		revIDs = append(revIDs, ids[i])
	}
	rev = append(rev, make([]float64, d)...)
	revIDs = append(revIDs, "extra-b")
	rxp := filepath.Join(dir, "X_rev.npy")
	must(t, array.WriteNPY(rxp, []int{n + 2, d}, rev))
	newIDs := make([]string, 30)
	for i := range newIDs {
		newIDs[i] = fmt.Sprintf("new%02d", i)
	}
	newIDs[4], newIDs[17] = ids[9], ids[100]
	outIDs := filepath.Join(dir, "ids")
	_, stderr, code = runCLI(t, "predict", "-x", rxp, "--new-features", np, "-y", yp, "-o", outIDs, "--precision", "float64",
		"--features-ids", writeLines(t, filepath.Join(dir, "x_ids.txt"), revIDs), "--brain-ids", writeLines(t, filepath.Join(dir, "y_ids.txt"), ids),
		"--new-ids", writeLines(t, filepath.Join(dir, "new_ids.txt"), newIDs))
	if code != 0 {
		t.Fatal(stderr)
	}
	checkPredictions(t, outIDs, fix, "float64", 1e-6, nil)
	if !strings.Contains(stderr, "2 of the 30 new stimuli were also fitted on") || !strings.Contains(stderr, "img009, img100") {
		t.Errorf("no warning about new stimuli fitted on: %q", stderr)
	}
	b, err = os.ReadFile(filepath.Join(outIDs, "predict.json"))
	must(t, err)
	must(t, json.Unmarshal(b, &rec))
	if rec.NewIDs == nil || !slices.Equal(rec.NewIDs.AlsoFitted, []string{"img009", "img100"}) {
		t.Errorf("predict.json new_ids: %s", b)
	}
}

// TestPredictMaskAndSpace: with --brain-mask only the masked targets are fitted, the others NaN
// (the fitted ones equal to scikit-learn's on all targets: each target is fitted on its own),
// and with --space the predictions are also a volume with one frame per new stimulus.
func TestPredictMaskAndSpace(t *testing.T) {
	keepFlagDefaults(t)
	fix := predictFixture("loo_n_gt_d") // 60 targets
	dir := t.TempDir()
	xp, yp, np := filepath.Join(fix, "X.npy"), filepath.Join(fix, "Y.npy"), filepath.Join(fix, "X_new.npy")
	kept := make([]bool, 60)
	mask := make([]float64, 60)
	for j := range mask {
		if j%3 != 1 {
			kept[j], mask[j] = true, 1
		}
	}
	mp := filepath.Join(dir, "mask.npy")
	must(t, array.WriteNPY(mp, []int{60}, mask))
	tmpl, err := array.ReadGeometry(neuroFile("float32_be.nii"))
	must(t, err)
	g := *tmpl
	g.Spatial = []int{3, 4, 5}
	sp := filepath.Join(dir, "space.nii.gz")
	must(t, array.WriteVolume(sp, &g, make([]float64, 60)))

	out := filepath.Join(dir, "masked")
	if _, stderr, code := runCLI(t, "predict", "-x", xp, "--new-features", np, "-y", yp, "-o", out, "--precision", "float64",
		"--brain-mask", mp, "--space", sp); code != 0 {
		t.Fatal(stderr)
	}
	checkPredictions(t, out, fix, "float64", 1e-6, kept)
	out32 := filepath.Join(dir, "masked32") // float32 rows expanded over the mask as written
	if _, stderr, code := runCLI(t, "predict", "-x", xp, "--new-features", np, "-y", yp, "-o", out32, "--brain-mask", mp); code != 0 {
		t.Fatal(stderr)
	}
	checkPredictions(t, out32, fix, "float32", 2e-3, kept)
	vol := readVolume(t, filepath.Join(out, "predictions.nii.gz"))
	if fmt.Sprint(vol.Shape) != "[40 3 4 5]" {
		t.Fatalf("predictions.nii.gz: shape %v, want 40 frames of 3 x 4 x 5", vol.Shape)
	}
	p := readNPY(t, filepath.Join(out, "predictions.npy"))
	for k, v := range p.F64 {
		w := float64(vol.F32[k])
		if w != float64(float32(v)) && !(math.IsNaN(v) && math.IsNaN(w)) {
			t.Fatalf("predictions.nii.gz value %d: %v, predictions.npy %v", k, w, v)
		}
	}
}

// TestPredictWeights: --save-weights writes scikit-learn's coef_.T and intercept_ (shaped as
// the brain data, NaN outside a mask), with or without new stimuli, computed by the build's
// default engine (in a cuda build the GPU, which once handed the model to the CPU engine); the
// model reproduces the predictions.
func TestPredictWeights(t *testing.T) {
	keepFlagDefaults(t)
	fix := predictFixture("meg3d") // 32 features, targets 6 x 10
	dir := t.TempDir()
	xp, yp, np := filepath.Join(fix, "X.npy"), filepath.Join(fix, "Y.npy"), filepath.Join(fix, "X_new.npy")
	mask := make([]float64, 60)
	for j := range mask {
		if j%4 != 0 {
			mask[j] = 1
		}
	}
	mp := filepath.Join(dir, "mask.npy")
	must(t, array.WriteNPY(mp, []int{6, 10}, mask))

	both := filepath.Join(dir, "both")
	if _, stderr, code := runCLI(t, "predict", "-x", xp, "--new-features", np, "-y", yp, "-o", both, "--precision", "float64", "--save-weights", "--brain-mask", mp); code != 0 {
		t.Fatal(stderr)
	}
	only := filepath.Join(dir, "only")
	stdout, stderr, code := runCLI(t, "predict", "-x", xp, "-y", yp, "-o", only, "--precision", "float64", "--save-weights", "--brain-mask", mp)
	if code != 0 {
		t.Fatal(stderr)
	}
	if !strings.HasPrefix(stdout, "fitted 45 targets from 32 features on 130 images") {
		t.Errorf("stdout: %q", stdout)
	}
	for _, out := range []string{both, only} {
		var rec struct{ Run struct{ Engine string } }
		b, err := os.ReadFile(filepath.Join(out, "predict.json"))
		must(t, err)
		must(t, json.Unmarshal(b, &rec))
		if kind, _, _ := strings.Cut(defaultDevice, ":"); !strings.HasPrefix(rec.Run.Engine, kind) {
			t.Errorf("%s: the model fitted on %q, not the default device %s", out, rec.Run.Engine, defaultDevice)
		}
	}
	if stderr != "" {
		t.Errorf("stderr: %q", stderr)
	}
	if _, err := os.Stat(filepath.Join(only, "predictions.npy")); !os.IsNotExist(err) {
		t.Errorf("predictions.npy without new stimuli: %v", err)
	}
	wantW, wantB := readNPY(t, filepath.Join(fix, "weights.npy")), readNPY(t, filepath.Join(fix, "intercepts.npy"))
	xNew, pred := readNPY(t, np), readNPY(t, filepath.Join(both, "predictions.npy"))
	for _, out := range []string{both, only} {
		w, b := readNPY(t, filepath.Join(out, "weights.npy")), readNPY(t, filepath.Join(out, "intercepts.npy"))
		if fmt.Sprint(w.Shape) != "[32 6 10]" || fmt.Sprint(b.Shape) != "[6 10]" || w.DType != "float64" {
			t.Fatalf("%s: weights %s %v, intercepts %v", out, w.DType, w.Shape, b.Shape)
		}
		for j := 0; j < 60; j++ {
			if mask[j] == 0 {
				if !math.IsNaN(b.F64[j]) || !math.IsNaN(w.F64[5*60+j]) {
					t.Fatalf("%s: target %d outside the mask: weight %v, intercept %v", out, j, w.F64[5*60+j], b.F64[j])
				}
				continue
			}
			colMax := 0.0
			for k := 0; k < 32; k++ {
				colMax = max(colMax, math.Abs(wantW.F64[k*60+j]))
			}
			for k := 0; k < 32; k++ {
				if got, want := w.F64[k*60+j], wantW.F64[k*60+j]; math.Abs(got-want) > 1e-6*colMax {
					t.Fatalf("%s: weight of feature %d for target %d: %.10g, scikit-learn %.10g", out, k, j, got, want)
				}
			}
			if got, want := b.F64[j], wantB.F64[j]; math.Abs(got-want) > 1e-6*math.Max(1, math.Abs(want)) {
				t.Fatalf("%s: intercept of target %d: %.10g, scikit-learn %.10g", out, j, got, want)
			}
			for i := 0; i < 30; i++ { // X_new @ weights + intercepts = predictions
				s := b.F64[j]
				for k := 0; k < 32; k++ {
					s += xNew.F64[i*32+k] * w.F64[k*60+j]
				}
				if p := pred.F64[i*60+j]; math.Abs(s-p) > 1e-9*math.Max(1, math.Abs(p)) {
					t.Fatalf("%s: new row %d target %d: model %.10g, predictions.npy %.10g", out, i, j, s, p)
				}
			}
		}
	}
	stdout, _, _ = runCLI(t, "inspect", only)
	for _, want := range []string{"results of brainalign predict", "predict.json has the details", "weights.npy", "intercepts.npy"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("inspect of a predict output lacks %q: %s", want, stdout)
		}
	}
	wantError(t, 2, "there are none without --new-features", "predict", "-x", xp, "-y", yp, "-o", filepath.Join(dir, "none"), "--save-weights", "--space", mp)
	wantError(t, 2, "predict needs --new-features", "predict", "-x", xp, "-y", yp, "-o", filepath.Join(dir, "none"))
}

// TestPredictErrors: bad inputs are one-line errors and leave nothing behind.
func TestPredictErrors(t *testing.T) {
	keepFlagDefaults(t)
	fix := predictFixture("loo_n_gt_d")
	dir := t.TempDir()
	xp, yp, np := filepath.Join(fix, "X.npy"), filepath.Join(fix, "Y.npy"), filepath.Join(fix, "X_new.npy")
	out := filepath.Join(dir, "out")
	wide := filepath.Join(dir, "wide.npy")
	must(t, array.WriteNPY(wide, []int{5, 41}, make([]float64, 5*41)))
	nanNew := filepath.Join(dir, "nan.npy")
	vals := make([]float64, 5*40)
	vals[47] = math.NaN()
	must(t, array.WriteNPY(nanNew, []int{5, 40}, vals))
	short := filepath.Join(dir, "short.npy")
	must(t, array.WriteNPY(short, []int{159, 60}, make([]float64, 159*60)))
	ids3 := writeLines(t, filepath.Join(dir, "three.txt"), []string{"a", "b", "c"})

	wantError(t, 2, "flag provided but not defined: -folds", "predict", "-x", xp, "--new-features", np, "-y", yp, "-o", out, "--folds", "3")
	wantError(t, 1, "wide.npy has 41 features but", "predict", "-x", xp, "--new-features", wide, "-y", yp, "-o", out)
	wantError(t, 1, "nan.npy: non-finite value NaN at row 1, column 7", "predict", "-x", xp, "--new-features", nanNew, "-y", yp, "-o", out)
	wantError(t, 1, "rows must be the same stimuli", "predict", "-x", xp, "--new-features", np, "-y", short, "-o", out)
	wantError(t, 1, "three.txt: 3 ids for the 40 rows", "predict", "-x", xp, "--new-features", np, "-y", yp, "-o", out, "--new-ids", ids3)
	wantError(t, 2, "tf32", "predict", "-x", xp, "--new-features", np, "-y", yp, "-o", out, "--precision", "tf32", "--device", "cpu")
	// below the decomposition's floor, which no smaller output helps
	wantError(t, 1, "one fold's decomposition needs (160 training rows x 40 features)", "predict", "-x", xp, "--new-features", np, "-y", yp, "-o", out, "--memory", "50KB", "--device", "cpu")
	// the model alone beside it: no new stimuli to blame
	wantError(t, 1, "the model (40 features x 60 targets); fit fewer targets at once", "predict", "-x", xp, "-y", yp, "-o", out, "--save-weights", "--memory", "640KB", "--device", "cpu")
	wantError(t, 2, "--features-ids and --brain-ids go together", "predict", "-x", xp, "--new-features", np, "-y", yp, "-o", out, "--features-ids", ids3)
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("failed runs left %s behind: %v", out, err)
	}

	// --overwrite replaces an earlier predict output, not another command's
	if _, stderr, code := runCLI(t, "predict", "-x", xp, "--new-features", np, "-y", yp, "-o", out); code != 0 {
		t.Fatal(stderr)
	}
	if _, stderr, code := runCLI(t, "predict", "-x", xp, "--new-features", np, "-y", yp, "-o", out, "--overwrite"); code != 0 {
		t.Fatal(stderr)
	}
	enc := filepath.Join(dir, "enc")
	if _, stderr, code := runCLI(t, "encode", "-x", xp, "-y", yp, "-o", enc); code != 0 {
		t.Fatal(stderr)
	}
	wantError(t, 1, "holds no earlier brainalign predict output", "predict", "-x", xp, "--new-features", np, "-y", yp, "-o", enc, "--overwrite")
}

// TestPredictVolumesSkipped: predictions a NIfTI-1 file cannot hold (more than 32,767 frames)
// are written as predictions.npy alone, said before the fit and in predict.json; --new-ids
// without the fitted stimuli's ids warns that nothing was checked.
func TestPredictVolumesSkipped(t *testing.T) {
	keepFlagDefaults(t)
	fix := predictFixture("loo_n_gt_d") // 40 features, 60 targets
	dir := t.TempDir()
	xp, yp := filepath.Join(fix, "X.npy"), filepath.Join(fix, "Y.npy")
	tmpl, err := array.ReadGeometry(neuroFile("float32_be.nii"))
	must(t, err)
	if tmpl.Format != "nifti1" {
		t.Fatalf("template is %s, want nifti1", tmpl.Format)
	}
	g := *tmpl
	g.Spatial = []int{3, 4, 5}
	sp := filepath.Join(dir, "space.nii")
	must(t, array.WriteVolume(sp, &g, make([]float64, 60)))
	const n = 32768
	newX := make([]float32, n*40)
	for i := range newX {
		newX[i] = float32(i%7) - 3
	}
	np := filepath.Join(dir, "many.npy")
	must(t, array.WriteNPY(np, []int{n, 40}, newX))
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprint("s", i)
	}
	out := filepath.Join(dir, "out")
	_, stderr, code := runCLI(t, "predict", "-x", xp, "--new-features", np, "-y", yp, "-o", out, "--space", sp,
		"--new-ids", writeLines(t, filepath.Join(dir, "ids.txt"), ids))
	if code != 0 {
		t.Fatal(stderr)
	}
	for _, want := range []string{"not written as volumes", "NIfTI-1 file holds at most 32767 frames", "--new-ids cannot be checked"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q: %s", want, stderr)
		}
	}
	if p := readNPY(t, filepath.Join(out, "predictions.npy")); fmt.Sprint(p.Shape) != "[32768 60]" {
		t.Errorf("predictions.npy: %v", p.Shape)
	}
	if vols, _ := filepath.Glob(filepath.Join(out, "predictions.*")); len(vols) != 1 {
		t.Errorf("volumes written: %v", vols)
	}
	b, err := os.ReadFile(filepath.Join(out, "predict.json"))
	must(t, err)
	if !strings.Contains(string(b), `"volumes_skipped"`) || !strings.Contains(string(b), `"checked_against_fitted": false`) || strings.Contains(string(b), "also_fitted") {
		t.Errorf("predict.json: %s", b)
	}
}

// TestEncodeSavePredictions: encode --save-predictions writes each row's held-out prediction:
// on a fixed test set (--test-ids, the rows of one of scikit-learn's KFold folds) the test rows
// hold predict's predictions fitted on the other rows, and the rows never held out are NaN; the
// stimulus of each row is listed with ids; NaN outside a mask.
func TestEncodeSavePredictions(t *testing.T) {
	keepFlagDefaults(t)
	fix := filepath.Join("..", "..", "testdata", "parity", "n_gt_d") // 200 rows, 40 features, 60 targets
	dir := t.TempDir()
	xp, yp := filepath.Join(fix, "X.npy"), filepath.Join(fix, "Y.npy")
	x, y := readNPY(t, xp), readNPY(t, yp)
	n, d, m := 200, 40, 60
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("img%03d", i)
	}
	idf := writeLines(t, filepath.Join(dir, "ids.txt"), ids)
	test := ids[40:80]
	out := filepath.Join(dir, "enc")
	if _, stderr, code := runCLI(t, "encode", "-x", xp, "-y", yp, "-o", out, "--precision", "float64", "--save-predictions",
		"--features-ids", idf, "--brain-ids", idf, "--test-ids", writeLines(t, filepath.Join(dir, "test.txt"), test)); code != 0 {
		t.Fatal(stderr)
	}
	p := readNPY(t, filepath.Join(out, "predictions.npy"))
	if fmt.Sprint(p.Shape) != "[200 60]" || p.DType != "float64" {
		t.Fatalf("predictions.npy: %s %v", p.DType, p.Shape)
	}
	if b, _ := os.ReadFile(filepath.Join(out, "predictions_ids.txt")); string(b) != strings.Join(ids, "\n")+"\n" {
		t.Errorf("predictions_ids.txt: %q...", b[:min(40, len(b))])
	}
	// predict fitted on the other rows, for the test rows
	train := make([]float64, 0, (n-40)*d)
	trainY := make([]float64, 0, (n-40)*m)
	for i := 0; i < n; i++ {
		if i < 40 || i >= 80 {
			train = append(train, x.F64[i*d:(i+1)*d]...)
			trainY = append(trainY, y.F64[i*m:(i+1)*m]...)
		}
	}
	tx, ty, nx := filepath.Join(dir, "tx.npy"), filepath.Join(dir, "ty.npy"), filepath.Join(dir, "nx.npy")
	must(t, array.WriteNPY(tx, []int{n - 40, d}, train))
	must(t, array.WriteNPY(ty, []int{n - 40, m}, trainY))
	must(t, array.WriteNPY(nx, []int{40, d}, x.F64[40*d:80*d]))
	pout := filepath.Join(dir, "pred")
	if _, stderr, code := runCLI(t, "predict", "-x", tx, "-y", ty, "--new-features", nx, "-o", pout, "--precision", "float64"); code != 0 {
		t.Fatal(stderr)
	}
	want := readNPY(t, filepath.Join(pout, "predictions.npy"))
	for i := 0; i < n; i++ {
		for j := 0; j < m; j++ {
			v := p.F64[i*m+j]
			if i < 40 || i >= 80 {
				if !math.IsNaN(v) {
					t.Fatalf("row %d (always trained on) target %d: %v, want NaN", i, j, v)
				}
				continue
			}
			if w := want.F64[(i-40)*m+j]; math.Abs(v-w) > 1e-9*math.Max(1, math.Abs(w)) {
				t.Fatalf("row %d target %d: held-out prediction %.12g, predict's %.12g", i, j, v, w)
			}
		}
	}

	// KFold with a mask: every row held out once, NaN outside the mask (float32 products)
	mask := make([]float64, m)
	for j := range mask {
		mask[j] = float64(j % 2)
	}
	mp := filepath.Join(dir, "mask.npy")
	must(t, array.WriteNPY(mp, []int{m}, mask))
	out2 := filepath.Join(dir, "enc2")
	if _, stderr, code := runCLI(t, "encode", "-x", xp, "-y", yp, "-o", out2, "--save-predictions", "--brain-mask", mp); code != 0 {
		t.Fatal(stderr)
	}
	p2 := readNPY(t, filepath.Join(out2, "predictions.npy"))
	for k, v := range p2.F64 {
		if math.IsNaN(v) != (mask[k%m] == 0) {
			t.Fatalf("value %d (target %d, masked %v): %v", k, k%m, mask[k%m] != 0, v)
		}
	}
	if _, err := os.Stat(filepath.Join(out2, "predictions_ids.txt")); !os.IsNotExist(err) {
		t.Errorf("predictions_ids.txt without ids: %v", err)
	}
}

// TestPredictLayerOfBundleWithNewNPY: --layer picks the fitted activations' array in a bundle,
// and a .npy of new stimuli beside it is that layer's (it used to be refused: 'no array named'),
// with the predictions of the same arrays given as .npy files; a .npy --features with --layer
// is refused, saying that a .npy holds one array.
func TestPredictLayerOfBundleWithNewNPY(t *testing.T) {
	keepFlagDefaults(t)
	fix := predictFixture("meg3d")
	dir := t.TempDir()
	x, np := readNPY(t, filepath.Join(fix, "X.npy")), filepath.Join(fix, "X_new.npy")
	bundle := filepath.Join(dir, "acts.npz")
	must(t, array.WriteNPZ(bundle, []*array.Array{
		{Name: "blocks.3", Shape: x.Shape, DType: "float64", F64: x.F64},
		{Name: "blocks.4", Shape: x.Shape, DType: "float64", F64: make([]float64, len(x.F64))},
	}))
	yp := filepath.Join(fix, "Y.npy")
	viaBundle, viaNPY := filepath.Join(dir, "bundle"), filepath.Join(dir, "npy")
	mustRun(t, "predict", "-x", bundle, "--layer", "blocks.3", "--new-features", np, "-y", yp, "-o", viaBundle, "--precision", "float64")
	mustRun(t, "predict", "-x", filepath.Join(fix, "X.npy"), "--new-features", np, "-y", yp, "-o", viaNPY, "--precision", "float64")
	a, b := readNPY(t, filepath.Join(viaBundle, "predictions.npy")), readNPY(t, filepath.Join(viaNPY, "predictions.npy"))
	if !slices.Equal(a.F64, b.F64) {
		t.Error("predictions from the bundle's layer and a .npy of new stimuli differ from the .npy files'")
	}
	wantError(t, 1, `a .npy file holds one array: --layer "blocks.3" names an array inside a bundle`, "predict", "-x", filepath.Join(fix, "X.npy"),
		"--layer", "blocks.3", "--new-features", np, "-y", yp, "-o", filepath.Join(dir, "refused"))
}

// checkOneFitModel: predict.json's model names predict's one fit on all rows as encode's
// summary.json names its folds (fold_scheme), and has no fold count or fold sizes, which a fit
// that holds nothing out does not have ("folds": 0 read as a run of no folds).
func checkOneFitModel(t *testing.T, path string) {
	t.Helper()
	model, _ := readJSON(t, path)["model"].(map[string]any)
	for _, k := range []string{"folds", "fold_test_sizes"} {
		if v, ok := model[k]; ok {
			t.Errorf("%s: model.%s = %v for a fit that holds nothing out", path, k, v)
		}
	}
	if model["fold_scheme"] != "none (one fit on all rows)" || model["inner"] == nil || model["alphas"] == nil {
		t.Errorf("%s: model %v", path, model)
	}
}
