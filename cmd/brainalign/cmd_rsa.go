package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/brainalign/brainalign/engine"
	"github.com/brainalign/brainalign/internal/crashpoint"
	"github.com/brainalign/brainalign/internal/sysmem"
	"github.com/brainalign/brainalign/rsa"
	"github.com/brainalign/brainalign/sweep"
)

func init() {
	registerCommand(argsCommand(&cli.Command{
		Name:      "rsa",
		Usage:     "representational similarity (RSA) and linear CKA of activations and brain data, per ROI",
		ArgsUsage: " ",
		Description: "For each --features (images x features; repeat for several layers or models, NAME=PATH) and\n" +
			"the brain data (images x targets, or images x channels x times, flattened), computes the\n" +
			"representational dissimilarity matrix (RDM) over the images (--distance: 1 - Pearson r\n" +
			"between images, or Euclidean), correlates the model's RDM with the brain's over their upper\n" +
			"triangles (--compare: Spearman or Pearson), with a Mantel permutation p-value when\n" +
			"--permutations N > 0 (one-sided, seeded by --seed), and linear CKA of the activations and\n" +
			"the brain data twice: cka, Kornblith et al. 2019's biased HSIC estimator, and\n" +
			"cka_debiased, Song et al. 2012's unbiased one (Kornblith's debiased=True). With many more\n" +
			"features than images biased CKA is high even for unrelated data (0.95 for random data of\n" +
			"4096 features over 200 images, where debiased CKA is -0.001): read cka_debiased there. Both\n" +
			"come from the same Gram matrices, debiased CKA at the cost of two more passes over them, so\n" +
			"both are always written (debiased: null with fewer than 4 images). With --roi (one integer\n" +
			"label per target; negative: none) the brain RDM and CKA are also taken per ROI. Rows are the\n" +
			"same images in the same order, or matched by --features-ids (one for all --features, or\n" +
			"one per --features) and --brain-ids. Memory: each RDM of n images holds n(n-1)/2 float64\n" +
			"(400 MB at 10,000 images), one per brain ROI and per feature set at a time, twice with\n" +
			"CKA; a run that would not fit is refused before any work. Writes to --out, once everything\n" +
			"is computed: rsa.json (every score, inputs, shapes, options, version), rsa.csv (one row per\n" +
			"features x ROI), and with --save-rdms each RDM as a condensed .npy (scipy's pdist order;\n" +
			"scipy.spatial.distance.squareform makes it square) with stimuli.txt, their images in order.",
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "features", Aliases: []string{"x"}, Required: true, Usage: "activations `[NAME=]X.npy` (n x d) or [NAME=]BUNDLE.npz:ARRAY; repeat for several layers or models"},
			&cli.StringFlag{Name: "layer", Usage: "array `NAME` inside .npz, .safetensors or HDF5 features files given without :ARRAY"},
			brainFlag(true),
			brainArrayFlag(),
			&cli.StringSliceFlag{Name: "features-ids", Usage: "stimulus ids of the feature rows, one per `FILE` line or a .npy of strings or integers: once for all --features, or once per --features, in order"},
			brainIDsFlag(),
			brainMaskFlag("the others are left out of every RDM"),
			&cli.StringSliceFlag{Name: "roi", Usage: "ROI label per target `R.npy` (integers; negative: none), or a NIfTI/MGH/CIFTI label volume of the targets, a GIFTI .label.gii or FreeSurfer .annot (named by its table): an RDM per ROI as well as over all targets; repeat for targets joined from several files"},
			&cli.StringFlag{Name: "roi-names", Usage: "ROI names `FILE`: one per line (label = line, from 0), 'LABEL NAME' lines, or a FreeSurfer color table (FreeSurferColorLUT.txt, .ctab: 'LABEL NAME R G B A')"},
			&cli.StringFlag{Name: "distance", Value: string(rsa.Correlation), Usage: "dissimilarity of two images: correlation (1 - Pearson r) or euclidean"},
			&cli.StringFlag{Name: "compare", Value: string(rsa.Spearman), Usage: "correlation of two RDMs: spearman (ties averaged) or pearson"},
			&cli.IntFlag{Name: "permutations", Usage: "Mantel permutations of the images for a p-value (0: none; cost O(N n²))"},
			&cli.Uint64Flag{Name: "seed", Usage: "seed of the permutations"},
			&cli.BoolFlag{Name: "no-cka", Usage: "skip linear CKA, biased and debiased (half the memory and time)"},
			&cli.BoolFlag{Name: "save-rdms", Usage: "also write every RDM (condensed, .npy) and stimuli.txt"},
			&cli.StringFlag{Name: "out", Aliases: []string{"o"}, Required: true, Usage: "results `DIR` (created if needed; its earlier results replaced together once all are written)"},
		},
		Action: runRSA,
	}, false))
}

