package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/brainalign/brainalign/array"
	"github.com/brainalign/brainalign/synth"
)

func init() {
	registerCommand(argsCommand(&cli.Command{
		Name:      "synth",
		Usage:     "write a synthetic study with planted truth as files for sweep and encode",
		ArgsUsage: " ",
		Description: "Generates a synthetic study (package synth: a layered model trained over checkpoints, fMRI\n" +
			"targets driven by a planted layer that deepens with distance from V1, MEG channels driven by\n" +
			"a planted layer that deepens with time, pure-noise targets) and writes it to --out:\n" +
			"  model/ckpt-<step>/layerNN.npy   activations (images x features, float32); or\n" +
			"  model/ckpt-<step>.npz           with --format npz\n" +
			"  fmri/sub-NN/brain.npy, coords.npy   responses (images x vertices), coordinates (mm)\n" +
			"  fmri/roi_labels.npy, roi_names.txt  ROI per vertex (V1 ... PFC)\n" +
			"  meg/sub-NN/brain.npy, meg/times.npy  responses (images x channels x times), times (s)\n" +
			"  truth.json, fmri/truth_layer.npy, meg/truth_layer.npy   the planted answers\n" +
			"  with --trials K: fmri/sub-NN/trials.npy, trial_ids.txt   K trials per image (K sessions)\n" +
			"                   that average to brain.npy; fmri/trial_sessions.npy, and the planted\n" +
			"                   noise ceiling of brain.npy, fmri/truth_ceiling.npy (for brainalign ceiling)\n" +
			"  commands.sh                      the sweep and metric commands that analyse it, into\n" +
			"                                   ./results (R=DIR sh commands.sh: into DIR), with the\n" +
			"                                   binary that wrote it (BRAINALIGN=PATH: another)",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "out", Aliases: []string{"o"}, Required: true, Usage: "output `DIR` (written all at once)"},
			&cli.StringFlag{Name: "size", Value: "small", Usage: "small (seconds to sweep), demo, or study (minutes to hours on a CPU)"},
			&cli.Uint64Flag{Name: "seed", Value: 1, Usage: "random seed"},
			&cli.IntFlag{Name: "subjects", Usage: "number of subjects, at least 1", DefaultText: "the size's"},
			&cli.StringFlag{Name: "format", Value: "npy", Usage: "activation files: npy (a folder per checkpoint) or npz (a bundle per checkpoint)"},
			&cli.IntFlag{Name: "trials", Usage: "also write fMRI trials, `K` per image (at least 2), for brainalign ceiling"},
			&cli.BoolFlag{Name: "overwrite", Usage: "replace an existing, non-empty output directory"},
		},
		Action: runSynth,
	}, false))
}

func synthConfig(size string, seed uint64, subjects int) (synth.Config, error) {
	var c synth.Config
	switch size {
	case "small":
		c = synth.Small()
	case "demo":
		c = synth.Demo()
	case "study":
		c = synth.Study()
	default:
		return c, usageError("--size %q: want small, demo or study", size)
	}
	c.Seed = seed
	if subjects > 0 {
		c.Subjects = subjects
	}
	return c, nil
}

