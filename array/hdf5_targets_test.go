package array

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
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

// targets.json (testdata/gen_hdf5.py): per file and dataset, NumPy's
// f[name][:].reshape(n, -1)[:, cols] for masks of several kinds.
type h5expTargets struct {
	Shape  []int
	DType  string
	Chunks []int
	Masks  map[string]struct {
		Cols   []int
		Values []float64
	}
}

func loadTargetsExpected(t testing.TB) map[string]map[string]h5expTargets {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(hdf5Dir, "targets.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]map[string]h5expTargets
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// arrayValue is element i of an array read as floats.
func arrayValue(a *Array, i int) float64 {
	if a.F32 != nil {
		return float64(a.F32[i])
	}
	return a.F64[i]
}

// Masked targets of h5py-written datasets, chunked every way (one voxel a chunk, blocks with edge
// chunks, whole rows, one chunk; compressed or not, shuffled, fletcher32, chunks never written),
// contiguous and compact, both libvers, read as NumPy selects them; all the targets, and targets
// out of order or repeated, as the whole dataset's read holds them. Of MATLAB files too (their
// axes reversed: MATLAB's targets, as NumPy's f[name][()].T selects them), of 2 to 4 axes, with
// every chunk index (a B-tree of two levels, its chunks written in random order), grown and
// shrunk.
func TestReadTargetsFixtures(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(max(runtime.GOMAXPROCS(0), 4))) // several workers
	exp := loadTargetsExpected(t)
	if len(exp) != 4 {
		t.Fatalf("%d files in targets.json, want 4", len(exp))
	}
	for fname, datasets := range exp {
		f, err := Open(filepath.Join(hdf5Dir, fname))
		if err != nil {
			t.Fatal(err)
		}
		if len(datasets) < 14 {
			t.Fatalf("%s: %d datasets", fname, len(datasets))
		}
		for name, d := range datasets {
			label := fname + ":" + name
			if f.Lookup(name).targets == nil {
				t.Errorf("%s: read whole for its targets", label)
			}
			masks := 0
			for mname, mk := range d.Masks {
				a, err := f.ReadTargets(name, mk.Cols)
				if err != nil {
					t.Fatalf("%s %s: %v", label, mname, err)
				}
				if !slices.Equal(a.Shape, []int{d.Shape[0], len(mk.Cols)}) || a.DType != d.DType {
					t.Fatalf("%s %s: shape %v %s, want %d x %d %s", label, mname, a.Shape, a.DType, d.Shape[0], len(mk.Cols), d.DType)
				}
				if n := len(a.F32) + len(a.F64); n != len(mk.Values) {
					t.Fatalf("%s %s: %d values, want %d", label, mname, n, len(mk.Values))
				}
				for i, want := range mk.Values {
					if got := arrayValue(a, i); got != want {
						t.Fatalf("%s %s: element %d = %v, want %v", label, mname, i, got, want)
					}
				}
				masks++
			}
			if masks < 2 {
				t.Errorf("%s: %d masks", label, masks)
			}
			whole, err := f.Read(name)
			if err != nil {
				t.Fatal(err)
			}
			m, err := whole.Matrix()
			if err != nil {
				t.Fatal(err)
			}
			all := make([]int, m.Cols)
			for j := range all {
				all[j] = j
			}
			rng := rand.New(rand.NewPCG(uint64(len(name)), 9))
			shuffled := slices.Clone(all)
			rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
			repeated := []int{m.Cols - 1, 0, m.Cols - 1, m.Cols / 2, m.Cols/2 + 1, m.Cols/2 + 2, 0}
			for _, cols := range [][]int{all, shuffled, repeated} {
				a, err := f.ReadTargets(name, cols)
				if err != nil {
					t.Fatalf("%s: %v", label, err)
				}
				if (a.F32 == nil) != (m.F32 == nil) {
					t.Fatalf("%s: precision differs from the whole read's", label)
				}
				for i := range m.Rows {
					for j, c := range cols {
						if got, want := arrayValue(a, i*len(cols)+j), m.At(i, c); got != want {
							t.Fatalf("%s: cols %v: (%d, %d) = %v, want %v", label, cols[:min(len(cols), 8)], i, j, got, want)
						}
					}
				}
			}
			whole.Close()
		}
		f.Close()
	}
}

// Other arrays (.npy) are read whole, their columns copied, as a MATLAB file's dataset is read by
// its targets (MATLAB's 4 x 3 matrix, a 3 x 4 dataset); targets out of range are an error of one
// line, naming the shape as Read gives it.
func TestReadTargetsWhole(t *testing.T) {
	f, err := Open(filepath.Join(hdf5Dir, "matlab.mat"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n, err := Open(filepath.Join(hdf5Dir, "study_Y.npy"))
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	for _, file := range []*File{f, n} {
		name := file.Names()[0]
		if e := file.Lookup(name); (e.targets == nil) != (file == n) {
			t.Errorf("%s: targets read whole %v", file.Path(), e.targets == nil)
		}
		a, err := file.ReadTargets(name, []int{2, 0})
		if err != nil {
			t.Fatal(err)
		}
		whole, err := file.Read(name)
		if err != nil {
			t.Fatal(err)
		}
		m, _ := whole.Matrix()
		if !slices.Equal(a.Shape, []int{m.Rows, 2}) || m.Rows < 4 {
			t.Fatalf("%s: shape %v", file.Path(), a.Shape)
		}
		for i := range m.Rows {
			if arrayValue(a, 2*i) != m.At(i, 2) || arrayValue(a, 2*i+1) != m.At(i, 0) {
				t.Fatalf("%s: row %d: %v %v, want %v %v", file.Path(), i, arrayValue(a, 2*i), arrayValue(a, 2*i+1), m.At(i, 2), m.At(i, 0))
			}
		}
	}
	g, err := Open(filepath.Join(hdf5Dir, "targets_latest.h5"))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	for file, shape := range map[*File]string{f: "4 x 3", g: "6 x 3 x 4", n: "60 x 5"} {
		name := file.Names()[0]
		_, err := file.ReadTargets(name, []int{0, 1 << 20})
		if err == nil || !strings.Contains(err.Error(), "target 1048576 out of range: "+shape+" has") || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: err %v", file.Path(), err)
		}
	}
}

// NSD's layout (all trials of a voxel in a chunk) and others, built in memory: only the chunks
// that hold a wanted target are decoded, and the values are those of the whole read; a corrupt
// chunk is an error when it holds a wanted target, and is not read otherwise.
func TestReadTargetsChunksDecoded(t *testing.T) {
	dims := []int{30, 5, 6, 7}
	for _, cdims := range [][]int{{30, 1, 1, 1}, {4, 1, 4, 1}, {7, 2, 1, 3}, {1, 5, 6, 7}} {
		for _, gzip := range []bool{false, true} {
			label := fmt.Sprintf("chunks %v gzip %v", cdims, gzip)
			h, ds, want := h5testChunked(t, dims, cdims, gzip, func(cell int) bool { return cell%7 == 3 }, -5, 4)
			cols := []int{0, 1, 2, 40, 41, 100, 209}
			decoded := 0
			sel, err := newH5targets(ds, cols, false)
			if err != nil {
				t.Fatal(err)
			}
			v, err := h.readTargets(ds, cols, false)
			if err != nil {
				t.Fatalf("%s: %v", label, err)
			}
			for i := range dims[0] {
				for j, c := range cols {
					if got, w := v.f32[i*len(cols)+j], float32(want[i*210+c]); got != w {
						t.Fatalf("%s: (%d, %d) = %v, want %v", label, i, c, got, w)
					}
				}
			}
			// the chunks decoded: those whose trailing position holds a wanted target
			grid := []uint64{uint64((30 + cdims[0] - 1) / cdims[0]), uint64((5 + cdims[1] - 1) / cdims[1]), uint64((6 + cdims[2] - 1) / cdims[2]), uint64((7 + cdims[3] - 1) / cdims[3])}
			total := 0
			forGrid(grid, func(pos []uint64) error {
				total++
				if _, ok := sel.group(pos); ok {
					decoded++
				}
				return nil
			})
			if cdims[1] == 1 && decoded*10 > total*3 {
				t.Errorf("%s: %d of %d chunks wanted", label, decoded, total)
			}
		}
	}
	// Break every chunk but those of target 0 (one voxel a chunk): the target still reads, and
	// a broken one is an error of one line naming its chunk.
	h, ds, want := h5testChunked(t, []int{20, 3, 4}, []int{20, 1, 1}, true, nil, 0, 5)
	leaf := h.buf[ds.addr+24:]
	const entry = 4 + 4 + 8*4 + 8 // size, filter mask, offsets (rank + 1), address
	for cell := 1; cell < 12; cell++ {
		h.buf[binary.LittleEndian.Uint64(leaf[cell*entry+entry-8:])] = 0xff
	}
	v, err := h.readTargets(ds, []int{0}, false)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		if v.f32[i] != float32(want[i*12]) {
			t.Fatalf("row %d: %v, want %d", i, v.f32[i], want[i*12])
		}
	}
	if _, err := h.readDataset(ds, nil); err == nil || !strings.HasPrefix(err.Error(), "chunk [0 0 1]: deflate") {
		t.Errorf("whole read: %v", err)
	}
	if _, err := h.readTargets(ds, []int{0, 5}, false); err == nil || !strings.HasPrefix(err.Error(), "chunk [0 1 1]: deflate") || strings.Contains(err.Error(), "\n") {
		t.Errorf("target 5: %v", err)
	}
}

// checkTargetsOf reads some targets of entry e (every third, at most 64) when it has them, and
// checks them against whole, the whole array's read (nil if it failed): the same values where
// both read. It returns ReadTargets' error's message.
func checkTargetsOf(t *testing.T, f *File, e *Entry, whole *Array) string {
	t.Helper()
	if e.Err != nil || len(e.Shape) < 2 {
		return ""
	}
	rows, total := e.Shape[0], 1
	for _, d := range e.Shape[1:] {
		total *= d
	}
	if rows == 0 || total == 0 || rows > 1<<20 {
		return ""
	}
	var cols []int
	for c := 0; c < total && len(cols) < 64; c += 3 {
		cols = append(cols, c)
	}
	a, err := f.ReadTargets(e.Name, cols)
	if err != nil {
		return err.Error()
	}
	defer a.Close()
	if !slices.Equal(a.Shape, []int{rows, len(cols)}) || (a.F32 == nil) == (a.F64 == nil) || len(a.F32)+len(a.F64) != rows*len(cols) {
		t.Fatalf("%s: targets shaped %v, %d float32s, %d float64s", e.Name, a.Shape, len(a.F32), len(a.F64))
	}
	if whole == nil || whole.F32 == nil && whole.F64 == nil {
		return ""
	}
	m, err := whole.Matrix()
	if err != nil {
		return ""
	}
	for i := range rows {
		for j, c := range cols {
			got, want := arrayValue(a, i*len(cols)+j), m.At(i, c)
			if math.Float64bits(got) != math.Float64bits(want) {
				t.Fatalf("%s: target %d row %d = %v, the whole read's %v", e.Name, c, i, got, want)
			}
		}
	}
	return ""
}

// h5testVoxels builds in memory an int16 dataset of dims chunked by voxel (all its rows in a
// chunk, as NSD's betas), unfiltered, the chunks allocated early (the implicit index: one after
// another in C order): quick to build at NSD's size, where h5testChunked's one B-tree leaf
// would not hold the chunks.
func h5testVoxels(dims []int) (*h5file, *h5dset) {
	rows, n := dims[0], 1
	for _, d := range dims {
		n *= d
	}
	cdims := slices.Clone(dims)
	for i := 1; i < len(cdims); i++ {
		cdims[i] = 1
	}
	ds := &h5dset{name: "betas", dims: dims, n: n, nbytes: 2 * n, t: dtype{name: "int16", kind: 'i', size: 2},
		class: 2, chunk: cdims, index: 2, addr: 8}
	buf := make([]byte, 8+2*n)
	voxels := n / rows
	for v := range voxels {
		chunk := buf[8+2*v*rows:]
		x := uint32(v)*2654435761 + 1
		for r := range rows {
			x ^= x << 13
			x ^= x >> 17
			x ^= x << 5
			binary.LittleEndian.PutUint16(chunk[2*r:], uint16(int16(x%2001)-1000))
		}
	}
	return &h5file{buf: buf, so: 8, sl: 8}, ds
}

// h5testBtree indexes the chunks of a dataset built in memory (h5testVoxels, h5testChunked) anew,
// by a version-1 B-tree as HDF5 builds one: nodes of at most fanout entries (h5py's: 64)
// allocated whole, each key a chunk's size, filter mask and offsets, the keys of an internal node
// its children's first and, last, the right key of its last child; the tree's right key is the
// last chunk's position plus one on every axis. It returns a copy of ds indexed by the tree,
// appended to h's buffer.
func h5testBtree(t testing.TB, h *h5file, ds *h5dset, fanout int) *h5dset {
	t.Helper()
	rank := len(ds.dims)
	chunkBytes, grid := ds.t.size, make([]uint64, rank)
	for i := range rank {
		chunkBytes *= ds.chunk[i]
		grid[i] = uint64((ds.dims[i] + ds.chunk[i] - 1) / ds.chunk[i])
	}
	var chunks []h5chunk
	if err := h.chunks(ds, grid, chunkBytes, nil, func(c h5chunk) error {
		c.scaled = slices.Clone(c.scaled)
		chunks = append(chunks, c)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(chunks, func(a, b h5chunk) int { return slices.Compare(a.scaled, b.scaled) })
	keyLen := 8 + 8*(rank+1)
	key := func(c h5chunk, plus uint64) []byte {
		k := binary.LittleEndian.AppendUint32(nil, uint32(c.size))
		k = binary.LittleEndian.AppendUint32(k, uint32(c.mask))
		for i := range rank {
			k = binary.LittleEndian.AppendUint64(k, (c.scaled[i]+plus)*uint64(ds.chunk[i]))
		}
		return binary.LittleEndian.AppendUint64(k, plus*uint64(ds.t.size))
	}
	type child struct {
		addr        uint64
		first, last []byte // the keys around it
	}
	level := make([]child, len(chunks))
	for i, c := range chunks {
		level[i] = child{addr: c.addr, first: key(c, 0)}
		if i > 0 {
			level[i-1].last = level[i].first
		}
	}
	level[len(level)-1].last = key(chunks[len(chunks)-1], 1)
	buf := h.buf
	for depth := 0; ; depth++ {
		var up []child
		for start := 0; start < len(level); start += fanout {
			kids := level[start:min(start+fanout, len(level))]
			node := child{addr: uint64(len(buf)), first: kids[0].first, last: kids[len(kids)-1].last}
			buf = append(buf, "TREE"...)
			buf = append(buf, 1, byte(depth))
			buf = binary.LittleEndian.AppendUint16(buf, uint16(len(kids)))
			buf = binary.LittleEndian.AppendUint64(buf, ^uint64(0))
			buf = binary.LittleEndian.AppendUint64(buf, ^uint64(0))
			for _, k := range kids {
				buf = append(buf, k.first...)
				buf = binary.LittleEndian.AppendUint64(buf, k.addr)
			}
			buf = append(buf, node.last...)
			buf = append(buf, make([]byte, (fanout-len(kids))*(keyLen+8))...) // allocated whole
			up = append(up, node)
		}
		level = up
		if len(level) == 1 {
			break
		}
	}
	h.buf = buf
	bt := *ds
	bt.index, bt.addr = 0, level[0].addr
	return &bt
}

// h5testBall is the targets of a volume of dims (C order) within radius of its centre: a region
// such as a mask of visual cortex keeps, as against voxels strewn at random.
func h5testBall(dims []int, radius float64) []int {
	var cols []int
	for x := range dims[0] {
		for y := range dims[1] {
			for z := range dims[2] {
				dx, dy, dz := float64(x-dims[0]/2), float64(y-dims[1]/2), float64(z-dims[2]/2)
				if dx*dx+dy*dy+dz*dz <= radius*radius {
					cols = append(cols, (x*dims[1]+y)*dims[2]+z)
				}
			}
		}
	}
	return cols
}

// BenchmarkHDF5Targets reads the voxels of a 3% mask of an NSD session (750 x 83 x 104 x 81
// int16, 1.0 GB, one voxel a chunk; with -short 150 x 32 x 40 x 40, also deflated): the whole
// dataset decoded and the masked columns copied, as --brain-mask did, against readTargets. The
// mask is random, or a ball (a region, as a mask of visual cortex). The chunks are indexed as
// allocated early (implicit), or by a version-1 B-tree as h5py's default writes them (btree: its
// 40 MB of nodes; read from a file mapped afresh each time, as Open maps it, so that the pages
// of the nodes and chunks read are faulted in each time, from the page cache). matlab: the same
// bytes as a MATLAB file's, whose axes are reversed (dims 81 x 104 x 83 x 750, MATLAB's 750 x 83
// x 104 x 81), read whole as a MATLAB array is (Fortran order, the matrix copied into C order),
// then its columns copied, against readTargets of MATLAB's targets.
func BenchmarkHDF5Targets(b *testing.B) {
	type layout struct {
		name   string
		h      *h5file
		ds     *h5dset
		matlab bool
		cols   []int
		mapped bool
	}
	dims, radius := []int{750, 83, 104, 81}, 17.0
	if testing.Short() {
		dims, radius = []int{150, 32, 40, 40}, 7.5
	}
	rng := rand.New(rand.NewPCG(3, 3))
	var random []int
	total := dims[1] * dims[2] * dims[3]
	for c := range total {
		if rng.Float64() < 0.03 {
			random = append(random, c)
		}
	}
	ball := h5testBall(dims[1:], radius)
	var layouts []layout
	h, ds := h5testVoxels(dims)
	bt := h5testBtree(b, h, ds, 64)
	mbt := h5testBtree(b, h, h5testReversed(ds), 64)
	path := filepath.Join(b.TempDir(), "session.h5")
	if err := os.WriteFile(path, h.buf, 0o644); err != nil {
		b.Fatal(err)
	}
	layouts = append(layouts, layout{"voxel", h, ds, false, random, false}, layout{"voxel-btree", h, bt, false, random, true},
		layout{"voxel-btree-ball", h, bt, false, ball, true}, layout{"matlab-btree", h, mbt, true, random, true},
		layout{"matlab-btree-ball", h, mbt, true, ball, true})
	if testing.Short() {
		gh, gds, _ := h5testChunked(b, dims, []int{150, 1, 1, 1}, true, nil, 0, 1)
		layouts = append(layouts, layout{"voxel-gzip", gh, gds, false, random, false})
	}
	// file is the layout's file: in memory, or mapped afresh (done unmaps it); its work count
	// reset, as each File.Read's is.
	file := func(b *testing.B, l layout) (h *h5file, done func()) {
		l.h.work = 0
		if !l.mapped {
			return l.h, func() {}
		}
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		buf, unmap, err := mapFile(f, len(l.h.buf))
		if err != nil {
			b.Fatal(err)
		}
		hm := *l.h
		hm.buf = buf
		return &hm, func() { unmap(buf) }
	}
	for _, l := range layouts {
		b.Run(l.name+"/whole", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				h, done := file(b, l)
				a, err := h.readDataset(l.ds, nil)
				if err != nil {
					b.Fatal(err)
				}
				a.Shape = slices.Clone(l.ds.dims)
				if l.matlab {
					slices.Reverse(a.Shape)
					a.Fortran = true
				}
				m, err := a.Matrix()
				if err != nil {
					b.Fatal(err)
				}
				out := make([]float32, m.Rows*len(l.cols)) // the masked columns, as selectColumns copies them
				for i := range m.Rows {
					row := m.F32[i*m.Cols : (i+1)*m.Cols]
					for j, c := range l.cols {
						out[i*len(l.cols)+j] = row[c]
					}
				}
				done()
			}
		})
		b.Run(l.name+"/targets", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				h, done := file(b, l)
				if _, err := h.readTargets(l.ds, l.cols, l.matlab); err != nil {
					b.Fatal(err)
				}
				done()
			}
		})
	}
}

