package engine

import (
	"fmt"
	"math"
	"runtime"
	"sync"
)

// Matrix is a dense host matrix of float32 or float64 values, in row-major (C) or column-major
// (Fortran) order: the two layouts .npy files come in, so a memory-mapped file is used without a
// copy. Exactly one of F32 and F64 is set.
type Matrix struct {
	Rows, Cols int
	ColMajor   bool
	// Name says what the matrix is in error messages (e.g. its file); engines use "activations"
	// or "brain data" when it is empty.
	Name string
	// Shape, when set, is the array's shape as stored (rows first, the columns its other axes
	// in C order, e.g. images x channels x times); errors then give a value's index in it.
	Shape []int
	// SourceColumns, when set, are the columns of that array the matrix's columns were taken
	// from (a mask's targets), so that errors name a value where it is in the file.
	SourceColumns []int
	F32           []float32
	F64           []float64
}

// NewMatrix32 wraps row-major float32 data.
func NewMatrix32(rows, cols int, data []float32) Matrix {
	return Matrix{Rows: rows, Cols: cols, F32: data}
}

// NewMatrix64 wraps row-major float64 data.
func NewMatrix64(rows, cols int, data []float64) Matrix {
	return Matrix{Rows: rows, Cols: cols, F64: data}
}

// Is64 reports whether the matrix holds float64 values.
func (m Matrix) Is64() bool { return m.F64 != nil }

// At returns element (i, j) as float64, whatever the storage.
func (m Matrix) At(i, j int) float64 {
	k := i*m.Cols + j
	if m.ColMajor {
		k = j*m.Rows + i
	}
	if m.F64 != nil {
		return m.F64[k]
	}
	return float64(m.F32[k])
}

// Validate checks the shape against the backing data; name is used in the error.
func (m Matrix) Validate(name string) error {
	if m.Rows <= 0 || m.Cols <= 0 {
		return fmt.Errorf("%s: empty matrix (%d x %d)", name, m.Rows, m.Cols)
	}
	if (m.F32 == nil) == (m.F64 == nil) {
		return fmt.Errorf("%s: exactly one of float32 or float64 data must be set", name)
	}
	n := len(m.F32)
	if m.F64 != nil {
		n = len(m.F64)
	}
	if n != m.Rows*m.Cols {
		return fmt.Errorf("%s: %d values for a %d x %d matrix", name, n, m.Rows, m.Cols)
	}
	return nil
}

// CheckFinite returns an error naming the first non-finite value (row, column), or one beyond
// ±MaxFloat64Value, or nil.
func (m Matrix) CheckFinite(name string) error { return m.CheckValues(name, Float64) }

// CheckValues returns an error naming the first value that the engine cannot compute with at
// precision p: a NaN or infinity, a value beyond ±MaxFloat64Value (its square overflows), or,
// below float64 precision, a float64 value beyond float32's range (it would become an infinity
// and every score NaN); or, when every value is smaller than MinScale(p) in magnitude (and not
// all are zero), an error saying so (the engines' squares of such values underflow).
func (m Matrix) CheckValues(name string, p Precision) error {
	lim := MaxFloat64Value
	if p != Float64 {
		lim = math.MaxFloat32
	}
	// The matrix is scanned in storage order on all cores, each core a contiguous range; the
	// first bad value in storage order (the smallest index any core finds) is reported, as a
	// sequential scan would.
	var k int
	if m.F64 != nil {
		k = firstBad(m.F64, lim)
	} else {
		k = firstBad(m.F32, lim)
	}
	if k < 0 {
		if m.F64 != nil {
			return tooSmall(name, largestBelow(m.F64, MinScale(p)), p)
		}
		return tooSmall(name, largestBelow(m.F32, MinScale(p)), p)
	}
	i, j := k/m.Cols, k%m.Cols
	if m.ColMajor {
		i, j = k%m.Rows, k/m.Rows
	}
	return m.badValueError(name, i, j)
}

// firstBad is the index of the first NaN in v or value of magnitude beyond lim, or -1. The test
// |x| > lim is false for NaN, so NaN is caught as x != x; both are plain comparisons the compiler
// keeps in the loop (no call per element).
func firstBad[V float32 | float64](v []V, lim float64) int {
	const chunk = 1 << 16
	n := (len(v) + chunk - 1) / chunk
	found := make([]int, n)
	parallel(n, 4, func(lo, hi int) {
		for c := lo; c < hi; c++ {
			found[c] = -1
			seg := v[c*chunk : min(len(v), (c+1)*chunk)]
			bad := false
			for _, x := range seg {
				f := float64(x)
				if f != f || f > lim || f < -lim {
					bad = true
					break
				}
			}
			if !bad {
				continue
			}
			for t, x := range seg {
				f := float64(x)
				if f != f || f > lim || f < -lim {
					found[c] = c*chunk + t
					break
				}
			}
		}
	})
	for _, k := range found {
		if k >= 0 {
			return k
		}
	}
	return -1
}

