package fallback

import (
	"unsafe"

	"github.com/brainalign/brainalign/engine"
	"github.com/brainalign/brainalign/internal/gemm"
)

// packUse counts the packing buffers of internal/gemm's products (a block of A and a panel of B
// per goroutine) for a memory plan. They are per goroutine, so a many-core node multiplies them:
// 128 goroutines of up to 8.7 MiB each in float32 (held 0.8 GB at once in a run at
// GOMAXPROCS=128 that counted none of it). Products that share a pool (one precision) share
// its buffers: at most the most goroutines of any running at once, each holding the largest
// buffer any of them took.
type packUse struct {
	goroutines int // goroutines that may hold a buffer at once
	each       int64
}

// add counts a product of op(A) m x k and op(B) k x n (a transposed operand per aT, bT), run
// by callers products at once (decompositions side by side).
func (p *packUse) add(callers, m, n, k int, double, aT, bT bool) {
	if _, ours := level3.(gemm.Implementation); !ours {
		return // other libraries' buffers (OpenBLAS's) are their own
	}
	g, each := gemm.Packing(m, n, k, double, aT, bT)
	p.goroutines = max(p.goroutines, callers*g)
	p.each = max(p.each, each)
}

func (p packUse) bytes() int64 { return int64(p.goroutines) * p.each }

// addDecomposition counts the float64 products of one outer split's decomposition of ntr
// training and nte test rows of d features (decomposeFrom, and internal/eigen's where it runs
// the eigendecomposition), callers of them side by side.
func (p *packUse) addDecomposition(callers, ntr, nte, d int) {
	size := min(ntr, d)
	if ntr > d {
		p.add(callers, min(512, d), d, ntr, true, false, false) // Gram blocks
		p.add(callers, ntr, d, d, true, false, false)           // U = Xc V
		p.add(callers, nte, d, d, true, false, false)           // P
	} else {
		w := min(d, featureBlock)
		p.add(callers, min(512, ntr), ntr, w, true, false, false) // Gram blocks
		p.add(callers, nte, ntr, w, true, false, false)           // the test rows' kernel
		p.add(callers, nte, ntr, ntr, true, false, false)         // P
		p.add(callers, w, ntr, ntr, true, false, false)           // V, a block of features (Predict)
	}
	if eigenStops { // internal/eigen: its trailing updates and Q's blocks of reflectors
		p.add(callers, 256, size, 64, true, true, false)
		p.add(callers, 128, size, size, true, false, false)
		p.add(callers, 128, size, 128, true, false, false)
		p.add(callers, size, size, 128, true, true, false)
		p.add(callers, 128, 128, size, true, false, true)
	}
}

// pooled is what two uses of one pool hold at once: all their goroutines, each with the largest
// buffer of either.
func pooled(a, b packUse) int64 { return int64(a.goroutines+b.goroutines) * max(a.each, b.each) }

// packing is the memory the products' packing buffers hold while batches of bs targets are
// scored with these splits, beyond the decompositions' (r.decPack, counted by the caller): the
// batch's products in precision T and, in float32, leave-one-out's float64
// products for rows of leverage near 1. In float64 all share one pool with the decompositions.
func (r *runner[T]) packing(outer *split[T], inner []*split[T], bs int) int64 {
	var zero T
	double := unsafe.Sizeof(zero) == 8
	var batch, exact packUse
	d, opts := outer.dec, r.s.opts
	batch.add(1, d.r, bs, d.ntr, double, false, false) // Z
	if opts.Inner.Mode == engine.LOO || opts.Inner.Mode == engine.GCV {
		batch.add(1, d.nc, bs, d.ntr, double, false, false)
	}
	if opts.Inner.Mode == engine.LOO {
		batch.add(1, d.ntr, bs, d.r, double, false, false)
		batch.add(1, d.ntr, bs, d.nc, double, false, false)
		if !double { // exactRows
			exact.add(1, d.ntr, 1, d.r, true, false, false)
			exact.add(1, engine.LOOHotRows, min(bs, 128), d.ntr, true, false, false)
		}
	}
	for _, sp := range inner {
		batch.add(1, sp.dec.r, bs, sp.dec.ntr, double, false, false)
		batch.add(1, sp.dec.nte, bs, sp.dec.r, double, false, false)
	}
	batch.add(1, d.nte, bs, d.r, double, false, false) // the held-out predictions
	if r.pred != nil && r.pred.weights {
		batch.add(1, r.x.Cols, bs, d.r, double, false, false)
	}
	if double {
		return pooled(batch, r.decPack) - r.decPack.bytes()
	}
	return batch.bytes() + pooled(exact, r.decPack) - r.decPack.bytes()
}
