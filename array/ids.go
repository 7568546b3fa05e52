package array

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"
	"unsafe"
)

// idsHint says in errors what a .npy of ids can hold and how to write one.
const idsHint = "stimulus ids are a .npy of strings or integers, np.save(path, np.array(ids, dtype=str))"

// maxIDWidth bounds the characters of a string dtype, so that its size in bytes cannot overflow.
const maxIDWidth = 1 << 24

// ReadNPYIDs reads the stimulus ids a .npy file holds, one per element, as numpy gives them back:
// strings ('<U' and '>U', UTF-32; '|S' and '|a', bytes that must be UTF-8 text), trailing NULs
// stripped as numpy strips them (they pad each element to the dtype's width), or integers of any
// width and byte order written in decimal, so that an image index 12 pairs with an ids file's line
// "12". The array is 1-d, or a vector of n x 1 or 1 x n. Anything else (floats, bools, Python
// objects, records, a matrix) is refused: an id is a name, not a number to round. The ids share
// one allocation, so that a file of millions of ids is read without one per id.
func ReadNPYIDs(path string) ([]string, error) {
	m, err := openData(path)
	if err != nil {
		return nil, err
	}
	defer m.release() // the ids are copied out of the map
	return decodeNPYIDs(path, m.data)
}

// decodeNPYIDs is ReadNPYIDs of a whole .npy file held in buf; name prefixes errors.
func decodeNPYIDs(name string, buf []byte) ([]string, error) {
	l, err := npyLayoutWith(buf, len(buf), parseIDsDescr)
	if err != nil {
		if errors.Is(err, ErrUnsupportedDType) {
			err = fmt.Errorf("%w: %s", err, idsHint)
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if s := l.h.shape; !(len(s) == 1 || len(s) == 2 && (s[0] == 1 || s[1] == 1)) {
		return nil, fmt.Errorf("%s: shape %s: stimulus ids are one array of n, or an n x 1 or 1 x n vector", name, ShapeString(s))
	}
	t := l.h.dtype
	data := buf[l.off : l.off+l.nbytes]
	elem := func(i int) []byte { return data[i*t.size : (i+1)*t.size] } // a vector's order is its index's
	var appendID func(dst []byte, i int) ([]byte, error)
	switch t.kind {
	case 'U':
		codePoint := func(b []byte) uint32 { // by the concrete byte order: no interface call per character
			if t.big {
				return binary.BigEndian.Uint32(b)
			}
			return binary.LittleEndian.Uint32(b)
		}
		appendID = func(dst []byte, i int) ([]byte, error) {
			e := elem(i)
			end := len(e)
			for end > 0 && codePoint(e[end-4:]) == 0 {
				end -= 4
			}
			for k := 0; k < end; k += 4 {
				r := codePoint(e[k:])
				if r > utf8.MaxRune || 0xd800 <= r && r < 0xe000 {
					cp := fmt.Sprintf("U+%04X", r)
					if r > utf8.MaxRune {
						cp = fmt.Sprintf("0x%X", r)
					}
					return dst, fmt.Errorf("ids[%d] holds code point %s, which is not a Unicode character", i, cp)
				}
				dst = utf8.AppendRune(dst, rune(r))
			}
			return dst, nil
		}
	case 'S':
		appendID = func(dst []byte, i int) ([]byte, error) {
			e := bytes.TrimRight(elem(i), "\x00")
			if !utf8.Valid(e) {
				if len(e) > 80 {
					e = e[:80]
				}
				return dst, fmt.Errorf("ids[%d] is %q: not UTF-8 text (save the ids as str: np.array(ids, dtype=str))", i, e)
			}
			return append(dst, e...), nil
		}
	case 'i', 'u':
		bo := t.order()
		appendID = func(dst []byte, i int) ([]byte, error) {
			e := elem(i)
			var u uint64
			switch t.size {
			case 1:
				u = uint64(e[0])
			case 2:
				u = uint64(bo.Uint16(e))
			case 4:
				u = uint64(bo.Uint32(e))
			default:
				u = bo.Uint64(e)
			}
			if t.kind == 'u' {
				return strconv.AppendUint(dst, u, 10), nil
			}
			shift := 64 - 8*t.size // sign-extends the narrower widths
			return strconv.AppendInt(dst, int64(u<<shift)>>shift, 10), nil
		}
	default:
		return nil, fmt.Errorf("%s: internal error: no ids of %s", name, t.name)
	}
	// The ids' bytes are counted first (and checked), then written into one buffer of exactly
	// that size, which the ids are views of: it is never written again.
	total := 0
	var scratch []byte
	for i := range l.n {
		if scratch, err = appendID(scratch[:0], i); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		total += len(scratch)
	}
	ids := make([]string, l.n)
	all := make([]byte, 0, total)
	for i := range ids {
		start := len(all)
		all, _ = appendID(all, i)
		if n := len(all) - start; n > 0 {
			ids[i] = unsafe.String(&all[start], n)
		}
	}
	return ids, nil
}

// parseIDsDescr parses the dtype of a .npy of ids: a string dtype ('U': code points of 4 bytes;
// 'S' or 'a': bytes) of a width of 1 or more, or an integer of parseDescr's.
func parseIDsDescr(s string) (dtype, error) {
	d, big := s, !hostLE // '=' and a missing order mean native
	if d != "" {
		switch d[0] {
		case '<', '|':
			d, big = d[1:], false
		case '>':
			d, big = d[1:], true
		case '=':
			d = d[1:]
		}
	}
	if d != "" && (d[0] == 'U' || d[0] == 'S' || d[0] == 'a') {
		width, err := strconv.Atoi(d[1:])
		if err != nil || width < 1 || width > maxIDWidth {
			return dtype{}, unsupportedDType(fmt.Sprintf("unsupported dtype %q (strings of no width, or of more than %d characters)", s, maxIDWidth))
		}
		if d[0] == 'U' {
			order := "<"
			if big {
				order = ">"
			}
			return dtype{name: order + "U" + strconv.Itoa(width), kind: 'U', size: 4 * width, big: big}, nil
		}
		return dtype{name: "|S" + strconv.Itoa(width), kind: 'S', size: width}, nil
	}
	if d == "O" {
		return dtype{}, unsupportedDType(fmt.Sprintf("unsupported dtype %q (Python objects: a list saved with allow_pickle)", s))
	}
	t, err := parseDescr(s)
	if err != nil {
		return dtype{}, err
	}
	switch t.kind {
	case 'i', 'u':
		return t, nil
	case 'f': // an index array that went through floats (pandas, np.loadtxt): not rounded here
		return dtype{}, unsupportedDType(fmt.Sprintf("unsupported dtype %q (%s; integer ids are saved as integers, ids.astype(np.int64))", s, t.name))
	}
	return dtype{}, unsupportedDType(fmt.Sprintf("unsupported dtype %q (%s)", s, t.name))
}
