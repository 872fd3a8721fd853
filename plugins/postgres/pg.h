/*
 * pg.h - internals of the PostgreSQL plugin (plugins/postgres).
 *
 * Files by concern:
 *   plugin.c   descriptor, option table, init/check/destroy
 *   conn.c     libpq connections, error classification, quoting, pg_err
 *   ddl.c      pg_dump invocation and SQL statement splitting
 *   backup.c   snapshot, table list, parallel COPY TO workers
 *   restore.c  new database, parallel COPY FROM / index builds, swap
 *
 * Threads: worker threads never call host->error(); they record the first
 * failure in a pg_err (mutex protected, first one wins) and the thread
 * that runs the callback reports it.  Passwords only ever travel in
 * PQconnectdbParams() values or a child's environment, never in text.
 */
#ifndef ES_PG_H
#define ES_PG_H

#include <envsync/plugin.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdint.h>
#include "buf.h"
#include "chunkpool.h"

#define PG_PLUGIN_NAME "postgres"
#define PG_ENGINE "postgres"
/* Version of our META "database" entry; restore refuses a newer one. */
#define PG_META_FORMAT 1
#define PG_NEW_SUFFIX "_envsync_new"
#define PG_OLD_SUFFIX "_envsync_old"
#define PG_ERRLEN 1024

extern const envsync_host *pg_host;

typedef struct pg_conf {
    const char *host, *port, *user, *password, *dbname, *sslmode;
    const char *maintenance_db, *pg_dump, *owner, *mode, *template_db;
    const char *encoding, *lc_collate, *lc_ctype, *maintenance_work_mem;
    const char *client_encoding;  /* not an option: set by restore */
    int64_t jobs, chunk_size, split_size, swap_retries, swap_delay_ms;
    int64_t connect_timeout_ms, lock_timeout_ms;
    int keep_previous, verify_counts, pg_dump_set, no_owner, no_privileges;
} pg_conf;

typedef struct pg_restore pg_restore;

typedef struct pg_state {
    pg_conf c;
    pg_restore *rs;              /* restore run state, NULL outside */
} pg_state;

/* First-failure record shared between threads. */
typedef struct pg_err {
    pthread_mutex_t mu;
    envsync_status st;           /* ENVSYNC_OK while no failure */
    char msg[PG_ERRLEN];
} pg_err;

