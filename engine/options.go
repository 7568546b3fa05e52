package engine

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// InnerMode is how the penalty is chosen inside each outer training fold.
type InnerMode int

const (
	// LOO is exact efficient leave-one-out (scikit-learn's RidgeCV with cv=None).
	LOO InnerMode = iota
	// GCV is generalised cross-validation: the leverages replaced by their mean.
	GCV
	// KFoldInner is an inner K-fold split of the training fold (himalaya's RidgeCV).
	KFoldInner
)

// InnerScore is the score an inner K-fold maximises.
type InnerScore int

const (
	// R2 is the coefficient of determination (scikit-learn's default scorer for regressors).
	R2 InnerScore = iota
	// Pearson is the correlation between prediction and data.
	Pearson
)

// Inner describes the inner penalty selection.
type Inner struct {
	Mode  InnerMode
	K     int        // folds of KFoldInner
	Score InnerScore // score of KFoldInner
}

// String renders the mode in the syntax ParseInner accepts.
func (in Inner) String() string {
	switch in.Mode {
	case GCV:
		return "gcv"
	case KFoldInner:
		s := "kfold:" + strconv.Itoa(in.K)
		if in.Score == Pearson {
			s += ":pearson"
		}
		return s
	default:
		return "loo"
	}
}

// ParseInner parses "loo", "gcv", "kfold:K" or "kfold:K:r2|pearson".
func ParseInner(s string) (Inner, error) {
	switch s {
	case "", "loo":
		return Inner{Mode: LOO}, nil
	case "gcv":
		return Inner{Mode: GCV}, nil
	}
	parts := strings.Split(s, ":")
	if parts[0] != "kfold" || len(parts) < 2 || len(parts) > 3 {
		return Inner{}, fmt.Errorf("inner: unknown mode %q (want loo, gcv or kfold:K[:r2|pearson])", s)
	}
	k, err := strconv.Atoi(parts[1])
	if err != nil || k < 2 {
		return Inner{}, fmt.Errorf("inner: %q: K must be an integer >= 2", s)
	}
	in := Inner{Mode: KFoldInner, K: k}
	if len(parts) == 3 {
		switch parts[2] {
		case "r2":
		case "pearson":
			in.Score = Pearson
		default:
			return Inner{}, fmt.Errorf("inner: %q: score must be r2 or pearson", s)
		}
	}
	return in, nil
}

// Precision is the arithmetic of the large products. Decompositions are always float64.
type Precision int

const (
	Float32 Precision = iota // products in float32 (default)
	Float64                  // everything in float64
	TF32                     // products on TF32 tensor cores (CUDA only; opt-in)
)

func (p Precision) String() string {
	switch p {
	case Float64:
		return "float64"
	case TF32:
		return "tf32"
	default:
		return "float32"
	}
}

// ParsePrecision parses "float32", "float64" or "tf32".
func ParsePrecision(s string) (Precision, error) {
	switch s {
	case "", "float32", "f32":
		return Float32, nil
	case "float64", "f64":
		return Float64, nil
	case "tf32":
		return TF32, nil
	}
	return 0, fmt.Errorf("precision: unknown %q (want float32, float64 or tf32)", s)
}

// Logspace returns num values 10^lo .. 10^hi, evenly spaced in log10 (numpy.logspace). The
// exponents are numpy.linspace's, bit for bit (i*step + lo, the last exactly hi), and whole
// exponents give exact powers of ten; other powers may differ from numpy's in the last bit:
// math.Pow is not correctly rounded, and neither is numpy's power where it is vectorised (on
// AVX-512 CPUs numpy 1.24's 10^x differed from the correctly rounded value for 28% of random x,
// glibc's pow for 0.1%).
func Logspace(lo, hi float64, num int) []float64 {
	out := make([]float64, num)
	step := 0.0
	if num > 1 {
		step = (hi - lo) / float64(num-1)
	}
	for i := range out {
		e := float64(i)*step + lo
		if step == 0 && num > 1 { // numpy: a zero step scales by the span instead
			e = float64(i)/float64(num-1)*(hi-lo) + lo
		}
		if i == num-1 && num > 1 {
			e = hi
		}
		if e == math.Trunc(e) && math.Abs(e) < 300 {
			out[i] = math.Pow10(int(e))
		} else {
			out[i] = math.Pow(10, e)
		}
	}
	return out
}

// DefaultAlphas is the study's grid: 1, 10, ..., 1e8.
func DefaultAlphas() []float64 { return Logspace(0, 8, 9) }

