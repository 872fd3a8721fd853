/*
 * plugin.c - the elasticsearch plugin: descriptor, options, life cycle.
 * See es.h for the map of files.
 */
#include "es.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const envsync_host *g_host;

static const envsync_option es_options[] = {
    { "url", ENVSYNC_OPT_STRING, ENVSYNC_OPT_REQUIRED, NULL,
      "cluster URL, http(s)://host:port[/path]" },
    { "username", ENVSYNC_OPT_STRING, 0, NULL, "basic auth user" },
    { "password", ENVSYNC_OPT_STRING, ENVSYNC_OPT_SECRET, NULL, "basic auth password" },
    { "api_key", ENVSYNC_OPT_STRING, ENVSYNC_OPT_SECRET, NULL,
      "API key: the encoded form, or \"id:key\"" },
    { "bearer_token", ENVSYNC_OPT_STRING, ENVSYNC_OPT_SECRET, NULL, "bearer token" },
    { "ca_file", ENVSYNC_OPT_STRING, 0, NULL, "CA bundle (PEM) to verify the server" },
    { "verify_tls", ENVSYNC_OPT_BOOL, 0, "true", "verify the server certificate and name" },
    { "aws_sigv4", ENVSYNC_OPT_BOOL, 0, "false",
      "sign requests with AWS SigV4 (Amazon OpenSearch Service)" },
    { "region", ENVSYNC_OPT_STRING, 0, NULL, "AWS region for aws_sigv4 (else AWS_REGION)" },
    { "aws_access_key_id", ENVSYNC_OPT_STRING, 0, NULL,
      "for aws_sigv4 (else AWS_ACCESS_KEY_ID)" },
    { "aws_secret_access_key", ENVSYNC_OPT_STRING, ENVSYNC_OPT_SECRET, NULL,
      "for aws_sigv4 (else AWS_SECRET_ACCESS_KEY)" },
    { "include", ENVSYNC_OPT_LIST, 0, NULL, "index patterns to copy (default: all)" },
    { "exclude", ENVSYNC_OPT_LIST, 0, NULL, "index patterns to skip" },
    { "include_hidden", ENVSYNC_OPT_BOOL, 0, "false",
      "also copy hidden and system (dot) indices matched by a pattern" },
    { "jobs", ENVSYNC_OPT_INT, 0, "2", "sliced parallel readers per index (backup)" },
    { "batch_size", ENVSYNC_OPT_INT, 0, "1000", "documents per search page and bulk request" },
    { "bulk_concurrency", ENVSYNC_OPT_INT, 0, "2", "bulk requests in flight (restore)" },
    { "bulk_size", ENVSYNC_OPT_SIZE, 0, "10M",
      "bytes per bulk request at most (a batch is cut earlier when its documents are large)" },
    { "chunk_size", ENVSYNC_OPT_SIZE, 0, "16M", "bytes of documents per artifact entry" },
    { "mode", ENVSYNC_OPT_STRING, 0, "logical",
      "\"logical\" (documents through envsync) or \"snapshot\" (server-side snapshot)" },
    { "snapshot_repository", ENVSYNC_OPT_STRING, 0, NULL, "registered snapshot repository" },
    { "snapshot_repository_type", ENVSYNC_OPT_STRING, 0, "s3",
      "type used when snapshot_repository_settings registers the repository" },
    { "snapshot_repository_settings", ENVSYNC_OPT_STRING, 0, NULL,
      "JSON settings: register (or update) the repository before use" },
    { "keep_snapshots", ENVSYNC_OPT_INT, 0, "3", "snapshots of this job to keep (0 = all)" },
    { "snapshot_timeout", ENVSYNC_OPT_DURATION, 0, "2h", "deadline for a snapshot to finish" },
    { "restore_mode", ENVSYNC_OPT_STRING, 0, "swap",
      "snapshot restore: \"swap\" (renamed + alias swap) or \"replace\" (close, delete, restore)" },
    { "request_timeout", ENVSYNC_OPT_DURATION, 0, "120s", "per HTTP request" },
    { "retries", ENVSYNC_OPT_INT, 0, "6",
      "retries on 429/502/503/504 and connection errors, with backoff" },
    { "keep_alive", ENVSYNC_OPT_DURATION, 0, "5m", "scroll / point-in-time keep-alive" },
    { NULL, ENVSYNC_OPT_END, 0, NULL, NULL }
};

