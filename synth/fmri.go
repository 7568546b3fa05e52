package synth

import (
	"math"
	"sync"

	"github.com/brainalign/brainalign/engine"
)

// FMRI is the fMRI part of a study: m vertices with ROI labels, recorded in several subjects.
type FMRI struct {
	ROINames []string // ROI names, posterior to anterior: V1, V2, V4, LO, IT, PFC
	ROI      []int    // per target, an index into ROINames
	// V1Ref is the V1 reference point (mm), the point of the posterior-anterior axis at the centre
	// of the V1 band. Each subject's V1 centroid lies within about a millimetre of it.
	V1Ref    [3]float64
	Subjects []FMRISubject

	scale []float64 // per target, the response scale (Trials)
}

// FMRISubject holds one subject's responses and vertex coordinates.
type FMRISubject struct {
	Data   engine.Matrix // n x m, row-major float32
	Coords engine.Matrix // m x 3 (x, y, z in mm, MNI-like), row-major float64
}

// The posterior-anterior axis of the left hemisphere, from the occipital pole to prefrontal
// cortex (MNI-like mm), and the bands of it that each ROI occupies (fractions of the axis).
var (
	axisStart = [3]float64{-12, -100, 2}
	axisEnd   = [3]float64{-40, 40, 20}
	roiBands  = []struct {
		name   string
		u0, u1 float64
	}{
		{"V1", 0, 0.1}, {"V2", 0.1, 0.2}, {"V4", 0.2, 0.35}, {"LO", 0.35, 0.5}, {"IT", 0.5, 0.7}, {"PFC", 0.8, 1},
	}
)

// depthRange is the axis fraction whose distance from V1Ref maps to relative depth 1.
const depthRange = 0.9

func axisPoint(u float64) [3]float64 {
	var p [3]float64
	for k := range p {
		p[k] = axisStart[k] + u*(axisEnd[k]-axisStart[k])
	}
	return p
}

func dist3(a, b [3]float64) float64 {
	return math.Sqrt((a[0]-b[0])*(a[0]-b[0]) + (a[1]-b[1])*(a[1]-b[1]) + (a[2]-b[2])*(a[2]-b[2]))
}

// fmriTemplate draws the planted layout and truth shared by all subjects.
type fmriTemplate struct {
	pos         [][3]float64
	w           [][]float64 // unit q-vector per target
	offset, scl []float64
}

func newFMRI(c Config, tr *Truth) (*FMRI, *fmriTemplate) {
	f, m, L, q := c.FMRI, c.FMRI.Targets, c.Layers, c.LatentDim
	r := newRNG(c.Seed, streamFMRITruth)
	out := &FMRI{ROI: make([]int, m), V1Ref: axisPoint((roiBands[0].u0 + roiBands[0].u1) / 2)}
	for _, b := range roiBands {
		out.ROINames = append(out.ROINames, b.name)
	}
	ft := &FMRITruth{
		Layer: make([]int, m), Depth: make([]float64, m), PlantedDepth: make([]float64, m),
		Signal: make([]float64, m), Noise: make([]bool, m), Distance: make([]float64, m),
	}
	tmp := &fmriTemplate{pos: make([][3]float64, m), w: make([][]float64, m),
		offset: make([]float64, m), scl: make([]float64, m)}
	dmax := dist3(axisPoint(depthRange), out.V1Ref)
	for t := 0; t < m; t++ {
		roi := t * len(roiBands) / m // equal shares, contiguous: targets sorted by ROI
		b := roiBands[roi]
		out.ROI[t] = roi
		p := axisPoint(b.u0 + (b.u1-b.u0)*r.Float64())
		for k := range p {
			p[k] += f.Spread * r.NormFloat64()
		}
		tmp.pos[t] = p
		ft.Distance[t] = dist3(p, out.V1Ref)
		tmp.w[t] = unitVector(r, q)
		tmp.offset[t] = 2 * r.NormFloat64()
		tmp.scl[t] = math.Exp(0.3 * r.NormFloat64())
		delta := ft.Distance[t]/dmax + f.DepthJitter*r.NormFloat64()
		delta = math.Min(1, math.Max(0, delta))
		rho := f.SignalMin + (f.SignalMax-f.SignalMin)*r.Float64()
		if r.Float64() < f.NoiseFraction {
			ft.Noise[t], ft.Layer[t] = true, -1
			ft.Depth[t], ft.PlantedDepth[t] = math.NaN(), math.NaN()
			continue
		}
		k := int(math.Round(delta * float64(L-1)))
		ft.Layer[t], ft.Depth[t], ft.PlantedDepth[t], ft.Signal[t] = k, float64(k)/float64(L-1), delta, rho
	}
	tr.FMRI = ft
	out.scale = tmp.scl
	return out, tmp
}

