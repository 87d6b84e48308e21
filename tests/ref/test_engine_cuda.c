/* tests/ref/test_engine_cuda.c: the CUDA engine (ref/engine_cuda.h, ref/cuda/).
 *
 * Without a GPU (every machine, CI): the library builds when nvcc is there (skipped otherwise),
 * cudart is linked into it statically, and the loader's messages say what is missing: no
 * library ("built without the CUDA engine (run make cuda)"), no driver ("no CUDA driver"). The
 * CUDA host emulator reports kernels that are wrong as a GPU would (emulator_*).
 * On the engine under test (need_engine: a GPU when one is usable, else the same engine source
 * on the CUDA host emulator, so these run everywhere): logits against the CPU engine (an
 * independent implementation in C) on the tiny and stories15M presets for every weight type
 * (NMSE < 1e-5 for F32/F16 weights, < 5e-4 quantized: Q8_0 activations round differently when a
 * sum's last bit differs), the same greedy tokens, batched prompt vs one token at a time, the
 * layer hook, errors, and llama.cpp's own logits for stories15M-Q8_0. Quantized paths compared with
 * each other (tensor cores vs dp4a, batched vs one token at a time) agree within 1e-3: the same
 * integer block sums, but a last-bit difference in an activation can flip its Q8_0 rounding.
 * On the emulator the tiny cases run the threads of a block last-first, prompt_in_chunks in a
 * new random order every round, the others first-last: a missing barrier reads poisoned (NaN)
 * shared or device memory in one of them. */
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "flare/error.h"
#include "flare/ggml.h"
#include "host/crosscheck.h"
#include "host/mkmodel.h"
#include "host/model.h"
#include "ref/cuda/flare_cuda.h"
#include "ref/engine_cpu.h"
#include "ref/engine_cuda.h"
#include "tests/common/testutil.h"

/* ---- helpers -------------------------------------------------------------------------------- */

