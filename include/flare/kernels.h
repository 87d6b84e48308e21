/* flare/kernels.h: the spec header for the accelerator kernels (qmatmul, attention).
 *
 * One description of every kernel argument, shared by hls/ (the C kernels), driver/ (device API
 * and backends), sim/ and hw/ (the Verilog parameters are generated from the same tables):
 * kernel ids, argument structs, AXI4-Lite register offsets, flags, status codes, and the
 * build-time maxima (hls/config.h). The numerics the kernels implement are in docs/numerics.md.
 *
 * Control interface: AXI4-Lite `s_axi_control`, ap_ctrl_hs layout:
 *   0x00 control  bit0 ap_start (W, self-clearing), bit1 ap_done (R, clear on read),
 *                 bit2 ap_idle (R), bit3 ap_ready (R)
 *   0x04 GIE      bit0 global interrupt enable
 *   0x08 IER      bit0 ap_done interrupt enable, bit1 ap_ready interrupt enable
 *   0x0C ISR      bit0 ap_done, bit1 ap_ready (toggle on write)
 *   0x10...       arguments in the order of the tables below; a 64-bit device address takes two
 *                 32-bit words (low word first), a u32 or f32 one word (f32 as its IEEE bits);
 *                 the status word (an output, read-only) follows the last argument.
 * The XRT backend sets arguments by index (the table order), so it does not depend on the
 * offsets; hw/ and sim/ decode exactly these offsets. */
#ifndef FLARE_KERNELS_H
#define FLARE_KERNELS_H

#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "hls/config.h"

/* ---- kernels ---- */
enum fl_kernel {
    FL_KERNEL_QMATMUL = 0,
    FL_KERNEL_ATTENTION = 1,
    FL_KERNEL_COUNT = 2,
};

/* ---- control registers (ap_ctrl_chain, XRT's pipelined kernel: hw/README.md) ----
 * ap_start is held until the kernel takes the arguments (ap_ready); the kernel may take the
 * next call while one runs. Each completed call raises ap_done and leaves its status in the
 * status register until the host writes ap_continue; no later call completes before that. */
#define FL_REG_CTRL 0x00u
#define FL_REG_GIE 0x04u
#define FL_REG_IER 0x08u
#define FL_REG_ISR 0x0Cu
#define FL_REG_ARGS 0x10u /* first argument word */
#define FL_CTRL_START 0x1u
#define FL_CTRL_DONE 0x2u
#define FL_CTRL_IDLE 0x4u
#define FL_CTRL_READY 0x8u
#define FL_CTRL_CONTINUE 0x10u /* write 1: acknowledge the completed call */

/* ---- numerics constants (docs/numerics.md) ---- */
#define FL_NUM_LANES 8u /* fp32 sums run in 8 interleaved lanes, then a fixed tree */

/* ---- status codes: the status register after a run ---- */
enum fl_kstatus {
    FL_KST_OK = 0,
    FL_KST_BAD_TYPE = 1,  /* qmatmul: weight type is not Q4_0, Q5_0 or Q8_0 */
    FL_KST_BAD_SHAPE = 2, /* a zero size, K not a multiple of 32, odd head_dim, heads not a
                             multiple of kv heads, n_rot odd or above head_dim */
    FL_KST_RANGE = 3,     /* a size or index above a build maximum (hls/config.h) */
    FL_KST_CTX_FULL = 4,  /* attention: pos + t above FL_MAX_CTX */
    FL_KST_KV_GAP = 5,    /* attention: pos above the tokens already cached for the layer */
    FL_KST_KV_MODE = 6,   /* attention: KV element type differs from the one the layer's
                             sequence started with (set at pos 0) */
    FL_KST_BAD_FLAGS = 7, /* unknown flag bits */
    FL_KST_COUNT = 8,
};

/* Short name of a status ("ok", "range", ...); "?" when unknown. */
static inline const char *fl_kstatus_name(uint32_t s)
{
    static const char *const names[FL_KST_COUNT] = {
        "ok", "bad weight type", "bad shape", "above a build maximum", "context full",
        "position past the cached tokens", "KV element type differs from the sequence's",
        "unknown flags",
    };
    return s < FL_KST_COUNT ? names[s] : "?";
}

/* ---- argument tables: X(name, kind, offset) ----
 * kind ADDR: 64-bit device address (two words); U32: one word; F32: one word, IEEE bits. */
