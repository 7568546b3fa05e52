package array

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"

	"github.com/brainalign/brainalign/engine"
)

// The conversions on every core (blocks.go) give each value as the one-core loop did: checked
// against references computed here value by value from the stored bytes and from the formats'
// definitions (halfRef), and against the NumPy, h5py and NiBabel fixtures with blocks of a few
// values, on 1, 2 and 7 cores.

// onCores runs fn at GOMAXPROCS 1, 2 and 7, as subtests.
func onCores(t *testing.T, fn func(t *testing.T)) {
	t.Helper()
	for _, procs := range []int{1, 2, 7} {
		t.Run(fmt.Sprintf("procs%d", procs), func(t *testing.T) {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
			fn(t)
		})
	}
}

// bigN is the length of the large arrays: over two blocks, odd, the last block a partial one.
func bigN() int { return 2*blockValues + 12345 }

// npyAt builds a .npy file whose data starts misalign bytes past a multiple of 64 (numpy's
// alignment): an unaligned offset makes the reader copy, as it does data not in host order.
func npyAt(descr string, fortran bool, shape []int, misalign int, data []byte) []byte {
	dims := make([]string, len(shape))
	for i, d := range shape {
		dims[i] = fmt.Sprint(d)
	}
	dict := fmt.Sprintf("{'descr': '%s', 'fortran_order': %s, 'shape': (%s,), }", descr, map[bool]string{false: "False", true: "True"}[fortran], strings.Join(dims, ", "))
	for (10+len(dict)+1)%64 != misalign {
		dict += " "
	}
	return npyFile(1, dict+"\n", data)
}

// readNPYBytes writes b as a .npy file and reads it.
func readNPYBytes(t *testing.T, b []byte) *Array {
	t.Helper()
	a, err := ReadNPY(writeTemp(t, "big.npy", b))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

// sameBits reports the first of got's values that is not want's bit for bit (NaN payloads and
// the sign of zero included), or -1.
func sameBits[T float32 | float64](got, want []T) int {
	if len(got) != len(want) {
		return 0
	}
	for i := range got {
		if math.Float64bits(float64(got[i])) != math.Float64bits(float64(want[i])) &&
			!(math.IsNaN(float64(got[i])) && bitsOf(got[i]) == bitsOf(want[i])) {
			return i
		}
	}
	return -1
}

func bitsOf[T float32 | float64](v T) uint64 {
	if f, ok := any(v).(float32); ok {
		return uint64(math.Float32bits(f))
	}
	return math.Float64bits(float64(v))
}

func checkBits[T float32 | float64](t *testing.T, label string, got, want []T) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", label, len(got), len(want))
	}
	if i := sameBits(got, want); i >= 0 {
		t.Fatalf("%s: value %d of %d is %v (%#x), want %v (%#x)", label, i, len(got), got[i], bitsOf(got[i]), want[i], bitsOf(want[i]))
	}
}

// halfBits is the float32 that binary16 h widens to by the definitions of both formats: halfRef's
// value, and a NaN's sign and payload kept (its top payload bits are the float32's), as NumPy's
// astype(np.float32) gives it.
func halfBits(h uint16) float32 {
	if h&0x7c00 == 0x7c00 && h&0x3ff != 0 {
		return math.Float32frombits(uint32(h&0x8000)<<16 | 0x7f800000 | uint32(h&0x3ff)<<13)
	}
	return float32(halfRef(h)) // exact: every binary16 is a float32
}

// bfloat16Ref is the value of bfloat16 bits h by the format's definition: a sign, 8 bits of
// exponent biased by 127, 7 of fraction.
func bfloat16Ref(h uint16) float32 {
	sign := 1.0
	if h&0x8000 != 0 {
		sign = -1
	}
	e, m := int(h>>7&0xff), float64(h&0x7f)
	switch e {
	case 0:
		return float32(sign * math.Ldexp(m, -133))
	case 255:
		if m != 0 {
			return math.Float32frombits(uint32(h) << 16) // the NaN, its payload kept
		}
		return float32(math.Inf(int(sign)))
	}
	return float32(sign * math.Ldexp(1+m/128, e-127))
}

