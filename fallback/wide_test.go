package fallback

import (
	"testing"

	"github.com/brainalign/brainalign/engine"
	"github.com/brainalign/brainalign/engine/enginetest"
)

// TestFeatureBlocks: the dual decomposition summed over blocks of 7 and of 64 features gives
// every scikit-learn fixture's numbers (enginetest.RunFeatureBlocks).
func TestFeatureBlocks(t *testing.T) {
	setBlock := func(b int) func() {
		prev := featureBlock
		featureBlock = b
		return func() { featureBlock = prev }
	}
	enginetest.RunFeatureBlocks(t, setBlock, func(t *testing.T) engine.Engine { return New() })
}

// TestWideFeatures: activations of 60,000 features for 60 images (flattened feature maps) are
// scored under a memory limit below what their prepared rows would take whole (60 x 60,000
// float64, twice: 58 MB), with the scores of their kernel's 12-feature equivalent.
func TestWideFeatures(t *testing.T) {
	enginetest.RunWideFeatures(t, 60, 12, 60000, 40<<20, func(t *testing.T) engine.Engine { return New() })
}

// TestCancelDuringBlocks: a Score or Predict cancelled as a block of features of its dual
// decomposition begins stops at the next block, and the session scores again
// (enginetest.RunCancelDuringBlocks).
func TestCancelDuringBlocks(t *testing.T) {
	enginetest.RunCancelDuringBlocks(t, enginetest.BlockHooks{
		SetBlock: func(b int) func() {
			prev := featureBlock
			featureBlock = b
			return func() { featureBlock = prev }
		},
		SetOnBlock: func(fn func(any, int)) func() {
			prev := onFeatureBlock
			onFeatureBlock = fn
			return func() { onFeatureBlock = prev }
		},
	}, func(t *testing.T) engine.Engine { return New() })
}
