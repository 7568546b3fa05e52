//go:build cuda

package cuda

// A small binding of cuSOLVER's dense symmetric eigensolver (divide and conquer), the only
// cuSOLVER functions the engine needs. Arguments are checked in Go before crossing into C;
// statuses and devInfo become Go errors here.

// #cgo LDFLAGS: -lcusolver
// #include <cusolverDn.h>
import "C"

import (
	"fmt"
	"unsafe"

	"gorgonia.org/cu"
)

// solver is a cuSOLVER dense handle bound to a stream.
type solver struct {
	h      C.cusolverDnHandle_t
	stream cu.Stream
}

// cusolverError is a cuSOLVER status.
type cusolverError struct {
	fn     string
	status int
}

func (e cusolverError) Error() string {
	names := map[int]string{
		1: "NOT_INITIALIZED", 2: "ALLOC_FAILED", 3: "INVALID_VALUE", 4: "ARCH_MISMATCH",
		5: "MAPPING_ERROR", 6: "EXECUTION_FAILED", 7: "INTERNAL_ERROR", 8: "MATRIX_TYPE_NOT_SUPPORTED",
		9: "NOT_SUPPORTED",
	}
	n, ok := names[e.status]
	if !ok {
		n = fmt.Sprintf("status %d", e.status)
	}
	return fmt.Sprintf("cuda engine: %s: CUSOLVER_STATUS_%s", e.fn, n)
}

func solverStatus(fn string, st C.cusolverStatus_t) error {
	if st == C.CUSOLVER_STATUS_SUCCESS {
		return nil
	}
	if st == C.CUSOLVER_STATUS_ALLOC_FAILED {
		return fmt.Errorf("%w: %v", errDeviceOOM, cusolverError{fn, int(st)})
	}
	return cusolverError{fn, int(st)}
}

// newSolver creates a handle on the current context, bound to stream.
func newSolver(stream cu.Stream) (*solver, error) {
	// the statuses as they are: out of memory here is no batch's to shrink (New fails)
	var h C.cusolverDnHandle_t
	if st := C.cusolverDnCreate(&h); st != C.CUSOLVER_STATUS_SUCCESS {
		return nil, cusolverError{"cusolverDnCreate", int(st)}
	}
	if st := C.cusolverDnSetStream(h, C.cudaStream_t(rawStream(stream))); st != C.CUSOLVER_STATUS_SUCCESS {
		C.cusolverDnDestroy(h)
		return nil, cusolverError{"cusolverDnSetStream", int(st)}
	}
	return &solver{h: h, stream: stream}, nil
}

func (s *solver) close() error {
	if s == nil || s.h == nil {
		return nil
	}
	err := solverStatus("cusolverDnDestroy", C.cusolverDnDestroy(s.h))
	s.h = nil
	return err
}

// devPtr converts a device address for C (device memory is not Go memory).
func devPtr(p cu.DevicePtr) unsafe.Pointer {
	u := uintptr(p)
	return *(*unsafe.Pointer)(unsafe.Pointer(&u))
}

// maxSyevd is the largest n whose syevd workspace (1 + 6n + 2n² elements) fits in an int32.
const maxSyevd = 32_765

func checkSyevd(n, lda int, a, w cu.DevicePtr) error {
	switch {
	case n < 1:
		return fmt.Errorf("cuda engine: syevd: n = %d < 1", n)
	case lda < n:
		return fmt.Errorf("cuda engine: syevd: lda = %d < n = %d", lda, n)
	case n > maxSyevd || lda > 1<<31-1:
		// the workspace, 1 + 6n + 2n² elements with eigenvectors, is counted in a 32-bit int
		return fmt.Errorf("cuda engine: syevd: a %d x %d matrix is past cuSOLVER's 32-bit workspace sizes (n <= %d)", n, n, maxSyevd)
	case a == 0 || w == 0:
		return fmt.Errorf("cuda engine: syevd: null device pointer")
	}
	return nil
}

// dsyevdWork returns the workspace size (in float64 elements) cusolverDnDsyevd needs for an
// n x n matrix with leading dimension lda.
func (s *solver) dsyevdWork(n, lda int, a, w cu.DevicePtr) (int, error) {
	if err := checkSyevd(n, lda, a, w); err != nil {
		return 0, err
	}
	var lwork C.int
	st := C.cusolverDnDsyevd_bufferSize(s.h, C.CUSOLVER_EIG_MODE_VECTOR, C.CUBLAS_FILL_MODE_LOWER, C.int(n),
		(*C.double)(devPtr(a)), C.int(lda), (*C.double)(devPtr(w)), &lwork)
	return workSize("cusolverDnDsyevd_bufferSize", st, int(lwork), n)
}

