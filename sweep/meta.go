package sweep

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/brainalign/brainalign/array"
	"github.com/brainalign/brainalign/ceiling"
	"github.com/brainalign/brainalign/internal/atomicfile"
	"github.com/brainalign/brainalign/internal/intrange"
	"github.com/brainalign/brainalign/internal/outdir"
	"github.com/brainalign/brainalign/internal/textlist"
)

// Meta is the brain metadata the metrics need. Every field is optional; each metric says which
// it needs.
type Meta struct {
	Coords   []float64      // targets x 3 (mm, MNI), row-major: the spatial score
	ROI      []int          // per target; a negative label is "no ROI": per-ROI results
	ROINames map[int]string // label -> name
	Times    []float64      // MEG time points (s): the temporal score
	// Channels are the MEG channels' names, in the data's order (from an MNE epochs file), so
	// that subjects are pooled channel by channel only where the channels are the same.
	Channels []string
	// Ceiling is the noise ceiling per target (brainalign ceiling's ceiling.npy; NaN: none):
	// alignment scores divided by it (AlignmentOptions.Ceiled). Set by ReadCeiling.
	Ceiling      []float64
	ceilingShape []int
	roiShape     []int // a label volume's axes (one --roi file): checked against the targets'
	// Space is the NIfTI or MGH space of the targets (voxels or vertices), when the brain data
	// came from such a file (or sweep's --space): results over the targets are also written as
	// volumes in it. SpaceTargets, when set, are the voxels of Space that the targets are (a
	// mask's, in C order); else the targets are all its voxels.
	Space        *array.Geometry
	SpaceTargets []int
	// Parts, for targets joined from several files (hemispheres: sweep's --brain lh.x --brain
	// rh.x), are the files' parts in order, each with its number of targets (after a mask): target
	// t is in the part whose range holds it. Nil for the targets of one file.
	Parts []TargetPart
	// Files the fields were read from (ReadMeta, ReadCeiling), for errors.
	Files struct{ Coords, ROI, ROINames, Times, Ceiling string }
	// the coordinate files and their rows, which PlaceCoords may take for surfaces
	coordFiles []string
	coordRows  []int
}

// TargetPart is one file's targets among targets joined from several files.
type TargetPart struct {
	Name    string // lh, rh, or part1, part2, ... (array.PartNames)
	Targets int
}

// partOf returns each target's part (nil without parts).
func (m Meta) partOf(targets int) []int {
	if m.Parts == nil {
		return nil
	}
	part := make([]int, targets)
	t := 0
	for i, p := range m.Parts {
		for k := 0; k < p.Targets && t < targets; k++ {
			part[t] = i
			t++
		}
	}
	return part
}

// partNames lists the parts' names.
func (m Meta) partNames() []string {
	var names []string
	for _, p := range m.Parts {
		names = append(names, p.Name)
	}
	return names
}

// MetaFlags says which kinds of metadata a sweep holds (sweep.json's "metadata").
type MetaFlags struct {
	Coords bool `json:"coords"`
	ROI    bool `json:"roi_labels"`
	Times  bool `json:"times"`
	// omitted when false, so that sweeps saved before ceilings existed read back unchanged
	Ceiling bool `json:"ceiling,omitempty"`
	Space   bool `json:"space,omitempty"`
}

func (m Meta) flags() MetaFlags {
	return MetaFlags{Coords: m.Coords != nil, ROI: m.ROI != nil, Times: m.Times != nil, Ceiling: m.Ceiling != nil, Space: m.Space != nil}
}

func (m Meta) name(file, what string) string {
	if file != "" {
		return file
	}
	return what
}

// Metadata file names inside a sweep directory.
const (
	metaDir      = "meta"
	coordsFile   = "coords.npy"
	roiFile      = "roi_labels.npy"
	roiNamesFile = "roi_names.txt"
	timesFile    = "times.npy"
	ceilingFile  = "ceiling.npy"
	spaceName    = "space" // + .nii.gz or .mgz: a zero volume carrying the header
	spaceTargets = "space_targets.npy"
	// spacePartsFile lists the files of a joined space's parts in order (lh.space.mgz, ...)
	spacePartsFile = "space_parts.txt"
	// partsFile lists the parts of targets joined from several files, "NAME\tTARGETS" per line
	partsFile = "parts.txt"
	// channelsFile lists the MEG channels' names, one per line
	channelsFile = "channels.txt"
)

// ReadMeta reads metadata files; an empty path leaves its field unset. roi is integer labels
// (array.Read), or a label file named by its table (.dlabel.nii, .label.gii, a FreeSurfer .annot:
// labelTableNames) where roiNames is empty. roiNames is text: one
// name per line (line k names label k, from 0), or "LABEL NAME" per line (space, tab or comma),
// or a FreeSurfer color table's "LABEL NAME R G B A" lines (the colours dropped).
func ReadMeta(coords, roi, roiNames, times string) (Meta, error) {
	var cs, rois []string
	if coords != "" {
		cs = []string{coords}
	}
	if roi != "" {
		rois = []string{roi}
	}
	return ReadMetaJoined(cs, rois, roiNames, times)
}

