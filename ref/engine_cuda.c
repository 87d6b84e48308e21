/* ref/engine_cuda.c: the loader side of the CUDA engine (ref/engine_cuda.h): dlopen() of
 * libflare_cuda.so, its functions looked up by the names of ref/cuda/flare_cuda.h, and thin
 * wrappers that turn the library's errors into flare_error() messages. No CUDA header or library
 * is needed to build this file. */
#include "ref/engine_cuda.h"

#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/exe_dir.h"
#include "flare/error.h"
#include "ref/cuda/flare_cuda.h"

#define LIB_NAME "libflare_cuda.so"

/* ---- the library's functions ---------------------------------------------------------------- */

typedef struct {
    void *handle;
    char path[PATH_MAX];
    int (*abi_version)(void);
    int (*probe)(uint32_t, char *, size_t);
    int (*create)(void **, const fl_llama *, const flcu_opts *);
    int (*eval)(void *, const int32_t *, uint32_t);
    const float *(*logits)(void *);
    uint32_t (*n_past)(void *);
    uint32_t (*n_ctx)(void *);
    uint32_t (*n_batch)(void *);
    void (*reset)(void *);
    void (*set_hook)(void *, flcu_layer_hook, void *);
    void (*free)(void *);
    uint64_t (*weight_bytes)(void *);
    const char *(*device_info)(void *);
    double (*d2d_gbps)(uint32_t, uint64_t, int);
    double (*int8_peak)(uint32_t, char *, size_t);
    const char *(*last_error)(void);
} cuda_lib;

static cuda_lib g_lib;
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;

struct fl_cuda_engine {
    void *h; /* the library's engine */
};

static int sym(void **fn, const char *name)
{
    *fn = dlsym(g_lib.handle, name);
    if (!*fn)
        return flare_error(FLARE_EUNSUP, "%s: no symbol %s (a library from another flare "
                           "version? run make cuda)", g_lib.path, name);
    return 0;
}

/* Load the library once; on failure nothing is kept, so a later call looks again. */
static int load_locked(void)
{
    if (g_lib.handle)
        return 0;
    const char *env = getenv("FLARE_CUDA_LIB");
    char dir[PATH_MAX];
    if (env && *env) {
        snprintf(g_lib.path, sizeof g_lib.path, "%s", env);
    } else {
        fl_exe_dir(dir, sizeof dir);
        int w = snprintf(g_lib.path, sizeof g_lib.path, "%s%s", dir, LIB_NAME);
        if (w < 0 || (size_t)w >= sizeof g_lib.path) {
            g_lib.path[0] = 0;
            return flare_error(FLARE_EINVAL, "the program's directory is too long to look for "
                               "%s beside it (set FLARE_CUDA_LIB)", LIB_NAME);
        }
    }
    g_lib.handle = dlopen(g_lib.path, RTLD_NOW | RTLD_LOCAL);
    if (!g_lib.handle) {
        /* Three cases, told apart: a library the user named, no library beside the program
         * (flare was built without nvcc), one there that does not load. */
        const char *why = dlerror();
        why = why ? why : "dlopen failed";
        int rc;
        if (env && *env)
            rc = flare_error(FLARE_EUNSUP, "cannot load %s, named by FLARE_CUDA_LIB (%s)",
                             g_lib.path, why);
        else if (access(g_lib.path, F_OK) != 0)
            rc = flare_error(FLARE_EUNSUP, "flare was built without the CUDA engine (run make "
                             "cuda): no %s", g_lib.path);
        else
            rc = flare_error(FLARE_EUNSUP, "cannot load the CUDA engine %s (%s; rebuild with "
                             "make cuda)", g_lib.path, why);
        g_lib.path[0] = 0;
        return rc;
    }
    int rc = sym((void **)&g_lib.abi_version, "flcu_abi_version");
    rc = rc ? rc : sym((void **)&g_lib.probe, "flcu_probe");
    rc = rc ? rc : sym((void **)&g_lib.create, "flcu_create");
    rc = rc ? rc : sym((void **)&g_lib.eval, "flcu_eval");
    rc = rc ? rc : sym((void **)&g_lib.logits, "flcu_logits");
    rc = rc ? rc : sym((void **)&g_lib.n_past, "flcu_n_past");
    rc = rc ? rc : sym((void **)&g_lib.n_ctx, "flcu_n_ctx");
    rc = rc ? rc : sym((void **)&g_lib.n_batch, "flcu_n_batch");
    rc = rc ? rc : sym((void **)&g_lib.reset, "flcu_reset");
    rc = rc ? rc : sym((void **)&g_lib.set_hook, "flcu_set_hook");
    rc = rc ? rc : sym((void **)&g_lib.free, "flcu_free");
    rc = rc ? rc : sym((void **)&g_lib.weight_bytes, "flcu_weight_bytes");
    rc = rc ? rc : sym((void **)&g_lib.device_info, "flcu_device_info");
    rc = rc ? rc : sym((void **)&g_lib.d2d_gbps, "flcu_d2d_gbps");
    rc = rc ? rc : sym((void **)&g_lib.int8_peak, "flcu_int8_peak_tops");
    rc = rc ? rc : sym((void **)&g_lib.last_error, "flcu_last_error");
    if (!rc && g_lib.abi_version() != FLCU_ABI_VERSION)
        rc = flare_error(FLARE_EUNSUP, "%s: ABI version %d, this flare expects %d (rebuild with "
                         "make cuda)", g_lib.path, g_lib.abi_version(), FLCU_ABI_VERSION);
    if (rc) {
        dlclose(g_lib.handle);
        memset(&g_lib, 0, sizeof g_lib);
    }
    return rc;
}

