package array

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// benchBytes is the data size of the benchmarks: 256 MB, or 8 MB under -short.
func benchBytes() int {
	if testing.Short() {
		return 8 << 20
	}
	return 256 << 20
}

func benchData() []float32 {
	data := make([]float32, benchBytes()/4)
	for i := range data {
		data[i] = float32(i%1000) * 0.001
	}
	return data
}

// benchFile writes the benchmark data as a .npy file of the given dtype ("<f4", ">f4", "<f2").
func benchFile(b *testing.B, descr string) string {
	b.Helper()
	data := benchData()
	p := filepath.Join(b.TempDir(), "bench.npy")
	if descr == "<f4" {
		if err := WriteNPY(p, []int{len(data) / 1024, 1024}, data); err != nil {
			b.Fatal(err)
		}
		return p
	}
	size := 4
	if descr == "<f2" {
		size = 2
	}
	buf := npyPrefix(descr, false, []int{len(data) / 1024, 1024})
	off := len(buf)
	buf = append(buf, make([]byte, len(data)*size)...)
	for i, v := range data {
		if size == 4 {
			binary.BigEndian.PutUint32(buf[off+4*i:], math.Float32bits(v))
		} else {
			binary.LittleEndian.PutUint16(buf[off+2*i:], uint16(i)&0x7bff) // finite halves
		}
	}
	if err := os.WriteFile(p, buf, 0o644); err != nil {
		b.Fatal(err)
	}
	return p
}

// BenchmarkReadNPY reads a float32 file and touches one value per 4 KB page, which is what
// brings mapped data into memory (from the page cache: the file was just written). "mapped" is
// the no-copy path; the others convert with one copy.
func BenchmarkReadNPY(b *testing.B) {
	for _, c := range []struct{ name, descr string }{
		{"mapped", "<f4"}, {"bigendian-copy", ">f4"}, {"float16-convert", "<f2"},
	} {
		b.Run(c.name, func(b *testing.B) {
			p := benchFile(b, c.descr)
			st, _ := os.Stat(p)
			b.SetBytes(st.Size())
			var sink float32
			for b.Loop() {
				a, err := ReadNPY(p)
				if err != nil {
					b.Fatal(err)
				}
				for i := 0; i < len(a.F32); i += 1024 {
					sink += a.F32[i]
				}
				a.Close()
			}
			if math.IsNaN(float64(sink)) {
				b.Log(sink)
			}
		})
	}
}

