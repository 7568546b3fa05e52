//go:build cuda

package cuda

import (
	"path/filepath"
	"testing"

	"github.com/brainalign/brainalign/engine"
	"github.com/brainalign/brainalign/engine/enginetest"
)

// TestFeatureBlocks: with no more training rows than features, the Gram matrix, the test rows'
// kernel and the model's V are sums over blocks of features (prepareBlock), as the CPU engine's.
// With blocks of 7 and 64 features (ragged last blocks, many blocks) every scikit-learn fixture
// still passes: the dual-decomposition cases (n < d, standardised, gcv, kfold, near-exact fits)
// and the prediction cases' weights.
func TestFeatureBlocks(t *testing.T) {
	dir, err := enginetest.FixtureDir()
	if err != nil {
		t.Fatal(err)
	}
	for _, block := range []int{7, 64} {
		t.Run("", func(t *testing.T) {
			defer func(b int) { featureBlock = b }(featureBlock)
			featureBlock = block
			newEngine := func(t *testing.T) engine.Engine { return startEngine(t) }
			enginetest.RunParity(t, dir, newEngine)
			enginetest.RunPredict(t, filepath.Join(filepath.Dir(dir), "predict"), newEngine)
		})
	}
}

// TestWideFeatures: activations of 60,000 features for 60 images are scored under a memory limit
// (32 MB) that holds them (14 MB in float32) and blocks of their prepared rows, not the prepared
// rows whole (29 MB more), with the scores of their kernel's 12-feature equivalent.
func TestWideFeatures(t *testing.T) {
	enginetest.RunWideFeatures(t, 60, 12, 60000, 32<<20, func(t *testing.T) engine.Engine { return startEngine(t) })
}

// TestStageTimings: the stages of a Score on resident brain data are parts of its Total (Open's
// upload of the brain data, before Score began, is in none of them).
func TestStageTimings(t *testing.T) {
	enginetest.RunStageTimings(t, func(t *testing.T) engine.Engine { return startEngine(t) })
}
