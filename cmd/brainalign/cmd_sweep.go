package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/brainalign/brainalign/array"
	"github.com/brainalign/brainalign/engine"
	"github.com/brainalign/brainalign/internal/textlist"
	"github.com/brainalign/brainalign/metrics"
	"github.com/brainalign/brainalign/sweep"
)

const catMeta = "Brain metadata"
const catShard = "Sharding"
const catCheck = "Before a run"

func init() {
	registerCommand(argsCommand(&cli.Command{
		Name:      "sweep",
		Usage:     "score every layer (and checkpoint) of a model against brain data; resumable, shardable",
		ArgsUsage: " ",
		Description: "Scores one brain dataset (--brain, read and prepared once) against every activation matrix\n" +
			"of a model (--features):\n" +
			"  acts.npz | acts.safetensors   one checkpoint, each float array a layer\n" +
			"  DIR/layer-<k>.npy             one checkpoint, each file a layer\n" +
			"  DIR/ckpt-<step>/layer-<k>.npy checkpoints as folders (or ckpt-<step>.npz/.safetensors bundles)\n" +
			"  DIR/manifest.csv              explicit: checkpoint,step,layer,path[,member]\n" +
			"Layers are ordered naturally (every number in a name by value: blocks.2 before blocks.10;\n" +
			"--layers sets another order), checkpoints by step (the number after 'step' in the name, else\n" +
			"its last number, or --steps). Each finished unit is written at once to DIR/units/ and skipped\n" +
			"when the sweep is run again; with --shard i/N (or --shard slurm: the task's place in its Slurm\n" +
			"job array) a process takes every N-th unit, and the last shard to finish merges:\n" +
			"  scores.npy       checkpoints x layers x targets (float64; targets keep the brain's shape)\n" +
			"  fold_scores.npy  checkpoints x layers x folds x targets\n" +
			"  table.csv        model,subject,checkpoint,step,layer,layer_index,relative_depth,\n" +
			"                   mean_score,median_score,max_score,targets[,roi_<name>...]; with --ceiling\n" +
			"                   also ceiled_mean_score[,ceiled_roi_<name>...] (mean score / mean ceiling)\n" +
			"  sweep.json, meta/ (brain metadata kept for the metric commands), merged.json\n" +
			"Then: brainalign spatial | temporal | halftime | compare, on the sweep folders.",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "features", Aliases: []string{"x"}, Usage: "the model's activations: `PATH` (folder, .npz, .safetensors, HDF5 .h5/.hdf5 or MATLAB v7.3 .mat bundle, or a folder's manifest.csv)"},
			brainFlag(false),
			brainArrayFlag(),
			&cli.StringFlag{Name: "out", Aliases: []string{"o"}, Required: true, Usage: "sweep output `DIR` (created; reused on restart)"},
			&cli.StringFlag{Name: "model", Usage: "model `NAME` in tables (default: the --features base name)"},
			&cli.StringFlag{Name: "subject", Usage: "subject `NAME`, to pair subjects across models in compare"},
			&cli.StringFlag{Name: "steps", Usage: "training steps, one per checkpoint in order: `1000,10000,...` or a file (an array: .npy, .npz, .h5, .mat; or text, one per line)"},
			&cli.StringFlag{Name: "layers", Usage: "the layers to score, shallow to deep: `a,b,c` or a file (one per line); default: every layer, in name order"},
			&cli.StringSliceFlag{Name: "coords", Category: catMeta, Usage: "target coordinates `C.npy` (targets x 3, mm MNI; or a surface, .surf.gii or FreeSurfer's lh.white: its vertices' positions): spatial score; repeat for targets joined from several files (lh, then rh). CIFTI grayordinates: one surface per cortex structure, in the file's order, all its vertices (--coords L.midthickness.surf.gii --coords R.midthickness.surf.gii), placed by vertex index; subcortical voxels by the file's volume"},
			&cli.StringSliceFlag{Name: "roi", Category: catMeta, Usage: "ROI label per target `R.npy` (ints; negative: none), or a NIfTI/MGH/CIFTI label volume of the targets, a GIFTI .label.gii or FreeSurfer .annot (named by its table): per-ROI means; repeat for targets joined from several files (lh.streams.mgz, then rh.streams.mgz), a label naming the same ROI in each"},
			&cli.StringFlag{Name: "roi-names", Category: catMeta, Usage: "ROI names `FILE`: one per line (label = line, from 0), 'LABEL NAME' lines, or a FreeSurfer color table (FreeSurferColorLUT.txt, .ctab: 'LABEL NAME R G B A')"},
			&cli.StringFlag{Name: "times", Category: catMeta, Usage: "MEG time points `T.npy` (seconds), or an MNE epochs file's (-epo.fif): temporal score (default: the brain file's, when it is an epochs file)"},
			brainMaskFlag("the tables (scores.npy, fold_scores.npy) hold the masked targets only, in the order of numpy's flatnonzero(MASK) (NaN in MASK counts as 0) (meta/space_targets.npy lists their indices where the data have a space: NIfTI, MGH, CIFTI, GIFTI or --space), and maps written in that space NaN elsewhere; the brain data may hold anything there (NaN included)"),
			&cli.StringSliceFlag{Name: "space", Category: catMeta, Usage: "NIfTI, MGH, CIFTI or GIFTI `FILE` whose voxels, vertices or grayordinates are the targets (default: the brain file's, if one of those; repeat for targets joined from several: lh, then rh): volume outputs, and coordinates (volumes) when --coords is not given"},
			&cli.StringSliceFlag{Name: "ceiling", Category: catMeta, Usage: "noise ceiling per target `CEILING.npy` (brainalign ceiling; one per brain file, in order, for brain data joined from several): rank and scaling --ceiled"},
			&cli.StringFlag{Name: "features-ids", Usage: "stimulus ids of the feature rows, one per `FILE` line or a .npy of strings or integers (same for every layer)"},
			brainIDsFlag(),
			&cli.StringFlag{Name: "shard", Category: catShard, Usage: "do shard `i/N` of the units (0-based), or 'slurm': shard SLURM_ARRAY_TASK_ID of SLURM_ARRAY_TASK_COUNT (default: every unit, also inside a job array)"},
			&cli.BoolFlag{Name: "merge-only", Category: catShard, Usage: "only merge the finished units of --out into the tables, as they were scored (it takes --out alone, and --device and --memory; it waits for a merge in progress; units whose activations changed since they were scored are refused: their shards score them again)"},
			&cli.BoolFlag{Name: "dry-run", Category: catCheck, Usage: "check every unit's activations (readable, 2-d, numbers (not bool), the brain data's rows; from the files' headers), the brain data and that --out can be written, and say what a run would do (units done, to score, to score again; time left, from the units done): scores and writes nothing, needs no GPU; exit status 1 when the run would stop: a unit that cannot be scored, an --out that cannot be written (or whose earlier metadata cannot be read), or with --device cpu a --memory below what the widest layer needs"},
			&cli.BoolFlag{Name: "scan-values", Category: catCheck, Usage: "with --dry-run: read every unit's values too (NaN, Inf, beyond float32; a corrupt compressed member): reads the whole model"},
		}, modelFlags()...),
		Action: runSweep,
	}, false))
}

