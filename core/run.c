/*
 * run.c - the lifecycle: backup -> store -> fetch -> transform -> restore.
 *
 * A job is one or two pipelines, each a source, transforms and sinks:
 *
 *   produce:  backup -> [transforms] -> { store, restore }
 *   consume:  fetch  -> [transforms] -> { restore, store }
 *
 * A job with both backup and fetch runs produce (backup -> store) and then
 * consume on the artifact just stored (the full cycle); the transforms then
 * belong to consume.  Entries flow through one chain of sinks; the chain
 * runs under one lock, so parallel backup workers are serialised there and
 * block while downstream (compression, upload, load) is busy: that is the
 * back-pressure that bounds memory.
 *
 * Visibility rules: a store writer is committed only after the source
 * returned OK and every transform finished; the manifest is written after
 * the artifact, the latest pointer last.  A restore is finished (swapped
 * in) only after the whole artifact was read, its size and SHA-256 matched
 * the manifest and its trailing counts matched what was read.  Anything
 * else aborts every sink.
 */
#include "config.h"
#include "run.h"
#include "artifact.h"
#include "lock.h"
#include "log.h"
#include "notify.h"
#include "stored.h"
#include "util.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

typedef struct pipeline pipeline;

typedef struct stage {
    envsync_sink sink;           /* sink.priv = this */
    pipeline *pl;
    size_t index;                /* transform index, or ntransforms = outputs */
} stage;

struct pipeline {
    es_run *run;
    const char *name;            /* "produce" / "consume" */
    pthread_mutex_t lock;
    envsync_sink entry;          /* serialising entry point */

    envsync_ctx *tctx;           /* transforms */
    size_t nt;
    stage *stages;               /* nt + 1 */

    /* store output */
    envsync_ctx store_ctx;
    int store_open;
    es_storage *store_storage;
    void *store_w;
    es_artifact_writer *writer;
    char ts[17];
    char *header_json;

    /* restore output */
    envsync_ctx restore_ctx;
    int restore_open;
    int restore_begun;
    es_counts *delivered;

    uint64_t entries;
    uint64_t rows;               /* DATA/DOCS rows that reached the outputs */
    json_t *reports;             /* META "*-report" entries (e.g. sanitise's), for the manifest */
};

/* ------------------------------------------------------------------ errors */

/* Log the first failure of the run once, with the context that failed. */
static void
report(es_run *run, envsync_ctx *ctx, const char *phase, const char *plugin,
       envsync_status st, const char *msg)
{
    if (atomic_exchange(&run->reported, 1))
        return;
    snprintf(run->fail_msg, sizeof run->fail_msg, "%s", msg && *msg ? msg : "failed");
    es_log(ENVSYNC_LOG_ERROR, run->job->name, ctx ? ctx->phase : phase,
           ctx && ctx->inst ? ctx->inst->plugin->name : plugin,
           "%s (%s error)", msg && *msg ? msg : "failed", es_status_name(st));
}

/* A plugin callback returned st (non-OK) on ctx. */
static envsync_status
plugin_failed(es_run *run, envsync_ctx *ctx, envsync_status st)
{
    envsync_status first;

    es_run_fail(run, st);
    first = (envsync_status)atomic_load(&run->cancel);
    if (ctx->err_status && st == first)
        report(run, ctx, NULL, NULL, st, ctx->err);
    else if (st == first && st != ENVSYNC_ERR_INTERRUPTED && st != ENVSYNC_ERR_TIMEOUT)
        report(run, ctx, NULL, NULL, st, "failed without a message");
    return first ? first : st;
}

static envsync_status
core_failed(es_run *run, const char *phase, envsync_status st, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static envsync_status
core_failed(es_run *run, const char *phase, envsync_status st, const char *fmt, ...)
{
    char msg[1400];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    es_run_fail(run, st);
    if ((envsync_status)atomic_load(&run->cancel) == st)
        report(run, NULL, phase, "core", st, msg);
    return (envsync_status)atomic_load(&run->cancel);
}

/* ------------------------------------------------------------------ sinks */

static envsync_status stage_put(pipeline *pl, size_t index, const envsync_entry *e,
                                const void *data, size_t len);

static envsync_status
stage_sink_put(envsync_sink *sink, const envsync_entry *e, const void *data, size_t len)
{
    stage *s = sink->priv;

    return stage_put(s->pl, s->index, e, data, len);
}

static envsync_status
entry_sink_put(envsync_sink *sink, const envsync_entry *e, const void *data, size_t len)
{
    pipeline *pl = sink->priv;
    envsync_status st;

    pthread_mutex_lock(&pl->lock);
    st = es_run_cancelled(pl->run);
    if (st == ENVSYNC_OK)
        st = stage_put(pl, 0, e, data, len);
    pthread_mutex_unlock(&pl->lock);
    return st;
}

static envsync_status
check_entry(pipeline *pl, const envsync_entry *e, size_t len)
{
    if (!e || e->struct_size < offsetof(envsync_entry, nattrs) + sizeof e->nattrs)
        return core_failed(pl->run, "core", ENVSYNC_ERR_PLUGIN,
                           "a plugin passed an entry with a bad struct_size");
    if (e->kind < ENVSYNC_ENTRY_SCHEMA || e->kind > ENVSYNC_ENTRY_BLOB)
        return core_failed(pl->run, "core", ENVSYNC_ERR_PLUGIN,
                           "a plugin passed an entry of unknown kind %d", (int)e->kind);
    if (len > ES_ARTIFACT_MAX_ENTRY)
        return core_failed(pl->run, "core", ENVSYNC_ERR_PLUGIN,
                           "entry %s.%s is %zu bytes; plugins must cut entries below %zu bytes",
                           e->schema ? e->schema : "", e->object ? e->object : "", len,
                           (size_t)ES_ARTIFACT_MAX_ENTRY);
    return ENVSYNC_OK;
}

static envsync_status
outputs_put(pipeline *pl, const envsync_entry *e, const void *data, size_t len)
{
    envsync_status st;
    char err[ES_ERRLEN];

    if ((st = check_entry(pl, e, len)) != ENVSYNC_OK)
        return st;
    pl->entries++;
    if (e->kind == ENVSYNC_ENTRY_DATA || e->kind == ENVSYNC_ENTRY_DOCS)
        pl->rows += e->rows;
    /* transform reports (which rules applied, how many values each changed)
     * go into the stored manifest too, so `envsync inspect` shows them */
    if (e->kind == ENVSYNC_ENTRY_META && e->object && strlen(e->object) > 7 &&
        strcmp(e->object + strlen(e->object) - 7, "-report") == 0) {
        json_t *r = json_loadb(data, len, 0, NULL);

        if (r) {
            if (!pl->reports)
                pl->reports = json_object();
            json_object_set_new(pl->reports, e->object, r);
        }
    }
    if (pl->writer) {
        st = es_artifact_write_entry(pl->writer, e, data, len, err, sizeof err);
        if (st != ENVSYNC_OK) {
            /* a failing storage write reports on the store context itself */
            if (pl->store_ctx.err_status)
                return plugin_failed(pl->run, &pl->store_ctx, pl->store_ctx.err_status);
            return core_failed(pl->run, "store", st, "writing artifact entry: %s", err);
        }
    }
    if (pl->restore_begun) {
        if (e->kind == ENVSYNC_ENTRY_DATA || e->kind == ENVSYNC_ENTRY_DOCS)
            es_counts_add(pl->delivered, e->schema, e->object, e->rows);
        st = pl->restore_ctx.inst->plugin->desc.restore_entry(&pl->restore_ctx,
                                                              pl->restore_ctx.state, e, data, len);
        if (st != ENVSYNC_OK)
            return plugin_failed(pl->run, &pl->restore_ctx, st);
    }
    return ENVSYNC_OK;
}

static envsync_status
stage_put(pipeline *pl, size_t index, const envsync_entry *e, const void *data, size_t len)
{
    envsync_ctx *ctx;
    envsync_status st;

    if (index >= pl->nt)
        return outputs_put(pl, e, data, len);
    ctx = &pl->tctx[index];
    st = ctx->inst->plugin->desc.transform_entry(ctx, ctx->state, e, data, len,
                                                 &pl->stages[index + 1].sink);
    if (st != ENVSYNC_OK)
        return plugin_failed(pl->run, ctx, st);
    return ENVSYNC_OK;
}

/* ------------------------------------------------------------------ store */

static envsync_status
store_write_fn(void *arg, const void *data, size_t len)
{
    pipeline *pl = arg;
    envsync_ctx *ctx = &pl->store_ctx;
    envsync_status st;

    st = ctx->inst->plugin->desc.write(ctx, pl->store_w, data, len);
    if (st != ENVSYNC_OK) {
        if (!ctx->err_status)
            es_ctx_error(ctx, st, "writing %zu bytes failed", len);
        return st;
    }
    return ENVSYNC_OK;
}

static char *
json_text(json_t *o)
{
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);

    if (!s)
        abort();
    return s;
}

