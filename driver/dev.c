/* driver/dev.c: the backend-independent half of the device API: URI dispatch, argument and
 * bounds checks, counters, the per-device last error, and the memory regions of a kernel call. */
#include "driver/dev.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flare/error.h"
#include "flare/ggml.h"
#include "hls/hls.h"

/* ---- backends ---- */
static const fl_dev_ops *const builtin[] = {&fl_dev_csim_ops, &fl_dev_sim_ops, &fl_dev_xrt_ops};
/* Schemes the design names whose backends this build does not contain yet. */
static const char *const planned[] = {"opencl", "cuda"};

/* Remember the thread's message as the device's last error; returns rc. */
static int dev_fail(fl_dev *d, int rc)
{
    if (rc != 0 && d)
        snprintf(d->last_error, sizeof d->last_error, "%s", flare_last_error());
    return rc;
}

const char *fl_dev_last_error(const fl_dev *d)
{
    return d ? d->last_error : flare_last_error();
}

/* ---- open / close ---- */
int fl_dev_open(const char *uri, fl_dev **out)
{
    *out = NULL;
    if (!uri || !*uri)
        return flare_error(FLARE_EINVAL, "device URI is empty (expected csim, sim[:trace=FILE], "
                                         "xrt:N[:xclbin=FILE], opencl[:P:D] or cuda[:N])");
    const char *colon = strchr(uri, ':');
    size_t n = colon ? (size_t)(colon - uri) : strlen(uri);
    const char *params = colon ? colon + 1 : "";
    const fl_dev_ops *ops = NULL;
    for (size_t i = 0; i < sizeof builtin / sizeof builtin[0]; i++)
        if (strlen(builtin[i]->scheme) == n && strncmp(builtin[i]->scheme, uri, n) == 0)
            ops = builtin[i];
    if (!ops) {
        for (size_t i = 0; i < sizeof planned / sizeof planned[0]; i++)
            if (strlen(planned[i]) == n && strncmp(planned[i], uri, n) == 0)
                return flare_error(FLARE_EUNSUP,
                                   "device '%s': the %s backend is not built into this flare "
                                   "(available: csim, sim, xrt)",
                                   uri, planned[i]);
        return flare_error(FLARE_EINVAL,
                           "device '%s': unknown scheme '%.*s' (expected csim, sim, xrt, opencl "
                           "or cuda)",
                           uri, (int)n, uri);
    }
    if (strlen(uri) >= sizeof((fl_dev *)0)->uri)
        return flare_error(FLARE_EINVAL, "device URI longer than %zu bytes",
                           sizeof((fl_dev *)0)->uri - 1);
    fl_dev *d = calloc(1, sizeof *d);
    if (!d)
        return flare_error(FLARE_ENOMEM, "device '%s': out of memory", uri);
    d->ops = ops;
    snprintf(d->uri, sizeof d->uri, "%s", uri);
    int rc = ops->open(d, params);
    if (rc != 0) {
        free(d);
        return flare_error_prefix(rc, "device '%s'", uri);
    }
    *out = d;
    return 0;
}

void fl_dev_close(fl_dev *d)
{
    if (!d)
        return;
    d->ops->close(d);
    free(d);
}

/* ---- memory ---- */
int fl_dev_alloc(fl_dev *d, uint64_t bytes, uint32_t bank, fl_dev_buf *out)
{
    *out = (fl_dev_buf){0, 0, 0, 0};
    if (bytes == 0 || bytes > FL_DEV_MAX_ALLOC)
        return dev_fail(d, flare_error(FLARE_EINVAL, "%s: alloc of %llu bytes (expected 1..%llu)",
                                       d->uri, (unsigned long long)bytes,
                                       (unsigned long long)FL_DEV_MAX_ALLOC));
    if (bank >= FL_DEV_MAX_BANKS)
        return dev_fail(d, flare_error(FLARE_EINVAL, "%s: bank %u (expected 0..%u)", d->uri, bank,
                                       FL_DEV_MAX_BANKS - 1));
    int rc = d->ops->alloc(d, bytes, bank, out);
    if (rc != 0)
        return dev_fail(d, rc);
    d->stats.alloc_bytes += bytes;
    if (d->stats.alloc_bytes > d->stats.alloc_peak_bytes)
        d->stats.alloc_peak_bytes = d->stats.alloc_bytes;
    return 0;
}

/* Host access to device memory while kernels may still read or write it is refused. */
static int check_idle(fl_dev *d, const char *what)
{
    if (d->pending)
        return flare_error(FLARE_EINVAL, "%s: %s while %u launch%s (first %s) outstanding: "
                           "wait for them first (fl_dev_drain)", d->uri, what, d->pending,
                           d->pending == 1 ? " is" : "es are",
                           fl_kernel_name(d->pending_kernel[0]));
    return 0;
}

