package engine

import (
	"context"
	"fmt"
)

// Predictor is implemented by engines that can fit the brain data on every stimulus and predict
// the responses to new ones (brainalign predict: challenge submissions such as Algonauts',
// in-silico experiments on images never shown). Scoring needs no such predictions: its held-out
// predictions are brought to a scale of their own (a Pearson r ignores scale), so an engine
// implements this separately.
type Predictor interface {
	// Predict fits ridge from x (n x d) to y (n x m, the same rows) on every row, the penalty
	// chosen per target (or one shared) by opts.Inner on those rows, and predicts the rows of
	// xNew (new stimuli x d). opts.Folds must be empty: there is no held-out fold. With
	// opts.Weights it also returns the fitted model, and xNew may be empty (no rows, no data)
	// to fit the model alone.
	Predict(ctx context.Context, x, y, xNew Matrix, opts Options) (*Prediction, error)
}

// Prediction is the outcome of Predictor.Predict.
type Prediction struct {
	Rows, Targets int // new stimuli, targets
	// Values are the predicted responses (Rows x Targets, row-major) in the brain data's units,
	// the intercept included: float32 at float32 and tf32 precision, float64 at float64.
	Values Matrix
	Alphas []float64 // per target: the penalty chosen on all rows
	// Weights (d x Targets, row-major, in Values' precision) and Intercepts (Targets) are the
	// fitted model, with opts.Weights: prediction = xNew Weights + Intercepts (scikit-learn's
	// coef_ transposed and intercept_; intercepts 0 without an intercept).
	Weights    Matrix
	Intercepts []float64
	Rank       int // directions kept from the decomposition of all rows
	Dropped    int // directions dropped as numerically zero (rank deficiency)

	Engine    string
	Precision Precision
	Batches   int     // target batches
	Flops     float64 // floating-point operations of the large products
	Timings   Timings // Refit holds the predictions' product; Score stays 0
}

// MinFitRows is the fewest stimuli Predict fits on: leave-one-out and GCV need a residual left
// on every row, and an inner k-fold at least 2 rows in each of its parts.
const MinFitRows = 3

// CheckPredict validates Predict's inputs (Predictor implementations call it first): the
// brain data and activations as for scoring, the new stimuli's features (as many as x's, finite
// at opts.Precision), and options without folds. Errors name the matrices by their Name.
func CheckPredict(x, y, xNew Matrix, opts Options) error {
	if len(opts.Folds) > 0 {
		return fmt.Errorf("options: Predict fits every row; folds (%d given) must be empty", len(opts.Folds))
	}
	if err := opts.validateModel(); err != nil {
		return err
	}
	yName := nameOr(y.Name, "brain data")
	if err := y.Validate(yName); err != nil {
		return err
	}
	if err := y.CheckValues(yName, opts.Precision); err != nil {
		return err
	}
	if err := CheckActivations(x, y.Rows, opts.Precision); err != nil {
		return err
	}
	if err := checkNew(x, xNew, opts); err != nil {
		return err
	}
	n := y.Rows
	if n < MinFitRows {
		return fmt.Errorf("%s: %d rows; fitting a penalty per target needs at least %d stimuli", yName, n, MinFitRows)
	}
	if opts.Inner.Mode == KFoldInner && n < 2*opts.Inner.K {
		return fmt.Errorf("inner: kfold:%d cuts the rows into %d parts of at least 2 rows, but there are %d rows, fewer than %d (use a smaller K)",
			opts.Inner.K, opts.Inner.K, n, 2*opts.Inner.K)
	}
	return nil
}

// checkNew validates the new stimuli's features: as many as x's, finite; or none at all (a
// matrix without rows or data) when only the model is asked for.
func checkNew(x, xNew Matrix, opts Options) error {
	if xNew.Rows == 0 && xNew.F32 == nil && xNew.F64 == nil {
		if opts.Weights {
			return nil
		}
		return fmt.Errorf("no new stimuli to predict (ask for the weights to fit the model alone)")
	}
	newName := nameOr(xNew.Name, "new activations")
	if err := xNew.Validate(newName); err != nil {
		return err
	}
	if xNew.Cols != x.Cols {
		return fmt.Errorf("%s: %d features, but the activations fitted on have %d (they must be the same layer's features)",
			newName, xNew.Cols, x.Cols)
	}
	return xNew.CheckValues(newName, opts.Precision)
}

// PredictionKept names, for out-of-memory errors, what a Predict holds until it returns: the
// predictions of nNew new stimuli for m targets, and the model (d features x m targets) when
// weights are asked for; hint says what smaller run would fit.
func PredictionKept(nNew, d, m int, weights bool) (what, hint string) {
	switch {
	case !weights:
		return fmt.Sprintf("the predictions (%d new stimuli x %d targets)", nNew, m), "predict fewer new stimuli or targets at once"
	case nNew == 0:
		return fmt.Sprintf("the model (%d features x %d targets)", d, m), "fit fewer targets at once"
	}
	return fmt.Sprintf("the predictions and the model (%d new stimuli and %d features x %d targets)", nNew, d, m),
		"predict fewer new stimuli or targets at once"
}

// FitAll is the one fold of a fit on every row for Predict implementations: all n rows train,
// and Test lists the nNew rows of the new stimuli's matrix (not of the brain data).
func FitAll(n, nNew int) Fold {
	f := Fold{Train: make([]int, n), Test: make([]int, nNew)}
	for i := range f.Train {
		f.Train[i] = i
	}
	for i := range f.Test {
		f.Test[i] = i
	}
	return f
}
