/* sim/xrtsim.cpp: libflare_xrtsim.so, the XRT C API subset of driver/xrt_api.h (and the flsim_*
 * extension of sim/xrtsim.h) over the simulated card of sim/simdev.h.
 *
 * What the simulated "xclbin" holds and how the calls behave:
 *   - xrtDeviceOpen(0) opens a fresh simulated card each time (independent memory and kernel),
 *     configured by the last flsim_configure (options apply to that one open, then reset).
 *   - The kernels are built in: xrtDeviceLoadXclbinFile only checks that the file exists and is
 *     readable (its content is ignored); xrtDeviceGetXclbinUUID gives a fixed UUID; the one
 *     kernel is "fl_qmatmul" (also "fl_qmatmul:{...}"), arguments in the order of
 *     FL_QMATMUL_ARGS (include/flare/kernels.h). Every other name: NULL.
 *   - Buffers: a device range (4 KiB aligned) in bank `grp` (0..31, own address range each,
 *     sim/simdev.h) plus a host shadow; xrtBOWrite/xrtBORead touch the shadow, xrtBOSync copies
 *     between shadow and device memory, as on a card. Sub-buffers share the parent's storage.
 *   - Every argument memory group (xrtKernelArgGroupId) is 0; any bank works for any port.
 *   - The kernel is an ap_ctrl_chain kernel: xrtRunStart hands the call over as XRT does (once
 *     the kernel has taken the previous call's arguments: ap_start reads 0; calls completing
 *     meanwhile are serviced), so runs started back to back overlap in the kernel; they
 *     complete in start order. xrtRunWaitFor (and xrtRunState) clocks the model until the run's
 *     ap_done (the interrupt), whose status register is read before ap_continue and kept
 *     (flsim_run_status). Deterministic, one thread: timeout_ms is not used; the cycle timeout
 *     (flsim_configure timeout=) ends a run with ERT_CMD_STATE_ERROR, as does an AXI protocol
 *     error (every run still in the kernel then ends so). Starting a run object that is still
 *     in flight completes it first. xrtBOSync waits for every run in flight.
 *   - xrtPLKernelOpenExclusive / xrtKernelReadRegister as on a card: an exclusive open needs
 *     the compute unit unopened and keeps every other open out; registers are read through
 *     s_axi_control only on an exclusive handle.
 *   - Handles are never-reused tagged ids checked on every call: a wrong, stale or
 *     wrong-kind handle gives an error (-1, NULL, 0 or ERT_CMD_STATE_ERROR; errno EINVAL),
 *     never a crash. Errors set errno and flsim_last_error() (thread-local). One global lock
 *     serialises the calls. */
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include <unistd.h>

#include "axi_mem.h"
#include "flare/kernels.h"
#include "simdev.h"
#include "xrtsim.h"

#define API extern "C" __attribute__((visibility("default")))

/* ---- errors ---- */
static thread_local std::string t_error;
static std::mutex g_mu;

