// Leave-one-out selection: leverage weights, and the fused LOO error with a running argmin.
#include "common.cuh"

// loo_weights: for every penalty a < na and training row i < n, the leave-one-out weight
// w[i + a*n] = 1/(1 - h_i(a)), with the leverage h_i(a) = base + sum_k u2[i + k*ldu] f[k + a*r]
// (u2 = U squared, n x r column-major; f = s^2/(s^2+alpha), r x na; base = 1/n with an intercept).
// With rest (not null: a complete decomposition, rest[i] the squared norm of row i of the
// complement of U), f holds f - 1 = -alpha/(s^2+alpha) and base is 0: w = 1/(rest[i] - h), 1 - h
// summed from positive terms rather than subtracted from 1 (near 0 at small penalties).
extern "C" __global__ void loo_weights(const double* u2, long long ldu, long long n, long long r,
                                       const double* f, long long na, double base, const double* rest,
                                       double* w) {
    long long total = n * na;
    GRID_STRIDE(k, total) {
        long long i = k % n, a = k / n;
        const double* fa = f + a * r;
        double h = base;
        for (long long c = 0; c < r; c++) {
            h += u2[i + c * ldu] * fa[c];
        }
        w[k] = rest ? 1.0 / (rest[i] - h) : 1.0 / (1.0 - h);
    }
}

// loo_update: for each target j < mb, the leave-one-out error at penalty index aidx,
//   err = (sum_i ((yc[j + i*ldy] - yh[j + i*ldh]) * w[i])^2 + extra[j]) / n   (i < n),
// extra (may be null) holding the errors of rows whose weight is 0 here (loo_hot),
// stored in err_out[j] when err_out is not null, and the running argmin: at the first penalty
// visited (first != 0) or when err < best[j], or err == best[j] and aidx < best_idx[j] (the first
// penalty in grid order wins ties, whatever order the penalties are visited in),
// best[j] = err and best_idx[j] = aidx.
template <typename T>
__device__ void loo_update(const T* yc, long long ldy, const T* yh, long long ldh, const double* w, long long n,
                           long long mb, long long aidx, long long first, double* err_out, double* best,
                           int* best_idx, const double* extra) {
    GRID_STRIDE(j, mb) {
        double s = 0;
        for (long long i = 0; i < n; i++) {
            double e = ((double)yc[j + i * ldy] - (double)yh[j + i * ldh]) * w[i];
            s += e * e;
        }
        if (extra) s += extra[j];
        s /= (double)n;
        if (err_out) err_out[j] = s;
        if (first || s < best[j] || (s == best[j] && aidx < best_idx[j])) {
            best[j] = s;
            best_idx[j] = (int)aidx;
        }
    }
}

extern "C" __global__ void loo_update_f32(const float* yc, long long ldy, const float* yh, long long ldh,
                                          const double* w, long long n, long long mb, long long aidx,
                                          long long first, double* err_out, double* best, int* best_idx,
                                          const double* extra) {
    loo_update<float>(yc, ldy, yh, ldh, w, n, mb, aidx, first, err_out, best, best_idx, extra);
}
extern "C" __global__ void loo_update_f64(const double* yc, long long ldy, const double* yh, long long ldh,
                                          const double* w, long long n, long long mb, long long aidx,
                                          long long first, double* err_out, double* best, int* best_idx,
                                          const double* extra) {
    loo_update<double>(yc, ldy, yh, ldh, w, n, mb, aidx, first, err_out, best, best_idx, extra);
}

// loo_hot: the leave-one-out errors, in double, of the nh training rows of leverage near 1 at one
// penalty ("hot" rows, whose float32 residual divided by 1 - h ~ 1e-8 would be rounding noise):
//   extra[j] = sum_h ((yc[j + rows[h]*ldy] - mean_j - sum_k H[k + h*ldh] yc[j + k*ldy]) * w[h])^2
// over the hot rows h (H's column h: row rows[h] of the hat matrix U diag(f) U^T, n values),
// mean_j = sum_k yc[j + k*ldy] / n when center != 0 (the intercept's fit).
template <typename T>
__device__ void loo_hot(const T* yc, long long ldy, long long n, long long mb, const double* H, long long ldh,
                        const int* rows, const double* w, long long nh, long long center, double* extra) {
    GRID_STRIDE(j, mb) {
        double mean = 0;
        if (center) {
            for (long long k = 0; k < n; k++) mean += (double)yc[j + k * ldy];
            mean /= (double)n;
        }
        double s = 0;
        for (long long h = 0; h < nh; h++) {
            const double* hc = H + h * ldh;
            double fit = 0;
            for (long long k = 0; k < n; k++) fit += hc[k] * (double)yc[j + k * ldy];
            double e = ((double)yc[j + (long long)rows[h] * ldy] - mean - fit) * w[h];
            s += e * e;
        }
        extra[j] = s;
    }
}

