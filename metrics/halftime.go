package metrics

import (
	"errors"
	"fmt"
	"math"
	"sort"
)

// ErrNoHalfTime is wrapped when a half-time is undefined because the final
// value of the metric is not positive.
var ErrNoHalfTime = errors.New("metrics: half-time undefined, the final value is not positive")

// HalfTime is when a metric first reaches half of its final value.
type HalfTime struct {
	Step     float64 `json:"step"`     // training step; NaN when undefined
	Fraction float64 `json:"fraction"` // Step / final step
	// Interpolated is false when the metric was already at half its final
	// value at the first usable checkpoint: Step is then that checkpoint's
	// step, an upper bound (exact when it is step 0).
	Interpolated bool `json:"interpolated"`
}

func undefinedHalfTime() HalfTime { return HalfTime{Step: math.NaN(), Fraction: math.NaN()} }

// HalfTimeOf returns the step at which values (measured at checkpoints
// steps, strictly increasing, >= 0) first reach half of the final value
// values[len-1], interpolating linearly in log(step) between the last
// checkpoint below half and the first at or above it, and that step as a
// fraction of the final step.
//
// Edge cases, in order:
//   - final value <= 0: no half-time; an error wrapping ErrNoHalfTime.
//   - a checkpoint at step 0 (the untrained model) already at half: Step 0.
//   - otherwise step 0 is skipped: log(0) is undefined, so no interpolation
//     can start there.
//   - the first positive step already at half: that step, Interpolated false
//     (the crossing happened at or before it).
//
// At least 2 checkpoints with a positive final step are needed.
func HalfTimeOf(steps, values []float64) (HalfTime, error) {
	const fn = "HalfTimeOf"
	if err := checkSteps(fn, steps); err != nil {
		return undefinedHalfTime(), err
	}
	if len(values) != len(steps) {
		return undefinedHalfTime(), fmt.Errorf("metrics: %s: %d values for %d checkpoints", fn, len(values), len(steps))
	}
	if err := checkFinite(fn, "values", values); err != nil {
		return undefinedHalfTime(), err
	}
	return halfTime(steps, values)
}

func halfTime(steps, values []float64) (HalfTime, error) {
	n := len(steps)
	final, last := values[n-1], steps[n-1]
	if final <= 0 {
		return undefinedHalfTime(), fmt.Errorf("%w (final value %v)", ErrNoHalfTime, final)
	}
	half := final / 2
	i0 := 0
	if steps[0] == 0 {
		if values[0] >= half {
			return HalfTime{Step: 0, Fraction: 0}, nil
		}
		i0 = 1
	}
	if values[i0] >= half {
		return HalfTime{Step: steps[i0], Fraction: steps[i0] / last}, nil
	}
	for i := i0 + 1; i < n; i++ {
		if values[i] < half {
			continue
		}
		// values[i-1] < half <= values[i], both steps positive.
		f := (half - values[i-1]) / (values[i] - values[i-1])
		a, b := math.Log(steps[i-1]), math.Log(steps[i])
		s := math.Exp(a + f*(b-a))
		if f == 1 {
			s = steps[i] // exact at the checkpoint, no round trip through log
		}
		return HalfTime{Step: s, Fraction: s / last, Interpolated: true}, nil
	}
	// Unreachable: the final value is >= half.
	return undefinedHalfTime(), fmt.Errorf("metrics: HalfTimeOf: internal error, no crossing found")
}

func checkSteps(fn string, steps []float64) error {
	if len(steps) < 2 {
		return fmt.Errorf("metrics: %s: needs at least 2 checkpoints, got %d", fn, len(steps))
	}
	if err := checkFinite(fn, "steps", steps); err != nil {
		return err
	}
	if steps[0] < 0 {
		return fmt.Errorf("metrics: %s: step %v is negative", fn, steps[0])
	}
	for i := 1; i < len(steps); i++ {
		if !(steps[i] > steps[i-1]) {
			return fmt.Errorf("metrics: %s: steps are not strictly increasing at checkpoint %d (%v after %v)", fn, i, steps[i], steps[i-1])
		}
	}
	return nil
}

// HalfTimes applies HalfTimeOf to every column of values, a row-major
// len(steps) x series array (checkpoints x ROIs, or x time windows). A
// column whose final value is <= 0 gets an undefined half-time (NaN Step)
// rather than an error; shape and finiteness problems are errors.
func HalfTimes(steps, values []float64, series int) ([]HalfTime, error) {
	const fn = "HalfTimes"
	if err := checkSteps(fn, steps); err != nil {
		return nil, err
	}
	if err := checkTable(fn, "values", values, len(steps), series); err != nil {
		return nil, err
	}
	out := make([]HalfTime, series)
	col := make([]float64, len(steps))
	for j := range out {
		for i := range col {
			col[i] = values[i*series+j]
		}
		h, err := halfTime(steps, col)
		if err != nil && !errors.Is(err, ErrNoHalfTime) {
			return nil, err
		}
		out[j] = h
	}
	return out, nil
}

