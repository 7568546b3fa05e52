package main

import (
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

// plantedStudy is a model of three layers of independent features (6, 9 and 12 of them) and
// brain data of 4 x 6 targets, each target generated from one layer (planted) plus noise:
// its best layer is known. train is an .npz bundle of the layers (and an integer array of ids,
// not a layer), fresh a folder of the new stimuli's layer .npy files and freshNPZ the same as a
// bundle.
type plantedStudy struct {
	dir, train, fresh, freshNPZ, brain string
	layers                             []string
	planted                            []int
	brainValues                        []float64 // n x targets, as written
}

const (
	plantedRows    = 90
	plantedNew     = 25
	plantedTargets = 24
)

var plantedShape = []int{4, 6}

func newPlantedStudy(t *testing.T) *plantedStudy {
	t.Helper()
	dir := t.TempDir()
	st := &plantedStudy{dir: dir, train: filepath.Join(dir, "train.npz"), fresh: filepath.Join(dir, "new"), freshNPZ: filepath.Join(dir, "new.npz"), brain: filepath.Join(dir, "Y.npy"),
		layers: []string{"blocks.0", "blocks.1", "blocks.2"}}
	rng := rand.New(rand.NewPCG(22, 7))
	dims := []int{6, 9, 12}
	n, all := plantedRows, plantedRows+plantedNew
	acts := make([][]float32, len(dims))
	var trainArrs, newArrs []*array.Array
	must(t, os.MkdirAll(st.fresh, 0o755))
	for l, d := range dims {
		acts[l] = make([]float32, all*d)
		for i := range acts[l] {
			acts[l][i] = float32(rng.NormFloat64())
		}
		trainArrs = append(trainArrs, &array.Array{Name: st.layers[l], Shape: []int{n, d}, DType: "float32", F32: acts[l][:n*d]})
		newArrs = append(newArrs, &array.Array{Name: st.layers[l], Shape: []int{plantedNew, d}, DType: "float32", F32: acts[l][n*d:]})
		must(t, array.WriteNPY(filepath.Join(st.fresh, st.layers[l]+".npy"), []int{plantedNew, d}, acts[l][n*d:]))
	}
	ids := make([]int64, n)
	for i := range ids {
		ids[i] = int64(1000 + i)
	}
	trainArrs = append(trainArrs, &array.Array{Name: "image_ids", Shape: []int{n}, DType: "int64", I64: ids})
	must(t, array.WriteNPZ(st.train, trainArrs))
	must(t, array.WriteNPZ(st.freshNPZ, newArrs))

	m := plantedTargets
	st.planted = make([]int, m)
	y := make([]float64, n*m)
	for j := range m {
		l := (j + j/3) % 3 // each layer for 8 targets, spread over the 4 x 6 grid
		st.planted[j] = l
		d := dims[l]
		w := make([]float64, d)
		for k := range w {
			w[k] = rng.NormFloat64()
		}
		scale, offset := math.Pow(10, float64(j%5)-2), 100*rng.NormFloat64()
		for i := range n {
			s := 0.0
			for k := range d {
				s += float64(acts[l][i*d+k]) * w[k]
			}
			y[i*m+j] = offset + scale*(s+0.7*math.Sqrt(float64(d))*rng.NormFloat64())
		}
	}
	st.brainValues = y
	must(t, array.WriteNPY(st.brain, append([]int{n}, plantedShape...), y))
	return st
}

// sweep scores the study's layers against brain (its Y.npy, or another file of the same
// values) with extra flags, into a sweep folder named name.
func (st *plantedStudy) sweep(t *testing.T, name, brain string, extra ...string) string {
	t.Helper()
	out := filepath.Join(st.dir, name)
	mustRun(t, append([]string{"sweep", "--features", st.train, "--brain", brain, "--out", out}, extra...)...)
	return out
}

// floats reads an .npy of floats as float64 (float32 values exactly).
func floats(t *testing.T, path string) ([]float64, []int, string) {
	t.Helper()
	a := readNPY(t, path)
	if a.F64 != nil {
		return a.F64, a.Shape, a.DType
	}
	out := make([]float64, len(a.F32))
	for i, v := range a.F32 {
		out[i] = float64(v)
	}
	return out, a.Shape, a.DType
}

// argmaxLayers is numpy's argmax over the layers of a sweep's scores at its last checkpoint
// (scores.npy: checkpoints x layers x targets): the first maximum, for each target.
func argmaxLayers(t *testing.T, sweepDir string) []int {
	t.Helper()
	s := readNPY(t, filepath.Join(sweepDir, "scores.npy"))
	c, l := s.Shape[0], s.Shape[1]
	m := len(s.F64) / (c * l)
	last := s.F64[(c-1)*l*m:]
	best := make([]int, m)
	for j := range best {
		for k := 1; k < l; k++ {
			if last[k*m+j] > last[best[j]*m+j] {
				best[j] = k
			}
		}
	}
	return best
}

// oldRecipe is docs/study.md's earlier recipe for each target from its own best layer, done by
// hand: the best layer per target from the sweep's scores (argmaxLayers; with a masked sweep,
// put back over the targets by its meta/space_targets.npy), one predict per layer with a mask
// of its targets (--layer naming it in both bundles), and
// the predictions joined as np.nansum(ps, axis=0), NaN where all are NaN. It returns the joined
// predictions (new images x targets) and best layers (-1 where none), and the dtype written;
// shape is the targets' (the masks').
func (st *plantedStudy) oldRecipe(t *testing.T, sweepDir, name string, shape []int, brainArgs ...string) ([]float64, []int, string) {
	t.Helper()
	best := argmaxLayers(t, sweepDir)
	full := make([]int, plantedTargets)
	for j := range full {
		full[j] = -1
	}
	if p := filepath.Join(sweepDir, "meta", "space_targets.npy"); fileExists(p) {
		for k, j := range readNPY(t, p).Ints() {
			full[j] = best[k]
		}
	} else {
		copy(full, best)
	}
	var ps [][]float64
	dtype := ""
	for l, layer := range st.layers {
		mask := make([]float64, plantedTargets)
		any := false
		for j, b := range full {
			if b == l {
				mask[j], any = 1, true
			}
		}
		if !any {
			continue
		}
		mp := filepath.Join(st.dir, fmt.Sprintf("%s-mask%d.npy", name, l))
		must(t, array.WriteNPY(mp, shape, mask))
		out := filepath.Join(st.dir, fmt.Sprintf("%s-layer%d", name, l))
		mustRun(t, append([]string{"predict", "--features", st.train, "--layer", layer, "--new-features", st.freshNPZ,
			"--brain-mask", mp, "--out", out}, brainArgs...)...)
		p, _, dt := floats(t, filepath.Join(out, "predictions.npy"))
		ps, dtype = append(ps, p), dt
	}
	joined := make([]float64, len(ps[0]))
	for i := range joined {
		sum, all := 0.0, true
		for _, p := range ps {
			if !math.IsNaN(p[i]) {
				sum, all = sum+p[i], false
			}
		}
		joined[i] = sum
		if all {
			joined[i] = math.NaN()
		}
	}
	return joined, full, dtype
}

// sameBits reports the first value where got and want differ, bit for bit (NaN only as NaN).
func sameBits(t *testing.T, what string, got, want []float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] && !(math.IsNaN(got[i]) && math.IsNaN(want[i])) {
			t.Fatalf("%s: value %d (new image %d, target %d) is %.17g, want %.17g", what, i, i/plantedTargets, i%plantedTargets, got[i], want[i])
		}
	}
}