func runSweep(c *cli.Context) error {
	if c.NArg() > 0 {
		return usageError("sweep takes no arguments (got %q); use --features and --brain", c.Args().First())
	}
	w := c.App.Writer
	out := c.String("out")
	if c.Bool("merge-only") && c.Bool("dry-run") {
		return usageError("--merge-only and --dry-run do not go together")
	}
	if c.Bool("merge-only") {
		if err := mergeOnlyFlags(c); err != nil {
			return err
		}
		mr, err := sweep.MergeTables(c.Context, out, func(l *sweep.MergeLock) {
			fmt.Fprintf(c.App.ErrWriter, "waiting for the merge of %s by %s (its merge.lock; a killed merger's goes after %s untouched)\n",
				out, orDefault(l.Holder, "another process"), sweep.MergeLockStale)
		})
		if mr != nil && mr.Abandoned > 0 {
			fmt.Fprintf(w, "removed %d temp file(s) left by killed runs or merges\n", mr.Abandoned)
		}
		if err != nil {
			return err
		}
		if mr.UpToDate {
			fmt.Fprintf(w, "%s: merged meanwhile by another process (its tables hold every unit)\n", out)
		} else {
			fmt.Fprintf(w, "merged %s\n", out)
		}
		return printSweepSummary(w, c.App.ErrWriter, out, !mr.UpToDate)
	}
	if c.String("features") == "" || len(c.StringSlice("brain")) == 0 {
		return usageError("sweep needs --features and --brain (or --merge-only)")
	}
	if c.Bool("scan-values") && !c.Bool("dry-run") {
		return usageError("--scan-values goes with --dry-run")
	}
	if err := checkModelFlags(c); err != nil {
		return err
	}
	if samePath(c.String("out"), c.String("features")) {
		return usageError("--out %s is the --features folder: its tables (.npy) would be read as layers next time; give a folder of its own (inside it is fine)", c.String("out"))
	}
	shard, err := sweepShard(c)
	if err != nil {
		return err
	}
	plan, err := sweep.Discover(c.String("features"), c.String("model"))
	if s := c.String("steps"); s != "" && plan != nil {
		// --steps replaces the steps read from the names, so it can also settle names whose
		// steps tie or disagree with the order (Discover's error then goes)
		steps, perr := sweep.ParseSteps(s)
		if perr != nil {
			return perr
		}
		if serr := plan.SetSteps(steps); serr != nil {
			// A problem with the steps given is theirs; otherwise Discover's error says more.
			var se *sweep.StepsError
			if err != nil && !errors.As(serr, &se) {
				return err
			}
			return fmt.Errorf("--steps %s: %v", s, serr)
		}
		err = nil
	}
	if err != nil {
		return err
	}
	if s := c.String("layers"); s != "" {
		names, err := sweep.ParseLayers(s)
		if err != nil {
			return usageError("--layers: %v", err)
		}
		if err := plan.OrderLayers(names); err != nil {
			return usageError("--layers: %v", err)
		}
	} else if groups := plan.OrderDoubt(); len(groups) > 0 {
		fmt.Fprintf(c.App.ErrWriter, "warning: the layers' names fall in %d groups (%s), ordered by name between groups (numbers order them within one), which may not be their depth; check table.csv's order or give --layers\n",
			len(groups), strings.Join(groups, ", "))
	}
	for _, sk := range plan.Skipped {
		fmt.Fprintf(c.App.ErrWriter, "warning: skipped %s\n", sk)
	}
	meta, err := sweep.ReadMetaJoined(c.StringSlice("coords"), c.StringSlice("roi"), c.String("roi-names"), c.String("times"))
	if err != nil {
		return err
	}
	if p := c.StringSlice("ceiling"); len(p) > 0 {
		if err := meta.ReadCeiling(p...); err != nil {
			return err
		}
		if err := warnCeilingTestSet(c); err != nil {
			return err
		}
	}
	y, err := loadMaskedBrain(c)
	if err != nil {
		return err
	}
	defer y.close()
	if err := checkMetaParts(c, y); err != nil {
		return err
	}
	trailing := y.shape[1:]
	if y.mask != nil {
		trailing = []int{len(y.mask.cols)} // the sweep scores the masked targets only
	}
	if len(trailing) == 0 {
		trailing = []int{1}
	}
	if meta.Space, err = volumeSpace(c.StringSlice("space"), y); err != nil {
		return err
	}
	for _, flag := range []string{"roi", "ceiling"} { // an atlas, a ceiling map: voxel by voxel
		if err := checkGrids(flag, c.StringSlice(flag), meta.Space, orDefault(strings.Join(c.StringSlice("space"), " + "), y.name())); err != nil {
			return err
		}
	}
	// CIFTI grayordinates: --coords may be the cortices' surfaces, placed by vertex index
	if placed, err := meta.PlaceCoords(meta.Space); err != nil {
		return err
	} else if placed {
		fmt.Fprintf(c.App.ErrWriter, "note: grayordinates placed on %s by their vertex indices, subcortical voxels by the volume's voxel-to-world matrix\n", strings.Join(c.StringSlice("coords"), " and "))
	}
	if meta.Space != nil && meta.Coords == nil {
		// a volume's voxels are placed by its affine; a surface's vertices need --coords
		if xyz, err := meta.Space.Coordinates(); err == nil {
			meta.Coords = xyz
			fmt.Fprintf(c.App.ErrWriter, "note: target coordinates taken from the voxel-to-world matrix of %s (--coords overrides)\n",
				orDefault(strings.Join(c.StringSlice("space"), " + "), orDefault(strings.Join(c.StringSlice("brain-mask"), " + "), y.name())))
		}
	}
	if b := c.StringSlice("brain"); len(b) == 1 && array.IsFIF(b[0]) && len(trailing) == 2 {
		// an MNE epochs file carries its time axis: the temporal score needs no --times
		info, err := array.FIFInfo(b[0])
		if err != nil {
			return err
		}
		if y.mask == nil { // targets channels x times, the file's channels
			meta.Channels = info.Channels
		}
		switch {
		case meta.Times == nil:
			meta.Times = info.Times
			fmt.Fprintf(c.App.ErrWriter, "note: MEG times taken from %s (%d samples, %g to %g s; --times overrides)\n", b[0], len(info.Times), info.Times[0], info.Times[len(info.Times)-1])
		case !slices.Equal(meta.Times, info.Times):
			fmt.Fprintf(c.App.ErrWriter, "warning: --times %s (%g to %g s) replaces the times of the epochs in %s (%g to %g s)\n", c.String("times"),
				meta.Times[0], meta.Times[len(meta.Times)-1], b[0], info.Times[0], info.Times[len(info.Times)-1])
		}
	}
	if doubt := metrics.SecondsDoubt(meta.Times); doubt != "" && c.String("times") != "" {
		fmt.Fprintf(c.App.ErrWriter, "warning: --times %s: %s\n", c.String("times"), doubt)
	}
	if y.mask != nil {
		// metadata given over the whole volume (an atlas, a ceiling map, the affine's coordinates)
		// are taken at the masked voxels
		meta.Restrict(y.mask.cols, y.mask.size())
		if meta.Space != nil {
			meta.SpaceTargets = y.mask.cols
		}
	}
	meta.Parts = y.targetParts() // hemispheres: each one's V1, the order of per-hemisphere files
	if err := meta.Check(y.name(), trailing); err != nil {
		return err
	}
	ym := y.m
	var prepare func(engine.Matrix) engine.Matrix
	var brainRows []int    // the brain file's rows in use, in order (nil: all, as stored)
	var featureRows []int  // the activations' rows paired with them (nil: all, as stored)
	sourceRows := y.m.Rows // the rows every activation matrix has as stored
	// The data digest is of the rows paired, not of whether ids paired them: ids that pair every
	// row as stored give the digest of a run without them, so that either reruns the other's
	// folder. sameData takes the digest earlier versions gave the one sweep.json may hold.
	var digest string
	var sameData func(string) bool
	if c.String("features-ids") != "" || len(c.StringSlice("brain-ids")) > 0 {
		if c.String("features-ids") == "" || len(c.StringSlice("brain-ids")) == 0 {
			return usageError("--features-ids and --brain-ids go together")
		}
		xIDs, err := readIDs(c.String("features-ids"))
		if err != nil {
			return err
		}
		yIDs, err := y.brainIDs(c.StringSlice("brain-ids"))
		if err != nil {
			return err
		}
		if len(yIDs) != ym.Rows {
			return fmt.Errorf("%s: %d ids for the %d rows of %s", strings.Join(c.StringSlice("brain-ids"), " + "), len(yIDs), ym.Rows, y.name())
		}
		mt := matchIDs(xIDs, yIDs)
		if len(mt.xRows) == 0 {
			return fmt.Errorf("no stimulus id of %s appears in %s", c.String("features-ids"), strings.Join(c.StringSlice("brain-ids"), " + "))
		}
		reportUnmatched(c.App.ErrWriter, "features", mt.unmatchedFeatures)
		reportUnmatched(c.App.ErrWriter, "brain data", mt.unmatchedBrain)
		// Located in the file, before rows are renumbered; a bad --precision is reported with the
		// other options.
		prec, _ := engine.ParsePrecision(c.String("precision"))
		if err := ym.CheckValuesRows(y.name(), mt.yRows, prec); err != nil {
			return err
		}
		asStored := identityRows(mt.xRows, len(xIDs)) && identityRows(mt.yRows, ym.Rows)
		if asStored {
			digest = sweep.DataDigest(ym, nil) // as read, as a run without ids holds them
		}
		ym = subsetRows(ym, mt.yRows)
		y.dropData() // the rows in use are copied: a joined or masked copy of all rows is not needed
		brainRows, featureRows = mt.yRows, mt.xRows
		if asStored {
			copied := ym
			sameData = func(d string) bool { return d == sweep.DataDigest(copied, featureRows) }
		}
		nx := len(xIDs)
		sourceRows = nx
		prepare = func(x engine.Matrix) engine.Matrix {
			if x.Rows != nx {
				return x // the runner reports the row mismatch, naming the file
			}
			return subsetRows(x, mt.xRows)
		}
	}
	switch {
	case digest != "": // ids pairing the rows as stored
	case brainRows != nil: // other rows, or paired in another order
		digest = sweep.DataDigest(ym, featureRows)
	default:
		digest = sweep.DataDigest(ym, nil)
		stored := ym
		sameData = func(d string) bool { // earlier versions' digest of ids that pair the rows as stored
			all := make([]int, stored.Rows)
			for i := range all {
				all[i] = i
			}
			rowMajor := stored
			if stored.ColMajor { // ids took a row-major copy
				rowMajor = subsetRows(stored, all)
			}
			return d == sweep.DataDigest(rowMajor, all)
		}
	}
	ym.Name = y.name() // the engine's input checks name the file
	opts, err := modelOptions(c, y, y.m.Rows, brainRows)
	if err != nil {
		return err
	}
	cfg := sweep.Config{Dir: out, Plan: plan, Options: opts,
		Brain: sweep.BrainInfo{Path: y.name(), Shape: y.shape, DType: y.dtype}, Rows: ym.Rows, Trailing: trailing,
		Fingerprint: sweep.Fingerprint(ym, opts), DataDigest: digest, SameData: sameData, Subject: c.String("subject"), FoldScheme: foldScheme(c), Meta: meta, Shard: shard, Version: version,
		Prepare: prepare, SourceRows: sourceRows, BrainMask: c.StringSlice("brain-mask")}
	if brainRows != nil {
		cfg.IDs = &sweep.IDFiles{Features: c.String("features-ids"), Brain: c.StringSlice("brain-ids")}
	}
	if c.Bool("dry-run") {
		if brainRows == nil { // else checked above, on the rows in use
			if err := ym.CheckValues(y.name(), opts.Precision); err != nil {
				return err
			}
		}
		return dryRunSweep(c, cfg)
	}
	eng, err := openEngine(c)
	if err != nil {
		return err
	}
	defer eng.Close()
	sess, err := eng.Open(ym, opts)
	if err != nil {
		return fmt.Errorf("%s: %w", y.name(), err)
	}
	defer sess.Close()
	prog := newProgress(c.App.ErrWriter, stderrIsTerminal(c), "sweep")
	cfg.Session = sess
	cfg.Progress = func(done, total int, label string) {
		prog.setLabel("sweep " + label)
		prog.update(done, total)
	}
	rep, err := sweep.Run(c.Context, cfg)
	prog.done()
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "swept %s: %d checkpoint(s) x %d layers = %d units against %s (%d images x %d targets)",
		plan.Model, len(plan.Checkpoints), len(plan.Layers), rep.Units, y.name(), ym.Rows, ym.Cols)
	if shard.Count > 1 {
		fmt.Fprintf(w, ", shard %s (%d units)", shard, rep.Shard)
	}
	fmt.Fprintf(w, "\nscored %d, reused %d already done, in %s", rep.Computed, rep.Skipped, rep.Elapsed.Round(1e6))
	if rep.Changed > 0 {
		fmt.Fprintf(w, " (%d scored again: their activations changed)", rep.Changed)
	}
	if rep.EngineName != "" {
		fmt.Fprintf(w, " on %s", rep.EngineName)
	}
	fmt.Fprintln(w)
	switch {
	case rep.Legacy > 0 && rep.LegacyBy == "fingerprint":
		fmt.Fprintf(w, "  note: kept %d units of a sweep made before data digests, on the brain data's fingerprint alone (its shape, three sampled rows and the options, as that version did): if the brain data changed since, score them again in a new --out\n", rep.Legacy)
	case rep.Legacy > 0:
		fmt.Fprintf(w, "  kept %d units of an earlier version's records (sweep.json vouches for their brain data), now with its data digest\n", rep.Legacy)
	}
	if len(rep.MetaReplaced) > 0 {
		fmt.Fprintf(w, "  replaced the %s saved by an earlier run with this run's (scores do not depend on them)\n", strings.Join(rep.MetaReplaced, " and "))
	}
	if rep.Abandoned > 0 {
		fmt.Fprintf(w, "  removed %d temp file(s) left by killed runs\n", rep.Abandoned)
	}
	if len(rep.RankDeficient) > 0 {
		fmt.Fprintf(w, "  note: in %d unit(s) (%s), %s\n", len(rep.RankDeficient), textlist.Some(rep.RankDeficient, 6), droppedNote(rep.MostDropped, opts.Standardize, !opts.NoIntercept))
	}
	for _, r := range rep.Redone {
		fmt.Fprintf(w, "  recomputed %s\n", r)
	}
	switch {
	case rep.MergeRaced:
		fmt.Fprintf(w, "every unit was done, but units changed while this run merged them (another shard scored one again): "+
			"the tables are not current; the run that changed them merges when it is done (or: brainalign sweep --merge-only --out %s)\n", out)
		return nil
	case !rep.Merged && rep.StaleElsewhere > 0:
		fmt.Fprintf(w, "%d units of other shards are not done yet, %d of them because their activations changed since they were scored: "+
			"their shards score them again (run or submit those shards again), and the last shard to finish merges; "+
			"until then the tables are not current\n", rep.Remaining, rep.StaleElsewhere)
		return nil
	case !rep.Merged:
		fmt.Fprintf(w, "%d units of other shards are not done yet; the last shard to finish merges (or: brainalign sweep --merge-only --out %s)\n", rep.Remaining, out)
		return nil
	}
	if rep.UpToDate {
		fmt.Fprintln(w, "the tables were already current (nothing changed since the last merge)")
	}
	return printSweepSummary(w, c.App.ErrWriter, out, !rep.UpToDate)
}

