/*
 * http.c - HTTP requests with retries on libcurl (see http.h).
 */
#define _GNU_SOURCE
#include "http.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

struct es_http_client {
    CURL *h;
    es_http_opts o;
    char *ca_file;
    unsigned seed;
};

/* per-perform transfer state */
typedef struct xfer {
    const es_http_request *req;
    es_http_response *resp;
    const es_http_opts *o;
    size_t sent;
    size_t max_body;
    int toobig;
    int sink_failed;
} xfer;

int
es_http_global_init(void)
{
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

es_http_client *
es_http_client_new(const es_http_opts *opts)
{
    es_http_client *c = calloc(1, sizeof *c);

    if (!c)
        return NULL;
    c->o = *opts;
    if (opts->ca_file) {
        c->ca_file = strdup(opts->ca_file);
        if (!c->ca_file) {
            free(c);
            return NULL;
        }
        c->o.ca_file = c->ca_file;
    }
    if (!c->o.connect_timeout_ms)
        c->o.connect_timeout_ms = 10000;
    if (!c->o.backoff_base_ms)
        c->o.backoff_base_ms = 100;
    if (!c->o.backoff_max_ms)
        c->o.backoff_max_ms = 20000;
    if (!c->o.max_body)
        c->o.max_body = 1u << 20;
    c->h = curl_easy_init();
    if (!c->h) {
        free(c->ca_file);
        free(c);
        return NULL;
    }
    c->seed = (unsigned)time(NULL) ^ (unsigned)(uintptr_t)c ^ (unsigned)getpid();
    return c;
}

void
es_http_client_free(es_http_client *c)
{
    if (!c)
        return;
    curl_easy_cleanup(c->h);
    free(c->ca_file);
    free(c);
}

void
es_http_response_init(es_http_response *r)
{
    memset(r, 0, sizeof *r);
    es_buf_init(&r->body, 0);
    es_buf_init(&r->headers, 64 * 1024);
}

void
es_http_response_free(es_http_response *r)
{
    es_buf_free(&r->body);
    es_buf_free(&r->headers);
}

int
es_http_header_add(struct curl_slist **list, const char *name, const char *value)
{
    es_buf b = ES_BUF_INIT;
    struct curl_slist *n;

    if (es_buf_printf(&b, "%s: %s", name, value ? value : "") < 0)
        return -1;
    n = curl_slist_append(*list, b.data);
    es_buf_free(&b);
    if (!n)
        return -1;
    *list = n;
    return 0;
}

int
es_http_header_get(const es_http_response *r, const char *name, char *out, size_t cap)
{
    const char *p = r->headers.data, *end;
    size_t nl = strlen(name);
    int found = -1;

    if (!p || !cap)
        return -1;
    end = p + r->headers.len;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *le = eol ? eol : end;
        if ((size_t)(le - p) > nl && p[nl] == ':' && strncasecmp(p, name, nl) == 0) {
            const char *v = p + nl + 1, *ve = le;
            size_t n;
            while (v < ve && (*v == ' ' || *v == '\t'))
                v++;
            while (ve > v && isspace((unsigned char)ve[-1]))
                ve--;
            n = (size_t)(ve - v);
            if (n >= cap)
                n = cap - 1;
            memcpy(out, v, n);
            out[n] = '\0';
            found = 0;
        }
        p = le + 1;
    }
    return found;
}

const char *
es_http_result_str(es_http_result r)
{
    switch (r) {
    case ES_HTTP_OK: return "ok";
    case ES_HTTP_ERR_CONNECT: return "connection failed";
    case ES_HTTP_ERR_TIMEOUT: return "timed out";
    case ES_HTTP_ERR_TLS: return "TLS verification failed";
    case ES_HTTP_ERR_CANCELLED: return "cancelled";
    case ES_HTTP_ERR_TOOBIG: return "response too large";
    case ES_HTTP_ERR_OTHER: break;
    }
    return "request failed";
}

long
es_http_backoff_ms(const es_http_opts *o, int n)
{
    long base = o->backoff_base_ms > 0 ? o->backoff_base_ms : 100;
    long max = o->backoff_max_ms > 0 ? o->backoff_max_ms : 20000;
    long d = base;
    int i;

    for (i = 0; i < n && d < max; i++)
        d *= 2;
    if (d > max)
        d = max;
    return d;
}

