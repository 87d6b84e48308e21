/* ref/threadpool.h: a small pool of persistent worker threads for the CPU engine.
 *
 * fl_threadpool_run(pool, fn, arg, n_chunks) calls fn(arg, chunk, ith) once for every chunk in
 * 0..n_chunks-1, on whichever thread claims it first (ith: the thread, 0 = the caller; use it
 * to pick per-thread scratch), and returns when all chunks are done. Chunks are claimed
 * dynamically, so a worker that the OS descheduled (a busy machine) delays the launch by at most
 * the chunk it holds, and a worker that never woke up delays it not at all.
 *
 * Workers spin on the launch word for a short while after each launch (first with pause, then
 * yielding the CPU) before sleeping on a condition variable, so the tens of launches of a decode
 * step cost a cache-line handoff, not a futex wakeup each. */
#ifndef FLARE_REF_THREADPOOL_H
#define FLARE_REF_THREADPOOL_H

typedef struct fl_threadpool fl_threadpool;

typedef void (*fl_task_fn)(void *arg, int chunk, int ith);

#define FL_POOL_MAX_CHUNKS ((1 << 20) - 1)

/* A pool of n_threads (1..256) threads in all, the caller included (n_threads - 1 workers). */
int fl_threadpool_new(fl_threadpool **out, int n_threads);
void fl_threadpool_free(fl_threadpool *p);
int fl_threadpool_size(const fl_threadpool *p);

/* Run fn on every chunk (1..FL_POOL_MAX_CHUNKS); returns after the last one finished.
 * Called from one thread at a time. */
void fl_threadpool_run(fl_threadpool *p, fl_task_fn fn, void *arg, int n_chunks);

#endif
