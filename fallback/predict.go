package fallback

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"
	"unsafe"

	"github.com/brainalign/brainalign/engine"
)

var _ engine.Predictor = (*Engine)(nil)

// prediction is what Predict fills batch by batch: values (new rows x m), penalties (m) and,
// with weights, the model (d x m weights in w32 or w64, m intercepts).
type prediction struct {
	f32     []float32
	f64     []float64
	alphas  []float64
	weights bool
	w32     []float32
	w64     []float64
	icpt    []float64
	err     error // a batch's weights beyond the output precision's range
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
	var zero T
	es, d := int64(unsafe.Sizeof(zero)), int64(x.Cols)
	out := int64(nNew) * int64(m) * es
	weights := s.opts.Weights
	if weights {
		// the weights, and V (d x r) in float64 and in T
		out += d*int64(m)*es + d*min(d, int64(s.y.Rows))*(8+es)
	}
	what, hint := engine.PredictionKept(nNew, x.Cols, m, weights)
	if err := r.checkFits(out, what, hint); err != nil {
		return nil, err
	}
	r.preBytes = out // held to the end beside every batch
	r.pred = &prediction{alphas: make([]float64, m), weights: weights}
	values := engine.Matrix{Rows: nNew, Cols: m}
	var model engine.Matrix
	_, is32 := any(zero).(float32)
	if is32 {
		r.pred.f32 = make([]float32, nNew*m)
		values.F32 = r.pred.f32
	} else {
		r.pred.f64 = make([]float64, nNew*m)
		values.F64 = r.pred.f64
	}
	if weights {
		model = engine.Matrix{Rows: x.Cols, Cols: m}
		r.pred.icpt = make([]float64, m)
		if is32 {
			r.pred.w32 = make([]float32, x.Cols*m)
			model.F32 = r.pred.w32
		} else {
			r.pred.w64 = make([]float64, x.Cols*m)
			model.F64 = r.pred.w64
		}
	}
	if err := r.fold(0); err != nil {
		return nil, err
	}
	if r.pred.err != nil {
		return nil, r.pred.err
	}
	return &engine.Prediction{
		Rows: nNew, Targets: m, Values: values, Alphas: r.pred.alphas, Weights: model, Intercepts: r.pred.icpt,
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
	gz, undo := r.scaledGZ(sp, b, idx)
	if r.pred.weights {
		r.weights(sp, b, idx, gz, undo)
	}
	if d.nte == 0 { // the model alone
		for t, a := range idx {
			r.pred.alphas[b.c0+t] = opts.Alphas[a]
		}
		r.since(t0, &r.tm.Refit)
		return
	}
	pred := r.bufferT("pred", d.nte*mb)
	mul(d.nte, mb, d.r, sp.p, gz, 0, pred)
	r.res.Flops += 2 * float64(d.nte) * float64(d.r) * float64(mb)
	if err := storeUnscaled(pred, d.nte, b.c0, heldOutBase(sp, b, gz, idx, undo), idx, undo, r.pred.f32, r.pred.f64, m, nil); err != nil && r.pred.err == nil {
		r.pred.err = fmt.Errorf("%w (new features far larger than those fitted on): use --precision float64", err)
	}
	for t, a := range idx {
		r.pred.alphas[b.c0+t] = opts.Alphas[a]
	}
	r.since(t0, &r.tm.Refit)
}

// weights stores the batch's part of the model: W = V diag(g(a)) Z (d x mb), computed as the
// predictions are (gz holds each target's g(a)_j z_j brought to unit size; undo[a] times
// sp.pscale takes that back), and the intercepts mean_y - mean_x W, in float64.
func (r *runner[T]) weights(sp *split[T], b *batch[T], idx []int, gz []T, undo []float64) {
	dec, mb, m, nf := sp.dec, b.mb, r.s.y.Cols, r.x.Cols
	wz := r.bufferT("wz", nf*mb)
	mul(nf, mb, dec.r, sp.v, gz, 0, wz)
	r.res.Flops += 2 * float64(nf) * float64(dec.r) * float64(mb)
	back := make([]float64, len(undo))
	for a, u := range undo {
		back[a] = u * sp.pscale // the weights carry no scale of P
	}
	var mu sync.Mutex
	var tooLarge error
	is32 := r.pred.w32 != nil
	parallelFor(nf, func(_, k0, k1 int) {
		for k := k0; k < k1; k++ {
			row := wz[k*mb : (k+1)*mb]
			for t, a := range idx {
				v := float64(row[t]) * back[a]
				if !is32 {
					r.pred.w64[k*m+b.c0+t] = v
					continue
				}
				if math.Abs(v) > math.MaxFloat32 {
					mu.Lock()
					if tooLarge == nil {
						tooLarge = fmt.Errorf("the weight of feature %d for target %d, %.3g, is beyond float32's range (features of tiny scale): use --precision float64", k, b.c0+t, v)
					}
					mu.Unlock()
				}
				r.pred.w32[k*m+b.c0+t] = float32(v)
			}
		}
	})
	if tooLarge != nil && r.pred.err == nil {
		r.pred.err = tooLarge
	}
	if is32 && r.pred.err == nil {
		// weights below float32's normal range lose their digits, or all of them: X_new W + b
		// would no longer give the predictions (which are computed apart, in range)
		for t, a := range idx {
			most := 0.0
			for k := 0; k < nf; k++ {
				most = max(most, math.Abs(float64(wz[k*mb+t])))
			}
			if most *= back[a]; most != 0 && most < 0x1p-126 {
				r.pred.err = fmt.Errorf("the weights of target %d, at most %.3g, are below float32's range (features of huge scale, or brain data of tiny scale): use --precision float64", b.c0+t, most)
				break
			}
		}
	}
	parallelFor(mb, func(_, t0, t1 int) {
		for t := t0; t < t1; t++ {
			s := 0.0
			for k, xm := range dec.xmean {
				if xm != 0 {
					s += xm * float64(wz[k*mb+t])
				}
			}
			r.pred.icpt[b.c0+t] = b.mu[t] - s*back[idx[t]]
		}
	})
}

// scaledGZ returns gz (r x mb): each target's g(a)_j z_j at its chosen penalty (idx into the
// grid), with each penalty's g brought to unit size (engine.UnitScale: float32 neither
// underflows nor overflows), and undo[a], the factor that takes that scale and P's back
// (powers of two: exact).
func (r *runner[T]) scaledGZ(sp *split[T], b *batch[T], idx []int) (gz []T, undo []float64) {
	d, mb, alphas := sp.dec, b.mb, r.s.opts.Alphas
	g := make([]float64, len(alphas)*d.r)
	undo = make([]float64, len(alphas))
	for a, alpha := range alphas {
		ga := g[a*d.r : (a+1)*d.r]
		d.coefScale(alpha, ga)
		undo[a] = 1 / (engine.ScaleToUnit(ga) * sp.pscale)
	}
	gz = r.bufferT("gz", d.r*mb)
	parallelFor(d.r, func(_, j0, j1 int) {
		for j := j0; j < j1; j++ {
			row, zr := gz[j*mb:(j+1)*mb], b.z[j*mb:(j+1)*mb]
			for t, a := range idx {
				row[t] = T(g[a*d.r+j] * float64(zr[t]))
			}
		}
	})
	return gz, undo
}

// heldOutBase returns, per target of the batch, what its held-out predictions are in the brain
// data's units when the product P gz (of the centred P: newSplit) is zero: the training mean
// plus the shift taken off P, pmean diag(g(a)) Z, from gz (scaledGZ: g(a) Z brought to unit
// size by a factor that undo[a] times pscale takes back), in float64.
//
// Each target's sum runs over j in order, as a loop over targets inside j's rows reads gz (r x
// mb) in order, on all cores by ranges of targets: a column at a time, a stride of a row per
// element, it was a serial read of all of gz per batch.
func heldOutBase[T float](sp *split[T], b *batch[T], gz []T, idx []int, undo []float64) []float64 {
	base := make([]float64, b.mb)
	parallelFor(b.mb, func(_, lo, hi int) {
		s := make([]float64, hi-lo)
		for j, v := range sp.pmean {
			for t, g := range gz[j*b.mb+lo : j*b.mb+hi] {
				s[t] += v * float64(g)
			}
		}
		for t := lo; t < hi; t++ {
			base[t] = b.mu[t] + s[t-lo]*undo[idx[t]]*sp.pscale
		}
	})
	return base
}

// storeUnscaled writes the held-out products pred (nte x mb, scaled by scaledGZ) in the brain
// data's units, pred undo[a] + base (heldOutBase), into row rows[i] (i when rows is nil) and
// column c0 + t of f32 or f64 (m columns). It returns an error for the first value beyond
// float32's range when storing float32 (stored as an infinity).
func storeUnscaled[T float](pred []T, nte, c0 int, base []float64, idx []int, undo []float64, f32 []float32, f64 []float64, m int, rows []int) error {
	var mu sync.Mutex
	var first error
	mb := len(base)
	parallelFor(nte, func(_, i0, i1 int) {
		for i := i0; i < i1; i++ {
			row, out := pred[i*mb:(i+1)*mb], i
			if rows != nil {
				out = rows[i]
			}
			for t, a := range idx {
				v := float64(row[t])*undo[a] + base[t]
				k := out*m + c0 + t
				if f64 != nil {
					f64[k] = v
					continue
				}
				if math.Abs(v) > math.MaxFloat32 {
					mu.Lock()
					if first == nil {
						first = fmt.Errorf("the prediction of target %d for row %d, %.3g, is beyond float32's range", c0+t, out, v)
					}
					mu.Unlock()
				}
				f32[k] = float32(v)
			}
		}
	})
	return first
}
