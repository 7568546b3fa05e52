// Package eigen is a pure-Go (no cgo) symmetric eigensolver for the CPU engine's Gram matrices:
// all eigenvalues and eigenvectors in float64, 30-57x faster than gonum's mat.EigenSym (LAPACK
// Dsyev) on a 2-core Zen 4 at n = 512-4096, with the same accuracy.
//
// Method: the same three steps as Dsyev, each rearranged for row-major Go.
//
//  1. Tridiagonalisation (tridiagonalize): LAPACK's blocked Dsytrd with Dlatrd panels of 32
//     columns, on the upper triangle only, so that column c is row c from column c on
//     (contiguous). A v (symvUpper) reads each row of the trailing block once for both
//     triangles' contributions: per block of 16 rows, a matrix-vector product of the rectangle
//     right of the block and, while it is in cache, its transpose (half the memory traffic of a
//     full product; this step is memory-bound), split across cores by equal areas. The trailing
//     update A -= V W^T + W V^T is internal/gemm on row blocks of the upper triangle. The
//     reflectors are accumulated into Q in blocks of 64 with the compact WY form (Dlarft + three
//     GEMMs), as Dorgtr does. At n = 1024 the two took ~0.15-0.2 s together with full storage,
//     against 0.92 s + 0.33 s for gonum's Dsytrd + Dorgtr, whose Dsyr2k and GEMM are gonum's
//     pure Go.
//  2. Implicit QL/QR on the tridiagonal (steqr): a line-for-line port of Dsteqr, so shifts,
//     deflation, the 30n iteration cap and the results are LAPACK's. It was the wall: 12.3 s of
//     gonum's 13.6 s at n = 1024, ~70% of it in Dlasr, which rotates two columns of the
//     row-major Q and so strides n*8 bytes per element. Here the rotations of each sweep are
//     queued (the iteration never reads Q, so deferring them is exact) and applied in batches of
//     up to 256Ki rotations. With AVX2 and FMA (rot_amd64.s) each block of 16 rows of Q is copied
//     interleaved (element j of the 16 rows in four ymm registers' worth of contiguous memory)
//     and every sweep of the batch runs along it with the element about to be rotated again
//     carried in registers, four independent chains hiding the FMA latency; rows are then copied
//     back, and blocks run on all cores. Elsewhere (and in tests, to compare) the Go version
//     takes each row through the whole batch, four rows sharing each coefficient load. A row
//     gets the same arithmetic whatever block or core it falls to, so results do not depend on
//     the number of cores.
//  3. Sorting: one permutation pass per row instead of column swaps.
//
// Measured (go test -bench Sym ./internal/eigen/, random symmetric, seconds per call, 2-core
// Zen 4; the machine is shared and timings vary by ~30%; "Go rotations" is the version before
// the assembly sweeps):
//
//	n      gonum EigenSym   eigen.Sym, Go rotations   eigen.Sym    speed-up over gonum
//	256    0.055-0.091      0.022-0.026               0.011        5-8x
//	512    1.54-1.55        0.10-0.12                 0.050        31x
//	1024   11.9             0.63-0.83                 0.26         46x
//	2048   ~98 (DESIGN §7)  4.4-6.4                   2.0          ~49x
//	4096   945 (DESIGN §7)  38                        16.2-16.8    ~57x
//
// At 4096 (CPU profile, 2 cores): the rotations take ~40% of the CPU time (at ~12 flops a
// cycle), the tridiagonalisation's matrix-vector products ~30% (upper-triangle reads: the
// full-storage version spent 12 s of CPU there, now ~9 s), the GEMMs ~15%.
//
// Accuracy (TestSym: power-law spectra 1..1e-12, rank-deficient Gram matrices with exact zeros,
// repeated and 1e-10-clustered eigenvalues, diagonal and tridiagonal matrices, n = 1..512):
// residual ||A V - V diag(w)||_F/||A||_F <= 7e-15, ||V^T V - I||_F <= 1.3e-13, both within 20%
// of gonum's on the same matrix, and eigenvalues within 7e-15 of gonum's relative to the
// largest. NaN or Inf input is rejected before the iteration; non-convergence returns an error.
//
// SymContext stops when its context is done, looking at it between panels, blocks of Q and
// batches of rotations (TestSymContextCancel cancels at each such point in turn), so that a
// cancelled run does not sit through a 16 s decomposition.
//
// Not done: divide and conquer (Dstedc), which would make step 2 GEMM-rich too; an AVX-512
// rotation kernel (Zen 4 runs 512-bit FMAs at the rate of 256-bit ones); math.FMA in the
// scalar Go kernel was measured and was slower.
package eigen
