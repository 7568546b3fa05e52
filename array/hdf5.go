package array

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"path/filepath"
	"slices"
	"strings"
)

// HDF5 files (.h5, .hdf5, and MATLAB v7.3 .mat files, which are HDF5 after a 512-byte header),
// read without the HDF5 library: the parts of the format that h5py, MATLAB and the HDF5 library
// write by default or with libver='latest'.
//
//   - Superblocks 0 to 3 (a user block before the superblock, as MATLAB's, is skipped); object
//     headers 1 and 2 with their continuation chunks; groups as symbol tables (version-1 B-tree and
//     local heap), as link messages in the header, or as dense links (fractal heap and version-2
//     B-tree name index). Soft and external links are listed as not arrays.
//   - Datasets with a simple dataspace of any rank (or a scalar) of IEEE floats (16, 32, 64 bits)
//     or integers (8 to 64 bits, signed or not) in either byte order; compact, contiguous (used in
//     place, memory-mapped like a .npy file) and chunked layouts, chunks indexed by a version-1
//     B-tree (libver 'earliest') or by libver='latest''s single chunk, implicit, fixed array,
//     extensible array and version-2 B-tree indexes; filters deflate (gzip), shuffle and
//     fletcher32 (verified). Chunked data are decoded into memory; chunks never written read as
//     the fill value.
//   - Integer datasets read as floating point, exactly (float32 for 8 and 16 bits, float64 for
//     wider ones), as NIfTI's integers do; nothing is rescaled (NSD's int16 betas are the values
//     stored, the betas times 300). Array.DType stays the stored type ("int16").
//   - MATLAB v7.3: shapes as MATLAB's size() (the dataset's dims reversed, Fortran order); a
//     dataset's MATLAB_class attribute must be a numeric class or logical (0/1) when there is
//     one (char and others are refused as not numeric data), and MATLAB_empty marks an empty
//     array, whose dataset holds its dimensions.
//   - Some targets of a dataset (File.ReadTargets: a brain mask's voxels; a MATLAB file's too):
//     only the chunks that hold them are decoded, and of a version-1 B-tree, implicit or fixed
//     array chunk index only what lists them is read (h5file.chunks).
//
// Everything else is refused with an error that names the dataset and says how to convert it:
// other filters (lzf, szip, blosc, ...), strings, compounds, enums (h5py's bools), variable-length
// types, references, virtual datasets.
//
// Arrays are named by their path from the root group without the leading slash ("betas",
// "group/sub/data"), in depth-first order with each group's links sorted by name.

// IsHDF5 reports whether path names an HDF5 file by its extension (.h5, .hdf5, .he5).
func IsHDF5(path string) bool {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".h5", ".hdf5", ".he5":
		return true
	}
	return false
}

// IsMAT reports whether path names a MATLAB .mat file by its extension: HDF5 when saved with
// -v7.3 (openMAT refuses the others).
func IsMAT(path string) bool { return strings.EqualFold(filepath.Ext(path), ".mat") }

const hdf5Magic = "\x89HDF\r\n\x1a\n"

// h5workLimit bounds the structures (B-tree nodes, heap blocks, header chunks, links) one file's
// reading may visit: a corrupt file whose structures loop or fan out is an error, not a hang.
const h5workLimit = 1 << 22

// h5maxDepth bounds the nesting of groups followed.
const h5maxDepth = 64

// h5file is an HDF5 file's bytes and what its superblock says about them.
type h5file struct {
	buf    []byte
	base   uint64 // where the superblock is: addresses are relative to it
	so, sl int    // sizes of offsets and lengths
	work   int
	matlab bool // a MATLAB v7.3 file: dimensions reversed, column-major
	// headers holds the object headers read, by address: an object hard-linked many times is
	// read once.
	headers map[uint64]h5header
}

type h5header struct {
	msgs []h5msg
	err  error
}

// h5dec decodes little-endian fields from a byte slice; reading past its end sets bad and yields
// zeros, so that a parser checks once, at its end.
type h5dec struct {
	b   []byte
	p   int
	bad bool
}

func (d *h5dec) bytes(n int) []byte {
	if n < 0 || n > len(d.b)-d.p {
		d.bad = true
		d.p = len(d.b)
		return nil
	}
	s := d.b[d.p : d.p+n]
	d.p += n
	return s
}

func (d *h5dec) skip(n int) { d.bytes(n) }

func (d *h5dec) uint(n int) uint64 {
	if n > 8 {
		d.skip(n)
		d.bad = true
		return 0
	}
	b := d.bytes(n)
	var v uint64
	for i := len(b) - 1; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	return v
}

func (d *h5dec) u8() uint64  { return d.uint(1) }
func (d *h5dec) u16() uint64 { return d.uint(2) }
func (d *h5dec) u32() uint64 { return d.uint(4) }
func (d *h5dec) u64() uint64 { return d.uint(8) }
func (d *h5dec) left() int   { return len(d.b) - d.p }

