package main

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/brainalign/brainalign/array"
	"github.com/brainalign/brainalign/engine"
)

// targetMask is --brain-mask: which targets of the brain file are scored. Outputs over targets
// are written in the mask's shape (the brain file's targets), NaN outside it.
type targetMask struct {
	path  string
	shape []int           // the brain file's targets (the mask's shape)
	cols  []int           // the targets kept, in C order
	geo   *array.Geometry // the mask file's space, when it is a NIfTI or MGH file
}

// brainMaskFlag is --brain-mask; elsewhere says what the command's outputs hold outside the
// mask.
func brainMaskFlag(elsewhere string) cli.Flag {
	return maskFlag(elsewhere, "Repeat for brain data joined from several files (lh, rh), one mask each, in the same order")
}

// trialsMaskFlag is ceiling's --brain-mask: its --brain files are trials of the same targets,
// so one mask serves them all.
func trialsMaskFlag(elsewhere string) cli.Flag {
	return maskFlag(elsewhere, "One mask for all the --brain files (trials or sessions of the same targets)")
}

func maskFlag(elsewhere, repeat string) cli.Flag {
	return &cli.StringSliceFlag{Name: "brain-mask", Usage: "score only the targets where `MASK` (a NIfTI/MGH volume, CIFTI map or .npy of the targets' shape) is nonzero; " + elsewhere + ". Brain data with one column per masked target are taken as already masked. " + repeat}
}

// readMask reads a mask file: nonzero (and not NaN) elements are kept.
func readMask(path string) (*targetMask, error) {
	a, err := readOneArray(path, "one mask")
	if err != nil {
		return nil, err
	}
	defer a.Close()
	mk := &targetMask{path: path, shape: a.Shape, geo: a.Geometry}
	if g := a.Geometry; g != nil && g.OfMaps() {
		if a.Shape[0] != 1 {
			return nil, fmt.Errorf("%s: a %s mask of %d maps: want one", path, strings.ToUpper(g.Format), a.Shape[0])
		}
		mk.shape = g.Spatial // one map over the grayordinates or vertices
	} else if a.OneFrame() {
		mk.shape = a.Geometry.Spatial
	}
	buf := make([]float64, 1<<14) // the values of any dtype, a piece at a time
	for from := 0; from < a.Size(); {
		k := a.Float64s(from, buf)
		if k == 0 {
			return nil, fmt.Errorf("%s: array has no data", path)
		}
		for i, v := range buf[:k] {
			if v != 0 && !math.IsNaN(v) {
				mk.cols = append(mk.cols, from+i)
			}
		}
		from += k
	}
	if len(mk.cols) == 0 {
		return nil, fmt.Errorf("%s: the mask selects no target (every value is 0)", path)
	}
	if a.Fortran && len(a.Shape) > 1 {
		// read in the order stored, first axis fastest (np.save of nibabel's get_fdata(), a
		// MATLAB array); the targets are numbered in C order, as np.flatnonzero(mask) numbers them
		mk.cols = cOrderIndices(mk.cols, a.Shape)
	}
	return mk, nil
}

// cOrderIndices maps ascending flat indices into an array of the given shape stored in Fortran
// order to the same elements' flat indices in C order, sorted.
func cOrderIndices(fortran, shape []int) []int {
	out := make([]int, 0, len(fortran))
	for f, c := range array.FortranToCIndices(shape) {
		if len(out) == len(fortran) {
			break
		}
		if f == fortran[len(out)] {
			out = append(out, c)
		}
	}
	slices.Sort(out)
	return out
}

// size is the number of targets of the brain file the mask is for.
func (mk *targetMask) size() int {
	n := 1
	for _, d := range mk.shape {
		n *= d
	}
	return n
}

