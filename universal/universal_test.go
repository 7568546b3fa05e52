package universal

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/brainalign/brainalign/engine"
	"github.com/brainalign/brainalign/fallback"
)

// orthonormalRows returns a k x d matrix with orthonormal rows (Gram-Schmidt on Gaussian rows).
func orthonormalRows(r *rand.Rand, k, d int) [][]float64 {
	var q [][]float64
	for len(q) < k {
		v := make([]float64, d)
		for i := range v {
			v[i] = r.NormFloat64()
		}
		for _, u := range q {
			dot := 0.0
			for i := range v {
				dot += v[i] * u[i]
			}
			for i := range v {
				v[i] -= dot * u[i]
			}
		}
		norm := 0.0
		for _, x := range v {
			norm += x * x
		}
		for i := range v {
			v[i] /= math.Sqrt(norm)
		}
		q = append(q, v)
	}
	return q
}

// plantedModels: three models whose six dimensions are three latents shared by all models and
// the brain (standard deviations 6, 2.7, 1.2) interleaved by variance with three private ones
// (4, 1.8, 0.8): components 0, 2 and 4 are shared, 1, 3 and 5 private. The brain data is the
// shared latents mixed into 40 targets plus noise.
func plantedModels(n int) ([]Model, engine.Matrix) {
	r := rand.New(rand.NewPCG(8, 8))
	shared := make([][]float64, n)
	for i := range shared {
		shared[i] = []float64{6 * r.NormFloat64(), 2.7 * r.NormFloat64(), 1.2 * r.NormFloat64()}
	}
	const d, m = 30, 40
	var models []Model
	for k := 0; k < 3; k++ {
		q := orthonormalRows(r, 6, d)
		x := make([]float64, n*d)
		for i := 0; i < n; i++ {
			lat := []float64{shared[i][0], 4 * r.NormFloat64(), shared[i][1], 1.8 * r.NormFloat64(), shared[i][2], 0.8 * r.NormFloat64()}
			for j := 0; j < d; j++ {
				v := 0.05 * r.NormFloat64()
				for l, a := range lat {
					v += a * q[l][j]
				}
				x[i*d+j] = v
			}
		}
		models = append(models, Model{Name: []string{"a", "b", "c"}[k], X: engine.NewMatrix64(n, d, x)})
	}
	b := make([]float64, 3*m)
	for i := range b {
		b[i] = r.NormFloat64()
	}
	y := make([]float64, n*m)
	for i := 0; i < n; i++ {
		for t := 0; t < m; t++ {
			v := r.NormFloat64()
			for l := 0; l < 3; l++ {
				v += shared[i][l] * b[l*m+t]
			}
			y[i*m+t] = v
		}
	}
	return models, engine.NewMatrix64(n, m, y)
}

func TestAnalyzePlanted(t *testing.T) {
	models, brain := plantedModels(400)
	opts := engine.Options{Alphas: engine.DefaultAlphas()}
	var err error
	if opts.Folds, err = engine.KFold(400, 5); err != nil {
		t.Fatal(err)
	}
	res, err := Analyze(context.Background(), fallback.New(), models, brain, Options{Dims: 6, Top: 3, Engine: opts})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Models) != 3 || res.Pooled.N != 18 || !(res.Pooled.R > 0.95) {
		t.Fatalf("pooled %+v over %d models", res.Pooled, len(res.Models))
	}
	for _, m := range res.Models {
		top := append([]int(nil), m.TopUniversal[:3]...)
		sort.Ints(top)
		if top[0] != 0 || top[1] != 2 || top[2] != 4 {
			t.Errorf("%s: most universal dimensions %v, planted 0, 2, 4", m.Name, m.TopUniversal)
		}
		for _, d := range m.Dimensions {
			shared := d.Index%2 == 0
			if len(d.FromModels) != 2 {
				t.Errorf("%s dim %d: scores from %d models", m.Name, d.Index, len(d.FromModels))
			}
			if shared && !(d.Universality > 0.9 && d.BrainSimilarity > 0.8) || !shared && !(d.Universality < 0.2 && d.BrainSimilarity < 0.2) {
				t.Errorf("%s dim %d (shared %v): universality %.3f, brain similarity %.3f", m.Name, d.Index, shared, d.Universality, d.BrainSimilarity)
			}
		}
		if !(m.R > 0.95) {
			t.Errorf("%s: r(universality, brain similarity) = %v", m.Name, m.R)
		}
		red := m.Reduction
		if !(red.Kept > 0.97 && red.TopVariance < red.TopUniversal-0.02) || red.Top != 3 {
			t.Errorf("%s: reduction %+v: the universal dimensions should keep the alignment, the first components less", m.Name, red)
		}
	}
}

