package array

import (
	"errors"
	"fmt"
	"io"
	"iter"
	"math"
	"os"
	"strings"
	"sync/atomic"

	"github.com/brainalign/brainalign/engine"
)

// Array is an n-d array read from a file (or built to be written). Its data is in one of F32,
// F64 and I64, or, for integers of 8 to 32 bits and bools read from .npy, .npz and safetensors
// files, kept as stored (none of the three set). Read integers of any dtype through Ints (labels,
// ids), and data through Matrix, which converts integers as the other formats' readers do. Which
// field holds the data is not always the stored dtype's: int64 arrays, and uint64 ones within the
// int64 range, are in I64, a uint64 array holding a value above it in F64, and the other formats
// (NIfTI, MGH, HDF5, ...) read integers as floats.
//
// When the array was memory-mapped (see the package documentation) its data aliases a read-only
// map: do not write to it (nor to what Ints returns), and do not use it after Close.
type Array struct {
	Name    string // the file path for .npy; the member/tensor name for .npz and safetensors
	Shape   []int
	DType   string // dtype as stored: "float16","bfloat16","float32","float64","int8".."int64","uint8".."uint64","bool"
	Fortran bool   // data is column-major (Fortran order)
	F32     []float32
	F64     []float64
	I64     []int64
	// Geometry is the header of a NIfTI or MGH file (nil for other formats): the space of its
	// voxels or vertices, for writing results over them (WriteVolume).
	Geometry *Geometry

	// ints is integer or bool data of 8 to 32 bits as stored, in host byte order: a []int8,
	// []uint8, []int16, []uint16, []int32, []uint32 or bools; nil when F32, F64 or I64 is set.
	ints any
	m    *mapping // the map the slices alias, nil when they own their memory
}

// Close releases the array's memory map, if any, and clears its data slices. It is safe to call
// twice and on a nil *Array. The arrays of one .npz or safetensors file share one map, which is
// unmapped when the last of them, and the File they were read from, is closed.
func (a *Array) Close() error {
	if a == nil {
		return nil
	}
	m := a.m
	a.m = nil
	a.F32, a.F64, a.I64, a.ints = nil, nil, nil, nil
	return m.release()
}

// CloseAll closes every array of a file (Read returns them together).
func CloseAll(arrs []*Array) {
	for _, a := range arrs {
		a.Close()
	}
}

// Size returns the number of elements, the product of Shape (1 for a 0-d array).
func (a *Array) Size() int {
	n := 1
	for _, d := range a.Shape {
		n *= d
	}
	return n
}

// Matrix views the array as a matrix with Shape[0] rows and the product of the other dimensions
// as columns (a 1-d array is n x 1). C-order data and 2-d Fortran data are not copied (Fortran
// gives ColMajor=true), so the matrix aliases any memory map and must not outlive Close.
// Fortran data with more than two dimensions is copied into C order, because the columns are the
// trailing axes flattened in C order (element (i,j,k) is column j*Shape[2]+k).
//
// Integers are converted into a matrix of its own memory, as the NIfTI, MGH and HDF5 readers
// convert them and NumPy's astype gives them: 8- and 16-bit integers to float32 (exact), 32- and
// 64-bit ones to float64 (exact up to 2^53, rounded to nearest beyond). The conversion is the one
// copy made (already in C order for Fortran data of more than two dimensions), on every core for
// arrays of more than a million values: an int16 array takes its stored size plus its float32
// copy. Bool, 0-d and empty arrays are errors.
func (a *Array) Matrix() (engine.Matrix, error) {
	if a == nil {
		return engine.Matrix{}, errors.New("array: Matrix of a nil *Array")
	}
	if _, ok := a.ints.(bools); ok {
		return engine.Matrix{}, fmt.Errorf("%s: %s data (true/false), want numbers (convert it first, as numpy's a.astype(np.float32), if 0 and 1 are meant)", a.Name, a.DType)
	}
	n := a.Size()
	have := len(a.F32) + len(a.F64) + len(a.I64) + intsLen(a.ints)
	if a.F32 == nil && a.F64 == nil && a.I64 == nil && a.ints == nil {
		return engine.Matrix{}, fmt.Errorf("%s: array has no data (closed?)", a.Name)
	}
	if len(a.Shape) == 0 {
		return engine.Matrix{}, fmt.Errorf("%s: 0-d array (a scalar), want at least one dimension", a.Name)
	}
	if n == 0 {
		return engine.Matrix{}, fmt.Errorf("%s: empty array (shape %s)", a.Name, ShapeString(a.Shape))
	}
	if have != n {
		return engine.Matrix{}, fmt.Errorf("%s: %d values for shape %s", a.Name, have, ShapeString(a.Shape))
	}
	rows := a.Shape[0]
	m := engine.Matrix{Rows: rows, Cols: n / rows, ColMajor: a.Fortran && len(a.Shape) == 2}
	toC := a.Fortran && len(a.Shape) > 2
	switch {
	case a.F32 != nil:
		m.F32 = a.F32
		if toC {
			m.F32 = fortranToC(a.F32, a.Shape)
		}
	case a.F64 != nil:
		m.F64 = a.F64
		if toC {
			m.F64 = fortranToC(a.F64, a.Shape)
		}
	case a.I64 != nil:
		m.F64 = converted[float64](a.I64, a.Shape, toC)
	default:
		switch s := a.ints.(type) {
		case []int8:
			m.F32 = converted[float32](s, a.Shape, toC)
		case []uint8:
			m.F32 = converted[float32](s, a.Shape, toC)
		case []int16:
			m.F32 = converted[float32](s, a.Shape, toC)
		case []uint16:
			m.F32 = converted[float32](s, a.Shape, toC)
		case []int32:
			m.F64 = converted[float64](s, a.Shape, toC)
		case []uint32:
			m.F64 = converted[float64](s, a.Shape, toC)
		default:
			return engine.Matrix{}, fmt.Errorf("%s: internal error: integer data of %T", a.Name, a.ints)
		}
	}
	return m, nil
}