static int load(void)
{
    pthread_mutex_lock(&g_lock);
    int rc = load_locked();
    pthread_mutex_unlock(&g_lock);
    return rc;
}

/* The library's error as a flare error. */
static int lib_err(int rc)
{
    return flare_error(rc < 0 ? rc : FLARE_EDEVICE, "%s", g_lib.last_error());
}

/* ---- public --------------------------------------------------------------------------------- */

void fl_cuda_default_opts(fl_cuda_opts *o)
{
    o->n_ctx = 0;
    o->n_batch = 0;
    o->device = 0;
    o->graphs = 1;
    o->mma = 1;
    o->fuse = 1;
    o->att_split = 0;
}

int fl_cuda_parse_uri(const char *uri, uint32_t *device)
{
    *device = 0;
    if (strncmp(uri, "cuda", 4) || (uri[4] && uri[4] != ':'))
        return 0;
    if (!uri[4])
        return 1;
    const char *p = uri + 5;
    char *end = NULL;
    unsigned long v = *p >= '0' && *p <= '9' ? strtoul(p, &end, 10) : 0;
    if (!end || *end || v > 1024)
        return flare_error(FLARE_EINVAL, "--device %s: expected cuda or cuda:N with N a device "
                           "ordinal 0..1024", uri);
    *device = (uint32_t)v;
    return 1;
}

const char *fl_cuda_lib_path(void)
{
    return g_lib.handle ? g_lib.path : NULL;
}

int fl_cuda_probe(uint32_t device, char *msg, size_t msg_len)
{
    int rc = load();
    if (!rc) {
        char buf[512];
        rc = g_lib.probe(device, buf, sizeof buf);
        if (rc)
            rc = lib_err(rc);
        else if (msg && msg_len)
            snprintf(msg, msg_len, "%s", buf);
    }
    if (rc && msg && msg_len)
        snprintf(msg, msg_len, "%s", flare_last_error());
    return rc;
}

int fl_cuda_engine_new(fl_cuda_engine **out, const fl_llama *m, const fl_cuda_opts *o)
{
    *out = NULL;
    int rc = load();
    if (rc)
        return rc;
    fl_cuda_opts d;
    fl_cuda_default_opts(&d);
    if (!o)
        o = &d;
    flcu_opts lo = {o->n_ctx, o->n_batch, o->device, o->graphs, o->mma, o->fuse, o->att_split};
    fl_cuda_engine *e = calloc(1, sizeof *e);
    if (!e)
        return flare_error(FLARE_ENOMEM, "out of memory");
    rc = g_lib.create(&e->h, m, &lo);
    if (rc) {
        free(e);
        return lib_err(rc);
    }
    *out = e;
    return 0;
}

void fl_cuda_engine_free(fl_cuda_engine *e)
{
    if (!e)
        return;
    g_lib.free(e->h);
    free(e);
}

int fl_cuda_engine_eval(fl_cuda_engine *e, const int32_t *tokens, uint32_t n)
{
    int rc = g_lib.eval(e->h, tokens, n);
    return rc ? lib_err(rc) : 0;
}

const float *fl_cuda_engine_logits(const fl_cuda_engine *e)
{
    return g_lib.logits(e->h);
}

uint32_t fl_cuda_engine_n_past(const fl_cuda_engine *e)
{
    return g_lib.n_past(e->h);
}

uint32_t fl_cuda_engine_n_ctx(const fl_cuda_engine *e)
{
    return g_lib.n_ctx(e->h);
}

uint32_t fl_cuda_engine_n_batch(const fl_cuda_engine *e)
{
    return g_lib.n_batch(e->h);
}

void fl_cuda_engine_reset(fl_cuda_engine *e)
{
    g_lib.reset(e->h);
}

void fl_cuda_engine_set_hook(fl_cuda_engine *e, fl_engine_layer_hook fn, void *user)
{
    g_lib.set_hook(e->h, fn, user);
}

const char *fl_cuda_engine_device(const fl_cuda_engine *e)
{
    return g_lib.device_info(e->h);
}

uint64_t fl_cuda_engine_weight_bytes(const fl_cuda_engine *e)
{
    return g_lib.weight_bytes(e->h);
}

double fl_cuda_d2d_gbps(uint32_t device, uint64_t bytes, int reps)
{
    int rc = load();
    if (rc)
        return rc;
    double g = g_lib.d2d_gbps(device, bytes, reps);
    return g < 0 ? lib_err((int)g) : g;
}

double fl_cuda_int8_peak_tops(uint32_t device, char *how, size_t how_len)
{
    int rc = load();
    if (rc)
        return rc;
    double t = g_lib.int8_peak(device, how, how_len);
    return t < 0 ? lib_err((int)t) : t;
}