// TestPCA compares with gonum's SVD of the centred matrix, on both factorisations (n <= d and
// n > d, and n = d, where the Gram matrix and the scores must take the same one), float32 and
// column-major inputs.
func TestPCA(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, sz := range [][2]int{{12, 30}, {50, 7}, {10, 10}} {
		n, d := sz[0], sz[1]
		x := make([]float64, n*d)
		for i := range x {
			x[i] = r.NormFloat64()*float64(1+i%d) + 3
		}
		xc := mat.NewDense(n, d, append([]float64(nil), x...))
		for j := 0; j < d; j++ {
			m := mat.Sum(xc.ColView(j)) / float64(n)
			for i := 0; i < n; i++ {
				xc.Set(i, j, xc.At(i, j)-m)
			}
		}
		var svd mat.SVD
		if !svd.Factorize(xc, mat.SVDThin) {
			t.Fatal("svd")
		}
		s := svd.Values(nil)
		var u mat.Dense
		svd.UTo(&u)
		total := 0.0
		for _, v := range s {
			total += v * v
		}
		x32 := make([]float32, n*d)
		cm := make([]float64, n*d)
		for i := 0; i < n; i++ {
			for j := 0; j < d; j++ {
				x32[i*d+j] = float32(x[i*d+j])
				cm[j*n+i] = x[i*d+j]
			}
		}
		for name, m := range map[string]engine.Matrix{
			"float64": engine.NewMatrix64(n, d, x), "column-major": {Rows: n, Cols: d, ColMajor: true, F64: cm}, "float32": engine.NewMatrix32(n, d, x32),
		} {
			tol := 1e-9
			if name == "float32" {
				tol = 1e-5
			}
			c, err := PCA(context.Background(), m, 5)
			if err != nil {
				t.Fatal(err)
			}
			if c.K != 5 {
				t.Fatalf("%v %s: %d components", sz, name, c.K)
			}
			for q := 0; q < 5; q++ {
				if math.Abs(c.Variance[q]-s[q]*s[q]/total) > tol {
					t.Errorf("%v %s: variance %d = %v, want %v", sz, name, q, c.Variance[q], s[q]*s[q]/total)
				}
				sign := math.Copysign(1, c.Scores[q]*u.At(0, q))
				for i := 0; i < n; i++ {
					if want := sign * u.At(i, q) * s[q]; math.Abs(c.Scores[i*c.K+q]-want) > tol*s[0] {
						t.Fatalf("%v %s: score (%d, %d) = %v, want %v", sz, name, i, q, c.Scores[i*c.K+q], want)
					}
				}
			}
		}
	}
	// Rank 2: only two components, whatever is asked.
	x := make([]float64, 20*4)
	for i := 0; i < 20; i++ {
		a, b := r.NormFloat64(), r.NormFloat64()
		x[i*4], x[i*4+1], x[i*4+2], x[i*4+3] = a, b, a+b, 7
	}
	if c, err := PCA(context.Background(), engine.NewMatrix64(20, 4, x), 4); err != nil || c.K != 2 {
		t.Errorf("rank 2: %v components, err %v", c, err)
	}
	// constant columns, of a value whose mean over the rows is not exact in floating point
	// (30 rows of 0.1 average to 0.10000000000000005): no variance, not a component of rounding
	for _, v := range []float64{1, 0.1} {
		x := make([]float64, 30*4)
		for i := range x {
			x[i] = v * float64(1+i%4)
		}
		if c, err := PCA(context.Background(), engine.Matrix{Rows: 30, Cols: 4, F64: x, Name: "flat.npy"}, 4); err == nil || !strings.Contains(err.Error(), "flat.npy has no variance") {
			t.Errorf("constant %v: %v components, err %v", v, c, err)
		}
	}
}

