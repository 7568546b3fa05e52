package universal

import (
	"context"
	"fmt"
	"math"
	"sort"

	"github.com/brainalign/brainalign/engine"
	"github.com/brainalign/brainalign/stats"
)

// Model is one model's activations (n x d, the images in the brain data's order).
type Model struct {
	Name string
	X    engine.Matrix
}

// Options configures Analyze.
type Options struct {
	Dims int // principal components per model (0: 20); fewer when a model has fewer
	Top  int // dimensions kept by the reduction test (0: 10); at most Dims
	// Engine is the ridge regression's settings (folds, penalties, inner selection, precision),
	// the same for every prediction.
	Engine engine.Options
	// Progress, when set, is called before each scoring with what is scored.
	Progress func(step string)
}

// Dimension is one principal component of a model.
type Dimension struct {
	Index    int     `json:"index"`    // 0: the first (largest variance)
	Variance float64 `json:"variance"` // fraction of the model's variance
	// Universality is the mean over the other models of FromModels.
	Universality    float64   `json:"universality"`
	BrainSimilarity float64   `json:"brain_similarity"` // encoding score from the brain data
	FromModels      []float64 `json:"from_models"`      // encoding score from each other model, in Result.Models order without this one
}

// Reduction is the brain data's mean encoding score (over targets) from a model's full
// activations and from Top of its dimensions.
type Reduction struct {
	Full         float64 `json:"full"`
	TopUniversal float64 `json:"top_universal"` // the Top most universal dimensions
	TopVariance  float64 `json:"top_variance"`  // the Top first principal components
	Top          int     `json:"top"`
	// Kept is TopUniversal / Full (NaN when Full <= 0).
	Kept float64 `json:"kept"`
}

// ModelResult is one model's dimensions and tests.
type ModelResult struct {
	Name       string      `json:"name"`
	Dimensions []Dimension `json:"dimensions"`
	// R and P: Pearson r across the dimensions between universality and brain similarity.
	R            float64   `json:"r"`
	P            float64   `json:"p"`
	TopUniversal []int     `json:"top_universal"` // dimension indices, most universal first
	Reduction    Reduction `json:"reduction"`
}

// Result is the analysis of all models.
type Result struct {
	Models []ModelResult `json:"models"`
	// Pooled is Pearson r between universality and brain similarity over every model's
	// dimensions together.
	Pooled struct {
		R float64 `json:"r"`
		P float64 `json:"p"`
		N int     `json:"n"`
	} `json:"pooled"`
	Engine string `json:"engine"`
}

