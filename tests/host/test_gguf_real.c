/* tests/host/test_gguf_real.c: the reader on files llama.cpp's own tools wrote.
 *
 * Every expected number here comes from an independent reader: Python's `gguf` package from
 * PyPI (gguf.GGUFReader, gguf 0.19.0 with numpy 2.4), run on the same files:
 *   r = gguf.GGUFReader(path); f = r.fields[key]; len(f.data), f.contents(), ...
 *   for t in r.tensors: t.name, t.tensor_type, t.shape, t.data_offset, t.n_bytes,
 *                       zlib.crc32(bytes(t.data))
 * (t.shape lists ne[0] first; t.data_offset is absolute in the file). See docs/gguf.md. */
#include <criterion/criterion.h>
#include <string.h>

#include "flare/error.h"
#include "flare/ggml.h"
#include "host/gguf.h"
#include "test_gguf_builder.h"

#define VOCAB_DIR FLARE_TESTDATA "/vocab/"
#define STORIES FLARE_TESTDATA "/llamacpp/stories15M-Q8_0.gguf"

static gguf_file *must_open(const char *path)
{
    gguf_file *f = NULL;
    int rc = gguf_open(&f, path);
    cr_assert_eq(rc, 0, "%s", flare_last_error());
    return f;
}

static uint64_t must_uint(const gguf_file *f, const char *key)
{
    uint64_t v;
    cr_assert_eq(gguf_get_uint(f, key, &v), 0, "%s", flare_last_error());
    return v;
}

static void assert_str(const gguf_file *f, const char *key, const char *want)
{
    gguf_str s;
    cr_assert_eq(gguf_get_str(f, key, &s), 0, "%s", flare_last_error());
    cr_assert(gguf_str_eq(s, want), "%s = '%.*s', expected '%s'", key, (int)s.len, s.data, want);
}

/* ---- vocabularies -------------------------------------------------------------------------- */

Test(gguf_real, vocab_llama_spm)
{
    gguf_file *f = must_open(VOCAB_DIR "ggml-vocab-llama-spm.gguf");
    cr_assert_eq(gguf_version(f), 3);
    cr_assert_eq(gguf_n_kv(f), 22);
    cr_assert_eq(gguf_n_tensors(f), 0);
    cr_assert_eq(gguf_alignment(f), 32);
    cr_assert_eq(gguf_data_offset(f), 723872); /* GGUFReader.data_offset */
    cr_assert(gguf_str_eq(gguf_kv_at(f, 0)->key, "general.architecture"));
    cr_assert(gguf_str_eq(gguf_kv_at(f, 21)->key, "tokenizer.ggml.add_eos_token"));
    assert_str(f, "tokenizer.ggml.model", "llama");
    assert_str(f, "tokenizer.ggml.pre", "default");
    assert_str(f, "general.architecture", "llama");
    cr_assert_eq(must_uint(f, "tokenizer.ggml.bos_token_id"), 1);
    cr_assert_eq(must_uint(f, "tokenizer.ggml.eos_token_id"), 2);
    cr_assert_eq(must_uint(f, "tokenizer.ggml.unknown_token_id"), 0);
    cr_assert_eq(must_uint(f, "llama.vocab_size"), 32000);
    cr_assert_eq(must_uint(f, "llama.context_length"), 4096);
    bool b;
    cr_assert_eq(gguf_get_bool(f, "tokenizer.ggml.add_bos_token", &b), 0);
    cr_assert(b);
    cr_assert_eq(gguf_get_bool(f, "tokenizer.ggml.add_eos_token", &b), 0);
    cr_assert(!b);
    double eps;
    cr_assert_eq(gguf_get_float(f, "llama.attention.layer_norm_rms_epsilon", &eps), 0);
    cr_assert_eq(eps, 9.999999747378752e-06);

    const gguf_value *tok, *sc, *tt;
    cr_assert_eq(gguf_get_arr(f, "tokenizer.ggml.tokens", GGUF_TYPE_STRING, &tok), 0);
    cr_assert_eq(gguf_get_arr(f, "tokenizer.ggml.scores", GGUF_TYPE_FLOAT32, &sc), 0);
    cr_assert_eq(gguf_get_arr(f, "tokenizer.ggml.token_type", GGUF_TYPE_INT32, &tt), 0);
    cr_assert_eq(tok->arr.n, 32000);
    cr_assert_eq(sc->arr.n, 32000);
    cr_assert_eq(tt->arr.n, 32000);
    static const struct {
        uint64_t id;
        const char *text;
        double score;
        int64_t type;
    } want[] = {
        {0, "<unk>", 0.0, 2},
        {1, "<s>", 0.0, 3},
        {2, "</s>", 0.0, 3},
        {3, "<0x00>", 0.0, 6},
        {259, "\xe2\x96\x81\xe2\x96\x81", -1000000000.0, 1},
        {15043, "\xe2\x96\x81Hello", -14784.0, 1},
        {31999, "\xe7\xbb\x99", -31740.0, 1},
    };
    for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
        gguf_str s = gguf_arr_str(tok, want[k].id);
        cr_assert(gguf_str_eq(s, want[k].text), "token %llu is '%.*s'",
                  (unsigned long long)want[k].id, (int)s.len, s.data);
        cr_assert_eq(gguf_arr_f64(sc, want[k].id), want[k].score);
        cr_assert_eq(gguf_arr_i64(tt, want[k].id), want[k].type);
    }
    cr_assert(gguf_str_eq(gguf_arr_str(tok, 3186), "\xe2\x96\x81world"));
    gguf_close(f);
}