func TestAnalyzeErrors(t *testing.T) {
	models, brain := plantedModels(60)
	opts := engine.Options{Alphas: engine.DefaultAlphas()}
	opts.Folds, _ = engine.KFold(60, 3)
	nan := make([]float64, len(models[1].X.F64))
	copy(nan, models[1].X.F64)
	nan[7] = math.NaN()
	short := models[1].X
	short.Rows = 50
	short.F64 = short.F64[:50*short.Cols]
	for _, c := range []struct {
		models []Model
		o      Options
		want   string
	}{
		{models[:1], Options{}, "at least 2"},
		{models, Options{Dims: 3, Top: 4}, "top 4 is more than the 3"},
		{[]Model{models[0], {Name: "a", X: models[1].X}}, Options{}, `two models are named "a"`},
		{[]Model{models[0], {Name: "short", X: short}}, Options{}, "short: 50 rows, but the brain data has 60"},
		{[]Model{models[0], {Name: "nan.npy", X: engine.NewMatrix64(60, 30, nan)}}, Options{}, "nan.npy"},
		{models, Options{Dims: 30, Top: 10}, "fewer than --top"},
	} {
		c.o.Engine = opts
		if c.o.Dims == 30 { // a model of rank 2 (beside the noise): the top is too many
			m := models[0].X
			low := make([]float64, len(m.F64))
			for i := 0; i < 60; i++ {
				low[i*30], low[i*30+1] = m.F64[i*30], m.F64[i*30+1]
			}
			c.models = []Model{{Name: "low", X: engine.NewMatrix64(60, 30, low)}, models[1]}
		}
		if _, err := Analyze(context.Background(), fallback.New(), c.models, brain, c.o); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("want %q, got %v", c.want, err)
		}
	}
	// a constant model: PCA's error names it, once, and says "universal:" once
	flat := []Model{models[0], {Name: "flat", X: engine.NewMatrix64(60, 30, make([]float64, 60*30))}}
	_, err := Analyze(context.Background(), fallback.New(), flat, brain, Options{Engine: opts})
	if err == nil || err.Error() != "universal: PCA: flat has no variance (every column is constant)" {
		t.Errorf("constant model: %v", err)
	}
}

// TestPCABounds: components of variance down to relTol (1e-10) of the largest are kept, and
// as many as asked up to every direction; fewer than 1 component is refused. The columns
// (1, -1, 1, -1) and s (1, 1, -1, -1) are centred and orthogonal: eigenvalues 4 and 4 s², so
// variance shares 1 / (1 + s²) and s² / (1 + s²) by hand.
func TestPCABounds(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		s2 float64
		k  int
	}{{3e-10, 2}, {1e-10 / 3, 1}} {
		s := math.Sqrt(c.s2)
		for _, unit := range []float64{1e-6, 1, 1e6} {
			x := []float64{1, s, -1, s, 1, -s, -1, -s}
			for i := range x {
				x[i] *= unit
			}
			comp, err := PCA(ctx, engine.NewMatrix64(4, 2, x), 2)
			if err != nil {
				t.Fatal(err)
			}
			if comp.K != c.k || math.Abs(comp.Variance[0]-1/(1+c.s2)) > 1e-15 {
				t.Errorf("s² = %g in units of %g: %d components, variance %v; want %d, %v", c.s2, unit, comp.K, comp.Variance, c.k, 1/(1+c.s2))
			}
		}
	}
	// every direction of a full-rank matrix, asked for all and for more
	r := rand.New(rand.NewPCG(3, 4))
	x := engine.NewMatrix64(50, 7, func() []float64 {
		v := make([]float64, 50*7)
		for i := range v {
			v[i] = r.NormFloat64()
		}
		return v
	}())
	for _, k := range []int{1, 7, 10} {
		if c, err := PCA(ctx, x, k); err != nil || c.K != min(k, 7) {
			t.Errorf("%d components of 7 asked: %v, %v", k, c, err)
		}
	}
	for _, k := range []int{0, -1} {
		if _, err := PCA(ctx, x, k); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("%d components", k)) {
			t.Errorf("%d components: %v", k, err)
		}
	}
}

