package array

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/brainalign/brainalign/internal/atomicfile"
)

// Neuroimaging files: NIfTI-1 and NIfTI-2 (.nii, .nii.gz) and FreeSurfer's MGH (.mgh, .mgz),
// the formats fMRI data come in (volumes, and surfaces such as fsaverage: width = vertices).
// Their data are stored with x varying fastest and time (volumes, frames) slowest; NiBabel shows
// them as arrays indexed [x, y, z, t]. Read gives the same values with time first, as brain data
// have their images on the first axis: shape (t, x, y, z), C order, so that scores over the
// targets keep NiBabel's (x, y, z) indexing. A file without a time axis (3-d) reads as (x, y, z).
// CIFTI-2 files (NIfTI-2 of 1 x 1 x 1 x 1 x rows x grayordinates, intent 3000-3099: dense time
// series, scalars, labels, parcellated series) read as rows x grayordinates, as NiBabel's
// get_fdata gives them; their Geometry writes results as CIFTI scalar files over the same
// grayordinates (cifti.go).
// Integer data are converted to float32 (float64 for 32- and 64-bit integers), with NIfTI's
// scl_slope and scl_inter applied as NiBabel's get_fdata does; Array.DType is the stored type.
// Array.Geometry keeps the header, so that results over the voxels or vertices can be written
// back in the same space (WriteVolume).
// Open reads the header only (of a .nii.gz or .mgz, the start of its stream); Read streams the
// data from the file, inflating as it goes, each piece converted into its place in the values:
// the compressed file and the stored data are never held whole beside the values. As for a
// deflated .npz member, a stream corrupt past the header (a bad checksum) is Read's error.

// Geometry is the header of a NIfTI or MGH file: what WriteVolume needs to write a volume in
// the same space (voxel sizes, orientation, affine).
type Geometry struct {
	Format  string // "nifti1", "nifti2", "mgh", "cifti", "gifti", or "parts" (Join)
	Spatial []int  // the sizes of the x, y and z axes (surfaces: vertices, 1, 1; CIFTI: grayordinates; GIFTI: vertices; parts: targets)
	Parts   []Part // a joined space's parts (parts.go), targets one part after another
	header  []byte // the header as stored (NIfTI: without extensions)
	trailer []byte // MGH: what follows the data, written back after them (mghTrailer)
	order   binary.ByteOrder
	xml     []byte      // CIFTI: the XML extension
	grays   *ciftiGrays // CIFTI: the grayordinates map
	gifti   *giftiInfo
}

// Targets returns the number of voxels, vertices or grayordinates.
func (g *Geometry) Targets() int {
	n := 1
	for _, d := range g.Spatial {
		n *= d
	}
	return n
}

// OfMaps reports whether g's files hold maps over it, rows x targets (CIFTI and GIFTI files): a
// mask or an atlas in such a file is one map, 1 x targets.
func (g *Geometry) OfMaps() bool { return g.Format == "cifti" || g.Format == "gifti" }

// OneFrame reports whether a is a NIfTI volume stored as one frame of a 4-d file (x, y, z, 1 as
// NiBabel shows it: fslroi's masks, some pipelines' maps), read as 1 x (x, y, z): as a mask, an
// atlas or a map over the voxels it is the volume, shaped as its Geometry's Spatial, as nilearn
// takes it (MGH files of one frame already read as 3-d).
func (a *Array) OneFrame() bool {
	g := a.Geometry
	return g != nil && (g.Format == "nifti1" || g.Format == "nifti2") && len(a.Shape) == 4 && a.Shape[0] == 1
}

// IsNeuro reports whether path names a NIfTI or MGH file, by extension (.nii, .nii.gz, .mgh,
// .mgz): a file of one array, named after the path.
func IsNeuro(path string) bool {
	p := strings.ToLower(path)
	for _, ext := range []string{".nii", ".nii.gz", ".mgh", ".mgz", ".gii"} {
		if strings.HasSuffix(p, ext) {
			return true
		}
	}
	return false
}

// openNeuroFile opens a NIfTI or MGH file, reading only its header (of a .nii.gz or .mgz, only
// the start of the stream is inflated). The file stays open for Read, which streams the data
// from it: neither the compressed bytes nor the stored data are ever held whole.
func openNeuroFile(path string) (*File, error) {
	osf, err := openRegular(path)
	if err != nil {
		return nil, err
	}
	st, err := osf.Stat()
	if err != nil {
		osf.Close()
		return nil, pathError(path, err)
	}
	f, err := newNeuroFile(path, newNeuroSource(path, osf, st.Size()), nil, nil)
	if err != nil {
		osf.Close()
		return nil, err
	}
	f.closer = osf // read from, not mapped: the data's bytes are not resident beside the values
	return f, nil
}

// openNeuro opens a NIfTI, MGH or GIFTI file held in buf (the fuzz targets' input), taking over
// the caller's reference on m when it succeeds.
func openNeuro(name string, buf []byte, m *mapping) (*File, error) {
	if isGIFTI(name) {
		return openGIFTI(name, buf, m)
	}
	return newNeuroFile(name, newNeuroSource(name, bytes.NewReader(buf), int64(len(buf))), buf, m)
}

// newNeuroFile reads the header of the NIfTI or MGH file in src: a File of its one array.
func newNeuroFile(name string, src neuroSource, buf []byte, m *mapping) (*File, error) {
	h, err := src.header()
	if err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	f := newFile(name, buf, m)
	f.npy = true // one array, named after the path
	e := &Entry{Name: name, Shape: h.shape(), DType: h.t.name, label: name}
	e.read = func(*File, *Entry) (*Array, error) { return h.read(name, src) }
	f.arrays = []*Entry{e}
	f.byName[name] = e
	return f, nil
}

func gunzip(buf []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(buf))
	if err != nil {
		return nil, fmt.Errorf("not gzip-compressed: %v", err)
	}
	// The gzip trailer's ISIZE (the size mod 2^32) sizes the buffer at once: growing it by
	// doubling copied and cleared the data several times (a third of reading a 300 MB .nii.gz).
	// A hint beyond deflate's largest ratio (about 1032:1) is a corrupt trailer, not a size.
	var out bytes.Buffer
	if n := len(buf); n >= 4 {
		if hint := int(binary.LittleEndian.Uint32(buf[n-4:])); hint/1032 <= n {
			out.Grow(hint + bytes.MinRead)
		}
	}
	if _, err := out.ReadFrom(zr); err != nil {
		return nil, fmt.Errorf("decompressing: %v", err)
	}
	return out.Bytes(), nil
}

// neuroTrailer is how far Read inflates on past the data for the end of the stream, where gzip's
// checksum is checked: MGH's tags (TR, flip angle, ...) and padding fit in it.
const neuroTrailer = 1 << 20

// neuroReadBuffer is the buffer a .nii.gz or .mgz is read through for inflating.
const neuroReadBuffer = 256 << 10

// neuroSource is where a NIfTI or MGH file's bytes are read from: the open file (or, for the
// fuzz targets, bytes in memory), read again from the start, decompressed, by each Read.
type neuroSource struct {
	r    io.ReaderAt
	size int64
	gz   bool // .nii.gz, .mgz
	mgh  bool // .mgh, .mgz
}

