package main

import (
	"fmt"
	"io"
	"math"

	"github.com/urfave/cli/v2"

	"github.com/brainalign/brainalign/figures"
	"github.com/brainalign/brainalign/sweep"
)

func init() {
	registerCommand(argsCommand(&cli.Command{
		Name:      "spatial",
		Usage:     "spatial score from saved fMRI sweeps: best layer vs distance from V1",
		ArgsUsage: "[SWEEP_DIR...]",
		Description: "For each target, the best layer (argmax over layers of the subject-mean score, as relative\n" +
			"depth 0..1) is correlated (Pearson r, p) with the target's distance from V1, over targets that\n" +
			"pass the significance mask (one-sample t-test of the layer-mean score across replicates,\n" +
			"two-sided p as SciPy's ttest_1samp, Benjamini-Hochberg FDR over all targets, then positive t\n" +
			"only). Also the ROI-level score (ROI means) and each subject's\n" +
			"own r. Writes spatial.json, best_layer_depth.npy, distance.npy, mask.npy (bool: the targets\n" +
			"used) and the figures spatial.png (best layer vs distance, fitted line, r) and spatial_roi.png\n" +
			"(mean depth per ROI); for sweeps of NIfTI, MGH, CIFTI or GIFTI brain data also best_layer_depth.nii.gz\n" +
			"(or .mgz, .dscalar.nii: the depth of the masked targets, NaN elsewhere) in their space. The\n" +
			"folders are " +
			"subjects of one model: sweeps of another model (sweep's --model), other layers or other\n" +
			"checkpoints are refused. The results folder is written once\n" +
			"the score is computed: a new one appears whole, and a failed run leaves none; in a folder\n" +
			"that holds files, the results replace theirs together once all are written (a failed or\n" +
			"interrupted run leaves the earlier ones whole). Flags come before the sweep folders.",
		Flags:  append(append(append([]cli.Flag{sweepsFlag()}, metricOutFlags()...), spatialFlags()...), maskFlags()...),
		Action: runSpatial,
	}, true))
}

func runSpatial(c *cli.Context) error {
	g, err := loadSweeps(c, "sweep")
	if err != nil {
		return err
	}
	o, err := spatialOptions(c)
	if err != nil {
		return err
	}
	if o.Checkpoint, err = checkpointOf(g, c.String("checkpoint")); err != nil {
		return err
	}
	out := c.String("out")
	if err := checkOut(out); err != nil {
		return err
	}
	res, err := sweep.Spatial(g, o)
	if err != nil {
		return err
	}
	for _, w := range res.Warnings {
		fmt.Fprintf(c.App.ErrWriter, "warning: %s\n", w)
	}
	files, err := writeResults(c.Context, out, func(put putFile) ([]string, error) {
		return writeSpatial(put, g, res, !c.Bool("no-figures"), c.App.ErrWriter)
	}, "spatial.png", "spatial_roi.png")
	if err != nil {
		return err
	}
	if err := removeEarlierMaps(out, files, spatialMap); err != nil {
		return err
	}
	printSpatial(c.App.Writer, g, res)
	fmt.Fprintf(c.App.Writer, "wrote %s: %s\n", out, files)
	return nil
}

// spatialMap names spatial's map of best-layer depths in the data's space (array.WriteNamed).
const spatialMap = "best_layer_depth"

