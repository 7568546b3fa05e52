// cudasim's libcublas.so.11: handles, streams, math modes and the two products the cuda engine
// uses (cublasSgemm, cublasDgemm), column-major as cuBLAS defines them, computed by OpenBLAS.
//
// Every matrix must lie inside device memory for its whole extent (lda, rows and columns), the
// scalars in host memory (the default pointer mode), and the calling thread must have a current
// context. The product runs in its stream's order (driver.cc). In CUBLAS_TF32_TENSOR_OP_MATH
// mode single-precision inputs are first cut to TF32's 10 explicit mantissa bits and the sums stay
// in float32. How cuBLAS's kernels convert is not documented (rounding to nearest, or dropping
// the low 13 bits as tensor cores fed raw float32 registers do), so CUDASIM_TF32 chooses:
// `truncate` (the default: the larger, biased error) or `nearest` (ties to even).
#include <cblas.h>
#include <cublas_v2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <set>
#include <vector>

#include "sim.h"

struct cublasContext {
    cudaStream_t stream;
    cublasMath_t math;
};

namespace {

std::set<cublasContext*> handles;

bool live(cublasHandle_t h) { return h != nullptr && handles.count(h) > 0; }

// injected returns the status of an injected fault of call (sim.h), or success.
cublasStatus_t injected(const char* call) {
    switch (cudasim_inject(call)) {
        case 1: return CUBLAS_STATUS_EXECUTION_FAILED;
        case 2: return CUBLAS_STATUS_ALLOC_FAILED;
    }
    return CUBLAS_STATUS_SUCCESS;
}

#define INJECT(call)                                              \
    do {                                                          \
        cublasStatus_t st_ = injected(call);                      \
        if (st_ != CUBLAS_STATUS_SUCCESS) return st_;             \
    } while (0)

// extent: the elements a column-major rows x cols matrix with leading dimension ld spans.
size_t extent(int rows, int cols, int ld) {
    if (rows == 0 || cols == 0) return 0;
    return (size_t)(cols - 1) * (size_t)ld + (size_t)rows;
}

// tf32Nearest is CUDASIM_TF32=nearest, read once.
bool tf32Nearest() {
    static const bool nearest = [] {
        const char* v = getenv("CUDASIM_TF32");
        if (v == nullptr || strcmp(v, "") == 0 || strcmp(v, "truncate") == 0) return false;
        if (strcmp(v, "nearest") == 0) return true;
        fprintf(stderr, "cudasim: CUDASIM_TF32=%s: want truncate or nearest\n", v);
        abort();
    }();
    return nearest;
}

float tf32(float v) {
    unsigned u;
    memcpy(&u, &v, 4);
    if (tf32Nearest() && (u & 0x7f800000u) != 0x7f800000u) u += 0x0fffu + ((u >> 13) & 1u);
    u &= 0xffffe000u;
    memcpy(&v, &u, 4);
    return v;
}

CBLAS_TRANSPOSE op(cublasOperation_t t) { return t == CUBLAS_OP_N ? CblasNoTrans : CblasTrans; }


template <typename T>
cublasStatus_t check(const char* call, cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n,
                     int k, const T* alpha, const T* a, int lda, const T* b, int ldb, const T* beta, T* c, int ldc) {
    if (!live(h)) return CUBLAS_STATUS_NOT_INITIALIZED;
    if (!cudasim_has_context()) {
        cudasim_fail(call, "no current context on the calling thread");
        return CUBLAS_STATUS_EXECUTION_FAILED;
    }
    INJECT(call);
    bool na = ta == CUBLAS_OP_N, nb = tb == CUBLAS_OP_N;
    if ((ta != CUBLAS_OP_N && ta != CUBLAS_OP_T) || (tb != CUBLAS_OP_N && tb != CUBLAS_OP_T) || m < 0 || n < 0 ||
        k < 0 || lda < (na ? (m > 1 ? m : 1) : (k > 1 ? k : 1)) || ldb < (nb ? (k > 1 ? k : 1) : (n > 1 ? n : 1)) ||
        ldc < (m > 1 ? m : 1)) {
        return CUBLAS_STATUS_INVALID_VALUE;
    }
    if (!alpha || !beta || cudasim_device_range((uintptr_t)alpha, sizeof(T)) ||
        cudasim_device_range((uintptr_t)beta, sizeof(T))) {
        cudasim_fail(call, "alpha and beta must be host pointers (CUBLAS_POINTER_MODE_HOST)");
        return CUBLAS_STATUS_INVALID_VALUE;
    }
    if (m == 0 || n == 0) return CUBLAS_STATUS_SUCCESS;
    size_t ea = na ? extent(m, k, lda) : extent(k, m, lda);
    size_t eb = nb ? extent(k, n, ldb) : extent(n, k, ldb);
    struct {
        const char* name;
        const void* p;
        size_t bytes;
    } ms[] = {{"A", a, ea * sizeof(T)}, {"B", b, eb * sizeof(T)}, {"C", c, extent(m, n, ldc) * sizeof(T)}};
    for (auto& x : ms) {
        if (x.bytes > 0 && !cudasim_device_range((uintptr_t)x.p, x.bytes)) {
            char why[128];
            snprintf(why, sizeof why, "%s at %p does not span %zu bytes of device memory", x.name, x.p, x.bytes);
            cudasim_fail(call, why);
            return CUBLAS_STATUS_EXECUTION_FAILED;
        }
    }
    return CUBLAS_STATUS_SUCCESS;
}

}  // namespace