// ReadMetaJoined is ReadMeta for the coordinates and ROI labels of targets joined from several
// files (a surface's hemispheres: lh.white.surf.gii then rh.white.surf.gii, lh.streams.mgz then
// rh.streams.mgz), one after another; a label is the same ROI in every file (V1 of both
// hemispheres).
func ReadMetaJoined(coords, rois []string, roiNames, times string) (Meta, error) {
	var m Meta
	var err error
	roi := strings.Join(rois, " + ")
	m.Files.Coords, m.Files.ROI, m.Files.Times = strings.Join(coords, " + "), roi, times
	for _, path := range coords {
		xyz, shape, err := readFloatsShape(path)
		if err != nil {
			return m, err
		}
		if len(shape) != 2 || shape[1] != 3 {
			return m, fmt.Errorf("%s: coordinates must be targets x 3, got shape %v", path, shape)
		}
		if err := checkFiniteFile(path, xyz); err != nil {
			return m, err
		}
		m.Coords = append(m.Coords, xyz...)
		m.coordFiles, m.coordRows = append(m.coordFiles, path), append(m.coordRows, shape[0])
	}
	for _, path := range rois {
		var labels, shape []int
		var table map[int]string // a FreeSurfer annotation's colour table
		if array.IsAnnot(path) {
			a, err := array.ReadAnnot(path)
			if err != nil {
				return m, err
			}
			labels, table = a.Labels, a.Names
		} else if labels, shape, err = readIntsShape(path); err != nil {
			return m, err
		}
		if len(rois) == 1 && len(shape) > 1 {
			m.roiShape = shape
		}
		if lower := strings.ToLower(path); roiNames == "" && (table != nil || strings.HasSuffix(lower, ".dlabel.nii") || strings.HasSuffix(lower, ".label.gii")) {
			var names map[int]string
			if table != nil {
				names, err = labelTableNames(path, table, labels)
			} else {
				names, err = ciftiLabelNames(path, labels)
			}
			if err != nil {
				return m, err
			}
			if m.ROINames == nil {
				m.ROINames = names
			}
			for k, n := range names {
				if prev, ok := m.ROINames[k]; ok && prev != n {
					return m, fmt.Errorf("%s: label %d is %q, but %q in %s", path, k, n, prev, rois[0])
				}
				m.ROINames[k] = n
			}
		}
		m.ROI = append(m.ROI, labels...)
	}
	if roiNames != "" {
		if roi == "" {
			return m, fmt.Errorf("%s: ROI names without ROI labels (give the labels too)", roiNames)
		}
		if m.ROINames, err = readROINames(roiNames); err != nil {
			return m, err
		}
		m.Files.ROINames = roiNames // Check sees that they name the labels the targets carry
	}
	if times != "" {
		var shape []int
		if array.IsFIF(times) { // an MNE epochs file: its time axis (epochs.times), not its data
			info, err := array.FIFInfo(times)
			if err != nil {
				return m, err
			}
			m.Times, shape = info.Times, []int{len(info.Times)}
		} else if m.Times, shape, err = readFloatsShape(times); err != nil {
			return m, err
		}
		if !array.IsVector(shape) || len(shape) == 0 { // n, n x 1 or 1 x n: MATLAB's vectors are 2-d
			return m, fmt.Errorf("%s: times must be a vector (n, n x 1 or 1 x n), got shape %v", times, shape)
		}
		if err := checkFiniteFile(times, m.Times); err != nil {
			return m, err
		}
		for i := 1; i < len(m.Times); i++ {
			if !(m.Times[i] > m.Times[i-1]) {
				return m, fmt.Errorf("%s: times must increase (time %d is %v after %v)", times, i, m.Times[i], m.Times[i-1])
			}
		}
	}
	return m, nil
}

// CoordFiles returns the files the coordinates were read from (ReadMetaJoined) and each one's rows.
func (m Meta) CoordFiles() ([]string, []int) { return m.coordFiles, m.coordRows }

