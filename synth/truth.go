package synth

import "math"

// Truth holds the planted answers. Population ("pop") values are those of infinite data: the
// Pearson r between a target and the best linear prediction from a layer's activations.
type Truth struct {
	Layers int     // L
	Rho    float64 // latent correlation between neighbouring layers
	Steps  []float64
	// LayerMidpoint[l] is the step at which layer l's latent amplitude a_l crosses 1/2 (the
	// sigmoid midpoint); nil without checkpoints.
	LayerMidpoint []float64
	SigmoidWidth  float64 // w, in ln(step)
	// LayerHalfTime[l] is the step at which a_l reaches half of its value at the last checkpoint:
	// the planted half-time of any target's score on layer l alone.
	LayerHalfTime []float64
	FMRI          *FMRITruth // nil without fMRI
	MEG           *MEGTruth  // nil without MEG
}

// FMRITruth is the planted truth per fMRI target (vertex).
type FMRITruth struct {
	Layer        []int     // driving layer k_t; -1 for a noise target
	Depth        []float64 // relative depth k_t/(L-1); NaN for a noise target
	PlantedDepth []float64 // the continuous depth before rounding to a layer; NaN for noise
	Signal       []float64 // rho_t: population r between target and its driving latent; 0 for noise
	Noise        []bool    // pure-noise targets
	Distance     []float64 // template distance (mm) from FMRI.V1Ref
	// SpatialR is the planted spatial score: Pearson r between Depth and Distance over signal
	// targets (template coordinates).
	SpatialR float64
	// ROIHalfTime[roi] is the step at which the ROI's mean best-layer population score reaches
	// half of its value at the last checkpoint (FMRIHalfTime(roi targets, Best)); nil without
	// checkpoints. HalfTime is the same over all targets.
	ROIHalfTime []float64
	HalfTime    float64
}

// MEGTruth is the planted truth per flattened MEG target (index c*T + t).
type MEGTruth struct {
	Layer        []int     // driving layer; -1 before or at onset and on noise channels
	Depth        []float64 // relative depth; NaN where Layer is -1
	Signal       []float64 // population r with the driving latent: SignalMax * Gain[c] * Envelope(t)
	NoiseChannel []bool    // per channel
	Gain         []float64 // per channel; 0 for noise channels
	// TMax[l] is the planted T_max of layer l: docs/design.md §4's rule (mean of the times where the
	// channel-mean population score, normalised by its maximum over time, is >= 0.95) applied to
	// population scores of the trained model. TemporalR is the Pearson r between layer index and
	// TMax, the planted temporal score.
	TMax      []float64
	TemporalR float64
	HalfTime  float64 // half-time of the mean best-layer population score over all targets
}

// Layer choices for the half-time and population-score helpers.
const (
	Best    = -1 // the best layer per target (max over layers)
	Driving = -2 // each target's own driving layer
)

// Amplitude returns a_l(step), the latent amplitude of layer l at a training step; step <= 0
// means the trained model (the last checkpoint). Without checkpoints it is 1.
func (tr *Truth) Amplitude(layer int, step float64) float64 {
	if len(tr.Steps) == 0 {
		return 1
	}
	if step <= 0 {
		step = tr.Steps[len(tr.Steps)-1]
	}
	return amplitude(step, tr.LayerMidpoint[layer], tr.SigmoidWidth)
}

// popR is rho * a_l(step) * Rho^|l-k|, or the max over l for Best, or l = k for Driving.
func (tr *Truth) popR(rho float64, k, layer int, step float64) float64 {
	if k < 0 || rho == 0 {
		return 0
	}
	switch layer {
	case Driving:
		layer = k
	case Best:
		var mx float64
		for l := 0; l < tr.Layers; l++ {
			mx = math.Max(mx, tr.popR(rho, k, l, step))
		}
		return mx
	}
	return rho * tr.Amplitude(layer, step) * math.Pow(tr.Rho, math.Abs(float64(layer-k)))
}

// FMRIPopR returns the population encoding r of fMRI target t from layer (an index, Best or
// Driving) at a training step (<= 0: the trained model).
func (tr *Truth) FMRIPopR(t, layer int, step float64) float64 {
	return tr.popR(tr.FMRI.Signal[t], tr.FMRI.Layer[t], layer, step)
}

// MEGPopR is FMRIPopR for a flattened MEG target.
func (tr *Truth) MEGPopR(t, layer int, step float64) float64 {
	return tr.popR(tr.MEG.Signal[t], tr.MEG.Layer[t], layer, step)
}

// FMRIHalfTime returns the planted half-time of the mean population score over the given fMRI
// targets (nil: all) from layer (an index, Best or Driving): the step at which it first reaches
// half of its value at the last checkpoint. NaN without checkpoints or signal.
func (tr *Truth) FMRIHalfTime(targets []int, layer int) float64 {
	return tr.halfTime(tr.FMRI.Signal, tr.FMRI.Layer, targets, layer)
}

