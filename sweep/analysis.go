package sweep

import (
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/brainalign/brainalign/array"
	"github.com/brainalign/brainalign/internal/textlist"
	"github.com/brainalign/brainalign/metrics"
	"github.com/brainalign/brainalign/stats"
)

// The metrics below take the sweeps of one model across subjects (a group: the same targets,
// layers and checkpoints; one subject is a group of one) and work on the subject-mean score
// table R[layer, target] of a checkpoint, as the study does.

// GroupError is CheckGroup's error: sweeps that cannot be pooled as subjects of one model (other
// models, layers, checkpoints, steps, targets or folds). Commands report it as a mistake in the
// folders given.
type GroupError struct{ Msg string }

func (e *GroupError) Error() string { return e.Msg }

func groupErrorf(format string, a ...any) error { return &GroupError{Msg: fmt.Sprintf(format, a...)} }

// CheckGroup checks that sweeps can be pooled target by target as subjects of one model (the
// spatial, temporal and half-time metrics, compare): CheckModelGroup's checks, and the same
// targets (shape, parts). Its errors are *GroupError.
func CheckGroup(g []*Sweep) error { return checkGroup(g, true) }

// CheckModelGroup checks that sweeps can be summarised as subjects of one model, each over its own
// targets (the alignment score of rank and scaling: a mean over each subject's targets): the same
// model label (sweep's --model; a sweep without one is taken as any), layers, checkpoints and
// their steps, folds, and kind of brain data (fMRI targets, MEG channels x times), whatever each
// subject's number of voxels or channels (native spaces). Its errors are *GroupError.
func CheckModelGroup(g []*Sweep) error { return checkGroup(g, false) }

func checkGroup(g []*Sweep, sameTargets bool) error {
	if len(g) == 0 {
		return errors.New("no sweeps given")
	}
	a := g[0]
	var model *Sweep // the first sweep with a model label
	for _, s := range g {
		if s.Model == "" {
			continue
		}
		if model == nil {
			model = s
		} else if s.Model != model.Model {
			return groupErrorf("%s is a sweep of model %q, %s of model %q: the sweeps pooled must be subjects of one model (sweep's --model, by default the --features base name; compare tests two models)",
				model.Dir, model.Model, s.Dir, s.Model)
		}
	}
	for _, s := range g[1:] {
		if len(s.Trailing) != len(a.Trailing) {
			// fMRI and MEG sweeps of one model found together, say
			return groupErrorf("%s is a sweep of brain data of shape %v, %s of %v: the sweeps pooled must be of one kind of brain data (give the fMRI or the MEG folders, say, not both)",
				s.Dir, s.Trailing, a.Dir, a.Trailing)
		}
		if sameTargets && !slices.Equal(s.Trailing, a.Trailing) {
			what := "targets (the same voxels or vertices: one space, as fsaverage)"
			if len(a.Trailing) >= 2 {
				what = "channels and times (epochs cut alike)"
			}
			return groupErrorf("%s has targets shaped %s, %s %s: subjects pooled target by target need the same %s; rank and scaling take subjects of their own targets",
				s.Dir, array.ShapeString(s.Trailing), a.Dir, array.ShapeString(a.Trailing), what)
		}
		if s.L != a.L || s.C != a.C || s.F != a.F {
			return groupErrorf("%s (%d checkpoints x %d layers, %d folds) does not match %s (%d x %d, %d folds): subjects of one model need the same checkpoints, layers and folds",
				s.Dir, s.C, s.L, s.F, a.Dir, a.C, a.L, a.F)
		}
		for l := range s.Layers {
			if s.Layers[l] != a.Layers[l] {
				return groupErrorf("%s: layer %d is %q, in %s it is %q: subjects of one model need the same layers, in the same order", s.Dir, l, s.Layers[l], a.Dir, a.Layers[l])
			}
		}
		for c := range s.Checkpoints {
			sc, ac := s.Checkpoints[c], a.Checkpoints[c]
			if sc.Name != ac.Name {
				return groupErrorf("%s: checkpoint %d is %q, in %s it is %q", s.Dir, c, sc.Name, a.Dir, ac.Name)
			}
			if sc.Step != nil && ac.Step != nil && *sc.Step != *ac.Step {
				return groupErrorf("%s: checkpoint %s is at step %g, in %s at step %g (sweep's --steps)", s.Dir, sc.Name, *sc.Step, a.Dir, *ac.Step)
			}
		}
		if sameTargets { // parts and channels, like targets, are otherwise each subject's own
			if err := sameParts(a, s); err != nil {
				return err
			}
			if err := sameSpace(a, s); err != nil {
				return err
			}
			if err := sameChannels(a, s); err != nil {
				return err
			}
			if err := sameROIs(a, s); err != nil {
				return err
			}
		}
	}
	return nil
}

// sameParts refuses two sweeps whose targets were joined from files (hemispheres) in another
// order or of other sizes: target t would be a left vertex in one and a right one in the other.
func sameParts(a, s *Sweep) error {
	pa, ps := partsOf(a), partsOf(s)
	if pa != "" && ps != "" && pa != ps {
		return groupErrorf("%s joins its targets from %s, %s from %s: subjects pooled need the same parts: hemispheres named alike (lh, rh), in the same order (sweep's --brain order), of the same sizes", a.Dir, pa, s.Dir, ps)
	}
	return nil
}

