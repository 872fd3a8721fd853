/*
 * sigv4.c - AWS Signature Version 4 (see sigv4.h for the encoding rules).
 */
#define _GNU_SOURCE
#include "sigv4.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

void
es_hex(const unsigned char *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    size_t i;

    for (i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

void
es_base64(const unsigned char *in, size_t n, char *out)
{
    EVP_EncodeBlock((unsigned char *)out, in, (int)n);
}

static void
digest(const EVP_MD *md, const void *data, size_t len, unsigned char *out)
{
    unsigned int outlen = 0;

    EVP_Digest(data, len, out, &outlen, md, NULL);
}

void
es_sha256(const void *data, size_t len, unsigned char out[32])
{
    digest(EVP_sha256(), data, len, out);
}

void
es_md5(const void *data, size_t len, unsigned char out[16])
{
    digest(EVP_md5(), data, len, out);
}

void
es_sha256_hex(const void *data, size_t len, char out[ES_SHA256_HEX_LEN + 1])
{
    unsigned char d[32];

    es_sha256(data, len, d);
    es_hex(d, 32, out);
}

void
es_hmac_sha256(const void *key, size_t keylen, const void *msg, size_t msglen,
               unsigned char out[32])
{
    unsigned int outlen = 32;

    HMAC(EVP_sha256(), key, (int)keylen, msg, msglen, out, &outlen);
}

void
es_sigv4_amz_date(time_t when, char out[17])
{
    struct tm tm;

    gmtime_r(&when, &tm);
    strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
}

static int
unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
}

int
es_sigv4_uri_encode(es_buf *out, const char *s, size_t n, int keep_slash)
{
    static const char digits[] = "0123456789ABCDEF";
    size_t i;

    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (unreserved(c) || (keep_slash && c == '/')) {
            if (es_buf_putc(out, (char)c) < 0)
                return -1;
        } else {
            char e[3] = { '%', digits[c >> 4], digits[c & 15] };
            if (es_buf_append(out, e, 3) < 0)
                return -1;
        }
    }
    return 0;
}

static int
hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decode s[0..n) into out (a '%' not followed by two hex digits is
 * kept literally). */
static int
uri_decode(es_buf *out, const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (s[i] == '%' && i + 2 < n && hexval((unsigned char)s[i + 1]) >= 0 &&
            hexval((unsigned char)s[i + 2]) >= 0) {
            char c = (char)(hexval((unsigned char)s[i + 1]) * 16 +
                            hexval((unsigned char)s[i + 2]));
            if (es_buf_putc(out, c) < 0)
                return -1;
            i += 2;
        } else if (es_buf_putc(out, s[i]) < 0) {
            return -1;
        }
    }
    return 0;
}

/* Remove "." and ".." segments and empty segments; keeps a trailing slash
 * when the input had one (as the SigV4 suite expects). */
static int
normalize(es_buf *out, const char *path)
{
    const char *segs[256];
    size_t lens[256];
    size_t nseg = 0, i, plen = strlen(path);
    const char *p = path, *end = path + plen;
    int trailing = plen > 1 && path[plen - 1] == '/';

    while (p < end) {
        const char *q;
        size_t l;
        while (p < end && *p == '/')
            p++;
        q = p;
        while (q < end && *q != '/')
            q++;
        l = (size_t)(q - p);
        if (l == 0) {
            /* nothing */
        } else if (l == 1 && p[0] == '.') {
            /* skip */
        } else if (l == 2 && p[0] == '.' && p[1] == '.') {
            if (nseg)
                nseg--;
        } else {
            if (nseg == sizeof segs / sizeof segs[0])
                return -1;
            segs[nseg] = p;
            lens[nseg++] = l;
        }
        p = q;
    }
    if (nseg == 0)
        return es_buf_putc(out, '/');
    for (i = 0; i < nseg; i++)
        if (es_buf_putc(out, '/') < 0 || es_buf_append(out, segs[i], lens[i]) < 0)
            return -1;
    if (trailing && es_buf_putc(out, '/') < 0)
        return -1;
    return 0;
}

int
es_sigv4_canonical_uri(es_buf *out, const char *path, int norm)
{
    es_buf tmp = ES_BUF_INIT;
    int rc;

    if (!path || !*path)
        return es_buf_putc(out, '/');
    if (!norm)
        return es_sigv4_uri_encode(out, path, strlen(path), 1);
    if (normalize(&tmp, path) < 0) {
        es_buf_free(&tmp);
        return -1;
    }
    rc = es_sigv4_uri_encode(out, tmp.data, tmp.len, 1);
    es_buf_free(&tmp);
    return rc;
}

