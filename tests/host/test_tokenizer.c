/* tests/host/test_tokenizer.c: the tokenizers against llama.cpp's own test vectors
 * (../shared/testdata/vocab: the .inp strings, the .out ids llama.cpp produced), round trips
 * through detokenize, hand-worked merge orders on tiny vocabularies built without files, the
 * GPT-2 pre-tokenizer on hand-split strings, invalid UTF-8, the streaming decoder, and the
 * `flare tokenize` command (run as a process). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "flare/error.h"
#include "host/gguf.h"
#include "host/tokenizer.h"
#include "host/tokenizer_internal.h"

#define VOCAB_DIR FLARE_TESTDATA "/vocab/"
#define SPM_GGUF VOCAB_DIR "ggml-vocab-llama-spm.gguf"
#define GPT2_GGUF VOCAB_DIR "ggml-vocab-gpt-2.gguf"

// ---- helpers ------------------------------------------------------------------------------------

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    cr_assert(f, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    cr_assert(buf);
    cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = 0;
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static fl_tokenizer *load(const char *path)
{
    gguf_file *f = NULL;
    cr_assert_eq(gguf_open(&f, path), 0, "%s", flare_last_error());
    fl_tokenizer *t = NULL;
    cr_assert_eq(fl_tokenizer_from_gguf(&t, f), 0, "%s", flare_last_error());
    gguf_close(f);
    return t;
}

typedef struct {
    const char *s; // into the .inp buffer
    size_t len;
    int32_t ids[512];
    size_t n_ids;
} vector;

/* Strings of the .inp file (each followed by "\n__ggml_vocab_test__\n") and the id lines of
 * the .out file. Returns the count. */
static size_t load_vectors(const char *gguf, vector **out, char **inp_buf)
{
    char path[512];
    size_t n_inp, n_out;
    snprintf(path, sizeof path, "%s.inp", gguf);
    char *inp = slurp(path, &n_inp);
    snprintf(path, sizeof path, "%s.out", gguf);
    char *outs = slurp(path, &n_out);
    static const char sep[] = "\n__ggml_vocab_test__\n";
    vector *v = calloc(256, sizeof *v);
    size_t n = 0;
    for (size_t pos = 0; pos < n_inp;) {
        char *m = memmem(inp + pos, n_inp - pos, sep, sizeof sep - 1);
        cr_assert(m, "unterminated string in .inp at byte %zu", pos);
        cr_assert_lt(n, 256);
        v[n].s = inp + pos;
        v[n].len = (size_t)(m - (inp + pos));
        n++;
        pos = (size_t)(m - inp) + sizeof sep - 1;
    }
    char *line = outs;
    for (size_t i = 0; i < n; i++) {
        char *nl = strchr(line, '\n');
        cr_assert(nl, ".out has fewer lines than .inp has strings (%zu)", n);
        *nl = 0;
        for (char *p = line, *end; *p; p = end) {
            long id = strtol(p, &end, 10);
            if (end == p)
                break;
            cr_assert_lt(v[i].n_ids, 512);
            v[i].ids[v[i].n_ids++] = (int32_t)id;
        }
        line = nl + 1;
    }
    free(outs);
    *out = v;
    *inp_buf = inp;
    return n;
}

static void check_vectors(const char *gguf)
{
    fl_tokenizer *t = load(gguf);
    vector *v;
    char *inp;
    size_t n = load_vectors(gguf, &v, &inp);
    cr_assert_gt(n, 30);
    for (size_t i = 0; i < n; i++) {
        int32_t *ids;
        size_t n_ids;
        cr_assert_eq(fl_tokenize(t, v[i].s, v[i].len, 0, &ids, &n_ids), 0, "%s",
                     flare_last_error());
        cr_expect_eq(n_ids, v[i].n_ids, "string %zu '%.*s': %zu ids, llama.cpp has %zu", i,
                     (int)v[i].len, v[i].s, n_ids, v[i].n_ids);
        for (size_t k = 0; k < n_ids && k < v[i].n_ids; k++)
            cr_expect_eq(ids[k], v[i].ids[k], "string %zu '%.*s': id %zu is %d, llama.cpp %d", i,
                         (int)v[i].len, v[i].s, k, ids[k], v[i].ids[k]);
        free(ids);
    }
    free(v);
    free(inp);
    fl_tokenizer_free(t);
}

static void tokenize_ok(const fl_tokenizer *t, const char *s, size_t len, unsigned flags,
                        int32_t **ids, size_t *n)
{
    cr_assert_eq(fl_tokenize(t, s, len, flags, ids, n), 0, "%s", flare_last_error());
}

static char *detok(const fl_tokenizer *t, const int32_t *ids, size_t n, unsigned flags,
                   size_t *len)
{
    char *s;
    cr_assert_eq(fl_detokenize(t, ids, n, flags, &s, len), 0, "%s", flare_last_error());
    return s;
}

// ---- llama.cpp's vectors ------------------------------------------------------------------------

Test(tokenizer, spm_matches_llamacpp_vectors) { check_vectors(SPM_GGUF); }

