//go:build amd64

package eigen

import "golang.org/x/sys/cpu"

// Sweep kernels in rot_amd64.s: the 16 rows interleaved in buf (element t of row r at
// buf[t*16+r]), rotations c[0:k], s[0:k] as fwd4/bwd4 apply them.

//go:noescape
func rotFwd16AVX2(buf *float64, c, s *float64, k int)

//go:noescape
func rotBwd16AVX2(buf *float64, c, s *float64, k int)

// useRot16 selects the assembly path of rotQueue.flush (tests switch it off to compare).
var useRot16 = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// symvRows4 (symv_amd64.s, AVX2+FMA): for four rows of stride lda and j < n (a multiple of 4),
// y[r] += row_r . x and acc[j] += sum_r row_r[j] xb[r], reading each element once.
//
//go:noescape
func symvRows4(a *float64, lda int, x, acc *float64, n int, xb *[4]float64, y *[4]float64)

// prefetchRows (symv_amd64.s) asks for the first three cache lines of rows a, a+stride, ...
//
//go:noescape
func prefetchRows(a *float64, stride, rows int)

// useSymv4 selects symvRows4 in symvUpper (tests switch it off to compare).
var useSymv4 = cpu.X86.HasAVX2 && cpu.X86.HasFMA
