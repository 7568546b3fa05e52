//go:build cuda

package cuda

// #cgo LDFLAGS: -lcuda
// #include <cuda.h>
//
// // launch1d launches f over grid blocks of block threads on stream s with n 8-byte arguments,
// // their values in vals (the driver copies them at the call). The array of their addresses
// // that cuLaunchKernel wants is built here, in C.
// static CUresult launch1d(CUfunction f, unsigned grid, unsigned block, CUstream s,
//                          unsigned long long* vals, int n) {
//     void* args[32];
//     if (n < 0 || n > 32) return CUDA_ERROR_INVALID_VALUE;
//     for (int i = 0; i < n; i++) args[i] = &vals[i];
//     return cuLaunchKernel(f, grid, 1, 1, block, 1, 1, 0, s, args, 0);
// }
import "C"

import (
	"unsafe"

	"gorgonia.org/cu"
)

// Why not gorgonia.org/cu's Function.Launch: it builds that array in C.malloc'd memory with Go
// stores of unsafe.Pointer values, each behind a write barrier that, while the collector marks,
// takes the word it overwrites for a pointer: the stale contents of reused C memory, now and then
// an address in Go's heap, which the collector then marks (a freed object: "found pointer to free
// object") or rejects ("found bad pointer in Go heap"). Caught under the race detector on cudasim
// (docs/cuda.md); a GPU run meets it the same way, given such garbage.

// launchKernel runs kernel fn over grid blocks of block threads on stream s, with vals as its
// arguments (each 8 bytes, kernels/common.cuh's convention). An error is gorgonia.org/cu's, as
// Function.Launch returned (errors.Is(err, cu.OutOfMemory) holds for an out-of-memory launch).
func launchKernel(fn cu.Function, grid, block int, s cu.Stream, vals []uint64) error {
	var p *C.ulonglong
	if len(vals) > 0 {
		p = (*C.ulonglong)(unsafe.Pointer(&vals[0]))
	}
	st := C.launch1d(rawFunction(fn), C.uint(grid), C.uint(block), C.CUstream(rawStream(s)), p, C.int(len(vals)))
	if st == C.CUDA_SUCCESS {
		return nil
	}
	err := cu.OutOfMemory // gorgonia.org/cu's error type (an int), given the launch's code
	*(*int)(unsafe.Pointer(&err)) = int(st)
	return err
}

// rawFunction is the CUfunction inside a cu.Function (a struct of one pointer).
func rawFunction(fn cu.Function) C.CUfunction {
	if unsafe.Sizeof(fn) != unsafe.Sizeof(unsafe.Pointer(nil)) {
		panic("cuda: cu.Function is not one pointer")
	}
	return *(*C.CUfunction)(unsafe.Pointer(&fn))
}