Test(tokenizer, gpt2_matches_llamacpp_vectors) { check_vectors(GPT2_GGUF); }

Test(tokenizer, spm_special_ids_and_bos)
{
    fl_tokenizer *t = load(SPM_GGUF);
    cr_expect_eq(fl_tok_n_tokens(t), 32000);
    cr_expect_eq(fl_tok_bos(t), 1);
    cr_expect_eq(fl_tok_eos(t), 2);
    cr_expect_eq(fl_tok_unk(t), 0);
    cr_expect(fl_tok_is_eog(t, 2));
    cr_expect(!fl_tok_is_eog(t, 1));
    int32_t *ids;
    size_t n;
    // the README's example, with BOS; llama.cpp's greedy.txt prompt ids
    tokenize_ok(t, "Hello world", 11, FL_TOKENIZE_ADD_SPECIAL, &ids, &n);
    cr_assert_eq(n, 3);
    cr_expect(ids[0] == 1 && ids[1] == 15043 && ids[2] == 3186);
    free(ids);
    tokenize_ok(t, "Once upon a time", 16, FL_TOKENIZE_ADD_SPECIAL, &ids, &n);
    cr_assert_eq(n, 5);
    cr_expect(ids[0] == 1 && ids[1] == 9038 && ids[2] == 2501 && ids[3] == 263 && ids[4] == 931);
    free(ids);
    // "<s>" in the text: bytes unless parse_special, then the control token (space prefix after it)
    tokenize_ok(t, "<s>Hi", 5, FL_TOKENIZE_PARSE_SPECIAL, &ids, &n);
    int32_t hi;
    {
        int32_t *h;
        size_t nh;
        tokenize_ok(t, "Hi", 2, 0, &h, &nh);
        cr_assert_eq(nh, 1);
        hi = h[0];
        free(h);
    }
    cr_assert_eq(n, 2);
    cr_expect(ids[0] == 1 && ids[1] == hi);
    free(ids);
    tokenize_ok(t, "<s>Hi", 5, 0, &ids, &n);
    cr_expect_gt(n, 2);
    cr_expect_neq(ids[0], 1);
    free(ids);
    fl_tokenizer_free(t);
}

// ---- detokenize ---------------------------------------------------------------------------------

/* Every llama.cpp test string comes back byte for byte through SPM (the first piece's leading
 * space is the prefix space), and through GPT-2's pieces. */
Test(tokenizer, roundtrip_llamacpp_strings)
{
    const char *files[2] = {SPM_GGUF, GPT2_GGUF};
    for (int fi = 0; fi < 2; fi++) {
        fl_tokenizer *t = load(files[fi]);
        vector *v;
        char *inp;
        size_t n = load_vectors(files[fi], &v, &inp);
        for (size_t i = 0; i < n; i++) {
            int32_t *ids;
            size_t n_ids, len;
            tokenize_ok(t, v[i].s, v[i].len, 0, &ids, &n_ids);
            // concatenated pieces
            char *cat = malloc(4 * v[i].len + 8);
            size_t pos = 0;
            for (size_t k = 0; k < n_ids; k++) {
                size_t pl;
                const char *p = fl_token_piece(t, ids[k], true, &pl);
                memcpy(cat + pos, p, pl);
                pos += pl;
            }
            size_t skip = fi == 0 && pos > 0 ? 1 : 0; // SPM: the prefix space
            cr_expect(pos - skip == v[i].len && memcmp(cat + skip, v[i].s, v[i].len) == 0,
                      "%s string %zu: pieces give '%.*s'", files[fi], i, (int)pos, cat);
            free(cat);
            // whole detokenize: exact unless GPT-2's clean-up has something to clean
            char *s = detok(t, ids, n_ids, 0, &len);
            bool cleanable = false;
            static const char *const dirty[] = {" ?", " !", " .", " ,", " '"};
            for (int k = 0; k < 5 && fi == 1; k++)
                cleanable |= memmem(v[i].s, v[i].len, dirty[k], 2) != NULL;
            if (!cleanable)
                cr_expect(len == v[i].len && memcmp(s, v[i].s, len) == 0,
                          "%s string %zu: detokenize gives '%s'", files[fi], i, s);
            free(s);
            free(ids);
        }
        free(v);
        free(inp);
        fl_tokenizer_free(t);
    }
}

