/*
 * client.c - REST calls to Elasticsearch / OpenSearch on lib/http.
 *
 * Retries: lib/http retries connection errors and timeouts; the hook below
 * makes 429, 502, 503 and 504 transient too and everything else final (a
 * 500 from the snapshot API is an answer, not a hiccup).  Backoff is
 * exponential with jitter (lib/http).  Authentication is one header
 * (Basic, ApiKey or Bearer), or an AWS SigV4 signature computed afresh for
 * every attempt (lib/sigv4, shared with the s3 plugin).
 */
#include "es.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sigv4.h"

static int
es_retry_hook(void *arg, long status, const es_buf *body)
{
    (void)arg;
    (void)body;
    return status == 429 || status == 502 || status == 503 || status == 504;
}

static int
es_cancelled(void *arg)
{
    es_conn *conn = arg;
    return !conn->ignore_cancel && conn->host->cancelled(conn->ctx) != ENVSYNC_OK;
}

typedef struct prep_arg {
    es_client *c;
    const char *method;
    const char *path;
    const char *query;
    const void *body;
    size_t len;
    const char *ctype;
} prep_arg;

static int
sign_request(prep_arg *a, struct curl_slist **h)
{
    es_conn *conn = a->c->conn;
    char amz[17], hash[ES_SHA256_HEX_LEN + 1];
    es_sigv4_header hdrs[4];
    es_sigv4_request rq;
    es_sigv4_result res;
    es_buf auth = ES_BUF_INIT;
    size_t nh = 0;
    int rc = -1;

    es_sigv4_amz_date(time(NULL), amz);
    es_sha256_hex(a->body ? a->body : "", a->body ? a->len : 0, hash);
    hdrs[nh].name = "host";
    hdrs[nh++].value = conn->host_header;
    hdrs[nh].name = "x-amz-date";
    hdrs[nh++].value = amz;
    hdrs[nh].name = "x-amz-content-sha256";
    hdrs[nh++].value = hash;
    if (conn->aws_session_token) {
        hdrs[nh].name = "x-amz-security-token";
        hdrs[nh++].value = conn->aws_session_token;
    }
    memset(&rq, 0, sizeof rq);
    rq.method = a->method;
    rq.path = a->path;
    rq.query = a->query;
    rq.headers = hdrs;
    rq.nheaders = nh;
    rq.payload_hash = hash;
    rq.region = conn->region;
    rq.service = "es";
    rq.when = time(NULL);
    rq.access_key = conn->aws_access_key;
    rq.secret_key = conn->aws_secret_key;
    rq.normalize_path = 1;
    memset(&res, 0, sizeof res);
    res.authorization = &auth;
    /* the Host header curl sends must be the one signed */
    if (es_sigv4_sign(&rq, &res) == 0 &&
        es_http_header_add(h, "Host", conn->host_header) == 0 &&
        es_http_header_add(h, "x-amz-date", amz) == 0 &&
        es_http_header_add(h, "x-amz-content-sha256", hash) == 0 &&
        (!conn->aws_session_token ||
         es_http_header_add(h, "x-amz-security-token", conn->aws_session_token) == 0) &&
        es_http_header_add(h, "Authorization", auth.data) == 0)
        rc = 0;
    es_buf_free(&auth);
    return rc;
}

static int
es_prepare(void *arg, struct curl_slist **h)
{
    prep_arg *a = arg;
    es_conn *conn = a->c->conn;

    if (a->body && es_http_header_add(h, "Content-Type", a->ctype) < 0)
        return -1;
    if (es_http_header_add(h, "Accept", "application/json") < 0)
        return -1;
    if (conn->sigv4)
        return sign_request(a, h);
    if (conn->auth && es_http_header_add(h, "Authorization", conn->auth) < 0)
        return -1;
    return 0;
}