func newNeuroSource(name string, r io.ReaderAt, size int64) neuroSource {
	lower := strings.ToLower(name)
	return neuroSource{r: r, size: size,
		gz:  strings.HasSuffix(lower, ".gz") || strings.HasSuffix(lower, ".mgz"),
		mgh: strings.HasSuffix(lower, ".mgh") || strings.HasSuffix(lower, ".mgz")}
}

// stream returns a reader of the file's bytes from the start, decompressed.
func (s neuroSource) stream() (io.Reader, error) {
	r := io.NewSectionReader(s.r, 0, s.size)
	if !s.gz {
		return r, nil
	}
	zr, err := gzip.NewReader(bufio.NewReaderSize(r, int(min(s.size, neuroReadBuffer))))
	if err != nil {
		return nil, fmt.Errorf("not gzip-compressed: %v", err)
	}
	return zr, nil
}

// failed words an error of reading the stream (other than its clean end).
func (s neuroSource) failed(err error) error {
	if s.gz {
		return fmt.Errorf("decompressing: %v", err)
	}
	return fmt.Errorf("reading: %v", err)
}

func (s neuroSource) parse(buf []byte) (*neuroHeader, error) {
	if s.mgh {
		return parseMGH(buf)
	}
	return parseNIfTI(buf)
}

// header reads and parses the file's header: of a CIFTI file, with its XML extension (as far as
// the file goes: a file ending before its data's offset is found truncated by Read).
func (s neuroSource) header() (*neuroHeader, error) {
	r, err := s.stream()
	if err != nil {
		return nil, err
	}
	head, err := io.ReadAll(io.LimitReader(r, 540))
	if err != nil {
		return nil, s.failed(err)
	}
	h, err := s.parse(head)
	if err == nil && h.unsetOffset {
		err = s.placeData(h)
	}
	if err != nil || !h.cifti || len(head) >= h.offset {
		return h, err
	}
	rest, err := io.ReadAll(io.LimitReader(r, int64(h.offset-len(head))))
	if err != nil {
		return nil, s.failed(err)
	}
	return s.parse(append(head, rest...))
}

// placeData places the data of a single-file NIfTI header whose vox_offset is 0 (unset, as in a
// .hdr/.img pair's header), where readers disagree: NiBabel takes it as it is and reads the
// header's bytes as data; nifti_clib (FSL, AFNI) reads from the end of the header (348 for
// NIfTI-1). The data are taken to end the file: after the header and its 4-byte extension flag
// (352, where NiBabel and FreeSurfer write them) or, as nifti_clib reads them, after the header
// alone; a file of another size is refused. A .nii.gz's size is the gzip trailer's (ISIZE, the
// size modulo 2^32).
func (s neuroSource) placeData(h *neuroHeader) error {
	size := int64(h.t.size)
	for _, d := range h.dims {
		size *= int64(d)
	}
	total, what := s.size, "the file's"
	if s.gz {
		var isize [4]byte
		if s.size < int64(len(isize)) {
			return errors.New("not gzip-compressed: too short")
		}
		if _, err := s.r.ReadAt(isize[:], s.size-4); err != nil {
			return s.failed(err)
		}
		total, what = int64(binary.LittleEndian.Uint32(isize[:])), "the gzip trailer's"
	}
	hdrLen := int64(h.offset - 4)
	for _, offset := range []int64{hdrLen + 4, hdrLen} {
		end := offset + size
		if s.gz {
			end %= 1 << 32
		}
		if end == total {
			h.offset = int(offset)
			return nil
		}
	}
	return fmt.Errorf("vox_offset 0 (unset), and the %d bytes of data end the file neither from byte %d (the header and its extension flag) nor from %d (the header alone): %s size is %d bytes; readers disagree on such a file (NiBabel reads the header as data): rewrite it with vox_offset set",
		size, hdrLen+4, hdrLen, what, total)
}

// neuroHeader is what reading the data needs from a NIfTI or MGH header.
type neuroHeader struct {
	geo          *Geometry
	cifti        bool  // a CIFTI matrix: dims are (rows, grayordinates), rows varying fastest
	dims         []int // as stored, x first (NiBabel's shape)
	t            dtype
	order        binary.ByteOrder
	offset       int     // where the data start
	unsetOffset  bool    // NIfTI's vox_offset 0: offset is placed by the file's size (placeData)
	slope, inter float64 // NIfTI scaling (slope 0: none)
}

// shape is the array's shape as Read gives it: the last axis (time) first for 4-d data; a CIFTI
// matrix as NiBabel gives it (series or maps x grayordinates).
func (h *neuroHeader) shape() []int {
	if !h.cifti && len(h.dims) == 4 {
		return []int{h.dims[3], h.dims[0], h.dims[1], h.dims[2]}
	}
	return append([]int(nil), h.dims...)
}

// grid is the data's layout as frames of x-fastest nx x ny x nz volumes, which Read gives in C
// order, frame first. A CIFTI matrix, rows varying fastest, is one volume of rows x 1 x
// grayordinates: in C order, rows x grayordinates.
func (h *neuroHeader) grid() (nx, ny, nz, frames int) {
	if h.cifti {
		return h.dims[0], 1, h.dims[1], 1
	}
	nx, ny, nz, frames = h.dims[0], 1, 1, 1
	if len(h.dims) > 1 {
		ny = h.dims[1]
	}
	if len(h.dims) > 2 {
		nz = h.dims[2]
	}
	if len(h.dims) > 3 {
		frames = h.dims[3]
	}
	return nx, ny, nz, frames
}

// neuroBufferBytes is about how many stored bytes Read holds at once: the pieces, each of whole
// z-slices (one at least), being read, and converted on the cores. A variable for the tests.
var neuroBufferBytes = 4 << 20

// neuroRun bounds the z-slices transposed together (the output's runs of contiguous values),
// and neuroPlaneValues their buffer. Variables for the tests.
var neuroRun, neuroPlaneValues = 64, 1 << 15

