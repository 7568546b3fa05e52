package main

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/brainalign/brainalign/array"
)

// CIFTI brain data (rows x grayordinates): encode writes scores.dscalar.nii over the input's
// grayordinates (surface vertices and thalamus voxels of testdata/neuro/mixed.dtseries.nii),
// holding scores.npy's values; a CIFTI mask scores its grayordinates only; a sweep keeps the
// space (meta/space.dscalar.nii) and spatial writes best_layer_depth.dscalar.nii.
func TestCiftiBrainData(t *testing.T) {
	dir := t.TempDir()
	st := filepath.Join(dir, "study")
	mustRun(t, "synth", "--out", st, "--subjects", "1")
	g, err := array.ReadGeometry(filepath.Join("..", "..", "testdata", "neuro", "mixed.dtseries.nii"))
	must(t, err)
	const grays = 6
	b := readNPY(t, filepath.Join(st, "fmri", "sub-01", "brain.npy"))
	n, m := b.Shape[0], b.Shape[1]
	vals := make([]float64, n*grays) // the first 6 targets as the 6 grayordinates
	for i := range n {
		for j := range grays {
			vals[i*grays+j] = float64(b.F32[i*m+j])
		}
	}
	brain := filepath.Join(dir, "brain.dscalar.nii")
	must(t, array.WriteFrames(brain, g, n, vals))

	layer := filepath.Join(st, "model", "ckpt-000100000", "layer03.npy")
	enc := filepath.Join(dir, "enc")
	mustRun(t, "encode", "--features", layer, "--brain", brain, "--precision", "float64", "--out", enc)
	if s := readFile(t, filepath.Join(enc, "summary.json")); !strings.Contains(s, `"scores.dscalar.nii"`) {
		t.Errorf("summary.json does not list scores.dscalar.nii: %s", s)
	}
	sameVolume(t, filepath.Join(enc, "scores.dscalar.nii"), filepath.Join(enc, "scores.npy"), []int{1, grays})
	if s := readNPY(t, filepath.Join(enc, "scores.npy")); fmt.Sprint(s.Shape) != "[6]" {
		t.Errorf("scores.npy shape %v, want [6]", s.Shape)
	}

	// trials (each image twice, with noise): ceiling writes ceiling.dscalar.nii over them
	rng := rand.New(rand.NewPCG(3, 4))
	trialVals := make([]float64, 0, 2*len(vals))
	var ids strings.Builder
	for range 2 {
		for i := range n {
			for j := range grays {
				trialVals = append(trialVals, vals[i*grays+j]+0.5*rng.NormFloat64())
			}
			fmt.Fprintf(&ids, "img%d\n", i)
		}
	}
	trials := filepath.Join(dir, "trials.dscalar.nii")
	must(t, array.WriteFrames(trials, g, 2*n, trialVals))
	idsFile := filepath.Join(dir, "trial_ids.txt")
	must(t, os.WriteFile(idsFile, []byte(ids.String()), 0o644))
	ceil := filepath.Join(dir, "ceil")
	mustRun(t, "ceiling", "--brain", trials, "--ids", idsFile, "--out", ceil)
	sameVolume(t, filepath.Join(ceil, "ceiling.dscalar.nii"), filepath.Join(ceil, "ceiling.npy"), []int{1, grays})
	// its ceiling.dscalar.nii is --ceiling's one map over the grayordinates, as ceiling.npy
	ceiledDir := filepath.Join(dir, "enc-ceiled")
	for _, c := range []string{"ceiling.dscalar.nii", "ceiling.npy"} {
		mustRun(t, "encode", "--features", layer, "--brain", brain, "--ceiling", filepath.Join(ceil, c), "--precision", "float64", "--out", ceiledDir, "--overwrite")
		sameVolume(t, filepath.Join(ceiledDir, "ceiled_scores.dscalar.nii"), filepath.Join(ceiledDir, "ceiled_scores.npy"), []int{1, grays})
	}

	// a mask over the grayordinates: NaN outside, the unmasked run's scores inside
	mask := filepath.Join(dir, "mask.dscalar.nii")
	keep := []float64{1, 0, 1, 1, 0, 1}
	must(t, array.WriteVolume(mask, g, keep))
	encMasked := filepath.Join(dir, "enc-masked")
	mustRun(t, "encode", "--features", layer, "--brain", brain, "--brain-mask", mask, "--precision", "float64", "--out", encMasked)
	all, masked := readNPY(t, filepath.Join(enc, "scores.npy")), readNPY(t, filepath.Join(encMasked, "scores.npy"))
	for j, k := range keep {
		if k == 0 && !math.IsNaN(masked.F64[j]) || k != 0 && math.Abs(masked.F64[j]-all.F64[j]) > 1e-9 {
			t.Errorf("grayordinate %d (mask %v): %v masked, %v unmasked", j, k, masked.F64[j], all.F64[j])
		}
	}
	sameVolume(t, filepath.Join(encMasked, "scores.dscalar.nii"), filepath.Join(encMasked, "scores.npy"), []int{1, grays})

	// a sweep keeps the space; grayordinates need --coords for the spatial score
	coords := filepath.Join(dir, "coords.npy")
	xyz := make([]float64, 3*grays)
	for i := range xyz {
		xyz[i] = float64(i)
	}
	must(t, array.WriteNPY(coords, []int{grays, 3}, xyz))
	sw := filepath.Join(dir, "sweep")
	mustRun(t, "sweep", "--features", filepath.Join(st, "model"), "--model", "synth", "--brain", brain, "--coords", coords, "--ceiling", filepath.Join(ceil, "ceiling.dscalar.nii"), "--out", sw)
	if c := readNPY(t, filepath.Join(sw, "meta", "ceiling.npy")); fmt.Sprint(c.Shape) != "[6]" {
		t.Errorf("meta/ceiling.npy shape %v, want [6]", c.Shape)
	}
	if _, err := array.ReadGeometry(filepath.Join(sw, "meta", "space.dscalar.nii")); err != nil {
		t.Fatalf("meta/space.dscalar.nii: %v", err)
	}
	sp := filepath.Join(dir, "spatial")
	mustRun(t, "spatial", "--v1", "0,0,0", "--no-figures", "--no-mask", "--out", sp, sw)
	depth, vol := readNPY(t, filepath.Join(sp, "best_layer_depth.npy")), readVolume(t, filepath.Join(sp, "best_layer_depth.dscalar.nii"))
	if fmt.Sprint(vol.Shape) != "[1 6]" || len(depth.F64) != grays {
		t.Fatalf("best_layer_depth.dscalar.nii shape %v, depth %v", vol.Shape, depth.Shape)
	}
}

