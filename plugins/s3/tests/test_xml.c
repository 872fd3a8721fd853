/*
 * test_xml.c - the s3 plugin's response parsers (plugins/s3/xml.c) on
 * S3 and STS documents: error codes with and without the S3 namespace,
 * ListObjectsV2 pages, STS credentials, ISO 8601 times, and hostile or
 * broken input (no entity expansion, no crash, clean failure).
 */
#define _GNU_SOURCE
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../s3.h"

/* the two helpers xml.c borrows from plugin.c and credentials.c */
void
s3_fmt(char *out, size_t cap, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(out, cap, fmt, ap);
    va_end(ap);
}

void
s3_creds_clear(s3_creds *c)
{
    free(c->access_key);
    free(c->secret_key);
    free(c->token);
    memset(c, 0, sizeof *c);
}

#define X(s) s, strlen(s)

START_TEST(test_error_doc)
{
    char code[64], msg[256];

    ck_assert_int_eq(s3_xml_error(X("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>"
        "NoSuchKey</Code><Message>The specified key does not exist.</Message><Key>a/b</Key>"
        "<RequestId>x</RequestId></Error>"), code, sizeof code, msg, sizeof msg), 0);
    ck_assert_str_eq(code, "NoSuchKey");
    ck_assert_str_eq(msg, "The specified key does not exist.");
    /* STS wraps its error */
    ck_assert_int_eq(s3_xml_error(X("<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/"
        "2011-06-15/\"><Error><Type>Sender</Type><Code>InvalidIdentityToken</Code><Message>"
        "bad</Message></Error></ErrorResponse>"), code, sizeof code, msg, sizeof msg), 0);
    ck_assert_str_eq(code, "InvalidIdentityToken");
    /* not an error document */
    ck_assert_int_eq(s3_xml_error(X("<ListBucketResult/>"), code, sizeof code, msg,
                                  sizeof msg), -1);
    ck_assert_int_eq(s3_xml_error(X("not xml at all <"), code, sizeof code, msg, sizeof msg), -1);
    ck_assert_int_eq(s3_xml_error("", 0, code, sizeof code, msg, sizeof msg), -1);
    /* truncation keeps a terminated string */
    ck_assert_int_eq(s3_xml_error(X("<Error><Code>SignatureDoesNotMatch</Code></Error>"),
                                  code, 5, msg, sizeof msg), 0);
    ck_assert_str_eq(code, "Sign");
}
END_TEST

START_TEST(test_find)
{
    char *id = s3_xml_find(X("<?xml version=\"1.0\"?><InitiateMultipartUploadResult xmlns="
        "\"http://s3.amazonaws.com/doc/2006-03-01/\"><Bucket>b</Bucket><Key>k</Key><UploadId>"
        "VXBsb2FkIElE</UploadId></InitiateMultipartUploadResult>"), "UploadId");

    ck_assert_ptr_nonnull(id);
    ck_assert_str_eq(id, "VXBsb2FkIElE");
    free(id);
    ck_assert_ptr_null(s3_xml_find(X("<a><b>1</b></a>"), "UploadId"));
}
END_TEST

static int nitems;
static char lastkey[128];
static uint64_t lastsize;
static int64_t lastmtime;

static envsync_status
item(void *arg, const char *key, uint64_t size, int64_t mtime)
{
    (void)arg;
    nitems++;
    snprintf(lastkey, sizeof lastkey, "%s", key);
    lastsize = size;
    lastmtime = mtime;
    return nitems == 99 ? ENVSYNC_ERR_INTERRUPTED : ENVSYNC_OK;
}

