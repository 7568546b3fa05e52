// cudasim's libcusolver.so.11: cusolverDn handles, streams and the symmetric eigendecompositions
// the cuda engine uses (cusolverDnDsyevd, cusolverDnSsyevd and their workspace queries), with
// cuSOLVER's contract (LAPACK's: eigenvalues ascending into W, eigenvectors overwriting A's
// columns, devInfo in device memory), computed by LAPACKE's dsyevd/ssyevd.
//
// The workspace is LAPACK's dsyevd size, which the solve requires (as cuSOLVER requires the size
// its query returned); A, W, the workspace and devInfo must be device memory, and the calling
// thread must have a current context. The solve runs in its stream's order (driver.cc).
#include <cusolverDn.h>
#include <lapacke.h>
#include <stdio.h>

#include <algorithm>
#include <set>
#include <vector>

#include "sim.h"

struct cusolverDnContext {
    cudaStream_t stream;
};

namespace {

std::set<cusolverDnContext*> handles;

bool live(cusolverDnHandle_t h) { return h != nullptr && handles.count(h) > 0; }

// injected returns the status of an injected fault of call (sim.h), or success.
cusolverStatus_t injected(const char* call) {
    switch (cudasim_inject(call)) {
        case 1: return CUSOLVER_STATUS_EXECUTION_FAILED;
        case 2: return CUSOLVER_STATUS_ALLOC_FAILED;
    }
    return CUSOLVER_STATUS_SUCCESS;
}

#define INJECT(call)                                              \
    do {                                                          \
        cusolverStatus_t st_ = injected(call);                    \
        if (st_ != CUSOLVER_STATUS_SUCCESS) return st_;           \
    } while (0)

int workSize(int n, cusolverEigMode_t jobz) {
    if (n <= 1) return 1;
    return jobz == CUSOLVER_EIG_MODE_VECTOR ? 1 + 6 * n + 2 * n * n : 2 * n + 1;
}

template <typename T>
cusolverStatus_t checkArgs(const char* call, cusolverDnHandle_t h, cusolverEigMode_t jobz, cublasFillMode_t uplo,
                           int n, const T* a, int lda, const T* w) {
    if (!live(h)) return CUSOLVER_STATUS_NOT_INITIALIZED;
    if (!cudasim_has_context()) {
        cudasim_fail(call, "no current context on the calling thread");
        return CUSOLVER_STATUS_EXECUTION_FAILED;
    }
    INJECT(call);
    if ((jobz != CUSOLVER_EIG_MODE_VECTOR && jobz != CUSOLVER_EIG_MODE_NOVECTOR) ||
        (uplo != CUBLAS_FILL_MODE_LOWER && uplo != CUBLAS_FILL_MODE_UPPER) || n < 0 || lda < (n > 1 ? n : 1)) {
        return CUSOLVER_STATUS_INVALID_VALUE;
    }
    if (n > 0 && (!cudasim_device_range((uintptr_t)a, ((size_t)(n - 1) * lda + n) * sizeof(T)) ||
                  !cudasim_device_range((uintptr_t)w, (size_t)n * sizeof(T)))) {
        cudasim_fail(call, "A or W is not device memory of the right size");
        return CUSOLVER_STATUS_EXECUTION_FAILED;
    }
    return CUSOLVER_STATUS_SUCCESS;
}

template <typename T>
cusolverStatus_t bufferSize(const char* call, cusolverDnHandle_t h, cusolverEigMode_t jobz, cublasFillMode_t uplo,
                            int n, const T* a, int lda, const T* w, int* lwork) {
    cusolverStatus_t st = checkArgs(call, h, jobz, uplo, n, a, lda, w);
    if (st == CUSOLVER_STATUS_SUCCESS) {
        if (!lwork) return CUSOLVER_STATUS_INVALID_VALUE;
        *lwork = workSize(n, jobz);
    }
    return st;
}

template <typename T, typename F>
cusolverStatus_t syevd(const char* call, cusolverDnHandle_t h, cusolverEigMode_t jobz, cublasFillMode_t uplo, int n,
                       T* a, int lda, T* w, T* work, int lwork, int* info, F lapack) {
    cusolverStatus_t st = checkArgs(call, h, jobz, uplo, n, a, lda, w);
    if (st != CUSOLVER_STATUS_SUCCESS) return st;
    if (lwork < workSize(n, jobz)) return CUSOLVER_STATUS_INVALID_VALUE;
    if (!cudasim_device_range((uintptr_t)work, (size_t)lwork * sizeof(T)) ||
        !cudasim_device_range((uintptr_t)info, sizeof(int))) {
        cudasim_fail(call, "the workspace or devInfo is not device memory of the right size");
        return CUSOLVER_STATUS_EXECUTION_FAILED;
    }
    char jz = jobz == CUSOLVER_EIG_MODE_VECTOR ? 'V' : 'N', ul = uplo == CUBLAS_FILL_MODE_LOWER ? 'L' : 'U';
    cudasim_later(h->stream, [=] {
        if (n == 0) {
            *info = 0;
            return;
        }
        // LAPACK solves copies of A and W with room past their ends: OpenBLAS's kernels may read
        // a few elements beyond the arrays they are given (its generic "Prescott" kernels, which
        // it picks on CPUs it does not know, do in ssyevd), which the guard page after every
        // device buffer would turn into a crash that is no fault of the engine's.
        const size_t extent = (size_t)(n - 1) * lda + n, pad = 256;
        std::vector<T> ca(a, a + extent), cw((size_t)n + pad);
        ca.resize(extent + pad);
        *info = lapack(LAPACK_COL_MAJOR, jz, ul, n, ca.data(), lda, cw.data());
        for (int j = 0; j < n; j++) std::copy(ca.begin() + (size_t)j * lda, ca.begin() + (size_t)j * lda + n, a + (size_t)j * lda);
        std::copy(cw.begin(), cw.begin() + n, w);
    });
    return CUSOLVER_STATUS_SUCCESS;
}

}  // namespace

