package array

import (
	"encoding/xml"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
)

// A CIFTI file's grayordinates map says which vertex or voxel each grayordinate is: brain models
// (a structure's surface vertices, or its voxels in the file's volume) one after another, or
// parcels. Files of as many grayordinates may still hold them in another order (the right
// cortex first) or of other vertices (another medial wall): SameGrid compares the maps, and
// CiftiCoordinates places the grayordinates.

// ciftiGrays is the grayordinates map of a CIFTI file.
type ciftiGrays struct {
	parcels  bool
	models   []ciftiModel  // brain models, in the file's order
	surfaces []ciftiModel  // parcels: the surfaces their vertices are on (structure, vertices)
	parcel   []ciftiParcel // parcels, in order
	volume   *ciftiVolume  // nil: no voxels
}

// ciftiModel is one brain model: a structure's vertices (surface) or voxels.
type ciftiModel struct {
	offset, count int
	voxels        bool   // CIFTI_MODEL_TYPE_VOXELS
	structure     string // without CIFTI_STRUCTURE_: CORTEX_LEFT
	surface       int    // SurfaceNumberOfVertices
	vertices      []int  // VertexIndices
	ijk           []int  // VoxelIndicesIJK, 3 per voxel
}

// ciftiParcel is one parcel: vertices of some surfaces, and voxels.
type ciftiParcel struct {
	name     string
	vertices []ciftiModel // structure and vertices per surface
	ijk      []int
}

// ciftiVolume is the voxel grid of a CIFTI file's voxels.
type ciftiVolume struct {
	dims   [3]int
	affine [16]float64 // voxel indices to mm, row-major
}

type ciftiGraysXML struct {
	Models []struct {
		Offset    int    `xml:"IndexOffset,attr"`
		Count     int    `xml:"IndexCount,attr"`
		Type      string `xml:"ModelType,attr"`
		Structure string `xml:"BrainStructure,attr"`
		Surface   int    `xml:"SurfaceNumberOfVertices,attr"`
		Vertices  string `xml:"VertexIndices"`
		Voxels    string `xml:"VoxelIndicesIJK"`
	} `xml:"BrainModel"`
	Volume *struct {
		Dims      string `xml:"VolumeDimensions,attr"`
		Transform struct {
			Exponent string `xml:"MeterExponent,attr"`
			Text     string `xml:",chardata"`
		} `xml:"TransformationMatrixVoxelIndicesIJKtoXYZ"`
	} `xml:"Volume"`
	Surfaces []struct {
		Structure string `xml:"BrainStructure,attr"`
		Vertices  int    `xml:"SurfaceNumberOfVertices,attr"`
	} `xml:"Surface"`
	Parcels []struct {
		Name     string `xml:"Name,attr"`
		Vertices []struct {
			Structure string `xml:"BrainStructure,attr"`
			Text      string `xml:",chardata"`
		} `xml:"Vertices"`
		Voxels string `xml:"VoxelIndicesIJK"`
	} `xml:"Parcel"`
}

// structureName is a BrainStructure for people: CORTEX_LEFT.
func structureName(s string) string { return strings.TrimPrefix(s, "CIFTI_STRUCTURE_") }

// ints reads whitespace-separated integers.
func ints(s string) ([]int, error) {
	f := strings.Fields(s)
	out := make([]int, len(f))
	for i, w := range f {
		v, err := strconv.Atoi(w)
		if err != nil {
			return nil, fmt.Errorf("%q is not an index", w)
		}
		out[i] = v
	}
	return out, nil
}