// h5testWholeTargets is the reference for readTargets: the whole dataset read, as Read gives it
// (a MATLAB file's, rowsLast, reversed into MATLAB's Fortran-order array), made a matrix
// (Array.Matrix) and its columns cols picked.
func h5testWholeTargets(t *testing.T, h *h5file, ds *h5dset, cols []int, rowsLast bool) ([]float64, error) {
	t.Helper()
	a, err := h.readDataset(ds, nil)
	if err != nil {
		return nil, err
	}
	a.Shape = ds.shapeRead(rowsLast)
	a.Fortran = rowsLast
	m, err := a.Matrix()
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float64, 0, m.Rows*len(cols))
	for i := range m.Rows {
		for _, c := range cols {
			out = append(out, m.At(i, c))
		}
	}
	return out, nil
}

// h5testSame fails unless v holds want, bit for bit.
func h5testSame(t *testing.T, label string, v *h5values, want []float64) {
	t.Helper()
	a := v.array()
	if n := len(a.F32) + len(a.F64); n != len(want) {
		t.Fatalf("%s: %d values, want %d", label, n, len(want))
	}
	for i, w := range want {
		if got := arrayValue(a, i); math.Float64bits(got) != math.Float64bits(w) {
			t.Fatalf("%s: value %d = %v, want %v", label, i, got, w)
		}
	}
}