// ParseAlphas parses "1,10,100" or "logspace:LO:HI:NUM".
func ParseAlphas(s string) ([]float64, error) {
	if strings.HasPrefix(s, "logspace:") {
		p := strings.Split(s, ":")
		if len(p) != 4 {
			return nil, fmt.Errorf("alphas: %q: want logspace:LO:HI:NUM", s)
		}
		lo, e1 := strconv.ParseFloat(p[1], 64)
		hi, e2 := strconv.ParseFloat(p[2], 64)
		num, e3 := strconv.Atoi(p[3])
		switch {
		case e1 != nil || e2 != nil:
			return nil, fmt.Errorf("alphas: %q: want logspace:LO:HI:NUM, LO and HI powers of ten (numbers)", s)
		case e3 != nil || num < 1:
			return nil, fmt.Errorf("alphas: %q: want logspace:LO:HI:NUM with NUM a whole number >= 1", s)
		}
		a := Logspace(lo, hi, num)
		if err := CheckAlphas(a); err != nil {
			return nil, fmt.Errorf("alphas: %q: 10^%g .. 10^%g leaves the range of float64 (1e-308 .. 1e308)", s, lo, hi)
		}
		return a, nil
	}
	var out []float64
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		v, err := strconv.ParseFloat(f, 64)
		if errors.Is(err, strconv.ErrRange) {
			return nil, fmt.Errorf("alphas: %s is beyond float64's range (1e-308 .. 1e308)", f)
		}
		if err != nil {
			return nil, fmt.Errorf("alphas: %q is not a number", f)
		}
		if v == 0 && strings.ContainsAny(f, "123456789") {
			return nil, fmt.Errorf("alphas: %s is too small for float64 (it reads as 0)", f)
		}
		out = append(out, v)
	}
	return out, CheckAlphas(out)
}

// CheckAlphas requires a non-empty grid of finite, positive penalties.
func CheckAlphas(a []float64) error {
	if len(a) == 0 {
		return fmt.Errorf("alphas: empty penalty grid")
	}
	for _, v := range a {
		if !(v > 0) || math.IsInf(v, 0) {
			return fmt.Errorf("alphas: penalty %v is not a finite positive number", v)
		}
	}
	return nil
}

// Options describe how a problem is solved. The zero value is not usable: Folds and Alphas must
// be set (see Defaults).
type Options struct {
	Folds       []Fold    // outer folds
	Alphas      []float64 // penalty grid, in the order ties are broken (the first wins)
	Inner       Inner     // inner penalty selection
	SharedAlpha bool      // one penalty for all targets instead of one per target
	NoIntercept bool      // fit without an intercept (data not centred)
	// Standardize divides each feature by its standard deviation on each outer training fold
	// (FeatureScales) before anything else, held-out rows by the same: scikit-learn's
	// make_pipeline(StandardScaler(with_mean=intercept), RidgeCV(...)). Inner splits keep the
	// outer fold's scaling. Predict's weights are in the features' own units.
	Standardize bool
	Precision   Precision // arithmetic of the large products
	// MemoryLimit caps the engine's working memory in bytes (targets are batched to fit);
	// 0 lets the engine choose (a share of free memory).
	MemoryLimit int64
	// MaxBatch caps the targets per batch (0: sized from the memory limit alone). Tests use it
	// to force batching; users rarely need it.
	MaxBatch int
	// Weights asks Predictor.Predict for the fitted model too (Prediction.Weights and
	// Intercepts: d x targets more memory); scoring ignores it.
	Weights bool
	// KeepPredictions asks Score for the held-out predictions too (Result.Predictions: rows x
	// targets more memory, on the host); Predict ignores it.
	KeepPredictions bool
	// Progress, if set, is called after each unit of work with done and total counts.
	Progress func(done, total int)
}

// Defaults returns the study's options for n rows: KFold(5), logspace(0, 8, 9), exact LOO,
// float32 products, intercept on.
func Defaults(n int) (Options, error) {
	folds, err := KFold(n, 5)
	if err != nil {
		return Options{}, err
	}
	return Options{Folds: folds, Alphas: DefaultAlphas()}, nil
}

// Validate checks the options for a problem of n rows.
func (o Options) Validate(n int) error {
	if err := o.validateModel(); err != nil {
		return err
	}
	if o.Inner.Mode == KFoldInner {
		// Each training fold is cut into K parts, each held out once: at least 2 rows each.
		for f, fold := range o.Folds {
			if len(fold.Train) < 2*o.Inner.K {
				return fmt.Errorf("inner: kfold:%d cuts each training fold into %d parts of at least 2 rows, but fold %d has %d training rows, fewer than %d (use a smaller K)",
					o.Inner.K, o.Inner.K, f, len(fold.Train), 2*o.Inner.K)
			}
		}
	}
	if err := ValidateFolds(o.Folds, n, 2); err != nil {
		return err
	}
	for f, fold := range o.Folds {
		// Pearson r of one held-out row is undefined and of two is always +-1: scores of such
		// folds would look like results and mean nothing.
		if len(fold.Test) < MinTestRows {
			return fmt.Errorf("folds: fold %d has %d test rows; a held-out Pearson r needs at least %d (use fewer folds)", f, len(fold.Test), MinTestRows)
		}
	}
	if o.KeepPredictions {
		// one prediction per row: a row held out by two folds would keep the last one's
		heldBy := make(map[int]int)
		for f, fold := range o.Folds {
			for _, i := range fold.Test {
				if g, ok := heldBy[i]; ok {
					return fmt.Errorf("folds: row %d is held out by folds %d and %d; held-out predictions need each row held out once at most", i, g, f)
				}
				heldBy[i] = f
			}
		}
	}
	return nil
}

