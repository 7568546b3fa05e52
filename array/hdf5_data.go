package array

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
)

// h5dset is what a dataset's header says: its shape, type, layout, filters and fill value.
type h5dset struct {
	name    string
	dims    []int
	maxdims []uint64 // nil: the dims
	n       int
	nbytes  int
	t       dtype

	class    int // 0 compact, 1 contiguous, 2 chunked
	compact  []byte
	addr     uint64
	csize    uint64 // contiguous: the size stored (0: not said)
	chunk    []int  // chunk dims (rank), without the element size
	index    int    // 0 version-1 B-tree; libver 'latest': 1 single, 2 implicit, 3 fixed array, 4 extensible array, 5 version-2 B-tree
	noEdge   bool   // partial edge chunks are not filtered
	single   struct{ size, mask uint64 }
	filtered bool
	filters  []h5filter
	fill     []byte
}

type h5filter struct {
	id   int
	name string
	cd   []uint32
}

// h5filterNames names the filters h5py and the HDF5 plugins register.
var h5filterNames = map[int]string{
	1: "deflate", 2: "shuffle", 3: "fletcher32", 4: "szip", 5: "nbit", 6: "scaleoffset",
	307: "bzip2", 32000: "lzf", 32001: "blosc", 32004: "lz4", 32008: "bitshuffle", 32013: "zfp",
	32015: "zstd", 32017: "sz", 32026: "blosc2",
}

// convertHint is how an unsupported dataset can be converted (repack: h5repack can too).
func convertHint(name string, repack bool) string {
	hint := fmt.Sprintf("convert it with h5py: np.save('x.npy', f[%q][...])", name)
	if repack {
		hint += ", or with h5repack -f NONE"
	}
	return hint
}

// datasetEntry reads a dataset's header into e; an error is e's Err.
func (h *h5file) datasetEntry(e *Entry, msgs []h5msg) error {
	ds, err := h.dataset(e.Name, msgs)
	if err != nil {
		var t unsupportedDType // not numbers: skipped where arrays are looked for (sweep's layers)
		var u unsupported      // numbers, stored in a way not read here: an error when read
		switch {
		case errors.As(err, &t):
			return unsupportedDType(fmt.Sprintf("%s: %s; %s", e.label, t, convertHint(e.Name, false)))
		case errors.As(err, &u):
			return fmt.Errorf("%s: %s; %s", e.label, u, convertHint(e.Name, true))
		}
		return fmt.Errorf("%s: %v", e.label, err)
	}
	e.Shape, e.DType = slices.Clone(ds.dims), ds.t.name
	if h.matlab {
		if done, err := h.matlabEntry(e, ds, msgs); done || err != nil {
			return err
		}
	}
	if h.matlab && len(ds.dims) >= 2 {
		slices.Reverse(e.Shape)
		e.Fortran = true
	}
	e.read = func(f *File, e *Entry) (*Array, error) {
		hc := *h // a copy per read: its own work count (reads may run at once)
		hc.buf = f.buf
		hc.work = 0
		hc.headers = nil
		a, err := hc.readDataset(ds, f.m)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", e.label, err)
		}
		a.Shape, a.Fortran = slices.Clone(e.Shape), e.Fortran
		return a, nil
	}
	if len(ds.dims) >= 2 && ds.n > 0 {
		rowsLast := h.matlab // MATLAB's rows are the dataset's last axis
		e.targets = func(f *File, e *Entry, cols []int) (*Array, error) {
			hc := *h
			hc.buf = f.buf
			hc.work = 0
			hc.headers = nil
			v, err := hc.readTargets(ds, cols, rowsLast)
			if err != nil {
				return nil, fmt.Errorf("%s: %v", e.label, err)
			}
			a := v.array()
			a.Shape = []int{ds.dims[ds.rowAxis(rowsLast)], len(cols)}
			return a, nil
		}
	}
	return nil
}

// h5matlabNumeric maps the MATLAB_class of MATLAB's numeric arrays to their dtype; a logical
// array (a mask) is its 0s and 1s, stored as uint8, as NumPy's bool arrays are read.
var h5matlabNumeric = map[string]string{
	"double": "float64", "single": "float32", "int8": "int8", "uint8": "uint8", "int16": "int16",
	"uint16": "uint16", "int32": "int32", "uint32": "uint32", "int64": "int64", "uint64": "uint64",
	"logical": "uint8",
}

// matlabEntry applies a .mat file's attributes to a dataset's entry: MATLAB_class names what the
// numbers are (char and other classes are not numeric data: refused; logical is 0/1), and MATLAB_empty
// marks an empty array, whose dataset holds its dimensions (MATLAB's zeros(0, 3) is [0 3]): it
// reads as an empty array of those dimensions. done reports that e is complete.
func (h *h5file) matlabEntry(e *Entry, ds *h5dset, msgs []h5msg) (done bool, err error) {
	class, ok, err := h5stringAttr(msgs, "MATLAB_class")
	if err != nil {
		return true, fmt.Errorf("%s: MATLAB_class attribute: %v", e.label, err)
	}
	if !ok {
		return false, nil // not written by MATLAB's rules: read as HDF5
	}
	dt, numeric := h5matlabNumeric[class]
	if !numeric {
		return true, unsupportedDType(fmt.Sprintf("%s: a MATLAB %s array (MATLAB_class %q), not numeric data; save it as double in MATLAB, or %s",
			e.label, class, class, convertHint(e.Name, false)))
	}
	empty, ok, err := h5intAttr(msgs, "MATLAB_empty")
	if err != nil {
		return true, fmt.Errorf("%s: MATLAB_empty attribute: %v", e.label, err)
	}
	if !ok || empty == 0 {
		return false, nil
	}
	// An empty array: the dataset holds its dimensions, MATLAB's order, as integers.
	if ds.t.kind == 'f' || len(ds.dims) != 1 || ds.n < 2 || ds.n > 32 || ds.class == 2 {
		return true, fmt.Errorf("%s: corrupt: a MATLAB empty array whose dimensions are %s %s", e.label, ShapeString(ds.dims), ds.t.name)
	}
	hc := *h
	hc.headers = nil
	a, err := hc.readDataset(ds, nil)
	if err != nil {
		return true, fmt.Errorf("%s: %v", e.label, err)
	}
	vals := a.F64
	if vals == nil {
		for _, v := range a.F32 {
			vals = append(vals, float64(v))
		}
	}
	shape := make([]int, len(vals))
	zero := false
	for i, v := range vals {
		if v < 0 || v > 1<<40 {
			return true, fmt.Errorf("%s: corrupt: a MATLAB empty array of dimensions %v", e.label, vals)
		}
		shape[i], zero = int(v), zero || v == 0
	}
	if !zero {
		return true, fmt.Errorf("%s: corrupt: a MATLAB empty array of dimensions %v, none 0", e.label, vals)
	}
	e.Shape, e.DType, e.Fortran = shape, dt, true
	e.read = func(f *File, e *Entry) (*Array, error) {
		a := &Array{DType: dt, Shape: slices.Clone(e.Shape), Fortran: true}
		if dt == "float32" || dt == "int8" || dt == "uint8" || dt == "int16" || dt == "uint16" {
			a.F32 = []float32{}
		} else {
			a.F64 = []float64{}
		}
		return a, nil
	}
	return true, nil
}