// h5testMasks are target lists over total targets of a volume of dims: random (a tenth), a
// region (a block of the volume), the first and last alone, all, all shuffled, repeated and out
// of order, and none.
func h5testMasks(dims []int, seed uint64) map[string][]int {
	total := 1
	for _, d := range dims {
		total *= d
	}
	rng := rand.New(rand.NewPCG(seed, 5))
	m := map[string][]int{"first": {0}, "last": {total - 1}, "none": {}, "repeated": {total - 1, 0, total - 1, total / 2, total/2 + 1, 0}}
	for c := range total {
		if rng.Float64() < 0.1 {
			m["random"] = append(m["random"], c)
		}
		m["all"] = append(m["all"], c)
		// a block: the second half of the first axis, the first half of the others
		rest, in := c, true
		for i := len(dims) - 1; i >= 0; i-- {
			x := rest % dims[i]
			rest /= dims[i]
			in = in && (i == 0 && x >= dims[0]/2 || i > 0 && x < (dims[i]+1)/2)
		}
		if in {
			m["block"] = append(m["block"], c)
		}
	}
	m["shuffled"] = slices.Clone(m["all"])
	rng.Shuffle(total, func(i, j int) { m["shuffled"][i], m["shuffled"][j] = m["shuffled"][j], m["shuffled"][i] })
	return m
}

