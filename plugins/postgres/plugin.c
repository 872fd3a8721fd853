/*
 * plugin.c - the PostgreSQL plugin's descriptor, options and life cycle.
 */
#include "config.h"
#include "pg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const envsync_host *pg_host;

static const envsync_option pg_options[] = {
    { "host", ENVSYNC_OPT_STRING, 0, NULL, "server host name or socket directory (libpq default if unset)" },
    { "port", ENVSYNC_OPT_STRING, 0, NULL, "server port (libpq default if unset)" },
    { "user", ENVSYNC_OPT_STRING, 0, NULL, "role to connect as" },
    { "password", ENVSYNC_OPT_STRING, ENVSYNC_OPT_SECRET, NULL, "password (or password_file)" },
    { "database", ENVSYNC_OPT_STRING, 0, NULL, "database to back up / restore into" },
    { "dbname", ENVSYNC_OPT_STRING, 0, NULL, "alias of database" },
    { "sslmode", ENVSYNC_OPT_STRING, 0, NULL, "libpq sslmode (disable, require, verify-full...)" },
    { "connect_timeout", ENVSYNC_OPT_DURATION, 0, "30s", "connection timeout" },
    { "maintenance_db", ENVSYNC_OPT_STRING, 0, "postgres", "restore: database used to create, rename and drop databases" },
    { "jobs", ENVSYNC_OPT_INT, 0, "2", "parallel connections for COPY and index builds" },
    { "chunk_size", ENVSYNC_OPT_SIZE, 0, "16M", "backup: maximum bytes of rows per DATA entry" },
    { "include", ENVSYNC_OPT_LIST, 0, NULL, "backup: tables to include, \"schema.table\" patterns with *" },
    { "exclude", ENVSYNC_OPT_LIST, 0, NULL, "backup: tables to leave out entirely (patterns)" },
    { "exclude_data", ENVSYNC_OPT_LIST, 0, NULL, "backup: tables whose definition is kept but not their rows (patterns)" },
    { "where", ENVSYNC_OPT_LIST, 0, NULL, "backup: row filters, \"schema.table: predicate\"" },
    { "split_size", ENVSYNC_OPT_SIZE, 0, NULL, "backup: tables larger than this are copied in parallel page ranges of about this size (0 = never; unset: only a table bigger than its share of the work, table data / jobs, and at least 32M; PostgreSQL 14+)" },
    { "pg_dump", ENVSYNC_OPT_STRING, 0, "pg_dump", "backup: pg_dump executable used for DDL" },
    { "lock_timeout", ENVSYNC_OPT_DURATION, 0, "60s", "backup: how long to wait for table locks" },
    { "owner", ENVSYNC_OPT_STRING, 0, NULL, "restore: role that owns the restored database" },
    { "no_owner", ENVSYNC_OPT_BOOL, 0, "false", "restore: skip the source's ALTER ... OWNER TO (objects belong to the restoring role)" },
    { "no_privileges", ENVSYNC_OPT_BOOL, 0, "false", "restore: skip the source's GRANT / REVOKE / ALTER DEFAULT PRIVILEGES" },
    { "keep_previous", ENVSYNC_OPT_BOOL, 0, "false", "restore: keep the replaced database as <db>_envsync_old" },
    { "mode", ENVSYNC_OPT_STRING, 0, "swap", "restore: \"swap\" (atomic rename) or \"replace\" (drop and recreate, not atomic)" },
    { "swap_retries", ENVSYNC_OPT_INT, 0, "10", "restore: attempts at the rename swap" },
    { "swap_delay", ENVSYNC_OPT_DURATION, 0, "5s", "restore: pause between swap attempts" },
    { "template", ENVSYNC_OPT_STRING, 0, "template0", "restore: template of the new database" },
    { "encoding", ENVSYNC_OPT_STRING, 0, NULL, "restore: encoding of the new database (default: the source's)" },
    { "lc_collate", ENVSYNC_OPT_STRING, 0, NULL, "restore: LC_COLLATE of the new database (default: the source's)" },
    { "lc_ctype", ENVSYNC_OPT_STRING, 0, NULL, "restore: LC_CTYPE of the new database (default: the source's)" },
    { "maintenance_work_mem", ENVSYNC_OPT_STRING, 0, NULL, "restore: maintenance_work_mem of the index-building sessions (e.g. \"512MB\"; server default if unset)" },
    { "verify_counts", ENVSYNC_OPT_BOOL, 0, "false", "restore: also count(*) every table against the manifest (COPY's own counts are always checked)" },
    { NULL, ENVSYNC_OPT_END, 0, NULL, NULL }
};