extern "C" __global__ void loo_hot_f32(const float* yc, long long ldy, long long n, long long mb, const double* H,
                                       long long ldh, const int* rows, const double* w, long long nh,
                                       long long center, double* extra) {
    loo_hot<float>(yc, ldy, n, mb, H, ldh, rows, w, nh, center, extra);
}
extern "C" __global__ void loo_hot_f64(const double* yc, long long ldy, long long n, long long mb, const double* H,
                                       long long ldh, const int* rows, const double* w, long long nh,
                                       long long center, double* extra) {
    loo_hot<double>(yc, ldy, n, mb, H, ldh, rows, w, nh, center, extra);
}

// gcv_select: generalised cross-validation for all na penalties at once. For target j < mb, with
// yy[j] = sum_i yc^2 over the n training rows (yc: mb x n, ld ldy) and z (mb x r, ld ldz) = U^T yc,
//   crit(a) = max(yy - sum_c z_c^2 + sum_c fm1[c + a*r]^2 z_c^2, 0) / n / den[a]
// (fm1 = f - 1 = -alpha/(s^2+alpha): 1 - f computed as such, near 0 where f is near 1)
// (den[a] = (1 - tr(H(a))/n)^2), written to crit[j + a*ldc] when crit is not null, and the
// argmin over a (first penalty wins ties) into best[j], best_idx[j]. With outside != 0, yc holds
// the residual outside U itself (R0 = uc uc^T Yc of a complete decomposition) and yy replaces
// yy - sum_c z_c^2, a difference of nearly equal terms when U spans nearly all of Yc.
template <typename T>
__device__ void gcv_select(const T* yc, long long ldy, long long n, const T* z, long long ldz, long long r,
                           long long mb, const double* fm1, const double* den, long long na, double* crit,
                           long long ldc, double* best, int* best_idx, long long outside) {
    GRID_STRIDE(j, mb) {
        double yy = 0;
        for (long long i = 0; i < n; i++) {
            double v = (double)yc[j + i * ldy];
            yy += v * v;
        }
        double zsum = 0;
        for (long long c = 0; c < r && !outside; c++) {
            double v = (double)z[j + c * ldz];
            zsum += v * v;
        }
        double bv = 0;
        int bi = 0;
        for (long long a = 0; a < na; a++) {
            double out = yy - zsum;
            const double* fa = fm1 + a * r;
            for (long long c = 0; c < r; c++) {
                double v = (double)z[j + c * ldz];
                double g = fa[c] * fa[c];
                out += g * (v * v);
            }
            out = fmax(out, 0.0) / (double)n / den[a];
            if (crit) crit[j + a * ldc] = out;
            if (a == 0 || out < bv) {
                bv = out;
                bi = (int)a;
            }
        }
        best[j] = bv;
        best_idx[j] = bi;
    }
}

extern "C" __global__ void gcv_select_f32(const float* yc, long long ldy, long long n, const float* z, long long ldz,
                                          long long r, long long mb, const double* fm1, const double* den, long long na,
                                          double* crit, long long ldc, double* best, int* best_idx,
                                          long long outside) {
    gcv_select<float>(yc, ldy, n, z, ldz, r, mb, fm1, den, na, crit, ldc, best, best_idx, outside);
}
extern "C" __global__ void gcv_select_f64(const double* yc, long long ldy, long long n, const double* z,
                                          long long ldz, long long r, long long mb, const double* fm1,
                                          const double* den, long long na, double* crit, long long ldc,
                                          double* best, int* best_idx, long long outside) {
    gcv_select<double>(yc, ldy, n, z, ldz, r, mb, fm1, den, na, crit, ldc, best, best_idx, outside);
}
