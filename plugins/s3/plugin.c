/*
 * plugin.c - the "s3" storage plugin: options, instance, the signed
 * request core shared by every S3 call, list (ListObjectsV2) and remove.
 *
 * Works with AWS S3 and S3-compatible stores (MinIO, Ceph, Swift s3api,
 * R2).  Requests are signed with SigV4 (lib/sigv4) on every attempt (fresh
 * x-amz-date, current credentials) and retried by lib/http on transient
 * failures.
 */
#define _GNU_SOURCE
#include "s3.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <libxml/parser.h>

static const envsync_host *g_host;

#define S3_VERSION "1.0.0"

static const envsync_option s3_options[] = {
    { "bucket", ENVSYNC_OPT_STRING, ENVSYNC_OPT_REQUIRED, NULL, "bucket name" },
    { "endpoint", ENVSYNC_OPT_STRING, 0, NULL,
      "S3 endpoint URL (default AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, "
      "else https://s3.<region>.amazonaws.com)" },
    { "region", ENVSYNC_OPT_STRING, 0, "us-east-1",
      "signing region (unset: AWS_REGION, AWS_DEFAULT_REGION, else us-east-1)" },
    { "path_style", ENVSYNC_OPT_BOOL, 0, NULL,
      "path-style addressing (default: true when endpoint is set, else virtual-hosted)" },
    { "access_key_id", ENVSYNC_OPT_STRING, 0, NULL, "access key id (else the AWS SDK chain)" },
    { "secret_access_key", ENVSYNC_OPT_STRING, ENVSYNC_OPT_SECRET, NULL, "secret access key" },
    { "session_token", ENVSYNC_OPT_STRING, ENVSYNC_OPT_SECRET, NULL, "session token" },
    { "profile", ENVSYNC_OPT_STRING, 0, NULL, "profile in ~/.aws/credentials and ~/.aws/config" },
    { "ca_file", ENVSYNC_OPT_STRING, 0, NULL, "CA bundle (PEM) for TLS verification" },
    { "verify_tls", ENVSYNC_OPT_BOOL, 0, "true", "verify the server certificate" },
    { "sse", ENVSYNC_OPT_STRING, 0, "", "server-side encryption: \"\", AES256 or aws:kms" },
    { "sse_kms_key_id", ENVSYNC_OPT_STRING, 0, NULL, "KMS key id for sse = aws:kms" },
    { "storage_class", ENVSYNC_OPT_STRING, 0, NULL, "storage class, e.g. STANDARD_IA" },
    { "part_size", ENVSYNC_OPT_SIZE, 0, "16M", "multipart part size (>= 5M)" },
    { "part_growth", ENVSYNC_OPT_INT, 0, "2500",
      "double the part size every this many parts (S3 allows 10000 parts)" },
    { "range_size", ENVSYNC_OPT_SIZE, 0, "8M", "ranged GET size for fetch" },
    { "concurrency", ENVSYNC_OPT_INT, 0, "4", "parallel part uploads / ranged GETs" },
    { "request_timeout", ENVSYNC_OPT_DURATION, 0, "5m", "deadline of one HTTP request" },
    { "stall_timeout", ENVSYNC_OPT_DURATION, 0, "60s", "abort a request idle this long" },
    { "retries", ENVSYNC_OPT_INT, 0, "8", "retries of a failed request (backoff with jitter)" },
    { "max_keys", ENVSYNC_OPT_INT, 0, "1000", "page size of ListObjectsV2" },
    { "sts_endpoint", ENVSYNC_OPT_STRING, 0, NULL, "STS endpoint for web identity" },
    { "imds_endpoint", ENVSYNC_OPT_STRING, 0, NULL, "EC2 instance metadata endpoint" },
    { "create_bucket", ENVSYNC_OPT_BOOL, 0, "false", "create the bucket if it does not exist" },
    { NULL, ENVSYNC_OPT_END, 0, NULL, NULL }
};

/* ------------------------------------------------------------ helpers */
void
s3_fmt(char *out, size_t cap, const char *fmt, ...)
{
    va_list ap;

    if (!cap)
        return;
    va_start(ap, fmt);
    vsnprintf(out, cap, fmt, ap);
    va_end(ap);
}

int
s3_cancelled(void *arg)
{
    s3 *s = arg;

    return s->host->cancelled(s->ctx) != ENVSYNC_OK;
}

void
s3_uri(const s3 *s, const char *key, char *out, size_t cap)
{
    s3_fmt(out, cap, "s3://%s/%s", s->bucket, key ? key : "");
}

es_http_client *
s3_client_new(s3 *s)
{
    return es_http_client_new(&s->http);
}