/* nvcc on PATH or at /usr/local/cuda/bin, as the Makefile looks for it. */
static int nvcc_found(void)
{
    const char *path = getenv("PATH");
    char buf[4096];
    if (path) {
        char *dup = strdup(path), *save = NULL;
        for (char *d = strtok_r(dup, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
            snprintf(buf, sizeof buf, "%s/nvcc", d);
            if (access(buf, X_OK) == 0) {
                free(dup);
                return 1;
            }
        }
        free(dup);
    }
    return access("/usr/local/cuda/bin/nvcc", X_OK) == 0;
}

/* The CUDA engine of this build (nvcc), beside FLARE_BIN. */
static const char *built_lib(void)
{
    static char path[4096];
    t_build_lib(NULL, "libflare_cuda.so", path, sizeof path);
    return path;
}

/* The same engine source run by the CUDA host emulator (g++, ref/cuda/emu.h). */
static const char *built_emu(void)
{
    static char path[4096];
    t_build_lib(NULL, "libflare_cuda_emu.so", path, sizeof path);
    return path;
}

/* Point the loader at this build's library (or keep $FLARE_CUDA_LIB when it names a readable
 * file: a build carried to another machine); skip when it was not built. */
static void use_built_lib(void)
{
    const char *env = getenv("FLARE_CUDA_LIB");
    if (env && access(env, R_OK) == 0)
        return;
    if (access(built_lib(), R_OK) != 0)
        cr_skip_test("%s not built (nvcc not found when make ran): run make cuda", built_lib());
    setenv("FLARE_CUDA_LIB", built_lib(), 1);
}

/* Whether this build's GPU library finds a usable GPU (asked without the loader, which keeps
 * the first library it loads); why not in msg. */
static int gpu_usable(char *msg, size_t len)
{
    snprintf(msg, len, "libflare_cuda.so not built");
    void *h = dlopen(built_lib(), RTLD_NOW | RTLD_LOCAL);
    if (!h)
        return 0;
    int (*probe)(uint32_t, char *, size_t) =
        (int (*)(uint32_t, char *, size_t))dlsym(h, "flcu_probe");
    int ok = probe && probe(0, msg, len) == 0;
    dlclose(h);
    return ok;
}

/* The engine under test: $FLARE_CUDA_LIB when it names a readable file, else this build's GPU
 * library when a GPU is usable, else this build's CUDA emulator: the same kernels executed on
 * the CPU (docs/cuda.md), so these tests run on every machine. Skips only when neither library
 * was built; the emulator, once built, must work. */
static void need_engine(void)
{
    const char *env = getenv("FLARE_CUDA_LIB");
    char msg[512], gpu[512];
    if (env && access(env, R_OK) == 0) {
        if (fl_cuda_probe(0, msg, sizeof msg))
            cr_skip_test("%s: %s", env, msg);
        return;
    }
    if (gpu_usable(gpu, sizeof gpu)) {
        setenv("FLARE_CUDA_LIB", built_lib(), 1);
        return;
    }
    if (access(built_emu(), R_OK) != 0)
        cr_skip_test("no usable GPU (%s) and %s not built", gpu, built_emu());
    setenv("FLARE_CUDA_LIB", built_emu(), 1);
    cr_assert_eq(fl_cuda_probe(0, msg, sizeof msg), 0, "the CUDA emulator: %s", msg);
}

/* Write a preset model of `type` into FLARE_TMPDIR and open it. */
static fl_model *make_model(const char *preset, uint32_t type, char *path, size_t path_len)
{
    return t_make_model("cuda", preset, type, 11, path, path_len);
}

static fl_cuda_engine *make_cuda(const fl_model *m, uint32_t n_ctx, int graphs, int mma)
{
    fl_cuda_opts o;
    fl_cuda_default_opts(&o);
    o.n_ctx = n_ctx;
    o.graphs = graphs;
    o.mma = mma;
    fl_cuda_engine *e = NULL;
    cr_assert_eq(fl_cuda_engine_new(&e, &m->llama, &o), 0, "%s", flare_last_error());
    return e;
}

static fl_engine *make_cpu(const fl_model *m, uint32_t n_ctx)
{
    fl_engine_opts o;
    fl_engine_default_opts(&o);
    o.n_ctx = n_ctx;
    o.n_threads = 2;
    fl_engine *e = NULL;
    cr_assert_eq(fl_engine_new(&e, &m->llama, &o), 0, "%s", flare_last_error());
    return e;
}

/* ---- without a GPU -------------------------------------------------------------------------- */

Test(cuda, library_builds_with_static_cudart)
{
    if (!nvcc_found())
        cr_skip_test("nvcc not found (PATH, /usr/local/cuda/bin): the CUDA engine is not built");
    cr_assert_eq(access(built_lib(), R_OK), 0, "%s missing although nvcc is installed (make cuda)",
                 built_lib());
    void *h = dlopen(built_lib(), RTLD_NOW | RTLD_LOCAL);
    cr_assert(h, "dlopen %s: %s", built_lib(), dlerror());
    int (*ver)(void) = (int (*)(void))dlsym(h, "flcu_abi_version");
    cr_assert(ver, "no flcu_abi_version in %s", built_lib());
    cr_expect_eq(ver(), FLCU_ABI_VERSION);
    /* cudart is inside the library: no shared cudart was pulled in */
    cr_expect_null(dlopen("libcudart.so.13", RTLD_NOW | RTLD_NOLOAD), "libcudart.so.13 loaded");
    cr_expect_null(dlopen("libcudart.so.12", RTLD_NOW | RTLD_NOLOAD), "libcudart.so.12 loaded");
    dlclose(h);
}

/* The kernels' block decoding (repacked layout, nibble/fifth-bit unpacking, dp4a sums) run on
 * the host against flare/ggml.h's definition: the part of the kernels checkable without a GPU. */
Test(cuda, block_decoding_host_selftest)
{
    if (access(built_lib(), R_OK) != 0)
        cr_skip_test("%s not built (nvcc not found when make ran)", built_lib());
    void *h = dlopen(built_lib(), RTLD_NOW | RTLD_LOCAL);
    cr_assert(h, "dlopen %s: %s", built_lib(), dlerror());
    int (*selftest)(void) = (int (*)(void))dlsym(h, "flcu_selftest");
    const char *(*last)(void) = (const char *(*)(void))dlsym(h, "flcu_last_error");
    cr_assert(selftest && last);
    cr_expect_eq(selftest(), 0, "%s", last());
    dlclose(h);
}

static void expect_missing(const char *says)
{
    char msg[1024];
    int rc = fl_cuda_probe(0, msg, sizeof msg);
    cr_assert_neq(rc, 0);
    cr_expect(strstr(msg, says), "msg: %s", msg);
    cr_expect(strstr(flare_last_error(), "libflare_cuda.so"), "msg: %s", flare_last_error());
    cr_expect_null(fl_cuda_lib_path());
}

Test(cuda, missing_library_says_which)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/no-such-dir-%d/libflare_cuda.so", FLARE_TMPDIR, (int)getpid());
    setenv("FLARE_CUDA_LIB", path, 1);
    expect_missing("named by FLARE_CUDA_LIB");
    cr_expect(strstr(flare_last_error(), path), "msg: %s", flare_last_error());
    /* engine creation fails the same way, before touching the model */
    fl_llama m;
    memset(&m, 0, sizeof m);
    fl_cuda_engine *e = (fl_cuda_engine *)&m;
    cr_expect_neq(fl_cuda_engine_new(&e, &m, NULL), 0);
    cr_expect_null(e);
    cr_expect(strstr(flare_last_error(), "named by FLARE_CUDA_LIB"), "msg: %s",
              flare_last_error());
    /* a file that is there but no library: the loader's reason, not "built without" */
    snprintf(path, sizeof path, "%s/not-a-lib-%d.so", FLARE_TMPDIR, (int)getpid());
    FILE *f = fopen(path, "w");
    cr_assert(f);
    fputs("not an ELF file\n", f);
    fclose(f);
    setenv("FLARE_CUDA_LIB", path, 1);
    char msg[1024];
    cr_expect_neq(fl_cuda_probe(0, msg, sizeof msg), 0);
    cr_expect(strstr(msg, "named by FLARE_CUDA_LIB") && strstr(msg, path) &&
                  !strstr(msg, "built without"),
              "msg: %s", msg);
    unlink(path);
    /* without FLARE_CUDA_LIB: next to this program (build/tests/), where no library is */
    unsetenv("FLARE_CUDA_LIB");
    expect_missing("flare was built without the CUDA engine (run make cuda)");
}

Test(cuda, no_driver_message)
{
    use_built_lib();
    void *drv = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    if (drv) {
        dlclose(drv);
        cr_skip_test("a CUDA driver (libcuda.so.1) is installed: this test is for machines "
                     "without one");
    }
    char msg[1024];
    int rc = fl_cuda_probe(0, msg, sizeof msg);
    cr_assert_eq(rc, FLARE_EDEVICE, "rc %d: %s", rc, msg);
    cr_expect(strstr(msg, "no CUDA driver"), "msg: %s", msg);
    cr_expect(strstr(msg, "libcuda.so.1"), "msg: %s", msg);
    cr_expect_str_eq(fl_cuda_lib_path(), built_lib());
    /* creating an engine says the same */
    char path[512];
    fl_model *m = make_model("tiny", FL_TYPE_Q8_0, path, sizeof path);
    fl_cuda_engine *e = NULL;
    cr_expect_eq(fl_cuda_engine_new(&e, &m->llama, NULL), FLARE_EDEVICE);
    cr_expect(strstr(flare_last_error(), "no CUDA driver"), "msg: %s", flare_last_error());
    cr_expect_null(e);
    fl_model_free(m);
    unlink(path);
}

/* The emulator's own checks (ref/cuda/emu_selftest.cpp): faulty kernels reported with the
 * error a GPU gives and the place, correct ones exact in both thread orders, launch limits,
 * copies checked against allocations, graph capture and replay. */
Test(cuda, emulator_reports_faults_as_a_gpu)
{
    if (access(built_emu(), R_OK) != 0)
        cr_skip_test("%s not built", built_emu());
    void *h = dlopen(built_emu(), RTLD_NOW | RTLD_LOCAL);
    cr_assert(h, "dlopen %s: %s", built_emu(), dlerror());
    int (*selftest)(char *, size_t) = (int (*)(char *, size_t))dlsym(h, "flcu_emu_selftest");
    cr_assert(selftest, "no flcu_emu_selftest in %s", built_emu());
    char msg[1024];
    cr_expect_eq(selftest(msg, sizeof msg), 0, "%s", msg);
    dlclose(h);
}

