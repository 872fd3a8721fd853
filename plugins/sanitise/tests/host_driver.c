/*
 * host_driver.c - runs the sanitise plugin (.so, through dlopen) behind a
 * minimal fake host, over entries read from a text file, and prints what
 * it emits.  For tests of plugin behaviour the test engine cannot show
 * (DOCS entries, POSTLOAD and META entries, chunk numbering).
 *
 *   host_driver PLUGIN.so INPUT [option=value ...]
 *
 * A list option is given as name=a,b,c.  INPUT holds entries, each
 * starting with a header line
 *
 *   @@ KIND SCHEMA OBJECT [SECTION|COLUMNS [KEY=VALUE]]
 *
 * (KIND = DATA, DOCS, SCHEMA, POSTLOAD, META; "-" for none; DATA columns
 * comma-separated; one optional attribute) followed by the payload lines.  Output: one header
 * line per emitted entry, "@@ KIND SCHEMA OBJECT SECTION rows=N seq=S",
 * then its payload.  Exit status = the envsync_status of the run; the
 * error message and the log go to stderr.
 */
#include <envsync/plugin.h>

#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAXOPT 32

static const char *opt_name[MAXOPT], *opt_val[MAXOPT];
static int nopt;
static char errmsg[4096];

static const char *
find_opt(const char *name)
{
    int i;

    for (i = 0; i < nopt; i++)
        if (!strcmp(opt_name[i], name))
            return opt_val[i];
    return NULL;
}

static const envsync_option *plugin_opts;

static const char *
opt_default(const char *name)
{
    const envsync_option *o;

    for (o = plugin_opts; o && o->name; o++)
        if (!strcmp(o->name, name))
            return o->default_value;
    return NULL;
}