var errH5Short = errors.New("corrupt or truncated structure (it runs past its end)")

func (d *h5dec) err(what string) error {
	if d.bad {
		return fmt.Errorf("%s: %w", what, errH5Short)
	}
	return nil
}

func (h *h5file) addr(d *h5dec) uint64 { return d.uint(h.so) }
func (h *h5file) length(d *h5dec) uint64 {
	return d.uint(h.sl)
}

// undef reports whether a is the undefined address (all bits set).
func (h *h5file) undef(a uint64) bool {
	return h.so < 8 && a == 1<<(8*h.so)-1 || a == math.MaxUint64
}

// spend counts n units of work against the file's limit.
func (h *h5file) spend(n int) error {
	h.work += n
	if h.work > h5workLimit {
		return errors.New("corrupt: too many structures to visit (a loop in its B-trees or heaps?)")
	}
	return nil
}

// at returns n bytes at relative address a, checking that they lie in the file.
func (h *h5file) at(a, n uint64) ([]byte, error) {
	if h.undef(a) {
		return nil, errors.New("corrupt: an undefined address where data is expected")
	}
	size := uint64(len(h.buf))
	if a > size || h.base > size-a || n > size-h.base-a {
		return nil, fmt.Errorf("truncated or corrupt: %d bytes at address %d, beyond the end of the file (%d bytes)", n, a, size-h.base)
	}
	off := h.base + a
	return h.buf[off : off+n], nil
}

// from returns a decoder over the file from relative address a to its end.
func (h *h5file) from(a uint64) (*h5dec, error) {
	if h.undef(a) || a > uint64(len(h.buf)) || h.base > uint64(len(h.buf))-a {
		return nil, fmt.Errorf("truncated or corrupt: address %d beyond the end of the file (%d bytes)", a, uint64(len(h.buf))-h.base)
	}
	return &h5dec{b: h.buf[h.base+a:]}, nil
}

// sig checks a 4-byte signature at the decoder's position.
func sig(d *h5dec, want string) error {
	if got := d.bytes(4); string(got) != want {
		if d.bad {
			return fmt.Errorf("%s: %w", want, errH5Short)
		}
		return fmt.Errorf("corrupt: expected a %s structure, found %q", want, got)
	}
	return nil
}

// openHDF5 opens the HDF5 file held in buf: its superblock and groups are read, and each
// dataset's header; data are read by Read. It takes over the caller's reference on m.
func openHDF5(name string, buf []byte, m *mapping) (*File, error) {
	return openHDF5As(name, buf, m, false)
}

// openMAT opens a MATLAB .mat file: version 7.3 files are HDF5.
func openMAT(name string, buf []byte, m *mapping) (*File, error) {
	if len(buf) >= 8 && string(buf[:8]) == hdf5Magic {
		return openHDF5(name, buf, m) // HDF5 named .mat without MATLAB's header (h5py, Octave): as any
	}
	if len(buf) < 520 || string(buf[512:520]) != hdf5Magic {
		if len(buf) >= 128 && bytes.HasPrefix(buf, []byte("MATLAB 5.0 MAT-file")) {
			return nil, fmt.Errorf("%s: a MATLAB v5/v7 .mat file, which is not read: save it with -v7.3 (HDF5), or convert it with SciPy: np.save('x.npy', scipy.io.loadmat(%q)['NAME'])", name, name)
		}
		return nil, fmt.Errorf("%s: not a MATLAB v7.3 (HDF5) .mat file, which is not read: convert it with SciPy: np.save('x.npy', scipy.io.loadmat(%q)['NAME'])", name, name)
	}
	return openHDF5As(name, buf, m, true)
}

func openHDF5As(name string, buf []byte, m *mapping, matlab bool) (*File, error) {
	h, root, err := h5superblock(buf)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	h.matlab = matlab
	f := newFile(name, buf, m)
	seen := map[uint64]bool{root: true}
	if err := h.walkGroup(f, "", root, 0, seen); err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	return f, nil
}

