/*
 * Included before everything else in each C file of gorgonia.org/cu v0.9.6 (written for
 * CUDA 10-12), so that it compiles against CUDA 13's cuda.h: scripts/cuda-cc, the C compiler
 * of make build-cuda, ci-cuda and test-cudasim and of scripts/gpu-check.sh and cudasim.sh,
 * adds `-include` this header to that package's compiles only. CGO_CFLAGS cannot carry it:
 * it reaches every cgo package, runtime/cgo's assembly and files that set feature macros
 * before their first system header among them; go -overlay refuses files in the module cache.
 *
 * CUDA 13.0 points five names gorgonia.org/cu calls at new entry points with other
 * arguments (cuCtxCreate -> cuCtxCreate_v4, cuMemAdvise and cuMemPrefetchAsync -> _v2
 * taking a CUmemLocation, cuGraphAddDependencies and cuGraphGetEdges -> _v2 taking edge
 * data) and no longer declares the old ones. The driver still exports the old symbols
 * (programs built with CUDA 12 call them), so the old names are declared again here and
 * the calls reach the same entry points as a build against CUDA 11.8 or 12. Nothing here
 * applies below CUDA 13.0: those headers already declare all five.
 */
#ifndef BRAINALIGN_CUDA13_COMPAT_H
#define BRAINALIGN_CUDA13_COMPAT_H

#include <cuda.h>

#if defined(CUDA_VERSION) && CUDA_VERSION >= 13000

#ifdef __cplusplus
extern "C" {
#endif

#undef cuCtxCreate
#define cuCtxCreate cuCtxCreate_v2
CUresult CUDAAPI cuCtxCreate_v2(CUcontext *pctx, unsigned int flags, CUdevice dev);

#undef cuMemAdvise
CUresult CUDAAPI cuMemAdvise(CUdeviceptr devPtr, size_t count, CUmem_advise advice, CUdevice device);

/* as CUDA 12's cuda.h: the per-thread-default-stream variant when that is asked for */
#undef cuMemPrefetchAsync
#define cuMemPrefetchAsync __CUDA_API_PTSZ(cuMemPrefetchAsync)
CUresult CUDAAPI cuMemPrefetchAsync(CUdeviceptr devPtr, size_t count, CUdevice dstDevice, CUstream hStream);

#undef cuGraphAddDependencies
CUresult CUDAAPI cuGraphAddDependencies(CUgraph hGraph, const CUgraphNode *from, const CUgraphNode *to, size_t numDependencies);

#undef cuGraphGetEdges
CUresult CUDAAPI cuGraphGetEdges(CUgraph hGraph, CUgraphNode *from, CUgraphNode *to, size_t *numEdges);

#ifdef __cplusplus
}
#endif

#endif /* CUDA_VERSION >= 13000 */

#endif /* BRAINALIGN_CUDA13_COMPAT_H */
