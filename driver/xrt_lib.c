/* driver/xrt_lib.c: loading XRT's or the simulator's library (driver/xrt_lib.h). */
#include "driver/xrt_lib.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/exe_dir.h"
#include "flare/error.h"

#define SIM_LIB "libflare_xrtsim.so"
#define XRT_LIB "libxrt_coreutil.so"


static xrt_lib g_sim, g_xrt;
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;

/* dlsym every function of the API (and the simulator's extension when sim). */
static int resolve_syms(xrt_lib *l, int sim)
{
#define FL_XRT_SYM(ret, name, params)                                                            \
    if (!(*(void **)&l->api.name = dlsym(l->handle, #name)))                                     \
        return flare_error(FLARE_EUNSUP, "%s has no symbol %s (not an XRT C API library)",       \
                           l->path, #name);
    FL_XRT_FUNCS(FL_XRT_SYM)
#undef FL_XRT_SYM
    if (!sim)
        return 0;
    *(void **)&l->configure = dlsym(l->handle, "flsim_configure");
    *(void **)&l->last_error = dlsym(l->handle, "flsim_last_error");
    *(void **)&l->get_stats = dlsym(l->handle, "flsim_get_stats");
    *(void **)&l->run_status = dlsym(l->handle, "flsim_run_status");
    if (!l->configure || !l->last_error || !l->get_stats)
        return flare_error(FLARE_EUNSUP, "%s lacks the flsim_* functions of sim/xrtsim.h (a "
                           "library from another flare version? run make)", l->path);
    return 0;
}

static int try_open(xrt_lib *l, const char *path)
{
    size_t n = strlen(path);
    if (n >= sizeof l->path)
        n = sizeof l->path - 1;
    memcpy(l->path, path, n);
    l->path[n] = 0;
    l->handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    return l->handle ? 0 : -1;
}

/* Load the simulator library once (under g_lock). */
static int load_sim_locked(void)
{
    xrt_lib *l = &g_sim;
    if (l->handle)
        return 0;
    const char *env = getenv("FLARE_XRTSIM_LIB");
    if (env && *env) {
        if (try_open(l, env)) {
            const char *why = dlerror();
            return flare_error(FLARE_EUNSUP, "cannot load the simulator library %s from "
                               "FLARE_XRTSIM_LIB (%s)", env, why ? why : "dlopen failed");
        }
    } else {
        char dir[PATH_MAX], cand[3][PATH_MAX + 32];
        fl_exe_dir(dir, sizeof dir);
        snprintf(cand[0], sizeof cand[0], "%s" SIM_LIB, dir);
        snprintf(cand[1], sizeof cand[1], "%s../lib/" SIM_LIB, dir);
        snprintf(cand[2], sizeof cand[2], "%s../" SIM_LIB, dir);
        for (int i = 0; i < 3 && !l->handle; i++) {
            if (access(cand[i], F_OK) != 0)
                continue;
            if (try_open(l, cand[i])) { /* there, but it does not load: say why */
                const char *why = dlerror();
                return flare_error(FLARE_EUNSUP, "cannot load the simulator library %s (%s)",
                                   cand[i], why ? why : "dlopen failed");
            }
        }
        if (!l->handle)
            return flare_error(FLARE_EUNSUP, "the simulator library " SIM_LIB " is not built "
                               "(looked in %s and its ../lib and ..): run make (it needs "
                               "verilator: make deps) or set FLARE_XRTSIM_LIB",
                               dir[0] ? dir : "the program's directory");
    }
    int rc = resolve_syms(l, 1);
    if (rc) {
        dlclose(l->handle);
        memset(l, 0, sizeof *l);
    }
    return rc;
}

/* Load XRT once (under g_lock). */
static int load_xrt_locked(void)
{
    xrt_lib *l = &g_xrt;
    if (l->handle)
        return 0;
    const char *env = getenv("FLARE_XRT_LIB");
    const char *first = env && *env ? env : XRT_LIB;
    if (try_open(l, first)) {
        char why[512];
        const char *e = dlerror();
        snprintf(why, sizeof why, "%s", e ? e : "dlopen failed");
        /* XRT's own install location, when its setup.sh was not sourced */
        if (!(env && *env) && try_open(l, "/opt/xilinx/xrt/lib/" XRT_LIB) == 0)
            goto loaded;
        /* "libxrt_coreutil.so: cannot open shared object file: No such file or directory" */
        char *tail = strstr(why, ": No such file");
        if (tail)
            *tail = 0;
        return flare_error(FLARE_EUNSUP, "XRT is not installed (%s); install XRT or use "
                           "--device sim", why);
    }
loaded:;
    int rc = resolve_syms(l, 0);
    if (rc) {
        dlclose(l->handle);
        memset(l, 0, sizeof *l);
    }
    return rc;
}

int fl_xrt_lib_load(int sim, xrt_lib **out)
{
    pthread_mutex_lock(&g_lock);
    int rc = sim ? load_sim_locked() : load_xrt_locked();
    pthread_mutex_unlock(&g_lock);
    *out = rc ? NULL : sim ? &g_sim : &g_xrt;
    return rc;
}