// sameSpace refuses two sweeps whose targets are other voxels, vertices or grayordinates of
// their spaces (where both know them): another grid (CIFTI: other brain models, the right
// cortex first, say; a volume: another voxel-to-world matrix), or another mask's voxels.
func sameSpace(a, s *Sweep) error {
	ga, gs := a.Meta.Space, s.Meta.Space
	if ga == nil || gs == nil {
		return nil
	}
	if err := array.SameGrid(ga, gs); err != nil {
		return groupErrorf("%s's targets are not %s's (%v): subjects pooled target by target need the same voxels, vertices or grayordinates (one space, as fsaverage or HCP's 91k grayordinates); rank and scaling take subjects of their own targets", s.Dir, a.Dir, err)
	}
	ta, ts := a.Meta.SpaceTargets, s.Meta.SpaceTargets
	if ta != nil && ts != nil && !slices.Equal(ta, ts) {
		k := 0
		for k < len(ta) && ta[k] == ts[k] {
			k++
		}
		return groupErrorf("%s and %s are masked differently (target %d is voxel %d of one, %d of the other): subjects pooled target by target need the same mask", a.Dir, s.Dir, k, ta[k], ts[k])
	}
	return nil
}

// sameChannels refuses two MEG sweeps whose channels differ by name or order (where both know
// them): target (channel, time) would be another sensor in each.
func sameChannels(a, s *Sweep) error {
	ca, cs := a.Meta.Channels, s.Meta.Channels
	if ca == nil || cs == nil {
		return nil
	}
	for i := range min(len(ca), len(cs)) {
		if ca[i] != cs[i] {
			return groupErrorf("%s and %s have other MEG channels (channel %d is %s in one, %s in the other): subjects pooled channel by channel need the same channels in the same order (pick and reorder them in MNE: epochs.reorder_channels)", a.Dir, s.Dir, i, ca[i], cs[i])
		}
	}
	return nil
}

// sameROIs refuses two sweeps whose targets' ROIs differ: one with ROI labels and one without,
// other labels, or other names for a label. The metrics take the ROIs of one sweep (the first)
// for all subjects, so the per-ROI results would depend on the folders' order.
func sameROIs(a, s *Sweep) error {
	ra, rs := a.Meta.ROI, s.Meta.ROI
	if ra == nil && rs == nil {
		return nil
	}
	if ra == nil || rs == nil {
		with, without := a, s
		if ra == nil {
			with, without = s, a
		}
		return groupErrorf("%s has ROI labels (sweep's --roi), %s has no ROI labels: subjects pooled target by target need the same ROIs (give each subject's sweep the same --roi and --roi-names)", with.Dir, without.Dir)
	}
	roi := func(m Meta, l int) string {
		if l < 0 {
			return "no ROI"
		}
		return "ROI " + m.ROIName(l)
	}
	for t := range min(len(ra), len(rs)) {
		if ra[t] != rs[t] {
			return groupErrorf("target %d is in %s in %s, in %s in %s: subjects pooled target by target need the same ROI labels (sweep's --roi)", t, roi(a.Meta, ra[t]), a.Dir, roi(s.Meta, rs[t]), s.Dir)
		}
	}
	for _, l := range a.Meta.Labels() {
		if na, ns := a.Meta.ROIName(l), s.Meta.ROIName(l); na != ns {
			return groupErrorf("ROI label %d is %s in %s, %s in %s: subjects pooled target by target need the same ROI names (sweep's --roi-names)", l, na, a.Dir, ns, s.Dir)
		}
	}
	return nil
}

// partCounts counts the targets of each of n parts (part: each target's, targetParts).
func partCounts(n int, part []int) []int {
	count := make([]int, n)
	for _, p := range part {
		count[p]++
	}
	return count
}

// partsOf lists the parts s's targets were joined from, with their numbers of targets: "lh (200)
// + rh (160)"; "" for targets of one file.
func partsOf(s *Sweep) string {
	names, part := targetParts(s)
	if part == nil {
		return ""
	}
	count := partCounts(len(names), part)
	var out []string
	for i, n := range names {
		out = append(out, fmt.Sprintf("%s (%d)", n, count[i]))
	}
	return strings.Join(out, " + ")
}

// MeanTable returns the subject-mean layers x targets table of checkpoint c.
func MeanTable(g []*Sweep, c int) []float64 {
	out := make([]float64, g[0].L*g[0].M)
	for _, s := range g {
		for i, v := range s.At(c) {
			out[i] += v / float64(len(g))
		}
	}
	return out
}

// bestOf returns the max over layers of a layers x targets table.
func bestOf(r []float64, L, M int) []float64 {
	b := append([]float64(nil), r[:M]...)
	for l := 1; l < L; l++ {
		for t, v := range r[l*M : (l+1)*M] {
			b[t] = math.Max(b[t], v)
		}
	}
	return b
}

// MaskOptions configure the significance mask.
type MaskOptions struct {
	FDR float64 // Benjamini-Hochberg threshold; <= 0: metrics.DefaultFDR (0.01)
	// Replicates is "subjects" (a target's layer-mean score in each subject), "folds" (its
	// layer-mean score on each held-out fold, folds of all subjects pooled), "heldout" (no
	// replicates: its layer-mean score, averaged over subjects, tested as one Pearson r of the
	// smallest test fold's rows) or "" (auto: subjects when there are at least 5; else heldout
	// when every sweep has one fold, a fixed test set; else folds: a t-test over 3 or 4 subjects
	// has 2 or 3 degrees of freedom and finds little at FDR 0.01).
	Replicates string
	Off        bool // no mask: every target counts
}

