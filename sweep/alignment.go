package sweep

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/brainalign/brainalign/internal/textlist"
	"github.com/brainalign/brainalign/metrics"
)

// AlignmentOptions choose the one number that summarises a model's alignment with the brain:
// the mean score over targets at one checkpoint and one layer, averaged over subjects.
type AlignmentOptions struct {
	Checkpoint string // name or index ("-1" the last); "" or "last": the last checkpoint
	// Layer is "" or "best" (the layer whose subject-mean score is the highest), "cv", "last",
	// or a layer's name or index. "best" selects on the scores it reports, so it is optimistic
	// by the spread of the layers' scores; it is the convention of layer sweeps (Brain-Score,
	// the study). "cv" removes that bias with the outer folds: each fold's score is taken at the
	// layer that is best on the other folds (subject-mean), so no score is that of a layer chosen
	// on it.
	Layer string
	ROI   string // only the targets of this ROI (by name, case-insensitive); "": all targets
	// Window keeps only the MEG time points in [Start, End) s (the sweep's times; targets are
	// channels x times); nil: all times.
	Window *metrics.Window
	// Ceiled divides each subject's mean score by the mean noise ceiling of the same targets
	// (sweep's --ceiling; targets whose ceiling is NaN are left out): the fraction of the
	// explainable correlation reached, comparable across subjects and ROIs of unequal noise.
	Ceiled bool
}

// Alignment is one model's alignment score over its subjects' sweeps.
type Alignment struct {
	Model         string          `json:"model"`
	Checkpoint    string          `json:"checkpoint"`
	Step          *float64        `json:"step,omitempty"`
	Layer         string          `json:"layer"`
	LayerIndex    int             `json:"layer_index"`
	RelativeDepth float64         `json:"relative_depth"`
	ROI           string          `json:"roi,omitempty"`
	Window        *metrics.Window `json:"window,omitempty"`
	Ceiled        bool            `json:"ceiled,omitempty"` // scores divided by the noise ceiling
	Targets       []int           `json:"targets"`          // targets averaged, per subject
	Score         float64         `json:"score"`            // mean over subjects
	SE            float64         `json:"score_se"`         // standard error over subjects (NaN with one)
	Subjects      []SubjectMean   `json:"subjects"`         // each subject's score at the chosen layer
	LayerScores   []float64       `json:"layer_means"`      // subject-mean score of every layer
	// FoldLayers are the layers chosen for each outer fold with Layer "cv" (Layer is then the
	// one chosen most often, the first of those tied).
	FoldLayers []string `json:"fold_layers,omitempty"`
	Dirs       []string `json:"sweeps"`
	// Fingerprints are the subjects' brain data and options (sweep.json's fingerprint), sorted:
	// models scored on the same subjects with the same options have the same list.
	Fingerprints []string `json:"fingerprints"`
}

// SubjectMean is one subject's mean score over targets at the chosen checkpoint and layer.
type SubjectMean struct {
	Subject string  `json:"subject"`
	Score   float64 `json:"score"`
	// Ceiling is the mean noise ceiling of the targets averaged, by which Score was divided
	// (AlignmentOptions.Ceiled); 0 when not ceiled.
	Ceiling float64 `json:"ceiling,omitempty"`
	// Fingerprint is the subject's brain data and options (sweep.json's): the same subject,
	// scored with the same options, has it in every model's sweeps.
	Fingerprint string `json:"fingerprint,omitempty"`
}

