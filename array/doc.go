// Package array reads and writes the n-d arrays researchers exchange: NumPy .npy files (format
// versions 1.0, 2.0 and 3.0), .npz bundles, and safetensors files.
//
// Everything is written on the standard library: general-purpose readers decode element by
// element through reflection and run at a few MB/s to a few hundred MB/s (DESIGN.md §7), while
// activation and brain matrices run to tens of gigabytes.
//
// # Memory maps
//
// Little-endian float32, float64 and int64 data whose offset in the file is a multiple of the
// element size is not copied: the file is memory-mapped read-only and Array.F32, F64 or I64 alias
// the map. Such arrays must not be written to (the pages are read-only: a write kills the
// process) and their data lives until Close, after which it must not be used, including through
// an engine.Matrix made from the array. Truncating the file while it is mapped also kills the
// process (SIGBUS): do not rewrite a file in place while it is being read; atomic writers, like
// the ones here, replace it instead. On systems without mmap (build tag !unix), or where mapping
// fails, the file is read into memory instead and the same rules apply minus the crashes.
//
// Every other case is converted with one copy straight from the map: big-endian data (">f4",
// ">f8", ">i8", ...), data at an unaligned offset, float16 and bfloat16 (converted exactly to
// float32, subnormals, infinities and NaN payloads included), and all integer and bool types
// (converted to int64; a uint64 above the int64 range is an error).
//
// The members of an .npz bundle that are stored without compression are mapped in place like a
// .npy file; numpy's savez does not align them, so they are usually copied, while WriteNPZ pads
// its members so that the data of every member is 64-byte aligned. Deflated members
// (savez_compressed) are decompressed into memory. The CRC of a stored member is not verified:
// that would read every byte of a file that is otherwise mapped lazily (a .npy file has no
// checksum either); a deflated member's CRC is checked.
//
// # Errors
//
// Bad input never panics: every error is one line that starts with the file name (and the .npz
// member or safetensors tensor) and says what is wrong, for example
//
//	Y.npy: truncated: header declares 1000 x 200 float32 (800000 bytes of data), file has 4000
//
// # Writing
//
// WriteNPY and WriteNPZ write little-endian, C-order (or, for WriteNPZ, the array's own order)
// data as the header followed by the raw bytes in one write, through package atomicfile: a
// reader sees the old file or the new one, never a partial file.
package array
