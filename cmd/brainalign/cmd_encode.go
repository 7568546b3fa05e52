package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/brainalign/brainalign/engine"
)

func init() {
	registerCommand(argsCommand(&cli.Command{
		Name:      "encode",
		Usage:     "score one activation matrix against brain data (ridge encoding, cross-validated)",
		ArgsUsage: " ",
		Description: "Fits ridge regression from --features (images x features) to every target of --brain\n" +
			"(images x targets, or images x channels x times) and writes to --out:\n" +
			"  scores.npy       mean Pearson r over folds, shaped as the brain data's trailing axes (float64)\n" +
			"  fold_scores.npy  Pearson r on each held-out fold (folds x ...)\n" +
			"  alphas.npy       the penalty chosen on each training fold (folds x ...)\n" +
			"  summary.json     inputs, shapes, grid, folds, engine, precision, timings, degenerate counts\n" +
			"  predictions.npy  with --save-predictions: each row's prediction by the fold that held it out\n" +
			"                   (scikit-learn's cross_val_predict; rows x ..., float64, in the brain data's\n" +
			"                   units; NaN for rows no fold holds out and outside --brain-mask), and with ids\n" +
			"                   predictions_ids.txt, the stimulus of each row\n" +
			"Inputs are .npy (float16, float32, float64, or integers of 8 to 64 bits, read as float32 for\n" +
			"8 and 16 bits and float64 for wider ones; C or Fortran order), or an .npz/.safetensors member\n" +
			"(bfloat16 too) or HDF5 dataset (--layer).\n" +
			"With --features-ids and --brain-ids (one stimulus id per line; --brain-ids also takes an MNE\n" +
			"epochs file, x-epo.fif, for each epoch's event name, or x-epo.fif:COLUMN, for a column of its\n" +
			"metadata) rows are matched by id; the matched rows keep the brain file's order, which the folds\n" +
			"follow. With --ceiling (brainalign ceiling's ceiling.npy for this brain data) it also writes\n" +
			"ceiled_scores.npy: scores divided by each target's noise ceiling, NaN where the ceiling is\n" +
			"below --ceiling-min. Brain data may also be a NIfTI or MGH file (.nii, .nii.gz, .mgh, .mgz:\n" +
			"volumes or frames last, read as images x voxels or vertices), a CIFTI-2 file (rows x\n" +
			"grayordinates) or a GIFTI file (.func.gii: rows x vertices); the scores are then also written\n" +
			"as scores.nii.gz, scores.mgz, scores.dscalar.nii (.pscalar.nii for parcels) or scores.func.gii\n" +
			"in its space, for viewers (with --space, for brain data of other formats too). Repeat --brain\n" +
			"for files of the same rows joined along targets (a surface's hemispheres: lh.betas.mgh,\n" +
			"rh.betas.mgh): the maps are then written per hemisphere, lh.scores.mgz and rh.scores.mgz.",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "features", Aliases: []string{"x"}, Required: true, Usage: "activations `X.npy` (n x d)"},
			brainFlag(true),
			&cli.StringFlag{Name: "out", Aliases: []string{"o"}, Required: true, Usage: "output `DIR` (written all at once)"},
			&cli.StringFlag{Name: "layer", Usage: "array `NAME` inside an .npz, .safetensors or HDF5 features file (an HDF5 dataset by its path, group/data)"},
			brainArrayFlag(),
			&cli.StringFlag{Name: "features-ids", Usage: "stimulus ids of the feature rows, one per `FILE` line, or a .npy of strings or integers (np.save of the names or image indices)"},
			brainIDsFlag(),
			&cli.StringSliceFlag{Name: "ceiling", Usage: "noise ceiling per target, `CEILING.npy` (brainalign ceiling): also write ceiled_scores.npy; one per brain file, in order, for brain data joined from several"},
			brainMaskFlag("outputs hold NaN elsewhere, where the brain data may hold anything (NaN included)"),
			&cli.StringSliceFlag{Name: "space", Usage: "also write the scores as volumes in the space of `FILE` (a NIfTI, MGH, CIFTI or GIFTI file whose voxels, vertices or grayordinates are the targets; repeat for targets joined from several spaces: lh, then rh)"},
			&cli.Float64Flag{Name: "ceiling-min", Value: defaultCeilingMin, Usage: "targets whose ceiling is below this get NaN ceiled scores"},
			&cli.BoolFlag{Name: "save-predictions", Usage: "also write predictions.npy, each row's held-out prediction (rows x targets x 8 bytes)"},
			&cli.BoolFlag{Name: "overwrite", Usage: "replace an existing, non-empty output directory"},
		}, modelFlags()...),
		Action: runEncode,
	}, false))
}