// largestBelow returns the largest magnitude in v when all are below lim, else -1. Data of any
// use have a value of that size among their first: the scan stops there.
func largestBelow[V float32 | float64](v []V, lim float64) float64 {
	largest := 0.0
	for _, x := range v {
		f := math.Abs(float64(x))
		if f >= lim {
			return -1
		}
		largest = max(largest, f)
	}
	return largest
}

// MinScale is the smallest magnitude the largest value of data scored at precision p may have:
// below it, the engines' squares of residuals (a small fraction of the values) underflow, and
// penalties are chosen by rounding. Float64's is 1e-140 (squared 1e-280; float64's smallest
// normal number is 2.2e-308); float32's 1e-30, where float32 values of a small fraction of it
// are still normal (its smallest is 1.2e-38).
func MinScale(p Precision) float64 {
	if p == Float64 {
		return 1e-140
	}
	return 1e-30
}

// tooSmall is CheckValues' error for data whose largest magnitude is below MinScale(p) (zeros
// only pass: constant data have their documented scores).
func tooSmall(name string, largest float64, p Precision) error {
	if largest <= 0 || largest >= MinScale(p) { // -1: largestBelow found a value of that size
		return nil
	}
	hint := "rescale the data (MEG in fT rather than T, say)"
	if p != Float64 && largest >= MinScale(Float64) {
		hint = "score it in float64 precision (--precision float64), or " + hint
	}
	return fmt.Errorf("%s: its largest value is %g in magnitude, below %g, where the engines' squares underflow at %s precision: %s", name, largest, MinScale(p), p, hint)
}

// MaxFloat64Value bounds the magnitude of float64 data: the engines' sums of squares and
// products of values beyond it overflow (1e150 squared is 1e300; float64 ends at 1.8e308).
const MaxFloat64Value = 1e150

// badValue is the test of CheckValues at precision p.
func badValue(p Precision) func(float64) bool {
	if p == Float64 {
		return func(v float64) bool { return math.IsNaN(v) || math.Abs(v) > MaxFloat64Value }
	}
	return func(v float64) bool { return math.IsNaN(v) || math.Abs(v) > math.MaxFloat32 }
}

// CheckFiniteRows is CheckFinite over the given rows only (e.g. those that stimulus-id matching
// keeps), naming a value by its row in m.
func (m Matrix) CheckFiniteRows(name string, rows []int) error {
	return m.CheckValuesRows(name, rows, Float64)
}

// CheckValuesRows is CheckValues over the given rows only, naming a value by its row in m (and
// the data too small when those rows' values are).
func (m Matrix) CheckValuesRows(name string, rows []int, p Precision) error {
	bad := badValue(p)
	if m.ColMajor {
		// column by column, in memory order (row by row would stride through the whole
		// matrix once per row); the first bad value in row order is reported
		keep := make([]bool, m.Rows)
		for _, i := range rows {
			keep[i] = true
		}
		bi, bj := -1, -1
		for j := 0; j < m.Cols; j++ {
			for i := 0; i < m.Rows; i++ {
				if keep[i] && (bi < 0 || i < bi) && bad(m.At(i, j)) {
					bi, bj = i, j
				}
			}
		}
		if bi >= 0 {
			return m.badValueError(name, bi, bj)
		}
		return m.tooSmallRows(name, rows, p)
	}
	for _, i := range rows {
		switch {
		case m.F64 != nil:
			for j, v := range m.F64[i*m.Cols : (i+1)*m.Cols] {
				if bad(v) {
					return m.badValueError(name, i, j)
				}
			}
		default:
			for j, v := range m.F32[i*m.Cols : (i+1)*m.Cols] {
				if bad(float64(v)) {
					return m.badValueError(name, i, j)
				}
			}
		}
	}
	return m.tooSmallRows(name, rows, p)
}

// tooSmallRows is tooSmall over the given rows of m.
func (m Matrix) tooSmallRows(name string, rows []int, p Precision) error {
	largest := 0.0
	for _, i := range rows {
		for j := range m.Cols {
			v := math.Abs(m.At(i, j))
			if v >= MinScale(p) {
				return nil
			}
			largest = max(largest, v)
		}
	}
	return tooSmall(name, largest, p)
}

// badValueError names the value at (i, j): non-finite, beyond MaxFloat64Value, or beyond
// float32's range.
func (m Matrix) badValueError(name string, i, j int) error {
	v := m.At(i, j)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return m.nonFinite(name, i, j)
	}
	if math.Abs(v) > MaxFloat64Value {
		return fmt.Errorf("%s: value %g %s is beyond ±%g, where the engines' sums of squares overflow: rescale the data", name, v, m.where(i, j), MaxFloat64Value)
	}
	return fmt.Errorf("%s: value %g %s is beyond float32's range (±3.4e38): score it in float64 precision (--precision float64), or rescale it",
		name, v, m.where(i, j))
}