// Analyze runs the analysis (see the package documentation) with engine e: for each model, one
// session with its dimensions as targets scores every other model and the brain data; one
// session with the brain data as targets scores each model's full activations and reductions.
func Analyze(ctx context.Context, e engine.Engine, models []Model, brain engine.Matrix, o Options) (*Result, error) {
	if o.Dims == 0 {
		o.Dims = 20
	}
	if o.Top == 0 {
		o.Top = min(10, o.Dims)
	}
	switch {
	case len(models) < 2:
		return nil, fmt.Errorf("universal: %d model(s); universality needs at least 2", len(models))
	case o.Dims < 1 || o.Top < 1:
		return nil, fmt.Errorf("universal: %d dimensions, top %d; both must be at least 1", o.Dims, o.Top)
	case o.Top > o.Dims:
		return nil, fmt.Errorf("universal: top %d is more than the %d dimensions per model", o.Top, o.Dims)
	}
	seen := map[string]bool{}
	for _, m := range models {
		if seen[m.Name] {
			return nil, fmt.Errorf("universal: two models are named %q", m.Name)
		}
		seen[m.Name] = true
		if m.X.Rows != brain.Rows {
			return nil, fmt.Errorf("universal: %s: %d rows, but the brain data has %d (rows must be the same images)", m.Name, m.X.Rows, brain.Rows)
		}
		if err := m.X.Validate(m.Name); err != nil {
			return nil, err
		}
		if err := m.X.CheckFinite(m.Name); err != nil {
			return nil, err
		}
	}
	progress := func(format string, a ...any) {
		if o.Progress != nil {
			o.Progress(fmt.Sprintf(format, a...))
		}
	}
	comps := make([]*Components, len(models))
	for i, m := range models {
		progress("principal components of %s", m.Name)
		x := m.X
		if x.Name == "" {
			x.Name = m.Name
		}
		c, err := PCA(ctx, x, o.Dims)
		if err != nil {
			return nil, err // PCA's errors say "universal:" and name the model
		}
		if c.K < o.Top {
			return nil, fmt.Errorf("universal: %s has %d dimensions of non-zero variance, fewer than --top %d", m.Name, c.K, o.Top)
		}
		comps[i] = c
	}
	res := &Result{Engine: e.Name()}
	var allU, allB []float64
	for i, m := range models {
		mr, err := dimensions(ctx, e, models, brain, comps, i, o, progress)
		if err != nil {
			return nil, err
		}
		mr.Name = m.Name
		for _, d := range mr.Dimensions {
			allU, allB = append(allU, d.Universality), append(allB, d.BrainSimilarity)
		}
		res.Models = append(res.Models, *mr)
	}
	res.Pooled.R, res.Pooled.P = correlate(allU, allB)
	res.Pooled.N = len(allU)

	// Reductions: the brain data as targets.
	s, err := e.Open(brain, o.Engine)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	brainScore := func(x engine.Matrix) (float64, error) {
		r, err := s.Score(ctx, x)
		if err != nil {
			return 0, err
		}
		return mean(r.Scores), nil
	}
	for i, m := range models {
		mr := &res.Models[i]
		red := Reduction{Top: o.Top}
		progress("brain data from %s", m.Name)
		if red.Full, err = brainScore(m.X); err != nil {
			return nil, fmt.Errorf("universal: %s: %w", m.Name, err)
		}
		progress("brain data from the %d most universal dimensions of %s", o.Top, m.Name)
		if red.TopUniversal, err = brainScore(comps[i].Matrix(mr.TopUniversal[:o.Top], m.Name+" (most universal dimensions)")); err != nil {
			return nil, fmt.Errorf("universal: %s: %w", m.Name, err)
		}
		progress("brain data from the %d first principal components of %s", o.Top, m.Name)
		if red.TopVariance, err = brainScore(comps[i].Matrix(everyRow(o.Top), m.Name+" (first principal components)")); err != nil {
			return nil, fmt.Errorf("universal: %s: %w", m.Name, err)
		}
		red.Kept = math.NaN()
		if red.Full > 0 {
			red.Kept = red.TopUniversal / red.Full
		}
		mr.Reduction = red
	}
	return res, nil
}

// dimensions scores model i's dimensions from every other model and from the brain data.
func dimensions(ctx context.Context, e engine.Engine, models []Model, brain engine.Matrix, comps []*Components, i int, o Options, progress func(string, ...any)) (*ModelResult, error) {
	c := comps[i]
	s, err := e.Open(c.Matrix(everyRow(c.K), models[i].Name+" dimensions"), o.Engine)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	mr := &ModelResult{}
	for q := 0; q < c.K; q++ {
		mr.Dimensions = append(mr.Dimensions, Dimension{Index: q, Variance: c.Variance[q]})
	}
	for j, m := range models {
		if j == i {
			continue
		}
		progress("dimensions of %s from %s", models[i].Name, m.Name)
		r, err := s.Score(ctx, m.X)
		if err != nil {
			return nil, fmt.Errorf("universal: %s from %s: %w", models[i].Name, m.Name, err)
		}
		for q := range mr.Dimensions {
			mr.Dimensions[q].FromModels = append(mr.Dimensions[q].FromModels, r.Scores[q])
		}
	}
	progress("dimensions of %s from the brain data", models[i].Name)
	r, err := s.Score(ctx, brain)
	if err != nil {
		return nil, fmt.Errorf("universal: %s from the brain data: %w", models[i].Name, err)
	}
	var u, b []float64
	for q := range mr.Dimensions {
		d := &mr.Dimensions[q]
		d.Universality = mean(d.FromModels)
		d.BrainSimilarity = r.Scores[q]
		u, b = append(u, d.Universality), append(b, d.BrainSimilarity)
	}
	mr.R, mr.P = correlate(u, b)
	mr.TopUniversal = everyRow(c.K)
	sort.SliceStable(mr.TopUniversal, func(a, b int) bool { return u[mr.TopUniversal[a]] > u[mr.TopUniversal[b]] })
	return mr, nil
}

// correlate is Pearson's r and p, NaN where undefined (fewer than 3 dimensions, no spread).
func correlate(x, y []float64) (float64, float64) {
	r, p, err := stats.Pearson(x, y)
	if err != nil {
		return math.NaN(), math.NaN()
	}
	return r, p
}

func mean(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}
