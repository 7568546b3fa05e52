package fallback

import (
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"testing"
)

// productPaths are the product implementations to test: internal/gemm's (false) and gonum's
// (true). Under an emulator (scripts/test-arm64.sh sets BRAINALIGN_TEST_EMULATED), internal/gemm's
// alone: every arm64 machine has its NEON kernels, so gonum's generic Go never runs there, and it
// took half of TestGramProduct under QEMU.
func productPaths() []bool {
	if os.Getenv("BRAINALIGN_TEST_EMULATED") != "" {
		return []bool{false}
	}
	return []bool{false, true}
}

// TestGramProduct: gramProduct's A A^T against plain loops, symmetric to the bit, and equal to
// the bit to the full product mul computes (the engine's decompositions do not change; not with
// OpenBLAS, whose kernels depend on the product's shape), on
// orders that leave remainders of its 512-row blocks (513: one row) and 32-element mirror tiles, with both
// product implementations. The loops' reference is computed once for both, on its upper
// triangle: symmetry to the bit makes the lower one the same check.
func TestGramProduct(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 6))
	for _, size := range []int{1, 7, 33, 256, 300, 513, 530} {
		for _, k := range []int{1, 40, 301} {
			a := make([]float64, size*k)
			for i := range a {
				a[i] = rng.NormFloat64()
			}
			at := transpose(size, k, a)
			want := make([]float64, size*size)
			for i := 0; i < size; i++ {
				for j := i; j < size; j++ {
					for p := 0; p < k; p++ {
						want[i*size+j] += a[i*k+p] * a[j*k+p]
					}
				}
			}
			for _, gonumProducts := range productPaths() {
				func() {
					if gonumProducts {
						defer useGonum()()
					}
					got := make([]float64, size*size)
					for i := range got {
						got[i] = math.NaN() // every element must be written
					}
					gramProduct(size, k, a, at, got, 0)
					full := make([]float64, size*size)
					mul(size, size, k, a, at, 0, full)
					if (sameBitsAnyCores || gonumProducts) && !slices.Equal(got, full) { // OpenBLAS's kernels depend on the shape
						t.Errorf("gonum %v, size %d, k %d: differs from the full product", gonumProducts, size, k)
					}
					for i := 0; i < size; i++ {
						for j := i; j < size; j++ {
							if g, w := got[i*size+j], want[i*size+j]; math.Abs(g-w) > 1e-12*float64(k) || g != got[j*size+i] {
								t.Fatalf("gonum %v, size %d, k %d: C[%d][%d] = %g (C[%d][%d] = %g), want %g",
									gonumProducts, size, k, i, j, g, j, i, got[j*size+i], w)
							}
						}
					}
					// accumulated (the dual decomposition's blocks of features): 2 A A^T, as the
					// full product accumulates it, symmetric to the bit
					gramProduct(size, k, a, at, got, 1)
					mul(size, size, k, a, at, 1, full)
					if (sameBitsAnyCores || gonumProducts) && !slices.Equal(got, full) {
						t.Errorf("gonum %v, size %d, k %d: accumulated, differs from the full product", gonumProducts, size, k)
					}
					for i := 0; i < size; i++ {
						for j := i; j < size; j++ {
							if g, w := got[i*size+j], 2*want[i*size+j]; math.Abs(g-w) > 2e-12*float64(k) || g != got[j*size+i] {
								t.Fatalf("gonum %v, size %d, k %d, accumulated: C[%d][%d] = %g (C[%d][%d] = %g), want %g",
									gonumProducts, size, k, i, j, g, j, i, got[j*size+i], w)
							}
						}
					}
				}()
			}
		}
	}
}
