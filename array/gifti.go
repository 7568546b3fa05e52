package array

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"encoding/base64"
	"encoding/binary"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strconv"
	"strings"
)

// GIFTI files (.func.gii, .shape.gii, .label.gii, .time.gii): one hemisphere's surface data, as
// fMRIPrep (sub-01_hemi-L_space-fsaverage5_bold.func.gii) and Connectome Workbench write them.
// The file is XML; each DataArray holds its values in ASCII, base64 or zlib-compressed base64,
// little- or big-endian. A time series or a set of maps is one 1-d array per row (time point,
// map), or one vertices x rows array: either reads as rows x vertices, as brain data are laid out
// (NiBabel: np.stack([d.data for d in img.darrays]), or img.darrays[0].data.T). Results are
// written as .func.gii with one float32 array per map and the input's file metadata (the
// hemisphere, AnatomicalStructurePrimary), which viewers use to place them. A surface's geometry
// (.surf.gii) reads as its vertices' coordinates, vertices x 3: the spatial score's --coords.

type giftiXML struct {
	Meta   []giftiMD    `xml:"MetaData>MD"`
	Labels []giftiLabel `xml:"LabelTable>Label"`
	Arrays []giftiArray `xml:"DataArray"`
}

type giftiMD struct {
	Name  string `xml:"Name"`
	Value string `xml:"Value"`
}

type giftiLabel struct {
	Key  int    `xml:"Key,attr"`
	Name string `xml:",chardata"`
}

type giftiArray struct {
	Intent   string `xml:"Intent,attr"`
	DataType string `xml:"DataType,attr"`
	Order    string `xml:"ArrayIndexingOrder,attr"`
	NDim     int    `xml:"Dimensionality,attr"`
	Dim0     int    `xml:"Dim0,attr"`
	Dim1     int    `xml:"Dim1,attr"`
	Dim2     int    `xml:"Dim2,attr"`
	Encoding string `xml:"Encoding,attr"`
	Endian   string `xml:"Endian,attr"`
	Data     string `xml:"Data"`
}

// giftiInfo is what a Geometry keeps of a GIFTI file: its metadata and label table.
type giftiInfo struct {
	meta   []giftiMD
	labels map[int]string
}

// isGIFTI reports whether path names a GIFTI file (.gii).
func isGIFTI(path string) bool { return strings.HasSuffix(strings.ToLower(path), ".gii") }

// giftiTypes maps GIFTI's DataType to the stored type's name, size and kind.
var giftiTypes = map[string]struct {
	name string
	size int
}{
	"NIFTI_TYPE_UINT8": {"uint8", 1}, "NIFTI_TYPE_INT8": {"int8", 1},
	"NIFTI_TYPE_INT16": {"int16", 2}, "NIFTI_TYPE_UINT16": {"uint16", 2},
	"NIFTI_TYPE_INT32": {"int32", 4}, "NIFTI_TYPE_UINT32": {"uint32", 4},
	"NIFTI_TYPE_INT64": {"int64", 8}, "NIFTI_TYPE_UINT64": {"uint64", 8},
	"NIFTI_TYPE_FLOAT32": {"float32", 4}, "NIFTI_TYPE_FLOAT64": {"float64", 8},
}

// parseGIFTI reads a GIFTI document; data arrays are decoded by decodeGIFTI.
func parseGIFTI(buf []byte) (*giftiXML, error) {
	var g giftiXML
	d := xml.NewDecoder(bytes.NewReader(buf))
	d.Strict = true
	if err := d.Decode(&g); err != nil {
		return nil, fmt.Errorf("not a readable GIFTI XML document: %v", err)
	}
	return &g, nil
}

// dataArrays splits a GIFTI document's arrays: a surface's coordinates (POINTSET; its triangles
// are left out), or the data arrays.
func (g *giftiXML) dataArrays() (arrays []giftiArray, surface bool, err error) {
	var points giftiArray // the last POINTSET (each was put first: quadratic in their number)
	for _, a := range g.Arrays {
		switch a.Intent {
		case "NIFTI_INTENT_TRIANGLE":
		case "NIFTI_INTENT_POINTSET":
			surface, points = true, a
		case "NIFTI_INTENT_NODE_INDEX": // read as a row, the indices would be taken for values
			return nil, false, errors.New("sparse GIFTI data (a NIFTI_INTENT_NODE_INDEX array lists the vertices that the values are for) are not read: write a value for every vertex")
		default:
			arrays = append(arrays, a)
		}
	}
	if surface {
		return []giftiArray{points}, true, nil
	}
	if len(arrays) == 0 {
		return nil, false, errors.New("a GIFTI file without data arrays")
	}
	return arrays, false, nil
}

