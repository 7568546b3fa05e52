package enginetest

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/brainalign/brainalign/engine"
)

// checkMessage requires a non-empty, one-line error message of reasonable length that contains
// every one of wants (case-insensitive).
func checkMessage(t *testing.T, err error, wants ...string) {
	t.Helper()
	if err == nil {
		t.Errorf("no error (want one mentioning %q)", wants)
		return
	}
	msg := err.Error()
	if msg == "" || strings.ContainsAny(msg, "\n\r") || len(msg) > 400 {
		t.Errorf("error message must be one informative line: %q", msg)
	}
	for _, w := range wants {
		if !strings.Contains(strings.ToLower(msg), strings.ToLower(w)) {
			t.Errorf("error %q does not mention %q", msg, w)
		}
	}
	t.Logf("error: %s", msg)
}

// RunErrors checks that bad input is refused, by Open or Score, with a clear one-line error.
func RunErrors(t *testing.T, newEngine func(t *testing.T) engine.Engine) {
	pr := randomProblem(20, 50, 6, 4)
	good := defaults(t, pr.n, engine.Float64)

	// open returns Open's error, or Score's when Open accepted the data.
	open := func(t *testing.T, x, y engine.Matrix, opts engine.Options) error {
		t.Helper()
		e := newEngine(t)
		defer e.Close()
		s, err := e.Open(y, opts)
		if err != nil {
			return err
		}
		defer s.Close()
		res, err := s.Score(context.Background(), x)
		if err == nil && res == nil {
			t.Errorf("Score returned neither a result nor an error")
		}
		return err
	}
	withNonFinite := func(a []float64, k int, v float64) []float64 {
		b := append([]float64(nil), a...)
		b[k] = v
		return b
	}

	t.Run("mismatched_rows", func(t *testing.T) {
		x := engine.NewMatrix64(40, pr.d, pr.x[:40*pr.d])
		checkMessage(t, open(t, x, pr.Y(), good), "40", "50", "rows")
	})
	t.Run("nan_in_x", func(t *testing.T) {
		x := engine.NewMatrix64(pr.n, pr.d, withNonFinite(pr.x, 3*pr.d+2, math.NaN()))
		checkMessage(t, open(t, x, pr.Y(), good), "activations", "NaN", "row 3", "column 2")
	})
	t.Run("inf_in_x_col_major", func(t *testing.T) {
		cm := colMajor(pr.n, pr.d, pr.x)
		cm[4*pr.n+17] = math.Inf(1) // row 17, column 4
		x := engine.Matrix{Rows: pr.n, Cols: pr.d, ColMajor: true, F64: cm}
		checkMessage(t, open(t, x, pr.Y(), good), "Inf", "row 17", "column 4")
	})
	t.Run("inf_in_y", func(t *testing.T) {
		y := engine.NewMatrix64(pr.n, pr.m, withNonFinite(pr.y, 5*pr.m+1, math.Inf(-1)))
		checkMessage(t, open(t, pr.X(), y, good), "brain", "Inf", "row 5", "column 1")
	})
	t.Run("nan_in_y_float32", func(t *testing.T) {
		y32 := to32(pr.y)
		y32[44*pr.m+3] = float32(math.NaN())
		checkMessage(t, open(t, pr.X(), engine.NewMatrix32(pr.n, pr.m, y32), good), "NaN", "row 44", "column 3")
	})
	// A finite float64 beyond float32's range would become an infinity in float32 precision (and
	// every score NaN): refused there, named and located; float64 precision scores it.
	t.Run("beyond_float32_range", func(t *testing.T) {
		f32 := defaults(t, pr.n, engine.Float32)
		x := engine.NewMatrix64(pr.n, pr.d, withNonFinite(pr.x, 3*pr.d+2, 1e39))
		checkMessage(t, open(t, x, pr.Y(), f32), "activations", "1e+39", "row 3", "column 2", "float32", "float64")
		y := engine.NewMatrix64(pr.n, pr.m, withNonFinite(pr.y, 7*pr.m+1, -2e100))
		checkMessage(t, open(t, pr.X(), y, f32), "brain", "-2e+100", "row 7", "column 1", "float32")
		if err := open(t, x, pr.Y(), good); err != nil {
			t.Errorf("float64 precision refused a finite 1e39: %v", err)
		}
		// beyond 1e150 the sums of squares of float64 overflow: refused in either precision
		y = engine.NewMatrix64(pr.n, pr.m, withNonFinite(pr.y, 7*pr.m+1, -2e300))
		checkMessage(t, open(t, pr.X(), y, good), "brain", "-2e+300", "row 7", "column 1", "rescale")
		checkMessage(t, open(t, pr.X(), y, f32), "brain", "-2e+300", "rescale")
	})
	// Data whose every value is tiny would have squares that underflow (penalties chosen by
	// rounding, scores off by 0.3 at 1e-170 in float64): refused below engine.MinScale, scored
	// the same as at unit scale above it (a power of ten changes the rounding only); zeros pass.
	t.Run("too_small", func(t *testing.T) {
		scaled := func(v []float64, c float64) []float64 {
			out := make([]float64, len(v))
			for i, x := range v {
				out[i] = x * c
			}
			return out
		}
		f32 := defaults(t, pr.n, engine.Float32)
		y := engine.NewMatrix64(pr.n, pr.m, scaled(pr.y, 1e-150/maxAbs(pr.y)))
		checkMessage(t, open(t, pr.X(), y, good), "brain", "largest value is 1e-150", "rescale")
		checkMessage(t, open(t, pr.X(), y, f32), "brain", "rescale")
		y = engine.NewMatrix64(pr.n, pr.m, scaled(pr.y, 1e-35/maxAbs(pr.y)))
		checkMessage(t, open(t, pr.X(), y, f32), "brain", "float32", "--precision float64")
		x := engine.NewMatrix64(pr.n, pr.d, scaled(pr.x, 1e-145/maxAbs(pr.x)))
		checkMessage(t, open(t, x, pr.Y(), good), "activations", "rescale")
		if err := open(t, pr.X(), engine.NewMatrix64(pr.n, pr.m, make([]float64, pr.n*pr.m)), good); err != nil {
			t.Errorf("brain data of zeros: %v", err)
		}
		ref, err := engine.Score(context.Background(), newEngine(t), pr.X(), pr.Y(), good)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			p     engine.Precision
			scale float64
			tol   float64
		}{{engine.Float64, 1e-138, 1e-9}, {engine.Float32, 1e-28, 2e-3}} {
			opts := defaults(t, pr.n, c.p)
			y := engine.NewMatrix64(pr.n, pr.m, scaled(pr.y, c.scale/maxAbs(pr.y)))
			res, err := engine.Score(context.Background(), newEngine(t), pr.X(), y, opts)
			if err != nil {
				t.Fatalf("%v, brain data of largest value %g: %v", c.p, c.scale, err)
			}
			for k, r := range res.FoldScores {
				if math.Abs(r-ref.FoldScores[k]) > c.tol {
					t.Fatalf("%v, brain data of largest value %g: fold score %d is %v, %v at unit scale", c.p, c.scale, k, r, ref.FoldScores[k])
				}
			}
		}
	})
	t.Run("empty_x", func(t *testing.T) {
		checkMessage(t, open(t, engine.NewMatrix64(pr.n, 0, []float64{}), pr.Y(), good), "activations", "empty")
	})
	t.Run("empty_y", func(t *testing.T) {
		checkMessage(t, open(t, pr.X(), engine.NewMatrix64(pr.n, 0, []float64{}), good), "brain", "empty")
	})
	t.Run("no_rows", func(t *testing.T) {
		opts := good
		opts.Folds = nil
		checkMessage(t, open(t, engine.NewMatrix64(0, pr.d, nil), engine.NewMatrix64(0, pr.m, nil), opts), "empty")
	})
	t.Run("short_data", func(t *testing.T) {
		checkMessage(t, open(t, engine.NewMatrix64(pr.n, pr.d, pr.x[:len(pr.x)-1]), pr.Y(), good), "activations")
	})
	for _, bad := range []struct {
		name   string
		alphas []float64
		want   string
	}{
		{"zero_penalty", []float64{1, 0, 10}, "0"},
		{"negative_penalty", []float64{-1}, "-1"},
		{"nan_penalty", []float64{1, math.NaN()}, "NaN"},
		{"inf_penalty", []float64{math.Inf(1)}, "Inf"},
		{"empty_grid", nil, "empty"},
	} {
		t.Run(bad.name, func(t *testing.T) {
			opts := good
			opts.Alphas = bad.alphas
			checkMessage(t, open(t, pr.X(), pr.Y(), opts), "penalt", bad.want)
		})
	}
	t.Run("fewer_rows_than_folds", func(t *testing.T) {
		_, err := engine.KFold(3, 5)
		checkMessage(t, err, "3", "5")
		// folds made for more rows than the data has
		opts := good
		opts.Folds, _ = engine.KFold(10, 5)
		x := engine.NewMatrix64(4, pr.d, pr.x[:4*pr.d])
		y := engine.NewMatrix64(4, pr.m, pr.y[:4*pr.m])
		checkMessage(t, open(t, x, y, opts), "fold")
	})
	t.Run("too_few_rows_for_inner_kfold", func(t *testing.T) {
		opts := good
		opts.Inner = engine.Inner{Mode: engine.KFoldInner, K: 30} // 40 training rows < 2 x 30
		checkMessage(t, open(t, pr.X(), pr.Y(), opts), "fold")
	})
	t.Run("no_folds", func(t *testing.T) {
		opts := good
		opts.Folds = nil
		checkMessage(t, open(t, pr.X(), pr.Y(), opts), "fold")
	})
}

func maxAbs(v []float64) float64 {
	m := 0.0
	for _, x := range v {
		m = math.Max(m, math.Abs(x))
	}
	return m
}
