package main

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/brainalign/brainalign/engine"
	"github.com/brainalign/brainalign/fallback"
	"github.com/brainalign/brainalign/sweep"
)

// dryRunSweep is `sweep --dry-run`: what the sweep would do, and every input that would stop it,
// before a job is submitted. It needs no engine (the pure-Go binary on a login node answers for
// a cuda run given the same flags) and writes nothing.
func dryRunSweep(c *cli.Context, cfg sweep.Config) error {
	scan := c.Bool("scan-values")
	rep, err := sweep.DryRun(cfg, scan)
	if err != nil {
		return err
	}
	w := c.App.Writer
	plan := cfg.Plan
	targets := 1
	for _, t := range cfg.Trailing {
		targets *= t
	}
	fmt.Fprintf(w, "dry run, nothing scored or written: %s, %d checkpoint(s) x %d layers = %d units against %s (%d images x %d targets)\n",
		plan.Model, len(plan.Checkpoints), len(plan.Layers), rep.Units, cfg.Brain.Path, cfg.Rows, targets)

	what := "headers"
	if scan {
		what = "headers and values"
	}
	fmt.Fprintf(w, "activations: %d units checked (%s), %d problem(s)", rep.Checked, what, len(rep.Problems))
	if uniform, d, dtypes := sameInputs(rep.Layers); uniform {
		fmt.Fprintf(w, "; %d rows x %d features, %s", cfg.SourceRows, d, dtypes)
	} else if rep.Checked > len(rep.Problems) {
		fmt.Fprintln(w, "; features and dtypes by layer:")
		for _, l := range rep.Layers {
			switch {
			case l.MaxFeatures == 0:
				fmt.Fprintf(w, "  %-24s none readable\n", l.Name)
			case l.MinFeatures == l.MaxFeatures:
				fmt.Fprintf(w, "  %-24s %d features, %s\n", l.Name, l.MaxFeatures, strings.Join(l.DTypes, ", "))
			default:
				fmt.Fprintf(w, "  %-24s %d to %d features (they differ across checkpoints), %s\n", l.Name, l.MinFeatures, l.MaxFeatures, strings.Join(l.DTypes, ", "))
			}
		}
	}
	fmt.Fprintln(w)

	switch {
	case rep.Existing:
		fmt.Fprintf(w, "out %s: a sweep of this brain data and these options", cfg.Dir)
	case dirExists(cfg.Dir):
		fmt.Fprintf(w, "out %s: exists, no sweep in it yet", cfg.Dir)
	default:
		fmt.Fprintf(w, "out %s: would be created", cfg.Dir)
	}
	if cfg.Shard.Count > 1 {
		fmt.Fprintf(w, "; shard %s has %d of the %d units: %d done, %d to score", cfg.Shard, rep.Shard, rep.Units, rep.Done, rep.ToScore)
		fmt.Fprintf(w, "; other shards: %d not done\n", rep.Remaining)
	} else {
		fmt.Fprintf(w, "; %d done, %d to score\n", rep.Done, rep.ToScore)
	}
	if len(rep.Redo) > 0 {
		fmt.Fprintf(w, "to score again (%d):\n", len(rep.Redo))
		printLines(w, rep.Redo, 10)
	}
	switch {
	case rep.Merge && rep.ToScore > 0:
		fmt.Fprintln(w, "tables: merged once these units are scored")
	case rep.Merge:
		// a finished sweep rerun with other --steps, --roi...: no unit scored, the tables rewritten
		fmt.Fprintf(w, "tables: rewritten, with no unit scored: %s\n", strings.Join(rep.Remerge, "; "))
	case rep.Remaining == 0:
		fmt.Fprintln(w, "tables: current, kept as they are")
	}
	memory := memoryFloorProblem(c.String("device"), cfg, rep.Layers)
	if memory != "" {
		rep.Problems = append(rep.Problems, memory)
	}
	left := rep.ToScore + rep.Remaining
	for _, t := range rep.Timed {
		per := time.Duration(t.Seconds * float64(time.Second))
		fmt.Fprintf(w, "measured: %s per unit on %s (%d units done)", per.Round(time.Millisecond), t.Engine, t.Units)
		if left > 0 {
			fmt.Fprintf(w, ": the %d units left take about %s at that rate", left, roughly(per*time.Duration(left)))
			if cfg.Shard.Count > 1 {
				fmt.Fprintf(w, ", this shard's %d about %s", rep.ToScore, roughly(per*time.Duration(rep.ToScore)))
			}
		}
		fmt.Fprintln(w)
	}
	if len(rep.Problems) > 0 {
		fmt.Fprintf(w, "problems (%d): a run stops at the first\n", len(rep.Problems))
		printLines(w, rep.Problems, 20)
		// Each kind of problem named as what it is: --out or the memory limit are not the
		// activations' fault.
		var why []string
		units := len(rep.Problems)
		if rep.OutProblem != "" {
			units--
			why = append(why, fmt.Sprintf("--out %s cannot be written", cfg.Dir))
		}
		if memory != "" {
			units--
			why = append(why, "the widest layer needs more memory than the CPU engine may take")
		}
		if units > 0 {
			why = append([]string{fmt.Sprintf("%d unit(s) or file(s) of %s cannot be scored", units, c.String("features"))}, why...)
		}
		return fmt.Errorf("dry run: %s (listed above)", strings.Join(why, "; "))
	}
	fmt.Fprintln(w, "no problems found")
	return nil
}