Test(tokenizer, detokenize_bos_and_clean_spaces)
{
    fl_tokenizer *spm = load(SPM_GGUF);
    int32_t a[] = {1, 15043, 3186, 2}; // <s> ▁Hello ▁world </s>
    size_t len;
    char *s = detok(spm, a + 1, 2, 0, &len); // no BOS: the first piece's space goes
    cr_expect_str_eq(s, "Hello world");
    free(s);
    s = detok(spm, a, 4, FL_DETOK_SPECIAL, &len); // llama.cpp common_detokenize(special=true)
    cr_expect_str_eq(s, "<s> Hello world</s>");
    free(s);
    s = detok(spm, a, 4, 0, &len); // special=false: control tokens render empty
    cr_expect_str_eq(s, " Hello world");
    free(s);
    s = detok(spm, a, 3, FL_DETOK_REMOVE_SPECIAL, &len); // BOS removed: space kept (llama.cpp)
    cr_expect_str_eq(s, " Hello world");
    free(s);
    int32_t bad[] = {15043, 32000};
    char *x;
    cr_expect_eq(fl_detokenize(spm, bad, 2, 0, &x, &len), FLARE_ERANGE);
    cr_expect(strstr(flare_last_error(), "32000"), "%s", flare_last_error());
    fl_tokenizer_free(spm);

    // GPT-2 cleans " ," " ." " !" " ?" and " 's" " 're" (HF clean_up_tokenization)
    fl_tokenizer *g = load(GPT2_GGUF);
    const char *in = "Hello , world ! It 's ok .";
    int32_t *ids;
    size_t n;
    tokenize_ok(g, in, strlen(in), 0, &ids, &n);
    s = detok(g, ids, n, 0, &len);
    cr_expect_str_eq(s, "Hello, world! It's ok.");
    free(s);
    free(ids);
    fl_tokenizer_free(g);
}

// ---- tiny vocabularies without files -----------------------------------------------------------

#define SP "\xe2\x96\x81"

/* <unk> <s> </s> <0x00>..<0xFF> then the given pieces with scores. */
static fl_tokenizer *tiny_spm(const char **pieces, const float *sc, int n)
{
    static char bytes[256][8];
    const char *tok[300];
    float scores[300];
    int32_t types[300];
    int k = 0;
    tok[k] = "<unk>", types[k] = FL_TOKTYPE_UNKNOWN, scores[k++] = 0;
    tok[k] = "<s>", types[k] = FL_TOKTYPE_CONTROL, scores[k++] = 0;
    tok[k] = "</s>", types[k] = FL_TOKTYPE_CONTROL, scores[k++] = 0;
    for (int b = 0; b < 256; b++) {
        snprintf(bytes[b], sizeof bytes[b], "<0x%02X>", b);
        tok[k] = bytes[b], types[k] = FL_TOKTYPE_BYTE, scores[k++] = 0;
    }
    for (int i = 0; i < n; i++)
        tok[k] = pieces[i], types[k] = FL_TOKTYPE_NORMAL, scores[k++] = sc[i];
    fl_vocab_desc d;
    fl_vocab_desc_defaults(&d, FL_TOK_SPM);
    d.n_tokens = (uint32_t)k;
    d.tokens = tok;
    d.scores = scores;
    d.types = types;
    fl_tokenizer *t;
    cr_assert_eq(fl_tokenizer_new(&t, &d), 0, "%s", flare_last_error());
    return t;
}

static void expect_ids(const fl_tokenizer *t, const char *s, const int32_t *want, size_t n_want)
{
    int32_t *ids;
    size_t n;
    tokenize_ok(t, s, strlen(s), 0, &ids, &n);
    cr_expect_eq(n, n_want, "'%s': %zu ids, expected %zu", s, n, n_want);
    for (size_t i = 0; i < n && i < n_want; i++)
        cr_expect_eq(ids[i], want[i], "'%s': id %zu is %d, expected %d", s, i, ids[i], want[i]);
    free(ids);
}

Test(tokenizer, spm_merge_order_by_score)
{
    // ids: 259 "▁", 260 "a", 261 "b", 262 "▁a", 263 "ab"
    const char *p[] = {SP, "a", "b", (SP "a"), "ab"};
    float hi_left[] = {-10, -10, -10, -1, -2}; // "▁a" wins: ▁a + b
    fl_tokenizer *t = tiny_spm(p, hi_left, 5);
    expect_ids(t, "ab", (int32_t[]){262, 261}, 2);
    fl_tokenizer_free(t);
    float hi_right[] = {-10, -10, -10, -2, -1}; // "ab" wins: ▁ + ab
    t = tiny_spm(p, hi_right, 5);
    expect_ids(t, "ab", (int32_t[]){259, 263}, 2);
    // unknown character: byte fallback, "c" = 0x63 -> <0x63> = 3 + 0x63
    expect_ids(t, "ac", (int32_t[]){262, 3 + 0x63}, 2);
    fl_tokenizer_free(t);
    // equal scores: the leftmost pair merges first ("▁aaa" -> ▁ aa a)
    const char *q[] = {SP, "a", "aa"};
    float eq[] = {-1, -1, -1};
    t = tiny_spm(q, eq, 3);
    expect_ids(t, "aaa", (int32_t[]){259, 261, 260}, 3);
    fl_tokenizer_free(t);
}

