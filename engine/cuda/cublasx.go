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
