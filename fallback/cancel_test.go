package fallback

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/brainalign/brainalign/engine"
)

// TestCancelDuringDecomposition: cancelling while a fold's eigendecomposition runs stops the
// decomposition itself (the pure-Go solver looks at the context between blocks), not just the
// work after it; at d = 4096 one decomposition takes ~8 s on two cores.
func TestCancelDuringDecomposition(t *testing.T) {
	if !eigenStops {
		t.Skip("this build's eigensolver (LAPACKE) cannot be interrupted")
	}
	n, d, m := 60, 300, 4 // dual: 48 x 48 Gram matrices; the cancelling wrapper makes it irrelevant
	rng := rand.New(rand.NewPCG(1, 9))
	xs, ys := make([]float64, n*d), make([]float64, n*m)
	for i := range xs {
		xs[i] = rng.NormFloat64()
	}
	for i := range ys {
		ys[i] = rng.NormFloat64()
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	var (
		mu    sync.Mutex
		calls int
		errs  []error
	)
	real := symEigen
	defer func() { symEigen = real }()
	symEigen = func(c context.Context, n int, a, w []float64) error {
		cancel() // the user presses Ctrl-C as the decomposition starts
		err := real(c, n, a, w)
		mu.Lock()
		calls++
		errs = append(errs, err)
		mu.Unlock()
		return err
	}
	opts, err := engine.Defaults(n)
	if err != nil {
		t.Fatal(err)
	}
	_, err = engine.Score(ctx, New(), engine.NewMatrix64(n, d, xs), engine.NewMatrix64(n, m, ys), opts)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Score: %v, want context.Canceled", err)
	}
	if calls == 0 {
		t.Fatal("no decomposition started")
	}
	for _, e := range errs {
		if !errors.Is(e, context.Canceled) {
			t.Fatalf("a decomposition started after the cancellation ran to the end (error %v)", e)
		}
	}
}

// TestCancelDuringRightVectors: with fewer rows than features, Predict's model forms V a block
// of features at a time after the eigendecomposition, as long again as the Gram matrix's blocks
// for wide activations; cancelling once the eigendecomposition is done stops it there.
func TestCancelDuringRightVectors(t *testing.T) {
	defer func(b int) { featureBlock = b }(featureBlock)
	featureBlock = 16
	n, d := 30, 200
	rng := rand.New(rand.NewPCG(3, 4))
	xs := make([]float64, n*d)
	for i := range xs {
		xs[i] = rng.NormFloat64()
	}
	x := engine.NewMatrix64(n, d, xs)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	real := symEigen
	defer func() { symEigen = real }()
	symEigen = func(_ context.Context, n int, a, w []float64) error {
		err := real(context.Background(), n, a, w)
		cancel() // the user presses Ctrl-C as the eigendecomposition ends
		return err
	}
	all := make([]int, n)
	for i := range all {
		all[i] = i
	}
	_, err := decomposeFrom(ctx, x, all, x, all[:5], rowPrep{intercept: true, standardize: true}, true)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("decomposeFrom: %v, want context.Canceled", err)
	}
}