// Chunks indexed by B-trees of several levels (nodes of 2, 3 and 64 entries), read for masks of
// every kind: the values are those of the whole read, for datasets of rows first and of MATLAB's
// reversed axes (rows last), chunked one target a chunk, in blocks with edge chunks, across the
// rows, compressed or not, some never written; and only part of the index is walked.
func TestReadTargetsBtree(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(max(runtime.GOMAXPROCS(0), 4)))
	cases := []struct {
		dims, cdims []int
		rowsLast    bool
	}{
		{[]int{30, 5, 6, 7}, []int{30, 1, 1, 1}, false},
		{[]int{30, 5, 6, 7}, []int{7, 2, 4, 3}, false},
		{[]int{30, 5, 6, 7}, []int{4, 5, 1, 7}, false},
		{[]int{7, 6, 5, 30}, []int{1, 1, 1, 30}, true}, // MATLAB's 30 x 5 x 6 x 7, NSD's chunks
		{[]int{7, 6, 5, 30}, []int{3, 4, 2, 8}, true},
		{[]int{7, 6, 5, 30}, []int{7, 1, 5, 4}, true},
		{[]int{40, 9}, []int{3, 9}, true}, // MATLAB's 9 x 40
		{[]int{9, 40}, []int{9, 3}, false},
	}
	for _, tc := range cases {
		for _, gzip := range []bool{false, true} {
			unwritten := func(cell int) bool { return gzip && cell%5 == 1 }
			h, leaf, _ := h5testChunked(t, tc.dims, tc.cdims, gzip, unwritten, -3, 11)
			vol := leaf.shapeRead(tc.rowsLast)[1:]
			for _, fanout := range []int{2, 3, 64} {
				ds := h5testBtree(t, h, leaf, fanout)
				for name, cols := range h5testMasks(vol, uint64(fanout)) {
					label := fmt.Sprintf("%v chunks %v gzip %v fanout %d, %s", tc.dims, tc.cdims, gzip, fanout, name)
					want, err := h5testWholeTargets(t, h, leaf, cols, tc.rowsLast)
					if err != nil {
						t.Fatal(err)
					}
					h.work = 0
					v, err := h.readTargets(ds, cols, tc.rowsLast)
					if err != nil {
						t.Fatalf("%s: %v", label, err)
					}
					h5testSame(t, label, v, want)
					walked := h.work // nodes and chunks listed
					h.work = 0
					if _, err := h.readDataset(ds, nil); err != nil {
						t.Fatal(err)
					}
					// one target: less of the index walked than for all, a third at most where
					// its rows are in one chunk
					ra := leaf.rowAxis(tc.rowsLast)
					if name == "first" && fanout == 2 && (walked >= h.work || tc.cdims[ra] == tc.dims[ra] && walked*3 > h.work) {
						t.Errorf("%s: %d nodes and chunks walked for one target, %d for all", label, walked, h.work)
					}
				}
			}
		}
	}
}

