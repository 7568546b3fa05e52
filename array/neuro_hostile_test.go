package array

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// Hostile neuroimaging files (found by the fuzz targets of fuzz_neuro_test.go, or made by hand):
// each is refused, or read as its header says, with work and memory bounded by the file's size.

// neuroDir holds the NiBabel-made fixtures (gen_neuro.py).
var neuroDir = filepath.Join("..", "testdata", "neuro")

func gzipped(b []byte) []byte {
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write(b)
	zw.Close()
	return z.Bytes()
}

// niftiSeed is a NIfTI-1 (version 1) or NIfTI-2 header of dims (at most 7) and datatype code,
// data at 352 (NIfTI-1) or 544, followed by data.
func niftiSeed(version int, code int, dims []int64, data []byte) []byte {
	o := binary.LittleEndian
	if version == 1 {
		b := make([]byte, 352)
		o.PutUint32(b, 348)
		o.PutUint16(b[40:], uint16(len(dims)))
		for i, d := range dims {
			o.PutUint16(b[42+2*i:], uint16(d))
		}
		o.PutUint16(b[70:], uint16(code))
		o.PutUint32(b[108:], 0x43b00000) // 352.0
		copy(b[344:], "n+1\x00")
		return append(b, data...)
	}
	b := make([]byte, 544)
	o.PutUint32(b, 540)
	copy(b[4:], "n+2\x00\r\n\x1a\n")
	o.PutUint16(b[12:], uint16(code))
	o.PutUint64(b[16:], uint64(len(dims)))
	for i, d := range dims {
		o.PutUint64(b[24+8*i:], uint64(d))
	}
	o.PutUint64(b[168:], 544)
	return append(b, data...)
}

// mghSeed is an MGH header of dims (4) and type code, followed by data.
func mghSeed(dims [4]int32, code int32, data []byte) []byte {
	b := make([]byte, mghHeaderLen)
	o := binary.BigEndian
	o.PutUint32(b, 1)
	for i, d := range dims {
		o.PutUint32(b[4+4*i:], uint32(d))
	}
	o.PutUint32(b[20:], uint32(code))
	return append(b, data...)
}

