//go:build cuda

package cuda

import (
	"errors"
	"fmt"
	"math"

	"gorgonia.org/cu"

	"github.com/brainalign/brainalign/engine"
)

// Targets are scored in batches: as many columns as the device's free memory holds beside the
// split's factors, with leading dimensions padded for the tensor-core kernels; an
// allocation that runs out of device memory halves the batch, and the fold goes on.

// align is the granule, in elements, of the leading dimensions of the matrices the products
// read and write and of their stored row counts: cuBLAS's fast (tensor-core) kernels want C's
// rows (m), the stored rows of A and B (m or k, k or n, as transposed) and every leading
// dimension to be whole 16-byte vectors, and fall back to slower ones otherwise (cuBLAS
// documentation, "Tensor Core Usage"); W2's 17,958 training rows and 28,726 targets are not.
// The rank r is never a stored row count in these products (it is n of U^T Yc, k of the others)
// and is not padded. 32 elements also start every column on a 128-byte line.
const align = 32

// padded rounds n up to a whole number of granules.
func padded(n int) int { return (n + align - 1) / align * align }

// batchLd is the leading dimension of a batch of bs targets: bs padded to whole granules, or bs
// itself for a batch smaller than one granule (tiny problems, memory caps that tight).
func batchLd(bs int) int {
	if bs < align {
		return bs
	}
	return padded(bs)
}

// productRows is the number of target rows a product over a batch of mb targets runs over:
// mb padded within the batch's leading dimension. The rows past mb hold whatever is there
// (stale targets, never-written memory); a product's row depends on the same row of its
// operand only, so they never reach a real target.
func (b *batch) productRows(mb int) int { return min(padded(mb), b.ld) }

// batch holds the device buffers of one batch of up to bs targets. Its matrices are
// column-major with ld rows, a target per row (Yc^T and so on).
type batch struct {
	bs, ld               int
	yc, z, zf, yh, pred  cu.DevicePtr // precision t: ldu x ld, r x ld, r x ld, ldu x ld, ldp x ld (columns x ld)
	mean, best, rr, crit cu.DevicePtr // float64: bs, bs, bs, A x bs (shared penalty only)
	cnst, idx, deg       cu.DevicePtr // int32: bs
	staged               [2]cu.DevicePtr
	hostIdx              []int32
	hostR                []float64
	hostDeg              []int32
	hostCrit             []float64

	// Inner k-fold selection (KFoldInner only), sized for the largest inner split; the inner
	// training targets go to yh (ntr_i < ntr rows), the criteria to crit.
	kz, kgz, kpred cu.DevicePtr // precision t: r_i x ld, r_i x ld, ldp_i x ld
	kmean          cu.DevicePtr // float64: bs, the inner training means

	// TF32 mode with a complete decomposition: Zc = uc^T Yc (nc x ld), for complementResidual
	zc cu.DevicePtr

	// Splits with hot rows (split.hotOff): their float64 errors per penalty (A x ld)
	extra cu.DevicePtr
}

// perTarget is the device memory one target (one row of ld) of a batch takes.
func (r *runner) perTarget(sp *split, inner []*split) int64 {
	es := r.t.size()
	A := int64(len(r.s.opts.Alphas))
	b := es*(2*int64(sp.ldu)+2*int64(sp.r)+int64(sp.ldp)) + 8*(3+A) + 4*3
	if r.s.dy == 0 {
		b += 2 * es * int64(r.s.y.Rows)
	}
	if len(inner) > 0 {
		rmax, ldpmax := innerMax(inner)
		b += es*(2*int64(rmax)+int64(ldpmax)) + 8
	}
	if sp.ucl != 0 {
		b += es * int64(sp.nc)
	}
	if sp.hotOff != nil {
		b += 8 * A
	}
	return b
}

// innerMax returns the largest rank and padded validation size over the inner splits.
func innerMax(inner []*split) (rmax, ldpmax int) {
	for _, sp := range inner {
		rmax, ldpmax = max(rmax, sp.r), max(ldpmax, sp.ldp)
	}
	return rmax, ldpmax
}

// maxColumns is the most columns (of ld rows) of any batch matrix: cuBLAS's 32-bit interface
// is not trusted with a matrix past 2^31 elements, so batches stay under 2^31 / maxColumns.
func maxColumns(sp *split, inner []*split) int {
	rmax, ldpmax := innerMax(inner)
	return max(sp.ldu, sp.ldp, sp.r, rmax, ldpmax, 1)
}

