package array

import (
	"cmp"
	"fmt"
	"slices"
)

// Reading some targets of a dataset only (File.ReadTargets): a brain mask keeps 2-3% of a
// volume's voxels, and NSD's sessions are chunked by voxel (all the trials of one voxel in a
// chunk), so that decoding the chunks that hold a masked voxel, and converting only the masked
// values, costs a few percent of reading the whole dataset. Their chunk index (a B-tree of 40 MB
// over 700,000 chunks) is read where it lists those chunks only: a region's voxels are listed
// together, in a few of its nodes.

// h5targets are the targets (columns) wanted of a dataset of rows x the other axes, grouped by
// the chunks that hold them: the cells of the grid of chunks over the other axes (a chunk's
// position but for its rows'), and within each, runs of targets next to one another in the chunk
// and in the output. The rows are the dataset's first axis, or its last in a MATLAB file (rowsLast:
// MATLAB's n x m array is an m x n dataset, each target's n values one after another).
type h5targets struct {
	k        int // the targets wanted: the output's columns
	rowsLast bool
	grid     []uint64 // chunks along each axis of the dataset
	cells    uint64   // cells of the grid of chunks over the axes but the rows'
	keys     []uint64 // the cells that hold a wanted target (C order), ascending
	starts   []int    // keys[i]'s runs are runs[starts[i]:starts[i+1]]
	runs     []h5run
}

// h5run is n wanted targets at output columns j, j+1, ..., at offsets off, off+1, ... in a
// chunk's slab of one row (C order over the chunk's axes but the rows').
type h5run struct{ j, off, n int }

// shapeRead is ds's shape as Read gives it: a MATLAB file's (rowsLast) reversed.
func (ds *h5dset) shapeRead(rowsLast bool) []int {
	s := slices.Clone(ds.dims)
	if rowsLast {
		slices.Reverse(s)
	}
	return s
}

// rowAxis is the axis of ds's rows: its first, or with rowsLast its last.
func (ds *h5dset) rowAxis(rowsLast bool) int {
	if rowsLast {
		return len(ds.dims) - 1
	}
	return 0
}

// checkTargets refuses targets beyond the dataset's.
func (ds *h5dset) checkTargets(cols []int, rowsLast bool) error {
	total := ds.n / ds.dims[ds.rowAxis(rowsLast)]
	for _, c := range cols {
		if c < 0 || c >= total {
			return fmt.Errorf("target %d out of range: %s has %d targets", c, ShapeString(ds.shapeRead(rowsLast)), total)
		}
	}
	return nil
}

// targetCell writes into idx where target c lies along each axis of ds but the rows' (in the
// dataset's order), and returns its cell: its C-order index over those axes. c is a C-order index
// over the axes after the first, as Read gives them (shapeRead), which with rowsLast are the
// dataset's axes before the last reversed: a Fortran-order index over those (the first fastest).
func (ds *h5dset) targetCell(c int, rowsLast bool, idx []int) int {
	tdims := ds.dims[1:]
	if rowsLast {
		tdims = ds.dims[:len(ds.dims)-1]
		for i := range tdims {
			idx[i] = c % tdims[i]
			c /= tdims[i]
		}
	} else {
		for i := len(tdims) - 1; i >= 0; i-- {
			idx[i] = c % tdims[i]
			c /= tdims[i]
		}
	}
	cell := 0
	for i := range tdims {
		cell = cell*tdims[i] + idx[i]
	}
	return cell
}

