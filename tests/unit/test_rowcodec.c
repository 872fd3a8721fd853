/*
 * test_rowcodec.c - the shared row format (lib/rowcodec.c): escape, split,
 * unescape, and escape -> split -> unescape round trips.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "rowcodec.h"

/* escape one raw field, compare with the expected text */
static void
check_escape(const void *raw, size_t len, const char *want)
{
    es_buf b = ES_BUF_INIT;

    ck_assert_int_eq(es_row_escape(&b, raw, len), 0);
    ck_assert_uint_eq(b.len, strlen(want));
    ck_assert_msg(!memcmp(b.data, want, b.len), "escaped '%s', want '%s'", b.data, want);
    es_buf_free(&b);
}

/* unescape one escaped field text */
static size_t
unesc(const char *text, char *out)
{
    es_field f = { text, strlen(text), 0 };

    return es_field_unescape(&f, out);
}

START_TEST(test_escape_basic)
{
    check_escape("plain", 5, "plain");
    check_escape("", 0, "");
    check_escape("a\tb", 3, "a\\tb");
    check_escape("a\nb\r", 4, "a\\nb\\r");
    check_escape("back\\slash", 10, "back\\\\slash");
    check_escape("\\", 1, "\\\\");
    check_escape("\\N", 2, "\\\\N");              /* the string \N is not NULL */
    check_escape("nul\0x", 5, "nul\\0x");
    check_escape("\b\f\v", 3, "\b\f\v");          /* passed through raw */
    check_escape("h\xc3\xa9llo", 6, "h\xc3\xa9llo");
    check_escape(NULL, 0, "\\N");
    check_escape(NULL, 5, "\\N");
}
END_TEST

START_TEST(test_escape_appends)
{
    es_buf b = ES_BUF_INIT;

    ck_assert_int_eq(es_row_escape(&b, "a", 1), 0);
    ck_assert_int_eq(es_buf_putc(&b, '\t'), 0);
    ck_assert_int_eq(es_row_escape(&b, NULL, 0), 0);
    ck_assert_int_eq(es_buf_putc(&b, '\t'), 0);
    ck_assert_int_eq(es_row_escape(&b, "\t", 1), 0);
    ck_assert_str_eq(b.data, "a\t\\N\t\\t");
    es_buf_free(&b);
}
END_TEST

START_TEST(test_escape_max)
{
    es_buf b;

    es_buf_init(&b, 8);
    ck_assert_int_eq(es_row_escape(&b, "abc", 3), 0);
    /* worst case doubling of 5 more bytes exceeds the maximum */
    ck_assert_int_eq(es_row_escape(&b, "\t\t\t\t\t", 5), -1);
    es_buf_free(&b);
}
END_TEST

START_TEST(test_split_basic)
{
    es_field f[8];

    ck_assert_int_eq(es_row_split("a\tb\tc", 5, f, 8), 3);
    ck_assert_uint_eq(f[0].len, 1);
    ck_assert(!memcmp(f[1].p, "b", 1));
    ck_assert(!memcmp(f[2].p, "c", 1));
    /* the empty row is one empty field */
    ck_assert_int_eq(es_row_split("", 0, f, 8), 1);
    ck_assert_uint_eq(f[0].len, 0);
    ck_assert_int_eq(f[0].is_null, 0);
    /* empty fields around tabs */
    ck_assert_int_eq(es_row_split("\t", 1, f, 8), 2);
    ck_assert_uint_eq(f[0].len, 0);
    ck_assert_uint_eq(f[1].len, 0);
    ck_assert_int_eq(es_row_split("a\t\t", 3, f, 8), 3);
    ck_assert_uint_eq(f[2].len, 0);
    /* escaped tab does not split */
    ck_assert_int_eq(es_row_split("a\\tb\tc", 6, f, 8), 2);
    ck_assert_uint_eq(f[0].len, 4);
    /* backslash + real TAB: the TAB is escaped, not a separator */
    ck_assert_int_eq(es_row_split("a\\\tb", 4, f, 8), 1);
}
END_TEST

