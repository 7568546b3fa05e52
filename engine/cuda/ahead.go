//go:build cuda

package cuda

import (
	"errors"
	"fmt"
	"math"

	"gorgonia.org/cu"

	"github.com/brainalign/brainalign/engine"
)

// Looking ahead across activation matrices (engine.Preparer). Within a Score, folds 2..k are
// factorised on the decomposition stream while the previous fold's products run; the first fold
// has no previous fold. When the caller has announced the next matrix, the last fold of the
// current one uploads it and queues its first fold's factorisation on that stream too, and the
// next Score starts from it: in a sweep, every decomposition after the first layer's first fold
// runs beside products.

// activations is an activation matrix on the device: row-major, cols columns, precision xt.
type activations struct {
	dx   cu.DevicePtr
	xt   dtype
	cols int
}

// activationType is the precision x is held in on the device: float32 data as it is, float64
// data and column-major data (gathered to row-major on the host) in float64.
func activationType(x engine.Matrix) dtype {
	if !x.ColMajor && x.F32 != nil {
		return f32
	}
	return f64
}

// hostActivations returns x row-major in precision activationType(x): x's own data, or a
// float64 copy of column-major data.
func hostActivations(x engine.Matrix) any {
	switch {
	case !x.ColMajor && x.F32 != nil:
		return x.F32
	case !x.ColMajor:
		return x.F64
	}
	all := make([]float64, x.Rows*x.Cols)
	x.GatherRows(everyRow(x.Rows), all)
	return all
}

// nextLayer is the matrix announced by Prepare, uploaded (by queueSplit, on the decomposition
// stream) into mem during the current matrix's last fold.
type nextLayer struct {
	x           engine.Matrix
	s           *session
	withdrawals int      // the session's count when x was taken: x is live while it is the same
	mem         pool     // the device copy
	probe       []uint64 // bits of sampled values at upload, to check that x did not change since
	copied      cu.Event // after the upload: the host data is no longer read
}

// probeCount values, spread over the data, are compared before a prepared matrix is used.
const probeCount = 64

// probeIndex is the i-th sampled index of data of length n.
func probeIndex(i, n int) int { return int(int64(i) * int64(n-1) / (probeCount - 1)) }

func probeBits(x engine.Matrix) []uint64 {
	n := len(x.F32)
	if x.F64 != nil {
		n = len(x.F64)
	}
	bits := make([]uint64, probeCount)
	for i := range bits {
		k := probeIndex(i, n)
		if x.F64 != nil {
			bits[i] = math.Float64bits(x.F64[k])
		} else {
			bits[i] = uint64(math.Float32bits(x.F32[k]))
		}
	}
	return bits
}

// sameData reports whether a and b are the same matrix: shape, layout and backing array.
func sameData(a, b engine.Matrix) bool {
	if a.Rows != b.Rows || a.Cols != b.Cols || a.ColMajor != b.ColMajor {
		return false
	}
	switch {
	case len(a.F32) > 0 && len(b.F32) > 0:
		return len(a.F32) == len(b.F32) && &a.F32[0] == &b.F32[0]
	case len(a.F64) > 0 && len(b.F64) > 0:
		return len(a.F64) == len(b.F64) && &a.F64[0] == &b.F64[0]
	}
	return false
}

// errWithdrawn: the announcement was withdrawn before its data was read.
var errWithdrawn = errors.New("cuda engine: the next activations were withdrawn")

// upload queues the host matrix's copy into dx on stream s and records copied, unless the
// announcement was withdrawn since it was taken (the caller may have freed the data). The
// session's lock is held while the data is read, so a withdrawal waits for the driver to have
// staged the copy (pageable memory: read before cuMemcpyHtoDAsync returns).
func (nl *nextLayer) upload(dx cu.DevicePtr, s cu.Stream) error {
	nl.s.prepMu.Lock()
	defer nl.s.prepMu.Unlock()
	if nl.s.withdrawals != nl.withdrawals {
		return errWithdrawn
	}
	nl.probe = probeBits(nl.x)
	if err := uploadAny(dx, hostActivations(nl.x), s); err != nil {
		return err
	}
	if err := nl.copied.Record(s); err != nil {
		return fmt.Errorf("cuda engine: event: %w", err)
	}
	return nil
}

// matches reports whether x is the uploaded matrix, unchanged at the sampled values.
func (nl *nextLayer) matches(x engine.Matrix) bool {
	if nl.probe == nil || !sameData(nl.x, x) {
		return false
	}
	for i, b := range probeBits(x) {
		if b != nl.probe[i] {
			return false
		}
	}
	return true
}

