package stats

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"gonum.org/v1/gonum/floats/scalar"
)

// jf is a fixture number: JSON null is NaN, "inf" and "-inf" are infinities.
type jf float64

func (f *jf) UnmarshalJSON(b []byte) error {
	switch string(b) {
	case "null":
		*f = jf(math.NaN())
		return nil
	case `"inf"`:
		*f = jf(math.Inf(1))
		return nil
	case `"-inf"`:
		*f = jf(math.Inf(-1))
		return nil
	}
	var v float64
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*f = jf(v)
	return nil
}

func fl(v []jf) []float64 {
	if v == nil {
		return nil
	}
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

type fixture[T any] struct {
	Generator string `json:"generator"`
	Scipy     string `json:"scipy"`
	Cases     T      `json:"cases"`
}

func load[T any](t *testing.T, name string) T {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "stats", name+".json"))
	if err != nil {
		t.Fatalf("fixture %s: %v (regenerate with /usr/bin/python3 testdata/gen_stats.py)", name, err)
	}
	var f fixture[T]
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatalf("fixture %s: %v", name, err)
	}
	if f.Scipy == "" {
		t.Fatalf("fixture %s: no scipy version recorded", name)
	}
	return f.Cases
}

// Tolerances: closed forms (statistics) to 1e-10 relative, p-values to 1e-8.
const (
	tolStat = 1e-10
	tolP    = 1e-8
)

func near(t *testing.T, what string, got, want, tol float64) {
	t.Helper()
	if math.IsNaN(want) {
		if !math.IsNaN(got) {
			t.Errorf("%s = %v, want NaN", what, got)
		}
		return
	}
	if math.IsInf(want, 0) {
		if got != want {
			t.Errorf("%s = %v, want %v", what, got, want)
		}
		return
	}
	if !scalar.EqualWithinAbsOrRel(got, want, tol*1e-6, tol) {
		t.Errorf("%s = %.17g, want %.17g (rel err %.2g, tol %g)", what, got, want, math.Abs(got-want)/math.Abs(want), tol)
	}
}
