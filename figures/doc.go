// Package figures draws the study's figures as PNG images from plain slices: a layer x time
// heatmap of MEG scores with T_max marked (LayerTime), best layer against distance from V1 with
// the fitted line and r (DepthDistance), a metric against training step on a log axis with its
// half-time marked (MetricSteps), and per-ROI bars (ROIBars). Each is drawn, then written to
// the io.Writer given: the caller writes the file (atomicfile.Write, atomicfile.Batch.Write),
// which an error of drawing leaves unwritten. Plotting uses gonum.org/v1/plot.
package figures
