package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/brainalign/brainalign/engine"
	"github.com/brainalign/brainalign/internal/atomicfile"
	"github.com/brainalign/brainalign/internal/crashpoint"
	"github.com/brainalign/brainalign/internal/outdir"
	"github.com/brainalign/brainalign/internal/owner"
	"github.com/brainalign/brainalign/synth"
)

func init() {
	registerCommand(argsCommand(&cli.Command{
		Name:  "demo",
		Usage: "score a built-in synthetic study (no files needed) and check the planted answer is found",
		Description: "Generates a synthetic study in memory: a layered model with power-law spectra, and\n" +
			"fMRI-like targets each driven by a planted layer (deeper with distance from V1), with a\n" +
			"share of pure-noise targets. Every layer of the trained model is scored against one\n" +
			"subject's targets, and a table shows, per layer, the mean score, the share of targets it\n" +
			"explains best and the time taken; then whether the planted best layers were recovered.\n" +
			"Then (unless --no-study) a 3-subject study with fMRI and MEG over 6 training checkpoints\n" +
			"is swept and analysed as spatial, temporal, halftime and ceiling would (into --study-out,\n" +
			"or a new temporary folder that is kept): recovered against planted values, with the paths\n" +
			"of the figures.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "size", Value: "demo", Usage: "study size: demo (seconds) or study (minutes; 2000 images, 10k targets)"},
			&cli.Uint64Flag{Name: "seed", Value: 1, Usage: "random seed of the synthetic study"},
			&cli.StringFlag{Name: "device", Value: defaultDevice, Usage: "engine: cpu, or cuda[:N] in a cuda build"},
			&cli.StringFlag{Name: "precision", Value: "float32", Usage: "float32, float64, or tf32 (cuda only)"},
			&cli.StringFlag{Name: "inner", Value: "loo", Usage: "penalty selection: loo, gcv, kfold:K"},
			&cli.BoolFlag{Name: "overwrite", Usage: "replace an existing, non-empty --study-out directory (once the study part succeeds; a symbolic link is kept, the folder it leads to replaced)"},
		},
		Action: runDemo,
	}, false))
}

func runDemo(c *cli.Context) error {
	cfg := synth.Demo()
	switch c.String("size") {
	case "demo":
	case "study":
		cfg = synth.Study()
	default:
		return usageError("--size %q: want demo or study", c.String("size"))
	}
	cfg.Seed = c.Uint64("seed")
	prec, err := engine.ParsePrecision(c.String("precision"))
	if err != nil {
		return usageError("--precision: %v", err)
	}
	inner, err := engine.ParseInner(c.String("inner"))
	if err != nil {
		return usageError("--inner: %v", err)
	}
	studyOut := c.String("study-out")
	if studyOut != "" && c.Bool("no-study") {
		return usageError("--study-out and --no-study exclude each other")
	}
	if err := checkStudyOut(studyOut, c.Bool("overwrite")); err != nil {
		return err
	}
	w := c.App.Writer
	t0 := time.Now()
	ds, err := synth.Generate(cfg)
	if err != nil {
		return err
	}
	subj := ds.FMRI.Subjects[0]
	y := subj.Data
	fmt.Fprintf(w, "synthetic study: %d images, %d layers (%d-%d features, power-law spectra), %d fMRI targets (%.0f%% pure noise); generated in %s\n",
		cfg.Images, ds.Model.NumLayers(), minInt(ds.Model.Dims), maxInt(ds.Model.Dims), y.Cols, 100*cfg.FMRI.NoiseFraction, time.Since(t0).Round(time.Millisecond))

	opts, err := engine.Defaults(y.Rows)
	if err != nil {
		return err
	}
	opts.Precision, opts.Inner = prec, inner
	eng, err := openEngine(c)
	if err != nil {
		return err
	}
	defer eng.Close()
	sess, err := eng.Open(y, opts)
	if err != nil {
		return err
	}
	defer sess.Close()

	L := ds.Model.NumLayers()
	scores := make([][]float64, L)
	times := make([]time.Duration, L)
	prog := newProgress(c.App.ErrWriter, stderrIsTerminal(c), "demo")
	var engineName string
	for l := 0; l < L; l++ {
		prog.update(l, L)
		res, err := sess.Score(c.Context, ds.Model.Layer(l))
		if err != nil {
			return err
		}
		scores[l], times[l], engineName = res.Scores, res.Timings.Total, res.Engine
	}
	prog.done()
	fmt.Fprintf(w, "engine %s, precision %s, inner %s, %d folds, penalties 1..1e8 (9)\n\n", engineName, prec, inner, len(opts.Folds))
	printDemoTable(w, ds, scores, times)
	if err := demoVerdict(w, ds, scores); err != nil {
		return err
	}
	if studyOut == "" {
		return demoStudy(c, "") // issue 4: checkpoints x layers sweeps, metrics and figures (demo_study.go)
	}
	return replaceStudyOut(studyOut, func() error { return demoStudy(c, studyOut) })
}