// read reads the data from src: the values converted to float, scaled, and reordered from
// x-fastest storage to C order with time first. The data are streamed (inflated as they come
// for .nii.gz and .mgz) a piece of whole z-slices at a time, each converted straight into its
// place in the values on one of the cores while the next is read: beside the values, only a
// few pieces are held.
func (h *neuroHeader) read(name string, src neuroSource) (*Array, error) {
	n := 1
	for _, d := range h.dims {
		n *= d
	}
	size := n * h.t.size
	truncated := func(have int64) error {
		return fmt.Errorf("%s: truncated: %d bytes of data expected from offset %d, the file has %d", name, size, h.offset, have)
	}
	if h.offset+size < h.offset {
		return nil, truncated(src.size)
	}
	var r io.Reader
	if src.gz {
		zr, err := src.stream()
		if err != nil {
			return nil, fmt.Errorf("%s: %v", name, err)
		}
		if h.offset+size > maxInflate(int(src.size)) {
			// More than deflate can put in the file's bytes: it ends sooner. It is inflated as far
			// as it goes (for the message, and its checksum), the values never allocated.
			got, err := io.CopyN(io.Discard, zr, int64(h.offset+size))
			if err != nil && err != io.EOF {
				return nil, fmt.Errorf("%s: %v", name, src.failed(err))
			}
			return nil, truncated(got)
		}
		if got, err := io.CopyN(io.Discard, zr, int64(h.offset)); err == io.EOF {
			return nil, truncated(got)
		} else if err != nil {
			return nil, fmt.Errorf("%s: %v", name, src.failed(err))
		}
		r = zr
	} else {
		if int64(h.offset)+int64(size) > src.size {
			return nil, truncated(src.size)
		}
		r = io.NewSectionReader(src.r, int64(h.offset), int64(size))
	}
	a := &Array{Name: name, Shape: h.shape(), DType: h.t.name, Geometry: h.geo}
	if h.t.size >= 4 && h.t.kind != 'f' || h.t.size == 8 {
		a.F64 = make([]float64, n)
	} else {
		a.F32 = make([]float32, n)
	}
	touched := 0
	if !src.gz { // the data are there: the pages are touched at once, on every core
		touchValues(a, 0, n)
		touched = n
	}
	if got, err := h.convert(r, a, touched); err == io.EOF {
		return nil, truncated(int64(h.offset) + got)
	} else if err != nil {
		return nil, fmt.Errorf("%s: %v", name, src.failed(err))
	}
	var tail []byte
	if src.gz { // the data are all there: the rest of the stream, for its checksum (and MGH's trailer)
		var err error
		if tail, err = io.ReadAll(io.LimitReader(r, neuroTrailer)); err != nil {
			return nil, fmt.Errorf("%s: %v", name, src.failed(err))
		}
	} else if src.mgh {
		tail = make([]byte, min(neuroTrailer, src.size-int64(h.offset+size)))
		if _, err := src.r.ReadAt(tail, int64(h.offset+size)); err != nil && err != io.EOF {
			return nil, fmt.Errorf("%s: %v", name, src.failed(err))
		}
	}
	if src.mgh {
		// a copy: the header's space is every read's, and the trailer this read's
		geo := *h.geo
		geo.trailer = mghTrailer(tail)
		a.Geometry = &geo
	}
	return a, nil
}

// neuroPiece is z-slices [first, first+count) of the data (numbered across frames), stored.
type neuroPiece struct {
	raw          []byte
	first, count int
}

// convert reads the data from r into a's values, a piece at a time, converting pieces on every
// core as they are read, and touching the pages of a's values from touched on as they come. It
// returns how many bytes it read, and io.EOF if r ended before the data did (any other error of
// r's as it is).
func (h *neuroHeader) convert(r io.Reader, a *Array, touched int) (int64, error) {
	nx, ny, nz, frames := h.grid()
	sliceBytes, slices := nx*ny*h.t.size, frames*nz
	// as many workers as pieces of a slice or more fit in the buffers (one at least): a surface's
	// slice (one frame of 163,842 vertices) is a piece of its own, and each worker holds one
	workers := min(runtime.GOMAXPROCS(0), slices, max(1, neuroBufferBytes/sliceBytes-2))
	per := max(1, neuroBufferBytes/(workers+2)/sliceBytes) // z-slices a piece
	pieces := (slices + per - 1) / per
	workers = min(workers, pieces)
	var got int64
	touch := func(p neuroPiece) {
		end := ((p.first+p.count-1)/nz + 1) * nx * ny * nz // the end of the piece's last frame
		touchValues(a, touched, end)
		touched = max(touched, end)
	}
	if workers <= 1 { // one piece (or one core): nothing to overlap
		buf := make([]byte, min(per, slices)*sliceBytes)
		sc := h.newScratch()
		for first := 0; first < slices; first += per {
			count := min(per, slices-first)
			n, err := readFull(r, buf[:count*sliceBytes])
			got += int64(n)
			if err != nil {
				return got, err
			}
			p := neuroPiece{buf, first, count}
			touch(p)
			h.put(a, p, sc)
		}
		return got, nil
	}
	// Pieces go from the reader to the toucher, which touches the values' pages of their frames
	// in order (as far as the data read go: a short file is not given the memory it claims),
	// and on to a worker. Buffers go round: one read into, one being touched for, and one being
	// converted on each worker.
	free := make(chan []byte, workers+2)
	made := 0
	read, pending := make(chan neuroPiece), make(chan neuroPiece)
	var wg sync.WaitGroup
	wg.Go(func() {
		for p := range read {
			touch(p)
			pending <- p
		}
		close(pending)
	})
	for range workers {
		wg.Go(func() {
			sc := h.newScratch()
			for p := range pending {
				h.put(a, p, sc)
				free <- p.raw
			}
		})
	}
	var err error
	for first := 0; first < slices; first += per {
		var buf []byte
		select {
		case buf = <-free:
		default:
			if made < cap(free) {
				buf, made = make([]byte, per*sliceBytes), made+1
			} else {
				buf = <-free
			}
		}
		count := min(per, slices-first)
		var n int
		n, err = readFull(r, buf[:count*sliceBytes])
		got += int64(n)
		if err != nil {
			break
		}
		read <- neuroPiece{buf, first, count}
	}
	close(read)
	wg.Wait()
	return got, err
}

// touchValues writes a zero on each page of a's values [start, end) (fresh from the system, all
// zeros), in order and on every core, before anything else writes there: putSlab writes a
// frame's values in runs far apart, and the kernel maps pages first touched that way at twice
// the cost (h5values.touch).
func touchValues(a *Array, start, end int) {
	const page = 4096
	if start >= end {
		return
	}
	if a.F32 != nil {
		inBlocks(end-start, func(i0, i1 int) {
			for i := start + i0; i < start+i1; i += page / 4 {
				a.F32[i] = 0
			}
		})
		return
	}
	inBlocks(end-start, func(i0, i1 int) {
		for i := start + i0; i < start+i1; i += page / 8 {
			a.F64[i] = 0
		}
	})
}

// readFull reads len(buf) bytes from r, or returns io.EOF where r ended cleanly before (a gzip
// stream whose checksum was checked: the file is short) and r's error where it failed (a gzip
// stream cut short is io.ErrUnexpectedEOF, which io.ReadFull would confuse with the former).
func readFull(r io.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := r.Read(buf[n:])
		n += m
		if err != nil && n < len(buf) {
			return n, err
		}
	}
	return n, nil
}

// neuroScratch is one worker's buffers: a stored row, converted, and a plane of z-slices' rows
// being transposed.
type neuroScratch struct {
	row, plane []float64
	run        int // z-slices transposed together
}

func (h *neuroHeader) newScratch() *neuroScratch {
	nx, ny, nz, _ := h.grid()
	run := min(nz, neuroRun, max(1, neuroPlaneValues/nx))
	sc := &neuroScratch{row: make([]float64, nx), run: run}
	if ny > 1 || nz > 1 { // a surface's rows are stored as they are read: no plane to transpose in
		sc.plane = make([]float64, run*nx)
	}
	return sc
}

// put converts a piece into a's values: each frame's z-slices in it, run z-slices at a time.
func (h *neuroHeader) put(a *Array, p neuroPiece, sc *neuroScratch) {
	nx, ny, nz, _ := h.grid()
	for s := p.first; s < p.first+p.count; {
		t, z0 := s/nz, s%nz
		z1 := min(nz, z0+sc.run, z0+p.first+p.count-s)
		h.putSlab(a, p.raw[(s-p.first)*nx*ny*h.t.size:], t, z0, z1, sc)
		s += z1 - z0
	}
}

