/*
 * fuzz_s3.c - fuzz target (tests/fuzz/fuzz.h contract) for what the s3
 * plugin reads from the network or builds from keys: the XML parsers
 * (error documents, ListObjectsV2 pages, UploadId, STS credentials), ISO
 * 8601 times, and SigV4's canonical URI and query on arbitrary bytes.
 * Built with tests/fuzz/driver.c for `make check`.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../s3.h"
#include "fuzz.h"

/* the helpers xml.c borrows from plugin.c and credentials.c */
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

static envsync_status
item(void *arg, const char *key, uint64_t size, int64_t mtime)
{
    size_t *n = arg;

    (void)size;
    (void)mtime;
    *n += strlen(key);
    return ENVSYNC_OK;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data;
    char code[64], msg[128], *s, *t;
    envsync_status cb;
    int trunc;
    size_t n = 0;
    s3_creds c;
    es_buf b = ES_BUF_INIT;

    s3_xml_error(p, size, code, sizeof code, msg, sizeof msg);
    free(s3_xml_find(p, size, "UploadId"));
    if (s3_xml_list(p, size, item, &n, &cb, &trunc, &t) == 0)
        free(t);
    if (s3_xml_sts_creds(p, size, &c) == 0)
        s3_creds_clear(&c);

    s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    s3_parse_iso8601(s);
    b.max = 1u << 20;
    es_sigv4_canonical_uri(&b, s, 0);
    es_buf_reset(&b);
    es_sigv4_canonical_uri(&b, s, 1);
    es_buf_reset(&b);
    /* canonicalising twice changes nothing (decode + strict encode) */
    if (es_sigv4_canonical_query(&b, s) == 0 && b.data) {
        es_buf again = ES_BUF_INIT;
        char *once = strdup(b.data);
        if (once && es_sigv4_canonical_query(&again, once) == 0 &&
            strcmp(again.data ? again.data : "", once) != 0)
            abort();
        free(once);
        es_buf_free(&again);
    }
    es_buf_free(&b);
    free(s);
    return 0;
}

void
fuzz_seeds(fuzz_add_fn add)
{
    static const char *const seeds[] = {
        "<?xml version=\"1.0\"?><Error><Code>NoSuchKey</Code><Message>m</Message></Error>",
        "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><IsTruncated>true"
        "</IsTruncated><Contents><Key>a/b</Key><Size>12</Size><LastModified>2026-11-25T03:34:26"
        ".000Z</LastModified></Contents><NextContinuationToken>x=</NextContinuationToken>"
        "</ListBucketResult>",
        "<InitiateMultipartUploadResult><UploadId>VXBsb2Fk</UploadId></InitiateMultipartUploadResult>",
        "<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult><Credentials>"
        "<AccessKeyId>A</AccessKeyId><SecretAccessKey>S</SecretAccessKey><SessionToken>T"
        "</SessionToken><Expiration>2026-11-25T05:00:00+01:00</Expiration></Credentials>"
        "</AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>",
        "list-type=2&prefix=a%2Fb%20c&continuation-token=1%2B2%3D&max-keys=7",
        "/bucket/a b/../c/./d%zz\xe1\x88\xb4",
    };
    size_t i;

    for (i = 0; i < sizeof seeds / sizeof seeds[0]; i++)
        add((const uint8_t *)seeds[i], strlen(seeds[i]));
}
