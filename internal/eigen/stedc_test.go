package eigen

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
)

// tridiagonalCases are tridiagonal matrices that exercise divide and conquer's paths: merges of
// uneven halves, halves solved side by side, both kinds of deflation, splits at negligible
// off-diagonals, negative off-diagonals, and grading over many orders of magnitude.
func tridiagonalCases(rng *rand.Rand) []struct {
	name string
	d, e []float64
} {
	var cs []struct {
		name string
		d, e []float64
	}
	add := func(name string, d, e []float64) {
		cs = append(cs, struct {
			name string
			d, e []float64
		}{name, d, e})
	}
	for _, n := range []int{26, 27, 51, 200, 401} {
		d, e := make([]float64, n), make([]float64, n-1)
		for i := range d {
			d[i] = rng.NormFloat64()
		}
		for i := range e {
			e[i] = rng.NormFloat64()
		}
		add(fmt.Sprintf("random-%d", n), d, e)
	}
	// Glued Wilkinson W21+ matrices: pairs of eigenvalues equal to many digits, the classic
	// test of deflation by rotation.
	for _, glue := range []float64{0, 1e-14, 1e-8} {
		const blocks = 12
		n := 21 * blocks
		d, e := make([]float64, n), make([]float64, n-1)
		for b := 0; b < blocks; b++ {
			for i := 0; i < 21; i++ {
				d[b*21+i] = math.Abs(float64(i - 10))
				if i < 20 {
					e[b*21+i] = 1
				}
			}
			if b > 0 {
				e[b*21-1] = glue
			}
		}
		add(fmt.Sprintf("wilkinson-glue=%g", glue), d, e)
	}
	// Clement: eigenvalues +-(n-1), +-(n-3), ... exactly.
	{
		n := 300
		d, e := make([]float64, n), make([]float64, n-1)
		for i := range e {
			e[i] = math.Sqrt(float64((i + 1) * (n - 1 - i)))
		}
		add("clement", d, e)
	}
	// Graded: diagonal 1 .. 1e-30, off-diagonals smaller still, some of them negative.
	{
		n := 250
		d, e := make([]float64, n), make([]float64, n-1)
		for i := range d {
			d[i] = math.Pow(10, -30*float64(i)/float64(n))
		}
		for i := range e {
			e[i] = 0.1 * d[i+1] * float64(1-2*(i%2))
		}
		add("graded", d, e)
	}
	// Splits: exact zeros and negligible off-diagonals cut the matrix into blocks of all sizes,
	// some below and some above the leaf size.
	{
		n := 330
		d, e := make([]float64, n), make([]float64, n-1)
		for i := range d {
			d[i] = rng.Float64()
		}
		for i := range e {
			e[i] = -rng.Float64()
		}
		for _, c := range []int{0, 1, 5, 40, 41, 100, 180, 181, 182, 300} {
			e[c] = 0
		}
		e[250] = 1e-300
		add("split", d, e)
	}
	// Constant diagonal with small off-diagonals (above the split threshold): every pair of
	// poles close, so deflation by rotation throughout.
	{
		n := 120
		d, e := make([]float64, n), make([]float64, n-1)
		for i := range d {
			d[i] = 3
		}
		for i := range e {
			e[i] = 1e-13 * float64(1+i%5)
		}
		add("constant", d, e)
	}
	// 100 weakly glued copies of one 3 x 3 block: three eigenvalues, each ~100 times within
	// 1e-10 (the Gram matrices of rank-deficient layers have many eigenvalues at zero).
	{
		n := 300
		d, e := make([]float64, n), make([]float64, n-1)
		for i := range d {
			d[i] = []float64{1, 0.5, 0}[i%3]
		}
		for i := range e {
			e[i] = 1e-3
			if i%3 == 2 {
				e[i] = 1e-10 * (1 + rng.Float64())
			}
		}
		add("three-values", d, e)
	}
	return cs
}

// triCheck returns ||T Z - Z diag(w)||_F / ||T||_F and ||Z^T Z - I||_F for the tridiagonal T =
// (d, e) and eigenvectors z (column j: z[i*rs+j*cs] for i in 0..n-1).
func triCheck(d, e, w, z []float64, rs, cs int) (res, orth float64) {
	n := len(d)
	at := func(i, j int) float64 { return z[i*rs+j*cs] }
	var r, nt float64
	for j := 0; j < n; j++ {
		for i := 0; i < n; i++ {
			v := (d[i] - w[j]) * at(i, j)
			if i > 0 {
				v += e[i-1] * at(i-1, j)
			}
			if i < n-1 {
				v += e[i] * at(i+1, j)
			}
			r += v * v
		}
	}
	for _, v := range d {
		nt += v * v
	}
	for _, v := range e {
		nt += 2 * v * v
	}
	if nt == 0 {
		nt = 1
	}
	var o float64
	col := make([]float64, n)
	for j := 0; j < n; j++ {
		for i := range col {
			col[i] = at(i, j)
		}
		for k := 0; k < n; k++ {
			s := 0.0
			for i := 0; i < n; i++ {
				s += col[i] * at(i, k)
			}
			if j == k {
				s--
			}
			o += s * s
		}
	}
	return math.Sqrt(r / nt), math.Sqrt(o)
}

