package array

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The fixtures in testdata/hdf5 are written by h5py (testdata/gen_hdf5.py), and expected.json
// holds what h5py reads back from them.

const hdf5Dir = "../testdata/hdf5"

type h5expDataset struct {
	Shape  []int
	DType  string
	Values []json.RawMessage
}

type h5expFile struct {
	Datasets map[string]h5expDataset
	Bad      map[string]string
	Links    []string
}

func loadHDF5Expected(t testing.TB) map[string]h5expFile {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(hdf5Dir, "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]h5expFile
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// checkH5Values compares an array read from HDF5 (integers read as floats) with h5py's values.
func checkH5Values(t *testing.T, label string, a *Array, e h5expDataset, matlab bool) {
	t.Helper()
	shape := slices.Clone(e.Shape)
	if matlab && len(shape) >= 2 {
		slices.Reverse(shape)
		if !a.Fortran {
			t.Errorf("%s: not Fortran order", label)
		}
	}
	if !slices.Equal(a.Shape, shape) {
		t.Fatalf("%s: shape %v, want %v", label, a.Shape, shape)
	}
	if a.DType != e.DType {
		t.Errorf("%s: dtype %q, want %q", label, a.DType, e.DType)
	}
	if a.I64 != nil || (a.F32 == nil) == (a.F64 == nil) {
		t.Fatalf("%s: want exactly one of F32, F64 set", label)
	}
	if n := len(a.F32) + len(a.F64); n != len(e.Values) {
		t.Fatalf("%s: %d values, want %d", label, n, len(e.Values))
	}
	for k, raw := range e.Values {
		var want float64
		var s string
		if json.Unmarshal(raw, &s) == nil {
			want = parseHex(t, s)
		} else {
			v, err := strconv.ParseInt(string(raw), 10, 64)
			if err != nil {
				t.Fatalf("%s: bad expected value %s", label, raw)
			}
			want = float64(v)
		}
		var got float64
		if a.F32 != nil {
			got = float64(a.F32[k])
		} else {
			got = a.F64[k]
		}
		if !sameFloat(got, want) {
			t.Fatalf("%s: element %d = %v, want %v", label, k, got, want)
		}
	}
}

func TestReadHDF5Fixtures(t *testing.T) {
	exp := loadHDF5Expected(t)
	if len(exp) < 4 {
		t.Fatalf("only %d files in expected.json", len(exp))
	}
	for fname, fe := range exp {
		t.Run(fname, func(t *testing.T) {
			f, err := Open(filepath.Join(hdf5Dir, fname))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			var want []string
			for name := range fe.Datasets {
				want = append(want, name)
			}
			for name := range fe.Bad {
				want = append(want, name)
			}
			slices.Sort(want)
			got := slices.Sorted(slices.Values(f.Names()))
			if !slices.Equal(got, want) {
				t.Fatalf("names %q, want %q", got, want)
			}
			var others []string
			for _, o := range f.NotArrays() {
				others = append(others, o.Name)
				if _, err := f.Read(o.Name); err == nil || !strings.Contains(err.Error(), "link") {
					t.Errorf("%s: read a link: %v", o.Name, err)
				}
			}
			slices.Sort(others)
			if want := slices.Sorted(slices.Values(fe.Links)); !slices.Equal(others, want) {
				t.Errorf("links %q, want %q", others, want)
			}
			for name, e := range fe.Datasets {
				a, err := f.Read(name)
				if err != nil {
					t.Errorf("%s: %v", name, err)
					continue
				}
				checkH5Values(t, fname+":"+name, a, e, strings.HasSuffix(fname, ".mat"))
				if ent := f.Lookup(name); !slices.Equal(ent.Shape, a.Shape) || ent.DType != a.DType || ent.Err != nil {
					t.Errorf("%s: entry %v %s %v, array %v %s", name, ent.Shape, ent.DType, ent.Err, a.Shape, a.DType)
				}
				a.Close()
			}
			for name, word := range fe.Bad {
				_, err := f.Read(name)
				if err == nil {
					t.Errorf("%s: read, want an error", name)
					continue
				}
				msg := err.Error()
				if !strings.Contains(msg, word) || !strings.Contains(msg, strconv.Quote(name)) ||
					!strings.Contains(msg, "np.save") || strings.Contains(msg, "\n") {
					t.Errorf("%s: error %q, want one line naming it, %q and how to convert", name, msg, word)
				}
				// Not numbers (skipped where layers are looked for), or numbers stored in a way
				// not read here (an error when read).
				if errors.Is(err, ErrUnsupportedDType) == (name == "lzf") {
					t.Errorf("%s: error matches ErrUnsupportedDType: %v", name, errors.Is(err, ErrUnsupportedDType))
				}
			}
		})
	}
}

// readAllH5 opens an HDF5 file held in b and reads every array, returning the errors' messages.
func readAllH5(t *testing.T, name string, b []byte) []string {
	t.Helper()
	open := openHDF5
	if strings.HasSuffix(name, ".mat") {
		open = openMAT
	}
	f, err := open(name, b, nil)
	if err != nil {
		return []string{err.Error()}
	}
	var msgs []string
	for _, e := range f.Arrays() {
		a, err := f.Read(e.Name)
		msg := checkTargetsOf(t, f, e, a)
		if err != nil {
			msgs = append(msgs, err.Error())
		} else {
			checkDecoded(t, a)
		}
		if msg != "" {
			msgs = append(msgs, msg)
		}
	}
	return msgs
}

func hdf5Fixtures(t testing.TB) []string {
	var paths []string
	for _, pat := range []string{"*.h5", "*.hdf5", "*.mat"} {
		p, _ := filepath.Glob(filepath.Join(hdf5Dir, pat))
		paths = append(paths, p...)
	}
	if len(paths) < 5 {
		t.Fatalf("only %d HDF5 fixtures", len(paths))
	}
	return paths
}

func TestReadHDF5Truncated(t *testing.T) {
	for _, p := range hdf5Fixtures(t) {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(p)
		for _, cut := range []int{0, 4, 8, 40, 100, 511, 600, 1000, len(b) / 3, len(b) / 2, len(b) - 100, len(b) - 1} {
			if cut < 0 || cut >= len(b) {
				continue
			}
			msgs := readAllH5(t, name, b[:cut])
			if len(msgs) == 0 {
				t.Errorf("%s cut at %d: read without an error", name, cut)
			}
			for _, m := range msgs {
				if !strings.HasPrefix(m, name+": ") || strings.Contains(m, "\n") {
					t.Errorf("%s cut at %d: error %q, want one line starting with the name", name, cut, m)
				}
			}
			if cut > 600 && !strings.Contains(msgs[0], "truncated") {
				t.Errorf("%s cut at %d: error %q, want it to say truncated", name, cut, msgs[0])
			}
		}
	}
}

// TestReadHDF5Corrupt flips bytes all over the fixtures: errors, never a panic or a hang.
func TestReadHDF5Corrupt(t *testing.T) {
	step := 7
	if testing.Short() {
		step = 97
	}
	for _, p := range hdf5Fixtures(t) {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(p)
		c := make([]byte, len(b))
		fstep := step
		if strings.HasPrefix(name, "targets_") {
			fstep = 5*step + 2 // many datasets of few layouts: fewer bytes, other offsets
		}
		for i := 0; i < len(b); i += fstep {
			copy(c, b)
			c[i] ^= 0xa5
			for _, m := range readAllH5(t, name, c) {
				if !strings.HasPrefix(m, name+": ") || strings.Contains(m, "\n") {
					t.Fatalf("%s, byte %d changed: error %q, want one line starting with the name", name, i, m)
				}
			}
		}
	}
}

// A chunk whose data no longer match its fletcher32 checksum is an error.
func TestReadHDF5Fletcher(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(hdf5Dir, "default.h5"))
	if err != nil {
		t.Fatal(err)
	}
	// Find the dataset's first chunk through its index.
	h, ds := h5rootDataset(t, b, "fletcher")
	var first h5chunk
	if err := h.chunks(ds, []uint64{3, 1}, 72, nil, func(c h5chunk) error {
		if first.size == 0 {
			first = c
		}
		return nil
	}); err != nil || first.size < 8 {
		t.Fatalf("chunk %+v, err %v", first, err)
	}
	c := slices.Clone(b)
	c[h.base+first.addr+first.size-4] ^= 1 // the checksum's first byte
	f, err := openHDF5("default.h5", c, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Read("fletcher"); err == nil || !strings.Contains(err.Error(), "fletcher32 checksum mismatch") {
		t.Errorf("corrupt chunk: err = %v", err)
	}
}

// h5rootDataset finds a dataset of the root group of the HDF5 file in b.
func h5rootDataset(t *testing.T, b []byte, name string) (*h5file, *h5dset) {
	t.Helper()
	h, root, err := h5superblock(b)
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := h.header(root)
	if err != nil {
		t.Fatal(err)
	}
	links, err := h.groupLinks(msgs)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range links {
		if l.name == name {
			m, err := h.header(l.addr)
			if err != nil {
				t.Fatal(err)
			}
			ds, err := h.dataset(l.name, m)
			if err != nil {
				t.Fatal(err)
			}
			return h, ds
		}
	}
	t.Fatalf("no dataset %q", name)
	return nil, nil
}

// A chunk index naming one chunk position twice is corrupt: each chunk is decoded once (entries
// repeating a position, or sharing a chunk's bytes, cost no work without end).
func TestReadHDF5DuplicateChunk(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(hdf5Dir, "one.hdf5"))
	if err != nil {
		t.Fatal(err)
	}
	h, ds := h5rootDataset(t, b, "betas") // 6 x 10, chunks of 2 x 10 (gzip): a B-tree leaf of 3
	node := b[h.base+ds.addr:]
	if string(node[:4]) != "TREE" || node[4] != 1 || node[5] != 0 || binary.LittleEndian.Uint16(node[6:]) != 3 || h.so != 8 {
		t.Fatalf("not the chunk B-tree leaf expected: % x", node[:8])
	}
	// Keys are the chunk's size and filter mask (4 bytes each) and its offsets (8 bytes each, rank + 1),
	// each followed by a child's address (8 bytes), after a 24-byte node header.
	const key = 4 + 4 + 8*3
	c := slices.Clone(b)
	second := h.base + ds.addr + 24 + key + 8
	binary.LittleEndian.PutUint64(c[second+8:], 0) // the second chunk at the first one's position
	f, err := openHDF5("one.hdf5", c, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Read("betas"); err == nil || !strings.Contains(err.Error(), "two chunks at chunk position [0 0]") {
		t.Errorf("duplicate chunk position: err = %v", err)
	}
}

// NIL messages count as work; a header is read once however many links lead to it.
func TestReadHDF5HeaderWork(t *testing.T) {
	const n = 1 << 17
	h := &h5file{buf: make([]byte, 4*n), so: 8, sl: 8} // n empty NIL messages of a version-2 header
	if _, err := h.messages(0, 4*n, true, false, nil); err != nil || h.work < n {
		t.Fatalf("%d NIL messages: work %d, err %v", n, h.work, err)
	}
	h.work = h5workLimit - n/2
	if _, err := h.messages(0, 4*n, true, false, nil); err == nil || !strings.Contains(err.Error(), "too many structures") {
		t.Errorf("%d NIL messages past the work limit: err %v", n, err)
	}

	b, err := os.ReadFile(filepath.Join(hdf5Dir, "default.h5"))
	if err != nil {
		t.Fatal(err)
	}
	h, root, err := h5superblock(b)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.walkGroup(newFile("default.h5", b, nil), "", root, 0, map[uint64]bool{root: true}); err != nil {
		t.Fatal(err)
	}
	work := h.work
	m1, err := h.header(root)
	if err != nil || len(m1) == 0 {
		t.Fatal(err)
	}
	m2, _ := h.header(root)
	if h.work != work || &m1[0] != &m2[0] {
		t.Errorf("a header read again: work %d then %d", work, h.work)
	}
}

// A dataset never written reads as its fill value whatever its size beside the file's; a
// user-defined link's error names its type.
func TestReadHDF5FillOnly(t *testing.T) {
	f, err := Open(filepath.Join(hdf5Dir, "unwritten_large.h5"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for name, want := range map[string]float64{"large": 0.5, "large_contiguous": -2} {
		a, err := f.Read(name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !slices.Equal(a.Shape, []int{2000, 2000}) || len(a.F32) != 4e6 {
			t.Fatalf("%s: shape %v, %d float32s", name, a.Shape, len(a.F32))
		}
		for i, v := range a.F32 {
			if float64(v) != want {
				t.Fatalf("%s: element %d = %v, want %v", name, i, v, want)
			}
		}
		a.Close()
	}

	h := &h5file{so: 8, sl: 8}
	l, err := h.linkMessage([]byte{1, 0x08, 5, 1, 'x'})
	if err != nil || l.kind != 1 || l.target != "user-defined link type 5" {
		t.Errorf("user-defined link: %+v, %v", l, err)
	}
}

// A link name of 5000 bytes in a dense group is a huge fractal heap object, stored apart.
func TestReadHDF5HugeLinkName(t *testing.T) {
	f, err := Open(filepath.Join(hdf5Dir, "longname.h5"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	long := "dense/" + strings.Repeat("L", 5000)
	want := []string{long}
	for i := range 10 {
		want = append(want, fmt.Sprintf("dense/d%d", i))
	}
	slices.Sort(want)
	if got := slices.Sorted(slices.Values(f.Names())); !slices.Equal(got, want) {
		t.Fatalf("%d names, want %d", len(got), len(want))
	}
	for i, name := range append(want[1:], long) {
		a, err := f.Read(name)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(a.F32, []float32{float32(i), float32(i)}) {
			t.Errorf("%.20s: %v, want %d", name, a.F32, i)
		}
		a.Close()
	}
}

// A MATLAB v7.3 file's attributes: MATLAB_class char is refused (not numeric data), logical read as 0/1,
// and an empty array (MATLAB_empty, its dataset holding its dimensions) reads as empty.
func TestReadHDF5MatlabClasses(t *testing.T) {
	for _, fname := range []string{"matlab_classes.mat", "matlab_classes_latest.mat"} {
		f, err := Open(filepath.Join(hdf5Dir, fname))
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			name  string
			shape []int
			dtype string
			f64   []float64
			f32   []float32
		}{
			{"X", []int{2, 3}, "float64", []float64{0, 1, 2, 3, 4, 5}, nil},
			{"I", []int{2, 2}, "int16", nil, []float32{0, 1, 2, 3}},
			{"E", []int{0, 3}, "float64", []float64{}, nil},
			{"Ei", []int{2, 0}, "int16", nil, []float32{}},
		} {
			e := f.Lookup(c.name)
			a, err := f.Read(c.name)
			if err != nil || e == nil {
				t.Errorf("%s %s: %v", fname, c.name, err)
				continue
			}
			if !slices.Equal(a.Shape, c.shape) || !slices.Equal(e.Shape, c.shape) || a.DType != c.dtype || e.DType != c.dtype ||
				!slices.Equal(a.F64, c.f64) || !slices.Equal(a.F32, c.f32) || (a.F64 == nil) != (c.f64 == nil) || !a.Fortran {
				t.Errorf("%s %s: %v %s %v %v (entry %v %s), want %v %s %v %v", fname, c.name, a.Shape, a.DType, a.F64, a.F32,
					e.Shape, e.DType, c.shape, c.dtype, c.f64, c.f32)
			}
			a.Close()
		}
		if a, err := f.Read("L"); err != nil || a.DType != "uint8" || !slices.Equal(a.F32, []float32{1, 0, 1}) {
			t.Errorf("%s L (logical): %v, want uint8 1 0 1", fname, err)
		} else {
			a.Close()
		}
		for name, word := range map[string]string{"S": "MATLAB char array"} {
			_, err := f.Read(name)
			if err == nil || !strings.Contains(err.Error(), word) || !errors.Is(err, ErrUnsupportedDType) {
				t.Errorf("%s %s: err %v, want %q", fname, name, err, word)
			}
		}
		f.Close()
	}
}

// A file whose superblock says it is open for writing (and not for SWMR reading) is refused, as
// the HDF5 library refuses it; soft and external links are named with their targets; an HDF5
// file named .mat without MATLAB's header is read as any HDF5 file.
func TestReadHDF5WriterFlagLinksAndMat(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(hdf5Dir, "latest.h5"))
	if err != nil {
		t.Fatal(err)
	}
	if string(b[:8]) != hdf5Magic || b[8] < 2 {
		t.Fatalf("latest.h5: superblock version %d at 0, want 2 or 3", b[8])
	}
	for flags, refused := range map[byte]bool{0x01: true, 0x05: false, 0x00: false} {
		c := slices.Clone(b)
		c[11] = flags // signature, version, sizes of offsets and lengths, then the flags
		_, err := openHDF5("latest.h5", c, nil)
		if refused != (err != nil && strings.Contains(err.Error(), "open for writing by another program")) {
			t.Errorf("superblock flags %#x: %v", flags, err)
		}
	}
	f, err := openHDF5("default.h5", mustRead(t, filepath.Join(hdf5Dir, "default.h5")), nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"group/soft": "a soft link (to \"", "ext/external": "an external link (to \"other.h5:/data\"), which"} {
		var e *Entry
		for _, o := range f.NotArrays() {
			if o.Name == name {
				e = o
			}
		}
		if e == nil || e.Err == nil || !strings.Contains(e.Err.Error(), want) {
			t.Errorf("%s: %v, want %q", name, e, want)
		}
	}
	mat := filepath.Join(t.TempDir(), "plain.mat")
	if err := os.WriteFile(mat, mustRead(t, filepath.Join(hdf5Dir, "one.hdf5")), 0o644); err != nil {
		t.Fatal(err)
	}
	g, err := Open(mat)
	if err != nil {
		t.Fatalf("HDF5 named .mat: %v", err)
	}
	defer g.Close()
	if g.Lookup("betas") == nil {
		t.Errorf("HDF5 named .mat: arrays %v", g.Names())
	}
}
