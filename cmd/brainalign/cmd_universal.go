package main

import (
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/brainalign/brainalign/figures"
	"github.com/brainalign/brainalign/universal"
)

func init() {
	registerCommand(argsCommand(&cli.Command{
		Name:  "universal",
		Usage: "universal dimensions: which of a model's dimensions other models share, and whether the brain shares them",
		Description: "For each model (--features, one per model: images x features, the same images in the\n" +
			"same order as --brain), its first --dims principal components are its dimensions. Each\n" +
			"dimension's universality is the mean encoding score (the same cross-validated ridge as\n" +
			"encode, same model options) of predicting it from each other model, and its brain\n" +
			"similarity the score of predicting it from the brain data. Reports, per model, Pearson r\n" +
			"across dimensions between the two, and the brain data's mean encoding score from the\n" +
			"full activations, from the --top most universal dimensions and from the --top first\n" +
			"principal components. Writes universal.json, universal.csv (one row per dimension) and\n" +
			"universal.png, once everything is computed. Model names are the file names without their\n" +
			"extension, or NAME in NAME=PATH. An array of an .npz or .safetensors file is chosen per\n" +
			"model with PATH:ARRAY (e.g. vit=vit.npz:blocks.11, cnn=cnn.safetensors:layer4), or for all\n" +
			"models with --layer. With --brain-ids and one --features-ids per model (in the order of\n" +
			"--features), rows are matched by stimulus id: the images every model and the brain data\n" +
			"share, in the brain data's order; ids left out are reported.",
		Flags: append([]cli.Flag{
			&cli.StringSliceFlag{Name: "features", Aliases: []string{"x"}, Required: true, Usage: "activations of one model, `[NAME=]X.npy` (n x d) or [NAME=]BUNDLE.npz:ARRAY; repeat for each model (at least 2)"},
			&cli.StringFlag{Name: "layer", Usage: "array `NAME` inside .npz or .safetensors features files given without :ARRAY"},
			brainFlag(true),
			brainArrayFlag(),
			&cli.StringSliceFlag{Name: "features-ids", Usage: "stimulus ids of a model's rows, one per `FILE` line or a .npy of strings or integers; one per --features, in order"},
			brainIDsFlag(),
			&cli.IntFlag{Name: "dims", Value: 20, Usage: "principal components per model"},
			&cli.IntFlag{Name: "top", Usage: "dimensions kept by the reduction test", DefaultText: "10, or --dims if fewer"},
			&cli.StringFlag{Name: "out", Aliases: []string{"o"}, Required: true, Usage: "results `DIR` (created if needed; its earlier results replaced together once all are written)"},
			&cli.BoolFlag{Name: "no-figures", Usage: "write no PNG figure"},
		}, modelFlags()...),
		Action: runUniversal,
	}, false))
}

