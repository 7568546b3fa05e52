package main

import (
	"math"
	"runtime/debug"
	"testing"

	"github.com/brainalign/brainalign/internal/sysmem"
)

// TestBoundHeap: --memory bounds the collector on the CPU engine only; a GPU's --memory is
// device memory, and there (or without --memory) the bound is 90% of what the process can take.
func TestBoundHeap(t *testing.T) {
	t.Setenv("GOMEMLIMIT", "")
	old := debug.SetMemoryLimit(-1)
	defer debug.SetMemoryLimit(old)
	current := func() int64 { return debug.SetMemoryLimit(-1) }

	boundHeap("cpu", 1<<30)
	if got, want := current(), int64(1<<30+1<<28+64<<20); got != want {
		t.Errorf("cpu, --memory 1GiB: limit %d, want %d", got, want)
	}
	avail, ok := sysmem.Available()
	if !ok {
		t.Skip("available memory unknown here")
	}
	for _, dev := range []string{"cuda:0", "cpu"} {
		debug.SetMemoryLimit(math.MaxInt64)
		limit := int64(0)
		if dev == "cuda:0" {
			limit = 1 << 30
		}
		boundHeap(dev, limit)
		// Available is read again inside boundHeap: allow for what changed meanwhile.
		if got, want := current(), avail-avail/10; math.Abs(float64(got-want)) > 0.05*float64(want) {
			t.Errorf("%s, --memory %d: limit %d, want about %d", dev, limit, got, want)
		}
	}
	t.Setenv("GOMEMLIMIT", "5GiB")
	debug.SetMemoryLimit(math.MaxInt64)
	boundHeap("cpu", 1<<30)
	if got := current(); got != math.MaxInt64 {
		t.Errorf("GOMEMLIMIT set: boundHeap changed the limit to %d", got)
	}
}
