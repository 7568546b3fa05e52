package main

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/brainalign/brainalign/figures"
	"github.com/brainalign/brainalign/internal/textlist"
	"github.com/brainalign/brainalign/metrics"
	"github.com/brainalign/brainalign/sweep"
)

func init() {
	registerCommand(argsCommand(&cli.Command{
		Name:  "scaling",
		Usage: "scaling law of alignment: a saturating power law in compute (or size, data) over many models",
		Description: "Reads a table of models (CSV with a header; tab-separated also works), one row per model,\n" +
			"and fits y = y_inf - gap (x/x_ref)^-alpha by least squares (global over alpha; x_ref is the\n" +
			"geometric mean of x, so gap is the distance to saturation at a typical model), per --group.\n" +
			"y is an alignment score (e.g. each model's mean best-layer encoding score), x its compute,\n" +
			"parameters or training data. Each fit is compared by AICc with a straight line in log x (no\n" +
			"saturation), and bootstrap resamples of the models give percentile intervals of y_inf, gap,\n" +
			"alpha, the curve and --predict values. Writes scaling.json (everything), scaling.csv (one row\n" +
			"per group), curve.csv (the curves and bands) and scaling.png. A group that cannot be fitted\n" +
			"(fewer than 4 models or 3 distinct x, constant y) is reported and left out; with none left,\n" +
			"the command fails and writes nothing.\n\n" +
			"With --sweeps, y comes from the models' sweep folders instead of the table: each sweep's model\n" +
			"label (sweep's --model) is matched with the table's --model-column, and a model's score is\n" +
			"its mean score over targets (of --roi) at --checkpoint and --layer (by default the last\n" +
			"checkpoint and the layer whose mean over subjects is the highest), averaged over its\n" +
			"subjects. models.csv then records each model's score, layer and subjects. Models of the table\n" +
			"without sweeps, and sweeps of models not in the table, are reported and left out.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "table", Required: true, Usage: "models `FILE` (.csv, or .tsv)"},
			&cli.StringFlag{Name: "x", Value: "compute", Usage: "`COLUMN` of x (positive: FLOPs, parameters, images)"},
			&cli.StringFlag{Name: "y", Value: "score", Usage: "`COLUMN` of the alignment score (not with --sweeps)"},
			&cli.StringFlag{Name: "group", Usage: "`COLUMN` of model families: one fit per family (default: one fit)"},
			&cli.IntFlag{Name: "bootstrap", Value: 1000, Usage: "bootstrap resamples of the models for the intervals (0: none)"},
			&cli.Uint64Flag{Name: "seed", Value: 0, Usage: "seed of the resampling"},
			&cli.Float64Flag{Name: "level", Value: 0.95, Usage: "level of the intervals"},
			&cli.StringFlag{Name: "predict", Usage: "x `VALUES` to predict y at, comma-separated (e.g. 1e24,1e25)"},
			&cli.StringFlag{Name: "out", Aliases: []string{"o"}, Required: true, Usage: "results `DIR` (created if needed; its earlier results replaced together once all are written)"},
			&cli.BoolFlag{Name: "no-figures", Usage: "write no PNG figure"},
			&cli.StringSliceFlag{Name: "sweeps", Usage: "sweep `DIR`s (one per model and subject), or folders holding them: the models' scores (repeat)"},
			&cli.StringFlag{Name: "model-column", Value: "model", Usage: "with --sweeps: `COLUMN` of the table naming each model as its sweeps do"},
			&cli.StringFlag{Name: "checkpoint", Usage: "with --sweeps: checkpoint `NAME` or index (default: each model's last)"},
			&cli.StringFlag{Name: "layer", Value: "best", Usage: "with --sweeps: best, cv (each outer fold at the layer best on the other folds: no selection bias), last, or a layer `NAME` or index"},
			&cli.StringFlag{Name: "roi", Usage: "with --sweeps: average the targets of this ROI `NAME` only (default: all targets)"},
			&cli.StringFlag{Name: "window", Usage: "with --sweeps of MEG: average the time points in `START:END` seconds only (default: all)"},
			&cli.BoolFlag{Name: "ceiled", Usage: "with --sweeps: divide each subject's mean score by the mean noise ceiling of its targets (sweep --ceiling)"},
		},
		Action: runScaling,
	}, false))
}

