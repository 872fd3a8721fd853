/*
 * test_chunkpool.c - lib/chunkpool.c: reuse, rounding, the keep bound,
 * outsized buffers, and many threads getting and putting at once.
 */
#include <check.h>
#include <pthread.h>
#include <string.h>

#include "chunkpool.h"

#define MIB ((size_t)1 << 20)

START_TEST(test_reuse_and_rounding)
{
    es_chunkpool cp;
    size_t m1 = 0, m2 = 0;
    char *a, *b;

    es_chunkpool_init(&cp, 2);
    a = es_chunk_get(&cp, 3 * MIB + 1, &m1);
    ck_assert_ptr_nonnull(a);
    ck_assert_uint_eq(m1, 4 * MIB);
    memset(a, 'x', m1);                      /* the whole mapping is usable */
    es_chunk_put(&cp, a, m1);
    b = es_chunk_get(&cp, 2 * MIB, &m2);     /* smaller fits the idle one */
    ck_assert_ptr_eq(b, a);
    ck_assert_uint_eq(m2, 4 * MIB);
    ck_assert_uint_eq(cp.hits, 1);
    ck_assert_uint_eq(cp.maps, 1);
    es_chunk_put(&cp, b, m2);
    b = es_chunk_get(&cp, 5 * MIB, &m2);     /* bigger grows the idle one */
    ck_assert_ptr_nonnull(b);
    ck_assert_uint_eq(m2, 5 * MIB);
    ck_assert_uint_eq(cp.n, 0);
    ck_assert_uint_eq(cp.grows, 1);
    ck_assert_uint_eq(cp.maps, 1);           /* not one mapping more */
    memset(b, 'y', m2);
    es_chunk_put(&cp, b, m2);
    a = es_chunk_get(&cp, 7 * MIB, &m1);     /* grows again (grows 2) */
    b = es_chunk_get(&cp, 2 * MIB, &m2);     /* nothing idle: a new mapping */
    ck_assert_uint_eq(cp.maps, 2);
    es_chunk_put(&cp, b, m2);
    es_chunk_put(&cp, a, m1);
    ck_assert_uint_eq(cp.n, 2);
    a = es_chunk_get(&cp, 3 * MIB, &m1);     /* 2 MiB idle is too small, 7 fits */
    ck_assert_uint_eq(m1, 7 * MIB);
    ck_assert_uint_eq(cp.grows, 2);
    b = es_chunk_get(&cp, 6 * MIB, &m2);     /* grows the 2 MiB one */
    ck_assert_uint_eq(m2, 6 * MIB);
    ck_assert_uint_eq(cp.grows, 3);
    ck_assert_uint_eq(cp.maps, 2);
    memset(a, 'a', m1);
    memset(b, 'b', m2);
    es_chunk_put(&cp, a, m1);
    es_chunk_put(&cp, b, m2);
    a = es_chunk_get(&cp, 0, &m1);           /* 0 gives the minimum */
    ck_assert_ptr_nonnull(a);
    ck_assert_uint_ge(m1, MIB);
    es_chunk_put(&cp, a, m1);
    es_chunk_put(&cp, NULL, 0);              /* harmless */
    es_chunkpool_destroy(&cp);
}
END_TEST

START_TEST(test_keep_bound)
{
    es_chunkpool cp;
    void *p[5];
    size_t m[5], i;

    es_chunkpool_init(&cp, 3);
    for (i = 0; i < 5; i++)
        ck_assert_ptr_nonnull(p[i] = es_chunk_get(&cp, MIB, &m[i]));
    for (i = 0; i < 5; i++)
        es_chunk_put(&cp, p[i], m[i]);
    ck_assert_uint_eq(cp.n, 3);              /* two went back to the system */
    es_chunkpool_set_keep(&cp, 1);
    ck_assert_uint_eq(cp.n, 1);
    es_chunkpool_set_keep(&cp, 1000);        /* clamped */
    ck_assert_uint_eq(cp.keep, ES_CHUNKPOOL_MAX);
    /* a buffer above 64 MiB is never kept */
    p[0] = es_chunk_get(&cp, 65 * MIB, &m[0]);
    ck_assert_ptr_nonnull(p[0]);
    es_chunk_put(&cp, p[0], m[0]);
    ck_assert_uint_eq(cp.n, 1);
    /* keep 0: nothing is kept */
    es_chunkpool_set_keep(&cp, 0);
    p[0] = es_chunk_get(&cp, MIB, &m[0]);
    es_chunk_put(&cp, p[0], m[0]);
    ck_assert_uint_eq(cp.n, 0);
    es_chunkpool_destroy(&cp);
}
END_TEST

static void *
churn(void *arg)
{
    es_chunkpool *cp = arg;
    int i;

    for (i = 0; i < 200; i++) {
        size_t m;
        unsigned char *p = es_chunk_get(cp, (size_t)(i % 3 + 1) * MIB, &m);
        if (!p)
            return arg;
        p[0] = p[m - 1] = (unsigned char)i;
        es_chunk_put(cp, p, m);
    }
    return NULL;
}

START_TEST(test_threads)
{
    es_chunkpool cp;
    pthread_t th[4];
    int i;

    es_chunkpool_init(&cp, 4);
    for (i = 0; i < 4; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, churn, &cp), 0);
    for (i = 0; i < 4; i++) {
        void *r;
        pthread_join(th[i], &r);
        ck_assert_ptr_null(r);
    }
    ck_assert_uint_le(cp.n, 4);
    ck_assert_uint_eq(cp.hits + cp.maps + cp.grows, 800);
    ck_assert_uint_gt(cp.hits, cp.maps);     /* mostly reused */
    es_chunkpool_destroy(&cp);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("chunkpool");
    TCase *tc = tcase_create("core");
    SRunner *sr;
    int failed;

    tcase_add_test(tc, test_reuse_and_rounding);
    tcase_add_test(tc, test_keep_bound);
    tcase_add_test(tc, test_threads);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