func runEncode(c *cli.Context) error {
	if c.NArg() > 0 {
		return usageError("encode takes no arguments (got %q); inputs are given with --features and --brain", c.Args().First())
	}
	if err := checkModelFlags(c); err != nil {
		return err
	}
	if err := checkCeilingMin(c); err != nil {
		return err
	}
	out, cleanup, err := createOut(c.String("out"), c.Bool("overwrite"))
	if err != nil {
		return err
	}
	defer cleanup()
	if err := out.CheckInputs(slices.Concat([]string{c.String("features"), c.String("features-ids"), idsPath(c.String("groups")), idsPath(c.String("test-fold")), c.String("test-ids")}, idsPaths(c.StringSlice("brain-ids")),
		c.StringSlice("brain"), c.StringSlice("ceiling"), c.StringSlice("space"), c.StringSlice("brain-mask"))...); err != nil {
		return err
	}
	// --overwrite replaces an earlier encode output only. Checked here, after outdir's own
	// checks (whose messages are the more precise), before anything is read: Create only
	// stages, and nothing existing is touched until Commit.
	if c.Bool("overwrite") {
		if err := checkEarlierOutput(c.String("out"), "encode", "summary.json", isCommandJSON("summary.json", "encode")); err != nil {
			return err
		}
	}

	x, err := loadFeatures(c.String("features"), c.String("layer"), "--layer")
	if err != nil {
		return err
	}
	defer x.close()
	y, err := loadMaskedBrain(c)
	if err != nil {
		return err
	}
	defer y.close()
	ceil, err := ceilingOption(c, y.targetShape(), y)
	if err != nil {
		return err
	}
	if err := warnCeilingTestSet(c); err != nil {
		return err
	}
	if ceil != nil && y.mask != nil {
		ceil = y.mask.restrict(ceil)
	}
	space, err := volumeSpace(c.StringSlice("space"), y)
	if err != nil {
		return err
	}
	// a ceiling map is matched target by target: on the data's grid (CIFTI: its grayordinates)
	if err := checkGrids("ceiling", c.StringSlice("ceiling"), space, orDefault(strings.Join(c.StringSlice("space"), " + "), y.name())); err != nil {
		return err
	}
	xm, ym := x.m, y.m
	var unmatched map[string][]string
	var brainRows []int // the brain file's rows in use, in order (nil: all, as stored)
	if c.String("features-ids") != "" || len(c.StringSlice("brain-ids")) > 0 {
		if c.String("features-ids") == "" || len(c.StringSlice("brain-ids")) == 0 {
			return usageError("--features-ids and --brain-ids go together")
		}
		mt, err := matchRows(c, x, y)
		if err != nil {
			return err
		}
		// non-finite values of the rows kept, located in the files before rows are renumbered
		// (rows left out may hold anything)
		prec, _ := engine.ParsePrecision(c.String("precision")) // a bad value is reported with the other options
		if err := x.m.CheckValuesRows(x.name(), mt.xRows, prec); err != nil {
			return err
		}
		if err := y.m.CheckValuesRows(y.name(), mt.yRows, prec); err != nil {
			return err
		}
		xm, ym = subsetRows(xm, mt.xRows), subsetRows(ym, mt.yRows)
		y.dropData() // the rows in use are copied: a joined or masked copy of all rows is not needed
		brainRows = mt.yRows
		// [] rather than null in summary.json when one side has none
		unmatched = map[string][]string{"features": append([]string{}, mt.unmatchedFeatures...), "brain": append([]string{}, mt.unmatchedBrain...)}
	} else if xm.Rows != ym.Rows {
		return fmt.Errorf("%s has %d rows but %s has %d: rows must be the same stimuli (match them with --features-ids/--brain-ids)",
			x.name(), xm.Rows, y.name(), ym.Rows)
	}
	xm.Name, ym.Name = x.name(), y.name() // the engine's input checks name the files
	opts, err := modelOptions(c, y, y.m.Rows, brainRows)
	if err != nil {
		return err
	}
	opts.KeepPredictions = c.Bool("save-predictions")
	prog := newProgress(c.App.ErrWriter, stderrIsTerminal(c), "encode")
	opts.Progress = prog.update
	eng, err := openEngine(c)
	if err != nil {
		return err
	}
	defer eng.Close()
	res, err := engine.Score(c.Context, eng, xm, ym, opts)
	prog.done()
	if err != nil {
		return err
	}

	put := putFile(out.Write)
	trailing := y.targetShape()
	perFold := append([]int{len(opts.Folds)}, trailing...)
	for _, f := range []struct {
		name  string
		shape []int
		data  []float64
	}{{"scores.npy", trailing, y.full(res.Scores)}, {"fold_scores.npy", perFold, y.full(res.FoldScores)}, {"alphas.npy", perFold, y.full(res.Alphas)}} {
		if err := put.npy(f.name, f.shape, f.data); err != nil {
			return err
		}
	}
	summary := map[string]any{
		"command":  "encode",
		"version":  version,
		"created":  nowUTC(),
		"args":     os.Args,
		"features": infoOf(x),
		"brain":    infoOf(y),
		"rows":     ym.Rows,
		"targets":  ym.Cols,
		"model":    modelInfoOf(opts, foldScheme(c)),
		"run":      runInfoOf(res),
		"host":     hostOf(),
	}
	if unmatched != nil {
		summary["unmatched_ids"] = unmatched
	}
	if y.mask != nil {
		summary["brain_mask"] = map[string]any{"path": y.mask.path, "shape": y.mask.shape, "targets_scored": len(y.mask.cols)}
	}
	var ceiled *ceiledInfo
	if ceil != nil {
		ceiled = divideByCeiling(res.Scores, ceil, strings.Join(c.StringSlice("ceiling"), " + "), c.Float64("ceiling-min"))
		ceiled.scores = y.full(ceiled.scores)
		if err := put.npy("ceiled_scores.npy", trailing, ceiled.scores); err != nil {
			return err
		}
		summary["ceiling"] = jsonSafe(ceiled)
	}
	if opts.KeepPredictions {
		files, err := writeHeldOut(c, put, res.Predictions, y, brainRows)
		if err != nil {
			return err
		}
		summary["predictions"] = map[string]any{"files": files, "rows": res.Predictions.Rows,
			"held_out_rows": heldOutRows(opts.Folds), "note": "cross_val_predict: each row predicted by the fold that held it out; NaN where none did"}
	}
	volumes := map[string][]float64{"scores": y.full(res.Scores)}
	if ceiled != nil {
		volumes["ceiled_scores"] = ceiled.scores
	}
	vols, err := writeVolumes(space, put, volumes)
	if err != nil {
		return err
	}
	if vols != nil {
		summary["volumes"] = vols
	}
	if err := put.json("summary.json", summary); err != nil {
		return err
	}
	if err := out.Commit(); err != nil {
		return err
	}
	st := statsOf(res.Scores)
	fmt.Fprintf(c.App.Writer, "scored %d targets from %d features x %d images on %s in %s: mean r %.4f, median %.4f, max %.4f",
		ym.Cols, xm.Cols, ym.Rows, res.Engine, res.Timings.Total.Round(1e6), st.Mean, st.Median, st.Max)
	if res.DegenerateTargets > 0 {
		fmt.Fprintf(c.App.Writer, "; %d target(s) with a zero-variance fold scored 0 there", res.DegenerateTargets)
	}
	if d := slices.Max(append(res.Dropped, 0)); d > 0 {
		fmt.Fprintf(c.App.Writer, "\n  note: %s", droppedNote(d, opts.Standardize, !opts.NoIntercept))
	}
	if ceiled != nil {
		fmt.Fprintf(c.App.Writer, "\n  divided by the noise ceiling: median %.4f over %d targets (%d with a ceiling below %g left out)",
			ceiled.Score.Median, len(res.Scores)-ceiled.Below, ceiled.Below, ceiled.Min)
	}
	fmt.Fprintf(c.App.Writer, "\nwrote %s\n", out.Final())
	return nil
}

