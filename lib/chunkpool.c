/*
 * chunkpool.c - reusable mapped chunk buffers (see chunkpool.h).
 */
#include "chunkpool.h"

#include <sys/mman.h>

#define MIB ((size_t)1 << 20)
#define POOL_LARGEST (64 * MIB)

void
es_chunkpool_init(es_chunkpool *cp, size_t keep)
{
    pthread_mutex_init(&cp->mu, NULL);
    cp->n = 0;
    cp->hits = cp->maps = cp->grows = 0;
    cp->keep = keep > ES_CHUNKPOOL_MAX ? ES_CHUNKPOOL_MAX : keep;
}

void
es_chunkpool_set_keep(es_chunkpool *cp, size_t keep)
{
    pthread_mutex_lock(&cp->mu);
    cp->keep = keep > ES_CHUNKPOOL_MAX ? ES_CHUNKPOOL_MAX : keep;
    while (cp->n > cp->keep) {
        cp->n--;
        munmap(cp->idle[cp->n].p, cp->idle[cp->n].len);
    }
    pthread_mutex_unlock(&cp->mu);
}

void *
es_chunk_get(es_chunkpool *cp, size_t len, size_t *mapped)
{
    size_t i, want, big = 0;
    void *p;

    if (len > (size_t)-1 - MIB)
        return NULL;
    want = len ? (len + MIB - 1) & ~(MIB - 1) : MIB;
    pthread_mutex_lock(&cp->mu);
    for (i = 0; i < cp->n; i++) {
        if (cp->idle[i].len >= want) {
            p = cp->idle[i].p;
            *mapped = cp->idle[i].len;
            cp->idle[i] = cp->idle[--cp->n];
            cp->hits++;
            pthread_mutex_unlock(&cp->mu);
            return p;
        }
        if (cp->idle[i].len > cp->idle[big].len)
            big = i;
    }
    if (cp->n > 0 && want <= POOL_LARGEST) {
        /* Every idle buffer is too small (chunks of different tables
         * differ in size): grow the biggest instead of mapping one more,
         * or idle buffers too small for the next chunks pile up beside
         * new ones and the footprint grows past the chunks in flight. */
        void *old = cp->idle[big].p;
        size_t oldlen = cp->idle[big].len;

        cp->idle[big] = cp->idle[--cp->n];
        cp->grows++;
        pthread_mutex_unlock(&cp->mu);
#ifdef MREMAP_MAYMOVE
        p = mremap(old, oldlen, want, MREMAP_MAYMOVE);
        if (p != MAP_FAILED) {
            *mapped = want;
            return p;
        }
#endif
        munmap(old, oldlen);
    } else {
        cp->maps++;
        pthread_mutex_unlock(&cp->mu);
    }
    p = mmap(NULL, want, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    *mapped = want;
    return p;
}

void
es_chunk_put(es_chunkpool *cp, void *p, size_t mapped)
{
    if (!p)
        return;
    pthread_mutex_lock(&cp->mu);
    if (cp->n < cp->keep && mapped <= POOL_LARGEST) {
        cp->idle[cp->n].p = p;
        cp->idle[cp->n].len = mapped;
        cp->n++;
        p = NULL;
    }
    pthread_mutex_unlock(&cp->mu);
    if (p)
        munmap(p, mapped);
}

void
es_chunkpool_destroy(es_chunkpool *cp)
{
    pthread_mutex_lock(&cp->mu);
    while (cp->n > 0) {
        cp->n--;
        munmap(cp->idle[cp->n].p, cp->idle[cp->n].len);
    }
    pthread_mutex_unlock(&cp->mu);
    pthread_mutex_destroy(&cp->mu);
}
