package array

import (
	"fmt"
	"math/big"
	"strconv"
	"strings"
)

// The .npy header is the repr of a Python dict, e.g.
//
//	{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
//
// numpy reads it with ast.literal_eval. This is a small parser of the literals that can appear
// there (dicts, tuples, lists, strings, ints, True/False/None), so that any spacing, key order and
// trailing commas Python accepts are accepted, and anything else is an error, never a panic.

type pyKind int

const (
	pyStr pyKind = iota
	pyInt
	pyBool
	pyNone
	pyTuple
	pyList
	pyDict
)

type pyValue struct {
	kind  pyKind
	str   string
	num   int64
	b     bool
	items []pyValue // tuple or list items; dict keys and values interleaved
}

// maxDepth bounds nesting, so a header of a million '(' fails instead of exhausting the stack.
const maxDepth = 32

type pyParser struct {
	s     string
	pos   int
	depth int
}

func (p *pyParser) errorf(format string, args ...any) error {
	return fmt.Errorf("header is not a valid Python literal: "+format, args...)
}

func (p *pyParser) skipSpace() {
	for p.pos < len(p.s) {
		switch p.s[p.pos] {
		case ' ', '\t', '\n', '\r', '\f', '\v':
			p.pos++
		default:
			return
		}
	}
}

func (p *pyParser) peek() byte {
	p.skipSpace()
	if p.pos >= len(p.s) {
		return 0
	}
	return p.s[p.pos]
}

func (p *pyParser) value() (pyValue, error) {
	c := p.peek()
	if p.pos >= len(p.s) {
		return pyValue{}, p.errorf("unexpected end")
	}
	switch {
	case c == '{' || c == '(' || c == '[':
		p.depth++
		if p.depth > maxDepth {
			return pyValue{}, p.errorf("nested too deeply")
		}
		v, err := p.container(c)
		p.depth--
		return v, err
	case c == '\'' || c == '"':
		return p.string()
	case (c == 'u' || c == 'U' || c == 'b' || c == 'B') && p.pos+1 < len(p.s) && (p.s[p.pos+1] == '\'' || p.s[p.pos+1] == '"'):
		p.pos++ // u'' from Python 2 headers; b'' is accepted the same way
		return p.string()
	case c == '-' || c == '+' || (c >= '0' && c <= '9'):
		return p.int()
	}
	for _, w := range []struct {
		word string
		v    pyValue
	}{{"True", pyValue{kind: pyBool, b: true}}, {"False", pyValue{kind: pyBool}}, {"None", pyValue{kind: pyNone}}} {
		if strings.HasPrefix(p.s[p.pos:], w.word) && !isIdent(p.s, p.pos+len(w.word)) {
			p.pos += len(w.word)
			return w.v, nil
		}
	}
	return pyValue{}, p.errorf("unexpected %q at offset %d", c, p.pos)
}

