package array

import (
	"archive/zip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// File is an array file opened for reading its arrays one at a time: a .npy file (one array), an
// .npz bundle, a safetensors file or an HDF5 file (its datasets). Open reads only what describes the arrays (the headers: for
// a deflated .npz member, only the first bytes of its stream are decompressed); an array's data
// is read, and a deflated member decompressed, when Read asks for it. Read may be called from
// several goroutines at once, but not at the same time as Close.
type File struct {
	path   string
	buf    []byte    // the file's bytes (the map's data)
	m      *mapping  // the File's reference on the map; nil for a buffer in ordinary memory
	closer io.Closer // NIfTI and MGH: the open file that Read streams the data from
	arrays []*Entry  // in Read's order
	others []*Entry  // .npz members that are not arrays
	byName map[string]*Entry
	npy    bool // a .npy file: its one array is named after the path

	mu     sync.RWMutex
	closed bool
}

// Entry describes one array of a File as its header declares it, before its data is read.
type Entry struct {
	Name    string // the name Read takes and gives the array: see Array.Name
	Member  string // the .npz member ("blocks.3.npy"); "" for .npy and safetensors files
	Shape   []int
	DType   string // as Array.DType
	Fortran bool
	// Err is set when the array's header cannot be read (a corrupt member, an unsupported
	// dtype or compression method): Read of this entry returns Err, and Shape and DType are
	// unset. For an entry of NotArrays, Err says why it is not an array.
	Err error

	label   string    // names the entry in errors: "x.npz: member a.npy", `m.safetensors: tensor "a"`
	zf      *zip.File // .npz: the member
	off     int       // .npz stored member, safetensors tensor: where its bytes start in buf
	size    int       // and how many there are
	t       dtype     // safetensors: the tensor's dtype and element count
	n       int
	dataOff int // .npz deflated member: where its data starts in the decompressed member
	// recheck: Err is a deflated member's bad header, which may be a corrupt stream that the
	// CRC, checked only at the end of the member, would name: Read decompresses it all to tell.
	recheck bool
	// read, when set, reads the entry's array (NIfTI and MGH files).
	read func(f *File, e *Entry) (*Array, error)
	// targets, when set, reads some of the array's targets only (ReadTargets: HDF5 datasets).
	targets func(f *File, e *Entry, cols []int) (*Array, error)
}

// Floats reports whether the array is stored as floating point (read into Array.F32 or F64): an
// entry whose header was read and whose dtype is float16, bfloat16, float32 or
// float64. A bundle's integer arrays are ids or labels more often than data.
func (e *Entry) Floats() bool {
	switch e.DType {
	case "float16", "bfloat16", "float32", "float64":
		return e.Err == nil
	}
	return false
}

// Numbers reports whether Array.Matrix reads the array: an entry whose header was read and whose
// dtype is a float or an integer one (not bool).
func (e *Entry) Numbers() bool {
	switch e.DType {
	case "int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64":
		return e.Err == nil
	}
	return e.Floats()
}

// Open opens an array file, choosing the format by extension as Read does, and reads the
// headers of its arrays. A file that cannot be read at all (not a zip archive, a safetensors
// header that is not JSON, two .npz members of one name, a .npy file with a bad header) is an
// error here; a corrupt .npz member or safetensors tensor is an error only when it is read (its
// Entry has Err set). Close the File when done with it; arrays read from it stay valid until they
// are closed themselves.
func Open(path string) (*File, error) {
	st, serr := os.Stat(path)
	if serr == nil && !st.Mode().IsRegular() {
		return nil, notRegular(path, st.Mode())
	}
	if IsNeuro(path) {
		if isGIFTI(path) {
			return openFile(path, openGIFTI)
		}
		return openNeuroFile(path)
	}
	if IsFIF(path) {
		return openFile(path, openFIF)
	}
	if IsHDF5(path) {
		return openFile(path, openHDF5)
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".npy":
		return openFile(path, openNPY)
	case ".npz":
		return openFile(path, openNPZ)
	case ".safetensors":
		return openFile(path, openSafetensors)
	case ".mat":
		return openFile(path, openMAT)
	case ".annot":
		return openFile(path, openAnnot)
	}
	if serr != nil {
		return nil, pathError(path, serr)
	}
	if isSurface(path) { // FreeSurfer's lh.white and so on: no extension of their own
		return openFile(path, openSurface)
	}
	if hint := conversionHint(filepath.Ext(path)); hint != "" {
		return nil, fmt.Errorf("%s: %s", path, hint)
	}
	return nil, fmt.Errorf("%s: unknown array file type %q (want .npy, .npz, .safetensors, HDF5: .h5, .hdf5, MATLAB v7.3 .mat, NIfTI/MGH/GIFTI: .nii, .nii.gz, .mgh, .mgz, .gii, MNE epochs: -epo.fif, a FreeSurfer surface such as lh.white, or annotation: .annot)", path, filepath.Ext(path))
}

// notRegular is the error for a path that is not a regular file.
func notRegular(path string, mode fs.FileMode) error {
	if mode.IsDir() {
		return fmt.Errorf("%s: is a directory, not an array file (.npy, .npz or .safetensors)", path)
	}
	return fmt.Errorf("%s: is not a regular file (%s), want an .npy, .npz or .safetensors file", path, fileKind(mode))
}

func fileKind(mode fs.FileMode) string {
	switch {
	case mode&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case mode&fs.ModeSocket != 0:
		return "a socket"
	case mode&fs.ModeCharDevice != 0:
		return "a character device"
	case mode&fs.ModeDevice != 0:
		return "a device"
	}
	return "mode " + mode.String()
}

// pathError formats an error of package os as "path: what went wrong", keeping it for errors.Is.
func pathError(path string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", path, pe.Err)
	}
	return err
}

