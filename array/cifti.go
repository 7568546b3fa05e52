package array

import (
	"bytes"
	"encoding/binary"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/brainalign/brainalign/internal/textlist"
)

// CIFTI-2 files (HCP's .dtseries.nii, .dscalar.nii, .dlabel.nii, .ptseries.nii, ...) are NIfTI-2
// files whose data are a matrix and whose XML extension says what each matrix dimension indexes.
// Brain data are series (or maps) along dimension 0 and grayordinates along dimension 1: surface
// vertices and subcortical voxels (a brain-models map), or parcels. Results over the
// grayordinates are written back as a dense (or parcellated) scalar file with the input's
// grayordinates map copied and a map of named scalars along dimension 0, so that Workbench and
// NiBabel show them on the input's surfaces.

// ciftiExtCode is the NIfTI extension code of CIFTI-2's XML.
const ciftiExtCode = 32

// CIFTI index types of a matrix dimension.
const (
	ciftiBrainModels = "CIFTI_INDEX_TYPE_BRAIN_MODELS"
	ciftiParcels     = "CIFTI_INDEX_TYPE_PARCELS"
	ciftiScalars     = "CIFTI_INDEX_TYPE_SCALARS"
	ciftiLabels      = "CIFTI_INDEX_TYPE_LABELS"
)

// ciftiMap is one MatrixIndicesMap element of a CIFTI-2 XML document.
type ciftiMap struct {
	dims       []int  // AppliesToMatrixDimension
	kind       string // IndicesMapToDataType
	start, end int64  // the element's bytes in the document
}

// ciftiXML reads the CIFTI-2 XML from the NIfTI-2 extensions in buf[544:offset] (buf[540] flags
// that extensions follow the header).
func ciftiXML(buf []byte, offset int, o binary.ByteOrder) ([]byte, error) {
	if len(buf) < offset {
		return nil, fmt.Errorf("truncated: %d bytes, the header and its extensions take %d", len(buf), offset)
	}
	if offset < 544 || buf[540] == 0 {
		return nil, errors.New("a CIFTI file without its XML extension")
	}
	for p := 544; p+8 <= offset; {
		size, code := int(int32(o.Uint32(buf[p:]))), int(int32(o.Uint32(buf[p+4:])))
		if size < 8 || size > offset-p {
			return nil, fmt.Errorf("a NIfTI extension of %d bytes at byte %d, past the data offset %d", size, p, offset)
		}
		if code == ciftiExtCode {
			return bytes.TrimRight(buf[p+8:p+size], "\x00"), nil
		}
		p += size
	}
	return nil, errors.New("a CIFTI file without its XML extension")
}

// parseCifti reads the MatrixIndicesMap elements of a CIFTI-2 document (CIFTI > Matrix >
// MatrixIndicesMap) and where they lie in it.
func parseCifti(doc []byte) ([]ciftiMap, error) {
	d := xml.NewDecoder(bytes.NewReader(doc))
	var path []string
	var maps []ciftiMap
	for {
		off := d.InputOffset()
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("CIFTI XML: %v", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			path = append(path, t.Name.Local)
			if len(path) == 1 {
				if t.Name.Local != "CIFTI" {
					return nil, fmt.Errorf("CIFTI XML: root element %q, want CIFTI", t.Name.Local)
				}
				for _, a := range t.Attr {
					if a.Name.Local == "Version" && !strings.HasPrefix(a.Value, "2") {
						return nil, fmt.Errorf("CIFTI version %q: only CIFTI-2 is read (convert with wb_command -file-convert -cifti-version-convert)", a.Value)
					}
				}
			}
			if len(path) != 3 || path[1] != "Matrix" || t.Name.Local != "MatrixIndicesMap" {
				continue
			}
			m := ciftiMap{start: off}
			for _, a := range t.Attr {
				switch a.Name.Local {
				case "IndicesMapToDataType":
					m.kind = a.Value
				case "AppliesToMatrixDimension":
					for _, f := range strings.Split(a.Value, ",") {
						k, err := strconv.Atoi(strings.TrimSpace(f))
						if err != nil || k < 0 || k > 2 {
							return nil, fmt.Errorf("CIFTI XML: AppliesToMatrixDimension %q", a.Value)
						}
						m.dims = append(m.dims, k)
					}
				}
			}
			maps = append(maps, m)
		case xml.EndElement:
			if len(path) == 3 && path[1] == "Matrix" && t.Name.Local == "MatrixIndicesMap" { // one of maps
				maps[len(maps)-1].end = d.InputOffset()
			}
			path = path[:len(path)-1]
		}
	}
	if len(maps) == 0 {
		return nil, errors.New("CIFTI XML: no MatrixIndicesMap")
	}
	return maps, nil
}

