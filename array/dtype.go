package array

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"sync"
	"sync/atomic"
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
// 64-bit integer data aliases raw and takes a reference on m (which may be nil for ordinary
// memory), as do native, aligned integers and bools of 8 to 32 bits, which are kept as stored
// (Array.Ints and Matrix convert them when asked): an int16 array of brain data then takes the
// file's pages, not four times their size widened to int64. Everything else is converted with one
// copy, on every core (blocks.go): uint64 to int64 (the same bits), or, for a uint64 array holding
// a value above the int64 range, to float64; big-endian or unaligned narrow integers to an aligned
// copy in host order.
func fill(a *Array, t dtype, raw []byte, n int, m *mapping) error {
	if len(raw) != n*t.size {
		return fmt.Errorf("internal error: %d bytes for %d elements of %s", len(raw), n, t.name)
	}
	var p unsafe.Pointer
	if n > 0 {
		p = unsafe.Pointer(unsafe.SliceData(raw))
	}
	inPlace := n > 0 && t.native() && uintptr(p)%uintptr(t.size) == 0
	switch {
	case t.kind == 'f' && t.size == 4:
		if inPlace {
			a.F32 = unsafe.Slice((*float32)(p), n)
			a.m = m.retain()
			return nil
		}
		dst := make([]float32, n)
		copyHost(bytesOf(dst), raw, 4, !t.native())
		a.F32 = dst
	case t.kind == 'f' && t.size == 8:
		if inPlace {
			a.F64 = unsafe.Slice((*float64)(p), n)
			a.m = m.retain()
			return nil
		}
		dst := make([]float64, n)
		copyHost(bytesOf(dst), raw, 8, !t.native())
		a.F64 = dst
	case t.kind == 'f' && t.size == 2:
		a.F32 = make([]float32, n)
		halvesToFloat32(a.F32, raw, t.big)
	case t.kind == 'h' && !t.big:
		a.F32 = make([]float32, n)
		bfloat16sToFloat32(a.F32, raw)
	case t.kind == 'u' && t.size == 8 && !fitsInt64(raw, t.big):
		// No int64 holds the array: read it as NumPy's astype(np.float64) does (rounded to
		// nearest, exact below 2^53), as the HDF5 and NIfTI readers read every uint64.
		a.F64 = make([]float64, n)
		uint64sToFloat64(a.F64, raw, t.big)
	case t.size == 8: // int64, and uint64 within the int64 range: the same bits
		a.I64 = stored[int64](a, raw, n, inPlace, m, t.native())
	case t.kind == 'b':
		a.ints = bools(stored[uint8](a, raw, n, inPlace, m, true))
	case t.kind == 'i' && t.size == 1:
		a.ints = stored[int8](a, raw, n, inPlace, m, true)
	case t.kind == 'u' && t.size == 1:
		a.ints = stored[uint8](a, raw, n, inPlace, m, true)
	case t.kind == 'i' && t.size == 2:
		a.ints = stored[int16](a, raw, n, inPlace, m, t.native())
	case t.kind == 'u' && t.size == 2:
		a.ints = stored[uint16](a, raw, n, inPlace, m, t.native())
	case t.kind == 'i' && t.size == 4:
		a.ints = stored[int32](a, raw, n, inPlace, m, t.native())
	case t.kind == 'u' && t.size == 4:
		a.ints = stored[uint32](a, raw, n, inPlace, m, t.native())
	default:
		return fmt.Errorf("internal error: no conversion for %s", t.name)
	}
	return nil
}

// integer is the element type of integer data as stored.
type integer interface {
	int8 | uint8 | int16 | uint16 | int32 | uint32 | int64 | uint64
}

// bools is bool data as stored: a byte per element, nonzero for true (numpy writes 0 and 1).
type bools []uint8