// mergeOnlyFlags refuses flags beside --merge-only other than --out: a merge takes the units
// as they were scored, with the metadata and options of their run, so --ceiling, --roi, --steps,
// --shard or a model option were silently not used (the tables left without the ceiling asked
// for). Flags are counted on the command line only: a BRAINALIGN_DEVICE in the environment is not
// given to this run. --device and --memory choose where and in how much memory a run works, not
// what it gives, so a job script that passes them to every step may pass them here too.
func mergeOnlyFlags(c *cli.Context) error {
	args, _ := c.App.Metadata[commandLineKey].([]string)
	var given []string
	for _, f := range c.Command.Flags {
		switch f.Names()[0] {
		case "out", "merge-only", "device", "memory":
			continue
		}
		if names := f.Names(); onCommandLine(args, names) {
			given = append(given, "--"+names[0])
		}
	}
	if len(given) == 0 {
		return nil
	}
	return usageError("--merge-only takes --out alone: it merges the units as they were scored, with their run's options and metadata, so %s would not be used "+
		"(to add metadata or score other units, run sweep without --merge-only: it reuses the units done and merges)", strings.Join(given, ", "))
}

// samePath reports whether two paths name the same file or folder (links resolved where they
// exist).
func samePath(a, b string) bool {
	abs := func(p string) string {
		p, _ = filepath.Abs(p)
		if r, err := filepath.EvalSymlinks(p); err == nil {
			p = r
		}
		return p
	}
	return a != "" && b != "" && abs(a) == abs(b)
}

