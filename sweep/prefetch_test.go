package sweep_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/brainalign/brainalign/array"
	"github.com/brainalign/brainalign/engine"
	"github.com/brainalign/brainalign/sweep"
)

// hookedSession calls before(k) at the start of the k-th Score (0-based), then scores.
type hookedSession struct {
	engine.Session
	mu     sync.Mutex
	calls  int
	before func(k int, x engine.Matrix) error
}

func (s *hookedSession) Score(ctx context.Context, x engine.Matrix) (*engine.Result, error) {
	s.mu.Lock()
	k := s.calls
	s.calls++
	s.mu.Unlock()
	if err := s.before(k, x); err != nil {
		return nil, err
	}
	return s.Session.Score(ctx, x)
}

// randomActs returns a tn x td activation matrix whose first value is mark.
func randomActs(seed uint64, mark float64) engine.Matrix {
	rng := rand.New(rand.NewPCG(seed, 3))
	x := make([]float64, tn*td)
	for i := range x {
		x[i] = rng.NormFloat64()
	}
	x[0] = mark
	return engine.NewMatrix64(tn, td, x)
}

// The next unit's activations are read while the current one is scored: Score of unit k waits
// for unit k+1's read to start, which never happens if reading follows scoring.
func TestPrefetchReadsNextUnitWhileScoring(t *testing.T) {
	const layers = 4
	read := make([]chan struct{}, layers)
	for i := range read {
		read[i] = make(chan struct{})
	}
	plan := sweep.ModelPlan("m", []string{"l0", "l1", "l2", "l3"}, nil, func(_, l int) engine.Matrix {
		close(read[l])
		return randomActs(uint64(l), float64(l))
	})
	y := writeModel(t, t.TempDir(), []int{1}, 0)
	sess := &hookedSession{Session: session(t, y), before: func(k int, x engine.Matrix) error {
		if x.At(0, 0) != float64(k) {
			return fmt.Errorf("unit %d scored the activations of unit %v", k, x.At(0, 0))
		}
		if k+1 == layers {
			return nil
		}
		select {
		case <-read[k+1]:
			return nil
		case <-time.After(20 * time.Second):
			return fmt.Errorf("unit %d was not read while unit %d was scored", k+1, k)
		}
	}}
	rep, err := sweep.Run(context.Background(), config(t, t.TempDir(), plan, y, sess))
	if err != nil || rep.Computed != layers || !rep.Merged {
		t.Fatalf("report %+v, error %v", rep, err)
	}
}

// A unit that cannot be read fails the run only when its turn comes: the unit before it, being
// scored while it was read, is still written.
func TestPrefetchErrorAfterPreviousUnitSaved(t *testing.T) {
	y := writeModel(t, t.TempDir(), []int{1}, 0)
	plan := sweep.ModelPlan("m", []string{"l0", "l1", "l2"}, nil, func(_, l int) engine.Matrix {
		return randomActs(uint64(l), float64(l))
	})
	plan.Checkpoints[0].Layers[2].Func = func() (engine.Matrix, error) { return engine.Matrix{}, errors.New("disk on fire") }
	out := t.TempDir()
	rep, err := sweep.Run(context.Background(), config(t, out, plan, y, session(t, y)))
	if err == nil || !strings.Contains(err.Error(), "disk on fire") {
		t.Fatalf("error %v, want the read error of unit l2", err)
	}
	if rep.Computed != 2 {
		t.Errorf("computed %d units before the failure, want 2", rep.Computed)
	}
	for l, want := range []bool{true, true, false} {
		_, statErr := os.Stat(filepath.Join(out, "units", "final", fmt.Sprintf("l%d.json", l)))
		if (statErr == nil) != want {
			t.Errorf("unit l%d record exists %v, want %v", l, statErr == nil, want)
		}
	}
}

