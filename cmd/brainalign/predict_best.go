package main

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/brainalign/brainalign/array"
	"github.com/brainalign/brainalign/engine"
	"github.com/brainalign/brainalign/internal/outdir"
	"github.com/brainalign/brainalign/internal/sysmem"
	"github.com/brainalign/brainalign/internal/textlist"
	"github.com/brainalign/brainalign/sweep"
)

// checkBestLayerFlags refuses the flags that do not go with --best-layer.
func checkBestLayerFlags(c *cli.Context) error {
	switch {
	case c.Bool("save-weights"):
		return usageError("--save-weights does not go with --best-layer: each target's model is of its own layer's features, of another number each, so there is no one weights.npy; " +
			"save a layer's model with predict --layer NAME --brain-mask M --save-weights, M being its targets (best_layer.npy == its index)")
	case c.String("layer") != "":
		return usageError("--layer names one layer; with --best-layer the sweep chooses each target's (--checkpoint chooses the checkpoint whose scores choose)")
	case c.String("new-features") == "":
		return usageError("--best-layer predicts the responses to new stimuli: give their activations with --new-features")
	}
	return nil
}

// predictBestLayers is predict --best-layer: each target of the brain data is predicted from the
// layer of highest cross-validated score in a finished sweep of the same brain data, every layer
// chosen fitted once on its own targets only (one layer's activations in memory at a time), and
// the predictions joined into one array over the targets.
func predictBestLayers(c *cli.Context, out *outdir.Dir, opts engine.Options) error {
	start := time.Now()
	sw, ck, err := openChoosingSweep(c.String("best-layer"), c.String("checkpoint"))
	if err != nil {
		return err
	}
	defer sw.Close()
	warnOtherModel(c, sw, opts)
	y, err := loadMaskedBrain(c)
	if err != nil {
		return err
	}
	defer y.close()
	userMask := y.mask
	choice, err := chooseLayers(sw, ck, y)
	if err != nil {
		return err
	}
	counts := choice.counts(sw.L)
	var used []int // the layers chosen for some target, shallow to deep
	for l, n := range counts {
		if n > 0 {
			used = append(used, l)
		}
	}
	if len(used) == 0 {
		return fmt.Errorf("--best-layer %s: the sweep scored none of the targets predict fits (%s): give the brain data and --brain-mask it scored", sw.Dir, y.name())
	}
	acts, err := findActivations(c, sw, ck, used, counts)
	if err != nil {
		return err
	}
	newIDs, err := readNewIDs(c, acts.fresh[0].String(), acts.newRows)
	if err != nil {
		return err
	}
	space, volumesSkipped, err := predictionSpace(c, y, acts.newRows)
	if err != nil {
		return err
	}
	mapSpace, err := volumeSpace(c.StringSlice("space"), y) // best_layer's: one frame, written even where the predictions' are not
	if err != nil {
		return err
	}
	fit, err := matchFitted(c, acts.first, y)
	if err != nil {
		return err
	}
	ym, checked, err := sweepRows(sw, y, choice, fit, acts, opts.Precision)
	if err != nil {
		return err
	}
	fittedAgain := warnAlsoFitted(c, newIDs, fit)

	cols := make([][]int, sw.L) // each layer's targets among ym's columns
	for j, l := range choice.best {
		if l >= 0 {
			cols[l] = append(cols[l], j)
		}
	}
	largest, predicted := 0, 0
	for _, l := range used {
		largest, predicted = max(largest, len(cols[l])), predicted+len(cols[l])
	}
	if err := checkJoinedFits(opts, acts.newRows, ym.Cols, largest); err != nil {
		return err
	}
	eng, pr, err := openPredictor(c)
	if err != nil {
		return err
	}
	defer eng.Close()
	j, err := fitLayers(c, pr, sw, used, cols, acts, ym, fit, opts, y.name())
	if err != nil {
		return err
	}

	put := putFile(out.Write)
	volumes, err := writePredictOutputs(put, y, space, j.values, j.alphas)
	if err != nil {
		return err
	}
	maps, err := writeBestLayer(put, y, mapSpace, choice.best)
	if err != nil {
		return err
	}
	// the record names the mask given, not the sweep's targets kept
	summary := predictSummary(c, y, userMask, ym.Rows, acts.newRows, predicted, opts, fit, newIDs, fittedAgain, volumesSkipped, append(volumes, maps...))
	ckInfo := sw.Checkpoints[ck]
	summary["features"] = map[string]any{"path": c.String("features"), "checkpoint": ckInfo.Name}
	summary["new_features"] = map[string]any{"path": c.String("new-features")}
	t := j.timings
	summary["run"] = map[string]any{"engine": j.engine, "precision": j.precision.String(), "layers_fitted": len(used), "flops": j.flops,
		"seconds": map[string]float64{"read_features": j.reading.Seconds(), "transfer": t.Transfer.Seconds(), "decompose": t.Decompose.Seconds(),
			"products": t.Products.Seconds(), "select": t.Select.Seconds(), "predict": t.Refit.Seconds(), "fits": t.Total.Seconds(),
			"total": time.Since(start).Seconds()}}
	summary["best_layer"] = map[string]any{
		"sweep":                 sw.Dir,
		"model":                 sw.Model,
		"subject":               sw.Subject,
		"checkpoint":            ckInfo.Name,
		"step":                  ckInfo.Step,
		"layers_scored":         sw.Layers,
		"chosen_by":             "the highest cross-validated score (scores.npy) at the checkpoint; ties to the shallower layer",
		"checked_against_sweep": checked,
		"targets_left_out":      choice.unscored,
		"layers":                j.layers,
		"file":                  "best_layer.npy",
	}
	if err := put.json("predict.json", summary); err != nil {
		return err
	}
	if err := out.Commit(); err != nil {
		return err
	}
	var fitted []string
	for _, l := range used {
		fitted = append(fitted, fmt.Sprintf("%s %d", sw.Layers[l], len(cols[l])))
	}
	fmt.Fprintf(c.App.Writer, "predicted %d targets for %d new images, each from its best layer in %s at checkpoint %s (%d of %d layers, targets each: %s), fitted on %d images, on %s in %s",
		predicted, acts.newRows, sw.Dir, ckInfo.Name, len(used), sw.L, textlist.Some(fitted, 8), ym.Rows, j.engine, time.Since(start).Round(time.Millisecond))
	if choice.unscored > 0 {
		fmt.Fprintf(c.App.Writer, "\n  %d targets without a score in the sweep are left out (NaN; best_layer.npy -1)", choice.unscored)
	}
	if j.mostDropped > 0 {
		fmt.Fprintf(c.App.Writer, "\n  note: %s", droppedNote(j.mostDropped, opts.Standardize, !opts.NoIntercept))
	}
	fmt.Fprintf(c.App.Writer, "\nwrote %s\n", out.Final())
	return nil
}

