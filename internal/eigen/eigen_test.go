package eigen

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/brainalign/brainalign/internal/gemm"
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/mat"
)

// gonumSym is the reference: gonum's mat.EigenSym (LAPACK Dsyev), in Sym's contract.
func gonumSym(n int, a, w []float64) error {
	var es mat.EigenSym
	if !es.Factorize(mat.NewSymDense(n, a), true) {
		return fmt.Errorf("gonum: no convergence")
	}
	es.Values(w)
	var v mat.Dense
	es.VectorsTo(&v)
	for i := 0; i < n; i++ {
		copy(a[i*n:(i+1)*n], v.RawRowView(i))
	}
	return nil
}

// randOrth returns a random n x n orthogonal matrix (Q of a QR of a Gaussian matrix).
func randOrth(n int, rng *rand.Rand) []float64 {
	g := mat.NewDense(n, n, nil)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			g.Set(i, j, rng.NormFloat64())
		}
	}
	var qr mat.QR
	qr.Factorize(g)
	var q mat.Dense
	qr.QTo(&q)
	return slices.Clone(q.RawMatrix().Data)
}

// withSpectrum returns Q diag(lam) Q^T for a random orthogonal Q.
func withSpectrum(lam []float64, rng *rand.Rand) []float64 {
	n := len(lam)
	q := randOrth(n, rng)
	a := make([]float64, n*n)
	for i := 0; i < n; i++ {
		for j := 0; j <= i; j++ {
			var s float64
			for k := 0; k < n; k++ {
				s += q[i*n+k] * lam[k] * q[j*n+k]
			}
			a[i*n+j], a[j*n+i] = s, s
		}
	}
	return a
}

// randomSymmetric returns an n x n symmetric matrix of standard normal entries.
func randomSymmetric(n int, rng *rand.Rand) []float64 {
	a := make([]float64, n*n)
	for i := 0; i < n; i++ {
		for j := 0; j <= i; j++ {
			v := rng.NormFloat64()
			a[i*n+j], a[j*n+i] = v, v
		}
	}
	return a
}

// gram returns X^T X / rows for X rows x n with power-law column scales (like activations).
func gram(n, rows int, rng *rand.Rand) []float64 {
	x := make([]float64, rows*n)
	for i := range x {
		j := i % n
		x[i] = rng.NormFloat64() * math.Pow(float64(j+1), -1.5)
	}
	// Mix the columns so the matrix is not diagonal-dominant.
	q := randOrth(n, rng)
	var products gemm.Implementation // not gonum's: generic Go under QEMU (check says why)
	xm := make([]float64, rows*n)
	products.Dgemm(blas.NoTrans, blas.NoTrans, rows, n, n, 1, x, n, q, n, 0, xm, n)
	a := make([]float64, n*n)
	products.Dgemm(blas.Trans, blas.NoTrans, n, n, rows, 1/float64(rows), xm, n, xm, n, 0, a, n)
	for i := 0; i < n; i++ { // exact symmetry
		for j := 0; j < i; j++ {
			a[i*n+j] = a[j*n+i]
		}
	}
	return a
}

type testCase struct {
	name string
	n    int
	a    []float64
}

func testCases(rng *rand.Rand) []testCase {
	var cs []testCase
	add := func(name string, n int, a []float64) { cs = append(cs, testCase{name, n, a}) }
	for _, n := range []int{1, 2, 3, 17, 100, largestOrder()} {
		// Power-law SPD spectrum spanning 1e-12..1.
		lam := make([]float64, n)
		for i := range lam {
			lam[i] = math.Pow(10, -12*float64(i)/float64(max(n-1, 1)))
		}
		if n <= 100 {
			add("powerlaw", n, withSpectrum(lam, rng))
		}
		// Gram matrix, rank deficient when rows < n.
		add("gram", n, gram(n, max(n/2, 1), rng))
		if n >= 3 {
			add("gram-full", n, gram(n, 2*n, rng))
		}
		// Random symmetric (indefinite).
		a := randomSymmetric(n, rng)
		add("random", n, a)
		// Diagonal, unsorted, with repeats and zeros.
		a = make([]float64, n*n)
		for i := 0; i < n; i++ {
			a[i*n+i] = float64((i*7)%5) - 1
		}
		add("diagonal", n, a)
		// Already tridiagonal (1 -2 1 stencil: clustered eigenvalues).
		a = make([]float64, n*n)
		for i := 0; i < n; i++ {
			a[i*n+i] = 2
			if i+1 < n {
				a[i*n+i+1], a[(i+1)*n+i] = -1, -1
			}
		}
		add("tridiagonal", n, a)
		if n >= 3 && n <= 100 {
			// Clustered / repeated: three distinct values, each many times.
			for i := range lam {
				lam[i] = []float64{1, 1e-6, 0}[i%3]
			}
			add("repeated", n, withSpectrum(lam, rng))
			for i := range lam {
				lam[i] = 1 + 1e-10*float64(i)
			}
			add("cluster", n, withSpectrum(lam, rng))
		}
	}
	add("zero", 5, make([]float64, 25))
	return cs
}