// ssyevdWork is dsyevdWork for float32 (float32 elements).
func (s *solver) ssyevdWork(n, lda int, a, w cu.DevicePtr) (int, error) {
	if err := checkSyevd(n, lda, a, w); err != nil {
		return 0, err
	}
	var lwork C.int
	st := C.cusolverDnSsyevd_bufferSize(s.h, C.CUSOLVER_EIG_MODE_VECTOR, C.CUBLAS_FILL_MODE_LOWER, C.int(n),
		(*C.float)(devPtr(a)), C.int(lda), (*C.float)(devPtr(w)), &lwork)
	return workSize("cusolverDnSsyevd_bufferSize", st, int(lwork), n)
}

// workSize checks a workspace query's status and size: a negative size is a 32-bit overflow,
// and at least one element is returned (the solve rejects lwork < 1; a tiny n may report 0).
func workSize(fn string, st C.cusolverStatus_t, lwork, n int) (int, error) {
	if err := solverStatus(fn, st); err != nil {
		return 0, err
	}
	if lwork < 0 {
		return 0, fmt.Errorf("cuda engine: %s: workspace size %d for n = %d (32-bit overflow)", fn, lwork, n)
	}
	return max(lwork, 1), nil
}

// syevdInfo reads devInfo after a solve (this synchronises with the solver's stream).
func (s *solver) syevdInfo(fn string, n int, info cu.DevicePtr) error {
	v := make([]int32, 1)
	if err := cu.MemcpyDtoHAsync(unsafe.Pointer(&v[0]), info, 4, s.stream); err != nil {
		return fmt.Errorf("cuda engine: %s: reading devInfo: %w", fn, err)
	}
	if err := s.stream.Synchronize(); err != nil {
		return fmt.Errorf("cuda engine: %s: waiting for it: %w", fn, err)
	}
	switch v := v[0]; {
	case v < 0:
		return fmt.Errorf("cuda engine: %s: parameter %d is invalid", fn, -v)
	case v > 0:
		return fmt.Errorf("cuda engine: %s: eigendecomposition of a %d x %d matrix did not converge (%d off-diagonal elements)", fn, n, n, v)
	}
	return nil
}

// dsyevd computes all eigenvalues (ascending, into w) and eigenvectors (overwriting the
// column-major n x n symmetric matrix a, one per column) in float64. work holds lwork float64
// elements (see dsyevdWork) and info one int32.
func (s *solver) dsyevd(n, lda int, a, w, work cu.DevicePtr, lwork int, info cu.DevicePtr) error {
	if err := s.dsyevdAsync(n, lda, a, w, work, lwork, info); err != nil {
		return err
	}
	return s.syevdInfo("cusolverDnDsyevd", n, info)
}

// dsyevdAsync queues dsyevd on the solver's stream without waiting for it: the caller reads
// devInfo with syevdInfo("cusolverDnDsyevd", n, info) once the stream is done.
func (s *solver) dsyevdAsync(n, lda int, a, w, work cu.DevicePtr, lwork int, info cu.DevicePtr) error {
	if err := checkSyevd(n, lda, a, w); err != nil {
		return err
	}
	if work == 0 || info == 0 || lwork < 1 || lwork > 1<<31-1 {
		return fmt.Errorf("cuda engine: dsyevd: bad workspace (lwork %d)", lwork)
	}
	st := C.cusolverDnDsyevd(s.h, C.CUSOLVER_EIG_MODE_VECTOR, C.CUBLAS_FILL_MODE_LOWER, C.int(n),
		(*C.double)(devPtr(a)), C.int(lda), (*C.double)(devPtr(w)), (*C.double)(devPtr(work)), C.int(lwork),
		(*C.int)(devPtr(info)))
	return solverStatus("cusolverDnDsyevd", st)
}

// ssyevd is dsyevd in float32.
func (s *solver) ssyevd(n, lda int, a, w, work cu.DevicePtr, lwork int, info cu.DevicePtr) error {
	if err := checkSyevd(n, lda, a, w); err != nil {
		return err
	}
	if work == 0 || info == 0 || lwork < 1 || lwork > 1<<31-1 {
		return fmt.Errorf("cuda engine: ssyevd: bad workspace (lwork %d)", lwork)
	}
	st := C.cusolverDnSsyevd(s.h, C.CUSOLVER_EIG_MODE_VECTOR, C.CUBLAS_FILL_MODE_LOWER, C.int(n),
		(*C.float)(devPtr(a)), C.int(lda), (*C.float)(devPtr(w)), (*C.float)(devPtr(work)), C.int(lwork),
		(*C.int)(devPtr(info)))
	if err := solverStatus("cusolverDnSsyevd", st); err != nil {
		return err
	}
	return s.syevdInfo("cusolverDnSsyevd", n, info)
}