// chosenActivations are the activations of the layers chosen, of the stimuli with brain data
// (train) and of the new ones (fresh), one source per chosen layer, with their shapes as their
// headers give them.
type chosenActivations struct {
	train, fresh       []sweep.Source
	features           []int  // per chosen layer
	trainRows, newRows int    // the same for every layer
	first              *input // the first layer's training activations, without values: ids are matched to its rows
}

// findActivations finds the chosen layers (used, with the number of targets each is chosen for
// in counts) in --features and --new-features and reads their headers: a layer missing, or of
// other stimuli or features, is refused before any fit.
func findActivations(c *cli.Context, sw *sweep.Sweep, ck int, used, counts []int) (*chosenActivations, error) {
	var a chosenActivations
	var err error
	if a.train, err = chosenSources("--features", c.String("features"), sw, ck, used, counts); err != nil {
		return nil, err
	}
	if a.fresh, err = chosenSources("--new-features", c.String("new-features"), sw, ck, used, counts); err != nil {
		return nil, err
	}
	a.features = make([]int, len(used))
	for k, l := range used {
		ts, err := featureHeader(a.train[k])
		if err != nil {
			return nil, err
		}
		ns, err := featureHeader(a.fresh[k])
		if err != nil {
			return nil, err
		}
		if ns[1] != ts[1] {
			return nil, fmt.Errorf("layer %s: %s has %d features but %s has %d: the new stimuli need the same layer's features",
				sw.Layers[l], a.fresh[k], ns[1], a.train[k], ts[1])
		}
		if k == 0 {
			a.trainRows, a.newRows = ts[0], ns[0]
			a.first = &input{path: a.train[k].Path, member: a.train[k].Member, shape: ts, m: engine.Matrix{Rows: ts[0], Cols: ts[1]}}
		}
		if ts[0] != a.trainRows || ns[0] != a.newRows {
			return nil, fmt.Errorf("layer %s: %s has %d rows and %s %d, but layer %s's %d and %d: every layer needs the same stimuli",
				sw.Layers[l], a.train[k], ts[0], a.fresh[k], ns[0], sw.Layers[used[0]], a.trainRows, a.newRows)
		}
		a.features[k] = ts[1]
	}
	return &a, nil
}

