/* host/cli/cmd_tokenize.c: `flare tokenize -m MODEL.gguf -p TEXT`: the token ids of a text, as
 * llama.cpp's llama-tokenize prints them (BOS added when the vocabulary adds it). */
#include "host/cli/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flare/error.h"
#include "host/gguf.h"
#include "host/tokenizer.h"

static void tokenize_usage(FILE *out)
{
    fprintf(out,
            "usage: flare tokenize -m MODEL.gguf (-p TEXT | -f FILE) [options]\n"
            "\n"
            "Tokenize TEXT with the model's vocabulary (tokenizer.ggml.*) and print the ids on one\n"
            "line, space separated.\n"
            "\n"
            "  -m, --model FILE     GGUF file with a tokenizer (a model or a vocabulary)\n"
            "  -p, --prompt TEXT    the text\n"
            "  -f, --file FILE      read the text from FILE (bytes as they are)\n"
            "  --no-bos             no BOS/EOS (default: as the vocabulary says, BOS for llama)\n"
            "  --parse-special      control tokens written in the text (\"<s>\") become tokens\n"
            "  --pieces             one line per token: id, a tab, the piece (escaped)\n");
}

/* The piece with control characters and bytes that are not UTF-8 escaped. */
static void print_piece(const char *p, size_t n)
{
    const unsigned char *s = (const unsigned char *)p;
    for (size_t i = 0; i < n;) {
        unsigned char c = s[i];
        size_t k = c < 0x80 ? 1 : c >= 0xC2 && c < 0xE0 ? 2 : c >= 0xE0 && c < 0xF0 ? 3
                 : c >= 0xF0 && c < 0xF5 ? 4 : 0;
        bool ok = k > 0 && i + k <= n;
        for (size_t j = 1; ok && j < k; j++)
            ok = (s[i + j] & 0xC0) == 0x80;
        if (!ok) {
            printf("\\x%02x", c);
            k = 1;
        } else if (c == '\n')
            printf("\\n");
        else if (c == '\t')
            printf("\\t");
        else if (c == '\\')
            printf("\\\\");
        else if (c < 0x20 || c == 0x7F)
            printf("\\x%02x", c);
        else
            fwrite(s + i, 1, k, stdout);
        i += k;
    }
}

static char *read_file(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n, fp);
        if (n < cap)
            break;
        char *b = realloc(buf, cap *= 2);
        if (!b)
            free(buf);
        buf = b;
    }
    if (buf && ferror(fp)) {
        free(buf);
        buf = NULL;
    }
    fclose(fp);
    *len = n;
    return buf;
}

int cmd_tokenize(int argc, char **argv)
{
    const char *model = NULL, *prompt = NULL, *file = NULL;
    bool no_bos = false, pieces = false, parse_special = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            tokenize_usage(stdout);
            return 0;
        } else if (!strcmp(a, "-m") || !strcmp(a, "--model")) {
            if (!(model = cli_value(argc, argv, &i)))
                return 1;
        } else if (!strcmp(a, "-p") || !strcmp(a, "--prompt")) {
            if (!(prompt = cli_value(argc, argv, &i)))
                return 1;
        } else if (!strcmp(a, "-f") || !strcmp(a, "--file")) {
            if (!(file = cli_value(argc, argv, &i)))
                return 1;
        } else if (!strcmp(a, "--no-bos")) {
            no_bos = true;
        } else if (!strcmp(a, "--pieces")) {
            pieces = true;
        } else if (!strcmp(a, "--parse-special")) {
            parse_special = true;
        } else {
            return cli_fail("tokenize: unknown argument '%s' (try 'flare tokenize --help')", a);
        }
    }
    if (!model)
        return cli_fail("tokenize: -m MODEL.gguf is required (try 'flare tokenize --help')");
    if (!prompt == !file)
        return cli_fail("tokenize: give the text with exactly one of -p TEXT or -f FILE");

    size_t len = 0;
    char *text = NULL;
    if (file && !(text = read_file(file, &len)))
        return cli_fail("tokenize: -f %s: cannot read the file", file);
    gguf_file *f = NULL;
    fl_tokenizer *tok = NULL;
    int32_t *ids = NULL;
    size_t n = 0;
    int rc = gguf_open(&f, model);
    if (!rc)
        rc = fl_tokenizer_from_gguf(&tok, f);
    if (!rc) {
        unsigned flags = (no_bos ? 0 : FL_TOKENIZE_ADD_SPECIAL) |
                         (parse_special ? FL_TOKENIZE_PARSE_SPECIAL : 0);
        rc = file ? fl_tokenize(tok, text, len, flags, &ids, &n)
                  : fl_tokenize(tok, prompt, strlen(prompt), flags, &ids, &n);
    }
    if (rc) {
        cli_fail("tokenize: %s", flare_last_error());
    } else if (pieces) {
        for (size_t i = 0; i < n; i++) {
            size_t pl;
            const char *p = fl_token_piece(tok, ids[i], true, &pl);
            printf("%d\t", ids[i]);
            print_piece(p, pl);
            putchar('\n');
        }
    } else {
        for (size_t i = 0; i < n; i++)
            printf(i ? " %d" : "%d", ids[i]);
        putchar('\n');
    }
    free(ids);
    fl_tokenizer_free(tok);
    if (f)
        gguf_close(f);
    free(text);
    return rc ? 1 : 0;
}
