package main

import (
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/brainalign/brainalign/sweep"
)

func init() {
	registerCommand(argsCommand(&cli.Command{
		Name:  "compare",
		Usage: "compare two models (or checkpoints) across subjects: Wilcoxon signed-rank test",
		Description: "Measures a metric per subject for model A (--a, one sweep folder per subject) and model B\n" +
			"(--b; each side the sweeps of one model), pairs the subjects (by --subject label when every\n" +
			"sweep has one, else by the order of --a and --b: a note then says so and names the pairs,\n" +
			"which compare.json records in any case) and tests the difference with the two-sided Wilcoxon\n" +
			"signed-rank test (exact for small samples, as scipy.stats.wilcoxon). Metrics: encoding (mean\n" +
			"best-layer score over targets significant for either model), spatial, temporal (each\n" +
			"subject's own r; spatial over the targets significant in that subject's own folds, so a\n" +
			"model or checkpoint with none is refused: --no-mask uses them all). --checkpoint-a/-b\n" +
			"compare checkpoints (e.g. the same folders for --a and --b). When every subject's difference\n" +
			"is zero (a model compared with itself) there is no difference: T = 0, p = 1. Writes\n" +
			"compare.json, into a results folder that a failed run does not create.",
		Flags: append(append(append([]cli.Flag{
			&cli.StringSliceFlag{Name: "a", Required: true, Usage: "sweep `DIR` of model A, one per subject (repeat)"},
			&cli.StringSliceFlag{Name: "b", Required: true, Usage: "sweep `DIR` of model B, one per subject (repeat)"},
			&cli.StringFlag{Name: "metric", Value: "encoding", Usage: "encoding, spatial or temporal"},
			&cli.StringFlag{Name: "checkpoint-a", Usage: "checkpoint `NAME` or index of model A (default: the last)"},
			&cli.StringFlag{Name: "checkpoint-b", Usage: "checkpoint `NAME` or index of model B (default: the last)"},
			&cli.StringFlag{Name: "out", Aliases: []string{"o"}, Required: true, Usage: "results `DIR`"},
		}, spatialFlags()...), timesFlag()), maskFlags()...), // no --windows: compare's temporal score is over all times
		Action: runCompare,
	}, false))
}

// compareIgnores lists, per metric, the flags that do not change it: they are refused rather
// than accepted and ignored (the temporal score is each subject's own r over the channel-mean
// curves: no mask, no windows; the encoding score uses no coordinates or times).
var compareIgnores = map[string][]string{
	"encoding": {"coords", "v1", "v1-roi", "times"},
	"spatial":  {"times"},
	"temporal": {"coords", "v1", "v1-roi", "fdr", "replicates", "no-mask"},
}

func runCompare(c *cli.Context) error {
	metric := c.String("metric")
	ignored, ok := compareIgnores[metric]
	if !ok {
		return usageError("--metric %q: want encoding, spatial or temporal", metric)
	}
	for _, fl := range ignored {
		if c.IsSet(fl) {
			return usageError("--%s does not apply to --metric %s", fl, metric)
		}
	}
	a, err := loadSweeps(c, "a")
	if err != nil {
		return err
	}
	b, err := loadSweeps(c, "b")
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
	o := sweep.CompareOptions{Metric: c.String("metric"), CheckpointA: c.String("checkpoint-a"), CheckpointB: c.String("checkpoint-b"),
		Mask: so.Mask, Spatial: so, Temporal: to}
	ca, err := a[0].CheckpointIndex(o.CheckpointA)
	if err != nil {
		return usageError("--checkpoint-a: %v", err)
	}
	cb, err := b[0].CheckpointIndex(o.CheckpointB)
	if err != nil {
		return usageError("--checkpoint-b: %v", err)
	}
	if err := compareNeeds(o, a, b); err != nil {
		return err
	}
	out := c.String("out")
	if err := checkOut(out); err != nil {
		return err
	}
	res, err := sweep.Compare(c.Context, a, b, o)
	if ctxErr := c.Context.Err(); ctxErr != nil {
		return ctxErr // a signal: nothing written
	}
	if err != nil {
		return compareError(err, res, a, b)
	}
	if sameSweeps(a, b) && ca == cb {
		res.Notes = append(res.Notes, "A and B are the same sweeps at the same checkpoint")
	}
	doc := map[string]any{
		"command": "compare", "version": version, "created": nowUTC(), "model_a": a[0].Model, "model_b": b[0].Model,
		"sweeps_a": sweepDirs(a), "sweeps_b": sweepDirs(b),
		"checkpoint_a": a[0].Checkpoints[ca].Name, "checkpoint_b": b[0].Checkpoints[cb].Name, "result": res}
	if _, err := writeResults(c.Context, out, func(put putFile) ([]string, error) {
		return []string{"compare.json"}, put.json("compare.json", jsonSafe(doc))
	}); err != nil {
		return err
	}
	printCompare(c.App.Writer, a, b, res)
	fmt.Fprintf(c.App.Writer, "wrote %s\n", filepath.Join(out, "compare.json"))
	return nil
}