#define FL_ARG_T_ADDR uint64_t
#define FL_ARG_T_U32 uint32_t
#define FL_ARG_T_F32 float
#define FL_ARG_WORDS_ADDR 2u
#define FL_ARG_WORDS_U32 1u
#define FL_ARG_WORDS_F32 1u

/* qmatmul: y[t][n] = sum_k W[n][k] * xq[t][k] (+ fused steps by flags).
 *   w      (n, k/32) blocks of wtype: the matrix (the gate matrix with FL_QMM_SWIGLU)
 *   w_up   (n, k/32) blocks of wtype: the up matrix (FL_QMM_SWIGLU only, else ignored)
 *   x      (t, k) fp32 input rows
 *   norm_w (k,) fp32 RMSNorm weight (FL_QMM_NORM only, else ignored)
 *   r      (t, n) fp32 residual (FL_QMM_RESID only, else ignored)
 *   y      (t, n) fp32 output
 *   wtype  FL_TYPE_Q4_0 / Q5_0 / Q8_0 (flare/ggml.h ids); n, k, t the shape; eps for RMSNorm */
#define FL_QMATMUL_ARGS(X)                                                                       \
    X(w, ADDR, 0x10)                                                                             \
    X(w_up, ADDR, 0x18)                                                                          \
    X(x, ADDR, 0x20)                                                                             \
    X(norm_w, ADDR, 0x28)                                                                        \
    X(r, ADDR, 0x30)                                                                             \
    X(y, ADDR, 0x38)                                                                             \
    X(wtype, U32, 0x40)                                                                          \
    X(n, U32, 0x44)                                                                              \
    X(k, U32, 0x48)                                                                              \
    X(t, U32, 0x4C)                                                                              \
    X(flags, U32, 0x50)                                                                          \
    X(eps, F32, 0x54)
#define FL_QMATMUL_REG_STATUS 0x58u
#define FL_QMATMUL_REG_END 0x5Cu

#define FL_QMM_NORM 0x1u   /* prologue: x <- rmsnorm(x) * norm_w */
#define FL_QMM_RESID 0x2u  /* epilogue: y <- y + r (after SwiGLU when both are set) */
#define FL_QMM_SWIGLU 0x4u /* y <- silu(W x) * (W_up x), both matrices in one pass */
#define FL_QMM_FLAGS_ALL 0x7u

/* attention: t new tokens of one sequence at positions pos..pos+t-1, layer `layer`.
 *   q    (t, n_head, head_dim) fp32 queries (before RoPE)
 *   k, v (t, n_kv, head_dim) fp32 new keys (before RoPE) and values
 *   rope (t, n_rot/2, 2) fp32 {cos, sin} of theta = (pos + i) * base^(-2j/n_rot), computed by
 *        the host (fl_rope_table in hls/rope_table.c)
 *   out  (t, n_head, head_dim) fp32 attention output (before the output projection) */
#define FL_ATTENTION_ARGS(X)                                                                     \
    X(q, ADDR, 0x10)                                                                             \
    X(k, ADDR, 0x18)                                                                             \
    X(v, ADDR, 0x20)                                                                             \
    X(rope, ADDR, 0x28)                                                                          \
    X(out, ADDR, 0x30)                                                                           \
    X(layer, U32, 0x38)                                                                          \
    X(pos, U32, 0x3C)                                                                            \
    X(t, U32, 0x40)                                                                              \
    X(n_head, U32, 0x44)                                                                         \
    X(n_kv, U32, 0x48)                                                                           \
    X(head_dim, U32, 0x4C)                                                                       \
    X(n_rot, U32, 0x50)                                                                          \
    X(flags, U32, 0x54)
#define FL_ATTENTION_REG_STATUS 0x58u
#define FL_ATTENTION_REG_END 0x5Cu

#define FL_ATT_KV_INT8 0x1u /* KV elements int8 with an fp16 scale per (token, kv head); fixed
                               per sequence; same cache capacity as fp16 in this build */
#define FL_ATT_FLAGS_ALL 0x1u

/* ---- argument structs, generated from the tables ---- */
#define FL_ARG_FIELD(name, kind, off) FL_ARG_T_##kind name;
typedef struct {
    FL_QMATMUL_ARGS(FL_ARG_FIELD)
} fl_qmatmul_args;
typedef struct {
    FL_ATTENTION_ARGS(FL_ARG_FIELD)
} fl_attention_args;
#undef FL_ARG_FIELD

