package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/brainalign/brainalign/array"
	"github.com/brainalign/brainalign/ceiling"
	"github.com/brainalign/brainalign/engine"
)

func init() {
	registerCommand(argsCommand(&cli.Command{
		Name:      "ceiling",
		Usage:     "noise ceiling of brain data from repeated trials, and the trials averaged per stimulus",
		ArgsUsage: " ",
		Description: "Reads trial-level brain data (--brain: trials x targets, or trials x channels x times) and\n" +
			"the stimulus shown on each trial (--ids, one per line; a stimulus shown several times repeats\n" +
			"its id; or, for MNE epochs, --ids x-epo.fif for each epoch's event name or x-epo.fif:COLUMN\n" +
			"for a column of the epochs' metadata), and writes to --out:\n" +
			"  ceiling.npy               the largest Pearson r a noiseless model can reach against\n" +
			"                            averaged.npy, per target (float64, the trailing axes' shape)\n" +
			"  explainable_variance.npy  its square: the fraction of the averaged data's variance that is\n" +
			"                            signal (NSD's noise ceiling NC / 100)\n" +
			"  ncsnr.npy                 signal sd / noise sd of one trial (+Inf where repeats agree exactly)\n" +
			"  split_half_r.npy          with --method split-half: r between half means, mean over splits\n" +
			"  averaged.npy, averaged_ids.txt   the trials averaged per stimulus (in the input's precision;\n" +
			"                            stimuli in order of first appearance), ready for encode and sweep\n" +
			"                            (--brain averaged.npy --brain-ids averaged_ids.txt); not with\n" +
			"                            --no-averaged\n" +
			"  ceiling.json              inputs, method, repeat counts, summary statistics\n" +
			"  ceiling.nii.gz, ncsnr.nii.gz (or .mgz, .dscalar.nii, .func.gii)   for NIfTI, MGH, CIFTI\n" +
			"                            or GIFTI trials: the same in their space\n" +
			"With --brain-mask only the masked targets are used: the outputs hold NaN elsewhere, and\n" +
			"averaged.npy holds the masked targets only (give encode and sweep the same --brain-mask).\n" +
			"Several --brain files (the same targets) are read as one, their trials one after another, as\n" +
			"--ids lists them: no need to concatenate sessions into one large file.\n" +
			"--method ncsnr (default) estimates the noise from the spread of each stimulus's repeats, as the\n" +
			"Natural Scenes Dataset does; split-half correlates the means of random halves of each\n" +
			"stimulus's repeats. Both account for stimuli shown a different number of times. With\n" +
			"--sessions every target is z-scored within each session first (NSD's practice; it removes\n" +
			"drifts between sessions), and averaged.npy holds the z-scored trials' means. Pass the\n" +
			"ceiling to encode --ceiling (or sweep --ceiling) to divide scores by it. Scores of a fixed\n" +
			"test set (encode --test-ids) take the ceiling of its stimuli: give ceiling the same\n" +
			"--test-ids (test images shown more often than the others have a higher ceiling). Formulas:\n" +
			"package ceiling's documentation.",
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "brain", Aliases: []string{"y"}, Required: true, Usage: "trial-level brain data `TRIALS.npy` (trials x targets, or trials x channels x times); repeat for files of the same targets whose trials follow one another (one per session, say)"},
			brainArrayFlag(),
			&cli.StringFlag{Name: "ids", Required: true, Usage: "the stimulus of each trial, one id per `FILE` line or element of a .npy of strings or integers (repeats expected); or an MNE epochs file's event names (x-epo.fif) or metadata column (x-epo.fif:COLUMN)"},
			&cli.StringFlag{Name: "sessions", Usage: "z-score each target within sessions: `SESSIONS.npy`, one integer label per trial, or a column of an MNE epochs file's metadata (x-epo.fif:session_nr)"},
			&cli.BoolFlag{Name: "session-per-file", Usage: "z-score each target within each --brain file (each file one session)"},
			&cli.StringFlag{Name: "test-ids", Usage: "the ceiling of scores over a fixed test set: its stimulus ids, one per `FILE` line or a .npy of strings or integers (as encode --test-ids); the noise of the averages is that of these stimuli's repeats, the noise and signal estimates use every trial"},
			&cli.StringFlag{Name: "method", Value: string(ceiling.NCSNR), Usage: "ncsnr or split-half"},
			&cli.IntFlag{Name: "splits", Value: ceiling.DefaultSplits, Usage: "split-half: random splits averaged"},
			&cli.Uint64Flag{Name: "seed", Value: 0, Usage: "split-half: random seed of the splits"},
			trialsMaskFlag("outputs hold NaN elsewhere, where the brain data may hold anything (NaN included), and averaged.npy the masked targets only"),
			&cli.BoolFlag{Name: "no-averaged", Usage: "do not write averaged.npy (saves its memory and disk)"},
			&cli.StringFlag{Name: "out", Aliases: []string{"o"}, Required: true, Usage: "output `DIR` (written all at once)"},
			&cli.BoolFlag{Name: "overwrite", Usage: "replace an existing, non-empty output directory"},
		},
		Action: runCeiling,
	}, false))
}

