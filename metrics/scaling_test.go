package metrics

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"runtime"
	"sort"
	"strings"
	"testing"

	"github.com/brainalign/brainalign/stats"
)

// plantedScaling draws n models with log-uniform x in [1e15, 1e22] and
// y = yinf - a (x/1e18)^-alpha + N(0, noise).
func plantedScaling(n int, seed uint64, yinf, a, alpha, noise float64) (x, y []float64) {
	r := rand.New(rand.NewPCG(seed, 1))
	for i := 0; i < n; i++ {
		xi := math.Pow(10, 15+7*r.Float64())
		x = append(x, xi)
		y = append(y, yinf-a*math.Pow(xi/1e18, -alpha)+noise*r.NormFloat64())
	}
	return x, y
}

func TestScalingPlanted(t *testing.T) {
	x, y := plantedScaling(200, 3, 0.5, 0.2, 0.15, 0.01)
	f, err := Scaling(context.Background(), x, y, ScalingOptions{Bootstrap: 400, Seed: 7, Predict: []float64{1e20, 1e24}})
	if err != nil {
		t.Fatal(err)
	}
	b := f.Bootstrap
	if b == nil || b.Failed != 0 || b.Resamples != 400 {
		t.Fatalf("bootstrap %+v", b)
	}
	gapTrue := 0.2 * math.Pow(f.PowerLaw.XRef/1e18, -0.15)
	for _, c := range []struct {
		name      string
		est, true float64
		iv        Interval
	}{
		{"y_inf", f.PowerLaw.YInf, 0.5, b.YInf}, {"gap", f.PowerLaw.Gap, gapTrue, b.Gap}, {"alpha", f.PowerLaw.Alpha, 0.15, b.Alpha},
	} {
		if !(c.iv.Lo < c.est && c.est < c.iv.Hi && c.iv.Lo < c.true && c.true < c.iv.Hi) {
			t.Errorf("%s: estimate %v, truth %v, interval %+v", c.name, c.est, c.true, c.iv)
		}
		if w := c.iv.Hi - c.iv.Lo; w > 0.5*math.Abs(c.true) {
			t.Errorf("%s: interval %+v is wider than half the value with 200 points", c.name, c.iv)
		}
	}
	if f.Preferred != "power-law" || !(f.DeltaAICc > 10) {
		t.Errorf("a clearly saturating curve: preferred %q, delta AICc %v", f.Preferred, f.DeltaAICc)
	}
	if len(f.Curve) != 100 || f.Curve[0].X != minOf(x) || f.Curve[99].X != maxOf(x) {
		t.Errorf("curve: %d points from %v to %v", len(f.Curve), f.Curve[0].X, f.Curve[len(f.Curve)-1].X)
	}
	for _, c := range f.Curve {
		if !(c.Lo <= c.Y && c.Y <= c.Hi) || c.Extrapolated {
			t.Fatalf("curve point %+v outside its band", c)
		}
	}
	p := f.Predictions
	if len(p) != 2 || p[0].Extrapolated || !p[1].Extrapolated || p[1].Y != f.PowerLaw.At(1e24) {
		t.Errorf("predictions %+v", p)
	}
	// The band widens where the data stop.
	if p[1].Hi-p[1].Lo <= p[0].Hi-p[0].Lo {
		t.Errorf("extrapolated band %+v not wider than the interpolated %+v", p[1], p[0])
	}
}

// TestScalingReproducible: the same seed gives the same intervals whatever the number of cores;
// another seed other intervals.
func TestScalingReproducible(t *testing.T) {
	x, y := plantedScaling(60, 11, 0.4, 0.1, 0.3, 0.02)
	o := ScalingOptions{Bootstrap: 200, Seed: 5}
	a, err := Scaling(context.Background(), x, y, o)
	if err != nil {
		t.Fatal(err)
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	b, err := Scaling(context.Background(), x, y, o)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, b) {
		t.Errorf("one core and all cores differ:\n%+v\n%+v", a.Bootstrap, b.Bootstrap)
	}
	o.Seed = 6
	c, _ := Scaling(context.Background(), x, y, o)
	if reflect.DeepEqual(a.Bootstrap, c.Bootstrap) {
		t.Error("seeds 5 and 6 give the same intervals")
	}
}

