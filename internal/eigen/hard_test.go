package eigen

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// hardCase is a matrix with, where known, its planted eigenvalues (ascending) or, for a
// diagonal matrix, exact ones (its diagonal sorted: the reductions leave it untouched).
type hardCase struct {
	name  string
	n     int
	a     []float64
	want  []float64 // nil: no closed form
	exact bool      // want to the bit
}

// hardCases are matrices that stress deflation, clusters and scaling: exact multiplicities
// (zero, identity, all ones, rank one plus the identity, two values n/2 times each, diagonals
// with repeats), eigenvalues within eps of each other, graded entries, Wilkinson's W+ and
// scales far from 1 (Sym rescales below 1e-146 and above 1e146).
func hardCases(n int, rng *rand.Rand) []hardCase {
	var cs []hardCase
	add := func(c hardCase) { c.n = n; cs = append(cs, c) }
	const eps = 0x1p-52
	diag := func(v []float64) []float64 {
		a := make([]float64, n*n)
		for i, x := range v {
			a[i*n+i] = x
		}
		return a
	}
	sorted := func(v []float64) []float64 { v = slices.Clone(v); slices.Sort(v); return v }
	constant := func(x float64) []float64 {
		v := make([]float64, n)
		for i := range v {
			v[i] = x
		}
		return v
	}

	add(hardCase{name: "zero", a: make([]float64, n*n), want: constant(0), exact: true})
	add(hardCase{name: "identity", a: diag(constant(1)), want: constant(1), exact: true})
	dup := make([]float64, n)
	for i := range dup {
		dup[i] = float64(rng.IntN(3)) - 1
	}
	add(hardCase{name: "diagonal-repeats", a: diag(dup), want: sorted(dup), exact: true})
	// Within the safe range no rescaling happens, so graded diagonals are exact too.
	gr := make([]float64, n)
	for i := range gr {
		gr[i] = math.Copysign(math.Pow(10, -140+280*rng.Float64()), rng.Float64()-0.5)
	}
	add(hardCase{name: "diagonal-graded", a: diag(gr), want: sorted(gr), exact: true})

	ones := make([]float64, n*n)
	for i := range ones {
		ones[i] = 1
	}
	w := constant(0)
	w[n-1] = float64(n)
	add(hardCase{name: "ones", a: ones, want: w})

	u := make([]float64, n)
	uu := 0.0
	for i := range u {
		u[i] = rng.NormFloat64()
		uu += u[i] * u[i]
	}
	r1 := make([]float64, n*n)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			r1[i*n+j] = u[i] * u[j]
		}
		r1[i*n+i]++
	}
	w = constant(1)
	w[n-1] = 1 + uu
	add(hardCase{name: "rank1+identity", a: r1, want: w})

	two := make([]float64, n)
	for i := range two {
		two[i] = float64(i % 2)
	}
	add(hardCase{name: "two-values", a: withSpectrum(two, rng), want: sorted(two)})

	// I + eps E, E symmetric of standard normal entries: eigenvalues 1 + O(sqrt(n) eps).
	ie := randomSymmetric(n, rng)
	for i := range ie {
		ie[i] *= eps
	}
	for i := 0; i < n; i++ {
		ie[i*n+i]++
	}
	add(hardCase{name: "identity+eps", a: ie, want: constant(1)})

	// Graded: a_ij = r_ij g_i g_j, g from 1e-100 to 1e100.
	gd := randomSymmetric(n, rng)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			gi := math.Pow(10, -100+200*float64(i)/float64(max(n-1, 1)))
			gj := math.Pow(10, -100+200*float64(j)/float64(max(n-1, 1)))
			gd[i*n+j] *= gi * gj
		}
	}
	add(hardCase{name: "graded", a: gd})

	wk := make([]float64, n*n)
	for i := 0; i < n; i++ {
		wk[i*n+i] = math.Abs(float64(i) - float64(n-1)/2)
		if i+1 < n {
			wk[i*n+i+1], wk[(i+1)*n+i] = 1, 1
		}
	}
	add(hardCase{name: "wilkinson", a: wk})

	for _, s := range []float64{1e-290, 1e-150, 1e150, 1e300} {
		a := randomSymmetric(n, rng)
		for i := range a {
			a[i] *= s
		}
		add(hardCase{name: fmt.Sprintf("random*%g", s), a: a})
	}
	return cs
}

