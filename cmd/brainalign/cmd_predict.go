package main

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/brainalign/brainalign/array"
	"github.com/brainalign/brainalign/engine"
	"github.com/brainalign/brainalign/internal/sysmem"
)

const catBestLayer = "Each target from its best layer"

func init() {
	registerCommand(argsCommand(&cli.Command{
		Name:      "predict",
		Usage:     "fit ridge on every stimulus with brain data and predict the responses to new stimuli",
		ArgsUsage: " ",
		Description: "Fits ridge regression from --features (images x features) to every target of --brain on all\n" +
			"their rows, the penalty chosen per target (or one shared) by --inner on those rows as encode\n" +
			"does inside each training fold (scikit-learn's RidgeCV(alpha_per_target=True) by default), and\n" +
			"predicts the brain responses to the stimuli of --new-features (new images x the same features:\n" +
			"a challenge's test images, such as Algonauts', or images never shown, for in-silico\n" +
			"experiments). Writes to --out:\n" +
			"  predictions.npy  new images x the brain data's trailing axes, in the brain data's units\n" +
			"                   (intercept included): float32, or float64 with --precision float64;\n" +
			"                   NaN outside --brain-mask\n" +
			"  alphas.npy       the penalty chosen for each target (the trailing axes, float64)\n" +
			"  predict.json     inputs, shapes, grid, inner selection, engine, timings\n" +
			"  weights.npy, intercepts.npy  with --save-weights: the fitted model, features x the trailing\n" +
			"                   axes and the trailing axes (scikit-learn's coef_.T and intercept_), so that\n" +
			"                   predictions = X_new @ weights + intercepts; --new-features may then be left out\n" +
			"  predictions.nii.gz (or .mgz, .dscalar.nii, .func.gii; lh./rh. for hemispheres joined) with\n" +
			"                   one frame per new image, when the brain data is NIfTI, MGH, CIFTI or\n" +
			"                   GIFTI, or with --space\n" +
			"Nothing is held out, so no score is computed: encode scores the same model by\n" +
			"cross-validation. With --features-ids and --brain-ids the fitted rows are matched by id; with\n" +
			"--new-ids (one id per row of --new-features) new stimuli that were also fitted on are named in\n" +
			"a warning (their brain data trained the model). Volumes are skipped, with a warning, beyond\n" +
			"NIfTI-1's 32,767 frames or half the available memory. In a cuda build the GPU predicts and\n" +
			"forms the model (--save-weights).\n" +
			"\n" +
			"With --best-layer SWEEP (a finished brainalign sweep of the same brain data), each target is\n" +
			"predicted from its own best layer: the layer of highest cross-validated score in the sweep's\n" +
			"scores.npy at its last checkpoint (--checkpoint: another), ties to the shallower layer.\n" +
			"--features and --new-features are then the model's activations as sweep reads them (an .npz,\n" +
			".safetensors or HDF5 bundle, a folder of layer .npy files, a manifest; of a folder of\n" +
			"checkpoints, the sweep's checkpoint's), holding the chosen layers under the sweep's names. Each\n" +
			"chosen layer is fitted once, on its own targets only, one layer's activations in memory at a\n" +
			"time; the outputs join them, and add\n" +
			"  best_layer.npy   each target's layer (its index in the sweep's layers; int64, the trailing\n" +
			"                   axes), -1 where none (outside the mask, or no score in the sweep: NaN\n" +
			"                   predictions), and as a volume where the data have a space\n" +
			"predict.json lists each layer fitted (name, index, targets, timings). The sweep must be merged,\n" +
			"and of the same brain data (shape, targets or its --brain-mask, rows, values). --save-weights\n" +
			"does not go with it: predict a layer's targets (best_layer.npy == k as --brain-mask) for its\n" +
			"model.",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "features", Aliases: []string{"x"}, Required: true, Usage: "activations `X.npy` of the stimuli with brain data (n x d); with --best-layer, the model's (a bundle or folder of layers)"},
			&cli.StringFlag{Name: "new-features", Usage: "activations `NEW.npy` of the stimuli to predict (new images x d: the same layer's features; with --best-layer, the same layers'); required unless --save-weights"},
			&cli.BoolFlag{Name: "save-weights", Usage: "also write the fitted model: weights.npy (features x targets) and intercepts.npy"},
			brainFlag(true),
			&cli.StringFlag{Name: "out", Aliases: []string{"o"}, Required: true, Usage: "output `DIR` (written all at once)"},
			&cli.StringFlag{Name: "layer", Usage: "array `NAME` inside .npz, .safetensors or HDF5 features files (both --features and --new-features; a .npy --new-features beside a bundle's --features is taken as that layer's)"},
			brainArrayFlag(),
			&cli.StringFlag{Name: "features-ids", Usage: "stimulus ids of the feature rows, one per `FILE` line, or a .npy of strings or integers (np.save of the names or image indices)"},
			brainIDsFlag(),
			&cli.StringFlag{Name: "new-ids", Usage: "stimulus ids of the --new-features rows, one per `FILE` line or a .npy of strings or integers: recorded, and checked against the stimuli fitted on (their ids: --features-ids)"},
			brainMaskFlag("predictions hold NaN elsewhere"),
			&cli.StringSliceFlag{Name: "space", Usage: "also write the predictions as volumes in the space of `FILE` (a NIfTI, MGH, CIFTI or GIFTI file whose voxels, vertices or grayordinates are the targets; repeat for targets joined from several spaces: lh, then rh)"},
			&cli.BoolFlag{Name: "overwrite", Usage: "replace an existing, non-empty output directory"},
			&cli.StringFlag{Name: "best-layer", Category: catBestLayer, Usage: "predict each target from its best layer as scored by the finished sweep in `SWEEP` (brainalign sweep's --out, of the same brain data); --features and --new-features are then the model's activations (bundle or folder, as sweep reads them)"},
			&cli.StringFlag{Name: "checkpoint", Category: catBestLayer, Usage: "with --best-layer: the sweep checkpoint whose scores choose the layers, by `NAME`, training step or index (default: the last; a number that is one checkpoint's step and another's index is refused)"},
		}, fitFlags()...),
		Action: runPredict,
	}, false))
}