Test(gguf_real, vocab_gpt2)
{
    gguf_file *f = must_open(VOCAB_DIR "ggml-vocab-gpt-2.gguf");
    cr_assert_eq(gguf_version(f), 3);
    cr_assert_eq(gguf_n_kv(f), 16);
    cr_assert_eq(gguf_n_tensors(f), 0);
    cr_assert_eq(gguf_data_offset(f), 1766816);
    assert_str(f, "tokenizer.ggml.model", "gpt2");
    assert_str(f, "tokenizer.ggml.pre", "gpt-2");
    assert_str(f, "general.name", "gpt-2");
    cr_assert_eq(must_uint(f, "tokenizer.ggml.bos_token_id"), 50256);
    cr_assert_eq(must_uint(f, "tokenizer.ggml.eos_token_id"), 50256);
    cr_assert_eq(must_uint(f, "gpt2.context_length"), 1024);
    const gguf_value *tok, *merges, *tt;
    cr_assert_eq(gguf_get_arr(f, "tokenizer.ggml.tokens", GGUF_TYPE_STRING, &tok), 0);
    cr_assert_eq(gguf_get_arr(f, "tokenizer.ggml.merges", GGUF_TYPE_STRING, &merges), 0);
    cr_assert_eq(gguf_get_arr(f, "tokenizer.ggml.token_type", GGUF_TYPE_INT32, &tt), 0);
    cr_assert_eq(tok->arr.n, 50257);
    cr_assert_eq(merges->arr.n, 50000);
    cr_assert_eq(tt->arr.n, 50257);
    cr_assert(gguf_str_eq(gguf_arr_str(tok, 0), "!"));
    cr_assert(gguf_str_eq(gguf_arr_str(tok, 1), "\""));
    cr_assert(gguf_str_eq(gguf_arr_str(tok, 256), "\xc4\xa0t"));
    cr_assert(gguf_str_eq(gguf_arr_str(tok, 50256), "<|endoftext|>"));
    cr_assert(gguf_str_eq(gguf_arr_str(merges, 0), "\xc4\xa0 t"));
    cr_assert(gguf_str_eq(gguf_arr_str(merges, 1), "\xc4\xa0 a"));
    cr_assert(gguf_str_eq(gguf_arr_str(merges, 49999), "\xc4\xa0g azed"));
    cr_assert_eq(gguf_arr_i64(tt, 0), 1);
    cr_assert_eq(gguf_arr_i64(tt, 50256), 3);
    /* the wrong element type is refused with the key named */
    const gguf_value *a;
    cr_assert_eq(gguf_get_arr(f, "tokenizer.ggml.merges", GGUF_TYPE_INT32, &a), FLARE_EINVAL);
    cr_assert(strstr(flare_last_error(), "tokenizer.ggml.merges"));
    cr_assert(strstr(flare_last_error(), "ggml-vocab-gpt-2.gguf"));
    gguf_close(f);
}

/* ---- the stories15M model ------------------------------------------------------------------ */