func (r *runner) allocBatch(p *pool, sp *split, inner []*split, bs, ld int) (*batch, error) {
	es, A := r.t.size(), int64(len(r.s.opts.Alphas))
	b := &batch{bs: bs, ld: ld}
	n, nl := int64(bs), int64(ld)
	var err error
	own := pool{d: p.d} // released on failure without touching p's other allocations
	alloc := allocUntil(&err)
	al := func(bytes int64) cu.DevicePtr { return alloc(&own, bytes) }
	b.yc = al(es * int64(sp.ldu) * nl)
	b.yh = al(es * int64(sp.ldu) * nl)
	b.z = al(es * int64(sp.r) * nl)
	b.zf = al(es * int64(sp.r) * nl)
	b.pred = al(es * int64(sp.ldp) * nl)
	b.mean, b.best, b.rr = al(8*n), al(8*n), al(8*n)
	if r.s.opts.SharedAlpha || len(inner) > 0 {
		b.crit = al(8 * A * n)
	}
	if len(inner) > 0 {
		rmax, ldpmax := innerMax(inner)
		b.kz = al(es * int64(rmax) * nl)
		b.kgz = al(es * int64(rmax) * nl)
		b.kpred = al(es * int64(ldpmax) * nl)
		b.kmean = al(8 * n)
	}
	if sp.ucl != 0 {
		b.zc = al(es * int64(sp.nc) * nl)
	}
	if sp.hotOff != nil {
		b.extra = al(8 * A * n)
	}
	b.cnst, b.idx, b.deg = al(4*n), al(4*n), al(4*n)
	if r.s.dy == 0 {
		b.staged[0] = al(es * int64(r.s.y.Rows) * n)
		b.staged[1] = al(es * int64(r.s.y.Rows) * n)
	}
	if err != nil {
		own.release()
		return nil, err
	}
	p.ptrs = append(p.ptrs, own.ptrs...)
	b.hostIdx, b.hostR, b.hostDeg = make([]int32, bs), make([]float64, bs), make([]int32, bs)
	return b, nil
}

// batches sizes and allocates the target batch: from the free device memory capped by the
// memory limit and MaxBatch, or bs when it is not 0 (a retry); an out-of-memory allocation
// halves the batch and retries.
func (r *runner) batches(p *pool, sp *split, inner []*split, bs int) (*batch, error) {
	d, m := r.d, r.s.y.Cols
	per, fit := r.fitTargets(sp, inner, 0)
	bs = r.batchSize(sp, inner, fit, bs)
	most := math.MaxInt32 / maxColumns(sp, inner)
	ld := batchLd(bs)
	if (int64(ld) > fit && bs == m) || ld > most {
		ld = bs // every target fits, their padding does not; or the padding would pass 2^31
	}
	if r.s.failAllocs > 0 {
		d.failAllocs, r.s.failAllocs = r.s.failAllocs, 0
	}
	for {
		b, err := r.allocBatch(p, sp, inner, bs, ld)
		if err == nil {
			return b, nil
		}
		if !errors.Is(err, errDeviceOOM) || bs == 1 {
			return nil, r.oom(fmt.Sprintf("a batch of %d targets (%s)", bs, engine.FormatBytes(int64(ld)*per)), err)
		}
		bs = wholeGranules(bs / 2)
		ld = batchLd(bs)
	}
}

// fitTargets returns the bytes one target's batch columns take and how many targets fit in the
// memory left (free device memory, and the engine's limit), with freed more bytes.
func (r *runner) fitTargets(sp *split, inner []*split, freed int64) (per, fit int64) {
	d := r.d
	per = r.perTarget(sp, inner)
	avail := (d.freeMem() + freed) * 9 / 10
	if d.limit > 0 {
		avail = min(avail, d.limit-d.used+freed)
	}
	return per, max(avail/per, 0)
}

// batchSize is the batch for fit targets of memory (bs, when not 0, chosen already), in whole
// granules unless every target fits, capped by 2^31 elements per matrix and MaxBatch.
func (r *runner) batchSize(sp *split, inner []*split, fit int64, bs int) int {
	m := r.s.y.Cols
	if bs == 0 {
		bs = int(min(fit, int64(m)))
		if bs < m {
			bs = wholeGranules(bs)
		}
	}
	if most := math.MaxInt32 / maxColumns(sp, inner); bs > most {
		bs = wholeGranules(most)
	}
	if r.s.opts.MaxBatch > 0 {
		bs = min(bs, r.s.opts.MaxBatch)
	}
	return max(bs, 1)
}

// costsBatches reports whether holding fz (the next matrix's work, queued during this last
// fold) would split the fold's targets into more batches than without it.
func (r *runner) costsBatches(sp *split, inner []*split, fz *factoring) bool {
	m := r.s.y.Cols
	batches := func(freed int64) int {
		_, fit := r.fitTargets(sp, inner, freed)
		bs := r.batchSize(sp, inner, fit, 0)
		return (m + bs - 1) / bs
	}
	return batches(0) > batches(fz.bytes(r.d))
}

// wholeGranules rounds a batch size down to whole granules (align), when it is at least one.
func wholeGranules(bs int) int {
	if bs < align {
		return bs
	}
	return bs / align * align
}