func runUniversal(c *cli.Context) error {
	specs := c.StringSlice("features")
	if len(specs) < 2 {
		return usageError("--features: %d model(s); universality needs at least 2", len(specs))
	}
	top := c.Int("top")
	if !c.IsSet("top") {
		top = min(10, c.Int("dims"))
	}
	if c.Int("dims") < 1 || top < 1 || top > c.Int("dims") {
		return usageError("--dims %d, --top %d: want 1 <= top <= dims", c.Int("dims"), top)
	}
	if err := checkModelFlags(c); err != nil {
		return err
	}
	out := c.String("out")
	if err := checkOut(out); err != nil {
		return err
	}
	var models []universal.Model
	var feats []map[string]string // for universal.json
	for _, spec := range specs {
		name, path, layer, err := parseFeatureSpec(spec, c.String("layer"))
		if err != nil {
			return err
		}
		for _, m := range models {
			if m.Name == name {
				return usageError("--features: two models are named %q; name them with NAME=PATH", name)
			}
		}
		in, err := loadFeatures(path, layer, "PATH:ARRAY (or --layer)")
		if err != nil {
			return err
		}
		defer in.close()
		in.m.Name = in.name()
		models = append(models, universal.Model{Name: name, X: in.m})
		feats = append(feats, map[string]string{"name": name, "path": path, "array": layer})
	}
	if err := checkBrainEpochs(c); err != nil {
		return err
	}
	y, err := loadBrainFiles(c.StringSlice("brain"), c.String("brain-array"), c.StringSlice("brain-ids"))
	if err != nil {
		return err
	}
	defer y.close()
	y.m.Name = y.name()
	brainRows := y.m.Rows // --groups and --test-fold label the brain file's rows, before id matching
	yRows, err := matchUniversalRows(c, models, y)
	if err != nil {
		return err
	}
	opts, err := modelOptions(c, y, brainRows, yRows)
	if err != nil {
		return err
	}
	e, err := openEngine(c)
	if err != nil {
		return err
	}
	defer e.Close()
	o := universal.Options{Dims: c.Int("dims"), Top: top, Engine: opts}
	if stderrIsTerminal(c) {
		o.Progress = func(step string) { fmt.Fprintf(c.App.ErrWriter, "\r\033[K%s", step) }
		defer fmt.Fprint(c.App.ErrWriter, "\r\033[K")
	}
	res, err := universal.Analyze(c.Context, e, models, y.m, o)
	if err != nil {
		return err
	}
	inputs := map[string]any{"brain": y.name(), "features": feats, "rows": y.m.Rows}
	if ids := c.StringSlice("features-ids"); len(ids) > 0 {
		inputs["features_ids"], inputs["brain_ids"] = ids, strings.Join(c.StringSlice("brain-ids"), " + ")
	}
	doc := map[string]any{"command": "universal", "version": version, "created": nowUTC(), "inputs": inputs,
		"dims": o.Dims, "top": o.Top, "options": opts.Summary(), "host": hostOf(), "result": res}
	files, err := writeResults(c.Context, out, func(put putFile) ([]string, error) {
		return writeUniversal(put, doc, res, !c.Bool("no-figures"), c.App.ErrWriter)
	}, "universal.png")
	if err != nil {
		return err
	}
	printUniversal(c.App.Writer, res)
	fmt.Fprintf(c.App.Writer, "wrote %s: %s\n", out, files)
	return nil
}

// matchUniversalRows pairs the rows of every model and the brain data by stimulus id
// (--features-ids, --brain-ids): the brain rows whose id every model has, in the brain data's
// order, and each model's rows of those ids. Ids left out are reported; none shared is an error.
// Without ids, rows must already be the same images in the same order (checked by count). It
// returns the brain file's rows kept (nil: all).
func matchUniversalRows(c *cli.Context, models []universal.Model, y *input) ([]int, error) {
	fids, bids := c.StringSlice("features-ids"), strings.Join(c.StringSlice("brain-ids"), " + ")
	if len(fids) == 0 && bids == "" {
		return nil, nil
	}
	if len(fids) != len(models) || bids == "" {
		return nil, usageError("--features-ids %d times for %d --features, --brain-ids %q: give --brain-ids and one --features-ids per model, in the order of --features",
			len(fids), len(models), bids)
	}
	yIDs, err := y.brainIDs(c.StringSlice("brain-ids"))
	if err != nil {
		return nil, err
	}
	if len(yIDs) != y.m.Rows {
		return nil, fmt.Errorf("%s: %d ids for the %d rows of %s", bids, len(yIDs), y.m.Rows, y.name())
	}
	xIDs := make([][]string, len(models))
	for k, m := range models {
		if xIDs[k], err = readIDs(fids[k]); err != nil {
			return nil, err
		}
		if len(xIDs[k]) != m.X.Rows {
			return nil, fmt.Errorf("%s: %d ids for the %d rows of model %s", fids[k], len(xIDs[k]), m.X.Rows, m.Name)
		}
	}
	yRows, rows, matches, missing := matchEvery(xIDs, yIDs)
	if len(yRows) == 0 {
		return nil, fmt.Errorf("no stimulus id of %s appears in every model's --features-ids", bids)
	}
	for k, m := range models {
		reportUnmatched(c.App.ErrWriter, "features of model "+m.Name, matches[k].unmatchedFeatures)
	}
	reportUnmatched(c.App.ErrWriter, "brain data (or not in every model)", missing)
	for k := range models {
		name := models[k].X.Name
		models[k].X = subsetRows(models[k].X, rows[k])
		models[k].X.Name = name
	}
	name := y.m.Name
	y.m = subsetRows(y.m, yRows)
	y.m.Name = name
	return yRows, nil
}

