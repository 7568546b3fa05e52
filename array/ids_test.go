package array

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// The fixtures in testdata/ids are ids as numpy saves them (testdata/gen_ids.py); expected.json
// holds each readable file's ids as numpy gives them back.
const idsDir = "../testdata/ids"

func TestReadNPYIDs(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(idsDir, "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var want map[string][]string
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	if len(want) < 9 {
		t.Fatalf("expected.json lists %d files", len(want))
	}
	for name, ids := range want {
		got, err := ReadNPYIDs(filepath.Join(idsDir, name))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !slices.Equal(got, ids) {
			t.Errorf("%s: ids %q, want %q", name, got, ids)
		}
	}
	for name, msg := range map[string]string{
		"float64.npy":      `unsupported dtype "<f8" (float64; integer ids are saved as integers, ids.astype(np.int64)): stimulus ids are a .npy of strings or integers`,
		"bool.npy":         `unsupported dtype "|b1" (bool)`,
		"complex.npy":      `unsupported dtype "<c16" (complex)`,
		"object.npy":       `unsupported dtype "|O" (Python objects: a list saved with allow_pickle): stimulus ids are a .npy of strings or integers, np.save(path, np.array(ids, dtype=str))`,
		"structured.npy":   "structured (a list of fields)",
		"matrix.npy":       "shape 2 x 3: stimulus ids are one array of n, or an n x 1 or 1 x n vector",
		"invalid_utf8.npy": `ids[1] is "caf\xe9": not UTF-8 text`,
		"truncated.npy":    "truncated: header declares 6 <U23 (552 bytes of data), file has 547",
	} {
		path := filepath.Join(idsDir, name)
		_, err := ReadNPYIDs(path)
		if err == nil || !strings.Contains(err.Error(), msg) || !strings.HasPrefix(err.Error(), path+": ") || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: %v, want one line starting with the path and saying %q", name, err, msg)
		}
	}
}

// utf32 encodes s as UTF-32 of n code points, padded with NULs, in the given byte order.
func utf32(s string, n int, bo binary.ByteOrder) []byte {
	b := make([]byte, 4*n)
	i := 0
	for _, r := range s {
		bo.PutUint32(b[4*i:], uint32(r))
		i++
	}
	return b
}

// Elements as numpy holds them: trailing NULs are padding (numpy strips them), NULs inside an
// element are its own; code points UTF-8 cannot hold and a width of nothing are refused, by
// element or dtype.
func TestReadNPYIDsElements(t *testing.T) {
	le := binary.LittleEndian
	u3 := func(shape string, elems ...[]byte) []byte {
		return npyFile(1, "{'descr': '<U3', 'fortran_order': False, 'shape': "+shape+"}", slices.Concat(elems...))
	}
	for _, c := range []struct {
		name string
		file []byte
		want []string
		err  string
	}{
		{"padding", u3("(3,)", utf32("a", 3, le), utf32("", 3, le), utf32("abc", 3, le)), []string{"a", "", "abc"}, ""},
		{"inner_nul", u3("(1,)", utf32("a\x00b", 3, le)), []string{"a\x00b"}, ""},
		{"fortran_col", npyFile(1, "{'descr': '>U1', 'fortran_order': True, 'shape': (2, 1)}", slices.Concat(utf32("é", 1, binary.BigEndian), utf32("z", 1, binary.BigEndian))), []string{"é", "z"}, ""},
		{"bytes_padding", npyFile(1, "{'descr': '|S3', 'fortran_order': False, 'shape': (2,)}", []byte("ab\x00\x00\x00\x00")), []string{"ab", ""}, ""},
		{"a_descr", npyFile(1, "{'descr': '|a2', 'fortran_order': False, 'shape': (1,)}", []byte("hi")), []string{"hi"}, ""},
		{"empty", npyFile(1, "{'descr': '<i8', 'fortran_order': False, 'shape': (0,)}", nil), []string{}, ""},
		{"1x1", npyFile(1, "{'descr': '<u4', 'fortran_order': False, 'shape': (1, 1)}", []byte{1, 2, 0, 0}), []string{"513"}, ""},
		{"surrogate", u3("(2,)", utf32("ok", 3, le), []byte{0, 0xd8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}), nil, "ids[1] holds code point U+D800, which is not a Unicode character"},
		{"beyond", u3("(1,)", []byte{0, 0, 0x11, 0, 0, 0, 0, 0, 0, 0, 0, 0}), nil, "ids[0] holds code point 0x110000, which is not a Unicode character"},
		{"zero_width", npyFile(1, "{'descr': '<U0', 'fortran_order': False, 'shape': (2,)}", nil), nil, `unsupported dtype "<U0"`},
		{"huge_width", npyFile(1, "{'descr': '<U99999999999999999999', 'fortran_order': False, 'shape': (2,)}", nil), nil, `unsupported dtype "<U99999999999999999999"`},
		{"scalar", npyFile(1, "{'descr': '<i8', 'fortran_order': False, 'shape': ()}", make([]byte, 8)), nil, "shape scalar: stimulus ids are one array"},
		{"3d", npyFile(1, "{'descr': '|u1', 'fortran_order': False, 'shape': (1, 1, 2)}", []byte{1, 2}), nil, "shape 1 x 1 x 2"},
		{"f2", npyFile(1, "{'descr': '<f2', 'fortran_order': False, 'shape': (1,)}", []byte{0, 0}), nil, `unsupported dtype "<f2" (float16; integer ids`},
	} {
		got, err := decodeNPYIDs("x.npy", c.file)
		switch {
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%s: %q, %v; want an error saying %q", c.name, got, err, c.err)
		case c.err == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.err == "" && !slices.Equal(got, c.want):
			t.Errorf("%s: ids %q, want %q", c.name, got, c.want)
		}
	}
}

// The readers of numbers refuse strings as before: ids are read by ReadNPYIDs alone.
func TestReadNPYRefusesStrings(t *testing.T) {
	_, err := ReadNPY(filepath.Join(idsDir, "names_U.npy"))
	if !errors.Is(err, ErrUnsupportedDType) || !strings.Contains(err.Error(), "(strings)") {
		t.Errorf("ReadNPY of '<U' names: %v, want unsupported dtype (strings)", err)
	}
}

func FuzzReadNPYIDs(f *testing.F) {
	addSeeds(f, idsDir, "*.npy")
	f.Fuzz(func(t *testing.T, b []byte) {
		ids, err := decodeNPYIDs("fuzz.npy", b)
		if err != nil {
			if strings.Contains(err.Error(), "\n") || !strings.HasPrefix(err.Error(), "fuzz.npy: ") {
				t.Fatalf("error %q: want one line starting with the name", err)
			}
			return
		}
		for i, id := range ids {
			if !utf8.ValidString(id) {
				t.Fatalf("ids[%d] = %q: not UTF-8", i, id)
			}
		}
	})
}
