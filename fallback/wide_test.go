package fallback

import (
	"context"
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/brainalign/brainalign/engine"
	"github.com/brainalign/brainalign/engine/enginetest"
)

// TestFeatureBlocks: with fewer training rows than features, the Gram matrix, the test rows'
// kernel and the model's V are summed a block of features at a time. With blocks of 7 and 64
// features (ragged last blocks, many blocks) every scikit-learn fixture still passes: the
// dual-decomposition cases (n < d, standardised, gcv, kfold, near-exact fits) and the
// prediction cases' weights.
func TestFeatureBlocks(t *testing.T) {
	dir, err := enginetest.FixtureDir()
	if err != nil {
		t.Fatal(err)
	}
	for _, block := range []int{7, 64} {
		t.Run("", func(t *testing.T) {
			defer func(b int) { featureBlock = b }(featureBlock)
			featureBlock = block
			newEngine := func(t *testing.T) engine.Engine { return New() }
			enginetest.RunParity(t, dir, newEngine)
			enginetest.RunPredict(t, filepath.Join(filepath.Dir(dir), "predict"), newEngine)
		})
	}
}

// TestWideFeatures: activations of 60,000 features for 60 images (flattened feature maps) are
// scored under a memory limit below what their prepared rows would take whole (60 x 60,000
// float64, twice: 58 MB), with the scores of their kernel's equivalent: X = Z R, R's rows
// orthonormal, has the Gram matrix of Z (60 x 12), so ridge on X predicts as ridge on Z.
func TestWideFeatures(t *testing.T) {
	const n, k, d, m = 60, 12, 60000, 5
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
	mul(n, d, k, z, r, 0, x)
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
	opts := engine.Options{Folds: folds, Alphas: engine.DefaultAlphas(), Precision: engine.Float64, MemoryLimit: 40 << 20}
	if whole := int64(8 * (2*48 + 12) * d); whole < opts.MemoryLimit {
		t.Fatalf("the prepared rows whole (%s) fit the limit: the test tests nothing", engine.FormatBytes(whole))
	}
	wide, err := engine.Score(context.Background(), New(), engine.NewMatrix64(n, d, x), engine.NewMatrix64(n, m, y), opts)
	if err != nil {
		t.Fatal(err)
	}
	opts.MemoryLimit = 0
	narrow, err := engine.Score(context.Background(), New(), engine.NewMatrix64(n, k, z), engine.NewMatrix64(n, m, y), opts)
	if err != nil {
		t.Fatal(err)
	}
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