// hcpBrain writes brain data over the HCP-style grayordinates of testdata/neuro/hcp.dscalar.nii
// (both cortices without their medial walls, two thalamus voxels) from a synthetic study's first
// targets; it returns the study, the brain file and its space.
func hcpBrain(t *testing.T, dir string) (study, brain string, g *array.Geometry) {
	t.Helper()
	study = filepath.Join(dir, "study")
	mustRun(t, "synth", "--out", study, "--subjects", "1")
	g, err := array.ReadGeometry(neuroFile("hcp.dscalar.nii"))
	must(t, err)
	grays := g.Targets()
	b := readNPY(t, filepath.Join(study, "fmri", "sub-01", "brain.npy"))
	n, m := b.Shape[0], b.Shape[1]
	if m < grays {
		t.Fatalf("%d synthetic targets for %d grayordinates", m, grays)
	}
	vals := make([]float64, n*grays)
	for i := range n {
		for j := range grays {
			vals[i*grays+j] = float64(b.F32[i*m+j])
		}
	}
	brain = filepath.Join(dir, "brain.dscalar.nii")
	must(t, array.WriteFrames(brain, g, n, vals))
	return study, brain, g
}

func neuroFile(name string) string { return filepath.Join("..", "..", "testdata", "neuro", name) }

