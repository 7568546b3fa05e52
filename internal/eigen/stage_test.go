package eigen

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// BenchmarkStages times the steps of Sym's divide-and-conquer path one by one: the reduction to
// tridiagonal form (memory-bound symv and GEMM trailing updates), the tridiagonal's eigenvectors
// (stedc), and applying Q to them.
func BenchmarkStages(b *testing.B) {
	ctx := context.Background()
	for _, n := range []int{1024, 2048, 4096} {
		if n > 1024 && testing.Short() {
			continue
		}
		rng := rand.New(rand.NewPCG(1, 2))
		a := randomSymmetric(n, rng)
		d, e, tau := make([]float64, n), make([]float64, n), make([]float64, n)
		work := slices.Clone(a)
		b.Run(fmt.Sprintf("tridiagonalize/n=%d", n), func(b *testing.B) {
			for b.Loop() {
				copy(work, a)
				if err := tridiagonalize(ctx, n, work, d, e, tau); err != nil {
					b.Fatal(err)
				}
			}
		})
		z := make([]float64, n*n)
		scratch := make([]float64, n*n+n)
		b.Run(fmt.Sprintf("stedc/n=%d", n), func(b *testing.B) {
			for b.Loop() {
				dd, ee := slices.Clone(d), slices.Clone(e[:n-1])
				if err := stedc(ctx, n, dd, ee, z, scratch); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("applyQ/n=%d", n), func(b *testing.B) {
			q := make([]float64, n*n)
			for b.Loop() {
				copy(q, z)
				if err := applyQ(ctx, n, work, tau, q); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