// fmriSubject generates subject s: y_t = offset_t + scale_t (rho_t z_k w_t + sqrt(1-rho_t^2) eps).
func fmriSubject(c Config, s int, mod *Model, ft *FMRITruth, tmp *fmriTemplate) FMRISubject {
	n, m, q := c.Images, c.FMRI.Targets, c.LatentDim
	r := newRNG(c.Seed, streamFMRISubject+uint64(s))
	coords := make([]float64, m*3)
	for t := range m {
		for k := 0; k < 3; k++ {
			coords[t*3+k] = tmp.pos[t][k] + c.FMRI.CoordJitter*r.NormFloat64()
		}
	}
	nsd := make([]float64, m)
	for t, rho := range ft.Signal {
		nsd[t] = math.Sqrt(1 - rho*rho)
	}
	y := make([]float32, n*m)
	for i := 0; i < n; i++ {
		row := y[i*m : (i+1)*m]
		for t := range row {
			v := nsd[t] * r.NormFloat64()
			if k := ft.Layer[t]; k >= 0 {
				z := mod.latents[k][i*q : (i+1)*q]
				var sig float64
				for p, w := range tmp.w[t] {
					sig += z[p] * w
				}
				v += ft.Signal[t] * sig
			}
			row[t] = float32(tmp.offset[t] + tmp.scl[t]*v)
		}
	}
	return FMRISubject{Data: engine.NewMatrix32(n, m, y), Coords: engine.NewMatrix64(m, 3, coords)}
}

// Trials returns subject s's responses as trials, repeats per image, whose mean over the repeats
// of an image is that image's row of the subject's Data (up to float32 rounding). Trial k of
// image i at target t is Data[i,t] + scale_t sqrt(1 - rho_t^2) sqrt(K) (eta_k - mean_k eta), eta
// standard normal: the K trials carry independent noise of K times the variance of Data's, so
// stimulus-averaged trials are Data again and their noise ceiling (the largest Pearson r against
// them) is rho_t, FMRITruth.Signal (0 for pure-noise targets). The trials come in K sessions of
// n rows: session 0 shows the images in order, later sessions in a random order. image gives
// each trial's image (row of the activations).
func (f *FMRI) Trials(c Config, s, repeats int, ft *FMRITruth) (trials engine.Matrix, image []int) {
	n, m, K := c.Images, c.FMRI.Targets, repeats
	r := newRNG(c.Seed, streamFMRITrials+uint64(s))
	data := f.Subjects[s].Data.F32
	out := make([]float32, K*n*m)
	image = make([]int, K*n)
	row := make([]int, K*n) // row of the trials matrix of (session k, image i): k*n + position
	for k := range K {
		order := make([]int, n)
		for i := range order {
			order[i] = i
		}
		if k > 0 {
			r.Shuffle(n, func(a, b int) { order[a], order[b] = order[b], order[a] })
		}
		for p, i := range order {
			image[k*n+p] = i
			row[k*n+i] = k*n + p
		}
	}
	amp := make([]float64, m)
	for t, rho := range ft.Signal {
		amp[t] = f.scale[t] * math.Sqrt((1-rho*rho)*float64(K))
	}
	eta := make([]float64, K)
	for i := range n {
		for t := range m {
			var mean float64
			for k := range eta {
				eta[k] = r.NormFloat64()
				mean += eta[k]
			}
			mean /= float64(K)
			for k, e := range eta {
				out[row[k*n+i]*m+t] = float32(float64(data[i*m+t]) + amp[t]*(e-mean))
			}
		}
	}
	return engine.NewMatrix32(K*n, m, out), image
}

func (f *FMRI) generateSubjects(c Config, mod *Model, ft *FMRITruth, tmp *fmriTemplate) {
	f.Subjects = make([]FMRISubject, c.Subjects)
	var wg sync.WaitGroup
	for s := range f.Subjects {
		wg.Go(func() { f.Subjects[s] = fmriSubject(c, s, mod, ft, tmp) })
	}
	wg.Wait()
}

func unitVector(r interface{ NormFloat64() float64 }, q int) []float64 {
	w := make([]float64, q)
	var ss float64
	for p := range w {
		w[p] = r.NormFloat64()
		ss += w[p] * w[p]
	}
	for p := range w {
		w[p] /= math.Sqrt(ss)
	}
	return w
}
