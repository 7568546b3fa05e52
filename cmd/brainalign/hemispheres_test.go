package main

import (
	"encoding/binary"
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

// hemispheres is the synthetic study's fMRI data (360 targets) split as a surface's two
// hemispheres: the first 200 targets in lh.brain.mgz, the other 160 in rh.brain.mgz (FreeSurfer
// surface files, vertices x 1 x 1, one frame per image).
type hemispheres struct {
	dir, study, brain string // brain: the whole .npy
	lh, rh            string
	coords, roi       string
	n                 int
	split             int
}

func writeHemispheres(t *testing.T) hemispheres {
	t.Helper()
	dir := t.TempDir()
	h := hemispheres{dir: dir, study: filepath.Join(dir, "study"), split: 200}
	mustRun(t, "synth", "--out", h.study, "--subjects", "1")
	h.brain = filepath.Join(h.study, "fmri", "sub-01", "brain.npy")
	h.coords, h.roi = filepath.Join(h.study, "fmri", "sub-01", "coords.npy"), filepath.Join(h.study, "fmri", "roi_labels.npy")
	b := readNPY(t, h.brain)
	h.n = b.Shape[0]
	m := b.Shape[1]
	tmpl, err := array.ReadGeometry(filepath.Join("..", "..", "testdata", "neuro", "surface_float.mgz"))
	must(t, err)
	write := func(name string, c0, c1 int) string {
		g := *tmpl
		g.Spatial = []int{c1 - c0, 1, 1}
		vals := make([]float64, 0, h.n*(c1-c0))
		for i := range h.n {
			for j := c0; j < c1; j++ {
				vals = append(vals, float64(b.F32[i*m+j]))
			}
		}
		p := filepath.Join(dir, name)
		must(t, array.WriteFrames(p, &g, h.n, vals))
		return p
	}
	h.lh, h.rh = write("lh.brain.mgz", 0, h.split), write("rh.brain.mgz", h.split, m)
	return h
}

// Brain data split across two hemisphere files are scored as one: the same scores as the whole
// .npy, written also as lh.scores.mgz and rh.scores.mgz, each in its hemisphere's space.
func TestEncodeJoinsHemispheres(t *testing.T) {
	h := writeHemispheres(t)
	x := filepath.Join(h.study, "model", "ckpt-000100000", "layer03.npy")
	whole, joined := filepath.Join(h.dir, "whole"), filepath.Join(h.dir, "joined")
	ceil, lhCeil, rhCeil := writeSplitCeiling(t, h)
	mustRun(t, "encode", "--features", x, "--brain", h.brain, "--ceiling", ceil, "--precision", "float64", "--out", whole)
	mustRun(t, "encode", "--features", x, "--brain", h.lh, "--brain", h.rh, "--ceiling", lhCeil, "--ceiling", rhCeil, "--precision", "float64", "--out", joined)
	a, b := readNPY(t, filepath.Join(whole, "scores.npy")), readNPY(t, filepath.Join(joined, "scores.npy"))
	if !slices.Equal(b.Shape, []int{360}) {
		t.Fatalf("joined scores shaped %v, want [360]", b.Shape)
	}
	for j := range a.F64 {
		if math.Abs(a.F64[j]-b.F64[j]) > 1e-12 {
			t.Fatalf("target %d: %v joined, %v from the whole file", j, b.F64[j], a.F64[j])
		}
	}
	checkHemisphereFiles(t, h, joined, "scores", b.F64)
	ca, cb := readNPY(t, filepath.Join(whole, "ceiled_scores.npy")), readNPY(t, filepath.Join(joined, "ceiled_scores.npy"))
	for j := range ca.F64 {
		if math.Abs(ca.F64[j]-cb.F64[j]) > 1e-12 && !(math.IsNaN(ca.F64[j]) && math.IsNaN(cb.F64[j])) {
			t.Fatalf("target %d: ceiled %v joined, %v from the whole file", j, cb.F64[j], ca.F64[j])
		}
	}
	checkHemisphereFiles(t, h, joined, "ceiled_scores", cb.F64)
	sum := readJSON(t, filepath.Join(joined, "summary.json"))
	parts, _ := get(t, sum, "brain", "parts").([]any)
	if len(parts) != 2 || fmt.Sprint(parts[1].(map[string]any)["path"]) != h.rh {
		t.Errorf("summary.json brain = %v", get(t, sum, "brain"))
	}
	if v := fmt.Sprint(get(t, sum, "volumes")); v != "[lh.ceiled_scores.mgz rh.ceiled_scores.mgz lh.scores.mgz rh.scores.mgz]" {
		t.Errorf("summary.json volumes = %s", v)
	}

	// .npy brain data with the hemispheres' spaces given: the same files
	spaced := filepath.Join(h.dir, "spaced")
	mustRun(t, "encode", "--features", x, "--brain", h.brain, "--space", h.lh, "--space", h.rh, "--precision", "float64", "--out", spaced)
	checkHemisphereFiles(t, h, spaced, "scores", a.F64)

	// .npy halves in folders named lh and rh (brainalign ceiling's averaged.npy, one run per
	// hemisphere) with the hemispheres' spaces: maps named lh and rh; the spaces in the other
	// order are refused
	wb := readNPY(t, h.brain)
	var halves []string
	for _, part := range []struct {
		hemi   string
		c0, c1 int
	}{{"lh", 0, h.split}, {"rh", h.split, 360}} {
		v := make([]float32, 0, h.n*(part.c1-part.c0))
		for i := range h.n {
			v = append(v, wb.F32[i*360+part.c0:i*360+part.c1]...)
		}
		p := filepath.Join(h.dir, "ceil", part.hemi, "averaged.npy")
		must(t, os.MkdirAll(filepath.Dir(p), 0o777))
		must(t, array.WriteNPY(p, []int{h.n, part.c1 - part.c0}, v))
		halves = append(halves, p)
	}
	fromCeil := filepath.Join(h.dir, "from-ceiling")
	mustRun(t, "encode", "--features", x, "--brain", halves[0], "--brain", halves[1], "--space", h.lh, "--space", h.rh, "--precision", "float64", "--out", fromCeil)
	checkHemisphereFiles(t, h, fromCeil, "scores", a.F64)
	if _, stderr, code := runCLI(t, "encode", "--features", x, "--brain", halves[0], "--brain", halves[1], "--space", h.rh, "--space", h.lh, "--out", filepath.Join(h.dir, "o-swapped")); code == 0 ||
		!strings.Contains(stderr, "is for rh, but the brain file in its place is "+halves[0]+" (lh)") {
		t.Errorf("spaces in the other order than ceil/lh, ceil/rh: exit %d, %s", code, stderr)
	}

	// one mask per hemisphere: a vertex left out of each is NaN there, the others unchanged
	lhMask, rhMask := hemisphereMask(t, h, "lh.cortex.mgz", h.split, 5), hemisphereMask(t, h, "rh.cortex.mgz", 360-h.split, 7)
	masked := filepath.Join(h.dir, "masked")
	mustRun(t, "encode", "--features", x, "--brain", h.lh, "--brain", h.rh, "--brain-mask", lhMask, "--brain-mask", rhMask, "--precision", "float64", "--out", masked)
	c := readNPY(t, filepath.Join(masked, "scores.npy"))
	for j := range c.F64 {
		if out := j == 5 || j == h.split+7; out != math.IsNaN(c.F64[j]) || !out && math.Abs(c.F64[j]-a.F64[j]) > 1e-12 {
			t.Fatalf("masked target %d: %v (whole %v)", j, c.F64[j], a.F64[j])
		}
	}
	checkHemisphereFiles(t, h, masked, "scores", c.F64)
}

// writeSplitCeiling writes a noise ceiling over the 360 targets, and the same split as the
// hemispheres (what brainalign ceiling gives run on each).
func writeSplitCeiling(t *testing.T, h hemispheres) (whole, lh, rh string) {
	t.Helper()
	c := make([]float64, 360)
	for j := range c {
		c[j] = 0.05 + 0.9*float64((j*37)%100)/100
	}
	whole, lh, rh = filepath.Join(h.dir, "ceiling.npy"), filepath.Join(h.dir, "lh.ceiling.npy"), filepath.Join(h.dir, "rh.ceiling.npy")
	must(t, array.WriteNPY(whole, []int{360}, c))
	must(t, array.WriteNPY(lh, []int{h.split}, c[:h.split]))
	must(t, array.WriteNPY(rh, []int{360 - h.split}, c[h.split:]))
	return whole, lh, rh
}

// hemisphereMask writes a surface mask of n vertices keeping all but vertex drop.
func hemisphereMask(t *testing.T, h hemispheres, name string, n, drop int) string {
	t.Helper()
	g, err := array.ReadGeometry(filepath.Join("..", "..", "testdata", "neuro", "surface_float.mgz"))
	must(t, err)
	g.Spatial = []int{n, 1, 1}
	v := make([]float64, n)
	for i := range v {
		v[i] = 1
	}
	v[drop] = 0
	p := filepath.Join(h.dir, name)
	must(t, array.WriteVolume(p, g, v))
	return p
}

// checkHemisphereFiles checks that dir holds lh.NAME.mgz and rh.NAME.mgz with the values over
// each hemisphere's vertices.
func checkHemisphereFiles(t *testing.T, h hemispheres, dir, name string, values []float64) {
	t.Helper()
	for _, part := range []struct {
		file   string
		c0, c1 int
	}{{"lh." + name + ".mgz", 0, h.split}, {"rh." + name + ".mgz", h.split, len(values)}} {
		v := readVolume(t, filepath.Join(dir, part.file))
		if v.Size() != part.c1-part.c0 || v.Geometry == nil || v.Geometry.Format != "mgh" {
			t.Fatalf("%s: %d values (shape %v), want %d in an MGH file", part.file, v.Size(), v.Shape, part.c1-part.c0)
		}
		for j := range v.Size() {
			want := values[part.c0+j]
			if got := float64(v.F32[j]); got != float64(float32(want)) && !(math.IsNaN(got) && math.IsNaN(want)) {
				t.Fatalf("%s: vertex %d = %v, want %v", part.file, j, got, want)
			}
		}
	}
}

// A sweep of hemisphere files keeps the joined space (meta/lh.space.mgz, rh.space.mgz), takes
// ROI labels per hemisphere, and spatial writes the best-layer map per hemisphere.
func TestSweepJoinsHemispheres(t *testing.T) {
	h := writeHemispheres(t)
	roi := readNPY(t, h.roi)
	lhROI, rhROI := filepath.Join(h.dir, "lh.roi.npy"), filepath.Join(h.dir, "rh.roi.npy")
	must(t, array.WriteNPY(lhROI, []int{h.split}, roi.Ints()[:h.split]))
	must(t, array.WriteNPY(rhROI, []int{360 - h.split}, roi.Ints()[h.split:]))
	names := filepath.Join(h.study, "fmri", "roi_names.txt")
	model := filepath.Join(h.study, "model")
	whole, joined := filepath.Join(h.dir, "whole"), filepath.Join(h.dir, "joined")
	ceil, lhCeil, rhCeil := writeSplitCeiling(t, h)
	mustRun(t, "sweep", "--features", model, "--model", "synth", "--brain", h.brain, "--roi", h.roi, "--roi-names", names, "--coords", h.coords,
		"--ceiling", ceil, "--out", whole)
	// the coordinates as FreeSurfer surfaces, lh.white and rh.white
	xyz := readNPY(t, h.coords)
	lhWhite, rhWhite := writeFreeSurferSurface(t, h.dir, "lh.white", xyz.F64[:3*h.split]), writeFreeSurferSurface(t, h.dir, "rh.white", xyz.F64[3*h.split:])
	mustRun(t, "sweep", "--features", model, "--model", "synth", "--brain", h.lh, "--brain", h.rh, "--roi", lhROI, "--roi", rhROI,
		"--roi-names", names, "--coords", lhWhite, "--coords", rhWhite, "--ceiling", lhCeil, "--ceiling", rhCeil, "--out", joined)
	if a, b := readFile(t, filepath.Join(whole, "table.csv")), readFile(t, filepath.Join(joined, "table.csv")); a != b || !strings.Contains(a, "ceiled_roi_V1") {
		t.Errorf("table.csv of the joined hemispheres differs from the whole file's:\n%s\n%s", b, a)
	}
	for _, f := range []string{"lh.space.mgz", "rh.space.mgz", "space_parts.txt"} {
		if _, err := os.Stat(filepath.Join(joined, "meta", f)); err != nil {
			t.Errorf("meta/%s: %v", f, err)
		}
	}
	sp, spWhole := filepath.Join(h.dir, "spatial"), filepath.Join(h.dir, "spatial-whole")
	// one V1 point for each hemisphere, the same: the distances of the whole file's (this split
	// of one synthetic surface has its V1 in the first part only)
	mustRun(t, "spatial", "--v1", "0,0,0", "--v1", "0,0,0", "--no-figures", "--out", sp, joined)
	mustRun(t, "spatial", "--v1", "0,0,0", "--no-figures", "--out", spWhole, whole)
	if _, stderr, code := runCLI(t, "spatial", "--no-figures", "--out", filepath.Join(h.dir, "no-rh-v1"), joined); code != 1 ||
		!strings.Contains(stderr, "no target of ROI V1 in its rh part") {
		t.Errorf("joined hemispheres, V1 in one: exit %d, %s", code, stderr)
	}
	if _, stderr, code := runCLI(t, "spatial", "--v1", "0,0,0", "--no-figures", "--out", filepath.Join(h.dir, "one-v1"), joined); code != 1 ||
		!strings.Contains(stderr, "--v1: 1 point(s), but "+joined+"'s targets are of hemispheres lh + rh: give one per hemisphere") {
		t.Errorf("joined hemispheres, one --v1 point: exit %d, %s", code, stderr)
	}
	ra := get(t, readJSON(t, filepath.Join(spWhole, "spatial.json")), "result", "target_level", "r").(float64)
	rb := get(t, readJSON(t, filepath.Join(sp, "spatial.json")), "result", "target_level", "r").(float64)
	if math.Abs(ra-rb) > 1e-6 { // the surfaces hold float32 coordinates
		t.Errorf("spatial r %v with lh.white and rh.white, %v with the .npy coordinates", rb, ra)
	}
	depth, mask := readNPY(t, filepath.Join(sp, "best_layer_depth.npy")), readNPY(t, filepath.Join(sp, "mask.npy"))
	shown := make([]float64, len(depth.F64))
	for j, d := range depth.F64 {
		shown[j] = math.NaN()
		if mask.Ints()[j] != 0 {
			shown[j] = d
		}
	}
	checkHemisphereFiles(t, h, sp, "best_layer_depth", shown)

	// a masked sweep: coordinates given to spatial over the whole surfaces are taken at the
	// masked vertices, as sweep takes them
	lhMask, rhMask := hemisphereMask(t, h, "lh.cortex.mgz", h.split, 5), hemisphereMask(t, h, "rh.cortex.mgz", 360-h.split, 7)
	masked := filepath.Join(h.dir, "masked")
	mustRun(t, "sweep", "--features", model, "--model", "synth", "--brain", h.lh, "--brain", h.rh, "--brain-mask", lhMask, "--brain-mask", rhMask,
		"--roi", lhROI, "--roi", rhROI, "--roi-names", names, "--coords", lhWhite, "--coords", rhWhite, "--out", masked)
	spm, spo := filepath.Join(h.dir, "spatial-masked"), filepath.Join(h.dir, "spatial-override")
	mustRun(t, "spatial", "--v1", "0,0,0", "--v1", "0,0,0", "--no-figures", "--out", spm, masked)
	mustRun(t, "spatial", "--v1", "0,0,0", "--v1", "0,0,0", "--no-figures", "--coords", lhWhite, "--coords", rhWhite, "--out", spo, masked)
	rm := get(t, readJSON(t, filepath.Join(spm, "spatial.json")), "result", "target_level", "r")
	ro := get(t, readJSON(t, filepath.Join(spo, "spatial.json")), "result", "target_level", "r")
	if rm != ro {
		t.Errorf("masked sweep: spatial r %v with the surfaces given to spatial, %v with sweep's", ro, rm)
	}

	// coordinates given to spatial per hemisphere, in the other order
	_, stderr, code := runCLI(t, "spatial", "--no-figures", "--coords", rhWhite, "--coords", lhWhite, "--out", filepath.Join(h.dir, "swapped"), joined)
	if code == 0 || !strings.Contains(stderr, "--coords "+rhWhite+" is for rh, but the part of "+joined+" in its place is lh") {
		t.Errorf("spatial --coords in the other order: exit %d, %s", code, stderr)
	}

	// another subject's sweep with its hemispheres the other way round is not pooled with it
	reversed := filepath.Join(h.dir, "reversed")
	mustRun(t, "sweep", "--features", model, "--model", "synth", "--subject", "sub-02", "--brain", h.rh, "--brain", h.lh, "--out", reversed)
	_, stderr, code = runCLI(t, "spatial", "--v1", "0,0,0", "--no-figures", "--out", filepath.Join(h.dir, "mixed"), joined, reversed)
	if code == 0 || !strings.Contains(stderr, "joins its targets from lh (200) + rh (160), "+reversed+" from rh (160) + lh (200)") {
		t.Errorf("sweeps of hemispheres in other orders pooled: exit %d, %s", code, stderr)
	}
}

// writeFreeSurferSurface writes a FreeSurfer triangle file (lh.white's format) of the given
// vertices (n x 3, row-major) and no faces.
func writeFreeSurferSurface(t *testing.T, dir, name string, xyz []float64) string {
	t.Helper()
	b := append([]byte{0xff, 0xff, 0xfe}, "created by hemispheres_test.go\n\n"...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(xyz)/3))
	b = binary.BigEndian.AppendUint32(b, 0)
	for _, v := range xyz {
		b = binary.BigEndian.AppendUint32(b, math.Float32bits(float32(v)))
	}
	p := filepath.Join(dir, name)
	must(t, os.WriteFile(p, b, 0o644))
	return p
}

