/* ref/cuda/upload.cuh: the weights' upload (included by engine.cu after the engine state and
 * its allocation and error helpers; selftest.cuh uses layout_of, repack and point too).
 *
 * Quantized matrices go up repacked (qs | qh | d, each 256-aligned, one allocation) so a lane
 * loads whole int4s of quants (kernels.cuh); F16/F32 matrices go up as they are. */
#ifndef FLARE_REF_CUDA_UPLOAD_CUH
#define FLARE_REF_CUDA_UPLOAD_CUH

/* ---- weight upload -------------------------------------------------------------------------- */

static size_t align256(size_t n)
{
    return (n + 255) & ~(size_t)255;
}

static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

/* Host to device on the engine's stream, complete on return (the source may be freed). */
static int h2d(engine *e, void *dst, const void *src, size_t bytes)
{
    CK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, e->st));
    CK(cudaStreamSynchronize(e->st));
    return 0;
}

/* The repacked layout of a quantized (rows, nb blocks) matrix: qs | qh | d, each 256-aligned. */
typedef struct {
    size_t blk_bytes, qs_per, qs_bytes, qh_bytes, total;
} qlayout;

static qlayout layout_of(uint32_t t, size_t n_blk)
{
    qlayout L;
    L.blk_bytes = t == T_Q4_0 ? 18 : t == T_Q5_0 ? 22 : 34;
    L.qs_per = t == T_Q8_0 ? 32 : 16;
    L.qs_bytes = align256(n_blk * L.qs_per);
    L.qh_bytes = t == T_Q5_0 ? align256(n_blk * 4) : 0;
    L.total = L.qs_bytes + L.qh_bytes + n_blk * 2;
    return L;
}

/* ggml blocks of w (rows of row_bytes) -> h (L.total bytes) in the repacked layout. */
static void repack(const fl_weight *w, const qlayout &L, uint8_t *h)
{
    size_t nb = w->ne0 / QK;
    uint8_t *hqs = h, *hqh = h + L.qs_bytes, *hd = h + L.qs_bytes + L.qh_bytes;
    for (size_t r = 0; r < w->ne1; r++) {
        const uint8_t *src = (const uint8_t *)w->data + r * w->row_bytes;
        for (size_t b = 0; b < nb; b++, src += L.blk_bytes) {
            size_t i = r * nb + b;
            uint16_t dd = rd16(src);
            memcpy(hd + 2 * i, &dd, 2);
            if (w->type == T_Q5_0) {
                memcpy(hqh + 4 * i, src + 2, 4); /* little-endian uint32, as the host */
                memcpy(hqs + 16 * i, src + 6, 16);
            } else {
                memcpy(hqs + L.qs_per * i, src + 2, L.qs_per);
            }
        }
    }
}

/* A dmat over a repacked buffer (device or host memory). */
static void point(dmat *m, uint32_t type, const uint8_t *base, const qlayout &L)
{
    m->qs = base;
    m->qh = type == T_Q5_0 ? (const uint32_t *)(base + L.qs_bytes) : NULL;
    m->d = (const __half *)(base + L.qs_bytes + L.qh_bytes);
}

/* Upload `w` as a dmat: quantized types repacked to qs | qh | d (one allocation), F16/F32 as
 * they are. `what` names the tensor in messages. */
static int upload(engine *e, const fl_weight *w, dmat *out, const char *what)
{
    memset(out, 0, sizeof *out);
    if (!w->data)
        return set_err(FLARE_EINVAL, "%s: no data", what);
    uint32_t t = w->type;
    if (t != T_F32 && t != T_F16 && t != T_Q4_0 && t != T_Q5_0 && t != T_Q8_0)
        return set_err(FLARE_EUNSUP, "%s: type id %u: the CUDA engine runs F32, F16, Q4_0, Q5_0 "
                       "and Q8_0 weights", what, t);
    if (w->ne0 % QK || w->ne0 > UINT32_MAX || w->ne1 > UINT32_MAX || !w->ne1)
        return set_err(FLARE_EUNSUP, "%s: shape (%llu, %llu): rows must be a multiple of 32 "
                       "elements", what, (unsigned long long)w->ne0, (unsigned long long)w->ne1);
    out->type = (int)t;
    out->k = (uint32_t)w->ne0;
    out->rows = (uint32_t)w->ne1;
    size_t rows = w->ne1, nb = w->ne0 / QK, n_blk = rows * nb;
    if (t == T_F32 || t == T_F16) {
        size_t bytes = rows * w->ne0 * (t == T_F32 ? 4 : 2);
        if (w->row_bytes != w->ne0 * (t == T_F32 ? 4 : 2))
            return set_err(FLARE_EINVAL, "%s: row_bytes %llu, expected %zu", what,
                           (unsigned long long)w->row_bytes, bytes / rows);
        uint8_t *d = NULL;
        DALLOC(d, bytes);
        out->qs = d;
        return h2d(e, d, w->data, bytes);
    }
    qlayout L = layout_of(t, n_blk);
    if (w->row_bytes != nb * L.blk_bytes)
        return set_err(FLARE_EINVAL, "%s: row_bytes %llu, expected %zu", what,
                       (unsigned long long)w->row_bytes, nb * L.blk_bytes);
    uint8_t *h = (uint8_t *)malloc(L.total);
    if (!h)
        return set_err(FLARE_ENOMEM, "%s: out of host memory for %zu bytes", what, L.total);
    repack(w, L, h);
    uint8_t *d = NULL;
    int rc = dalloc(e, (void **)&d, L.total);
    if (!rc)
        rc = h2d(e, d, h, L.total);
    free(h);
    if (rc)
        return rc;
    point(out, t, d, L);
    return 0;
}

static uint64_t dmat_bytes(const dmat *m)
{
    uint64_t n = (uint64_t)m->rows * m->k;
    switch (m->type) {
    case T_F32: return n * 4;
    case T_F16: return n * 2;
    case T_Q4_0: return n / QK * 18;
    case T_Q5_0: return n / QK * 22;
    default: return n / QK * 34;
    }
}

#endif
