package array

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

type neuroExpected struct {
	Files map[string]struct {
		Affine []float64 `json:"affine"`
		Shape  []int     `json:"shape"`
		DType  string    `json:"dtype"`
		Values []float64 `json:"values"`
		Coords []float64 `json:"coords"` // CIFTI: the grayordinates' positions on the midthickness
		Dim    []int     `json:"dim"`    // FreeSurfer's NIfTI-1 surfaces: the header's dim and glmin
		Glmin  int       `json:"glmin"`
		// CIFTI: NiBabel's grayordinates in the file's order (a vertex's voxel and a voxel's
		// vertex are -1)
		Grayordinates []struct {
			Structure string `json:"structure"`
			Vertex    int    `json:"vertex"`
			Voxel     [3]int `json:"voxel"`
		} `json:"grayordinates"`
		// MGH: the scan parameters after the data as NiBabel reads them (TR, flip angle, TE, TI,
		// FoV), and the FreeSurfer tags planted after them that a map keeps, in hex
		MGHFooter   []float64 `json:"mgh_footer"`
		MGHTagsKept string    `json:"mgh_tags_kept"`
		Cifti       *struct {
			Axes   []string          `json:"axes"`
			Labels map[string]string `json:"labels"`
			Names  []string          `json:"names"`
		} `json:"cifti"`
		Gifti *struct {
			Structure string            `json:"structure"`
			Labels    map[string]string `json:"labels"`
			Surface   bool              `json:"surface"`
		} `json:"gifti"`
	} `json:"files"`
	// NIfTI-1 files of vox_offset 0: NiBabel's reading of each before its offset was unset
	UnsetOffset map[string]struct {
		Shape  []int     `json:"shape"`
		Values []float64 `json:"values"`
	} `json:"unset_offset"`
	Bad map[string]string `json:"bad"`
}

func loadNeuroExpected(t *testing.T) neuroExpected {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "neuro", "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var e neuroExpected
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatal(err)
	}
	return e
}

// NIfTI-1/2 and MGH files written by NiBabel read as NiBabel's get_fdata() with time first.
func TestNeuroMatchesNiBabel(t *testing.T) {
	exp := loadNeuroExpected(t)
	if len(exp.Files) < 12 {
		t.Fatalf("%d files in expected.json", len(exp.Files))
	}
	for name, want := range exp.Files {
		path := filepath.Join("..", "testdata", "neuro", name)
		arrs, err := Read(path)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		a := arrs[0]
		// volumes have a geometry; CIFTI files over grayordinates (brain models or parcels) too
		geometry := want.Affine != nil || want.Cifti != nil && want.Cifti.Axes[1] != "ScalarAxis" && want.Cifti.Axes[1] != "SeriesAxis" ||
			want.Gifti != nil && !want.Gifti.Surface // GIFTI data over vertices; a surface's coordinates are not a space
		if fmt.Sprint(a.Shape) != fmt.Sprint(want.Shape) || a.DType != want.DType || (a.Geometry == nil) == geometry {
			t.Errorf("%s: shape %v dtype %s geometry %v, want %v %s", name, a.Shape, a.DType, a.Geometry, want.Shape, want.DType)
			continue
		}
		m, err := a.Matrix()
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range want.Values {
			got := m.At(i/m.Cols, i%m.Cols)
			if math.Abs(got-v) > 1e-6*(1+math.Abs(v)) {
				t.Errorf("%s: value %d = %v, want %v", name, i, got, v)
				break
			}
		}
		CloseAll(arrs)
	}
}

func TestNeuroRefused(t *testing.T) {
	exp := loadNeuroExpected(t)
	for name, want := range exp.Bad {
		_, err := Read(filepath.Join("..", "testdata", "neuro", name))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want an error saying %q", name, err, want)
		}
	}
}

