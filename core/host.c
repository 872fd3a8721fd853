/*
 * host.c - the services table handed to plugins (envsync_host) and the
 * plugin contexts.
 */
#include "config.h"
#include "run.h"
#include "log.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

volatile sig_atomic_t es_signal_received;

const char *
es_status_name(envsync_status st)
{
    switch (st) {
    case ENVSYNC_OK: return "ok";
    case ENVSYNC_ERR_OTHER: return "error";
    case ENVSYNC_ERR_USAGE: return "usage";
    case ENVSYNC_ERR_CONFIG: return "config";
    case ENVSYNC_ERR_PLUGIN: return "plugin";
    case ENVSYNC_ERR_CONNECT: return "connection";
    case ENVSYNC_ERR_AUTH: return "authentication";
    case ENVSYNC_ERR_INTEGRITY: return "data-integrity";
    case ENVSYNC_ERR_TIMEOUT: return "timeout";
    case ENVSYNC_ERR_INTERRUPTED: return "interrupted";
    case ENVSYNC_ERR_STORAGE: return "storage";
    case ENVSYNC_ERR_REFUSED: return "refused";
    case ENVSYNC_ERR_LOCKED: return "locked";
    case ENVSYNC_ERR_NOTFOUND: return "not-found";
    case ENVSYNC_ERR_RETRY: return "retry";
    }
    return "error";
}

void
es_run_fail(es_run *run, envsync_status st)
{
    int expected = 0;

    if (!run || st == ENVSYNC_OK)
        return;
    atomic_compare_exchange_strong(&run->cancel, &expected, (int)st);
}

envsync_status
es_run_cancelled(es_run *run)
{
    if (es_signal_received && run)
        es_run_fail(run, ENVSYNC_ERR_INTERRUPTED);
    if (run && run->deadline_ms && es_now_ms() > run->deadline_ms)
        es_run_fail(run, ENVSYNC_ERR_TIMEOUT);
    if (!run)
        return es_signal_received ? ENVSYNC_ERR_INTERRUPTED : ENVSYNC_OK;
    return (envsync_status)atomic_load(&run->cancel);
}

/* ------------------------------------------------------------------ counts */
typedef struct count_slot {
    char *key;                       /* schema \x1f object */
    uint64_t rows;
} count_slot;

struct es_counts {
    count_slot *slots;
    size_t cap, n;
};

es_counts *
es_counts_new(void)
{
    es_counts *c = es_calloc(1, sizeof *c);

    c->cap = 64;
    c->slots = es_calloc(c->cap, sizeof *c->slots);
    return c;
}

