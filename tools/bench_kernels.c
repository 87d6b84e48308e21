/* tools/bench_kernels.c: throughput of the ref/kernels.h matmuls (not part of `make test`).
 *
 * For each ISA and weight type: the matmuls of one stories15M token (dim 288, ffn 768, 6 layers,
 * vocabulary 32000) at T = 1 (reported as GB/s of weights streamed, and the passes per second
 * the matmuls alone allow) and T = 4, 128 (GOP/s, 2 ops per multiply-add; tok/s of the matmuls
 * alone), plus one large matrix
 * (8192 x 4096) at T = 1 that does not fit in cache (DRAM bandwidth).
 * Threads split the rows of each matmul, as the engine's pool does. Reports the fastest pass
 * (the machine is shared).
 *
 * Build: make lib && cc -O2 -std=c11 -D_GNU_SOURCE -Iinclude -I. tools/bench_kernels.c \
 *          build/libflare.a -lutf8proc -lpthread -lm -ldl -o build/bench_kernels
 * Run:   build/bench_kernels [threads=2] [seconds per case=0.3] [isa|all] [type|all] [small T=4] */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ref/kernels.h"
#include "ref/quants.h"

typedef struct {
    int64_t n, k, count; /* rows, columns, how many such matrices per token */
} shape;

static const shape stories[] = {
    {288, 288, 4 * 6}, {768, 288, 2 * 6}, {288, 768, 6}, {32000, 288, 1}};
static const shape big[] = {{8192, 4096, 1}};

typedef struct {
    fl_isa isa;
    uint32_t wtype;
    const void *W;
    size_t rb;
    int64_t k;
    const void *x;
    int64_t T;
    float *y;
    int64_t ys, r0, r1;
} job;

static void run_job(job *j)
{
    fl_matmul_rows_isa(j->isa, j->wtype, j->W, j->rb, j->k, j->x, j->T, j->y, j->ys, j->r0,
                       j->r1);
}

/* Persistent workers 1..threads-1 spinning on a generation counter (thread creation per
 * matmul would dominate the small stories15M matrices). */
static job g_jobs[16];
static atomic_int g_gen, g_done, g_quit;

