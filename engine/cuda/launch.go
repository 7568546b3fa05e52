//go:build cuda

package cuda

import (
	"errors"
	"fmt"
	"math"
	"unsafe"

	"gonum.org/v1/gonum/blas"
	"gorgonia.org/cu"
	cublas "gorgonia.org/cu/blas"
)

// dtype is the element type of a device matrix.
type dtype int

const (
	f32 dtype = iota
	f64
)

func (t dtype) size() int64 {
	if t == f64 {
		return 8
	}
	return 4
}

func (t dtype) suffix() string {
	if t == f64 {
		return "f64"
	}
	return "f32"
}

// Typed launch wrappers, one per kernel (as mumax/3's generated ones): they check the arguments
// in Go and launch on the device's current stream (compute, or aux: device.onAux). Every scalar is passed as 8 bytes (see kernels).

const blockSize = 256

// launch runs kernel name over n logical threads (grid-stride loops cover any excess).
func (d *device) launch(name string, n int64, args ...any) error {
	if n <= 0 {
		return nil
	}
	fn, ok := d.fns[name]
	if !ok {
		return fmt.Errorf("cuda engine: no kernel %s", name)
	}
	vals := make([]uint64, len(args))
	for i, a := range args {
		switch v := a.(type) {
		case cu.DevicePtr:
			vals[i] = uint64(v)
		case int:
			vals[i] = uint64(int64(v))
		case int64:
			vals[i] = uint64(v)
		case float64:
			vals[i] = math.Float64bits(v)
		default:
			return fmt.Errorf("cuda engine: kernel %s: argument %d of type %T", name, i, a)
		}
	}
	grid := min((n+blockSize-1)/blockSize, 1<<20)
	if err := launchKernel(fn, int(grid), blockSize, d.stream, vals); err != nil {
		if errors.Is(err, cu.OutOfMemory) { // a module's lazy load, the launch's own resources
			return fmt.Errorf("%w: launching %s: %v", errDeviceOOM, name, err)
		}
		return fmt.Errorf("cuda engine: launching %s: %w", name, err)
	}
	return nil
}

func checkDims(kernel string, dims ...int) {
	for _, v := range dims {
		if v < 0 {
			panic("cuda: " + kernel + ": negative dimension")
		}
	}
}

func checkLd(kernel string, ld, rows int) {
	if ld < max(rows, 1) {
		panic(fmt.Sprintf("cuda: %s: leading dimension %d < %d", kernel, ld, rows))
	}
}

func checkPtr(kernel string, ps ...cu.DevicePtr) {
	for _, p := range ps {
		if p == 0 {
			panic("cuda: " + kernel + ": null device pointer")
		}
	}
}

// colStats: mean (and constant flags, centred sums of squares when non-null) of the mb columns
// of a over nrows rows (rows: int32 indices on the device, or 0 for 0..nrows-1).
func (d *device) colStats(t dtype, a cu.DevicePtr, lda int, rows cu.DevicePtr, nrows, mb int, mean, constant, ss cu.DevicePtr) error {
	checkDims("col_stats", nrows, mb)
	checkLd("col_stats", lda, mb)
	checkPtr("col_stats", a, mean)
	return d.launch("col_stats_"+t.suffix(), int64(mb), a, lda, rows, nrows, mb, mean, constant, ss)
}

// colScale: scale (mb) = each column's standardising factor (engine.StandardScale) from its
// mean and centred sum of squares over nrows rows (colStats').
func (d *device) colScale(mean, ss cu.DevicePtr, nrows, mb int, scale cu.DevicePtr) error {
	checkDims("col_scale", nrows, mb)
	checkPtr("col_scale", mean, ss, scale)
	return d.launch("col_scale", int64(mb), mean, ss, nrows, mb, scale)
}

