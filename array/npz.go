package array

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"path"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/brainalign/brainalign/internal/atomicfile"
)

// ReadNPZ reads the arrays of an .npz bundle in archive order, each named after its member
// without ".npy". Stored members are used in place (memory-mapped, when their data is aligned);
// deflated members are decompressed. Members that are not arrays (see File.NotArrays) are
// skipped. Close every array when done with it. To read some members only, use Open.
func ReadNPZ(path string) ([]*Array, error) {
	f, err := openFile(path, openNPZ)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.ReadAll()
}

// maxDeflateRatio bounds the declared uncompressed size of a deflated member by its compressed
// size (deflate cannot do better than about 1032:1), so a corrupt size cannot make us allocate
// terabytes.
const maxDeflateRatio = 1100

// openNPZ lists the members of the .npz bundle held in buf, reading the .npy header of each (for
// a deflated member, decompressing the first bytes of its stream only). It takes over the
// caller's reference on m when it succeeds.
func openNPZ(name string, buf []byte, m *mapping) (*File, error) {
	zr, err := zip.NewReader(bytes.NewReader(buf), int64(len(buf)))
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		return nil, fmt.Errorf("%s: not a valid .npz (zip) archive: %v", name, err)
	}
	f := newFile(name, buf, m)
	for _, zf := range zr.File {
		if strings.HasSuffix(zf.Name, "/") {
			continue // a directory entry
		}
		e := &Entry{Name: strings.TrimSuffix(zf.Name, ".npy"), Member: zf.Name, zf: zf,
			label: fmt.Sprintf("%s: member %s", name, zf.Name)}
		magic, err := f.probeMember(e)
		if err != nil {
			e.Err = fmt.Errorf("%s: %w", e.label, err)
			var de *decompressErr
			e.recheck = zf.Method == zip.Deflate && !errors.As(err, &de)
		}
		// numpy's rule (NpzFile): a member is an array when it starts with the .npy magic. A
		// member named .npy that does not (or cannot be read) is a corrupt array, unless it is
		// macOS metadata (__MACOSX/._x.npy), which is never an array.
		if err != nil && !magic && (!strings.HasSuffix(zf.Name, ".npy") || isAppleDouble(zf.Name)) {
			f.others = append(f.others, e)
			continue
		}
		if f.byName[e.Name] != nil {
			return nil, fmt.Errorf("%s: appears twice", e.label)
		}
		f.byName[e.Name] = e
		f.arrays = append(f.arrays, e)
	}
	return f, nil
}

// isAppleDouble reports whether a member is macOS metadata: a file under __MACOSX/, or an
// AppleDouble file ("._name") that the Finder's Compress adds next to each file.
func isAppleDouble(name string) bool {
	return strings.HasPrefix(name, "__MACOSX/") || strings.Contains(name, "/__MACOSX/") ||
		strings.HasPrefix(path.Base(name), "._")
}

// probeMember reads the .npy header of a member into e, and reports whether the member starts
// with the .npy magic (false also when that could not be read).
func (f *File) probeMember(e *Entry) (magic bool, err error) {
	zf := e.zf
	switch zf.Method {
	case zip.Store:
		off, size, err := f.storedRange(zf)
		if err != nil {
			return false, err
		}
		e.off, e.size = off, size
		l, err := npyLayoutOf(f.buf[off:off+size], size)
		if err != nil {
			return !errors.Is(err, errBadMagic), err
		}
		setLayout(e, l)
		return true, nil
	case zip.Deflate:
		usize, err := f.deflatedSize(zf)
		if err != nil {
			return false, err
		}
		rc, err := zf.Open()
		if err != nil {
			return false, err
		}
		defer rc.Close()
		// The first bytes say where the header ends; then the header; never the data.
		head := make([]byte, min(usize, 12))
		if _, err := io.ReadFull(rc, head); err != nil {
			return false, decompressError(err)
		}
		_, _, end, err := npyPrefixLen(head, usize)
		if err != nil {
			return !errors.Is(err, errBadMagic), err
		}
		if end > len(head) { // read as it comes: the length is the file's word, not yet the data's
			rest, err := io.ReadAll(io.LimitReader(rc, int64(end-len(head))))
			if err == nil && len(rest) < end-len(head) {
				err = io.ErrUnexpectedEOF
			}
			if err != nil {
				return true, decompressError(err)
			}
			head = append(head, rest...)
		}
		l, err := npyLayoutOf(head, usize)
		if err != nil {
			return true, err
		}
		setLayout(e, l)
		return true, nil
	}
	return false, fmt.Errorf("unsupported compression method %d", zf.Method)
}

