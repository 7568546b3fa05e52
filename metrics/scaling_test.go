package metrics

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"runtime"
	"strings"
	"testing"
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