es_client *
es_client_new(es_conn *conn)
{
    es_client *c = calloc(1, sizeof *c);

    if (!c)
        return NULL;
    c->conn = conn;
    c->http = es_http_client_new(&conn->http);
    if (!c->http) {
        free(c);
        return NULL;
    }
    es_http_response_init(&c->resp);
    return c;
}

void
es_client_free(es_client *c)
{
    if (!c)
        return;
    es_http_client_free(c->http);
    es_http_response_free(&c->resp);
    free(c);
}

envsync_status
es_call(es_client *c, const char *method, const char *path, const void *body,
        size_t len, const char *ctype, es_reply *r)
{
    es_conn *conn = c->conn;
    es_http_request rq;
    es_buf url = ES_BUF_INIT, p = ES_BUF_INIT;
    prep_arg a;
    const char *q;
    es_http_result res;
    envsync_status cst;

    memset(r, 0, sizeof *r);
    es_buf_printf(&url, "%s%s", conn->url, path);
    q = strchr(path, '?');
    es_buf_append(&p, path, q ? (size_t)(q - path) : strlen(path));
    memset(&a, 0, sizeof a);
    a.c = c;
    a.method = method;
    a.path = p.data;
    a.query = q ? q + 1 : NULL;
    a.body = body;
    a.len = len;
    a.ctype = ctype ? ctype : "application/json";
    memset(&rq, 0, sizeof rq);
    rq.method = method;
    rq.url = url.data;
    rq.body = body;
    rq.body_len = len;
    rq.prepare = es_prepare;
    rq.prepare_arg = &a;
    rq.retry_hook = es_retry_hook;
    res = es_http_perform(c->http, &rq, &c->resp);
    es_buf_free(&url);
    es_buf_free(&p);
    if (c->resp.attempts > 1)
        conn->host->log(conn->ctx, ENVSYNC_LOG_DEBUG, "%s %s: %d attempts (%s)",
                        method, path, c->resp.attempts, c->resp.error);
    if (res == ES_HTTP_OK) {
        r->status = c->resp.status;
        r->body = c->resp.body.data ? c->resp.body.data : "";
        r->len = c->resp.body.len;
        return ENVSYNC_OK;
    }
    switch (res) {
    case ES_HTTP_ERR_CANCELLED:
        cst = conn->host->cancelled(conn->ctx);
        return cst != ENVSYNC_OK ? cst : ENVSYNC_ERR_INTERRUPTED;
    case ES_HTTP_ERR_TIMEOUT:
        return conn->host->error(conn->ctx, ENVSYNC_ERR_TIMEOUT,
                                 "%s %s%s: timed out after %d attempt(s): %s",
                                 method, conn->url, path, c->resp.attempts, c->resp.error);
    case ES_HTTP_ERR_TLS:
        return conn->host->error(conn->ctx, ENVSYNC_ERR_CONNECT,
                                 "%s %s%s: TLS verification failed: %s (set ca_file, "
                                 "or verify_tls = false for a test cluster)",
                                 method, conn->url, path, c->resp.error);
    case ES_HTTP_ERR_TOOBIG:
        return conn->host->error(conn->ctx, ENVSYNC_ERR_OTHER,
                                 "%s %s%s: %s (lower batch_size)", method, conn->url,
                                 path, c->resp.error);
    default:
        return conn->host->error(conn->ctx, ENVSYNC_ERR_CONNECT,
                                 "%s %s%s: connection failed after %d attempt(s): %s",
                                 method, conn->url, path, c->resp.attempts, c->resp.error);
    }
}

