package fallback

import (
	"context"
	"fmt"
	"time"
	"unsafe"

	"github.com/brainalign/brainalign/engine"
)

var _ engine.Predictor = (*Engine)(nil)

// prediction is what Predict fills batch by batch: values (new rows x m) and penalties (m).
type prediction struct {
	f32    []float32
	f64    []float64
	alphas []float64
}

// Predict implements engine.Predictor. It runs the scoring pipeline on one fold whose training
// rows are all of x and whose test rows are xNew's: the same decomposition, the same penalty
// selection (opts.Inner on all rows), then predictions brought back to the brain data's units
// (the scoring path scales them freely: a Pearson r ignores scale) with the training means
// added.
func (*Engine) Predict(ctx context.Context, x, y, xNew engine.Matrix, opts engine.Options) (*engine.Prediction, error) {
	start := time.Now()
	if err := engine.CheckPredict(x, y, xNew, opts); err != nil {
		return nil, err
	}
	if opts.Precision == engine.TF32 {
		return nil, fmt.Errorf("precision tf32: %w on the cpu engine (it runs on GPU tensor cores; use float32 or float64)", engine.ErrUnsupported)
	}
	opts.Folds = []engine.Fold{engine.FitAll(y.Rows, xNew.Rows)}
	s := &session{y: y, opts: opts}
	var (
		p   *engine.Prediction
		err error
	)
	if opts.Precision == engine.Float64 {
		p, err = predict[float64](ctx, s, x, xNew)
	} else {
		p, err = predict[float32](ctx, s, x, xNew)
	}
	if err != nil {
		return nil, err
	}
	p.Engine = "cpu (" + blasName + ")"
	p.Precision = opts.Precision
	p.Timings.Total = time.Since(start)
	return p, nil
}

func predict[T float](ctx context.Context, s *session, x, xNew engine.Matrix) (*engine.Prediction, error) {
	m, nNew := s.y.Cols, xNew.Rows
	res := engine.NewResult(m, 1)
	r := &runner[T]{ctx: ctx, s: s, x: x, xNew: xNew, res: res, degn: make([]bool, m), tm: &res.Timings,
		bufT: map[string][]T{}, buf64: map[string][]float64{}}
	if err := r.checkDecompositionFits(); err != nil {
		return nil, err
	}
	var zero T
	out := int64(nNew) * int64(m) * int64(unsafe.Sizeof(zero))
	if limit, which := r.memoryLimit(); out > limit/2 {
		return nil, fmt.Errorf("%w: the predictions (%d new stimuli x %d targets) take %s, more than half the %s, %s (predict fewer stimuli or targets at once)",
			engine.ErrOutOfMemory, nNew, m, engine.FormatBytes(out), which, engine.FormatBytes(limit))
	}
	r.preBytes = out // held to the end beside every batch
	r.pred = &prediction{alphas: make([]float64, m)}
	values := engine.Matrix{Rows: nNew, Cols: m}
	if _, is32 := any(zero).(float32); is32 {
		r.pred.f32 = make([]float32, nNew*m)
		values.F32 = r.pred.f32
	} else {
		r.pred.f64 = make([]float64, nNew*m)
		values.F64 = r.pred.f64
	}
	if err := r.fold(0); err != nil {
		return nil, err
	}
	return &engine.Prediction{
		Rows: nNew, Targets: m, Values: values, Alphas: r.pred.alphas,
		Rank: res.Rank[0], Dropped: res.Dropped[0], Batches: res.Batches, Flops: res.Flops, Timings: res.Timings,
	}, nil
}

// finish ends a batch once its penalties are chosen (idx into the grid): scored on the held-out
// fold, or, in Predict, predicted for the new stimuli.
func (r *runner[T]) finish(f int, sp *split[T], b *batch[T], idx []int) {
	if r.pred != nil {
		r.refitAndPredict(sp, b, idx)
		return
	}
	r.refitAndScore(f, sp, b, idx)
}

// refitAndPredict predicts the new stimuli at each target's chosen penalty, in the brain data's
// units: prediction = mean + P diag(g(a)) Z, computed as refitAndScore's product with P and each
// penalty's g brought to unit size (so float32 neither underflows nor overflows), then divided
// by those two factors (powers of two: exact) in float64.
func (r *runner[T]) refitAndPredict(sp *split[T], b *batch[T], idx []int) {
	t0 := time.Now()
	opts := r.s.opts
	d, mb, m := sp.dec, b.mb, r.s.y.Cols
	A := len(opts.Alphas)
	g := make([]float64, A*d.r)
	undo := make([]float64, A) // 1 / (each penalty's scale of g times P's scale)
	for a, alpha := range opts.Alphas {
		ga := g[a*d.r : (a+1)*d.r]
		d.coefScale(alpha, ga)
		undo[a] = 1 / (engine.ScaleToUnit(ga) * sp.pscale)
	}
	gz := r.bufferT("gz", d.r*mb)
	parallelFor(d.r, func(_, j0, j1 int) {
		for j := j0; j < j1; j++ {
			row, zr := gz[j*mb:(j+1)*mb], b.z[j*mb:(j+1)*mb]
			for t, a := range idx {
				row[t] = T(g[a*d.r+j] * float64(zr[t]))
			}
		}
	})
	pred := r.bufferT("pred", d.nte*mb)
	mul(d.nte, mb, d.r, sp.p, gz, 0, pred)
	r.res.Flops += 2 * float64(d.nte) * float64(d.r) * float64(mb)
	parallelFor(d.nte, func(_, i0, i1 int) {
		for i := i0; i < i1; i++ {
			row := pred[i*mb : (i+1)*mb]
			for t, a := range idx {
				v := float64(row[t])*undo[a] + b.mu[t]
				if r.pred.f32 != nil {
					r.pred.f32[i*m+b.c0+t] = float32(v)
				} else {
					r.pred.f64[i*m+b.c0+t] = v
				}
			}
		}
	})
	for t, a := range idx {
		r.pred.alphas[b.c0+t] = opts.Alphas[a]
	}
	r.since(t0, &r.tm.Refit)
}