// scalingGroup is one group's fit, or why it has none.
type scalingGroup struct {
	Name  string               `json:"group"`
	Error string               `json:"error,omitempty"`
	Fit   *metrics.ScalingFit  `json:"fit,omitempty"`
	data  metrics.ScalingGroup // for the figure
}

func runScaling(c *cli.Context) error {
	if c.Int("bootstrap") < 0 {
		return usageError("--bootstrap %d: want 0 or more resamples", c.Int("bootstrap"))
	}
	if l := c.Float64("level"); !(l > 0 && l < 1) {
		return usageError("--level %v: want a level between 0 and 1 (e.g. 0.95)", l)
	}
	predict, err := parsePositiveList(c.String("predict"))
	if err != nil {
		return usageError("--predict: %v", err)
	}
	out := c.String("out")
	if err := checkOut(out); err != nil {
		return err
	}
	fromSweeps := len(c.StringSlice("sweeps")) > 0
	if !fromSweeps {
		for _, fl := range []string{"checkpoint", "layer", "roi", "window", "ceiled", "model-column"} {
			if c.IsSet(fl) {
				return usageError("--%s chooses the scores of --sweeps; without --sweeps, the table's --y column holds them", fl)
			}
		}
	} else if c.IsSet("y") {
		return usageError("--y names the table's score column; with --sweeps the scores come from the sweeps (leave --y out)")
	}
	path := c.String("table")
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	cols := metrics.ScalingColumns{X: c.String("x"), Y: c.String("y"), Group: c.String("group")}
	if fromSweeps {
		cols.Y, cols.Model = "", c.String("model-column")
	}
	groups, err := metrics.ReadScalingTable(f, path, cols)
	f.Close()
	if err != nil {
		return err
	}
	var fromDirs *sweepScores
	if fromSweeps {
		if groups, fromDirs, err = scoresFromSweeps(c, path, groups); err != nil {
			return err
		}
		cols.Y = "score"
	}
	o := metrics.ScalingOptions{Bootstrap: c.Int("bootstrap"), Seed: c.Uint64("seed"), Level: c.Float64("level"), Predict: predict}
	var res []scalingGroup
	fitted := 0
	for _, g := range groups {
		r := scalingGroup{Name: g.Name, data: g}
		fit, err := metrics.Scaling(c.Context, g.X, g.Y, o)
		if ctxErr := c.Context.Err(); ctxErr != nil {
			return ctxErr // a signal: nothing fitted, nothing written
		}
		if err != nil {
			r.Error = strings.TrimPrefix(strings.TrimPrefix(err.Error(), "metrics: Scaling: "), "stats: FitPowerLaw: ")
		} else {
			r.Fit, fitted = fit, fitted+1
		}
		res = append(res, r)
	}
	if fitted == 0 {
		if len(res) == 1 {
			return fmt.Errorf("%s: cannot fit a scaling law: %s", path, res[0].Error)
		}
		return fmt.Errorf("%s: cannot fit a scaling law to any of the %d groups (%s: %s)", path, len(res), res[0].Name, res[0].Error)
	}
	doc := map[string]any{"command": "scaling", "version": version, "created": nowUTC(), "table": path,
		"columns": map[string]string{"x": cols.X, "y": cols.Y, "group": cols.Group},
		"model":   "y = y_inf - gap * (x / x_ref)^(-alpha)", "groups": res}
	if fromDirs != nil {
		doc["sweeps"] = fromDirs
	}
	files, err := writeResults(c.Context, out, func(put putFile) ([]string, error) {
		files, err := writeScaling(put, doc, res, cols, !c.Bool("no-figures"), c.App.ErrWriter)
		if err != nil || fromDirs == nil {
			return files, err
		}
		return append(files, "models.csv"), put.bytes("models.csv", []byte(modelScoresCSV(cols, fromDirs)))
	}, "models.csv", "scaling.png")
	if err != nil {
		return err
	}
	if fromDirs != nil {
		printSweepScores(c.App.Writer, fromDirs)
	}
	printScaling(c.App.Writer, path, cols, res)
	fmt.Fprintf(c.App.Writer, "wrote %s: %s\n", out, files)
	return nil
}

