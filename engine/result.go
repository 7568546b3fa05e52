package engine

import "time"

// Timings splits an engine's wall time into the stages of the algorithm.
type Timings struct {
	Transfer  time.Duration // staging data: gathers, conversions, host<->device copies
	Decompose time.Duration // eigendecompositions of the training folds
	Products  time.Duration // the large products (U^T Y and the per-penalty fitted values)
	Select    time.Duration // leave-one-out / GCV / inner-fold errors and the running argmin
	Refit     time.Duration // test-fold predictions at the chosen penalties
	Score     time.Duration // Pearson r per target
	Total     time.Duration // wall time of the whole Score call

	// Overlapped is decomposition work that ran alongside other stages and is not part of
	// Total's sum: the CUDA engine factorises fold f+1 on a second stream while fold f's
	// products run (device time, from CUDA events). Any part the products did not hide is
	// also in Decompose, as waiting.
	Overlapped time.Duration
}

// Add accumulates other into t.
func (t *Timings) Add(o Timings) {
	t.Transfer += o.Transfer
	t.Decompose += o.Decompose
	t.Products += o.Products
	t.Select += o.Select
	t.Refit += o.Refit
	t.Score += o.Score
	t.Total += o.Total
	t.Overlapped += o.Overlapped
}

// Result is the outcome of scoring one activation matrix against brain data.
type Result struct {
	Targets int // m
	Folds   int // outer folds

	Scores     []float64 // m: mean Pearson r over folds (the encoding score)
	FoldScores []float64 // folds x m, row-major: Pearson r on each held-out fold
	Alphas     []float64 // folds x m, row-major: the penalty chosen on each training fold

	// Degenerate counts (fold, target) pairs scored 0 because the prediction or the data had
	// zero variance on the held-out fold; DegenerateTargets counts targets with at least one.
	Degenerate        int
	DegenerateTargets int

	Rank    []int // per fold: directions kept from the training decomposition
	Dropped []int // per fold: directions dropped as numerically zero (rank deficiency)

	// Predictions, with Options.KeepPredictions, are the out-of-fold predictions (rows x
	// targets, row-major, float64 at any precision: a prediction of little variance around a
	// large mean, rounded to float32, would lose the variation its r is of): each row's as
	// predicted by the model of the fold that held it out, in the brain data's units (the
	// intercept included, scikit-learn's cross_val_predict); NaN for rows no fold holds out.
	Predictions Matrix

	Engine    string
	Precision Precision
	Batches   int     // target batches per fold
	Flops     float64 // floating-point operations of the large products
	Timings   Timings
}

// FoldScore returns the score of target t on fold f.
func (r *Result) FoldScore(f, t int) float64 { return r.FoldScores[f*r.Targets+t] }

// Alpha returns the penalty chosen for target t on fold f.
func (r *Result) Alpha(f, t int) float64 { return r.Alphas[f*r.Targets+t] }

// NewResult allocates a result for m targets and k folds.
func NewResult(m, k int) *Result {
	return &Result{
		Targets:    m,
		Folds:      k,
		Scores:     make([]float64, m),
		FoldScores: make([]float64, k*m),
		Alphas:     make([]float64, k*m),
		Rank:       make([]int, k),
		Dropped:    make([]int, k),
	}
}

// Finish computes the mean scores and the degenerate-target count from the per-fold values;
// degenerate marks (fold, target) pairs, folds x m.
func (r *Result) Finish(degenerate []bool) {
	m := r.Targets
	for t := 0; t < m; t++ {
		s := 0.0
		any := false
		for f := 0; f < r.Folds; f++ {
			s += r.FoldScores[f*m+t]
			if degenerate != nil && degenerate[f*m+t] {
				any = true
				r.Degenerate++
			}
		}
		r.Scores[t] = s / float64(r.Folds)
		if any {
			r.DegenerateTargets++
		}
	}
}
