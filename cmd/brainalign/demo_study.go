package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/brainalign/brainalign/ceiling"
	"github.com/brainalign/brainalign/engine"
	"github.com/brainalign/brainalign/sweep"
	"github.com/brainalign/brainalign/synth"
)

// The demo's second part (issue 4): the synthetic study through sweeps and metrics. Its flags
// are added to the demo command, which cmd_demo.go registers (init functions run in file-name
// order, so cmd_demo.go's has run).
func init() {
	for _, cmd := range commands {
		if cmd.Name == "demo" {
			cmd.Flags = append(cmd.Flags,
				&cli.StringFlag{Name: "study-out", Usage: "`DIR` for the synthetic study's sweeps, metrics and figures (default: a new temporary folder)"},
				&cli.BoolFlag{Name: "no-study", Usage: "skip the study part (sweeps over checkpoints and layers, metrics, figures)"})
		}
	}
}

// demoStudy sweeps a small synthetic study (3 subjects, 6 checkpoints x 6 layers, fMRI and MEG),
// computes the spatial and temporal scores and half-times from the saved sweeps, writes the
// figures into dir ("" : --study-out, else a temporary folder) and compares what it recovered
// with what was planted.
//
// The temporary folder is kept when the study part succeeds (its figures are listed) and removed
// when it fails or is interrupted, as it then holds a partial study whose path was never shown.
func demoStudy(c *cli.Context, dir string) (err error) {
	if c.Bool("no-study") {
		return nil
	}
	w := c.App.Writer
	if dir == "" {
		dir = c.String("study-out")
	}
	if dir == "" {
		d, mkErr := mkdirTemp("brainalign-demo-")
		if mkErr != nil {
			return fmt.Errorf("cannot create a temporary folder for the study: %v", mkErr)
		}
		dir = d
		defer func() {
			if err != nil {
				os.RemoveAll(d)
			}
		}()
	}
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return fmt.Errorf("%s: cannot create: %v", dir, err)
	}
	cfg := synth.Small()
	if c.IsSet("seed") {
		cfg.Seed = c.Uint64("seed")
	}
	t0 := time.Now()
	ds, err := synth.Generate(cfg)
	if err != nil {
		return err
	}
	m := ds.Model
	fmt.Fprintf(w, "\nstudy: %d subjects x (fMRI %d vertices, MEG %d channels x %d times), %d checkpoints x %d layers, %d images\n",
		cfg.Subjects, cfg.FMRI.Targets, cfg.MEG.Channels, len(ds.MEG.Times), m.NumCheckpoints(), m.NumLayers(), cfg.Images)
	opts, err := engine.Defaults(cfg.Images)
	if err != nil {
		return err
	}
	if s := c.String("precision"); s != "" {
		if opts.Precision, err = engine.ParsePrecision(s); err != nil {
			return usageError("--precision: %v", err)
		}
	}
	if s := c.String("inner"); s != "" {
		if opts.Inner, err = engine.ParseInner(s); err != nil {
			return usageError("--inner: %v", err)
		}
	}
	eng, err := openEngine(c)
	if err != nil {
		return err
	}
	defer eng.Close()
	plan := sweep.ModelPlan("synth", m.LayerNames, m.Steps, m.Activations)
	prog := newProgress(c.App.ErrWriter, stderrIsTerminal(c), "study")
	var fmri, meg []*sweep.Sweep
	total := 2 * cfg.Subjects
	for s := 0; s < cfg.Subjects; s++ {
		sub := fmt.Sprintf("sub-%02d", s+1)
		for _, kind := range []string{"fmri", "meg"} {
			var y engine.Matrix
			var meta sweep.Meta
			var trailing []int
			if kind == "fmri" {
				y, trailing = ds.FMRI.Subjects[s].Data, []int{cfg.FMRI.Targets}
				meta = sweep.Meta{Coords: ds.FMRI.Subjects[s].Coords.F64, ROI: ds.FMRI.ROI, ROINames: map[int]string{}}
				for i, n := range ds.FMRI.ROINames {
					meta.ROINames[i] = n
				}
			} else {
				y, trailing = ds.MEG.Subjects[s], []int{ds.MEG.Channels, len(ds.MEG.Times)}
				meta = sweep.Meta{Times: ds.MEG.Times}
			}
			sess, err := eng.Open(y, opts)
			if err != nil {
				return err
			}
			d := filepath.Join(dir, "sweeps", kind, sub)
			done := 2*s + map[string]int{"fmri": 0, "meg": 1}[kind]
			_, err = sweep.Run(c.Context, sweep.Config{Dir: d, Plan: plan, Session: sess, Options: opts,
				Brain: sweep.BrainInfo{Path: "synthetic " + kind + " " + sub, Shape: append([]int{y.Rows}, trailing...), DType: "float32"},
				Rows:  y.Rows, Trailing: trailing, Fingerprint: sweep.Fingerprint(y, opts), DataDigest: sweep.DataDigest(y, nil), Subject: sub, Meta: meta, Version: version,
				FoldScheme: contiguousKFold, // as a sweep of the same options records it (docs/study.md: fold_scheme)
				Progress: func(k, n int, label string) {
					prog.setLabel(fmt.Sprintf("study %s %s %s", kind, sub, label))
					prog.update(done*n+k, total*n)
				}})
			sess.Close()
			if err != nil {
				prog.done()
				return err
			}
			sw, err := sweep.Load(d)
			if err != nil {
				prog.done()
				return err
			}
			if kind == "fmri" {
				fmri = append(fmri, sw)
			} else {
				meg = append(meg, sw)
			}
		}
	}
	prog.done()
	if err := c.Context.Err(); err != nil {
		return err // interrupted after the last unit: no metrics, no figures
	}
	fmt.Fprintf(w, "swept %d units in %s into %s\n", 2*cfg.Subjects*len(plan.Units()), time.Since(t0).Round(time.Millisecond), filepath.Join(dir, "sweeps"))

	// Metrics, from the saved sweeps only.
	last := m.NumCheckpoints() - 1
	sp, err := sweep.Spatial(fmri, sweep.SpatialOptions{Checkpoint: last})
	if err != nil {
		return err
	}
	tp, err := sweep.Temporal(meg, sweep.TemporalOptions{Checkpoint: last})
	if err != nil {
		return err
	}
	hf, err := sweep.HalfTimes(c.Context, fmri, sweep.HalfTimeOptions{})
	if err != nil {
		return err
	}
	hm, err := sweep.HalfTimes(c.Context, meg, sweep.HalfTimeOptions{})
	if err != nil {
		return err
	}
	var figs []string
	for _, x := range []struct {
		sub   string
		write func(string) ([]string, error)
	}{
		{"spatial", func(d string) ([]string, error) { return writeSpatial(putIn(d), fmri, sp, true, os.Stderr) }},
		{"temporal", func(d string) ([]string, error) { return writeTemporal(putIn(d), meg, tp, true, os.Stderr) }},
		{"halftime-fmri", func(d string) ([]string, error) { return writeHalftime(putIn(d), fmri, hf, true, io.Discard) }},
		{"halftime-meg", func(d string) ([]string, error) { return writeHalftime(putIn(d), meg, hm, true, io.Discard) }},
	} {
		d := filepath.Join(dir, x.sub)
		if err := os.MkdirAll(d, 0o777); err != nil {
			return err
		}
		files, err := x.write(d)
		if err != nil {
			return err
		}
		for _, f := range files {
			if filepath.Ext(f) == ".png" {
				figs = append(figs, filepath.Join(d, f))
			}
		}
	}

	tr := ds.Truth
	fmt.Fprintf(w, "\nrecovered from the sweeps vs planted (%d subjects; significance mask: %d of %d fMRI targets, FDR %g)\n",
		cfg.Subjects, sp.Mask.Significant, sp.Mask.Targets, sp.Mask.FDR)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "metric\tplanted\trecovered\t")
	fmt.Fprintf(tw, "spatial score r (best layer vs distance from V1)\t%.3f\t%.3f (p %.2g)\t\n", tr.FMRI.SpatialR, sp.Target.R, sp.Target.P)
	fmt.Fprintf(tw, "temporal score r (layer vs T_max)\t%.3f\t%.3f (p %.2g)\t\n", tr.MEG.TemporalR, tp.Score.R, tp.Score.P)
	fmt.Fprintf(tw, "T_max of the first and last layer (s)\t%.3f, %.3f\t%.3f, %.3f\t\n", tr.MEG.TMax[0], tr.MEG.TMax[len(tr.MEG.TMax)-1], tp.TMax[0], tp.TMax[len(tp.TMax)-1])
	fmt.Fprintf(tw, "fMRI encoding half-time (step)\t%s\t%s\t\n", fmtStep(tr.FMRI.HalfTime), fmtStep(hf.Encoding.HalfTime.Step))
	fmt.Fprintf(tw, "MEG encoding half-time (step)\t%s\t%s\t\n", fmtStep(tr.MEG.HalfTime), fmtStep(hm.Encoding.HalfTime.Step))
	for _, r := range hf.ROI {
		fmt.Fprintf(tw, "  ROI %s half-time (step)\t%s\t%s\t\n", r.Name, fmtStep(tr.FMRI.ROIHalfTime[r.Label]), fmtStep(r.HalfTime.Step))
	}
	if hf.ROIDistance != nil {
		fmt.Fprintf(tw, "ROI half-time vs distance from V1 r\t(increasing)\t%.3f\t\n", hf.ROIDistance.R)
	}
	noise, kept := 0, 0
	for t, k := range sp.Mask.Keep {
		if k {
			kept++
			if tr.FMRI.Noise[t] {
				noise++
			}
		}
	}
	fmt.Fprintf(tw, "noise targets among significant fMRI targets\t<= %.0f%% (FDR)\t%d of %d\t\n", 100*sp.Mask.FDR, noise, kept)
	planted, got, diff, err := demoCeiling(c, ds)
	if err != nil {
		return err
	}
	fmt.Fprintf(tw, "fMRI noise ceiling from 3 trials per image (mean)\t%.3f\t%.3f (mean |diff| %.3f)\t\n", planted, got, diff)
	tw.Flush()
	fmt.Fprintln(w, "\nfigures:")
	for _, f := range figs {
		fmt.Fprintf(w, "  %s\n", f)
	}
	fmt.Fprintf(w, "the same analysis from files: brainalign synth --out DIR, then sh DIR/commands.sh\n")
	return nil
}