// Joined files must agree on their rows, and a joined space on the number of targets.
func TestJoinedHemispheresRefused(t *testing.T) {
	h := writeHemispheres(t)
	x := filepath.Join(h.study, "model", "ckpt-000100000", "layer03.npy")
	g, err := array.ReadGeometry(h.lh)
	must(t, err)
	short := filepath.Join(h.dir, "rh.short.mgz")
	must(t, array.WriteFrames(short, g, 3, make([]float64, 3*h.split)))
	_, stderr, code := runCLI(t, "encode", "--features", x, "--brain", h.lh, "--brain", short, "--out", filepath.Join(h.dir, "o1"))
	if code == 0 || !strings.Contains(stderr, fmt.Sprintf("%s has %d rows, %s 3: brain files joined along targets (hemispheres) must have the same rows", h.lh, h.n, short)) {
		t.Errorf("joined files of different rows: exit %d, %s", code, stderr)
	}
	_, stderr, code = runCLI(t, "encode", "--features", x, "--brain", h.lh, "--brain", h.lh, "--out", filepath.Join(h.dir, "o3"))
	if code == 0 || !strings.Contains(stderr, "--brain "+h.lh+" given twice") {
		t.Errorf("a brain file joined with itself: exit %d, %s", code, stderr)
	}
	_, stderr, code = runCLI(t, "encode", "--features", x, "--brain", h.brain, "--space", h.lh, "--space", h.lh, "--out", filepath.Join(h.dir, "o2"))
	if code == 0 || !strings.Contains(stderr, "--space "+h.lh+" + "+h.lh+": a space of 400 voxels or vertices") {
		t.Errorf("a joined space of other targets: exit %d, %s", code, stderr)
	}
	// files given per hemisphere in the other order: by name, or by size where names say nothing
	_, stderr, code = runCLI(t, "encode", "--features", x, "--brain", h.lh, "--brain", h.rh, "--space", h.rh, "--space", h.lh, "--out", filepath.Join(h.dir, "o4"))
	if code == 0 || !strings.Contains(stderr, "--space "+h.rh+" is for rh, but the brain file in its place is "+h.lh+" (lh)") {
		t.Errorf("spaces in the other order: exit %d, %s", code, stderr)
	}
	maskA, maskB := hemisphereMask(t, h, "mask_a.mgz", 360-h.split, 1), hemisphereMask(t, h, "mask_b.mgz", h.split, 2)
	_, stderr, code = runCLI(t, "encode", "--features", x, "--brain", h.lh, "--brain", h.rh, "--brain-mask", maskA, "--brain-mask", maskB, "--out", filepath.Join(h.dir, "o5"))
	if code == 0 || !strings.Contains(stderr, fmt.Sprintf("--brain-mask %s: 160 targets, but brain file 1, %s, has 200", maskA, h.lh)) {
		t.Errorf("masks in the other order: exit %d, %s", code, stderr)
	}
	_, stderr, code = runCLI(t, "encode", "--features", x, "--brain", h.lh, "--brain", h.rh, "--ceiling", maskA, "--ceiling", maskB, "--ceiling", maskB, "--out", filepath.Join(h.dir, "o6"))
	if code == 0 || !strings.Contains(stderr, "--ceiling: 3 files for brain data joined from 2") {
		t.Errorf("three ceilings for two hemispheres: exit %d, %s", code, stderr)
	}
	roi := readNPY(t, h.roi)
	lhROI, rhROI := filepath.Join(h.dir, "lh.roi.npy"), filepath.Join(h.dir, "rh.roi.npy")
	must(t, array.WriteNPY(lhROI, []int{h.split}, roi.Ints()[:h.split]))
	must(t, array.WriteNPY(rhROI, []int{360 - h.split}, roi.Ints()[h.split:]))
	_, stderr, code = runCLI(t, "sweep", "--features", filepath.Join(h.study, "model"), "--brain", h.lh, "--brain", h.rh, "--roi", rhROI, "--roi", lhROI, "--out", filepath.Join(h.dir, "o7"))
	if code == 0 || !strings.Contains(stderr, "--roi "+rhROI+" is for rh, but the brain file in its place is "+h.lh) {
		t.Errorf("sweep ROIs in the other order: exit %d, %s", code, stderr)
	}
	// masks named otherwise: the maps are named after the brain files
	named := filepath.Join(h.dir, "named")
	mustRun(t, "encode", "--features", x, "--brain", h.lh, "--brain", h.rh, "--brain-mask", maskB, "--brain-mask", maskA, "--out", named)
	for _, f := range []string{"lh.scores.mgz", "rh.scores.mgz"} {
		if _, err := os.Stat(filepath.Join(named, f)); err != nil {
			t.Errorf("masks not named after hemispheres: %v", err)
		}
	}
	for _, o := range []string{"o1", "o2", "o3", "o4", "o5", "o6", "o7"} {
		if _, err := os.Stat(filepath.Join(h.dir, o)); err == nil {
			t.Errorf("a refused run wrote %s", o)
		}
	}
}

