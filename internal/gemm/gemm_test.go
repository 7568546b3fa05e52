package gemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"gonum.org/v1/gonum/blas"
)

// paths lists the implementations to check: every kernel this CPU runs, and
// the gonum fallback.
func paths(t testing.TB) []struct {
	name string
	set  func()
} {
	type path = struct {
		name string
		set  func()
	}
	var ps []path
	for i := range kernelSets {
		ks := &kernelSets[i]
		ps = append(ps, path{ks.name, func() { useKernels(ks); forceFallback = false }})
	}
	ps = append(ps, path{"fallback", func() { useKernels(bestKernels()); forceFallback = true }})
	t.Cleanup(func() { useKernels(bestKernels()); forceFallback = false })
	return ps
}

const sentinel = -12345.5

type gemmCase struct {
	tA, tB           blas.Transpose
	m, n, k          int
	alpha, beta      float64
	padA, padB, padC int  // extra leading-dimension elements, filled with sentinels
	nanC             bool // fill C with NaN (only meaningful for beta == 0)
}

func (tc gemmCase) String() string {
	return fmt.Sprintf("%c%c/%dx%dx%d/a%g/b%g/pad%d,%d,%d/nan%v", tc.tA, tc.tB, tc.m, tc.n, tc.k, tc.alpha, tc.beta, tc.padA, tc.padB, tc.padC, tc.nanC)
}

// operands builds A, B, C as float64 with sentinels in the padding.
func (tc gemmCase) operands(rng *rand.Rand) (a []float64, lda int, b []float64, ldb int, c []float64, ldc int) {
	ar, ac := tc.m, tc.k
	if tc.tA != blas.NoTrans {
		ar, ac = tc.k, tc.m
	}
	br, bc := tc.k, tc.n
	if tc.tB != blas.NoTrans {
		br, bc = tc.n, tc.k
	}
	fill := func(r, cols, pad int, val func() float64) ([]float64, int) {
		ld := max(1, cols+pad)
		x := make([]float64, r*ld)
		for i := range x {
			if i%ld < cols {
				x[i] = val()
			} else {
				x[i] = sentinel
			}
		}
		return x, ld
	}
	rnd := func() float64 { return rng.Float64()*2 - 1 }
	a, lda = fill(ar, ac, tc.padA, rnd)
	b, ldb = fill(br, bc, tc.padB, rnd)
	cval := rnd
	if tc.nanC {
		cval = func() float64 { return math.NaN() }
	}
	c, ldc = fill(tc.m, tc.n, tc.padC, cval)
	return
}

// reference computes alpha*op(A)*op(B) + beta*C in float64 and the bound
// sum_p |op(A)_ip||op(B)_pj| per entry.
func reference(tc gemmCase, a []float64, lda int, b []float64, ldb int, c []float64, ldc int) (want, scale []float64) {
	want = make([]float64, tc.m*tc.n)
	scale = make([]float64, tc.m*tc.n)
	at := func(i, p int) float64 {
		if tc.tA == blas.NoTrans {
			return a[i*lda+p]
		}
		return a[p*lda+i]
	}
	bt := func(p, j int) float64 {
		if tc.tB == blas.NoTrans {
			return b[p*ldb+j]
		}
		return b[j*ldb+p]
	}
	for i := 0; i < tc.m; i++ {
		for j := 0; j < tc.n; j++ {
			var s, abs float64
			for p := 0; p < tc.k; p++ {
				s += at(i, p) * bt(p, j)
				abs += math.Abs(at(i, p) * bt(p, j))
			}
			cij := 0.0
			if tc.beta != 0 {
				cij = tc.beta * c[i*ldc+j]
			}
			want[i*tc.n+j] = tc.alpha*s + cij
			scale[i*tc.n+j] = math.Abs(tc.alpha)*abs + math.Abs(cij)
		}
	}
	return want, scale
}

