// Package cuda is the CUDA engine: the algorithm of docs/design.md §2 (the same as the CPU engine in
// package fallback, stage by stage) on an NVIDIA GPU, registered as engine kind "cuda" ("cuda:N"
// for device N).
//
// Everything in it is built only with the `cuda` build tag (go build -tags cuda); without the tag
// the package is empty and nothing links gorgonia.org/cu or cgo. A binary built with the tag needs
// the CUDA driver to start at all: gorgonia.org/cu initialises the driver in its package init and
// exits the process when there is no GPU, so its tests and benchmarks run only on a GPU machine
// (see scripts/gpu-check.sh and docs/cuda.md).
//
// On the device: one CUDA context per engine, owned by a goroutine locked to its OS thread (all
// driver, cuBLAS and cuSOLVER calls run there); the float64 eigendecomposition on cuSOLVER
// (cusolverDnDsyevd, a small cgo binding here); products on cuBLAS through gorgonia.org/cu/blas
// (float32 by default, float64 with Precision Float64, TF32 tensor cores with Precision TF32 via
// cublasSetMathMode, where Z = U^T Yc and the leave-one-out residuals R0 keep float32's accuracy as
// three TF32 products of split operands, gemm3xTF32); and the custom kernels of package kernels
// (column statistics and centring, the fused leave-one-out error with its running argmin,
// per-target refit scaling, Pearson r, and for the inner K-fold selection R² per target, the
// criterion update and its argmin).
//
// Memory: the brain data Y is uploaded once by Open (float64 data held in float32 has its
// columns' medians taken off in float64 first, see columnShift) and stays resident while activation matrices
// stream through Score. Targets are processed in batches sized from the free device memory
// (capped by Options.MemoryLimit); an out-of-memory allocation halves the batch and retries. When
// Y itself does not fit, it stays on the host and each batch of targets is uploaded in turn, from
// page-locked host buffers where the driver grants them (pinned.go), the next batch's copy
// overlapping the current batch's compute on a second stream. The next fold's
// factorisation runs on a third stream, alongside the current fold's products (runner.fold).
package cuda