func TestScalingModelChoice(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 2))
	var x, y []float64
	for i := 0; i < 30; i++ {
		xi := math.Pow(10, 15+7*r.Float64())
		x, y = append(x, xi), append(y, 0.01*math.Log(xi)+0.01*r.NormFloat64())
	}
	f, err := Scaling(context.Background(), x, y, ScalingOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if f.Preferred == "power-law" || f.Bootstrap != nil {
		t.Errorf("a straight line in log x with noise: preferred %q (delta AICc %v)", f.Preferred, f.DeltaAICc)
	}
	// AICc by hand.
	n := float64(len(x))
	want := n*math.Log(f.LogLinear.RSS/n) + 6 + 24/(n-4)
	if math.Abs(f.AICc.LogLinear-want) > 1e-9*math.Abs(want) {
		t.Errorf("AICc log-linear %v, want %v", f.AICc.LogLinear, want)
	}
	want = n*math.Log(f.PowerLaw.RSS/n) + 8 + 40/(n-5)
	if math.Abs(f.AICc.PowerLaw-want) > 1e-9*math.Abs(want) {
		t.Errorf("AICc power law %v, want %v", f.AICc.PowerLaw, want)
	}
	// Five points: AICc undefined for the power law, no preference, a note.
	f, err = Scaling(context.Background(), []float64{1, 10, 100, 1e3, 1e4}, []float64{0.1, 0.2, 0.25, 0.27, 0.28}, ScalingOptions{})
	if err != nil || f.Preferred != "" || !math.IsNaN(f.DeltaAICc) || len(f.Notes) == 0 {
		t.Errorf("five points: preferred %q, delta %v, notes %q, err %v", f.Preferred, f.DeltaAICc, f.Notes, err)
	}
}

func TestScalingBootstrapDegenerateResamples(t *testing.T) {
	// 4 points, 3 distinct x: many resamples have fewer than 3 distinct x.
	x, y := []float64{1, 10, 100, 100}, []float64{0.1, 0.3, 0.35, 0.36}
	f, err := Scaling(context.Background(), x, y, ScalingOptions{Bootstrap: 100, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if f.Bootstrap.Failed == 0 || f.Bootstrap.Failed == 100 || !strings.Contains(strings.Join(f.Notes, "\n"), "could not be fitted") {
		t.Errorf("bootstrap %+v, notes %q", f.Bootstrap, f.Notes)
	}
}

func TestScalingErrors(t *testing.T) {
	x, y := []float64{1, 10, 100, 1000}, []float64{0.1, 0.2, 0.25, 0.27}
	for _, c := range []struct {
		o    ScalingOptions
		want string
	}{
		{ScalingOptions{Level: 1}, "level"},
		{ScalingOptions{Bootstrap: -1}, "bootstrap"},
		{ScalingOptions{CurvePoints: 1}, "curve points"},
		{ScalingOptions{Predict: []float64{0}}, "prediction at x = 0"},
	} {
		if _, err := Scaling(context.Background(), x, y, c.o); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: err %v, want %q", c.o, err, c.want)
		}
	}
	if _, err := Scaling(context.Background(), x, []float64{1, 1, 1, 1}, ScalingOptions{}); err == nil || !strings.Contains(err.Error(), "constant") {
		t.Errorf("constant y: err %v", err)
	}
}

func TestQuantileAsNumpy(t *testing.T) {
	v := []float64{1, 2, 4, 8, 16}
	// numpy.quantile([1,2,4,8,16], q) (linear interpolation)
	for _, c := range []struct{ q, want float64 }{{0, 1}, {0.025, 1.1}, {0.5, 4}, {0.975, 15.2}, {1, 16}} {
		if got := quantile(v, c.q); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("quantile(%v) = %v, want %v", c.q, got, c.want)
		}
	}
}

