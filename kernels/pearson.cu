// Pearson correlation per target between predictions and held-out data.
#include "common.cuh"

// pearson: for each target j < mb, the Pearson r over i < n between p[j + i*ldp] and
// y[j + rows[i]*ldy] (rows null: row i). Two passes in double. When either side is exactly
// constant or has zero centred sum of squares, r[j] = 0 and degenerate[j] = 1; otherwise
// degenerate[j] = 0 and r[j] is clamped to [-1, 1].
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
        TP p0 = p[j];
        TY y0 = y[j + (rows ? (long long)rows[0] : 0) * ldy];
        int pconst = 1, yconst = 1;
        for (long long i = 0; i < n; i++) {
            long long ri = rows ? rows[i] : i;
            TP pv = p[j + i * ldp];
            TY yv = y[j + ri * ldy];
            pconst = pconst && pv == p0;
            yconst = yconst && yv == y0;
            double a = (double)pv - mp;
            double b = (double)yv - my;
            pp += a * a;
            yy += b * b;
            py += a * b;
        }
        if (pconst || yconst || pp == 0 || yy == 0) {
            r[j] = 0;
            degenerate[j] = 1;
        } else {
            r[j] = fmax(-1.0, fmin(1.0, py / (sqrt(pp) * sqrt(yy)))); /* not sqrt(pp * yy): over- or underflows at extreme scales */
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
