/* host/cli/cmd_bench.c: `flare bench`: llama-bench-like throughput of the CPU engine (or, with
 * --device cuda[:N], of the CUDA engine: bandwidth is then the GPU's device-to-device copy rate).
 *
 * With an accelerator device (--device csim, sim[:...], xrt:N[:...]) the model runs through the
 * layer scheduler, and each test also reports, per kernel, what the device counted during the
 * timed repetitions: runs, kernel cycles, bytes read and written (per AXI4 port on sim), the
 * port utilization (busy cycles / kernel cycles, and bytes / (cycles x bytes per cycle)), and
 * simulated cycles per wall second; a kernel the device lacks is reported as run on the host
 * with the bytes its transfers moved. Defaults for a device: -p 16 -n 16 -r 1.
 *
 * For each thread count: pp<P> = P prompt tokens in one eval from an empty context, tg<N> = N
 * tokens one at a time from an empty context (as llama-bench does), each repeated -r times
 * after a warm-up; mean +- standard deviation of tok/s. The decode figure is also given as
 * memory traffic: bytes streamed per token (every weight matrix once) x tg tok/s, next to this
 * machine's read bandwidth measured here (all threads reading a 512 MiB buffer). */
#include "host/cli/cli.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "flare/error.h"
#include "flare/ggml.h"
#include "driver/dev.h"
#include "host/json.h"
#include "host/model.h"
#include "host/scheduler.h"
#include "ref/engine_cpu.h"
#include "ref/engine_cuda.h"
#include "ref/threadpool.h"

#define MAX_THREADS_LIST 16
#define MAX_REPS 100

typedef struct {
    const char *model;
    const char *device; /* NULL: the CPU engine; "cuda[:N]": the CUDA engine */
    uint64_t n_prompt, n_gen, reps;
    uint32_t threads[MAX_THREADS_LIST];
    int n_threads_list, json, scalar;
    int p_given, n_given, r_given;
    uint32_t kv_type;
} bench_opts;

static void bench_usage(FILE *out)
{
    fprintf(out,
            "usage: flare bench -m MODEL.gguf [options]\n"
            "\n"
            "Prompt (pp) and generation (tg) throughput of the CPU engine, llama-bench style,\n"
            "plus the memory bandwidth decode reaches against this machine's measured bandwidth.\n"
            "\n"
            "  -m, --model FILE     llama GGUF\n"
            "  --device URI         cpu (default: the CPU engine), cuda[:N] (the CUDA engine),\n"
            "                       or an accelerator: csim, sim[:mem=hbm|ddr4], xrt:N:xclbin=F\n"
            "                       (per-kernel cycles, bytes and port utilization; defaults\n"
            "                       -p 16 -n 16 -r 1)\n"
            "  -p N                 prompt tokens (default 128; 0 = skip)\n"
            "  -n N                 generated tokens (default 64; 0 = skip)\n"
            "  -t LIST              thread counts, comma separated (default 1,2)\n"
            "  -r N                 repetitions (default 5)\n"
            "  --kv f16|f32         KV cache type (default f16)\n"
            "  --scalar             scalar reference kernels only\n"
            "  --json               one JSON object per line per test instead of the table\n");
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int parse(int argc, char **argv, bench_opts *o)
{
    memset(o, 0, sizeof *o);
    o->n_prompt = 128, o->n_gen = 64, o->reps = 5, o->kv_type = FL_TYPE_F16;
    o->threads[0] = 1, o->threads[1] = 2, o->n_threads_list = 2;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            bench_usage(stdout);
            return 1;
        } else if (!strcmp(a, "--json")) {
            o->json = 1;
        } else if (!strcmp(a, "--scalar")) {
            o->scalar = 1;
        } else if (!(v = cli_value(argc, argv, &i))) {
            return -1;
        } else if (!strcmp(a, "-m") || !strcmp(a, "--model")) {
            o->model = v;
        } else if (!strcmp(a, "--device")) {
            o->device = strcmp(v, "cpu") ? v : NULL;
        } else if (!strcmp(a, "-p")) {
            if (cli_u64(a, v, 0, 65536, &o->n_prompt))
                return -1;
            o->p_given = 1;
        } else if (!strcmp(a, "-n")) {
            if (cli_u64(a, v, 0, 65536, &o->n_gen))
                return -1;
            o->n_given = 1;
        } else if (!strcmp(a, "-r")) {
            if (cli_u64(a, v, 1, MAX_REPS, &o->reps))
                return -1;
            o->r_given = 1;
        } else if (!strcmp(a, "--kv")) {
            if (!strcmp(v, "f16") || !strcmp(v, "f32"))
                o->kv_type = v[1] == '1' ? FL_TYPE_F16 : FL_TYPE_F32;
            else
                return cli_fail("--kv: expected f16 or f32, got '%s'", v), -1;
        } else if (!strcmp(a, "-t")) {
            o->n_threads_list = 0;
            char buf[256];
            snprintf(buf, sizeof buf, "%s", v);
            for (char *s = strtok(buf, ","); s; s = strtok(NULL, ",")) {
                uint64_t t;
                if (o->n_threads_list == MAX_THREADS_LIST)
                    return cli_fail("-t: at most %d thread counts", MAX_THREADS_LIST), -1;
                if (cli_u64("-t", s, 1, 256, &t))
                    return -1;
                o->threads[o->n_threads_list++] = (uint32_t)t;
            }
            if (!o->n_threads_list)
                return cli_fail("-t: expected a list like 1,2, got '%s'", v), -1;
        } else {
            return cli_fail("bench: unknown option '%s' (try 'flare bench --help')", a), -1;
        }
    }
    if (!o->model)
        return cli_fail("bench: -m MODEL.gguf is required"), -1;
    if (o->device && strncmp(o->device, "cuda", 4)) { /* an accelerator through the scheduler */
        o->n_prompt = o->p_given ? o->n_prompt : 16;
        o->n_gen = o->n_given ? o->n_gen : 16;
        o->reps = o->r_given ? o->reps : 1;
    }
    if (!o->n_prompt && !o->n_gen)
        return cli_fail("bench: -p and -n are both 0: nothing to measure"), -1;
    return 0;
}

