// Package rsa compares representations by their geometry over a set of stimuli, without fitting
// anything: representational similarity analysis (RSA; Kriegeskorte, Mur & Bandettini 2008) and
// linear centred kernel alignment (CKA; Kornblith, Norouzi, Lee & Hinton 2019), as rsatoolbox and
// Brain-Score's RDM metric compute them and as the Algonauts 2019 challenge scored models.
//
// # RDMs
//
// For X, n stimuli x p features (or brain targets: voxels, channels x times), the
// representational dissimilarity matrix holds, for every pair i < j,
//
//	correlation:  d_ij = 1 - r(x_i, x_j) = 1 - z_i · z_j,   z_i = (x_i - mean(x_i)) / ||x_i - mean(x_i)||
//	euclidean:    d_ij = ||x_i - x_j|| = sqrt(G_ii + G_jj - 2 G_ij),   G = Xc Xc^T, Xc = X - column means
//
// (scipy.spatial.distance.pdist's 'correlation' and 'euclidean'), kept as the condensed upper
// triangle in pdist's order (CondensedIndex; squareform gives the square matrix). Both come from
// one product of the prepared rows with themselves, one GEMM per block of rows against the rows
// after it (the upper triangle only), the p columns a slice at a time: p may be 330,000 voxels,
// and no p x p matrix, nor a float64 copy of all of X, is ever formed. Correlation distances are
// clipped to [0, 2]. A stimulus whose values are all equal (or equal but for rounding) has no
// correlation distance: NewRDM returns a *ConstantRowError naming its row, never NaN. Euclidean
// pairs whose squared distance is below 1/16 of their squared distances from the centroid, where
// the Gram matrix's difference cancels digits, are recomputed from the data (RDM.Recomputed
// counts them), so every distance is exact to rounding as scipy's; stimuli in tight clusters far
// from the centroid make that O(p) per pair without the GEMM's speed.
//
// Memory: an RDM of n stimuli is n(n-1)/2 float64 values, Bytes(n): 4 MB at 1,000 stimuli,
// 400 MB at 10,000 (the full n x n matrix would be 800 MB; it is never formed), and computing it
// takes as much again (the Gram triangle, reused in place for correlation distances) plus one
// slice of columns (32 MB) and one block of products (256 x n). More than MaxStimuli stimuli are
// refused, as are fewer than MinStimuli, and NaN or infinite values (named by row and column).
//
// # Comparing RDMs
//
// Compare correlates two RDMs' upper triangles: Spearman's rho (the default, ranks averaged over
// ties as scipy.stats.spearmanr; dissimilarities equal to 12 significant digits are ties, since
// rounding in the products must not break ties the data hold: digits of each Euclidean distance,
// and of 1 for correlation distances, which are rounded as r is, whatever their size) or
// Pearson's r. Their parametric p-values assume independent pairs, which dissimilarities are not;
// Mantel gives a permutation p-value instead: the stimuli of one RDM are permuted N times
// (seeded: permutation k is drawn from PCG(seed, k), the same on any number of cores), and
//
//	p = (1 + #{k : r_k >= r}) / (1 + N),   one-sided,
//
// at a cost of O(N n²) (about 10 ms per permutation per core at 1,000 stimuli, bench/RESULTS.md).
//
// # Linear CKA
//
// With Kx = Xc Xc^T and Ky = Yc Yc^T the n x n Gram matrices of the column-centred data (X: n x
// d, Y: n x m; d and m may differ),
//
//	CKA(X, Y) = tr(Kx Ky) / (||Kx||_F ||Ky||_F) = ||Yc^T Xc||_F² / (||Xc^T Xc||_F ||Yc^T Yc||_F),
//
// computed from the triangles of Kx and Ky (never a d x d, m x m or d x m matrix). It is the CKA
// of the biased HSIC estimator (the V-statistic, HSIC = tr(Kx H Ky H) / (n-1)²) of Kornblith et
// al. 2019 and of rsatoolbox. CKA is invariant to orthogonal transforms and isotropic scaling of
// either side, not to arbitrary invertible linear maps. Its memory is that of two RDMs.
//
// DebiasedCKA replaces the biased HSIC with the unbiased one of Song et al. 2012 (Kornblith's
// cka(..., debiased=True)): with K~, L~ the Gram matrices with zeroed diagonals and n >= 4,
//
//	HSIC_1(K, L) = [tr(K~ L~) + 1ᵀK~1 1ᵀL~1 / ((n-1)(n-2)) - 2/(n-2) 1ᵀK~L~1] / (n(n-3)),
//	CKA_1 = HSIC_1(Kx, Ky) / sqrt(HSIC_1(Kx, Kx) HSIC_1(Ky, Ky)).
//
// The biased tr(Kx Ky) includes each stimulus's product with itself, ||x_i||² ||y_i||², which
// grows with the features d while the cross terms grow with sqrt(d): with d >> n biased CKA is
// near 1 whatever the relation (Murphy, Zylberberg & Fyshe 2024). For unrelated Gaussian data of
// 4096 features over 200 stimuli biased CKA is 0.95 and debiased CKA -0.001 (TestDebiasedCKAPlanted);
// with n >> d the two agree. Debiased CKA lies in [-1, 1], may be slightly negative, is the same
// for data with or without their means, and takes two more passes over the same triangles (their
// diagonals unused) and 2n row sums: 1-2 ms at 1,000 stimuli, against the Gram matrices'
// product of O(n² d).
//
// # Accuracy
//
// The data are scaled by an exact power of two before the products (so values up to ±1e150, as
// elsewhere in brainalign, neither overflow nor underflow); the column means and row norms are
// taken in float64 in two passes. Against scipy 1.10 and a NumPy linear CKA (testdata/gen_rsa.py)
// the RDMs, their Spearman and Pearson correlations and CKA agree to 1e-12 (to a few 1e-16 in
// practice), float32 and Fortran-order data included; debiased CKA agrees to 1e-12 (8e-16) with
// the Gram-matrix formula evaluated in exact rational arithmetic on the uncentred data. Two
// limits of the Spearman comparison: with many stimuli, dissimilarities a rounding unit apart
// may swap ranks (1,000 stimuli: agreement with spearmanr to about 1e-11); and where the data
// make dissimilarities exactly equal (identical rows, rows that are scaled and shifted copies,
// integer data), scipy's pdist rounds some of them apart too (0 beside 2.2e-16) and spearmanr
// ranks them apart, which Compare does not: it agrees with spearmanr of the exact RDM
// (affine_ties.json), and differs from spearmanr of pdist there (by 1e-3 on 300 stimuli copied
// from 6 patterns, 2e-6 on 1,000 stimuli of 6 integer features).
//
// # References
//
//   - Kriegeskorte N, Mur M, Bandettini P (2008). Representational similarity analysis:
//     connecting the branches of systems neuroscience. Front Syst Neurosci 2:4.
//   - Nili H, Wingfield C, Walther A, Su L, Marslen-Wilson W, Kriegeskorte N (2014). A toolbox for
//     representational similarity analysis. PLoS Comput Biol 10:e1003553.
//   - Kornblith S, Norouzi M, Lee H, Hinton G (2019). Similarity of neural network
//     representations revisited. ICML.
//   - Song L, Smola A, Gretton A, Bedo J, Borgwardt K (2012). Feature selection via dependence
//     maximization. JMLR 13:1393-1434.
//   - Murphy AC, Zylberberg J, Fyshe A (2024). Correcting biased centered kernel alignment
//     measures in biological and artificial neural networks. arXiv:2405.01012.
//   - Mantel N (1967). The detection of disease clustering and a generalized regression approach.
//     Cancer Res 27:209-220.
package rsa