extern "C" {

cusolverStatus_t cusolverDnCreate(cusolverDnHandle_t* h) {
    if (!h) return CUSOLVER_STATUS_INVALID_VALUE;
    if (!cudasim_has_context()) return CUSOLVER_STATUS_NOT_INITIALIZED;
    INJECT("cusolverDnCreate");
    cusolverDnContext* c = new cusolverDnContext{nullptr};
    handles.insert(c);
    cudasim_track(1, 1);
    *h = c;
    return CUSOLVER_STATUS_SUCCESS;
}

cusolverStatus_t cusolverDnDestroy(cusolverDnHandle_t h) {
    if (!live(h)) return CUSOLVER_STATUS_NOT_INITIALIZED;
    handles.erase(h);
    cudasim_track(1, -1);
    delete h;
    return CUSOLVER_STATUS_SUCCESS;
}

cusolverStatus_t cusolverDnSetStream(cusolverDnHandle_t h, cudaStream_t s) {
    if (!live(h)) return CUSOLVER_STATUS_NOT_INITIALIZED;
    INJECT("cusolverDnSetStream");
    if (!cudasim_valid_stream(s)) return CUSOLVER_STATUS_INVALID_VALUE;
    h->stream = s;
    return CUSOLVER_STATUS_SUCCESS;
}

cusolverStatus_t cusolverDnDsyevd_bufferSize(cusolverDnHandle_t h, cusolverEigMode_t jobz, cublasFillMode_t uplo,
                                             int n, const double* a, int lda, const double* w, int* lwork) {
    return bufferSize("cusolverDnDsyevd_bufferSize", h, jobz, uplo, n, a, lda, w, lwork);
}

cusolverStatus_t cusolverDnSsyevd_bufferSize(cusolverDnHandle_t h, cusolverEigMode_t jobz, cublasFillMode_t uplo,
                                             int n, const float* a, int lda, const float* w, int* lwork) {
    return bufferSize("cusolverDnSsyevd_bufferSize", h, jobz, uplo, n, a, lda, w, lwork);
}

cusolverStatus_t cusolverDnDsyevd(cusolverDnHandle_t h, cusolverEigMode_t jobz, cublasFillMode_t uplo, int n,
                                  double* a, int lda, double* w, double* work, int lwork, int* info) {
    return syevd("cusolverDnDsyevd", h, jobz, uplo, n, a, lda, w, work, lwork, info, LAPACKE_dsyevd);
}

cusolverStatus_t cusolverDnSsyevd(cusolverDnHandle_t h, cusolverEigMode_t jobz, cublasFillMode_t uplo, int n,
                                  float* a, int lda, float* w, float* work, int lwork, int* info) {
    return syevd("cusolverDnSsyevd", h, jobz, uplo, n, a, lda, w, work, lwork, info, LAPACKE_ssyevd);
}

}  // extern "C"