// A mask, atlas, ceiling map or --space over as many grayordinates that are other ones (the right
// cortex first, another medial wall, another thalamus voxel: NiBabel-written) is refused, naming
// the first difference; the same grayordinates written by NiBabel are taken.
func TestCiftiOtherGrayordinatesRefused(t *testing.T) {
	dir := t.TempDir()
	study, brain, g := hcpBrain(t, dir)
	layer := filepath.Join(study, "model", "ckpt-000100000", "layer03.npy")
	model := filepath.Join(study, "model")
	other := func(name string, values []float64) string { // a map over another file's grayordinates
		og, err := array.ReadGeometry(neuroFile(name))
		must(t, err)
		p := filepath.Join(dir, "on-"+name)
		must(t, array.WriteVolume(p, og, values))
		return p
	}
	ones, half := make([]float64, g.Targets()), make([]float64, g.Targets())
	for i := range ones {
		ones[i], half[i] = 1, 0.5
	}
	ones[3] = 0
	for _, c := range []struct {
		want string
		args []string
	}{
		{"--brain-mask " + other("hcp_rl.dlabel.nii", ones) + " does not hold the grayordinates of " + brain + " (brain model 1 is CORTEX_RIGHT, not CORTEX_LEFT)",
			[]string{"encode", "--features", layer, "--brain", brain, "--brain-mask", other("hcp_rl.dlabel.nii", ones), "--out", filepath.Join(dir, "e1")}},
		{"(brain model 1 is CORTEX_RIGHT, not CORTEX_LEFT)",
			[]string{"sweep", "--features", model, "--model", "synth", "--brain", brain, "--roi", neuroFile("hcp_rl.dlabel.nii"), "--out", filepath.Join(dir, "s1")}},
		{"(CORTEX_LEFT vertex 2 is 2, not 3)",
			[]string{"sweep", "--features", model, "--model", "synth", "--brain", brain, "--space", neuroFile("hcp_vertex.dscalar.nii"), "--out", filepath.Join(dir, "s2")}},
		{"(THALAMUS_LEFT voxel 1 is [1 0 1], not [2 0 1])",
			[]string{"sweep", "--features", model, "--model", "synth", "--brain", brain, "--ceiling", other("hcp_voxel.dscalar.nii", half), "--out", filepath.Join(dir, "s3")}},
		{"(THALAMUS_LEFT voxel 1 is [1 0 1], not [2 0 1])",
			[]string{"encode", "--features", layer, "--brain", brain, "--ceiling", other("hcp_voxel.dscalar.nii", half), "--out", filepath.Join(dir, "e4")}},
		{"(the volume's voxel-to-world matrix row 1",
			[]string{"encode", "--features", layer, "--brain", brain, "--space", neuroFile("hcp_affine.dscalar.nii"), "--out", filepath.Join(dir, "e2")}},
	} {
		_, errOut, code := runCLI(t, c.args...)
		if code == 0 || !strings.Contains(errOut, c.want) || !strings.Contains(errOut, "grayordinates") {
			t.Errorf("brainalign %s: exit %d, %q; want an error containing %q", strings.Join(c.args, " "), code, errOut, c.want)
		}
	}
	// the same grayordinates, written by NiBabel: taken
	mustRun(t, "encode", "--features", layer, "--brain", brain, "--space", neuroFile("hcp_ceiling.dscalar.nii"), "--brain-mask", other("hcp.dscalar.nii", ones), "--out", filepath.Join(dir, "e3"))
}

