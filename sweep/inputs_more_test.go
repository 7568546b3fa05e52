package sweep_test

import (
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/brainalign/brainalign/array"
	"github.com/brainalign/brainalign/internal/intrange"
	"github.com/brainalign/brainalign/sweep"
)

// Files written by spreadsheets and Windows editors start with a UTF-8 byte-order mark: layer
// lists, steps files, ROI names and manifests read the same with or without one.
func TestByteOrderMarks(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("\ufeff"+text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	if l, err := sweep.ParseLayers(write("layers.txt", "patch_embed\nblocks.0\n")); err != nil || strings.Join(l, ",") != "patch_embed,blocks.0" {
		t.Errorf("layers: %q %v", l, err)
	}
	if s, err := sweep.ParseSteps(write("steps.txt", "10\n20\n")); err != nil || len(s) != 2 || s[0] != 10 {
		t.Errorf("steps: %v %v", s, err)
	}
	roi := filepath.Join(dir, "roi.npy")
	if err := array.WriteNPY(roi, []int{3}, []int64{0, 1, 1}); err != nil {
		t.Fatal(err)
	}
	m, err := sweep.ReadMeta("", roi, write("names.txt", "V1\nV2\n"), "")
	if err != nil || m.ROIName(0) != "V1" {
		t.Errorf("ROI names: %q %v", m.ROIName(0), err)
	}
	var man strings.Builder
	man.WriteString("checkpoint,step,layer,path\n")
	for _, l := range []string{"a", "b"} {
		f := filepath.Join(dir, l+".npy")
		if err := array.WriteNPY(f, []int{tn, td}, make([]float32, tn*td)); err != nil {
			t.Fatal(err)
		}
		man.WriteString("c,1," + l + "," + f + "\n")
	}
	os.MkdirAll(filepath.Join(dir, "m"), 0o755)
	if err := os.WriteFile(filepath.Join(dir, "m", "manifest.csv"), []byte("\ufeff"+man.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if p, err := sweep.Discover(filepath.Join(dir, "m"), ""); err != nil || strings.Join(p.Layers, ",") != "a,b" || p.Model != "m" {
		t.Errorf("manifest: %v", err)
	}
	// the manifest itself, as docs/study.md's table shows it: the same plan, the model its folder
	if p, err := sweep.Discover(filepath.Join(dir, "m", "manifest.csv"), ""); err != nil || strings.Join(p.Layers, ",") != "a,b" || p.Model != "m" {
		t.Errorf("manifest.csv given itself: %+v, %v", p, err)
	}
}

// Two labels with one name would make two table columns of that name and an ambiguous --v1-roi.
func TestDuplicateROINamesRefused(t *testing.T) {
	dir := t.TempDir()
	roi := filepath.Join(dir, "roi.npy")
	array.WriteNPY(roi, []int{3}, []int64{0, 1, 2})
	names := filepath.Join(dir, "names.txt")
	os.WriteFile(names, []byte("V1\nV2\nV1\n"), 0o644)
	check := func() error { // checked against the targets (after a mask's Restrict)
		m, err := sweep.ReadMeta("", roi, names, "")
		if err != nil {
			return err
		}
		return m.Check("brain.npy", []int{3})
	}
	if err := check(); err == nil || !strings.Contains(err.Error(), `labels 0 and 2 are both named "V1"`) {
		t.Errorf("duplicate ROI names: %v", err)
	}
	// an atlas table repeating a name for labels no target carries is fine
	os.WriteFile(names, []byte("V1\nV2\nV3\nUnknown\nUnknown\n"), 0o644)
	if err := check(); err != nil {
		t.Errorf("a repeated name of labels no target carries: %v", err)
	}
	// labels of targets a mask leaves out need no name: the atlas's background outside the brain
	array.WriteNPY(roi, []int{5}, []int64{0, 1, 2, 7, 7})
	os.WriteFile(names, []byte("1 V1\n2 V2\n"), 0o644)
	m, err := sweep.ReadMeta("", roi, names, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Check("brain.npy", []int{5}); err == nil || !strings.Contains(err.Error(), "2 ROI label(s) carried by targets have no name: 0 (1 targets), 7 (2 targets)") {
		t.Errorf("labels 0 and 7 without names: %v", err)
	}
	m.Restrict([]int{1, 2}, 5)
	if err := m.Check("brain.npy (masked)", []int{2}); err != nil {
		t.Errorf("the masked targets' labels are named: %v", err)
	}
}

// A lone bundle or folder of layers is named after the model: digits of an architecture's name
// are no training step; a step keyword is.
func TestLoneCheckpointStep(t *testing.T) {
	dir := t.TempDir()
	for name, want := range map[string]float64{"vit_b16": -1, "resnet50": -1, "vit_step5000": 5000} {
		f := filepath.Join(dir, name+".npz")
		arrs := []*array.Array{
			{Name: "layer1", Shape: []int{tn, td}, DType: "float32", F32: make([]float32, tn*td)},
			{Name: "layer2", Shape: []int{tn, td}, DType: "float32", F32: make([]float32, tn*td)},
		}
		if err := array.WriteNPZ(f, arrs); err != nil {
			t.Fatal(err)
		}
		p, err := sweep.Discover(f, "")
		if err != nil {
			t.Fatal(err)
		}
		c := p.Checkpoints[0]
		if (want < 0 && c.HasStep) || (want >= 0 && (!c.HasStep || c.Step != want)) {
			t.Errorf("%s: step %v (has %v), want %v", name, c.Step, c.HasStep, want)
		}
	}
}

// A sweep's own output folder inside the activations folder is not a checkpoint, so the sweep
// can be run again (resumed).
func TestOutputInsideFeatures(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(dir, "model")
	writeModel(t, model, []int{10, 100}, 2)
	os.MkdirAll(filepath.Join(model, "results", "units", "x"), 0o755)
	os.WriteFile(filepath.Join(model, "results", "scores.npy"), []byte("x"), 0o644)
	p, err := sweep.Discover(model, "")
	if err != nil || len(p.Checkpoints) != 2 {
		t.Errorf("activations folder holding a sweep's output: %v %+v", err, p)
	}
}

// An empty folder among a model's layer files (a sweep's --out left by a run that stopped before
// writing anything) is not a checkpoint; a lone checkpoint folder named after the architecture
// has no step.
func TestEmptyFolderAndLoneCheckpointFolder(t *testing.T) {
	dir := t.TempDir()
	flat := filepath.Join(dir, "flat")
	os.MkdirAll(filepath.Join(flat, "out"), 0o755)
	for _, l := range []string{"layer1", "layer2"} {
		array.WriteNPY(filepath.Join(flat, l+".npy"), []int{tn, td}, make([]float32, tn*td))
	}
	if p, err := sweep.Discover(flat, ""); err != nil || len(p.Layers) != 2 {
		t.Errorf("layer files beside an empty folder: %v", err)
	}
	lone := filepath.Join(dir, "model", "resnet50")
	os.MkdirAll(lone, 0o755)
	for _, l := range []string{"layer1", "layer2"} {
		array.WriteNPY(filepath.Join(lone, l+".npy"), []int{tn, td}, make([]float32, tn*td))
	}
	p, err := sweep.Discover(filepath.Join(dir, "model"), "")
	if err != nil || p.Checkpoints[0].HasStep {
		t.Errorf("lone checkpoint folder resnet50: %v, step %v (has %v)", err, p.Checkpoints[0].Step, p.Checkpoints[0].HasStep)
	}
}

// DiscoverLayers finds layers as Discover does, for a command that reads some of them by name:
// one layer is enough (a bundle of one, a manifest of one, a folder of one .npy, or a lone .npy
// named after its file), where a sweep needs two.
func TestDiscoverLayersOfOne(t *testing.T) {
	dir := t.TempDir()
	one := filepath.Join(dir, "one.npz")
	if err := array.WriteNPZ(one, []*array.Array{{Name: "blocks.3", Shape: []int{2, 2}, DType: "float64", F64: make([]float64, 4)}}); err != nil {
		t.Fatal(err)
	}
	folder := filepath.Join(dir, "acts")
	if err := os.MkdirAll(folder, 0o755); err != nil {
		t.Fatal(err)
	}
	lone := filepath.Join(folder, "layer-7.npy")
	if err := array.WriteNPY(lone, []int{2, 2}, make([]float64, 4)); err != nil {
		t.Fatal(err)
	}
	manifest := filepath.Join(dir, "manifest.csv")
	if err := os.WriteFile(manifest, []byte("checkpoint,step,layer,path\nfinal,,fc,acts/layer-7.npy\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ path, layer, source string }{
		{one, "blocks.3", one + ":blocks.3"}, {folder, "layer-7", lone}, {lone, "layer-7", lone}, {manifest, "fc", lone},
	} {
		p, err := sweep.DiscoverLayers(c.path)
		if err != nil || len(p.Layers) != 1 || p.Layers[0] != c.layer || len(p.Checkpoints) != 1 || p.Checkpoints[0].Layers[0].String() != c.source {
			t.Errorf("DiscoverLayers(%s): %+v, %v; want the one layer %s from %s", c.path, p, err, c.layer, c.source)
		}
		if _, err := sweep.Discover(c.path, ""); err == nil || !strings.Contains(err.Error(), "too few layers") {
			t.Errorf("Discover(%s): %v, want too few layers for a sweep", c.path, err)
		}
	}
}

// ROI labels of uint64 above the int64 range (read as float64) are refused, not wrapped around
// to negative labels; those within it are read as they are.
func TestROILabelsBeyondInt64Refused(t *testing.T) {
	roi := filepath.Join(t.TempDir(), "roi.npy")
	if err := array.WriteNPY(roi, []int{3}, []uint64{1, 2, math.MaxUint64}); err != nil {
		t.Fatal(err)
	}
	if _, err := sweep.ReadMeta("", roi, "", ""); err == nil || !strings.Contains(err.Error(), "label 2 is 1.84467e+19, beyond the range of int on this ") {
		t.Errorf("uint64 labels above the int64 range: %v", err)
	}
	if err := array.WriteNPY(roi, []int{3}, []uint64{1, 2, math.MaxInt}); err != nil { // MaxInt64 on 64-bit systems
		t.Fatal(err)
	}
	m, err := sweep.ReadMeta("", roi, "", "")
	if err != nil || !slices.Equal(m.ROI, []int{1, 2, math.MaxInt}) {
		t.Errorf("uint64 labels within the int64 range: %v, %v", m.ROI, err)
	}
}

// On a 32-bit system (intrange.Bits 32, as on 386 and arm) ROI labels beyond int32, stored as
// integers or as whole floats, are refused, not wrapped around to other labels.
func TestROILabelsBeyondInt32Refused(t *testing.T) {
	defer func(b int) { intrange.Bits = b }(intrange.Bits)
	intrange.Bits = 32
	roi := filepath.Join(t.TempDir(), "roi.npy")
	for _, tc := range []struct {
		labels any
		want   string
	}{
		{[]int64{1, 2, math.MaxInt32 + 1}, "label 2 is 2147483648, beyond the range of int on this 32-bit system"},
		{[]uint64{1, 1 << 32, 2}, "label 1 is 4294967296, beyond the range of int on this 32-bit system"},
		{[]float64{1, math.MinInt32 - 1, 2}, "label 1 is -2.14748e+09, beyond the range of int on this 32-bit system"},
	} {
		if err := array.WriteNPY(roi, []int{3}, tc.labels); err != nil {
			t.Fatal(err)
		}
		if _, err := sweep.ReadMeta("", roi, "", ""); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v on a 32-bit system: %v, want %q", tc.labels, err, tc.want)
		}
	}
	if err := array.WriteNPY(roi, []int{3}, []int64{math.MinInt32, 2, math.MaxInt32}); err != nil {
		t.Fatal(err)
	}
	if m, err := sweep.ReadMeta("", roi, "", ""); err != nil || !slices.Equal(m.ROI, []int{math.MinInt32, 2, math.MaxInt32}) {
		t.Errorf("labels within int32 on a 32-bit system: %v, %v", m.ROI, err)
	}
}