// sweepRows checks that the rows predict fits are those the sweep scored (their number, and
// the sweep's data digest of every value and of the rows' pairing with the features where
// predict's targets are the sweep's), checks their values, and returns them (a copy when matched
// by ids), with what was checked. Targets outside the sweep's mask are left out of y first.
func sweepRows(sw *sweep.Sweep, y *input, choice *layerChoice, fit *fittedRows, acts *chosenActivations, prec engine.Precision) (engine.Matrix, string, error) {
	trainRows, rows := acts.trainRows, y.m.Rows
	if fit != nil {
		rows = len(fit.yRows)
	} else if trainRows != rows {
		return engine.Matrix{}, "", fmt.Errorf("%s has %d rows but %s has %d: rows must be the same stimuli (match them with --features-ids/--brain-ids)",
			acts.first.name(), trainRows, y.name(), rows)
	}
	if rows != sw.Rows {
		return engine.Matrix{}, "", fmt.Errorf("--best-layer %s scored %d rows of brain data, and predict fits %d of %s: give the brain data, --features-ids and --brain-ids the sweep scored",
			sw.Dir, sw.Rows, rows, y.name())
	}
	if choice.unscored > 0 && !choice.inOrder {
		// targets outside the sweep's mask: kept out as by a mask of those it scored (their
		// values are not checked, nor copied with the rows); a target of the sweep without a
		// score (NaN) is left in its place, unfitted
		keepTargets(y, choice.scored())
		choice.best = slices.DeleteFunc(choice.best, func(l int) bool { return l < 0 })
	}
	if fit != nil {
		if err := y.m.CheckValuesRows(y.name(), fit.yRows, prec); err != nil {
			return engine.Matrix{}, "", err
		}
	} else if err := y.m.CheckValues(y.name(), prec); err != nil {
		return engine.Matrix{}, "", err // before any fit: a bad value among the last layer's targets would otherwise stop the run there
	}
	// The sweep's digest is of the rows in use as it held them: copied, with the features' rows,
	// when matched by ids; as read, without. Rows paired as stored give the same data either way,
	// so that predict may match them by ids where the sweep did not, or not where it did.
	digestable := choice.inOrder && sw.DataDigest != ""
	var digests []string
	if digestable && fit != nil && identityRows(fit.xRows, trainRows) && identityRows(fit.yRows, y.m.Rows) {
		digests = append(digests, sweep.DataDigest(y.m, nil))
	}
	ym := y.m
	if fit != nil {
		ym = subsetRows(y.m, fit.yRows)
		y.dropData()
	}
	if !digestable {
		return ym, "rows", nil
	}
	var xRows []int
	if fit != nil {
		xRows = fit.xRows
	}
	digests = append(digests, sweep.DataDigest(ym, xRows))
	if fit == nil && !slices.Contains(digests, sw.DataDigest) {
		all := make([]int, ym.Rows) // as a sweep with ids of the rows as stored hashed them
		for i := range all {
			all[i] = i
		}
		// Data in Fortran order (a MATLAB array, a column-major .npy) are held as read, column-major,
		// and as a row-major copy where a mask (one of every target) or ids took their columns or
		// rows: the sweep may have held them the other way.
		rowMajor, other := ym, engine.Matrix{}
		if ym.ColMajor {
			rowMajor = subsetRows(ym, all)
			other = rowMajor
		} else {
			other = colMajorCopy(ym)
		}
		digests = append(digests, sweep.DataDigest(rowMajor, all), sweep.DataDigest(other, nil))
	}
	if !slices.Contains(digests, sw.DataDigest) {
		return engine.Matrix{}, "", fmt.Errorf("--best-layer %s scored other brain data than %s (its sweep.json's data digest: other values, or rows paired otherwise with the features' by their ids): the layers would be chosen on other data; give the brain data, --brain-mask, --features-ids and --brain-ids the sweep scored",
			sw.Dir, y.name())
	}
	return ym, "data digest", nil
}

