package array

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Scores over a CIFTI file's grayordinates are written as NiBabel writes one named map of
// scalars over the same grayordinates (testdata/gen_neuro.py: scores.dscalar.nii over the
// surface vertices and thalamus voxels of mixed.dtseries.nii, scores.pscalar.nii over the
// parcels of parcels.ptseries.nii): the same matrix, the same grayordinates map, a scalars map
// named after the file.
func TestCiftiScoresMatchNiBabel(t *testing.T) {
	exp := loadNeuroExpected(t)
	dir := t.TempDir()
	for input, want := range map[string]string{"mixed.dtseries.nii": "scores.dscalar.nii", "parcels.ptseries.nii": "scores.pscalar.nii"} {
		arrs, err := Read(filepath.Join("..", "testdata", "neuro", input))
		if err != nil {
			t.Fatal(err)
		}
		g := arrs[0].Geometry
		if g == nil || g.Format != "cifti" || g.Targets() != arrs[0].Shape[1] {
			t.Fatalf("%s: geometry %+v for shape %v", input, g, arrs[0].Shape)
		}
		if ext := g.VolumeExt(); !strings.HasSuffix(want, ext) {
			t.Errorf("%s: extension %s, want that of %s", input, ext, want)
		}
		values := exp.Files[want].Values
		values[0] = math.NaN() // kept
		out := filepath.Join(dir, "scores"+g.VolumeExt())
		if err := WriteVolume(out, g, values); err != nil {
			t.Fatal(err)
		}
		back, err := Read(out)
		if err != nil {
			t.Fatalf("reading back %s: %v", out, err)
		}
		b := back[0]
		if fmt.Sprint(b.Shape) != fmt.Sprint([]int{1, g.Targets()}) || b.DType != "float32" {
			t.Errorf("%s: written %v %s, want 1 x %d float32", input, b.Shape, b.DType, g.Targets())
		}
		for i, v := range values {
			if got := float64(b.F32[i]); got != float64(float32(v)) && !(math.IsNaN(v) && math.IsNaN(got)) {
				t.Errorf("%s: grayordinate %d = %v, want %v", input, i, got, v)
			}
		}
		ref, err := Read(filepath.Join("..", "testdata", "neuro", want))
		if err != nil {
			t.Fatal(err)
		}
		ours, theirs := b.Geometry, ref[0].Geometry
		om, err := parseCifti(ours.xml)
		if err != nil {
			t.Fatalf("%s: our XML: %v\n%s", input, err, ours.xml)
		}
		tm, _ := parseCifti(theirs.xml)
		for dim := range 2 {
			o, _ := ciftiMapOf(om, dim)
			r, _ := ciftiMapOf(tm, dim)
			if o.kind != r.kind || fmt.Sprint(o.dims) != fmt.Sprint(r.dims) {
				t.Errorf("%s: dimension %d maps %s %v, NiBabel's %s %v", input, dim, o.kind, o.dims, r.kind, r.dims)
			}
			if dim == 1 && string(ours.xml[o.start:o.end]) != string(theirs.xml[r.start:r.end]) {
				t.Errorf("%s: grayordinates map\n%s\nNiBabel's\n%s", input, ours.xml[o.start:o.end], theirs.xml[r.start:r.end])
			}
		}
		if o, _ := ciftiMapOf(om, 0); !strings.Contains(string(ours.xml[o.start:o.end]), "<MapName>scores</MapName>") {
			t.Errorf("%s: map not named scores:\n%s", input, ours.xml)
		}
		// the NIfTI-2 header: 1 x 1 x 1 x 1 x 1 x grays, float32, the CIFTI intent for scalars
		h, o := ours.header, ours.order
		dims := make([]int, 8)
		for i := range dims {
			dims[i] = int(o.Uint64(h[16+8*i:]))
		}
		intent, name := int(o.Uint32(h[504:])), strings.TrimRight(string(h[508:524]), "\x00")
		wantIntent, wantName := 3006, "ConnDenseScalar"
		if strings.HasSuffix(want, ".pscalar.nii") {
			wantIntent, wantName = 3008, "ConnParcelScalr"
		}
		if fmt.Sprint(dims[:7]) != fmt.Sprint([]int{6, 1, 1, 1, 1, 1, g.Targets()}) || intent != wantIntent || name != wantName || o.Uint16(h[12:]) != 16 {
			t.Errorf("%s: header dims %v intent %d %q datatype %d", input, dims, intent, name, o.Uint16(h[12:]))
		}
		// the written file is itself a space to write in (sweep keeps it as meta/space)
		if g2, err := ReadGeometry(out); err != nil || g2.Targets() != g.Targets() || g2.VolumeExt() != g.VolumeExt() {
			t.Errorf("%s: ReadGeometry of the written file: %v, %v", input, g2, err)
		}
		CloseAll(arrs)
		CloseAll(back)
		CloseAll(ref)
	}
}

