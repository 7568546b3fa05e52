package array

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
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
	} {
		if got := PartNames(c.paths); !slices.Equal(got, c.want) {
			t.Errorf("PartNames(%q) = %q, want %q", c.paths, got, c.want)
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
	files, err := WriteNamed(g, "scores", data, func(f string) string { return filepath.Join(dir, f) })
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
	if _, err := WriteNamed(g2, "short", data[:3], func(f string) string { return filepath.Join(dir, f) }); err == nil {
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