// TestSymHardInputs runs hardCases at orders around the solver's cutoffs (divide and conquer's
// leaves of 25, halves solved side by side from 200, dcMin = 256, panels of 32) and odd primes,
// on both eigenvector paths (Sym's default is one of them at every order): the residual ||A V - V diag(w)||_F / (n ||A||_F eps) and
// ||V^T V - I||_F / (n eps) within 10 (LAPACK's test threshold is 30; the worst seen is 1.8),
// eigenvalues ascending, and the planted eigenvalues within 10 n ||A||_F eps (to the bit for
// diagonal matrices).
func TestSymHardInputs(t *testing.T) {
	orders := []int{1, 2, 3, 5, 24, 25, 26, 33, 51, 201}
	if !testing.Short() {
		orders = append(orders, 31, 32, 49, 50, 52, 97, 127, 199, 200, 255, 256, 257, 263)
	}
	rng := rand.New(rand.NewPCG(31, 7))
	var cases []hardCase
	for _, n := range orders {
		cases = append(cases, hardCases(n, rng)...)
	}
	const eps = 0x1p-52
	worstRes, worstOrth := 0.0, 0.0
	for _, dc := range []bool{false, true} {
		for _, tc := range cases {
			n := tc.n
			v, w := slices.Clone(tc.a), make([]float64, n)
			var err error
			withSolver(dc, func() { err = Sym(n, v, w) })
			name := fmt.Sprintf("%s/n=%d/divide-and-conquer=%v", tc.name, n, dc)
			if err != nil {
				t.Errorf("%s: %v", name, err)
				continue
			}
			if !slices.IsSorted(w) {
				t.Errorf("%s: eigenvalues not ascending", name)
			}
			// Measured on A / max|a_ij| (exact for the power-of-ten scales' purposes), so that
			// the norms of the scaled matrices neither overflow nor underflow.
			mx := 0.0
			for _, x := range tc.a {
				mx = max(mx, math.Abs(x))
			}
			if mx == 0 {
				mx = 1
			}
			as, ws := slices.Clone(tc.a), slices.Clone(w)
			for i := range as {
				as[i] /= mx
			}
			for i := range ws {
				ws[i] /= mx
			}
			res, orth := check(n, as, v, ws)
			res /= float64(n) * eps
			orth /= float64(n) * eps
			worstRes, worstOrth = max(worstRes, res), max(worstOrth, orth)
			if !(res <= 10 && orth <= 10) {
				t.Errorf("%s: residual %.3g, orthogonality %.3g (units of n eps) over 10", name, res, orth)
			}
			if tc.want == nil {
				continue
			}
			if tc.exact {
				if !slices.Equal(w, tc.want) {
					t.Errorf("%s: eigenvalues %v, want exactly %v", name, w, tc.want)
				}
				continue
			}
			tol := 10 * float64(n) * frob(as) * eps
			for i := range w {
				if d := math.Abs(ws[i] - tc.want[i]/mx); !(d <= tol) {
					t.Errorf("%s: eigenvalue %d = %.17g, want %.17g (off by %.3g, tolerance %.3g)", name, i, w[i], tc.want[i], d, tol)
					break
				}
			}
		}
	}
	t.Logf("worst residual %.3g, orthogonality %.3g (units of n eps)", worstRes, worstOrth)
}

// TestSymReadsUpperOnly: the lower triangle is not read, so NaN, Inf or an unrelated value
// there changes nothing, to the bit, on both eigenvector paths and around the cutoffs (the
// trailing updates compute the lower part of their diagonal blocks, from the lower triangle).
func TestSymReadsUpperOnly(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 2))
	for _, n := range []int{2, 3, 26, 33, 65, 257} {
		a := randomSymmetric(n, rng)
		for _, dc := range []bool{false, true} {
			withSolver(dc, func() {
				want, wantW := slices.Clone(a), make([]float64, n)
				if err := Sym(n, want, wantW); err != nil {
					t.Fatal(err)
				}
				for _, fill := range []float64{math.NaN(), math.Inf(-1), 7} {
					b, w := slices.Clone(a), make([]float64, n)
					for i := 0; i < n; i++ {
						for j := 0; j < i; j++ {
							b[i*n+j] = fill
						}
					}
					if err := Sym(n, b, w); err != nil {
						t.Errorf("n=%d dc=%v, %v below the diagonal: %v", n, dc, fill, err)
						continue
					}
					if !slices.Equal(w, wantW) || !slices.Equal(b, want) {
						t.Errorf("n=%d dc=%v: %v below the diagonal changed the decomposition", n, dc, fill)
					}
				}
			})
		}
	}
}

// TestSymNonFiniteCorners: NaN or Inf in the upper triangle's first or last element (the
// bounds of the input check's scan), at order 1 and past the cutoffs, is an error.
func TestSymNonFiniteCorners(t *testing.T) {
	for _, n := range []int{1, 2, 26, 257} {
		for _, at := range []int{0, n - 1, n*n - 1} {
			for _, bad := range []float64{math.NaN(), math.Inf(1)} {
				a := make([]float64, n*n)
				for i := 0; i < n; i++ {
					a[i*n+i] = 1
				}
				a[at] = bad
				if err := Sym(n, a, make([]float64, n)); err == nil {
					t.Errorf("n=%d, %v at %d: no error", n, bad, at)
				}
			}
		}
	}
}
