package main

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/brainalign/brainalign/array"
	"github.com/brainalign/brainalign/engine"
	"github.com/brainalign/brainalign/internal/intrange"
	"github.com/brainalign/brainalign/internal/sysmem"
	"github.com/brainalign/brainalign/internal/textlist"
	"github.com/brainalign/brainalign/sweep"
)

const catModel = "Model"
const catRun = "Run"

// modelFlags are the options of the encoding model, shared by encode, sweep and bench.
func modelFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "alphas", Value: "logspace:0:8:9", Category: catModel, EnvVars: []string{"BRAINALIGN_ALPHAS"},
			Usage: "penalty grid: a list `1,10,100` or logspace:LO:HI:NUM (ties go to the first)"},
		&cli.IntFlag{Name: "folds", Value: 5, Category: catModel, EnvVars: []string{"BRAINALIGN_FOLDS"},
			Usage: "outer folds (at least 2): contiguous, unshuffled blocks as scikit-learn's KFold"},
		&cli.Int64Flag{Name: "shuffle-seed", Value: -1, Category: catModel,
			Usage: "shuffle rows into folds as scikit-learn's KFold(shuffle=True, random_state=`SEED`) does (0 to 4294967295; -1: no shuffle)"},
		&cli.StringFlag{Name: "groups", Category: catModel,
			Usage: "`GROUPS.npy`: one integer group per row of the brain file (before id matching), or a column of an MNE epochs file's metadata (x-epo.fif:COLUMN): rows of a group stay in one fold (scikit-learn's GroupKFold, with numpy's scalar argsort of the groups' sizes: numpy's before 1.25 and on ARM; newer numpy's vectorised argsort on AVX-512 or AVX2 CPUs may deal equal-sized groups to other folds)"},
		&cli.StringFlag{Name: "test-fold", Category: catModel,
			Usage: "`FOLD.npy`: predefined held-out folds, one integer per row of the brain file (before id matching), or a column of an MNE epochs file's metadata (x-epo.fif:COLUMN): rows of label k >= 0 make held-out fold k, rows of -1 always train (scikit-learn's PredefinedSplit; a fixed test set is one fold)"},
		&cli.StringFlag{Name: "test-ids", Category: catModel,
			Usage: "`FILE` of stimulus ids, one per line (or a .npy of strings or integers): the rows of these stimuli are the one held-out fold, all others train (a fixed test set: NSD's shared images); needs --brain-ids"},
		&cli.StringFlag{Name: "inner", Value: "loo", Category: catModel, EnvVars: []string{"BRAINALIGN_INNER"},
			Usage: "penalty selection inside each training fold: loo (exact leave-one-out), gcv, kfold:K[:r2|pearson]"},
		&cli.BoolFlag{Name: "shared-alpha", Category: catModel,
			Usage: "one penalty for all targets (RidgeCV without alpha_per_target)"},
		&cli.BoolFlag{Name: "no-intercept", Category: catModel,
			Usage: "fit without an intercept (data not centred)"},
		&cli.BoolFlag{Name: "standardize", Category: catModel, EnvVars: []string{"BRAINALIGN_STANDARDIZE"},
			Usage: "divide each feature by its standard deviation on each training fold, held-out rows by the same (scikit-learn's make_pipeline(StandardScaler(), RidgeCV(...)); with --no-intercept StandardScaler(with_mean=False), not centred): features of very different scales weigh alike under the penalty; constant features are left as they are; predict's weights stay in the features' units"},
		&cli.StringFlag{Name: "precision", Value: "float32", Category: catRun, EnvVars: []string{"BRAINALIGN_PRECISION"},
			Usage: "arithmetic of the large products: float32, float64, or tf32 (cuda only)"},
		&cli.StringFlag{Name: "device", Value: defaultDevice, Category: catRun, EnvVars: []string{"BRAINALIGN_DEVICE"},
			Usage: "engine: cpu, or cuda[:N] in a cuda build"},
		&cli.StringFlag{Name: "memory", Category: catRun, EnvVars: []string{"BRAINALIGN_MEMORY"},
			Usage: "cap on the engine's working memory, e.g. 8GiB or 500MB (default: half of available: free memory, or a Slurm job's or container's cgroup limit; on a GPU, device memory, default 90% of its free memory)"},
	}
}

// commandLineKey keeps the command line (the command and its arguments) in the App's Metadata.
const commandLineKey = "command line"

