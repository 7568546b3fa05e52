// cudasim: the project's CUDA kernels (kernels/*.cu, the very sources nvcc compiles to the
// checked-in PTX) compiled for the host, and launched thread by thread.
//
// The kernels are grid-stride loops with no shared memory, barriers or atomics (checked by the
// Makefile), so running the threads of a launch one after another computes what the GPU computes,
// and a launch whose grid is too small for its work shows up as missing results.
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <utility>

#include "sim.h"

struct simDim3 {
    unsigned x, y, z;
};
static thread_local simDim3 threadIdx, blockIdx, blockDim, gridDim;

#define __global__
#define __device__ static inline

// CUDA's bit casts between float and unsigned (device intrinsics on the GPU).
static inline unsigned __float_as_uint(float v) {
    unsigned u;
    memcpy(&u, &v, 4);
    return u;
}
static inline float __uint_as_float(unsigned u) {
    float v;
    memcpy(&v, &u, 4);
    return v;
}

#include "kernel_sources.inc"  // #include of every kernels/*.cu, made by the Makefile

namespace {

// A pointer argument must be null or point into a live device allocation (a host pointer passed
// as a kernel argument would crash a GPU; here it would silently work, so it is refused).
template <typename T>
bool checkArg(const char*, int, T) {
    return true;
}
template <typename T>
bool checkArg(const char* kernel, int i, T* p) {
    if (p == nullptr || cudasim_device_range((uintptr_t)p, 1)) return true;
    char why[96];
    snprintf(why, sizeof why, "argument %d (%p) is not device memory", i, (void*)p);
    cudasim_fail(kernel, why);
    return false;
}

template <typename... A, size_t... I>
bool check(const char* name, void (*)(A...), void** params, std::index_sequence<I...>) {
    // gorgonia.org/cu passes every parameter as 8 bytes (kernels/common.cuh's convention).
    static_assert(((sizeof(A) == 8) && ...), "kernel parameters must be 8 bytes");
    return (checkArg(name, (int)I, *static_cast<A*>(params[I])) && ...);
}

template <typename... A, size_t... I>
void call(void (*fn)(A...), void** params, std::index_sequence<I...>) {
    fn(*static_cast<A*>(params[I])...);
}

template <typename... A>
bool check(const char* name, void (*fn)(A...), void** params) {
    return check(name, fn, params, std::index_sequence_for<A...>{});
}
template <typename... A>
void call(void (*fn)(A...), void** params) {
    call(fn, params, std::index_sequence_for<A...>{});
}

struct KernelEntry {
    const char* name;
    int nargs;
    bool (*check)(void** params);  // the arguments, once per launch
    void (*call)(void** params);   // one thread
};

template <typename... A>
constexpr int count(void (*)(A...)) {
    return (int)sizeof...(A);
}

#define KERNEL(n) {#n, count(n), [](void** p) { return check(#n, n, p); }, [](void** p) { call(n, p); }},
const KernelEntry kernelTable[] = {
#include "kernel_list.inc"  // KERNEL(name) for every extern "C" __global__ function, made by the Makefile
};

}  // namespace

// cudasim_kernel returns the host entry of kernel name, or null.
extern "C" __attribute__((visibility("hidden"))) void* cudasim_kernel(const char* name) {
    for (const KernelEntry& k : kernelTable) {
        if (__builtin_strcmp(k.name, name) == 0) return (void*)&k;
    }
    return nullptr;
}

extern "C" __attribute__((visibility("hidden"))) int cudasim_kernel_args(void* entry) {
    return ((const KernelEntry*)entry)->nargs;
}

// cudasim_kernel_check: false when a pointer argument is not device memory.
extern "C" __attribute__((visibility("hidden"))) int cudasim_kernel_check(void* entry, void** params) {
    return ((const KernelEntry*)entry)->check(params);
}

// cudasim_launch runs every thread of the grid in turn.
extern "C" __attribute__((visibility("hidden"))) void cudasim_launch(void* entry, unsigned gx, unsigned gy,
                                                                    unsigned gz, unsigned bx, unsigned by,
                                                                    unsigned bz, void** params) {
    const KernelEntry* k = (const KernelEntry*)entry;
    gridDim = {gx, gy, gz};
    blockDim = {bx, by, bz};
    for (unsigned z = 0; z < gz; z++)
        for (unsigned y = 0; y < gy; y++)
            for (unsigned x = 0; x < gx; x++) {
                blockIdx = {x, y, z};
                for (unsigned tz = 0; tz < bz; tz++)
                    for (unsigned ty = 0; ty < by; ty++)
                        for (unsigned tx = 0; tx < bx; tx++) {
                            threadIdx = {tx, ty, tz};
                            k->call(params);
                        }
            }
}