extern "C" {

cublasStatus_t cublasCreate_v2(cublasHandle_t* h) {
    if (!h) return CUBLAS_STATUS_INVALID_VALUE;
    if (!cudasim_has_context()) return CUBLAS_STATUS_NOT_INITIALIZED;
    INJECT("cublasCreate");
    cublasContext* c = new cublasContext{nullptr, CUBLAS_DEFAULT_MATH};
    handles.insert(c);
    cudasim_track(0, 1);
    *h = c;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasDestroy_v2(cublasHandle_t h) {
    if (!live(h)) return CUBLAS_STATUS_NOT_INITIALIZED;
    handles.erase(h);
    cudasim_track(0, -1);
    delete h;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetStream_v2(cublasHandle_t h, cudaStream_t s) {
    if (!live(h)) return CUBLAS_STATUS_NOT_INITIALIZED;
    INJECT("cublasSetStream");
    if (!cudasim_valid_stream(s)) return CUBLAS_STATUS_INVALID_VALUE;
    h->stream = s;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetMathMode(cublasHandle_t h, cublasMath_t mode) {
    if (!live(h)) return CUBLAS_STATUS_NOT_INITIALIZED;
    INJECT("cublasSetMathMode");
    if (mode != CUBLAS_DEFAULT_MATH && mode != CUBLAS_TF32_TENSOR_OP_MATH && mode != CUBLAS_PEDANTIC_MATH) {
        return CUBLAS_STATUS_INVALID_VALUE;
    }
    h->math = mode;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasGetMathMode(cublasHandle_t h, cublasMath_t* mode) {
    if (!live(h) || !mode) return CUBLAS_STATUS_INVALID_VALUE;
    INJECT("cublasGetMathMode");
    *mode = h->math;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSgemm_v2(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                              const float* alpha, const float* a, int lda, const float* b, int ldb,
                              const float* beta, float* c, int ldc) {
    cublasStatus_t st = check("cublasSgemm", h, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    if (st != CUBLAS_STATUS_SUCCESS || m == 0 || n == 0) return st;
    float al = *alpha, be = *beta;  // host scalars are read at the call
    bool round = h->math == CUBLAS_TF32_TENSOR_OP_MATH && k > 0;
    cudasim_later(h->stream, [=] {
        if (round) {
            std::vector<float> ra(a, a + (ta == CUBLAS_OP_N ? extent(m, k, lda) : extent(k, m, lda)));
            std::vector<float> rb(b, b + (tb == CUBLAS_OP_N ? extent(k, n, ldb) : extent(n, k, ldb)));
            for (float& v : ra) v = tf32(v);
            for (float& v : rb) v = tf32(v);
            cblas_sgemm(CblasColMajor, op(ta), op(tb), m, n, k, al, ra.data(), lda, rb.data(), ldb, be, c, ldc);
        } else {
            cblas_sgemm(CblasColMajor, op(ta), op(tb), m, n, k, al, a, lda, b, ldb, be, c, ldc);
        }
    });
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasDgemm_v2(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                              const double* alpha, const double* a, int lda, const double* b, int ldb,
                              const double* beta, double* c, int ldc) {
    cublasStatus_t st = check("cublasDgemm", h, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    if (st != CUBLAS_STATUS_SUCCESS || m == 0 || n == 0) return st;
    double al = *alpha, be = *beta;
    cudasim_later(h->stream, [=] { cblas_dgemm(CblasColMajor, op(ta), op(tb), m, n, k, al, a, lda, b, ldb, be, c, ldc); });
    return CUBLAS_STATUS_SUCCESS;
}

}  // extern "C"
