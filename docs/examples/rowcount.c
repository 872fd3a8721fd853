/*
 * rowcount.c - a complete envsync plugin in one file: a "restore" that
 * loads nothing and checks everything.  It counts the rows of every table
 * in the artifact, compares them with what the core says the artifact
 * holds, and reports them.  Use it to prove last night's backup restores
 * without a database server:
 *
 *     restore = { plugin = "rowcount"; report = "/tmp/rows.txt"; };
 *
 * Build it outside the envsync source tree:
 *
 *     cc -shared -fPIC -o rowcount.so rowcount.c $(pkg-config --cflags envsync-plugin)
 *
 * and put rowcount.so in the plugin directory (envsync.plugin_dir).
 */
#include <envsync/plugin.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The host table arrives once, when the core loads the plugin. */
static const envsync_host *host;

/* Options: validated by the core before init() (unknown keys, types). */
static const envsync_option options[] = {
    { "report", ENVSYNC_OPT_STRING, 0, NULL, "write \"table rows\" lines to this file" },
    { NULL, ENVSYNC_OPT_END, 0, NULL, NULL }
};

typedef struct table {
    char *name;
    unsigned long long rows, lines;
    struct table *next;
} table;

typedef struct state {
    table *tables;
} state;

static envsync_status
rc_init(envsync_ctx *ctx, void **out)
{
    state *s = calloc(1, sizeof *s);

    if (!s)
        return host->error(ctx, ENVSYNC_ERR_OTHER, "out of memory");
    *out = s;
    return ENVSYNC_OK;
}

static void
rc_destroy(void *p)
{
    state *s = p;
    table *t, *n;

    for (t = s->tables; t; t = n) {
        n = t->next;
        free(t->name);
        free(t);
    }
    free(s);
}

static envsync_status
rc_begin(envsync_ctx *ctx, void *p)
{
    (void)p;
    host->log(ctx, ENVSYNC_LOG_INFO, "counting rows of a %s artifact",
              host->artifact_engine(ctx) ? host->artifact_engine(ctx) : "?");
    return ENVSYNC_OK;
}

static envsync_status
rc_entry(envsync_ctx *ctx, void *p, const envsync_entry *e, const void *data, size_t len)
{
    state *s = p;
    const char *c = data, *end = c + len;
    table *t;

    if (e->kind != ENVSYNC_ENTRY_DATA)
        return ENVSYNC_OK;
    for (t = s->tables; t; t = t->next)
        if (strcmp(t->name, e->object) == 0)
            break;
    if (!t) {
        t = calloc(1, sizeof *t);
        if (!t || !(t->name = strdup(e->object)))
            return host->error(ctx, ENVSYNC_ERR_OTHER, "out of memory");
        t->next = s->tables;
        s->tables = t;
    }
    t->rows += e->rows;
    /* one row per line in the shared row format */
    while ((c = memchr(c, '\n', (size_t)(end - c))) != NULL) {
        t->lines++;
        c++;
    }
    host->progress(ctx, len, e->rows);
    return host->cancelled(ctx);
}

static envsync_status
rc_finish(envsync_ctx *ctx, void *p)
{
    state *s = p;
    const char *path = host->opt_string(ctx, "report");
    FILE *f = path ? fopen(path, "w") : NULL;
    table *t;

    if (path && !f)
        return host->error(ctx, ENVSYNC_ERR_OTHER, "cannot write %s", path);
    for (t = s->tables; t; t = t->next) {
        if (t->lines != t->rows) {
            if (f)
                fclose(f);
            return host->error(ctx, ENVSYNC_ERR_INTEGRITY, "table %s: %llu lines but %llu rows declared",
                               t->name, t->lines, t->rows);
        }
        host->log(ctx, ENVSYNC_LOG_INFO, "table %s: %llu rows", t->name, t->rows);
        if (f)
            fprintf(f, "%s %llu\n", t->name, t->rows);
    }
    if (f)
        fclose(f);
    return ENVSYNC_OK;
}

static void
rc_abort(envsync_ctx *ctx, void *p)
{
    (void)ctx;
    (void)p;    /* nothing was written anywhere: nothing to undo */
}

static const envsync_plugin plugin = {
    .abi_version = ENVSYNC_ABI_VERSION,
    .struct_size = sizeof(envsync_plugin),
    .name = "rowcount",                 /* must equal the file name, rowcount.so */
    .version = "1.0.0",
    .description = "verify an artifact by counting its rows (restores nothing)",
    .engine = NULL,                     /* accepts artifacts of any engine */
    .phases = ENVSYNC_PHASE_RESTORE,
    .options = options,
    .init = rc_init,
    .destroy = rc_destroy,
    .restore_begin = rc_begin,
    .restore_entry = rc_entry,
    .restore_finish = rc_finish,
    .restore_abort = rc_abort,
};

const envsync_plugin *
envsync_plugin_entry(const envsync_host *h)
{
    host = h;
    return &plugin;
}
