package metrics

import (
	"fmt"
	"math"

	"github.com/brainalign/brainalign/stats"
)

// DefaultFDR is the study's false discovery rate for the significance mask.
const DefaultFDR = 0.01

// Significance is the per-target significance of scores across replicates.
type Significance struct {
	Mask []bool    `json:"mask"` // Q <= the FDR threshold
	T    []float64 `json:"t"`    // one-sample t statistic against 0
	P    []float64 `json:"p"`    // two-sided p-value
	Q    []float64 `json:"q"`    // Benjamini-Hochberg adjusted p-values (NaN where P is NaN)
}

// SignificanceMask tests, for every target, whether its scores across a
// replicate axis (subjects, or folds of one subject) have mean 0: a
// two-sided one-sample t-test per target, then Benjamini-Hochberg over
// targets, significant where the adjusted p-value is <= q. scores is
// row-major replicates x targets. q <= 0 selects DefaultFDR (0.01).
//
// The test is two-sided, as scipy.stats.ttest_1samp by default: a target
// reliably predicted worse than chance passes too; combine Mask with T > 0 to
// keep only positive scores. A target with identical scores in every
// replicate has t = ±Inf (p = 0) unless they are all 0 (p NaN, never
// significant).
func SignificanceMask(scores []float64, replicates, targets int, q float64) (Significance, error) {
	const fn = "SignificanceMask"
	if q <= 0 {
		q = DefaultFDR
	}
	if q >= 1 {
		return Significance{}, fmt.Errorf("metrics: %s: FDR threshold %v is not below 1", fn, q)
	}
	if replicates < 2 {
		return Significance{}, fmt.Errorf("metrics: %s: needs at least 2 replicates, got %d", fn, replicates)
	}
	if err := checkTable(fn, "scores", scores, replicates, targets); err != nil {
		return Significance{}, err
	}
	t, p, err := stats.TTest1SampColumns(scores, replicates, targets)
	if err != nil {
		return Significance{}, fmt.Errorf("metrics: %s: %w", fn, err)
	}
	adj := stats.BenjaminiHochberg(p)
	mask := make([]bool, targets)
	for i, v := range adj {
		mask[i] = v <= q
	}
	return Significance{Mask: mask, T: t, P: p, Q: adj}, nil
}

// HeldOutSignificance tests, for every target, a Pearson r between
// predictions and n held-out measurements against 0 (the test of one fixed
// test set, where there are no replicates): the two-sided p-value of r with
// n-2 degrees of freedom (scipy.stats.pearsonr's), then Benjamini-Hochberg
// over targets, significant where the adjusted p-value is <= q. T holds the
// t statistic r sqrt((n-2)/(1-r^2)). A mean of such r's (over layers or
// subjects) may be given in place of one: its null variance is at most one
// r's, so the test stays valid, if conservative. NaN scores are never
// significant. q <= 0 selects DefaultFDR (0.01).
func HeldOutSignificance(r []float64, n int, q float64) (Significance, error) {
	const fn = "HeldOutSignificance"
	if q <= 0 {
		q = DefaultFDR
	}
	if q >= 1 {
		return Significance{}, fmt.Errorf("metrics: %s: FDR threshold %v is not below 1", fn, q)
	}
	if n < 3 {
		return Significance{}, fmt.Errorf("metrics: %s: a held-out Pearson r needs at least 3 rows, got %d", fn, n)
	}
	t := make([]float64, len(r))
	p := make([]float64, len(r))
	for i, v := range r {
		p[i] = stats.PearsonP(v, n)
		t[i] = v * math.Sqrt(float64(n-2)/((1-math.Abs(v))*(1+math.Abs(v))))
	}
	adj := stats.BenjaminiHochberg(p)
	mask := make([]bool, len(r))
	for i, v := range adj {
		mask[i] = v <= q
	}
	return Significance{Mask: mask, T: t, P: p, Q: adj}, nil
}
