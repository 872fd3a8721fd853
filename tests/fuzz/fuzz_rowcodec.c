/*
 * fuzz_rowcodec.c - the row codec on arbitrary bytes: split every line,
 * unescape every field into a buffer of exactly the promised size, and
 * check that escape -> split -> unescape gives the decoded bytes back.
 */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "rowcodec.h"
#include "fuzz.h"

#define MAXF 64

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data, *end = p + size;
    es_field f[MAXF], g[2];
    es_buf b = ES_BUF_INIT;

    while (p <= end) {
        const char *eol = es_row_end(p, (size_t)(end - p));
        long n = es_row_split(p, (size_t)(eol - p), f, MAXF);

        if (n == -1)
            n = MAXF;           /* fields[0..max) are still filled */
        for (long i = 0; i < n; i++) {
            /* exactly f.len bytes: unescaping never grows */
            char *out = malloc(f[i].len ? f[i].len : 1), *again;
            size_t len = es_field_unescape(&f[i], out);

            if (len > f[i].len)
                abort();
            es_buf_reset(&b);
            if (es_row_escape(&b, out, len) < 0 || es_row_split(b.data, b.len, g, 2) != 1 ||
                g[0].is_null || memchr(b.data, '\n', b.len))
                abort();
            again = malloc(g[0].len ? g[0].len : 1);
            if (es_field_unescape(&g[0], again) != len || memcmp(again, out, len) != 0)
                abort();
            free(again);
            free(out);
        }
        if (eol == end)
            break;
        p = eol + 1;
    }
    es_buf_free(&b);
    return 0;
}

void
fuzz_seeds(fuzz_add_fn add)
{
    static const char *const rows[] = {
        "1\talice\t\\N\n2\tb\\tob\t\\\\N\n",
        "a\\0b\\012\\101\\x41\\xg\\q\t\\",
        "\\N",
        "",
        "\t\t\t\n\n",
        "h\xc3\xa9llo\t\\r\\n\\b\\f\\v\\\\\t\\377\\400\n",
    };

    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        add((const uint8_t *)rows[i], strlen(rows[i]));
    {
        char many[1024];
        size_t n = 0;

        for (int i = 0; i < 200 && n + 4 < sizeof many; i++)
            many[n++] = (char)('a' + i % 26), many[n++] = '\t';
        add((const uint8_t *)many, n);
    }
}
