/*
 * my.h - internals of the MySQL/MariaDB plugin (plugins/mysql).
 *
 * Files: plugin.c (descriptor, options, init/check), conn.c (connections,
 * error mapping, quoting), schema.c (DDL capture and rewriting), backup.c
 * (consistent parallel dump), restore.c (load beside the target, swap),
 * literal.c (row-format fields as SQL literals for the INSERT path).
 *
 * Data encoding (both directions agree on it; see backup.c):
 *   - every column is read with character_set_results = binary, so text
 *     comes out in the column's own charset, and LOAD DATA reads it back
 *     with CHARACTER SET binary: no conversion anywhere;
 *   - FLOAT columns are selected as CAST(c AS DOUBLE) (the text protocol
 *     prints FLOAT with 6 digits, which does not round-trip);
 *   - BIT columns as c+0 (a decimal number) and loaded through a user
 *     variable with SET c = CAST(@v AS UNSIGNED);
 *   - GEOMETRY columns raw (SRID + WKB internal form) through SET c = @v;
 *   - generated columns are left out;
 *   - the session time zone is +00:00 on both sides (TIMESTAMP).
 */
#ifndef ES_MYSQL_MY_H
#define ES_MYSQL_MY_H

#include <envsync/plugin.h>
#include <mysql.h>
#include <stdint.h>
#include "buf.h"
#include "chunkpool.h"

extern const envsync_host *my_host;

#define MY_PLUGIN "mysql"
#define MY_ENGINE "mysql"

/* Backup option snapshot_lock: which global lock synchronises the
 * snapshots of several worker connections. */
typedef enum my_snapshot_lock {
    MY_SNAPSHOT_LOCK_AUTO,          /* BACKUP STAGE, else FTWRL, else one worker */
    MY_SNAPSHOT_LOCK_BACKUP_STAGE,  /* BACKUP STAGE BLOCK_COMMIT or fail */
    MY_SNAPSHOT_LOCK_FTWRL,         /* FLUSH TABLES WITH READ LOCK or fail */
    MY_SNAPSHOT_LOCK_NONE           /* never lock: one worker */
} my_snapshot_lock;

/* Restore option load: how rows go into the tables. */
typedef enum my_load {
    MY_LOAD_AUTO,       /* LOAD DATA; INSERTs where parallel LOAD DATA serialises */
    MY_LOAD_INFILE,     /* LOAD DATA LOCAL INFILE (INSERTs if the server refuses) */
    MY_LOAD_INSERT      /* multi-row INSERTs everywhere */
} my_load;

typedef struct my_conf {
    const char *host;
    const char *socket;
    const char *user;
    const char *password;
    const char *database;
    const char *ssl_ca;
    const char *ssl_mode;
    const char *charset;
    const char *mode;            /* "swap" | "replace" */
    unsigned port;
    int jobs;
    size_t chunk_size;
    int keep_previous;
    int defer_indexes;
    int strip_definers;
    my_snapshot_lock snapshot_lock;
    my_load load;
    unsigned connect_timeout;    /* seconds */
} my_conf;

struct my_restore;

typedef struct my_state {
    envsync_ctx *ctx;
    my_conf c;
    struct my_restore *rs;
} my_state;

/* ---------------------------------------------------------------- conn.c */
/* Open a connection (db may be NULL).  On failure calls host->error with
 * a message naming what/host and returns the mapped status. */
envsync_status my_connect(envsync_ctx *ctx, const my_conf *c, const char *db,
                          const char *what, MYSQL **out);
/* Map a client/server error number to a status. */
envsync_status my_errno_status(unsigned err);
/* Run a statement (printf-style); results are discarded.  `what` names the
 * object for the error message. */
envsync_status my_exec(envsync_ctx *ctx, MYSQL *m, const char *what,
                       const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Run a statement given as a buffer; results (all of them, for multi
 * statements) discarded. */
envsync_status my_exec_len(envsync_ctx *ctx, MYSQL *m, const char *what,
                           const char *sql, size_t len);
/* Run a query and store the result (*res may be NULL for no result). */
envsync_status my_query(envsync_ctx *ctx, MYSQL *m, const char *what,
                        MYSQL_RES **res, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* Set the error on ctx from the connection's last error. */
envsync_status my_fail(envsync_ctx *ctx, MYSQL *m, const char *what);
/* `name` quoted as an identifier into a static-free caller buffer. */
int my_qident(es_buf *b, const char *name);
/* 'text' quoted (connection-aware escaping) */
int my_qstr(es_buf *b, MYSQL *m, const char *s);
/* Returns a malloc'd quoted identifier. */
char *my_qid(const char *name);
/* Returns a malloc'd quoted string literal. */
char *my_qs(MYSQL *m, const char *s);
/* Simple glob match (only '*' and '?'). */
int my_glob(const char *pat, const char *s);

/* -------------------------------------------------------------- schema.c */
/* Split SHOW CREATE TABLE output into a CREATE without secondary indexes
 * and foreign keys, plus ALTER clauses to add them later.  `indexes`
 * receives ", "-separated "ADD ..." clauses for ordinary indexes,
 * `fulltext` one clause per line (InnoDB builds one FULLTEXT at a time),
 * `fks` ", "-separated "ADD CONSTRAINT ..." clauses. */
int my_split_create(const char *ddl, es_buf *create, es_buf *indexes,
                    es_buf *fulltext, es_buf *fks);

/* Remove the DEFINER=... clause of a CREATE VIEW/TRIGGER/PROCEDURE/
 * FUNCTION/EVENT statement in place.  Returns 1 if one was removed. */
int my_strip_definer(char *ddl);

/* -------------------------------------------------------------- backup.c */
envsync_status my_backup(envsync_ctx *ctx, void *state, envsync_sink *out,
                         char **info);

/* ------------------------------------------------------------- restore.c */
envsync_status my_restore_begin(envsync_ctx *ctx, void *state);
envsync_status my_restore_entry(envsync_ctx *ctx, void *state,
                                const envsync_entry *e,
                                const void *data, size_t len);
envsync_status my_restore_finish(envsync_ctx *ctx, void *state);
void my_restore_abort(envsync_ctx *ctx, void *state);
void my_restore_free(struct my_restore *rs);

/* Attribute lookup in an entry (NULL if absent). */
const char *my_attr(const envsync_entry *e, const char *key);

#endif
