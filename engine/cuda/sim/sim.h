// cudasim: what the simulated cuBLAS and cuSOLVER need from the simulated driver (libcuda.so.1).
#pragma once

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// cudasim_device_range reports whether [p, p+bytes) lies inside one live device allocation.
int cudasim_device_range(uintptr_t p, size_t bytes);

// cudasim_has_context reports whether the calling OS thread has a current context (cuBLAS and
// cuSOLVER work in the calling thread's context, as the driver calls do).
int cudasim_has_context(void);

// cudasim_valid_stream reports whether s is 0 (the default stream) or a live stream.
int cudasim_valid_stream(void* s);

// cudasim_enqueue queues fn(arg) on stream (0: run it now); see driver.cc's "streams".
void cudasim_enqueue(void* stream, void (*fn)(void*), void* arg);

// cudasim_inject counts a library call and reports whether it is the armed fault's (driver.cc,
// "Faults"): 0 no, 1 fail with the library's generic error, 2 with its out-of-memory code.
int cudasim_inject(const char* call);

// cudasim_track counts cuBLAS (kind 0) and cuSOLVER (kind 1) handles created (+1) and destroyed (-1).
void cudasim_track(int kind, int delta);

// The tests' hooks, looked up with dlsym (a real libcuda has none):
//
// cudasim_faults arms a fault ("alloc:K", "call:K", "oom:K"; K-L or K- for a run of them) or counting only ("count"), which
// restarts the counts, or disarms ("" or "off"), which keeps them; 0 for a spec it does not know.
int cudasim_faults(const char* spec);
// cudasim_stats fills out[0..n) with: the calls counted since cudasim_faults, the device
// allocations among them, the live device bytes and allocations, the live page-locked bytes and
// allocations, the live events, streams, modules, contexts, cuBLAS and cuSOLVER handles.
void cudasim_stats(uint64_t* out, int n);
// cudasim_call_name is the name of the k-th counted call (1-based; a launch's names its kernel,
// a copy's, memset's or allocation's its bytes: "cuMemAlloc (256 bytes)"), or null past the last.
const char* cudasim_call_name(uint64_t k);

// cudasim_fail prints a diagnostic naming the library call that was refused.
void cudasim_fail(const char* call, const char* why);

#ifdef __cplusplus
}
#endif

#ifdef __cplusplus
#include <functional>

// cudasim_later queues work on stream (cuBLAS's and cuSOLVER's calls run in their stream's order).
inline void cudasim_later(void* stream, std::function<void()> work) {
    auto* f = new std::function<void()>(std::move(work));
    cudasim_enqueue(stream, [](void* p) {
        auto* g = (std::function<void()>*)p;
        (*g)();
        delete g;
    }, f);
}
#endif
