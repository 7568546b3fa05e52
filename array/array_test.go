package array

import (
	"archive/zip"
	"bytes"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unsafe"
)

func TestParseHeaderTolerance(t *testing.T) {
	for _, s := range []string{
		"{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }",
		"{'descr':'<f4','fortran_order':False,'shape':(3,4)}",
		"  {\n 'shape' : ( 3 ,\t4 , ) ,\n 'fortran_order' : False , \"descr\" : \"<f4\" ,\n }  \n",
		"{u'descr': u'<f4', u'fortran_order': False, u'shape': (3L, 4L), }", // Python 2 numpy
		"{'descr': '<f4', 'fortran_order': False, 'shape': (+3, 4)}",
		"{'descr': '\\x3cf4', 'fortran_order': False, 'shape': (3, 4)}", // an escape in a string
	} {
		h, err := parseHeader(s)
		if err != nil {
			t.Errorf("%q: %v", s, err)
			continue
		}
		if h.dtype.name != "float32" || h.dtype.big || h.fortran || len(h.shape) != 2 || h.shape[0] != 3 || h.shape[1] != 4 {
			t.Errorf("%q: parsed %+v", s, h)
		}
	}
	for s, want := range map[string][]int{
		"{'descr': '<f8', 'fortran_order': True, 'shape': ()}":      {},
		"{'descr': '<f8', 'fortran_order': True, 'shape': (5,)}":    {5},
		"{'descr': '<f8', 'fortran_order': True, 'shape': (0, 00)}": {0, 0},
	} {
		h, err := parseHeader(s)
		if err != nil || !h.fortran || len(h.shape) != len(want) {
			t.Errorf("%q: %+v, %v", s, h, err)
			continue
		}
		for i := range want {
			if h.shape[i] != want[i] {
				t.Errorf("%q: shape %v", s, h.shape)
			}
		}
	}
	for _, s := range []string{
		"{'descr': '<f4', 'fortran_order': False, 'shape': (3 4)}",
		"{'descr': '<f4', 'fortran_order': False, 'shape': (3,,)}",
		"{'descr': '<f4', 'fortran_order': False, 'shape': (03,)}",
		"{'descr': '<f4', 'fortran_order': False, 'shape': (3.0,)}",
		"{'descr': '<f4', 'fortran_order': Falsey, 'shape': (3,)}",
		"{'descr': '<f4' 'fortran_order': False, 'shape': (3,)}",
		"{'descr': '<f4', 'fortran_order': False, 'shape': (3,)",
		"{'descr' '<f4'}",
		"",
	} {
		if _, err := parseHeader(s); err == nil {
			t.Errorf("%q: no error", s)
		}
	}
}

func TestDescr(t *testing.T) {
	for s, want := range map[string]string{
		"<f2": "float16", ">f8": "float64", "|b1": "bool", "?": "bool", "|u1": "uint8", "<u1": "uint8",
		"<i2": "int16", ">u4": "uint32", "=i8": "int64", "f4": "float32",
	} {
		d, err := parseDescr(s)
		if err != nil || d.name != want {
			t.Errorf("%q: %+v, %v", s, d, err)
			continue
		}
		if s[0] == '>' && d.size > 1 && !d.big {
			t.Errorf("%q: not big-endian", s)
		}
		if back, err := parseDescr(d.descr()); err != nil || back != d {
			t.Errorf("%q: descr() %q does not parse back", s, d.descr())
		}
	}
}

// halfRef converts binary16 to float64 from the definition, independently of halfToFloat32.
func halfRef(h uint16) float64 {
	sign := 1.0
	if h&0x8000 != 0 {
		sign = -1
	}
	e, m := int(h>>10&0x1f), float64(h&0x3ff)
	switch e {
	case 0:
		return sign * math.Ldexp(m, -24)
	case 31:
		if m != 0 {
			return math.NaN()
		}
		return math.Inf(int(sign))
	}
	return sign * math.Ldexp(1+m/1024, e-15)
}

func TestHalfToFloat32Exhaustive(t *testing.T) {
	for h := 0; h < 1<<16; h++ {
		got := float64(halfToFloat32(uint16(h)))
		if want := halfRef(uint16(h)); !sameFloat(got, want) {
			t.Fatalf("half %#04x: %v, want %v", h, got, want)
		}
		if math.IsNaN(got) && math.Float32bits(halfToFloat32(uint16(h)))>>13&0x3ff != uint32(h)&0x3ff {
			t.Fatalf("half %#04x: NaN payload lost", h)
		}
	}
}