// Mask is a significance mask over targets.
type Mask struct {
	Keep        []bool  `json:"-"`
	Significant int     `json:"significant"`
	Targets     int     `json:"targets"`
	Replicates  string  `json:"replicates"`
	N           int     `json:"n_replicates"` // with Replicates "heldout": the held-out rows
	FDR         float64 `json:"fdr"`
}

// SignificanceMask tests every target's score against 0 across replicates (docs/design.md §4: a
// one-sample t-test, Benjamini-Hochberg FDR) and keeps targets significant and positive. The
// score tested is the mean over layers, which involves no selection (the best layer's score,
// chosen on the same data, would be biased upwards for noise targets).
func SignificanceMask(g []*Sweep, c int, o MaskOptions) (Mask, error) {
	if err := CheckGroup(g); err != nil {
		return Mask{}, err
	}
	L, M, F := g[0].L, g[0].M, g[0].F
	if o.Off {
		keep := make([]bool, M)
		for i := range keep {
			keep[i] = true
		}
		return Mask{Keep: keep, Significant: M, Targets: M, Replicates: "none"}, nil
	}
	rep := o.Replicates
	if rep == "" {
		rep = "folds"
		if len(g) >= 5 {
			rep = "subjects"
		} else if F == 1 {
			rep = "heldout"
		}
	}
	var vals []float64
	n := 0
	switch rep {
	case "heldout":
		return heldOutMask(g, c, o.FDR)
	case "subjects":
		if len(g) < 2 {
			return Mask{}, fmt.Errorf("significance across subjects needs at least 2 subjects' sweeps, got %d (use folds)", len(g))
		}
		for _, s := range g {
			row := make([]float64, M)
			tab := s.At(c)
			for l := 0; l < L; l++ {
				for t := 0; t < M; t++ {
					row[t] += tab[l*M+t] / float64(L)
				}
			}
			vals = append(vals, row...)
			n++
		}
	case "folds":
		for _, s := range g {
			if err := s.mapFoldScores(); err != nil { // a sweep opened with OpenScores
				return Mask{}, err
			}
			for f := 0; f < F; f++ {
				row := make([]float64, M)
				for l := 0; l < L; l++ {
					fs := s.FoldScores[((c*L+l)*F+f)*M : ((c*L+l)*F+f+1)*M]
					for t, v := range fs {
						if math.IsNaN(v) || math.IsInf(v, 0) { // fold scores are checked where used (Load)
							return Mask{}, fmt.Errorf("%s: non-finite value %v at checkpoint %s, layer %s, fold %d, target %s: fold_scores.npy is damaged (merge the sweep again)",
								filepath.Join(s.Dir, "fold_scores.npy"), v, s.Checkpoints[c].Name, s.Layers[l], f, targetIndex(s, t))
						}
						row[t] += v / float64(L)
					}
				}
				vals = append(vals, row...)
				n++
			}
		}
	default:
		return Mask{}, fmt.Errorf("replicates %q: want subjects, folds or heldout", rep)
	}
	if rep == "folds" && n < 2 {
		return Mask{}, fmt.Errorf("significance across folds needs at least 2 held-out folds in all, the sweep has 1 (a fixed test set: use heldout)")
	}
	sig, err := metrics.SignificanceMask(vals, n, M, o.FDR)
	if err != nil {
		return Mask{}, err
	}
	m := Mask{Keep: make([]bool, M), Targets: M, Replicates: rep, N: n, FDR: o.FDR}
	if m.FDR <= 0 {
		m.FDR = metrics.DefaultFDR
	}
	for t := range m.Keep {
		m.Keep[t] = sig.Mask[t] && sig.T[t] > 0
		if m.Keep[t] {
			m.Significant++
		}
	}
	return m, nil
}

// targetIndex names target t (flat) in the sweep's targets' shape: "4", or "[3 7]" for MEG's
// channels x times.
func targetIndex(s *Sweep, t int) string {
	if len(s.Trailing) < 2 {
		return strconv.Itoa(t)
	}
	idx := make([]int, len(s.Trailing))
	for k := len(idx) - 1; k >= 0; k-- {
		idx[k], t = t%s.Trailing[k], t/s.Trailing[k]
	}
	return fmt.Sprint(idx)
}

// heldOutMask is SignificanceMask with no replicates: each target's layer-mean score, averaged
// over subjects, tested as a Pearson r of the smallest test fold's rows (metrics.
// HeldOutSignificance; conservative for a mean). Mask.N is that number of rows.
func heldOutMask(g []*Sweep, c int, fdr float64) (Mask, error) {
	L, M := g[0].L, g[0].M
	rows := 0
	for _, s := range g {
		if len(s.Options.FoldSizes) != s.F {
			return Mask{}, fmt.Errorf("%s: sweep.json does not record its test folds' sizes (an earlier version's sweep): use --replicates folds or subjects", s.Dir)
		}
		for _, k := range s.Options.FoldSizes {
			if rows == 0 || k < rows {
				rows = k
			}
		}
	}
	r := make([]float64, M)
	for _, s := range g {
		tab := s.At(c)
		for l := 0; l < L; l++ {
			for t := 0; t < M; t++ {
				r[t] += tab[l*M+t] / float64(L*len(g))
			}
		}
	}
	sig, err := metrics.HeldOutSignificance(r, rows, fdr)
	if err != nil {
		return Mask{}, err
	}
	m := Mask{Keep: make([]bool, M), Targets: M, Replicates: "heldout", N: rows, FDR: fdr}
	if m.FDR <= 0 {
		m.FDR = metrics.DefaultFDR
	}
	for t := range m.Keep {
		m.Keep[t] = sig.Mask[t] && r[t] > 0
		if m.Keep[t] {
			m.Significant++
		}
	}
	return m, nil
}