/* Byte-level BPE: the 256 byte code points, then merged tokens; merges by rank. */
static fl_tokenizer *tiny_bpe(const char **extra, int n_extra, const char **merges, int n_merges)
{
    static char chars[256][4];
    const char *tok[300];
    int k = 0;
    for (int b = 0; b < 256; b++) {
        size_t l = fl_utf8_encode(fl_bpe_byte_to_cp((uint8_t)b), chars[b]);
        chars[b][l] = 0;
        tok[k++] = chars[b];
    }
    for (int i = 0; i < n_extra; i++)
        tok[k++] = extra[i];
    fl_vocab_desc d;
    fl_vocab_desc_defaults(&d, FL_TOK_BPE);
    d.n_tokens = (uint32_t)k;
    d.tokens = tok;
    d.n_merges = (uint32_t)n_merges;
    d.merges = merges;
    fl_tokenizer *t;
    cr_assert_eq(fl_tokenizer_new(&t, &d), 0, "%s", flare_last_error());
    return t;
}

Test(tokenizer, bpe_merge_order_by_rank)
{
    // GPT-2 byte map: printable ASCII maps to itself, so token id of 'a' is 'a'; ' ' is U+0120
    const char *extra[] = {"ab", "bc", ("\xc4\xa0" "a"), "aa"}; // 256 257 258 259
    const char *m1[] = {"a b", "b c"};
    fl_tokenizer *t = tiny_bpe(extra, 4, m1, 2);
    expect_ids(t, "abc", (int32_t[]){256, 'c'}, 2);
    fl_tokenizer_free(t);
    const char *m2[] = {"b c", "a b"};
    t = tiny_bpe(extra, 4, m2, 2);
    expect_ids(t, "abc", (int32_t[]){'a', 257}, 2);
    fl_tokenizer_free(t);
    const char *m3[] = {"\xc4\xa0 a", "a a"};
    t = tiny_bpe(extra, 4, m3, 2);
    expect_ids(t, "aaaa", (int32_t[]){259, 259}, 2);     // leftmost pairs first
    expect_ids(t, "x aa", (int32_t[]){'x', 258, 'a'}, 3); // " a" (rank 0) before "a a"
    fl_tokenizer_free(t);
}

Test(tokenizer, bpe_byte_map_is_gpt2s)
{
    // GPT-2's bytes_to_unicode: 188 printable bytes map to themselves, the other 68 to 256.. in
    // byte order: 0x00 -> U+0100, ' ' (0x20) -> U+0120, 0x7F -> U+0121, 0xAD -> U+0143
    cr_expect_eq(fl_bpe_byte_to_cp(0x00), 0x100);
    cr_expect_eq(fl_bpe_byte_to_cp(0x20), 0x120);
    cr_expect_eq(fl_bpe_byte_to_cp(0x7F), 0x121);
    cr_expect_eq(fl_bpe_byte_to_cp(0xA0), 0x142);
    cr_expect_eq(fl_bpe_byte_to_cp(0xAD), 0x143);
    cr_expect_eq(fl_bpe_byte_to_cp('A'), 'A');
    for (int b = 0; b < 256; b++)
        cr_expect_eq(fl_bpe_cp_to_byte(fl_bpe_byte_to_cp((uint8_t)b)), b);
    cr_expect_eq(fl_bpe_cp_to_byte(0x144), -1);
    cr_expect_eq(fl_bpe_cp_to_byte(0x20), -1);
}

// ---- GPT-2 pre-tokenizer ------------------------------------------------------------------------

/* Split s with `split` and compare with the expected words, given as one string with '|'
 * between words. */
static void expect_split_with(size_t (*split)(const uint32_t *, size_t, uint32_t *),
                              const char *name, const char *s, const char *want)
{
    size_t len = strlen(s);
    uint32_t cps[256], lens[256];
    size_t n = fl_utf8_decode_lenient(s, len, cps);
    size_t nw = split(cps, n, lens);
    char got[1024];
    size_t pos = 0, c = 0;
    for (size_t w = 0; w < nw; w++) {
        if (w)
            got[pos++] = '|';
        for (uint32_t k = 0; k < lens[w]; k++)
            pos += fl_utf8_encode(cps[c++], got + pos);
    }
    got[pos] = 0;
    cr_expect_str_eq(got, want, "%s split of '%s'", name, s);
}

static void expect_split(const char *s, const char *want)
{
    expect_split_with(fl_bpe_split_gpt2, "gpt2", s, want);
}

Test(tokenizer, gpt2_pretokenizer_splits)
{
    expect_split("Hello world", "Hello| world");
    expect_split("  Hello", " | Hello");           // \s+(?!\S) leaves one space for the word
    expect_split("I've 3.5 ok!!", "I|'ve| 3|.|5| ok|!!");
    expect_split("a  \n b", "a|  \n| b");
    expect_split("end   ", "end|   ");             // trailing run: all of it
    expect_split("x\xc2\xa0y", "x|\xc2\xa0|y");     // NBSP is \s, not ' '
    expect_split("na\xc3\xafve caf\xc3\xa9", "na\xc3\xafve| caf\xc3\xa9"); // letters (Ll)
    expect_split("\xd9\xa1\xd9\xa2 x", "\xd9\xa1\xd9\xa2| x");             // Arabic-Indic digits (Nd)
    expect_split("\xe2\x85\xa0\xe2\x85\xa1", "\xe2\x85\xa0\xe2\x85\xa1"); // Roman numerals (Nl)
    expect_split("'S 's", "'|S| '|s");              // case-sensitive; " '" is punctuation
}

