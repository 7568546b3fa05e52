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