// bestLayerOut reads best_layer.npy as ints, checking its shape and dtype.
func bestLayerOut(t *testing.T, out string, shape []int) []int {
	t.Helper()
	a := readNPY(t, filepath.Join(out, "best_layer.npy"))
	if a.DType != "int64" || !slices.Equal(a.Shape, shape) {
		t.Fatalf("best_layer.npy: %s %v, want int64 %v", a.DType, a.Shape, shape)
	}
	b := make([]int, len(a.Ints()))
	for i, v := range a.Ints() {
		b[i] = int(v)
	}
	return b
}

// TestPredictBestLayerPlanted: on targets generated from known layers, predict --best-layer
// recovers each target's layer from the sweep's scores and writes, bit for bit, the
// predictions and penalties of one predict per layer on a mask of its targets, joined as the
// docs' old recipe joined them; predict.json lists the layers fitted. The build's default engine
// fits (in a cuda build the GPU: both sides then run on it).
func TestPredictBestLayerPlanted(t *testing.T) {
	keepFlagDefaults(t)
	st := newPlantedStudy(t)
	sw := st.sweep(t, "sweep", st.brain)
	if best := argmaxLayers(t, sw); !slices.Equal(best, st.planted) {
		t.Fatalf("the sweep's best layers %v, planted %v: the fixture plants too weak a signal", best, st.planted)
	}
	for _, prec := range []string{"float32", "float64"} {
		t.Run(prec, func(t *testing.T) {
			out := filepath.Join(st.dir, "pred-"+prec)
			stdout := mustRun(t, "predict", "--best-layer", sw, "--features", st.train, "--new-features", st.fresh, "--brain", st.brain,
				"--precision", prec, "--out", out)
			if !strings.Contains(stdout, "predicted 24 targets for 25 new images, each from its best layer in "+sw+" at checkpoint train (3 of 3 layers, targets each: blocks.0 8, blocks.1 8, blocks.2 8), fitted on 90 images") {
				t.Errorf("stdout: %q", stdout)
			}
			if got := bestLayerOut(t, out, plantedShape); !slices.Equal(got, st.planted) {
				t.Errorf("best_layer.npy %v, planted %v", got, st.planted)
			}
			want, wantBest, dtype := st.oldRecipe(t, sw, "recipe-"+prec, plantedShape, "--brain", st.brain, "--precision", prec)
			if !slices.Equal(wantBest, st.planted) {
				t.Fatalf("the recipe's best layers %v", wantBest)
			}
			got, shape, gotType := floats(t, filepath.Join(out, "predictions.npy"))
			if gotType != dtype || !slices.Equal(shape, []int{plantedNew, 4, 6}) {
				t.Fatalf("predictions.npy: %s %v, want %s [25 4 6]", gotType, shape, dtype)
			}
			sameBits(t, "predictions.npy against the recipe's", got, want)
			alphas, _, _ := floats(t, filepath.Join(out, "alphas.npy"))
			for l := range st.layers {
				single, _, _ := floats(t, filepath.Join(st.dir, fmt.Sprintf("recipe-%s-layer%d", prec, l), "alphas.npy"))
				for j, b := range st.planted {
					if b == l && alphas[j] != single[j] {
						t.Errorf("target %d: penalty %g, predict of layer %d alone %g", j, alphas[j], l, single[j])
					}
				}
			}
			checkOneFitModel(t, filepath.Join(out, "predict.json"))
			rec := readJSON(t, filepath.Join(out, "predict.json"))
			if got := get(t, rec, "best_layer", "checked_against_sweep"); got != "data digest" {
				t.Errorf("checked_against_sweep = %v", got)
			}
			layers, _ := get(t, rec, "best_layer", "layers").([]any)
			if len(layers) != 3 {
				t.Fatalf("predict.json best_layer.layers: %v", layers)
			}
			for l, v := range layers {
				e := v.(map[string]any)
				if e["name"] != st.layers[l] || e["index"] != float64(l) || e["targets"] != float64(8) || e["features"] != float64(6+3*l) {
					t.Errorf("predict.json layer %d: %v", l, e)
				}
				if _, ok := get(t, e, "run", "seconds").(map[string]any)["total"]; !ok {
					t.Errorf("predict.json layer %d has no timings: %v", l, e)
				}
			}
			if kind, _, _ := strings.Cut(defaultDevice, ":"); !strings.HasPrefix(get(t, rec, "run", "engine").(string), kind) {
				t.Errorf("fitted on %v, not the build's default device %s", get(t, rec, "run", "engine"), defaultDevice)
			}
			if num(t, rec, "targets") != 24 || num(t, rec, "run", "layers_fitted") != 3 || num(t, rec, "run", "seconds", "total") <= 0 {
				t.Errorf("predict.json: targets %v, run %v", rec["targets"], rec["run"])
			}
		})
	}
	// another model than the sweep's: allowed, with a warning naming the differences
	_, stderr, code := runCLI(t, "predict", "--best-layer", sw, "--features", st.train, "--new-features", st.fresh, "--brain", st.brain,
		"--out", filepath.Join(st.dir, "pred-other"), "--standardize", "--alphas", "1,100", "--no-intercept")
	if want := "chose the layers with another model than predict fits: --alphas 1,10,100,1000,10000,100000,1e+06,1e+07,1e+08, now 1,100; --no-intercept off, now on; --standardize off, now on"; code != 0 || !strings.Contains(stderr, want) {
		t.Errorf("predict --best-layer with another model: exit %d, stderr %q; want a warning %q", code, stderr, want)
	}
	if _, stderr, code := runCLI(t, "predict", "--best-layer", sw, "--features", st.train, "--new-features", st.fresh, "--brain", st.brain,
		"--out", filepath.Join(st.dir, "pred-same"), "--alphas", "logspace:0:8:9"); code != 0 || strings.Contains(stderr, "another model") {
		t.Errorf("predict --best-layer with the sweep's model: exit %d, stderr %q", code, stderr)
	}
}

