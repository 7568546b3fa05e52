package array

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"sync"
	"unsafe"
)

// dtype is an element type as stored in a file.
type dtype struct {
	name string // Array.DType
	kind byte   // 'f' float, 'i' signed, 'u' unsigned, 'b' bool, 'h' bfloat16
	size int    // bytes per element
	big  bool   // stored big-endian
}

// hostLE is the byte order of this machine: data in the same order can be used in place.
var hostLE = func() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}()

var dtypeNames = map[string]string{
	"f2": "float16", "f4": "float32", "f8": "float64",
	"i1": "int8", "i2": "int16", "i4": "int32", "i8": "int64",
	"u1": "uint8", "u2": "uint16", "u4": "uint32", "u8": "uint64",
	"b1": "bool",
}

// parseDescr parses a numpy dtype string such as "<f4", ">i8" or "|b1".
func parseDescr(s string) (dtype, error) {
	d := s
	big := !hostLE // '=' and a missing order mean native
	if d != "" {
		switch d[0] {
		case '<', '|':
			big = false
			d = d[1:]
		case '>':
			big = true
			d = d[1:]
		case '=':
			d = d[1:]
		}
	}
	if d == "?" {
		d = "b1"
	}
	if name, ok := dtypeNames[d]; ok {
		return dtype{name: name, kind: d[0], size: int(d[1] - '0'), big: big && d[1] != '1'}, nil
	}
	why := ""
	if d != "" {
		switch d[0] {
		case 'c':
			why = " (complex)"
		case 'O':
			why = " (Python objects)"
		case 'U', 'S', 'a':
			why = " (strings)"
		case 'V':
			why = " (raw bytes or records)"
		case 'M', 'm':
			why = " (dates and times)"
		case 'f':
			why = " (only float16, float32 and float64 are supported)"
		}
	}
	return dtype{}, unsupportedDType(fmt.Sprintf("unsupported dtype %q%s", s, why))
}

// ErrUnsupportedDType is matched (errors.Is) by the error of an array whose header is fine but
// whose dtype this package does not read: complex numbers, strings, Python objects, records,
// dates, float128, safetensors' float8 types. Such an array is most likely not activations or
// brain data (names, labels stored next to them).
var ErrUnsupportedDType = errors.New("unsupported dtype")

// unsupportedDType is an error message that matches ErrUnsupportedDType.
type unsupportedDType string

func (e unsupportedDType) Error() string        { return string(e) }
func (e unsupportedDType) Is(target error) bool { return target == ErrUnsupportedDType }

// descr returns the numpy dtype string of t, the inverse of parseDescr.
func (t dtype) descr() string {
	order := "<"
	if t.big {
		order = ">"
	}
	if t.size == 1 {
		order = "|"
	}
	return fmt.Sprintf("%s%c%d", order, t.kind, t.size)
}

func (t dtype) order() binary.ByteOrder {
	if t.big {
		return binary.BigEndian
	}
	return binary.LittleEndian
}

// native reports whether values of t can be used in place on this machine.
func (t dtype) native() bool { return t.size == 1 || t.big != hostLE }

