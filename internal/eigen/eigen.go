package eigen

import (
	"context"
	"fmt"
	"math"

	"gonum.org/v1/gonum/lapack/gonum"
)

var lp gonum.Implementation

// dcMin is the order from which Sym finds the eigenvectors of the tridiagonal matrix by divide
// and conquer (stedc) instead of QL/QR (steqr); a variable so that tests can run both paths.
var dcMin = 256

// Sym computes all eigenvalues (ascending, into w) and eigenvectors of the symmetric n x n
// row-major matrix a (only the upper triangle is read), overwriting a with the eigenvectors as
// columns: a[i*n+j] is component i of eigenvector j. It returns an error if a holds NaN or Inf or
// the iteration does not converge.
func Sym(n int, a []float64, w []float64) error {
	return SymContext(context.Background(), n, a, w)
}

// WorkspaceBytes is the memory Sym allocates for an n x n matrix besides a and w: the
// tridiagonal's eigenvectors and divide and conquer's workspace from order dcMin (two n x n
// matrices), Q below it (one), and row-length vectors (the blocks of reflectors, symvUpper's
// partial sums).
func WorkspaceBytes(n int) int64 {
	nn := int64(n) * int64(n)
	rows := int64(n) * (qBlock*3 + 8 + symvParts)
	const blockT = qBlock * qBlock // a block of reflectors' triangular factor (applyReflectors)
	if n >= dcMin {
		return 8 * (2*nn + rows + blockT)
	}
	// QL/QR: the queued rotations' coefficients, c and s (newRotQueue's limit: up to 4 MiB), and
	// the rows that one core's rotation kernel interleaves (flush16)
	rotations := 2*int64(max(min(batchRotations, 4*n*n), n)) + 16*int64(n)
	return 8 * (nn + rows + blockT + rotations)
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
	tau := make([]float64, n)
	if err := tridiagonalize(ctx, n, a, d, e, tau); err != nil {
		return err
	}
	if n >= dcMin {
		// Divide and conquer for the eigenvectors of T (column-major), then Q applied to them.
		zc := make([]float64, n*n)
		work := make([]float64, n*n+n)
		if err := stedc(ctx, n, d, e, zc, work); err != nil {
			if err == errNoConvergence {
				return fmt.Errorf("eigen: divide and conquer for a %d x %d matrix did not converge", n, n)
			}
			return err
		}
		z := work[:n*n]
		transposeSorted(n, d, zc, z)
		if err := applyQ(ctx, n, a, tau, z); err != nil {
			return err
		}
		copy(a, z)
	} else {
		q := make([]float64, n*n)
		if err := formQ(ctx, n, a, tau, q); err != nil {
			return err
		}
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

// transposeSorted sorts d ascending and writes into z (row-major) the columns of zc
// (column-major: eigenvector j is zc[j*n:(j+1)*n]) in the same order, so that z[i*n+j] is
// component i of eigenvector j.
func transposeSorted(n int, d, zc, z []float64) {
	perm, _ := sortValues(d[:n])
	// Tiles of 32 x 32 keep both the rows read and the rows written in cache.
	const tile = 32
	parallelRows(n, n*n, func(r0, r1 int) {
		for i0 := r0; i0 < r1; i0 += tile {
			i1 := min(i0+tile, r1)
			for j0 := 0; j0 < n; j0 += tile {
				j1 := min(j0+tile, n)
				for j := j0; j < j1; j++ {
					col := zc[perm[j]*n:]
					for i := i0; i < i1; i++ {
						z[i*n+j] = col[i]
					}
				}
			}
		}
	})
}
