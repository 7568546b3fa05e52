package array

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/brainalign/brainalign/internal/atomicfile"
)

func TestPartNames(t *testing.T) {
	for _, c := range []struct {
		paths []string
		want  []string
	}{
		{[]string{"/nsd/lh.betas_session01.mgh", "/nsd/rh.betas_session01.mgh"}, []string{"lh", "rh"}},
		{[]string{"rh.x.mgz", "lh.x.mgz"}, []string{"rh", "lh"}},
		{[]string{"sub-01_hemi-L_bold.func.mgh", "sub-01_hemi-R_bold.func.mgh"}, []string{"lh", "rh"}},
		{[]string{"left.mgh", "right.mgh"}, []string{"part1", "part2"}},
		{[]string{"lh.a.mgh", "lh.b.mgh"}, []string{"part1", "part2"}},  // same hemisphere twice
		{[]string{"lh.a.mgh", "other.mgh"}, []string{"part1", "part2"}}, // not all named
		{[]string{"shell.mgh", "lhx.mgh", "rh.y"}, []string{"part1", "part2", "part3"}},
		{[]string{"ceil/lh/averaged.npy", "ceil/rh/averaged.npy"}, []string{"lh", "rh"}},                   // a folder per hemisphere
		{[]string{"brain/sub-01.ceiling-lh/a.npy", "brain/sub-01.ceiling-rh/a.npy"}, []string{"lh", "rh"}}, // or ending in one
		{[]string{"left/a.npy", "lhs/a.npy"}, []string{"part1", "part2"}},
		{[]string{"sub03.lh.avg.mgh", "sub03.rh.avg.mgh"}, []string{"lh", "rh"}}, // a word of the name
		{[]string{"betas_rh.npy", "betas-lh.npy"}, []string{"rh", "lh"}},
		{[]string{"lh_vs_rh.npy", "rh.b.npy"}, []string{"part1", "part2"}}, // both words: neither
	} {
		if got := PartNames(c.paths); !slices.Equal(got, c.want) {
			t.Errorf("PartNames(%q) = %q, want %q", c.paths, got, c.want)
		}
	}
}

// IsNamedFile knows every name Files gives a result, over one file's space of each format and
// over joined parts (hemispheres, or twelve parts numbered), and no other name.
func TestIsNamedFile(t *testing.T) {
	var spaces []*Geometry
	for _, f := range []string{"nifti", "mgh", "gifti", "cifti"} {
		spaces = append(spaces, &Geometry{Format: f})
	}
	paths := make([]string, 12)
	for i := range paths {
		paths[i] = fmt.Sprintf("run%d.mgh", i)
	}
	for _, names := range [][]string{{"lh", "rh"}, PartNames(paths)} {
		g := &Geometry{}
		for _, n := range names {
			g.Parts = append(g.Parts, Part{Name: n, Geometry: &Geometry{Format: "gifti"}})
		}
		spaces = append(spaces, g)
	}
	for _, g := range spaces {
		for _, f := range g.Files("best_layer_depth") {
			if !IsNamedFile(f, "best_layer_depth") {
				t.Errorf("%s: not taken for result best_layer_depth", f)
			}
		}
	}
	for _, f := range []string{"best_layer_depth.pscalar.nii", "part12.best_layer_depth.nii.gz"} {
		if !IsNamedFile(f, "best_layer_depth") {
			t.Errorf("%s: not taken for result best_layer_depth", f)
		}
	}
	for _, f := range []string{"best_layer_depth.npy", "best_layer_depth.nii", "best_layer_depth.mgh", "best_layer_depth.nii.gz.bak",
		"my_best_layer_depth.nii.gz", "best_layer_depth.old.mgz", "notes.best_layer_depth.mgz", "lhbest_layer_depth.mgz",
		"part.best_layer_depth.mgz", "part0.best_layer_depth.mgz", "part01.best_layer_depth.mgz", "part1x.best_layer_depth.mgz",
		"lh.rh.best_layer_depth.mgz", "lh.scores.mgz", ".nii.gz", "lh..nii.gz"} {
		if IsNamedFile(f, "best_layer_depth") {
			t.Errorf("%s: taken for result best_layer_depth", f)
		}
	}
}

