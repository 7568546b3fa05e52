package intrange

import (
	"math"
	"slices"
	"strings"
	"testing"
)

// Labels beyond a 32-bit int are refused at 32 bits (386, arm) and kept at 64: the bounds are
// int32's and int64's.
func TestIntsAndFloatBounds(t *testing.T) {
	within := []int64{math.MinInt32, -1, 0, math.MaxInt32}
	if got, err := Ints(within, 32); err != nil || !slices.Equal(got, []int{math.MinInt32, -1, 0, math.MaxInt32}) {
		t.Errorf("Ints(%v, 32) = %v, %v", within, got, err)
	}
	for _, v := range []int64{math.MaxInt32 + 1, math.MinInt32 - 1, 1 << 40, math.MaxInt64} {
		if _, err := Ints([]int64{7, v}, 32); err == nil || !strings.Contains(err.Error(), "label 1 is ") ||
			!strings.Contains(err.Error(), "32-bit system (-2147483648 to 2147483647)") {
			t.Errorf("Ints(%d, 32): %v, want it refused", v, err)
		}
		if Bits < 64 {
			continue // an int holds no more here
		}
		if got, err := Ints([]int64{v}, 64); err != nil || int64(got[0]) != v {
			t.Errorf("Ints(%d, 64) = %v, %v", v, got, err)
		}
	}
	for _, tc := range []struct {
		v        float64
		bits     int
		ok       bool
		expected int64
	}{
		{math.MaxInt32, 32, true, math.MaxInt32}, {math.MinInt32, 32, true, math.MinInt32},
		{math.MaxInt32 + 1, 32, false, 0}, {math.MinInt32 - 1, 32, false, 0}, {1 << 40, 32, false, 0},
		{1 << 40, 64, true, 1 << 40}, {-(1 << 63), 64, true, math.MinInt64},
		{1 << 63, 64, false, 0}, {math.MaxUint64, 64, false, 0}, {-(1 << 64), 64, false, 0},
	} {
		if tc.bits > Bits {
			continue
		}
		if n, ok := Float(tc.v, tc.bits); ok != tc.ok || ok && int64(n) != tc.expected {
			t.Errorf("Float(%g, %d) = %d, %v; want %d, %v", tc.v, tc.bits, n, ok, tc.expected, tc.ok)
		}
	}
}
