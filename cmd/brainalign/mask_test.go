package main

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/brainalign/brainalign/array"
)

// --brain-mask scores the masked voxels only: the same scores as without a mask there, NaN
// elsewhere (where the brain data may hold NaN), from whole or already masked brain data; ceiling
// and sweep take it too.
func TestBrainMask(t *testing.T) {
	st := writeTrialStudy(t)
	tmpl, err := array.ReadGeometry(filepath.Join("..", "..", "testdata", "neuro", "float32_be.nii"))
	must(t, err)
	g := *tmpl
	g.Spatial = []int{st.channels, st.times, 1}
	m := st.channels * st.times
	keep := []int{1, 2, 4, 7, 8, 10, 11} // voxels in C order over (x, y, z)
	inMask := make([]bool, m)
	maskVals := make([]float64, m)
	for _, j := range keep {
		inMask[j], maskVals[j] = true, 1
	}
	mask := filepath.Join(st.dir, "mask.nii.gz")
	must(t, array.WriteVolume(mask, &g, maskVals))

	// trials with NaN outside the mask
	vals := make([]float64, len(st.y.F32))
	for i, v := range st.y.F32 {
		vals[i] = float64(v)
		if !inMask[i%m] && i%5 == 0 {
			vals[i] = math.NaN()
		}
	}
	trials := filepath.Join(st.dir, "trials.nii.gz")
	must(t, array.WriteFrames(trials, &g, st.nTri, vals))
	if _, stderr, code := runCLI(t, "ceiling", "--brain", trials, "--ids", st.ids, "--out", filepath.Join(st.dir, "nomask")); code == 0 || !strings.Contains(stderr, "NaN") {
		t.Fatalf("NaN trials without a mask: exit %d, %s", code, stderr)
	}
	// a NaN inside the mask is named where it is in the file, not by its masked column
	withNaN := slices.Clone(vals)
	withNaN[3*m+keep[2]] = math.NaN()
	trialsNaN := filepath.Join(st.dir, "trials-nan.nii.gz")
	must(t, array.WriteFrames(trialsNaN, &g, st.nTri, withNaN))
	if _, stderr, code := runCLI(t, "ceiling", "--brain", trialsNaN, "--ids", st.ids, "--brain-mask", mask, "--out", filepath.Join(st.dir, "nan")); code != 1 ||
		!strings.Contains(stderr, "non-finite value NaN at index [3 1 0 0] (row 3, column 4 of the rows x targets matrix, masked target 2)") {
		t.Errorf("a NaN inside the mask: exit %d, %s", code, stderr)
	}
	// ceiling's files are trials of the same targets: one mask for all, a mask per file refused
	if _, stderr, code := runCLI(t, "ceiling", "--brain", trials, "--brain", trials, "--ids", st.ids, "--brain-mask", mask, "--brain-mask", mask,
		"--out", filepath.Join(st.dir, "twomasks")); code != 2 || !strings.Contains(stderr, "give one mask for all of them") {
		t.Errorf("ceiling with a mask per --brain file: exit %d, %s", code, stderr)
	}
	ceil := filepath.Join(st.dir, "ceil")
	mustRun(t, "ceiling", "--brain", trials, "--ids", st.ids, "--brain-mask", mask, "--out", ceil)
	avg := readNPY(t, filepath.Join(ceil, "averaged.npy"))
	if fmt.Sprint(avg.Shape) != fmt.Sprintf("[%d %d]", st.stimuli, len(keep)) {
		t.Errorf("averaged.npy shape %v, want the masked targets only", avg.Shape)
	}
	cv := readNPY(t, filepath.Join(ceil, "ceiling.npy"))
	for j, v := range cv.F64 {
		if math.IsNaN(v) == inMask[j] {
			t.Errorf("ceiling.npy[%d] = %v (in mask: %v)", j, v, inMask[j])
		}
	}
	sameVolume(t, filepath.Join(ceil, "ceiling.nii.gz"), filepath.Join(ceil, "ceiling.npy"), []int{3, 4, 1})
	// the same mask as a flat .npy over the targets in C order: the outputs keep the brain data's
	// shape and space
	flat := filepath.Join(st.dir, "mask_flat.npy")
	must(t, array.WriteNPY(flat, []int{m}, maskVals))
	ceilFlat := filepath.Join(st.dir, "ceil-flat")
	mustRun(t, "ceiling", "--brain", trials, "--ids", st.ids, "--brain-mask", flat, "--out", ceilFlat)
	if cf := readNPY(t, filepath.Join(ceilFlat, "ceiling.npy")); fmt.Sprint(cf.Shape) != "[3 4 1]" {
		t.Errorf("ceiling.npy with a flat mask: shape %v, want the brain data's [3 4 1]", cf.Shape)
	}
	sameVolume(t, filepath.Join(ceilFlat, "ceiling.nii.gz"), filepath.Join(ceilFlat, "ceiling.npy"), []int{3, 4, 1})

	// encode the averaged (masked) data; and the unmasked averaged data of the no-NaN trials
	enc := filepath.Join(st.dir, "enc")
	base := []string{"encode", "--features", st.features, "--features-ids", st.featureIDs, "--precision", "float64",
		"--brain-ids", filepath.Join(ceil, "averaged_ids.txt")}
	mustRun(t, append(base, "--brain", filepath.Join(ceil, "averaged.npy"), "--brain-mask", mask, "--out", enc)...)
	ref := filepath.Join(st.dir, "ref")
	clean := filepath.Join(st.dir, "clean")
	mustRun(t, "ceiling", "--brain", st.trials, "--ids", st.ids, "--out", clean)
	mustRun(t, append(base, "--brain", filepath.Join(clean, "averaged.npy"), "--out", ref)...)
	got, want := readNPY(t, filepath.Join(enc, "scores.npy")), readNPY(t, filepath.Join(ref, "scores.npy"))
	if fmt.Sprint(got.Shape) != "[3 4 1]" || fmt.Sprint(want.Shape) != "[3 4]" {
		t.Fatalf("scores shapes %v (masked) and %v", got.Shape, want.Shape)
	}
	for j := range m {
		switch {
		case !inMask[j] && !math.IsNaN(got.F64[j]):
			t.Errorf("target %d outside the mask scored %v", j, got.F64[j])
		case inMask[j] && math.Abs(got.F64[j]-want.F64[j]) > 1e-9:
			t.Errorf("target %d: %v with the mask, %v without", j, got.F64[j], want.F64[j])
		}
	}
	folds := readNPY(t, filepath.Join(enc, "fold_scores.npy"))
	if fmt.Sprint(folds.Shape) != "[5 3 4 1]" || !math.IsNaN(folds.F64[m]) || math.IsNaN(folds.F64[m+1]) {
		t.Errorf("fold_scores.npy: shape %v, fold 1 targets 0 and 1: %v %v", folds.Shape, folds.F64[m], folds.F64[m+1])
	}
	sameVolume(t, filepath.Join(enc, "scores.nii.gz"), filepath.Join(enc, "scores.npy"), []int{3, 4, 1})
	if s := readFile(t, filepath.Join(enc, "summary.json")); !strings.Contains(s, `"targets_scored": 7`) {
		t.Errorf("summary.json: %s", s)
	}

	// a mask of another size
	short := filepath.Join(st.dir, "short.npy")
	must(t, array.WriteNPY(short, []int{5}, []float64{1, 0, 1, 0, 0}))
	if _, stderr, code := runCLI(t, append(base, "--brain", filepath.Join(ceil, "averaged.npy"), "--brain-mask", short, "--out", filepath.Join(st.dir, "bad"))...); code == 0 ||
		!strings.Contains(stderr, "has 7 targets, the mask 5 (2 selected): want a mask of 7 targets, or brain data of the 2 selected (already masked)") {
		t.Errorf("a mask of another size: exit %d, %s", code, stderr)
	}

	// sweep: the masked voxels, their coordinates from the affine, and the best-layer map
	avgVals := make([]float64, 0, st.stimuli*m)
	ca := readNPY(t, filepath.Join(clean, "averaged.npy"))
	for _, v := range ca.F32 {
		avgVals = append(avgVals, float64(v))
	}
	avgNii := filepath.Join(st.dir, "averaged.nii.gz")
	must(t, array.WriteFrames(avgNii, &g, st.stimuli, avgVals))
	acts := filepath.Join(st.dir, "acts")
	must(t, os.MkdirAll(acts, 0o777))
	x := readNPY(t, st.features).F32 // stimuli x 6: each layer two of the features, so best layers differ
	for l := range 3 {
		part := make([]float32, 0, 2*st.stimuli)
		for i := range st.stimuli {
			part = append(part, x[6*i+2*l], x[6*i+2*l+1])
		}
		must(t, array.WriteNPY(filepath.Join(acts, fmt.Sprintf("layer%d.npy", l)), []int{st.stimuli, 2}, part))
	}
	sw := filepath.Join(st.dir, "sweep")
	mustRun(t, "sweep", "--features", acts, "--features-ids", st.featureIDs, "--brain", avgNii,
		"--brain-ids", filepath.Join(clean, "averaged_ids.txt"), "--brain-mask", mask, "--out", sw)
	if n := get(t, readJSON(t, filepath.Join(sw, "sweep.json")), "targets"); n != float64(len(keep)) {
		t.Errorf("sweep.json targets %v, want %d", n, len(keep))
	}
	// the tables hold the masked targets only, as documented: np.flatnonzero(mask)'s order
	if sc, idx := readNPY(t, filepath.Join(sw, "scores.npy")), readNPY(t, filepath.Join(sw, "meta", "space_targets.npy")); fmt.Sprint(sc.Shape) != fmt.Sprintf("[1 3 %d]", len(keep)) || fmt.Sprint(idx.Ints()) != fmt.Sprint(keep) {
		t.Errorf("masked sweep: scores.npy %v, space_targets.npy %v; want [1 3 %d], %v", sc.Shape, idx.Ints(), len(keep), keep)
	}
	coords := readNPY(t, filepath.Join(sw, "meta", "coords.npy"))
	all, err := g.Coordinates()
	must(t, err)
	for i, j := range keep {
		if coords.F64[3*i] != all[3*j] || coords.F64[3*i+2] != all[3*j+2] {
			t.Errorf("coordinate of masked target %d is not voxel %d's", i, j)
		}
	}
	sp := filepath.Join(st.dir, "spatial")
	mustRun(t, "spatial", "--v1", "0,0,0", "--fdr", "0.5", "--no-figures", "--out", sp, sw)
	depth, vol := readNPY(t, filepath.Join(sp, "best_layer_depth.npy")), readVolume(t, filepath.Join(sp, "best_layer_depth.nii.gz"))
	mk := readNPY(t, filepath.Join(sp, "mask.npy"))
	kept := 0
	for i, j := range keep {
		v := float64(vol.F32[j])
		if mk.Ints()[i] != 0 {
			kept++
		}
		if mk.Ints()[i] != 0 && v != float64(float32(depth.F64[i])) || mk.Ints()[i] == 0 && !math.IsNaN(v) {
			t.Errorf("voxel %d (target %d): %v in the volume, depth %v, in the significance mask %v", j, i, v, depth.F64[i], mk.Ints()[i])
		}
	}
	if kept == 0 {
		t.Error("no masked target passed the significance mask: the map is not checked")
	}
	for j := range m {
		if !inMask[j] && !math.IsNaN(float64(vol.F32[j])) {
			t.Errorf("voxel %d outside the brain mask: %v", j, vol.F32[j])
		}
	}

	// An atlas over the whole volume: its background (label 0) outside the mask needs no name.
	atlasVals := make([]float64, m)
	for i, j := range keep {
		atlasVals[j] = float64(1 + i%2)
	}
	atlas, lut := filepath.Join(st.dir, "atlas.nii"), filepath.Join(st.dir, "lut.txt")
	must(t, array.WriteVolume(atlas, &g, atlasVals))
	must(t, os.WriteFile(lut, []byte("1 V1\n2 V2\n"), 0o644))
	swArgs := []string{"sweep", "--features", acts, "--features-ids", st.featureIDs, "--brain", avgNii, "--brain-ids", filepath.Join(clean, "averaged_ids.txt")}
	swROI := filepath.Join(st.dir, "sweep-roi")
	mustRun(t, append(swArgs, "--brain-mask", mask, "--roi", atlas, "--roi-names", lut, "--out", swROI)...)
	if got := readFile(t, filepath.Join(swROI, "meta", "roi_names.txt")); got != "1\tV1\n2\tV2\n" {
		t.Errorf("roi_names.txt of the masked voxels: %q", got)
	}
	// A mask, an atlas or a space on another grid (shifted 5 mm) would be matched to other voxels
	// than it shows in a viewer: refused.
	shifted := func(name string, vals []float64) string {
		p := filepath.Join(st.dir, name)
		must(t, array.WriteVolume(p, &g, vals))
		shiftNIfTI(t, p)
		return p
	}
	maskOff, atlasOff := shifted("mask_off.nii", maskVals), shifted("atlas_off.nii", atlasVals)
	for _, c := range []struct {
		flag, path string
		args       []string
	}{
		{"brain-mask", maskOff, append(swArgs, "--brain-mask", maskOff)},
		{"brain-mask", maskOff, append(base, "--brain", avgNii, "--brain-mask", maskOff)},
		{"roi", atlasOff, append(swArgs, "--brain-mask", mask, "--roi", atlasOff, "--roi-names", lut)},
		{"space", maskOff, append(swArgs, "--space", maskOff)},
	} {
		out := filepath.Join(st.dir, "off-grid")
		if _, stderr, code := runCLI(t, append(c.args, "--out", out)...); code != 1 ||
			!strings.Contains(stderr, "--"+c.flag+" "+c.path+" is not on the grid of "+avgNii+" (voxel-to-world matrix row 1 ") {
			t.Errorf("%s %s: exit %d, %s", c.args[0], c.flag, code, stderr)
		}
		notThere(t, out, c.args[0]+" --"+c.flag+" off the grid")
	}
}

