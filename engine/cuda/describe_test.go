//go:build cuda

package cuda

import (
	"testing"

	"github.com/brainalign/brainalign/engine"
)

// TestPeakFLOPS: the peaks describe.go derives from a device's compute capability, multiprocessors
// and maximum clock (as the driver reports them) against NVIDIA's published dense figures in
// TFLOP/s (datasheets; the sparse tensor figures halved), within 2%. NVIDIA quotes Hopper's
// tensor-core rates at 1.83 GHz rather than the 1.98 GHz (SXM) or 1.755 GHz (PCIe) maximum the
// driver reports, so there TF32 may be up to 10% above the figure. 0: no published figure.
func TestPeakFLOPS(t *testing.T) {
	for _, c := range []struct {
		name              string
		major, minor, sms int
		mhz               float64
		f32, f64, tf32    float64
		tf32AtLowerClock  bool
	}{
		{"NVIDIA H100 80GB HBM3", 9, 0, 132, 1980, 66.9, 66.9, 494.7, true},
		{"NVIDIA H100 PCIe", 9, 0, 114, 1755, 51.2, 51.2, 378, true},
		{"NVIDIA H200", 9, 0, 132, 1980, 67, 67, 494.7, true},
		{"NVIDIA A100-SXM4-80GB", 8, 0, 108, 1410, 19.5, 19.5, 156, false},
		{"NVIDIA A10", 8, 6, 72, 1695, 31.2, 0, 62.5, false},
		{"NVIDIA L4", 8, 9, 58, 2040, 30.3, 0, 60, false},
		{"NVIDIA L40S", 8, 9, 142, 2520, 91.6, 0, 183, false},
		{"NVIDIA GeForce RTX 3090", 8, 6, 82, 1695, 35.6, 0, 35.6, false},
		{"NVIDIA GeForce RTX 4090", 8, 9, 128, 2520, 82.6, 0, 82.6, false},
	} {
		peak := peakFLOPS(c.name, c.major, c.minor, c.sms, c.mhz*1e6)
		for _, w := range []struct {
			p       engine.Precision
			tflops  float64
			atLower bool
		}{{engine.Float32, c.f32, false}, {engine.Float64, c.f64, false}, {engine.TF32, c.tf32, c.tf32AtLowerClock}} {
			if w.tflops == 0 {
				continue
			}
			got := peak[w.p] / 1e12
			lo, hi := 0.98*w.tflops, 1.02*w.tflops
			if w.atLower {
				lo, hi = w.tflops, 1.10*w.tflops
			}
			if got < lo || got > hi {
				t.Errorf("%s %s: peak %.1f TFLOP/s, NVIDIA gives %.1f", c.name, w.p, got, w.tflops)
			}
		}
	}
	if len(peakFLOPS("NVIDIA B200", 10, 0, 148, 1965e6)) != 0 {
		t.Error("an architecture not in the table has peaks (should be unknown)")
	}
}