// h5superblock finds and reads the superblock: it returns the file's description and the address
// of the root group's object header.
func h5superblock(buf []byte) (*h5file, uint64, error) {
	base := -1
	for off := 0; off+8 <= len(buf); off = max(512, 2*off) {
		if string(buf[off:off+8]) == hdf5Magic {
			base = off
			break
		}
	}
	if base < 0 {
		if len(buf) < 8 {
			return nil, 0, fmt.Errorf("truncated: %d bytes, too short for an HDF5 file", len(buf))
		}
		return nil, 0, errors.New("not an HDF5 file (no HDF5 signature at offset 0, 512, 1024, ...)")
	}
	h := &h5file{buf: buf, base: uint64(base)}
	d := &h5dec{b: buf[base+8:]}
	ver := d.u8()
	var root, eof uint64
	switch ver {
	case 0, 1:
		d.skip(4) // free-space, root group symbol table entry, reserved, shared header versions
		h.so, h.sl = int(d.u8()), int(d.u8())
		d.skip(1 + 2 + 2 + 4)
		if ver == 1 {
			d.skip(4)
		}
		if !h5sizeOK(h.so) || !h5sizeOK(h.sl) {
			return nil, 0, fmt.Errorf("corrupt superblock: offsets of %d bytes and lengths of %d", h.so, h.sl)
		}
		h.addr(d) // base address: the superblock's place is used, as the library does
		h.addr(d) // free-space info
		eof = h.addr(d)
		h.addr(d)          // driver info
		h.addr(d)          // root entry: link name offset
		root = h.addr(d)   // root object header
		d.skip(4 + 4 + 16) // cache type, reserved, scratch
	case 2, 3:
		h.so, h.sl = int(d.u8()), int(d.u8())
		if !h5sizeOK(h.so) || !h5sizeOK(h.sl) {
			return nil, 0, fmt.Errorf("corrupt superblock: offsets of %d bytes and lengths of %d", h.so, h.sl)
		}
		flags := d.u8()
		h.addr(d) // base address
		h.addr(d) // superblock extension
		eof = h.addr(d)
		root = h.addr(d)
		d.skip(4) // checksum
		if flags&0x01 != 0 && flags&0x04 == 0 {
			// as the HDF5 library refuses it: what is read may be half written
			return nil, 0, errors.New("the file is open for writing by another program (or its writer was killed: HDF5's `h5clear -s FILE` clears the mark): read it once it is closed")
		}
	default:
		return nil, 0, fmt.Errorf("unsupported HDF5 superblock version %d", ver)
	}
	if d.bad {
		return nil, 0, fmt.Errorf("truncated: %d bytes, too short for the HDF5 superblock", len(buf))
	}
	// The end-of-file address is absolute: it counts a user block (MATLAB's) too.
	if have := uint64(len(buf)); !h.undef(eof) && eof > have {
		return nil, 0, fmt.Errorf("truncated: the superblock says the file has %d bytes of HDF5 data, it has %d", eof, have)
	}
	return h, root, nil
}

func h5sizeOK(n int) bool { return n == 2 || n == 4 || n == 8 }

// h5msg is one message of an object header.
type h5msg struct {
	typ   uint16
	flags byte
	data  []byte
}

// Message types used here.
const (
	h5Dataspace    = 0x01
	h5LinkInfo     = 0x02
	h5Datatype     = 0x03
	h5FillOld      = 0x04
	h5Fill         = 0x05
	h5Link         = 0x06
	h5External     = 0x07
	h5Layout       = 0x08
	h5GroupInfo    = 0x0A
	h5Filters      = 0x0B
	h5Attribute    = 0x0C
	h5Continuation = 0x10
	h5SymbolTable  = 0x11
)

// header returns the messages of the object header at a, read once.
func (h *h5file) header(a uint64) ([]h5msg, error) {
	if c, ok := h.headers[a]; ok {
		return c.msgs, c.err
	}
	msgs, err := h.readHeader(a)
	if h.headers == nil {
		h.headers = map[uint64]h5header{}
	}
	h.headers[a] = h5header{msgs, err}
	return msgs, err
}

// readHeader reads the messages of the object header at a, following continuation chunks.
func (h *h5file) readHeader(a uint64) ([]h5msg, error) {
	d, err := h.from(a)
	if err != nil {
		return nil, err
	}
	type chunk struct{ a, n uint64 }
	var msgs []h5msg
	seen := map[uint64]bool{}
	var queue []chunk
	v2 := false
	corder := false // v2: each message carries a 2-byte creation order (the header's flag 0x04)
	if head := d.bytes(4); string(head) == "OHDR" {
		v2 = true
		if ver := d.u8(); ver != 2 {
			return nil, fmt.Errorf("corrupt: object header version %d", ver)
		}
		flags := d.u8()
		corder = flags&0x04 != 0
		if flags&0x20 != 0 {
			d.skip(16)
		}
		if flags&0x10 != 0 {
			d.skip(4)
		}
		size := d.uint(1 << (flags & 3))
		if d.bad {
			return nil, fmt.Errorf("object header: %w", errH5Short)
		}
		start := a + uint64(d.p)
		queue = append(queue, chunk{start, size})
		seen[start] = true
		msgs, err = h.messages(queue[0].a, queue[0].n, true, corder, msgs)
		if err != nil {
			return nil, err
		}
	} else {
		d.p = 0
		if ver := d.u8(); ver != 1 {
			if d.bad {
				return nil, fmt.Errorf("object header: %w", errH5Short)
			}
			return nil, fmt.Errorf("corrupt: object header version %d at address %d", ver, a)
		}
		d.skip(3 + 4)
		size := d.u32()
		if d.bad {
			return nil, fmt.Errorf("object header: %w", errH5Short)
		}
		seen[a+16] = true
		msgs, err = h.messages(a+16, size, false, false, msgs)
		if err != nil {
			return nil, err
		}
	}
	// Continuations, breadth first; each chunk once.
	for i := 0; i < len(msgs); i++ {
		if msgs[i].typ != h5Continuation {
			continue
		}
		cd := &h5dec{b: msgs[i].data}
		ca, cn := h.addr(cd), h.length(cd)
		if err := cd.err("continuation message"); err != nil {
			return nil, err
		}
		if v2 {
			if cn < 8 {
				return nil, errors.New("corrupt: a header continuation chunk too short")
			}
			b, err := h.at(ca, 4)
			if err != nil {
				return nil, err
			}
			if string(b) != "OCHK" {
				return nil, fmt.Errorf("corrupt: expected a header continuation chunk (OCHK), found %q", b)
			}
			ca, cn = ca+4, cn-8 // the signature, and the checksum at the end
		}
		if seen[ca] {
			continue
		}
		seen[ca] = true
		if msgs, err = h.messages(ca, cn, v2, corder, msgs); err != nil {
			return nil, err
		}
	}
	return msgs, nil
}

