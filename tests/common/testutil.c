/* tests/common/testutil.c: running commands from tests (see testutil.h). */
#include "tests/common/testutil.h"

#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "flare/error.h"
#include "flare/ggml.h"
#include "host/mkmodel.h"
#include "host/model.h"

int t_run(const char *cmd, char **out)
{
    FILE *p = popen(cmd, "r");
    cr_assert(p, "popen %s", cmd);
    size_t cap = 1 << 16, n = 0, got;
    char *buf = malloc(cap);
    cr_assert(buf);
    while ((got = fread(buf + n, 1, cap - n - 1, p)) > 0) {
        n += got;
        if (n + 1 == cap) {
            buf = realloc(buf, cap *= 2);
            cr_assert(buf);
        }
    }
    buf[n] = '\0';
    int st = pclose(p);
    *out = buf;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int t_flare(const char *args, char **out)
{
    size_t n = strlen(FLARE_BIN) + strlen(args) + 16;
    char *cmd = malloc(n);
    cr_assert(cmd);
    snprintf(cmd, n, "%s %s 2>&1", FLARE_BIN, args);
    int st = t_run(cmd, out);
    free(cmd);
    return st;
}

double t_nmse(const float *a, const float *ref, size_t n)
{
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)a[i] - ref[i];
        num += d * d;
        den += (double)ref[i] * ref[i];
    }
    return den > 0 ? num / den : num;
}

int32_t t_argmax(const float *x, size_t n)
{
    size_t b = 0;
    for (size_t i = 1; i < n; i++)
        if (x[i] > x[b])
            b = i;
    return (int32_t)b;
}

fl_model *t_make_model(const char *tag, const char *preset, uint32_t type, uint64_t seed,
                       char *path, size_t path_len)
{
    fl_mkmodel_opts o;
    cr_assert_eq(fl_mkmodel_preset(&o, preset), 0, "%s", flare_last_error());
    o.type = type;
    o.seed = seed;
    o.n_threads = 1;
    snprintf(path, path_len, "%s/%s-%s-%s-%d.gguf", FLARE_TMPDIR, tag, preset, fl_type_name(type),
             (int)getpid());
    cr_assert_eq(fl_mkmodel_write(&o, path), 0, "mkmodel %s: %s", preset, flare_last_error());
    fl_model *m = NULL;
    cr_assert_eq(fl_model_open(&m, path), 0, "%s", flare_last_error());
    return m;
}

int t_build_lib(const char *env_var, const char *name, char *path, size_t path_len)
{
    const char *env = env_var ? getenv(env_var) : NULL;
    snprintf(path, path_len, "%s", env && *env ? env : FLARE_BIN);
    if (!(env && *env)) {
        char *slash = strrchr(path, '/');
        snprintf(slash ? slash + 1 : path, path_len - (size_t)(slash ? slash + 1 - path : 0),
                 "%s", name);
    }
    return access(path, R_OK) == 0 ? 0 : -1;
}

int t_xrtsim_lib(char *path, size_t path_len)
{
    return t_build_lib("FLARE_XRTSIM_LIB", "libflare_xrtsim.so", path, path_len);
}

fl_dev *t_open_dev(const char *uri)
{
    fl_dev *d = NULL;
    int rc = fl_dev_open(uri, &d);
    if (rc == FLARE_EUNSUP && strstr(flare_last_error(), "is not built"))
        cr_skip_test("%s", flare_last_error());
    cr_assert_eq(rc, 0, "%s: %s", uri, flare_last_error());
    return d;
}

int t_xrt_over_sim(const char *tag, char *uri, size_t uri_len, char *xclbin, size_t xclbin_len)
{
    char lib[1024];
    if (t_xrtsim_lib(lib, sizeof lib))
        return -1;
    setenv("FLARE_XRT_LIB", lib, 1);
    snprintf(xclbin, xclbin_len, "%s/%s_%d.xclbin", FLARE_TMPDIR, tag, (int)getpid());
    FILE *f = fopen(xclbin, "wb");
    cr_assert(f, "cannot create %s", xclbin);
    fputs("not a real xclbin: the simulator only checks that it can be read\n", f);
    fclose(f);
    snprintf(uri, uri_len, "xrt:0:xclbin=%s", xclbin);
    return 0;
}

json_t *t_json(const char *s, char *why, size_t why_len)
{
    json_error_t err;
    json_t *v = json_loads(s, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &err);
    if (!v)
        snprintf(why, why_len, "%s at line %d column %d", err.text, err.line, err.column);
    return v;
}

int t_json_lines(char *out, json_t **v, int max)
{
    int n = 0;
    for (char *save, *l = strtok_r(out, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        char why[160];
        cr_assert_lt(n, max, "more than %d lines: %s", max, l);
        v[n] = t_json(l, why, sizeof why);
        cr_assert(v[n], "not JSON (%s): %s", why, l);
        n++;
    }
    return n;
}

int t_json_ints(json_t *obj, const char *key, int *ids, int max)
{
    json_t *arr = json_object_get(obj, key);
    if (!json_is_array(arr))
        return -1;
    size_t n = json_array_size(arr);
    for (size_t i = 0; i < n && (int)i < max; i++) {
        json_t *v = json_array_get(arr, i);
        if (!json_is_integer(v))
            return -1;
        ids[i] = (int)json_integer_value(v);
    }
    return (int)n < max ? (int)n : max;
}