// gatherCenter: out (mb x nrows, ldo) = (a[:, rows] - mean) * scale, converting tin to tout;
// columns with zero[j] set are written as zeros (mean, zero, scale, rows may be 0).
func (d *device) gatherCenter(tin, tout dtype, a cu.DevicePtr, lda int, rows cu.DevicePtr, nrows, mb int, mean, zero, out cu.DevicePtr, ldo int, scale cu.DevicePtr) error {
	checkDims("gather_center", nrows, mb)
	checkLd("gather_center", lda, mb)
	checkLd("gather_center", ldo, mb)
	checkPtr("gather_center", a, out)
	return d.launch("gather_center_"+tin.suffix()+"_"+tout.suffix(), int64(nrows)*int64(mb), a, lda, rows, nrows, mb, mean, zero, out, ldo, scale)
}

// looWeights: w (n x na) = 1/(1 - base - U² f(a)) for each penalty; with rest (not 0: complete
// decompositions, f holding f - 1 and base 0) 1/(rest - U² f(a)), summed rather than subtracted.
func (d *device) looWeights(u2 cu.DevicePtr, ldu, n, r int, f cu.DevicePtr, na int, base float64, rest, w cu.DevicePtr) error {
	checkDims("loo_weights", n, r, na)
	checkLd("loo_weights", ldu, n)
	checkPtr("loo_weights", u2, f, w)
	return d.launch("loo_weights", int64(n)*int64(na), u2, ldu, n, r, f, na, base, rest, w)
}

// looUpdate: LOO error of penalty aidx per target, with the running argmin into best/bestIdx
// (first: the first penalty visited, which initialises it; the lowest index wins ties in any
// order of visits); extra (or 0) adds the errors of rows weighted 0 (looHot).
func (d *device) looUpdate(t dtype, yc cu.DevicePtr, ldy int, yh cu.DevicePtr, ldh int, w cu.DevicePtr, n, mb, aidx int, first bool, errOut, best, bestIdx, extra cu.DevicePtr) error {
	checkDims("loo_update", n, mb, aidx)
	checkLd("loo_update", ldy, mb)
	checkLd("loo_update", ldh, mb)
	checkPtr("loo_update", yc, yh, w, best, bestIdx)
	fst := 0
	if first {
		fst = 1
	}
	return d.launch("loo_update_"+t.suffix(), int64(mb), yc, ldy, yh, ldh, w, n, mb, aidx, fst, errOut, best, bestIdx, extra)
}

// looHot: extra[j] = the float64 leave-one-out errors of the nh hot rows of one penalty (rows,
// their weights w, their hat-matrix rows H: n x nh, ld ldh), centred by the mean when center.
func (d *device) looHot(t dtype, yc cu.DevicePtr, ldy, n, mb int, h cu.DevicePtr, ldh int, rows, w cu.DevicePtr, nh int, center bool, extra cu.DevicePtr) error {
	checkDims("loo_hot", n, mb, nh)
	checkLd("loo_hot", ldy, mb)
	checkLd("loo_hot", ldh, n)
	checkPtr("loo_hot", yc, h, rows, w, extra)
	c := 0
	if center {
		c = 1
	}
	return d.launch("loo_hot_"+t.suffix(), int64(mb), yc, ldy, n, mb, h, ldh, rows, w, nh, c, extra)
}

// gcvSelect: GCV criteria of every penalty per target and their argmin (outside: yc holds the
// residual outside U, R0, rather than Yc; fm1: f - 1 per direction and penalty).
func (d *device) gcvSelect(t dtype, yc cu.DevicePtr, ldy, n int, z cu.DevicePtr, ldz, r, mb int, fm1, den cu.DevicePtr, na int, crit cu.DevicePtr, ldc int, best, bestIdx cu.DevicePtr, outside bool) error {
	checkDims("gcv_select", n, r, mb, na)
	checkLd("gcv_select", ldy, mb)
	checkLd("gcv_select", ldz, mb)
	checkLd("gcv_select", ldc, mb)
	checkPtr("gcv_select", yc, z, fm1, den, best, bestIdx)
	out := 0
	if outside {
		out = 1
	}
	return d.launch("gcv_select_"+t.suffix(), int64(mb), yc, ldy, n, z, ldz, r, mb, fm1, den, na, crit, ldc, best, bestIdx, out)
}