// SpatialOptions configure the spatial score.
type SpatialOptions struct {
	Checkpoint int
	// V1 reference points: one, or for targets joined from hemispheres one per hemisphere, in
	// their order; none: the centroid of the ROI named V1ROI (in each hemisphere)
	V1     [][3]float64
	V1ROI  string    // default "V1"
	Coords []float64 // override the sweeps' coordinates (targets x 3)
	// CoordsFiles and CoordsRows are the files Coords was read from (one per hemisphere of a
	// sweep of hemispheres, one per cortex of a CIFTI file) and their numbers of vertices,
	// checked against the sweeps' hemispheres in order.
	CoordsFiles []string
	CoordsRows  []int
	Mask        MaskOptions
}

// SubjectScore is one subject's value of a metric.
type SubjectScore struct {
	Subject string  `json:"subject"`
	R       float64 `json:"r"`
	P       float64 `json:"p"`
	N       int     `json:"n"`
	Error   string  `json:"error,omitempty"`
}

// SpatialResult is the spatial score of a group at one checkpoint.
type SpatialResult struct {
	Checkpoint string              `json:"checkpoint"`
	Ref        *[3]float64         `json:"v1_reference,omitempty"`       // of targets in one space
	PartRefs   []PartRef           `json:"v1_reference_parts,omitempty"` // of targets joined from hemispheres: each target's distance is from its own
	RefFrom    string              `json:"v1_reference_from"`
	Warnings   []string            `json:"warnings,omitempty"` // e.g. a V1 reference between the hemispheres
	Mask       Mask                `json:"mask"`
	Target     metrics.Correlation `json:"target_level"`
	Slope      float64             `json:"slope_mm_per_depth"`
	Intercept  float64             `json:"intercept_mm"`
	ROI        *ROISpatial         `json:"roi_level,omitempty"`
	Subjects   []SubjectScore      `json:"subjects"`
	Depth      []float64           `json:"-"` // best-layer relative depth per target (subject mean)
	Distance   []float64           `json:"-"` // mm from the V1 reference per target
}

// PartRef is the V1 reference of one part (hemisphere) of targets joined from several files.
type PartRef struct {
	Part  string     `json:"part"`
	Point [3]float64 `json:"point"`
}

// ROISpatial is the ROI-level spatial score with ROI names.
type ROISpatial struct {
	metrics.Correlation
	Names        []string  `json:"names"`
	Labels       []int     `json:"labels"`
	MeanDepth    []float64 `json:"mean_depth"`
	MeanDistance []float64 `json:"mean_distance_mm"`
	Count        []int     `json:"targets"`
}

// groupCoords returns the coordinates to use: the override, or the subjects' mean.
func groupCoords(g []*Sweep, o SpatialOptions) ([]float64, error) {
	M := g[0].M
	override := o.Coords
	// CIFTI grayordinates: the cortices' surfaces (all their vertices), placed as sweep places them
	spaced := WithSpace(g)
	surfaces := override != nil && len(override) != 3*M && spaced.Meta.Space.CiftiSurfaces() != nil
	if surfaces {
		m := Meta{Coords: override, coordFiles: o.CoordsFiles, coordRows: o.CoordsRows}
		m.Files.Coords = strings.Join(o.CoordsFiles, " + ")
		if _, err := m.PlaceCoords(spaced.Meta.Space); err != nil {
			return nil, err
		}
		override = m.Coords
	} else if err := checkCoordsParts(withParts(g), o.CoordsFiles, o.CoordsRows); err != nil {
		return nil, err
	}
	if override != nil {
		// given over the whole space of a masked sweep (a surface's every vertex): taken at the
		// masked targets, as sweep takes them
		if meta := spaced.Meta; meta.Space != nil && meta.SpaceTargets != nil && len(override) == 3*meta.Space.Targets() {
			m := Meta{Coords: override}
			m.Restrict(meta.SpaceTargets, meta.Space.Targets())
			override = m.Coords
		}
		if len(override) != 3*M {
			return nil, fmt.Errorf("coordinates: %d rows for %d targets", len(override)/3, M)
		}
		return override, nil
	}
	out := make([]float64, 3*M)
	for _, s := range g {
		if s.Meta.Coords == nil {
			return nil, fmt.Errorf("%s: no target coordinates (give --coords to sweep, or here)", s.Dir)
		}
		for i, v := range s.Meta.Coords {
			out[i] += v / float64(len(g))
		}
	}
	return out, nil
}