func runSynth(c *cli.Context) error {
	if n := c.Int("subjects"); c.IsSet("subjects") && n <= 0 {
		return usageError("--subjects %d: want a positive number of subjects", n)
	}
	cfg, err := synthConfig(c.String("size"), c.Uint64("seed"), c.Int("subjects"))
	if err != nil {
		return err
	}
	trials := c.Int("trials")
	if c.IsSet("trials") && trials < 2 {
		return usageError("--trials %d: want at least 2 trials per image (a noise ceiling needs repeats)", trials)
	}
	format := c.String("format")
	if format != "npy" && format != "npz" {
		return usageError("--format %q: want npy or npz", format)
	}
	size := fmt.Sprintf("--size %s, --subjects %d", c.String("size"), cfg.Subjects)
	if trials > 0 {
		size += fmt.Sprintf(", --trials %d", trials)
	}
	if err := checkMemoryFor(size, synthBytes(cfg, trials, format)); err != nil {
		return fmt.Errorf("%v (synth holds every subject's brain data, and then one subject's trials, at once): use fewer --subjects or --trials, or a smaller --size", err)
	}
	if c.Bool("overwrite") {
		if err := checkEarlierOutput(c.String("out"), "synth", "commands.sh", isSynthOutput); err != nil {
			return err
		}
	}
	out, cleanup, err := createOut(c.String("out"), c.Bool("overwrite"))
	if err != nil {
		return err
	}
	defer cleanup()
	ds, err := generateSynth(c.Context, cfg)
	if err != nil {
		return err
	}
	// a signal stops the writing between files; the output in progress is then removed (cleanup)
	if err := writeSynth(c.Context, out.Write, ds, format, trials); err != nil {
		return err
	}
	if err := writeSynthCommands(out.Write, out.Final(), ds, trials); err != nil {
		return err
	}
	if err := c.Context.Err(); err != nil {
		return err
	}
	if err := out.Commit(); err != nil {
		return err
	}
	w := c.App.Writer
	tr := ds.Truth
	subjects := fmt.Sprintf("%d subjects", cfg.Subjects)
	if cfg.Subjects == 1 {
		subjects = "1 subject"
	}
	fmt.Fprintf(w, "synthetic study: %d images, %d checkpoints x %d layers, %s; fMRI %d vertices, MEG %d channels x %d times\n",
		cfg.Images, ds.Model.NumCheckpoints(), ds.Model.NumLayers(), subjects, cfg.FMRI.Targets, cfg.MEG.Channels, len(ds.MEG.Times))
	fmt.Fprintf(w, "planted: spatial r %.3f, temporal r %.3f, fMRI encoding half-time step %s, MEG %s\n",
		tr.FMRI.SpatialR, tr.MEG.TemporalR, fmtStep(tr.FMRI.HalfTime), fmtStep(tr.MEG.HalfTime))
	fmt.Fprintf(w, "wrote %s; analyse it with: sh %s\n", out.Final(), filepath.Join(out.Final(), "commands.sh"))
	return nil
}

// synthBytes is about the most memory synth holds at once: every subject's brain data (float32
// responses, float64 coordinates), then one subject's trials (float32, with each row's image and
// position) or the activations of one layer (one checkpoint's with --format npz), each generated
// in float64 and converted. A float, as --subjects or --trials of billions overflow an int.
func synthBytes(c synth.Config, trials int, format string) float64 {
	n, fm := float64(c.Images), float64(c.FMRI.Targets)
	brain := float64(c.Subjects) * (n*fm*4 + fm*3*8 + n*float64(c.MEG.Channels)*float64(len(c.MEGTimes()))*4)
	var acts float64
	for _, d := range c.LayerDims() {
		if format == "npz" {
			acts += n * float64(d) * 4
		} else {
			acts = max(acts, n*float64(d)*4)
		}
	}
	acts += n * float64(slices.Max(c.LayerDims())) * 8
	return brain + max(acts, float64(trials)*n*(fm*4+16))
}