// TestPCAColumnVaryingOnce: a column that varies at one row only (the second, the last) is
// centred by its mean, as gonum's SVD of the centred matrix has it.
func TestPCAColumnVaryingOnce(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	const n, d = 9, 3
	for _, row := range []int{1, n - 1} {
		x := make([]float64, n*d)
		for i := range n {
			x[i*d], x[i*d+1], x[i*d+2] = r.NormFloat64(), r.NormFloat64(), 0.5
		}
		x[row*d+2] = 4
		xc := mat.NewDense(n, d, append([]float64(nil), x...))
		for j := range d {
			m := mat.Sum(xc.ColView(j)) / n
			for i := range n {
				xc.Set(i, j, xc.At(i, j)-m)
			}
		}
		var svd mat.SVD
		if !svd.Factorize(xc, mat.SVDNone) {
			t.Fatal("svd")
		}
		s := svd.Values(nil)
		total := s[0]*s[0] + s[1]*s[1] + s[2]*s[2]
		c, err := PCA(context.Background(), engine.NewMatrix64(n, d, x), d)
		if err != nil {
			t.Fatal(err)
		}
		for q := range d {
			if math.Abs(c.Variance[q]-s[q]*s[q]/total) > 1e-12 {
				t.Errorf("column 2 apart at row %d: variance %d = %v, want %v", row, q, c.Variance[q], s[q]*s[q]/total)
			}
		}
	}
}

// recording is an engine that logs each scoring (what is scored against what) beside the
// progress messages, and fails the scoring numbered failAt (from 0; -1: none).
type recording struct {
	engine.Engine
	log    *[]string
	calls  *int
	failAt int
}

var errPlanted = errors.New("planted failure")

func (e recording) Open(y engine.Matrix, o engine.Options) (engine.Session, error) {
	s, err := e.Engine.Open(y, o)
	return recordingSession{s, e, y.Name}, err
}

type recordingSession struct {
	engine.Session
	e       recording
	targets string
}

func (s recordingSession) Score(ctx context.Context, x engine.Matrix) (*engine.Result, error) {
	*s.e.log = append(*s.e.log, "score "+x.Name+" -> "+s.targets)
	k := *s.e.calls
	*s.e.calls++
	if k == s.e.failAt {
		return nil, errPlanted
	}
	return s.Session.Score(ctx, x)
}

