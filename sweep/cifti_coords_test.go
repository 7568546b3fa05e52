package sweep

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/brainalign/brainalign/array"
)

// HCP-style grayordinates (testdata/neuro/hcp.dscalar.nii: both cortices without their medial
// walls, two thalamus voxels) are placed on the hemispheres' midthickness surfaces, given once
// each with all their vertices, as NiBabel places them (expected.json's "coords"); a surface of
// the other side, or counts that fit neither surfaces nor grayordinates, are refused saying what
// fits; one row per grayordinate is kept as given.
func TestPlaceCoordsOnCiftiSurfaces(t *testing.T) {
	neuro := filepath.Join("..", "testdata", "neuro")
	b, err := os.ReadFile(filepath.Join(neuro, "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var exp struct {
		Files map[string]struct {
			Coords []float64 `json:"coords"`
		} `json:"files"`
	}
	if err := json.Unmarshal(b, &exp); err != nil {
		t.Fatal(err)
	}
	want := exp.Files["hcp.dscalar.nii"].Coords
	space, err := array.ReadGeometry(filepath.Join(neuro, "hcp.dscalar.nii"))
	if err != nil {
		t.Fatal(err)
	}
	l, r := filepath.Join(neuro, "L.midthickness.surf.gii"), filepath.Join(neuro, "R.midthickness.surf.gii")
	m, err := ReadMetaJoined([]string{l, r}, nil, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if placed, err := m.PlaceCoords(space); !placed || err != nil {
		t.Fatalf("placed %v, %v", placed, err)
	}
	if len(want) != 3*space.Targets() || len(m.Coords) != len(want) {
		t.Fatalf("%d coordinates, want %d", len(m.Coords), len(want))
	}
	for i := range want {
		if math.Abs(m.Coords[i]-want[i]) > 1e-9 {
			t.Errorf("grayordinate %d axis %d: %v, want %v", i/3, i%3, m.Coords[i], want[i])
		}
	}
	if err := m.Check("brain", []int{space.Targets()}); err != nil {
		t.Error(err)
	}

	for _, c := range []struct {
		files []string
		want  string
	}{
		{[]string{r, l}, "--coords " + r + " is the right hemisphere's surface, but the CIFTI file's surface 1 is CORTEX_LEFT: give one surface per cortex structure in the file's order (CORTEX_LEFT of 9 vertices, then CORTEX_RIGHT of 9 vertices)"},
		{[]string{l}, "file(s) of 9 rows for the 14 grayordinates of a CIFTI file: want one surface per cortex structure, in the file's order, each with all its vertices (CORTEX_LEFT of 9 vertices, then CORTEX_RIGHT of 9 vertices; HCP: --coords L.midthickness.surf.gii --coords R.midthickness.surf.gii), or one file of 14 rows, one per grayordinate"},
		{[]string{l, filepath.Join(neuro, "lh.white.surf.gii")}, "file(s) of 9 and 7 rows"},
	} {
		m, err := ReadMetaJoined(c.files, nil, "", "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.PlaceCoords(space); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want %q", c.files, err, c.want)
		}
	}

	npy := filepath.Join(t.TempDir(), "coords.npy")
	if err := array.WriteNPY(npy, []int{14, 3}, make([]float64, 42)); err != nil {
		t.Fatal(err)
	}
	m, err = ReadMeta(npy, "", "", "")
	if err != nil {
		t.Fatal(err)
	}
	if placed, err := m.PlaceCoords(space); placed || err != nil || len(m.Coords) != 42 {
		t.Errorf("one row per grayordinate: placed %v, %v", placed, err)
	}
}

// Targets of one CIFTI file over both cortices take their distances from their own hemisphere's
// V1, as hemispheres given as two files do: the centroid of the V1 ROI in each cortex; a
// subcortical structure of one side (THALAMUS_LEFT) takes its side's, one of neither side
// (BRAIN_STEM) the nearer; one cortex left by a mask has one reference.
func TestV1PerHemisphereOfCifti(t *testing.T) {
	neuro := filepath.Join("..", "testdata", "neuro")
	b, err := os.ReadFile(filepath.Join(neuro, "hcp.dscalar.nii"))
	if err != nil {
		t.Fatal(err)
	}
	// the same file with the thalamus's voxels in the brain stem (the XML's length kept)
	old, stem := `CIFTI_STRUCTURE_THALAMUS_LEFT"`, `CIFTI_STRUCTURE_BRAIN_STEM"   `
	if strings.Count(string(b), old) != 1 {
		t.Fatalf("hcp.dscalar.nii: %d thalamus models", strings.Count(string(b), old))
	}
	stemFile := filepath.Join(t.TempDir(), "stem.dscalar.nii")
	if err := os.WriteFile(stemFile, []byte(strings.Replace(string(b), old, stem, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	// grayordinates 0-5: left cortex, 6-11: right cortex, 12-13: voxels
	coords := []float64{
		-30, 0, 0, -40, 0, 0, -50, 10, 0, -20, 0, 0, -60, 5, 5, -35, -10, 0,
		30, 0, 0, 40, 0, 0, 50, 10, 0, 20, 0, 0, 60, 5, 5, 35, -10, 0,
		-1, 0, 0, 12, 0, 0, // near the midline: the first nearer the left V1, the second the right's
	}
	roi := []int{1, 1, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0}
	leftV1, rightV1 := [3]float64{-35, 0, 0}, [3]float64{45, 5, 0}
	for _, c := range []struct {
		file  string
		voxel [2]int // the voxels' references: 0 lh, 1 rh
	}{{"hcp.dscalar.nii", [2]int{0, 0}}, {stemFile, [2]int{0, 1}}} {
		path := c.file
		if !filepath.IsAbs(path) {
			path = filepath.Join(neuro, path)
		}
		space, err := array.ReadGeometry(path)
		if err != nil {
			t.Fatal(err)
		}
		s := &Sweep{Dir: "sw", M: 14, Meta: Meta{Space: space, ROI: roi, ROINames: map[int]string{0: "other", 1: "V1"}}}
		for _, given := range [][][3]float64{nil, {{-1, -2, -3}, {4, 5, 6}}} {
			ref, err := v1Ref([]*Sweep{s}, coords, given, "")
			if err != nil {
				t.Fatalf("%s: %v", c.file, err)
			}
			want := [][3]float64{leftV1, rightV1}
			if given != nil {
				want = given
			}
			if len(ref.points) != 2 || ref.points[0] != want[0] || ref.points[1] != want[1] || ref.warning != "" {
				t.Fatalf("%s, --v1 %v: references %v (%q), want %v", c.file, given, ref.points, ref.warning, want)
			}
			for g, p := range ref.part {
				w := map[bool]int{true: 0, false: 1}[g < 6]
				if g >= 12 {
					w = c.voxel[g-12]
				}
				if p != w {
					t.Errorf("%s, --v1 %v: grayordinate %d measured from reference %d, want %d", c.file, given, g, p, w)
				}
			}
		}
		if _, err := v1Ref([]*Sweep{s}, coords, [][3]float64{{0, 0, 0}}, ""); err == nil || !strings.Contains(err.Error(), "give one per hemisphere") {
			t.Errorf("%s: one --v1 point for both cortices: %v", c.file, err)
		}
		// a mask leaving the left cortex only (and the voxels): one reference, as for one hemisphere
		masked := []int{0, 1, 2, 3, 4, 5, 12, 13}
		sm := &Sweep{Dir: "sw", M: len(masked), Meta: Meta{Space: space, SpaceTargets: masked, ROI: make([]int, len(masked)), ROINames: map[int]string{0: "V1"}}}
		var xyz []float64
		for _, g := range masked {
			xyz = append(xyz, coords[3*g:3*g+3]...)
		}
		if ref, err := v1Ref([]*Sweep{sm}, xyz, nil, ""); err != nil || ref.part != nil || len(ref.points) != 1 {
			t.Errorf("%s, the left cortex only: references %v per target %v (%v), want one", c.file, ref.points, ref.part, err)
		}
	}
}

// A CIFTI sweep over both cortices pooled with a plain .npy sweep of the same targets: the V1
// reference must not depend on the order the folders are given.
func TestV1RefCiftiPooledWithNpy(t *testing.T) {
	space, err := array.ReadGeometry(filepath.Join("..", "testdata", "neuro", "hcp.dscalar.nii"))
	if err != nil {
		t.Fatal(err)
	}
	coords := []float64{
		-30, 0, 0, -40, 0, 0, -50, 10, 0, -20, 0, 0, -60, 5, 5, -35, -10, 0,
		30, 0, 0, 40, 0, 0, 50, 10, 0, 20, 0, 0, 60, 5, 5, 35, -10, 0,
		-1, 0, 0, 12, 0, 0,
	}
	roi := []int{1, 1, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0}
	names := map[int]string{0: "other", 1: "V1"}
	cifti := &Sweep{Dir: "cifti", M: 14, Meta: Meta{Space: space, ROI: roi, ROINames: names}}
	npy := &Sweep{Dir: "npy", M: 14, Meta: Meta{ROI: roi, ROINames: names}}
	a, errA := v1Ref([]*Sweep{cifti, npy}, coords, nil, "")
	b, errB := v1Ref([]*Sweep{npy, cifti}, coords, nil, "")
	if errA != nil || errB != nil || len(a.points) != 2 || len(b.points) != 2 || a.points[1] != b.points[1] {
		t.Fatalf("cifti first: %v (%v); npy first: %v (%v, warning %q): want each hemisphere's V1 either way", a.points, errA, b.points, errB, b.warning)
	}
}

// Two CIFTI sweeps of as many grayordinates but other brain models (here the thalamus's voxels
// in the brain stem; equally the right cortex before the left) are pooled target by target.
func TestPoolOtherGrayordinatesRefused(t *testing.T) {
	neuro := filepath.Join("..", "testdata", "neuro")
	b, err := os.ReadFile(filepath.Join(neuro, "hcp.dscalar.nii"))
	if err != nil {
		t.Fatal(err)
	}
	stem := filepath.Join(t.TempDir(), "stem.dscalar.nii")
	if err := os.WriteFile(stem, []byte(strings.Replace(string(b), `CIFTI_STRUCTURE_THALAMUS_LEFT"`, `CIFTI_STRUCTURE_BRAIN_STEM"   `, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	s1, _ := array.ReadGeometry(filepath.Join(neuro, "hcp.dscalar.nii"))
	s2, err := array.ReadGeometry(stem)
	if err != nil {
		t.Fatal(err)
	}
	if array.SameGrid(s1, s2) == nil {
		t.Fatal("fixture: same grid")
	}
	mk := func(dir string, g *array.Geometry) *Sweep {
		return &Sweep{Dir: dir, M: 14, C: 1, L: 2, F: 5, Manifest: Manifest{Trailing: []int{14}, Layers: []string{"a", "b"}, Checkpoints: []CheckpointInfo{{Name: "c"}}}, Meta: Meta{Space: g}}
	}
	if err := CheckGroup([]*Sweep{mk("sub-01", s1), mk("sub-02", s2)}); err == nil || !strings.Contains(err.Error(), "need the same voxels, vertices or grayordinates") {
		t.Fatalf("sweeps of other grayordinates pooled target by target: %v", err)
	}
	if err := CheckGroup([]*Sweep{mk("sub-01", s1), mk("sub-02", s1)}); err != nil {
		t.Errorf("sweeps of the same grayordinates: %v", err)
	}
	// the same space, masked differently
	m1, m2 := mk("sub-01", s1), mk("sub-02", s1)
	m1.M, m2.M, m1.Trailing, m2.Trailing = 3, 3, []int{3}, []int{3}
	m1.Meta.SpaceTargets, m2.Meta.SpaceTargets = []int{0, 1, 2}, []int{0, 1, 3}
	if err := CheckGroup([]*Sweep{m1, m2}); err == nil || !strings.Contains(err.Error(), "target 2 is voxel 2 of one, 3 of the other") {
		t.Errorf("sweeps masked differently: %v", err)
	}
}

// A label volume of as many voxels as the targets but other axes (NSD's HDF5 betas hold the
// volume's axes reversed) is refused, naming the reversal; of the same axes it is taken; a
// mask's restriction leaves the grid check to the mask's.
func TestROIVolumeShapeChecked(t *testing.T) {
	vol := filepath.Join("..", "testdata", "neuro", "mask_uint8.nii") // 3 x 2 x 2, values 0/1
	m, err := ReadMetaJoined(nil, []string{vol}, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Check("betas.hdf5", []int{3, 2, 2}); err != nil {
		t.Errorf("the same axes: %v", err)
	}
	if err := m.Check("betas.hdf5", []int{2, 2, 3}); err == nil || !strings.Contains(err.Error(), "a label volume shaped 3 x 2 x 2, but the targets of betas.hdf5 are shaped 2 x 2 x 3 (the same axes reversed") {
		t.Errorf("reversed axes: %v", err)
	}
	if err := m.Check("betas.npy", []int{12}); err != nil {
		t.Errorf("flat targets: %v", err)
	}
	m.Restrict([]int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, 12)
	if err := m.Check("masked", []int{2, 2, 3}); err != nil {
		t.Errorf("after a mask's restriction: %v", err)
	}
}

// A label volume stored as one frame of a 4-d NIfTI file (x, y, z, 1; NiBabel-written) is the
// volume, as nilearn takes it: labels in C order over (x, y, z), checked against the targets'
// axes.
func TestROIVolumeOfOneFrame(t *testing.T) {
	m, err := ReadMetaJoined(nil, []string{filepath.Join("..", "testdata", "neuro", "atlas_oneframe.nii")}, "", "")
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range m.ROI {
		if l != i%3 {
			t.Fatalf("labels %v, want np.arange(12) %% 3", m.ROI)
		}
	}
	if err := m.Check("bold.nii.gz", []int{3, 4, 1}); err != nil {
		t.Errorf("the volume's axes: %v", err)
	}
	if err := m.Check("betas.hdf5", []int{1, 4, 3}); err == nil || !strings.Contains(err.Error(), "a label volume shaped 3 x 4 x 1") {
		t.Errorf("reversed axes: %v", err)
	}
}
