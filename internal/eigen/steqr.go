package eigen

import (
	"cmp"
	"context"
	"errors"
	"math"
	"slices"

	"gonum.org/v1/gonum/lapack"
)

// steqr follows the reference LAPACK routine DSTEQR (netlib LAPACK 3, modified BSD licence)
// step by step (its scaling, deflation tests, shifts and iteration cap), so that its results are
// LAPACK's, with one change: the plane rotations of each QL/QR sweep
// are queued instead of being applied to z at once, and the queue is applied row by row
// (rotQueue.flush). The iteration on (d, e) never reads z, so deferring is exact: z receives the
// same rotations in the same order. On return d holds the eigenvalues ascending and z
// (n x n, row-major, holding Q on entry) the eigenvectors as columns. It returns
// errNoConvergence after LAPACK's iteration cap, or ctx.Err() when ctx is done (looked at after
// each batch of rotations, which is where the time goes).
func steqr(ctx context.Context, n int, d, e, z []float64) error {
	const (
		eps    = 0x1p-53 // dlamchE
		safmin = 0x1p-1022
		maxit  = 30
	)
	eps2 := eps * eps
	safmax := 1 / safmin
	ssfmax := math.Sqrt(safmax) / 3
	ssfmin := math.Sqrt(safmin) / eps2

	q := newRotQueue(n, z)
	q.ctx = ctx
	nmaxit := n * maxit
	jtot := 0
	l1 := 0
	nm1 := n - 1
	for l1 <= n-1 {
		if l1 > 0 {
			e[l1-1] = 0
		}
		var m int
		for m = l1; m < nm1; m++ {
			test := math.Abs(e[m])
			if test == 0 {
				break
			}
			if test <= (math.Sqrt(math.Abs(d[m]))*math.Sqrt(math.Abs(d[m+1])))*eps {
				e[m] = 0
				break
			}
		}
		l := l1
		lsv := l
		lend := m
		lendsv := lend
		l1 = m + 1
		if lend == l {
			continue
		}

		// Scale the block to a safe range.
		anorm := lp.Dlanst(lapack.MaxAbs, lend-l+1, d[l:], e[l:])
		scale := 0.0
		switch {
		case anorm == 0:
			continue
		case anorm > ssfmax:
			scale = ssfmax
		case anorm < ssfmin:
			scale = ssfmin
		}
		if scale != 0 {
			lp.Dlascl(lapack.General, 0, 0, anorm, scale, lend-l+1, 1, d[l:], 1)
			lp.Dlascl(lapack.General, 0, 0, anorm, scale, lend-l, 1, e[l:], 1)
		}

		// QL if the top end is the smaller in magnitude, else QR.
		if math.Abs(d[lend]) < math.Abs(d[l]) {
			lend = lsv
			l = lendsv
		}
		if lend > l {
			// QL iteration.
			for {
				if l != lend {
					for m = l; m < lend; m++ {
						v := math.Abs(e[m])
						if v*v <= (eps2*math.Abs(d[m]))*math.Abs(d[m+1])+safmin {
							break
						}
					}
				} else {
					m = lend
				}
				if m < lend {
					e[m] = 0
				}
				p := d[l]
				if m == l {
					l++
					if l > lend {
						break
					}
					continue
				}
				if m == l+1 {
					var c, s float64
					d[l], d[l+1], c, s = lp.Dlaev2(d[l], e[l], d[l+1])
					c2, s2 := q.add(l, 1, false)
					c2[0], s2[0] = c, s
					e[l] = 0
					l += 2
					if l > lend {
						break
					}
					continue
				}
				if jtot == nmaxit || q.stopped {
					break
				}
				jtot++

				g := (d[l+1] - p) / (2 * e[l])
				r := math.Hypot(g, 1)
				g = d[m] - p + e[l]/(g+math.Copysign(r, g))
				s := 1.0
				c := 1.0
				p = 0.0
				cs, ss := q.add(l, m-l, false)
				for i := m - 1; i >= l; i-- {
					f := s * e[i]
					b := c * e[i]
					c, s, r = lp.Dlartg(g, f)
					if i != m-1 {
						e[i+1] = r
					}
					g = d[i+1] - p
					r = (d[i]-g)*s + 2*c*b
					p = s * r
					d[i+1] = g + p
					g = c*r - b
					cs[i-l], ss[i-l] = c, -s
				}
				d[l] -= p
				e[l] = g
			}
		} else {
			// QR iteration.
			for {
				if l != lend {
					for m = l; m > lend; m-- {
						v := math.Abs(e[m-1])
						if v*v <= (eps2*math.Abs(d[m])*math.Abs(d[m-1]) + safmin) {
							break
						}
					}
				} else {
					m = lend
				}
				if m > lend {
					e[m-1] = 0
				}
				p := d[l]
				if m == l {
					l--
					if l < lend {
						break
					}
					continue
				}
				if m == l-1 {
					var c, s float64
					d[l-1], d[l], c, s = lp.Dlaev2(d[l-1], e[l-1], d[l])
					c2, s2 := q.add(m, 1, true)
					c2[0], s2[0] = c, s
					e[l-1] = 0
					l -= 2
					if l < lend {
						break
					}
					continue
				}
				if jtot == nmaxit || q.stopped {
					break
				}
				jtot++

				g := (d[l-1] - p) / (2 * e[l-1])
				r := math.Hypot(g, 1)
				g = d[m] - p + (e[l-1])/(g+math.Copysign(r, g))
				s := 1.0
				c := 1.0
				p = 0.0
				cs, ss := q.add(m, l-m, true)
				for i := m; i < l; i++ {
					f := s * e[i]
					b := c * e[i]
					c, s, r = lp.Dlartg(g, f)
					if i != m {
						e[i-1] = r
					}
					g = d[i] - p
					r = (d[i+1]-g)*s + 2*c*b
					p = s * r
					d[i] = g + p
					g = c*r - b
					cs[i-m], ss[i-m] = c, s
				}
				d[l] -= p
				e[l-1] = g
			}
		}

		if scale != 0 {
			lp.Dlascl(lapack.General, 0, 0, scale, anorm, lendsv-lsv+1, 1, d[lsv:], 1)
			lp.Dlascl(lapack.General, 0, 0, scale, anorm, lendsv-lsv, 1, e[lsv:], 1)
		}
		if jtot >= nmaxit || q.stopped {
			break
		}
	}
	q.flush()
	if q.stopped {
		return ctx.Err()
	}
	for i := 0; i < n-1; i++ {
		if e[i] != 0 {
			return errNoConvergence
		}
	}
	sortEigen(n, d, z)
	return nil
}

// sortValues sorts d ascending (stably) and returns the permutation applied: d[j] is now the
// old d[perm[j]]. sorted says whether d was already in order (perm is then the identity).
func sortValues(d []float64) (perm []int, sorted bool) {
	perm = make([]int, len(d))
	for i := range perm {
		perm[i] = i
	}
	if slices.IsSorted(d) {
		return perm, true
	}
	slices.SortStableFunc(perm, func(i, j int) int { return cmp.Compare(d[i], d[j]) })
	dd := slices.Clone(d)
	for j, p := range perm {
		d[j] = dd[p]
	}
	return perm, false
}

var errNoConvergence = errors.New("eigen: QL iteration did not converge")

// sortEigen orders d ascending and permutes the columns of z to match (one pass per row
// instead of LAPACK's column swaps, which stride through z).
func sortEigen(n int, d, z []float64) {
	perm, sorted := sortValues(d[:n])
	if sorted {
		return
	}
	parallelRows(n, n, func(r0, r1 int) {
		tmp := make([]float64, n)
		for i := r0; i < r1; i++ {
			row := z[i*n : (i+1)*n]
			for j, p := range perm {
				tmp[j] = row[p]
			}
			copy(row, tmp)
		}
	})
}
