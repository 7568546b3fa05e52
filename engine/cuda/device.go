//go:build cuda

package cuda

import (
	"errors"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"strings"
	"unsafe"

	"gorgonia.org/cu"
	cublas "gorgonia.org/cu/blas"

	"github.com/brainalign/brainalign/engine"
	"github.com/brainalign/brainalign/kernels"
)

// errDeviceOOM marks an allocation that did not fit: a real CUDA_ERROR_OUT_OF_MEMORY, the
// engine's own accounting against Options.MemoryLimit, or an injected test failure. Batches
// shrink on it; it never escapes a Score call unwrapped (ErrOutOfMemory does).
var errDeviceOOM = errors.New("device out of memory")

// device owns one CUDA context on a goroutine locked to its OS thread; every driver, cuBLAS and
// cuSOLVER call of the engine runs there, through do.
type device struct {
	ord  int
	name string
	work chan func()
	done chan struct{}

	ctx     cu.CUContext
	compute cu.Stream // kernels, products, solver
	copy    cu.Stream // uploads of the next target batch (streamed brain data)
	blas    *cublas.Standard
	tf32    bool
	sol     *solver

	// The next fold's decomposition runs on its own stream, alongside the current fold's
	// products (runner.queueSplit), with its own cuBLAS and cuSOLVER handles: a handle's
	// workspace must not serve two streams at once.
	aux     cu.Stream
	auxBLAS *blasHandle
	auxSol  *solver
	stream  cu.Stream // where launch, zero and gemm queue work: compute, or aux inside onAux
	mods    []cu.Module
	fns     map[string]cu.Function
	events  []cu.Event

	// Allocation accounting: limit caps used (0: no cap beyond the device); failAllocs makes
	// the next allocations fail as out of memory (tests).
	limit      int64
	used       int64
	sizes      map[cu.DevicePtr]int64
	failAllocs int
	onGemm     func(gemmShape) // tests: sees every product cuBLAS is asked for

	// Page-locked host memory (the streamed brain data's staging buffers, pinned.go), by
	// pointer, and its total.
	pinned      map[unsafe.Pointer]int64
	pinnedBytes int64
}

// newDevice starts the context thread for device ord.
func newDevice(ord int) (*device, error) {
	d := &device{ord: ord, work: make(chan func()), done: make(chan struct{}), sizes: map[cu.DevicePtr]int64{},
		pinned: map[unsafe.Pointer]int64{}}
	errc := make(chan error)
	go d.loop(errc)
	if err := <-errc; err != nil {
		return nil, err
	}
	return d, nil
}

func (d *device) loop(errc chan<- error) {
	runtime.LockOSThread() // never unlocked: the thread ends with the goroutine, context and all
	defer close(d.done)
	if err := catch(d.init); err != nil {
		d.teardown()
		errc <- err
		return
	}
	errc <- nil
	for fn := range d.work {
		fn()
	}
	d.teardown()
}

// do runs fn on the context thread and returns its error; a panic in fn (gorgonia.org/cu/blas
// panics on bad arguments) becomes an error.
func (d *device) do(fn func() error) error {
	errc := make(chan error, 1)
	d.work <- func() { errc <- catch(fn) }
	return <-errc
}

func catch(fn func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = panicError{p}
		}
	}()
	return fn()
}

// panicError is a panic on the context thread, as an error (tests tell it from the others).
type panicError struct{ v any }

func (p panicError) Error() string { return fmt.Sprintf("cuda engine: %v", p.v) }

// close stops the context thread, releasing everything.
func (d *device) close() {
	close(d.work)
	<-d.done
}

