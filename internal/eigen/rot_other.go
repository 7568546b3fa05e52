//go:build !amd64

package eigen

// No assembly sweep kernels on this architecture: rotQueue.flush uses fwd4/bwd4.

var useRot16 = false

func rotFwd16AVX2(buf *float64, c, s *float64, k int) { panic("eigen: no rotation kernels") }
func rotBwd16AVX2(buf *float64, c, s *float64, k int) { panic("eigen: no rotation kernels") }