func frob(a []float64) float64 {
	var s float64
	for _, v := range a {
		s += v * v
	}
	return math.Sqrt(s)
}

// check returns the relative residual ||A V - V diag(w)||_F / ||A||_F and ||V^T V - I||_F.
func check(n int, a, v, w []float64) (res, orth float64) {
	// The products on internal/gemm's kernels, tested against plain loops on their own: gonum's
	// GEMM, which has no arm64 assembly, took 40% of TestSym under QEMU (scripts/test-arm64.sh).
	var products gemm.Implementation
	r := make([]float64, n*n)
	products.Dgemm(blas.NoTrans, blas.NoTrans, n, n, n, 1, a, n, v, n, 0, r, n)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			r[i*n+j] -= v[i*n+j] * w[j]
		}
	}
	na := frob(a)
	if na == 0 {
		na = 1
	}
	res = frob(r) / na
	o := make([]float64, n*n)
	products.Dgemm(blas.Trans, blas.NoTrans, n, n, n, 1, v, n, v, n, 0, o, n)
	for i := 0; i < n; i++ {
		o[i*n+i] -= 1
	}
	return res, frob(o)
}

// withSolver runs fn with the tridiagonal eigenvectors found by divide and conquer (stedc) for
// every order from 2, or by QL/QR (steqr) for every order.
func withSolver(dc bool, fn func()) {
	defer func(old int) { dcMin = old }(dcMin)
	dcMin = math.MaxInt
	if dc {
		dcMin = 2
	}
	fn()
}

func TestSym(t *testing.T) {
	paths := []bool{useRot16}
	if useRot16 {
		paths = append(paths, false) // the Go rotations too
	}
	for _, simd := range paths {
		t.Run(fmt.Sprintf("steqr/simd=%v", simd), func(t *testing.T) {
			defer func(old bool) { useRot16 = old }(useRot16)
			useRot16 = simd
			withSolver(false, func() { testSym(t) })
		})
	}
	t.Run("stedc", func(t *testing.T) { withSolver(true, func() { testSym(t) }) })
}

// gonumRef is gonum's eigendecomposition of a test case checked as Sym's is: its eigenvalues,
// residual and orthogonality.
type gonumRef struct {
	a         []float64 // the matrix, to tell cases of the same name and order apart
	w         []float64
	res, orth float64
}

// gonumRefs holds gonumReference's results by case (name and order: testCases makes the same
// matrices on every call), so that each of testSym's runs (two or three solver paths) does not
// repeat them: gonum's unblocked QL at order 512 took a third of TestSym, 20x that under QEMU.
var gonumRefs sync.Map

func gonumReference(t *testing.T, tc testCase) (w []float64, res, orth float64) {
	t.Helper()
	key := fmt.Sprintf("%s/%d", tc.name, tc.n)
	if r, ok := gonumRefs.Load(key); ok && slices.Equal(r.(gonumRef).a, tc.a) {
		g := r.(gonumRef)
		return g.w, g.res, g.orth
	}
	v, w := slices.Clone(tc.a), make([]float64, tc.n)
	if err := gonumSym(tc.n, v, w); err != nil {
		t.Fatal(err)
	}
	res, orth = check(tc.n, tc.a, v, w)
	gonumRefs.Store(key, gonumRef{slices.Clone(tc.a), w, res, orth})
	return w, res, orth
}

// largestOrder is testSym's largest order: 512, or 320 under an emulator, where 512 took 60% of
// the package's tests (~90 s of CPU under QEMU). 320 still takes every path that 512 takes:
// divide and conquer (from dcMin, 256) with its halves solved side by side (from parallelBlock,
// 200), and a last tridiagonalisation panel narrower than the others (319 = 9*32 + 31).
func largestOrder() int {
	if emulated {
		return 320
	}
	return 512
}