// sweepShard reads --shard: i/N, or "slurm" for the task's place in its Slurm job array. A job
// array alone does not shard: arrays often run one subject per task, each with its own --out,
// where a shard of each would leave every sweep unfinished.
func sweepShard(c *cli.Context) (sweep.Shard, error) {
	s := c.String("shard")
	switch s {
	case "":
		if os.Getenv("SLURM_ARRAY_TASK_COUNT") != "" && os.Getenv("SLURM_ARRAY_TASK_COUNT") != "1" {
			fmt.Fprintln(c.App.ErrWriter, "note: in a Slurm job array, this task sweeps every unit of its --out; give --shard slurm to split one sweep across the array's tasks")
		}
		return sweep.Shard{Index: 0, Count: 1}, nil
	case "slurm":
		sh, ok, err := sweep.ShardFromEnv(os.Getenv)
		if err != nil {
			return sh, usageError("--shard slurm: %v", err)
		}
		if !ok && c.Bool("dry-run") {
			// checked on a login node with the job script's flags: each task's shard is known
			// only when it runs
			fmt.Fprintln(c.App.ErrWriter, "note: --shard slurm outside a Slurm job array: the dry run checks every unit (each task takes its share when it runs)")
			return sweep.Shard{Index: 0, Count: 1}, nil
		}
		if !ok {
			return sh, usageError("--shard slurm: not in a Slurm job array (SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT unset)")
		}
		return sh, nil
	}
	sh, err := sweep.ParseShard(s)
	if err != nil {
		return sh, usageError("--shard: %v", err)
	}
	return sh, nil
}