// joinedPrediction is the layers' predictions joined, and what the engine reported of them.
type joinedPrediction struct {
	values      engine.Matrix // new rows x targets, NaN where no layer
	alphas      []float64
	layers      []map[string]any // predict.json's record of each layer fitted
	timings     engine.Timings   // summed over the layers
	flops       float64
	engine      string
	precision   engine.Precision
	reading     time.Duration // reading the activations
	mostDropped int
}

// fitLayers fits each layer used to its targets (cols[l] of ym) and joins the predictions: one
// layer's activations in memory at a time.
func fitLayers(c *cli.Context, pr engine.Predictor, sw *sweep.Sweep, used []int, cols [][]int, acts *chosenActivations, ym engine.Matrix,
	fit *fittedRows, opts engine.Options, brainName string) (*joinedPrediction, error) {
	j := &joinedPrediction{values: nanMatrix(acts.newRows, ym.Cols, opts.Precision == engine.Float64), alphas: make([]float64, ym.Cols)}
	for t := range j.alphas {
		j.alphas[t] = math.NaN()
	}
	for k, l := range used {
		name := sw.Layers[l]
		t0 := time.Now()
		x, err := loadFeatures(acts.train[k].Path, acts.train[k].Member, "--layer")
		if err != nil {
			return nil, err
		}
		xNew, err := loadFeatures(acts.fresh[k].Path, acts.fresh[k].Member, "--layer")
		if err != nil {
			x.close()
			return nil, err
		}
		j.reading += time.Since(t0)
		p, err := predictLayer(c, pr, x, xNew, acts.trainRows, ym, cols[l], fit, opts, fmt.Sprintf("predict %s (layer %d of %d)", name, k+1, len(used)), brainName)
		x.close()
		xNew.close()
		if err != nil {
			return nil, fmt.Errorf("layer %s: %w", name, err)
		}
		scatterColumns(j.values, p.Values, cols[l])
		for i, t := range cols[l] {
			j.alphas[t] = p.Alphas[i]
		}
		j.timings.Add(p.Timings)
		j.flops += p.Flops
		j.engine, j.precision = p.Engine, p.Precision
		j.mostDropped = max(j.mostDropped, p.Dropped)
		j.layers = append(j.layers, map[string]any{"name": name, "index": l, "targets": len(cols[l]), "features": acts.features[k],
			"train": acts.train[k].String(), "new": acts.fresh[k].String(), "run": predictRunInfo(p)})
	}
	return j, nil
}

// writeBestLayer writes best_layer.npy, each of y's targets' layer (best per column of its
// matrix; -1 for none and outside a mask), and the same as a volume in space when it is set
// (NaN for none), each by put, returning the volume's file names.
func writeBestLayer(put putFile, y *input, space *array.Geometry, best []int) ([]string, error) {
	m := bestLayerMap(y, best)
	if err := put.npy("best_layer.npy", y.targetShape(), m); err != nil {
		return nil, err
	}
	if space == nil {
		return nil, nil
	}
	v := make([]float64, len(m))
	for i, l := range m {
		v[i] = float64(l)
		if l < 0 {
			v[i] = math.NaN()
		}
	}
	return writeVolumes(space, put, map[string][]float64{"best_layer": v})
}

