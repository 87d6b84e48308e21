/* driver/dev_csim.c: the `csim` device: the hls/ kernels run in-process as the golden model.
 *
 * Device memory is host memory: each buffer is a 4096-byte aligned host allocation with a
 * device address in a synthetic space, bank << 40 | offset in the bank (bump-allocated, never
 * reused, so a stale address does not alias a new buffer). A launch encodes the call into the
 * AXI4-Lite register image of flare/kernels.h and decodes it back (what sim/ and hw/ see),
 * resolves every address the call uses to its buffer, checks the bytes the kernel touches lie
 * inside it, then runs the kernel to completion (launches queue: each runs at once, in order);
 * wait returns the oldest launch's status. The kernels' on-chip
 * memories (KV cache, x buffer) are an fl_hls_state allocated at open, so the cache persists
 * across launches. */
#include <stdlib.h>
#include <string.h>

#include "driver/dev.h"
#include "flare/error.h"
#include "hls/hls.h"

#define BANK_SHIFT 40u /* 1 TiB of address space per bank */

typedef struct {
    uint64_t addr, size_bytes;
    uint32_t bank, id;
    uint8_t *host; /* NULL once freed */
} csim_buf;

typedef struct {
    fl_hls_state *st;
    csim_buf *bufs; /* (n_bufs), index = id - 1 */
    uint32_t n_bufs, cap_bufs;
    uint64_t next_off[FL_DEV_MAX_BANKS]; /* bump pointer per bank */
    uint32_t status[FL_DEV_QUEUE];       /* statuses of the launches not yet waited for */
} csim_ctx;

static int csim_open(fl_dev *d, const char *params)
{
    if (*params)
        return flare_error(FLARE_EINVAL, "csim takes no parameters, got '%s'", params);
    csim_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return flare_error(FLARE_ENOMEM, "csim: out of memory");
    int rc = fl_hls_state_open(&c->st);
    if (rc != 0) {
        free(c);
        return rc;
    }
    d->ctx = c;
    return 0;
}

static void csim_close(fl_dev *d)
{
    csim_ctx *c = d->ctx;
    for (uint32_t i = 0; i < c->n_bufs; i++)
        free(c->bufs[i].host);
    free(c->bufs);
    fl_hls_state_close(c->st);
    free(c);
}

/* ---- buffers ---- */
static int csim_alloc(fl_dev *d, uint64_t bytes, uint32_t bank, fl_dev_buf *out)
{
    csim_ctx *c = d->ctx;
    uint64_t span = (bytes + FL_DEV_ALIGN - 1) / FL_DEV_ALIGN * FL_DEV_ALIGN;
    if (c->next_off[bank] + span > (1ull << BANK_SHIFT))
        return flare_error(FLARE_ENOMEM, "csim: bank %u address space exhausted", bank);
    if (c->n_bufs == c->cap_bufs) {
        uint32_t cap = c->cap_bufs ? c->cap_bufs * 2u : 64u;
        csim_buf *nb = realloc(c->bufs, sizeof *nb * cap);
        if (!nb)
            return flare_error(FLARE_ENOMEM, "csim: out of memory for the buffer table");
        c->bufs = nb;
        c->cap_bufs = cap;
    }
    uint8_t *host = aligned_alloc(FL_DEV_ALIGN, span);
    if (!host)
        return flare_error(FLARE_ENOMEM, "csim: cannot allocate %llu bytes in bank %u",
                           (unsigned long long)bytes, bank);
    memset(host, 0, span);
    csim_buf *b = &c->bufs[c->n_bufs++];
    *b = (csim_buf){((uint64_t)bank << BANK_SHIFT) + c->next_off[bank], bytes, bank, c->n_bufs,
                    host};
    c->next_off[bank] += span + FL_DEV_ALIGN; /* a guard gap between buffers */
    *out = (fl_dev_buf){b->addr, bytes, bank, b->id};
    return 0;
}

/* The live buffer a handle names, checked against the caller's copy. */
static csim_buf *lookup(csim_ctx *c, const fl_dev_buf *b)
{
    if (b->id == 0 || b->id > c->n_bufs)
        return NULL;
    csim_buf *cb = &c->bufs[b->id - 1];
    if (!cb->host || cb->addr != b->addr || cb->size_bytes != b->size_bytes)
        return NULL;
    return cb;
}

static int csim_free(fl_dev *d, const fl_dev_buf *b)
{
    csim_buf *cb = lookup(d->ctx, b);
    if (!cb)
        return flare_error(FLARE_EINVAL, "csim: free of buffer %u: not a live buffer", b->id);
    free(cb->host);
    cb->host = NULL;
    return 0;
}

static int csim_write(fl_dev *d, const fl_dev_buf *b, uint64_t off, const void *src,
                      uint64_t bytes)
{
    csim_buf *cb = lookup(d->ctx, b);
    if (!cb)
        return flare_error(FLARE_EINVAL, "csim: write to buffer %u: not a live buffer", b->id);
    memcpy(cb->host + off, src, bytes);
    return 0;
}

