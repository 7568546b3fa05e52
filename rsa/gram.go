package rsa

import (
	"context"
	"fmt"
	"math"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"

	"github.com/brainalign/brainalign/engine"
	"github.com/brainalign/brainalign/internal/gemm"
)

// dgemm is the Go-assembly GEMM where the CPU has it, else gonum's.
var dgemm = func() func(tA, tB blas.Transpose, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	if gemm.Available() {
		return gemm.Implementation{}.Dgemm
	}
	return gonum.Implementation{}.Dgemm
}()

// MinStimuli is the fewest stimuli compared: with 3 the RDM has 3 entries, the fewest over which a
// correlation is not always ±1.
const MinStimuli = 3

// MaxStimuli bounds the stimuli of one RDM or Gram matrix: 32,768 stimuli hold 4.3 GB in one
// condensed float64 triangle (Bytes).
const MaxStimuli = 32768

// Bytes is the memory of one RDM, or one Gram matrix, of n stimuli: n(n-1)/2 float64 values
// (the Gram matrix n more, its diagonal). The n x n matrix itself is never formed.
func Bytes(n int) int64 { return 8 * int64(n) * int64(n-1) / 2 }

// chunkBytes bounds the float64 copy of the columns prepared at once: the data's other axis
// (330,000 fMRI voxels) is taken in slices of columns, never whole. A variable so that tests
// can make every path run on small data.
var chunkBytes = 32 << 20

// rowBlock is the rows of each product Z_I Z_{I:}^T: one GEMM per block gives the upper
// triangle at half the cost of the full product, the diagonal blocks' lower halves aside.
var rowBlock = 256

// prep says how rows are prepared before their inner products.
type prep int

const (
	centreColumns   prep = iota // x - column means: linear CKA and Euclidean distances
	standardiseRows             // (x_i - mean(x_i)) / ||x_i - mean(x_i)||: correlation distances
)

// Gram is the n x n Gram matrix Xc Xc^T of the column-centred rows of X (linear CKA's K, up to the
// exact power-of-two scale the data were brought to), held as its diagonal and its strict upper
// triangle in the order of scipy's pdist.
type Gram struct {
	N     int
	Diag  []float64
	Upper []float64 // (i, j), i < j, at CondensedIndex(N, i, j)
	// Scale is the power of two the data were multiplied by before the products (exact): the
	// true Gram matrix is this one divided by Scale².
	Scale float64

	x engine.Matrix // the data, for Euclidean pairs recomputed directly
}

// checkShape refuses matrices whose stimuli the analysis cannot take.
func checkShape(x engine.Matrix) error {
	if err := x.Validate(orName(x.Name, "data")); err != nil {
		return err
	}
	if x.Rows < MinStimuli {
		return fmt.Errorf("rsa: %s: %d stimuli; RSA and CKA need at least %d", orName(x.Name, "data"), x.Rows, MinStimuli)
	}
	if x.Rows > MaxStimuli {
		return fmt.Errorf("rsa: %s: %d stimuli; at most %d (an RDM of %d stimuli holds %.1f GB)", orName(x.Name, "data"),
			x.Rows, MaxStimuli, x.Rows, float64(Bytes(x.Rows))/1e9)
	}
	return x.CheckValues(orName(x.Name, "data"), engine.Float64)
}

func orName(name, fallback string) string {
	if name == "" {
		return fallback
	}
	return name
}

// chunkWidth is the columns prepared at once for n rows and p columns.
func chunkWidth(n, p int) int {
	return max(16, min(p, chunkBytes/(8*n)))
}

// rowStats are what standardiseRows needs of every row, and the data's largest magnitude.
type rowStats struct {
	mean, norm []float64 // norm: of the centred row times scale
	scale      float64   // power of two bringing the largest |x| to about 1
	constant   int       // the first row whose values are all equal, or -1
}

// statsOf reads x once (and for rows, twice): the power-of-two scale that keeps sums of squares
// from overflowing or underflowing, and with rows the row means and centred norms (two passes,
// as NumPy's std, for rows far from zero).
func statsOf(ctx context.Context, x engine.Matrix, rows bool) (*rowStats, error) {
	n, p := x.Rows, x.Cols
	w := chunkWidth(n, p)
	buf := make([]float64, n*w)
	st := &rowStats{constant: -1}
	var sum, lo, hi []float64
	if rows {
		sum, lo, hi = make([]float64, n), make([]float64, n), make([]float64, n)
		for i := range lo {
			lo[i], hi[i] = math.Inf(1), math.Inf(-1)
		}
	}
	biggest := 0.0
	all := everyRow(n)
	for c0 := 0; c0 < p; c0 += w {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		c1 := min(p, c0+w)
		cw := c1 - c0
		x.GatherCols64(all, c0, c1, buf[:n*cw])
		for i := range n {
			for _, v := range buf[i*cw : (i+1)*cw] {
				biggest = max(biggest, math.Abs(v))
				if rows {
					sum[i] += v
					lo[i], hi[i] = min(lo[i], v), max(hi[i], v)
				}
			}
		}
	}
	st.scale = 1
	if biggest > 0 {
		_, e := math.Frexp(biggest)
		st.scale = math.Ldexp(1, -e)
	}
	if !rows {
		return st, nil
	}
	for i := range n {
		if lo[i] == hi[i] {
			st.constant = i
			return st, nil
		}
	}
	st.mean = make([]float64, n)
	for i := range n {
		st.mean[i] = sum[i] / float64(p)
	}
	ss := make([]float64, n)
	for c0 := 0; c0 < p; c0 += w {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		c1 := min(p, c0+w)
		cw := c1 - c0
		x.GatherCols64(all, c0, c1, buf[:n*cw])
		for i := range n {
			m := st.mean[i]
			for _, v := range buf[i*cw : (i+1)*cw] {
				d := (v - m) * st.scale
				ss[i] += d * d
			}
		}
	}
	st.norm = make([]float64, n)
	for i := range n {
		st.norm[i] = math.Sqrt(ss[i])
		// values that differ only in their last bits (a constant stored with rounding) have a
		// correlation that is rounding noise: as undefined as a constant row's
		if st.norm[i] <= 1e-13*math.Sqrt(float64(p))*math.Abs(st.mean[i])*st.scale {
			st.constant = i
			return st, nil
		}
	}
	return st, nil
}