func (d *device) init() error {
	n, err := cu.NumDevices()
	if err != nil {
		return fmt.Errorf("cuda engine: counting devices: %w", err)
	}
	if d.ord >= n {
		return fmt.Errorf("cuda engine: no device %d (this machine has %d)", d.ord, n)
	}
	dev, err := cu.GetDevice(d.ord)
	if err != nil {
		return fmt.Errorf("cuda engine: device %d: %w", d.ord, err)
	}
	name, err := dev.Name()
	if err != nil { // a driver that cannot name its device is not one to compute on
		return fmt.Errorf("cuda engine: device %d: its name: %w", d.ord, err)
	}
	d.name = fmt.Sprintf("cuda:%d (%s)", d.ord, name)
	if d.ctx, err = dev.MakeContext(cu.SchedAuto); err != nil { // current on this thread
		return fmt.Errorf("cuda engine: context on device %d: %w", d.ord, err)
	}
	if d.compute, err = cu.MakeStream(cu.NonBlocking); err != nil {
		return fmt.Errorf("cuda engine: stream: %w", err)
	}
	if d.copy, err = cu.MakeStream(cu.NonBlocking); err != nil {
		return fmt.Errorf("cuda engine: stream: %w", err)
	}
	if d.aux, err = cu.MakeStream(cu.NonBlocking); err != nil {
		return fmt.Errorf("cuda engine: stream: %w", err)
	}
	d.stream = d.compute
	if err := d.resetBLAS(); err != nil {
		return err
	}
	if d.sol, err = newSolver(d.compute); err != nil {
		return err
	}
	if d.auxBLAS, err = newBLASHandle(d.aux); err != nil {
		return err
	}
	if d.auxSol, err = newSolver(d.aux); err != nil {
		return err
	}
	d.fns = map[string]cu.Function{}
	// in a fixed order: the same calls in the same order each time (cudasim's fault injection
	// counts them)
	for _, mod := range slices.Sorted(maps.Keys(kernels.Entries)) {
		names := kernels.Entries[mod]
		ptx, err := kernels.PTX(mod)
		if err != nil {
			return err
		}
		m, err := cu.LoadData(ptx)
		if err != nil {
			return fmt.Errorf("cuda engine: loading kernels %s (%s, JIT-compiled for this GPU by a driver of CUDA %d.%d): %w",
				mod, ptxTarget(ptx), cu.Version()/1000, cu.Version()%1000/10, err)
		}
		d.mods = append(d.mods, m)
		for _, nm := range names {
			f, err := m.Function(nm)
			if err != nil {
				return fmt.Errorf("cuda engine: kernel %s.%s: %w", mod, nm, err)
			}
			d.fns[nm] = f
		}
	}
	return nil
}

// resetBLAS (re)creates the cuBLAS handle: gorgonia.org/cu/blas keeps its first error and
// ignores every later call, so a failed product needs a fresh handle.
func (d *device) resetBLAS() error {
	if d.blas != nil {
		d.blas.Close()
		d.blas = nil
	}
	var impl *cublas.Standard
	if err := catch(func() error { impl = cublas.New(); return nil }); err != nil {
		// gorgonia.org/cu/blas panics with the status: an error of the library, not a bug
		var pe panicError
		if errors.As(err, &pe) {
			return fmt.Errorf("cuda engine: cuBLAS handle (cublasCreate): %v", pe.v)
		}
		return fmt.Errorf("cuda engine: cuBLAS handle (cublasCreate): %w", err)
	}
	d.blas = impl
	return cublasSetup(impl, d.compute, d.tf32)
}

// setTF32 sets the math mode of the products, at the start of every Score: a Score that failed
// may have left the handle in another mode than d.tf32 says (a failed switch, or a failed return
// from the float32 products of selectKFold, refitProduct or heldOutShift). d.tf32 changes only
// once the handle's mode has.
func (d *device) setTF32(on bool) error {
	if err := cublasSetup(d.blas, d.compute, on); err != nil {
		return err
	}
	d.tf32 = on
	return nil
}

func (d *device) teardown() {
	for len(d.sizes) > 0 {
		for p := range d.sizes {
			d.free(p)
		}
	}
	for p, n := range d.pinned { // sessions left open: their staging buffers
		d.freePinned(&pinnedBuf{p, n})
	}
	for i := range d.events {
		cu.DestroyEvent(&d.events[i])
	}
	for _, m := range d.mods {
		m.Unload()
	}
	if d.sol != nil {
		d.sol.close()
	}
	if d.auxSol != nil {
		d.auxSol.close()
	}
	if d.blas != nil {
		d.blas.Close()
	}
	if d.auxBLAS != nil {
		d.auxBLAS.close()
	}
	if d.aux != (cu.Stream{}) {
		d.aux.Destroy()
	}
	if d.copy != (cu.Stream{}) {
		d.copy.Destroy()
	}
	if d.compute != (cu.Stream{}) {
		d.compute.Destroy()
	}
	if d.ctx != (cu.CUContext{}) {
		d.ctx.Destroy()
	}
}

// onAux runs fn with the kernels, memsets and float64 products it issues queued on the
// decomposition stream (aux) instead of the compute stream.
func (d *device) onAux(fn func() error) error {
	d.stream = d.aux
	defer func() { d.stream = d.compute }()
	return fn()
}