// newH5targets groups cols (see targetCell) by chunk.
func newH5targets(ds *h5dset, cols []int, rowsLast bool) (*h5targets, error) {
	if err := ds.checkTargets(cols, rowsLast); err != nil {
		return nil, err
	}
	rank := len(ds.dims)
	tdims, tch := ds.dims[1:], ds.chunk[1:]
	if rowsLast {
		tdims, tch = ds.dims[:rank-1], ds.chunk[:rank-1]
	}
	t := &h5targets{k: len(cols), rowsLast: rowsLast, grid: make([]uint64, rank), cells: 1}
	for i := range rank {
		t.grid[i] = uint64((ds.dims[i] + ds.chunk[i] - 1) / ds.chunk[i])
	}
	for i := range tdims {
		t.cells *= uint64((tdims[i] + tch[i] - 1) / tch[i])
	}
	type want struct {
		key    uint64
		off, j int
	}
	ws := make([]want, len(cols))
	idx := make([]int, len(tdims))
	for j, c := range cols {
		ds.targetCell(c, rowsLast, idx)
		w := want{j: j}
		for i := range tdims {
			w.key = w.key*uint64((tdims[i]+tch[i]-1)/tch[i]) + uint64(idx[i]/tch[i])
			w.off = w.off*tch[i] + idx[i]%tch[i]
		}
		ws[j] = w
	}
	slices.SortFunc(ws, func(a, b want) int {
		return cmp.Or(cmp.Compare(a.key, b.key), cmp.Compare(a.off, b.off), cmp.Compare(a.j, b.j))
	})
	for i, w := range ws {
		if i == 0 || w.key != ws[i-1].key {
			t.keys = append(t.keys, w.key)
			t.starts = append(t.starts, len(t.runs))
		} else if r := &t.runs[len(t.runs)-1]; r.off+r.n == w.off && r.j+r.n == w.j {
			r.n++
			continue
		}
		t.runs = append(t.runs, h5run{j: w.j, off: w.off, n: 1})
	}
	t.starts = append(t.starts, len(t.runs))
	return t, nil
}

// rowChunks is the number of chunks along the rows' axis.
func (t *h5targets) rowChunks() uint64 {
	if t.rowsLast {
		return t.grid[len(t.grid)-1]
	}
	return t.grid[0]
}

// cellOf is the cell of a chunk at C-order index k of the grid of chunks.
func (t *h5targets) cellOf(k uint64) uint64 {
	if t.rowsLast {
		return k / t.rowChunks()
	}
	return k % t.cells
}

// group is the index in keys of the chunk at grid position scaled, if it holds a wanted target.
func (t *h5targets) group(scaled []uint64) (int, bool) {
	return slices.BinarySearch(t.keys, t.cellOf(linear(t.grid, scaled)))
}

// anyKey reports whether a cell in [a, b) holds a wanted target.
func (t *h5targets) anyKey(a, b uint64) bool {
	i, _ := slices.BinarySearch(t.keys, a)
	return i < len(t.keys) && t.keys[i] < b
}

// within reports whether a chunk at C-order index [lo, hi) of the grid holds a wanted target.
func (t *h5targets) within(lo, hi uint64) bool {
	hi = min(hi, t.cells*t.rowChunks())
	if lo >= hi {
		return false
	}
	if t.rowsLast { // chunk k is cell k / rowChunks
		return t.anyKey(lo/t.rowChunks(), (hi-1)/t.rowChunks()+1)
	}
	if hi-lo >= t.cells { // chunk k is cell k % cells: every cell
		return len(t.keys) > 0
	}
	a, b := lo%t.cells, lo%t.cells+(hi-lo)
	if b <= t.cells {
		return t.anyKey(a, b)
	}
	return t.anyKey(a, t.cells) || t.anyKey(0, b-t.cells)
}

// each calls fn with the C-order index in the grid of every chunk that holds a wanted target,
// ascending.
func (t *h5targets) each(fn func(k uint64) error) error {
	rows := t.rowChunks()
	if t.rowsLast {
		for _, c := range t.keys {
			for r := range rows {
				if err := fn(c*rows + r); err != nil {
					return err
				}
			}
		}
		return nil
	}
	for r := range rows {
		for _, c := range t.keys {
			if err := fn(r*t.cells + c); err != nil {
				return err
			}
		}
	}
	return nil
}

