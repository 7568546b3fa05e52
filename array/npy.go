package array

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"unicode/utf8"

	"github.com/brainalign/brainalign/internal/atomicfile"
)

const npyMagic = "\x93NUMPY"

// ReadNPY reads a .npy file. Little-endian float32, float64 and int64 data is memory-mapped, not
// copied (see the package documentation); Close the array when done with it.
func ReadNPY(path string) (*Array, error) {
	m, err := openData(path)
	if err != nil {
		return nil, err
	}
	defer m.release() // the arrays hold their own reference when they alias the map
	a, err := decodeNPY(path, m.data, m)
	if err != nil {
		return nil, err
	}
	a.Name = path
	return a, nil
}

// decodeNPY decodes a whole .npy file held in buf; name prefixes errors. Data may alias buf,
// taking a reference on m (nil when buf is ordinary memory).
func decodeNPY(name string, buf []byte, m *mapping) (*Array, error) {
	l, err := npyLayoutOf(buf, len(buf))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	// Bytes after the data are ignored, as numpy does.
	a := &Array{Name: name, Shape: l.h.shape, DType: l.h.dtype.name, Fortran: l.h.fortran}
	if err := fill(a, l.h.dtype, buf[l.off:l.off+l.nbytes], l.n, m); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return a, nil
}

// npyLayout is what the prefix of a .npy file says: its header, where its data starts, and the
// data's element count and size.
type npyLayout struct {
	h         npyHeader
	off       int
	n, nbytes int
}

// npyLayoutOf parses the prefix of a .npy file of total bytes whose first bytes are in buf
// (at least the whole prefix, or the whole file when that is shorter) and checks that the file
// holds the data the header declares.
func npyLayoutOf(buf []byte, total int) (npyLayout, error) {
	return npyLayoutWith(buf, total, parseDescr)
}

// npyLayoutWith is npyLayoutOf with the dtypes that descr accepts (ReadNPYIDs': strings too).
func npyLayoutWith(buf []byte, total int, descr func(string) (dtype, error)) (npyLayout, error) {
	h, off, err := parsePrefixWith(buf, total, descr)
	if err != nil {
		var bigErr *bigShapeError
		if errors.As(err, &bigErr) {
			err = bigErr.tooLarge(total - off)
		}
		return npyLayout{}, err
	}
	n, nbytes, err := dataBytes(h.shape, h.dtype.size)
	if err != nil {
		return npyLayout{}, err
	}
	if have := total - off; have < nbytes {
		return npyLayout{}, fmt.Errorf("truncated: header declares %s %s (%d bytes of data), file has %d",
			ShapeString(h.shape), h.dtype.name, nbytes, have)
	}
	return npyLayout{h: h, off: off, n: n, nbytes: nbytes}, nil
}

// errBadMagic is the error of data that is not a .npy file at all.
var errBadMagic = errors.New("not a .npy file (bad magic)")

// npyPrefixLen checks the magic and version at the start of a .npy file of total bytes (head
// holds its first min(total, 12) bytes or more) and returns the version's major number and where
// the header text starts and ends.
func npyPrefixLen(head []byte, total int) (major byte, start, end int, err error) {
	if len(head) < len(npyMagic) || string(head[:len(npyMagic)]) != npyMagic {
		return 0, 0, 0, errBadMagic
	}
	if total < 10 || len(head) < 10 {
		return 0, 0, 0, fmt.Errorf("truncated: %d bytes, too short for a .npy header", total)
	}
	major, minor := head[6], head[7]
	var hlen int
	switch {
	case major == 1 && minor == 0:
		hlen, start = int(binary.LittleEndian.Uint16(head[8:])), 10
	case (major == 2 || major == 3) && minor == 0:
		if total < 12 || len(head) < 12 {
			return 0, 0, 0, fmt.Errorf("truncated: %d bytes, too short for a .npy header", total)
		}
		h := binary.LittleEndian.Uint32(head[8:])
		if uint64(h) > uint64(total) {
			return 0, 0, 0, fmt.Errorf("header length %d beyond the end of the file (%d bytes)", h, total)
		}
		hlen, start = int(h), 12
	default:
		return 0, 0, 0, fmt.Errorf("unsupported .npy format version %d.%d", major, minor)
	}
	if hlen > total-start {
		return 0, 0, 0, fmt.Errorf("header length %d beyond the end of the file (%d bytes)", hlen, total)
	}
	return major, start, start + hlen, nil
}

