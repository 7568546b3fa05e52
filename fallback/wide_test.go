package fallback

import (
	"path/filepath"
	"testing"

	"github.com/brainalign/brainalign/engine"
	"github.com/brainalign/brainalign/engine/enginetest"
)

// TestFeatureBlocks: with fewer training rows than features, the Gram matrix, the test rows'
// kernel and the model's V are summed a block of features at a time. With blocks of 7 and 64
// features (ragged last blocks, many blocks) every scikit-learn fixture still passes: the
// dual-decomposition cases (n < d, standardised, gcv, kfold, near-exact fits) and the
// prediction cases' weights.
func TestFeatureBlocks(t *testing.T) {
	dir, err := enginetest.FixtureDir()
	if err != nil {
		t.Fatal(err)
	}
	for _, block := range []int{7, 64} {
		t.Run("", func(t *testing.T) {
			defer func(b int) { featureBlock = b }(featureBlock)
			featureBlock = block
			newEngine := func(t *testing.T) engine.Engine { return New() }
			enginetest.RunParity(t, dir, newEngine)
			enginetest.RunPredict(t, filepath.Join(filepath.Dir(dir), "predict"), newEngine)
		})
	}
}

// TestWideFeatures: activations of 60,000 features for 60 images (flattened feature maps) are
// scored under a memory limit below what their prepared rows would take whole (60 x 60,000
// float64, twice: 58 MB), with the scores of their kernel's 12-feature equivalent.
func TestWideFeatures(t *testing.T) {
	enginetest.RunWideFeatures(t, 60, 12, 60000, 40<<20, func(t *testing.T) engine.Engine { return New() })
}
