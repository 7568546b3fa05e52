package array

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"strings"
	"unicode/utf8"

	"github.com/brainalign/brainalign/internal/atomicfile"
)

// ReadNPZ reads the arrays of an .npz bundle in archive order, each named after its member
// without ".npy". Stored members are used in place (memory-mapped, when their data is aligned);
// deflated members are decompressed. Close every array when done with it.
func ReadNPZ(path string) ([]*Array, error) {
	m, err := openData(path)
	if err != nil {
		return nil, err
	}
	defer m.release()
	return decodeNPZ(path, m.data, m)
}

// maxDeflateRatio bounds the declared uncompressed size of a deflated member by its compressed
// size (deflate cannot do better than about 1032:1), so a corrupt size cannot make us allocate
// terabytes.
const maxDeflateRatio = 1100

func decodeNPZ(name string, buf []byte, m *mapping) (arrays []*Array, err error) {
	zr, err := zip.NewReader(bytes.NewReader(buf), int64(len(buf)))
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		return nil, fmt.Errorf("%s: not a valid .npz (zip) archive: %v", name, err)
	}
	defer func() {
		if err != nil {
			for _, a := range arrays {
				a.Close()
			}
			arrays = nil
		}
	}()
	seen := map[string]bool{}
	for _, f := range zr.File {
		if strings.HasSuffix(f.Name, "/") {
			continue // a directory entry
		}
		label := fmt.Sprintf("%s: member %s", name, f.Name)
		an := strings.TrimSuffix(f.Name, ".npy")
		if seen[an] {
			return arrays, fmt.Errorf("%s: appears twice", label)
		}
		seen[an] = true
		var a *Array
		switch f.Method {
		case zip.Store:
			off, err := f.DataOffset()
			if err != nil {
				return arrays, fmt.Errorf("%s: %v", label, err)
			}
			size := f.CompressedSize64
			if f.UncompressedSize64 != size {
				return arrays, fmt.Errorf("%s: stored member with compressed size %d != uncompressed size %d", label, size, f.UncompressedSize64)
			}
			if off < 0 || uint64(off) > uint64(len(buf)) || size > uint64(len(buf))-uint64(off) {
				return arrays, fmt.Errorf("%s: data (%d bytes at offset %d) beyond the end of the file (%d bytes)", label, size, off, len(buf))
			}
			a, err = decodeNPY(label, buf[off:uint64(off)+size], m)
			if err != nil {
				return arrays, err
			}
		case zip.Deflate:
			usize := f.UncompressedSize64
			if usize > math.MaxInt || usize > maxDeflateRatio*f.CompressedSize64+1024 {
				return arrays, fmt.Errorf("%s: implausible uncompressed size %d for %d compressed bytes", label, usize, f.CompressedSize64)
			}
			rc, err := f.Open()
			if err != nil {
				return arrays, fmt.Errorf("%s: %v", label, err)
			}
			data := make([]byte, usize)
			_, err = io.ReadFull(rc, data)
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
				return arrays, fmt.Errorf("%s: decompressing: %v", label, err)
			}
			a, err = decodeNPY(label, data, nil)
			if err != nil {
				return arrays, err
			}
		default:
			return arrays, fmt.Errorf("%s: unsupported compression method %d", label, f.Method)
		}
		a.Name = an
		arrays = append(arrays, a)
	}
	return arrays, nil
}

// zipLocalHeaderLen is the fixed part of a zip local file header.
const zipLocalHeaderLen = 30

// zipAlignExtraID tags the padding extra field, as Android's zipalign does; readers skip
// unknown extra fields.
const zipAlignExtraID = 0xd935

// WriteNPZ writes arrays to path as an .npz bundle of stored (uncompressed) members named
// Name+".npy", atomically. Each member holds the array's data as it is in memory: float32,
// float64 or int64, in its own order (Fortran or C); whatever the array's DType was on disk (a
// float16 array read as float32 is written as float32). Members are padded so that their data
// starts at a multiple of 64 bytes and ReadNPZ maps it in place.
func WriteNPZ(path string, arrays []*Array) error {
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
			return fmt.Errorf("%s: array %d is nil", path, i)
		}
		if a.Name == "" || strings.HasSuffix(a.Name, "/") {
			return fmt.Errorf("%s: array %d has an invalid name %q", path, i, a.Name)
		}
		if seen[a.Name] {
			return fmt.Errorf("%s: two arrays named %q", path, a.Name)
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
		if set != 1 {
			return fmt.Errorf("%s: array %q: %d of F32, F64, I64 set, want exactly one", path, a.Name, set)
		}
		descr, raw, n, _ := rawData(data)
		if err := checkShape(a.Shape, n); err != nil {
			return fmt.Errorf("%s: array %q: %w", path, a.Name, err)
		}
		prefix := npyPrefix(descr, a.Fortran, a.Shape)
		crc := crc32.Update(crc32.ChecksumIEEE(prefix), crc32.IEEETable, raw)
		members[i] = member{a.Name + ".npy", prefix, raw, crc}
	}
	return atomicfile.Write(path, func(w io.Writer) error {
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
				ModifiedDate:       1<<5 | 1, // 1980-01-01, the zip epoch: output does not depend on the clock
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
	})
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
