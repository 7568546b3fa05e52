package array

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"
	"time"
)

// h5testChunked builds in memory an int16 dataset of dims, chunked by cdims as h5py stores one
// (chunks indexed by a version-1 B-tree, here a single leaf): deflated after shuffling when gzip
// is set, stored as they are otherwise. The chunks at the cells unwritten names (C order over the
// grid of chunks) are not stored and read as fill. It returns the file and the dataset's header,
// as they are once the file's headers are read, and the values the dataset holds.
func h5testChunked(t testing.TB, dims, cdims []int, gzip bool, unwritten func(cell int) bool, fill int16, seed uint64) (*h5file, *h5dset, []int16) {
	t.Helper()
	rank := len(dims)
	n, chunkN := 1, 1
	for i := range rank {
		n *= dims[i]
		chunkN *= cdims[i]
	}
	rng := rand.New(rand.NewPCG(seed, 1))
	vals := make([]int16, n)
	for i := range vals {
		vals[i] = int16(rng.NormFloat64() * 300) // betas as NSD stores them
	}
	grid := make([]uint64, rank)
	for i := range rank {
		grid[i] = uint64((dims[i] + cdims[i] - 1) / cdims[i])
	}
	ds := &h5dset{name: "betas", dims: dims, n: n, nbytes: 2 * n, t: dtype{name: "int16", kind: 'i', size: 2},
		class: 2, chunk: cdims}
	if gzip {
		ds.filters = []h5filter{{id: 2, cd: []uint32{2}}, {id: 1, cd: []uint32{1}}} // shuffle, then deflate
	}
	if fill != 0 {
		ds.fill = binary.LittleEndian.AppendUint16(nil, uint16(fill))
	}
	buf := make([]byte, 8) // address 0 is not a chunk's
	type stored struct {
		offsets []uint64
		addr    uint64
		size    int
	}
	var index []stored
	cell := 0
	raw := make([]byte, 2*chunkN)
	var z bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&z, zlib.BestSpeed)
	forGrid(grid, func(pos []uint64) error {
		defer func() { cell++ }()
		if unwritten != nil && unwritten(cell) {
			for i := range vals {
				if h5testCell(i, dims, cdims, grid) == cell {
					vals[i] = fill
				}
			}
			return nil
		}
		clear(raw)
		// The chunk's elements in C order over the chunk, those beyond dims left 0.
		for k := range chunkN {
			at, inside, rest := 0, true, k
			for i := rank - 1; i >= 0; i-- {
				c := int(pos[i])*cdims[i] + rest%cdims[i]
				rest /= cdims[i]
				inside = inside && c < dims[i]
				stride := 1
				for j := i + 1; j < rank; j++ {
					stride *= dims[j]
				}
				at += c * stride
			}
			if inside {
				binary.LittleEndian.PutUint16(raw[2*k:], uint16(vals[at]))
			}
		}
		data := raw
		if gzip {
			shuffled := make([]byte, len(raw))
			for k := range chunkN {
				shuffled[k], shuffled[chunkN+k] = raw[2*k], raw[2*k+1]
			}
			z.Reset()
			zw.Reset(&z)
			zw.Write(shuffled)
			zw.Close()
			data = z.Bytes()
		}
		offsets := make([]uint64, rank+1)
		for i := range rank {
			offsets[i] = pos[i] * uint64(cdims[i])
		}
		index = append(index, stored{offsets, uint64(len(buf)), len(data)})
		buf = append(buf, data...)
		return nil
	})
	if len(index) > 1<<16-1 {
		t.Fatalf("%d chunks: more than a B-tree node holds", len(index))
	}
	// The B-tree leaf: its header, then each chunk's key (size, filter mask, offsets) and address.
	ds.addr = uint64(len(buf))
	buf = append(buf, "TREE"...)
	buf = append(buf, 1, 0)
	buf = binary.LittleEndian.AppendUint16(buf, uint16(len(index)))
	buf = binary.LittleEndian.AppendUint64(buf, ^uint64(0))
	buf = binary.LittleEndian.AppendUint64(buf, ^uint64(0))
	for _, c := range index {
		buf = binary.LittleEndian.AppendUint32(buf, uint32(c.size))
		buf = binary.LittleEndian.AppendUint32(buf, 0)
		for _, o := range c.offsets {
			buf = binary.LittleEndian.AppendUint64(buf, o)
		}
		buf = binary.LittleEndian.AppendUint64(buf, c.addr)
	}
	return &h5file{buf: buf, so: 8, sl: 8}, ds, vals
}

// h5testCell is the cell of the chunk grid element i of a dataset of dims lies in.
func h5testCell(i int, dims, cdims []int, grid []uint64) int {
	cell, scale := 0, 1
	for d := len(dims) - 1; d >= 0; d-- {
		cell += (i % dims[d] / cdims[d]) * scale
		scale *= int(grid[d])
		i /= dims[d]
	}
	return cell
}