envsync_status
es_fail(es_client *c, const es_reply *r, const char *what)
{
    es_conn *conn = c->conn;
    json_t *j = json_loadb(r->body, r->len, 0, NULL);
    json_t *err = j ? json_object_get(j, "error") : NULL;
    const char *type = NULL, *reason = NULL;
    envsync_status s = ENVSYNC_ERR_OTHER;
    envsync_status ret;

    if (json_is_object(err)) {
        json_t *root = json_array_get(json_object_get(err, "root_cause"), 0);
        type = json_string_value(json_object_get(err, "type"));
        reason = json_string_value(json_object_get(err, "reason"));
        /* the root cause says more than "all shards failed" */
        if (json_is_object(root) && type && strcmp(type, "search_phase_execution_exception") == 0) {
            type = json_string_value(json_object_get(root, "type"));
            reason = json_string_value(json_object_get(root, "reason"));
        }
    } else if (json_is_string(err)) {
        reason = json_string_value(err);
    }
    if (r->status == 401 || r->status == 403)
        s = ENVSYNC_ERR_AUTH;
    else if (r->status == 429 || r->status == 502 || r->status == 503 || r->status == 504)
        s = ENVSYNC_ERR_RETRY;
    if (type || reason)
        ret = conn->host->error(conn->ctx, s, "%s: HTTP %ld %s: %s", what, r->status,
                                type ? type : "error", reason ? reason : "");
    else
        ret = conn->host->error(conn->ctx, s, "%s: HTTP %ld: %.200s", what, r->status,
                                r->len ? r->body : "(empty body)");
    json_decref(j);
    return ret;
}

envsync_status
es_json(es_client *c, const char *method, const char *path, json_t *body,
        long accept, long *status, json_t **out, const char *what)
{
    char *text = NULL;
    es_reply r;
    envsync_status s;
    json_error_t je;

    if (out)
        *out = NULL;
    if (body) {
        text = json_dumps(body, JSON_COMPACT);
        if (!text)
            return c->conn->host->error(c->conn->ctx, ENVSYNC_ERR_OTHER, "%s: out of memory", what);
    }
    s = es_call(c, method, path, text, text ? strlen(text) : 0, NULL, &r);
    free(text);
    if (s != ENVSYNC_OK)
        return s;
    if (status)
        *status = r.status;
    if (r.status == accept && accept)
        return ENVSYNC_OK;
    if (r.status < 200 || r.status > 299)
        return es_fail(c, &r, what);
    if (out && strcmp(method, "HEAD") != 0) {
        *out = json_loadb(r.body, r.len, JSON_DECODE_ANY, &je);
        if (!*out)
            return c->conn->host->error(c->conn->ctx, ENVSYNC_ERR_OTHER,
                                        "%s: response is not JSON: %s", what, je.text);
    }
    return ENVSYNC_OK;
}

void
es_path_escape(es_buf *b, const char *s)
{
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~' || ch == '*' || ch == ',')
            es_buf_putc(b, (char)ch);
        else
            es_buf_printf(b, "%%%02X", ch);
    }
}

static char *
dupopt(es_state *st, const char *name)
{
    const char *v = st->host->opt_string(st->ctx, name);
    return v && *v ? strdup(v) : NULL;
}

static void
b64(const char *in, es_buf *out)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t n = strlen(in), i;
    const unsigned char *p = (const unsigned char *)in;

    for (i = 0; i + 2 < n; i += 3) {
        es_buf_putc(out, tab[p[i] >> 2]);
        es_buf_putc(out, tab[((p[i] & 3) << 4) | (p[i + 1] >> 4)]);
        es_buf_putc(out, tab[((p[i + 1] & 15) << 2) | (p[i + 2] >> 6)]);
        es_buf_putc(out, tab[p[i + 2] & 63]);
    }
    if (n - i == 1) {
        es_buf_putc(out, tab[p[i] >> 2]);
        es_buf_putc(out, tab[(p[i] & 3) << 4]);
        es_buf_puts(out, "==");
    } else if (n - i == 2) {
        es_buf_putc(out, tab[p[i] >> 2]);
        es_buf_putc(out, tab[((p[i] & 3) << 4) | (p[i + 1] >> 4)]);
        es_buf_putc(out, tab[(p[i + 1] & 15) << 2]);
        es_buf_putc(out, '=');
    }
}

