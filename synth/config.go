package synth

import (
	"errors"
	"fmt"
	"math"
)

// Config sets every size, rate and seed of a synthetic study. Start from Demo or Study and
// change fields; Generate validates the result.
type Config struct {
	// Seed makes the study reproducible: the same Config gives bit-identical data.
	Seed uint64
	// Images is n, the number of stimuli (rows of every matrix).
	Images int
	// Subjects is the number of subjects, sharing images and planted truth, with their own noise
	// (and, for fMRI, slightly displaced coordinates).
	Subjects int

	// Model.
	Layers int   // L, number of layers
	Dim    int   // features per layer when Dims is nil
	Dims   []int // optional features per layer (len Layers); each must be >= 2*LatentDim
	// LatentDim is q, the dimension of each layer's latent (the image representation that the
	// brain targets are driven by).
	LatentDim int
	// Rho is the correlation between layer l's and layer l-1's latent (per latent component):
	// layer l explains a target driven by layer k with population r scaled by Rho^|l-k|.
	Rho float64
	// SpectrumExponent is alpha in the planted covariance eigenvalues lambda_j = j^-alpha.
	SpectrumExponent float64
	// FeatureScaleSpread is the standard deviation of the log of the per-feature scale applied
	// after the rotation (0: the spectrum is exactly the power law in expectation).
	FeatureScaleSpread float64

	// Training checkpoints. Checkpoints == 0: one fully trained model (latent amplitude 1).
	Checkpoints      int
	StepMin, StepMax float64 // steps of the first and last checkpoint, log-spaced in between
	// HalfTimeFirst and HalfTimeLast are the sigmoid midpoints (steps) of the latent amplitude of
	// the first and last layer; the layers in between are log-spaced (deeper layers learn later).
	HalfTimeFirst, HalfTimeLast float64
	// SigmoidWidth is the width w of the amplitude sigmoid in units of ln(step).
	SigmoidWidth float64

	FMRI FMRIConfig
	MEG  MEGConfig
}

// FMRIConfig sets the fMRI part. Targets == 0 disables it.
type FMRIConfig struct {
	Targets int // m, vertices
	// NoiseFraction is the share of pure-noise targets (no signal at all).
	NoiseFraction float64
	// SignalMin and SignalMax bound rho_t, the population Pearson r between a signal target and
	// its driving latent (drawn uniformly).
	SignalMin, SignalMax float64
	// DepthJitter is the standard deviation of the jitter added to the planted relative depth
	// (distance/DMax) before it is rounded to a layer; 0 gives a perfect monotone map.
	DepthJitter float64
	// Spread is the standard deviation (mm) of target positions around the posterior-anterior axis.
	Spread float64
	// CoordJitter is the standard deviation (mm) of each subject's displacement of each target.
	CoordJitter float64
}

// MEGConfig sets the MEG part. Channels == 0 disables it.
type MEGConfig struct {
	Channels   int
	TMin, TMax float64 // epoch, seconds (stimulus onset at 0)
	SampleRate float64 // Hz; times are TMin + j/SampleRate up to TMax
	// NoiseFraction is the share of pure-noise channels.
	NoiseFraction float64
	// SignalMax is the peak population r of a channel with gain 1 at the peak of the envelope.
	SignalMax float64
	// Early and Late (seconds) are the times at which the first and the last layer drive the
	// signal; relative depth rises linearly in between and is clipped outside.
	Early, Late float64
	// DepthJitter is the standard deviation of the per-target jitter of relative depth.
	DepthJitter float64
	// NoiseAR is the lag-one autocorrelation of the noise over time points within a channel.
	NoiseAR float64
}

// Demo is the small study of `brainalign demo`: it generates in well under a second and runs
// through the CPU engine in seconds.
func Demo() Config {
	c := Config{
		Seed: 1, Images: 600, Subjects: 3,
		Layers: 8, LatentDim: 8, Rho: 0.7, SpectrumExponent: 1, FeatureScaleSpread: 0.2,
		Checkpoints: 6, StepMin: 1e2, StepMax: 1e7,
		HalfTimeFirst: 2e4, HalfTimeLast: 4e5, SigmoidWidth: 1,
		FMRI: FMRIConfig{Targets: 1500, NoiseFraction: 0.2, SignalMin: 0.3, SignalMax: 0.8,
			DepthJitter: 0.1, Spread: 4, CoordJitter: 1.5},
		MEG: MEGConfig{Channels: 32, TMin: -0.5, TMax: 1.0, SampleRate: 20, NoiseFraction: 0.25,
			SignalMax: 0.8, Early: 0.06, Late: 0.5, DepthJitter: 0.05, NoiseAR: 0.5},
	}
	// Widths 64 to 128 in steps of 8: layers need not share a width.
	c.Dims = make([]int, c.Layers)
	for l := range c.Dims {
		c.Dims[l] = 64 + 8*int(math.Round(float64(l)*8/float64(c.Layers-1)))
	}
	return c
}

