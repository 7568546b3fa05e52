package enginetest

import (
	"path/filepath"
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
	t.Run("predict", func(t *testing.T) {
		dir, err := FixtureDir()
		if err != nil {
			t.Fatalf("prediction fixtures: %v", err)
		}
		RunPredict(t, filepath.Join(filepath.Dir(dir), "predict"), newEngine)
	})
	t.Run("heldout-predictions", func(t *testing.T) {
		dir, err := FixtureDir()
		if err != nil {
			t.Fatalf("parity fixtures: %v", err)
		}
		RunHeldOutPredictions(t, dir, newEngine)
	})
	t.Run("properties", func(t *testing.T) { RunProperties(t, newEngine) })
	t.Run("errors", func(t *testing.T) { RunErrors(t, newEngine) })
}