int fl_dev_free(fl_dev *d, fl_dev_buf *b)
{
    if (b->id == 0)
        return 0; /* never allocated or already freed */
    int rc = check_idle(d, "free");
    if (rc == 0)
        rc = d->ops->free(d, b);
    if (rc != 0)
        return dev_fail(d, rc);
    d->stats.alloc_bytes -= b->size_bytes;
    *b = (fl_dev_buf){0, 0, 0, 0};
    return 0;
}

static int check_span(fl_dev *d, const char *what, const fl_dev_buf *b, uint64_t off,
                      uint64_t bytes)
{
    int rc = check_idle(d, what);
    if (rc)
        return rc;
    if (b->id == 0)
        return flare_error(FLARE_EINVAL, "%s: %s on a buffer that is not allocated", d->uri, what);
    if (off > b->size_bytes || bytes > b->size_bytes - off)
        return flare_error(FLARE_ERANGE,
                           "%s: %s of %llu bytes at offset %llu past the end of buffer %u "
                           "(%llu bytes)",
                           d->uri, what, (unsigned long long)bytes, (unsigned long long)off, b->id,
                           (unsigned long long)b->size_bytes);
    return 0;
}

int fl_dev_write(fl_dev *d, const fl_dev_buf *b, uint64_t off, const void *src, uint64_t bytes)
{
    int rc = check_span(d, "write", b, off, bytes);
    if (rc == 0 && bytes > 0)
        rc = d->ops->write(d, b, off, src, bytes);
    if (rc != 0)
        return dev_fail(d, rc);
    d->stats.write_bytes += bytes;
    return 0;
}

int fl_dev_read(fl_dev *d, const fl_dev_buf *b, uint64_t off, void *dst, uint64_t bytes)
{
    int rc = check_span(d, "read", b, off, bytes);
    if (rc == 0 && bytes > 0)
        rc = d->ops->read(d, b, off, dst, bytes);
    if (rc != 0)
        return dev_fail(d, rc);
    d->stats.read_bytes += bytes;
    return 0;
}

/* ---- kernels ---- */
int fl_dev_supports(fl_dev *d, uint32_t kernel)
{
    if (kernel >= FL_KERNEL_COUNT)
        return 0;
    return d->ops->supports ? d->ops->supports(d, kernel) != 0 : 1;
}

int fl_dev_launch(fl_dev *d, const fl_kernel_call *c)
{
    if (c->kernel >= FL_KERNEL_COUNT)
        return dev_fail(d, flare_error(FLARE_EINVAL, "%s: launch of unknown kernel id %u",
                                       d->uri, c->kernel));
    if (!fl_dev_supports(d, c->kernel))
        return dev_fail(d, flare_error(FLARE_EUNSUP, "%s: launch of %s: the device has no %s "
                                       "kernel (fl_dev_supports says which it has)",
                                       d->uri, fl_kernel_name(c->kernel),
                                       fl_kernel_name(c->kernel)));
    uint32_t depth = fl_dev_queue_depth(d);
    if (d->pending >= depth)
        return dev_fail(d, flare_error(FLARE_EINVAL,
                                       "%s: launch of %s with %u launch%s outstanding (the "
                                       "device queues %u): wait first",
                                       d->uri, fl_kernel_name(c->kernel), d->pending,
                                       d->pending == 1 ? "" : "es", depth));
    int rc = d->ops->launch(d, c);
    if (rc != 0)
        return dev_fail(d, flare_error_prefix(rc, "%s: launch %s", d->uri,
                                              fl_kernel_name(c->kernel)));
    d->pending_kernel[d->pending++] = c->kernel;
    return 0;
}

int fl_dev_wait(fl_dev *d, uint32_t timeout_ms, uint32_t *kstatus)
{
    uint32_t ks = 0;
    if (kstatus)
        *kstatus = 0;
    if (!d->pending)
        return dev_fail(d, flare_error(FLARE_EINVAL, "%s: wait with no launch outstanding",
                                       d->uri));
    int rc = d->ops->wait(d, timeout_ms, &ks);
    if (rc == FLARE_ETIMEDOUT)
        return dev_fail(d, rc); /* still pending: the caller may wait again */
    uint32_t kernel = d->pending_kernel[0];
    d->pending--;
    memmove(d->pending_kernel, d->pending_kernel + 1, d->pending * sizeof d->pending_kernel[0]);
    if (rc != 0)
        return dev_fail(d, flare_error_prefix(rc, "%s: %s", d->uri, fl_kernel_name(kernel)));
    if (kstatus)
        *kstatus = ks;
    d->stats.runs[kernel]++;
    d->stats.k[kernel].runs++;
    if (ks != FL_KST_OK) {
        d->stats.errors++;
        return dev_fail(d, flare_error(FLARE_EDEVICE, "%s: %s returned status %u (%s)", d->uri,
                                       fl_kernel_name(kernel), ks, fl_kstatus_name(ks)));
    }
    return 0;
}