func setLayout(e *Entry, l npyLayout) {
	e.Shape, e.DType, e.Fortran, e.dataOff = l.h.shape, l.h.dtype.name, l.h.fortran, l.off
}

// decompressErr is an error of the decompressor (a corrupt stream, a CRC mismatch).
type decompressErr struct{ err error }

func (e *decompressErr) Error() string { return "decompressing: " + e.err.Error() }

func decompressError(err error) error {
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return &decompressErr{err}
}

// storedRange returns where the bytes of a stored member lie in the file, checking that they lie
// within it.
func (f *File) storedRange(zf *zip.File) (off, size int, err error) {
	off64, err := zf.DataOffset()
	if err != nil {
		return 0, 0, err
	}
	size64 := zf.CompressedSize64
	if zf.UncompressedSize64 != size64 {
		return 0, 0, fmt.Errorf("stored member with compressed size %d != uncompressed size %d", size64, zf.UncompressedSize64)
	}
	if off64 < 0 || uint64(off64) > uint64(len(f.buf)) || size64 > uint64(len(f.buf))-uint64(off64) {
		return 0, 0, fmt.Errorf("data (%d bytes at offset %d) beyond the end of the file (%d bytes)", size64, off64, len(f.buf))
	}
	return int(off64), int(size64), nil
}

// deflatedSize returns the declared uncompressed size of a deflated member, if it is plausible:
// its compressed bytes lie within the file, and the ratio of the sizes is one deflate can reach.
func (f *File) deflatedSize(zf *zip.File) (int, error) {
	off, err := zf.DataOffset()
	if err != nil {
		return 0, err
	}
	csize, usize := zf.CompressedSize64, zf.UncompressedSize64
	if off < 0 || uint64(off) > uint64(len(f.buf)) || csize > uint64(len(f.buf))-uint64(off) {
		return 0, fmt.Errorf("compressed data (%d bytes at offset %d) beyond the end of the file (%d bytes)", csize, off, len(f.buf))
	}
	if usize > math.MaxInt || usize > 1024 && (usize-1024)/maxDeflateRatio > csize {
		return 0, fmt.Errorf("implausible uncompressed size %d for %d compressed bytes", usize, csize)
	}
	return int(usize), nil
}

// readMember reads the array of an .npz member: in place for a stored member, decompressed
// (and its CRC checked) for a deflated one.
func (f *File) readMember(e *Entry) (*Array, error) {
	if e.zf.Method == zip.Store {
		return decodeNPY(e.label, f.buf[e.off:e.off+e.size], f.m)
	}
	usize, err := f.deflatedSize(e.zf)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", e.label, err)
	}
	rc, err := e.zf.Open()
	if err != nil {
		return nil, fmt.Errorf("%s: %v", e.label, err)
	}
	// The buffer grows with the data that arrive, from the size float data compress to (little):
	// a member that declares more than it holds costs no more memory than it holds.
	data := make([]byte, 0, min(usize, 4*int(e.zf.CompressedSize64)+1<<20))
	for len(data) < usize && err == nil {
		if len(data) == cap(data) {
			data = slices.Grow(data, min(usize-len(data), len(data)))
		}
		var k int
		k, err = io.ReadFull(rc, data[len(data):min(cap(data), usize)])
		data = data[:len(data)+k]
	}
	if err == nil {
		// Read to the end: the CRC is checked there, and longer data is an error.
		var extra [1]byte
		var k int
		k, err = rc.Read(extra[:])
		if k > 0 {
			err = fmt.Errorf("more data than its declared %d bytes", usize)
		} else if err == io.EOF {
			err = nil
		}
	}
	rc.Close()
	if err != nil {
		return nil, fmt.Errorf("%s: %v", e.label, decompressError(err))
	}
	return decodeNPY(e.label, data, nil)
}

// zipLocalHeaderLen is the fixed part of a zip local file header.
const zipLocalHeaderLen = 30

