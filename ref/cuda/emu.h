/* ref/cuda/emu.h: the CUDA host emulator: runs the reference engine's CUDA C (engine.cu,
 * kernels.cuh) unchanged on the CPU, as build/libflare_cuda_emu.so (docs/cuda.md, "Without a
 * GPU"). It is to the CUDA engine what csim is to the HLS kernels: the same source executed by
 * a model of the machine, here the CUDA execution model, so the engine's indexing, barriers,
 * warp shuffles and tensor-core fragments are exercised on machines without a GPU.
 *
 * Included instead of <cuda_runtime.h> and <cuda_fp16.h> when FLCU_EMU is defined (g++ -x c++).
 * What it models:
 *   - every thread of a block is a fiber (Boost.Context); __syncthreads is a block barrier,
 *     __shfl_xor_sync a warp barrier with an exchange, mma.m16n8k32 s8 a warp collective that
 *     gathers the A, B and C fragments by the PTX ISA's layout ("Matrix Fragments for
 *     mma.m16n8k32") and multiplies them;
 *   - __shared__ memory per block, dynamic shared memory (poisoned with 0xFF at each block);
 *   - launch limits as an sm_90 GPU (H200) checks them: threads per block, grid dimensions,
 *     dynamic shared memory above 48 KiB only after cudaFuncSetAttribute;
 *   - the runtime subset the engine uses: device memory (cudaMalloc; copies checked against
 *     the allocations), one in-order stream, events, stream capture into a graph and replay.
 * What it reports as a GPU would, with the place named (cudaGetErrorString): a misaligned
 * vector load (cudaErrorMisalignedAddress), barriers reached from different places or a
 * shuffle naming an exited lane (cudaErrorLaunchFailure), an invalid launch.
 * What it cannot show: speed, races beyond what ThreadSanitizer sees in the racecheck build
 * (make racecheck: barriers order, shuffles do not, an atomic after a fence publishes), and
 * the GPU's own libm and fused multiply-adds (results differ from a GPU's in the last bits). */
#ifndef FLARE_REF_CUDA_EMU_H
#define FLARE_REF_CUDA_EMU_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <memory>
#include <tuple>
#include <type_traits>

#include "flare/fp16.h"

/* ---- language ------------------------------------------------------------------------------- */

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __shared__ static thread_local /* one block at a time per host thread */

struct dim3 {
    unsigned x, y, z;
    constexpr dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};
struct alignas(8) int2 {
    int x, y;
};
struct alignas(16) int4 {
    int x, y, z, w;
};
struct alignas(16) float4 {
    float x, y, z, w;
};
struct alignas(8) float2 {
    float x, y;
};

struct __half {
    uint16_t x;
};
struct alignas(4) __half2 {
    __half x, y;
};

inline float __half2float(__half h)
{
    return fl_fp16_to_fp32(h.x);
}
inline __half __float2half_rn(float f)
{
    __half h;
    h.x = fl_fp32_to_fp16(f);
    return h;
}
inline __half __float2half(float f)
{
    return __float2half_rn(f);
}
inline float2 __half22float2(__half2 h)
{
    return float2{__half2float(h.x), __half2float(h.y)};
}

/* Single operations rounded to nearest (on a GPU: never contracted into a multiply-add; this
 * emulator's builds have no FMA instructions to contract into). */
inline float __fmul_rn(float a, float b)
{
    return a * b;
}
inline float __fadd_rn(float a, float b)
{
    return a + b;
}
inline float __fsub_rn(float a, float b)
{
    return a - b;
}

inline float __int_as_float(int i)
{
    float f;
    memcpy(&f, &i, sizeof f);
    return f;
}
inline int4 make_int4(int x, int y, int z, int w)
{
    return int4{x, y, z, w};
}

inline unsigned min(unsigned a, unsigned b)
{
    return a < b ? a : b;
}
inline int min(int a, int b)
{
    return a < b ? a : b;
}
inline unsigned max(unsigned a, unsigned b)
{
    return a > b ? a : b;
}
inline int max(int a, int b)
{
    return a > b ? a : b;
}

/* ---- the execution model -------------------------------------------------------------------- */

namespace flcu_emu {

struct block_state;

/* One CUDA thread: its coordinates and the block it belongs to. */
struct thread_ctx {
    dim3 tid, bid, bdim, gdim;
    unsigned linear, warp, lane;
    block_state *blk;
    bool fenced; /* make racecheck: a __threadfence since the thread began */
};

/* The CUDA thread this host thread is running (null outside a kernel). (Initial-exec TLS would
 * save the __tls_get_addr call of every threadIdx, but would put the library's whole TLS, the
 * __shared__ arrays included, into the static TLS that glibc keeps for dlopen: too little.) */
extern thread_local thread_ctx *cur;

/* Under ThreadSanitizer (make racecheck) every CUDA thread is a TSan fiber and the kernels'
 * shared and global memory accesses are checked for races; `cur`, which the scheduler sets
 * before each resume, is read through an uninstrumented function (docs/cuda.md). */
#if defined(__SANITIZE_THREAD__) && !defined(FLCU_EMU_TSAN)
#define FLCU_EMU_TSAN 1
#endif
#ifdef FLCU_EMU_TSAN
__attribute__((no_sanitize("thread"))) inline thread_ctx *self()
{
    return cur;
}
#define FLCU_EMU_SELF flcu_emu::self()
#else
#define FLCU_EMU_SELF flcu_emu::cur
#endif

void syncthreads(int line);
void shfl_xor(unsigned mask, void *v, size_t size, int lane_mask, int width, int line);
void mma_m16n8k32_s8(int *c, const int *a, const int *b);
void *dyn_shared();
void tsan_atomic_begin(void *p); /* make racecheck: an atomic on p */
void tsan_atomic_end(void *p);
/* Records a device-side fault (sticky, as on a GPU): what, at the current thread. */
void fault(int code, const char *what);

} // namespace flcu_emu