func runCeiling(c *cli.Context) error {
	if c.NArg() > 0 {
		return usageError("ceiling takes no arguments (got %q); the trials are given with --brain", c.Args().First())
	}
	method, err := ceiling.ParseMethod(c.String("method"))
	if err != nil {
		return usageError("--method: %v", err)
	}
	if c.Int("splits") < 1 {
		return usageError("--splits %d: want at least 1", c.Int("splits"))
	}
	if method != ceiling.SplitHalf && (c.IsSet("splits") || c.IsSet("seed")) {
		return usageError("--splits and --seed are for --method split-half")
	}
	if c.String("sessions") != "" && c.Bool("session-per-file") {
		return usageError("--sessions and --session-per-file exclude each other")
	}
	paths := c.StringSlice("brain")
	if masks := c.StringSlice("brain-mask"); len(masks) > 1 {
		return usageError("--brain-mask given %d times: ceiling's --brain files are trials of the same targets, so give one mask for all of them", len(masks))
	}
	out, cleanup, err := createOut(c.String("out"), c.Bool("overwrite"))
	if err != nil {
		return err
	}
	defer cleanup()
	if err := out.CheckInputs(append([]string{idsPath(c.String("ids")), idsPath(c.String("sessions")), c.String("test-ids")}, slices.Concat(paths, c.StringSlice("brain-mask"))...)...); err != nil {
		return err
	}
	if c.Bool("overwrite") {
		if err := checkEarlierOutput(c.String("out"), "ceiling", "ceiling.json", isCommandJSON("ceiling.json", "ceiling")); err != nil {
			return err
		}
	}
	// each file masked as soon as it is read: its whole data, decoded, are then let go before the
	// next is read (NSD's sessions: one at a time, not 40 whole volumes at once)
	member := c.String("brain-array")
	ys, err := loadTrialFiles(paths, func(p string) (*input, bool, error) { return loadBrainMasked(c, p, member) },
		func(y *input) error { return applyMask(c, y) })
	if err != nil {
		return err
	}
	defer func() {
		for _, y := range ys {
			y.close()
		}
	}()
	var parts []engine.Matrix
	var names []string
	var groups []int // --session-per-file
	for k, y := range ys {
		parts, names = append(parts, y.m), append(names, y.name())
		for range y.m.Rows {
			groups = append(groups, k)
		}
	}
	what := names[0]
	if len(names) > 1 {
		what = fmt.Sprintf("%d --brain files (%s ... %s)", len(names), names[0], names[len(names)-1])
	}
	if len(paths) == 1 {
		for _, flag := range []string{"ids", "sessions"} {
			if err := checkEpochsSource(flag, c.String(flag), paths[0]); err != nil {
				return err
			}
		}
	}
	ids, err := readTrialIDs(c.String("ids"))
	if err != nil {
		return err
	}
	if len(ids) != len(groups) {
		return fmt.Errorf("%s: %d ids for the %d trials (rows) of %s", c.String("ids"), len(ids), len(groups), what)
	}
	o := ceiling.Options{Method: method, Splits: c.Int("splits"), Seed: c.Uint64("seed"), Average: !c.Bool("no-averaged")}
	if path := c.String("test-ids"); path != "" {
		if o.Scored, err = readIDs(path); err != nil {
			return err
		}
		if len(o.Scored) == 0 {
			return fmt.Errorf("--test-ids %s: no stimulus ids", path)
		}
		shown := make(map[string]bool, len(ids))
		for _, id := range ids {
			shown[id] = true
		}
		if !slices.ContainsFunc(o.Scored, func(id string) bool { return shown[id] }) {
			return fmt.Errorf("--test-ids %s: none of its %d stimulus ids is among the trials' (--ids %s)", path, len(o.Scored), c.String("ids"))
		}
	}
	switch {
	case c.String("sessions") != "":
		if o.Groups, err = readGroups(c.String("sessions"), len(groups)); err != nil {
			return err
		}
	case c.Bool("session-per-file"):
		o.Groups = groups
	}
	for _, y := range ys {
		if err := y.m.CheckFinite(y.name()); err != nil {
			return err
		}
	}
	prog := newProgress(c.App.ErrWriter, stderrIsTerminal(c), "ceiling: targets")
	o.Progress = prog.update
	res, err := ceiling.EstimateParts(c.Context, parts, ids, o)
	prog.done()
	if err != nil {
		return fmt.Errorf("%s with %s: %w", what, c.String("ids"), err)
	}
	if res.ScoredMissing > 0 {
		fmt.Fprintf(c.App.ErrWriter, "brainalign: warning: %d of the stimulus ids of --test-ids %s were never shown; the ceiling is that of the %d others\n", res.ScoredMissing, c.String("test-ids"), res.ScoredStimuli)
	}

	y := ys[0]
	trailing := y.targetShape()
	files := []struct {
		name string
		data []float64
	}{{"ceiling.npy", res.Ceiling}, {"explainable_variance.npy", res.Explainable}, {"ncsnr.npy", res.SNR}}
	if method == ceiling.SplitHalf {
		files = append(files, struct {
			name string
			data []float64
		}{"split_half_r.npy", res.SplitHalfR})
	}
	put := putFile(out.Write)
	var written []string
	for _, f := range files {
		if err := put.npy(f.name, trailing, y.full(f.data)); err != nil {
			return err
		}
		written = append(written, f.name)
	}
	space, err := volumeSpace(nil, y)
	if err != nil {
		return err
	}
	vols, err := writeVolumes(space, put, map[string][]float64{"ceiling": y.full(res.Ceiling), "ncsnr": y.full(res.SNR)})
	if err != nil {
		return err
	}
	written = append(written, vols...)
	if o.Average {
		shape := append([]int{len(res.Stimuli)}, trailing...)
		if y.mask != nil { // the masked targets only, as encode and sweep take them with the mask
			shape = []int{len(res.Stimuli), len(y.mask.cols)}
		}
		var data any = res.Averaged.F32
		if res.Averaged.Is64() {
			data = res.Averaged.F64
		}
		if err := put.npy("averaged.npy", shape, data); err != nil {
			return err
		}
		if err := put.bytes("averaged_ids.txt", []byte(strings.Join(res.Stimuli, "\n")+"\n")); err != nil {
			return err
		}
		written = append(written, "averaged.npy", "averaged_ids.txt")
	}
	summary := map[string]any{
		"command":           "ceiling",
		"version":           version,
		"created":           nowUTC(),
		"args":              os.Args,
		"brain":             brainInfos(ys),
		"ids":               c.String("ids"),
		"method":            method,
		"trials":            res.Trials,
		"stimuli":           len(res.Stimuli),
		"repeated_stimuli":  res.RepeatedStimuli,
		"repeats":           repeatHistogram(res.Repeats),
		"noise_term":        res.NoiseTerm,
		"targets":           y.m.Cols,
		"brain_mask":        strings.Join(c.StringSlice("brain-mask"), " + "),
		"ceiling":           statsOf(res.Ceiling),
		"explainable":       statsOf(res.Explainable),
		"constant_targets":  res.Constant,
		"noiseless_targets": res.NoNoise,
		"files":             written,
		"host":              hostOf(),
	}
	if method == ceiling.SplitHalf {
		summary["splits"], summary["seed"] = res.Splits, c.Uint64("seed")
	}
	if c.String("test-ids") != "" {
		summary["test_ids"] = map[string]any{"path": c.String("test-ids"), "stimuli": res.ScoredStimuli, "never_shown": res.ScoredMissing, "digest": idSetDigest(o.Scored)}
	}
	switch {
	case c.String("sessions") != "":
		summary["sessions"] = map[string]any{"path": c.String("sessions"), "count": res.Groups}
	case c.Bool("session-per-file"):
		summary["sessions"] = map[string]any{"per_file": true, "count": res.Groups}
	}
	if err := put.json("ceiling.json", jsonSafe(summary)); err != nil {
		return err
	}
	if err := out.Commit(); err != nil {
		return err
	}
	st := statsOf(res.Ceiling)
	fmt.Fprintf(c.App.Writer, "noise ceiling (%s) of %d targets from %d trials of %d stimuli (%d shown more than once; %s):\n",
		method, y.m.Cols, res.Trials, len(res.Stimuli), res.RepeatedStimuli, repeatSummary(res.Repeats))
	fmt.Fprintf(c.App.Writer, "  ceiling on r: median %.3f, mean %.3f, max %.3f", st.Median, st.Mean, st.Max)
	if res.Constant > 0 {
		fmt.Fprintf(c.App.Writer, "; %d constant target(s) at 0", res.Constant)
	}
	fmt.Fprintf(c.App.Writer, "\nwrote %s: %s\n", out.Final(), strings.Join(append(written, "ceiling.json"), ", "))
	return nil
}

