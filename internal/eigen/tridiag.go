package eigen

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"

	"gonum.org/v1/gonum/blas"
	blasgonum "gonum.org/v1/gonum/blas/gonum"

	"github.com/brainalign/brainalign/internal/gemm"
)

// bl runs the level-1/2 kernels (gonum's SSE2 assembly); level3 runs the products.
var (
	bl     blasgonum.Implementation
	level3 blas.Float64 = level3Default()
)

func level3Default() blas.Float64 {
	if gemm.Available() {
		return gemm.Implementation{}
	}
	return blasgonum.Implementation{}
}

const (
	panelWidth = 32  // columns per tridiagonalisation panel (Dlatrd's nb)
	trailBlock = 256 // rows per GEMM of the trailing update
	symvBlock  = 16  // rows per block of symvUpper
	symvParts  = 16  // row ranges of symvUpper, run on up to as many cores
	qBlock     = 128 // reflectors per block when forming or applying Q (128: half the passes over Q of 64)
)

// tridiagonalize reduces the symmetric matrix a (n x n, row-major; the upper triangle is read)
// to tridiagonal form T = Q^T A Q with diagonal d and off-diagonal e, leaving Q as reflectors:
// H_c = I - tau[c] v_c v_c^T with v_c in row c of a over columns c+1..n-1 (formQ and applyQ use
// them; tau has n elements). It is LAPACK's blocked Dsytrd (Dlatrd panels) rearranged for
// row-major storage and Go, on the upper triangle only (the lower one is never read): row c
// from column c on is column c of the symmetric matrix, contiguous; A v is symvUpper, which
// reads each row of the trailing block once for both triangles' contributions (the product is
// memory-bound: half the bytes of a full matrix-vector product), and the trailing update A -= V
// W^T + W V^T is calls of the assembly GEMM on row blocks of the upper triangle.
func tridiagonalize(ctx context.Context, n int, a, d, e, tau []float64) error {
	sv := newSymvScratch(n)
	nb := panelWidth
	// The panel's reflectors and their w side by side, [V W] and [W V] (rows: indices 0..n-1),
	// so that the trailing update A -= V W^T + W V^T is one product of depth 2 nb.
	vw, wv := make([]float64, 2*nb*n), make([]float64, 2*nb*n)
	vt := vw[:nb*n] // row t: reflector v of panel column t
	wt := vw[nb*n:] // row t: w of panel column t
	p := make([]float64, n)
	for i0 := 0; i0 < n-1; i0 += nb {
		if err := ctx.Err(); err != nil {
			return err
		}
		jb := min(nb, n-1-i0)
		clear(vt)
		clear(wt)
		for j := 0; j < jb; j++ {
			c := i0 + j
			row := a[c*n : (c+1)*n]
			// Bring row c (= column c) up to date with this panel's earlier reflectors.
			for t := 0; t < j; t++ {
				bl.Daxpy(n-c, -wt[t*n+c], vt[t*n+c:(t+1)*n], 1, row[c:], 1)
				bl.Daxpy(n-c, -vt[t*n+c], wt[t*n+c:(t+1)*n], 1, row[c:], 1)
			}
			d[c] = row[c]
			// Reflector H = I - tau v v^T zeroing row[c+2:], v[c+1] = 1.
			beta, tc := lp.Dlarfg(n-c-1, row[c+1], row[c+2:], 1)
			e[c] = beta
			tau[c] = tc
			row[c+1] = 1
			v := row[c+1:]
			copy(vt[j*n+c+1:(j+1)*n], v)
			if tc == 0 {
				continue
			}
			// p = tau (A22 - V W^T - W V^T) v, where A22 is the trailing block as of the start of
			// the panel.
			m := n - c - 1
			pp := p[c+1:]
			sv.symvUpper(m, a[(c+1)*n+c+1:], n, v, pp)
			for t := 0; t < j; t++ {
				wv := bl.Ddot(m, wt[t*n+c+1:(t+1)*n], 1, v, 1)
				vv := bl.Ddot(m, vt[t*n+c+1:(t+1)*n], 1, v, 1)
				bl.Daxpy(m, -wv, vt[t*n+c+1:(t+1)*n], 1, pp, 1)
				bl.Daxpy(m, -vv, wt[t*n+c+1:(t+1)*n], 1, pp, 1)
			}
			bl.Dscal(m, tc, pp, 1)
			// w = p - (tau/2)(p.v) v, so that H A H = A - v w^T - w v^T.
			alpha := -0.5 * tc * bl.Ddot(m, pp, 1, v, 1)
			bl.Daxpy(m, alpha, v, 1, pp, 1)
			copy(wt[j*n+c+1:(j+1)*n], pp)
		}
		// Trailing update of the rows/columns past the panel, upper triangle only (row blocks
		// from their diagonal on; the lower part of each diagonal block is computed and unused).
		// Rows jb.. of V and W are zero in the last, narrower panel.
		copy(wv[:nb*n], wt)
		copy(wv[nb*n:], vt)
		for r := i0 + jb; r < n; r += trailBlock {
			rows := min(trailBlock, n-r)
			level3.Dgemm(blas.Trans, blas.NoTrans, rows, n-r, 2*nb, -1, vw[r:], n, wv[r:], n, 1, a[r*n+r:], n)
		}
	}
	d[n-1] = a[n*n-1]
	return nil
}