// pearson: r and degenerate flags per target between p (mb x n) and y[:, rows].
func (d *device) pearson(t dtype, p cu.DevicePtr, ldp int, y cu.DevicePtr, ldy int, rows cu.DevicePtr, n, mb int, r, degenerate cu.DevicePtr) error {
	checkDims("pearson", n, mb)
	checkLd("pearson", ldp, mb)
	checkLd("pearson", ldy, mb)
	checkPtr("pearson", p, y, r, degenerate)
	if n < 1 {
		panic("cuda: pearson: no rows")
	}
	return d.launch("pearson_"+t.suffix(), int64(mb), p, ldp, y, ldy, rows, n, mb, r, degenerate)
}

// r2: R² per target of the prediction p (mb x n) plus mu (mb values, or 0 for none) against
// y[:, rows] (rows 0: 0..n-1); a constant y column (exactly equal values) scores 1 when the
// prediction is exact, else 0.
func (d *device) r2(t dtype, p cu.DevicePtr, ldp int, mu, y cu.DevicePtr, ldy int, rows cu.DevicePtr, n, mb int, out cu.DevicePtr) error {
	checkDims("r2", n, mb)
	checkLd("r2", ldp, mb)
	checkLd("r2", ldy, mb)
	checkPtr("r2", p, y, out)
	if n < 1 {
		panic("cuda: r2: no rows")
	}
	return d.launch("r2_"+t.suffix(), int64(mb), p, ldp, mu, y, ldy, rows, n, mb, out)
}

// kfoldAccumulate: crit[j] -= score[j] / k for the mb targets (float64).
func (d *device) kfoldAccumulate(score cu.DevicePtr, mb int, k float64, crit cu.DevicePtr) error {
	checkDims("kfold_accumulate", mb)
	checkPtr("kfold_accumulate", score, crit)
	return d.launch("kfold_accumulate", int64(mb), score, mb, k, crit)
}

// argminPenalty: per target j < mb, the smallest crit[j + a*ldc] over the na penalties (first
// wins ties) into best[j] and bestIdx[j].
func (d *device) argminPenalty(crit cu.DevicePtr, ldc, mb, na int, best, bestIdx cu.DevicePtr) error {
	checkDims("argmin_penalty", mb, na)
	checkLd("argmin_penalty", ldc, mb)
	checkPtr("argmin_penalty", crit, best, bestIdx)
	if na < 1 {
		panic("cuda: argmin_penalty: no penalties")
	}
	return d.launch("argmin_penalty", int64(mb), crit, ldc, mb, na, best, bestIdx)
}

// scaleCols: out[:, c] = a[:, c] * f[c] (rows x cols; out may be a).
func (d *device) scaleCols(t dtype, a cu.DevicePtr, lda, rows, cols int, f, out cu.DevicePtr, ldo int) error {
	checkDims("scale_cols", rows, cols)
	checkLd("scale_cols", lda, rows)
	checkLd("scale_cols", ldo, rows)
	checkPtr("scale_cols", a, f, out)
	return d.launch("scale_cols_"+t.suffix(), int64(rows)*int64(cols), a, lda, rows, cols, f, out, ldo)
}

// scaleColsTF32: scaleCols in float32 with out rounded to TF32 to nearest (a TF32 product's
// operand, exact for the tensor cores however they convert).
func (d *device) scaleColsTF32(a cu.DevicePtr, lda, rows, cols int, f, out cu.DevicePtr, ldo int) error {
	checkDims("scale_cols_tf32", rows, cols)
	checkLd("scale_cols_tf32", lda, rows)
	checkLd("scale_cols_tf32", ldo, rows)
	checkPtr("scale_cols_tf32", a, f, out)
	return d.launch("scale_cols_tf32", int64(rows)*int64(cols), a, lda, rows, cols, f, out, ldo)
}