// place converts the wanted targets of a decoded chunk (at chunk position pos) into v, the
// output of rows x k.
func (t *h5targets) place(ds *h5dset, v *h5values, g int, pos []int, data []byte) {
	ra := ds.rowAxis(t.rowsLast)
	r0 := pos[ra] * ds.chunk[ra]
	rows := min(ds.chunk[ra], ds.dims[ra]-r0)
	es := ds.t.size
	if t.rowsLast { // a target's rows are one after another in the chunk: transposed
		depth := ds.chunk[ra] * es
		for _, r := range t.runs[t.starts[g]:t.starts[g+1]] {
			for m := range r.n {
				src := (r.off + m) * depth
				v.put(r0*t.k+r.j+m, t.k, data[src:src+rows*es])
			}
		}
		return
	}
	slab := len(data) / ds.chunk[0] / es // a row's elements in the chunk
	for _, r := range t.runs[t.starts[g]:t.starts[g+1]] {
		if slab == 1 { // one target a chunk (NSD's): its rows are contiguous
			v.put(r0*t.k+r.j, t.k, data[:rows*es])
			continue
		}
		for i := range rows {
			src := (i*slab + r.off) * es
			v.put((r0+i)*t.k+r.j, 1, data[src:src+r.n*es])
		}
	}
}

// gatherTargets converts the wanted targets of data stored whole in C order (contiguous or
// compact) into v: runs of consecutive targets at a time, or with rowsLast (a MATLAB file's)
// each target's rows, one after another in raw.
func gatherTargets(v *h5values, ds *h5dset, raw []byte, cols []int, rowsLast bool) {
	es, k := v.t.size, len(cols)
	if rowsLast {
		rows := ds.dims[len(ds.dims)-1]
		idx := make([]int, len(ds.dims)-1)
		for j, c := range cols {
			src := ds.targetCell(c, true, idx) * rows * es
			v.put(j, k, raw[src:src+rows*es])
		}
		return
	}
	rows := ds.dims[0]
	total := len(raw) / es / rows
	type run struct{ j, c, n int }
	var runs []run
	for j, c := range cols {
		if n := len(runs); n > 0 && runs[n-1].c+runs[n-1].n == c && runs[n-1].j+runs[n-1].n == j {
			runs[n-1].n++
			continue
		}
		runs = append(runs, run{j, c, 1})
	}
	for i := range rows {
		for _, r := range runs {
			src := (i*total + r.c) * es
			v.put(i*k+r.j, 1, raw[src:src+r.n*es])
		}
	}
}

// readTargets reads the targets cols (see targetCell) of a dataset of at least two axes and some
// data: rows x len(cols) values, the same as the whole dataset's read would hold there (a MATLAB
// file's, rowsLast, read as MATLAB's array). Chunked data have only the chunks that hold a wanted
// target decoded, and their index only walked where it lists them (h5file.chunks); contiguous
// data only the wanted values' bytes read. Every chunk listed in the parts of the index walked is
// checked as a whole read checks it, but for the contents of those holding no wanted target.
func (h *h5file) readTargets(ds *h5dset, cols []int, rowsLast bool) (*h5values, error) {
	if err := ds.checkTargets(cols, rowsLast); err != nil {
		return nil, err
	}
	rows := ds.dims[ds.rowAxis(rowsLast)]
	var raw []byte
	var err error
	switch ds.class {
	case 0:
		if len(ds.compact) < ds.nbytes {
			return nil, fmt.Errorf("corrupt: compact data of %d bytes for %s %s (%d bytes)", len(ds.compact), ShapeString(ds.dims), ds.t.name, ds.nbytes)
		}
		raw = ds.compact[:ds.nbytes]
	case 1:
		switch {
		case h.undef(ds.addr): // never written
			if err := ds.checkSize(len(h.buf), true); err != nil {
				return nil, err
			}
			v := newH5values(ds.t, rows*len(cols))
			v.fill(ds.fill)
			return v, nil
		case ds.csize < uint64(ds.nbytes):
			return nil, fmt.Errorf("corrupt: contiguous data of %d bytes for %s %s (%d bytes)", ds.csize, ShapeString(ds.dims), ds.t.name, ds.nbytes)
		}
		if raw, err = h.at(ds.addr, uint64(ds.nbytes)); err != nil { // mapped: only the pages read are
			return nil, err
		}
	default:
		if err := ds.checkSize(len(h.buf), h.undef(ds.addr) && ds.index != 2); err != nil {
			return nil, err
		}
		sel, err := newH5targets(ds, cols, rowsLast)
		if err != nil {
			return nil, err
		}
		v := newH5values(ds.t, rows*len(cols))
		v.fill(ds.fill) // chunks never written
		pick := &h5pick{sel: sel, place: func(c h5chunkJob, pos []int, data []byte) {
			sel.place(ds, v, c.group, pos, data)
		}}
		if err := h.decodeChunks(ds, v, pick); err != nil {
			return nil, err
		}
		return v, nil
	}
	v := newH5values(ds.t, rows*len(cols))
	gatherTargets(v, ds, raw, cols, rowsLast)
	return v, nil
}