// symvScratch holds the partial products of symvUpper's parts (part 0 accumulates in y).
type symvScratch struct {
	parts [][]float64
}

func newSymvScratch(n int) *symvScratch {
	s := &symvScratch{parts: make([][]float64, symvParts)}
	for i := 1; i < symvParts; i++ {
		s.parts[i] = make([]float64, n)
	}
	return s
}

// symvUpper computes y = A x for the symmetric m x m block A (row stride lda) from its upper
// triangle: row i (columns i..m-1) adds its dot product with x[i:] to y[i] and, for the
// lower triangle, x[i] times its off-diagonal part to y[i+1:], while the row is in cache.
// Rows are split into len(s.parts) ranges of equal area, each accumulating into its own
// vector, and the vectors are summed in order at the end. The ranges do not depend on the
// number of cores that run them, so neither do the sums' roundings: a decomposition gives the
// same bits on 2 cores as on 64.
func (s *symvScratch) symvUpper(m int, a []float64, lda int, x, y []float64) {
	p := len(s.parts)
	if m*m < 1<<16 || m < 2*p {
		p = 1
	}
	// rowsDot adds rows [r0, r1)'s contributions to acc, symvBlock rows at a time: the block's
	// upper triangle by dot products and axpys, the rectangle right of it by a matrix-vector
	// product (several rows streamed at once) and its transpose (the rectangle still in cache).
	rowsDot := func(acc []float64, r0, r1 int) {
		for i := r0; i < r1; i += symvBlock {
			b := min(symvBlock, r1-i)
			if next := i + b; next < r1 {
				// Each row starts on a new page, where the hardware prefetcher cannot follow.
				prefetchRows(&a[next*lda+next], lda+1, min(symvBlock, r1-next))
			}
			for ii := i; ii < i+b; ii++ {
				row := a[ii*lda+ii : ii*lda+i+b]
				acc[ii] += bl.Ddot(len(row), row, 1, x[ii:i+b], 1)
				if len(row) > 1 {
					bl.Daxpy(len(row)-1, x[ii], row[1:], 1, acc[ii+1:i+b], 1)
				}
			}
			c := i + b
			if c >= m {
				continue
			}
			r := i
			if useSymv4 && m-c >= 4 {
				// Four rows at a time, each element read once for both products.
				n4 := (m - c) &^ 3
				for ; r+4 <= i+b; r += 4 {
					xb := [4]float64{x[r], x[r+1], x[r+2], x[r+3]}
					var yr [4]float64
					symvRows4(&a[r*lda+c], lda, &x[c], &acc[c], n4, &xb, &yr)
					for j := c + n4; j < m; j++ {
						for t := range 4 {
							v := a[(r+t)*lda+j]
							yr[t] += v * x[j]
							acc[j] += v * xb[t]
						}
					}
					for t := range 4 {
						acc[r+t] += yr[t]
					}
				}
			}
			if r < i+b {
				rect := a[r*lda+c:]
				bl.Dgemv(blas.NoTrans, i+b-r, m-c, 1, rect, lda, x[c:m], 1, 1, acc[r:i+b], 1)
				bl.Dgemv(blas.Trans, i+b-r, m-c, 1, rect, lda, x[r:i+b], 1, 1, acc[c:m], 1)
			}
		}
	}
	if p == 1 {
		clear(y[:m])
		rowsDot(y, 0, m)
		return
	}
	// Boundaries with equal areas: rows [0, r) hold r m - r (r-1)/2 elements.
	bounds := make([]int, p+1)
	total := float64(m) * float64(m+1) / 2
	r := 0
	for w := 1; w < p; w++ {
		target := total * float64(w) / float64(p)
		for r < m && float64(r)*float64(m)-float64(r)*float64(r-1)/2 < target {
			r++
		}
		bounds[w] = r
	}
	bounds[p] = m
	part := func(w int) {
		acc := y
		if w > 0 {
			acc = s.parts[w]
		}
		clear(acc[bounds[w]:m])
		rowsDot(acc, bounds[w], bounds[w+1])
	}
	var next atomic.Int64
	work := func() {
		for w := int(next.Add(1) - 1); w < p; w = int(next.Add(1) - 1) {
			part(w)
		}
	}
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), p) - 1 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			work()
		}()
	}
	work()
	wg.Wait()
	for w := 1; w < p; w++ {
		lo := bounds[w]
		bl.Daxpy(m-lo, 1, s.parts[w][lo:m], 1, y[lo:m], 1)
	}
}