// PlaceCoords takes coordinates given as surfaces, one per cortex structure of a CIFTI space's
// grayordinates in the file's order, each of all its vertices (HCP: --coords
// L.midthickness.surf.gii --coords R.midthickness.surf.gii; the grayordinates leave out the
// medial wall), as the grayordinates' positions: each vertex's from its surface at its vertex
// index, each subcortical voxel's from the volume's voxel-to-world matrix. A surface whose
// GIFTI metadata or name say the other hemisphere is refused. Coordinates of one row per
// grayordinate are kept as they are; for a CIFTI space, other counts are refused saying what
// fits. It reports whether it placed them.
func (m *Meta) PlaceCoords(space *array.Geometry) (bool, error) {
	surfs := space.CiftiSurfaces()
	if m.Coords == nil || len(surfs) == 0 {
		return false, nil
	}
	grays := space.Targets()
	fits := len(m.coordRows) == len(surfs)
	for k, s := range surfs {
		fits = fits && m.coordRows[k] == s.Vertices
	}
	perTarget := len(m.Coords) == 3*grays
	npy := slices.ContainsFunc(m.coordFiles, func(p string) bool { return strings.HasSuffix(strings.ToLower(p), ".npy") })
	if perTarget && (!fits || npy) { // one row per grayordinate (an .npy of as many rows as vertices too)
		return false, nil
	}
	var want []string
	for _, s := range surfs {
		want = append(want, fmt.Sprintf("%s of %d vertices", s.Structure, s.Vertices))
	}
	if !fits {
		rows := make([]string, len(m.coordRows))
		for i, r := range m.coordRows {
			rows[i] = strconv.Itoa(r)
		}
		return false, fmt.Errorf("--coords %s: file(s) of %s rows for the %d grayordinates of a CIFTI file: want one surface per cortex structure, in the file's order, each with all its vertices (%s; HCP: --coords L.midthickness.surf.gii --coords R.midthickness.surf.gii), or one file of %d rows, one per grayordinate",
			m.Files.Coords, strings.Join(rows, " and "), grays, strings.Join(want, ", then "), grays)
	}
	side := map[string]string{"lh": "left", "rh": "right"}
	var xyz [][]float64
	off := 0
	for k, p := range m.coordFiles {
		h, err := array.FileHemisphere(p)
		if err != nil {
			return false, err
		}
		if w := surfs[k].Hemisphere(); h != "" && w != "" && h != w {
			return false, fmt.Errorf("--coords %s is the %s hemisphere's surface, but the CIFTI file's surface %d is %s: give one surface per cortex structure in the file's order (%s)",
				p, side[h], k+1, surfs[k].Structure, strings.Join(want, ", then "))
		}
		xyz = append(xyz, m.Coords[off:off+3*m.coordRows[k]])
		off += 3 * m.coordRows[k]
	}
	placed, err := space.CiftiCoordinates(xyz)
	if err != nil {
		return false, fmt.Errorf("--coords %s: %v", m.Files.Coords, err)
	}
	m.Coords = placed
	return true, nil
}

// ReadCeiling reads a noise ceiling per target (brainalign ceiling's ceiling.npy: values from 0
// to 1, NaN for none) into m.Ceiling; Check compares its size and shape with the brain data's.
// Several files are the ceilings of brain data joined from several files (hemispheres), one
// after another.
func (m *Meta) ReadCeiling(paths ...string) error {
	values, shape, _, err := ceiling.Read(paths...)
	if err != nil {
		return err
	}
	m.Ceiling, m.ceilingShape, m.Files.Ceiling = values, shape, strings.Join(paths, " + ")
	return nil
}

// Check validates the metadata against the brain data's trailing shape (targets, or channels x
// times); what names the brain data in errors.
func (m Meta) Check(what string, trailing []int) error {
	targets := 1
	for _, d := range trailing {
		targets *= d
	}
	if m.Coords != nil && len(m.Coords) != 3*targets {
		return fmt.Errorf("%s: %d coordinate rows for the %d targets of %s", m.name(m.Files.Coords, "coordinates"), len(m.Coords)/3, targets, what)
	}
	if m.Ceiling != nil && (len(m.Ceiling) != targets || len(m.ceilingShape) > 1 && !slices.Equal(m.ceilingShape, trailing)) {
		return fmt.Errorf("%s: noise ceiling shaped %s, but the targets of %s are shaped %s%s", m.name(m.Files.Ceiling, "--ceiling"),
			array.ShapeString(m.ceilingShape), what, array.ShapeString(trailing), array.ReversedNote(m.ceilingShape, trailing))
	}
	if m.Space != nil {
		n := m.Space.Targets()
		if m.SpaceTargets != nil {
			n = len(m.SpaceTargets)
		}
		if n != targets {
			return fmt.Errorf("a space of %s voxels or vertices (%d targets) for the %d targets of %s", array.ShapeString(m.Space.Spatial), n, targets, what)
		}
		for _, t := range m.SpaceTargets {
			if t < 0 || t >= m.Space.Targets() {
				return fmt.Errorf("target voxel %d outside a space of %s", t, array.ShapeString(m.Space.Spatial))
			}
		}
	}
	if m.Channels != nil && len(trailing) == 2 && len(m.Channels) != trailing[0] {
		return fmt.Errorf("%d channel names for the %d channels of %s", len(m.Channels), trailing[0], what)
	}
	if m.Parts != nil {
		n := 0
		for _, p := range m.Parts {
			n += p.Targets
		}
		if n != targets {
			return fmt.Errorf("parts of %d targets in all (%v) for the %d targets of %s", n, m.partNames(), targets, what)
		}
	}
	if m.ROI != nil && len(m.ROI) != targets {
		return fmt.Errorf("%s: %d ROI labels for the %d targets of %s", m.name(m.Files.ROI, "ROI labels"), len(m.ROI), targets, what)
	}
	if m.ROI != nil && len(m.roiShape) > 1 && len(trailing) > 1 && !slices.Equal(m.roiShape, trailing) {
		// as many labels, laid over other voxels: NSD's HDF5 betas hold the volume's axes reversed
		return fmt.Errorf("%s: a label volume shaped %s, but the targets of %s are shaped %s%s", m.name(m.Files.ROI, "ROI labels"),
			array.ShapeString(m.roiShape), what, array.ShapeString(trailing), array.ReversedNote(m.roiShape, trailing))
	}
	if m.ROI != nil && m.Files.ROINames != "" {
		// after Restrict: an atlas's labels outside a --brain-mask (its background) need no name
		if err := checkROINamesCover(m.Files.ROINames, m.ROI, m.ROINames); err != nil {
			return err
		}
	}
	if m.Times != nil {
		nt := len(m.Times)
		if len(trailing) >= 2 && trailing[len(trailing)-1] != nt {
			return fmt.Errorf("%s: %d time points, but %s has %d along its last axis (shape %v)", m.name(m.Files.Times, "times"), nt, what, trailing[len(trailing)-1], trailing)
		}
		if targets%nt != 0 {
			return fmt.Errorf("%s: %d time points do not divide the %d targets of %s (want channels x times)", m.name(m.Files.Times, "times"), nt, targets, what)
		}
	}
	return nil
}

