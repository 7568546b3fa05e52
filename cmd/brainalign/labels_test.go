package main

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func labelsData(name string) string { return filepath.Join("..", "..", "testdata", "labels", name) }

// Labels saved as other tools save them (testdata/gen_labels.py) are read as numpy indexes them:
// a column or row vector (MATLAB's vectors are 2-d), HDF5 or MATLAB integers, which are read as
// floats, and floats of whole values (MATLAB's double) were refused as "want one 1-d integer
// array", though scikit-learn's GroupKFold and PredefinedSplit take them.
func TestLabelsAsSaved(t *testing.T) {
	want := []int{2, 0, -1, 1, 1, 0}
	for _, c := range []struct {
		name  string
		shift int
	}{{"col.npy", 0}, {"row.npy", 0}, {"labels.h5", 0}, {"labels.mat", 0}, {"col_uint8.h5", 1}, {"floats.npy", 0}, {"double.mat", 0}} {
		for _, what := range []string{"group", "test fold"} {
			got, err := readLabels(labelsData(c.name), len(want), what)
			if err != nil {
				t.Errorf("%s %s labels: %v", c.name, what, err)
				continue
			}
			for i := range got {
				got[i] -= c.shift
			}
			if !slices.Equal(got, want) {
				t.Errorf("%s %s labels: %v, want %v", c.name, what, got, want)
			}
		}
	}
	for _, c := range []struct{ name, msg string }{
		{"big.h5", "int64 group label 1 is 9.0072e+15: 2^53 or more"},
		{"fractional.npy", "float64 group label 3 is 0.5: want whole numbers"},
		{"nan.npy", "float32 group label 4 is NaN: want whole numbers"},
		{"matrix.npy", "shape 2 x 3: want one group label per row"},
	} {
		_, err := readLabels(labelsData(c.name), 6, "group")
		if err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: %v, want an error saying %q", c.name, err, c.msg)
		}
	}
}
