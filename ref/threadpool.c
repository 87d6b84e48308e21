/* ref/threadpool.c: persistent workers with dynamic chunk claiming (ref/threadpool.h).
 *
 * One 64-bit atomic word describes the launch: generation (24 bits) | number of chunks (20) |
 * next unclaimed chunk (20). A thread claims a chunk by compare-and-swap on the whole word, so
 * a claim can only succeed for the launch it read; fn and arg are read after a successful claim,
 * when the launch cannot have finished yet (the claimed chunk is not done), so they are the
 * launch's own. The caller counts finished chunks (n_done) and returns when all are done.
 *
 * Idle workers: spin with pause for SPIN_PAUSE_NS, then spin yielding the CPU until SPIN_NS,
 * then sleep on `wake`. A launch broadcasts only when a worker announced it sleeps; the
 * announce-then-recheck under the mutex makes a lost wakeup impossible. */
#include "ref/threadpool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "flare/error.h"

#define SPIN_PAUSE_NS 50000ull /* pure spinning after a launch (50 us) */
#define SPIN_NS 2000000ull     /* then yielding, before sleeping (2 ms) */

#define GEN_SHIFT 40
#define N_SHIFT 20
#define FIELD_MASK ((1ull << 20) - 1)

struct fl_threadpool {
    int n;                      /* threads in all, the caller included */
    pthread_t *threads;         /* (n - 1) workers, index 1.. */
    struct worker {
        struct fl_threadpool *pool;
        int ith;
    } *workers;
    _Atomic(fl_task_fn) fn;
    _Atomic(void *) arg;
    _Atomic uint64_t launch;    /* gen | n_chunks | next */
    _Atomic int n_done;         /* chunks finished in the current launch */
    _Atomic int n_sleeping;     /* workers waiting on `wake` */
    _Atomic int quit;
    uint64_t gen;               /* caller's generation counter */
    pthread_mutex_t mu;
    pthread_cond_t wake;
};

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline uint64_t gen_of(uint64_t w)
{
    return w >> GEN_SHIFT;
}

/* Claim and run chunks of the launch word `w` was read from; returns when none is left. */
static void work(struct fl_threadpool *p, uint64_t w, int ith)
{
    for (;;) {
        uint64_t n = (w >> N_SHIFT) & FIELD_MASK, next = w & FIELD_MASK;
        if (next >= n)
            return;
        if (!atomic_compare_exchange_weak(&p->launch, &w, w + 1))
            continue; /* w now holds the current word (maybe a newer launch): re-check it */
        fl_task_fn fn = atomic_load_explicit(&p->fn, memory_order_relaxed);
        void *arg = atomic_load_explicit(&p->arg, memory_order_relaxed);
        fn(arg, (int)next, ith);
        atomic_fetch_add_explicit(&p->n_done, 1, memory_order_release);
        w = atomic_load(&p->launch);
    }
}

/* Wait until the launch generation differs from `seen` (or quit); returns the launch word. */
static uint64_t wait_launch(struct fl_threadpool *p, uint64_t seen)
{
    uint64_t t0 = now_ns();
    for (unsigned i = 1;; i++) {
        uint64_t w = atomic_load_explicit(&p->launch, memory_order_acquire);
        if (gen_of(w) != seen || atomic_load_explicit(&p->quit, memory_order_relaxed))
            return w;
        if ((i & 255) == 0) {
            uint64_t dt = now_ns() - t0;
            if (dt > SPIN_NS)
                break;
            if (dt > SPIN_PAUSE_NS)
                sched_yield();
        } else {
            cpu_relax();
        }
    }
    pthread_mutex_lock(&p->mu);
    atomic_fetch_add(&p->n_sleeping, 1);
    uint64_t w;
    while (gen_of(w = atomic_load(&p->launch)) == seen && !atomic_load(&p->quit))
        pthread_cond_wait(&p->wake, &p->mu);
    atomic_fetch_sub(&p->n_sleeping, 1);
    pthread_mutex_unlock(&p->mu);
    return w;
}

static void *worker_main(void *v)
{
    struct worker *wk = v;
    struct fl_threadpool *p = wk->pool;
    uint64_t seen = 0;
    for (;;) {
        uint64_t w = wait_launch(p, seen);
        if (atomic_load(&p->quit))
            return NULL;
        seen = gen_of(w);
        work(p, w, wk->ith);
    }
}

int fl_threadpool_new(fl_threadpool **out, int n_threads)
{
    *out = NULL;
    if (n_threads < 1 || n_threads > 256)
        return flare_error(FLARE_EINVAL, "threads: %d, expected 1..256", n_threads);
    struct fl_threadpool *p = calloc(1, sizeof *p);
    if (!p)
        return flare_error(FLARE_ENOMEM, "out of memory for a thread pool");
    p->n = n_threads;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->wake, NULL);
    p->threads = calloc((size_t)n_threads, sizeof *p->threads);
    p->workers = calloc((size_t)n_threads, sizeof *p->workers);
    if (!p->threads || !p->workers) {
        p->n = 1;
        fl_threadpool_free(p);
        return flare_error(FLARE_ENOMEM, "out of memory for a thread pool");
    }
    for (int i = 1; i < n_threads; i++) {
        p->workers[i] = (struct worker){p, i};
        if (pthread_create(&p->threads[i], NULL, worker_main, &p->workers[i])) {
            p->n = i; /* only workers 1..i-1 exist */
            fl_threadpool_free(p);
            return flare_error(FLARE_EIO, "pthread_create failed for worker %d", i);
        }
    }
    *out = p;
    return 0;
}

void fl_threadpool_free(fl_threadpool *p)
{
    if (!p)
        return;
    atomic_store(&p->quit, 1);
    pthread_mutex_lock(&p->mu);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    for (int i = 1; i < p->n; i++)
        pthread_join(p->threads[i], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->wake);
    free(p->threads);
    free(p->workers);
    free(p);
}

int fl_threadpool_size(const fl_threadpool *p)
{
    return p->n;
}

void fl_threadpool_run(fl_threadpool *p, fl_task_fn fn, void *arg, int n_chunks)
{
    if (n_chunks <= 0)
        return;
    if (p->n == 1 || n_chunks == 1) {
        for (int c = 0; c < n_chunks; c++)
            fn(arg, c, 0);
        return;
    }
    if (n_chunks > (int)FIELD_MASK)
        n_chunks = (int)FIELD_MASK; /* callers stay below FL_POOL_MAX_CHUNKS */
    atomic_store_explicit(&p->fn, fn, memory_order_relaxed);
    atomic_store_explicit(&p->arg, arg, memory_order_relaxed);
    atomic_store_explicit(&p->n_done, 0, memory_order_relaxed);
    p->gen = (p->gen + 1) & ((1ull << 24) - 1);
    if (p->gen == 0)
        p->gen = 1; /* 0 is the workers' initial "seen" */
    uint64_t w = (p->gen << GEN_SHIFT) | ((uint64_t)n_chunks << N_SHIFT);
    atomic_store(&p->launch, w); /* seq_cst: ordered before the n_sleeping load */
    if (atomic_load(&p->n_sleeping) > 0) {
        pthread_mutex_lock(&p->mu);
        pthread_cond_broadcast(&p->wake);
        pthread_mutex_unlock(&p->mu);
    }
    work(p, w, 0);
    for (unsigned i = 1; atomic_load_explicit(&p->n_done, memory_order_acquire) < n_chunks; i++) {
        cpu_relax();
        if ((i & 1023) == 0)
            sched_yield(); /* a worker holding a chunk may be descheduled */
    }
}