// parsePositiveList parses "1e24,1e25" (empty: none).
func parsePositiveList(s string) ([]float64, error) {
	var v []float64
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	for _, f := range strings.Split(s, ",") {
		x, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil || !(x > 0) || x > 1e308 {
			return nil, fmt.Errorf("%q is not a positive number", strings.TrimSpace(f))
		}
		v = append(v, x)
	}
	return v, nil
}

// writeScaling writes the fits (and figure), each file by put; it returns the file
// names.
func writeScaling(put putFile, doc map[string]any, res []scalingGroup, cols metrics.ScalingColumns, figs bool, warn io.Writer) ([]string, error) {
	files := []string{"scaling.json", "scaling.csv", "curve.csv"}
	if err := put.json("scaling.json", jsonSafe(doc)); err != nil {
		return nil, err
	}
	g := func(v float64) string { return csvFloat(v, 10) }
	var tab, curve strings.Builder
	tab.WriteString("group,n,distinct_x,y_inf,y_inf_se,y_inf_lo,y_inf_hi,gap,gap_se,gap_lo,gap_hi,alpha,alpha_se,alpha_lo,alpha_hi," +
		"x_ref,coefficient,r2,rss,bound,loglinear_intercept,loglinear_slope,loglinear_r2,aicc_power_law,aicc_log_linear,delta_aicc,preferred,error\n")
	curve.WriteString("group,x,y,lo,hi,prediction,extrapolated\n")
	for _, r := range res {
		if r.Fit == nil {
			fmt.Fprintf(&tab, "%s,%d,,,,,,,,,,,,,,,,,,,,,,,,,,%s\n", csvCell(r.Name), len(r.data.X), csvCell(r.Error))
			continue
		}
		f, p := r.Fit, r.Fit.PowerLaw
		nan := metrics.Interval{Lo: math.NaN(), Hi: math.NaN()}
		iy, ig, ia := nan, nan, nan
		if f.Bootstrap != nil {
			iy, ig, ia = f.Bootstrap.YInf, f.Bootstrap.Gap, f.Bootstrap.Alpha
		}
		fmt.Fprintf(&tab, "%s,%d,%d,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,\n",
			csvCell(r.Name), f.N, f.Distinct, g(p.YInf), g(p.SE.YInf), g(iy.Lo), g(iy.Hi), g(p.Gap), g(p.SE.Gap), g(ig.Lo), g(ig.Hi),
			g(p.Alpha), g(p.SE.Alpha), g(ia.Lo), g(ia.Hi), g(p.XRef), g(p.Coefficient()), g(p.R2), g(p.RSS), p.Bound,
			g(f.LogLinear.Intercept), g(f.LogLinear.Slope), g(f.LogLinear.R2), g(f.AICc.PowerLaw), g(f.AICc.LogLinear), g(f.DeltaAICc), f.Preferred)
		for _, pt := range f.Curve {
			fmt.Fprintf(&curve, "%s,%s,%s,%s,%s,false,false\n", csvCell(r.Name), g(pt.X), g(pt.Y), g(pt.Lo), g(pt.Hi))
		}
		for _, pt := range f.Predictions {
			fmt.Fprintf(&curve, "%s,%s,%s,%s,%s,true,%t\n", csvCell(r.Name), g(pt.X), g(pt.Y), g(pt.Lo), g(pt.Hi), pt.Extrapolated)
		}
	}
	if err := put.bytes("scaling.csv", []byte(tab.String())); err != nil {
		return nil, err
	}
	if err := put.bytes("curve.csv", []byte(curve.String())); err != nil {
		return nil, err
	}
	if !figs {
		return files, nil
	}
	var series []figures.ScalingSeries
	for _, r := range res {
		if r.Fit == nil {
			continue
		}
		s := figures.ScalingSeries{Name: fmt.Sprintf("%s (alpha %.3g)", r.Name, r.Fit.PowerLaw.Alpha), X: r.data.X, Y: r.data.Y}
		for _, pt := range r.Fit.Curve {
			s.CurveX, s.Curve = append(s.CurveX, pt.X), append(s.Curve, pt.Y)
			s.CurveLo, s.CurveHi = append(s.CurveLo, pt.Lo), append(s.CurveHi, pt.Hi)
		}
		series = append(series, s)
	}
	title := fmt.Sprintf("%s against %s: saturating power-law fit", cols.Y, cols.X)
	return keepFigure(warn, files, "scaling.png", put("scaling.png", func(w io.Writer) error { return figures.Scaling(w, title, cols.X, cols.Y, series) }))
}