static char *
xstrdup(const char *s)
{
    return s ? strdup(s) : NULL;
}

static void
on_secret(void *arg, const char *secret)
{
    s3 *s = arg;

    s->host->redact(s->ctx, secret);
}

/* ------------------------------------------------------------ signing */
typedef struct sigctx {
    s3 *s;
    const s3_call *call;
    const char *path;        /* raw path to sign: "/bucket/key" or "/key" */
    const char *host;        /* Host header */
    char payload_hash[ES_SHA256_HEX_LEN + 1];
    char md5[32];
    envsync_status st;
    char err[S3_ERRLEN];
} sigctx;

static int
prepare(void *arg, struct curl_slist **list)
{
    sigctx *g = arg;
    s3 *s = g->s;
    const s3_call *c = g->call;
    s3_creds cr;
    es_sigv4_header h[16];
    size_t n = 0, i;
    char amzdate[17];
    es_buf authz = ES_BUF_INIT;
    es_sigv4_request r;
    es_sigv4_result res;
    int rc = -1;

    memset(&cr, 0, sizeof cr);
    g->st = s3_credprov_get(s->creds, &cr, g->err, sizeof g->err);
    if (g->st != ENVSYNC_OK)
        return -1;
    es_sigv4_amz_date(time(NULL), amzdate);
    h[n++] = (es_sigv4_header){ "Host", g->host };
    h[n++] = (es_sigv4_header){ "x-amz-date", amzdate };
    h[n++] = (es_sigv4_header){ "x-amz-content-sha256", g->payload_hash };
    if (cr.token)
        h[n++] = (es_sigv4_header){ "x-amz-security-token", cr.token };
    if (c->content_md5)
        h[n++] = (es_sigv4_header){ "Content-MD5", g->md5 };
    if (c->range)
        h[n++] = (es_sigv4_header){ "Range", c->range };
    if (c->if_match)
        h[n++] = (es_sigv4_header){ "If-Match", c->if_match };
    if (c->if_none_match)
        h[n++] = (es_sigv4_header){ "If-None-Match", "*" };
    if (c->content_type)
        h[n++] = (es_sigv4_header){ "Content-Type", c->content_type };
    if (c->object_headers) {
        if (s->sse)
            h[n++] = (es_sigv4_header){ "x-amz-server-side-encryption", s->sse };
        if (s->sse_kms_key_id)
            h[n++] = (es_sigv4_header){ "x-amz-server-side-encryption-aws-kms-key-id",
                                        s->sse_kms_key_id };
        if (s->storage_class)
            h[n++] = (es_sigv4_header){ "x-amz-storage-class", s->storage_class };
    }
    memset(&r, 0, sizeof r);
    r.method = c->method;
    r.path = g->path;
    r.query = c->query;
    r.headers = h;
    r.nheaders = n;
    r.payload_hash = g->payload_hash;
    r.region = s->region;
    r.service = "s3";
    r.when = time(NULL);
    r.access_key = cr.access_key;
    r.secret_key = cr.secret_key;
    memset(&res, 0, sizeof res);
    res.authorization = &authz;
    /* x-amz-date above and r.when may straddle a second: sign with the
     * date in the header */
    {
        struct tm tm;
        memset(&tm, 0, sizeof tm);
        if (sscanf(amzdate, "%4d%2d%2dT%2d%2d%2dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                   &tm.tm_hour, &tm.tm_min, &tm.tm_sec) == 6) {
            tm.tm_year -= 1900;
            tm.tm_mon -= 1;
            r.when = timegm(&tm);
        }
    }
    if (es_sigv4_sign(&r, &res) != 0) {
        g->st = ENVSYNC_ERR_OTHER;
        s3_fmt(g->err, sizeof g->err, "could not sign the request");
        goto out;
    }
    for (i = 0; i < n; i++)
        if (es_http_header_add(list, h[i].name, h[i].value) < 0)
            goto out;
    if (es_http_header_add(list, "Authorization", authz.data) < 0)
        goto out;
    if (!c->content_type && c->body)
        es_http_header_add(list, "Content-Type", "application/octet-stream");
    rc = 0;
out:
    es_buf_free(&authz);
    s3_creds_clear(&cr);
    return rc;
}

/* S3 reports some transient conditions with 400/200 + error XML */
static int
retry_hook(void *arg, long status, const es_buf *body)
{
    char code[64], msg[8];

    (void)arg;
    if (status == 501)      /* NotImplemented: final */
        return 0;
    if (status >= 500 || status == 429)
        return 1;
    if (body->len && body->len < 64 * 1024 &&
        s3_xml_error(body->data, body->len, code, sizeof code, msg, sizeof msg) == 0) {
        if (strcmp(code, "SlowDown") == 0 || strcmp(code, "RequestTimeout") == 0 ||
            strcmp(code, "InternalError") == 0 || strcmp(code, "ServiceUnavailable") == 0 ||
            strcmp(code, "RequestTimeTooSkewed") == 0)
            return 1;
    }
    return 0;
}

static envsync_status
classify_code(long status, const char *code, const s3_call *c)
{
    static const char *const auth[] = {
        "SignatureDoesNotMatch", "InvalidAccessKeyId", "AccessDenied", "ExpiredToken",
        "InvalidToken", "TokenRefreshRequired", "AuthorizationHeaderMalformed",
        "InvalidSecurity", "AccountProblem", "AllAccessDisabled", NULL
    };
    size_t i;

    for (i = 0; auth[i]; i++)
        if (strcmp(code, auth[i]) == 0)
            return ENVSYNC_ERR_AUTH;
    if (strcmp(code, "NoSuchKey") == 0)
        return ENVSYNC_ERR_NOTFOUND;
    if (strcmp(code, "PreconditionFailed") == 0 || status == 412)
        return c->if_none_match ? ENVSYNC_ERR_LOCKED : ENVSYNC_ERR_INTEGRITY;
    if (strcmp(code, "SlowDown") == 0 || strcmp(code, "RequestTimeout") == 0 ||
        strcmp(code, "InternalError") == 0 || strcmp(code, "ServiceUnavailable") == 0)
        return ENVSYNC_ERR_RETRY;
    if (status == 401 || status == 403)
        return ENVSYNC_ERR_AUTH;
    if (status == 501 || strcmp(code, "NotImplemented") == 0)
        return ENVSYNC_ERR_STORAGE;   /* the store lacks a feature: final */
    if (status == 404 && !*code)
        return c->key ? ENVSYNC_ERR_NOTFOUND : ENVSYNC_ERR_STORAGE;
    if (status >= 500 || status == 429)
        return ENVSYNC_ERR_RETRY;
    return ENVSYNC_ERR_STORAGE;
}

static envsync_status s3_do1(s3 *s, es_http_client *cl, const s3_call *c,
                             es_http_response *resp, char *err, size_t errlen);
static envsync_status s3_do2(s3 *s, es_http_client *cl, const s3_call *c,
                             es_http_response *resp, char *err, size_t errlen);

/* Stores without conditional writes (Swift s3api, older MinIO) answer
 * If-None-Match with 501: fall back to the plain request; the writer
 * has already checked with HEAD that the key is absent. */
static int
token_expired(const es_http_response *r)
{
    char code[64], msg[8];

    return r->body.len && r->body.len < 64 * 1024 &&
           s3_xml_error(r->body.data, r->body.len, code, sizeof code, msg, sizeof msg) == 0 &&
           (strcmp(code, "ExpiredToken") == 0 || strcmp(code, "TokenRefreshRequired") == 0);
}

envsync_status
s3_do(s3 *s, es_http_client *cl, const s3_call *c, es_http_response *resp, char *err,
      size_t errlen)
{
    envsync_status st = s3_do2(s, cl, c, resp, err, errlen);

    /* temporary credentials the server considers expired before their
     * Expiration (clock skew, revoked session): fetch new ones, once */
    if (st == ENVSYNC_ERR_AUTH && token_expired(resp) && s3_credprov_invalidate(s->creds)) {
        s->host->log(s->ctx, ENVSYNC_LOG_INFO, "the session token expired early: fetching new "
                     "credentials from %s", s3_credprov_source(s->creds));
        st = s3_do2(s, cl, c, resp, err, errlen);
    }
    return st;
}

static envsync_status
s3_do2(s3 *s, es_http_client *cl, const s3_call *c, es_http_response *resp, char *err,
       size_t errlen)
{
    envsync_status st;

    if (c->if_none_match && s->no_conditional) {
        s3_call p = *c;
        p.if_none_match = 0;
        return s3_do1(s, cl, &p, resp, err, errlen);
    }
    st = s3_do1(s, cl, c, resp, err, errlen);
    if (st != ENVSYNC_OK && c->if_none_match && resp->status == 501) {
        s3_call p = *c;
        p.if_none_match = 0;
        s->no_conditional = 1;
        s->host->log(s->ctx, ENVSYNC_LOG_DEBUG, "the server does not support conditional "
                     "writes: create-if-absent relies on a HEAD check");
        st = s3_do1(s, cl, &p, resp, err, errlen);
    }
    return st;
}

static envsync_status
s3_do1(s3 *s, es_http_client *cl, const s3_call *c, es_http_response *resp, char *err,
       size_t errlen)
{
    es_buf path = ES_BUF_INIT, url = ES_BUF_INIT, host = ES_BUF_INIT, rawpath = ES_BUF_INIT;
    sigctx g;
    es_http_request req;
    es_http_result hr;
    char where[1024], code[128], msg[384];
    char *diag_region = NULL;
    envsync_status st = ENVSYNC_ERR_OTHER;

    memset(&g, 0, sizeof g);
    s3_uri(s, c->key, where, sizeof where);
    /* raw path (what is signed) and encoded path (what is sent) agree
     * because both come from the same bytes and one encoder */
    if (s->path_style) {
        es_buf_puts(&host, s->endpoint_host);
        es_buf_printf(&rawpath, "/%s", s->bucket);
        if (c->key)
            es_buf_printf(&rawpath, "/%s", c->key);
    } else {
        es_buf_printf(&host, "%s.%s", s->bucket, s->endpoint_host);
        es_buf_printf(&rawpath, "/%s", c->key ? c->key : "");
    }
    if (!rawpath.data || !host.data ||
        es_sigv4_canonical_uri(&path, rawpath.data, 0) < 0 ||
        es_buf_printf(&url, "%s://%s%s%s%s", s->scheme, host.data, path.data,
                      c->query && *c->query ? "?" : "", c->query ? c->query : "") < 0) {
        s3_fmt(err, errlen, "%s %s: out of memory", c->method, where);
        goto out;
    }
    g.s = s;
    g.call = c;
    g.path = rawpath.data;
    g.host = host.data;
    es_sha256_hex(c->body ? c->body : "", c->body ? c->body_len : 0, g.payload_hash);
    if (c->content_md5) {
        unsigned char d[16];
        es_md5(c->body ? c->body : "", c->body ? c->body_len : 0, d);
        es_base64(d, 16, g.md5);
    }
    memset(&req, 0, sizeof req);
    req.method = c->method;
    req.url = url.data;
    req.body = c->body;
    req.body_len = c->body_len;
    req.prepare = prepare;
    req.prepare_arg = &g;
    req.retry_hook = retry_hook;
    req.sink = c->sink;
    req.sink_reset = c->sink_reset;
    req.sink_arg = c->sink_arg;
    resp->body.max = 0;
    hr = es_http_perform(cl, &req, resp);
    if (hr != ES_HTTP_OK) {
        switch (hr) {
        case ES_HTTP_ERR_CONNECT:
        case ES_HTTP_ERR_TLS:
            st = ENVSYNC_ERR_CONNECT;
            break;
        case ES_HTTP_ERR_TIMEOUT:
            st = ENVSYNC_ERR_TIMEOUT;
            break;
        case ES_HTTP_ERR_CANCELLED:
            st = s->host->cancelled(s->ctx);
            if (st == ENVSYNC_OK)
                st = ENVSYNC_ERR_INTERRUPTED;
            break;
        case ES_HTTP_ERR_TOOBIG:
            st = ENVSYNC_ERR_STORAGE;
            break;
        default:
            st = g.st != ENVSYNC_OK ? g.st : ENVSYNC_ERR_OTHER;
            break;
        }
        if (g.st != ENVSYNC_OK)
            s3_fmt(err, errlen, "%s %s: %s", c->method, where, g.err);
        else
            s3_fmt(err, errlen, "%s %s: %s: %s (after %d attempt%s)", c->method, where,
                     es_http_result_str(hr), resp->error, resp->attempts,
                     resp->attempts == 1 ? "" : "s");
        goto out;
    }
    code[0] = msg[0] = '\0';
    if (resp->status >= 200 && resp->status < 300) {
        /* CompleteMultipartUpload may answer 200 with an error document */
        if (resp->body.len && resp->body.len < 64 * 1024 &&
            memmem(resp->body.data, resp->body.len, "<Error>", 7) &&
            s3_xml_error(resp->body.data, resp->body.len, code, sizeof code, msg,
                         sizeof msg) == 0) {
            st = classify_code(500, code, c);
            s3_fmt(err, errlen, "%s %s: %s: %s", c->method, where, code, msg);
            goto out;
        }
        st = ENVSYNC_OK;
        goto out;
    }
    if (resp->body.len)
        s3_xml_error(resp->body.data, resp->body.len, code, sizeof code, msg, sizeof msg);
    if (!*code && strcmp(c->method, "HEAD") == 0 && resp->status != 404 &&
        resp->status >= 400 && resp->status < 500) {
        /* HEAD answers carry no error document: ask again with a one-byte
         * GET to learn the code (SignatureDoesNotMatch, AccessDenied...) */
        s3_call d = *c;
        es_http_response dr;
        char derr[8];
        d.method = "GET";
        d.range = "bytes=0-0";
        d.sink = NULL;
        es_http_response_init(&dr);
        if (s3_do(s, cl, &d, &dr, derr, sizeof derr) != ENVSYNC_OK && dr.body.len) {
            s3_xml_error(dr.body.data, dr.body.len, code, sizeof code, msg, sizeof msg);
            diag_region = s3_xml_find(dr.body.data, dr.body.len, "Region");
        }
        es_http_response_free(&dr);
    }
    st = classify_code(resp->status, code, c);
    if (!*code && resp->status == 404 && !c->key)
        s3_fmt(code, sizeof code, "NoSuchBucket");
    {
        /* AWS names the bucket's region when it is not the signing one */
        char breg[64];
        char *xreg = NULL;
        int hint = 0;
        if (resp->status == 301 || strcmp(code, "AuthorizationHeaderMalformed") == 0 ||
            strcmp(code, "PermanentRedirect") == 0) {
            if (es_http_header_get(resp, "x-amz-bucket-region", breg, sizeof breg) == 0) {
                hint = 1;
            } else if ((xreg = diag_region) != NULL ||
                       (resp->body.len &&
                        (xreg = s3_xml_find(resp->body.data, resp->body.len, "Region")))) {
                diag_region = NULL;
                s3_fmt(breg, sizeof breg, "%s", xreg);
                hint = *breg != '\0';
                free(xreg);
            }
        }
        if (hint && strcmp(breg, s->region) != 0) {
            s3_fmt(err, errlen, "%s %s: HTTP %ld %s: the bucket is in region %s, not %s "
                   "(set region = \"%s\")", c->method, where, resp->status,
                   *code ? code : "PermanentRedirect", breg, s->region, breg);
            if (st == ENVSYNC_ERR_STORAGE || st == ENVSYNC_ERR_AUTH)
                st = ENVSYNC_ERR_CONFIG;
            goto out;
        }
    }
    if (strcmp(code, "NoSuchBucket") == 0)
        s3_fmt(err, errlen, "%s %s: bucket '%s' does not exist (HTTP %ld NoSuchBucket%s%s)",
                 c->method, where, s->bucket, resp->status, *msg ? ": " : "", msg);
    else
        s3_fmt(err, errlen, "%s %s: HTTP %ld%s%s%s%s%s", c->method, where, resp->status,
                 *code ? " " : "", code, *msg ? ": " : "", msg,
                 resp->attempts > 1 ? " (after retries)" : "");
out:
    free(diag_region);
    es_buf_free(&path);
    es_buf_free(&url);
    es_buf_free(&host);
    es_buf_free(&rawpath);
    return st;
}

/* ------------------------------------------------------------ config */
static envsync_status cfg_error(s3 *s, const char *opt, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static envsync_status
cfg_error(s3 *s, const char *opt, const char *fmt, ...)
{
    const char *w = s->host->opt_where(s->ctx, opt);
    char m[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(m, sizeof m, fmt, ap);
    va_end(ap);
    return s->host->error(s->ctx, ENVSYNC_ERR_CONFIG, "%s%s%s: %s", w ? w : "",
                          w && *w ? ": " : "", opt, m);
}

static envsync_status
parse_endpoint(s3 *s, const char *ep)
{
    const char *p = strstr(ep, "://");
    size_t n;

    if (!p || (strncasecmp(ep, "http://", 7) != 0 && strncasecmp(ep, "https://", 8) != 0))
        return cfg_error(s, "endpoint", "'%s' is not an http:// or https:// URL", ep);
    s->scheme = strndup(ep, (size_t)(p - ep));
    p += 3;
    n = strcspn(p, "/?#");
    if (n == 0)
        return cfg_error(s, "endpoint", "'%s' has no host", ep);
    s->endpoint_host = strndup(p, n);
    return s->scheme && s->endpoint_host ? ENVSYNC_OK
                                         : s->host->error(s->ctx, ENVSYNC_ERR_OTHER, "out of memory");
}

static void
s3_free(s3 *s)
{
    if (!s)
        return;
    es_http_client_free(s->client);
    es_http_client_free(s->cleanup);
    s3_credprov_free(s->creds);
    free(s->scheme);
    free(s->endpoint_host);
    free(s->bucket);
    free(s->region);
    free(s->sse);
    free(s->sse_kms_key_id);
    free(s->storage_class);
    free((char *)s->http.ca_file);
    free(s);
}

static void
s3_destroy(void *state)
{
    s3_free(state);
}

static envsync_status
create_bucket(s3 *s)
{
    es_http_response resp;
    s3_call c;
    char err[S3_ERRLEN], code[64], msg[8];
    envsync_status st;
    es_buf body = ES_BUF_INIT;

    memset(&c, 0, sizeof c);
    c.method = "PUT";
    if (strcmp(s->region, "us-east-1") != 0) {
        es_buf_printf(&body, "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/"
                      "2006-03-01/\"><LocationConstraint>%s</LocationConstraint>"
                      "</CreateBucketConfiguration>", s->region);
        c.body = body.data;
        c.body_len = body.len;
    }
    es_http_response_init(&resp);
    st = s3_do(s, s->client, &c, &resp, err, sizeof err);
    if (st != ENVSYNC_OK && resp.body.len &&
        s3_xml_error(resp.body.data, resp.body.len, code, sizeof code, msg, sizeof msg) == 0 &&
        (strcmp(code, "BucketAlreadyOwnedByYou") == 0 || strcmp(code, "BucketAlreadyExists") == 0))
        st = ENVSYNC_OK;
    if (st != ENVSYNC_OK)
        s->host->error(s->ctx, st, "create bucket: %s", err);
    else
        s->host->log(s->ctx, ENVSYNC_LOG_DEBUG, "bucket %s ready", s->bucket);
    es_http_response_free(&resp);
    es_buf_free(&body);
    return st;
}

static envsync_status
s3_init(envsync_ctx *ctx, void **state)
{
    const envsync_host *h = g_host;
    s3 *s = calloc(1, sizeof *s);
    const char *v, *ep;
    s3_credcfg cc;
    envsync_status st;
    char err[S3_ERRLEN];
    int64_t n;

    if (!s)
        return h->error(ctx, ENVSYNC_ERR_OTHER, "out of memory");
    s->ctx = ctx;
    s->host = h;
    xmlInitParser();
    if (es_http_global_init() != 0) {
        s3_free(s);
        return h->error(ctx, ENVSYNC_ERR_OTHER, "curl_global_init failed");
    }
    s->bucket = xstrdup(h->opt_string(ctx, "bucket"));
    /* like the SDKs: AWS_REGION / AWS_DEFAULT_REGION when not configured
     * (EKS injects AWS_REGION), AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL */
    v = h->opt_string(ctx, "region");
    if (!h->opt_isset(ctx, "region")) {
        const char *e = getenv("AWS_REGION");
        if (!e || !*e)
            e = getenv("AWS_DEFAULT_REGION");
        if (e && *e)
            v = e;
    }
    s->region = xstrdup(v && *v ? v : "us-east-1");
    if (!s->bucket || !*s->bucket) {
        st = cfg_error(s, "bucket", "must not be empty");
        goto fail;
    }
    ep = h->opt_string(ctx, "endpoint");
    if (!ep || !*ep) {
        ep = getenv("AWS_ENDPOINT_URL_S3");
        if (!ep || !*ep)
            ep = getenv("AWS_ENDPOINT_URL");
    }
    if (ep && *ep) {
        if ((st = parse_endpoint(s, ep)) != ENVSYNC_OK)
            goto fail;
        s->path_style = h->opt_isset(ctx, "path_style") ? (int)h->opt_int(ctx, "path_style") : 1;
    } else {
        char def[256];
        s3_fmt(def, sizeof def, "https://s3.%s.amazonaws.com", s->region);
        if ((st = parse_endpoint(s, def)) != ENVSYNC_OK)
            goto fail;
        s->path_style = h->opt_isset(ctx, "path_style") ? (int)h->opt_int(ctx, "path_style") : 0;
    }
    /* virtual-hosted names must be DNS labels; dotted names break TLS */
    if (!s->path_style && strchr(s->bucket, '.') && strcasecmp(s->scheme, "https") == 0)
        h->log(ctx, ENVSYNC_LOG_WARN, "bucket '%s' contains dots: virtual-hosted TLS may fail; "
               "set path_style = true", s->bucket);

    v = h->opt_string(ctx, "sse");
    if (v && *v) {
        if (strcmp(v, "AES256") != 0 && strcmp(v, "aws:kms") != 0) {
            st = cfg_error(s, "sse", "'%s' is not \"\", \"AES256\" or \"aws:kms\"", v);
            goto fail;
        }
        s->sse = strdup(v);
    }
    v = h->opt_string(ctx, "sse_kms_key_id");
    if (v && *v) {
        if (!s->sse || strcmp(s->sse, "aws:kms") != 0) {
            st = cfg_error(s, "sse_kms_key_id", "needs sse = \"aws:kms\"");
            goto fail;
        }
        s->sse_kms_key_id = strdup(v);
    }
    v = h->opt_string(ctx, "storage_class");
    if (v && *v)
        s->storage_class = strdup(v);

    n = h->opt_int(ctx, "part_size");
    if (n < (int64_t)S3_MIN_PART || n > (int64_t)5 << 30) {
        st = cfg_error(s, "part_size", "must be between 5M and 5G");
        goto fail;
    }
    s->part_size = (size_t)n;
    n = h->opt_int(ctx, "part_growth");
    if (n < 1 || n > S3_MAX_PARTS) {
        st = cfg_error(s, "part_growth", "must be between 1 and %d", S3_MAX_PARTS);
        goto fail;
    }
    s->part_growth = (int)n;
    n = h->opt_int(ctx, "range_size");
    if (n < 64 * 1024 || n > (int64_t)1 << 30) {
        st = cfg_error(s, "range_size", "must be between 64k and 1G");
        goto fail;
    }
    s->range_size = (size_t)n;
    n = h->opt_int(ctx, "concurrency");
    if (n < 1 || n > 64) {
        st = cfg_error(s, "concurrency", "must be between 1 and 64");
        goto fail;
    }
    s->concurrency = (int)n;
    n = h->opt_int(ctx, "max_keys");
    if (n < 1 || n > 1000) {
        st = cfg_error(s, "max_keys", "must be between 1 and 1000");
        goto fail;
    }
    s->max_keys = (int)n;
    n = h->opt_int(ctx, "retries");
    if (n < 0 || n > 100) {
        st = cfg_error(s, "retries", "must be between 0 and 100");
        goto fail;
    }
    s->http.retries = (int)n;
    s->http.timeout_ms = (long)h->opt_int(ctx, "request_timeout");
    s->http.stall_ms = (long)h->opt_int(ctx, "stall_timeout");
    s->http.verify_tls = (int)h->opt_int(ctx, "verify_tls");
    v = h->opt_string(ctx, "ca_file");
    s->http.ca_file = v && *v ? strdup(v) : NULL;
    s->http.cancelled = s3_cancelled;
    s->http.cancel_arg = s;
    s->http.max_body = 4u << 20;
    if (!s->http.verify_tls)
        h->log(ctx, ENVSYNC_LOG_WARN, "verify_tls = false: the server certificate is not checked");

    memset(&cc, 0, sizeof cc);
    cc.access_key = h->opt_string(ctx, "access_key_id");
    cc.secret_key = h->opt_string(ctx, "secret_access_key");
    cc.token = h->opt_string(ctx, "session_token");
    cc.profile = h->opt_string(ctx, "profile");
    cc.region = s->region;
    cc.sts_endpoint = h->opt_string(ctx, "sts_endpoint");
    cc.imds_endpoint = h->opt_string(ctx, "imds_endpoint");
    cc.ca_file = s->http.ca_file;
    cc.verify_tls = s->http.verify_tls;
    cc.timeout_ms = 30000;
    cc.on_secret = on_secret;
    cc.on_secret_arg = s;
    if ((cc.access_key && *cc.access_key) != (cc.secret_key && *cc.secret_key)) {
        st = cfg_error(s, cc.access_key && *cc.access_key ? "secret_access_key" : "access_key_id",
                       "access_key_id and secret_access_key go together");
        goto fail;
    }
    s->creds = s3_credprov_new(&cc, &st, err, sizeof err);
    if (!s->creds) {
        h->error(ctx, st, "credentials: %s", err);
        goto fail;
    }
    h->log(ctx, ENVSYNC_LOG_DEBUG, "s3://%s via %s://%s (%s-style), credentials from %s",
           s->bucket, s->scheme, s->endpoint_host, s->path_style ? "path" : "virtual-hosted",
           s3_credprov_source(s->creds));
    s->client = s3_client_new(s);
    {
        es_http_opts o = s->http;
        o.cancelled = NULL;
        o.cancel_arg = NULL;
        s->cleanup = es_http_client_new(&o);
    }
    if (!s->client || !s->cleanup) {
        st = h->error(ctx, ENVSYNC_ERR_OTHER, "out of memory");
        goto fail;
    }
    if (h->opt_int(ctx, "create_bucket") && (st = create_bucket(s)) != ENVSYNC_OK)
        goto fail;
    *state = s;
    return ENVSYNC_OK;
fail:
    s3_free(s);
    return st;
}

/* ------------------------------------------------------------ check */
static envsync_status
s3_check(envsync_ctx *ctx, void *state)
{
    s3 *s = state;
    es_http_response resp;
    s3_call c;
    char err[S3_ERRLEN];
    envsync_status st;

    memset(&c, 0, sizeof c);
    c.method = "GET";
    c.query = "list-type=2&max-keys=1";
    es_http_response_init(&resp);
    st = s3_do(s, s->client, &c, &resp, err, sizeof err);
    es_http_response_free(&resp);
    if (st != ENVSYNC_OK)
        return s->host->error(ctx, st, "%s", err);
    return ENVSYNC_OK;
}

/* ------------------------------------------------------------ list */
typedef struct listarg {
    envsync_list_cb cb;
    void *arg;
} listarg;

static envsync_status
list_item(void *arg, const char *key, uint64_t size, int64_t mtime)
{
    listarg *la = arg;
    envsync_object_info oi;

    oi.key = key;
    oi.size = size;
    oi.mtime = mtime;
    return la->cb(la->arg, &oi);
}

static envsync_status
s3_list(envsync_ctx *ctx, void *state, const char *prefix, envsync_list_cb cb, void *arg)
{
    s3 *s = state;
    char *token = NULL;
    envsync_status st = ENVSYNC_OK;
    es_http_response resp;
    listarg la = { cb, arg };
    char err[S3_ERRLEN];

    es_http_response_init(&resp);
    for (;;) {
        es_buf q = ES_BUF_INIT;
        s3_call c;
        int truncated = 0;
        char *next = NULL;
        envsync_status cbst;

        if ((st = s->host->cancelled(ctx)) != ENVSYNC_OK)
            break;
        /* parameters in canonical (sorted, encoded) order */
        if (token) {
            es_buf_puts(&q, "continuation-token=");
            es_sigv4_uri_encode(&q, token, strlen(token), 0);
            es_buf_putc(&q, '&');
        }
        es_buf_printf(&q, "list-type=2&max-keys=%d", s->max_keys);
        if (prefix && *prefix) {
            es_buf_puts(&q, "&prefix=");
            es_sigv4_uri_encode(&q, prefix, strlen(prefix), 0);
        }
        if (!q.data) {
            st = s->host->error(ctx, ENVSYNC_ERR_OTHER, "out of memory");
            break;
        }
        memset(&c, 0, sizeof c);
        c.method = "GET";
        c.query = q.data;
        st = s3_do(s, s->client, &c, &resp, err, sizeof err);
        es_buf_free(&q);
        if (st != ENVSYNC_OK) {
            s->host->error(ctx, st, "list %s: %s", prefix ? prefix : "", err);
            break;
        }
        if (s3_xml_list(resp.body.data, resp.body.len, list_item, &la, &cbst, &truncated,
                        &next) != 0) {
            st = s->host->error(ctx, ENVSYNC_ERR_STORAGE,
                                "list s3://%s/%s: unreadable ListObjectsV2 response",
                                s->bucket, prefix ? prefix : "");
            break;
        }
        if (cbst != ENVSYNC_OK) {
            free(next);
            st = cbst;
            break;
        }
        free(token);
        token = next;
        if (!truncated)
            break;
        if (!token) {
            st = s->host->error(ctx, ENVSYNC_ERR_STORAGE,
                                "list s3://%s/%s: truncated listing without continuation token",
                                s->bucket, prefix ? prefix : "");
            break;
        }
    }
    free(token);
    es_http_response_free(&resp);
    return st;
}

/* ------------------------------------------------------------ remove */
static envsync_status
s3_remove(envsync_ctx *ctx, void *state, const char *key)
{
    s3 *s = state;
    es_http_response resp;
    s3_call c;
    char err[S3_ERRLEN];
    envsync_status st;

    memset(&c, 0, sizeof c);
    c.method = "DELETE";
    c.key = key;
    es_http_response_init(&resp);
    st = s3_do(s, s->client, &c, &resp, err, sizeof err);
    es_http_response_free(&resp);
    if (st == ENVSYNC_ERR_NOTFOUND)
        st = ENVSYNC_OK;
    if (st != ENVSYNC_OK)
        return s->host->error(ctx, st, "remove: %s", err);
    return ENVSYNC_OK;
}

/* ------------------------------------------------------------ entry */
static const envsync_plugin s3_plugin = {
    .abi_version = ENVSYNC_ABI_VERSION,
    .struct_size = sizeof(envsync_plugin),
    .name = "s3",
    .version = S3_VERSION,
    .description = "S3 and S3-compatible object storage (multipart store, parallel ranged fetch)",
    .engine = NULL,
    .phases = ENVSYNC_PHASE_STORE | ENVSYNC_PHASE_FETCH,
    .options = s3_options,
    .init = s3_init,
    .check = s3_check,
    .destroy = s3_destroy,
    .write_open = s3_write_open,
    .write = s3_write,
    .write_commit = s3_write_commit,
    .write_abort = s3_write_abort,
    .read_open = s3_read_open,
    .read = s3_read,
    .read_close = s3_read_close,
    .list = s3_list,
    .remove = s3_remove,
};

const envsync_plugin *
envsync_plugin_entry(const envsync_host *host)
{
    g_host = host;
    return &s3_plugin;
}