// TestMaskReleasesData: once the masked targets are copied, the data as read (a NIfTI file's,
// decoded whole) are let go, so that whole volumes are not held beside their masked copies
// (ceiling reads 40 NSD sessions one after another, each masked before the next).
func TestMaskReleasesData(t *testing.T) {
	y, err := loadBrain(filepath.Join("..", "..", "testdata", "neuro", "int16_scaled.nii.gz"), "")
	must(t, err)
	defer y.close()
	read := y.arrs[0]
	mask := make([]bool, 3*4*2)
	var cols []int
	for j := range mask {
		if j%5 == 1 {
			mask[j] = true
			cols = append(cols, j)
		}
	}
	mp := filepath.Join(t.TempDir(), "mask.npy")
	must(t, array.WriteNPY(mp, []int{3, 4, 2}, mask))
	var want []float64
	for i := range y.m.Rows {
		for _, c := range cols {
			want = append(want, y.m.At(i, c))
		}
	}
	mk, err := readMask(mp)
	must(t, err)
	must(t, mk.apply(y))
	if y.arrs != nil || read.F32 != nil || read.F64 != nil {
		t.Errorf("the data as read are still held after masking (arrays %v)", y.arrs)
	}
	k := 0
	for i := range y.m.Rows {
		for j := range cols {
			if got := y.m.At(i, j); got != want[k] {
				t.Fatalf("masked value (%d, %d) = %v, want %v", i, j, got, want[k])
			}
			k++
		}
	}
}