// converted copies integers into a new slice of floats, from Fortran into C order when toC, on
// every core.
func converted[D float32 | float64, S integer](src []S, shape []int, toC bool) []D {
	if toC {
		return fortranToCAs[D](src, shape)
	}
	dst := make([]D, len(src))
	inBlocks(len(src), func(start, end int) {
		// the block's own slices, of one length: no bound checked a value (dst[start+i] was
		// checked, 8-10% slower on one core than before blocks)
		d, s := dst[start:end], src[start:end]
		for i, v := range s {
			d[i] = D(v)
		}
	})
	return dst
}

// intsLen is the number of elements of integer data as stored (Array.ints).
func intsLen(ints any) int {
	switch s := ints.(type) {
	case []int8:
		return len(s)
	case []uint8:
		return len(s)
	case []int16:
		return len(s)
	case []uint16:
		return len(s)
	case []int32:
		return len(s)
	case []uint32:
		return len(s)
	case bools:
		return len(s)
	}
	return 0
}

// Ints returns integer data as int64, the values the file stores (bools as 0 and 1): I64 itself
// when set (do not write to it: it may alias a memory map), else a new slice of the integers as
// stored. It returns nil for floating-point data, a uint64 array above the int64 range among them
// (read as float64). It is meant for labels, ids and masks: brain data or activations stored as
// integers are read through Matrix, which does not widen them to 8 bytes an element.
func (a *Array) Ints() []int64 {
	if a == nil {
		return nil
	}
	if a.I64 != nil {
		return a.I64
	}
	switch s := a.ints.(type) {
	case []int8:
		return widened(s)
	case []uint8:
		return widened(s)
	case []int16:
		return widened(s)
	case []uint16:
		return widened(s)
	case []int32:
		return widened(s)
	case []uint32:
		return widened(s)
	case bools:
		out := make([]int64, len(s))
		for i, v := range s {
			if v != 0 {
				out[i] = 1
			}
		}
		return out
	}
	return nil
}

func widened[S integer](src []S) []int64 {
	out := make([]int64, len(src))
	for i, v := range src {
		out[i] = int64(v)
	}
	return out
}

// Float64s copies the values of elements from, from+1, ... (in the order stored) into dst as
// float64, as many as dst holds or the array has from there, and returns how many it copied:
// floats as they are, integers converted (bools as 0 and 1). It reads an array of any dtype in
// pieces of the caller's size (inspect's summary of the values, a mask), without a converted copy
// of the whole.
func (a *Array) Float64s(from int, dst []float64) int {
	if a == nil {
		return 0
	}
	switch {
	case a.F32 != nil:
		return copyFloats(dst, a.F32, from)
	case a.F64 != nil:
		return copy(dst, a.F64[min(from, len(a.F64)):])
	case a.I64 != nil:
		return copyFloats(dst, a.I64, from)
	}
	switch s := a.ints.(type) {
	case []int8:
		return copyFloats(dst, s, from)
	case []uint8:
		return copyFloats(dst, s, from)
	case []int16:
		return copyFloats(dst, s, from)
	case []uint16:
		return copyFloats(dst, s, from)
	case []int32:
		return copyFloats(dst, s, from)
	case []uint32:
		return copyFloats(dst, s, from)
	case bools:
		s = s[min(from, len(s)):]
		n := min(len(dst), len(s))
		for i, v := range s[:n] {
			dst[i] = 0
			if v != 0 {
				dst[i] = 1
			}
		}
		return n
	}
	return 0
}

