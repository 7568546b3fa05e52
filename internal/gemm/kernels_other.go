//go:build !amd64

package gemm

// No assembly kernels on this architecture: Implementation delegates to gonum.

const (
	hasAVX2    = false
	hasAVX512  = false
	hasKernels = false
)

func selectKernels(avx512, avx2 bool) { kern32, kern64 = nil, nil }