#define threadIdx (FLCU_EMU_SELF->tid)
#define blockIdx (FLCU_EMU_SELF->bid)
#define blockDim (FLCU_EMU_SELF->bdim)
#define gridDim (FLCU_EMU_SELF->gdim)
#define __syncthreads() flcu_emu::syncthreads(__LINE__)
#define FLCU_DYN_SHARED(T, name) T *name = (T *)flcu_emu::dyn_shared()

/* __shfl_xor_sync(mask, v, lane_mask[, width]), with the call site for the emulator's checks. */
template <typename T>
inline T flcu_emu_shfl_xor(int line, unsigned mask, T v, int lane_mask, int width = 32)
{
    static_assert(sizeof(T) <= 8, "__shfl_xor_sync of more than 8 bytes");
    flcu_emu::shfl_xor(mask, &v, sizeof v, lane_mask, width, line);
    return v;
}
#define __shfl_xor_sync(...) flcu_emu_shfl_xor(__LINE__, __VA_ARGS__)

/* A read-only load; faults unless aligned to the type (a GPU's vector loads need that). */
template <typename T>
inline T __ldg(const T *p)
{
    if ((uintptr_t)p % alignof(T))
        flcu_emu::fault(716 /* cudaErrorMisalignedAddress */, "misaligned load");
    T v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* A load through L2 (ld.global.cg), which a GPU needs for what another block of the running
 * launch wrote (mm_epilogue); here memory is coherent, so it is __ldg's load and checks. Such a
 * value was written before the writer's atomicAdd, and read after the reader's: ordered. */
template <typename T>
inline T __ldcg(const T *p)
{
    return __ldg(p);
}

/* Device-scope atomics and fence: blocks of a launch run on several host threads. A GPU's
 * atomics are relaxed; what orders memory around them is __threadfence. Under make racecheck
 * they are relaxed for TSan, which does not model fences, and what a fence does for the writer
 * is given to it by hand (emu.cpp: only an atomic after a fence publishes), so a writer's
 * missing __threadfence is a reported race. */
#ifdef FLCU_EMU_TSAN
#define FLCU_EMU_ATOMIC(p, op)                                                                     \
    flcu_emu::tsan_atomic_begin(p);                                                                \
    unsigned r = op;                                                                               \
    flcu_emu::tsan_atomic_end(p);                                                                  \
    return r
#else
#define FLCU_EMU_ATOMIC(p, op) return op
#endif
inline unsigned atomicAdd(unsigned *p, unsigned v)
{
    FLCU_EMU_ATOMIC(p, __atomic_fetch_add(p, v, __ATOMIC_RELAXED));
}
inline unsigned atomicExch(unsigned *p, unsigned v)
{
    FLCU_EMU_ATOMIC(p, __atomic_exchange_n(p, v, __ATOMIC_RELAXED));
}
inline void __threadfence()
{
#ifdef FLCU_EMU_TSAN
    FLCU_EMU_SELF->fenced = true;
#endif
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
}

/* ---- runtime API (the subset engine.cu calls) ----------------------------------------------- */

#define CUDART_VERSION 13000 /* the API modelled */

enum cudaError {
    cudaSuccess = 0,
    cudaErrorInvalidValue = 1,
    cudaErrorMemoryAllocation = 2,
    cudaErrorInvalidConfiguration = 9,
    cudaErrorInsufficientDriver = 35,
    cudaErrorInvalidDeviceFunction = 98,
    cudaErrorNoDevice = 100,
    cudaErrorInvalidDevice = 101,
    cudaErrorInvalidResourceHandle = 400,
    cudaErrorIllegalState = 401,
    cudaErrorMisalignedAddress = 716,
    cudaErrorLaunchFailure = 719,
    cudaErrorStreamCaptureUnsupported = 900,
    cudaErrorStreamCaptureInvalidated = 901,
};
typedef enum cudaError cudaError_t;

enum cudaMemcpyKind {
    cudaMemcpyHostToHost = 0,
    cudaMemcpyHostToDevice = 1,
    cudaMemcpyDeviceToHost = 2,
    cudaMemcpyDeviceToDevice = 3,
    cudaMemcpyDefault = 4,
};
enum cudaStreamCaptureMode {
    cudaStreamCaptureModeGlobal = 0,
    cudaStreamCaptureModeThreadLocal = 1,
    cudaStreamCaptureModeRelaxed = 2,
};
enum cudaFuncAttribute {
    cudaFuncAttributeMaxDynamicSharedMemorySize = 8,
};
#define cudaStreamNonBlocking 0x01

typedef struct flcu_emu_stream *cudaStream_t;
typedef struct flcu_emu_event *cudaEvent_t;
typedef struct flcu_emu_graph *cudaGraph_t;
typedef struct flcu_emu_graph_exec *cudaGraphExec_t;

struct cudaDeviceProp {
    char name[256];
    size_t totalGlobalMem, sharedMemPerBlock, sharedMemPerBlockOptin;
    int major, minor, multiProcessorCount, maxThreadsPerBlock, warpSize;
};
enum cudaDeviceAttr {
    cudaDevAttrClockRate = 13,
    cudaDevAttrMultiProcessorCount = 16,
};
struct cudaFuncAttributes {
    int maxDynamicSharedSizeBytes, maxThreadsPerBlock;
};

const char *cudaGetErrorName(cudaError_t e);
const char *cudaGetErrorString(cudaError_t e);
cudaError_t cudaGetLastError(void);
cudaError_t cudaDeviceReset(void);
cudaError_t cudaGetDeviceCount(int *n);
cudaError_t cudaSetDevice(int d);
cudaError_t cudaGetDeviceProperties(cudaDeviceProp *p, int d);
cudaError_t cudaDeviceGetAttribute(int *v, cudaDeviceAttr attr, int d);
cudaError_t cudaMalloc(void **p, size_t bytes);
cudaError_t cudaFree(void *p);
cudaError_t cudaMallocHost(void **p, size_t bytes);
cudaError_t cudaFreeHost(void *p);
cudaError_t cudaMemcpy(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind);
cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind,
                            cudaStream_t st);