// printSweepSummary prints the layer profile of the last checkpoint of a merged sweep. Tables
// that are no longer current when read back (another merge, or a shard scoring a unit again,
// began meanwhile) are not summarised: a warning on ew, not an error, since this process's
// merge succeeded (a Slurm task that exits 1 here would be marked FAILED).
func printSweepSummary(w, ew io.Writer, dir string, wrote bool) error {
	s, err := layerProfile(w, dir)
	if errors.Is(err, sweep.ErrNotMerged) {
		fmt.Fprintf(ew, "warning: %s: no summary: the tables are being written again by another process, "+
			"or a unit is being scored again, since this merge (see brainalign inspect %s)\n", dir, dir)
		return nil
	}
	if err != nil {
		return err
	}
	verb := "wrote"
	if !wrote {
		verb = "tables in"
	}
	fmt.Fprintf(w, "%s %s (scores.npy %v, fold_scores.npy, table.csv, sweep.json)\n", verb, dir, s)
	return nil
}

// layerProfile prints the mean score of every layer at the last checkpoint of a merged sweep
// (read through sweep.OpenScores: that checkpoint's scores only) and its best layer, and returns
// the shape of its scores.npy.
func layerProfile(w io.Writer, dir string) ([]int, error) {
	s, err := sweep.OpenScores(dir)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	a, err := sweep.ModelAlignment([]*sweep.Sweep{s}, sweep.AlignmentOptions{})
	if err != nil {
		return nil, err
	}
	means := make([]string, len(a.LayerScores))
	for l, v := range a.LayerScores {
		means[l] = fmt.Sprintf("%.3f", v)
	}
	fmt.Fprintf(w, "checkpoint %s: mean r by layer %s; best layer %s (depth %.2f, mean r %.4f)\n",
		a.Checkpoint, strings.Join(means, " "), a.Layer, a.RelativeDepth, a.Score)
	return append([]int{s.C, s.L}, s.Trailing...), nil
}

