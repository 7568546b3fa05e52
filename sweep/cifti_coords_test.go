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