static size_t
on_read(char *buf, size_t size, size_t nmemb, void *arg)
{
    xfer *x = arg;
    size_t want = size * nmemb, left = x->req->body_len - x->sent;

    if (want > left)
        want = left;
    if (want)
        memcpy(buf, (const char *)x->req->body + x->sent, want);
    x->sent += want;
    return want;
}

/* curl rewinds when it resends on a fresh connection (a reused keep-alive
 * connection that turned out dead) */
static int
on_seek(void *arg, curl_off_t offset, int origin)
{
    xfer *x = arg;

    if (origin != SEEK_SET || offset < 0 || (size_t)offset > x->req->body_len)
        return CURL_SEEKFUNC_FAIL;
    x->sent = (size_t)offset;
    return CURL_SEEKFUNC_OK;
}

static size_t
on_write(char *p, size_t size, size_t nmemb, void *arg)
{
    xfer *x = arg;
    size_t n = size * nmemb;
    long status = 0;

    /* Error responses always land in resp->body (they carry the S3 error
     * XML); only 2xx bodies go to the caller's sink. */
    if (x->req->sink) {
        status = x->resp->status;
        if (status >= 200 && status < 300) {
            if (x->req->sink(x->req->sink_arg, p, n) != n) {
                x->sink_failed = 1;
                return 0;
            }
            return n;
        }
    }
    if (x->resp->body.len + n > x->max_body) {
        x->toobig = 1;
        return 0;
    }
    if (es_buf_append(&x->resp->body, p, n) < 0)
        return 0;
    return n;
}

static size_t
on_header(char *p, size_t size, size_t nmemb, void *arg)
{
    xfer *x = arg;
    size_t n = size * nmemb;

    /* a status line starts a new header block (100 Continue, redirects) */
    if (n > 5 && strncmp(p, "HTTP/", 5) == 0) {
        const char *sp = memchr(p, ' ', n);
        es_buf_reset(&x->resp->headers);
        if (sp)
            x->resp->status = strtol(sp + 1, NULL, 10);
    }
    if (es_buf_append(&x->resp->headers, p, n) < 0)
        return 0;
    return n;
}

static int
on_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    xfer *x = arg;

    (void)dt; (void)dn; (void)ut; (void)un;
    return x->o->cancelled && x->o->cancelled(x->o->cancel_arg) ? 1 : 0;
}

static int
transient_curl(CURLcode rc)
{
    switch (rc) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_SEND_FAIL_REWIND:
        return 1;
    default:
        return 0;
    }
}

static es_http_result
classify_curl(CURLcode rc)
{
    switch (rc) {
    case CURLE_OK: return ES_HTTP_OK;
    case CURLE_OPERATION_TIMEDOUT: return ES_HTTP_ERR_TIMEOUT;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
        return ES_HTTP_ERR_TLS;
    case CURLE_ABORTED_BY_CALLBACK: return ES_HTTP_ERR_CANCELLED;
    case CURLE_URL_MALFORMAT:
    case CURLE_OUT_OF_MEMORY:
    case CURLE_UNSUPPORTED_PROTOCOL:
        return ES_HTTP_ERR_OTHER;
    default:
        return ES_HTTP_ERR_CONNECT;
    }
}

/* sleep ms in slices, 0 or -1 when cancelled */
static int
nap(const es_http_opts *o, long ms)
{
    while (ms > 0) {
        long s = ms > 50 ? 50 : ms;
        struct timespec ts = { 0, s * 1000000L };
        if (o->cancelled && o->cancelled(o->cancel_arg))
            return -1;
        nanosleep(&ts, NULL);
        ms -= s;
    }
    return o->cancelled && o->cancelled(o->cancel_arg) ? -1 : 0;
}

static CURLcode
setup(es_http_client *c, const es_http_request *req, xfer *x, struct curl_slist *hdrs,
      char *errbuf)
{
    CURL *h = c->h;
    const es_http_opts *o = &c->o;
    int has_body = req->body != NULL || strcmp(req->method, "PUT") == 0 ||
                   strcmp(req->method, "POST") == 0;

    curl_easy_reset(h);
    curl_easy_setopt(h, CURLOPT_URL, req->url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, x);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, o->connect_timeout_ms);
    if (o->timeout_ms > 0)
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, o->timeout_ms);
    if (o->stall_ms >= 1000) {
        curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, o->stall_ms / 1000);
    }
    if (o->ca_file)
        curl_easy_setopt(h, CURLOPT_CAINFO, o->ca_file);
    if (!o->verify_tls) {
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (strcmp(req->method, "HEAD") == 0) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (has_body) {
        curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(h, CURLOPT_READDATA, x);
        curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, on_seek);
        curl_easy_setopt(h, CURLOPT_SEEKDATA, x);
        curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)(req->body ? req->body_len : 0));
        if (strcmp(req->method, "PUT") != 0)
            curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req->method);
    } else if (strcmp(req->method, "GET") != 0) {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req->method);
    }
    return CURLE_OK;
}

