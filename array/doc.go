// Package array reads and writes the n-d arrays researchers exchange: NumPy .npy files (format
// versions 1.0, 2.0 and 3.0), .npz bundles, and safetensors files; and the neuroimaging files
// fMRI data come in, NIfTI-1/2 and FreeSurfer's MGH (neuro.go: read as images first, results
// written back in the file's space); and MNE-Python's epochs files, the format MEG data come in
// (fif.go: -epo.fif, split parts followed, read as epochs x channels x times in physical units,
// as MNE's get_data gives them; FIFInfo gives their times and channel names); and HDF5 files
// (hdf5.go: .h5, .hdf5, MATLAB v7.3 .mat; the datasets h5py writes, read without the HDF5
// library, each named by its path like an .npz member); and FreeSurfer's surfaces (surface.go:
// lh.white, as vertices x 3 coordinates) and annotations (annot.go: lh.aparc.annot, as each
// vertex's colour table index, ReadAnnot naming them).
//
// Everything is written on the standard library: general-purpose readers decode element by
// element through reflection and run at a few MB/s to a few hundred MB/s (docs/design.md §7), while
// activation and brain matrices run to tens of gigabytes.
//
// # Memory maps
//
// Little-endian float32, float64 and integer data (int64, uint64 within the int64 range, and the
// integers and bools of 8 to 32 bits) whose offset in the file is a multiple of the element size
// is not copied: the file is memory-mapped read-only and Array.F32, F64 or I64, or the integers
// kept as stored, alias the map. Such arrays must not be written to (the pages are read-only: a
// write kills the process) and their data lives until Close, after which it must not be used,
// including through an engine.Matrix made from the array. Truncating the file while it is mapped
// also kills the process (SIGBUS): do not rewrite a file in place while it is being read; atomic
// writers, like the ones here, replace it instead. On systems without mmap (build tag !unix), or
// where mapping fails, the file is read into memory instead and the same rules apply minus the
// crashes.
//
// Every other case is converted with one copy straight from the map, on every core (blocks of a
// million values; the values are the same on any number of cores): big-endian data (">f4",
// ">f8", ">i2", ...) and data at an unaligned offset (into host order, integers keeping their
// width), float16 and bfloat16 (converted exactly to float32, subnormals, infinities and NaN
// payloads included), and a uint64 array holding a value above the int64 range, which no int64
// holds (read as float64, as NumPy's astype(np.float64) gives it: rounded to nearest, exact below
// 2^53).
//
// Integers of 8 to 32 bits stay as narrow as stored, so that brain data saved as int16 (NSD's
// betas) take their file's size, not 8 bytes a value: Array.Ints widens them to int64 for labels
// and ids, and Array.Matrix converts them for data, as the NIfTI, MGH and HDF5 readers do
// (float32 for 8- and 16-bit integers, float64 for wider ones), the one copy it makes, on every
// core as the readers' conversions.
//
// The members of an .npz bundle that are stored without compression are mapped in place like a
// .npy file; numpy's savez does not align them, so they are usually copied, while WriteNPZ pads
// its members so that the data of every member is 64-byte aligned. Deflated members
// (savez_compressed) are decompressed into memory. The CRC of a stored member is not verified:
// that would read every byte of a file that is otherwise mapped lazily (a .npy file has no
// checksum either); a deflated member's CRC is checked when the member is read.
//
// # Reading some arrays of a bundle
//
// Read, ReadNPZ and ReadSafetensors read every array of a file. Open reads only the headers: the
// central directory and each member's .npy header for an .npz (for a deflated member, only the
// first bytes of its stream are decompressed), the JSON header for safetensors. File.Arrays
// lists the arrays with their shapes and dtypes, and File.Read reads one, so the memory used is
// that of the arrays read: a deflated member is decompressed when, and each time, it is read.
//
// What is wrong with the archive as a whole (not a zip file, two members of one name, tensors
// whose data overlap) is Open's error. What is wrong with one member or tensor (a corrupt
// stream, a bad header, an unsupported dtype or compression method) is its Entry's Err and
// Read's error for it, so the other arrays can still be read; Read and ReadAll, reading every
// array, fail on it as before. A corrupt stream past a deflated member's header is found only
// when that member is read. An array whose dtype is not read here (strings, Python objects,
// complex numbers) has an Err that matches ErrUnsupportedDType.
//
// As numpy's np.load does, an .npz member is an array when it starts with the .npy magic. Other
// members (a meta.json, a README.txt, the __MACOSX/ metadata of macOS archives) are not arrays:
// File.NotArrays lists them, and Read and ReadAll skip them. A member whose name ends in ".npy"
// but that does not hold a .npy array is corrupt, not skipped (except macOS metadata).
//
// # Errors
//
// Bad input never panics: every error is one line that starts with the file name (and the .npz
// member or safetensors tensor) and says what is wrong, for example
//
//	Y.npy: truncated: header declares 1000 x 200 float32 (800000 bytes of data), file has 4000
//
// A header that declares more data than the file holds says so, also with dimensions of 2^31 or
// more (which are not supported); a path that is a directory, a device or a named pipe says so
// (it is not opened: a named pipe would wait for a writer), and a missing file is
// "PATH: no such file or directory" (errors.Is(err, fs.ErrNotExist)).
//
// # Writing
//
// WriteNPY and WriteNPZ write little-endian, C-order (or, for WriteNPZ, the array's own order)
// data as the header followed by the raw bytes in one write, through package atomicfile: a
// reader sees the old file or the new one, never a partial file.
package array