/* ---- memory bandwidth ----------------------------------------------------------------------- */

typedef struct {
    const uint64_t *buf;
    size_t n;     /* uint64 words */
    int nth;      /* slices (one per thread) */
    uint64_t sink[64 * 8];
} bw_job;

static void bw_task(void *arg, int ith, int worker)
{
    bw_job *j = arg;
    int nth = j->nth;
    (void)worker;
    size_t a = j->n * (size_t)ith / (size_t)nth, b = j->n * (size_t)(ith + 1) / (size_t)nth;
    uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (size_t i = a; i + 4 <= b; i += 4) {
        s0 += j->buf[i], s1 += j->buf[i + 1], s2 += j->buf[i + 2], s3 += j->buf[i + 3];
    }
    j->sink[ith * 8] = s0 ^ s1 ^ s2 ^ s3; /* one cache line per thread */
}

static void bw_fill(void *arg, int ith, int worker)
{
    bw_job *j = arg;
    int nth = j->nth;
    (void)worker;
    size_t a = j->n * (size_t)ith / (size_t)nth, b = j->n * (size_t)(ith + 1) / (size_t)nth;
    memset((uint64_t *)j->buf + a, ith + 1, (b - a) * sizeof(uint64_t));
}

/* Best of 5 reads of a 512 MiB buffer by n_threads, in GB/s (1e9 bytes); 0 when no memory. */
static double measure_bandwidth(uint32_t n_threads)
{
    bw_job j = {0};
    j.n = (512u << 20) / sizeof(uint64_t);
    uint64_t *buf = malloc(j.n * sizeof(uint64_t));
    fl_threadpool *pool;
    if (!buf || fl_threadpool_new(&pool, (int)(n_threads > 64 ? 64 : n_threads))) {
        free(buf);
        return 0;
    }
    j.buf = buf;
    j.nth = fl_threadpool_size(pool);
    fl_threadpool_run(pool, bw_fill, &j, j.nth);
    double best = 0;
    for (int r = 0; r < 5; r++) {
        double t0 = now_s();
        fl_threadpool_run(pool, bw_task, &j, j.nth);
        double gbs = j.n * sizeof(uint64_t) / (now_s() - t0) / 1e9;
        best = gbs > best ? gbs : best;
    }
    fl_threadpool_free(pool);
    free(buf);
    return best;
}

