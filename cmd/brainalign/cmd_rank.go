package main

import (
	"errors"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/brainalign/brainalign/figures"
	"github.com/brainalign/brainalign/internal/textlist"
	"github.com/brainalign/brainalign/metrics"
	"github.com/brainalign/brainalign/sweep"
)

func init() {
	registerCommand(argsCommand(&cli.Command{
		Name:      "rank",
		Usage:     "rank models by brain alignment from their sweep folders: a leaderboard across subjects",
		ArgsUsage: "[SWEEP_DIR | FOLDER ...]",
		Description: "Finds the sweep folders among --sweeps and the arguments (folders holding sweeps are searched),\n" +
			"groups them by model (sweep's --model), and scores each model as scaling --sweeps does: its\n" +
			"mean score over targets (of --roi, at the times of --window) at --checkpoint and --layer (by\n" +
			"default its last checkpoint and the layer whose mean over subjects is the highest), averaged\n" +
			"over its subjects, with the standard error across them. Models are ranked by that score, and\n" +
			"each is compared with the first on the subjects both were scored on (paired by their brain\n" +
			"data and options, or by subject name when they share none): the mean difference and\n" +
			"the two-sided Wilcoxon signed-rank test (exact for small samples), with its p value also\n" +
			"adjusted for the number of models compared (Holm-Bonferroni). A model scored on other brain\n" +
			"data or options than most models is marked. A model with a sweep not merged yet (still\n" +
			"running, or a shard failed) is left out with a warning. With --out, writes rank.csv (one row\n" +
			"per model), rank.json (everything) and rank.png (the first 40 models' scores, standard\n" +
			"errors and subjects), replacing earlier ones together once all are written. --by-roi also\n" +
			"ranks them on each ROI (rank_roi.csv, by_roi in rank.json), the sweeps opened once per model.",
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "sweeps", Usage: "sweep `DIR`s (one per model and subject), or folders holding them (repeat, or give them as arguments)"},
			&cli.StringFlag{Name: "checkpoint", Usage: "checkpoint `NAME` or index (default: each model's last)"},
			&cli.StringFlag{Name: "layer", Value: "best", Usage: "best, cv (each outer fold at the layer best on the other folds: no selection bias), last, or a layer `NAME` or index"},
			&cli.StringFlag{Name: "roi", Usage: "average the targets of this ROI `NAME` only (default: all targets)"},
			&cli.StringFlag{Name: "window", Usage: "MEG: average the time points in `START:END` seconds only (default: all)"},
			&cli.BoolFlag{Name: "ceiled", Usage: "divide each subject's mean score by the mean noise ceiling of its targets (sweep --ceiling)"},
			&cli.StringFlag{Name: "out", Aliases: []string{"o"}, Usage: "results `DIR` for rank.csv, rank.json and rank.png (default: print only)"},
			&cli.BoolFlag{Name: "no-figures", Usage: "with --out: write no PNG figure"},
			&cli.BoolFlag{Name: "by-roi", Usage: "also rank the models on each ROI of their sweeps (rank_roi.csv)"},
		},
		Action: runRank,
	}, true))
}

