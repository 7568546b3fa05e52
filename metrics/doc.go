// Package metrics turns per-layer encoding scores into the study's metrics
// (docs/design.md §4). Arrays are flat, row-major []float64 with their shape
// passed alongside, the layout of a C-order NumPy array; layer x target and
// layer x channel x time tables are reduced with gorgonia.org/tensor.
//
// Layer sweep. R[l, j] is the score of layer l (0..L-1) for target j.
//
//	k*(j)     = argmax_l R[l, j]            (ties: the first layer)
//	depth(j)  = k*(j) / (L - 1)             (first layer 0, last 1; L >= 2)
//	norm[l,j] = R[l, j] / max_l R[l, j]     (NaN where max_l R[l, j] <= 0)
//
// Spatial score (fMRI). With coordinates c_j (MNI mm) and a V1 reference v
// (a point, or the centroid of the V1 ROI's targets, ROICentroid),
// dist(j) = ||c_j - v||_2 and the score is Pearson's r(depth, dist) with its
// two-sided p, over the targets passing the significance mask. The ROI-level
// score first averages depth and dist within each ROI, then correlates the
// ROI means.
//
// Temporal score (MEG). With scores S[l, c, t],
//
//	R_l(t)   = mean_c S[l, c, t]
//	T_max(l) = mean { t : R_l(t) / max_t R_l(t) >= 0.95 }
//
// and the score is Pearson's r(l, T_max(l)) over layers. The best layer of a
// window [t0, t1) is argmax_l of R_l(t) averaged over the window's times.
//
// Significance mask. For every target, a two-sided one-sample t-test of its
// scores across replicates (subjects, or folds) against 0, then
// Benjamini-Hochberg over targets; significant where the adjusted p <= q
// (default 0.01). With one fixed test set there are no replicates:
// HeldOutSignificance tests each target's r as a Pearson r of the test rows.
//
// Half-time. For a metric v_i at checkpoints with steps s_i (increasing),
// h = v_last / 2 and i the first checkpoint with v_i >= h,
//
//	log s* = log s_{i-1} + (h - v_{i-1}) / (v_i - v_{i-1}) * (log s_i - log s_{i-1})
//
// and the fraction of training is s* / s_last. HalfTimeOf documents the
// edge cases: a non-positive final value (undefined), step 0 (no logarithm),
// and a first checkpoint already at half (its step, not interpolated).
//
// Scaling laws (alignment against compute, parameters or data over many
// models). Scaling fits the saturating power law
//
//	y(x) = y_inf - gap (x / x_ref)^(-alpha)      (x_ref: geometric mean of x)
//
// by least squares (stats.FitPowerLaw: global over the exponent, standard
// errors as scipy.optimize.curve_fit), compares it by AICc with the
// non-saturating straight line y = a + b ln x (its alpha -> 0 limit), and
// gives bootstrap percentile intervals of the parameters, the curve and
// predictions at new x from refits to resampled models.
//
// Comparisons of models across subjects use the Wilcoxon signed-rank test
// of package stats (exact for small samples, as SciPy).
//
// Every exported function checks shapes and values and returns an error
// naming the function and the problem; none panics on user data.
package metrics