// predictLayer fits one layer's activations x (rows rows, as their header said) to the targets
// cols of the brain data ym (its rows in use) and predicts the new stimuli xNew, as predict does
// for a mask of those targets.
func predictLayer(c *cli.Context, pr engine.Predictor, x, xNew *input, rows int, ym engine.Matrix, cols []int, fit *fittedRows,
	opts engine.Options, label, brainName string) (*engine.Prediction, error) {
	if x.m.Rows != rows { // its file replaced since its header was read
		return nil, fmt.Errorf("%s has %d rows, and had %d: every layer needs the same stimuli", x.name(), x.m.Rows, rows)
	}
	xm := x.m
	if fit != nil {
		if err := x.m.CheckValuesRows(x.name(), fit.xRows, opts.Precision); err != nil {
			return nil, err
		}
		xm = subsetRows(x.m, fit.xRows)
	}
	if xNew.m.Cols != x.m.Cols {
		return nil, fmt.Errorf("%s has %d features but %s has %d: the new stimuli need the same layer's features", xNew.name(), xNew.m.Cols, x.name(), x.m.Cols)
	}
	yl := selectColumns(ym, cols)
	yl.Shape, yl.SourceColumns = ym.Shape, sourceColumns(ym, cols) // errors name a value where it is in the file
	xm.Name, yl.Name, xNew.m.Name = x.name(), brainName, xNew.name()
	prog := newProgress(c.App.ErrWriter, stderrIsTerminal(c), label)
	opts.Progress = prog.update
	p, err := pr.Predict(c.Context, xm, yl, xNew.m, opts)
	prog.done()
	if errors.Is(err, engine.ErrUnsupported) {
		return nil, usageError("%v", err)
	}
	return p, err
}

// sourceColumns are the columns of the file that columns cols of m were taken from.
func sourceColumns(m engine.Matrix, cols []int) []int {
	if m.Shape == nil {
		return nil
	}
	out := make([]int, len(cols))
	for k, j := range cols {
		out[k] = j
		if m.SourceColumns != nil {
			out[k] = m.SourceColumns[j]
		}
	}
	return out
}

// openChoosingSweep opens the finished sweep in dir whose scores choose the layers (scores.npy
// memory-mapped: only the checkpoint used is read) and finds its checkpoint named by --checkpoint.
func openChoosingSweep(dir, checkpoint string) (*sweep.Sweep, int, error) {
	s, err := sweep.OpenScores(dir)
	if errors.Is(err, sweep.ErrNotMerged) {
		if st, serr := sweep.ReadStatus(dir); serr == nil && len(st.Missing) > 0 {
			return nil, 0, fmt.Errorf("--best-layer %s: the sweep is not finished: %d of its %d units are not scored (%s); run it to the end (all its shards: the last merges the tables)",
				dir, len(st.Missing), st.Units, textlist.Some(st.Missing, 6))
		}
	}
	if err != nil {
		return nil, 0, fmt.Errorf("--best-layer %w", err)
	}
	ck, err := sweepCheckpoint(s, checkpoint)
	if err != nil {
		s.Close()
		return nil, 0, err
	}
	return s, ck, nil
}

// sweepCheckpoint finds a sweep's checkpoint by name, training step or index ("" or "last":
// the last; -1 too). A number that is one checkpoint's step and another's index is refused:
// the sweep's other commands take it as the index.
func sweepCheckpoint(s *sweep.Sweep, name string) (int, error) {
	for i, ck := range s.Checkpoints {
		if ck.Name == name {
			return i, nil
		}
	}
	byStep := -1
	if v, err := strconv.ParseFloat(name, 64); err == nil {
		byStep = slices.IndexFunc(s.Checkpoints, func(ck sweep.CheckpointInfo) bool { return ck.Step != nil && *ck.Step == v })
	}
	byIndex, err := s.CheckpointIndex(name)
	switch {
	case byStep >= 0 && err == nil && byIndex != byStep:
		return 0, fmt.Errorf("--checkpoint %s: the sweep %s has checkpoint %s at step %s and %s at index %s: give the checkpoint's name",
			name, s.Dir, s.Checkpoints[byStep].Name, name, s.Checkpoints[byIndex].Name, name)
	case byStep >= 0:
		return byStep, nil
	case err == nil:
		return byIndex, nil
	}
	var have []string
	for _, ck := range s.Checkpoints {
		if ck.Step != nil {
			have = append(have, fmt.Sprintf("%s (step %s)", ck.Name, strconv.FormatFloat(*ck.Step, 'f', -1, 64)))
		} else {
			have = append(have, ck.Name)
		}
	}
	return 0, fmt.Errorf("--checkpoint %s: the sweep %s has no checkpoint of that name, step or index (it has %s)", name, s.Dir, textlist.Some(have, 8))
}

