//go:build arm64

package eigen

// No rotation kernels on arm64 (rotQueue.flush uses fwd4/bwd4); the fused symv runs on NEON.

var useRot16 = false

func rotFwd16AVX2(buf *float64, c, s *float64, k int) { panic("eigen: no rotation kernels") }
func rotBwd16AVX2(buf *float64, c, s *float64, k int) { panic("eigen: no rotation kernels") }

// symvRows4 (symv_arm64.s, NEON): for four rows of stride lda and j < n (a multiple of 4),
// y[r] += row_r . x and acc[j] += sum_r row_r[j] xb[r], reading each element once. Without it
// symvUpper reads the matrix twice, through two gonum Dgemv calls (pure Go on arm64).
//
//go:noescape
func symvRows4(a *float64, lda int, x, acc *float64, n int, xb *[4]float64, y *[4]float64)

// prefetchRows (symv_arm64.s) asks for the first three 64-byte lines of rows a, a+stride, ...
//
//go:noescape
func prefetchRows(a *float64, stride, rows int)

// useSymv4 selects symvRows4 in symvUpper (tests switch it off to compare). Advanced SIMD is
// part of every arm64 CPU Go runs on.
var useSymv4 = true