// TestPredictBestLayerChoice: the layer of each target is the first of the highest scores at
// the checkpoint chosen (ties to the shallower layer), NaN scores passed over, and a target whose
// scores are all NaN is left out (NaN predictions and penalty, best layer -1); --checkpoint takes
// a name, a step or an index; the training features may be the sweep's folder of checkpoints
// (the chosen one's layers are used).
func TestPredictBestLayerChoice(t *testing.T) {
	keepFlagDefaults(t)
	st := newPlantedStudy(t)
	// a model of two checkpoints, step 100 and 2000, the same activations in each
	model := filepath.Join(st.dir, "model")
	for _, ck := range []string{"step100", "step2000"} {
		must(t, os.MkdirAll(filepath.Join(model, ck), 0o755))
		b, err := os.ReadFile(st.train)
		must(t, err)
		must(t, os.WriteFile(filepath.Join(model, ck, "acts.npz"), b, 0o644))
	}
	sw := filepath.Join(st.dir, "sweep")
	mustRun(t, "sweep", "--features", model, "--brain", st.brain, "--out", sw)

	// scores edited at both checkpoints: at step100 layer 2 wins everywhere; at step2000
	// target 0 ties in all layers, target 1 ties in layers 1 and 2, target 2 has no score,
	// target 3 none in layer 0 and the best in layer 2, target 4 -Inf in layer 0
	sp := filepath.Join(sw, "scores.npy")
	s := readNPY(t, sp)
	scores := slices.Clone(s.F64)
	s.Close()
	m := plantedTargets
	at := func(c, l, j int) *float64 { return &scores[(c*3+l)*m+j] }
	for j := range m {
		for l := range 3 {
			*at(0, l, j) = float64(l) / 10
		}
	}
	for l := range 3 {
		*at(1, l, 0) = 0.5
		*at(1, l, 2) = math.NaN()
	}
	*at(1, 0, 1), *at(1, 1, 1), *at(1, 2, 1) = 0.2, 0.6, 0.6
	*at(1, 0, 3), *at(1, 1, 3), *at(1, 2, 3) = math.NaN(), 0.1, 0.3
	*at(1, 0, 4), *at(1, 1, 4), *at(1, 2, 4) = math.Inf(-1), -0.2, -0.1
	must(t, array.WriteNPY(sp, s.Shape, scores))
	want := slices.Clone(st.planted)
	want[0], want[1], want[2], want[3], want[4] = 0, 1, -1, 2, 2

	out := filepath.Join(st.dir, "last")
	stdout := mustRun(t, "predict", "--best-layer", sw, "--features", model, "--new-features", st.fresh, "--brain", st.brain, "--precision", "float64", "--out", out)
	if !strings.Contains(stdout, "predicted 23 targets") || !strings.Contains(stdout, "at checkpoint step2000") || !strings.Contains(stdout, "1 targets without a score in the sweep are left out") {
		t.Errorf("stdout: %q", stdout)
	}
	if got := bestLayerOut(t, out, plantedShape); !slices.Equal(got, want) {
		t.Errorf("best_layer.npy %v, want %v", got, want)
	}
	pred, _, _ := floats(t, filepath.Join(out, "predictions.npy"))
	alphas, _, _ := floats(t, filepath.Join(out, "alphas.npy"))
	for j := range m {
		if math.IsNaN(pred[j]) != (j == 2) || math.IsNaN(alphas[j]) != (j == 2) {
			t.Errorf("target %d: prediction %v, penalty %v (NaN only for target 2, which has no score)", j, pred[j], alphas[j])
		}
	}
	for _, ck := range []string{"step100", "100", "0", "-2"} {
		out := filepath.Join(st.dir, "ck-"+ck)
		mustRun(t, "predict", "--best-layer", sw, "--checkpoint", ck, "--features", model, "--new-features", st.fresh, "--brain", st.brain, "--out", out)
		if got := bestLayerOut(t, out, plantedShape); slices.ContainsFunc(got, func(l int) bool { return l != 2 }) {
			t.Errorf("--checkpoint %s: best_layer.npy %v, want layer 2 everywhere (step100's scores)", ck, got)
		}
		if got := get(t, readJSON(t, filepath.Join(out, "predict.json")), "best_layer", "step"); got != float64(100) {
			t.Errorf("--checkpoint %s: predict.json best_layer.step %v", ck, got)
		}
	}
}