typedef struct qparam {
    char *key;      /* encoded */
    char *value;    /* encoded */
} qparam;

static int
qparam_cmp(const void *a, const void *b)
{
    const qparam *x = a, *y = b;
    int c = strcmp(x->key, y->key);

    return c ? c : strcmp(x->value, y->value);
}

/* decode then strictly re-encode s[0..n) into a fresh string */
static char *
reencode(const char *s, size_t n)
{
    es_buf dec = ES_BUF_INIT, enc = ES_BUF_INIT;
    char *r = NULL;

    if (uri_decode(&dec, s, n) == 0 &&
        es_sigv4_uri_encode(&enc, dec.data ? dec.data : "", dec.len, 0) == 0)
        r = es_buf_detach(&enc, NULL);
    es_buf_free(&dec);
    es_buf_free(&enc);
    return r;
}

int
es_sigv4_canonical_query(es_buf *out, const char *query)
{
    qparam *ps = NULL;
    size_t n = 0, cap = 0, i;
    const char *p = query;
    int rc = -1;

    if (!query || !*query)
        return 0;
    while (*p) {
        const char *amp = strchr(p, '&'), *eq;
        size_t len = amp ? (size_t)(amp - p) : strlen(p);
        if (len) {
            if (n == cap) {
                qparam *np;
                cap = cap ? cap * 2 : 8;
                np = realloc(ps, cap * sizeof *ps);
                if (!np)
                    goto out;
                ps = np;
            }
            eq = memchr(p, '=', len);
            if (eq) {
                ps[n].key = reencode(p, (size_t)(eq - p));
                ps[n].value = reencode(eq + 1, len - (size_t)(eq - p) - 1);
            } else {
                ps[n].key = reencode(p, len);
                ps[n].value = reencode("", 0);
            }
            n++;
            if (!ps[n - 1].key || !ps[n - 1].value)
                goto out;
        }
        p += len;
        if (*p == '&')
            p++;
    }
    qsort(ps, n, sizeof *ps, qparam_cmp);
    for (i = 0; i < n; i++) {
        if ((i && es_buf_putc(out, '&') < 0) || es_buf_puts(out, ps[i].key) < 0 ||
            es_buf_putc(out, '=') < 0 || es_buf_puts(out, ps[i].value) < 0)
            goto out;
    }
    rc = 0;
out:
    for (i = 0; i < n; i++) {
        free(ps[i].key);
        free(ps[i].value);
    }
    free(ps);
    return rc;
}

typedef struct chdr {
    char *name;      /* lowercased */
    const char *value;
    size_t order;
} chdr;

static int
chdr_cmp(const void *a, const void *b)
{
    const chdr *x = a, *y = b;
    int c = strcmp(x->name, y->name);

    if (c)
        return c;
    return x->order < y->order ? -1 : x->order > y->order;
}

/* trimmed value with inner whitespace runs collapsed to one space */
static int
put_trimmed(es_buf *out, const char *v)
{
    int space = 0;

    while (*v == ' ' || *v == '\t')
        v++;
    for (; *v; v++) {
        if (*v == ' ' || *v == '\t' || *v == '\n' || *v == '\r') {
            space = 1;
            continue;
        }
        if (space && es_buf_putc(out, ' ') < 0)
            return -1;
        space = 0;
        if (es_buf_putc(out, *v) < 0)
            return -1;
    }
    return 0;
}

