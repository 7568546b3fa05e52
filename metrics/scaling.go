package metrics

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sort"
	"sync"

	"github.com/brainalign/brainalign/stats"
)

// ScalingOptions configures Scaling.
type ScalingOptions struct {
	// Bootstrap is the number of resamples (points drawn with replacement) behind the intervals;
	// 0 gives none.
	Bootstrap int
	Seed      uint64  // of the resampling; the same seed gives the same intervals
	Level     float64 // of the intervals, in (0, 1); 0 means 0.95
	// CurvePoints is the number of x values, log-spaced over the data's range, at which the
	// fitted curve (and its band) is tabulated; 0 means 100.
	CurvePoints int
	Predict     []float64 // x values to predict y at (with intervals), e.g. 10x the largest model
}

// Interval is a bootstrap percentile interval.
type Interval struct {
	Lo float64 `json:"lo"`
	Hi float64 `json:"hi"`
}

// ScalingBootstrap summarises the resampled fits.
type ScalingBootstrap struct {
	Resamples int     `json:"resamples"`
	Seed      uint64  `json:"seed"`
	Level     float64 `json:"level"`
	// Failed resamples could not be fitted (fewer than 3 distinct x, or constant y); they are
	// left out. AtBound is how many fits had their exponent at an edge (stats.PowerLaw.Bound).
	Failed  int      `json:"failed"`
	AtBound int      `json:"at_bound"`
	YInf    Interval `json:"y_inf"`
	Gap     Interval `json:"gap"`
	Alpha   Interval `json:"alpha"`
}

// CurvePoint is the fitted curve at X, with the bootstrap band (NaN without a bootstrap).
type CurvePoint struct {
	X  float64 `json:"x"`
	Y  float64 `json:"y"`
	Lo float64 `json:"lo"`
	Hi float64 `json:"hi"`
	// Extrapolated marks x outside the fitted data's range (predictions only).
	Extrapolated bool `json:"extrapolated,omitempty"`
}

// ScalingFit is a saturating power law fitted to one set of (x, y) points, the log-linear
// alternative, which of the two the data support, and bootstrap intervals.
type ScalingFit struct {
	N         int             `json:"n"`
	Distinct  int             `json:"distinct_x"`
	PowerLaw  stats.PowerLaw  `json:"power_law"`
	LogLinear stats.LogLinear `json:"log_linear"`
	// AICc of each least-squares fit, n ln(RSS/n) + 2k + 2k(k+1)/(n-k-1) with k the curve's
	// parameters plus the noise variance; NaN where n <= k+1. DeltaAICc = log-linear minus power
	// law: above 2 the saturating curve is supported, below -2 the straight line, between them
	// the data cannot tell (Preferred "either"; "" when undefined).
	AICc struct {
		PowerLaw  float64 `json:"power_law"`
		LogLinear float64 `json:"log_linear"`
	} `json:"aicc"`
	DeltaAICc   float64           `json:"delta_aicc"`
	Preferred   string            `json:"preferred"`
	Bootstrap   *ScalingBootstrap `json:"bootstrap,omitempty"`
	Curve       []CurvePoint      `json:"curve"`
	Predictions []CurvePoint      `json:"predictions,omitempty"`
	Notes       []string          `json:"notes,omitempty"`
}

// Scaling fits y = YInf - Gap (x/XRef)^-Alpha to the points (stats.FitPowerLaw), compares it
// with a straight line in log x by AICc, and, with o.Bootstrap > 0, gives percentile intervals
// of the parameters, the curve and the predictions from fits to resampled points. Each
// resample draws from its own seeded stream and the fits run on all cores, so the result
// depends on the seed only, not on the number of cores. The bootstrap stops with ctx's error
// once ctx is done.
func Scaling(ctx context.Context, x, y []float64, o ScalingOptions) (*ScalingFit, error) {
	if o.Level == 0 {
		o.Level = 0.95
	}
	if !(o.Level > 0 && o.Level < 1) {
		return nil, fmt.Errorf("metrics: Scaling: level %v is not in (0, 1)", o.Level)
	}
	if o.Bootstrap < 0 {
		return nil, fmt.Errorf("metrics: Scaling: %d bootstrap resamples", o.Bootstrap)
	}
	if o.CurvePoints == 0 {
		o.CurvePoints = 100
	}
	if o.CurvePoints < 2 {
		return nil, fmt.Errorf("metrics: Scaling: %d curve points; need at least 2", o.CurvePoints)
	}
	for _, v := range o.Predict {
		if !(v > 0) || math.IsInf(v, 1) {
			return nil, fmt.Errorf("metrics: Scaling: prediction at x = %v; x must be positive and finite", v)
		}
	}
	p, err := stats.FitPowerLaw(x, y)
	if err != nil {
		return nil, fmt.Errorf("metrics: Scaling: %w", err)
	}
	l, err := stats.FitLogLinear(x, y)
	if err != nil {
		return nil, fmt.Errorf("metrics: Scaling: %w", err)
	}
	f := &ScalingFit{N: len(x), Distinct: stats.CountDistinct(x), PowerLaw: p, LogLinear: l}
	f.AICc.PowerLaw, f.AICc.LogLinear = aicc(p.RSS, len(x), 3), aicc(l.RSS, len(x), 2)
	f.DeltaAICc = f.AICc.LogLinear - f.AICc.PowerLaw
	f.Preferred = preferredModel(f.DeltaAICc)
	if math.IsNaN(f.DeltaAICc) {
		f.Notes = append(f.Notes, fmt.Sprintf("AICc needs more than 5 points (%d): no model comparison", len(x)))
	}
	switch p.Bound {
	case stats.BoundLogLinear:
		f.Notes = append(f.Notes, "no saturation within the data: the best saturating curve is a straight line in log x (alpha -> 0), so y_inf and the gap are not identified; see log_linear")
	case stats.BoundStep:
		f.Notes = append(f.Notes, "the fit is a step: the curve has saturated by the second-smallest x, so alpha is not identified (only a lower bound)")
	}

	lo, hi := minOf(x), maxOf(x)
	for i := 0; i < o.CurvePoints; i++ {
		xi := lo * math.Pow(hi/lo, float64(i)/float64(o.CurvePoints-1))
		if i == o.CurvePoints-1 {
			xi = hi
		}
		f.Curve = append(f.Curve, CurvePoint{X: xi, Y: p.At(xi), Lo: math.NaN(), Hi: math.NaN()})
	}
	for _, v := range o.Predict {
		f.Predictions = append(f.Predictions, CurvePoint{X: v, Y: p.At(v), Lo: math.NaN(), Hi: math.NaN(), Extrapolated: v < lo || v > hi})
	}
	if o.Bootstrap > 0 {
		if err := f.bootstrap(ctx, x, y, o); err != nil {
			return nil, err
		}
	}
	return f, nil
}

