package main

import (
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/brainalign/brainalign/internal/sysmem"
)

// heapLimit returns the garbage collector's soft limit, and restores the current one when t
// ends.
func heapLimit(t *testing.T) func() int64 {
	t.Setenv("GOMEMLIMIT", "")
	old := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(old) })
	return func() int64 { return debug.SetMemoryLimit(-1) }
}

// nearMachineBound reports whether limit is 90% of what the process can take, allowing for
// what changed since it was set.
func nearMachineBound(limit, avail int64) bool {
	want := avail - avail/10
	return math.Abs(float64(limit-want)) <= 0.05*float64(want)
}

// TestBoundHeap: --memory bounds the collector on the CPU engine only; a GPU's --memory is
// device memory, and there (or without --memory) the bound is 90% of what the process can take,
// as every command sets it when it starts.
func TestBoundHeap(t *testing.T) {
	current := heapLimit(t)
	debug.SetMemoryLimit(math.MaxInt64)
	boundHeap("cpu", 1<<30)
	if got, want := current(), int64(1<<30+1<<28+64<<20); got != want {
		t.Errorf("cpu, --memory 1GiB: limit %d, want %d", got, want)
	}
	avail, ok := sysmem.Available()
	if !ok {
		t.Skip("available memory unknown here")
	}
	boundHeapToMachine()
	if got := current(); !nearMachineBound(got, avail) {
		t.Errorf("at a command's start: limit %d, want about %d", got, avail-avail/10)
	}
	machine := current()
	for _, dev := range []string{"cuda:0", "cpu"} {
		debug.SetMemoryLimit(machine)
		limit := int64(0)
		if dev == "cuda:0" {
			limit = 1 << 30
		}
		boundHeap(dev, limit)
		if got := current(); got != machine {
			t.Errorf("%s, --memory %d: limit %d, want the machine's bound %d kept", dev, limit, got, machine)
		}
	}
	// a --memory above what the process can take does not lift the bound
	boundHeap("cpu", 2*avail)
	if got := current(); got != machine {
		t.Errorf("cpu, --memory %d: limit %d, want the machine's bound %d kept", 2*avail, got, machine)
	}
	t.Setenv("GOMEMLIMIT", "5GiB")
	debug.SetMemoryLimit(math.MaxInt64)
	boundHeap("cpu", 1<<30)
	boundHeapToMachine()
	if got := current(); got != math.MaxInt64 {
		t.Errorf("GOMEMLIMIT set: the limit changed to %d", got)
	}
}

// The inputs are read under the machine's bound: a command whose input cannot be read (here,
// an activations file cut short) stops with the bound already set, whatever --device and
// --memory say. It was set only once the inputs were in, so reading them (decompressing,
// decoding, masking) was unbounded. Once they are, --memory on the CPU engine lowers it.
func TestHeapBoundedWhileReading(t *testing.T) {
	current := heapLimit(t)
	avail, ok := sysmem.Available()
	if !ok {
		t.Skip("available memory unknown here")
	}
	dir := t.TempDir()
	xp, yp := writeStudy(t, dir, 120, 8, 6)
	b, err := os.ReadFile(xp)
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(dir, "cut.npy")
	if err := os.WriteFile(cut, b[:len(b)-40], 0o644); err != nil {
		t.Fatal(err)
	}
	for i, flags := range [][]string{nil, {"--memory", "1GiB"}, {"--device", "cuda:0", "--memory", "1GiB"}} {
		debug.SetMemoryLimit(math.MaxInt64)
		args := append([]string{"encode", "--features", cut, "--brain", yp, "--out", filepath.Join(dir, "out", string(rune('a'+i)))}, flags...)
		if _, stderr, code := runCLI(t, args...); code == 0 || !strings.Contains(stderr, "cut.npy") {
			t.Fatalf("%v: exit %d, %s; want the cut file refused", flags, code, stderr)
		}
		if got := current(); !nearMachineBound(got, avail) {
			t.Errorf("%v, the input refused while read: limit %d, want about %d (90%% of %d)", flags, got, avail-avail/10, avail)
		}
	}
	debug.SetMemoryLimit(math.MaxInt64)
	if _, stderr, code := runCLI(t, "encode", "--features", xp, "--brain", yp, "--out", filepath.Join(dir, "out", "d"), "--device", "cpu", "--memory", "1GiB"); code != 0 { // the cuda build's default is the GPU
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if got, want := current(), min(int64(1<<30+1<<28+64<<20), avail-avail/10); got > want+want/20 || got < want-want/20 {
		t.Errorf("cpu, --memory 1GiB, once the inputs were read: limit %d, want %d", got, want)
	}
}
