package fallback

import (
	"context"
	"fmt"
	"time"

	"github.com/brainalign/brainalign/engine"
)

// Engine is the CPU engine. It is safe to open several sessions; each Score uses all cores.
type Engine struct{}

var _ engine.Engine = (*Engine)(nil)

func init() {
	engine.Register("cpu", func(int) (engine.Engine, error) { return New(), nil })
}

// New returns the CPU engine.
func New() *Engine { return &Engine{} }

// Name implements engine.Engine.
func (*Engine) Name() string { return "cpu" }

// BLAS names the library running the products in this build.
func BLAS() string { return blasName }

// Close implements engine.Engine.
func (*Engine) Close() error { return nil }

// Open implements engine.Engine: it validates the brain data and options once. The data is used
// in place (no copy); the caller must not change it while the session is open.
func (*Engine) Open(y engine.Matrix, opts engine.Options) (engine.Session, error) {
	if err := engine.CheckBrain(y, opts); err != nil {
		return nil, err
	}
	if opts.Precision == engine.TF32 {
		return nil, fmt.Errorf("precision tf32: %w on the cpu engine (it runs on GPU tensor cores; use float32 or float64)", engine.ErrUnsupported)
	}
	return &session{y: y, opts: opts}, nil
}

type session struct {
	y    engine.Matrix
	opts engine.Options
}

// Close implements engine.Session.
func (*session) Close() error { return nil }

// Score implements engine.Session.
func (s *session) Score(ctx context.Context, x engine.Matrix) (*engine.Result, error) {
	start := time.Now()
	if err := engine.CheckActivations(x, s.y.Rows, s.opts.Precision); err != nil {
		return nil, err
	}
	var (
		res *engine.Result
		err error
	)
	if s.opts.Precision == engine.Float64 {
		res, err = run[float64](ctx, s, x)
	} else {
		res, err = run[float32](ctx, s, x)
	}
	if err != nil {
		return nil, err
	}
	res.Engine = "cpu (" + blasName + ")"
	res.Precision = s.opts.Precision
	res.Timings.Total = time.Since(start)
	return res, nil
}
