//go:build cuda

package cuda

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/brainalign/brainalign/engine"
	"github.com/brainalign/brainalign/fallback"
)

// TestTF32LOOPenalties: TF32 leave-one-out picks float64's penalty, with fewer training rows than
// features (the dual decomposition) and more, on problems with targets of every signal-to-noise
// ratio (a fifth pure noise, whose criteria vary by 1e-6 to 1e-5 over the large penalties).
// Where the choice differs it must be a tie: float64's leave-one-out errors (computed here from
// scratch) at the two penalties within 1e-3 of each other, the size of the criteria's TF32
// rounding (measured up to 5.5e-4 at the small penalties, where the penalty loop's rounded
// product is nearly all of the residual). Reference: the CPU engine in float64. On the
// simulator, truncating TF32 or rounding it: 99.9-100% identical penalties, the others within
// 3.2e-5; |r| within 0.0004 where the penalty is the same. Before each penalty took the
// residual form engine.ResidualDirect picks (TF32 took every penalty direct: at large penalties
// its rounded product was then of nearly all of Yc, criteria off by 5e-5 (median) against
// differences of 1e-6 to 1e-5 between 1e6, 1e7 and 1e8), 84-99.5% and |r| off by up to 0.063.
func TestTF32LOOPenalties(t *testing.T) {
	e := newTestEngine(t)
	const m = 200
	for _, tc := range []struct {
		name    string
		problem func() (x, y engine.Matrix)
	}{
		// 240 training rows, 600 features
		{"dual_lowrank", func() (x, y engine.Matrix) { return lowRankProblem(300, 600, m, 30, 3) }},
		{"primal_lowrank", func() (x, y engine.Matrix) { return lowRankProblem(300, 150, m, 30, 3) }},
		// TestMatchesCPU's dual shape (48 training rows, 150 features), more targets
		{"dual_planted", func() (x, y engine.Matrix) { return problem(60, 150, m, 3) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x, y := tc.problem()
			opts := options(t, x.Rows, func(o *engine.Options) { o.Precision = engine.TF32 })
			got := score(t, e, x, y, opts)
			ref := opts
			ref.Precision = engine.Float64
			want := score(t, fallback.New(), x, y, ref)
			frac, agreed, _, worstGap := penaltyTies(t, x, y, opts, got, want)
			// A tie may go either way, and on few test rows the r of neighbouring penalties may
			// differ by more than TF32's goal: only the same choices' r are held to it.
			if frac < 0.99 || agreed > 5e-3 || worstGap > tieGap {
				t.Errorf("TF32 against float64: penalties identical %.4f (want >= 0.99), |r diff| %.3g where identical (want <= 0.005), a different penalty's leave-one-out error %.2g above float64's choice (want <= %g: a tie)",
					frac, agreed, worstGap, tieGap)
			}
		})
	}
}

// tieGap is the largest relative difference of two penalties' float64 leave-one-out errors that
// TF32's choice may cross: the criteria's own TF32 rounding, measured up to 5.5e-4
// (TestTF32LOOPenalties) and 4e-4 (TestTF32NearExactDual).
const tieGap = 1e-3

// penaltyTies compares TF32's penalties (got) with float64's (want, the CPU engine's) against
// every target's float64 leave-one-out errors computed from scratch (looCurves), fold by fold:
// the share of identical penalties, the largest |r| difference where they are identical and
// where they differ, and the largest relative excess of the float64 leave-one-out error at
// TF32's choice over float64's choice (0 if none differs). It fails the test if the CPU engine's
// choice is not the argmin of these errors (to rounding): the reference itself.
func penaltyTies(t *testing.T, x, y engine.Matrix, opts engine.Options, got, want *engine.Result) (frac, agreed, other, worstGap float64) {
	t.Helper()
	m := y.Cols
	same := 0
	for f, fold := range opts.Folds {
		crit := looCurves(x, y, fold, opts.Alphas)
		for j := 0; j < m; j++ {
			k := f*m + j
			c := crit[j]
			a64 := slices.Index(opts.Alphas, want.Alphas[k])
			if best := slices.Min(c); c[a64] > best*(1+1e-9) {
				t.Fatalf("fold %d target %d: the CPU engine's penalty %g has leave-one-out error %.10g, the reference's minimum %.10g",
					f, j, want.Alphas[k], c[a64], best)
			}
			diff := math.Abs(got.FoldScores[k] - want.FoldScores[k])
			if got.Alphas[k] == want.Alphas[k] {
				same++
				agreed = math.Max(agreed, diff)
				continue
			}
			other = math.Max(other, diff)
			gap := (c[slices.Index(opts.Alphas, got.Alphas[k])] - c[a64]) / c[a64]
			worstGap = math.Max(worstGap, gap)
		}
	}
	frac = float64(same) / float64(len(want.Alphas))
	t.Logf("penalties identical %.4f, max |r diff| %.3g (where they differ %.3g), their leave-one-out errors within %.2g (relative)",
		frac, agreed, other, worstGap)
	return frac, agreed, other, worstGap
}

