/* ref/cuda/emu_selftest.cpp: flcu_emu_selftest(), the CUDA host emulator's own checks (run by
 * tests/ref/test_engine_cuda.c): kernels written to be wrong in the ways a GPU reports (a
 * misaligned vector load, barriers reached from different places, a deadlock, a shuffle after a
 * lane exited, a launch over the limits) must be reported with the error a GPU gives, and
 * correct ones (warp reductions, block barriers, graphs) must compute what CUDA defines, in
 * every thread order. Each case ends with cudaDeviceReset, as a CUDA program recovers from a
 * sticky error. */
#include "ref/cuda/emu.h"

#include <stdarg.h>
#include <stdio.h>

#include <string>

/* ---- kernels (external, so that faults name them) ------------------------------------------ */

__global__ void k_misaligned(const int4 *p, int *out)
{
    int4 v = __ldg((const int4 *)((const char *)p + 4));
    out[threadIdx.x] = v.x;
}

__global__ void k_divergent_barrier(int *out)
{
    if (threadIdx.x < 16)
        __syncthreads();
    else
        __syncthreads();
    out[threadIdx.x] = 1;
}

__global__ void k_deadlock(int *out)
{
    int v = (int)threadIdx.x;
    if (threadIdx.x < 16)
        v = __shfl_xor_sync(0xffffffffu, v, 1);
    else
        __syncthreads();
    out[threadIdx.x] = v;
}

__global__ void k_exited_lane(int *out)
{
    if (threadIdx.x == 5)
        return;
    out[threadIdx.x] = __shfl_xor_sync(0xffffffffu, (int)threadIdx.x, 1);
}

/* A value per lane that no wrong pairing of lanes sums to by chance. */
__device__ int lane_value(unsigned lane)
{
    return (int)(lane * lane * 7 + lane + 3);
}

/* Each single exchange (mask 1, 2, ..., 16) against the value it must bring, the butterfly sum
 * of the warp, then the block's values reversed through shared memory:
 * out[i] = mismatches * 1000000 + (sum of the warp) * 1000 + the reversed thread index;
 * dsum[warp] = the warp's butterfly sum of doubles. */
__global__ void k_reduce_reverse(int *out, double *dsum)
{
    __shared__ int s[256];
    unsigned lane = threadIdx.x % 32;
    int v = lane_value(lane), bad = 0;
    for (int o = 1; o < 32; o <<= 1)
        bad += __shfl_xor_sync(0xffffffffu, v, o) != lane_value(lane ^ (unsigned)o);
    for (int o = 16; o > 0; o >>= 1)
        v += __shfl_xor_sync(0xffffffffu, v, o);
    double d = (double)threadIdx.x * (double)threadIdx.x + 0.25;
    for (int o = 16; o > 0; o >>= 1)
        d += __shfl_xor_sync(0xffffffffu, d, o);
    s[threadIdx.x] = bad * 1000000 + v * 1000 + (int)threadIdx.x;
    __syncthreads();
    out[blockIdx.x * blockDim.x + threadIdx.x] = s[blockDim.x - 1 - threadIdx.x];
    if (lane == 0)
        dsum[blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32] = d;
}

__global__ void k_big_smem(int *out)
{
    FLCU_DYN_SHARED(int, s);
    s[threadIdx.x] = (int)threadIdx.x;
    __syncthreads();
    out[threadIdx.x] = s[(threadIdx.x + 1) % blockDim.x];
}

__global__ void k_count(int *counter)
{
    if (threadIdx.x == 0)
        counter[0] += 1;
}

