package metrics

import (
	"math"
	"strings"
	"testing"
)

// TestCompareModelsEdges: one subject is enough (scipy.stats.wilcoxon([1], [0]): statistic 0,
// p 1.0), none is an error; no note without zero differences; -Inf is not finite either.
func TestCompareModelsEdges(t *testing.T) {
	c, err := CompareModels([]float64{1}, []float64{0})
	if err != nil || c != (Comparison{Stat: 0, P: 1, MeanDiff: 1, N: 1}) {
		t.Errorf("one subject: %+v, %v; want T 0, p 1, mean difference 1", c, err)
	}
	if _, err := CompareModels(nil, nil); err == nil || !strings.Contains(err.Error(), "no subjects") {
		t.Errorf("no subjects: %v", err)
	}
	// Every difference nonzero (the signs mixed): no note.
	c, err = CompareModels([]float64{1, 2, 3, 4}, []float64{0, 3, 1, 1})
	if err != nil || c.Note != "" {
		t.Errorf("no zero difference: note %q, %v", c.Note, err)
	}
	if _, err := CompareModels([]float64{1, math.Inf(-1)}, []float64{0, 1}); err == nil || !strings.Contains(err.Error(), "subject 1") {
		t.Errorf("-Inf: %v", err)
	}
}