// rsaFeatures is one --features set, read.
type rsaFeatures struct {
	name, path, array string
	in                *input
	rows              []int // its rows in use, in the stimuli's order (nil: all)
}

// rsaSide is one side of the comparisons: a feature set, or the brain data over all targets or
// one ROI, with what was computed of it.
type rsaSide struct {
	name    string
	targets int
	rdm     *rsa.RDM
	gram    *rsa.Gram // nil with --no-cka
}

// rsaResult is one row of rsa.csv.
type rsaResult struct {
	Features string  `json:"features"`
	ROI      string  `json:"roi"`
	Targets  int     `json:"targets"`
	RSA      float64 `json:"rsa"`
	P        float64 `json:"p"` // NaN (null) without permutations
	CKA      float64 `json:"cka"`
	// CKADebiased is NaN (null) without CKA, with fewer than rsa.MinDebiasedStimuli images, or
	// with data that vary at one image only
	CKADebiased float64 `json:"cka_debiased"`
	Recompute   int     `json:"euclidean_pairs_recomputed,omitempty"`
}

func runRSA(c *cli.Context) error {
	start := time.Now()
	dist, err := rsa.ParseDistance(c.String("distance"))
	if err != nil {
		return usageError("--distance: %v", err)
	}
	cmp, err := rsa.ParseComparison(c.String("compare"))
	if err != nil {
		return usageError("--compare: %v", err)
	}
	if c.Int("permutations") < 0 {
		return usageError("--permutations %d: want 0 (none) or more", c.Int("permutations"))
	}
	if c.IsSet("seed") && c.Int("permutations") == 0 {
		return usageError("--seed without --permutations: the seed is of the permutations")
	}
	withCKA := !c.Bool("no-cka")
	out := c.String("out")
	if err := checkOut(out); err != nil {
		return err
	}
	feats, err := loadRSAFeatures(c)
	if err != nil {
		return err
	}
	defer func() {
		for _, f := range feats {
			f.in.close()
		}
	}()
	y, err := loadMaskedBrain(c)
	if err != nil {
		return err
	}
	defer y.close()
	meta, err := rsaROIs(c, y)
	if err != nil {
		return err
	}
	ids, brainRows, unmatched, err := matchRSARows(c, feats, y)
	if err != nil {
		return err
	}
	n := y.m.Rows
	if brainRows != nil {
		n = len(brainRows)
	}
	if n < rsa.MinStimuli {
		return fmt.Errorf("%d stimuli in common between the features and %s: RSA and CKA need at least %d", n, y.name(), rsa.MinStimuli)
	}
	if n > rsa.MaxStimuli {
		return fmt.Errorf("%d stimuli: at most %d (one RDM of %d stimuli holds %s)", n, rsa.MaxStimuli, n, memSize(rsa.Bytes(n)))
	}
	// the values in use, located in the files (rows left out may hold anything)
	for _, f := range feats {
		if err := f.in.m.CheckValuesRows(f.in.name(), orAll(f.rows, f.in.m.Rows), engine.Float64); err != nil {
			return err
		}
	}
	if err := y.m.CheckValuesRows(y.name(), orAll(brainRows, y.m.Rows), engine.Float64); err != nil {
		return err
	}
	labels := meta.Labels()
	sides := 1 + len(labels) // brain sides kept through the run
	perSide := rsa.Bytes(n)
	if withCKA {
		perSide *= 2
	}
	// the brain sides, one feature set, and the one being computed (its Gram triangle and, for
	// Euclidean distances, the RDM made from it); then the comparison's: Spearman's ranks of both
	// RDMs and the sort's int32 indices, and a Mantel test's standardised copies of both
	need := int64(sides+2)*perSide + rsa.Bytes(n)*5/2
	if c.Int("permutations") > 0 {
		need += 2 * rsa.Bytes(n)
	}
	if avail, ok := sysmem.Available(); ok && need > avail {
		return fmt.Errorf("%d stimuli x %d brain RDMs (all targets and %d ROIs) need about %s, but %s is available: use fewer stimuli or ROIs, or --no-cka (half)",
			n, sides, len(labels), memSize(need), memSize(avail))
	}
	ym := y.m
	if brainRows != nil {
		ym = subsetRows(y.m, brainRows)
		y.dropData()
	}
	stimulus := func(row int) string { // how errors name a stimulus (row of the rows in use)
		if ids != nil {
			return fmt.Sprintf("stimulus %q", ids[row])
		}
		return fmt.Sprintf("stimulus %d", row)
	}
	ctx := c.Context
	brain := []rsaSide{}
	whole, err := computeSide(ctx, ym, "all", dist, withCKA, func(err error) error {
		return sideError(err, y.name(), "", stimulus, fileRow(brainRows))
	})
	if err != nil {
		return err
	}
	brain = append(brain, whole)
	for _, l := range labels {
		var cols []int
		for j, lab := range meta.ROI {
			if lab == l {
				cols = append(cols, j)
			}
		}
		name := meta.ROIName(l)
		if dist == rsa.Correlation && len(cols) < 2 {
			return fmt.Errorf("%s: ROI %s has %d target: the correlation distance between images needs at least 2 (use --distance euclidean, or leave the ROI out)", y.name(), name, len(cols))
		}
		side, err := computeSide(ctx, selectColumns(ym, cols), name, dist, withCKA, func(err error) error {
			return sideError(err, y.name(), name, stimulus, fileRow(brainRows))
		})
		if err != nil {
			return err
		}
		brain = append(brain, side)
	}

	var results []rsaResult
	withDebiased := withCKA && n >= rsa.MinDebiasedStimuli
	if withCKA && !withDebiased {
		fmt.Fprintf(c.App.ErrWriter, "note: %d images: debiased CKA needs at least %d, and is left out (null)\n", n, rsa.MinDebiasedStimuli)
	}
	rdmFiles := map[string]savedRDM{}
	fileName := uniqueNames()
	if c.Bool("save-rdms") {
		for _, b := range brain {
			rdmFiles[fileName("rdm_brain_"+b.name)] = savedRDM{Side: "brain", Name: b.name, rdm: b.rdm}
		}
	}
	for _, f := range feats {
		xm := f.in.m
		if f.rows != nil {
			xm = subsetRows(f.in.m, f.rows)
		}
		xm.Name = f.in.name()
		side, err := computeSide(ctx, xm, f.name, dist, withCKA, func(err error) error {
			return sideError(err, f.in.name(), "", stimulus, fileRow(f.rows))
		})
		if err != nil {
			return err
		}
		if c.Bool("save-rdms") {
			rdmFiles[fileName("rdm_features_"+f.name)] = savedRDM{Side: "features", Name: f.name, rdm: side.rdm}
		}
		for _, b := range brain {
			test, err := rsa.Mantel(ctx, side.rdm, b.rdm, cmp, c.Int("permutations"), c.Uint64("seed"))
			if err != nil {
				if errors.Is(err, rsa.ErrConstantRDM) {
					return fmt.Errorf("features %s against brain %s: %v", f.name, b.name, err)
				}
				return err
			}
			res := rsaResult{Features: f.name, ROI: b.name, Targets: b.targets, RSA: test.R, P: test.P, CKA: math.NaN(),
				CKADebiased: math.NaN(), Recompute: side.rdm.Recomputed + b.rdm.Recomputed}
			if withCKA {
				if res.CKA, err = rsa.CKA(side.gram, b.gram); err != nil {
					return fmt.Errorf("features %s against brain %s: %v", f.name, b.name, err)
				}
			}
			if withDebiased {
				res.CKADebiased, err = rsa.DebiasedCKA(side.gram, b.gram)
				switch {
				case errors.Is(err, rsa.ErrNoUnbiasedVariance):
					// the biased CKA and RSA of the pair stand; this one is undefined
					fmt.Fprintf(c.App.ErrWriter, "warning: features %s against brain %s: %v; it is left out (null)\n",
						f.name, b.name, strings.TrimPrefix(err.Error(), "rsa: "))
				case err != nil:
					return fmt.Errorf("features %s against brain %s: %v", f.name, b.name, err)
				}
			}
			results = append(results, res)
		}
	}

	inputs := map[string]any{"brain": infoOf(y)}
	var featInfo []map[string]any
	for _, f := range feats {
		featInfo = append(featInfo, map[string]any{"name": f.name, "path": f.path, "array": f.array, "shape": f.in.shape, "dtype": f.in.dtype})
	}
	inputs["features"] = featInfo
	if y.mask != nil {
		inputs["brain_mask"] = map[string]any{"path": y.mask.path, "shape": y.mask.shape, "targets_kept": len(y.mask.cols)}
	}
	if meta.ROI != nil {
		inputs["roi"] = map[string]any{"path": strings.Join(c.StringSlice("roi"), " + "), "names": c.String("roi-names"), "labels": labels}
	}
	if ids != nil {
		inputs["features_ids"], inputs["brain_ids"] = c.StringSlice("features-ids"), c.StringSlice("brain-ids")
	}
	doc := map[string]any{
		"command": "rsa", "version": version, "created": nowUTC(), "args": os.Args, "inputs": inputs,
		"stimuli": n, "targets": ym.Cols,
		"options": map[string]any{"distance": dist, "compare": cmp, "permutations": c.Int("permutations"), "seed": c.Uint64("seed"),
			"p_value": "one-sided Mantel: (1 + #{permuted >= observed}) / (1 + permutations)", "cka": withCKA,
			"cka_estimator":          "linear CKA, biased HSIC (Kornblith et al. 2019)",
			"cka_debiased_estimator": "linear CKA, unbiased HSIC (Song et al. 2012; Kornblith's debiased=True)"},
		"memory_bytes": need, "results": results, "host": hostOf(),
		"seconds": time.Since(start).Seconds(),
	}
	if unmatched != nil {
		doc["unmatched_ids"] = unmatched
	}
	files, err := writeResults(ctx, out, func(put putFile) ([]string, error) {
		return writeRSA(put, doc, results, rdmFiles, ids, n)
	})
	if err != nil {
		return err
	}
	if err := removeStale(out, files, "rdm_*.npy", "stimuli.txt"); err != nil {
		return err
	}
	printRSA(c.App.Writer, results, n, dist, cmp, withCKA)
	fmt.Fprintf(c.App.Writer, "wrote %s: %s\n", out, strings.Join(files, ", "))
	return nil
}