// h5attr finds the attribute named name in an object header's attribute messages (not those in
// dense attribute storage): its datatype message and its data.
func h5attr(msgs []h5msg, name string) (dt, data []byte, ok bool, err error) {
	for _, m := range msgs {
		if m.typ != h5Attribute {
			continue
		}
		d := &h5dec{b: m.data}
		ver := d.u8()
		d.u8() // reserved; flags in version 3
		nn, tn, sn := int(d.u16()), int(d.u16()), int(d.u16())
		if ver == 3 {
			d.u8() // name encoding
		}
		pad := func(n int) int { return n }
		switch ver {
		case 1:
			pad = func(n int) int { return (n + 7) &^ 7 }
		case 2, 3:
		default:
			return nil, nil, false, fmt.Errorf("attribute message version %d, which is not supported", ver)
		}
		nb := d.bytes(pad(nn))
		if d.bad || nn < 1 || nn > len(nb) {
			return nil, nil, false, fmt.Errorf("attribute message: %w", errH5Short)
		}
		if string(bytes.TrimRight(nb[:nn], "\x00")) != name {
			continue
		}
		dt = d.bytes(pad(tn))
		d.skip(pad(sn))
		if d.bad || tn > len(dt) {
			return nil, nil, false, fmt.Errorf("attribute %q: %w", name, errH5Short)
		}
		return dt[:tn], m.data[d.p:], true, nil
	}
	return nil, nil, false, nil
}

// h5stringAttr returns a fixed-length string attribute's value (as MATLAB writes MATLAB_class),
// its padding removed; other types are an error.
func h5stringAttr(msgs []h5msg, name string) (string, bool, error) {
	dt, data, ok, err := h5attr(msgs, name)
	if !ok || err != nil {
		return "", ok, err
	}
	d := &h5dec{b: dt}
	class := d.u8() & 0x0f
	d.skip(3)
	size := int(d.u32())
	if d.bad || class != 3 {
		return "", true, fmt.Errorf("not a fixed-length string (datatype class %d), which is not read", class)
	}
	if size > len(data) {
		return "", true, fmt.Errorf("attribute %q: %w", name, errH5Short)
	}
	return string(bytes.TrimRight(data[:size], "\x00 ")), true, nil
}

// h5intAttr returns an integer attribute's value (its first element).
func h5intAttr(msgs []h5msg, name string) (uint64, bool, error) {
	dt, data, ok, err := h5attr(msgs, name)
	if !ok || err != nil {
		return 0, ok, err
	}
	t, err := h5datatype(dt)
	if err != nil || t.kind == 'f' {
		return 0, true, fmt.Errorf("not an integer, which is not read")
	}
	if t.size > len(data) {
		return 0, true, fmt.Errorf("attribute %q: %w", name, errH5Short)
	}
	v := uint64(0)
	for i := range t.size {
		j := i
		if !t.big {
			j = t.size - 1 - i
		}
		v = v<<8 | uint64(data[j])
	}
	return v, true, nil
}

// unsupported is an error of a feature not read here.
type unsupported string

func (u unsupported) Error() string { return string(u) }

// dataset decodes a dataset's messages.
func (h *h5file) dataset(name string, msgs []h5msg) (*h5dset, error) {
	ds := &h5dset{name: name}
	for _, typ := range []uint16{h5Dataspace, h5Datatype, h5Layout} {
		m := findMsg(msgs, typ)
		if m == nil {
			return nil, fmt.Errorf("corrupt: dataset header without a %s message", map[uint16]string{
				h5Dataspace: "dataspace", h5Datatype: "datatype", h5Layout: "data layout"}[typ])
		}
		if m.flags&0x02 != 0 {
			return nil, unsupported("a shared (committed) datatype or dataspace, which is not supported")
		}
	}
	if err := h.dataspace(ds, findMsg(msgs, h5Dataspace).data); err != nil {
		return nil, err
	}
	t, err := h5datatype(findMsg(msgs, h5Datatype).data)
	if err != nil {
		return nil, err
	}
	ds.t = t
	n, nbytes, err := dataBytes(ds.dims, t.size)
	if err != nil {
		return nil, err
	}
	ds.n, ds.nbytes = n, nbytes
	if findMsg(msgs, h5External) != nil {
		return nil, unsupported("data stored in external files, which is not supported")
	}
	if m := findMsg(msgs, h5Filters); m != nil {
		if ds.filters, err = h5pipeline(m.data); err != nil {
			return nil, err
		}
	}
	if err := h.layout(ds, findMsg(msgs, h5Layout).data); err != nil {
		return nil, err
	}
	if len(ds.filters) > 0 && ds.class != 2 {
		return nil, errors.New("corrupt: filters on a dataset that is not chunked")
	}
	ds.fill = h5fill(msgs, t.size)
	return ds, nil
}

func (h *h5file) dataspace(ds *h5dset, b []byte) error {
	d := &h5dec{b: b}
	ver := d.u8()
	rank := int(d.u8())
	flags := d.u8()
	switch ver {
	case 1:
		d.skip(5)
	case 2:
		if typ := d.u8(); typ == 2 {
			return unsupportedDType("a null dataspace (no data, as h5py.Empty)")
		}
	default:
		return fmt.Errorf("corrupt: dataspace message version %d", ver)
	}
	if rank > 32 {
		return fmt.Errorf("corrupt: dataspace of rank %d", rank)
	}
	ds.dims = make([]int, rank)
	for i := range rank {
		v := h.length(d)
		if v > maxDim {
			return fmt.Errorf("dimension %d too large (%d)", i, v)
		}
		ds.dims[i] = int(v)
	}
	if flags&1 != 0 {
		ds.maxdims = make([]uint64, rank)
		for i := range rank {
			ds.maxdims[i] = h.length(d)
		}
	}
	return d.err("dataspace message")
}

// h5datatype maps an HDF5 datatype to a dtype, refusing what is not a number.
func h5datatype(b []byte) (dtype, error) {
	d := &h5dec{b: b}
	b0 := d.u8()
	bf := d.bytes(3)
	size := int(d.u32())
	if d.bad {
		return dtype{}, fmt.Errorf("datatype message: %w", errH5Short)
	}
	class := b0 & 0x0f
	switch class {
	case 0: // fixed-point
		off, prec := d.u16(), d.u16()
		if d.bad || off != 0 || int(prec) != 8*size || size != 1 && size != 2 && size != 4 && size != 8 {
			return dtype{}, unsupportedDType(fmt.Sprintf("unsupported integer type (%d bytes, %d bits at bit %d)", size, prec, off))
		}
		kind := byte('u')
		if bf[0]&0x08 != 0 {
			kind = 'i'
		}
		name := fmt.Sprintf("%cint%d", kind, 8*size)
		if kind == 'i' {
			name = name[1:]
		}
		return dtype{name: name, kind: kind, size: size, big: bf[0]&1 != 0 && size > 1}, nil
	case 1: // floating point
		off, prec := d.u16(), d.u16()
		epos, esize, mpos, msize := d.u8(), d.u8(), d.u8(), d.u8()
		bias := d.u32()
		want := map[int][5]uint64{2: {10, 5, 0, 10, 15}, 4: {23, 8, 0, 23, 127}, 8: {52, 11, 0, 52, 1023}}
		w, ok := want[size]
		if d.bad || !ok || off != 0 || int(prec) != 8*size || [5]uint64{epos, esize, mpos, msize, bias} != w || bf[0]&0x40 != 0 {
			return dtype{}, unsupportedDType(fmt.Sprintf("unsupported floating-point type (%d bytes; only IEEE float16, float32 and float64 are read)", size))
		}
		return dtype{name: fmt.Sprintf("float%d", 8*size), kind: 'f', size: size, big: bf[0]&1 != 0}, nil
	case 3:
		return dtype{}, unsupportedDType("a string dataset, not numbers")
	case 9:
		if bf[0]&0x0f == 1 {
			return dtype{}, unsupportedDType("a string dataset (variable-length), not numbers")
		}
		return dtype{}, unsupportedDType("a variable-length (vlen) dataset, not an array of numbers")
	}
	what := map[uint64]string{2: "time", 4: "bitfield", 5: "opaque", 6: "compound (record)", 7: "reference",
		8: "enum (h5py writes bools as an enum)", 10: "array"}[class]
	if what == "" {
		what = fmt.Sprintf("class %d", class)
	}
	return dtype{}, unsupportedDType(fmt.Sprintf("a dataset of %s type, not plain numbers", what))
}

