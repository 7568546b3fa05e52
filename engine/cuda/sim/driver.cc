// cudasim's libcuda.so.1: the part of the CUDA driver API the cuda engine uses, on the host.
//
// Device memory is host memory from mmap, each allocation ending at an inaccessible guard page
// (a kernel or copy that runs past the end of a buffer faults) and filled with 0xff bytes (NaN as
// floats, -1 as int32), because real device memory is not zeroed. The device's size is
// CUDASIM_MEMORY (bytes; k, M or G suffix; default 1G): cuMemAlloc fails with
// CUDA_ERROR_OUT_OF_MEMORY past it and cuMemGetInfo reports what is left. Page-locked (pinned)
// host memory (cuMemHostAlloc, cuMemAllocHost) is host memory from mmap too, ending at a guard
// page and filled with 0xff; CUDASIM_PINNED (bytes, read at each call so that a test can change
// it; default no limit, 0 refuses every allocation) caps it, as a host short of memory that can
// be locked fails the call. Freed page-locked memory stays reserved and inaccessible, so a copy
// from or to it is refused and a host access faults; so does freed device memory, so a kernel
// still using it faults instead of writing whatever the process maps there next. Every call that needs
// a context checks that the calling OS thread has one current, as the driver does. Streams run
// their work at once, in the calling thread, so the simulator cannot find a missing
// synchronisation; events keep the wall-clock time of their record.
//
// Faults: CUDASIM_FAIL (read at cuInit) or cudasim_faults (a test's hook, see sim.h) makes one
// chosen call fail, deterministically, counting the calls made since: alloc:K, the K-th device
// allocation (cuMemAlloc) returns CUDA_ERROR_OUT_OF_MEMORY; call:K, the K-th call of any kind
// (driver, cuBLAS or cuSOLVER) returns its library's generic error (CUDA_ERROR_UNKNOWN,
// CUBLAS_STATUS_EXECUTION_FAILED, CUSOLVER_STATUS_EXECUTION_FAILED); oom:K, the K-th call
// returns its library's out-of-memory code (CUDA_ERROR_OUT_OF_MEMORY, CUBLAS_STATUS_ALLOC_FAILED,
// CUSOLVER_STATUS_ALLOC_FAILED); K-L instead of K fails the K-th to the L-th, K- every one from
// the K-th on (a device that stays broken); count only counts. A failed call does nothing, and
// the fault is not sticky. Releases (cuMemFree, cuMemFreeHost, the Destroy and Unload calls), cuInit,
// cuDriverGetVersion, cuCtxSetCurrent, cuCtxGetCurrent and cuGetError* never fail and are not
// counted: what a program does after a failed release is not a question an error path can answer.
#include <cuda.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <random>
#include <mutex>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "sim.h"

extern "C" void* cudasim_kernel(const char* name);
extern "C" int cudasim_kernel_args(void* entry);
extern "C" int cudasim_kernel_check(void* entry, void** params);
extern "C" void cudasim_launch(void* entry, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by,
                               unsigned bz, void** params);

struct CUctx_st {
    int device;
};
// A stream is a queue of work (see "streams" below); done counts the items run.
struct CUstream_st {
    unsigned flags;
    std::deque<std::function<void()>> queue;
    uint64_t queued, done;
};
// An event's last record: on stream, as that stream's item seq; ms once it has run.
struct CUevent_st {
    unsigned flags;
    CUstream_st* stream;
    uint64_t seq;
    bool recorded, happened;
    double ms;
};
struct CUmod_st {
    std::set<std::string> entries;
};
struct CUfunc_st {
    CUmod_st* mod;
    std::string name;
    void* entry;
};