/* The same in a child process, so the buffer does not count in this process's peak RSS. */
static double measure_bandwidth_forked(uint32_t n_threads)
{
    int fd[2];
    double bw = 0;
    if (pipe(fd))
        return measure_bandwidth(n_threads);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        double v = measure_bandwidth(n_threads);
        ssize_t w = write(fd[1], &v, sizeof v);
        _exit(w == sizeof v ? 0 : 1);
    }
    close(fd[1]);
    if (pid > 0) {
        if (read(fd[0], &bw, sizeof bw) != sizeof bw)
            bw = 0;
        waitpid(pid, NULL, 0);
    }
    close(fd[0]);
    return bw;
}

/* ---- measurements --------------------------------------------------------------------------- */

static void stats(const double *x, uint64_t n, double *mean, double *sd)
{
    double s = 0, ss = 0;
    for (uint64_t i = 0; i < n; i++)
        s += x[i];
    *mean = s / n;
    for (uint64_t i = 0; i < n; i++)
        ss += (x[i] - *mean) * (x[i] - *mean);
    *sd = n > 1 ? sqrt(ss / (n - 1)) : 0;
}

/* The engine under test: the CPU engine or the CUDA one. */
typedef struct {
    fl_engine *e;
    fl_cuda_engine *cu;
} bench_engine;

static int be_eval(bench_engine *b, const int32_t *t, uint32_t n)
{
    return b->cu ? fl_cuda_engine_eval(b->cu, t, n) : fl_engine_eval(b->e, t, n);
}

/* tok/s of one pp (gen == 0) or tg run from an empty context. */
static int one_run(bench_engine *b, const int32_t *toks, uint64_t n, int gen, double *tok_s)
{
    if (b->cu)
        fl_cuda_engine_reset(b->cu);
    else
        fl_engine_reset(b->e);
    double t0 = now_s();
    if (!gen) {
        if (be_eval(b, toks, (uint32_t)n))
            return -1;
    } else {
        for (uint64_t i = 0; i < n; i++)
            if (be_eval(b, &toks[i], 1))
                return -1;
    }
    *tok_s = n / (now_s() - t0);
    return 0;
}

/* ---- an accelerator device through the scheduler --------------------------------------------- */

/* The counters a test added: after - before, per kernel. */
static void kstats_delta(const fl_dev_kstats *a, const fl_dev_kstats *b, fl_dev_kstats *d)
{
    d->runs = a->runs - b->runs;
    d->cycles = a->cycles - b->cycles;
    d->read_bytes = a->read_bytes - b->read_bytes;
    d->write_bytes = a->write_bytes - b->write_bytes;
    d->sim_wall_s = a->sim_wall_s - b->sim_wall_s;
    for (uint32_t p = 0; p < FL_DEV_MAX_PORTS; p++) {
        d->port_read_bytes[p] = a->port_read_bytes[p] - b->port_read_bytes[p];
        d->port_write_bytes[p] = a->port_write_bytes[p] - b->port_write_bytes[p];
        d->port_busy_cycles[p] = a->port_busy_cycles[p] - b->port_busy_cycles[p];
    }
}

/* Port p's fraction of busy cycles and of its peak bandwidth during the kernel's cycles. */
static void port_use(const fl_dev_kstats *k, const fl_dev_mem *mem, uint32_t p, double *busy,
                     double *bw)
{
    double c = (double)k->cycles;
    *busy = c > 0 ? (double)k->port_busy_cycles[p] / c : 0;
    *bw = c > 0 && mem->bytes_per_cycle > 0
              ? (double)(k->port_read_bytes[p] + k->port_write_bytes[p]) /
                    (c * mem->bytes_per_cycle)
              : 0;
}