func h5pipeline(b []byte) ([]h5filter, error) {
	d := &h5dec{b: b}
	ver := d.u8()
	n := int(d.u8())
	if ver == 1 {
		d.skip(6)
	} else if ver != 2 {
		return nil, fmt.Errorf("corrupt: filter pipeline message version %d", ver)
	}
	var fs []h5filter
	for range n {
		var f h5filter
		f.id = int(d.u16())
		nameLen := 0
		if ver == 1 || f.id >= 256 {
			nameLen = int(d.u16())
		}
		d.u16() // flags
		ncd := int(d.u16())
		name := d.bytes(nameLen)
		if i := bytes.IndexByte(name, 0); i >= 0 {
			name = name[:i]
		}
		f.name = string(name)
		for range ncd {
			f.cd = append(f.cd, uint32(d.u32()))
		}
		if ver == 1 && ncd%2 == 1 {
			d.skip(4)
		}
		if d.bad {
			return nil, fmt.Errorf("filter pipeline message: %w", errH5Short)
		}
		switch f.id {
		case 1, 2, 3:
		default:
			what := h5filterNames[f.id]
			if what == "" {
				what = f.name
			}
			if what == "" {
				what = "unknown"
			}
			return nil, unsupported(fmt.Sprintf("compressed with the %s filter (id %d), which is not read (deflate/gzip, shuffle and fletcher32 are)", what, f.id))
		}
		fs = append(fs, f)
	}
	return fs, nil
}

// h5fill returns the fill value's bytes, or nil for zeros.
func h5fill(msgs []h5msg, size int) []byte {
	var v []byte
	if m := findMsg(msgs, h5Fill); m != nil && m.flags&0x02 == 0 {
		d := &h5dec{b: m.data}
		switch d.u8() {
		case 1:
			d.skip(3)
			v = d.bytes(int(d.u32()))
		case 2:
			d.skip(2)
			if d.u8() != 0 {
				v = d.bytes(int(d.u32()))
			}
		case 3:
			if d.u8()&0x20 != 0 {
				v = d.bytes(int(d.u32()))
			}
		}
	} else if m := findMsg(msgs, h5FillOld); m != nil && m.flags&0x02 == 0 {
		d := &h5dec{b: m.data}
		v = d.bytes(int(d.u32()))
	}
	if len(v) != size || bytes.Count(v, []byte{0}) == size {
		return nil
	}
	return v
}

func (h *h5file) layout(ds *h5dset, b []byte) error {
	d := &h5dec{b: b}
	ver := d.u8()
	if ver < 3 || ver > 4 {
		if ver == 1 || ver == 2 {
			return unsupported(fmt.Sprintf("data layout message version %d (HDF5 before 1.6), which is not read", ver))
		}
		return fmt.Errorf("corrupt: data layout message version %d", ver)
	}
	ds.class = int(d.u8())
	rank := len(ds.dims)
	switch ds.class {
	case 0:
		n := int(d.u16())
		ds.compact = d.bytes(n)
		return d.err("data layout message")
	case 1:
		ds.addr, ds.csize = h.addr(d), h.length(d)
		return d.err("data layout message")
	case 2:
	case 3:
		return unsupported("a virtual dataset (its data are in other datasets), which is not read")
	default:
		return fmt.Errorf("corrupt: data layout class %d", ds.class)
	}
	if rank == 0 {
		return errors.New("corrupt: a chunked scalar")
	}
	var cd []uint64
	if ver == 3 {
		nd := int(d.u8())
		ds.addr = h.addr(d)
		for range nd {
			cd = append(cd, d.u32())
		}
	} else {
		flags := d.u8()
		ds.noEdge = flags&1 != 0
		nd := int(d.u8())
		enc := int(d.u8())
		if enc < 1 || enc > 8 {
			return fmt.Errorf("corrupt: chunk dimensions of %d bytes", enc)
		}
		for range nd {
			cd = append(cd, d.uint(enc))
		}
		ds.index = int(d.u8())
		switch ds.index {
		case 1:
			if flags&2 != 0 {
				ds.filtered = true
				ds.single.size, ds.single.mask = h.length(d), d.u32()
			}
		case 2:
		case 3:
			d.skip(1)
		case 4:
			d.skip(5)
		case 5:
			d.skip(6)
		default:
			return fmt.Errorf("corrupt: chunk index type %d", ds.index)
		}
		ds.addr = h.addr(d)
	}
	if err := d.err("data layout message"); err != nil {
		return err
	}
	if len(cd) != rank+1 {
		return fmt.Errorf("corrupt: chunks of %d dimensions for a dataset of %d", len(cd)-1, rank)
	}
	if cd[rank] != uint64(ds.t.size) {
		return fmt.Errorf("corrupt: chunks of %d-byte elements for %s data", cd[rank], ds.t.name)
	}
	ds.chunk = make([]int, rank)
	total := uint64(ds.t.size)
	for i := range rank {
		if cd[i] == 0 || cd[i] > 1<<32 {
			return fmt.Errorf("corrupt: chunk dimension %d", cd[i])
		}
		total *= cd[i]
		if total > 1<<32 {
			return fmt.Errorf("corrupt: chunks of more than 4 GiB")
		}
		ds.chunk[i] = int(cd[i])
	}
	return nil
}

// maxInflate bounds the bytes a dataset's chunks may decode to, by the file's size: deflate
// cannot do better than about 1032:1, and chunks never written cost nothing in the file.
func maxInflate(fileSize int) int {
	return maxDeflateRatio*fileSize + 1<<20
}

// readDataset reads a dataset's data as an Array (Shape and Fortran are the caller's).
func (h *h5file) readDataset(ds *h5dset, m *mapping) (*Array, error) {
	var raw []byte // the stored bytes, in the file's map
	switch ds.class {
	case 0:
		if len(ds.compact) < ds.nbytes {
			return nil, fmt.Errorf("corrupt: compact data of %d bytes for %s %s (%d bytes)", len(ds.compact), ShapeString(ds.dims), ds.t.name, ds.nbytes)
		}
		raw = ds.compact[:ds.nbytes] // in the header
	case 1:
		switch {
		case h.undef(ds.addr): // never written
			v, err := ds.filledValues(len(h.buf), true)
			if err != nil {
				return nil, err
			}
			return v.array(), nil
		case ds.csize < uint64(ds.nbytes):
			return nil, fmt.Errorf("corrupt: contiguous data of %d bytes for %s %s (%d bytes)", ds.csize, ShapeString(ds.dims), ds.t.name, ds.nbytes)
		default:
			b, err := h.at(ds.addr, uint64(ds.nbytes))
			if err != nil {
				return nil, err
			}
			raw = b
		}
	default:
		v, err := h.chunked(ds)
		if err != nil {
			return nil, err
		}
		return v.array(), nil
	}
	if ds.t.kind == 'f' {
		a := &Array{DType: ds.t.name}
		if err := fill(a, ds.t, raw, ds.n, m); err != nil { // native float32 and float64 used in place
			return nil, err
		}
		return a, nil
	}
	v := newH5values(ds.t, ds.n)
	v.putBlocks(raw)
	return v.array(), nil
}

// h5maxFill bounds the values of a dataset never written (all its fill value), which a file of
// any size can declare: 2^24 values, 128 MiB as float64; such a dataset holds nothing to score.
const h5maxFill = 1 << 24

// filledValues returns the dataset's values all set to its fill value. A dataset with data stored
// (unwritten false) is at most what the file can hold decompressed; one never written, at most
// h5maxFill values, or what the file could hold.
func (ds *h5dset) filledValues(fileSize int, unwritten bool) (*h5values, error) {
	if err := ds.checkSize(fileSize, unwritten); err != nil {
		return nil, err
	}
	v := newH5values(ds.t, ds.n)
	v.fill(ds.fill)
	return v, nil
}