// apply keeps y's masked targets: y's matrix becomes the masked columns (a copy), unless y holds
// one column per masked target already. y's outputs are then written over the mask's shape
// (input.targetShape), in the mask's space when it has one.
func (mk *targetMask) apply(y *input) error {
	trailing := y.shape[1:]
	switch y.m.Cols {
	case mk.size():
		if len(trailing) > 1 && len(mk.shape) > 1 && !slices.Equal(trailing, mk.shape) {
			return fmt.Errorf("--brain-mask %s: shaped %s, but %s's targets are shaped %s%s", mk.path,
				array.ShapeString(mk.shape), y.name(), array.ShapeString(trailing), array.ReversedNote(mk.shape, trailing))
		}
		if len(mk.shape) == 1 && len(trailing) > 1 {
			// a flat mask over the targets in C order: the outputs keep the brain data's shape
			// (channels x times, a volume's axes) and space
			mk.shape, mk.geo = slices.Clone(trailing), nil
		}
		var sel engine.Matrix
		if y.targets != nil {
			var err error
			if sel, err = y.targets(mk.cols); err != nil {
				return err
			}
		} else {
			sel = selectColumns(y.m, mk.cols)
		}
		sel.Shape, sel.SourceColumns = y.shape, mk.cols // errors name a value where it is in the file
		y.m = sel
		y.release()
	case len(mk.cols):
		// already masked: used as stored (a copy only for Fortran order); a CIFTI file names its
		// grayordinates, which must be those the mask selects
		if err := array.SameSelected(mk.geo, mk.cols, y.geo); err != nil {
			return fmt.Errorf("--brain-mask %s: %s has as many grayordinates as the mask selects, but other ones (%v): give a mask over its own grayordinates, or the data of the mask's", mk.path, y.name(), err)
		}
		copied := y.m.ColMajor
		y.m = selectColumns(y.m, nil)
		if copied {
			y.release()
		}
	default:
		return fmt.Errorf("--brain-mask %s: %s has %d targets, the mask %d (%d selected): want a mask of %d targets, or brain data of the %d selected (already masked)",
			mk.path, y.name(), y.m.Cols, mk.size(), len(mk.cols), y.m.Cols, len(mk.cols))
	}
	if y.geo != nil && mk.geo != nil && y.geo.Targets() == mk.geo.Targets() {
		if err := array.SameGrid(mk.geo, y.geo); err != nil {
			return offGrid("brain-mask", mk.path, y.name(), mk.geo, err)
		}
	}
	y.m.Name = y.name() + " (masked by " + mk.path + ")"
	y.mask = mk
	if mk.geo != nil && (y.geo == nil || y.geo.Targets() != mk.size()) {
		y.geo = mk.geo // the mask's space; the data's header where it is on the same grid
	}
	return nil
}

// offGrid is the error of a volume given for flag (a mask, an atlas, a ceiling map) that is not
// on the grid of the brain data (what) it is matched to voxel by voxel; g is its space.
func offGrid(flag, path, what string, g *array.Geometry, err error) error {
	if g != nil && g.Format == "cifti" {
		// as many grayordinates in another order, or other vertices: HCP's left and right swapped
		return fmt.Errorf("--%s %s does not hold the grayordinates of %s (%v): its values would be matched to other vertices or voxels; write it over the data's grayordinates (Workbench's wb_command -cifti-create-dense-from-template, or -cifti-create-parcellated-from-template for parcels, with the data as the template)", flag, path, what, err)
	}
	return fmt.Errorf("--%s %s is not on the grid of %s (%v): its voxels would be matched to other places; resample it onto the data's grid (nilearn's resample_to_img(img, data, interpolation='nearest'), or FSL's flirt -applyxfm -usesqform -interp nearestneighbour)", flag, path, what, err)
}

