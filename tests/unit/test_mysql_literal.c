/*
 * test_mysql_literal.c - row-format fields as MySQL literals
 * (plugins/mysql/literal.c): what MySQL reads back from my_field_literal()
 * (modelled by mysql_literal_model.h) is what es_field_unescape() decodes,
 * for every escape of the row format, all byte values, NULL, numbers and
 * BIT values.  The real server reads the same literals in
 * plugins/mysql/tests/noinfile.sh and load.sh.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "literal.h"
#include "mysql_literal_model.h"
#include "rowcodec.h"

/* write field text (escaped, as in a row) as a literal of kind; check that
 * the model reads back the row format's own decoding, as model kind want */
static void
check_roundtrip(const char *text, size_t len, int kind, int want)
{
    es_field f = { text, len, len == 2 && text[0] == '\\' && text[1] == 'N' };
    es_buf b = ES_BUF_INIT;
    char *dec = malloc(len + 1), *got;
    size_t declen = es_field_unescape(&f, dec), gotlen;
    int k;

    ck_assert_int_eq(my_field_literal(&b, &f, kind), 0);
    got = malloc(b.len + 1);
    k = model_literal(b.data, b.len, got, &gotlen);
    ck_assert_msg(k == want, "field '%.*s': literal %s read as kind %d, want %d", (int)len,
                  text, b.data, k, want);
    if (want != MODEL_NULL) {
        ck_assert_msg(gotlen == declen && !memcmp(got, dec, declen),
                      "field '%.*s': literal %s does not read back as the field", (int)len,
                      text, b.data);
    }
    free(got);
    free(dec);
    es_buf_free(&b);
}

#define RT(s, kind, want) check_roundtrip(s, sizeof(s) - 1, kind, want)

START_TEST(test_plain_strings)
{
    RT("", MY_COL_PLAIN, MODEL_STRING);
    RT("hello", MY_COL_PLAIN, MODEL_STRING);
    RT("it's", MY_COL_PLAIN, MODEL_STRING);
    RT("''", MY_COL_PLAIN, MODEL_STRING);
    RT("say \"hi\"", MY_COL_PLAIN, MODEL_STRING);
    RT("caf\xc3\xa9 \xf0\x9f\x98\x80", MY_COL_PLAIN, MODEL_STRING);
    RT("100% _done_", MY_COL_PLAIN, MODEL_STRING);
    RT("\x1a", MY_COL_PLAIN, MODEL_STRING);
}
END_TEST

START_TEST(test_escapes)
{
    /* shared with MySQL: copied */
    RT("a\\tb\\nc\\rd\\\\e\\0f\\bg", MY_COL_PLAIN, MODEL_STRING);
    RT("\\0123", MY_COL_PLAIN, MODEL_STRING);        /* NUL then "123" */
    RT("\\'\\\"", MY_COL_PLAIN, MODEL_STRING);
    /* the row format's own: decoded */
    RT("\\f\\v", MY_COL_PLAIN, MODEL_STRING);
    RT("\\101\\7\\377\\47", MY_COL_PLAIN, MODEL_STRING);   /* \47 is a quote */
    RT("\\x41\\x4\\xg\\x", MY_COL_PLAIN, MODEL_STRING);
    RT("\\x27\\x5c\\x00", MY_COL_PLAIN, MODEL_STRING);     /* quote, backslash, NUL */
    /* differ in meaning between the two: decoded as the row format says */
    RT("\\Z\\%\\_\\q", MY_COL_PLAIN, MODEL_STRING);
    /* \N inside a field is N; a lone trailing backslash is dropped */
    RT("a\\Nb", MY_COL_PLAIN, MODEL_STRING);
    RT("a\\", MY_COL_PLAIN, MODEL_STRING);
}
END_TEST

START_TEST(test_all_bytes)
{
    char raw[256];
    es_buf esc = ES_BUF_INIT;
    int i;

    for (i = 0; i < 256; i++)
        raw[i] = (char)i;
    ck_assert_int_eq(es_row_escape(&esc, raw, sizeof(raw)), 0);
    check_roundtrip(esc.data, esc.len, MY_COL_PLAIN, MODEL_STRING);
    check_roundtrip(esc.data, esc.len, MY_COL_GEOM, MODEL_STRING);
    /* raw (unescaped) bytes too, as a malformed dump might hold them */
    check_roundtrip(raw + 1, 255 - 1, MY_COL_PLAIN, MODEL_STRING);
    check_roundtrip(raw, 256, MY_COL_PLAIN, MODEL_STRING);
    es_buf_free(&esc);
}
END_TEST

