package metrics

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"gorgonia.org/tensor"
)

// TMaxThreshold is the fraction of a layer's peak that defines its peak
// period: T_max averages the times where R(t)/max R >= 0.95.
const TMaxThreshold = 0.95

// ChannelMean returns R_l(t), the mean over channels of the row-major
// layers x channels x times score array, as a row-major layers x times
// array.
func ChannelMean(scores []float64, layers, channels, times int) ([]float64, error) {
	if err := checkTable("ChannelMean", "scores", scores, layers, channels, times); err != nil {
		return nil, err
	}
	t := tensor.New(tensor.WithShape(layers, channels, times), tensor.WithBacking(scores))
	s, err := t.Sum(1)
	if err != nil {
		return nil, fmt.Errorf("metrics: ChannelMean: %w", err)
	}
	out := append([]float64(nil), s.Data().([]float64)...)
	for i := range out {
		out[i] /= float64(channels)
	}
	return out, nil
}

// TMax returns, for each layer of the row-major layers x len(times) curves,
// the mean of the times at which curve/max(curve) >= threshold. A layer whose
// curve never rises above 0 has no peak: its T_max is NaN.
func TMax(curves []float64, layers int, times []float64, threshold float64) ([]float64, error) {
	if err := checkTable("TMax", "curves", curves, layers, len(times)); err != nil {
		return nil, err
	}
	if err := checkFinite("TMax", "times", times); err != nil {
		return nil, err
	}
	if !(threshold > 0 && threshold <= 1) {
		return nil, fmt.Errorf("metrics: TMax: threshold %v is outside (0, 1]", threshold)
	}
	nt := len(times)
	out := make([]float64, layers)
	for l := range out {
		c := curves[l*nt : (l+1)*nt]
		mx := c[0]
		for _, v := range c {
			mx = math.Max(mx, v)
		}
		if mx <= 0 {
			out[l] = math.NaN()
			continue
		}
		s, n := 0.0, 0
		for i, v := range c {
			if v/mx >= threshold {
				s += times[i]
				n++
			}
		}
		out[l] = s / float64(n) // n >= 1: the maximum itself passes
	}
	return out, nil
}

// Temporal is the MEG temporal score and what it is computed from.
type Temporal struct {
	Curves      []float64 `json:"curves"` // layers x times, R_l(t) = mean over channels
	TMax        []float64 `json:"t_max"`  // per layer; NaN where the curve never exceeds 0
	Correlation           // Pearson r of layer index vs T_max, over layers with a finite T_max
}

// TemporalScore computes the temporal score of a row-major layers x channels
// x len(times) score array: R_l(t) is the channel mean, T_max(l) the mean of
// the times where R_l(t)/max_t R_l(t) >= TMaxThreshold, and the score is
// Pearson's r between layer index and T_max. Layers with an undefined T_max
// are left out; fewer than 3 remaining, or a constant T_max, is an error.
func TemporalScore(scores []float64, layers, channels int, times []float64) (Temporal, error) {
	const fn = "TemporalScore"
	if err := checkLayers(fn, layers); err != nil {
		return Temporal{}, err
	}
	curves, err := ChannelMean(scores, layers, channels, len(times))
	if err != nil {
		return Temporal{}, err
	}
	tm, err := TMax(curves, layers, times, TMaxThreshold)
	if err != nil {
		return Temporal{}, err
	}
	res := Temporal{Curves: curves, TMax: tm}
	var x, y []float64
	for l, v := range tm {
		if !math.IsNaN(v) {
			x = append(x, float64(l))
			y = append(y, v)
		}
	}
	if len(x) < 3 {
		res.Correlation = Correlation{R: math.NaN(), P: math.NaN(), N: len(x)}
		return res, fmt.Errorf("metrics: %s: %d layers have a positive score curve, need at least 3", fn, len(x))
	}
	res.Correlation, err = pearson(fn, x, y, "layers with a positive score curve", "layer index", "time of peak T_max (s)")
	return res, err
}

// Window is a half-open time interval [Start, End) in seconds. A time within
// WindowTolerance of a bound is on it: times saved as TMin + j/rate or by
// np.arange carry rounding errors (0.1 s stored as 0.09999999999999998).
type Window struct {
	Start float64 `json:"start"`
	End   float64 `json:"end"`
}

// WindowTolerance is how close to a window's bound a time counts as on it: far
// below any sampling period (MEG samples at most every 1e-4 s), far above the
// rounding error of a time in seconds.
const WindowTolerance = 1e-9

// Contains reports whether time t (seconds) is in [Start, End), up to
// WindowTolerance.
func (w Window) Contains(t float64) bool {
	return t >= w.Start-WindowTolerance && t < w.End-WindowTolerance
}

// StudyWindows are the windows the study reports best layers for.
var StudyWindows = []Window{{0.08, 0.13}, {0.13, 0.18}, {0.5, 0.55}}

