package eigen

import (
	"math"
	"sync/atomic"

	"gonum.org/v1/gonum/blas"
)

// The merge step of divide and conquer: laed1, laed2, laed3 and lamrg follow the reference
// LAPACK routines DLAED1, DLAED2, DLAED3 and DLAMRG (netlib LAPACK 3, modified BSD licence):
// the deflation tests, the Gu-Eisenstat eigenvectors and the final products are LAPACK's.
// Matrices here are column-major, as in LAPACK: element (i, j) of a block with leading
// dimension ld is at q[i+j*ld], so an eigenvector (a column) is contiguous.

// laed1 merges the eigensystems of the two halves of a block of order m split after n1 rows:
// on entry d holds the eigenvalues of each half and q (leading dimension ld) their
// eigenvectors, block-diagonally, with indxq[:n1] and indxq[n1:] the permutations that sort
// each half's eigenvalues (0-based, within the half); rho is the off-diagonal element removed at
// the split. On return d and q hold the eigensystem of the whole block, and indxq the
// permutation that sorts d. work (at least m*m+m) holds the deflated copy of q and the
// products' right-hand side.
func laed1(m, n1 int, d, q []float64, ld int, indxq []int, rho float64, work []float64) error {
	// z: the last row of the first half's eigenvectors and the first row of the second's.
	z := make([]float64, m)
	for j := 0; j < n1; j++ {
		z[j] = q[n1-1+j*ld]
	}
	for j := n1; j < m; j++ {
		z[j] = q[n1+j*ld]
	}
	dlambda := make([]float64, m)
	w := make([]float64, m)
	ints := make([]int, 4*m)
	indx, indxc, indxp, coltyp := ints[:m], ints[m:2*m], ints[2*m:3*m], ints[3*m:]
	k, ctot, rho := laed2(m, n1, d, q, ld, indxq, rho, z, dlambda, w, work, indx, indxc, indxp, coltyp)
	if k == 0 {
		for i := range indxq[:m] {
			indxq[i] = i
		}
		return nil
	}
	is := (ctot[0]+ctot[1])*n1 + (ctot[1]+ctot[2])*(m-n1)
	if err := laed3(k, m, n1, d, q, ld, rho, dlambda, work, indxc, ctot, w, work[is:]); err != nil {
		return err
	}
	lamrg(k, m-k, d, 1, -1, indxq)
	return nil
}

// Column types of laed2: nonzero in the first half's rows only, in both, in the second half's
// only, deflated.
const (
	colUpper = iota
	colDense
	colLower
	colDeflated
)

