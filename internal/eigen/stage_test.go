package eigen

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"
)

// TestStages logs the time of each stage (run with -v; skipped under -short).
func TestStages(t *testing.T) {
	if testing.Short() {
		t.Skip("timing only")
	}
	for _, n := range []int{512, 1024} {
		rng := rand.New(rand.NewPCG(1, 2))
		a := randomSymmetric(n, rng)
		d, e, q := make([]float64, n), make([]float64, n-1), make([]float64, n*n)
		t0 := time.Now()
		tau := make([]float64, n)
		if err := tridiagonalize(context.Background(), n, a, d, e, tau); err != nil {
			t.Fatal(err)
		}
		if err := formQ(context.Background(), n, a, tau, q); err != nil {
			t.Fatal(err)
		}
		t1 := time.Now()
		if err := steqr(context.Background(), n, d, e, q); err != nil {
			t.Fatal(err)
		}
		t2 := time.Now()
		t.Logf("n=%d tridiagonalize+Q %v, QL with rotations %v", n, t1.Sub(t0), t2.Sub(t1))
	}
}