// Two hemispheres joined: results are written one file per hemisphere, each in its own space
// with its own values, and the joined space's coordinates are the parts' in order.
func TestJoinWritesOneFilePerPart(t *testing.T) {
	surf := filepath.Join("..", "testdata", "neuro", "surface_float.mgz") // 5 vertices
	vol := filepath.Join("..", "testdata", "neuro", "float32_be.nii")
	gs, gv := mustGeometry(t, surf), mustGeometry(t, vol)
	g, err := Join([]string{"lh.surf.mgz", "rh.vol.nii"}, []*Geometry{gs, gv})
	if err != nil {
		t.Fatal(err)
	}
	if g.Targets() != gs.Targets()+gv.Targets() || !slices.Equal(g.Spatial, []int{g.Targets()}) {
		t.Fatalf("joined space of %v targets (spatial %v), want %d", g.Targets(), g.Spatial, gs.Targets()+gv.Targets())
	}
	data := make([]float64, g.Targets())
	for i := range data {
		data[i] = float64(i) + 0.5
	}
	dir := t.TempDir()
	files, err := WriteNamed(g, "scores", data, putIn(dir))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"lh.scores.mgz", "rh.scores.nii.gz"}; !slices.Equal(files, want) || !slices.Equal(g.Files("scores"), want) {
		t.Fatalf("files %q (Files %q), want %q", files, g.Files("scores"), want)
	}
	off := 0
	for i, f := range files {
		arrs, err := Read(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		a, part := arrs[0], g.Parts[i].Geometry
		if a.Size() != part.Targets() || a.Geometry.Format != part.Format {
			t.Fatalf("%s: %d values of format %s, want %d of %s", f, a.Size(), a.Geometry.Format, part.Targets(), part.Format)
		}
		for j := range a.Size() {
			if got := float64(a.F32[j]); got != data[off+j] {
				t.Fatalf("%s: value %d = %v, want %v", f, j, got, data[off+j])
			}
		}
		off += a.Size()
		CloseAll(arrs)
	}

	// several frames (predict's new stimuli): each part's file holds its targets of every frame,
	// read back frame by frame
	const frames = 3
	total := g.Targets()
	framed := make([]float64, frames*total)
	for i := range framed {
		framed[i] = float64(i/total*1000+i%total) + 0.25
	}
	files, err = WriteNamedFrames(g, "framed", frames, framed, putIn(dir))
	if err != nil {
		t.Fatal(err)
	}
	off = 0
	for i, f := range files {
		arrs, err := Read(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		a, n := arrs[0], g.Parts[i].Geometry.Targets()
		if a.Size() != frames*n {
			t.Fatalf("%s: %d values, want %d frames of %d", f, a.Size(), frames, n)
		}
		for fr := range frames {
			for j := range n {
				if got, want := float64(a.F32[fr*n+j]), framed[fr*total+off+j]; got != want {
					t.Fatalf("%s: frame %d, value %d = %v, want %v", f, fr, j, got, want)
				}
			}
		}
		off += n
		CloseAll(arrs)
	}
	if _, err := WriteNamedFrames(g, "short", frames, framed[:total], putIn(dir)); err == nil {
		t.Error("WriteNamedFrames took one frame's values for 3")
	}

	// coordinates: a surface part has none (its vertices are placed by the surface file)
	if _, err := g.Coordinates(); err == nil || !strings.Contains(err.Error(), "part lh") {
		t.Errorf("coordinates of a joined surface: err %v, want one naming part lh", err)
	}
	g2, err := Join([]string{"a.nii", "b.nii"}, []*Geometry{gv, gv})
	if err != nil {
		t.Fatal(err)
	}
	xyz, err := g2.Coordinates()
	one, _ := gv.Coordinates()
	if err != nil || !slices.Equal(xyz, append(slices.Clone(one), one...)) {
		t.Errorf("coordinates of two volumes joined: %v (err %v), want each volume's in turn", len(xyz), err)
	}
	if _, err := g2.Affine(); err == nil {
		t.Error("a joined space gave an affine")
	}
	if err := WriteVolume(filepath.Join(dir, "x.nii.gz"), g2, make([]float64, g2.Targets())); !errors.Is(err, errJoined) {
		t.Errorf("WriteVolume of a joined space: %v, want errJoined", err)
	}
	if _, err := WriteNamed(g2, "short", data[:3], putIn(dir)); err == nil {
		t.Error("WriteNamed took 3 values for a joined space of more")
	}
	if _, err := os.Stat(filepath.Join(dir, "part1.short.nii.gz")); err == nil {
		t.Error("a refused write left a file")
	}
	if !strings.Contains(g.Describe(), "lh: MGH, a surface of 5 vertices") {
		t.Errorf("Describe: %q", g.Describe())
	}
	if _, err := Join([]string{"a", "b"}, []*Geometry{g, gv}); err == nil {
		t.Error("a joined space was taken as a part")
	}
}

func mustGeometry(t *testing.T, path string) *Geometry {
	t.Helper()
	g, err := ReadGeometry(path)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// A GIFTI file says its hemisphere in its metadata: used where the name says none, and a name
// that says the other one is refused (a file copied from the other hemisphere).
func TestHemisphereOfGIFTIMetadata(t *testing.T) {
	src := filepath.Join("..", "testdata", "neuro", "sub-01_hemi-L_bold.func.gii") // CortexLeft
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	copyAs := func(name string) (string, *Geometry) {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p, mustGeometry(t, p)
	}
	plain, gp := copyAs("bold.func.gii")
	if h, err := Hemisphere(plain, gp); h != "lh" || err != nil {
		t.Errorf("Hemisphere of a CortexLeft file without lh in its name = %q, %v; want lh", h, err)
	}
	if h, err := Hemisphere("rh.x.mgh", nil); h != "rh" || err != nil {
		t.Errorf("Hemisphere by name = %q, %v", h, err)
	}
	wrong, gw := copyAs("sub-01_hemi-R_bold.func.gii")
	if _, err := Hemisphere(wrong, gw); err == nil || !strings.Contains(err.Error(), "named for rh, but its GIFTI metadata (AnatomicalStructurePrimary CortexLeft) says lh") {
		t.Errorf("an rh-named CortexLeft file: %v", err)
	}
	if err := CheckParts([]string{plain, "lh.betas.mgh"}, []*Geometry{gp, nil}); err == nil || !strings.Contains(err.Error(), "are both lh") {
		t.Errorf("joining two left hemispheres (one by its metadata): %v", err)
	}
	if err := CheckParts([]string{plain, "rh.betas.mgh"}, []*Geometry{gp, nil}); err != nil {
		t.Errorf("lh by metadata + rh: %v", err)
	}
	if err := CheckParts([]string{wrong, "lh.betas.mgh"}, []*Geometry{gw, nil}); err == nil || !strings.Contains(err.Error(), "named for rh") {
		t.Errorf("a part whose name and metadata disagree: %v", err)
	}
	if err := CheckHemispheres([]string{"lh.s1.mgh", "lh.s2.mgh", "s3.mgh"}, []*Geometry{nil, nil, nil}); err != nil {
		t.Errorf("sessions of one hemisphere: %v", err)
	}
	if err := CheckHemispheres([]string{"lh.s1.mgh", "s2.mgh", plain, "rh.s1.mgh"}, []*Geometry{nil, nil, gp, nil}); err == nil || !strings.Contains(err.Error(), "lh.s1.mgh is lh, rh.s1.mgh is rh") {
		t.Errorf("sessions of both hemispheres read as one: %v", err)
	}
	// Join names a part by its metadata where its name says nothing.
	rh := filepath.Join("..", "testdata", "neuro", "surface_float.mgz")
	g, err := Join([]string{plain, "rh.s.mgz"}, []*Geometry{gp, mustGeometry(t, rh)})
	if err != nil {
		t.Fatal(err)
	}
	if g.Parts[0].Name != "lh" || g.Parts[1].Name != "rh" {
		t.Errorf("joined parts named %s, %s; want lh, rh", g.Parts[0].Name, g.Parts[1].Name)
	}
}

// A file given once per hemisphere says its side by name (HCP's .L. and .R. too) or, for GIFTI,
// by its metadata: the file's, or a surface's first array's.
func TestFileHemisphere(t *testing.T) {
	dir := t.TempDir()
	surface := func(name, fileMD, arrayMD string) string {
		md := func(v string) string {
			if v == "" {
				return "<MetaData/>"
			}
			return "<MetaData><MD><Name>AnatomicalStructurePrimary</Name><Value>" + v + "</Value></MD></MetaData>"
		}
		p := filepath.Join(dir, name)
		doc := `<?xml version="1.0" encoding="UTF-8"?><GIFTI Version="1.0" NumberOfDataArrays="1">` + md(fileMD) +
			`<DataArray Intent="NIFTI_INTENT_POINTSET" DataType="NIFTI_TYPE_FLOAT32" ArrayIndexingOrder="RowMajorOrder" Dimensionality="2" Dim0="1" Dim1="3" Encoding="ASCII" Endian="LittleEndian">` +
			md(arrayMD) + `<Data>0 0 0</Data></DataArray></GIFTI>`
		if err := os.WriteFile(p, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, c := range []struct {
		path, want string
	}{
		{surface("midthickness.surf.gii", "", "CortexRight"), "rh"}, // FreeSurfer/NiBabel: on the array
		{surface("white.surf.gii", "CortexLeft", ""), "lh"},
		{surface("100307.L.midthickness.32k_fs_LR.surf.gii", "", ""), "lh"}, // HCP's names
		{surface("100307.R.midthickness.32k_fs_LR.surf.gii", "", ""), "rh"},
		{surface("plain.surf.gii", "", ""), ""},
		{filepath.Join("..", "testdata", "neuro", "lh.white.surf.gii"), "lh"},
		{"rh.streams.mgz", "rh"},
		{"sub-01.L.npy", "lh"},
		{"fs_LR.npy", ""},
		{filepath.Join("ceil", "lh", "ceiling.r.npy"), "lh"}, // a folder named lh says first
	} {
		if got, err := FileHemisphere(c.path); got != c.want || err != nil {
			t.Errorf("FileHemisphere(%s) = %q, %v; want %q", filepath.Base(c.path), got, err, c.want)
		}
	}
	if _, err := FileHemisphere(surface("lh.pial.surf.gii", "", "CortexRight")); err == nil || !strings.Contains(err.Error(), "named for lh, but its GIFTI metadata (AnatomicalStructurePrimary CortexRight) says rh") {
		t.Errorf("an lh-named CortexRight surface: %v", err)
	}
}

// putIn is WriteNamed's put for files in dir.
func putIn(dir string) func(file string, write func(w io.Writer) error) error {
	return func(file string, write func(w io.Writer) error) error {
		return atomicfile.Write(filepath.Join(dir, file), write)
	}
}