/* Through the loader, the emulator says what it is (never taken for a GPU). */
Test(cuda, emulator_names_itself)
{
    if (access(built_emu(), R_OK) != 0)
        cr_skip_test("%s not built", built_emu());
    setenv("FLARE_CUDA_LIB", built_emu(), 1);
    char msg[512];
    cr_assert_eq(fl_cuda_probe(0, msg, sizeof msg), 0, "%s", msg);
    cr_expect(strstr(msg, "CUDA emulator on the CPU (not a GPU"), "%s", msg);
    cr_expect(strstr(msg, "compute capability 9.0"), "%s", msg);
    cr_expect_eq(fl_cuda_probe(1, msg, sizeof msg), FLARE_EINVAL);
    cr_expect(strstr(msg, "only 1 CUDA device"), "%s", msg);
    /* it has no clock, so no tensor peak to divide a prefill rate by */
    cr_expect_eq(fl_cuda_int8_peak_tops(0, msg, sizeof msg), 0.0);
    cr_expect(strstr(msg, "unknown for CUDA emulator") && strstr(msg, "clock 0 kHz"), "%s", msg);
}

Test(cuda, parse_device_uri)
{
    uint32_t d = 99;
    cr_expect_eq(fl_cuda_parse_uri("cuda", &d), 1);
    cr_expect_eq(d, 0);
    cr_expect_eq(fl_cuda_parse_uri("cuda:3", &d), 1);
    cr_expect_eq(d, 3);
    cr_expect_eq(fl_cuda_parse_uri("csim", &d), 0);
    cr_expect_eq(fl_cuda_parse_uri("cudax", &d), 0);
    cr_expect_eq(fl_cuda_parse_uri("cuda:", &d), FLARE_EINVAL);
    cr_expect_eq(fl_cuda_parse_uri("cuda:-1", &d), FLARE_EINVAL);
    cr_expect_eq(fl_cuda_parse_uri("cuda:1x", &d), FLARE_EINVAL);
    cr_expect(strstr(flare_last_error(), "cuda:1x"), "%s", flare_last_error());
}

/* A model of the tiny preset's vocabulary in a shape the presets lack: n_embd dim, heads / kv
 * heads (GQA), ffn, layers; written to path (FLARE_TMPDIR, named by tag and the process). */
typedef struct {
    uint32_t type, seed, dim, heads, kv_heads, ffn, layers;
} shape;

static fl_model *make_shape(const shape *sh, const char *tag, char *path, size_t path_len)
{
    fl_mkmodel_opts mo;
    cr_assert_eq(fl_mkmodel_preset(&mo, "tiny"), 0);
    mo.type = sh->type;
    mo.seed = sh->seed;
    mo.dim = sh->dim;
    mo.n_heads = sh->heads;
    mo.n_kv_heads = sh->kv_heads;
    mo.ffn = sh->ffn;
    mo.n_layers = sh->layers;
    mo.n_threads = 1;
    snprintf(path, path_len, "%s/cuda-%s-%s-%u-%d.gguf", FLARE_TMPDIR, tag,
             fl_type_name(sh->type), sh->dim, (int)getpid());
    cr_assert_eq(fl_mkmodel_write(&mo, path), 0, "%s", flare_last_error());
    fl_model *m = NULL;
    cr_assert_eq(fl_model_open(&m, path), 0, "%s", flare_last_error());
    return m;
}

/* ---- the engine under test against the CPU engine ------------------------------------------ */

#define N_PROMPT 12
#define N_STEPS 8

/* The prompt in one batch, then N_STEPS greedy steps teacher-forced with the CPU's choice; logits
 * NMSE per step under tol; the argmax agrees unless the CPU's gap between the two tokens is
 * within 4 RMS differences (a tie at this precision). */
static void vs_cpu(const char *preset, uint32_t type, double tol)
{
    if (!strcmp(preset, "tiny"))
        setenv("FLCU_EMU_ORDER", "reverse", 1); /* the emulator's thread order; a GPU ignores it */
    need_engine();
    char path[512];
    fl_model *m = make_model(preset, type, path, sizeof path);
    uint32_t V = m->llama.hp.n_vocab;
    fl_engine *c = make_cpu(m, 64);
    fl_cuda_engine *g = make_cuda(m, 64, 1, 1);
    int32_t prompt[N_PROMPT] = {1, 9038, 2501, 263, 931, 11, 4, 263, 2501, 77, 5, 931};
    for (int i = 0; i < N_PROMPT; i++)
        prompt[i] %= (int32_t)V;
    cr_assert_eq(fl_engine_eval(c, prompt, N_PROMPT), 0, "%s", flare_last_error());
    cr_assert_eq(fl_cuda_engine_eval(g, prompt, N_PROMPT), 0, "%s", flare_last_error());
    /* the prompt's products ran on tensor cores (12 >= 8 tokens); the dp4a kernels too */
    fl_cuda_engine *g2 = make_cuda(m, 64, 1, 0);
    cr_assert_eq(fl_cuda_engine_eval(g2, prompt, N_PROMPT), 0, "%s", flare_last_error());
    double err2 = t_nmse(fl_cuda_engine_logits(g2), fl_engine_logits(c), V);
    cr_expect_lt(err2, tol, "%s %s prompt without tensor cores: logits NMSE %.3g", preset,
                 fl_type_name(type), err2);
    fl_cuda_engine_free(g2);
    double worst = 0;
    for (int s = 0; s < N_STEPS; s++) {
        const float *lc = fl_engine_logits(c), *lg = fl_cuda_engine_logits(g);
        double err = t_nmse(lg, lc, V);
        worst = err > worst ? err : worst;
        cr_expect_lt(err, tol, "%s %s step %d: logits NMSE %.3g (limit %.1g)", preset,
                     fl_type_name(type), s, err, tol);
        int32_t tc, tg;
        double gap, limit;
        cr_expect_neq(fl_xcheck_top1(lc, lg, V, 4.0, &tc, &tg, &gap, &limit), 0,
                      "%s %s step %d: token %d, CPU chose %d (gap %.3g > 4 RMS %.3g)", preset,
                      fl_type_name(type), s, tg, tc, gap, limit);
        cr_assert_eq(fl_engine_eval(c, &tc, 1), 0);
        cr_assert_eq(fl_cuda_engine_eval(g, &tc, 1), 0, "%s", flare_last_error());
    }
    cr_expect_eq(fl_cuda_engine_n_past(g), N_PROMPT + N_STEPS);
    printf("cuda vs cpu (%s %s, %s): worst logits NMSE %.3g\n", preset, fl_type_name(type),
           fl_cuda_engine_device(g), worst);
    fl_cuda_engine_free(g);
    fl_engine_free(c);
    fl_model_free(m);
    unlink(path);
}

