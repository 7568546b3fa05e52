//go:build cuda

package cuda

// Page-locked ("pinned") host memory for the streamed brain data's two staging buffers. From
// pageable memory, cuMemcpyHtoDAsync copies through a driver bounce buffer and returns only once
// the source has been staged, so the host thread is held for the whole upload and the copy runs
// at pageable speed; from page-locked memory the DMA engine reads the buffer itself, the call
// returns at once and the copy overlaps the batch computing on the other stream at the link's
// full speed. gorgonia.org/cu binds cuMemFreeHost but neither cuMemHostAlloc nor cuMemAllocHost,
// hence this binding. The memory is the driver's, outside Go's heap: Go slices over it (unsafe.Slice)
// break no cgo pointer rule, and the gather goroutine writes it as any host memory.
//
// Locked pages are taken from the host's memory for good while held, so the engine locks only
// the staging buffers (sized to the batch: rows x batch targets each), counts them (device.pinned),
// caps them at a quarter of the host's available memory, frees them with the session (or the
// engine), and falls back to pageable buffers, with no error, where the driver refuses.
//
// The other large transfers stay pageable, for these reasons:
//   - the activations (run.go, and the next matrix's in ahead.go/split.go) are uploaded from the
//     caller's own slices, once per matrix: pinning them would take a host copy into locked
//     memory as long as the driver's own staging (or cuMemHostRegister of Go memory, which cgo's
//     rules forbid), and the work-ahead upload relies on the driver having read a pageable source
//     before the call returns (nextLayer.upload: a withdrawal may free the data after it);
//   - Open's resident upload is once per session, synchronous, of half the device: far too much
//     to lock;
//   - the read-backs (results, predictions and weights in predict.go) are synchronous (the host
//     needs the values at once) into buffers the host then walks value by value (unscaling,
//     scattering into the caller's layout), which costs more than the driver's staging; locking
//     a buffer of predictions or weights, up to a batch of d x targets, would buy a faster copy
//     that overlaps nothing.

// #cgo LDFLAGS: -lcuda
// #include <cuda.h>
import "C"

import (
	"fmt"
	"unsafe"

	"github.com/brainalign/brainalign/engine"
	"github.com/brainalign/brainalign/internal/sysmem"
)

// pinnedBuf is one page-locked host allocation (nil p: none).
type pinnedBuf struct {
	p     unsafe.Pointer
	bytes int64
}

// allocPinned allocates bytes of page-locked host memory (no flags: write-combined memory
// would copy faster over PCIe but makes the column-major gather's strided writes crawl).
func (d *device) allocPinned(bytes int64) (pinnedBuf, error) {
	var p unsafe.Pointer
	if st := C.cuMemHostAlloc(&p, C.size_t(bytes), 0); st != C.CUDA_SUCCESS {
		why := fmt.Sprintf("CUresult %d", int(st))
		var name *C.char
		if C.cuGetErrorName(st, &name) == C.CUDA_SUCCESS && name != nil {
			why = C.GoString(name)
		}
		return pinnedBuf{}, fmt.Errorf("cuda engine: cuMemHostAlloc of %s: %s", engine.FormatBytes(bytes), why)
	}
	d.pinned[p] = bytes
	d.pinnedBytes += bytes
	return pinnedBuf{p, bytes}, nil
}

// freePinned frees a page-locked allocation (the driver waits for copies still using it).
func (d *device) freePinned(b *pinnedBuf) {
	if b.p == nil {
		return
	}
	if n, ok := d.pinned[b.p]; ok {
		d.pinnedBytes -= n
		delete(d.pinned, b.p)
		C.cuMemFreeHost(b.p)
	}
	*b = pinnedBuf{}
}

// pinnedShare is the part of the host's available memory the staging buffers may lock.
const pinnedShare = 4

// stagingBuf returns the host buffer to gather batch slot k's targets into, for batches of b:
// the session's page-locked buffer k, allocated or grown to rows x b.bs values of r.t when it is
// too small, else (the driver refused, or the buffers would pass a quarter of the host's
// available memory) r.host[k] as it is, pageable (stageCols allocates or grows it). The upload
// from host[k] must be complete (copied[k]).
func (r *runner) stagingBuf(b *batch, k int) any {
	s, d := r.s, r.d
	elems := int64(len(r.allRows)) * int64(min(b.bs, s.y.Cols))
	need := elems * r.t.size()
	pb := &s.staging[k]
	if pb.bytes < need && !r.pinRefused {
		if r.host[k] != nil && pinnedView(r.host[k], *pb) {
			r.host[k] = nil
		}
		d.freePinned(pb) // too small: replaced
		if avail, ok := sysmem.Available(); ok && d.pinnedBytes+need > avail/pinnedShare {
			r.pinRefused = true
		} else if nb, err := d.allocPinned(need); err != nil {
			r.pinRefused = true // pageable from here on in this Score
		} else {
			*pb = nb
		}
	}
	if pb.bytes < need {
		return r.host[k]
	}
	if r.t == f32 {
		return unsafe.Slice((*float32)(pb.p), pb.bytes/4)
	}
	return unsafe.Slice((*float64)(pb.p), pb.bytes/8)
}

// pinnedView reports whether host slice h lies in pb's memory.
func pinnedView(h any, pb pinnedBuf) bool {
	if pb.p == nil {
		return false
	}
	var p unsafe.Pointer
	switch v := h.(type) {
	case []float32:
		p = unsafe.Pointer(unsafe.SliceData(v))
	case []float64:
		p = unsafe.Pointer(unsafe.SliceData(v))
	default:
		return false
	}
	return uintptr(p) >= uintptr(pb.p) && uintptr(p) < uintptr(pb.p)+uintptr(pb.bytes)
}

// releaseStaging frees the session's page-locked staging buffers (on the context thread).
func (s *session) releaseStaging() {
	for k := range s.staging {
		s.e.dev.freePinned(&s.staging[k])
	}
}
