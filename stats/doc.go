// Package stats holds the small numerical statistics that brainalign's metrics
// are built from. Every function is checked against SciPy 1.10.1 (Debian's
// version) through the fixtures in testdata/stats, written by
// testdata/gen_stats.py.
//
// Correlation. For paired samples x, y of length n,
//
//	r = sum (x_i - xbar)(y_i - ybar) / (||x - xbar|| ||y - ybar||)
//
// and the two-sided p-value uses t = r sqrt((n-2)/(1-r^2)) with n-2 degrees of
// freedom, p = 2 P(T_{n-2} >= |t|) = I_{1-r^2}((n-2)/2, 1/2), the regularised
// incomplete beta function; this is scipy.stats.pearsonr. For n = 2 the
// coefficient is ±1 and p = 1, as SciPy returns. Spearman's rho is Pearson's r
// of the average ranks, with t = rho sqrt((n-2)/((1+rho)(1-rho))), as
// scipy.stats.spearmanr; rho is computed in np.corrcoef's order of operations,
// which spearmanr uses, so that it is SciPy's to the last bit (monotone data of
// 3 pairs give exactly 1 and p = 0, not 1 - 2e-16 and p = 1e-8). A constant
// input has no correlation: the functions return NaN for r and p together with
// an error wrapping ErrConstantInput.
//
// One-sample t-test (scipy.stats.ttest_1samp, two-sided):
//
//	t = (xbar - mu) / (s / sqrt(n)),  s^2 = sum (x_i - xbar)^2 / (n-1),
//	p = 2 P(T_{n-1} >= |t|).
//
// A sample with zero spread gives t = ±Inf and p = 0 when xbar != mu, NaN and
// NaN when xbar == mu, as SciPy does; fewer than two values give NaN.
//
// Benjamini-Hochberg. For m p-values sorted ascending, p_(1) <= ... <= p_(m),
//
//	adj_(i) = min(1, min_{j >= i} p_(j) m / j),
//
// which is scipy.stats.false_discovery_control(method='bh') and statsmodels'
// fdr_bh. NaN p-values are left out of m and stay NaN.
//
// Wilcoxon signed-rank test (scipy.stats.wilcoxon with its defaults:
// zero_method='wilcox', correction=False, two-sided, method='auto'). With
// d = x - y, r+ and r- the sums of the average ranks of |d| over positive and
// negative differences, the statistic is T = min(r+, r-). SciPy 1.10 chooses:
//
//   - exact when n = len(d) <= 50 and no d is zero: the null distribution of
//     r+ is built by the recursion c_k(s) = (c_{k-1}(s) + c_{k-1}(s-k)) / 2;
//     p = min(1, 2 min(P(R+ <= r+), P(R+ >= r+))), and p = 1 when r+ is the
//     centre of the distribution. Ties do not switch 1.10 away from the exact
//     distribution; r+ (possibly a half-integer then) is truncated to an
//     integer, exactly as SciPy 1.10 does (newer SciPy switches to the normal
//     approximation instead).
//   - the normal approximation otherwise (n > 50, or any zero): zeros are
//     dropped, mean n(n+1)/4, variance (n(n+1)(2n+1) - sum_t t(t^2-1)/2)/24
//     over groups of t tied ranks, z = (T - mean)/sd, p = 2 P(Z >= |z|).
//
// Distributions come from gonum.org/v1/gonum/stat/distuv.
package stats
