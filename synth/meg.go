package synth

import (
	"math"
	"sync"

	"github.com/brainalign/brainalign/engine"
)

// MEG is the MEG part of a study: channels x time points per image, flattened to
// Channels*len(Times) targets in channel-major order (target c*T + t), as a NumPy
// (n, channels, times) C-order array reshaped to (n, channels*times).
type MEG struct {
	Channels int
	Times    []float64       // seconds, stimulus onset at 0
	Subjects []engine.Matrix // per subject, n x Channels*len(Times), row-major float32
}

// Target returns the flattened target index of channel c at time index t.
func (m *MEG) Target(c, t int) int { return c*len(m.Times) + t }

// The evoked envelope: an alpha-like transient peaking at envPeak seconds plus a sustained part
// that rises with time constant envRise, mixed with weight envSustained, scaled to peak 1.
const (
	envPeak      = 0.15
	envRise      = 0.05
	envSustained = 0.5
)

func envelopeRaw(t float64) float64 {
	if t <= 0 {
		return 0
	}
	x := t / envPeak
	return (1-envSustained)*x*x*math.Exp(2*(1-x)) + envSustained*(1-math.Exp(-t/envRise))
}

// Envelope is the evoked time course E(t) in [0, 1]: 0 up to and at onset, peak 1 near 0.15 s,
// then a sustained level of about 0.5.
func Envelope(t float64) float64 { return envelopeRaw(t) / envelopeMax }

var envelopeMax = func() float64 {
	var mx float64
	for k := 1; k <= 20000; k++ {
		mx = math.Max(mx, envelopeRaw(float64(k)*1e-4))
	}
	return mx
}()

type megTemplate struct {
	w [][]float64 // unit q-vector per channel
}

func newMEG(c Config, tr *Truth) (*MEG, *megTemplate) {
	g, L, q := c.MEG, c.Layers, c.LatentDim
	times := c.MEGTimes()
	T := len(times)
	r := newRNG(c.Seed, streamMEGTruth)
	out := &MEG{Channels: g.Channels, Times: times}
	m := g.Channels * T
	mt := &MEGTruth{Layer: make([]int, m), Depth: make([]float64, m), Signal: make([]float64, m),
		NoiseChannel: make([]bool, g.Channels), Gain: make([]float64, g.Channels)}
	tmp := &megTemplate{w: make([][]float64, g.Channels)}
	for ch := 0; ch < g.Channels; ch++ {
		tmp.w[ch] = unitVector(r, q)
		mt.NoiseChannel[ch] = r.Float64() < g.NoiseFraction
		gain := 0.5 + 0.5*r.Float64()
		if !mt.NoiseChannel[ch] {
			mt.Gain[ch] = gain
		}
		for t, tm := range times {
			j := out.Target(ch, t)
			jit := g.DepthJitter * r.NormFloat64()
			mt.Layer[j], mt.Depth[j] = -1, math.NaN()
			if mt.NoiseChannel[ch] || tm <= 0 {
				continue
			}
			delta := math.Min(1, math.Max(0, (tm-g.Early)/(g.Late-g.Early)+jit))
			k := int(math.Round(delta * float64(L-1)))
			mt.Layer[j], mt.Depth[j] = k, float64(k)/float64(L-1)
			mt.Signal[j] = g.SignalMax * mt.Gain[ch] * Envelope(tm)
		}
	}
	tr.MEG = mt
	return out, tmp
}

// megSubject generates subject s: y_{c,t} = rho_{c,t} z_k w_c + sqrt(1-rho^2) eps_{c,t}, with
// eps an AR(1) process over time within each image and channel.
func megSubject(c Config, s int, mod *Model, mt *MEGTruth, tmp *megTemplate, T int) engine.Matrix {
	n, q, C := c.Images, c.LatentDim, c.MEG.Channels
	m := C * T
	phi := c.MEG.NoiseAR
	innov := math.Sqrt(1 - phi*phi)
	r := newRNG(c.Seed, streamMEGSubject+uint64(s))
	y := make([]float32, n*m)
	for i := 0; i < n; i++ {
		for ch := 0; ch < C; ch++ {
			eps := r.NormFloat64()
			for t := 0; t < T; t++ {
				if t > 0 {
					eps = phi*eps + innov*r.NormFloat64()
				}
				j := ch*T + t
				rho := mt.Signal[j]
				v := math.Sqrt(1-rho*rho) * eps
				if k := mt.Layer[j]; k >= 0 {
					z := mod.latents[k][i*q : (i+1)*q]
					var sig float64
					for p, w := range tmp.w[ch] {
						sig += z[p] * w
					}
					v += rho * sig
				}
				y[i*m+j] = float32(v)
			}
		}
	}
	return engine.NewMatrix32(n, m, y)
}

func (g *MEG) generateSubjects(c Config, mod *Model, mt *MEGTruth, tmp *megTemplate) {
	g.Subjects = make([]engine.Matrix, c.Subjects)
	var wg sync.WaitGroup
	for s := range g.Subjects {
		wg.Go(func() { g.Subjects[s] = megSubject(c, s, mod, mt, tmp, len(g.Times)) })
	}
	wg.Wait()
}