// fitFlags are modelFlags without the folds: predict holds nothing out.
func fitFlags() []cli.Flag {
	var out []cli.Flag
	for _, f := range modelFlags() {
		if !slices.ContainsFunc(f.Names(), func(n string) bool {
			return slices.Contains([]string{"folds", "shuffle-seed", "groups", "test-fold", "test-ids"}, n)
		}) {
			out = append(out, f)
		}
	}
	return out
}

func runPredict(c *cli.Context) error {
	if c.NArg() > 0 {
		return usageError("predict takes no arguments (got %q); inputs are given with --features, --new-features and --brain", c.Args().First())
	}
	out, cleanup, err := createOut(c.String("out"), c.Bool("overwrite"))
	if err != nil {
		return err
	}
	defer cleanup()
	if err := out.CheckInputs(slices.Concat([]string{c.String("features"), c.String("new-features"), c.String("features-ids"), c.String("new-ids"), c.String("best-layer")},
		idsPaths(c.StringSlice("brain-ids")), c.StringSlice("brain"), c.StringSlice("space"), c.StringSlice("brain-mask"))...); err != nil {
		return err
	}
	if c.Bool("overwrite") {
		if err := checkEarlierOutput(c.String("out"), "predict", "predict.json", isCommandJSON("predict.json", "predict")); err != nil {
			return err
		}
	}
	opts, err := fitOptions(c)
	if err != nil {
		return err
	}
	opts.Weights = c.Bool("save-weights")
	if c.String("best-layer") != "" {
		if err := checkBestLayerFlags(c); err != nil {
			return err
		}
	} else if c.IsSet("checkpoint") {
		return usageError("--checkpoint chooses the sweep checkpoint whose scores choose each target's layer: it goes with --best-layer")
	}
	if c.String("new-features") == "" && !opts.Weights {
		return usageError("predict needs --new-features (the stimuli to predict), or --save-weights to fit and save the model alone")
	}
	if c.String("new-features") == "" && c.String("new-ids") != "" {
		return usageError("--new-ids names the rows of --new-features, which is not given")
	}
	if c.String("new-features") == "" && len(c.StringSlice("space")) > 0 {
		return usageError("--space writes the predictions as volumes, and there are none without --new-features")
	}
	if c.String("best-layer") != "" {
		return predictBestLayers(c, out, opts)
	}

	x, err := loadFeatures(c.String("features"), c.String("layer"), "--layer")
	if err != nil {
		return err
	}
	defer x.close()
	xNew := &input{} // no new stimuli: the model alone
	if path := c.String("new-features"); path != "" {
		// --layer names the array in the bundles; new stimuli extracted to a .npy of their own
		// beside a bundle of the fitted ones are that layer's already
		layer := c.String("layer")
		if strings.HasSuffix(path, ".npy") && !strings.HasSuffix(c.String("features"), ".npy") {
			layer = ""
		}
		if xNew, err = loadFeatures(path, layer, "--layer"); err != nil {
			return err
		}
		defer xNew.close()
	}
	if xNew.m.Rows > 0 && xNew.m.Cols != x.m.Cols {
		return fmt.Errorf("%s has %d features but %s has %d: the new stimuli need the same layer's features",
			xNew.name(), xNew.m.Cols, x.name(), x.m.Cols)
	}
	newIDs, err := readNewIDs(c, xNew.name(), xNew.m.Rows)
	if err != nil {
		return err
	}
	y, err := loadMaskedBrain(c)
	if err != nil {
		return err
	}
	defer y.close()
	space, volumesSkipped, err := predictionSpace(c, y, xNew.m.Rows)
	if err != nil {
		return err
	}

	xm, ym := x.m, y.m
	fit, err := matchFitted(c, x, y)
	if err != nil {
		return err
	}
	if fit != nil {
		if err := x.m.CheckValuesRows(x.name(), fit.xRows, opts.Precision); err != nil {
			return err
		}
		if err := y.m.CheckValuesRows(y.name(), fit.yRows, opts.Precision); err != nil {
			return err
		}
		xm, ym = subsetRows(xm, fit.xRows), subsetRows(ym, fit.yRows)
		y.dropData()
	} else if xm.Rows != ym.Rows {
		return fmt.Errorf("%s has %d rows but %s has %d: rows must be the same stimuli (match them with --features-ids/--brain-ids)",
			x.name(), xm.Rows, y.name(), ym.Rows)
	}
	fittedAgain := warnAlsoFitted(c, newIDs, fit)
	xm.Name, ym.Name, xNew.m.Name = x.name(), y.name(), xNew.name()

	eng, pr, err := openPredictor(c)
	if err != nil {
		return err
	}
	defer eng.Close()
	prog := newProgress(c.App.ErrWriter, stderrIsTerminal(c), "predict")
	opts.Progress = prog.update
	p, err := pr.Predict(c.Context, xm, ym, xNew.m, opts)
	prog.done()
	if err != nil {
		if errors.Is(err, engine.ErrUnsupported) {
			return usageError("%v", err)
		}
		return err
	}

	put := putFile(out.Write)
	trailing := y.targetShape()
	if opts.Weights {
		if err := writePredictions(put, "weights.npy", append([]int{p.Weights.Rows}, trailing...), p.Weights, y.mask); err != nil {
			return err
		}
		if err := put.npy("intercepts.npy", trailing, y.full(p.Intercepts)); err != nil {
			return err
		}
	}
	volumes, err := writePredictOutputs(put, y, space, p.Values, p.Alphas)
	if err != nil {
		return err
	}
	summary := predictSummary(c, y, y.mask, ym.Rows, p.Rows, p.Targets, opts, fit, newIDs, fittedAgain, volumesSkipped, volumes)
	summary["features"] = infoOf(x)
	summary["run"] = predictRunInfo(p)
	if xNew.path != "" {
		summary["new_features"] = infoOf(xNew)
	}
	if opts.Weights {
		summary["weights"] = map[string]any{"features": p.Weights.Rows, "files": []string{"weights.npy", "intercepts.npy"}}
	}
	if err := put.json("predict.json", summary); err != nil {
		return err
	}
	if err := out.Commit(); err != nil {
		return err
	}
	if p.Rows > 0 {
		fmt.Fprintf(c.App.Writer, "predicted %d targets for %d new images from %d features, fitted on %d images, on %s in %s",
			p.Targets, p.Rows, xm.Cols, ym.Rows, p.Engine, p.Timings.Total.Round(1e6))
	} else {
		fmt.Fprintf(c.App.Writer, "fitted %d targets from %d features on %d images, on %s in %s",
			p.Targets, xm.Cols, ym.Rows, p.Engine, p.Timings.Total.Round(1e6))
	}
	if p.Dropped > 0 {
		fmt.Fprintf(c.App.Writer, "\n  note: %s", droppedNote(p.Dropped, opts.Standardize, !opts.NoIntercept))
	}
	fmt.Fprintf(c.App.Writer, "\nwrote %s\n", out.Final())
	return nil
}