// parseCiftiGrays reads the grayordinates map elem (brain models or parcels) of a file of grays
// grayordinates, checking that its indices are in range: CiftiCoordinates indexes by them.
func parseCiftiGrays(elem []byte, parcels bool, grays int) (*ciftiGrays, error) {
	var x ciftiGraysXML
	if err := xml.Unmarshal(elem, &x); err != nil {
		return nil, fmt.Errorf("CIFTI XML: grayordinates map: %v", err)
	}
	g := &ciftiGrays{parcels: parcels}
	if x.Volume != nil {
		v := &ciftiVolume{}
		d, err := ints(strings.ReplaceAll(x.Volume.Dims, ",", " "))
		if err != nil || len(d) != 3 || min(d[0], d[1], d[2]) < 1 {
			return nil, fmt.Errorf("CIFTI XML: VolumeDimensions %q: want three sizes", x.Volume.Dims)
		}
		copy(v.dims[:], d)
		f := strings.Fields(x.Volume.Transform.Text)
		if len(f) != 16 {
			return nil, fmt.Errorf("CIFTI XML: TransformationMatrixVoxelIndicesIJKtoXYZ of %d values, want 16", len(f))
		}
		exp := -3
		if e := strings.TrimSpace(x.Volume.Transform.Exponent); e != "" {
			if exp, err = strconv.Atoi(e); err != nil {
				return nil, fmt.Errorf("CIFTI XML: MeterExponent %q", e)
			}
		}
		scale := math.Pow10(exp + 3) // to mm
		for i, w := range f {
			a, err := strconv.ParseFloat(w, 64)
			if err != nil {
				return nil, fmt.Errorf("CIFTI XML: TransformationMatrixVoxelIndicesIJKtoXYZ value %q", w)
			}
			if i < 12 {
				a *= scale
			}
			v.affine[i] = a
		}
		g.volume = v
	}
	checkIJK := func(what string, ijk []int) error {
		if len(ijk)%3 != 0 {
			return fmt.Errorf("CIFTI XML: %s: %d voxel indices, not i j k triples", what, len(ijk))
		}
		if len(ijk) > 0 && g.volume == nil {
			return fmt.Errorf("CIFTI XML: %s: voxels without a Volume", what)
		}
		for k, v := range ijk {
			if v < 0 || v >= g.volume.dims[k%3] {
				return fmt.Errorf("CIFTI XML: %s: voxel index %d outside a volume of %s", what, v, ShapeString(g.volume.dims[:]))
			}
		}
		return nil
	}
	if parcels {
		surface := map[string]int{} // vertices by structure
		for _, s := range x.Surfaces {
			g.surfaces = append(g.surfaces, ciftiModel{structure: structureName(s.Structure), surface: s.Vertices})
			surface[structureName(s.Structure)] = s.Vertices
		}
		for _, p := range x.Parcels {
			q := ciftiParcel{name: p.Name}
			for _, v := range p.Vertices {
				idx, err := ints(v.Text)
				if err != nil {
					return nil, fmt.Errorf("CIFTI XML: parcel %s: %v", p.Name, err)
				}
				st := structureName(v.Structure)
				n, ok := surface[st]
				if !ok {
					return nil, fmt.Errorf("CIFTI XML: parcel %s: vertices on %s, which has no Surface", p.Name, st)
				}
				for _, k := range idx {
					if k < 0 || k >= n {
						return nil, fmt.Errorf("CIFTI XML: parcel %s: vertex %d of a %s surface of %d vertices", p.Name, k, st, n)
					}
				}
				q.vertices = append(q.vertices, ciftiModel{structure: st, vertices: idx})
			}
			var err error
			if q.ijk, err = ints(p.Voxels); err != nil {
				return nil, fmt.Errorf("CIFTI XML: parcel %s: %v", p.Name, err)
			}
			if err := checkIJK("parcel "+p.Name, q.ijk); err != nil {
				return nil, err
			}
			g.parcel = append(g.parcel, q)
		}
		if len(g.parcel) != grays {
			return nil, fmt.Errorf("CIFTI XML: %d parcels for a matrix of %d columns", len(g.parcel), grays)
		}
		return g, nil
	}
	total := 0
	for i, m := range x.Models {
		b := ciftiModel{offset: m.Offset, count: m.Count, voxels: m.Type == "CIFTI_MODEL_TYPE_VOXELS", structure: structureName(m.Structure), surface: m.Surface}
		what := fmt.Sprintf("brain model %d (%s)", i+1, b.structure)
		if b.offset != total || b.count < 0 {
			return nil, fmt.Errorf("CIFTI XML: %s: IndexOffset %d and IndexCount %d after %d grayordinates", what, b.offset, b.count, total)
		}
		total += b.count
		var err error
		if b.voxels {
			if g.volume == nil { // CiftiCoordinates places voxels by it, even a model of none
				err = fmt.Errorf("CIFTI XML: %s: voxels without a Volume", what)
			} else if b.ijk, err = ints(m.Voxels); err == nil {
				err = checkIJK(what, b.ijk)
			}
			if err == nil && len(b.ijk) != 3*b.count {
				err = fmt.Errorf("CIFTI XML: %s: %d voxels, IndexCount %d", what, len(b.ijk)/3, b.count)
			}
		} else {
			if b.vertices, err = ints(m.Vertices); err == nil && len(b.vertices) != b.count {
				err = fmt.Errorf("CIFTI XML: %s: %d vertex indices, IndexCount %d", what, len(b.vertices), b.count)
			}
			for _, v := range b.vertices {
				if err == nil && (v < 0 || v >= b.surface) {
					err = fmt.Errorf("CIFTI XML: %s: vertex %d of a surface of %d vertices", what, v, b.surface)
				}
			}
		}
		if err != nil {
			if !strings.HasPrefix(err.Error(), "CIFTI XML") {
				err = fmt.Errorf("CIFTI XML: %s: %v", what, err)
			}
			return nil, err
		}
		g.models = append(g.models, b)
	}
	if total != grays {
		return nil, fmt.Errorf("CIFTI XML: brain models of %d grayordinates for a matrix of %d columns", total, grays)
	}
	return g, nil
}

