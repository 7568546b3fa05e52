package gemm

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

type benchShape struct {
	name    string
	tA      blas.Transpose
	m, n, k int
}

// benchShapes are the engine's typical products (small stand-ins under -short).
func benchShapes() []benchShape {
	if testing.Short() {
		return []benchShape{
			{"small_NN", blas.NoTrans, 64, 128, 48},
			{"small_TN", blas.Trans, 48, 128, 64},
		}
	}
	return []benchShape{
		{"1600x4096x512_NN", blas.NoTrans, 1600, 4096, 512},
		{"512x4096x1600_TN", blas.Trans, 512, 4096, 1600},
		{"400x4096x512_NN", blas.NoTrans, 400, 4096, 512},
		{"2000x2000x2000_NN", blas.NoTrans, 2000, 2000, 2000},
	}
}

func lead(tA blas.Transpose, m, k int) (rows, ld int) {
	if tA == blas.NoTrans {
		return m, k
	}
	return k, m
}

func BenchmarkSgemm(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, s := range benchShapes() {
		ar, lda := lead(s.tA, s.m, s.k)
		a := make([]float32, ar*lda)
		bb := make([]float32, s.k*s.n)
		c := make([]float32, s.m*s.n)
		for i := range a {
			a[i] = rng.Float32()
		}
		for i := range bb {
			bb[i] = rng.Float32()
		}
		flops := 2 * float64(s.m) * float64(s.n) * float64(s.k)
		impls := []struct {
			name string
			f    func()
		}{
			{"gonum", func() { gonum.Implementation{}.Sgemm(s.tA, blas.NoTrans, s.m, s.n, s.k, 1, a, lda, bb, s.n, 0, c, s.n) }},
			{"asm", func() { Implementation{}.Sgemm(s.tA, blas.NoTrans, s.m, s.n, s.k, 1, a, lda, bb, s.n, 0, c, s.n) }},
		}
		for _, im := range impls {
			for _, isa := range benchISAs(im.name) {
				b.Run(fmt.Sprintf("%s/%s", s.name, isa.name), func(b *testing.B) {
					isa.set()
					defer useKernels(bestKernels())
					for b.Loop() {
						im.f()
					}
					b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				})
			}
		}
	}
}

func BenchmarkDgemm(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, s := range benchShapes() {
		ar, lda := lead(s.tA, s.m, s.k)
		a := make([]float64, ar*lda)
		bb := make([]float64, s.k*s.n)
		c := make([]float64, s.m*s.n)
		for i := range a {
			a[i] = rng.Float64()
		}
		for i := range bb {
			bb[i] = rng.Float64()
		}
		flops := 2 * float64(s.m) * float64(s.n) * float64(s.k)
		impls := []struct {
			name string
			f    func()
		}{
			{"gonum", func() { gonum.Implementation{}.Dgemm(s.tA, blas.NoTrans, s.m, s.n, s.k, 1, a, lda, bb, s.n, 0, c, s.n) }},
			{"asm", func() { Implementation{}.Dgemm(s.tA, blas.NoTrans, s.m, s.n, s.k, 1, a, lda, bb, s.n, 0, c, s.n) }},
		}
		for _, im := range impls {
			for _, isa := range benchISAs(im.name) {
				b.Run(fmt.Sprintf("%s/%s", s.name, isa.name), func(b *testing.B) {
					isa.set()
					defer useKernels(bestKernels())
					for b.Loop() {
						im.f()
					}
					b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				})
			}
		}
	}
}

// benchISAs expands the "asm" implementation into the default kernels ("asm")
// and the other kernel sets this CPU has ("asm-avx2" on an AVX-512 machine).
func benchISAs(name string) []struct {
	name string
	set  func()
} {
	type isa = struct {
		name string
		set  func()
	}
	if name != "asm" {
		return []isa{{name, func() {}}}
	}
	var out []isa
	for i := range kernelSets {
		ks, label := &kernelSets[i], "asm"
		if i > 0 {
			label += "-" + ks.name
		}
		out = append(out, isa{label, func() { useKernels(ks) }})
	}
	return out
}