START_TEST(test_random)
{
    unsigned seed = 12345;
    int n;

    for (n = 0; n < 2000; n++) {
        char raw[64];
        size_t len, i;
        es_buf esc = ES_BUF_INIT;

        seed = seed * 1103515245u + 12345u;
        len = (seed >> 16) % sizeof(raw);
        for (i = 0; i < len; i++) {
            seed = seed * 1103515245u + 12345u;
            /* favour the special characters */
            raw[i] = (seed >> 16) % 4 ? "\\'\"\t\n\r\0%_Zx07"[(seed >> 8) % 14] : (char)(seed >> 20);
        }
        /* escaped by the dump's writer, and the raw text as if escaped */
        ck_assert_int_eq(es_row_escape(&esc, raw, len), 0);
        check_roundtrip(esc.data, esc.len, MY_COL_PLAIN, MODEL_STRING);
        if (!(len == 2 && raw[0] == '\\' && raw[1] == 'N'))
            check_roundtrip(raw, len, MY_COL_PLAIN, MODEL_STRING);
        es_buf_free(&esc);
    }
}
END_TEST

START_TEST(test_null)
{
    RT("\\N", MY_COL_PLAIN, MODEL_NULL);
    RT("\\N", MY_COL_NUMBER, MODEL_NULL);
    RT("\\N", MY_COL_BIT, MODEL_NULL);
    /* the string "\N" is written by the dump as \\N: not NULL */
    RT("\\\\N", MY_COL_PLAIN, MODEL_STRING);
}
END_TEST

START_TEST(test_numbers)
{
    RT("0", MY_COL_NUMBER, MODEL_BARE);
    RT("-9223372036854775808", MY_COL_NUMBER, MODEL_BARE);
    RT("18446744073709551615", MY_COL_NUMBER, MODEL_BARE);
    RT("-12345678901234567890123456789012345.123456789012345678901234567890", MY_COL_NUMBER,
       MODEL_BARE);
    RT("+1.5", MY_COL_NUMBER, MODEL_BARE);
    /* anything else stays a string and the server converts it */
    RT("", MY_COL_NUMBER, MODEL_STRING);
    RT("1e5", MY_COL_NUMBER, MODEL_STRING);
    RT("1.", MY_COL_NUMBER, MODEL_STRING);
    RT(".5", MY_COL_NUMBER, MODEL_STRING);
    RT("-", MY_COL_NUMBER, MODEL_STRING);
    RT("12abc", MY_COL_NUMBER, MODEL_STRING);
    RT("1;DROP", MY_COL_NUMBER, MODEL_STRING);
    /* numbers in string columns are strings ("007" must stay 007) */
    RT("007", MY_COL_PLAIN, MODEL_STRING);
}
END_TEST

START_TEST(test_bit)
{
    es_buf b = ES_BUF_INIT;
    es_field ok = { "18446744073709551615", 20, 0 }, bad = { "1x", 2, 0 }, empty = { "", 0, 0 },
             inj = { "1)", 2, 0 };

    ck_assert_int_eq(my_field_literal(&b, &ok, MY_COL_BIT), 0);
    ck_assert_str_eq(b.data, "18446744073709551615");
    ck_assert_int_eq(my_field_literal(&b, &bad, MY_COL_BIT), -2);
    ck_assert_int_eq(my_field_literal(&b, &empty, MY_COL_BIT), -2);
    ck_assert_int_eq(my_field_literal(&b, &inj, MY_COL_BIT), -2);
    es_buf_free(&b);
}
END_TEST

START_TEST(test_buffer_max)
{
    es_buf b;
    es_field f = { "0123456789", 10, 0 };

    es_buf_init(&b, 8);
    ck_assert_int_eq(my_field_literal(&b, &f, MY_COL_PLAIN), -1);
    ck_assert_int_eq(my_field_literal(&b, &f, MY_COL_NUMBER), -1);
    es_buf_free(&b);
}
END_TEST

static Suite *
suite(void)
{
    Suite *s = suite_create("mysql_literal");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_plain_strings);
    tcase_add_test(tc, test_escapes);
    tcase_add_test(tc, test_all_bytes);
    tcase_add_test(tc, test_random);
    tcase_add_test(tc, test_null);
    tcase_add_test(tc, test_numbers);
    tcase_add_test(tc, test_bit);
    tcase_add_test(tc, test_buffer_max);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