// ModelAlignment summarises the sweeps of one model (one per subject, each over its own targets;
// CheckModelGroup must accept them) as one alignment score: at the checkpoint o.Checkpoint, each subject's mean score over
// the targets (of o.ROI, at the times of o.Window) per layer; the layer is o.Layer, by default the one whose mean over
// subjects is the highest; the score is that layer's mean over subjects, with its standard
// error across subjects.
func ModelAlignment(g []*Sweep, o AlignmentOptions) (*Alignment, error) {
	if err := CheckModelGroup(g); err != nil {
		return nil, err
	}
	if err := CheckDistinctSubjects(g, "the sweeps of model "+g[0].Model); err != nil {
		return nil, err
	}
	a := g[0]
	c, err := a.CheckpointIndex(o.Checkpoint)
	if err != nil {
		return nil, err
	}
	// perLayer[s][l]: subject s's mean over its selected targets at layer l.
	perLayer := make([][]float64, len(g))
	targets := make([]int, len(g))
	ceilings := make([]float64, len(g))
	for i, s := range g {
		sel, err := s.selectTargets(o)
		if err != nil {
			return nil, err
		}
		targets[i] = len(sel)
		if sel == nil {
			targets[i] = s.M
		}
		if ceilings[i], err = s.ceilingOf(sel, o); err != nil {
			return nil, err
		}
		perLayer[i] = make([]float64, s.L)
		tab := s.At(c)
		for l := range s.L {
			m := meanOf(tab[l*s.M:(l+1)*s.M], sel) / ceilings[i]
			if math.IsNaN(m) || math.IsInf(m, 0) {
				return nil, fmt.Errorf("%s: the mean score of layer %s at checkpoint %s is %v: scores.npy is damaged (merge the sweep again)",
					s.Dir, s.Layers[l], s.Checkpoints[c].Name, m)
			}
			perLayer[i][l] = m
		}
	}
	means := make([]float64, a.L)
	for _, pl := range perLayer {
		for l, v := range pl {
			means[l] += v / float64(len(g))
		}
	}
	var layer int
	var cv *crossValidated
	if o.Layer == "cv" {
		if cv, err = crossValidate(g, c, o, ceilings); err != nil {
			return nil, err
		}
		layer = cv.mode
	} else if layer, err = chooseLayer(a, o.Layer, means); err != nil {
		return nil, err
	}
	res := &Alignment{Model: a.Model, Checkpoint: a.Checkpoints[c].Name, Step: a.Checkpoints[c].Step,
		Layer: a.Layers[layer], LayerIndex: layer, RelativeDepth: float64(layer) / float64(a.L-1),
		ROI: o.ROI, Window: o.Window, Ceiled: o.Ceiled, Targets: targets, Score: means[layer], SE: math.NaN(), LayerScores: means}
	subject := func(i int) float64 { return perLayer[i][layer] }
	if cv != nil {
		subject = func(i int) float64 { return cv.subjects[i] }
		res.Score = 0
		for i := range g {
			res.Score += cv.subjects[i] / float64(len(g))
		}
		for _, l := range cv.layers {
			res.FoldLayers = append(res.FoldLayers, a.Layers[l])
		}
	}
	for i, s := range g {
		sm := SubjectMean{Subject: s.Name(), Score: subject(i), Fingerprint: s.Fingerprint}
		if o.Ceiled {
			sm.Ceiling = ceilings[i]
		}
		res.Subjects = append(res.Subjects, sm)
		res.Dirs = append(res.Dirs, s.Dir)
		res.Fingerprints = append(res.Fingerprints, s.Fingerprint)
	}
	slices.Sort(res.Fingerprints)
	if n := len(g); n > 1 {
		ss := 0.0
		for i := range g {
			d := subject(i) - res.Score
			ss += d * d
		}
		res.SE = math.Sqrt(ss / float64(n-1) / float64(n))
	}
	return res, nil
}

// crossValidated is the "cv" layer choice: per outer fold, the layer best on the other folds.
type crossValidated struct {
	layers   []int     // per fold
	mode     int       // the layer chosen most often (the first of those tied)
	subjects []float64 // each subject's mean over folds of its fold score at the fold's layer
}