/* The same for the Llama 3 pre-tokenizer. */
static void expect_split3(const char *s, const char *want)
{
    expect_split_with(fl_bpe_split_llama3, "llama3", s, want);
}

Test(tokenizer, llama3_pretokenizer_splits)
{
    expect_split3("Hello world", "Hello| world");
    expect_split3("I'VE 12345 ok", "I|'VE| |123|45| ok"); // case-insensitive, digits by 3
    expect_split3("a\r\n\r\nb", "a|\r\n\r\n|b");          // \s*[\r\n]+
    expect_split3("hi!!\n\nyo", "hi|!!\n\n|yo");          // punctuation takes the newlines
    expect_split3(".Hello", ".Hello");                    // one non-letter prefixes a word
    expect_split3("  x", " | x");
}

/* A "gpt2" GGUF with the Llama 3 pre-tokenizer, written with flare's GGUF writer: BOS is added
 * by default and a word that is a token is taken whole (ignore_merges). */
Test(tokenizer, llama3_vocab_from_gguf)
{
    static char chars[256][4];
    const char *tok[260];
    int32_t types[260];
    for (int b = 0; b < 256; b++) {
        size_t l = fl_utf8_encode(fl_bpe_byte_to_cp((uint8_t)b), chars[b]);
        chars[b][l] = 0;
        tok[b] = chars[b];
        types[b] = FL_TOKTYPE_NORMAL;
    }
    tok[256] = "ab", types[256] = FL_TOKTYPE_NORMAL;
    tok[257] = "abc", types[257] = FL_TOKTYPE_NORMAL; // no merge path leads here
    tok[258] = "<|begin_of_text|>", types[258] = FL_TOKTYPE_CONTROL;
    tok[259] = "<|eot_id|>", types[259] = FL_TOKTYPE_CONTROL;
    const char *merges[] = {"a b"};
    char path[512];
    snprintf(path, sizeof path, "%s/tok_llama3_%d.gguf", FLARE_TMPDIR, (int)getpid());
    char mk[600];
    snprintf(mk, sizeof mk, "mkdir -p '%s'", FLARE_TMPDIR);
    cr_assert_eq(system(mk), 0);
    gguf_writer *w = gguf_writer_new();
    cr_assert(w);
    cr_assert_eq(gguf_writer_set_str(w, "tokenizer.ggml.model", "gpt2"), 0);
    cr_assert_eq(gguf_writer_set_str(w, "tokenizer.ggml.pre", "llama-bpe"), 0);
    cr_assert_eq(gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens", tok, NULL, 260), 0);
    cr_assert_eq(gguf_writer_set_arr(w, "tokenizer.ggml.token_type", GGUF_TYPE_INT32, types, 260), 0);
    cr_assert_eq(gguf_writer_set_arr_str(w, "tokenizer.ggml.merges", merges, NULL, 1), 0);
    cr_assert_eq(gguf_writer_set_u32(w, "tokenizer.ggml.bos_token_id", 258), 0);
    cr_assert_eq(gguf_writer_set_u32(w, "tokenizer.ggml.eos_token_id", 259), 0);
    cr_assert_eq(gguf_writer_write(w, path, NULL, NULL), 0, "%s", flare_last_error());
    gguf_writer_free(w);
    fl_tokenizer *t = load(path);
    int32_t *ids;
    size_t n;
    tokenize_ok(t, "abc ab", 6, FL_TOKENIZE_ADD_SPECIAL, &ids, &n);
    cr_assert_eq(n, 4);
    // <|begin_of_text|> "abc" (whole) "Ġ" (the token of byte 0x20 is id 0x20) "ab"
    cr_expect(ids[0] == 258 && ids[1] == 257 && ids[2] == ' ' && ids[3] == 256,
              "%d %d %d %d", ids[0], ids[1], ids[2], ids[3]);
    free(ids);
    cr_expect(fl_tok_is_eog(t, 259));
    fl_tokenizer_free(t);
    unlink(path);
}

/* An SPM GGUF without special-id keys gets llama.cpp's defaults (BOS 1, EOS 2, UNK 0, add BOS);
 * an id key out of range is ignored; a file without tokens is refused by key name. */
Test(tokenizer, spm_gguf_defaults)
{
    const char *tok[] = {"<unk>", "<s>", "</s>", SP "a"};
    char path[512], mk[600];
    snprintf(path, sizeof path, "%s/tok_spm_defaults_%d.gguf", FLARE_TMPDIR, (int)getpid());
    snprintf(mk, sizeof mk, "mkdir -p '%s'", FLARE_TMPDIR);
    cr_assert_eq(system(mk), 0);
    gguf_writer *w = gguf_writer_new();
    cr_assert_eq(gguf_writer_set_str(w, "tokenizer.ggml.model", "llama"), 0);
    cr_assert_eq(gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens", tok, NULL, 4), 0);
    cr_assert_eq(gguf_writer_set_u32(w, "tokenizer.ggml.eos_token_id", 99), 0); // out of range
    cr_assert_eq(gguf_writer_write(w, path, NULL, NULL), 0, "%s", flare_last_error());
    gguf_writer_free(w);
    fl_tokenizer *t = load(path);
    cr_expect_eq(fl_tok_bos(t), 1);
    cr_expect_eq(fl_tok_eos(t), 2);
    cr_expect_eq(fl_tok_unk(t), 0);
    cr_expect(fl_tok_add_bos(t));
    cr_expect_str_eq(fl_tok_model_name(t), "llama");
    // "a": the prefix space makes "▁a" (id 3); the "b" has no byte token: <unk>
    expect_ids(t, "ab", (int32_t[]){3, 0}, 2);
    fl_tokenizer_free(t);

    w = gguf_writer_new();
    cr_assert_eq(gguf_writer_set_str(w, "tokenizer.ggml.model", "llama"), 0);
    cr_assert_eq(gguf_writer_write(w, path, NULL, NULL), 0, "%s", flare_last_error());
    gguf_writer_free(w);
    gguf_file *f;
    cr_assert_eq(gguf_open(&f, path), 0, "%s", flare_last_error());
    cr_expect_eq(fl_tokenizer_from_gguf(&t, f), FLARE_EINVAL);
    cr_expect(strstr(flare_last_error(), "tokenizer.ggml.tokens"), "%s", flare_last_error());
    gguf_close(f);
    unlink(path);
}

// ---- invalid UTF-8 ------------------------------------------------------------------------------

Test(tokenizer, invalid_utf8_never_fails)
{
    static const char *bad[] = {"\xff", "a\xc3(b", "\xe2\x82", "\x80x", "\xf4\x90\x80\x80z",
                                "\xed\xa0\x80", "\xc0\xaf", "ok\xf0\x9f\xa6"};
    // BPE: each undecodable byte is U+FFFD (llama.cpp's decoder: overlong and surrogate forms
    // decode, above U+10FFFF does not)
    static const char *bpe_back[] = {"\xef\xbf\xbd", "a\xef\xbf\xbd(b", "\xef\xbf\xbd\xef\xbf\xbd",
                                     "\xef\xbf\xbdx",
                                     "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdz",
                                     "\xed\xa0\x80", "/",
                                     "ok\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"};
    fl_tokenizer *spm = load(SPM_GGUF), *g = load(GPT2_GGUF);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int32_t *ids;
        size_t n, len;
        // SPM keeps the bytes: byte tokens, so detokenize gives the input back
        tokenize_ok(spm, bad[i], strlen(bad[i]), 0, &ids, &n);
        char *s = detok(spm, ids, n, 0, &len);
        cr_expect(len == strlen(bad[i]) && !memcmp(s, bad[i], len), "SPM case %zu", i);
        free(s);
        free(ids);
        tokenize_ok(g, bad[i], strlen(bad[i]), 0, &ids, &n);
        s = detok(g, ids, n, 0, &len);
        cr_expect_str_eq(s, bpe_back[i], "GPT-2 case %zu", i);
        free(s);
        free(ids);
    }
    // "\xff" alone in SPM: the prefix "▁" then the byte token <0xFF>
    expect_ids(spm, "\xff", (int32_t[]){fl_tok_find(spm, SP, 3), fl_tok_find(spm, "<0xFF>", 6)}, 2);
    fl_tokenizer_free(spm);
    fl_tokenizer_free(g);
}

/* Seeded random inputs: any valid UTF-8, and any bytes without spaces, round-trip exactly
 * through SPM (byte fallback); any valid UTF-8 round-trips exactly through GPT-2's pieces. */
static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13, *s ^= *s >> 7, *s ^= *s << 17;
    return *s;
}