// sameGrays reports, as an error naming the first difference, where b's grayordinates are not
// a's: each would be matched to another vertex or voxel.
func sameGrays(a, b *ciftiGrays) error {
	if a == nil || b == nil {
		return nil
	}
	kind := func(g *ciftiGrays) string {
		if g.parcels {
			return "parcels"
		}
		return "brain models"
	}
	if a.parcels != b.parcels {
		return fmt.Errorf("grayordinates of %s, not %s", kind(a), kind(b))
	}
	if a.parcels {
		return sameParcels(a, b)
	}
	voxels := false
	for i := range min(len(a.models), len(b.models)) {
		p, q := a.models[i], b.models[i]
		if p.structure != q.structure {
			return fmt.Errorf("brain model %d is %s, not %s", i+1, p.structure, q.structure)
		}
		if p.voxels != q.voxels {
			what := map[bool]string{false: "surface vertices", true: "voxels"}
			return fmt.Errorf("%s is %s, not %s", p.structure, what[p.voxels], what[q.voxels])
		}
		if p.count != q.count || p.offset != q.offset {
			return fmt.Errorf("%s is grayordinates %d to %d, not %d to %d", p.structure, p.offset, p.offset+p.count-1, q.offset, q.offset+q.count-1)
		}
		if !p.voxels && p.surface != q.surface {
			return fmt.Errorf("%s is on a surface of %d vertices, not %d", p.structure, p.surface, q.surface)
		}
		if err := sameIndices(p.structure, p.vertices, q.vertices, p.ijk, q.ijk); err != nil {
			return err
		}
		voxels = voxels || p.voxels
	}
	if len(a.models) != len(b.models) {
		return fmt.Errorf("%d brain models, not %d", len(a.models), len(b.models))
	}
	if voxels {
		return sameVolume(a.volume, b.volume)
	}
	return nil
}

// sameParcels is sameGrays for parcels: their names in order (a parcel is a column), and each
// one's vertices per structure and voxels as sets: Workbench lists a parcel's surfaces in
// structure order, NiBabel in order of first appearance (HCP-MMP starts with R_ parcels), for the
// same grayordinates.
func sameParcels(a, b *ciftiGrays) error {
	for i := range min(len(a.parcel), len(b.parcel)) {
		p, q := a.parcel[i], b.parcel[i]
		if p.name != q.name {
			return fmt.Errorf("parcel %d is %s, not %s", i+1, p.name, q.name)
		}
		pv, qv := parcelVertices(p), parcelVertices(q)
		for _, st := range slices.Sorted(maps.Keys(pv)) {
			if _, ok := qv[st]; !ok {
				return fmt.Errorf("parcel %s has vertices on %s, not the other", p.name, st)
			}
		}
		for _, st := range slices.Sorted(maps.Keys(qv)) {
			if _, ok := pv[st]; !ok {
				return fmt.Errorf("parcel %s has no vertices on %s", p.name, st)
			}
			if err := sameIndices("parcel "+p.name+" "+st, pv[st], qv[st], nil, nil); err != nil {
				return err
			}
		}
		if err := sameIndices("parcel "+p.name, nil, nil, sortedTriples(p.ijk), sortedTriples(q.ijk)); err != nil {
			return err
		}
	}
	if len(a.parcel) != len(b.parcel) {
		return fmt.Errorf("%d parcels, not %d", len(a.parcel), len(b.parcel))
	}
	as, bs := map[string]int{}, map[string]int{}
	for _, s := range a.surfaces {
		as[s.structure] = s.surface
	}
	for _, s := range b.surfaces {
		bs[s.structure] = s.surface
	}
	for _, st := range slices.Sorted(maps.Keys(as)) {
		if n, ok := bs[st]; !ok || n != as[st] {
			return fmt.Errorf("parcels on a %s surface of %d vertices, not %d", st, as[st], n)
		}
	}
	if len(as) != len(bs) {
		return fmt.Errorf("parcels on %d surfaces, not %d", len(as), len(bs))
	}
	for _, p := range a.parcel {
		if len(p.ijk) > 0 {
			return sameVolume(a.volume, b.volume)
		}
	}
	return nil
}

