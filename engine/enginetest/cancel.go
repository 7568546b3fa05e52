package enginetest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"testing"

	"github.com/brainalign/brainalign/engine"
)

// BlockHooks reach into an engine's dual decomposition (no more training rows than features),
// which works a block of features at a time.
type BlockHooks struct {
	// SetBlock sets how many features a block holds, returning the function that restores it.
	SetBlock func(int) (restore func())
	// SetOnBlock installs fn, called as each block of features of a dual decomposition begins
	// (the Gram matrix's, then Predict's model's V), with a value that tells that decomposition
	// from the others and the block's first feature; it returns the function that restores the
	// hook before.
	SetOnBlock func(fn func(decomposition any, c0 int)) (restore func())
	// DeviceBytes, if set, is the device memory the engine holds.
	DeviceBytes func(t *testing.T, e engine.Engine) int64
}

// blockCanceller cancels its context as the at-th block begins and counts, per decomposition,
// the blocks begun after that.
type blockCanceller struct {
	mu     sync.Mutex
	at     int
	cancel context.CancelFunc
	calls  int
	after  map[any]int // per decomposition, blocks begun after the cancellation
}

func (b *blockCanceller) block(decomposition any, _ int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.calls++
	switch {
	case b.calls == b.at:
		b.cancel() // the user presses Ctrl-C (or Slurm sends SIGTERM) as this block begins
	case b.calls > b.at:
		b.after[decomposition]++
	}
}

// check fails t unless the cancellation happened and every decomposition stopped at its next
// look at the context: one block may begin after the cancellation in a decomposition running
// beside the one that cancelled (it looked at the context just before), none in any other.
func (b *blockCanceller) check(t *testing.T, err error) {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.calls < b.at {
		t.Fatalf("only %d blocks of features began, none cancelled (error %v)", b.calls, err)
	}
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled as block %d began: error %v, want context.Canceled", b.at, err)
	}
	for _, n := range b.after {
		if n > 1 {
			t.Fatalf("cancelled as block %d began: a decomposition began %d more blocks after the cancellation", b.at, n)
		}
	}
}

// RunCancelDuringBlocks cancels a Score, and a Predict with the model's weights, as the at-th
// block of features of their dual decompositions begins (outer folds' Gram matrices, an inner
// k-fold split's, standardised features, the model's V), as the CPU engine looks at the context
// between blocks: the call returns context.Canceled, no decomposition goes on past its next block
// (blockCanceller.check), the engine holds the device memory it held before the call
// (hooks.DeviceBytes), and the session's next Score (the engine's next Predict) gives the numbers
// of a run never cancelled.
func RunCancelDuringBlocks(t *testing.T, hooks BlockHooks, newEngine func(t *testing.T) engine.Engine) {
	defer hooks.SetBlock(5)()
	// 40 images of 57 features: every training split (32 rows, 21 in an inner one) is dual, of
	// 12 blocks; 5 new stimuli for Predict
	const n, nNew, d, m = 40, 5, 57, 16
	pr := randomProblem(13, n+nNew, d, m)
	x := engine.NewMatrix64(n, d, pr.x[:n*d])
	xNew := engine.NewMatrix64(nNew, d, pr.x[n*d:])
	y := engine.NewMatrix64(n, m, pr.y[:n*m])
	cancelAt := func(at int) (context.Context, *blockCanceller, func()) {
		ctx, cancel := context.WithCancel(context.Background())
		b := &blockCanceller{at: at, cancel: cancel, after: map[any]int{}}
		restore := hooks.SetOnBlock(b.block)
		return ctx, b, func() { restore(); cancel() }
	}
	held := func(t *testing.T, e engine.Engine) int64 {
		if hooks.DeviceBytes == nil {
			return 0
		}
		return hooks.DeviceBytes(t, e)
	}

	for _, tc := range []struct {
		name  string
		inner engine.Inner
		std   bool
		at    []int
	}{
		// the first fold's first block, its seventh, a later fold's
		{"loo", engine.Inner{Mode: engine.LOO}, false, []int{1, 7, 30}},
		// in the first fold's first inner split (after the outer fold's 12 blocks), its third
		{"kfold", engine.Inner{Mode: engine.KFoldInner, K: 3}, false, []int{15, 40}},
		{"standardized", engine.Inner{Mode: engine.LOO}, true, []int{20}},
	} {
		opts := defaults(t, n, engine.Float64)
		opts.Inner, opts.Standardize = tc.inner, tc.std
		want := score(t, newEngine, x, y, opts)
		for _, at := range tc.at {
			t.Run(fmt.Sprintf("score/%s/at%d", tc.name, at), func(t *testing.T) {
				e := newEngine(t)
				defer e.Close()
				s, err := e.Open(y, opts)
				if err != nil {
					t.Fatal(err)
				}
				defer s.Close()
				before := held(t, e)
				ctx, b, restore := cancelAt(at)
				_, err = s.Score(ctx, x)
				restore()
				b.check(t, err)
				if now := held(t, e); now != before {
					t.Errorf("%d bytes on the device after the cancelled Score, %d before", now, before)
				}
				got, err := s.Score(context.Background(), x)
				if err != nil {
					t.Fatalf("the session's Score after the cancelled one: %v", err)
				}
				expectSame(t, "the session's Score after the cancelled one", got, want, 1e-9)
			})
		}
	}

	opts := engine.Options{Alphas: engine.DefaultAlphas(), Precision: engine.Float64, Weights: true}
	want := func() *engine.Prediction {
		e := newEngine(t)
		defer e.Close()
		p, ok := e.(engine.Predictor)
		if !ok {
			return nil
		}
		res, err := p.Predict(context.Background(), x, y, xNew, opts)
		if err != nil {
			t.Fatalf("Predict: %v", err)
		}
		return res
	}()
	if want == nil {
		return // the engine does not implement engine.Predictor
	}
	// the Gram matrix's third block, the model's V's fourth (after the Gram matrix's 12)
	for _, at := range []int{3, 16} {
		t.Run(fmt.Sprintf("predict/at%d", at), func(t *testing.T) {
			e := newEngine(t)
			defer e.Close()
			p := e.(engine.Predictor)
			before := held(t, e)
			ctx, b, restore := cancelAt(at)
			_, err := p.Predict(ctx, x, y, xNew, opts)
			restore()
			b.check(t, err)
			if now := held(t, e); now != before {
				t.Errorf("%d bytes on the device after the cancelled Predict, %d before", now, before)
			}
			got, err := p.Predict(context.Background(), x, y, xNew, opts)
			if err != nil {
				t.Fatalf("Predict after the cancelled one: %v", err)
			}
			for j, a := range want.Alphas {
				if got.Alphas[j] != a {
					t.Errorf("Predict after the cancelled one: target %d's penalty %g, %g uncancelled", j, got.Alphas[j], a)
				}
			}
			for _, c := range []struct {
				what      string
				got, want engine.Matrix
			}{{"predictions", got.Values, want.Values}, {"weights", got.Weights, want.Weights}} {
				g, w := rowMajor(c.got), rowMajor(c.want)
				most, worst := 0.0, 0.0
				for k := range w {
					most, worst = math.Max(most, math.Abs(w[k])), math.Max(worst, math.Abs(g[k]-w[k]))
				}
				if worst > 1e-9*most {
					t.Errorf("Predict after the cancelled one: %s off by %.3g (largest %.3g)", c.what, worst, most)
				}
			}
		})
	}
}