func runRank(c *cli.Context) error {
	paths := append(c.StringSlice("sweeps"), c.Args().Slice()...)
	if len(paths) == 0 {
		return usageError("rank needs sweep folders: --sweeps DIR (or folders as arguments)")
	}
	o, err := alignmentOptions(c)
	if err != nil {
		return err
	}
	out := c.String("out")
	if out != "" {
		if err := checkOut(out); err != nil { // before the models are read, not after
			return err
		}
	}
	dirs, err := sweep.FindSweeps(paths)
	if err != nil {
		return err
	}
	names, byModel, err := sweep.ModelSweeps(dirs)
	if err != nil {
		return err
	}
	// With --by-roi, every model is also scored on each ROI of the first model's first sweep,
	// from the same open sweeps.
	opts := []sweep.AlignmentOptions{o}
	var rois []string
	if c.Bool("by-roi") {
		if o.ROI != "" {
			return usageError("--by-roi and --roi do not go together")
		}
		if rois, err = sweep.ROINames(byModel[names[0]][0]); err != nil {
			return err
		}
		if len(rois) == 0 {
			return usageError("--by-roi: %s has no ROI labels (sweep's --roi)", byModel[names[0]][0])
		}
		for _, r := range rois {
			or := o
			or.ROI = r
			opts = append(opts, or)
		}
	}
	var models []*sweep.Alignment
	perROI := make([][]*sweep.Alignment, len(rois))
	unmerged := []string{} // models with a sweep still running (or failed): left out, said
	progress, clearLine := modelProgress(c, len(names))
	for k, m := range names {
		progress(k+1, m)
		as, err := sweep.LoadAlignments(c.Context, byModel[m], opts)
		clearLine()
		var ge *sweep.GroupError
		switch {
		case c.Context.Err() != nil:
			return c.Context.Err() // a signal: nothing ranked, nothing written
		case errors.As(err, &ge):
			return usageError("model %s: %v", m, err)
		case errors.Is(err, sweep.ErrNotMerged):
			unmerged = append(unmerged, fmt.Sprintf("%s (%v)", m, err))
			continue
		case err != nil:
			return fmt.Errorf("model %s: %v", m, err)
		}
		models = append(models, as[0])
		for r := range rois {
			perROI[r] = append(perROI[r], as[r+1])
		}
	}
	for _, u := range unmerged {
		fmt.Fprintf(c.App.ErrWriter, "warning: not ranked: model %s\n", u)
	}
	if len(models) == 0 {
		return fmt.Errorf("no model to rank: the sweeps of all %d are not merged (brainalign inspect shows how far they are)", len(names))
	}
	ranked := sweep.Rank(models)
	printRanking(c.App.Writer, ranked, len(dirs), o)
	byROI := make([][]sweep.Ranked, len(rois))
	for r := range rois {
		byROI[r] = sweep.Rank(perROI[r])
	}
	if len(rois) > 0 {
		printROIMatrix(c.App.Writer, ranked, rois, byROI)
	}
	if out == "" {
		return nil
	}
	doc := map[string]any{"command": "rank", "version": version, "created": nowUTC(), "sweeps": paths,
		"options": map[string]any{"checkpoint": orDefault(o.Checkpoint, "last"), "layer": o.Layer, "roi": o.ROI, "window": c.String("window"), "ceiled": o.Ceiled},
		"models":  ranked, "not_ranked": unmerged}
	if len(rois) > 0 {
		m := map[string][]sweep.Ranked{}
		for r, name := range rois {
			m[name] = byROI[r]
		}
		doc["by_roi"] = m
	}
	files, err := writeResults(c.Context, out, func(put putFile) ([]string, error) {
		files := []string{"rank.csv", "rank.json"}
		if err := put.json("rank.json", jsonSafe(doc)); err != nil {
			return nil, err
		}
		if err := put.bytes("rank.csv", []byte(rankRows(ranked, "", true))); err != nil {
			return nil, err
		}
		if len(rois) > 0 {
			var b strings.Builder
			for r, name := range rois {
				b.WriteString(rankRows(byROI[r], name, r == 0))
			}
			if err := put.bytes("rank_roi.csv", []byte(b.String())); err != nil {
				return nil, err
			}
			files = append(files, "rank_roi.csv")
		}
		if c.Bool("no-figures") {
			return files, nil
		}
		return keepFigure(c.App.ErrWriter, files, "rank.png", put("rank.png", func(w io.Writer) error { return rankFigure(w, ranked, o) }))
	}, "rank_roi.csv", "rank.png")
	if err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "wrote %s: %s\n", out, files)
	return nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// printRanking prints the leaderboard: one line per model.
func printRanking(w io.Writer, ranked []sweep.Ranked, sweeps int, o sweep.AlignmentOptions) {
	what := alignedTargets(o)
	layer := map[string]string{"best": "the best layer", "last": "the last layer",
		"cv": "each outer fold's layer chosen on the other folds"}[o.Layer]
	if layer == "" {
		layer = "layer " + o.Layer
	}
	ckpt := "the last checkpoint"
	if o.Checkpoint != "" && o.Checkpoint != "last" {
		ckpt = "checkpoint " + o.Checkpoint
	}
	score := "mean score"
	if o.Ceiled {
		score = "mean score divided by the mean noise ceiling"
	}
	fmt.Fprintf(w, "%d model(s) from %d sweeps: %s over %s at %s and %s, averaged over subjects\n", len(ranked), sweeps, score, what, layer, ckpt)
	width := len("model")
	for _, r := range ranked {
		width = max(width, len(r.Model))
	}
	fmt.Fprintf(w, "%4s  %-*s  %8s  %7s  %7s  %-24s  %s\n", "rank", width, "model", "subjects", "score", "se", "layer (depth)", "vs #1: mean diff, Wilcoxon p, Holm-adjusted (pairs)")
	var other []string
	for _, r := range ranked {
		vs := "-"
		if t := r.VsFirst; t != nil {
			if len(t.Subjects) == 0 {
				vs = "no subject in common"
			} else {
				vs = fmt.Sprintf("%+.4f, p %.3g, Holm %.3g (%d)", t.MeanDiff, t.P, t.PHolm, len(t.Subjects))
			}
		}
		mark := ""
		if !r.SameData {
			mark = " *"
			var why []string
			if len(r.Missing) > 0 {
				why = append(why, fmt.Sprintf("%d subject(s) missing: %s", len(r.Missing), textlist.Some(r.Missing, 5)))
			}
			if len(r.Extra) > 0 {
				why = append(why, fmt.Sprintf("%d subject(s) more: %s", len(r.Extra), textlist.Some(r.Extra, 5)))
			}
			if len(why) == 0 {
				why = []string{"other brain data or options"}
			}
			other = append(other, fmt.Sprintf("%s (%s)", r.Model, strings.Join(why, "; ")))
		}
		fmt.Fprintf(w, "%4d  %-*s  %8d  %7.4f  %7s  %-24s  %s%s\n", r.Rank, width, r.Model, len(r.Subjects), r.Score, fmtSE(r.SE),
			fmt.Sprintf("%s (%.2f)", r.Layer, r.RelativeDepth), vs, mark)
	}
	if len(other) > 0 {
		fmt.Fprintf(w, "* %d model(s) scored on other subjects, brain data or options than most models: compare with care: %s\n", len(other), textlist.Some(other, 8))
	}
	for _, r := range ranked {
		if t := r.VsFirst; t != nil && t.ZeroDifferences > 0 && t.ZeroDifferences < len(t.Subjects) {
			fmt.Fprintf(w, "note: %s vs #1: %s\n", r.Model, metrics.ZeroDifferencesNote(t.ZeroDifferences, len(t.Subjects)))
		}
	}
}

