package array

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// Fuzz targets of the neuroimaging readers (NIfTI-1/2, MGH, CIFTI-2, GIFTI, FreeSurfer
// surfaces): corrupt input is an error, never a panic, and what reads is consistent (the
// header's shape is the data's; ReadGeometry's space is Read's; NIfTI and MGH data read alike in
// one piece and a z-slice a piece). Work per input stays bounded:
// a file that reads is at most the data its bytes hold (gzip: deflate's largest ratio).

// addNeuroSeeds adds the fixtures of testdata/neuro matching the patterns as seeds.
func addNeuroSeeds(f *testing.F, patterns ...string) { addSeeds(f, neuroDir, patterns...) }

// isGzip reports whether b starts with gzip's magic number.
func isGzip(b []byte) bool { return len(b) > 1 && b[0] == 0x1f && b[1] == 0x8b }

// checkNeuro opens b as a file named name, reads it, and checks what reads: the entry's shape is
// the array's, the data are touched, and the space answers its questions without a panic. It
// returns the array's geometry (nil when b does not read).
func checkNeuro(t *testing.T, name string, b []byte) *Geometry {
	t.Helper()
	f, err := openNeuro(name, b, nil)
	if err != nil {
		return nil
	}
	defer f.Close()
	e := f.Arrays()[0]
	a, err := f.Read("")
	if err != nil {
		return nil
	}
	if !slices.Equal(a.Shape, e.Shape) || a.DType != e.DType {
		t.Fatalf("read %v %s, the header said %v %s", a.Shape, a.DType, e.Shape, e.DType)
	}
	restore := smallNeuroPieces() // a z-slice a piece, through the workers: the same values
	pieces, err := f.Read("")
	restore()
	if err != nil {
		t.Fatalf("read in one piece, not a z-slice a piece: %v", err)
	}
	if diff := sameValues(pieces, a); diff != "" {
		t.Fatalf("a z-slice a piece, %s", diff)
	}
	g := a.Geometry
	checkDecoded(t, a)
	if g == nil {
		return nil
	}
	if g.Targets() > a.Size() || g.Targets() < 1 {
		t.Fatalf("%d targets in %v values", g.Targets(), a.Shape)
	}
	g.Describe()
	g.VolumeExt()
	g.Labels()
	if err := SameGrid(g, g); err != nil {
		t.Fatalf("a space is not its own grid: %v", err)
	}
	if _, err := g.Coordinates(); err == nil && g.Format == "cifti" {
		t.Fatal("CIFTI coordinates without surfaces")
	}
	checkCiftiGeometry(t, g)
	return g
}

// checkCiftiGeometry places a CIFTI space's grayordinates on surfaces of as many vertices as it
// says (when they are few), and writes its scalars' XML, which must parse to the same grid.
func checkCiftiGeometry(t *testing.T, g *Geometry) {
	t.Helper()
	if g.Format != "cifti" {
		return
	}
	var surfaces [][]float64
	total := 0
	for _, s := range g.CiftiSurfaces() {
		total += s.Vertices
		if total > 1<<16 {
			surfaces = nil
			break
		}
		surfaces = append(surfaces, make([]float64, 3*s.Vertices))
	}
	if total <= 1<<16 {
		if xyz, err := g.CiftiCoordinates(surfaces); err == nil && len(xyz) != 3*g.Targets() {
			t.Fatalf("%d coordinates for %d grayordinates", len(xyz), g.Targets())
		}
	}
	doc, err := g.ciftiScalarsXML([]string{"a"})
	if err != nil {
		return
	}
	back, err := ciftiGeometry(doc, g.header, g.order, g.Targets())
	if err != nil {
		t.Fatalf("the scalars' XML written over a space does not read back: %v\n%s", err, doc)
	}
	if err := SameGrid(back, g); err != nil {
		t.Fatalf("the scalars' XML written over a space is another grid: %v", err)
	}
}