// checkSize refuses a dataset larger than filledValues reads (see there).
func (ds *h5dset) checkSize(fileSize int, unwritten bool) error {
	if unwritten && ds.n > h5maxFill && ds.nbytes > maxInflate(fileSize) {
		return fmt.Errorf("unsupported: %s %s was never written: %d values, all its fill value, more than the %d read of a dataset with nothing stored (nothing to score: write the data first)",
			ShapeString(ds.dims), ds.t.name, ds.n, h5maxFill)
	}
	if !unwritten && ds.nbytes > maxInflate(fileSize) {
		return fmt.Errorf("corrupt or unsupported: %s %s declares %d bytes, more than a file of %d bytes can hold", ShapeString(ds.dims), ds.t.name, ds.nbytes, fileSize)
	}
	return nil
}

// fill sets every value to the stored value fill (nil: zero, as they are).
func (v *h5values) fill(fill []byte) {
	n := len(v.f32) + len(v.f64)
	if fill == nil || n == 0 {
		return
	}
	v.put(0, 1, fill)
	if v.f32 != nil {
		repeatFirst(v.f32)
	} else {
		repeatFirst(v.f64)
	}
}

// repeatFirst sets every value of s to its first, on every core: each block is filled by doubling
// copies from its start.
func repeatFirst[T float32 | float64](s []T) {
	x := s[0]
	inBlocks(len(s), func(start, end int) {
		b := s[start:end]
		b[0] = x
		for k := 1; k < len(b); k *= 2 {
			copy(b[k:], b[:k])
		}
	})
}

// h5values is a dataset's values as they are decoded: float32 for float16, float32 and 8- and
// 16-bit integers, float64 for the others (exact, but for 64-bit integers above 2^53).
type h5values struct {
	t   dtype
	f32 []float32
	f64 []float64
}

func newH5values(t dtype, n int) *h5values {
	v := &h5values{t: t}
	if t.size <= 2 || t.kind == 'f' && t.size == 4 {
		v.f32 = make([]float32, n)
	} else {
		v.f64 = make([]float64, n)
	}
	return v
}

func (v *h5values) array() *Array {
	return &Array{DType: v.t.name, F32: v.f32, F64: v.f64}
}

// put converts the stored values in src into v: the first at index at, each next stride after.
func (v *h5values) put(at, stride int, src []byte) {
	t, bo := v.t, v.t.order()
	n := len(src) / t.size
	if stride == 1 && t.kind == 'f' && t.size >= 4 && t.native() {
		if t.size == 4 {
			copy(bytesOf(v.f32[at:at+n]), src)
		} else {
			copy(bytesOf(v.f64[at:at+n]), src)
		}
		return
	}
	switch {
	case t.kind == 'f' && t.size == 2:
		tab := halfTable()
		for i := range n {
			v.f32[at+i*stride] = tab[bo.Uint16(src[2*i:])]
		}
	case t.kind == 'f' && t.size == 4:
		for i := range n {
			v.f32[at+i*stride] = math.Float32frombits(bo.Uint32(src[4*i:]))
		}
	case t.kind == 'f':
		for i := range n {
			v.f64[at+i*stride] = math.Float64frombits(bo.Uint64(src[8*i:]))
		}
	case t.size == 1 && t.kind == 'i':
		for i := range n {
			v.f32[at+i*stride] = float32(int8(src[i]))
		}
	case t.size == 1:
		for i := range n {
			v.f32[at+i*stride] = float32(src[i])
		}
	case t.size == 2 && t.kind == 'i':
		for i := range n {
			v.f32[at+i*stride] = float32(int16(bo.Uint16(src[2*i:])))
		}
	case t.size == 2:
		for i := range n {
			v.f32[at+i*stride] = float32(bo.Uint16(src[2*i:]))
		}
	case t.size == 4 && t.kind == 'i':
		for i := range n {
			v.f64[at+i*stride] = float64(int32(bo.Uint32(src[4*i:])))
		}
	case t.size == 4:
		for i := range n {
			v.f64[at+i*stride] = float64(bo.Uint32(src[4*i:]))
		}
	case t.kind == 'i':
		for i := range n {
			v.f64[at+i*stride] = float64(int64(bo.Uint64(src[8*i:])))
		}
	default:
		for i := range n {
			v.f64[at+i*stride] = float64(bo.Uint64(src[8*i:]))
		}
	}
}

// putBlocks converts the whole dataset's stored values in raw into v.
func (v *h5values) putBlocks(raw []byte) {
	es := v.t.size
	inBlocks(len(raw)/es, func(start, end int) { v.put(start, 1, raw[start*es:end*es]) })
}

// touch writes a zero on each page of v's memory (fresh from the system, all zeros), in order and
// on every core. Chunks one value deep along the last axis (NSD's: all the trials of a voxel)
// write values far apart, and the kernel maps pages first touched that way at over twice the
// cost (an NSD session: 10 s of system time instead of 4).
func (v *h5values) touch() {
	const page = 4096
	if v.f32 != nil {
		inBlocks(len(v.f32), func(start, end int) {
			for i := start; i < end; i += page / 4 {
				v.f32[i] = 0
			}
		})
	} else {
		inBlocks(len(v.f64), func(start, end int) {
			for i := start; i < end; i += page / 8 {
				v.f64[i] = 0
			}
		})
	}
}

// putChunk converts the part of a chunk at chunk position pos that lies within the dataset of
// dims into v, a run along the chunk's last axis longer than 1 at a time: the axes after it are 1
// long, so that the run is contiguous in the chunk (and strided in v if it is not dims' last axis:
// NSD's chunks hold all the trials of one voxel).
func (v *h5values) putChunk(dims, cdims, pos []int, chunk []byte) {
	rank := len(dims) // at most 32 (the dataspace's bound)
	inner := rank - 1
	for inner > 0 && cdims[inner] == 1 {
		inner--
	}
	stride := 1
	for _, d := range dims[inner+1:] {
		stride *= d
	}
	var start, ext, idx [32]int // idx runs over the axes before inner
	for i := range rank {
		start[i] = pos[i] * cdims[i]
		ext[i] = min(cdims[i], dims[i]-start[i])
	}
	es := v.t.size
	run := ext[inner] * es
	for {
		src, dst := 0, 0
		for i := range rank {
			src = src*cdims[i] + idx[i]
			dst = dst*dims[i] + start[i] + idx[i]
		}
		v.put(dst, stride, chunk[src*es:src*es+run])
		i := inner - 1
		for ; i >= 0; i-- {
			idx[i]++
			if idx[i] < ext[i] {
				break
			}
			idx[i] = 0
		}
		if i < 0 {
			return
		}
	}
}

// h5chunk is a stored chunk: its position in chunks along each axis, where it is and how many
// bytes it takes, and which filters were skipped.
type h5chunk struct {
	scaled []uint64
	addr   uint64
	size   uint64
	mask   uint64
}

// A worker takes chunks in batches of about h5batchBytes decoded bytes, at most h5batchChunks
// chunks: many small chunks (NSD's are 1.5 KB) go together, so that handing them over costs
// little and workers seldom write beside one another, and few are listed ahead of a failing one.
const (
	h5batchBytes  = 256 << 10
	h5batchChunks = 128
)

// h5scratchBytes bounds the buffers the workers hold to decode filtered chunks (two a worker):
// chunks of hundreds of MB are decoded by fewer workers, though always by one (whose two buffers
// are then as large as a chunk, as before the workers).
const h5scratchBytes = 256 << 20