// checkStudyOut validates --study-out before anything runs (as synth checks --out): it must be
// a directory or not exist, with no file in the way of creating it, and one this process may
// write (create, or set aside when replacing it), and an existing, non-empty directory is
// replaced only with --overwrite, and only when it holds an earlier demo study.
func checkStudyOut(dir string, overwrite bool) error {
	if dir == "" {
		return nil
	}
	st, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		// The nearest existing ancestor must be a directory this process may create files in.
		for p := filepath.Dir(filepath.Clean(dir)); ; p = filepath.Dir(p) {
			st, err := os.Stat(p)
			if err == nil {
				if !st.IsDir() {
					return fmt.Errorf("--study-out %s: %s is not a directory", dir, p)
				}
				if err := outdir.CheckWritable(dir); err != nil {
					return fmt.Errorf("--study-out %v", err)
				}
				return nil
			}
			if !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR) {
				return fmt.Errorf("--study-out %s: %v", dir, err)
			}
			if p == filepath.Dir(p) {
				return nil
			}
		}
	}
	if err != nil {
		return fmt.Errorf("--study-out %s: %v", dir, err)
	}
	if !st.IsDir() {
		return fmt.Errorf("--study-out %s: exists and is not a directory", dir)
	}
	if outdir.HoldsWorkDir(dir) {
		return fmt.Errorf("--study-out %s: cannot be the working directory or one of its parents (it is replaced as a whole)", dir)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("--study-out %s: %v", dir, err)
	}
	// The incomplete study of a demo killed while writing it is replaced as if it were not
	// there, as is a folder holding only the temp file of its mark, killed while written.
	if len(entries) > 0 && len(entries) == abandonedTemps(dir) {
		entries = nil
	}
	if len(entries) > 0 && !overwrite && !abandonedStudy(dir) {
		return fmt.Errorf("--study-out %s: output directory exists and is not empty (use --overwrite to replace it)", dir)
	}
	if len(entries) > 0 {
		if err := checkEarlierOutput(dir, "demo study", "sweeps/ with spatial/spatial.json", isDemoStudy); err != nil {
			return fmt.Errorf("--study-out %v", err)
		}
	}
	if err := outdir.CheckWritable(dir); err != nil {
		return fmt.Errorf("--study-out %v", err)
	}
	if len(entries) > 0 { // the earlier study is set aside beside it (replaceStudyOut)
		if outdir.IsMountPoint(dir) {
			return fmt.Errorf("--study-out %s: is a mount point, which cannot be replaced as a whole: name a folder inside it", dir)
		}
		parent := filepath.Dir(filepath.Clean(dir))
		if target, err := outdir.Target(dir); err == nil {
			parent = filepath.Dir(target) // a link's folder is set aside beside itself
		}
		if err := outdir.CheckWritable(parent); err != nil {
			return fmt.Errorf("--study-out %s: cannot be replaced: %v", dir, err)
		}
	}
	return nil
}

// isDemoStudy reports whether dir holds a study written by demo --study-out, which --overwrite
// may replace: its sweeps/ folder and spatial/spatial.json (a failed or interrupted study part
// leaves no folder, so every study written holds both). The results folder of a synth study's
// commands.sh has spatial/ but no sweeps/.
func isDemoStudy(dir string) bool {
	if _, err := os.Stat(filepath.Join(dir, studyIncomplete)); err == nil {
		return true // a study demo was writing, killed before it was whole
	}
	st, err := os.Stat(filepath.Join(dir, "sweeps"))
	return err == nil && st.IsDir() && isCommandJSON("spatial/spatial.json", "spatial")(dir)
}