func copyFloats[S float32 | integer](dst []float64, src []S, from int) int {
	src = src[min(from, len(src)):]
	n := min(len(dst), len(src))
	for i, v := range src[:n] {
		dst[i] = float64(v)
	}
	return n
}

// fortranToC copies column-major data of the given shape into a row-major rows x cols matrix
// whose columns are the trailing axes flattened in C order.
func fortranToC[T float32 | float64](src []T, shape []int) []T { return fortranToCAs[T](src, shape) }

// The transpose goes a tile of tileRows rows by tileCols columns at a time, read a column's run
// at a time into a small buffer and written from there a row's run at a time. A column at a
// time, each value written a row apart (16 KB and more), it ran at 40 MB/s of int16 on one core
// (50 ns a value), missing the cache and the TLB at every value; by tiles, at 4 to 5 ns a value
// (64 x 64 tiles: 5 to 6 ns, shorter runs of the destination's rows). Rectangles of tiles, about
// blockValues values each, go to the cores.
const tileRows, tileCols = 64, 256

// fortranToCAs is fortranToC converting each element to D on the way.
func fortranToCAs[D float32 | float64, S float32 | float64 | integer](src []S, shape []int) []D {
	dst := make([]D, len(src))
	if len(src) == 0 {
		return dst
	}
	rows, trail := shape[0], shape[1:]
	cols := len(src) / rows
	// fstride[k]: how many source columns apart consecutive indices of trailing axis k are (the
	// first axis fastest, Fortran's order); C order walks the last axis fastest. Not
	// FortranToCIndices: that walk goes the other way, from the start, and each rectangle starts
	// at its own column on its own core; a table of its indices would take 8 bytes a column (for
	// an array of one row, twice the float32 result).
	fstride := make([]int, len(trail))
	s := 1
	for k := range trail {
		fstride[k] = s
		s *= trail[k]
	}
	const tr, tc = tileRows, tileCols
	// Rectangles of rows [r0, r0+h) and columns [c0, c0+w) of dst: wide ones for few rows, tall
	// ones for few columns, one for an array of a block or less.
	w, h := cols, rows
	if len(src) > blockValues {
		w = min(cols, max(4*tc, roundUp((blockValues+rows-1)/rows, tc)))
		h = min(rows, max(tr, (blockValues+w-1)/w))
	}
	across := (cols + w - 1) / w
	eachBlock(across*((rows+h-1)/h), func(b int) {
		r0, c0 := b/across*h, b%across*w
		r1, c1 := min(rows, r0+h), min(cols, c0+w)
		var at [tc]int   // where the tile's columns start in src
		br := min(tr, h) // the buffer's rows: a small array's tiles are small
		buf := make([]D, br*min(tc, w))
		idx := make([]int, len(trail))
		for ct := c0; ct < c1; ct += tc {
			tile := at[:min(tc, c1-ct)]
			// the trailing index of column ct in C order, then on column by column, the last
			// axis fastest; q is its source column
			c, q := ct, 0
			for k := len(trail) - 1; k >= 0; k-- {
				idx[k] = c % trail[k]
				c /= trail[k]
				q += idx[k] * fstride[k]
			}
			for j := range tile {
				tile[j] = q * rows
				for k := len(trail) - 1; k >= 0; k-- {
					idx[k]++
					q += fstride[k]
					if idx[k] < trail[k] {
						break
					}
					q -= idx[k] * fstride[k]
					idx[k] = 0
				}
			}
			for rt := r0; rt < r1; rt += br {
				th := min(br, r1-rt)
				for j, from := range tile {
					for i, v := range src[from+rt : from+rt+th] {
						buf[j*br+i] = D(v)
					}
				}
				for i := range th {
					out := dst[(rt+i)*cols+ct : (rt+i)*cols+ct+len(tile)]
					for j := range out {
						out[j] = buf[j*br+i]
					}
				}
			}
		}
	})
	return dst
}