// checkCoordsParts checks coordinates given once per hemisphere of a sweep of hemispheres (the
// space's parts): one file per part, in order (lh then rh where both are named), each of the
// part's vertices (all of them, or the masked ones). Swapped files of equal sizes would
// otherwise pass, and the distances be the other hemisphere's.
func checkCoordsParts(s *Sweep, files []string, rows []int) error {
	if len(files) <= 1 {
		return nil
	}
	space := s.Meta.Space
	if (space == nil || space.Parts == nil) && s.Meta.Parts != nil { // joined without spaces
		if len(files) != len(s.Meta.Parts) {
			return fmt.Errorf("--coords: %d files for the %d parts of %s's targets (%s): give one per part, in their order", len(files), len(s.Meta.Parts), s.Dir, partsOf(s))
		}
		names := array.PartNames(files)
		for i, p := range s.Meta.Parts {
			if array.OtherHemisphere(names[i], p.Name) {
				return fmt.Errorf("--coords %s is for %s, but the part of %s in its place is %s: give them in the order %s", files[i], names[i], s.Dir, p.Name, partsOf(s))
			}
			if rows[i] != p.Targets {
				return fmt.Errorf("--coords %s: %d vertices, but part %s of %s has %d: give them in the order %s", files[i], rows[i], p.Name, s.Dir, p.Targets, partsOf(s))
			}
		}
		return nil
	}
	if space == nil || space.Parts == nil {
		return fmt.Errorf("--coords: %d files, but %s's targets are not joined from several files (hemispheres): give one file of its targets' coordinates", len(files), s.Dir)
	}
	if len(files) != len(space.Parts) {
		return fmt.Errorf("--coords: %d files for the %d parts of %s's targets (%s): give one per part, in their order", len(files), len(space.Parts), s.Dir, partList(space))
	}
	names := array.PartNames(files)
	off := 0
	for i, p := range space.Parts {
		n := p.Geometry.Targets()
		if array.OtherHemisphere(names[i], p.Name) {
			return fmt.Errorf("--coords %s is for %s, but the part of %s in its place is %s: give them in the order %s", files[i], names[i], s.Dir, p.Name, partList(space))
		}
		masked := n
		if s.Meta.SpaceTargets != nil {
			masked = 0
			for _, t := range s.Meta.SpaceTargets {
				if t >= off && t < off+n {
					masked++
				}
			}
		}
		if rows[i] != n && rows[i] != masked {
			return fmt.Errorf("--coords %s: %d vertices, but part %s of %s has %d: give them in the order %s", files[i], rows[i], p.Name, s.Dir, n, partList(space))
		}
		off += n
	}
	return nil
}

// partList lists a joined space's parts: "lh (163842) + rh (163842)".
func partList(g *array.Geometry) string {
	var p []string
	for _, part := range g.Parts {
		p = append(p, fmt.Sprintf("%s (%d)", part.Name, part.Geometry.Targets()))
	}
	return strings.Join(p, " + ")
}

// v1Reference is the V1 reference of the spatial metrics: one point, or for targets joined from
// hemispheres one per hemisphere, each target's distance taken from its own hemisphere's V1
// (one point for both would lie on the midline, outside cortex, and measure the left
// hemisphere's distances through the right's V1).
type v1Reference struct {
	points [][3]float64
	parts  []string // the parts' names, for targets joined from several files
	part   []int    // per target: its part (nil: one point)
	from   string
	// warning says when one reference was taken from a V1 ROI whose targets lie in both
	// hemispheres: its centroid is near the midline, far from either V1
	warning string
}

// relative returns coords moved so that each target's reference is the origin: the metrics'
// distances from the origin are then each target's from its own reference.
func (r v1Reference) relative(coords []float64) []float64 {
	out := make([]float64, len(coords))
	for t := range len(coords) / 3 {
		p := r.points[0]
		if r.part != nil {
			p = r.points[r.part[t]]
		}
		for k := range 3 {
			out[3*t+k] = coords[3*t+k] - p[k]
		}
	}
	return out
}

// report fills res's reference fields.
func (r v1Reference) report(res *SpatialResult) {
	res.RefFrom = r.from
	if r.warning != "" {
		res.Warnings = append(res.Warnings, r.warning)
	}
	if r.part == nil {
		p := r.points[0]
		res.Ref = &p
		return
	}
	for i, name := range r.parts {
		res.PartRefs = append(res.PartRefs, PartRef{Part: name, Point: r.points[i]})
	}
}

// targetParts returns, for a sweep whose targets were joined from several files (hemispheres),
// the parts' names and each target's part (masked sweeps: the part of its voxel); nil, nil
// otherwise.
func targetParts(s *Sweep) ([]string, []int) {
	if s.Meta.Parts != nil {
		return s.Meta.partNames(), s.Meta.partOf(s.M)
	}
	space := s.Meta.Space // sweeps saved before meta/parts.txt
	if space == nil || space.Parts == nil {
		return nil, nil
	}
	var names []string
	var ends []int // each part's end in the joined space
	for _, p := range space.Parts {
		names = append(names, p.Name)
		ends = append(ends, p.Geometry.Targets())
		if k := len(ends); k > 1 {
			ends[k-1] += ends[k-2]
		}
	}
	part := make([]int, s.M)
	for t := range part {
		v := t
		if s.Meta.SpaceTargets != nil {
			v = s.Meta.SpaceTargets[t]
		}
		for part[t] < len(ends)-1 && v >= ends[part[t]] {
			part[t]++
		}
	}
	return names, part
}

