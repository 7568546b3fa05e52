package ceiling

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/brainalign/brainalign/engine"
)

// BenchmarkEstimate: NSD-like trials (stimuli shown 3 times, float32) over many targets; the
// time per run grows with trials x targets (and x splits for split-half). -short shrinks it.
func BenchmarkEstimate(b *testing.B) {
	stimuli, targets := 3000, 20000
	if testing.Short() {
		stimuli, targets = 100, 500
	}
	rng := rand.New(rand.NewPCG(1, 2))
	trials := 3 * stimuli
	data := make([]float32, trials*targets)
	for i := range data {
		data[i] = float32(rng.NormFloat64())
	}
	ids := make([]string, trials)
	for t := range ids {
		ids[t] = fmt.Sprint(rng.IntN(stimuli))
	}
	y := engine.NewMatrix32(trials, targets, data)
	for _, o := range []Options{{Method: NCSNR, Average: true}, {Method: SplitHalf, Splits: DefaultSplits}} {
		b.Run(fmt.Sprintf("%s/%dx%d", o.Method, trials, targets), func(b *testing.B) {
			b.SetBytes(int64(4 * len(data)))
			for b.Loop() {
				if _, err := Estimate(context.Background(), y, ids, o); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
