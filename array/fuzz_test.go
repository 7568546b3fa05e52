package array

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// The fuzz targets assert that corrupt input is an error, never a panic, and that what decodes
// is consistent. `go test` runs the seeds; `go test -fuzz=FuzzParseHeader ./array/` explores.

// addSeeds adds the files of dir matching the patterns, and their first halves, as seeds.
func addSeeds(f *testing.F, dir string, patterns ...string) {
	n := 0
	for _, pattern := range patterns {
		paths, _ := filepath.Glob(filepath.Join(dir, pattern))
		for _, p := range paths {
			b, err := os.ReadFile(p)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
			f.Add(b[:len(b)/2])
			n++
		}
	}
	if n == 0 {
		f.Fatalf("no files of %s match %v", dir, patterns)
	}
}

func addFixtureSeeds(f *testing.F, pattern string) { addSeeds(f, fixtureDir, pattern) }

func FuzzParseHeader(f *testing.F) {
	for _, s := range []string{
		"{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }",
		"{'descr': '>f8', 'fortran_order': True, 'shape': (), }",
		"{u'descr': u'|b1', u'fortran_order': False, u'shape': (3L,)}",
		"{\"shape\": (0, 7,), \"descr\": \"<i8\", \"fortran_order\": False}",
		"{'descr': [('a', '<f4'), ('b', '<i4', (2,))], 'fortran_order': False, 'shape': (2,)}",
		"{'descr': '<f4', 'fortran_order': None, 'shape': [1, {}]}",
		"{'descr': 'a\\x41\\'\\n', 'shape': (-1, +2, 99999999999999999999)}",
		"((((((((",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := parseHeader(string(b))
		if err != nil {
			return
		}
		for _, d := range h.shape {
			if d < 0 {
				t.Fatalf("negative dimension in %v", h.shape)
			}
		}
		if _, ok := dtypeNames[h.dtype.descr()[1:]]; !ok {
			t.Fatalf("unknown dtype %+v accepted", h.dtype)
		}
		// What parses formats back to a header that parses to the same thing.
		back, err := parseHeader(formatHeader(h.dtype.descr(), h.fortran, h.shape))
		if err != nil {
			t.Fatalf("formatted header does not parse: %v", err)
		}
		if !reflect.DeepEqual(back, h) && !(len(back.shape) == 0 && len(h.shape) == 0) {
			t.Fatalf("round trip: %+v, want %+v", back, h)
		}
	})
}

func FuzzReadNPY(f *testing.F) {
	addFixtureSeeds(f, "*.npy")
	addSeeds(f, intDataDir, "*.npy") // every integer dtype, C and Fortran order, byte orders
	f.Add(npyFile(2, "{'descr': '<f2', 'fortran_order': True, 'shape': (2, 1)}", []byte{0, 0x7c, 1, 0xfc}))
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := decodeNPY("fuzz.npy", b, nil)
		if err != nil {
			return
		}
		checkDecoded(t, a)
	})
}

func FuzzReadNPZ(f *testing.F) {
	addFixtureSeeds(f, "*.npz")
	addSeeds(f, intDataDir, "*.npz") // every integer dtype, C and Fortran order, byte orders
	f.Fuzz(func(t *testing.T, b []byte) {
		arrays, err := decodeNPZ("fuzz.npz", b, nil)
		if err != nil {
			return
		}
		for _, a := range arrays {
			checkDecoded(t, a)
		}
	})
}

func FuzzReadSafetensors(f *testing.F) {
	addFixtureSeeds(f, "*.safetensors")
	addSeeds(f, intDataDir, "*.safetensors") // every integer dtype, C and Fortran order, byte orders
	f.Add(stFile(`{"a": {"dtype": "BF16", "shape": [2], "data_offsets": [0, 4]}}`, []byte{1, 2, 3, 4}))
	f.Fuzz(func(t *testing.T, b []byte) {
		arrays, err := decodeSafetensors("fuzz.safetensors", b, nil)
		if err != nil {
			return
		}
		for _, a := range arrays {
			checkDecoded(t, a)
		}
	})
}

// checkDecoded checks the invariants of a decoded array and touches all of its data.
func checkDecoded(t *testing.T, a *Array) {
	t.Helper()
	set, n := 0, 0
	if a.F32 != nil {
		set, n = set+1, len(a.F32)
	}
	if a.F64 != nil {
		set, n = set+1, len(a.F64)
	}
	if a.I64 != nil {
		set, n = set+1, len(a.I64)
	}
	if a.ints != nil {
		set, n = set+1, intsLen(a.ints)
	}
	if set != 1 || n != a.Size() {
		t.Fatalf("%d data slices, %d values for shape %v", set, n, a.Shape)
	}
	if ints := a.Ints(); ints != nil && len(ints) != n {
		t.Fatalf("Ints: %d values, want %d", len(ints), n)
	}
	if m, err := a.Matrix(); err == nil {
		if err := m.Validate("fuzz"); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < m.Rows; i++ {
			for j := 0; j < m.Cols; j++ {
				m.At(i, j)
			}
		}
	}
	a.Close()
}

// The fuzz targets decode bundles from bytes, as Open does from a file.

// decodeNPZ reads every array of the .npz bundle held in buf.
func decodeNPZ(name string, buf []byte, m *mapping) ([]*Array, error) {
	f, err := openNPZ(name, buf, m.retain())
	if err != nil {
		m.release()
		return nil, err
	}
	defer f.Close()
	return f.ReadAll()
}

// decodeSafetensors reads every tensor of the safetensors file held in buf.
func decodeSafetensors(name string, buf []byte, m *mapping) ([]*Array, error) {
	f, err := openSafetensors(name, buf, m.retain())
	if err != nil {
		m.release()
		return nil, err
	}
	defer f.Close()
	return f.ReadAll()
}

func FuzzParseFIF(f *testing.F) {
	paths, _ := filepath.Glob(filepath.Join("..", "testdata", "fif", "*.fif"))
	if len(paths) == 0 {
		f.Fatal("no FIF fixtures")
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := parseFIFPart("x-epo.fif", b)
		if err != nil {
			return
		}
		if p.epochs < 1 || len(p.names) != p.nchan || len(p.cals) != p.nchan {
			t.Fatalf("accepted %d epochs, %d channels, %d names, %d cals", p.epochs, p.nchan, len(p.names), len(p.cals))
		}
		n := p.epochs * p.nchan * p.times
		a := &Array{F32: make([]float32, n), F64: make([]float64, n)}
		p.decode(b, a, 0) // within the data tag, which parseFIFPart checked
		// the events and metadata: refused or read, one row per epoch, never a panic
		ev := &EpochsEvents{Path: "x-epo.fif"}
		if _, err := ev.readPart("x-epo.fif", b); err != nil {
			return
		}
		if len(ev.Codes) != p.epochs || ev.Columns != nil && len(ev.rows) != p.epochs {
			t.Fatalf("%d epochs, %d events, %d metadata rows", p.epochs, len(ev.Codes), len(ev.rows))
		}
		ev.Names()
		for _, c := range ev.Columns {
			ev.Column(c)
		}
	})
}