// replaceStudyOut runs the study part into dir; a non-empty directory already there (allowed by
// --overwrite) is set aside first and removed when the study part succeeds, or put back when it
// fails, so files of two runs never mix. When dir is a symbolic link, the folder it leads to is
// the one replaced. The study is written in place, marked incomplete (studyIncomplete) until it
// is whole: a run killed meanwhile (SIGKILL, out of memory) leaves an incomplete study, with
// the earlier one set aside beside it, and the next run replaces the one and removes the other.
func replaceStudyOut(dir string, run func() error) error {
	clean := filepath.Clean(dir)
	// A symbolic link is written through, as other commands' --out (internal/outdir): the folder
	// it leads to is replaced, and the link kept (renamed or removed, the link itself would go).
	if st, err := os.Lstat(clean); err == nil && st.Mode()&fs.ModeSymlink != 0 {
		target, err := outdir.Target(clean)
		if err != nil {
			return fmt.Errorf("--study-out %v", err)
		}
		clean = target
	}
	removeAbandonedStudies(clean)
	entries, err := os.ReadDir(clean)
	existed := err == nil
	old := ""
	if existed && len(entries) > 0 {
		old = filepath.Join(filepath.Dir(clean), "."+filepath.Base(clean)+oldStudyInfix+owner.NewTag())
		if err := os.Rename(clean, old); err != nil {
			return fmt.Errorf("--study-out %s: cannot replace: %v", dir, err)
		}
		crashpoint.Step("set aside", clean)
	}
	// made here, not by run, which MkdirAll cannot do through a link to nothing, and to be
	// marked incomplete before anything is written into it
	err = os.MkdirAll(clean, 0o777)
	failed := "cannot create " + clean
	if err == nil {
		// the folder is there: what failed (a full disk) is the marker, which err names
		err = atomicfile.WriteBytes(filepath.Join(clean, studyIncomplete), []byte(owner.NewTag()+"\n"))
		failed = "cannot mark the study as being written"
	}
	if err != nil {
		if !existed || old != "" {
			_ = os.RemoveAll(clean) // what this run made
		}
		if old != "" {
			_ = os.Rename(old, clean)
		}
		return fmt.Errorf("--study-out %s: %s: %v", dir, failed, err)
	}
	if err := run(); err != nil {
		// a failed or interrupted study leaves nothing half written: the partial study goes,
		// what was there comes back
		if rmErr := os.RemoveAll(clean); rmErr == nil {
			if old != "" {
				_ = os.Rename(old, clean)
			} else if existed {
				_ = os.Mkdir(clean, 0o777)
			}
		}
		return err
	}
	if err := os.Remove(filepath.Join(clean, studyIncomplete)); err != nil {
		return fmt.Errorf("--study-out %s: the study is written, but cannot be marked whole: %v", dir, err)
	}
	crashpoint.Step("removed", filepath.Join(clean, studyIncomplete))
	if old != "" {
		err := os.RemoveAll(old)
		crashpoint.Step("removed", old)
		return err
	}
	return nil
}

// abandonedTemps counts the temp files of killed writers in dir (atomicfile).
func abandonedTemps(dir string) int {
	n := 0
	for _, t := range atomicfile.ListTemp(dir, false) {
		if t.Abandoned {
			n++
		}
	}
	return n
}

// studyIncomplete marks a study folder that demo is writing (replaceStudyOut): it holds the
// writer's owner tag (internal/owner), and is removed once the study is whole.
const studyIncomplete = ".brainalign-demo-incomplete"

// abandonedStudy reports whether dir holds the incomplete study of a demo run that was killed
// (its process gone, or the mark older than owner.MaxAge where that cannot be told), which the
// next run replaces without --overwrite as a killed run of another command leaves nothing.
func abandonedStudy(dir string) bool {
	p := filepath.Join(dir, studyIncomplete)
	b, err := os.ReadFile(p)
	st, statErr := os.Stat(p)
	if err != nil || statErr != nil {
		return false
	}
	return owner.Abandoned(strings.TrimSpace(string(b)), st.ModTime(), time.Now())
}

// oldStudyInfix names an earlier study set aside while a new one is written: .NAME.old-TAG,
// TAG the writing process's (internal/owner).
const oldStudyInfix = ".old-"

