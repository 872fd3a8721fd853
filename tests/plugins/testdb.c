/*
 * testdb.c - a test engine for the core's lifecycle tests.
 *
 * The "database" is a directory: `dir/<database>/` holds one file per
 * table with its rows in the shared row format.  Backup reads it (or
 * generates deterministic tables when `generate` > 0) and emits SCHEMA,
 * DATA (chunked), POSTLOAD entries; restore writes into
 * `dir/<database>.envsync_new/` and swaps it in with rename() at finish,
 * so a test can check that the target is never half-restored.
 *
 * Fault points: `fail_in` names where to fail ("init", "backup", "begin",
 * "entry", "finish", "check"), after `fail_after` entries for backup/entry,
 * with status `fail_status`.  `delay_ms` sleeps per emitted chunk (for
 * signal and timeout tests).  The plugin honours cancellation.
 */
#include <envsync/plugin.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const envsync_host *host;

static const envsync_option options[] = {
    { "dir", ENVSYNC_OPT_STRING, ENVSYNC_OPT_REQUIRED, NULL, "directory holding the databases" },
    { "database", ENVSYNC_OPT_STRING, ENVSYNC_OPT_REQUIRED, NULL, "database (subdirectory) name" },
    { "generate", ENVSYNC_OPT_INT, 0, "0", "backup: generate this many rows per table instead of reading" },
    { "tables", ENVSYNC_OPT_INT, 0, "3", "backup with generate: number of tables" },
    { "chunk_size", ENVSYNC_OPT_SIZE, 0, "64k", "backup: bytes per DATA chunk" },
    { "password", ENVSYNC_OPT_STRING, ENVSYNC_OPT_SECRET, NULL, "a secret, to test redaction" },
    { "fail_in", ENVSYNC_OPT_STRING, 0, "", "init|check|backup|begin|entry|finish" },
    { "fail_after", ENVSYNC_OPT_INT, 0, "0", "entries before failing (backup, entry)" },
    { "fail_status", ENVSYNC_OPT_INT, 0, "5", "status returned by the fault" },
    { "delay_ms", ENVSYNC_OPT_DURATION, 0, "0", "sleep per chunk" },
    { "log_secret", ENVSYNC_OPT_BOOL, 0, "false", "log the password (redaction test)" },
    { NULL, ENVSYNC_OPT_END, 0, NULL, NULL }
};

typedef struct tstate {
    char *dir, *db, *newdir, *target;
    int64_t generate, tables, chunk, fail_after, fail_status, delay_ms;
    const char *fail_in;
    uint64_t entries;
    FILE *cur;
    char curname[512];
} tstate;

static int
fault(tstate *t, const char *where)
{
    return strcmp(t->fail_in, where) == 0;
}

static envsync_status
inject(envsync_ctx *ctx, tstate *t, const char *where)
{
    return host->error(ctx, (envsync_status)t->fail_status, "injected fault in %s (database %s)",
                       where, t->db);
}

static char *
path2(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *p = malloc(n);

    snprintf(p, n, "%s/%s", a, b);
    return p;
}

static envsync_status
t_init(envsync_ctx *ctx, void **state)
{
    tstate *t = calloc(1, sizeof *t);

    t->dir = strdup(host->opt_string(ctx, "dir"));
    t->db = strdup(host->opt_string(ctx, "database"));
    t->generate = host->opt_int(ctx, "generate");
    t->tables = host->opt_int(ctx, "tables");
    t->chunk = host->opt_int(ctx, "chunk_size");
    t->fail_in = host->opt_string(ctx, "fail_in");
    t->fail_after = host->opt_int(ctx, "fail_after");
    t->fail_status = host->opt_int(ctx, "fail_status");
    t->delay_ms = host->opt_int(ctx, "delay_ms");
    t->target = path2(t->dir, t->db);
    {
        size_t n = strlen(t->target) + 32;

        t->newdir = malloc(n);
        snprintf(t->newdir, n, "%s.envsync_new", t->target);
    }
    *state = t;
    if (host->opt_int(ctx, "log_secret") && host->opt_string(ctx, "password"))
        host->log(ctx, ENVSYNC_LOG_INFO, "connecting with password %s", host->opt_string(ctx, "password"));
    if (fault(t, "init"))
        return inject(ctx, t, "init");
    return ENVSYNC_OK;
}

