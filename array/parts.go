package array

import (
	"cmp"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
)

// Spaces joined from several files: a cortical surface comes as two hemispheres (FreeSurfer's
// lh.betas.mgh and rh.betas.mgh on fsaverage, 163,842 vertices each), scored as one set of
// targets, the left's vertices then the right's. Results over the joined targets are written as
// one file per part, named after the part as FreeSurfer names hemisphere files: lh.scores.mgz,
// rh.scores.mgz.

// Part is one file's space within a joined space (Join).
type Part struct {
	Name     string // "lh", "rh", or "part1", "part2", ...: the prefix of the part's result files
	Geometry *Geometry
}

// Join returns the space whose targets are those of parts, one part after another, the parts
// named after their files (PartNames), or a GIFTI file's hemisphere (Hemisphere). Its Spatial is the number of targets in all; it has no
// single affine, and its Coordinates are the parts' one after another.
func Join(paths []string, parts []*Geometry) (*Geometry, error) {
	if len(paths) != len(parts) || len(parts) < 2 {
		return nil, fmt.Errorf("joining %d spaces of %d files: want one per file, at least two", len(parts), len(paths))
	}
	g := &Geometry{Format: "parts"}
	total := 0
	hemis := make([]string, len(paths))
	for i, p := range paths {
		hemis[i] = cmp.Or(hemisphereOf(p), parts[i].taggedHemisphere()) // a contradiction is CheckParts'
	}
	for i, name := range partNames(hemis) {
		if parts[i].Parts != nil {
			return nil, fmt.Errorf("%s: a joined space cannot be a part", paths[i])
		}
		g.Parts = append(g.Parts, Part{Name: name, Geometry: parts[i]})
		total += parts[i].Targets()
	}
	g.Spatial = []int{total}
	return g, nil
}

// PartNames names the parts of a joined space after their files: "lh" and "rh" for hemisphere
// files (FreeSurfer's lh.* and rh.*, BIDS's hemi-L and hemi-R, lh or rh as a word of the name
// between dots, dashes or underscores: sub03.lh.avg.mgh, or a file in a folder named lh or rh,
// or ending in -lh, _lh or .lh: ceil/lh/averaged.npy), else "part1", "part2", ... in
// order (also when two files would get the same name).
func PartNames(paths []string) []string {
	hemis := make([]string, len(paths))
	for i, p := range paths {
		hemis[i] = hemisphereOf(p)
	}
	return partNames(hemis)
}

// partNames names parts by their hemispheres ("" for none): "lh" and "rh", or "part1", "part2",
// ... for all where one is unknown or two are the same.
func partNames(hemis []string) []string {
	names := make([]string, len(hemis))
	seen := map[string]bool{}
	for i, h := range hemis {
		names[i] = h
		if h == "" || seen[h] {
			for j := range names {
				names[j] = fmt.Sprintf("part%d", j+1)
			}
			return names
		}
		seen[h] = true
	}
	return names
}

// IsHemisphere reports whether a part's name (PartNames) says which hemisphere it is.
func IsHemisphere(part string) bool { return part == "lh" || part == "rh" }

// OtherHemisphere reports whether parts named a and b (PartNames) are of different hemispheres:
// a file for one given in the place of the other. Hemispheres of the same size (fsaverage) would
// otherwise be taken for each other unnoticed.
func OtherHemisphere(a, b string) bool { return IsHemisphere(a) && IsHemisphere(b) && a != b }

// Hemisphere is "lh" or "rh" when a file's name (as PartNames reads it) or, for GIFTI, its
// AnatomicalStructurePrimary (CortexLeft, CortexRight) says which hemisphere it holds; "" when
// neither does. g is the file's space (nil: the name only). A name and a tag that disagree are
// an error: a file copied or renamed from the other hemisphere.
func Hemisphere(path string, g *Geometry) (string, error) {
	name, tag := hemisphereOf(path), g.taggedHemisphere()
	if name != "" && tag != "" && name != tag {
		return "", fmt.Errorf("%s: named for %s, but its GIFTI metadata (AnatomicalStructurePrimary %s) says %s", path, name, g.gifti.hemisphere(), tag)
	}
	return cmp.Or(name, tag), nil
}

// FileHemisphere returns "lh" or "rh" where path's name says which hemisphere a file is for
// (as PartNames reads names), or, for a GIFTI file (data, labels or a surface such as HCP's
// 100307.L.midthickness.32k_fs_LR.surf.gii), where its metadata do (AnatomicalStructurePrimary
// CortexLeft or CortexRight, in the file's or its first array's metadata); "" where neither
// does. A name and metadata that disagree are an error.
func FileHemisphere(path string) (string, error) {
	name := hemisphereOf(path)
	if !isGIFTI(path) {
		return name, nil
	}
	structure, err := giftiStructure(path)
	if err != nil {
		return "", err
	}
	tag := giftiSide(structure)
	if name != "" && tag != "" && name != tag {
		return "", fmt.Errorf("%s: named for %s, but its GIFTI metadata (AnatomicalStructurePrimary %s) says %s", path, name, structure, tag)
	}
	return cmp.Or(name, tag), nil
}

