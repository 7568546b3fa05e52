package array

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

type fifExpected struct {
	Files map[string]struct {
		Shape    []int     `json:"shape"`
		DType    string    `json:"dtype"`
		Values   []float64 `json:"values"` // nil: only Heads
		Heads    []float64 `json:"heads"`  // each epoch's first value
		Times    []float64 `json:"times"`
		Channels []string  `json:"ch_names"`
		SFreq    float64   `json:"sfreq"`
		Parts    []string  `json:"parts"`
	} `json:"files"`
	Bad map[string]string `json:"bad"`
}

func loadFIFExpected(t *testing.T) fifExpected {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "fif", "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var e fifExpected
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatal(err)
	}
	return e
}

// MNE epochs files (single and double precision, gzip-compressed, split in parts named by name
// or by number) read as MNE's get_data(): float32 data as MNE's float64 values rounded once.
func TestFIFMatchesMNE(t *testing.T) {
	exp := loadFIFExpected(t)
	if len(exp.Files) < 6 {
		t.Fatalf("%d files in expected.json", len(exp.Files))
	}
	for name, want := range exp.Files {
		path := filepath.Join("..", "testdata", "fif", name)
		f, err := Open(path)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		e := f.Arrays()[0]
		if !slices.Equal(e.Shape, want.Shape) || e.DType != want.DType || !e.Floats() {
			t.Errorf("%s: entry %v %s, want %v %s", name, e.Shape, e.DType, want.Shape, want.DType)
		}
		a, err := f.Read(path)
		f.Close()
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !slices.Equal(a.Shape, want.Shape) || a.DType != want.DType || want.Values != nil && a.Size() != len(want.Values) || len(want.Heads) != want.Shape[0] {
			t.Errorf("%s: shape %v dtype %s, want %v %s", name, a.Shape, a.DType, want.Shape, want.DType)
			a.Close()
			continue
		}
		per := want.Shape[1] * want.Shape[2]
		for i, v := range want.Heads {
			if want.DType == "float32" && a.F32[i*per] != float32(v) || want.DType == "float64" && a.F64[i*per] != v {
				t.Errorf("%s: epoch %d starts with %v, MNE's with %v", name, i, valueAt(a, i*per), v)
				break
			}
		}
		for i, v := range want.Values {
			if want.DType == "float32" && a.F32[i] != float32(v) || want.DType == "float64" && a.F64[i] != v {
				t.Errorf("%s: value %d = %v, want %v", name, i, valueAt(a, i), v)
				break
			}
		}
		a.Close()

		info, err := FIFInfo(path)
		if err != nil {
			t.Errorf("%s: FIFInfo: %v", name, err)
			continue
		}
		var parts []string
		for _, p := range info.Parts {
			parts = append(parts, filepath.Base(p))
		}
		if !slices.Equal(info.Times, want.Times) || !slices.Equal(info.Channels, want.Channels) || info.SFreq != want.SFreq ||
			info.Epochs != want.Shape[0] || info.DType != want.DType || !slices.Equal(parts, want.Parts) {
			t.Errorf("%s: FIFInfo %+v, want times %v channels %v at %g Hz, parts %v", name, info, want.Times, want.Channels, want.SFreq, want.Parts)
		}
	}
}

// valueAt is the i-th value of a float array, for messages.
func valueAt(a *Array, i int) float64 {
	if a.F32 != nil {
		return float64(a.F32[i])
	}
	return a.F64[i]
}

// Raw and evoked files, complex and integer data, files cut short, a missing split part and
// inactive projectors are refused with a one-line error naming the file and the problem.
func TestFIFRefused(t *testing.T) {
	exp := loadFIFExpected(t)
	for name, want := range exp.Bad {
		path := filepath.Join("..", "testdata", "fif", name)
		_, err := Read(path)
		if err == nil || !strings.Contains(err.Error(), want) || !strings.HasPrefix(err.Error(), path+": ") || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error %v, want one line starting with the path and containing %q", name, err, want)
		}
		if _, ierr := FIFInfo(path); ierr == nil || err != nil && ierr.Error() != err.Error() {
			t.Errorf("%s: FIFInfo error %v, want %v", name, ierr, err)
		}
	}
	_, err := Read(filepath.Join("..", "testdata", "fif", "gone-epo.fif"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing part: %v, want fs.ErrNotExist", err)
	}
}