// Several maps: named scores_1, scores_2, ..., stored with the maps varying fastest.
func TestCiftiFrames(t *testing.T) {
	g, err := ReadGeometry(filepath.Join("..", "testdata", "neuro", "series.dtseries.nii"))
	if err != nil {
		t.Fatal(err)
	}
	n := g.Targets()
	data := make([]float64, 3*n)
	for i := range data {
		data[i] = float64(i)
	}
	out := filepath.Join(t.TempDir(), "r2.dscalar.nii")
	if err := WriteFrames(out, g, 3, data); err != nil {
		t.Fatal(err)
	}
	arrs, err := Read(out)
	if err != nil {
		t.Fatal(err)
	}
	a := arrs[0]
	if fmt.Sprint(a.Shape) != fmt.Sprint([]int{3, n}) || !slices.Equal(a.F32, []float32{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}[:3*n]) {
		t.Errorf("shape %v values %v", a.Shape, a.F32)
	}
	for _, name := range []string{"r2_1", "r2_2", "r2_3"} {
		if !strings.Contains(string(a.Geometry.xml), "<MapName>"+name+"</MapName>") {
			t.Errorf("no map %s in\n%s", name, a.Geometry.xml)
		}
	}
	if err := WriteFrames(out, g, 2, data); err == nil {
		t.Error("3 maps' values written as 2")
	}
	if _, err := g.Coordinates(); err == nil || !strings.Contains(err.Error(), "give their coordinates") {
		t.Errorf("coordinates of grayordinates: %v", err)
	}
	CloseAll(arrs)
}

// A label file's table (NiBabel's LabelAxis) names its labels.
func TestCiftiLabels(t *testing.T) {
	exp := loadNeuroExpected(t)
	g, err := ReadGeometry(filepath.Join("..", "testdata", "neuro", "atlas.dlabel.nii"))
	if err != nil {
		t.Fatal(err)
	}
	labels, err := g.Labels()
	if err != nil {
		t.Fatal(err)
	}
	want := exp.Files["atlas.dlabel.nii"].Cifti.Labels
	if len(want) != 3 || len(labels) != len(want) {
		t.Fatalf("labels %v, want %v", labels, want)
	}
	for k, v := range want {
		var key int
		fmt.Sscan(k, &key)
		if labels[key] != v {
			t.Errorf("label %d = %q, want %q", key, labels[key], v)
		}
	}
	for _, name := range []string{"series.dtseries.nii", "float32_be.nii"} {
		g, err := ReadGeometry(filepath.Join("..", "testdata", "neuro", name))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := g.Labels(); err == nil {
			t.Errorf("%s: labels of a file without a label table", name)
		}
	}
}

// Damaged CIFTI headers are refused with the reason, by Read and ReadGeometry alike.
func TestCiftiRefused(t *testing.T) {
	orig, err := os.ReadFile(filepath.Join("..", "testdata", "neuro", "series.dtseries.nii"))
	if err != nil {
		t.Fatal(err)
	}
	o := binary.LittleEndian
	dir := t.TempDir()
	for _, c := range []struct {
		name, want string
		edit       func(b []byte) []byte
	}{
		{"noext", "without its XML extension", func(b []byte) []byte { b[540] = 0; return b }},
		{"hugeext", "past the data offset", func(b []byte) []byte { o.PutUint32(b[544:], 1<<30); return b }},
		{"cutheader", "truncated", func(b []byte) []byte { return b[:600] }},
		{"badxml", "CIFTI XML", func(b []byte) []byte { copy(b[552:], "<CIFTI Version=\"2\"><Matrix><"); return b }},
		{"cifti1", "only CIFTI-2", func(b []byte) []byte {
			i := strings.Index(string(b), `Version="2`)
			b[i+9] = '1'
			return b
		}},
	} {
		p := filepath.Join(dir, c.name+".dtseries.nii")
		if err := os.WriteFile(p, c.edit(slices.Clone(orig)), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := Read(p); err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), p) {
			t.Errorf("%s: Read: %v, want an error naming the file and saying %q", c.name, err, c.want)
		}
		if _, err := ReadGeometry(p); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: ReadGeometry: %v, want %q", c.name, err, c.want)
		}
	}
}