// demoCeiling estimates the first fMRI subject's noise ceiling from synthetic trials (three per
// image, averaging to its data) and compares it with the planted one over the signal targets:
// the planted and estimated means and the mean absolute difference.
func demoCeiling(c *cli.Context, ds *synth.Dataset) (planted, got, diff float64, err error) {
	const repeats = 3
	trials, image := ds.FMRI.Trials(ds.Config, 0, repeats, ds.Truth.FMRI)
	ids := make([]string, len(image))
	for r, i := range image {
		ids[r] = strconv.Itoa(i)
	}
	res, err := ceiling.Estimate(c.Context, trials, ids, ceiling.Options{})
	if err != nil {
		return 0, 0, 0, err
	}
	n := 0
	for t, rho := range ds.Truth.FMRI.Signal {
		if ds.Truth.FMRI.Noise[t] {
			continue
		}
		planted += rho
		got += res.Ceiling[t]
		diff += math.Abs(res.Ceiling[t] - rho)
		n++
	}
	return planted / float64(n), got / float64(n), diff / float64(n), nil
}

// mkdirTemp creates a new folder prefix+RANDOM in the temporary directory, as os.MkdirTemp does
// but with mode 0777, which the kernel reduces by the umask as for any new directory
// (os.MkdirTemp makes 0700, which would leave the study, kept after a successful demo, to its
// owner alone whatever the umask).
func mkdirTemp(prefix string) (string, error) {
	base := os.TempDir()
	for range 10000 {
		p := filepath.Join(base, fmt.Sprintf("%s%d", prefix, rand.Uint32()))
		err := os.Mkdir(p, 0o777)
		if err == nil {
			return p, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return "", err
		}
	}
	return "", fmt.Errorf("cannot find an unused name %s*", filepath.Join(base, prefix))
}
