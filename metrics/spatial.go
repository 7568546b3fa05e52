package metrics

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"

	"github.com/brainalign/brainalign/stats"
)

// Correlation is a Pearson correlation with its two-sided p-value and the
// number of pairs it used.
type Correlation struct {
	R float64 `json:"r"`
	P float64 `json:"p"`
	N int     `json:"n"`
}

// A constant x or y is an error that names it (xName, yName) and what the values are of (over),
// since "an input is constant" would not tell a user which: every target at the same best layer,
// say, or at the same distance.
func pearson(fn string, x, y []float64, over, xName, yName string) (Correlation, error) {
	r, p, err := stats.Pearson(x, y)
	if err != nil {
		nan := Correlation{R: math.NaN(), P: math.NaN(), N: len(x)}
		for _, v := range []struct {
			name string
			vals []float64
		}{{xName, x}, {yName, y}} {
			if errors.Is(err, stats.ErrConstantInput) && len(v.vals) > 0 && !slices.ContainsFunc(v.vals, func(a float64) bool { return a != v.vals[0] }) {
				return nan, fmt.Errorf("metrics: %s: the %s is %.4g for all %d %s, so the correlation is undefined (%w)", fn, v.name, v.vals[0], len(v.vals), over, stats.ErrConstantInput)
			}
		}
		return nan, fmt.Errorf("metrics: %s: %w", fn, err)
	}
	return Correlation{R: r, P: p, N: len(x)}, nil
}

// ROICentroid returns the mean coordinate of the targets labelled label, a
// V1 reference when label is V1's. coords is m x 3 row-major (MNI mm).
func ROICentroid(coords []float64, labels []int, label int) ([3]float64, error) {
	var c [3]float64
	if len(coords) != 3*len(labels) {
		return c, fmt.Errorf("metrics: ROICentroid: %d coordinate values for %d labels, want %d (m x 3)", len(coords), len(labels), 3*len(labels))
	}
	if err := checkFinite("ROICentroid", "coords", coords); err != nil {
		return c, err
	}
	n := 0
	for i, l := range labels {
		if l == label {
			for k := 0; k < 3; k++ {
				c[k] += coords[3*i+k]
			}
			n++
		}
	}
	if n == 0 {
		return c, fmt.Errorf("metrics: ROICentroid: no target has ROI label %d", label)
	}
	for k := range c {
		c[k] /= float64(n)
	}
	return c, nil
}

// Distances returns the Euclidean distance of every target (coords m x 3,
// row-major) from ref.
func Distances(coords []float64, ref [3]float64) ([]float64, error) {
	if len(coords)%3 != 0 {
		return nil, fmt.Errorf("metrics: Distances: %d coordinate values is not m x 3", len(coords))
	}
	if err := checkFinite("Distances", "coords", coords); err != nil {
		return nil, err
	}
	d := make([]float64, len(coords)/3)
	for i := range d {
		dx, dy, dz := coords[3*i]-ref[0], coords[3*i+1]-ref[1], coords[3*i+2]-ref[2]
		d[i] = math.Sqrt(dx*dx + dy*dy + dz*dz)
	}
	return d, nil
}

// checkSpatial validates the shared inputs of the spatial scores and
// returns the distances.
func checkSpatial(fn string, depth, coords []float64, ref [3]float64, mask []bool) ([]float64, error) {
	m := len(depth)
	if m == 0 {
		return nil, fmt.Errorf("metrics: %s: no targets", fn)
	}
	if len(coords) != 3*m {
		return nil, fmt.Errorf("metrics: %s: %d coordinate values for %d targets, want %d (m x 3)", fn, len(coords), m, 3*m)
	}
	if mask != nil && len(mask) != m {
		return nil, fmt.Errorf("metrics: %s: mask has %d entries for %d targets", fn, len(mask), m)
	}
	if err := checkFinite(fn, "best-layer depth", depth); err != nil {
		return nil, err
	}
	for _, v := range ref {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("metrics: %s: reference %v is not finite", fn, ref)
		}
	}
	return Distances(coords, ref)
}

// SpatialScore is the target-level spatial score: the Pearson correlation
// between the best-layer depth k* of each target and its distance from the
// V1 reference ref, over the targets where mask is true (all when mask is
// nil). coords is m x 3 row-major, in mm. Fewer than 3 masked targets, or a
// constant depth or distance, is an error.
func SpatialScore(depth, coords []float64, ref [3]float64, mask []bool) (Correlation, error) {
	const fn = "SpatialScore"
	dist, err := checkSpatial(fn, depth, coords, ref, mask)
	if err != nil {
		return Correlation{}, err
	}
	var x, y []float64
	for i := range depth {
		if mask == nil || mask[i] {
			x = append(x, depth[i])
			y = append(y, dist[i])
		}
	}
	if len(x) < 3 {
		return Correlation{N: len(x)}, fmt.Errorf("metrics: %s: %d targets pass the mask, need at least 3", fn, len(x))
	}
	return pearson(fn, x, y, "masked targets", "best-layer depth", "distance (mm) from the V1 reference")
}

// ROISpatial is the ROI-level spatial score and the per-ROI means behind it.
type ROISpatial struct {
	Correlation            // over ROIs: mean depth vs mean distance
	Labels       []int     `json:"labels"`           // ROI labels, ascending, that had masked targets
	MeanDepth    []float64 `json:"mean_depth"`       // per ROI: mean best-layer depth of its masked targets
	MeanDistance []float64 `json:"mean_distance_mm"` // per ROI: mean distance (mm) of its masked targets from the reference
	Count        []int     `json:"targets"`          // per ROI: masked targets
}

// SpatialScoreROI is the ROI-level spatial score: for each ROI label, the
// mean best-layer depth and the mean distance from ref over its targets that
// pass mask (nil: all); then Pearson's r over ROIs. ROIs with no masked
// target are left out; fewer than 3 remaining ROIs is an error.
func SpatialScoreROI(depth, coords []float64, labels []int, ref [3]float64, mask []bool) (ROISpatial, error) {
	const fn = "SpatialScoreROI"
	dist, err := checkSpatial(fn, depth, coords, ref, mask)
	if err != nil {
		return ROISpatial{}, err
	}
	if len(labels) != len(depth) {
		return ROISpatial{}, fmt.Errorf("metrics: %s: %d ROI labels for %d targets", fn, len(labels), len(depth))
	}
	type acc struct {
		d, r float64
		n    int
	}
	by := map[int]*acc{}
	for i, l := range labels {
		if mask != nil && !mask[i] {
			continue
		}
		a := by[l]
		if a == nil {
			a = &acc{}
			by[l] = a
		}
		a.d += depth[i]
		a.r += dist[i]
		a.n++
	}
	var res ROISpatial
	for l := range by {
		res.Labels = append(res.Labels, l)
	}
	sort.Ints(res.Labels)
	for _, l := range res.Labels {
		a := by[l]
		res.MeanDepth = append(res.MeanDepth, a.d/float64(a.n))
		res.MeanDistance = append(res.MeanDistance, a.r/float64(a.n))
		res.Count = append(res.Count, a.n)
	}
	if len(res.Labels) < 3 {
		res.Correlation = Correlation{R: math.NaN(), P: math.NaN(), N: len(res.Labels)}
		return res, fmt.Errorf("metrics: %s: %d ROIs have masked targets, need at least 3", fn, len(res.Labels))
	}
	res.Correlation, err = pearson(fn, res.MeanDepth, res.MeanDistance, "ROIs", "mean best-layer depth", "mean distance (mm) from the V1 reference")
	return res, err
}
