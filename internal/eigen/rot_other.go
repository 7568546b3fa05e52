//go:build !amd64 && !arm64

package eigen

// No assembly sweep kernels on this architecture: rotQueue.flush uses fwd4/bwd4.

var useRot16 = false

func rotFwd16AVX2(buf *float64, c, s *float64, k int) { panic("eigen: no rotation kernels") }
func rotBwd16AVX2(buf *float64, c, s *float64, k int) { panic("eigen: no rotation kernels") }

var useSymv4 = false

func symvRows4(a *float64, lda int, x, acc *float64, n int, xb *[4]float64, y *[4]float64) {
	panic("eigen: no symv kernels")
}

func prefetchRows(a *float64, stride, rows int) {}
