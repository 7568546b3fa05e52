package universal

import (
	"context"
	"fmt"
	"math"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"

	"github.com/brainalign/brainalign/engine"
	"github.com/brainalign/brainalign/internal/eigen"
	"github.com/brainalign/brainalign/internal/gemm"
)

// dgemm is the Go-assembly GEMM where the CPU has it, else gonum's.
var dgemm = func() func(tA, tB blas.Transpose, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	if gemm.Available() {
		return gemm.Implementation{}.Dgemm
	}
	return gonum.Implementation{}.Dgemm
}()

// Components are the leading principal components of one matrix.
type Components struct {
	// Scores are the images' coordinates on the components, n x K row-major, component k with
	// variance Variance[k] * (total variance).
	Scores []float64
	K      int
	// Variance is the fraction of the total variance each component explains, decreasing.
	Variance []float64
}

// relTol is the smallest eigenvalue, relative to the largest, of a component that is kept:
// below it a direction is rounding noise (a rank-deficient matrix).
const relTol = 1e-10

// PCA returns the first k principal components of x (n x d, centred here), fewer when x has
// fewer directions of non-zero variance. It factorises the smaller of the Gram matrix Xc Xc^T
// (n x n) and the covariance Xc^T Xc (d x d).
func PCA(ctx context.Context, x engine.Matrix, k int) (*Components, error) {
	n, d := x.Rows, x.Cols
	if k < 1 {
		return nil, fmt.Errorf("universal: PCA: %d components", k)
	}
	xc := make([]float64, n*d)
	x.GatherRows(everyRow(n), xc)
	// Column means, then centring, both row by row (the data is row-major).
	mean := make([]float64, d)
	for i := 0; i < n; i++ {
		for j, v := range xc[i*d : (i+1)*d] {
			mean[j] += v
		}
	}
	for j := range mean {
		mean[j] /= float64(n)
	}
	// A constant column is centred to exactly 0: its mean is off its value by rounding (30 rows
	// of 0.1 average to 0.10000000000000005), which would leave it a component of pure
	// rounding noise, all of a constant model's variance.
	varies := make([]bool, d)
	for i := 1; i < n; i++ {
		for j, v := range xc[i*d : (i+1)*d] {
			varies[j] = varies[j] || v != xc[j]
		}
	}
	for j, v := range varies {
		if !v {
			mean[j] = xc[j]
		}
	}
	for i := 0; i < n; i++ {
		row := xc[i*d : (i+1)*d]
		for j := range row {
			row[j] -= mean[j]
		}
	}
	size := min(n, d)
	g := make([]float64, size*size)
	if n <= d {
		dgemm(blas.NoTrans, blas.Trans, n, n, d, 1, xc, d, xc, d, 0, g, n)
	} else {
		dgemm(blas.Trans, blas.NoTrans, d, d, n, 1, xc, d, xc, d, 0, g, d)
	}
	w := make([]float64, size)
	if err := eigen.SymContext(ctx, size, g, w); err != nil {
		return nil, fmt.Errorf("universal: PCA of %s: %w", nameOr(x.Name), err)
	}
	total := 0.0
	for _, v := range w {
		total += max(v, 0)
	}
	c := &Components{}
	for j := size - 1; j >= 0 && c.K < k; j-- { // eigenvalues ascending
		if !(total > 0) || w[j] <= relTol*w[size-1] {
			break
		}
		c.Variance = append(c.Variance, w[j]/total)
		c.K++
	}
	if c.K == 0 {
		return nil, fmt.Errorf("universal: PCA: %s has no variance (every column is constant)", nameOr(x.Name))
	}
	c.Scores = make([]float64, n*c.K)
	if n <= d {
		// Scores of component j: u_j s_j = u_j sqrt(w_j).
		for q := 0; q < c.K; q++ {
			j := size - 1 - q
			s := math.Sqrt(w[j])
			for i := 0; i < n; i++ {
				c.Scores[i*c.K+q] = g[i*size+j] * s
			}
		}
		return c, nil
	}
	// Scores: Xc V_K, one product with the K leading eigenvectors gathered as columns.
	v := make([]float64, d*c.K)
	for l := 0; l < d; l++ {
		for q := 0; q < c.K; q++ {
			v[l*c.K+q] = g[l*size+size-1-q]
		}
	}
	dgemm(blas.NoTrans, blas.NoTrans, n, c.K, d, 1, xc, d, v, c.K, 0, c.Scores, c.K)
	return c, nil
}

// Matrix returns components cols (indices into the K components) as an n x len(cols) matrix.
func (c *Components) Matrix(cols []int, name string) engine.Matrix {
	n := len(c.Scores) / c.K
	out := make([]float64, n*len(cols))
	for i := 0; i < n; i++ {
		for q, j := range cols {
			out[i*len(cols)+q] = c.Scores[i*c.K+j]
		}
	}
	m := engine.NewMatrix64(n, len(cols), out)
	m.Name = name
	return m
}

func everyRow(n int) []int {
	r := make([]int, n)
	for i := range r {
		r[i] = i
	}
	return r
}

func nameOr(s string) string {
	if s == "" {
		return "the activations"
	}
	return s
}
