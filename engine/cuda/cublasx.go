//go:build cuda

package cuda

// #cgo LDFLAGS: -lcublas
// #include <cublas_v2.h>
// #include <cuda.h>
import "C"

import (
	"fmt"
	"reflect"
	"unsafe"

	"gorgonia.org/cu"
	cublas "gorgonia.org/cu/blas"
)

// gorgonia.org/cu/blas has no stream or math-mode setter, and keeps its handle unexported as
// the first field of Standard; cuHandle reads it (checked against the v0.9.6 layout at start-up).
func cublasHandle(impl *cublas.Standard) (C.cublasHandle_t, error) {
	f, ok := reflect.TypeOf(cublas.Standard{}).FieldByName("h")
	if !ok || f.Offset != 0 || f.Type.Size() != unsafe.Sizeof(C.cublasHandle_t(nil)) {
		return nil, fmt.Errorf("cuda engine: gorgonia.org/cu/blas.Standard layout changed (handle not the first field)")
	}
	return *(*C.cublasHandle_t)(unsafe.Pointer(impl)), nil
}

// rawStream is the CUstream inside a cu.Stream (a struct of one pointer).
func rawStream(s cu.Stream) unsafe.Pointer {
	if unsafe.Sizeof(s) != unsafe.Sizeof(unsafe.Pointer(nil)) {
		panic("cuda: cu.Stream is not one pointer")
	}
	return *(*unsafe.Pointer)(unsafe.Pointer(&s))
}

// cublasSetup binds impl's handle to stream and sets its math mode: TF32 tensor cores when tf32
// (single-precision products rounded to TF32 inputs), else the default (IEEE float32/float64).
func cublasSetup(impl *cublas.Standard, stream cu.Stream, tf32 bool) error {
	if impl == nil {
		return fmt.Errorf("cuda engine: no cuBLAS handle (an earlier error's could not be made again)")
	}
	h, err := cublasHandle(impl)
	if err != nil {
		return err
	}
	if h == nil {
		return fmt.Errorf("cuda engine: cuBLAS handle is not initialised")
	}
	if st := C.cublasSetStream(h, C.cudaStream_t(rawStream(stream))); st != C.CUBLAS_STATUS_SUCCESS {
		return fmt.Errorf("cuda engine: cublasSetStream: %v", cublas.Status(st))
	}
	mode := C.cublasMath_t(C.CUBLAS_DEFAULT_MATH)
	if tf32 {
		mode = C.CUBLAS_TF32_TENSOR_OP_MATH
	}
	if st := C.cublasSetMathMode(h, mode); st != C.CUBLAS_STATUS_SUCCESS {
		return fmt.Errorf("cuda engine: cublasSetMathMode: %v", cublas.Status(st))
	}
	return nil
}

// blasHandle is a cuBLAS handle of the engine's own, bound to one stream, for the float64
// products of the decomposition stream (gorgonia.org/cu/blas allows one handle per Standard,
// bound to the compute stream).
type blasHandle struct{ h C.cublasHandle_t }

func newBLASHandle(stream cu.Stream) (*blasHandle, error) {
	var h C.cublasHandle_t
	if st := C.cublasCreate(&h); st != C.CUBLAS_STATUS_SUCCESS {
		return nil, fmt.Errorf("cuda engine: cublasCreate: %v", cublas.Status(st))
	}
	if st := C.cublasSetStream(h, C.cudaStream_t(rawStream(stream))); st != C.CUBLAS_STATUS_SUCCESS {
		C.cublasDestroy(h)
		return nil, fmt.Errorf("cuda engine: cublasSetStream: %v", cublas.Status(st))
	}
	return &blasHandle{h}, nil
}

func (b *blasHandle) close() {
	if b != nil && b.h != nil {
		C.cublasDestroy(b.h)
		b.h = nil
	}
}

// dgemm is cublasDgemm: column-major C (m x n, ldc) = alpha op(A) op(B) + beta C. The caller
// (device.gemmScaled) has checked the dimensions and pointers.
func (b *blasHandle) dgemm(tA, tB bool, m, n, k int, alpha float64, a cu.DevicePtr, lda int, bm cu.DevicePtr, ldb int, beta float64, c cu.DevicePtr, ldc int) error {
	op := func(t bool) C.cublasOperation_t {
		if t {
			return C.CUBLAS_OP_T
		}
		return C.CUBLAS_OP_N
	}
	al, be := C.double(alpha), C.double(beta)
	st := C.cublasDgemm(b.h, op(tA), op(tB), C.int(m), C.int(n), C.int(k), &al,
		(*C.double)(devPtr(a)), C.int(lda), (*C.double)(devPtr(bm)), C.int(ldb), &be,
		(*C.double)(devPtr(c)), C.int(ldc))
	switch {
	case st == C.CUBLAS_STATUS_SUCCESS:
		return nil
	case st == C.CUBLAS_STATUS_ALLOC_FAILED:
		return fmt.Errorf("%w: cuBLAS Dgemm %d x %d x %d: %v", errDeviceOOM, m, n, k, cublas.Status(st))
	}
	return fmt.Errorf("cuda engine: cuBLAS Dgemm %d x %d x %d: %v", m, n, k, cublas.Status(st))
}