#define TOL_FLOAT 1e-5
#define TOL_QUANT 5e-4
/* The emulator runs the larger cases on the CPU: under make asan several times slower, and
 * slower again while another test shares the two cores (batch_vs_single_and_graphs: 50 s alone
 * under ASan, past 120 s beside another job with other load on the machine). The limit catches
 * a hang; it times nothing. */
#define EMU_TIMEOUT 600

Test(cuda, vs_cpu_tiny_f32) { vs_cpu("tiny", FL_TYPE_F32, TOL_FLOAT); }
Test(cuda, vs_cpu_tiny_f16) { vs_cpu("tiny", FL_TYPE_F16, TOL_FLOAT); }
Test(cuda, vs_cpu_tiny_q8_0) { vs_cpu("tiny", FL_TYPE_Q8_0, TOL_QUANT); }
Test(cuda, vs_cpu_tiny_q5_0) { vs_cpu("tiny", FL_TYPE_Q5_0, TOL_QUANT); }
Test(cuda, vs_cpu_tiny_q4_0) { vs_cpu("tiny", FL_TYPE_Q4_0, TOL_QUANT); }
Test(cuda, vs_cpu_stories15M_f32, .timeout = EMU_TIMEOUT)
{
    vs_cpu("stories15M", FL_TYPE_F32, TOL_FLOAT);
}
Test(cuda, vs_cpu_stories15M_f16, .timeout = EMU_TIMEOUT)
{
    vs_cpu("stories15M", FL_TYPE_F16, TOL_FLOAT);
}
Test(cuda, vs_cpu_stories15M_q8_0, .timeout = EMU_TIMEOUT)
{
    vs_cpu("stories15M", FL_TYPE_Q8_0, TOL_QUANT);
}
Test(cuda, vs_cpu_stories15M_q5_0, .timeout = EMU_TIMEOUT)
{
    vs_cpu("stories15M", FL_TYPE_Q5_0, TOL_QUANT);
}
Test(cuda, vs_cpu_stories15M_q4_0, .timeout = EMU_TIMEOUT)
{
    vs_cpu("stories15M", FL_TYPE_Q4_0, TOL_QUANT);
}

/* ---- the engine under test: paths, hook, errors, llama.cpp --------------------------------- */

/* Batched prompt (tensor cores, and the dp4a T > 1 kernels) vs one token at a time, with and
 * without CUDA graphs. */
Test(cuda, batch_vs_single_and_graphs, .timeout = EMU_TIMEOUT)
{
    need_engine();
    char path[512];
    fl_model *m = make_model("stories15M", FL_TYPE_Q4_0, path, sizeof path);
    uint32_t V = m->llama.hp.n_vocab;
    int32_t prompt[N_PROMPT] = {1, 9038, 2501, 263, 931, 11, 4, 263, 2501, 77, 5, 931};
    float *ref = malloc(sizeof(float) * V);
    cr_assert(ref);
    fl_cuda_engine *g = make_cuda(m, 64, 1, 1);
    cr_assert_eq(fl_cuda_engine_eval(g, prompt, N_PROMPT), 0, "%s", flare_last_error());
    memcpy(ref, fl_cuda_engine_logits(g), sizeof(float) * V);
    fl_cuda_engine *d = make_cuda(m, 64, 1, 0);
    cr_assert_eq(fl_cuda_engine_eval(d, prompt, N_PROMPT), 0, "%s", flare_last_error());
    double err_d = t_nmse(fl_cuda_engine_logits(d), ref, V);
    cr_expect_lt(err_d, 1e-3, "dp4a vs tensor cores, batched: NMSE %.3g", err_d);
    fl_cuda_engine_free(d);
    for (int graphs = 0; graphs < 2; graphs++) {
        fl_cuda_engine *h = make_cuda(m, 64, graphs, 1);
        for (int rep = 0; rep < 2; rep++) { /* the second time after a reset: the graph replays */
            for (int i = 0; i < N_PROMPT; i++)
                cr_assert_eq(fl_cuda_engine_eval(h, prompt + i, 1), 0, "%s", flare_last_error());
            double err = t_nmse(fl_cuda_engine_logits(h), ref, V);
            cr_expect_lt(err, 1e-3, "graphs %d rep %d: one at a time vs batched NMSE %.3g",
                         graphs, rep, err);
            fl_cuda_engine_reset(h);
            cr_expect_eq(fl_cuda_engine_n_past(h), 0);
        }
        fl_cuda_engine_free(h);
    }
    fl_cuda_engine_free(g);
    free(ref);
    fl_model_free(m);
    unlink(path);
}

/* Two structures of the same arithmetic (fused or not, tiled or not) give the same logits: bit
 * for bit on the emulator (one libm, no FMA contraction), within NMSE 1e-10 on a GPU, whose
 * compiler may contract the two differently. `what` names the pair and the point. */
static void expect_same_logits(const fl_cuda_engine *g, const float *a, const float *b,
                               uint32_t V, const char *what)
{
    double d = t_nmse(a, b, V);
    if (strstr(fl_cuda_engine_device(g), "emulator"))
        cr_expect(!memcmp(a, b, sizeof(float) * V), "%s: logits differ (NMSE %.3g)", what, d);
    else
        cr_expect_leq(d, 1e-10, "%s: NMSE %.3g", what, d);
}

