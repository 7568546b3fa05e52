//go:build cuda

package cuda

import (
	"context"
	"fmt"
	"math"
	"time"

	"gorgonia.org/cu"

	"github.com/brainalign/brainalign/engine"
	"github.com/brainalign/brainalign/internal/sysmem"
)

var _ engine.Predictor = (*Engine)(nil)

// prediction is what Predict fills batch by batch on the host: values (new rows x m, float32
// below float64 precision) and penalties (m).
type prediction struct {
	m      int
	f32    []float32
	f64    []float64
	alphas []float64
	err    error // a value beyond float32's range
	host   any   // the batch's predictions as read back, in the products' precision
}

// Predict implements engine.Predictor: the scoring pipeline on one fold whose training rows are
// all of y's and whose test rows are the new stimuli, stacked below x on the device (the brain
// data has no rows for them: they are predicted, not scored). The held-out products give the
// predictions up to the powers of two the split brought P and each penalty's factors to
// (split.pscale, gscale), which are taken back on the host, with the training means of the
// targets and the session's column shift. The fitted model itself (opts.Weights) is not kept
// on the device: that is ErrUnsupported (the CPU engine has it).
func (e *Engine) Predict(ctx context.Context, x, y, xNew engine.Matrix, opts engine.Options) (*engine.Prediction, error) {
	start := time.Now()
	if err := engine.CheckPredict(x, y, xNew, opts); err != nil {
		return nil, err
	}
	if opts.Weights {
		return nil, fmt.Errorf("weights: %w on the cuda engine (the cpu engine returns them)", engine.ErrUnsupported)
	}
	n, nNew, m, d := y.Rows, xNew.Rows, y.Cols, x.Cols
	es := int64(4)
	if opts.Precision == engine.Float64 {
		es = 8
	}
	// on the host: the predictions, and a batch's as read back (at most all targets)
	if err := hostFits(int64(nNew)*int64(m)*2*es, fmt.Sprintf("the predictions (%d new stimuli x %d targets)", nNew, m), " (predict fewer stimuli or targets at once)"); err != nil {
		return nil, err
	}
	stacked := stackRows(x, xNew)
	// on the device, beyond what Score's budgeting sees: the new stimuli's rows of the
	// activations, of the factoring (their centred rows in float64; P in float64 and in the
	// products' precision) and, with no more rows than features, their kernel with the
	// training rows
	reserve := int64(nNew)*int64(d)*(activationType(stacked).size()+8) + int64(padded(nNew))*int64(min(n, d))*(8+es)
	if n <= d {
		reserve += int64(nNew) * int64(n) * 8
	}
	opts.Folds = []engine.Fold{{Train: everyRow(n), Test: make([]int, nNew)}}
	for i := range opts.Folds[0].Test {
		opts.Folds[0].Test[i] = n + i
	}
	s, err := e.open(y, opts, reserve)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	p := &prediction{m: m, alphas: make([]float64, m)}
	values := engine.Matrix{Rows: nNew, Cols: m}
	if opts.Precision == engine.Float64 {
		p.f64 = make([]float64, nNew*m)
		values.F64 = p.f64
	} else {
		p.f32 = make([]float32, nNew*m)
		values.F32 = p.f32
	}
	res, err := s.score(ctx, stacked, p, start)
	if err != nil {
		return nil, err
	}
	if p.err != nil {
		return nil, p.err
	}
	return &engine.Prediction{
		Rows: nNew, Targets: m, Values: values, Alphas: p.alphas,
		Rank: res.Rank[0], Dropped: res.Dropped[0], Engine: res.Engine, Precision: opts.Precision,
		Batches: res.Batches, Flops: res.Flops, Timings: res.Timings,
	}, nil
}

// stackRows returns a's rows then b's, row-major: float32 when both are row-major float32 (as
// the device would hold either), else float64.
func stackRows(a, b engine.Matrix) engine.Matrix {
	rows, cols := a.Rows+b.Rows, a.Cols
	if activationType(a) == f32 && activationType(b) == f32 {
		return engine.NewMatrix32(rows, cols, append(append(make([]float32, 0, rows*cols), a.F32...), b.F32...))
	}
	out := make([]float64, rows*cols)
	a.GatherRows(everyRow(a.Rows), out[:a.Rows*cols])
	b.GatherRows(everyRow(b.Rows), out[a.Rows*cols:])
	return engine.NewMatrix64(rows, cols, out)
}

// keepPredictions reads back a batch's predictions of Predict's new stimuli (b.pred,
// column-major mb x nte with ld b.ld, at the penalties in b.idx) and stores them in the brain
// data's units.
func (r *runner) keepPredictions(sp *split, b *batch, c0, mb int) error {
	if err := r.presync(); err != nil {
		return err
	}
	if err := download(b.hostIdx[:mb], b.idx, r.d.compute); err != nil {
		return err
	}
	if err := r.unscale(sp, b, c0, mb, r.pred, nil); err != nil {
		return err
	}
	for j := 0; j < mb; j++ {
		r.pred.alphas[c0+j] = r.s.opts.Alphas[b.hostIdx[j]]
	}
	return r.flushMarks()
}