int
es_sigv4_sign(const es_sigv4_request *r, es_sigv4_result *res)
{
    es_buf creq = ES_BUF_INIT, sts = ES_BUF_INIT, signed_hdrs = ES_BUF_INIT;
    es_buf keybuf = ES_BUF_INIT;
    chdr *hs = NULL;
    char amzdate[17], datestamp[9], hash[ES_SHA256_HEX_LEN + 1];
    unsigned char k[32], k2[32];
    size_t i;
    int rc = -1;

    if (!r || !res || !r->method || !r->region || !r->service ||
        !r->access_key || !r->secret_key)
        return -1;
    es_sigv4_amz_date(r->when, amzdate);
    memcpy(datestamp, amzdate, 8);
    datestamp[8] = '\0';

    hs = calloc(r->nheaders ? r->nheaders : 1, sizeof *hs);
    if (!hs)
        goto out;
    for (i = 0; i < r->nheaders; i++) {
        size_t j, l = strlen(r->headers[i].name);
        hs[i].name = malloc(l + 1);
        if (!hs[i].name)
            goto out;
        for (j = 0; j <= l; j++)
            hs[i].name[j] = (char)tolower((unsigned char)r->headers[i].name[j]);
        hs[i].value = r->headers[i].value ? r->headers[i].value : "";
        hs[i].order = i;
    }
    qsort(hs, r->nheaders, sizeof *hs, chdr_cmp);

    /* canonical request */
    if (es_buf_puts(&creq, r->method) < 0 || es_buf_putc(&creq, '\n') < 0 ||
        es_sigv4_canonical_uri(&creq, r->path, r->normalize_path) < 0 ||
        es_buf_putc(&creq, '\n') < 0 ||
        es_sigv4_canonical_query(&creq, r->query) < 0 ||
        es_buf_putc(&creq, '\n') < 0)
        goto out;
    for (i = 0; i < r->nheaders; i++) {
        int first = i == 0 || strcmp(hs[i].name, hs[i - 1].name) != 0;
        if (first) {
            if ((i && es_buf_putc(&creq, '\n') < 0) ||
                es_buf_puts(&creq, hs[i].name) < 0 || es_buf_putc(&creq, ':') < 0)
                goto out;
            if ((signed_hdrs.len && es_buf_putc(&signed_hdrs, ';') < 0) ||
                es_buf_puts(&signed_hdrs, hs[i].name) < 0)
                goto out;
        } else if (es_buf_putc(&creq, ',') < 0) {
            goto out;
        }
        if (put_trimmed(&creq, hs[i].value) < 0)
            goto out;
    }
    if (es_buf_puts(&creq, "\n\n") < 0 ||
        es_buf_puts(&creq, signed_hdrs.data ? signed_hdrs.data : "") < 0 ||
        es_buf_putc(&creq, '\n') < 0 ||
        es_buf_puts(&creq, r->payload_hash ? r->payload_hash : ES_SIGV4_EMPTY_SHA256) < 0)
        goto out;

    /* string to sign */
    es_sha256_hex(creq.data, creq.len, hash);
    if (es_buf_printf(&sts, "AWS4-HMAC-SHA256\n%s\n%s/%s/%s/aws4_request\n%s",
                      amzdate, datestamp, r->region, r->service, hash) < 0)
        goto out;

    /* signing key and signature */
    if (es_buf_printf(&keybuf, "AWS4%s", r->secret_key) < 0)
        goto out;
    es_hmac_sha256(keybuf.data, keybuf.len, datestamp, 8, k);
    es_hmac_sha256(k, 32, r->region, strlen(r->region), k2);
    es_hmac_sha256(k2, 32, r->service, strlen(r->service), k);
    es_hmac_sha256(k, 32, "aws4_request", 12, k2);
    es_hmac_sha256(k2, 32, sts.data, sts.len, k);
    es_hex(k, 32, res->signature);

    if (res->authorization &&
        es_buf_printf(res->authorization,
                      "AWS4-HMAC-SHA256 Credential=%s/%s/%s/%s/aws4_request, "
                      "SignedHeaders=%s, Signature=%s",
                      r->access_key, datestamp, r->region, r->service,
                      signed_hdrs.data ? signed_hdrs.data : "", res->signature) < 0)
        goto out;
    if (res->canonical_request && es_buf_append(res->canonical_request, creq.data, creq.len) < 0)
        goto out;
    if (res->string_to_sign && es_buf_append(res->string_to_sign, sts.data, sts.len) < 0)
        goto out;
    rc = 0;
out:
    if (keybuf.data)
        OPENSSL_cleanse(keybuf.data, keybuf.len);
    OPENSSL_cleanse(k, sizeof k);
    OPENSSL_cleanse(k2, sizeof k2);
    es_buf_free(&keybuf);
    if (hs)
        for (i = 0; i < r->nheaders; i++)
            free(hs[i].name);
    free(hs);
    es_buf_free(&creq);
    es_buf_free(&sts);
    es_buf_free(&signed_hdrs);
    return rc;
}
