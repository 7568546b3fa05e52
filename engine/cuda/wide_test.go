//go:build cuda

package cuda

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
	enginetest.RunFeatureBlocks(t, setBlock, func(t *testing.T) engine.Engine { return startEngine(t) })
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
