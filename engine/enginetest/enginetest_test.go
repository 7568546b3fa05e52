package enginetest

import (
	"math"
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
		"shared_loo", "shared_kfold5", "kfold4_constant", "kfold4_partly_constant", "kfold4_partly_constant_pearson"}
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