// writeGIFTI writes a GIFTI file by hand (ASCII data): one array of the given intent, data type
// and dimensions, with a label table when labels is set.
func writeGIFTI(t *testing.T, path, hemisphere, intent, dtype string, dims []int, values []float64, labels map[int]string) {
	t.Helper()
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<GIFTI Version="1.0" NumberOfDataArrays="1">`)
	fmt.Fprintf(&b, `<MetaData><MD><Name>AnatomicalStructurePrimary</Name><Value>%s</Value></MD></MetaData><LabelTable>`, hemisphere)
	for k := range len(labels) {
		fmt.Fprintf(&b, `<Label Key="%d">%s</Label>`, k, labels[k])
	}
	fmt.Fprintf(&b, `</LabelTable><DataArray Intent="%s" DataType="%s" ArrayIndexingOrder="RowMajorOrder" Dimensionality="%d" Dim0="%d"`, intent, dtype, len(dims), dims[0])
	if len(dims) == 2 {
		fmt.Fprintf(&b, ` Dim1="%d"`, dims[1])
	}
	b.WriteString(` Encoding="ASCII" Endian="LittleEndian" ExternalFileName="" ExternalFileOffset=""><Data>`)
	for _, v := range values {
		fmt.Fprintf(&b, "%v ", v)
	}
	b.WriteString("</Data></DataArray></GIFTI>\n")
	must(t, os.WriteFile(path, []byte(b.String()), 0o644))
}

// fMRIPrep's per-hemisphere GIFTI files (sub-01_hemi-L_bold.func.gii): joined and scored as the
// whole file, the maps written as lh.scores.func.gii and rh.scores.func.gii; a sweep takes the
// ROIs from each hemisphere's .label.gii (named by its label table) and the coordinates from its
// .surf.gii, and gives the same tables as the whole .npy with its ROI labels and coordinates.
func TestGIFTIHemispheres(t *testing.T) {
	h := writeHemispheres(t)
	b := readNPY(t, h.brain)
	m := b.Shape[1]
	tmpl, err := array.ReadGeometry(filepath.Join("..", "..", "testdata", "neuro", "sub-01_hemi-L_bold.func.gii"))
	must(t, err)
	roi, coords := readNPY(t, h.roi), readNPY(t, h.coords)
	names := map[int]string{0: "V1", 1: "V2", 2: "V4", 3: "LO", 4: "IT", 5: "PFC"}
	files := map[string][]string{}
	for _, part := range []struct {
		hemi, bids, structure string
		c0, c1                int
	}{{"lh", "L", "CortexLeft", 0, h.split}, {"rh", "R", "CortexRight", h.split, m}} {
		g := *tmpl             // CortexLeft
		if part.hemi == "rh" { // a right hemisphere's file says so in its metadata
			rt := filepath.Join(h.dir, "rh.template.func.gii")
			writeGIFTI(t, rt, part.structure, "NIFTI_INTENT_NONE", "NIFTI_TYPE_FLOAT32", []int{1}, []float64{0}, nil)
			gr, err := array.ReadGeometry(rt)
			must(t, err)
			g = *gr
		}
		g.Spatial = []int{part.c1 - part.c0}
		vals := make([]float64, 0, h.n*(part.c1-part.c0))
		for i := range h.n {
			for j := part.c0; j < part.c1; j++ {
				vals = append(vals, float64(b.F32[i*m+j]))
			}
		}
		data := filepath.Join(h.dir, "sub-01_hemi-"+part.bids+"_bold.func.gii")
		must(t, array.WriteFrames(data, &g, h.n, vals))
		labels := make([]float64, 0, part.c1-part.c0)
		for j := part.c0; j < part.c1; j++ {
			labels = append(labels, float64(roi.Ints()[j]))
		}
		atlas := filepath.Join(h.dir, part.hemi+".streams.label.gii")
		writeGIFTI(t, atlas, part.structure, "NIFTI_INTENT_LABEL", "NIFTI_TYPE_INT32", []int{len(labels)}, labels, names)
		surf := filepath.Join(h.dir, part.hemi+".white.surf.gii")
		writeGIFTI(t, surf, part.structure, "NIFTI_INTENT_POINTSET", "NIFTI_TYPE_FLOAT32", []int{part.c1 - part.c0, 3}, coords.F64[3*part.c0:3*part.c1], nil)
		files[part.hemi] = []string{data, atlas, surf}
	}
	x := filepath.Join(h.study, "model", "ckpt-000100000", "layer03.npy")
	whole, joined := filepath.Join(h.dir, "whole"), filepath.Join(h.dir, "joined")
	mustRun(t, "encode", "--features", x, "--brain", h.brain, "--precision", "float64", "--out", whole)
	mustRun(t, "encode", "--features", x, "--brain", files["lh"][0], "--brain", files["rh"][0], "--precision", "float64", "--out", joined)
	a := readNPY(t, filepath.Join(whole, "scores.npy"))
	for _, part := range []struct {
		file   string
		c0, c1 int
	}{{"lh.scores.func.gii", 0, h.split}, {"rh.scores.func.gii", h.split, m}} {
		v := readVolume(t, filepath.Join(joined, part.file))
		if !slices.Equal(v.Shape, []int{1, part.c1 - part.c0}) || v.Geometry.Format != "gifti" {
			t.Fatalf("%s: shape %v", part.file, v.Shape)
		}
		if _, err := array.Hemisphere(part.file, v.Geometry); err != nil { // its metadata say its hemisphere
			t.Error(err)
		}
		for j := range v.Size() {
			if got, want := float64(v.F32[j]), float64(float32(a.F64[part.c0+j])); got != want {
				t.Fatalf("%s: vertex %d = %v, want %v", part.file, j, got, want)
			}
		}
	}

	model := filepath.Join(h.study, "model")
	sw, swg := filepath.Join(h.dir, "sweep-npy"), filepath.Join(h.dir, "sweep-gifti")
	mustRun(t, "sweep", "--features", model, "--model", "synth", "--brain", h.brain, "--roi", h.roi,
		"--roi-names", filepath.Join(h.study, "fmri", "roi_names.txt"), "--coords", h.coords, "--out", sw)
	mustRun(t, "sweep", "--features", model, "--model", "synth", "--brain", files["lh"][0], "--brain", files["rh"][0],
		"--roi", files["lh"][1], "--roi", files["rh"][1], "--coords", files["lh"][2], "--coords", files["rh"][2], "--out", swg)
	if a, b := readFile(t, filepath.Join(sw, "table.csv")), readFile(t, filepath.Join(swg, "table.csv")); a != b || !strings.Contains(a, "roi_PFC") {
		t.Errorf("table.csv from GIFTI files differs from the .npy's:\n%s\n%s", b, a)
	}
	// Hemispheres said by the files' metadata only (neutral names): the right hemisphere's data
	// given first, the surfaces in left-right order, are refused rather than crossed.
	neutral := func(src, name string) string {
		b, err := os.ReadFile(src)
		must(t, err)
		p := filepath.Join(h.dir, name)
		must(t, os.WriteFile(p, b, 0o644))
		return p
	}
	run1, run2 := neutral(files["rh"][0], "run1.func.gii"), neutral(files["lh"][0], "run2.func.gii")
	surfA, surfB := neutral(files["lh"][2], "a.midthickness.surf.gii"), neutral(files["rh"][2], "b.midthickness.surf.gii")
	if _, stderr, code := runCLI(t, "sweep", "--features", model, "--brain", run1, "--brain", run2, "--coords", surfA, "--coords", surfB,
		"--out", filepath.Join(h.dir, "crossed")); code == 0 || !strings.Contains(stderr, "--coords "+surfA+" is for lh, but the brain file in its place is "+run1+" (rh)") {
		t.Errorf("surfaces in another hemisphere order than the data, said by metadata only: exit %d, %s", code, stderr)
	}
	sp, spg := filepath.Join(h.dir, "spatial-npy"), filepath.Join(h.dir, "spatial-gifti")
	mustRun(t, "spatial", "--v1", "0,0,0", "--no-figures", "--out", sp, sw)
	mustRun(t, "spatial", "--v1", "0,0,0", "--v1", "0,0,0", "--no-figures", "--out", spg, swg)
	ja, jb := readJSON(t, filepath.Join(sp, "spatial.json")), readJSON(t, filepath.Join(spg, "spatial.json"))
	// the .surf.gii holds the coordinates in float32
	if ra, rb := get(t, ja, "result", "target_level", "r").(float64), get(t, jb, "result", "target_level", "r").(float64); math.Abs(ra-rb) > 1e-6 {
		t.Errorf("spatial r %v from GIFTI coordinates, %v from the .npy", rb, ra)
	}
	for _, f := range []string{"lh.best_layer_depth.func.gii", "rh.best_layer_depth.func.gii"} {
		if _, err := os.Stat(filepath.Join(spg, f)); err != nil {
			t.Errorf("spatial of GIFTI hemispheres: %v", err)
		}
	}
	// Rerun over the .npy sweep, which has no space, into the same folder: the hemispheres' maps
	// of the earlier run go with its numbers; a file not named as spatial names its maps stays.
	notes := filepath.Join(spg, "notes.best_layer_depth.func.gii")
	must(t, os.WriteFile(notes, []byte("mine"), 0o644))
	mustRun(t, "spatial", "--v1", "0,0,0", "--no-figures", "--out", spg, sw)
	for _, f := range []string{"lh.best_layer_depth.func.gii", "rh.best_layer_depth.func.gii"} {
		if _, err := os.Stat(filepath.Join(spg, f)); err == nil {
			t.Errorf("spatial of .npy sweeps after GIFTI hemispheres: %s of the earlier run is still there", f)
		}
	}
	if _, err := os.Stat(notes); err != nil {
		t.Errorf("spatial rerun removed a file that is not its own: %v", err)
	}
}

// Files joined along targets are different hemispheres: two of the same hemisphere (sessions of
// trials, which ceiling reads as rows) or a GIFTI file named for the other hemisphere than its
// metadata say are refused; ceiling refuses files of both hemispheres read as more trials.
func TestHemisphereMixUpsRefused(t *testing.T) {
	dir := t.TempDir()
	r := rand.New(rand.NewPCG(4, 5))
	x := make([]float32, 40*3)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	xf := filepath.Join(dir, "x.npy")
	must(t, array.WriteNPY(xf, []int{40, 3}, x))
	brain := func(name string) string {
		y := make([]float32, 40*6)
		for i := range y {
			y[i] = float32(r.NormFloat64())
		}
		p := filepath.Join(dir, name)
		must(t, array.WriteNPY(p, []int{40, 6}, y))
		return p
	}
	lh1, lh2, rh1 := brain("sub01.lh.session01.npy"), brain("sub01.lh.session02.npy"), brain("sub01.rh.session01.npy")
	_, stderr, code := runCLI(t, "encode", "--features", xf, "--brain", lh1, "--brain", lh2, "--out", filepath.Join(dir, "o1"))
	if code != 1 || !strings.Contains(stderr, lh1+" and "+lh2+" are both lh") {
		t.Errorf("two sessions of one hemisphere joined along targets: exit %d, %s", code, stderr)
	}
	ids := filepath.Join(dir, "ids.txt")
	var lines []string
	for i := range 40 {
		lines = append(lines, fmt.Sprintf("img%d", i%20))
	}
	must(t, os.WriteFile(ids, []byte(strings.Join(append(lines, lines...), "\n")+"\n"), 0o644))
	_, stderr, code = runCLI(t, "ceiling", "--brain", lh1, "--brain", rh1, "--ids", ids, "--out", filepath.Join(dir, "c1"))
	if code != 1 || !strings.Contains(stderr, lh1+" is lh, "+rh1+" is rh") {
		t.Errorf("ceiling of both hemispheres as more trials: exit %d, %s", code, stderr)
	}
	mustRun(t, "ceiling", "--brain", lh1, "--brain", lh2, "--ids", ids, "--out", filepath.Join(dir, "c2"))

	src, err := os.ReadFile(filepath.Join("..", "..", "testdata", "neuro", "sub-01_hemi-L_bold.func.gii")) // CortexLeft, 2 rows
	must(t, err)
	wrong := filepath.Join(dir, "sub-01_hemi-R_bold.func.gii")
	must(t, os.WriteFile(wrong, src, 0o644))
	plain := filepath.Join(dir, "x.func.gii")
	must(t, os.WriteFile(plain, src, 0o644))
	_, stderr, code = runCLI(t, "encode", "--features", xf, "--brain", plain, "--brain", wrong, "--out", filepath.Join(dir, "o3"))
	if code != 1 || !strings.Contains(stderr, wrong+": named for rh, but its GIFTI metadata (AnatomicalStructurePrimary CortexLeft) says lh") {
		t.Errorf("an rh-named CortexLeft file joined: exit %d, %s", code, stderr)
	}
}

// With both hemispheres joined, each vertex's distance is from its own hemisphere's V1 (the
// centroid of both V1s lies on the midline, outside cortex): a surface and its mirror image
// joined give each vertex the distance it has in its hemisphere alone, and the same r.
func TestSpatialDistancesPerHemisphere(t *testing.T) {
	h := writeHemispheres(t)
	b := readNPY(t, h.brain)
	m := b.Shape[1]
	tmpl, err := array.ReadGeometry(filepath.Join("..", "..", "testdata", "neuro", "surface_float.mgz"))
	must(t, err)
	vals := make([]float64, len(b.F32))
	for i, v := range b.F32 {
		vals[i] = float64(v)
	}
	xyz := readNPY(t, h.coords).F64
	mirror := slices.Clone(xyz)
	for v := range m {
		mirror[3*v] = -xyz[3*v] - 40 // the right hemisphere: x mirrored, 40 mm across the midline
	}
	roi := readNPY(t, h.roi)
	files := map[string][3]string{}
	for _, hemi := range []string{"lh", "rh"} {
		g := *tmpl
		g.Spatial = []int{m, 1, 1}
		brain := filepath.Join(h.dir, hemi+".full.mgz")
		must(t, array.WriteFrames(brain, &g, h.n, vals))
		coords, labels := filepath.Join(h.dir, hemi+".coords.npy"), filepath.Join(h.dir, hemi+".roi.npy")
		must(t, array.WriteNPY(coords, []int{m, 3}, map[string][]float64{"lh": xyz, "rh": mirror}[hemi]))
		must(t, array.WriteNPY(labels, []int{m}, roi.Ints()))
		files[hemi] = [3]string{brain, coords, labels}
	}
	model, names := filepath.Join(h.study, "model"), filepath.Join(h.study, "fmri", "roi_names.txt")
	one, both := filepath.Join(h.dir, "one"), filepath.Join(h.dir, "both")
	mustRun(t, "sweep", "--features", model, "--model", "synth", "--brain", h.brain, "--roi", h.roi, "--roi-names", names, "--coords", h.coords, "--out", one)
	mustRun(t, "sweep", "--features", model, "--model", "synth", "--brain", files["lh"][0], "--brain", files["rh"][0],
		"--coords", files["lh"][1], "--coords", files["rh"][1], "--roi", files["lh"][2], "--roi", files["rh"][2], "--roi-names", names, "--out", both)
	spOne, spBoth := filepath.Join(h.dir, "sp-one"), filepath.Join(h.dir, "sp-both")
	mustRun(t, "spatial", "--no-figures", "--no-mask", "--out", spOne, one)
	stdout := mustRun(t, "spatial", "--no-figures", "--no-mask", "--out", spBoth, both)
	if !strings.Contains(stdout, "V1 reference of lh") || !strings.Contains(stdout, "V1 reference of rh") {
		t.Errorf("spatial of joined hemispheres does not show each one's V1:\n%s", stdout)
	}
	d1, d2 := readNPY(t, filepath.Join(spOne, "distance.npy")).F64, readNPY(t, filepath.Join(spBoth, "distance.npy")).F64
	if len(d2) != 2*len(d1) {
		t.Fatalf("%d distances joined, %d in one", len(d2), len(d1))
	}
	for v, d := range d1 {
		if math.Abs(d2[v]-d) > 1e-9 || math.Abs(d2[m+v]-d) > 1e-9 {
			t.Fatalf("vertex %d: %v mm from V1 in its hemisphere alone, %v (lh) and %v (rh) joined", v, d, d2[v], d2[m+v])
		}
	}
	j1, j2 := readJSON(t, filepath.Join(spOne, "spatial.json")), readJSON(t, filepath.Join(spBoth, "spatial.json"))
	if r1, r2 := get(t, j1, "result", "target_level", "r").(float64), get(t, j2, "result", "target_level", "r").(float64); math.Abs(r1-r2) > 1e-9 {
		t.Errorf("spatial r %v joined with its mirror image, %v alone", r2, r1)
	}
	// .npy hemispheres, no space: the sweep keeps its parts (meta/parts.txt) all the same
	npyBoth, spNpy := filepath.Join(h.dir, "both-npy"), filepath.Join(h.dir, "sp-both-npy")
	lhNpy, rhNpy := filepath.Join(h.dir, "lh.full.npy"), filepath.Join(h.dir, "rh.full.npy")
	must(t, array.WriteNPY(lhNpy, b.Shape, b.F32))
	must(t, array.WriteNPY(rhNpy, b.Shape, b.F32))
	mustRun(t, "sweep", "--features", model, "--model", "synth", "--brain", lhNpy, "--brain", rhNpy,
		"--coords", files["lh"][1], "--coords", files["rh"][1], "--roi", files["lh"][2], "--roi", files["rh"][2], "--roi-names", names, "--out", npyBoth)
	if got := readFile(t, filepath.Join(npyBoth, "meta", "parts.txt")); got != "lh\t360\nrh\t360\n" {
		t.Errorf("meta/parts.txt = %q", got)
	}
	if out := mustRun(t, "inspect", npyBoth); !strings.Contains(out, "  targets joined from 2 files: lh (360) + rh (360)\n") || strings.Contains(out, "MEG channels") {
		t.Errorf("inspect of a sweep of two hemispheres:\n%s", out)
	}
	mustRun(t, "spatial", "--no-figures", "--no-mask", "--out", spNpy, npyBoth)
	for v, d := range readNPY(t, filepath.Join(spNpy, "distance.npy")).F64 {
		if math.Abs(d-d1[v%m]) > 1e-9 {
			t.Fatalf(".npy hemispheres, vertex %d: %v mm from V1, %v in its hemisphere alone", v, d, d1[v%m])
		}
	}
	if _, stderr, code := runCLI(t, "spatial", "--no-figures", "--no-mask", "--coords", files["rh"][1], "--coords", files["lh"][1], "--out", filepath.Join(h.dir, "sw"), npyBoth); code != 1 ||
		!strings.Contains(stderr, "is for rh, but the part of "+npyBoth+" in its place is lh") {
		t.Errorf(".npy hemispheres, coordinates swapped: exit %d, %s", code, stderr)
	}
	// each --v1 is one point: values are not regrouped across occurrences
	if _, stderr, code := runCLI(t, "spatial", "--no-figures", "--v1", "-13,-94", "--v1", "3,-27,-94,3", "--out", filepath.Join(h.dir, "v1-split"), npyBoth); code != 2 ||
		!strings.Contains(stderr, `--v1 "-13,-94": want X,Y,Z`) {
		t.Errorf("--v1 of 2 and 4 values: exit %d, %s", code, stderr)
	}
	rOne := get(t, j1, "result", "target_level", "r").(float64)
	sameAsOne := func(what string, args ...string) {
		t.Helper()
		out := filepath.Join(h.dir, "sp-"+strings.ReplaceAll(what, " ", "-"))
		mustRun(t, append([]string{"spatial", "--no-figures", "--no-mask", "--out", out}, args...)...)
		for v, d := range readNPY(t, filepath.Join(out, "distance.npy")).F64 {
			if math.Abs(d-d1[v%m]) > 1e-9 {
				t.Fatalf("%s, vertex %d: %v mm from V1, %v in its hemisphere alone", what, v, d, d1[v%m])
			}
		}
		if r := get(t, readJSON(t, filepath.Join(out, "spatial.json")), "result", "target_level", "r").(float64); math.Abs(r-rOne) > 1e-9 {
			t.Errorf("%s: spatial r %v, %v alone", what, r, rOne)
		}
	}
	// the joined subject pooled with one of the same targets in one file (no parts recorded):
	// each vertex from its own hemisphere's V1 in either order of the folders
	bothOne := filepath.Join(h.dir, "both-one-file")
	both2 := make([]float32, 0, 2*len(b.F32)) // another subject's: the data times 2, the same scores
	for i := range h.n {
		row := b.F32[i*m : (i+1)*m]
		both2 = append(append(both2, row...), row...)
	}
	for i := range both2 {
		both2[i] *= 2
	}
	bothNpy, coords2, roi2 := filepath.Join(h.dir, "both.npy"), filepath.Join(h.dir, "both.coords.npy"), filepath.Join(h.dir, "both.roi.npy")
	must(t, array.WriteNPY(bothNpy, []int{h.n, 2 * m}, both2))
	must(t, array.WriteNPY(coords2, []int{2 * m, 3}, append(slices.Clone(xyz), mirror...)))
	must(t, array.WriteNPY(roi2, []int{2 * m}, append(slices.Clone(roi.Ints()), roi.Ints()...)))
	mustRun(t, "sweep", "--features", model, "--model", "synth", "--subject", "sub-02", "--brain", bothNpy, "--coords", coords2, "--roi", roi2, "--roi-names", names, "--out", bothOne)
	sameAsOne("parts first", npyBoth, bothOne)
	sameAsOne("parts second", bothOne, npyBoth)
	// a mask that leaves one hemisphere without targets: one space, the other's V1
	lhOnly := filepath.Join(h.dir, "lh-only.npy")
	keep := make([]int64, 2*m)
	for v := range m {
		keep[v] = 1
	}
	must(t, array.WriteNPY(lhOnly, []int{2 * m}, keep))
	masked := filepath.Join(h.dir, "lh-masked")
	mustRun(t, "sweep", "--features", model, "--model", "synth", "--brain", lhNpy, "--brain", rhNpy, "--brain-mask", lhOnly,
		"--coords", coords2, "--roi", roi2, "--roi-names", names, "--out", masked)
	mOut := filepath.Join(h.dir, "sp-lh-masked")
	mustRun(t, "spatial", "--no-figures", "--no-mask", "--out", mOut, masked)
	for v, d := range readNPY(t, filepath.Join(mOut, "distance.npy")).F64[:m] {
		if math.Abs(d-d1[v]) > 1e-9 {
			t.Fatalf("lh kept by the mask, vertex %d: %v mm from V1, %v alone", v, d, d1[v])
		}
	}
	// parts that are not hemispheres (a volume's columns in two files): one reference
	chunks := filepath.Join(h.dir, "chunks")
	ca, cb := filepath.Join(h.dir, "chunk_a.npy"), filepath.Join(h.dir, "chunk_b.npy")
	var va, vb []float32
	for i := range h.n {
		va, vb = append(va, b.F32[i*m:i*m+200]...), append(vb, b.F32[i*m+200:(i+1)*m]...)
	}
	must(t, array.WriteNPY(ca, []int{h.n, 200}, va))
	must(t, array.WriteNPY(cb, []int{h.n, m - 200}, vb))
	mustRun(t, "sweep", "--features", model, "--model", "synth", "--brain", ca, "--brain", cb, "--coords", h.coords, "--roi", h.roi, "--roi-names", names, "--out", chunks)
	cOut := filepath.Join(h.dir, "sp-chunks")
	mustRun(t, "spatial", "--no-figures", "--no-mask", "--out", cOut, chunks)
	if r := get(t, readJSON(t, filepath.Join(cOut, "spatial.json")), "result", "target_level", "r").(float64); math.Abs(r-rOne) > 1e-9 {
		t.Errorf("columns in two files: spatial r %v, %v from one file", r, rOne)
	}

	// Both hemispheres in one file (as a CIFTI file holds them), mirrored across x = 0: one V1
	// reference, the centroid of both V1s, lies on the midline, and is said; one hemisphere
	// alone is not.
	coordsMid := filepath.Join(h.dir, "both.midline.coords.npy")
	trueMirror := slices.Clone(xyz)
	for v := range m {
		trueMirror[3*v] = -xyz[3*v]
	}
	must(t, array.WriteNPY(coordsMid, []int{2 * m, 3}, append(slices.Clone(xyz), trueMirror...)))
	if _, stderr, code := runCLI(t, "spatial", "--no-figures", "--no-mask", "--coords", coordsMid, "--out", filepath.Join(h.dir, "sp-midline"), bothOne); code != 0 ||
		!strings.Contains(stderr, "warning: the V1 ROI's targets lie in both hemispheres (60 at x < 0, 60 at x > 0)") {
		t.Errorf("one V1 reference from both hemispheres: exit %d, %s", code, stderr)
	}
	if _, stderr, _ := runCLI(t, "spatial", "--no-figures", "--no-mask", "--out", filepath.Join(h.dir, "sp-one-again"), one); strings.Contains(stderr, "both hemispheres") {
		t.Errorf("one hemisphere warned about: %s", stderr)
	}

	refs := get(t, j2, "result", "v1_reference_parts").([]any)
	if len(refs) != 2 || refs[1].(map[string]any)["part"] != "rh" {
		t.Errorf("v1_reference_parts = %v", refs)
	}
	// halftime measures the ROIs' distances the same way
	h1, h2 := filepath.Join(h.dir, "ht-one"), filepath.Join(h.dir, "ht-both")
	mustRun(t, "halftime", "--no-figures", "--out", h1, one)
	mustRun(t, "halftime", "--no-figures", "--out", h2, both)
	k1, k2 := readJSON(t, filepath.Join(h1, "halftime.json")), readJSON(t, filepath.Join(h2, "halftime.json"))
	if a, b := fmt.Sprint(get(t, k1, "result", "roi_distance")), fmt.Sprint(get(t, k2, "result", "roi_distance")); a != b {
		t.Errorf("halftime's ROI half-time vs distance: %s joined, %s alone", b, a)
	}
}

// Hemispheres averaged by separate ceiling runs list their stimuli in their own orders
// (ceil/lh/averaged_ids.txt, ceil/rh/averaged_ids.txt): --brain-ids once per --brain file
// matches each file's rows by its own ids; one --brain-ids for both is refused, since the
// other file's rows would be other stimuli's.
func TestBrainIDsPerHemisphere(t *testing.T) {
	h := writeHemispheres(t)
	x := filepath.Join(h.study, "model", "ckpt-000100000", "layer03.npy")
	wb := readNPY(t, h.brain)
	ids := make([]string, h.n)
	for i := range ids {
		ids[i] = fmt.Sprintf("img%03d", i)
	}
	writeIDs := func(p string, ids []string) string {
		must(t, os.WriteFile(p, []byte(strings.Join(ids, "\n")+"\n"), 0o644))
		return p
	}
	featureIDs := writeIDs(filepath.Join(h.dir, "images.txt"), ids)
	var brains, brainIDs []string
	for _, part := range []struct {
		hemi     string
		c0, c1   int
		reversed bool
	}{{"lh", 0, h.split, false}, {"rh", h.split, 360, true}} {
		v := make([]float32, 0, h.n*(part.c1-part.c0))
		order := make([]string, h.n)
		for k := range h.n {
			i := k
			if part.reversed {
				i = h.n - 1 - k
			}
			v = append(v, wb.F32[i*360+part.c0:i*360+part.c1]...)
			order[k] = ids[i]
		}
		p := filepath.Join(h.dir, "ceil", part.hemi, "averaged.npy")
		must(t, os.MkdirAll(filepath.Dir(p), 0o777))
		must(t, array.WriteNPY(p, []int{h.n, part.c1 - part.c0}, v))
		brains = append(brains, p)
		brainIDs = append(brainIDs, writeIDs(filepath.Join(filepath.Dir(p), "averaged_ids.txt"), order))
	}
	whole, joined := filepath.Join(h.dir, "whole"), filepath.Join(h.dir, "joined")
	mustRun(t, "encode", "--features", x, "--brain", h.brain, "--precision", "float64", "--out", whole)
	mustRun(t, "encode", "--features", x, "--features-ids", featureIDs, "--brain", brains[0], "--brain", brains[1],
		"--brain-ids", brainIDs[0], "--brain-ids", brainIDs[1], "--precision", "float64", "--out", joined)
	a, b := readNPY(t, filepath.Join(whole, "scores.npy")), readNPY(t, filepath.Join(joined, "scores.npy"))
	for j := range a.F64 {
		if math.Abs(a.F64[j]-b.F64[j]) > 1e-12 {
			t.Fatalf("target %d: %v with each hemisphere's ids, %v from the whole file", j, b.F64[j], a.F64[j])
		}
	}
	model := filepath.Join(h.study, "model")
	mustRun(t, "sweep", "--features", model, "--features-ids", featureIDs, "--brain", brains[0], "--brain", brains[1],
		"--brain-ids", brainIDs[0], "--brain-ids", brainIDs[1], "--out", filepath.Join(h.dir, "sweep"))

	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"one for both", []string{"--brain-ids", brainIDs[0]}, "list their rows in other orders: give --brain-ids once per --brain file"},
		{"three", []string{"--brain-ids", brainIDs[0], "--brain-ids", brainIDs[1], "--brain-ids", brainIDs[1]}, "--brain-ids 3 times for 2 --brain files"},
		{"other stimuli", []string{"--brain-ids", brainIDs[0], "--brain-ids", writeIDs(filepath.Join(h.dir, "other.txt"), append([]string{"cat"}, ids[1:]...))},
			"1 of the first's missing from the second (img000)"},
	} {
		args := append([]string{"encode", "--features", x, "--features-ids", featureIDs, "--brain", brains[0], "--brain", brains[1], "--out", filepath.Join(h.dir, "o")}, c.args...)
		if _, stderr, code := runCLI(t, args...); code == 0 || !strings.Contains(stderr, c.want) {
			t.Errorf("%s: exit %d, %s", c.name, code, stderr)
		}
	}
}

// Feature ids of another count than the activations' rows are named as the problem, not the
// brain data.
func TestSweepFeatureIDsCount(t *testing.T) {
	h := writeHemispheres(t)
	ids := make([]string, h.n)
	for i := range ids {
		ids[i] = fmt.Sprintf("img%03d", i)
	}
	short := filepath.Join(h.dir, "short.txt")
	must(t, os.WriteFile(short, []byte(strings.Join(ids[:h.n-10], "\n")+"\n"), 0o644))
	all := filepath.Join(h.dir, "all.txt")
	must(t, os.WriteFile(all, []byte(strings.Join(ids, "\n")+"\n"), 0o644))
	_, stderr, code := runCLI(t, "sweep", "--features", filepath.Join(h.study, "model"), "--features-ids", short, "--brain", h.brain, "--brain-ids", all, "--out", filepath.Join(h.dir, "o"))
	if code != 1 || !strings.Contains(stderr, fmt.Sprintf("%d rows, but the feature ids list %d", h.n, h.n-10)) {
		t.Errorf("exit %d, %s", code, stderr)
	}
	// the dry run says the same, also where the ids are as many as the brain data's rows
	short2 := filepath.Join(h.dir, "short2.txt")
	must(t, os.WriteFile(short2, []byte(strings.Join(ids[:h.n-1], "\n")+"\n"), 0o644))
	brainIDs := filepath.Join(h.dir, "brain-short.txt")
	must(t, os.WriteFile(brainIDs, []byte(strings.Join(ids[:h.n-1], "\n")+"\n"), 0o644))
	b := readNPY(t, h.brain)
	fewer := filepath.Join(h.dir, "fewer.npy")
	must(t, array.WriteNPY(fewer, []int{h.n - 1, b.Shape[1]}, b.F32[:(h.n-1)*b.Shape[1]]))
	stdout, _, _ := runCLI(t, "sweep", "--dry-run", "--features", filepath.Join(h.study, "model"), "--features-ids", short2, "--brain", fewer, "--brain-ids", brainIDs, "--out", filepath.Join(h.dir, "o2"))
	if !strings.Contains(stdout, fmt.Sprintf("%d rows, but the feature ids list %d", h.n, h.n-1)) {
		t.Errorf("dry run, ids as many as the brain rows:\n%s", stdout)
	}
}
