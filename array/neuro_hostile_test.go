package array

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Hostile neuroimaging files (found by the fuzz targets of fuzz_neuro_test.go, or made by hand):
// each is refused, or read as its header says, with work and memory bounded by the file's size.

// neuroDir holds the NiBabel-made fixtures (gen_neuro.py).
var neuroDir = filepath.Join("..", "testdata", "neuro")

// A CIFTI brain model of voxels needs the Volume that places them, even a model of none:
// CiftiCoordinates took the missing volume's matrix (a nil pointer).
func TestCiftiVoxelsWithoutVolume(t *testing.T) {
	doc := `<CIFTI Version="2"><Matrix><MatrixIndicesMap AppliesToMatrixDimension="1" IndicesMapToDataType="CIFTI_INDEX_TYPE_BRAIN_MODELS">` +
		`<BrainModel IndexOffset="0" IndexCount="0" ModelType="CIFTI_MODEL_TYPE_VOXELS" BrainStructure="CIFTI_STRUCTURE_THALAMUS_LEFT"><VoxelIndicesIJK></VoxelIndicesIJK></BrainModel>` +
		`<BrainModel IndexOffset="0" IndexCount="1" ModelType="CIFTI_MODEL_TYPE_SURFACE" BrainStructure="CIFTI_STRUCTURE_CORTEX_LEFT" SurfaceNumberOfVertices="2"><VertexIndices>1</VertexIndices></BrainModel>` +
		`</MatrixIndicesMap></Matrix></CIFTI>`
	_, err := ciftiGeometry([]byte(doc), make([]byte, 540), binary.LittleEndian, 1)
	if err == nil || err.Error() != "CIFTI XML: brain model 1 (THALAMUS_LEFT): voxels without a Volume" {
		t.Errorf("%v", err)
	}
}

// A MatrixIndicesMap element outside CIFTI > Matrix is not a map: its end was taken for the last
// map's (an index of -1 when there was none; else the map's bytes ran on to it, and scalars
// written over the file had the elements between in their XML, which did not read back).
func TestCiftiMapOutsideMatrix(t *testing.T) {
	if _, err := parseCifti([]byte("<CIFTI><A><MatrixIndicesMap/></A></CIFTI>")); err == nil || err.Error() != "CIFTI XML: no MatrixIndicesMap" {
		t.Errorf("a map outside Matrix: %v", err)
	}
	b, err := os.ReadFile(filepath.Join(neuroDir, "hcp.dscalar.nii"))
	if err != nil {
		t.Fatal(err)
	}
	h, err := parseNIfTI(b)
	if err != nil {
		t.Fatal(err)
	}
	doc := strings.Replace(string(h.geo.xml), "</Matrix>", "</Matrix><Other><MatrixIndicesMap/></Other>", 1)
	g, err := ciftiGeometry([]byte(doc), h.geo.header, binary.LittleEndian, h.geo.Targets())
	if err != nil {
		t.Fatal(err)
	}
	out, err := g.ciftiScalarsXML([]string{"a"})
	if err != nil || strings.Contains(string(out), "Other") {
		t.Fatalf("scalars over it: %v\n%s", err, out)
	}
	back, err := ciftiGeometry(out, h.geo.header, binary.LittleEndian, h.geo.Targets())
	if err != nil || SameGrid(back, h.geo) != nil {
		t.Errorf("scalars over it read back: %v", err)
	}
}

// Parcels' vertices are checked against their structures' surfaces, as brain models' are.
func TestCiftiParcelVertices(t *testing.T) {
	doc := func(vertices string) []byte {
		return []byte(`<CIFTI Version="2"><Matrix><MatrixIndicesMap AppliesToMatrixDimension="1" IndicesMapToDataType="CIFTI_INDEX_TYPE_PARCELS">` +
			`<Surface BrainStructure="CIFTI_STRUCTURE_CORTEX_LEFT" SurfaceNumberOfVertices="3"/><Parcel Name="p">` + vertices + `</Parcel></MatrixIndicesMap></Matrix></CIFTI>`)
	}
	for vertices, want := range map[string]string{
		`<Vertices BrainStructure="CIFTI_STRUCTURE_CORTEX_LEFT">0 2</Vertices>`: "",
		`<Vertices BrainStructure="CIFTI_STRUCTURE_CORTEX_LEFT">0 3</Vertices>`: "CIFTI XML: parcel p: vertex 3 of a CORTEX_LEFT surface of 3 vertices",
		`<Vertices BrainStructure="CIFTI_STRUCTURE_CORTEX_LEFT">-1</Vertices>`:  "CIFTI XML: parcel p: vertex -1 of a CORTEX_LEFT surface of 3 vertices",
		`<Vertices BrainStructure="CIFTI_STRUCTURE_CORTEX_RIGHT">0</Vertices>`:  "CIFTI XML: parcel p: vertices on CORTEX_RIGHT, which has no Surface",
	} {
		_, err := ciftiGeometry(doc(vertices), make([]byte, 540), binary.LittleEndian, 1)
		if want == "" && err != nil || want != "" && (err == nil || err.Error() != want) {
			t.Errorf("%s: %v, want %q", vertices, err, want)
		}
	}
}
