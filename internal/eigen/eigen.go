package eigen

import (
	"context"
	"fmt"
	"math"

	"gonum.org/v1/gonum/blas"

	"gonum.org/v1/gonum/lapack/gonum"
)

var lp gonum.Implementation

// dcMin is the order from which Sym finds the eigenvectors of the tridiagonal matrix by divide
// and conquer (stedc) instead of QL/QR (steqr); a variable so that tests can run both paths.
var dcMin = 128

// Sym computes all eigenvalues (ascending, into w) and eigenvectors of the symmetric n x n
// row-major matrix a (only the upper triangle is read), overwriting a with the eigenvectors as
// columns: a[i*n+j] is component i of eigenvector j. It returns an error if a holds NaN or Inf or
// the iteration does not converge.
func Sym(n int, a []float64, w []float64) error {
	return SymContext(context.Background(), n, a, w)
}

// SymContext is Sym that stops when ctx is done, returning ctx.Err() with a and w undefined. It
// looks at ctx between the steps' blocks (a panel of the tridiagonalisation, a block of Q, a
// batch of rotations), so a cancelled decomposition at n = 4096 returns within a fraction of a
// second instead of running its ~16 s to the end.
func SymContext(ctx context.Context, n int, a []float64, w []float64) error {
	if n < 0 || len(a) < n*n || len(w) < n {
		return fmt.Errorf("eigen: bad sizes: n=%d, len(a)=%d, len(w)=%d", n, len(a), len(w))
	}
	if n == 0 {
		return nil
	}
	// Checked up front: NaN comparisons would otherwise only surface as non-convergence after
	// 30n sweeps.
	anrm := 0.0
	for i := 0; i < n; i++ {
		for _, v := range a[i*n+i : (i+1)*n] {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("eigen: %d x %d matrix holds NaN or Inf", n, n)
			}
			anrm = max(anrm, math.Abs(v))
		}
	}
	if n == 1 {
		w[0] = a[0]
		a[0] = 1
		return nil
	}

	// Scale to the safe range, as Dsyev does.
	const safmin = 0x1p-1022
	const eps = 0x1p-52
	rmin := math.Sqrt(safmin / eps)
	rmax := math.Sqrt(eps / safmin)
	sigma := 1.0
	if anrm > 0 && anrm < rmin {
		sigma = rmin / anrm
	} else if anrm > rmax {
		sigma = rmax / anrm
	}
	if sigma != 1 {
		for i := 0; i < n; i++ {
			for j := i; j < n; j++ {
				a[i*n+j] *= sigma
			}
		}
	}

	d := w[:n]
	e := make([]float64, n-1)
	q := make([]float64, n*n)
	if err := tridiagonalize(ctx, n, a, d, e, q); err != nil {
		return err
	}
	if n >= dcMin {
		// Divide and conquer into a (free once Q is formed, column-major), then the
		// eigenvectors are Q times those of the tridiagonal matrix.
		work := make([]float64, n*n+n)
		if err := stedc(ctx, n, d, e, a, work); err != nil {
			if err == errNoConvergence {
				return fmt.Errorf("eigen: divide and conquer for a %d x %d matrix did not converge", n, n)
			}
			return err
		}
		level3.Dgemm(blas.NoTrans, blas.Trans, n, n, n, 1, q, n, a, n, 0, work, n)
		copy(a, work[:n*n])
		sortEigen(n, d, a)
	} else {
		copy(a, q)
		if err := steqr(ctx, n, d, e, a); err != nil {
			if err == errNoConvergence {
				return fmt.Errorf("eigen: QL iteration for a %d x %d matrix did not converge", n, n)
			}
			return err
		}
	}
	if sigma != 1 {
		for i := range d {
			d[i] /= sigma
		}
	}
	return nil
}