// layerChoice is each target's best layer as a sweep scored it, over the columns of the brain
// data predict fits (y.m's, after its --brain-mask).
type layerChoice struct {
	best     []int // per column: the layer's index in the sweep's layers, -1 for none
	unscored int   // columns with none: outside the sweep's mask, or of NaN scores only
	// inOrder: the columns are the sweep's targets, in its order, so that its data digest
	// applies to them
	inOrder bool
}

// chooseLayers finds each target's best layer at checkpoint ck of sweep s, for the brain data y
// (read and masked): the layer of highest score, ties to the shallower one, NaN scores passed
// over (-1 where all are). y must be the brain data the sweep scored, of the same shape; its
// targets are the sweep's as recorded: all of them, or with the sweep's --brain-mask the masked
// ones, whose indices sweep keeps (meta/space_targets.npy) where the data have a space, or which
// are predict's own --brain-mask's when it selects as many (the data digest then checks it).
func chooseLayers(s *sweep.Sweep, ck int, y *input) (*layerChoice, error) {
	if !slices.Equal(y.shape, s.Brain.Shape) {
		return nil, fmt.Errorf("--best-layer %s scored brain data of shape %s (%s), and %s is shaped %s: give the brain data the sweep scored",
			s.Dir, array.ShapeString(s.Brain.Shape), s.Brain.Path, y.name(), array.ShapeString(y.shape))
	}
	n := elements(y.shape[1:]) // the brain file's targets
	fileCol := func(j int) int { return j }
	if y.mask != nil && y.mask.size() == n { // a mask over the file's targets (not data masked already)
		fileCol = func(j int) int { return y.mask.cols[j] }
	}
	var sweepTarget func(j int) int // the sweep's target of y.m's column j, -1 for none
	switch {
	case s.M == n:
		sweepTarget = fileCol
	case len(s.Meta.SpaceTargets) == s.M:
		at := make([]int32, n)
		for i := range at {
			at[i] = -1
		}
		for t, f := range s.Meta.SpaceTargets {
			if f < 0 || f >= n {
				return nil, fmt.Errorf("--best-layer %s: meta/space_targets.npy holds target %d, beyond the %d of %s", s.Dir, f, n, y.name())
			}
			at[f] = int32(t)
		}
		sweepTarget = func(j int) int { return int(at[fileCol(j)]) }
	case y.mask != nil && y.mask.size() == n && len(y.mask.cols) == s.M:
		sweepTarget = func(j int) int { return j } // the sweep's mask, as its data digest checks
	default:
		return nil, fmt.Errorf("--best-layer %s scored %d of the %d targets of %s (with a --brain-mask), without a record of which (sweep keeps meta/space_targets.npy for data with a space only): give predict the --brain-mask the sweep had",
			s.Dir, s.M, n, y.name())
	}

	// The best layer of every target of the sweep, reading the checkpoint's scores in order.
	at := s.At(ck)
	bestOf := make([]int, s.M)
	top := make([]float64, s.M)
	for t := range bestOf {
		bestOf[t] = -1
	}
	for l := 0; l < s.L; l++ {
		for t, v := range at[l*s.M : (l+1)*s.M] {
			if !math.IsNaN(v) && (bestOf[t] < 0 || v > top[t]) {
				bestOf[t], top[t] = l, v
			}
		}
	}
	ch := &layerChoice{best: make([]int, y.m.Cols), inOrder: y.m.Cols == s.M}
	for j := range ch.best {
		t := sweepTarget(j)
		ch.inOrder = ch.inOrder && t == j
		ch.best[j] = -1
		if t >= 0 {
			ch.best[j] = bestOf[t]
		}
		if ch.best[j] < 0 {
			ch.unscored++
		}
	}
	return ch, nil
}

// counts is the number of targets each of the sweep's layers is chosen for.
func (ch *layerChoice) counts(layers int) []int {
	n := make([]int, layers)
	for _, l := range ch.best {
		if l >= 0 {
			n[l]++
		}
	}
	return n
}

// scored are the columns with a layer.
func (ch *layerChoice) scored() []int {
	var cols []int
	for j, l := range ch.best {
		if l >= 0 {
			cols = append(cols, j)
		}
	}
	return cols
}