// chunked decodes a chunked dataset into its values, each chunk converted into its place as it
// is decoded, on a worker for each core; the chunk index is read here, in its order.
func (h *h5file) chunked(ds *h5dset) (*h5values, error) {
	v, err := ds.filledValues(len(h.buf), h.undef(ds.addr) && ds.index != 2)
	if err != nil {
		return nil, err
	}
	if ds.n == 0 {
		return v, nil
	}
	rank := len(ds.dims)
	if rank > 1 && ds.chunk[rank-1] == 1 && ds.dims[rank-1] > 1 && ds.fill == nil {
		v.touch()
	}
	if err := h.decodeChunks(ds, v, nil); err != nil {
		return nil, err
	}
	return v, nil
}

// h5pick chooses the chunks decodeChunks decodes and where their values go: sel says which
// chunks are wanted (and which targets each holds), place converts one.
type h5pick struct {
	sel   *h5targets
	place func(c h5chunkJob, pos []int, data []byte)
}

// decodeChunks walks a chunked dataset's chunk index and decodes its chunks into v: all of them
// into their places, or with pick the wanted ones only, the index walked only where it lists them
// (h5file.chunks). Every chunk listed in what is walked is checked alike (in the dataset, listed
// once, its bytes in the file), wanted or not.
func (h *h5file) decodeChunks(ds *h5dset, v *h5values, pick *h5pick) error {
	rank := len(ds.dims)
	chunkBytes := ds.t.size
	for _, c := range ds.chunk {
		chunkBytes *= c
	}
	grid := make([]uint64, rank) // chunks along each axis, over the dims
	for i := range rank {
		grid[i] = uint64((ds.dims[i] + ds.chunk[i] - 1) / ds.chunk[i])
	}
	// Each chunk position is filled once (an index naming one twice is corrupt), and the bytes
	// the filters take and give, all chunks together, are bounded by what the file can hold
	// decompressed: index entries sharing a chunk's bytes are not decoded without end.
	cells := uint64(1)
	for _, g := range grid {
		cells *= g // at most ds.n: each chunk holds an element
	}
	filled := make([]uint64, (cells+63)/64)
	work, budget := 0, maxInflate(len(h.buf))
	workers := min(runtime.GOMAXPROCS(0), int(cells))
	if len(ds.filters) > 0 {
		workers = max(1, min(workers, h5scratchBytes/2/max(chunkBytes, 1)))
	}
	var place func(h5chunkJob, []int, []byte)
	var sel *h5targets
	if pick != nil {
		place, sel = pick.place, pick.sel
	}
	dec := startH5decoder(ds, v, grid, chunkBytes, workers, place)
	put := func(c h5chunk) error {
		if err := h.spend(1); err != nil {
			return err
		}
		if h.undef(c.addr) {
			return nil
		}
		edge := false
		for i, s := range c.scaled {
			if s >= grid[i] {
				return nil // beyond the dims (a dataset shrunk): not part of the data
			}
			if (int(s)+1)*ds.chunk[i] > ds.dims[i] {
				edge = true
			}
		}
		k := linear(grid, c.scaled)
		if filled[k/64]&(1<<(k%64)) != 0 {
			return fmt.Errorf("corrupt: two chunks at chunk position %v in the chunk index", c.scaled)
		}
		filled[k/64] |= 1 << (k % 64)
		stored, err := h.at(c.addr, c.size)
		if err != nil {
			return fmt.Errorf("chunk %v: %v", c.scaled, err)
		}
		group := 0
		if sel != nil {
			var ok bool
			if group, ok = sel.group(c.scaled); !ok {
				return nil // none of the targets wanted: its bytes are not read
			}
		}
		filter := len(ds.filters) > 0 && !(edge && ds.noEdge)
		if filter {
			// A chunk decodes to chunkBytes, or is an error: counted before it is decoded.
			if work += len(stored) + chunkBytes; work > budget {
				return fmt.Errorf("corrupt: the chunks decode to more than the %d bytes a file of %d bytes can hold", budget, len(h.buf))
			}
		}
		return dec.add(h5chunkJob{cell: k, stored: stored, mask: c.mask, filter: filter, group: group})
	}
	return dec.wait(h.chunks(ds, grid, chunkBytes, sel, put))
}

// h5chunkJob is a stored chunk to decode: its cell in the grid of chunks (C order), its bytes in
// the file, its filter mask, and whether its filters apply.
type h5chunkJob struct {
	cell   uint64
	stored []byte
	mask   uint64
	filter bool
	group  int // readTargets: the chunk's targets (h5targets.groups)
}

type h5batch struct {
	seq    int // batches are numbered in the index's order
	chunks []h5chunkJob
}

// h5decoder decodes the chunks listed to it on a pool of workers, in batches. Each chunk is
// written to its own part of the values (the index is checked for chunks listed twice before), so
// the values do not depend on the order chunks finish in; the error is that of the first chunk in
// the index's order that fails, as when chunks were decoded one by one.
type h5decoder struct {
	ds         *h5dset
	v          *h5values
	grid       []uint64
	chunkBytes int
	// place, when set, converts a decoded chunk at chunk position pos into v instead of putChunk
	// (readTargets: only its wanted targets)
	place func(c h5chunkJob, pos []int, data []byte)

	batch      []h5chunkJob // being listed
	batchBytes int
	sent       int
	jobs       chan h5batch
	wg         sync.WaitGroup

	failed   atomic.Bool
	mu       sync.Mutex
	err      error
	errBatch int
}

// errH5stop ends the walk of a chunk index once a chunk has failed: the error is the chunk's.
var errH5stop = errors.New("a chunk failed")

func startH5decoder(ds *h5dset, v *h5values, grid []uint64, chunkBytes, workers int, place func(h5chunkJob, []int, []byte)) *h5decoder {
	d := &h5decoder{ds: ds, v: v, grid: grid, chunkBytes: chunkBytes, place: place, jobs: make(chan h5batch, workers)}
	for range workers {
		d.wg.Go(d.work)
	}
	return d
}

// add lists a chunk to decode, handing over a batch when it is full.
func (d *h5decoder) add(c h5chunkJob) error {
	d.batch = append(d.batch, c)
	if d.batchBytes += d.chunkBytes; d.batchBytes >= h5batchBytes || len(d.batch) >= h5batchChunks {
		d.flush()
	}
	if d.failed.Load() {
		return errH5stop
	}
	return nil
}

func (d *h5decoder) flush() {
	if len(d.batch) > 0 {
		d.jobs <- h5batch{d.sent, d.batch}
		d.sent++
		d.batch, d.batchBytes = nil, 0
	}
}

// wait decodes the chunks still listed, waits for the workers to finish, and returns the first
// error: a chunk's, which comes before any walkErr (the index's) in the index's order.
func (d *h5decoder) wait(walkErr error) error {
	if !d.failed.Load() {
		d.flush()
	}
	close(d.jobs)
	d.wg.Wait()
	if d.err != nil {
		return d.err
	}
	return walkErr
}

func (d *h5decoder) work() {
	var s h5scratch
	pos := make([]int, len(d.grid))
	for b := range d.jobs {
		if d.failed.Load() && d.failedBefore(b.seq) {
			continue // no error of this batch would be reported
		}
		for _, c := range b.chunks {
			if err := d.decode(c, &s, pos); err != nil {
				d.mu.Lock()
				if d.err == nil || b.seq < d.errBatch {
					d.err, d.errBatch = err, b.seq
				}
				d.mu.Unlock()
				d.failed.Store(true)
				break
			}
		}
	}
}

func (d *h5decoder) failedBefore(seq int) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.err != nil && d.errBatch < seq
}

