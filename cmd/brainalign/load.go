package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/brainalign/brainalign/array"
	"github.com/brainalign/brainalign/ceiling"
	"github.com/brainalign/brainalign/engine"
	"github.com/brainalign/brainalign/internal/textlist"
	"github.com/brainalign/brainalign/sweep"
)

// input is a matrix read from a file, with what is needed to report on it and release it.
type input struct {
	path   string
	member string // member of an .npz/.safetensors bundle, "" for .npy
	shape  []int  // the array's shape as stored (rows first)
	dtype  string
	m      engine.Matrix
	arrs   []*array.Array
	geo    *array.Geometry // NIfTI or MGH input: its space, for writing results as volumes
	mask   *targetMask     // --brain-mask: m holds the masked targets only
	// targets, set while a mask is applied to an input not yet read (loadBrainMasked), reads the
	// masked targets: m has the data's size but no values
	targets func(cols []int) (engine.Matrix, error)
	// parts are the files of brain data joined along targets (joinBrain), in order: options
	// given once per file (masks, spaces, ceilings, ROIs, coordinates) are checked against them
	// (checkPart).
	parts []inputInfo
	// partWhole, with one mask per joined file, are the masks' sizes: each file's whole space,
	// which metadata may be given over when the files hold the masked targets only.
	partWhole []int
	// ids, for files joined with --brain-ids of their own, are the rows' stimulus ids (the first
	// file's order, which joinBrain put the others' rows in)
	ids []string
}

// targetShape is the shape of the targets outputs are written over: the trailing axes as stored,
// or the mask's.
func (in *input) targetShape() []int {
	if in.mask != nil {
		return in.mask.shape
	}
	return in.shape[1:]
}

// full expands values over the scored targets (blocks of m's columns) to the target shape: NaN
// outside a mask; as they are without one.
func (in *input) full(values []float64) []float64 {
	if in.mask == nil {
		return values
	}
	return in.mask.expand(values)
}

func (in *input) close() { array.CloseAll(in.arrs) }

// release lets go of the arrays as read, once in.m is a copy of what is used (the masked
// targets): a decoded NIfTI or HDF5 file's whole data are then freed before the work starts, and a
// mapped file's pages unmapped.
func (in *input) release() {
	array.CloseAll(in.arrs)
	in.arrs = nil
}

// partPaths are the joined files' paths (nil for one file).
func (in *input) partPaths() []string {
	var paths []string
	for _, p := range in.parts {
		paths = append(paths, p.Path)
	}
	return paths
}

// partSize is the number of targets of joined file i.
func (in *input) partSize(i int) int {
	n := 1
	for _, d := range in.parts[i].Shape[1:] {
		n *= d
	}
	return n
}

// targetParts returns the parts of in's targets joined from several files (hemispheres), in
// order, each with its number of targets after the mask; nil for one file, or where a single
// mask over files that hold the masked targets only leaves the parts' ranges unknown.
func (in *input) targetParts() []sweep.TargetPart {
	if len(in.parts) < 2 {
		return nil
	}
	names := array.PartNames(in.partPaths())
	if g := in.geo; g != nil && len(g.Parts) == len(in.parts) {
		for i, p := range g.Parts {
			names[i] = p.Name
		}
	}
	ends := make([]int, len(in.parts)) // each part's end among the targets the mask is over
	for i := range in.parts {
		ends[i] = in.partSize(i)
		if in.partWhole != nil {
			ends[i] = in.partWhole[i]
		}
		if i > 0 {
			ends[i] += ends[i-1]
		}
	}
	parts := make([]sweep.TargetPart, len(in.parts))
	for i := range parts {
		parts[i] = sweep.TargetPart{Name: names[i], Targets: in.partSize(i)}
	}
	if in.mask == nil {
		return parts
	}
	if in.mask.size() != ends[len(ends)-1] {
		return nil
	}
	for i := range parts {
		parts[i].Targets = 0
	}
	i := 0
	for _, c := range in.mask.cols { // ascending
		for c >= ends[i] {
			i++
		}
		parts[i].Targets++
	}
	return parts
}

// dropData lets go of the matrix's values, keeping its size: once the rows in use are copied,
// a copy of all rows (brain files joined, or a mask's columns) would otherwise stay in memory
// for the whole run beside them.
func (in *input) dropData() { in.m = engine.Matrix{Rows: in.m.Rows, Cols: in.m.Cols, Name: in.m.Name} }

// name is how errors and summaries refer to the input.
func (in *input) name() string {
	if in.parts != nil { // which targets are whose: an error's column is then placed
		var parts []string
		c0 := 0
		for i, p := range in.parts {
			parts = append(parts, fmt.Sprintf("%s (targets %d-%d)", p.Path, c0, c0+in.partSize(i)-1))
			c0 += in.partSize(i)
		}
		return strings.Join(parts, " + ")
	}
	if in.member != "" {
		return in.path + ":" + in.member
	}
	return in.path
}

