/*
 * artifact_testlib.h - in-memory byte sinks and sources for artifact tests
 * and fuzz seeds (header-only, static functions).
 */
#ifndef ES_ARTIFACT_TESTLIB_H
#define ES_ARTIFACT_TESTLIB_H

#include <stdlib.h>
#include <string.h>

#include "artifact.h"

/* A growable memory sink; fails with fail_status once fail_at bytes would
 * be exceeded (fail_at 0 = never). */
typedef struct memsink {
    unsigned char *p;
    size_t len, cap;
    size_t fail_at;
    envsync_status fail_status;
    unsigned calls;
} memsink;

static envsync_status
memsink_write(void *arg, const void *data, size_t len)
{
    memsink *m = arg;

    m->calls++;
    if (m->fail_at && m->len + len > m->fail_at)
        return m->fail_status;
    if (m->len + len > m->cap) {
        size_t cap = m->cap ? m->cap : 4096;
        unsigned char *p;

        while (cap < m->len + len)
            cap *= 2;
        p = realloc(m->p, cap);
        if (!p)
            return ENVSYNC_ERR_OTHER;
        m->p = p;
        m->cap = cap;
    }
    if (len)
        memcpy(m->p + m->len, data, len);
    m->len += len;
    return ENVSYNC_OK;
}

static void
memsink_free(memsink *m)
{
    free(m->p);
    memset(m, 0, sizeof *m);
}

/* A memory source handing out at most `chunk` bytes per call (0 = all it
 * is asked for); fails with fail_status at offset fail_at (if nonzero). */
typedef struct memsrc {
    const unsigned char *p;
    size_t len, pos;
    size_t chunk;
    size_t fail_at;
    envsync_status fail_status;
} memsrc;

static envsync_status
memsrc_read(void *arg, void *buf, size_t cap, size_t *got)
{
    memsrc *s = arg;
    size_t n = s->len - s->pos;

    if (s->fail_at && s->pos >= s->fail_at) {
        *got = 0;
        return s->fail_status;
    }
    if (n > cap)
        n = cap;
    if (s->chunk && n > s->chunk)
        n = s->chunk;
    if (n)
        memcpy(buf, s->p + s->pos, n);
    s->pos += n;
    *got = n;
    return ENVSYNC_OK;
}

#endif
