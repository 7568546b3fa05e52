package array

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
)

// FreeSurfer surfaces (fsaverage's lh.white, lh.pial, lh.sphere, ...: a "triangle file" without
// an extension, told by its magic number) read as their vertices' coordinates, vertices x 3
// float32, as nibabel.freesurfer.read_geometry gives them: the spatial score's --coords for
// surface data such as NSD's betas on fsaverage. The triangles are not read.

// surfaceMagic starts a FreeSurfer triangle file.
var surfaceMagic = []byte{0xff, 0xff, 0xfe}

// isSurface reports whether the file at path starts with the triangle-file magic number.
func isSurface(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	head := make([]byte, 3)
	_, err = io.ReadFull(f, head)
	return err == nil && bytes.Equal(head, surfaceMagic)
}

// openSurface opens a FreeSurfer surface held in buf: one array, its vertices x 3 coordinates.
func openSurface(name string, buf []byte, m *mapping) (*File, error) {
	vertices, off, err := parseSurface(buf)
	if err != nil {
		m.release()
		return nil, fmt.Errorf("%s: FreeSurfer surface: %v", name, err)
	}
	f := newFile(name, buf, m)
	f.npy = true // one array, named after the path
	e := &Entry{Name: name, Shape: []int{vertices, 3}, DType: "float32", label: name}
	e.read = func(f *File, e *Entry) (*Array, error) {
		xyz := make([]float32, 3*vertices)
		for i := range xyz {
			xyz[i] = math.Float32frombits(binary.BigEndian.Uint32(f.buf[off+4*i:]))
		}
		return &Array{Name: name, Shape: []int{vertices, 3}, DType: "float32", F32: xyz}, nil
	}
	f.arrays = []*Entry{e}
	f.byName[name] = e
	return f, nil
}

// parseSurface reads a triangle file's header: the magic number, a line saying who created it
// and a blank line, then the numbers of vertices and faces (big-endian int32); it returns the
// number of vertices and where their coordinates start, after checking that the coordinates and
// faces are all there.
func parseSurface(buf []byte) (vertices, off int, err error) {
	if !bytes.HasPrefix(buf, surfaceMagic) {
		return 0, 0, fmt.Errorf("not a triangle file (magic number %x)", buf[:min(3, len(buf))])
	}
	end := bytes.Index(buf[3:], []byte("\n\n"))
	if end < 0 {
		return 0, 0, fmt.Errorf("truncated header (no end to its first line)")
	}
	off = 3 + end + 2
	if len(buf) < off+8 {
		return 0, 0, fmt.Errorf("truncated header (%d bytes)", len(buf))
	}
	nv, nf := int(int32(binary.BigEndian.Uint32(buf[off:]))), int(int32(binary.BigEndian.Uint32(buf[off+4:])))
	off += 8
	if nv < 1 || nf < 0 || nv > (len(buf)-off)/12 || nf > (len(buf)-off-12*nv)/12 {
		return 0, 0, fmt.Errorf("%d vertices and %d faces in %d bytes of data: truncated or corrupt", nv, nf, len(buf)-off)
	}
	return nv, off, nil
}
