package sweep

import (
	"fmt"
	"math"
	"sync/atomic"

	"github.com/brainalign/brainalign/array"
	"github.com/brainalign/brainalign/engine"
)

// Reading a layer is not free next to scoring it on a GPU: 10,000 images x 4096 features is
// 164 MB of float32 (twice that read as float16 and widened), seconds from a cold network file
// system against about ten seconds of products. So Run reads unit k+1 on another goroutine while
// unit k is scored: the prefetcher maps the file, converts it, selects rows (Config.Prepare),
// checks the rows and touches every page, one unit ahead and no further, so that at most two
// activation matrices are held at once.

// Engines that can start on the next matrix early (engine.Preparer: the CUDA engine uploads it
// and factorises its first fold during the current unit's last fold) are told of each unit once
// it is read, before its turn.

// activations is one unit's matrix, or the error reading it.
type activations struct {
	x       engine.Matrix
	id      *inputID // where x was read from; nil when built in memory
	release func()   // call once scored; never nil
	err     error
}

// prefetcher reads the activations of a list of units, in order, one unit ahead of the caller.
type prefetcher struct {
	out      chan activations
	quit     chan struct{}
	pr       engine.Preparer // the session, when it starts on announced matrices early
	leftover *activations    // read when quit came, released by stop (after close(out))
}

// prefetch starts reading the units' activations in order. Call next once per unit, in order,
// and stop once when done (it releases whatever was read ahead).
func (c *Config) prefetch(units []Unit) *prefetcher {
	p := &prefetcher{out: make(chan activations), quit: make(chan struct{})}
	p.pr, _ = c.Session.(engine.Preparer)
	go func() {
		defer close(p.out)
		var ld loader
		defer ld.close()
		for _, u := range units {
			if closed(p.quit) {
				return // stop is draining: read nothing more
			}
			src := c.Plan.Checkpoints[u.Checkpoint].Layers[u.Layer]
			x, id, release, err := c.loadRows(&ld, src)
			if err == nil {
				touch(x, p.quit)
				if p.pr != nil && !closed(p.quit) {
					p.pr.Prepare(x)
				}
			}
			a := activations{x: x, id: id, release: release, err: err}
			if release == nil {
				a.release = func() {}
			}
			select {
			case p.out <- a:
			case <-p.quit:
				p.leftover = &a
				return
			}
			if err != nil {
				return // the caller stops at the first error
			}
		}
	}()
	return p
}

// next returns the next unit's activations, waiting for them if they are still being read.
func (p *prefetcher) next() activations {
	a, ok := <-p.out
	if !ok {
		return activations{release: func() {}, err: fmt.Errorf("sweep: internal error: no more prefetched units")}
	}
	return a
}

// stop ends the prefetching goroutine and waits for it, then withdraws the announcements made
// to the session (no Score runs any more) before releasing what was read ahead: the session
// must not hold a matrix that is unmapped.
func (p *prefetcher) stop() {
	close(p.quit)
	var read []activations
	for a := range p.out {
		read = append(read, a)
	}
	if p.leftover != nil {
		read = append(read, *p.leftover)
	}
	if p.pr != nil {
		p.pr.Prepare(engine.Matrix{})
	}
	for _, a := range read {
		a.release()
	}
}

// pageSink keeps touch's reads from being optimised away.
var pageSink atomic.Uint64

// touch reads one value per 4 KiB page of a memory-mapped matrix so that the kernel reads the
// file now, on this goroutine, rather than while the engine scores it. It gives up early when
// quit is closed.
func touch(x engine.Matrix, quit <-chan struct{}) {
	const chunk = 1 << 20 // values between checks of quit
	var s float64
	for lo := 0; lo < len(x.F32); lo += chunk {
		if closed(quit) {
			return
		}
		for i := lo; i < min(lo+chunk, len(x.F32)); i += 1024 {
			s += float64(x.F32[i])
		}
	}
	for lo := 0; lo < len(x.F64); lo += chunk {
		if closed(quit) {
			return
		}
		for i := lo; i < min(lo+chunk, len(x.F64)); i += 512 {
			s += x.F64[i]
		}
	}
	pageSink.Store(math.Float64bits(s))
}