static void set_err(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_err(int err, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    std::vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    t_error = buf;
    errno = err;
}

/* ---- the kernel's argument table ---- */
struct arg_desc {
    const char *name;
    bool addr;
    uint32_t off;
};
#define FL_ARG_DESC(name, kind, off) {#name, FL_ARG_WORDS_##kind == 2u, off},
static const arg_desc QMM_ARGS[] = {FL_QMATMUL_ARGS(FL_ARG_DESC)};
#undef FL_ARG_DESC
static const int QMM_N_ARGS = (int)(sizeof QMM_ARGS / sizeof QMM_ARGS[0]);
static const char *const KERNEL_NAME = "fl_qmatmul";
/* "flare-sim-qmm-v1" */
static const xuid_t SIM_UUID = {0x66, 0x6c, 0x61, 0x72, 0x65, 0x2d, 0x73, 0x69,
                                0x6d, 0x2d, 0x71, 0x6d, 0x6d, 0x2d, 0x76, 0x31};
static const uint64_t BO_ALIGN = 4096;

/* ---- options for the next open ---- */
struct sim_opts {
    std::string mem = "ddr4";
    std::string trace;
    uint64_t timeout = SIMDEV_DEFAULT_TIMEOUT;
};
static sim_opts g_opts;

/* ---- objects ---- */
struct run_obj;
struct device_obj {
    simdev *sd = nullptr;
    axi_mem host = axi_mem::sparse(SIMDEV_MEM_BASE, SIMDEV_BANKS * SIMDEV_BANK_BYTES);
    std::map<uint64_t, uint64_t> free_ranges[SIMDEV_BANKS]; /* start -> bytes */
    std::deque<run_obj *> inflight; /* runs started, not yet completed, oldest first */
    unsigned cu_opens = 0;          /* kernel handles open on the compute unit */
    bool cu_exclusive = false;      /* one of them exclusively */
    uint64_t next_run_id = 1;
    ~device_obj() { simdev_close(sd); }
};

/* a device range; returned to its bank (and its memory released) when the last buffer
   using it goes */
struct bo_storage {
    std::shared_ptr<device_obj> dev;
    uint64_t addr = 0, bytes = 0; /* bytes: the range, rounded up to BO_ALIGN */
    unsigned bank = 0;
    ~bo_storage()
    {
        simdev_mem_zero(dev->sd, addr, bytes);
        dev->host.zero(addr, bytes);
        std::map<uint64_t, uint64_t> &fr = dev->free_ranges[bank];
        auto it = fr.emplace(addr, bytes).first;
        auto next = std::next(it);
        if (next != fr.end() && it->first + it->second == next->first) {
            it->second += next->second;
            fr.erase(next);
        }
        if (it != fr.begin()) {
            auto prev = std::prev(it);
            if (prev->first + prev->second == it->first) {
                prev->second += it->second;
                fr.erase(it);
            }
        }
    }
};

struct bo_obj {
    std::shared_ptr<bo_storage> store;
    uint64_t addr = 0, size = 0;
};

struct kernel_obj {
    std::shared_ptr<device_obj> dev;
    bool exclusive = false;
};

struct run_obj {
    std::shared_ptr<device_obj> dev;
    uint64_t id = 0;
    uint32_t regs[FL_KERNEL_REG_WORDS] = {};
    std::shared_ptr<bo_storage> arg_store[FL_KERNEL_REG_WORDS]; /* buffers set as arguments
                                                                   stay allocated (as in XRT) */
    enum ert_cmd_state state = ERT_CMD_STATE_NEW;
    uint32_t status = 0;
    bool have_status = false;
    std::string error;
};

/* ---- handles: tag << 48 | serial, never reused ---- */
enum { TAG_DEV = 0xd1, TAG_BO = 0xb0, TAG_KERNEL = 0x4e, TAG_RUN = 0x52 };
static uint64_t g_serial = 0;
static std::unordered_map<uintptr_t, std::shared_ptr<device_obj>> g_devs;
static std::unordered_map<uintptr_t, std::shared_ptr<bo_obj>> g_bos;
static std::unordered_map<uintptr_t, std::shared_ptr<kernel_obj>> g_kernels;
static std::unordered_map<uintptr_t, std::shared_ptr<run_obj>> g_runs;

static void *new_handle(unsigned tag)
{
    return (void *)(uintptr_t)(((uint64_t)tag << 48) | ++g_serial);
}

static const char *handle_kind(void *h)
{
    uintptr_t k = (uintptr_t)h;
    if (g_devs.count(k))
        return "a device";
    if (g_bos.count(k))
        return "a buffer";
    if (g_kernels.count(k))
        return "a kernel";
    if (g_runs.count(k))
        return "a run";
    return "not open (unknown or closed)";
}

template <typename T>
static T *lookup(std::unordered_map<uintptr_t, std::shared_ptr<T>> &m, void *h, const char *fn,
                 const char *want)
{
    auto it = m.find((uintptr_t)h);
    if (it != m.end())
        return it->second.get();
    set_err(EINVAL, "%s: handle %p is not an open %s handle (it is %s)", fn, h, want,
            handle_kind(h));
    return nullptr;
}

/* ---- runs ---- */
/* Finish a run in flight: the kernel completes calls in order, so every run started before it
   completes first (simulate to each interrupt, keep each status). */
static void run_finish(run_obj *r)
{
    device_obj *d = r->dev.get();
    while (r->state == ERT_CMD_STATE_RUNNING && !d->inflight.empty()) {
        run_obj *o = d->inflight.front();
        d->inflight.pop_front();
        uint32_t st = 0;
        if (simdev_wait(d->sd, &st) == 0) {
            o->state = ERT_CMD_STATE_COMPLETED;
            o->status = st;
            o->have_status = true;
        } else {
            o->state = ERT_CMD_STATE_ERROR;
            o->error = "run " + std::to_string(o->id) + ": " + simdev_error(d->sd);
        }
    }
}

/* ---- the extension (sim/xrtsim.h) ---- */
static bool parse_u64(const std::string &s, uint64_t *out)
{
    if (s.empty() || s.size() > 20)
        return false;
    uint64_t v = 0;
    for (char c : s) {
        if (c < '0' || c > '9')
            return false;
        uint64_t d = (uint64_t)(c - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

API int flsim_configure(const char *opts)
{
    std::lock_guard<std::mutex> lk(g_mu);
    sim_opts o;
    std::string s = opts ? opts : "";
    bool seen_mem = false, seen_trace = false, seen_timeout = false;
    size_t pos = 0;
    while (!s.empty() && pos <= s.size()) {
        size_t end = s.find(',', pos);
        if (end == std::string::npos)
            end = s.size();
        std::string item = s.substr(pos, end - pos);
        pos = end + 1;
        size_t eq = item.find('=');
        if (eq == std::string::npos) {
            set_err(EINVAL, "flsim_configure: option '%s' is not KEY=VALUE (mem=ddr4|hbm, "
                    "trace=FILE, timeout=CYCLES)", item.c_str());
            return -1;
        }
        std::string key = item.substr(0, eq), val = item.substr(eq + 1);
        bool *seen = key == "mem" ? &seen_mem : key == "trace" ? &seen_trace
                                 : key == "timeout"            ? &seen_timeout
                                                               : nullptr;
        if (!seen) {
            set_err(EINVAL, "flsim_configure: unknown option '%s' (mem, trace, timeout)",
                    key.c_str());
            return -1;
        }
        if (*seen) {
            set_err(EINVAL, "flsim_configure: option '%s' given twice", key.c_str());
            return -1;
        }
        *seen = true;
        if (key == "mem") {
            if (val != "ddr4" && val != "hbm") {
                set_err(EINVAL, "flsim_configure: mem='%s': expected ddr4 or hbm", val.c_str());
                return -1;
            }
            o.mem = val;
        } else if (key == "trace") {
            if (val.empty()) {
                set_err(EINVAL, "flsim_configure: trace= needs a file name");
                return -1;
            }
            if (!simdev_can_trace()) {
                set_err(ENOTSUP, "flsim_configure: trace: this library was built without "
                        "tracing (XRTSIM_TRACE=0)");
                return -1;
            }
            o.trace = val;
        } else {
            if (!parse_u64(val, &o.timeout) || o.timeout == 0) {
                set_err(EINVAL, "flsim_configure: timeout='%s': expected a cycle count of 1 "
                        "to 2^64-1", val.c_str());
                return -1;
            }
        }
    }
    g_opts = o;
    return 0;
}

API const char *flsim_last_error(void)
{
    return t_error.c_str();
}

API int flsim_get_stats(xrtDeviceHandle dhdl, flsim_stats *out)
{
    std::lock_guard<std::mutex> lk(g_mu);
    device_obj *d = lookup(g_devs, dhdl, "flsim_get_stats", "device");
    if (!d)
        return -1;
    if (!out) {
        set_err(EINVAL, "flsim_get_stats: out is NULL");
        return -1;
    }
    simdev_get_stats(d->sd, out);
    return 0;
}

API int flsim_run_status(xrtRunHandle rhdl, uint32_t *status)
{
    std::lock_guard<std::mutex> lk(g_mu);
    run_obj *r = lookup(g_runs, rhdl, "flsim_run_status", "run");
    if (!r)
        return -1;
    if (!status) {
        set_err(EINVAL, "flsim_run_status: status is NULL");
        return -1;
    }
    run_finish(r);
    if (!r->have_status) {
        set_err(EINVAL, "flsim_run_status: run %llu has no status (%s)",
                (unsigned long long)r->id,
                r->state == ERT_CMD_STATE_NEW ? "not started" : r->error.c_str());
        return -1;
    }
    *status = r->status;
    return 0;
}

/* ---- device ---- */
API xrtDeviceHandle xrtDeviceOpen(unsigned int index)
{
    std::lock_guard<std::mutex> lk(g_mu);
    sim_opts o = g_opts;
    g_opts = sim_opts();
    if (index != 0) {
        set_err(ENODEV, "xrtDeviceOpen: device %u: the simulator has only device 0", index);
        return nullptr;
    }
    simdev_cfg cfg;
    cfg.mem = o.mem.c_str();
    cfg.trace_path = o.trace.empty() ? nullptr : o.trace.c_str();
    cfg.timeout_cycles = o.timeout;
    char err[256];
    simdev *sd = simdev_open(&cfg, err, sizeof err);
    if (!sd) {
        set_err(EINVAL, "xrtDeviceOpen: %s", err);
        return nullptr;
    }
    std::shared_ptr<device_obj> d(new device_obj);
    d->sd = sd;
    for (unsigned b = 0; b < SIMDEV_BANKS; b++)
        d->free_ranges[b][SIMDEV_MEM_BASE + b * SIMDEV_BANK_BYTES] = SIMDEV_BANK_BYTES;
    void *h = new_handle(TAG_DEV);
    g_devs[(uintptr_t)h] = d;
    return h;
}

API int xrtDeviceClose(xrtDeviceHandle dhdl)
{
    std::lock_guard<std::mutex> lk(g_mu);
    if (!lookup(g_devs, dhdl, "xrtDeviceClose", "device"))
        return -1;
    g_devs.erase((uintptr_t)dhdl); /* buffers, kernels and runs still open keep it alive */
    return 0;
}

API int xrtDeviceLoadXclbinFile(xrtDeviceHandle dhdl, const char *xclbin_path)
{
    std::lock_guard<std::mutex> lk(g_mu);
    if (!lookup(g_devs, dhdl, "xrtDeviceLoadXclbinFile", "device"))
        return -1;
    if (!xclbin_path) {
        set_err(EINVAL, "xrtDeviceLoadXclbinFile: path is NULL");
        return -1;
    }
    std::FILE *f = std::fopen(xclbin_path, "rb");
    int e = f ? 0 : errno;
    if (f && std::fgetc(f) == EOF && std::ferror(f))
        e = errno ? errno : EIO; /* e.g. a directory */
    if (f)
        std::fclose(f);
    if (e) {
        set_err(e, "xrtDeviceLoadXclbinFile: cannot read '%s': %s", xclbin_path,
                std::strerror(e));
        return -1;
    }
    return 0; /* the simulated card's kernels are built in; the file's content is ignored */
}

API int xrtDeviceGetXclbinUUID(xrtDeviceHandle dhdl, xuid_t out)
{
    std::lock_guard<std::mutex> lk(g_mu);
    if (!lookup(g_devs, dhdl, "xrtDeviceGetXclbinUUID", "device"))
        return -1;
    if (!out) {
        set_err(EINVAL, "xrtDeviceGetXclbinUUID: out is NULL");
        return -1;
    }
    std::memcpy(out, SIM_UUID, sizeof(xuid_t));
    return 0;
}

/* ---- kernel ---- */
static xrtKernelHandle kernel_open(xrtDeviceHandle dhdl, const xuid_t xclbin_uuid,
                                   const char *name, bool exclusive, const char *fn)
{
    auto it = g_devs.find((uintptr_t)dhdl);
    if (!lookup(g_devs, dhdl, fn, "device"))
        return nullptr;
    if (!xclbin_uuid || std::memcmp(xclbin_uuid, SIM_UUID, sizeof(xuid_t))) {
        set_err(EINVAL, "%s: the xclbin UUID is not the loaded one "
                "(xrtDeviceGetXclbinUUID gives it)", fn);
        return nullptr;
    }
    size_t nl = std::strlen(KERNEL_NAME);
    if (!name || std::strncmp(name, KERNEL_NAME, nl) || (name[nl] && name[nl] != ':')) {
        set_err(ENOENT, "%s: no kernel '%s': the simulated xclbin has only %s", fn,
                name ? name : "(null)", KERNEL_NAME);
        return nullptr;
    }
    device_obj *d = it->second.get();
    /* as XRT: an exclusive open needs the compute unit unopened, and excludes every other */
    if (d->cu_exclusive || (exclusive && d->cu_opens)) {
        set_err(EBUSY, "%s: the compute unit of %s is already open%s", fn, KERNEL_NAME,
                d->cu_exclusive ? " exclusively" : " (an exclusive open needs it unopened)");
        return nullptr;
    }
    std::shared_ptr<kernel_obj> k(new kernel_obj);
    k->dev = it->second;
    k->exclusive = exclusive;
    d->cu_opens++;
    d->cu_exclusive = exclusive;
    void *h = new_handle(TAG_KERNEL);
    g_kernels[(uintptr_t)h] = k;
    return h;
}

API xrtKernelHandle xrtPLKernelOpen(xrtDeviceHandle dhdl, const xuid_t xclbin_uuid,
                                    const char *name)
{
    std::lock_guard<std::mutex> lk(g_mu);
    return kernel_open(dhdl, xclbin_uuid, name, false, "xrtPLKernelOpen");
}

API xrtKernelHandle xrtPLKernelOpenExclusive(xrtDeviceHandle dhdl, const xuid_t xclbin_uuid,
                                             const char *name)
{
    std::lock_guard<std::mutex> lk(g_mu);
    return kernel_open(dhdl, xclbin_uuid, name, true, "xrtPLKernelOpenExclusive");
}

API int xrtKernelClose(xrtKernelHandle khdl)
{
    std::lock_guard<std::mutex> lk(g_mu);
    kernel_obj *k = lookup(g_kernels, khdl, "xrtKernelClose", "kernel");
    if (!k)
        return -1;
    k->dev->cu_opens--;
    if (k->exclusive)
        k->dev->cu_exclusive = false;
    g_kernels.erase((uintptr_t)khdl);
    return 0;
}

/* A register of the kernel's s_axi_control, read as the card's driver does (some cycles). */
API int xrtKernelReadRegister(xrtKernelHandle khdl, uint32_t offset, uint32_t *datap)
{
    std::lock_guard<std::mutex> lk(g_mu);
    kernel_obj *k = lookup(g_kernels, khdl, "xrtKernelReadRegister", "kernel");
    if (!k)
        return -1;
    if (!k->exclusive) {
        set_err(EPERM, "xrtKernelReadRegister: the kernel was not opened exclusively "
                "(xrtPLKernelOpenExclusive)");
        return -1;
    }
    if (!datap || offset % 4u || offset >= FL_QMATMUL_REG_END) {
        set_err(EINVAL, "xrtKernelReadRegister: offset 0x%x: expected a word offset below 0x%x "
                "and a result pointer", offset, FL_QMATMUL_REG_END);
        return -1;
    }
    if (simdev_reg_read(k->dev->sd, offset, datap) != 0) {
        set_err(EIO, "xrtKernelReadRegister: %s", simdev_error(k->dev->sd));
        return -1;
    }
    return 0;
}

API int xrtKernelArgGroupId(xrtKernelHandle khdl, int argno)
{
    std::lock_guard<std::mutex> lk(g_mu);
    if (!lookup(g_kernels, khdl, "xrtKernelArgGroupId", "kernel"))
        return -1;
    if (argno < 0 || argno >= QMM_N_ARGS) {
        set_err(EINVAL, "xrtKernelArgGroupId: argument %d: %s has arguments 0..%d", argno,
                KERNEL_NAME, QMM_N_ARGS - 1);
        return -1;
    }
    if (!QMM_ARGS[argno].addr) {
        set_err(EINVAL, "xrtKernelArgGroupId: argument %d (%s) is a scalar, not a memory port",
                argno, QMM_ARGS[argno].name);
        return -1;
    }
    return 0;
}

/* ---- buffers ---- */
API xrtBufferHandle xrtBOAlloc(xrtDeviceHandle dhdl, size_t size, xrtBufferFlags flags,
                               xrtMemoryGroup grp)
{
    std::lock_guard<std::mutex> lk(g_mu);
    auto dit = g_devs.find((uintptr_t)dhdl);
    if (!lookup(g_devs, dhdl, "xrtBOAlloc", "device"))
        return nullptr;
    if (size == 0 || size > SIMDEV_BANK_BYTES) {
        set_err(EINVAL, "xrtBOAlloc: size %zu bytes: expected 1 to %llu (one bank)", size,
                (unsigned long long)SIMDEV_BANK_BYTES);
        return nullptr;
    }
    if (flags != XRT_BO_FLAGS_NONE) {
        set_err(EINVAL, "xrtBOAlloc: flags 0x%llx: the simulator has device buffers with a host "
                "shadow only (XRT_BO_FLAGS_NONE)", (unsigned long long)flags);
        return nullptr;
    }
    if (grp >= SIMDEV_BANKS) {
        set_err(EINVAL, "xrtBOAlloc: memory group %u: the simulated card has banks 0..%u", grp,
                SIMDEV_BANKS - 1);
        return nullptr;
    }
    device_obj *d = dit->second.get();
    uint64_t bytes = (size + BO_ALIGN - 1) / BO_ALIGN * BO_ALIGN;
    std::map<uint64_t, uint64_t> &fr = d->free_ranges[grp];
    auto it = fr.begin();
    while (it != fr.end() && it->second < bytes)
        ++it;
    if (it == fr.end()) {
        set_err(ENOMEM, "xrtBOAlloc: %zu bytes: bank %u has no free range that large", size, grp);
        return nullptr;
    }
    std::shared_ptr<bo_storage> st(new bo_storage);
    st->dev = dit->second;
    st->addr = it->first;
    st->bytes = bytes;
    st->bank = grp;
    if (it->second > bytes)
        fr[it->first + bytes] = it->second - bytes;
    fr.erase(it);
    std::shared_ptr<bo_obj> b(new bo_obj);
    b->store = st;
    b->addr = st->addr;
    b->size = size;
    void *h = new_handle(TAG_BO);
    g_bos[(uintptr_t)h] = b;
    return h;
}

API xrtBufferHandle xrtBOSubAlloc(xrtBufferHandle parent, size_t size, size_t offset)
{
    std::lock_guard<std::mutex> lk(g_mu);
    bo_obj *p = lookup(g_bos, parent, "xrtBOSubAlloc", "buffer");
    if (!p)
        return nullptr;
    if (size == 0 || offset > p->size || size > p->size - offset) {
        set_err(EINVAL, "xrtBOSubAlloc: %zu bytes at offset %zu exceed the %llu-byte buffer",
                size, offset, (unsigned long long)p->size);
        return nullptr;
    }
    std::shared_ptr<bo_obj> b(new bo_obj);
    b->store = p->store;
    b->addr = p->addr + offset;
    b->size = size;
    void *h = new_handle(TAG_BO);
    g_bos[(uintptr_t)h] = b;
    return h;
}

API int xrtBOFree(xrtBufferHandle bhdl)
{
    std::lock_guard<std::mutex> lk(g_mu);
    if (!lookup(g_bos, bhdl, "xrtBOFree", "buffer"))
        return -1;
    g_bos.erase((uintptr_t)bhdl); /* the storage goes with its last buffer */
    return 0;
}

static bo_obj *bo_range(void *h, const char *fn, size_t size, size_t off, const void *ptr,
                        const char *ptr_name)
{
    bo_obj *b = lookup(g_bos, h, fn, "buffer");
    if (!b)
        return nullptr;
    if (off > b->size || size > b->size - off) {
        set_err(EINVAL, "%s: %zu bytes at offset %zu exceed the %llu-byte buffer", fn, size, off,
                (unsigned long long)b->size);
        return nullptr;
    }
    if (ptr_name && !ptr && size) {
        set_err(EINVAL, "%s: %s is NULL", fn, ptr_name);
        return nullptr;
    }
    return b;
}

API int xrtBOWrite(xrtBufferHandle bhdl, const void *src, size_t size, size_t seek)
{
    std::lock_guard<std::mutex> lk(g_mu);
    bo_obj *b = bo_range(bhdl, "xrtBOWrite", size, seek, src, "src");
    if (!b)
        return -1;
    if (size)
        b->store->dev->host.write(b->addr + seek, src, size);
    return 0;
}

API int xrtBORead(xrtBufferHandle bhdl, void *dst, size_t size, size_t skip)
{
    std::lock_guard<std::mutex> lk(g_mu);
    bo_obj *b = bo_range(bhdl, "xrtBORead", size, skip, dst, "dst");
    if (!b)
        return -1;
    if (size)
        b->store->dev->host.read(b->addr + skip, dst, size);
    return 0;
}

API int xrtBOSync(xrtBufferHandle bhdl, enum xclBOSyncDirection dir, size_t size, size_t offset)
{
    std::lock_guard<std::mutex> lk(g_mu);
    bo_obj *b = bo_range(bhdl, "xrtBOSync", size, offset, nullptr, nullptr);
    if (!b)
        return -1;
    if (dir != XCL_BO_SYNC_BO_TO_DEVICE && dir != XCL_BO_SYNC_BO_FROM_DEVICE) {
        set_err(EINVAL, "xrtBOSync: direction %d: expected XCL_BO_SYNC_BO_TO_DEVICE (0) or "
                "XCL_BO_SYNC_BO_FROM_DEVICE (1)", (int)dir);
        return -1;
    }
    if (size == 0) {
        set_err(EINVAL, "xrtBOSync: size 0: give the number of bytes to sync");
        return -1;
    }
    device_obj *d = b->store->dev.get();
    /* the kernel may still be reading or writing: a sync waits for every run in flight */
    if (!d->inflight.empty())
        run_finish(d->inflight.back());
    static uint8_t buf[1u << 16];
    uint64_t a = b->addr + offset, n = size;
    while (n) {
        uint64_t m = n < sizeof buf ? n : sizeof buf;
        if (dir == XCL_BO_SYNC_BO_TO_DEVICE) {
            d->host.read(a, buf, m);
            simdev_mem_write(d->sd, a, buf, m);
        } else {
            simdev_mem_read(d->sd, a, buf, m);
            d->host.write(a, buf, m);
        }
        a += m;
        n -= m;
    }
    return 0;
}

API uint64_t xrtBOAddress(xrtBufferHandle bhdl)
{
    std::lock_guard<std::mutex> lk(g_mu);
    bo_obj *b = lookup(g_bos, bhdl, "xrtBOAddress", "buffer");
    return b ? b->addr : 0;
}

/* ---- runs ---- */
API xrtRunHandle xrtRunOpen(xrtKernelHandle khdl)
{
    std::lock_guard<std::mutex> lk(g_mu);
    kernel_obj *k = lookup(g_kernels, khdl, "xrtRunOpen", "kernel");
    if (!k)
        return nullptr;
    std::shared_ptr<run_obj> r(new run_obj);
    r->dev = k->dev;
    r->id = k->dev->next_run_id++;
    void *h = new_handle(TAG_RUN);
    g_runs[(uintptr_t)h] = r;
    return h;
}

API int xrtRunSetArg(xrtRunHandle rhdl, int index, ...)
{
    std::lock_guard<std::mutex> lk(g_mu);
    run_obj *r = lookup(g_runs, rhdl, "xrtRunSetArg", "run");
    if (!r)
        return -1;
    if (index < 0 || index >= QMM_N_ARGS) {
        set_err(EINVAL, "xrtRunSetArg: argument %d: %s has arguments 0..%d", index, KERNEL_NAME,
                QMM_N_ARGS - 1);
        return -1;
    }
    const arg_desc &a = QMM_ARGS[index];
    va_list ap;
    va_start(ap, index);
    if (a.addr) {
        xrtBufferHandle bh = va_arg(ap, xrtBufferHandle);
        va_end(ap);
        bo_obj *b = lookup(g_bos, bh, "xrtRunSetArg", "buffer");
        if (!b) {
            t_error += std::string(" (argument ") + std::to_string(index) + ", " + a.name + ")";
            return -1;
        }
        if (b->store->dev != r->dev) {
            set_err(EINVAL, "xrtRunSetArg: argument %d (%s): the buffer belongs to another device",
                    index, a.name);
            return -1;
        }
        r->arg_store[index] = b->store;
        r->regs[a.off / 4u] = (uint32_t)b->addr;
        r->regs[a.off / 4u + 1u] = (uint32_t)(b->addr >> 32);
    } else {
        unsigned int v = va_arg(ap, unsigned int);
        va_end(ap);
        r->regs[a.off / 4u] = v;
    }
    return 0;
}

API int xrtRunStart(xrtRunHandle rhdl)
{
    std::lock_guard<std::mutex> lk(g_mu);
    run_obj *r = lookup(g_runs, rhdl, "xrtRunStart", "run");
    if (!r)
        return -1;
    device_obj *d = r->dev.get();
    if (r->state == ERT_CMD_STATE_RUNNING) /* started again: its previous call completes first */
        run_finish(r);
    r->have_status = false;
    r->error.clear();
    /* the kernel takes the call as soon as it has room (ap_ctrl_chain): calls started before
       may still be running */
    if (simdev_start(d->sd, r->regs, FL_QMATMUL_REG_END / 4u) != 0) {
        r->state = ERT_CMD_STATE_ERROR;
        r->error = "run " + std::to_string(r->id) + ": " + simdev_error(d->sd);
        set_err(EIO, "xrtRunStart: %s", r->error.c_str());
        return -1;
    }
    r->state = ERT_CMD_STATE_RUNNING;
    d->inflight.push_back(r);
    return 0;
}

static enum ert_cmd_state run_complete(void *rhdl, const char *fn)
{
    run_obj *r = lookup(g_runs, rhdl, fn, "run");
    if (!r)
        return ERT_CMD_STATE_ERROR;
    run_finish(r);
    if (r->state == ERT_CMD_STATE_ERROR)
        set_err(EIO, "%s", r->error.c_str());
    return r->state;
}

API enum ert_cmd_state xrtRunWaitFor(xrtRunHandle rhdl, unsigned int timeout_ms)
{
    (void)timeout_ms; /* deterministic: the run's cycle timeout applies instead */
    std::lock_guard<std::mutex> lk(g_mu);
    return run_complete(rhdl, "xrtRunWaitFor");
}

API enum ert_cmd_state xrtRunState(xrtRunHandle rhdl)
{
    std::lock_guard<std::mutex> lk(g_mu);
    return run_complete(rhdl, "xrtRunState");
}

API int xrtRunClose(xrtRunHandle rhdl)
{
    std::lock_guard<std::mutex> lk(g_mu);
    run_obj *r = lookup(g_runs, rhdl, "xrtRunClose", "run");
    if (!r)
        return -1;
    run_finish(r); /* a started call runs to its end on the card anyway */
    g_runs.erase((uintptr_t)rhdl);
    return 0;
}
