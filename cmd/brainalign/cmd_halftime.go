package main

import (
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/brainalign/brainalign/figures"
	"github.com/brainalign/brainalign/sweep"
)

func init() {
	registerCommand(argsCommand(&cli.Command{
		Name:      "halftime",
		Usage:     "half-times over training from saved checkpoint sweeps (encoding, spatial, temporal, per ROI and window)",
		ArgsUsage: "[SWEEP_DIR...]",
		Description: "For a metric measured at every checkpoint, the half-time is the training step at which it\n" +
			"first reaches half of its final value, interpolated linearly in log(step), and that step as\n" +
			"a fraction of training. Metrics: encoding (mean best-layer score over the targets significant\n" +
			"at the last checkpoint); spatial (with coordinates and a V1 reference); temporal (with MEG\n" +
			"times); per ROI (with ROI labels; and the correlation of ROI half-time with distance from\n" +
			"V1); per MEG time window. Needs at least 2 checkpoints with training steps.\n" +
			"Writes halftime.json, halftime.csv and halftime_<metric>.png, halftime_roi.png. The folders\n" +
			"are subjects of one model: sweeps of another model (sweep's --model), other layers, other\n" +
			"checkpoints or other steps are refused. Each --windows window must hold a time point. The\n" +
			"results folder is written once the half-times are computed: a new one appears whole, and a\n" +
			"failed run leaves none; in a folder that holds files, the results replace theirs together\n" +
			"once all are written (a failed or interrupted run leaves the earlier ones whole). Flags come\n" +
			"before the sweep folders.",
		Flags: append(append(append(append([]cli.Flag{sweepsFlag()}, halftimeOutFlags()...), spatialFlags()...),
			temporalFlags()...), maskFlags()...),
		Action: runHalftime,
	}, true))
}

// halftimeOutFlags are the metric commands' output flags with --checkpoint hidden: halftime uses
// every checkpoint and refuses it (with that reason, rather than as an unknown flag).
func halftimeOutFlags() []cli.Flag {
	fs := metricOutFlags()
	for _, f := range fs {
		if s, ok := f.(*cli.StringFlag); ok && s.Name == "checkpoint" {
			s.Hidden = true
		}
	}
	return fs
}

func runHalftime(c *cli.Context) error {
	g, err := loadSweeps(c, "sweep")
	if err != nil {
		return err
	}
	if c.String("checkpoint") != "" {
		return usageError("halftime uses every checkpoint; --checkpoint does not apply")
	}
	so, err := spatialOptions(c)
	if err != nil {
		return err
	}
	to, err := temporalOptions(c)
	if err != nil {
		return err
	}
	if so.Coords == nil && g[0].Meta.Coords == nil {
		for _, fl := range []string{"v1", "v1-roi"} {
			if c.IsSet(fl) {
				return usageError("--%s: %s has no target coordinates, so there is no spatial score to refer to V1 (give --coords to sweep, or here)", fl, g[0].Dir)
			}
		}
	}
	if to.Windows != nil && to.Times == nil && g[0].Meta.Times == nil {
		return usageError("--windows: %s has no MEG times, so no window applies (give --times to sweep, or here)", g[0].Dir)
	}
	if err := checkWindows(to, g); err != nil {
		return err
	}
	out := c.String("out")
	if err := checkOut(out); err != nil {
		return err
	}
	res, err := sweep.HalfTimes(c.Context, g, sweep.HalfTimeOptions{Mask: so.Mask, Spatial: so, Times: to.Times, Windows: to.Windows})
	if err != nil {
		return err
	}
	if res.Temporal != nil {
		times := to.Times
		if times == nil {
			times = g[0].Meta.Times
		}
		warnTimes(c.App.ErrWriter, times, to.Windows != nil, len(res.Windows))
	}
	files, err := writeResults(c.Context, out, func(put putFile) ([]string, error) {
		return writeHalftime(put, g, res, !c.Bool("no-figures"), c.App.ErrWriter)
	}, halftimeFigures...)
	if err != nil {
		return err
	}
	printHalftime(c.App.Writer, g, res)
	fmt.Fprintf(c.App.Writer, "wrote %s: %s\n", out, files)
	return nil
}

// halftimeFigures are the figures halftime may draw: a metric's (its series: encoding, and
// spatial or temporal) and the ROIs'.
var halftimeFigures = []string{"halftime_encoding.png", "halftime_spatial.png", "halftime_temporal.png", "halftime_roi.png"}