// scaleRefit: out[j, c] = z[j, c] * g[c, idx[j]] (mb x r; g is r x na).
func (d *device) scaleRefit(t dtype, z cu.DevicePtr, ldz, mb, r int, g, idx, out cu.DevicePtr, ldo int) error {
	checkDims("scale_refit", mb, r)
	checkLd("scale_refit", ldz, mb)
	checkLd("scale_refit", ldo, mb)
	checkPtr("scale_refit", z, g, idx, out)
	return d.launch("scale_refit_"+t.suffix(), int64(mb)*int64(r), z, ldz, mb, r, g, idx, out, ldo)
}

// square64: out = a² elementwise (n float64 values).
func (d *device) square64(a cu.DevicePtr, n int, out cu.DevicePtr) error {
	checkDims("square_f64", n)
	checkPtr("square_f64", a, out)
	return d.launch("square_f64", int64(n), a, n, out)
}

// convert64to32: out = float32(a) (n values).
func (d *device) convert64to32(a cu.DevicePtr, n int, out cu.DevicePtr) error {
	checkDims("convert_f64_f32", n)
	checkPtr("convert_f64_f32", a, out)
	return d.launch("convert_f64_f32", int64(n), a, n, out)
}

// fill64: out[:n] = v.
func (d *device) fill64(out cu.DevicePtr, n int, v float64) error {
	checkDims("fill_f64", n)
	checkPtr("fill_f64", out)
	return d.launch("fill_f64", int64(n), out, n, v)
}

// zero sets bytes of device memory to 0 on the current stream.
func (d *device) zero(p cu.DevicePtr, bytes int64) error {
	if bytes == 0 {
		return nil
	}
	if bytes%4 != 0 {
		panic("cuda: zero: size not a multiple of 4")
	}
	if err := cu.MemsetD32Async(p, 0, bytes/4, d.stream); err != nil {
		return fmt.Errorf("cuda engine: memset: %w", err)
	}
	return nil
}

// gemm computes the column-major product C (m x n, ldc) = op(A) op(B) (op(A) m x k) in
// precision t on cuBLAS (float32 on TF32 tensor cores when the device is in TF32 mode). A
// row-major caller swaps A and B. With k == 0, C is zeroed.
func (d *device) gemm(t dtype, tA, tB bool, m, n, k int, a cu.DevicePtr, lda int, b cu.DevicePtr, ldb int, c cu.DevicePtr, ldc int) error {
	return d.gemmScaled(t, tA, tB, m, n, k, 1, a, lda, b, ldb, 0, c, ldc)
}

// gemm3xTF32 is gemmScaled at float32's accuracy on TF32 tensor cores, from operands split by
// splitTF32 (A = aHi + aLo, B = bHi + bLo): C = alpha (aLo bHi + aHi bLo + aHi bHi) + beta C,
// three TF32 products, the small terms first. Products whose result feeds a cancellation need
// it (see runner.stage and runner.looResiduals): a plain TF32 product is accurate to 2^-11 only.
func (d *device) gemm3xTF32(tA, tB bool, m, n, k int, alpha float64, aHi, aLo cu.DevicePtr, lda int, bHi, bLo cu.DevicePtr, ldb int, beta float64, c cu.DevicePtr, ldc int) error {
	if err := d.gemmScaled(f32, tA, tB, m, n, k, alpha, aLo, lda, bHi, ldb, beta, c, ldc); err != nil {
		return err
	}
	if err := d.gemmScaled(f32, tA, tB, m, n, k, alpha, aHi, lda, bLo, ldb, 1, c, ldc); err != nil {
		return err
	}
	return d.gemmScaled(f32, tA, tB, m, n, k, alpha, aHi, lda, bHi, ldb, 1, c, ldc)
}

// splitTF32: a (rows x cols) = hi + lo exactly, hi rounded to TF32 (hi may be a).
func (d *device) splitTF32(a cu.DevicePtr, lda, rows, cols int, hi cu.DevicePtr, ldh int, lo cu.DevicePtr, ldl int) error {
	checkDims("split_tf32", rows, cols)
	checkLd("split_tf32", lda, rows)
	checkLd("split_tf32", ldh, rows)
	checkLd("split_tf32", ldl, rows)
	checkPtr("split_tf32", a, hi, lo)
	return d.launch("split_tf32", int64(rows)*int64(cols), a, lda, rows, cols, hi, ldh, lo, ldl)
}

