//go:build cuda

package cuda

// The fault-injection hooks of cudasim (engine/cuda/sim: driver.cc's "Faults"), for the tests.
// They are looked up at run time with dlsym, since a real libcuda has none: the binary links
// and runs against the real libraries unchanged, and the tests that need the hooks skip there.

// #cgo LDFLAGS: -ldl
// #define _GNU_SOURCE
// #include <dlfcn.h>
// #include <stdint.h>
// #include <stdlib.h>
//
// typedef int (*sim_faults_fn)(const char*);
// typedef void (*sim_stats_fn)(uint64_t*, int);
// typedef const char* (*sim_name_fn)(uint64_t);
//
// static void* sim_lookup(const char* name) { return dlsym(RTLD_DEFAULT, name); }
// static int sim_faults(void* f, const char* spec) { return ((sim_faults_fn)f)(spec); }
// static void sim_stats(void* f, uint64_t* out, int n) { ((sim_stats_fn)f)(out, n); }
// static const char* sim_name(void* f, uint64_t k) { return ((sim_name_fn)f)(k); }
import "C"

import (
	"fmt"
	"sync"
	"unsafe"
)

// simStats is what cudasim counts (cudasim_stats): the calls counted since the faults were last
// armed and the device allocations among them, and what is live now.
type simStats struct {
	Calls, Allocs                     uint64
	DeviceBytes, DeviceAllocs         uint64
	PinnedBytes, PinnedAllocs         uint64
	Events, Streams, Modules, Context uint64
	BLASHandles, SolverHandles        uint64
}

var simHooks struct {
	once                sync.Once
	faults, stats, name unsafe.Pointer
}

func lookupSimHooks() bool {
	simHooks.once.Do(func() {
		look := func(name string) unsafe.Pointer {
			cs := C.CString(name)
			defer C.free(unsafe.Pointer(cs))
			return C.sim_lookup(cs)
		}
		simHooks.faults, simHooks.stats, simHooks.name = look("cudasim_faults"), look("cudasim_stats"), look("cudasim_call_name")
	})
	return simHooks.faults != nil && simHooks.stats != nil && simHooks.name != nil
}

// simFaults arms cudasim's fault injection with spec ("alloc:K", "call:K", "oom:K", "count" or
// "off") and restarts its counts. It reports false where the driver is not cudasim.
func simFaults(spec string) (bool, error) {
	if !lookupSimHooks() {
		return false, nil
	}
	cs := C.CString(spec)
	defer C.free(unsafe.Pointer(cs))
	if C.sim_faults(simHooks.faults, cs) == 0 {
		return true, fmt.Errorf("cudasim: fault spec %q not understood", spec)
	}
	return true, nil
}

// readSimStats returns cudasim's counts (false where the driver is not cudasim).
func readSimStats() (simStats, bool) {
	if !lookupSimHooks() {
		return simStats{}, false
	}
	var v [12]C.uint64_t
	C.sim_stats(simHooks.stats, &v[0], C.int(len(v)))
	return simStats{
		uint64(v[0]), uint64(v[1]), uint64(v[2]), uint64(v[3]), uint64(v[4]), uint64(v[5]),
		uint64(v[6]), uint64(v[7]), uint64(v[8]), uint64(v[9]), uint64(v[10]), uint64(v[11]),
	}, true
}

// simCallName is the C function name of the k-th counted call (1-based; a launch's includes its
// kernel, a copy's, memset's or allocation's its bytes), or "" past the last.
func simCallName(k uint64) string {
	if !lookupSimHooks() {
		return ""
	}
	if p := C.sim_name(simHooks.name, C.uint64_t(k)); p != nil {
		return C.GoString(p)
	}
	return ""
}
