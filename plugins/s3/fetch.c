/*
 * fetch.c - parallel ranged GETs with a bounded, ordered window.
 *
 * The object (size and ETag from HEAD) is cut into ranges of range_size.
 * `concurrency` workers fetch ranges into a ring of concurrency + 1 slots;
 * range i lives in slot i % nslots and is only fetched once range
 * i - nslots has been consumed, so memory is range_size x (concurrency + 1)
 * whatever the object size, and read() delivers bytes in order.
 *
 * A failed range is retried alone (lib/http, from offset 0 of the range);
 * a short range is an integrity error; every GET carries If-Match with the
 * ETag seen at open, so an object replaced mid-read fails instead of
 * yielding a mix of two objects.
 */
#define _GNU_SOURCE
#include "s3.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { SLOT_EMPTY = 0, SLOT_FETCHING, SLOT_READY };

typedef struct slot {
    char *buf;
    size_t len;
    size_t want;
    int state;
    int overflow;
} slot;

typedef struct s3_reader {
    s3 *s;
    envsync_ctx *ctx;
    char *key;
    char etag[256];
    uint64_t size;
    size_t range;
    uint64_t nranges;
    slot *slots;
    int nslots;
    uint64_t next_fetch;
    uint64_t consume;
    size_t consume_off;
    pthread_t *threads;
    int nthreads;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int stop;
    envsync_status failed;
    char err[S3_ERRLEN];
} s3_reader;

static size_t
slot_sink(void *arg, const void *p, size_t n)
{
    slot *sl = arg;

    if (sl->len + n > sl->want) {
        sl->overflow = 1;
        return 0;
    }
    memcpy(sl->buf + sl->len, p, n);
    sl->len += n;
    return n;
}

static void
slot_reset(void *arg)
{
    slot *sl = arg;

    sl->len = 0;
    sl->overflow = 0;
}

static envsync_status
get_range(s3_reader *r, es_http_client *cl, uint64_t idx, slot *sl, char *err, size_t errlen)
{
    uint64_t off = idx * r->range;
    char range[64], e2[S3_ERRLEN];
    es_http_response resp;
    s3_call c;
    envsync_status st;

    sl->want = (size_t)(off + r->range > r->size ? r->size - off : r->range);
    s3_fmt(range, sizeof range, "bytes=%" PRIu64 "-%" PRIu64, off, off + sl->want - 1);
    memset(&c, 0, sizeof c);
    c.method = "GET";
    c.key = r->key;
    c.range = range;
    c.if_match = r->etag[0] ? r->etag : NULL;
    c.sink = slot_sink;
    c.sink_reset = slot_reset;
    c.sink_arg = sl;
    es_http_response_init(&resp);
    st = s3_do(r->s, cl, &c, &resp, e2, sizeof e2);
    if (st == ENVSYNC_ERR_INTEGRITY)
        s3_fmt(err, errlen, "%s changed while it was read (ETag %s no longer matches)",
                 r->key, r->etag);
    else if (st != ENVSYNC_OK)
        s3_fmt(err, errlen, "range %s: %s", range, e2);
    else if (resp.status != 206 && !(resp.status == 200 && off == 0 && sl->want == r->size)) {
        s3_fmt(err, errlen, "range %s of %s: server answered HTTP %ld instead of 206",
                 range, r->key, resp.status);
        st = ENVSYNC_ERR_STORAGE;
    } else if (sl->overflow || sl->len != sl->want) {
        s3_fmt(err, errlen, "range %s of %s: got %zu bytes, expected %zu", range, r->key,
                 sl->len, sl->want);
        st = ENVSYNC_ERR_INTEGRITY;
    }
    es_http_response_free(&resp);
    return st;
}

static void
fail_locked(s3_reader *r, envsync_status st, const char *msg)
{
    if (r->failed == ENVSYNC_OK) {
        r->failed = st;
        s3_fmt(r->err, sizeof r->err, "%s", msg);
    }
    pthread_cond_broadcast(&r->cond);
}

static void *
reader_worker(void *arg)
{
    s3_reader *r = arg;
    es_http_client *cl = s3_client_new(r->s);

    pthread_mutex_lock(&r->lock);
    if (!cl)
        fail_locked(r, ENVSYNC_ERR_OTHER, "out of memory (HTTP client)");
    for (;;) {
        uint64_t idx;
        slot *sl;
        envsync_status st;
        char err[S3_ERRLEN];

        while (!r->stop && r->failed == ENVSYNC_OK && r->next_fetch < r->nranges &&
               r->next_fetch >= r->consume + (uint64_t)r->nslots)
            pthread_cond_wait(&r->cond, &r->lock);
        if (r->stop || r->failed != ENVSYNC_OK || r->next_fetch >= r->nranges)
            break;
        idx = r->next_fetch++;
        sl = &r->slots[idx % (uint64_t)r->nslots];
        sl->state = SLOT_FETCHING;
        pthread_mutex_unlock(&r->lock);

        st = get_range(r, cl, idx, sl, err, sizeof err);

        pthread_mutex_lock(&r->lock);
        if (st != ENVSYNC_OK)
            fail_locked(r, st, err);
        else
            sl->state = SLOT_READY;
        pthread_cond_broadcast(&r->cond);
    }
    pthread_mutex_unlock(&r->lock);
    es_http_client_free(cl);
    return NULL;
}

