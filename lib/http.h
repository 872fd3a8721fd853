/*
 * http.h - one HTTP request with retries, on libcurl.
 *
 * An es_http_client owns one curl easy handle (so keep-alive connections
 * are reused) and must be used by one thread at a time: give each worker
 * thread its own client.  es_http_perform() runs one logical request:
 *
 *   for each attempt (1 + retries):
 *       prepare(arg, &headers)    build headers afresh (sign with a new
 *                                 x-amz-date and the current credentials)
 *       send; response body into resp->body (bounded by max_body),
 *       response headers into resp->headers
 *       stop unless the outcome is transient: connection refused/reset,
 *       timeout, stall, 5xx, 429, or what retry_hook() says (S3's
 *       "SlowDown"/"RequestTimeout" codes come with 503/400)
 *       sleep: exponential backoff with jitter, base * 2^n capped at max
 *       (half of it random), at least Retry-After when the server sent
 *       one (still capped), in slices so that cancelled() interrupts it
 *
 * The request body is sent from memory and re-sent whole on every attempt
 * (S3 parts are retried from their buffer, never re-produced).
 *
 * Outcomes are classified (es_http_result) so callers map them onto their
 * own status codes without looking at curl codes.
 */
#ifndef ES_HTTP_H
#define ES_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#include "buf.h"

typedef enum es_http_result {
    ES_HTTP_OK = 0,          /* a response arrived (any HTTP status) */
    ES_HTTP_ERR_CONNECT,     /* refused, DNS, reset, TLS handshake... */
    ES_HTTP_ERR_TIMEOUT,     /* request timeout or stall */
    ES_HTTP_ERR_TLS,         /* certificate verification failed */
    ES_HTTP_ERR_CANCELLED,   /* cancelled() said stop */
    ES_HTTP_ERR_TOOBIG,      /* response body larger than max_body */
    ES_HTTP_ERR_OTHER        /* bad URL, out of memory, prepare() failed */
} es_http_result;

typedef struct es_http_opts {
    long timeout_ms;          /* whole request; 0 = none */
    long connect_timeout_ms;  /* 0 = 10 s */
    long stall_ms;            /* abort when < 1 byte/s for this long; 0 = off */
    int retries;              /* extra attempts after the first */
    long backoff_base_ms;     /* 0 = 100 */
    long backoff_max_ms;      /* 0 = 20000 */
    const char *ca_file;      /* CA bundle (PEM), NULL = system default */
    int verify_tls;           /* 0 disables peer and host verification */
    size_t max_body;          /* bound on a buffered response; 0 = 1 MiB */
    /* Non-zero stops the request at the next progress tick or backoff
     * slice (result ES_HTTP_ERR_CANCELLED). */
    int (*cancelled)(void *arg);
    void *cancel_arg;
} es_http_opts;

typedef struct es_http_request {
    const char *method;       /* "GET", "PUT", "POST", "DELETE", "HEAD" */
    const char *url;
    const void *body;         /* NULL = no body */
    size_t body_len;
    /* Called before every attempt; appends headers with
     * es_http_header_add().  Non-zero aborts (ES_HTTP_ERR_OTHER). */
    int (*prepare)(void *arg, struct curl_slist **headers);
    void *prepare_arg;
    /* Called after an attempt that produced an HTTP response; returns 1 if
     * it is transient (retry), 0 if final, -1 for the default rule
     * (5xx and 429 retry). */
    int (*retry_hook)(void *arg, long status, const es_buf *body);
    void *retry_arg;
    /* Optional: where a 2xx response body goes instead of resp->body
     * (e.g. straight into a range buffer); other bodies (error documents)
     * still land in resp->body.  `sink_reset` is called before each
     * attempt.  Returning less than n aborts the transfer (ES_HTTP_ERR_OTHER,
     * not retried). */
    size_t (*sink)(void *arg, const void *p, size_t n);
    void (*sink_reset)(void *arg);
    void *sink_arg;
} es_http_request;

typedef struct es_http_response {
    long status;              /* HTTP status of the last attempt, 0 if none */
    es_buf body;              /* last attempt's body (bounded) */
    es_buf headers;           /* last attempt's raw response headers */
    int attempts;
    char error[256];          /* curl's message for the last failure */
} es_http_response;

typedef struct es_http_client es_http_client;

/* Once per process, before any thread starts (curl_global_init). */
int es_http_global_init(void);

es_http_client *es_http_client_new(const es_http_opts *opts);
void es_http_client_free(es_http_client *c);

void es_http_response_init(es_http_response *r);
void es_http_response_free(es_http_response *r);

es_http_result es_http_perform(es_http_client *c, const es_http_request *req,
                               es_http_response *resp);

/* Append "name: value" to a header list; 0 or -1. */
int es_http_header_add(struct curl_slist **list, const char *name, const char *value);

/* Value of a response header (case-insensitive name, last occurrence)
 * copied into out (trimmed); 0, or -1 when absent. */
int es_http_header_get(const es_http_response *r, const char *name, char *out, size_t cap);

/* Short text for a result: "connection failed", "timed out", ... */
const char *es_http_result_str(es_http_result r);

/* Milliseconds to sleep before retry number n (0-based): full jitter over
 * min(max, base * 2^n).  Exposed for tests. */
long es_http_backoff_ms(const es_http_opts *o, int n);

#endif
