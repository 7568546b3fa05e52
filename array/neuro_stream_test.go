package array

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// NIfTI and MGH data are streamed: inflated from the file and converted a piece of z-slices at a
// time straight into the values, never held whole beside them.

// smallNeuroPieces makes Read take one z-slice a piece and transpose two at a time in a small
// plane, on three workers, so that tiny files go through every path of the pipeline: pieces
// across frames, runs within a slab. It returns the function that restores the defaults.
func smallNeuroPieces() func() {
	buffer, run, plane := neuroBufferBytes, neuroRun, neuroPlaneValues
	procs := runtime.GOMAXPROCS(3)
	neuroBufferBytes, neuroRun, neuroPlaneValues = 1, 2, 4
	return func() {
		neuroBufferBytes, neuroRun, neuroPlaneValues = buffer, run, plane
		runtime.GOMAXPROCS(procs)
	}
}

// sameValues reports where a and b differ, bit for bit ("" where they do not).
func sameValues(a, b *Array) string {
	if !slices.Equal(a.Shape, b.Shape) || a.DType != b.DType || len(a.F32) != len(b.F32) || len(a.F64) != len(b.F64) {
		return fmt.Sprintf("%v %s (%d, %d values), not %v %s (%d, %d)", a.Shape, a.DType, len(a.F32), len(a.F64), b.Shape, b.DType, len(b.F32), len(b.F64))
	}
	for i := range a.F32 {
		if math.Float32bits(a.F32[i]) != math.Float32bits(b.F32[i]) {
			return fmt.Sprintf("value %d = %v, not %v", i, a.F32[i], b.F32[i])
		}
	}
	for i := range a.F64 {
		if math.Float64bits(a.F64[i]) != math.Float64bits(b.F64[i]) {
			return fmt.Sprintf("value %d = %v, not %v", i, a.F64[i], b.F64[i])
		}
	}
	return ""
}

// Every fixture (NIfTI-1/2, big-endian, scaled, .nii.gz, MGH with tags, .mgz, CIFTI) reads the
// same a z-slice (a CIFTI grayordinate) a piece as in one piece.
func TestNeuroPiecesFixtures(t *testing.T) {
	var paths []string
	for _, pattern := range []string{"*.nii", "*.nii.gz", "*.mgh", "*.mgz"} {
		p, _ := filepath.Glob(filepath.Join(neuroDir, pattern))
		paths = append(paths, p...)
	}
	read := 0
	for _, p := range paths {
		whole, err := Read(p)
		if err != nil {
			continue // the refused fixtures
		}
		restore := smallNeuroPieces()
		pieces, err := Read(p)
		restore()
		if err != nil {
			t.Errorf("%s: in pieces: %v", p, err)
			continue
		}
		if diff := sameValues(pieces[0], whole[0]); diff != "" {
			t.Errorf("%s: in pieces, %s", p, diff)
		}
		read++
	}
	if read < 15 {
		t.Errorf("%d fixtures read", read)
	}
}

// neuroTestFile is a NIfTI-1 file (byte order o; MGH: big-endian) of dims with random data of
// datatype code, scaled by slope and inter, and the values Read should give, computed here
// element by element from the stored bytes.
func neuroTestFile(t *testing.T, mgh bool, o binary.ByteOrder, code int, dims []int, slope, inter float64) ([]byte, []float64) {
	t.Helper()
	types := niftiTypes
	if mgh {
		types = mghTypes
	}
	dt := types[code]
	n := 1
	for _, d := range dims {
		n *= d
	}
	rng := rand.New(rand.NewPCG(uint64(code), uint64(n)))
	data := make([]byte, n*dt.size)
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	if dt.kind == 'f' { // finite values: NaN payloads are not the point here
		for i := 0; i < n; i++ {
			if dt.size == 4 {
				o.PutUint32(data[4*i:], math.Float32bits(float32(rng.NormFloat64()*100)))
			} else {
				o.PutUint64(data[8*i:], math.Float64bits(rng.NormFloat64()*100))
			}
		}
	}
	stored := func(i int) float64 {
		b := data[i*dt.size:]
		switch dt.name {
		case "uint8":
			return float64(b[0])
		case "int8":
			return float64(int8(b[0]))
		case "int16":
			return float64(int16(o.Uint16(b)))
		case "uint16":
			return float64(o.Uint16(b))
		case "int32":
			return float64(int32(o.Uint32(b)))
		case "uint32":
			return float64(o.Uint32(b))
		case "int64":
			return float64(int64(o.Uint64(b)))
		case "uint64":
			return float64(o.Uint64(b))
		case "float32":
			return float64(math.Float32frombits(o.Uint32(b)))
		}
		return math.Float64frombits(o.Uint64(b))
	}
	full := append(slices.Clone(dims), 1, 1, 1)
	nx, ny, nz, frames := full[0], full[1], full[2], full[3]
	want := make([]float64, n)
	for ti := range frames {
		for x := range nx {
			for y := range ny {
				for z := range nz {
					v := stored(((ti*nz+z)*ny+y)*nx + x)
					if slope != 0 {
						v = slope*v + inter
					}
					want[((ti*nx+x)*ny+y)*nz+z] = v
				}
			}
		}
	}
	if mgh {
		var d4 [4]int32
		for i := range d4 {
			d4[i] = int32(full[i])
		}
		return mghSeed(d4, int32(code), append(data, "tags after the data"...)), want
	}
	head := make([]byte, 352)
	o.PutUint32(head, 348)
	o.PutUint16(head[40:], uint16(len(dims)))
	for i, d := range dims {
		o.PutUint16(head[42+2*i:], uint16(d))
	}
	o.PutUint16(head[70:], uint16(code))
	o.PutUint16(head[72:], uint16(8*dt.size))
	o.PutUint32(head[108:], math.Float32bits(352))
	o.PutUint32(head[112:], math.Float32bits(float32(slope)))
	o.PutUint32(head[116:], math.Float32bits(float32(inter)))
	copy(head[344:], "n+1\x00")
	return append(head, data...), want
}

