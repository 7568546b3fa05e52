//go:build cuda

package cuda

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"gorgonia.org/cu"

	"github.com/brainalign/brainalign/engine"
	"github.com/brainalign/brainalign/fallback"
)

// onSimulator skips t unless the device is cudasim, whose CUDASIM_PINNED makes the driver refuse
// page-locked memory and whose misuse checks return errors where a real driver may crash.
func onSimulator(t *testing.T, e *Engine) {
	t.Helper()
	if !strings.Contains(e.Name(), "cudasim") {
		t.Skipf("%s: the simulator's page-locked memory limit and misuse checks only", e.Name())
	}
}

// pinnedState is the device's page-locked total and a session's two staging buffers.
func pinnedState(t *testing.T, e *Engine, s *session) (total int64, staging [2]pinnedBuf) {
	t.Helper()
	onDevice(t, e, func(d *device) error {
		total, staging = d.pinnedBytes, s.staging
		return nil
	})
	return total, staging
}

// TestPinnedStaging: streamed brain data is gathered into two page-locked staging buffers, each
// rows x batch targets, kept from one Score to the next and freed with the session; where the
// driver refuses to lock memory (cudasim's CUDASIM_PINNED), for both buffers or the second only,
// the staging stays pageable, with no error and the same numbers. Reference: the CPU engine.
func TestPinnedStaging(t *testing.T) {
	e := newTestEngine(t)
	n, m := 200, 3000
	x, y := problem(n, 16, m, 4)
	opts := options(t, n, func(o *engine.Options) { o.Precision = engine.Float64 })
	opts.MemoryLimit = int64(n*m) * 8 * 2 / 3 // Y is 1.5x the budget: streamed
	want := score(t, fallback.New(), x, y, opts)
	rowBytes := int64(n) * 8

	// scoreTwice scores x twice on one streamed session and returns the results, the staging
	// buffers after each Score and the page-locked total while the session was open and after.
	scoreTwice := func(t *testing.T) (res [2]*engine.Result, staging [2][2]pinnedBuf, open, closed int64) {
		t.Helper()
		s := openStreamed(t, e, y, opts)
		var err error
		for i := range res {
			if res[i], err = s.Score(context.Background(), x); err != nil {
				t.Fatal(err)
			}
			open, staging[i] = pinnedState(t, e, s)
		}
		if res[0].Batches < 2 {
			t.Errorf("streamed Y in %d batch(es)", res[0].Batches)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		closed, _ = pinnedState(t, e, s)
		return res, staging, open, closed
	}

	res, staging, open, closed := scoreTwice(t)
	compare(t, "pinned", res[0], want, 1e-6, 1)
	compare(t, "pinned, second Score", res[1], want, 1e-6, 1)
	for k, b := range staging[0] {
		// the first batch (the widest) sizes both buffers: rows x batch targets of float64
		if b.p == nil || b.bytes%rowBytes != 0 || b.bytes/rowBytes > int64(m) || b.bytes != staging[0][0].bytes {
			t.Errorf("staging buffer %d: %d bytes at %p, want %d rows x at most %d targets, as buffer 0", k, b.bytes, b.p, n, m)
		}
		if staging[1][k] != b {
			t.Errorf("staging buffer %d: %d bytes at %p after the second Score, want the first's (%d at %p)",
				k, staging[1][k].bytes, staging[1][k].p, b.bytes, b.p)
		}
	}
	if sum := staging[0][0].bytes + staging[0][1].bytes; open != sum {
		t.Errorf("page-locked memory %d bytes with the session open, want its staging buffers' %d", open, sum)
	}
	if closed != 0 {
		t.Errorf("page-locked memory %d bytes after the session closed, want 0", closed)
	}

	for _, c := range []struct {
		name  string
		limit string
		want  int // staging buffers pinned
	}{
		{"refused", "0", 0},
		// room for buffer 0 (cudasim locks whole pages), not for buffer 1
		{"second_refused", strconv.FormatInt((staging[0][0].bytes+4095)&^4095, 10), 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			onSimulator(t, e)
			t.Setenv("CUDASIM_PINNED", c.limit)
			got, st, open, closed := scoreTwice(t)
			for i := range got {
				// the same batches and products as pinned: the same numbers
				compare(t, c.name, got[i], res[i], 0, 1)
				pinned := 0
				for _, b := range st[i] {
					if b.p != nil {
						pinned++
					}
				}
				if pinned != c.want {
					t.Errorf("Score %d: %d staging buffers page-locked, want %d", i+1, pinned, c.want)
				}
			}
			if want := int64(c.want) * staging[0][0].bytes; open != want {
				t.Errorf("page-locked memory %d bytes with the session open, want %d", open, want)
			}
			if closed != 0 {
				t.Errorf("page-locked memory %d bytes after the session closed, want 0", closed)
			}
		})
	}
}

