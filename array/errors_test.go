package array

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"encoding/binary"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// npyFile builds a .npy file with the given version and header dict, then data.
func npyFile(major byte, dict string, data []byte) []byte {
	var b bytes.Buffer
	b.WriteString(npyMagic)
	b.WriteByte(major)
	b.WriteByte(0)
	if major == 1 {
		binary.Write(&b, binary.LittleEndian, uint16(len(dict)))
	} else {
		binary.Write(&b, binary.LittleEndian, uint32(len(dict)))
	}
	b.WriteString(dict)
	b.Write(data)
	return b.Bytes()
}

func writeTemp(t *testing.T, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// checkErr asserts a one-line error that starts with the file name and contains want.
func checkErr(t *testing.T, label string, err error, path, want string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: no error, want %q", label, want)
		return
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, path+": ") || !strings.Contains(msg, want) || strings.Contains(msg, "\n") {
		t.Errorf("%s: error %q, want one line starting with %q and containing %q", label, msg, path, want)
	}
}

func TestReadNPYErrors(t *testing.T) {
	good := "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"
	data := make([]byte, 24)
	cases := []struct {
		name, want string
		file       []byte
	}{
		{"empty", "bad magic", nil},
		{"magic", "bad magic", []byte("PK\x03\x04 not numpy at all")},
		{"short", "too short", []byte(npyMagic + "\x01")},
		{"version", "unsupported .npy format version 4.0", npyFile(4, good, data)},
		{"minor", "unsupported .npy format version 1.1", append([]byte(npyMagic+"\x01\x01"), npyFile(1, good, data)[8:]...)},
		{"hlen", "header length 59 beyond the end of the file (40 bytes)", npyFile(1, good, data)[:40]},
		{"hlen-v2", "header length 4294967295 beyond the end of the file", []byte(npyMagic + "\x02\x00\xff\xff\xff\xff{}")},
		{"not-literal", "not a valid Python literal", npyFile(1, "{'descr': <f4}", nil)},
		{"unterminated", "not a valid Python literal", npyFile(1, "{'descr': '<f4", nil)},
		{"junk-after", "not a valid Python literal", npyFile(1, good+" x", nil)},
		{"not-dict", "header is not a dict", npyFile(1, "('<f4', False, (2, 3))", nil)},
		{"missing-shape", `no "shape" key`, npyFile(1, "{'descr': '<f4', 'fortran_order': False}", nil)},
		{"missing-descr", `no "descr" key`, npyFile(1, "{'fortran_order': False, 'shape': (2,)}", nil)},
		{"extra-key", `unexpected key "foo"`, npyFile(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'foo': 1}", nil)},
		{"complex", `unsupported dtype "<c16" (complex)`, npyFile(1, "{'descr': '<c16', 'fortran_order': False, 'shape': (2,)}", nil)},
		{"object", `unsupported dtype "|O" (Python objects)`, npyFile(1, "{'descr': '|O', 'fortran_order': False, 'shape': (2,)}", nil)},
		{"string", `unsupported dtype "<U3" (strings)`, npyFile(1, "{'descr': '<U3', 'fortran_order': False, 'shape': (2,)}", nil)},
		{"longdouble", `unsupported dtype "<f16"`, npyFile(1, "{'descr': '<f16', 'fortran_order': False, 'shape': (2,)}", nil)},
		{"structured", "structured", npyFile(1, "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,)}", nil)},
		{"descr-int", "'descr' is not a string", npyFile(1, "{'descr': 4, 'fortran_order': False, 'shape': (2,)}", nil)},
		{"fortran-int", "'fortran_order' is not True or False", npyFile(1, "{'descr': '<f4', 'fortran_order': 0, 'shape': (2,)}", nil)},
		{"shape-list", "'shape' is not a tuple", npyFile(1, "{'descr': '<f4', 'fortran_order': False, 'shape': [2, 3]}", nil)},
		{"shape-int", "'shape' is not a tuple", npyFile(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2)}", nil)},
		{"shape-neg", "not a tuple of non-negative ints", npyFile(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, -3)}", nil)},
		{"shape-str", "not a tuple of non-negative ints", npyFile(1, "{'descr': '<f4', 'fortran_order': False, 'shape': ('2',)}", nil)},
		{"shape-bool", "not a tuple of non-negative ints", npyFile(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (True,)}", nil)},
		{"shape-huge", "out of range", npyFile(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}", nil)},
		{"shape-overflow", "too large", npyFile(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (2147483647, 2147483647, 2147483647)}", nil)},
		{"truncated", "truncated: header declares 1000 x 200 float32 (800000 bytes of data), file has 4000",
			npyFile(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1000, 200), }", make([]byte, 4000))},
		{"deep", "nested too deeply", npyFile(1, strings.Repeat("(", 100000), nil)},
		{"v3-utf8", "not valid UTF-8", npyFile(3, "{'descr': '\xff'}", nil)},
		{"complex-fixture", "complex", mustRead(t, fixture("complex.npy"))},
		{"strings-fixture", "strings", mustRead(t, fixture("strings.npy"))},
	}
	for _, c := range cases {
		p := writeTemp(t, "Y.npy", c.file)
		a, err := ReadNPY(p)
		if err == nil {
			a.Close()
		}
		checkErr(t, c.name, err, p, c.want)
	}
	if _, err := ReadNPY(filepath.Join(t.TempDir(), "missing.npy")); err == nil || !strings.Contains(err.Error(), "missing.npy") {
		t.Errorf("missing file: err = %v", err)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// zipOf builds a zip archive of the given members, stored or deflated.
func zipOf(t *testing.T, method uint16, members ...[2]string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, m := range members {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: m[0], Method: method})
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(m[1]))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestReadNPZErrors(t *testing.T) {
	good := string(npyFile(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", make([]byte, 16)))
	bundle := mustRead(t, fixture("bundle.npz"))
	deflated := zipOf(t, zip.Deflate, [2]string{"a.npy", good})
	// Flip a byte of the deflate stream (it starts at 30+len("a.npy")): the result is either
	// invalid deflate or data that fails the CRC check; both are errors.
	badCRC := bytes.Clone(deflated)
	badCRC[40] ^= 0xff
	cases := []struct {
		name, want string
		file       []byte
	}{
		{"not-zip", "not a valid .npz (zip) archive", []byte("hello, not a zip file at all")},
		{"truncated-zip", "not a valid .npz (zip) archive", bundle[:len(bundle)-30]},
		{"member-not-npy", "member a.npy: not a .npy file (bad magic)", zipOf(t, zip.Store, [2]string{"a.npy", "just text"})},
		{"member-truncated", "member b.npy: truncated: header declares 2 float64 (16 bytes of data), file has 8", zipOf(t, zip.Store, [2]string{"a.npy", good}, [2]string{"b.npy", good[:len(good)-8]})},
		{"duplicate", "appears twice", zipOf(t, zip.Store, [2]string{"a.npy", good}, [2]string{"a", good})},
		{"corrupt-deflate", "member a.npy: decompressing", badCRC},
		// sizes a corrupt or hostile directory declares: refused, or read only as far as the data go,
		// never allocated up front (1<<44 bytes would end the process)
		{"csize-past-end", "beyond the end of the file", lyingZip(t, good, 1<<36, 1<<44)},
		{"sizes-overflow", "beyond the end of the file", lyingZip(t, good, 1<<50, 1<<60)},
		{"usize-too-large", "implausible uncompressed size", lyingZip(t, good, 0, 1<<44)},
		{"usize-plausible-lie", "member a.npy: decompressing", lyingZip(t, strings.Repeat(good, 200), 0, 100_000)},
	}
	for _, c := range cases {
		p := writeTemp(t, "bundle.npz", c.file)
		arrays, err := ReadNPZ(p)
		for _, a := range arrays {
			a.Close()
		}
		checkErr(t, c.name, err, p, c.want)
	}
	// A deflated member is decoded the same as a stored one.
	arrays, err := ReadNPZ(writeTemp(t, "ok.npz", deflated))
	if err != nil || len(arrays) != 1 || arrays[0].Name != "a" || len(arrays[0].F64) != 2 {
		t.Fatalf("deflated member: %v, %v", arrays, err)
	}
}

// lyingZip is an .npz of member a.npy holding data deflated, whose directory declares the
// compressed size csize (0: the true one) and the uncompressed size usize.
func lyingZip(t *testing.T, data string, csize, usize uint64) []byte {
	t.Helper()
	var comp bytes.Buffer
	fw, err := flate.NewWriter(&comp, flate.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	fw.Write([]byte(data))
	fw.Close()
	if csize == 0 {
		csize = uint64(comp.Len())
	}
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	w, err := zw.CreateRaw(&zip.FileHeader{Name: "a.npy", Method: zip.Deflate, CompressedSize64: csize, UncompressedSize64: usize, CRC32: crc32.ChecksumIEEE([]byte(data))})
	if err != nil {
		t.Fatal(err)
	}
	w.Write(comp.Bytes())
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// stFile builds a safetensors file from a header and data.
func stFile(header string, data []byte) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	return append(append(b, header...), data...)
}

func TestReadSafetensorsErrors(t *testing.T) {
	data := make([]byte, 32)
	cases := []struct {
		name, want string
		file       []byte
	}{
		{"short", "too short for a safetensors header", []byte{1, 2, 3}},
		{"hlen", "header length 1000 beyond the end of the file (20 bytes)", append(binary.LittleEndian.AppendUint64(nil, 1000), "{}{}{}{}{}{}"...)},
		{"hlen-huge", "beyond the end of the file", append(binary.LittleEndian.AppendUint64(nil, 1<<63), "{}"...)},
		{"bad-json", "not a valid JSON object", stFile(`{"a": {"dtype": "F32",`, data)},
		{"not-object", "not a valid JSON object", stFile(`[1, 2]`, data)},
		{"null", "not a valid JSON object", stFile(`null`, data)},
		{"junk", "junk after the JSON object", stFile(`{} x`, data)},
		{"entry-not-object", `tensor "a": bad header entry`, stFile(`{"a": 3}`, data)},
		{"no-dtype", `tensor "a": header entry has no "dtype"`, stFile(`{"a": {"shape": [2], "data_offsets": [0, 8]}}`, data)},
		{"no-shape", `tensor "a": header entry has no "shape"`, stFile(`{"a": {"dtype": "F32", "data_offsets": [0, 8]}}`, data)},
		{"no-offsets", `tensor "a": "data_offsets" is not [begin, end]`, stFile(`{"a": {"dtype": "F32", "shape": [2]}}`, data)},
		{"dtype", `tensor "a": unsupported dtype "F8_E4M3"`, stFile(`{"a": {"dtype": "F8_E4M3", "shape": [2], "data_offsets": [0, 2]}}`, data)},
		{"neg-shape", `tensor "a": shape [-2] is not a list of non-negative ints`, stFile(`{"a": {"dtype": "F32", "shape": [-2], "data_offsets": [0, 8]}}`, data)},
		{"range", `tensor "a": data offsets [8, 40] out of range (the data section has 32 bytes)`, stFile(`{"a": {"dtype": "F32", "shape": [8], "data_offsets": [8, 40]}}`, data)},
		{"reversed", "out of range", stFile(`{"a": {"dtype": "F32", "shape": [0], "data_offsets": [8, 4]}}`, data)},
		{"size", `tensor "a": data offsets [0, 12] span 12 bytes, shape 2 of float32 needs 8`, stFile(`{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 12]}}`, data)},
		{"overlap", `tensors "a" [0, 16] and "b" [8, 16] overlap`, stFile(`{"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}, "b": {"dtype": "F64", "shape": [1], "data_offsets": [8, 16]}}`, data)},
	}
	for _, c := range cases {
		p := writeTemp(t, "model.safetensors", c.file)
		arrays, err := ReadSafetensors(p)
		for _, a := range arrays {
			a.Close()
		}
		checkErr(t, c.name, err, p, c.want)
	}
}

// Files of types researchers keep arrays in but brainalign does not read (PyTorch, pickles,
// MATLAB v5, HDF4, text) are refused saying how to save the array as one it reads; a missing one is
// named missing, and other extensions list the types read.
func TestUnreadTypesSayHowToConvert(t *testing.T) {
	dir := t.TempDir()
	for ext, want := range map[string]string{".pt": "safetensors.torch.save_file", ".pkl": "np.save", ".mat": "scipy.io.loadmat",
		".hdf5": "not an HDF5 file", ".hdf": "HDF4", ".csv": "np.loadtxt", ".xyz": "unknown array file type \".xyz\" (want .npy"} {
		p := filepath.Join(dir, "x"+ext)
		if err := os.WriteFile(p, []byte("some bytes"), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := Open(p); err == nil || !strings.Contains(err.Error(), want) || strings.Count(err.Error(), "\n") > 0 {
			t.Errorf("%s: %v, want %q", ext, err, want)
		}
	}
	if _, err := Open(filepath.Join(dir, "missing.pt")); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("missing .pt: %v", err)
	}
}

// ReversedNote names axes reversed (a volume in MATLAB's order), and nothing else.
func TestReversedNote(t *testing.T) {
	if n := ReversedNote([]int{81, 104, 83}, []int{83, 104, 81}); !strings.Contains(n, "the same axes reversed") {
		t.Errorf("reversed: %q", n)
	}
	for _, c := range [][2][]int{{{81, 104, 83}, {81, 104, 83}}, {{81, 104, 83}, {104, 81, 83}}, {{5}, {5}}, {{2, 3}, {3, 2, 1}}} {
		if n := ReversedNote(c[0], c[1]); n != "" {
			t.Errorf("%v vs %v: %q", c[0], c[1], n)
		}
	}
}