// loadTrialFiles reads the --brain files of trials, which must have the same targets, with load
// (loadBrainMasked), calling prepare on each as soon as it is read (before the next) unless load
// has (the masked targets of an HDF5 file read).
func loadTrialFiles(paths []string, load func(path string) (y *input, prepared bool, err error), prepare func(*input) error) ([]*input, error) {
	if err := array.CheckHemispheres(paths, make([]*array.Geometry, len(paths))); err != nil { // by name, before reading
		return nil, err
	}
	var ys []*input
	var spaces []*array.Geometry // each file's own, before prepare (a mask may give its space)
	fail := func(err error) ([]*input, error) {
		for _, y := range ys {
			y.close()
		}
		return nil, err
	}
	for _, p := range paths {
		y, prepared, err := load(p)
		if err != nil {
			return fail(err)
		}
		own := y.geo
		if prepared {
			own = nil // an HDF5 file's, none: y.geo is the mask's
		}
		ys, spaces = append(ys, y), append(spaces, own)
		if first := ys[0]; !slices.Equal(y.shape[1:], first.shape[1:]) {
			return fail(fmt.Errorf("%s: targets shaped %s, but %s's are shaped %s: the --brain files must have the same targets",
				y.name(), array.ShapeString(y.shape[1:]), first.name(), array.ShapeString(first.shape[1:])))
		}
		// as many voxels on another grid are other places: their trials are not repeats of the
		// first file's voxels (a mask checks each file, but none may be given)
		if err := array.SameGrid(own, spaces[0]); own != nil && spaces[0] != nil && err != nil {
			what := "is not on the grid of"
			if own.Format == "cifti" {
				what = "does not hold the grayordinates of"
			}
			return fail(fmt.Errorf("--brain %s %s %s (%v): the --brain files must be trials of the same targets", y.name(), what, ys[0].name(), err))
		}
		if prepared {
			continue
		}
		if err := prepare(y); err != nil {
			return fail(err)
		}
	}
	if err := array.CheckHemispheres(paths, spaces); err != nil { // and by GIFTI metadata
		for _, y := range ys {
			y.close()
		}
		return nil, err
	}
	return ys, nil
}