static uint64_t
fnv(const char *s)
{
    uint64_t h = 1469598103934665603ULL;

    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

static count_slot *
count_find(es_counts *c, const char *key, int create)
{
    size_t i = (size_t)fnv(key) & (c->cap - 1);

    while (c->slots[i].key) {
        if (strcmp(c->slots[i].key, key) == 0)
            return &c->slots[i];
        i = (i + 1) & (c->cap - 1);
    }
    if (!create)
        return NULL;
    if ((c->n + 1) * 2 > c->cap) {
        count_slot *old = c->slots;
        size_t oldcap = c->cap, k;

        c->cap *= 2;
        c->slots = es_calloc(c->cap, sizeof *c->slots);
        c->n = 0;
        for (k = 0; k < oldcap; k++)
            if (old[k].key) {
                count_slot *s = count_find(c, old[k].key, 1);

                free(s->key);
                s->key = old[k].key;
                s->rows = old[k].rows;
            }
        free(old);
        return count_find(c, key, 1);
    }
    c->slots[i].key = es_strdup(key);
    c->n++;
    return &c->slots[i];
}

void
es_counts_add(es_counts *c, const char *schema, const char *object, uint64_t rows)
{
    char *key = es_asprintf("%s\x1f%s", schema ? schema : "", object ? object : "");

    count_find(c, key, 1)->rows += rows;
    free(key);
}

int
es_counts_get(es_counts *c, const char *schema, const char *object, uint64_t *rows)
{
    char *key = es_asprintf("%s\x1f%s", schema ? schema : "", object ? object : "");
    count_slot *s = count_find(c, key, 0);

    free(key);
    if (!s)
        return -1;
    *rows = s->rows;
    return 0;
}

void
es_counts_free(es_counts *c)
{
    size_t i;

    if (!c)
        return;
    for (i = 0; i < c->cap; i++)
        free(c->slots[i].key);
    free(c->slots);
    free(c);
}

/* ------------------------------------------------------------------ host */
static const char *
ctx_plugin(envsync_ctx *ctx)
{
    return ctx->inst && ctx->inst->plugin ? ctx->inst->plugin->name : NULL;
}

static void
h_log(envsync_ctx *ctx, int level, const char *fmt, ...)
{
    va_list ap;

    if (level < ENVSYNC_LOG_ERROR)
        level = ENVSYNC_LOG_ERROR;
    if (level > ENVSYNC_LOG_DEBUG)
        level = ENVSYNC_LOG_DEBUG;
    va_start(ap, fmt);
    es_logv(level, ctx->job, ctx->phase, ctx_plugin(ctx), NULL, fmt, ap);
    va_end(ap);
}

static envsync_status
ctx_verror(envsync_ctx *ctx, envsync_status st, const char *fmt, va_list ap)
{
    if (st == ENVSYNC_OK)
        st = ENVSYNC_ERR_OTHER;
    pthread_mutex_lock(&ctx->lock);
    if (!ctx->err_status) {
        vsnprintf(ctx->err, sizeof ctx->err, fmt, ap);
        ctx->err_status = st;
    }
    pthread_mutex_unlock(&ctx->lock);
    /* NOTFOUND and RETRY are answers, not failures of the run */
    if (st != ENVSYNC_ERR_NOTFOUND && st != ENVSYNC_ERR_RETRY)
        es_run_fail(ctx->run, st);
    return st;
}

static envsync_status
h_error(envsync_ctx *ctx, envsync_status st, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    st = ctx_verror(ctx, st, fmt, ap);
    va_end(ap);
    return st;
}

envsync_status
es_ctx_error(envsync_ctx *ctx, envsync_status st, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    st = ctx_verror(ctx, st, fmt, ap);
    va_end(ap);
    return st;
}

const char *
es_ctx_message(envsync_ctx *ctx)
{
    return ctx->err_status ? ctx->err : "";
}

static es_optval *
ctx_opt(envsync_ctx *ctx, const char *name)
{
    es_optval *ov = ctx->inst ? es_instance_opt(ctx->inst, name) : NULL;

    if (!ov)
        es_log(ENVSYNC_LOG_DEBUG, ctx->job, ctx->phase, ctx_plugin(ctx),
               "plugin asked for option '%s' that its table does not declare", name);
    return ov;
}

static const char *
h_opt_string(envsync_ctx *ctx, const char *name)
{
    es_optval *ov = ctx_opt(ctx, name);

    return ov ? ov->str : NULL;
}

static int64_t
h_opt_int(envsync_ctx *ctx, const char *name)
{
    es_optval *ov = ctx_opt(ctx, name);

    return ov ? ov->num : 0;
}

static int
h_opt_isset(envsync_ctx *ctx, const char *name)
{
    es_optval *ov = ctx_opt(ctx, name);

    return ov ? ov->isset : 0;
}

static size_t
h_opt_list_count(envsync_ctx *ctx, const char *name)
{
    es_optval *ov = ctx_opt(ctx, name);

    return ov ? ov->nlist : 0;
}

static const char *
h_opt_list_item(envsync_ctx *ctx, const char *name, size_t i)
{
    es_optval *ov = ctx_opt(ctx, name);

    return ov && i < ov->nlist ? ov->list[i] : NULL;
}

static const char *
h_opt_where(envsync_ctx *ctx, const char *name)
{
    es_optval *ov = ctx_opt(ctx, name);

    if (ov && ov->where && *ov->where)
        return ov->where;
    return ctx->inst && ctx->inst->where ? ctx->inst->where : "";
}

static const char *
h_job(envsync_ctx *ctx)
{
    return ctx->job ? ctx->job : "";
}

static const char *
h_environment(envsync_ctx *ctx)
{
    return ctx->conf && ctx->conf->environment ? ctx->conf->environment : "default";
}

static int
h_allow_production(envsync_ctx *ctx)
{
    return ctx->conf ? ctx->conf->allow_production_restore : 0;
}

static int
h_is_production(envsync_ctx *ctx)
{
    return es_env_is_production(h_environment(ctx));
}

static const char *
h_tmpdir(envsync_ctx *ctx)
{
    if (ctx->run && ctx->run->tmpdir)
        return ctx->run->tmpdir;
    return getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
}

static envsync_status
h_cancelled(envsync_ctx *ctx)
{
    return es_run_cancelled(ctx->run);
}

static void
h_progress(envsync_ctx *ctx, uint64_t bytes, uint64_t rows)
{
    if (!ctx->run)
        return;
    atomic_fetch_add(&ctx->run->bytes, bytes);
    atomic_fetch_add(&ctx->run->rows, rows);
}

static int
h_expected_rows(envsync_ctx *ctx, const char *schema, const char *object, uint64_t *rows)
{
    if (!ctx->run || !ctx->run->expected)
        return -1;
    return es_counts_get(ctx->run->expected, schema, object, rows);
}

static const char *
h_artifact_engine(envsync_ctx *ctx)
{
    return ctx->run ? ctx->run->artifact_engine : NULL;
}

static const char *
h_artifact_header(envsync_ctx *ctx)
{
    return ctx->run ? ctx->run->artifact_header : NULL;
}

static void
h_redact(envsync_ctx *ctx, const char *secret)
{
    es_redact_add(secret);
}

const envsync_host es_host = {
    .abi_version = ENVSYNC_ABI_VERSION,
    .struct_size = sizeof(envsync_host),
    .log = h_log,
    .error = h_error,
    .opt_string = h_opt_string,
    .opt_int = h_opt_int,
    .opt_isset = h_opt_isset,
    .opt_list_count = h_opt_list_count,
    .opt_list_item = h_opt_list_item,
    .opt_where = h_opt_where,
    .job = h_job,
    .environment = h_environment,
    .allow_production = h_allow_production,
    .is_production = h_is_production,
    .tmpdir = h_tmpdir,
    .cancelled = h_cancelled,
    .progress = h_progress,
    .expected_rows = h_expected_rows,
    .artifact_engine = h_artifact_engine,
    .artifact_header = h_artifact_header,
    .redact = h_redact,
};

envsync_status
es_ctx_open(envsync_ctx *ctx, es_run *run, es_conf *conf, const char *job,
            const char *phase, es_instance *inst)
{
    envsync_status st;

    memset(ctx, 0, sizeof *ctx);
    pthread_mutex_init(&ctx->lock, NULL);
    ctx->run = run;
    ctx->conf = conf;
    ctx->job = job;
    ctx->phase = phase;
    ctx->inst = inst;
    st = inst->plugin->desc.init(ctx, &ctx->state);
    if (st != ENVSYNC_OK) {
        if (!ctx->err_status)
            es_ctx_error(ctx, st, "plugin initialisation failed");
        return st;
    }
    ctx->initialised = 1;
    return ENVSYNC_OK;
}

void
es_ctx_close(envsync_ctx *ctx)
{
    if (ctx->initialised && ctx->inst->plugin->desc.destroy)
        ctx->inst->plugin->desc.destroy(ctx->state);
    ctx->initialised = 0;
    ctx->state = NULL;
    pthread_mutex_destroy(&ctx->lock);
}