// matchRows pairs feature and brain rows by stimulus id, warning about ids left out.
func matchRows(c *cli.Context, x, y *input) (idMatch, error) {
	xIDs, err := readIDs(c.String("features-ids"))
	if err != nil {
		return idMatch{}, err
	}
	yIDs, err := y.brainIDs(c.StringSlice("brain-ids"))
	if err != nil {
		return idMatch{}, err
	}
	if len(xIDs) != x.m.Rows {
		return idMatch{}, fmt.Errorf("%s: %d ids for the %d rows of %s", c.String("features-ids"), len(xIDs), x.m.Rows, x.name())
	}
	if len(yIDs) != y.m.Rows {
		return idMatch{}, fmt.Errorf("%s: %d ids for the %d rows of %s", strings.Join(c.StringSlice("brain-ids"), " + "), len(yIDs), y.m.Rows, y.name())
	}
	mt := matchIDs(xIDs, yIDs)
	if len(mt.xRows) == 0 {
		return idMatch{}, fmt.Errorf("no stimulus id of %s appears in %s", c.String("features-ids"), strings.Join(c.StringSlice("brain-ids"), " + "))
	}
	reportUnmatched(c.App.ErrWriter, "features", mt.unmatchedFeatures)
	reportUnmatched(c.App.ErrWriter, "brain data", mt.unmatchedBrain)
	return mt, nil
}

