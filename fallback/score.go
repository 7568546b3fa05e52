package fallback

import "math"

var sqrt = math.Sqrt

// unitScale is the power of two that brings m to [0.5, 1) (1 for 0 and non-finite m).
func unitScale(m float64) float64 {
	if m == 0 || math.IsInf(m, 0) || math.IsNaN(m) {
		return 1
	}
	_, e := math.Frexp(m)
	return math.Ldexp(1, max(-1000, min(1000, -e))) // a finite power of two, also for subnormal m
}

// pearsonCols returns the Pearson r per column between predictions p and data y (both rows x
// cols, row-major), computed in two passes (means, then centred sums) so large offsets do not
// cancel. A column where either side is exactly constant scores 0 and is flagged degenerate.
func pearsonCols[T float](p []T, y []float64, rows, cols int) ([]float64, []bool) {
	r := make([]float64, cols)
	degn := make([]bool, cols)
	parallelFor(cols, func(_, lo, hi int) {
		w := hi - lo
		mp, my := make([]float64, w), make([]float64, w)
		for i := 0; i < rows; i++ {
			pr, yr := p[i*cols+lo:i*cols+hi], y[i*cols+lo:i*cols+hi]
			for t := range pr {
				mp[t] += float64(pr[t])
				my[t] += yr[t]
			}
		}
		for t := range mp {
			mp[t] /= float64(rows)
			my[t] /= float64(rows)
		}
		spp, syy, spy := make([]float64, w), make([]float64, w), make([]float64, w)
		pconst, yconst := make([]bool, w), make([]bool, w)
		for t := range pconst {
			pconst[t], yconst[t] = true, true
		}
		// The deviations are scaled by powers of two (exact: r keeps its bits) that bring their
		// largest to about 1, so that the sums of squares neither overflow nor underflow for data
		// of extreme scale (1e160, 1e-160).
		kp, ky := make([]float64, w), make([]float64, w)
		for i := 0; i < rows; i++ {
			pr, yr := p[i*cols+lo:i*cols+hi], y[i*cols+lo:i*cols+hi]
			for t := range pr {
				kp[t] = max(kp[t], math.Abs(float64(pr[t])-mp[t]))
				ky[t] = max(ky[t], math.Abs(yr[t]-my[t]))
			}
		}
		for t := range kp {
			kp[t], ky[t] = unitScale(kp[t]), unitScale(ky[t])
		}
		for i := 0; i < rows; i++ {
			pr, yr := p[i*cols+lo:i*cols+hi], y[i*cols+lo:i*cols+hi]
			for t := range pr {
				dp, dy := (float64(pr[t])-mp[t])*kp[t], (yr[t]-my[t])*ky[t]
				spp[t] += dp * dp
				syy[t] += dy * dy
				spy[t] += dp * dy
				pconst[t] = pconst[t] && pr[t] == p[lo+t]
				yconst[t] = yconst[t] && yr[t] == y[lo+t]
			}
		}
		for t := 0; t < w; t++ {
			if pconst[t] || yconst[t] || spp[t] == 0 || syy[t] == 0 {
				degn[lo+t] = true
				continue
			}
			v := spy[t] / sqrt(spp[t]*syy[t])
			r[lo+t] = max(-1, min(1, v))
		}
	})
	return r, degn
}

// r2Cols returns the coefficient of determination per column of the prediction p + mu against
// y (rows x cols): 1 - SS_res/SS_tot, and for a constant column 1 if the prediction is exact,
// else 0 (scikit-learn's r2_score with force_finite). A column is constant when its values are
// exactly equal, as in pearsonCols: identical values whose mean rounds leave SS_tot ~1e-33, not
// 0, and an R² of -1e32.
func r2Cols[T float](p []T, mu []float64, y []float64, rows, cols int) []float64 {
	out := make([]float64, cols)
	parallelFor(cols, func(_, lo, hi int) {
		w := hi - lo
		my := make([]float64, w)
		for i := 0; i < rows; i++ {
			for t, v := range y[i*cols+lo : i*cols+hi] {
				my[t] += v
			}
		}
		for t := range my {
			my[t] /= float64(rows)
		}
		res, tot := make([]float64, w), make([]float64, w)
		yconst := make([]bool, w)
		for t := range yconst {
			yconst[t] = true
		}
		for i := 0; i < rows; i++ {
			pr, yr := p[i*cols+lo:i*cols+hi], y[i*cols+lo:i*cols+hi]
			for t := range pr {
				e := yr[t] - (float64(pr[t]) + mu[lo+t])
				res[t] += e * e
				dy := yr[t] - my[t]
				tot[t] += dy * dy
				yconst[t] = yconst[t] && yr[t] == y[lo+t]
			}
		}
		for t := 0; t < w; t++ {
			switch {
			case !yconst[t] && tot[t] != 0:
				out[lo+t] = 1 - res[t]/tot[t]
			case res[t] == 0:
				out[lo+t] = 1
			}
		}
	})
	return out
}