// Small is the study of the sweep tests and of `brainalign demo`'s study part: 400 images, 6
// layers of 32 features, 6 checkpoints, 3 subjects, 360 fMRI vertices and 16 MEG channels;
// seconds to sweep on a CPU.
func Small() Config {
	c := Demo()
	c.Images, c.Subjects, c.Layers, c.Dims, c.Dim, c.LatentDim = 400, 3, 6, nil, 32, 6
	c.Checkpoints = 6
	c.FMRI.Targets = 360
	c.MEG.Channels = 16
	return c
}

// Study is a bigger study for benchmarks: 2000 images, 12 layers of 256 to 768 features,
// 10,000 fMRI vertices and 64 MEG channels x 46 times for 3 subjects, 8 checkpoints. The brain
// data take about 300 MB; activations are generated on demand (Model.Activations).
func Study() Config {
	c := Demo()
	c.Seed = 2
	c.Images = 2000
	c.Layers = 12
	c.LatentDim = 16
	c.Checkpoints = 8
	c.Dims = make([]int, c.Layers)
	for l := range c.Dims {
		c.Dims[l] = 256 + 64*int(math.Round(float64(l)*8/float64(c.Layers-1)))
	}
	c.FMRI.Targets = 10000
	c.MEG.Channels = 64
	c.MEG.SampleRate = 30
	return c
}

// LayerDims returns the number of features of each layer.
func (c Config) LayerDims() []int {
	if c.Dims != nil {
		return append([]int(nil), c.Dims...)
	}
	d := make([]int, c.Layers)
	for l := range d {
		d[l] = c.Dim
	}
	return d
}

// Steps returns the training steps of the checkpoints (nil without checkpoints).
func (c Config) Steps() []float64 {
	if c.Checkpoints == 0 {
		return nil
	}
	s := make([]float64, c.Checkpoints)
	for i := range s {
		if c.Checkpoints == 1 {
			s[i] = c.StepMax
			break
		}
		f := float64(i) / float64(c.Checkpoints-1)
		s[i] = math.Exp(math.Log(c.StepMin) + f*(math.Log(c.StepMax)-math.Log(c.StepMin)))
		if s[i] >= 1 {
			s[i] = math.Round(s[i]) // training steps are whole numbers
		}
	}
	s[0], s[len(s)-1] = c.StepMin, c.StepMax // exact, not rounded through exp/log
	if c.Checkpoints == 1 {
		s[0] = c.StepMax
	}
	return s
}

// MEGTimes returns the MEG time points (nil when MEG is disabled).
func (c Config) MEGTimes() []float64 {
	m := c.MEG
	if m.Channels == 0 {
		return nil
	}
	// As MNE's epochs.times, (first + j) / rate where TMin is on the sample grid: times that
	// fall on round values are them (0.1, not 0.09999999999999998).
	first := math.Round(m.TMin * m.SampleRate)
	onGrid := math.Abs(first-m.TMin*m.SampleRate) < 1e-9
	var t []float64
	for j := 0; ; j++ {
		v := m.TMin + float64(j)/m.SampleRate
		if onGrid {
			v = (first + float64(j)) / m.SampleRate
		}
		if v > m.TMax+1e-9 {
			break
		}
		t = append(t, v)
	}
	return t
}