// removeAbandonedStudies removes the earlier studies that demo runs killed while replacing dir
// set aside beside it (the run's own, put back or removed by replaceStudyOut, are gone unless it
// was killed), once their process is gone (or, where that cannot be told, after a week). Only
// names demo gives are removed: a folder of the user's such as .NAME.old-march is kept.
func removeAbandonedStudies(dir string) {
	prefix := "." + filepath.Base(dir) + oldStudyInfix
	entries, _ := os.ReadDir(filepath.Dir(dir))
	for _, e := range entries {
		tag, ok := strings.CutPrefix(e.Name(), prefix)
		if !ok || !e.IsDir() {
			continue
		}
		if _, _, ok := owner.Parse(tag); !ok && !owner.IsDigits(tag) {
			continue // not a name of ours (earlier versions': .NAME.old-PID): a user's folder
		}
		if info, err := e.Info(); err == nil && owner.Abandoned(tag, info.ModTime(), time.Now()) {
			_ = os.RemoveAll(filepath.Join(filepath.Dir(dir), e.Name()))
		}
	}
}

// bestLayers returns the argmax over layers per target (first on ties).
func bestLayers(scores [][]float64) []int {
	best := make([]int, len(scores[0]))
	for t := range best {
		for l := 1; l < len(scores); l++ {
			if scores[l][t] > scores[best[t]][t] {
				best[t] = l
			}
		}
	}
	return best
}

func printDemoTable(w io.Writer, ds *synth.Dataset, scores [][]float64, times []time.Duration) {
	truth := ds.Truth.FMRI
	best := bestLayers(scores)
	nSignal := 0
	for _, noise := range truth.Noise {
		if !noise {
			nSignal++
		}
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "layer\tfeatures\tmean r\tmean r (signal)\tbest for\tplanted for\ttime\t")
	for l := range scores {
		sum, sumSig, bestFor, planted := 0.0, 0.0, 0, 0
		for t, v := range scores[l] {
			sum += v
			if !truth.Noise[t] {
				sumSig += v
				if best[t] == l {
					bestFor++
				}
				if truth.Layer[t] == l {
					planted++
				}
			}
		}
		fmt.Fprintf(tw, "%s\t%d\t%.3f\t%.3f\t%5.1f%%\t%5.1f%%\t%s\t\n", ds.Model.LayerNames[l], ds.Model.Dims[l],
			sum/float64(len(scores[l])), sumSig/float64(nSignal), pct(bestFor, nSignal), pct(planted, nSignal), times[l].Round(time.Millisecond))
	}
	tw.Flush()
}

// demoVerdict compares the recovered best layers and noise scores with what was planted.
func demoVerdict(w io.Writer, ds *synth.Dataset, scores [][]float64) error {
	truth := ds.Truth.FMRI
	best := bestLayers(scores)
	exact, near, nSig, nNoise := 0, 0, 0, 0
	noiseMean, sigMean := 0.0, 0.0
	for t, noise := range truth.Noise {
		bestScore := scores[best[t]][t]
		if noise {
			nNoise++
			noiseMean += scores[len(scores)-1][t]
			continue
		}
		nSig++
		sigMean += bestScore
		if best[t] == truth.Layer[t] {
			exact++
		}
		if abs(best[t]-truth.Layer[t]) <= 1 {
			near++
		}
	}
	noiseMean /= math.Max(1, float64(nNoise))
	sigMean /= math.Max(1, float64(nSig))
	fmt.Fprintf(w, "\nplanted best layer recovered: %.1f%% exactly, %.1f%% within one layer (%d signal targets)\n", pct(exact, nSig), pct(near, nSig), nSig)
	fmt.Fprintf(w, "signal targets: mean best r %.3f; pure-noise targets: mean r %.3f at the last layer (%d targets)\n", sigMean, noiseMean, nNoise)
	ok := pct(near, nSig) >= 90 && math.Abs(noiseMean) < 0.05 && sigMean > 0.2
	if ok {
		fmt.Fprintln(w, "result: the planted answer was recovered")
		return nil
	}
	return fmt.Errorf("the planted answer was NOT recovered (want >= 90%% within one layer, |noise r| < 0.05, signal mean best r > 0.2)")
}

func pct(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return 100 * float64(a) / float64(b)
}

func abs(a int) int {
	if a < 0 {
		return -a
	}
	return a
}

func minInt(v []int) int {
	m := v[0]
	for _, x := range v {
		m = min(m, x)
	}
	return m
}

func maxInt(v []int) int {
	m := v[0]
	for _, x := range v {
		m = max(m, x)
	}
	return m
}