// joinF32: a += b (rows x cols; undoes splitTF32 in place exactly).
func (d *device) joinF32(a cu.DevicePtr, lda, rows, cols int, b cu.DevicePtr, ldb int) error {
	checkDims("join_f32", rows, cols)
	checkLd("join_f32", lda, rows)
	checkLd("join_f32", ldb, rows)
	checkPtr("join_f32", a, b)
	return d.launch("join_f32", int64(rows)*int64(cols), a, lda, rows, cols, b, ldb)
}

// gemmScaled is gemm with C = alpha op(A) op(B) + beta C (beta 0: C is not read). With k == 0,
// C is zeroed (beta 0) or left as it is (beta 1).
func (d *device) gemmScaled(t dtype, tA, tB bool, m, n, k int, alpha float64, a cu.DevicePtr, lda int, b cu.DevicePtr, ldb int, beta float64, c cu.DevicePtr, ldc int) error {
	checkDims("gemm", m, n, k)
	if m == 0 || n == 0 {
		return nil
	}
	checkLd("gemm", ldc, m)
	if k == 0 {
		switch beta {
		case 1:
			return nil
		case 0:
		default:
			panic("cuda: gemm: k == 0 with beta other than 0 or 1")
		}
		for j := 0; j < n; j++ {
			if err := d.zero(c+cu.DevicePtr(int64(j*ldc)*t.size()), int64(m)*t.size()); err != nil {
				return err
			}
		}
		return nil
	}
	ar, br := m, k
	opA, opB := blas.NoTrans, blas.NoTrans
	if tA {
		ar, opA = k, blas.Trans
	}
	if tB {
		br, opB = n, blas.Trans
	}
	checkLd("gemm", lda, ar)
	checkLd("gemm", ldb, br)
	checkPtr("gemm", a, b, c)
	if d.onGemm != nil {
		d.onGemm(gemmShape{t, tA, tB, m, n, k, lda, ldb, ldc})
	}
	if max(m, n, k, lda, ldb, ldc) > math.MaxInt32 {
		return fmt.Errorf("cuda engine: product of %d x %d x %d exceeds cuBLAS's 32-bit dimensions", m, n, k)
	}
	if d.stream == d.aux {
		if t != f64 {
			panic("cuda: gemm: only float64 products run on the decomposition stream")
		}
		return d.auxBLAS.dgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
	}
	if d.blas == nil {
		return fmt.Errorf("cuda engine: cuBLAS gemm %d x %d x %d: no cuBLAS handle (an earlier error's could not be made again)", m, n, k)
	}
	if t == f64 {
		one := func(p cu.DevicePtr) []float64 { return unsafe.Slice((*float64)(devPtr(p)), 1) }
		d.blas.Dgemm(opA, opB, m, n, k, alpha, one(a), lda, one(b), ldb, beta, one(c), ldc)
	} else {
		one := func(p cu.DevicePtr) []float32 { return unsafe.Slice((*float32)(devPtr(p)), 1) }
		d.blas.Sgemm(opA, opB, m, n, k, float32(alpha), one(a), lda, one(b), ldb, float32(beta), one(c), ldc)
	}
	if err := d.blas.Err(); err != nil {
		rerr := d.resetBLAS()
		if rerr != nil {
			return fmt.Errorf("cuda engine: cuBLAS gemm %d x %d x %d: %v (and resetting the handle: %v)", m, n, k, err, rerr)
		}
		if errors.Is(err, cublas.AllocFailed) { // its workspace, which no batch sizing counts
			return fmt.Errorf("%w: cuBLAS gemm %d x %d x %d: %v", errDeviceOOM, m, n, k, err)
		}
		return fmt.Errorf("cuda engine: cuBLAS gemm %d x %d x %d: %w", m, n, k, err)
	}
	return nil
}

// gemmShape is one product's precision, operations, dimensions and leading dimensions (tests).
type gemmShape struct {
	t             dtype
	tA, tB        bool
	m, n, k       int
	lda, ldb, ldc int
}
