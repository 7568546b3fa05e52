package main

import (
	"fmt"
	"io"

	"github.com/urfave/cli/v2"

	"github.com/brainalign/brainalign/figures"
	"github.com/brainalign/brainalign/metrics"
	"github.com/brainalign/brainalign/sweep"
)

func init() {
	registerCommand(argsCommand(&cli.Command{
		Name:      "temporal",
		Usage:     "temporal score from saved MEG sweeps: when each layer best predicts the brain",
		ArgsUsage: "[SWEEP_DIR...]",
		Description: "For each layer, R(t) is the channel mean of the subject-mean score at time t; T_max is the\n" +
			"mean of the times where R(t)/max R >= 0.95; the temporal score is Pearson's r between layer\n" +
			"index and T_max. Also the best layer per time window and each subject's own r. Needs MEG\n" +
			"times (sweep --times, or --times here) and brain data shaped n x channels x times (or\n" +
			"n x channels*times, channel-major). Writes temporal.json, temporal_curves.npy (layers x\n" +
			"times) and temporal.png (layer x time heatmap with T_max marked). Each --windows window must\n" +
			"hold a time point. The folders are subjects of one model: sweeps of another model (sweep's\n" +
			"--model), other layers or other checkpoints are refused. The results folder is written once\n" +
			"the score is computed: a new one appears whole, and a failed run leaves none; in a folder\n" +
			"that holds files, the results replace theirs together once all are written (a failed or\n" +
			"interrupted run leaves the earlier ones whole). Flags come before the sweep folders.",
		Flags:  append(append([]cli.Flag{sweepsFlag()}, metricOutFlags()...), temporalFlags()...),
		Action: runTemporal,
	}, true))
}

func runTemporal(c *cli.Context) error {
	g, err := loadSweeps(c, "sweep")
	if err != nil {
		return err
	}
	o, err := temporalOptions(c)
	if err != nil {
		return err
	}
	if o.Checkpoint, err = checkpointOf(g, c.String("checkpoint")); err != nil {
		return err
	}
	if err := checkWindows(o, g); err != nil {
		return err
	}
	out := c.String("out")
	if err := checkOut(out); err != nil {
		return err
	}
	res, err := sweep.Temporal(g, o)
	if err != nil {
		return err
	}
	warnTimes(c.App.ErrWriter, res.Times, o.Windows != nil, len(res.Windows))
	files, err := writeResults(c.Context, out, func(put putFile) ([]string, error) {
		return writeTemporal(put, g, res, !c.Bool("no-figures"), c.App.ErrWriter)
	}, "temporal.png")
	if err != nil {
		return err
	}
	printTemporal(c.App.Writer, g, res)
	fmt.Fprintf(c.App.Writer, "wrote %s: %s\n", out, files)
	return nil
}

// writeTemporal writes the temporal results (and figure), each file by put; it
// returns the file names.
func writeTemporal(put putFile, g []*sweep.Sweep, res *sweep.TemporalResult, figs bool, warn io.Writer) ([]string, error) {
	files := []string{"temporal.json", "temporal_curves.npy"}
	if err := put.json("temporal.json", jsonSafe(map[string]any{
		"command": "temporal", "version": version, "created": nowUTC(), "model": g[0].Model, "sweeps": sweepDirs(g),
		"layers": g[0].Layers, "result": res})); err != nil {
		return nil, err
	}
	if err := put.npy("temporal_curves.npy", []int{g[0].L, len(res.Times)}, res.Curves); err != nil {
		return nil, err
	}
	if !figs {
		return files, nil
	}
	title := fmt.Sprintf("%s, checkpoint %s: MEG score by layer and time (r = %.2f)", g[0].Model, res.Checkpoint, res.Score.R)
	return keepFigure(warn, files, "temporal.png", put("temporal.png", func(w io.Writer) error {
		return figures.LayerTime(w, title, res.Curves, g[0].Layers, res.Times, res.TMax)
	}))
}

// warnTimes warns about MEG times that look like another unit than seconds, and says why no
// best layer per window was found when the study's windows (windows not given) hold none.
func warnTimes(w io.Writer, times []float64, windowsGiven bool, windowsFound int) {
	if len(times) == 0 {
		return
	}
	if doubt := metrics.SecondsDoubt(times); doubt != "" {
		fmt.Fprintf(w, "warning: %s\n", doubt)
	}
	if !windowsGiven && windowsFound == 0 {
		fmt.Fprintf(w, "note: %s\n", metrics.NoStudyWindowNote(times))
	}
}

func printTemporal(w io.Writer, g []*sweep.Sweep, res *sweep.TemporalResult) {
	fmt.Fprintf(w, "temporal score of %s at checkpoint %s (%d subject(s): %s; %d channels x %d times)\n",
		g[0].Model, res.Checkpoint, len(g), groupNames(g), res.Channels, len(res.Times))
	fmt.Fprintf(w, "  r = %.3f, p = %.3g over %d layers\n  T_max (s):", res.Score.R, res.Score.P, res.Score.N)
	for l, v := range res.TMax {
		fmt.Fprintf(w, " %s %.3f", g[0].Layers[l], v)
	}
	fmt.Fprintln(w)
	for _, wb := range res.Windows {
		fmt.Fprintf(w, "  best layer in [%g, %g) s: %s (depth %.2f)\n", wb.Start, wb.End, g[0].Layers[wb.Layer], wb.Depth)
	}
	if len(res.Subjects) > 1 {
		fmt.Fprint(w, "  per subject:")
		for _, s := range res.Subjects {
			fmt.Fprintf(w, " %s r=%.3f", s.Subject, s.R)
		}
		fmt.Fprintln(w)
	}
}