// readNewIDs reads --new-ids, one per row of the new stimuli's features (what, rows rows); nil
// when not given.
func readNewIDs(c *cli.Context, what string, rows int) ([]string, error) {
	p := c.String("new-ids")
	if p == "" {
		return nil, nil
	}
	ids, err := readIDs(p)
	if err != nil {
		return nil, err
	}
	if len(ids) != rows {
		return nil, fmt.Errorf("%s: %d ids for the %d rows of %s", p, len(ids), rows, what)
	}
	return ids, nil
}

// predictionSpace is the space the predictions for newRows new stimuli are also written in as
// volumes (nil: none), and why they are not when they cannot be (said in a warning, before the
// fit).
func predictionSpace(c *cli.Context, y *input, newRows int) (*array.Geometry, string, error) {
	space, err := volumeSpace(c.StringSlice("space"), y)
	if err != nil || space == nil || newRows == 0 {
		return nil, "", err
	}
	skipped := frameVolumesSkipped(space, newRows)
	if skipped != "" {
		fmt.Fprintf(c.App.ErrWriter, "warning: the predictions are not written as volumes (predictions.npy holds them all): %s\n", skipped)
		return nil, skipped, nil
	}
	return space, "", nil
}

// fittedRows are the rows predict fits on when they are matched by stimulus id: the features'
// and the brain data's, paired in order, with the stimuli's ids.
type fittedRows struct {
	xRows, yRows []int
	ids          []string
	unmatched    map[string][]string // ids of either side left out
}