// flagLabel names flag name in errors as the user gave it: --name, or its environment variable
// (BRAINALIGN_ALPHAS in a .bashrc) where the value came from there: the flag is not on the
// command line, and the variable is set.
func flagLabel(c *cli.Context, name string) string {
	args, _ := c.App.Metadata[commandLineKey].([]string)
	for _, f := range c.Command.Flags {
		ev, ok := f.(interface{ GetEnvVars() []string })
		if !ok || !slices.Contains(f.Names(), name) || onCommandLine(args, f.Names()) {
			continue
		}
		for _, env := range ev.GetEnvVars() {
			_, isString := f.(*cli.StringFlag)
			if v, ok := os.LookupEnv(env); ok && (v != "" || isString) { // urfave/cli takes an empty string, skips an empty number
				return env
			}
		}
	}
	return "--" + name
}

// onCommandLine reports whether a flag of one of names is among args (up to a "--").
func onCommandLine(args, names []string) bool {
	for _, a := range args {
		if a == "--" {
			break
		}
		name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if strings.HasPrefix(a, "-") && slices.Contains(names, name) {
			return true
		}
	}
	return false
}

// modelOptions builds engine options from the flags for the rows brainRows of the brain data y
// of nBrain rows as read (brainRows nil: all of them, in order): group and test fold labels are
// given per row of the brain file and follow its rows through id matching.
func modelOptions(c *cli.Context, y *input, nBrain int, brainRows []int) (engine.Options, error) {
	n := nBrain
	if brainRows != nil {
		n = len(brainRows)
	}
	opts, err := fitOptions(c)
	if err != nil {
		return opts, err
	}
	if err := checkFoldOptions(c); err != nil {
		return opts, err
	}
	k := c.Int("folds")
	switch {
	case c.String("test-fold") != "" || c.String("test-ids") != "":
		if opts.Folds, err = predefinedFolds(c, y, nBrain, brainRows); err != nil {
			return opts, err
		}
	case c.String("groups") != "":
		groups, err := readGroups(c.String("groups"), nBrain)
		if err != nil {
			return opts, err
		}
		if brainRows != nil {
			groups = engine.Pick(groups, brainRows)
		}
		opts.Folds, err = engine.GroupKFold(groups, k)
		if err != nil {
			return opts, fmt.Errorf("%s: %v", c.String("groups"), err)
		}
	case c.Int64("shuffle-seed") >= 0:
		opts.Folds, err = engine.ShuffledKFold(n, k, uint32(c.Int64("shuffle-seed")))
	default:
		opts.Folds, err = engine.KFold(n, k)
	}
	if err != nil {
		return opts, err
	}
	return opts, opts.Validate(n)
}

// checkModelFlags refuses the model's flags that are wrong in themselves or together (a penalty
// grid that does not parse, --test-ids with --folds, --test-ids without --brain-ids), as encode,
// sweep and universal start: modelOptions needs the brain data read for the folds, and a typo
// should not wait for a 13 GB file to be read (or decompressed) before it is reported.
func checkModelFlags(c *cli.Context) error {
	if _, err := parseFitOptions(c); err != nil {
		return err
	}
	return checkFoldOptions(c)
}

// checkFoldOptions refuses fold flags out of range or in conflict, before any row is read.
func checkFoldOptions(c *cli.Context) error {
	if k := c.Int("folds"); k < 2 {
		return usageError("%s: need at least 2, got %d", flagLabel(c, "folds"), k)
	}
	switch seed := c.Int64("shuffle-seed"); {
	case seed < -1:
		return usageError("--shuffle-seed %d: want a seed from 0 to 4294967295, or -1 for no shuffle", seed)
	case seed > math.MaxUint32:
		return usageError("--shuffle-seed %d: numpy's seeds stop at 4294967295", seed)
	}
	if err := checkFoldFlags(c); err != nil {
		return err
	}
	switch {
	case c.String("groups") != "" && c.Int64("shuffle-seed") >= 0:
		return usageError("--groups and --shuffle-seed exclude each other (GroupKFold does not shuffle)")
	case c.String("test-ids") != "" && len(c.StringSlice("brain-ids")) == 0:
		return usageError("--test-ids %s needs --brain-ids (and --features-ids): the stimulus id of each brain row", c.String("test-ids"))
	}
	return nil
}

// fitOptions builds the model's options but the folds from the flags: the penalty grid, the
// inner selection, precision, memory, shared penalty and intercept (predict fits no folds).
func fitOptions(c *cli.Context) (engine.Options, error) {
	opts, err := parseFitOptions(c)
	if err != nil {
		return opts, err
	}
	boundHeap(c.String("device"), opts.MemoryLimit)
	opts.SharedAlpha = c.Bool("shared-alpha")
	opts.NoIntercept = c.Bool("no-intercept")
	opts.Standardize = c.Bool("standardize")
	return opts, nil
}