START_TEST(test_list_page)
{
    envsync_status cb;
    int trunc;
    char *next;
    const char *page =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><ListBucketResult xmlns=\"http://s3.amazonaws"
        ".com/doc/2006-03-01/\"><Name>b</Name><Prefix>backups/</Prefix><KeyCount>2</KeyCount>"
        "<MaxKeys>2</MaxKeys><IsTruncated>true</IsTruncated><Contents><Key>backups/j/"
        "20261125T033426Z.envsync</Key><LastModified>2026-11-25T03:34:26.000Z</LastModified>"
        "<ETag>\"x\"</ETag><Size>9782272</Size></Contents><Contents><Key>backups/j/a&amp;b</Key>"
        "<LastModified>2026-11-25T03:34:27Z</LastModified><Size>12</Size></Contents>"
        "<NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>"
        "</ListBucketResult>";

    nitems = 0;
    ck_assert_int_eq(s3_xml_list(X(page), item, NULL, &cb, &trunc, &next), 0);
    ck_assert_int_eq(cb, ENVSYNC_OK);
    ck_assert_int_eq(nitems, 2);
    ck_assert_str_eq(lastkey, "backups/j/a&b");
    ck_assert_uint_eq(lastsize, 12);
    ck_assert_int_eq(lastmtime, s3_parse_iso8601("2026-11-25T03:34:27Z"));
    ck_assert_int_eq(trunc, 1);
    ck_assert_str_eq(next, "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=");
    free(next);

    nitems = 0;
    ck_assert_int_eq(s3_xml_list(X("<ListBucketResult><IsTruncated>false</IsTruncated>"
                                   "</ListBucketResult>"), item, NULL, &cb, &trunc, &next), 0);
    ck_assert_int_eq(nitems, 0);
    ck_assert_int_eq(trunc, 0);
    ck_assert_ptr_null(next);

    /* a callback error stops the walk and is returned */
    nitems = 98;
    ck_assert_int_eq(s3_xml_list(X(page), item, NULL, &cb, &trunc, &next), 0);
    ck_assert_int_eq(cb, ENVSYNC_ERR_INTERRUPTED);
    ck_assert_int_eq(nitems, 99);
    free(next);

    ck_assert_int_eq(s3_xml_list(X("<Error><Code>AccessDenied</Code></Error>"), item, NULL,
                                 &cb, &trunc, &next), -1);
    ck_assert_int_eq(s3_xml_list(X("<ListBucketResult><Contents><Key>x"), item, NULL, &cb,
                                 &trunc, &next), -1);
}
END_TEST

START_TEST(test_sts_creds)
{
    s3_creds c;

    ck_assert_int_eq(s3_xml_sts_creds(X("<AssumeRoleWithWebIdentityResponse xmlns=\"https://sts."
        "amazonaws.com/doc/2011-06-15/\"><AssumeRoleWithWebIdentityResult><SubjectFromWebIdentity"
        "Token>x</SubjectFromWebIdentityToken><Credentials><AccessKeyId>ASIAEXAMPLE</AccessKeyId>"
        "<SecretAccessKey>secret/+=</SecretAccessKey><SessionToken>tok</SessionToken><Expiration>"
        "2026-11-25T05:00:00Z</Expiration></Credentials></AssumeRoleWithWebIdentityResult>"
        "</AssumeRoleWithWebIdentityResponse>"), &c), 0);
    ck_assert_str_eq(c.access_key, "ASIAEXAMPLE");
    ck_assert_str_eq(c.secret_key, "secret/+=");
    ck_assert_str_eq(c.token, "tok");
    ck_assert_int_eq((int64_t)c.expiration, s3_parse_iso8601("2026-11-25T05:00:00Z"));
    s3_creds_clear(&c);
    ck_assert_int_eq(s3_xml_sts_creds(X("<X><Credentials><AccessKeyId>a</AccessKeyId>"
                                        "</Credentials></X>"), &c), -1);
    ck_assert_ptr_null(c.access_key);
}
END_TEST

START_TEST(test_iso8601)
{
    ck_assert_int_eq(s3_parse_iso8601("1970-01-01T00:00:00Z"), 0);
    ck_assert_int_eq(s3_parse_iso8601("2015-08-30T12:36:00Z"), 1440938160);
    ck_assert_int_eq(s3_parse_iso8601("2015-08-30T12:36:00.123Z"), 1440938160);
    ck_assert_int_eq(s3_parse_iso8601("2015-08-30T14:36:00+02:00"), 1440938160);
    ck_assert_int_eq(s3_parse_iso8601("2015-08-30T10:36:00-02:00"), 1440938160);
    ck_assert_int_eq(s3_parse_iso8601("yesterday"), -1);
    ck_assert_int_eq(s3_parse_iso8601(NULL), -1);
}
END_TEST

START_TEST(test_hostile)
{
    char code[64], msg[256];
    char *big;
    size_t i, n = 1u << 20;

    /* entities are not expanded (no XXE, no billion laughs) */
    ck_assert_int_eq(s3_xml_error(X("<?xml version=\"1.0\"?><!DOCTYPE Error [<!ENTITY x SYSTEM "
        "\"file:///etc/passwd\">]><Error><Code>&x;</Code><Message>m</Message></Error>"),
        code, sizeof code, msg, sizeof msg), 0);
    ck_assert_ptr_null(strstr(code, "root"));
    /* deep nesting fails cleanly */
    big = malloc(n * 3 + 1);
    for (i = 0; i < n; i++)
        memcpy(big + 3 * i, "<a>", 3);
    big[3 * n] = '\0';
    ck_assert_ptr_null(s3_xml_find(big, 3 * n, "UploadId"));
    free(big);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("s3 xml");
    TCase *tc = tcase_create("parse");
    SRunner *sr;
    int failed;

    tcase_add_test(tc, test_error_doc);
    tcase_add_test(tc, test_find);
    tcase_add_test(tc, test_list_page);
    tcase_add_test(tc, test_sts_creds);
    tcase_add_test(tc, test_iso8601);
    tcase_add_test(tc, test_hostile);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