// ROIName returns the name of a label ("roi<label>" when unnamed).
func (m Meta) ROIName(label int) string {
	if n, ok := m.ROINames[label]; ok {
		return n
	}
	return "roi" + strconv.Itoa(label)
}

// ROILabel finds the label named name (case-insensitive).
func (m Meta) ROILabel(name string) (int, bool) {
	for l, n := range m.ROINames {
		if strings.EqualFold(n, name) {
			return l, true
		}
	}
	return 0, false
}

// Labels returns the distinct non-negative ROI labels, ascending.
func (m Meta) Labels() []int {
	seen := map[int]bool{}
	var out []int
	for _, l := range m.ROI {
		if l >= 0 && !seen[l] {
			seen[l] = true
			out = append(out, l)
		}
	}
	sort.Ints(out)
	return out
}

// save writes the metadata into dir/meta.
func (m Meta) save(dir string) error {
	md := filepath.Join(dir, metaDir)
	if err := os.MkdirAll(md, 0o777); err != nil {
		return err
	}
	if m.Coords != nil {
		if err := array.WriteNPY(filepath.Join(md, coordsFile), []int{len(m.Coords) / 3, 3}, m.Coords); err != nil {
			return err
		}
	}
	if m.ROI != nil {
		if err := array.WriteNPY(filepath.Join(md, roiFile), []int{len(m.ROI)}, int64s(m.ROI)); err != nil {
			return err
		}
		var b strings.Builder
		for _, lab := range m.Labels() {
			fmt.Fprintf(&b, "%d\t%s\n", lab, m.ROIName(lab))
		}
		if err := atomicfile.WriteBytes(filepath.Join(md, roiNamesFile), []byte(b.String())); err != nil {
			return err
		}
	}
	if m.Times != nil {
		if err := array.WriteNPY(filepath.Join(md, timesFile), []int{len(m.Times)}, m.Times); err != nil {
			return err
		}
	}
	if m.Ceiling != nil {
		if err := array.WriteNPY(filepath.Join(md, ceilingFile), []int{len(m.Ceiling)}, m.Ceiling); err != nil {
			return err
		}
	}
	if m.Channels != nil {
		if err := atomicfile.WriteBytes(filepath.Join(md, channelsFile), []byte(strings.Join(m.Channels, "\n")+"\n")); err != nil {
			return err
		}
	}
	if m.Parts != nil {
		var b strings.Builder
		for _, p := range m.Parts {
			fmt.Fprintf(&b, "%s\t%d\n", p.Name, p.Targets)
		}
		if err := atomicfile.WriteBytes(filepath.Join(md, partsFile), []byte(b.String())); err != nil {
			return err
		}
	}
	if g := m.Space; g != nil {
		for _, ext := range array.VolumeExts { // one space only
			if ext != g.VolumeExt() || g.Parts != nil {
				removeFile(filepath.Join(md, spaceName+ext))
			}
		}
		removeFile(filepath.Join(md, spacePartsFile))
		if parts, _ := filepath.Glob(filepath.Join(md, "*."+spaceName+".*")); parts != nil {
			for _, p := range parts {
				removeFile(p)
			}
		}
		// a joined space (hemispheres) is kept as its parts, lh.space.mgz and so on, listed in order
		files, err := array.WriteNamed(g, spaceName, make([]float64, g.Targets()), func(f string, write func(io.Writer) error) error {
			return atomicfile.Write(filepath.Join(md, f), write)
		})
		if err != nil {
			return err
		}
		if g.Parts != nil {
			if err := atomicfile.WriteBytes(filepath.Join(md, spacePartsFile), []byte(strings.Join(files, "\n")+"\n")); err != nil {
				return err
			}
		}
		removeFile(filepath.Join(md, spaceTargets))
		if m.SpaceTargets != nil {
			if err := array.WriteNPY(filepath.Join(md, spaceTargets), []int{len(m.SpaceTargets)}, int64s(m.SpaceTargets)); err != nil {
				return err
			}
		}
	}
	return nil
}

// changes reports whether writing manifest as dir's sweep.json and saving m into dir would
// change what mergeStamp hashes besides the unit records; it stops at the first change (a
// changed sweep.json spares copying meta/).
func (m Meta) changes(dir string, manifest []byte) bool {
	return len(m.stampChanges(dir, manifest, false)) > 0
}

