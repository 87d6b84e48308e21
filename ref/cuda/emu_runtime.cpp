/* ref/cuda/emu_runtime.cpp: the CUDA host emulator's runtime API (see emu.h): errors (a
 * fault inside a kernel is sticky until cudaDeviceReset, as on a GPU), device memory (exact-size
 * host allocations, every copy checked against them), one in-order stream that runs each
 * launch at once, stream capture into graphs and their replay, events on the host clock. */
#include "ref/cuda/emu_state.h"

#include <chrono>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

namespace flcu_emu {

std::mutex g_mu;
cudaError_t g_sticky = cudaSuccess;
char g_fault[768];
thread_local cudaError_t g_last = cudaSuccess;
thread_local char g_last_msg[512];
std::map<const void *, kernel_attr> g_attr;

cudaError_t fail(cudaError_t e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g_last_msg, sizeof g_last_msg, fmt, ap);
    va_end(ap);
    g_last = e;
    return e;
}

} // namespace flcu_emu

using namespace flcu_emu;

namespace {

/* ---- device memory -------------------------------------------------------------------------- */

std::map<uintptr_t, size_t> g_dev; /* cudaMalloc'd ranges: start -> bytes */

/* Whether [p, p + n) lies inside one device allocation. */
bool in_device(const void *p, size_t n)
{
    std::lock_guard<std::mutex> lk(g_mu);
    uintptr_t a = (uintptr_t)p;
    auto it = g_dev.upper_bound(a);
    if (it == g_dev.begin())
        return false;
    --it;
    return a >= it->first && a + n <= it->first + it->second && a + n >= a;
}

const char *kind_name(cudaMemcpyKind k)
{
    static const char *const n[] = {"HostToHost", "HostToDevice", "DeviceToHost", "DeviceToDevice",
                                    "Default"};
    return (unsigned)k < 5 ? n[k] : "?";
}

cudaError_t copy(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind)
{
    FLCU_STICKY();
    if (!bytes)
        return cudaSuccess;
    bool dst_dev = kind == cudaMemcpyHostToDevice || kind == cudaMemcpyDeviceToDevice;
    bool src_dev = kind == cudaMemcpyDeviceToHost || kind == cudaMemcpyDeviceToDevice;
    if ((unsigned)kind > cudaMemcpyDefault || (dst_dev && !in_device(dst, bytes)) ||
        (src_dev && !in_device(src, bytes)) || !dst || !src)
        return fail(cudaErrorInvalidValue, "cudaMemcpy%s of %zu bytes from %p to %p: %s",
                    kind_name(kind), bytes, src, dst,
                    dst_dev && !in_device(dst, bytes) ? "the destination is not device memory"
                    : src_dev && !in_device(src, bytes) ? "the source is not device memory"
                                                        : "bad pointer or kind");
    memmove(dst, src, bytes);
    return cudaSuccess;
}


} // namespace

/* ---- runtime API ---------------------------------------------------------------------------- */

static cudaError_t run_ops(const std::vector<flcu_emu_stream::op> &ops)
{
    for (const flcu_emu_stream::op &o : ops) {
        if (o.fn)
            flcu_emu::launch(o.fn, o.grid, o.block, o.smem, NULL, o.body);
        else if (cudaError_t e = copy(o.dst, o.src, o.bytes, o.kind))
            return e;
    }
    FLCU_STICKY();
    return cudaSuccess;
}

const char *cudaGetErrorName(cudaError_t e)
{
    switch (e) {
#define N(x)                                                                                       \
    case x:                                                                                        \
        return #x;
        N(cudaSuccess) N(cudaErrorInvalidValue) N(cudaErrorMemoryAllocation)
        N(cudaErrorInvalidConfiguration) N(cudaErrorInsufficientDriver)
        N(cudaErrorInvalidDeviceFunction) N(cudaErrorNoDevice) N(cudaErrorInvalidDevice)
        N(cudaErrorInvalidResourceHandle) N(cudaErrorIllegalState)
        N(cudaErrorMisalignedAddress) N(cudaErrorLaunchFailure)
        N(cudaErrorStreamCaptureUnsupported) N(cudaErrorStreamCaptureInvalidated)
#undef N
    }
    return "cudaErrorUnknown";
}

