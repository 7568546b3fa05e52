package fallback_test

import (
	"testing"

	"github.com/brainalign/brainalign/engine"
	"github.com/brainalign/brainalign/engine/enginetest"
	"github.com/brainalign/brainalign/fallback"
)

// TestConformance runs the engine conformance suite (scikit-learn parity, properties, errors)
// against the CPU engine.
func TestConformance(t *testing.T) {
	enginetest.RunAll(t, func(t *testing.T) engine.Engine { return fallback.New() })
}

// TestStageTimings: the CPU engine's stages are parts of its Total.
func TestStageTimings(t *testing.T) {
	enginetest.RunStageTimings(t, func(t *testing.T) engine.Engine { return fallback.New() })
}
