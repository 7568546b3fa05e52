// Pearson correlation per target between predictions and held-out data.
#include "common.cuh"

// pearson: for each target j < mb, the Pearson r over i < n between p[j + i*ldp] and
// y[j + rows[i]*ldy] (rows null: row i). Two passes in double. When either side has zero
// variance (exactly, in double) r[j] = 0 and degenerate[j] = 1, else degenerate[j] = 0.
template <typename TP, typename TY>
__device__ void pearson(const TP* p, long long ldp, const TY* y, long long ldy, const int* rows, long long n,
                        long long mb, double* r, int* degenerate) {
    GRID_STRIDE(j, mb) {
        double sp = 0, sy = 0;
        for (long long i = 0; i < n; i++) {
            long long ri = rows ? rows[i] : i;
            sp += (double)p[j + i * ldp];
            sy += (double)y[j + ri * ldy];
        }
        double mp = sp / (double)n, my = sy / (double)n;
        double pp = 0, yy = 0, py = 0;
        for (long long i = 0; i < n; i++) {
            long long ri = rows ? rows[i] : i;
            double a = (double)p[j + i * ldp] - mp;
            double b = (double)y[j + ri * ldy] - my;
            pp += a * a;
            yy += b * b;
            py += a * b;
        }
        if (pp == 0 || yy == 0) {
            r[j] = 0;
            degenerate[j] = 1;
        } else {
            r[j] = py / sqrt(pp * yy);
            degenerate[j] = 0;
        }
    }
}

extern "C" __global__ void pearson_f32(const float* p, long long ldp, const float* y, long long ldy, const int* rows,
                                       long long n, long long mb, double* r, int* degenerate) {
    pearson<float, float>(p, ldp, y, ldy, rows, n, mb, r, degenerate);
}
extern "C" __global__ void pearson_f64(const double* p, long long ldp, const double* y, long long ldy,
                                       const int* rows, long long n, long long mb, double* r, int* degenerate) {
    pearson<double, double>(p, ldp, y, ldy, rows, n, mb, r, degenerate);
}