func openFile(path string, open func(name string, buf []byte, m *mapping) (*File, error)) (*File, error) {
	m, err := openData(path)
	if err != nil {
		return nil, err
	}
	f, err := open(path, m.data, m)
	if err != nil {
		m.release()
		return nil, err
	}
	return f, nil
}

// newFile returns a File of buf, taking over the caller's reference on m.
func newFile(path string, buf []byte, m *mapping) *File {
	return &File{path: path, buf: buf, m: m, byName: map[string]*Entry{}}
}

// Path returns the path the File was opened with.
func (f *File) Path() string { return f.path }

// Arrays returns the entries of the file's arrays: the .npy file's array, the .npz members that
// hold (or, by their name, should hold) a .npy array, in archive order, or the safetensors
// tensors in the order of their data. The slice and entries must not be modified.
func (f *File) Arrays() []*Entry { return f.arrays }

// NotArrays returns the .npz members that are not arrays, in archive order: other files stored
// in the bundle (meta.json, README.txt, macOS's __MACOSX/ metadata), that is members without the
// .npy magic whose name does not end in ".npy" or that are macOS metadata. Their Err says why.
// Read and ReadAll skip them; Read by their name returns that error.
func (f *File) NotArrays() []*Entry { return f.others }

// Lookup returns the entry of the array named name, or nil.
func (f *File) Lookup(name string) *Entry { return f.byName[name] }

// Names returns the names of the file's arrays, in Read's order.
func (f *File) Names() []string {
	names := make([]string, len(f.arrays))
	for i, e := range f.arrays {
		names[i] = e.Name
	}
	return names
}

// Read reads the array named name (for a .npy file, its path or ""): only its data is read, and
// for a deflated .npz member only that member is decompressed. Close the array when done with it.
func (f *File) Read(name string) (*Array, error) {
	e := f.byName[name]
	if e == nil && f.npy && name == "" && len(f.arrays) == 1 {
		e = f.arrays[0]
	}
	if e == nil {
		for _, o := range f.others {
			if o.Name == name || o.Member == name {
				return nil, o.Err
			}
		}
		return nil, fmt.Errorf("%s: no array named %q", f.path, name)
	}
	return f.readEntry(e)
}

// ReadAll reads every array of the file, in the order of Arrays. On an error it closes what it
// had read.
func (f *File) ReadAll() (arrays []*Array, err error) {
	for _, e := range f.arrays {
		a, err := f.readEntry(e)
		if err != nil {
			CloseAll(arrays)
			return nil, err
		}
		arrays = append(arrays, a)
	}
	return arrays, nil
}

func (f *File) readEntry(e *Entry) (*Array, error) {
	if e.Err != nil && !e.recheck {
		return nil, e.Err
	}
	f.mu.RLock()
	defer f.mu.RUnlock()
	if f.closed {
		return nil, fmt.Errorf("%s: read after Close", e.label)
	}
	var a *Array
	var err error
	switch {
	case e.read != nil:
		a, err = e.read(f, e)
	case f.npy:
		a, err = decodeNPY(f.path, f.buf, f.m)
	case e.zf != nil:
		a, err = f.readMember(e)
		if err == nil && e.Err != nil { // cannot be: the header was read from the same bytes
			a.Close()
			err = e.Err
		}
	default:
		a = &Array{Shape: e.Shape, DType: e.DType}
		if err = fill(a, e.t, f.buf[e.off:e.off+e.size], e.n, f.m); err != nil {
			err = fmt.Errorf("%s: %v", e.label, err)
		}
	}
	if err != nil {
		return nil, err
	}
	a.Name = e.Name
	return a, nil
}

// Close releases the File's hold on the file's memory map. Arrays read from it keep their own
// and stay valid until they are closed. Close is safe to call twice.
func (f *File) Close() error {
	if f == nil {
		return nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil
	}
	f.closed = true
	m, c := f.m, f.closer
	f.m, f.buf, f.closer = nil, nil, nil
	err := m.release()
	if c != nil {
		if cerr := c.Close(); err == nil {
			err = cerr
		}
	}
	return err
}

// openNPY opens a .npy file held in buf: its header is checked here.
func openNPY(name string, buf []byte, m *mapping) (*File, error) {
	l, err := npyLayoutOf(buf, len(buf))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	f := newFile(name, buf, m)
	f.npy = true
	e := &Entry{Name: name, Shape: l.h.shape, DType: l.h.dtype.name, Fortran: l.h.fortran, label: name}
	f.arrays = []*Entry{e}
	f.byName[name] = e
	return f, nil
}
