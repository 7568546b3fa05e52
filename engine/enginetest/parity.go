package enginetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/brainalign/brainalign/array"
	"github.com/brainalign/brainalign/engine"
)

// Tolerances of the parity cases against scikit-learn (docs/design.md §2).
const (
	// Tol64 bounds |r - r_sklearn| (scores and fold scores) with all-float64 arithmetic, where
	// the chosen penalties must be identical.
	Tol64 = 1e-6
	// Tol32 bounds |r - r_sklearn| with float32 products.
	Tol32 = 2e-3
	// Agree32 is the fraction of (fold, target) penalties that must equal scikit-learn's with
	// float32 products.
	Agree32 = 0.99
)

// Case is one parity fixture: testdata/parity/<name>/ as written by testdata/gen_parity.py.
type Case struct {
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Folds       int       `json:"folds"`
	Alphas      []float64 `json:"alphas"`
	Inner       string    `json:"inner"`
	SharedAlpha bool      `json:"shared_alpha"`
	Intercept   bool      `json:"intercept"`
	Standardize bool      `json:"standardize"`
	YShape      []int     `json:"y_shape"`
	Degenerate  int       `json:"degenerate"`
	DegTargets  int       `json:"degenerate_targets"`
	TrainRank   []int     `json:"train_rank"`
	CheckRank   bool      `json:"check_rank"`
	// Agree32, when set, replaces the package's Agree32 for this case: penalties whose criteria
	// float32 products cannot tell apart (the scores must still agree to Tol32).
	Agree32 float64 `json:"agree32"`
	Sklearn string  `json:"sklearn"`

	// TestFold, when set, gives the outer folds as --test-fold does (scikit-learn's
	// PredefinedSplit), in place of KFold(Folds).
	TestFold []int `json:"test_fold"`

	Dir                        string
	X, Y                       engine.Matrix
	Scores, FoldScores, Chosen []float64
}

// FixtureDir finds testdata/parity by walking up from the working directory (the package folder
// of whichever engine runs the suite) to the module root, the folder holding go.mod.
func FixtureDir() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			p := filepath.Join(dir, "testdata", "parity")
			if _, err := os.Stat(p); err != nil {
				return "", fmt.Errorf("module root %s has no testdata/parity: %v", dir, err)
			}
			return p, nil
		}
		up := filepath.Dir(dir)
		if up == dir {
			return "", fmt.Errorf("no go.mod above the working directory")
		}
		dir = up
	}
}

// LoadCases reads every case under dir (sorted by name).
func LoadCases(dir string) ([]*Case, error) {
	names, err := caseNames(dir)
	if err != nil {
		return nil, err
	}
	var cases []*Case
	for _, name := range names {
		c, err := LoadCase(filepath.Join(dir, name))
		if err != nil {
			return nil, err
		}
		cases = append(cases, c)
	}
	if len(cases) == 0 {
		return nil, fmt.Errorf("%s: no parity cases", dir)
	}
	return cases, nil
}

// caseNames lists the case folders under dir, sorted.
func caseNames(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names, nil
}

// LoadCase reads one case directory.
func LoadCase(dir string) (*Case, error) {
	raw, err := os.ReadFile(filepath.Join(dir, "case.json"))
	if err != nil {
		return nil, err
	}
	c := &Case{Dir: dir}
	if err := json.Unmarshal(raw, c); err != nil {
		return nil, fmt.Errorf("%s/case.json: %v", dir, err)
	}
	if c.X, err = loadMatrix(filepath.Join(dir, "X.npy")); err != nil {
		return nil, err
	}
	if c.Y, err = loadMatrix(filepath.Join(dir, "Y.npy")); err != nil {
		return nil, err
	}
	m := c.Y.Cols
	for _, out := range []struct {
		name string
		dst  *[]float64
		size int
	}{{"scores.npy", &c.Scores, m}, {"fold_scores.npy", &c.FoldScores, c.Folds * m}, {"alphas.npy", &c.Chosen, c.Folds * m}} {
		a, err := loadMatrix(filepath.Join(dir, out.name))
		if err != nil {
			return nil, err
		}
		if a.Rows*a.Cols != out.size {
			return nil, fmt.Errorf("%s/%s: %d values, want %d", dir, out.name, a.Rows*a.Cols, out.size)
		}
		vals := make([]float64, 0, out.size)
		for i := 0; i < a.Rows; i++ {
			for j := 0; j < a.Cols; j++ {
				vals = append(vals, a.At(i, j))
			}
		}
		*out.dst = vals
	}
	if c.X.Rows != c.Y.Rows {
		return nil, fmt.Errorf("%s: X has %d rows, Y %d", dir, c.X.Rows, c.Y.Rows)
	}
	return c, nil
}