// stampChanges names what writing manifest as dir's sweep.json and saving m into dir would
// change of what mergeStamp hashes besides the unit records: the fields of sweep.json, then the
// files of meta/ (none: the tables a merge wrote from them stay current). m is saved into a copy
// of dir/meta in a temp folder, and the two compared: save replaces and removes files as what
// is given asks. Where that cannot be found out, it names that as a change. all: name every
// change, not only the first found.
func (m Meta) stampChanges(dir string, manifest []byte, all bool) []string {
	var why []string
	if old, err := os.ReadFile(filepath.Join(dir, "sweep.json")); errors.Is(err, fs.ErrNotExist) {
		why = append(why, "no sweep.json yet")
	} else if err != nil {
		why = append(why, "sweep.json cannot be read: "+errors.Unwrap(err).Error())
	} else if !bytes.Equal(old, manifest) {
		why = append(why, "sweep.json: "+manifestChanges(old, manifest))
	}
	if len(why) > 0 && !all {
		return why
	}
	before, err := readStampedMeta(filepath.Join(dir, metaDir))
	if err != nil {
		return append(why, "the metadata cannot be read: "+err.Error())
	}
	// A staging folder (internal/outdir), never committed: one that a run killed here left is
	// removed by the next run that compares, not left in the temp directory for good.
	scratch, err := outdir.Create(filepath.Join(os.TempDir(), "brainalign-meta"), false)
	if err != nil {
		return append(why, "the metadata cannot be compared: "+err.Error())
	}
	defer scratch.Abort()
	tmp := scratch.Path("")
	if err := os.Chmod(tmp, 0o700); err != nil { // the brain metadata, in a shared temp directory
		return append(why, "the metadata cannot be compared: "+err.Error())
	}
	md := filepath.Join(tmp, metaDir)
	if err := os.Mkdir(md, 0o700); err != nil {
		return append(why, "the metadata cannot be compared: "+err.Error())
	}
	for name, b := range before {
		if err := os.WriteFile(filepath.Join(md, name), b, 0o600); err != nil {
			return append(why, "the metadata cannot be compared: "+err.Error())
		}
	}
	if err := m.save(tmp); err != nil {
		return append(why, "the metadata cannot be compared: "+err.Error())
	}
	after, err := readStampedMeta(md)
	if err != nil {
		return append(why, "the metadata cannot be compared: "+err.Error())
	}
	var files []string
	for _, name := range slices.Sorted(maps.Keys(after)) {
		if b, ok := before[name]; !ok || !bytes.Equal(b, after[name]) {
			files = append(files, name)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(before)) {
		if _, ok := after[name]; !ok {
			files = append(files, name+" (removed)")
		}
	}
	if len(files) > 0 {
		why = append(why, metaDir+"/: "+strings.Join(files, ", "))
	}
	return why
}

// manifestChanges names the fields of sweep.json that differ between two of its contents, the
// checkpoints' by what of them differs (their steps: another --steps).
func manifestChanges(old, now []byte) string {
	var a, b map[string]json.RawMessage
	if json.Unmarshal(old, &a) != nil || json.Unmarshal(now, &b) != nil {
		return "its contents"
	}
	var diffs []string
	for _, k := range slices.Sorted(maps.Keys(b)) {
		if _, ok := a[k]; !ok {
			diffs = append(diffs, k)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(a)) {
		if bytes.Equal(a[k], b[k]) {
			continue
		}
		if k != "checkpoints" {
			diffs = append(diffs, k)
			continue
		}
		var ca, cb []CheckpointInfo
		if json.Unmarshal(a[k], &ca) != nil || json.Unmarshal(b[k], &cb) != nil || len(ca) != len(cb) {
			diffs = append(diffs, k)
			continue
		}
		var names, steps, sources bool
		for i := range ca {
			names = names || ca[i].Name != cb[i].Name
			steps = steps || !reflect.DeepEqual(ca[i].Step, cb[i].Step)
			sources = sources || !slices.Equal(ca[i].Sources, cb[i].Sources)
		}
		for _, d := range []struct {
			differ bool
			what   string
		}{{names, "checkpoint names"}, {steps, "checkpoint steps"}, {sources, "checkpoint sources"}} {
			if d.differ {
				diffs = append(diffs, d.what)
			}
		}
	}
	if len(diffs) == 0 {
		return "its layout" // the same fields and values, otherwise written
	}
	return strings.Join(diffs, ", ")
}

// readStampedMeta reads the files of the metadata folder md that mergeStamp hashes, by name;
// none when md does not exist.
func readStampedMeta(md string) (map[string][]byte, error) {
	entries, err := os.ReadDir(md)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{}
	for _, e := range entries {
		if stampedMeta(e) {
			b, err := os.ReadFile(filepath.Join(md, e.Name()))
			if err != nil {
				return nil, err
			}
			files[e.Name()] = b
		}
	}
	return files, nil
}

// stampedMeta reports whether mergeStamp hashes the file e of the metadata folder: regular
// files, not hidden ones (temp files of atomicfile).
func stampedMeta(e fs.DirEntry) bool {
	return e.Type().IsRegular() && !strings.HasPrefix(e.Name(), ".")
}

// int64s converts ints for WriteNPY.
func int64s(v []int) []int64 {
	out := make([]int64, len(v))
	for i, x := range v {
		out[i] = int64(x)
	}
	return out
}

// Restrict keeps, of the metadata given over all size targets of a space (coordinates, ROI
// labels, noise ceiling), the targets cols: those a mask scores. Metadata over len(cols) targets
// already are kept as they are; others are left for Check to refuse.
func (m *Meta) Restrict(cols []int, size int) {
	// a label volume was checked against the mask's grid (checkGrids); now it is over the masked
	// targets
	m.roiShape = nil
	if len(cols) == size { // every target kept: as they are, over the masked (flat) targets
		if len(m.Ceiling) == size {
			m.ceilingShape = []int{size}
		}
		return
	}
	if len(m.Coords) == 3*size {
		c := make([]float64, 0, 3*len(cols))
		for _, t := range cols {
			c = append(c, m.Coords[3*t:3*t+3]...)
		}
		m.Coords = c
	}
	if len(m.ROI) == size {
		r := make([]int, len(cols))
		for i, t := range cols {
			r[i] = m.ROI[t]
		}
		m.ROI = r
	}
	if len(m.Ceiling) == size {
		c := make([]float64, len(cols))
		for i, t := range cols {
			c[i] = m.Ceiling[t]
		}
		m.Ceiling, m.ceilingShape = c, []int{len(cols)}
	}
}

// Expand writes values over the targets (one block of them after another) into arrays over all
// the voxels of Space, NaN elsewhere, when the targets are a mask's (SpaceTargets); else it
// returns values.
func (m Meta) Expand(values []float64) []float64 {
	if m.SpaceTargets == nil || m.Space == nil {
		return values
	}
	k, n := len(m.SpaceTargets), m.Space.Targets()
	out := make([]float64, len(values)/k*n)
	for i := range out {
		out[i] = math.NaN()
	}
	for b := 0; b < len(values)/k; b++ {
		for j, t := range m.SpaceTargets {
			out[b*n+t] = values[b*k+j]
		}
	}
	return out
}

// keepEarlier completes m with the kinds of metadata (coordinates, ROI labels and names, times,
// noise ceiling) that an earlier run saved in dir/meta and this run does not give, so that a
// rerun without --coords still describes, and keeps, what the metric commands will read. It
// returns the kinds this run gives with other values than the saved ones (they are replaced:
// metadata do not change any score).
func (m *Meta) keepEarlier(dir string) (replaced []string, err error) {
	if _, err := os.Stat(filepath.Join(dir, metaDir)); err != nil {
		return nil, nil
	}
	old, err := loadMeta(dir)
	if err != nil {
		return nil, fmt.Errorf("%s: an earlier run's metadata cannot be read (%v); remove the folder to save this run's", filepath.Join(dir, metaDir), err)
	}
	if m.Coords == nil {
		m.Coords = old.Coords
	} else if old.Coords != nil && !slices.Equal(m.Coords, old.Coords) {
		replaced = append(replaced, "coordinates")
	}
	if m.ROI == nil {
		m.ROI, m.ROINames = old.ROI, old.ROINames
	} else if old.ROI != nil && (!slices.Equal(m.ROI, old.ROI) || !sameNames(*m, old)) {
		replaced = append(replaced, "ROI labels")
	}
	if m.Times == nil {
		m.Times = old.Times
	} else if old.Times != nil && !slices.Equal(m.Times, old.Times) {
		replaced = append(replaced, "times")
	}
	if m.Space == nil {
		m.Space, m.SpaceTargets = old.Space, old.SpaceTargets
	}
	if m.Parts == nil {
		m.Parts = old.Parts
	}
	if m.Channels == nil {
		m.Channels = old.Channels
	}
	if m.Ceiling == nil {
		m.Ceiling, m.ceilingShape = old.Ceiling, old.ceilingShape
	} else if old.Ceiling != nil && !sameFloats(m.Ceiling, old.Ceiling) {
		replaced = append(replaced, "noise ceiling")
	}
	return replaced, nil
}

// sameFloats is slices.Equal with NaN equal to NaN.
func sameFloats(a, b []float64) bool {
	return slices.EqualFunc(a, b, func(x, y float64) bool { return x == y || math.IsNaN(x) && math.IsNaN(y) })
}

// sameNames reports whether a and b name every label of a the same.
func sameNames(a, b Meta) bool {
	for _, l := range a.Labels() {
		if a.ROIName(l) != b.ROIName(l) {
			return false
		}
	}
	return true
}

// loadMeta reads dir/meta (files that are absent leave their field unset).
func loadMeta(dir string) (Meta, error) {
	md := filepath.Join(dir, metaDir)
	p := func(name string) string {
		f := filepath.Join(md, name)
		if _, err := os.Stat(f); err != nil {
			return ""
		}
		return f
	}
	m, err := ReadMeta(p(coordsFile), p(roiFile), p(roiNamesFile), p(timesFile))
	if err == nil && p(ceilingFile) != "" {
		err = m.ReadCeiling(p(ceilingFile))
	}
	for _, ext := range array.VolumeExts {
		if err == nil && p(spaceName+ext) != "" {
			m.Space, err = array.ReadGeometry(p(spaceName + ext))
		}
	}
	if err == nil && p(spacePartsFile) != "" {
		m.Space, err = readSpaceParts(md)
	}
	if err == nil && m.Space != nil && p(spaceTargets) != "" {
		m.SpaceTargets, err = readInts(p(spaceTargets))
	}
	if err == nil && p(partsFile) != "" {
		m.Parts, err = readParts(p(partsFile))
	}
	if err == nil {
		m.Channels, err = readChannels(filepath.Join(md, channelsFile))
	}
	return m, err
}

// readChannels reads the MEG channels' names (save); nil where the file is absent.
func readChannels(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n"), nil
}

// readParts reads the parts of joined targets (save).
func readParts(path string) ([]TargetPart, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var parts []TargetPart
	for i, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		name, n, ok := strings.Cut(line, "\t")
		k, err := strconv.Atoi(n)
		if !ok || err != nil || k < 0 || name == "" {
			return nil, fmt.Errorf("%s: line %d, %q: want NAME<tab>TARGETS", path, i+1, line)
		}
		parts = append(parts, TargetPart{Name: name, Targets: k})
	}
	return parts, nil
}

// readSpaceParts reads a joined space saved as its parts (save).
func readSpaceParts(md string) (*array.Geometry, error) {
	list, err := os.ReadFile(filepath.Join(md, spacePartsFile))
	if err != nil {
		return nil, err
	}
	var paths []string
	var geos []*array.Geometry
	for _, name := range strings.Fields(string(list)) {
		g, err := array.ReadGeometry(filepath.Join(md, filepath.Base(name)))
		if err != nil {
			return nil, err
		}
		paths, geos = append(paths, name), append(geos, g)
	}
	return array.Join(paths, geos)
}

func readFloatsShape(path string) ([]float64, []int, error) {
	arrs, err := array.Read(path)
	if err != nil {
		return nil, nil, err
	}
	defer array.CloseAll(arrs)
	if len(arrs) != 1 {
		return nil, nil, fmt.Errorf("%s: holds %d arrays, want one", path, len(arrs))
	}
	a := arrs[0]
	m, err := a.Matrix() // integers are fine here (coordinates in whole mm, steps): converted
	if err != nil {
		return nil, nil, err
	}
	out := make([]float64, m.Rows*m.Cols)
	for i := 0; i < m.Rows; i++ {
		for j := 0; j < m.Cols; j++ {
			out[i*m.Cols+j] = m.At(i, j)
		}
	}
	return out, a.Shape, nil
}

func readFloats(path string) ([]float64, error) {
	v, _, err := readFloatsShape(path)
	return v, err
}

func checkFiniteFile(path string, v []float64) error {
	for i, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Errorf("%s: non-finite value %v at element %d", path, x, i)
		}
	}
	return nil
}