// removeStale removes the files of an earlier run in out that match patterns and that this run
// did not write (files): RDMs are named after feature sets and ROIs, and an RDM of other
// stimuli or options must not stay beside the new results. Done after the new results are in.
func removeStale(out string, files []string, patterns ...string) error {
	for _, pat := range patterns {
		found, err := filepath.Glob(filepath.Join(out, pat))
		if err != nil {
			return err
		}
		for _, f := range found {
			if !slices.Contains(files, filepath.Base(f)) {
				if err := os.Remove(f); err != nil && !errors.Is(err, fs.ErrNotExist) {
					return fmt.Errorf("removing the earlier run's %s: %v", f, err)
				} else if err == nil {
					crashpoint.Step("removed", f)
				}
			}
		}
	}
	return nil
}

// computeSide computes the RDM (and with CKA the centred Gram matrix) of m; fail words the
// package's errors for the command line. Euclidean RDMs come from the Gram matrix when CKA
// needs it anyway: one product for both.
func computeSide(ctx context.Context, m engine.Matrix, name string, dist rsa.Distance, withCKA bool, fail func(error) error) (rsaSide, error) {
	s := rsaSide{name: name, targets: m.Cols}
	var err error
	if withCKA {
		if s.gram, err = rsa.CentredGram(ctx, m); err != nil {
			return s, fail(err)
		}
	}
	if dist == rsa.Euclidean && s.gram != nil {
		s.rdm, err = s.gram.Euclidean(ctx)
	} else {
		s.rdm, err = rsa.NewRDM(ctx, m, dist)
	}
	if err != nil {
		return s, fail(err)
	}
	if s.gram != nil {
		s.gram.Release() // the data (an ROI's copy of its columns) are not needed for CKA
	}
	return s, nil
}