/* A decode step with its steps fused into the matrix products' launches (RoPE + cache after
 * q/k/v, SwiGLU after gate/up by the last block of each 32 rows, RMSNorm after Wo and Wdown,
 * attention quantizing its output) against one launch a step (fuse 0): the same arithmetic (the
 * one step written twice, RoPE, rounds through rope_rotate's _rn intrinsics in both), so the
 * same logits bit for bit on the emulator; on a GPU, not run yet, NMSE 1e-10 is allowed, and
 * both against the CPU engine. On shapes the presets lack: head dim 32 (F16), 64 (Q8_0), 128
 * (Q5_0) and 256 (Q4_0), where attention quantizes its output and sums v with warps over
 * positions (1, 2, 4, 8 elements a lane, one vector load each), GQA, 12 SwiGLU groups;
 * the emulator's threads in a new random order every round, its blocks on 2 host threads, so
 * which block arrives last changes from launch to launch. */
Test(cuda, fused_decode_equals_unfused, .timeout = EMU_TIMEOUT)
{
    setenv("FLCU_EMU_ORDER", "random:11", 1);
    need_engine();
    static const uint32_t types[] = {FL_TYPE_F16, FL_TYPE_Q8_0, FL_TYPE_Q5_0, FL_TYPE_Q4_0};
    for (size_t ti = 0; ti < sizeof types / sizeof types[0]; ti++) {
        static const uint32_t dims[4][3] = {{128, 4, 2}, {256, 4, 2}, {512, 4, 2}, {512, 2, 1}};
        shape sh = {types[ti], 23, dims[ti][0], dims[ti][1], dims[ti][2], 384, 3};
        char path[512];
        fl_model *m = make_shape(&sh, "fused", path, sizeof path);
        uint32_t V = m->llama.hp.n_vocab;
        fl_cuda_opts o;
        fl_cuda_default_opts(&o);
        o.n_ctx = 64;
        fl_cuda_engine *f = NULL, *u = NULL;
        cr_assert_eq(fl_cuda_engine_new(&f, &m->llama, &o), 0, "%s", flare_last_error());
        o.fuse = 0;
        cr_assert_eq(fl_cuda_engine_new(&u, &m->llama, &o), 0, "%s", flare_last_error());
        fl_engine *c = make_cpu(m, 64);
        int32_t tok[16];
        for (int i = 0; i < 16; i++)
            tok[i] = (int32_t)((3 + 41 * i) % V);
        /* a prompt of 4, then 12 single-token steps (graph replays) */
        cr_assert_eq(fl_cuda_engine_eval(f, tok, 4), 0, "%s", flare_last_error());
        cr_assert_eq(fl_cuda_engine_eval(u, tok, 4), 0, "%s", flare_last_error());
        cr_assert_eq(fl_engine_eval(c, tok, 4), 0, "%s", flare_last_error());
        for (int i = 4; i <= 16; i++) {
            const float *lf = fl_cuda_engine_logits(f), *lu = fl_cuda_engine_logits(u);
            double dc = t_nmse(lf, fl_engine_logits(c), V);
            char what[96];
            snprintf(what, sizeof what, "%s after %d tokens, fused vs unfused",
                     fl_type_name(types[ti]), i);
            expect_same_logits(f, lf, lu, V, what);
            cr_expect_lt(dc, types[ti] == FL_TYPE_F16 ? 1e-5 : 5e-4,
                         "%s after %d tokens: fused vs the CPU engine NMSE %.3g",
                         fl_type_name(types[ti]), i, dc);
            if (i == 16)
                break;
            cr_assert_eq(fl_cuda_engine_eval(f, tok + i, 1), 0, "%s", flare_last_error());
            cr_assert_eq(fl_cuda_engine_eval(u, tok + i, 1), 0, "%s", flare_last_error());
            cr_assert_eq(fl_engine_eval(c, tok + i, 1), 0, "%s", flare_last_error());
        }
        fl_engine_free(c);
        fl_cuda_engine_free(u);
        fl_cuda_engine_free(f);
        fl_model_free(m);
        unlink(path);
    }
}

/* A prompt longer than the batch: chunks of 20 (int8 tensor cores: of a block's 64-token tile,
 * one warp column holds two full 8-token fragments, a partial one and one past the end, the
 * other column is all past the end) and a last chunk of 5 (the dp4a NT path), with the positions and the KV cache carried across chunks,
 * against one token at a time and against the CPU engine, on a GQA model (tiny: 4 heads, 2 KV). */
Test(cuda, prompt_in_chunks)
{
    setenv("FLCU_EMU_ORDER", "random:5", 1); /* a new order of a block's threads every round */
    need_engine();
    char path[512];
    fl_model *m = make_model("tiny", FL_TYPE_Q4_0, path, sizeof path);
    uint32_t V = m->llama.hp.n_vocab;
    enum { N = 45 };
    int32_t prompt[N];
    for (int i = 0; i < N; i++)
        prompt[i] = (int32_t)((1 + 37 * i) % V);
    fl_cuda_opts o;
    fl_cuda_default_opts(&o);
    o.n_ctx = 64;
    o.n_batch = 20;
    fl_cuda_engine *g = NULL, *one = make_cuda(m, 64, 1, 1);
    cr_assert_eq(fl_cuda_engine_new(&g, &m->llama, &o), 0, "%s", flare_last_error());
    fl_engine *c = make_cpu(m, 64);
    cr_assert_eq(fl_cuda_engine_eval(g, prompt, N), 0, "%s", flare_last_error());
    cr_assert_eq(fl_engine_eval(c, prompt, N), 0, "%s", flare_last_error());
    for (int i = 0; i < N; i++)
        cr_assert_eq(fl_cuda_engine_eval(one, prompt + i, 1), 0, "%s", flare_last_error());
    cr_expect_eq(fl_cuda_engine_n_past(g), N);
    cr_expect_eq(fl_cuda_engine_n_batch(g), 20);
    cr_expect_eq(fl_cuda_engine_n_batch(one), 64, "the default 512, clamped to the context");
    double e_one = t_nmse(fl_cuda_engine_logits(g), fl_cuda_engine_logits(one), V);
    double e_cpu = t_nmse(fl_cuda_engine_logits(g), fl_engine_logits(c), V);
    cr_expect_lt(e_one, 1e-3, "chunks of 20 vs one token at a time: NMSE %.3g", e_one);
    cr_expect_lt(e_cpu, TOL_QUANT, "chunks of 20 vs the CPU engine: NMSE %.3g", e_cpu);
    fl_engine_free(c);
    fl_cuda_engine_free(one);
    fl_cuda_engine_free(g);
    fl_model_free(m);
    unlink(path);
}