// TestPredictBestLayerMaskedSweep: a sweep over a --brain-mask holds the masked targets only;
// predict maps them back to the brain data's targets: with the sweep's mask (outputs over the
// volume, NaN and -1 outside it, as the recipe's masked predicts), without a mask (the same
// outputs, from the sweep's meta/space_targets.npy), and with a smaller mask of its own (the
// targets outside the sweep's left out). Brain data without a space keep no such record: there
// predict needs the sweep's mask.
func TestPredictBestLayerMaskedSweep(t *testing.T) {
	keepFlagDefaults(t)
	st := newPlantedStudy(t)
	tmpl, err := array.ReadGeometry(neuroFile("float32_be.nii"))
	must(t, err)
	g := *tmpl
	g.Spatial = []int{2, 3, 4} // the 24 targets as a volume
	vol := []int{2, 3, 4}
	brain := filepath.Join(st.dir, "brain.nii.gz")
	must(t, array.WriteFrames(brain, &g, plantedRows, st.brainValues))
	keep := make([]float64, plantedTargets)  // the sweep's mask: 17 of the 24
	small := make([]float64, plantedTargets) // predict's own: 8, 3 of them outside the sweep's
	for j := range keep {
		if j%3 != 2 || j == 5 {
			keep[j] = 1
		}
		if j%4 == 0 || j == 2 || j == 5 {
			small[j] = 1
		}
	}
	mp, smallp := filepath.Join(st.dir, "mask.npy"), filepath.Join(st.dir, "small.npy")
	must(t, array.WriteNPY(mp, vol, keep))
	must(t, array.WriteNPY(smallp, vol, small))
	sw := st.sweep(t, "sweep", brain, "--brain-mask", mp)
	if s := readNPY(t, filepath.Join(sw, "scores.npy")); !slices.Equal(s.Shape, []int{1, 3, 17}) {
		t.Fatalf("masked sweep: scores.npy %v", s.Shape)
	}

	run := func(name string, args ...string) ([]float64, []int, map[string]any) {
		t.Helper()
		out := filepath.Join(st.dir, name)
		mustRun(t, append([]string{"predict", "--best-layer", sw, "--features", st.train, "--new-features", st.fresh, "--brain", brain,
			"--precision", "float64", "--out", out}, args...)...)
		p, shape, _ := floats(t, filepath.Join(out, "predictions.npy"))
		if !slices.Equal(shape, []int{plantedNew, 2, 3, 4}) {
			t.Fatalf("%s: predictions.npy %v", name, shape)
		}
		v := readVolume(t, filepath.Join(out, "predictions.nii.gz"))
		if !slices.Equal(v.Shape, []int{plantedNew, 2, 3, 4}) {
			t.Fatalf("%s: predictions.nii.gz %v", name, v.Shape)
		}
		for i, x := range p {
			if w := float64(v.F32[i]); w != float64(float32(x)) && !(math.IsNaN(w) && math.IsNaN(x)) {
				t.Fatalf("%s: predictions.nii.gz value %d: %v, predictions.npy %v", name, i, w, x)
			}
		}
		if bv := readVolume(t, filepath.Join(out, "best_layer.nii.gz")); !slices.Equal(bv.Shape, vol) {
			t.Errorf("%s: best_layer.nii.gz %v", name, bv.Shape)
		}
		return p, bestLayerOut(t, out, vol), readJSON(t, filepath.Join(out, "predict.json"))
	}
	want, wantBest, _ := st.oldRecipe(t, sw, "recipe", vol, "--brain", brain, "--precision", "float64")
	for j := range wantBest {
		if keep[j] == 0 && wantBest[j] != -1 || keep[j] != 0 && wantBest[j] != st.planted[j] {
			t.Fatalf("the recipe's best layers %v, planted %v in mask %v", wantBest, st.planted, keep)
		}
	}

	sameMask, best, rec := run("same", "--brain-mask", mp)
	if !slices.Equal(best, wantBest) {
		t.Errorf("with the sweep's mask: best_layer.npy %v, want %v", best, wantBest)
	}
	sameBits(t, "with the sweep's mask, against the recipe", sameMask, want)
	if got := get(t, rec, "best_layer", "checked_against_sweep"); got != "data digest" {
		t.Errorf("with the sweep's mask: checked_against_sweep %v", got)
	}

	noMask, best, rec := run("none")
	if !slices.Equal(best, wantBest) {
		t.Errorf("without a mask: best_layer.npy %v, want %v", best, wantBest)
	}
	sameBits(t, "without a mask, against the sweep's mask", noMask, sameMask)
	if get(t, rec, "best_layer", "checked_against_sweep") != "rows" || get(t, rec, "brain_mask") != nil || num(t, rec, "best_layer", "targets_left_out") != 7 {
		t.Errorf("without a mask: predict.json %v, brain_mask %v", rec["best_layer"], rec["brain_mask"])
	}

	smaller, best, _ := run("small", "--brain-mask", smallp)
	for j := range best {
		in := small[j] != 0 && keep[j] != 0
		if in && best[j] != wantBest[j] || !in && best[j] != -1 {
			t.Fatalf("with a smaller mask: best_layer.npy %v; want the sweep's where both masks are, -1 elsewhere", best)
		}
		for i := range plantedNew {
			k := i*plantedTargets + j
			if got := smaller[k]; in && math.Abs(got-sameMask[k]) > 1e-9*math.Max(1, math.Abs(sameMask[k])) || !in && !math.IsNaN(got) {
				t.Fatalf("with a smaller mask: new image %d, target %d: %v, with the sweep's mask %v", i, j, got, sameMask[k])
			}
		}
	}

	// brain data without a space (the NIfTI file's values as .npy): the sweep keeps no record of
	// its mask's targets
	nii := readVolume(t, brain)
	brainNPY := filepath.Join(st.dir, "brain.npy")
	must(t, array.WriteNPY(brainNPY, nii.Shape, nii.F32))
	swNPY := st.sweep(t, "sweep-npy", brainNPY, "--brain-mask", mp)
	wantError(t, 1, "give predict the --brain-mask the sweep had", "predict", "--best-layer", swNPY, "--features", st.train,
		"--new-features", st.fresh, "--brain", brainNPY, "--out", filepath.Join(st.dir, "npy-none"))
	out := filepath.Join(st.dir, "npy-same")
	mustRun(t, "predict", "--best-layer", swNPY, "--features", st.train, "--new-features", st.fresh, "--brain", brainNPY, "--brain-mask", mp,
		"--precision", "float64", "--out", out)
	p, _, _ := floats(t, filepath.Join(out, "predictions.npy"))
	sameBits(t, ".npy brain data with the sweep's mask", p, sameMask)
	if got := bestLayerOut(t, out, vol); !slices.Equal(got, wantBest) {
		t.Errorf(".npy brain data: best_layer.npy %v, want %v", got, wantBest)
	}
	// another mask of as many targets is taken for the sweep's, and the data digest refuses it
	other := slices.Clone(keep)
	other[0], other[2] = 0, 1
	op := filepath.Join(st.dir, "other.npy")
	must(t, array.WriteNPY(op, vol, other))
	wantError(t, 1, "scored other brain data than", "predict", "--best-layer", swNPY, "--features", st.train,
		"--new-features", st.fresh, "--brain", brainNPY, "--brain-mask", op, "--out", filepath.Join(st.dir, "npy-other"))
}