// Flags and helpers shared by the metric commands (spatial, temporal, halftime, compare).

func sweepsFlag() cli.Flag {
	return &cli.StringSliceFlag{Name: "sweep", Aliases: []string{"s"},
		Usage: "sweep output `DIR` of one subject (repeat, or give folders as arguments, for several subjects of one model)"}
}

func metricOutFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "out", Aliases: []string{"o"}, Required: true, Usage: "results `DIR` (created if needed; its earlier results replaced together once all are written)"},
		&cli.BoolFlag{Name: "no-figures", Usage: "write no PNG figures"},
		&cli.StringFlag{Name: "checkpoint", Usage: "checkpoint `NAME` or index (default: the last)"},
	}
}

func maskFlags() []cli.Flag {
	return []cli.Flag{
		&cli.Float64Flag{Name: "fdr", Value: metrics.DefaultFDR, Category: "Significance", Usage: "Benjamini-Hochberg FDR threshold of the target mask"},
		&cli.StringFlag{Name: "replicates", Value: "auto", Category: "Significance", Usage: "t-test replicates: subjects, folds, heldout (no replicates: the layer-mean r tested as one r of the held-out rows), or auto (subjects when >= 5; else heldout when the sweeps have one fold, a fixed test set; else folds)"},
		&cli.BoolFlag{Name: "no-mask", Category: "Significance", Usage: "use every target (no significance mask)"},
	}
}

func spatialFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringSliceFlag{Name: "coords", Category: catMeta, Usage: "target coordinates `C.npy` or a surface's .surf.gii (default: those saved by sweep); repeat for targets joined from several files (lh, then rh)"},
		&cli.StringSliceFlag{Name: "v1", Category: catMeta, Usage: "V1 reference point `X,Y,Z` in mm (default: centroid of the V1 ROI); repeat for targets of both hemispheres (joined from lh and rh files, or a CIFTI file of both cortices: lh, then rh), each measured from its own"},
		&cli.StringFlag{Name: "v1-roi", Value: "V1", Category: catMeta, Usage: "ROI `NAME` whose centroid is the V1 reference"},
	}
}

// timesFlag is --times of the metric commands.
func timesFlag() cli.Flag {
	return &cli.StringFlag{Name: "times", Category: catMeta, Usage: "MEG time points `T.npy` (default: those saved by sweep)"}
}

func temporalFlags() []cli.Flag {
	return []cli.Flag{
		timesFlag(),
		&cli.StringFlag{Name: "windows", Category: catMeta, Usage: "time windows `A:B,C:D` in seconds (default: 0.08:0.13,0.13:0.18,0.5:0.55 where data exist)"},
	}
}

// loadGroup loads the sweeps named by --sweep and the arguments; a signal stops it between
// sweeps (each one's scores are read to check them).
func loadGroup(c *cli.Context, flag string) ([]*sweep.Sweep, error) {
	dirs := c.StringSlice(flag)
	if flag == "sweep" {
		dirs = append(dirs, c.Args().Slice()...)
	}
	if len(dirs) == 0 {
		return nil, usageError("no sweep folders: give --%s DIR (repeat for subjects)", flag)
	}
	var g []*sweep.Sweep
	for _, d := range dirs {
		if err := c.Context.Err(); err != nil {
			return nil, err
		}
		s, err := sweep.Load(d)
		if err != nil {
			return nil, err
		}
		g = append(g, s)
	}
	return g, sweep.CheckGroup(g)
}

func maskOptions(c *cli.Context) (sweep.MaskOptions, error) {
	o := sweep.MaskOptions{FDR: c.Float64("fdr"), Replicates: c.String("replicates"), Off: c.Bool("no-mask")}
	switch o.Replicates {
	case "auto":
		o.Replicates = ""
	case "subjects", "folds", "heldout":
	default:
		return o, usageError("--replicates %q: want subjects, folds, heldout or auto", o.Replicates)
	}
	if !(o.FDR > 0 && o.FDR < 1) {
		return o, usageError("--fdr %v: want a threshold in (0, 1)", o.FDR)
	}
	return o, nil
}

func spatialOptions(c *cli.Context) (sweep.SpatialOptions, error) {
	o := sweep.SpatialOptions{V1ROI: c.String("v1-roi")}
	for _, v := range c.StringSlice("v1") { // one point each, X,Y,Z
		f := strings.Split(v, ",")
		if len(f) != 3 {
			return o, usageError("--v1 %q: want X,Y,Z in mm (once per hemisphere for targets joined from hemispheres)", v)
		}
		var p [3]float64
		for k, s := range f {
			x, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
			if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
				return o, usageError("--v1 %q: %q is not a number", v, s)
			}
			p[k] = x
		}
		o.V1 = append(o.V1, p)
	}
	if p := c.StringSlice("coords"); len(p) > 0 {
		m, err := sweep.ReadMetaJoined(p, nil, "", "")
		if err != nil {
			return o, err
		}
		o.Coords = m.Coords
		o.CoordsFiles, o.CoordsRows = m.CoordFiles() // checked against the sweeps' hemispheres once they are read
	}
	var err error
	o.Mask, err = maskOptions(c)
	return o, err
}

func temporalOptions(c *cli.Context) (sweep.TemporalOptions, error) {
	var o sweep.TemporalOptions
	if p := c.String("times"); p != "" {
		m, err := sweep.ReadMeta("", "", "", p)
		if err != nil {
			return o, err
		}
		o.Times = m.Times
	}
	if s := c.String("windows"); s != "" {
		for _, f := range strings.Split(s, ",") {
			w, err := parseWindow(f)
			if err != nil {
				return o, usageError("--windows: %v", err)
			}
			o.Windows = append(o.Windows, w)
		}
	}
	return o, nil
}

