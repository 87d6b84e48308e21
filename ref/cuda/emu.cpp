/* ref/cuda/emu.cpp: the CUDA host emulator's execution model (see emu.h; the runtime API is in
 * emu_runtime.cpp).
 *
 * A launch shares its blocks among host threads (the caller and FLCU_EMU_THREADS - 1 workers;
 * default: the online CPUs, at most 16), each taking the next block until none is left, so
 * blocks run in no fixed order, as on a GPU. A block's threads are fibers (Boost.Context, a few
 * nanoseconds a switch) of the host thread running it, kept from block to block; __shared__ is
 * thread_local, so each host thread has its block's own copy. The scheduler
 * resumes every live thread in turn (lowest linear index first, or last first with
 * FLCU_EMU_ORDER=reverse, or a new pseudo-random order every round with
 * FLCU_EMU_ORDER=random[:SEED]), each runs until it waits at a barrier or finishes. A barrier is a
 * count of the live threads that reached it: the last one to arrive releases it and goes on,
 * the others see its generation change when they are next resumed. __syncthreads counts the
 * block, a shuffle or an mma the warp; their exchange slots are double-buffered by the
 * generation's parity, so a lane that went on to the next exchange cannot overwrite what a
 * slower lane still has to read. A round of the scheduler in which no barrier opened and no
 * thread finished is a deadlock (threads waiting at different barriers): it is reported and
 * the barriers are forced open so the launch ends. */
#include "ref/cuda/emu_state.h"

#include <atomic>
#include <boost/context/fiber.hpp>
#include <boost/context/protected_fixedsize_stack.hpp>
#include <condition_variable>
#include <cxxabi.h>
#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <thread>
#include <unistd.h>

namespace ctx = boost::context;

/* ---- ThreadSanitizer: CUDA threads as fibers (make racecheck) -------------------------------
 * Built with -fsanitize=thread, every CUDA thread is a TSan fiber and no switch between them
 * orders anything, so TSan reports two threads' accesses to one address (shared or global
 * memory), one a write, that nothing orders, whatever order the scheduler ran them in: what
 * compute-sanitizer's racecheck reports on a GPU, and global memory between blocks too.
 * What orders them is what orders them on a GPU: a block barrier (each arriving thread releases,
 * each leaving one acquires; an exited thread counts as arrived at every later barrier), a
 * launch after the host code and the launches before it, an atomic after a __threadfence
 * (relaxed for TSan, which does not model fences; the fence's part is given by hand below, so
 * a writer's missing fence is a race). And one thing a GPU does not order: the blocks one host
 * thread runs, one after another, since their __shared__ arrays are the same thread-local
 * storage (TSan has no way to forget an address's history); blocks on different host threads
 * stay unordered, so racecheck runs several, and a race between blocks is seen when the two
 * land on two.
 * A shuffle or an mma orders nothing (CUDA promises memory ordering for __syncwarp, not for
 * them). This file, the machine rather than the program under test, is compiled without the
 * instrumentation (FLCU_EMU_TSAN from the Makefile): its bookkeeping and the fiber switches are
 * not checked; the kernels (engine.cu) and the runtime API (emu_runtime.cpp) are. */
#ifdef FLCU_EMU_TSAN
#include <sanitizer/tsan_interface.h>
extern "C" void AnnotateIgnoreReadsBegin(const char *file, int line);
extern "C" void AnnotateIgnoreReadsEnd(const char *file, int line);
extern "C" void AnnotateIgnoreWritesBegin(const char *file, int line);
extern "C" void AnnotateIgnoreWritesEnd(const char *file, int line);
static void *tsan_current()
{
    return __tsan_get_current_fiber();
}
static void *tsan_new_fiber()
{
    return __tsan_create_fiber(0);
}
static void tsan_switch(void *fiber)
{
    __tsan_switch_to_fiber(fiber, __tsan_switch_to_fiber_no_sync);
}
static void tsan_release(void *a)
{
    __tsan_release(a);
}
static void tsan_acquire(void *a)
{
    __tsan_acquire(a);
}
static void tsan_ignore(bool on) /* the exchange slots: the machine's, not the program's */
{
    if (on) {
        AnnotateIgnoreReadsBegin(__FILE__, __LINE__);
        AnnotateIgnoreWritesBegin(__FILE__, __LINE__);
    } else {
        AnnotateIgnoreWritesEnd(__FILE__, __LINE__);
        AnnotateIgnoreReadsEnd(__FILE__, __LINE__);
    }
}
#else
static void *tsan_current()
{
    return nullptr;
}
static void *tsan_new_fiber()
{
    return nullptr;
}
static void tsan_switch(void *) {}
static void tsan_release(void *) {}
static void tsan_acquire(void *) {}
static void tsan_ignore(bool) {}
#endif