/* Pick a timestamp no complete or partial artifact of the job uses yet. */
static envsync_status
fresh_timestamp(pipeline *pl, es_storage *sto, const char *job)
{
    for (;;) {
        char *key;
        char *data = NULL;
        envsync_status st;

        es_timestamp(time(NULL), pl->ts);
        key = es_key_manifest(sto, job, pl->ts);
        st = es_get_small(&pl->store_ctx, key, &data, NULL);
        free(key);
        free(data);
        if (st == ENVSYNC_ERR_NOTFOUND) {
            pl->store_ctx.err_status = ENVSYNC_OK;
            pl->store_ctx.err[0] = '\0';
            return ENVSYNC_OK;
        }
        if (st != ENVSYNC_OK)
            return plugin_failed(pl->run, &pl->store_ctx, st);
        usleep(200 * 1000);
        if ((st = es_run_cancelled(pl->run)) != ENVSYNC_OK)
            return st;
    }
}

static envsync_status
store_open(pipeline *pl, es_storage *sto, const char *header_json)
{
    es_run *run = pl->run;
    es_job *j = run->job;
    char err[ES_ERRLEN], *key;
    envsync_status st;

    st = es_ctx_open(&pl->store_ctx, run, run->conf, j->name, "store", &sto->inst);
    pl->store_open = 1;
    if (st != ENVSYNC_OK)
        return plugin_failed(run, &pl->store_ctx, st);
    pl->store_storage = sto;
    if ((st = fresh_timestamp(pl, sto, j->name)) != ENVSYNC_OK)
        return st;
    key = es_key_artifact(sto, j->name, pl->ts);
    st = sto->inst.plugin->desc.write_open(&pl->store_ctx, pl->store_ctx.state, key, 0, &pl->store_w);
    if (st != ENVSYNC_OK) {
        free(key);
        pl->store_w = NULL;
        return plugin_failed(run, &pl->store_ctx, st);
    }
    es_log(ENVSYNC_LOG_INFO, j->name, "store", sto->inst.plugin->name,
           "writing %s to storage %s", key, sto->name);
    free(key);
    {
        json_t *h = json_loads(header_json, 0, NULL);

        json_object_set_new(h, "timestamp", json_string(pl->ts));
        pl->header_json = json_text(h);
        json_decref(h);
    }
    st = es_artifact_writer_new(&pl->writer, &j->art, pl->header_json, store_write_fn, pl,
                                err, sizeof err);
    if (st != ENVSYNC_OK) {
        pl->writer = NULL;
        return core_failed(run, "store", st, "starting the artifact: %s", err);
    }
    return ENVSYNC_OK;
}