// unscale stores a batch's held-out products (b.pred, column-major mb x nte with ld b.ld, at
// the penalties in b.hostIdx, read back already) in p in the brain data's units: the powers
// of two of P and g taken back, the training means and the column shift added. Test row i
// goes to row rows[i] of p (i when rows is nil). A value beyond the output's range is p.err.
func (r *runner) unscale(sp *split, b *batch, c0, mb int, p *prediction, rows []int) error {
	d, opts, ld := r.d, r.s.opts, b.ld
	mean := make([]float64, mb)
	if !opts.NoIntercept {
		if err := download(mean, b.mean, d.compute); err != nil {
			return err
		}
	}
	var at func(k int) float64 // the batch's products as read back (nil: none, rank 0)
	if sp.r > 0 {
		var err error
		if at, err = r.readPredictions(p, b.pred, sp.nte*ld); err != nil {
			return err
		}
	}
	pscale := sp.pscale
	if pscale == 0 {
		pscale = 1
	}
	for j := 0; j < mb; j++ {
		a := int(b.hostIdx[j])
		undo := 1 / (pscale * sp.gscale[a])
		base := mean[j]
		if r.s.shift != nil {
			base += r.s.shift[c0+j]
		}
		for i := 0; i < sp.nte; i++ {
			v := base
			if at != nil {
				v += at(j+i*ld) * undo
			}
			row := i
			if rows != nil {
				row = rows[i]
			}
			k := row*p.m + c0 + j
			if math.IsNaN(v) || math.IsInf(v, 0) || (p.f32 != nil && math.Abs(v) > math.MaxFloat32) {
				if p.err == nil {
					p.err = fmt.Errorf("the prediction of target %d for row %d, %.3g, is beyond %s's range (features far larger than those fitted on): use --precision float64",
						c0+j, row, v, map[bool]string{true: "float32", false: "float64"}[p.f32 != nil])
				}
			}
			if p.f64 != nil {
				p.f64[k] = v
			} else {
				p.f32[k] = float32(v)
			}
		}
	}
	return nil
}

// maxAbs returns the largest magnitude of the rows x cols column-major float64 matrix a (ld
// rows) on the device, read back a block of columns at a time.
func (r *runner) maxAbs(a cu.DevicePtr, ld, rows, cols int) (float64, error) {
	step := max(1, (8<<20)/max(ld, 1)) // columns per 64 MB
	buf := make([]float64, min(step, cols)*ld)
	most := 0.0
	for c0 := 0; c0 < cols; c0 += step {
		nc := min(step, cols-c0)
		blk := buf[:nc*ld]
		if err := download(blk, a+cu.DevicePtr(int64(c0)*int64(ld)*8), r.d.compute); err != nil {
			return 0, err
		}
		for c := 0; c < nc; c++ {
			for _, v := range blk[c*ld : c*ld+rows] {
				most = max(most, math.Abs(v))
			}
		}
	}
	return most, nil
}

// readPredictions downloads n values of the products' precision from src into a host buffer
// reused across batches, and returns an accessor of them as float64.
func (r *runner) readPredictions(p *prediction, src cu.DevicePtr, n int) (func(k int) float64, error) {
	d := r.d
	if r.t == f64 {
		buf, _ := p.host.([]float64)
		if cap(buf) < n {
			buf = make([]float64, n)
			p.host = buf
		}
		buf = buf[:n]
		return func(k int) float64 { return buf[k] }, download(buf, src, d.compute)
	}
	buf, _ := p.host.([]float32)
	if cap(buf) < n {
		buf = make([]float32, n)
		p.host = buf
	}
	buf = buf[:n]
	return func(k int) float64 { return float64(buf[k]) }, download(buf, src, d.compute)
}

// keepHeldOut allocates Result.Predictions for Score with KeepPredictions (float64, NaN for rows
// no fold holds out), refusing predictions that would take more than half the host's available
// memory with a batch's read back.
func (r *runner) keepHeldOut() error {
	n, m := r.s.y.Rows, r.s.y.Cols
	// float64, and a batch's read back
	if err := hostFits(int64(n)*int64(m)*(8+r.t.size()), fmt.Sprintf("the held-out predictions (%d rows x %d targets)", n, m), ""); err != nil {
		return err
	}
	p := &prediction{m: m, f64: make([]float64, n*m)}
	for i := range p.f64 {
		p.f64[i] = math.NaN()
	}
	r.kept, r.res.Predictions = p, engine.Matrix{Rows: n, Cols: m, F64: p.f64}
	return nil
}

// hostFits refuses predictions (what, with a batch's read back: bytes in all) that would take
// more than half the host's available memory; hint ends the error.
func hostFits(bytes int64, what, hint string) error {
	if avail, ok := sysmem.Available(); ok && bytes > avail/2 {
		return fmt.Errorf("%w: %s take %s of host memory with a batch's read back, more than half the %s available%s",
			engine.ErrOutOfMemory, what, engine.FormatBytes(bytes), engine.FormatBytes(avail), hint)
	}
	return nil
}