// withParts returns the sweep of g whose targets are known to be joined from several files
// (meta/parts.txt, or a joined space) or of both hemispheres of a CIFTI file; g[0] where none
// is. Sweeps pooled with one have the same parts or none recorded (one file of the same
// targets, sameParts).
func withParts(g []*Sweep) *Sweep {
	for _, s := range g {
		if s.Meta.Parts != nil || s.Meta.Space != nil && (s.Meta.Space.Parts != nil || s.Meta.Space.Format == "cifti") {
			return s
		}
	}
	return g[0]
}

// WithSpace returns the sweep of g that knows its targets' space (the same for all that know
// it: CheckGroup); g[0] where none does.
func WithSpace(g []*Sweep) *Sweep {
	for _, s := range g {
		if s.Meta.Space != nil {
			return s
		}
	}
	return g[0]
}

// hemisphereParts is targetParts for the V1 reference: parts that are hemispheres (lh, rh), each
// with targets; nil, nil when fewer than two are (one space: one reference). Parts of other
// kinds (a volume's columns split across files) share one reference, and a hemisphere whose
// targets a mask left out needs none.
func hemisphereParts(s *Sweep) ([]string, []int) {
	names, part := targetParts(s)
	if part == nil {
		return ciftiHemispheres(s)
	}
	for _, n := range names {
		if !array.IsHemisphere(n) {
			return nil, nil
		}
	}
	count := partCounts(len(names), part)
	index := make([]int, len(names)) // new index of each part with targets
	var kept []string
	for i, n := range names {
		index[i] = len(kept)
		if count[i] > 0 {
			kept = append(kept, n)
		}
	}
	if len(kept) < 2 {
		return nil, nil
	}
	for t, p := range part {
		part[t] = index[p]
	}
	return kept, part
}

// ciftiHemispheres is hemisphereParts for targets of one CIFTI file over both hemispheres' cortex
// (HCP's grayordinates): each target's side by its structure (CORTEX_LEFT and the other *_LEFT
// structures: lh), -1 for structures of neither side (the brain stem), which v1Ref measures from
// the nearer V1; nil, nil unless targets lie on both cortices.
func ciftiHemispheres(s *Sweep) ([]string, []int) {
	structures := s.Meta.Space.CiftiStructures()
	if structures == nil {
		return nil, nil
	}
	names := []string{"lh", "rh"}
	part := make([]int, s.M)
	var cortex [2]int
	for t := range part {
		v := t
		if s.Meta.SpaceTargets != nil {
			v = s.Meta.SpaceTargets[t]
		}
		part[t] = slices.Index(names, array.StructureSide(structures[v]))
		if p := part[t]; p >= 0 && strings.HasPrefix(structures[v], "CORTEX_") {
			cortex[p]++
		}
	}
	if cortex[0] == 0 || cortex[1] == 0 {
		return nil, nil
	}
	return names, part
}

func v1Ref(g []*Sweep, coords []float64, v1 [][3]float64, roi string) (v1Reference, error) {
	names, part := hemisphereParts(withParts(g))
	ref := v1Reference{parts: names, part: part}
	if len(v1) > 0 {
		switch {
		case part == nil && len(v1) > 1:
			return ref, fmt.Errorf("--v1: %d points, but %s's targets are not of several hemispheres (one space, or one hemisphere left by a mask): give one", len(v1), g[0].Dir)
		case part != nil && len(v1) != len(names):
			return ref, fmt.Errorf("--v1: %d point(s), but %s's targets are of hemispheres %s: give one per hemisphere, in that order, or none for the centroid of the V1 ROI in each (one point for both would lie between them)",
				len(v1), g[0].Dir, strings.Join(names, " + "))
		}
		ref.points, ref.from = v1, "given"
		ref.nearest(coords)
		return ref, nil
	}
	if roi == "" {
		roi = "V1"
	}
	meta := g[0].Meta
	if meta.ROI == nil {
		return ref, fmt.Errorf("%s: no V1 reference: give a point (--v1 x,y,z) or ROI labels with a %s ROI", g[0].Dir, roi)
	}
	lab, ok := meta.ROILabel(roi)
	if !ok {
		var have []string
		for _, l := range meta.Labels() {
			have = append(have, meta.ROIName(l))
		}
		return ref, fmt.Errorf("%s: no ROI named %q (have %s: a sweep keeps the ROIs its targets carry, with --brain-mask those inside the mask); give --v1 x,y,z or --v1-roi NAME",
			g[0].Dir, roi, textlist.Some(have, 12))
	}
	if part == nil {
		c, err := metrics.ROICentroid(coords, meta.ROI, lab)
		ref.points, ref.from = [][3]float64{c}, "centroid of ROI "+roi
		ref.warning = bothHemispheres(coords, meta.ROI, lab, roi)
		return ref, err
	}
	for i, name := range names {
		var xyz []float64
		var labels []int
		for t, p := range part {
			if p == i {
				xyz, labels = append(xyz, coords[3*t:3*t+3]...), append(labels, meta.ROI[t])
			}
		}
		c, err := metrics.ROICentroid(xyz, labels, lab)
		if err != nil {
			return ref, fmt.Errorf("%s: no target of ROI %s in its %s part, whose distances are measured from its own %s: give --v1 once per hemisphere", g[0].Dir, roi, name, roi)
		}
		ref.points = append(ref.points, c)
	}
	ref.from = "centroid of ROI " + roi + " in each hemisphere"
	ref.nearest(coords)
	return ref, nil
}