// parsePrefixWith parses the magic, version and header of a .npy file of total bytes whose first
// bytes are in buf (at least the whole prefix, or the whole file when that is shorter) and
// returns the header and the offset of the data; with a header error, the offset too. descr
// parses the header's dtype.
func parsePrefixWith(buf []byte, total int, descr func(string) (dtype, error)) (npyHeader, int, error) {
	major, start, end, err := npyPrefixLen(buf, total)
	if err != nil {
		return npyHeader{}, 0, err
	}
	if end > len(buf) {
		return npyHeader{}, 0, fmt.Errorf("internal error: %d bytes of a %d-byte .npy prefix", len(buf), end)
	}
	text := buf[start:end]
	if major == 3 && !utf8.Valid(text) {
		return npyHeader{}, 0, fmt.Errorf("header is not valid UTF-8")
	}
	// Versions 1 and 2 are latin-1; every character the dict can hold is ASCII, so the bytes
	// are parsed as they are.
	h, err := parseHeaderWith(string(text), descr)
	if err != nil {
		return npyHeader{}, end, err
	}
	return h, end, nil
}

// npyPrefix returns the magic, version, length and header of a .npy file, padded with spaces
// and a newline so that the data starts at a multiple of 64 bytes, as numpy writes it.
func npyPrefix(descr string, fortran bool, shape []int) []byte {
	dict := formatHeader(descr, fortran, shape)
	pre := 10
	if len(dict)+1+63+10 > math.MaxUint16 {
		pre = 12 // version 2.0: a 4-byte header length
	}
	total := (pre + len(dict) + 1 + 63) / 64 * 64
	b := make([]byte, total)
	copy(b, npyMagic)
	if pre == 10 {
		b[6] = 1
		binary.LittleEndian.PutUint16(b[8:], uint16(total-pre))
	} else {
		b[6] = 2
		binary.LittleEndian.PutUint32(b[8:], uint32(total-pre))
	}
	n := copy(b[pre:], dict)
	for i := pre + n; i < total-1; i++ {
		b[i] = ' '
	}
	b[total-1] = '\n'
	return b
}

// rawData returns the descr and the little-endian bytes of data ([]float32, []float64, the
// integer slices []int8 to []uint64, or []bool), without a copy on little-endian machines (bools
// are copied: one byte, 0 or 1, each, numpy's '|b1').
func rawData(data any) (descr string, raw []byte, n int, err error) {
	switch d := data.(type) {
	case []bool:
		b := make([]byte, len(d))
		for i, v := range d {
			if v {
				b[i] = 1
			}
		}
		return "|b1", b, len(d), nil
	case bools: // an array's bool data as read
		b := make([]byte, len(d))
		for i, v := range d {
			if v != 0 {
				b[i] = 1
			}
		}
		return "|b1", b, len(d), nil
	case []float32:
		return "<f4", leBytes(d, 4), len(d), nil
	case []float64:
		return "<f8", leBytes(d, 8), len(d), nil
	case []int8:
		return "|i1", bytesOf(d), len(d), nil
	case []uint8:
		return "|u1", bytesOf(d), len(d), nil
	case []int16:
		return "<i2", leBytes(d, 2), len(d), nil
	case []uint16:
		return "<u2", leBytes(d, 2), len(d), nil
	case []int32:
		return "<i4", leBytes(d, 4), len(d), nil
	case []uint32:
		return "<u4", leBytes(d, 4), len(d), nil
	case []int64:
		return "<i8", leBytes(d, 8), len(d), nil
	case []uint64:
		return "<u8", leBytes(d, 8), len(d), nil
	}
	return "", nil, 0, fmt.Errorf("unsupported data type %T (want []float32, []float64, []int8 to []uint64, or []bool)", data)
}