// decode undoes a chunk's filters and converts it into its place; pos is the worker's to use.
func (d *h5decoder) decode(c h5chunkJob, s *h5scratch, pos []int) error {
	k := c.cell
	for i := len(pos) - 1; i >= 0; i-- {
		pos[i] = int(k % d.grid[i])
		k /= d.grid[i]
	}
	data := c.stored
	if c.filter {
		var err error
		if data, err = d.ds.unfilter(data, c.mask, d.chunkBytes, s); err != nil {
			return fmt.Errorf("chunk %v: %v", pos, err)
		}
	}
	if len(data) != d.chunkBytes {
		return fmt.Errorf("corrupt: chunk %v holds %d bytes, want %d", pos, len(data), d.chunkBytes)
	}
	if d.place != nil {
		d.place(c, pos, data)
	} else {
		d.v.putChunk(d.ds.dims, d.ds.chunk, pos, data)
	}
	return nil
}

// h5scratch is what a worker keeps from chunk to chunk: an inflater and its input, and two
// buffers the filters write into by turns.
type h5scratch struct {
	zr   io.ReadCloser
	in   bytes.Reader
	lim  io.LimitedReader
	bufs [2][]byte
	turn int
}

// next returns an empty buffer with room for more than want bytes (deflate reads past a chunk's
// bytes to find that there are too many), not the one the previous filter wrote into.
func (s *h5scratch) next(want int) []byte {
	s.turn ^= 1
	if cap(s.bufs[s.turn]) < want+16 {
		s.bufs[s.turn] = make([]byte, want+16)
	}
	return s.bufs[s.turn][:0]
}

// unfilter undoes a chunk's filters, last applied first, skipping those its mask says were. The
// result is in s's buffers, or in b.
func (ds *h5dset) unfilter(b []byte, mask uint64, want int, s *h5scratch) ([]byte, error) {
	for i := len(ds.filters) - 1; i >= 0; i-- {
		if mask&(1<<i) != 0 {
			continue
		}
		f := ds.filters[i]
		switch f.id {
		case 1:
			var err error
			s.in.Reset(b)
			if s.zr == nil {
				s.zr, err = zlib.NewReader(&s.in)
			} else {
				err = s.zr.(zlib.Resetter).Reset(&s.in, nil)
			}
			if err != nil {
				s.zr = nil
				return nil, fmt.Errorf("deflate: %v", err)
			}
			limit := int64(want) + 8
			s.lim = io.LimitedReader{R: s.zr, N: limit + 1}
			out, err := readAllInto(s.next(want), &s.lim)
			if err != nil {
				return nil, fmt.Errorf("deflate: %v", err)
			}
			if int64(len(out)) > limit {
				return nil, fmt.Errorf("deflate: more than the chunk's %d bytes", want)
			}
			b = out
		case 2:
			es := ds.t.size
			if len(f.cd) > 0 && f.cd[0] > 0 {
				es = int(f.cd[0])
			}
			if es > 1 && len(b)/es > 1 {
				b = unshuffle(s.next(len(b))[:len(b)], b, es)
			}
		case 3:
			if len(b) < 4 {
				return nil, errors.New("fletcher32: chunk shorter than its checksum")
			}
			data, stored := b[:len(b)-4], binary.LittleEndian.Uint32(b[len(b)-4:])
			sum := fletcher32(data)
			if stored != sum && stored != bits.ReverseBytes32(sum) {
				return nil, fmt.Errorf("fletcher32 checksum mismatch (stored %#08x, computed %#08x): the data are corrupt", stored, sum)
			}
			b = data
		}
	}
	return b, nil
}

// unshuffle undoes the shuffle filter of b (elements of es bytes) into out, as long as b.
func unshuffle(out, b []byte, es int) []byte {
	n := len(b) / es
	for j := range es {
		src := b[j*n : (j+1)*n]
		for i, v := range src {
			out[i*es+j] = v
		}
	}
	copy(out[n*es:], b[n*es:])
	return out
}

// fletcher32 is HDF5's Fletcher-32 checksum (of big-endian 16-bit words).
func fletcher32(b []byte) uint32 {
	var s1, s2 uint32
	for len(b) >= 2 {
		k := min(len(b)/2, 360)
		for i := range k {
			s1 += uint32(b[2*i])<<8 | uint32(b[2*i+1])
			s2 += s1
		}
		b = b[2*k:]
		s1 = s1&0xffff + s1>>16
		s2 = s2&0xffff + s2>>16
	}
	if len(b) == 1 {
		s1 += uint32(b[0]) << 8
		s2 += s1
		s1 = s1&0xffff + s1>>16
		s2 = s2&0xffff + s2>>16
	}
	s1 = s1&0xffff + s1>>16
	s2 = s2&0xffff + s2>>16
	return s2<<16 | s1
}

// chunks calls put with each stored chunk of the dataset, read from its chunk index. With sel,
// the chunks that hold none of its targets may be left out, and the parts of the index that list
// only such chunks are not read:
//   - a version-1 B-tree (h5py's default format) is descended only into the nodes whose keys
//     bound a wanted chunk (chunkBtree). What the whole walk checks of the nodes skipped goes
//     unchecked: that they are in the file, their signature, type, level and size, their keys'
//     order, that none is reached twice, and of the chunks they list that they are aligned on
//     the chunks, within their keys, listed once, and that their bytes are in the file. A chunk
//     listed where its keys say it is not is not found, as HDF5 does not find it.
//   - an implicit index and a fixed array (libver='latest', no unlimited axis) give the wanted
//     chunks alone, each read where it is listed: the others' addresses are not looked at. A
//     fixed array's header and data block are checked as before, and the pages holding a wanted
//     chunk.
//   - a single chunk is read as it is. An extensible array (one unlimited axis) and a version-2
//     B-tree (several unlimited axes, libver='latest') are walked whole, as without sel.
//
// put must not keep the chunk's scaled, which may be reused for the next.
func (h *h5file) chunks(ds *h5dset, grid []uint64, chunkBytes int, sel *h5targets, put func(h5chunk) error) error {
	rank := len(ds.dims)
	// The grid of chunks over the maximum dims, which indexes of the latest format count in.
	maxgrid := slices.Clone(grid)
	unlim := -1
	for i, m := range ds.maxdims {
		switch {
		case h.undef(m) || m == ^uint64(0):
			unlim = i
		case m >= uint64(ds.dims[i]):
			maxgrid[i] = (m + uint64(ds.chunk[i]) - 1) / uint64(ds.chunk[i])
		}
	}
	filtered := len(ds.filters) > 0
	// elem decodes an element of a fixed or extensible array: an address, and for filtered
	// chunks their size and filter mask.
	elem := func(b []byte) h5chunk {
		d := &h5dec{b: b}
		c := h5chunk{addr: h.addr(d), size: uint64(chunkBytes)}
		if filtered {
			c.size = d.uint(len(b) - h.so - 4)
			c.mask = d.u32()
		}
		return c
	}
	if h.undef(ds.addr) {
		return nil // no chunk written (the index is made with the first): all the fill value
	}
	switch ds.index {
	case 0:
		return h.chunkBtree(ds, grid, sel, put)
	case 1:
		c := h5chunk{scaled: make([]uint64, rank), addr: ds.addr, size: uint64(chunkBytes)}
		if ds.filtered {
			c.size, c.mask = ds.single.size, ds.single.mask
		}
		return put(c)
	case 2:
		at := func(scaled []uint64) error {
			i := linear(maxgrid, scaled)
			return put(h5chunk{scaled: scaled, addr: ds.addr + i*uint64(chunkBytes), size: uint64(chunkBytes)})
		}
		if sel != nil {
			return sel.each(func(k uint64) error { return at(unlinear(grid, k)) })
		}
		return forGrid(grid, at)
	case 3:
		return h.fixedArray(ds.addr, maxgrid, grid, filtered, elem, sel, put)
	case 4:
		if unlim < 0 {
			return errors.New("corrupt: an extensible array index without an unlimited dimension")
		}
		return h.extensibleArray(ds.addr, maxgrid, unlim, elem, put)
	case 5:
		typ := byte(10)
		if filtered {
			typ = 11
		}
		return h.btree2(ds.addr, typ, func(r []byte) error {
			d := &h5dec{b: r}
			c := h5chunk{addr: h.addr(d), size: uint64(chunkBytes), scaled: make([]uint64, rank)}
			if filtered {
				c.size = d.uint(len(r) - h.so - 4 - 8*rank)
				c.mask = d.u32()
			}
			for i := range rank {
				c.scaled[i] = d.u64()
			}
			if d.bad || d.left() != 0 {
				return errors.New("corrupt: chunk index record of the wrong size")
			}
			return put(c)
		})
	}
	return fmt.Errorf("corrupt: chunk index type %d", ds.index)
}