// gramOf returns the Gram matrix of x's rows prepared as pr (diagonal and strict upper triangle),
// with the stats used. Columns are taken chunkWidth at a time, each chunk's products added.
func gramOf(ctx context.Context, x engine.Matrix, pr prep) (diag, upper []float64, st *rowStats, err error) {
	if err := checkShape(x); err != nil {
		return nil, nil, nil, err
	}
	st, err = statsOf(ctx, x, pr == standardiseRows)
	if err != nil {
		return nil, nil, nil, err
	}
	if st.constant >= 0 {
		return nil, nil, st, &ConstantRowError{Row: st.constant, Name: x.Name, Targets: x.Cols}
	}
	n, p := x.Rows, x.Cols
	w := chunkWidth(n, p)
	z := make([]float64, n*w)
	diag = make([]float64, n)
	upper = make([]float64, n*(n-1)/2)
	scratch := make([]float64, min(rowBlock, n)*n)
	colMean, colCorr := make([]float64, w), make([]float64, w)
	all := everyRow(n)
	for c0 := 0; c0 < p; c0 += w {
		if err := ctx.Err(); err != nil {
			return nil, nil, nil, err
		}
		c1 := min(p, c0+w)
		cw := c1 - c0
		zc := z[:n*cw]
		x.GatherCols64(all, c0, c1, zc)
		switch pr {
		case centreColumns:
			cm := colMean[:cw]
			clear(cm)
			for i := range n {
				for j, v := range zc[i*cw : (i+1)*cw] {
					cm[j] += v
				}
			}
			for j := range cm {
				cm[j] /= float64(n)
			}
			// a second pass corrects the mean by the mean of the residuals (as NumPy's two-pass
			// var): the one-pass mean of values far from zero is off by up to n ulps, a shift
			// that costs biased CKA digits, and that leaves a constant column (every value 0.1)
			// tiny non-zero centred values, which CKA would take for variation. With the
			// correction the centred values of a constant column are exactly 0.
			corr := colCorr[:cw]
			clear(corr)
			for i := range n {
				for j, v := range zc[i*cw : (i+1)*cw] {
					corr[j] += v - cm[j]
				}
			}
			for j := range cm {
				cm[j] += corr[j] / float64(n)
			}
			for i := range n {
				row := zc[i*cw : (i+1)*cw]
				for j := range row {
					row[j] = (row[j] - cm[j]) * st.scale
				}
			}
		case standardiseRows:
			for i := range n {
				m, inv := st.mean[i], 1/st.norm[i]
				row := zc[i*cw : (i+1)*cw]
				for j := range row {
					row[j] = (row[j] - m) * st.scale * inv
				}
			}
		}
		addUpperProducts(zc, n, cw, diag, upper, scratch)
	}
	return diag, upper, st, nil
}

// addUpperProducts adds the products of the rows of z (n x w, row-major) to the Gram matrix's
// diagonal and strict upper triangle, one GEMM per block of rows against the rows from it on.
func addUpperProducts(z []float64, n, w int, diag, upper, scratch []float64) {
	for i0 := 0; i0 < n; i0 += rowBlock {
		rows := min(rowBlock, n-i0)
		cols := n - i0
		c := scratch[:rows*cols]
		dgemm(blas.NoTrans, blas.Trans, rows, cols, w, 1, z[i0*w:], w, z[i0*w:], w, 0, c, cols)
		for r := range rows {
			i := i0 + r
			diag[i] += c[r*cols+r]
			dst := upper[CondensedIndex(n, i, i+1) : CondensedIndex(n, i, i+1)+n-i-1]
			src := c[r*cols+r+1 : (r+1)*cols]
			for k, v := range src {
				dst[k] += v
			}
		}
	}
}

// CentredGram returns the Gram matrix of x's column-centred rows (n x n, stimuli x stimuli),
// from which linear CKA (CKA) and Euclidean distances (Gram.Euclidean) follow.
func CentredGram(ctx context.Context, x engine.Matrix) (*Gram, error) {
	diag, upper, st, err := gramOf(ctx, x, centreColumns)
	if err != nil {
		return nil, err
	}
	return &Gram{N: x.Rows, Diag: diag, Upper: upper, Scale: st.scale, x: x}, nil
}

// Release lets go of the data the Gram matrix was made from, kept for Euclidean's recomputed
// pairs: call it once the Euclidean RDM is made, or not needed, to keep only the n x n triangle
// (CKA needs no more). Euclidean fails afterwards.
func (g *Gram) Release() { g.x = engine.Matrix{} }

// CondensedIndex is the position of pair (i, j), i != j, of n stimuli in a condensed triangle,
// as scipy.spatial.distance.squareform lays it out: (0,1), (0,2), ..., (0,n-1), (1,2), ...
func CondensedIndex(n, i, j int) int {
	if i > j {
		i, j = j, i
	}
	return n*i - i*(i+1)/2 + j - i - 1
}

func everyRow(n int) []int {
	rows := make([]int, n)
	for i := range rows {
		rows[i] = i
	}
	return rows
}