// checkGrids refuses volumes given for flag over a space's voxels (an atlas, a ceiling map; one
// per part of a joined space, or one for all) that are on another grid than the space's (what):
// NIfTI/MGH volumes, and CIFTI files (.dlabel.nii, .dscalar.nii) of other grayordinates.
// Files over another number of targets (the masked ones, or a vector) are left to the checks of
// their size.
func checkGrids(flag string, paths []string, space *array.Geometry, what string) error {
	if space == nil {
		return nil
	}
	for i, p := range paths {
		ref := space
		if space.Parts != nil {
			if len(paths) != len(space.Parts) {
				return nil
			}
			ref = space.Parts[i].Geometry
		}
		if !array.IsNeuro(p) {
			continue
		}
		g, err := array.ReadGeometry(p)
		if err != nil {
			return err
		}
		if g.Targets() != ref.Targets() {
			continue
		}
		if err := array.SameGrid(g, ref); err != nil {
			return offGrid(flag, p, what, g, err)
		}
	}
	return nil
}

// maskedReads lets loadBrainMasked read the masked targets only (tests turn it off to compare).
var maskedReads = true

// loadBrainMasked is loadBrain of path followed by applyMask, where the brain file is HDF5 (a
// MATLAB v7.3 .mat too) and --brain-mask one mask of its targets: only the masked targets are read
// (array.File.ReadTargets: of NSD's sessions, chunked by voxel, the chunks of the masked voxels),
// and y is what applyMask would make of the whole read. Otherwise (masked false) y is
// loadBrain's, the mask still to be applied: other formats, and a mask that does not fit the
// data (its error, as each error, then comes as it came before).
func loadBrainMasked(c *cli.Context, path, member string) (y *input, masked bool, err error) {
	masks := c.StringSlice("brain-mask")
	if !maskedReads || len(masks) != 1 || !array.IsHDF5(path) && !array.IsMAT(path) {
		y, err = loadBrain(path, member)
		return y, false, err
	}
	mk, err := readMask(masks[0])
	if err != nil { // reported by applyMask, after the data are read, as before
		y, err = loadBrain(path, member)
		return y, false, err
	}
	f, in, member, err := openMember(path, member, "--brain-array")
	if err != nil {
		return nil, false, err
	}
	defer f.Close()
	e := f.Lookup(member)
	if e == nil || e.Err != nil || len(e.Shape) < 2 || e.Shape[0] == 0 || !mk.fits(e.Shape[1:]) {
		y, err = loadBrain(path, member)
		return y, false, err
	}
	rows := e.Shape[0]
	in.shape, in.dtype = slices.Clone(e.Shape), e.DType
	in.m = engine.Matrix{Rows: rows, Cols: mk.size()}
	in.targets = func(cols []int) (engine.Matrix, error) {
		a, err := f.ReadTargets(member, cols)
		if err != nil {
			return engine.Matrix{}, err
		}
		return a.Matrix() // the array's own memory, not the file's
	}
	err = mk.apply(in)
	in.targets = nil
	if err != nil {
		return nil, true, err
	}
	return in, true, nil
}

// loadMaskedBrain checks epochs files given as ids (checkBrainEpochs), reads --brain
// (loadBrainFiles) and applies --brain-mask (applyMask), reading
// only the masked targets of one HDF5 file (loadBrainMasked).
func loadMaskedBrain(c *cli.Context) (*input, error) {
	if err := checkBrainEpochs(c); err != nil {
		return nil, err
	}
	paths, ids, member := c.StringSlice("brain"), c.StringSlice("brain-ids"), c.String("brain-array")
	var y *input
	var masked bool
	var err error
	if len(paths) == 1 && len(ids) <= 1 {
		y, masked, err = loadBrainMasked(c, paths[0], member)
	} else {
		y, err = loadBrainFiles(paths, member, ids)
	}
	if err != nil {
		return nil, err
	}
	if !masked {
		if err := applyMask(c, y); err != nil {
			y.close()
			return nil, err
		}
	}
	return y, nil
}

// fits reports whether the mask is over targets shaped trailing: as many, of the same shape
// unless one of them is flat (apply's first case, without its error).
func (mk *targetMask) fits(trailing []int) bool {
	n := 1
	for _, d := range trailing {
		n *= d
	}
	return n == mk.size() && !(len(trailing) > 1 && len(mk.shape) > 1 && !slices.Equal(trailing, mk.shape))
}