// ciftiMapOf is the map of matrix dimension dim.
func ciftiMapOf(maps []ciftiMap, dim int) (ciftiMap, bool) {
	for _, m := range maps {
		for _, d := range m.dims {
			if d == dim {
				return m, true
			}
		}
	}
	return ciftiMap{}, false
}

// ciftiGeometry is the Geometry of a CIFTI file of rows x grays whose XML is doc: nil when its
// dimension 1 is not grayordinates (brain models or parcels), such as a series of scalars.
func ciftiGeometry(doc, header []byte, o binary.ByteOrder, grays int) (*Geometry, error) {
	maps, err := parseCifti(doc)
	if err != nil {
		return nil, err
	}
	m, ok := ciftiMapOf(maps, 1)
	if !ok {
		return nil, errors.New("CIFTI XML: no map for matrix dimension 1")
	}
	if m.kind != ciftiBrainModels && m.kind != ciftiParcels {
		return nil, nil
	}
	gr, err := parseCiftiGrays(doc[m.start:m.end], m.kind == ciftiParcels, grays)
	if err != nil {
		return nil, err
	}
	// copies: buf may be a memory-mapped file, unmapped when closed
	return &Geometry{Format: "cifti", Spatial: []int{grays}, header: append([]byte(nil), header...), order: o, xml: append([]byte(nil), doc...), grays: gr}, nil
}

// ciftiParcellated reports whether g's grayordinates are parcels.
func (g *Geometry) ciftiParcellated() bool {
	maps, err := parseCifti(g.xml)
	if err != nil {
		return false
	}
	m, _ := ciftiMapOf(maps, 1)
	return m.kind == ciftiParcels
}

var appliesTo = regexp.MustCompile(`AppliesToMatrixDimension\s*=\s*("[^"]*"|'[^']*')`)

// ciftiScalarsXML is a CIFTI-2 document for frames named maps over g's grayordinates: g's
// dimension-1 map as it is, and a scalars map along dimension 0.
func (g *Geometry) ciftiScalarsXML(names []string) ([]byte, error) {
	maps, err := parseCifti(g.xml)
	if err != nil {
		return nil, err
	}
	m, _ := ciftiMapOf(maps, 1)
	grays := g.xml[m.start:m.end]
	tagEnd := bytes.IndexByte(grays, '>')
	if tagEnd < 0 || !appliesTo.Match(grays[:tagEnd]) {
		return nil, errors.New("CIFTI XML: a MatrixIndicesMap without AppliesToMatrixDimension")
	}
	loc := appliesTo.FindIndex(grays)
	var b bytes.Buffer
	b.WriteString("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<CIFTI Version=\"2\">\n  <Matrix>\n")
	b.WriteString("    <MatrixIndicesMap AppliesToMatrixDimension=\"0\" IndicesMapToDataType=\"" + ciftiScalars + "\">\n")
	for _, name := range names {
		b.WriteString("      <NamedMap><MapName>")
		if err := xml.EscapeText(&b, []byte(name)); err != nil {
			return nil, err
		}
		b.WriteString("</MapName></NamedMap>\n")
	}
	b.WriteString("    </MatrixIndicesMap>\n    ")
	b.Write(grays[:loc[0]])
	b.WriteString(`AppliesToMatrixDimension="1"`)
	b.Write(grays[loc[1]:])
	b.WriteString("\n  </Matrix>\n</CIFTI>\n")
	return b.Bytes(), nil
}

// ciftiWriter returns the function that writes frames maps of data (C order over (frame,
// grayordinate)) as a CIFTI-2 scalar file path over g's grayordinates: dense scalars
// (.dscalar.nii) or parcellated (.pscalar.nii). The maps are named after the file (scores, or
// scores_1, scores_2, ... for several). NIfTI-2 with uncompressed float32 data, as Workbench
// reads them.
func (g *Geometry) ciftiWriter(path string, frames int, data []float64) (func(w io.Writer) error, error) {
	base := filepath.Base(path)
	if i := strings.IndexByte(base, '.'); i > 0 {
		base = base[:i]
	}
	names := []string{base}
	if frames > 1 {
		names = names[:0]
		for f := range frames {
			names = append(names, fmt.Sprintf("%s_%d", base, f+1))
		}
	}
	doc, err := g.ciftiScalarsXML(names)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	esize := (8 + len(doc) + 15) / 16 * 16
	offset := 544 + esize
	head := make([]byte, offset)
	copy(head, g.header[:540])
	o := g.order
	o.PutUint16(head[12:], 16) // float32
	o.PutUint16(head[14:], 32)
	grays := g.Spatial[0]
	for i, d := range []int{6, 1, 1, 1, 1, frames, grays, 1} {
		o.PutUint64(head[16+8*i:], uint64(d))
	}
	o.PutUint64(head[168:], uint64(offset))
	o.PutUint64(head[176:], math.Float64bits(1)) // scl_slope, scl_inter, cal_max, cal_min
	o.PutUint64(head[184:], 0)
	o.PutUint64(head[192:], 0)
	o.PutUint64(head[200:], 0)
	code, name := 3006, "ConnDenseScalar"
	if g.ciftiParcellated() {
		code, name = 3008, "ConnParcelScalr"
	}
	o.PutUint32(head[504:], uint32(code))
	clear(head[508:524])
	copy(head[508:524], name)
	head[540] = 1 // extensions follow
	o.PutUint32(head[544:], uint32(esize))
	o.PutUint32(head[548:], ciftiExtCode)
	copy(head[552:], doc)
	body := make([]byte, 4*len(data))
	for f := range frames { // the maps vary fastest
		for j := range grays {
			o.PutUint32(body[4*(j*frames+f):], math.Float32bits(float32(data[f*grays+j])))
		}
	}
	return func(w io.Writer) error {
		if _, err := w.Write(head); err != nil {
			return err
		}
		_, err := w.Write(body)
		return err
	}, nil
}