/* ---- the execution model -------------------------------------------------------------------- */

namespace {
const size_t STACK_BYTES = 64 * 1024;
} // namespace

namespace flcu_emu {

thread_local thread_ctx *cur;

struct warp_state {
    unsigned width, live, arrived, gen;
    int line;                 /* the call site of the exchange under way */
    uint64_t slot[2][32];     /* shuffle values, by generation parity */
    int frag[2][32][6];       /* mma: a0..a3, b0, b1 of each lane */
};

struct block_state {
    unsigned n, live, arrived, gen;
    int line;
    unsigned long progress; /* barriers opened + threads finished */
    std::vector<warp_state> warps;
    std::vector<double> dyn; /* dynamic shared memory (8-byte aligned) */
    char tsan_sync[2], tsan_start, tsan_end; /* TSan: barrier generations by parity, a block */
};

/* The fibers of one host thread that run the threads of a block, reused from block to block
 * and launch to launch (one launch at a time in the process: g_exec). */
struct machine {
    std::vector<thread_ctx> th;
    std::vector<ctx::fiber> fib;
    std::vector<char> done;
    ctx::fiber sched; /* the scheduler, while a thread runs */
    block_state blk;
    launch_body *body = nullptr;
    const void *fn = nullptr;
    int order = 0; /* 0 first-to-last, 1 last-to-first, 2 random */
    uint64_t seed = 1;
    std::vector<unsigned> perm;
    void *tsan_sched = nullptr;   /* TSan: the host thread's own context */
    std::vector<void *> tsan_fib; /* TSan: a fiber a CUDA thread */
};
thread_local machine *M;
std::mutex g_exec;

static void yield()
{
    tsan_switch(M->tsan_sched);
    M->sched = std::move(M->sched).resume();
}

std::string kernel_name(const void *fn)
{
    Dl_info di;
    if (fn && dladdr(fn, &di) && di.dli_sname && di.dli_saddr == fn) {
        int st = 0;
        char *d = abi::__cxa_demangle(di.dli_sname, NULL, NULL, &st);
        std::string s = d && !st ? d : di.dli_sname;
        free(d);
        return s;
    }
    char buf[64];
    snprintf(buf, sizeof buf, "the kernel at %p", fn);
    return buf;
}

/* The first fault is the one reported; `at` names the thread (null: host code). */
static void fault_at(int code, const char *what, const thread_ctx *at)
{
    std::lock_guard<std::mutex> lk(g_mu);
    if (g_sticky != cudaSuccess)
        return;
    g_sticky = (cudaError_t)code;
    if (at && M)
        snprintf(g_fault, sizeof g_fault, "%s in %s, block (%u,%u,%u) thread (%u,%u,%u)", what,
                 kernel_name(M->fn).c_str(), at->bid.x, at->bid.y, at->bid.z, at->tid.x,
                 at->tid.y, at->tid.z);
    else
        snprintf(g_fault, sizeof g_fault, "%s (host code)", what);
}

void fault(int code, const char *what)
{
    fault_at(code, what, cur);
}

static void faultf(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void faultf(int code, const char *fmt, ...)
{
    char buf[384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    fault(code, buf);
}

static void open_block_barrier(block_state &b)
{
    b.arrived = 0;
    b.gen++;
    b.progress++;
}

static void open_warp_barrier(block_state &b, warp_state &w)
{
    w.arrived = 0;
    w.gen++;
    b.progress++;
}

void syncthreads(int line)
{
    block_state &b = *cur->blk;
    if (b.arrived == 0)
        b.line = line;
    else if (b.line != line)
        faultf(719, "__syncthreads reached at kernels.cuh:%d by some threads and :%d by others",
               b.line, line);
    unsigned gen = b.gen;
    tsan_release(&b.tsan_sync[gen & 1]);
    if (++b.arrived == b.live)
        open_block_barrier(b);
    else
        while (b.gen == gen)
            yield();
    tsan_acquire(&b.tsan_sync[gen & 1]);
}

/* Arrive at the warp's exchange `line`; returns the parity of the slots to use, after every
 * live lane of the warp has written its own. */
static unsigned warp_exchange(warp_state &w, int line, const char *what)
{
    block_state &b = *cur->blk;
    if (w.live != w.width)
        faultf(719, "%s with a full mask after %u of the warp's %u lanes exited", what,
               w.width - w.live, w.width);
    if (w.arrived == 0)
        w.line = line;
    else if (w.line != line)
        faultf(719, "%s reached at kernels.cuh:%d by some lanes and :%d by others", what,
               w.line, line);
    unsigned gen = w.gen;
    if (++w.arrived == w.live)
        open_warp_barrier(b, w);
    else
        while (w.gen == gen)
            yield();
    return gen & 1u;
}

void shfl_xor(unsigned mask, void *v, size_t size, int lane_mask, int width, int line)
{
    block_state &b = *cur->blk;
    warp_state &w = b.warps[cur->warp];
    unsigned full = w.width == 32 ? 0xffffffffu : (1u << w.width) - 1u;
    if (mask != full || width != 32)
        faultf(719, "__shfl_xor_sync(mask 0x%x, width %d): only the whole warp (mask 0x%x, "
               "width 32) is modelled", mask, width, full);
    unsigned par = w.gen & 1u;
    tsan_ignore(true);
    memcpy(&w.slot[par][cur->lane], v, size);
    tsan_ignore(false);
    par = warp_exchange(w, line, "__shfl_xor_sync");
    unsigned src = cur->lane ^ (unsigned)lane_mask;
    tsan_ignore(true);
    if (src < w.width)
        memcpy(v, &w.slot[par][src], size);
    tsan_ignore(false);
}

/* Fragments of mma.m16n8k32.row.col.s32.s8.s8.s32 (PTX ISA, "Matrix Fragments for
 * mma.m16n8k32", .s8): lane = 4 g + t.
 *   A (16 x 32, row): a0 = A[g][4t..4t+3], a1 = A[g+8][4t..], a2 = A[g][16+4t..],
 *                     a3 = A[g+8][16+4t..]
 *   B (32 x 8, col):  b0 = B[4t..4t+3][g], b1 = B[16+4t..][g]
 *   C, D (16 x 8):    c0 = C[g][2t], c1 = C[g][2t+1], c2 = C[g+8][2t], c3 = C[g+8][2t+1]
 * bytes in increasing k order within each register. */
static int a_elem(const int (*f)[6], unsigned row, unsigned k)
{
    unsigned lane = (row % 8) * 4 + (k % 16) / 4, reg = (row >= 8 ? 1 : 0) + (k >= 16 ? 2 : 0);
    return (int8_t)((uint32_t)f[lane][reg] >> (8 * (k % 4)));
}

static int b_elem(const int (*f)[6], unsigned k, unsigned col)
{
    unsigned lane = col * 4 + (k % 16) / 4, reg = 4 + (k >= 16 ? 1 : 0);
    return (int8_t)((uint32_t)f[lane][reg] >> (8 * (k % 4)));
}

void mma_m16n8k32_s8(int *c, const int *a, const int *b)
{
    block_state &bs = *cur->blk;
    warp_state &w = bs.warps[cur->warp];
    if (w.width != 32)
        faultf(719, "mma.sync in a warp of %u threads (needs 32)", w.width);
    unsigned par = w.gen & 1u;
    tsan_ignore(true);
    memcpy(w.frag[par][cur->lane], a, 4 * sizeof(int));
    memcpy(w.frag[par][cur->lane] + 4, b, 2 * sizeof(int));
    tsan_ignore(false);
    par = warp_exchange(w, -1, "mma.sync.m16n8k32");
    tsan_ignore(true);
    const int (*f)[6] = w.frag[par];
    unsigned g = cur->lane / 4, t = cur->lane % 4;
    for (unsigned i = 0; i < 4; i++) {
        unsigned row = g + (i >= 2 ? 8 : 0), col = 2 * t + (i & 1);
        int32_t s = 0;
        for (unsigned k = 0; k < 32; k++)
            s += a_elem(f, row, k) * b_elem(f, k, col);
        c[i] = (int)((uint32_t)c[i] + (uint32_t)s); /* s32 accumulate wraps */
    }
    tsan_ignore(false);
}

/* make racecheck: a fence's effect, which TSan does not model. A release fence orders the
 * writes before it before the atomics after it: so an atomic by a thread that has fenced
 * releases into the atomic's address (all the thread has done or acquired so far: more than the
 * fence orders if it wrote between the two, never less). Every atomic acquires: the reading
 * side, where the block with the last ticket reads the others' writes after the barrier that
 * follows it, through L2 (__ldcg); its second fence is not checked. */
void tsan_atomic_begin(void *p)
{
    if (cur->fenced)
        tsan_release(p);
}

void tsan_atomic_end(void *p)
{
    tsan_acquire(p);
}

void *dyn_shared()
{
    return cur->blk->dyn.data();
}

/* A thread finished the kernel: it no longer counts at barriers. */
static void thread_exit(machine *m, unsigned i)
{
    block_state &b = m->blk;
    warp_state &w = b.warps[m->th[i].warp];
    b.live--;
    w.live--;
    b.progress++;
    tsan_release(&b.tsan_sync[0]); /* it counts as arrived at every later barrier */
    tsan_release(&b.tsan_sync[1]);
    if (w.arrived)
        faultf(719, "lane %u exited while %u lanes of its warp wait in an exchange",
               m->th[i].lane, w.arrived);
    if (b.arrived && b.arrived == b.live)
        open_block_barrier(b);
    if (w.arrived && w.arrived == w.live)
        open_warp_barrier(b, w);
}

static ctx::fiber make_worker(machine *m, unsigned i)
{
    return ctx::fiber(std::allocator_arg, ctx::protected_fixedsize_stack(STACK_BYTES),
                      [m, i](ctx::fiber &&s) {
                          m->sched = std::move(s);
                          for (;;) {
                              tsan_acquire(&m->blk.tsan_start);
                              m->body->run();
                              thread_exit(m, i);
                              m->done[i] = 1;
                              tsan_release(&m->blk.tsan_end);
                              tsan_switch(m->tsan_sched);
                              m->sched = std::move(m->sched).resume(); /* until the next block */
                          }
                          return std::move(m->sched);
                      });
}

static machine *get_machine()
{
    if (!M) {
        M = new machine; /* kept: its fibers wait for the next block */
        M->tsan_sched = tsan_current();
    }
    return M;
}

static void run_block(machine *m, dim3 bid, dim3 grid, dim3 block, size_t smem)
{
    unsigned n = block.x * block.y * block.z, nw = (n + 31) / 32;
    block_state &b = m->blk;
    b.n = b.live = n;
    b.arrived = 0;
    b.line = 0;
    b.warps.resize(nw);
    for (unsigned i = 0; i < nw; i++) {
        warp_state &w = b.warps[i];
        w.width = w.live = n - 32 * i < 32 ? n - 32 * i : 32;
        w.arrived = 0;
        w.line = 0;
    }
    if (smem) {
        b.dyn.resize((smem + 7) / 8);
        memset(b.dyn.data(), 0xFF, smem); /* uninitialised shared memory reads as NaN */
    }
    if (m->th.size() < n) {
        m->th.resize(n);
        m->done.resize(n);
    }
    while (m->fib.size() < n) {
        m->tsan_fib.push_back(tsan_new_fiber());
        m->fib.push_back(make_worker(m, (unsigned)m->fib.size()));
    }
    for (unsigned i = 0; i < n; i++) {
        thread_ctx &t = m->th[i];
        t.tid = dim3(i % block.x, i / block.x % block.y, i / (block.x * block.y));
        t.bid = bid;
        t.bdim = block;
        t.gdim = grid;
        t.linear = i;
        t.warp = i / 32;
        t.lane = i % 32;
        t.fenced = false;
        t.blk = &b;
        m->done[i] = 0;
    }
    tsan_release(&b.tsan_start);
    uint64_t rng = m->seed * 0x9E3779B97F4A7C15ull ^
                   (1 + bid.x + 65536ull * (bid.y + 65536ull * bid.z)); /* never 0 */
    while (b.live) {
        unsigned long before = b.progress;
        if (m->order == 2) { /* a Fisher-Yates shuffle every round (xorshift64) */
            m->perm.resize(n);
            for (unsigned j = 0; j < n; j++)
                m->perm[j] = j;
            for (unsigned j = n - 1; j > 0; j--) {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                std::swap(m->perm[j], m->perm[rng % (j + 1)]);
            }
        }
        for (unsigned j = 0; j < n; j++) {
            unsigned i = m->order == 0 ? j : m->order == 1 ? n - 1 - j : m->perm[j];
            if (m->done[i])
                continue;
            cur = &m->th[i];
            tsan_switch(m->tsan_fib[i]);
            m->fib[i] = std::move(m->fib[i]).resume();
        }
        cur = nullptr;
        if (b.live && b.progress == before) {
            char what[160];
            snprintf(what, sizeof what, "deadlock: threads wait at different barriers "
                     "(__syncthreads at line %d, %u of %u threads there)", b.line, b.arrived,
                     b.live);
            fault_at(cudaErrorLaunchFailure, what, &m->th[0]);
            open_block_barrier(b); /* force every barrier open so the launch ends */
            for (warp_state &w : b.warps)
                open_warp_barrier(b, w);
        }
    }
    tsan_acquire(&b.tsan_end);
}

/* FLCU_EMU_PROFILE=1: per kernel, the launches, blocks and threads, printed to stderr at exit
 * (the launch structure of a forward pass: how many kernels a token costs, how full a grid is;
 * the emulator has no time to report). */
struct launch_count {
    unsigned long long launches, blocks, threads;
};
static std::map<const void *, launch_count> g_profile;
static bool g_profiling;

static void print_profile()
{
    unsigned long long launches = 0;
    fprintf(stderr, "flcu_emu profile: %10s %12s %14s  kernel\n", "launches", "blocks",
            "threads");
    for (auto &k : g_profile) {
        launches += k.second.launches;
        fprintf(stderr, "flcu_emu profile: %10llu %12llu %14llu  %s\n", k.second.launches,
                k.second.blocks, k.second.threads, kernel_name(k.first).c_str());
    }
    fprintf(stderr, "flcu_emu profile: %10llu launches in all\n", launches);
}

static void count_launch(const void *fn, dim3 grid, dim3 block)
{
    static bool checked;
    if (!checked) {
        checked = true;
        const char *p = getenv("FLCU_EMU_PROFILE");
        g_profiling = p && *p && strcmp(p, "0");
        if (g_profiling)
            atexit(print_profile);
    }
    if (!g_profiling)
        return;
    launch_count &c = g_profile[fn];
    unsigned long long blocks = (unsigned long long)grid.x * grid.y * grid.z;
    c.launches++;
    c.blocks += blocks;
    c.threads += blocks * block.x * block.y * block.z;
}

/* The host threads that share a launch's blocks: the caller and n_workers workers. */
struct pool {
    std::mutex mu;
    std::condition_variable work, done;
    unsigned n_workers = 0, busy = 0;
    unsigned long job = 0; /* one more for every launch the workers take part in */
    /* the launch under way */
    const void *fn = nullptr;
    dim3 grid, block;
    size_t smem = 0;
    launch_body *body = nullptr;
    int order = 0;
    uint64_t seed = 1;
    unsigned long long n_blocks = 0;
    std::atomic<unsigned long long> next{0};
};

/* Take blocks of the launch in p until none is left. */
static void run_blocks(pool *p)
{
    machine *m = get_machine();
    m->body = p->body;
    m->fn = p->fn;
    m->order = p->order;
    m->seed = p->seed;
    unsigned long long gx = p->grid.x, gxy = gx * p->grid.y;
    for (;;) {
        unsigned long long i = p->next.fetch_add(1);
        if (i >= p->n_blocks)
            break;
        run_block(m, dim3((unsigned)(i % gx), (unsigned)(i / gx % p->grid.y),
                          (unsigned)(i / gxy)),
                  p->grid, p->block, p->smem);
    }
    m->body = nullptr;
}

static void worker_main(pool *p)
{
    unsigned long seen = 0;
    for (;;) {
        std::unique_lock<std::mutex> lk(p->mu);
        p->work.wait(lk, [&] { return p->job != seen; });
        seen = p->job;
        lk.unlock();
        run_blocks(p);
        lk.lock();
        if (--p->busy == 0)
            p->done.notify_one();
    }
}

static pool *get_pool()
{
    static pool *p;
    if (!p) {
        p = new pool; /* kept for the life of the process, as its workers are */
        const char *env = getenv("FLCU_EMU_THREADS");
        long n = env && *env ? strtol(env, NULL, 10) : (long)sysconf(_SC_NPROCESSORS_ONLN);
        n = n < 1 ? 1 : n > 16 ? 16 : n;
        for (long i = 1; i < n; i++)
            std::thread(worker_main, p).detach();
        p->n_workers = (unsigned)(n - 1);
    }
    return p;
}

static void execute(const void *fn, dim3 grid, dim3 block, size_t smem, launch_body *body)
{
    std::lock_guard<std::mutex> lk(g_exec);
    count_launch(fn, grid, block);
    pool *p = get_pool();
    const char *o = getenv("FLCU_EMU_ORDER");
    p->fn = fn;
    p->grid = grid;
    p->block = block;
    p->smem = smem;
    p->body = body;
    p->order = !o ? 0 : !strcmp(o, "reverse") ? 1 : !strncmp(o, "random", 6) ? 2 : 0;
    p->seed = p->order == 2 && o[6] == ':' ? strtoull(o + 7, NULL, 10) : 1;
    p->n_blocks = (unsigned long long)grid.x * grid.y * grid.z;
    p->next = 0;
    bool share = p->n_workers && p->n_blocks > 1;
    if (share) {
        std::lock_guard<std::mutex> w(p->mu);
        p->busy = p->n_workers;
        p->job++;
        p->work.notify_all();
    }
    run_blocks(p);
    if (share) {
        std::unique_lock<std::mutex> w(p->mu);
        p->done.wait(w, [&] { return p->busy == 0; });
    }
}

static cudaError_t check_launch(const void *fn, dim3 grid, dim3 block, size_t smem)
{
    unsigned long long n = (unsigned long long)block.x * block.y * block.z;
    int max_dyn = 48 * 1024;
    {
        std::lock_guard<std::mutex> lk(g_mu);
        auto it = g_attr.find(fn);
        if (it != g_attr.end())
            max_dyn = it->second.max_dyn_smem;
    }
    if (!n || n > 1024 || block.x > 1024 || block.y > 1024 || block.z > 64)
        return fail(cudaErrorInvalidConfiguration, "launch of %s: block (%u, %u, %u): at most "
                    "1024 threads, z at most 64", kernel_name(fn).c_str(), block.x, block.y,
                    block.z);
    if (!grid.x || !grid.y || !grid.z || grid.x > 0x7fffffffu || grid.y > 65535 ||
        grid.z > 65535)
        return fail(cudaErrorInvalidConfiguration, "launch of %s: grid (%u, %u, %u): x 1..2^31-1, "
                    "y and z 1..65535", kernel_name(fn).c_str(), grid.x, grid.y, grid.z);
    if (smem > (size_t)max_dyn)
        return fail(cudaErrorInvalidValue, "launch of %s: %zu bytes of dynamic shared memory, "
                    "%d allowed (cudaFuncAttributeMaxDynamicSharedMemorySize)",
                    kernel_name(fn).c_str(), smem, max_dyn);
    return cudaSuccess;
}

void launch(const void *fn, dim3 grid, dim3 block, size_t smem, cudaStream_t st,
            std::shared_ptr<launch_body> body)
{
    if (g_sticky != cudaSuccess || check_launch(fn, grid, block, smem) != cudaSuccess)
        return;
    if (st && st->capturing) {
        flcu_emu_stream::op o = {};
        o.fn = fn;
        o.grid = grid;
        o.block = block;
        o.smem = smem;
        o.body = std::move(body);
        st->ops.push_back(std::move(o));
        return;
    }
    execute(fn, grid, block, smem, body.get());
}

cudaError_t func_set_attribute(const void *fn, cudaFuncAttribute attr, int value)
{
    FLCU_STICKY();
    if (attr != cudaFuncAttributeMaxDynamicSharedMemorySize || value < 0 ||
        value > 232448 - 1024)
        return fail(cudaErrorInvalidValue, "cudaFuncSetAttribute(%d, %d): only the dynamic "
                    "shared memory size, at most 227 KiB less the static", (int)attr, value);
    std::lock_guard<std::mutex> lk(g_mu);
    g_attr[fn].max_dyn_smem = value;
    return cudaSuccess;
}

cudaError_t func_get_attributes(cudaFuncAttributes *fa, const void *fn)
{
    FLCU_STICKY();
    if (!fa || !fn)
        return fail(cudaErrorInvalidDeviceFunction, "cudaFuncGetAttributes: no function");
    std::lock_guard<std::mutex> lk(g_mu);
    auto it = g_attr.find(fn);
    fa->maxDynamicSharedSizeBytes = it != g_attr.end() ? it->second.max_dyn_smem : 48 * 1024;
    fa->maxThreadsPerBlock = 1024;
    return cudaSuccess;
}

} // namespace flcu_emu
