package eigen

import (
	"context"
	"math"
	"sync"

	"gonum.org/v1/gonum/lapack"
)

// leafSize is the order up to which divide and conquer solves a block by QL/QR (DLAED0's
// SMLSIZ, 25 in the reference ILAENV).
const leafSize = 25

// parallelBlock is the order from which the two halves of a block are solved side by side.
const parallelBlock = 200

// stedc computes all eigenvalues and eigenvectors of the symmetric tridiagonal matrix with
// diagonal d and off-diagonal e by divide and conquer, following the reference LAPACK routines
// DSTEDC (COMPZ = 'I') and DLAED0 (ICOMPQ = 2) (netlib LAPACK 3, modified BSD licence): each
// unreduced block is halved level by level into DLAED0's tree (splitLevels: all leaves at one
// depth, of order at most leafSize), the leaves solved by steqr, and the halves merged by
// rank-one updates (laed1). z (n x n) receives the eigenvectors as columns in
// column-major order: component i of eigenvector j is z[i+j*n]. d receives the eigenvalues,
// sorted within each unreduced block but not across blocks (Sym sorts at the end). work has at
// least n*n+n elements. e is destroyed.
//
// The two halves of a block of order parallelBlock or more are solved side by side: their
// parts of z, d, e and work are disjoint (a block at offset s of order m uses work[s*n:] for its
// m*m+m elements, which the blocks that may run beside it do not reach).
func stedc(ctx context.Context, n int, d, e, z, work []float64) error {
	clear(z[:n*n])
	for i := 0; i < n; i++ {
		z[i+i*n] = 1
	}
	if n <= 1 {
		return nil
	}
	if lp.Dlanst(lapack.MaxAbs, n, d, e) == 0 {
		return nil
	}
	const eps = 0x1p-53
	indxq := make([]int, n)
	for start := 0; start < n; {
		// The next unreduced block: e[finish] negligible or the end.
		finish := start
		for finish < n-1 {
			tiny := eps * math.Sqrt(math.Abs(d[finish])) * math.Sqrt(math.Abs(d[finish+1]))
			if math.Abs(e[finish]) <= tiny {
				break
			}
			finish++
		}
		m := finish - start + 1
		var err error
		switch {
		case m == 1:
		case m <= leafSize:
			err = leaf(ctx, m, d[start:], e[start:], z[start+start*n:], n)
		default:
			// Solve the block scaled to unit norm, as DSTEDC does.
			orgnrm := lp.Dlanst(lapack.MaxAbs, m, d[start:], e[start:])
			lp.Dlascl(lapack.General, 0, 0, orgnrm, 1, m, 1, d[start:], 1)
			lp.Dlascl(lapack.General, 0, 0, orgnrm, 1, m-1, 1, e[start:], 1)
			dc := &divider{ctx: ctx, n: n, d: d, e: e, z: z, work: work, indxq: indxq}
			err = dc.solve(start, m, splitLevels(m))
			if err == nil {
				dc.sortBlock(start, m)
			}
			lp.Dlascl(lapack.General, 0, 0, 1, orgnrm, m, 1, d[start:], 1)
		}
		if err != nil {
			return err
		}
		start = finish + 1
	}
	return nil
}

// leaf solves a block of order m by QL/QR into z (column-major, leading dimension ld).
func leaf(ctx context.Context, m int, d, e, z []float64, ld int) error {
	// steqr works on row-major eigenvectors: solve into an identity and transpose.
	t := make([]float64, m*m)
	for i := 0; i < m; i++ {
		t[i*m+i] = 1
	}
	if err := steqr(ctx, m, d[:m], e[:m-1], t); err != nil {
		return err
	}
	for j := 0; j < m; j++ {
		col := z[j*ld : j*ld+m]
		for i := range col {
			col[i] = t[i*m+j]
		}
	}
	return nil
}

// divider holds the buffers of one unreduced block's divide and conquer (DLAED0).
type divider struct {
	ctx   context.Context
	n     int // order of the whole matrix: the leading dimension of z
	d, e  []float64
	z     []float64
	work  []float64
	indxq []int // per block: the permutation that sorts its eigenvalues
}

// splitLevels is the depth of DLAED0's tree of subproblems for a block of order m: every
// subproblem is halved (floor first, then ceiling) while the largest exceeds leafSize, so all
// leaves are at the same depth.
func splitLevels(m int) int {
	levels := 0
	for largest := m; largest > leafSize; largest = (largest + 1) / 2 {
		levels++
	}
	return levels
}

// solve computes the eigensystem of the block at offset s of order m, levels above the leaves
// of the tree, into d[s:s+m] and the diagonal block of z, with indxq[s:s+m] sorting it.
func (dc *divider) solve(s, m, levels int) error {
	if err := dc.ctx.Err(); err != nil {
		return err
	}
	if levels == 0 {
		for i := range m {
			dc.indxq[s+i] = i
		}
		return leaf(dc.ctx, m, dc.d[s:], dc.e[s:], dc.z[s+s*dc.n:], dc.n)
	}
	// Split T into two tridiagonal halves and a rank-one update rho v v^T, v = e_{n1-1} +
	// e_{n1} (DLAED0 takes |rho| off both diagonal elements at the cut).
	n1 := m / 2
	rho := dc.e[s+n1-1]
	dc.d[s+n1-1] -= math.Abs(rho)
	dc.d[s+n1] -= math.Abs(rho)
	if m >= parallelBlock {
		var wg sync.WaitGroup
		var err1 error
		wg.Add(1)
		go func() {
			defer wg.Done()
			err1 = dc.solve(s, n1, levels-1)
		}()
		err2 := dc.solve(s+n1, m-n1, levels-1)
		wg.Wait()
		if err1 != nil {
			return err1
		}
		if err2 != nil {
			return err2
		}
	} else {
		if err := dc.solve(s, n1, levels-1); err != nil {
			return err
		}
		if err := dc.solve(s+n1, m-n1, levels-1); err != nil {
			return err
		}
	}
	if err := dc.ctx.Err(); err != nil {
		return err
	}
	return laed1(m, n1, dc.d[s:], dc.z[s+s*dc.n:], dc.n, dc.indxq[s:s+m], rho, dc.work[s*dc.n:])
}

// sortBlock applies the block's final permutation to its eigenvalues and eigenvectors, so
// that they are ascending (DLAED0's last step).
func (dc *divider) sortBlock(s, m int) {
	n := dc.n
	tmp := dc.work[s*n : s*n+m*m+m]
	dv, cols := tmp[:m], tmp[m:]
	for i := 0; i < m; i++ {
		j := dc.indxq[s+i]
		dv[i] = dc.d[s+j]
		copy(cols[i*m:(i+1)*m], dc.z[s+(s+j)*n:s+(s+j)*n+m])
	}
	copy(dc.d[s:s+m], dv)
	for i := 0; i < m; i++ {
		copy(dc.z[s+(s+i)*n:s+(s+i)*n+m], cols[i*m:(i+1)*m])
	}
}