// messages appends the messages of one header chunk. In a version-2 header each message has a
// 2-byte creation order when the header's flags (not the message's) say creation order is tracked.
// Every message parsed, NIL (type 0) ones too, counts as work.
func (h *h5file) messages(a, n uint64, v2, corder bool, msgs []h5msg) ([]h5msg, error) {
	if err := h.spend(1); err != nil {
		return nil, err
	}
	b, err := h.at(a, n)
	if err != nil {
		return nil, err
	}
	d := &h5dec{b: b}
	for {
		var typ, size, flags uint64
		if v2 {
			if d.left() < 4 {
				break // a gap
			}
			typ, size, flags = d.u8(), d.u16(), d.u8()
			if corder {
				d.skip(2)
			}
		} else {
			if d.left() < 8 {
				break
			}
			typ, size, flags = d.u16(), d.u16(), d.u8()
			d.skip(3)
		}
		data := d.bytes(int(size))
		if d.bad {
			return nil, fmt.Errorf("object header message %#x: %w", typ, errH5Short)
		}
		if len(msgs) >= 1<<16 {
			return nil, errors.New("corrupt: too many object header messages")
		}
		if err := h.spend(1); err != nil {
			return nil, err
		}
		if typ != 0 {
			msgs = append(msgs, h5msg{typ: uint16(typ), flags: byte(flags), data: data})
		}
	}
	return msgs, nil
}

func findMsg(msgs []h5msg, typ uint16) *h5msg {
	for i := range msgs {
		if msgs[i].typ == typ {
			return &msgs[i]
		}
	}
	return nil
}

// h5link is a link of a group.
type h5link struct {
	name   string
	addr   uint64 // hard links
	kind   int    // 0 hard, 1 soft, 64 external
	target string // soft and external links
}

// isGroup reports whether the messages are a group's.
func isGroup(msgs []h5msg) bool {
	return findMsg(msgs, h5Layout) == nil && (findMsg(msgs, h5SymbolTable) != nil || findMsg(msgs, h5LinkInfo) != nil ||
		findMsg(msgs, h5Link) != nil || findMsg(msgs, h5GroupInfo) != nil)
}

// walkGroup lists the datasets under the group at a as entries of f, recursing into subgroups
// (each group once: seen).
func (h *h5file) walkGroup(f *File, prefix string, a uint64, depth int, seen map[uint64]bool) error {
	if depth > h5maxDepth {
		return fmt.Errorf("groups nested more than %d deep at %q", h5maxDepth, prefix)
	}
	msgs, err := h.header(a)
	if err != nil {
		return fmt.Errorf("group %q: %v", "/"+prefix, err)
	}
	links, err := h.groupLinks(msgs)
	if err != nil {
		return fmt.Errorf("group %q: %v", "/"+prefix, err)
	}
	slices.SortStableFunc(links, func(x, y h5link) int { return strings.Compare(x.name, y.name) })
	for _, l := range links {
		if err := h.spend(1); err != nil {
			return err
		}
		path := prefix + l.name
		label := fmt.Sprintf("%s: dataset %q", f.path, path)
		if l.name == "" || strings.Contains(l.name, "/") || f.byName[path] != nil {
			continue // not a name h5py could give (or a duplicate): skipped
		}
		if l.kind != 0 {
			what := "a soft"
			if l.kind == 64 {
				what = "an external"
			}
			f.others = append(f.others, &Entry{Name: path, label: label,
				Err: fmt.Errorf("%s: %s link (to %q), which is not followed: name the dataset it points to", label, what, l.target)})
			continue
		}
		cm, err := h.header(l.addr)
		if err != nil {
			e := &Entry{Name: path, label: label, Err: fmt.Errorf("%s: %v", label, err)}
			f.arrays = append(f.arrays, e)
			f.byName[path] = e
			continue
		}
		if isGroup(cm) {
			if seen[l.addr] {
				continue
			}
			seen[l.addr] = true
			if err := h.walkGroup(f, path+"/", l.addr, depth+1, seen); err != nil {
				return err
			}
			continue
		}
		if findMsg(cm, h5Layout) == nil {
			continue // a committed datatype
		}
		e := &Entry{Name: path, label: label}
		if err := h.datasetEntry(e, cm); err != nil {
			e.Err = err
		}
		f.arrays = append(f.arrays, e)
		f.byName[path] = e
	}
	return nil
}