// Files of every datatype, both byte orders, scaled or not, 3-d and 4-d, compressed or not, read
// as their stored bytes say, in one piece and a z-slice a piece.
func TestNeuroPiecesDTypes(t *testing.T) {
	dir := t.TempDir()
	type file struct {
		mgh          bool
		o            binary.ByteOrder
		code         int
		dims         []int
		slope, inter float64
	}
	var files []file
	for code := range niftiTypes {
		for _, o := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
			files = append(files, file{false, o, code, []int{5, 3, 7, 4}, 0, 0})
			files = append(files, file{false, o, code, []int{6, 4, 9}, 0.5, -3}) // as float32: exact
		}
	}
	for code := range mghTypes {
		files = append(files, file{true, binary.BigEndian, code, []int{7, 2, 5, 3}, 0, 0})
		files = append(files, file{true, binary.BigEndian, code, []int{11, 1, 1, 6}, 0, 0}) // a surface
	}
	for _, f := range files {
		b, want := neuroTestFile(t, f.mgh, f.o, f.code, f.dims, f.slope, f.inter)
		for _, gz := range []bool{false, true} {
			name := fmt.Sprintf("c%d_%v_%v_%d", f.code, f.o, f.slope, len(f.dims))
			switch {
			case f.mgh && gz:
				name += ".mgz"
			case f.mgh:
				name += ".mgh"
			case gz:
				name += ".nii.gz"
			default:
				name += ".nii"
			}
			data := b
			if gz {
				data = gzipped(b)
			}
			p := filepath.Join(dir, name)
			if err := os.WriteFile(p, data, 0o644); err != nil {
				t.Fatal(err)
			}
			for _, small := range []bool{false, true} {
				restore := func() {}
				if small {
					restore = smallNeuroPieces()
				}
				arrs, err := Read(p)
				restore()
				if err != nil {
					t.Errorf("%s: %v", name, err)
					continue
				}
				a := arrs[0]
				for i, w := range want {
					got := 0.0
					if a.F64 != nil {
						got = a.F64[i]
					} else {
						got, w = float64(a.F32[i]), float64(float32(w))
					}
					if math.Float64bits(got) != math.Float64bits(w) {
						t.Errorf("%s (pieces %v): value %d of %v = %v, want %v", name, small, i, a.Shape, got, w)
						break
					}
				}
			}
		}
	}
}