// emulated is set when the tests run under an emulator (scripts/test-arm64.sh: QEMU, ~20x slower
// than the host), where the slowest references that test no code of this platform are left out.
var emulated = os.Getenv("BRAINALIGN_TEST_EMULATED") != ""

// symCases are testSym's matrices, made once for its two or three solver paths (the order-512
// Gram matrices take ~0.5 s to make, 20-30 s under QEMU); Sym works on copies.
var symCases = sync.OnceValue(func() []testCase { return testCases(rand.New(rand.NewPCG(7, 11))) })

func testSym(t *testing.T) {
	for _, tc := range symCases() {
		n := tc.n
		v := slices.Clone(tc.a)
		w := make([]float64, n)
		if err := Sym(n, v, w); err != nil {
			t.Fatalf("%s n=%d: %v", tc.name, n, err)
		}
		if !slices.IsSorted(w) {
			t.Errorf("%s n=%d: eigenvalues not ascending", tc.name, n)
		}
		res, orth := check(n, tc.a, v, w)
		tol := 1e-14 * float64(max(n, 10))
		if emulated && n > 100 {
			// gonum's QL in generic Go took 60% of this test under QEMU (~80 s): residual and
			// orthogonality below tol alone pin the eigenvalues (Bauer-Fike) and are checked.
			t.Logf("%-11s n=%3d  residual %.1e  orthogonality %.1e (emulated: no comparison with gonum)", tc.name, n, res, orth)
			if res > tol || orth > tol {
				t.Errorf("%s n=%d: residual %.2e, orthogonality %.2e exceed %.1e", tc.name, n, res, orth, tol)
			}
			continue
		}
		gw, gres, gorth := gonumReference(t, tc)
		scale := max(math.Abs(gw[0]), math.Abs(gw[n-1]))
		if scale == 0 {
			scale = 1
		}
		var dw float64
		for i := range w {
			dw = max(dw, math.Abs(w[i]-gw[i])/scale)
		}
		t.Logf("%-11s n=%3d  residual %.1e (gonum %.1e)  orthogonality %.1e (gonum %.1e)  max|w-w_gonum|/|w|max %.1e",
			tc.name, n, res, gres, orth, gorth, dw)
		if res > tol || orth > tol || dw > tol {
			t.Errorf("%s n=%d: residual %.2e, orthogonality %.2e, eigenvalue diff %.2e exceed %.1e", tc.name, n, res, orth, dw, tol)
		}
		// And as accurate as LAPACK's QL (gonum): divide and conquer with a deflation tolerance
		// of 64 eps (reference LAPACK, June-August 2026) gave 7-13x gonum's residual on the Gram
		// matrices.
		if res > 3*gres+1e-15 || orth > 3*gorth+1e-15 {
			t.Errorf("%s n=%d: residual %.2e or orthogonality %.2e over 3x gonum's (%.2e, %.2e)", tc.name, n, res, orth, gres, gorth)
		}
	}
}

func TestSymNonFinite(t *testing.T) {
	for _, bad := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		n := 6
		a := make([]float64, n*n)
		for i := range a {
			a[i] = 1
		}
		a[1*n+4] = bad
		done := make(chan error, 1)
		go func() { done <- Sym(n, a, make([]float64, n)) }()
		select {
		case err := <-done:
			if err == nil {
				t.Errorf("%v: no error", bad)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%v: hang", bad)
		}
	}
}

// TestSymExtremeScale covers the Dsyev-style rescaling of tiny and huge matrices.
func TestSymExtremeScale(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	base := gram(40, 80, rng)
	for _, s := range []float64{1e-300, 1e300} {
		a := slices.Clone(base)
		for i := range a {
			a[i] *= s
		}
		v, w := slices.Clone(a), make([]float64, 40)
		if err := Sym(40, v, w); err != nil {
			t.Fatal(err)
		}
		sc := slices.Clone(base)
		for i := range w {
			w[i] /= s
		}
		res, orth := check(40, sc, v, w)
		if res > 1e-12 || orth > 1e-12 {
			t.Errorf("scale %g: residual %.2e orthogonality %.2e", s, res, orth)
		}
	}
}

// symImpl is a symmetric eigensolver with Sym's signature, by name.
type symImpl struct {
	name string
	fn   func(int, []float64, []float64) error
}

// otherSyms are further solvers BenchmarkSym times beside Sym and gonum's (OpenBLAS's dsyevd in
// the openblas build).
var otherSyms []symImpl

