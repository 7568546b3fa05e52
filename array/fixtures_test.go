package array

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The fixtures in testdata/arrays are written by numpy (testdata/gen_arrays.py), and
// expected.json holds the values the script used, flattened in C order.

const fixtureDir = "../testdata/arrays"

type expEntry struct {
	Shape   []int
	DType   string
	Fortran bool
	Values  []json.RawMessage
}

type expBundle struct {
	Order   []string
	Members map[string]expEntry
	Tensors map[string]expEntry
}

func loadExpected(t testing.TB) map[string]json.RawMessage {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtureDir, "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func fixture(name string) string { return filepath.Join(fixtureDir, name) }

// storedIndex maps a C-order flat index to the index in data stored in the given order.
func storedIndex(k int, shape []int, fortran bool) int {
	if !fortran {
		return k
	}
	idx := make([]int, len(shape))
	for d := len(shape) - 1; d >= 0; d-- {
		idx[d] = k % shape[d]
		k /= shape[d]
	}
	f, stride := 0, 1
	for d := range shape {
		f += idx[d] * stride
		stride *= shape[d]
	}
	return f
}

// sameFloat is exact equality, with NaN equal to NaN and -0 distinct from +0.
func sameFloat(a, b float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	return a == b && math.Signbit(a) == math.Signbit(b)
}

func checkArray(t *testing.T, label string, a *Array, e expEntry) {
	t.Helper()
	if a == nil {
		t.Fatalf("%s: nil array", label)
	}
	if len(a.Shape) != len(e.Shape) || a.Size() != len(e.Values) {
		t.Fatalf("%s: shape %v, want %v", label, a.Shape, e.Shape)
	}
	for i := range e.Shape {
		if a.Shape[i] != e.Shape[i] {
			t.Fatalf("%s: shape %v, want %v", label, a.Shape, e.Shape)
		}
	}
	if a.DType != e.DType {
		t.Errorf("%s: dtype %q, want %q", label, a.DType, e.DType)
	}
	if a.Fortran != e.Fortran {
		t.Errorf("%s: fortran %v, want %v", label, a.Fortran, e.Fortran)
	}
	set := 0
	for _, ok := range []bool{a.F32 != nil, a.F64 != nil, a.I64 != nil, a.ints != nil} {
		if ok {
			set++
		}
	}
	if set != 1 {
		t.Fatalf("%s: %d of F32, F64, I64 and the integers as stored set", label, set)
	}
	if n := len(a.F32) + len(a.F64) + len(a.I64) + intsLen(a.ints); n != len(e.Values) {
		t.Fatalf("%s: %d values, want %d", label, n, len(e.Values))
	}
	ints := a.Ints()
	bad := 0
	for k, raw := range e.Values {
		i := storedIndex(k, e.Shape, e.Fortran)
		var s string
		if json.Unmarshal(raw, &s) == nil { // a float, as float.hex()
			want, err := strconv.ParseFloat(s, 64)
			if err != nil {
				t.Fatalf("%s: bad expected value %q", label, s)
			}
			var got float64
			switch {
			case a.F32 != nil:
				got = float64(a.F32[i])
			case a.F64 != nil:
				got = a.F64[i]
			default:
				t.Fatalf("%s: integer data, want floats", label)
			}
			if !sameFloat(got, want) {
				t.Errorf("%s: element %d = %v, want %v", label, k, got, want)
				bad++
			}
			continue
		}
		want, err := strconv.ParseInt(string(raw), 10, 64)
		if err != nil {
			t.Fatalf("%s: bad expected value %s", label, raw)
		}
		if ints == nil {
			t.Fatalf("%s: float data, want integers", label)
		}
		if ints[i] != want {
			t.Errorf("%s: element %d = %d, want %d", label, k, ints[i], want)
			bad++
		}
		if bad > 5 {
			t.FailNow()
		}
	}
}

func TestReadNPYFixtures(t *testing.T) {
	exp := loadExpected(t)
	n := 0
	for name, raw := range exp {
		if !strings.HasSuffix(name, ".npy") {
			continue
		}
		n++
		var e expEntry
		if err := json.Unmarshal(raw, &e); err != nil {
			t.Fatal(err)
		}
		a, err := ReadNPY(fixture(name))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if a.Name != fixture(name) {
			t.Errorf("%s: Name %q, want the path", name, a.Name)
		}
		checkArray(t, name, a, e)
		if err := a.Close(); err != nil {
			t.Errorf("%s: Close: %v", name, err)
		}
	}
	if n < 25 {
		t.Fatalf("only %d .npy fixtures in expected.json", n)
	}
}

func TestReadNPYMapsOnlyNativeAligned(t *testing.T) {
	for name, mapped := range map[string]bool{
		"f32_v1.npy": true, "f32_v3.npy": true, "f64.npy": true, "int64.npy": true, "fortran_2d.npy": true,
		"int32.npy": true, "int16.npy": true, "uint8.npy": true, "bool.npy": true, "uint64.npy": true,
		"f4_be.npy": false, "f8_be.npy": false, "f16.npy": false, "i4_be.npy": false, "i8_be.npy": false,
		"uint64_big.npy": false,
	} {
		a, err := ReadNPY(fixture(name))
		if err != nil {
			t.Fatal(err)
		}
		if got := a.m != nil; got != mapped {
			t.Errorf("%s: aliases the map = %v, want %v", name, got, mapped)
		}
		a.Close()
	}
}

func readBundle(t *testing.T, name string) expBundle {
	t.Helper()
	var e expBundle
	if err := json.Unmarshal(loadExpected(t)[name], &e); err != nil {
		t.Fatal(err)
	}
	if len(e.Order) == 0 {
		t.Fatalf("%s: not in expected.json", name)
	}
	return e
}

func TestReadNPZFixtures(t *testing.T) {
	for _, name := range []string{"bundle.npz", "compressed.npz", "mixed.npz"} {
		e := readBundle(t, name)
		arrays, err := ReadNPZ(fixture(name))
		if err != nil {
			t.Fatal(err)
		}
		if len(arrays) != len(e.Order) {
			t.Fatalf("%s: %d arrays, want %d", name, len(arrays), len(e.Order))
		}
		for i, a := range arrays {
			if a.Name != e.Order[i] {
				t.Errorf("%s: array %d is %q, want %q", name, i, a.Name, e.Order[i])
			}
			checkArray(t, name+":"+a.Name, a, e.Members[e.Order[i]])
		}
		for _, a := range arrays {
			a.Close()
		}
	}
}

func TestReadSafetensorsFixture(t *testing.T) {
	e := readBundle(t, "model.safetensors")
	arrays, err := ReadSafetensors(fixture("model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	if len(arrays) != len(e.Order) {
		t.Fatalf("%d tensors, want %d", len(arrays), len(e.Order))
	}
	for i, a := range arrays {
		if a.Name != e.Order[i] {
			t.Errorf("tensor %d is %q, want %q (data-offset order)", i, a.Name, e.Order[i])
		}
		checkArray(t, a.Name, a, e.Tensors[e.Order[i]])
	}
	if arrays[0].Name == "weight" && arrays[0].m == nil {
		t.Error("the aligned float32 tensor was copied, want it mapped")
	}
	for _, a := range arrays {
		a.Close()
	}
}

func TestReadDispatch(t *testing.T) {
	for name, want := range map[string]int{"f32_v1.npy": 1, "bundle.npz": 3, "model.safetensors": 8} {
		arrays, err := Read(fixture(name))
		if err != nil {
			t.Fatal(err)
		}
		if len(arrays) != want {
			t.Errorf("%s: %d arrays, want %d", name, len(arrays), want)
		}
		for _, a := range arrays {
			a.Close()
		}
	}
	if _, err := Read("x.csv"); err == nil || !strings.Contains(err.Error(), "x.csv") {
		t.Errorf("unknown extension: err = %v", err)
	}
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

func parseHex(t *testing.T, s string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("bad expected value %q", s)
	}
	return v
}
