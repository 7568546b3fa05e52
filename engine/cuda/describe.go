//go:build cuda

package cuda

import (
	"strings"

	"gorgonia.org/cu"

	"github.com/brainalign/brainalign/engine"
)

var _ engine.Describer = (*Engine)(nil)

// peakPerSM is the dense floating-point operations one multiprocessor issues per clock (an FMA
// counts 2), by compute capability: float32 on the CUDA cores, float64 on the tensor cores where
// cuBLAS's DGEMM uses them (A100, H100) else the FP64 units, TF32 on the tensor cores. From
// NVIDIA's architecture whitepapers; e.g. H100 SXM: 132 SMs x 1.98 GHz x 256 = 66.9 TFLOP/s
// float32. NVIDIA quotes its tensor-core rates at a lower clock (H100 SXM TF32: 494.7 TFLOP/s
// dense, 1.83 GHz), so at the reported maximum clock the TF32 peak here is about 8% higher and
// fractions of it understate. The TF32 rates of 8.6 and 8.9 are those of the data-centre and
// workstation boards (A10, A40, RTX A6000, L4, L40S: A10 62.5 TFLOP/s dense = 72 x 1.695 GHz x
// 512); GeForce boards run TF32 at half that (geforceTF32).
var peakPerSM = map[[2]int]map[engine.Precision]float64{
	{8, 0}: {engine.Float32: 128, engine.Float64: 128, engine.TF32: 1024},
	{8, 6}: {engine.Float32: 256, engine.Float64: 4, engine.TF32: 512},
	{8, 9}: {engine.Float32: 256, engine.Float64: 4, engine.TF32: 512},
	{9, 0}: {engine.Float32: 256, engine.Float64: 256, engine.TF32: 2048},
}

// geforceTF32 is the TF32 rate per multiprocessor and clock of GeForce boards of compute
// capability 8.6 and 8.9 (RTX 3090: 35.6 TFLOP/s = 82 x 1.695 GHz x 256; RTX 4090: 82.6), whose
// tensor cores accumulate in float32 at half rate.
const geforceTF32 = 256

// Device implements engine.Describer: the GPU's name, memory and theoretical peak rates at its
// reported maximum clock (absent for architectures not in the table). Benchmarks divide achieved
// rates by these.
func (e *Engine) Device() engine.DeviceInfo {
	// device queries need no context: nothing here touches e.dev, which Close clears
	info := engine.DeviceInfo{Name: e.name, PeakFLOPS: map[engine.Precision]float64{}}
	dev := cu.Device(e.ord)
	if mem, err := dev.TotalMem(); err == nil {
		info.MemoryBytes = mem
	}
	attrs, err := dev.Attributes(cu.MultiprocessorCount, cu.ClockRate, cu.ComputeCapabilityMajor, cu.ComputeCapabilityMinor)
	if err != nil {
		return info
	}
	// ClockRate is in kHz
	info.PeakFLOPS = peakFLOPS(e.name, attrs[2], attrs[3], attrs[0], float64(attrs[1])*1e3)
	return info
}

// peakFLOPS is the peak rate per precision of a device named name (the driver's name), of
// compute capability major.minor, with sms multiprocessors at clockHz.
func peakFLOPS(name string, major, minor, sms int, clockHz float64) map[engine.Precision]float64 {
	peak := map[engine.Precision]float64{}
	for p, perClock := range peakPerSM[[2]int{major, minor}] {
		if p == engine.TF32 && (major == 8 && minor >= 6) && strings.Contains(name, "GeForce") {
			perClock = geforceTF32
		}
		peak[p] = float64(sms) * clockHz * perClock
	}
	return peak
}
