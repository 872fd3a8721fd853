/*
 * s3drive.c - drives the s3 plugin's storage callbacks directly, through a
 * minimal host table (no core): for plugin-level tests of object edge
 * cases and for the throughput benchmark (bench/s3/bench.sh).
 *
 *   s3drive PLUGIN.so put KEY [name=value...] < data     (EXCLUSIVE=1: flag)
 *   s3drive PLUGIN.so get KEY [name=value...] > data
 *   s3drive PLUGIN.so list PREFIX [name=value...]        "key size" lines
 *   s3drive PLUGIN.so rm KEY [name=value...]
 *
 * name=value are the plugin's options (defaults from its option table).
 * Exit status: the plugin's envsync_status.  I/O is done in 1 MiB blocks.
 */
#include <envsync/plugin.h>

#include <ctype.h>
#include <dlfcn.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAXOPT 64

static const envsync_plugin *plug;
static const char *names[MAXOPT], *values[MAXOPT];
static int nopts;
static volatile sig_atomic_t stop;
static char errmsg[2048];

static const envsync_option *
optdef(const char *name)
{
    const envsync_option *o;

    for (o = plug->options; o->name; o++)
        if (strcmp(o->name, name) == 0)
            return o;
    return NULL;
}

static const char *
raw(const char *name, int *isset)
{
    const envsync_option *o = optdef(name);
    int i;

    for (i = 0; i < nopts; i++)
        if (strcmp(names[i], name) == 0) {
            if (isset)
                *isset = 1;
            return values[i];
        }
    if (isset)
        *isset = 0;
    return o ? o->default_value : NULL;
}

static int64_t
parse_num(const envsync_option *o, const char *v)
{
    char *end;
    double n;

    if (!v)
        return 0;
    if (o && o->type == ENVSYNC_OPT_BOOL)
        return strcmp(v, "true") == 0 || strcmp(v, "1") == 0 || strcmp(v, "yes") == 0;
    n = strtod(v, &end);
    while (*end == ' ')
        end++;
    if (o && o->type == ENVSYNC_OPT_SIZE) {
        switch (toupper((unsigned char)*end)) {
        case 'K': n *= 1024; break;
        case 'M': n *= 1024 * 1024; break;
        case 'G': n *= 1024.0 * 1024 * 1024; break;
        default: break;
        }
    } else if (o && o->type == ENVSYNC_OPT_DURATION) {
        if (strncmp(end, "ms", 2) == 0)
            ;
        else if (*end == 'm')
            n *= 60000;
        else if (*end == 'h')
            n *= 3600000;
        else
            n *= 1000;
    }
    return (int64_t)n;
}