func BenchmarkSym(b *testing.B) {
	for _, n := range []int{256, 512, 1024, 2048, 4096} {
		if n > 1024 && testing.Short() {
			continue
		}
		rng := rand.New(rand.NewPCG(1, uint64(n)))
		a := randomSymmetric(n, rng)
		w := make([]float64, n)
		for _, impl := range append([]symImpl{{"eigen", Sym}, {"gonum", gonumSym}}, otherSyms...) {
			// gonum's unblocked QL: 15 s at order 1024 in a -short run (make test runs each
			// benchmark once to check it works), where 512 takes 2
			if impl.name == "gonum" && (n > 2048 || n > 512 && testing.Short()) {
				continue
			}
			b.Run(fmt.Sprintf("%s/n=%d", impl.name, n), func(b *testing.B) {
				v := make([]float64, n*n)
				for b.Loop() {
					copy(v, a)
					if err := impl.fn(n, v, w); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/op")
			})
		}
	}
}

// TestRotationKernels: the assembly sweeps (flush16) give fwd4/bwd4's results (flush4) to
// rounding, on rows that do not fill the last block of 16, sweeps in both directions, of
// every length from 1 to the whole row, at every offset.
func TestRotationKernels(t *testing.T) {
	if !useRot16 {
		t.Skip("no AVX2+FMA rotation kernels on this machine")
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{1, 2, 15, 16, 17, 37, 64} {
		z := make([]float64, n*n)
		for i := range z {
			z[i] = rng.NormFloat64()
		}
		z4, z16 := slices.Clone(z), slices.Clone(z)
		q4, q16 := newRotQueue(n, z4), newRotQueue(n, z16)
		for sw := 0; sw < 3*n; sw++ {
			k := 1 + rng.IntN(max(1, n-1))
			if n == 1 {
				break
			}
			off := rng.IntN(n - k)
			fwd := rng.IntN(2) == 0
			c4, s4 := q4.add(off, k, fwd)
			c16, s16 := q16.add(off, k, fwd)
			for t := range c4 {
				th := rng.Float64() * 2 * math.Pi
				c4[t], s4[t] = math.Cos(th), math.Sin(th)
				c16[t], s16[t] = c4[t], s4[t]
			}
		}
		q4.flush4()
		q16.flush16()
		worst := 0.0
		for i := range z4 {
			worst = max(worst, math.Abs(z4[i]-z16[i]))
		}
		if worst > 1e-12 {
			t.Errorf("n=%d: assembly and Go rotations differ by %.3g", n, worst)
		}
		if n > 1 && slices.Equal(z4, z) {
			t.Errorf("n=%d: the rotations changed nothing", n)
		}
	}
}

// doneAfter is a context whose Err turns non-nil at its (calls+1)-th call: it cancels a
// decomposition at each of the points where SymContext looks, one run per point.
type doneAfter struct {
	context.Context
	calls int64
	seen  atomic.Int64 // divide and conquer looks from several goroutines
}

func (c *doneAfter) Err() error {
	if c.seen.Add(1) > c.calls {
		return context.Canceled
	}
	return nil
}

func TestSymContextCancel(t *testing.T) {
	for _, dc := range []bool{false, true} {
		t.Run(fmt.Sprintf("stedc=%v", dc), func(t *testing.T) {
			withSolver(dc, func() { testSymContextCancel(t) })
		})
	}
}

func testSymContextCancel(t *testing.T) {
	const n = 700 // two panels of Q, ~20 panels, and more than one batch of rotations
	rng := rand.New(rand.NewPCG(3, 5))
	a := randomSymmetric(n, rng)
	want, ww := slices.Clone(a), make([]float64, n)
	if err := Sym(n, want, ww); err != nil {
		t.Fatal(err)
	}
	// A context that is never done, counting the points where it is looked at.
	count := &doneAfter{Context: context.Background(), calls: math.MaxInt64}
	v, w := slices.Clone(a), make([]float64, n)
	if err := SymContext(count, n, v, w); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(v, want) || !slices.Equal(w, ww) {
		t.Fatal("SymContext with a live context differs from Sym")
	}
	points := int(count.seen.Load())
	t.Logf("n=%d: context looked at %d times", n, points)
	if points < 25 { // panels of the tridiagonalisation, blocks of Q, batches of rotations or merges
		t.Fatalf("context looked at only %d times", points)
	}
	// Every point up to 40, then a sample ending with the last (divide and conquer looks
	// ~160 times: at each block before its halves and before its merge).
	step := max(1, points/40)
	for k := 0; k < points; k += step {
		if k+step >= points {
			k = points - 1
		}
		v := slices.Clone(a)
		err := SymContext(&doneAfter{Context: context.Background(), calls: int64(k)}, n, v, w)
		if err != context.Canceled {
			t.Fatalf("cancelled at point %d of %d: got %v, want context.Canceled", k+1, points, err)
		}
	}
}

// BenchmarkTridiagonalSolver compares QL/QR and divide and conquer for the eigenvectors (the
// crossover sets dcMin).
func BenchmarkTridiagonalSolver(b *testing.B) {
	for _, n := range []int{64, 128, 192, 256, 512, 1024} {
		rng := rand.New(rand.NewPCG(1, uint64(n)))
		a := randomSymmetric(n, rng)
		w := make([]float64, n)
		for _, dc := range []bool{false, true} {
			name := "steqr"
			if dc {
				name = "stedc"
			}
			b.Run(fmt.Sprintf("%s/n=%d", name, n), func(b *testing.B) {
				withSolver(dc, func() {
					v := make([]float64, n*n)
					for b.Loop() {
						copy(v, a)
						if err := Sym(n, v, w); err != nil {
							b.Fatal(err)
						}
					}
				})
			})
		}
	}
}

// TestSymvKernel: symvUpper with the fused four-row kernel (symv_amd64.s) gives the gonum
// matrix-vector products' results to rounding, for orders that leave every remainder of rows
// and columns, in one part or several, with the same bits on one core as on three.
func TestSymvKernel(t *testing.T) {
	if !useSymv4 {
		t.Skip("no fused symv kernel on this machine")
	}
	defer func(old bool) { useSymv4 = old }(useSymv4)
	rng := rand.New(rand.NewPCG(4, 4))
	for _, m := range []int{1, 2, 3, 4, 5, 7, 16, 17, 19, 20, 21, 33, 67, 130, 300} {
		const lda = 311
		a := make([]float64, (m-1)*lda+m)
		for i := 0; i < m; i++ {
			for j := i; j < m; j++ {
				a[i*lda+j] = rng.NormFloat64()
			}
		}
		x := make([]float64, m)
		for i := range x {
			x[i] = rng.NormFloat64()
		}
		// The reference: the full symmetric product, in plain loops.
		want := make([]float64, m)
		for i := 0; i < m; i++ {
			for j := 0; j < m; j++ {
				v := a[min(i, j)*lda+max(i, j)]
				want[i] += v * x[j]
			}
		}
		for _, fused := range []bool{false, true} {
			useSymv4 = fused
			for _, p := range []int{1, 2, symvParts} {
				var first []float64
				for _, cores := range []int{1, 3} {
					old := runtime.GOMAXPROCS(cores)
					s := newSymvScratch(m)
					s.parts = s.parts[:p]
					y := make([]float64, m)
					s.symvUpper(m, a, lda, x, y)
					runtime.GOMAXPROCS(old)
					for i := range y {
						if math.Abs(y[i]-want[i]) > 1e-12*(1+math.Abs(want[i])) {
							t.Fatalf("m=%d fused=%v parts=%d cores=%d: y[%d] = %g, want %g", m, fused, p, cores, i, y[i], want[i])
						}
					}
					if first != nil && !slices.Equal(first, y) {
						t.Errorf("m=%d fused=%v parts=%d: the sums differ between 1 and 3 cores", m, fused, p)
					}
					first = y
				}
			}
		}
	}
}

// TestSymCoresIndependent: a decomposition gives the same bits whatever the number of cores, on
// both eigenvector paths, at orders where the tridiagonalisation's products run in parallel
// parts. (Before symvUpper's parts were fixed, one part per core, the last bits differed.)
func TestSymCoresIndependent(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 1))
	for _, n := range []int{300, 520} {
		a := randomSymmetric(n, rng)
		for _, dc := range []bool{false, true} {
			withSolver(dc, func() {
				var first []float64
				for _, cores := range []int{1, 2, 3} {
					old := runtime.GOMAXPROCS(cores)
					v, w := slices.Clone(a), make([]float64, n)
					err := Sym(n, v, w)
					runtime.GOMAXPROCS(old)
					if err != nil {
						t.Fatal(err)
					}
					out := append(v, w...)
					if first != nil && !slices.Equal(first, out) {
						t.Errorf("n=%d divide and conquer %v: %d cores give other bits than 1", n, dc, cores)
					}
					first = out
				}
			})
		}
	}
}