func fmtSE(se float64) string {
	if math.IsNaN(se) {
		return "-"
	}
	return fmt.Sprintf("%.4f", se)
}

// rankRows is the rows of rank.csv (with the header when header is set); with roi, each row
// starts with the ROI's name (rank_roi.csv).
func rankRows(ranked []sweep.Ranked, roi string, header bool) string {
	var b strings.Builder
	g := func(v float64) string { return csvFloat(v, 10) }
	lead := ""
	if roi != "" {
		lead = csvCell(roi) + ","
	}
	if header {
		if roi != "" {
			b.WriteString("roi,")
		}
		b.WriteString("rank,model,score,score_se,subjects,checkpoint,step,layer,layer_index,relative_depth,same_data_as_most,paired_with_first,mean_diff_first,wilcoxon_t,wilcoxon_p,wilcoxon_p_holm\n")
	}
	for _, r := range ranked {
		step := ""
		if r.Step != nil {
			step = g(*r.Step)
		}
		vs := ",,,,"
		if t := r.VsFirst; t != nil {
			vs = fmt.Sprintf("%d,%s,%s,%s,%s", len(t.Subjects), g(t.MeanDiff), g(t.T), g(t.P), g(t.PHolm))
		}
		fmt.Fprintf(&b, "%s%d,%s,%s,%s,%d,%s,%s,%s,%d,%s,%v,%s\n", lead, r.Rank, csvCell(r.Model), g(r.Score), g(r.SE), len(r.Subjects),
			csvCell(r.Checkpoint), step, csvCell(r.Layer), r.LayerIndex, g(r.RelativeDepth), r.SameData, vs)
	}
	return b.String()
}

// printROIMatrix prints each model's score per ROI, the models in their overall order, the first
// of each ROI marked.
func printROIMatrix(w io.Writer, ranked []sweep.Ranked, rois []string, byROI [][]sweep.Ranked) {
	width := len("model")
	for _, r := range ranked {
		width = max(width, len(r.Model))
	}
	fmt.Fprintf(w, "\nby ROI (* the first in the ROI):\n%-*s", width, "model")
	for _, name := range rois {
		fmt.Fprintf(w, "  %8s", name)
	}
	fmt.Fprintln(w)
	for _, r := range ranked {
		fmt.Fprintf(w, "%-*s", width, r.Model)
		for k := range rois {
			for _, x := range byROI[k] {
				if x.Model == r.Model {
					mark := " "
					if x.Rank == 1 {
						mark = "*"
					}
					fmt.Fprintf(w, "  %7.4f%s", x.Score, mark)
				}
			}
		}
		fmt.Fprintln(w)
	}
}

// alignedTargets says which targets a model's score averages: all, or an ROI's, at all times or
// those of a window.
func alignedTargets(o sweep.AlignmentOptions) string {
	what := "all targets"
	if o.ROI != "" {
		what = "ROI " + o.ROI
	}
	if o.Window != nil {
		what += fmt.Sprintf(", times %g-%g s", o.Window.Start, o.Window.End)
	}
	return what
}

// rankFigureLabels are the leaderboard figure's title and score axis label: the targets averaged
// and whether the scores are divided by the noise ceiling, as the printed ranking says.
func rankFigureLabels(o sweep.AlignmentOptions) (title, xlabel string) {
	score := "mean score"
	if o.Ceiled {
		score = "mean score / mean noise ceiling"
	}
	return "Models by brain alignment (" + alignedTargets(o) + ")", score + " (bars: mean over subjects ± SE; dots: subjects)"
}

// rankFigure draws the leaderboard, each model's score with its standard error and subjects, to
// w (a PNG image).
func rankFigure(w io.Writer, ranked []sweep.Ranked, o sweep.AlignmentOptions) error {
	names := make([]string, len(ranked))
	scores, se := make([]float64, len(ranked)), make([]float64, len(ranked))
	subjects := make([][]float64, len(ranked))
	for i, r := range ranked {
		names[i], scores[i], se[i] = r.Model, r.Score, r.SE
		for _, s := range r.Subjects {
			subjects[i] = append(subjects[i], s.Score)
		}
	}
	title, xlabel := rankFigureLabels(o)
	return figures.Ranking(w, title, xlabel, names, scores, se, subjects)
}
