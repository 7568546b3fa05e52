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

// intData is a fixture of testdata/intdata (testdata/gen_intdata.py): brain_int16.npy is int16
// brain data in Fortran order (as nibabel's dataobj gives NSD's betas), brain_as_float32.npy
// numpy's astype(np.float32) of it, features.npy their activations.
func intData(name string) string { return filepath.Join("..", "..", "testdata", "intdata", name) }

// Brain data stored as int16 .npy are scored as numpy's float32 conversion of them: encode, and
// encode with a --brain-mask (an int16 mask), give the same files.
func TestEncodeInt16Brain(t *testing.T) {
	dir := t.TempDir()
	mask := filepath.Join(dir, "mask.npy")
	must(t, array.WriteNPY(mask, []int{7}, []int16{1, 0, 3, 1, 0, -1, 1}))
	for run, extra := range [][]string{nil, {"--brain-mask", mask}} {
		outs := map[string]string{}
		for _, brain := range []string{"brain_int16.npy", "brain_as_float32.npy"} {
			out := filepath.Join(dir, fmt.Sprint(brain, run))
			outs[brain] = out
			args := append([]string{"encode", "--features", intData("features.npy"), "--brain", intData(brain), "--out", out}, extra...)
			mustRun(t, args...)
		}
		sameFiles(t, outs["brain_int16.npy"], outs["brain_as_float32.npy"], "scores.npy", "fold_scores.npy", "alphas.npy")
		if sc := readNPY(t, filepath.Join(outs["brain_int16.npy"], "scores.npy")); len(sc.F64) != 7 || extra == nil && (sc.F64[0] < 0.5 || sc.F64[6] < 0.5) {
			t.Errorf("scores %v: want the planted signal found (r above 0.5)", sc.F64)
		}
	}
}

// A sweep of int8 activations and int16 brain data scores what one of their float32 conversions
// does; its dry run accepts them (integers are numbers), and refuses bools.
func TestSweepIntegerInputs(t *testing.T) {
	dir := t.TempDir()
	x := readNPY(t, intData("features.npy"))
	ints, floats := filepath.Join(dir, "ints"), filepath.Join(dir, "floats")
	for _, d := range []string{ints, floats} {
		must(t, os.MkdirAll(d, 0o777))
	}
	for l, scale := range []float32{20, 40} { // layers of int8 activations: x quantised
		q := make([]int8, len(x.F32))
		f := make([]float32, len(x.F32))
		for i, v := range x.F32 {
			q[i] = int8(max(-127, min(127, v*scale)))
			f[i] = float32(q[i])
		}
		name := []string{"layer1.npy", "layer2.npy"}[l]
		must(t, array.WriteNPY(filepath.Join(ints, name), x.Shape, q))
		must(t, array.WriteNPY(filepath.Join(floats, name), x.Shape, f))
	}
	mustRun(t, "sweep", "--features", ints, "--brain", intData("brain_int16.npy"), "--out", filepath.Join(dir, "dry"), "--dry-run")
	mustRun(t, "sweep", "--features", ints, "--brain", intData("brain_int16.npy"), "--out", filepath.Join(dir, "si"))
	mustRun(t, "sweep", "--features", floats, "--brain", intData("brain_as_float32.npy"), "--out", filepath.Join(dir, "sf"))
	sameFiles(t, filepath.Join(dir, "si"), filepath.Join(dir, "sf"), "scores.npy", "fold_scores.npy")

	must(t, array.WriteNPY(filepath.Join(ints, "layer3.npy"), x.Shape, make([]bool, len(x.F32))))
	stdout, stderr, code := runCLI(t, "sweep", "--features", ints, "--brain", intData("brain_int16.npy"), "--out", filepath.Join(dir, "dry2"), "--dry-run")
	if code == 0 || !strings.Contains(stdout, "layer3.npy: dtype bool: activations must be numbers (float16, bfloat16, float32, float64, or integers)") {
		t.Errorf("bool activations: exit %d, %s%s", code, stdout, stderr)
	}
}

// Labels (groups, test folds) of every integer dtype read as the integers stored.
func TestLabelsOfEveryIntegerDType(t *testing.T) {
	path := filepath.Join(t.TempDir(), "G.npy")
	want := []int{0, 1, 2, 1, 0, 2}
	for _, data := range []any{
		[]int8{0, 1, 2, 1, 0, 2}, []uint8{0, 1, 2, 1, 0, 2}, []int16{0, 1, 2, 1, 0, 2}, []uint16{0, 1, 2, 1, 0, 2},
		[]int32{0, 1, 2, 1, 0, 2}, []uint32{0, 1, 2, 1, 0, 2}, []int64{0, 1, 2, 1, 0, 2}, []uint64{0, 1, 2, 1, 0, 2},
	} {
		must(t, array.WriteNPY(path, []int{6}, data))
		for _, what := range []string{"group", "test fold"} {
			if got, err := readLabels(path, 6, what); err != nil || !slices.Equal(got, want) {
				t.Errorf("%T %s labels: %v, %v", data, what, got, err)
			}
		}
	}
}

// inspect --values summarises int16 data as it does their float32 conversion.
func TestInspectInt16Values(t *testing.T) {
	summary := func(name string) string {
		out := mustRun(t, "inspect", "--values", intData(name))
		i := strings.Index(out, "min ")
		if i < 0 {
			t.Fatalf("inspect --values %s: no summary:\n%s", name, out)
		}
		return strings.TrimSpace(out[i:])
	}
	if a, b := summary("brain_int16.npy"), summary("brain_as_float32.npy"); a != b {
		t.Errorf("int16 data: %q; their float32 conversion: %q", a, b)
	}
}

// ceiling of int16 trials equals ceiling of their float32 conversion.
func TestCeilingInt16Trials(t *testing.T) {
	dir := t.TempDir()
	const stimuli, repeats, targets = 20, 2, 6
	rng := rand.New(rand.NewPCG(3, 4))
	signal := make([]float64, stimuli*targets)
	for i := range signal {
		signal[i] = 300 * rng.NormFloat64()
	}
	ints := make([]int16, stimuli*repeats*targets)
	floats := make([]float32, len(ints))
	var ids strings.Builder
	for r := range stimuli * repeats {
		fmt.Fprintf(&ids, "s%d\n", r%stimuli)
		for j := range targets {
			k := r*targets + j
			ints[k] = int16(math.Round(signal[(r%stimuli)*targets+j] + 200*rng.NormFloat64()))
			floats[k] = float32(ints[k])
		}
	}
	idPath := filepath.Join(dir, "ids.txt")
	must(t, os.WriteFile(idPath, []byte(ids.String()), 0o644))
	shape := []int{stimuli * repeats, targets}
	must(t, array.WriteNPY(filepath.Join(dir, "ints.npy"), shape, ints))
	must(t, array.WriteNPY(filepath.Join(dir, "floats.npy"), shape, floats))
	for _, name := range []string{"ints", "floats"} {
		mustRun(t, "ceiling", "--brain", filepath.Join(dir, name+".npy"), "--ids", idPath, "--out", filepath.Join(dir, "ceil-"+name))
	}
	sameFiles(t, filepath.Join(dir, "ceil-ints"), filepath.Join(dir, "ceil-floats"), "ceiling.npy", "ncsnr.npy", "averaged.npy")
}