// TestStedc checks divide and conquer on tridiagonal matrices against QL/QR (steqr, the
// independent reference): eigenvalues, residual and orthogonality.
func TestStedc(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 8))
	for _, tc := range tridiagonalCases(rng) {
		n := len(tc.d)
		d, e := slices.Clone(tc.d), slices.Clone(tc.e)
		z := make([]float64, n*n)
		if err := stedc(context.Background(), n, d, e, z, make([]float64, n*n+n)); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		// stedc sorts within unreduced blocks; sort all for the comparison.
		perm := make([]int, n)
		for i := range perm {
			perm[i] = i
		}
		slices.SortStableFunc(perm, func(a, b int) int {
			if d[a] < d[b] {
				return -1
			}
			if d[a] > d[b] {
				return 1
			}
			return 0
		})
		w := make([]float64, n)
		for i, p := range perm {
			w[i] = d[p]
		}
		res, orth := triCheck(tc.d, tc.e, d, z, 1, n)

		qd, qe := slices.Clone(tc.d), slices.Clone(tc.e)
		qz := make([]float64, n*n)
		for i := 0; i < n; i++ {
			qz[i*n+i] = 1
		}
		if err := steqr(context.Background(), n, qd, qe, qz); err != nil {
			t.Fatal(err)
		}
		qres, qorth := triCheck(tc.d, tc.e, qd, qz, n, 1)
		scale := max(math.Abs(qd[0]), math.Abs(qd[n-1]))
		var dw float64
		for i := range w {
			dw = max(dw, math.Abs(w[i]-qd[i])/scale)
		}
		t.Logf("%-22s n=%3d  residual %.1e (steqr %.1e)  orthogonality %.1e (steqr %.1e)  max|w-w_steqr|/|w|max %.1e",
			tc.name, n, res, qres, orth, qorth, dw)
		tol := 1e-14 * float64(n)
		if res > tol || orth > tol || dw > tol {
			t.Errorf("%s: residual %.2e, orthogonality %.2e, eigenvalue diff %.2e exceed %.1e", tc.name, res, orth, dw, tol)
		}
		if res > 3*qres+1e-15 || orth > 3*qorth+1e-15 {
			t.Errorf("%s: residual %.2e or orthogonality %.2e over 3x steqr's (%.2e, %.2e)", tc.name, res, orth, qres, qorth)
		}
	}
}

// TestSecular checks laed4's roots of 1/rho + sum z_j^2/(d_j - x) against bisection, on poles
// spread and clustered, weights large and tiny, and the deltas it returns against d - root.
func TestSecular(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 2))
	f := func(d, z []float64, rho, x float64) float64 {
		s := 1 / rho
		for j := range d {
			s += z[j] * z[j] / (d[j] - x)
		}
		return s
	}
	for trial := 0; trial < 60; trial++ {
		n := 1 + rng.IntN(40)
		d := make([]float64, n)
		x := 0.0
		for i := range d {
			switch trial % 3 {
			case 0:
				x += rng.Float64()
			case 1: // clustered
				x += math.Pow(10, -12*rng.Float64())
			default: // graded
				x += math.Pow(10, -6*rng.Float64()) * float64(i+1)
			}
			d[i] = x
		}
		z := make([]float64, n)
		var zz float64
		for i := range z {
			z[i] = rng.NormFloat64() * math.Pow(10, -4*rng.Float64())
			zz += z[i] * z[i]
		}
		// As laed2 leaves it: z a unit vector.
		for i := range z {
			z[i] /= math.Sqrt(zz)
		}
		rho := math.Pow(10, 3*rng.Float64()-2)
		delta := make([]float64, n)
		for i := 0; i < n; i++ {
			root, ok := laed4(n, i, d, z, delta, rho)
			if !ok {
				t.Fatalf("trial %d n=%d root %d: no convergence", trial, n, i)
			}
			lo, hi := d[i], d[n-1]+rho
			if i < n-1 {
				hi = d[i+1]
			}
			// f increases from -inf to +inf on (lo, hi): bisect to the last bit.
			a, b := lo, hi
			for k := 0; k < 200; k++ {
				mid := a + (b-a)/2
				if mid <= a || mid >= b {
					break
				}
				if f(d, z, rho, mid) < 0 {
					a = mid
				} else {
					b = mid
				}
			}
			want := a + (b-a)/2
			if root < lo || root > hi || math.Abs(root-want) > 1e-13*max(math.Abs(want), hi-lo) {
				t.Fatalf("trial %d n=%d root %d: laed4 %.17g, bisection %.17g in (%.17g, %.17g)", trial, n, i, root, want, lo, hi)
			}
			if n > 2 {
				// delta is d - root computed without cancellation: d[j] - root itself is only
				// accurate to the rounding of d[j] and root.
				for j := range d {
					if got, w := delta[j], d[j]-root; math.Abs(got-w) > 4*0x1p-53*max(math.Abs(d[j]), math.Abs(root)) {
						t.Fatalf("trial %d root %d: delta[%d] = %g, d - root = %g", trial, i, j, got, w)
					}
				}
			}
		}
	}
}

// TestStedcCoresIndependent: divide and conquer's results do not depend on the number of cores
// (halves solved side by side, root finding and vector updates split by columns, products
// split by blocks of their result). The tridiagonalisation before it does: its
// matrix-vector products add per-core partial sums.
func TestStedcCoresIndependent(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 9))
	for _, tc := range tridiagonalCases(rng) {
		n := len(tc.d)
		if n < parallelBlock {
			continue
		}
		var outs [][]float64
		for _, p := range []int{1, 3} {
			old := runtime.GOMAXPROCS(p)
			d, e, z := slices.Clone(tc.d), slices.Clone(tc.e), make([]float64, n*n)
			err := stedc(context.Background(), n, d, e, z, make([]float64, n*n+n))
			runtime.GOMAXPROCS(old)
			if err != nil {
				t.Fatal(err)
			}
			outs = append(outs, append(z, d...))
		}
		if !slices.Equal(outs[0], outs[1]) {
			t.Errorf("%s: results differ between 1 and 3 cores", tc.name)
		}
	}
}