func closed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// loadRows reads one layer's activations, prepared, and checks they have the brain data's rows.
func (c *Config) loadRows(ld *loader, src Source) (engine.Matrix, *inputID, func(), error) {
	x, id, release, err := ld.load(src)
	if err != nil {
		return engine.Matrix{}, nil, nil, err
	}
	if c.Prepare != nil && c.SourceRows > 0 && x.Rows != c.SourceRows {
		release() // the rows as stored, before Prepare pairs them: the feature ids are one per row
		return engine.Matrix{}, nil, nil, fmt.Errorf("%s: %d rows, but the feature ids list %d (one per row of every activation file)", src, x.Rows, c.SourceRows)
	}
	if c.Prepare != nil {
		x = c.Prepare(x)
	}
	if x.Rows != c.Rows {
		release()
		return engine.Matrix{}, nil, nil, fmt.Errorf("%s: %d rows, but the brain data %s has %d (rows must be the same stimuli)", src, x.Rows, c.Brain.Path, c.Rows)
	}
	return x, id, release, nil
}

// loader reads activations, keeping the last bundle open so that the layers of one .npz or
// .safetensors checkpoint are read from one map, each when it is asked for: only the headers of
// a bundle are read when it is opened, and a deflated .npz member is decompressed when its layer
// is read, so that at most the layers being scored are held, not the checkpoint. An array it
// hands out belongs to the caller (released by the function load returns), so closing the
// bundle never unmaps data still being scored on another goroutine.
type loader struct {
	path string
	st   fileState   // path's state, taken before it was opened
	f    *array.File // the open file
}

func (l *loader) close() {
	l.f.Close()
	l.path, l.st, l.f = "", fileState{}, nil
}

// load returns the activations of s, where they were read from (nil when built in memory), and
// the function that releases them.
func (l *loader) load(s Source) (engine.Matrix, *inputID, func(), error) {
	if s.Func != nil {
		m, err := s.Func()
		return m, nil, func() {}, err
	}
	a, err := l.take(s)
	if err != nil {
		return engine.Matrix{}, nil, nil, err
	}
	if len(a.Shape) != 2 {
		a.Close()
		return engine.Matrix{}, nil, nil, fmt.Errorf("%s: features must be 2-d (images x features), got shape %v", s, a.Shape)
	}
	m, err := a.Matrix()
	if err != nil {
		a.Close()
		return engine.Matrix{}, nil, nil, err
	}
	id := l.st.id(s.Member, arrayInfo{shape: a.Shape, dtype: a.DType})
	if a.F32 == nil && a.F64 == nil { // integers, converted into m's own memory
		a.Close()
		return m, id, func() {}, nil
	}
	return m, id, func() { a.Close() }, nil
}

// take reads s's array (its member, or the file's only array), opening s.Path first if it is
// not the open file.
func (l *loader) take(s Source) (*array.Array, error) {
	if l.f == nil || l.path != s.Path {
		l.close()
		// The file's state is taken before it is read: a file replaced in between then
		// looks changed on the next restart (and is scored again), never unchanged.
		st, serr := statFile(s.Path)
		f, err := array.Open(s.Path)
		if err == nil && serr != nil {
			f.Close()
			err = serr
		}
		if err != nil {
			return nil, err
		}
		l.path, l.st, l.f = s.Path, st, f
	}
	if s.Member == "" { // a .npy file (or, from a manifest, a bundle's first array)
		arrs := l.f.Arrays()
		if len(arrs) == 0 {
			return nil, fmt.Errorf("%s: holds no array", s.Path)
		}
		return l.f.Read(arrs[0].Name)
	}
	return l.f.Read(s.Member)
}
