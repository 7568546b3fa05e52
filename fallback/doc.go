// Package fallback is the CPU engine: the algorithm of docs/design.md §2, float32 and float64, on all
// cores. It runs anywhere: the default build is pure Go (no cgo), its products on internal/gemm
// (Go assembly) and its eigendecompositions on internal/eigen. Built with the `openblas` tag, the
// same code runs its products on OpenBLAS and its eigendecompositions on LAPACKE's dsyevd
// (gonum.org/v1/netlib).
//
// Per outer fold the engine
//  1. centres the training activations and takes one float64 eigendecomposition (of Xc^T Xc when
//     the fold has more rows than features, else of Xc Xc^T), giving Xc = U diag(s) V^T with
//     directions below a relative tolerance dropped (Result.Dropped counts them);
//  2. for each batch of targets (sized to the memory limit), centres Y by its training means,
//     computes Z = U^T Yc once, and for every penalty a the fitted values U diag(f(a)) Z with
//     f = s²/(s²+a), the leverages h(a) = 1/n + U² f(a) and the leave-one-out error
//     mean((Yc - Yhat)/(1-h))², keeping a running argmin (strict <: the first penalty in grid
//     order wins ties, as scikit-learn's RidgeCV); with the dual decomposition, whose U and its
//     complement uc span the training rows, 1-h is summed as sum_c uc² + U² a/(s²+a), not
//     subtracted from 1 (h is near 1 at penalties far below the features' scale);
//  3. predicts the held-out rows at each target's penalty as P diag(s/(s²+a_t)) Z, with
//     P = (Xtest - mean) V computed once per fold (in float64, its columns centred on the
//     held-out rows' medians before any conversion: r ignores the shift, the predictions in the
//     data's units add it back), and scores the Pearson r per target.
//
// Reproducibility: in the default build the results do not depend on the number of cores
// (GOMAXPROCS) or on the target batches the memory limit makes: every parallel step splits its
// work the same way on any number of cores, and a target's numbers never depend on the targets
// beside it (TestScoresIndependentOfCores). They can depend on the CPU's instruction set (the
// assembly kernels are chosen at start-up), and the openblas build makes no such promise: there
// the last bits can change with the cores and the batches (OpenBLAS picks kernels and splits by
// a product's shape and its threads).
//
// Degenerate targets: a target constant on the training fold gets zero coefficients; a target
// whose prediction or held-out data is constant on a fold scores 0 there and is counted in
// Result.Degenerate. Constant feature columns are harmless (centring zeroes them); activations
// with no variance at all give rank 0 and every target scores 0.
package fallback
