// Package kernels holds brainalign's custom CUDA kernels as PTX, compiled from the .cu sources
// beside this file by `make kernels` (nvcc -ptx -arch=compute_80) and checked in, so building
// the cuda engine needs no nvcc; `make check-ptx` fails when a checked-in file is stale. The
// driver JIT-compiles the PTX for the GPU at hand. This package has no cgo and no CUDA import;
// the cuda engine (package engine/cuda) loads the modules with cu.LoadData.
//
// Conventions of every kernel: matrices are column-major with an explicit leading dimension (a
// batch of mb targets over n rows is mb x n: target j of row i at j + i*ld, which is a row-major
// host matrix as it lies in memory); every scalar parameter is 8 bytes (long long or double);
// reductions accumulate in double.
package kernels