// parcelVertices is a parcel's vertices by structure, sorted.
func parcelVertices(p ciftiParcel) map[string][]int {
	out := map[string][]int{}
	for _, m := range p.vertices {
		out[m.structure] = append(out[m.structure], m.vertices...)
	}
	for st := range out {
		slices.Sort(out[st])
	}
	return out
}

// sortedTriples sorts voxel indices i, j, k given three at a time.
func sortedTriples(ijk []int) []int {
	t := make([][3]int, len(ijk)/3)
	for i := range t {
		t[i] = [3]int{ijk[3*i], ijk[3*i+1], ijk[3*i+2]}
	}
	slices.SortFunc(t, func(x, y [3]int) int { return slices.Compare(x[:], y[:]) })
	out := make([]int, 0, len(ijk))
	for _, v := range t {
		out = append(out, v[:]...)
	}
	return out
}

// sameIndices compares the vertices and voxels of what.
func sameIndices(what string, va, vb, ia, ib []int) error {
	if len(va) != len(vb) {
		return fmt.Errorf("%s has %d vertices, not %d", what, len(va), len(vb))
	}
	for k := range va {
		if va[k] != vb[k] {
			return fmt.Errorf("%s vertex %d is %d, not %d", what, k, va[k], vb[k])
		}
	}
	if len(ia) != len(ib) {
		return fmt.Errorf("%s has %d voxels, not %d", what, len(ia)/3, len(ib)/3)
	}
	for k := 0; k < len(ia); k += 3 {
		if !slices.Equal(ia[k:k+3], ib[k:k+3]) {
			return fmt.Errorf("%s voxel %d is %v, not %v", what, k/3, ia[k:k+3], ib[k:k+3])
		}
	}
	return nil
}

// sameVolume compares the voxel grids of two files' voxels.
func sameVolume(a, b *ciftiVolume) error {
	if a == nil || b == nil {
		return nil // checked when parsed: voxels have a volume
	}
	if a.dims != b.dims {
		return fmt.Errorf("a volume of %s, not %s", ShapeString(a.dims[:]), ShapeString(b.dims[:]))
	}
	for i := range 3 {
		for j := range 4 {
			if math.Abs(a.affine[4*i+j]-b.affine[4*i+j]) > GridTolerance {
				return fmt.Errorf("the volume's voxel-to-world matrix row %d %v, not %v", i+1, roundRow(a.affine[4*i:4*i+4]), roundRow(b.affine[4*i:4*i+4]))
			}
		}
	}
	return nil
}

// CiftiSurface is a surface structure of a CIFTI file's grayordinates.
type CiftiSurface struct {
	Structure string // CORTEX_LEFT, CORTEX_RIGHT, ...
	Vertices  int    // the surface's vertices (SurfaceNumberOfVertices), those left out included
}

// Hemisphere is "lh" or "rh" for the left or right cortex, "" for other structures.
func (s CiftiSurface) Hemisphere() string {
	switch s.Structure {
	case "CORTEX_LEFT":
		return "lh"
	case "CORTEX_RIGHT":
		return "rh"
	}
	return ""
}

// CiftiSurfaces lists the surfaces of g's grayordinates (a CIFTI file over brain models), in the
// file's order; nil for other spaces.
func (g *Geometry) CiftiSurfaces() []CiftiSurface {
	if g == nil || g.grays == nil || g.grays.parcels {
		return nil
	}
	var out []CiftiSurface
	for _, m := range g.grays.models {
		if !m.voxels {
			out = append(out, CiftiSurface{Structure: m.structure, Vertices: m.surface})
		}
	}
	return out
}

// CiftiCoordinates returns the positions (mm) of g's grayordinates, targets x 3: a surface
// vertex's from its structure's surface (surfaces[k], vertices x 3, for the k-th of
// CiftiSurfaces) at its vertex index, a voxel's from the volume's voxel-to-world matrix.
func (g *Geometry) CiftiCoordinates(surfaces [][]float64) ([]float64, error) {
	if g == nil || g.grays == nil || g.grays.parcels {
		return nil, errors.New("not a CIFTI file over brain models (vertices and voxels)")
	}
	surfs := g.CiftiSurfaces()
	if len(surfaces) != len(surfs) {
		return nil, fmt.Errorf("%d surfaces for %d surface structures", len(surfaces), len(surfs))
	}
	out := make([]float64, 0, 3*g.Targets())
	k := 0
	for _, m := range g.grays.models {
		if m.voxels {
			a := g.grays.volume.affine
			for v := 0; v < len(m.ijk); v += 3 {
				for i := range 3 {
					out = append(out, a[4*i]*float64(m.ijk[v])+a[4*i+1]*float64(m.ijk[v+1])+a[4*i+2]*float64(m.ijk[v+2])+a[4*i+3])
				}
			}
			continue
		}
		xyz := surfaces[k]
		if len(xyz) != 3*m.surface {
			return nil, fmt.Errorf("a surface of %d vertices for %s, which has %d", len(xyz)/3, m.structure, m.surface)
		}
		for _, v := range m.vertices {
			out = append(out, xyz[3*v:3*v+3]...)
		}
		k++
	}
	return out, nil
}