// crossValidate chooses, for each outer fold f, the layer whose subject-mean score over the
// other folds is the highest (ties: the first), and scores each subject by the mean over folds
// of its fold-f score (mean over the selected targets, divided by ceilings[i]) at that layer. The
// fold scores are read from fold_scores.npy at checkpoint c.
func crossValidate(g []*Sweep, c int, o AlignmentOptions, ceilings []float64) (*crossValidated, error) {
	a := g[0]
	if a.F < 2 {
		return nil, fmt.Errorf("%s: --layer cv needs at least 2 folds, the sweep has %d", a.Dir, a.F)
	}
	// fold[i][l*F+f]: subject i's mean fold-f score over its selected targets at layer l.
	fold := make([][]float64, len(g))
	for i, s := range g {
		if err := s.mapFoldScores(); err != nil {
			return nil, err
		}
		sel, err := s.selectTargets(o)
		if err != nil {
			return nil, err
		}
		fold[i] = make([]float64, s.L*s.F)
		for l := range s.L {
			for f := range s.F {
				m := meanOf(s.FoldScores[((c*s.L+l)*s.F+f)*s.M:((c*s.L+l)*s.F+f+1)*s.M], sel) / ceilings[i]
				if math.IsNaN(m) || math.IsInf(m, 0) {
					return nil, fmt.Errorf("%s: the mean fold score of layer %s, fold %d at checkpoint %s is %v: fold_scores.npy is damaged (merge the sweep again)",
						s.Dir, s.Layers[l], f, s.Checkpoints[c].Name, m)
				}
				fold[i][l*s.F+f] = m
			}
		}
	}
	L, F := a.L, a.F
	cv := &crossValidated{layers: make([]int, F), subjects: make([]float64, len(g))}
	count := make([]int, L)
	for f := range F {
		best, bestV := 0, math.Inf(-1)
		for l := range L {
			v := 0.0 // the subject-mean over the other folds (a sum: the same count for every layer)
			for i := range g {
				for f2 := range F {
					if f2 != f {
						v += fold[i][l*F+f2]
					}
				}
			}
			if v > bestV {
				best, bestV = l, v
			}
		}
		cv.layers[f] = best
		count[best]++
		for i := range g {
			cv.subjects[i] += fold[i][best*F+f] / float64(F)
		}
	}
	for l := range L {
		if count[l] > count[cv.mode] {
			cv.mode = l
		}
	}
	return cv, nil
}

// chooseLayer resolves AlignmentOptions.Layer against the subject-mean layer scores.
func chooseLayer(s *Sweep, name string, means []float64) (int, error) {
	switch name {
	case "", "best":
		best := 0
		for l, v := range means {
			if v > means[best] {
				best = l
			}
		}
		return best, nil
	case "last":
		return s.L - 1, nil
	}
	if i := slices.Index(s.Layers, name); i >= 0 {
		return i, nil
	}
	if i, err := strconv.Atoi(name); err == nil {
		if i < 0 {
			i += s.L
		}
		if i >= 0 && i < s.L {
			return i, nil
		}
	}
	return 0, fmt.Errorf("%s: no layer %q (want best, cv, last, an index from 0 to %d, or one of %s)", s.Dir, name, s.L-1, textlist.Some(s.Layers, 8))
}