/* Finish the artifact, commit it, then manifest, then the pointer. */
static envsync_status
store_commit(pipeline *pl, json_t *extra)
{
    es_run *run = pl->run;
    es_job *j = run->job;
    es_storage *sto = pl->store_storage;
    const envsync_plugin *d = &sto->inst.plugin->desc;
    es_artifact_stats stats;
    char err[ES_ERRLEN], *extra_text, *manifest_text = NULL, *key, *mtext;
    json_t *m, *a;
    envsync_status st;
    char b1[32];

    if (pl->reports)
        json_object_set(extra, "reports", pl->reports);
    extra_text = json_text(extra);
    st = es_artifact_writer_finish(pl->writer, extra_text, &manifest_text, &stats, err, sizeof err);
    free(extra_text);
    if (st != ENVSYNC_OK) {
        if (pl->store_ctx.err_status)
            return plugin_failed(run, &pl->store_ctx, pl->store_ctx.err_status);
        return core_failed(run, "store", st, "finishing the artifact: %s", err);
    }
    if ((st = es_run_cancelled(run)) != ENVSYNC_OK)
        goto fail;
    st = d->write_commit(&pl->store_ctx, pl->store_w);
    if (st != ENVSYNC_OK) {
        d->write_abort(&pl->store_ctx, pl->store_w);
        pl->store_w = NULL;
        free(manifest_text);
        return plugin_failed(run, &pl->store_ctx, st);
    }
    pl->store_w = NULL;
    run->artifact_size = stats.stored_bytes;

    m = json_loads(manifest_text, 0, NULL);
    free(manifest_text);
    if (!m)
        m = json_object();
    key = es_key_artifact(sto, j->name, pl->ts);
    a = json_pack("{s:s, s:I, s:s, s:s, s:o}", "key", key, "size", (json_int_t)stats.stored_bytes,
                  "sha256", stats.sha256, "compression", es_compression_name(j->art.compression),
                  "encryption", j->art.key ? json_pack("{s:s, s:s}", "cipher", "aes-256-gcm",
                                                       "key_id", j->key_id) : json_null());
    json_object_set_new(m, "artifact", a);
    mtext = json_dumps(m, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(m);
    free(key);
    key = es_key_manifest(sto, j->name, pl->ts);
    st = es_put_small(&pl->store_ctx, key, mtext, strlen(mtext));
    free(mtext);
    if (st != ENVSYNC_OK) {
        free(key);
        return plugin_failed(run, &pl->store_ctx, st);
    }
    free(key);
    key = es_key(sto, j->name, "latest");
    {
        char line[20];

        snprintf(line, sizeof line, "%s\n", pl->ts);
        st = es_put_small(&pl->store_ctx, key, line, strlen(line));
    }
    free(key);
    if (st != ENVSYNC_OK)
        return plugin_failed(run, &pl->store_ctx, st);
    es_log_extra(ENVSYNC_LOG_INFO, j->name, "store", sto->inst.plugin->name,
                 NULL, "stored artifact %s: %s, %llu entries, %llu rows, sha256 %s",
                 pl->ts, es_fmt_bytes(stats.stored_bytes, b1, sizeof b1),
                 (unsigned long long)stats.entries, (unsigned long long)stats.rows, stats.sha256);
    return ENVSYNC_OK;
fail:
    free(manifest_text);
    return st;
}

/* ------------------------------------------------------------------ setup */

static envsync_status
pipeline_open(pipeline *pl, es_run *run, const char *name, es_instance *transforms, size_t nt)
{
    envsync_status st;
    size_t i;

    memset(pl, 0, sizeof *pl);
    pl->run = run;
    pl->name = name;
    pthread_mutex_init(&pl->lock, NULL);
    pl->entry.put = entry_sink_put;
    pl->entry.priv = pl;
    pl->nt = nt;
    pl->tctx = es_calloc(nt + 1, sizeof *pl->tctx);
    pl->stages = es_calloc(nt + 1, sizeof *pl->stages);
    pl->delivered = es_counts_new();
    for (i = 0; i <= nt; i++) {
        pl->stages[i].sink.put = stage_sink_put;
        pl->stages[i].sink.priv = &pl->stages[i];
        pl->stages[i].pl = pl;
        pl->stages[i].index = i;
    }
    for (i = 0; i < nt; i++) {
        envsync_ctx *ctx = &pl->tctx[i];
        const envsync_plugin *d = &transforms[i].plugin->desc;

        st = es_ctx_open(ctx, run, run->conf, run->job->name, "transform", &transforms[i]);
        if (st != ENVSYNC_OK)
            return plugin_failed(run, ctx, st);
        if (d->transform_begin && (st = d->transform_begin(ctx, ctx->state)) != ENVSYNC_OK)
            return plugin_failed(run, ctx, st);
    }
    return ENVSYNC_OK;
}

static envsync_status
restore_open(pipeline *pl)
{
    es_run *run = pl->run;
    envsync_ctx *ctx = &pl->restore_ctx;
    envsync_status st;

    st = es_ctx_open(ctx, run, run->conf, run->job->name, "restore", run->job->restore);
    pl->restore_open = 1;
    if (st != ENVSYNC_OK)
        return plugin_failed(run, ctx, st);
    {
        const char *want = run->job->restore->plugin->desc.engine;

        if (want && run->artifact_engine && strcmp(want, run->artifact_engine) != 0)
            return core_failed(run, "restore", ENVSYNC_ERR_REFUSED,
                               "the artifact holds a %s backup; plugin %s restores %s",
                               run->artifact_engine, run->job->restore->plugin->name, want);
    }
    st = ctx->inst->plugin->desc.restore_begin(ctx, ctx->state);
    if (st != ENVSYNC_OK) {
        /* begin may have created things: abort cleans up */
        st = plugin_failed(run, ctx, st);
        ctx->inst->plugin->desc.restore_abort(ctx, ctx->state);
        es_log(ENVSYNC_LOG_WARN, run->job->name, "restore", ctx->inst->plugin->name,
               "restore aborted: the target was left as it was");
        return st;
    }
    pl->restore_begun = 1;
    return ENVSYNC_OK;
}

/* After the source is done: transforms flush, outputs commit. */
static envsync_status
pipeline_finish(pipeline *pl, json_t *extra)
{
    es_run *run = pl->run;
    envsync_status st;
    size_t i;

    for (i = 0; i < pl->nt; i++) {
        envsync_ctx *ctx = &pl->tctx[i];
        const envsync_plugin *d = &ctx->inst->plugin->desc;

        if (d->transform_finish &&
            (st = d->transform_finish(ctx, ctx->state, &pl->stages[i + 1].sink)) != ENVSYNC_OK)
            return plugin_failed(run, ctx, st);
    }
    if ((st = es_run_cancelled(run)) != ENVSYNC_OK)
        return st;
    if (pl->writer && (st = store_commit(pl, extra)) != ENVSYNC_OK)
        return st;
    if (pl->restore_begun) {
        envsync_ctx *ctx = &pl->restore_ctx;

        es_counts_free(run->expected);
        run->expected = pl->delivered;
        pl->delivered = NULL;
        st = ctx->inst->plugin->desc.restore_finish(ctx, ctx->state);
        if (st != ENVSYNC_OK) {
            /* pipeline_close aborts and says so */
            return plugin_failed(run, ctx, st);
        }
        pl->restore_begun = 0;
    }
    return ENVSYNC_OK;
}

/* Abort whatever is still open, then close every context. */
static void
pipeline_close(pipeline *pl)
{
    size_t i;

    if (pl->store_w) {
        pl->store_ctx.inst->plugin->desc.write_abort(&pl->store_ctx, pl->store_w);
        pl->store_w = NULL;
        es_log(ENVSYNC_LOG_WARN, pl->run->job->name, "store", pl->store_ctx.inst->plugin->name,
               "artifact %s aborted: nothing was committed", pl->ts);
    }
    if (pl->restore_begun) {
        pl->restore_ctx.inst->plugin->desc.restore_abort(&pl->restore_ctx, pl->restore_ctx.state);
        pl->restore_begun = 0;
        es_log(ENVSYNC_LOG_WARN, pl->run->job->name, "restore", pl->restore_ctx.inst->plugin->name,
               "restore aborted: the target was left as it was");
    }
    es_artifact_writer_free(pl->writer);
    pl->writer = NULL;
    if (pl->store_open)
        es_ctx_close(&pl->store_ctx);
    if (pl->restore_open)
        es_ctx_close(&pl->restore_ctx);
    for (i = 0; i < pl->nt; i++)
        if (pl->tctx[i].inst)
            es_ctx_close(&pl->tctx[i]);
    free(pl->tctx);
    free(pl->stages);
    free(pl->header_json);
    es_counts_free(pl->delivered);
    json_decref(pl->reports);
    pthread_mutex_destroy(&pl->lock);
}

static json_t *
plugin_json(const es_instance *in)
{
    return json_pack("{s:s, s:s}", "name", in->plugin->name, "version", in->plugin->desc.version);
}

static json_t *
transforms_json(es_job *j, int applied)
{
    json_t *a = json_array();
    size_t i;

    if (applied)
        for (i = 0; i < j->ntransforms; i++)
            if (j->transforms[i].enabled)
                json_array_append_new(a, plugin_json(&j->transforms[i]));
    return a;
}

/* Close the current phase into run->phases (for metrics). */
static void
phase_end(es_run *run)
{
    if (!run->phase || strcmp(run->phase, "start") == 0 || run->nphases >= 8)
        return;
    run->phases[run->nphases].name = run->phase;
    run->phases[run->nphases].ms = es_now_ms() - run->phase_start_ms;
    run->phases[run->nphases].bytes = atomic_load(&run->bytes);
    run->phases[run->nphases].rows = atomic_load(&run->rows);
    run->nphases++;
    run->phase = "start";
}

static void
phase_begin(es_run *run, const char *phase)
{
    phase_end(run);
    run->phase = phase;
    run->phase_start_ms = es_now_ms();
    atomic_store(&run->bytes, 0);
    atomic_store(&run->rows, 0);
}

/* Enabled transforms, compacted into a fresh array the caller frees. */
static es_instance *
enabled_transforms(es_job *j, size_t *n)
{
    es_instance *t = es_calloc(j->ntransforms + 1, sizeof *t);
    size_t i;

    *n = 0;
    for (i = 0; i < j->ntransforms; i++)
        if (j->transforms[i].enabled)
            t[(*n)++] = j->transforms[i];
        else
            es_log(ENVSYNC_LOG_WARN, j->name, "transform", j->transforms[i].plugin->name,
                   "transform #%zu is disabled (enabled = false): data passes unchanged", i + 1);
    return t;
}

/* ------------------------------------------------------------------ produce */

static envsync_status
run_produce(es_run *run, int with_store, int with_restore, int with_transforms, char ts_out[17])
{
    es_job *j = run->job;
    const envsync_plugin *bd = &j->backup->plugin->desc;
    envsync_ctx bctx;
    pipeline pl;
    es_instance *tr = NULL;
    size_t nt = 0;
    envsync_status st;
    char *info = NULL, created[21];
    json_t *header, *extra;
    int bopen = 0;

    if (with_transforms)
        tr = enabled_transforms(j, &nt);
    phase_begin(run, "backup");
    st = pipeline_open(&pl, run, "produce", tr, nt);
    if (st != ENVSYNC_OK)
        goto out;
    st = es_ctx_open(&bctx, run, run->conf, j->name, "backup", j->backup);
    bopen = 1;
    if (st != ENVSYNC_OK) {
        st = plugin_failed(run, &bctx, st);
        goto out;
    }
    es_iso8601(time(NULL), created);
    header = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o}", "job", j->name,
                       "engine", bd->engine ? bd->engine : j->backup->plugin->name,
                       "environment", run->conf->environment, "created", created,
                       "envsync_version", PACKAGE_VERSION, "backup", plugin_json(j->backup));
    free(run->artifact_engine);
    run->artifact_engine = es_strdup(bd->engine ? bd->engine : j->backup->plugin->name);
    free(run->artifact_header);
    run->artifact_header = json_text(header);
    if (with_store)
        st = store_open(&pl, j->store.storage, run->artifact_header);
    if (st == ENVSYNC_OK && with_restore)
        st = restore_open(&pl);
    json_decref(header);
    if (st != ENVSYNC_OK)
        goto out;

    es_log(ENVSYNC_LOG_INFO, j->name, "backup", j->backup->plugin->name, "backup started");
    st = bd->backup(&bctx, bctx.state, &pl.entry, &info);
    if (st != ENVSYNC_OK) {
        st = plugin_failed(run, &bctx, st);
        goto out;
    }
    if ((st = es_run_cancelled(run)) != ENVSYNC_OK)
        goto out;
    {
        char d1[32];

        es_log(ENVSYNC_LOG_INFO, j->name, "backup", j->backup->plugin->name,
               "backup finished: %llu entries, %llu rows in %s", (unsigned long long)pl.entries,
               (unsigned long long)pl.rows,
               es_fmt_duration(es_now_ms() - run->phase_start_ms, d1, sizeof d1));
    }
    extra = json_pack("{s:s, s:s, s:s, s:s, s:o, s:o}", "job", j->name,
                      "engine", run->artifact_engine, "environment", run->conf->environment,
                      "created", created, "backup", plugin_json(j->backup),
                      "transforms", transforms_json(j, with_transforms));
    json_object_set_new(extra, "timestamp", json_string(pl.ts));
    if (info) {
        json_t *ij = json_loads(info, 0, NULL);

        json_object_set_new(extra, "source", ij ? ij : json_string(info));
    }
    st = pipeline_finish(&pl, extra);
    json_decref(extra);
    if (st == ENVSYNC_OK && with_store)
        memcpy(ts_out, pl.ts, 17);