// lowRankProblem: X = F L + E (k latent factors of decaying scale, unit noise, an offset), Y =
// F B + noise, each target's signal scaled to one of five signal-to-noise ratios, 0 to 3.
func lowRankProblem(n, d, m, k int, seed uint64) (x, y engine.Matrix) {
	rng := rand.New(rand.NewPCG(seed, 5))
	f := make([]float64, n*k)
	for i := range f {
		f[i] = rng.NormFloat64() * 3 / (1 + float64(i%k)/4)
	}
	xs := make([]float64, n*d)
	l := make([]float64, d)
	for j := 0; j < k; j++ {
		for c := range l {
			l[c] = rng.NormFloat64()
		}
		for i := 0; i < n; i++ {
			for c := range l {
				xs[i*d+c] += f[i*k+j] * l[c]
			}
		}
	}
	for i := range xs {
		xs[i] += rng.NormFloat64() + 1
	}
	ys := make([]float64, n*m)
	b := make([]float64, k)
	sig := make([]float64, n)
	for t := 0; t < m; t++ {
		snr := []float64{0, 0.05, 0.3, 1, 3}[t%5]
		for j := range b {
			b[j] = rng.NormFloat64()
		}
		var ss float64
		for i := range sig {
			sig[i] = 0
			for j := range b {
				sig[i] += f[i*k+j] * b[j]
			}
			ss += sig[i] * sig[i]
		}
		sc := snr / math.Sqrt(ss/float64(n))
		for i := range sig {
			ys[i*m+t] = sig[i]*sc + rng.NormFloat64() + 5
		}
	}
	return engine.NewMatrix64(n, d, xs), engine.NewMatrix64(n, m, ys)
}

// looCurves computes in float64, independently of both engines (gonum's eigendecomposition of
// the centred training rows' Gram matrix Xc Xc^T), every target's exact leave-one-out error at
// each penalty on fold's training rows, with an intercept: crit[target][penalty], the sum over
// training rows of (e_i / (1 - h_i))², e = Yc - U diag(f) U^T Yc, h_i = 1/ntr + sum_j U_ij² f_j.
func looCurves(x, y engine.Matrix, fold engine.Fold, alphas []float64) [][]float64 {
	tr := fold.Train
	ntr, d := len(tr), x.Cols
	xc := mat.NewDense(ntr, d, nil)
	for c := 0; c < d; c++ {
		mean := 0.0
		for _, i := range tr {
			mean += x.At(i, c)
		}
		mean /= float64(ntr)
		for r, i := range tr {
			xc.Set(r, c, x.At(i, c)-mean)
		}
	}
	var gram mat.SymDense
	gram.SymOuterK(1, xc)
	var eig mat.EigenSym
	if !eig.Factorize(&gram, true) {
		panic("looCurves: eigendecomposition failed")
	}
	lambda := eig.Values(nil)
	var vecs mat.Dense
	eig.VectorsTo(&vecs)
	keep, _ := engine.KeptDirections(lambda, ntr, d, true)
	u := make([]float64, ntr*len(keep)) // row-major ntr x r
	for q, j := range keep {
		for i := 0; i < ntr; i++ {
			u[i*len(keep)+q] = vecs.At(i, j)
		}
	}
	rk := len(keep)
	f := make([]float64, rk)
	crit := make([][]float64, y.Cols)
	yc := make([]float64, ntr)
	z := make([]float64, rk)
	for t := range crit {
		mean := 0.0
		for _, i := range tr {
			mean += y.At(i, t)
		}
		mean /= float64(ntr)
		for r, i := range tr {
			yc[r] = y.At(i, t) - mean
		}
		clear(z)
		for i, v := range yc {
			for q := range z {
				z[q] += u[i*rk+q] * v
			}
		}
		crit[t] = make([]float64, len(alphas))
		for a, alpha := range alphas {
			for q, j := range keep {
				f[q] = lambda[j] / (lambda[j] + alpha)
			}
			var sum float64
			for i, v := range yc {
				e, h := v, 1/float64(ntr)
				for q := range f {
					e -= u[i*rk+q] * f[q] * z[q]
					h += u[i*rk+q] * u[i*rk+q] * f[q]
				}
				sum += (e / (1 - h)) * (e / (1 - h))
			}
			crit[t][a] = sum
		}
	}
	return crit
}