static envsync_status
t_check(envsync_ctx *ctx, void *state)
{
    tstate *t = state;

    if (fault(t, "check"))
        return inject(ctx, t, "check");
    return ENVSYNC_OK;
}

static void
t_destroy(void *state)
{
    tstate *t = state;

    if (t->cur)
        fclose(t->cur);
    free(t->dir);
    free(t->db);
    free(t->newdir);
    free(t->target);
    free(t);
}

static void
sleep_ms(int64_t ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* Emit one DATA chunk. */
static envsync_status
emit(envsync_ctx *ctx, tstate *t, envsync_sink *out, const char *table, uint64_t seq,
     const char *buf, size_t len, uint64_t rows)
{
    envsync_entry e;
    envsync_status st;

    if (t->delay_ms)
        sleep_ms(t->delay_ms);
    if ((st = host->cancelled(ctx)) != ENVSYNC_OK)
        return st;
    if (fault(t, "backup") && t->entries >= (uint64_t)t->fail_after)
        return inject(ctx, t, "backup");
    ENVSYNC_ENTRY_INIT(e, ENVSYNC_ENTRY_DATA);
    e.schema = "main";
    e.object = table;
    e.columns = "id\tname\temail\tnote";
    e.rows = rows;
    e.seq = seq;
    t->entries++;
    host->progress(ctx, len, rows);
    return out->put(out, &e, buf, len);
}

/* One table's rows, chunked. Rows come from a file or are generated. */
static envsync_status
backup_table(envsync_ctx *ctx, tstate *t, envsync_sink *out, const char *table, FILE *f)
{
    size_t cap = (size_t)t->chunk + 4096, len = 0;
    char *buf = malloc(cap), line[8192];
    uint64_t rows = 0, seq = 0, i = 0;
    envsync_status st = ENVSYNC_OK;

    for (;;) {
        size_t n;

        if (f) {
            if (!fgets(line, sizeof line, f))
                break;
        } else {
            if (i >= (uint64_t)t->generate)
                break;
            /* tabs, backslashes, NULL and the literal \N exercise the codec */
            snprintf(line, sizeof line, "%llu\tname %llu\\twith tab\tuser%llu@example.com\t%s\n",
                     (unsigned long long)i, (unsigned long long)i, (unsigned long long)i,
                     i % 7 == 0 ? "\\N" : i % 7 == 1 ? "\\\\N" : "note");
            i++;
        }
        n = strlen(line);
        if (len + n > (size_t)t->chunk && len) {
            if ((st = emit(ctx, t, out, table, seq++, buf, len, rows)) != ENVSYNC_OK)
                break;
            len = 0;
            rows = 0;
        }
        memcpy(buf + len, line, n);
        len += n;
        rows++;
    }
    if (st == ENVSYNC_OK && (len || seq == 0))
        st = emit(ctx, t, out, table, seq, buf, len, rows);
    free(buf);
    return st;
}

static envsync_status
t_backup(envsync_ctx *ctx, void *state, envsync_sink *out, char **info)
{
    tstate *t = state;
    envsync_entry e;
    envsync_status st;
    char ddl[4096] = "";
    int64_t k;

    if (t->generate > 0) {
        for (k = 0; k < t->tables; k++) {
            char name[64], stmt[128];

            snprintf(name, sizeof name, "t%lld", (long long)k);
            snprintf(stmt, sizeof stmt, "CREATE TABLE %s;\n", name);
            strcat(ddl, stmt);
        }
    } else {
        DIR *d = opendir(t->target);
        struct dirent *de;

        if (!d)
            return host->error(ctx, ENVSYNC_ERR_CONNECT, "database %s does not exist (%s)", t->db, t->target);
        while ((de = readdir(d)) != NULL) {
            if (de->d_name[0] == '.')
                continue;
            if (strlen(ddl) + strlen(de->d_name) + 20 < sizeof ddl) {
                strcat(ddl, "CREATE TABLE ");
                strcat(ddl, de->d_name);
                strcat(ddl, ";\n");
            }
        }
        closedir(d);
    }
    ENVSYNC_ENTRY_INIT(e, ENVSYNC_ENTRY_SCHEMA);
    e.section = "pre-data";
    if ((st = out->put(out, &e, ddl, strlen(ddl))) != ENVSYNC_OK)
        return st;
    /* tables in the order of the DDL */
    {
        char *copy = strdup(ddl), *line, *save = NULL;

        for (line = strtok_r(copy, "\n", &save); line && st == ENVSYNC_OK;
             line = strtok_r(NULL, "\n", &save)) {
            char name[256];
            FILE *f = NULL;

            if (sscanf(line, "CREATE TABLE %255[^;];", name) != 1)
                continue;
            if (t->generate <= 0) {
                char *p = path2(t->target, name);

                f = fopen(p, "r");
                free(p);
                if (!f) {
                    st = host->error(ctx, ENVSYNC_ERR_OTHER, "cannot read table %s", name);
                    break;
                }
            }
            st = backup_table(ctx, t, out, name, f);
            if (f)
                fclose(f);
        }
        free(copy);
    }
    if (st != ENVSYNC_OK)
        return st;
    ENVSYNC_ENTRY_INIT(e, ENVSYNC_ENTRY_POSTLOAD);
    e.section = "post-load";
    if ((st = out->put(out, &e, "ANALYZE;\n", 9)) != ENVSYNC_OK)
        return st;
    *info = strdup("{\"server_version\":\"testdb 1\"}");
    return ENVSYNC_OK;
}

/* ------------------------------------------------------------------ restore */
static int
rm_tree(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;

    if (!d)
        return errno == ENOENT ? 0 : -1;
    while ((de = readdir(d)) != NULL) {
        char *p;

        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        p = path2(dir, de->d_name);
        unlink(p);
        free(p);
    }
    closedir(d);
    return rmdir(dir);
}

static envsync_status
t_restore_begin(envsync_ctx *ctx, void *state)
{
    tstate *t = state;
    const char *eng = host->artifact_engine(ctx);

    if (host->is_production(ctx) && !host->allow_production(ctx))
        return host->error(ctx, ENVSYNC_ERR_REFUSED, "refusing to restore into %s: environment %s "
                           "is production (set allow_production_restore)", t->db, host->environment(ctx));
    if (eng && strcmp(eng, "testdb") != 0)
        return host->error(ctx, ENVSYNC_ERR_REFUSED, "artifact engine %s is not testdb", eng);
    rm_tree(t->newdir);           /* leftover of a killed run */
    mkdir(t->dir, 0755);
    if (mkdir(t->newdir, 0755) < 0)
        return host->error(ctx, ENVSYNC_ERR_OTHER, "cannot create %s: %s", t->newdir, strerror(errno));
    if (fault(t, "begin"))
        return inject(ctx, t, "begin");
    return ENVSYNC_OK;
}

static envsync_status
t_restore_entry(envsync_ctx *ctx, void *state, const envsync_entry *e, const void *data, size_t len)
{
    tstate *t = state;
    char *p;
    FILE *f;

    if (fault(t, "entry") && t->entries >= (uint64_t)t->fail_after)
        return inject(ctx, t, "entry");
    t->entries++;
    if (t->delay_ms)
        sleep_ms(t->delay_ms);
    if (e->kind == ENVSYNC_ENTRY_SCHEMA) {
        /* create empty table files */
        char *copy = malloc(len + 1), *line, *save = NULL;

        memcpy(copy, data, len);
        copy[len] = '\0';
        for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
            char name[256];

            if (sscanf(line, "CREATE TABLE %255[^;];", name) == 1) {
                p = path2(t->newdir, name);
                f = fopen(p, "w");
                if (f)
                    fclose(f);
                free(p);
            }
        }
        free(copy);
        return ENVSYNC_OK;
    }
    if (e->kind != ENVSYNC_ENTRY_DATA)
        return ENVSYNC_OK;
    p = path2(t->newdir, e->object);
    f = fopen(p, "a");
    free(p);
    if (!f)
        return host->error(ctx, ENVSYNC_ERR_OTHER, "cannot append to table %s", e->object);
    if (len)
        fwrite(data, 1, len, f);
    fclose(f);
    host->progress(ctx, len, e->rows);
    return ENVSYNC_OK;
}

