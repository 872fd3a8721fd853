/*
 * stored.h - the stored layout of artifacts in any storage plugin.
 *
 *   [<prefix>/]<job>/<UTC timestamp>.envsync    the artifact
 *   [<prefix>/]<job>/<UTC timestamp>.manifest   JSON, written after the
 *                                               artifact is committed
 *   [<prefix>/]<job>/latest                     the timestamp, written last
 *
 * An artifact is complete when its manifest exists.  Selection never picks
 * an incomplete one; retention removes incomplete ones older than a day.
 */
#ifndef ES_STORED_H
#define ES_STORED_H

#include <time.h>
#include "run.h"

typedef struct es_stored {
    char ts[17];
    int has_artifact;
    int has_manifest;
    uint64_t size;               /* artifact size */
    int64_t mtime;               /* artifact (or manifest) mtime, -1 unknown */
} es_stored;

typedef struct es_stored_list {
    es_stored *items;            /* newest first */
    size_t n;
    char latest[17];             /* "" when no pointer */
} es_stored_list;

/* Keys. Caller frees. */
char *es_key(const es_storage *s, const char *job, const char *name);
char *es_key_artifact(const es_storage *s, const char *job, const char *ts);
char *es_key_manifest(const es_storage *s, const char *job, const char *ts);

/* Small objects (manifest, pointer): whole write and whole read (max 16 MiB). */
envsync_status es_put_small(envsync_ctx *ctx, const char *key, const void *data, size_t len);
envsync_status es_get_small(envsync_ctx *ctx, const char *key, char **data, size_t *len);

envsync_status es_stored_list_job(envsync_ctx *ctx, const es_storage *s, const char *job,
                                  es_stored_list *out);
void es_stored_list_free(es_stored_list *l);

/* Pick an artifact: select is "latest" (pointer, else newest complete),
 * "newest" (newest complete), or a timestamp (must be complete).
 * ENVSYNC_ERR_NOTFOUND with a message when nothing qualifies. */
envsync_status es_stored_select(envsync_ctx *ctx, const es_storage *s, const char *job,
                                const char *select, char ts[17]);

/* Retention: keep the `keep` newest complete artifacts (and the one
 * `latest` names), remove the rest, and incomplete ones older than a day. */
envsync_status es_stored_prune(envsync_ctx *ctx, const es_storage *s, const char *job,
                               int keep, int dry_run);

#endif