// TestPredictBestLayerErrors: a sweep that does not match the brain data or is not finished,
// a layer missing from a bundle, an unknown checkpoint and flags that do not go with
// --best-layer are refused before any fit, in one line, leaving no output.
func TestPredictBestLayerErrors(t *testing.T) {
	keepFlagDefaults(t)
	st := newPlantedStudy(t)
	sw := st.sweep(t, "sweep", st.brain)
	out := filepath.Join(st.dir, "out")
	base := func(sweepDir, brain string, extra ...string) []string {
		return append([]string{"predict", "--best-layer", sweepDir, "--features", st.train, "--new-features", st.fresh, "--brain", brain, "--out", out}, extra...)
	}

	part := st.sweep(t, "part", st.brain, "--shard", "0/2")
	wantError(t, 1, "the sweep is not finished: 1 of its 3 units are not scored (train/blocks.1); run it to the end", base(part, st.brain)...)
	wantError(t, 1, "no sweep.json: not a sweep output folder", base(st.fresh, st.brain)...)

	// other brain data: another number of targets, other rows, other values
	wide := filepath.Join(st.dir, "wide.npy")
	must(t, array.WriteNPY(wide, []int{plantedRows, 25}, make([]float64, plantedRows*25)))
	wantError(t, 1, "scored brain data of shape 90 x 4 x 6 ("+st.brain+"), and "+wide+" is shaped 90 x 25", base(sw, wide)...)
	flat := filepath.Join(st.dir, "flat.npy")
	must(t, array.WriteNPY(flat, []int{plantedRows, plantedTargets}, st.brainValues))
	wantError(t, 1, "is shaped 90 x 24", base(sw, flat)...)
	changed := filepath.Join(st.dir, "changed.npy")
	y := slices.Clone(st.brainValues)
	y[5*plantedTargets+7] += 1
	must(t, array.WriteNPY(changed, append([]int{plantedRows}, plantedShape...), y))
	wantError(t, 1, "scored other brain data than "+changed, base(sw, changed)...)
	ids := make([]string, plantedRows)
	for i := range ids {
		ids[i] = fmt.Sprint("img", i)
	}
	idf := writeLines(t, filepath.Join(st.dir, "ids.txt"), ids)
	fewer := writeLines(t, filepath.Join(st.dir, "fewer.txt"), append(slices.Clone(ids[:80]), "a", "b", "c", "d", "e", "f", "g", "h", "i", "j"))
	if _, stderr, code := runCLI(t, base(sw, st.brain, "--features-ids", idf, "--brain-ids", fewer)...); code != 1 ||
		!strings.Contains(stderr, "10 stimulus ids only in the brain data were left out") || !strings.Contains(stderr, "scored 90 rows of brain data, and predict fits 80") {
		t.Errorf("brain data of 80 of the sweep's 90 stimuli: exit %d, %s", code, stderr)
	}
	shuffled := slices.Clone(ids)
	shuffled[0], shuffled[1] = shuffled[1], shuffled[0]
	wantError(t, 1, "scored other brain data than", base(sw, st.brain, "--features-ids", idf, "--brain-ids", writeLines(t, filepath.Join(st.dir, "swapped.txt"), shuffled))...)
	// rows paired as stored are the sweep's data whether or not either matched them by ids
	mustRun(t, "predict", "--best-layer", sw, "--features", st.train, "--new-features", st.fresh, "--brain", st.brain,
		"--features-ids", idf, "--brain-ids", idf, "--out", filepath.Join(st.dir, "ids-here"))
	swIDs := st.sweep(t, "sweep-ids", st.brain, "--features-ids", idf, "--brain-ids", idf)
	mustRun(t, "predict", "--best-layer", swIDs, "--features", st.train, "--new-features", st.fresh, "--brain", st.brain, "--out", filepath.Join(st.dir, "ids-there"))

	// a layer missing from the new stimuli's folder, or of other features
	lacking := filepath.Join(st.dir, "lacking")
	must(t, os.MkdirAll(lacking, 0o755))
	for _, l := range []string{"blocks.0", "blocks.2"} {
		b, err := os.ReadFile(filepath.Join(st.fresh, l+".npy"))
		must(t, err)
		must(t, os.WriteFile(filepath.Join(lacking, l+".npy"), b, 0o644))
	}
	wantError(t, 1, "--new-features "+lacking+" has no layer blocks.1 (best for 8 targets), chosen by the sweep", "predict", "--best-layer", sw,
		"--features", st.train, "--new-features", lacking, "--brain", st.brain, "--out", out)
	must(t, array.WriteNPY(filepath.Join(lacking, "blocks.1.npy"), []int{plantedNew, 4}, make([]float32, plantedNew*4)))
	wantError(t, 1, "layer blocks.1: "+filepath.Join(lacking, "blocks.1.npy")+" has 4 features but "+st.train+":blocks.1 has 9", "predict", "--best-layer", sw,
		"--features", st.train, "--new-features", lacking, "--brain", st.brain, "--out", out)

	wantError(t, 1, "--checkpoint final: the sweep "+sw+" has no checkpoint of that name, step or index (it has train)", base(sw, st.brain, "--checkpoint", "final")...)
	wantError(t, 2, "--save-weights does not go with --best-layer", base(sw, st.brain, "--save-weights")...)
	wantError(t, 2, "--layer names one layer", base(sw, st.brain, "--layer", "blocks.0")...)
	wantError(t, 2, "--best-layer predicts the responses to new stimuli", "predict", "--best-layer", sw, "--features", st.train, "--brain", st.brain, "--out", out)
	wantError(t, 2, "--checkpoint chooses the sweep checkpoint", "predict", "--features", filepath.Join(st.fresh, "blocks.0.npy"),
		"--new-features", filepath.Join(st.fresh, "blocks.0.npy"), "--brain", st.brain, "--checkpoint", "0", "--out", out)
	wantError(t, 1, "out of memory: the joined predictions (25 new images x 24 targets)", base(sw, st.brain, "--memory", "2KB", "--device", "cpu")...)
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("failed runs left %s behind: %v", out, err)
	}
}