out:
    free(info);
    pipeline_close(&pl);
    if (bopen)
        es_ctx_close(&bctx);
    free(tr);
    return st;
}

/* ------------------------------------------------------------------ consume */

typedef struct fetch_in {
    envsync_ctx *ctx;
    void *reader;
    es_run *run;
} fetch_in;

static envsync_status
fetch_read_fn(void *arg, void *buf, size_t cap, size_t *got)
{
    fetch_in *in = arg;
    envsync_status st;

    if ((st = es_run_cancelled(in->run)) != ENVSYNC_OK)
        return st;
    st = in->ctx->inst->plugin->desc.read(in->ctx, in->reader, buf, cap, got);
    if (st == ENVSYNC_OK)
        atomic_fetch_add(&in->run->bytes, *got);
    else if (!in->ctx->err_status)
        es_ctx_error(in->ctx, st, "read failed");
    return st;
}

/* An artifact being read from the job's fetch storage. */
typedef struct fetch_src {
    envsync_ctx ctx;             /* the fetch storage's plugin instance */
    int ctx_open;
    fetch_in in;
    es_artifact_reader *reader;
    char ts[17];
    char *key;                   /* the artifact's key, once opened */
} fetch_src;

/* Open the fetch storage and pick the artifact: given_ts, else the job's
 * select.  A failure to open is reported; ENVSYNC_ERR_NOTFOUND from the
 * selection is returned unreported (the message is on fs->ctx). */