/* The per-kernel report of one test: JSON members or table lines. */
static void report_kernels(const fl_sched *s, const fl_sched_stats *a, const fl_sched_stats *b,
                           int json)
{
    const fl_dev_mem *mem = &a->dev.mem;
    if (json) {
        printf(",\"mem\":");
        fl_json_cstr(stdout, mem->mem);
        printf(",\"bytes_per_cycle\":%.3f,\"clock_mhz\":%.1f,\"data_bits\":%u,\"kernels\":[",
               mem->bytes_per_cycle, mem->clock_mhz, mem->data_bits);
    }
    for (uint32_t kn = 0; kn < FL_KERNEL_COUNT; kn++) {
        const char *name = fl_kernel_name(kn);
        if (!fl_sched_on_device(s, kn)) {
            uint64_t runs = a->host_launches[kn] - b->host_launches[kn];
            uint64_t rd = a->host_read_bytes - b->host_read_bytes,
                     wr = a->host_write_bytes - b->host_write_bytes;
            if (json)
                printf("%s{\"kernel\":\"%s\",\"where\":\"host\",\"runs\":%" PRIu64
                       ",\"bytes_moved\":%" PRIu64 ",\"read_bytes\":%" PRIu64
                       ",\"write_bytes\":%" PRIu64 ",\"seconds\":%.6f}",
                       kn ? "," : "", name, runs, rd + wr, rd, wr, a->host_s - b->host_s);
            else
                printf("| %-13s | %-6s | %8" PRIu64 " | %10s | %9.3f | %9.3f | %6s | %9s |\n",
                       name, "host", runs, "-", (double)rd / 1e6, (double)wr / 1e6, "-", "-");
            continue;
        }
        fl_dev_kstats k;
        kstats_delta(&a->dev.k[kn], &b->dev.k[kn], &k);
        double util = 0; /* the busiest port's share of its peak bandwidth */
        for (uint32_t p = 0; p < mem->n_ports; p++) {
            double busy, bw;
            port_use(&k, mem, p, &busy, &bw);
            util = bw > util ? bw : util;
        }
        double cps = k.sim_wall_s > 0 ? (double)k.cycles / k.sim_wall_s : 0;
        if (json) {
            printf("%s{\"kernel\":\"%s\",\"where\":\"device\",\"runs\":%" PRIu64
                   ",\"cycles\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"read_bytes\":%" PRIu64
                   ",\"write_bytes\":%" PRIu64 ",\"port_utilization\":%.6f,"
                   "\"sim_cycles_per_s\":%.1f,\"ports\":[",
                   kn ? "," : "", name, k.runs, k.cycles, k.read_bytes + k.write_bytes,
                   k.read_bytes, k.write_bytes, util, cps);
            for (uint32_t p = 0; p < mem->n_ports; p++) {
                double busy, bw;
                port_use(&k, mem, p, &busy, &bw);
                printf("%s{\"port\":\"%s\",\"read_bytes\":%" PRIu64 ",\"write_bytes\":%" PRIu64
                       ",\"busy_cycles\":%" PRIu64 ",\"busy_fraction\":%.6f,"
                       "\"bandwidth_fraction\":%.6f}",
                       p ? "," : "", mem->port_name[p], k.port_read_bytes[p],
                       k.port_write_bytes[p], k.port_busy_cycles[p], busy, bw);
            }
            printf("]}");
        } else {
            char c[32] = "-", u[24] = "-";
            if (k.cycles)
                snprintf(c, sizeof c, "%" PRIu64, k.cycles);
            if (mem->n_ports)
                snprintf(u, sizeof u, "%.1f%%", 100 * util);
            printf("| %-13s | %-6s | %8" PRIu64 " | %10s | %9.3f | %9.3f | %6s | %9s |\n", name,
                   "device", k.runs, c, (double)k.read_bytes / 1e6, (double)k.write_bytes / 1e6,
                   "-", u);
            for (uint32_t p = 0; p < mem->n_ports; p++) {
                double busy, bw;
                port_use(&k, mem, p, &busy, &bw);
                if (k.port_read_bytes[p] + k.port_write_bytes[p] + k.port_busy_cycles[p] == 0)
                    continue;
                printf("|   %-11s | %-6s | %8s | %10" PRIu64 " | %9.3f | %9.3f | %5.1f%% | %8.1f%% "
                       "|\n",
                       mem->port_name[p], "", "", k.port_busy_cycles[p],
                       (double)k.port_read_bytes[p] / 1e6, (double)k.port_write_bytes[p] / 1e6,
                       100 * busy, 100 * bw);
            }
            if (cps > 0)
                printf("|   %-11s | simulated %.3g cycles per wall second\n", "", cps);
        }
    }
    if (json)
        printf("]");
}