// Labels returns the label table of a CIFTI-2 label file (.dlabel.nii: its first map's key ->
// name) or of a GIFTI file (.label.gii), such as an atlas of ROIs; an error for other files.
func (g *Geometry) Labels() (map[int]string, error) {
	if g.Format == "gifti" {
		if g.gifti.labels == nil {
			return nil, errors.New("a GIFTI file without a label table")
		}
		return g.gifti.labels, nil
	}
	if g.Format != "cifti" {
		return nil, errors.New("not a CIFTI or GIFTI label file: only CIFTI-2 (.dlabel.nii) and GIFTI (.label.gii) label files name their labels")
	}
	maps, err := parseCifti(g.xml)
	if err != nil {
		return nil, err
	}
	m, _ := ciftiMapOf(maps, 0)
	if m.kind != ciftiLabels {
		return nil, fmt.Errorf("a CIFTI file of %s, not labels", strings.TrimPrefix(m.kind, "CIFTI_INDEX_TYPE_"))
	}
	var table struct {
		Maps []struct {
			Labels []struct {
				Key  int    `xml:"Key,attr"`
				Name string `xml:",chardata"`
			} `xml:"LabelTable>Label"`
		} `xml:"NamedMap"`
	}
	if err := xml.Unmarshal(g.xml[m.start:m.end], &table); err != nil {
		return nil, fmt.Errorf("CIFTI XML: label table: %v", err)
	}
	if len(table.Maps) == 0 {
		return nil, errors.New("CIFTI XML: a label map without a NamedMap")
	}
	out := map[int]string{}
	for _, l := range table.Maps[0].Labels {
		out[l.Key] = strings.TrimSpace(l.Name)
	}
	return out, nil
}

// Describe says what space g is, for people: the format and the voxels, vertices or
// grayordinates (with a CIFTI label file's labels).
func (g *Geometry) Describe() string {
	switch g.Format {
	case "parts":
		var parts []string
		for _, p := range g.Parts {
			parts = append(parts, p.Name+": "+p.Geometry.Describe())
		}
		return fmt.Sprintf("%d targets joined from %d files (%s)", g.Targets(), len(g.Parts), strings.Join(parts, "; "))
	case "cifti":
		what := "grayordinates (surface vertices and voxels)"
		if g.ciftiParcellated() {
			what = "parcels"
		}
		s := fmt.Sprintf("CIFTI-2, %d %s", g.Targets(), what)
		if labels, err := g.Labels(); err == nil {
			s += "; labels " + listLabels(labels)
		}
		return s
	case "gifti":
		s := fmt.Sprintf("GIFTI, a surface of %d vertices", g.Targets())
		if h := g.gifti.hemisphere(); h != "" {
			s += " (" + h + ")"
		}
		if labels, err := g.Labels(); err == nil {
			s += "; labels " + listLabels(labels)
		}
		return s
	case "mgh":
		if g.Spatial[1] == 1 && g.Spatial[2] == 1 {
			return fmt.Sprintf("MGH, a surface of %d vertices", g.Spatial[0])
		}
		return fmt.Sprintf("MGH, %s voxels", ShapeString(g.Spatial))
	}
	return fmt.Sprintf("NIfTI-%s, %s voxels", strings.TrimPrefix(g.Format, "nifti"), ShapeString(g.Spatial))
}

// listLabels lists a label table for people: "0 ???, 1 V1, ... 12 more".
func listLabels(labels map[int]string) string {
	var names []string
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		names = append(names, fmt.Sprintf("%d %s", k, labels[k]))
	}
	return textlist.Some(names, 8)
}
