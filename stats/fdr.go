package stats

import (
	"math"
	"sort"
)

// BenjaminiHochberg returns the Benjamini-Hochberg adjusted p-values
// (q-values) of p, in the order of p: adj_(i) = min(1, min_{j>=i} p_(j) m/j)
// over the ascending order, as scipy.stats.false_discovery_control(p,
// method='bh') and statsmodels' multipletests(method='fdr_bh'). NaN entries,
// and entries outside [0, 1], are not p-values: they are left out of m and
// come back NaN, so a target whose test was undefined is never declared
// significant.
func BenjaminiHochberg(p []float64) (adjusted []float64) {
	adjusted, idx := ascending(p)
	m := len(idx)
	run := 1.0
	for k := m - 1; k >= 0; k-- {
		v := p[idx[k]] * float64(m) / float64(k+1)
		if v < run {
			run = v
		}
		adjusted[idx[k]] = run
	}
	return adjusted
}

// FDRMask reports which p-values are significant at false discovery rate q
// under Benjamini-Hochberg: adjusted p <= q. NaN p-values are never
// significant.
func FDRMask(p []float64, q float64) []bool {
	adj := BenjaminiHochberg(p)
	mask := make([]bool, len(p))
	for i, v := range adj {
		mask[i] = v <= q
	}
	return mask
}

// Holm returns the Holm-Bonferroni adjusted p-values of p, in the order of p:
// adj_(i) = max_{j<=i} min(1, (m-j+1) p_(j)) over the ascending order, as
// statsmodels' multipletests(method='holm'). It controls the family-wise error
// rate (the chance of any false positive), where BenjaminiHochberg controls the
// false discovery rate. NaN entries, and entries outside [0, 1], are left out of
// m and come back NaN.
func Holm(p []float64) (adjusted []float64) {
	adjusted, idx := ascending(p)
	m := len(idx)
	run := 0.0
	for k, i := range idx {
		run = math.Max(run, math.Min(1, float64(m-k)*p[i]))
		adjusted[i] = run
	}
	return adjusted
}

// ascending returns the indices of the p-values in [0, 1], in ascending order of p (stable), and
// an adjusted slice holding NaN at the others.
func ascending(p []float64) (adjusted []float64, idx []int) {
	adjusted = make([]float64, len(p))
	idx = make([]int, 0, len(p))
	for i, v := range p {
		if v >= 0 && v <= 1 {
			idx = append(idx, i)
		} else {
			adjusted[i] = math.NaN()
		}
	}
	sort.SliceStable(idx, func(a, b int) bool { return p[idx[a]] < p[idx[b]] })
	return adjusted, idx
}
