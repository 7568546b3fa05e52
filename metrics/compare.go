package metrics

import (
	"fmt"

	"github.com/brainalign/brainalign/stats"
)

// Comparison is a paired comparison of two models across subjects.
type Comparison struct {
	Stat, P  float64 // Wilcoxon signed-rank T = min(r+, r-) and two-sided p
	MeanDiff float64 // mean over subjects of a - b
	N        int     // subjects
}

// CompareModels compares a metric of two models measured on the same
// subjects (a[i] and b[i] from subject i) with the two-sided Wilcoxon
// signed-rank test, exact for small samples as scipy.stats.wilcoxon. With 8
// subjects the smallest attainable p is 2/2^8 = 0.0078125.
func CompareModels(a, b []float64) (Comparison, error) {
	if len(a) != len(b) {
		return Comparison{}, fmt.Errorf("metrics: CompareModels: %d and %d subjects", len(a), len(b))
	}
	if len(a) == 0 {
		return Comparison{}, fmt.Errorf("metrics: CompareModels: no subjects")
	}
	s, p, err := stats.Wilcoxon(a, b)
	if err != nil {
		return Comparison{}, fmt.Errorf("metrics: CompareModels: %w", err)
	}
	d := 0.0
	for i := range a {
		d += a[i] - b[i]
	}
	return Comparison{Stat: s, P: p, MeanDiff: d / float64(len(a)), N: len(a)}, nil
}
