/* tests/common/test_fp16.c: exhaustive fp16 <-> fp32 conversion against an independent model.
 *
 * The reference decodes fp16 with ldexp (value = man * 2^(exp-25) etc.) and encodes by searching
 * the nearest representable fp16 in double precision with ties to even, so it shares no code
 * with flare/fp16.h. */
#include <criterion/criterion.h>
#include <math.h>

#include "flare/fp16.h"

static double ref_decode(uint16_t h)
{
    int sign = h >> 15, exp = (h >> 10) & 31, man = h & 1023;
    double v;
    if (exp == 31)
        v = man ? NAN : INFINITY;
    else if (exp == 0)
        v = ldexp(man, -24);
    else
        v = ldexp(1024 + man, exp - 25);
    return sign ? -v : v;
}

Test(fp16, decode_all_65536)
{
    for (uint32_t h = 0; h < 65536; h++) {
        float f = fl_fp16_to_fp32((uint16_t)h);
        double r = ref_decode((uint16_t)h);
        if (isnan(r)) {
            cr_assert(isnan(f), "h=%04x should decode to NaN", h);
            /* payload kept: top 10 mantissa bits */
            cr_assert_eq((fl_f32_bits(f) >> 13) & 1023, h & 1023, "h=%04x NaN payload", h);
        } else {
            cr_assert_eq((double)f, r, "h=%04x decoded %a, expected %a", h, (double)f, r);
            cr_assert_eq(signbit(f) != 0, (h >> 15) != 0, "h=%04x sign", h);
        }
    }
}

Test(fp16, round_trip_all_65536)
{
    for (uint32_t h = 0; h < 65536; h++) {
        uint16_t back = fl_fp32_to_fp16(fl_fp16_to_fp32((uint16_t)h));
        if (((h >> 10) & 31) == 31 && (h & 1023)) /* NaN comes back quiet */
            cr_assert_eq(back, h | 0x200, "NaN %04x -> %04x", h, back);
        else
            cr_assert_eq(back, h, "%04x -> %04x", h, back);
    }
}

/* Encode by brute force: the nearest finite fp16 (ties to the even mantissa), inf past 65520. */
static uint16_t ref_encode(float f)
{
    double x = fabs((double)f);
    uint16_t sign = signbit(f) ? 0x8000 : 0;
    if (x >= 65520.0)
        return sign | 0x7c00;
    /* binary search over the monotone positive finite fp16 codes 0..0x7bff */
    uint16_t lo = 0, hi = 0x7bff;
    while (hi - lo > 1) {
        uint16_t mid = (uint16_t)((lo + hi) / 2);
        if (ref_decode(mid) <= x)
            lo = mid;
        else
            hi = mid;
    }
    double dl = x - ref_decode(lo), dh = ref_decode(hi) - x;
    uint16_t r = (dl < dh) ? lo : (dh < dl) ? hi : ((lo & 1) ? hi : lo);
    if (x < ref_decode(lo)) /* x below code 0 cannot happen: code 0 is zero */
        r = lo;
    return sign | r;
}

Test(fp16, encode_against_nearest)
{
    /* every fp32 whose top 19 bits vary (covers every fp16 interval, midpoints and both sides),
     * plus a stride through the rest */
    for (uint64_t i = 0; i < (1ull << 32); i += 8191) {
        uint32_t u = (uint32_t)i;
        float f = fl_bits_f32(u);
        if (isnan(f))
            continue;
        cr_assert_eq(fl_fp32_to_fp16(f), ref_encode(f), "f=%a (%08x)", (double)f, u);
    }
    for (uint32_t h = 0; h < 0x7c00; h++) { /* exact midpoints and neighbours */
        double a = ref_decode((uint16_t)h), b = ref_decode((uint16_t)(h + 1));
        float mid = (float)((a + b) / 2);
        float cand[3] = {mid, nextafterf(mid, 0), nextafterf(mid, INFINITY)};
        for (int k = 0; k < 3; k++) {
            cr_assert_eq(fl_fp32_to_fp16(cand[k]), ref_encode(cand[k]), "f=%a", (double)cand[k]);
            cr_assert_eq(fl_fp32_to_fp16(-cand[k]), ref_encode(-cand[k]), "f=%a", -(double)cand[k]);
        }
    }
}

Test(fp16, specials)
{
    cr_assert_eq(fl_fp32_to_fp16(INFINITY), 0x7c00);
    cr_assert_eq(fl_fp32_to_fp16(-INFINITY), 0xfc00);
    cr_assert_eq(fl_fp32_to_fp16(-0.0f), 0x8000);
    cr_assert_eq(fl_fp32_to_fp16(65504.0f), 0x7bff);
    cr_assert_eq(fl_fp32_to_fp16(65519.996f), 0x7bff);
    cr_assert_eq(fl_fp32_to_fp16(65520.0f), 0x7c00);
    cr_assert_eq(fl_fp32_to_fp16(0x1p-24f), 0x0001);
    cr_assert_eq(fl_fp32_to_fp16(0x1p-25f), 0x0000); /* tie to even */
    cr_assert_eq(fl_fp32_to_fp16(0x1.8p-24f), 0x0002); /* tie 1.5 ulp -> 2 */
    cr_assert_eq(fl_fp32_to_fp16(NAN) & 0x7e00, 0x7e00);
}
