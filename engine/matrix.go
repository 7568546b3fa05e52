package engine

import (
	"fmt"
	"math"
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
	F32   []float32
	F64   []float64
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

// CheckFinite returns an error naming the first non-finite value (row, column) or nil.
func (m Matrix) CheckFinite(name string) error {
	bad := -1
	if m.F64 != nil {
		for k, v := range m.F64 {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				bad = k
				break
			}
		}
	} else {
		for k, v := range m.F32 {
			f := float64(v)
			if math.IsNaN(f) || math.IsInf(f, 0) {
				bad = k
				break
			}
		}
	}
	if bad < 0 {
		return nil
	}
	i, j := bad/m.Cols, bad%m.Cols
	if m.ColMajor {
		i, j = bad%m.Rows, bad/m.Rows
	}
	return m.nonFinite(name, i, j)
}

// CheckFiniteRows is CheckFinite over the given rows only (e.g. those that stimulus-id matching
// keeps), naming a value by its row in m.
func (m Matrix) CheckFiniteRows(name string, rows []int) error {
	bad := func(v float64) bool { return math.IsNaN(v) || math.IsInf(v, 0) }
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
			return m.nonFinite(name, bi, bj)
		}
		return nil
	}
	for _, i := range rows {
		switch {
		case m.F64 != nil:
			for j, v := range m.F64[i*m.Cols : (i+1)*m.Cols] {
				if bad(v) {
					return m.nonFinite(name, i, j)
				}
			}
		default:
			for j, v := range m.F32[i*m.Cols : (i+1)*m.Cols] {
				if bad(float64(v)) {
					return m.nonFinite(name, i, j)
				}
			}
		}
	}
	return nil
}

// nonFinite is the error for the value at (i, j): its row and column, and its index in the
// array's shape when that has more than two axes.
func (m Matrix) nonFinite(name string, i, j int) error {
	if len(m.Shape) > 2 && prod(m.Shape[1:]) == m.Cols {
		idx := []int{i}
		rest := j
		for a := 1; a < len(m.Shape); a++ {
			below := prod(m.Shape[a+1:])
			idx = append(idx, rest/below)
			rest %= below
		}
		return fmt.Errorf("%s: non-finite value %v at index %v (row %d, column %d of the rows x targets matrix)", name, m.At(i, j), idx, i, j)
	}
	return fmt.Errorf("%s: non-finite value %v at row %d, column %d", name, m.At(i, j), i, j)
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
	w := c1 - c0
	switch {
	case m.ColMajor:
		for j := c0; j < c1; j++ {
			if m.F64 != nil {
				col := m.F64[j*m.Rows : (j+1)*m.Rows]
				for r, i := range rows {
					dst[r*w+j-c0] = col[i]
				}
			} else {
				col := m.F32[j*m.Rows : (j+1)*m.Rows]
				for r, i := range rows {
					dst[r*w+j-c0] = float64(col[i])
				}
			}
		}
	case m.F64 != nil:
		for r, i := range rows {
			copy(dst[r*w:(r+1)*w], m.F64[i*m.Cols+c0:i*m.Cols+c1])
		}
	default:
		for r, i := range rows {
			src := m.F32[i*m.Cols+c0 : i*m.Cols+c1]
			out := dst[r*w : (r+1)*w]
			for j, v := range src {
				out[j] = float64(v)
			}
		}
	}
}

// GatherCols32 is GatherCols64 converting to float32.
func (m Matrix) GatherCols32(rows []int, c0, c1 int, dst []float32) {
	w := c1 - c0
	switch {
	case m.ColMajor:
		for j := c0; j < c1; j++ {
			if m.F64 != nil {
				col := m.F64[j*m.Rows : (j+1)*m.Rows]
				for r, i := range rows {
					dst[r*w+j-c0] = float32(col[i])
				}
			} else {
				col := m.F32[j*m.Rows : (j+1)*m.Rows]
				for r, i := range rows {
					dst[r*w+j-c0] = col[i]
				}
			}
		}
	case m.F64 != nil:
		for r, i := range rows {
			src := m.F64[i*m.Cols+c0 : i*m.Cols+c1]
			out := dst[r*w : (r+1)*w]
			for j, v := range src {
				out[j] = float32(v)
			}
		}
	default:
		for r, i := range rows {
			copy(dst[r*w:(r+1)*w], m.F32[i*m.Cols+c0:i*m.Cols+c1])
		}
	}
}
