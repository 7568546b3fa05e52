package engine

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Engine solves encoding problems on one device.
type Engine interface {
	// Name identifies the engine and device, e.g. "cpu" or "cuda:0".
	Name() string
	// Open validates the brain data y (n x m) and options and prepares them once (on the GPU:
	// uploads y, which then stays resident) for scoring many activation matrices.
	Open(y Matrix, opts Options) (Session, error)
	// Close releases the device.
	Close() error
}

// Session scores activation matrices against the brain data it was opened with.
type Session interface {
	// Score fits and scores x (n x d, the same rows as the brain data).
	Score(ctx context.Context, x Matrix) (*Result, error)
	// Close releases the brain data.
	Close() error
}

// Preparer is implemented by sessions that can start on the next activation matrix while the
// current one is scored. The CUDA engine uploads it and factorises its first training fold on a
// second stream during the current matrix's last fold, so that the next Score does not begin by
// waiting for a decomposition (a float64 eigendecomposition of the d x d Gram matrix: a large
// share of a layer at d = 4096). Callers that score a sequence of matrices (package sweep, the
// bench command) call Prepare with the next one as soon as it is in memory; engines without
// such work (the CPU engine, whose cores are busy with the products) do not implement it.
type Preparer interface {
	// Prepare announces x as the matrix of a coming Score call, returning at once; it may be
	// called from any goroutine, also while Score runs. The session reads x only inside Score
	// calls, and x's data must stay valid and unchanged until Score(x) returns or
	// Prepare(Matrix{}) withdraws every announcement made before it, also of matrices already
	// worked on; once that call returns, nothing announced before is read again (it may wait
	// for a read in progress), so the caller may free them. The work done ahead is used only by
	// a Score of the same matrix (the same backing array and shape, and its values
	// spot-checked), which validates x as usual; otherwise it is dropped.
	Prepare(x Matrix)
}

// ErrOutOfMemory is returned (wrapped) when even a batch of one target does not fit.
var ErrOutOfMemory = errors.New("out of memory")

// ErrUnsupported is returned (wrapped) by Open when an engine does not implement an option
// (e.g. tf32 on the CPU); the conformance suite skips such cases, naming them.
var ErrUnsupported = errors.New("not supported yet")

// Score is the one-shot convenience: open, score x, close.
func Score(ctx context.Context, e Engine, x, y Matrix, opts Options) (*Result, error) {
	s, err := e.Open(y, opts)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	return s.Score(ctx, x)
}

// CheckBrain validates brain data and options; engines call it from Open. Errors name the data
// by y.Name ("brain data" when empty), so callers need not scan it again to name their file.
func CheckBrain(y Matrix, opts Options) error {
	name := nameOr(y.Name, "brain data")
	if err := y.Validate(name); err != nil {
		return err
	}
	if err := y.CheckValues(name, opts.Precision); err != nil {
		return err
	}
	return opts.Validate(y.Rows)
}

// CheckActivations validates activations against brain data of n rows; engines call it from
// Score at precision p. Errors name the activations by x.Name ("activations" when empty).
func CheckActivations(x Matrix, n int, p Precision) error {
	name := nameOr(x.Name, "activations")
	if err := x.Validate(name); err != nil {
		return err
	}
	if x.Rows != n {
		return fmt.Errorf("%s: %d rows, but the brain data has %d (rows must be the same stimuli)", name, x.Rows, n)
	}
	return x.CheckValues(name, p)
}

func nameOr(name, generic string) string {
	if name == "" {
		return generic
	}
	return name
}

// Factory makes an engine for a device index (ignored by the CPU engine).
type Factory func(device int) (Engine, error)

var (
	registryMu sync.Mutex
	registry   = map[string]Factory{}
)

// Register makes an engine kind available to New. Engines register from init; the cuda engine
// only exists in binaries built with the cuda tag.
func Register(kind string, f Factory) {
	registryMu.Lock()
	defer registryMu.Unlock()
	registry[kind] = f
}

// Kinds lists the registered engine kinds.
func Kinds() []string {
	registryMu.Lock()
	defer registryMu.Unlock()
	var ks []string
	for k := range registry {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// New makes an engine from a spec "kind" or "kind:N" (e.g. "cpu", "cuda", "cuda:1").
func New(spec string) (Engine, error) {
	kind, dev := spec, 0
	if i := strings.IndexByte(spec, ':'); i >= 0 {
		kind = spec[:i]
		d, err := strconv.Atoi(spec[i+1:])
		if err != nil || d < 0 {
			return nil, fmt.Errorf("device %q: want KIND or KIND:N with N a device index", spec)
		}
		dev = d
	}
	registryMu.Lock()
	f, ok := registry[kind]
	registryMu.Unlock()
	if !ok {
		return nil, fmt.Errorf("device %q: no such engine in this build (have %s)", spec, strings.Join(Kinds(), ", "))
	}
	return f(dev)
}

// DeviceInfo describes the hardware an engine runs on, for benchmark reports.
type DeviceInfo struct {
	Name        string
	MemoryBytes int64                 // device memory (0: unknown)
	PeakFLOPS   map[Precision]float64 // theoretical peak per precision (absent: unknown)
}

// Describer is implemented by engines that can describe their device.
type Describer interface {
	Device() DeviceInfo
}