// matchFitted matches the rows of the features x and the brain data y by --features-ids and
// --brain-ids; nil when no ids are given (the rows pair as stored). The caller checks the values
// of the rows in use before it copies them (an error then locates a value in the file).
func matchFitted(c *cli.Context, x, y *input) (*fittedRows, error) {
	if c.String("features-ids") == "" && len(c.StringSlice("brain-ids")) == 0 {
		return nil, nil
	}
	if c.String("features-ids") == "" || len(c.StringSlice("brain-ids")) == 0 {
		return nil, usageError("--features-ids and --brain-ids go together")
	}
	mt, err := matchRows(c, x, y)
	if err != nil {
		return nil, err
	}
	xIDs, err := readIDs(c.String("features-ids"))
	if err != nil {
		return nil, err
	}
	fit := &fittedRows{xRows: mt.xRows, yRows: mt.yRows,
		unmatched: map[string][]string{"features": append([]string{}, mt.unmatchedFeatures...), "brain": append([]string{}, mt.unmatchedBrain...)}}
	for _, r := range mt.xRows {
		fit.ids = append(fit.ids, xIDs[r])
	}
	return fit, nil
}

// warnAlsoFitted warns about new stimuli that were also fitted on (or that nothing can be
// checked, without the fitted stimuli's ids) and returns their ids.
func warnAlsoFitted(c *cli.Context, newIDs []string, fit *fittedRows) []string {
	var fittedIDs []string
	if fit != nil {
		fittedIDs = fit.ids
	}
	fittedAgain := alsoFitted(newIDs, fittedIDs)
	if newIDs != nil && fittedIDs == nil {
		fmt.Fprintf(c.App.ErrWriter, "warning: --new-ids cannot be checked against the stimuli fitted on, whose ids are not given (--features-ids and --brain-ids)\n")
	}
	if len(fittedAgain) > 0 {
		fmt.Fprintf(c.App.ErrWriter, "warning: %d of the %d new stimuli were also fitted on (their brain data trained the model): %s\n",
			len(fittedAgain), len(newIDs), strings.Join(fittedAgain[:min(len(fittedAgain), 5)], ", ")+map[bool]string{true: ", ...", false: ""}[len(fittedAgain) > 5])
	}
	return fittedAgain
}

