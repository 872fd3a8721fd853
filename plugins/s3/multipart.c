/*
 * multipart.c - streaming store: write() fills part buffers, worker threads
 * upload full parts while the backup keeps producing.
 *
 * Memory: concurrency + 1 buffers of part_size, allocated on demand (one
 * being filled, up to `concurrency` uploading); write() blocks while all
 * are busy.  Nothing else grows with the artifact except the ETag list.
 *
 * S3 allows 10000 parts per object.  So that a stream of unknown length
 * never hits that wall, the part size doubles every `part_growth` parts
 * (2500 by default: 16M parts up to 40 GiB, then 32M, 64M, 128M, capped at
 * 5 GiB), which takes the limit from 160 GiB to 600 GiB at the defaults;
 * only artifacts beyond the first step pay the larger buffers.
 *
 * Visibility: the object exists only after CompleteMultipartUpload (or
 * the single PUT of an object smaller than one part).  Any failure or
 * abort joins the workers first (no part still in flight) and then sends
 * AbortMultipartUpload, so no parts are left behind.
 *
 * A part is retried from its buffer (lib/http retries), never re-produced.
 */
#define _GNU_SOURCE
#include "s3.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { PART_FREE = 0, PART_FILLING, PART_QUEUED, PART_BUSY };

typedef struct part {
    char *buf;
    size_t cap;
    size_t len;
    int number;
    int state;
} part;

typedef struct s3_writer {
    s3 *s;
    envsync_ctx *ctx;
    char *key;
    unsigned flags;
    part *parts;
    int nbuf;
    part *fill;
    size_t target;         /* size the part being filled will have */
    char *upload_id;
    int completed;
    part **queue;          /* FIFO, capacity nbuf */
    int qhead, qlen;
    pthread_t *threads;
    int nthreads;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int stop;
    int inflight;
    envsync_status failed;
    char err[S3_ERRLEN];
    int next_number;
    uint64_t total;
    char **etags;          /* index = part number - 1 */
    size_t netags;
} s3_writer;

static void
fail_locked(s3_writer *w, envsync_status st, const char *msg)
{
    if (w->failed == ENVSYNC_OK) {
        w->failed = st;
        s3_fmt(w->err, sizeof w->err, "%s", msg);
    }
    pthread_cond_broadcast(&w->cond);
}

/* timed wait that also notices cancellation (returns non-OK then) */
static envsync_status
wait_locked(s3_writer *w)
{
    struct timespec ts;
    envsync_status st;

    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 200 * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&w->cond, &w->lock, &ts);
    st = w->s->host->cancelled(w->ctx);
    if (st != ENVSYNC_OK)
        fail_locked(w, st, "cancelled");
    return st;
}

static int
set_etag(s3_writer *w, int number, const char *etag)
{
    size_t i = (size_t)number - 1;

    if (i >= w->netags) {
        size_t n = w->netags ? w->netags * 2 : 64;
        char **e;
        while (n <= i)
            n *= 2;
        e = realloc(w->etags, n * sizeof *e);
        if (!e)
            return -1;
        memset(e + w->netags, 0, (n - w->netags) * sizeof *e);
        w->etags = e;
        w->netags = n;
    }
    free(w->etags[i]);
    w->etags[i] = strdup(etag);
    return w->etags[i] ? 0 : -1;
}

static envsync_status
upload_part(s3_writer *w, es_http_client *cl, part *p, char *err, size_t errlen)
{
    s3 *s = w->s;
    es_http_response resp;
    es_buf q = ES_BUF_INIT;
    s3_call c;
    char etag[256], e2[S3_ERRLEN];
    envsync_status st;

    es_buf_printf(&q, "partNumber=%d&uploadId=", p->number);
    es_sigv4_uri_encode(&q, w->upload_id, strlen(w->upload_id), 0);
    memset(&c, 0, sizeof c);
    c.method = "PUT";
    c.key = w->key;
    c.query = q.data;
    c.body = p->buf;
    c.body_len = p->len;
    c.content_md5 = 1;
    es_http_response_init(&resp);
    st = s3_do(s, cl, &c, &resp, e2, sizeof e2);
    if (st == ENVSYNC_OK) {
        if (es_http_header_get(&resp, "ETag", etag, sizeof etag) != 0) {
            s3_fmt(err, errlen, "part %d of %s: no ETag in the UploadPart answer",
                     p->number, w->key);
            st = ENVSYNC_ERR_STORAGE;
        } else {
            pthread_mutex_lock(&w->lock);
            if (set_etag(w, p->number, etag) != 0)
                st = ENVSYNC_ERR_OTHER;
            pthread_mutex_unlock(&w->lock);
            if (st != ENVSYNC_OK)
                s3_fmt(err, errlen, "out of memory");
        }
    } else {
        s3_fmt(err, errlen, "part %d: %s", p->number, e2);
    }
    es_http_response_free(&resp);
    es_buf_free(&q);
    return st;
}