// formQ writes Q = H_0 H_1 ... H_{n-2} into q (Dorgtr's job), from the reflectors that
// tridiagonalize left in a and tau.
func formQ(ctx context.Context, n int, a, tau, q []float64) error {
	clear(q[:n*n])
	for i := 0; i < n; i++ {
		q[i*n+i] = 1
	}
	return applyReflectors(ctx, n, a, tau, q, true)
}

// applyQ overwrites z (n x n, row-major) with Q z (Dormtr's job): the eigenvectors of A from
// those of T, in 2n^3 flops against formQ's 4n^3/3 and a product's 2n^3.
func applyQ(ctx context.Context, n int, a, tau, z []float64) error {
	return applyReflectors(ctx, n, a, tau, z, false)
}

// applyReflectors multiplies q by H_0 H_1 ... H_{n-2} from the left, where H_c = I - tau[c] v_c
// v_c^T and v_c is stored in row c of a over columns c+1..n-1 (a[c][c+1] = 1). The blocks of
// reflectors are applied backwards, q <- (I - V T V^T) q, in the compact WY form (Dlarft and
// three GEMMs). Block c0 touches rows c0+1.. of q only; when q starts as the identity, only
// its columns c0+1.. too (as Dorgqr).
func applyReflectors(ctx context.Context, n int, a, tau, q []float64, identity bool) error {
	nr := n - 1 // reflectors 0..n-2
	kb := qBlock
	vt := make([]float64, kb*n)
	tm := make([]float64, kb*kb)
	w1 := make([]float64, kb*n)
	w2 := make([]float64, kb*n)
	for c0 := ((nr - 1) / kb) * kb; c0 >= 0; c0 -= kb {
		if err := ctx.Err(); err != nil {
			return err
		}
		k := min(kb, nr-c0)
		r := c0 + 1 // first row/column the block touches
		m := n - r
		// V^T (k x m), row t = v_{c0+t} over indices r..n-1, zero above its first entry.
		clear(vt[:k*m])
		for t := 0; t < k; t++ {
			c := c0 + t
			copy(vt[t*m+(c+1-r):(t+1)*m], a[c*n+c+1:(c+1)*n])
		}
		// T upper triangular with H_c0 ... H_c0+k-1 = I - V T V^T (Dlarft, forward, columnwise),
		// from the reflectors' inner products V^T V (one product instead of k²/2 dot products).
		level3.Dgemm(blas.NoTrans, blas.Trans, k, k, m, 1, vt, m, vt, m, 0, tm, kb)
		for j := 0; j < k; j++ {
			tj := tau[c0+j]
			for t := j; t < k; t++ {
				tm[t*kb+j] = 0 // the lower triangle and diagonal of V^T V
			}
			tm[j*kb+j] = tj
			if tj == 0 {
				for t := 0; t < j; t++ {
					tm[t*kb+j] = 0
				}
				continue
			}
			for t := 0; t < j; t++ {
				tm[t*kb+j] *= -tj
			}
			// T[0:j, j] = T[0:j, 0:j] T[0:j, j] (upper triangular, in place top-down).
			for t := 0; t < j; t++ {
				s := 0.0
				for u := t; u < j; u++ {
					s += tm[t*kb+u] * tm[u*kb+j]
				}
				tm[t*kb+j] = s
			}
		}
		c := 0 // first column of q the block touches
		if identity {
			c = r
		}
		wd := n - c
		qs := q[r*n+c:]
		level3.Dgemm(blas.NoTrans, blas.NoTrans, k, wd, m, 1, vt, m, qs, n, 0, w1, wd)
		level3.Dgemm(blas.NoTrans, blas.NoTrans, k, wd, k, 1, tm, kb, w1, wd, 0, w2, wd)
		level3.Dgemm(blas.Trans, blas.NoTrans, m, wd, k, -1, vt, m, w2, wd, 1, qs, n)
	}
	return nil
}
