package enginetest

import (
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/brainalign/brainalign/engine"
)

// TestFixtures checks that every fixture loads, is consistent, and that the reference outputs
// have the properties their cases were built for.
func TestFixtures(t *testing.T) {
	dir, err := FixtureDir()
	if err != nil {
		t.Fatal(err)
	}
	cases, err := LoadCases(dir)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]*Case{}
	for _, c := range cases {
		byName[c.Name] = c
		if _, err := c.Options(engine.Float64); err != nil {
			t.Errorf("%s: %v", c.Name, err)
		}
		if c.Sklearn == "" || c.Description == "" {
			t.Errorf("%s: case.json lacks the sklearn version or a description", c.Name)
		}
		for k, a := range c.Chosen {
			found := false
			for _, g := range c.Alphas {
				found = found || g == a
			}
			if !found {
				t.Errorf("%s: chosen penalty %g (pair %d) is not in the grid", c.Name, a, k)
			}
		}
		for k, r := range c.FoldScores {
			if math.IsNaN(r) || math.Abs(r) > 1 {
				t.Errorf("%s: fold score %d is %v", c.Name, k, r)
			}
		}
	}
	want := []string{"n_gt_d", "n_lt_d", "n_train_eq_d", "n_train_eq_d_minus1", "n_train_eq_d_plus1",
		"collinear", "scales", "constant_targets", "no_intercept", "folds3", "folds10", "one_alpha",
		"descending", "float32_input", "many_targets", "meg3d", "gcv", "kfold5_r2", "kfold3_pearson",
		"shared_loo", "shared_kfold5"}
	for _, name := range want {
		if byName[name] == nil {
			t.Errorf("fixture %q missing", name)
		}
	}
	if c := byName["descending"]; c != nil {
		for f := 0; f < c.Folds; f++ {
			for _, tt := range []int{3, 17} { // constant targets: a tie over the whole grid
				if a := c.Chosen[f*c.Y.Cols+tt]; a != c.Alphas[0] {
					t.Errorf("descending: constant target %d fold %d chose %g, want the first penalty %g", tt, f, a, c.Alphas[0])
				}
			}
		}
	}
	if c := byName["float32_input"]; c != nil && (c.X.F32 == nil || c.Y.F32 == nil) {
		t.Errorf("float32_input: X and Y should load as float32")
	}
	if c := byName["meg3d"]; c != nil && (len(c.YShape) != 3 || c.Y.Cols != c.YShape[1]*c.YShape[2]) {
		t.Errorf("meg3d: Y shape %v loaded as %d columns", c.YShape, c.Y.Cols)
	}
	if c := byName["constant_targets"]; c != nil && c.Degenerate == 0 {
		t.Errorf("constant_targets: no degenerate pairs recorded")
	}
}

// TestReadNPY covers the header variants the fixtures do not: version 2, Fortran order.
func TestReadNPY(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, version byte, header string, data []byte) string {
		for (len(header)+12)%64 != 63 {
			header += " "
		}
		header += "\n"
		var b []byte
		b = append(b, "\x93NUMPY"...)
		b = append(b, version, 0)
		n := len(header)
		if version == 1 {
			b = append(b, byte(n), byte(n>>8))
		} else {
			b = append(b, byte(n), byte(n>>8), byte(n>>16), byte(n>>24))
		}
		b = append(b, header...)
		b = append(b, data...)
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// 2 x 3 float32 in Fortran order: columns (1,4), (2,5), (3,6)
	var data []byte
	for _, v := range []float32{1, 4, 2, 5, 3, 6} {
		u := math.Float32bits(v)
		data = append(data, byte(u), byte(u>>8), byte(u>>16), byte(u>>24))
	}
	p := write("f.npy", 2, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", data)
	a, err := readNPY(p)
	if err != nil {
		t.Fatal(err)
	}
	m, err := a.matrix()
	if err != nil {
		t.Fatal(err)
	}
	if !m.ColMajor || m.Rows != 2 || m.Cols != 3 || m.At(1, 2) != 6 || m.At(0, 1) != 2 {
		t.Errorf("Fortran float32: got %+v", m)
	}
	if got := a.float64s(); got[1] != 2 || got[3] != 4 {
		t.Errorf("float64s in C order: %v", got)
	}
	bad := write("bad.npy", 1, "{'descr': '<i8', 'fortran_order': False, 'shape': (1,), }", make([]byte, 8))
	if _, err := readNPY(bad); err == nil {
		t.Errorf("int64 accepted")
	}
	short := write("short.npy", 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", make([]byte, 8))
	if _, err := readNPY(short); err == nil {
		t.Errorf("truncated data accepted")
	}
}