// sideError words an error of the rsa package about file's data (an ROI of it when roi is set):
// a constant stimulus by its id and row in the file.
func sideError(err error, file, roi string, stimulus func(int) string, row func(int) int) error {
	what := file
	if roi != "" {
		what += " (ROI " + roi + ")"
	}
	var cr *rsa.ConstantRowError
	switch {
	case errors.As(err, &cr):
		return fmt.Errorf("%s: %s (row %d) has the same value for all %d targets: its correlation distance to every other image is undefined; leave the stimulus out or use --distance euclidean",
			what, stimulus(cr.Row), row(cr.Row), cr.Targets)
	case errors.Is(err, rsa.ErrNoVariance):
		return fmt.Errorf("%s: no target varies across the images: CKA is undefined (--no-cka skips it)", what)
	case errors.Is(err, context.Canceled):
		return err
	}
	return fmt.Errorf("%s: %v", what, strings.TrimPrefix(err.Error(), "rsa: "))
}

// fileRow maps a row of the rows in use to the file's row.
func fileRow(rows []int) func(int) int {
	return func(i int) int {
		if rows == nil {
			return i
		}
		return rows[i]
	}
}

func orAll(rows []int, n int) []int {
	if rows != nil {
		return rows
	}
	all := make([]int, n)
	for i := range all {
		all[i] = i
	}
	return all
}