func checkH5Int16(t *testing.T, label string, a *Array, want []int16) {
	t.Helper()
	if len(a.F32) != len(want) || a.F64 != nil {
		t.Fatalf("%s: %d float32s, %d float64s, want %d float32s", label, len(a.F32), len(a.F64), len(want))
	}
	for i, w := range want {
		if a.F32[i] != float32(w) {
			t.Fatalf("%s: element %d = %v, want %d", label, i, a.F32[i], w)
		}
	}
}

// Chunks of every shape land where they belong: NSD's (all trials of one voxel, 750 x 1 x 1 x 1),
// whole volumes, chunks running past the dataset's end, chunks never written (their fill value),
// on as many workers as the machine has, or more.
func TestReadHDF5ChunkShapes(t *testing.T) {
	defer runtime.GOMAXPROCS(max(runtime.GOMAXPROCS(0), 4)) // several workers on any machine
	runtime.GOMAXPROCS(max(runtime.GOMAXPROCS(0), 4))
	dims := []int{30, 5, 6, 7}
	for _, cdims := range [][]int{{30, 1, 1, 1}, {1, 5, 6, 7}, {4, 1, 4, 1}, {7, 2, 1, 3}, {64, 8, 8, 8}, {1, 1, 1, 1}} {
		for _, gzip := range []bool{false, true} {
			for _, fill := range []int16{0, -7} {
				label := fmt.Sprintf("chunks %v gzip %v fill %d", cdims, gzip, fill)
				unwritten := func(cell int) bool { return fill != 0 && cell%5 == 2 }
				h, ds, want := h5testChunked(t, dims, cdims, gzip, unwritten, fill, 3)
				a, err := h.readDataset(ds, nil)
				if err != nil {
					t.Fatalf("%s: %v", label, err)
				}
				checkH5Int16(t, label, a, want)
			}
		}
	}
}

// A chunked int16 dataset decodes chunk by chunk into its float32 values: the bytes allocated are
// about the values' alone, not the stored bytes of the whole dataset besides.
func TestReadHDF5ChunkedMemory(t *testing.T) {
	dims, cdims := []int{102, 120, 128}, []int{8, 32, 32} // 3.1 MB as int16, chunks at the edges of two axes
	for _, gzip := range []bool{false, true} {
		h, ds, want := h5testChunked(t, dims, cdims, gzip, nil, 0, 1)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		a, err := h.readDataset(ds, nil)
		runtime.ReadMemStats(&after)
		if err != nil {
			t.Fatal(err)
		}
		checkH5Int16(t, fmt.Sprintf("gzip %v", gzip), a, want)
		values := 4 * ds.n
		if alloc := after.TotalAlloc - before.TotalAlloc; float64(alloc) > 1.25*float64(values) {
			t.Errorf("gzip %v: %d bytes allocated reading %d bytes of float32 (%.2fx), want at most 1.25x",
				gzip, alloc, values, float64(alloc)/float64(values))
		}
	}
}

// Of several corrupt chunks, the error names the first listed in the chunk index, every time,
// also when they fall in batches of different workers, and no worker is left behind.
func TestReadHDF5ChunkErrorFirst(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(max(runtime.GOMAXPROCS(0), 4)))
	goroutines := runtime.NumGoroutine()
	// 200 chunks of 64 x 64 int16 (8 KB): 32 to a batch of h5batchBytes, 7 batches
	h, ds, _ := h5testChunked(t, []int{200, 64, 64}, []int{1, 64, 64}, true, nil, 0, 2)
	// Break chunks 190, 100, 45 and 50 (cells are chunk positions along the first axis): their
	// zlib headers made invalid; 45 and 50 share a batch, the others are in later ones.
	leaf := h.buf[ds.addr+24:]
	const entry = 4 + 4 + 8*4 + 8
	for _, cell := range []int{190, 100, 50, 45} {
		addr := binary.LittleEndian.Uint64(leaf[cell*entry+entry-8:])
		h.buf[addr] = 0xff
	}
	for range 30 {
		_, err := h.readDataset(ds, nil)
		if err == nil || !strings.HasPrefix(err.Error(), "chunk [45 0 0]: deflate") {
			t.Fatalf("err = %v, want chunk [45 0 0]'s", err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > goroutines && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > goroutines {
		t.Errorf("%d goroutines after the reads, %d before", n, goroutines)
	}
}

// BenchmarkHDF5Chunked reads an NSD-like session scaled down (150 trials of 32 x 40 x 40 int16
// voxels, 15 MB): chunked by trial and deflated (h5py's compression="gzip" with shuffle), and
// chunked by voxel as NSD's betas are (all trials of a voxel together), stored as they are.
func BenchmarkHDF5Chunked(b *testing.B) {
	dims := []int{150, 32, 40, 40}
	for _, c := range []struct {
		name  string
		cdims []int
		gzip  bool
	}{{"trial-gzip", []int{1, 32, 40, 40}, true}, {"voxel", []int{150, 1, 1, 1}, false}, {"voxel-gzip", []int{150, 1, 1, 1}, true}} {
		b.Run(c.name, func(b *testing.B) {
			h, ds, _ := h5testChunked(b, dims, c.cdims, c.gzip, nil, 0, 1)
			b.SetBytes(int64(ds.nbytes))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := h.readDataset(ds, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