cudaError_t cudaStreamCreateWithFlags(cudaStream_t *st, unsigned flags);
cudaError_t cudaStreamDestroy(cudaStream_t st);
cudaError_t cudaStreamSynchronize(cudaStream_t st);
cudaError_t cudaStreamBeginCapture(cudaStream_t st, cudaStreamCaptureMode mode);
cudaError_t cudaStreamEndCapture(cudaStream_t st, cudaGraph_t *g);
cudaError_t cudaGraphInstantiate(cudaGraphExec_t *x, cudaGraph_t g, unsigned long long flags);
cudaError_t cudaGraphLaunch(cudaGraphExec_t x, cudaStream_t st);
cudaError_t cudaGraphDestroy(cudaGraph_t g);
cudaError_t cudaGraphExecDestroy(cudaGraphExec_t x);
cudaError_t cudaEventCreate(cudaEvent_t *ev);
cudaError_t cudaEventDestroy(cudaEvent_t ev);
cudaError_t cudaEventRecord(cudaEvent_t ev, cudaStream_t st);
cudaError_t cudaEventSynchronize(cudaEvent_t ev);
cudaError_t cudaEventElapsedTime(float *ms, cudaEvent_t a, cudaEvent_t b);

namespace flcu_emu {
cudaError_t func_set_attribute(const void *fn, cudaFuncAttribute attr, int value);
cudaError_t func_get_attributes(cudaFuncAttributes *fa, const void *fn);

/* A kernel and its arguments, copied at the launch as CUDA copies them. */
struct launch_body {
    virtual ~launch_body() {}
    virtual void run() = 0;
};
template <typename... P>
struct kernel_call : launch_body {
    void (*k)(P...);
    std::tuple<typename std::decay<P>::type...> args;
    explicit kernel_call(void (*k_)(P...), P... a) : k(k_), args(a...) {}
    void run() override { std::apply(k, args); }
};
/* Runs the kernel on every thread of the grid, or records it while st is being captured. */
void launch(const void *fn, dim3 grid, dim3 block, size_t smem, cudaStream_t st,
            std::shared_ptr<launch_body> body);
template <typename T>
struct same {
    typedef T type;
};
} // namespace flcu_emu

template <typename T>
cudaError_t cudaFuncSetAttribute(T *fn, cudaFuncAttribute attr, int value)
{
    return flcu_emu::func_set_attribute((const void *)fn, attr, value);
}
template <typename T>
cudaError_t cudaFuncGetAttributes(cudaFuncAttributes *fa, T *fn)
{
    return flcu_emu::func_get_attributes(fa, (const void *)fn);
}

/* k<<<grid, block, smem, st>>>(a...) (engine.cu defines the same for nvcc). */
template <typename... P>
void launch(void (*k)(P...), dim3 grid, dim3 block, size_t smem, cudaStream_t st,
            typename flcu_emu::same<P>::type... a)
{
    flcu_emu::launch((const void *)k, grid, block, smem, st,
                     std::make_shared<flcu_emu::kernel_call<P...>>(k, a...));
}

#endif
