package gemm

import "testing"

// BenchmarkKernel measures one micro-kernel call on L1-resident panels
// (single core): the ceiling for the blocked product.
func BenchmarkKernel(b *testing.B) {
	defer useKernels(bestKernels())
	for _, kc := range []int{64, 256} {
		for i := range kernelSets {
			useKernels(&kernelSets[i])
			benchKernel(b, kc)
		}
	}
}

func benchKernel(b *testing.B, kc int) {
	{
		if k := kern32; k != nil {
			a := make([]float32, k.mr*kc)
			bb := make([]float32, k.nr*kc)
			c := make([]float32, k.mr*k.nr)
			b.Run(k.name+"/f32/kc"+itoa(kc), func(b *testing.B) {
				for b.Loop() {
					k.fn(kc, &a[0], &bb[0], &c[0], k.nr, 1, 1)
				}
				b.ReportMetric(2*float64(k.mr*k.nr*kc)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
		if k := kern64; k != nil {
			a := make([]float64, k.mr*kc)
			bb := make([]float64, k.nr*kc)
			c := make([]float64, k.mr*k.nr)
			b.Run(k.name+"/f64/kc"+itoa(kc), func(b *testing.B) {
				for b.Loop() {
					k.fn(kc, &a[0], &bb[0], &c[0], k.nr, 1, 1)
				}
				b.ReportMetric(2*float64(k.mr*k.nr*kc)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}

func itoa(i int) string {
	s := ""
	for ; i > 0; i /= 10 {
		s = string(rune('0'+i%10)) + s
	}
	return s
}