static const struct {
    const char *name;
    uint32_t type;
    uint32_t n_dims;
    uint64_t ne[2];
    uint64_t file_offset; /* absolute */
    uint64_t n_bytes;
    uint32_t crc;         /* zlib.crc32 of the tensor's bytes */
} stories[] = {
    {"output.weight", FL_TYPE_Q8_0, 2, {288, 32000}, 727200u, 9792000u, 0xc9cf7cd1u},
    {"output_norm.weight", FL_TYPE_F32, 1, {288, 1}, 10519200u, 1152u, 0x15cacce6u},
    {"token_embd.weight", FL_TYPE_Q8_0, 2, {288, 32000}, 10520352u, 9792000u, 0xc9cf7cd1u},
    {"blk.0.attn_k.weight", FL_TYPE_Q8_0, 2, {288, 288}, 20312352u, 88128u, 0xa1de3a30u},
    {"blk.0.attn_norm.weight", FL_TYPE_F32, 1, {288, 1}, 20400480u, 1152u, 0x15cacce6u},
    {"blk.0.attn_output.weight", FL_TYPE_Q8_0, 2, {288, 288}, 20401632u, 88128u, 0xf8d0ec9cu},
    {"blk.0.attn_q.weight", FL_TYPE_Q8_0, 2, {288, 288}, 20489760u, 88128u, 0x8035b68du},
    {"blk.0.attn_v.weight", FL_TYPE_Q8_0, 2, {288, 288}, 20577888u, 88128u, 0xd1fb164eu},
    {"blk.0.ffn_down.weight", FL_TYPE_Q8_0, 2, {768, 288}, 20666016u, 235008u, 0x3a474609u},
    {"blk.0.ffn_gate.weight", FL_TYPE_Q8_0, 2, {288, 768}, 20901024u, 235008u, 0x735874efu},
    {"blk.0.ffn_norm.weight", FL_TYPE_F32, 1, {288, 1}, 21136032u, 1152u, 0x15cacce6u},
    {"blk.0.ffn_up.weight", FL_TYPE_Q8_0, 2, {288, 768}, 21137184u, 235008u, 0x14438bbau},
    {"blk.1.attn_k.weight", FL_TYPE_Q8_0, 2, {288, 288}, 21372192u, 88128u, 0xb1cb42aeu},
    {"blk.1.attn_norm.weight", FL_TYPE_F32, 1, {288, 1}, 21460320u, 1152u, 0x15cacce6u},
    {"blk.1.attn_output.weight", FL_TYPE_Q8_0, 2, {288, 288}, 21461472u, 88128u, 0xd44813ebu},
    {"blk.1.attn_q.weight", FL_TYPE_Q8_0, 2, {288, 288}, 21549600u, 88128u, 0x62c4e030u},
    {"blk.1.attn_v.weight", FL_TYPE_Q8_0, 2, {288, 288}, 21637728u, 88128u, 0xda6dc925u},
    {"blk.1.ffn_down.weight", FL_TYPE_Q8_0, 2, {768, 288}, 21725856u, 235008u, 0xa90d3069u},
    {"blk.1.ffn_gate.weight", FL_TYPE_Q8_0, 2, {288, 768}, 21960864u, 235008u, 0x6cdd36f5u},
    {"blk.1.ffn_norm.weight", FL_TYPE_F32, 1, {288, 1}, 22195872u, 1152u, 0x15cacce6u},
    {"blk.1.ffn_up.weight", FL_TYPE_Q8_0, 2, {288, 768}, 22197024u, 235008u, 0x9206881bu},
    {"blk.2.attn_k.weight", FL_TYPE_Q8_0, 2, {288, 288}, 22432032u, 88128u, 0x2f421527u},
    {"blk.2.attn_norm.weight", FL_TYPE_F32, 1, {288, 1}, 22520160u, 1152u, 0x15cacce6u},
    {"blk.2.attn_output.weight", FL_TYPE_Q8_0, 2, {288, 288}, 22521312u, 88128u, 0xcc785f65u},
    {"blk.2.attn_q.weight", FL_TYPE_Q8_0, 2, {288, 288}, 22609440u, 88128u, 0x41e69979u},
    {"blk.2.attn_v.weight", FL_TYPE_Q8_0, 2, {288, 288}, 22697568u, 88128u, 0xc4262df8u},
    {"blk.2.ffn_down.weight", FL_TYPE_Q8_0, 2, {768, 288}, 22785696u, 235008u, 0x640b46a2u},
    {"blk.2.ffn_gate.weight", FL_TYPE_Q8_0, 2, {288, 768}, 23020704u, 235008u, 0xe179b20fu},
    {"blk.2.ffn_norm.weight", FL_TYPE_F32, 1, {288, 1}, 23255712u, 1152u, 0x15cacce6u},
    {"blk.2.ffn_up.weight", FL_TYPE_Q8_0, 2, {288, 768}, 23256864u, 235008u, 0x208f69f9u},
    {"blk.3.attn_k.weight", FL_TYPE_Q8_0, 2, {288, 288}, 23491872u, 88128u, 0xb288746du},
    {"blk.3.attn_norm.weight", FL_TYPE_F32, 1, {288, 1}, 23580000u, 1152u, 0x15cacce6u},
    {"blk.3.attn_output.weight", FL_TYPE_Q8_0, 2, {288, 288}, 23581152u, 88128u, 0xe48db344u},
    {"blk.3.attn_q.weight", FL_TYPE_Q8_0, 2, {288, 288}, 23669280u, 88128u, 0x17ceab38u},
    {"blk.3.attn_v.weight", FL_TYPE_Q8_0, 2, {288, 288}, 23757408u, 88128u, 0xec7a4ff3u},
    {"blk.3.ffn_down.weight", FL_TYPE_Q8_0, 2, {768, 288}, 23845536u, 235008u, 0x0a18d6cau},
    {"blk.3.ffn_gate.weight", FL_TYPE_Q8_0, 2, {288, 768}, 24080544u, 235008u, 0x4991eab3u},
    {"blk.3.ffn_norm.weight", FL_TYPE_F32, 1, {288, 1}, 24315552u, 1152u, 0x15cacce6u},
    {"blk.3.ffn_up.weight", FL_TYPE_Q8_0, 2, {288, 768}, 24316704u, 235008u, 0x7d18f6d3u},
    {"blk.4.attn_k.weight", FL_TYPE_Q8_0, 2, {288, 288}, 24551712u, 88128u, 0xcd9bc0d0u},
    {"blk.4.attn_norm.weight", FL_TYPE_F32, 1, {288, 1}, 24639840u, 1152u, 0x15cacce6u},
    {"blk.4.attn_output.weight", FL_TYPE_Q8_0, 2, {288, 288}, 24640992u, 88128u, 0xf2c4b2e3u},
    {"blk.4.attn_q.weight", FL_TYPE_Q8_0, 2, {288, 288}, 24729120u, 88128u, 0xca0e7088u},
    {"blk.4.attn_v.weight", FL_TYPE_Q8_0, 2, {288, 288}, 24817248u, 88128u, 0xf697d19au},
    {"blk.4.ffn_down.weight", FL_TYPE_Q8_0, 2, {768, 288}, 24905376u, 235008u, 0xa7d1ed8eu},
    {"blk.4.ffn_gate.weight", FL_TYPE_Q8_0, 2, {288, 768}, 25140384u, 235008u, 0x9935ba4du},
    {"blk.4.ffn_norm.weight", FL_TYPE_F32, 1, {288, 1}, 25375392u, 1152u, 0x15cacce6u},
    {"blk.4.ffn_up.weight", FL_TYPE_Q8_0, 2, {288, 768}, 25376544u, 235008u, 0xf257b318u},
    {"blk.5.attn_k.weight", FL_TYPE_Q8_0, 2, {288, 288}, 25611552u, 88128u, 0x3be6220du},
    {"blk.5.attn_norm.weight", FL_TYPE_F32, 1, {288, 1}, 25699680u, 1152u, 0x15cacce6u},
    {"blk.5.attn_output.weight", FL_TYPE_Q8_0, 2, {288, 288}, 25700832u, 88128u, 0xe462d4c9u},
    {"blk.5.attn_q.weight", FL_TYPE_Q8_0, 2, {288, 288}, 25788960u, 88128u, 0x20d15adau},
    {"blk.5.attn_v.weight", FL_TYPE_Q8_0, 2, {288, 288}, 25877088u, 88128u, 0x30d118c4u},
    {"blk.5.ffn_down.weight", FL_TYPE_Q8_0, 2, {768, 288}, 25965216u, 235008u, 0x740bc8b0u},
    {"blk.5.ffn_gate.weight", FL_TYPE_Q8_0, 2, {288, 768}, 26200224u, 235008u, 0xcde81234u},
    {"blk.5.ffn_norm.weight", FL_TYPE_F32, 1, {288, 1}, 26435232u, 1152u, 0x15cacce6u},
    {"blk.5.ffn_up.weight", FL_TYPE_Q8_0, 2, {288, 768}, 26436384u, 235008u, 0x1b43b018u},
};

