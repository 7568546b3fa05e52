package main

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/brainalign/brainalign/bench"
	"github.com/brainalign/brainalign/engine"
	"github.com/brainalign/brainalign/internal/outdir"
)

func init() {
	registerCommand(argsCommand(&cli.Command{
		Name:  "bench",
		Usage: "time the engine on a synthetic workload, stage by stage",
		Description: "Generates a synthetic problem (a preset, or any n, d, m), scores it --layers times through\n" +
			"one session (the brain data prepared once, as in a layer sweep) and prints the time of each\n" +
			"stage, the achieved TFLOP/s of the large products and, where the engine knows its device's\n" +
			"peak (or --peak-tflops is given), the fraction of peak. Presets: small (n=500 d=128\n" +
			"m=2000), medium (2000, 512, 20000), W1 (10000, 4096, 100000), W2 (22448, 4096, 271x106).",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "workload", Value: "small", Usage: "preset: small, medium, W1, W2"},
			&cli.IntFlag{Name: "n", Usage: "images (overrides the preset)"},
			&cli.IntFlag{Name: "d", Usage: "features (overrides the preset)"},
			&cli.IntFlag{Name: "m", Usage: "targets (overrides the preset)"},
			&cli.IntFlag{Name: "folds", Value: 5, Usage: "outer folds"},
			&cli.StringFlag{Name: "alphas", Value: "logspace:0:8:9", Usage: "penalty grid"},
			&cli.StringFlag{Name: "inner", Value: "loo", Usage: "loo, gcv or kfold:K"},
			&cli.BoolFlag{Name: "shared-alpha", Usage: "one penalty for all targets"},
			&cli.BoolFlag{Name: "standardize", Usage: "standardise the features on each training fold (encode's --standardize)"},
			&cli.StringFlag{Name: "precision", Value: "float32", Usage: "float32, float64, or tf32 (cuda)"},
			&cli.BoolFlag{Name: "tf32", Usage: "shorthand for --precision tf32"},
			&cli.StringFlag{Name: "device", Value: defaultDevice, Usage: "engine: cpu, or cuda[:N] in a cuda build"},
			&cli.StringFlag{Name: "memory", Usage: "cap on the engine's working memory (e.g. 8GiB)"},
			&cli.IntFlag{Name: "layers", Value: 1, Usage: "activation matrices scored through one session"},
			&cli.BoolFlag{Name: "lookahead", Value: true, Usage: "with --layers, announce each next matrix during the one before, as a sweep does (the cuda engine then factorises its first fold early); layers alternate between the activations and a copy of them, which doubles their host memory"},
			&cli.Float64Flag{Name: "peak-tflops", Usage: "the device's peak, for the fraction-of-peak line", DefaultText: "the engine's own figure, if any"},
			&cli.Uint64Flag{Name: "seed", Value: 1, Usage: "seed of the synthetic data"},
			&cli.StringFlag{Name: "json", Usage: "also write the measurements to this `FILE`"},
		},
		Action: runBench,
	}, false))
}