func isIdent(s string, i int) bool {
	if i >= len(s) {
		return false
	}
	c := s[i]
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// container parses a dict, list, tuple or parenthesised value starting at open.
func (p *pyParser) container(open byte) (pyValue, error) {
	close := map[byte]byte{'{': '}', '(': ')', '[': ']'}[open]
	p.pos++
	v := pyValue{kind: map[byte]pyKind{'{': pyDict, '(': pyTuple, '[': pyList}[open]}
	comma := false // a comma was seen: (x) is x, (x,) is a tuple
	for {
		if p.peek() == close {
			p.pos++
			break
		}
		item, err := p.value()
		if err != nil {
			return pyValue{}, err
		}
		v.items = append(v.items, item)
		if open == '{' {
			if p.peek() != ':' {
				return pyValue{}, p.errorf("expected ':' at offset %d", p.pos)
			}
			p.pos++
			val, err := p.value()
			if err != nil {
				return pyValue{}, err
			}
			v.items = append(v.items, val)
		}
		switch p.peek() {
		case ',':
			p.pos++
			comma = true
		case close:
		default:
			if p.pos >= len(p.s) {
				return pyValue{}, p.errorf("unexpected end, expected %q", close)
			}
			return pyValue{}, p.errorf("expected ',' or %q at offset %d", close, p.pos)
		}
	}
	if open == '(' && len(v.items) == 1 && !comma {
		return v.items[0], nil
	}
	return v, nil
}

func (p *pyParser) string() (pyValue, error) {
	q := p.s[p.pos]
	start := p.pos
	p.pos++
	var b strings.Builder
	for p.pos < len(p.s) {
		c := p.s[p.pos]
		p.pos++
		switch {
		case c == q:
			return pyValue{kind: pyStr, str: b.String()}, nil
		case c == '\n':
			return pyValue{}, p.errorf("line break in string at offset %d", p.pos-1)
		case c != '\\':
			b.WriteByte(c)
			continue
		}
		if p.pos >= len(p.s) {
			break
		}
		e := p.s[p.pos]
		p.pos++
		switch e {
		case '\\', '\'', '"':
			b.WriteByte(e)
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case 'r':
			b.WriteByte('\r')
		case '0':
			b.WriteByte(0)
		case 'x':
			if p.pos+2 > len(p.s) {
				return pyValue{}, p.errorf("bad \\x escape at offset %d", p.pos-2)
			}
			x, err := strconv.ParseUint(p.s[p.pos:p.pos+2], 16, 8)
			if err != nil {
				return pyValue{}, p.errorf("bad \\x escape at offset %d", p.pos-2)
			}
			b.WriteByte(byte(x))
			p.pos += 2
		default: // Python keeps unknown escapes as written
			b.WriteByte('\\')
			b.WriteByte(e)
		}
	}
	return pyValue{}, p.errorf("unterminated string at offset %d", start)
}

func (p *pyParser) int() (pyValue, error) {
	start := p.pos
	if c := p.s[p.pos]; c == '-' || c == '+' {
		p.pos++
	}
	digits := p.pos
	for p.pos < len(p.s) && p.s[p.pos] >= '0' && p.s[p.pos] <= '9' {
		p.pos++
	}
	if p.pos == digits {
		return pyValue{}, p.errorf("bad number at offset %d", start)
	}
	text := p.s[start:p.pos]
	if p.pos < len(p.s) && (p.s[p.pos] == 'L' || p.s[p.pos] == 'l') {
		p.pos++ // Python 2 long, written by old numpy
	}
	if isIdent(p.s, p.pos) || p.pos < len(p.s) && p.s[p.pos] == '.' {
		return pyValue{}, p.errorf("bad number at offset %d", start)
	}
	// Python 3 rejects leading zeros ("007"), except for zero itself.
	if d := strings.TrimLeft(text, "+-"); len(d) > 1 && d[0] == '0' && strings.Trim(d, "0") != "" {
		return pyValue{}, p.errorf("bad number %q at offset %d", text, start)
	}
	n, err := strconv.ParseInt(text, 10, 64)
	if err != nil {
		return pyValue{}, p.errorf("integer %s out of range", text)
	}
	return pyValue{kind: pyInt, num: n}, nil
}

// parseLiteral parses one Python literal filling all of s (surrounding white space allowed).
func parseLiteral(s string) (pyValue, error) {
	p := &pyParser{s: s}
	v, err := p.value()
	if err != nil {
		return pyValue{}, err
	}
	if p.peek() != 0 || p.pos < len(p.s) {
		return pyValue{}, p.errorf("unexpected %q after the value at offset %d", p.s[p.pos], p.pos)
	}
	return v, nil
}

// npyHeader is what a .npy header declares.
type npyHeader struct {
	dtype   dtype
	fortran bool
	shape   []int
}

// parseHeader parses and checks the dict of a .npy header.
func parseHeader(s string) (npyHeader, error) { return parseHeaderWith(s, parseDescr) }

// parseHeaderWith is parseHeader with the dtypes that descr accepts.
func parseHeaderWith(s string, descr func(string) (dtype, error)) (npyHeader, error) {
	v, err := parseLiteral(s)
	if err != nil {
		return npyHeader{}, err
	}
	if v.kind != pyDict {
		return npyHeader{}, fmt.Errorf("header is not a dict")
	}
	var h npyHeader
	var bigDims []int64 // the shape, when a dimension is above maxDim
	seen := map[string]bool{}
	for i := 0; i < len(v.items); i += 2 {
		k, val := v.items[i], v.items[i+1]
		if k.kind != pyStr {
			return npyHeader{}, fmt.Errorf("header has a key that is not a string")
		}
		seen[k.str] = true // a repeated key: the last wins, as in Python
		switch k.str {
		case "descr":
			switch val.kind {
			case pyStr:
				if h.dtype, err = descr(val.str); err != nil {
					return npyHeader{}, err
				}
			case pyList:
				return npyHeader{}, unsupportedDType("unsupported dtype: structured (a list of fields)")
			default:
				return npyHeader{}, fmt.Errorf("header 'descr' is not a string")
			}
		case "fortran_order":
			if val.kind != pyBool {
				return npyHeader{}, fmt.Errorf("header 'fortran_order' is not True or False")
			}
			h.fortran = val.b
		case "shape":
			if val.kind != pyTuple {
				return npyHeader{}, fmt.Errorf("header 'shape' is not a tuple")
			}
			h.shape = make([]int, len(val.items))
			bigDims = nil
			for j, d := range val.items {
				if d.kind != pyInt || d.num < 0 {
					return npyHeader{}, fmt.Errorf("header 'shape' is not a tuple of non-negative ints")
				}
				h.shape[j] = int(min(d.num, maxDim))
				if d.num > maxDim && bigDims == nil {
					bigDims = make([]int64, len(val.items))
				}
			}
			if bigDims != nil {
				for j, d := range val.items {
					bigDims[j] = d.num
				}
			}
		default:
			return npyHeader{}, fmt.Errorf("header has unexpected key %q", k.str)
		}
	}
	for _, k := range []string{"descr", "fortran_order", "shape"} {
		if !seen[k] {
			return npyHeader{}, fmt.Errorf("header has no %q key", k)
		}
	}
	if bigDims != nil {
		return npyHeader{}, &bigShapeError{dims: bigDims, dtype: h.dtype}
	}
	return h, nil
}

// maxDim keeps dimensions representable as int on 32-bit platforms too.
const maxDim = 1<<31 - 1

// bigShapeError is a shape with a dimension above maxDim. Where the size of the data is known
// (tooLarge), the message says whether the data declared would run past the end of the file,
// which is what such a header usually means (a corrupt or mistyped shape).
type bigShapeError struct {
	dims  []int64
	dtype dtype
}

func (e *bigShapeError) Error() string {
	for _, d := range e.dims {
		if d > maxDim {
			return fmt.Sprintf("shape %s: dimension %d too large (at most %d)", bigShapeString(e.dims), d, maxDim)
		}
	}
	return fmt.Sprintf("shape %s too large", bigShapeString(e.dims))
}

// tooLarge returns the error for a shape with dimensions above maxDim whose data would be
// stored in have bytes: truncation when the declared data does not fit, else e.
func (e *bigShapeError) tooLarge(have int) error {
	if need := e.bytes(); need.Cmp(big.NewInt(int64(have))) > 0 {
		return fmt.Errorf("truncated: header declares %s %s (%s bytes of data), file has %d",
			bigShapeString(e.dims), e.dtype.name, need, have)
	}
	return e
}

// bytes returns the size of the data the shape declares.
func (e *bigShapeError) bytes() *big.Int {
	need := new(big.Int).SetInt64(int64(e.dtype.size))
	for _, d := range e.dims {
		need.Mul(need, big.NewInt(d))
	}
	return need
}

func bigShapeString(dims []int64) string {
	parts := make([]string, len(dims))
	for i, d := range dims {
		parts[i] = strconv.FormatInt(d, 10)
	}
	return strings.Join(parts, " x ")
}

// formatHeader returns the dict of a .npy header, as numpy writes it.
func formatHeader(descr string, fortran bool, shape []int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "{'descr': '%s', 'fortran_order': %s, 'shape': (", descr, map[bool]string{true: "True", false: "False"}[fortran])
	for i, d := range shape {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Itoa(d))
	}
	if len(shape) == 1 {
		b.WriteByte(',')
	}
	b.WriteString("), }")
	return b.String()
}