Test(gguf_real, stories15M_q8_0)
{
    gguf_file *f = must_open(STORIES);
    cr_assert_eq(gguf_version(f), 3);
    cr_assert_eq(gguf_n_kv(f), 21);
    cr_assert_eq(gguf_n_tensors(f), 57);
    cr_assert_eq(sizeof stories / sizeof stories[0], 57);
    cr_assert_eq(gguf_alignment(f), 32);
    cr_assert_eq(gguf_data_offset(f), 727200);
    cr_assert_eq(gguf_file_size(f), 26671392);
    cr_assert_eq(must_uint(f, "llama.embedding_length"), 288);
    cr_assert_eq(must_uint(f, "llama.block_count"), 6);
    cr_assert_eq(must_uint(f, "llama.feed_forward_length"), 768);
    cr_assert_eq(must_uint(f, "tokenizer.ggml.padding_token_id"), 4294967295u);
    cr_assert_eq(must_uint(f, "general.file_type"), 7);
    assert_str(f, "general.architecture", "llama");
    const gguf_value *tok;
    cr_assert_eq(gguf_get_arr(f, "tokenizer.ggml.tokens", GGUF_TYPE_STRING, &tok), 0);
    cr_assert_eq(tok->arr.n, 32000);

    for (uint64_t i = 0; i < 57; i++) {
        const gguf_tensor *t = gguf_tensor_at(f, i);
        cr_assert(gguf_str_eq(t->name, stories[i].name), "tensor #%llu is '%.*s'",
                  (unsigned long long)i, (int)t->name.len, t->name.data);
        cr_assert_eq(gguf_find_tensor(f, stories[i].name), t);
        cr_assert_eq(t->type, stories[i].type, "%s type", stories[i].name);
        cr_assert_eq(t->n_dims, stories[i].n_dims, "%s n_dims", stories[i].name);
        cr_assert_eq(t->ne[0], stories[i].ne[0], "%s ne[0]", stories[i].name);
        cr_assert_eq(t->ne[1], stories[i].ne[1], "%s ne[1]", stories[i].name);
        cr_assert_eq(t->ne[2], 1);
        cr_assert_eq(t->ne[3], 1);
        cr_assert_eq(t->n_elements, stories[i].ne[0] * stories[i].ne[1]);
        cr_assert_eq(t->n_bytes, stories[i].n_bytes, "%s bytes", stories[i].name);
        cr_assert_eq(gguf_data_offset(f) + t->offset, stories[i].file_offset, "%s offset",
                     stories[i].name);
        cr_assert_eq(t->offset % 32, 0);
        cr_assert_eq(tb_crc32(t->data, t->n_bytes), stories[i].crc, "%s data crc",
                     stories[i].name);
    }
    /* the F32 norm weights are 1.0 (README) */
    const gguf_tensor *n = gguf_find_tensor(f, "output_norm.weight");
    cr_assert_not_null(n);
    float x;
    for (int k = 0; k < 288; k++) {
        memcpy(&x, (const uint8_t *)n->data + 4 * k, 4);
        cr_assert_eq(x, 1.0f);
    }
    gguf_close(f);
}