START_TEST(test_split_null)
{
    es_field f[8];

    ck_assert_int_eq(es_row_split("\\N\t\\\\N\t\\Nx\tN\t\\N", 15, f, 8), 5);
    ck_assert_int_eq(f[0].is_null, 1);
    ck_assert_int_eq(f[1].is_null, 0);       /* the string \N */
    ck_assert_int_eq(f[2].is_null, 0);
    ck_assert_int_eq(f[3].is_null, 0);
    ck_assert_int_eq(f[4].is_null, 1);
}
END_TEST

START_TEST(test_split_malformed)
{
    es_field f[4];

    ck_assert_int_eq(es_row_split("abc\\", 4, f, 4), -2);
    ck_assert_int_eq(es_row_split("\\", 1, f, 4), -2);
    ck_assert_int_eq(es_row_split("a\t\\\\\\", 5, f, 4), -2);
    ck_assert_int_eq(es_row_split("a\t\\\\", 4, f, 4), 2);  /* even: fine */
}
END_TEST

START_TEST(test_split_max)
{
    es_field f[3];
    char row[4096];
    size_t n = 0;
    long got;
    es_field *many = malloc(1000 * sizeof *many);

    ck_assert_int_eq(es_row_split("a\tb\tc\td", 7, f, 3), -1);
    ck_assert(!memcmp(f[2].p, "c", 1));
    ck_assert_int_eq(es_row_split("a\tb\tc", 5, f, 3), 3);
    ck_assert_int_eq(es_row_split("a", 1, f, 0), -1);
    /* many fields */
    for (int i = 0; i < 1000; i++)
        n += (size_t)snprintf(row + n, sizeof row - n, i ? "\t%d" : "%d", i % 10);
    got = es_row_split(row, n, many, 1000);
    ck_assert_int_eq(got, 1000);
    ck_assert_int_eq(many[999].p[0], '9');
    ck_assert_int_eq(es_row_split(row, n, many, 999), -1);
    free(many);
}
END_TEST

START_TEST(test_unescape)
{
    char out[64];

    ck_assert_uint_eq(unesc("plain", out), 5);
    ck_assert(!memcmp(out, "plain", 5));
    ck_assert_uint_eq(unesc("\\t\\n\\r\\b\\f\\v\\\\", out), 7);
    ck_assert(!memcmp(out, "\t\n\r\b\f\v\\", 7));
    /* \N outside split: the unescaped text is "N" */
    ck_assert_uint_eq(unesc("\\N", out), 1);
    ck_assert_int_eq(out[0], 'N');
    /* octal: 1-3 digits */
    ck_assert_uint_eq(unesc("\\1018", out), 2);
    ck_assert(!memcmp(out, "A8", 2));
    ck_assert_uint_eq(unesc("\\377\\400", out), 2);  /* \400 wraps to 0 */
    ck_assert_int_eq((unsigned char)out[0], 0xff);
    ck_assert_int_eq(out[1], 0);
    /* NUL */
    ck_assert_uint_eq(unesc("a\\0b", out), 3);
    ck_assert(!memcmp(out, "a\0b", 3));
    /* unknown escape: the character itself */
    ck_assert_uint_eq(unesc("\\q\\'\\\"", out), 3);
    ck_assert(!memcmp(out, "q'\"", 3));
    /* malformed trailing backslash is dropped */
    ck_assert_uint_eq(unesc("ab\\", out), 2);
    ck_assert_uint_eq(unesc("", out), 0);
}
END_TEST

/* octal takes 1-3 digits, hex 1-2; \x without digits is x */
START_TEST(test_unescape_details)
{
    char out[64];

    ck_assert_uint_eq(unesc("\\101\\1\\7x\\18", out), 6);
    ck_assert(!memcmp(out, "A\001\007x\0018", 6));
    ck_assert_uint_eq(unesc("\\x41\\x4\\xg\\x4aF", out), 6);
    ck_assert(!memcmp(out, "A\004xgJF", 6));
}
END_TEST

/* A NUL followed by digits must survive escape -> unescape (MySQL reads
 * "\0" as NUL whatever follows). */