// ciftiLabelNames names the ROI labels of a CIFTI-2 or GIFTI label file (an atlas such as HCP's
// .dlabel.nii, or a hemisphere's .label.gii) from its label table, as labelTableNames does.
func ciftiLabelNames(path string, labels []int) (map[int]string, error) {
	g, err := array.ReadGeometry(path)
	if err != nil {
		return nil, err
	}
	table, err := g.Labels()
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	return labelTableNames(path, table, labels)
}

// labelTableNames names the ROI labels of a label file from its table (a CIFTI-2 or GIFTI label
// table, a FreeSurfer annotation's colour table). Workbench's unlabelled key, named "???" (the
// medial wall), is no ROI: its targets' labels become -1, as do those of key 0 when the table
// lacks it. Other names are ROIs, FreeSurfer's "unknown" too (nibabel's read_annot labels its
// vertices as any other entry's; a FreeSurfer atlas's unlabelled vertices carry value 0, -1).
func labelTableNames(path string, table map[int]string, labels []int) (map[int]string, error) {
	names := map[int]string{}
	for k, name := range table {
		if name != "???" {
			names[k] = name
		}
	}
	missing := map[int]bool{}
	for i, l := range labels {
		name, ok := table[l]
		switch {
		case ok && name == "???", !ok && l == 0: // unlabelled (key 0 by Workbench's convention)
			labels[i] = -1
		case !ok && l < 0: // no ROI already (an annotation's vertices of no entry)
		case !ok:
			missing[l] = true
		}
	}
	if len(missing) > 0 {
		keys := make([]int, 0, len(missing))
		for k := range missing {
			keys = append(keys, k)
		}
		sort.Ints(keys)
		return nil, fmt.Errorf("%s: label(s) %v of its data are not in its label table (give --roi-names)", path, keys)
	}
	if err := checkROINamesCover(path, labels, names); err != nil {
		return nil, err
	}
	return names, nil
}

