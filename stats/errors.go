package stats

import (
	"errors"
	"fmt"
)

// ErrConstantInput is wrapped by the errors of correlation functions given an
// input without spread, where the coefficient is undefined.
var ErrConstantInput = errors.New("stats: an input is constant; the correlation is undefined")

func checkPaired(x, y []float64, min int) error {
	if len(x) != len(y) {
		return fmt.Errorf("stats: x and y have different lengths (%d and %d)", len(x), len(y))
	}
	if len(x) < min {
		return fmt.Errorf("stats: need at least %d paired values, got %d", min, len(x))
	}
	return nil
}
