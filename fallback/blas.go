package fallback

import (
	"context"
	"unsafe"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"

	"github.com/brainalign/brainalign/internal/eigen"
	"github.com/brainalign/brainalign/internal/gemm"
)

// level3 is the matrix-product implementation: our Go-assembly GEMM where the CPU has AVX2+FMA
// (still pure Go: no cgo), else gonum's pure Go; the openblas build replaces it in its init.
var level3 = defaultLevel3()

type level3Impl interface {
	Sgemm(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int)
	Dgemm(tA, tB blas.Transpose, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int)
}

// blasName says which implementation runs the products (reported in summaries and benchmarks).
var blasName string

// sameBitsAnyCores says whether results are the same bits on any number of cores and in any
// target batches (TestScoresIndependentOfCores): true for the pure-Go build, whose parallel steps
// split their work the same way everywhere; false for the openblas build.
var sameBitsAnyCores = true

func defaultLevel3() level3Impl {
	if gemm.Available() {
		blasName = "pure Go, " + gemm.Kernel() + " GEMM"
		return gemm.Implementation{}
	}
	blasName = "pure Go, gonum GEMM"
	return gonum.Implementation{}
}

// useGonum switches the products to gonum's implementation (tests compare the two).
func useGonum() func() {
	prev, prevName := level3, blasName
	level3, blasName = gonum.Implementation{}, "pure Go, gonum GEMM"
	return func() { level3, blasName = prev, prevName }
}

type float interface{ ~float32 | ~float64 }

// onProduct, when set (by tests), is told the shape of each product mul runs.
var onProduct func(m, n, k int, double bool)

// mul computes C = A·B (+ beta·C) for row-major matrices: A m x k, B k x n, C m x n, all
// contiguous. Products with a transposed operand are avoided on purpose: gonum's are 3-5x slower.
func mul[T float](m, n, k int, a, b []T, beta T, c []T) {
	if m == 0 || n == 0 {
		return
	}
	if onProduct != nil {
		var zero T
		onProduct(m, n, k, unsafe.Sizeof(zero) == 8)
	}
	if k == 0 {
		for i := range c[:m*n] {
			c[i] *= beta
		}
		return
	}
	switch a := any(a).(type) {
	case []float32:
		level3.Sgemm(blas.NoTrans, blas.NoTrans, m, n, k, 1, a, k, any(b).([]float32), n, float32(beta), any(c).([]float32), n)
	case []float64:
		level3.Dgemm(blas.NoTrans, blas.NoTrans, m, n, k, 1, a, k, any(b).([]float64), n, float64(beta), any(c).([]float64), n)
	}
}

// symEigen computes all eigenvalues (ascending) and eigenvectors of the symmetric n x n
// row-major matrix a, overwriting a with the eigenvectors as columns. The default is our pure-Go
// solver (internal/eigen: divide and conquer, 30-110x faster than gonum's Dsyev at 512-4096,
// same accuracy); the openblas build swaps in LAPACKE's dsyevd. A done ctx stops the pure-Go
// solver between blocks (it would take ~8 s at d = 4096); LAPACKE cannot be interrupted.
var symEigen = func(ctx context.Context, n int, a []float64, w []float64) error {
	return eigen.SymContext(ctx, n, a, w)
}

// eigenStops says whether symEigen stops early for a done context (false for LAPACKE).
var eigenStops = true

// gramProduct computes C = A A^T + beta C (size x size, symmetric) for the row-major A (size x
// k), given A^T (k x size) too: only the row blocks on and right of the diagonal are multiplied,
// half a product's flops, and the lower triangle is copied from the upper. Each element is the
// same sum in the same order as in mul(size, size, k, a, at, beta, c), so the result is too.
func gramProduct(size, k int, a, at, c []float64, beta float64) {
	const bs = 512
	for i := 0; i < size; {
		b := min(bs, size-i)
		if size-i-b == 1 {
			// No last block of one row: internal/gemm runs a one-row product on gonum's loops,
			// another summation than its kernels', so that row would differ from mul's.
			b++
		}
		level3.Dgemm(blas.NoTrans, blas.NoTrans, b, size-i, k, 1, a[i*k:], k, at[i:], size, beta, c[i*size+i:], size)
		i += b
	}
	const ts = 32 // the mirror in tiles, for cache reuse on both sides, on all cores
	parallelFor((size+ts-1)/ts, func(_, b0, b1 int) {
		for i0 := b0 * ts; i0 < min(size, b1*ts); i0 += ts {
			for j0 := i0; j0 < size; j0 += ts {
				for i := i0; i < min(i0+ts, size); i++ {
					for j := max(j0, i+1); j < min(j0+ts, size); j++ {
						c[j*size+i] = c[i*size+j]
					}
				}
			}
		}
	})
}

// transpose returns the c x r transpose of the r x c row-major matrix a, on all cores by blocks
// of rows of a (the training rows of every fold and every block of wide features, and U per
// fold: 33 M values at 8,000 rows x 4,096 features, once on one core).
func transpose[T float](r, c int, a []T) []T {
	return transposeInto(nil, r, c, a)
}

// transposeInto is transpose into t's memory where it is large enough.
func transposeInto[T float](t []T, r, c int, a []T) []T {
	t = reuse(t, r*c)
	const bs = 32 // blocked for cache reuse on both sides
	parallelFor((r+bs-1)/bs, func(_, b0, b1 int) {
		for i0 := b0 * bs; i0 < min(r, b1*bs); i0 += bs {
			for j0 := 0; j0 < c; j0 += bs {
				for i := i0; i < min(i0+bs, r); i++ {
					for j := j0; j < min(j0+bs, c); j++ {
						t[j*r+i] = a[i*c+j]
					}
				}
			}
		}
	})
	return t
}

// reuse returns buf resliced to n elements when it holds them (contents undefined), else a new
// slice.
func reuse[T any](buf []T, n int) []T {
	if cap(buf) >= n {
		return buf[:n]
	}
	return make([]T, n)
}

// convert returns float64 values in precision T: a copy for float32 (on all cores), src itself
// for float64 (the decomposition's arrays are read-only from here on, so sharing them is safe).
func convert[T float](src []float64) []T {
	if same, ok := any(src).([]T); ok {
		return same
	}
	dst := make([]T, len(src))
	narrow(dst, src)
	return dst
}