// alloc allocates bytes of device memory, failing with errDeviceOOM when the device is full or
// the engine's limit would be passed.
func (d *device) alloc(bytes int64) (cu.DevicePtr, error) {
	if bytes < 0 {
		panic("cuda: negative allocation")
	}
	bytes = max(bytes, 8)
	bytes = (bytes + 255) &^ 255
	if d.failAllocs > 0 {
		d.failAllocs--
		return 0, fmt.Errorf("%w: injected failure of %s", errDeviceOOM, engine.FormatBytes(bytes))
	}
	if d.limit > 0 && d.used+bytes > d.limit {
		return 0, fmt.Errorf("%w: %s more would pass the memory limit of %s (%s in use)",
			errDeviceOOM, engine.FormatBytes(bytes), engine.FormatBytes(d.limit), engine.FormatBytes(d.used))
	}
	p, err := cu.MemAlloc(bytes)
	if err != nil {
		if errors.Is(err, cu.OutOfMemory) {
			return 0, fmt.Errorf("%w: allocating %s: %v", errDeviceOOM, engine.FormatBytes(bytes), err)
		}
		return 0, fmt.Errorf("cuda engine: allocating %s: %w", engine.FormatBytes(bytes), err)
	}
	d.used += bytes
	d.sizes[p] = bytes
	return p, nil
}

func (d *device) free(p cu.DevicePtr) {
	if p == 0 {
		return
	}
	if n, ok := d.sizes[p]; ok {
		d.used -= n
		delete(d.sizes, p)
	}
	cu.MemFree(p)
}

// freeMem returns the device's free memory as the driver reports it.
func (d *device) freeMem() int64 {
	free, _, err := cu.MemInfo()
	if err != nil {
		return 0
	}
	return free
}

// pool groups allocations released together.
type pool struct {
	d    *device
	ptrs []cu.DevicePtr
}

func (p *pool) alloc(bytes int64) (cu.DevicePtr, error) {
	ptr, err := p.d.alloc(bytes)
	if err == nil {
		p.ptrs = append(p.ptrs, ptr)
	}
	return ptr, err
}

// allocUntil returns an allocation function for a run of allocations checked once: after the
// first failure, stored in *err, it allocates nothing more and returns 0.
func allocUntil(err *error) func(p *pool, bytes int64) cu.DevicePtr {
	return func(p *pool, bytes int64) cu.DevicePtr {
		if *err != nil {
			return 0
		}
		ptr, e := p.alloc(bytes)
		*err = e
		return ptr
	}
}

func (p *pool) release() {
	for _, ptr := range p.ptrs {
		p.d.free(ptr)
	}
	p.ptrs = nil
}

// upload copies a host slice to the device on stream s (asynchronous with respect to the device;
// from pageable memory the driver stages the copy before returning, from page-locked memory
// (pinned.go) it reads src when the copy runs: src must not change until the stream is past it).
func upload[T any](dst cu.DevicePtr, src []T, s cu.Stream) error {
	if len(src) == 0 {
		return nil
	}
	var z T
	n := int64(len(src)) * int64(unsafe.Sizeof(z))
	err := cu.MemcpyHtoDAsync(dst, unsafe.Pointer(&src[0]), n, s)
	runtime.KeepAlive(src)
	if err != nil {
		return fmt.Errorf("cuda engine: host-to-device copy of %d bytes: %w", n, err)
	}
	return nil
}

// download copies device memory into a Go slice and waits for it (and all earlier work on s).
func download[T any](dst []T, src cu.DevicePtr, s cu.Stream) error {
	if len(dst) == 0 {
		return nil
	}
	var z T
	n := int64(len(dst)) * int64(unsafe.Sizeof(z))
	if err := cu.MemcpyDtoHAsync(unsafe.Pointer(&dst[0]), src, n, s); err != nil {
		return fmt.Errorf("cuda engine: device-to-host copy of %d bytes: %w", n, err)
	}
	err := s.Synchronize()
	runtime.KeepAlive(dst)
	if err != nil {
		return fmt.Errorf("cuda engine: device-to-host copy of %d bytes: waiting for it: %w", n, err)
	}
	return nil
}

// event returns the i-th event of the device's pool (timing marks).
func (d *device) event(i int) (cu.Event, error) {
	for len(d.events) <= i {
		ev, err := cu.MakeEvent(cu.DefaultEvent)
		if err != nil {
			return cu.Event{}, fmt.Errorf("cuda engine: event: %w", err)
		}
		d.events = append(d.events, ev)
	}
	return d.events[i], nil
}

// ptxTarget returns a PTX module's ".version" and ".target" lines, for errors: a driver older
// than the toolkit that wrote the PTX rejects it.
func ptxTarget(ptx string) string {
	var out []string
	for _, line := range strings.Split(ptx, "\n") {
		if f := strings.Fields(line); len(f) == 2 && (f[0] == ".version" || f[0] == ".target") {
			out = append(out, "PTX "+f[0][1:]+" "+f[1])
		}
		if len(out) == 2 {
			break
		}
	}
	return strings.Join(out, ", ")
}