namespace {

char *g_msg;
size_t g_len;
int g_failed;

void check(bool ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void check(bool ok, const char *fmt, ...)
{
    if (ok)
        return;
    if (!g_failed++ && g_msg && g_len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(g_msg, g_len, fmt, ap);
        va_end(ap);
    }
}

/* ---- cases ---------------------------------------------------------------------------------- */

const char *last_string(cudaError_t e)
{
    return cudaGetErrorString(e);
}

void fault_case(const char *what, cudaError_t want, const char *want_text,
                void (*run)(int *, const int4 *))
{
    int *out = NULL;
    int4 *src = NULL;
    cudaMalloc((void **)&out, 1024 * sizeof(int));
    cudaMalloc((void **)&src, 64 * sizeof(int4));
    run(out, src);
    cudaError_t e = cudaStreamSynchronize(NULL);
    check(e == want, "%s: %s, expected %s", what, cudaGetErrorName(e), cudaGetErrorName(want));
    check(strstr(last_string(e), want_text) != NULL, "%s: message '%s' lacks '%s'", what,
          last_string(e), want_text);
    cudaError_t again = cudaMalloc((void **)&out, 16);
    check(again == want, "%s: not sticky: a later call returned %s", what,
          cudaGetErrorName(again));
    cudaDeviceReset();
}

void run_misaligned(int *out, const int4 *src)
{
    launch(k_misaligned, 1, 32, 0, NULL, src, out);
}
void run_divergent(int *out, const int4 *)
{
    launch(k_divergent_barrier, 1, 64, 0, NULL, out);
}
void run_deadlock(int *out, const int4 *)
{
    launch(k_deadlock, 1, 32, 0, NULL, out);
}
void run_exited(int *out, const int4 *)
{
    launch(k_exited_lane, 1, 32, 0, NULL, out);
}

void good_kernels(const char *order)
{
    const unsigned B = 256, G = 3;
    int *out = NULL, h[256 * 3];
    double *dsum = NULL, hd[8 * 3];
    check(cudaMalloc((void **)&out, sizeof h) == cudaSuccess, "cudaMalloc");
    check(cudaMalloc((void **)&dsum, sizeof hd) == cudaSuccess, "cudaMalloc");
    launch(k_reduce_reverse, G, B, 0, NULL, out, dsum);
    check(cudaGetLastError() == cudaSuccess, "%s: reduce: %s", order,
          cudaGetErrorString(cudaGetLastError()));
    cudaMemcpy(h, out, sizeof h, cudaMemcpyDeviceToHost);
    cudaMemcpy(hd, dsum, sizeof hd, cudaMemcpyDeviceToHost);
    int warp_sum = 0;
    for (unsigned l = 0; l < 32; l++)
        warp_sum += lane_value(l);
    for (unsigned b = 0; b < G; b++)
        for (unsigned i = 0; i < B; i++) {
            int want = warp_sum * 1000 + (int)(B - 1 - i);
            check(h[b * B + i] == want, "%s: block %u out[%u] = %d, expected %d", order, b, i,
                  h[b * B + i], want);
        }
    for (unsigned w = 0; w < G * B / 32; w++) {
        double want = 0;
        for (unsigned l = 0; l < 32; l++) {
            double t = (double)((w % 8) * 32 + l);
            want += t * t + 0.25;
        }
        check(fabs(hd[w] - want) <= 1e-9 * want, "%s: warp %u double sum %.17g, expected %.17g",
              order, w, hd[w], want);
    }
    cudaFree(out);
    cudaFree(dsum);
}

void limits_and_graphs()
{
    int *out = NULL, h[1024];
    check(cudaMalloc((void **)&out, sizeof h) == cudaSuccess, "cudaMalloc");
    /* over the limits: reported by cudaGetLastError, not sticky */
    launch(k_count, 1, 2048, 0, NULL, out);
    check(cudaGetLastError() == cudaErrorInvalidConfiguration, "2048 threads accepted");
    launch(k_count, dim3(1, 70000), 32, 0, NULL, out);
    check(cudaGetLastError() == cudaErrorInvalidConfiguration, "grid y 70000 accepted");
    launch(k_big_smem, 1, 1024, 64 * 1024, NULL, out);
    check(cudaGetLastError() == cudaErrorInvalidValue, "64 KiB dynamic shared accepted");
    check(cudaFuncSetAttribute(k_big_smem, cudaFuncAttributeMaxDynamicSharedMemorySize,
                               64 * 1024) == cudaSuccess, "cudaFuncSetAttribute");
    launch(k_big_smem, 1, 1024, 64 * 1024, NULL, out);
    check(cudaGetLastError() == cudaSuccess, "64 KiB after the attribute: refused");
    cudaMemcpy(h, out, sizeof h, cudaMemcpyDeviceToHost);
    for (int i = 0; i < 1024; i++)
        check(h[i] == (i + 1) % 1024, "big_smem out[%d] = %d", i, h[i]);
    /* copies are checked against the allocations */
    check(cudaMemcpy(h, h + 1, 4, cudaMemcpyHostToDevice) == cudaErrorInvalidValue,
          "a host-to-device copy into host memory accepted");
    check(cudaMemcpy(h, out + 1023, 8, cudaMemcpyDeviceToHost) == cudaErrorInvalidValue,
          "a copy past the end of an allocation accepted");
    cudaGetLastError();
    /* capture: recorded, not run; replayed by each graph launch; a sync invalidates it */
    cudaStream_t st = NULL;
    cudaStreamCreateWithFlags(&st, cudaStreamNonBlocking);
    int zero = 0, n = -1;
    cudaMemcpy(out, &zero, sizeof zero, cudaMemcpyHostToDevice);
    cudaGraph_t g = NULL;
    cudaGraphExec_t x = NULL;
    check(cudaStreamBeginCapture(st, cudaStreamCaptureModeThreadLocal) == cudaSuccess, "capture");
    launch(k_count, 1, 64, 0, st, out);
    launch(k_count, 1, 64, 0, st, out);
    check(cudaStreamEndCapture(st, &g) == cudaSuccess && g, "end capture");
    cudaMemcpy(&n, out, sizeof n, cudaMemcpyDeviceToHost);
    check(n == 0, "captured launches ran (counter %d)", n);
    check(cudaGraphInstantiate(&x, g, 0) == cudaSuccess, "instantiate");
    for (int i = 0; i < 3; i++)
        check(cudaGraphLaunch(x, st) == cudaSuccess, "graph launch");
    cudaMemcpy(&n, out, sizeof n, cudaMemcpyDeviceToHost);
    check(n == 6, "3 replays of 2 launches: counter %d", n);
    cudaGraphExecDestroy(x);
    cudaGraphDestroy(g);
    check(cudaStreamBeginCapture(st, cudaStreamCaptureModeThreadLocal) == cudaSuccess, "capture");
    check(cudaStreamSynchronize(st) == cudaErrorStreamCaptureUnsupported, "sync in a capture");
    check(cudaStreamEndCapture(st, &g) == cudaErrorStreamCaptureInvalidated && !g,
          "an invalidated capture gave a graph");
    cudaGetLastError();
    cudaStreamDestroy(st);
    cudaFree(out);
}

} // namespace

extern "C" int flcu_emu_selftest(char *msg, size_t len)
{
    g_msg = msg;
    g_len = len;
    g_failed = 0;
    if (msg && len)
        msg[0] = 0;
    cudaDeviceReset();
    fault_case("misaligned int4 load", cudaErrorMisalignedAddress,
               "misaligned load in k_misaligned", run_misaligned);
    fault_case("__syncthreads on two paths", cudaErrorLaunchFailure, "__syncthreads reached at",
               run_divergent);
    fault_case("shuffle against __syncthreads", cudaErrorLaunchFailure, "deadlock",
               run_deadlock);
    fault_case("shuffle after a lane returned", cudaErrorLaunchFailure, "lane 5 exited",
               run_exited);
    const char *env = getenv("FLCU_EMU_ORDER");
    std::string saved = env ? env : "";
    setenv("FLCU_EMU_ORDER", "forward", 1);
    good_kernels("first-to-last");
    setenv("FLCU_EMU_ORDER", "reverse", 1);
    good_kernels("last-to-first");
    setenv("FLCU_EMU_ORDER", "random:11", 1);
    good_kernels("random order");
    if (env)
        setenv("FLCU_EMU_ORDER", saved.c_str(), 1);
    else
        unsetenv("FLCU_EMU_ORDER");
    limits_and_graphs();
    cudaDeviceReset();
    return g_failed;
}
