package intrange

import (
	"fmt"
	"math"
	"strconv"
)

// Bits is the size of int here. A variable so that tests on 64-bit systems (where CI runs them)
// check the refusals of 32-bit ones.
var Bits = strconv.IntSize

// bounds is the range of an int of bits bits.
func bounds(bits int) (lo, hi int64) {
	return -1 << (bits - 1), 1<<(bits-1) - 1
}

// Ints converts v to ints of bits bits; the first value out of their range is an error naming
// its index and the range.
func Ints(v []int64, bits int) ([]int, error) {
	lo, hi := bounds(bits)
	out := make([]int, len(v))
	for i, x := range v {
		if x < lo || x > hi {
			return nil, fmt.Errorf("label %d is %d, beyond %s", i, x, Range(bits))
		}
		out[i] = int(x)
	}
	return out, nil
}

// Float converts v, a whole number, to an int of bits bits; ok is false when it is out of their
// range (the bounds 2^(bits-1) are exact in float64: int(v) beyond them is undefined).
func Float(v float64, bits int) (n int, ok bool) {
	limit := math.Ldexp(1, bits-1)
	if v >= limit || v < -limit {
		return 0, false
	}
	return int(v), true
}

// Range describes the range of an int of bits bits, for errors.
func Range(bits int) string {
	lo, hi := bounds(bits)
	return fmt.Sprintf("the range of int on this %d-bit system (%d to %d)", bits, lo, hi)
}