const char *cudaGetErrorString(cudaError_t e)
{
    static thread_local char buf[1024];
    const char *what = e == cudaSuccess ? "no error" : cudaGetErrorName(e);
    if (e != cudaSuccess && e == g_sticky)
        snprintf(buf, sizeof buf, "emulator: %s", g_fault);
    else if (e != cudaSuccess && e == g_last && g_last_msg[0])
        snprintf(buf, sizeof buf, "emulator: %s", g_last_msg);
    else
        snprintf(buf, sizeof buf, "%s", what);
    return buf;
}

cudaError_t cudaGetLastError(void)
{
    if (g_sticky != cudaSuccess)
        return g_sticky;
    cudaError_t e = g_last;
    g_last = cudaSuccess;
    return e;
}

cudaError_t cudaDeviceReset(void)
{
    std::lock_guard<std::mutex> lk(g_mu);
    for (auto &a : g_dev)
        free((void *)a.first);
    g_dev.clear();
    g_attr.clear();
    g_sticky = cudaSuccess;
    g_fault[0] = 0;
    g_last = cudaSuccess;
    return cudaSuccess;
}

cudaError_t cudaGetDeviceCount(int *n)
{
    *n = 1;
    return cudaSuccess;
}

cudaError_t cudaSetDevice(int d)
{
    FLCU_STICKY();
    return d == 0 ? cudaSuccess : fail(cudaErrorInvalidDevice, "device %d: the emulator is 0", d);
}

cudaError_t cudaGetDeviceProperties(cudaDeviceProp *p, int d)
{
    if (d != 0)
        return fail(cudaErrorInvalidDevice, "device %d: the emulator is 0", d);
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "CUDA emulator on the CPU (not a GPU; sm_90 limits)");
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    p->totalGlobalMem = pages > 0 && page > 0 ? (size_t)pages * (size_t)page : 0;
    p->sharedMemPerBlock = 48 * 1024;
    p->sharedMemPerBlockOptin = 232448; /* 227 KiB, as an H100 / H200 */
    p->major = 9;
    p->minor = 0;
    p->multiProcessorCount = 1;
    p->maxThreadsPerBlock = 1024;
    p->warpSize = 32;
    return cudaSuccess;
}

cudaError_t cudaDeviceGetAttribute(int *v, cudaDeviceAttr attr, int d)
{
    if (d != 0)
        return fail(cudaErrorInvalidDevice, "device %d: the emulator is 0", d);
    switch (attr) {
    case cudaDevAttrClockRate:
        *v = 0; /* no clock: the emulator has no speed to report */
        return cudaSuccess;
    case cudaDevAttrMultiProcessorCount:
        *v = 1;
        return cudaSuccess;
    }
    return fail(cudaErrorInvalidValue, "cudaDeviceGetAttribute(%d): not modelled", (int)attr);
}

cudaError_t cudaMalloc(void **p, size_t bytes)
{
    FLCU_STICKY();
    *p = NULL;
    if (!bytes)
        return fail(cudaErrorInvalidValue, "cudaMalloc of %zu bytes", bytes);
    void *m = NULL; /* exactly `bytes`, so that AddressSanitizer sees a read past the end */
    if (posix_memalign(&m, 256, bytes))
        m = NULL;
    if (!m)
        return fail(cudaErrorMemoryAllocation, "cudaMalloc of %zu bytes: out of host memory",
                    bytes);
    memset(m, 0xFF, bytes); /* device memory starts undefined: reads of it show up as NaN */
    std::lock_guard<std::mutex> lk(g_mu);
    g_dev[(uintptr_t)m] = bytes;
    *p = m;
    return cudaSuccess;
}

cudaError_t cudaFree(void *p)
{
    if (!p)
        return cudaSuccess;
    std::lock_guard<std::mutex> lk(g_mu);
    auto it = g_dev.find((uintptr_t)p);
    if (it == g_dev.end())
        return fail(cudaErrorInvalidValue, "cudaFree(%p): not a cudaMalloc allocation", p);
    g_dev.erase(it);
    free(p);
    return cudaSuccess;
}

cudaError_t cudaMallocHost(void **p, size_t bytes)
{
    FLCU_STICKY();
    *p = aligned_alloc(64, (bytes + 63) & ~(size_t)63);
    return *p ? cudaSuccess : fail(cudaErrorMemoryAllocation, "cudaMallocHost of %zu bytes", bytes);
}