static envsync_status
fetch_select(es_run *run, fetch_src *fs, const char *phase, const char *given_ts)
{
    es_job *j = run->job;
    envsync_status st;

    memset(fs, 0, sizeof *fs);
    st = es_ctx_open(&fs->ctx, run, run->conf, j->name, phase, &j->fetch.storage->inst);
    fs->ctx_open = 1;
    if (st != ENVSYNC_OK)
        return plugin_failed(run, &fs->ctx, st);
    if (given_ts) {
        memcpy(fs->ts, given_ts, 17);
        return ENVSYNC_OK;
    }
    st = es_stored_select(&fs->ctx, j->fetch.storage, j->fetch.job, j->fetch.select, fs->ts);
    if (st != ENVSYNC_OK && st != ENVSYNC_ERR_NOTFOUND)
        st = plugin_failed(run, &fs->ctx, st);
    return st;
}

/* Open the selected artifact and its reader (which reads the header);
 * want_size UINT64_MAX skips the size check.  Sets the run's artifact
 * engine and header. */
static envsync_status
fetch_open(es_run *run, fetch_src *fs, const char *phase, uint64_t want_size)
{
    es_job *j = run->job;
    es_storage *sto = j->fetch.storage;
    uint64_t size = UINT64_MAX;
    const char *header_text;
    char err[ES_ERRLEN];
    envsync_status st;
    json_t *h;

    fs->key = es_key_artifact(sto, j->fetch.job, fs->ts);
    st = sto->inst.plugin->desc.read_open(&fs->ctx, fs->ctx.state, fs->key, &size, &fs->in.reader);
    if (st != ENVSYNC_OK) {
        fs->in.reader = NULL;
        return plugin_failed(run, &fs->ctx, st == ENVSYNC_ERR_NOTFOUND ? ENVSYNC_ERR_STORAGE : st);
    }
    if (want_size != UINT64_MAX && size != UINT64_MAX && size != want_size)
        return core_failed(run, phase, ENVSYNC_ERR_INTEGRITY, "artifact %s is %llu bytes, its manifest "
                           "says %llu: refusing it", fs->key, (unsigned long long)size,
                           (unsigned long long)want_size);
    fs->in.ctx = &fs->ctx;
    fs->in.run = run;
    st = es_artifact_reader_new(&fs->reader, &j->art, fetch_read_fn, &fs->in, &header_text, err, sizeof err);
    if (st != ENVSYNC_OK) {
        fs->reader = NULL;
        if (fs->ctx.err_status)
            return plugin_failed(run, &fs->ctx, fs->ctx.err_status);
        return core_failed(run, phase, st, "artifact %s: %s", fs->key, err);
    }
    free(run->artifact_header);
    run->artifact_header = es_strdup(header_text);
    free(run->artifact_engine);
    run->artifact_engine = NULL;
    h = json_loads(header_text, 0, NULL);
    if (h && json_is_string(json_object_get(h, "engine")))
        run->artifact_engine = es_strdup(json_string_value(json_object_get(h, "engine")));
    json_decref(h);
    return ENVSYNC_OK;
}

/* Next entry of the artifact; failures are reported against the storage
 * (a read error), the run's cancellation, or the format. */
static envsync_status
fetch_next(es_run *run, fetch_src *fs, const char *phase, envsync_entry *e, const void **data,
           size_t *len, int *more)
{
    char err[ES_ERRLEN];
    envsync_status st = es_artifact_next(fs->reader, e, data, len, more, err, sizeof err);

    if (st == ENVSYNC_OK)
        return st;
    if (fs->ctx.err_status)
        return plugin_failed(run, &fs->ctx, fs->ctx.err_status);
    if (atomic_load(&run->cancel))
        return (envsync_status)atomic_load(&run->cancel);
    return core_failed(run, phase, st, "artifact %s: %s", fs->key, err);
}

static void
fetch_close(fetch_src *fs)
{
    if (fs->reader)
        es_artifact_reader_free(fs->reader);
    if (fs->in.reader)
        fs->ctx.inst->plugin->desc.read_close(&fs->ctx, fs->in.reader);
    if (fs->ctx_open)
        es_ctx_close(&fs->ctx);
    free(fs->key);
    memset(fs, 0, sizeof *fs);
}

static envsync_status
run_consume(es_run *run, const char *given_ts, int with_store)
{
    es_job *j = run->job;
    es_storage *sto = j->fetch.storage;
    fetch_src fs;
    pipeline pl;
    es_instance *tr;
    size_t nt = 0;
    envsync_status st;
    char *mkey = NULL, *mtext = NULL;
    json_t *manifest = NULL;
    uint64_t want_size = 0;
    const char *want_sha = NULL;

    memset(&fs, 0, sizeof fs);
    tr = enabled_transforms(j, &nt);
    phase_begin(run, "fetch");
    st = pipeline_open(&pl, run, "consume", tr, nt);
    if (st != ENVSYNC_OK)
        goto out;
    st = fetch_select(run, &fs, "fetch", given_ts);
    if (st == ENVSYNC_ERR_NOTFOUND)
        st = plugin_failed(run, &fs.ctx, ENVSYNC_ERR_STORAGE);
    if (st != ENVSYNC_OK)
        goto out;
    mkey = es_key_manifest(sto, j->fetch.job, fs.ts);
    st = es_get_small(&fs.ctx, mkey, &mtext, NULL);
    if (st != ENVSYNC_OK) {
        if (st == ENVSYNC_ERR_NOTFOUND) {
            fs.ctx.err_status = ENVSYNC_OK;
            es_ctx_error(&fs.ctx, ENVSYNC_ERR_INTEGRITY, "manifest %s is missing: the artifact is incomplete", mkey);
            st = ENVSYNC_ERR_INTEGRITY;
        }
        st = plugin_failed(run, &fs.ctx, st);
        goto out;
    }
    manifest = json_loads(mtext, 0, NULL);
    if (!manifest || json_unpack(manifest, "{s:{s:I, s:s}}", "artifact", "size", &want_size,
                                 "sha256", &want_sha) != 0) {
        st = core_failed(run, "fetch", ENVSYNC_ERR_INTEGRITY, "manifest %s is not a valid envsync manifest", mkey);
        goto out;
    }
    es_log(ENVSYNC_LOG_INFO, j->name, "fetch", sto->inst.plugin->name,
           "fetching %s/%s.envsync from storage %s (%llu bytes)", j->fetch.job, fs.ts, sto->name,
           (unsigned long long)want_size);
    run->artifact_size = want_size;
    if ((st = fetch_open(run, &fs, "fetch", want_size)) != ENVSYNC_OK)
        goto out;
    if (with_store) {
        json_t *h = json_loads(run->artifact_header, 0, NULL);
        char *ht;

        if (!h)
            h = json_object();
        json_object_set_new(h, "job", json_string(j->name));
        json_object_set_new(h, "derived_from", json_pack("{s:s, s:s}", "job", j->fetch.job, "timestamp", fs.ts));
        ht = json_text(h);
        st = store_open(&pl, j->store.storage, ht);
        free(ht);
        json_decref(h);
        if (st != ENVSYNC_OK)
            goto out;
    }
    if (j->restore && j->restore->enabled && (st = restore_open(&pl)) != ENVSYNC_OK)
        goto out;

    for (;;) {
        envsync_entry e;
        const void *data;
        size_t len;
        int more;

        if ((st = fetch_next(run, &fs, "fetch", &e, &data, &len, &more)) != ENVSYNC_OK)
            goto out;
        if (!more)
            break;
        if ((st = es_run_cancelled(run)) != ENVSYNC_OK)
            goto out;
        if ((st = stage_put(&pl, 0, &e, data, len)) != ENVSYNC_OK)
            goto out;
    }
    {
        es_artifact_stats stats;

        es_artifact_reader_stats(fs.reader, &stats);
        if (stats.stored_bytes != want_size || strcmp(stats.sha256, want_sha) != 0) {
            st = core_failed(run, "fetch", ENVSYNC_ERR_INTEGRITY, "artifact %s does not match its "
                             "manifest: %llu bytes with sha256 %s, expected %llu bytes with sha256 %s; "
                             "nothing was restored", fs.key, (unsigned long long)stats.stored_bytes,
                             stats.sha256, (unsigned long long)want_size, want_sha);
            goto out;
        }
        es_log(ENVSYNC_LOG_INFO, j->name, "fetch", sto->inst.plugin->name,
               "artifact %s verified: %llu bytes, sha256 %s, %llu entries, %llu rows", fs.ts,
               (unsigned long long)stats.stored_bytes, stats.sha256,
               (unsigned long long)stats.entries, (unsigned long long)stats.rows);
    }
    {
        json_t *extra = json_pack("{s:s, s:s, s:s, s:o, s:o}", "job", j->name,
                                  "engine", run->artifact_engine ? run->artifact_engine : "",
                                  "environment", run->conf->environment,
                                  "derived_from", json_pack("{s:s, s:s}", "job", j->fetch.job, "timestamp", fs.ts),
                                  "transforms", transforms_json(j, 1));

        json_object_set_new(extra, "timestamp", json_string(pl.ts));
        phase_begin(run, pl.restore_begun ? "restore" : "store");
        st = pipeline_finish(&pl, extra);
        json_decref(extra);
    }
out:
    fetch_close(&fs);
    pipeline_close(&pl);
    json_decref(manifest);
    free(mtext);
    free(mkey);
    free(tr);
    return st;
}

