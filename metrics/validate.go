package metrics

import (
	"errors"
	"fmt"
	"math"
)

// ErrTooFewLayers is wrapped by errors of functions that need a layer axis
// with at least two layers (relative depth divides by layers-1).
var ErrTooFewLayers = errors.New("needs at least 2 layers")

// checkTable checks that data holds a row-major array of the given shape with
// finite values; what names the argument in the error.
func checkTable(fn, what string, data []float64, dims ...int) error {
	n := 1
	for _, d := range dims {
		if d <= 0 {
			return fmt.Errorf("metrics: %s: %s has a non-positive dimension in shape %v", fn, what, dims)
		}
		n *= d
	}
	if len(data) != n {
		return fmt.Errorf("metrics: %s: %s has %d values, shape %v needs %d", fn, what, len(data), dims, n)
	}
	for i, v := range data {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("metrics: %s: %s value %d (%s) is not finite: %v", fn, what, i, index(i, dims), v)
		}
	}
	return nil
}

// index renders a flat index as a multi-index of a row-major shape.
func index(i int, dims []int) string {
	idx := make([]int, len(dims))
	for k := len(dims) - 1; k >= 0; k-- {
		idx[k] = i % dims[k]
		i /= dims[k]
	}
	return fmt.Sprint(idx)
}

func checkLayers(fn string, layers int) error {
	if layers < 2 {
		return fmt.Errorf("metrics: %s: %w, got %d", fn, ErrTooFewLayers, layers)
	}
	return nil
}

func checkFinite(fn, what string, x []float64) error {
	for i, v := range x {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("metrics: %s: %s[%d] is not finite: %v", fn, what, i, v)
		}
	}
	return nil
}