// keepTargets keeps columns cols of y's matrix, as a mask of them over y's targets does: the
// outputs are written over y's targets as before, NaN at those left out.
func keepTargets(y *input, cols []int) {
	sel := selectColumns(y.m, cols)
	sel.Shape, sel.SourceColumns, sel.Name = y.m.Shape, sourceColumns(y.m, cols), y.m.Name
	mk := &targetMask{path: "the targets the sweep scored", shape: y.targetShape(), cols: cols}
	if y.mask != nil {
		kept := *y.mask
		kept.cols = make([]int, len(cols))
		for k, j := range cols {
			kept.cols[k] = y.mask.cols[j]
		}
		mk = &kept
	}
	y.m, y.mask = sel, mk
	y.release()
}

// chosenSources finds the chosen layers (used, with the number of targets each is chosen for in
// counts) in the activations at path (given as flag) by the sweep's names, as sweep finds layers:
// in the sweep's checkpoint ck where path holds several.
func chosenSources(flag, path string, s *sweep.Sweep, ck int, used, counts []int) ([]sweep.Source, error) {
	plan, err := sweep.DiscoverLayers(path)
	if err != nil {
		return nil, fmt.Errorf("%s %w", flag, err)
	}
	cp := &plan.Checkpoints[0]
	chosen := s.Checkpoints[ck].Name
	if len(plan.Checkpoints) == 1 && cp.Name != chosen && slices.ContainsFunc(s.Checkpoints, func(c sweep.CheckpointInfo) bool { return c.Name == cp.Name }) {
		// one checkpoint is taken for the chosen one (a bundle is named as its file), but not one
		// named as another of the sweep's: a checkpoint's folder
		return nil, fmt.Errorf("%s %s holds the activations of the sweep's checkpoint %s, not of %s, whose scores chose the layers: give %s's activations (or --checkpoint %s)",
			flag, path, cp.Name, chosen, chosen, cp.Name)
	}
	if len(plan.Checkpoints) > 1 {
		cp = nil
		var names []string
		for i := range plan.Checkpoints {
			names = append(names, plan.Checkpoints[i].Name)
			if plan.Checkpoints[i].Name == s.Checkpoints[ck].Name {
				cp = &plan.Checkpoints[i]
			}
		}
		if cp == nil {
			return nil, fmt.Errorf("%s %s holds %d checkpoints (%s), none named %s, the sweep's checkpoint whose scores chose the layers: give that checkpoint's activations",
				flag, path, len(names), textlist.Some(names, 6), s.Checkpoints[ck].Name)
		}
	}
	at := map[string]int{}
	for i, name := range plan.Layers {
		at[name] = i
	}
	var srcs []sweep.Source
	var missing []string
	for _, l := range used {
		i, ok := at[s.Layers[l]]
		if !ok {
			missing = append(missing, fmt.Sprintf("%s (best for %d targets)", s.Layers[l], counts[l]))
			continue
		}
		srcs = append(srcs, cp.Layers[i])
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%s %s has no layer %s, chosen by the sweep %s (its layers there: %s): give the activations of the layers it scored, named as its sweep.json names them",
			flag, path, strings.Join(missing, ", "), s.Dir, textlist.Some(plan.Layers, 8))
	}
	return srcs, nil
}

// featureHeader reads the shape of a layer's activations from its file's header (no values),
// which must be 2-d (images x features) as loadFeatures requires.
func featureHeader(src sweep.Source) ([]int, error) {
	f, in, member, err := openMember(src.Path, src.Member, "--layer")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	e := f.Lookup(member)
	if e.Err != nil {
		return nil, e.Err
	}
	if len(e.Shape) != 2 {
		return nil, fmt.Errorf("%s: features must be 2-d (images x features), got shape %v; pool or flatten other axes first", in.name(), e.Shape)
	}
	return e.Shape, nil
}

