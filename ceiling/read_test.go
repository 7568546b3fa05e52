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