Test(tokenizer, random_text_roundtrips)
{
    fl_tokenizer *spm = load(SPM_GGUF), *g = load(GPT2_GGUF);
    uint64_t seed = 0x9E3779B97F4A7C15ull;
    static const uint32_t pool[] = {' ', ' ', '\n', '\t', 'a', 'Z', '3', '\'', '?', 0xA0, 0xE9,
                                    0x3B1, 0x416, 0x5D0, 0x627, 0x4E2D, 0x3042, 0xAC00,
                                    0x1F999, 0x1F600, 0x2028, 0xFFFD, 0x10FFFF, 0xE000};
    for (int iter = 0; iter < 400; iter++) {
        char buf[200];
        size_t len = rng_next(&seed) % 64;
        bool bytes = iter % 2 == 0;
        size_t pos = 0;
        while (pos < len) {
            if (bytes) { // no spaces: a lead byte before an escaped space swallows part of
                         // its U+2581, which then comes back as bytes (as in llama.cpp)
                buf[pos] = (char)rng_next(&seed);
                buf[pos] = buf[pos] == ' ' ? 'x' : buf[pos];
                pos++;
                continue;
            }
            uint64_t r = rng_next(&seed);
            uint32_t cp = r % 3 ? pool[(r >> 8) % (sizeof pool / sizeof *pool)]
                                : (uint32_t)(0x20 + (r >> 8) % 0x2FF0);
            if (cp >= 0xD800 && cp < 0xE000)
                cp = 'x';
            pos += fl_utf8_encode(cp, buf + pos);
        }
        len = pos;
        int32_t *ids;
        size_t n, l;
        tokenize_ok(spm, buf, len, FL_TOKENIZE_ADD_SPECIAL, &ids, &n);
        char *s = detok(spm, ids + 1, n - 1, 0, &l); // without BOS: prefix space stripped
        cr_expect(l == len && memcmp(s, buf, len) == 0, "SPM iteration %d", iter);
        free(s);
        free(ids);
        if (bytes)
            continue;
        tokenize_ok(g, buf, len, 0, &ids, &n);
        size_t cat = 0;
        char out[800];
        for (size_t k = 0; k < n; k++) {
            const char *p = fl_token_piece(g, ids[k], true, &l);
            cr_assert_leq(cat + l, sizeof out);
            memcpy(out + cat, p, l);
            cat += l;
        }
        cr_expect(cat == len && memcmp(out, buf, len) == 0, "GPT-2 iteration %d", iter);
        free(ids);
    }
    fl_tokenizer_free(spm);
    fl_tokenizer_free(g);
}