// checkJoinedFits refuses, before any fit, predictions that do not fit in memory joined: the
// joined array (new rows x targets) beside the largest layer's own predictions must fit in half
// the memory limit, as the engine's outputs must.
func checkJoinedFits(opts engine.Options, newRows, targets, largest int) error {
	size := int64(4)
	if opts.Precision == engine.Float64 {
		size = 8
	}
	need := int64(newRows) * int64(targets+largest) * size
	limit, which := opts.MemoryLimit, "memory limit"
	if limit == 0 {
		avail, ok := sysmem.Available()
		if !ok {
			return nil
		}
		limit, which = max(avail/2, 1), "default memory limit (half of the memory available to this process; set it with --memory)"
	}
	if need > limit/2 {
		return fmt.Errorf("%w: the joined predictions (%d new images x %d targets) with the largest layer's own (%d targets) take %s, more than half the %s, %s: predict fewer new stimuli at once",
			engine.ErrOutOfMemory, newRows, targets, largest, engine.FormatBytes(need), which, engine.FormatBytes(limit))
	}
	return nil
}

// nanMatrix is a rows x cols row-major matrix of NaN, float64 or float32.
func nanMatrix(rows, cols int, f64 bool) engine.Matrix {
	if f64 {
		v := make([]float64, rows*cols)
		for i := range v {
			v[i] = math.NaN()
		}
		return engine.NewMatrix64(rows, cols, v)
	}
	v := make([]float32, rows*cols)
	nan := float32(math.NaN())
	for i := range v {
		v[i] = nan
	}
	return engine.NewMatrix32(rows, cols, v)
}

// scatterColumns copies the columns of part (rows x len(cols)) into columns cols of joined, of
// the same precision.
func scatterColumns(joined, part engine.Matrix, cols []int) {
	k := len(cols)
	for i := 0; i < part.Rows; i++ {
		if joined.F64 != nil {
			row, src := joined.F64[i*joined.Cols:(i+1)*joined.Cols], part.F64[i*k:(i+1)*k]
			for c, j := range cols {
				row[j] = src[c]
			}
			continue
		}
		row, src := joined.F32[i*joined.Cols:(i+1)*joined.Cols], part.F32[i*k:(i+1)*k]
		for c, j := range cols {
			row[j] = src[c]
		}
	}
}

// bestLayerMap is the best layer of each of y's targets (its trailing shape, or its mask's),
// from best per column of y's matrix: -1 outside a mask.
func bestLayerMap(y *input, best []int) []int64 {
	out := make([]int64, elements(y.targetShape()))
	for i := range out {
		out[i] = -1
	}
	for j, l := range best {
		if y.mask != nil {
			out[y.mask.cols[j]] = int64(l)
		} else {
			out[j] = int64(l)
		}
	}
	return out
}

// elements is the number of elements of an array of the given shape.
func elements(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// colMajorCopy copies a row-major matrix into a column-major one of the same precision.
func colMajorCopy(m engine.Matrix) engine.Matrix {
	out := engine.Matrix{Rows: m.Rows, Cols: m.Cols, ColMajor: true}
	if m.Is64() {
		out.F64 = make([]float64, m.Rows*m.Cols)
	} else {
		out.F32 = make([]float32, m.Rows*m.Cols)
	}
	for i := range m.Rows {
		for j := range m.Cols {
			if out.F64 != nil {
				out.F64[j*m.Rows+i] = m.F64[i*m.Cols+j]
			} else {
				out.F32[j*m.Rows+i] = m.F32[i*m.Cols+j]
			}
		}
	}
	return out
}

// identityRows reports whether rows are 0, 1, ..., n-1: every row, as stored.
func identityRows(rows []int, n int) bool {
	if len(rows) != n {
		return false
	}
	for i, r := range rows {
		if r != i {
			return false
		}
	}
	return true
}

// warnOtherModel warns when predict fits another model than the one the sweep scored its layers
// with (penalty grid, inner selection, shared penalty, intercept, standardised features): the
// layers are then chosen for a model that is not the one fitted. Allowed, as a choice.
func warnOtherModel(c *cli.Context, sw *sweep.Sweep, opts engine.Options) {
	if diffs := sw.Options.ModelDiff(opts.Summary()); len(diffs) > 0 {
		fmt.Fprintf(c.App.ErrWriter, "brainalign: warning: the sweep %s chose the layers with another model than predict fits: %s (give predict the sweep's model flags)\n",
			sw.Dir, strings.Join(diffs, "; "))
	}
}