// sweep over HCP-style grayordinates takes the hemispheres' midthickness surfaces as --coords
// (all their vertices, while the grayordinates leave out the medial wall): meta/coords.npy holds
// each grayordinate's position, a voxel's from the volume; spatial runs on them. One surface is
// refused, saying what fits.
func TestCiftiSweepSurfaceCoords(t *testing.T) {
	dir := t.TempDir()
	study, brain, g := hcpBrain(t, dir)
	model := filepath.Join(study, "model")
	l, r := neuroFile("L.midthickness.surf.gii"), neuroFile("R.midthickness.surf.gii")
	sw := filepath.Join(dir, "sweep")
	mustRun(t, "sweep", "--features", model, "--model", "synth", "--brain", brain, "--coords", l, "--coords", r, "--out", sw)
	coords := readNPY(t, filepath.Join(sw, "meta", "coords.npy"))
	surfaces := [][]float64{}
	for _, p := range []string{l, r} {
		s := readVolume(t, p)
		xyz := make([]float64, len(s.F32))
		for i, v := range s.F32 {
			xyz[i] = float64(v)
		}
		surfaces = append(surfaces, xyz)
	}
	want, err := g.CiftiCoordinates(surfaces)
	must(t, err)
	if fmt.Sprint(coords.Shape) != fmt.Sprint([]int{g.Targets(), 3}) {
		t.Fatalf("meta/coords.npy shape %v", coords.Shape)
	}
	for i, v := range want {
		if coords.F64[i] != v {
			t.Errorf("coordinate %d: %v, want %v", i, coords.F64[i], v)
		}
	}
	// both cortices: each grayordinate measured from its hemisphere's V1 (the thalamus's left voxels
	// from the left's), one point for both refused
	if _, errOut, code := runCLI(t, "spatial", "--v1", "0,0,0", "--no-figures", "--no-mask", "--out", filepath.Join(dir, "spatial"), sw); code == 0 ||
		!strings.Contains(errOut, "targets are of hemispheres lh + rh: give one per hemisphere") {
		t.Errorf("one --v1 for both cortices of a CIFTI file: exit %d, %q", code, errOut)
	}
	// halftime refuses it as spatial does (it was a note, and no spatial half-time)
	if _, errOut, code := runCLI(t, "halftime", "--v1", "0,0,0", "--no-figures", "--out", filepath.Join(dir, "halftime"), sw); code != 1 ||
		!strings.Contains(errOut, "give one per hemisphere") {
		t.Errorf("halftime, one --v1 for both cortices: exit %d, %q", code, errOut)
	}
	out := mustRun(t, "spatial", "--v1", "0,0,0", "--v1", "10,0,0", "--no-figures", "--no-mask", "--out", filepath.Join(dir, "spatial"), sw)
	if !strings.Contains(out, "V1 reference of rh") {
		t.Errorf("spatial of a CIFTI file's both cortices does not show each one's V1:\n%s", out)
	}
	for i, d := range readNPY(t, filepath.Join(dir, "spatial", "distance.npy")).F64 {
		x := want[3*i] // hcp.dscalar.nii: 6 vertices of the left cortex, 6 of the right, 2 left thalamus voxels
		if i >= 6 && i < 12 {
			x -= 10
		}
		if w := math.Hypot(math.Hypot(x, want[3*i+1]), want[3*i+2]); math.Abs(d-w) > 1e-9 {
			t.Errorf("grayordinate %d: %v mm from V1, want %v", i, d, w)
		}
	}
	// spatial's --coords: surfaces placed as sweep places them (here twice the size; the voxels
	// kept where the volume puts them)
	var twice []string
	for k, xyz := range surfaces {
		p := filepath.Join(dir, fmt.Sprintf("twice%d.npy", k))
		must(t, array.WriteNPY(p, []int{len(xyz) / 3, 3}, mulFloats(xyz, 2)))
		twice = append(twice, p)
	}
	mustRun(t, "spatial", "--v1", "0,0,0", "--v1", "0,0,0", "--coords", twice[0], "--coords", twice[1], "--no-figures", "--no-mask", "--out", filepath.Join(dir, "spatial2"), sw)
	for i, d := range readNPY(t, filepath.Join(dir, "spatial2", "distance.npy")).F64 {
		f := 2.0
		if i >= 12 {
			f = 1
		}
		if w := f * math.Hypot(math.Hypot(want[3*i], want[3*i+1]), want[3*i+2]); math.Abs(d-w) > 1e-6 {
			t.Errorf("spatial --coords on surfaces, grayordinate %d: %v mm from V1, want %v", i, d, w)
		}
	}
	_, errOut, code := runCLI(t, "sweep", "--features", model, "--model", "synth", "--brain", brain, "--coords", l, "--out", filepath.Join(dir, "sweep2"))
	if code == 0 || !strings.Contains(errOut, "want one surface per cortex structure, in the file's order") {
		t.Errorf("one surface for two cortices: exit %d, %q", code, errOut)
	}
}

