package gemm

import (
	"math"
	"testing"
	"unsafe"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/mat"
)

// TestPlugsIntoGonum installs Implementation with blas64.Use and checks that
// a gonum/mat product runs through it and is right.
func TestPlugsIntoGonum(t *testing.T) {
	if unsafe.Sizeof(Implementation{}) != 0 {
		t.Fatal("Implementation is not an empty struct")
	}
	prev := blas64.Implementation()
	blas64.Use(Implementation{})
	defer blas64.Use(prev)

	m, n, k := 37, 41, 29
	a := mat.NewDense(m, k, nil)
	b := mat.NewDense(k, n, nil)
	for i := 0; i < m; i++ {
		for j := 0; j < k; j++ {
			a.Set(i, j, math.Sin(float64(i*k+j)))
		}
	}
	for i := 0; i < k; i++ {
		for j := 0; j < n; j++ {
			b.Set(i, j, math.Cos(float64(i*n+j)))
		}
	}
	// A as the transpose of a k×m matrix, so the product is Dgemm(Trans, NoTrans).
	at := mat.DenseCopyOf(a.T())
	var got mat.Dense
	got.Mul(at.T(), b)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var want float64
			for p := 0; p < k; p++ {
				want += a.At(i, p) * b.At(p, j)
			}
			if d := math.Abs(got.At(i, j) - want); d > 1e-12 {
				t.Fatalf("C[%d,%d] = %v, want %v", i, j, got.At(i, j), want)
			}
		}
	}

	// Dispatch reaches our Dgemm, not the embedded gonum one: with alpha == 0
	// ours does not read A (gonum's would turn the NaN into NaN in C).
	nan := blas64.General{Rows: 1, Cols: 1, Stride: 1, Data: []float64{math.NaN()}}
	one := blas64.General{Rows: 1, Cols: 1, Stride: 1, Data: []float64{1}}
	c := blas64.General{Rows: 1, Cols: 1, Stride: 1, Data: []float64{3}}
	forceFallback = false
	blas64.Gemm(blas.NoTrans, blas.NoTrans, 0, nan, one, 2, c)
	if Available() && c.Data[0] != 6 {
		t.Fatalf("blas64.Gemm did not dispatch to gemm.Implementation.Dgemm: C = %v", c.Data[0])
	}
}