// giftiShape returns the rows x columns the arrays read as: rows x vertices (one 1-d array per
// row, or one vertices x rows array), or a surface's vertices x 3.
func giftiShape(arrays []giftiArray, surface bool) (rows, cols int, err error) {
	a := arrays[0]
	for i, b := range arrays {
		if _, ok := giftiTypes[b.DataType]; !ok {
			return 0, 0, fmt.Errorf("GIFTI data array %d: data type %q (want an integer or float type)", i, b.DataType)
		}
		if b.NDim < 1 || b.NDim > 2 || b.Dim0 < 1 || b.NDim == 2 && b.Dim1 < 1 {
			return 0, 0, fmt.Errorf("GIFTI data array %d: %d dimension(s) of %d x %d (want 1 or 2)", i, b.NDim, b.Dim0, b.Dim1)
		}
		if b.DataType != a.DataType {
			return 0, 0, fmt.Errorf("GIFTI data arrays of two types (%s, %s)", a.DataType, b.DataType)
		}
		if err := b.checkSize(i); err != nil {
			return 0, 0, err
		}
	}
	switch {
	case surface:
		if a.NDim != 2 || a.Dim1 != 3 {
			return 0, 0, fmt.Errorf("GIFTI surface coordinates of %d x %d (want vertices x 3)", a.Dim0, a.Dim1)
		}
		return a.Dim0, 3, nil
	case len(arrays) == 1 && a.NDim == 2:
		return a.Dim1, a.Dim0, nil // vertices x rows
	}
	for i, b := range arrays {
		if b.NDim == 2 && b.Dim1 != 1 || b.Dim0 != a.Dim0 {
			return 0, 0, fmt.Errorf("GIFTI data array %d of %d x %d after one of %d values: want one array of vertices per row, or one vertices x rows array", i, b.Dim0, max(b.Dim1, 1), a.Dim0)
		}
	}
	return len(arrays), a.Dim0, nil
}

// giftiRatio bounds how many bytes GZipBase64Binary data decompress to per byte of base64:
// deflate's largest ratio (about 1032:1) times base64's 3 bytes in 4.
const giftiRatio = 1032 * 3 / 4

// elements is the number of values a data array says it holds.
func (a *giftiArray) elements() int {
	if a.NDim == 2 {
		return a.Dim0 * a.Dim1
	}
	return a.Dim0
}

// checkSize checks that data array i's dimensions fit in its data as encoded, before anything
// is allocated for them: a few bytes of XML saying Dim0="1099511627776" are corrupt, not 8 TB of
// values (ASCII takes at least two characters a value, base64 4 a 3 bytes, and compressed data
// inflate at most giftiRatio times).
func (a *giftiArray) checkSize(i int) error {
	size := giftiTypes[a.DataType].size
	most := 0 // bytes of data the encoded data can hold
	switch a.Encoding {
	case "ASCII":
		most = size * (len(a.Data) + 1) / 2
	case "Base64Binary":
		most = len(a.Data)
	case "GZipBase64Binary":
		most = giftiRatio*len(a.Data) + 64
	default:
		return fmt.Errorf("GIFTI data array %d: %v", i, giftiEncoding(a.Encoding))
	}
	if a.Dim0 > most/size || a.NDim == 2 && a.Dim1 > most/size/a.Dim0 {
		return fmt.Errorf("GIFTI data array %d: %d x %d values in %d characters of %s data: corrupt", i, a.Dim0, max(a.Dim1, 1), len(a.Data), a.Encoding)
	}
	return nil
}

// giftiEncoding says why data of encoding enc are not read.
func giftiEncoding(enc string) error {
	if enc == "ExternalFileBinary" {
		return errors.New("data in an external file (ExternalFileBinary) are not read; save the file with its data inside (NiBabel: img.to_filename, or Workbench's -gifti-convert BASE64_BINARY)")
	}
	return fmt.Errorf("unknown encoding %q", enc)
}

