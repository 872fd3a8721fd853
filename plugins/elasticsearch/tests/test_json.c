/*
 * test_json.c - unit tests of the raw JSON scanner (plugins/elasticsearch/json.c)
 * that copies _id, _routing and _source out of search responses.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "../es.h"

static int
find(const char *doc, const char *key, char *out, size_t cap)
{
    const char *v;
    size_t n;

    if (es_jfind(doc, doc + strlen(doc), key, &v, &n) < 0)
        return -1;
    if (n >= cap)
        n = cap - 1;
    memcpy(out, v, n);
    out[n] = '\0';
    return 0;
}

START_TEST(find_values)
{
    const char *doc = " { \"a\" : 1 , \"s\":\"x\\\"}{[\\\\\", \"o\":{\"k\":[1,{\"z\":\"]\"}]},"
                      "\"t\":true,\"n\":null, \"f\":-1.5e+300 ,\"e\":{},\"arr\":[]}";
    char out[256];

    ck_assert_int_eq(find(doc, "a", out, sizeof out), 0);
    ck_assert_str_eq(out, "1");
    ck_assert_int_eq(find(doc, "s", out, sizeof out), 0);
    ck_assert_str_eq(out, "\"x\\\"}{[\\\\\"");
    ck_assert_int_eq(find(doc, "o", out, sizeof out), 0);
    ck_assert_str_eq(out, "{\"k\":[1,{\"z\":\"]\"}]}");
    ck_assert_int_eq(find(doc, "t", out, sizeof out), 0);
    ck_assert_str_eq(out, "true");
    ck_assert_int_eq(find(doc, "n", out, sizeof out), 0);
    ck_assert_str_eq(out, "null");
    ck_assert_int_eq(find(doc, "f", out, sizeof out), 0);
    ck_assert_str_eq(out, "-1.5e+300");
    ck_assert_int_eq(find(doc, "e", out, sizeof out), 0);
    ck_assert_str_eq(out, "{}");
    ck_assert_int_eq(find(doc, "arr", out, sizeof out), 0);
    ck_assert_str_eq(out, "[]");
    ck_assert_int_eq(find(doc, "k", out, sizeof out), -1);   /* not at top level */
    ck_assert_int_eq(find(doc, "missing", out, sizeof out), -1);
    ck_assert_int_eq(find("{}", "a", out, sizeof out), -1);
}
END_TEST

START_TEST(iterate_hits)
{
    const char *r = "{\"hits\":{\"total\":{\"value\":3},\"hits\":[\n"
                    "{\"_id\":\"1\",\"_source\":{\"a\":\"[\"}},\n"
                    "{\"_id\":\"2\",\"_routing\":\"r\",\"_source\":{}} ,"
                    "{\"_id\":\"3\",\"_source\":\n{\n \"x\" : [1,\n2]\n}}]}}";
    const char *hits, *arr, *it, *el, *v;
    size_t hn, an, en, vn;
    int n = 0;
    es_buf b = ES_BUF_INIT;

    ck_assert_int_eq(es_jfind(r, r + strlen(r), "hits", &hits, &hn), 0);
    ck_assert_int_eq(es_jfind(hits, hits + hn, "hits", &arr, &an), 0);
    it = arr;
    while (es_jnext(&it, arr + an, &el, &en) == 1) {
        n++;
        ck_assert_int_eq(es_jfind(el, el + en, "_source", &v, &vn), 0);
        if (n == 3) {
            ck_assert_int_eq(es_jappend_flat(&b, v, vn), 0);
            ck_assert_str_eq(b.data, "{ \"x\" : [1,2]}");
        }
        if (n == 2) {
            ck_assert_int_eq(es_jfind(el, el + en, "_routing", &v, &vn), 0);
            ck_assert_int_eq((int)vn, 3);
        }
    }
    ck_assert_int_eq(n, 3);
    es_buf_free(&b);
    it = "[]";
    ck_assert_int_eq(es_jnext(&it, it + 2, &el, &en), 0);
}
END_TEST

START_TEST(malformed)
{
    /* every truncation of a valid document is handled without overrun */
    const char *doc = "{\"a\":{\"b\":[1,2,\"x\\\"y\"]},\"c\":\"d\"}";
    size_t len = strlen(doc), i;
    const char *v;
    size_t vn;

    for (i = 0; i < len; i++) {
        char *p = malloc(i ? i : 1);
        memcpy(p, doc, i);
        (void)es_jfind(p, p + i, "c", &v, &vn);
        (void)es_jskip(p, p + i);
        free(p);
    }
    ck_assert_int_eq(es_jfind("{\"a\" 1}", "{\"a\" 1}" + 7, "a", &v, &vn), -1);
    ck_assert_int_eq(es_jfind("[1]", "[1]" + 3, "a", &v, &vn), -1);
    ck_assert_uint_eq(es_jskip("\"abc", "\"abc" + 4), 0);
    ck_assert_uint_eq(es_jskip("[1,2]x", "[1,2]x" + 6), 5);
}
END_TEST

START_TEST(patterns)
{
    ck_assert(es_name_matches("logs-2024", "logs-*"));
    ck_assert(es_name_matches("logs", "*"));
    ck_assert(es_name_matches("a-b-c", "a*c"));
    ck_assert(!es_name_matches("logs", "logs-*"));
    ck_assert(!es_name_matches("xlogs", "logs*"));
    ck_assert(es_name_matches(".kibana", ".*"));
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("es_json");
    TCase *tc = tcase_create("scan");
    SRunner *sr;
    int failed;

    tcase_add_test(tc, find_values);
    tcase_add_test(tc, iterate_hits);
    tcase_add_test(tc, malformed);
    tcase_add_test(tc, patterns);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