// ROIMeans averages a row-major rows x targets array over the targets of
// each ROI label that pass mask (nil: all), giving rows x len(roiLabels)
// with roiLabels ascending. Rows are e.g. checkpoints, so the result feeds
// HalfTimes. ROIs without a masked target are left out.
func ROIMeans(values []float64, rows, targets int, labels []int, mask []bool) (roiLabels []int, means []float64, err error) {
	const fn = "ROIMeans"
	if err := checkTable(fn, "values", values, rows, targets); err != nil {
		return nil, nil, err
	}
	if len(labels) != targets {
		return nil, nil, fmt.Errorf("metrics: %s: %d ROI labels for %d targets", fn, len(labels), targets)
	}
	if mask != nil && len(mask) != targets {
		return nil, nil, fmt.Errorf("metrics: %s: mask has %d entries for %d targets", fn, len(mask), targets)
	}
	count := map[int]int{}
	for j, l := range labels {
		if mask == nil || mask[j] {
			count[l]++
		}
	}
	if len(count) == 0 {
		return nil, nil, fmt.Errorf("metrics: %s: no target passes the mask", fn)
	}
	for l := range count {
		roiLabels = append(roiLabels, l)
	}
	sort.Ints(roiLabels)
	col := make(map[int]int, len(roiLabels))
	for k, l := range roiLabels {
		col[l] = k
	}
	nr := len(roiLabels)
	means = make([]float64, rows*nr)
	for r := 0; r < rows; r++ {
		for j, l := range labels {
			if mask == nil || mask[j] {
				means[r*nr+col[l]] += values[r*targets+j]
			}
		}
		for k, l := range roiLabels {
			means[r*nr+k] /= float64(count[l])
		}
	}
	return roiLabels, means, nil
}

// ROIHalfTimes is the half-time of the ROI-mean score: scores is row-major
// len(steps) x targets (one row per checkpoint), averaged per ROI label
// over masked targets (ROIMeans), then HalfTimes per ROI.
func ROIHalfTimes(steps, scores []float64, targets int, labels []int, mask []bool) (roiLabels []int, ht []HalfTime, err error) {
	if err := checkSteps("ROIHalfTimes", steps); err != nil {
		return nil, nil, err
	}
	roiLabels, means, err := ROIMeans(scores, len(steps), targets, labels, mask)
	if err != nil {
		return nil, nil, err
	}
	ht, err = HalfTimes(steps, means, len(roiLabels))
	return roiLabels, ht, err
}

// WindowHalfTimes is the half-time of a temporal metric per time window:
// curves is row-major len(steps) x len(times) (e.g. the channel- and
// layer-averaged score of each checkpoint over time), averaged over each
// window (WindowMeans), then HalfTimes per window.
func WindowHalfTimes(steps, curves, times []float64, windows []Window) ([]HalfTime, error) {
	if err := checkSteps("WindowHalfTimes", steps); err != nil {
		return nil, err
	}
	means, err := WindowMeans(curves, len(steps), times, windows)
	if err != nil {
		return nil, err
	}
	return HalfTimes(steps, means, len(windows))
}

// HalfTimeDistance correlates ROI half-times (as fractions of training)
// with the ROIs' distances from V1 (e.g. ROISpatial.MeanDistance, in the
// same ROI order). ROIs with an undefined half-time are left out; fewer than
// 3 remaining is an error. The study found r = 0.91.
func HalfTimeDistance(ht []HalfTime, distance []float64) (Correlation, error) {
	const fn = "HalfTimeDistance"
	if len(ht) != len(distance) {
		return Correlation{}, fmt.Errorf("metrics: %s: %d half-times for %d distances", fn, len(ht), len(distance))
	}
	if err := checkFinite(fn, "distance", distance); err != nil {
		return Correlation{}, err
	}
	var x, y []float64
	for i, h := range ht {
		if !math.IsNaN(h.Fraction) {
			x = append(x, h.Fraction)
			y = append(y, distance[i])
		}
	}
	if len(x) < 3 {
		return Correlation{R: math.NaN(), P: math.NaN(), N: len(x)}, fmt.Errorf("metrics: %s: %d ROIs have a half-time, need at least 3", fn, len(x))
	}
	return pearson(fn, x, y, "ROIs with a half-time", "half-time (fraction of training)", "distance (mm) from V1")
}