// A mask stored as one frame of a 4-d NIfTI file (x, y, z, 1; NiBabel-written, as fslroi and
// some pipelines leave masks) is the 3-d mask it holds, as nilearn takes it: the same ceilings as
// with that mask written 3-d, and the outputs in the volume's shape.
func TestBrainMaskOfOneFrame(t *testing.T) {
	st := writeTrialStudy(t)
	neuro := filepath.Join("..", "..", "testdata", "neuro")
	tmpl, err := array.ReadGeometry(filepath.Join(neuro, "float32_be.nii"))
	must(t, err)
	g := *tmpl
	g.Spatial = []int{st.channels, st.times, 1}
	vals := make([]float64, len(st.y.F32))
	for i, v := range st.y.F32 {
		vals[i] = float64(v)
	}
	trials := filepath.Join(st.dir, "trials.nii.gz")
	must(t, array.WriteFrames(trials, &g, st.nTri, vals))
	maskVals := make([]float64, st.channels*st.times)
	for _, j := range []int{1, 2, 4, 7, 8, 10, 11} { // mask_oneframe.nii's voxels (gen_neuro.py)
		maskVals[j] = 1
	}
	mask3 := filepath.Join(st.dir, "mask.nii.gz")
	must(t, array.WriteVolume(mask3, &g, maskVals))
	one, three := filepath.Join(st.dir, "one"), filepath.Join(st.dir, "three")
	mustRun(t, "ceiling", "--brain", trials, "--ids", st.ids, "--brain-mask", filepath.Join(neuro, "mask_oneframe.nii"), "--out", one)
	mustRun(t, "ceiling", "--brain", trials, "--ids", st.ids, "--brain-mask", mask3, "--out", three)
	got, want := readNPY(t, filepath.Join(one, "ceiling.npy")), readNPY(t, filepath.Join(three, "ceiling.npy"))
	if fmt.Sprint(got.Shape) != "[3 4 1]" {
		t.Fatalf("ceiling.npy shape %v, want the volume's [3 4 1]", got.Shape)
	}
	for j, v := range want.F64 {
		if g := got.F64[j]; g != v && !(math.IsNaN(g) && math.IsNaN(v)) {
			t.Errorf("target %d: %v with the one-frame mask, %v with the 3-d one", j, g, v)
		}
	}
	sameVolume(t, filepath.Join(one, "ceiling.nii.gz"), filepath.Join(one, "ceiling.npy"), []int{3, 4, 1})
}