/* `envsync check`: feed the schema of the artifact a job would fetch
 * (every entry before the first DATA/DOCS; with deep, every non-data entry
 * of the whole artifact, which is then also verified to the end) through
 * the job's transforms, so rules are checked against the real tables and
 * columns before a run.  Nothing is restored or stored. */
envsync_status
es_run_check_schema(es_conf *conf, es_job *j, int deep)
{
    es_run run;
    es_storage *sto = j->fetch.storage;
    fetch_src fs;
    pipeline pl;
    es_instance *tr;
    size_t nt = 0, n = 0, k;
    envsync_status st;

    memset(&run, 0, sizeof run);
    run.conf = conf;
    run.job = j;
    run.start_ms = es_now_ms();
    run.phase = "check";
    atomic_init(&run.cancel, 0);
    memset(&fs, 0, sizeof fs);
    tr = enabled_transforms(j, &nt);
    st = pipeline_open(&pl, &run, "check", tr, nt);
    if (st != ENVSYNC_OK)
        goto out;
    st = fetch_select(&run, &fs, "check", NULL);
    if (st == ENVSYNC_ERR_NOTFOUND) {
        /* nothing stored yet: nothing to check against */
        es_log(ENVSYNC_LOG_WARN, j->name, "check", sto->inst.plugin->name,
               "no artifact to check the transforms against yet: %s", es_ctx_message(&fs.ctx));
        st = ENVSYNC_OK;
        goto out;
    }
    if (st != ENVSYNC_OK || (st = fetch_open(&run, &fs, "check", UINT64_MAX)) != ENVSYNC_OK)
        goto out;
    for (;;) {
        envsync_entry e;
        const void *data;
        size_t len;
        int more;

        if ((st = fetch_next(&run, &fs, "check", &e, &data, &len, &more)) != ENVSYNC_OK)
            goto out;
        if (!more)
            break;
        if (e.kind == ENVSYNC_ENTRY_DATA || e.kind == ENVSYNC_ENTRY_DOCS) {
            if (!deep)
                break;
            continue;
        }
        n++;
        if ((st = stage_put(&pl, 0, &e, data, len)) != ENVSYNC_OK)
            goto out;
    }
    if (deep) {
        es_artifact_stats stats;
        char *mkey = es_key_manifest(sto, j->fetch.job, fs.ts), *mtext = NULL;
        json_t *m = NULL;
        json_int_t size_ = -1;
        const char *sha = NULL;

        es_artifact_reader_stats(fs.reader, &stats);
        if (es_get_small(&fs.ctx, mkey, &mtext, NULL) == ENVSYNC_OK)
            m = json_loads(mtext, 0, NULL);
        if (!m || json_unpack(m, "{s:{s:I, s:s}}", "artifact", "size", &size_, "sha256", &sha) != 0 ||
            (uint64_t)size_ != stats.stored_bytes || strcmp(sha, stats.sha256) != 0)
            st = core_failed(&run, "check", ENVSYNC_ERR_INTEGRITY, "artifact %s does not match its "
                             "manifest %s", fs.key, mkey);
        else
            es_log(ENVSYNC_LOG_INFO, j->name, "check", NULL, "artifact %s verified: %llu bytes, sha256 %s",
                   fs.key, (unsigned long long)stats.stored_bytes, stats.sha256);
        json_decref(m);
        free(mtext);
        free(mkey);
        if (st != ENVSYNC_OK)
            goto out;
    }
    /* let the transforms judge what they saw (nothing reaches any output) */
    for (k = 0; k < pl.nt && st == ENVSYNC_OK; k++) {
        envsync_ctx *tc = &pl.tctx[k];
        const envsync_plugin *d = &tc->inst->plugin->desc;

        if (d->transform_finish &&
            (st = d->transform_finish(tc, tc->state, &pl.stages[k + 1].sink)) != ENVSYNC_OK)
            st = plugin_failed(&run, tc, st);
    }
    if (st == ENVSYNC_OK)
        es_log(ENVSYNC_LOG_INFO, j->name, "check", NULL, "transforms accept the schema of %s/%s "
               "(%zu schema entries)", j->fetch.job, fs.ts, n);
out:
    fetch_close(&fs);
    pipeline_close(&pl);
    free(tr);
    free(run.artifact_engine);
    free(run.artifact_header);
    return st;
}

/* ------------------------------------------------------------------ watchdog */