es_http_result
es_http_perform(es_http_client *c, const es_http_request *req, es_http_response *resp)
{
    const es_http_opts *o = &c->o;
    int attempt, max_attempts = 1 + (o->retries > 0 ? o->retries : 0);
    es_http_result res = ES_HTTP_ERR_OTHER;

    resp->attempts = 0;
    resp->error[0] = '\0';
    for (attempt = 0; attempt < max_attempts; attempt++) {
        struct curl_slist *hdrs = NULL;
        char errbuf[CURL_ERROR_SIZE];
        xfer x;
        CURLcode rc;
        int retry = 0;

        memset(&x, 0, sizeof x);
        x.req = req;
        x.resp = resp;
        x.o = o;
        x.max_body = o->max_body;
        errbuf[0] = '\0';
        resp->status = 0;
        resp->attempts = attempt + 1;
        es_buf_reset(&resp->body);
        es_buf_reset(&resp->headers);
        if (req->sink_reset)
            req->sink_reset(req->sink_arg);
        if (req->prepare && req->prepare(req->prepare_arg, &hdrs) != 0) {
            curl_slist_free_all(hdrs);
            snprintf(resp->error, sizeof resp->error, "could not prepare the request");
            return ES_HTTP_ERR_OTHER;
        }
        /* no "Expect: 100-continue" round trip */
        if (es_http_header_add(&hdrs, "Expect", "") < 0) {
            curl_slist_free_all(hdrs);
            return ES_HTTP_ERR_OTHER;
        }
        setup(c, req, &x, hdrs, errbuf);
        rc = curl_easy_perform(c->h);
        curl_slist_free_all(hdrs);
        curl_easy_setopt(c->h, CURLOPT_ERRORBUFFER, NULL);
        curl_easy_setopt(c->h, CURLOPT_HTTPHEADER, NULL);

        if (rc == CURLE_OK) {
            long st = 0;
            curl_easy_getinfo(c->h, CURLINFO_RESPONSE_CODE, &st);
            resp->status = st;
            res = ES_HTTP_OK;
            if (req->retry_hook) {
                int h = req->retry_hook(req->retry_arg, st, &resp->body);
                retry = h >= 0 ? h : (st >= 500 || st == 429);
            } else {
                retry = st >= 500 || st == 429;
            }
            if (retry)
                snprintf(resp->error, sizeof resp->error, "HTTP %ld", st);
        } else {
            if (x.toobig) {
                snprintf(resp->error, sizeof resp->error,
                         "response body larger than %zu bytes", o->max_body);
                return ES_HTTP_ERR_TOOBIG;
            }
            snprintf(resp->error, sizeof resp->error, "%s",
                     errbuf[0] ? errbuf : curl_easy_strerror(rc));
            {
                size_t l = strlen(resp->error);
                while (l && (resp->error[l - 1] == '\n' || resp->error[l - 1] == '\r'))
                    resp->error[--l] = '\0';
            }
            if (x.sink_failed)
                return ES_HTTP_ERR_OTHER;
            res = classify_curl(rc);
            retry = transient_curl(rc);
        }
        if (!retry || attempt + 1 >= max_attempts)
            return res;
        {
            long d = es_http_backoff_ms(o, attempt);
            char ra[32];
            /* equal jitter: half fixed, half random, so it still grows */
            d = d / 2 + (long)(rand_r(&c->seed) % (unsigned)(d / 2 + 1));
            /* a server asking for a pause (Retry-After: seconds) gets it,
             * within the backoff cap */
            if (rc == CURLE_OK && es_http_header_get(resp, "Retry-After", ra, sizeof ra) == 0) {
                long secs = strtol(ra, NULL, 10);
                long cap = o->backoff_max_ms > 0 ? o->backoff_max_ms : 20000;
                if (secs > 0 && secs * 1000 > d)
                    d = secs * 1000 < cap ? secs * 1000 : cap;
            }
            if (nap(o, d) < 0) {
                snprintf(resp->error, sizeof resp->error, "cancelled");
                return ES_HTTP_ERR_CANCELLED;
            }
        }
    }
    return res;
}