static void *
worker(void *arg)
{
    s3_writer *w = arg;
    es_http_client *cl = s3_client_new(w->s);

    pthread_mutex_lock(&w->lock);
    if (!cl)
        fail_locked(w, ENVSYNC_ERR_OTHER, "out of memory (HTTP client)");
    for (;;) {
        part *p;
        envsync_status st;
        char err[S3_ERRLEN];

        while (!w->stop && w->qlen == 0)
            pthread_cond_wait(&w->cond, &w->lock);
        if (w->qlen == 0)
            break;
        p = w->queue[w->qhead];
        w->qhead = (w->qhead + 1) % w->nbuf;
        w->qlen--;
        if (w->failed != ENVSYNC_OK || !cl) {
            /* the upload is lost anyway: release the buffer */
            p->state = PART_FREE;
            p->len = 0;
            pthread_cond_broadcast(&w->cond);
            continue;
        }
        p->state = PART_BUSY;
        w->inflight++;
        pthread_mutex_unlock(&w->lock);

        st = upload_part(w, cl, p, err, sizeof err);

        pthread_mutex_lock(&w->lock);
        w->inflight--;
        if (st != ENVSYNC_OK)
            fail_locked(w, st, err);
        p->state = PART_FREE;
        p->len = 0;
        pthread_cond_broadcast(&w->cond);
    }
    pthread_mutex_unlock(&w->lock);
    es_http_client_free(cl);
    return NULL;
}

static envsync_status
start_upload(s3_writer *w)
{
    s3 *s = w->s;
    es_http_response resp;
    s3_call c;
    char err[S3_ERRLEN];
    envsync_status st;
    int i;

    memset(&c, 0, sizeof c);
    c.method = "POST";
    c.key = w->key;
    c.query = "uploads";
    c.object_headers = 1;
    c.content_type = "application/octet-stream";
    es_http_response_init(&resp);
    st = s3_do(s, s->client, &c, &resp, err, sizeof err);
    if (st == ENVSYNC_OK) {
        w->upload_id = s3_xml_find(resp.body.data, resp.body.len, "UploadId");
        if (!w->upload_id || !*w->upload_id) {
            free(w->upload_id);
            w->upload_id = NULL;
            st = s->host->error(w->ctx, ENVSYNC_ERR_STORAGE,
                                "store %s: CreateMultipartUpload answered without UploadId",
                                w->key);
        }
    } else {
        s->host->error(w->ctx, st, "store: %s", err);
    }
    es_http_response_free(&resp);
    if (st != ENVSYNC_OK)
        return st;
    s->host->log(w->ctx, ENVSYNC_LOG_DEBUG, "multipart upload of %s started (%zu-byte parts, "
                 "%d in parallel)", w->key, s->part_size, w->nthreads);
    w->threads = calloc((size_t)w->nthreads, sizeof *w->threads);
    if (!w->threads)
        return s->host->error(w->ctx, ENVSYNC_ERR_OTHER, "out of memory");
    for (i = 0; i < w->nthreads; i++) {
        int e = pthread_create(&w->threads[i], NULL, worker, w);
        if (e) {
            w->nthreads = i;
            return s->host->error(w->ctx, ENVSYNC_ERR_OTHER, "store %s: cannot start thread: %s",
                                  w->key, strerror(e));
        }
    }
    return ENVSYNC_OK;
}

/* size of part number n (from 1): part_size doubled every part_growth */
static size_t
part_size_for(const s3 *s, int n)
{
    size_t size = s->part_size;
    int steps = s->part_growth > 0 ? (n - 1) / s->part_growth : 0;

    while (steps-- > 0 && size < S3_MAX_PART / 2)
        size *= 2;
    return size > S3_MAX_PART ? S3_MAX_PART : size;
}