/* One pp (gen == 0) or tg run from an empty context on the scheduler. */
static int sched_run(fl_sched *s, const int32_t *toks, uint64_t n, int gen, double *tok_s)
{
    fl_sched_reset(s);
    double t0 = now_s();
    if (!gen) {
        if (fl_sched_eval(s, toks, (uint32_t)n))
            return -1;
    } else {
        for (uint64_t i = 0; i < n; i++)
            if (fl_sched_eval(s, &toks[i], 1))
                return -1;
    }
    *tok_s = n / (now_s() - t0);
    return 0;
}

static int bench_device(const bench_opts *o)
{
    fl_model *m = NULL;
    fl_dev *dev = NULL;
    fl_sched *s = NULL;
    int32_t *toks = NULL;
    int status = 1;
    if (fl_model_open(&m, o->model)) {
        cli_fail("%s", flare_last_error());
        goto done;
    }
    const fl_llama_hparams *hp = &m->llama.hp;
    uint64_t n_tok = o->n_prompt > o->n_gen ? o->n_prompt : o->n_gen;
    if (n_tok > hp->n_ctx_train || n_tok > FL_MAX_CTX) {
        cli_fail("bench: %" PRIu64 " tokens exceed the context (model %u, device build %u)",
                 n_tok, hp->n_ctx_train, FL_MAX_CTX);
        goto done;
    }
    if (!(toks = malloc(n_tok * sizeof *toks))) {
        cli_fail("out of memory");
        goto done;
    }
    uint64_t rng = 12345;
    for (uint64_t i = 0; i < n_tok; i++) {
        rng = rng * 6364136223846793005ull + 1442695040888963407ull;
        toks[i] = (int32_t)((rng >> 33) % hp->n_vocab);
    }
    if (fl_dev_open(o->device, &dev)) {
        cli_fail("--device %s: %s", o->device, flare_last_error());
        goto done;
    }
    fl_sched_opts so;
    fl_sched_default_opts(&so);
    so.n_ctx = (uint32_t)n_tok;
    so.n_batch = o->n_prompt && o->n_prompt < FL_MAX_T ? (uint32_t)o->n_prompt : 0;
    if (fl_sched_new(&s, &m->llama, dev, &so)) {
        cli_fail("%s on %s: %s", o->model, o->device, flare_last_error());
        goto done;
    }
    fl_sched_stats st0, st1;
    fl_sched_get_stats(s, &st0);
    const char *base = strrchr(o->model, '/') ? strrchr(o->model, '/') + 1 : o->model;
    if (!o->json) {
        printf("device %s, %s (%s): %.2f MiB of weights on the device", o->device, base,
               fl_model_type_name(m), st0.weight_bytes / 1048576.0);
        if (st0.dev.mem.n_ports)
            printf("; memory %s, %u ports of %.0f B/cycle", st0.dev.mem.mem, st0.dev.mem.n_ports,
                   st0.dev.mem.bytes_per_cycle);
        printf("\nper test: the kernels' runs, cycles (ports: busy cycles), MB read and written, "
               "port busy\nfraction and bandwidth fraction (kernel: its busiest port's) during "
               "the timed runs\n");
    }
    status = 0;
    for (int gen = 0; gen < 2 && !status; gen++) {
        uint64_t n = gen ? o->n_gen : o->n_prompt;
        if (!n)
            continue;
        double ts[MAX_REPS], mean, sd, warm;
        if (sched_run(s, toks, gen ? 1 : n, gen, &warm)) /* warm-up, not counted */
            status = 1;
        fl_sched_get_stats(s, &st0);
        for (uint64_t r = 0; r < o->reps && !status; r++)
            if (sched_run(s, toks, n, gen, &ts[r]))
                status = 1;
        if (status) {
            cli_fail("--device %s: %s", o->device, flare_last_error());
            break;
        }
        fl_sched_get_stats(s, &st1);
        stats(ts, o->reps, &mean, &sd);
        char test[32];
        snprintf(test, sizeof test, "%s%" PRIu64, gen ? "tg" : "pp", n);
        uint64_t tokens = n * o->reps;
        if (o->json) {
            printf("{\"model\":");
            fl_json_cstr(stdout, base);
            printf(",\"type\":\"%s\",\"device\":", fl_model_type_name(m));
            fl_json_cstr(stdout, o->device);
            printf(",\"test\":\"%s\",\"n_prompt\":%" PRIu64 ",\"n_gen\":%" PRIu64
                   ",\"reps\":%" PRIu64 ",\"tokens\":%" PRIu64 ",\"passes\":%" PRIu64
                   ",\"avg_ts\":%.3f,\"stddev_ts\":%.3f,\"weight_bytes\":%" PRIu64,
                   test, gen ? 0 : n, gen ? n : 0, o->reps, tokens,
                   st1.n_passes - st0.n_passes, mean, sd, st1.weight_bytes);
            report_kernels(s, &st1, &st0, 1);
            printf("}\n");
        } else {
            printf("\n%s: %" PRIu64 " tokens (%" PRIu64 " x %" PRIu64 "), %.2f +- %.2f tok/s "
                   "(wall clock)\n"
                   "| %-13s | %-6s | %8s | %10s | %9s | %9s | %6s | %9s |\n"
                   "| ------------- | ------ | -------- | ---------- | --------- | --------- "
                   "| ------ | --------- |\n",
                   test, tokens, n, o->reps, mean, sd, "kernel / port", "where", "runs",
                   "cycles", "MB read", "MB writ.", "busy", "bandwidth");
            report_kernels(s, &st1, &st0, 0);
        }
        fflush(stdout);
    }
done:
    fl_sched_free(s);
    if (dev)
        fl_dev_close(dev);
    free(toks);
    fl_model_free(m);
    return status;
}