// CiftiStructures returns the structure of each of g's grayordinates (CORTEX_LEFT, THALAMUS_RIGHT,
// BRAIN_STEM, ...; a parcel's when its vertices are all on one structure's surface and it has no
// voxels, "" otherwise); nil for spaces other than CIFTI's.
func (g *Geometry) CiftiStructures() []string {
	if g == nil || g.grays == nil {
		return nil
	}
	out := make([]string, g.Targets())
	if !g.grays.parcels {
		for _, m := range g.grays.models {
			for i := m.offset; i < m.offset+m.count && i < len(out); i++ {
				out[i] = m.structure
			}
		}
		return out
	}
	for i, p := range g.grays.parcel {
		if i >= len(out) || len(p.ijk) > 0 {
			continue
		}
		var on []string // the structures with vertices of p
		for _, v := range p.vertices {
			if len(v.vertices) > 0 && !slices.Contains(on, v.structure) {
				on = append(on, v.structure)
			}
		}
		if len(on) == 1 {
			out[i] = on[0]
		}
	}
	return out
}

// StructureSide is "lh" or "rh" for a CIFTI structure of the left or right hemisphere
// (CORTEX_LEFT, THALAMUS_RIGHT, ...), "" for those of neither (BRAIN_STEM, CEREBELLUM).
func StructureSide(structure string) string {
	switch {
	case strings.HasSuffix(structure, "_LEFT"):
		return "lh"
	case strings.HasSuffix(structure, "_RIGHT"):
		return "rh"
	}
	return ""
}

// grayordinate identifies one grayordinate of a CIFTI file over brain models: a structure's
// vertex, or its voxel.
type grayordinate struct {
	structure string
	vertex    int    // -1 for a voxel
	ijk       [3]int // a voxel's indices
}

// grayordinates lists g's grayordinates in order; nil for parcels.
func (g *ciftiGrays) grayordinates() []grayordinate {
	if g == nil || g.parcels {
		return nil
	}
	var out []grayordinate
	for _, m := range g.models {
		if m.voxels {
			for v := 0; v+2 < len(m.ijk); v += 3 {
				out = append(out, grayordinate{m.structure, -1, [3]int{m.ijk[v], m.ijk[v+1], m.ijk[v+2]}})
			}
			continue
		}
		for _, v := range m.vertices {
			out = append(out, grayordinate{structure: m.structure, vertex: v})
		}
	}
	return out
}

// SameSelected reports, as an error naming the first difference, where the grayordinates of
// data (a CIFTI file over brain models, taken as already masked) are not those of mask at its
// columns sel, in order; nil when they are, or when either is not such a CIFTI file.
func SameSelected(mask *Geometry, sel []int, data *Geometry) error {
	if mask == nil || data == nil || mask.grays == nil || data.grays == nil {
		return nil
	}
	gm, gd := mask.grays.grayordinates(), data.grays.grayordinates()
	if gm == nil || gd == nil {
		return nil
	}
	if len(gd) != len(sel) {
		return fmt.Errorf("%d grayordinates, the mask selects %d", len(gd), len(sel))
	}
	name := func(o grayordinate) string {
		if o.vertex >= 0 {
			return fmt.Sprintf("%s vertex %d", o.structure, o.vertex)
		}
		return fmt.Sprintf("%s voxel %v", o.structure, o.ijk)
	}
	for k, c := range sel {
		if c < 0 || c >= len(gm) {
			return fmt.Errorf("mask column %d outside its %d grayordinates", c, len(gm))
		}
		if gm[c] != gd[k] {
			return fmt.Errorf("grayordinate %d is %s, the mask's %d-th selected is %s", k, name(gd[k]), k, name(gm[c]))
		}
	}
	if slices.ContainsFunc(gd, func(o grayordinate) bool { return o.vertex < 0 }) {
		return sameVolume(mask.grays.volume, data.grays.volume)
	}
	return nil
}
