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
// below float64 precision) and penalties (m); with weights, the fitted model (d x m weights in
// w32 or w64, as the values, and m intercepts).
type prediction struct {
	m       int
	f32     []float32
	f64     []float64
	alphas  []float64
	weights bool
	w32     []float32
	w64     []float64
	icpt    []float64
	err     error // a value beyond float32's range
	host    any   // the batch's predictions or weights as read back, in the products' precision
}

// Predict implements engine.Predictor: the scoring pipeline on one fold whose training rows are
// all of y's and whose test rows are the new stimuli, stacked below x on the device (the brain
// data has no rows for them: they are predicted, not scored). The held-out products give the
// predictions up to the powers of two the split brought P and each penalty's factors to
// (split.pscale, gscale), which are taken back on the host, with the training means of the
// targets and the session's column shift. With opts.Weights the split keeps V, and each batch's
// weights V diag(g) Z are formed on the device and read back (keepWeights).
func (e *Engine) Predict(ctx context.Context, x, y, xNew engine.Matrix, opts engine.Options) (*engine.Prediction, error) {
	start := time.Now()
	if err := engine.CheckPredict(x, y, xNew, opts); err != nil {
		return nil, err
	}
	n, nNew, m, d := y.Rows, xNew.Rows, y.Cols, x.Cols
	es := int64(4)
	if opts.Precision == engine.Float64 {
		es = 8
	}
	// on the host: the predictions (and the weights), and a batch's as read back (at most all
	// targets)
	kept := int64(nNew)
	if opts.Weights {
		kept += int64(d)
	}
	what, hint := engine.PredictionKept(nNew, d, m, opts.Weights)
	if err := hostFits(kept*int64(m)*2*es, what, " ("+hint+")"); err != nil {
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
	if opts.Weights {
		// V (d x r) in the products' precision, held with the split, and in float64 while it is
		// formed from U in the dual decomposition (the primal one has it in the Gram matrix)
		reserve += int64(d) * int64(min(n, d)) * es
		if n <= d {
			reserve += int64(d) * int64(n) * 8
		}
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
	if e.predictHook != nil {
		e.predictHook(s)
	}
	p := &prediction{m: m, alphas: make([]float64, m), weights: opts.Weights}
	values := output(nNew, m, opts.Precision)
	p.f32, p.f64 = values.F32, values.F64
	var model engine.Matrix
	if opts.Weights {
		model = output(d, m, opts.Precision)
		p.w32, p.w64, p.icpt = model.F32, model.F64, make([]float64, m)
	}
	res, err := s.score(ctx, stacked, p, start)
	if err != nil {
		return nil, err
	}
	if p.err != nil {
		return nil, p.err
	}
	return &engine.Prediction{
		Rows: nNew, Targets: m, Values: values, Alphas: p.alphas, Weights: model, Intercepts: p.icpt,
		Rank: res.Rank[0], Dropped: res.Dropped[0], Engine: res.Engine, Precision: opts.Precision,
		Batches: res.Batches, Flops: res.Flops, Timings: res.Timings,
	}, nil
}

// output allocates a rows x cols row-major output of Predict: float64 at float64 precision,
// else float32.
func output(rows, cols int, p engine.Precision) engine.Matrix {
	if p == engine.Float64 {
		return engine.NewMatrix64(rows, cols, make([]float64, rows*cols))
	}
	return engine.NewMatrix32(rows, cols, make([]float32, rows*cols))
}

// stackRows returns a's rows then b's, row-major: float32 when both are row-major float32 (as
// the device would hold either), else float64; a itself when b has no rows.
func stackRows(a, b engine.Matrix) engine.Matrix {
	if b.Rows == 0 { // the model alone
		return a
	}
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
	if r.pred.weights {
		if err := r.keepWeights(sp, b, c0, mb); err != nil {
			return err
		}
	}
	return r.flushMarks()
}

// rightVectors keeps what Predict's fitted model needs of an outer split (fz's, finished into
// sp): V in sp.v, from the primal decomposition's kept eigenvectors (vecs, d x r with ld d) or
// in the dual one as V = Xc^T U diag(1/s) (u64 and dinvs as finishSplit formed them; one
// float64 product in tmp), its rows scaled by sp.xscale (Options.Standardize), and the training
// column means in sp.xmean (with standardised features, plus their second centring's means).
func (r *runner) rightVectors(fp, tmp *pool, sp *split, fz *factoring, vecs, u64, dinvs cu.DevicePtr) error {
	d, nd, rk := r.d, fz.src.cols, sp.r
	if fz.mean != 0 {
		sp.xmean = make([]float64, nd)
		if err := download(sp.xmean, fz.mean, d.compute); err != nil {
			return err
		}
		if fz.rmean != 0 {
			again := make([]float64, nd)
			if err := download(again, fz.rmean, d.compute); err != nil {
				return err
			}
			for j, v := range again {
				sp.xmean[j] += v
			}
		}
	}
	var err error
	if sp.v, err = fp.alloc(int64(nd) * int64(rk) * r.t.size()); err != nil {
		return r.oom("the fitted model's directions", err)
	}
	if rk == 0 {
		return nil // the weights are 0
	}
	v64 := vecs
	if !fz.primal {
		if v64, err = tmp.alloc(int64(nd) * int64(rk) * 8); err != nil {
			return r.oom("the fitted model's directions", err)
		}
		// Column-major V (d x rk) = Xc^T U (ntr x rk), then diag(1/s): a block of features at a
		// time, prepared again unless the prepared rows are whole (xtr, w x ntr = its rows of Xc^T).
		for c0 := 0; c0 < nd; c0 += fz.width {
			c1 := min(nd, c0+fz.width)
			if fz.width < nd {
				if err := r.prepareBlock(fz, c0, c1, false, false); err != nil {
					return err
				}
			}
			if err := d.gemm(f64, false, false, c1-c0, rk, sp.ntr, fz.xtr, c1-c0, u64, sp.ldu, v64+cu.DevicePtr(int64(c0)*8), nd); err != nil {
				return err
			}
		}
		if err := d.scaleCols(f64, v64, nd, nd, rk, dinvs, v64, nd); err != nil {
			return err
		}
	}
	if sp.xscale != 0 {
		// the weights apply to the features as given: V's row j times feature j's scale
		return d.gatherCenter(f64, r.t, v64, nd, 0, rk, nd, 0, 0, sp.v, nd, sp.xscale)
	}
	if r.t == f64 {
		if err := cu.MemcpyDtoDAsync(sp.v, v64, int64(nd)*int64(rk)*8, d.compute); err != nil {
			return fmt.Errorf("cuda engine: copy: %w", err)
		}
		return nil
	}
	return d.convert64to32(v64, nd*rk, sp.v)
}

// keepWeights stores a batch's part of Predict's fitted model (targets c0 to c0+mb, their
// penalties read back in b.hostIdx): W = V diag(g(a)) Z, formed on the device from b.zf (each
// target's g(a) Z, as the predictions are) a block of features at a time in b.yc (free once the
// penalties are chosen), read back and stored in the output's precision with each penalty's
// power of two (sp.gscale) taken back, as the CPU engine does: weights beyond float32's range,
// or a target's all below it, are p.err. The intercepts are mean_y - mean_x W in float64 (the
// training means of the targets with the session's column shift added back).
func (r *runner) keepWeights(sp *split, b *batch, c0, mb int) error {
	p, ld, nf, m := r.pred, b.ld, r.x.Cols, r.s.y.Cols
	base, err := r.baselines(b, c0, mb) // mean_y
	if err != nil {
		return err
	}
	back := make([]float64, mb)
	for j := range back {
		back[j] = 1 / sp.gscale[b.hostIdx[j]]
	}
	dot := make([]float64, mb)  // mean_x W, before back
	most := make([]float64, mb) // the largest weight, before back
	step := sp.ldu              // features per block: b.yc is ldu x ld
	for k0 := 0; k0 < nf; k0 += step {
		nk := min(step, nf-k0)
		// Column-major W^T (mb x nk) = zf (mb x r) V[k0:k0+nk]^T (N, T; V column-major, ld d).
		v := sp.v + cu.DevicePtr(int64(k0)*r.t.size())
		if err := r.refitProduct(b.productRows(mb), nk, sp.r, b.zf, ld, v, nf, b.yc, ld); err != nil {
			return err
		}
		r.res.Flops += 2 * float64(nk) * float64(sp.r) * float64(mb)
		if err := r.mark(&r.tm.Refit); err != nil {
			return err
		}
		at, err := r.readPredictions(p, b.yc, nk*ld)
		if err != nil {
			return err
		}
		for k := k0; k < k0+nk; k++ {
			xm := 0.0
			if sp.xmean != nil {
				xm = sp.xmean[k]
			}
			for j := 0; j < mb; j++ {
				w := at(j + (k-k0)*ld)
				dot[j] += xm * w
				most[j] = max(most[j], math.Abs(w))
				v, o := w*back[j], k*m+c0+j
				if p.w64 != nil {
					p.w64[o] = v
					continue
				}
				if math.Abs(v) > math.MaxFloat32 && p.err == nil {
					p.err = fmt.Errorf("the weight of feature %d for target %d, %.3g, is beyond float32's range (features of tiny scale): use --precision float64", k, c0+j, v)
				}
				p.w32[o] = float32(v)
			}
		}
	}
	for j := 0; j < mb; j++ {
		p.icpt[c0+j] = base[j] - dot[j]*back[j]
		// weights below float32's normal range lose their digits, or all of them: X_new W + b
		// would no longer give the predictions (which are computed apart, in range)
		if lo := most[j] * back[j]; p.w32 != nil && p.err == nil && lo != 0 && lo < 0x1p-126 {
			p.err = fmt.Errorf("the weights of target %d, at most %.3g, are below float32's range (features of huge scale, or brain data of tiny scale): use --precision float64", c0+j, lo)
		}
	}
	return nil
}

// baselines returns the brain data's units of a batch's targets c0 to c0+mb before the fitted
// part: the training means (0 without an intercept) with the session's column shift added back.
func (r *runner) baselines(b *batch, c0, mb int) ([]float64, error) {
	base := make([]float64, mb)
	if !r.s.opts.NoIntercept {
		if err := download(base, b.mean, r.d.compute); err != nil {
			return nil, err
		}
	}
	if r.s.shift != nil {
		for j := range base {
			base[j] += r.s.shift[c0+j]
		}
	}
	return base, nil
}

// unscale stores a batch's held-out products (b.pred, column-major mb x nte with ld b.ld, at
// the penalties in b.hostIdx, read back already) in p in the brain data's units: the powers
// of two of P and g taken back, the training means and the column shift added. Test row i
// goes to row rows[i] of p (i when rows is nil). A value beyond the output's range is p.err.
func (r *runner) unscale(sp *split, b *batch, c0, mb int, p *prediction, rows []int) error {
	ld := b.ld
	mean, err := r.baselines(b, c0, mb)
	if err != nil {
		return err
	}
	var at func(k int) float64 // the batch's products as read back (nil: none, rank 0)
	if sp.r > 0 {
		if at, err = r.readPredictions(p, b.pred, sp.nte*ld); err != nil {
			return err
		}
	}
	if sp.pm != 0 {
		if err := r.heldOutShift(sp, b, mb, mean); err != nil {
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
		for i := 0; i < sp.nte; i++ {
			v := mean[j]
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

// heldOutShift adds to base, per target of the batch, the share of its held-out predictions
// that centring P took off (finishSplit): pmean diag(g(a)) Z, formed on the device as
// b.zf (each target's g(a) Z brought to unit size by gscale[a]) times sp.pm (pmean times
// pmscale) into b.yh (free once the penalties are chosen), without TF32 (an offset of the
// predictions: TF32's rounding of it, 2^-11, would be an error in the data's units), read back
// and both powers of two taken back, in float64.
func (r *runner) heldOutShift(sp *split, b *batch, mb int, base []float64) error {
	d := r.d
	if d.tf32 {
		if err := cublasSetup(d.blas, d.compute, false); err != nil {
			return err
		}
	}
	// column-major yh (mb x 1) = zf (mb x r, ld b.ld) pm (r x 1)
	err := d.gemm(r.t, false, false, mb, 1, sp.r, b.zf, b.ld, sp.pm, sp.r, b.yh, b.ld)
	if d.tf32 {
		if serr := cublasSetup(d.blas, d.compute, true); err == nil {
			err = serr
		}
	}
	if err != nil {
		return err
	}
	dot := make([]float64, mb)
	if r.t == f64 {
		if err := download(dot, b.yh, d.compute); err != nil {
			return err
		}
	} else {
		d32 := make([]float32, mb)
		if err := download(d32, b.yh, d.compute); err != nil {
			return err
		}
		for j, v := range d32 {
			dot[j] = float64(v)
		}
	}
	for j := range base {
		base[j] += dot[j] / (sp.gscale[b.hostIdx[j]] * sp.pmscale)
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
// reused across batches (predictions and weights), and returns an accessor of them as float64.
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