// MEGHalfTime is FMRIHalfTime for flattened MEG targets (e.g. one time window's targets).
func (tr *Truth) MEGHalfTime(targets []int, layer int) float64 {
	return tr.halfTime(tr.MEG.Signal, tr.MEG.Layer, targets, layer)
}

func (tr *Truth) halfTime(signal []float64, driving []int, targets []int, layer int) float64 {
	if targets == nil {
		targets = make([]int, len(signal))
		for t := range targets {
			targets[t] = t
		}
	}
	L := tr.Layers
	decay := make([]float64, L) // Rho^|l-k|
	for d := range decay {
		decay[d] = math.Pow(tr.Rho, float64(d))
	}
	amp := make([]float64, L)
	// The same sum as over popR, with the amplitudes computed once per step.
	return tr.halfStep(func(s float64) float64 {
		for l := range amp {
			amp[l] = tr.Amplitude(l, s)
		}
		var sum float64
		for _, t := range targets {
			k, rho := driving[t], signal[t]
			if k < 0 {
				continue
			}
			switch layer {
			case Driving:
				sum += rho * amp[k]
			case Best:
				var mx float64
				for l, a := range amp {
					d := l - k
					if d < 0 {
						d = -d
					}
					mx = math.Max(mx, a*decay[d])
				}
				sum += rho * mx
			default:
				d := layer - k
				if d < 0 {
					d = -d
				}
				sum += rho * amp[layer] * decay[d]
			}
		}
		return sum
	})
}

// halfStep solves f(s) = f(final)/2 by bisection in ln(s); f increases with s because every
// amplitude does.
func (tr *Truth) halfStep(f func(float64) float64) float64 {
	if len(tr.Steps) == 0 {
		return math.NaN()
	}
	final := tr.Steps[len(tr.Steps)-1]
	half := f(final) / 2
	if !(half > 0) {
		return math.NaN()
	}
	lo, hi := math.Log(final)-60*tr.SigmoidWidth, math.Log(final)
	for range 100 {
		mid := (lo + hi) / 2
		if f(math.Exp(mid)) < half {
			lo = mid
		} else {
			hi = mid
		}
	}
	return math.Exp((lo + hi) / 2)
}

func (tr *Truth) finish(c Config, f *FMRI, g *MEG) {
	if len(tr.Steps) > 0 {
		tr.LayerHalfTime = make([]float64, tr.Layers)
		for l := range tr.LayerHalfTime {
			tr.LayerHalfTime[l] = tr.halfStep(func(s float64) float64 { return tr.Amplitude(l, s) })
		}
	}
	if ft := tr.FMRI; ft != nil {
		var xs, ys []float64
		for t, k := range ft.Layer {
			if k >= 0 {
				xs, ys = append(xs, ft.Depth[t]), append(ys, ft.Distance[t])
			}
		}
		ft.SpatialR = pearson(xs, ys)
		ft.HalfTime = tr.FMRIHalfTime(nil, Best)
		if len(tr.Steps) > 0 {
			ft.ROIHalfTime = make([]float64, len(f.ROINames))
			for roi := range ft.ROIHalfTime {
				var ts []int
				for t, r := range f.ROI {
					if r == roi {
						ts = append(ts, t)
					}
				}
				ft.ROIHalfTime[roi] = tr.FMRIHalfTime(ts, Best)
			}
		}
	}
	if mt := tr.MEG; mt != nil {
		T := len(g.Times)
		mt.TMax = make([]float64, tr.Layers)
		layers := make([]float64, tr.Layers)
		for l := range mt.TMax {
			layers[l] = float64(l)
			curve := make([]float64, T)
			var mx float64
			for t := range curve {
				for ch := 0; ch < g.Channels; ch++ {
					curve[t] += tr.MEGPopR(g.Target(ch, t), l, 0) / float64(g.Channels)
				}
				mx = math.Max(mx, curve[t])
			}
			var sum float64
			var cnt int
			for t, v := range curve {
				if mx > 0 && v >= 0.95*mx {
					sum += g.Times[t]
					cnt++
				}
			}
			mt.TMax[l] = math.NaN()
			if cnt > 0 {
				mt.TMax[l] = sum / float64(cnt)
			}
		}
		mt.TemporalR = pearson(layers, mt.TMax)
		mt.HalfTime = tr.MEGHalfTime(nil, Best)
	}
}

func pearson(x, y []float64) float64 {
	n := float64(len(x))
	var mx, my float64
	for i := range x {
		mx += x[i]
		my += y[i]
	}
	mx /= n
	my /= n
	var sxy, sxx, syy float64
	for i := range x {
		sxy += (x[i] - mx) * (y[i] - my)
		sxx += (x[i] - mx) * (x[i] - mx)
		syy += (y[i] - my) * (y[i] - my)
	}
	return sxy / math.Sqrt(sxx*syy)
}