/* A launch: kernel id plus its arguments. */
typedef struct {
    uint32_t kernel; /* enum fl_kernel */
    union {
        fl_qmatmul_args qmm;
        fl_attention_args att;
    } u;
} fl_kernel_call;

/* ---- register images ---- */
static inline void fl_reg_put_u32(uint32_t *regs, uint32_t off, uint32_t v)
{
    regs[off / 4u] = v;
}
static inline void fl_reg_put_addr(uint32_t *regs, uint32_t off, uint64_t v)
{
    regs[off / 4u] = (uint32_t)v;
    regs[off / 4u + 1u] = (uint32_t)(v >> 32);
}
static inline void fl_reg_put_f32(uint32_t *regs, uint32_t off, float v)
{
    uint32_t u;
    memcpy(&u, &v, sizeof u);
    regs[off / 4u] = u;
}
#define FL_REG_PUT_ADDR fl_reg_put_addr
#define FL_REG_PUT_U32 fl_reg_put_u32
#define FL_REG_PUT_F32 fl_reg_put_f32

/* Fill regs (indexed by byte offset / 4, FL_*_REG_END / 4 words) with the argument words of a
 * call, as a driver writes them to s_axi_control before setting ap_start. Returns the number of
 * words the kernel's register file spans, or 0 for an unknown kernel. */
static inline uint32_t fl_kernel_regs(const fl_kernel_call *c, uint32_t *regs)
{
#define FL_ARG_PUT_QMM(name, kind, off) FL_REG_PUT_##kind(regs, off, c->u.qmm.name);
#define FL_ARG_PUT_ATT(name, kind, off) FL_REG_PUT_##kind(regs, off, c->u.att.name);
    switch (c->kernel) {
    case FL_KERNEL_QMATMUL:
        FL_QMATMUL_ARGS(FL_ARG_PUT_QMM)
        return FL_QMATMUL_REG_END / 4u;
    case FL_KERNEL_ATTENTION:
        FL_ATTENTION_ARGS(FL_ARG_PUT_ATT)
        return FL_ATTENTION_REG_END / 4u;
    default:
        return 0;
    }
#undef FL_ARG_PUT_QMM
#undef FL_ARG_PUT_ATT
}

/* The inverse, as the kernel's register file decodes it: the call a register image (as written
 * by fl_kernel_regs) describes. Returns 0, or -1 for an unknown kernel. */
static inline uint64_t fl_reg_get_addr(const uint32_t *regs, uint32_t off)
{
    return (uint64_t)regs[off / 4u] | ((uint64_t)regs[off / 4u + 1u] << 32);
}
static inline uint32_t fl_reg_get_u32(const uint32_t *regs, uint32_t off)
{
    return regs[off / 4u];
}
static inline float fl_reg_get_f32(const uint32_t *regs, uint32_t off)
{
    float f;
    memcpy(&f, &regs[off / 4u], sizeof f);
    return f;
}
#define FL_REG_GET_ADDR fl_reg_get_addr
#define FL_REG_GET_U32 fl_reg_get_u32
#define FL_REG_GET_F32 fl_reg_get_f32

static inline int fl_kernel_from_regs(uint32_t kernel, const uint32_t *regs, fl_kernel_call *c)
{
#define FL_ARG_GET_QMM(name, kind, off) c->u.qmm.name = FL_REG_GET_##kind(regs, off);
#define FL_ARG_GET_ATT(name, kind, off) c->u.att.name = FL_REG_GET_##kind(regs, off);
    memset(c, 0, sizeof *c);
    c->kernel = kernel;
    switch (kernel) {
    case FL_KERNEL_QMATMUL:
        FL_QMATMUL_ARGS(FL_ARG_GET_QMM)
        return 0;
    case FL_KERNEL_ATTENTION:
        FL_ATTENTION_ARGS(FL_ARG_GET_ATT)
        return 0;
    default:
        return -1;
    }
#undef FL_ARG_GET_QMM
#undef FL_ARG_GET_ATT
}

#define FL_KERNEL_REG_WORDS 32u /* enough words for either kernel's register file */
static_assert(FL_QMATMUL_REG_END / 4u <= FL_KERNEL_REG_WORDS, "qmatmul registers");
static_assert(FL_ATTENTION_REG_END / 4u <= FL_KERNEL_REG_WORDS, "attention registers");

static inline const char *fl_kernel_name(uint32_t kernel)
{
    return kernel == FL_KERNEL_QMATMUL     ? "qmatmul"
           : kernel == FL_KERNEL_ATTENTION ? "attention"
                                           : "?";
}

#endif