func TestUnalignedDataIsCopied(t *testing.T) {
	// A header whose length puts the data at an odd offset: legal, though numpy never writes it.
	want := []float64{1.5, -2.25, math.Inf(1)}
	var data []byte
	for _, v := range want {
		data = append(data, unsafe.Slice((*byte)(unsafe.Pointer(&v)), 8)...)
	}
	p := writeTemp(t, "odd.npy", npyFile(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (3,)}", data))
	a, err := ReadNPY(p)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if a.m != nil {
		t.Error("unaligned data aliases the map")
	}
	for i := range want {
		if a.F64[i] != want[i] {
			t.Errorf("element %d = %v, want %v", i, a.F64[i], want[i])
		}
	}
}

func TestMatrix(t *testing.T) {
	exp := loadExpected(t)
	check := func(name string, wantColMajor, wantAlias bool) {
		t.Helper()
		var e expEntry
		if err := jsonUnmarshal(exp[name], &e); err != nil {
			t.Fatal(err)
		}
		a, err := ReadNPY(fixture(name))
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		m, err := a.Matrix()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := m.Validate(name); err != nil {
			t.Fatal(err)
		}
		if m.ColMajor != wantColMajor {
			t.Errorf("%s: ColMajor %v, want %v", name, m.ColMajor, wantColMajor)
		}
		alias := m.F32 != nil && &m.F32[0] == &a.F32[0] || m.F64 != nil && &m.F64[0] == &a.F64[0]
		if alias != wantAlias {
			t.Errorf("%s: matrix aliases the array = %v, want %v", name, alias, wantAlias)
		}
		rows := e.Shape[0]
		if m.Rows != rows || m.Rows*m.Cols != len(e.Values) {
			t.Fatalf("%s: %d x %d matrix for shape %v", name, m.Rows, m.Cols, e.Shape)
		}
		// Column j of row i is C-order element i*cols+j: the trailing axes flattened in C order.
		for k := range e.Values {
			var s string
			jsonUnmarshal(e.Values[k], &s)
			want := parseHex(t, s)
			if got := m.At(k/m.Cols, k%m.Cols); got != want {
				t.Fatalf("%s: At(%d, %d) = %v, want %v", name, k/m.Cols, k%m.Cols, got, want)
			}
		}
	}
	check("f32_v1.npy", false, true)
	check("f64.npy", false, true)
	check("fortran_2d.npy", true, true)
	check("fortran_3d.npy", false, false)
	check("cube.npy", false, true)
	check("vec.npy", false, true)
	check("f4_be.npy", false, true) // the copy made at read time, not another

	for name, want := range map[string]string{
		"bool.npy":   "bool data (true/false), want numbers (convert it first",
		"scalar.npy": "0-d array",
		"empty.npy":  "empty array (shape 0 x 3)",
	} {
		a, err := ReadNPY(fixture(name))
		if err != nil {
			t.Fatal(err)
		}
		_, err = a.Matrix()
		checkErr(t, name, err, fixture(name), want)
		a.Close()
	}
}

// TestFortranToCIndices: numpy's Fortran-ordered fixtures hold, at each position in the order
// stored, the value that expected.json (ravel(order="C")) holds at its C-order index; the
// indices are each position once, in the order stored.
func TestFortranToCIndices(t *testing.T) {
	exp := loadExpected(t)
	for _, name := range []string{"fortran_2d.npy", "fortran_3d.npy", "mask_fortran.npy"} {
		var e expEntry
		if err := jsonUnmarshal(exp[name], &e); err != nil {
			t.Fatal(err)
		}
		a, err := ReadNPY(fixture(name))
		if err != nil {
			t.Fatal(err)
		}
		if !a.Fortran || !e.Fortran {
			t.Fatalf("%s: not in Fortran order", name)
		}
		stored := make([]float64, a.Size())
		if a.Float64s(0, stored) != len(stored) {
			t.Fatalf("%s: short read", name)
		}
		a.Close()
		seen := make([]bool, len(e.Values))
		next := 0
		for f, c := range FortranToCIndices(e.Shape) {
			if f != next || c < 0 || c >= len(seen) || seen[c] {
				t.Fatalf("%s: position %d (C order %d) after %d", name, f, c, next-1)
			}
			next, seen[c] = f+1, true
			var want float64
			if v := string(e.Values[c]); strings.HasPrefix(v, `"`) {
				var s string
				jsonUnmarshal(e.Values[c], &s)
				want = parseHex(t, s)
			} else { // the mask's booleans, as 0 and 1
				want, _ = strconv.ParseFloat(v, 64)
			}
			if stored[f] != want {
				t.Fatalf("%s: stored element %d = %v, numpy's C-order element %d = %v", name, f, stored[f], c, want)
			}
		}
		if next != len(seen) {
			t.Fatalf("%s: %d positions of %d", name, next, len(seen))
		}
	}
}

func TestFortranToCManyAxes(t *testing.T) {
	shape := []int{3, 2, 4, 5}
	n := 3 * 2 * 4 * 5
	src := make([]float64, n)
	// Fortran element (i, j, k, l) holds the C-order index of (i, j, k, l).
	for i := 0; i < 3; i++ {
		for j := 0; j < 2; j++ {
			for k := 0; k < 4; k++ {
				for l := 0; l < 5; l++ {
					src[i+3*(j+2*(k+4*l))] = float64(((i*2+j)*4+k)*5 + l)
				}
			}
		}
	}
	dst := fortranToC(src, shape)
	for c, v := range dst {
		if v != float64(c) {
			t.Fatalf("dst[%d] = %v", c, v)
		}
	}
}

func TestWriteNPYRoundTrip(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		shape []int
		data  any
	}{
		{[]int{2, 3}, []float32{1, -2, 3.5, float32(math.Inf(-1)), 0, 1e-40}},
		{[]int{3}, []float64{math.Pi, math.Copysign(0, -1), math.NaN()}}, // negative zero too
		{[]int{}, []float64{42}},
		{[]int{2, 0, 4}, []float32{}},
		{[]int{2, 2}, []int64{math.MinInt64, -1, 0, math.MaxInt64}},
		{make([]int, 40), []float32{}}, // 40 zero dims: still a small header
		{ones(22000), []float32{7}},    // a header over 64 KB: format 2.0
	}
	for i, c := range cases {
		p := filepath.Join(dir, "out.npy")
		if err := WriteNPY(p, c.shape, c.data); err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		b := mustRead(t, p)
		if wantMajor := byte(1 + len(c.shape)/20000); b[6] != wantMajor {
			t.Errorf("case %d: format version %d, want %d", i, b[6], wantMajor)
		}
		if (len(b)-len(bytesOfAny(c.data)))%64 != 0 {
			t.Errorf("case %d: data at offset %d, want a multiple of 64", i, len(b)-len(bytesOfAny(c.data)))
		}
		a, err := ReadNPY(p)
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		if len(a.Shape) != len(c.shape) || a.Fortran {
			t.Errorf("case %d: shape %v fortran %v", i, a.Shape, a.Fortran)
		}
		var got any
		switch {
		case a.F32 != nil:
			got = a.F32
		case a.F64 != nil:
			got = a.F64
		default:
			got = a.I64
		}
		if !bytes.Equal(bytesOfAny(got), bytesOfAny(c.data)) {
			t.Errorf("case %d: read back %v, want %v", i, got, c.data)
		}
		a.Close()
	}
}