func runBench(c *cli.Context) error {
	w, err := bench.Named(c.String("workload"))
	if err != nil {
		return usageError("--workload: %v", err)
	}
	for _, o := range []struct {
		name string
		dst  *int
	}{{"n", &w.N}, {"d", &w.D}, {"m", &w.M}} {
		if c.IsSet(o.name) {
			if c.Int(o.name) < 1 {
				return usageError("--%s must be positive", o.name)
			}
			if *o.dst != c.Int(o.name) {
				w.Name = "custom" // not the preset any more
			}
			*o.dst = c.Int(o.name)
		}
	}
	// the activations and brain data, generated before the engine starts (float32), and the
	// folds' row indices
	if err := checkMemoryFor(fmt.Sprintf("the synthetic data of -n %d -d %d -m %d", w.N, w.D, w.M), float64(w.N)*(4*float64(w.D)+4*float64(w.M)+16)); err != nil {
		return fmt.Errorf("%v: use a smaller workload", err)
	}
	if p := c.String("json"); p != "" {
		// before minutes of work, not after
		if st, err := os.Stat(filepath.Dir(p)); err != nil || !st.IsDir() {
			return usageError("--json %s: folder %s does not exist", p, filepath.Dir(p))
		}
		if st, err := os.Stat(p); err == nil && !st.Mode().IsRegular() {
			return usageError("--json %s: exists and is not a file (a folder?); name the file to write", p)
		}
		if err := outdir.CheckWritable(filepath.Dir(p)); err != nil {
			return fmt.Errorf("--json %s: %v", p, err)
		}
	}
	if k := c.Int("folds"); k < 2 {
		return usageError("--folds: need at least 2, got %d", k)
	}
	w.Folds, w.Seed, w.SharedAlpha, w.Standardize = c.Int("folds"), c.Uint64("seed"), c.Bool("shared-alpha"), c.Bool("standardize")
	if w.Alphas, err = engine.ParseAlphas(c.String("alphas")); err != nil {
		return usageError("--alphas: %v", err)
	}
	if w.Inner, err = engine.ParseInner(c.String("inner")); err != nil {
		return usageError("--inner: %v", err)
	}
	prec := c.String("precision")
	if c.Bool("tf32") {
		prec = "tf32"
	}
	if w.Precision, err = engine.ParsePrecision(prec); err != nil {
		return usageError("--precision: %v", err)
	}
	if pk := c.Float64("peak-tflops"); pk < 0 || math.IsNaN(pk) || math.IsInf(pk, 0) {
		return usageError("--peak-tflops must be a positive number of TFLOP/s, got %g", pk)
	}
	layers := c.Int("layers")
	if layers < 1 {
		return usageError("--layers must be at least 1")
	}
	opts, err := w.Options()
	if err != nil {
		return err
	}
	if opts.MemoryLimit, err = parseBytes(c.String("memory")); err != nil {
		return usageError("--memory: %v", err)
	}
	boundHeap(c.String("device"), opts.MemoryLimit)
	out := c.App.Writer
	host := hostOf()
	fmt.Fprintf(out, "workload %s\n", w)
	fmt.Fprintf(out, "host %s\n", host)
	t0 := time.Now()
	x, y := w.Generate()
	fmt.Fprintf(out, "generated %.2f GB of data in %s\n", float64(4*(len(x.F32)+len(y.F32)))/1e9, time.Since(t0).Round(time.Millisecond))

	eng, err := openEngine(c)
	if err != nil {
		return err
	}
	defer eng.Close()
	t0 = time.Now()
	sess, err := eng.Open(y, opts)
	if err != nil {
		return err
	}
	defer sess.Close()
	openTime := time.Since(t0)
	// Layers alternate between x and a copy (other data to announce, the same numbers).
	xs := []engine.Matrix{x, x}
	pr, lookahead := sess.(engine.Preparer)
	lookahead = lookahead && c.Bool("lookahead") && layers > 1
	if lookahead {
		xs[1] = engine.NewMatrix32(x.Rows, x.Cols, slices.Clone(x.F32))
	}
	var total engine.Timings
	var flops float64
	var last *engine.Result
	wall := time.Now()
	for l := 0; l < layers; l++ {
		if lookahead && l+1 < layers {
			pr.Prepare(xs[(l+1)%2])
		}
		res, err := sess.Score(c.Context, xs[l%2])
		if err != nil {
			return err
		}
		total.Add(res.Timings)
		flops += res.Flops
		last = res
	}
	elapsed := time.Since(wall)
	fmt.Fprintf(out, "engine %s; brain data prepared in %s; %d layer(s) scored in %s\n\n", last.Engine, openTime.Round(time.Millisecond), layers, elapsed.Round(time.Millisecond))
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "stage\tseconds\tshare\t")
	stages := []struct {
		name string
		d    time.Duration
	}{{"transfer", total.Transfer}, {"decompose", total.Decompose}, {"products", total.Products},
		{"select", total.Select}, {"refit", total.Refit}, {"score", total.Score}, {"total", total.Total}}
	for _, s := range stages {
		fmt.Fprintf(tw, "%s\t%.3f\t%5.1f%%\t\n", s.name, s.d.Seconds(), 100*s.d.Seconds()/total.Total.Seconds())
	}
	tw.Flush()
	if total.Overlapped > 0 {
		fmt.Fprintf(out, "\nand %.3f s of device time factorising folds alongside the products (later folds; with --lookahead, "+
			"the next layer's first; in no stage above: any part the products did not hide is in decompose)\n", total.Overlapped.Seconds())
	}
	tflops := flops / total.Total.Seconds() / 1e12
	fmt.Fprintf(out, "\nlarge products: %.3g TFLOP in all, %.3f TFLOP/s over the whole run (%.3f TFLOP/s within the products and refit stages)\n",
		flops/1e12, tflops, flops/max(1e-9, (total.Products+total.Refit).Seconds())/1e12)
	peak := c.Float64("peak-tflops") * 1e12
	if peak == 0 {
		if d, ok := eng.(engine.Describer); ok {
			peak = d.Device().PeakFLOPS[w.Precision]
		}
	}
	if peak > 0 {
		fmt.Fprintf(out, "fraction of the device's %s peak (%.1f TFLOP/s): %.1f%%\n", w.Precision, peak/1e12, 100*tflops*1e12/peak)
	} else {
		fmt.Fprintln(out, "fraction of peak: unknown for this engine (give --peak-tflops)")
	}
	st := statsOf(last.Scores)
	fmt.Fprintf(out, "scores: mean r %.4f, median %.4f; degenerate targets %d\n", st.Mean, st.Median, last.DegenerateTargets)
	if p := c.String("json"); p != "" {
		var peakTFLOPS any // null when unknown: 0 would read as a device of no peak
		if peak > 0 {
			peakTFLOPS = peak / 1e12
		}
		return jsonFlagError(p, writeJSON(p, map[string]any{
			"workload": map[string]any{"name": w.Name, "n": w.N, "d": w.D, "m": w.M, "seed": w.Seed},
			"model":    modelInfoOf(opts, contiguousKFold), "host": host, "engine": last.Engine, "layers": layers, "lookahead": lookahead, "open_seconds": openTime.Seconds(),
			"wall_seconds": elapsed.Seconds(), "run": runInfoOf(&engine.Result{Engine: last.Engine, Rank: last.Rank, Dropped: last.Dropped,
				Flops: flops, Timings: total, Scores: last.Scores, Batches: last.Batches}),
			"tflops_per_second": tflops, "peak_tflops": peakTFLOPS, "version": version, "created": nowUTC(),
		}))
	}
	return nil
}

// jsonFlagError names --json in an error writing its file (the measurements are printed above).
func jsonFlagError(p string, err error) error {
	if err != nil {
		return fmt.Errorf("--json %s: %w (the measurements are printed above)", p, err)
	}
	return nil
}