static void *
watchdog_main(void *arg)
{
    es_run *run = arg;
    int64_t last = es_now_ms();
    int64_t interval = run->conf->progress_interval_ms;

    pthread_mutex_lock(&run->wd_lock);
    while (!run->stopping) {
        struct timespec ts;

        es_abstime_in(200, &ts);
        pthread_cond_timedwait(&run->wd_cond, &run->wd_lock, &ts);
        if (run->stopping)
            break;
        if (es_run_cancelled(run) == ENVSYNC_ERR_TIMEOUT && !run->timeout_logged) {
            char d[32];

            run->timeout_logged = 1;
            report(run, NULL, run->phase, "core", ENVSYNC_ERR_TIMEOUT, "");
            es_log(ENVSYNC_LOG_ERROR, run->job->name, run->phase, NULL,
                   "job timeout of %s passed: aborting", es_fmt_duration(run->job->timeout_ms, d, sizeof d));
        }
        if (interval > 0 && es_now_ms() - last >= interval) {
            uint64_t bytes = atomic_load(&run->bytes), rows = atomic_load(&run->rows);
            int64_t el = es_now_ms() - run->phase_start_ms;
            char b[32], r[32], d[32], extra[256];
            double rate = el > 0 ? (double)bytes / ((double)el / 1000.0) : 0;

            last = es_now_ms();
            snprintf(extra, sizeof extra, "\"progress\":true,\"bytes\":%llu,\"rows\":%llu,"
                     "\"elapsed_ms\":%lld,\"bytes_per_second\":%.0f", (unsigned long long)bytes,
                     (unsigned long long)rows, (long long)el, rate);
            es_log_extra(ENVSYNC_LOG_INFO, run->job->name, run->phase, NULL, extra,
                         "progress: %s, %llu rows, %s/s, elapsed %s",
                         es_fmt_bytes(bytes, b, sizeof b), (unsigned long long)rows,
                         es_fmt_bytes((uint64_t)rate, r, sizeof r),
                         es_fmt_duration(el, d, sizeof d));
        }
    }
    pthread_mutex_unlock(&run->wd_lock);
    return NULL;
}

static int
rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb; (void)flag; (void)ftw;
    remove(path);
    return 0;
}

/* Value of a plugin option for the plan, or NULL. */
static const char *
plan_opt(es_instance *in, const char *name)
{
    es_optval *ov = es_instance_opt(in, name);

    return ov && ov->str ? ov->str : NULL;
}

static void
plan_instance(const char *what, es_instance *in)
{
    static const char *const keys[] = { "host", "port", "database", "url", "rules", "bucket", "path", NULL };
    char line[1024];
    size_t off, k;

    off = (size_t)snprintf(line, sizeof line, "plan: %s: plugin %s %s", what, in->plugin->name,
                           in->plugin->desc.version);
    for (k = 0; keys[k] && off < sizeof line; k++) {
        const char *v = plan_opt(in, keys[k]);

        if (v)
            off += (size_t)snprintf(line + off, sizeof line - off, ", %s=%s", keys[k], v);
    }
    printf("%s%s\n", line, in->enabled ? "" : " (disabled)");
}

/* --dry-run: resolve what a run would do, change nothing.  Only storage
 * plugins are initialised (to list and read manifests); engine plugins
 * are not, so no database is connected to. */
static envsync_status
run_plan(es_run *run, int do_backup, int do_fetch, int do_store, int do_restore, const char *select)
{
    es_job *j = run->job;
    envsync_status st = ENVSYNC_OK;
    size_t i;

    printf("plan: job %s (environment %s)%s\n", j->name, run->conf->environment,
           es_env_is_production(run->conf->environment) ? " [production]" : "");
    if (j->lock.storage && j->lock.enabled) {
        char *key = es_key(j->lock.storage, j->name, "lock");

        printf("plan: lock: %s in storage %s (lease %llds)\n", key, j->lock.storage->name,
               (long long)(j->lock.ttl_ms / 1000));
        free(key);
    }
    if (do_backup)
        plan_instance("backup", j->backup);
    if (do_store) {
        char *key = es_key(j->store.storage, j->name, "<timestamp>.envsync");

        printf("plan: store: %s in storage %s, then .manifest and latest\n", key, j->store.storage->name);
        free(key);
    }
    if (do_fetch) {
        es_storage *sto = j->fetch.storage;
        envsync_ctx ctx;
        char ts[17];

        if (do_backup) {
            printf("plan: fetch: the artifact this run stores, from storage %s\n", sto->name);
        } else if ((st = es_ctx_open(&ctx, run, run->conf, j->name, "fetch", &sto->inst)) == ENVSYNC_OK &&
                   (st = es_stored_select(&ctx, sto, j->fetch.job, select ? select : j->fetch.select, ts)) == ENVSYNC_OK) {
            char *mkey = es_key_manifest(sto, j->fetch.job, ts), *text = NULL;
            json_t *m = NULL;

            if (es_get_small(&ctx, mkey, &text, NULL) == ENVSYNC_OK)
                m = json_loads(text, 0, NULL);
            printf("plan: fetch: %s/%s.envsync from storage %s (select %s): %lld bytes, sha256 %s, engine %s\n",
                   j->fetch.job, ts, sto->name, select ? select : j->fetch.select,
                   (long long)json_integer_value(json_object_get(json_object_get(m, "artifact"), "size")),
                   json_string_value(json_object_get(json_object_get(m, "artifact"), "sha256")) ?
                   json_string_value(json_object_get(json_object_get(m, "artifact"), "sha256")) : "?",
                   json_string_value(json_object_get(m, "engine")) ?
                   json_string_value(json_object_get(m, "engine")) : "?");
            json_decref(m);
            free(text);
            free(mkey);
        } else {
            printf("plan: fetch: nothing to fetch from storage %s: %s\n", sto->name, es_ctx_message(&ctx));
            es_log(ENVSYNC_LOG_ERROR, j->name, "fetch", sto->inst.plugin->name, "%s", es_ctx_message(&ctx));
            st = st == ENVSYNC_ERR_NOTFOUND ? ENVSYNC_ERR_STORAGE : st;
        }
        if (!do_backup)
            es_ctx_close(&ctx);
    }
    for (i = 0; i < j->ntransforms; i++)
        plan_instance("transform", &j->transforms[i]);
    if (do_restore) {
        plan_instance("restore", j->restore);
        if (es_env_is_production(run->conf->environment) && !run->conf->allow_production_restore)
            printf("plan: restore would be REFUSED: environment %s is production\n", run->conf->environment);
    }
    printf("plan: nothing was changed (dry run)\n");
    return st;
}