// BenchmarkWriteNPY writes a float32 array atomically, fsync included.
func BenchmarkWriteNPY(b *testing.B) {
	data := benchData()
	p := filepath.Join(b.TempDir(), "out.npy")
	b.SetBytes(int64(len(data) * 4))
	for b.Loop() {
		if err := WriteNPY(p, []int{len(data) / 1024, 1024}, data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReadNIfTIgz reads a 4-d float32 .nii.gz (64 x 64 x 64 volumes): inflated a piece at
// a time, each piece converted and transposed to (t, x, y, z) on the cores as the next inflates.
func BenchmarkReadNIfTIgz(b *testing.B) {
	g, err := ReadGeometry(filepath.Join("..", "testdata", "neuro", "float32_be.nii"))
	if err != nil {
		b.Fatal(err)
	}
	g.Spatial = []int{64, 64, 64}
	data := benchData()
	frames := len(data) / (64 * 64 * 64)
	vals := make([]float64, frames*64*64*64)
	for i := range vals {
		vals[i] = float64(data[i])
	}
	p := filepath.Join(b.TempDir(), "bench.nii.gz")
	if err := WriteFrames(p, g, frames, vals); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(4 * len(vals)))
	b.ResetTimer()
	for range b.N {
		arrs, err := Read(p)
		if err != nil {
			b.Fatal(err)
		}
		CloseAll(arrs)
	}
}

// BenchmarkReadNPYIDs reads ids as np.save writes image names ('<U16', NUL-padded) and NSD's
// image indices (int64): benchBytes() of names, and as many indices.
func BenchmarkReadNPYIDs(b *testing.B) {
	n := benchBytes() / 64
	names := npyPrefix("<U16", false, []int{n})
	off := len(names)
	names = append(names, make([]byte, 64*n)...)
	indices := make([]int64, n)
	for i := range n {
		for k, r := range fmt.Sprintf("img_%07d.png", i) { // 15 of 16 characters
			binary.LittleEndian.PutUint32(names[off+64*i+4*k:], uint32(r))
		}
		indices[i] = int64(73000 - i%73000)
	}
	dir := b.TempDir()
	for _, c := range []struct {
		name  string
		write func(string) error
	}{
		{"U16", func(p string) error { return os.WriteFile(p, names, 0o644) }},
		{"int64", func(p string) error { return WriteNPY(p, []int{n}, indices) }},
	} {
		p := filepath.Join(dir, c.name+".npy")
		if err := c.write(p); err != nil {
			b.Fatal(err)
		}
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				ids, err := ReadNPYIDs(p)
				if err != nil || len(ids) != n {
					b.Fatal(len(ids), err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/id")
		})
	}
}

// benchInt16 writes benchBytes() of int16 brain data (betas times 300, as NSD's, within ±3000)
// as a .npy file of the given shape, C or Fortran order.
func benchInt16(b *testing.B, shape []int, fortran bool) string {
	b.Helper()
	n := benchBytes() / 2
	buf := npyPrefix("<i2", fortran, shape)
	off := len(buf)
	buf = append(buf, make([]byte, 2*n)...)
	for i := range n {
		binary.LittleEndian.PutUint16(buf[off+2*i:], uint16(int16(i%6001-3000)))
	}
	p := filepath.Join(b.TempDir(), "brain.npy")
	if err := os.WriteFile(p, buf, 0o644); err != nil {
		b.Fatal(err)
	}
	return p
}

// BenchmarkMatrixInt16 reads int16 brain data from a .npy file (mapped in place) and converts it
// to float32 with Matrix, as encode reads brain data: images x voxels in C order, and 4-d in
// Fortran order (images x X x Y x Z, as MATLAB writes a volume), transposed as it is converted.
func BenchmarkMatrixInt16(b *testing.B) {
	n := benchBytes() / 2
	for _, c := range []struct {
		name    string
		shape   []int
		fortran bool
	}{
		{"C", []int{n / 4096, 4096}, false},
		{"fortran-4d", []int{n / 4096, 16, 16, 16}, true},
	} {
		b.Run(c.name, func(b *testing.B) {
			p := benchInt16(b, c.shape, c.fortran)
			b.SetBytes(int64(2 * n))
			for b.Loop() {
				a, err := ReadNPY(p)
				if err != nil {
					b.Fatal(err)
				}
				m, err := a.Matrix()
				if err != nil || len(m.F32) != n {
					b.Fatal(len(m.F32), err)
				}
				a.Close()
			}
		})
	}
}

// BenchmarkReadNIfTIScaled reads an uncompressed int16 NIfTI-1 file with scl_slope 1/300 (as NSD's
// betas): 64 x 64 x 64 volumes, benchBytes() stored, converted, scaled and transposed to
// (t, x, y, z) on the cores as its pieces are read.
func BenchmarkReadNIfTIScaled(b *testing.B) {
	frames := benchBytes() / 2 / (64 * 64 * 64)
	n := frames * 64 * 64 * 64
	o := binary.LittleEndian
	head := make([]byte, 352)
	o.PutUint32(head, 348)
	for i, d := range []int{4, 64, 64, 64, frames} {
		o.PutUint16(head[40+2*i:], uint16(d))
	}
	o.PutUint16(head[70:], 4) // int16
	o.PutUint16(head[72:], 16)
	o.PutUint32(head[108:], math.Float32bits(352))
	o.PutUint32(head[112:], math.Float32bits(1.0/300))
	copy(head[344:], "n+1\x00")
	buf := append(head, make([]byte, 2*n)...)
	for i := range n {
		o.PutUint16(buf[352+2*i:], uint16(int16(i%6001-3000)))
	}
	p := filepath.Join(b.TempDir(), "betas.nii")
	if err := os.WriteFile(p, buf, 0o644); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(2 * n))
	for b.Loop() {
		arrs, err := Read(p)
		if err != nil || len(arrs[0].F32) != n {
			b.Fatal(err)
		}
		CloseAll(arrs)
	}
}