// groupLinks returns the links of a group, however they are stored.
func (h *h5file) groupLinks(msgs []h5msg) ([]h5link, error) {
	var links []h5link
	for _, m := range msgs {
		switch m.typ {
		case h5SymbolTable:
			d := &h5dec{b: m.data}
			bt, heap := h.addr(d), h.addr(d)
			if err := d.err("symbol table message"); err != nil {
				return nil, err
			}
			l, err := h.symbolTable(bt, heap)
			if err != nil {
				return nil, err
			}
			links = append(links, l...)
		case h5Link:
			l, err := h.linkMessage(m.data)
			if err != nil {
				return nil, err
			}
			links = append(links, l)
		case h5LinkInfo:
			d := &h5dec{b: m.data}
			d.u8()
			flags := d.u8()
			if flags&1 != 0 {
				d.skip(8)
			}
			heap, names := h.addr(d), h.addr(d)
			if err := d.err("link info message"); err != nil {
				return nil, err
			}
			if h.undef(heap) {
				continue // links in the header
			}
			l, err := h.denseLinks(heap, names)
			if err != nil {
				return nil, fmt.Errorf("dense link storage: %v", err)
			}
			links = append(links, l...)
		}
	}
	return links, nil
}

// linkMessage decodes a link message.
func (h *h5file) linkMessage(b []byte) (h5link, error) {
	d := &h5dec{b: b}
	if ver := d.u8(); ver != 1 {
		return h5link{}, fmt.Errorf("corrupt: link message version %d", ver)
	}
	flags := d.u8()
	var l h5link
	if flags&0x08 != 0 {
		l.kind = int(d.u8())
	}
	if flags&0x04 != 0 {
		d.skip(8)
	}
	if flags&0x10 != 0 {
		d.skip(1)
	}
	n := d.uint(1 << (flags & 3))
	l.name = string(d.bytes(int(min(n, 1<<16))))
	switch l.kind {
	case 0:
		l.addr = h.addr(d)
	case 1, 64:
		k := d.u16()
		l.target = string(d.bytes(int(k)))
		if l.kind == 64 && len(l.target) > 0 { // flags, file name, NUL, object path, NUL
			l.target = strings.Replace(strings.TrimRight(l.target[1:], "\x00"), "\x00", ":", 1)
		}
	default:
		l.target = fmt.Sprintf("user-defined link type %d", l.kind)
		l.kind = 1
	}
	return l, d.err("link message")
}

// symbolTable lists a version-1 group: the B-tree's symbol table nodes, names in the local heap.
func (h *h5file) symbolTable(bt, heapAddr uint64) ([]h5link, error) {
	d, err := h.from(heapAddr)
	if err != nil {
		return nil, err
	}
	if err := sig(d, "HEAP"); err != nil {
		return nil, err
	}
	d.skip(4)
	hsize := h.length(d)
	h.length(d)
	haddr := h.addr(d)
	if err := d.err("local heap"); err != nil {
		return nil, err
	}
	heap, err := h.at(haddr, hsize)
	if err != nil {
		return nil, fmt.Errorf("local heap: %v", err)
	}
	heapStr := func(off uint64) (string, error) {
		if off >= uint64(len(heap)) {
			return "", fmt.Errorf("corrupt: name at offset %d beyond the local heap (%d bytes)", off, len(heap))
		}
		s := heap[off:]
		if i := bytes.IndexByte(s, 0); i >= 0 {
			s = s[:i]
		}
		return string(s), nil
	}
	var links []h5link
	var snods []uint64
	if err := h.btree1(bt, map[uint64]bool{}, func(key []byte, child uint64) error {
		snods = append(snods, child)
		return nil
	}); err != nil {
		return nil, err
	}
	for _, sa := range snods {
		if err := h.spend(1); err != nil {
			return nil, err
		}
		d, err := h.from(sa)
		if err != nil {
			return nil, err
		}
		if err := sig(d, "SNOD"); err != nil {
			return nil, err
		}
		d.skip(2)
		n := int(d.u16())
		for range n {
			nameOff, oh := h.length(d), h.addr(d)
			cache := d.u32()
			d.skip(4)
			scratch := d.bytes(16)
			if d.bad {
				return nil, fmt.Errorf("symbol table node: %w", errH5Short)
			}
			name, err := heapStr(nameOff)
			if err != nil {
				return nil, err
			}
			l := h5link{name: name, addr: oh}
			if cache == 2 { // a soft link: the scratch pad holds its value's offset in the heap
				l.kind = 1
				l.target, _ = heapStr(uint64(binary.LittleEndian.Uint32(scratch)))
			}
			links = append(links, l)
		}
	}
	return links, nil
}