// parseFitOptions parses the values of fitOptions' flags, with no effect on the process (the
// heap's bound is fitOptions').
func parseFitOptions(c *cli.Context) (engine.Options, error) {
	var opts engine.Options
	var err error
	if opts.Alphas, err = engine.ParseAlphas(c.String("alphas")); err != nil {
		return opts, usageError("%s %q: %v", flagLabel(c, "alphas"), c.String("alphas"), err)
	}
	if opts.Inner, err = engine.ParseInner(c.String("inner")); err != nil {
		return opts, usageError("%s %q: %v", flagLabel(c, "inner"), c.String("inner"), err)
	}
	if opts.Precision, err = engine.ParsePrecision(c.String("precision")); err != nil {
		return opts, usageError("%s %q: %v", flagLabel(c, "precision"), c.String("precision"), err)
	}
	if opts.MemoryLimit, err = parseBytes(c.String("memory")); err != nil {
		return opts, usageError("%s: %v", flagLabel(c, "memory"), err)
	}
	return opts, nil
}

// checkFoldFlags refuses flags that choose the folds in two ways: --test-fold or --test-ids
// make the folds themselves, so --folds (on the command line; a BRAINALIGN_FOLDS default does not
// count), --groups and --shuffle-seed cannot also apply.
func checkFoldFlags(c *cli.Context) error {
	var given []string
	for _, name := range []string{"test-fold", "test-ids", "groups"} {
		if c.String(name) != "" {
			given = append(given, "--"+name)
		}
	}
	if c.Int64("shuffle-seed") >= 0 {
		given = append(given, "--shuffle-seed")
	}
	args, _ := c.App.Metadata[commandLineKey].([]string)
	if onCommandLine(args, []string{"folds"}) {
		given = append(given, "--folds")
	}
	predefined := slices.Contains(given, "--test-fold") || slices.Contains(given, "--test-ids")
	if predefined && len(given) > 1 {
		return usageError("%s exclude each other: --test-fold and --test-ids give the held-out folds themselves", strings.Join(given, " and "))
	}
	return nil
}

// predefinedFolds makes the folds of --test-fold or --test-ids for the rows brainRows of the
// brain file (nil: all). Each fold asked for must keep enough rows through id matching, and
// errors name the user's label, not the fold's index: a fold whose rows all lack features would
// otherwise vanish, and the folds after it be renumbered.
func predefinedFolds(c *cli.Context, y *input, nBrain int, brainRows []int) ([]engine.Fold, error) {
	path := orDefault(c.String("test-fold"), c.String("test-ids"))
	labels, err := testFoldLabels(c, y, nBrain)
	if err != nil {
		return nil, err
	}
	asked := foldSizes(labels)
	if brainRows != nil {
		labels = engine.Pick(labels, brainRows)
	}
	kept := foldSizes(labels)
	for _, k := range slices.Sorted(maps.Keys(asked)) {
		if k < 0 || kept[k] == asked[k] {
			continue
		}
		what := foldName(c, k)
		lost := asked[k] - kept[k]
		if kept[k] == 0 {
			return nil, fmt.Errorf("%s: none of the %d rows of %s has features (their stimulus ids are not among the features' ids)", path, asked[k], what)
		}
		fmt.Fprintf(c.App.ErrWriter, "brainalign: warning: %d of the %d rows of %s (%s) have no features and are left out of it\n", lost, asked[k], what, path)
	}
	folds, err := engine.PredefinedSplit(labels)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	for _, k := range slices.Sorted(maps.Keys(kept)) {
		switch {
		case k < 0:
		case kept[k] == len(labels):
			return nil, fmt.Errorf("%s: every row is held out: nothing is left to train on", path)
		case kept[k] < engine.MinTestRows:
			return nil, fmt.Errorf("%s: %s holds %d rows; a held-out Pearson r needs at least %d", path, foldName(c, k), kept[k], engine.MinTestRows)
		}
	}
	return folds, nil
}

// foldName names the predefined fold of label k in messages: by its label, or as --test-ids'
// one test set.
func foldName(c *cli.Context, k int) string {
	if c.String("test-ids") != "" {
		return "the test set"
	}
	return fmt.Sprintf("test fold %d", k)
}

// foldSizes counts the rows of each label.
func foldSizes(labels []int) map[int]int {
	n := map[int]int{}
	for _, k := range labels {
		n[k]++
	}
	return n
}

