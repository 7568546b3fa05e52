//go:build openblas

package eigen

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/brainalign/brainalign/internal/lapackref"
)

// TestStedcAgainstLAPACK compares divide and conquer with LAPACK's dstedc (OpenBLAS's LAPACKE)
// on the tridiagonal cases of TestStedc: the same eigenvalues, and residual and orthogonality
// within 3x of LAPACK's.
func TestStedcAgainstLAPACK(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 8))
	for _, tc := range tridiagonalCases(rng) {
		n := len(tc.d)
		d, e, z := slices.Clone(tc.d), slices.Clone(tc.e), make([]float64, n*n)
		if err := stedc(context.Background(), n, d, e, z, make([]float64, n*n+n)); err != nil {
			t.Fatal(err)
		}
		res, orth := triCheck(tc.d, tc.e, d, z, 1, n)
		w := slices.Clone(d)
		slices.Sort(w)

		ld, lz, err := lapackref.Stedc(tc.d, tc.e)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		// LAPACKE row-major: component i of eigenvector j at lz[i*n+j].
		lres, lorth := triCheck(tc.d, tc.e, ld, lz, n, 1)
		scale := max(math.Abs(ld[0]), math.Abs(ld[n-1]), 1e-300)
		var dw float64
		for i := range w {
			dw = max(dw, math.Abs(w[i]-ld[i])/scale)
		}
		t.Logf("%-22s n=%3d  residual %.1e (LAPACK %.1e)  orthogonality %.1e (LAPACK %.1e)  max|w-w_LAPACK|/|w|max %.1e",
			tc.name, n, res, lres, orth, lorth, dw)
		if dw > 4e-16*float64(n) {
			t.Errorf("%s: eigenvalues differ from LAPACK's by %.2e", tc.name, dw)
		}
		if res > 3*lres+1e-15 || orth > 3*lorth+1e-15 {
			t.Errorf("%s: residual %.2e or orthogonality %.2e over 3x LAPACK's (%.2e, %.2e)", tc.name, res, orth, lres, lorth)
		}
	}
}

// BenchmarkSym times OpenBLAS's dsyevd (through LAPACKE) too, on the same matrices.
func init() { otherSyms = append(otherSyms, symImpl{"dsyevd", lapackref.Syevd}) }