// TestPredictBestLayerAllMask: a --brain-mask that selects every target leaves the data the
// sweep scored, so that a sweep with it and a predict without it (or the other way round) are of
// the same data, though one holds the targets as a copy and the other as read: brain data in
// Fortran order (a MATLAB array, a column-major .npy) are read column-major, and the masked copy
// is row-major. Each pairing predicts what the sweep's own pairing does, bit for bit.
func TestPredictBestLayerAllMask(t *testing.T) {
	keepFlagDefaults(t)
	st := newPlantedStudy(t)
	// the brain data as a 90 x 24 column-major .npy (numpy's np.asfortranarray), and a mask of
	// all 24 targets
	n, m := plantedRows, plantedTargets
	colMajor := make([]float64, n*m)
	for i := range n {
		for j := range m {
			colMajor[j*n+i] = st.brainValues[i*m+j]
		}
	}
	brain := filepath.Join(st.dir, "fortran.npy")
	must(t, array.WriteNPY(brain, []int{n, m}, colMajor))
	b, err := os.ReadFile(brain)
	must(t, err)
	header := strings.Replace(string(b[:128]), "'fortran_order': False,", "'fortran_order': True, ", 1)
	must(t, os.WriteFile(brain, append([]byte(header), b[128:]...), 0o644))
	if a := readNPY(t, brain); !a.Fortran || a.F64[1] != st.brainValues[m] {
		t.Fatalf("the fixture is not the brain data in Fortran order: %v", a.Fortran)
	}
	all := filepath.Join(st.dir, "all.npy")
	ones := make([]float64, m)
	for j := range ones {
		ones[j] = 1
	}
	must(t, array.WriteNPY(all, []int{m}, ones))

	predict := func(sw, name string, extra ...string) []float64 {
		t.Helper()
		out := filepath.Join(st.dir, name)
		mustRun(t, append([]string{"predict", "--best-layer", sw, "--features", st.train, "--new-features", st.fresh, "--brain", brain,
			"--precision", "float64", "--out", out}, extra...)...)
		if got := get(t, readJSON(t, filepath.Join(out, "predict.json")), "best_layer", "checked_against_sweep"); got != "data digest" {
			t.Errorf("%s: checked_against_sweep %v", name, got)
		}
		p, _, _ := floats(t, filepath.Join(out, "predictions.npy"))
		return p
	}
	masked := st.sweep(t, "sweep-all", brain, "--brain-mask", all)
	whole := st.sweep(t, "sweep-whole", brain)
	want := predict(masked, "masked-masked", "--brain-mask", all)
	sameBits(t, "a sweep with the mask of all, predict without", predict(masked, "masked-whole"), want)
	sameBits(t, "a sweep without the mask of all, predict with it", predict(whole, "whole-masked", "--brain-mask", all), want)
	sameBits(t, "a sweep and predict without a mask", predict(whole, "whole-whole"), want)
}