// putSlab converts z-slices [z0, z1) of frame t, stored x-fastest from the start of raw, into a's
// values in C order over (t, x, y, z). One y at a time, the slices' rows are converted into a
// small plane and transposed there, so that raw is read, and the values written, in runs of
// contiguous values.
func (h *neuroHeader) putSlab(a *Array, raw []byte, t, z0, z1 int, sc *neuroScratch) {
	nx, ny, nz, _ := h.grid()
	base := t * nx * ny * nz
	if ny == 1 && nz == 1 { // a surface's vertices (or a 1-d image): stored as they are read
		row := sc.row
		h.scaled(raw, 0, row)
		if a.F64 != nil {
			copy(a.F64[base:base+nx], row)
			return
		}
		out := a.F32[base : base+nx]
		for i, v := range row {
			out[i] = float32(v)
		}
		return
	}
	zb := z1 - z0
	plane := sc.plane[:zb*nx] // x-major: plane[x*zb+z-z0]
	for y := range ny {
		for z := range zb {
			h.scaled(raw, (z*ny+y)*nx, sc.row)
			for x, v := range sc.row {
				plane[x*zb+z] = v
			}
		}
		for x := range nx {
			run := plane[x*zb : (x+1)*zb]
			dst := base + (x*ny+y)*nz + z0
			if a.F64 != nil {
				copy(a.F64[dst:dst+zb], run)
				continue
			}
			out := a.F32[dst : dst+zb]
			for z, v := range run {
				out[z] = float32(v)
			}
		}
	}
}

// scaled converts the stored values from index i0 on into dst with NIfTI's scl_slope and
// scl_inter applied (none when the slope is 0 or not finite, as NiBabel).
func (h *neuroHeader) scaled(raw []byte, i0 int, dst []float64) {
	h.values(raw, i0, dst)
	if h.slope != 0 && !math.IsNaN(h.slope) && !math.IsInf(h.slope, 0) && (h.slope != 1 || h.inter != 0) {
		for i, v := range dst {
			dst[i] = h.slope*v + h.inter
		}
	}
}

// values converts the stored values from index i0 on into dst, unscaled.
func (h *neuroHeader) values(raw []byte, i0 int, dst []float64) {
	o, n := h.order, len(dst)
	switch h.t.name {
	case "uint8":
		for i, b := range raw[i0 : i0+n] {
			dst[i] = float64(b)
		}
	case "int8":
		for i, b := range raw[i0 : i0+n] {
			dst[i] = float64(int8(b))
		}
	case "int16":
		r := raw[2*i0 : 2*(i0+n)]
		for i := range dst {
			dst[i] = float64(int16(o.Uint16(r[2*i:])))
		}
	case "uint16":
		r := raw[2*i0 : 2*(i0+n)]
		for i := range dst {
			dst[i] = float64(o.Uint16(r[2*i:]))
		}
	case "int32":
		r := raw[4*i0 : 4*(i0+n)]
		for i := range dst {
			dst[i] = float64(int32(o.Uint32(r[4*i:])))
		}
	case "uint32":
		r := raw[4*i0 : 4*(i0+n)]
		for i := range dst {
			dst[i] = float64(o.Uint32(r[4*i:]))
		}
	case "float32":
		r := raw[4*i0 : 4*(i0+n)]
		for i := range dst {
			dst[i] = float64(math.Float32frombits(o.Uint32(r[4*i:])))
		}
	case "int64":
		r := raw[8*i0 : 8*(i0+n)]
		for i := range dst {
			dst[i] = float64(int64(o.Uint64(r[8*i:])))
		}
	case "uint64":
		r := raw[8*i0 : 8*(i0+n)]
		for i := range dst {
			dst[i] = float64(o.Uint64(r[8*i:]))
		}
	default: // float64
		r := raw[8*i0 : 8*(i0+n)]
		for i := range dst {
			dst[i] = math.Float64frombits(o.Uint64(r[8*i:]))
		}
	}
}

// checkDims validates stored dimensions: at most x, y, z and time (trailing axes of size 1 are
// dropped, as are axes beyond the fourth when they have size 1).
func checkDims(dims []int) ([]int, error) {
	for len(dims) > 4 && dims[len(dims)-1] == 1 {
		dims = dims[:len(dims)-1]
	}
	if len(dims) > 4 {
		return nil, fmt.Errorf("%d-d data (shape %v): want at most x, y, z and time", len(dims), dims)
	}
	if len(dims) == 0 {
		return nil, errors.New("no dimensions")
	}
	n := 1
	for _, d := range dims {
		if d < 1 {
			return nil, fmt.Errorf("dimension %d in %v: want sizes of at least 1", d, dims)
		}
		if d > maxDim || n > math.MaxInt/8/d { // each axis an int32; the bytes of all an int
			return nil, fmt.Errorf("shape %v: too large", dims)
		}
		n *= d
	}
	return dims, nil
}

// spatial is the x, y, z sizes of dims (1 for absent axes).
func spatial(dims []int) []int {
	s := []int{1, 1, 1}
	for i := 0; i < 3 && i < len(dims); i++ {
		s[i] = dims[i]
	}
	return s
}

// NIfTI datatype codes.
var niftiTypes = map[int]dtype{
	2:    {name: "uint8", kind: 'u', size: 1},
	4:    {name: "int16", kind: 'i', size: 2},
	8:    {name: "int32", kind: 'i', size: 4},
	16:   {name: "float32", kind: 'f', size: 4},
	64:   {name: "float64", kind: 'f', size: 8},
	256:  {name: "int8", kind: 'i', size: 1},
	512:  {name: "uint16", kind: 'u', size: 2},
	768:  {name: "uint32", kind: 'u', size: 4},
	1024: {name: "int64", kind: 'i', size: 8},
	1280: {name: "uint64", kind: 'u', size: 8},
}

var niftiTypeNames = map[int]string{1: "binary", 32: "complex64", 128: "RGB24", 1536: "float128", 1792: "complex128", 2048: "complex256", 2304: "RGBA32"}

