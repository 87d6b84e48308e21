/* flare/fp16.h: exact IEEE 754 binary16 <-> binary32 conversion.
 *
 * fp16 values travel as uint16_t bit patterns everywhere (GGUF blocks, KV cache, HLS ports).
 * fp32 -> fp16 rounds to nearest, ties to even, with subnormals, overflow to inf, and NaN kept
 * quiet with its top payload bits: the same results as x86 F16C (_cvtss_sh(x, 0)), which is
 * what ggml uses on these machines. Pure integer code, so it synthesizes in HLS unchanged. */
#ifndef FLARE_FP16_H
#define FLARE_FP16_H

#include <stdint.h>
#include <string.h>

static inline uint32_t fl_f32_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static inline float fl_bits_f32(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static inline float fl_fp16_to_fp32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t man = h & 0x3ffu;
    uint32_t bits;
    if (exp == 0x1f) {
        bits = sign | 0x7f800000u | (man << 13); /* inf, NaN (payload kept) */
    } else if (exp == 0) {
        if (man == 0) {
            bits = sign; /* +-0 */
        } else { /* subnormal: man * 2^-24, normalise */
            uint32_t e = 113;
            while (!(man & 0x400u)) {
                man <<= 1;
                e--;
            }
            bits = sign | (e << 23) | ((man & 0x3ffu) << 13);
        }
    } else {
        bits = sign | ((exp + 112u) << 23) | (man << 13);
    }
    return fl_bits_f32(bits);
}

static inline uint16_t fl_fp32_to_fp16(float f)
{
    uint32_t x = fl_f32_bits(f);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
    uint32_t ax = x & 0x7fffffffu;
    if (ax > 0x7f800000u) /* NaN: quiet, top payload bits */
        return (uint16_t)(sign | 0x7e00u | ((ax >> 13) & 0x3ffu));
    if (ax >= 0x477ff000u) /* >= 65520 (incl. inf) rounds to inf */
        return (uint16_t)(sign | 0x7c00u);
    if (ax < 0x38800000u) { /* below 2^-14: fp16 subnormal or zero */
        if (ax < 0x33000000u) /* below 2^-25 (a tie at 2^-25 goes to even 0) */
            return sign;
        uint32_t e = ax >> 23;
        uint32_t m = (ax & 0x7fffffu) | 0x800000u;
        uint32_t shift = 126u - e; /* 14..24 */
        uint32_t q = m >> shift;
        uint32_t rem = m & ((1u << shift) - 1u);
        uint32_t half = 1u << (shift - 1u);
        if (rem > half || (rem == half && (q & 1u)))
            q++;
        return (uint16_t)(sign | q);
    }
    uint32_t r = ax + 0xfffu + ((ax >> 13) & 1u); /* round to nearest even at bit 13 */
    return (uint16_t)(sign | ((r - 0x38000000u) >> 13));
}

#endif