// Every binary16 pattern (each many times, in an order that mixes them), NaNs, infinities and
// subnormals included, in a float16 array of over two blocks, both byte orders, at an aligned and
// an odd offset: each value is the float32 the formats' definitions give.
func TestFloat16InBlocks(t *testing.T) {
	n := bigN()
	halves := make([]uint16, n)
	want := make([]float32, n)
	for i := range halves {
		halves[i] = uint16(i*40503 + i>>16) // 40503 is odd: every pattern in each 65,536
		want[i] = halfBits(halves[i])
	}
	for _, big := range []bool{false, true} {
		bo, descr := binary.ByteOrder(binary.LittleEndian), "<f2"
		if big {
			bo, descr = binary.BigEndian, ">f2"
		}
		data := make([]byte, 2*n)
		for i, h := range halves {
			bo.PutUint16(data[2*i:], h)
		}
		for _, misalign := range []int{0, 7} {
			b := npyAt(descr, false, []int{n}, misalign, data)
			onCores(t, func(t *testing.T) {
				a := readNPYBytes(t, b)
				checkBits(t, fmt.Sprintf("%s at +%d", descr, misalign), a.F32, want)
			})
		}
	}
}

// Every bfloat16 pattern in a safetensors tensor (little-endian, as the format stores) of over
// two blocks, at an odd offset.
func TestBfloat16InBlocks(t *testing.T) {
	n := bigN()
	data := make([]byte, 1+2*n) // a byte of another tensor first: the tensor at an odd offset
	want := make([]float32, n)
	for i := range n {
		h := uint16(i*40503 + i>>16)
		binary.LittleEndian.PutUint16(data[1+2*i:], h)
		want[i] = bfloat16Ref(h)
	}
	head := fmt.Sprintf(`{"pad":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"x":{"dtype":"BF16","shape":[%d],"data_offsets":[1,%d]}}`, n, 1+2*n)
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(head)))
	b = append(append(b, head...), data...)
	p := writeTemp(t, "big.safetensors", b)
	onCores(t, func(t *testing.T) {
		f, err := Open(p)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		a, err := f.Read("x")
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		checkBits(t, "BF16", a.F32, want)
	})
}

// randomBits is n values of size bytes of random bits, stored in byte order bo, and the same
// values as uint64s.
func randomBits(n, size int, bo binary.ByteOrder, seed uint64) ([]byte, []uint64) {
	rng := rand.New(rand.NewPCG(seed, uint64(n)))
	data, vals := make([]byte, n*size), make([]uint64, n)
	for i := range vals {
		v := rng.Uint64()
		switch size {
		case 1:
			v &= 0xff
			data[i] = byte(v)
		case 2:
			v &= 0xffff
			bo.PutUint16(data[2*i:], uint16(v))
		case 4:
			v &= 0xffffffff
			bo.PutUint32(data[4*i:], uint32(v))
		default:
			bo.PutUint64(data[8*i:], v)
		}
		vals[i] = v
	}
	return data, vals
}

// float32 and float64 arrays not used in place (big-endian, or at an unaligned offset) of random
// bits, NaNs of every payload among them: each value's bits as stored.
func TestFloatsCopiedInBlocks(t *testing.T) {
	n := bigN()
	for _, c := range []struct {
		descr    string
		misalign int
	}{{">f4", 0}, {">f4", 3}, {"<f4", 2}, {">f8", 0}, {">f8", 5}, {"<f8", 4}} {
		size := int(c.descr[2] - '0')
		bo := binary.ByteOrder(binary.LittleEndian)
		if c.descr[0] == '>' {
			bo = binary.BigEndian
		}
		data, vals := randomBits(n, size, bo, uint64(size))
		b := npyAt(c.descr, false, []int{n}, c.misalign, data)
		label := fmt.Sprintf("%s at +%d", c.descr, c.misalign)
		onCores(t, func(t *testing.T) {
			a := readNPYBytes(t, b)
			if a.m != nil {
				t.Fatalf("%s: used in place", label)
			}
			if size == 4 {
				want := make([]float32, n)
				for i, v := range vals {
					want[i] = math.Float32frombits(uint32(v))
				}
				checkBits(t, label, a.F32, want)
				return
			}
			want := make([]float64, n)
			for i, v := range vals {
				want[i] = math.Float64frombits(v)
			}
			checkBits(t, label, a.F64, want)
		})
	}
}

