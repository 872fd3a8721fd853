/*
 * s3.h - internals of the s3 storage plugin (not installed).
 *
 * Files: plugin.c (options, instance, request core, list, remove),
 * multipart.c (streaming writer), fetch.c (parallel ranged reader),
 * credentials.c (the AWS SDK provider chain), xml.c (libxml2 parsing).
 *
 * Threads: the core calls the plugin from one thread; the writer and the
 * reader start worker threads, each with its own es_http_client.  Shared
 * state is `s3` (read-only after init) and the credential provider
 * (mutex inside).  host->cancelled, host->log and host->redact are
 * thread-safe in the core.
 */
#ifndef ENVSYNC_S3_H
#define ENVSYNC_S3_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

#include <envsync/plugin.h>

#include "buf.h"
#include "http.h"
#include "sigv4.h"

#define S3_ERRLEN 512
#define S3_MIN_PART (5u * 1024 * 1024)
#define S3_MAX_PART ((size_t)5 << 30)
#define S3_MAX_PARTS 10000

/* ------------------------------------------------------------ credentials */
typedef struct s3_creds {
    char *access_key;
    char *secret_key;
    char *token;          /* NULL for long-term keys */
    time_t expiration;    /* 0 = does not expire */
} s3_creds;

typedef struct s3_credprov s3_credprov;

/* Where credentials may come from (explicit values win). */
typedef struct s3_credcfg {
    const char *access_key;
    const char *secret_key;
    const char *token;
    const char *profile;
    const char *region;
    const char *sts_endpoint;
    const char *imds_endpoint;
    const char *ca_file;
    int verify_tls;
    long timeout_ms;
    /* called with every secret obtained at run time (redaction) */
    void (*on_secret)(void *arg, const char *secret);
    void *on_secret_arg;
} s3_credcfg;

/* Resolves the chain once (so a missing credential fails at init);
 * returns NULL with err set (status in *st). */
s3_credprov *s3_credprov_new(const s3_credcfg *cfg, envsync_status *st, char *err,
                             size_t errlen);
void s3_credprov_free(s3_credprov *p);
/* Current credentials (a copy; refreshed first when they are about to
 * expire).  Thread-safe. */
envsync_status s3_credprov_get(s3_credprov *p, s3_creds *out, char *err, size_t errlen);
/* "environment", "shared file (profile x)", "web identity", ... */
const char *s3_credprov_source(const s3_credprov *p);
/* The server rejected the token as expired (clock skew, revoked session):
 * fetch anew on the next get().  0 for long-term keys (nothing to do). */
int s3_credprov_invalidate(s3_credprov *p);
/* number of times temporary credentials were fetched (tests, logs) */
unsigned s3_credprov_fetches(const s3_credprov *p);
void s3_creds_clear(s3_creds *c);

/* ------------------------------------------------------------ instance */
typedef struct s3 {
    envsync_ctx *ctx;
    const envsync_host *host;
    char *scheme;          /* "https" */
    char *endpoint_host;   /* "s3.us-east-1.amazonaws.com" or "127.0.0.1:18080" */
    char *bucket;
    char *region;
    int path_style;
    char *sse;             /* NULL, "AES256", "aws:kms" */
    char *sse_kms_key_id;
    char *storage_class;
    size_t part_size;
    int part_growth;       /* parts per doubling of the part size */
    size_t range_size;
    int concurrency;
    int max_keys;
    volatile int no_conditional;   /* server rejected If-None-Match (501) */
    es_http_opts http;
    s3_credprov *creds;
    es_http_client *client;   /* for calls made on the core's thread */
    es_http_client *cleanup;  /* ignores cancellation: AbortMultipartUpload
                               * must still go out when the run is failing */
} s3;

/* One S3 call. */
typedef struct s3_call {
    const char *method;
    const char *key;          /* object key, NULL = the bucket itself */
    const char *query;        /* encoded query without '?', may be NULL */
    const void *body;
    size_t body_len;
    int content_md5;          /* send Content-MD5 of the body */
    const char *range;        /* "bytes=a-b" */
    const char *if_match;     /* ETag the object must still have */
    int if_none_match;        /* "If-None-Match: *" (create-if-absent) */
    int object_headers;       /* SSE and storage class (PUT, create MPU) */
    const char *content_type;
    /* optional streaming sink for a 2xx body (see es_http_request) */
    size_t (*sink)(void *arg, const void *p, size_t n);
    void (*sink_reset)(void *arg);
    void *sink_arg;
    size_t max_body;          /* bound on buffered body; 0 = 1 MiB */
} s3_call;

/* Runs the call with retries and signing.  OK only for a 2xx answer whose
 * body is not an <Error> document.  Otherwise a classified status and a
 * message "METHOD s3://bucket/key: <what> (<Code>: <Message>)". */
envsync_status s3_do(s3 *s, es_http_client *c, const s3_call *call,
                     es_http_response *resp, char *err, size_t errlen);
es_http_client *s3_client_new(s3 *s);
/* worker-safe "stop now?" */
int s3_cancelled(void *s3ptr);
/* snprintf that may truncate (messages) */
void s3_fmt(char *out, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* for messages: "s3://bucket/key" */
void s3_uri(const s3 *s, const char *key, char *out, size_t cap);

/* ------------------------------------------------------------ storage */
envsync_status s3_write_open(envsync_ctx *ctx, void *state, const char *key, unsigned flags,
                             void **writer);
envsync_status s3_write(envsync_ctx *ctx, void *writer, const void *data, size_t len);
envsync_status s3_write_commit(envsync_ctx *ctx, void *writer);
void s3_write_abort(envsync_ctx *ctx, void *writer);

envsync_status s3_read_open(envsync_ctx *ctx, void *state, const char *key, uint64_t *size,
                            void **reader);
envsync_status s3_read(envsync_ctx *ctx, void *reader, void *buf, size_t cap, size_t *got);
void s3_read_close(envsync_ctx *ctx, void *reader);

/* ------------------------------------------------------------ xml */
/* Error document: 0 and code/message filled when body is <Error>. */
int s3_xml_error(const char *body, size_t len, char *code, size_t codecap, char *msg,
                 size_t msgcap);
/* Text of the first element named `name` anywhere in the document
 * (malloc'd), or NULL. */
char *s3_xml_find(const char *body, size_t len, const char *name);

typedef envsync_status (*s3_list_item_fn)(void *arg, const char *key, uint64_t size,
                                          int64_t mtime);
/* ListObjectsV2 page: calls fn per <Contents>; *truncated and *next
 * (malloc'd continuation token or NULL).  -1 on unparsable XML. */
int s3_xml_list(const char *body, size_t len, s3_list_item_fn fn, void *arg,
                envsync_status *cbst, int *truncated, char **next);
/* STS / container / IMDS credentials: from XML (STS) */
int s3_xml_sts_creds(const char *body, size_t len, s3_creds *out);
/* ISO 8601 "2026-11-25T04:05:06Z" / "...06.123Z" / "+00:00" -> epoch, -1 */
int64_t s3_parse_iso8601(const char *s);

#endif
