/* ref/cuda/device.cuh: the C ABI's questions about a device rather than an engine: whether it
 * is usable (flcu_probe, with the reason when not), its int8 tensor peak and its device-to-device
 * copy bandwidth (bench_cuda's ceilings). Included by engine.cu only, at its end. */
#ifndef FLARE_REF_CUDA_DEVICE_CUH
#define FLARE_REF_CUDA_DEVICE_CUH

extern "C" {

int flcu_probe(uint32_t device, char *msg, size_t msg_len)
{
    char buf[512];
    int rc = 0;
    /* cudart would report a missing driver as cudaErrorInsufficientDriver; look first, so the
     * message names the library the loader could not find. */
#ifdef FLCU_EMU
    void *drv = dlopen(NULL, RTLD_NOW); /* the emulator is its own driver */
#else
    void *drv = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
#endif
    if (!drv) {
        const char *why = dlerror();
        rc = set_err(FLARE_EDEVICE, "no CUDA driver (cudaErrorInsufficientDriver / libcuda.so.1 "
                     "not found: %s)", why ? why : "dlopen failed");
    } else {
        /* the driver's CUDA version, straight from libcuda (cuDriverGetVersion) */
        int drv_ver = 0;
        int (*get_ver)(int *) = (int (*)(int *))dlsym(drv, "cuDriverGetVersion");
        if (!get_ver || get_ver(&drv_ver) != 0)
            drv_ver = 0;
        dlclose(drv);
        int n = 0;
        cudaError_t ce = cudaGetDeviceCount(&n);
        cudaDeviceProp prop;
        cudaFuncAttributes fa;
        if (ce == cudaErrorInsufficientDriver)
            rc = set_err(FLARE_EDEVICE, "no CUDA driver (cudaErrorInsufficientDriver: the driver "
                         "supports CUDA %d.%d, this library was built for the CUDA %d.%d runtime: "
                         "update the driver or rebuild with that machine's nvcc)",
                         drv_ver / 1000, drv_ver % 1000 / 10, CUDART_VERSION / 1000,
                         CUDART_VERSION % 1000 / 10);
        else if (ce == cudaErrorNoDevice || (ce == cudaSuccess && n == 0))
            rc = set_err(FLARE_EDEVICE, "no GPU (cudaErrorNoDevice: the CUDA driver sees no "
                         "device)");
        else if (ce != cudaSuccess)
            rc = set_err(FLARE_EDEVICE, "CUDA: cudaGetDeviceCount: %s (%s)", cudaGetErrorName(ce),
                         cudaGetErrorString(ce));
        else if ((int)device >= n)
            rc = set_err(FLARE_EINVAL, "cuda:%u: only %d CUDA device%s (0..%d)", device, n,
                         n == 1 ? "" : "s", n - 1);
        else if ((ce = cudaGetDeviceProperties(&prop, (int)device)) != cudaSuccess)
            rc = set_err(FLARE_EDEVICE, "CUDA: cudaGetDeviceProperties: %s", cudaGetErrorName(ce));
        else if ((ce = cudaSetDevice((int)device)) != cudaSuccess ||
                 (ce = cudaFuncGetAttributes(&fa, quant_q8_kernel)) != cudaSuccess)
            rc = set_err(FLARE_EUNSUP, "cuda:%u %s (compute capability %d.%d): %s: this build "
                         "has code for sm_90 (rebuild with make cuda CUDA_ARCH=...)", device,
                         prop.name, prop.major, prop.minor, cudaGetErrorName(ce));
        else
            snprintf(buf, sizeof buf, "cuda:%u %.200s (compute capability %d.%d, %.1f GiB)", device,
                     prop.name, prop.major, prop.minor,
                     (double)prop.totalGlobalMem / (1024.0 * 1024 * 1024));
    }
    if (msg && msg_len)
        snprintf(msg, msg_len, "%s", rc ? g_err : buf);
    return rc;
}

double flcu_int8_peak_tops(uint32_t device, char *how, size_t how_len)
{
    cudaDeviceProp prop;
    int khz = 0;
    if (cudaGetDeviceProperties(&prop, (int)device) != cudaSuccess ||
        cudaDeviceGetAttribute(&khz, cudaDevAttrClockRate, (int)device) != cudaSuccess)
        return set_err(FLARE_EDEVICE, "CUDA: cuda:%u: %s", device,
                       cudaGetErrorName(cudaGetLastError()));
    /* dense int8 multiply-add rate of the tensor cores, ops per clock and SM (datasheets:
     * A100 624 TOPS = 108 SMs x 1.41 GHz x 4096; H100 SXM 1979 TOPS = 132 x 1.83 GHz x 8192) */
    int per_clk = prop.major == 8 && prop.minor == 0 ? 4096 : prop.major == 9 ? 8192 : 0;
    double tops = (double)prop.multiProcessorCount * khz * 1e3 * per_clk / 1e12;
    if (how && how_len) {
        if (tops > 0)
            snprintf(how, how_len, "%d SMs x %.0f MHz x %d int8 ops/clock",
                     prop.multiProcessorCount, khz / 1e3, per_clk);
        else
            snprintf(how, how_len, "unknown for %s (sm_%d%d, %d SMs, clock %d kHz)", prop.name,
                     prop.major, prop.minor, prop.multiProcessorCount, khz);
    }
    return tops > 0 ? tops : 0;
}

double flcu_d2d_gbps(uint32_t device, uint64_t bytes, int reps)
{
    void *a = NULL, *b = NULL;
    cudaEvent_t t0 = NULL, t1 = NULL;
    double best = 0;
    int rc = 0;
    if (cudaSetDevice((int)device) != cudaSuccess || cudaMalloc(&a, bytes) != cudaSuccess ||
        cudaMalloc(&b, bytes) != cudaSuccess || cudaEventCreate(&t0) != cudaSuccess ||
        cudaEventCreate(&t1) != cudaSuccess ||
        cudaMemcpy(b, a, bytes, cudaMemcpyDeviceToDevice) != cudaSuccess) {
        rc = set_err(FLARE_EDEVICE, "CUDA: device-to-device copy of %llu bytes: %s",
                     (unsigned long long)bytes, cudaGetErrorName(cudaGetLastError()));
    }
    for (int r = 0; !rc && r < reps; r++) {
        float ms = 0;
        cudaEventRecord(t0, 0);
        cudaMemcpyAsync(b, a, bytes, cudaMemcpyDeviceToDevice, 0);
        cudaEventRecord(t1, 0);
        if (cudaEventSynchronize(t1) != cudaSuccess || cudaEventElapsedTime(&ms, t0, t1) !=
                                                           cudaSuccess)
            rc = set_err(FLARE_EDEVICE, "CUDA: timing the copy failed");
        else if (ms > 0 && 2.0 * (double)bytes / (ms * 1e6) > best)
            best = 2.0 * (double)bytes / (ms * 1e6); /* read + write traffic */
    }
    if (t0)
        cudaEventDestroy(t0);
    if (t1)
        cudaEventDestroy(t1);
    cudaFree(a);
    cudaFree(b);
    return rc ? (double)rc : best;
}

} /* extern "C" */

#endif