// selectTargets returns the indices of the targets of o.ROI and o.Window (and with o.Ceiled,
// those with a noise ceiling), nil for all targets.
func (s *Sweep) selectTargets(o AlignmentOptions) ([]int, error) {
	if o.Ceiled && s.Meta.Ceiling == nil {
		return nil, fmt.Errorf("%s: --ceiled, but the sweep has no noise ceiling (sweep's --ceiling, from brainalign ceiling)", s.Dir)
	}
	noCeiling := 0
	if o.Ceiled {
		for _, c := range s.Meta.Ceiling {
			if math.IsNaN(c) {
				noCeiling++
			}
		}
	}
	if o.ROI == "" && o.Window == nil && noCeiling == 0 {
		return nil, nil
	}
	keep := make([]bool, s.M)
	for t := range keep {
		keep[t] = !o.Ceiled || !math.IsNaN(s.Meta.Ceiling[t])
	}
	if o.ROI != "" {
		if s.Meta.ROI == nil {
			return nil, fmt.Errorf("%s: --roi %s, but the sweep has no ROI labels (sweep's --roi)", s.Dir, o.ROI)
		}
		lab, ok := s.Meta.ROILabel(o.ROI)
		if !ok {
			var names []string
			for _, l := range s.Meta.Labels() {
				names = append(names, s.Meta.ROIName(l))
			}
			return nil, fmt.Errorf("%s: no ROI named %q (have %s)", s.Dir, o.ROI, textlist.Some(names, 8))
		}
		for t, l := range s.Meta.ROI {
			keep[t] = keep[t] && l == lab
		}
	}
	if w := o.Window; w != nil {
		times := s.Meta.Times
		if times == nil {
			return nil, fmt.Errorf("%s: --window, but the sweep has no MEG times (sweep's --times)", s.Dir)
		}
		if tr := s.Trailing; len(tr) < 2 || tr[len(tr)-1] != len(times) {
			return nil, fmt.Errorf("%s: %d MEG times, but the targets' shape is %v (want channels x times)", s.Dir, len(times), s.Trailing)
		}
		inside := 0
		for t := range keep {
			tt := times[t%len(times)]
			in := w.Contains(tt)
			keep[t] = keep[t] && in
			if in {
				inside++
			}
		}
		if inside == 0 {
			return nil, fmt.Errorf("%s: no MEG time point in the window %g:%g s (times %g to %g s)", s.Dir, w.Start, w.End, times[0], times[len(times)-1])
		}
	}
	var sel []int
	for t, k := range keep {
		if k {
			sel = append(sel, t)
		}
	}
	if len(sel) == 0 {
		if o.ROI == "" && o.Window == nil {
			return nil, fmt.Errorf("%s: no target has a noise ceiling (meta/ceiling.npy is all NaN)", s.Dir)
		}
		if o.Window != nil {
			return nil, fmt.Errorf("%s: no target of ROI %s in the window", s.Dir, o.ROI)
		}
		if noCeiling > 0 {
			return nil, fmt.Errorf("%s: ROI %s has no targets with a noise ceiling", s.Dir, o.ROI)
		}
		return nil, fmt.Errorf("%s: ROI %s has no targets", s.Dir, o.ROI)
	}
	return sel, nil
}

// ceilingOf is the mean noise ceiling of the targets sel (nil: all) with o.Ceiled, else 1: what
// mean scores over those targets are divided by.
func (s *Sweep) ceilingOf(sel []int, o AlignmentOptions) (float64, error) {
	if !o.Ceiled {
		return 1, nil
	}
	c := meanOf(s.Meta.Ceiling, sel)
	if !(c > 0) {
		return 0, fmt.Errorf("%s: the noise ceiling of the targets scored is 0 (no signal to divide by)", s.Dir)
	}
	return c, nil
}

// CheckDistinctSubjects refuses two sweeps of one subject in a group: the same subject label,
// or the same brain data and options (the sweeps' fingerprints). among says where, for the
// message ("the --a folders"). Its errors are *GroupError.
func CheckDistinctSubjects(g []*Sweep, among string) error {
	subj, fp := map[string]string{}, map[string]string{}
	for _, s := range g {
		if s.Subject != "" {
			if prev, ok := subj[s.Subject]; ok {
				return groupErrorf("subject %s has two sweeps among %s (%s and %s): give each subject's sweep once", s.Subject, among, prev, s.Dir)
			}
			subj[s.Subject] = s.Dir
		}
		if s.Fingerprint != "" {
			if prev, ok := fp[s.Fingerprint]; ok {
				return groupErrorf("%s and %s among %s are sweeps of the same brain data (the same subject twice?): give each subject's sweep once", prev, s.Dir, among)
			}
			fp[s.Fingerprint] = s.Dir
		}
	}
	return nil
}