/* The same bytes opened from memory give the same result. */
Test(gguf_real, open_buffer_matches_open)
{
    FILE *fp = fopen(VOCAB_DIR "ggml-vocab-llama-spm.gguf", "rb");
    cr_assert_not_null(fp);
    static uint8_t buf[723869];
    cr_assert_eq(fread(buf, 1, sizeof buf, fp), sizeof buf);
    fclose(fp);
    gguf_file *f;
    cr_assert_eq(gguf_open_buffer(&f, buf, sizeof buf, "spm-in-memory"), 0, "%s",
                 flare_last_error());
    cr_assert_eq(gguf_n_kv(f), 22);
    cr_assert(strcmp(gguf_path(f), "spm-in-memory") == 0);
    /* one byte short: the last key's value is cut */
    gguf_close(f);
    cr_assert_neq(gguf_open_buffer(&f, buf, sizeof buf - 1, "spm-short"), 0);
    cr_assert_null(f);
    cr_assert(strstr(flare_last_error(), "spm-short") && strstr(flare_last_error(), "truncated"),
              "%s", flare_last_error());
    cr_assert(strstr(flare_last_error(), "tokenizer.ggml.add_eos_token"), "%s",
              flare_last_error());
}

Test(gguf_real, missing_file_is_named)
{
    gguf_file *f;
    cr_assert_eq(gguf_open(&f, FLARE_TESTDATA "/vocab/no-such.gguf"), FLARE_EIO);
    cr_assert(strstr(flare_last_error(), "no-such.gguf"));
    cr_assert_eq(gguf_open(&f, FLARE_TESTDATA "/vocab"), FLARE_EINVAL);
    cr_assert(strstr(flare_last_error(), "not a regular file"));
}