func printScaling(w io.Writer, path string, cols metrics.ScalingColumns, res []scalingGroup) {
	fmt.Fprintf(w, "scaling law of %s against %s (%s): y = y_inf - gap (x/x_ref)^-alpha\n", cols.Y, cols.X, path)
	for _, r := range res {
		if r.Fit == nil {
			fmt.Fprintf(w, "  %s: %d models, not fitted: %s\n", r.Name, len(r.data.X), r.Error)
			continue
		}
		f, p := r.Fit, r.Fit.PowerLaw
		var b metrics.ScalingBootstrap
		if f.Bootstrap != nil {
			b = *f.Bootstrap
		}
		ci := func(v float64, i metrics.Interval) string {
			if f.Bootstrap == nil || math.IsNaN(i.Lo) {
				return fmt.Sprintf("%.4g", v)
			}
			return fmt.Sprintf("%.4g [%.4g, %.4g]", v, i.Lo, i.Hi)
		}
		fmt.Fprintf(w, "  %s: %d models, y_inf %s, alpha %s, gap %s at x_ref %.3g, R² %.3f; vs log-linear: ΔAICc %.1f (%s)\n",
			r.Name, f.N, ci(p.YInf, b.YInf), ci(p.Alpha, b.Alpha), ci(p.Gap, b.Gap), p.XRef, p.R2, f.DeltaAICc, preferredWords(f.Preferred))
		for _, pt := range f.Predictions {
			extra := ""
			if pt.Extrapolated {
				extra = " (extrapolated)"
			}
			band := ""
			if !math.IsNaN(pt.Lo) {
				band = fmt.Sprintf(" [%.4g, %.4g]", pt.Lo, pt.Hi)
			}
			fmt.Fprintf(w, "    at %s = %.3g: %s %.4g%s%s\n", cols.X, pt.X, cols.Y, pt.Y, band, extra)
		}
		for _, n := range f.Notes {
			fmt.Fprintf(w, "    note: %s\n", n)
		}
	}
	for _, r := range res {
		if r.Fit != nil && r.Fit.Bootstrap != nil {
			b := r.Fit.Bootstrap
			fmt.Fprintf(w, "  intervals: %.0f%% bootstrap percentile, %d resamples of the models, seed %d\n", 100*b.Level, b.Resamples, b.Seed)
			break
		}
	}
}

func preferredWords(p string) string {
	switch p {
	case "power-law":
		return "saturation supported"
	case "log-linear":
		return "no saturation: a straight line in log x fits better"
	case "either":
		return "the data cannot tell"
	}
	return "undefined"
}