// brainInfos describes the --brain inputs for ceiling.json: one object, or a list of several.
func brainInfos(ys []*input) any {
	if len(ys) == 1 {
		return infoOf(ys[0])
	}
	infos := make([]inputInfo, len(ys))
	for i, y := range ys {
		infos[i] = infoOf(y)
	}
	return infos
}

// repeatHistogram counts stimuli by their number of trials, keyed by that number.
func repeatHistogram(repeats []int) map[string]int {
	h := map[string]int{}
	for _, n := range repeats {
		h[strconv.Itoa(n)]++
	}
	return h
}

// repeatSummary says how many stimuli were shown how often ("120 shown 1x, 800 shown 3x").
func repeatSummary(repeats []int) string {
	h := map[int]int{}
	for _, n := range repeats {
		h[n]++
	}
	var parts []string
	for _, n := range slices.Sorted(maps.Keys(h)) {
		parts = append(parts, fmt.Sprintf("%d shown %dx", h[n], n))
	}
	return strings.Join(parts, ", ")
}

// defaultCeilingMin is the smallest noise ceiling a score is divided by: below it a target is
// mostly noise, and the ratio would be noise over a small, uncertain number.
const defaultCeilingMin = 0.1

// ceilingOption reads --ceiling (nil when not given) for brain data whose targets are shaped
// targets, and checks --ceiling-min.
func ceilingOption(c *cli.Context, targets []int, y *input) ([]float64, error) {
	if err := checkCeilingMin(c); err != nil {
		return nil, err
	}
	paths := c.StringSlice("ceiling")
	if len(paths) == 0 {
		return nil, nil
	}
	return loadCeilings(paths, targets, y)
}

