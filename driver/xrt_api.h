/* driver/xrt_api.h: the subset of XRT's native C API (xrt/xrt_device.h, xrt/xrt_bo.h,
 * xrt/xrt_kernel.h, ert.h) that flare uses, declared here so that nothing needs XRT's headers.
 *
 * Two implementations provide these symbols:
 *   libxrt_coreutil.so (XRT, a real Alveo card)      dlopen'ed by driver/dev_xrt.c for xrt:N
 *   libflare_xrtsim.so (sim/, the Verilator device)   dlopen'ed by driver/dev_xrt.c for sim
 * The driver resolves each function with dlsym into an fl_xrt_api table (below); the simulator
 * defines them with exactly these signatures (extern "C"), plus the flsim_* extension of
 * sim/xrtsim.h. Handles are opaque pointers; NULL (XRT_NULL_HANDLE) means failure.
 *
 * Argument passing with xrtRunSetArg(run, index, ...): a global-memory argument (an ADDR in
 * include/flare/kernels.h) takes an xrtBufferHandle, placed at a byte offset with
 * xrtBOSubAlloc(parent, size, offset) when the argument does not start at the buffer's byte 0;
 * a scalar (U32, and F32 as its IEEE bits) takes an `unsigned int`, since C varargs promote a
 * float to double and XRT copies the scalar's bytes. */
#ifndef FLARE_DRIVER_XRT_API_H
#define FLARE_DRIVER_XRT_API_H

#include <stddef.h>
#include <stdint.h>

typedef void *xrtDeviceHandle;
typedef void *xrtBufferHandle;
typedef void *xrtKernelHandle;
typedef void *xrtRunHandle;
typedef uint64_t xrtBufferFlags;
typedef uint32_t xrtMemoryGroup;
typedef unsigned char xuid_t[16];

/* xclBOSyncDirection (xrt.h) */
enum xclBOSyncDirection {
    XCL_BO_SYNC_BO_TO_DEVICE = 0,
    XCL_BO_SYNC_BO_FROM_DEVICE = 1,
};

/* ert_cmd_state (ert.h): what xrtRunWait / xrtRunWaitFor / xrtRunState return */
enum ert_cmd_state {
    ERT_CMD_STATE_NEW = 1,
    ERT_CMD_STATE_QUEUED = 2,
    ERT_CMD_STATE_RUNNING = 3,
    ERT_CMD_STATE_COMPLETED = 4,
    ERT_CMD_STATE_ERROR = 5,
    ERT_CMD_STATE_ABORT = 6,
    ERT_CMD_STATE_SUBMITTED = 7,
    ERT_CMD_STATE_TIMEOUT = 8,
    ERT_CMD_STATE_NORESPONSE = 9,
};

#define XRT_BO_FLAGS_NONE 0u /* device buffer with a host shadow (XCL_BO_FLAGS_NONE) */

/* ---- the functions, as an X-macro: X(return type, name, parameter list) ---- */
#define FL_XRT_FUNCS(X)                                                                          \
    X(xrtDeviceHandle, xrtDeviceOpen, (unsigned int index))                                      \
    X(int, xrtDeviceClose, (xrtDeviceHandle dhdl))                                               \
    X(int, xrtDeviceLoadXclbinFile, (xrtDeviceHandle dhdl, const char *xclbin_path))             \
    X(int, xrtDeviceGetXclbinUUID, (xrtDeviceHandle dhdl, xuid_t out))                           \
    X(xrtKernelHandle, xrtPLKernelOpen,                                                          \
      (xrtDeviceHandle dhdl, const xuid_t xclbin_uuid, const char *name))                        \
    X(xrtKernelHandle, xrtPLKernelOpenExclusive,                                                 \
      (xrtDeviceHandle dhdl, const xuid_t xclbin_uuid, const char *name))                        \
    X(int, xrtKernelClose, (xrtKernelHandle khdl))                                               \
    X(int, xrtKernelArgGroupId, (xrtKernelHandle khdl, int argno))                               \
    X(int, xrtKernelReadRegister, (xrtKernelHandle khdl, uint32_t offset, uint32_t *datap))      \
    X(xrtBufferHandle, xrtBOAlloc,                                                               \
      (xrtDeviceHandle dhdl, size_t size, xrtBufferFlags flags, xrtMemoryGroup grp))             \
    X(xrtBufferHandle, xrtBOSubAlloc, (xrtBufferHandle parent, size_t size, size_t offset))      \
    X(int, xrtBOFree, (xrtBufferHandle bhdl))                                                    \
    X(int, xrtBOWrite, (xrtBufferHandle bhdl, const void *src, size_t size, size_t seek))        \
    X(int, xrtBORead, (xrtBufferHandle bhdl, void *dst, size_t size, size_t skip))               \
    X(int, xrtBOSync,                                                                            \
      (xrtBufferHandle bhdl, enum xclBOSyncDirection dir, size_t size, size_t offset))           \
    X(uint64_t, xrtBOAddress, (xrtBufferHandle bhdl))                                            \
    X(xrtRunHandle, xrtRunOpen, (xrtKernelHandle khdl))                                          \
    X(int, xrtRunSetArg, (xrtRunHandle rhdl, int index, ...))                                    \
    X(int, xrtRunStart, (xrtRunHandle rhdl))                                                     \
    X(enum ert_cmd_state, xrtRunWaitFor, (xrtRunHandle rhdl, unsigned int timeout_ms))           \
    X(enum ert_cmd_state, xrtRunState, (xrtRunHandle rhdl))                                      \
    X(int, xrtRunClose, (xrtRunHandle rhdl))

/* Function pointer table the driver fills with dlsym. */
#define FL_XRT_PTR(ret, name, params) ret(*name) params;
typedef struct {
    FL_XRT_FUNCS(FL_XRT_PTR)
} fl_xrt_api;
#undef FL_XRT_PTR

#endif
