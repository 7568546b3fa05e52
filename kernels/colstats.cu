// Column statistics over a subset of rows, and the gather that centres a block of rows.
#include "common.cuh"

// col_stats: for each of the mb columns of a (element (j, i) at a[j + rows[i]*lda], or
// a[j + i*lda] when rows is null), the mean over the nrows rows (mean[j]), whether the column is
// exactly constant on those rows (constant[j], when not null) and, when ss is not null, the
// centred sum of squares sum_i (a - mean)^2 (ss[j]). Two passes, double accumulation.
template <typename T>
__device__ void col_stats(const T* a, long long lda, const int* rows, long long nrows, long long mb,
                          double* mean, int* constant, double* ss) {
    GRID_STRIDE(j, mb) {
        double s = 0;
        int same = 1;
        T first = nrows > 0 ? a[j + (rows ? (long long)rows[0] : 0) * lda] : (T)0;
        for (long long i = 0; i < nrows; i++) {
            long long r = rows ? rows[i] : i;
            T v = a[j + r * lda];
            s += (double)v;
            same = same && v == first;
        }
        double mu = nrows > 0 ? s / (double)nrows : 0.0;
        mean[j] = mu;
        if (constant) constant[j] = same;
        if (ss) {
            double q = 0;
            for (long long i = 0; i < nrows; i++) {
                long long r = rows ? rows[i] : i;
                double d = (double)a[j + r * lda] - mu;
                q += d * d;
            }
            ss[j] = q;
        }
    }
}

extern "C" __global__ void col_stats_f32(const float* a, long long lda, const int* rows, long long nrows,
                                         long long mb, double* mean, int* constant, double* ss) {
    col_stats<float>(a, lda, rows, nrows, mb, mean, constant, ss);
}
extern "C" __global__ void col_stats_f64(const double* a, long long lda, const int* rows, long long nrows,
                                         long long mb, double* mean, int* constant, double* ss) {
    col_stats<double>(a, lda, rows, nrows, mb, mean, constant, ss);
}

// col_scale: the factor that standardises each of the mb columns whose nrows values have mean
// mean[j] and centred sum of squares ss[j] (col_stats): 1/sqrt(ss/nrows), or 1 for a column
// whose variance is within the two-pass algorithm's rounding error, var <= n eps var +
// (n eps mean)^2, which scikit-learn's StandardScaler takes for constant (engine.StandardScale).
extern "C" __global__ void col_scale(const double* mean, const double* ss, long long nrows, long long mb,
                                     double* scale) {
    const double eps = 2.220446049250313e-16;  // float64's machine epsilon, 2^-52
    GRID_STRIDE(j, mb) {
        double n = (double)nrows;
        double v = ss[j] / n;
        double b = n * mean[j] * eps;
        scale[j] = v > n * eps * v + b * b ? 1.0 / sqrt(v) : 1.0;
    }
}

// gather_center: out[j + i*ldo] = (a[j + rows[i]*lda] - mean[j]) * scale[j] for j < mb,
// i < nrows (mean may be null: no centring; scale may be null: no scaling; rows may be null:
// rows 0..nrows-1), converting the element type; a column with zero[j] set (zero may be null) is
// written as exact zeros (a constant target).
template <typename Tin, typename Tout>
__device__ void gather_center(const Tin* a, long long lda, const int* rows, long long nrows, long long mb,
                              const double* mean, const int* zero, Tout* out, long long ldo,
                              const double* scale) {
    long long total = nrows * mb;
    GRID_STRIDE(k, total) {
        long long j = k % mb, i = k / mb;
        long long r = rows ? rows[i] : i;
        double v = (double)a[j + r * lda];
        if (mean) v -= mean[j];
        if (scale) v *= scale[j];
        if (zero && zero[j]) v = 0;
        out[j + i * ldo] = (Tout)v;
    }
}

extern "C" __global__ void gather_center_f32_f32(const float* a, long long lda, const int* rows, long long nrows,
                                                 long long mb, const double* mean, const int* zero, float* out, long long ldo,
                                                 const double* scale) {
    gather_center<float, float>(a, lda, rows, nrows, mb, mean, zero, out, ldo, scale);
}
extern "C" __global__ void gather_center_f64_f64(const double* a, long long lda, const int* rows, long long nrows,
                                                 long long mb, const double* mean, const int* zero, double* out, long long ldo,
                                                 const double* scale) {
    gather_center<double, double>(a, lda, rows, nrows, mb, mean, zero, out, ldo, scale);
}
extern "C" __global__ void gather_center_f64_f32(const double* a, long long lda, const int* rows, long long nrows,
                                                 long long mb, const double* mean, const int* zero, float* out, long long ldo,
                                                 const double* scale) {
    gather_center<double, float>(a, lda, rows, nrows, mb, mean, zero, out, ldo, scale);
}
extern "C" __global__ void gather_center_f32_f64(const float* a, long long lda, const int* rows, long long nrows,
                                                 long long mb, const double* mean, const int* zero, double* out, long long ldo,
                                                 const double* scale) {
    gather_center<float, double>(a, lda, rows, nrows, mb, mean, zero, out, ldo, scale);
}
