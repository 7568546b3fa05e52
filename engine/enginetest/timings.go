package enginetest

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/brainalign/brainalign/engine"
)

// RunStageTimings checks that a Score's stages are parts of its Total, as `brainalign bench`
// prints them (each stage's share of Total, the TFLOP/s over Total): with the brain data
// resident (no overlapped host gathers) the stages never sum to more than Total, in the first
// Score of a session too, whose brain data Open prepared before Score began. The brain data are
// large beside the work per target (n x m against 4 features), so that Open's preparation of
// them is far longer than the moments of a Score outside every stage.
func RunStageTimings(t *testing.T, newEngine func(t *testing.T) engine.Engine) {
	const n, d, m = 10000, 4, 2000
	rng := rand.New(rand.NewPCG(21, 22))
	x := make([]float32, n*d)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	y := make([]float32, n*m)
	for i := range y {
		y[i] = float32(rng.NormFloat64()) + 10
	}
	opts := defaults(t, n, engine.Float32)
	opts.Alphas = []float64{1, 1e4} // the time is in the brain data
	opts.MaxBatch = 100             // and the batches small: allocating them is quick
	s, err := newEngine(t).Open(engine.NewMatrix32(n, m, y), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for l := 0; l < 2; l++ {
		res, err := s.Score(context.Background(), engine.NewMatrix32(n, d, x))
		if err != nil {
			t.Fatal(err)
		}
		tm := res.Timings
		stages := []time.Duration{tm.Transfer, tm.Decompose, tm.Products, tm.Select, tm.Refit, tm.Score}
		var sum time.Duration
		for _, v := range stages {
			if v < 0 {
				t.Errorf("score %d: a negative stage: %+v", l+1, tm)
			}
			sum += v
		}
		if sum > tm.Total {
			t.Errorf("score %d: the stages sum to %s, more than the Total of %s (transfer %s, decompose %s, products %s, select %s, refit %s, score %s)",
				l+1, sum, tm.Total, tm.Transfer, tm.Decompose, tm.Products, tm.Select, tm.Refit, tm.Score)
		}
	}
}