// checkCeilingMin refuses a --ceiling-min out of range or without --ceiling.
func checkCeilingMin(c *cli.Context) error {
	if c.IsSet("ceiling-min") && len(c.StringSlice("ceiling")) == 0 {
		return usageError("--ceiling-min needs --ceiling")
	}
	if m := c.Float64("ceiling-min"); !(m >= 0 && m <= 1) {
		return usageError("--ceiling-min %g: want a value from 0 to 1", m)
	}
	return nil
}

// ceiledInfo is what a summary records of scores divided by the noise ceiling.
type ceiledInfo struct {
	Path   string     `json:"path"`
	Min    float64    `json:"min"`
	Below  int        `json:"targets_below_min"`
	Score  scoreStats `json:"ceiled_score"` // over the targets at or above the floor
	scores []float64
}

func divideByCeiling(scores, ceil []float64, path string, floor float64) *ceiledInfo {
	ceiled, below := ceiling.Divide(scores, ceil, floor)
	kept := make([]float64, 0, len(ceiled)-below)
	for _, v := range ceiled {
		if !math.IsNaN(v) {
			kept = append(kept, v)
		}
	}
	st := statsOf(kept)
	if len(kept) == 0 {
		nan := math.NaN()
		st = scoreStats{Mean: nan, Median: nan, Max: nan, Min: nan}
	}
	return &ceiledInfo{Path: path, Min: floor, Below: below, Score: st, scores: ceiled}
}

// idSetDigest identifies a set of stimulus ids (order and repeats aside), so that a ceiling's test
// set can be compared with a run's.
func idSetDigest(ids []string) string {
	h := sha256.New()
	for _, id := range slices.Compact(slices.Sorted(slices.Values(ids))) {
		fmt.Fprintf(h, "%s\n", id)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// warnCeilingTestSet warns when a --ceiling was estimated for other stimuli than the run scores:
// a ceiling folder's ceiling.json records the test set given to ceiling --test-ids (none: all
// stimuli), and scores over a test set need that set's ceiling (its repeats set the noise of its
// averages). Only --test-ids can be compared; other folds score all stimuli.
func warnCeilingTestSet(c *cli.Context) error {
	if len(c.StringSlice("ceiling")) == 0 {
		return nil // nothing to compare: --test-ids is read with the folds
	}
	var run string
	if path := c.String("test-ids"); path != "" {
		ids, err := readIDs(path)
		if err != nil {
			return err
		}
		run = idSetDigest(ids)
	}
	for _, p := range c.StringSlice("ceiling") {
		b, err := os.ReadFile(filepath.Join(filepath.Dir(p), "ceiling.json"))
		if err != nil {
			continue // a ceiling from elsewhere: nothing to compare
		}
		var info struct {
			Command string `json:"command"`
			TestIDs *struct {
				Path   string `json:"path"`
				Digest string `json:"digest"`
			} `json:"test_ids"`
		}
		if json.Unmarshal(b, &info) != nil || info.Command != "ceiling" {
			continue
		}
		switch {
		case run != "" && info.TestIDs == nil:
			fmt.Fprintf(c.App.ErrWriter, "brainalign: warning: --ceiling %s is the ceiling of all stimuli, and these scores are of the test set %s: give ceiling the same --test-ids (its repeats set the ceiling)\n", p, c.String("test-ids"))
		case run != "" && info.TestIDs.Digest != run:
			fmt.Fprintf(c.App.ErrWriter, "brainalign: warning: --ceiling %s is the ceiling of another test set (%s) than --test-ids %s\n", p, info.TestIDs.Path, c.String("test-ids"))
		case run == "" && info.TestIDs != nil && c.String("test-fold") == "":
			fmt.Fprintf(c.App.ErrWriter, "brainalign: warning: --ceiling %s is the ceiling of the test set %s, and these scores are of all stimuli\n", p, info.TestIDs.Path)
		}
	}
	return nil
}
