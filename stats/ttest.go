package stats

import (
	"fmt"
	"math"
)

// TTest1Samp is the two-sided one-sample t-test of mean(x) = mu, as
// scipy.stats.ttest_1samp: t = (mean - mu)/(s/sqrt(n)) with the n-1
// standard deviation s, p = 2 P(T_{n-1} >= |t|). With fewer than two values
// both results are NaN; with zero spread t is ±Inf and p is 0 when the mean
// differs from mu, and both are NaN when it does not (SciPy's 0/0).
func TTest1Samp(x []float64, mu float64) (t, p float64) {
	n := len(x)
	if n < 2 {
		return math.NaN(), math.NaN()
	}
	m := mean(x)
	ss := 0.0
	for _, v := range x {
		ss += (v - m) * (v - m)
	}
	return tFromMoments(m-mu, ss/float64(n-1), n)
}

func tFromMoments(diff, variance float64, n int) (t, p float64) {
	se := math.Sqrt(variance / float64(n))
	t = diff / se // 0/0 = NaN and x/0 = ±Inf, as in SciPy
	return t, TTwoSided(t, float64(n-1))
}

// TTest1SampColumns runs TTest1Samp against 0 on every column of data, a
// row-major rows x cols matrix whose rows are replicates (subjects, or
// folds) and whose columns are targets. It is scipy.stats.ttest_1samp(data,
// 0, axis=0). The error reports a data length that does not match the shape
// or fewer than two rows.
func TTest1SampColumns(data []float64, rows, cols int) (t, p []float64, err error) {
	if rows < 0 || cols < 0 || rows*cols != len(data) {
		return nil, nil, fmt.Errorf("stats: TTest1SampColumns: %d values do not make a %d x %d matrix", len(data), rows, cols)
	}
	if rows < 2 {
		return nil, nil, fmt.Errorf("stats: TTest1SampColumns: need at least 2 replicates (rows), got %d", rows)
	}
	// Two passes over rows, each streaming contiguous memory: column sums,
	// then squared deviations from the column means.
	m := make([]float64, cols)
	for i := 0; i < rows; i++ {
		row := data[i*cols : (i+1)*cols]
		for j, v := range row {
			m[j] += v
		}
	}
	for j := range m {
		m[j] /= float64(rows)
	}
	ss := make([]float64, cols)
	for i := 0; i < rows; i++ {
		row := data[i*cols : (i+1)*cols]
		for j, v := range row {
			d := v - m[j]
			ss[j] += d * d
		}
	}
	t = make([]float64, cols)
	p = make([]float64, cols)
	for j := range m {
		t[j], p[j] = tFromMoments(m[j], ss[j]/float64(rows-1), rows)
	}
	return t, p, nil
}
