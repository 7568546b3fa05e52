//go:build cuda

package bench

// With -tags cuda the benchmarks also run the CUDA engine (on a machine with a GPU).
import _ "github.com/brainalign/brainalign/engine/cuda"