// allocated is how many bytes fn allocates.
func allocated(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// A .nii.gz or .mgz of a few bytes of data followed by 256 MiB of zeros (a 250 KB gzip bomb) is
// decompressed only as far as its header says the data go: it was inflated whole (1 MB of
// file took 2 GB and 16 s).
func TestNeuroGzipBomb(t *testing.T) {
	var chunk bytes.Buffer // one gzip member of 16 MiB of zeros, repeated (gzip reads on)
	zw := gzip.NewWriter(&chunk)
	zw.Write(make([]byte, 16<<20))
	zw.Close()
	dir := t.TempDir()
	for name, file := range map[string][]byte{
		"bomb.nii.gz": niftiSeed(1, 2, []int64{4}, []byte{1, 2, 3, 4}),
		"bomb.mgz":    mghSeed([4]int32{4, 1, 1, 1}, 0, []byte{1, 2, 3, 4}),
	} {
		b := gzipped(file)
		for range 16 {
			b = append(b, chunk.Bytes()...)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		var arrs []*Array
		var err error
		n := allocated(func() { arrs, err = Read(p) })
		if err != nil || len(arrs) != 1 || !slices.Equal(arrs[0].F32, []float32{1, 2, 3, 4}) {
			t.Fatalf("%s: %v, %v", name, arrs, err)
		}
		CloseAll(arrs)
		if n > 16<<20 {
			t.Errorf("%s: %d MB allocated to read 4 bytes of data from %d KB of gzip", name, n>>20, len(b)>>10)
		}
	}
}

// The stream past the data is still read to its end, where gzip checks its checksum, and a
// stream that ends within the data is an error.
func TestNeuroGzipChecked(t *testing.T) {
	good := gzipped(append(niftiSeed(1, 2, []int64{4}, []byte{1, 2, 3, 4}), make([]byte, 100)...))
	bad := slices.Clone(good)
	bad[len(bad)-8] ^= 1 // the CRC-32
	dir := t.TempDir()
	for name, b := range map[string][]byte{"good.nii.gz": good, "bad.nii.gz": bad} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if arrs, err := Read(filepath.Join(dir, "good.nii.gz")); err != nil || !slices.Equal(arrs[0].F32, []float32{1, 2, 3, 4}) {
		t.Fatal(arrs, err)
	}
	if _, err := Read(filepath.Join(dir, "bad.nii.gz")); err == nil || !strings.Contains(err.Error(), "decompressing: gzip: invalid checksum") {
		t.Errorf("a bad checksum: %v", err)
	}
	p := filepath.Join(dir, "cut.nii.gz")
	if err := os.WriteFile(p, good[:len(good)-30], 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(p); err == nil || !strings.HasPrefix(err.Error(), p+": ") {
		t.Errorf("a cut stream: %v", err)
	}
}

// ReadGeometry of a CIFTI file whose data offset (its header and XML) is 2 GB, in a file of
// 1200 bytes, allocated the 2 GB before reading.
func TestCiftiHugeOffset(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(neuroDir, "series.dtseries.nii"))
	if err != nil {
		t.Fatal(err)
	}
	binary.LittleEndian.PutUint64(b[168:], 1<<31-1)
	dir := t.TempDir()
	for _, name := range []string{"x.dtseries.nii", "x.dtseries.nii.gz"} {
		p := filepath.Join(dir, name)
		data := b
		if strings.HasSuffix(name, ".gz") {
			data = gzipped(b)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		n := allocated(func() { _, err = ReadGeometry(p) })
		if err == nil || err.Error() != p+": truncated CIFTI header: unexpected EOF" {
			t.Errorf("%s: %v", name, err)
		}
		if n > 1<<20 {
			t.Errorf("%s: %d MB allocated to read a header of 1200 bytes", name, n>>20)
		}
		if _, err := Read(p); err == nil || !strings.Contains(err.Error(), "truncated") {
			t.Errorf("%s: Read: %v", name, err)
		}
	}
}

// A GIFTI data array whose Dim0 x Dim1 its data cannot hold is refused before anything is
// allocated for it (Dim0="1099511627776" in a file of 300 bytes was an 8 TB allocation), and one
// that its data hold but do not fill is refused when read.
func TestGIFTIDimsBeyondData(t *testing.T) {
	dir := t.TempDir()
	file := func(name, attrs, data string) string {
		p := filepath.Join(dir, name)
		b := `<GIFTI Version="1.0"><DataArray Intent="NIFTI_INTENT_NONE" DataType="NIFTI_TYPE_FLOAT32" ArrayIndexingOrder="RowMajorOrder" ` + attrs + `><Data>` + data + `</Data></DataArray></GIFTI>`
		if err := os.WriteFile(p, []byte(b), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, c := range []struct{ path, want string }{
		{file("huge.func.gii", `Dimensionality="1" Dim0="1099511627776" Encoding="ASCII"`, "1 2"), "GIFTI data array 0: 1099511627776 x 1 values in 3 characters of ASCII data: corrupt"},
		{file("overflow.func.gii", `Dimensionality="2" Dim0="4294967296" Dim1="4294967296" Encoding="Base64Binary"`, "AACAPw=="), "4294967296 x 4294967296 values in 8 characters of Base64Binary data: corrupt"},
		{file("zhuge.func.gii", `Dimensionality="2" Dim0="1000000" Dim1="1000" Encoding="GZipBase64Binary"`, "eJxjYGBgYARiJgYIQGYDAAB4AAc="), "values in 28 characters of GZipBase64Binary data: corrupt"},
		{file("unknown.func.gii", `Dimensionality="1" Dim0="1099511627776" Encoding="ASCIH"`, "1 2"), "GIFTI data array 0: unknown encoding \"ASCIH\""},
		{file("external.func.gii", `Dimensionality="1" Dim0="1099511627776" Encoding="ExternalFileBinary" ExternalFileName="/dev/zero"`, ""), "GIFTI data array 0: data in an external file (ExternalFileBinary) are not read"},
		{file("short.func.gii", `Dimensionality="2" Dim0="2" Dim1="1" Encoding="Base64Binary"`, "AACAPw=="), "4 bytes of data for 2 float32 elements (8 bytes): truncated or corrupt"},
	} {
		if _, err := Read(c.path); err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), c.path+": ") {
			t.Errorf("Read: %v, want %q", err, c.want)
		}
	}
}

// A CIFTI brain model of voxels needs the Volume that places them, even a model of none:
// CiftiCoordinates took the missing volume's matrix (a nil pointer).
func TestCiftiVoxelsWithoutVolume(t *testing.T) {
	doc := `<CIFTI Version="2"><Matrix><MatrixIndicesMap AppliesToMatrixDimension="1" IndicesMapToDataType="CIFTI_INDEX_TYPE_BRAIN_MODELS">` +
		`<BrainModel IndexOffset="0" IndexCount="0" ModelType="CIFTI_MODEL_TYPE_VOXELS" BrainStructure="CIFTI_STRUCTURE_THALAMUS_LEFT"><VoxelIndicesIJK></VoxelIndicesIJK></BrainModel>` +
		`<BrainModel IndexOffset="0" IndexCount="1" ModelType="CIFTI_MODEL_TYPE_SURFACE" BrainStructure="CIFTI_STRUCTURE_CORTEX_LEFT" SurfaceNumberOfVertices="2"><VertexIndices>1</VertexIndices></BrainModel>` +
		`</MatrixIndicesMap></Matrix></CIFTI>`
	_, err := ciftiGeometry([]byte(doc), make([]byte, 540), binary.LittleEndian, 1)
	if err == nil || err.Error() != "CIFTI XML: brain model 1 (THALAMUS_LEFT): voxels without a Volume" {
		t.Errorf("%v", err)
	}
}

// A MatrixIndicesMap element outside CIFTI > Matrix is not a map: its end was taken for the last
// map's (an index of -1 when there was none; else the map's bytes ran on to it, and scalars
// written over the file had the elements between in their XML, which did not read back).
func TestCiftiMapOutsideMatrix(t *testing.T) {
	if _, err := parseCifti([]byte("<CIFTI><A><MatrixIndicesMap/></A></CIFTI>")); err == nil || err.Error() != "CIFTI XML: no MatrixIndicesMap" {
		t.Errorf("a map outside Matrix: %v", err)
	}
	b, err := os.ReadFile(filepath.Join(neuroDir, "hcp.dscalar.nii"))
	if err != nil {
		t.Fatal(err)
	}
	h, err := parseNIfTI(b)
	if err != nil {
		t.Fatal(err)
	}
	doc := strings.Replace(string(h.geo.xml), "</Matrix>", "</Matrix><Other><MatrixIndicesMap/></Other>", 1)
	g, err := ciftiGeometry([]byte(doc), h.geo.header, binary.LittleEndian, h.geo.Targets())
	if err != nil {
		t.Fatal(err)
	}
	out, err := g.ciftiScalarsXML([]string{"a"})
	if err != nil || strings.Contains(string(out), "Other") {
		t.Fatalf("scalars over it: %v\n%s", err, out)
	}
	back, err := ciftiGeometry(out, h.geo.header, binary.LittleEndian, h.geo.Targets())
	if err != nil || SameGrid(back, h.geo) != nil {
		t.Errorf("scalars over it read back: %v", err)
	}
}

// A GIFTI file of many POINTSET arrays (a surface takes the last) is read in time linear in its
// size: each was put before the others, 110 s for a file of 1.7 MB.
func TestGIFTIManyPointsets(t *testing.T) {
	doc := `<GIFTI Version="1.0">` + strings.Repeat(`<DataArray Intent="NIFTI_INTENT_POINTSET"/>`, 200_000) +
		`<DataArray Intent="NIFTI_INTENT_POINTSET" DataType="NIFTI_TYPE_FLOAT32" Dimensionality="2" Dim0="1" Dim1="3" Encoding="ASCII"><Data>1 2 3</Data></DataArray></GIFTI>`
	done := make(chan error, 1)
	go func() {
		f, err := openGIFTI("x.surf.gii", []byte(doc), nil)
		if err == nil {
			var a *Array
			if a, err = f.Read(""); err == nil && !slices.Equal(a.F32, []float32{1, 2, 3}) {
				t.Errorf("read %v, want the last pointset", a.F32)
			}
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Error(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("200,000 POINTSET arrays (8 MB) not read in 20 s")
	}
}

// A GIFTI name or value in many pieces (text between comments) is read in time linear in its
// size: each piece was appended by copying the text so far (1.6 s for 312 KB, 40 s for 1.5 MB).
func TestGIFTIStructureInPieces(t *testing.T) {
	p := filepath.Join(t.TempDir(), "pieces.func.gii")
	doc := `<GIFTI><MetaData><MD><Name>` + strings.Repeat(`a<!---->`, 400_000) + `</Name><Value>CortexLeft</Value></MD>` +
		`<MD><Name>AnatomicalStructure<!---->Primary</Name><Value>Cortex<!---->Right</Value></MD></MetaData></GIFTI>`
	if err := os.WriteFile(p, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	s, err := giftiStructure(p)
	if err != nil || s != "CortexRight" {
		t.Errorf("%q, %v", s, err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("%v to read 3.2 MB of metadata", d)
	}
}

// Parcels' vertices are checked against their structures' surfaces, as brain models' are.
func TestCiftiParcelVertices(t *testing.T) {
	doc := func(vertices string) []byte {
		return []byte(`<CIFTI Version="2"><Matrix><MatrixIndicesMap AppliesToMatrixDimension="1" IndicesMapToDataType="CIFTI_INDEX_TYPE_PARCELS">` +
			`<Surface BrainStructure="CIFTI_STRUCTURE_CORTEX_LEFT" SurfaceNumberOfVertices="3"/><Parcel Name="p">` + vertices + `</Parcel></MatrixIndicesMap></Matrix></CIFTI>`)
	}
	for vertices, want := range map[string]string{
		`<Vertices BrainStructure="CIFTI_STRUCTURE_CORTEX_LEFT">0 2</Vertices>`: "",
		`<Vertices BrainStructure="CIFTI_STRUCTURE_CORTEX_LEFT">0 3</Vertices>`: "CIFTI XML: parcel p: vertex 3 of a CORTEX_LEFT surface of 3 vertices",
		`<Vertices BrainStructure="CIFTI_STRUCTURE_CORTEX_LEFT">-1</Vertices>`:  "CIFTI XML: parcel p: vertex -1 of a CORTEX_LEFT surface of 3 vertices",
		`<Vertices BrainStructure="CIFTI_STRUCTURE_CORTEX_RIGHT">0</Vertices>`:  "CIFTI XML: parcel p: vertices on CORTEX_RIGHT, which has no Surface",
	} {
		_, err := ciftiGeometry(doc(vertices), make([]byte, 540), binary.LittleEndian, 1)
		if want == "" && err != nil || want != "" && (err == nil || err.Error() != want) {
			t.Errorf("%s: %v, want %q", vertices, err, want)
		}
	}
}

// ReadGeometry of a large 4-d .mgz inflates the data only to pass them on the way to the
// trailer, in a bounded buffer: memory does not grow with the file (a run's --space of a few GB
// of frames would otherwise hold them all), and the header's shape and the planted trailer (scan
// parameters, then a kept tag after a dropped one, in FreeSurfer's layout) are read past them.
func TestReadGeometryLargeMGZ(t *testing.T) {
	dims := [4]int32{64, 64, 40, 64} // float32: 40 MiB of data
	dataBytes := int64(4)
	for _, d := range dims {
		dataBytes *= int64(d)
	}
	o := binary.BigEndian
	params := make([]byte, mghScanParams)
	for i, v := range []float32{2000, 90, 30, 1100, 256} { // TR, flip angle, TE, TI, FoV
		o.PutUint32(params[4*i:], math.Float32bits(v))
	}
	tag := func(code int32, body string) []byte {
		b := make([]byte, 12, 12+len(body))
		o.PutUint32(b, uint32(code))
		o.PutUint64(b[4:], uint64(len(body)))
		return append(b, body...)
	}
	kept := tag(43, "\x40\x40\x00\x00")  // TAG_FIELDSTRENGTH: 3.0
	dropped := tag(3, "mri_convert a b") // TAG_CMDLINE: not kept
	p := filepath.Join(t.TempDir(), "frames.mgz")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	zw := gzip.NewWriter(f)
	zw.Write(mghSeed(dims, 3, nil))
	zeros := make([]byte, 1<<20)
	for n := dataBytes; n > 0; n -= int64(len(zeros)) {
		zw.Write(zeros[:min(n, int64(len(zeros)))])
	}
	zw.Write(params)
	zw.Write(dropped)
	zw.Write(kept)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	var g *Geometry
	n := allocated(func() { g, err = ReadGeometry(p) })
	if err != nil {
		t.Fatal(err)
	}
	if g.Format != "mgh" || !slices.Equal(g.Spatial, []int{64, 64, 40}) || g.Targets() != 64*64*40 {
		t.Errorf("geometry %s %v, %d targets: want mgh [64 64 40], %d", g.Format, g.Spatial, g.Targets(), 64*64*40)
	}
	if want := append(slices.Clone(params), kept...); !bytes.Equal(g.trailer, want) {
		t.Errorf("trailer %x, want %x", g.trailer, want)
	}
	if n > 2<<20 {
		t.Errorf("%d MB allocated to read the geometry of %d MB of data", n>>20, dataBytes>>20)
	}
}