// Layers of bundles: the last layer of one checkpoint's .npz is still being scored when the
// next checkpoint's bundle is opened, and must stay mapped (a use after unmap would crash the
// test binary) and intact.
func TestPrefetchKeepsScoredBundleMapped(t *testing.T) {
	dir := t.TempDir()
	const layers = 3
	for c := 0; c < 2; c++ {
		var arrs []*array.Array
		for l := 0; l < layers; l++ {
			x := randomActs(uint64(10*c+l), float64(100+10*c+l))
			f32 := make([]float32, len(x.F64))
			for i, v := range x.F64 {
				f32[i] = float32(v)
			}
			arrs = append(arrs, &array.Array{Name: fmt.Sprintf("blocks.%d", l), Shape: []int{tn, td}, F32: f32})
		}
		if err := array.WriteNPZ(filepath.Join(dir, fmt.Sprintf("ckpt-%d.npz", c+1)), arrs); err != nil {
			t.Fatal(err)
		}
	}
	plan, err := sweep.Discover(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	y := writeModel(t, t.TempDir(), []int{1}, 0)
	var mu sync.Mutex
	var seen []float64
	sess := &hookedSession{Session: session(t, y), before: func(k int, x engine.Matrix) error {
		first := x.At(0, 0)
		runtime.GC()
		time.Sleep(20 * time.Millisecond) // let the prefetcher move on to the next bundle
		if x.At(0, 0) != first || x.At(tn-1, td-1) != x.At(tn-1, td-1) {
			return fmt.Errorf("unit %d: activations changed while scored", k)
		}
		mu.Lock()
		seen = append(seen, first)
		mu.Unlock()
		return nil
	}}
	if _, err := sweep.Run(context.Background(), config(t, t.TempDir(), plan, y, sess)); err != nil {
		t.Fatal(err)
	}
	want := []float64{100, 101, 102, 110, 111, 112}
	if fmt.Sprint(seen) != fmt.Sprint(want) {
		t.Errorf("scored %v, want %v", seen, want)
	}
}

// Cancelling a run stops the prefetching goroutine too.
func TestPrefetchStopsOnCancel(t *testing.T) {
	before := runtime.NumGoroutine()
	y := writeModel(t, t.TempDir(), []int{1}, 0)
	plan := sweep.ModelPlan("m", []string{"l0", "l1", "l2", "l3"}, nil, func(_, l int) engine.Matrix {
		return randomActs(uint64(l), float64(l))
	})
	ctx, cancel := context.WithCancel(context.Background())
	sess := &hookedSession{Session: session(t, y), before: func(k int, _ engine.Matrix) error {
		if k == 1 {
			cancel()
		}
		return nil
	}}
	rep, err := sweep.Run(ctx, config(t, t.TempDir(), plan, y, sess))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	if rep.Computed > 2 {
		t.Errorf("computed %d units after the cancel at the second", rep.Computed)
	}
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<16)
		t.Errorf("%d goroutines after the run, %d before:\n%s", n, before, buf[:runtime.Stack(buf, true)])
	}
}

// preparingSession records the matrices announced to it (engine.Preparer) and checks, at each
// Score, that the matrix was announced first; with fail set, every Score fails.
type preparingSession struct {
	engine.Session
	fail      bool
	mu        sync.Mutex
	announced []engine.Matrix
	unseen    []string // Score calls of matrices never announced
}

func (s *preparingSession) Prepare(x engine.Matrix) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.announced = append(s.announced, x)
}

func (s *preparingSession) Score(ctx context.Context, x engine.Matrix) (*engine.Result, error) {
	s.mu.Lock()
	seen := false
	for _, a := range s.announced {
		seen = seen || (a.F64 != nil && &a.F64[0] == &x.F64[0])
	}
	if !seen {
		s.unseen = append(s.unseen, fmt.Sprint(x.At(0, 0)))
	}
	s.mu.Unlock()
	if s.fail {
		return nil, errors.New("device on fire")
	}
	return s.Session.Score(ctx, x)
}

// Each unit's activations are announced to an engine.Preparer before they are scored, and every
// announcement is withdrawn when the run ends, also when it fails (a unit that cannot be read;
// a Score that fails while the next unit is still being read): nothing is announced after the
// withdrawal, when the units read ahead are released.
func TestPrefetchAnnouncesNextUnit(t *testing.T) {
	y := writeModel(t, t.TempDir(), []int{1}, 0)
	for _, c := range []struct {
		name          string
		readFails     bool
		scoreFails    bool
		computed      int
		wantAnnounced string
	}{
		{"completes", false, false, 3, "[0 1 2 withdrawn]"},
		{"read_fails", true, false, 2, "[0 1 withdrawn]"},
		{"score_fails", false, true, 0, "[0 withdrawn]"}, // unit 1 was still being read
	} {
		t.Run(c.name, func(t *testing.T) {
			plan := sweep.ModelPlan("m", []string{"l0", "l1", "l2"}, nil, func(_, l int) engine.Matrix {
				if l > 0 && c.scoreFails {
					time.Sleep(50 * time.Millisecond) // still reading when the first Score fails
				}
				return randomActs(uint64(l), float64(l))
			})
			if c.readFails {
				plan.Checkpoints[0].Layers[2].Func = func() (engine.Matrix, error) { return engine.Matrix{}, errors.New("disk on fire") }
			}
			sess := &preparingSession{Session: session(t, y), fail: c.scoreFails}
			rep, err := sweep.Run(context.Background(), config(t, t.TempDir(), plan, y, sess))
			if (err != nil) != (c.readFails || c.scoreFails) {
				t.Fatalf("error %v", err)
			}
			if rep.Computed != c.computed {
				t.Errorf("computed %d units, want %d", rep.Computed, c.computed)
			}
			if len(sess.unseen) > 0 {
				t.Errorf("scored matrices %v without announcing them", sess.unseen)
			}
			var marks []string
			for _, a := range sess.announced {
				if a.F64 == nil {
					marks = append(marks, "withdrawn")
				} else {
					marks = append(marks, fmt.Sprint(a.At(0, 0)))
				}
			}
			if got := fmt.Sprint(marks); got != c.wantAnnounced {
				t.Errorf("announced %s, want %s", got, c.wantAnnounced)
			}
		})
	}
}
