package eigen

import (
	"context"
	"runtime"
	"sync"
)

// A sweep is one QL or QR sweep's plane rotations: rotation t (c[pos+t], s[pos+t]) acts on the
// columns off+t and off+t+1 of z, as LAPACK's Dlasr(Right, Variable, Forward|Backward) does,
// in ascending t for forward sweeps and descending t for backward ones.
type sweep struct {
	off, k, pos int
	forward     bool
}

// rotQueue collects sweeps and applies them to z in batches. Dlasr applies each rotation to two
// columns of the row-major z, striding by n through memory for every element; here each row of
// z takes the whole batch in turn while it sits in L1, the rotations stream from L2, four rows
// share each load of a rotation and hide each other's latency, and the rows are split across
// cores (they are independent).
type rotQueue struct {
	n      int
	z      []float64
	sweeps []sweep
	c, s   []float64
	limit  int

	ctx     context.Context // when done, flush sets stopped and drops the queue
	stopped bool
}

// batchRotations bounds a batch so that its coefficients (16 bytes a rotation) stay in L2.
const batchRotations = 1 << 18

func newRotQueue(n int, z []float64) *rotQueue {
	// A whole QL/QR run takes a few n^2 rotations: small matrices (divide and conquer's leaves)
	// need not allocate a full batch.
	limit := max(min(batchRotations, 4*n*n), n)
	return &rotQueue{n: n, z: z, c: make([]float64, 0, limit), s: make([]float64, 0, limit), limit: limit}
}

// add queues a sweep of k rotations starting at column off and returns the slices its
// coefficients are to be written to.
func (q *rotQueue) add(off, k int, forward bool) (c, s []float64) {
	if len(q.c)+k > q.limit {
		q.flush()
	}
	pos := len(q.c)
	q.c = q.c[:pos+k]
	q.s = q.s[:pos+k]
	q.sweeps = append(q.sweeps, sweep{off: off, k: k, pos: pos, forward: forward})
	return q.c[pos : pos+k], q.s[pos : pos+k]
}

// flush applies the queued sweeps to z and empties the queue.
func (q *rotQueue) flush() {
	if len(q.sweeps) == 0 {
		return
	}
	if q.ctx != nil && q.ctx.Err() != nil {
		q.stopped = true
	}
	switch {
	case q.stopped: // dropped: z is abandoned
	case useRot16:
		q.flush16()
	default:
		q.flush4()
	}
	q.sweeps = q.sweeps[:0]
	q.c = q.c[:0]
	q.s = q.s[:0]
}

// interleaved holds 16 rows of z interleaved for the assembly kernels, one per worker.
var interleaved sync.Pool

// flush16 applies the queued sweeps with the AVX2 kernels, 16 rows at a time: the rows' columns
// touched by the batch are copied interleaved (element j of row r at buf[j*16+r]; missing rows
// of the last block are zeros), every sweep runs along them with four vector registers of rows
// in flight, and they are copied back. Each row gets the same arithmetic whichever block and
// core it falls to, so results do not depend on the number of cores.
func (q *rotQueue) flush16() {
	n, z := q.n, q.z
	sweeps, c, s := q.sweeps, q.c, q.s
	if len(sweeps) == 0 {
		return
	}
	lo, hi := n, 0
	for _, sw := range sweeps {
		lo, hi = min(lo, sw.off), max(hi, sw.off+sw.k+1)
	}
	w := hi - lo
	blocks := (n + 15) / 16
	parallelRows(blocks, len(c)*n, func(b0, b1 int) {
		bp, _ := interleaved.Get().(*[]float64)
		if bp == nil || cap(*bp) < 16*w {
			b := make([]float64, 16*w)
			bp = &b
		}
		buf := (*bp)[:16*w]
		defer interleaved.Put(bp)
		for b := b0; b < b1; b++ {
			r0 := 16 * b
			rows := min(16, n-r0)
			for i := 0; i < rows; i++ {
				row := z[(r0+i)*n+lo : (r0+i)*n+hi]
				for j, v := range row {
					buf[j*16+i] = v
				}
			}
			for i := rows; i < 16; i++ {
				for j := 0; j < w; j++ {
					buf[j*16+i] = 0
				}
			}
			for _, sw := range sweeps {
				if sw.k == 0 {
					continue
				}
				_ = buf[(sw.off-lo+sw.k)*16+15] // the kernel's extent
				p := &buf[(sw.off-lo)*16]
				if sw.forward {
					rotFwd16AVX2(p, &c[sw.pos], &s[sw.pos], sw.k)
				} else {
					rotBwd16AVX2(p, &c[sw.pos], &s[sw.pos], sw.k)
				}
			}
			for i := 0; i < rows; i++ {
				row := z[(r0+i)*n+lo : (r0+i)*n+hi]
				for j := range row {
					row[j] = buf[j*16+i]
				}
			}
		}
	})
}