// A copy of the series whose later part changes between Open and Read is refused, as is a
// series whose parts name each other in a loop.
func TestFIFSplitChanged(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join("..", "testdata", "fif")
	for _, p := range []string{"split-epo.fif", "split-epo-1.fif", "split-epo-2.fif"} {
		b, err := os.ReadFile(filepath.Join(src, p))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, p), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, "split-epo.fif")
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// the last part replaced by the first: other epochs, and a next part (-1) already read
	b, _ := os.ReadFile(filepath.Join(src, "mixed-epo.fif"))
	if err := os.WriteFile(filepath.Join(dir, "split-epo-2.fif"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Read(path); err == nil || !strings.Contains(err.Error(), "split-epo-2.fif: changed since") {
		t.Errorf("changed part: %v", err)
	}
	b, _ = os.ReadFile(filepath.Join(src, "split-epo.fif"))
	if err := os.WriteFile(filepath.Join(dir, "split-epo-2.fif"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(path); err == nil || !strings.Contains(err.Error(), "in a loop") {
		t.Errorf("looping parts: %v", err)
	}
}

func TestNumberedPart(t *testing.T) {
	for _, c := range []struct {
		path string
		num  int
		want string
	}{
		{"d/sub-01_task-x_epo.fif", 1, "d/sub-01_task-x_epo-1.fif"},
		{"d/run-epo.fif", 1, "d/run-epo-1.fif"},
		{"d/run-epo-1.fif", 2, "d/run-epo-2.fif"},
		{"d/run-epo-12.fif.gz", 13, "d/run-epo-13.fif.gz"},
	} {
		if got := numberedPart(filepath.FromSlash(c.path), c.num); got != filepath.FromSlash(c.want) {
			t.Errorf("numberedPart(%s, %d) = %s, want %s", c.path, c.num, got, c.want)
		}
	}
}

// Every prefix of an epochs file is refused, never a panic (but for the file without its closing
// FIFF_NOP, whose blocks have all ended: MNE reads it too).
func TestFIFPrefixes(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "testdata", "fif", "mixed-epo.fif"))
	if err != nil {
		t.Fatal(err)
	}
	for n := range len(b) - 16 {
		if p, err := parseFIFPart("x-epo.fif", b[:n]); err == nil {
			t.Errorf("%d of %d bytes: read %d epochs", n, len(b), p.epochs)
		}
	}
}

// Blocks nested deeper than any MNE file nests them (a corrupt or crafted file) are refused at
// once: searching 80,000 nested blocks took 19 s, and millions overflowed the stack.
func TestFIFDeepNesting(t *testing.T) {
	var buf []byte
	be := binary.BigEndian
	tag := func(kind, typ, size int32, d []byte) {
		for _, v := range []int32{kind, typ, size, 0} {
			buf = be.AppendUint32(buf, uint32(v))
		}
		buf = append(buf, d...)
	}
	tag(fiffFileID, fifftIDStruct, 20, make([]byte, 20))
	const depth = 80000
	for range depth {
		tag(fiffBlockStart, fifftInt, 4, []byte{0, 0, 1, 117}) // FIFFB_MNE_EPOCHS
	}
	for range depth {
		tag(fiffBlockEnd, fifftInt, 4, []byte{0, 0, 1, 117})
	}
	_, err := parseFIFPart("deep-epo.fif", buf)
	if err == nil || !strings.Contains(err.Error(), "nested over 64 deep") {
		t.Errorf("80,000 nested blocks: %v, want them refused as corrupt", err)
	}
	// the search itself is linear: 64 levels of the kind searched for
	root := &fifBlock{}
	for b, i := root, 0; i < fifMaxDepth; i++ {
		c := &fifBlock{kind: 373}
		b.blocks = append(b.blocks, c)
		b = c
	}
	if got := len(root.find(373)); got != fifMaxDepth {
		t.Errorf("find: %d blocks, want %d", got, fifMaxDepth)
	}
}