// A B-tree damaged where a masked read goes reports what the whole read reports, in the same
// words; damaged elsewhere, the masked read does not go there and its values are those of the
// intact file. Each node of a tree of five levels in turn: its signature, its level, a child's
// address beyond the file's end, its entries more than it holds; an internal node's first two
// children swapped (chunks out of their keys' order: corrupt, where the masked read meets them,
// else the intact values); the file cut within the root.
func TestReadTargetsBtreeDamaged(t *testing.T) {
	for _, rowsLast := range []bool{false, true} {
		dims, cdims := []int{12, 4, 5, 6}, []int{12, 1, 1, 1}
		if rowsLast {
			dims, cdims = []int{6, 5, 4, 12}, []int{1, 1, 1, 12}
		}
		h, leaf, _ := h5testChunked(t, dims, cdims, true, nil, 0, 4)
		ds := h5testBtree(t, h, leaf, 3) // 120 chunks: 40 leaves, 14, 5, 2, the root
		intact := h.buf
		cols := []int{7, 64, 65}
		want, err := h5testWholeTargets(t, h, leaf, cols, rowsLast)
		if err != nil {
			t.Fatal(err)
		}
		var nodes []int // where the tree's nodes are, after the chunks
		for at := int(leaf.addr); ; {
			i := bytes.Index(intact[at:], []byte("TREE"))
			if i < 0 {
				break
			}
			nodes = append(nodes, at+i)
			at += i + 4
		}
		if len(nodes) != 40+14+5+2+1+1 { // and the single leaf h5testChunked made
			t.Fatalf("%d nodes", len(nodes))
		}
		nodes = nodes[1:]
		const entry = 4 + 4 + 8*5 + 8
		damages := map[string]func(b []byte, at int){
			"signature": func(b []byte, at int) { b[at] = 'X' },
			"level":     func(b []byte, at int) { b[at+5] += 2 },
			"child":     func(b []byte, at int) { binary.LittleEndian.PutUint64(b[at+24+entry-8:], uint64(len(b))) },
			"entries":   func(b []byte, at int) { binary.LittleEndian.PutUint16(b[at+6:], 0xffff) },
			"swapped": func(b []byte, at int) {
				first, second := b[at+24+entry-8:at+24+entry], b[at+24+2*entry-8:at+24+2*entry]
				x := binary.LittleEndian.Uint64(first)
				copy(first, second)
				binary.LittleEndian.PutUint64(second, x)
			},
		}
		for what, damage := range damages {
			met, missed := 0, 0
			for _, at := range nodes {
				if what == "swapped" && intact[at+5] == 0 {
					continue // a leaf's chunks swapped are not out of order
				}
				b := bytes.Clone(intact)
				damage(b, at)
				h.buf = b
				label := fmt.Sprintf("rows last %v, node at %d, %s", rowsLast, at, what)
				_, whole := h.readDataset(ds, nil)
				if whole == nil {
					t.Fatalf("%s: the whole read has no error", label)
				}
				v, err := h.readTargets(ds, cols, rowsLast)
				switch {
				case err == nil:
					missed++
					h5testSame(t, label, v, want)
				case what == "swapped" && strings.Contains(err.Error(), "out of order"): // the first met
					met++
				case err.Error() != whole.Error():
					t.Fatalf("%s: %q, the whole read %q", label, err, whole)
				default:
					met++
				}
			}
			if met == 0 || missed == 0 {
				t.Errorf("rows last %v, %s: %d nodes damaged on the masked read's way, %d elsewhere", rowsLast, what, met, missed)
			}
		}
		root := int(ds.addr)
		for _, cut := range []int{root + 30, root + 24 + 2*entry - 4} {
			h.buf = intact[:cut]
			_, whole := h.readDataset(ds, nil)
			_, err := h.readTargets(ds, cols, rowsLast)
			if whole == nil || err == nil || err.Error() != whole.Error() || !strings.Contains(err.Error(), "truncated") {
				t.Errorf("rows last %v, cut at %d: %v, the whole read %v", rowsLast, cut, err, whole)
			}
		}
		h.buf = intact
	}
}

