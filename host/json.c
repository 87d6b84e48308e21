/* host/json.c: JSON strings (host/json.h). */
#include "host/json.h"

#include <string.h>
#include <utf8proc.h>

void fl_json_str(FILE *f, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    fputc('"', f);
    for (size_t i = 0; i < n;) {
        unsigned char c = p[i];
        if (c < 0x80) {
            if (c == '"' || c == '\\')
                fprintf(f, "\\%c", c);
            else if (c == '\n')
                fputs("\\n", f);
            else if (c == '\r')
                fputs("\\r", f);
            else if (c == '\t')
                fputs("\\t", f);
            else if (c < 0x20 || c == 0x7f)
                fprintf(f, "\\u%04x", c);
            else
                fputc(c, f);
            i++;
            continue;
        }
        utf8proc_int32_t cp;
        size_t left = n - i < 4 ? n - i : 4;
        utf8proc_ssize_t len = utf8proc_iterate(p + i, (utf8proc_ssize_t)left, &cp);
        if (len > 0) {
            fwrite(p + i, 1, (size_t)len, f);
            i += (size_t)len;
        } else {
            fputs("\\ufffd", f);
            i++;
        }
    }
    fputc('"', f);
}

void fl_json_cstr(FILE *f, const char *s)
{
    if (s)
        fl_json_str(f, s, strlen(s));
    else
        fputs("null", f);
}
