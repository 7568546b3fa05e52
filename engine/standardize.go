package engine

import "math"

// StandardScale is the factor that standardises a column of n values (Options.Standardize)
// whose mean is mean and centred sum of squares ss (computed in float64, in two passes): 1/sd,
// sd = sqrt(ss/n) the population standard deviation, as scikit-learn's StandardScaler divides
// by; or 1 for a column it takes for constant, whose variance is within the two-pass
// algorithm's rounding error: var <= n eps var + (n eps mean)^2
// (sklearn.preprocessing._data._is_constant_feature). Both engines use this rule (the CUDA
// engine's col_scale kernel in kernels/colstats.cu mirrors it).
func StandardScale(ss, mean float64, n int) float64 {
	const eps = 0x1p-52 // float64's machine epsilon
	nf := float64(n)
	v := ss / nf
	if !(v > nf*eps*v+(nf*mean*eps)*(nf*mean*eps)) {
		return 1
	}
	return 1 / math.Sqrt(v)
}