// giftiStructure reads a GIFTI file's AnatomicalStructurePrimary from its metadata: the file's,
// else its first array's (where surfaces keep it), reading only up to the first array's data.
func giftiStructure(path string) (string, error) {
	f, err := openRegular(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	d := xml.NewDecoder(f)
	var fileLevel, arrayLevel string
	inArray := false
	var name, value *strings.Builder // a token at a time: += copied the text so far each time
	var field string
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", fmt.Errorf("%s: not a readable GIFTI XML document: %v", path, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "DataArray":
				inArray = true
			case "Data":
				return cmp.Or(fileLevel, arrayLevel), nil // metadata come before the data
			case "MD":
				name, value = new(strings.Builder), new(strings.Builder)
			case "Name", "Value":
				field = t.Name.Local
			}
		case xml.CharData:
			switch {
			case name == nil:
			case field == "Name":
				name.Write(t)
			case field == "Value":
				value.Write(t)
			}
		case xml.EndElement:
			switch t.Name.Local {
			case "Name", "Value":
				field = ""
			case "MD":
				if name != nil && strings.TrimSpace(name.String()) == "AnatomicalStructurePrimary" {
					if inArray && arrayLevel == "" {
						arrayLevel = strings.TrimSpace(value.String())
					} else if !inArray {
						fileLevel = strings.TrimSpace(value.String())
					}
				}
				name, value = nil, nil
			}
		}
	}
	return cmp.Or(fileLevel, arrayLevel), nil
}

// taggedHemisphere is "lh" or "rh" when g is a GIFTI file's space whose metadata say which
// hemisphere it is (AnatomicalStructurePrimary CortexLeft or CortexRight); "" otherwise.
func (g *Geometry) taggedHemisphere() string {
	if g == nil || g.gifti == nil {
		return ""
	}
	return giftiSide(g.gifti.hemisphere())
}

// giftiSide is "lh" or "rh" for GIFTI's AnatomicalStructurePrimary CortexLeft or CortexRight,
// "" for others.
func giftiSide(structure string) string {
	switch structure {
	case "CortexLeft":
		return "lh"
	case "CortexRight":
		return "rh"
	}
	return ""
}

// hemispheres returns each file's Hemisphere ("" where neither its name nor its metadata say).
func hemispheres(paths []string, spaces []*Geometry) ([]string, error) {
	hs := make([]string, len(paths))
	for i, p := range paths {
		var err error
		if hs[i], err = Hemisphere(p, spaces[i]); err != nil {
			return nil, err
		}
	}
	return hs, nil
}

// CheckHemispheres checks files whose rows are joined (sessions of trials, read as one): they
// must not be of different hemispheres, whose vertices would be taken for each other's. spaces
// are the files' spaces (nil where unknown).
func CheckHemispheres(paths []string, spaces []*Geometry) error {
	hs, err := hemispheres(paths, spaces)
	if err != nil {
		return err
	}
	first := -1
	for i, h := range hs {
		switch {
		case h == "":
		case first < 0:
			first = i
		case h != hs[first]:
			return fmt.Errorf("%s is %s, %s is %s: files read as more trials of the same targets must be of one hemisphere (run once per hemisphere)", paths[first], hs[first], paths[i], h)
		}
	}
	return nil
}

// CheckParts checks files joined along targets (one space's parts, Join): none of the same
// hemisphere as another (two sessions of one hemisphere are more rows, not more targets), and
// none whose name and GIFTI metadata disagree. spaces are the files' spaces (nil where unknown).
func CheckParts(paths []string, spaces []*Geometry) error {
	hs, err := hemispheres(paths, spaces)
	if err != nil {
		return err
	}
	for i, h := range hs {
		if j := slices.Index(hs[:i], h); h != "" && j >= 0 {
			return fmt.Errorf("%s and %s are both %s: files joined along targets are different parts of the same rows (hemispheres); sessions of one hemisphere are more rows (brainalign ceiling reads them as one)", paths[j], paths[i], h)
		}
	}
	return nil
}