static const char *
opt_str(envsync_ctx *ctx, const char *name)
{
    const char *v = pg_host->opt_string(ctx, name);
    return v && *v ? v : NULL;
}

static envsync_status
pg_init(envsync_ctx *ctx, void **statep)
{
    pg_state *s = calloc(1, sizeof *s);
    pg_conf *c;
    envsync_status st = ENVSYNC_OK;

    if (!s)
        return pg_host->error(ctx, ENVSYNC_ERR_OTHER, "out of memory");
    c = &s->c;
    c->host = opt_str(ctx, "host");
    c->port = opt_str(ctx, "port");
    c->user = opt_str(ctx, "user");
    c->password = pg_host->opt_string(ctx, "password");
    c->dbname = opt_str(ctx, "database");
    if (!c->dbname)
        c->dbname = opt_str(ctx, "dbname");
    c->sslmode = opt_str(ctx, "sslmode");
    c->maintenance_db = opt_str(ctx, "maintenance_db");
    c->pg_dump = opt_str(ctx, "pg_dump");
    c->pg_dump_set = pg_host->opt_isset(ctx, "pg_dump");
    c->owner = opt_str(ctx, "owner");
    c->mode = opt_str(ctx, "mode");
    c->template_db = opt_str(ctx, "template");
    c->maintenance_work_mem = opt_str(ctx, "maintenance_work_mem");
    c->encoding = opt_str(ctx, "encoding");
    c->lc_collate = opt_str(ctx, "lc_collate");
    c->lc_ctype = opt_str(ctx, "lc_ctype");
    c->jobs = pg_host->opt_int(ctx, "jobs");
    c->chunk_size = pg_host->opt_int(ctx, "chunk_size");
    /* -1: automatic (plan_units) */
    c->split_size = pg_host->opt_isset(ctx, "split_size") ? pg_host->opt_int(ctx, "split_size") : -1;
    c->swap_retries = pg_host->opt_int(ctx, "swap_retries");
    c->swap_delay_ms = pg_host->opt_int(ctx, "swap_delay");
    c->connect_timeout_ms = pg_host->opt_int(ctx, "connect_timeout");
    c->lock_timeout_ms = pg_host->opt_int(ctx, "lock_timeout");
    c->keep_previous = (int)pg_host->opt_int(ctx, "keep_previous");
    c->verify_counts = (int)pg_host->opt_int(ctx, "verify_counts");
    c->no_owner = (int)pg_host->opt_int(ctx, "no_owner");
    c->no_privileges = (int)pg_host->opt_int(ctx, "no_privileges");
    if (!c->maintenance_db)
        c->maintenance_db = "postgres";
    if (!c->pg_dump)
        c->pg_dump = "pg_dump";
    if (!c->mode)
        c->mode = "swap";
    if (!c->template_db)
        c->template_db = "template0";

    if (c->password && *c->password && pg_host->redact)
        pg_host->redact(ctx, c->password);
    if (!c->dbname) {
        st = pg_host->error(ctx, ENVSYNC_ERR_CONFIG,
                              "option \"database\" (or \"dbname\") is required");
    } else if (strlen(c->dbname) + strlen(PG_NEW_SUFFIX) > 63) {
        st = pg_host->error(ctx, ENVSYNC_ERR_CONFIG,
                              "%s: database name \"%s\" is too long: it must leave room for "
                              "the \"%s\" suffix (63 bytes in all)",
                              pg_host->opt_where(ctx, "database"), c->dbname, PG_NEW_SUFFIX);
    } else if (c->jobs < 1 || c->jobs > 64) {
        st = pg_host->error(ctx, ENVSYNC_ERR_CONFIG, "%s: jobs must be between 1 and 64",
                              pg_host->opt_where(ctx, "jobs"));
    } else if (c->chunk_size < 4096 || c->chunk_size > ((int64_t)1 << 29)) {
        st = pg_host->error(ctx, ENVSYNC_ERR_CONFIG,
                              "%s: chunk_size must be between 4k and 512M",
                              pg_host->opt_where(ctx, "chunk_size"));
    } else if (strcmp(c->mode, "swap") != 0 && strcmp(c->mode, "replace") != 0) {
        st = pg_host->error(ctx, ENVSYNC_ERR_CONFIG,
                              "%s: mode must be \"swap\" or \"replace\", not \"%s\"",
                              pg_host->opt_where(ctx, "mode"), c->mode);
    }
    if (st != ENVSYNC_OK) {
        free(s);
        return st;
    }
    if (c->swap_retries < 1)
        c->swap_retries = 1;
    *statep = s;
    return ENVSYNC_OK;
}