START_TEST(test_nul_before_digit)
{
    const char raw[] = { 'a', 0, '1', '2', 0, '7', 0 };
    es_buf b = ES_BUF_INIT;
    es_field f[2];
    char out[32];
    size_t n;

    ck_assert_int_eq(es_row_escape(&b, raw, sizeof raw), 0);
    ck_assert_str_eq(b.data, "a\\012\\07\\0");
    ck_assert_int_eq(es_row_split(b.data, b.len, f, 2), 1);
    n = es_field_unescape(&f[0], out);
    ck_assert_uint_eq(n, sizeof raw);
    ck_assert(!memcmp(out, raw, sizeof raw));
    es_buf_free(&b);
}
END_TEST

START_TEST(test_row_end)
{
    const char *s = "a\tb\nc\\nd\n";

    ck_assert_ptr_eq(es_row_end(s, strlen(s)), s + 3);
    ck_assert_ptr_eq(es_row_end(s + 4, strlen(s) - 4), s + 8);
    {
        const char *t = "abc";

        ck_assert_ptr_eq(es_row_end(t, 3), t + 3);
        ck_assert_ptr_eq(es_row_end(t, 0), t);
    }
}
END_TEST

/* Random rows of random binary fields (and NULLs) survive the trip. */
START_TEST(test_roundtrip_random)
{
    uint32_t x = 2463534242u;
    es_buf row = ES_BUF_INIT;
    es_field f[17];
    char raw[17][40], out[80];
    size_t rawlen[17];
    int isnull[17];

    for (int iter = 0; iter < 20000; iter++) {
        size_t nf;
        const char *end;

        x ^= x << 13; x ^= x >> 17; x ^= x << 5;
        nf = 1 + x % 17;
        es_buf_reset(&row);
        for (size_t i = 0; i < nf; i++) {
            x ^= x << 13; x ^= x >> 17; x ^= x << 5;
            isnull[i] = x % 11 == 0;
            rawlen[i] = x % 40;
            for (size_t k = 0; k < rawlen[i]; k++) {
                x ^= x << 13; x ^= x >> 17; x ^= x << 5;
                /* bias towards the interesting bytes */
                raw[i][k] = "\\\t\n\r\0N0178x\b"[x % 13];
                if (x & 0x100000)
                    raw[i][k] = (char)(x >> 24);
            }
            if (i)
                es_buf_putc(&row, '\t');
            ck_assert_int_eq(es_row_escape(&row, isnull[i] ? NULL : raw[i], rawlen[i]), 0);
        }
        ck_assert_ptr_null(memchr(row.data, '\n', row.len));
        end = es_row_end(row.data, row.len);
        ck_assert_ptr_eq(end, row.data + row.len);
        ck_assert_int_eq(es_row_split(row.data, row.len, f, 17), (long)nf);
        for (size_t i = 0; i < nf; i++) {
            ck_assert_int_eq(f[i].is_null, isnull[i]);
            if (isnull[i])
                continue;
            ck_assert_uint_le(f[i].len, 80);
            ck_assert_uint_eq(es_field_unescape(&f[i], out), rawlen[i]);
            ck_assert_msg(!memcmp(out, raw[i], rawlen[i]), "iteration %d field %zu", iter, i);
        }
    }
    es_buf_free(&row);
}
END_TEST

static Suite *
rowcodec_suite(void)
{
    Suite *s = suite_create("rowcodec");
    TCase *tc = tcase_create("rowcodec");

    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_escape_basic);
    tcase_add_test(tc, test_escape_appends);
    tcase_add_test(tc, test_escape_max);
    tcase_add_test(tc, test_split_basic);
    tcase_add_test(tc, test_split_null);
    tcase_add_test(tc, test_split_malformed);
    tcase_add_test(tc, test_split_max);
    tcase_add_test(tc, test_unescape);
    tcase_add_test(tc, test_unescape_details);
    tcase_add_test(tc, test_nul_before_digit);
    tcase_add_test(tc, test_row_end);
    tcase_add_test(tc, test_roundtrip_random);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(rowcodec_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