// validateModel checks the options but the folds: the grid, the inner mode, precision and limits.
func (o Options) validateModel() error {
	if err := CheckAlphas(o.Alphas); err != nil {
		return err
	}
	if o.Inner.Mode < LOO || o.Inner.Mode > KFoldInner {
		return fmt.Errorf("inner: unknown mode %d (want LOO, GCV or KFoldInner)", o.Inner.Mode)
	}
	if o.Inner.Mode == KFoldInner && (o.Inner.Score < R2 || o.Inner.Score > Pearson) {
		return fmt.Errorf("inner: unknown score %d of kfold (want R2 or Pearson)", o.Inner.Score)
	}
	if o.Precision < Float32 || o.Precision > TF32 {
		return fmt.Errorf("options: unknown precision %d (want Float32, Float64 or TF32)", o.Precision)
	}
	if o.MemoryLimit < 0 || o.MaxBatch < 0 {
		return fmt.Errorf("options: negative memory limit (%d) or batch cap (%d)", o.MemoryLimit, o.MaxBatch)
	}
	if o.Inner.Mode == KFoldInner && o.Inner.K < 2 {
		return fmt.Errorf("inner: kfold needs K >= 2, got %d", o.Inner.K)
	}
	return nil
}

// MinTestRows is the fewest held-out rows a fold may have.
const MinTestRows = 3

// OptionsSummary is what output files record of the options (summary.json, a sweep's manifest).
// Options without folds (predict's one fit on all rows) record none: no "folds": 0.
type OptionsSummary struct {
	Alphas      []float64 `json:"alphas"`
	Folds       int       `json:"folds,omitempty"`
	FoldSizes   []int     `json:"fold_test_sizes,omitempty"`
	Inner       string    `json:"inner"`
	SharedAlpha bool      `json:"shared_alpha"`
	Intercept   bool      `json:"intercept"`
	Standardize bool      `json:"standardize"`
	Precision   string    `json:"precision"`
}

// Summary describes the options for output files.
func (o Options) Summary() OptionsSummary {
	s := OptionsSummary{Alphas: o.Alphas, Folds: len(o.Folds), Inner: o.Inner.String(), SharedAlpha: o.SharedAlpha,
		Intercept: !o.NoIntercept, Standardize: o.Standardize, Precision: o.Precision.String()}
	for _, f := range o.Folds {
		s.FoldSizes = append(s.FoldSizes, len(f.Test))
	}
	return s
}

// ModelDiff lists how the model of now differs from o's, in the flags' words ("--standardize
// on, now off"): the penalty grid, the inner selection, a shared penalty, the intercept and
// standardised features (not the folds or the precision). Nil when the models are the same.
func (o OptionsSummary) ModelDiff(now OptionsSummary) []string {
	var diffs []string
	if !slices.Equal(o.Alphas, now.Alphas) {
		diffs = append(diffs, fmt.Sprintf("--alphas %s, now %s", formatAlphas(o.Alphas), formatAlphas(now.Alphas)))
	}
	if o.Inner != now.Inner {
		diffs = append(diffs, fmt.Sprintf("--inner %s, now %s", o.Inner, now.Inner))
	}
	onOff := func(b bool) string {
		if b {
			return "on"
		}
		return "off"
	}
	for _, f := range []struct {
		flag     string
		was, now bool
	}{{"--shared-alpha", o.SharedAlpha, now.SharedAlpha}, {"--no-intercept", !o.Intercept, !now.Intercept},
		{"--standardize", o.Standardize, now.Standardize}} {
		if f.was != f.now {
			diffs = append(diffs, fmt.Sprintf("%s %s, now %s", f.flag, onOff(f.was), onOff(f.now)))
		}
	}
	return diffs
}

// formatAlphas renders a penalty grid as --alphas takes it: 1,10,100.
func formatAlphas(a []float64) string {
	parts := make([]string, len(a))
	for i, v := range a {
		parts[i] = strconv.FormatFloat(v, 'g', -1, 64)
	}
	return strings.Join(parts, ",")
}

// FormatBytes renders a byte count for messages: 512 B, 3.2 MiB, 1.5 GiB.
func FormatBytes(n int64) string {
	switch {
	case n < 1<<10:
		return fmt.Sprintf("%d B", n)
	case n < 1<<20:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	case n < 1<<30:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
}