static void
finish_notifications(es_run *run, envsync_status st)
{
    es_job *j = run->job;
    es_storage *state = j->lock.enabled ? j->lock.storage : NULL;
    char *prev = NULL;
    char ts[21];

    es_notify_metrics(run, st == ENVSYNC_OK ? "succeeded" : "failed", st);
    if (state)
        prev = es_state_get(run, state, "last-run");
    if (st != ENVSYNC_OK) {
        es_notify_webhook(run, "failure", st, run->fail_msg);
    } else if (prev && strstr(prev, "\"failed\"")) {
        es_log(ENVSYNC_LOG_INFO, j->name, NULL, NULL, "recovered after a failed run");
        es_notify_webhook(run, "recovery", st, NULL);
    }
    if (state) {
        json_t *o;
        char *text;

        es_iso8601(time(NULL), ts);
        o = json_pack("{s:s, s:i, s:s, s:s}", "result", st == ENVSYNC_OK ? "succeeded" : "failed",
                      "exit_code", (int)st, "status", es_status_name(st), "ended", ts);
        text = json_text(o);
        es_state_put(run, state, "last-run", text);
        free(text);
        json_decref(o);
    }
    free(prev);
}

envsync_status
es_run_job(es_conf *conf, es_job *j, const es_run_opts *opts)
{
    es_run run;
    es_lock *lock = NULL;
    envsync_status st = ENVSYNC_OK;
    char ts[17] = "", d[32], *tmpl;
    int do_backup, do_fetch, do_store, do_restore;
    const char *base;

    memset(&run, 0, sizeof run);
    run.conf = conf;
    run.job = j;
    run.start_ms = es_now_ms();
    run.phase = "start";
    if (j->timeout_ms)
        run.deadline_ms = run.start_ms + j->timeout_ms;
    atomic_init(&run.cancel, 0);
    pthread_mutex_init(&run.wd_lock, NULL);
    pthread_cond_init(&run.wd_cond, NULL);

    if (!j->enabled) {
        es_log(ENVSYNC_LOG_WARN, j->name, NULL, NULL, "job is disabled (enabled = false): skipping");
        return ENVSYNC_OK;
    }
    do_backup = j->backup && j->backup->enabled;
    do_fetch = j->fetch.storage && j->fetch.enabled;
    do_store = j->store.storage && j->store.enabled;
    do_restore = j->restore && j->restore->enabled;
    if (!do_backup && !do_fetch) {
        es_log(ENVSYNC_LOG_WARN, j->name, NULL, NULL, "every source phase is disabled: nothing to do");
        return ENVSYNC_OK;
    }
    if (opts && opts->select && !do_fetch)
        es_log(ENVSYNC_LOG_WARN, j->name, NULL, NULL, "--at is ignored: the job does not fetch");
    run.start_wall = time(NULL);
    if (opts && opts->dry_run) {
        st = run_plan(&run, do_backup, do_fetch, do_store, do_restore, opts->select);
        pthread_mutex_destroy(&run.wd_lock);
        pthread_cond_destroy(&run.wd_cond);
        return st;
    }
    if (j->lock.storage && j->lock.enabled) {
        st = es_lock_acquire(&run, j->lock.storage, j->lock.ttl_ms, j->lock.wait_ms,
                             opts && opts->force_unlock, &lock);
        if (st != ENVSYNC_OK) {
            pthread_mutex_destroy(&run.wd_lock);
            pthread_cond_destroy(&run.wd_cond);
            return st;
        }
    }
    es_notify_metrics(&run, "started", ENVSYNC_OK);

    base = conf->tmpdir ? conf->tmpdir : getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    tmpl = es_asprintf("%s/envsync-%s.XXXXXX", base, j->name);
    if (!mkdtemp(tmpl)) {
        es_log(ENVSYNC_LOG_ERROR, j->name, NULL, NULL, "cannot create a scratch directory in %s: %s",
               base, strerror(errno));
        free(tmpl);
        es_lock_release(lock);
        return ENVSYNC_ERR_OTHER;
    }
    run.tmpdir = tmpl;
    if (pthread_create(&run.watchdog, NULL, watchdog_main, &run) == 0)
        run.watchdog_running = 1;

    es_log(ENVSYNC_LOG_INFO, j->name, NULL, NULL, "job started: %s%s%s%s%s",
           do_backup ? "backup " : "", do_backup && do_store ? "store " : "",
           do_fetch ? "fetch " : "", j->ntransforms ? "transform " : "",
           do_restore ? "restore" : (do_fetch && do_store && !do_backup ? "store" : ""));

    if (do_backup) {
        /* transforms belong to the consume pipeline when there is one */
        int restore_here = do_restore && !do_fetch;

        if (!do_store && !restore_here) {
            es_log(ENVSYNC_LOG_WARN, j->name, "backup", NULL,
                   "backup has no enabled destination (store and restore disabled): skipping it");
        } else {
            st = run_produce(&run, do_store, restore_here, !do_fetch, ts);
        }
    }
    if (st == ENVSYNC_OK && do_fetch) {
        const char *given = NULL;

        if (do_backup && ts[0]) {
            given = ts;       /* the full cycle fetches what it just stored */
        } else if (opts && opts->select) {
            free(j->fetch.select);
            j->fetch.select = es_strdup(opts->select);
        }
        if (!do_restore && !(do_store && !do_backup)) {
            es_log(ENVSYNC_LOG_WARN, j->name, "fetch", NULL, "fetch has no enabled destination: skipping it");
        } else {
            st = run_consume(&run, given, do_store && !do_backup);
        }
    }
    if (st == ENVSYNC_OK)
        st = es_run_cancelled(&run);

    if (run.watchdog_running) {
        pthread_mutex_lock(&run.wd_lock);
        run.stopping = 1;
        pthread_cond_signal(&run.wd_cond);
        pthread_mutex_unlock(&run.wd_lock);
        pthread_join(run.watchdog, NULL);
    }
    nftw(run.tmpdir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    phase_end(&run);
    if (st != ENVSYNC_OK && !run.fail_msg[0])
        snprintf(run.fail_msg, sizeof run.fail_msg, "%s", es_status_name(st));
    finish_notifications(&run, st);
    es_lock_release(lock);
    {
        char extra[256];

        snprintf(extra, sizeof extra, "\"result\":\"%s\",\"exit_code\":%d,\"duration_ms\":%lld",
                 st == ENVSYNC_OK ? "succeeded" : "failed", (int)st,
                 (long long)(es_now_ms() - run.start_ms));
        if (st == ENVSYNC_OK)
            es_log_extra(ENVSYNC_LOG_INFO, j->name, NULL, NULL, extra, "job succeeded in %s",
                         es_fmt_duration(es_now_ms() - run.start_ms, d, sizeof d));
        else
            es_log_extra(ENVSYNC_LOG_ERROR, j->name, NULL, NULL, extra,
                         "job failed after %s: exit %d (%s)",
                         es_fmt_duration(es_now_ms() - run.start_ms, d, sizeof d), (int)st,
                         es_status_name(st));
    }
    free(run.tmpdir);
    free(run.artifact_engine);
    free(run.artifact_header);
    es_counts_free(run.expected);
    pthread_mutex_destroy(&run.wd_lock);
    pthread_cond_destroy(&run.wd_cond);
    return st;
}