// ReadTargets reads the targets cols of the array named name (as Read names it): the columns of
// its matrix (Array.Matrix: rows first, the other axes flattened in C order), as a rows x
// len(cols) array in C order, of the precision and dtype Read gives. cols may come in any order.
// Of an HDF5 dataset (a MATLAB v7.3 file's too, its axes reversed: the targets of MATLAB's n x a x b
// array are a C-order index over (a, b), as Read and Matrix give them) only the chunks that hold
// one of the targets are decoded, and only those targets' values converted: a brain mask's voxels
// of a session of NSD, chunked by voxel, cost a few percent of the whole session's time and memory.
// Damage the whole read would report is reported alike, but for chunks holding no wanted target,
// whose contents are not read, and for the parts of the chunk index that list none of them,
// which are not walked (h5file.chunks says which). Other arrays are read whole, and the columns
// copied.
func (f *File) ReadTargets(name string, cols []int) (*Array, error) {
	e := f.byName[name]
	if e == nil || e.targets == nil || e.Err != nil {
		return f.readTargetsWhole(name, cols)
	}
	f.mu.RLock()
	defer f.mu.RUnlock()
	if f.closed {
		return nil, fmt.Errorf("%s: read after Close", e.label)
	}
	a, err := e.targets(f, e, cols)
	if err != nil {
		return nil, err
	}
	a.Name = e.Name
	return a, nil
}

// readTargetsWhole is ReadTargets by reading the whole array.
func (f *File) readTargetsWhole(name string, cols []int) (*Array, error) {
	a, err := f.Read(name)
	if err != nil {
		return nil, err
	}
	defer a.Close()
	m, err := a.Matrix()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.path, err) // the array's name alone would not say which file
	}
	for _, c := range cols {
		if c < 0 || c >= m.Cols {
			return nil, fmt.Errorf("%s: target %d out of range: %s has %d targets", a.Name, c, ShapeString(a.Shape), m.Cols)
		}
	}
	out := &Array{Name: a.Name, Shape: []int{m.Rows, len(cols)}, DType: a.DType}
	at := func(i, c int) int { // where element (i, c) of the matrix is
		if m.ColMajor {
			return c*m.Rows + i
		}
		return i*m.Cols + c
	}
	// rows of about blockValues values a block, on every core
	per := max(1, blockValues/max(1, len(cols)))
	blocks := (m.Rows + per - 1) / per
	if m.F32 != nil {
		out.F32 = make([]float32, m.Rows*len(cols))
		eachBlock(blocks, func(b int) {
			for i := b * per; i < min(m.Rows, (b+1)*per); i++ {
				for j, c := range cols {
					out.F32[i*len(cols)+j] = m.F32[at(i, c)]
				}
			}
		})
	} else {
		out.F64 = make([]float64, m.Rows*len(cols))
		eachBlock(blocks, func(b int) {
			for i := b * per; i < min(m.Rows, (b+1)*per); i++ {
				for j, c := range cols {
					out.F64[i*len(cols)+j] = m.F64[at(i, c)]
				}
			}
		})
	}
	return out, nil
}