// readInts reads a 1-d array of integer labels (integer dtype, or floats with integer values).
func readInts(path string) ([]int, error) {
	labels, _, err := readIntsShape(path)
	return labels, err
}

// readIntsShape is readInts that also returns the array's shape as stored.
func readIntsShape(path string) ([]int, []int, error) {
	arrs, err := array.Read(path)
	if err != nil {
		return nil, nil, err
	}
	defer array.CloseAll(arrs)
	// a NIfTI or MGH label volume (an atlas) is flattened in C order over (x, y, z), as brain data
	// read from such files order their targets; so is a vector stored with axes of size 1 (a
	// CIFTI or GIFTI label map is 1 x grayordinates or vertices)
	if len(arrs) == 1 && arrs[0].Geometry != nil && arrs[0].Geometry.OfMaps() && arrs[0].Shape[0] > 1 {
		return nil, nil, fmt.Errorf("%s: a %s file of %d maps: want one map of labels", path, strings.ToUpper(arrs[0].Geometry.Format), arrs[0].Shape[0])
	}
	if len(arrs) != 1 || len(arrs[0].Shape) != 1 && !array.IsVector(arrs[0].Shape) && (arrs[0].Geometry == nil || len(arrs[0].Shape) != 3) && !arrs[0].OneFrame() {
		return nil, nil, fmt.Errorf("%s: want one 1-d array of integer labels (or a NIfTI/MGH label volume)", path)
	}
	a := arrs[0]
	var shape []int // a volume's axes; nil for a vector
	switch {
	case a.OneFrame(): // a label volume stored as one frame of a 4-d NIfTI file
		if !array.IsVector(a.Geometry.Spatial) {
			shape = slices.Clone(a.Geometry.Spatial)
		}
	case !array.IsVector(a.Shape):
		shape = slices.Clone(a.Shape)
	}
	out := make([]int, a.Size())
	if ints := a.Ints(); ints != nil {
		if out, err = intrange.Ints(ints, intrange.Bits); err != nil {
			return nil, nil, fmt.Errorf("%s: %v", path, err)
		}
	} else {
		if len(a.Shape) > 1 {
			a = &array.Array{Name: a.Name, Shape: []int{a.Size()}, DType: a.DType, F32: a.F32, F64: a.F64}
		}
		m, err := a.Matrix()
		if err != nil {
			return nil, nil, err
		}
		for i := range out {
			v := m.At(i, 0)
			if v != math.Trunc(v) || math.IsInf(v, 0) {
				return nil, nil, fmt.Errorf("%s: label %d is %v, not an integer", path, i, v)
			}
			n, ok := intrange.Float(v, intrange.Bits) // int(v) wraps beyond (uint64 labels read as float64)
			if !ok {
				return nil, nil, fmt.Errorf("%s: label %d is %.6g, beyond %s", path, i, v, intrange.Range(intrange.Bits))
			}
			out[i] = n
		}
	}
	return out, shape, nil
}