// loadMatrix reads an array of numbers (the member named member of a bundle, or its only one) as a
// matrix with rows first and the other axes flattened in C order; memberFlag is the flag that
// names a member, for errors.
func loadMatrix(path, member, memberFlag string) (*input, error) {
	f, in, member, err := openMember(path, member, memberFlag)
	if err != nil {
		return nil, err
	}
	defer f.Close() // the array read keeps its own hold on the file's map
	a, err := f.Read(member)
	if err != nil {
		return nil, err
	}
	in.arrs = []*array.Array{a}
	m, err := a.Matrix()
	if err != nil {
		in.close()
		if in.member != "" { // the array's name alone would not say which file
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return nil, err
	}
	m.Shape = a.Shape
	in.m, in.shape, in.dtype, in.geo = m, a.Shape, a.DType, a.Geometry
	if a.F32 == nil && a.F64 == nil {
		// integers, which m holds converted: the stored copy (a map's pages, or memory when
		// the file could not be mapped in place) is not needed any more
		in.release()
	}
	return in, nil
}

// openMember opens an array file and finds the array to read: the member named member of a
// bundle, or its only one (memberFlag names a member in errors). It returns the file, open, an
// input for it without data, and the array's name in the file.
func openMember(path, member, memberFlag string) (*array.File, *input, string, error) {
	// Open reads headers only: of a bundle, only the array used is read (decompressed), and a
	// corrupt member elsewhere does not matter.
	f, err := array.Open(path)
	if err != nil {
		return nil, nil, "", err
	}
	fail := func(err error) (*array.File, *input, string, error) {
		f.Close()
		return nil, nil, "", err
	}
	names := f.Names()
	in := &input{path: path}
	switch {
	case member != "":
		if f.Lookup(member) == nil {
			if _, err := f.Read(member); err != nil && !strings.Contains(err.Error(), "no array named") {
				return fail(err) // a member that is not an array (meta.json) says so
			}
			if strings.HasSuffix(path, ".npy") {
				return fail(fmt.Errorf("%s: a .npy file holds one array: %s %q names an array inside a bundle (.npz, .safetensors, HDF5); leave it out", path, memberFlag, member))
			}
			return fail(fmt.Errorf("%s: no array named %q (have %s)", path, member, memberNames(names)))
		}
		in.member = member
	case len(names) == 1:
		member = names[0]
		if !strings.HasSuffix(path, ".npy") && !array.IsNeuro(path) && !array.IsFIF(path) {
			in.member = member
		}
	case len(names) == 0:
		return fail(fmt.Errorf("%s: holds no array", path))
	default:
		return fail(fmt.Errorf("%s: holds %d arrays (%s); name one with %s", path, len(names), memberNames(names), memberFlag))
	}
	return f, in, member, nil
}

// loadBrain is loadMatrix for brain data: at least 2-d (images x targets, images x channels x
// times, or images x a volume's axes: every element after the first axis is a target, and the
// scores keep those axes' shape). A bundle with several arrays needs member (--brain-array).
func loadBrain(path, member string) (*input, error) {
	in, err := loadMatrix(path, member, "--brain-array")
	if err != nil {
		return nil, err
	}
	if len(in.shape) < 2 {
		in.close()
		return nil, fmt.Errorf("%s: brain data must have images on the first axis and targets on the others (images x targets, or images x channels x times), got shape %v", in.name(), in.shape)
	}
	if g := in.geo; g != nil && (g.Format == "nifti1" || g.Format == "nifti2" || g.Format == "mgh") && len(in.shape) < 4 {
		// read as images x (y, z), the volume's x axis would be taken for the images
		in.close()
		return nil, fmt.Errorf("%s: one volume of %s voxels (no time axis): brain data in a NIfTI or MGH file are volumes x time or frames, 4-d (x, y, z, images)", in.name(), array.ShapeString(g.Spatial))
	}
	return in, nil
}

// loadBrainFiles is loadBrain for one file, and joinBrain for several. idSpecs are --brain-ids:
// none, one for all rows, or one per file (joinBrain then puts every file's rows in the first's
// order of ids).
func loadBrainFiles(paths []string, member string, idSpecs []string) (*input, error) {
	if len(idSpecs) > 1 && len(idSpecs) != len(paths) {
		return nil, usageError("--brain-ids %d times for %d --brain files: give one for all the rows, or one per --brain file, in their order", len(idSpecs), len(paths))
	}
	if len(paths) == 1 {
		return loadBrain(paths[0], member)
	}
	return joinBrain(paths, member, idSpecs)
}

// brainIDs returns the stimulus ids of in's rows (--brain-ids; nil without): read from the one
// source given, or for files joined with ids of their own, the first file's (joinBrain has put
// the others' rows in its order). One source for files joined from folders that hold
// brainalign ceiling's averaged_ids.txt in other orders (a ceiling run per hemisphere) is
// refused: the hemispheres' rows would be other stimuli's.
func (in *input) brainIDs(specs []string) ([]string, error) {
	switch {
	case len(specs) == 0:
		return nil, nil
	case in.ids != nil:
		return in.ids, nil
	}
	ids, err := readBrainIDs(specs[0])
	if err != nil || len(in.parts) < 2 {
		return ids, err
	}
	var first []string
	for i, part := range in.partPaths() {
		own := filepath.Join(filepath.Dir(part), "averaged_ids.txt")
		theirs, err := readIDs(own)
		if err != nil {
			return ids, nil // not ceiling's folders: the rows are taken to be in the same order
		}
		if i == 0 {
			first = theirs
		} else if !slices.Equal(first, theirs) {
			return nil, fmt.Errorf("--brain-ids %s for all of %s, but %s and %s list their rows in other orders: give --brain-ids once per --brain file (each one's averaged_ids.txt), in their order",
				specs[0], in.name(), filepath.Join(filepath.Dir(in.partPaths()[0]), "averaged_ids.txt"), own)
		}
	}
	return ids, nil
}

// idsOrder returns, for brain files joined with ids of their own, where each of the first
// file's ids is among another file's rows: order[r] is the row of the other file for row r of
// the first. Both must hold the same stimuli.
func idsOrder(first, other []string, firstSpec, otherSpec string) ([]int, error) {
	at := make(map[string]int, len(other))
	for r, id := range other {
		at[id] = r
	}
	order := make([]int, len(first))
	var missing []string
	for r, id := range first {
		j, ok := at[id]
		if !ok {
			missing = append(missing, id)
		}
		order[r] = j
	}
	if len(missing) > 0 || len(first) != len(other) {
		return nil, fmt.Errorf("--brain-ids %s and %s: %d and %d ids, %d of the first's missing from the second (%s): brain files joined along targets must hold the same stimuli",
			firstSpec, otherSpec, len(first), len(other), len(missing), textlist.Some(missing, 5))
	}
	return order, nil
}

// joinBrain reads brain data split across files of the same rows, such as a surface's two
// hemispheres (lh.betas.mgh, rh.betas.mgh), as one matrix whose targets are the first file's
// (flattened in C order), then the second's, and so on: a copy in memory, float32 unless a file
// holds float64. Its space, when every file has one, joins theirs (array.Join), so that results
// are written one file per hemisphere.
func joinBrain(paths []string, member string, idSpecs []string) (*input, error) {
	var parts []*input
	defer func() {
		for _, p := range parts {
			p.close()
		}
	}()
	for i, path := range paths {
		for _, prev := range paths[:i] {
			if samePath(prev, path) {
				return nil, fmt.Errorf("--brain %s given twice: files joined along targets are different parts (hemispheres) of the same rows", path)
			}
		}
	}
	if err := array.CheckParts(paths, make([]*array.Geometry, len(paths))); err != nil { // by name, before reading
		return nil, err
	}
	cols, is64 := 0, false
	var geos, spaces []*array.Geometry // spaces: each file's, nil where it has none
	for _, path := range paths {
		p, err := loadBrain(path, member)
		if err != nil {
			return nil, err
		}
		parts = append(parts, p)
		if first := parts[0]; p.m.Rows != first.m.Rows {
			return nil, fmt.Errorf("%s has %d rows, %s %d: brain files joined along targets (hemispheres) must have the same rows", first.name(), first.m.Rows, p.name(), p.m.Rows)
		}
		cols += p.m.Cols
		is64 = is64 || p.m.Is64()
		if p.geo != nil && slices.Equal(p.shape[1:], p.geo.Spatial) {
			geos = append(geos, p.geo)
		}
		spaces = append(spaces, p.geo)
	}
	if err := array.CheckParts(paths, spaces); err != nil { // and by GIFTI metadata
		return nil, err
	}
	in := &input{path: strings.Join(paths, " + "), shape: []int{parts[0].m.Rows, cols}, dtype: "float32", member: member}
	rows := in.shape[0]
	// with ids of each file's own, the order of each file's rows that is the first's
	orders := make([][]int, len(parts))
	if len(idSpecs) == len(paths) {
		for i, spec := range idSpecs {
			ids, err := readBrainIDs(spec)
			if err != nil {
				return nil, err
			}
			if len(ids) != rows {
				return nil, fmt.Errorf("%s: %d ids for the %d rows of %s", spec, len(ids), rows, paths[i])
			}
			if i == 0 {
				in.ids = ids
			} else if orders[i], err = idsOrder(in.ids, ids, idSpecs[0], spec); err != nil {
				return nil, err
			}
		}
	}
	if is64 {
		in.dtype, in.m = "float64", engine.NewMatrix64(rows, cols, make([]float64, rows*cols))
	} else {
		in.m = engine.NewMatrix32(rows, cols, make([]float32, rows*cols))
	}
	// copied in blocks of rows, so that no second copy of a part is made
	const block = 64
	idx := make([]int, 0, block)
	c0 := 0
	for i, p := range parts {
		w := p.m.Cols
		var buf32 []float32
		var buf64 []float64
		for r0 := 0; r0 < rows; r0 += block {
			idx = idx[:0] // the rows of the part to copy into rows r0, r0+1, ...
			for r := r0; r < min(r0+block, rows); r++ {
				if orders[i] != nil {
					idx = append(idx, orders[i][r])
				} else {
					idx = append(idx, r)
				}
			}
			if is64 {
				buf64 = slices.Grow(buf64[:0], len(idx)*w)[:len(idx)*w]
				p.m.GatherCols64(idx, 0, w, buf64)
				for k := range idx {
					r := r0 + k
					copy(in.m.F64[r*cols+c0:r*cols+c0+w], buf64[k*w:(k+1)*w])
				}
			} else {
				buf32 = slices.Grow(buf32[:0], len(idx)*w)[:len(idx)*w]
				p.m.GatherCols32(idx, 0, w, buf32)
				for k := range idx {
					r := r0 + k
					copy(in.m.F32[r*cols+c0:r*cols+c0+w], buf32[k*w:(k+1)*w])
				}
			}
		}
		c0 += w
		in.parts = append(in.parts, infoOf(p))
		p.close() // its memory is free for the next
		p.arrs = nil
	}
	in.m.Shape = in.shape
	if len(geos) == len(parts) {
		g, err := array.Join(paths, geos)
		if err != nil {
			return nil, err
		}
		in.geo = g
	}
	return in, nil
}

// checkParts checks that paths, files given to --flag for brain data joined from several files,
// are one per brain file or one over all the targets; with one per file, checkPart is then
// called for each.
func (in *input) checkParts(flag string, paths []string) error {
	if len(in.parts) == 0 || len(paths) <= 1 || len(paths) == len(in.parts) {
		return nil
	}
	return fmt.Errorf("--%s: %d files for brain data joined from %d (%s): give one per --brain file, in their order, or one over all the targets",
		flag, len(paths), len(in.parts), strings.Join(in.partPaths(), ", "))
}

// checkPart checks that path, the i-th of the files given to --flag once per brain file, is for
// the i-th brain file: the same number of targets (n), and the same hemisphere when both files'
// names say one (lh./rh., hemi-L/hemi-R).
func (in *input) checkPart(flag string, paths []string, i, n int) error {
	if len(in.parts) == 0 || len(paths) != len(in.parts) {
		return nil
	}
	brain := array.PartNames(in.partPaths())[i]
	if g := in.geo; g != nil && len(g.Parts) == len(in.parts) {
		brain = g.Parts[i].Name // with the hemispheres GIFTI files' metadata say
	}
	given, err := array.FileHemisphere(paths[i]) // by name, or a GIFTI file's metadata
	if err != nil {
		return fmt.Errorf("--%s: %w", flag, err)
	}
	if array.OtherHemisphere(brain, given) {
		return fmt.Errorf("--%s %s is for %s, but the brain file in its place is %s (%s): give them in the order of the --brain files", flag, paths[i], given, in.parts[i].Path, brain)
	}
	if n != in.partSize(i) && (in.partWhole == nil || n != in.partWhole[i]) {
		return fmt.Errorf("--%s %s: %d targets, but brain file %d, %s, has %d: give one per --brain file, in their order", flag, paths[i], n, i+1, in.parts[i].Path, in.partSize(i))
	}
	return nil
}

// spaceNames are the file names a space joined from files given once per brain file is named
// after: the brain files' when they say which hemisphere each is, so that results are
// lh.scores.mgz and rh.scores.mgz whatever the masks' or spaces' own names; else the files'.
func (in *input) spaceNames(paths []string) []string {
	if len(in.parts) == len(paths) && array.IsHemisphere(array.PartNames(in.partPaths())[0]) {
		return in.partPaths()
	}
	return paths
}

// volumeSpace is the space in which results over the targets of brain data y are also written
// as volumes: that of --space (a NIfTI, MGH, CIFTI or GIFTI file whose voxels, vertices or
// grayordinates are y's targets, shaped as them or flattened in C order over x, y, z; several
// such files, hemispheres, whose targets follow one another), or else of y itself when it was
// read from NIfTI or MGH files with a time axis or a CIFTI file over grayordinates; nil for
// neither.
func volumeSpace(spaces []string, y *input) (*array.Geometry, error) {
	trailing := y.targetShape()
	if len(spaces) == 0 {
		if g := y.geo; g != nil && slices.Equal(trailing, g.Spatial) { // a volume's axes, or a CIFTI file's grayordinates
			return g, nil
		}
		return nil, nil
	}
	if err := y.checkParts("space", spaces); err != nil {
		return nil, err
	}
	var geos []*array.Geometry
	for i, space := range spaces {
		g, err := array.ReadGeometry(space)
		if err != nil {
			return nil, err
		}
		if err := y.checkPart("space", spaces, i, g.Targets()); err != nil {
			return nil, err
		}
		geos = append(geos, g)
	}
	g := geos[0]
	if len(geos) > 1 {
		var err error
		if g, err = array.Join(y.spaceNames(spaces), geos); err != nil {
			return nil, err
		}
	}
	n := 1
	for _, d := range trailing {
		n *= d
	}
	if n != g.Targets() || len(trailing) > 1 && !slices.Equal(trailing, g.Spatial) {
		return nil, fmt.Errorf("--space %s: a space of %s voxels or vertices, but %s's targets are shaped %s%s",
			strings.Join(spaces, " + "), array.ShapeString(g.Spatial), y.name(), array.ShapeString(trailing), array.ReversedNote(g.Spatial, trailing))
	}
	if y.geo != nil && y.geo.Targets() == g.Targets() {
		if err := array.SameGrid(g, y.geo); err != nil {
			return nil, offGrid("space", strings.Join(spaces, " + "), y.name(), g, err)
		}
	}
	return g, nil
}

// writeVolumes writes results over the targets as files of g's format in its space (NAME.nii.gz,
// NAME.mgz or NAME.dscalar.nii, for viewers; lh.NAME.mgz and rh.NAME.mgz for hemispheres
// joined), one per named array, each by put, returning the file names; nothing when g is nil.
func writeVolumes(g *array.Geometry, put putFile, arrays map[string][]float64) ([]string, error) {
	if g == nil {
		return nil, nil
	}
	var names []string
	for name := range arrays {
		names = append(names, name)
	}
	slices.Sort(names)
	var files []string
	for _, name := range names {
		fs, err := array.WriteNamed(g, name, arrays[name], put)
		if err != nil {
			return nil, err
		}
		files = append(files, fs...)
	}
	return files, nil
}

// loadFeatures is loadMatrix for activations, which must be 2-d (images x features): a 1-d or
// 3-d array (tokens not pooled) is more likely a mistake than a layout to guess. memberFlag says
// in errors how a member is named on the command line.
func loadFeatures(path, member, memberFlag string) (*input, error) {
	in, err := loadMatrix(path, member, memberFlag)
	if err != nil {
		return nil, err
	}
	if len(in.shape) != 2 {
		in.close()
		return nil, fmt.Errorf("%s: features must be 2-d (images x features), got shape %v; pool or flatten other axes first", in.name(), in.shape)
	}
	return in, nil
}

func memberNames(all []string) string { return textlist.Some(all, 8) }

// readIDs reads stimulus ids, one per line, each id once. A blank line before the last id is an
// error (it would shift rows); blank lines at the end and a UTF-8 byte-order mark are ignored;
// UTF-16 text is refused. A .npy of strings or integers (np.save of the names or image indices)
// is read too (readNPYIDs).
func readIDs(path string) ([]string, error) { return readIDLines(path, false) }

// readBrainIDs is readIDs for the rows of brain data (--brain-ids), which may also come from an
// MNE epochs file (readEpochIDs).
func readBrainIDs(spec string) ([]string, error) {
	ids, err := readIDSource(spec, false)
	var rep *repeatedIDError
	if errors.As(err, &rep) {
		// trial-level data, as an epochs file's repeats are told (readEpochIDs)
		return nil, fmt.Errorf("%v: brain rows are one per stimulus here; average repeated trials first with brainalign ceiling --brain BRAIN --ids %s --out DIR, then give DIR/averaged.npy and DIR/averaged_ids.txt", err, spec)
	}
	return ids, err
}

// repeatedIDError is an ids file's id given on two lines, or in two elements of a .npy (elements).
type repeatedIDError struct {
	path, id    string
	line, first int
	elements    bool
}

func (e *repeatedIDError) Error() string {
	if e.elements {
		return fmt.Sprintf("%s: id %q at ids[%d] repeats ids[%d]", e.path, e.id, e.line, e.first)
	}
	return fmt.Sprintf("%s: id %q on line %d repeats line %d", e.path, e.id, e.line, e.first)
}

// readTrialIDs is readBrainIDs for trials (ceiling --ids), where an id repeats for each showing of
// its stimulus.
func readTrialIDs(spec string) ([]string, error) { return readIDSource(spec, true) }

func readIDSource(spec string, repeats bool) ([]string, error) {
	path, column, fif := idSpec(spec)
	switch {
	case !fif:
		return readIDLines(path, repeats)
	case column == "" && path != spec:
		return nil, fmt.Errorf("%s: name a column of the epochs' metadata after the colon, or give the file alone for the event names", spec)
	}
	return readEpochIDs(path, column, repeats)
}

// idSpec splits an ids argument: an MNE epochs file (.fif, .fif.gz) alone, for its event names,
// or FILE:COLUMN, for a column of its metadata (the column may hold colons); anything else is an
// ids file of lines.
func idSpec(spec string) (path, column string, fif bool) {
	if array.IsFIF(spec) {
		return spec, "", true
	}
	for i := range len(spec) {
		if spec[i] == ':' && array.IsFIF(spec[:i]) {
			return spec[:i], spec[i+1:], true
		}
	}
	return spec, "", false
}

// checkEpochsSource refuses ids or group labels (spec, given to --flag) taken from an MNE epochs
// file other than brain, an epochs file, when its epochs are not brain's (another participant's
// file, whose epochs may be as many): the rows would be named after other trials. Anything else
// is not checked (ids files, brain data of other formats).
func checkEpochsSource(flag, spec, brain string) error {
	file, _, fif := idSpec(spec)
	if !fif || !array.IsFIF(brain) || samePath(file, brain) {
		return nil
	}
	a, err := array.FIFEvents(file)
	if err != nil {
		return err
	}
	b, err := array.FIFEvents(brain)
	if err != nil {
		return fmt.Errorf("--%s %s: the epochs of %s cannot be compared with its own: %w", flag, spec, brain, err)
	}
	if same, at := a.SameEpochs(b); !same {
		where := fmt.Sprintf("%d epochs, %d", len(a.Codes), len(b.Codes))
		if at >= 0 {
			where = fmt.Sprintf("epochs[%d] is event %d at sample %d in one, %d at sample %d in the other", at, a.Codes[at], a.Samples[at], b.Codes[at], b.Samples[at])
		}
		return fmt.Errorf("--%s %s: its epochs are not those of %s (%s): give the ids of the --brain file's own epochs", flag, spec, brain, where)
	}
	return nil
}

// checkBrainEpochs is checkEpochsSource for --brain-ids (one per --brain file, or one for one)
// and --groups and --test-fold of encode, sweep and universal.
func checkBrainEpochs(c *cli.Context) error {
	brains, ids := c.StringSlice("brain"), c.StringSlice("brain-ids")
	if len(ids) == len(brains) {
		for i := range ids {
			if err := checkEpochsSource("brain-ids", ids[i], brains[i]); err != nil {
				return err
			}
		}
	}
	for _, flag := range []string{"groups", "test-fold"} {
		if g := c.String(flag); g != "" && len(brains) == 1 {
			if err := checkEpochsSource(flag, g, brains[0]); err != nil {
				return err
			}
		}
	}
	return nil
}

// idsPath is the file an ids argument reads ("" for none).
func idsPath(spec string) string {
	path, _, _ := idSpec(spec)
	return path
}

// idsPaths is idsPath of each of several ids arguments.
func idsPaths(specs []string) []string {
	out := make([]string, len(specs))
	for i, s := range specs {
		out[i] = idsPath(s)
	}
	return out
}

// readEpochIDs reads the stimulus of each epoch of an MNE epochs file (all its split parts), in
// the order of the epochs the file's data are read in: the event's name in the epochs' event_id
// mapping (its code where the mapping has no name for it), or with a column the value of the
// epochs' metadata in it. Surrounding spaces are ignored, as on an ids file's lines; an empty id,
// one holding a line break (an ids file could not hold it) and, unless repeats, an id given to two
// epochs are errors.
func readEpochIDs(path, column string, repeats bool) ([]string, error) {
	what := path
	if column != "" {
		what = path + ":" + column
	}
	ev, err := array.FIFEvents(path)
	if err != nil {
		return nil, err
	}
	var ids []string
	if column == "" {
		ids, err = ev.Names()
	} else {
		ids, err = ev.Column(column)
	}
	if err != nil {
		return nil, err
	}
	seen := map[string]int{}
	for i, id := range ids {
		if strings.ContainsAny(id, "\r\n") {
			return nil, fmt.Errorf("%s: the id of epochs[%d], %q, holds a line break, which an ids file (averaged_ids.txt) cannot", what, i, id)
		}
		id = strings.TrimSpace(id)
		if id == "" {
			return nil, fmt.Errorf("%s: epochs[%d] has an empty id", what, i)
		}
		if prev, dup := seen[id]; dup && !repeats {
			return nil, fmt.Errorf("%s: epochs[%d] and epochs[%d] are both %q: brain rows are one per stimulus here; average repeated trials first with brainalign ceiling --brain %s --ids %s --out DIR, then give DIR/averaged.npy and DIR/averaged_ids.txt",
				what, prev, i, id, path, what)
		}
		seen[id] = i
		ids[i] = id
	}
	return ids, nil
}

// npyMagicKind is arrayMagic's name for a .npy file, which ids are read from (readNPYIDs).
const npyMagicKind = "a NumPy .npy array"

// arrayMagic names the kind of array file f starts as (a NumPy .npy, a zip such as .npz, HDF5,
// MATLAB), or returns ""; f is left at its start.
func arrayMagic(f *os.File) string {
	head := make([]byte, 10)
	n, _ := io.ReadFull(f, head)
	head = head[:n]
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return ""
	}
	switch {
	case bytes.HasPrefix(head, []byte("\x93NUMPY")):
		return npyMagicKind
	case bytes.HasPrefix(head, []byte("PK\x03\x04")):
		return "a zip archive (.npz?)"
	case bytes.HasPrefix(head, []byte("\x89HDF\r\n\x1a\n")):
		return "an HDF5 file"
	case bytes.HasPrefix(head, []byte("MATLAB ")):
		return "a MATLAB file"
	}
	return ""
}