envsync_status
es_conn_init(es_state *st)
{
    es_conn *conn = &st->conn;
    const envsync_host *h = st->host;
    envsync_ctx *ctx = st->ctx;
    const char *url = h->opt_string(ctx, "url");
    const char *user = h->opt_string(ctx, "username");
    const char *pass = h->opt_string(ctx, "password");
    const char *key = h->opt_string(ctx, "api_key");
    const char *tok = h->opt_string(ctx, "bearer_token");
    int nauth = 0;
    size_t n;

    memset(conn, 0, sizeof *conn);
    conn->ctx = ctx;
    conn->host = h;
    if (!url || (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0))
        return h->error(ctx, ENVSYNC_ERR_CONFIG, "%s: url must start with http:// or https:// (%s)",
                        h->opt_where(ctx, "url"), url ? url : "unset");
    conn->url = strdup(url);
    n = strlen(conn->url);
    while (n > 0 && conn->url[n - 1] == '/')
        conn->url[--n] = '\0';
    {
        const char *hs = strstr(conn->url, "://") + 3;
        const char *he = strchr(hs, '/');
        const char *at = strchr(hs, '@');
        if (at && (!he || at < he))
            return h->error(ctx, ENVSYNC_ERR_CONFIG,
                            "%s: put credentials in username/password, not in url",
                            h->opt_where(ctx, "url"));
        conn->host_header = he ? strndup(hs, (size_t)(he - hs)) : strdup(hs);
    }
    nauth = (user && *user) + (key && *key) + (tok && *tok);
    if (nauth > 1)
        return h->error(ctx, ENVSYNC_ERR_CONFIG,
                        "give only one of username/password, api_key, bearer_token");
    if (user && *user) {
        es_buf cred = ES_BUF_INIT, v = ES_BUF_INIT;
        es_buf_printf(&cred, "%s:%s", user, pass ? pass : "");
        es_buf_puts(&v, "Basic ");
        b64(cred.data, &v);
        h->redact(ctx, v.data + 6);
        conn->auth = es_buf_detach(&v, NULL);
        es_buf_free(&cred);
    } else if (key && *key) {
        es_buf v = ES_BUF_INIT;
        es_buf_puts(&v, "ApiKey ");
        if (strchr(key, ':'))      /* "id:api_key" form: encode it */
            b64(key, &v);
        else
            es_buf_puts(&v, key);  /* already the encoded form */
        h->redact(ctx, v.data + 7);
        conn->auth = es_buf_detach(&v, NULL);
    } else if (tok && *tok) {
        es_buf v = ES_BUF_INIT;
        es_buf_printf(&v, "Bearer %s", tok);
        conn->auth = es_buf_detach(&v, NULL);
    }
    conn->sigv4 = (int)h->opt_int(ctx, "aws_sigv4");
    if (conn->sigv4) {
        const char *ak = h->opt_string(ctx, "aws_access_key_id");
        const char *sk = h->opt_string(ctx, "aws_secret_access_key");
        const char *r = h->opt_string(ctx, "region");
        if (nauth)
            return h->error(ctx, ENVSYNC_ERR_CONFIG, "aws_sigv4 replaces username/api_key/bearer_token");
        if (!ak || !*ak)
            ak = getenv("AWS_ACCESS_KEY_ID");
        if (!sk || !*sk)
            sk = getenv("AWS_SECRET_ACCESS_KEY");
        if (!r || !*r)
            r = getenv("AWS_REGION");
        if (!ak || !sk || !*ak || !*sk)
            return h->error(ctx, ENVSYNC_ERR_CONFIG,
                            "aws_sigv4 needs aws_access_key_id/aws_secret_access_key "
                            "(or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)");
        if (!r || !*r)
            return h->error(ctx, ENVSYNC_ERR_CONFIG, "aws_sigv4 needs region (or AWS_REGION)");
        conn->aws_access_key = strdup(ak);
        conn->aws_secret_key = strdup(sk);
        h->redact(ctx, sk);
        conn->region = strdup(r);
        if (getenv("AWS_SESSION_TOKEN") && *getenv("AWS_SESSION_TOKEN")) {
            conn->aws_session_token = strdup(getenv("AWS_SESSION_TOKEN"));
            h->redact(ctx, conn->aws_session_token);
        }
    }
    conn->http.timeout_ms = (long)h->opt_int(ctx, "request_timeout");
    conn->http.connect_timeout_ms = 10000;
    conn->http.retries = (int)h->opt_int(ctx, "retries");
    conn->http.backoff_base_ms = 200;
    conn->http.backoff_max_ms = 30000;
    conn->http.ca_file = h->opt_string(ctx, "ca_file");
    if (conn->http.ca_file && !*conn->http.ca_file)
        conn->http.ca_file = NULL;
    conn->http.verify_tls = (int)h->opt_int(ctx, "verify_tls");
    conn->http.max_body = (size_t)512 << 20;
    conn->http.cancelled = es_cancelled;
    conn->http.cancel_arg = conn;
    if (!conn->http.verify_tls)
        h->log(ctx, ENVSYNC_LOG_WARN, "TLS certificate verification is off (verify_tls = false)");
    (void)dupopt;
    return ENVSYNC_OK;
}

