package enginetest

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/brainalign/brainalign/engine"
)

// RunFeatureBlocks runs the scikit-learn fixtures (parity and prediction) with the engine's
// feature block (how many features its dual decomposition prepares at a time) set to 7 and to 64
// by setBlock, which returns the function that restores it: the Gram matrix, the test rows'
// kernel and the model's V summed over many blocks, ragged last ones included, must give the
// fixtures' numbers (n < d cases, standardised, gcv, kfold, near-exact fits, weights).
func RunFeatureBlocks(t *testing.T, setBlock func(int) (restore func()), newEngine func(t *testing.T) engine.Engine) {
	dir, err := FixtureDir()
	if err != nil {
		t.Fatal(err)
	}
	for _, block := range []int{7, 64} {
		t.Run(fmt.Sprintf("block%d", block), func(t *testing.T) {
			defer setBlock(block)()
			RunParity(t, dir, newEngine)
			RunPredict(t, filepath.Join(filepath.Dir(dir), "predict"), newEngine)
		})
	}
}

// RunWideFeatures scores activations of d features for n images (flattened feature maps: far
// more features than images) under the memory limit limit, below what their prepared rows would
// take whole, and compares them with their kernel's equivalent: X = Z R with R's k rows
// orthonormal has the Gram matrix of Z (n x k), so ridge on X predicts as ridge on Z, scored
// without a limit. Scores within 1e-9 and identical penalties (float64).
func RunWideFeatures(t *testing.T, n, k, d int, limit int64, newEngine func(t *testing.T) engine.Engine) {
	const m = 5
	rng := rand.New(rand.NewPCG(11, 12))
	z := make([]float64, n*k)
	for i := range z {
		z[i] = rng.NormFloat64()
	}
	// R (k x d): orthonormal rows, from a Gram-Schmidt of random ones
	r := make([]float64, k*d)
	for i := 0; i < k; i++ {
		row := r[i*d : (i+1)*d]
		for j := range row {
			row[j] = rng.NormFloat64()
		}
		for p := 0; p < i; p++ {
			prev, dot := r[p*d:(p+1)*d], 0.0
			for j := range row {
				dot += row[j] * prev[j]
			}
			for j := range row {
				row[j] -= dot * prev[j]
			}
		}
		norm := 0.0
		for _, v := range row {
			norm += v * v
		}
		for j := range row {
			row[j] /= math.Sqrt(norm)
		}
	}
	x := make([]float64, n*d)
	for i := 0; i < n; i++ {
		for p := 0; p < k; p++ {
			zv, rp := z[i*k+p], r[p*d:(p+1)*d]
			for j, v := range rp {
				x[i*d+j] += zv * v
			}
		}
	}
	y := make([]float64, n*m)
	for i := 0; i < n; i++ {
		for j := 0; j < m; j++ {
			y[i*m+j] = z[i*k+j] + z[i*k+j+1] + 0.5*rng.NormFloat64()
		}
	}
	folds, err := engine.KFold(n, 5)
	if err != nil {
		t.Fatal(err)
	}
	opts := engine.Options{Folds: folds, Alphas: engine.DefaultAlphas(), Precision: engine.Float64, MemoryLimit: limit}
	ntr, nte := len(folds[0].Train), len(folds[0].Test)
	if whole := int64(8 * (2*ntr + nte) * d); whole < limit {
		t.Fatalf("the prepared rows whole (%s) fit the limit %s: the test tests nothing", engine.FormatBytes(whole), engine.FormatBytes(limit))
	}
	score := func(x engine.Matrix, opts engine.Options) *engine.Result {
		e := newEngine(t)
		defer e.Close()
		res, err := engine.Score(context.Background(), e, x, engine.NewMatrix64(n, m, y), opts)
		if err != nil {
			t.Fatalf("%d features: %v", x.Cols, err)
		}
		return res
	}
	wide := score(engine.NewMatrix64(n, d, x), opts)
	opts.MemoryLimit = 0
	narrow := score(engine.NewMatrix64(n, k, z), opts)
	for j := range narrow.Scores {
		if math.Abs(wide.Scores[j]-narrow.Scores[j]) > 1e-9 || wide.Scores[j] < 0.5 {
			t.Errorf("target %d: %d features score %.12f, their kernel's %d features %.12f", j, d, wide.Scores[j], k, narrow.Scores[j])
		}
	}
	for f := range folds {
		for j := 0; j < m; j++ {
			if a, b := wide.Alphas[f*m+j], narrow.Alphas[f*m+j]; a != b {
				t.Errorf("fold %d target %d: penalty %g, the kernel's %g", f, j, a, b)
			}
		}
	}
}