// WriteVolume writes a volume in the input's space: read back, it holds the values, and the
// header keeps the input's geometry (NIfTI: pixdim, qform and sform; MGH: spacing and
// orientation).
func TestWriteVolumeRoundTrip(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"int16_scaled.nii.gz", "float32_be.nii", "float64.nii2.nii", "surface_float.mgz", "short.mgh"} {
		arrs, err := Read(filepath.Join("..", "testdata", "neuro", name))
		if err != nil {
			t.Fatal(err)
		}
		g := arrs[0].Geometry
		vol := make([]float64, g.Targets())
		for i := range vol {
			vol[i] = float64(i)*0.25 - 1
		}
		vol[len(vol)-1] = math.NaN()
		out := filepath.Join(dir, strings.SplitN(name, ".", 2)[0]+g.VolumeExt())
		if err := WriteVolume(out, g, vol); err != nil {
			t.Fatal(err)
		}
		back, err := Read(out)
		if err != nil {
			t.Fatalf("%s: reading back %s: %v", name, out, err)
		}
		b := back[0]
		if fmt.Sprint(b.Shape) != fmt.Sprint(g.Spatial) && !(g.Spatial[1] == 1 && g.Spatial[2] == 1 && len(b.Shape) == 3) {
			t.Errorf("%s: written shape %v, want %v", name, b.Shape, g.Spatial)
		}
		for i, v := range vol {
			got := float64(b.F32[i])
			if got != float64(float32(v)) && !(math.IsNaN(v) && math.IsNaN(got)) {
				t.Errorf("%s: voxel %d = %v, want %v", name, i, got, v)
				break
			}
		}
		h, orig := b.Geometry.header, g.header
		var keep [][2]int // byte ranges that must be unchanged
		switch g.Format {
		case "nifti1":
			keep = [][2]int{{76, 92}, {252, 328}} // pixdim[0..3]; qform/sform codes, quaternion, srows
		case "nifti2":
			keep = [][2]int{{104, 136}, {344, 496}}
		case "mgh":
			keep = [][2]int{{28, 90}} // goodRASflag, spacing, direction cosines, centre
		}
		for _, r := range keep {
			if string(h[r[0]:r[1]]) != string(orig[r[0]:r[1]]) {
				t.Errorf("%s: header bytes %d-%d changed", name, r[0], r[1])
			}
		}
		CloseAll(back)
		CloseAll(arrs)
	}
}