// SecondsDoubt returns a warning when times (MEG time points, meant in seconds) look like
// milliseconds or sample indices, which labs also store: a span over 30 s or steps of 0.2 s or
// more (MEG samples at 100 Hz or faster). Such times are used as given, but T_max is then in
// their unit and the study's windows hold none of them. "" when they look like seconds.
func SecondsDoubt(times []float64) string {
	if len(times) < 2 {
		return ""
	}
	lo, hi := slices.Min(times), slices.Max(times)
	step := (hi - lo) / float64(len(times)-1)
	if hi-lo <= 30 && step < 0.2 {
		return ""
	}
	return fmt.Sprintf("the MEG times run from %g to %g in steps of %.3g: are they seconds? Milliseconds or sample indices (divide by 1000, or by the sampling rate, and add the start) make T_max come out in their unit and leave the study's windows (%s) without a time point", lo, hi, step, windowList(StudyWindows))
}

// windowList names windows "0.08-0.13, 0.13-0.18, 0.5-0.55 s".
func windowList(ws []Window) string {
	var parts []string
	for _, w := range ws {
		parts = append(parts, fmt.Sprintf("%g-%g", w.Start, w.End))
	}
	return strings.Join(parts, ", ") + " s"
}

// NoStudyWindowNote says why a temporal result has no best layer per window when the study's
// default windows hold none of times.
func NoStudyWindowNote(times []float64) string {
	return fmt.Sprintf("none of the study's windows (%s) holds a time point (times %g to %g): no best layer per window; give --windows", windowList(StudyWindows), slices.Min(times), slices.Max(times))
}

// timesIn returns the indices of times inside w.
func timesIn(times []float64, w Window) []int {
	var idx []int
	for i, t := range times {
		if w.Contains(t) {
			idx = append(idx, i)
		}
	}
	return idx
}

// WindowBest is the best layer over one time window.
type WindowBest struct {
	Window
	Layer int       `json:"layer"` // argmax over layers of the window mean; ties to the first
	Depth float64   `json:"depth"` // Layer / (layers-1)
	Mean  []float64 `json:"mean"`  // per layer: mean of R_l(t) over the window's times
}

// BestLayerInWindows returns, for each window, the layer whose channel-mean
// score R_l(t) averaged over the window's times is highest. scores is
// layers x channels x len(times), row-major. A window holding no time point
// is an error.
func BestLayerInWindows(scores []float64, layers, channels int, times []float64, windows []Window) ([]WindowBest, error) {
	const fn = "BestLayerInWindows"
	if err := checkLayers(fn, layers); err != nil {
		return nil, err
	}
	if err := checkFinite(fn, "times", times); err != nil {
		return nil, err
	}
	curves, err := ChannelMean(scores, layers, channels, len(times))
	if err != nil {
		return nil, err
	}
	nt := len(times)
	out := make([]WindowBest, len(windows))
	for w, win := range windows {
		idx := timesIn(times, win)
		if len(idx) == 0 {
			return nil, fmt.Errorf("metrics: %s: window [%v, %v) holds no time point (times span %v to %v)", fn, win.Start, win.End, minOf(times), maxOf(times))
		}
		wb := WindowBest{Window: win, Mean: make([]float64, layers)}
		for l := 0; l < layers; l++ {
			s := 0.0
			for _, i := range idx {
				s += curves[l*nt+i]
			}
			wb.Mean[l] = s / float64(len(idx))
			if wb.Mean[l] > wb.Mean[wb.Layer] {
				wb.Layer = l
			}
		}
		wb.Depth = float64(wb.Layer) / float64(layers-1)
		out[w] = wb
	}
	return out, nil
}

// WindowMeans averages a row-major rows x len(times) array over each window,
// giving rows x len(windows): e.g. a checkpoints x times temporal curve
// reduced to one value per window for WindowHalfTimes.
func WindowMeans(values []float64, rows int, times []float64, windows []Window) ([]float64, error) {
	const fn = "WindowMeans"
	if err := checkTable(fn, "values", values, rows, len(times)); err != nil {
		return nil, err
	}
	if err := checkFinite(fn, "times", times); err != nil {
		return nil, err
	}
	nt, nw := len(times), len(windows)
	out := make([]float64, rows*nw)
	for w, win := range windows {
		idx := timesIn(times, win)
		if len(idx) == 0 {
			return nil, fmt.Errorf("metrics: %s: window [%v, %v) holds no time point", fn, win.Start, win.End)
		}
		for r := 0; r < rows; r++ {
			s := 0.0
			for _, i := range idx {
				s += values[r*nt+i]
			}
			out[r*nw+w] = s / float64(len(idx))
		}
	}
	return out, nil
}

func minOf(x []float64) float64 {
	if len(x) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), x...)
	sort.Float64s(s)
	return s[0]
}

func maxOf(x []float64) float64 {
	if len(x) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), x...)
	sort.Float64s(s)
	return s[len(s)-1]
}