func ones(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = 1
	}
	return s
}

func bytesOfAny(v any) []byte {
	switch d := v.(type) {
	case []float32:
		return bytesOf(d)
	case []float64:
		return bytesOf(d)
	case []int64:
		return bytesOf(d)
	}
	panic("bytesOfAny")
}

func TestWriteNPYMatchesNumpyData(t *testing.T) {
	// The same array numpy wrote as f32_v1.npy: the same data bytes, an equivalent header.
	data := make([]float32, 12)
	for i := range data {
		data[i] = float32(i)*0.5 - 1
	}
	p := filepath.Join(t.TempDir(), "base.npy")
	if err := WriteNPY(p, []int{3, 4}, data); err != nil {
		t.Fatal(err)
	}
	ours, theirs := mustRead(t, p), mustRead(t, fixture("f32_v1.npy"))
	if !bytes.Equal(ours[len(ours)-48:], theirs[len(theirs)-48:]) {
		t.Error("data bytes differ from numpy's")
	}
	ho, _, err1 := parseNPYPrefix(ours)
	ht, _, err2 := parseNPYPrefix(theirs)
	if err1 != nil || err2 != nil || ho.dtype != ht.dtype || ho.fortran != ht.fortran || len(ho.shape) != len(ht.shape) {
		t.Errorf("headers differ: %+v %v vs numpy %+v %v", ho, err1, ht, err2)
	}
	if !bytes.Equal(ours[:8], theirs[:8]) {
		t.Errorf("magic/version %q, numpy %q", ours[:8], theirs[:8])
	}
}