// loadRSAFeatures reads every --features set, each a distinct name.
func loadRSAFeatures(c *cli.Context) ([]*rsaFeatures, error) {
	var feats []*rsaFeatures
	for _, spec := range c.StringSlice("features") {
		name, path, layer, err := parseFeatureSpec(spec, c.String("layer"))
		if err == nil {
			for _, f := range feats {
				if f.name == name {
					err = usageError("--features: two sets are named %q; name them with NAME=PATH", name)
				}
			}
		}
		var in *input
		if err == nil {
			in, err = loadFeatures(path, layer, "PATH:ARRAY (or --layer)")
		}
		if err != nil {
			for _, f := range feats {
				f.in.close()
			}
			return nil, err
		}
		feats = append(feats, &rsaFeatures{name: name, path: path, array: layer, in: in})
	}
	return feats, nil
}

// rsaROIs reads --roi and --roi-names (as sweep does) over y's targets, taken at the masked
// ones with --brain-mask.
func rsaROIs(c *cli.Context, y *input) (sweep.Meta, error) {
	if len(c.StringSlice("roi")) == 0 {
		if c.String("roi-names") != "" {
			return sweep.Meta{}, usageError("--roi-names without --roi: give the ROI labels too")
		}
		return sweep.Meta{}, nil
	}
	meta, err := sweep.ReadMetaJoined(nil, c.StringSlice("roi"), c.String("roi-names"), "")
	if err != nil {
		return meta, err
	}
	if err := checkMetaParts(c, y); err != nil {
		return meta, err
	}
	space, err := volumeSpace(nil, y)
	if err != nil {
		return meta, err
	}
	if err := checkGrids("roi", c.StringSlice("roi"), space, y.name()); err != nil {
		return meta, err
	}
	trailing := y.shape[1:]
	if y.mask != nil {
		meta.Restrict(y.mask.cols, y.mask.size())
		trailing = []int{len(y.mask.cols)}
	}
	if err := meta.Check(y.name(), trailing); err != nil {
		return meta, err
	}
	if len(meta.Labels()) == 0 {
		return meta, fmt.Errorf("%s: no target has an ROI label (every label is negative)", strings.Join(c.StringSlice("roi"), " + "))
	}
	for _, l := range meta.Labels() {
		if meta.ROIName(l) == "all" {
			from := c.String("roi-names")
			if from == "" {
				from = strings.Join(c.StringSlice("roi"), " + ") // a label table's names
			}
			return meta, fmt.Errorf("%s: ROI %d is named \"all\", the name of rsa.csv's rows over all targets (and of rdm_brain_all.npy): rename it", from, l)
		}
	}
	return meta, nil
}