// ---- streaming ----------------------------------------------------------------------------------

Test(tokenizer, stream_holds_back_split_characters)
{
    fl_tokenizer *t = load(SPM_GGUF);
    // "🦙" has no token: four byte tokens (llama.cpp's vector: 243 162 169 156)
    const char *text = "A \xf0\x9f\xa6\x99 and \xc3\xa9t\xc3\xa9";
    int32_t *ids;
    size_t n;
    tokenize_ok(t, text, strlen(text), 0, &ids, &n);
    fl_detok_stream st;
    fl_detok_stream_init(&st, t, FL_DETOK_STREAM_LSTRIP);
    char got[256];
    size_t pos = 0;
    int held = 0;
    for (size_t i = 0; i < n; i++) {
        const char *o;
        size_t l;
        cr_assert_eq(fl_detok_stream_push(&st, ids[i], &o, &l), 0);
        size_t pl;
        fl_token_piece(t, ids[i], false, &pl);
        if (l == 0 && pl > 0)
            held++;
        // every chunk is whole characters: it never ends inside a sequence
        for (size_t k = 0; k < l;) {
            unsigned char c = (unsigned char)o[k];
            size_t need = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
            cr_assert_leq(k + need, l, "chunk %zu ends inside a character", i);
            k += need;
        }
        memcpy(got + pos, o, l);
        pos += l;
    }
    const char *o;
    size_t l;
    cr_assert_eq(fl_detok_stream_flush(&st, &o, &l), 0);
    cr_expect_eq(l, 0);
    got[pos] = 0;
    cr_expect_str_eq(got, text);
    cr_expect_geq(held, 3, "the first 3 bytes of the emoji are held back");
    // a lead byte followed by an ASCII token: U+FFFD, then the letter; dangling at the end too
    fl_detok_stream_free(&st);
    fl_detok_stream_init(&st, t, 0);
    int32_t seq[] = {fl_tok_find(t, "<0xF0>", 6), fl_tok_find(t, "a", 1),
                     fl_tok_find(t, "<0xE2>", 6)};
    pos = 0;
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(fl_detok_stream_push(&st, seq[i], &o, &l), 0);
        memcpy(got + pos, o, l);
        pos += l;
    }
    cr_assert_eq(fl_detok_stream_flush(&st, &o, &l), 0);
    memcpy(got + pos, o, l);
    got[pos + l] = 0;
    cr_expect_str_eq(got, "\xef\xbf\xbd" "a" "\xef\xbf\xbd");
    cr_expect_eq(fl_detok_stream_push(&st, -5, &o, &l), FLARE_ERANGE);
    fl_detok_stream_free(&st);
    free(ids);
    fl_tokenizer_free(t);
}

// ---- bad vocabularies ---------------------------------------------------------------------------

Test(tokenizer, bad_vocab_rejected)
{
    const char *dup[] = {"<unk>", "a", "b", "a"};
    fl_vocab_desc d;
    fl_vocab_desc_defaults(&d, FL_TOK_SPM);
    d.n_tokens = 4;
    d.tokens = dup;
    fl_tokenizer *t = NULL;
    cr_expect_eq(fl_tokenizer_new(&t, &d), FLARE_EINVAL);
    cr_expect(strstr(flare_last_error(), "index 3"), "%s", flare_last_error());
    cr_expect_null(t);
    const char *ok[] = {"a", "b"};
    fl_vocab_desc_defaults(&d, FL_TOK_BPE);
    d.n_tokens = 2;
    d.tokens = ok;
    cr_expect_eq(fl_tokenizer_new(&t, &d), FLARE_EINVAL); // BPE without merges
    cr_expect(strstr(flare_last_error(), "merges"), "%s", flare_last_error());
}

// ---- the CLI ------------------------------------------------------------------------------------

