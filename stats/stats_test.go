package stats

import (
	"errors"
	"math"
	"strconv"
	"testing"
)

type corrCase struct {
	Name string `json:"name"`
	X, Y []jf
	R, P jf
}

func TestPearsonScipy(t *testing.T) {
	for _, c := range load[[]corrCase](t, "pearson") {
		r, p, err := Pearson(fl(c.X), fl(c.Y))
		if err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		near(t, c.Name+" r", r, float64(c.R), tolStat)
		near(t, c.Name+" p", p, float64(c.P), tolP)
	}
}

func TestSpearmanScipy(t *testing.T) {
	for _, c := range load[[]corrCase](t, "spearman") {
		r, p, err := Spearman(fl(c.X), fl(c.Y))
		if err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		near(t, c.Name+" rho", r, float64(c.R), tolStat)
		near(t, c.Name+" p", p, float64(c.P), tolP)
	}
}

func TestCorrelationErrors(t *testing.T) {
	for name, f := range map[string]func(x, y []float64) (float64, float64, error){"Pearson": Pearson, "Spearman": Spearman} {
		r, p, err := f([]float64{1, 1, 1}, []float64{1, 2, 3})
		if !errors.Is(err, ErrConstantInput) || !math.IsNaN(r) || !math.IsNaN(p) {
			t.Errorf("%s constant x: r=%v p=%v err=%v, want NaN NaN ErrConstantInput", name, r, p, err)
		}
		if _, _, err := f([]float64{1, 2, 3}, []float64{1, 2}); err == nil {
			t.Errorf("%s: mismatched lengths accepted", name)
		}
		// one pair is too few, not a constant input
		if _, _, err := f([]float64{1}, []float64{1}); err == nil || errors.Is(err, ErrConstantInput) {
			t.Errorf("%s: one pair: %v, want too few pairs", name, err)
		}
	}
}

func TestTTest1SampScipy(t *testing.T) {
	type scalarCase struct {
		Name     string `json:"name"`
		X        []jf
		Mu, T, P jf
	}
	type colCase struct {
		Name       string `json:"name"`
		Rows, Cols int
		Data, T, P []jf
	}
	cs := load[struct {
		Scalar  []scalarCase `json:"scalar"`
		Columns []colCase    `json:"columns"`
	}](t, "ttest_1samp")
	if len(cs.Scalar) == 0 || len(cs.Columns) == 0 {
		t.Fatal("empty t-test fixture")
	}
	for _, c := range cs.Scalar {
		tt, p := TTest1Samp(fl(c.X), float64(c.Mu))
		near(t, c.Name+" t", tt, float64(c.T), tolStat)
		near(t, c.Name+" p", p, float64(c.P), tolP)
	}
	for _, c := range cs.Columns {
		tt, p, err := TTest1SampColumns(fl(c.Data), c.Rows, c.Cols)
		if err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		for j := range tt {
			near(t, c.Name+" t["+strconv.Itoa(j)+"]", tt[j], float64(c.T[j]), tolStat)
			near(t, c.Name+" p["+strconv.Itoa(j)+"]", p[j], float64(c.P[j]), tolP)
		}
	}
}

func TestTTestDegenerate(t *testing.T) {
	tt, p := TTest1Samp([]float64{2, 2, 2}, 0)
	if !math.IsInf(tt, 1) || p != 0 {
		t.Errorf("constant above mu: t=%v p=%v, want +Inf 0", tt, p)
	}
	tt, p = TTest1Samp([]float64{2, 2, 2}, 2)
	if !math.IsNaN(tt) || !math.IsNaN(p) {
		t.Errorf("constant at mu: t=%v p=%v, want NaN NaN", tt, p)
	}
	tt, p = TTest1Samp([]float64{2}, 0)
	if !math.IsNaN(tt) || !math.IsNaN(p) {
		t.Errorf("n=1: t=%v p=%v, want NaN NaN", tt, p)
	}
	if _, _, err := TTest1SampColumns(make([]float64, 5), 2, 3); err == nil {
		t.Error("TTest1SampColumns accepted 5 values as 2 x 3")
	}
	if _, _, err := TTest1SampColumns(make([]float64, 3), 1, 3); err == nil {
		t.Error("TTest1SampColumns accepted one replicate")
	}
}