static envsync_status
es_init(envsync_ctx *ctx, void **state)
{
    const envsync_host *h = g_host;
    es_state *st = calloc(1, sizeof *st);
    const char *mode, *rmode;
    char ka[32];
    envsync_status s;

    *state = NULL;
    if (!st)
        return h->error(ctx, ENVSYNC_ERR_OTHER, "out of memory");
    st->ctx = ctx;
    st->host = h;
    es_http_global_init();
    st->jobs = (int)h->opt_int(ctx, "jobs");
    st->batch_size = (int)h->opt_int(ctx, "batch_size");
    st->bulk_concurrency = (int)h->opt_int(ctx, "bulk_concurrency");
    st->chunk_size = (size_t)h->opt_int(ctx, "chunk_size");
    st->bulk_bytes = (size_t)h->opt_int(ctx, "bulk_size");
    snprintf(ka, sizeof ka, "%llds", (long long)(h->opt_int(ctx, "keep_alive") + 999) / 1000);
    st->keep_alive = strdup(ka);
    mode = h->opt_string(ctx, "mode");
    rmode = h->opt_string(ctx, "restore_mode");
    *state = st;
    if (st->jobs < 1 || st->jobs > 64)
        return h->error(ctx, ENVSYNC_ERR_CONFIG, "%s: jobs must be 1..64", h->opt_where(ctx, "jobs"));
    if (st->batch_size < 1 || st->batch_size > 10000)
        return h->error(ctx, ENVSYNC_ERR_CONFIG, "%s: batch_size must be 1..10000",
                        h->opt_where(ctx, "batch_size"));
    if (st->bulk_concurrency < 1 || st->bulk_concurrency > 64)
        return h->error(ctx, ENVSYNC_ERR_CONFIG, "%s: bulk_concurrency must be 1..64",
                        h->opt_where(ctx, "bulk_concurrency"));
    if (st->chunk_size < 4096)
        st->chunk_size = 4096;
    if (strcmp(mode, "logical") == 0)
        st->snapshot_mode = 0;
    else if (strcmp(mode, "snapshot") == 0)
        st->snapshot_mode = 1;
    else
        return h->error(ctx, ENVSYNC_ERR_CONFIG, "%s: mode must be \"logical\" or \"snapshot\"",
                        h->opt_where(ctx, "mode"));
    if (strcmp(rmode, "swap") != 0 && strcmp(rmode, "replace") != 0)
        return h->error(ctx, ENVSYNC_ERR_CONFIG, "%s: restore_mode must be \"swap\" or \"replace\"",
                        h->opt_where(ctx, "restore_mode"));
    if (st->snapshot_mode && !h->opt_isset(ctx, "snapshot_repository"))
        return h->error(ctx, ENVSYNC_ERR_CONFIG, "mode = \"snapshot\" needs snapshot_repository");
    s = es_conn_init(st);
    if (s != ENVSYNC_OK)
        return s;
    st->cl = es_client_new(&st->conn);
    if (!st->cl)
        return h->error(ctx, ENVSYNC_ERR_OTHER, "cannot create HTTP client");
    return ENVSYNC_OK;
}

static void
es_destroy(void *state)
{
    es_state *st = state;

    if (!st)
        return;
    es_restore_free(st);
    es_client_free(st->cl);
    es_conn_free(&st->conn);
    free(st->keep_alive);
    free(st);
}

static envsync_status
es_check(envsync_ctx *ctx, void *state)
{
    es_state *st = state;
    (void)ctx;
    return es_detect_version(st);
}

static envsync_status
es_backup(envsync_ctx *ctx, void *state, envsync_sink *out, char **info)
{
    es_state *st = state;
    json_t *j;
    envsync_status s;

    (void)ctx;
    s = es_detect_version(st);
    if (s != ENVSYNC_OK)
        return s;
    j = json_pack("{s:s,s:s,s:s}", "version", st->version, "distribution",
                  st->opensearch ? "opensearch" : "elasticsearch", "mode",
                  st->snapshot_mode ? "snapshot" : "logical");
    *info = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    return st->snapshot_mode ? es_snapshot_backup(st, out) : es_backup_logical(st, out);
}

static envsync_status
es_rbegin(envsync_ctx *ctx, void *state)
{
    (void)ctx;
    return es_restore_begin(state);
}

static envsync_status
es_rentry(envsync_ctx *ctx, void *state, const envsync_entry *e, const void *data, size_t len)
{
    (void)ctx;
    return es_restore_entry(state, e, data, len);
}

static envsync_status
es_rfinish(envsync_ctx *ctx, void *state)
{
    (void)ctx;
    return es_restore_finish(state);
}

static void
es_rabort(envsync_ctx *ctx, void *state)
{
    (void)ctx;
    es_restore_abort(state);
}

static const envsync_plugin es_plugin = {
    .abi_version = ENVSYNC_ABI_VERSION,
    .struct_size = sizeof(envsync_plugin),
    .name = ES_PLUGIN_NAME,
    .version = "1.0.0",
    .description = "Elasticsearch 6.8-8.x / OpenSearch 1-3 indices: logical copy with alias "
                   "swap, or server-side snapshots",
    .engine = "elasticsearch",
    .phases = ENVSYNC_PHASE_BACKUP | ENVSYNC_PHASE_RESTORE,
    .options = es_options,
    .init = es_init,
    .check = es_check,
    .destroy = es_destroy,
    .backup = es_backup,
    .restore_begin = es_rbegin,
    .restore_entry = es_rentry,
    .restore_finish = es_rfinish,
    .restore_abort = es_rabort,
};

const envsync_plugin *
envsync_plugin_entry(const envsync_host *host)
{
    g_host = host;
    return &es_plugin;
}