func check[T float32 | float64](t *testing.T, tc gemmCase, got []T, ldc int, want, scale []float64, eps float64) {
	t.Helper()
	bad := 0
	for i := 0; i < tc.m; i++ {
		for j := 0; j < ldc; j++ {
			g := float64(got[i*ldc+j])
			if j >= tc.n {
				if g != sentinel {
					t.Errorf("%v: padding C[%d,%d] = %v, changed", tc, i, j, g)
					return
				}
				continue
			}
			w, s := want[i*tc.n+j], scale[i*tc.n+j]
			tol := eps*float64(tc.k+4)*s + 1e-30
			if math.IsNaN(g) || math.Abs(g-w) > tol {
				bad++
				if bad <= 3 {
					t.Errorf("%v: C[%d,%d] = %v, want %v (tol %g)", tc, i, j, g, w, tol)
				}
			}
		}
	}
	if bad > 3 {
		t.Errorf("%v: %d wrong entries", tc, bad)
	}
}

func to32(x []float64) []float32 {
	y := make([]float32, len(x))
	for i, v := range x {
		y[i] = float32(v)
	}
	return y
}

func to64(x []float32) []float64 {
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = float64(v)
	}
	return y
}

// preparedCase is a case's operands and its float64 and float32 references, made once and run
// on every path (the references' triple loops took half of TestGemmBlocking, more under QEMU).
type preparedCase struct {
	tc              gemmCase
	a, b, c         []float64
	lda, ldb, ldc   int
	want64, scale64 []float64
	want32, scale32 []float64
	a32, b32, c32   []float32
}

func prepare(tc gemmCase, rng *rand.Rand) *preparedCase {
	pc := &preparedCase{tc: tc}
	pc.a, pc.lda, pc.b, pc.ldb, pc.c, pc.ldc = tc.operands(rng)
	pc.want64, pc.scale64 = reference(tc, pc.a, pc.lda, pc.b, pc.ldb, pc.c, pc.ldc)
	// float32, referenced on the rounded operands
	pc.a32, pc.b32, pc.c32 = to32(pc.a), to32(pc.b), to32(pc.c)
	pc.want32, pc.scale32 = reference(tc, to64(pc.a32), pc.lda, to64(pc.b32), pc.ldb, to64(pc.c32), pc.ldc)
	return pc
}

// run checks Dgemm and Sgemm on the path set now, on copies of the operands.
func (pc *preparedCase) run(t *testing.T) {
	t.Helper()
	tc := pc.tc
	a, b, c64 := slices.Clone(pc.a), slices.Clone(pc.b), slices.Clone(pc.c)
	Implementation{}.Dgemm(tc.tA, tc.tB, tc.m, tc.n, tc.k, tc.alpha, a, pc.lda, b, pc.ldb, tc.beta, c64, pc.ldc)
	check(t, tc, c64, pc.ldc, pc.want64, pc.scale64, 0x1p-52)
	for i := range a {
		if a[i] != pc.a[i] && !(math.IsNaN(a[i]) && math.IsNaN(pc.a[i])) {
			t.Fatalf("%v: Dgemm modified A", tc)
		}
	}
	for i := range b {
		if b[i] != pc.b[i] {
			t.Fatalf("%v: Dgemm modified B", tc)
		}
	}

	a32, b32, c32 := slices.Clone(pc.a32), slices.Clone(pc.b32), slices.Clone(pc.c32)
	Implementation{}.Sgemm(tc.tA, tc.tB, tc.m, tc.n, tc.k, float32(tc.alpha), a32, pc.lda, b32, pc.ldb, float32(tc.beta), c32, pc.ldc)
	check(t, tc, c32, pc.ldc, pc.want32, pc.scale32, 0x1p-23)
}

// runCase checks one case on the path set now.
func runCase(t *testing.T, tc gemmCase, rng *rand.Rand) {
	t.Helper()
	prepare(tc, rng).run(t)
}

var transposes = []blas.Transpose{blas.NoTrans, blas.Trans}