// generateSynth is synth.Generate, given up when ctx is cancelled (a signal): the generation
// has no cancellation of its own, and the process ends once the command returns.
func generateSynth(ctx context.Context, cfg synth.Config) (*synth.Dataset, error) {
	type result struct {
		ds  *synth.Dataset
		err error
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	done := make(chan result, 1)
	go func() {
		ds, err := synth.Generate(cfg)
		done <- result{ds, err}
	}()
	select {
	case r := <-done:
		return r.ds, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// writeSynth writes the study's files, each by put (its folders made as needed: outdir.Dir.Write).
func writeSynth(ctx context.Context, put putFile, ds *synth.Dataset, format string, trials int) error {
	m := ds.Model
	for ck := 0; ck < m.NumCheckpoints(); ck++ {
		name := "final"
		if len(m.Steps) > 0 {
			name = fmt.Sprintf("ckpt-%09.0f", m.Steps[ck])
		}
		var bundle []*array.Array
		for l := 0; l < m.NumLayers(); l++ {
			if err := ctx.Err(); err != nil {
				return err
			}
			x := m.Activations(ck, l)
			if format == "npz" {
				bundle = append(bundle, &array.Array{Name: m.LayerNames[l], Shape: []int{x.Rows, x.Cols}, F32: x.F32})
				continue
			}
			if err := put.npy(filepath.Join("model", name, m.LayerNames[l]+".npy"), []int{x.Rows, x.Cols}, x.F32); err != nil {
				return err
			}
		}
		if format == "npz" {
			p := filepath.Join("model", name+".npz")
			write, err := array.NPZWriter(bundle)
			if err != nil {
				return fmt.Errorf("%s: %w", p, err)
			}
			if err := put(p, write); err != nil {
				return err
			}
		}
	}
	tr := ds.Truth
	truth := map[string]any{"config": ds.Config, "steps": m.Steps, "layer_half_time": tr.LayerHalfTime}
	if f := ds.FMRI; f != nil {
		labels := make([]int64, len(f.ROI))
		for i, v := range f.ROI {
			labels[i] = int64(v)
		}
		const fd = "fmri"
		if err := put.npy(filepath.Join(fd, "roi_labels.npy"), []int{len(labels)}, labels); err != nil {
			return err
		}
		if err := put.bytes(filepath.Join(fd, "roi_names.txt"), []byte(strings.Join(f.ROINames, "\n")+"\n")); err != nil {
			return err
		}
		driving := make([]int64, len(tr.FMRI.Layer))
		for i, v := range tr.FMRI.Layer {
			driving[i] = int64(v)
		}
		if err := put.npy(filepath.Join(fd, "truth_layer.npy"), []int{len(driving)}, driving); err != nil {
			return err
		}
		for s, sub := range f.Subjects {
			if err := ctx.Err(); err != nil {
				return err
			}
			sd := filepath.Join(fd, fmt.Sprintf("sub-%02d", s+1))
			if err := put.npy(filepath.Join(sd, "brain.npy"), []int{sub.Data.Rows, sub.Data.Cols}, sub.Data.F32); err != nil {
				return err
			}
			if err := put.npy(filepath.Join(sd, "coords.npy"), []int{sub.Coords.Rows, 3}, sub.Coords.F64); err != nil {
				return err
			}
			if trials > 0 {
				if err := writeSynthTrials(put, sd, fd, ds, s, trials); err != nil {
					return err
				}
			}
		}
		truth["fmri"] = map[string]any{"v1_reference": f.V1Ref, "roi_names": f.ROINames, "spatial_r": tr.FMRI.SpatialR,
			"encoding_half_time": tr.FMRI.HalfTime, "roi_half_time": tr.FMRI.ROIHalfTime}
		if trials > 0 {
			truth["fmri"].(map[string]any)["trials_per_image"] = trials
			if err := put.npy(filepath.Join(fd, "truth_ceiling.npy"), []int{len(tr.FMRI.Signal)}, tr.FMRI.Signal); err != nil {
				return err
			}
		}
	}
	if g := ds.MEG; g != nil {
		const md = "meg"
		if err := put.npy(filepath.Join(md, "times.npy"), []int{len(g.Times)}, g.Times); err != nil {
			return err
		}
		driving := make([]int64, len(tr.MEG.Layer))
		for i, v := range tr.MEG.Layer {
			driving[i] = int64(v)
		}
		if err := put.npy(filepath.Join(md, "truth_layer.npy"), []int{g.Channels, len(g.Times)}, driving); err != nil {
			return err
		}
		for s, y := range g.Subjects {
			if err := ctx.Err(); err != nil {
				return err
			}
			sd := filepath.Join(md, fmt.Sprintf("sub-%02d", s+1))
			if err := put.npy(filepath.Join(sd, "brain.npy"), []int{y.Rows, g.Channels, len(g.Times)}, y.F32); err != nil {
				return err
			}
		}
		truth["meg"] = map[string]any{"t_max": tr.MEG.TMax, "temporal_r": tr.MEG.TemporalR, "encoding_half_time": tr.MEG.HalfTime}
	}
	return put.json("truth.json", jsonSafe(truth))
}

// writeSynthTrials writes by put subject s's fMRI trials into the folder sd (trials.npy,
// trial_ids.txt) and, for the first subject, the session of each trial into fd (the same for
// every subject).
func writeSynthTrials(put putFile, sd, fd string, ds *synth.Dataset, s, repeats int) error {
	y, image := ds.FMRI.Trials(ds.Config, s, repeats, ds.Truth.FMRI)
	if err := put.npy(filepath.Join(sd, "trials.npy"), []int{y.Rows, y.Cols}, y.F32); err != nil {
		return err
	}
	var ids strings.Builder
	for _, i := range image {
		fmt.Fprintf(&ids, "img%05d\n", i)
	}
	if err := put.bytes(filepath.Join(sd, "trial_ids.txt"), []byte(ids.String())); err != nil {
		return err
	}
	if s > 0 {
		return nil
	}
	sessions := make([]int64, y.Rows)
	for r := range sessions {
		sessions[r] = int64(r / ds.Config.Images)
	}
	return put.npy(filepath.Join(fd, "trial_sessions.npy"), []int{len(sessions)}, sessions)
}

// synthCommandsHead is how commands.sh, which every synth output holds, begins.
const synthCommandsHead = "#!/bin/sh\n# Analyse the synthetic study in "

// isSynthOutput reports whether dir holds a commands.sh written by synth, which marks it as
// synth's output (replaceable with --overwrite).
func isSynthOutput(dir string) bool {
	f, err := os.Open(filepath.Join(dir, "commands.sh"))
	if err != nil {
		return false
	}
	defer f.Close()
	head := make([]byte, len(synthCommandsHead))
	_, err = io.ReadFull(f, head)
	return err == nil && string(head) == synthCommandsHead
}

// writeSynthCommands writes by put commands.sh, the shell commands that analyse the study in dir.
func writeSynthCommands(put putFile, dir string, ds *synth.Dataset, trials int) error {
	var b strings.Builder
	q := func(p string) string { return "'" + strings.ReplaceAll(p, "'", `'\''`) + "'" }
	// D is the study's folder, found from the script's own path so that it runs from anywhere
	// (and after the study is moved); results go to the working directory's ./results.
	// a line break in the folder's name would end the comment, and run the rest of the name
	oneLine := strings.NewReplacer("\n", `\n`, "\r", `\r`).Replace(dir)
	fmt.Fprintf(&b, synthCommandsHead+"%s; results go to ./results.\nset -e\nD=${D:-$(cd \"$(dirname \"$0\")\" && pwd)}\nR=${R:-results}\nB=${BRAINALIGN:-%s}\n", oneLine, q(selfPath()))
	var fm, mg []string
	for s := 1; ds.FMRI != nil && s <= len(ds.FMRI.Subjects); s++ {
		sub := fmt.Sprintf("sub-%02d", s)
		ceil := ""
		if trials > 0 {
			// brain.npy is already the trials' average: only the ceiling is needed
			fmt.Fprintf(&b, "\"$B\" ceiling --brain \"$D/fmri/%s/trials.npy\" --ids \"$D/fmri/%s/trial_ids.txt\" --sessions \"$D/fmri/trial_sessions.npy\" --no-averaged --out \"$R/ceiling/%s\"\n", sub, sub, sub)
			ceil = fmt.Sprintf(" --ceiling \"$R/ceiling/%s/ceiling.npy\"", sub)
		}
		fmt.Fprintf(&b, "\"$B\" sweep --features \"$D/model\" --model synth --subject %s --brain \"$D/fmri/%s/brain.npy\" --coords \"$D/fmri/%s/coords.npy\" --roi \"$D/fmri/roi_labels.npy\" --roi-names \"$D/fmri/roi_names.txt\"%s --out \"$R/fmri/%s\"\n", sub, sub, sub, ceil, sub)
		fm = append(fm, "\"$R/fmri/"+sub+"\"")
	}
	for s := 1; ds.MEG != nil && s <= len(ds.MEG.Subjects); s++ {
		sub := fmt.Sprintf("sub-%02d", s)
		fmt.Fprintf(&b, "\"$B\" sweep --features \"$D/model\" --model synth --subject %s --brain \"$D/meg/%s/brain.npy\" --times \"$D/meg/times.npy\" --out \"$R/meg/%s\"\n", sub, sub, sub)
		mg = append(mg, "\"$R/meg/"+sub+"\"")
	}
	if len(fm) > 0 {
		fmt.Fprintf(&b, "\"$B\" spatial --out \"$R/spatial\" %s\n", strings.Join(fm, " "))
		fmt.Fprintf(&b, "\"$B\" halftime --out \"$R/halftime-fmri\" %s\n", strings.Join(fm, " "))
		if trials > 0 {
			fmt.Fprintf(&b, "\"$B\" rank --ceiled --by-roi --out \"$R/rank-ceiled\" \"$R/fmri\"\n")
		}
	}
	if len(mg) > 0 {
		fmt.Fprintf(&b, "\"$B\" temporal --out \"$R/temporal\" %s\n", strings.Join(mg, " "))
		fmt.Fprintf(&b, "\"$B\" halftime --out \"$R/halftime-meg\" %s\n", strings.Join(mg, " "))
	}
	return put.bytes("commands.sh", []byte(b.String()))
}

// selfPath is the running binary, so commands.sh calls the same build; "brainalign" (from PATH)
// when it is a temporary `go run` build.
func selfPath() string {
	exe, err := os.Executable()
	if err != nil || strings.Contains(exe, "go-build") {
		return "brainalign"
	}
	return exe
}
