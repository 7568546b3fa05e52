package sweep_test

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/brainalign/brainalign/sweep"
)

func labelsFixture(name string) string { return filepath.Join("..", "testdata", "labels", name) }

// MEG times and training steps saved as MATLAB and h5py save them (testdata/gen_labels.py): a
// MATLAB vector is 2-d (1 x n), and steps in an HDF5 or .mat file were read as text lines.
func TestTimesAndStepsAsSaved(t *testing.T) {
	wantTimes := []float64{-0.1, 0, 0.1, 0.2, 0.3}
	for _, name := range []string{"times.mat", "times_col.npy"} {
		m, err := sweep.ReadMeta("", "", "", labelsFixture(name))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !slices.Equal(m.Times, wantTimes) {
			t.Errorf("%s: times %v, want %v", name, m.Times, wantTimes)
		}
	}
	if _, err := sweep.ReadMeta("", "", "", labelsFixture("matrix.npy")); err == nil || !strings.Contains(err.Error(), "times must be a vector (n, n x 1 or 1 x n), got shape [2 3]") {
		t.Errorf("a 2 x 3 array as times: %v", err)
	}
	for _, name := range []string{"steps.h5", "steps.mat"} {
		steps, err := sweep.ParseSteps(labelsFixture(name))
		if err != nil || !slices.Equal(steps, []float64{1000, 10000, 100000}) {
			t.Errorf("%s: steps %v, %v", name, steps, err)
		}
	}
}