/* a free buffer to fill (allocating up to nbuf), waiting if all are busy */
static envsync_status
take_buffer(s3_writer *w)
{
    envsync_status st = ENVSYNC_OK;

    pthread_mutex_lock(&w->lock);
    for (;;) {
        int i;
        if (w->failed != ENVSYNC_OK) {
            st = w->failed;
            break;
        }
        for (i = 0; i < w->nbuf; i++) {
            part *p = &w->parts[i];
            if (p->state == PART_FREE) {
                /* the part this buffer will hold is the next one numbered */
                size_t want = part_size_for(w->s, w->next_number + 1);
                if (p->cap < want) {
                    free(p->buf);
                    p->cap = 0;
                    if (!(p->buf = malloc(want))) {
                        fail_locked(w, ENVSYNC_ERR_OTHER, "out of memory (part buffer)");
                        break;
                    }
                    p->cap = want;
                }
                w->target = want;
                p->state = PART_FILLING;
                p->len = 0;
                w->fill = p;
                break;
            }
        }
        if (w->fill || w->failed != ENVSYNC_OK) {
            st = w->failed;
            break;
        }
        if ((st = wait_locked(w)) != ENVSYNC_OK)
            break;
    }
    pthread_mutex_unlock(&w->lock);
    return st;
}

static envsync_status
report(s3_writer *w)
{
    envsync_status st;
    char err[S3_ERRLEN];

    pthread_mutex_lock(&w->lock);
    st = w->failed;
    s3_fmt(err, sizeof err, "%s", w->err);
    pthread_mutex_unlock(&w->lock);
    return w->s->host->error(w->ctx, st, "store %s: %s", w->key, err);
}

/* hand the filled buffer to the workers */
static envsync_status
enqueue_fill(s3_writer *w)
{
    envsync_status st;

    if (!w->upload_id && (st = start_upload(w)) != ENVSYNC_OK)
        return st;
    pthread_mutex_lock(&w->lock);
    if (w->failed != ENVSYNC_OK) {
        pthread_mutex_unlock(&w->lock);
        return report(w);
    }
    if (w->next_number >= S3_MAX_PARTS) {
        pthread_mutex_unlock(&w->lock);
        return w->s->host->error(w->ctx, ENVSYNC_ERR_STORAGE,
                                 "store %s: more than %d parts: raise part_size", w->key,
                                 S3_MAX_PARTS);
    }
    w->fill->number = ++w->next_number;
    w->fill->state = PART_QUEUED;
    w->queue[(w->qhead + w->qlen) % w->nbuf] = w->fill;
    w->qlen++;
    w->fill = NULL;
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->lock);
    return ENVSYNC_OK;
}

envsync_status
s3_write_open(envsync_ctx *ctx, void *state, const char *key, unsigned flags, void **writer)
{
    s3 *s = state;
    s3_writer *w = calloc(1, sizeof *w);

    if (!w)
        return s->host->error(ctx, ENVSYNC_ERR_OTHER, "out of memory");
    w->s = s;
    w->ctx = ctx;
    w->flags = flags;
    w->key = strdup(key);
    w->nbuf = s->concurrency + 1;
    w->nthreads = s->concurrency;
    w->parts = calloc((size_t)w->nbuf, sizeof *w->parts);
    w->queue = calloc((size_t)w->nbuf, sizeof *w->queue);
    if (!w->key || !w->parts || !w->queue) {
        free(w->key);
        free(w->parts);
        free(w->queue);
        free(w);
        return s->host->error(ctx, ENVSYNC_ERR_OTHER, "out of memory");
    }
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->cond, NULL);
    *writer = w;
    return ENVSYNC_OK;
}

envsync_status
s3_write(envsync_ctx *ctx, void *writer, const void *data, size_t len)
{
    s3_writer *w = writer;
    const char *p = data;
    envsync_status st;

    (void)ctx;
    while (len) {
        size_t n;
        if (!w->fill) {
            if ((st = take_buffer(w)) != ENVSYNC_OK)
                return report(w);
        } else if (w->fill->len == w->target) {
            /* flushed lazily, so an object of exactly one part is one PUT */
            if ((st = enqueue_fill(w)) != ENVSYNC_OK)
                return st;
            continue;
        }
        n = w->target - w->fill->len;
        if (n > len)
            n = len;
        memcpy(w->fill->buf + w->fill->len, p, n);
        w->fill->len += n;
        w->total += n;
        p += n;
        len -= n;
    }
    pthread_mutex_lock(&w->lock);
    st = w->failed;
    pthread_mutex_unlock(&w->lock);
    return st == ENVSYNC_OK ? ENVSYNC_OK : report(w);
}

