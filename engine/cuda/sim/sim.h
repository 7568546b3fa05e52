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