// parseNIfTI reads a single-file NIfTI-1 or NIfTI-2 header.
func parseNIfTI(buf []byte) (*neuroHeader, error) {
	if len(buf) < 348 {
		return nil, fmt.Errorf("truncated: %d bytes, too short for a NIfTI header", len(buf))
	}
	var o binary.ByteOrder
	var version int
	for _, bo := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
		switch bo.Uint32(buf) {
		case 348:
			o, version = bo, 1
		case 540:
			o, version = bo, 2
		}
		if o != nil {
			break
		}
	}
	if o == nil {
		return nil, errors.New("not a NIfTI file (its first 4 bytes are not the header size 348 or 540)")
	}
	h := &neuroHeader{order: o}
	var code int
	var dims []int
	var hdrLen int
	switch version {
	case 1:
		if magic := string(buf[344:347]); magic != "n+1" {
			if magic == "ni1" {
				return nil, errors.New("a NIfTI header of a .hdr/.img pair: convert it to a single .nii file")
			}
			return nil, fmt.Errorf("bad NIfTI-1 magic %q", buf[344:348])
		}
		nd := int(int16(o.Uint16(buf[40:])))
		if nd < 1 || nd > 7 {
			return nil, fmt.Errorf("bad number of dimensions %d", nd)
		}
		for i := 1; i <= nd; i++ {
			dims = append(dims, int(int16(o.Uint16(buf[40+2*i:]))))
		}
		var err error
		if dims, err = freeSurferDims(dims, int(int32(o.Uint32(buf[144:])))); err != nil {
			return nil, err
		}
		code = int(int16(o.Uint16(buf[70:])))
		off := math.Float32frombits(o.Uint32(buf[108:]))
		if !(off >= 0 && off <= math.MaxInt32) { // NaN too
			return nil, fmt.Errorf("bad data offset %v", off)
		}
		h.offset = int(off)
		h.slope = float64(math.Float32frombits(o.Uint32(buf[112:])))
		h.inter = float64(math.Float32frombits(o.Uint32(buf[116:])))
		hdrLen = 348
	case 2:
		if len(buf) < 540 {
			return nil, fmt.Errorf("truncated: %d bytes, too short for a NIfTI-2 header", len(buf))
		}
		if magic := string(buf[4:7]); magic != "n+2" {
			return nil, fmt.Errorf("bad NIfTI-2 magic %q", buf[4:12])
		}
		nd := int(int64(o.Uint64(buf[16:])))
		if nd < 1 || nd > 7 {
			return nil, fmt.Errorf("bad number of dimensions %d", nd)
		}
		for i := 1; i <= nd; i++ {
			d := int64(o.Uint64(buf[16+8*i:]))
			if d > maxDim {
				return nil, fmt.Errorf("dimension %d too large", d)
			}
			dims = append(dims, int(d))
		}
		code = int(int16(o.Uint16(buf[12:])))
		off := int64(o.Uint64(buf[168:]))
		if off < 0 || off > math.MaxInt32 {
			return nil, fmt.Errorf("bad data offset %d", off)
		}
		h.offset = int(off)
		h.slope = math.Float64frombits(o.Uint64(buf[176:]))
		h.inter = math.Float64frombits(o.Uint64(buf[184:]))
		hdrLen = 540
	}
	if h.slope != 0 && !math.IsNaN(h.slope) && !math.IsInf(h.slope, 0) && (math.IsNaN(h.inter) || math.IsInf(h.inter, 0)) {
		return nil, fmt.Errorf("scaling: valid scl_slope %v but invalid scl_inter %v (NiBabel refuses it too)", h.slope, h.inter)
	}
	// CIFTI (a NIfTI-2 file of 1 x 1 x 1 x 1 x rows x grayordinates, intent 3000-3099): its matrix
	if intent := niftiIntent(buf, version, o); intent >= 3000 && intent < 3100 {
		if len(dims) < 6 || dims[0] != 1 || dims[1] != 1 || dims[2] != 1 || dims[3] != 1 || len(dims) > 6 && dims[6] != 1 {
			return nil, fmt.Errorf("a CIFTI file of shape %v: want 1 x 1 x 1 x 1 x rows x grayordinates", dims)
		}
		h.cifti, dims = true, dims[4:6]
	}
	t, ok := niftiTypes[code]
	if !ok {
		what := niftiTypeNames[code]
		if what == "" {
			what = fmt.Sprintf("code %d", code)
		}
		return nil, fmt.Errorf("%w: NIfTI datatype %s", ErrUnsupportedDType, what)
	}
	switch {
	case h.offset == 0 && h.cifti:
		return nil, errors.New("a CIFTI file of vox_offset 0: where its XML extension ends is not given")
	case h.offset == 0:
		// unset (a pair's header written into a .nii): neuroSource.header places the data
		h.offset, h.unsetOffset = hdrLen+4, true
	case h.offset < hdrLen:
		return nil, fmt.Errorf("data offset %d inside the %d-byte header", h.offset, hdrLen)
	}
	dims, err := checkDims(dims)
	if err != nil {
		return nil, err
	}
	h.t, h.dims = t, dims
	if h.cifti {
		if len(buf) < h.offset {
			return h, nil // the header alone (ReadGeometry reads on); Read finds the data truncated
		}
		doc, err := ciftiXML(buf, h.offset, o)
		if err != nil {
			return nil, err
		}
		h.geo, err = ciftiGeometry(doc, buf[:hdrLen], o, dims[1])
		return h, err
	}
	h.geo = &Geometry{Format: fmt.Sprintf("nifti%d", version), Spatial: spatial(dims), header: append([]byte(nil), buf[:hdrLen]...), order: o}
	return h, nil
}

// ico7Vertices are fsaverage's vertices per hemisphere, which FreeSurfer stores in NIfTI-1 as
// ico7Dims.
const ico7Vertices = 163842

var ico7Dims = [3]int{27307, 1, 6}

// freeSurferDims undoes FreeSurfer's ways of storing a surface's vertices (x, 1 x 1) in NIfTI-1,
// whose dim holds at most 32,767 (save_nifti.m, mri_convert; NiBabel's get_data_shape reads them
// the same): fsaverage's 163,842 as 27307 x 1 x 6, and other counts above 32,767 as -1 x 1 x 1
// with the count in glmin. The vertices are stored in order either way, so they read as
// vertices x 1 x 1 (frames last), as an MGH surface does; read as 27307 x 1 x 6 their C order
// over x, y, z would not be the vertices'.
func freeSurferDims(dims []int, glmin int) ([]int, error) {
	if len(dims) < 3 || dims[1] != 1 {
		return dims, nil
	}
	switch {
	case dims[0] == -1 && dims[2] == 1:
		if glmin < 1 {
			return nil, fmt.Errorf("dimensions %v with %d in glmin: not FreeSurfer's header of a surface's vertices (-1 in dim[1], their number in glmin)", dims, glmin)
		}
		dims = append([]int{glmin}, dims[1:]...)
	case dims[0] == ico7Dims[0] && dims[2] == ico7Dims[2]:
		dims = append([]int{ico7Vertices, 1, 1}, dims[3:]...)
	}
	return dims, nil
}

// niftiIntent reads a NIfTI header's intent code.
func niftiIntent(buf []byte, version int, o binary.ByteOrder) int {
	if version == 2 {
		return int(int32(o.Uint32(buf[504:])))
	}
	return int(int16(o.Uint16(buf[68:])))
}

// MGH data types.
var mghTypes = map[int]dtype{
	0: {name: "uint8", kind: 'u', size: 1},
	1: {name: "int32", kind: 'i', size: 4},
	3: {name: "float32", kind: 'f', size: 4},
	4: {name: "int16", kind: 'i', size: 2},
}

// mghHeaderLen is where an MGH file's data start.
const mghHeaderLen = 284

// mghScanParams is the size of the scan parameters that follow an MGH file's data: TR, flip
// angle, TE, TI and field of view, big-endian float32s (NiBabel's MGHHeader footer).
const mghScanParams = 20

// MGH tags (FreeSurfer's tags.h) written back after the scan parameters: they describe the
// acquisition or the space, as the scan parameters do, not the data (FreeSurfer's MRIcopyHeader
// gives a volume computed from another its talairach transform's file as its scan parameters).
var mghKeptTags = map[int32]bool{
	31: true, // TAG_MGH_XFORM: the talairach transform's file
	41: true, // TAG_PEDIR: the phase encoding direction
	43: true, // TAG_FIELDSTRENGTH
}