// matchRSARows pairs the rows of every feature set with the brain rows by stimulus id: the brain
// rows whose id every set has, in the brain data's order (setting each set's rows). It returns
// those ids, the brain rows and the ids left out; all nil without ids, where every set must have
// the brain data's rows.
func matchRSARows(c *cli.Context, feats []*rsaFeatures, y *input) (ids []string, brainRows []int, unmatched map[string][]string, err error) {
	fids, bids := c.StringSlice("features-ids"), c.StringSlice("brain-ids")
	if len(fids) == 0 && len(bids) == 0 {
		for _, f := range feats {
			if f.in.m.Rows != y.m.Rows {
				return nil, nil, nil, fmt.Errorf("%s has %d rows but %s has %d: rows must be the same stimuli (match them with --features-ids/--brain-ids)",
					f.in.name(), f.in.m.Rows, y.name(), y.m.Rows)
			}
		}
		return nil, nil, nil, nil
	}
	if len(bids) == 0 || (len(fids) != 1 && len(fids) != len(feats)) {
		return nil, nil, nil, usageError("--features-ids %d times for %d --features, --brain-ids %d times: give --brain-ids, and --features-ids once for all --features or once per --features, in their order",
			len(fids), len(feats), len(bids))
	}
	yIDs, err := y.brainIDs(bids)
	if err != nil {
		return nil, nil, nil, err
	}
	if len(yIDs) != y.m.Rows {
		return nil, nil, nil, fmt.Errorf("%s: %d ids for the %d rows of %s", strings.Join(bids, " + "), len(yIDs), y.m.Rows, y.name())
	}
	xIDs := make([][]string, len(feats))
	for k, f := range feats {
		spec := fids[min(k, len(fids)-1)]
		if xIDs[k], err = readIDs(spec); err != nil {
			return nil, nil, nil, err
		}
		if len(xIDs[k]) != f.in.m.Rows {
			return nil, nil, nil, fmt.Errorf("%s: %d ids for the %d rows of %s", spec, len(xIDs[k]), f.in.m.Rows, f.in.name())
		}
	}
	brainRows, rows, matches, missing := matchEvery(xIDs, yIDs)
	unmatched = map[string][]string{}
	for k, f := range feats {
		reportUnmatched(c.App.ErrWriter, "features "+f.name, matches[k].unmatchedFeatures)
		unmatched["features "+f.name] = append([]string{}, matches[k].unmatchedFeatures...)
	}
	if len(brainRows) == 0 {
		return nil, nil, nil, fmt.Errorf("no stimulus id of %s appears in every --features-ids", strings.Join(bids, " + "))
	}
	reportUnmatched(c.App.ErrWriter, "brain data (or not in every feature set)", missing)
	unmatched["brain"] = append([]string{}, missing...)
	for k, f := range feats {
		f.rows = rows[k]
	}
	for _, j := range brainRows {
		ids = append(ids, yIDs[j])
	}
	return ids, brainRows, unmatched, nil
}

