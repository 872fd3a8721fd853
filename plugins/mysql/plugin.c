/*
 * plugin.c - descriptor and option table of the MySQL/MariaDB plugin.
 */
#include "my.h"

#include <stdlib.h>
#include <string.h>

const envsync_host *my_host;

static const envsync_option my_options[] = {
    { "host", ENVSYNC_OPT_STRING, 0, "127.0.0.1", "server host name or address" },
    { "port", ENVSYNC_OPT_INT, 0, "3306", "TCP port" },
    { "socket", ENVSYNC_OPT_STRING, 0, NULL, "Unix socket path (used instead of TCP when set)" },
    { "user", ENVSYNC_OPT_STRING, 0, "root", "user name" },
    { "password", ENVSYNC_OPT_STRING, ENVSYNC_OPT_SECRET, NULL, "password (or password_file)" },
    { "database", ENVSYNC_OPT_STRING, ENVSYNC_OPT_REQUIRED, NULL,
      "database to back up, or target database of a restore" },
    { "ssl_ca", ENVSYNC_OPT_STRING, 0, NULL, "CA certificate file; enables TLS" },
    { "ssl_mode", ENVSYNC_OPT_STRING, 0, NULL,
      "disabled | preferred | required | verify_ca | verify_identity" },
    { "jobs", ENVSYNC_OPT_INT, 0, "2", "parallel connections for dump and load" },
    { "chunk_size", ENVSYNC_OPT_SIZE, 0, "16M", "bytes of rows per data entry" },
    { "include", ENVSYNC_OPT_LIST, 0, NULL, "backup: only tables matching these patterns (*, ?)" },
    { "exclude", ENVSYNC_OPT_LIST, 0, NULL, "backup: leave out tables matching these patterns" },
    { "exclude_data", ENVSYNC_OPT_LIST, 0, NULL, "backup: schema only for tables matching these" },
    { "where", ENVSYNC_OPT_LIST, 0, NULL, "backup: \"table: predicate\" row filters" },
    { "keep_previous", ENVSYNC_OPT_BOOL, 0, "false",
      "restore: keep the replaced tables in <db>_envsync_old" },
    { "mode", ENVSYNC_OPT_STRING, 0, "swap",
      "restore: swap (atomic RENAME TABLE) | replace (drop target first; not atomic)" },
    { "defer_indexes", ENVSYNC_OPT_BOOL, 0, "true",
      "restore: build secondary indexes (where faster: not for wide rows under small keys) and foreign keys after the load" },
    { "load", ENVSYNC_OPT_STRING, 0, "auto",
      "restore: how rows are loaded: auto (LOAD DATA LOCAL INFILE; multi-row INSERTs for a"
      " table holding over 1/jobs of the data with an AUTO_INCREMENT column, which parallel"
      " LOAD DATA would serialise on) | infile | insert" },
    { "strip_definers", ENVSYNC_OPT_BOOL, 0, "false",
      "restore: create views, triggers, routines and events as the restoring user"
      " (drop their DEFINER clauses)" },
    { "snapshot_lock", ENVSYNC_OPT_STRING, 0, "auto",
      "backup: lock that synchronises the workers' snapshots: auto | backup_stage | ftwrl"
      " | none (one connection, no lock)" },
    { "connect_timeout", ENVSYNC_OPT_DURATION, 0, "10s", "connection timeout" },
    { "charset", ENVSYNC_OPT_STRING, 0, "utf8mb4", "connection character set for DDL" },
    { NULL, ENVSYNC_OPT_END, 0, NULL, NULL }
};

#define NNAMES(a) (sizeof(a) / sizeof((a)[0]))

/* Values of snapshot_lock, in the order of enum my_snapshot_lock. */
static const char *const snapshot_lock_names[] = { "auto", "backup_stage", "ftwrl", "none" };

/* Values of load, in the order of enum my_load. */
static const char *const load_names[] = { "auto", "infile", "insert" };

/* The index of name in names[0..n), or -1. */
static int
name_index(const char *name, const char *const *names, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (name && !strcmp(name, names[i]))
            return (int)i;
    return -1;
}

