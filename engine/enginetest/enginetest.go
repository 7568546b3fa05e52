// Package enginetest is the conformance suite every engine.Engine runs: parity with
// scikit-learn on the fixtures in testdata/parity (written by testdata/gen_parity.py with
// Debian's scikit-learn 1.2.1, never by brainalign), engine-agnostic properties (planted ground
// truth, batching invariance, memory layouts, input dtypes, degenerate counts, cancellation) and
// bad-input errors.
//
// An engine's test is one line:
//
//	func TestConformance(t *testing.T) {
//		enginetest.RunAll(t, func(t *testing.T) engine.Engine { return fallback.New() })
//	}
//
// The fixtures are found by walking up from the test's working directory (the engine's package
// folder) to the module root; RunParity takes the directory explicitly.
package enginetest

import (
	"testing"

	"github.com/brainalign/brainalign/engine"
)

// RunAll runs the whole suite against engines made by newEngine (called once per subtest; the
// suite closes each engine it makes). An engine that cannot run here (no device) should call
// t.Skip with the reason from newEngine.
func RunAll(t *testing.T, newEngine func(t *testing.T) engine.Engine) {
	t.Run("parity", func(t *testing.T) {
		dir, err := FixtureDir()
		if err != nil {
			t.Fatalf("parity fixtures: %v", err)
		}
		RunParity(t, dir, newEngine)
	})
	t.Run("properties", func(t *testing.T) { RunProperties(t, newEngine) })
	t.Run("errors", func(t *testing.T) { RunErrors(t, newEngine) })
}