static void
reader_free(s3_reader *r)
{
    int i;

    if (!r)
        return;
    pthread_mutex_lock(&r->lock);
    r->stop = 1;
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->lock);
    for (i = 0; r->threads && i < r->nthreads; i++)
        pthread_join(r->threads[i], NULL);
    for (i = 0; r->slots && i < r->nslots; i++)
        free(r->slots[i].buf);
    free(r->slots);
    free(r->threads);
    free(r->key);
    pthread_mutex_destroy(&r->lock);
    pthread_cond_destroy(&r->cond);
    free(r);
}

envsync_status
s3_read_open(envsync_ctx *ctx, void *state, const char *key, uint64_t *size, void **reader)
{
    s3 *s = state;
    s3_reader *r;
    es_http_response resp;
    s3_call c;
    char err[S3_ERRLEN], len[32];
    envsync_status st;
    int i;

    memset(&c, 0, sizeof c);
    c.method = "HEAD";
    c.key = key;
    es_http_response_init(&resp);
    st = s3_do(s, s->client, &c, &resp, err, sizeof err);
    if (st != ENVSYNC_OK) {
        es_http_response_free(&resp);
        if (st == ENVSYNC_ERR_NOTFOUND) {
            char u[1024];
            s3_uri(s, key, u, sizeof u);
            return s->host->error(ctx, st, "%s: no such object", u);
        }
        return s->host->error(ctx, st, "fetch: %s", err);
    }
    r = calloc(1, sizeof *r);
    if (!r) {
        es_http_response_free(&resp);
        return s->host->error(ctx, ENVSYNC_ERR_OTHER, "out of memory");
    }
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->cond, NULL);
    r->s = s;
    r->ctx = ctx;
    r->key = strdup(key);
    if (es_http_header_get(&resp, "Content-Length", len, sizeof len) != 0) {
        es_http_response_free(&resp);
        reader_free(r);
        return s->host->error(ctx, ENVSYNC_ERR_STORAGE, "fetch %s: HEAD without Content-Length",
                              key);
    }
    r->size = strtoull(len, NULL, 10);
    if (es_http_header_get(&resp, "ETag", r->etag, sizeof r->etag) != 0)
        r->etag[0] = '\0';
    es_http_response_free(&resp);
    r->range = s->range_size;
    r->nranges = (r->size + r->range - 1) / r->range;
    r->nthreads = r->nranges < (uint64_t)s->concurrency ? (int)r->nranges : s->concurrency;
    r->nslots = r->nthreads + 1;
    r->slots = calloc((size_t)r->nslots, sizeof *r->slots);
    r->threads = calloc((size_t)(r->nthreads ? r->nthreads : 1), sizeof *r->threads);
    if (!r->key || !r->slots || !r->threads) {
        r->nthreads = 0;
        reader_free(r);
        return s->host->error(ctx, ENVSYNC_ERR_OTHER, "out of memory");
    }
    for (i = 0; i < r->nslots; i++) {
        size_t want = r->size < r->range ? (size_t)r->size : r->range;
        r->slots[i].buf = malloc(want ? want : 1);
        if (!r->slots[i].buf) {
            r->nthreads = 0;
            reader_free(r);
            return s->host->error(ctx, ENVSYNC_ERR_OTHER, "out of memory");
        }
    }
    for (i = 0; i < r->nthreads; i++) {
        if (pthread_create(&r->threads[i], NULL, reader_worker, r) != 0) {
            r->nthreads = i;
            reader_free(r);
            return s->host->error(ctx, ENVSYNC_ERR_OTHER, "fetch %s: cannot start thread", key);
        }
    }
    *size = r->size;
    *reader = r;
    return ENVSYNC_OK;
}

envsync_status
s3_read(envsync_ctx *ctx, void *reader, void *buf, size_t cap, size_t *got)
{
    s3_reader *r = reader;
    slot *sl;
    size_t n;

    *got = 0;
    pthread_mutex_lock(&r->lock);
    if (r->consume >= r->nranges || cap == 0) {
        pthread_mutex_unlock(&r->lock);
        return ENVSYNC_OK;
    }
    sl = &r->slots[r->consume % (uint64_t)r->nslots];
    while (r->failed == ENVSYNC_OK && sl->state != SLOT_READY) {
        struct timespec ts;
        envsync_status c;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 200 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&r->cond, &r->lock, &ts);
        if ((c = r->s->host->cancelled(ctx)) != ENVSYNC_OK)
            fail_locked(r, c, "cancelled");
    }
    if (r->failed != ENVSYNC_OK) {
        envsync_status st = r->failed;
        char err[S3_ERRLEN];
        s3_fmt(err, sizeof err, "%s", r->err);
        pthread_mutex_unlock(&r->lock);
        return r->s->host->error(ctx, st, "fetch s3://%s/%s: %s", r->s->bucket, r->key, err);
    }
    pthread_mutex_unlock(&r->lock);

    /* a READY slot is only touched by this thread */
    n = sl->len - r->consume_off;
    if (n > cap)
        n = cap;
    memcpy(buf, sl->buf + r->consume_off, n);
    r->consume_off += n;
    *got = n;
    if (r->consume_off == sl->len) {
        pthread_mutex_lock(&r->lock);
        sl->state = SLOT_EMPTY;
        sl->len = 0;
        r->consume++;
        r->consume_off = 0;
        pthread_cond_broadcast(&r->cond);
        pthread_mutex_unlock(&r->lock);
    }
    return ENVSYNC_OK;
}

void
s3_read_close(envsync_ctx *ctx, void *reader)
{
    (void)ctx;
    reader_free(reader);
}