static envsync_status
my_init(envsync_ctx *ctx, void **statep)
{
    my_state *st = calloc(1, sizeof(*st));
    my_conf *c;
    const char *snapshot_lock = my_host->opt_string(ctx, "snapshot_lock");
    const char *load = my_host->opt_string(ctx, "load");
    int k;
    int64_t v;
    envsync_status s;

    if (!st)
        return my_host->error(ctx, ENVSYNC_ERR_OTHER, "out of memory");
    c = &st->c;
    st->ctx = ctx;
    c->host = my_host->opt_string(ctx, "host");
    c->socket = my_host->opt_string(ctx, "socket");
    c->user = my_host->opt_string(ctx, "user");
    c->password = my_host->opt_string(ctx, "password");
    c->database = my_host->opt_string(ctx, "database");
    c->ssl_ca = my_host->opt_string(ctx, "ssl_ca");
    c->ssl_mode = my_host->opt_string(ctx, "ssl_mode");
    c->charset = my_host->opt_string(ctx, "charset");
    c->mode = my_host->opt_string(ctx, "mode");
    v = my_host->opt_int(ctx, "port");
    if (v <= 0 || v > 65535) {
        s = my_host->error(ctx, ENVSYNC_ERR_CONFIG, "%s: port %lld out of range",
                              my_host->opt_where(ctx, "port"), (long long)v);
        free(st);
        return s;
    }
    c->port = (unsigned)v;
    v = my_host->opt_int(ctx, "jobs");
    if (v < 1 || v > 64) {
        s = my_host->error(ctx, ENVSYNC_ERR_CONFIG, "%s: jobs must be 1..64",
                              my_host->opt_where(ctx, "jobs"));
        free(st);
        return s;
    }
    c->jobs = (int)v;
    v = my_host->opt_int(ctx, "chunk_size");
    if (v < 4096 || v > (int64_t)1 << 29) {
        s = my_host->error(ctx, ENVSYNC_ERR_CONFIG, "%s: chunk_size must be 4k..512M",
                              my_host->opt_where(ctx, "chunk_size"));
        free(st);
        return s;
    }
    c->chunk_size = (size_t)v;
    c->keep_previous = my_host->opt_int(ctx, "keep_previous") != 0;
    c->defer_indexes = my_host->opt_int(ctx, "defer_indexes") != 0;
    c->strip_definers = my_host->opt_int(ctx, "strip_definers") != 0;
    v = my_host->opt_int(ctx, "connect_timeout");
    c->connect_timeout = v <= 0 ? 1 : (unsigned)((v + 999) / 1000);
    if (!c->mode || (strcmp(c->mode, "swap") && strcmp(c->mode, "replace"))) {
        s = my_host->error(ctx, ENVSYNC_ERR_CONFIG,
                              "%s: mode must be \"swap\" or \"replace\"",
                              my_host->opt_where(ctx, "mode"));
        free(st);
        return s;
    }
    if ((k = name_index(snapshot_lock, snapshot_lock_names, NNAMES(snapshot_lock_names))) < 0) {
        s = my_host->error(ctx, ENVSYNC_ERR_CONFIG,
                              "%s: snapshot_lock must be \"auto\", \"backup_stage\", \"ftwrl\""
                              " or \"none\", not \"%s\"",
                              my_host->opt_where(ctx, "snapshot_lock"),
                              snapshot_lock ? snapshot_lock : "");
        free(st);
        return s;
    }
    c->snapshot_lock = (my_snapshot_lock)k;
    if ((k = name_index(load, load_names, NNAMES(load_names))) < 0) {
        s = my_host->error(ctx, ENVSYNC_ERR_CONFIG,
                           "%s: load must be \"auto\", \"infile\" or \"insert\", not \"%s\"",
                           my_host->opt_where(ctx, "load"), load ? load : "");
        free(st);
        return s;
    }
    c->load = (my_load)k;
    if (c->ssl_mode && strcmp(c->ssl_mode, "disabled") && strcmp(c->ssl_mode, "preferred")
        && strcmp(c->ssl_mode, "required") && strcmp(c->ssl_mode, "verify_ca")
        && strcmp(c->ssl_mode, "verify_identity")) {
        s = my_host->error(ctx, ENVSYNC_ERR_CONFIG, "%s: unknown ssl_mode \"%s\"",
                              my_host->opt_where(ctx, "ssl_mode"), c->ssl_mode);
        free(st);
        return s;
    }
    if (strlen(c->database) > 48) {
        /* "<db>_envsync_new" must fit MySQL's 64-character limit */
        s = my_host->error(ctx, ENVSYNC_ERR_CONFIG,
                              "%s: database name \"%s\" longer than 48 characters",
                              my_host->opt_where(ctx, "database"), c->database);
        free(st);
        return s;
    }
    if (c->password)
        my_host->redact(ctx, c->password);
    *statep = st;
    return ENVSYNC_OK;
}

static envsync_status
my_check(envsync_ctx *ctx, void *state)
{
    my_state *st = state;
    MYSQL *m = NULL;
    envsync_status s = my_connect(ctx, &st->c, NULL, "check", &m);

    if (m)
        mysql_close(m);
    return s;
}

static void
my_destroy(void *state)
{
    my_state *st = state;

    if (!st)
        return;
    my_restore_free(st->rs);
    free(st);
}

static const envsync_plugin my_plugin = {
    .abi_version = ENVSYNC_ABI_VERSION,
    .struct_size = sizeof(envsync_plugin),
    .name = MY_PLUGIN,
    .version = "1.0.0",
    .description = "MySQL/MariaDB: consistent parallel dump, atomic parallel restore",
    .engine = MY_ENGINE,
    .phases = ENVSYNC_PHASE_BACKUP | ENVSYNC_PHASE_RESTORE,
    .options = my_options,
    .init = my_init,
    .check = my_check,
    .destroy = my_destroy,
    .backup = my_backup,
    .restore_begin = my_restore_begin,
    .restore_entry = my_restore_entry,
    .restore_finish = my_restore_finish,
    .restore_abort = my_restore_abort,
};

const envsync_plugin *
envsync_plugin_entry(const envsync_host *host)
{
    static int lib_ready;

    my_host = host;
    if (!lib_ready) {
        /* the client library's global init is not thread-safe: do it once
         * here, before any worker thread exists */
        mysql_library_init(0, NULL, NULL);
        lib_ready = 1;
    }
    return &my_plugin;
}