/* `envsync check`: the configured database, or the maintenance database
 * when the target does not exist yet (a restore creates it). */
static envsync_status
pg_check(envsync_ctx *ctx, void *state)
{
    pg_state *s = state;
    pg_err err;
    PGconn *conn;
    envsync_status st;

    pg_err_init(&err);
    conn = pg_connect(&s->c, NULL, &err);
    if (!conn && strstr(err.msg, "does not exist") && err.st == ENVSYNC_ERR_CONNECT) {
        pg_err_destroy(&err);
        pg_err_init(&err);
        conn = pg_connect(&s->c, s->c.maintenance_db, &err);
        if (conn)
            pg_host->log(ctx, ENVSYNC_LOG_INFO, "database \"%s\" does not exist yet "
                         "(a restore creates it); server reachable", s->c.dbname);
    }
    if (!conn) {
        st = pg_err_report(&err, ctx);
        pg_err_destroy(&err);
        return st;
    }
    pg_host->log(ctx, ENVSYNC_LOG_INFO, "connected: PostgreSQL %d.%d",
                 PQserverVersion(conn) / 10000, PQserverVersion(conn) % 10000);
    {
        /* only a backup needs pg_dump; a restore-only host may lack it */
        int server = PQserverVersion(conn) / 10000, m = pg_dump_major(s->c.pg_dump);
        char alt[256];
        snprintf(alt, sizeof alt, "/usr/lib/postgresql/%d/bin/pg_dump", server);
        if (m < server && (s->c.pg_dump_set || pg_dump_major(alt) < server))
            pg_host->log(ctx, ENVSYNC_LOG_WARN, "a backup would fail: %s is %s, the server "
                         "is PostgreSQL %d (install postgresql-client-%d or set pg_dump)",
                         s->c.pg_dump, m < 0 ? "not runnable" : "older", server, server);
    }
    PQfinish(conn);
    pg_err_destroy(&err);
    return ENVSYNC_OK;
}

static void
pg_destroy(void *state)
{
    pg_state *s = state;

    if (!s)
        return;
    pg_restore_free(s->rs);
    free(s);
}

static const envsync_plugin pg_plugin = {
    .abi_version = ENVSYNC_ABI_VERSION,
    .struct_size = sizeof(envsync_plugin),
    .name = PG_PLUGIN_NAME,
    .version = PACKAGE_VERSION,
    .description = "PostgreSQL: snapshot-consistent parallel COPY backup, restore beside the target and atomic swap",
    .engine = PG_ENGINE,
    .phases = ENVSYNC_PHASE_BACKUP | ENVSYNC_PHASE_RESTORE,
    .options = pg_options,
    .init = pg_init,
    .check = pg_check,
    .destroy = pg_destroy,
    .backup = pg_backup,
    .restore_begin = pg_restore_begin,
    .restore_entry = pg_restore_entry,
    .restore_finish = pg_restore_finish,
    .restore_abort = pg_restore_abort,
};

const envsync_plugin *
envsync_plugin_entry(const envsync_host *host)
{
    pg_host = host;
    return &pg_plugin;
}