// TestPinnedEngineClose: closing the engine frees the staging buffers of a session left open.
func TestPinnedEngineClose(t *testing.T) {
	e := startEngine(t)
	n, m := 100, 1000
	x, y := problem(n, 8, m, 5)
	opts := options(t, n, nil)
	opts.MemoryLimit = int64(n*m) * 4 * 2 / 3
	s := scoreOpen(t, e, x, y, opts)
	total, staging := pinnedState(t, e, s)
	if total == 0 || staging[0].p == nil {
		t.Fatalf("page-locked memory %d bytes, staging %v: want the staging buffers locked", total, staging)
	}
	d := e.dev
	e.Close()
	if d.pinnedBytes != 0 || len(d.pinned) != 0 {
		t.Errorf("after Close: %d page-locked bytes in %d allocations, want none", d.pinnedBytes, len(d.pinned))
	}
	if err := s.Close(); err != nil { // after the engine's: nothing left to free
		t.Error(err)
	}
}

// openStreamed opens a session of y whose brain data must be streamed.
func openStreamed(t *testing.T, e *Engine, y engine.Matrix, opts engine.Options) *session {
	t.Helper()
	sess, err := e.Open(y, opts)
	if err != nil {
		t.Fatal(err)
	}
	s := sess.(*session)
	if s.Resident() {
		t.Fatal("Y resident")
	}
	return s
}

// scoreOpen scores x on a streamed session of y and leaves the session open.
func scoreOpen(t *testing.T, e *Engine, x, y engine.Matrix, opts engine.Options) *session {
	t.Helper()
	s := openStreamed(t, e, y, opts)
	if _, err := s.Score(context.Background(), x); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestSimulatedPinnedMisuse: cudasim refuses what the driver would refuse or punish with page-
// locked memory: freeing it twice or with cuMemFree, freeing device memory with cuMemFreeHost,
// copies from or to it once freed or past its end; and a copy from it reads the host memory when
// the copy runs, not at the call (as the DMA engine does): under the lazy schedule (the default),
// host memory rewritten before the stream is waited for is what arrives.
func TestSimulatedPinnedMisuse(t *testing.T) {
	e := newTestEngine(t)
	onSimulator(t, e)
	onDevice(t, e, func(d *device) error {
		const n = 4096
		pb, err := d.allocPinned(n)
		if err != nil {
			return err
		}
		dev, err := d.alloc(2 * n) // room for the copy past the host buffer's end
		if err != nil {
			return err
		}
		defer d.free(dev)
		host := unsafe.Slice((*byte)(pb.p), n)
		for i := range host {
			host[i] = 7
		}
		if err := cu.MemcpyHtoDAsync(dev, pb.p, n, d.copy); err != nil {
			t.Errorf("copy from page-locked memory: %v", err)
		}
		if err := d.copy.Synchronize(); err != nil {
			return err
		}
		back := make([]byte, n)
		if err := download(back, dev, d.compute); err != nil {
			return err
		}
		if back[0] != 7 || back[n-1] != 7 {
			t.Errorf("copied %d..%d, want 7", back[0], back[n-1])
		}
		if sched := os.Getenv("CUDASIM_STREAMS"); sched == "" || sched == "lazy" {
			if err := cu.MemcpyHtoDAsync(dev, pb.p, n, d.copy); err != nil {
				return err
			}
			host[0] = 9 // too early: the copy has not run
			if err := d.copy.Synchronize(); err != nil {
				return err
			}
			if err := download(back, dev, d.compute); err != nil {
				return err
			}
			if back[0] != 9 {
				t.Errorf("copy from page-locked memory rewritten before it ran: %d arrived, want 9 (read when it runs)", back[0])
			}
		}
		p := pb.p
		devAsHost := *(*unsafe.Pointer)(unsafe.Pointer(&dev))
		for _, c := range []struct {
			what string
			err  error
		}{
			{"a copy past the end of page-locked memory", cu.MemcpyHtoD(dev, p, 2*n)},
			{"cuMemFree of page-locked memory", cu.MemFree(cu.DevicePtr(uintptr(p)))},
			{"cuMemFreeHost of device memory", cu.MemFreeHost(devAsHost)},
		} {
			if c.err == nil {
				t.Errorf("%s: accepted", c.what)
			}
		}
		d.freePinned(&pb)
		for _, c := range []struct {
			what string
			err  error
		}{
			{"cuMemFreeHost twice", cu.MemFreeHost(p)},
			{"a copy from freed page-locked memory", cu.MemcpyHtoD(dev, p, 16)},
			{"a copy to freed page-locked memory", cu.MemcpyDtoH(p, dev, 16)},
		} {
			if c.err == nil {
				t.Errorf("%s: accepted", c.what)
			}
		}
		return nil
	})
}