/* The tiled tensor-core kernel (opts.mma 1: 64 x 64 tiles through shared memory, stages of 4
 * blocks of k) against the per-warp one (opts.mma 2, no shared memory): the same products summed
 * in the same order, so the same logits bit for bit on the emulator (NMSE 1e-10 allowed on a
 * GPU), and both against the CPU engine. Shapes where every edge of a tile is partial: 320 and
 * 416 rows (5 and 6.5 tiles), k of 10 and 13 blocks (the last stage 2 and 1 blocks), prompt
 * chunks of 70 tokens (a second token tile with 6) and then 8 (the smallest tensor-core chunk),
 * grouped-query heads; the emulator's threads in a random order each round. */
Test(cuda, tiled_mma_equals_per_warp, .timeout = EMU_TIMEOUT)
{
    setenv("FLCU_EMU_ORDER", "random:17", 1);
    need_engine();
    static const uint32_t types[] = {FL_TYPE_Q8_0, FL_TYPE_Q5_0, FL_TYPE_Q4_0};
    for (size_t ti = 0; ti < sizeof types / sizeof types[0]; ti++) {
        shape sh = {types[ti], 31, 320, 5, 1, 416, 2};
        char path[512];
        fl_model *m = make_shape(&sh, "tiled", path, sizeof path);
        uint32_t V = m->llama.hp.n_vocab;
        fl_cuda_engine *tiled = make_cuda(m, 96, 1, 1), *warp = make_cuda(m, 96, 1, 2);
        fl_engine *c = make_cpu(m, 96);
        int32_t tok[78];
        for (int i = 0; i < 78; i++)
            tok[i] = (int32_t)((5 + 29 * i) % V);
        static const int chunks[2][2] = {{0, 70}, {70, 8}};
        for (int ch = 0; ch < 2; ch++) {
            const int32_t *p = tok + chunks[ch][0];
            int n = chunks[ch][1];
            cr_assert_eq(fl_cuda_engine_eval(tiled, p, (uint32_t)n), 0, "%s", flare_last_error());
            cr_assert_eq(fl_cuda_engine_eval(warp, p, (uint32_t)n), 0, "%s", flare_last_error());
            cr_assert_eq(fl_engine_eval(c, p, (uint32_t)n), 0, "%s", flare_last_error());
            const float *lt = fl_cuda_engine_logits(tiled), *lw = fl_cuda_engine_logits(warp);
            double dc = t_nmse(lt, fl_engine_logits(c), V);
            char what[96];
            snprintf(what, sizeof what, "%s chunk of %d, tiled vs per-warp",
                     fl_type_name(types[ti]), n);
            expect_same_logits(tiled, lt, lw, V, what);
            cr_expect_lt(dc, TOL_QUANT, "%s chunk of %d: tiled vs the CPU engine NMSE %.3g",
                         fl_type_name(types[ti]), n, dc);
        }
        fl_engine_free(c);
        fl_cuda_engine_free(warp);
        fl_cuda_engine_free(tiled);
        fl_model_free(m);
        unlink(path);
    }
}

/* Attention over long contexts: a 300-token prompt (chunks of 256 and 44: up to 2 tiles of 256
 * positions a block with the online softmax), then 8 single-token steps (graph replays) with the
 * positions split over up to 16 blocks a head (5 at 300 positions: flash-decoding, the last
 * block of a head combining) and over one; F16 weights, so the attention is what differs from
 * the CPU engine. Head dims 12 (a warp a score), 16 and 48 (a thread an element of v) and 64
 * (the warps' vector path), grouped-query heads; the emulator's threads in a random order. */
Test(cuda, attention_tiles_and_splits, .timeout = EMU_TIMEOUT)
{
    setenv("FLCU_EMU_ORDER", "random:3", 1);
    need_engine();
    static const uint32_t dims[4][3] = {{96, 8, 4}, {64, 4, 2}, {192, 4, 1}, {256, 4, 2}};
    enum { N_PROMPT_LONG = 300, N_CTX = 320 };
    for (int di = 0; di < 4; di++) {
        shape sh = {FL_TYPE_F16, 41, dims[di][0], dims[di][1], dims[di][2], 128, 2};
        char path[512];
        fl_model *m = make_shape(&sh, "att", path, sizeof path);
        uint32_t V = m->llama.hp.n_vocab, hd = m->llama.hp.head_dim;
        fl_cuda_opts o;
        fl_cuda_default_opts(&o);
        o.n_ctx = N_CTX;
        o.n_batch = 256;
        o.att_split = 16;
        fl_cuda_engine *sp = NULL, *one = NULL;
        cr_assert_eq(fl_cuda_engine_new(&sp, &m->llama, &o), 0, "%s", flare_last_error());
        o.att_split = 1;
        cr_assert_eq(fl_cuda_engine_new(&one, &m->llama, &o), 0, "%s", flare_last_error());
        fl_engine *c = make_cpu(m, N_CTX);
        double worst[2] = {0, 0};
        int32_t *tok = malloc(sizeof(int32_t) * (N_PROMPT_LONG + 8));
        cr_assert(tok);
        for (int i = 0; i < N_PROMPT_LONG + 8; i++)
            tok[i] = (int32_t)((7 + 13 * i) % V);
        cr_assert_eq(fl_cuda_engine_eval(sp, tok, N_PROMPT_LONG), 0, "%s", flare_last_error());
        cr_assert_eq(fl_cuda_engine_eval(one, tok, N_PROMPT_LONG), 0, "%s", flare_last_error());
        cr_assert_eq(fl_engine_eval(c, tok, N_PROMPT_LONG), 0, "%s", flare_last_error());
        for (int i = N_PROMPT_LONG; i <= N_PROMPT_LONG + 8; i++) {
            const float *ls = fl_cuda_engine_logits(sp), *l1 = fl_cuda_engine_logits(one);
            double d = t_nmse(ls, l1, V), dc = t_nmse(ls, fl_engine_logits(c), V);
            double d1 = t_nmse(l1, fl_engine_logits(c), V);
            cr_expect_lt(dc, TOL_FLOAT, "head dim %u after %d tokens: split attention vs the CPU "
                         "engine NMSE %.3g", hd, i, dc);
            cr_expect_lt(d1, TOL_FLOAT, "head dim %u after %d tokens: one block a head vs the "
                         "CPU engine NMSE %.3g", hd, i, d1);
            cr_expect_lt(d, 1e-9, "head dim %u after %d tokens: split vs one block NMSE %.3g",
                         hd, i, d);
            worst[0] = dc > worst[0] ? dc : worst[0];
            worst[1] = d > worst[1] ? d : worst[1];
            if (i == N_PROMPT_LONG + 8)
                break;
            cr_assert_eq(fl_cuda_engine_eval(sp, tok + i, 1), 0, "%s", flare_last_error());
            cr_assert_eq(fl_cuda_engine_eval(one, tok + i, 1), 0, "%s", flare_last_error());
            cr_assert_eq(fl_engine_eval(c, tok + i, 1), 0, "%s", flare_last_error());
        }
        printf("cuda attention, head dim %u: split vs cpu NMSE <= %.3g, split vs one block <= "
               "%.3g\n", hd, worst[0], worst[1]);
        free(tok);
        fl_engine_free(c);
        fl_cuda_engine_free(one);
        fl_cuda_engine_free(sp);
        fl_model_free(m);
        unlink(path);
    }
}