// memoryFloorProblem says when the CPU engine would refuse the widest layer: a memory limit below
// what one fold's decomposition of it needs ("" when it fits, or on a GPU, whose memory the
// engine sizes on the device).
func memoryFloorProblem(device string, cfg sweep.Config, layers []sweep.LayerInputs) string {
	if device != "cpu" {
		return ""
	}
	widest := sweep.LayerInputs{}
	for _, l := range layers {
		if l.MaxFeatures > widest.MaxFeatures {
			widest = l
		}
	}
	if widest.MaxFeatures == 0 || len(cfg.Options.Folds) == 0 {
		return ""
	}
	need, limit := fallback.DecompositionFloor(cfg.Options, widest.MaxFeatures), fallback.DecompositionLimit(cfg.Options)
	if need <= limit {
		return ""
	}
	which := "the memory limit (--memory)"
	if cfg.Options.MemoryLimit == 0 {
		which = "the memory available here (a job's own may differ)"
	}
	return fmt.Sprintf("%s: %s, %s, is below the %s one fold's decomposition of its %d features needs on the CPU engine",
		widest.Name, which, engine.FormatBytes(limit), engine.FormatBytes(need), widest.MaxFeatures)
}

// sameInputs reports whether every layer was read with one feature count and one dtype, and
// if so which (d is 0 when nothing could be read).
func sameInputs(layers []sweep.LayerInputs) (uniform bool, d int, dtypes string) {
	var all []string
	for _, l := range layers {
		if l.MaxFeatures == 0 {
			return false, d, ""
		}
		if d == 0 {
			d = l.MaxFeatures
		}
		if l.MinFeatures != d || l.MaxFeatures != d {
			return false, d, ""
		}
		for _, t := range l.DTypes {
			if !slices.Contains(all, t) {
				all = append(all, t)
			}
		}
	}
	return d > 0 && len(all) == 1, d, strings.Join(all, ", ")
}

func printLines(w io.Writer, lines []string, most int) {
	for i, l := range lines {
		if i == most {
			fmt.Fprintf(w, "  ... and %d more\n", len(lines)-most)
			break
		}
		fmt.Fprintf(w, "  %s\n", l)
	}
}

func dirExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// roughly rounds an estimate to the second, or to the millisecond under a minute.
func roughly(d time.Duration) time.Duration {
	if d < time.Minute {
		return d.Round(time.Millisecond)
	}
	return d.Round(time.Second)
}