// Files of as many grayordinates that are other ones (NiBabel-written: the right cortex first,
// another medial wall, another thalamus voxel, another volume, parcels of other vertices) are
// not the same grid, and the message says the first difference; the same grayordinates are,
// also when written back by brainalign.
func TestCiftiSameGrid(t *testing.T) {
	geo := func(name string) *Geometry {
		t.Helper()
		g, err := ReadGeometry(filepath.Join("..", "testdata", "neuro", name))
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	hcp := geo("hcp.dscalar.nii")
	out := filepath.Join(t.TempDir(), "back.dscalar.nii")
	if err := WriteVolume(out, hcp, make([]float64, hcp.Targets())); err != nil {
		t.Fatal(err)
	}
	back, err := ReadGeometry(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		a, b *Geometry
		want string // "" for the same grid
	}{
		{hcp, hcp, ""},
		{back, hcp, ""},
		{geo("hcp_ceiling.dscalar.nii"), hcp, ""},
		{geo("scores.dscalar.nii"), geo("mixed.dtseries.nii"), ""},
		{geo("scores.pscalar.nii"), geo("parcels.ptseries.nii"), ""},
		{geo("hcp_rl.dlabel.nii"), hcp, "brain model 1 is CORTEX_RIGHT, not CORTEX_LEFT"},
		{geo("hcp_vertex.dscalar.nii"), hcp, "CORTEX_LEFT vertex 2 is 2, not 3"},
		{geo("hcp_voxel.dscalar.nii"), hcp, "THALAMUS_LEFT voxel 1 is [1 0 1], not [2 0 1]"},
		{geo("hcp_affine.dscalar.nii"), hcp, "the volume's voxel-to-world matrix row 1 [-2 0.1 0 92], not [-2 0.1 0 90]"},
		{geo("parcels_other.pscalar.nii"), geo("parcels.ptseries.nii"), "parcel p_one CORTEX_LEFT has 2 vertices, not 3"},
		{geo("parcels.ptseries.nii"), geo("series.dtseries.nii"), "2 grayordinates, not 4"},
		{geo("mixed.dtseries.nii"), hcp, "6 grayordinates, not 14"},
	} {
		err := SameGrid(c.a, c.b)
		if c.want == "" && err != nil || c.want != "" && (err == nil || err.Error() != c.want) {
			t.Errorf("SameGrid: %v, want %q", err, c.want)
		}
	}
}

// Grayordinates are placed as NiBabel places them: each cortex vertex at its vertex index on its
// hemisphere's midthickness (all vertices, the medial wall's too), each voxel by the volume's
// affine.
func TestCiftiCoordinates(t *testing.T) {
	exp := loadNeuroExpected(t)
	dir := filepath.Join("..", "testdata", "neuro")
	g, err := ReadGeometry(filepath.Join(dir, "hcp.dscalar.nii"))
	if err != nil {
		t.Fatal(err)
	}
	if s := g.CiftiSurfaces(); fmt.Sprint(s) != "[{CORTEX_LEFT 9} {CORTEX_RIGHT 9}]" || s[0].Hemisphere() != "lh" || s[1].Hemisphere() != "rh" {
		t.Errorf("surfaces %v", s)
	}
	var surfaces [][]float64
	for _, side := range []string{"L", "R"} {
		p := filepath.Join(dir, side+".midthickness.surf.gii")
		arrs, err := Read(p)
		if err != nil {
			t.Fatal(err)
		}
		var xyz []float64
		for _, v := range arrs[0].F32 {
			xyz = append(xyz, float64(v))
		}
		surfaces = append(surfaces, xyz)
		CloseAll(arrs)
		if h, err := FileHemisphere(p); err != nil || h != map[string]string{"L": "lh", "R": "rh"}[side] {
			t.Errorf("%s: hemisphere %q, %v", p, h, err)
		}
	}
	got, err := g.CiftiCoordinates(surfaces)
	if err != nil {
		t.Fatal(err)
	}
	want := exp.Files["hcp.dscalar.nii"].Coords
	if len(want) != 3*g.Targets() || len(got) != len(want) {
		t.Fatalf("%d coordinates, want %d (%d grayordinates)", len(got), len(want), g.Targets())
	}
	for i := range want {
		if math.Abs(got[i]-want[i]) > 1e-9 {
			t.Errorf("grayordinate %d axis %d: %v, want %v", i/3, i%3, got[i], want[i])
		}
	}
	if _, err := g.CiftiCoordinates(surfaces[:1]); err == nil {
		t.Error("one surface for two cortices")
	}
	if _, err := g.CiftiCoordinates([][]float64{surfaces[0], surfaces[1][:6]}); err == nil || !strings.Contains(err.Error(), "CORTEX_RIGHT") {
		t.Errorf("a surface of 2 vertices for 9: %v", err)
	}
	p, _ := ReadGeometry(filepath.Join(dir, "parcels.ptseries.nii"))
	if _, err := p.CiftiCoordinates(nil); err == nil {
		t.Error("parcels placed")
	}
}

// Grayordinates as a file may list them (testdata/gen_neuro.py's unsorted.dtseries.nii: the left
// cortex's vertices unsorted, left thalamus voxels in no index order on an oblique volume between
// the two cortices) are read in the file's order, each with NiBabel's structure, vertex or voxel,
// and placed where NiBabel places them; written back, the grayordinates map is NiBabel's.
func TestCiftiUnsortedGrayordinates(t *testing.T) {
	exp := loadNeuroExpected(t)
	dir := filepath.Join("..", "testdata", "neuro")
	want := exp.Files["unsorted.dtseries.nii"]
	arrs, err := Read(filepath.Join(dir, "unsorted.dtseries.nii"))
	if err != nil {
		t.Fatal(err)
	}
	defer CloseAll(arrs)
	g := arrs[0].Geometry
	if len(want.Grayordinates) != 13 || g == nil || g.Targets() != len(want.Grayordinates) || arrs[0].Shape[1] != g.Targets() {
		t.Fatalf("geometry %+v of shape %v, want %d grayordinates", g, arrs[0].Shape, len(want.Grayordinates))
	}
	structures, grays := g.CiftiStructures(), g.grays.grayordinates()
	for i, w := range want.Grayordinates {
		s := strings.TrimPrefix(w.Structure, "CIFTI_STRUCTURE_")
		ijk := w.Voxel
		if w.Vertex >= 0 {
			ijk = [3]int{}
		}
		if got := grays[i]; structures[i] != s || got != (grayordinate{s, w.Vertex, ijk}) {
			t.Errorf("grayordinate %d: %s %+v, NiBabel's %s vertex %d voxel %v", i, structures[i], got, s, w.Vertex, w.Voxel)
		}
	}
	if s := g.CiftiSurfaces(); fmt.Sprint(s) != "[{CORTEX_LEFT 8} {CORTEX_RIGHT 6}]" {
		t.Errorf("surfaces %v", s)
	}
	var surfaces [][]float64
	for _, side := range []string{"L", "R"} {
		s, err := Read(filepath.Join(dir, "unsorted_"+side+".surf.gii"))
		if err != nil {
			t.Fatal(err)
		}
		var xyz []float64
		for _, v := range s[0].F32 {
			xyz = append(xyz, float64(v))
		}
		surfaces = append(surfaces, xyz)
		CloseAll(s)
	}
	got, err := g.CiftiCoordinates(surfaces)
	if err != nil {
		t.Fatal(err)
	}
	if len(want.Coords) != 3*g.Targets() || len(got) != len(want.Coords) {
		t.Fatalf("%d coordinates, want %d", len(got), len(want.Coords))
	}
	for i := range want.Coords {
		if math.Abs(got[i]-want.Coords[i]) > 1e-9 {
			t.Errorf("grayordinate %d axis %d: %v, NiBabel's %v", i/3, i%3, got[i], want.Coords[i])
		}
	}
	out := filepath.Join(t.TempDir(), "scores.dscalar.nii")
	if err := WriteVolume(out, g, make([]float64, g.Targets())); err != nil {
		t.Fatal(err)
	}
	back, err := ReadGeometry(out)
	if err != nil {
		t.Fatal(err)
	}
	om, err := parseCifti(back.xml)
	if err != nil {
		t.Fatal(err)
	}
	tm, _ := parseCifti(g.xml)
	o, _ := ciftiMapOf(om, 1)
	r, _ := ciftiMapOf(tm, 1)
	if string(back.xml[o.start:o.end]) != string(g.xml[r.start:r.end]) {
		t.Errorf("grayordinates map written\n%s\nNiBabel's\n%s", back.xml[o.start:o.end], g.xml[r.start:r.end])
	}
	if err := SameGrid(back, g); err != nil {
		t.Errorf("written back: %v", err)
	}
}

// Parcels are columns in order; each one's vertices per structure and its voxels are sets, and
// the surfaces a map: Workbench lists them left first, NiBabel in order of first appearance
// (HCP-MMP starts with R_ parcels), for the same grayordinates.
func TestSameParcelsInAnyListOrder(t *testing.T) {
	left, right := ciftiModel{structure: "CORTEX_LEFT", surface: 9}, ciftiModel{structure: "CORTEX_RIGHT", surface: 9}
	on := func(m ciftiModel, v ...int) ciftiModel { m.vertices = v; return m }
	wb := &ciftiGrays{parcels: true, surfaces: []ciftiModel{left, right}, parcel: []ciftiParcel{
		{name: "R_V1", vertices: []ciftiModel{on(right, 1, 3)}},
		{name: "both", vertices: []ciftiModel{on(left, 2, 4), on(right, 5)}, ijk: []int{1, 2, 3, 0, 0, 1}},
	}}
	nib := &ciftiGrays{parcels: true, surfaces: []ciftiModel{right, left}, parcel: []ciftiParcel{
		{name: "R_V1", vertices: []ciftiModel{on(right, 3, 1)}},
		{name: "both", vertices: []ciftiModel{on(right, 5), on(left, 4, 2)}, ijk: []int{0, 0, 1, 1, 2, 3}},
	}}
	if err := sameParcels(wb, nib); err != nil {
		t.Errorf("the same parcels listed in another order: %v", err)
	}
	nib.parcel[1].vertices[1] = on(left, 4, 6)
	if err := sameParcels(wb, nib); err == nil || !strings.Contains(err.Error(), "parcel both CORTEX_LEFT vertex 0 is 2, not 4") {
		t.Errorf("a parcel with another vertex: %v", err)
	}
	nib.parcel[1].vertices[1] = on(left, 2, 4)
	nib.parcel[0], nib.parcel[1] = nib.parcel[1], nib.parcel[0]
	if err := sameParcels(wb, nib); err == nil || !strings.Contains(err.Error(), "parcel 1 is R_V1, not both") {
		t.Errorf("parcels in another order: %v", err)
	}
}

// SameSelected: CIFTI data taken as already masked must be the grayordinates the mask selects,
// in order (the same file, the same columns: nil; the columns in another order, or a file of
// another medial wall: the first difference named).
func TestSameSelected(t *testing.T) {
	neuro := filepath.Join("..", "testdata", "neuro")
	hcp, err := ReadGeometry(filepath.Join(neuro, "hcp.dscalar.nii"))
	if err != nil {
		t.Fatal(err)
	}
	vertex, err := ReadGeometry(filepath.Join(neuro, "hcp_vertex.dscalar.nii"))
	if err != nil {
		t.Fatal(err)
	}
	all := make([]int, hcp.Targets())
	for i := range all {
		all[i] = i
	}
	if err := SameSelected(hcp, all, hcp); err != nil {
		t.Errorf("the same grayordinates: %v", err)
	}
	swapped := slices.Clone(all)
	swapped[0], swapped[6] = 6, 0
	if err := SameSelected(hcp, swapped, hcp); err == nil || !strings.Contains(err.Error(), "grayordinate 0 is CORTEX_LEFT vertex 0, the mask's 0-th selected is CORTEX_RIGHT vertex") {
		t.Errorf("the columns in another order: %v", err)
	}
	if err := SameSelected(hcp, all, vertex); err == nil || !strings.Contains(err.Error(), "CORTEX_LEFT vertex") {
		t.Errorf("another medial wall: %v", err)
	}
	if err := SameSelected(hcp, all[:5], hcp); err == nil {
		t.Error("14 grayordinates taken for 5 selected")
	}
}