// TestAnalyzeSteps: every scoring is announced by Progress just before it, in the order the
// package documentation gives; the reductions are the brain data's mean scores from the full
// activations, the most universal and the first components, scored directly; Kept is NaN where
// Full <= 0 (brain data unrelated to the models: some models score below 0, some above); and a
// failure at any scoring names what was scored.
func TestAnalyzeSteps(t *testing.T) {
	ctx := context.Background()
	models, _ := plantedModels(60)
	r := rand.New(rand.NewPCG(0, 9))
	y := make([]float64, 60*5)
	for i := range y {
		y[i] = r.NormFloat64()
	}
	brain := engine.NewMatrix64(60, 5, y)
	opts := engine.Options{Alphas: engine.DefaultAlphas()}
	opts.Folds, _ = engine.KFold(60, 3)
	names := []string{"a", "b", "c"}
	var want []string
	for _, m := range names {
		want = append(want, "principal components of "+m)
	}
	for _, m := range names {
		for _, o := range names {
			if o != m {
				want = append(want, "dimensions of "+m+" from "+o, "score")
			}
		}
		want = append(want, "dimensions of "+m+" from the brain data", "score")
	}
	for _, m := range names {
		want = append(want, "brain data from "+m, "score", "brain data from the 2 most universal dimensions of "+m, "score",
			"brain data from the 2 first principal components of "+m, "score")
	}
	var log []string
	calls := 0
	progress := func(s string) { log = append(log, s) }
	res, err := Analyze(ctx, recording{fallback.New(), &log, &calls, -1}, models, brain, Options{Dims: 4, Top: 2, Engine: opts, Progress: progress})
	if err != nil {
		t.Fatal(err)
	}
	for i := range log {
		if strings.HasPrefix(log[i], "score ") {
			log[i] = "score"
		}
	}
	if strings.Join(log, "\n") != strings.Join(want, "\n") {
		t.Errorf("progress and scorings:\n%s\nwant\n%s", strings.Join(log, "\n"), strings.Join(want, "\n"))
	}

	s, err := fallback.New().Open(brain, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	score := func(x engine.Matrix) float64 {
		r, err := s.Score(ctx, x)
		if err != nil {
			t.Fatal(err)
		}
		return mean(r.Scores)
	}
	below := 0
	for i, m := range res.Models {
		c, err := PCA(ctx, models[i].X, 4)
		if err != nil {
			t.Fatal(err)
		}
		red := m.Reduction
		full, top, first := score(models[i].X), score(c.Matrix(m.TopUniversal[:2], "")), score(c.Matrix([]int{0, 1}, ""))
		kept := top / full
		if full <= 0 {
			kept = math.NaN()
			below++
		}
		if red.Full != full || red.TopUniversal != top || red.TopVariance != first || red.Top != 2 ||
			!(red.Kept == kept || math.IsNaN(red.Kept) && math.IsNaN(kept)) {
			t.Errorf("%s: reduction %+v; scored directly: full %v, most universal %v, first components %v, kept %v", m.Name, red, full, top, first, kept)
		}
	}
	if below == 0 || below == len(res.Models) {
		t.Errorf("%d of %d models score at most 0 from unrelated brain data: the test wants both kinds", below, len(res.Models))
	}

	for k := range calls {
		var what string
		switch i := k / 3; {
		case k >= 9:
			what = names[(k-9)/3]
		case k%3 == 2:
			what = names[i] + " from the brain data"
		default:
			others := slices.DeleteFunc(slices.Clone(names), func(s string) bool { return s == names[i] })
			what = names[i] + " from " + others[k%3]
		}
		log, calls := []string(nil), 0
		_, err := Analyze(ctx, recording{fallback.New(), &log, &calls, k}, models, brain, Options{Dims: 4, Top: 2, Engine: opts})
		if want := "universal: " + what + ": planted failure"; !errors.Is(err, errPlanted) || err.Error() != want {
			t.Errorf("scoring %d failing: %v; want %q", k, err, want)
		}
	}
}

// TestAnalyzeOptions: the default dimensions (20) and top (10, or the dimensions if fewer),
// and the bounds: 1 dimension and top 1, a top as large as the dimensions, and a top as large
// as a model's dimensions of non-zero variance are taken; below 1 is refused.
func TestAnalyzeOptions(t *testing.T) {
	models, brain := plantedModels(60)
	opts := engine.Options{Alphas: engine.DefaultAlphas()}
	opts.Folds, _ = engine.KFold(60, 3)
	m := models[0].X
	low := make([]float64, len(m.F64))
	for i := 0; i < 60; i++ {
		low[i*30], low[i*30+1] = m.F64[i*30], m.F64[i*30+1]
	}
	rank2 := []Model{{Name: "low", X: engine.NewMatrix64(60, 30, low)}, models[1]}
	for _, c := range []struct {
		models    []Model
		o         Options
		dims, top int
	}{{models, Options{}, 20, 10}, {models, Options{Dims: 4}, 4, 4}, {models, Options{Dims: 1, Top: 1}, 1, 1},
		{models, Options{Dims: 3, Top: 3}, 3, 3}, {rank2, Options{Dims: 5, Top: 2}, 2, 2}} {
		c.o.Engine = opts
		res, err := Analyze(context.Background(), fallback.New(), c.models, brain, c.o)
		if err != nil {
			t.Errorf("dimensions %d, top %d: %v", c.o.Dims, c.o.Top, err)
			continue
		}
		if got := res.Models[0]; len(got.Dimensions) != c.dims || got.Reduction.Top != c.top || len(got.TopUniversal) != c.dims {
			t.Errorf("dimensions %d, top %d: %d dimensions, top %d; want %d, %d", c.o.Dims, c.o.Top, len(got.Dimensions), got.Reduction.Top, c.dims, c.top)
		}
	}
	for _, o := range []Options{{Dims: -1, Top: 5}, {Dims: 5, Top: -1}, {Dims: -2, Top: -1}} {
		o.Engine = opts
		if _, err := Analyze(context.Background(), fallback.New(), models, brain, o); err == nil || !strings.Contains(err.Error(), "both must be at least 1") {
			t.Errorf("dimensions %d, top %d: %v", o.Dims, o.Top, err)
		}
	}
}

// TestComponentsMatrix: Matrix gathers the chosen components' scores, in the order asked, every
// row, under the name given.
func TestComponentsMatrix(t *testing.T) {
	c := &Components{K: 3, Scores: []float64{1, 2, 3, 4, 5, 6}}
	m := c.Matrix([]int{2, 0}, "chosen")
	if m.Rows != 2 || m.Cols != 2 || m.Name != "chosen" || !slices.Equal(m.F64, []float64{3, 1, 6, 4}) {
		t.Errorf("components 2 and 0 of %v: %+v", c.Scores, m)
	}
}