static void
h_log(envsync_ctx *ctx, int level, const char *fmt, ...)
{
    va_list ap;

    (void)ctx;
    fprintf(stderr, "log%d: ", level);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static envsync_status
h_error(envsync_ctx *ctx, envsync_status st, const char *fmt, ...)
{
    va_list ap;

    (void)ctx;
    if (!errmsg[0]) {
        va_start(ap, fmt);
        vsnprintf(errmsg, sizeof(errmsg), fmt, ap);
        va_end(ap);
    }
    return st;
}

static const char *
h_opt_string(envsync_ctx *ctx, const char *name)
{
    const char *v = find_opt(name);

    (void)ctx;
    return v ? v : opt_default(name);
}

static int64_t
h_opt_int(envsync_ctx *ctx, const char *name)
{
    const char *v = h_opt_string(ctx, name);

    if (!v)
        return 0;
    if (!strcmp(v, "true"))
        return 1;
    if (!strcmp(v, "false"))
        return 0;
    return strtoll(v, NULL, 10);
}

static int
h_opt_isset(envsync_ctx *ctx, const char *name)
{
    (void)ctx;
    return find_opt(name) != NULL;
}

static size_t
h_list_count(envsync_ctx *ctx, const char *name)
{
    const char *v = find_opt(name), *p;
    size_t n = 1;

    (void)ctx;
    if (!v || !*v)
        return 0;
    for (p = v; *p; p++)
        n += *p == ',';
    return n;
}

static const char *
h_list_item(envsync_ctx *ctx, const char *name, size_t i)
{
    static char item[4096];
    const char *v = find_opt(name), *p;
    size_t k = 0;

    (void)ctx;
    for (p = v; p && *p; p++) {
        if (*p == ',') {
            if (i-- == 0)
                break;
            k = 0;
            continue;
        }
        if (k < sizeof(item) - 1)
            item[k++] = *p;
    }
    item[k] = '\0';
    return item;
}

static const char *h_where(envsync_ctx *ctx, const char *name) { (void)ctx; (void)name; return "driver.conf:1"; }
static const char *h_job(envsync_ctx *ctx) { (void)ctx; return "driver"; }
static const char *h_env(envsync_ctx *ctx) { (void)ctx; return "test"; }
static int h_zero(envsync_ctx *ctx) { (void)ctx; return 0; }
static const char *h_tmp(envsync_ctx *ctx) { (void)ctx; return "/tmp"; }
static envsync_status h_cancelled(envsync_ctx *ctx) { (void)ctx; return ENVSYNC_OK; }
static void h_progress(envsync_ctx *ctx, uint64_t b, uint64_t r) { (void)ctx; (void)b; (void)r; }
static int h_expected(envsync_ctx *ctx, const char *s, const char *o, uint64_t *r)
{ (void)ctx; (void)s; (void)o; (void)r; return -1; }
static const char *h_null(envsync_ctx *ctx) { (void)ctx; return NULL; }
static void h_redact(envsync_ctx *ctx, const char *s) { (void)ctx; (void)s; }

static const char *
kind_name(envsync_entry_kind k)
{
    switch (k) {
    case ENVSYNC_ENTRY_SCHEMA: return "SCHEMA";
    case ENVSYNC_ENTRY_DATA: return "DATA";
    case ENVSYNC_ENTRY_DOCS: return "DOCS";
    case ENVSYNC_ENTRY_POSTLOAD: return "POSTLOAD";
    case ENVSYNC_ENTRY_META: return "META";
    default: return "BLOB";
    }
}

static envsync_status
sink_put(envsync_sink *sink, const envsync_entry *e, const void *data, size_t len)
{
    (void)sink;
    printf("@@ %s %s %s %s rows=%llu seq=%llu\n", kind_name(e->kind), e->schema ? e->schema : "-",
           e->object ? e->object : "-", e->section ? e->section : "-",
           (unsigned long long)e->rows, (unsigned long long)e->seq);
    fwrite(data, 1, len, stdout);
    if (len && ((const char *)data)[len - 1] != '\n')
        putchar('\n');
    return ENVSYNC_OK;
}

typedef struct pending {
    envsync_entry e;
    envsync_attr attr;
    char schema[256], object[256], extra[1024], attrbuf[256];
    char *data;
    size_t len, cap;
    int have;
} pending;

static envsync_status
flush(const envsync_plugin *pl, void *state, pending *p, envsync_sink *sink)
{
    const char *q;
    envsync_status st;

    if (!p->have)
        return ENVSYNC_OK;
    p->have = 0;
    if (p->e.kind == ENVSYNC_ENTRY_DATA || p->e.kind == ENVSYNC_ENTRY_DOCS) {
        p->e.rows = 0;
        for (q = p->data; q < p->data + p->len; q++)
            p->e.rows += *q == '\n';
    }
    st = pl->transform_entry(NULL, state, &p->e, p->data ? p->data : "", p->len, sink);
    p->len = 0;
    return st;
}

int
main(int argc, char **argv)
{
    envsync_host host;
    envsync_sink sink;
    const envsync_plugin *pl;
    envsync_plugin_entry_fn entry;
    void *so, *state = NULL;
    FILE *in;
    char line[65536];
    pending p;
    envsync_status st;
    uint64_t seqs = 0;
    int i;

    if (argc < 3) {
        fprintf(stderr, "usage: %s PLUGIN.so INPUT [option=value...]\n", argv[0]);
        return 2;
    }
    for (i = 3; i < argc && nopt < MAXOPT; i++) {
        char *eq = strchr(argv[i], '=');

        if (!eq)
            return 2;
        *eq = '\0';
        opt_name[nopt] = argv[i];
        opt_val[nopt++] = eq + 1;
    }
    so = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!so) {
        fprintf(stderr, "dlopen: %s\n", dlerror());
        return 4;
    }
    *(void **)&entry = dlsym(so, ENVSYNC_PLUGIN_ENTRY);
    memset(&host, 0, sizeof(host));
    host.abi_version = ENVSYNC_ABI_VERSION;
    host.struct_size = sizeof(host);
    host.log = h_log;
    host.error = h_error;
    host.opt_string = h_opt_string;
    host.opt_int = h_opt_int;
    host.opt_isset = h_opt_isset;
    host.opt_list_count = h_list_count;
    host.opt_list_item = h_list_item;
    host.opt_where = h_where;
    host.job = h_job;
    host.environment = h_env;
    host.allow_production = h_zero;
    host.is_production = h_zero;
    host.tmpdir = h_tmp;
    host.cancelled = h_cancelled;
    host.progress = h_progress;
    host.expected_rows = h_expected;
    host.artifact_engine = h_null;
    host.artifact_header = h_null;
    host.redact = h_redact;
    pl = entry ? entry(&host) : NULL;
    if (!pl || pl->abi_version != ENVSYNC_ABI_VERSION || !(pl->phases & ENVSYNC_PHASE_TRANSFORM)) {
        fprintf(stderr, "not a transform plugin of ABI %d\n", ENVSYNC_ABI_VERSION);
        return 4;
    }
    plugin_opts = pl->options;
    sink.put = sink_put;
    sink.priv = NULL;
    if ((st = pl->init(NULL, &state)) != ENVSYNC_OK)
        goto out;
    if ((st = pl->transform_begin(NULL, state)) != ENVSYNC_OK)
        goto out;
    in = fopen(argv[2], "r");
    if (!in) {
        perror(argv[2]);
        return 2;
    }
    memset(&p, 0, sizeof(p));
    while (fgets(line, sizeof(line), in)) {
        if (!strncmp(line, "@@ ", 3)) {
            char kind[32] = "", *c;

            if ((st = flush(pl, state, &p, &sink)) != ENVSYNC_OK)
                break;
            p.extra[0] = '\0';
            p.attrbuf[0] = '\0';
            if (sscanf(line + 3, "%31s %255s %255s %1023s %255s", kind, p.schema, p.object, p.extra,
                       p.attrbuf) < 3) {
                fprintf(stderr, "bad header: %s", line);
                return 2;
            }
            ENVSYNC_ENTRY_INIT(p.e, ENVSYNC_ENTRY_BLOB);
            p.e.kind = !strcmp(kind, "DATA") ? ENVSYNC_ENTRY_DATA : !strcmp(kind, "DOCS") ? ENVSYNC_ENTRY_DOCS :
                       !strcmp(kind, "SCHEMA") ? ENVSYNC_ENTRY_SCHEMA : !strcmp(kind, "POSTLOAD") ?
                       ENVSYNC_ENTRY_POSTLOAD : ENVSYNC_ENTRY_META;
            p.e.schema = strcmp(p.schema, "-") ? p.schema : NULL;
            p.e.object = strcmp(p.object, "-") ? p.object : NULL;
            if (p.e.kind == ENVSYNC_ENTRY_DATA) {
                for (c = p.extra; *c; c++)
                    if (*c == ',')
                        *c = '\t';
                p.e.columns = p.extra;
            } else if (p.extra[0]) {
                p.e.section = p.extra;
            }
            if ((c = strchr(p.attrbuf, '=')) != NULL) {
                *c = '\0';
                p.attr.key = p.attrbuf;
                p.attr.value = c + 1;
                p.e.attrs = &p.attr;
                p.e.nattrs = 1;
            }
            p.e.seq = seqs++;
            p.have = 1;
            continue;
        }
        if (p.len + strlen(line) + 1 > p.cap) {
            p.cap = (p.len + strlen(line) + 1) * 2;
            p.data = realloc(p.data, p.cap);
        }
        memcpy(p.data + p.len, line, strlen(line));
        p.len += strlen(line);
    }
    fclose(in);
    if (st == ENVSYNC_OK)
        st = flush(pl, state, &p, &sink);
    if (st == ENVSYNC_OK)
        st = pl->transform_finish(NULL, state, &sink);
    free(p.data);
out:
    if (st != ENVSYNC_OK)
        fprintf(stderr, "status=%d error: %s\n", (int)st, errmsg);
    if (state)
        pl->destroy(state);
    dlclose(so);
    return (int)st;
}
