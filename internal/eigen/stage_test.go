package eigen

import (
	"math/rand/v2"
	"testing"
	"time"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/lapack"
	"gonum.org/v1/gonum/lapack/gonum"
)

func TestStagesGonum(t *testing.T) {
	for _, n := range []int{512, 1024} {
		rng := rand.New(rand.NewPCG(1, 2))
		a := make([]float64, n*n)
		for i := 0; i < n; i++ {
			for j := 0; j <= i; j++ {
				v := rng.NormFloat64()
				a[i*n+j], a[j*n+i] = v, v
			}
		}
		var impl gonum.Implementation
		d := make([]float64, n)
		e := make([]float64, n-1)
		tau := make([]float64, n-1)
		work := make([]float64, 1)
		impl.Dsytrd(blas.Upper, n, a, n, d, e, tau, work, -1)
		work = make([]float64, int(work[0]))
		t0 := time.Now()
		impl.Dsytrd(blas.Upper, n, a, n, d, e, tau, work, len(work))
		t1 := time.Now()
		impl.Dorgtr(blas.Upper, n, a, n, tau, work, -1)
		work = make([]float64, int(work[0]))
		impl.Dorgtr(blas.Upper, n, a, n, tau, work, len(work))
		t2 := time.Now()
		work = make([]float64, 2*n)
		impl.Dsteqr(lapack.EVOrig, n, d, e, a, n, work)
		t3 := time.Now()
		t.Logf("n=%d dsytrd %v dorgtr %v dsteqr %v", n, t1.Sub(t0), t2.Sub(t1), t3.Sub(t2))
	}
}