namespace {

struct Allocation {
    uintptr_t base;  // the mapping, guard page included
    size_t mapped;
    size_t bytes;    // from the device pointer to the guard page (the request, rounded to 256)
    size_t charged;  // against CUDASIM_MEMORY
};

// HostAllocation is page-locked host memory (cuMemHostAlloc), ending at a guard page.
struct HostAllocation {
    uintptr_t base;  // the mapping, guard page included
    size_t mapped;
    size_t bytes;  // from the pointer to the guard page
};

std::recursive_mutex mu;  // guards everything below (recursive: queued work calls back in)
bool initialised;
std::map<uintptr_t, Allocation> allocations;  // by device pointer
size_t used, limit;
std::map<uintptr_t, HostAllocation> pinned;  // live page-locked host memory, by pointer
std::map<uintptr_t, HostAllocation> freedPinned;  // freed by cuMemFreeHost: reserved, inaccessible
size_t pinnedUsed;
std::set<CUctx_st*> contexts;
std::set<CUstream_st*> streams;
std::set<CUevent_st*> events;
std::set<CUmod_st*> modules;
CUresult sticky = CUDA_SUCCESS;  // a kernel fault poisons the context, as on a GPU
thread_local CUctx_st* current;

// Fault injection (see the top of the file): the armed spec, the calls and device allocations
// counted since it was armed, and each counted call's name (cudasim_call_name).
enum FaultKind { NO_FAULTS, COUNT_ONLY, FAIL_ALLOC, FAIL_CALL, FAIL_OOM };
FaultKind faultKind = NO_FAULTS;
uint64_t faultAt, faultLast, faultCalls, faultAllocs;
std::vector<const char*> faultLog;
std::set<std::string> faultNames;  // interned names with details (a launch's kernel)
long liveBlas, liveSolvers;  // cuBLAS and cuSOLVER handles (cudasim_track)

const size_t page = (size_t)sysconf(_SC_PAGESIZE);

// parseBytes reads CUDASIM_MEMORY: a number of bytes with an optional k, M or G; 0 when invalid.
size_t parseBytes(const char* s, size_t def) {
    if (s == nullptr || *s == 0) return def;
    char* end;
    double v = strtod(s, &end);
    switch (*end) {
        case 'k': case 'K': v *= 1024; end++; break;
        case 'm': case 'M': v *= 1024 * 1024; end++; break;
        case 'g': case 'G': v *= 1024.0 * 1024 * 1024; end++; break;
    }
    if (*end != 0 || !(v >= 1)) return 0;
    return (size_t)v;
}

double nowMs() {
    using namespace std::chrono;
    return duration<double, std::milli>(steady_clock::now().time_since_epoch()).count();
}

// inRange: [p, p+n) inside one live allocation (mu held).
bool inRange(uintptr_t p, size_t n) {
    auto it = allocations.upper_bound(p);
    if (it == allocations.begin()) return false;
    --it;
    return p >= it->first && p - it->first + n <= it->second.bytes && n <= it->second.bytes;
}

// overlapping returns the allocation of m whose [ptr, ptr+bytes) meets [p, p+n), or m.end().
template <class M>
typename M::const_iterator overlapping(const M& m, uintptr_t p, size_t n) {
    auto it = m.upper_bound(p + (n ? n - 1 : 0));
    if (it == m.begin()) return m.end();
    --it;
    return p < it->first + it->second.bytes ? it : m.end();
}

// Host memory a copy reads or writes: pageable, or inside one live page-locked allocation; a
// range that meets freed page-locked memory or runs past a live allocation's edge is refused.
enum HostKind { PAGEABLE, PINNED, REFUSED };

HostKind hostKind(const char* call, uintptr_t p, size_t n) {
    char why[200];
    auto f = overlapping(freedPinned, p, n);
    if (f != freedPinned.end()) {
        snprintf(why, sizeof why, "%zu bytes at %p: page-locked host memory freed by cuMemFreeHost (allocated at %p)",
                 n, (void*)p, (void*)f->first);
        cudasim_fail(call, why);
        return REFUSED;
    }
    auto it = overlapping(pinned, p, n);
    if (it == pinned.end()) return PAGEABLE;
    if (p >= it->first && p - it->first + n <= it->second.bytes) return PINNED;
    snprintf(why, sizeof why, "%zu bytes at %p: past the edge of the page-locked allocation of %zu bytes at %p", n,
             (void*)p, it->second.bytes, (void*)it->first);
    cudasim_fail(call, why);
    return REFUSED;
}

#define LOCK() std::lock_guard<std::recursive_mutex> lock_(mu)

#define NEED_CONTEXT()                                  \
    do {                                                \
        if (!initialised) return CUDA_ERROR_NOT_INITIALIZED; \
        if (current == nullptr) return CUDA_ERROR_INVALID_CONTEXT; \
        if (sticky != CUDA_SUCCESS) return sticky;      \
    } while (0)

// INJECT fails the call when it is the armed fault's (see inject).
#define INJECT(call)                                                                \
    do {                                                                            \
        LOCK();                                                                     \
        if (int f_ = inject(call, false))                                           \
            return f_ == 2 ? CUDA_ERROR_OUT_OF_MEMORY : CUDA_ERROR_UNKNOWN;         \
    } while (0)

bool validStream(CUstream s) { return s == nullptr || streams.count(s) > 0; }

// --- streams ---
//
// Work issued to a stream (copies, memsets, launches, cuBLAS and cuSOLVER calls) is queued and
// runs in issue order, but when it runs is up to the schedule, CUDASIM_STREAMS:
//   lazy (default)  as late as possible: only when the host waits for it (stream or event
//                   synchronisation, a copy to the host, cuMemFree) or another stream's queued
//                   cuStreamWaitEvent needs it; a missing wait reads stale or 0xff-filled memory;
//   random[:SEED]   after each call a random amount of every stream's queue, so streams
//                   overtake one another in varying order: a missing wait or a buffer reused
//                   while queued work still reads it shows in the numbers;
//   eager           at once, in the calling thread (the plain sequential model).
// The default stream (0) runs its work at once.
enum Schedule { LAZY, RANDOM, EAGER };
Schedule schedule = LAZY;
std::mt19937_64 rng;

void runOne(CUstream s) {
    std::function<void()> f = std::move(s->queue.front());
    s->queue.pop_front();
    f();
    s->done++;
}

void runTo(CUstream s, uint64_t seq) {
    while (s->done < seq && !s->queue.empty()) runOne(s);
}

void drain(CUstream s) { runTo(s, s->queued); }

void drainAll() {
    for (bool more = true; more;) {
        more = false;
        for (CUstream s : std::vector<CUstream>(streams.begin(), streams.end())) {
            if (!s->queue.empty()) {
                drain(s);
                more = true;
            }
        }
    }
}

// progress: the random schedule's step, after every call.
void progress() {
    if (schedule != RANDOM) return;
    for (CUstream s : std::vector<CUstream>(streams.begin(), streams.end())) {
        if (s->queue.empty() || rng() % 2) continue;
        uint64_t n = rng() % (s->queue.size() + 1);
        runTo(s, s->done + n);
    }
}

void enqueue(CUstream s, std::function<void()> f) {
    if (s == nullptr || schedule == EAGER) {
        if (s != nullptr) drain(s);
        f();
        if (s != nullptr) {
            s->queued++;
            s->done++;
        }
        return;
    }
    s->queue.push_back(std::move(f));
    s->queued++;
    progress();
}

}  // namespace