/* Run `flare ARGS` with stdout and stderr to files; returns the exit status. */
static int run_flare(const char *args, char **out, char **err)
{
    char o[512], e[512], cmd[2048];
    snprintf(o, sizeof o, "%s/tok_cli_%d_%p.out", FLARE_TMPDIR, (int)getpid(), (void *)out);
    snprintf(e, sizeof e, "%s/tok_cli_%d_%p.err", FLARE_TMPDIR, (int)getpid(), (void *)out);
    snprintf(cmd, sizeof cmd, "mkdir -p '%s' && '%s' %s >'%s' 2>'%s'", FLARE_TMPDIR, FLARE_BIN,
             args, o, e);
    int st = system(cmd);
    size_t l;
    *out = slurp(o, &l);
    *err = slurp(e, &l);
    unlink(o);
    unlink(e);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static size_t count_lines(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

Test(tokenize_cli, ids_and_pieces)
{
    char *out, *err;
    cr_assert_eq(run_flare("tokenize -m " SPM_GGUF " -p 'Hello world'", &out, &err), 0, "%s", err);
    cr_expect_str_eq(out, "1 15043 3186\n"); // BOS by default, as llama-tokenize
    free(out), free(err);
    cr_assert_eq(run_flare("tokenize -m " SPM_GGUF " -p 'Hello world' --no-bos", &out, &err), 0);
    cr_expect_str_eq(out, "15043 3186\n");
    free(out), free(err);
    cr_assert_eq(run_flare("tokenize -m " GPT2_GGUF " -p 'Hello world'", &out, &err), 0);
    cr_expect_str_eq(out, "15496 995\n"); // GPT-2 adds no BOS
    free(out), free(err);
    cr_assert_eq(run_flare("tokenize -m " SPM_GGUF " -p 'Hello world' --pieces", &out, &err), 0);
    cr_expect_str_eq(out, "1\t<s>\n15043\t Hello\n3186\t world\n");
    free(out), free(err);
}

Test(tokenize_cli, bad_input_one_error_line)
{
    char path_txt[512], path_nokeys[512], path_bert[512], args[2048];
    snprintf(path_txt, sizeof path_txt, "%s/tok_cli_%d.txt", FLARE_TMPDIR, (int)getpid());
    snprintf(path_nokeys, sizeof path_nokeys, "%s/tok_cli_%d_nokeys.gguf", FLARE_TMPDIR,
             (int)getpid());
    snprintf(path_bert, sizeof path_bert, "%s/tok_cli_%d_bert.gguf", FLARE_TMPDIR, (int)getpid());
    char mk[600];
    snprintf(mk, sizeof mk, "mkdir -p '%s'", FLARE_TMPDIR);
    cr_assert_eq(system(mk), 0);
    FILE *f = fopen(path_txt, "wb");
    fputs("this is not a GGUF file\n", f);
    fclose(f);
    // GGUF v3 by hand: header, no tensors, no keys
    static const unsigned char empty[24] = {'G', 'G', 'U', 'F', 3, 0, 0, 0};
    f = fopen(path_nokeys, "wb");
    fwrite(empty, 1, sizeof empty, f);
    fclose(f);
    // one key: tokenizer.ggml.model = "bert" (u64 len + bytes, u32 type 8, u64 len + bytes)
    f = fopen(path_bert, "wb");
    unsigned char hdr[24] = {'G', 'G', 'U', 'F', 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    fwrite(hdr, 1, sizeof hdr, f);
    const char *key = "tokenizer.ggml.model";
    uint64_t kl = strlen(key), vl = 4;
    uint32_t ty = 8;
    fwrite(&kl, 8, 1, f);
    fwrite(key, 1, kl, f);
    fwrite(&ty, 4, 1, f);
    fwrite(&vl, 8, 1, f);
    fwrite("bert", 1, 4, f);
    fclose(f);

    struct {
        const char *model, *want;
    } cases[] = {{FLARE_TMPDIR "/does-not-exist.gguf", "does-not-exist"},
                 {path_txt, ".txt"},
                 {path_nokeys, "tokenizer.ggml.model"},
                 {path_bert, "bert"}};
    for (size_t i = 0; i < 4; i++) {
        char *out, *err;
        snprintf(args, sizeof args, "tokenize -m '%s' -p hi", cases[i].model);
        cr_expect_eq(run_flare(args, &out, &err), 1, "case %zu", i);
        cr_expect_str_eq(out, "", "case %zu", i);
        cr_expect_eq(count_lines(err), 1, "case %zu: '%s'", i, err);
        cr_expect(strncmp(err, "flare: ", 7) == 0 && strstr(err, cases[i].want),
                  "case %zu: '%s'", i, err);
        free(out), free(err);
    }
    char *out, *err;
    cr_expect_eq(run_flare("tokenize -p hi", &out, &err), 1); // no model
    cr_expect_eq(count_lines(err), 1, "'%s'", err);
    free(out), free(err);
    unlink(path_txt);
    unlink(path_nokeys);
    unlink(path_bert);
}