func leBytes[T float32 | float64 | integer](s []T, size int) []byte {
	b := bytesOf(s)
	if hostLE {
		return b
	}
	out := make([]byte, len(b))
	for i := 0; i < len(b); i += size {
		for k := 0; k < size; k++ {
			out[i+k] = b[i+size-1-k]
		}
	}
	return out
}

// WriteNPY writes data ([]float32, []float64, []int8 to []uint64, or []bool) of the given shape
// to path as a little-endian, C-order .npy file (format 1.0, or 2.0 for very many dimensions). The file is
// written atomically: the header, then the raw bytes in one write.
func WriteNPY(path string, shape []int, data any) error {
	write, err := NPYWriter(shape, data)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return atomicfile.Write(path, write)
}

// NPYWriter checks data against shape and returns the function that writes them as WriteNPY
// does, for a file written otherwise (atomicfile.Batch.Write); its errors name no file.
func NPYWriter(shape []int, data any) (func(w io.Writer) error, error) {
	descr, raw, n, err := rawData(data)
	if err != nil {
		return nil, err
	}
	if err := checkShape(shape, n); err != nil {
		return nil, err
	}
	prefix := npyPrefix(descr, false, shape)
	return func(w io.Writer) error {
		if _, err := w.Write(prefix); err != nil {
			return err
		}
		_, err := w.Write(raw)
		return err
	}, nil
}

// WriteNPYChunks writes a float64, C-order .npy file of the given shape whose data arrive in
// chunks, so an array larger than memory can be assembled from pieces (a sweep's merge). produce
// calls emit with consecutive chunks; the file is written atomically and is an error unless the
// chunks hold exactly the shape's number of elements.
func WriteNPYChunks(path string, shape []int, produce func(emit func(chunk []float64) error) error) error {
	write, err := NPYChunksWriter(path, shape, produce)
	if err != nil {
		return err
	}
	return atomicfile.Write(path, write)
}

// NPYChunksWriter returns the function that writes float32 or float64 values of the given shape
// as WriteNPYChunks does, as they come, for a file written otherwise (atomicfile.Batch.Write);
// its errors name name, the file written (chunks of more or fewer values than the shape's).
func NPYChunksWriter[V float32 | float64](name string, shape []int, produce func(emit func(chunk []V) error) error) (func(w io.Writer) error, error) {
	var zero V
	size, descr := 8, "<f8"
	if _, is32 := any(zero).(float32); is32 {
		size, descr = 4, "<f4"
	}
	want, _, err := dataBytes(shape, size)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	prefix := npyPrefix(descr, false, shape)
	return func(w io.Writer) error {
		if _, err := w.Write(prefix); err != nil {
			return err
		}
		got := 0
		err := produce(func(chunk []V) error {
			got += len(chunk)
			if got > want {
				return fmt.Errorf("%s: more than the %d values of shape %s", name, want, ShapeString(shape))
			}
			_, err := w.Write(leBytes(chunk, size))
			return err
		})
		if err == nil && got != want {
			err = fmt.Errorf("%s: %d values for shape %s", name, got, ShapeString(shape))
		}
		return err
	}, nil
}

// checkShape checks that shape has non-negative dimensions holding exactly n elements.
func checkShape(shape []int, n int) error {
	want, _, err := dataBytes(shape, 1)
	if err != nil {
		return err
	}
	for _, d := range shape {
		if d > maxDim {
			return fmt.Errorf("dimension %d too large", d)
		}
	}
	if want != n {
		return fmt.Errorf("shape %s holds %d values, data has %d", ShapeString(shape), want, n)
	}
	return nil
}