// btree1 walks the version-1 B-tree of a group at a (node type 0; chunk indexes are walked by
// chunkBtree), calling leaf with each leaf entry's key (the one before the child) and child.
func (h *h5file) btree1(a uint64, seen map[uint64]bool, leaf func(key []byte, child uint64) error) error {
	type node struct {
		a     uint64
		level int
	}
	stack := []node{{a, -1}}
	for len(stack) > 0 {
		nd := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		d, level, n, err := h.btree1Node(nd.a, 0, nd.level, seen)
		if err != nil {
			return err
		}
		var kids []node
		for range n {
			key := d.bytes(h.sl)
			child := h.addr(d)
			if d.bad {
				return fmt.Errorf("chunk or group index (B-tree node): %w", errH5Short)
			}
			if level == 0 {
				if err := leaf(key, child); err != nil {
					return err
				}
			} else {
				kids = append(kids, node{child, level - 1})
			}
		}
		for i := len(kids) - 1; i >= 0; i-- {
			stack = append(stack, kids[i])
		}
	}
	return nil
}

// btree1Node reads the header of the version-1 B-tree node at a, of type typ, at level want (-1
// for the root: any), reached for the first time (seen): it returns a decoder at its first key,
// its level and its number of children.
func (h *h5file) btree1Node(a uint64, typ byte, want int, seen map[uint64]bool) (d *h5dec, level, n int, err error) {
	if seen[a] {
		return nil, 0, 0, errors.New("corrupt: a B-tree node reached twice")
	}
	seen[a] = true
	if err := h.spend(1); err != nil {
		return nil, 0, 0, err
	}
	if d, err = h.from(a); err != nil {
		return nil, 0, 0, fmt.Errorf("chunk or group index (B-tree): %v", err)
	}
	if err := sig(d, "TREE"); err != nil {
		return nil, 0, 0, err
	}
	if t := byte(d.u8()); t != typ {
		return nil, 0, 0, fmt.Errorf("corrupt: B-tree node of type %d, want %d", t, typ)
	}
	level = int(d.u8())
	if want >= 0 && level != want {
		return nil, 0, 0, fmt.Errorf("corrupt: B-tree node at level %d, want %d", level, want)
	}
	n = int(d.u16())
	h.addr(d) // siblings
	h.addr(d)
	return d, level, n, nil
}