// fill sets a's data from raw, exactly n elements of t. Native, aligned float32, float64 and
// int64 data aliases raw and takes a reference on m (which may be nil for ordinary memory);
// everything else is converted with one copy: integers and bools to int64, but a uint64 array
// holding a value above the int64 range to float64.
func fill(a *Array, t dtype, raw []byte, n int, m *mapping) error {
	if len(raw) != n*t.size {
		return fmt.Errorf("internal error: %d bytes for %d elements of %s", len(raw), n, t.name)
	}
	var p unsafe.Pointer
	if n > 0 {
		p = unsafe.Pointer(unsafe.SliceData(raw))
	}
	inPlace := n > 0 && t.native() && uintptr(p)%uintptr(t.size) == 0
	bo := t.order()
	switch {
	case t.kind == 'f' && t.size == 4:
		if inPlace {
			a.F32 = unsafe.Slice((*float32)(p), n)
			a.m = m.retain()
			return nil
		}
		dst := make([]float32, n)
		copy(bytesOf(dst), raw)
		if !t.native() {
			// Swap in place: one pass over memory, no bounds checks against raw.
			u := unsafe.Slice((*uint32)(unsafe.Pointer(unsafe.SliceData(dst))), n)
			for i, v := range u {
				u[i] = bits.ReverseBytes32(v)
			}
		}
		a.F32 = dst
	case t.kind == 'f' && t.size == 8:
		if inPlace {
			a.F64 = unsafe.Slice((*float64)(p), n)
			a.m = m.retain()
			return nil
		}
		dst := make([]float64, n)
		copy(bytesOf(dst), raw)
		if !t.native() {
			swap64(unsafe.Slice((*uint64)(unsafe.Pointer(unsafe.SliceData(dst))), n))
		}
		a.F64 = dst
	case t.kind == 'f' && t.size == 2:
		dst := make([]float32, n)
		tab := halfTable()
		for i := range dst {
			dst[i] = tab[bo.Uint16(raw[2*i:])]
		}
		a.F32 = dst
	case t.kind == 'h':
		dst := make([]float32, n)
		for i := range dst {
			dst[i] = math.Float32frombits(uint32(bo.Uint16(raw[2*i:])) << 16)
		}
		a.F32 = dst
	case t.kind == 'i' && t.size == 8:
		if inPlace {
			a.I64 = unsafe.Slice((*int64)(p), n)
			a.m = m.retain()
			return nil
		}
		dst := make([]int64, n)
		copy(bytesOf(dst), raw)
		if !t.native() {
			swap64(unsafe.Slice((*uint64)(unsafe.Pointer(unsafe.SliceData(dst))), n))
		}
		a.I64 = dst
	case t.kind == 'u' && t.size == 8 && !fitsInt64(raw, bo):
		// No int64 holds the array: read it as NumPy's astype(np.float64) does (rounded to
		// nearest, exact below 2^53), as the HDF5 and NIfTI readers read every uint64.
		dst := make([]float64, n)
		for i := range dst {
			dst[i] = float64(bo.Uint64(raw[8*i:]))
		}
		a.F64 = dst
	default:
		dst := make([]int64, n)
		if err := convertInts(dst, t, raw); err != nil {
			return err
		}
		a.I64 = dst
	}
	return nil
}

// fitsInt64 reports whether every uint64 in raw is at most math.MaxInt64.
func fitsInt64(raw []byte, bo binary.ByteOrder) bool {
	for i := 0; i+8 <= len(raw); i += 8 {
		if bo.Uint64(raw[i:]) > math.MaxInt64 {
			return false
		}
	}
	return true
}

func convertInts(dst []int64, t dtype, raw []byte) error {
	bo := t.order()
	switch int(t.kind)<<4 | t.size {
	case 'b'<<4 | 1:
		for i := range dst {
			if raw[i] != 0 {
				dst[i] = 1
			}
		}
	case 'i'<<4 | 1:
		for i := range dst {
			dst[i] = int64(int8(raw[i]))
		}
	case 'u'<<4 | 1:
		for i := range dst {
			dst[i] = int64(raw[i])
		}
	case 'i'<<4 | 2:
		for i := range dst {
			dst[i] = int64(int16(bo.Uint16(raw[2*i:])))
		}
	case 'u'<<4 | 2:
		for i := range dst {
			dst[i] = int64(bo.Uint16(raw[2*i:]))
		}
	case 'i'<<4 | 4:
		for i := range dst {
			dst[i] = int64(int32(bo.Uint32(raw[4*i:])))
		}
	case 'u'<<4 | 4:
		for i := range dst {
			dst[i] = int64(bo.Uint32(raw[4*i:]))
		}
	case 'u'<<4 | 8: // at most math.MaxInt64 (fill reads the others as float64)
		for i := range dst {
			dst[i] = int64(bo.Uint64(raw[8*i:]))
		}
	default:
		return fmt.Errorf("internal error: no conversion for %s", t.name)
	}
	return nil
}

func swap64(u []uint64) {
	for i, v := range u {
		u[i] = bits.ReverseBytes64(v)
	}
}

// halfTable returns the float32 value of every binary16 bit pattern (256 KB, built on first
// use): a table lookup converts large float16 arrays faster than the bit manipulation.
var halfTable = sync.OnceValue(func() *[1 << 16]float32 {
	var t [1 << 16]float32
	for h := range t {
		t[h] = halfToFloat32(uint16(h))
	}
	return &t
})

// halfToFloat32 converts IEEE 754 binary16 to float32 exactly.
func halfToFloat32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch exp {
	case 0x1f: // inf, or NaN with its payload
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	case 0: // zero or subnormal: mant * 2^-24, a normal float32
		f := float32(mant) * (1.0 / (1 << 24))
		return math.Float32frombits(sign | math.Float32bits(f))
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
}

// bytesOf views a slice of fixed-size numbers as its bytes, in host order.
func bytesOf[T float32 | float64 | int64 | uint64](s []T) []byte {
	if len(s) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(s))), len(s)*int(unsafe.Sizeof(s[0])))
}