// testFoldLabels reads --test-fold's labels, or makes --test-ids' (0 for the rows of a listed
// stimulus, -1 for the others): one per row of the brain file, of n rows.
func testFoldLabels(c *cli.Context, y *input, n int) ([]int, error) {
	if path := c.String("test-fold"); path != "" {
		return readLabels(path, n, "test fold")
	}
	path := c.String("test-ids") // with --brain-ids (checkFoldOptions)
	test, err := readIDs(path)
	if err != nil {
		return nil, err
	}
	ids, err := y.brainIDs(c.StringSlice("brain-ids"))
	if err != nil {
		return nil, err
	}
	if len(ids) != n {
		return nil, fmt.Errorf("%s: %d ids for the %d rows of %s", strings.Join(c.StringSlice("brain-ids"), " + "), len(ids), n, y.name())
	}
	held := make(map[string]bool, len(test))
	for _, id := range test {
		held[id] = true
	}
	labels := make([]int, len(ids))
	found := map[string]bool{}
	for i, id := range ids {
		labels[i] = -1
		if held[id] {
			labels[i] = 0
			found[id] = true
		}
	}
	if len(found) == 0 {
		return nil, fmt.Errorf("--test-ids %s: none of its %d stimulus ids is among the brain data's (%s)", path, len(held), strings.Join(c.StringSlice("brain-ids"), " + "))
	}
	if missing := len(held) - len(found); missing > 0 {
		fmt.Fprintf(c.App.ErrWriter, "brainalign: warning: %d of the %d stimulus ids of --test-ids %s are not in the brain data; the test set holds the other %d\n", missing, len(held), path, len(found))
	}
	return labels, nil
}

// readGroups reads one integer group label per row.
func readGroups(path string, n int) ([]int, error) {
	return readLabels(path, n, "group")
}

// readLabels reads one integer label per row (what: "group", "test fold") from an epochs file's
// metadata column, or from an array with one axis (n, n x 1 or 1 x n, in any file package array
// reads: a MATLAB vector is 2-d, and HDF5 and MATLAB integers are read as floats) of integers,
// or of floats with whole values (MATLAB's default class is double; scikit-learn takes them).
func readLabels(path string, n int, what string) ([]int, error) {
	if file, column, fif := idSpec(path); fif {
		return readEpochLabels(file, column, n, what)
	}
	arrs, err := array.Read(path)
	if err != nil {
		return nil, err
	}
	defer array.CloseAll(arrs)
	if len(arrs) == 1 && arrs[0].DType == "uint64" {
		for _, v := range arrs[0].F64 { // read as float64, which merges labels a rounding apart
			if v >= 1<<63 {
				return nil, fmt.Errorf("%s: uint64 %s labels above the int64 range (%.6g): want labels of at most 2^63-1", path, what, v)
			}
		}
	}
	if len(arrs) != 1 {
		return nil, fmt.Errorf("%s: holds %d arrays, want one array of %s labels", path, len(arrs), what)
	}
	a := arrs[0]
	if len(a.Shape) == 0 || !array.IsVector(a.Shape) { // n x 1 and 1 x n (MATLAB's vectors) hold the labels in the same order
		return nil, fmt.Errorf("%s: shape %s: want one %s label per row, a 1-d array", path, array.ShapeString(a.Shape), what)
	}
	labels := a.Ints()
	if labels == nil { // floats, or HDF5 and MATLAB integers read as floats
		var err error
		if labels, err = floatInts(a, path, what); err != nil {
			return nil, err
		}
	}
	if a.DType == "bool" && what != "group" {
		// True/False would be folds 1 and 0: the training rows held out as a fold of their own
		return nil, fmt.Errorf("%s: a boolean array; want integer %s labels, -1 for rows always trained on (a test set mask m: np.save(path, np.where(m, 0, -1)))", path, what)
	}
	if len(labels) != n {
		return nil, fmt.Errorf("%s: %d %s labels for the %d rows of the brain data (one per row of the brain file, or of all of ceiling's --brain files in order)", path, len(labels), what, n)
	}
	g, err := intrange.Ints(labels, intrange.Bits)
	if err != nil {
		return nil, fmt.Errorf("%s: %s %v", path, what, err)
	}
	return g, nil
}

// floatInts returns the integer labels of an array read as floats (floats with whole values;
// integers of HDF5 and MATLAB files), which hold them exactly up to 2^53 only.
func floatInts(a *array.Array, path, what string) ([]int64, error) {
	m, err := a.Matrix()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	out := make([]int64, m.Rows*m.Cols)
	for i := range out {
		v := m.At(i/m.Cols, i%m.Cols)
		if v != math.Trunc(v) || math.IsInf(v, 0) { // NaN too
			return nil, fmt.Errorf("%s: %s %s label %d is %v: want whole numbers (integer labels, or floats holding them)", path, a.DType, what, i, v)
		}
		if math.Abs(v) >= 1<<53 { // 2^53 itself may be 2^53 + 1 rounded
			return nil, fmt.Errorf("%s: %s %s label %d is %.5g: 2^53 or more, which the float64 it is read as rounds; relabel from 0 first, e.g. np.unique(labels, return_inverse=True)[1]", path, a.DType, what, i, v)
		}
		out[i] = int64(v)
	}
	return out, nil
}

