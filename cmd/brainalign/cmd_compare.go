package main

import (
	"fmt"
	"io"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/brainalign/brainalign/sweep"
)

func init() {
	registerCommand(&cli.Command{
		Name:  "compare",
		Usage: "compare two models (or checkpoints) across subjects: Wilcoxon signed-rank test",
		Description: "Measures a metric per subject for model A (--a, one sweep folder per subject) and model B\n" +
			"(--b), pairs the subjects (by --subject label when every sweep has one, else by order) and\n" +
			"tests the difference with the two-sided Wilcoxon signed-rank test (exact for small samples,\n" +
			"as scipy.stats.wilcoxon). Metrics: encoding (mean best-layer score over targets significant\n" +
			"for either model), spatial, temporal (each subject's own r). --checkpoint-a/-b compare\n" +
			"checkpoints (e.g. the same folders for --a and --b). Writes compare.json.",
		Flags: append(append(append([]cli.Flag{
			&cli.StringSliceFlag{Name: "a", Required: true, Usage: "sweep `DIR` of model A, one per subject (repeat)"},
			&cli.StringSliceFlag{Name: "b", Required: true, Usage: "sweep `DIR` of model B, one per subject (repeat)"},
			&cli.StringFlag{Name: "metric", Value: "encoding", Usage: "encoding, spatial or temporal"},
			&cli.StringFlag{Name: "checkpoint-a", Usage: "checkpoint `NAME` or index of model A (default: the last)"},
			&cli.StringFlag{Name: "checkpoint-b", Usage: "checkpoint `NAME` or index of model B (default: the last)"},
			&cli.StringFlag{Name: "out", Aliases: []string{"o"}, Required: true, Usage: "results `DIR`"},
		}, spatialFlags()...), temporalFlags()...), maskFlags()...),
		Action: runCompare,
	})
}

func runCompare(c *cli.Context) error {
	if c.NArg() > 0 {
		return usageError("compare takes no arguments; give sweep folders with --a and --b")
	}
	a, err := loadGroup(c, "a")
	if err != nil {
		return err
	}
	b, err := loadGroup(c, "b")
	if err != nil {
		return err
	}
	so, err := spatialOptions(c)
	if err != nil {
		return err
	}
	to, err := temporalOptions(c)
	if err != nil {
		return err
	}
	out, err := resultsDir(c)
	if err != nil {
		return err
	}
	o := sweep.CompareOptions{Metric: c.String("metric"), CheckpointA: c.String("checkpoint-a"), CheckpointB: c.String("checkpoint-b"),
		Mask: so.Mask, Spatial: so, Temporal: to}
	res, err := sweep.Compare(a, b, o)
	if err != nil {
		return err
	}
	if err := writeJSON(filepath.Join(out, "compare.json"), jsonSafe(map[string]any{
		"command": "compare", "version": version, "created": nowUTC(), "model_a": a[0].Model, "model_b": b[0].Model,
		"sweeps_a": sweepDirs(a), "sweeps_b": sweepDirs(b), "checkpoint_a": o.CheckpointA, "checkpoint_b": o.CheckpointB, "result": res})); err != nil {
		return err
	}
	printCompare(c.App.Writer, a, b, res)
	fmt.Fprintf(c.App.Writer, "wrote %s\n", filepath.Join(out, "compare.json"))
	return nil
}

func printCompare(w io.Writer, a, b []*sweep.Sweep, res *sweep.CompareResult) {
	fmt.Fprintf(w, "%s score, %s (A) vs %s (B), %d subjects:\n", res.Metric, a[0].Model, b[0].Model, len(res.Subjects))
	for i, s := range res.Subjects {
		fmt.Fprintf(w, "  %-10s A %.4f  B %.4f  A-B %+.4f\n", s, res.A[i], res.B[i], res.A[i]-res.B[i])
	}
	fmt.Fprintf(w, "  Wilcoxon signed-rank: T = %g, two-sided p = %.4g; mean difference A-B %+.4f\n", res.Test.Stat, res.Test.P, res.Test.MeanDiff)
	if min := 2 / float64(int(1)<<len(res.Subjects)); len(res.Subjects) < 20 {
		fmt.Fprintf(w, "  (with %d subjects the smallest possible p is %.3g)\n", len(res.Subjects), min)
	}
	for _, n := range res.Notes {
		fmt.Fprintf(w, "  note: %s\n", n)
	}
}