func TestGemmSmall(t *testing.T) {
	sizes := [][3]int{
		{1, 1, 1}, {7, 13, 5}, {0, 5, 3}, {5, 0, 3}, {4, 6, 0}, {0, 0, 0},
		{3, 2, 1}, {1, 70, 40}, {2, 70, 40}, {15, 33, 17}, {14, 32, 9}, {29, 65, 31}, {6, 16, 4}, {13, 47, 300},
		{8, 12, 5}, {16, 6, 3}, // exact NEON tiles
	}
	scalars := []float64{0, 1, -0.5, 2}
	// -0 must count as 0: C (NaN here) is not read.
	betas := append(scalars, math.Copysign(0, -1))
	rng := rand.New(rand.NewPCG(1, 2))
	var cases []*preparedCase
	for _, sz := range sizes {
		for _, tA := range transposes {
			for _, tB := range transposes {
				for _, alpha := range scalars {
					for _, beta := range betas {
						tc := gemmCase{tA: tA, tB: tB, m: sz[0], n: sz[1], k: sz[2], alpha: alpha, beta: beta}
						cases = append(cases, prepare(tc, rng))
						tc.padA, tc.padB, tc.padC = 3, 5, 2
						tc.nanC = beta == 0
						cases = append(cases, prepare(tc, rng))
					}
				}
			}
		}
	}
	for _, p := range paths(t) {
		t.Run(p.name, func(t *testing.T) {
			p.set()
			for _, pc := range cases {
				pc.run(t)
			}
		})
	}
}

// TestGemmBlocking covers multiple KC slices, MC blocks, NC blocks and the
// parallel split (by columns and by rows), with edge tiles and padding.
func TestGemmBlocking(t *testing.T) {
	sizes := [][3]int{
		{345, 70, 600},  // tall: split by rows; two MC blocks; three KC slices
		{37, 4200, 130}, // wide: split by columns; two NC blocks for float32
		{200, 203, 257}, // KC slice of 1
		{96, 96, 96},
	}
	rng := rand.New(rand.NewPCG(3, 4))
	var cases []*preparedCase
	for i, sz := range sizes {
		for _, tA := range transposes {
			for _, tB := range transposes {
				alpha, beta := []float64{1, -0.5, 2, 1}[i], []float64{0, 1, -0.5, 2}[i]
				tc := gemmCase{tA: tA, tB: tB, m: sz[0], n: sz[1], k: sz[2], alpha: alpha, beta: beta,
					padA: 1, padB: 7, padC: 3, nanC: beta == 0}
				cases = append(cases, prepare(tc, rng))
			}
		}
	}
	for _, p := range paths(t) {
		t.Run(p.name, func(t *testing.T) {
			p.set()
			for _, pc := range cases {
				pc.run(t)
			}
		})
	}
}

// TestAlphaZeroDoesNotReadAB checks the reference-BLAS quick return: with
// alpha == 0 the operands are not read, so NaN in A or B does not reach C.
// (gonum's own Sgemm/Dgemm compute 0*NaN here unless beta == 1, so the
// fallback path is not checked.)
func TestAlphaZeroDoesNotReadAB(t *testing.T) {
	for _, p := range paths(t) {
		if p.name == "fallback" {
			continue
		}
		t.Run(p.name, func(t *testing.T) {
			p.set()
			a := []float32{float32(math.NaN()), 1, 2, 3}
			b := []float32{float32(math.NaN()), 1, 2, 3}
			c := []float32{1, 2, 3, 4}
			Implementation{}.Sgemm(blas.NoTrans, blas.NoTrans, 2, 2, 2, 0, a, 2, b, 2, 2, c, 2)
			for i, v := range []float32{2, 4, 6, 8} {
				if c[i] != v {
					t.Fatalf("c = %v", c)
				}
			}
			c64 := []float64{math.NaN(), 2, 3, 4}
			Implementation{}.Dgemm(blas.Trans, blas.Trans, 2, 2, 2, 0, to64(a), 2, to64(b), 2, 0, c64, 2)
			for _, v := range c64 {
				if v != 0 {
					t.Fatalf("c = %v", c64)
				}
			}
		})
	}
}

