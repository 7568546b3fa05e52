// Inner K-fold selection: R^2 per target, the running criterion, and the argmin over penalties.
#include "common.cuh"

// r2: for each target j < mb, the coefficient of determination over i < n of the prediction
// p[j + i*ldp] + mu[j] (mu null: 0) against y[j + rows[i]*ldy] (rows null: row i):
//   1 - SS_res/SS_tot, SS_res = sum_i (y - (p + mu))^2, SS_tot = sum_i (y - mean(y))^2;
// a constant validation column scores 1 when SS_res == 0, else 0 (scikit-learn's r2_score with
// force_finite, as fallback's r2Cols). Constant means exactly equal values (as pearson): identical
// values whose mean rounds leave SS_tot ~1e-33, not 0. Two passes, double accumulation.
template <typename TP, typename TY>
__device__ void r2(const TP* p, long long ldp, const double* mu, const TY* y, long long ldy, const int* rows,
                   long long n, long long mb, double* out) {
    GRID_STRIDE(j, mb) {
        double sy = 0;
        for (long long i = 0; i < n; i++) {
            long long ri = rows ? rows[i] : i;
            sy += (double)y[j + ri * ldy];
        }
        double my = sy / (double)n;
        double m = mu ? mu[j] : 0.0;
        double res = 0, tot = 0;
        TY y0 = y[j + (rows ? (long long)rows[0] : 0) * ldy];
        int yconst = 1;
        for (long long i = 0; i < n; i++) {
            long long ri = rows ? rows[i] : i;
            TY yt = y[j + ri * ldy];
            yconst = yconst && yt == y0;
            double yv = (double)yt;
            double e = yv - ((double)p[j + i * ldp] + m);
            res += e * e;
            double dy = yv - my;
            tot += dy * dy;
        }
        double v = 0;
        if (!yconst && tot != 0) {
            v = 1 - res / tot;
        } else if (res == 0) {
            v = 1;
        }
        out[j] = v;
    }
}

extern "C" __global__ void r2_f32(const float* p, long long ldp, const double* mu, const float* y, long long ldy,
                                  const int* rows, long long n, long long mb, double* out) {
    r2<float, float>(p, ldp, mu, y, ldy, rows, n, mb, out);
}
extern "C" __global__ void r2_f64(const double* p, long long ldp, const double* mu, const double* y, long long ldy,
                                  const int* rows, long long n, long long mb, double* out) {
    r2<double, double>(p, ldp, mu, y, ldy, rows, n, mb, out);
}

// kfold_accumulate: crit[j] -= score[j] / k for j < mb (the criterion is minus the mean score
// over the k inner splits, accumulated split by split as fallback's kfold does).
extern "C" __global__ void kfold_accumulate(const double* score, long long mb, double k, double* crit) {
    GRID_STRIDE(j, mb) { crit[j] -= score[j] / k; }
}

// argmin_penalty: for each target j < mb, the smallest of crit[j + a*ldc] over a < na into
// best[j] and its index into best_idx[j]; strict <, so the first penalty wins ties (fallback's
// argminPerTarget).
extern "C" __global__ void argmin_penalty(const double* crit, long long ldc, long long mb, long long na, double* best,
                                          int* best_idx) {
    GRID_STRIDE(j, mb) {
        double bv = crit[j];
        int bi = 0;
        for (long long a = 1; a < na; a++) {
            double v = crit[j + a * ldc];
            if (v < bv) {
                bv = v;
                bi = (int)a;
            }
        }
        best[j] = bv;
        best_idx[j] = bi;
    }
}