// TestPredictBestLayerLoneCheckpoint: activations of one checkpoint (a checkpoint's folder, or a
// folder holding one) are taken for the checkpoint whose scores chose the layers, as a bundle
// named otherwise is; but those of another of the sweep's checkpoints are refused, as they are
// among several: a model of one checkpoint's features would predict from another's.
func TestPredictBestLayerLoneCheckpoint(t *testing.T) {
	keepFlagDefaults(t)
	st := newPlantedStudy(t)
	// a model of two checkpoints, folders of layer .npy files, the same activations in each
	model := filepath.Join(st.dir, "model")
	train, err := array.Open(st.train)
	must(t, err)
	defer train.Close()
	for _, ck := range []string{"step100", "step2000"} {
		must(t, os.MkdirAll(filepath.Join(model, ck), 0o755))
		for _, layer := range st.layers {
			a, err := train.Read(layer)
			must(t, err)
			must(t, array.WriteNPY(filepath.Join(model, ck, layer+".npy"), a.Shape, a.F32))
		}
	}
	sw := filepath.Join(st.dir, "sweep")
	mustRun(t, "sweep", "--features", model, "--brain", st.brain, "--out", sw)
	// the new stimuli's activations of step100 only, in a folder of checkpoints
	fresh := filepath.Join(st.dir, "fresh", "step100")
	must(t, os.MkdirAll(fresh, 0o755))
	for _, layer := range st.layers {
		b, err := os.ReadFile(filepath.Join(st.fresh, layer+".npy"))
		must(t, err)
		must(t, os.WriteFile(filepath.Join(fresh, layer+".npy"), b, 0o644))
	}

	out := filepath.Join(st.dir, "out")
	for _, newFeatures := range []string{filepath.Dir(fresh), fresh} {
		wantError(t, 1, "--new-features "+newFeatures+" holds the activations of the sweep's checkpoint step100, not of step2000, whose scores chose the layers",
			"predict", "--best-layer", sw, "--features", model, "--new-features", newFeatures, "--brain", st.brain, "--out", out)
	}
	wantError(t, 1, "--features "+filepath.Join(model, "step100")+" holds the activations of the sweep's checkpoint step100, not of step2000",
		"predict", "--best-layer", sw, "--features", filepath.Join(model, "step100"), "--new-features", st.freshNPZ, "--brain", st.brain, "--out", out)
	// the checkpoint they are of, or a bundle not named after one
	mustRun(t, "predict", "--best-layer", sw, "--checkpoint", "step100", "--features", model, "--new-features", filepath.Dir(fresh), "--brain", st.brain, "--out", out)
	mustRun(t, "predict", "--best-layer", sw, "--features", filepath.Join(model, "step2000"), "--new-features", st.freshNPZ, "--brain", st.brain,
		"--out", filepath.Join(st.dir, "out-bundle"))
}

