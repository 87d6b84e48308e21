/* ref/cuda/selftest.cuh: the host self-test behind flcu_selftest() (included by engine.cu after
 * the upload helpers it uses: layout_of, repack, point, set_err).
 *
 * The kernels' block decoding is written as __host__ __device__ functions (kernels.cuh:
 * load_block, block_dot, load_a_frag, stage_load_w + tile_words, dequant_elem, with dp4a and
 * vsub4 emulated on the host),
 * so this runs them on the CPU against flare/ggml.h's description of each block: the part of
 * the kernels that can be checked on a machine without a GPU. */
#ifndef FLARE_REF_CUDA_SELFTEST_CUH
#define FLARE_REF_CUDA_SELFTEST_CUH

/* ---- host self-test of the block decoding ------------------------------------------------- */

/* Element j of a raw ggml block of `type` as its integer quant, straight from flare/ggml.h's
 * description (independent of the repacked layout and the bit tricks of load_block). */
static int raw_quant(uint32_t type, const uint8_t *blk, int j)
{
    if (type == T_Q8_0)
        return (int8_t)blk[2 + j];
    if (type == T_Q4_0)
        return (j < 16 ? blk[2 + j] & 15 : blk[2 + j - 16] >> 4) - 8;
    uint32_t qh = (uint32_t)blk[2] | (uint32_t)blk[3] << 8 | (uint32_t)blk[4] << 16 |
                  (uint32_t)blk[5] << 24;
    int lo = j < 16 ? blk[6 + j] & 15 : blk[6 + j - 16] >> 4;
    return (lo | (int)((qh >> j) & 1u) << 4) - 16;
}

/* Random ggml blocks -> repack -> load_block/block_dot and dequant_elem on the host, against
 * raw_quant. Returns the number of mismatches (the first one described in g_err). */
template <int TYPE>
static int selftest_type(uint64_t *seed)
{
    const uint32_t rows = 16, k = 4 * QK, nb = k / QK;
    qlayout L = layout_of(TYPE, (size_t)rows * nb);
    uint8_t raw[16 * 4 * 34], act[32];
    uint8_t *h = (uint8_t *)calloc(1, L.total);
    if (!h)
        return 1;
    for (size_t i = 0; i < sizeof raw; i++) {
        *seed = *seed * 6364136223846793005ull + 1442695040888963407ull;
        raw[i] = (uint8_t)(*seed >> 56);
    }
    for (uint32_t b = 0; b < rows * nb; b++) { /* a finite positive fp16 scale per block */
        __half dh = __float2half(0.001f * (float)(1 + raw[b * L.blk_bytes + 5] % 64));
        memcpy(raw + b * L.blk_bytes, &dh, 2);
    }
    fl_weight w = {raw, (uint32_t)TYPE, k, rows, nb * L.blk_bytes};
    repack(&w, L, h);
    dmat m;
    m.type = TYPE;
    m.rows = rows;
    m.k = k;
    point(&m, TYPE, h, L);
    int bad = 0;
    for (uint32_t r = 0; r < rows; r++)
        for (uint32_t b = 0; b < nb; b++) {
            const uint8_t *blk = raw + ((size_t)r * nb + b) * L.blk_bytes;
            for (int j = 0; j < 32; j++) {
                *seed = *seed * 6364136223846793005ull + 1442695040888963407ull;
                act[j] = (uint8_t)(*seed >> 56);
            }
            int want = 0;
            for (int j = 0; j < 32; j++)
                want += raw_quant(TYPE, blk, j) * (int8_t)act[j];
            int wv[8];
            int4 a0, a1;
            memcpy(&a0, act, 16);
            memcpy(&a1, act + 16, 16);
            load_block<TYPE>(m, (size_t)r * nb + b, wv);
            int got = block_dot<TYPE>(wv, a0, a1);
            if (got != want && !bad++)
                set_err(FLARE_EINVAL, "type %d row %u block %u: block_dot %d, expected %d", TYPE,
                        r, b, got, want);
            float d = __half2float(*(const __half *)blk);
            for (int j = 0; j < 32; j++) {
                float v = dequant_elem(m, r, b * QK + (uint32_t)j);
                if (v != (float)raw_quant(TYPE, blk, j) * d && !bad++)
                    set_err(FLARE_EINVAL, "type %d row %u block %u element %d: dequantized %g, "
                            "expected %g", TYPE, r, b, j, (double)v,
                            (double)((float)raw_quant(TYPE, blk, j) * d));
            }
        }
    // the tensor-core A fragments: every lane's bytes against the documented (row, k) mapping
    for (uint32_t b = 0; b < nb; b++)
        for (int lane = 0; lane < 32; lane++) {
            int g = lane / 4, t = lane % 4, a[4];
            load_a_frag<TYPE>(m, (size_t)g * nb + b, (size_t)(g + 8) * nb + b, t, a);
            for (int r = 0; r < 4; r++)
                for (int i = 0; i < 4; i++) {
                    int row = g + (r & 1) * 8, kk = 4 * t + (r >> 1) * 16 + i;
                    int got = (int8_t)((uint32_t)a[r] >> (8 * i));
                    int want = raw_quant(TYPE, raw + ((size_t)row * nb + b) * L.blk_bytes, kk);
                    if (got != want && !bad++)
                        set_err(FLARE_EINVAL, "type %d block %u lane %d a%d byte %d: %d, expected "
                                "%d (row %d, k %d)", TYPE, b, lane, r, i, got, want, row, kk);
                }
        }
    // the tiled kernel's shared-memory words: word 2t + h holds elements 16h + 4t.. (signed)
    for (uint32_t r = 0; r < rows; r++)
        for (uint32_t b = 0; b < nb; b++) {
            const uint8_t *blk = raw + ((size_t)r * nb + b) * L.blk_bytes;
            stage_blk sb;
            int w[8];
            stage_load_w<TYPE>(m, (size_t)r * nb + b, sb);
            tile_words<TYPE>(sb, w);
            if (sb.d != __half2float(*(const __half *)blk) && !bad++)
                set_err(FLARE_EINVAL, "type %d row %u block %u: staged scale %g", TYPE, r, b,
                        (double)sb.d);
            for (int wi = 0; wi < 8; wi++)
                for (int i = 0; i < 4; i++) {
                    int kk = 16 * (wi & 1) + 4 * (wi >> 1) + i;
                    int got = (int8_t)((uint32_t)w[wi] >> (8 * i));
                    if (got != raw_quant(TYPE, blk, kk) && !bad++)
                        set_err(FLARE_EINVAL, "type %d row %u block %u tile word %d byte %d: %d, "
                                "expected %d (k %d)", TYPE, r, b, wi, i, got,
                                raw_quant(TYPE, blk, kk), kk);
                }
        }
    free(h);
    return bad;
}

#endif
