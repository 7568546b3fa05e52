package gemm

import (
	"runtime"
	"sync"

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

	threads := runtime.GOMAXPROCS(0)
	if m*n*k < minParallelWork {
		threads = 1
	}
	mt := (m + kn.mr - 1) / kn.mr // row tiles
	nt := (n + kn.nr - 1) / kn.nr // column tiles
	// Split C by columns when it has enough column tiles, else by rows.
	byCols := nt >= 2*threads || nt >= mt
	if byCols {
		threads = min(threads, nt)
	} else {
		threads = min(threads, mt)
	}
	if threads <= 1 {
		p.run(0, m, 0, n)
		return
	}
	var wg sync.WaitGroup
	for t := 0; t < threads; t++ {
		i0, i1, j0, j1 := 0, m, 0, n
		if byCols {
			j0 = min(n, nt*t/threads*kn.nr)
			j1 = min(n, nt*(t+1)/threads*kn.nr)
		} else {
			i0 = min(m, mt*t/threads*kn.mr)
			i1 = min(m, mt*(t+1)/threads*kn.mr)
		}
		if i0 >= i1 || j0 >= j1 {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.run(i0, i1, j0, j1)
		}()
	}
	wg.Wait()
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
	return bf
}

func putBuffers[T float32 | float64](bf *buffers[T]) {
	var zero T
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
