/*
 * es.h - internals of the elasticsearch plugin (Elasticsearch 6.8/7.x/8.x,
 * OpenSearch 1.x/2.x), shared by its files:
 *
 *   plugin.c    descriptor, options, init/check/destroy, dispatch by mode
 *   client.c    REST calls on lib/http (retries, backoff, auth, TLS,
 *               optional SigV4), error bodies -> envsync_status
 *   json.c      a raw JSON scanner: finds values inside response bodies
 *               without re-serialising them, so _source bytes go to the
 *               artifact exactly as the cluster stored them
 *   backup.c    logical backup: index selection, META + DOCS entries,
 *               sliced PIT/search_after or scroll readers
 *   restore.c   logical restore: new index beside the old, bulk load,
 *               count check, one atomic _aliases swap
 *   snapshot.c  snapshot mode (server-side snapshots, reference entry)
 *
 * Threads: every worker thread owns its es_client (one curl handle each);
 * es_state is shared read-only after init except where a mutex says so.
 */
#ifndef ES_PLUGIN_ES_H
#define ES_PLUGIN_ES_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include <envsync/plugin.h>

#include "buf.h"
#include "http.h"

#define ES_PLUGIN_NAME "elasticsearch"

/* Connection settings, fixed after init. */
typedef struct es_conn {
    envsync_ctx *ctx;
    const envsync_host *host;
    char *url;              /* base URL without trailing '/' */
    char *auth;             /* Authorization header value, or NULL */
    int sigv4;              /* sign requests (Amazon OpenSearch Service) */
    char *region;
    char *aws_access_key;
    char *aws_secret_key;
    char *aws_session_token;
    char *host_header;      /* host[:port] of url, for signing */
    es_http_opts http;
    /* Cleanup after a failure (abort) must still reach the cluster even
     * though host->cancelled() now says stop. */
    volatile int ignore_cancel;
} es_conn;

typedef struct es_client {
    es_conn *conn;
    es_http_client *http;
    es_http_response resp;
} es_client;

/* Result of one REST call: status and body (owned by the client, valid
 * until its next call). */
typedef struct es_reply {
    long status;
    const char *body;
    size_t len;
} es_reply;

typedef struct es_state {
    envsync_ctx *ctx;
    const envsync_host *host;
    es_conn conn;
    es_client *cl;               /* the calling thread's client */

    /* server facts from GET / */
    int major, minor;
    int opensearch;
    char version[32];

    /* options */
    int jobs;
    int batch_size;
    int bulk_concurrency;
    size_t chunk_size;
    size_t bulk_bytes;
    int snapshot_mode;
    char *keep_alive;            /* scroll / PIT keep_alive, "300s" */

    void *restore;               /* restore.c or snapshot.c state */
} es_state;

/* ---- client.c */
es_client *es_client_new(es_conn *conn);
void es_client_free(es_client *c);
/* One request.  path starts with '/' and is already URL-encoded; body may
 * be NULL; ctype NULL = application/json.  Transport failures (after
 * retries) set the error on the context and return non-OK; any HTTP
 * status is OK here and lands in r->status. */
envsync_status es_call(es_client *c, const char *method, const char *path,
                       const void *body, size_t len, const char *ctype,
                       es_reply *r);
/* es_call + parse the JSON body into *out (may be NULL if not wanted);
 * a status outside 2xx fails with es_fail unless it is in `ok404`
 * (pass 404 to accept "not found"; *out is then NULL). */
envsync_status es_json(es_client *c, const char *method, const char *path,
                       json_t *body, long accept, long *status, json_t **out,
                       const char *what);
/* Turn an error reply into an envsync error naming `what`
 * (the error body's type and reason are quoted). */
envsync_status es_fail(es_client *c, const es_reply *r, const char *what);
/* Percent-encode an index or alias name for a path segment. */
void es_path_escape(es_buf *b, const char *s);
envsync_status es_conn_init(es_state *st);
void es_conn_free(es_conn *conn);
envsync_status es_detect_version(es_state *st);

/* ---- json.c: raw scanning of JSON text (no allocation) */
/* Length of the JSON value starting at p (after leading whitespace, which
 * is skipped and counted), or 0 if malformed. */
size_t es_jskip(const char *p, const char *end);
/* In the object at [p,end), the raw value of `key`: 0 and *v,*vn set, or
 * -1 if absent or malformed. */
int es_jfind(const char *p, const char *end, const char *key,
             const char **v, size_t *vn);
/* Iterate an array: *it starts at the array's '['; each call sets the
 * next element span and returns 1, 0 at the end, -1 malformed. */
int es_jnext(const char **it, const char *end, const char **v, size_t *vn);
/* Copy a raw span, dropping CR/LF (only whitespace in valid JSON). */
int es_jappend_flat(es_buf *b, const char *v, size_t n);

/* ---- helpers */
int es_name_matches(const char *name, const char *pattern);
/* "-envsync-YYYYMMDDhhmmssmmm" (UTC, milliseconds) for this run. */
void es_suffix(char out[32]);

/* ---- backup.c / restore.c / snapshot.c */
envsync_status es_backup_logical(es_state *st, envsync_sink *out);
envsync_status es_select_indices(es_state *st, json_t **names);

envsync_status es_restore_begin(es_state *st);
envsync_status es_restore_entry(es_state *st, const envsync_entry *e,
                                const void *data, size_t len);
envsync_status es_restore_finish(es_state *st);
void es_restore_abort(es_state *st);

void es_restore_free(es_state *st);

envsync_status es_snapshot_backup(es_state *st, envsync_sink *out);
/* Restore the referenced snapshot; swap mode appends the renamed indices
 * to `plan` (original, new, aliases) for es_swap_aliases. */
envsync_status es_snapshot_restore(es_state *st, json_t *ref, json_t *plan);
/* Shared by logical and snapshot restore. */
envsync_status es_auto_create_guard(es_state *st, int on);
envsync_status es_swap_aliases(es_state *st, json_t *plan);
envsync_status es_delete_indices(es_state *st, json_t *names);

#endif