// TestPredictBestLayerCheckpointNumber: --checkpoint N is a checkpoint's name, else its training
// step or its index; where N is one checkpoint's step and another's index (epochs counted from 1)
// it is refused, naming both, rather than taken as the step: sweep's other commands (rank,
// scaling, compare) take N as the index.
func TestPredictBestLayerCheckpointNumber(t *testing.T) {
	keepFlagDefaults(t)
	st := newPlantedStudy(t)
	model := filepath.Join(st.dir, "model")
	b, err := os.ReadFile(st.train)
	must(t, err)
	for _, ck := range []string{"epoch1", "epoch2"} {
		must(t, os.MkdirAll(filepath.Join(model, ck), 0o755))
		must(t, os.WriteFile(filepath.Join(model, ck, "acts.npz"), b, 0o644))
	}
	sw := filepath.Join(st.dir, "sweep")
	mustRun(t, "sweep", "--features", model, "--brain", st.brain, "--out", sw)
	args := func(ck, out string) []string {
		return []string{"predict", "--best-layer", sw, "--checkpoint", ck, "--features", model, "--new-features", st.fresh, "--brain", st.brain,
			"--out", filepath.Join(st.dir, out)}
	}
	wantError(t, 1, "--checkpoint 1: the sweep "+sw+" has checkpoint epoch1 at step 1 and epoch2 at index 1: give the checkpoint's name", args("1", "one")...)
	for ck, want := range map[string]string{"2": "epoch2", "0": "epoch1", "epoch1": "epoch1", "-1": "epoch2"} {
		mustRun(t, args(ck, "ck"+ck)...)
		if got := get(t, readJSON(t, filepath.Join(st.dir, "ck"+ck, "predict.json")), "best_layer", "checkpoint"); got != want {
			t.Errorf("--checkpoint %s: checkpoint %v, want %s", ck, got, want)
		}
	}
}
