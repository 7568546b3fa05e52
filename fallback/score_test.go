package fallback

import (
	"math"
	"math/rand/v2"
	"testing"
)

// Pearson r is scale-free: data of extreme scale (1e160, 1e-160) give the r of unit-scale data,
// not 0 or a rounded value from an over- or underflowing product of the sums of squares.
func TestPearsonExtremeScales(t *testing.T) {
	p := []float64{1, 2, 3, 5}
	base := []float64{1.5, 1.9, 3.4, 4.2}
	want, _ := pearsonCols(p, base, 4, 1)
	for _, s := range []float64{1e-160, 1e160} {
		y := make([]float64, len(base))
		for i, v := range base {
			y[i] = v * s
		}
		got, degenerate := pearsonCols(p, y, 4, 1)
		if degenerate[0] || math.Abs(got[0]-want[0]) > 1e-12 {
			t.Errorf("y x %g: r %v (degenerate %v), want %v", s, got[0], degenerate[0], want[0])
		}
	}
}

// A constant column is one of exactly equal values, as in pearsonCols: 0.1 three times has the
// mean 0.10000000000000002, whose deviations summed to SS_tot 1e-33 and an R² of -5e32 (that
// split then decided the penalty). scikit-learn's r2_score (force_finite): 1 for an exact
// prediction, else 0.
func TestR2ConstantColumn(t *testing.T) {
	y := []float64{0.1, 0.2, 0.1, 0.2, 0.1, 0.2}
	p := []float64{0.5, 0.1, -0.2, 0.1, 0.3, 0.1}
	got := r2Cols(p, []float64{0, 0.1}, y, 3, 2)
	if got[0] != 0 || got[1] != 1 {
		t.Errorf("r2 of constant columns predicted inexactly and exactly: %v, want [0 1]", got)
	}
}

// Re-centring the inner training targets leaves a target constant on those rows exactly zero
// (as the outer fold's centring), with its mean returned for the prediction's offset.
func TestCentreColsConstant(t *testing.T) {
	y := []float64{0.7, 1, 0.7, 2, 0.7, 4}
	mu := centreCols(y, 3, 2, true)
	if y[0] != 0 || y[2] != 0 || y[4] != 0 {
		t.Errorf("constant column centred to %v, %v, %v, want exact zeros", y[0], y[2], y[4])
	}
	if math.Abs(mu[0]-0.7) > 1e-15 || mu[1] != 7.0/3 {
		t.Errorf("means %v, want [0.7 7/3]", mu)
	}
}

// pearsonRef is Pearson's r by its definition in exact two-pass form on unit-scale data, the
// reference for the scaled columns below.
func pearsonRef(p, y []float64) float64 {
	var mp, my float64
	for i := range p {
		mp += p[i]
		my += y[i]
	}
	mp /= float64(len(p))
	my /= float64(len(y))
	var spp, syy, spy float64
	for i := range p {
		spp += (p[i] - mp) * (p[i] - mp)
		syy += (y[i] - my) * (y[i] - my)
		spy += (p[i] - mp) * (y[i] - my)
	}
	return spy / math.Sqrt(spp*syy)
}

// Predictions of extreme scale too (a target in units of 1e-160 among others of unit scale is
// predicted in its own units), with the first row at the column's mean on both sides, so that a
// scale taken from that row alone, or none, leaves the sums of squares to underflow or
// overflow. The same column five times: five rows of five columns.
func TestPearsonExtremeScalesBothSides(t *testing.T) {
	p := []float64{2, 1, 3, 2.5, 1.5} // mean 2: the first row's deviation is 0
	y := []float64{2, 1.2, 3.4, 2.2, 1.2}
	want := pearsonRef(p, y)
	const rows, cols = 5, 5
	for _, s := range []float64{1e-160, 1e-300, 1e160, 1e300} {
		ps, ys := make([]float64, rows*cols), make([]float64, rows*cols)
		for i := range ps {
			ps[i], ys[i] = p[i/cols]*s, y[i/cols]*s
		}
		got, degenerate := pearsonCols(ps, ys, rows, cols)
		for c := range cols {
			if degenerate[c] || math.Abs(got[c]-want) > 1e-14 {
				t.Errorf("p, y x %g, column %d: r %v (degenerate %v), want %v", s, c, got[c], degenerate[c], want)
			}
		}
	}
}

// A column of exactly equal values is constant, on either side: r 0, flagged degenerate. 0.1
// three times has the mean 0.10000000000000002, so its deviations are ~1e-17, not 0; scaled
// up to 1 (the extreme-scale rule) they would give an r of noise. Each column sits beside
// another whose first value differs (a test against the wrong column's first value would not
// see the constant).
func TestPearsonConstantColumns(t *testing.T) {
	const rows, cols = 3, 4
	// columns: constant data; constant prediction; both varying; varying beside constant
	p := []float64{
		0.5, 0.1, 1, 2,
		-0.2, 0.1, 2, 1,
		0.3, 0.1, 4, 3,
	}
	y := []float64{
		0.1, 0.7, 1, 0.4,
		0.1, 0.2, 3, 0.1,
		0.1, 0.9, 2, 0.2,
	}
	r, degenerate := pearsonCols(p, y, rows, cols)
	for c, want := range []bool{true, true, false, false} {
		if degenerate[c] != want {
			t.Errorf("column %d: degenerate %v, want %v", c, degenerate[c], want)
		}
		if want && r[c] != 0 {
			t.Errorf("column %d (constant): r %v, want 0", c, r[c])
		}
	}
	for _, c := range []int{2, 3} {
		pc, yc := make([]float64, rows), make([]float64, rows)
		for i := range rows {
			pc[i], yc[i] = p[i*cols+c], y[i*cols+c]
		}
		if want := pearsonRef(pc, yc); math.Abs(r[c]-want) > 1e-14 {
			t.Errorf("column %d: r %v, want %v", c, r[c], want)
		}
	}
}

// r is within [-1, 1] (Cauchy-Schwarz) also where rounding takes the ratio past: predictions
// that are a linear map of the data, increasing or decreasing, on many columns of random values.
func TestPearsonWithinUnit(t *testing.T) {
	const rows, cols = 7, 400
	rng := rand.New(rand.NewPCG(3, 5))
	y := make([]float64, rows*cols)
	for i := range y {
		y[i] = rng.NormFloat64()*math.Pow(10, float64(rng.IntN(9)-4)) + float64(rng.IntN(100))
	}
	up, down := make([]float64, len(y)), make([]float64, len(y))
	for i, v := range y {
		up[i], down[i] = 3*v+7, -0.3*v+1
	}
	for _, c := range []struct {
		name string
		p    []float64
		want float64
	}{{"3y + 7", up, 1}, {"-0.3y + 1", down, -1}} {
		r, _ := pearsonCols(c.p, y, rows, cols)
		for j, v := range r {
			if math.Abs(v) > 1 || math.Abs(v-c.want) > 1e-14 {
				t.Fatalf("%s, column %d: r %v, want %v and not past it", c.name, j, v, c.want)
			}
		}
	}
}