// Integer arrays of over two blocks, copied (big-endian, or unaligned) and in place, read as data
// through Matrix: each value the integer stored, as float32 for 8 and 16 bits, float64 for wider
// (exact), as NumPy's astype gives them.
func TestIntegersInBlocks(t *testing.T) {
	n := bigN()
	for _, c := range []struct {
		descr    string
		misalign int
	}{{"<i2", 0}, {"<i2", 1}, {">i2", 0}, {">u2", 0}, {"|i1", 0}, {"|u1", 0}, {">i4", 0}, {"<u4", 2}, {">i8", 0}, {"<i8", 4}} {
		size := int(c.descr[2] - '0')
		bo := binary.ByteOrder(binary.LittleEndian)
		if c.descr[0] == '>' {
			bo = binary.BigEndian
		}
		data, vals := randomBits(n, size, bo, uint64(size)+uint64(c.misalign))
		signed := c.descr[1] == 'i'
		value := func(v uint64) float64 { // the stored integer
			if signed {
				return float64(int64(v<<(64-8*size)) >> (64 - 8*size))
			}
			return float64(v)
		}
		b := npyAt(c.descr, false, []int{n}, c.misalign, data)
		label := fmt.Sprintf("%s at +%d", c.descr, c.misalign)
		onCores(t, func(t *testing.T) {
			m := matrixOf(t, readNPYBytes(t, b))
			if size <= 2 {
				want := make([]float32, n)
				for i, v := range vals {
					want[i] = float32(value(v))
				}
				checkBits(t, label, m.F32, want)
				return
			}
			want := make([]float64, n)
			for i, v := range vals {
				want[i] = value(v)
				if size == 8 {
					want[i] = float64(int64(v)) // rounded to nearest beyond 2^53
				}
			}
			checkBits(t, label, m.F64, want)
		})
	}
}

