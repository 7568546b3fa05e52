// Shared helpers for brainalign's kernels. Conventions (see kernels.go):
//   - matrices are column-major with an explicit leading dimension, as cuBLAS wants them; a
//     "batch" matrix of targets is mb x n (target j of row i at j + i*ld), which is how a
//     row-major host matrix of n rows and mb columns lies in memory;
//   - every scalar kernel parameter is 8 bytes (long long or double): gorgonia.org/cu copies
//     each parameter as 8 bytes;
//   - accumulations are in double whatever the element type.
#pragma once

#define GRID_STRIDE(i, n) \
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (long long)blockDim.x * gridDim.x)