int fl_dev_drain(fl_dev *d, uint32_t timeout_ms)
{
    int first = 0;
    char msg[sizeof d->last_error];
    while (d->pending) {
        int rc = fl_dev_wait(d, timeout_ms, NULL);
        if (rc != 0 && first == 0) {
            first = rc;
            snprintf(msg, sizeof msg, "%s", d->last_error);
        }
        if (rc == FLARE_ETIMEDOUT)
            break;
    }
    if (first != 0) /* the first failure is the one to report */
        return dev_fail(d, flare_error(first, "%s", msg));
    return 0;
}

uint32_t fl_dev_queue_depth(const fl_dev *d)
{
    uint32_t q = d->ops->queue ? d->ops->queue(d) : 1u;
    return q < 1u ? 1u : q > FL_DEV_QUEUE ? FL_DEV_QUEUE : q;
}

int fl_dev_run(fl_dev *d, const fl_kernel_call *c, uint32_t timeout_ms, uint32_t *kstatus)
{
    if (d->pending)
        return dev_fail(d, flare_error(FLARE_EINVAL, "%s: run of %s while %u launch%s "
                                       "outstanding: wait first (or launch it)", d->uri,
                                       fl_kernel_name(c->kernel), d->pending,
                                       d->pending == 1 ? " is" : "es are"));
    int rc = fl_dev_launch(d, c);
    return rc != 0 ? rc : fl_dev_wait(d, timeout_ms, kstatus);
}

int fl_dev_get_stats(fl_dev *d, fl_dev_stats *out)
{
    if (d->ops->stats) {
        int rc = d->ops->stats(d);
        if (rc != 0)
            return dev_fail(d, rc);
    }
    *out = d->stats;
    return 0;
}

/* ---- memory regions of a call ---- */
static void region(fl_dev_region *r, int *n, const char *name, uint64_t addr, uint64_t bytes,
                   int write, uint32_t align)
{
    r[*n] = (fl_dev_region){name, addr, bytes, write, align};
    (*n)++;
}

int fl_kernel_regions(const fl_kernel_call *c, fl_dev_region r[6])
{
    int n = 0;
    if (c->kernel == FL_KERNEL_QMATMUL) {
        const fl_qmatmul_args *a = &c->u.qmm;
        if (fl_qmatmul_check(a->wtype, a->n, a->k, a->t, a->flags) != FL_KST_OK)
            return -1;
        uint64_t wbytes = (uint64_t)a->n * fl_row_bytes(a->wtype, a->k);
        uint64_t out = (uint64_t)a->t * a->n * 4u;
        region(r, &n, "w", a->w, wbytes, 0, 1);
        if (a->flags & FL_QMM_SWIGLU)
            region(r, &n, "w_up", a->w_up, wbytes, 0, 1);
        region(r, &n, "x", a->x, (uint64_t)a->t * a->k * 4u, 0, 4);
        if (a->flags & FL_QMM_NORM)
            region(r, &n, "norm_w", a->norm_w, (uint64_t)a->k * 4u, 0, 4);
        if (a->flags & FL_QMM_RESID)
            region(r, &n, "r", a->r, out, 0, 4);
        region(r, &n, "y", a->y, out, 1, 4);
        return n;
    }
    if (c->kernel == FL_KERNEL_ATTENTION) {
        const fl_attention_args *a = &c->u.att;
        if (a->t == 0 || a->t > FL_MAX_T || a->n_head == 0 || a->n_head > FL_MAX_HEADS ||
            a->n_kv == 0 || a->n_kv > FL_MAX_KV_HEADS || a->head_dim == 0 ||
            a->head_dim > FL_MAX_HEAD_DIM || a->n_rot > a->head_dim ||
            (a->flags & ~FL_ATT_FLAGS_ALL))
            return -1;
        uint64_t qb = (uint64_t)a->t * a->n_head * a->head_dim * 4u;
        uint64_t kb = (uint64_t)a->t * a->n_kv * a->head_dim * 4u;
        region(r, &n, "q", a->q, qb, 0, 4);
        region(r, &n, "k", a->k, kb, 0, 4);
        region(r, &n, "v", a->v, kb, 0, 4);
        if (a->n_rot > 0)
            region(r, &n, "rope", a->rope, (uint64_t)a->t * a->n_rot * 4u, 0, 4);
        region(r, &n, "out", a->out, qb, 1, 4);
        return n;
    }
    return -1;
}
