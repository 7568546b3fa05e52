package metrics

import (
	"fmt"
	"math"

	"github.com/brainalign/brainalign/stats"
)

// Comparison is a paired comparison of two models across subjects.
type Comparison struct {
	Stat     float64 `json:"stat"`      // Wilcoxon signed-rank T = min(r+, r-)
	P        float64 `json:"p"`         // two-sided p-value
	MeanDiff float64 `json:"mean_diff"` // mean over subjects of a - b
	N        int     `json:"n"`         // subjects
	Note     string  `json:"note,omitempty"`
}

// NoDifferenceNote is the Comparison's note when every paired difference is zero.
const NoDifferenceNote = "every paired difference is zero: no difference between the models (T = 0, p = 1)"

// CompareModels compares a metric of two models measured on the same
// subjects (a[i] and b[i] from subject i) with the two-sided Wilcoxon
// signed-rank test, exact for small samples as scipy.stats.wilcoxon. With 8
// subjects the smallest attainable p is 2/2^8 = 0.0078125.
//
// When every difference is zero (a model compared with itself), there is no
// evidence of a difference: CompareModels reports T = 0, p = 1 and
// NoDifferenceNote, where scipy.stats.wilcoxon raises (SciPy 1.10) or returns
// NaN. Values that are not finite (an undefined per-subject score) are errors
// naming the subject (0-based).
func CompareModels(a, b []float64) (Comparison, error) {
	if len(a) != len(b) {
		return Comparison{}, fmt.Errorf("metrics: CompareModels: %d and %d subjects", len(a), len(b))
	}
	if len(a) == 0 {
		return Comparison{}, fmt.Errorf("metrics: CompareModels: no subjects")
	}
	zero := true
	d := 0.0
	for i := range a {
		if !isFinite(a[i]) || !isFinite(b[i]) {
			return Comparison{}, fmt.Errorf("metrics: CompareModels: subject %d: the values are not both finite (%v and %v)", i, a[i], b[i])
		}
		zero = zero && a[i] == b[i]
		d += a[i] - b[i]
	}
	if zero {
		return Comparison{Stat: 0, P: 1, MeanDiff: 0, N: len(a), Note: NoDifferenceNote}, nil
	}
	s, p, err := stats.Wilcoxon(a, b)
	if err != nil {
		return Comparison{}, fmt.Errorf("metrics: CompareModels: %w", err)
	}
	c := Comparison{Stat: s, P: p, MeanDiff: d / float64(len(a)), N: len(a)}
	if zeros := countZeroDifferences(a, b); zeros > 0 {
		c.Note = ZeroDifferencesNote(zeros, len(a))
	}
	return c, nil
}

// ZeroDifferencesNote says how a p-value with zero paired differences among n was computed:
// as scipy.stats.wilcoxon (zero_method='wilcox'), the zeros dropped and p from the normal
// approximation, which can fall below the exact test's smallest p (2/2^n) and is unreliable with
// few subjects.
func ZeroDifferencesNote(zeros, n int) string {
	return fmt.Sprintf("%d of %d paired differences are exactly zero (equal values): dropped, and p comes from the normal approximation "+
		"(as scipy.stats.wilcoxon), unreliable with fewer than about 10 nonzero differences (here %d)", zeros, n, n-zeros)
}

func countZeroDifferences(a, b []float64) int {
	n := 0
	for i := range a {
		if a[i] == b[i] {
			n++
		}
	}
	return n
}

func isFinite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
