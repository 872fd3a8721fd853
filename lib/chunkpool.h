/*
 * chunkpool.h - reusable mapped buffers for chunks handed between threads.
 *
 * A restore copies each DATA entry (up to chunk_size, 16 MiB by default)
 * out of the core's read buffer, queues it, and a worker frees it after
 * loading.  Such buffers come from mmap, not malloc: they are allocated on
 * one thread and freed on another, and malloc's arenas keep that memory
 * until RSS grows with the database.  A fresh mapping per chunk, though,
 * costs a page fault per 4 KiB on first touch (measured: ~10 % of the
 * client's CPU in a PostgreSQL restore).  The pool keeps up to `keep`
 * freed mappings for the next chunks, so the footprint stays at the chunks
 * in flight and pages are touched once per run.  When no idle buffer is
 * big enough, the biggest idle one is grown (mremap) rather than another
 * mapped, so chunks of mixed sizes do not add buffers either.
 *
 * Thread-safe.  Sizes are rounded up to 1 MiB so buffers of one run fit
 * each other; mappings above 64 MiB (a chunk holding one huge row) are
 * returned to the system at once.
 */
#ifndef ES_CHUNKPOOL_H
#define ES_CHUNKPOOL_H

#include <pthread.h>
#include <stddef.h>

#define ES_CHUNKPOOL_MAX 16

typedef struct es_chunkpool {
    pthread_mutex_t mu;
    size_t keep;                     /* at most this many idle buffers */
    size_t n;
    struct { void *p; size_t len; } idle[ES_CHUNKPOOL_MAX];
    unsigned long hits, maps;        /* reuses and new mappings, for tests */
    unsigned long grows;             /* idle buffers grown for a bigger chunk */
} es_chunkpool;

void es_chunkpool_init(es_chunkpool *cp, size_t keep);  /* keep <= MAX */
void es_chunkpool_set_keep(es_chunkpool *cp, size_t keep);
/* A buffer of at least len bytes (len 0 gives a 1 MiB one); *mapped gets
 * its real size, to pass back.  NULL when out of memory. */
void *es_chunk_get(es_chunkpool *cp, size_t len, size_t *mapped);
/* Back to the pool, or unmapped if the pool is full. p may be NULL. */
void es_chunk_put(es_chunkpool *cp, void *p, size_t mapped);
/* Unmaps every idle buffer (buffers still out must be put or unmapped). */
void es_chunkpool_destroy(es_chunkpool *cp);

#endif