// The MATLAB fixtures hold every layout and chunk index (compact, contiguous; a version-1 B-tree;
// single chunk, fixed arrays paged and not, an extensible array, version-2
// B-trees), and of their B-tree of two levels and their paged fixed array a target's read walks
// a small part: the root and one leaf, the page of its chunk.
func TestReadTargetsMatlabIndexes(t *testing.T) {
	for fname, want := range map[string][]string{
		"targets_matlab_earliest.mat": {"class 0", "class 1", "index 0"},
		"targets_matlab_latest.mat":   {"class 0", "class 1", "index 1", "index 3", "index 4", "index 5"},
	} {
		b, err := os.ReadFile(filepath.Join(hdf5Dir, fname))
		if err != nil {
			t.Fatal(err)
		}
		have := map[string]bool{}
		for name := range loadTargetsExpected(t)[fname] {
			h, ds := h5rootDataset(t, b, name)
			if ds.class == 2 {
				have[fmt.Sprintf("index %d", ds.index)] = true
			} else {
				have[fmt.Sprintf("class %d", ds.class)] = true
			}
			if name != "deep" {
				continue
			}
			h.work = 0
			if _, err := h.readTargets(ds, []int{777}, true); err != nil {
				t.Fatal(err)
			}
			walked := h.work
			h.work = 0
			if _, err := h.readDataset(ds, nil); err != nil {
				t.Fatal(err)
			}
			if walked*10 > h.work {
				t.Errorf("%s: %d nodes and chunks walked for one target, %d for all", fname, walked, h.work)
			}
		}
		for _, w := range want {
			if !have[w] {
				t.Errorf("%s: no dataset of %s (%v)", fname, w, have)
			}
		}
	}
}

