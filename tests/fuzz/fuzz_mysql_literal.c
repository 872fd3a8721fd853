/*
 * fuzz_mysql_literal.c - the MySQL restore's INSERT literals
 * (plugins/mysql/literal.c) on arbitrary rows: every field, written as a
 * string, number and geometry literal, must read back (by the model of
 * MySQL's lexer in tests/unit/mysql_literal_model.h) as exactly the bytes
 * es_field_unescape() decodes, as one literal with nothing after it.
 */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "literal.h"
#include "mysql_literal_model.h"
#include "rowcodec.h"
#include "fuzz.h"

#define MAXF 64

static void
check(const es_field *f, int kind)
{
    es_buf b = ES_BUF_INIT;
    char *dec = malloc(f->len + 1), *got;
    size_t declen = es_field_unescape(f, dec), gotlen;
    int r = my_field_literal(&b, f, kind), k;

    if (kind == MY_COL_BIT) {
        /* a bare run of digits, or refused */
        if (r == 0 && !f->is_null && (b.len == 0 || strspn(b.data, "0123456789") != b.len))
            abort();
        goto out;
    }
    if (r != 0)
        abort();
    got = malloc(b.len + 1);
    k = model_literal(b.data, b.len, got, &gotlen);
    if (f->is_null ? k != MODEL_NULL
                   : (k == MODEL_BAD || k == MODEL_NULL || (k == MODEL_BARE && kind != MY_COL_NUMBER)
                      || gotlen != declen || memcmp(got, dec, declen)))
        abort();
    free(got);
out:
    free(dec);
    es_buf_free(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data, *end = p + size;
    es_field f[MAXF];

    while (p <= end) {
        const char *eol = es_row_end(p, (size_t)(end - p));
        long n = es_row_split(p, (size_t)(eol - p), f, MAXF);

        if (n == -1)
            n = MAXF;
        for (long i = 0; i < n; i++) {
            check(&f[i], MY_COL_PLAIN);
            check(&f[i], MY_COL_NUMBER);
            check(&f[i], MY_COL_GEOM);
            check(&f[i], MY_COL_BIT);
        }
        if (eol == end)
            break;
        p = eol + 1;
    }
    return 0;
}

void
fuzz_seeds(fuzz_add_fn add)
{
    static const char *const rows[] = {
        "1\talice\t\\N\n2\tit's\t\\\\N\n",
        "a\\0b\\012\\101\\x41\\xg\\q\\Z\\%\\_\t\\",
        "-12.5\t+7\t1e5\t.5\t007\t18446744073709551615\n",
        "\\'\\\"\\b\\f\\v\\t\\n\\r\t\\47\\x27\\x5c\\x00",
        "h\xc3\xa9llo\t\\377\\400\t\x1a\x00'\n",
    };

    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        add((const uint8_t *)rows[i], strlen(rows[i]));
}
