/*
 * testxform.c - a test transform: rewrites one column of DATA rows to a
 * constant, drops tables by name, and fails on demand.
 */
#include <envsync/plugin.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rowcodec.h"

static const envsync_host *host;

static const envsync_option options[] = {
    { "column", ENVSYNC_OPT_STRING, 0, "email", "column to overwrite" },
    { "value", ENVSYNC_OPT_STRING, 0, "redacted@example.invalid", "value written" },
    { "drop", ENVSYNC_OPT_LIST, 0, NULL, "tables whose rows are dropped" },
    { "fail_after", ENVSYNC_OPT_INT, 0, "-1", "fail at this entry (-1 never)" },
    { NULL, ENVSYNC_OPT_END, 0, NULL, NULL }
};

typedef struct xstate {
    const char *column, *value;
    int64_t fail_after, seen;
    es_buf out;
} xstate;

static envsync_status
x_init(envsync_ctx *ctx, void **state)
{
    xstate *x = calloc(1, sizeof *x);

    x->column = host->opt_string(ctx, "column");
    x->value = host->opt_string(ctx, "value");
    x->fail_after = host->opt_int(ctx, "fail_after");
    es_buf_init(&x->out, 0);
    *state = x;
    return ENVSYNC_OK;
}

static void
x_destroy(void *state)
{
    xstate *x = state;

    es_buf_free(&x->out);
    free(x);
}

static int
dropped(envsync_ctx *ctx, const char *table)
{
    size_t i, n = host->opt_list_count(ctx, "drop");

    for (i = 0; i < n; i++)
        if (table && strcmp(host->opt_list_item(ctx, "drop", i), table) == 0)
            return 1;
    return 0;
}

static envsync_status
x_entry(envsync_ctx *ctx, void *state, const envsync_entry *e, const void *data, size_t len,
        envsync_sink *out)
{
    xstate *x = state;
    es_field cols[64], f[64];
    long ncols, col = -1, k;
    const char *p = data, *end = p + len;
    envsync_entry o;

    if (x->fail_after >= 0 && x->seen++ >= x->fail_after)
        return host->error(ctx, ENVSYNC_ERR_OTHER, "injected transform fault at entry %lld",
                           (long long)x->seen);
    if (e->kind != ENVSYNC_ENTRY_DATA)
        return out->put(out, e, data, len);
    o = *e;
    if (dropped(ctx, e->object)) {
        o.rows = 0;
        return out->put(out, &o, "", 0);
    }
    ncols = es_row_split(e->columns, strlen(e->columns), cols, 64);
    for (k = 0; k < ncols; k++)
        if (cols[k].len == strlen(x->column) && memcmp(cols[k].p, x->column, cols[k].len) == 0)
            col = k;
    if (col < 0)
        return out->put(out, e, data, len);
    es_buf_reset(&x->out);
    while (p < end) {
        const char *eol = es_row_end(p, (size_t)(end - p));
        long n = es_row_split(p, (size_t)(eol - p), f, 64);

        for (k = 0; k < n; k++) {
            if (k)
                es_buf_putc(&x->out, '\t');
            if (k == col)
                es_row_escape(&x->out, x->value, strlen(x->value));
            else
                es_buf_append(&x->out, f[k].p, f[k].len);
        }
        es_buf_putc(&x->out, '\n');
        p = eol + 1;
    }
    return out->put(out, &o, x->out.data, x->out.len);
}

static const envsync_plugin plugin = {
    .abi_version = ENVSYNC_ABI_VERSION,
    .struct_size = sizeof(envsync_plugin),
    .name = "testxform",
    .version = "1.0.0-test",
    .description = "test transform: overwrite a column, drop tables, fail on demand",
    .phases = ENVSYNC_PHASE_TRANSFORM,
    .options = options,
    .init = x_init,
    .destroy = x_destroy,
    .transform_entry = x_entry,
};

const envsync_plugin *
envsync_plugin_entry(const envsync_host *h)
{
    host = h;
    return &plugin;
}