// foldScheme describes how rows were split, for the summary.
func foldScheme(c *cli.Context) string {
	switch {
	case c.String("test-fold") != "":
		return "predefined:" + c.String("test-fold")
	case c.String("test-ids") != "":
		return "test ids:" + c.String("test-ids")
	case c.String("groups") != "":
		return "groups:" + c.String("groups")
	case c.Int64("shuffle-seed") >= 0:
		return fmt.Sprintf("KFold(shuffle=True, random_state=%d)", c.Int64("shuffle-seed"))
	}
	return contiguousKFold
}

// contiguousKFold is scikit-learn's KFold without shuffling, as the summaries name it.
const contiguousKFold = "kfold (contiguous, unshuffled)"

// checkEarlierOutput guards --overwrite: it refuses to replace a non-empty directory at out that
// is not an earlier output of the same command, so that --overwrite cannot delete a folder of
// the user's own files (a thesis, a home directory) or another command's results. marker is a
// file (a slash-separated path inside the directory) that every output of the command holds,
// named in the message; isOurs tells from it (and whatever else it checks) whether the directory
// is such an output. A symbolic link is followed, as the output is written through it
// (internal/outdir): its target is what would be replaced. A directory that does not exist or
// is empty passes, and so does anything that is not a readable directory, which the output code
// itself refuses with its own message.
func checkEarlierOutput(out, command, marker string, isOurs func(dir string) bool) error {
	if out == "" {
		return nil
	}
	target, err := filepath.EvalSymlinks(filepath.Clean(out))
	if err != nil {
		return nil // missing (or a dangling link: its target is created), or reported later
	}
	st, err := os.Stat(target)
	if err != nil || !st.IsDir() {
		return nil
	}
	entries, err := os.ReadDir(target)
	if err != nil || len(entries) == 0 {
		return nil
	}
	if isOurs(target) {
		return nil
	}
	name := out
	if lst, err := os.Lstat(filepath.Clean(out)); err == nil && lst.Mode()&fs.ModeSymlink != 0 {
		name = out + " (-> " + target + ")"
	}
	why := "no " + marker
	if _, err := os.Stat(filepath.Join(target, filepath.FromSlash(marker))); err == nil {
		why = marker + " is not one brainalign " + command + " writes"
	} else if !errors.Is(err, fs.ErrNotExist) {
		why = fmt.Sprintf("cannot read %s: %v", marker, err)
	}
	return fmt.Errorf("%s is not empty and holds no earlier brainalign %s output (%s); refusing to replace it", name, command, why)
}

// isCommandJSON returns a test that the JSON file name (a slash-separated path inside a
// directory) is the record of a brainalign command: an object whose "command" is command
// (encode's summary.json, spatial's spatial.json, ...).
func isCommandJSON(name, command string) func(dir string) bool {
	return func(dir string) bool {
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
		if err != nil {
			return false
		}
		var rec struct {
			Command string `json:"command"`
		}
		return json.Unmarshal(b, &rec) == nil && rec.Command == command
	}
}

// writeHeldOut writes encode's held-out predictions (rows x the targets' shape, NaN outside a
// mask) and, where rows were matched by id, the stimulus of each row, by put; it returns the
// files.
func writeHeldOut(c *cli.Context, put putFile, p engine.Matrix, y *input, brainRows []int) ([]string, error) {
	shape := append([]int{p.Rows}, y.targetShape()...)
	if err := writePredictions(put, "predictions.npy", shape, p, y.mask); err != nil {
		return nil, err
	}
	files := []string{"predictions.npy"}
	if brainRows == nil {
		return files, nil
	}
	ids, err := y.brainIDs(c.StringSlice("brain-ids"))
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	for _, r := range brainRows {
		b.WriteString(ids[r])
		b.WriteByte('\n')
	}
	if err := put.bytes("predictions_ids.txt", []byte(b.String())); err != nil {
		return nil, err
	}
	return append(files, "predictions_ids.txt"), nil
}

// heldOutRows counts the rows some fold holds out.
func heldOutRows(folds []engine.Fold) int {
	n := 0
	for _, f := range folds {
		n += len(f.Test)
	}
	return n
}
