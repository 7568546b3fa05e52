// Leave-one-out selection: leverage weights, and the fused LOO error with a running argmin.
#include "common.cuh"

// loo_weights: for every penalty a < na and training row i < n, the leave-one-out weight
// w[i + a*n] = 1/(1 - h_i(a)), with the leverage h_i(a) = base + sum_k u2[i + k*ldu] f[k + a*r]
// (u2 = U squared, n x r column-major; f = s^2/(s^2+alpha), r x na; base = 1/n with an intercept).
extern "C" __global__ void loo_weights(const double* u2, long long ldu, long long n, long long r,
                                       const double* f, long long na, double base, double* w) {
    long long total = n * na;
    GRID_STRIDE(k, total) {
        long long i = k % n, a = k / n;
        const double* fa = f + a * r;
        double h = base;
        for (long long c = 0; c < r; c++) {
            h += u2[i + c * ldu] * fa[c];
        }
        w[k] = 1.0 / (1.0 - h);
    }
}

// loo_update: for each target j < mb, the leave-one-out error at penalty index aidx,
//   err = mean_i ((yc[j + i*ldy] - yh[j + i*ldh]) * w[i])^2   (i < n),
// stored in err_out[j] when err_out is not null, and the running argmin: when err < best[j]
// (strict, so the first penalty in grid order wins ties) best[j] = err and best_idx[j] = aidx.
template <typename T>
__device__ void loo_update(const T* yc, long long ldy, const T* yh, long long ldh, const double* w, long long n,
                           long long mb, long long aidx, double* err_out, double* best, int* best_idx) {
    GRID_STRIDE(j, mb) {
        double s = 0;
        for (long long i = 0; i < n; i++) {
            double e = ((double)yc[j + i * ldy] - (double)yh[j + i * ldh]) * w[i];
            s += e * e;
        }
        s /= (double)n;
        if (err_out) err_out[j] = s;
        if (s < best[j]) {
            best[j] = s;
            best_idx[j] = (int)aidx;
        }
    }
}

extern "C" __global__ void loo_update_f32(const float* yc, long long ldy, const float* yh, long long ldh,
                                          const double* w, long long n, long long mb, long long aidx,
                                          double* err_out, double* best, int* best_idx) {
    loo_update<float>(yc, ldy, yh, ldh, w, n, mb, aidx, err_out, best, best_idx);
}
extern "C" __global__ void loo_update_f64(const double* yc, long long ldy, const double* yh, long long ldh,
                                          const double* w, long long n, long long mb, long long aidx,
                                          double* err_out, double* best, int* best_idx) {
    loo_update<double>(yc, ldy, yh, ldh, w, n, mb, aidx, err_out, best, best_idx);
}
