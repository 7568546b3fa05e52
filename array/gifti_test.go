package array

import (
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func giftiFixture(name string) string { return filepath.Join("..", "testdata", "neuro", name) }

// Scores written over a GIFTI file's vertices hold what NiBabel writes for the same map
// (scores.func.gii): one float32 array of the vertices with the input's hemisphere in the file's
// metadata; read back, the values; and ReadGeometry gives the same space as Read.
func TestGIFTIScoresMatchNiBabel(t *testing.T) {
	arrs, err := Read(giftiFixture("sub-01_hemi-L_bold.func.gii"))
	if err != nil {
		t.Fatal(err)
	}
	defer CloseAll(arrs)
	g := arrs[0].Geometry
	if g == nil || g.Format != "gifti" || !slices.Equal(g.Spatial, []int{7}) || g.VolumeExt() != ".func.gii" {
		t.Fatalf("geometry %+v", g)
	}
	g2, err := ReadGeometry(giftiFixture("sub-01_hemi-L_bold.func.gii"))
	if err != nil || !slices.Equal(g2.Spatial, g.Spatial) || g2.gifti.hemisphere() != "CortexLeft" {
		t.Fatalf("ReadGeometry: %+v, %v", g2, err)
	}
	if d := g.Describe(); d != "GIFTI, a surface of 7 vertices (CortexLeft)" {
		t.Errorf("Describe: %q", d)
	}
	ref, err := Read(giftiFixture("scores.func.gii"))
	if err != nil {
		t.Fatal(err)
	}
	defer CloseAll(ref)
	want := make([]float64, 7)
	for i := range want {
		want[i] = float64(ref[0].F32[i])
	}
	out := filepath.Join(t.TempDir(), "scores.func.gii")
	if err := WriteVolume(out, g, want); err != nil {
		t.Fatal(err)
	}
	back, err := Read(out)
	if err != nil {
		t.Fatal(err)
	}
	defer CloseAll(back)
	if !slices.Equal(back[0].Shape, []int{1, 7}) || !slices.Equal(back[0].F32, ref[0].F32) || back[0].Geometry.gifti.hemisphere() != "CortexLeft" {
		t.Errorf("written %v %v (%s), NiBabel's %v", back[0].Shape, back[0].F32, back[0].Geometry.gifti.hemisphere(), ref[0].F32)
	}
	b, _ := os.ReadFile(out)
	for _, s := range []string{`<MD><Name>AnatomicalStructureSecondary</Name><Value>MidThickness</Value></MD>`, `<MD><Name>Name</Name><Value>scores</Value></MD>`, `DataType="NIFTI_TYPE_FLOAT32"`} {
		if !strings.Contains(string(b), s) {
			t.Errorf("written file lacks %s", s)
		}
	}
	// several maps: one array each; NaN kept
	want[3] = math.NaN()
	if err := WriteFrames(out, g, 2, append(slices.Clone(want), want...)); err != nil {
		t.Fatal(err)
	}
	two, err := Read(out)
	if err != nil {
		t.Fatal(err)
	}
	defer CloseAll(two)
	if !slices.Equal(two[0].Shape, []int{2, 7}) || !math.IsNaN(float64(two[0].F32[7+3])) || two[0].F32[8] != ref[0].F32[1] {
		t.Errorf("two maps read back as %v: %v", two[0].Shape, two[0].F32)
	}
	if err := WriteVolume(out, g, want[:5]); err == nil {
		t.Error("5 values written over 7 vertices")
	}
}

// A label file names its labels; a surface's geometry reads as coordinates (for --coords) and is
// not a space of data; coordinates of a data file are refused with where to find them.
func TestGIFTILabelsAndSurfaces(t *testing.T) {
	g, err := ReadGeometry(giftiFixture("lh.atlas.label.gii"))
	if err != nil {
		t.Fatal(err)
	}
	labels, err := g.Labels()
	if err != nil || labels[2] != "V2 & V3" || labels[0] != "???" || len(labels) != 3 {
		t.Errorf("labels %v, %v", labels, err)
	}
	if _, err := ReadGeometry(giftiFixture("lh.white.surf.gii")); err == nil || !strings.Contains(err.Error(), "--coords") {
		t.Errorf("ReadGeometry of a .surf.gii: %v", err)
	}
	surf, err := Read(giftiFixture("lh.white.surf.gii"))
	if err != nil {
		t.Fatal(err)
	}
	defer CloseAll(surf)
	if !slices.Equal(surf[0].Shape, []int{7, 3}) || surf[0].Geometry != nil {
		t.Errorf("a surface read as %v (geometry %v)", surf[0].Shape, surf[0].Geometry)
	}
	if _, err := g.Coordinates(); err == nil || !strings.Contains(err.Error(), ".surf.gii") {
		t.Errorf("coordinates of a GIFTI data file: %v", err)
	}
}

// Damaged or unusual GIFTI data arrays are refused with what is wrong.
func TestGIFTIRefused(t *testing.T) {
	orig, err := os.ReadFile(giftiFixture("sub-01_hemi-L_bold.func.gii"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, c := range []struct {
		name, old, new, want string
	}{
		{"type", `DataType="NIFTI_TYPE_FLOAT32"`, `DataType="NIFTI_TYPE_COMPLEX64"`, `data type "NIFTI_TYPE_COMPLEX64"`},
		{"dims", `Dim0="7"`, `Dim0="8"`, "data array 1 of 7 x 1 after one of 8 values"},
		{"encoding", `Encoding="GZipBase64Binary"`, `Encoding="Base64Binary"`, "bytes of data for 7 float32 elements"},
		{"base64", `<Data>eJ`, `<Data>!!`, "not base64"},
		{"unknown", `Encoding="GZipBase64Binary"`, `Encoding="Hex"`, `unknown encoding "Hex"`},
	} {
		p := filepath.Join(dir, c.name+".func.gii")
		if err := os.WriteFile(p, []byte(strings.Replace(string(orig), c.old, c.new, 1)), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := Read(p); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error saying %q", c.name, err, c.want)
		}
	}
}