// loadMatrix reads a .npy file with package array as a matrix (rows x the product of the trailing
// dimensions, C-order flattening: (n, channels, times) becomes n x channels*times), copied out of
// the file's mapping.
func loadMatrix(path string) (engine.Matrix, error) {
	a, err := array.ReadNPY(path)
	if err != nil {
		return engine.Matrix{}, err
	}
	defer a.Close()
	m, err := a.Matrix()
	if err != nil {
		return engine.Matrix{}, err
	}
	if m.F32 != nil {
		m.F32 = append([]float32(nil), m.F32...)
	} else {
		m.F64 = append([]float64(nil), m.F64...)
	}
	return m, nil
}

// Options builds the engine options of the case at a precision.
func (c *Case) Options(p engine.Precision) (engine.Options, error) {
	folds, err := engine.KFold(c.X.Rows, c.Folds)
	if c.TestFold != nil {
		folds, err = engine.PredefinedSplit(c.TestFold)
	}
	if err != nil {
		return engine.Options{}, err
	}
	inner, err := engine.ParseInner(c.Inner)
	if err != nil {
		return engine.Options{}, err
	}
	return engine.Options{
		Folds:       folds,
		Alphas:      append([]float64(nil), c.Alphas...),
		Inner:       inner,
		SharedAlpha: c.SharedAlpha,
		NoIntercept: !c.Intercept,
		Standardize: c.Standardize,
		Precision:   p,
	}, nil
}

// Comparison summarises an engine result against scikit-learn's.
type Comparison struct {
	MaxScoreDiff, MaxFoldDiff float64
	WorstTarget, WorstFold    int // where MaxFoldDiff occurs
	PenaltyAgree              float64
	Mismatches                int
	FirstMismatch             string
}

// Compare measures res against the case's expected outputs.
func (c *Case) Compare(res *engine.Result) Comparison {
	m := c.Y.Cols
	var cmp Comparison
	for t, want := range c.Scores {
		if d := math.Abs(res.Scores[t] - want); d > cmp.MaxScoreDiff || math.IsNaN(d) {
			cmp.MaxScoreDiff = nanInf(d)
		}
	}
	for k, want := range c.FoldScores {
		if d := math.Abs(res.FoldScores[k] - want); d > cmp.MaxFoldDiff || math.IsNaN(d) {
			cmp.MaxFoldDiff = nanInf(d)
			cmp.WorstFold, cmp.WorstTarget = k/m, k%m
		}
	}
	for k, want := range c.Chosen {
		if res.Alphas[k] != want {
			if cmp.Mismatches == 0 {
				cmp.FirstMismatch = fmt.Sprintf("fold %d target %d: got %g, sklearn %g", k/m, k%m, res.Alphas[k], want)
			}
			cmp.Mismatches++
		}
	}
	cmp.PenaltyAgree = 1 - float64(cmp.Mismatches)/float64(len(c.Chosen))
	return cmp
}

func nanInf(d float64) float64 {
	if math.IsNaN(d) {
		return math.Inf(1)
	}
	return d
}

// RunParity runs every fixture case under dir at float64 (tolerance Tol64, identical penalties)
// and float32 (Tol32, Agree32) precision.
func RunParity(t *testing.T, dir string, newEngine func(t *testing.T) engine.Engine) {
	eachCase(t, dir, func(t *testing.T, c *Case, p engine.Precision) { runCase(t, c, p, newEngine) })
}

// eachCase runs run on every fixture case under dir, at float64 then float32 precision, each
// as a subtest case/precision, and returns the cases.
func eachCase(t *testing.T, dir string, run func(t *testing.T, c *Case, p engine.Precision)) []*Case {
	cases, err := LoadCases(dir)
	if err != nil {
		t.Fatalf("parity fixtures: %v", err)
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			for _, p := range []engine.Precision{engine.Float64, engine.Float32} {
				t.Run(p.String(), func(t *testing.T) { run(t, c, p) })
			}
		})
	}
	return cases
}