func matrixOf(t *testing.T, a *Array) engine.Matrix {
	t.Helper()
	m, err := a.Matrix()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// uint64 arrays of over two blocks with one value above the int64 range, in the first block, the
// middle one or the last value, both byte orders: read as float64 (NumPy's astype, rounded to
// nearest), and as int64 when none is above.
func TestUint64InBlocks(t *testing.T) {
	n := bigN()
	for _, big := range []bool{false, true} {
		bo, descr := binary.ByteOrder(binary.LittleEndian), "<u8"
		if big {
			bo, descr = binary.BigEndian, ">u8"
		}
		for _, above := range []int{-1, 3, blockValues + 1, n - 1} {
			data, vals := randomBits(n, 8, bo, 8)
			for i := range vals {
				vals[i] >>= 1 // within int64's range
				if i == above {
					vals[i] = 1<<64 - 1023 // nearer 2^64 than 2^64 - 2048: rounds up
				}
				bo.PutUint64(data[8*i:], vals[i])
			}
			b := npyAt(descr, false, []int{n}, 0, data)
			label := fmt.Sprintf("%s, above at %d", descr, above)
			onCores(t, func(t *testing.T) {
				a := readNPYBytes(t, b)
				if above < 0 {
					if len(a.I64) != n {
						t.Fatalf("%s: read as %d int64s, want %d", label, len(a.I64), n)
					}
					for i, v := range vals {
						if uint64(a.I64[i]) != v {
							t.Fatalf("%s: value %d is %d, want %d", label, i, a.I64[i], v)
						}
					}
					return
				}
				want := make([]float64, n)
				for i, v := range vals {
					want[i] = float64(v)
				}
				checkBits(t, label, a.F64, want)
				if a.F64[above] != 1<<64 {
					t.Fatalf("%s: %v, want 2^64", label, a.F64[above])
				}
			})
		}
	}
}

// Fortran-order arrays of more than two dimensions and over two blocks, read through Matrix:
// transposed (and converted) by tiles in rectangles on the cores, rectangles tall, wide and
// square, partial tiles at their edges. Element (i, j, k, ...) of the C-order matrix is the value
// stored at its Fortran offset (storedIndex).
func TestFortranInBlocks(t *testing.T) {
	for _, shape := range [][]int{
		{1031, 13, 163},        // rectangles of about 1024 x 1024 values, partial ones at the edges
		{5, 7, 60013},          // few rows: wide rectangles
		{400003, 2, 3},         // few columns: tall ones
		{67, 5, 3, 1201, 1, 2}, // more axes, one of length 1
	} {
		n := 1
		for _, d := range shape {
			n *= d
		}
		if n <= blockValues {
			t.Fatalf("%v: %d values, want more than a block", shape, n)
		}
		data, vals := randomBits(n, 2, binary.LittleEndian, uint64(n))
		want := make([]float32, n)  // the int16 array's matrix, C order
		data32 := make([]byte, 4*n) // the same values as float32
		for i, v := range vals {
			binary.LittleEndian.PutUint32(data32[4*i:], math.Float32bits(float32(int16(v))))
		}
		for k := range n {
			want[k] = float32(int16(vals[storedIndex(k, shape, true)]))
		}
		for _, c := range []struct {
			descr string
			data  []byte
		}{{"<i2", data}, {"<f4", data32}, {">i2", nil}} {
			d := c.data
			if d == nil { // big-endian: swapped while copied, then transposed
				d = make([]byte, 2*n)
				for i, v := range vals {
					binary.BigEndian.PutUint16(d[2*i:], uint16(v))
				}
			}
			b := npyAt(c.descr, true, shape, 0, d)
			label := fmt.Sprintf("%s %v", c.descr, shape)
			onCores(t, func(t *testing.T) {
				m := matrixOf(t, readNPYBytes(t, b))
				if m.ColMajor || m.Rows != shape[0] || m.Rows*m.Cols != n {
					t.Fatalf("%s: %d x %d matrix, ColMajor %v", label, m.Rows, m.Cols, m.ColMajor)
				}
				checkBits(t, label, m.F32, want)
			})
		}
	}
}

// smallBlocks makes blocks of a few values for the rest of the test, so that the fixtures'
// arrays of tens of values are converted in several blocks on several cores.
func smallBlocks(t *testing.T, values int) {
	old := blockValues
	blockValues = values
	t.Cleanup(func() { blockValues = old })
}

// The NumPy, h5py and NiBabel fixtures read as their references give them in blocks of 3 and 5
// values on 1, 2 and 7 cores.
func TestFixturesInSmallBlocks(t *testing.T) {
	for _, values := range []int{3, 5} {
		t.Run(fmt.Sprintf("blocks%d", values), func(t *testing.T) {
			smallBlocks(t, values)
			onCores(t, func(t *testing.T) {
				TestReadNPYFixtures(t)
				TestReadNPZFixtures(t)
				TestReadSafetensorsFixture(t)
				TestReadIntegerData(t)
				TestReadHDF5Fixtures(t)
				TestReadHDF5FillOnly(t)
				TestReadTargetsWhole(t)
				TestNeuroMatchesNiBabel(t)
			})
		})
	}
}

// The blocks of a range cover it once each, in blocks of blockValues (the last one short), and an
// array of one block or less is converted on the caller's goroutine: no goroutine is started.
func TestInBlocksCover(t *testing.T) {
	smallBlocks(t, 7)
	for _, n := range []int{0, 1, 6, 7, 8, 50, 701} {
		onCores(t, func(t *testing.T) {
			seen := make([]int32, n)
			inBlocks(n, func(start, end int) {
				if start%7 != 0 || end-start != min(7, n-start) {
					t.Errorf("n %d: block [%d, %d)", n, start, end)
				}
				for i := start; i < end; i++ {
					seen[i]++
				}
			})
			for i, s := range seen {
				if s != 1 {
					t.Fatalf("n %d: value %d converted %d times", n, i, s)
				}
			}
		})
	}
	before := runtime.NumGoroutine()
	inBlocks(7, func(start, end int) {
		if runtime.NumGoroutine() != before {
			t.Error("one block started a goroutine")
		}
	})
}

// Fortran-order int16 data of the edge shapes (one row, one column, one value, tiles cut short on
// both sides, more axes) and of random ones, transposed in blocks of 3 values, so that any array
// of over 64 rows or 1,024 columns is cut into rectangles: element (i, j, k, ...) of the C-order
// result is the value stored at its Fortran offset (storedIndex), on 1, 2 and 7 cores.
func TestFortranShapesInSmallBlocks(t *testing.T) {
	smallBlocks(t, 3)
	rng := rand.New(rand.NewPCG(3, 5))
	shapes := [][]int{{1, 1500, 3}, {3000, 1, 1}, {1, 1, 1}, {3, 1, 5}, {64, 256, 1}, {65, 257, 1},
		{200, 3, 700}, {1, 2, 3, 4, 5}, {130, 1030, 1}, {129, 7, 149}}
	for range 20 {
		shape := []int{1 + rng.IntN(300), 1 + rng.IntN(40), 1 + rng.IntN(40), 1 + rng.IntN(4)}
		shapes = append(shapes, shape[:3+rng.IntN(2)])
	}
	for _, shape := range shapes {
		n := 1
		for _, d := range shape {
			n *= d
		}
		stored := make([]int16, n)
		for i := range stored {
			stored[i] = int16(rng.Uint32())
		}
		want := make([]float32, n)
		for k := range want {
			want[k] = float32(stored[storedIndex(k, shape, true)])
		}
		a := &Array{Name: "x", Shape: shape, DType: "int16", Fortran: true, ints: stored}
		onCores(t, func(t *testing.T) {
			checkBits(t, fmt.Sprint(shape), matrixOf(t, a).F32, want)
		})
	}
}