// btree2 walks the version-2 B-tree at a, calling rec with each record.
func (h *h5file) btree2(a uint64, typ byte, rec func(r []byte) error) error {
	d, err := h.from(a)
	if err != nil {
		return fmt.Errorf("version-2 B-tree: %v", err)
	}
	if err := sig(d, "BTHD"); err != nil {
		return err
	}
	d.u8()
	if t := byte(d.u8()); t != typ {
		return fmt.Errorf("corrupt: version-2 B-tree of type %d, want %d", t, typ)
	}
	nodeSize, recSize, depth := d.u32(), d.u16(), int(d.u16())
	d.skip(2)
	root, nroot := h.addr(d), d.u16()
	if err := d.err("version-2 B-tree header"); err != nil {
		return err
	}
	if recSize == 0 || nodeSize < 10+recSize || nodeSize > 1<<24 || depth > 64 {
		return fmt.Errorf("corrupt: version-2 B-tree of %d-byte nodes, %d-byte records, depth %d", nodeSize, recSize, depth)
	}
	// The sizes of the child pointers' record counts (H5B2 header init).
	encSize := func(n uint64) int { return bits.Len64(n)/8 + 1 }
	maxNrec := make([]uint64, depth+1)
	cumMax := make([]uint64, depth+1)
	cumSize := make([]int, depth+1)
	maxNrec[0] = (nodeSize - 10) / recSize
	cumMax[0] = maxNrec[0]
	maxNrecSize := encSize(maxNrec[0])
	ptrSize := func(u int) int {
		s := h.so + maxNrecSize
		if u > 1 {
			s += cumSize[u-1]
		}
		return s
	}
	for u := 1; u <= depth; u++ {
		ps := uint64(ptrSize(u))
		if nodeSize < 10+ps {
			return errors.New("corrupt: version-2 B-tree nodes too small")
		}
		maxNrec[u] = (nodeSize - 10 - ps) / (recSize + ps)
		cumMax[u] = (maxNrec[u]+1)*cumMax[u-1] + maxNrec[u]
		if cumMax[u] > 1<<40 {
			cumMax[u] = 1 << 40
		}
		cumSize[u] = encSize(cumMax[u])
	}
	if h.undef(root) || nroot == 0 {
		return nil
	}
	seen := map[uint64]bool{}
	var walk func(a uint64, n uint64, depth int) error
	walk = func(a uint64, n uint64, depth int) error {
		if seen[a] {
			return errors.New("corrupt: a version-2 B-tree node reached twice")
		}
		seen[a] = true
		if err := h.spend(1); err != nil {
			return err
		}
		if n > maxNrec[depth] {
			return fmt.Errorf("corrupt: version-2 B-tree node of %d records (at most %d)", n, maxNrec[depth])
		}
		d, err := h.from(a)
		if err != nil {
			return err
		}
		want := "BTLF"
		if depth > 0 {
			want = "BTIN"
		}
		if err := sig(d, want); err != nil {
			return err
		}
		d.skip(2)
		if n > uint64(d.left())/recSize {
			return fmt.Errorf("truncated or corrupt: version-2 B-tree node of %d records", n)
		}
		recs := make([][]byte, n)
		for i := range recs {
			recs[i] = d.bytes(int(recSize))
		}
		if depth == 0 {
			if d.bad {
				return fmt.Errorf("version-2 B-tree leaf: %w", errH5Short)
			}
			for _, r := range recs {
				if err := rec(r); err != nil {
					return err
				}
			}
			return nil
		}
		type ptr struct{ a, n uint64 }
		ptrs := make([]ptr, n+1)
		for i := range ptrs {
			ptrs[i].a = h.addr(d)
			ptrs[i].n = d.uint(maxNrecSize)
			if depth > 1 {
				d.uint(cumSize[depth-1])
			}
		}
		if d.bad {
			return fmt.Errorf("version-2 B-tree node: %w", errH5Short)
		}
		for i, p := range ptrs {
			if err := walk(p.a, p.n, depth-1); err != nil {
				return err
			}
			if i < len(recs) {
				if err := rec(recs[i]); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return walk(root, nroot, depth)
}

// denseLinks lists the links of a group stored in a fractal heap, through its name index.
func (h *h5file) denseLinks(heapAddr, names uint64) ([]h5link, error) {
	fh, err := h.fractalHeap(heapAddr)
	if err != nil {
		return nil, err
	}
	var links []h5link
	err = h.btree2(names, 5, func(r []byte) error {
		if len(r) < 5 {
			return errors.New("corrupt: link name index record too short")
		}
		obj, err := fh.object(r[4:])
		if err != nil {
			return err
		}
		l, err := h.linkMessage(obj)
		if err != nil {
			return err
		}
		links = append(links, l)
		return nil
	})
	return links, err
}

// h5heap is a fractal heap's managed direct blocks.
type h5heap struct {
	h              *h5file
	idLen          int
	offBytes       int
	lenBytes       int
	blocks         []h5hblock // sorted by offset
	checksummedDir bool
	hugeBT         uint64               // the version-2 B-tree of huge objects
	huge           map[uint64][2]uint64 // huge objects by ID: address and length (read when first needed)
}

type h5hblock struct{ off, addr, size uint64 }

func (h *h5file) fractalHeap(a uint64) (*h5heap, error) {
	d, err := h.from(a)
	if err != nil {
		return nil, err
	}
	if err := sig(d, "FRHP"); err != nil {
		return nil, err
	}
	d.u8()
	idLen, filterLen := int(d.u16()), d.u16()
	flags := d.u8()
	maxMan := d.u32()
	d.skip(h.sl)        // next huge id
	hugeBT := h.addr(d) // huge object B-tree
	d.skip(h.sl)        // free space
	h.addr(d)           // free-space manager
	d.skip(6 * h.sl)    // managed space, allocated, iterator, objects, huge size, huge count
	d.skip(2 * h.sl)    // tiny size, tiny count
	width := d.u16()
	start, maxDirect := h.length(d), h.length(d)
	maxHeapBits := d.u16()
	d.u16() // starting rows
	root := h.addr(d)
	rows := d.u16()
	if err := d.err("fractal heap header"); err != nil {
		return nil, err
	}
	if filterLen != 0 {
		return nil, errors.New("a fractal heap with I/O filters, which is not supported")
	}
	if width == 0 || width > 1<<12 || start == 0 || start&(start-1) != 0 || maxDirect < start || maxDirect&(maxDirect-1) != 0 ||
		maxDirect > 1<<40 || maxHeapBits == 0 || maxHeapBits > 64 || width&(width-1) != 0 {
		return nil, fmt.Errorf("corrupt fractal heap header (width %d, blocks of %d to %d bytes, %d-bit offsets)", width, start, maxDirect, maxHeapBits)
	}
	fh := &h5heap{h: h, idLen: idLen, offBytes: (int(maxHeapBits) + 7) / 8, checksummedDir: flags&2 != 0, hugeBT: hugeBT}
	fh.lenBytes = min((bits.Len64(maxDirect-1)+7)/8, bits.Len64(maxMan)/8+1)
	if h.undef(root) {
		return fh, nil
	}
	rowSize := func(r int) uint64 { // the size of one block of row r
		if r == 0 {
			return start
		}
		if r-1 >= 40 {
			return 1 << 62
		}
		return start << (r - 1)
	}
	maxDirectRows := bits.Len64(maxDirect) - bits.Len64(start) + 2
	firstRowBits := bits.Len64(start) - 1 + bits.Len64(width) - 1
	seen := map[uint64]bool{}
	var indirect func(a, off uint64, nrows int, depth int) error
	indirect = func(a, off uint64, nrows int, depth int) error {
		if seen[a] || depth > 64 || nrows > 64 {
			return errors.New("corrupt fractal heap: a loop or too many rows in its indirect blocks")
		}
		seen[a] = true
		if err := h.spend(1); err != nil {
			return err
		}
		d, err := h.from(a)
		if err != nil {
			return err
		}
		if err := sig(d, "FHIB"); err != nil {
			return err
		}
		d.u8()
		h.addr(d)
		d.skip(fh.offBytes)
		pos := off
		type child struct {
			a, off uint64
			rows   int
		}
		var kids []child
		for r := 0; r < nrows; r++ {
			size := rowSize(r)
			for range width {
				ca := h.addr(d)
				if d.bad {
					return fmt.Errorf("fractal heap indirect block: %w", errH5Short)
				}
				if err := h.spend(1); err != nil {
					return err
				}
				if !h.undef(ca) {
					if r < maxDirectRows {
						fh.blocks = append(fh.blocks, h5hblock{pos, ca, size})
					} else {
						kids = append(kids, child{ca, pos, bits.Len64(size) - 1 - firstRowBits + 1})
					}
				}
				pos += size
			}
		}
		for _, k := range kids {
			if err := indirect(k.a, k.off, k.rows, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	if rows == 0 {
		fh.blocks = append(fh.blocks, h5hblock{0, root, start})
	} else if err := indirect(root, 0, int(rows), 0); err != nil {
		return nil, err
	}
	slices.SortFunc(fh.blocks, func(x, y h5hblock) int {
		switch {
		case x.off < y.off:
			return -1
		case x.off > y.off:
			return 1
		}
		return 0
	})
	return fh, nil
}

// object returns the bytes of the heap object of the given heap ID.
func (fh *h5heap) object(id []byte) ([]byte, error) {
	if len(id) < 1 {
		return nil, errors.New("corrupt: empty heap ID")
	}
	switch id[0] >> 4 & 3 {
	case 0: // managed
		d := &h5dec{b: id[1:]}
		off, n := d.uint(fh.offBytes), d.uint(fh.lenBytes)
		if d.bad {
			return nil, errors.New("corrupt: heap ID too short")
		}
		i, found := slices.BinarySearchFunc(fh.blocks, off, func(b h5hblock, off uint64) int {
			switch {
			case b.off+b.size <= off:
				return -1
			case b.off > off:
				return 1
			}
			return 0
		})
		if !found {
			return nil, fmt.Errorf("corrupt: heap object at offset %d in no block of the heap", off)
		}
		b := fh.blocks[i]
		if n > b.size-(off-b.off) {
			return nil, fmt.Errorf("corrupt: heap object of %d bytes runs past its block", n)
		}
		blk, err := fh.h.at(b.addr, b.size)
		if err != nil {
			return nil, err
		}
		if len(blk) < 4 || string(blk[:4]) != "FHDB" {
			return nil, fmt.Errorf("corrupt: expected a fractal heap direct block (FHDB), found %q", blk[:4])
		}
		return blk[off-b.off : off-b.off+n], nil
	case 2: // tiny
		if fh.idLen > 18 {
			return nil, errors.New("extended tiny heap objects are not supported")
		}
		n := int(id[0]&0x0f) + 1
		if n > len(id)-1 {
			return nil, errors.New("corrupt: tiny heap object longer than its ID")
		}
		return id[1 : 1+n], nil
	}
	// Huge: stored apart from the heap's blocks (an object larger than its managed objects may be,
	// as a link name of more than about 4 KB); the ID holds its address and length, or its key in
	// the huge objects' B-tree.
	h := fh.h
	if len(id)-1 >= h.so+h.sl {
		d := &h5dec{b: id[1:]}
		a, n := h.addr(d), h.length(d)
		return h.at(a, n)
	}
	if fh.huge == nil {
		fh.huge = map[uint64][2]uint64{}
		if err := h.btree2(fh.hugeBT, 1, func(r []byte) error {
			d := &h5dec{b: r}
			a, n, key := h.addr(d), h.length(d), h.length(d)
			if err := d.err("huge object record"); err != nil {
				return err
			}
			fh.huge[key] = [2]uint64{a, n}
			return nil
		}); err != nil {
			return nil, fmt.Errorf("huge objects: %v", err)
		}
	}
	d := &h5dec{b: id[1:]}
	key := d.uint(min(len(id)-1, 8))
	o, ok := fh.huge[key]
	if !ok {
		return nil, fmt.Errorf("corrupt: huge heap object %d not in the heap's index", key)
	}
	return h.at(o[0], o[1])
}