int cmd_bench(int argc, char **argv)
{
    bench_opts o;
    int rc = parse(argc, argv, &o);
    if (rc)
        return rc < 0 ? 1 : 0;
    uint32_t ordinal = 0;
    int cuda = o.device ? fl_cuda_parse_uri(o.device, &ordinal) : 0;
    char cuda_desc[256] = "";
    if (cuda < 0)
        return cli_fail("%s", flare_last_error());
    if (o.device && !cuda)
        return bench_device(&o);
    if (cuda && fl_cuda_probe(ordinal, NULL, 0)) /* before any output: no GPU, no table */
        return cli_fail("--device %s: %s", o.device, flare_last_error());
    fl_model *m = NULL;
    if (fl_model_open(&m, o.model))
        return cli_fail("%s", flare_last_error());
    const fl_llama_hparams *hp = &m->llama.hp;
    uint64_t n_ctx = o.n_prompt > o.n_gen ? o.n_prompt : o.n_gen;
    if (n_ctx > hp->n_ctx_train)
        fprintf(stderr, "flare: warning: %" PRIu64 " tokens exceed the model's context %u\n",
                n_ctx, hp->n_ctx_train);
    uint64_t n_tok = n_ctx;
    int32_t *toks = malloc(n_tok * sizeof *toks);
    if (!toks) {
        fl_model_free(m);
        return cli_fail("out of memory");
    }
    uint64_t rng = 12345;
    for (uint64_t i = 0; i < n_tok; i++) { /* random ids, as llama-bench feeds */
        rng = rng * 6364136223846793005ull + 1442695040888963407ull;
        toks[i] = (int32_t)((rng >> 33) % hp->n_vocab);
    }
    uint32_t max_t = 1;
    for (int i = 0; i < o.n_threads_list; i++)
        max_t = o.threads[i] > max_t ? o.threads[i] : max_t;
    double bw = !o.n_gen ? 0 : cuda ? fl_cuda_d2d_gbps(ordinal, 1ull << 30, 10)
                                    : measure_bandwidth_forked(max_t);

    const char *type = fl_model_type_name(m);
    double size_mib = m->file_bytes / 1048576.0, params_m = m->n_params / 1e6;
    if (!o.json) {
        printf("| %-28s | %10s | %8s | %7s | %7s | %20s | %13s |\n", "model", "size", "params",
               "threads", "test", "t/s", "GB/s (of max)");
        printf("| %.28s | %.10s | %.8s | %.7s | %.7s | %.20s | %.13s |\n",
               "------------------------------", "----------", "--------", "-------",
               "-------", "--------------------", "-------------");
    }
    const char *base = strrchr(o.model, '/') ? strrchr(o.model, '/') + 1 : o.model;
    int status = 0;
    for (int ti = 0; ti < (cuda ? 1 : o.n_threads_list) && !status; ti++) {
        fl_engine_opts eo;
        fl_engine_default_opts(&eo);
        eo.n_ctx = (uint32_t)n_ctx;
        eo.n_threads = o.threads[ti];
        eo.n_batch = o.n_prompt ? (uint32_t)o.n_prompt : 1;
        eo.kv_type = o.kv_type;
        eo.scalar = o.scalar;
        bench_engine b = {0};
        const char *kernels;
        if (cuda) {
            fl_cuda_opts co;
            fl_cuda_default_opts(&co);
            co.device = ordinal;
            co.n_ctx = eo.n_ctx;
            co.n_batch = eo.n_batch;
            if (fl_cuda_engine_new(&b.cu, &m->llama, &co)) {
                status = cli_fail("--device %s: %s", o.device, flare_last_error());
                break;
            }
            eo.n_threads = 1; /* one host thread drives the GPU */
            kernels = fl_cuda_engine_device(b.cu);
            snprintf(cuda_desc, sizeof cuda_desc, "%s", kernels);
        } else {
            if (fl_engine_new(&b.e, &m->llama, &eo)) {
                status = cli_fail("%s: %s", o.model, flare_last_error());
                break;
            }
            kernels = fl_engine_kernels(b.e);
        }
        for (int gen = 0; gen < 2 && !status; gen++) {
            uint64_t n = gen ? o.n_gen : o.n_prompt;
            if (!n)
                continue;
            double ts[MAX_REPS], mean, sd, warm;
            if (one_run(&b, toks, gen ? 1 : n, gen, &warm)) /* warm-up */
                status = 1;
            for (uint64_t r = 0; r < o.reps && !status; r++)
                if (one_run(&b, toks, n, gen, &ts[r]))
                    status = 1;
            if (status) {
                cli_fail("%s", flare_last_error());
                break;
            }
            stats(ts, o.reps, &mean, &sd);
            double gbs = gen ? mean * m->weight_bytes / 1e9 : 0;
            char test[32], bws[32] = "";
            snprintf(test, sizeof test, "%s%" PRIu64, gen ? "tg" : "pp", n);
            if (gen)
                snprintf(bws, sizeof bws, "%.1f (%.0f%%)", gbs, bw > 0 ? 100 * gbs / bw : 0);
            if (o.json) {
                printf("{\"model\":");
                fl_json_cstr(stdout, base);
                printf(",\"type\":\"%s\",\"size_bytes\":%" PRIu64 ",\"n_params\":%" PRIu64
                       ",\"threads\":%u,\"kernels\":",
                       type, m->file_bytes, m->n_params, eo.n_threads);
                fl_json_cstr(stdout, kernels);
                printf(",\"test\":\"%s\",\"n_prompt\":%" PRIu64 ",\"n_gen\":%" PRIu64
                       ",\"avg_ts\":%.3f,\"stddev_ts\":%.3f,\"samples_ts\":[",
                       test, gen ? 0 : n, gen ? n : 0, mean, sd);
                for (uint64_t r = 0; r < o.reps; r++)
                    printf("%s%.3f", r ? "," : "", ts[r]);
                printf("],\"bytes_per_token\":%" PRIu64 ",\"gbs\":%.3f,\"mem_bw_gbs\":%.3f}\n",
                       m->weight_bytes, gbs, bw);
            } else {
                char name[64], tps[40];
                snprintf(name, sizeof name, "%s %s", base, type);
                snprintf(tps, sizeof tps, "%.2f +- %.2f", mean, sd);
                printf("| %-28.28s | %6.2f MiB | %6.2f M | %7u | %7s | %20s | %13s |\n", name,
                       size_mib, params_m, eo.n_threads, test, tps, bws);
            }
            fflush(stdout);
        }
        fl_engine_free(b.e);
        fl_cuda_engine_free(b.cu);
    }
    if (!o.json && !status) {
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        char who[320];
        if (cuda) /* names the GPU, or says that it is the emulator and not a GPU */
            snprintf(who, sizeof who, "%s", cuda_desc);
        else
            snprintf(who, sizeof who, "%u threads", max_t);
        printf("\nbytes per token %.2f MiB; measured %s bandwidth %.1f GB/s (%s); "
               "peak RSS %.1f MiB (file %.1f MiB)\n",
               m->weight_bytes / 1048576.0, cuda ? "device-to-device copy" : "read", bw, who,
               ru.ru_maxrss / 1024.0, size_mib);
    }
    free(toks);
    fl_model_free(m);
    return status;
}