// writeHalftime writes the results; a figure that cannot be drawn (a log axis of checkpoints at
// steps 0 and N has one point) is skipped with a note on notes, the numbers are written anyway.
// Each file is written by put.
func writeHalftime(put putFile, g []*sweep.Sweep, res *sweep.HalfTimeResult, figs bool, notes io.Writer) ([]string, error) {
	files := []string{"halftime.json", "halftime.csv"}
	if err := put.json("halftime.json", jsonSafe(map[string]any{
		"command": "halftime", "version": version, "created": nowUTC(), "model": g[0].Model, "sweeps": sweepDirs(g), "result": res})); err != nil {
		return nil, err
	}
	// Tidy table: one row per series.
	f := func(v float64) string { return csvFloat(v, 10) }
	csv := "metric,name,half_time_step,half_time_fraction,final_value\n"
	add := func(metric, name string, h sweep.HalfTime, vals []float64) {
		csv += fmt.Sprintf("%s,%s,%s,%s,%s\n", csvCell(metric), csvCell(name), f(h.Step), f(h.Fraction), f(vals[len(vals)-1]))
	}
	series := []*sweep.Series{&res.Encoding, res.Spatial, res.Temporal}
	for _, s := range series {
		if s != nil {
			vals := s.Values
			if slices.Contains(s.Undefined, g[0].Checkpoints[len(g[0].Checkpoints)-1].Name) {
				vals = []float64{math.NaN()} // no final value: an empty cell, not the 0 it stands in for
			}
			add(s.Name, "all", s.HalfTime, vals)
		}
	}
	for _, r := range res.ROI {
		add("roi", r.Name, r.HalfTime, r.Values)
	}
	for _, w := range res.Windows {
		add("window", fmt.Sprintf("%g-%g s", w.Start, w.End), w.HalfTime, w.Values)
	}
	if err := put.bytes("halftime.csv", []byte(csv)); err != nil {
		return nil, err
	}
	if !figs {
		return files, nil
	}
	ylabel := map[string]string{"encoding": "mean best-layer r (significant targets)", "spatial": "spatial score (r)", "temporal": "temporal score (r)"}
	for _, s := range series {
		if s == nil {
			continue
		}
		name := "halftime_" + s.Name + ".png"
		title := fmt.Sprintf("%s: %s score over training (%d subject(s))", g[0].Model, s.Name, len(g))
		err := put(name, func(w io.Writer) error {
			return figures.MetricSteps(w, title, ylabel[s.Name], res.Steps, s.Values, s.HalfTime.Step)
		})
		if errors.Is(err, figures.ErrTooFewPoints) {
			fmt.Fprintf(notes, "note: no %s: %v\n", name, figures.ErrTooFewPoints)
			continue
		}
		if files, err = keepFigure(notes, files, name, err); err != nil {
			return nil, err
		}
	}
	if len(res.ROI) > 0 {
		var names []string
		var vals []float64
		for _, r := range res.ROI {
			names, vals = append(names, r.Name), append(vals, 100*r.HalfTime.Fraction)
		}
		return keepFigure(notes, files, "halftime_roi.png", put("halftime_roi.png", func(w io.Writer) error {
			return figures.ROIBars(w, g[0].Model+": half-time of the encoding score per ROI", "half-time (% of training)", names, vals)
		}))
	}
	return files, nil
}

func printHalftime(w io.Writer, g []*sweep.Sweep, res *sweep.HalfTimeResult) {
	fmt.Fprintf(w, "half-times of %s over %d checkpoints (steps %s to %s; %d subject(s): %s)\n",
		g[0].Model, len(res.Steps), fmtStep(res.Steps[0]), fmtStep(res.Steps[len(res.Steps)-1]), len(g), groupNames(g))
	if res.Mask.Replicates == "none" {
		fmt.Fprintf(w, "  mask: none (--no-mask): all %d targets used\n", res.Mask.Targets)
	} else {
		fmt.Fprintf(w, "  mask: %d of %d targets significant at the last checkpoint (FDR %g, %s)\n", res.Mask.Significant, res.Mask.Targets, res.Mask.FDR, res.Mask.Replicates)
	}
	line := func(name string, h sweep.HalfTime) {
		if h.Error != "" {
			fmt.Fprintf(w, "  %-22s undefined (%s)\n", name, h.Error)
			return
		}
		note := ""
		switch {
		case !h.Interpolated && h.Step == 0:
			note = " (already at half at step 0: the untrained model)"
		case !h.Interpolated:
			note = " (already at half at the first usable checkpoint: an upper bound)"
		}
		fmt.Fprintf(w, "  %-22s step %-8s %6.2f%% of training%s\n", name, fmtStep(h.Step), 100*h.Fraction, note)
	}
	for _, s := range []*sweep.Series{&res.Encoding, res.Spatial, res.Temporal} {
		if s != nil {
			line(s.Name, s.HalfTime)
			if n := len(s.Undefined); n > 0 && s.HalfTime.Error == "" {
				fmt.Fprintf(w, "  %-22s (undefined at %d checkpoint(s), taken as 0 there: %s)\n", "", n, strings.Join(s.Undefined, ", "))
			}
		}
	}
	for _, r := range res.ROI {
		line("ROI "+r.Name, r.HalfTime)
	}
	for _, wh := range res.Windows {
		line(fmt.Sprintf("window %g-%g s", wh.Start, wh.End), wh.HalfTime)
	}
	if d := res.ROIDistance; d != nil {
		fmt.Fprintf(w, "  ROI half-time vs distance from V1: r = %.3f, p = %.3g (%d ROIs)\n", d.R, d.P, d.N)
	}
	for _, n := range res.Notes {
		fmt.Fprintf(w, "  note: %s\n", n)
	}
}
