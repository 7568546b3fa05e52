package gemm

import (
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// Implementation provides Sgemm and Dgemm with gonum's blas signatures. It
// embeds gonum's pure-Go implementation for every other BLAS routine, so it
// satisfies blas.Float32 and blas.Float64 and can be installed whole with
// blas32.Use / blas64.Use (then gonum/mat products run on these kernels).
// It is an empty struct: Implementation{} is ready to use.
type Implementation struct {
	gonum.Implementation
}

var (
	_ blas.Float32 = Implementation{}
	_ blas.Float64 = Implementation{}
)

// Panic messages, identical to gonum's blas/gonum.
const (
	mLT0         = "blas: m < 0"
	nLT0         = "blas: n < 0"
	kLT0         = "blas: k < 0"
	badTranspose = "blas: illegal transpose"
	badLdA       = "blas: bad leading dimension of A"
	badLdB       = "blas: bad leading dimension of B"
	badLdC       = "blas: bad leading dimension of C"
	shortA       = "blas: insufficient length of a"
	shortB       = "blas: insufficient length of b"
	shortC       = "blas: insufficient length of c"
)

// kernel describes one micro-kernel and the cache blocking used with it.
type kernel[T float32 | float64] struct {
	name       string
	mr, nr     int // micro-tile
	kc, mc, nc int // cache blocks; mc is a multiple of mr, nc of nr
	fn         func(k int, a, b, c *T, ldc int, alpha, beta T)
}

// kernelSet is one instruction set's pair of micro-kernels. Each architecture's
// kernels_*.go lists in kernelSets the sets this CPU runs, best first.
type kernelSet struct {
	name string
	k32  *kernel[float32]
	k64  *kernel[float64]
}

// Selected kernels; nil means fall back to gonum. Set by useKernels.
var (
	kern32 *kernel[float32]
	kern64 *kernel[float64]
)

func init() { useKernels(bestKernels()) }

// bestKernels is the first of kernelSets, or nil when this CPU has none.
func bestKernels() *kernelSet {
	if len(kernelSets) == 0 {
		return nil
	}
	return &kernelSets[0]
}

// useKernels installs a kernel set (nil: gonum). Tests and benchmarks use it to
// run every set this CPU has.
func useKernels(ks *kernelSet) {
	kern32, kern64 = nil, nil
	if ks != nil {
		kern32, kern64 = ks.k32, ks.k64
	}
}

// forceFallback makes Sgemm and Dgemm delegate to gonum (used by tests).
var forceFallback bool

// Available reports whether a SIMD kernel runs on this CPU. When false, the
// methods of Implementation delegate to gonum's blas/gonum implementation.
func Available() bool { return len(kernelSets) > 0 }

// Kernel names the micro-kernels in use ("avx512", "avx2", "neon" or "gonum").
func Kernel() string {
	if kern32 == nil || forceFallback {
		return "gonum"
	}
	return kern32.name
}

// Sgemm performs C = alpha * op(A) * op(B) + beta * C for float32 row-major
// matrices, where op(A) is m×k, op(B) is k×n and C is m×n.
func (Implementation) Sgemm(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if kern32 == nil || forceFallback {
		gonum.Implementation{}.Sgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	gemm(kern32, tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// Dgemm performs C = alpha * op(A) * op(B) + beta * C for float64 row-major
// matrices, where op(A) is m×k, op(B) is k×n and C is m×n.
func (Implementation) Dgemm(tA, tB blas.Transpose, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	if kern64 == nil || forceFallback {
		gonum.Implementation{}.Dgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	gemm(kern64, tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// checkArgs panics as gonum's gemm does; it reports whether there is work.
func checkArgs(tA, tB blas.Transpose, m, n, k, lenA, lda, lenB, ldb, lenC, ldc int) (aTrans, bTrans, work bool) {
	switch tA {
	default:
		panic(badTranspose)
	case blas.NoTrans, blas.Trans, blas.ConjTrans:
	}
	switch tB {
	default:
		panic(badTranspose)
	case blas.NoTrans, blas.Trans, blas.ConjTrans:
	}
	if m < 0 {
		panic(mLT0)
	}
	if n < 0 {
		panic(nLT0)
	}
	if k < 0 {
		panic(kLT0)
	}
	aTrans = tA == blas.Trans || tA == blas.ConjTrans
	if aTrans {
		if lda < max(1, m) {
			panic(badLdA)
		}
	} else {
		if lda < max(1, k) {
			panic(badLdA)
		}
	}
	bTrans = tB == blas.Trans || tB == blas.ConjTrans
	if bTrans {
		if ldb < max(1, k) {
			panic(badLdB)
		}
	} else {
		if ldb < max(1, n) {
			panic(badLdB)
		}
	}
	if ldc < max(1, n) {
		panic(badLdC)
	}
	if m == 0 || n == 0 {
		return aTrans, bTrans, false
	}
	if aTrans {
		if lenA < (k-1)*lda+m {
			panic(shortA)
		}
	} else {
		if lenA < (m-1)*lda+k {
			panic(shortA)
		}
	}
	if bTrans {
		if lenB < (n-1)*ldb+k {
			panic(shortB)
		}
	} else {
		if lenB < (k-1)*ldb+n {
			panic(shortB)
		}
	}
	if lenC < (m-1)*ldc+n {
		panic(shortC)
	}
	return aTrans, bTrans, true
}

// scaleC sets C = beta*C (C = 0 when beta == 0, without reading C).
func scaleC[T float32 | float64](m, n int, beta T, c []T, ldc int) {
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(row)
			continue
		}
		for j := range row {
			row[j] *= beta
		}
	}
}

// minParallelWork is the m*n*k below which the product runs on one goroutine.
const minParallelWork = 96 * 96 * 96

func gemm[T float32 | float64](kn *kernel[T], tA, tB blas.Transpose, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	aTrans, bTrans, work := checkArgs(tA, tB, m, n, k, len(a), lda, len(b), ldb, len(c), ldc)
	if !work {
		return
	}
	if alpha == 0 || k == 0 {
		if beta != 1 {
			scaleC(m, n, beta, c, ldc)
		}
		return
	}
	if m == 1 {
		// A row vector times a matrix: the MR-row tile would waste most of
		// its work; gonum's axpy loops are faster here.
		switch c := any(c).(type) {
		case []float32:
			gonum.Implementation{}.Sgemm(tA, tB, m, n, k, float32(alpha), any(a).([]float32), lda, any(b).([]float32), ldb, float32(beta), c, ldc)
		case []float64:
			gonum.Implementation{}.Dgemm(tA, tB, m, n, k, float64(alpha), any(a).([]float64), lda, any(b).([]float64), ldb, float64(beta), c, ldc)
		}
		return
	}
	p := &problem[T]{kn: kn, aTrans: aTrans, bTrans: bTrans, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc}
	g := planGrid(m, n, k, kn.mr, kn.nr, kn.nc, aTrans, bTrans, runtime.GOMAXPROCS(0))
	if g.rows*g.cols == 1 {
		p.run(0, m, 0, n)
		return
	}
	mt := (m + kn.mr - 1) / kn.mr // row tiles
	nt := (n + kn.nr - 1) / kn.nr // column tiles
	var wg sync.WaitGroup
	for r := 0; r < g.rows; r++ {
		// ranges of whole tiles: every tile of C is the same kernel calls on any grid, so the
		// product has the same bits on any number of cores
		i0, i1 := min(m, mt*r/g.rows*kn.mr), min(m, mt*(r+1)/g.rows*kn.mr)
		for col := 0; col < g.cols; col++ {
			j0, j1 := min(n, nt*col/g.cols*kn.nr), min(n, nt*(col+1)/g.cols*kn.nr)
			if i0 >= i1 || j0 >= j1 {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				p.run(i0, i1, j0, j1)
			}()
		}
	}
	wg.Wait()
}

// grid is how a product's C is divided among goroutines: its row tiles into rows contiguous
// ranges and its column tiles into cols ranges, one goroutine for each pair.
type grid struct{ rows, cols int }

// Packing one element of A or B takes about as long as this many flops of the micro-kernel
// (measured on one core of a Xeon with AVX-512, 206 GFLOP/s float32: 0.78 ns an element read
// across rows, A as stored or B transposed; 0.31 ns along rows).
const (
	packAcross = 160
	packAlong  = 64
)

// planGrid divides the mt x nt tiles of an m x n product of depth k among up to threads
// goroutines. Each goroutine packs its rows of A (again for every nc columns) and its columns
// of B, so a split of the columns alone packs all of A in every goroutine, and one of the rows
// alone all of B: that repeated packing is fixed per goroutine while its share of the kernel's
// work shrinks with the cores. C is split by columns when it has enough column tiles, else by
// rows (the rule before grids, which a few cores keep: on 2 cores, cache effects this count
// leaves out made the split by columns 1.5 times as fast as one by rows it rated equal),
// unless a grid of row and column ranges would give the busiest goroutine less than four
// fifths of the time (kernel and packing, per unit of depth), as with many cores on a product
// of few row or column tiles: a 512-row block of a Gram matrix on 37 of 128 cores, or 5,000
// targets of 8,000 rows, whose 128 row ranges of 5 tiles each packed all of B, 1.1 GB of
// buffers and half as long as their kernel's work.
func planGrid(m, n, k, mr, nr, nc int, aTrans, bTrans bool, threads int) grid {
	if threads <= 1 || m*n*k < minParallelWork {
		return grid{1, 1}
	}
	mt := (m + mr - 1) / mr
	nt := (n + nr - 1) / nr
	packA, packB := packAcross, packAlong
	if aTrans {
		packA = packAlong
	}
	if bTrans {
		packB = packAcross
	}
	cost := func(g grid) int {
		r := min(m, (mt+g.rows-1)/g.rows*mr)
		c := min(n, (nt+g.cols-1)/g.cols*nr)
		return 2*r*c + packA*r*((c+nc-1)/nc) + packB*c
	}
	base := grid{min(threads, mt), 1}
	if nt >= 2*threads || nt >= mt {
		base = grid{1, min(threads, nt)}
	}
	best, bestCost := base, cost(base)
	for tc := 1; tc <= min(nt, threads); tc++ {
		perCol := (nt + tc - 1) / tc
		if (nt+perCol-1)/perCol != tc {
			continue // the same ranges as a smaller tc
		}
		tr := min(mt, threads/tc)
		perRow := (mt + tr - 1) / tr
		g := grid{(mt + perRow - 1) / perRow, tc} // the fewest row ranges of that size
		if c := cost(g); c < bestCost || c == bestCost && g.rows*g.cols < best.rows*best.cols {
			best, bestCost = g, c
		}
	}
	if 5*bestCost > 4*cost(base) {
		return base
	}
	return best
}

// problem holds the operands of one product, shared by its workers.
type problem[T float32 | float64] struct {
	kn             *kernel[T]
	aTrans, bTrans bool
	k              int
	alpha, beta    T
	a, b, c        []T
	lda, ldb, ldc  int
}

// buffers are one worker's packing space.
type buffers[T float32 | float64] struct {
	a, b, tile []T
}

var pool32, pool64 sync.Pool

func getBuffers[T float32 | float64](na, nb, nt int) *buffers[T] {
	var pool *sync.Pool
	var zero T
	if _, ok := any(zero).(float32); ok {
		pool = &pool32
	} else {
		pool = &pool64
	}
	bf, _ := pool.Get().(*buffers[T])
	if bf == nil {
		bf = new(buffers[T])
	}
	if cap(bf.a) < na {
		bf.a = make([]T, na)
	}
	if cap(bf.b) < nb {
		bf.b = make([]T, nb)
	}
	if cap(bf.tile) < nt {
		bf.tile = make([]T, nt)
	}
	bf.a, bf.b, bf.tile = bf.a[:na], bf.b[:nb], bf.tile[:nt]
	holdPack(int64(cap(bf.a)+cap(bf.b)+cap(bf.tile)) * int64(unsafe.Sizeof(zero)))
	return bf
}

// packHeld is the bytes of packing buffers (their capacity) that running products hold,
// packPeak the most held at once and packLargest the largest one goroutine took, since
// ResetPackPeak.
var packHeld, packPeak, packLargest atomic.Int64

func holdPack(d int64) {
	v := packHeld.Add(d)
	raise(&packPeak, v)
	raise(&packLargest, d)
}

// raise sets x to v if v is larger.
func raise(x *atomic.Int64, v int64) {
	for p := x.Load(); v > p && !x.CompareAndSwap(p, v); p = x.Load() {
	}
}

// PackPeak returns the most bytes of packing buffers that products held at once since the last
// ResetPackPeak, and the most one goroutine took: what Packing must cover. For tests of
// callers' memory plans.
func PackPeak() (held, largest int64) { return packPeak.Load(), packLargest.Load() }

// ResetPackPeak starts PackPeak's counts again from the buffers held now.
func ResetPackPeak() {
	packPeak.Store(packHeld.Load())
	packLargest.Store(0)
}

// Packing returns how a product C = op(A) op(B) (op(A) m x k, op(B) k x n; float64 when double)
// is run at the current GOMAXPROCS: on how many goroutines, and the most bytes of packing
// buffers one of them takes (a block of A, a panel of B and a tile). The buffers are pooled,
// so products run one after another hold at most the largest number of goroutines times the
// largest buffers of any of them; a many-core node multiplies them (128 goroutines of up to
// 8.7 MiB each in float32 with the AVX-512 kernels), which callers that plan their memory
// count with this.
func Packing(m, n, k int, double, aTrans, bTrans bool) (goroutines int, perGoroutine int64) {
	if m <= 0 || n <= 0 || k <= 0 {
		return 0, 0
	}
	if double {
		return packing(kern64, m, n, k, aTrans, bTrans)
	}
	return packing(kern32, m, n, k, aTrans, bTrans)
}

func packing[T float32 | float64](kn *kernel[T], m, n, k int, aTrans, bTrans bool) (int, int64) {
	if kn == nil || forceFallback || m == 1 {
		return 0, 0 // gonum's loops: no packing
	}
	g := planGrid(m, n, k, kn.mr, kn.nr, kn.nc, aTrans, bTrans, runtime.GOMAXPROCS(0))
	mt, nt := (m+kn.mr-1)/kn.mr, (n+kn.nr-1)/kn.nr
	rows, cols := (mt+g.rows-1)/g.rows*kn.mr, (nt+g.cols-1)/g.cols*kn.nr // the largest ranges
	kc := min(kn.kc, k)
	var zero T
	return g.rows * g.cols, int64(min(kn.mc, rows)*kc+kc*min(kn.nc, cols)+kn.mr*kn.nr) * int64(unsafe.Sizeof(zero))
}

func putBuffers[T float32 | float64](bf *buffers[T]) {
	var zero T
	holdPack(-int64(cap(bf.a)+cap(bf.b)+cap(bf.tile)) * int64(unsafe.Sizeof(zero)))
	if _, ok := any(zero).(float32); ok {
		pool32.Put(bf)
	} else {
		pool64.Put(bf)
	}
}

// run computes rows [i0,i1) and columns [j0,j1) of C.
func (p *problem[T]) run(i0, i1, j0, j1 int) {
	kn := p.kn
	mr, nr := kn.mr, kn.nr
	kc := min(kn.kc, p.k)
	mc := min(kn.mc, (i1-i0+mr-1)/mr*mr)
	nc := min(kn.nc, (j1-j0+nr-1)/nr*nr)
	bf := getBuffers[T](mc*kc, kc*nc, mr*nr)
	defer putBuffers(bf)
	ap, bp, tile := bf.a, bf.b, bf.tile
	c, ldc := p.c, p.ldc
	alpha := p.alpha

	for jc := j0; jc < j1; jc += nc {
		ncur := min(nc, j1-jc)
		for pc := 0; pc < p.k; pc += kc {
			kcur := min(kc, p.k-pc)
			beta := p.beta
			if pc > 0 {
				beta = 1
			}
			p.packB(bp, pc, kcur, jc, ncur)
			for ic := i0; ic < i1; ic += mc {
				mcur := min(mc, i1-ic)
				p.packA(ap, ic, mcur, pc, kcur)
				for jr := 0; jr < ncur; jr += nr {
					bPanel := &bp[jr*kcur]
					cols := min(nr, ncur-jr)
					for ir := 0; ir < mcur; ir += mr {
						aPanel := &ap[ir*kcur]
						rows := min(mr, mcur-ir)
						off := (ic+ir)*ldc + jc + jr
						if rows == mr && cols == nr {
							kn.fn(kcur, aPanel, bPanel, &c[off], ldc, alpha, beta)
							continue
						}
						// Edge tile: compute the full tile into scratch, merge the valid part.
						kn.fn(kcur, aPanel, bPanel, &tile[0], nr, 1, 0)
						for i := 0; i < rows; i++ {
							dst := c[off+i*ldc : off+i*ldc+cols]
							src := tile[i*nr : i*nr+cols]
							if beta == 0 {
								for j, v := range src {
									dst[j] = alpha * v
								}
							} else {
								for j, v := range src {
									dst[j] = alpha*v + beta*dst[j]
								}
							}
						}
					}
				}
			}
		}
	}
}

// packA packs op(A)[i0:i0+rows, p0:p0+kc] into MR-row micro-panels: panel r holds rows
// i0+r*MR.. as kc steps of MR contiguous elements, zero-padded.
func (p *problem[T]) packA(dst []T, i0, rows, p0, kc int) {
	// op(A)[i, q] is a[q*lda+i] when A is transposed (k-major), else a[i*lda+q].
	packPanels(dst, p.a, p.lda, p.aTrans, p0, kc, i0, rows, p.kn.mr)
}

// packB packs op(B)[p0:p0+kc, j0:j0+cols] into NR-column micro-panels: panel q holds columns
// j0+q*NR.. as kc steps of NR contiguous elements, zero-padded.
func (p *problem[T]) packB(dst []T, p0, kc, j0, cols int) {
	// op(B)[q, j] is b[q*ldb+j] when B is not transposed (k-major), else b[j*ldb+q].
	packPanels(dst, p.b, p.ldb, !p.bTrans, p0, kc, j0, cols, p.kn.nr)
}

// packPanels packs a kc x n block of a strided matrix into w-wide micro-panels (panel t holds
// kc steps of w contiguous elements for block columns t*w.., zero-padded past n), the layout
// the micro-kernels stream. Element (q, j) of the block is src[(k0+q)*ld+j0+j] when kMajor,
// else src[(j0+j)*ld+k0+q]; either way src is read sequentially.
func packPanels[T float32 | float64](dst, src []T, ld int, kMajor bool, k0, kc, j0, n, w int) {
	if kMajor {
		// Read each source row once and deal it out to the panels.
		for q := 0; q < kc; q++ {
			row := src[(k0+q)*ld+j0:]
			row = row[:n]
			for t := 0; t < n; t += w {
				d := dst[t*kc+q*w : t*kc+q*w+w]
				c := copy(d, row[t:])
				clear(d[c:])
			}
		}
		return
	}
	for t := 0; t < n; t += w {
		panel := dst[t*kc : t*kc+w*kc]
		width := min(w, n-t)
		// Read source rows (block columns), write with stride w.
		for c := 0; c < width; c++ {
			line := src[(j0+t+c)*ld+k0:]
			line = line[:kc]
			d := panel[c:]
			for q, v := range line {
				d[q*w] = v
			}
		}
		for c := width; c < w; c++ {
			for q := 0; q < kc; q++ {
				panel[q*w+c] = 0
			}
		}
	}
}