// FindSweeps returns the sweep folders (those holding a sweep.json) among paths: a path that is
// one is taken as is; any other folder is searched, following symbolic links (results folders
// often link to sweeps on scratch), skipping hidden folders (staging and temp folders), and not
// descending into the sweeps it finds. A folder found twice (given twice, or through links) is
// listed once, in the order first found. A path that is neither a sweep nor holds one is an
// error.
func FindSweeps(paths []string) ([]string, error) {
	var out []string
	// found: the sweeps under each folder visited, by resolved path (0 while being walked, so a
	// link back up a tree ends the walk); a folder reached again counts what it held.
	found := map[string]int{}
	var walk func(dir string) (int, error)
	walk = func(dir string) (int, error) {
		key := dir
		if abs, err := filepath.Abs(dir); err == nil {
			key = abs
		}
		if r, err := filepath.EvalSymlinks(key); err == nil {
			key = r
		}
		if n, ok := found[key]; ok {
			return n, nil
		}
		found[key] = 0
		if _, err := os.Stat(filepath.Join(dir, "sweep.json")); err == nil {
			out = append(out, dir)
			found[key] = 1
			return 1, nil
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			return 0, fmt.Errorf("%s: %v", dir, errors.Unwrap(err))
		}
		n := 0
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), ".") {
				continue
			}
			p := filepath.Join(dir, e.Name())
			if e.Type()&fs.ModeSymlink != 0 {
				if st, err := os.Stat(p); err != nil || !st.IsDir() {
					continue // a dangling link, or a link to a file
				}
			} else if !e.IsDir() {
				continue
			}
			k, err := walk(p)
			if err != nil {
				return 0, err
			}
			n += k
		}
		found[key] = n
		return n, nil
	}
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", p, errors.Unwrap(err))
		}
		if !st.IsDir() {
			return nil, fmt.Errorf("%s: not a folder (give sweep output folders, or folders holding them)", p)
		}
		n, err := walk(p)
		if err != nil {
			return nil, err
		}
		if n == 0 {
			return nil, fmt.Errorf("%s: no sweep output folder in it (no sweep.json; make them with `brainalign sweep`)", p)
		}
	}
	return out, nil
}

// ModelSweeps groups sweep folders by model label (sweep's --model), models in the order of
// their first folder, reading only each folder's sweep.json.
func ModelSweeps(dirs []string) (models []string, byModel map[string][]string, err error) {
	byModel = map[string][]string{}
	for _, d := range dirs {
		m, err := readManifestJSON(d)
		if err != nil {
			return nil, nil, err
		}
		if m.Model == "" {
			return nil, nil, fmt.Errorf("%s: the sweep has no model label (sweep's --model); it cannot be matched to a model", d)
		}
		if _, ok := byModel[m.Model]; !ok {
			models = append(models, m.Model)
		}
		byModel[m.Model] = append(byModel[m.Model], d)
	}
	return models, byModel, nil
}

// LoadAlignment opens the sweeps of one model (OpenScores: only the scores of the checkpoint
// used are read), summarises them with ModelAlignment and releases them, so that many models
// are read one at a time in little memory. It returns ctx's error, between sweeps, once ctx is
// done.
func LoadAlignment(ctx context.Context, dirs []string, o AlignmentOptions) (*Alignment, error) {
	as, err := LoadAlignments(ctx, dirs, []AlignmentOptions{o})
	if err != nil {
		return nil, err
	}
	return as[0], nil
}

// LoadAlignments is LoadAlignment for several options at once (one per ROI, say), opening the
// sweeps once.
func LoadAlignments(ctx context.Context, dirs []string, opts []AlignmentOptions) ([]*Alignment, error) {
	var g []*Sweep
	defer func() {
		for _, s := range g {
			s.Close()
		}
	}()
	for _, d := range dirs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		s, err := OpenScores(d)
		if err != nil {
			return nil, err
		}
		g = append(g, s)
	}
	out := make([]*Alignment, len(opts))
	for i, o := range opts {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		a, err := ModelAlignment(g, o)
		if err != nil {
			return nil, err
		}
		out[i] = a
	}
	return out, nil
}

// ROINames lists the ROIs of the sweep in dir (from its saved metadata), by label; none when
// the sweep has no ROI labels.
func ROINames(dir string) ([]string, error) {
	s, err := OpenScores(dir)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	var names []string
	for _, l := range s.Meta.Labels() {
		names = append(names, s.Meta.ROIName(l))
	}
	return names, nil
}

// meanOf is the mean of row over the targets sel (nil: all of them).
func meanOf(row []float64, sel []int) float64 {
	sum := 0.0
	if sel == nil {
		for _, v := range row {
			sum += v
		}
		return sum / float64(len(row))
	}
	for _, t := range sel {
		sum += row[t]
	}
	return sum / float64(len(sel))
}