// parseWindow parses a time window, START:END in seconds.
func parseWindow(f string) (metrics.Window, error) {
	a, b, ok := strings.Cut(f, ":")
	lo, e1 := strconv.ParseFloat(strings.TrimSpace(a), 64)
	hi, e2 := strconv.ParseFloat(strings.TrimSpace(b), 64)
	if !ok || e1 != nil || e2 != nil || !(hi > lo) || math.IsInf(lo, 0) || math.IsInf(hi, 0) {
		return metrics.Window{}, fmt.Errorf("%q is not START:END in seconds with END > START", f)
	}
	return metrics.Window{Start: lo, End: hi}, nil
}

// checkpointOf resolves --checkpoint (flag) in the group's first sweep.
func checkpointOf(g []*sweep.Sweep, name string) (int, error) {
	return g[0].CheckpointIndex(name)
}

// groupNames lists the subjects of a group for reports.
func groupNames(g []*sweep.Sweep) string {
	var n []string
	for _, s := range g {
		n = append(n, s.Name())
	}
	sort.Strings(n)
	return strings.Join(n, ", ")
}

// fmtStep prints a training step compactly.
func fmtStep(s float64) string {
	if s != s {
		return "n/a"
	}
	return strconv.FormatFloat(s, 'g', 3, 64)
}

var jsonMarshaler = reflect.TypeFor[json.Marshaler]()

// jsonSafe converts v to plain maps and slices with NaN and infinite floats as null (JSON has
// no NaN, and an undefined correlation or half-time is NaN), honouring json tags and
// MarshalJSON methods.
func jsonSafe(v any) any { return safeValue(reflect.ValueOf(v)) }

func safeValue(v reflect.Value) any {
	if !v.IsValid() {
		return nil
	}
	if v.Type().Implements(jsonMarshaler) && !(v.Kind() == reflect.Pointer && v.IsNil()) {
		if b, err := v.Interface().(json.Marshaler).MarshalJSON(); err == nil {
			return json.RawMessage(b)
		}
	}
	switch v.Kind() {
	case reflect.Float32, reflect.Float64:
		f := v.Float()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil
		}
		return f
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return safeValue(v.Elem())
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.IsNil() {
			return nil
		}
		out := make([]any, v.Len())
		for i := range out {
			out[i] = safeValue(v.Index(i))
		}
		return out
	case reflect.Map:
		if v.IsNil() {
			return nil
		}
		out := map[string]any{}
		it := v.MapRange()
		for it.Next() {
			out[fmt.Sprint(it.Key().Interface())] = safeValue(it.Value())
		}
		return out
	case reflect.Struct:
		out := map[string]any{}
		safeStruct(v, out)
		return out
	}
	return v.Interface()
}

func safeStruct(v reflect.Value, out map[string]any) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() && !f.Anonymous {
			continue // an embedded struct of an unexported type still promotes its fields
		}
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		fv := v.Field(i)
		if f.Anonymous && name == "" && !f.Type.Implements(jsonMarshaler) {
			// Embedded fields are promoted, as encoding/json does: a struct, or a pointer to
			// one (nil: nothing).
			if fv.Kind() == reflect.Pointer && fv.Type().Elem().Kind() == reflect.Struct {
				if !fv.IsNil() {
					safeStruct(fv.Elem(), out)
				}
				continue
			}
			if fv.Kind() == reflect.Struct {
				safeStruct(fv, out)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if strings.Contains(opts, "omitempty") && fv.IsZero() {
			continue
		}
		out[name] = safeValue(fv)
	}
}

// checkMetaParts checks the metadata files given once per brain file joined along targets
// (--roi, --coords, --ceiling: lh, then rh) against the brain files: as many targets each, and
// the same hemisphere where both names say one. (Their total is checked with the metadata.)
func checkMetaParts(c *cli.Context, y *input) error {
	for _, o := range []struct {
		flag string
		per  int // values per target
	}{{"roi", 1}, {"coords", 3}, {"ceiling", 1}} {
		paths := c.StringSlice(o.flag)
		if len(paths) <= 1 {
			continue
		}
		if err := y.checkParts(o.flag, paths); err != nil {
			return err
		}
		for i, p := range paths {
			n, err := headerSize(p)
			if err != nil {
				return err
			}
			if err := y.checkPart(o.flag, paths, i, n/o.per); err != nil {
				return err
			}
		}
	}
	return nil
}

// headerSize is the number of values of the one array in path, from its header.
func headerSize(path string) (int, error) {
	f, err := array.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	names := f.Names()
	if len(names) != 1 {
		return 0, fmt.Errorf("%s: holds %d arrays, want one", path, len(names))
	}
	n := 1
	for _, d := range f.Lookup(names[0]).Shape {
		n *= d
	}
	return n, nil
}