static envsync_status
exists(s3_writer *w, int *yes)
{
    es_http_response resp;
    s3_call c;
    char err[S3_ERRLEN];
    envsync_status st;

    memset(&c, 0, sizeof c);
    c.method = "HEAD";
    c.key = w->key;
    es_http_response_init(&resp);
    st = s3_do(w->s, w->s->client, &c, &resp, err, sizeof err);
    es_http_response_free(&resp);
    *yes = st == ENVSYNC_OK;
    if (st == ENVSYNC_OK || st == ENVSYNC_ERR_NOTFOUND)
        return ENVSYNC_OK;
    return w->s->host->error(w->ctx, st, "store: %s", err);
}

static envsync_status
put_single(s3_writer *w)
{
    es_http_response resp;
    s3_call c;
    char err[S3_ERRLEN];
    envsync_status st;

    memset(&c, 0, sizeof c);
    c.method = "PUT";
    c.key = w->key;
    c.body = w->fill ? w->fill->buf : "";
    c.body_len = w->fill ? w->fill->len : 0;
    c.content_md5 = 1;
    c.object_headers = 1;
    c.if_none_match = (w->flags & ENVSYNC_WRITE_EXCLUSIVE) != 0;
    es_http_response_init(&resp);
    st = s3_do(w->s, w->s->client, &c, &resp, err, sizeof err);
    es_http_response_free(&resp);
    if (st == ENVSYNC_ERR_LOCKED)
        return w->s->host->error(w->ctx, st, "store %s: object already exists", w->key);
    if (st != ENVSYNC_OK)
        return w->s->host->error(w->ctx, st, "store: %s", err);
    w->completed = 1;
    return ENVSYNC_OK;
}

