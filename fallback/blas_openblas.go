//go:build openblas

package fallback

// The openblas build: products on OpenBLAS, eigendecompositions on LAPACKE's divide and conquer
// (dsyevd), through gonum.org/v1/netlib. Needs Debian's libopenblas-dev and liblapacke-dev.

// #cgo LDFLAGS: -lopenblas -llapacke
import "C"

import (
	"context"
	"fmt"

	netblas "gonum.org/v1/netlib/blas/netlib"
	"gonum.org/v1/netlib/lapack/lapacke"
)

func init() {
	level3 = netblas.Implementation{}
	blasName = "OpenBLAS (cgo)"
	symEigen, eigenStops = dsyevd, false
	sameBitsAnyCores = false // OpenBLAS's kernels and threads depend on a product's shape and the cores
}

// dsyevd: eigenvalues ascending, eigenvectors as the columns of a (row-major).
func dsyevd(_ context.Context, n int, a, w []float64) error {
	work := make([]float64, 1)
	iwork := make([]int32, 1)
	if !lapacke.Dsyevd('V', 'U', n, a, n, w, work, -1, iwork, -1) {
		return fmt.Errorf("dsyevd workspace query failed for n=%d", n)
	}
	// The query can round lwork too small at large n (docs/design.md §7): take the documented minimum.
	lwork := max(int(work[0]), 1+6*n+2*n*n)
	liwork := max(int(iwork[0]), 3+5*n)
	work = make([]float64, lwork)
	iwork = make([]int32, liwork)
	if !lapacke.Dsyevd('V', 'U', n, a, n, w, work, lwork, iwork, liwork) {
		return fmt.Errorf("eigendecomposition (dsyevd) of a %d x %d matrix did not converge", n, n)
	}
	return nil
}