// sweepScores records where the scores of --sweeps came from (scaling.json's "sweeps").
type sweepScores struct {
	Paths      []string          `json:"paths"`
	Options    map[string]string `json:"options"`
	Models     []modelScore      `json:"models"`
	NoSweeps   []string          `json:"table_models_without_sweeps"`
	NotInTable []string          `json:"sweep_models_not_in_table"`
	OtherData  []string          `json:"models_on_other_brain_data"` // than most models' subjects and options (Reference's)
	Reference  string            `json:"reference_model"`
}

// modelScore is one model's row of the table with its score from its sweeps.
type modelScore struct {
	Group string  `json:"group"`
	X     float64 `json:"x"`
	Line  int     `json:"line"`
	*sweep.Alignment
}

// scoresFromSweeps fills in the groups' y from the models' sweeps (matched by name), leaving out
// and reporting the models of the table without sweeps and the sweeps of models not in it.
func scoresFromSweeps(c *cli.Context, table string, groups []metrics.ScalingGroup) ([]metrics.ScalingGroup, *sweepScores, error) {
	o, err := alignmentOptions(c)
	if err != nil {
		return nil, nil, err
	}
	paths := c.StringSlice("sweeps")
	dirs, err := sweep.FindSweeps(paths)
	if err != nil {
		return nil, nil, err
	}
	names, byModel, err := sweep.ModelSweeps(dirs)
	if err != nil {
		return nil, nil, err
	}
	rec := &sweepScores{Paths: paths, NoSweeps: []string{}, NotInTable: []string{}, OtherData: []string{},
		Options: map[string]string{"checkpoint": o.Checkpoint, "layer": o.Layer, "roi": o.ROI, "window": c.String("window"), "model_column": c.String("model-column")}}
	if rec.Options["checkpoint"] == "" {
		rec.Options["checkpoint"] = "last"
	}
	if o.Ceiled {
		rec.Options["ceiled"] = "true"
	}
	total := 0
	for _, g := range groups {
		total += len(g.Models)
	}
	progress, clearLine := modelProgress(c, total)
	defer clearLine() // an error is printed on a clean line
	inTable := map[string]bool{}
	var out []metrics.ScalingGroup
	for _, g := range groups {
		kept := metrics.ScalingGroup{Name: g.Name}
		for i, m := range g.Models {
			inTable[m] = true
			progress(len(inTable), m)
			ds, ok := byModel[m]
			if !ok {
				rec.NoSweeps = append(rec.NoSweeps, m)
				continue
			}
			a, err := sweep.LoadAlignment(c.Context, ds, o)
			if ctxErr := c.Context.Err(); ctxErr != nil {
				return nil, nil, ctxErr // a signal
			}
			var ge *sweep.GroupError
			if errors.As(err, &ge) {
				return nil, nil, usageError("model %s (%s line %d): %v", m, table, g.Lines[i], err)
			}
			if err != nil {
				return nil, nil, fmt.Errorf("model %s (%s line %d): %v", m, table, g.Lines[i], err)
			}

			kept.X, kept.Y = append(kept.X, g.X[i]), append(kept.Y, a.Score)
			kept.Lines, kept.Models = append(kept.Lines, g.Lines[i]), append(kept.Models, m)
			rec.Models = append(rec.Models, modelScore{Group: g.Name, X: g.X[i], Line: g.Lines[i], Alignment: a})
		}
		if len(kept.X) > 0 {
			out = append(out, kept)
		}
	}
	clearLine()
	for _, m := range names {
		if !inTable[m] {
			rec.NotInTable = append(rec.NotInTable, m)
		}
	}
	if len(out) == 0 {
		return nil, nil, fmt.Errorf("%s: none of its models has sweeps among --sweeps (%d sweeps, of models %s; the table's %s column must name them as the sweeps' --model did)",
			table, len(dirs), textlist.Some(names, 6), c.String("model-column"))
	}
	// models scored on other data than most (a subject missing, other options)
	all := make([]*sweep.Alignment, len(rec.Models))
	for i, m := range rec.Models {
		all[i] = m.Alignment
	}
	ref := all[sweep.ReferenceData(all)]
	rec.Reference = ref.Model
	for _, a := range all {
		if !slices.Equal(a.Fingerprints, ref.Fingerprints) {
			why := a.Model
			if miss := sweep.MissingSubjects(ref, a); len(miss) > 0 {
				why += fmt.Sprintf(" (no %s)", strings.Join(miss, ", "))
			}
			rec.OtherData = append(rec.OtherData, why)
		}
	}
	w := c.App.ErrWriter
	if n := len(rec.NoSweeps); n > 0 {
		fmt.Fprintf(w, "brainalign: warning: %d models of %s have no sweeps among --sweeps and were left out: %s\n", n, table, textlist.Some(rec.NoSweeps, 6))
	}
	if n := len(rec.NotInTable); n > 0 {
		fmt.Fprintf(w, "brainalign: warning: sweeps of %d models not in %s were left out: %s\n", n, table, textlist.Some(rec.NotInTable, 6))
	}
	if n := len(rec.OtherData); n > 0 {
		fmt.Fprintf(w, "brainalign: warning: %d models were scored on other subjects, brain data or options than most models (as %s, %d sweeps; their sweeps' fingerprints differ), so their scores may not be comparable: %s\n",
			n, rec.Reference, len(ref.Fingerprints), textlist.Some(rec.OtherData, 6))
	}
	return out, rec, nil
}