// nearest gives the targets of no hemisphere (part -1: a CIFTI file's brain stem) the nearest
// reference point.
func (r v1Reference) nearest(coords []float64) {
	for t, p := range r.part {
		if p >= 0 {
			continue
		}
		best := math.Inf(1)
		r.part[t] = 0 // should its coordinates be NaN
		for i, q := range r.points {
			d := 0.0
			for k := range 3 {
				d += (coords[3*t+k] - q[k]) * (coords[3*t+k] - q[k])
			}
			if d < best {
				best, r.part[t] = d, i
			}
		}
	}
}

// bothHemispheres says when the targets of ROI label lab lie on both sides of the midline (x < 0
// and x > 0, each at least a tenth of them): one centroid for both, as for a volume of both
// hemispheres, lies between them; "" otherwise.
func bothHemispheres(coords []float64, roi []int, lab int, name string) string {
	var left, right int
	for t, l := range roi {
		switch x := coords[3*t]; {
		case l != lab:
		case x < 0:
			left++
		case x > 0:
			right++
		}
	}
	if n := left + right; left == 0 || right == 0 || 10*min(left, right) < n {
		return ""
	}
	return fmt.Sprintf("the %s ROI's targets lie in both hemispheres (%d at x < 0, %d at x > 0): their centroid, the one reference for every target, lies between the hemispheres, far from either %s; give --v1 x,y,z (the hemisphere studied), or the hemispheres as two --brain files (each then measured from its own %s)", name, left, right, name, name)
}

// Spatial computes the spatial score: the correlation of each target's best-layer depth (from
// the subject-mean table) with its distance from V1, over the targets that pass the mask; the
// ROI-level score when ROI labels are known; and each subject's own target-level r.
func Spatial(g []*Sweep, o SpatialOptions) (*SpatialResult, error) {
	if err := CheckGroup(g); err != nil {
		return nil, err
	}
	s0 := g[0]
	if o.Checkpoint < 0 || o.Checkpoint >= s0.C {
		return nil, fmt.Errorf("checkpoint %d out of range (%d checkpoints)", o.Checkpoint, s0.C)
	}
	coords, err := groupCoords(g, o)
	if err != nil {
		return nil, err
	}
	v1, err := v1Ref(g, coords, o.V1, o.V1ROI)
	if err != nil {
		return nil, err
	}
	coords = v1.relative(coords)
	var ref [3]float64 // each target's reference is now the origin
	mask, err := SignificanceMask(g, o.Checkpoint, o.Mask)
	if err != nil {
		return nil, err
	}
	res := &SpatialResult{Checkpoint: s0.Checkpoints[o.Checkpoint].Name, Mask: mask}
	v1.report(res)
	if mask.Significant < 3 {
		return res, fmt.Errorf("only %d of %d targets pass the significance mask (FDR %g, %s); the spatial score needs at least 3", mask.Significant, mask.Targets, mask.FDR, mask.Replicates)
	}
	b, err := metrics.BestLayer(MeanTable(g, o.Checkpoint), s0.L, s0.M)
	if err != nil {
		return nil, err
	}
	res.Depth = b.Depth
	if res.Distance, err = metrics.Distances(coords, ref); err != nil {
		return nil, err
	}
	if res.Target, err = metrics.SpatialScore(b.Depth, coords, ref, mask.Keep); err != nil {
		return res, err
	}
	var xs, ys []float64
	for t, k := range mask.Keep {
		if k {
			xs, ys = append(xs, b.Depth[t]), append(ys, res.Distance[t])
		}
	}
	res.Slope, res.Intercept, _ = stats.LinearFit(xs, ys)
	if meta := s0.Meta; meta.ROI != nil {
		keep := append([]bool(nil), mask.Keep...)
		for t, l := range meta.ROI {
			keep[t] = keep[t] && l >= 0
		}
		rs, err := metrics.SpatialScoreROI(b.Depth, coords, meta.ROI, ref, keep)
		r := &ROISpatial{Correlation: rs.Correlation, Labels: rs.Labels, MeanDepth: rs.MeanDepth, MeanDistance: rs.MeanDistance, Count: rs.Count}
		for _, l := range rs.Labels {
			r.Names = append(r.Names, meta.ROIName(l))
		}
		if err != nil { // fewer than 3 ROIs: keep the per-ROI means, no correlation
			r.Correlation = metrics.Correlation{R: math.NaN(), P: math.NaN(), N: len(rs.Labels)}
		}
		res.ROI = r
	}
	for _, s := range g {
		sc := SubjectScore{Subject: s.Name()}
		bs, err := metrics.BestLayer(s.At(o.Checkpoint), s.L, s.M)
		if err == nil {
			var c metrics.Correlation
			c, err = metrics.SpatialScore(bs.Depth, coords, ref, mask.Keep)
			sc.R, sc.P, sc.N = c.R, c.P, c.N
		}
		if err != nil {
			sc.R, sc.P, sc.Error = math.NaN(), math.NaN(), err.Error()
		}
		res.Subjects = append(res.Subjects, sc)
	}
	return res, nil
}

// TemporalOptions configure the temporal score.
type TemporalOptions struct {
	Checkpoint int
	Times      []float64        // override the sweeps' times
	Windows    []metrics.Window // nil: the study's windows that hold time points
}