// nonFinite is the error for the non-finite value at (i, j).
func (m Matrix) nonFinite(name string, i, j int) error {
	return fmt.Errorf("%s: non-finite value %v %s", name, m.At(i, j), m.where(i, j))
}

// where locates (i, j): its row and column, and its index in the array's shape when that has
// more than two axes.
func (m Matrix) where(i, j int) string {
	src, masked := j, ""
	if m.SourceColumns != nil {
		src, masked = m.SourceColumns[j], fmt.Sprintf(", masked target %d", j)
	}
	if len(m.Shape) > 2 && (prod(m.Shape[1:]) == m.Cols || m.SourceColumns != nil) {
		idx := []int{i}
		rest := src
		for a := 1; a < len(m.Shape); a++ {
			below := prod(m.Shape[a+1:])
			idx = append(idx, rest/below)
			rest %= below
		}
		return fmt.Sprintf("at index %v (row %d, column %d of the rows x targets matrix%s)", idx, i, src, masked)
	}
	if masked != "" {
		return fmt.Sprintf("at row %d, column %d (%s)", i, src, masked[2:])
	}
	return fmt.Sprintf("at row %d, column %d", i, j)
}

func prod(v []int) int {
	p := 1
	for _, x := range v {
		p *= x
	}
	return p
}

// GatherRows copies the given rows of m into dst (len(rows) x m.Cols, row-major, float64).
func (m Matrix) GatherRows(rows []int, dst []float64) {
	c := m.Cols
	for r, i := range rows {
		out := dst[r*c : (r+1)*c]
		switch {
		case !m.ColMajor && m.F64 != nil:
			copy(out, m.F64[i*c:(i+1)*c])
		case !m.ColMajor:
			for j, v := range m.F32[i*c : (i+1)*c] {
				out[j] = float64(v)
			}
		default:
			for j := range out {
				out[j] = m.At(i, j)
			}
		}
	}
}

// GatherCols64 copies columns [c0, c1) of the given rows into dst, row-major
// (len(rows) x (c1-c0)), converting to float64. This is how a batch of targets is staged.
func (m Matrix) GatherCols64(rows []int, c0, c1 int, dst []float64) {
	gatherCols(m, rows, c0, c1, dst)
}

// GatherCols32 is GatherCols64 converting to float32.
func (m Matrix) GatherCols32(rows []int, c0, c1 int, dst []float32) {
	gatherCols(m, rows, c0, c1, dst)
}

// gatherCols is GatherCols64 and GatherCols32, on all cores: row-major data by ranges of rows,
// column-major data by tiles of gatherTile rows x gatherTile columns (each column's rows are read
// in a run, each output row written in a run, both within the caches).
func gatherCols[D float32 | float64](m Matrix, rows []int, c0, c1 int, dst []D) {
	const gatherTile = 64
	w := c1 - c0
	if !m.ColMajor {
		parallel(len(rows), max(1, (1<<16)/max(w, 1)), func(lo, hi int) {
			for r := lo; r < hi; r++ {
				i := rows[r]
				out := dst[r*w : (r+1)*w]
				if m.F64 != nil {
					convertInto(out, m.F64[i*m.Cols+c0:i*m.Cols+c1])
				} else {
					convertInto(out, m.F32[i*m.Cols+c0:i*m.Cols+c1])
				}
			}
		})
		return
	}
	nr := len(rows)
	rt := (nr + gatherTile - 1) / gatherTile
	ct := (w + gatherTile - 1) / gatherTile
	parallel(rt*ct, 1, func(lo, hi int) {
		for k := lo; k < hi; k++ {
			r0, j0 := (k%rt)*gatherTile, (k/rt)*gatherTile
			r1, j1 := min(nr, r0+gatherTile), min(w, j0+gatherTile)
			for j := j0; j < j1; j++ {
				base := (c0 + j) * m.Rows
				if m.F64 != nil {
					col := m.F64[base : base+m.Rows]
					for r := r0; r < r1; r++ {
						dst[r*w+j] = D(col[rows[r]])
					}
				} else {
					col := m.F32[base : base+m.Rows]
					for r := r0; r < r1; r++ {
						dst[r*w+j] = D(col[rows[r]])
					}
				}
			}
		}
	})
}

func convertInto[D, S float32 | float64](dst []D, src []S) {
	if d, ok := any(dst).([]S); ok {
		copy(d, src)
		return
	}
	for j, v := range src {
		dst[j] = D(v)
	}
}

// parallel runs body over [0, n) in one contiguous range per core (ranges of at least grain
// items; one range, on this goroutine, when n is small).
func parallel(n, grain int, body func(lo, hi int)) {
	workers := min(runtime.GOMAXPROCS(0), n/max(grain, 1))
	if workers <= 1 {
		if n > 0 {
			body(0, n)
		}
		return
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body(w*n/workers, (w+1)*n/workers)
		}()
	}
	wg.Wait()
}
