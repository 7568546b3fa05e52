package ceiling

import (
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/brainalign/brainalign/array"
)

func TestReadJoinsFilesAndChecksValues(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, shape []int, data any) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := array.WriteNPY(p, shape, data); err != nil {
			t.Fatal(err)
		}
		return p
	}
	lh := write("lh.ceiling.npy", []int{2, 2}, []float32{0, 0.25, float32(math.NaN()), 1})
	rh := write("rh.ceiling.npy", []int{3}, []float64{0.5, 0.75, 0.125})

	v, shape, sizes, err := Read(lh)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(shape, []int{2, 2}) || !slices.Equal(sizes, []int{4}) || v[1] != 0.25 || !math.IsNaN(v[2]) || v[3] != 1 {
		t.Fatalf("one file: %v %v %v", v, shape, sizes)
	}
	v, shape, sizes, err = Read(lh, rh)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(shape, []int{7}) || !slices.Equal(sizes, []int{4, 3}) || len(v) != 7 || v[4] != 0.5 || v[6] != 0.125 {
		t.Fatalf("joined: %v %v %v", v, shape, sizes)
	}

	for _, c := range []struct {
		name, want string
		data       any
	}{
		{"above.npy", "value 1.5 at target 1 is not a ceiling on r", []float64{0.5, 1.5}},
		{"negative.npy", "value -0.25 at target 0", []float32{-0.25, 0}},
		{"inf.npy", "value +Inf at target 1", []float64{0, math.Inf(1)}},
		{"ints.npy", "int64 data, want float32 or float64 ceilings", []int64{0, 1}},
	} {
		p := write(c.name, []int{2}, c.data)
		if _, _, _, err := Read(lh, p); err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), p) {
			t.Errorf("%s: got %v, want an error naming the file and %q", c.name, err, c.want)
		}
	}
	if _, _, _, err := Read(); err == nil {
		t.Error("no file: no error")
	}
}

// A CIFTI or GIFTI ceiling (brainalign ceiling's ceiling.dscalar.nii; NiBabel-written here) is one
// map: read as its grayordinates or vertices are shaped. A file of several maps is refused.
func TestReadOneMapFiles(t *testing.T) {
	neuro := filepath.Join("..", "testdata", "neuro")
	p := filepath.Join(neuro, "hcp_ceiling.dscalar.nii")
	v, shape, sizes, err := Read(p)
	if err != nil {
		t.Fatal(err)
	}
	arrs, err := array.Read(p)
	if err != nil {
		t.Fatal(err)
	}
	defer array.CloseAll(arrs)
	if !slices.Equal(shape, []int{14}) || !slices.Equal(sizes, []int{14}) || len(v) != 14 || v[5] != float64(arrs[0].F64[5]) {
		t.Errorf("%s: %v shaped %v (%v)", p, v, shape, sizes)
	}
	g, err := array.ReadGeometry(filepath.Join(neuro, "lh.atlas.label.gii"))
	if err != nil {
		t.Fatal(err)
	}
	gii := filepath.Join(t.TempDir(), "lh.ceiling.func.gii")
	if err := array.WriteVolume(gii, g, []float64{0, 0.1, 0.2, 0.3, 0.4, 0.5, math.NaN()}); err != nil {
		t.Fatal(err)
	}
	if v, shape, _, err := Read(gii); err != nil || !slices.Equal(shape, []int{7}) || float32(v[5]) != 0.5 || !math.IsNaN(v[6]) {
		t.Errorf("%s: %v shaped %v, %v", gii, v, shape, err)
	}
	maps := filepath.Join(neuro, "maps.dscalar.nii")
	if _, _, _, err := Read(maps); err == nil || !strings.Contains(err.Error(), "a CIFTI file of 2 maps: want one noise ceiling map") {
		t.Errorf("%s: %v", maps, err)
	}
}

// A ceiling map stored as one frame of a 4-d NIfTI file (x, y, z, 1; NiBabel-written) is the
// volume's values, shaped as the volume, as nilearn takes it.
func TestReadOneFrameVolume(t *testing.T) {
	v, shape, sizes, err := Read(filepath.Join("..", "testdata", "neuro", "ceiling_oneframe.nii"))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(shape, []int{3, 4, 1}) || !slices.Equal(sizes, []int{12}) {
		t.Fatalf("shape %v, sizes %v, want the volume's 3 x 4 x 1", shape, sizes)
	}
	for i, x := range v { // np.linspace(0.05, 0.6, 12), C order over (x, y, z)
		if want := float64(float32(0.05 + 0.05*float64(i))); math.Abs(x-want) > 1e-7 {
			t.Errorf("value %d = %v, want %v", i, x, want)
		}
	}
}
