//go:build openblas

package lapackref

// #cgo LDFLAGS: -llapacke -lopenblas
import "C"

import (
	"fmt"

	"gonum.org/v1/netlib/lapack/lapacke"
)

// Stedc runs LAPACK's dstedc (COMPZ = 'I') on the symmetric tridiagonal matrix with diagonal d
// and off-diagonal e. It returns the eigenvalues ascending and the eigenvectors row-major, as
// columns: component i of eigenvector j at z[i*n+j]. d and e are not modified.
func Stedc(d, e []float64) (w, z []float64, err error) {
	n := len(d)
	w, ec := append([]float64(nil), d...), append([]float64(nil), e...)
	z = make([]float64, n*n)
	work, iwork := make([]float64, 1), make([]int32, 1)
	if !lapacke.Dstedc('I', n, w, ec, z, n, work, -1, iwork, -1) {
		return nil, nil, fmt.Errorf("lapackref: dstedc workspace query failed for n=%d", n)
	}
	work, iwork = make([]float64, int(work[0])), make([]int32, iwork[0])
	if !lapacke.Dstedc('I', n, w, ec, z, n, work, len(work), iwork, len(iwork)) {
		return nil, nil, fmt.Errorf("lapackref: dstedc failed for n=%d", n)
	}
	return w, z, nil
}

// Syevd runs LAPACK's dsyevd (JOBZ = 'V', UPLO = 'U') on the symmetric n x n row-major matrix a,
// overwriting it with the eigenvectors as columns and w with the eigenvalues ascending.
func Syevd(n int, a, w []float64) error {
	work, iwork := make([]float64, 1), make([]int32, 1)
	if !lapacke.Dsyevd('V', 'U', n, a, n, w, work, -1, iwork, -1) {
		return fmt.Errorf("lapackref: dsyevd workspace query failed for n=%d", n)
	}
	work, iwork = make([]float64, int(work[0])), make([]int32, iwork[0])
	if !lapacke.Dsyevd('V', 'U', n, a, n, w, work, len(work), iwork, len(iwork)) {
		return fmt.Errorf("lapackref: dsyevd failed for n=%d", n)
	}
	return nil
}
