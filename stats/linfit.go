package stats

import (
	"fmt"
	"math"
)

// LinearFit returns the least-squares line y = slope x + intercept, as
// scipy.stats.linregress, for drawing trend lines in figures. It needs at
// least two pairs and an x with spread.
func LinearFit(x, y []float64) (slope, intercept float64, err error) {
	if err := checkPaired(x, y, 2); err != nil {
		return math.NaN(), math.NaN(), err
	}
	if isConstant(x) {
		return math.NaN(), math.NaN(), fmt.Errorf("stats: LinearFit: x is constant, the slope is undefined")
	}
	mx, my := mean(x), mean(y)
	sxx, sxy := 0.0, 0.0
	for i := range x {
		dx := x[i] - mx
		sxx += dx * dx
		sxy += dx * (y[i] - my)
	}
	slope = sxy / sxx
	return slope, my - slope*mx, nil
}