// readEpochLabels reads labels (sessions, runs; test folds) from a column of an MNE epochs
// file's metadata, one per epoch in the order the data are read: integers as they are
// (session_nr); other group labels numbered in numpy's sorted order of the column's values
// (np.unique's, so that GroupKFold deals groups of equal size to the folds as scikit-learn does):
// strings in text order, digits or not ("10" before "2"), numbers by value (10.5 after 2.5).
// Test folds must be integers, strings of digits included (PredefinedSplit takes them as ints):
// -1 has a meaning.
func readEpochLabels(path, column string, n int, what string) ([]int, error) {
	if column == "" {
		return nil, fmt.Errorf("%s: name a column of the epochs' metadata for the %s labels (%s:COLUMN, e.g. :session_nr)", path, what, path)
	}
	ev, err := array.FIFEvents(path)
	if err != nil {
		return nil, err
	}
	labels, err := ev.Column(column)
	if err != nil {
		return nil, err
	}
	if len(labels) != n {
		return nil, fmt.Errorf("%s:%s: %d %s labels for the %d rows of the brain data (one per row of the brain file, or of all of ceiling's --brain files in order)", path, column, len(labels), what, n)
	}
	g := make([]int, n)
	integers := true
	for i, l := range labels {
		v, err := strconv.Atoi(strings.TrimSpace(l))
		if err != nil {
			if what != "group" {
				return nil, fmt.Errorf("%s:%s: epoch %d's %s label is %q: want integers (-1: always trained on, k >= 0: held-out fold k); for a test set named by stimulus, give --test-ids", path, column, i, what, l)
			}
			integers = false
			break
		}
		g[i] = v
	}
	text := ev.ColumnHoldsText(column)
	if what != "group" || integers && !text {
		return g, nil
	}
	order := strings.Compare
	if !text {
		order = compareNumbers
	}
	sorted := slices.CompactFunc(slices.SortedFunc(slices.Values(labels), order), func(a, b string) bool { return a == b })
	for i, l := range labels {
		g[i], _ = slices.BinarySearchFunc(sorted, l, order)
	}
	return g, nil
}

// compareNumbers orders metadata values that are numbers by value (ties of float64 by their
// text, so that distinct values stay distinct), and a column of booleans, which do not parse, as
// text: False before True, as numpy orders them.
func compareNumbers(a, b string) int {
	x, errA := strconv.ParseFloat(a, 64)
	y, errB := strconv.ParseFloat(b, 64)
	switch {
	case errA != nil && errB != nil:
		return strings.Compare(a, b)
	case errA != nil:
		return 1
	case errB != nil:
		return -1
	}
	if c := cmp.Compare(x, y); c != 0 {
		return c
	}
	return strings.Compare(a, b)
}