// decodeGIFTI reads a GIFTI file's data as an Array of rows x vertices (or a surface's
// vertices x 3), integers converted as NIfTI's are (float32, float64 for 32- and 64-bit types).
func decodeGIFTI(name string, buf []byte) (*Array, error) {
	g, err := parseGIFTI(buf)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	arrays, surface, err := g.dataArrays()
	if err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	rows, cols, err := giftiShape(arrays, surface)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	t := giftiTypes[arrays[0].DataType]
	wide := t.size >= 4 && t.name != "float32" // int32, int64 and float64 need float64
	out := &Array{Name: name, Shape: []int{rows, cols}, DType: t.name}
	var f32 []float32
	var f64 []float64
	if wide {
		f64 = make([]float64, rows*cols)
		out.F64 = f64
	} else {
		f32 = make([]float32, rows*cols)
		out.F32 = f32
	}
	set := func(i int, v float64) {
		if wide {
			f64[i] = v
		} else {
			f32[i] = float32(v)
		}
	}
	for k, a := range arrays {
		vals, err := giftiValues(a, t.name, t.size)
		if err != nil {
			return nil, fmt.Errorf("%s: GIFTI data array %d: %v", name, k, err)
		}
		switch {
		case len(arrays) == 1 && a.NDim == 2 && !surface: // vertices x rows, to rows x vertices
			colMajor := a.Order == "ColumnMajorOrder"
			for v := range cols {
				for r := range rows {
					src := v*rows + r
					if colMajor {
						src = v + r*cols
					}
					set(r*cols+v, vals[src])
				}
			}
		case surface && a.Order == "ColumnMajorOrder": // vertices x 3 stored by column
			for v := range rows {
				for c := range 3 {
					set(v*3+c, vals[v+c*rows])
				}
			}
		default:
			for j, v := range vals {
				set(k*cols+j, v)
			}
		}
	}
	if !surface {
		out.Geometry = g.geometry(cols)
	}
	return out, nil
}

// geometry is the space of a GIFTI file's vertices.
func (g *giftiXML) geometry(vertices int) *Geometry {
	info := &giftiInfo{meta: g.Meta}
	if len(g.Labels) > 0 {
		info.labels = map[int]string{}
		for _, l := range g.Labels {
			info.labels[l.Key] = strings.TrimSpace(l.Name)
		}
	}
	return &Geometry{Format: "gifti", Spatial: []int{vertices}, gifti: info}
}

// giftiValues decodes one data array's values.
func giftiValues(a giftiArray, typ string, size int) ([]float64, error) {
	n := a.elements()
	out := make([]float64, 0, n)
	if a.Encoding == "ASCII" {
		for _, f := range strings.Fields(a.Data) {
			v, err := strconv.ParseFloat(f, 64)
			if err != nil {
				return nil, fmt.Errorf("ASCII value %q: not a number", f)
			}
			out = append(out, v)
		}
		if len(out) != n {
			return nil, fmt.Errorf("%d ASCII values for %d elements", len(out), n)
		}
		return out, nil
	}
	raw, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(a.Data), ""))
	if err != nil {
		return nil, fmt.Errorf("%s data: not base64: %v", a.Encoding, err)
	}
	switch a.Encoding {
	case "Base64Binary":
	case "GZipBase64Binary": // zlib's format (NiBabel, Workbench), or gzip's
		var zr io.ReadCloser
		if len(raw) > 1 && raw[0] == 0x1f && raw[1] == 0x8b {
			zr, err = gzip.NewReader(bytes.NewReader(raw))
		} else {
			zr, err = zlib.NewReader(bytes.NewReader(raw))
		}
		if err == nil {
			raw, err = io.ReadAll(io.LimitReader(zr, int64(n*size)+1))
		}
		if err != nil {
			return nil, fmt.Errorf("compressed data: %v", err)
		}
	default:
		return nil, giftiEncoding(a.Encoding)
	}
	if len(raw) != n*size {
		return nil, fmt.Errorf("%d bytes of data for %d %s elements (%d bytes): truncated or corrupt", len(raw), n, typ, n*size)
	}
	var o binary.ByteOrder = binary.LittleEndian
	if a.Endian == "BigEndian" {
		o = binary.BigEndian
	}
	for i := range n {
		b := raw[i*size:]
		var v float64
		switch typ {
		case "uint8":
			v = float64(b[0])
		case "int8":
			v = float64(int8(b[0]))
		case "int16":
			v = float64(int16(o.Uint16(b)))
		case "uint16":
			v = float64(o.Uint16(b))
		case "int32":
			v = float64(int32(o.Uint32(b)))
		case "uint32":
			v = float64(o.Uint32(b))
		case "int64":
			v = float64(int64(o.Uint64(b)))
		case "uint64":
			v = float64(o.Uint64(b))
		case "float32":
			v = float64(math.Float32frombits(o.Uint32(b)))
		case "float64":
			v = math.Float64frombits(o.Uint64(b))
		}
		out = append(out, v)
	}
	return out, nil
}

