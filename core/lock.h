/*
 * lock.h - a per-job run lock held as a lease object in storage.
 *
 *   [<prefix>/]<job>/lock    {"owner": "host:pid:nonce", "host", "pid",
 *                             "acquired", "expires": epoch seconds}
 *
 * Taking it: read the lease; a live lease held by someone else fails with
 * ENVSYNC_ERR_LOCKED naming the holder (after waiting up to `wait`); an
 * expired lease is removed with a warning.  Then the lease is written with
 * ENVSYNC_WRITE_EXCLUSIVE (create-if-absent where the store supports it:
 * the file plugin links, S3 sends If-None-Match), and read back after a
 * short settle time: if another owner's lease is there, we lost a race.
 * A heartbeat thread renews the expiry every ttl/3 and cancels the run
 * (ENVSYNC_ERR_LOCKED) if the lease was taken from it.
 */
#ifndef ES_LOCK_H
#define ES_LOCK_H

#include "run.h"

typedef struct es_lock es_lock;

/* force: remove whatever lease is there first (--force-unlock). */
envsync_status es_lock_acquire(es_run *run, es_storage *sto, int64_t ttl_ms,
                               int64_t wait_ms, int force, es_lock **out);
void es_lock_release(es_lock *l);

/* Small state objects next to the lock (last result, for recovery
 * notifications).  Missing -> NULL. */
char *es_state_get(es_run *run, es_storage *sto, const char *name);
void es_state_put(es_run *run, es_storage *sto, const char *name, const char *text);

#endif
