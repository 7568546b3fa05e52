// Package figures draws the study's figures as PNG files from plain slices: a layer x time
// heatmap of MEG scores with T_max marked (LayerTime), best layer against distance from V1 with
// the fitted line and r (DepthDistance), a metric against training step on a log axis with its
// half-time marked (MetricSteps), and per-ROI bars (ROIBars). Files are written atomically
// (package atomicfile). Plotting uses gonum.org/v1/plot.
package figures