// openGIFTI opens a GIFTI file held in buf: its shape is read from the XML, its data decoded by
// Read.
func openGIFTI(name string, buf []byte, m *mapping) (*File, error) {
	g, err := parseGIFTI(buf)
	if err == nil {
		var arrays []giftiArray
		var surface bool
		if arrays, surface, err = g.dataArrays(); err == nil {
			var rows, cols int
			if rows, cols, err = giftiShape(arrays, surface); err == nil {
				f := newFile(name, buf, m)
				f.npy = true // one array, named after the path
				e := &Entry{Name: name, Shape: []int{rows, cols}, DType: giftiTypes[arrays[0].DataType].name, label: name}
				e.read = func(f *File, e *Entry) (*Array, error) { return decodeGIFTI(name, f.buf) }
				f.arrays = []*Entry{e}
				f.byName[name] = e
				return f, nil
			}
		}
	}
	m.release()
	return nil, fmt.Errorf("%s: %v", name, err)
}

// readGIFTIGeometry is ReadGeometry for a GIFTI file.
func readGIFTIGeometry(path string) (*Geometry, error) {
	f, err := openRegular(path)
	if err != nil {
		return nil, err
	}
	buf, err := io.ReadAll(f)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	g, err := parseGIFTI(buf)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	arrays, surface, err := g.dataArrays()
	if err == nil && surface {
		err = errors.New("a surface's geometry (.surf.gii), not data over its vertices: its coordinates are --coords")
	}
	var cols int
	if err == nil {
		_, cols, err = giftiShape(arrays, surface)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	return g.geometry(cols), nil
}

// giftiWriter returns the function that writes frames maps of float32 values over g's vertices
// as a GIFTI file path, one data array per map (zlib-compressed base64, little-endian), with
// g's file metadata (the hemisphere) and each map named after the file.
func (g *Geometry) giftiWriter(path string, frames int, data []float64) (func(w io.Writer) error, error) {
	n := g.Targets()
	if frames < 1 || len(data) != frames*n {
		return nil, fmt.Errorf("%s: %d values for %d map(s) of %d vertices", path, len(data), frames, n)
	}
	esc := func(s string) string {
		var b bytes.Buffer
		xml.EscapeText(&b, []byte(s))
		return b.String()
	}
	var b strings.Builder
	b.WriteString("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE GIFTI SYSTEM \"http://www.nitrc.org/frs/download.php/115/gifti.dtd\">\n")
	fmt.Fprintf(&b, "<GIFTI Version=\"1.0\" NumberOfDataArrays=\"%d\">\n<MetaData>", frames)
	for _, md := range g.gifti.meta {
		if md.Name == "Name" { // the input's own name, not the result's
			continue
		}
		fmt.Fprintf(&b, "<MD><Name>%s</Name><Value>%s</Value></MD>", esc(md.Name), esc(md.Value))
	}
	b.WriteString("</MetaData>\n<LabelTable/>\n")
	name := strings.TrimSuffix(filepath.Base(path), ".func.gii")
	raw := make([]byte, 4*n)
	for f := range frames {
		for i, v := range data[f*n : (f+1)*n] {
			binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(float32(v)))
		}
		var z bytes.Buffer
		zw := zlib.NewWriter(&z)
		zw.Write(raw)
		zw.Close()
		mapName := name
		if frames > 1 {
			mapName = fmt.Sprintf("%s %d", name, f+1)
		}
		fmt.Fprintf(&b, "<DataArray Intent=\"NIFTI_INTENT_NONE\" DataType=\"NIFTI_TYPE_FLOAT32\" ArrayIndexingOrder=\"RowMajorOrder\" Dimensionality=\"1\" Dim0=\"%d\" Encoding=\"GZipBase64Binary\" Endian=\"LittleEndian\" ExternalFileName=\"\" ExternalFileOffset=\"\">\n", n)
		fmt.Fprintf(&b, "<MetaData><MD><Name>Name</Name><Value>%s</Value></MD></MetaData>\n", esc(mapName))
		fmt.Fprintf(&b, "<Data>%s</Data>\n</DataArray>\n", base64.StdEncoding.EncodeToString(z.Bytes()))
	}
	b.WriteString("</GIFTI>\n")
	return func(w io.Writer) error {
		_, err := io.WriteString(w, b.String())
		return err
	}, nil
}

// hemisphere is the AnatomicalStructurePrimary of a GIFTI file's metadata ("CortexLeft"), "" if
// it has none.
func (info *giftiInfo) hemisphere() string {
	for _, md := range info.meta {
		if md.Name == "AnatomicalStructurePrimary" {
			return md.Value
		}
	}
	return ""
}