// writePredictOutputs writes the predictions (new rows x y's fitted targets; none when it has no
// rows) and the penalties over y's targets, NaN outside a mask, and the predictions as volumes in
// space when it is set (one frame per new row), each by put, returning the volumes' file names.
func writePredictOutputs(put putFile, y *input, space *array.Geometry, values engine.Matrix, alphas []float64) ([]string, error) {
	trailing := y.targetShape()
	if values.Rows > 0 {
		if err := writePredictions(put, "predictions.npy", append([]int{values.Rows}, trailing...), values, y.mask); err != nil {
			return nil, err
		}
	}
	if err := put.npy("alphas.npy", trailing, y.full(alphas)); err != nil {
		return nil, err
	}
	if space == nil || values.Rows == 0 {
		return nil, nil
	}
	return array.WriteNamedFrames(space, "predictions", values.Rows, y.full(float64s(values)), put)
}

// predictSummary is predict.json's record of the inputs, options and outputs that every predict
// has (the features and the engine's report are the caller's); mask is --brain-mask's.
func predictSummary(c *cli.Context, y *input, mask *targetMask, rowsFitted, newRows, targets int, opts engine.Options, fit *fittedRows,
	newIDs, fittedAgain []string, volumesSkipped string, volumes []string) map[string]any {
	summary := map[string]any{
		"command":     "predict",
		"version":     version,
		"created":     nowUTC(),
		"args":        os.Args,
		"brain":       infoOf(y),
		"rows_fitted": rowsFitted,
		"new_rows":    newRows,
		"targets":     targets,
		"model":       modelInfoOf(opts, oneFitScheme), // opts has no folds: none recorded
		"host":        hostOf(),
	}
	if fit != nil {
		summary["unmatched_ids"] = fit.unmatched
	}
	if newIDs != nil {
		rec := map[string]any{"path": c.String("new-ids"), "digest": idSetDigest(newIDs), "checked_against_fitted": fit != nil}
		if fit != nil {
			rec["also_fitted"] = append([]string{}, fittedAgain...)
		}
		summary["new_ids"] = rec
	}
	if mask != nil {
		summary["brain_mask"] = map[string]any{"path": mask.path, "shape": mask.shape, "targets_predicted": len(mask.cols)}
	}
	if volumesSkipped != "" {
		summary["volumes_skipped"] = volumesSkipped
	}
	if volumes != nil {
		summary["volumes"] = volumes
	}
	return summary
}

// oneFitScheme names predict's split of the rows in predict.json as encode's summary.json names
// its folds (fold_scheme): there is none, one fit on all rows.
const oneFitScheme = "none (one fit on all rows)"

// alsoFitted lists the new stimuli's ids that are among the fitted ones, in the new ids' order.
func alsoFitted(newIDs, fitted []string) []string {
	if len(newIDs) == 0 || len(fitted) == 0 {
		return nil
	}
	seen := make(map[string]bool, len(fitted))
	for _, id := range fitted {
		seen[id] = true
	}
	var out []string
	for _, id := range newIDs {
		if seen[id] {
			out = append(out, id)
		}
	}
	return out
}

// writePredictions writes a matrix of rows over the predicted targets (the predictions, or the
// weights) by put as the .npy name of shape, in its own precision, expanded over a mask's
// targets (NaN elsewhere) when there is one: row by row, so that a mask of few targets in a
// large space costs one row of the space, not a copy of the matrix over all of it.
func writePredictions(put putFile, name string, shape []int, v engine.Matrix, mk *targetMask) error {
	if mk == nil {
		if v.F32 != nil {
			return put.npy(name, shape, v.F32)
		}
		return put.npy(name, shape, v.F64)
	}
	var write func(w io.Writer) error
	var err error
	if v.F32 != nil {
		write, err = array.NPYChunksWriter(name, shape, expandRows(v.F32, v.Rows, mk))
	} else {
		write, err = array.NPYChunksWriter(name, shape, expandRows(v.F64, v.Rows, mk))
	}
	if err != nil {
		return err
	}
	return put(name, write)
}