func readIDLines(path string, repeats bool) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	switch kind := arrayMagic(f); kind {
	case "":
	case npyMagicKind:
		return readNPYIDs(path, repeats)
	default:
		return nil, fmt.Errorf("%s: %s, not text: stimulus ids are read from text, one per line (from numpy: np.savetxt(path, ids, fmt=\"%%s\")), or from a .npy of strings or integers (np.save(path, np.array(ids, dtype=str)))", path, kind)
	}
	var ids []string
	seen := map[string]int{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	blank := 0 // the first blank line since the last id
	for line := 1; sc.Scan(); line++ {
		text := sc.Text()
		if line == 1 {
			if strings.HasPrefix(text, "\xff\xfe") || strings.HasPrefix(text, "\xfe\xff") {
				return nil, fmt.Errorf("%s: UTF-16 text (as PowerShell's Out-File and > write it): save it as UTF-8, one stimulus id per line", path)
			}
			text = strings.TrimPrefix(text, "\ufeff")
		}
		// UTF-16 without a byte-order mark, or not text: ids of NUL bytes would pair wrongly
		if strings.IndexByte(text, 0) >= 0 {
			return nil, fmt.Errorf("%s: line %d holds a NUL byte: not UTF-8 text (UTF-16?); save it as UTF-8, one stimulus id per line", path, line)
		}
		id := strings.TrimSpace(text)
		if id == "" {
			if blank == 0 {
				blank = line
			}
			continue
		}
		if blank != 0 {
			return nil, fmt.Errorf("%s: line %d is empty (one stimulus id per line)", path, blank)
		}
		if prev, dup := seen[id]; dup && !repeats {
			return nil, &repeatedIDError{path: path, id: id, line: line, first: prev}
		}
		seen[id] = line
		ids = append(ids, id)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	return ids, nil
}

// readNPYIDs is readIDLines of a .npy of ids (array.ReadNPYIDs: strings, or integers in
// decimal), checked as lines are: surrounding spaces trimmed, an empty id refused (a text file's
// blank line would shift rows; here it names no stimulus), and an id holding a line break or a
// NUL byte, which an ids file (averaged_ids.txt, written from them) cannot hold.
func readNPYIDs(path string, repeats bool) ([]string, error) {
	ids, err := array.ReadNPYIDs(path)
	if err != nil {
		return nil, err
	}
	seen := make(map[string]int, len(ids))
	for i, id := range ids {
		if strings.ContainsAny(id, "\r\n\x00") {
			return nil, fmt.Errorf("%s: ids[%d], %q, holds a line break or a NUL byte, which an ids file (averaged_ids.txt) cannot", path, i, id)
		}
		id = strings.TrimSpace(id)
		if id == "" {
			return nil, fmt.Errorf("%s: ids[%d] is empty (%q): every row needs a stimulus id", path, i, ids[i])
		}
		if prev, dup := seen[id]; dup && !repeats {
			return nil, &repeatedIDError{path: path, id: id, line: i, first: prev, elements: true}
		}
		seen[id] = i
		ids[i] = id
	}
	return ids, nil
}

// idMatch is the outcome of matching rows by stimulus id.
type idMatch struct {
	xRows, yRows      []int    // matched rows, in the brain data's order (yRows ascending)
	unmatchedFeatures []string // ids only in the features
	unmatchedBrain    []string // ids only in the brain data
}

// matchIDs pairs the rows of X and Y that show the same stimulus, in the brain data's order: the
// brain file's rows follow the experiment (sessions, runs), so contiguous folds over them keep a
// session's images together, as they would without ids, and --groups is per brain-file row.
func matchIDs(xIDs, yIDs []string) idMatch {
	pos := map[string]int{}
	for i, id := range xIDs {
		pos[id] = i
	}
	var mt idMatch
	used := make([]bool, len(xIDs))
	for j, id := range yIDs {
		if i, ok := pos[id]; ok {
			mt.xRows = append(mt.xRows, i)
			mt.yRows = append(mt.yRows, j)
			used[i] = true
		} else {
			mt.unmatchedBrain = append(mt.unmatchedBrain, id)
		}
	}
	for i, id := range xIDs {
		if !used[i] {
			mt.unmatchedFeatures = append(mt.unmatchedFeatures, id)
		}
	}
	return mt
}

// matchEvery pairs the rows of several sets of features (their ids xIDs) with the brain rows (ids
// yIDs): the brain rows whose id every set has, in the brain data's order, and for each set its
// rows of those ids. matches are the sets' own matches (their ids left out), missing the brain
// ids left out (not in every set).
func matchEvery(xIDs [][]string, yIDs []string) (brainRows []int, rows [][]int, matches []idMatch, missing []string) {
	keep := make([]bool, len(yIDs))
	for i := range keep {
		keep[i] = true
	}
	matches = make([]idMatch, len(xIDs))
	for k, ids := range xIDs {
		matches[k] = matchIDs(ids, yIDs)
		has := make([]bool, len(yIDs))
		for _, j := range matches[k].yRows {
			has[j] = true
		}
		for j := range keep {
			keep[j] = keep[j] && has[j]
		}
	}
	for j, ok := range keep {
		if ok {
			brainRows = append(brainRows, j)
		} else {
			missing = append(missing, yIDs[j])
		}
	}
	rows = make([][]int, len(xIDs))
	for k, mt := range matches {
		xRow := map[int]int{} // brain row -> the set's row
		for i, j := range mt.yRows {
			xRow[j] = mt.xRows[i]
		}
		rows[k] = make([]int, len(brainRows))
		for i, j := range brainRows {
			rows[k][i] = xRow[j]
		}
	}
	return brainRows, rows, matches, missing
}

// reportUnmatched tells the user which ids were left out; never silent.
func reportUnmatched(w io.Writer, what string, ids []string) {
	if len(ids) == 0 {
		return
	}
	show := ids[:min(5, len(ids))]
	fmt.Fprintf(w, "brainalign: warning: %d stimulus ids only in the %s were left out: %s", len(ids), what, strings.Join(show, ", "))
	if len(ids) > len(show) {
		fmt.Fprint(w, ", ...")
	}
	fmt.Fprintln(w)
}

// subsetRows copies the given rows of m into a new row-major matrix of the same precision.
func subsetRows(m engine.Matrix, rows []int) engine.Matrix {
	if m.Is64() {
		out := make([]float64, len(rows)*m.Cols)
		m.GatherCols64(rows, 0, m.Cols, out)
		return engine.NewMatrix64(len(rows), m.Cols, out)
	}
	out := make([]float32, len(rows)*m.Cols)
	m.GatherCols32(rows, 0, m.Cols, out)
	return engine.NewMatrix32(len(rows), m.Cols, out)
}

// loadCeilings reads the noise ceilings (brainalign ceiling's ceiling.npy) of brain data y whose
// targets are shaped targets: one file of the same shape or flat with as many values, or for
// brain data joined from several files (hemispheres: brainalign ceiling run on each), one per
// brain file, in their order. NaN (no ceiling) is kept and treated as below the floor.
func loadCeilings(paths []string, targets []int, y *input) ([]float64, error) {
	if err := y.checkParts("ceiling", paths); err != nil {
		return nil, err
	}
	values, shape, sizes, err := ceiling.Read(paths...)
	if err != nil {
		return nil, err
	}
	if len(paths) > 1 {
		for i := range paths {
			if err := y.checkPart("ceiling", paths, i, sizes[i]); err != nil {
				return nil, err
			}
		}
	}
	n := 1
	for _, d := range targets {
		n *= d
	}
	if len(values) != n || len(shape) != 1 && !slices.Equal(shape, targets) {
		return nil, fmt.Errorf("--ceiling %s: shape %s, but the brain data's targets are shaped %s", strings.Join(paths, " + "), array.ShapeString(shape), array.ShapeString(targets))
	}
	return values, nil
}

// readOneArray reads a file that must hold one array (want says what, for the error).
func readOneArray(path, want string) (*array.Array, error) {
	arrs, err := array.Read(path)
	if err != nil {
		return nil, err
	}
	if len(arrs) != 1 {
		array.CloseAll(arrs)
		return nil, fmt.Errorf("%s: holds %d arrays, want %s", path, len(arrs), want)
	}
	return arrs[0], nil
}

// brainIDsFlag is --brain-ids of encode, sweep and universal.
func brainIDsFlag() cli.Flag {
	return &cli.StringSliceFlag{Name: "brain-ids", Usage: "stimulus ids of the brain rows, one per `FILE` line, or a .npy of strings or integers (np.save of the names or image indices); or an MNE epochs file's event names (x-epo.fif) or metadata column (x-epo.fif:COLUMN); for several --brain files one for all, or one per file (each file's rows matched by its own ids: ceil/lh/averaged_ids.txt, ceil/rh/averaged_ids.txt)"}
}

// brainArrayFlag names the array of a bundle or HDF5 file that --brain reads.
func brainArrayFlag() cli.Flag {
	return &cli.StringFlag{Name: "brain-array", Usage: "array `NAME` inside an .npz, .safetensors or HDF5 brain file (an HDF5 dataset by its path, group/data)"}
}

// brainFlag is --brain of encode and sweep: one file, or several joined along targets.
func brainFlag(required bool) cli.Flag {
	return &cli.StringSliceFlag{Name: "brain", Aliases: []string{"y"}, Required: required,
		Usage: "brain data `Y.npy` (n x targets, or n x channels x times); repeat for data split across files of the same rows, joined along targets in order (a surface's hemispheres: lh.betas.mgh, then rh.betas.mgh)"}
}