typedef struct {
    uint32_t calls, n_embd;
    float *rows; /* (n_layer, n_embd): the last token's residual stream per layer */
} hook_rec;

static void record(void *user, uint32_t layer, const float *x, uint32_t T)
{
    hook_rec *r = user;
    memcpy(r->rows + (size_t)layer * r->n_embd, x + (size_t)(T - 1) * r->n_embd,
           r->n_embd * sizeof(float));
    r->calls++;
}

Test(cuda, layer_hook_matches_cpu, .timeout = EMU_TIMEOUT)
{
    need_engine();
    char path[512];
    fl_model *m = make_model("stories15M", FL_TYPE_Q8_0, path, sizeof path);
    const fl_llama_hparams *hp = &m->llama.hp;
    hook_rec rc = {0, hp->n_embd, calloc((size_t)hp->n_layer * hp->n_embd, sizeof(float))};
    hook_rec rg = {0, hp->n_embd, calloc((size_t)hp->n_layer * hp->n_embd, sizeof(float))};
    fl_engine *c = make_cpu(m, 64);
    fl_cuda_engine *g = make_cuda(m, 64, 1, 1);
    fl_engine_set_hook(c, record, &rc);
    fl_cuda_engine_set_hook(g, record, &rg);
    int32_t prompt[5] = {1, 9038, 2501, 263, 931};
    cr_assert_eq(fl_engine_eval(c, prompt, 5), 0);
    cr_assert_eq(fl_cuda_engine_eval(g, prompt, 5), 0, "%s", flare_last_error());
    cr_expect_eq(rg.calls, hp->n_layer);
    for (uint32_t l = 0; l < hp->n_layer; l++) {
        double err = t_nmse(rg.rows + (size_t)l * hp->n_embd, rc.rows + (size_t)l * hp->n_embd,
                            hp->n_embd);
        cr_expect_lt(err, 1e-3, "layer %u: residual NMSE %.3g", l, err);
    }
    fl_cuda_engine_free(g);
    fl_engine_free(c);
    free(rc.rows);
    free(rg.rows);
    fl_model_free(m);
    unlink(path);
}

/* tools/bench_cuda --check, the correctness program a GPU session runs (it needs no Criterion),
 * on the engine under test: tiny's five types with the 12-token prompt, F16 and Q4_0 with an
 * 80-token one (two prompt tiles; its steps split attention over 2 ranges with --att-split 4),
 * one PASS line each and exit 0; a --long that cannot be is a usage error (exit 2). */
