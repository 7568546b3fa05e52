package main

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"

	"github.com/brainalign/brainalign/array"
	"github.com/brainalign/brainalign/engine"
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

// name is how errors and summaries refer to the input.
func (in *input) name() string {
	if in.member != "" {
		return in.path + ":" + in.member
	}
	return in.path
}

// loadMatrix reads a float array (the member named member of a bundle, or its only one) as a
// matrix with rows first and the other axes flattened in C order; memberFlag is the flag that
// names a member, for errors.
func loadMatrix(path, member, memberFlag string) (*input, error) {
	// Open reads headers only: of a bundle, only the array used is read (decompressed), and a
	// corrupt member elsewhere does not matter.
	f, err := array.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close() // the array read keeps its own hold on the file's map
	names := f.Names()
	in := &input{path: path}
	switch {
	case member != "":
		if f.Lookup(member) == nil {
			if _, err := f.Read(member); err != nil && !strings.Contains(err.Error(), "no array named") {
				return nil, err // a member that is not an array (meta.json) says so
			}
			return nil, fmt.Errorf("%s: no array named %q (have %s)", path, member, memberNames(names))
		}
		in.member = member
	case len(names) == 1:
		member = names[0]
		if !strings.HasSuffix(path, ".npy") && !array.IsNeuro(path) {
			in.member = member
		}
	case len(names) == 0:
		return nil, fmt.Errorf("%s: holds no array", path)
	default:
		return nil, fmt.Errorf("%s: holds %d arrays (%s); name one with %s", path, len(names), memberNames(names), memberFlag)
	}
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
	return in, nil
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
	return in, nil
}

// volumeSpace is the space in which results over the targets of brain data y are also written
// as volumes: that of --space (a NIfTI, MGH or CIFTI file whose voxels, vertices or
// grayordinates are y's targets, shaped as them or flattened in C order over x, y, z), or else of
// y itself when it was read from a NIfTI or MGH file with a time axis or a CIFTI file over
// grayordinates; nil for neither.
func volumeSpace(space string, y *input) (*array.Geometry, error) {
	trailing := y.targetShape()
	if space == "" {
		if g := y.geo; g != nil && slices.Equal(trailing, g.Spatial) { // a volume's axes, or a CIFTI file's grayordinates
			return g, nil
		}
		return nil, nil
	}
	g, err := array.ReadGeometry(space)
	if err != nil {
		return nil, err
	}
	n := 1
	for _, d := range trailing {
		n *= d
	}
	if n != g.Targets() || len(trailing) > 1 && !slices.Equal(trailing, g.Spatial) {
		return nil, fmt.Errorf("--space %s: a space of %s voxels or vertices, but %s's targets are shaped %s",
			space, array.ShapeString(g.Spatial), y.name(), array.ShapeString(trailing))
	}
	return g, nil
}

// writeVolumes writes results over the targets as files of g's format in its space (NAME.nii.gz,
// NAME.mgz or NAME.dscalar.nii, for viewers), one per named array, returning the file names;
// nothing when g is nil. path gives a file name's path in the output.
func writeVolumes(g *array.Geometry, path func(name string) string, arrays map[string][]float64) ([]string, error) {
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
		f := name + g.VolumeExt()
		if err := array.WriteVolume(path(f), g, arrays[name]); err != nil {
			return nil, err
		}
		files = append(files, f)
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

func memberNames(all []string) string {
	names := all
	if len(all) > 8 {
		names = append(all[:8:8], fmt.Sprintf("... %d more", len(all)-8))
	}
	return strings.Join(names, ", ")
}

// readIDs reads stimulus ids, one per line, each id once. A blank line before the last id is an
// error (it would shift rows); blank lines at the end and a UTF-8 byte-order mark are ignored.
func readIDs(path string) ([]string, error) { return readIDLines(path, false) }

// readTrialIDs is readIDs for trials, where an id repeats for each showing of its stimulus.
func readTrialIDs(path string) ([]string, error) { return readIDLines(path, true) }

func readIDLines(path string, repeats bool) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var ids []string
	seen := map[string]int{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	blank := 0 // the first blank line since the last id
	for line := 1; sc.Scan(); line++ {
		text := sc.Text()
		if line == 1 {
			text = strings.TrimPrefix(text, "\ufeff")
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
			return nil, fmt.Errorf("%s: id %q on line %d repeats line %d", path, id, line, prev)
		}
		seen[id] = line
		ids = append(ids, id)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
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

// loadCeiling reads a noise ceiling (brainalign ceiling's ceiling.npy) for brain data whose
// targets have the given shape: the same shape, or flat with as many values. Values must lie in
// [0, 1]; NaN (no ceiling) is kept and treated as below the floor.
func loadCeiling(path string, targets []int) ([]float64, error) {
	a, err := readOneArray(path, "one noise ceiling per target")
	if err != nil {
		return nil, err
	}
	defer a.Close()
	n := 1
	for _, d := range targets {
		n *= d
	}
	if a.F32 == nil && a.F64 == nil {
		return nil, fmt.Errorf("%s: %s data, want float32 or float64 ceilings", path, a.DType)
	}
	if a.Size() != n || (len(a.Shape) != 1 && !slices.Equal(a.Shape, targets)) {
		return nil, fmt.Errorf("%s: shape %s, but the brain data's targets are shaped %s", path, array.ShapeString(a.Shape), array.ShapeString(targets))
	}
	m, err := a.Matrix()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	// flattened in C order, as the targets are (Matrix copies Fortran data into C order)
	flat := make([]float64, n)
	m.GatherRows(allRows(m.Rows), flat)
	for j, v := range flat {
		if v < 0 || v > 1 || math.IsInf(v, 0) {
			return nil, fmt.Errorf("%s: value %g at target %d is not a ceiling on r (want 0 to 1, or NaN)", path, v, j)
		}
	}
	return flat, nil
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

func allRows(n int) []int {
	rows := make([]int, n)
	for i := range rows {
		rows[i] = i
	}
	return rows
}