static void
h_log(envsync_ctx *ctx, int level, const char *fmt, ...)
{
    va_list ap;

    (void)ctx;
    if (level > ENVSYNC_LOG_INFO && !getenv("S3DRIVE_DEBUG"))
        return;
    va_start(ap, fmt);
    fprintf(stderr, "s3drive: ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static envsync_status
h_error(envsync_ctx *ctx, envsync_status st, const char *fmt, ...)
{
    va_list ap;

    (void)ctx;
    if (!errmsg[0]) {
        va_start(ap, fmt);
        vsnprintf(errmsg, sizeof errmsg, fmt, ap);
        va_end(ap);
    }
    return st;
}

static const char *h_opt_string(envsync_ctx *c, const char *n) { (void)c; return raw(n, NULL); }
static int64_t h_opt_int(envsync_ctx *c, const char *n) { (void)c; return parse_num(optdef(n), raw(n, NULL)); }
static int h_opt_isset(envsync_ctx *c, const char *n) { int s; (void)c; raw(n, &s); return s; }
static size_t h_list_count(envsync_ctx *c, const char *n) { (void)c; (void)n; return 0; }
static const char *h_list_item(envsync_ctx *c, const char *n, size_t i) { (void)c; (void)n; (void)i; return NULL; }
static const char *h_where(envsync_ctx *c, const char *n) { (void)c; (void)n; return "command line"; }
static const char *h_job(envsync_ctx *c) { (void)c; return "s3drive"; }
static const char *h_env(envsync_ctx *c) { (void)c; return "test"; }
static int h_zero(envsync_ctx *c) { (void)c; return 0; }
static const char *h_tmp(envsync_ctx *c) { (void)c; return "/tmp"; }
static envsync_status h_cancelled(envsync_ctx *c) { (void)c; return stop ? ENVSYNC_ERR_INTERRUPTED : ENVSYNC_OK; }
static void h_progress(envsync_ctx *c, uint64_t b, uint64_t r) { (void)c; (void)b; (void)r; }
static int h_expected(envsync_ctx *c, const char *s, const char *o, uint64_t *r) { (void)c; (void)s; (void)o; (void)r; return -1; }
static const char *h_null(envsync_ctx *c) { (void)c; return NULL; }
static void h_redact(envsync_ctx *c, const char *s) { (void)c; (void)s; }

static const envsync_host host = {
    .abi_version = ENVSYNC_ABI_VERSION,
    .struct_size = sizeof(envsync_host),
    .log = h_log,
    .error = h_error,
    .opt_string = h_opt_string,
    .opt_int = h_opt_int,
    .opt_isset = h_opt_isset,
    .opt_list_count = h_list_count,
    .opt_list_item = h_list_item,
    .opt_where = h_where,
    .job = h_job,
    .environment = h_env,
    .allow_production = h_zero,
    .is_production = h_zero,
    .tmpdir = h_tmp,
    .cancelled = h_cancelled,
    .progress = h_progress,
    .expected_rows = h_expected,
    .artifact_engine = h_null,
    .artifact_header = h_null,
    .redact = h_redact,
};

static envsync_status
print_obj(void *arg, const envsync_object_info *o)
{
    (void)arg;
    printf("%s %" PRIu64 "\n", o->key, o->size);
    return ENVSYNC_OK;
}

static void
on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

int
main(int argc, char **argv)
{
    void *so, *state = NULL, *h = NULL;
    envsync_plugin_entry_fn entry;
    static long ctx_dummy;
    envsync_ctx *ctx = (envsync_ctx *)&ctx_dummy;   /* opaque to the plugin */
    envsync_status st;
    const char *cmd, *key;
    static char buf[1 << 20];
    int i;

    if (argc < 4) {
        fprintf(stderr, "usage: s3drive PLUGIN.so put|get|list|rm KEY [name=value...]\n");
        return ENVSYNC_ERR_USAGE;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    so = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!so) {
        fprintf(stderr, "s3drive: %s\n", dlerror());
        return ENVSYNC_ERR_PLUGIN;
    }
    entry = (envsync_plugin_entry_fn)dlsym(so, ENVSYNC_PLUGIN_ENTRY);
    if (!entry || !(plug = entry(&host)) || plug->abi_version != ENVSYNC_ABI_VERSION) {
        fprintf(stderr, "s3drive: %s is not an envsync plugin of ABI %d\n", argv[1],
                ENVSYNC_ABI_VERSION);
        return ENVSYNC_ERR_PLUGIN;
    }
    cmd = argv[2];
    key = argv[3];
    for (i = 4; i < argc && nopts < MAXOPT; i++) {
        char *eq = strchr(argv[i], '=');
        if (!eq || !optdef((*eq = '\0', argv[i]))) {
            fprintf(stderr, "s3drive: unknown option %s\n", argv[i]);
            return ENVSYNC_ERR_CONFIG;
        }
        names[nopts] = argv[i];
        values[nopts++] = eq + 1;
    }
    st = plug->init(ctx, &state);
    if (st != ENVSYNC_OK)
        goto out;
    if (strcmp(cmd, "put") == 0) {
        unsigned flags = getenv("EXCLUSIVE") && atoi(getenv("EXCLUSIVE")) ? ENVSYNC_WRITE_EXCLUSIVE : 0;
        size_t n;
        st = plug->write_open(ctx, state, key, flags, &h);
        while (st == ENVSYNC_OK && (n = fread(buf, 1, sizeof buf, stdin)) > 0)
            st = plug->write(ctx, h, buf, n);
        if (st == ENVSYNC_OK && ferror(stdin))
            st = h_error(ctx, ENVSYNC_ERR_OTHER, "reading stdin failed");
        if (h) {
            if (st == ENVSYNC_OK)
                st = plug->write_commit(ctx, h);
            if (st != ENVSYNC_OK)
                plug->write_abort(ctx, h);
        }
    } else if (strcmp(cmd, "get") == 0) {
        uint64_t size = 0, total = 0;
        size_t got;
        st = plug->read_open(ctx, state, key, &size, &h);
        while (st == ENVSYNC_OK) {
            st = plug->read(ctx, h, buf, sizeof buf, &got);
            if (st != ENVSYNC_OK || got == 0)
                break;
            if (fwrite(buf, 1, got, stdout) != got) {
                st = h_error(ctx, ENVSYNC_ERR_OTHER, "writing stdout failed");
                break;
            }
            total += got;
        }
        if (h)
            plug->read_close(ctx, h);
        if (st == ENVSYNC_OK && total != size)
            st = h_error(ctx, ENVSYNC_ERR_INTEGRITY, "read %" PRIu64 " bytes of %" PRIu64,
                         total, size);
    } else if (strcmp(cmd, "list") == 0) {
        st = plug->list(ctx, state, key, print_obj, NULL);
    } else if (strcmp(cmd, "rm") == 0) {
        st = plug->remove(ctx, state, key);
    } else {
        st = h_error(ctx, ENVSYNC_ERR_USAGE, "unknown command %s", cmd);
    }
    plug->destroy(state);
out:
    if (fflush(stdout) != 0 && st == ENVSYNC_OK)
        st = ENVSYNC_ERR_OTHER;
    if (st != ENVSYNC_OK)
        fprintf(stderr, "s3drive: %s %s: %s (status %d)\n", cmd, key, errmsg, (int)st);
    return (int)st;
}