// preferredModel is ScalingFit.Preferred for a DeltaAICc (log-linear minus power law): a
// difference of more than 2 either way supports one, "" when it is undefined.
func preferredModel(deltaAICc float64) string {
	switch {
	case math.IsNaN(deltaAICc):
		return ""
	case deltaAICc > 2:
		return "power-law"
	case deltaAICc < -2:
		return "log-linear"
	default:
		return "either"
	}
}

// aicc is the small-sample AIC of a least-squares fit with p curve parameters (and the noise
// variance); NaN when n is too small.
func aicc(rss float64, n, p int) float64 {
	k := p + 1
	if n <= k+1 {
		return math.NaN()
	}
	fn, fk := float64(n), float64(k)
	return fn*math.Log(rss/fn) + 2*fk + 2*fk*(fk+1)/(fn-fk-1)
}

// bootstrap refits resampled points and fills the intervals; it returns ctx's error, leaving
// the resamples not started, once ctx is done.
func (f *ScalingFit) bootstrap(ctx context.Context, x, y []float64, o ScalingOptions) error {
	n, b := len(x), o.Bootstrap
	fits := make([]*stats.PowerLaw, b)
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			bx, by := make([]float64, n), make([]float64, n)
			for r := range next {
				// Resample r's own stream: the draws depend on the seed and r only.
				rng := rand.New(rand.NewPCG(o.Seed, uint64(r)))
				for i := range bx {
					k := rng.IntN(n)
					bx[i], by[i] = x[k], y[k]
				}
				if p, err := stats.FitPowerLaw(bx, by); err == nil {
					fits[r] = &p
				}
			}
		}()
	}
feed:
	for r := 0; r < b; r++ {
		select {
		case next <- r:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}

	bs := &ScalingBootstrap{Resamples: b, Seed: o.Seed, Level: o.Level}
	var yinf, gap, alpha []float64
	var ok []*stats.PowerLaw
	for _, p := range fits {
		if p == nil {
			bs.Failed++
			continue
		}
		if p.Bound != "" {
			bs.AtBound++
		}
		ok = append(ok, p)
		yinf, gap, alpha = append(yinf, p.YInf), append(gap, p.Gap), append(alpha, p.Alpha)
	}
	f.Bootstrap = bs
	nan := Interval{Lo: math.NaN(), Hi: math.NaN()}
	bs.YInf, bs.Gap, bs.Alpha = nan, nan, nan
	if len(ok) < 2 {
		f.Notes = append(f.Notes, fmt.Sprintf("bootstrap: only %d of %d resamples could be fitted: no intervals", len(ok), b))
		return nil
	}
	q := (1 - o.Level) / 2
	interval := func(v []float64) Interval {
		sort.Float64s(v)
		return Interval{Lo: quantile(v, q), Hi: quantile(v, 1-q)}
	}
	// Gap is relative to each resample's own XRef; express every resample's at the fit's XRef.
	for i, p := range ok {
		gap[i] = p.Gap * math.Pow(f.PowerLaw.XRef/p.XRef, -p.Alpha)
	}
	bs.YInf, bs.Gap, bs.Alpha = interval(yinf), interval(gap), interval(alpha)
	band := func(pts []CurvePoint) {
		v := make([]float64, len(ok))
		for j := range pts {
			for i, p := range ok {
				v[i] = p.At(pts[j].X)
			}
			iv := interval(v)
			pts[j].Lo, pts[j].Hi = iv.Lo, iv.Hi
		}
	}
	band(f.Curve)
	band(f.Predictions)
	if bs.Failed > 0 {
		f.Notes = append(f.Notes, fmt.Sprintf("bootstrap: %d of %d resamples could not be fitted (fewer than 3 distinct x, or constant y) and were left out", bs.Failed, b))
	}
	if frac := float64(bs.AtBound) / float64(len(ok)); frac > 0.05 {
		f.Notes = append(f.Notes, fmt.Sprintf("bootstrap: %.0f%% of the resampled fits had their exponent at an edge of the search, so the intervals are wide or open-ended", 100*frac))
	}
	return nil
}

// quantile of sorted v with linear interpolation between order statistics (numpy's default).
func quantile(v []float64, q float64) float64 {
	h := q * float64(len(v)-1)
	i := int(math.Floor(h))
	if i >= len(v)-1 {
		return v[len(v)-1]
	}
	return v[i] + (h-float64(i))*(v[i+1]-v[i])
}