Test(cuda, bench_cuda_check_runs, .timeout = EMU_TIMEOUT)
{
    need_engine();
    char bin[4096];
    if (t_build_lib(NULL, "bench_cuda", bin, sizeof bin))
        cr_skip_test("%s not built", bin);
    char cmd[10000], *out = NULL;
    /* tiny with head dim 64 (the shape syntax; attention's vector path of 2 elements a lane) */
    snprintf(cmd, sizeof cmd, "FLARE_CUDA_LIB='%s' '%s' --check --presets "
             "tiny:dim=128:heads=2:kv=1 --long 80 --att-split 4 --tmp '%s' 2>&1",
             getenv("FLARE_CUDA_LIB"), bin, FLARE_TMPDIR);
    int st = t_run(cmd, &out);
    cr_expect_eq(st, 0, "bench_cuda --check exit %d:\n%s", st, out);
    cr_expect(strstr(out, "PASS: 0 of 7 cases failed"), "%s", out);
    cr_expect(strstr(out, "PASS tiny:dim=128:heads=2:kv=1/long q4_0"), "%s", out);
    free(out);
    /* a bad entry anywhere in the list: refused before any case runs */
    static const char *const bad[][2] = {
        {"tiny,tiny:foo=3", "'foo=3' is not key=N"},
        {"tiny,tiny:dim=0", "'dim=0' is not key=N"},
        {"tiny,tiny:heads=", "'heads=' is not key=N"},
        {"tiny,tiny:dim=100:heads=3", "expected a divisor of --dim 100, got 3"},
        {"tiny,nope", "unknown preset 'nope'"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(cmd, sizeof cmd, "FLARE_CUDA_LIB='%s' '%s' --check --presets '%s' 2>&1",
                 getenv("FLARE_CUDA_LIB"), bin, bad[i][0]);
        st = t_run(cmd, &out);
        cr_expect_eq(st, 1, "--presets %s: exit %d", bad[i][0], st);
        cr_expect(strstr(out, "FAIL --presets") && strstr(out, bad[i][1]), "%s", out);
        cr_expect(!strstr(out, "PASS tiny"), "--presets %s ran a case:\n%s", bad[i][0], out);
        free(out);
    }
    snprintf(cmd, sizeof cmd, "'%s' --check --long 5 2>&1", bin);
    st = t_run(cmd, &out);
    cr_expect_eq(st, 2, "bench_cuda --long 5: exit %d", st);
    cr_expect(strstr(out, "--long must be 0 (off) or 13 to 100000"), "%s", out);
    free(out);
}

/* What the engine refuses at creation, each with a message naming it: a context over 2^24
 * positions, options out of range (att_split, mma), a weight type it does not run, a matrix of
 * the wrong shape, hyperparameters that do not divide. */
Test(cuda, refuses_what_it_cannot_run)
{
    need_engine();
    char path[512];
    fl_model *m = make_model("tiny", FL_TYPE_Q8_0, path, sizeof path);
    fl_cuda_opts o;
    fl_cuda_default_opts(&o);
    fl_cuda_engine *g = NULL;
    o.n_ctx = (1u << 24) + 1;
    cr_expect_eq(fl_cuda_engine_new(&g, &m->llama, &o), FLARE_ERANGE);
    cr_expect(strstr(flare_last_error(), "context 16777217"), "%s", flare_last_error());
    cr_expect_null(g);
    o.n_ctx = 64;
    o.att_split = 17;
    cr_expect_eq(fl_cuda_engine_new(&g, &m->llama, &o), FLARE_EINVAL);
    cr_expect(strstr(flare_last_error(), "att_split 17"), "%s", flare_last_error());
    cr_expect_null(g);
    o.att_split = 0;
    o.mma = 3;
    cr_expect_eq(fl_cuda_engine_new(&g, &m->llama, &o), FLARE_EINVAL);
    cr_expect(strstr(flare_last_error(), "mma 3 is not 0"), "%s", flare_last_error());
    cr_expect_null(g);
    o.mma = 1;
    fl_llama bad = m->llama;
    fl_llama_layer *layers = malloc(sizeof *layers * bad.hp.n_layer);
    cr_assert(layers);
    memcpy(layers, m->llama.layers, sizeof *layers * bad.hp.n_layer);
    bad.layers = layers;
    layers[1].wk.type = 3; /* Q4_1 */
    cr_expect_eq(fl_cuda_engine_new(&g, &bad, &o), FLARE_EUNSUP);
    cr_expect(strstr(flare_last_error(), "blk.1.attn_k.weight: type id 3"), "%s",
              flare_last_error());
    layers[1].wk = m->llama.layers[1].wk;
    layers[1].wv.ne1 /= 2; /* half the rows: the bytes are there, the shape is wrong */
    cr_expect_eq(fl_cuda_engine_new(&g, &bad, &o), FLARE_EINVAL);
    cr_expect(strstr(flare_last_error(), "blk.1.attn_v.weight: shape"), "%s",
              flare_last_error());
    layers[1].wv = m->llama.layers[1].wv;
    bad.hp.n_head_kv = 3; /* 4 heads over 3 KV heads */
    cr_expect_eq(fl_cuda_engine_new(&g, &bad, &o), FLARE_EINVAL);
    cr_expect(strstr(flare_last_error(), "n_head a multiple of n_head_kv"), "%s",
              flare_last_error());
    cr_expect_null(g);
    free(layers);
    fl_model_free(m);
    unlink(path);
}

Test(cuda, context_full_and_bad_token)
{
    need_engine();
    char path[512];
    fl_model *m = make_model("tiny", FL_TYPE_Q8_0, path, sizeof path);
    fl_cuda_engine *g = make_cuda(m, 8, 1, 1);
    int32_t toks[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    cr_expect_eq(fl_cuda_engine_eval(g, toks, 9), FLARE_ERANGE);
    cr_expect(strstr(flare_last_error(), "context full"), "%s", flare_last_error());
    int32_t bad = (int32_t)m->llama.hp.n_vocab;
    cr_expect_eq(fl_cuda_engine_eval(g, &bad, 1), FLARE_EINVAL);
    cr_expect_eq(fl_cuda_engine_n_past(g), 0);
    cr_expect_eq(fl_cuda_engine_eval(g, toks, 8), 0, "%s", flare_last_error());
    cr_expect_eq(fl_cuda_engine_n_past(g), 8);
    fl_cuda_engine_free(g);
    fl_model_free(m);
    unlink(path);
}

#define PEER FLARE_TESTDATA "/llamacpp/stories15M-Q8_0"
#define PEER_STEPS 16
#define PEER_VOCAB 32000

/* llama.cpp's logits for its own greedy run, fed the same tokens. */
Test(cuda, llamacpp_peer_logits, .timeout = EMU_TIMEOUT)
{
    need_engine();
    fl_model *m = NULL;
    cr_assert_eq(fl_model_open(&m, PEER ".gguf"), 0, "%s", flare_last_error());
    float *want = malloc(sizeof(float) * PEER_VOCAB * PEER_STEPS);
    FILE *f = fopen(PEER ".logits.f32", "rb");
    cr_assert(f && want);
    cr_assert_eq(fread(want, sizeof(float), PEER_VOCAB * PEER_STEPS, f), PEER_VOCAB * PEER_STEPS);
    fclose(f);
    fl_cuda_engine *g = make_cuda(m, 64, 1, 1);
    int32_t prompt[5] = {1, 9038, 2501, 263, 931};
    cr_assert_eq(fl_cuda_engine_eval(g, prompt, 5), 0, "%s", flare_last_error());
    for (int s = 0; s < PEER_STEPS; s++) {
        const float *want_s = want + (size_t)s * PEER_VOCAB;
        double err = t_nmse(fl_cuda_engine_logits(g), want_s, PEER_VOCAB);
        cr_expect_lt(err, 5e-4, "step %d: logits NMSE %.3g vs llama.cpp", s, err);
        int32_t tok = t_argmax(want_s, PEER_VOCAB); /* llama.cpp's choice */
        cr_assert_eq(fl_cuda_engine_eval(g, &tok, 1), 0);
    }
    fl_cuda_engine_free(g);
    free(want);
    fl_model_free(m);
}