func TestBenjaminiHochbergScipy(t *testing.T) {
	type bhCase struct {
		Name        string `json:"name"`
		P, Adjusted []jf
		Masks       map[string][]bool
	}
	for _, c := range load[[]bhCase](t, "bh") {
		adj := BenjaminiHochberg(fl(c.P))
		for i := range adj {
			near(t, c.Name+" adj["+strconv.Itoa(i)+"]", adj[i], float64(c.Adjusted[i]), tolStat)
		}
		for qs, want := range c.Masks {
			q, _ := strconv.ParseFloat(qs, 64)
			got := FDRMask(fl(c.P), q)
			for i := range got {
				if got[i] != want[i] {
					t.Errorf("%s q=%s: mask[%d] = %v, want %v", c.Name, qs, i, got[i], want[i])
				}
			}
		}
	}
}

func TestBenjaminiHochbergNaN(t *testing.T) {
	// NaN is left out of m: the three valid p-values adjust as if alone.
	adj := BenjaminiHochberg([]float64{0.01, math.NaN(), 0.02, 0.03})
	want := []float64{0.03, math.NaN(), 0.03, 0.03}
	for i := range want {
		near(t, "adj", adj[i], want[i], 1e-15)
	}
	if m := FDRMask([]float64{math.NaN(), 0.001}, 0.01); m[0] || !m[1] {
		t.Errorf("mask = %v, want [false true]", m)
	}
}

func TestWilcoxonScipy(t *testing.T) {
	type wCase struct {
		Name    string `json:"name"`
		Note    string `json:"note"`
		X, Y    []jf
		Stat, P jf
	}
	cs := load[[]wCase](t, "wilcoxon")
	if len(cs) < 10 {
		t.Fatalf("only %d Wilcoxon cases", len(cs))
	}
	for _, c := range cs {
		s, p, err := Wilcoxon(fl(c.X), fl(c.Y))
		if err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		near(t, c.Name+" stat", s, float64(c.Stat), tolStat)
		near(t, c.Name+" p ("+c.Note+")", p, float64(c.P), tolP)
	}
}

func TestWilcoxonErrors(t *testing.T) {
	if _, _, err := Wilcoxon([]float64{1, 2}, []float64{1}); err == nil {
		t.Error("mismatched lengths accepted")
	}
	if _, _, err := Wilcoxon(nil, nil); err == nil {
		t.Error("empty sample accepted")
	}
	if _, _, err := Wilcoxon([]float64{1, 2}, []float64{1, 2}); err == nil {
		t.Error("all-zero differences accepted")
	}
	if _, _, err := Wilcoxon([]float64{1, math.NaN()}, nil); err == nil {
		t.Error("NaN accepted")
	}
}

func TestWilcoxonPMF(t *testing.T) {
	// n = 3: subsets of {1,2,3} by sum: 0:{} 1:{1} 2:{2} 3:{3},{1,2} 4:{1,3} 5:{2,3} 6:{1,2,3}.
	want := []float64{1, 1, 1, 2, 1, 1, 1}
	got := wilcoxonPMF(3)
	for i := range want {
		if got[i] != want[i]/8 {
			t.Fatalf("pmf(3) = %v, want %v/8", got, want)
		}
	}
}

func TestLinearFitScipy(t *testing.T) {
	type lCase struct {
		Name             string `json:"name"`
		X, Y             []jf
		Slope, Intercept jf
	}
	for _, c := range load[[]lCase](t, "linregress") {
		s, i, err := LinearFit(fl(c.X), fl(c.Y))
		if err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		near(t, c.Name+" slope", s, float64(c.Slope), tolStat)
		near(t, c.Name+" intercept", i, float64(c.Intercept), tolStat)
	}
	if _, _, err := LinearFit([]float64{1, 1}, []float64{1, 2}); err == nil {
		t.Error("constant x accepted")
	}
}