// applyMask applies --brain-mask, when given, to y.
func applyMask(c *cli.Context, y *input) error {
	paths := c.StringSlice("brain-mask")
	if len(paths) == 0 {
		return nil
	}
	mk, err := readMasks(paths, y)
	if err != nil {
		return err
	}
	return mk.apply(y)
}

// readMasks reads one mask, or joins the masks of brain data y joined from several files
// (hemispheres), one per file: their targets one after another, in the masks' joined space when
// each has one (named after y's files).
func readMasks(paths []string, y *input) (*targetMask, error) {
	if len(paths) == 1 {
		return readMask(paths[0])
	}
	if err := y.checkParts("brain-mask", paths); err != nil {
		return nil, err
	}
	joined := &targetMask{path: strings.Join(paths, " + ")}
	var geos []*array.Geometry
	total := 0
	for i, p := range paths {
		mk, err := readMask(p)
		if err != nil {
			return nil, err
		}
		n := mk.size()
		if len(y.parts) == len(paths) && len(mk.cols) == y.partSize(i) {
			n = len(mk.cols) // the brain file holds the masked targets only
		}
		if err := y.checkPart("brain-mask", paths, i, n); err != nil {
			return nil, err
		}
		if len(y.parts) == len(paths) {
			y.partWhole = append(y.partWhole, mk.size())
		}
		for _, c := range mk.cols {
			joined.cols = append(joined.cols, total+c)
		}
		total += mk.size()
		if mk.geo != nil {
			geos = append(geos, mk.geo)
		}
	}
	joined.shape = []int{total}
	if len(geos) == len(paths) {
		g, err := array.Join(y.spaceNames(paths), geos)
		if err != nil {
			return nil, err
		}
		joined.geo = g
	}
	return joined, nil
}

// expand writes values over the masked targets (len(cols) per block, blocks one after another:
// a fold's, say) into arrays over all the mask's targets, NaN elsewhere.
func (mk *targetMask) expand(values []float64) []float64 {
	k, n := len(mk.cols), mk.size()
	out := make([]float64, len(values)/k*n)
	for b := 0; b < len(values)/k; b++ {
		blk := out[b*n : (b+1)*n]
		for i := range blk {
			blk[i] = math.NaN()
		}
		for j, c := range mk.cols {
			blk[c] = values[b*k+j]
		}
	}
	return out
}

// restrict takes the masked targets of values over all the mask's targets.
func (mk *targetMask) restrict(values []float64) []float64 {
	out := make([]float64, len(mk.cols))
	for j, c := range mk.cols {
		out[j] = values[c]
	}
	return out
}

// selectColumns copies the given columns of m (nil: all) into a new row-major matrix of the same
// precision.
func selectColumns(m engine.Matrix, cols []int) engine.Matrix {
	if cols == nil {
		if !m.ColMajor {
			return engine.Matrix{Rows: m.Rows, Cols: m.Cols, F32: m.F32, F64: m.F64}
		}
		cols = make([]int, m.Cols)
		for j := range cols {
			cols[j] = j
		}
	}
	k := len(cols)
	if m.Is64() {
		out := make([]float64, m.Rows*k)
		for i := range m.Rows {
			for j, c := range cols {
				out[i*k+j] = m.At(i, c)
			}
		}
		return engine.NewMatrix64(m.Rows, k, out)
	}
	out := make([]float32, m.Rows*k)
	for i := range m.Rows {
		if !m.ColMajor {
			row := m.F32[i*m.Cols : (i+1)*m.Cols]
			for j, c := range cols {
				out[i*k+j] = row[c]
			}
			continue
		}
		for j, c := range cols {
			out[i*k+j] = m.F32[c*m.Rows+i]
		}
	}
	return engine.NewMatrix32(m.Rows, k, out)
}