// writeSpatial writes the spatial results (and figures), each file by put; it returns
// the file names.
func writeSpatial(put putFile, g []*sweep.Sweep, res *sweep.SpatialResult, figs bool, warn io.Writer) ([]string, error) {
	mask := res.Mask.Keep // bool: numpy's best[mask] selects the kept targets
	files := []string{"spatial.json", "best_layer_depth.npy", "distance.npy", "mask.npy"}
	if err := put.json("spatial.json", jsonSafe(map[string]any{
		"command": "spatial", "version": version, "created": nowUTC(), "model": g[0].Model, "sweeps": sweepDirs(g), "result": res})); err != nil {
		return nil, err
	}
	if err := put.npy("best_layer_depth.npy", g[0].Trailing, res.Depth); err != nil {
		return nil, err
	}
	if err := put.npy("distance.npy", g[0].Trailing, res.Distance); err != nil {
		return nil, err
	}
	if err := put.npy("mask.npy", g[0].Trailing, mask); err != nil {
		return nil, err
	}
	masked := make([]float64, len(res.Depth)) // the map viewers show: NaN outside the mask
	for t, d := range res.Depth {
		masked[t] = math.NaN()
		if mask[t] {
			masked[t] = d
		}
	}
	spaced := sweep.WithSpace(g).Meta // a subject's of a known space, pooled with .npy ones
	vols, err := writeVolumes(spaced.Space, put,
		map[string][]float64{spatialMap: spaced.Expand(masked)})
	if err != nil {
		return nil, err
	}
	files = append(files, vols...)
	if !figs {
		return files, nil
	}
	var dist, depth []float64
	for t, k := range res.Mask.Keep {
		if k {
			dist, depth = append(dist, res.Distance[t]), append(depth, res.Depth[t])
		}
	}
	var rois []figures.ROIPoint
	if res.ROI != nil {
		for k, n := range res.ROI.Names {
			rois = append(rois, figures.ROIPoint{Name: n, Distance: res.ROI.MeanDistance[k], Depth: res.ROI.MeanDepth[k]})
		}
	}
	title := fmt.Sprintf("%s, checkpoint %s: best layer vs distance from V1 (%d subject(s))", g[0].Model, res.Checkpoint, len(g))
	files, err = keepFigure(warn, files, "spatial.png", put("spatial.png", func(w io.Writer) error {
		return figures.DepthDistance(w, title, dist, depth, g[0].L, res.Target.R, res.Target.P, rois)
	}))
	if err != nil || res.ROI == nil {
		return files, err
	}
	return keepFigure(warn, files, "spatial_roi.png", put("spatial_roi.png", func(w io.Writer) error {
		return figures.ROIBars(w, g[0].Model+": mean best-layer depth per ROI", "best layer (relative depth)", res.ROI.Names, res.ROI.MeanDepth)
	}))
}

func printSpatial(w io.Writer, g []*sweep.Sweep, res *sweep.SpatialResult) {
	fmt.Fprintf(w, "spatial score of %s at checkpoint %s (%d subject(s): %s)\n", g[0].Model, res.Checkpoint, len(g), groupNames(g))
	if res.Ref != nil {
		fmt.Fprintf(w, "  V1 reference %.1f, %.1f, %.1f mm (%s)\n", res.Ref[0], res.Ref[1], res.Ref[2], res.RefFrom)
	}
	for _, r := range res.PartRefs { // targets joined from hemispheres, each measured from its own
		fmt.Fprintf(w, "  V1 reference of %s %.1f, %.1f, %.1f mm (%s)\n", r.Part, r.Point[0], r.Point[1], r.Point[2], res.RefFrom)
	}
	n := fmt.Sprintf("%d replicates", res.Mask.N)
	if res.Mask.Replicates == "heldout" {
		n = fmt.Sprintf("r of %d held-out rows", res.Mask.N)
	}
	if res.Mask.Replicates == "none" {
		fmt.Fprintf(w, "  mask: none (--no-mask): all %d targets used\n", res.Mask.Targets)
	} else {
		fmt.Fprintf(w, "  mask: %d of %d targets significant (FDR %g, %s, %s)\n", res.Mask.Significant, res.Mask.Targets, res.Mask.FDR, res.Mask.Replicates, n)
	}
	fmt.Fprintf(w, "  target level: r = %.3f, p = %.3g, n = %d\n", res.Target.R, res.Target.P, res.Target.N)
	if r := res.ROI; r != nil {
		fmt.Fprintf(w, "  ROI level: r = %.3f, p = %.3g over %d ROIs:", r.R, r.P, r.N)
		for k, n := range r.Names {
			fmt.Fprintf(w, " %s %.2f@%.0fmm", n, r.MeanDepth[k], r.MeanDistance[k])
		}
		fmt.Fprintln(w)
	}
	if len(res.Subjects) > 1 {
		fmt.Fprint(w, "  per subject:")
		for _, s := range res.Subjects {
			fmt.Fprintf(w, " %s r=%.3f", s.Subject, s.R)
		}
		fmt.Fprintln(w)
	}
}

func sweepDirs(g []*sweep.Sweep) []string {
	var d []string
	for _, s := range g {
		d = append(d, s.Dir)
	}
	return d
}