// parseBytes parses sizes like 8GiB, 500MB, 1e9 ("" is 0: the engine's default).
func parseBytes(s string) (int64, error) {
	s = strings.TrimSpace(s)
	orig := s
	if s == "" {
		return 0, nil
	}
	units := []struct {
		suffix string
		mult   float64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
		{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12}, {"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"B", 1}}
	mult := 1.0
	for _, u := range units {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.mult
			break
		}
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || !(v > 0) {
		return 0, fmt.Errorf("%q is not a positive size (e.g. 8GiB)", s)
	}
	// Checked in floating point: converting a size past int64 gives a negative number, and
	// one below a byte 0, the engine's default (no cap at all).
	b := v * mult
	if b >= math.MaxInt64 {
		return 0, fmt.Errorf("%q is too large a size", orig)
	}
	if b < 1 {
		return 0, fmt.Errorf("%q is less than a byte", orig)
	}
	return int64(b), nil
}

// openEngine makes the engine named by --device.
func openEngine(c *cli.Context) (engine.Engine, error) {
	e, err := engine.New(c.String("device"))
	if err != nil {
		return nil, usageError("%s: %v", flagLabel(c, "device"), err)
	}
	return e, nil
}

// stderrIsTerminal reports whether progress output makes sense.
func stderrIsTerminal(c *cli.Context) bool {
	f, ok := c.App.ErrWriter.(*os.File)
	return ok && isTerminal(f)
}

// boundHeapToMachine sets a soft limit for Go's garbage collector (unless GOMEMLIMIT is set) at
// 90% of what the process can take (sysmem: the machine's available memory, or its Slurm job's
// or container's cgroup headroom), so that garbage alone cannot get it killed; none where that
// is unknown. Every command sets it as it starts, before any input is read: reading
// (decompressing a .nii.gz, decoding float16, masking, joining files) makes garbage too, and the
// limit is the process's total, so measured once the inputs are in, the headroom would already
// be less what they hold, counting them twice.
func boundHeapToMachine() {
	if os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	if avail, ok := sysmem.Available(); ok && avail > 0 {
		debug.SetMemoryLimit(avail - avail/10)
	} else {
		debug.SetMemoryLimit(math.MaxInt64) // Go's default: an earlier command's bound does not stay (tests, demo)
	}
}

// boundHeap lowers the collector's soft limit to --memory on the CPU engine (unless GOMEMLIMIT is
// set): the engine sizes its buffers to the cap, and without this the collector would let
// short-lived garbage grow the heap to about twice what is live. The slack covers the results
// and the runtime; memory-mapped input files are not heap and are not counted. It is called
// once the inputs are read, which --memory does not cover: the machine's bound
// (boundHeapToMachine) applies while they are, and stays where this sets none (no --memory, or
// a GPU engine, whose --memory is device memory) and above it (a --memory larger than the
// process can take).
func boundHeap(device string, limit int64) {
	if os.Getenv("GOMEMLIMIT") != "" || limit <= 0 || device != "cpu" {
		return
	}
	machine := debug.SetMemoryLimit(-1)
	debug.SetMemoryLimit(min(limit+limit/4+64<<20, machine))
}

// Commands that take sweep folders as arguments, or no arguments at all. urfave/cli v2 stops
// reading flags at the first argument, so in `spatial --out o sub-01 --v1-roi V9` the flag is
// taken for a folder, and in `spatial sub-01 --out o` the required --out looks missing.

// argsCommand checks a command's arguments before its action runs: with folders, an argument
// that starts with "-" is a flag given after the folders; without, any argument is an error.
// Required flags are checked after the arguments (urfave/cli checks them before the action, and
// would report a misplaced --out as missing), with urfave/cli's message.
func argsCommand(cmd *cli.Command, folders bool) *cli.Command {
	var required []string
	for _, f := range cmd.Flags {
		switch f := f.(type) {
		case *cli.StringFlag:
			if f.Required {
				f.Required, required = false, append(required, f.Name)
			}
		case *cli.StringSliceFlag:
			if f.Required {
				f.Required, required = false, append(required, f.Name)
			}
		}
	}
	action := cmd.Action
	cmd.Action = func(c *cli.Context) error {
		if err := checkArgs(c, folders); err != nil {
			return err
		}
		var missing []string
		for _, n := range required {
			if !c.IsSet(n) {
				missing = append(missing, n)
			}
		}
		switch {
		// urfave/cli's own messages, capitalised as it writes them (isFlagError recognises them)
		case len(missing) == 1:
			//lint:ignore ST1005 urfave/cli's message
			return fmt.Errorf("Required flag %q not set", missing[0])
		case len(missing) > 1:
			//lint:ignore ST1005 urfave/cli's message
			return fmt.Errorf("Required flags %q not set", strings.Join(missing, ", "))
		}
		if err := checkOutputNamed(c); err != nil {
			return err
		}
		return action(c)
	}
	return cmd
}

// checkOutputNamed refuses an output flag given empty (--out "$OUT" with OUT unset): it names no
// output, and was taken for the working directory (refused only once the results were computed,
// or "cannot create" for sweep), for no output at all (rank, bench --json, which then wrote
// nothing, saying nothing) or for a temporary folder (demo --study-out).
func checkOutputNamed(c *cli.Context) error {
	for _, name := range []string{"out", "study-out", "json"} {
		if c.IsSet(name) && c.String(name) == "" {
			return usageError("--%s is empty: name the output (an unset shell variable?)", name)
		}
	}
	return nil
}

// checkArgs refuses flags after positional arguments (which urfave/cli leaves unread) and, for a
// command without arguments, any argument.
func checkArgs(c *cli.Context, folders bool) error {
	args := c.Args().Slice()
	if len(args) == 0 {
		return nil
	}
	var flag string
	for _, a := range args[1:] {
		if len(a) > 1 && a[0] == '-' {
			flag, _, _ = strings.Cut(a, "=")
			break
		}
	}
	if !folders {
		if flag != "" {
			return usageError("%s takes no arguments (got %q; the flags after it, %s first, were not read)", c.Command.Name, args[0], flag)
		}
		return usageError("%s takes no arguments (got %q)", c.Command.Name, args[0])
	}
	what := "sweep folders" // what the arguments are
	if c.Command.Name == "inspect" {
		what = "paths"
	}
	if a := args[0]; len(a) > 1 && a[0] == '-' {
		return usageError("%s: a path whose name starts with \"-\" must be given as ./%s", a, a)
	}
	if flag != "" {
		return usageError("flags must come before the %s: move %s before %s", what, flag, args[0])
	}
	return nil
}

// loadSweeps loads a group of sweeps (--flag, and the arguments for --sweep) as loadGroup does,
// and refuses a subject given twice, which would count its scores twice: the same folder
// (however spelt, or through a link), two sweeps with the same subject label, or two sweeps of
// the same brain data (fingerprint). It warns when ROI names and labels disagree.
func loadSweeps(c *cli.Context, flag string) ([]*sweep.Sweep, error) {
	dirs := c.StringSlice(flag)
	if flag == "sweep" {
		dirs = append(dirs, c.Args().Slice()...)
	}
	if err := distinctDirs(flag, dirs); err != nil {
		return nil, err
	}
	g, err := loadGroup(c, flag)
	var ge *sweep.GroupError
	if errors.As(err, &ge) {
		// Sweeps that cannot be pooled (other models, layers, checkpoints): the folders given
		// are wrong, a mistake in the command line.
		if flag != "sweep" {
			return nil, usageError("--%s: %v", flag, err)
		}
		return nil, usageError("%v", err)
	}
	if err != nil {
		return nil, err
	}
	if err := distinctSubjects(flag, g); err != nil {
		return nil, err
	}
	for _, w := range roiNameWarnings(g) {
		fmt.Fprintf(c.App.ErrWriter, "brainalign: warning: %s\n", w)
	}
	return g, nil
}

// distinctDirs refuses a folder given twice: the same cleaned absolute path, the same path once
// links are resolved, or the same directory (os.SameFile).
func distinctDirs(flag string, dirs []string) error {
	type seen struct {
		dir string
		st  os.FileInfo
	}
	by := map[string]string{}
	var stats []seen
	for _, d := range dirs {
		keys := []string{filepath.Clean(d)}
		if abs, err := filepath.Abs(d); err == nil {
			keys = append(keys, abs)
			if r, err := filepath.EvalSymlinks(abs); err == nil {
				keys = append(keys, r)
			}
		}
		for _, k := range keys {
			if prev, ok := by[k]; ok {
				return dupDirError(flag, prev, d)
			}
		}
		if st, err := os.Stat(d); err == nil {
			for _, s := range stats {
				if os.SameFile(s.st, st) {
					return dupDirError(flag, s.dir, d)
				}
			}
			stats = append(stats, seen{d, st})
		}
		for _, k := range keys {
			by[k] = d
		}
	}
	return nil
}

func dupDirError(flag, a, b string) error {
	what := "sweep folders"
	if flag != "sweep" {
		what = "--" + flag + " folders"
	}
	if a == b {
		return usageError("%s is given twice among the %s: give each subject's sweep once", a, what)
	}
	return usageError("%s and %s are the same folder, given twice among the %s: give each subject's sweep once", a, b, what)
}

// distinctSubjects refuses two sweeps of one subject in a group (sweep.CheckDistinctSubjects),
// as a mistake in the folders given.
func distinctSubjects(flag string, g []*sweep.Sweep) error {
	what := "the sweep folders"
	if flag != "sweep" {
		what = "the --" + flag + " folders"
	}
	if err := sweep.CheckDistinctSubjects(g, what); err != nil {
		return usageError("%v", err)
	}
	return nil
}

// roiNameWarnings reports sweeps whose ROI names do not match their ROI labels: some labels
// named and others not (sweep saves those as roi<label>), and names of labels no target has (in
// a names file of one name per line, line k names label k from 0, so labels counted from 1 shift
// every name). Sweeps with the same problem share one line.
func roiNameWarnings(g []*sweep.Sweep) []string {
	var order []string
	dirs := map[string][]string{}
	for _, s := range g {
		m := s.Meta
		if m.ROI == nil || len(m.ROINames) == 0 {
			continue
		}
		has := map[int]bool{}
		var unnamed, unused []string
		labels := m.Labels()
		for _, l := range labels {
			has[l] = true
			// sweep saves an unnamed label as roi<label>.
			if n, ok := m.ROINames[l]; !ok || n == "roi"+strconv.Itoa(l) {
				unnamed = append(unnamed, strconv.Itoa(l))
			}
		}
		if len(unnamed) == len(labels) {
			unnamed = nil // no names given: every ROI is roi<label>, as expected
		}
		var named []int
		for l := range m.ROINames {
			named = append(named, l)
		}
		sort.Ints(named)
		for _, l := range named {
			if !has[l] {
				unused = append(unused, fmt.Sprintf("%s (label %d)", m.ROINames[l], l))
			}
		}
		var parts []string
		if len(unnamed) > 0 {
			as := "roi" + unnamed[0]
			if len(unnamed) > 1 {
				as += ", roi" + unnamed[1] + ", ..."
			}
			if len(unnamed) == 1 {
				parts = append(parts, fmt.Sprintf("label %s has no name (reported as %s)", unnamed[0], as))
			} else {
				parts = append(parts, fmt.Sprintf("labels %s have no name (reported as %s)", textlist.Some(unnamed, 6), as))
			}
		}
		if len(unused) == 1 {
			parts = append(parts, fmt.Sprintf("name %s labels no target", unused[0]))
		} else if len(unused) > 1 {
			parts = append(parts, fmt.Sprintf("names %s label no target", textlist.Some(unused, 6)))
		}
		if len(parts) == 0 {
			continue
		}
		msg := "ROI names and labels disagree: " + strings.Join(parts, "; ") + "; check the --roi-names file given to sweep (one name per line names labels 0, 1, ...)"
		if dirs[msg] == nil {
			order = append(order, msg)
		}
		dirs[msg] = append(dirs[msg], s.Dir)
	}
	var out []string
	for _, msg := range order {
		d := dirs[msg]
		where := d[0]
		if len(d) > 1 {
			where += fmt.Sprintf(" (and %d more sweeps)", len(d)-1)
		}
		out = append(out, where+": "+msg)
	}
	return out
}

// checkWindows refuses --windows holding no time point of the MEG times a sweep's metric uses
// (--times, else the sweep's own), before anything is computed, naming the flag.
func checkWindows(o sweep.TemporalOptions, groups ...[]*sweep.Sweep) error {
	if o.Windows == nil {
		return nil
	}
	for _, g := range groups {
		for _, s := range g {
			times := o.Times
			if times == nil {
				times = s.Meta.Times
			}
			if err := sweep.CheckWindows(times, o.Windows); err != nil {
				return usageError("--windows: %v", err)
			}
		}
	}
	return nil
}

// alignmentOptions reads --checkpoint, --layer, --roi, --window and --ceiled (rank, scaling --sweeps).
func alignmentOptions(c *cli.Context) (sweep.AlignmentOptions, error) {
	o := sweep.AlignmentOptions{Checkpoint: c.String("checkpoint"), Layer: c.String("layer"), ROI: c.String("roi"), Ceiled: c.Bool("ceiled")}
	if f := c.String("window"); f != "" {
		w, err := parseWindow(f)
		if err != nil {
			return o, usageError("--window: %v", err)
		}
		o.Window = &w
	}
	return o, nil
}

// modelProgress says on a terminal which of total models is being read (rank, scaling --sweeps:
// many models on a network filesystem take a while); wipe clears the line. Both do nothing when
// stderr is not a terminal.
func modelProgress(c *cli.Context, total int) (show func(k int, model string), wipe func()) {
	if !stderrIsTerminal(c) {
		return func(int, string) {}, func() {}
	}
	return func(k int, m string) {
			fmt.Fprintf(c.App.ErrWriter, "\r\033[Kreading the sweeps of model %d of %d: %s", k, total, m)
		}, func() {
			fmt.Fprint(c.App.ErrWriter, "\r\033[K")
		}
}

// onceFlags refuses a flag of one value given more than once (`--brain-ids a --brain-ids b` to a
// command that takes one): urfave/cli keeps the last silently, and the first was meant too. args
// are the command line after the program's name: the command, then its flags. Repeatable
// flags (lists) and switches are not counted; flags after the first argument are not read as
// flags (argsCommand reports them).
func onceFlags(args []string) error {
	if len(args) == 0 {
		return nil
	}
	var cmd *cli.Command
	for _, c := range commands {
		if c.HasName(args[0]) {
			cmd = c
		}
	}
	if cmd == nil {
		return nil
	}
	type flagInfo struct {
		name        string // the flag's first name, as errors give it
		once, value bool   // one value only; takes a value
	}
	byName := map[string]flagInfo{}
	for _, f := range cmd.Flags {
		info := flagInfo{name: f.Names()[0], once: true, value: true}
		switch f.(type) {
		case *cli.BoolFlag:
			info.once, info.value = false, false
		case *cli.StringSliceFlag, *cli.IntSliceFlag, *cli.Int64SliceFlag, *cli.Float64SliceFlag, *cli.Uint64SliceFlag, *cli.UintSliceFlag:
			info.once = false
		}
		for _, n := range f.Names() {
			byName[n] = info
		}
	}
	seen := map[string]int{}
	for i := 1; i < len(args); i++ {
		a := args[i]
		if a == "--" || !strings.HasPrefix(a, "-") || a == "-" {
			break
		}
		name, _, inline := strings.Cut(strings.TrimLeft(a, "-"), "=")
		info, ok := byName[name]
		if !ok {
			continue // urfave/cli reports unknown flags
		}
		if info.value && !inline {
			i++ // its value
		}
		if seen[info.name]++; info.once && seen[info.name] == 2 {
			return usageError("--%s given more than once, but it takes one value (the last would be used and the others ignored)", info.name)
		}
	}
	return nil
}
