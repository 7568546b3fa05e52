// Package eigen is a pure-Go (no cgo) symmetric eigensolver for the CPU engine's Gram matrices:
// all eigenvalues and eigenvectors in float64, 30-110x faster than gonum's mat.EigenSym (LAPACK
// Dsyev) on a 2-core Zen 4 at n = 512-4096, with the same accuracy.
//
// Method: LAPACK's Dsyevd (Dsyev's below order dcMin = 256), each step rearranged for
// row-major Go.
//
//  1. Tridiagonalisation (tridiagonalize): LAPACK's blocked Dsytrd with Dlatrd panels of 32
//     columns, on the upper triangle only, so that column c is row c from column c on
//     (contiguous). A v (symvUpper) reads each row of the trailing block once for both
//     triangles' contributions: four rows at a time (symv_amd64.s, AVX2+FMA; symv_arm64.s, NEON), each element
//     loaded once for the product with v and the transposed product's update, split into 16
//     row ranges of equal area (run on up to 16 cores, summed in order). This step is memory-bound: at n = 4096 the products run at about
//     the machine's memory bandwidth (~35-40 GB/s with L3 hits). The trailing update A -= V W^T
//     + W V^T is internal/gemm on row blocks of the upper triangle.
//  2. The eigenvectors of the tridiagonal matrix, from order dcMin by divide and conquer
//     (stedc): a port of LAPACK's Dstedc / Dlaed0-Dlaed6 (Cuppen's method with Gu and
//     Eisenstat's eigenvectors; deflation tolerance 8 eps, as every released LAPACK: the 64 eps
//     of reference LAPACK's June-August 2026 code lost accuracy and was reverted). Halves of
//     order >= 200 are solved side by side, the secular equation's roots and the eigenvectors
//     are split across cores by columns, and each merge ends in two GEMMs. Then the eigenvectors
//     of A are Q applied to them (applyQ, Dormtr's job: blocks of 64 reflectors in the compact
//     WY form, three GEMMs each, 2n^3 flops). At n = 4096 the merges take ~1 s.
//     Below dcMin, implicit QL/QR (steqr): a line-for-line port of Dsteqr, with Q formed
//     first (formQ) and the plane rotations of each sweep queued and applied in batches (the
//     iteration never reads Q, so deferring them is exact). With AVX2 and FMA (rot_amd64.s) each
//     block of 16 rows of Q is copied interleaved and every sweep of the batch runs along it
//     with the element about to be rotated again carried in registers. QL/QR was the wall
//     before divide and conquer: ~8 s of 16 s at n = 4096, against ~1 s now.
//  3. Sorting: one permutation pass (fused with the transpose of divide and conquer's
//     column-major eigenvectors) instead of column swaps.
//
// Measured (go test -bench Sym ./internal/eigen/, random symmetric, seconds per call, 2-core
// Zen 4; the machine is shared and timings vary by ~15%). "First D&C" is divide and conquer as
// first written; "now" adds prefetching of symvUpper's row starts, blocks of 128 reflectors
// for Q, and the trailing update as one product:
//
//	n      gonum EigenSym   QL/QR only   first D&C     now          OpenBLAS dsyevd
//	256    0.055-0.091      0.011        0.009         0.007-0.011
//	512    1.54-1.55        0.050        0.040-0.048   0.035-0.046  0.037
//	1024   11.9             0.26         0.20-0.24     0.16-0.18    0.15
//	2048   ~98 (*)          1.9-2.0      1.06-1.24     0.88-0.99    0.94-0.96
//	4096   945 (*)          16.2-16.8    8.1-8.7       6.9-7.9      7.0-7.5
//
// (*) docs/design.md §7.
//
// OpenBLAS's dsyevd is BenchmarkSym/dsyevd (openblas build), measured in the same runs. Where the
// 7 s at 4096 go (BenchmarkStages): tridiagonalisation 4.2 s (its matrix-vector products, at the
// machine's memory bandwidth, ~2.5 s of it), divide and conquer 1.0 s, applying Q 1.9 s (GEMMs
// at the kernel's peak).
//
// Accuracy (TestSym: power-law spectra 1..1e-12, rank-deficient Gram matrices with exact zeros,
// repeated and 1e-10-clustered eigenvalues, diagonal and tridiagonal matrices, n = 1..512, each
// through both eigenvector paths; TestStedc: glued Wilkinson, Clement, graded and split
// tridiagonal matrices): residual ||A V - V diag(w)||_F/||A||_F <= 7e-15, ||V^T V - I||_F <=
// 1.3e-13, both within 3x of gonum's on the same matrix (within 1.7x in practice), and
// eigenvalues within 7e-15 of gonum's relative to the largest. NaN or Inf input is rejected
// before the iteration; non-convergence returns an error.
//
// SymContext stops when its context is done, looking at it between panels, blocks of
// reflectors, divide and conquer's blocks and merges, and batches of rotations
// (TestSymContextCancel cancels at each such point), so that a cancelled run does not sit
// through an 8 s decomposition.
//
// Results do not depend on the number of cores: every parallel step splits its work the same way
// on any number of cores (TestSymCoresIndependent, TestStedcCoresIndependent), so the same binary
// gives the same bits on a laptop and on a 64-core node with the same GEMM kernels
// (internal/gemm.Kernel: the AVX-512 and AVX2 kernels sum in KC slices of other depths, so an
// AVX2-only laptop's last bits differ from an AVX-512 node's).
//
// On arm64 the symv and internal/gemm's products run on NEON kernels (tested under QEMU, not
// yet timed on arm64 hardware); the QL/QR rotations use the Go path there.
//
// Not done: two-stage tridiagonalisation (dense to band by GEMMs, then band to tridiagonal),
// which would make step 1 compute-bound instead of memory-bound; an AVX-512 rotation kernel.
package eigen