// parseFeatureSpec splits a --features value, [NAME=]PATH[:ARRAY]: ARRAY (else defaultLayer)
// chooses an array of an .npz or .safetensors file. A PATH that exists as given is taken whole,
// colons and all. NAME defaults to the file name without its extension, with the array's name.
func parseFeatureSpec(spec, defaultLayer string) (name, path, layer string, err error) {
	name, path, named := strings.Cut(spec, "=")
	if !named {
		name, path = "", spec
	}
	layer = defaultLayer
	if _, err := os.Stat(path); err != nil {
		if i := strings.LastIndexByte(path, ':'); i > 0 {
			if _, err := os.Stat(path[:i]); err == nil {
				path, layer = path[:i], path[i+1:]
				if layer == "" {
					return "", "", "", usageError("--features %q: empty array name after ':'", spec)
				}
			}
		}
	}
	if !named {
		name = strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
		if layer != defaultLayer {
			name += ":" + layer
		}
	}
	if name == "" || path == "" {
		return "", "", "", usageError("--features %q: want [NAME=]PATH[:ARRAY]", spec)
	}
	return name, path, layer, nil
}

// writeUniversal writes the results (and figure), each file by put; it returns the
// file names.
func writeUniversal(put putFile, doc map[string]any, res *universal.Result, figs bool, warn io.Writer) ([]string, error) {
	files := []string{"universal.json", "universal.csv"}
	if err := put.json("universal.json", jsonSafe(doc)); err != nil {
		return nil, err
	}
	g := func(v float64) string { return csvFloat(v, 10) }
	var b strings.Builder
	b.WriteString("model,dimension,variance,universality,brain_similarity,universal_rank\n")
	for _, m := range res.Models {
		rank := make([]int, len(m.Dimensions))
		for r, q := range m.TopUniversal {
			rank[q] = r + 1
		}
		for _, d := range m.Dimensions {
			fmt.Fprintf(&b, "%s,%d,%s,%s,%s,%d\n", csvCell(m.Name), d.Index, g(d.Variance), g(d.Universality), g(d.BrainSimilarity), rank[d.Index])
		}
	}
	if err := put.bytes("universal.csv", []byte(b.String())); err != nil {
		return nil, err
	}
	if !figs {
		return files, nil
	}
	var groups []figures.ScatterGroup
	for _, m := range res.Models {
		sg := figures.ScatterGroup{Name: fmt.Sprintf("%s (r = %.2f)", m.Name, m.R)}
		for _, d := range m.Dimensions {
			sg.X, sg.Y = append(sg.X, d.Universality), append(sg.Y, d.BrainSimilarity)
		}
		groups = append(groups, sg)
	}
	title := fmt.Sprintf("universal dimensions: pooled r = %.2f over %d dimensions", res.Pooled.R, res.Pooled.N)
	return keepFigure(warn, files, "universal.png", put("universal.png", func(w io.Writer) error {
		return figures.Scatter(w, title, "universality (predicted from other models, r)", "brain similarity (predicted from brain data, r)", groups, true)
	}))
}

func printUniversal(w io.Writer, res *universal.Result) {
	fmt.Fprintf(w, "universal dimensions of %d models; engine %s\n", len(res.Models), res.Engine)
	for _, m := range res.Models {
		red := m.Reduction
		top := m.TopUniversal[:min(red.Top, len(m.TopUniversal))]
		fmt.Fprintf(w, "  %s: %d dimensions; universality vs brain similarity r = %.3f (p = %.3g); most universal: %v\n",
			m.Name, len(m.Dimensions), m.R, m.P, top)
		kept := fmt.Sprintf("%.0f%% kept", 100*red.Kept)
		if math.IsNaN(red.Kept) || math.IsInf(red.Kept, 0) {
			kept = "no share of a full score that is not positive"
		}
		fmt.Fprintf(w, "    brain score from all features %.4f, from the %d most universal dimensions %.4f (%s), from the %d first components %.4f\n",
			red.Full, red.Top, red.TopUniversal, kept, red.Top, red.TopVariance)
	}
	fmt.Fprintf(w, "  pooled over %d dimensions: r = %.3f (p = %.3g)\n", res.Pooled.N, res.Pooled.R, res.Pooled.P)
}
