/* ref/cuda/emu_state.h: what the CUDA host emulator's two halves share (internal to
 * libflare_cuda_emu.so): emu.cpp (the execution model: fibers, barriers, launches) and
 * emu_runtime.cpp (the runtime API: errors, device memory, streams, graphs, events). */
#ifndef FLARE_REF_CUDA_EMU_STATE_H
#define FLARE_REF_CUDA_EMU_STATE_H

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "ref/cuda/emu.h"

namespace flcu_emu {

extern std::mutex g_mu;        /* the allocation table, the sticky error, kernel attributes */
extern cudaError_t g_sticky;   /* a device fault: every later call returns it */
extern char g_fault[768];      /* what and where */
extern thread_local cudaError_t g_last; /* the last launch / call error (cudaGetLastError) */
extern thread_local char g_last_msg[512];

/* Sets the last (not sticky) error and its message; returns e. */
cudaError_t fail(cudaError_t e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The demangled name of the kernel at fn (or its address). */
std::string kernel_name(const void *fn);

struct kernel_attr {
    int max_dyn_smem = 48 * 1024;
};
extern std::map<const void *, kernel_attr> g_attr; /* cudaFuncSetAttribute, under g_mu */

} // namespace flcu_emu

#define FLCU_STICKY()                                                                              \
    do {                                                                                           \
        if (flcu_emu::g_sticky != cudaSuccess)                                                     \
            return flcu_emu::g_sticky;                                                             \
    } while (0)

struct flcu_emu_stream {
    bool capturing = false, invalidated = false;
    struct op {
        const void *fn;                              /* a launch when set, else a copy */
        dim3 grid, block;
        size_t smem;
        std::shared_ptr<flcu_emu::launch_body> body;
        void *dst;
        const void *src;
        size_t bytes;
        cudaMemcpyKind kind;
    };
    std::vector<op> ops; /* recorded while capturing */
};
struct flcu_emu_graph {
    std::vector<flcu_emu_stream::op> ops;
};
struct flcu_emu_graph_exec {
    std::vector<flcu_emu_stream::op> ops;
};
struct flcu_emu_event {
    double t_ms = 0;
};

#endif
