package gemm

import (
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"

	"gonum.org/v1/gonum/blas"
)

// TestGemmRandomShapes draws products at random from every class around the micro-tile and the
// cache blocks (dimensions 0-3, a tile multiple ±1, small, up to 300), with random transposes,
// leading dimensions wider than the rows, alpha and beta (beta 0 on a C of NaN), checked
// against the float64 triple loop on every path.
func TestGemmRandomShapes(t *testing.T) {
	trials := 300
	if testing.Short() {
		trials = 100
	}
	for _, p := range paths(t) {
		t.Run(p.name, func(t *testing.T) {
			p.set()
			rng := rand.New(rand.NewPCG(11, 12))
			mr, nr, kc := 8, 8, 256
			if kern64 != nil && !forceFallback {
				mr, nr, kc = kern64.mr, kern64.nr, kern64.kc
			}
			dim := func(tile int) int {
				switch rng.IntN(5) {
				case 0:
					return rng.IntN(4)
				case 1:
					return max(0, tile*(1+rng.IntN(3))+rng.IntN(3)-1)
				case 2:
					return 1 + rng.IntN(60)
				default:
					return 1 + rng.IntN(300)
				}
			}
			for range trials {
				tc := gemmCase{tA: transposes[rng.IntN(2)], tB: transposes[rng.IntN(2)],
					m: dim(mr), n: dim(nr), k: dim(kc / 4),
					alpha: []float64{1, -1, 0.5, 0, 3}[rng.IntN(5)], beta: []float64{0, 1, -2, 0.25}[rng.IntN(4)],
					padA: rng.IntN(3) * rng.IntN(9), padB: rng.IntN(3) * rng.IntN(9), padC: rng.IntN(3) * rng.IntN(9)}
				tc.nanC = tc.beta == 0
				runCase(t, tc, rng)
			}
		})
	}
}

// TestGemmCoresIndependent: a product gives the same bits on any number of cores (the engine's
// promise), split by rows, by columns or by a grid of both (planGrid: at 7, 8 and 128 cores
// here), float32 and float64, on every path, with one row (the gonum path) and with KC slices.
func TestGemmCoresIndependent(t *testing.T) {
	sizes := [][3]int{{1, 1000, 300}, {300, 301, 150}, {1000, 37, 400}, {97, 2100, 60}, {512, 512, 300}}
	if testing.Short() {
		sizes = [][3]int{{1, 500, 300}, {150, 151, 300}, {600, 20, 100}, {40, 1100, 50}}
	}
	if kn := kern32; kn != nil {
		grids := 0
		for _, sz := range sizes {
			if g := planGrid(sz[0], sz[1], sz[2], kn.mr, kn.nr, kn.nc, false, false, 128); g.rows > 1 && g.cols > 1 {
				grids++
			}
		}
		if grids == 0 {
			t.Fatalf("no size takes a grid of row and column ranges at 128 cores with the %s kernels", kn.name)
		}
	}
	rng := rand.New(rand.NewPCG(1, 3))
	for _, p := range paths(t) {
		t.Run(p.name, func(t *testing.T) {
			p.set()
			for _, sz := range sizes {
				for _, tA := range transposes {
					tc := gemmCase{tA: tA, tB: blas.Trans, m: sz[0], n: sz[1], k: sz[2], alpha: 0.7, beta: 0.3}
					a, lda, b, ldb, c, ldc := tc.operands(rng)
					a32, b32, c32 := to32(a), to32(b), to32(c)
					var first []float64
					var first32 []float32
					for _, cores := range []int{1, 2, 3, 7, 8, 128} {
						old := runtime.GOMAXPROCS(cores)
						c64 := slices.Clone(c)
						Implementation{}.Dgemm(tc.tA, tc.tB, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, c64, ldc)
						cc32 := slices.Clone(c32)
						Implementation{}.Sgemm(tc.tA, tc.tB, tc.m, tc.n, tc.k, float32(tc.alpha), a32, lda, b32, ldb, float32(tc.beta), cc32, ldc)
						runtime.GOMAXPROCS(old)
						if first == nil {
							first, first32 = c64, cc32
							continue
						}
						if !slices.Equal(first, c64) || !slices.Equal(first32, cc32) {
							t.Errorf("%v: %d cores give other bits than 1", tc, cores)
						}
					}
				}
			}
		})
	}
}

// TestGemmSubnormalsAndNonFinite: subnormal operands are not flushed to zero (products of
// subnormals and small integers are exact, so the loops' sum is the answer to the bit), and NaN
// and Inf in A reach every element of C they feed, in full and edge tiles.
func TestGemmSubnormalsAndNonFinite(t *testing.T) {
	for _, p := range paths(t) {
		t.Run(p.name, func(t *testing.T) {
			p.set()
			for _, sz := range [][3]int{{1, 5, 3}, {20, 40, 30}, {14, 32, 7}, {100, 70, 300}} {
				m, n, k := sz[0], sz[1], sz[2]
				a, b := make([]float64, m*k), make([]float64, k*n)
				a32 := make([]float32, m*k)
				for i := range a {
					a[i] = 0x1p-1074 * float64(i%7)
					a32[i] = 0x1p-149 * float32(i%7)
				}
				for i := range b {
					b[i] = float64(i%3 - 1)
				}
				b32 := to32(b)
				c, c32 := make([]float64, m*n), make([]float32, m*n)
				Implementation{}.Dgemm(blas.NoTrans, blas.NoTrans, m, n, k, 1, a, k, b, n, 0, c, n)
				Implementation{}.Sgemm(blas.NoTrans, blas.NoTrans, m, n, k, 1, a32, k, b32, n, 0, c32, n)
				for i := 0; i < m; i++ {
					for j := 0; j < n; j++ {
						var s float64
						var s32 float32
						for q := 0; q < k; q++ {
							s += a[i*k+q] * b[q*n+j]
							s32 += a32[i*k+q] * b32[q*n+j]
						}
						if c[i*n+j] != s || c32[i*n+j] != s32 {
							t.Fatalf("%v: C[%d,%d] = %g (float32 %g), want %g (%g)", sz, i, j, c[i*n+j], c32[i*n+j], s, s32)
						}
					}
				}

				a[0], a[len(a)-1] = math.NaN(), math.Inf(1)
				a32[0], a32[len(a32)-1] = float32(math.NaN()), float32(math.Inf(1))
				for i := range b {
					b[i], b32[i] = 1, 1
				}
				Implementation{}.Dgemm(blas.NoTrans, blas.NoTrans, m, n, k, 1, a, k, b, n, 0, c, n)
				Implementation{}.Sgemm(blas.NoTrans, blas.NoTrans, m, n, k, 1, a32, k, b32, n, 0, c32, n)
				for j := 0; j < n; j++ {
					if !math.IsNaN(c[j]) || !math.IsNaN(float64(c32[j])) {
						t.Fatalf("%v: NaN in A's first row: C[0,%d] = %g (float32 %g)", sz, j, c[j], c32[j])
					}
					if last := (m-1)*n + j; m > 1 && (!math.IsInf(c[last], 1) || !math.IsInf(float64(c32[last]), 1)) {
						t.Fatalf("%v: Inf in A's last row: C[%d,%d] = %g (float32 %g)", sz, m-1, j, c[last], c32[last])
					}
				}
			}
		})
	}
}