// laed2 deflates the merged problem (DLAED2): eigenvalues whose z component is negligible, and
// pairs of nearly equal eigenvalues (one of them zeroed by a plane rotation of their
// eigenvectors). It returns k, the order of the secular equation left, with dlambda[:k] its
// poles and w[:k] its z; ctot counts the columns of each type. The non-deflated eigenvectors are
// copied into q2 grouped by type (the first half's rows of types upper and dense, n1 x
// (ctot[0]+ctot[1]), then the second half's rows of types dense and lower), and the deflated
// ones are moved to q[:, k:] with their eigenvalues to d[k:]; indxc maps the secular equation's
// order to the grouped one. rho is returned as the positive scalar of the rank-one update.
func laed2(m, n1 int, d, q []float64, ld int, indxq []int, rho float64, z, dlambda, w, q2 []float64, indx, indxc, indxp, coltyp []int) (k int, ctot [4]int, rhoOut float64) {
	n2 := m - n1
	if rho < 0 {
		for i := n1; i < m; i++ {
			z[i] = -z[i]
		}
	}
	// Normalise z (the two halves' rows are unit vectors) and rho with it.
	t := 1 / math.Sqrt(2) // rounded as LAPACK's ONE/SQRT(TWO), not the exact constant
	for i := range z[:m] {
		z[i] *= t
	}
	rho = math.Abs(2 * rho)

	for i := n1; i < m; i++ {
		indxq[i] += n1
	}
	for i := 0; i < m; i++ {
		dlambda[i] = d[indxq[i]]
	}
	lamrg(n1, n2, dlambda, 1, 1, indxc)
	for i := 0; i < m; i++ {
		indx[i] = indxq[indxc[i]]
	}

	imax, jmax := 0, 0
	for i := 1; i < m; i++ {
		if math.Abs(z[i]) > math.Abs(z[imax]) {
			imax = i
		}
		if math.Abs(d[i]) > math.Abs(d[jmax]) {
			jmax = i
		}
	}
	// LAPACK's deflation tolerance, 8 eps. (Reference LAPACK raised it to 64 eps in June 2026
	// and reverted it in August, PR 1372: the eigenvectors of near-degenerate pairs lost
	// accuracy. 64 eps here also made residuals 10x LAPACK's dstedc on rank-deficient Gram
	// matrices.)
	const eps = 0x1p-53
	tol := 8 * eps * math.Max(math.Abs(d[jmax]), math.Abs(z[imax]))

	// If the rank-one update is negligible, the merged eigensystem is the halves' one, sorted.
	if rho*math.Abs(z[imax]) <= tol {
		for j := 0; j < m; j++ {
			i := indx[j]
			copy(q2[j*m:(j+1)*m], q[i*ld:i*ld+m])
			dlambda[j] = d[i]
		}
		for j := 0; j < m; j++ {
			copy(q[j*ld:j*ld+m], q2[j*m:(j+1)*m])
		}
		copy(d[:m], dlambda[:m])
		return 0, ctot, rho
	}

	for i := 0; i < n1; i++ {
		coltyp[i] = colUpper
	}
	for i := n1; i < m; i++ {
		coltyp[i] = colLower
	}

	// Walk the eigenvalues in ascending order. pj is the last one not (yet) deflated; a small z
	// component deflates nj at once, and a pair (pj, nj) close enough is rotated so that pj's z
	// component vanishes. Deflated eigenvalues go to the end of indxp, kept sorted.
	k2 := m
	pj := -1
	j := 0
	for ; j < m; j++ {
		nj := indx[j]
		if rho*math.Abs(z[nj]) <= tol {
			k2--
			coltyp[nj] = colDeflated
			indxp[k2] = nj
			continue
		}
		pj = nj
		break
	}
	// pj >= 0: z[imax] is not negligible.
	for j++; j < m; j++ {
		nj := indx[j]
		if rho*math.Abs(z[nj]) <= tol {
			k2--
			coltyp[nj] = colDeflated
			indxp[k2] = nj
			continue
		}
		s, c := z[pj], z[nj]
		tau := math.Hypot(c, s)
		t := d[nj] - d[pj]
		c /= tau
		s = -s / tau
		if math.Abs(t*c*s) > tol {
			dlambda[k] = d[pj]
			w[k] = z[pj]
			indxp[k] = pj
			k++
			pj = nj
			continue
		}
		// Deflate pj: rotate its eigenvector into nj's.
		z[nj] = tau
		z[pj] = 0
		if coltyp[nj] != coltyp[pj] {
			coltyp[nj] = colDense
		}
		coltyp[pj] = colDeflated
		x, y := q[pj*ld:pj*ld+m], q[nj*ld:nj*ld+m]
		for r := range x {
			xr, yr := x[r], y[r]
			x[r] = c*xr + s*yr
			y[r] = c*yr - s*xr
		}
		t = d[pj]*(c*c) + d[nj]*(s*s)
		d[nj] = d[pj]*(s*s) + d[nj]*(c*c)
		d[pj] = t
		k2--
		i := 1
		for k2+i < m && d[pj] < d[indxp[k2+i]] {
			indxp[k2+i-1] = indxp[k2+i]
			indxp[k2+i] = pj
			i++
		}
		indxp[k2+i-1] = pj
		pj = nj
	}
	dlambda[k] = d[pj]
	w[k] = z[pj]
	indxp[k] = pj // (LAPACK counts k up once more here; the count is not used again)

	// Group the columns by type: upper, dense, lower, deflated.
	for j := 0; j < m; j++ {
		ctot[coltyp[j]]++
	}
	var psm [4]int
	psm[1] = ctot[0]
	psm[2] = psm[1] + ctot[1]
	psm[3] = psm[2] + ctot[2]
	k = m - ctot[colDeflated]
	for j := 0; j < m; j++ {
		js := indxp[j]
		ct := coltyp[js]
		indx[psm[ct]] = js
		indxc[psm[ct]] = j
		psm[ct]++
	}

	// Pack the non-deflated columns' nonzero parts into q2; z is reused for the eigenvalues in
	// the new order.
	i := 0
	iq1 := 0
	iq2 := (ctot[0] + ctot[1]) * n1
	for j := 0; j < ctot[colUpper]; j++ {
		js := indx[i]
		copy(q2[iq1:iq1+n1], q[js*ld:js*ld+n1])
		z[i] = d[js]
		i++
		iq1 += n1
	}
	for j := 0; j < ctot[colDense]; j++ {
		js := indx[i]
		copy(q2[iq1:iq1+n1], q[js*ld:js*ld+n1])
		copy(q2[iq2:iq2+n2], q[js*ld+n1:js*ld+m])
		z[i] = d[js]
		i++
		iq1 += n1
		iq2 += n2
	}
	for j := 0; j < ctot[colLower]; j++ {
		js := indx[i]
		copy(q2[iq2:iq2+n2], q[js*ld+n1:js*ld+m])
		z[i] = d[js]
		i++
		iq2 += n2
	}
	iq1 = iq2
	for j := 0; j < ctot[colDeflated]; j++ {
		js := indx[i]
		copy(q2[iq2:iq2+m], q[js*ld:js*ld+m])
		iq2 += m
		z[i] = d[js]
		i++
	}
	// The deflated eigenvectors and eigenvalues go to the end of q and d.
	if k < m {
		for j := 0; j < ctot[colDeflated]; j++ {
			copy(q[(k+j)*ld:(k+j)*ld+m], q2[iq1+j*m:iq1+(j+1)*m])
		}
		copy(d[k:m], z[k:m])
	}
	return k, ctot, rho
}