// FortranToCIndices yields the elements of an array of the given shape in Fortran order (first
// axis fastest: the order a Fortran-ordered .npy or a NIfTI file stores them), each as its flat
// index in that order and in C order (last axis fastest: numpy's ravel() and np.flatnonzero).
func FortranToCIndices(shape []int) iter.Seq2[int, int] {
	return func(yield func(fortran, c int) bool) {
		cstride := make([]int, len(shape))
		n := 1
		for k := len(shape) - 1; k >= 0; k-- {
			cstride[k] = n
			n *= shape[k]
		}
		// walk the index in Fortran order, keeping c, its C-order number, up to date
		idx := make([]int, len(shape))
		c := 0
		for f := 0; f < n; f++ {
			if !yield(f, c) {
				return
			}
			for k := range shape {
				idx[k]++
				c += cstride[k]
				if idx[k] < shape[k] {
					break
				}
				c -= idx[k] * cstride[k]
				idx[k] = 0
			}
		}
	}
}

// roundUp is n rounded up to a multiple of m.
func roundUp(n, m int) int { return (n + m - 1) / m * m }

// Read reads the arrays of a file, choosing the format by extension: .npy (one array), .npz
// (its members), .safetensors (its tensors), or a NIfTI or MGH file (one array: see
// neuro.go). It reads (and for deflated .npz members,
// decompresses) every array; to read some of them only, use Open.
func Read(path string) ([]*Array, error) {
	f, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.ReadAll()
}

// mapping is a file's bytes, memory-mapped or read into memory, shared by the arrays that alias
// it and unmapped when the last reference goes.
type mapping struct {
	data  []byte
	refs  atomic.Int32
	unmap func([]byte) error // nil when data is ordinary memory
}

func (m *mapping) retain() *mapping {
	if m != nil {
		m.refs.Add(1)
	}
	return m
}

func (m *mapping) release() error {
	if m == nil || m.refs.Add(-1) != 0 || m.unmap == nil {
		return nil
	}
	return m.unmap(m.data)
}

// openRegular opens a file for reading, refusing by name first what is not a regular file: a
// named pipe, whose open would wait for a writer; a directory; a device.
func openRegular(path string) (*os.File, error) {
	if st, err := os.Stat(path); err != nil {
		return nil, pathError(path, err)
	} else if !st.Mode().IsRegular() {
		return nil, notRegular(path, st.Mode())
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, pathError(path, err)
	}
	return f, nil
}

// openData maps the whole file read-only, or reads it into memory where mapping is not possible.
// The caller holds the one reference and must release it.
func openData(path string) (*mapping, error) {
	f, err := openRegular(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, pathError(path, err)
	}
	if !st.Mode().IsRegular() {
		return nil, notRegular(path, st.Mode())
	}
	if st.Size() > math.MaxInt {
		return nil, fmt.Errorf("%s: file too large (%d bytes) for this platform", path, st.Size())
	}
	size := int(st.Size())
	m := &mapping{}
	m.refs.Store(1)
	if size == 0 {
		return m, nil
	}
	if b, unmap, err := mapFile(f, size); err == nil {
		m.data, m.unmap = b, unmap
		return m, nil
	}
	m.data = make([]byte, size)
	if _, err := io.ReadFull(f, m.data); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// IsVector reports whether all axes of shape but at most one have size 1 (a 0-d shape too): a
// vector however stored, n, n x 1 or 1 x n (MATLAB's vectors are 2-d), its elements in the same
// order in C and Fortran order.
func IsVector(shape []int) bool {
	long := 0
	for _, d := range shape {
		if d != 1 {
			long++
		}
	}
	return long <= 1
}

// ShapeString formats a shape for messages: "1000 x 200", "1000", or "scalar" for 0-d.
func ShapeString(shape []int) string {
	if len(shape) == 0 {
		return "scalar"
	}
	parts := make([]string, len(shape))
	for i, d := range shape {
		parts[i] = fmt.Sprint(d)
	}
	return strings.Join(parts, " x ")
}

// dataBytes returns the element count and byte size of shape at itemsize, or an error on overflow.
func dataBytes(shape []int, itemsize int) (n, nbytes int, err error) {
	n = 1
	for _, d := range shape {
		if d < 0 {
			return 0, 0, fmt.Errorf("negative dimension in shape %s", ShapeString(shape))
		}
		if d != 0 && n > math.MaxInt/d {
			return 0, 0, fmt.Errorf("shape %s too large", ShapeString(shape))
		}
		n *= d
	}
	if n > math.MaxInt/itemsize {
		return 0, 0, fmt.Errorf("shape %s too large", ShapeString(shape))
	}
	return n, n * itemsize, nil
}
