package stats

import (
	"math"

	"gonum.org/v1/gonum/stat/distuv"
)

// TTwoSided returns the two-sided p-value 2 P(T_df >= |t|) of Student's t
// distribution. It is computed from the lower tail at -|t|, which gonum
// evaluates through the incomplete beta function, so small p-values keep
// their relative accuracy (1 - CDF would cancel).
func TTwoSided(t, df float64) float64 {
	if math.IsNaN(t) || math.IsNaN(df) || df <= 0 {
		return math.NaN()
	}
	if math.IsInf(t, 0) {
		return 0
	}
	return 2 * distuv.StudentsT{Mu: 0, Sigma: 1, Nu: df}.CDF(-math.Abs(t))
}

// NormalTwoSided returns 2 P(Z >= |z|) for a standard normal Z.
func NormalTwoSided(z float64) float64 {
	if math.IsNaN(z) {
		return math.NaN()
	}
	return 2 * distuv.UnitNormal.CDF(-math.Abs(z))
}
