package array

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/brainalign/brainalign/engine"
)

// The fixtures in testdata/intdata are integer arrays written by numpy
// (testdata/gen_intdata.py), with the values of numpy's astype to the float dtype they are read
// as: float32 for 8- and 16-bit integers, float64 for wider ones.

const intDataDir = "../testdata/intdata"

type intDataEntry struct {
	Shape   []int
	DType   string
	Fortran bool
	Values  string
}

type intDataValues struct {
	As     string
	Floats []string
	Ints   []json.Number
}

func loadIntData(t *testing.T) (map[string]intDataEntry, map[string]intDataValues) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(intDataDir, "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var exp struct {
		Arrays map[string]intDataEntry
		Values map[string]intDataValues
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber() // int64 and uint64 extremes, exactly
	if err := d.Decode(&exp); err != nil {
		t.Fatal(err)
	}
	return exp.Arrays, exp.Values
}

// Integer .npy files, .npz members (stored unaligned by savez, and deflated) and safetensors
// tensors of every integer dtype, C and Fortran order (2-d and 3-d), little- and big-endian,
// read as data equal numpy's astype to float32 (8 and 16 bits) or float64 (wider), and as labels
// the integers stored.
func TestReadIntegerData(t *testing.T) {
	arrays, values := loadIntData(t)
	if len(arrays) < 40+16+9 {
		t.Fatalf("only %d arrays in expected.json", len(arrays))
	}
	for name, e := range arrays {
		file, member, _ := strings.Cut(name, ":")
		f, err := Open(filepath.Join(intDataDir, file))
		if err != nil {
			t.Fatal(err)
		}
		if member == "" {
			member = f.Names()[0]
		}
		a, err := f.Read(member)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		v := values[e.Values]
		if a.DType != e.DType || a.Fortran != e.Fortran || ShapeString(a.Shape) != ShapeString(e.Shape) {
			t.Errorf("%s: %s %s fortran %v, want %s %s fortran %v", name, a.DType, ShapeString(a.Shape), a.Fortran, e.DType, ShapeString(e.Shape), e.Fortran)
		}
		// Native, aligned data is used in place: numpy pads .npy headers to 64 bytes, and bytes
		// are always aligned; deflated members are decompressed (not mapped).
		npy, oneByte := strings.HasSuffix(file, ".npy"), strings.HasSuffix(e.DType, "int8")
		if want := npy && !strings.Contains(file, "_be") || oneByte && file != "deflated.npz"; (a.m != nil) != want && (npy || oneByte || file == "deflated.npz") {
			t.Errorf("%s: aliases the map = %v, want %v", name, a.m != nil, want)
		}

		m, err := a.Matrix()
		if err != nil {
			t.Fatalf("%s: Matrix: %v", name, err)
		}
		if (m.F32 != nil) != (v.As == "float32") || (m.F64 != nil) != (v.As == "float64") {
			t.Fatalf("%s: Matrix of F32 %v, F64 %v; want %s", name, m.F32 != nil, m.F64 != nil, v.As)
		}
		if m.ColMajor != (e.Fortran && len(e.Shape) == 2) {
			t.Errorf("%s: ColMajor %v", name, m.ColMajor)
		}
		if rows := e.Shape[0]; m.Rows != rows || m.Rows*m.Cols != len(v.Floats) {
			t.Fatalf("%s: %d x %d matrix for shape %v", name, m.Rows, m.Cols, e.Shape)
		}
		ints := a.Ints()
		if len(ints) != len(v.Ints) {
			t.Fatalf("%s: Ints holds %d values, want %d", name, len(ints), len(v.Ints))
		}
		bad := 0
		for k, s := range v.Floats {
			// element k in C order is row k/cols, column k%cols: the trailing axes flattened in C order
			if got, want := m.At(k/m.Cols, k%m.Cols), parseHex(t, s); !sameFloat(got, want) {
				t.Errorf("%s: element %d read as %v, want numpy's %v", name, k, got, want)
				bad++
			}
			// as stored (Ints is in the array's order); the uint64 fixtures are within int64's range
			if got, want := ints[storedIndex(k, e.Shape, e.Fortran)], v.Ints[k].String(); strconv.FormatInt(got, 10) != want {
				t.Errorf("%s: label %d read as %d, want %s", name, k, got, want)
				bad++
			}
			if bad > 5 {
				t.FailNow()
			}
		}
		a.Close()
	}
}

// A bool array is refused as data with a message that says so, and read as labels 0 and 1.
func TestBoolNotData(t *testing.T) {
	p := filepath.Join(t.TempDir(), "mask.npy")
	if err := WriteNPY(p, []int{2, 2}, []bool{true, false, false, true}); err != nil {
		t.Fatal(err)
	}
	a, err := ReadNPY(p)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	_, err = a.Matrix()
	checkErr(t, "bool", err, p, "bool data (true/false), want numbers (convert it first, as numpy's a.astype(np.float32), if 0 and 1 are meant)")
	if got := a.Ints(); len(got) != 4 || got[0] != 1 || got[1] != 0 || got[3] != 1 {
		t.Errorf("Ints %v, want [1 0 0 1]", got)
	}
}

// Reading an int16 array as data takes its stored size (none of it on the heap where the file
// is mapped) and then its float32 copy: no int64 widening (8 bytes a value), which made an int16
// 10,000 x 330,000 .npy of 6.6 GB take 26 GB before Matrix's copy.
func TestInt16DataNotWidened(t *testing.T) {
	const rows, cols = 500, 2000
	n := rows * cols
	vals := make([]int16, n)
	for i := range vals {
		vals[i] = int16(i*7919%60001 - 30000)
	}
	dir := t.TempDir()
	le := filepath.Join(dir, "le.npy")
	if err := WriteNPY(le, []int{rows, cols}, vals); err != nil {
		t.Fatal(err)
	}
	// The same values big-endian, which are copied (in host order, still 2 bytes each)
	raw := make([]byte, 2*n)
	for i, v := range vals {
		binary.BigEndian.PutUint16(raw[2*i:], uint16(v))
	}
	be := filepath.Join(dir, "be.npy")
	if err := os.WriteFile(be, append(npyPrefix(">i2", false, []int{rows, cols}), raw...), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path     string
		readMost uint64 // bytes the read may allocate
	}{
		{le, 64 << 10},             // mapped: headers and bookkeeping only
		{be, uint64(2*n) + 64<<10}, // one int16 copy
	} {
		var a *Array
		var err error
		read := allocated(func() { a, err = ReadNPY(c.path) })
		if err != nil {
			t.Fatal(err)
		}
		if read > c.readMost {
			t.Errorf("%s: reading %d int16 values allocated %d bytes, want at most %d (8 bytes a value: widened to int64)", filepath.Base(c.path), n, read, c.readMost)
		}
		var m engine.Matrix
		conv := allocated(func() { m, err = a.Matrix() })
		if err != nil {
			t.Fatal(err)
		}
		if want := uint64(4*n) + 64<<10; conv > want {
			t.Errorf("%s: Matrix allocated %d bytes, want at most %d (its float32 copy)", filepath.Base(c.path), conv, want)
		}
		if m.F32 == nil || m.F32[0] != float32(vals[0]) || m.F32[n-1] != float32(vals[n-1]) || m.F32[12345] != float32(vals[12345]) {
			t.Errorf("%s: Matrix values differ from the int16 values", filepath.Base(c.path))
		}
		a.Close()
	}
}
