package array

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"unsafe"
)

// zipMember is one member of a test archive: its name, method and bytes.
type zipMember struct {
	name   string
	method uint16
	data   []byte
}

// zipMembers builds a zip archive of the given members.
func zipMembers(t *testing.T, members ...zipMember) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, m := range members {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: m.name, Method: m.method})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(m.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// npyOf returns a .npy file of float64 values i*scale, shape rows x cols.
func npyOf(rows, cols int, scale float64) []byte {
	b := npyPrefix("<f8", false, []int{rows, cols})
	for i := 0; i < rows*cols; i++ {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(float64(i)*scale))
	}
	return b
}

// An .npz may hold files that are not arrays (numpy's np.load reads its arrays all the same):
// they are listed apart, skipped by Read and ReadAll, and an error only when asked for by name.
func TestNPZNotArrayMembers(t *testing.T) {
	good := npyOf(4, 3, 1)
	for _, method := range []uint16{zip.Store, zip.Deflate} {
		p := writeTemp(t, "withtxt.npz", zipMembers(t,
			zipMember{"blocks.3.npy", method, good},
			zipMember{"meta.json", method, []byte("{}")},
			zipMember{"README.txt", method, []byte("activations of blocks.3\n")},
			zipMember{"__MACOSX/._blocks.3.npy", method, []byte("\x00\x05\x16\x07 AppleDouble")},
			zipMember{"empty", method, nil},
		))
		arrs, err := Read(p)
		if err != nil || len(arrs) != 1 || arrs[0].Name != "blocks.3" || len(arrs[0].F64) != 12 || arrs[0].F64[5] != 5 {
			t.Fatalf("method %d: Read = %v, %v; want blocks.3 alone", method, arrs, err)
		}
		CloseAll(arrs)
		f, err := Open(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(f.Names(), ","); got != "blocks.3" {
			t.Errorf("method %d: arrays %s, want blocks.3", method, got)
		}
		var others []string
		for _, o := range f.NotArrays() {
			others = append(others, o.Member)
			checkErr(t, "not-array "+o.Member, o.Err, p, "member "+o.Member+": not a .npy file (bad magic)")
		}
		if got := strings.Join(others, ","); got != "meta.json,README.txt,__MACOSX/._blocks.3.npy,empty" {
			t.Errorf("method %d: members that are not arrays %s", method, got)
		}
		a, err := f.Read("blocks.3")
		if err != nil || a.F64[11] != 11 {
			t.Errorf("method %d: Read(blocks.3) = %v, %v", method, a, err)
		}
		a.Close()
		_, err = f.Read("meta.json")
		checkErr(t, "Read(meta.json)", err, p, "member meta.json: not a .npy file (bad magic)")
		_, err = f.Read("nope")
		checkErr(t, "Read(nope)", err, p, `no array named "nope"`)
		f.Close()
	}
}

// corruptDeflated returns a deflated .npz whose members a.npy and c.npy are good and whose
// member b.npy has a good header but a corrupt stream after it (found only by decompressing it
// all: by the decompressor or the CRC).
func corruptDeflated(t *testing.T) []byte {
	t.Helper()
	bad := npyOf(64, 64, 0.5)
	z := zipMembers(t, zipMember{"a.npy", zip.Deflate, npyOf(2, 3, 1)}, zipMember{"b.npy", zip.Deflate, bad},
		zipMember{"c.npy", zip.Deflate, npyOf(5, 2, 2)})
	zr, err := zip.NewReader(bytes.NewReader(z), int64(len(z)))
	if err != nil {
		t.Fatal(err)
	}
	off, err := zr.File[1].DataOffset()
	if err != nil {
		t.Fatal(err)
	}
	size := int64(zr.File[1].CompressedSize64)
	if size < 1000 {
		t.Fatalf("test setup: b.npy compressed to %d bytes, too few to corrupt after its header", size)
	}
	for i := off + size/2; i < off+size/2+16; i++ {
		z[i] ^= 0x5a
	}
	return z
}

// A corrupt member is an error when it is read, not when the others are (ReadNPZ, reading all,
// still fails).
func TestNPZCorruptMemberReadOnlyWhenAsked(t *testing.T) {
	p := writeTemp(t, "corrupt.npz", corruptDeflated(t))
	f, err := Open(p)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer f.Close()
	if got := strings.Join(f.Names(), ","); got != "a,b,c" {
		t.Fatalf("arrays %s", got)
	}
	b := f.Lookup("b")
	if b == nil || b.Err != nil || ShapeString(b.Shape) != "64 x 64" || b.DType != "float64" || b.Member != "b.npy" {
		t.Errorf("entry b: %+v, want its header's shape and dtype", b)
	}
	for _, name := range []string{"c", "a"} {
		a, err := f.Read(name)
		if err != nil {
			t.Fatalf("Read(%s) next to a corrupt member: %v", name, err)
		}
		a.Close()
	}
	_, err = f.Read("b")
	checkErr(t, "Read(b)", err, p, "member b.npy: decompressing")
	_, err = ReadNPZ(p)
	checkErr(t, "ReadNPZ", err, p, "member b.npy: decompressing")
}

// Open decompresses no member's data and Read only the member asked for: a member declaring 64
// MB of zeros (a 64 KB stream) costs nothing until it is read.
func TestNPZInflatesOnlyWhatIsRead(t *testing.T) {
	const rows, cols = 2048, 4096 // 64 MB of float64
	var big bytes.Buffer
	zw := zip.NewWriter(&big)
	zw.RegisterCompressor(zip.Deflate, func(w io.Writer) (io.WriteCloser, error) {
		return flate.NewWriter(w, flate.BestCompression)
	})
	w, err := zw.CreateHeader(&zip.FileHeader{Name: "small.npy", Method: zip.Deflate})
	if err != nil {
		t.Fatal(err)
	}
	w.Write(npyOf(3, 2, 1))
	if w, err = zw.CreateHeader(&zip.FileHeader{Name: "huge.npy", Method: zip.Deflate}); err != nil {
		t.Fatal(err)
	}
	w.Write(npyPrefix("<f8", false, []int{rows, cols}))
	zeros := make([]byte, 1<<20)
	for i := 0; i < rows*cols*8/len(zeros); i++ {
		w.Write(zeros)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	p := writeTemp(t, "big.npz", big.Bytes())
	big.Reset()

	allocated := func(fn func()) uint64 {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		fn()
		runtime.ReadMemStats(&after)
		return after.TotalAlloc - before.TotalAlloc
	}
	var f *File
	n := allocated(func() {
		if f, err = Open(p); err != nil {
			t.Fatal(err)
		}
		a, err := f.Read("small")
		if err != nil || a.F64[5] != 5 {
			t.Fatalf("Read(small): %v, %v", a, err)
		}
		a.Close()
	})
	defer f.Close()
	if e := f.Lookup("huge"); e == nil || ShapeString(e.Shape) != "2048 x 4096" {
		t.Errorf("entry huge: %+v", e)
	}
	t.Logf("Open + Read(small): %d bytes allocated", n)
	if n > 4<<20 {
		t.Errorf("Open and Read of a small member allocated %d bytes: the 64 MB member was decompressed", n)
	}
	n = allocated(func() {
		a, err := f.Read("huge")
		if err != nil || len(a.F64) != rows*cols {
			t.Fatalf("Read(huge): %v", err)
		}
		a.Close()
	})
	if n < rows*cols*8 {
		t.Errorf("Read of the 64 MB member allocated %d bytes: the measure does not see decompression", n)
	}
}

// Stored members are still used in place: Read's data lies in the file's map.
func TestOpenStoredMemberInPlace(t *testing.T) {
	p := filepath.Join(t.TempDir(), "out.npz")
	in := []*Array{
		{Name: "x", Shape: []int{3, 2}, F32: []float32{1, 2, 3, 4, 5, 6}},
		{Name: "y", Shape: []int{2}, F64: []float64{7, 8}},
	}
	if err := WriteNPZ(p, in); err != nil {
		t.Fatal(err)
	}
	f, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	a, err := f.Read("y")
	if err != nil {
		t.Fatal(err)
	}
	f.Close() // the array keeps the map
	start := uintptr(unsafe.Pointer(unsafe.SliceData(a.m.data)))
	at := uintptr(unsafe.Pointer(unsafe.SliceData(a.F64)))
	if a.m == nil || at < start || at >= start+uintptr(len(a.m.data)) || a.F64[1] != 8 {
		t.Errorf("stored member y was copied or lost, want it in place in the map")
	}
	a.Close()
	if _, err := f.Read("x"); err == nil || !strings.Contains(err.Error(), "after Close") {
		t.Errorf("Read after Close: %v", err)
	}
}

// What is wrong with a member on its own is its entry's error; what is wrong with the archive
// is Open's.
func TestOpenNPZErrors(t *testing.T) {
	good := npyOf(2, 2, 1)
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, m := range []struct {
		name   string
		method uint16
	}{{"a.npy", zip.Store}, {"b.npy", 12}, {"c.npy", zip.Deflate}} {
		w, err := zw.CreateRaw(&zip.FileHeader{Name: m.name, Method: m.method, CompressedSize64: uint64(len(good)), UncompressedSize64: uint64(len(good))})
		if err != nil {
			t.Fatal(err)
		}
		if m.method == zip.Deflate {
			fw, _ := flate.NewWriter(w, flate.DefaultCompression)
			fw.Write(good[:40]) // the stream ends inside the header
			fw.Close()
		} else {
			w.Write(good)
		}
	}
	zw.Close()
	p := writeTemp(t, "methods.npz", b.Bytes())
	f, err := Open(p)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer f.Close()
	if a, err := f.Read("a"); err != nil {
		t.Errorf("Read(a): %v", err)
	} else {
		a.Close()
	}
	checkErr(t, "bzip2 entry", f.Lookup("b").Err, p, "member b.npy: unsupported compression method 12")
	_, err = f.Read("b")
	checkErr(t, "Read(b)", err, p, "member b.npy: unsupported compression method 12")
	_, err = f.Read("c")
	checkErr(t, "Read(c)", err, p, "member c.npy: decompressing")
	_, err = ReadNPZ(p)
	checkErr(t, "ReadNPZ", err, p, "member b.npy: unsupported compression method 12")

	dup := writeTemp(t, "dup.npz", zipMembers(t, zipMember{"a.npy", zip.Deflate, good}, zipMember{"meta", zip.Store, []byte("x")},
		zipMember{"a", zip.Deflate, good}))
	_, err = Open(dup)
	checkErr(t, "duplicate", err, dup, "member a: appears twice")
}

// The fixtures written by numpy (zip64 local headers, stored and deflated) list from their
// headers the shapes they read with.
func TestOpenFixtures(t *testing.T) {
	for _, name := range []string{"bundle.npz", "compressed.npz", "mixed.npz", "model.safetensors", "f32_v2.npy"} {
		all, err := Read(fixture(name))
		if err != nil {
			t.Fatal(err)
		}
		f, err := Open(fixture(name))
		if err != nil {
			t.Fatal(err)
		}
		if len(f.Arrays()) != len(all) {
			t.Fatalf("%s: %d entries, %d arrays", name, len(f.Arrays()), len(all))
		}
		for i, e := range f.Arrays() {
			a := all[i]
			if e.Err != nil || e.Name != a.Name || ShapeString(e.Shape) != ShapeString(a.Shape) || e.DType != a.DType || e.Fortran != a.Fortran {
				t.Errorf("%s: entry %+v, array %s %v %s fortran=%v", name, e, a.Name, a.Shape, a.DType, a.Fortran)
			}
			b, err := f.Read(e.Name)
			if err != nil || b.Size() != a.Size() {
				t.Errorf("%s: Read(%s): %v", name, e.Name, err)
			}
			b.Close()
		}
		if name == "f32_v2.npy" {
			if b, err := f.Read(""); err != nil {
				t.Errorf("Read(\"\") of a .npy file: %v", err)
			} else {
				b.Close()
			}
		}
		CloseAll(all)
		f.Close()
	}
}

// A shape with a dimension of 2^31 or more says so, or that its data would run past the end of
// the file, not that it is not a tuple of ints.
func TestHugeDimensionMessages(t *testing.T) {
	npy := func(shape string) []byte {
		return npyFile(1, "{'descr': '<f4', 'fortran_order': False, 'shape': "+shape+", }", make([]byte, 64))
	}
	for _, c := range []struct{ name, want string }{
		{"(40, 2147483648)", "truncated: header declares 40 x 2147483648 float32 (343597383680 bytes of data), file has 64"},
		{"(2147483648,)", "truncated: header declares 2147483648 float32 (8589934592 bytes of data), file has 64"},
		{"(0, 4294967296)", "shape 0 x 4294967296: dimension 4294967296 too large (at most 2147483647)"},
	} {
		p := writeTemp(t, "Y.npy", npy(c.name))
		_, err := ReadNPY(p)
		checkErr(t, c.name, err, p, c.want)
		_, err = Open(p)
		checkErr(t, "Open "+c.name, err, p, c.want)
		z := writeTemp(t, "b.npz", zipMembers(t, zipMember{"x.npy", zip.Deflate, npy(c.name)}))
		f, err := Open(z)
		if err != nil {
			t.Fatal(err)
		}
		checkErr(t, "member "+c.name, f.Lookup("x").Err, z, "member x.npy: "+c.want)
		f.Close()
	}
	st := writeTemp(t, "m.safetensors", stFile(`{"a": {"dtype": "F32", "shape": [40, 2147483648], "data_offsets": [0, 32]}}`, make([]byte, 32)))
	_, err := ReadSafetensors(st)
	checkErr(t, "safetensors", err, st, `tensor "a": data offsets [0, 32] span 32 bytes, shape 40 x 2147483648 of float32 needs 343597383680`)
}

// A directory or a device given as an array file says what it is, whatever its name.
func TestNotARegularFile(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{dir, filepath.Join(dir, "sub.npy")} {
		os.MkdirAll(p, 0o755)
		_, err := Read(p)
		checkErr(t, p, err, p, "is a directory")
	}
	if _, err := os.Stat(os.DevNull); err == nil && runtime.GOOS != "windows" {
		_, err := Read(os.DevNull)
		checkErr(t, os.DevNull, err, os.DevNull, "is not a regular file")
	}
	missing := filepath.Join(dir, "missing")
	_, err := Read(missing)
	checkErr(t, "missing", err, missing, "no such file")
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v is not os.ErrNotExist", err)
	}
	_, err = Read(filepath.Join(dir, "missing.npz"))
	if !errors.Is(err, os.ErrNotExist) || !strings.HasPrefix(err.Error(), filepath.Join(dir, "missing.npz")+": ") {
		t.Errorf("missing .npz: %v", err)
	}
}

// An array of a dtype not read here is an entry whose error says so (ErrUnsupportedDType), next
// to arrays that read.
func TestUnsupportedDTypeEntry(t *testing.T) {
	p := writeTemp(t, "m.npz", zipMembers(t, zipMember{"x.npy", zip.Store, npyOf(2, 2, 1)},
		zipMember{"c.npy", zip.Deflate, mustRead(t, fixture("complex.npy"))},
		zipMember{"s.npy", zip.Store, mustRead(t, fixture("strings.npy"))}))
	f, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, n := range []string{"c", "s"} {
		if e := f.Lookup(n); e == nil || !errors.Is(e.Err, ErrUnsupportedDType) {
			t.Errorf("entry %s: %+v, want ErrUnsupportedDType", n, e)
		}
	}
	if f.Lookup("x").Err != nil {
		t.Errorf("entry x: %v", f.Lookup("x").Err)
	}
	st := writeTemp(t, "m.safetensors", stFile(`{"a": {"dtype": "F8_E4M3", "shape": [2], "data_offsets": [0, 2]}, "b": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}`, make([]byte, 8)))
	g, err := Open(st)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if e := g.Lookup("a"); !errors.Is(e.Err, ErrUnsupportedDType) {
		t.Errorf("safetensors entry a: %v", e.Err)
	}
	if b, err := g.Read("b"); err != nil {
		t.Errorf("Read(b) next to an unsupported tensor: %v", err)
	} else {
		b.Close()
	}
}