// stored returns the n elements of raw as a []T in host order: raw itself where it is in
// place (taking a reference on m), else an aligned copy, byte-swapped unless native.
func stored[T integer](a *Array, raw []byte, n int, inPlace bool, m *mapping, native bool) []T {
	if inPlace {
		a.m = m.retain()
		return unsafe.Slice((*T)(unsafe.Pointer(unsafe.SliceData(raw))), n)
	}
	dst := make([]T, n)
	copyHost(bytesOf(dst), raw, int(unsafe.Sizeof(*new(T))), !native)
	return dst
}

// fitsInt64 reports whether every uint64 in raw (big-endian if big) is at most math.MaxInt64: no
// value has its top bit set. The blocks are checked on every core; the answer does not depend on
// which finds a value above first.
func fitsInt64(raw []byte, big bool) bool {
	top := 7 // the byte that holds the top bit
	if big {
		top = 0
	}
	var above atomic.Bool
	inBlocks(len(raw)/8, func(start, end int) {
		if above.Load() {
			return
		}
		for i := start; i < end; i++ {
			if raw[8*i+top]&0x80 != 0 {
				above.Store(true)
				return
			}
		}
	})
	return !above.Load()
}

// copyHost copies raw into dst, of the same length, on every core, reversing the byte order of
// each size-byte element when swap: each block is swapped while it is in the cache.
func copyHost(dst, raw []byte, size int, swap bool) {
	inBlocks(len(raw)/size, func(start, end int) {
		d := dst[start*size : end*size]
		copy(d, raw[start*size:end*size])
		if swap {
			swapBytes(d, size)
		}
	})
}

// halvesToFloat32 converts the binary16 values in raw (big-endian if big) into dst, on every core.
// The byte order is chosen outside the loops: a binary.ByteOrder called through its interface
// costs more than the table lookup.
func halvesToFloat32(dst []float32, raw []byte, big bool) {
	tab := halfTable()
	inBlocks(len(dst), func(start, end int) {
		if big {
			for i := start; i < end; i++ {
				dst[i] = tab[binary.BigEndian.Uint16(raw[2*i:])]
			}
			return
		}
		for i := start; i < end; i++ {
			dst[i] = tab[binary.LittleEndian.Uint16(raw[2*i:])]
		}
	})
}

// bfloat16sToFloat32 converts the little-endian bfloat16 values in raw into dst, on every core: a
// bfloat16 is the top half of a float32's bits. Only safetensors stores bfloat16, little-endian
// by its definition.
func bfloat16sToFloat32(dst []float32, raw []byte) {
	inBlocks(len(dst), func(start, end int) {
		for i := start; i < end; i++ {
			dst[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(raw[2*i:])) << 16)
		}
	})
}

// uint64sToFloat64 converts the uint64 values in raw (big-endian if big) into dst, on every core,
// rounded to nearest as Go's (and NumPy's) conversion rounds.
func uint64sToFloat64(dst []float64, raw []byte, big bool) {
	inBlocks(len(dst), func(start, end int) {
		if big {
			for i := start; i < end; i++ {
				dst[i] = float64(binary.BigEndian.Uint64(raw[8*i:]))
			}
			return
		}
		for i := start; i < end; i++ {
			dst[i] = float64(binary.LittleEndian.Uint64(raw[8*i:]))
		}
	})
}

// swapBytes reverses the byte order of every size-byte element of b, in place.
func swapBytes(b []byte, size int) {
	n := len(b) / size
	if n == 0 {
		return
	}
	p := unsafe.Pointer(unsafe.SliceData(b))
	switch size {
	case 2:
		u := unsafe.Slice((*uint16)(p), n)
		for i, v := range u {
			u[i] = bits.ReverseBytes16(v)
		}
	case 4:
		u := unsafe.Slice((*uint32)(p), n)
		for i, v := range u {
			u[i] = bits.ReverseBytes32(v)
		}
	case 8:
		u := unsafe.Slice((*uint64)(p), n)
		for i, v := range u {
			u[i] = bits.ReverseBytes64(v)
		}
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
func bytesOf[T float32 | float64 | integer](s []T) []byte {
	if len(s) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(s))), len(s)*int(unsafe.Sizeof(s[0])))
}