// expandRows emits rows of values over the masked targets as rows over all the mask's targets,
// NaN elsewhere, one at a time (mask.expand for any float type).
func expandRows[V float32 | float64](values []V, rows int, mk *targetMask) func(emit func([]V) error) error {
	return func(emit func([]V) error) error {
		k, n := len(mk.cols), mk.size()
		row := make([]V, n)
		nan := V(math.NaN())
		for r := 0; r < rows; r++ {
			for i := range row {
				row[i] = nan
			}
			for j, c := range mk.cols {
				row[c] = values[r*k+j]
			}
			if err := emit(row); err != nil {
				return err
			}
		}
		return nil
	}
}

// volumeBytesPerValue is what writing the predictions as volumes holds per value beyond them:
// a float64 copy, its expansion over a mask's targets, a part's share, and the file's float32 body.
const volumeBytesPerValue = 28

// frameVolumesSkipped says why predictions for frames new stimuli cannot be written in space g
// ("" when they can): NIfTI-1 holds at most 32,767 frames, and the volumes' copies must fit in
// half the memory available. Checked before the fit, so that nothing computed is lost to it.
func frameVolumesSkipped(g *array.Geometry, frames int) string {
	geos := []*array.Geometry{g}
	if g.Parts != nil {
		geos = geos[:0]
		for _, p := range g.Parts {
			geos = append(geos, p.Geometry)
		}
	}
	for _, pg := range geos {
		if pg.Format == "nifti1" && frames > math.MaxInt16 {
			return fmt.Sprintf("%d new stimuli, and a NIfTI-1 file holds at most %d frames (give --space a NIfTI-2 file of the same space to write them)", frames, math.MaxInt16)
		}
	}
	need := int64(frames) * int64(g.Targets()) * volumeBytesPerValue
	if avail, ok := sysmem.Available(); ok && need > avail/2 {
		return fmt.Sprintf("writing %d frames of %d targets takes about %s, more than half the %s available", frames, g.Targets(), engine.FormatBytes(need), engine.FormatBytes(avail))
	}
	return ""
}

// float64s returns a row-major matrix's values as float64 (a copy of float32 ones).
func float64s(m engine.Matrix) []float64 {
	if m.F64 != nil {
		return m.F64
	}
	out := make([]float64, len(m.F32))
	for i, v := range m.F32 {
		out[i] = float64(v)
	}
	return out
}

// predictRunInfo is what the engine reported of a prediction.
func predictRunInfo(p *engine.Prediction) map[string]any {
	t := p.Timings
	info := map[string]any{
		"engine":             p.Engine,
		"precision":          p.Precision.String(),
		"rank":               p.Rank,
		"dropped_directions": p.Dropped,
		"target_batches":     p.Batches,
		"flops":              p.Flops,
		"seconds": map[string]float64{"transfer": t.Transfer.Seconds(), "decompose": t.Decompose.Seconds(), "products": t.Products.Seconds(),
			"select": t.Select.Seconds(), "predict": t.Refit.Seconds(), "total": t.Total.Seconds()},
	}
	if t.Total > 0 {
		info["gflops_per_second"] = p.Flops / t.Total.Seconds() / 1e9
	}
	return info
}

// openPredictor opens the --device engine, which must be able to fit and predict.
func openPredictor(c *cli.Context) (engine.Engine, engine.Predictor, error) {
	eng, err := openEngine(c)
	if err != nil {
		return nil, nil, err
	}
	pr, ok := eng.(engine.Predictor)
	if !ok {
		eng.Close()
		return nil, nil, usageError("the %s engine cannot predict (use --device cpu)", eng.Name())
	}
	return eng, pr, nil
}