// A file that ends within its data, a gzip stream cut short or with a bad checksum, is an error
// however it is read (the workers stop, none is left running), and a .nii.gz that says more data
// than deflate can put in its bytes is found short without the values being allocated.
func TestNeuroStreamErrors(t *testing.T) {
	dir := t.TempDir()
	b, _ := neuroTestFile(t, false, binary.LittleEndian, 4, []int{5, 3, 7, 4}, 0, 0) // 840 bytes of data
	short := gzipped(b[:352+500])                                                    // a whole gzip stream of a file cut within its data
	cut := gzipped(b)
	cut = cut[:len(cut)-20] // the stream cut within its last deflate bytes
	badCRC := gzipped(b)
	badCRC[len(badCRC)-8] ^= 1
	corrupt := gzipped(b)
	corrupt[len(corrupt)/2] ^= 0xff // within the data's deflate block
	huge := slices.Clone(b[:352])
	for i, d := range []int{1000, 1000, 100, 100} {
		binary.LittleEndian.PutUint16(huge[42+2*i:], uint16(d))
	}
	binary.LittleEndian.PutUint16(huge[40:], 4)
	huge = append(huge, make([]byte, 100<<10)...)
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"short.nii", b[:352+500], "truncated: 840 bytes of data expected from offset 352, the file has 852"},
		{"short.nii.gz", short, "truncated: 840 bytes of data expected from offset 352, the file has 852"},
		{"cut.nii.gz", cut, "decompressing: unexpected EOF"},
		{"crc.nii.gz", badCRC, "decompressing: gzip: invalid checksum"},
		{"corrupt.nii.gz", corrupt, "decompressing: "},
		{"huge.nii.gz", gzipped(huge), "truncated: 20000000000 bytes of data expected from offset 352, the file has 102752"},
	}
	for _, c := range cases {
		p := filepath.Join(dir, c.name)
		if err := os.WriteFile(p, c.data, 0o644); err != nil {
			t.Fatal(err)
		}
		for _, small := range []bool{false, true} {
			restore := func() {}
			if small {
				restore = smallNeuroPieces()
			}
			goroutines := runtime.NumGoroutine()
			var err error
			n := allocated(func() { _, err = Read(p) })
			restore()
			if err == nil || !strings.HasPrefix(err.Error(), p+": ") || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%s (pieces %v): %v, want %q", c.name, small, err, c.want)
			}
			if g := runtime.NumGoroutine(); g > goroutines {
				t.Errorf("%s (pieces %v): %d goroutines left running", c.name, small, g-goroutines)
			}
			if n > 4<<20 {
				t.Errorf("%s (pieces %v): %d MB allocated", c.name, small, n>>20)
			}
		}
	}
}

// Reading a .nii.gz or .mgz allocates about its values alone: the compressed file was read whole
// and inflated whole into a second buffer before the values were made (2.0 to 2.1 times the
// values allocated, for this file), and Open inflated it all.
func TestNeuroReadAllocation(t *testing.T) {
	const nx, ny, nz, frames = 64, 64, 64, 32 // 33.5 MB of float32
	vals := make([]float64, nx*ny*nz*frames)
	for i := range vals {
		vals[i] = float64(i%977) * 0.5
	}
	dir := t.TempDir()
	for fixture, names := range map[string][]string{"float32_be.nii": {"big.nii.gz", "big.nii"}, "short.mgh": {"big.mgz", "big.mgh"}} {
		g, err := ReadGeometry(filepath.Join(neuroDir, fixture))
		if err != nil {
			t.Fatal(err)
		}
		g.Spatial = []int{nx, ny, nz}
		for _, name := range names {
			p := filepath.Join(dir, name)
			if err := WriteFrames(p, g, frames, vals); err != nil {
				t.Fatal(err)
			}
			var f *File
			opened := allocated(func() { f, err = Open(p) })
			if err != nil {
				t.Fatal(err)
			}
			if opened > 1<<20 {
				t.Errorf("%s: Open allocated %d KB: it reads the header only", name, opened>>10)
			}
			var a *Array
			n := opened + allocated(func() { a, err = f.Read("") })
			f.Close()
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(a.Shape, []int{frames, nx, ny, nz}) || a.F32[((5*nx+7)*ny+3)*nz+2] != float32(vals[((5*nx+7)*ny+3)*nz+2]) {
				t.Errorf("%s: %v, value %v", name, a.Shape, a.F32[((5*nx+7)*ny+3)*nz+2])
			}
			if values := uint64(4 * len(vals)); n > values*13/10 {
				t.Errorf("%s: %d MB allocated to read %d MB of values", name, n>>20, values>>20)
			}
		}
	}
}

// The pieces' buffers are bounded however many cores read: a machine of 64 cores holds about as
// much as one of 2.
func TestNeuroBuffersBounded(t *testing.T) {
	nii, _ := neuroTestFile(t, false, binary.LittleEndian, 16, []int{64, 64, 16, 64}, 0, 0) // 16 MB
	// a surface (an .mgz of 300,000 vertices x 12 frames, float32): each frame's slice, 1.2 MB,
	// is a piece, and the workers are as many as the buffers hold (each with its row of float64)
	mgz, _ := neuroTestFile(t, true, binary.BigEndian, 3, []int{300000, 1, 1, 12}, 0, 0)
	for _, c := range []struct {
		name        string
		file        []byte
		values, pad uint64
	}{
		{"x.nii.gz", nii, uint64(len(nii) - 352), 2 << 20},
		{"lh.x.mgz", mgz, 4 * 300000 * 12, 4 << 20},
	} {
		p := filepath.Join(t.TempDir(), c.name)
		if err := os.WriteFile(p, gzipped(c.file), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, procs := range []int{2, 64} {
			old := runtime.GOMAXPROCS(procs)
			var err error
			n := allocated(func() { _, err = Read(p) })
			runtime.GOMAXPROCS(old)
			if err != nil {
				t.Fatal(err)
			}
			if n > c.values+uint64(neuroBufferBytes)+c.pad {
				t.Errorf("%s, GOMAXPROCS %d: %d KB allocated for %d KB of values", c.name, procs, n>>10, c.values>>10)
			}
		}
	}
}