// hemisphereOf is "lh" or "rh" when path's name, or else its folder's, says which; "" otherwise.
func hemisphereOf(path string) string {
	base := strings.ToLower(filepath.Base(path))
	switch {
	case strings.HasPrefix(base, "lh."), strings.Contains(base, "hemi-l_"), strings.Contains(base, "hemi-l."):
		return "lh"
	case strings.HasPrefix(base, "rh."), strings.Contains(base, "hemi-r_"), strings.Contains(base, "hemi-r."):
		return "rh"
	}
	// lh or rh as a word of the name: sub03.lh.avg.mgh, betas_rh.npy (not both: lh_vs_rh.npy)
	words := strings.FieldsFunc(base, func(r rune) bool { return r == '.' || r == '_' || r == '-' })
	if l, r := slices.Contains(words, "lh"), slices.Contains(words, "rh"); l != r {
		if l {
			return "lh"
		}
		return "rh"
	}
	dir := strings.ToLower(filepath.Base(filepath.Dir(path)))
	for _, h := range []string{"lh", "rh"} {
		if dir == h || strings.HasSuffix(dir, "-"+h) || strings.HasSuffix(dir, "_"+h) || strings.HasSuffix(dir, "."+h) {
			return h
		}
	}
	// HCP's L or R between dots, where no folder says: 100307.L.midthickness.32k_fs_LR.surf.gii
	dotted := strings.Split(base, ".")
	if l, r := slices.Contains(dotted, "l"), slices.Contains(dotted, "r"); l != r {
		if l {
			return "lh"
		}
		return "rh"
	}
	return ""
}

// Files returns the names of the files WriteNamed writes for result name over g: name plus g's
// VolumeExt, or for a joined space one file per part, PART.name plus the part's extension.
func (g *Geometry) Files(name string) []string {
	if g.Parts == nil {
		return []string{name + g.VolumeExt()}
	}
	files := make([]string, len(g.Parts))
	for i, p := range g.Parts {
		files[i] = p.Name + "." + name + p.Geometry.VolumeExt()
	}
	return files
}

// IsNamedFile reports whether file is a name that WriteNamed gives result name over some space
// (Files): name or PART.name, PART a part's name (lh, rh, part1, part2, ...), followed by one of
// VolumeExts. A command rerun over another space finds its earlier result's files by it.
func IsNamedFile(file, name string) bool {
	ext := ""
	for _, e := range VolumeExts {
		if strings.HasSuffix(file, e) {
			ext = e
		}
	}
	stem, ok := strings.CutSuffix(file, "."+name+ext)
	switch {
	case ext == "":
		return false
	case file == name+ext:
		return true
	case !ok:
		return false
	case stem == "lh" || stem == "rh":
		return true
	}
	n, ok := strings.CutPrefix(stem, "part")
	return ok && n != "" && n[0] != '0' && strings.Trim(n, "0123456789") == ""
}

// WriteNamed writes data (one value per target of g) as result name: a file of g's format, or
// for a joined space one per part, each by put, for the file names that Files gives, which it
// returns. put writes the file named with write (atomicfile.Write at a path for the name, or
// atomicfile.Batch.Write); errors before it name the file.
func WriteNamed(g *Geometry, name string, data []float64, put func(file string, write func(w io.Writer) error) error) ([]string, error) {
	return WriteNamedFrames(g, name, 1, data, put)
}

// WriteNamedFrames is WriteNamed for several maps (frames, WriteFrames'): data in C order over
// (frame, target), each part's file holding its targets of every frame.
func WriteNamedFrames(g *Geometry, name string, frames int, data []float64, put func(file string, write func(w io.Writer) error) error) ([]string, error) {
	files := g.Files(name)
	total := g.Targets()
	if frames < 1 || len(data) != frames*total {
		return nil, fmt.Errorf("%s: %d values for %d map(s) of %d targets", files[0], len(data), frames, total)
	}
	parts := []*Geometry{g}
	if g.Parts != nil {
		parts = parts[:0]
		for _, p := range g.Parts {
			parts = append(parts, p.Geometry)
		}
	}
	off := 0
	for i, p := range parts {
		n := p.Targets()
		sub := data // one file: all of it
		if frames == 1 && len(parts) > 1 {
			sub = data[off : off+n]
		} else if len(parts) > 1 { // the part's targets of each frame, gathered
			sub = make([]float64, 0, frames*n)
			for f := range frames {
				sub = append(sub, data[f*total+off:f*total+off+n]...)
			}
		}
		write, err := p.framesWriter(files[i], frames, sub)
		if err == nil {
			err = put(files[i], write)
		}
		if err != nil {
			return nil, err
		}
		off += n
	}
	return files, nil
}

// errJoined is what a joined space answers where one file's space is needed.
var errJoined = errors.New("a space joined from several files (hemispheres) is written one part at a time")

// joinedCoordinates returns the parts' coordinates one after another.
func (g *Geometry) joinedCoordinates() ([]float64, error) {
	var out []float64
	for _, p := range g.Parts {
		xyz, err := p.Geometry.Coordinates()
		if err != nil {
			return nil, fmt.Errorf("part %s: %w", p.Name, err)
		}
		out = append(out, xyz...)
	}
	return out, nil
}