// Validate reports every problem with the configuration, joined, or nil.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("synth: "+format, args...))
	}
	finite := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
	if c.Images < 20 {
		bad("Images must be >= 20, got %d", c.Images)
	}
	if c.Subjects < 1 {
		bad("Subjects must be >= 1, got %d", c.Subjects)
	}
	if c.Layers < 2 {
		bad("Layers must be >= 2, got %d", c.Layers)
	}
	if c.LatentDim < 1 {
		bad("LatentDim must be >= 1, got %d", c.LatentDim)
	}
	if c.Dims != nil && len(c.Dims) != c.Layers {
		bad("Dims has %d entries for %d layers", len(c.Dims), c.Layers)
	} else if c.Layers >= 2 {
		for l, d := range c.LayerDims() {
			if d < 2*c.LatentDim || d < 2 {
				bad("layer %d has %d features; need at least 2*LatentDim = %d", l, d, 2*c.LatentDim)
			}
		}
	}
	if !(c.Rho >= 0 && c.Rho < 1) {
		bad("Rho must be in [0, 1), got %v", c.Rho)
	}
	if !(c.SpectrumExponent >= 0 && c.SpectrumExponent <= 4) {
		bad("SpectrumExponent must be in [0, 4], got %v", c.SpectrumExponent)
	}
	if !(c.FeatureScaleSpread >= 0 && c.FeatureScaleSpread <= 2) {
		bad("FeatureScaleSpread must be in [0, 2], got %v", c.FeatureScaleSpread)
	}
	if c.Checkpoints < 0 {
		bad("Checkpoints must be >= 0, got %d", c.Checkpoints)
	}
	if c.Checkpoints > 0 {
		if !(c.StepMin > 0 && c.StepMax >= c.StepMin && finite(c.StepMax)) {
			bad("need 0 < StepMin <= StepMax, got %v and %v", c.StepMin, c.StepMax)
		}
		if c.Checkpoints > 1 && c.StepMax == c.StepMin {
			bad("StepMin == StepMax with %d checkpoints", c.Checkpoints)
		}
		if !(c.HalfTimeFirst > 0 && c.HalfTimeLast > 0 && finite(c.HalfTimeFirst) && finite(c.HalfTimeLast)) {
			bad("HalfTimeFirst and HalfTimeLast must be positive steps, got %v and %v", c.HalfTimeFirst, c.HalfTimeLast)
		}
		if !(c.SigmoidWidth > 0 && finite(c.SigmoidWidth)) {
			bad("SigmoidWidth must be > 0, got %v", c.SigmoidWidth)
		}
	}
	f := c.FMRI
	if f.Targets < 0 {
		bad("FMRI.Targets must be >= 0, got %d", f.Targets)
	}
	if f.Targets > 0 {
		if !(f.NoiseFraction >= 0 && f.NoiseFraction <= 1) {
			bad("FMRI.NoiseFraction must be in [0, 1], got %v", f.NoiseFraction)
		}
		if !(f.SignalMin >= 0 && f.SignalMin <= f.SignalMax && f.SignalMax < 1) {
			bad("FMRI needs 0 <= SignalMin <= SignalMax < 1, got %v and %v", f.SignalMin, f.SignalMax)
		}
		if !(f.DepthJitter >= 0 && f.Spread >= 0 && f.CoordJitter >= 0) {
			bad("FMRI.DepthJitter, Spread and CoordJitter must be >= 0")
		}
	}
	m := c.MEG
	if m.Channels < 0 {
		bad("MEG.Channels must be >= 0, got %d", m.Channels)
	}
	if m.Channels > 0 {
		if !(m.SampleRate > 0 && finite(m.SampleRate)) {
			bad("MEG.SampleRate must be > 0, got %v", m.SampleRate)
		} else if !(m.TMin < 0 && m.TMax > 0 && finite(m.TMin) && finite(m.TMax)) {
			bad("MEG epoch must contain the onset: TMin < 0 < TMax, got %v and %v", m.TMin, m.TMax)
		} else if n := (m.TMax - m.TMin) * m.SampleRate; n > 1e5 {
			bad("MEG epoch has %.0f time points; at most 100000", n)
		} else if after := math.Floor(m.TMax*m.SampleRate + 1e-9); after < 2 {
			// the responses start after the onset: fewer than two time points there plant nothing
			bad("MEG epoch has %.0f time point(s) after the onset (TMax %v s at %v Hz); want at least 2", after, m.TMax, m.SampleRate)
		}
		if !(m.NoiseFraction >= 0 && m.NoiseFraction <= 1) {
			bad("MEG.NoiseFraction must be in [0, 1], got %v", m.NoiseFraction)
		}
		if !(m.SignalMax >= 0 && m.SignalMax < 1) {
			bad("MEG.SignalMax must be in [0, 1), got %v", m.SignalMax)
		}
		if !(m.Early >= 0 && m.Late > m.Early) {
			bad("MEG needs 0 <= Early < Late, got %v and %v", m.Early, m.Late)
		} else if m.Early >= m.TMax {
			bad("MEG.Early %v must fall inside the epoch (before TMax %v): the layers' peak times would all be cut off", m.Early, m.TMax)
		}
		if !(m.DepthJitter >= 0) {
			bad("MEG.DepthJitter must be >= 0, got %v", m.DepthJitter)
		}
		if !(m.NoiseAR >= 0 && m.NoiseAR < 1) {
			bad("MEG.NoiseAR must be in [0, 1), got %v", m.NoiseAR)
		}
	}
	if f.Targets == 0 && m.Channels == 0 {
		bad("no brain data: both FMRI.Targets and MEG.Channels are 0")
	}
	return errors.Join(errs...)
}
