// Package eigen is a pure-Go (no cgo) symmetric eigensolver for the CPU engine's Gram matrices:
// all eigenvalues and eigenvectors in float64, 13-19x faster than gonum's mat.EigenSym (LAPACK
// Dsyev) on a 2-core Zen 4 at n = 512-1024, with the same accuracy.
//
// Method: the same three steps as Dsyev, each rearranged for row-major Go.
//
//  1. Tridiagonalisation (tridiagonalize): LAPACK's blocked Dsytrd with Dlatrd panels of 32
//     columns, but on full storage (both triangles kept up to date), so that column c is row c
//     (contiguous), A v is gonum's assembly Dgemv split across cores, and the trailing update
//     A -= V W^T + W V^T is two calls of internal/gemm. The reflectors are accumulated into Q in
//     blocks of 64 with the compact WY form (Dlarft + three GEMMs), as Dorgtr does. At n = 1024
//     the two take ~0.15-0.2 s together, against 0.92 s + 0.33 s for gonum's Dsytrd + Dorgtr,
//     whose Dsyr2k and GEMM are gonum's pure Go.
//  2. Implicit QL/QR on the tridiagonal (steqr): a line-for-line port of Dsteqr, so shifts,
//     deflation, the 30n iteration cap and the results are LAPACK's. It was the wall: 12.3 s of
//     gonum's 13.6 s at n = 1024, ~70% of it in Dlasr, which rotates two columns of the
//     row-major Q and so strides n*8 bytes per element. Here the rotations of each sweep are
//     queued (the iteration never reads Q, so deferring them is exact) and applied in batches of
//     up to 64Ki rotations: each row of Q takes the whole batch while it sits in L1, four rows at a
//     time share each coefficient load and hide each other's latency, and row blocks run on all
//     cores. This stage drops from 12.3 s to ~0.4-0.6 s at n = 1024 (~0.07 s at 512).
//  3. Sorting: one permutation pass per row instead of column swaps.
//
// Measured (go test -bench Sym ./internal/eigen/, random symmetric, seconds per call, 2-core
// Zen 4; the machine is shared and timings vary by ~30%):
//
//	n      gonum EigenSym   eigen.Sym    speed-up
//	256    0.055-0.091      0.022-0.026  2.5-3.5x
//	512    1.54-1.55        0.10-0.12    13-15x
//	1024   11.9             0.63-0.83    14-19x
//	2048   ~98 (DESIGN §7)  4.4          ~22x
//
// Accuracy (TestSym: power-law spectra 1..1e-12, rank-deficient Gram matrices with exact zeros,
// repeated and 1e-10-clustered eigenvalues, diagonal and tridiagonal matrices, n = 1..512):
// residual ||A V - V diag(w)||_F/||A||_F <= 7e-15, ||V^T V - I||_F <= 1.3e-13, both within 20%
// of gonum's on the same matrix, and eigenvalues within 7e-15 of gonum's relative to the
// largest. NaN or Inf input is rejected before the iteration; non-convergence returns an error.
//
// Not done: divide and conquer (Dstedc), which would make step 2 GEMM-rich too, and SIMD
// rotation kernels (a four-row-interleaved layout with AVX2/AVX-512 assembly); math.FMA in the
// scalar kernel was measured and was slower.
package eigen