func TestPanics(t *testing.T) {
	a := make([]float64, 100)
	cases := []struct {
		want string
		f    func()
	}{
		{badTranspose, func() { Implementation{}.Dgemm('x', blas.NoTrans, 2, 2, 2, 1, a, 2, a, 2, 0, a, 2) }},
		{badTranspose, func() { Implementation{}.Dgemm(blas.NoTrans, 'x', 2, 2, 2, 1, a, 2, a, 2, 0, a, 2) }},
		{mLT0, func() { Implementation{}.Dgemm(blas.NoTrans, blas.NoTrans, -1, 2, 2, 1, a, 2, a, 2, 0, a, 2) }},
		{nLT0, func() { Implementation{}.Dgemm(blas.NoTrans, blas.NoTrans, 2, -1, 2, 1, a, 2, a, 2, 0, a, 2) }},
		{kLT0, func() { Implementation{}.Dgemm(blas.NoTrans, blas.NoTrans, 2, 2, -1, 1, a, 2, a, 2, 0, a, 2) }},
		{badLdA, func() { Implementation{}.Dgemm(blas.NoTrans, blas.NoTrans, 2, 2, 3, 1, a, 2, a, 3, 0, a, 2) }},
		{badLdA, func() { Implementation{}.Dgemm(blas.Trans, blas.NoTrans, 3, 2, 2, 1, a, 2, a, 2, 0, a, 2) }},
		{badLdB, func() { Implementation{}.Dgemm(blas.NoTrans, blas.NoTrans, 2, 3, 2, 1, a, 2, a, 2, 0, a, 3) }},
		{badLdB, func() { Implementation{}.Dgemm(blas.NoTrans, blas.Trans, 2, 2, 3, 1, a, 3, a, 2, 0, a, 2) }},
		{badLdC, func() { Implementation{}.Dgemm(blas.NoTrans, blas.NoTrans, 2, 3, 2, 1, a, 2, a, 3, 0, a, 2) }},
		{shortA, func() { Implementation{}.Dgemm(blas.NoTrans, blas.NoTrans, 2, 2, 2, 1, a[:3], 2, a, 2, 0, a, 2) }},
		{shortB, func() { Implementation{}.Dgemm(blas.NoTrans, blas.NoTrans, 2, 2, 2, 1, a, 2, a[:3], 2, 0, a, 2) }},
		{shortC, func() { Implementation{}.Dgemm(blas.NoTrans, blas.NoTrans, 2, 2, 2, 1, a, 2, a, 2, 0, a[:3], 2) }},
		{shortA, func() {
			Implementation{}.Sgemm(blas.Trans, blas.NoTrans, 2, 2, 2, 1, make([]float32, 3), 2, make([]float32, 4), 2, 0, make([]float32, 4), 2)
		}},
	}
	for _, p := range paths(t) {
		p.set()
		for i, tc := range cases {
			func() {
				defer func() {
					r := recover()
					if r != tc.want {
						t.Errorf("%s case %d: panic %v, want %q", p.name, i, r, tc.want)
					}
				}()
				tc.f()
			}()
		}
	}
}

// TestLargeTransA checks a larger product with the A-transposed shape the
// engine uses (X^T Y), several KC slices deep, on the default kernel.
func TestLargeTransA(t *testing.T) {
	if !Available() {
		t.Skip("no SIMD kernel on this CPU")
	}
	m, n, k := 130, 300, 700
	if testing.Short() {
		m, n, k = 60, 100, 300
	}
	rng := rand.New(rand.NewPCG(5, 6))
	tc := gemmCase{tA: blas.Trans, tB: blas.NoTrans, m: m, n: n, k: k, alpha: 1, beta: 0, nanC: true}
	runCase(t, tc, rng)
}