func TestDistributionsScipy(t *testing.T) {
	cs := load[struct {
		T []struct {
			T, Df, Cdf, Sf jf
		} `json:"t"`
		Normal []struct {
			Z, Cdf, Sf jf
		} `json:"normal"`
	}](t, "distributions")
	for _, c := range cs.T {
		want := 2 * math.Min(float64(c.Cdf), float64(c.Sf))
		near(t, "TTwoSided(t="+strconv.FormatFloat(float64(c.T), 'g', -1, 64)+", df="+strconv.Itoa(int(c.Df))+")",
			TTwoSided(float64(c.T), float64(c.Df)), want, tolP)
	}
	for _, c := range cs.Normal {
		want := 2 * math.Min(float64(c.Cdf), float64(c.Sf))
		near(t, "NormalTwoSided("+strconv.FormatFloat(float64(c.Z), 'g', -1, 64)+")", NormalTwoSided(float64(c.Z)), want, tolP)
	}
}

func TestRank(t *testing.T) {
	got := Rank([]float64{3, 1, 4, 1, 5, 9, 2, 6, 5})
	want := []float64{4, 1.5, 5, 1.5, 6.5, 9, 3, 8, 6.5}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("Rank = %v, want %v", got, want)
		}
	}
	// NaN sorts last, each NaN its own group (NaN != NaN), in input order
	got = Rank([]float64{2, math.NaN(), 1, math.NaN()})
	want = []float64{2, 3, 1, 4}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("Rank with NaN = %v, want %v", got, want)
		}
	}
}

// Holm against values worked by hand (statsmodels' multipletests(method='holm') gives the same):
// sorted 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1 = 0.02, 0.03, 0.06, 0.04, made monotone: 0.06
// for the last.
func TestHolm(t *testing.T) {
	got := Holm([]float64{0.01, 0.04, 0.03, 0.005, math.NaN(), 0.5})
	// With 0.5 too (m = 5): 0.005*5 = 0.025, 0.01*4 = 0.04, 0.03*3 = 0.09, 0.04*2 = 0.08 -> 0.09, 0.5*1 -> 0.5.
	want := []float64{0.04, 0.09, 0.09, 0.025, math.NaN(), 0.5}
	for i := range want {
		if !(math.IsNaN(want[i]) && math.IsNaN(got[i])) && math.Abs(got[i]-want[i]) > 1e-15 {
			t.Errorf("Holm: %v, want %v", got, want)
			break
		}
	}
	if got := Holm([]float64{0.01, 0.04, 0.03, 0.005}); math.Abs(got[1]-0.06) > 1e-15 || math.Abs(got[3]-0.02) > 1e-15 || math.Abs(got[0]-0.03) > 1e-15 {
		t.Errorf("Holm of four: %v, want [0.03 0.06 0.06 0.02]", got)
	}
	if got := Holm([]float64{0.9, 0.8}); got[0] != 1 || got[1] != 1 {
		t.Errorf("Holm caps at 1: %v", got)
	}
}

// Collinear data give r of exactly ±1 and p = 0, as SciPy's pearsonr (the norms are square roots
// of sums of squares, as NumPy's, not accumulated with Hypot), also at extreme scales.
func TestPearsonCollinearExact(t *testing.T) {
	x := []float64{0.2697365346695885, -1.409280409053676, 1.173934357000725, 0.5}
	for _, s := range []float64{1, 1e-200, 1e200} {
		y, z := make([]float64, len(x)), make([]float64, len(x))
		for i, v := range x {
			y[i], z[i] = v*s, -2*v*s+3*s
		}
		if r, p, err := Pearson(x, y); err != nil || r != 1 || p != 0 {
			t.Errorf("x, %g x: r %v p %v (%v), want 1, 0", s, r, p, err)
		}
		if r, p, err := Pearson(y, z); err != nil || r != -1 || p != 0 {
			t.Errorf("%g x, -2x: r %v p %v (%v), want -1, 0", s, r, p, err)
		}
	}
}