static void *worker(void *arg)
{
    int id = (int)(intptr_t)arg, seen = 0;
    for (;;) {
        int g;
        for (int spin = 0; (g = atomic_load(&g_gen)) == seen; spin++) {
            if (atomic_load(&g_quit))
                return NULL;
            if (spin > 20000) /* shared machine: let others run */
                sched_yield();
        }
        seen = g;
        run_job(&g_jobs[id]);
        atomic_fetch_add(&g_done, 1);
    }
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* One pass over the shapes; returns seconds. */
static double pass(fl_isa isa, uint32_t wt, const shape *sh, int nsh, void **W, const void *x,
                   int64_t T, float *y, int threads)
{
    double t0 = now_s();
    for (int s = 0; s < nsh; s++) {
        size_t rb = fl_row_bytes(wt, (uint64_t)sh[s].k);
        for (int64_t c = 0; c < sh[s].count; c++) {
            for (int i = 0; i < threads; i++) {
                int64_t r0 = sh[s].n * i / threads, r1 = sh[s].n * (i + 1) / threads;
                g_jobs[i] = (job){isa, wt, W[s], rb, sh[s].k, x, T, y, sh[s].n, r0, r1};
            }
            atomic_store(&g_done, 0);
            atomic_fetch_add(&g_gen, 1);
            run_job(&g_jobs[0]);
            for (int spin = 0; atomic_load(&g_done) < threads - 1; spin++)
                if (spin > 20000)
                    sched_yield();
        }
    }
    return now_s() - t0;
}

static void bench(const char *name, fl_isa isa, uint32_t wt, const shape *sh, int nsh,
                  int64_t T, int threads, double secs)
{
    void *W[8];
    double bytes = 0, ops = 0;
    int64_t kmax = 0, nmax = 0;
    for (int s = 0; s < nsh; s++) {
        size_t rb = fl_row_bytes(wt, (uint64_t)sh[s].k);
        W[s] = malloc(rb * (size_t)sh[s].n);
        float *row = malloc((size_t)sh[s].k * sizeof(float));
        for (int64_t r = 0; r < sh[s].n; r++) {
            for (int64_t i = 0; i < sh[s].k; i++)
                row[i] = (float)((r * 31 + i * 17) % 97) / 97.0f - 0.5f;
            fl_quantize_row(wt, row, (char *)W[s] + r * rb, sh[s].k);
        }
        free(row);
        bytes += (double)rb * sh[s].n * sh[s].count;
        ops += 2.0 * sh[s].n * sh[s].k * T * sh[s].count;
        kmax = sh[s].k > kmax ? sh[s].k : kmax;
        nmax = sh[s].n > nmax ? sh[s].n : nmax;
    }
    float *xf = malloc((size_t)(T * kmax) * sizeof(float));
    for (int64_t i = 0; i < T * kmax; i++)
        xf[i] = (float)(i % 13) - 6;
    void *x = xf;
    if (fl_matmul_x_type(wt) == FL_TYPE_Q8_0) {
        x = malloc((size_t)(T * kmax / 32) * sizeof(block_q8_0));
        fl_quantize_act_q8_0(xf, x, T, kmax);
    }
    float *y = malloc((size_t)(T * nmax) * sizeof(float));
    pass(isa, wt, sh, nsh, W, x, T, y, threads); /* warm */
    /* best pass: the machine is shared, the fastest pass is the least disturbed one */
    double t = 0, per = 1e30;
    for (int reps = 0; (t < secs || reps < 20) && t < 20 * secs; reps++) {
        double p = pass(isa, wt, sh, nsh, W, x, T, y, threads);
        t += p;
        per = p < per ? p : per;
    }
    if (T == 1)
        printf("%-8s %-7s %-5s T=%-4lld %8.2f GB/s  %9.1f passes/s  (%.2f MB)\n", name,
               fl_isa_name(isa), fl_type_name(wt), (long long)T, bytes / per * 1e-9, 1 / per,
               bytes * 1e-6);
    else
        printf("%-8s %-7s %-5s T=%-4lld %8.1f GOP/s %9.1f tok/s\n", name, fl_isa_name(isa),
               fl_type_name(wt), (long long)T, ops / per * 1e-9, T / per);
    fflush(stdout);
    for (int s = 0; s < nsh; s++)
        free(W[s]);
    if (x != xf)
        free(x);
    free(xf);
    free(y);
}

int main(int argc, char **argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : 2;
    double secs = argc > 2 ? atof(argv[2]) : 0.3;
    const char *only = argc > 3 ? argv[3] : NULL;
    const char *only_type = argc > 4 ? argv[4] : NULL;
    const int64_t small_t = argc > 5 ? atoi(argv[5]) : 4;
    if (threads < 1 || threads > 16)
        threads = 2;
    const uint32_t types[5] = {FL_TYPE_Q4_0, FL_TYPE_Q5_0, FL_TYPE_Q8_0, FL_TYPE_F16,
                               FL_TYPE_F32};
    printf("threads %d, best ISA %s\n", threads, fl_isa_name(fl_cpu_best_isa()));
    pthread_t th[16];
    for (int i = 1; i < threads; i++)
        pthread_create(&th[i], NULL, worker, (void *)(intptr_t)i);
    for (int isa = fl_cpu_best_isa(); isa >= 0; isa--) {
        if (only && strcmp(only, "all") != 0 && strcmp(only, fl_isa_name((fl_isa)isa)) != 0)
            continue;
        for (int t = 0; t < 5; t++) {
            if (only_type && strcmp(only_type, "all") != 0 &&
                strcmp(only_type, fl_type_name(types[t])) != 0)
                continue;
            bench("stories", (fl_isa)isa, types[t], stories, 4, 1, threads, secs);
            bench("stories", (fl_isa)isa, types[t], stories, 4, small_t, threads, secs);
            bench("stories", (fl_isa)isa, types[t], stories, 4, 128, threads, secs);
            bench("8192x4k", (fl_isa)isa, types[t], big, 1, 1, threads, secs);
        }
    }
    atomic_store(&g_quit, 1);
    for (int i = 1; i < threads; i++)
        pthread_join(th[i], NULL);
    return 0;
}
