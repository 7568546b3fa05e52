package stats

import "sort"

// Rank returns the ranks of x, 1-based, with tied values given the average of
// the ranks they span (scipy.stats.rankdata, method='average'). NaN values
// sort last, each in its own group.
func Rank(x []float64) []float64 {
	n := len(x)
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return less(x[idx[a]], x[idx[b]]) })
	r := make([]float64, n)
	for i := 0; i < n; {
		j := i + 1
		for j < n && x[idx[j]] == x[idx[i]] {
			j++
		}
		// Positions i..j-1 hold equal values: ranks i+1..j, mean (i+1+j)/2.
		avg := float64(i+1+j) / 2
		for k := i; k < j; k++ {
			r[idx[k]] = avg
		}
		i = j
	}
	return r
}

// less orders NaN after every number, so sorting never sees an inconsistent
// comparison.
func less(a, b float64) bool {
	if a != a {
		return false
	}
	if b != b {
		return true
	}
	return a < b
}

// tieGroups returns the sizes (> 1) of the groups of equal values in x.
func tieGroups(x []float64) []int {
	s := append([]float64(nil), x...)
	sort.Float64s(s)
	var g []int
	for i := 0; i < len(s); {
		j := i + 1
		for j < len(s) && s[j] == s[i] {
			j++
		}
		if j-i > 1 {
			g = append(g, j-i)
		}
		i = j
	}
	return g
}
