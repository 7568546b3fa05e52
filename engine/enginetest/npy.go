package enginetest

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/brainalign/brainalign/engine"
)

// npyArray is a little-endian float32 or float64 array read from a .npy file.
type npyArray struct {
	Shape   []int
	Fortran bool
	F32     []float32
	F64     []float64
}

var (
	reDescr   = regexp.MustCompile(`'descr'\s*:\s*'([^']*)'`)
	reFortran = regexp.MustCompile(`'fortran_order'\s*:\s*(True|False)`)
	reShape   = regexp.MustCompile(`'shape'\s*:\s*\(([^)]*)\)`)
)

// readNPY is a minimal .npy reader (versions 1-3; <f4 and <f8) for the fixtures: the suite does
// not depend on the array package it may be testing alongside.
func readNPY(path string) (*npyArray, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(raw) < 10 || !bytes.Equal(raw[:6], []byte("\x93NUMPY")) {
		return nil, fmt.Errorf("%s: not a .npy file", path)
	}
	var hlen, off int
	switch raw[6] {
	case 1:
		hlen, off = int(binary.LittleEndian.Uint16(raw[8:10])), 10
	case 2, 3:
		if len(raw) < 12 {
			return nil, fmt.Errorf("%s: truncated header", path)
		}
		hlen, off = int(binary.LittleEndian.Uint32(raw[8:12])), 12
	default:
		return nil, fmt.Errorf("%s: unsupported .npy version %d", path, raw[6])
	}
	if off+hlen > len(raw) {
		return nil, fmt.Errorf("%s: truncated header", path)
	}
	header := string(raw[off : off+hlen])
	data := raw[off+hlen:]
	md, mf, ms := reDescr.FindStringSubmatch(header), reFortran.FindStringSubmatch(header), reShape.FindStringSubmatch(header)
	if md == nil || mf == nil || ms == nil {
		return nil, fmt.Errorf("%s: malformed header %q", path, header)
	}
	a := &npyArray{Fortran: mf[1] == "True"}
	count := 1
	for _, f := range strings.Split(ms[1], ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		v, err := strconv.Atoi(f)
		if err != nil || v < 0 {
			return nil, fmt.Errorf("%s: bad shape %q", path, ms[1])
		}
		a.Shape = append(a.Shape, v)
		count *= v
	}
	switch md[1] {
	case "<f8":
		if len(data) != 8*count {
			return nil, fmt.Errorf("%s: %d data bytes for %d float64 values", path, len(data), count)
		}
		a.F64 = make([]float64, count)
		for i := range a.F64 {
			a.F64[i] = math.Float64frombits(binary.LittleEndian.Uint64(data[8*i:]))
		}
	case "<f4":
		if len(data) != 4*count {
			return nil, fmt.Errorf("%s: %d data bytes for %d float32 values", path, len(data), count)
		}
		a.F32 = make([]float32, count)
		for i := range a.F32 {
			a.F32[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:]))
		}
	default:
		return nil, fmt.Errorf("%s: dtype %q (want <f4 or <f8)", path, md[1])
	}
	return a, nil
}

// matrix views the array as rows x (product of the trailing dimensions) without a copy: a 3-D
// (n, channels, times) C-order array becomes n x channels*times (C-order flattening).
func (a *npyArray) matrix() (engine.Matrix, error) {
	if len(a.Shape) < 1 {
		return engine.Matrix{}, fmt.Errorf("scalar array")
	}
	if a.Fortran && len(a.Shape) > 2 {
		return engine.Matrix{}, fmt.Errorf("Fortran-order array of rank %d", len(a.Shape))
	}
	rows, cols := a.Shape[0], 1
	for _, s := range a.Shape[1:] {
		cols *= s
	}
	return engine.Matrix{Rows: rows, Cols: cols, ColMajor: a.Fortran && len(a.Shape) == 2, F32: a.F32, F64: a.F64}, nil
}

// float64s returns the values as float64 in C order.
func (a *npyArray) float64s() []float64 {
	if a.F64 != nil && !a.Fortran {
		return a.F64
	}
	n := len(a.F64) + len(a.F32)
	out := make([]float64, n)
	at := func(k int) float64 {
		if a.F64 != nil {
			return a.F64[k]
		}
		return float64(a.F32[k])
	}
	if !a.Fortran || len(a.Shape) < 2 {
		for k := range out {
			out[k] = at(k)
		}
		return out
	}
	r, c := a.Shape[0], n/max(1, a.Shape[0])
	for i := 0; i < r; i++ {
		for j := 0; j < c; j++ {
			out[i*c+j] = at(j*r + i)
		}
	}
	return out
}