// ptrs is the device memory nl holds (none for nil).
func (nl *nextLayer) ptrs() []cu.DevicePtr {
	if nl == nil {
		return nil
	}
	return nl.mem.ptrs
}

func (nl *nextLayer) release() {
	nl.mem.release()
	cu.DestroyEvent(&nl.copied)
}

// Prepare implements engine.Preparer.
func (s *session) Prepare(x engine.Matrix) {
	s.prepMu.Lock()
	defer s.prepMu.Unlock()
	s.prepared = x
	if x.F32 == nil && x.F64 == nil {
		s.withdrawals++ // work on matrices announced before is not used (ahead.go: live)
	}
}

// takePrepared returns, once, the matrix announced by Prepare, unless it is cur (the one being
// scored) or cannot be scored against this brain data (Score will say why).
func (s *session) takePrepared(cur engine.Matrix) (*nextLayer, bool) {
	s.prepMu.Lock()
	defer s.prepMu.Unlock()
	x := s.prepared
	s.prepared = engine.Matrix{}
	if x.Validate("") != nil || x.Rows != s.y.Rows || sameData(x, cur) {
		return nil, false
	}
	return &nextLayer{x: x, s: s, withdrawals: s.withdrawals}, true
}

// live reports whether nl's announcement was not withdrawn since it was taken.
func (nl *nextLayer) live() bool {
	nl.s.prepMu.Lock()
	defer nl.s.prepMu.Unlock()
	return nl.s.withdrawals == nl.withdrawals
}

// forgetPrepared withdraws the announcement of x, which is being scored now.
func (s *session) forgetPrepared(x engine.Matrix) {
	s.prepMu.Lock()
	defer s.prepMu.Unlock()
	if sameData(s.prepared, x) {
		s.prepared = engine.Matrix{}
	}
}

// prepareNextLayer allocates, at the start of the last fold, the device copy of the matrix
// announced by Prepare and the factorisation of its first fold; presync queues both on the
// decomposition stream. It returns nil when nothing was announced.
func (r *runner) prepareNextLayer() (*factoring, error) {
	nl, ok := r.s.takePrepared(r.x)
	if !ok {
		return nil, nil
	}
	x := nl.x
	nl.mem.d = r.d
	xt := activationType(x)
	dx, err := nl.mem.alloc(int64(x.Rows) * int64(x.Cols) * xt.size())
	if err == nil {
		if nl.copied, err = cu.MakeEvent(cu.DisableTiming); err != nil {
			nl.mem.release()
			return nil, fmt.Errorf("cuda engine: event: %w", err)
		}
	}
	if err != nil {
		return nil, r.oom("next activations", err)
	}
	fz, err := r.prepareSplit(r.s.opts.Folds[0], true, activations{dx: dx, xt: xt, cols: x.Cols}, 0)
	if err != nil {
		nl.release()
		return nil, err
	}
	fz.layer = nl
	return fz, nil
}

// handOver keeps the next matrix's factorisation, queued during the last fold, for the next
// Score (session.ahead), once its upload has read the host data. Work that cannot be kept is
// given up, never failing the Score of the current matrix (whose results are complete).
func (r *runner) handOver(fz *factoring) {
	if !fz.queued || fz.layer.copied.Synchronize() != nil {
		fz.release(r.d)
		return
	}
	r.s.ahead = fz
	r.s.e.holder = r.s
}

// adoptAhead starts the run from the factorisation prepared during the previous Score, if it
// is of r.x: its device copy becomes the run's (owned by keep) and it is fold 1's. It reports
// whether it did; a factorisation of another matrix is released.
func (r *runner) adoptAhead(keep *pool) bool {
	fz := r.s.ahead
	if fz == nil {
		return false
	}
	r.s.ahead = nil
	if !fz.layer.live() || !fz.layer.matches(r.x) {
		fz.release(r.d)
		return false
	}
	r.dx, r.xt = fz.src.dx, fz.src.xt
	keep.ptrs = append(keep.ptrs, fz.layer.mem.ptrs...)
	fz.layer.mem.ptrs = nil
	r.next = fz
	r.s.lookaheads++
	return true
}

// dropAhead gives up the work s prepared for its next Score: another session of the engine is
// scoring or opening, and the memory is better theirs. (Runs on the context thread.)
func (s *session) dropAhead() {
	if s.ahead != nil {
		s.ahead.release(s.e.dev)
		s.ahead = nil
	}
	if s.e.holder == s {
		s.e.holder = nil
	}
}