// A mask .npy stored in Fortran order (np.save of nibabel's get_fdata() > 0) selects the targets
// numpy's np.flatnonzero(mask) numbers, in C order: the targets where the mask's values
// (gen_arrays.py's expected.json, in C order) are nonzero are scored, as without the mask, and
// only those. Read in the order stored, it selected the elements at those Fortran positions.
func TestBrainMaskFortranOrder(t *testing.T) {
	keepFlagDefaults(t)
	dir := t.TempDir()
	arrays := filepath.Join("..", "..", "testdata", "arrays")
	maskPath := filepath.Join(arrays, "mask_fortran.npy")
	b, err := os.ReadFile(filepath.Join(arrays, "expected.json"))
	must(t, err)
	var expected map[string]json.RawMessage
	must(t, json.Unmarshal(b, &expected))
	var want struct {
		Shape   []int
		Fortran bool
		Values  []int
	}
	must(t, json.Unmarshal(expected["mask_fortran.npy"], &want))
	if !want.Fortran || len(want.Shape) != 3 {
		t.Fatalf("expected.json: mask_fortran.npy is %+v, want a Fortran-ordered 3-d mask", want)
	}
	var flatNonzero []int // np.flatnonzero(mask): the values are in C order
	for j, v := range want.Values {
		if v != 0 {
			flatNonzero = append(flatNonzero, j)
		}
	}
	mk, err := readMask(maskPath)
	must(t, err)
	if !slices.Equal(mk.cols, flatNonzero) {
		t.Errorf("the mask's targets %v, np.flatnonzero(mask) %v", mk.cols, flatNonzero)
	}
	m := len(want.Values)
	n, d := 40, 5
	rng := rand.New(rand.NewPCG(3, 4))
	x, y := make([]float64, n*d), make([]float64, n*m)
	for i := range x {
		x[i] = rng.NormFloat64()
	}
	for i := range y {
		y[i] = x[(i/m)*d+i%d] + rng.NormFloat64() // targets driven by a feature each
	}
	xp, yp := filepath.Join(dir, "X.npy"), filepath.Join(dir, "Y.npy")
	must(t, array.WriteNPY(xp, []int{n, d}, x))
	must(t, array.WriteNPY(yp, append([]int{n}, want.Shape...), y))
	all, masked := filepath.Join(dir, "all"), filepath.Join(dir, "masked")
	mustRun(t, "encode", "-x", xp, "-y", yp, "-o", all, "--precision", "float64")
	mustRun(t, "encode", "-x", xp, "-y", yp, "-o", masked, "--precision", "float64", "--brain-mask", maskPath)
	ref, got := readNPY(t, filepath.Join(all, "scores.npy")), readNPY(t, filepath.Join(masked, "scores.npy"))
	if fmt.Sprint(got.Shape) != fmt.Sprint(want.Shape) {
		t.Fatalf("scores.npy shaped %v, want the mask's %v", got.Shape, want.Shape)
	}
	wrong := 0
	for j, v := range want.Values {
		if v != 0 && got.F64[j] != ref.F64[j] || v == 0 && !math.IsNaN(got.F64[j]) {
			wrong++
		}
	}
	if wrong > 0 {
		t.Errorf("%d of %d targets scored where numpy's mask is 0, or not scored where it is not", wrong, m)
	}
}