static int csim_read(fl_dev *d, const fl_dev_buf *b, uint64_t off, void *dst, uint64_t bytes)
{
    csim_buf *cb = lookup(d->ctx, b);
    if (!cb)
        return flare_error(FLARE_EINVAL, "csim: read of buffer %u: not a live buffer", b->id);
    memcpy(dst, cb->host + off, bytes);
    return 0;
}

/* ---- launch ---- */
/* Host pointer of [addr, addr + bytes) if it lies inside one live buffer, else NULL. */
static void *resolve(csim_ctx *c, uint64_t addr, uint64_t bytes)
{
    for (uint32_t i = 0; i < c->n_bufs; i++) {
        csim_buf *b = &c->bufs[i];
        if (b->host && addr >= b->addr && addr - b->addr <= b->size_bytes &&
            bytes <= b->size_bytes - (addr - b->addr))
            return b->host + (addr - b->addr);
    }
    return NULL;
}

static int csim_launch(fl_dev *d, const fl_kernel_call *in)
{
    csim_ctx *c = d->ctx;
    uint32_t *status = &c->status[d->pending]; /* its slot in the queue */
    /* go through the register image, as the sim and xrt paths do: the kernel sees exactly the
     * arguments that the AXI4-Lite layout of flare/kernels.h carries */
    uint32_t regs[FL_KERNEL_REG_WORDS] = {0};
    fl_kernel_call decoded;
    fl_kernel_regs(in, regs);
    fl_kernel_from_regs(in->kernel, regs, &decoded);
    const fl_kernel_call *call = &decoded;
    fl_dev_region r[6];
    void *p[6] = {0};
    int n = fl_kernel_regions(call, r);
    /* n < 0: shapes out of range; the kernel sets its status without touching memory */
    for (int i = 0; i < n; i++) {
        if (r[i].addr % r[i].align != 0)
            return flare_error(FLARE_EINVAL, "argument %s: address 0x%llx not %u-byte aligned",
                               r[i].name, (unsigned long long)r[i].addr, r[i].align);
        p[i] = resolve(c, r[i].addr, r[i].bytes);
        if (!p[i])
            return flare_error(FLARE_ERANGE,
                               "argument %s: %llu bytes at 0x%llx are not inside one buffer",
                               r[i].name, (unsigned long long)r[i].bytes,
                               (unsigned long long)r[i].addr);
    }
    uint64_t kread = 0, kwrite = 0;
    for (int i = 0; i < n; i++)
        *(r[i].write ? &kwrite : &kread) += r[i].bytes;
    /* each port gets its region's host pointer; NULL when the call does not use it */
    if (call->kernel == FL_KERNEL_QMATMUL) {
        const fl_qmatmul_args *a = &call->u.qmm;
        void *w = NULL, *wu = NULL, *x = NULL, *nw = NULL, *res = NULL, *y = NULL;
        for (int i = 0; i < n; i++) {
            const char *nm = r[i].name;
            void **slot = !strcmp(nm, "w") ? &w : !strcmp(nm, "w_up") ? &wu : !strcmp(nm, "x") ? &x
                        : !strcmp(nm, "norm_w") ? &nw : !strcmp(nm, "r") ? &res : &y;
            *slot = p[i];
        }
        fl_qmatmul(c->st, w, wu, x, nw, res, y, a->wtype, a->n, a->k, a->t, a->flags, a->eps,
                   status);
    } else {
        const fl_attention_args *a = &call->u.att;
        void *q = NULL, *k = NULL, *v = NULL, *rope = NULL, *out = NULL;
        for (int i = 0; i < n; i++) {
            const char *nm = r[i].name;
            void **slot = !strcmp(nm, "q") ? &q : !strcmp(nm, "k") ? &k : !strcmp(nm, "v") ? &v
                        : !strcmp(nm, "rope") ? &rope : &out;
            *slot = p[i];
        }
        fl_attention(c->st, q, k, v, rope, out, a->layer, a->pos, a->t, a->n_head, a->n_kv,
                     a->head_dim, a->n_rot, a->flags, status);
    }
    if (*status == FL_KST_OK) {
        d->stats.kernel_read_bytes += kread;
        d->stats.kernel_write_bytes += kwrite;
        d->stats.k[call->kernel].read_bytes += kread;
        d->stats.k[call->kernel].write_bytes += kwrite;
    }
    return 0;
}

static int csim_wait(fl_dev *d, uint32_t timeout_ms, uint32_t *kstatus)
{
    (void)timeout_ms; /* the run finished inside launch */
    csim_ctx *c = d->ctx;
    *kstatus = c->status[0];
    memmove(c->status, c->status + 1, (d->pending - 1u) * sizeof c->status[0]);
    return 0;
}

static uint32_t csim_queue(const fl_dev *d)
{
    (void)d;
    return FL_DEV_QUEUE;
}

const fl_dev_ops fl_dev_csim_ops = {
    .scheme = "csim",
    .open = csim_open,
    .close = csim_close,
    .alloc = csim_alloc,
    .free = csim_free,
    .write = csim_write,
    .read = csim_read,
    .launch = csim_launch,
    .wait = csim_wait,
    .stats = NULL, /* no cycle count in C simulation */
    .queue = csim_queue,
};
