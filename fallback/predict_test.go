package fallback

import (
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/brainalign/brainalign/engine"
)

// predictScaled fits n rows of d Gaussian features times xs to m targets (a linear signal plus
// noise) times ys, and predicts nNew rows of the same features times newScale, in float32.
func predictScaled(t *testing.T, xs, ys, newScale float64, weights bool) (*engine.Prediction, error) {
	t.Helper()
	const n, d, m, nNew = 50, 10, 4, 5
	rng := rand.New(rand.NewPCG(3, 4))
	x := make([]float64, (n+nNew)*d)
	for i := range x {
		x[i] = rng.NormFloat64()
	}
	y := make([]float64, n*m)
	for i := 0; i < n; i++ {
		for j := 0; j < m; j++ {
			y[i*m+j] = (x[i*d+j] + 0.5*rng.NormFloat64()) * ys
		}
	}
	for i := range x {
		x[i] *= xs
	}
	for i := n * d; i < len(x); i++ {
		x[i] *= newScale
	}
	opts := engine.Options{Alphas: engine.DefaultAlphas(), Weights: weights}
	return New().Predict(context.Background(), engine.NewMatrix64(n, d, x[:n*d]), engine.NewMatrix64(n, m, y),
		engine.NewMatrix64(nNew, d, x[n*d:]), opts)
}

// TestPredictFloat32Range: float32 outputs that would leave float32's range are errors that
// name the way out (float64), never Inf or zeros: weights of huge features and tiny brain data
// (1e-50: zero in float32, so that X_new W + b no longer gave the predictions), predictions of
// new stimuli far larger than those fitted on; in range, neither is refused.
func TestPredictFloat32Range(t *testing.T) {
	if _, err := predictScaled(t, 1, 1, 1, true); err != nil {
		t.Fatalf("unit scales: %v", err)
	}
	for _, tc := range []struct {
		name             string
		xs, ys, newScale float64
		weights          bool
		want             string
	}{
		{"weights underflow", 1e28, 1e-22, 1, true, "below float32's range"},
		{"predictions overflow", 1, 1e2, 1e37, false, "beyond float32's range"},
	} {
		_, err := predictScaled(t, tc.xs, tc.ys, tc.newScale, tc.weights)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "--precision float64") {
			t.Errorf("%s: %v, want an error containing %q and the way out", tc.name, err, tc.want)
		}
	}
	// the weights alone are fine at those scales without --save-weights
	if _, err := predictScaled(t, 1e28, 1e-22, 1, false); err != nil {
		t.Errorf("huge features, tiny brain data, no weights asked: %v", err)
	}
}

// TestKeptPredictionsCounted: the held-out predictions kept (n x m float64) are held while every
// fold is decomposed: a memory limit just above the decompositions' floor, with no room for
// them, is refused before any work, naming them.
func TestKeptPredictionsCounted(t *testing.T) {
	const n, d, m = 400, 300, 1200
	rng := rand.New(rand.NewPCG(5, 6))
	x, y := make([]float32, n*d), make([]float32, n*m)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	for i := range y {
		y[i] = float32(rng.NormFloat64())
	}
	opts, err := engine.Defaults(n)
	if err != nil {
		t.Fatal(err)
	}
	opts.MemoryLimit = DecompositionFloor(opts, d) + 1<<20 // the predictions take 3.7 MiB
	xm, ym := engine.NewMatrix32(n, d, x), engine.NewMatrix32(n, m, y)
	if _, err := engine.Score(context.Background(), New(), xm, ym, opts); err != nil {
		t.Fatalf("without kept predictions: %v", err)
	}
	opts.KeepPredictions = true
	_, err = engine.Score(context.Background(), New(), xm, ym, opts)
	if !errors.Is(err, engine.ErrOutOfMemory) || !strings.Contains(err.Error(), "held-out predictions kept") {
		t.Errorf("kept predictions beyond the limit: %v", err)
	}
}