// checkROINamesCover refuses a names file that leaves a label some target carries without a
// name: a file of one name per line counted from 0 against labels counted from 1, or a short
// list, would otherwise shift or drop names silently (names of labels no target carries are
// fine: an atlas's full list).
func checkROINamesCover(path string, roi []int, names map[int]string) error {
	missing := map[int]int{}
	for _, l := range roi {
		if _, ok := names[l]; l >= 0 && !ok {
			missing[l]++
		}
	}
	// one name per ROI the targets carry: the metrics look ROIs up by name (--v1-roi), table.csv
	// names its columns by them (an atlas's table may repeat a name for labels no target has)
	carried := map[int]bool{}
	for _, l := range roi {
		carried[l] = true
	}
	byName := map[string]int{}
	for lab, name := range names {
		if !carried[lab] {
			continue
		}
		if other, dup := byName[name]; dup {
			return fmt.Errorf("%s: labels %d and %d are both named %q; ROI names must differ", path, min(lab, other), max(lab, other), name)
		}
		byName[name] = lab
	}
	if len(missing) == 0 {
		return nil
	}
	var list []string
	for _, l := range slices.Sorted(maps.Keys(missing)) {
		list = append(list, fmt.Sprintf("%d (%d targets)", l, missing[l]))
	}
	return fmt.Errorf("%s: %d ROI label(s) carried by targets have no name: %s (one name per line names labels 0, 1, ...; or write 'LABEL NAME' lines)",
		path, len(list), textlist.Some(list, 8))
}

func readROINames(path string) (map[int]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, errors.Unwrap(err))
	}
	b = bytes.TrimPrefix(b, []byte("\ufeff")) // a UTF-8 byte-order mark
	var lines []string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			lines = append(lines, l)
		}
	}
	if len(lines) == 0 {
		return nil, fmt.Errorf("%s: no ROI names", path)
	}
	names := map[int]string{}
	paired := true
	for _, l := range lines {
		f := strings.FieldsFunc(l, func(r rune) bool { return r == ' ' || r == '\t' || r == ',' })
		if len(f) < 2 {
			paired = false
			break
		}
		if _, err := strconv.Atoi(f[0]); err != nil {
			paired = false
			break
		}
	}
	// A FreeSurfer color table (FreeSurferColorLUT.txt, an atlas's .ctab): "LABEL NAME R G B A"
	// on every line; the colours are no part of the names.
	colors := paired
	for _, l := range lines {
		if colors = colors && colorTableRow(l); !colors {
			break
		}
	}
	for i, l := range lines {
		if !paired {
			names[i] = l
			continue
		}
		k := strings.IndexAny(l, " \t,")
		lab, _ := strconv.Atoi(l[:k])
		name := strings.TrimSpace(l[k+1:])
		if colors {
			f := strings.Fields(name)
			name = strings.Join(f[:len(f)-4], " ")
		}
		if prev, dup := names[lab]; dup {
			return nil, fmt.Errorf("%s: label %d named twice (%q and %q)", path, lab, prev, name)
		}
		names[lab] = name
	}
	return names, nil
}

// colorTableRow reports whether l is a row of a FreeSurfer color table: a label, a name, and
// four colour components (red, green, blue, alpha or transparency) from 0 to 255.
func colorTableRow(l string) bool {
	f := strings.Fields(l)
	if len(f) < 6 {
		return false
	}
	for _, c := range f[len(f)-4:] {
		if v, err := strconv.Atoi(c); err != nil || v < 0 || v > 255 {
			return false
		}
	}
	return true
}