static uint64_t
count_lines(const char *path)
{
    FILE *f = fopen(path, "r");
    uint64_t n = 0;
    int c;

    if (!f)
        return 0;
    while ((c = getc(f)) != EOF)
        n += c == '\n';
    fclose(f);
    return n;
}

static envsync_status
t_restore_finish(envsync_ctx *ctx, void *state)
{
    tstate *t = state;
    DIR *d;
    struct dirent *de;
    char *old;
    size_t n;

    if (fault(t, "finish"))
        return inject(ctx, t, "finish");
    /* verify row counts against what the core delivered */
    d = opendir(t->newdir);
    while (d && (de = readdir(d)) != NULL) {
        uint64_t want = 0, got;
        char *p;

        if (de->d_name[0] == '.')
            continue;
        p = path2(t->newdir, de->d_name);
        got = count_lines(p);
        free(p);
        if (host->expected_rows(ctx, "main", de->d_name, &want) < 0)
            want = 0;
        if (got != want) {
            closedir(d);
            return host->error(ctx, ENVSYNC_ERR_INTEGRITY, "table %s has %llu rows, expected %llu",
                               de->d_name, (unsigned long long)got, (unsigned long long)want);
        }
    }
    if (d)
        closedir(d);
    /* swap: target -> .envsync_old, new -> target, drop old */
    n = strlen(t->target) + 32;
    old = malloc(n);
    snprintf(old, n, "%s.envsync_old", t->target);
    rm_tree(old);
    if (rename(t->target, old) < 0 && errno != ENOENT) {
        free(old);
        return host->error(ctx, ENVSYNC_ERR_OTHER, "swap failed: %s", strerror(errno));
    }
    if (rename(t->newdir, t->target) < 0) {
        rename(old, t->target);
        free(old);
        return host->error(ctx, ENVSYNC_ERR_OTHER, "swap failed: %s", strerror(errno));
    }
    rm_tree(old);
    free(old);
    host->log(ctx, ENVSYNC_LOG_INFO, "swapped in database %s", t->db);
    return ENVSYNC_OK;
}

static void
t_restore_abort(envsync_ctx *ctx, void *state)
{
    tstate *t = state;

    (void)ctx;
    rm_tree(t->newdir);
}

static const envsync_plugin plugin = {
    .abi_version = ENVSYNC_ABI_VERSION,
    .struct_size = sizeof(envsync_plugin),
    .name = "testdb",
    .version = "1.0.0-test",
    .description = "test engine: a directory of row-format files, with fault injection",
    .engine = "testdb",
    .phases = ENVSYNC_PHASE_BACKUP | ENVSYNC_PHASE_RESTORE,
    .options = options,
    .init = t_init,
    .check = t_check,
    .destroy = t_destroy,
    .backup = t_backup,
    .restore_begin = t_restore_begin,
    .restore_entry = t_restore_entry,
    .restore_finish = t_restore_finish,
    .restore_abort = t_restore_abort,
};

const envsync_plugin *
envsync_plugin_entry(const envsync_host *h)
{
    host = h;
    return &plugin;
}