// compareNeeds checks that every sweep has the metadata the metric needs, so that the error names
// the sweep and the metric once.
func compareNeeds(o sweep.CompareOptions, a, b []*sweep.Sweep) error {
	for _, g := range [][]*sweep.Sweep{a, b} {
		for _, s := range g {
			switch o.Metric {
			case "spatial":
				if s.Meta.Coords == nil && o.Spatial.Coords == nil {
					return fmt.Errorf("%s: no target coordinates, which --metric spatial needs (give --coords to sweep, or here)", s.Dir)
				}
			case "temporal":
				if s.Meta.Times == nil && o.Temporal.Times == nil {
					return fmt.Errorf("%s: no MEG times, which --metric temporal needs (give --times to sweep, or here)", s.Dir)
				}
			}
		}
	}
	return nil
}

// compareError turns sweep.Compare's errors into one user-level line: a subject whose score is
// undefined is named, internal package prefixes are dropped, and a folder repeated at the start
// of the message is given once.
func compareError(err error, res *sweep.CompareResult, a, b []*sweep.Sweep) error {
	if res != nil && len(res.A) == len(res.Subjects) && len(res.B) == len(res.Subjects) {
		for i, s := range res.Subjects {
			if bad(res.A[i]) || bad(res.B[i]) {
				return fmt.Errorf("cannot test the difference: subject %s's %s score is undefined (A %v, B %v; %s, %s)",
					s, res.Metric, res.A[i], res.B[i], a[i].Dir, pairedDir(res, a, b, i))
			}
		}
	}
	msg := err.Error()
	for _, p := range []string{"metrics: CompareModels: ", "stats: Wilcoxon: "} {
		msg = strings.ReplaceAll(msg, p, "")
	}
	for _, g := range [][]*sweep.Sweep{a, b} {
		for _, s := range g {
			msg = strings.Replace(msg, s.Dir+": "+s.Dir+": ", s.Dir+": ", 1)
		}
	}
	if msg == err.Error() {
		return err
	}
	return errors.New(msg)
}

// pairedDir is the folder of model B paired with subject i of A (by label when every sweep has
// one, else by position), for errors.
func pairedDir(res *sweep.CompareResult, a, b []*sweep.Sweep, i int) string {
	if i < len(res.Pairs) {
		return res.Pairs[i].B
	}
	if p, _, err := sweep.Pairing(a, b); err == nil {
		return p[i].Dir
	}
	return b[i].Dir
}

func bad(v float64) bool { return math.IsNaN(v) || math.IsInf(v, 0) }

// sameSweeps reports whether a and b name the same folders (in any order).
func sameSweeps(a, b []*sweep.Sweep) bool {
	if len(a) != len(b) {
		return false
	}
	in := map[string]bool{}
	for _, s := range a {
		in[absDir(s.Dir)] = true
	}
	for _, s := range b {
		if !in[absDir(s.Dir)] {
			return false
		}
	}
	return true
}

func absDir(d string) string {
	if abs, err := filepath.Abs(d); err == nil {
		if r, err := filepath.EvalSymlinks(abs); err == nil {
			return r
		}
		return abs
	}
	return filepath.Clean(d)
}

func printCompare(w io.Writer, a, b []*sweep.Sweep, res *sweep.CompareResult) {
	fmt.Fprintf(w, "%s score, %s (A) vs %s (B), %d subjects:\n", res.Metric, a[0].Model, b[0].Model, len(res.Subjects))
	for i, s := range res.Subjects {
		fmt.Fprintf(w, "  %-10s A %.4f  B %.4f  A-B %+.4f\n", s, res.A[i], res.B[i], res.A[i]-res.B[i])
	}
	fmt.Fprintf(w, "  Wilcoxon signed-rank: T = %g, two-sided p = %.4g; mean difference A-B %+.4f\n", res.Test.Stat, res.Test.P, res.Test.MeanDiff)
	if res.Test.Note != "" {
		fmt.Fprintf(w, "  note: %s\n", res.Test.Note)
	} else if min := 2 / float64(int(1)<<len(res.Subjects)); len(res.Subjects) < 20 {
		fmt.Fprintf(w, "  (with %d subjects the smallest possible p is %.3g)\n", len(res.Subjects), min)
	}
	for _, n := range res.Notes {
		fmt.Fprintf(w, "  note: %s\n", n)
	}
}