void
es_conn_free(es_conn *conn)
{
    free(conn->url);
    free(conn->auth);
    free(conn->region);
    free(conn->aws_access_key);
    free(conn->aws_secret_key);
    free(conn->aws_session_token);
    free(conn->host_header);
    memset(conn, 0, sizeof *conn);
}

envsync_status
es_detect_version(es_state *st)
{
    json_t *j = NULL, *v;
    const char *num, *dist;
    envsync_status s;

    s = es_json(st->cl, "GET", "/", NULL, 0, NULL, &j, "GET / (cluster info)");
    if (s != ENVSYNC_OK)
        return s;
    v = json_object_get(j, "version");
    num = json_string_value(json_object_get(v, "number"));
    dist = json_string_value(json_object_get(v, "distribution"));
    if (!num) {
        json_decref(j);
        return st->host->error(st->ctx, ENVSYNC_ERR_OTHER,
                               "GET %s/: no version.number: not Elasticsearch or OpenSearch?",
                               st->conn.url);
    }
    snprintf(st->version, sizeof st->version, "%s", num);
    st->major = atoi(num);
    st->minor = strchr(num, '.') ? atoi(strchr(num, '.') + 1) : 0;
    st->opensearch = dist && strcmp(dist, "opensearch") == 0;
    json_decref(j);
    if (!st->opensearch && st->major < 6)
        return st->host->error(st->ctx, ENVSYNC_ERR_OTHER,
                               "Elasticsearch %s is not supported (6.8 or later)", st->version);
    st->host->log(st->ctx, ENVSYNC_LOG_INFO, "%s %s at %s",
                  st->opensearch ? "OpenSearch" : "Elasticsearch", st->version, st->conn.url);
    return ENVSYNC_OK;
}

int
es_name_matches(const char *name, const char *pat)
{
    /* '*' wildcards only, as index patterns use */
    while (*pat) {
        if (*pat == '*') {
            while (*pat == '*')
                pat++;
            if (!*pat)
                return 1;
            for (; *name; name++)
                if (es_name_matches(name, pat))
                    return 1;
            return 0;
        }
        if (*name != *pat)
            return 0;
        name++;
        pat++;
    }
    return *name == '\0';
}

void
es_suffix(char out[32])
{
    struct timespec ts;
    struct tm tm;
    size_t n;

    /* milliseconds too: two runs into one cluster within a second (a
     * retry, back-to-back jobs) must not pick the same new index name,
     * which the first run may have made live */
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    n = strftime(out, 32, "-envsync-%Y%m%d%H%M%S", &tm);
    snprintf(out + n, 32 - n, "%03ld", ts.tv_nsec / 1000000);
}