// h5testReversed is ds with its axes reversed, as a MATLAB file stores the same array (the
// chunks' bytes shared: for tests of the chunk index, not of the values).
func h5testReversed(ds *h5dset) *h5dset {
	r := *ds
	r.dims, r.chunk = slices.Clone(ds.dims), slices.Clone(ds.chunk)
	slices.Reverse(r.dims)
	slices.Reverse(r.chunk)
	return &r
}

// A 3% mask of an NSD-like session (150 trials of a 32 x 40 x 40 int16 volume, one voxel a
// chunk, a B-tree of 64-entry nodes as h5py's), as h5py stores it and as a MATLAB file does (its
// axes reversed): the bytes allocated are about the masked values' alone (not the whole
// session's), and for a region (a ball) only the part of the index that lists it is walked.
func TestReadTargetsMemory(t *testing.T) {
	dims := []int{150, 32, 40, 40}
	h, implicit := h5testVoxels(dims)
	rowsFirst := h5testBtree(t, h, implicit, 64)
	matlab := h5testBtree(t, h, h5testReversed(implicit), 64)
	rng := rand.New(rand.NewPCG(8, 8))
	var random []int
	for c := range 32 * 40 * 40 {
		if rng.Float64() < 0.03 {
			random = append(random, c)
		}
	}
	ball := h5testBall(dims[1:], 7.5) // 1,791 voxels: 3.5%
	for _, l := range []struct {
		name     string
		ds       *h5dset
		rowsLast bool
	}{{"h5py", rowsFirst, false}, {"matlab", matlab, true}} {
		for mname, cols := range map[string][]int{"random": random, "ball": ball} {
			label := l.name + ", " + mname
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			h.work = 0
			v, err := h.readTargets(l.ds, cols, l.rowsLast)
			runtime.ReadMemStats(&after)
			if err != nil {
				t.Fatal(err)
			}
			walked := h.work
			values := 4 * dims[0] * len(cols)
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > uint64(2*values+256<<10) { // whole: 20 times the values
				t.Errorf("%s: %d bytes allocated for %d bytes of values (the whole session's: %d)", label, alloc, values, 4*l.ds.n)
			}
			want, err := h5testWholeTargets(t, h, l.ds, cols, l.rowsLast)
			if err != nil {
				t.Fatal(err)
			}
			h5testSame(t, label, v, want)
			if h.work = 0; mname == "ball" {
				if _, err := h.readDataset(l.ds, nil); err != nil {
					t.Fatal(err)
				}
				if walked*4 > h.work {
					t.Errorf("%s: %d nodes and chunks walked, %d for the whole session", label, walked, h.work)
				}
			}
		}
	}
}
