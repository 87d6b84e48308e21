/* common/ggml_types.c: the table of ggml tensor types (block sizes as in ggml.c's type_traits). */
#include "flare/ggml.h"
#include "flare/error.h"

#include <strings.h>

static const fl_type_traits traits[FL_TYPE_COUNT] = {
    [FL_TYPE_F32] = {"f32", 1, 4},
    [FL_TYPE_F16] = {"f16", 1, 2},
    [FL_TYPE_Q4_0] = {"q4_0", 32, 18},
    [FL_TYPE_Q4_1] = {"q4_1", 32, 20},
    [FL_TYPE_Q5_0] = {"q5_0", 32, 22},
    [FL_TYPE_Q5_1] = {"q5_1", 32, 24},
    [FL_TYPE_Q8_0] = {"q8_0", 32, 34},
    [FL_TYPE_Q8_1] = {"q8_1", 32, 36},
    [FL_TYPE_Q2_K] = {"q2_K", 256, 84},
    [FL_TYPE_Q3_K] = {"q3_K", 256, 110},
    [FL_TYPE_Q4_K] = {"q4_K", 256, 144},
    [FL_TYPE_Q5_K] = {"q5_K", 256, 176},
    [FL_TYPE_Q6_K] = {"q6_K", 256, 210},
    [FL_TYPE_Q8_K] = {"q8_K", 256, 292},
    [FL_TYPE_IQ2_XXS] = {"iq2_xxs", 256, 66},
    [FL_TYPE_IQ2_XS] = {"iq2_xs", 256, 74},
    [FL_TYPE_IQ3_XXS] = {"iq3_xxs", 256, 98},
    [FL_TYPE_IQ1_S] = {"iq1_s", 256, 50},
    [FL_TYPE_IQ4_NL] = {"iq4_nl", 32, 18},
    [FL_TYPE_IQ3_S] = {"iq3_s", 256, 110},
    [FL_TYPE_IQ2_S] = {"iq2_s", 256, 82},
    [FL_TYPE_IQ4_XS] = {"iq4_xs", 256, 136},
    [FL_TYPE_I8] = {"i8", 1, 1},
    [FL_TYPE_I16] = {"i16", 1, 2},
    [FL_TYPE_I32] = {"i32", 1, 4},
    [FL_TYPE_I64] = {"i64", 1, 8},
    [FL_TYPE_F64] = {"f64", 1, 8},
    [FL_TYPE_IQ1_M] = {"iq1_m", 256, 56},
    [FL_TYPE_BF16] = {"bf16", 1, 2},
    [FL_TYPE_TQ1_0] = {"tq1_0", 256, 54},
    [FL_TYPE_TQ2_0] = {"tq2_0", 256, 66},
};

const fl_type_traits *fl_type_get(uint32_t type)
{
    if (type >= FL_TYPE_COUNT || traits[type].name == NULL)
        return NULL;
    return &traits[type];
}

const char *fl_type_name(uint32_t type)
{
    const fl_type_traits *t = fl_type_get(type);
    return t ? t->name : "?";
}

int fl_type_from_name(const char *name)
{
    for (uint32_t i = 0; i < FL_TYPE_COUNT; i++)
        if (traits[i].name && strcasecmp(traits[i].name, name) == 0)
            return (int)i;
    return -1;
}

uint64_t fl_row_bytes(uint32_t type, uint64_t n)
{
    const fl_type_traits *t = fl_type_get(type);
    if (!t) {
        flare_error(FLARE_EINVAL, "unknown tensor type id %u", type);
        return 0;
    }
    if (n % t->block_elems) {
        flare_error(FLARE_EINVAL, "row of %llu elements is not a multiple of the %s block size %u",
                    (unsigned long long)n, t->name, t->block_elems);
        return 0;
    }
    uint64_t blocks = n / t->block_elems;
    if (blocks > UINT64_MAX / t->block_bytes) {
        flare_error(FLARE_ERANGE, "row of %llu %s elements overflows 64 bits", (unsigned long long)n,
                    t->name);
        return 0;
    }
    return blocks * t->block_bytes;
}