// TemporalResult is the temporal score of a group at one checkpoint.
type TemporalResult struct {
	Checkpoint string               `json:"checkpoint"`
	Channels   int                  `json:"channels"`
	Times      []float64            `json:"times"`
	Curves     []float64            `json:"-"` // layers x times, channel mean of the subject-mean scores
	TMax       []float64            `json:"t_max"`
	Score      metrics.Correlation  `json:"temporal_score"`
	Windows    []metrics.WindowBest `json:"windows"`
	Subjects   []SubjectScore       `json:"subjects"`
}

func groupTimes(g []*Sweep, override []float64) ([]float64, int, error) {
	times := override
	if times == nil {
		times = g[0].Meta.Times
	}
	if times == nil {
		return nil, 0, fmt.Errorf("%s: no MEG times (give --times to sweep, or here)", g[0].Dir)
	}
	if override == nil {
		if err := sameTimes(g); err != nil {
			return nil, 0, err
		}
	}
	M := g[0].M
	if M%len(times) != 0 {
		return nil, 0, fmt.Errorf("%d time points do not divide the %d targets of %s (want channels x times)", len(times), M, g[0].Dir)
	}
	if tr := g[0].Trailing; len(tr) >= 2 && tr[len(tr)-1] != len(times) {
		return nil, 0, fmt.Errorf("%d time points, but %s has %d along its last axis", len(times), g[0].Dir, tr[len(tr)-1])
	}
	return times, M / len(times), nil
}

// sameTimes refuses subjects whose MEG times differ (epochs cut or sampled otherwise): their
// curves would be averaged sample by sample at the first subject's times. Times agree within a
// microsecond, far below any sampling interval, so times computed from the same samples in
// other ways still pool.
func sameTimes(g []*Sweep) error {
	a := g[0]
	for _, s := range g[1:] {
		ta, ts := a.Meta.Times, s.Meta.Times
		if ts == nil {
			return fmt.Errorf("%s has no MEG times, %s has %d: give --times here to use one set for all subjects", s.Dir, a.Dir, len(ta))
		}
		if len(ts) != len(ta) {
			return fmt.Errorf("%s has %d MEG time points, %s has %d: subjects pooled need the same times", s.Dir, len(ts), a.Dir, len(ta))
		}
		for i := range ta {
			if math.Abs(ts[i]-ta[i]) > 1e-6 {
				return fmt.Errorf("%s and %s have other MEG times (time point %d is %g s in one, %g s in the other): subjects pooled need the same times (or give --times here to use one set for all)", a.Dir, s.Dir, i, ta[i], ts[i])
			}
		}
	}
	return nil
}

// usableWindows keeps the windows that hold a time point.
func usableWindows(times []float64, ws []metrics.Window) []metrics.Window {
	var out []metrics.Window
	for _, w := range ws {
		for _, t := range times {
			if w.Contains(t) {
				out = append(out, w)
				break
			}
		}
	}
	return out
}

// CheckWindows refuses a time window that holds none of the MEG time points (its best layer or
// mean score would be undefined), naming the window and the span of the times.
func CheckWindows(times []float64, ws []metrics.Window) error {
	if len(times) == 0 {
		return nil
	}
	for _, w := range ws {
		if len(usableWindows(times, []metrics.Window{w})) == 0 {
			lo, hi := slices.Min(times), slices.Max(times)
			return fmt.Errorf("window [%g, %g) holds no time point (times run from %g to %g s)", w.Start, w.End, lo, hi)
		}
	}
	return nil
}

// Temporal computes the temporal score (docs/design.md §4) of the subject-mean scores, the best layer
// per time window, and each subject's own temporal score.
func Temporal(g []*Sweep, o TemporalOptions) (*TemporalResult, error) {
	if err := CheckGroup(g); err != nil {
		return nil, err
	}
	s0 := g[0]
	if o.Checkpoint < 0 || o.Checkpoint >= s0.C {
		return nil, fmt.Errorf("checkpoint %d out of range (%d checkpoints)", o.Checkpoint, s0.C)
	}
	times, ch, err := groupTimes(g, o.Times)
	if err != nil {
		return nil, err
	}
	if err := CheckWindows(times, o.Windows); err != nil {
		return nil, err
	}
	res := &TemporalResult{Checkpoint: s0.Checkpoints[o.Checkpoint].Name, Channels: ch, Times: times}
	tmp, err := metrics.TemporalScore(MeanTable(g, o.Checkpoint), s0.L, ch, times)
	res.Curves, res.TMax, res.Score = tmp.Curves, tmp.TMax, tmp.Correlation
	if err != nil {
		return res, err
	}
	ws := o.Windows
	if ws == nil {
		ws = usableWindows(times, metrics.StudyWindows)
	}
	if len(ws) > 0 {
		if res.Windows, err = metrics.BestLayerInWindows(MeanTable(g, o.Checkpoint), s0.L, ch, times, ws); err != nil {
			return res, err
		}
	}
	for _, s := range g {
		sc := SubjectScore{Subject: s.Name()}
		t, err := metrics.TemporalScore(s.At(o.Checkpoint), s.L, ch, times)
		sc.R, sc.P, sc.N = t.R, t.P, t.N
		if err != nil {
			sc.R, sc.P, sc.Error = math.NaN(), math.NaN(), err.Error()
		}
		res.Subjects = append(res.Subjects, sc)
	}
	return res, nil
}