// chunkBtree walks the version-1 B-tree that indexes a chunked dataset's chunks (h5py's default),
// calling put with each chunk listed, in the tree's order. A node's keys are chunk offsets (rank
// + 1 of them, the last an element's: 0 but in the tree's last key), sorted as HDF5 sorts and
// finds chunks, lexicographically, which over the grid of chunks is C order: child i holds the
// chunks from key i up to, not including, key i + 1. The keys of an internal node must ascend
// within the range of the node's own keys in its parent, and a chunk must be listed within the
// keys around it at every level above: else the index is corrupt (HDF5 would not find the chunk,
// and a walk pruned by the keys would miss it). With sel, only the children whose keys bound a
// wanted chunk are read (chunks says what goes unchecked).
func (h *h5file) chunkBtree(ds *h5dset, grid []uint64, sel *h5targets, put func(h5chunk) error) error {
	rank := len(ds.dims)
	keyLen := 8 + 8*(rank+1)
	suffix := make([]uint64, rank+1) // chunks in the grid of the axes from i on
	suffix[rank] = 1
	for i := rank - 1; i >= 0; i-- {
		suffix[i] = suffix[i+1] * grid[i]
	}
	// cellAt is the C-order index in the grid of the first chunk at or after a key's offsets: the
	// grid's size if none is.
	cellAt := func(key []byte) uint64 {
		d := &h5dec{b: key[8:]}
		var k uint64
		for i := range rank {
			off := d.u64()
			s := off / uint64(ds.chunk[i])
			if s >= grid[i] { // past the last chunk along axis i: the next along the axes before
				return (k + 1) * suffix[i]
			}
			k = k*grid[i] + s
			if off%uint64(ds.chunk[i]) != 0 { // between two chunks: the next
				return (k + 1) * suffix[i+1]
			}
		}
		if d.u64() != 0 { // past the chunk's first element
			return k + 1
		}
		return k
	}
	type node struct {
		a      uint64
		level  int
		lo, hi uint64 // the chunks its keys and its ancestors' bound: C-order indices in the grid
	}
	seen := map[uint64]bool{}
	scaled := make([]uint64, rank) // each chunk's in turn
	stack := []node{{ds.addr, -1, 0, suffix[0]}}
	for len(stack) > 0 {
		nd := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		d, level, n, err := h.btree1Node(nd.a, 1, nd.level, seen)
		if err != nil {
			return err
		}
		if level == 0 {
			for range n {
				key := d.bytes(keyLen)
				child := h.addr(d)
				if d.bad {
					return fmt.Errorf("chunk or group index (B-tree node): %w", errH5Short)
				}
				kd := &h5dec{b: key}
				c := h5chunk{size: kd.u32(), mask: kd.u32(), addr: child, scaled: scaled}
				inside := true
				for i := range rank {
					off := kd.u64()
					if off%uint64(ds.chunk[i]) != 0 {
						return fmt.Errorf("corrupt: chunk at offset %d on an axis of %d-element chunks", off, ds.chunk[i])
					}
					c.scaled[i] = off / uint64(ds.chunk[i])
					inside = inside && c.scaled[i] < grid[i]
				}
				if k := linear(grid, c.scaled); inside && (k < nd.lo || k >= nd.hi) {
					return fmt.Errorf("corrupt: chunk %v listed out of order in the chunk index (B-tree)", c.scaled)
				}
				if err := put(c); err != nil {
					return err
				}
			}
			continue
		}
		keys := make([][]byte, n+1)
		kids := make([]uint64, n)
		for i := range n {
			keys[i] = d.bytes(keyLen)
			kids[i] = h.addr(d)
		}
		keys[n] = d.bytes(keyLen)
		if d.bad {
			return fmt.Errorf("chunk or group index (B-tree node): %w", errH5Short)
		}
		// The keys ascend within the node's range (HDF5's equal its parent's around it): each
		// child's chunks lie within the range of the node above.
		cells := make([]uint64, n+1)
		for i, k := range keys {
			if cells[i] = cellAt(k); cells[i] < nd.lo || cells[i] > nd.hi || i > 0 && cells[i] < cells[i-1] {
				return fmt.Errorf("corrupt: chunk index (B-tree) node at address %d: its keys are out of order", nd.a)
			}
		}
		for i := n - 1; i >= 0; i-- {
			lo, hi := cells[i], cells[i+1]
			if sel != nil && !sel.within(lo, hi) {
				continue // none of its chunks wanted
			}
			stack = append(stack, node{kids[i], level - 1, lo, hi})
		}
	}
	return nil
}

// forGrid calls fn with every position of grid, in C order (fn must not keep the slice).
func forGrid(grid []uint64, fn func([]uint64) error) error {
	for _, g := range grid {
		if g == 0 {
			return nil
		}
	}
	idx := make([]uint64, len(grid))
	for {
		if err := fn(slices.Clone(idx)); err != nil {
			return err
		}
		i := len(grid) - 1
		for ; i >= 0; i-- {
			idx[i]++
			if idx[i] < grid[i] {
				break
			}
			idx[i] = 0
		}
		if i < 0 {
			return nil
		}
	}
}

// linear is the C-order index of pos in grid.
func linear(grid, pos []uint64) uint64 {
	var k uint64
	for i := range grid {
		k = k*grid[i] + pos[i]
	}
	return k
}

// unlinear is the position in grid (C order, the first axis unbounded) of index k.
func unlinear(grid []uint64, k uint64) []uint64 {
	pos := make([]uint64, len(grid))
	for i := len(grid) - 1; i > 0; i-- {
		if grid[i] == 0 {
			return pos
		}
		pos[i] = k % grid[i]
		k /= grid[i]
	}
	pos[0] = k
	return pos
}