// The voxel-to-world matrix is NiBabel's img.affine (sform, qform with rotation and flip, or the
// base affine; MGH's vox2ras), and Coordinates places every voxel with it.
func TestAffineMatchesNiBabel(t *testing.T) {
	exp := loadNeuroExpected(t)
	for name, want := range exp.Files {
		arrs, err := Read(filepath.Join("..", "testdata", "neuro", name))
		if err != nil {
			t.Fatal(err)
		}
		g := arrs[0].Geometry
		if want.Affine == nil { // CIFTI grayordinates, GIFTI vertices: no voxel grid; surfaces: no space
			switch {
			case want.Cifti != nil:
				if _, err := g.Affine(); g == nil || g.Format != "cifti" || err == nil || !strings.Contains(err.Error(), "CIFTI grayordinates") {
					t.Errorf("%s: CIFTI affine: %v", name, err)
				}
			case want.Gifti != nil && !want.Gifti.Surface:
				if _, err := g.Affine(); g == nil || err == nil || !strings.Contains(err.Error(), ".surf.gii") {
					t.Errorf("%s: GIFTI affine: %v", name, err)
				}
			case g != nil:
				t.Errorf("%s: a surface's coordinates read with a space (%s)", name, g.Format)
			}
			CloseAll(arrs)
			continue
		}
		a, err := g.Affine()
		if g.Spatial[1] == 1 && g.Spatial[2] == 1 { // surface_float.mgz, FreeSurfer's NIfTI surfaces
			if err == nil || !strings.Contains(err.Error(), "is a surface") {
				t.Errorf("%s: %v, want a surface refused", name, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		for i, v := range want.Affine {
			if math.Abs(a[i]-v) > 1e-5*(1+math.Abs(v)) {
				t.Errorf("%s: affine[%d] = %v, NiBabel %v", name, i, a[i], v)
			}
		}
		xyz, err := g.Coordinates()
		if err != nil {
			t.Fatal(err)
		}
		nx, ny, nz := g.Spatial[0], g.Spatial[1], g.Spatial[2]
		if len(xyz) != 3*nx*ny*nz {
			t.Fatalf("%s: %d coordinates", name, len(xyz))
		}
		x, y, z := nx-1, ny/2, nz-1 // a voxel away from the origin
		k := (x*ny+y)*nz + z
		for i := range 3 {
			w := want.Affine[4*i]*float64(x) + want.Affine[4*i+1]*float64(y) + want.Affine[4*i+2]*float64(z) + want.Affine[4*i+3]
			if math.Abs(xyz[3*k+i]-w) > 1e-4 {
				t.Errorf("%s: voxel (%d,%d,%d) coordinate %d = %v, want %v", name, x, y, z, i, xyz[3*k+i], w)
			}
		}
		CloseAll(arrs)
	}
}

// Damaged or unusual headers and paths: a one-line error naming the file and the problem, never
// a hang (a named pipe), a wrapped size or a misleading number.
func TestNeuroHeaderEdges(t *testing.T) {
	dir := t.TempDir()
	orig, err := os.ReadFile(filepath.Join("..", "testdata", "neuro", "float32_be.nii"))
	if err != nil {
		t.Fatal(err)
	}
	var be binary.ByteOrder = binary.LittleEndian // the header's order (the data are big-endian)
	if binary.BigEndian.Uint32(orig) == 348 {
		be = binary.BigEndian
	}
	edit := func(name string, f func(b []byte)) string {
		b := slices.Clone(orig)
		f(b)
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, c := range []struct{ path, want string }{
		{edit("nan_offset.nii", func(b []byte) { be.PutUint32(b[108:], math.Float32bits(float32(math.NaN()))) }), "bad data offset NaN"},
		{edit("huge_offset.nii", func(b []byte) { be.PutUint32(b[108:], math.Float32bits(1e30)) }), "bad data offset 1e+30"},
		{edit("nan_inter.nii", func(b []byte) {
			be.PutUint32(b[112:], math.Float32bits(2))
			be.PutUint32(b[116:], math.Float32bits(float32(math.NaN())))
		}), "valid scl_slope 2 but invalid scl_inter NaN"},
	} {
		if _, err := Read(c.path); err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), c.path) {
			t.Errorf("Read: %v, want %q", err, c.want)
		}
	}
	empty := filepath.Join(dir, "empty.nii")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	folder := filepath.Join(dir, "folder.nii")
	if err := os.Mkdir(folder, 0o755); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]string{empty: "too short for a NIfTI header", folder: "is a directory"} {
		if _, err := ReadGeometry(p); err == nil || !strings.Contains(err.Error(), want) || strings.Count(err.Error(), p) != 1 {
			t.Errorf("ReadGeometry(%s): %v, want %q", p, err, want)
		}
	}
	// an MNI 2 mm run of 3000 volumes (more than 2^31 values) is a valid header
	big := edit("big.nii", func(b []byte) {
		for i, d := range []uint16{4, 91, 109, 91, 3000} {
			be.PutUint16(b[40+2*i:], d)
		}
	})
	if g, err := ReadGeometry(big); err != nil || g.Targets() != 91*109*91 {
		t.Errorf("ReadGeometry of a 91 x 109 x 91 x 3000 header: %v, %v", g, err)
	}
	// NIfTI-1 axes hold at most 32767
	g, err := ReadGeometry(filepath.Join("..", "testdata", "neuro", "float32_be.nii"))
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteFrames(filepath.Join(dir, "long.nii.gz"), g, 40000, make([]float64, 40000*g.Targets())); err == nil || !strings.Contains(err.Error(), "NIfTI-1 holds at most 32767 per axis") {
		t.Errorf("40000 frames as NIfTI-1: %v", err)
	}
}

// A mask or atlas is matched to the data by voxel index: SameGrid tells grids apart by shape and
// voxel-to-world matrix, and leaves surfaces, maps and others alone.
func TestSameGrid(t *testing.T) {
	g, err := ReadGeometry(filepath.Join("..", "testdata", "neuro", "float32_be.nii"))
	if err != nil {
		t.Fatal(err)
	}
	clone := func(edit func(h []byte)) *Geometry {
		c := *g
		c.header = bytes.Clone(g.header)
		c.Spatial = slices.Clone(g.Spatial)
		if edit != nil {
			edit(c.header)
		}
		return &c
	}
	srow := func(i int) func(h []byte) { // sform entry i moved by 0.5 mm
		return func(h []byte) {
			off := 280 + 4*i
			g.order.PutUint32(h[off:], math.Float32bits(math.Float32frombits(g.order.Uint32(h[off:]))+0.5))
		}
	}
	if err := SameGrid(g, clone(nil)); err != nil {
		t.Errorf("a grid and its copy: %v", err)
	}
	if err := SameGrid(g, clone(srow(3))); err == nil || err.Error() != "voxel-to-world matrix row 1 [-2 0.1 0 90], not [-2 0.1 0 90.5]" {
		t.Errorf("shifted 0.5 mm in x: %v", err)
	}
	if err := SameGrid(clone(srow(10)), g); err == nil || !strings.Contains(err.Error(), "row 3 [0 0 2.3 -72], not [0 0 1.8 -72]") {
		t.Errorf("other voxel sizes: %v", err)
	}
	other := clone(nil)
	other.Spatial = []int{2, 4, 3}
	if err := SameGrid(g, other); err == nil || err.Error() != "a grid of 2 x 3 x 4, not 2 x 4 x 3" {
		t.Errorf("another shape: %v", err)
	}
	// surfaces: the number of vertices only; maps and joined spaces of other parts: not compared
	surf, surfShifted := clone(nil), clone(srow(3))
	surf.Spatial, surfShifted.Spatial = []int{24, 1, 1}, []int{24, 1, 1}
	if err := SameGrid(surf, surfShifted); err != nil {
		t.Errorf("surfaces of as many vertices: %v", err)
	}
	gifti := &Geometry{Format: "gifti", Spatial: []int{5}}
	if SameGrid(g, gifti) != nil || SameGrid(nil, g) != nil {
		t.Error("a GIFTI file or none compared with a volume")
	}
	lh, err := Join([]string{"lh.a.nii", "rh.a.nii"}, []*Geometry{g, g})
	if err != nil {
		t.Fatal(err)
	}
	rhShifted, _ := Join([]string{"lh.b.nii", "rh.b.nii"}, []*Geometry{g, clone(srow(3))})
	if err := SameGrid(rhShifted, lh); err == nil || !strings.HasPrefix(err.Error(), "rh: voxel-to-world matrix row 1") {
		t.Errorf("joined spaces, the right part shifted: %v", err)
	}
}

// FreeSurfer's NIfTI-1 surfaces, as NiBabel writes them (fsaverage's 163,842 vertices as
// 27307 x 1 x 6, more than 32,767 otherwise as -1 x 1 x 1 with the count in glmin), read as
// vertices x 1 x 1 in vertex order (vertex v of frame t holds v % 251 + 1000 t, as the generator
// planted them); results over them are written with NiBabel's header, and have no affine.
func TestFreeSurferNIfTISurfaces(t *testing.T) {
	exp := loadNeuroExpected(t)
	dir := t.TempDir()
	for _, name := range []string{"fs_ico7.nii.gz", "fs_large.nii.gz"} {
		want := exp.Files[name]
		arrs, err := Read(filepath.Join("..", "testdata", "neuro", name))
		if err != nil {
			t.Fatal(err)
		}
		a, vertices := arrs[0], want.Shape[1]
		if fmt.Sprint(a.Shape) != fmt.Sprint([]int{2, vertices, 1, 1}) || fmt.Sprint(a.Geometry.Spatial) != fmt.Sprint([]int{vertices, 1, 1}) {
			t.Fatalf("%s: shape %v, space %v, want 2 x %d x 1 x 1", name, a.Shape, a.Geometry.Spatial, vertices)
		}
		for i, v := range a.F32 {
			if w := float32(i%vertices%251 + 1000*(i/vertices)); v != w {
				t.Fatalf("%s: frame %d vertex %d = %v, want %v", name, i/vertices, i%vertices, v, w)
			}
		}
		if _, err := a.Geometry.Affine(); err == nil || !strings.Contains(err.Error(), "is a surface") {
			t.Errorf("%s: affine: %v, want a surface refused", name, err)
		}
		values := make([]float64, 2*vertices)
		for i := range values {
			values[i] = float64(i) / 8
		}
		out := filepath.Join(dir, name)
		if err := WriteFrames(out, a.Geometry, 2, values); err != nil {
			t.Fatal(err)
		}
		back, err := Read(out)
		if err != nil {
			t.Fatal(err)
		}
		b := back[0]
		if fmt.Sprint(b.Shape) != fmt.Sprint(a.Shape) {
			t.Fatalf("%s written: shape %v", name, b.Shape)
		}
		for i, v := range values {
			if float64(b.F32[i]) != v {
				t.Fatalf("%s written: value %d = %v, want %v", name, i, b.F32[i], v)
			}
		}
		h, o := b.Geometry.header, b.Geometry.order
		for i, d := range want.Dim {
			if got := int(int16(o.Uint16(h[40+2*i:]))); got != d {
				t.Errorf("%s written: dim[%d] = %d, NiBabel's %d", name, i, got, d)
			}
		}
		if got := int(int32(o.Uint32(h[144:]))); want.Dim[1] == -1 && got != want.Glmin {
			t.Errorf("%s written: glmin %d, NiBabel's %d", name, got, want.Glmin)
		}
		CloseAll(back)
		CloseAll(arrs)
	}
	// -1 in dim[1] without a count in glmin is not FreeSurfer's
	raw, err := gunzip(mustRead(t, filepath.Join("..", "testdata", "neuro", "fs_large.nii.gz")))
	if err != nil {
		t.Fatal(err)
	}
	clear(raw[144:148])
	bad := filepath.Join(dir, "no_glmin.nii")
	if err := os.WriteFile(bad, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(bad); err == nil || !strings.Contains(err.Error(), "no_glmin.nii: dimensions [-1 1 1 2] with 0 in glmin") {
		t.Errorf("-1 in dim[1], 0 in glmin: %v", err)
	}
}

// A map written in an MGH file's space, 3-d or 4-d, from the space of a read or of ReadGeometry
// (--space, a sweep's saved space), ends with the input's scan parameters as NiBabel reads them
// (MGHHeader's footer: TR, flip angle, TE, TI, FoV), and of the FreeSurfer tags planted after
// them the ones that describe the scan or the space (talairach transform, phase encoding
// direction, field strength), not the command lines nor the frames' labels, and none after
// the old colour table (its extent is not given).
func TestMGHTrailerKept(t *testing.T) {
	exp := loadNeuroExpected(t)
	dir := t.TempDir()
	for _, name := range []string{"scan_params.mgz", "tagged.mgh", "short.mgh"} {
		want := exp.Files[name]
		footer := want.MGHFooter
		if footer == nil {
			footer = make([]float64, 5) // NiBabel's footer of zeros
		}
		tags, err := hex.DecodeString(want.MGHTagsKept)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join("..", "testdata", "neuro", name)
		arrs, err := Read(path)
		if err != nil {
			t.Fatal(err)
		}
		read, err := ReadGeometry(path)
		if err != nil {
			t.Fatal(err)
		}
		for from, g := range map[string]*Geometry{"read": arrs[0].Geometry, "ReadGeometry": read} {
			for _, out := range []struct {
				file   string
				frames int
			}{{"map.mgz", 1}, {"map.mgh", 1}, {"frames.mgz", 3}} {
				p := filepath.Join(dir, from+"_"+out.file)
				if err := WriteFrames(p, g, out.frames, make([]float64, out.frames*g.Targets())); err != nil {
					t.Fatal(err)
				}
				b := mustRead(t, p)
				if strings.HasSuffix(p, ".mgz") {
					if b, err = gunzip(b); err != nil {
						t.Fatal(err)
					}
				}
				end := mghHeaderLen + 4*out.frames*g.Targets()
				if len(b) != end+mghScanParams+len(tags) {
					t.Errorf("%s, %s, written as %s: %d bytes after the data, want %d", name, from, out.file, len(b)-end, mghScanParams+len(tags))
					continue
				}
				for i, v := range footer {
					if got := math.Float32frombits(binary.BigEndian.Uint32(b[end+4*i:])); got != float32(v) {
						t.Errorf("%s, %s, written as %s: scan parameter %d = %v, NiBabel reads %v", name, from, out.file, i, got, v)
					}
				}
				if got := b[end+mghScanParams:]; !bytes.Equal(got, tags) {
					t.Errorf("%s, %s, written as %s: tags %x, want %x", name, from, out.file, got, tags)
				}
			}
		}
		CloseAll(arrs)
	}
}

// A single-file NIfTI-1 of vox_offset 0 (unset) reads as the file did before its offset was
// unset, its data after the header and extension flag (352), after the header alone (348, as
// nifti_clib reads such files), or gzip'd; NiBabel reads the header as data or refuses the file
// (the generator records which), and one whose size fits neither is refused (TestNeuroRefused).
func TestNIfTIUnsetOffset(t *testing.T) {
	exp := loadNeuroExpected(t)
	if len(exp.UnsetOffset) != 3 {
		t.Fatalf("%d files of vox_offset 0 in expected.json", len(exp.UnsetOffset))
	}
	for name, want := range exp.UnsetOffset {
		path := filepath.Join("..", "testdata", "neuro", name)
		arrs, err := Read(path)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		a := arrs[0]
		if !slices.Equal(a.Shape, want.Shape) {
			t.Errorf("%s: shape %v, want %v", name, a.Shape, want.Shape)
		}
		for i, v := range want.Values {
			if float64(a.F32[i]) != v {
				t.Errorf("%s: value %d = %v, want %v", name, i, a.F32[i], v)
				break
			}
		}
		if g, err := ReadGeometry(path); err != nil || SameGrid(g, a.Geometry) != nil {
			t.Errorf("%s: ReadGeometry: %v", name, err)
		}
		CloseAll(arrs)
	}
	// a CIFTI file's XML extension ends at vox_offset: unset, it has no end
	b := mustRead(t, filepath.Join("..", "testdata", "neuro", "hcp.dscalar.nii"))
	clear(b[168:176]) // NIfTI-2's vox_offset
	p := filepath.Join(t.TempDir(), "unset.dscalar.nii")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, read := range []func(string) error{
		func(p string) error { _, err := Read(p); return err },
		func(p string) error { _, err := ReadGeometry(p); return err },
	} {
		if err := read(p); err == nil || !strings.Contains(err.Error(), "a CIFTI file of vox_offset 0") {
			t.Errorf("CIFTI of vox_offset 0: %v", err)
		}
	}
}