// flush4 applies the queued sweeps in Go, four rows at a time.
func (q *rotQueue) flush4() {
	n, z := q.n, q.z
	sweeps, c, s := q.sweeps, q.c, q.s
	parallelRows(n, len(c)*n, func(r0, r1 int) {
		i := r0
		for ; i+4 <= r1; i += 4 {
			a0 := z[i*n : (i+1)*n]
			a1 := z[(i+1)*n : (i+2)*n]
			a2 := z[(i+2)*n : (i+3)*n]
			a3 := z[(i+3)*n : (i+4)*n]
			for _, sw := range sweeps {
				cc, ss := c[sw.pos:sw.pos+sw.k], s[sw.pos:sw.pos+sw.k]
				end := sw.off + sw.k + 1
				if sw.forward {
					fwd4(a0[sw.off:end], a1[sw.off:end], a2[sw.off:end], a3[sw.off:end], cc, ss)
				} else {
					bwd4(a0[sw.off:end], a1[sw.off:end], a2[sw.off:end], a3[sw.off:end], cc, ss)
				}
			}
		}
		for ; i < r1; i++ {
			a0 := z[i*n : (i+1)*n]
			for _, sw := range sweeps {
				cc, ss := c[sw.pos:sw.pos+sw.k], s[sw.pos:sw.pos+sw.k]
				end := sw.off + sw.k + 1
				if sw.forward {
					fwd1(a0[sw.off:end], cc, ss)
				} else {
					bwd1(a0[sw.off:end], cc, ss)
				}
			}
		}
	})
}

// fwd4 applies rotations t = 0, 1, ... to the element pairs (t, t+1) of four rows, each
// len(c)+1 long. The element about to be rotated again is carried in a register.
func fwd4(a0, a1, a2, a3, c, s []float64) {
	k := len(c)
	s = s[:k]
	a0, a1, a2, a3 = a0[:k+1], a1[:k+1], a2[:k+1], a3[:k+1]
	x0, x1, x2, x3 := a0[0], a1[0], a2[0], a3[0]
	for t := 0; t < k; t++ {
		ct, st := c[t], s[t]
		y0, y1, y2, y3 := a0[t+1], a1[t+1], a2[t+1], a3[t+1]
		a0[t] = st*y0 + ct*x0
		a1[t] = st*y1 + ct*x1
		a2[t] = st*y2 + ct*x2
		a3[t] = st*y3 + ct*x3
		x0 = ct*y0 - st*x0
		x1 = ct*y1 - st*x1
		x2 = ct*y2 - st*x2
		x3 = ct*y3 - st*x3
	}
	a0[k], a1[k], a2[k], a3[k] = x0, x1, x2, x3
}

// bwd4 is fwd4 with the rotations applied in descending order.
func bwd4(a0, a1, a2, a3, c, s []float64) {
	k := len(c)
	s = s[:k]
	a0, a1, a2, a3 = a0[:k+1], a1[:k+1], a2[:k+1], a3[:k+1]
	x0, x1, x2, x3 := a0[k], a1[k], a2[k], a3[k]
	for t := k - 1; t >= 0; t-- {
		ct, st := c[t], s[t]
		y0, y1, y2, y3 := a0[t], a1[t], a2[t], a3[t]
		a0[t+1] = ct*x0 - st*y0
		a1[t+1] = ct*x1 - st*y1
		a2[t+1] = ct*x2 - st*y2
		a3[t+1] = ct*x3 - st*y3
		x0 = st*x0 + ct*y0
		x1 = st*x1 + ct*y1
		x2 = st*x2 + ct*y2
		x3 = st*x3 + ct*y3
	}
	a0[0], a1[0], a2[0], a3[0] = x0, x1, x2, x3
}

func fwd1(a, c, s []float64) {
	k := len(c)
	s = s[:k]
	a = a[:k+1]
	x := a[0]
	for t := 0; t < k; t++ {
		y := a[t+1]
		a[t] = s[t]*y + c[t]*x
		x = c[t]*y - s[t]*x
	}
	a[k] = x
}

func bwd1(a, c, s []float64) {
	k := len(c)
	s = s[:k]
	a = a[:k+1]
	x := a[k]
	for t := k - 1; t >= 0; t-- {
		y := a[t]
		a[t+1] = c[t]*x - s[t]*y
		x = s[t]*x + c[t]*y
	}
	a[0] = x
}

// parallelRows calls fn on contiguous ranges covering [0, rows) (rows of z here; rows or
// columns elsewhere), on up to GOMAXPROCS goroutines when the work (in flops-ish units) is
// worth the start-up.
func parallelRows(rows, work int, fn func(r0, r1 int)) {
	p := runtime.GOMAXPROCS(0)
	if work < 1<<17 || rows < 8 {
		p = 1
	}
	// Chunks are multiples of four rows so that the four-row kernel covers them.
	chunk := (rows + p - 1) / p
	chunk = (chunk + 3) &^ 3
	if chunk >= rows {
		fn(0, rows)
		return
	}
	var wg sync.WaitGroup
	for r0 := chunk; r0 < rows; r0 += chunk {
		wg.Add(1)
		go func(r0, r1 int) {
			defer wg.Done()
			fn(r0, r1)
		}(r0, min(r0+chunk, rows))
	}
	fn(0, min(chunk, rows))
	wg.Wait()
}