// printSweepScores says what the scores of --sweeps are.
func printSweepScores(w io.Writer, rec *sweepScores) {
	sweeps := 0
	for _, m := range rec.Models {
		sweeps += len(m.Dirs)
	}
	what := "all targets"
	if r := rec.Options["roi"]; r != "" {
		what = "the targets of " + r
	}
	if w := rec.Options["window"]; w != "" {
		what += " in the window " + w + " s"
	}
	if rec.Options["ceiled"] == "true" {
		what += ", divided by their noise ceiling"
	}
	layer := "each model's best layer (highest mean over subjects)"
	switch l := rec.Options["layer"]; l {
	case "best", "":
	case "last":
		layer = "each model's last layer"
	case "cv":
		layer = "each outer fold's layer chosen on the other folds"
	default:
		layer = "layer " + l
	}
	ckpt := "its last checkpoint"
	if ck := rec.Options["checkpoint"]; ck != "last" {
		ckpt = "checkpoint " + ck
	}
	fmt.Fprintf(w, "scores of %d models from %d sweeps: the mean over %s at %s and %s, averaged over subjects (models.csv)\n",
		len(rec.Models), sweeps, what, layer, ckpt)
}

// modelScoresCSV is models.csv: each model's score from its sweeps.
func modelScoresCSV(cols metrics.ScalingColumns, rec *sweepScores) string {
	var b strings.Builder
	g := func(v float64) string { return csvFloat(v, 10) }
	fmt.Fprintf(&b, "group,model,%s,score,score_se,subjects,checkpoint,step,layer,layer_index,relative_depth,line\n", csvCell(cols.X))
	for _, m := range rec.Models {
		step := ""
		if m.Step != nil {
			step = g(*m.Step)
		}
		fmt.Fprintf(&b, "%s,%s,%s,%s,%s,%d,%s,%s,%s,%d,%s,%d\n", csvCell(m.Group), csvCell(m.Model), g(m.X), g(m.Score), g(m.SE),
			len(m.Subjects), csvCell(m.Checkpoint), step, csvCell(m.Layer), m.LayerIndex, g(m.RelativeDepth), m.Line)
	}
	return b.String()
}
