/* flare/ggml.h: the spec header for tensor types and quantized block layouts.
 *
 * Byte-identical to ggml (src/ggml-common.h): QK = 32 elements per block, the fp16 scale first.
 * Shared by hls/, hw/ (through the generated parameters), driver/, sim/, ref/ and host/.
 * Type ids are ggml's enum ggml_type values, as stored in GGUF tensor infos. */
#ifndef FLARE_GGML_H
#define FLARE_GGML_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#define FL_QK 32 /* elements per block for Q4_0, Q5_0, Q8_0 */

/* Q4_0: x = (q - 8) * d, q in 0..15. Element j < 16 is the low nibble of qs[j], element j + 16
 * the high nibble of qs[j]. */
typedef struct {
    uint16_t d;             /* fp16 scale */
    uint8_t qs[FL_QK / 2];  /* nibbles */
} block_q4_0;
static_assert(sizeof(block_q4_0) == 18, "block_q4_0 must be 18 bytes");

/* Q5_0: x = (q - 16) * d, q in 0..31. Low 4 bits as Q4_0; bit 4 of element j is bit j of the
 * little-endian uint32 qh. */
typedef struct {
    uint16_t d;             /* fp16 scale */
    uint8_t qh[4];          /* fifth bits, little-endian uint32 */
    uint8_t qs[FL_QK / 2];  /* nibbles */
} block_q5_0;
static_assert(sizeof(block_q5_0) == 22, "block_q5_0 must be 22 bytes");

/* Q8_0: x = q * d, q in -127..127. */
typedef struct {
    uint16_t d;             /* fp16 scale */
    int8_t qs[FL_QK];
} block_q8_0;
static_assert(sizeof(block_q8_0) == 34, "block_q8_0 must be 34 bytes");

/* ggml_type ids (the GGUF tensor-info type field). Ids that ggml retired (4, 5, 31-33, 36-38)
 * are not types. */
enum fl_type {
    FL_TYPE_F32 = 0,
    FL_TYPE_F16 = 1,
    FL_TYPE_Q4_0 = 2,
    FL_TYPE_Q4_1 = 3,
    FL_TYPE_Q5_0 = 6,
    FL_TYPE_Q5_1 = 7,
    FL_TYPE_Q8_0 = 8,
    FL_TYPE_Q8_1 = 9,
    FL_TYPE_Q2_K = 10,
    FL_TYPE_Q3_K = 11,
    FL_TYPE_Q4_K = 12,
    FL_TYPE_Q5_K = 13,
    FL_TYPE_Q6_K = 14,
    FL_TYPE_Q8_K = 15,
    FL_TYPE_IQ2_XXS = 16,
    FL_TYPE_IQ2_XS = 17,
    FL_TYPE_IQ3_XXS = 18,
    FL_TYPE_IQ1_S = 19,
    FL_TYPE_IQ4_NL = 20,
    FL_TYPE_IQ3_S = 21,
    FL_TYPE_IQ2_S = 22,
    FL_TYPE_IQ4_XS = 23,
    FL_TYPE_I8 = 24,
    FL_TYPE_I16 = 25,
    FL_TYPE_I32 = 26,
    FL_TYPE_I64 = 27,
    FL_TYPE_F64 = 28,
    FL_TYPE_IQ1_M = 29,
    FL_TYPE_BF16 = 30,
    FL_TYPE_TQ1_0 = 34,
    FL_TYPE_TQ2_0 = 35,
    FL_TYPE_COUNT = 39,
};

typedef struct {
    const char *name;     /* ggml's name, e.g. "q4_0"; NULL for a retired id */
    uint32_t block_elems; /* elements per block (1 for plain types) */
    uint32_t block_bytes; /* bytes per block */
} fl_type_traits;

/* Traits of a type id, or NULL when `type` is not a ggml type. */
const fl_type_traits *fl_type_get(uint32_t type);

/* Name of a type id ("?" when unknown). */
const char *fl_type_name(uint32_t type);

/* Type id from its name (case-insensitive: "q4_0", "Q8_0", "f16"), or -1. */
int fl_type_from_name(const char *name);

/* Bytes of a row of `n` elements; 0 with an error when n is not a multiple of the block size or
 * the size overflows. */
uint64_t fl_row_bytes(uint32_t type, uint64_t n);

#endif