// fixedArray reads a fixed-array chunk index: one element per chunk of the maximum grid. With
// sel, only the elements of the chunks holding a wanted target (C-order indices in grid).
func (h *h5file) fixedArray(a uint64, maxgrid, grid []uint64, filtered bool, elem func([]byte) h5chunk, sel *h5targets, put func(h5chunk) error) error {
	d, err := h.from(a)
	if err != nil {
		return err
	}
	if err := sig(d, "FAHD"); err != nil {
		return err
	}
	d.skip(2)
	esize, pageBits := int(d.u8()), d.u8()
	n, dblk := h.length(d), h.addr(d)
	if err := d.err("fixed array header"); err != nil {
		return err
	}
	if esize < h.so || filtered && esize < h.so+5 || esize > h.so+12 || pageBits > 32 {
		return fmt.Errorf("corrupt: fixed array of %d-byte elements, pages of 2^%d", esize, pageBits)
	}
	if h.undef(dblk) {
		return nil
	}
	d, err = h.from(dblk)
	if err != nil {
		return err
	}
	if err := sig(d, "FADB"); err != nil {
		return err
	}
	d.skip(2 + h.so)
	pageN := uint64(1) << pageBits
	if n <= pageN {
		if n > uint64(d.left())/uint64(esize) {
			return fmt.Errorf("truncated or corrupt: fixed array of %d elements", n)
		}
		if sel != nil {
			elems := d.b[d.p:]
			return sel.each(func(k uint64) error {
				scaled := unlinear(grid, k)
				if i := linear(maxgrid, scaled); i < n {
					c := elem(elems[i*uint64(esize) : (i+1)*uint64(esize)])
					c.scaled = scaled
					return put(c)
				}
				return nil
			})
		}
		for i := range n {
			c := elem(d.bytes(esize))
			c.scaled = unlinear(maxgrid, i)
			if err := put(c); err != nil {
				return err
			}
		}
		return nil
	}
	npages := (n + pageN - 1) / pageN
	if (npages+7)/8 > uint64(d.left()) {
		return fmt.Errorf("truncated or corrupt: fixed array of %d elements", n)
	}
	bitmap := d.bytes(int((npages + 7) / 8))
	d.skip(4)
	if d.bad {
		return fmt.Errorf("fixed array data block: %w", errH5Short)
	}
	pageStart := dblk + uint64(d.p)
	page := func(p uint64) ([]byte, error) { // nil: never written
		if bitmap[p/8]&(0x80>>(p%8)) == 0 {
			return nil, nil
		}
		cnt := min(pageN, n-p*pageN)
		return h.at(pageStart+p*(pageN*uint64(esize)+4), cnt*uint64(esize))
	}
	if sel != nil {
		return sel.each(func(k uint64) error {
			scaled := unlinear(grid, k)
			i := linear(maxgrid, scaled)
			if i >= n {
				return nil
			}
			b, err := page(i / pageN)
			if b == nil || err != nil {
				return err
			}
			c := elem(b[i%pageN*uint64(esize) : (i%pageN+1)*uint64(esize)])
			c.scaled = scaled
			return put(c)
		})
	}
	for p := range npages {
		b, err := page(p)
		if err != nil {
			return err
		}
		for i := range uint64(len(b) / esize) {
			c := elem(b[i*uint64(esize) : (i+1)*uint64(esize)])
			c.scaled = unlinear(maxgrid, p*pageN+i)
			if err := put(c); err != nil {
				return err
			}
		}
	}
	return nil
}

// extensibleArray reads an extensible-array chunk index (one unlimited axis, unlim): its
// elements count chunks in C order with the unlimited axis moved first.
func (h *h5file) extensibleArray(a uint64, maxgrid []uint64, unlim int, elem func([]byte) h5chunk, put func(h5chunk) error) error {
	d, err := h.from(a)
	if err != nil {
		return err
	}
	if err := sig(d, "EAHD"); err != nil {
		return err
	}
	d.skip(2)
	esize := int(d.u8())
	maxBits, idxElmts, dblkMin, sblkMinPtrs, pageBits := int(d.u8()), uint64(d.u8()), uint64(d.u8()), uint64(d.u8()), int(d.u8())
	d.skip(6 * h.sl)
	iblk := h.addr(d)
	if err := d.err("extensible array header"); err != nil {
		return err
	}
	if esize < h.so || esize > h.so+12 || maxBits == 0 || maxBits > 64 || dblkMin == 0 || dblkMin&(dblkMin-1) != 0 ||
		sblkMinPtrs == 0 || sblkMinPtrs&(sblkMinPtrs-1) != 0 || bits.Len64(dblkMin)-1 > maxBits {
		return errors.New("corrupt extensible array header")
	}
	// The swizzled grid: the unlimited axis first, the others in order.
	order := []int{unlim}
	for i := range maxgrid {
		if i != unlim {
			order = append(order, i)
		}
	}
	sgrid := make([]uint64, len(order))
	for k, i := range order {
		sgrid[k] = maxgrid[i]
	}
	emit := func(idx uint64, b []byte) error {
		c := elem(b)
		pos := unlinear(sgrid, idx)
		c.scaled = make([]uint64, len(order))
		for k, i := range order {
			c.scaled[i] = pos[k]
		}
		return put(c)
	}
	if h.undef(iblk) {
		return nil
	}
	// Super blocks: sblk u holds 2^(u/2) data blocks of 2^((u+1)/2) * dblkMin elements.
	nsblks := 1 + maxBits - (bits.Len64(dblkMin) - 1)
	type sblk struct{ ndblks, dblkN, start uint64 }
	info := make([]sblk, nsblks)
	var start uint64
	for u := range info {
		info[u] = sblk{1 << (u / 2), (1 << ((u + 1) / 2)) * dblkMin, start}
		start += info[u].ndblks * info[u].dblkN
	}
	iblkSblks := 2 * (bits.Len64(sblkMinPtrs) - 1)
	ndblkAddrs := 2 * (sblkMinPtrs - 1)
	nsblkAddrs := max(nsblks-iblkSblks, 0)
	d, err = h.from(iblk)
	if err != nil {
		return err
	}
	if err := sig(d, "EAIB"); err != nil {
		return err
	}
	d.skip(2 + h.so)
	for i := range idxElmts {
		b := d.bytes(esize)
		if d.bad {
			return fmt.Errorf("extensible array index block: %w", errH5Short)
		}
		if err := emit(i, b); err != nil {
			return err
		}
	}
	dblks := make([]uint64, ndblkAddrs)
	for i := range dblks {
		dblks[i] = h.addr(d)
	}
	sblks := make([]uint64, nsblkAddrs)
	for i := range sblks {
		sblks[i] = h.addr(d)
	}
	if err := d.err("extensible array index block"); err != nil {
		return err
	}
	arrOff := (maxBits + 7) / 8
	dblock := func(a, first, n uint64) error {
		if h.undef(a) {
			return nil
		}
		if err := h.spend(1); err != nil {
			return err
		}
		if n > 1<<uint(pageBits) {
			return unsupported("an extensible-array chunk index with paged data blocks (over about 130000 chunks), which is not read")
		}
		d, err := h.from(a)
		if err != nil {
			return err
		}
		if err := sig(d, "EADB"); err != nil {
			return err
		}
		d.skip(2 + h.so + arrOff)
		if n > uint64(d.left())/uint64(esize) {
			return fmt.Errorf("truncated or corrupt: extensible array data block of %d elements", n)
		}
		for i := range n {
			if err := emit(idxElmts+first+i, d.bytes(esize)); err != nil {
				return err
			}
		}
		return nil
	}
	// The index block's data blocks are those of the first super blocks.
	k := 0
	for u := 0; u < iblkSblks && u < nsblks; u++ {
		for j := range info[u].ndblks {
			if k >= len(dblks) {
				break
			}
			if err := dblock(dblks[k], info[u].start+j*info[u].dblkN, info[u].dblkN); err != nil {
				return err
			}
			k++
		}
	}
	for s, sa := range sblks {
		u := iblkSblks + s
		if h.undef(sa) {
			continue
		}
		if err := h.spend(1); err != nil {
			return err
		}
		if info[u].dblkN > 1<<uint(pageBits) {
			return unsupported("an extensible-array chunk index with paged data blocks (over about 130000 chunks), which is not read")
		}
		d, err := h.from(sa)
		if err != nil {
			return err
		}
		if err := sig(d, "EASB"); err != nil {
			return err
		}
		d.skip(2 + h.so + arrOff)
		if info[u].ndblks > uint64(d.left()/h.so) {
			return errors.New("truncated or corrupt extensible array super block")
		}
		addrs := make([]uint64, info[u].ndblks)
		for j := range addrs {
			addrs[j] = h.addr(d)
		}
		for j, da := range addrs {
			if err := dblock(da, info[u].start+uint64(j)*info[u].dblkN, info[u].dblkN); err != nil {
				return err
			}
		}
	}
	return nil
}

// readAllInto is io.ReadAll into buf's capacity first.
func readAllInto(buf []byte, r io.Reader) ([]byte, error) {
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}