// A cancelled context (a signal) stops the bootstrap: however many resamples were asked for,
// Scaling returns the context's error and no fit.
func TestScalingBootstrapCancelled(t *testing.T) {
	x, y := plantedScaling(60, 11, 0.4, 0.1, 0.3, 0.02)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	f, err := Scaling(ctx, x, y, ScalingOptions{Bootstrap: 1_000_000, Seed: 1})
	if !errors.Is(err, context.Canceled) || f != nil {
		t.Fatalf("cancelled bootstrap: fit %v, error %v; want context.Canceled and no fit", f != nil, err)
	}
}

// TestPreferredModel: a difference of AICc of more than 2 either way supports one model; 2 and
// -2 themselves do not.
func TestPreferredModel(t *testing.T) {
	for _, c := range []struct {
		d    float64
		want string
	}{
		{math.NaN(), ""}, {0, "either"}, {1.5, "either"}, {-1.5, "either"}, {2, "either"}, {-2, "either"},
		{math.Nextafter(2, 3), "power-law"}, {2.5, "power-law"}, {math.Nextafter(-2, -3), "log-linear"}, {-2.5, "log-linear"},
	} {
		if got := preferredModel(c.d); got != c.want {
			t.Errorf("delta AICc %v: %q, want %q", c.d, got, c.want)
		}
	}
}

// TestScalingCurveAndPredictions: the curve's x are log-spaced from the smallest x to exactly
// the largest (5.1 * (3008.4/5.1) rounds to 3008.4000000000005), the middle one of 3 at the
// geometric mean; 2 curve points are enough; predictions at the data's ends are not
// extrapolated, below 1 is allowed; a negative level is refused.
func TestScalingCurveAndPredictions(t *testing.T) {
	x, y := []float64{5.1, 50, 500, 3008.4}, []float64{0.1, 0.3, 0.4, 0.42}
	f, err := Scaling(context.Background(), x, y, ScalingOptions{CurvePoints: 2, Predict: []float64{0.5, 5.1, 3008.4, 1e4}})
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Curve) != 2 || f.Curve[0].X != 5.1 || f.Curve[1].X != 3008.4 {
		t.Errorf("2 curve points: %+v", f.Curve)
	}
	for i, want := range []bool{true, false, false, true} {
		if p := f.Predictions[i]; p.Extrapolated != want || p.X != []float64{0.5, 5.1, 3008.4, 1e4}[i] || !math.IsNaN(p.Lo) {
			t.Errorf("prediction at %v: %+v, want extrapolated %v", p.X, p, want)
		}
	}
	f, err = Scaling(context.Background(), x, y, ScalingOptions{CurvePoints: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Curve) != 3 || f.Curve[0].X != 5.1 || f.Curve[2].X != 3008.4 || math.Abs(f.Curve[1].X-math.Sqrt(5.1*3008.4)) > 1e-12*f.Curve[1].X {
		t.Errorf("3 curve points: %+v, want the middle at %v", f.Curve, math.Sqrt(5.1*3008.4))
	}
	if _, err := Scaling(context.Background(), x, y, ScalingOptions{Level: -0.5}); err == nil || !strings.Contains(err.Error(), "level -0.5") {
		t.Errorf("level -0.5: %v", err)
	}
}

// TestScalingBoundNotes: a straight line in log x has the exponent at its lower edge, a jump
// after the smallest x then flat at its upper edge, each with its note; a saturating curve has
// neither. With 6 points AICc is defined for both fits: n ln(RSS/n) + 2k + 2k(k+1)/(n-k-1) with
// k = 4 (power law and noise) and 3 (line and noise).
func TestScalingBoundNotes(t *testing.T) {
	x := []float64{1, 10, 100, 1e3, 1e4, 1e5}
	for _, c := range []struct {
		y     []float64
		bound string
		note  string
	}{
		{[]float64{0, 1, 2, 3, 4, 5}, stats.BoundLogLinear, "no saturation within the data"},
		{[]float64{0, 1, 1, 1, 1, 1}, stats.BoundStep, "the fit is a step"},
		{[]float64{0.1, 0.5, 0.7, 0.8, 0.85, 0.87}, "", ""},
	} {
		f, err := Scaling(context.Background(), x, c.y, ScalingOptions{})
		if err != nil {
			t.Fatal(err)
		}
		notes := strings.Join(f.Notes, "\n")
		if f.PowerLaw.Bound != c.bound || (c.note != "") != (notes != "") || !strings.Contains(notes, c.note) {
			t.Errorf("y %v: bound %q, notes %q; want %q with %q", c.y, f.PowerLaw.Bound, f.Notes, c.bound, c.note)
		}
		if c.bound != "" {
			continue
		}
		near(t, "AICc power law", f.AICc.PowerLaw, 6*math.Log(f.PowerLaw.RSS/6)+8+40, 1e-12)
		near(t, "AICc log-linear", f.AICc.LogLinear, 6*math.Log(f.LogLinear.RSS/6)+6+12, 1e-12)
	}
}

