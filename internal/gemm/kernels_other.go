//go:build !amd64 && !arm64

package gemm

// No assembly kernels on this architecture: Implementation delegates to gonum.
var kernelSets []kernelSet