// mghTrailer is what a map written in the space of an MGH file whose data are followed by tail
// keeps of it: the scan parameters, as NiBabel and FreeSurfer keep them in a volume made from
// another (TR in a 4-d one and a 3-d one alike; those absent read as 0, as both read them), and
// the tags of mghKeptTags. Other tags describe the data or how they were made (a segmentation's
// colour table, the frames' labels, a warp, the command lines), which a map of scores is not.
// The tags are FreeSurfer's: an int32 code and an int64 length, then that many bytes; the walk
// stops at one whose extent its header does not give (the old colour table and transform, a
// warp's geometry), at code 0 (the end, as surfa reads it), and at a length past tail.
func mghTrailer(tail []byte) []byte {
	out := make([]byte, mghScanParams, mghScanParams+len(tail))
	copy(out, tail)
	o := binary.BigEndian
	for rest := tail[min(len(tail), mghScanParams):]; len(rest) >= 12; {
		code := int32(o.Uint32(rest))
		switch code {
		case 0, 1, 2, 10, 11, 12, 15, 20, 30: // the end; lengthless tags; a 32-bit length
			return out
		}
		n := o.Uint64(rest[4:])
		if n > uint64(len(rest)-12) {
			return out
		}
		if mghKeptTags[code] {
			out = append(out, rest[:12+n]...)
		}
		rest = rest[12+n:]
	}
	return out
}

// parseMGH reads an MGH header (big-endian: version 1, width, height, depth, frames, type).
func parseMGH(buf []byte) (*neuroHeader, error) {
	if len(buf) < mghHeaderLen {
		return nil, fmt.Errorf("truncated: %d bytes, too short for an MGH header", len(buf))
	}
	o := binary.BigEndian
	if v := int32(o.Uint32(buf)); v != 1 {
		return nil, fmt.Errorf("not an MGH file (version %d, want 1)", v)
	}
	var dims []int
	for i := range 4 {
		d := int32(o.Uint32(buf[4+4*i:]))
		dims = append(dims, int(d))
	}
	code := int(int32(o.Uint32(buf[20:])))
	t, ok := mghTypes[code]
	if !ok {
		return nil, fmt.Errorf("%w: MGH data type %d", ErrUnsupportedDType, code)
	}
	if dims[3] == 1 { // one frame: a volume, as NiBabel shows it
		dims = dims[:3]
	}
	dims, err := checkDims(dims)
	if err != nil {
		return nil, err
	}
	return &neuroHeader{dims: dims, t: t, order: o, offset: mghHeaderLen,
		geo: &Geometry{Format: "mgh", Spatial: spatial(dims), header: append([]byte(nil), buf[:mghHeaderLen]...), order: o}}, nil
}