func runCase(t *testing.T, c *Case, p engine.Precision, newEngine func(t *testing.T) engine.Engine) {
	opts, err := c.Options(p)
	if err != nil {
		t.Fatalf("%s: options: %v", c.Name, err)
	}
	e := newEngine(t)
	defer e.Close()
	res, err := engine.Score(context.Background(), e, c.X, c.Y, opts)
	if errors.Is(err, engine.ErrUnsupported) {
		t.Skipf("%s: this engine does not implement it: %v", c.Name, err)
	}
	if err != nil {
		t.Fatalf("%s (%s): %v", c.Name, c.Description, err)
	}
	m := c.Y.Cols
	if !checkShape(t, res, m, c.Folds) {
		return
	}
	if res.Precision != p {
		t.Errorf("Result.Precision = %v, asked for %v", res.Precision, p)
	}
	cmp := c.Compare(res)
	t.Logf("%s [%s]: max |r diff| scores %.3g, fold scores %.3g (fold %d target %d); penalties %.2f%% identical (%d of %d differ)",
		c.Name, c.Inner, cmp.MaxScoreDiff, cmp.MaxFoldDiff, cmp.WorstFold, cmp.WorstTarget,
		100*cmp.PenaltyAgree, cmp.Mismatches, len(c.Chosen))
	tol, agree := Tol64, 1.0
	if p != engine.Float64 {
		tol, agree = Tol32, Agree32
		if c.Agree32 > 0 {
			agree = c.Agree32
		}
	}
	if cmp.MaxScoreDiff > tol {
		t.Errorf("%s: max |score - sklearn| = %.3g > %g", c.Name, cmp.MaxScoreDiff, tol)
	}
	if cmp.MaxFoldDiff > tol {
		w := cmp.WorstFold*m + cmp.WorstTarget
		t.Errorf("%s: max |fold score - sklearn| = %.3g > %g at fold %d target %d (got %.9g, sklearn %.9g; penalty %g, sklearn %g)",
			c.Name, cmp.MaxFoldDiff, tol, cmp.WorstFold, cmp.WorstTarget, res.FoldScores[w], c.FoldScores[w], res.Alphas[w], c.Chosen[w])
	}
	if cmp.PenaltyAgree < agree {
		t.Errorf("%s: %d of %d chosen penalties differ from sklearn's (%.2f%% identical, want >= %.0f%%); first: %s",
			c.Name, cmp.Mismatches, len(c.Chosen), 100*cmp.PenaltyAgree, 100*agree, cmp.FirstMismatch)
	}
	if res.Degenerate != c.Degenerate || res.DegenerateTargets != c.DegTargets {
		t.Errorf("%s: degenerate (fold, target) pairs %d over %d targets, sklearn reference %d over %d",
			c.Name, res.Degenerate, res.DegenerateTargets, c.Degenerate, c.DegTargets)
	}
	if c.CheckRank && p == engine.Float64 {
		for f, r := range c.TrainRank {
			if res.Rank[f] != r {
				t.Errorf("%s: fold %d: Result.Rank %d (dropped %d), numpy matrix_rank of the training design %d",
					c.Name, f, res.Rank[f], res.Dropped[f], r)
			}
		}
	}
}

// checkShape checks the result's dimensions; false if they are unusable.
func checkShape(t *testing.T, res *engine.Result, m, k int) bool {
	t.Helper()
	if res == nil {
		t.Errorf("nil result without an error")
		return false
	}
	ok := res.Targets == m && res.Folds == k && len(res.Scores) == m && len(res.FoldScores) == k*m &&
		len(res.Alphas) == k*m && len(res.Rank) == k && len(res.Dropped) == k
	if !ok {
		t.Errorf("result shape: Targets %d Folds %d, %d scores, %d fold scores, %d alphas, %d ranks, %d dropped; want m=%d k=%d",
			res.Targets, res.Folds, len(res.Scores), len(res.FoldScores), len(res.Alphas), len(res.Rank), len(res.Dropped), m, k)
	}
	if res.Engine == "" {
		t.Errorf("Result.Engine is empty")
	}
	return ok
}