// zipAlignExtraID tags the padding extra field, as Android's zipalign does; readers skip
// unknown extra fields.
const zipAlignExtraID = 0xd935

// WriteNPZ writes arrays to path as an .npz bundle of stored (uncompressed) members named
// Name+".npy", atomically. Each member holds the array's data as it is in memory: float32,
// float64, int64, or the integers of 8 to 32 bits and bools kept as read, in its own order
// (Fortran or C); whatever the array's DType was on disk (a float16 array read as float32 is
// written as float32, a big-endian one little-endian). Members are padded so that their data
// starts at a multiple of 64 bytes and ReadNPZ maps it in place.
func WriteNPZ(path string, arrays []*Array) error {
	write, err := NPZWriter(arrays)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return atomicfile.Write(path, write)
}

// NPZWriter checks arrays and returns the function that writes them as WriteNPZ does, for a
// file written otherwise (atomicfile.Batch.Write); its errors name no file.
func NPZWriter(arrays []*Array) (func(w io.Writer) error, error) {
	type member struct {
		name   string
		prefix []byte
		raw    []byte
		crc    uint32
	}
	members := make([]member, len(arrays))
	seen := map[string]bool{}
	for i, a := range arrays {
		if a == nil {
			return nil, fmt.Errorf("array %d is nil", i)
		}
		if a.Name == "" || strings.HasSuffix(a.Name, "/") {
			return nil, fmt.Errorf("array %d has an invalid name %q", i, a.Name)
		}
		if seen[a.Name] {
			return nil, fmt.Errorf("two arrays named %q", a.Name)
		}
		seen[a.Name] = true
		set := 0
		var data any
		if a.F32 != nil {
			set, data = set+1, a.F32
		}
		if a.F64 != nil {
			set, data = set+1, a.F64
		}
		if a.I64 != nil {
			set, data = set+1, a.I64
		}
		if a.ints != nil { // integers or bools as read, in their own dtype
			set, data = set+1, a.ints
		}
		if set != 1 {
			return nil, fmt.Errorf("array %q: %d of F32, F64, I64 set, want exactly one", a.Name, set)
		}
		descr, raw, n, _ := rawData(data)
		if err := checkShape(a.Shape, n); err != nil {
			return nil, fmt.Errorf("array %q: %w", a.Name, err)
		}
		prefix := npyPrefix(descr, a.Fortran, a.Shape)
		crc := crc32.Update(crc32.ChecksumIEEE(prefix), crc32.IEEETable, raw)
		members[i] = member{a.Name + ".npy", prefix, raw, crc}
	}
	return func(w io.Writer) error {
		zw := zip.NewWriter(w)
		// CreateRaw with known sizes and CRC writes no data descriptor, so the offset of each
		// local header is the sum of what came before and the padding can be computed.
		var off uint64
		for _, mb := range members {
			size := uint64(len(mb.prefix) + len(mb.raw))
			dataOff := off + zipLocalHeaderLen + uint64(len(mb.name))
			pad := (64 - dataOff%64) % 64
			if pad > 0 && pad < 4 {
				pad += 64 // an extra field needs 4 bytes of its own header
			}
			var extra []byte
			if pad > 0 {
				extra = make([]byte, pad)
				extra[0], extra[1] = zipAlignExtraID&0xff, zipAlignExtraID>>8
				extra[2], extra[3] = byte((pad-4)&0xff), byte((pad-4)>>8)
			}
			fh := &zip.FileHeader{
				Name:               mb.name,
				Method:             zip.Store,
				CRC32:              mb.crc,
				CompressedSize64:   size,
				UncompressedSize64: size,
				Extra:              extra,
				//lint:ignore SA1019 a fixed DOS date, without the extended-timestamp field Modified adds
				ModifiedDate: 1<<5 | 1, // 1980-01-01, the zip epoch: output does not depend on the clock
			}
			if !isASCII(mb.name) && utf8.ValidString(mb.name) {
				fh.Flags |= 0x800 // the name is UTF-8
			}
			fw, err := zw.CreateRaw(fh)
			if err != nil {
				return err
			}
			if _, err := fw.Write(mb.prefix); err != nil {
				return err
			}
			if _, err := fw.Write(mb.raw); err != nil {
				return err
			}
			off = dataOff + pad + size
		}
		return zw.Close()
	}, nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