// ReadGeometry reads the header of a NIfTI or MGH file (decompressing only its start, but for a
// .mgz's trailer past the data, readMGHTrailer): the space that WriteVolume writes results in.
func ReadGeometry(path string) (*Geometry, error) {
	if !IsNeuro(path) {
		return nil, fmt.Errorf("%s: not a NIfTI, MGH or GIFTI file (.nii, .nii.gz, .mgh, .mgz, .gii)", path)
	}
	if isGIFTI(path) {
		return readGIFTIGeometry(path)
	}
	f, err := openRegular(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var r io.Reader = f
	lower := strings.ToLower(path)
	if strings.HasSuffix(lower, ".gz") || strings.HasSuffix(lower, ".mgz") {
		zr, err := gzip.NewReader(f)
		if err != nil {
			return nil, fmt.Errorf("%s: not gzip-compressed: %v", path, err)
		}
		r = zr
	}
	head := make([]byte, 540)
	n, err := io.ReadFull(r, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	head = head[:n]
	var h *neuroHeader
	if strings.HasSuffix(lower, ".mgh") || strings.HasSuffix(lower, ".mgz") {
		if h, err = parseMGH(head); err == nil {
			h.geo.trailer = readMGHTrailer(h, io.MultiReader(bytes.NewReader(head), r), f, lower)
		}
	} else {
		h, err = parseNIfTI(head)
		if err == nil && h.cifti && n < h.offset { // read the XML extension too
			// as far as the file goes: the offset may be up to 2 GB past a file of a few bytes
			rest, rerr := io.ReadAll(io.LimitReader(r, int64(h.offset-n)))
			if rerr == nil && len(rest) < h.offset-n {
				rerr = io.ErrUnexpectedEOF
			}
			if rerr != nil {
				return nil, fmt.Errorf("%s: truncated CIFTI header: %v", path, rerr)
			}
			h, err = parseNIfTI(append(head, rest...))
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	if h.geo == nil {
		return nil, fmt.Errorf("%s: a CIFTI file whose dimension 1 is not grayordinates (brain models or parcels): no space to write results in", path)
	}
	return h.geo, nil
}

// readMGHTrailer reads the trailer (mghTrailer) of the MGH file of header h: past the data in
// stream, the file's bytes from the start decompressed, for a .mgz (inflating the data into
// io.Discard, a few KB at a time whatever their size, TestReadGeometryLargeMGZ: a zero volume's,
// as a sweep saves its space, inflates at hundreds of MB/s); at its offset in f for
// a .mgh. A file that ends or is corrupt before it has none (zeros): ReadGeometry is for the
// header, and Read finds such a file's fault.
func readMGHTrailer(h *neuroHeader, stream io.Reader, f *os.File, lower string) []byte {
	n := int64(h.t.size)
	for _, d := range h.dims {
		n *= int64(d)
	}
	end := int64(h.offset) + n
	if !strings.HasSuffix(lower, ".mgz") {
		st, err := f.Stat()
		if err != nil || st.Size() <= end {
			return mghTrailer(nil)
		}
		tail := make([]byte, min(neuroTrailer, st.Size()-end))
		if _, err := f.ReadAt(tail, end); err != nil && err != io.EOF {
			return mghTrailer(nil)
		}
		return mghTrailer(tail)
	}
	if _, err := io.CopyN(io.Discard, stream, end); err != nil {
		return mghTrailer(nil)
	}
	tail, _ := io.ReadAll(io.LimitReader(stream, neuroTrailer))
	return mghTrailer(tail)
}

// VolumeExts are the file name extensions of VolumeExt.
var VolumeExts = []string{".nii.gz", ".mgz", ".dscalar.nii", ".pscalar.nii", ".func.gii"}

// VolumeExt is the file name extension WriteVolume gives a result in g's format: ".nii.gz" for
// NIfTI, ".mgz" for MGH, ".dscalar.nii" for CIFTI over brain models, ".pscalar.nii" over parcels;
// a joined space's first part's (its parts are written one file each: Files, WriteNamed).
func (g *Geometry) VolumeExt() string {
	switch {
	case g.Parts != nil:
		return g.Parts[0].Geometry.VolumeExt()
	case g.Format == "mgh":
		return ".mgz"
	case g.Format == "gifti":
		return ".func.gii"
	case g.Format == "cifti" && g.ciftiParcellated():
		return ".pscalar.nii"
	case g.Format == "cifti":
		return ".dscalar.nii"
	}
	return ".nii.gz"
}

// WriteVolume writes data, one float32 value per voxel or vertex of g in C order over (x, y, z)
// (the trailing axes of brain data read from g's file), to path as a file of g's format
// (path should end in g.VolumeExt(): compressed; .nii and .mgh are written uncompressed), with g's header: voxel sizes, orientation and
// affine, so that viewers overlay it on the input's space (MGH: followed by the input's scan
// parameters and the tags that apply, mghTrailer). NaN values are kept. The file is
// written atomically. Over CIFTI grayordinates, it is a CIFTI-2 scalar file (uncompressed, as
// Workbench reads them) with the input's grayordinates and one map named after the file.
func WriteVolume(path string, g *Geometry, data []float64) error {
	return WriteFrames(path, g, 1, data)
}

// WriteFrames is WriteVolume for several volumes (frames): data in C order over (frame, x, y,
// z), as brain data read from g's file. One frame is written as a 3-d file.
func WriteFrames(path string, g *Geometry, frames int, data []float64) error {
	write, err := g.framesWriter(path, frames, data)
	if err != nil {
		return err
	}
	return atomicfile.Write(path, write)
}

// framesWriter checks data and returns the function that writes them as WriteFrames writes
// them to path, whose name says how (compressed or not, the maps' names); errors name path.
func (g *Geometry) framesWriter(path string, frames int, data []float64) (func(w io.Writer) error, error) {
	if g.Parts != nil {
		return nil, fmt.Errorf("%s: %w", path, errJoined)
	}
	if g.Format == "gifti" {
		return g.giftiWriter(path, frames, data)
	}
	if g.Format == "cifti" {
		if frames < 1 || len(data) != frames*g.Targets() {
			return nil, fmt.Errorf("%s: %d values for %d map(s) of %d grayordinates", path, len(data), frames, g.Targets())
		}
		return g.ciftiWriter(path, frames, data)
	}
	nx, ny, nz := g.Spatial[0], g.Spatial[1], g.Spatial[2]
	vol := nx * ny * nz
	if frames < 1 || len(data) != frames*vol {
		return nil, fmt.Errorf("%s: %d values for %d volume(s) of %d x %d x %d", path, len(data), frames, nx, ny, nz)
	}
	nd := 3
	if frames > 1 {
		nd = 4
	}
	var head, tail []byte
	o := g.order
	switch g.Format {
	case "nifti1":
		head = append(append([]byte(nil), g.header...), 0, 0, 0, 0) // no extensions
		dims := []int{nx, ny, nz, frames, 1, 1, 1}
		if ny == 1 && nz == 1 { // a surface's vertices, stored as FreeSurfer and NiBabel store them
			switch {
			case nx == ico7Vertices:
				copy(dims, ico7Dims[:])
			case nx > math.MaxInt16:
				dims[0] = -1
				o.PutUint32(head[144:], uint32(nx)) // glmin
			}
		}
		if max(dims[0], dims[1], dims[2], frames) > math.MaxInt16 {
			return nil, fmt.Errorf("%s: %d x %d x %d x %d: NIfTI-1 holds at most %d per axis (write the input as NIfTI-2)", path, nx, ny, nz, frames, math.MaxInt16)
		}
		o.PutUint16(head[40:], uint16(nd))
		for i, d := range dims {
			o.PutUint16(head[42+2*i:], uint16(int16(d)))
		}
		o.PutUint16(head[68:], 0)  // intent: none
		o.PutUint16(head[70:], 16) // float32
		o.PutUint16(head[72:], 32)
		o.PutUint32(head[108:], math.Float32bits(352))
		o.PutUint32(head[112:], math.Float32bits(1))
		o.PutUint32(head[116:], math.Float32bits(0))
		o.PutUint32(head[124:], 0) // cal_max, cal_min
		o.PutUint32(head[128:], 0)
		clear(head[328:344]) // intent_name
	case "nifti2":
		head = append(append([]byte(nil), g.header...), 0, 0, 0, 0)
		o.PutUint16(head[12:], 16)
		o.PutUint16(head[14:], 32)
		o.PutUint64(head[16:], uint64(nd))
		for i, d := range []int{nx, ny, nz, frames, 1, 1, 1} {
			o.PutUint64(head[24+8*i:], uint64(d))
		}
		o.PutUint64(head[168:], 544)
		o.PutUint64(head[176:], math.Float64bits(1))
		o.PutUint64(head[184:], 0)
		o.PutUint64(head[192:], 0)
		o.PutUint64(head[200:], 0)
		o.PutUint32(head[504:], 0)
		clear(head[508:524])
	case "mgh":
		head = append([]byte(nil), g.header...)
		for i, d := range []int{nx, ny, nz, frames} {
			o.PutUint32(head[4+4*i:], uint32(d))
		}
		o.PutUint32(head[20:], 3) // float
		tail = mghTrailer(g.trailer)
	default:
		return nil, fmt.Errorf("%s: unknown volume format %q", path, g.Format)
	}
	body := make([]byte, 4*len(data))
	for t := range frames {
		for x := range nx {
			for y := range ny {
				for z := range nz {
					o.PutUint32(body[4*(t*vol+(z*ny+y)*nx+x):], math.Float32bits(float32(data[t*vol+(x*ny+y)*nz+z])))
				}
			}
		}
	}
	lower := strings.ToLower(path)
	if !strings.HasSuffix(lower, ".gz") && !strings.HasSuffix(lower, ".mgz") {
		// .nii, .mgh: uncompressed, as the name says (a gzip'd .nii is refused by readers)
		return func(w io.Writer) error {
			for _, b := range [][]byte{head, body, tail} {
				if _, err := w.Write(b); err != nil {
					return err
				}
			}
			return nil
		}, nil
	}
	return func(w io.Writer) error {
		zw := gzip.NewWriter(w)
		zw.Name = filepath.Base(strings.TrimSuffix(strings.TrimSuffix(path, ".gz"), ".mgz"))
		for _, b := range [][]byte{head, body, tail} {
			if _, err := zw.Write(b); err != nil {
				return err
			}
		}
		return zw.Close()
	}, nil
}

// Affine returns the 4 x 4 voxel-to-world matrix (row-major; millimetres, RAS+ as scanners and
// MNI use) of g, as NiBabel's img.affine: for NIfTI the sform when its code is set, else the
// qform when its code is set, else NiBabel's base affine (voxel sizes, x flipped, centred); for
// MGH the vox2ras matrix. A surface (a NIfTI or MGH file of vertices x 1 x 1) has no voxel positions:
// its vertices' coordinates are in the surface file, not here.
func (g *Geometry) Affine() ([16]float64, error) {
	var a [16]float64
	h, o := g.header, g.order
	f32 := func(off int) float64 { return float64(math.Float32frombits(o.Uint32(h[off:]))) }
	f64 := func(off int) float64 { return math.Float64frombits(o.Uint64(h[off:])) }
	switch g.Format {
	case "parts":
		return a, errors.New("a space joined from several files has no single voxel-to-world matrix")
	case "gifti":
		return a, errors.New("a GIFTI data file holds no vertex positions: they are in the surface's geometry (.surf.gii, e.g. the midthickness), which --coords takes")
	case "nifti1", "nifti2":
		if g.Spatial[1] == 1 && g.Spatial[2] == 1 {
			// FreeSurfer's surface overlays (lh.thickness.fsaverage5.nii.gz): the affine would
			// place the vertices on a line
			return a, errors.New("a NIfTI file of vertices x 1 x 1 is a surface: its vertices' coordinates are in the surface (e.g. lh.white), not in the NIfTI header")
		}
		var qcode, scode int
		var pix [4]float64
		var quat [6]float64
		var srow [12]float64
		read, size, pixOff, quatOff, srowOff := f32, 4, 76, 256, 280
		if g.Format == "nifti1" {
			qcode, scode = int(int16(o.Uint16(h[252:]))), int(int16(o.Uint16(h[254:])))
		} else {
			qcode, scode = int(int32(o.Uint32(h[344:]))), int(int32(o.Uint32(h[348:])))
			read, size, pixOff, quatOff, srowOff = f64, 8, 104, 352, 400
		}
		for _, field := range []struct {
			dst []float64
			off int
		}{{pix[:], pixOff}, {quat[:], quatOff}, {srow[:], srowOff}} {
			for i := range field.dst {
				field.dst[i] = read(field.off + size*i)
			}
		}
		switch {
		case scode > 0:
			copy(a[:12], srow[:])
		case qcode > 0:
			b, c, d := quat[0], quat[1], quat[2]
			aa := math.Sqrt(max(0, 1-(b*b+c*c+d*d)))
			r := [9]float64{
				aa*aa + b*b - c*c - d*d, 2 * (b*c - aa*d), 2 * (b*d + aa*c),
				2 * (b*c + aa*d), aa*aa + c*c - b*b - d*d, 2 * (c*d - aa*b),
				2 * (b*d - aa*c), 2 * (c*d + aa*b), aa*aa + d*d - c*c - b*b,
			}
			qfac := 1.0
			if pix[0] < 0 {
				qfac = -1
			}
			zoom := [3]float64{pix[1], pix[2], pix[3] * qfac}
			for i := range 3 {
				for j := range 3 {
					a[4*i+j] = r[3*i+j] * zoom[j]
				}
				a[4*i+3] = quat[3+i]
			}
		default:
			zoom := [3]float64{-pix[1], pix[2], pix[3]}
			for i := range 3 {
				a[4*i+i] = zoom[i]
				a[4*i+3] = -float64(g.Spatial[i]-1) / 2 * zoom[i]
			}
		}
	case "cifti":
		return a, errors.New("CIFTI grayordinates have no single voxel grid (surface vertices are placed by surface files such as the midthickness .surf.gii): give their coordinates")
	case "mgh":
		if g.Spatial[1] == 1 && g.Spatial[2] == 1 {
			return a, errors.New("an MGH file of vertices x 1 x 1 is a surface: its vertices' coordinates are in the surface (e.g. lh.white), not in the MGH header")
		}
		var delta, pc [3]float64
		var mdc [9]float64 // stored per axis: x_r x_a x_s, y_r ..., z_r ...
		// goodRASFlag 0: no orientation, NiBabel's (and FreeSurfer's) default, coronal 1 mm. Any
		// other value, FreeSurfer's -1 included, takes the stored fields as NiBabel and surfa do
		// (FreeSurfer's C++ tools read only a positive flag: docs/study.md, MGH orientation).
		if int16(o.Uint16(h[28:])) != 0 {
			for i := range 3 {
				delta[i], pc[i] = f32(30+4*i), f32(78+4*i)
			}
			for i := range mdc {
				mdc[i] = f32(42 + 4*i)
			}
		} else {
			delta, mdc = [3]float64{1, 1, 1}, [9]float64{-1, 0, 0, 0, 0, 1, 0, -1, 0}
		}
		for i := range 3 { // world axis
			centre := 0.0
			for j := range 3 { // voxel axis
				a[4*i+j] = mdc[3*j+i] * delta[j]
				centre += a[4*i+j] * float64(g.Spatial[j]) / 2
			}
			a[4*i+3] = pc[i] - centre
		}
	default:
		return a, fmt.Errorf("unknown volume format %q", g.Format)
	}
	a[15] = 1
	return a, nil
}

// GridTolerance is how far (mm) two voxel-to-world matrices may differ, entry by entry, and
// still place the voxels alike: far above the rounding of a float32 sform or a qform's
// quaternion, far below any resampling.
const GridTolerance = 1e-3

// SameGrid reports, as an error saying how they differ, where b's voxels are not a's: volumes
// (NIfTI, MGH) of another shape or voxel-to-world matrix (beyond GridTolerance). Voxels are
// matched by index, so a mask or atlas of another grid of the same shape would pick other
// voxels than it shows in a viewer. Surfaces (vertices x 1 x 1) are compared by their number of
// vertices; CIFTI files by their grayordinates (brain models' structures, vertices and voxels,
// or parcels: files of as many grayordinates may hold them in another order). GIFTI files, whose
// maps line up by count, and joined spaces of another number of parts are not compared (nil).
func SameGrid(a, b *Geometry) error {
	if a != nil && b != nil && a.Format == "cifti" && b.Format == "cifti" {
		if a.Targets() != b.Targets() {
			return fmt.Errorf("%d grayordinates, not %d", a.Targets(), b.Targets())
		}
		return sameGrays(a.grays, b.grays)
	}
	if a == nil || b == nil || a.OfMaps() || b.OfMaps() {
		return nil
	}
	if a.Format == "parts" || b.Format == "parts" {
		if len(a.Parts) != len(b.Parts) {
			return nil
		}
		for i := range a.Parts {
			if err := SameGrid(a.Parts[i].Geometry, b.Parts[i].Geometry); err != nil {
				return fmt.Errorf("%s: %v", a.Parts[i].Name, err)
			}
		}
		return nil
	}
	if !slices.Equal(a.Spatial, b.Spatial) {
		return fmt.Errorf("a grid of %s, not %s", ShapeString(a.Spatial), ShapeString(b.Spatial))
	}
	if volumeAxes(a.Spatial) < 2 {
		return nil // a surface's vertices: the header places none of them
	}
	ma, errA := a.Affine()
	mb, errB := b.Affine()
	if errA != nil || errB != nil {
		return nil
	}
	for i := range 3 {
		for j := range 4 {
			if math.Abs(ma[4*i+j]-mb[4*i+j]) > GridTolerance {
				return fmt.Errorf("voxel-to-world matrix row %d %v, not %v", i+1, roundRow(ma[4*i:4*i+4]), roundRow(mb[4*i:4*i+4]))
			}
		}
	}
	return nil
}

// volumeAxes counts the axes of more than one voxel.
func volumeAxes(spatial []int) int {
	n := 0
	for _, d := range spatial {
		if d > 1 {
			n++
		}
	}
	return n
}

// roundRow rounds a matrix row for messages (float32 headers' digits are noise).
func roundRow(r []float64) []float64 {
	out := make([]float64, len(r))
	for i, v := range r {
		out[i] = math.Round(v*1e4) / 1e4
	}
	return out
}

// Coordinates returns the world position (mm) of every voxel, targets x 3 in C order over
// (x, y, z) as brain data read from g's file hold them: the spatial score's coordinates.
// A joined space's are its parts', one after another.
func (g *Geometry) Coordinates() ([]float64, error) {
	if g.Parts != nil {
		return g.joinedCoordinates()
	}
	a, err := g.Affine()
	if err != nil {
		return nil, err
	}
	nx, ny, nz := g.Spatial[0], g.Spatial[1], g.Spatial[2]
	out := make([]float64, 0, 3*nx*ny*nz)
	for x := range nx {
		for y := range ny {
			for z := range nz {
				v := [3]float64{float64(x), float64(y), float64(z)}
				for i := range 3 {
					out = append(out, a[4*i]*v[0]+a[4*i+1]*v[1]+a[4*i+2]*v[2]+a[4*i+3])
				}
			}
		}
	}
	return out, nil
}