// uniqueNames returns a function giving each name a file name of safe characters, .npy added,
// distinct from those it gave before.
func uniqueNames() func(string) string {
	unsafe := regexp.MustCompile(`[^A-Za-z0-9._=-]+`)
	seen := map[string]bool{}
	return func(name string) string {
		base := unsafe.ReplaceAllString(name, "_")
		f := base + ".npy"
		for k := 2; seen[f]; k++ {
			f = base + "_" + strconv.Itoa(k) + ".npy"
		}
		seen[f] = true
		return f
	}
}

// savedRDM is an RDM written with --save-rdms, and whose it is (rsa.json's rdm_files): file
// names, made of safe characters and distinct, may not tell it.
type savedRDM struct {
	Side string `json:"side"` // features or brain
	Name string `json:"name"` // the feature set's, or the ROI's (all: every target)
	rdm  *rsa.RDM
}

// writeRSA writes rsa.json, rsa.csv and the RDMs (with stimuli.txt), each to path(its name); it
// returns the file names.
func writeRSA(put putFile, doc map[string]any, results []rsaResult, rdms map[string]savedRDM, ids []string, n int) ([]string, error) {
	files := []string{"rsa.json", "rsa.csv"}
	if len(rdms) > 0 {
		doc["rdm_files"] = rdms
	}
	if err := put.json("rsa.json", jsonSafe(doc)); err != nil {
		return nil, err
	}
	g := func(v float64) string { return csvFloat(v, 10) }
	var b strings.Builder
	b.WriteString("features,roi,targets,rsa,p,cka,cka_debiased\n")
	for _, r := range results {
		fmt.Fprintf(&b, "%s,%s,%d,%s,%s,%s,%s\n", csvCell(r.Features), csvCell(r.ROI), r.Targets, g(r.RSA), g(r.P), g(r.CKA), g(r.CKADebiased))
	}
	if err := put.bytes("rsa.csv", []byte(b.String())); err != nil {
		return nil, err
	}
	if len(rdms) == 0 {
		return files, nil
	}
	for name, r := range rdms {
		if err := put.npy(name, []int{len(r.rdm.Values)}, r.rdm.Values); err != nil {
			return nil, err
		}
		files = append(files, name)
	}
	var s strings.Builder
	for i := range n {
		if ids != nil {
			s.WriteString(ids[i])
		} else {
			s.WriteString(strconv.Itoa(i))
		}
		s.WriteByte('\n')
	}
	if err := put.bytes("stimuli.txt", []byte(s.String())); err != nil {
		return nil, err
	}
	return append(files, "stimuli.txt"), nil
}

func printRSA(w io.Writer, results []rsaResult, n int, dist rsa.Distance, cmp rsa.Comparison, withCKA bool) {
	fmt.Fprintf(w, "RSA over %d images: %s RDMs compared by %s", n, dist, cmp)
	if withCKA {
		fmt.Fprint(w, "; linear CKA, biased and debiased")
	}
	fmt.Fprintln(w)
	for _, r := range results {
		fmt.Fprintf(w, "  %s vs %s (%d targets): rsa %.4f", r.Features, r.ROI, r.Targets, r.RSA)
		if !math.IsNaN(r.P) {
			fmt.Fprintf(w, " (p = %.3g)", r.P)
		}
		if withCKA {
			fmt.Fprintf(w, ", cka %.4f", r.CKA)
			if !math.IsNaN(r.CKADebiased) {
				fmt.Fprintf(w, " (debiased %.4f)", r.CKADebiased)
			}
		}
		fmt.Fprintln(w)
	}
}

// memSize says a size in MB or GB.
func memSize(b int64) string {
	if b >= 1e9 {
		return fmt.Sprintf("%.1f GB", float64(b)/1e9)
	}
	return fmt.Sprintf("%.0f MB", math.Ceil(float64(b)/1e6))
}