func TestWriteNPYErrors(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "bad.npy")
	for _, c := range []struct {
		shape []int
		data  any
		want  string
	}{
		{[]int{2, 3}, []float32{1, 2}, "shape 2 x 3 holds 6 values, data has 2"},
		{[]int{-1}, []float64{}, "negative dimension"},
		{[]int{2}, []int{1, 2}, "unsupported data type []int"},
		{[]int{2}, nil, "unsupported data type <nil>"},
	} {
		checkErr(t, c.want, WriteNPY(p, c.shape, c.data), p, c.want)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("failed writes left %d files", len(entries))
	}
}

func TestWriteNPZRoundTrip(t *testing.T) {
	in := []*Array{
		{Name: "layer0", Shape: []int{2, 3}, F32: []float32{1, 2, 3, 4, 5, 6}},
		{Name: "layer1_long_name_to_shift_offsets", Shape: []int{3, 2}, Fortran: true, F64: []float64{1, 2, 3, 4, 5, 6}},
		{Name: "ids", Shape: []int{3}, I64: []int64{-1, 0, 1}},
		{Name: "scalar", Shape: []int{}, F64: []float64{2.5}},
		{Name: "empty", Shape: []int{0, 7}, F32: []float32{}},
		{Name: "dir/née", Shape: []int{1}, F32: []float32{9}},
	}
	p := filepath.Join(t.TempDir(), "out.npz")
	if err := WriteNPZ(p, in); err != nil {
		t.Fatal(err)
	}
	out, err := ReadNPZ(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != len(in) {
		t.Fatalf("%d arrays, want %d", len(out), len(in))
	}
	for i, a := range out {
		w := in[i]
		if a.Name != w.Name || a.Fortran != w.Fortran || len(a.Shape) != len(w.Shape) || a.Size() != w.Size() {
			t.Errorf("array %d: %q %v fortran %v, want %q %v %v", i, a.Name, a.Shape, a.Fortran, w.Name, w.Shape, w.Fortran)
		}
		if !bytes.Equal(bytesOf(a.F32), bytesOf(w.F32)) || !bytes.Equal(bytesOf(a.F64), bytesOf(w.F64)) || !bytes.Equal(bytesOf(a.I64), bytesOf(w.I64)) {
			t.Errorf("array %q: values differ", a.Name)
		}
		if a.Size() > 0 && a.m == nil {
			t.Errorf("array %q was copied, want it mapped in place (aligned member)", a.Name)
		}
	}
	// The shared map stays valid until the last array is closed.
	out[0].Close()
	if out[1].F64[5] != 6 {
		t.Error("closing one member disturbed another")
	}
	for _, a := range out {
		a.Close()
	}
	// archive/zip checks the CRC of every member: our CRCs and sizes are right.
	zr, err := zip.OpenReader(p)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, rc); err != nil {
			t.Errorf("%s: %v", f.Name, err)
		}
		rc.Close()
	}
}

func TestWriteNPZErrors(t *testing.T) {
	p := filepath.Join(t.TempDir(), "bad.npz")
	for _, c := range []struct {
		arrays []*Array
		want   string
	}{
		{[]*Array{nil}, "array 0 is nil"},
		{[]*Array{{Name: "", Shape: []int{1}, F32: []float32{1}}}, "invalid name"},
		{[]*Array{{Name: "a", Shape: []int{1}, F32: []float32{1}}, {Name: "a", Shape: []int{1}, F32: []float32{1}}}, `two arrays named "a"`},
		{[]*Array{{Name: "a", Shape: []int{1}}}, "0 of F32, F64, I64 set"},
		{[]*Array{{Name: "a", Shape: []int{1}, F32: []float32{1}, F64: []float64{1}}}, "2 of F32, F64, I64 set"},
		{[]*Array{{Name: "a", Shape: []int{2}, F32: []float32{1}}}, "shape 2 holds 2 values, data has 1"},
	} {
		checkErr(t, c.want, WriteNPZ(p, c.arrays), p, c.want)
	}
	if _, err := os.Stat(p); !os.IsNotExist(err) {
		t.Error("a failed WriteNPZ created the file")
	}
}

func TestCloseSemantics(t *testing.T) {
	var nilArray *Array
	if err := nilArray.Close(); err != nil {
		t.Fatal(err)
	}
	a, err := ReadNPY(fixture("f32_v1.npy"))
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
	if a.F32 != nil {
		t.Error("data still set after Close")
	}
	if _, err := a.Matrix(); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("Matrix after Close: %v", err)
	}
}

// parseNPYPrefix parses the magic, version and header of a .npy file held in buf and returns the
// header and the offset of the data.
func parseNPYPrefix(buf []byte) (npyHeader, int, error) {
	return parsePrefixWith(buf, len(buf), parseDescr)
}
