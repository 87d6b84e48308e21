/* tests/host/test_gguf_builder.h: a byte-level GGUF encoder for the gguf tests.
 *
 * Written from the format description (host/gguf.h's header comment, llama.cpp's gguf docs),
 * sharing no code with host/gguf.c or host/gguf_write.c, so that files built here test the
 * reader independently and byte layouts of the writer can be compared with it. Functions are
 * static inline: each test file that includes this gets its own copy. */
#ifndef FLARE_TEST_GGUF_BUILDER_H
#define FLARE_TEST_GGUF_BUILDER_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    uint8_t *p;
    size_t n, cap;
} tb_buf;

static inline void tb_bytes(tb_buf *b, const void *src, size_t n)
{
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n)
            cap *= 2;
        b->p = realloc(b->p, cap);
        if (!b->p)
            abort();
        b->cap = cap;
    }
    if (n)
        memcpy(b->p + b->n, src, n);
    b->n += n;
}

static inline void tb_le(tb_buf *b, uint64_t v, int n)
{
    uint8_t x[8];
    for (int i = 0; i < n; i++)
        x[i] = (uint8_t)(v >> (8 * i));
    tb_bytes(b, x, (size_t)n);
}

static inline void tb_u8(tb_buf *b, uint8_t v) { tb_le(b, v, 1); }
static inline void tb_u32(tb_buf *b, uint32_t v) { tb_le(b, v, 4); }
static inline void tb_u64(tb_buf *b, uint64_t v) { tb_le(b, v, 8); }

static inline void tb_str(tb_buf *b, const char *s)
{
    size_t n = strlen(s);
    tb_u64(b, n);
    tb_bytes(b, s, n);
}

static inline void tb_pad(tb_buf *b, size_t alignment)
{
    while (b->n % alignment)
        tb_u8(b, 0);
}

/* Store little-endian values at a byte offset of an existing buffer (for corrupting fields). */
static inline void tb_put(uint8_t *p, size_t at, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[at + (size_t)i] = (uint8_t)(v >> (8 * i));
}

static inline uint64_t tb_get(const uint8_t *p, size_t at, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = v << 8 | p[at + (size_t)i];
    return v;
}

/* CRC-32 (IEEE 802.3, as zlib.crc32), bitwise: the reference checksum for tensor bytes. */
static inline uint32_t tb_crc32(const void *data, size_t n)
{
    const uint8_t *p = data;
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1)));
    }
    return ~c;
}

#endif