static envsync_status
complete(s3_writer *w)
{
    es_buf body = ES_BUF_INIT, q = ES_BUF_INIT;
    es_http_response resp;
    s3_call c;
    char err[S3_ERRLEN];
    envsync_status st;
    int i;

    es_buf_puts(&body, "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">");
    for (i = 0; i < w->next_number; i++) {
        const char *e = (size_t)i < w->netags ? w->etags[i] : NULL;
        if (!e) {
            es_buf_free(&body);
            return w->s->host->error(w->ctx, ENVSYNC_ERR_STORAGE,
                                     "store %s: part %d has no ETag", w->key, i + 1);
        }
        /* ETags are quoted hex: nothing to escape for XML */
        es_buf_printf(&body, "<Part><PartNumber>%d</PartNumber><ETag>%s</ETag></Part>", i + 1, e);
    }
    es_buf_puts(&body, "</CompleteMultipartUpload>");
    es_buf_puts(&q, "uploadId=");
    es_sigv4_uri_encode(&q, w->upload_id, strlen(w->upload_id), 0);
    if (!body.data || !q.data) {
        es_buf_free(&body);
        es_buf_free(&q);
        return w->s->host->error(w->ctx, ENVSYNC_ERR_OTHER, "out of memory");
    }
    memset(&c, 0, sizeof c);
    c.method = "POST";
    c.key = w->key;
    c.query = q.data;
    c.body = body.data;
    c.body_len = body.len;
    c.content_type = "application/xml";
    c.if_none_match = (w->flags & ENVSYNC_WRITE_EXCLUSIVE) != 0;
    es_http_response_init(&resp);
    st = s3_do(w->s, w->s->client, &c, &resp, err, sizeof err);
    if (st != ENVSYNC_OK && resp.status == 404) {
        /* a retried Complete whose first attempt succeeded finds the
         * upload gone: the object is there if its size matches */
        int yes = 0;
        es_http_response_free(&resp);
        es_buf_free(&body);
        es_buf_free(&q);
        if (exists(w, &yes) == ENVSYNC_OK && yes) {
            w->completed = 1;
            return ENVSYNC_OK;
        }
        return w->s->host->error(w->ctx, st, "store: %s", err);
    }
    es_http_response_free(&resp);
    es_buf_free(&body);
    es_buf_free(&q);
    if (st == ENVSYNC_ERR_LOCKED)
        return w->s->host->error(w->ctx, st, "store %s: object already exists", w->key);
    if (st != ENVSYNC_OK)
        return w->s->host->error(w->ctx, st, "store: %s", err);
    w->completed = 1;
    w->s->host->log(w->ctx, ENVSYNC_LOG_DEBUG, "stored %s: %llu bytes in %d parts", w->key,
                    (unsigned long long)w->total, w->next_number);
    return ENVSYNC_OK;
}

static void writer_free(s3_writer *w);

static envsync_status
commit(s3_writer *w)
{
    envsync_status st;

    pthread_mutex_lock(&w->lock);
    st = w->failed;
    pthread_mutex_unlock(&w->lock);
    if (st != ENVSYNC_OK)
        return report(w);
    if (w->flags & ENVSYNC_WRITE_EXCLUSIVE) {
        int yes = 0;
        if ((st = exists(w, &yes)) != ENVSYNC_OK)
            return st;
        if (yes)
            return w->s->host->error(w->ctx, ENVSYNC_ERR_LOCKED,
                                     "store %s: object already exists", w->key);
    }
    if (!w->upload_id)
        return put_single(w);
    if (w->fill && w->fill->len && (st = enqueue_fill(w)) != ENVSYNC_OK)
        return st;
    pthread_mutex_lock(&w->lock);
    while (w->failed == ENVSYNC_OK && (w->qlen || w->inflight))
        if (wait_locked(w) != ENVSYNC_OK)
            break;
    st = w->failed;
    pthread_mutex_unlock(&w->lock);
    if (st != ENVSYNC_OK)
        return report(w);
    return complete(w);
}

/* On success the writer is freed here; on failure the core calls
 * write_abort, which frees it. */
envsync_status
s3_write_commit(envsync_ctx *ctx, void *writer)
{
    s3_writer *w = writer;
    envsync_status st;

    (void)ctx;
    st = commit(w);
    if (st == ENVSYNC_OK)
        writer_free(w);
    return st;
}

static void
abort_upload(s3_writer *w)
{
    es_http_response resp;
    es_buf q = ES_BUF_INIT;
    s3_call c;
    char err[S3_ERRLEN];
    envsync_status st;

    es_buf_puts(&q, "uploadId=");
    es_sigv4_uri_encode(&q, w->upload_id, strlen(w->upload_id), 0);
    memset(&c, 0, sizeof c);
    c.method = "DELETE";
    c.key = w->key;
    c.query = q.data;
    es_http_response_init(&resp);
    st = s3_do(w->s, w->s->cleanup, &c, &resp, err, sizeof err);
    if (st != ENVSYNC_OK && st != ENVSYNC_ERR_NOTFOUND && resp.status != 404)
        w->s->host->log(w->ctx, ENVSYNC_LOG_WARN,
                        "AbortMultipartUpload of %s (upload id %s) failed: %s; the parts stay "
                        "until a bucket lifecycle rule removes them", w->key, w->upload_id, err);
    else
        w->s->host->log(w->ctx, ENVSYNC_LOG_DEBUG, "multipart upload of %s aborted", w->key);
    es_http_response_free(&resp);
    es_buf_free(&q);
}

static void
writer_free(s3_writer *w)
{
    int i;

    if (!w)
        return;
    pthread_mutex_lock(&w->lock);
    w->stop = 1;
    if (w->failed == ENVSYNC_OK && !w->completed)
        w->failed = ENVSYNC_ERR_INTERRUPTED;   /* workers drop queued parts */
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->lock);
    for (i = 0; w->threads && i < w->nthreads; i++)
        pthread_join(w->threads[i], NULL);
    /* no part is in flight any more: the abort cannot race an upload */
    if (w->upload_id && !w->completed)
        abort_upload(w);
    for (i = 0; i < w->nbuf; i++)
        free(w->parts[i].buf);
    for (i = 0; (size_t)i < w->netags; i++)
        free(w->etags[i]);
    free(w->etags);
    free(w->parts);
    free(w->queue);
    free(w->threads);
    free(w->upload_id);
    free(w->key);
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->cond);
    free(w);
}

void
s3_write_abort(envsync_ctx *ctx, void *writer)
{
    (void)ctx;
    writer_free(writer);
}