// checkReadGeometry writes b to a file named name and checks that ReadGeometry, which reads only
// the header, gives the space that reading the file gave (or an error where it did not read).
func checkReadGeometry(t *testing.T, name string, b []byte, g *Geometry) {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	h, err := ReadGeometry(p)
	if err != nil || g == nil {
		return // ReadGeometry reads less: it may take a file whose data are truncated
	}
	if h.Format != g.Format || !slices.Equal(h.Spatial, g.Spatial) {
		t.Fatalf("ReadGeometry: %s %v, Read: %s %v", h.Format, h.Spatial, g.Format, g.Spatial)
	}
	if err := SameGrid(h, g); err != nil {
		t.Fatalf("ReadGeometry's space is not Read's: %v", err)
	}
}

func FuzzReadNIfTI(f *testing.F) {
	addNeuroSeeds(f, "*.nii", "*.nii.gz")
	for _, name := range []string{"float32_be.nii", "mixed.dtseries.nii", "float64.nii2.nii"} {
		b, err := os.ReadFile(filepath.Join(neuroDir, name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(gzipped(b))
	}
	f.Add(niftiSeed(1, 2, []int64{2, 2, 2}, []byte{1, 2, 3, 4}))
	f.Add(niftiSeed(1, 2, []int64{-2, 3}, []byte{1, 2, 3, 4, 5, 6}))
	f.Add(niftiSeed(1, 16, []int64{1, 1, 1, 1, 1, 1, 1}, []byte{0, 0, 0x80, 0x3f}))
	f.Add(niftiSeed(2, 64, []int64{1 << 40, 1 << 40}, []byte{1, 2, 3, 4, 5, 6, 7, 8}))
	f.Add(niftiSeed(2, 2, []int64{1<<31 - 1, 1<<31 - 1, 1<<31 - 1, 1<<31 - 1}, []byte{1}))
	f.Add(niftiSeed(2, 2, []int64{3, 3, 3, 3, 3, 3, 3, 3}, []byte{1}))
	f.Add(gzipped(niftiSeed(1, 2, []int64{4}, make([]byte, 1<<16))))
	f.Fuzz(func(t *testing.T, b []byte) {
		name := "fuzz.nii"
		if isGzip(b) {
			name += ".gz"
		}
		g := checkNeuro(t, name, b)
		checkReadGeometry(t, name, b, g)
	})
}

func FuzzReadMGH(f *testing.F) {
	addNeuroSeeds(f, "*.mgh", "*.mgz")
	f.Add(mghSeed([4]int32{2, 1, 1, 2}, 0, []byte{1, 2, 3, 4}))
	f.Add(mghSeed([4]int32{-1, 1, 1, 1}, 3, []byte{1, 2, 3, 4}))
	f.Add(mghSeed([4]int32{1 << 30, 1 << 30, 1 << 30, 1 << 30}, 3, nil))
	f.Add(gzipped(mghSeed([4]int32{3, 1, 1, 1}, 4, []byte{1, 2, 3, 4, 5, 6})))
	f.Fuzz(func(t *testing.T, b []byte) {
		name := "fuzz.mgh"
		if isGzip(b) {
			name = "fuzz.mgz"
		}
		g := checkNeuro(t, name, b)
		checkReadGeometry(t, name, b, g)
	})
}

// ciftiDoc is the CIFTI-2 XML of a fixture.
func ciftiDoc(f *testing.F, name string) []byte {
	b, err := os.ReadFile(filepath.Join(neuroDir, name))
	if err != nil {
		f.Fatal(err)
	}
	h, err := parseNIfTI(b)
	if err != nil {
		f.Fatal(err)
	}
	doc, err := ciftiXML(b, h.offset, binary.LittleEndian)
	if err != nil {
		f.Fatal(err)
	}
	return doc
}

// FuzzCiftiXML parses CIFTI-2 documents as a file's of grays grayordinates (brain models,
// parcels, label tables, the volume) and asks what parses its questions: its labels, its
// grid against itself and the fixtures', its grayordinates' places, its scalars' XML.
func FuzzCiftiXML(f *testing.F) {
	var fixtures []*Geometry
	for _, name := range []string{"hcp.dscalar.nii", "mixed.dtseries.nii", "atlas.dlabel.nii", "parcels.ptseries.nii", "parcels_other.pscalar.nii", "hcp_rl.dlabel.nii", "maps.dscalar.nii", "series.dtseries.nii"} {
		b, _ := os.ReadFile(filepath.Join(neuroDir, name))
		h, err := parseNIfTI(b)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(ciftiDoc(f, name), uint16(h.dims[1]))
		if h.geo != nil {
			fixtures = append(fixtures, h.geo)
		}
	}
	header := fixtures[0].header
	model := func(body string) []byte {
		return []byte(`<CIFTI Version="2"><Matrix><MatrixIndicesMap AppliesToMatrixDimension="0" IndicesMapToDataType="CIFTI_INDEX_TYPE_LABELS"><NamedMap><LabelTable><Label Key="1">a</Label></LabelTable></NamedMap></MatrixIndicesMap><MatrixIndicesMap AppliesToMatrixDimension="1" IndicesMapToDataType="CIFTI_INDEX_TYPE_BRAIN_MODELS">` + body + `</MatrixIndicesMap></Matrix></CIFTI>`)
	}
	f.Add(model(`<BrainModel IndexOffset="0" IndexCount="1" ModelType="CIFTI_MODEL_TYPE_SURFACE" BrainStructure="CIFTI_STRUCTURE_CORTEX_LEFT" SurfaceNumberOfVertices="4"><VertexIndices>5</VertexIndices></BrainModel>`), uint16(1))
	f.Add(model(`<BrainModel IndexOffset="0" IndexCount="0" ModelType="CIFTI_MODEL_TYPE_VOXELS" BrainStructure="CIFTI_STRUCTURE_THALAMUS_LEFT"><VoxelIndicesIJK></VoxelIndicesIJK></BrainModel>`+
		`<BrainModel IndexOffset="0" IndexCount="1" ModelType="CIFTI_MODEL_TYPE_SURFACE" BrainStructure="CIFTI_STRUCTURE_CORTEX_LEFT" SurfaceNumberOfVertices="2"><VertexIndices>1</VertexIndices></BrainModel>`), uint16(1))
	f.Add(model(`<Volume VolumeDimensions="2,2,2"><TransformationMatrixVoxelIndicesIJKtoXYZ MeterExponent="-3">1 0 0 0 0 1 0 0 0 0 1 0 0 0 0 1</TransformationMatrixVoxelIndicesIJKtoXYZ></Volume>`+
		`<BrainModel IndexOffset="0" IndexCount="1" ModelType="CIFTI_MODEL_TYPE_VOXELS" BrainStructure="CIFTI_STRUCTURE_THALAMUS_LEFT"><VoxelIndicesIJK>1 1 2</VoxelIndicesIJK></BrainModel>`), uint16(1))
	f.Add(model(`<BrainModel IndexOffset="9223372036854775807" IndexCount="9223372036854775807" ModelType="CIFTI_MODEL_TYPE_SURFACE" SurfaceNumberOfVertices="1099511627776"><VertexIndices>0</VertexIndices></BrainModel>`), uint16(1))
	f.Add(model(`<Volume VolumeDimensions="1,1,1"><TransformationMatrixVoxelIndicesIJKtoXYZ MeterExponent="400">1 0 0 0 0 1 0 0 0 0 1 0 0 0 0 1</TransformationMatrixVoxelIndicesIJKtoXYZ></Volume>`), uint16(0))
	f.Add([]byte(`<CIFTI Version="2"><Matrix><MatrixIndicesMap AppliesToMatrixDimension="0,1" IndicesMapToDataType="CIFTI_INDEX_TYPE_PARCELS"><Surface BrainStructure="CIFTI_STRUCTURE_CORTEX_LEFT" SurfaceNumberOfVertices="3"/><Parcel Name="p"><Vertices BrainStructure="CIFTI_STRUCTURE_CORTEX_LEFT">7 -1</Vertices><VoxelIndicesIJK>0 0 0</VoxelIndicesIJK></Parcel></MatrixIndicesMap></Matrix></CIFTI>`), uint16(1))
	f.Add([]byte(`<CIFTI Version="2"><Matrix>`+string(bytes.Repeat([]byte("<a>"), 20000))), uint16(1))
	f.Fuzz(func(t *testing.T, doc []byte, grays uint16) {
		g, err := ciftiGeometry(doc, header, binary.LittleEndian, int(grays))
		if err != nil || g == nil {
			return
		}
		if g.Targets() != int(grays) {
			t.Fatalf("%d targets, %d grayordinates", g.Targets(), grays)
		}
		g.Describe()
		g.Labels()
		if err := SameGrid(g, g); err != nil {
			t.Fatalf("a space is not its own grid: %v", err)
		}
		for _, h := range fixtures {
			SameGrid(g, h)
			SameGrid(h, g)
		}
		checkCiftiGeometry(t, g)
	})
}

func FuzzReadGIFTI(f *testing.F) {
	addNeuroSeeds(f, "*.gii")
	array := func(attrs, data string) []byte {
		return []byte(`<GIFTI Version="1.0"><DataArray Intent="NIFTI_INTENT_NONE" DataType="NIFTI_TYPE_FLOAT32" ArrayIndexingOrder="RowMajorOrder" ` + attrs + `><Data>` + data + `</Data></DataArray></GIFTI>`)
	}
	f.Add(array(`Dimensionality="1" Dim0="1099511627776" Encoding="ASCII"`, "1 2"))
	f.Add(array(`Dimensionality="2" Dim0="4294967296" Dim1="4294967296" Encoding="Base64Binary"`, "AACAPw=="))
	f.Add(array(`Dimensionality="2" Dim0="3" Dim1="2" Encoding="Base64Binary"`, "AACAPw=="))
	f.Add(array(`Dimensionality="2" Dim0="2" Dim1="3" Encoding="GZipBase64Binary"`, "eJxjYGBgYARiJgYIQGYDAAB4AAc="))
	f.Add(array(`Dimensionality="1" Dim0="1" Encoding="ExternalFileBinary" ExternalFileName="/dev/zero"`, ""))
	f.Fuzz(func(t *testing.T, b []byte) {
		f, err := openGIFTI("fuzz.func.gii", b, nil)
		if err != nil {
			return
		}
		defer f.Close()
		e := f.Arrays()[0]
		a, err := f.Read("")
		if err != nil {
			return
		}
		if !slices.Equal(a.Shape, e.Shape) || a.DType != e.DType {
			t.Fatalf("read %v %s, the header said %v %s", a.Shape, a.DType, e.Shape, e.DType)
		}
		if g := a.Geometry; g != nil {
			if g.Targets() != a.Shape[1] {
				t.Fatalf("%d vertices for %v", g.Targets(), a.Shape)
			}
			g.Describe()
			g.Labels()
			g.taggedHemisphere()
		}
		checkDecoded(t, a)
	})
}

func FuzzReadSurface(f *testing.F) {
	addNeuroSeeds(f, "lh.white", "rh.white.short")
	head := append(slices.Clone(surfaceMagic), "created by fuzz\n\n"...)
	f.Add(append(slices.Clone(head), 0, 0, 0, 1, 0, 0, 0, 0, 0x3f, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0))
	f.Add(append(slices.Clone(head), 0x7f, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff))
	f.Add(append(slices.Clone(head), 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0))
	f.Fuzz(func(t *testing.T, b []byte) {
		f, err := openSurface("lh.fuzz", b, nil)
		if err != nil {
			return
		}
		defer f.Close()
		a, err := f.Read("")
		if err != nil {
			t.Fatalf("a surface whose header was read does not read: %v", err)
		}
		if !slices.Equal(a.Shape, f.Arrays()[0].Shape) || a.Shape[1] != 3 || 12*a.Shape[0] > len(b) {
			t.Fatalf("read %v from %d bytes", a.Shape, len(b))
		}
		checkDecoded(t, a)
	})
}