cudaError_t cudaFreeHost(void *p)
{
    free(p);
    return cudaSuccess;
}

cudaError_t cudaMemcpy(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind)
{
    return copy(dst, src, bytes, kind);
}

cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind,
                            cudaStream_t st)
{
    FLCU_STICKY();
    if (st && st->capturing) {
        flcu_emu_stream::op o = {};
        o.dst = dst;
        o.src = src;
        o.bytes = bytes;
        o.kind = kind;
        st->ops.push_back(o);
        return cudaSuccess;
    }
    return copy(dst, src, bytes, kind);
}

cudaError_t cudaStreamCreateWithFlags(cudaStream_t *st, unsigned flags)
{
    FLCU_STICKY();
    (void)flags;
    *st = new flcu_emu_stream;
    return cudaSuccess;
}

cudaError_t cudaStreamDestroy(cudaStream_t st)
{
    delete st;
    return cudaSuccess;
}

cudaError_t cudaStreamSynchronize(cudaStream_t st)
{
    FLCU_STICKY();
    if (st && st->capturing) { /* as CUDA: not allowed during a capture, which it invalidates */
        st->invalidated = true;
        return fail(cudaErrorStreamCaptureUnsupported, "cudaStreamSynchronize while the stream "
                    "is captured");
    }
    return cudaSuccess; /* everything ran at its launch */
}

cudaError_t cudaStreamBeginCapture(cudaStream_t st, cudaStreamCaptureMode mode)
{
    FLCU_STICKY();
    (void)mode;
    if (!st || st->capturing)
        return fail(cudaErrorInvalidValue, "cudaStreamBeginCapture: %s",
                    st ? "already capturing" : "the legacy stream cannot be captured");
    st->capturing = true;
    st->invalidated = false;
    st->ops.clear();
    return cudaSuccess;
}

cudaError_t cudaStreamEndCapture(cudaStream_t st, cudaGraph_t *g)
{
    *g = NULL;
    if (!st || !st->capturing)
        return fail(cudaErrorIllegalState, "cudaStreamEndCapture: not capturing");
    st->capturing = false;
    if (st->invalidated) {
        st->ops.clear();
        return fail(cudaErrorStreamCaptureInvalidated, "the capture was invalidated");
    }
    *g = new flcu_emu_graph;
    (*g)->ops.swap(st->ops);
    FLCU_STICKY();
    return cudaSuccess;
}

cudaError_t cudaGraphInstantiate(cudaGraphExec_t *x, cudaGraph_t g, unsigned long long flags)
{
    FLCU_STICKY();
    (void)flags;
    *x = new flcu_emu_graph_exec;
    (*x)->ops = g->ops;
    return cudaSuccess;
}

cudaError_t cudaGraphLaunch(cudaGraphExec_t x, cudaStream_t st)
{
    FLCU_STICKY();
    (void)st;
    return run_ops(x->ops);
}

cudaError_t cudaGraphDestroy(cudaGraph_t g)
{
    delete g;
    return cudaSuccess;
}

cudaError_t cudaGraphExecDestroy(cudaGraphExec_t x)
{
    delete x;
    return cudaSuccess;
}

cudaError_t cudaEventCreate(cudaEvent_t *ev)
{
    FLCU_STICKY();
    *ev = new flcu_emu_event;
    return cudaSuccess;
}

cudaError_t cudaEventDestroy(cudaEvent_t ev)
{
    delete ev;
    return cudaSuccess;
}

cudaError_t cudaEventRecord(cudaEvent_t ev, cudaStream_t st)
{
    FLCU_STICKY();
    (void)st;
    ev->t_ms = std::chrono::duration<double, std::milli>(
                   std::chrono::steady_clock::now().time_since_epoch())
                   .count();
    return cudaSuccess;
}

cudaError_t cudaEventSynchronize(cudaEvent_t ev)
{
    (void)ev;
    FLCU_STICKY();
    return cudaSuccess;
}

cudaError_t cudaEventElapsedTime(float *ms, cudaEvent_t a, cudaEvent_t b)
{
    FLCU_STICKY();
    *ms = (float)(b->t_ms - a->t_ms);
    return cudaSuccess;
}

