package eigen

import (
	"context"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
)

// liveHeap is the heap reachable now: garbage collected twice, so that buffers pooled by
// earlier calls (sync.Pool keeps them for one collection) are gone.
func liveHeap() int64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}

// heapProbe is a context that records the reachable heap each time the solver looks at it
// (between panels, blocks of reflectors, merges, batches of rotations: inside every step).
type heapProbe struct {
	context.Context
	mu   sync.Mutex
	live []int64
}

func (p *heapProbe) Err() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.live = append(p.live, liveHeap())
	return nil
}

// TestWorkspaceBytes: the heap the solver holds besides a and w, sampled where it looks at its
// context (a lower bound of its peak), is within WorkspaceBytes, on both eigenvector paths. On
// one core: internal/gemm's packing buffers and the rotation kernel's interleaved rows are per
// core, pooled for the whole process. WorkspaceBytes missed QL/QR's rotation queue below dcMin
// (up to 4 MiB: 4.2 MB held at n = 255 against 1.4 MB counted) and the block of reflectors'
// triangular factor (128 KiB).
func TestWorkspaceBytes(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	for _, n := range []int{10, 25, 26, 60, 100, 200, 255, 256, 300, 512} {
		rng := rand.New(rand.NewPCG(uint64(n), 7))
		a := make([]float64, n*n)
		for i := 0; i < n; i++ {
			for j := i; j < n; j++ {
				v := rng.NormFloat64()
				a[i*n+j], a[j*n+i] = v, v
			}
		}
		w := make([]float64, n)
		symCopy(t, n, a) // a first run's lasting allocations (none expected) are not this one's
		probe := &heapProbe{Context: context.Background(), live: make([]int64, 0, 1<<12)}
		before := liveHeap()
		if err := SymContext(probe, n, a, w); err != nil {
			t.Fatal(err)
		}
		if len(probe.live) == 0 {
			t.Fatalf("n = %d: the solver never looked at its context", n)
		}
		held := int64(0)
		for _, v := range probe.live {
			held = max(held, v-before)
		}
		t.Logf("n = %d: %d bytes held at most, %d counted", n, held, WorkspaceBytes(n))
		if held > WorkspaceBytes(n) {
			t.Errorf("n = %d: the solver held %d bytes besides a and w, WorkspaceBytes counts %d", n, held, WorkspaceBytes(n))
		}
	}
}

// symCopy decomposes a copy of a (its frame gone by the time the caller measures).
//
//go:noinline
func symCopy(t *testing.T, n int, a []float64) {
	if err := Sym(n, append([]float64(nil), a...), make([]float64, n)); err != nil {
		t.Fatal(err)
	}
}