extern "C" {

int cudasim_device_range(uintptr_t p, size_t bytes) {
    LOCK();
    return inRange(p, bytes);
}

// armFaults sets the fault spec (see the top of the file) and restarts the counts; false for a
// spec it does not know (nothing armed).
static bool armFaults(const char* spec) {
    FaultKind kind = NO_FAULTS;
    uint64_t at = 0, last = 0;
    if (spec != nullptr && *spec != 0 && strcmp(spec, "off") != 0) {
        const char* colon = strchr(spec, ':');
        std::string what = colon ? std::string(spec, colon - spec) : std::string(spec);
        if (what == "count" && colon == nullptr) {
            kind = COUNT_ONLY;
        } else if (colon != nullptr && (what == "alloc" || what == "call" || what == "oom")) {
            char* end;
            at = strtoull(colon + 1, &end, 10);
            last = at;
            if (*end == '-') {  // K-L, or K- for every one from K on
                last = end[1] == 0 ? UINT64_MAX : strtoull(end + 1, &end, 10);
                if (end[0] == '-') end++;
            }
            if (*end != 0 || at == 0 || last < at) return false;
            kind = what == "alloc" ? FAIL_ALLOC : what == "call" ? FAIL_CALL : FAIL_OOM;
        } else {
            return false;
        }
    }
    faultKind = kind;
    faultAt = at;
    faultLast = last;
    if (kind != NO_FAULTS) {  // off keeps the counts of the run that was armed, for reading
        faultCalls = faultAllocs = 0;
        faultLog.clear();
    }
    return true;
}

// sized is call's name with its byte count, "cuMemAlloc (256 bytes)", interned, while faults are
// armed (else call): the same function at two places of the engine mostly moves different sizes,
// which tells the places apart in the call log (TestFaultInjection fails every place).
static const char* sized(const char* call, size_t bytes) {
    if (faultKind == NO_FAULTS) return call;
    return faultNames.insert(std::string(call) + " (" + std::to_string(bytes) + " bytes)").first->c_str();
}

// inject counts a call (alloc: a device allocation) and says whether it is the one to fail: 0
// no, 1 with the library's generic error, 2 with its out-of-memory code.
static int inject(const char* call, bool alloc) {
    if (faultKind == NO_FAULTS) return 0;
    faultCalls++;
    faultLog.push_back(call);
    if (alloc) faultAllocs++;
    switch (faultKind) {
        case FAIL_ALLOC: return alloc && faultAllocs >= faultAt && faultAllocs <= faultLast ? 2 : 0;
        case FAIL_CALL: return faultCalls >= faultAt && faultCalls <= faultLast ? 1 : 0;
        case FAIL_OOM: return faultCalls >= faultAt && faultCalls <= faultLast ? 2 : 0;
        default: return 0;
    }
}

int cudasim_inject(const char* call) {
    LOCK();
    return inject(call, false);
}

int cudasim_faults(const char* spec) {
    LOCK();
    return armFaults(spec) ? 1 : 0;
}

void cudasim_stats(uint64_t* out, int n) {
    LOCK();
    uint64_t v[] = {faultCalls, faultAllocs, used, allocations.size(), pinnedUsed, pinned.size(), events.size(),
                    streams.size(), modules.size(), contexts.size(), (uint64_t)liveBlas, (uint64_t)liveSolvers};
    for (int i = 0; i < n && i < (int)(sizeof v / sizeof v[0]); i++) out[i] = v[i];
}

const char* cudasim_call_name(uint64_t k) {
    LOCK();
    return k >= 1 && k <= faultLog.size() ? faultLog[k - 1] : nullptr;
}

void cudasim_track(int kind, int delta) {
    LOCK();
    (kind == 0 ? liveBlas : liveSolvers) += delta;
}

int cudasim_has_context(void) { return current != nullptr; }

int cudasim_valid_stream(void* s) {
    LOCK();
    return validStream((CUstream)s);
}

void cudasim_fail(const char* call, const char* why) { fprintf(stderr, "cudasim: %s: %s\n", call, why); }

void cudasim_enqueue(void* stream, void (*fn)(void*), void* arg) {
    LOCK();
    enqueue((CUstream)stream, [fn, arg] { fn(arg); });
}

CUresult cuInit(unsigned int flags) {
    if (flags != 0) return CUDA_ERROR_INVALID_VALUE;
    LOCK();
    limit = parseBytes(getenv("CUDASIM_MEMORY"), (size_t)1 << 30);
    if (limit == 0) {
        fprintf(stderr, "cudasim: CUDASIM_MEMORY=%s: want bytes, e.g. 8M or 2G\n", getenv("CUDASIM_MEMORY"));
        return CUDA_ERROR_INVALID_VALUE;
    }
    const char* sched = getenv("CUDASIM_STREAMS");
    if (sched == nullptr || *sched == 0 || strcmp(sched, "lazy") == 0) {
        schedule = LAZY;
    } else if (strcmp(sched, "eager") == 0) {
        schedule = EAGER;
    } else if (strncmp(sched, "random", 6) == 0) {
        schedule = RANDOM;
        rng.seed(sched[6] == ':' ? strtoull(sched + 7, nullptr, 10) : 1);
    } else {
        fprintf(stderr, "cudasim: CUDASIM_STREAMS=%s: want lazy, eager or random[:SEED]\n", sched);
        return CUDA_ERROR_INVALID_VALUE;
    }
    if (!armFaults(getenv("CUDASIM_FAIL"))) {
        fprintf(stderr, "cudasim: CUDASIM_FAIL=%s: want alloc:K, call:K, oom:K or count\n", getenv("CUDASIM_FAIL"));
        return CUDA_ERROR_INVALID_VALUE;
    }
    initialised = true;
    return CUDA_SUCCESS;
}

CUresult cuDriverGetVersion(int* v) {
    if (!v) return CUDA_ERROR_INVALID_VALUE;
    *v = 11080;
    return CUDA_SUCCESS;
}

CUresult cuDeviceGetCount(int* n) {
    if (!initialised) return CUDA_ERROR_NOT_INITIALIZED;
    INJECT("cuDeviceGetCount");
    if (!n) return CUDA_ERROR_INVALID_VALUE;
    *n = 1;
    return CUDA_SUCCESS;
}

CUresult cuDeviceGet(CUdevice* d, int ordinal) {
    if (!initialised) return CUDA_ERROR_NOT_INITIALIZED;
    INJECT("cuDeviceGet");
    if (!d) return CUDA_ERROR_INVALID_VALUE;
    if (ordinal != 0) return CUDA_ERROR_INVALID_DEVICE;
    *d = 0;
    return CUDA_SUCCESS;
}

CUresult cuDeviceGetName(char* name, int len, CUdevice d) {
    if (!initialised) return CUDA_ERROR_NOT_INITIALIZED;
    INJECT("cuDeviceGetName");
    if (d != 0) return CUDA_ERROR_INVALID_DEVICE;
    if (!name || len <= 0) return CUDA_ERROR_INVALID_VALUE;
    snprintf(name, (size_t)len, "cudasim (host simulation)");
    return CUDA_SUCCESS;
}

CUresult cuDeviceTotalMem(size_t* bytes, CUdevice d) {
    if (!initialised) return CUDA_ERROR_NOT_INITIALIZED;
    INJECT("cuDeviceTotalMem");
    if (d != 0) return CUDA_ERROR_INVALID_DEVICE;
    if (!bytes) return CUDA_ERROR_INVALID_VALUE;
    *bytes = limit;
    return CUDA_SUCCESS;
}

CUresult cuDeviceGetAttribute(int* v, CUdevice_attribute a, CUdevice d) {
    if (!initialised) return CUDA_ERROR_NOT_INITIALIZED;
    INJECT("cuDeviceGetAttribute");
    if (d != 0) return CUDA_ERROR_INVALID_DEVICE;
    if (!v) return CUDA_ERROR_INVALID_VALUE;
    switch (a) {
        case CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT: *v = 4; break;
        case CU_DEVICE_ATTRIBUTE_CLOCK_RATE: *v = 1000000; break;  // kHz
        case CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR: *v = 8; break;
        case CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR: *v = 0; break;
        case CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK: *v = 1024; break;
        case CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_X: *v = 0x7fffffff; break;
        case CU_DEVICE_ATTRIBUTE_WARP_SIZE: *v = 32; break;
        default:
            cudasim_fail("cuDeviceGetAttribute", "attribute not simulated");
            return CUDA_ERROR_NOT_SUPPORTED;
    }
    return CUDA_SUCCESS;
}

// --- contexts ---

CUresult cuCtxCreate(CUcontext* ctx, unsigned int, CUdevice d) {
    if (!initialised) return CUDA_ERROR_NOT_INITIALIZED;
    INJECT("cuCtxCreate");
    if (d != 0) return CUDA_ERROR_INVALID_DEVICE;
    if (!ctx) return CUDA_ERROR_INVALID_VALUE;
    LOCK();
    CUctx_st* c = new CUctx_st{d};
    contexts.insert(c);
    current = c;
    *ctx = c;
    return CUDA_SUCCESS;
}

CUresult cuCtxDestroy(CUcontext ctx) {
    LOCK();
    if (!contexts.erase(ctx)) return CUDA_ERROR_INVALID_CONTEXT;
    if (current == ctx) current = nullptr;
    if (contexts.empty() && !allocations.empty()) {
        fprintf(stderr, "cudasim: %zu allocations (%zu bytes) still live when the last context was destroyed\n",
                allocations.size(), used);
    }
    if (contexts.empty() && !pinned.empty()) {
        fprintf(stderr,
                "cudasim: %zu page-locked host allocations (%zu bytes) still live when the last context was destroyed\n",
                pinned.size(), pinnedUsed);
    }
    delete ctx;
    return CUDA_SUCCESS;
}

CUresult cuCtxSetCurrent(CUcontext ctx) {
    LOCK();
    if (ctx && !contexts.count(ctx)) return CUDA_ERROR_INVALID_CONTEXT;
    current = ctx;
    return CUDA_SUCCESS;
}

CUresult cuCtxGetCurrent(CUcontext* ctx) {
    if (!ctx) return CUDA_ERROR_INVALID_VALUE;
    *ctx = current;
    return CUDA_SUCCESS;
}

CUresult cuCtxSynchronize(void) {
    NEED_CONTEXT();
    INJECT("cuCtxSynchronize");
    LOCK();
    drainAll();
    return CUDA_SUCCESS;
}

// --- memory ---

// guarded maps bytes of memory that end at an inaccessible guard page, so that an access past
// the end faults: the buffer, 256-byte aligned (as cudaMalloc's; the driver's page-locked ones
// are page-aligned, at least that), filled with 0xff (NaN as floats, -1 as int32: real memory
// is not zeroed). It returns the buffer and sets the mapping's base and length and the buffer's
// length from its start to the guard page; 0 when the mapping fails.
static uintptr_t guarded(size_t bytes, uintptr_t* base, size_t* mapped, size_t* usable) {
    size_t body = (bytes + page - 1) / page * page;
    void* m = mmap(nullptr, body + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m == MAP_FAILED) return 0;
    *base = (uintptr_t)m;
    mprotect((void*)(*base + body), page, PROT_NONE);
    uintptr_t ptr = (*base + body - bytes) & ~(uintptr_t)255;
    memset((void*)ptr, 0xff, *base + body - ptr);
    *mapped = body + page;
    *usable = *base + body - ptr;
    return ptr;
}

CUresult cuMemAlloc(CUdeviceptr* p, size_t bytes) {
    NEED_CONTEXT();
    {
        LOCK();
        if (int f_ = inject(sized("cuMemAlloc", bytes), true)) return f_ == 2 ? CUDA_ERROR_OUT_OF_MEMORY : CUDA_ERROR_UNKNOWN;
    }
    if (!p || bytes == 0) return CUDA_ERROR_INVALID_VALUE;
    LOCK();
    size_t charged = (bytes + 511) & ~(size_t)511;
    if (used + charged > limit) return CUDA_ERROR_OUT_OF_MEMORY;
    uintptr_t base;
    size_t mapped, usable;
    uintptr_t ptr = guarded(bytes, &base, &mapped, &usable);
    if (!ptr) return CUDA_ERROR_OUT_OF_MEMORY;
    allocations[ptr] = Allocation{base, mapped, usable, charged};
    used += charged;
    *p = (CUdeviceptr)ptr;
    return CUDA_SUCCESS;
}

CUresult cuMemFree(CUdeviceptr p) {
    NEED_CONTEXT();
    LOCK();
    drainAll();  // as the driver, which waits for work that may still use the memory
    auto it = allocations.find((uintptr_t)p);
    if (it == allocations.end()) {
        cudasim_fail("cuMemFree", pinned.count((uintptr_t)p) ? "page-locked host memory (free it with cuMemFreeHost)"
                                                             : "not the start of a live allocation");
        return CUDA_ERROR_INVALID_VALUE;
    }
    // The pages go back, the addresses stay reserved and inaccessible, as cuMemFreeHost's: a
    // kernel that still reaches freed device memory faults, where an unmapped range could be
    // mapped again by the Go runtime (its spans' metadata live in such mappings) and written.
    mmap((void*)it->second.base, it->second.mapped, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
    used -= it->second.charged;
    allocations.erase(it);
    return CUDA_SUCCESS;
}

CUresult cuMemGetInfo(size_t* free, size_t* total) {
    NEED_CONTEXT();
    INJECT("cuMemGetInfo");
    if (!free || !total) return CUDA_ERROR_INVALID_VALUE;
    LOCK();
    *free = limit > used ? limit - used : 0;
    *total = limit;
    return CUDA_SUCCESS;
}

// pinnedLimit is CUDASIM_PINNED, read at each call: the bytes of host memory that may be
// page-locked (SIZE_MAX when unset; 0 refuses every allocation).
static bool pinnedLimit(size_t* lim) {
    const char* s = getenv("CUDASIM_PINNED");
    if (s == nullptr || *s == 0) {
        *lim = SIZE_MAX;
        return true;
    }
    *lim = strcmp(s, "0") == 0 ? 0 : parseBytes(s, 0);
    if (*lim == 0 && strcmp(s, "0") != 0) {
        fprintf(stderr, "cudasim: CUDASIM_PINNED=%s: want bytes, e.g. 0, 64k or 1G\n", s);
        return false;
    }
    return true;
}

CUresult cuMemHostAlloc(void** pp, size_t bytes, unsigned int flags) {
    NEED_CONTEXT();
    INJECT("cuMemHostAlloc");
    if (!pp || bytes == 0 ||
        (flags & ~(unsigned)(CU_MEMHOSTALLOC_PORTABLE | CU_MEMHOSTALLOC_DEVICEMAP | CU_MEMHOSTALLOC_WRITECOMBINED)))
        return CUDA_ERROR_INVALID_VALUE;
    LOCK();
    size_t lim;
    if (!pinnedLimit(&lim)) return CUDA_ERROR_INVALID_VALUE;
    size_t body = (bytes + page - 1) / page * page;
    if (pinnedUsed + body > lim) return CUDA_ERROR_OUT_OF_MEMORY;
    uintptr_t base;
    size_t mapped, usable;
    uintptr_t ptr = guarded(bytes, &base, &mapped, &usable);
    if (!ptr) return CUDA_ERROR_OUT_OF_MEMORY;
    pinned[ptr] = HostAllocation{base, mapped, usable};
    pinnedUsed += body;
    *pp = (void*)ptr;
    return CUDA_SUCCESS;
}

CUresult cuMemAllocHost(void** pp, size_t bytes) { return cuMemHostAlloc(pp, bytes, 0); }

CUresult cuMemFreeHost(void* p) {
    NEED_CONTEXT();
    LOCK();
    drainAll();  // as cuMemFree: queued copies from or to it complete first
    auto it = pinned.find((uintptr_t)p);
    if (it == pinned.end()) {
        const char* why = "not the start of a live page-locked allocation (cuMemHostAlloc, cuMemAllocHost)";
        if (freedPinned.count((uintptr_t)p)) {
            why = "page-locked host memory already freed";
        } else if (inRange((uintptr_t)p, 1)) {
            why = "device memory (free it with cuMemFree)";
        }
        cudasim_fail("cuMemFreeHost", why);
        return CUDA_ERROR_INVALID_VALUE;
    }
    // The pages go back, the addresses stay reserved and inaccessible: never reused, so a later
    // copy is refused and a host access faults.
    HostAllocation a = it->second;
    mmap((void*)a.base, a.mapped, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
    pinnedUsed -= a.mapped - page;
    pinned.erase(it);
    freedPinned[(uintptr_t)p] = a;
    return CUDA_SUCCESS;
}

// copy: a host-to-device copy from pageable memory takes the host data at the call and writes
// the device when its turn comes; a device-to-host copy to pageable memory returns when done
// (so it waits for the stream), as the driver does for pageable host memory. With page-locked
// host memory both are queued whole, as the DMA engine runs them: a host-to-device copy reads the
// host memory when its turn comes (rewriting it before the copy is known done changes what
// arrives), a device-to-host copy returns at once (the host must wait for the stream or an
// event before reading the data).
static CUresult copy(const char* call, void* dst, bool dstDev, const void* src, bool srcDev, size_t n,
                     CUstream s) {
    NEED_CONTEXT();
    {
        LOCK();
        if (int f_ = inject(sized(call, n), false)) return f_ == 2 ? CUDA_ERROR_OUT_OF_MEMORY : CUDA_ERROR_UNKNOWN;
    }
    LOCK();
    if (!validStream(s)) return CUDA_ERROR_INVALID_HANDLE;
    if (n == 0) return CUDA_SUCCESS;
    if (dstDev != inRange((uintptr_t)dst, n) || srcDev != inRange((uintptr_t)src, n)) {
        char why[160];
        snprintf(why, sizeof why, "%zu bytes from %p (%s) to %p (%s)", n, src,
                 srcDev ? "want device memory" : "want host memory", dst,
                 dstDev ? "want device memory" : "want host memory");
        cudasim_fail(call, why);
        return CUDA_ERROR_INVALID_VALUE;
    }
    HostKind host = PAGEABLE;
    if (!srcDev || !dstDev) {
        host = hostKind(call, srcDev ? (uintptr_t)dst : (uintptr_t)src, n);
        if (host == REFUSED) return CUDA_ERROR_INVALID_VALUE;
    }
    if (host == PINNED) {
        enqueue(s, [dst, src, n] { memcpy(dst, src, n); });
    } else if (!srcDev) {
        auto data = std::make_shared<std::vector<char>>((const char*)src, (const char*)src + n);
        enqueue(s, [dst, data] { memcpy(dst, data->data(), data->size()); });
    } else if (!dstDev) {
        if (s != nullptr) drain(s);
        memcpy(dst, src, n);
    } else {
        enqueue(s, [dst, src, n] { memmove(dst, src, n); });
    }
    return CUDA_SUCCESS;
}

CUresult cuMemcpyHtoDAsync(CUdeviceptr dst, const void* src, size_t n, CUstream s) {
    return copy("cuMemcpyHtoDAsync", (void*)dst, true, src, false, n, s);
}
CUresult cuMemcpyDtoHAsync(void* dst, CUdeviceptr src, size_t n, CUstream s) {
    return copy("cuMemcpyDtoHAsync", dst, false, (const void*)src, true, n, s);
}
CUresult cuMemcpyDtoDAsync(CUdeviceptr dst, CUdeviceptr src, size_t n, CUstream s) {
    return copy("cuMemcpyDtoDAsync", (void*)dst, true, (const void*)src, true, n, s);
}
CUresult cuMemcpyHtoD(CUdeviceptr dst, const void* src, size_t n) {
    return copy("cuMemcpyHtoD", (void*)dst, true, src, false, n, nullptr);
}
CUresult cuMemcpyDtoH(void* dst, CUdeviceptr src, size_t n) {
    return copy("cuMemcpyDtoH", dst, false, (const void*)src, true, n, nullptr);
}

CUresult cuMemsetD32Async(CUdeviceptr p, unsigned int v, size_t n, CUstream s) {
    NEED_CONTEXT();
    {
        LOCK();
        if (int f_ = inject(sized("cuMemsetD32Async", n * 4), false))
            return f_ == 2 ? CUDA_ERROR_OUT_OF_MEMORY : CUDA_ERROR_UNKNOWN;
    }
    LOCK();
    if (!validStream(s)) return CUDA_ERROR_INVALID_HANDLE;
    if (n == 0) return CUDA_SUCCESS;
    if ((uintptr_t)p % 4 != 0 || !inRange((uintptr_t)p, n * 4)) {
        cudasim_fail("cuMemsetD32Async", "range is not device memory");
        return CUDA_ERROR_INVALID_VALUE;
    }
    enqueue(s, [p, v, n] {
        unsigned int* q = (unsigned int*)p;
        for (size_t i = 0; i < n; i++) q[i] = v;
    });
    return CUDA_SUCCESS;
}

// --- streams and events ---

CUresult cuStreamCreate(CUstream* s, unsigned int flags) {
    NEED_CONTEXT();
    INJECT("cuStreamCreate");
    if (!s) return CUDA_ERROR_INVALID_VALUE;
    LOCK();
    CUstream_st* st = new CUstream_st{flags, {}, 0, 0};
    streams.insert(st);
    *s = st;
    return CUDA_SUCCESS;
}

CUresult cuStreamDestroy(CUstream s) {
    LOCK();
    if (!streams.count(s)) return CUDA_ERROR_INVALID_HANDLE;
    drain(s);  // queued work still completes
    for (CUevent_st* e : events) {
        if (e->stream == s) e->stream = nullptr;
    }
    streams.erase(s);
    delete s;
    return CUDA_SUCCESS;
}

CUresult cuStreamSynchronize(CUstream s) {
    NEED_CONTEXT();
    INJECT("cuStreamSynchronize");
    LOCK();
    if (!validStream(s)) return CUDA_ERROR_INVALID_HANDLE;
    if (s != nullptr) drain(s);
    progress();
    return CUDA_SUCCESS;
}

// cuStreamWaitEvent: s's later work waits for the event's most recent record at this call.
CUresult cuStreamWaitEvent(CUstream s, CUevent e, unsigned int flags) {
    NEED_CONTEXT();
    INJECT("cuStreamWaitEvent");
    LOCK();
    if (!validStream(s) || !events.count(e) || flags != 0) return CUDA_ERROR_INVALID_HANDLE;
    if (!e->recorded || e->stream == nullptr) return CUDA_SUCCESS;  // nothing to wait for
    CUstream on = e->stream;
    uint64_t seq = e->seq;
    if (s == nullptr) {
        runTo(on, seq);
        return CUDA_SUCCESS;
    }
    enqueue(s, [on, seq] {
        if (streams.count(on)) runTo(on, seq);
    });
    return CUDA_SUCCESS;
}

CUresult cuEventCreate(CUevent* e, unsigned int flags) {
    NEED_CONTEXT();
    INJECT("cuEventCreate");
    if (!e) return CUDA_ERROR_INVALID_VALUE;
    LOCK();
    CUevent_st* ev = new CUevent_st{flags, nullptr, 0, false, false, 0};
    events.insert(ev);
    *e = ev;
    return CUDA_SUCCESS;
}

CUresult cuEventDestroy(CUevent e) {
    LOCK();
    if (!events.erase(e)) return CUDA_ERROR_INVALID_HANDLE;
    delete e;
    return CUDA_SUCCESS;
}

CUresult cuEventRecord(CUevent e, CUstream s) {
    NEED_CONTEXT();
    INJECT("cuEventRecord");
    LOCK();
    if (!events.count(e) || !validStream(s)) return CUDA_ERROR_INVALID_HANDLE;
    e->recorded = true;
    e->happened = false;
    e->stream = s;
    e->seq = s ? s->queued + 1 : 0;
    enqueue(s, [e] {
        if (events.count(e)) {
            e->happened = true;
            e->ms = nowMs();
        }
    });
    return CUDA_SUCCESS;
}

CUresult cuEventSynchronize(CUevent e) {
    NEED_CONTEXT();
    INJECT("cuEventSynchronize");
    LOCK();
    if (!events.count(e)) return CUDA_ERROR_INVALID_HANDLE;
    if (e->recorded && e->stream != nullptr) runTo(e->stream, e->seq);
    progress();
    return CUDA_SUCCESS;
}

CUresult cuEventQuery(CUevent e) {
    NEED_CONTEXT();
    INJECT("cuEventQuery");
    LOCK();
    if (!events.count(e)) return CUDA_ERROR_INVALID_HANDLE;
    return !e->recorded || e->happened ? CUDA_SUCCESS : CUDA_ERROR_NOT_READY;
}

CUresult cuEventElapsedTime(float* ms, CUevent start, CUevent end) {
    NEED_CONTEXT();
    INJECT("cuEventElapsedTime");
    if (!ms) return CUDA_ERROR_INVALID_VALUE;
    LOCK();
    if (!events.count(start) || !events.count(end)) return CUDA_ERROR_INVALID_HANDLE;
    if ((start->flags | end->flags) & CU_EVENT_DISABLE_TIMING) return CUDA_ERROR_INVALID_HANDLE;
    if (!start->recorded || !end->recorded) return CUDA_ERROR_INVALID_HANDLE;
    if (!start->happened || !end->happened) return CUDA_ERROR_NOT_READY;
    *ms = (float)(end->ms - start->ms);
    return CUDA_SUCCESS;
}

// --- modules and launches ---

CUresult cuModuleLoadData(CUmodule* m, const void* image) {
    NEED_CONTEXT();
    INJECT("cuModuleLoadData");
    if (!m || !image) return CUDA_ERROR_INVALID_VALUE;
    const char* ptx = (const char*)image;
    if (!strstr(ptx, ".version") || !strstr(ptx, ".target")) return CUDA_ERROR_INVALID_IMAGE;
    CUmod_st* mod = new CUmod_st;
    for (const char* p = ptx; (p = strstr(p, ".entry ")) != nullptr;) {
        p += 7;
        size_t n = strcspn(p, "( \t\n");
        mod->entries.insert(std::string(p, n));
    }
    LOCK();
    modules.insert(mod);
    *m = mod;
    return CUDA_SUCCESS;
}

CUresult cuModuleUnload(CUmodule m) {
    LOCK();
    if (!modules.erase(m)) return CUDA_ERROR_INVALID_HANDLE;
    delete m;
    return CUDA_SUCCESS;
}

CUresult cuModuleGetFunction(CUfunction* f, CUmodule m, const char* name) {
    NEED_CONTEXT();
    INJECT("cuModuleGetFunction");
    if (!f || !name) return CUDA_ERROR_INVALID_VALUE;
    LOCK();
    if (!modules.count(m)) return CUDA_ERROR_INVALID_HANDLE;
    if (!m->entries.count(name)) return CUDA_ERROR_NOT_FOUND;
    void* entry = cudasim_kernel(name);
    if (!entry) {
        cudasim_fail(name, "in the PTX but not among the host-compiled kernels (rebuild the simulator)");
        return CUDA_ERROR_NOT_FOUND;
    }
    *f = new CUfunc_st{m, name, entry};
    return CUDA_SUCCESS;
}

CUresult cuLaunchKernel(CUfunction f, unsigned int gx, unsigned int gy, unsigned int gz, unsigned int bx,
                        unsigned int by, unsigned int bz, unsigned int shmem, CUstream s, void** params,
                        void** extra) {
    NEED_CONTEXT();
    {
        LOCK();
        const char* call = "cuLaunchKernel";
        if (faultKind != NO_FAULTS && f != nullptr && modules.count(f->mod)) {
            call = faultNames.insert("cuLaunchKernel " + f->name).first->c_str();
        }
        if (int f_ = inject(call, false)) return f_ == 2 ? CUDA_ERROR_OUT_OF_MEMORY : CUDA_ERROR_UNKNOWN;
    }
    {
        LOCK();
        if (!f || !modules.count(f->mod) || !validStream(s)) return CUDA_ERROR_INVALID_HANDLE;
    }
    if (gx == 0 || gy == 0 || gz == 0 || bx == 0 || by == 0 || bz == 0 || gx > 0x7fffffffu || gy > 65535 ||
        gz > 65535 || (size_t)bx * by * bz > 1024 || bz > 64 || shmem > 48 * 1024 || extra != nullptr ||
        params == nullptr) {
        cudasim_fail(f->name.c_str(), "invalid launch configuration");
        return CUDA_ERROR_INVALID_VALUE;
    }
    LOCK();
    if (!cudasim_kernel_check(f->entry, params)) {
        sticky = CUDA_ERROR_ILLEGAL_ADDRESS;
        return sticky;
    }
    // The arguments are taken at the call (each 8 bytes), as the driver does.
    int n = cudasim_kernel_args(f->entry);
    std::vector<uint64_t> args(n);
    for (int i = 0; i < n; i++) memcpy(&args[i], params[i], 8);
    void* entry = f->entry;
    enqueue(s, [entry, gx, gy, gz, bx, by, bz, args]() mutable {
        std::vector<void*> ptrs(args.size());
        for (size_t i = 0; i < args.size(); i++) ptrs[i] = &args[i];
        cudasim_launch(entry, gx, gy, gz, bx, by, bz, ptrs.data());
    });
    return CUDA_SUCCESS;
}

CUresult cuGetErrorString(CUresult e, const char** s) {
    if (!s) return CUDA_ERROR_INVALID_VALUE;
    switch (e) {
        case CUDA_SUCCESS: *s = "no error"; break;
        case CUDA_ERROR_OUT_OF_MEMORY: *s = "out of memory"; break;
        case CUDA_ERROR_INVALID_CONTEXT: *s = "invalid device context"; break;
        case CUDA_ERROR_ILLEGAL_ADDRESS: *s = "an illegal memory access was encountered"; break;
        case CUDA_ERROR_UNKNOWN: *s = "unknown error"; break;
        default: *s = "cudasim error"; break;
    }
    return CUDA_SUCCESS;
}

CUresult cuGetErrorName(CUresult e, const char** s) { return cuGetErrorString(e, s); }

}  // extern "C"