// laed3 solves the secular equation of order k left by laed2 and forms the merged block's
// eigenvectors (DLAED3): d[:k] receives the roots, and q[:, :k] the eigenvectors, the products
// of the packed halves in q2 with the secular equation's eigenvectors, computed from the roots
// (Gu and Eisenstat: z recomputed from the roots, so the vectors are orthogonal to working
// accuracy). indx is laed2's indxc, ctot its column counts; w is destroyed; s (at least
// max(n12, n23)*k) is scratch.
func laed3(k, m, n1 int, d, q []float64, ld int, rho float64, dlambda, q2 []float64, indx []int, ctot [4]int, w, s []float64) error {
	// The roots, one per column: column j of q receives dlambda - root_j.
	var failed atomic.Bool
	parallelRows(k, k*k*40, func(j0, j1 int) {
		for j := j0; j < j1; j++ {
			dlam, ok := laed4(k, j, dlambda, w, q[j*ld:j*ld+k], rho)
			d[j] = dlam
			if !ok {
				failed.Store(true)
			}
		}
	})
	if failed.Load() {
		return errNoConvergence
	}

	switch k {
	case 1:
	case 2:
		for j := 0; j < k; j++ {
			w0, w1 := q[j*ld], q[1+j*ld]
			v := [2]float64{w0, w1}
			q[j*ld] = v[indx[0]]
			q[1+j*ld] = v[indx[1]]
		}
	default:
		// z recomputed from the roots: w[i]^2 = prod_j (dlambda_i - root_j) /
		// prod_{j != i} (dlambda_i - dlambda_j), signed as the original z.
		copy(s[:k], w[:k])
		for i := 0; i < k; i++ {
			w[i] = q[i+i*ld]
		}
		// Rows are independent, and each is a product over j in order whatever the split, so
		// the result does not depend on the number of cores.
		parallelRows(k, k*k*4, func(i0, i1 int) {
			for j := 0; j < k; j++ {
				col := q[j*ld : j*ld+k]
				dj := dlambda[j]
				for i := i0; i < i1; i++ {
					if i != j {
						w[i] *= col[i] / (dlambda[i] - dj)
					}
				}
			}
		})
		for i := 0; i < k; i++ {
			w[i] = math.Copysign(math.Sqrt(-w[i]), s[i])
		}
		// Eigenvector j: w ./ (dlambda - root_j), normalised, rows permuted by indx.
		parallelRows(k, k*k*6, func(j0, j1 int) {
			tmp := make([]float64, k)
			for j := j0; j < j1; j++ {
				col := q[j*ld : j*ld+k]
				for i := 0; i < k; i++ {
					tmp[i] = w[i] / col[i]
				}
				nrm := bl.Dnrm2(k, tmp, 1)
				for i := 0; i < k; i++ {
					col[i] = tmp[indx[i]] / nrm
				}
			}
		})
	}

	// Back-transform: the second half's rows from the dense and lower columns, the first
	// half's from the upper and dense ones. Column-major C = A B is row-major C^T = B^T A^T.
	n2 := m - n1
	n12 := ctot[colUpper] + ctot[colDense]
	n23 := ctot[colDense] + ctot[colLower]
	for j := 0; j < k; j++ {
		copy(s[j*n23:(j+1)*n23], q[ctot[colUpper]+j*ld:ctot[colUpper]+j*ld+n23])
	}
	iq2 := n1 * n12
	if n23 != 0 {
		level3.Dgemm(blas.NoTrans, blas.NoTrans, k, n2, n23, 1, s, n23, q2[iq2:], n2, 0, q[n1:], ld)
	} else {
		for j := 0; j < k; j++ {
			clear(q[n1+j*ld : m+j*ld])
		}
	}
	for j := 0; j < k; j++ {
		copy(s[j*n12:(j+1)*n12], q[j*ld:j*ld+n12])
	}
	if n12 != 0 {
		level3.Dgemm(blas.NoTrans, blas.NoTrans, k, n1, n12, 1, s, n12, q2, n1, 0, q, ld)
	} else {
		for j := 0; j < k; j++ {
			clear(q[j*ld : n1+j*ld])
		}
	}
	return nil
}

// lamrg (DLAMRG) writes into index the permutation that merges two sorted runs of a, a[:n1] and
// a[n1:n1+n2], into one ascending list; dtrd1 and dtrd2 (1 or -1) say whether each run is
// ascending or descending.
func lamrg(n1, n2 int, a []float64, dtrd1, dtrd2 int, index []int) {
	ind1, ind2 := 0, n1
	if dtrd1 < 0 {
		ind1 = n1 - 1
	}
	if dtrd2 < 0 {
		ind2 = n1 + n2 - 1
	}
	i := 0
	for n1 > 0 && n2 > 0 {
		if a[ind1] <= a[ind2] {
			index[i] = ind1
			ind1 += dtrd1
			n1--
		} else {
			index[i] = ind2
			ind2 += dtrd2
			n2--
		}
		i++
	}
	for ; n2 > 0; n2-- {
		index[i] = ind2
		ind2 += dtrd2
		i++
	}
	for ; n1 > 0; n1-- {
		index[i] = ind1
		ind1 += dtrd1
		i++
	}
}
