// Scalings, conversions and fills.
#include "common.cuh"

// scale_cols: out[i + c*ldo] = a[i + c*lda] * f[c] for i < rows, c < cols (out may be a).
template <typename T>
__device__ void scale_cols(const T* a, long long lda, long long rows, long long cols, const double* f, T* out,
                           long long ldo) {
    long long total = rows * cols;
    GRID_STRIDE(k, total) {
        long long i = k % rows, c = k / rows;
        out[i + c * ldo] = (T)((double)a[i + c * lda] * f[c]);
    }
}
extern "C" __global__ void scale_cols_f32(const float* a, long long lda, long long rows, long long cols,
                                          const double* f, float* out, long long ldo) {
    scale_cols<float>(a, lda, rows, cols, f, out, ldo);
}
extern "C" __global__ void scale_cols_f64(const double* a, long long lda, long long rows, long long cols,
                                          const double* f, double* out, long long ldo) {
    scale_cols<double>(a, lda, rows, cols, f, out, ldo);
}

// tf32_nearest rounds a finite float to TF32's 10 explicit mantissa bits, to nearest, ties to
// even (the low 13 bits of the result are zero).
__device__ float tf32_nearest(float v) {
    unsigned u = __float_as_uint(v);
    u = (u + 0x0fffu + ((u >> 13) & 1u)) & 0xffffe000u;
    return __uint_as_float(u);
}

// scale_cols_tf32: scale_cols for a TF32 product's operand, rounded to TF32 to nearest here, so
// that the tensor cores take it as it is. Tensor cores fed raw float32 may truncate instead
// (whether cuBLAS rounds first is not documented), and truncation's bias, always toward zero,
// adds up over a product where rounding's errors cancel: on the simulator it moved the penalty
// of 2% of targets and |r| by 0.06, rounded 0.002.
extern "C" __global__ void scale_cols_tf32(const float* a, long long lda, long long rows, long long cols,
                                           const double* f, float* out, long long ldo) {
    long long total = rows * cols;
    GRID_STRIDE(k, total) {
        long long i = k % rows, c = k / rows;
        out[i + c * ldo] = tf32_nearest((float)((double)a[i + c * lda] * f[c]));
    }
}

// scale_refit: per-target penalty scaling of Z for the refit. z is mb x r (target j of
// direction c at z[j + c*ldz]); out[j + c*ldo] = z[j + c*ldz] * g[c + idx[j]*r], where g holds
// s/(s^2+alpha) for each penalty of the grid (r x na) and idx[j] is target j's chosen penalty.
template <typename T>
__device__ void scale_refit(const T* z, long long ldz, long long mb, long long r, const double* g, const int* idx,
                            T* out, long long ldo) {
    long long total = mb * r;
    GRID_STRIDE(k, total) {
        long long j = k % mb, c = k / mb;
        out[j + c * ldo] = (T)((double)z[j + c * ldz] * g[c + (long long)idx[j] * r]);
    }
}
extern "C" __global__ void scale_refit_f32(const float* z, long long ldz, long long mb, long long r, const double* g,
                                           const int* idx, float* out, long long ldo) {
    scale_refit<float>(z, ldz, mb, r, g, idx, out, ldo);
}
extern "C" __global__ void scale_refit_f64(const double* z, long long ldz, long long mb, long long r,
                                           const double* g, const int* idx, double* out, long long ldo) {
    scale_refit<double>(z, ldz, mb, r, g, idx, out, ldo);
}

// square_f64: out[k] = a[k]^2 (leverage factors U squared).
extern "C" __global__ void square_f64(const double* a, long long n, double* out) {
    GRID_STRIDE(k, n) { out[k] = a[k] * a[k]; }
}

// convert_f64_f32: out[k] = (float)a[k].
extern "C" __global__ void convert_f64_f32(const double* a, long long n, float* out) {
    GRID_STRIDE(k, n) { out[k] = (float)a[k]; }
}

// fill_f64: out[k] = v (running minima start at +Inf).
extern "C" __global__ void fill_f64(double* out, long long n, double v) {
    GRID_STRIDE(k, n) { out[k] = v; }
}

// split_tf32: a = hi + lo exactly, for products on TF32 tensor cores at float32's accuracy
// ("3xTF32": a b ~ hi hi' + hi lo' + lo hi', dropping lo lo', about 2^-22 relative). hi is a
// rounded to TF32's 10 explicit mantissa bits (to nearest, ties to even), so the tensor cores
// take it as it is whatever their own rounding; lo = a - hi is exact in float32 and at most
// 2^-11 |a|, so their rounding of lo costs about 2^-22 |a|. All three are rows x cols with their
// own leading dimensions; hi may be a (in place). a must be finite.
extern "C" __global__ void split_tf32(const float* a, long long lda, long long rows, long long cols, float* hi,
                                      long long ldh, float* lo, long long ldl) {
    long long total = rows * cols;
    GRID_STRIDE(k, total) {
        long long i = k % rows, c = k / rows;
        float v = a[i + c * lda];
        float h = tf32_nearest(v);
        hi[i + c * ldh] = h;
        lo[i + c * ldl] = v - h;
    }
}

// join_f32: a += b (rows x cols; undoes split_tf32 exactly: hi + lo is a again).
extern "C" __global__ void join_f32(float* a, long long lda, long long rows, long long cols, const float* b,
                                    long long ldb) {
    long long total = rows * cols;
    GRID_STRIDE(k, total) {
        long long i = k % rows, c = k / rows;
        a[i + c * lda] += b[i + c * ldb];
    }
}
