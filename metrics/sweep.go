package metrics

import (
	"fmt"
	"math"

	"gorgonia.org/tensor"
)

// BestLayers is the best layer of every target in a layer sweep.
type BestLayers struct {
	Index []int     `json:"index"` // argmax over layers, 0-based; ties go to the first (shallowest) layer
	Depth []float64 `json:"depth"` // Index / (layers-1): 0 for the first layer, 1 for the last
	Max   []float64 `json:"max"`   // the score at the best layer
}

// sweepTensor wraps a validated layers x targets table without copying.
func sweepTensor(fn string, r []float64, layers, targets int) (*tensor.Dense, error) {
	if err := checkLayers(fn, layers); err != nil {
		return nil, err
	}
	if err := checkTable(fn, "scores", r, layers, targets); err != nil {
		return nil, err
	}
	return tensor.New(tensor.WithShape(layers, targets), tensor.WithBacking(r)), nil
}

// BestLayer returns k*(target), the argmax over layers of the row-major
// layers x targets score table r, as an index and as relative depth
// k/(layers-1) in [0, 1]. It needs at least 2 layers (ErrTooFewLayers) and
// finite scores.
func BestLayer(r []float64, layers, targets int) (BestLayers, error) {
	t, err := sweepTensor("BestLayer", r, layers, targets)
	if err != nil {
		return BestLayers{}, err
	}
	am, err := t.Argmax(0)
	if err != nil {
		return BestLayers{}, fmt.Errorf("metrics: BestLayer: %w", err)
	}
	mx, err := t.Max(0)
	if err != nil {
		return BestLayers{}, fmt.Errorf("metrics: BestLayer: %w", err)
	}
	idx := am.Data().([]int)
	b := BestLayers{
		Index: append([]int(nil), idx...),
		Depth: make([]float64, targets),
		Max:   append([]float64(nil), mx.Data().([]float64)...),
	}
	for j, k := range b.Index {
		b.Depth[j] = float64(k) / float64(layers-1)
	}
	return b, nil
}

// Normalise returns R[l, t] / max_l R[l, t] for the row-major layers x
// targets table r, so each target's best layer scores 1. A target whose best
// score is <= 0 has no layer that predicts it; dividing would flip or blow up
// the profile, so its column is NaN. nonPositive counts such targets.
func Normalise(r []float64, layers, targets int) (norm []float64, nonPositive int, err error) {
	t, err := sweepTensor("Normalise", r, layers, targets)
	if err != nil {
		return nil, 0, err
	}
	mx, err := t.Max(0)
	if err != nil {
		return nil, 0, fmt.Errorf("metrics: Normalise: %w", err)
	}
	m := mx.Data().([]float64)
	norm = make([]float64, len(r))
	for _, v := range m {
		if v <= 0 {
			nonPositive++
		}
	}
	for l := 0; l < layers; l++ {
		for j := 0; j < targets; j++ {
			if m[j] <= 0 {
				norm[l*targets+j] = math.NaN()
				continue
			}
			norm[l*targets+j] = r[l*targets+j] / m[j]
		}
	}
	return norm, nonPositive, nil
}