void pg_err_init(pg_err *e);
void pg_err_destroy(pg_err *e);
/* Records the failure unless one is recorded; returns st. */
envsync_status pg_err_set(pg_err *e, envsync_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
envsync_status pg_err_get(pg_err *e);
/* Hands a recorded failure to the host; returns its status. */
envsync_status pg_err_report(pg_err *e, envsync_ctx *ctx);

/* conn.c */
/* Connects to dbname (NULL = the configured database) and applies the
 * session settings every envsync connection uses (UTC, ISO dates, exact
 * floats, hex bytea, no row security).  On failure records a classified
 * error naming the database and returns NULL. */
PGconn *pg_connect(const pg_conf *c, const char *dbname, pg_err *err);
/* Classifies a failed result (or a connection failure when res is NULL). */
envsync_status pg_classify(PGconn *conn, const PGresult *res);
/* Runs a command; 0 on success, else records "<what>: <server message>". */
int pg_exec(PGconn *conn, const char *sql, pg_err *err, const char *what);
/* Runs a query returning rows; NULL (and error recorded) on failure. */
PGresult *pg_query(PGconn *conn, const char *sql, pg_err *err, const char *what);
/* The server's message, one line, without the "ERROR:" prefix. */
const char *pg_message(PGconn *conn, const PGresult *res, char *buf, size_t len);
/* Appends "ident" / 'literal' with proper quoting. */
int pg_buf_ident(es_buf *b, const char *s);
int pg_buf_literal(es_buf *b, const char *s);
/* Appends "schema"."name". */
int pg_buf_qname(es_buf *b, const char *schema, const char *name);
/* Appends "a", "b" from a column list in the entry format (TAB-separated,
 * each name escaped like a row field).  -1 on a malformed list. */
int pg_buf_columns(es_buf *b, const char *cols);
/* Sleep that wakes early when the run is cancelled. */
void pg_sleep_ms(envsync_ctx *ctx, int64_t ms);

/* ddl.c */
/* Runs `pg_dump` with args (NULL-terminated, after argv[0]) against the
 * configured database; stdout into *out.  The password reaches the child
 * through its environment only. */
envsync_status pg_dump_run(envsync_ctx *ctx, const pg_conf *c, const char *exe,
                           const char *const *args, size_t nargs, es_buf *out,
                           pg_err *err);
/* `exe --version` major number, or -1. */
int pg_dump_major(const char *exe);
/* Splits SQL text into statements.  Calls cb with each statement (without
 * the trailing ';', leading whitespace and comment-only text skipped).
 * Lines that are psql meta-commands (\restrict, \unrestrict, \connect)
 * outside any quote are dropped.  cb returns non-zero to stop; that value
 * is returned. */
/* True for pg_dump's "ALTER <object> OWNER TO <role>" statements. */
int pg_is_owner_stmt(const char *stmt, size_t len);
/* True for post-data statements that only build on their table and may run
 * in parallel: CREATE [UNIQUE] INDEX, ADD CONSTRAINT ... PRIMARY KEY /
 * UNIQUE / EXCLUDE. */
int pg_is_parallel_stmt(const char *stmt, size_t len);
/* For a statement pg_is_parallel_stmt accepts, in pg_dump's form: the
 * schema and table it builds on, unquoted.  0, or -1 if it cannot tell. */
int pg_parallel_target(const char *stmt, size_t len, char *schema, size_t scap, char *name,
                       size_t ncap);
/* pg_dump's "ALTER TABLE [ONLY] t ADD CONSTRAINT c PRIMARY KEY | UNIQUE
 * (cols) [INCLUDE (...)] [WITH (...)]" as two statements: the index build
 * ("CREATE UNIQUE INDEX c ON t USING btree (cols) ...", which can run
 * beside the table's other index builds) and the instant "ALTER TABLE ...
 * ADD CONSTRAINT c ... USING INDEX c".  1 if split, 0 if the statement has
 * another form (EXCLUDE, DEFERRABLE, a tablespace...), -1 out of memory. */
int pg_split_key_stmt(const char *stmt, size_t len, es_buf *create, es_buf *attach);
/* pg_dump's "ALTER TABLE ONLY t ADD CONSTRAINT c FOREIGN KEY ..." as the
 * same statement with NOT VALID (instant; it takes SHARE ROW EXCLUSIVE on
 * both tables, so two such checks of one referenced table would queue)
 * and "ALTER TABLE ONLY t VALIDATE CONSTRAINT c", which checks the rows
 * under SHARE UPDATE EXCLUSIVE on t and ROW SHARE on the referenced table
 * and so runs beside the other validations.  1 if split; 0 for another
 * form (a partitioned table, no ONLY; already NOT VALID); -1 out of
 * memory. */
int pg_split_fk_stmt(const char *stmt, size_t len, es_buf *add, es_buf *validate);
/* True for GRANT, REVOKE and ALTER DEFAULT PRIVILEGES statements. */
int pg_is_privilege_stmt(const char *stmt, size_t len);
typedef int (*pg_stmt_cb)(void *arg, const char *stmt, size_t len);
int pg_split_sql(const char *sql, size_t len, pg_stmt_cb cb, void *arg);

/* backup.c / restore.c */
envsync_status pg_backup(envsync_ctx *ctx, void *state, envsync_sink *out,
                         char **info);
envsync_status pg_restore_begin(envsync_ctx *ctx, void *state);
envsync_status pg_restore_entry(envsync_ctx *ctx, void *state,
                                const envsync_entry *e, const void *data,
                                size_t len);
envsync_status pg_restore_finish(envsync_ctx *ctx, void *state);
void pg_restore_abort(envsync_ctx *ctx, void *state);
void pg_restore_free(pg_restore *rs);

/* Table selection patterns (backup.c): "schema.table" with '*'; a
 * pattern without '.' matches the table name in any schema. */
int pg_pattern_match(const char *pattern, const char *schema, const char *name);

#endif