// TestScalingBootstrapFew: one resample is a bootstrap without intervals, said in a note; two
// fitted resamples give intervals.
func TestScalingBootstrapFew(t *testing.T) {
	x, y := plantedScaling(30, 4, 0.5, 0.2, 0.3, 0.01)
	f, err := Scaling(context.Background(), x, y, ScalingOptions{Bootstrap: 1, Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	b := f.Bootstrap
	if b == nil || b.Resamples != 1 || b.Failed != 0 || !math.IsNaN(b.YInf.Lo) || !math.IsNaN(b.Alpha.Hi) || !math.IsNaN(f.Curve[0].Lo) ||
		!strings.Contains(strings.Join(f.Notes, "\n"), "bootstrap: only 1 of 1 resamples could be fitted: no intervals") {
		t.Errorf("one resample: %+v, notes %q", b, f.Notes)
	}
	f, err = Scaling(context.Background(), x, y, ScalingOptions{Bootstrap: 2, Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	if b := f.Bootstrap; b.Failed != 0 || !(b.YInf.Lo < b.YInf.Hi) || !(f.Curve[0].Lo < f.Curve[0].Hi) || len(f.Notes) != 0 {
		t.Errorf("two resamples: %+v, notes %q", b, f.Notes)
	}
}

// TestScalingBootstrapAtBound: resamples of points on a straight line in log x are all fitted
// at the exponent's lower edge (or not at all), and the note says so.
func TestScalingBootstrapAtBound(t *testing.T) {
	var x, y []float64
	for i := 1; i <= 10; i++ {
		x, y = append(x, float64(i)), append(y, math.Log(float64(i)))
	}
	f, err := Scaling(context.Background(), x, y, ScalingOptions{Bootstrap: 20, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	b := f.Bootstrap
	if b.AtBound == 0 || b.AtBound != b.Resamples-b.Failed || !strings.Contains(strings.Join(f.Notes, "\n"), "bootstrap: 100% of the resampled fits had their exponent at an edge") {
		t.Errorf("bootstrap %+v, notes %q", b, f.Notes)
	}
}

// resampleFits fits the resamples as the bootstrap's definition has them: resample r draws n
// indices with rand.IntN from PCG(seed, r). nil where the fit fails.
func resampleFits(x, y []float64, seed uint64, resamples int) []*stats.PowerLaw {
	fits := make([]*stats.PowerLaw, resamples)
	for r := range fits {
		rng := rand.New(rand.NewPCG(seed, uint64(r)))
		bx, by := make([]float64, len(x)), make([]float64, len(x))
		for i := range bx {
			k := rng.IntN(len(x))
			bx[i], by[i] = x[k], y[k]
		}
		if p, err := stats.FitPowerLaw(bx, by); err == nil {
			fits[r] = &p
		}
	}
	return fits
}

// TestScalingBootstrapCounts: the failed and at-bound resamples are counted (against the
// resamples refitted here), and said in notes: one failure of 5 is said; one fit at an edge of
// 20 (5%) is not, two (10%) are.
func TestScalingBootstrapCounts(t *testing.T) {
	count := func(fits []*stats.PowerLaw) (failed, atBound int) {
		for _, p := range fits {
			if p == nil {
				failed++
			} else if p.Bound != "" {
				atBound++
			}
		}
		return failed, atBound
	}
	for _, c := range []struct {
		x, y                       []float64
		seed                       uint64
		resamples, failed, atBound int
		note                       string
	}{
		{[]float64{1, 10, 100, 100}, []float64{0.1, 0.3, 0.35, 0.36}, 6, 5, 1, 0, "bootstrap: 1 of 5 resamples could not be fitted"},
		{nil, nil, 7, 20, 0, 1, ""},
		{nil, nil, 0, 20, 0, 2, "bootstrap: 10% of the resampled fits had their exponent at an edge"},
	} {
		if c.x == nil { // a curve close to a straight line in log x: a few fits at the lower edge
			c.x, c.y = plantedScaling(30, 2, 0.5, 0.2, 0.05, 0.02)
		}
		if failed, atBound := count(resampleFits(c.x, c.y, c.seed, c.resamples)); failed != c.failed || atBound != c.atBound {
			t.Fatalf("seed %d: the refitted resamples have %d failures and %d fits at an edge, want %d and %d", c.seed, failed, atBound, c.failed, c.atBound)
		}
		f, err := Scaling(context.Background(), c.x, c.y, ScalingOptions{Bootstrap: c.resamples, Seed: c.seed})
		if err != nil {
			t.Fatal(err)
		}
		notes := strings.Join(f.Notes, "\n")
		if b := f.Bootstrap; b.Failed != c.failed || b.AtBound != c.atBound || (notes != "") != (c.note != "") || !strings.Contains(notes, c.note) {
			t.Errorf("seed %d: %d failed, %d at an edge, notes %q; want %d, %d and %q", c.seed, b.Failed, b.AtBound, f.Notes, c.failed, c.atBound, c.note)
		}
	}
}

// TestScalingBootstrapPercentiles follows the bootstrap's definition (resampleFits): with 21
// resamples and level 0.5 the percentile interval of each quantity is its 6th and 16th smallest
// (positions 0.25 * 20 = 5 and 0.75 * 20 = 15, no interpolation). The gap is taken at the fit's XRef, as
// y_inf minus the resampled curve there. Scaling leaves GOMAXPROCS as it was (2 here).
func TestScalingBootstrapPercentiles(t *testing.T) {
	x, y := plantedScaling(30, 5, 0.5, 0.2, 0.3, 0.02)
	const resamples, seed = 21, 9
	// Set here, not read: a Scaling that changed it would have changed it for earlier tests too.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	f, err := Scaling(context.Background(), x, y, ScalingOptions{Bootstrap: resamples, Seed: seed, Level: 0.5, CurvePoints: 7, Predict: []float64{1e13, 1e24}})
	if err != nil {
		t.Fatal(err)
	}
	if p := runtime.GOMAXPROCS(0); p != 2 {
		t.Errorf("GOMAXPROCS %d after Scaling, was 2", p)
	}
	var fits []stats.PowerLaw
	for r, p := range resampleFits(x, y, seed, resamples) {
		if p == nil {
			t.Fatalf("resample %d not fitted", r)
		}
		fits = append(fits, *p)
	}
	interval := func(what string, got Interval, of func(p stats.PowerLaw) float64) {
		t.Helper()
		v := make([]float64, len(fits))
		for i, p := range fits {
			v[i] = of(p)
		}
		sort.Float64s(v)
		near(t, what+" lo", got.Lo, v[5], 1e-12)
		near(t, what+" hi", got.Hi, v[15], 1e-12)
	}
	b := f.Bootstrap
	if b.Failed != 0 || b.Resamples != resamples {
		t.Fatalf("bootstrap %+v", b)
	}
	interval("y_inf", b.YInf, func(p stats.PowerLaw) float64 { return p.YInf })
	interval("alpha", b.Alpha, func(p stats.PowerLaw) float64 { return p.Alpha })
	xref := f.PowerLaw.XRef
	interval("gap", b.Gap, func(p stats.PowerLaw) float64 { return p.YInf - p.At(xref) })
	for _, pts := range [][]CurvePoint{f.Curve, f.Predictions} {
		for _, c := range pts {
			interval(fmt.Sprintf("band at %g", c.X), Interval{c.Lo, c.Hi}, func(p stats.PowerLaw) float64 { return p.At(c.X) })
		}
	}
}
