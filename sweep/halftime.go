package sweep

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/brainalign/brainalign/metrics"
)

// Series is a metric measured at every checkpoint and its half-time.
type Series struct {
	Name     string    `json:"name"`
	Values   []float64 `json:"values"`
	HalfTime HalfTime  `json:"half_time"`
	// Undefined lists checkpoints where the metric could not be computed (e.g. every target's
	// best layer the same, so no correlation): their value is 0, no organisation. Undefined at
	// the last checkpoint, the half-time is too.
	Undefined []string `json:"undefined_at,omitempty"`
}

// HalfTime is metrics.HalfTime with JSON that survives an undefined value.
type HalfTime struct {
	metrics.HalfTime
	Error string `json:"error,omitempty"`
}

// MarshalJSON writes NaN as null.
func (h HalfTime) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Step         *float64 `json:"step"`
		Fraction     *float64 `json:"fraction"`
		Interpolated bool     `json:"interpolated"`
		Error        string   `json:"error,omitempty"`
	}{nanNull(h.Step), nanNull(h.Fraction), h.Interpolated, h.Error})
}

func nanNull(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

func halfTimeOf(steps, values []float64) HalfTime {
	h, err := metrics.HalfTimeOf(steps, values)
	ht := HalfTime{HalfTime: h}
	if err != nil {
		ht.Error = err.Error()
	}
	return ht
}

// seriesHalfTime is halfTimeOf for a score that may be undefined at some checkpoints (taken as
// 0 there): undefined at the last checkpoint, last, there is no final value to take half of, and
// the error says why rather than "final value 0".
func seriesHalfTime(steps []float64, s *Series, last string) HalfTime {
	if slices.Contains(s.Undefined, last) {
		return HalfTime{HalfTime: metrics.HalfTime{Step: math.NaN(), Fraction: math.NaN()},
			Error: fmt.Sprintf("the %s score is undefined at the last checkpoint, %s (every target's best layer the same, or too few targets or layers), so it has no final value to take half of", s.Name, last)}
	}
	return halfTimeOf(steps, s.Values)
}

// ROIHalfTime is the half-time of one ROI's mean best-layer score.
type ROIHalfTime struct {
	Name         string    `json:"name"`
	Label        int       `json:"label"`
	HalfTime     HalfTime  `json:"half_time"`
	MeanDistance *float64  `json:"mean_distance_mm,omitempty"`
	Values       []float64 `json:"values"`
}

// WindowHalfTime is the half-time of the best-layer score over one MEG time window.
type WindowHalfTime struct {
	metrics.Window
	HalfTime HalfTime  `json:"half_time"`
	Values   []float64 `json:"values"`
}

// HalfTimeOptions configure HalfTimes.
type HalfTimeOptions struct {
	Mask    MaskOptions
	Spatial SpatialOptions   // V1 reference and coordinates (Checkpoint is ignored)
	Times   []float64        // override the sweeps' MEG times
	Windows []metrics.Window // nil: the study's windows that hold time points
}

// HalfTimeResult holds every half-time a group's metadata allows.
type HalfTimeResult struct {
	Steps       []float64            `json:"steps"`
	Checkpoints []string             `json:"checkpoints"`
	Mask        Mask                 `json:"mask"`
	Encoding    Series               `json:"encoding"`
	Spatial     *Series              `json:"spatial,omitempty"`
	Temporal    *Series              `json:"temporal,omitempty"`
	ROI         []ROIHalfTime        `json:"roi,omitempty"`
	ROIDistance *metrics.Correlation `json:"roi_half_time_vs_distance,omitempty"`
	Windows     []WindowHalfTime     `json:"windows,omitempty"`
	Notes       []string             `json:"notes,omitempty"`
}

// HalfTimes computes, over the checkpoints of a group (steps needed, at least 2):
//   - encoding: the mean over masked targets of the best-layer score (max over layers of the
//     subject-mean table);
//   - spatial (coordinates and a V1 reference known): the target-level spatial score;
//   - temporal (MEG times known): the temporal score;
//   - per ROI (labels known): the ROI mean of the best-layer score over masked targets, and the
//     correlation of ROI half-times with ROI distance from V1 (coordinates known);
//   - per time window (MEG): the mean best-layer score of the masked targets in the window;
//
// and the half-time of each (metrics.HalfTimeOf). The mask is computed once, at the last
// checkpoint, so every checkpoint is averaged over the same targets. It returns ctx's error,
// between checkpoints, once ctx is done.
func HalfTimes(ctx context.Context, g []*Sweep, o HalfTimeOptions) (*HalfTimeResult, error) {
	if err := CheckGroup(g); err != nil {
		return nil, err
	}
	s0 := g[0]
	if s0.C < 2 {
		return nil, fmt.Errorf("%s: too few checkpoints: %d; a half-time needs at least 2", s0.Dir, s0.C)
	}
	steps, ok := s0.Steps()
	if !ok {
		return nil, fmt.Errorf("%s: missing training steps: name checkpoints with their step (ckpt-<step>) or give --steps to sweep", s0.Dir)
	}
	// Sweep writes steps that increase; one whose sweep.json says otherwise (edited, or joined
	// from runs) would leave every half-time undefined, and its last checkpoint, where the mask
	// is taken, not the end of training.
	for c, st := range steps {
		if !(st >= 0) || math.IsInf(st, 0) {
			return nil, fmt.Errorf("%s: checkpoint %s is at step %v: a half-time needs finite steps >= 0 (sweep.json)", s0.Dir, s0.Checkpoints[c].Name, st)
		}
		if c > 0 && !(st > steps[c-1]) {
			return nil, fmt.Errorf("%s: checkpoint %s is at step %v, not after %s's %v: a half-time needs checkpoints in the order of their steps, each at its own (sweep.json; sweep's --steps)",
				s0.Dir, s0.Checkpoints[c].Name, st, s0.Checkpoints[c-1].Name, steps[c-1])
		}
	}
	C, L, M := s0.C, s0.L, s0.M
	res := &HalfTimeResult{Steps: steps}
	for _, c := range s0.Checkpoints {
		res.Checkpoints = append(res.Checkpoints, c.Name)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	mask, err := SignificanceMask(g, C-1, o.Mask)
	if err != nil {
		return nil, err
	}
	res.Mask = mask
	if mask.Significant == 0 {
		return res, fmt.Errorf("no target passes the significance mask at the last checkpoint (FDR %g, %s)", mask.FDR, mask.Replicates)
	}
	best := make([]float64, C*M) // checkpoints x targets
	for c := 0; c < C; c++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		copy(best[c*M:], bestOf(MeanTable(g, c), L, M))
	}
	res.Encoding = Series{Name: "encoding", Values: make([]float64, C)}
	for c := 0; c < C; c++ {
		s, n := 0.0, 0
		for t, k := range mask.Keep {
			if k {
				s += best[c*M+t]
				n++
			}
		}
		res.Encoding.Values[c] = s / float64(n)
	}
	res.Encoding.HalfTime = halfTimeOf(steps, res.Encoding.Values)

	meta := s0.Meta
	// Metadata of any subject counts (groupCoords and groupTimes name a subject without it):
	// the first alone would leave these half-times out, or not, by the folders' order.
	has := func(of func(Meta) bool) bool {
		return slices.ContainsFunc(g, func(s *Sweep) bool { return of(s.Meta) })
	}
	var coords []float64
	var ref [3]float64
	haveRef := false
	if o.Spatial.Coords != nil || has(func(m Meta) bool { return m.Coords != nil }) {
		coords, err = groupCoords(g, o.Spatial)
		if err != nil {
			return nil, err
		}
		v1, err := v1Ref(g, coords, o.Spatial.V1, o.Spatial.V1ROI)
		switch {
		case err != nil && (len(o.Spatial.V1) > 0 || o.Spatial.V1ROI != "" && !strings.EqualFold(o.Spatial.V1ROI, "V1")):
			return nil, err // a reference asked for (--v1, --v1-roi) that cannot be: as spatial
		case err != nil: // no V1 ROI: the other half-times stand
			res.Notes = append(res.Notes, "no spatial half-time: "+err.Error())
		default:
			coords, haveRef = v1.relative(coords), true // each target's reference is now the origin, ref
			if v1.warning != "" {
				res.Notes = append(res.Notes, v1.warning)
			}
		}
	}
	if haveRef {
		sp := &Series{Name: "spatial", Values: make([]float64, C)}
		for c := 0; c < C; c++ {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			b, err := metrics.BestLayer(MeanTable(g, c), L, M)
			var r metrics.Correlation
			if err == nil {
				r, err = metrics.SpatialScore(b.Depth, coords, ref, mask.Keep)
			}
			if err != nil || math.IsNaN(r.R) {
				sp.Undefined = append(sp.Undefined, s0.Checkpoints[c].Name)
				continue
			}
			sp.Values[c] = r.R
		}
		sp.HalfTime = seriesHalfTime(steps, sp, s0.Checkpoints[C-1].Name)
		res.Spatial = sp
	}
	if meta.ROI != nil {
		keep := append([]bool(nil), mask.Keep...)
		for t, l := range meta.ROI {
			keep[t] = keep[t] && l >= 0
		}
		labels, means, err := metrics.ROIMeans(best, C, M, meta.ROI, keep)
		if err != nil {
			res.Notes = append(res.Notes, "no ROI half-times: "+err.Error())
		} else {
			nr := len(labels)
			var dist []float64
			if haveRef {
				d, _ := metrics.Distances(coords, ref)
				dist = make([]float64, nr)
				cnt := make([]int, nr)
				idx := map[int]int{}
				for k, l := range labels {
					idx[l] = k
				}
				for t, l := range meta.ROI {
					if keep[t] {
						dist[idx[l]] += d[t]
						cnt[idx[l]]++
					}
				}
				for k := range dist {
					dist[k] /= float64(cnt[k])
				}
			}
			var hts []metrics.HalfTime
			for k, l := range labels {
				col := make([]float64, C)
				for c := range col {
					col[c] = means[c*nr+k]
				}
				h := halfTimeOf(steps, col)
				rh := ROIHalfTime{Name: meta.ROIName(l), Label: l, HalfTime: h, Values: col}
				if dist != nil {
					rh.MeanDistance = &dist[k]
				}
				res.ROI = append(res.ROI, rh)
				hts = append(hts, h.HalfTime)
			}
			if dist != nil {
				c, err := metrics.HalfTimeDistance(hts, dist)
				if err != nil {
					res.Notes = append(res.Notes, "no ROI half-time vs distance correlation: "+err.Error())
				} else {
					res.ROIDistance = &c
				}
			}
		}
	}
	if o.Times != nil || has(func(m Meta) bool { return m.Times != nil }) {
		times, ch, err := groupTimes(g, o.Times)
		if err != nil {
			return nil, err
		}
		if err := CheckWindows(times, o.Windows); err != nil {
			return nil, err
		}
		tp := &Series{Name: "temporal", Values: make([]float64, C)}
		for c := 0; c < C; c++ {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			t, err := metrics.TemporalScore(MeanTable(g, c), L, ch, times)
			if err != nil || math.IsNaN(t.R) {
				tp.Undefined = append(tp.Undefined, s0.Checkpoints[c].Name)
				continue
			}
			tp.Values[c] = t.R
		}
		tp.HalfTime = seriesHalfTime(steps, tp, s0.Checkpoints[C-1].Name)
		res.Temporal = tp
		ws := o.Windows
		if ws == nil {
			ws = usableWindows(times, metrics.StudyWindows)
		}
		nt := len(times)
		for _, w := range ws {
			wh := WindowHalfTime{Window: w, Values: make([]float64, C)}
			n := 0
			for c := 0; c < C; c++ {
				s := 0.0
				n = 0
				for t, k := range mask.Keep {
					if tm := times[t%nt]; k && w.Contains(tm) {
						s += best[c*M+t]
						n++
					}
				}
				wh.Values[c] = s / float64(n) // NaN without a significant target: undefined, not 0
			}
			if n == 0 {
				wh.HalfTime = HalfTime{HalfTime: metrics.HalfTime{Step: math.NaN(), Fraction: math.NaN()},
					Error: fmt.Sprintf("no significant target in [%g, %g) s", w.Start, w.End)}
			} else {
				wh.HalfTime = halfTimeOf(steps, wh.Values)
			}
			res.Windows = append(res.Windows, wh)
		}
	}
	return res, nil
}

// CompareOptions configure Compare.
type CompareOptions struct {
	Metric      string // encoding, spatial or temporal
	CheckpointA string // "" : the last
	CheckpointB string
	Mask        MaskOptions
	Spatial     SpatialOptions
	Temporal    TemporalOptions
}

// CompareResult is a paired comparison of two models across subjects.
type CompareResult struct {
	Metric   string             `json:"metric"`
	Subjects []string           `json:"subjects"`
	A        []float64          `json:"a"`
	B        []float64          `json:"b"`
	Test     metrics.Comparison `json:"wilcoxon"`
	Pairing  string             `json:"pairing"` // "subject labels", or "order" when a sweep has no subject label
	Pairs    []Pair             `json:"pairs"`   // in the order of Subjects
	Notes    []string           `json:"notes,omitempty"`
}

// Pair is one subject's two sweeps in a comparison.
type Pair struct {
	A string `json:"a"` // sweep folder of model A
	B string `json:"b"` // sweep folder of model B
}

// Pairing orders b's sweeps to match a's subjects: by subject label when every sweep has one,
// else by position (byLabel false).
func Pairing(a, b []*Sweep) (paired []*Sweep, byLabel bool, err error) {
	if len(a) != len(b) {
		return nil, false, fmt.Errorf("%d subjects for model A, %d for model B: the comparison pairs subjects", len(a), len(b))
	}
	byLabel = true
	for _, s := range append(append([]*Sweep(nil), a...), b...) {
		byLabel = byLabel && s.Subject != ""
	}
	out := b
	if byLabel {
		by := map[string]*Sweep{}
		for _, s := range b {
			by[s.Subject] = s
		}
		out = make([]*Sweep, len(a))
		for i, s := range a {
			if out[i] = by[s.Subject]; out[i] == nil {
				return nil, false, fmt.Errorf("subject %q (%s) has no sweep for model B", s.Subject, s.Dir)
			}
		}
	}
	// A sweep of model B of the same brain data (and options) as one of model A, but paired with
	// another: labels (or an order) that name other subjects' data.
	byData := map[string]*Sweep{}
	for _, s := range b {
		if s.Fingerprint != "" {
			byData[s.Fingerprint] = s
		}
	}
	how := "by their order"
	if byLabel {
		how = "by subject label"
	}
	for i, s := range a {
		if m := byData[s.Fingerprint]; s.Fingerprint != "" && m != nil && m != out[i] {
			return nil, false, fmt.Errorf("%s (model A) and %s (model B) are sweeps of the same brain data, but %s the first is paired with %s: do the subject labels (sweep's --subject) or the folders' order name other subjects' data?",
				s.Dir, m.Dir, how, out[i].Dir)
		}
	}
	return out, byLabel, nil
}

// OrderNote says why sweeps paired by position (Pairing's byLabel false) were paired so, and
// names the pairs (a subject label where there is one, else the folder), so that a list given in
// another order shows.
func OrderNote(a, b []*Sweep) string {
	var why []string
	for _, side := range []struct {
		name string
		g    []*Sweep
	}{{"A", a}, {"B", b}} {
		var dirs []string
		for _, s := range side.g {
			if s.Subject == "" {
				dirs = append(dirs, s.Dir)
			}
		}
		switch {
		case len(dirs) == 0:
		case len(dirs) == len(side.g):
			why = append(why, side.name+" sweeps have no subject labels")
		case len(dirs) == 1:
			why = append(why, fmt.Sprintf("1 of %d %s sweeps has no subject label (%s)", len(side.g), side.name, dirs[0]))
		default:
			why = append(why, fmt.Sprintf("%d of %d %s sweeps have no subject label (%s)", len(dirs), len(side.g), side.name, strings.Join(dirs, ", ")))
		}
	}
	label := func(s *Sweep) string {
		if s.Subject != "" {
			return s.Subject
		}
		return s.Dir
	}
	var pairs []string
	for i := range a {
		pairs = append(pairs, label(a[i])+" ↔ "+label(b[i]))
	}
	return strings.Join(why, "; ") + ": paired by order: " + strings.Join(pairs, ", ")
}

// Compare measures a metric per subject for two models (or two checkpoints) and tests the
// difference with the Wilcoxon signed-rank test. Per subject: encoding is the mean best-layer
// score over the targets significant for either model; spatial and temporal are the subject's
// own scores (SpatialResult.Subjects, TemporalResult.Subjects). It returns ctx's error, between
// subjects, once ctx is done.
func Compare(ctx context.Context, a, b []*Sweep, o CompareOptions) (*CompareResult, error) {
	if err := CheckGroup(a); err != nil {
		return nil, err
	}
	if err := CheckGroup(b); err != nil {
		return nil, err
	}
	b, byLabel, err := Pairing(a, b)
	if err != nil {
		return nil, err
	}
	if a[0].M != b[0].M {
		return nil, fmt.Errorf("%s has %d targets, %s has %d: models are compared on the same brain data", a[0].Dir, a[0].M, b[0].Dir, b[0].M)
	}
	ca, err := a[0].CheckpointIndex(o.CheckpointA)
	if err != nil {
		return nil, err
	}
	cb, err := b[0].CheckpointIndex(o.CheckpointB)
	if err != nil {
		return nil, err
	}
	res := &CompareResult{Metric: o.Metric, Pairing: "subject labels"}
	for i, s := range a {
		res.Subjects = append(res.Subjects, s.Name())
		res.Pairs = append(res.Pairs, Pair{A: s.Dir, B: b[i].Dir})
	}
	if !byLabel {
		res.Pairing = "order"
		if len(a) > 1 { // one pair cannot be mis-ordered
			res.Notes = append(res.Notes, OrderNote(a, b))
		}
	}
	switch o.Metric {
	case "encoding", "":
		res.Metric = "encoding"
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		ma, err := SignificanceMask(a, ca, o.Mask)
		if err != nil {
			return nil, err
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		mb, err := SignificanceMask(b, cb, o.Mask)
		if err != nil {
			return nil, err
		}
		keep := make([]bool, a[0].M)
		n := 0
		for t := range keep {
			keep[t] = ma.Keep[t] || mb.Keep[t]
			if keep[t] {
				n++
			}
		}
		if n == 0 {
			return nil, errors.New("no target is significant for either model")
		}
		enc := func(s *Sweep, c int) float64 {
			best := bestOf(s.At(c), s.L, s.M)
			v := 0.0
			for t, k := range keep {
				if k {
					v += best[t] / float64(n)
				}
			}
			return v
		}
		for i := range a {
			res.A = append(res.A, enc(a[i], ca))
			res.B = append(res.B, enc(b[i], cb))
		}
		res.Notes = append(res.Notes, fmt.Sprintf("mean best-layer score over the %d targets significant for either model", n))
	case "spatial":
		var reps []string // the replicates each subject's mask took (auto: folds, or heldout for one fold)
		for i := range a {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			oa, ob := o.Spatial, o.Spatial
			oa.Checkpoint, ob.Checkpoint, oa.Mask, ob.Mask = ca, cb, o.Mask, o.Mask
			ra, err := Spatial([]*Sweep{a[i]}, oa)
			if err != nil {
				return nil, inDir(a[i].Dir, err)
			}
			rb, err := Spatial([]*Sweep{b[i]}, ob)
			if err != nil {
				return nil, inDir(b[i].Dir, err)
			}
			res.A, res.B = append(res.A, ra.Target.R), append(res.B, rb.Target.R)
			for _, m := range []string{ra.Mask.Replicates, rb.Mask.Replicates} {
				if !slices.Contains(reps, m) {
					reps = append(reps, m)
				}
			}
		}
		if o.Mask.Off {
			res.Notes = append(res.Notes, "each subject's target-level spatial r, over all targets (no significance mask)")
		} else {
			res.Notes = append(res.Notes, fmt.Sprintf("each subject's target-level spatial r, with its own significance mask (%s)", strings.Join(reps, ", ")))
		}
	case "temporal":
		for i := range a {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			oa, ob := o.Temporal, o.Temporal
			oa.Checkpoint, ob.Checkpoint = ca, cb
			ra, err := Temporal([]*Sweep{a[i]}, oa)
			if err != nil {
				return nil, inDir(a[i].Dir, err)
			}
			rb, err := Temporal([]*Sweep{b[i]}, ob)
			if err != nil {
				return nil, inDir(b[i].Dir, err)
			}
			res.A, res.B = append(res.A, ra.Score.R), append(res.B, rb.Score.R)
		}
		res.Notes = append(res.Notes, "each subject's temporal r")
	default:
		return nil, fmt.Errorf("metric %q: want encoding, spatial or temporal", o.Metric)
	}
	res.Test, err = metrics.CompareModels(res.A, res.B)
	if err != nil {
		return res, err
	}
	return res, nil
}

// inDir names the sweep folder an error is about, unless the error already starts with it.
func inDir(dir string, err error) error {
	if strings.HasPrefix(err.Error(), dir+":") {
		return err
	}
	return fmt.Errorf("%s: %w", dir, err)
}