func mulFloats(x []float64, f float64) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = f * v
	}
	return out
}

// Grayordinates as a file may list them (testdata/gen_neuro.py's unsorted.dtseries.nii: the left
// cortex's vertices unsorted, left thalamus voxels in no index order on an oblique volume between
// the two cortices): sweep with its surfaces as --coords writes NiBabel's position of each
// grayordinate to meta/coords.npy, and encode's scores.dscalar.nii keeps NiBabel's grayordinates
// map as it is.
func TestCiftiUnsortedGrayordinates(t *testing.T) {
	b, err := os.ReadFile(neuroFile("expected.json"))
	must(t, err)
	var exp struct {
		Files map[string]struct {
			Coords []float64 `json:"coords"`
		} `json:"files"`
	}
	must(t, json.Unmarshal(b, &exp))
	want := exp.Files["unsorted.dtseries.nii"].Coords
	dir := t.TempDir()
	study := filepath.Join(dir, "study")
	mustRun(t, "synth", "--out", study, "--subjects", "1")
	g, err := array.ReadGeometry(neuroFile("unsorted.dtseries.nii"))
	must(t, err)
	grays := g.Targets()
	if len(want) != 3*grays || grays != 13 {
		t.Fatalf("%d recorded coordinates for %d grayordinates", len(want), grays)
	}
	y := readNPY(t, filepath.Join(study, "fmri", "sub-01", "brain.npy"))
	n, m := y.Shape[0], y.Shape[1]
	vals := make([]float64, n*grays) // the first targets as the grayordinates
	for i := range n {
		for j := range grays {
			vals[i*grays+j] = float64(y.F32[i*m+j])
		}
	}
	brain := filepath.Join(dir, "brain.dscalar.nii")
	must(t, array.WriteFrames(brain, g, n, vals))

	sw := filepath.Join(dir, "sweep")
	mustRun(t, "sweep", "--features", filepath.Join(study, "model"), "--model", "synth", "--brain", brain,
		"--coords", neuroFile("unsorted_L.surf.gii"), "--coords", neuroFile("unsorted_R.surf.gii"), "--out", sw)
	coords := readNPY(t, filepath.Join(sw, "meta", "coords.npy"))
	if fmt.Sprint(coords.Shape) != fmt.Sprint([]int{grays, 3}) {
		t.Fatalf("meta/coords.npy shape %v", coords.Shape)
	}
	for i, w := range want {
		if math.Abs(coords.F64[i]-w) > 1e-9 {
			t.Errorf("grayordinate %d axis %d: %v, NiBabel's %v", i/3, i%3, coords.F64[i], w)
		}
	}

	enc := filepath.Join(dir, "enc")
	mustRun(t, "encode", "--features", filepath.Join(study, "model", "ckpt-000100000", "layer03.npy"), "--brain", brain, "--precision", "float64", "--out", enc)
	sameVolume(t, filepath.Join(enc, "scores.dscalar.nii"), filepath.Join(enc, "scores.npy"), []int{1, grays})
	brainModels := regexp.MustCompile(`(?s)<MatrixIndicesMap[^>]*CIFTI_INDEX_TYPE_BRAIN_MODELS.*?</MatrixIndicesMap>`)
	mapOf := func(path string) string {
		t.Helper()
		b, err := os.ReadFile(path)
		must(t, err)
		m := brainModels.Find(b)
		if m == nil {
			t.Fatalf("%s: no brain models map", path)
		}
		return string(m)
	}
	if ours, nibabel := mapOf(filepath.Join(enc, "scores.dscalar.nii")), mapOf(neuroFile("unsorted.dtseries.nii")); ours != nibabel {
		t.Errorf("scores.dscalar.nii's brain models\n%s\nNiBabel's\n%s", ours, nibabel)
	}
	scores, err := array.ReadGeometry(filepath.Join(enc, "scores.dscalar.nii"))
	must(t, err)
	if err := array.SameGrid(scores, g); err != nil {
		t.Errorf("scores.dscalar.nii: %v", err)
	}
}
