package synth

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"

	"github.com/brainalign/brainalign/engine"
)

// Model is a synthetic vision model: L layers of activations over the same n images, at one or
// more training checkpoints. Activations are generated on demand, deterministically, by
// Activations; each call costs about 2 n d^2 flops, so keep the matrix if you need it twice.
type Model struct {
	Images     int       // n
	LayerNames []string  // "layer00", ...
	Dims       []int     // features per layer
	Steps      []float64 // training step per checkpoint, ascending; nil: one trained model
	// Spectra[l] holds the planted eigenvalues lambda_j = (j+1)^-alpha of layer l's sources
	// (before the per-feature scales), largest first.
	Spectra [][]float64

	seed    uint64
	q       int
	latents [][]float64 // per layer, n x q row-major
	rot     []*mat.Dense
	scale   [][]float64 // per layer and feature
	offset  [][]float64
	amp     [][]float64 // [checkpoint][layer] latent amplitude
}

// NumLayers returns L.
func (m *Model) NumLayers() int { return len(m.Dims) }

// NumCheckpoints returns the number of checkpoints; 1 for a model without checkpoints. The last
// checkpoint is the trained model.
func (m *Model) NumCheckpoints() int { return len(m.amp) }

// Amplitude returns a_l(s_c), the correlation between each latent component of layer l and its
// copy in the activations at checkpoint c.
func (m *Model) Amplitude(ckpt, layer int) float64 { return m.amp[ckpt][layer] }

// Layer returns the activations of layer l of the trained model (the last checkpoint).
func (m *Model) Layer(l int) engine.Matrix { return m.Activations(m.NumCheckpoints()-1, l) }

// LatentColumn is the source column that carries latent component p: even columns 0, 2, ...,
// 2q-2, so that latent and nuisance sources interleave among the leading principal components.
func LatentColumn(p int) int { return 2 * p }

// Activations returns the activations (n x d_l, row-major float32) of layer l at checkpoint c.
func (m *Model) Activations(ckpt, layer int) engine.Matrix {
	if ckpt < 0 || ckpt >= m.NumCheckpoints() || layer < 0 || layer >= m.NumLayers() {
		panic(fmt.Sprintf("synth: Activations(%d, %d) out of range (%d checkpoints, %d layers)",
			ckpt, layer, m.NumCheckpoints(), m.NumLayers()))
	}
	n, d, q := m.Images, m.Dims[layer], m.q
	r := newRNG(m.seed, streamAct+uint64(ckpt)<<12+uint64(layer))
	a := m.amp[ckpt][layer]
	b := math.Sqrt(1 - a*a)
	sq := make([]float64, d)
	for j, v := range m.Spectra[layer] {
		sq[j] = math.Sqrt(v)
	}
	z := m.latents[layer]
	src := make([]float64, n*d)
	for i := 0; i < n; i++ {
		row := src[i*d : (i+1)*d]
		for j := range row {
			row[j] = r.NormFloat64()
		}
		// The latent enters with amplitude a; the rest of its unit variance is checkpoint noise.
		for p := 0; p < q; p++ {
			row[LatentColumn(p)] = a*z[i*q+p] + b*row[LatentColumn(p)]
		}
		for j := range row {
			row[j] *= sq[j]
		}
	}
	var x mat.Dense
	x.Mul(mat.NewDense(n, d, src), m.rot[layer].T())
	raw := x.RawMatrix()
	out := make([]float32, n*d)
	sc, off := m.scale[layer], m.offset[layer]
	for i := 0; i < n; i++ {
		row := raw.Data[i*raw.Stride : i*raw.Stride+d]
		o := out[i*d : (i+1)*d]
		for j, v := range row {
			o[j] = float32(off[j] + sc[j]*v)
		}
	}
	return engine.NewMatrix32(n, d, out)
}

// amplitude is the planted training curve a_l(s) = 1 / (1 + exp(-(ln s - ln m_l)/w)).
func amplitude(step, mid, width float64) float64 {
	return 1 / (1 + math.Exp(-(math.Log(step)-math.Log(mid))/width))
}

// layerMidpoints returns the per-layer sigmoid midpoints, log-spaced from first to last layer.
func layerMidpoints(c Config) []float64 {
	mids := make([]float64, c.Layers)
	for l := range mids {
		f := float64(l) / float64(c.Layers-1)
		mids[l] = math.Exp(math.Log(c.HalfTimeFirst) + f*(math.Log(c.HalfTimeLast)-math.Log(c.HalfTimeFirst)))
	}
	return mids
}

func newModel(c Config) *Model {
	n, q, L := c.Images, c.LatentDim, c.Layers
	m := &Model{Images: n, Dims: c.LayerDims(), Steps: c.Steps(), seed: c.Seed, q: q}
	for l := 0; l < L; l++ {
		m.LayerNames = append(m.LayerNames, fmt.Sprintf("layer%02d", l))
	}
	// Latent chain: z_0 ~ N(0, I), z_l = rho z_{l-1} + sqrt(1-rho^2) e_l.
	r := newRNG(c.Seed, streamLatent)
	e := math.Sqrt(1 - c.Rho*c.Rho)
	m.latents = make([][]float64, L)
	for l := range m.latents {
		z := make([]float64, n*q)
		for k := range z {
			z[k] = r.NormFloat64()
			if l > 0 {
				z[k] = c.Rho*m.latents[l-1][k] + e*z[k]
			}
		}
		m.latents[l] = z
	}
	for l, d := range m.Dims {
		r := newRNG(c.Seed, streamLayer+uint64(l))
		lam := make([]float64, d)
		for j := range lam {
			lam[j] = math.Pow(float64(j+1), -c.SpectrumExponent)
		}
		m.Spectra = append(m.Spectra, lam)
		m.rot = append(m.rot, randomRotation(r, d))
		// Activation norms grow with depth, as in residual networks; offsets are like the
		// non-zero means of post-nonlinearity features.
		ls := math.Exp(0.15 * float64(l))
		sc, off := make([]float64, d), make([]float64, d)
		for j := range sc {
			sc[j] = ls * math.Exp(c.FeatureScaleSpread*r.NormFloat64())
			off[j] = ls * (0.5 + 0.5*r.NormFloat64())
		}
		m.scale = append(m.scale, sc)
		m.offset = append(m.offset, off)
	}
	if len(m.Steps) == 0 {
		m.amp = [][]float64{make([]float64, L)}
		for l := range m.amp[0] {
			m.amp[0][l] = 1
		}
	} else {
		mids := layerMidpoints(c)
		for _, s := range m.Steps {
			a := make([]float64, L)
			for l := range a {
				a[l] = amplitude(s, mids[l], c.SigmoidWidth)
			}
			m.amp = append(m.amp, a)
		}
	}
	return m
}

// randomRotation returns a Haar-distributed orthogonal d x d matrix (QR of a Gaussian matrix
// with the signs of R's diagonal moved into Q).
func randomRotation(r interface{ NormFloat64() float64 }, d int) *mat.Dense {
	g := make([]float64, d*d)
	for k := range g {
		g[k] = r.NormFloat64()
	}
	var qr mat.QR
	qr.Factorize(mat.NewDense(d, d, g))
	var q, rr mat.Dense
	qr.QTo(&q)
	qr.RTo(&rr)
	for j := 0; j < d; j++ {
		if rr.At(j, j) < 0 {
			for i := 0; i < d; i++ {
				q.Set(i, j, -q.At(i, j))
			}
		}
	}
	return &q
}
