/*
 * restore.c - load beside the target, verify, then swap.
 *
 *   begin    production guard, engine check, drop leftovers of a killed run
 *   entries  META database -> CREATE DATABASE <db>_envsync_new (template0,
 *            the source's encoding and locale); SCHEMA pre-data executed
 *            statement by statement; DATA handed to `jobs` worker
 *            connections through a queue of 1 + jobs/4 chunks
 *            (COPY FROM STDIN); BLOB pieces written with lo_put;
 *            post-data and POSTLOAD kept for finish
 *   finish   indexes and primary/unique/exclusion constraints in parallel,
 *            then the rest of post-data in order (foreign keys added NOT
 *            VALID, in pg_dump's order), the foreign keys' checks
 *            (VALIDATE CONSTRAINT) in parallel, sequences, row counts against the
 *            manifest, POSTLOAD SQL, materialized view refresh, ANALYZE,
 *            owner, then the swap: refuse connections to <db>, terminate
 *            its sessions, rename <db> -> <db>_envsync_old and
 *            <db>_envsync_new -> <db> in one transaction (retried), and drop
 *            the old database unless keep_previous.
 *   abort    stop the workers, drop <db>_envsync_new; <db> is untouched.
 *
 * mode = "replace" drops and recreates <db> itself and loads into it: for
 * managed servers that forbid renames; not atomic.
 */
#include "config.h"
#include "pg.h"
#include "dbsettings.h"

#include <ctype.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

enum { TASK_COPY, TASK_SQL, TASK_COUNT };

typedef struct rs_table {
    char *schema, *name;
    uint64_t loaded;             /* rows COPY reported */
    uint64_t expected;
    int has_expected;
    /* post-data per table (under mu): its index and key builds start once
     * its data is complete, ANALYZE once they are done */
    int data_done;               /* end-of-data entry seen, or finish */
    int had_data;                /* a DATA entry came: a table with storage,
                                  * not a partitioned parent */
    size_t copies;               /* COPY tasks queued or running */
    size_t builds;               /* build tasks queued or running */
    int post_state;              /* POST_WAITING, POST_BUILDING, POST_ATTACHING,
                                  * POST_ANALYZING */
    char **stmts;                /* its parallel post-data statements */
    size_t nstmts;
    es_buf attach;               /* "ADD CONSTRAINT ... USING INDEX" of the
                                  * keys whose index was built apart */
} rs_table;

enum { POST_WAITING, POST_BUILDING, POST_ATTACHING, POST_ANALYZING };

typedef struct rs_task {
    int kind;
    int post;                    /* TASK_SQL: POST_BUILDING (a build of table),
                                  * POST_ATTACHING (its keys onto their built
                                  * indexes) or POST_ANALYZING (its ANALYZE),
                                  * else 0 */
    size_t table;                /* COPY/COUNT, post SQL: index into tables */
    char *columns;               /* COPY */
    char *data;                  /* COPY payload / SQL text */
    size_t len;
    size_t mapped;               /* data is an mmap() of this many bytes */
    uint64_t rows;
    uint64_t seq;
    struct rs_task *next;
} rs_task;

struct pg_restore {
    envsync_ctx *ctx;
    pg_state *s;
    char target[64], newdb[96], olddb[96];
    const char *loaddb;          /* newdb, or target in replace mode */
    int replace, created, swapped, conns_refused;
    PGconn *maint, *db;
    /* source database facts from the META entry */
    char *encoding, *lc_collate, *lc_ctype, *provider, *icu_locale;
    /* workers */
    pthread_t *threads;
    size_t nthreads, nstarted;
    PGcancel **cancels;          /* one per worker, for a cancelled run */
    pthread_mutex_t mu;
    pthread_cond_t cv_put, cv_get, cv_idle;
    rs_task *head, *tail;
    size_t queued, cap, busy;
    es_chunkpool pool;           /* COPY chunk buffers (lib/chunkpool.h) */
    int closing;
    pg_err err;
    rs_table *tables;
    size_t ntables, tcap, last;
    es_buf post, seqs, user, refresh;
    es_buf autovac;              /* tables whose autovacuum we switched off */
    uint64_t pre_statements;
    /* parallel post-data statements */
    int post_known;              /* distributed to their tables */
    char **orphans;              /* ones whose table is not known: run at finish */
    size_t norphans;
    uint64_t builds_total, builds_early, analyzed, keys_split;
    pg_dbsettings *dbsettings;   /* database-level properties from META, or NULL */
};

/* ---------------------------------------------------------------- tables */

static size_t
table_index(pg_restore *rs, const char *schema, const char *name)
{
    size_t i;

    if (rs->last < rs->ntables && strcmp(rs->tables[rs->last].name, name) == 0 &&
        strcmp(rs->tables[rs->last].schema, schema) == 0)
        return rs->last;
    for (i = 0; i < rs->ntables; i++)
        if (strcmp(rs->tables[i].name, name) == 0 && strcmp(rs->tables[i].schema, schema) == 0)
            return rs->last = i;
    if (rs->ntables == rs->tcap) {
        size_t ncap = rs->tcap ? rs->tcap * 2 : 64;
        rs_table *nt;
        pthread_mutex_lock(&rs->mu);   /* workers read tables[] */
        nt = realloc(rs->tables, ncap * sizeof *nt);
        if (nt) {
            rs->tables = nt;
            rs->tcap = ncap;
        }
        pthread_mutex_unlock(&rs->mu);
        if (!nt)
            return (size_t)-1;
    }
    pthread_mutex_lock(&rs->mu);
    memset(&rs->tables[rs->ntables], 0, sizeof rs->tables[0]);
    rs->tables[rs->ntables].schema = strdup(schema);
    rs->tables[rs->ntables].name = strdup(name);
    i = rs->ntables++;
    pthread_mutex_unlock(&rs->mu);
    if (!rs->tables[i].schema || !rs->tables[i].name)
        return (size_t)-1;
    return rs->last = i;
}

/* ---------------------------------------------------------------- workers */

static void
qname_of(pg_restore *rs, size_t ti, es_buf *b, char **schema, char **name)
{
    pthread_mutex_lock(&rs->mu);
    *schema = rs->tables[ti].schema;
    *name = rs->tables[ti].name;
    pthread_mutex_unlock(&rs->mu);
    if (b)
        pg_buf_qname(b, *schema, *name);
}

static void
run_copy(pg_restore *rs, PGconn *conn, rs_task *t)
{
    es_buf sql = ES_BUF_INIT;
    char *schema, *name, msg[PG_ERRLEN];
    PGresult *res;
    uint64_t n;
    size_t off, piece = 0;

    es_buf_puts(&sql, "COPY ");
    qname_of(rs, t->table, &sql, &schema, &name);
    if (t->columns && *t->columns) {
        es_buf_puts(&sql, " (");
        if (pg_buf_columns(&sql, t->columns) != 0) {
            pg_err_set(&rs->err, ENVSYNC_ERR_INTEGRITY, "table %s.%s chunk %" PRIu64
                       ": malformed column list", schema, name, t->seq);
            es_buf_free(&sql);
            return;
        }
        es_buf_puts(&sql, ")");
    }
    es_buf_puts(&sql, " FROM STDIN");
    res = PQexec(conn, sql.data ? sql.data : "");
    es_buf_free(&sql);
    if (PQresultStatus(res) != PGRES_COPY_IN) {
        pg_err_set(&rs->err, pg_classify(conn, res), "table %s.%s chunk %" PRIu64
                   ": COPY FROM failed: %s", schema, name, t->seq,
                   pg_message(conn, res, msg, sizeof msg));
        PQclear(res);
        return;
    }
    PQclear(res);
    /* in pieces: libpq would grow its output buffer to a whole chunk */
    for (off = 0; off < t->len; off += piece) {
        piece = t->len - off < 262144 ? t->len - off : 262144;
        if (PQputCopyData(conn, t->data + off, (int)piece) != 1)
            break;
    }
    if (off < t->len || PQputCopyEnd(conn, NULL) != 1) {
        pg_err_set(&rs->err, ENVSYNC_ERR_CONNECT, "table %s.%s chunk %" PRIu64
                   ": sending rows failed: %s", schema, name, t->seq,
                   pg_message(conn, NULL, msg, sizeof msg));
        return;
    }
    res = PQgetResult(conn);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        envsync_status st = pg_classify(conn, res);
        const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        /* 22xxx: the rows themselves are bad (format, encoding, range) */
        if (st == ENVSYNC_ERR_OTHER && state && strncmp(state, "22", 2) == 0)
            st = ENVSYNC_ERR_INTEGRITY;
        pg_err_set(&rs->err, st, "table %s.%s chunk %" PRIu64 ": COPY FROM failed: %s",
                   schema, name, t->seq, pg_message(conn, res, msg, sizeof msg));
        PQclear(res);
        while ((res = PQgetResult(conn)) != NULL)
            PQclear(res);
        return;
    }
    n = strtoull(PQcmdTuples(res), NULL, 10);
    PQclear(res);
    while ((res = PQgetResult(conn)) != NULL)
        PQclear(res);
    if (n != t->rows) {
        pg_err_set(&rs->err, ENVSYNC_ERR_INTEGRITY, "table %s.%s chunk %" PRIu64
                   ": the entry says %" PRIu64 " rows but COPY loaded %" PRIu64,
                   schema, name, t->seq, t->rows, n);
        return;
    }
    pthread_mutex_lock(&rs->mu);
    rs->tables[t->table].loaded += n;
    pthread_mutex_unlock(&rs->mu);
    pg_host->progress(rs->ctx, t->len, n);
}

static void
run_sql(pg_restore *rs, PGconn *conn, rs_task *t)
{
    int attempt;
    char msg[PG_ERRLEN];

    for (attempt = 0; attempt < 3; attempt++) {
        PGresult *res = PQexec(conn, t->data);
        ExecStatusType s = PQresultStatus(res);
        const char *state;
        if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK) {
            PQclear(res);
            return;
        }
        state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        if (t->post == POST_ANALYZING && state && strcmp(state, "42P01") == 0) {
            /* post-load SQL dropped the table (e.g. sanitise's drop) */
            PQclear(res);
            return;
        }
        if (state && strcmp(state, "40P01") == 0 && attempt < 2) {  /* deadlock: again */
            PQclear(res);
            continue;
        }
        pg_err_set(&rs->err, pg_classify(conn, res), "post-data statement \"%.160s\": %s",
                   t->data, pg_message(conn, res, msg, sizeof msg));
        PQclear(res);
        return;
    }
}

static void
run_count(pg_restore *rs, PGconn *conn, rs_task *t)
{
    es_buf sql = ES_BUF_INIT;
    char *schema, *name;
    PGresult *res;
    uint64_t n, expected;

    es_buf_puts(&sql, "SELECT pg_catalog.count(*) FROM ONLY ");
    qname_of(rs, t->table, &sql, &schema, &name);
    res = pg_query(conn, sql.data ? sql.data : "", &rs->err, "counting rows");
    es_buf_free(&sql);
    if (!res)
        return;
    n = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    pthread_mutex_lock(&rs->mu);
    expected = rs->tables[t->table].expected;
    pthread_mutex_unlock(&rs->mu);
    if (n != expected)
        pg_err_set(&rs->err, ENVSYNC_ERR_INTEGRITY, "table %s.%s: %" PRIu64
                   " rows in the restored database, the manifest expects %" PRIu64,
                   schema, name, n, expected);
}

/* Gives a finished COPY task's buffer back to the pool. */
static void
pool_put(pg_restore *rs, rs_task *t)
{
    if (!t->mapped)
        return;
    es_chunk_put(&rs->pool, t->data, t->mapped);
    t->data = NULL;
    t->mapped = 0;
}

static void
free_task(rs_task *t)
{
    if (!t)
        return;
    free(t->columns);
    if (t->mapped)
        munmap(t->data, t->mapped);
    else
        free(t->data);
    free(t);
}

static void
free_strv(char **v, size_t n)
{
    size_t i;

    for (i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

/* Appends s to the string vector *v of *n; 0, or -1 out of memory (s is
 * then still the caller's). */
static int
strv_push(char ***v, size_t *n, char *s)
{
    char **nv = realloc(*v, (*n + 1) * sizeof *nv);

    if (!nv)
        return -1;
    *v = nv;
    nv[(*n)++] = s;
    return 0;
}

/* Appends a task whatever the queue's bound (mu held): for the small
 * post-data tasks that workers queue, which must never block. */
static void
push_locked(pg_restore *rs, rs_task *t)
{
    t->next = NULL;
    if (rs->tail)
        rs->tail->next = t;
    else
        rs->head = t;
    rs->tail = t;
    rs->queued++;
    pthread_cond_signal(&rs->cv_get);
}

/* A TASK_SQL owning text, or NULL (text freed) when out of memory. */
static rs_task *
sql_task(char *text, int post, size_t table)
{
    rs_task *t = text ? calloc(1, sizeof *t) : NULL;

    if (!t) {
        free(text);
        return NULL;
    }
    t->kind = TASK_SQL;
    t->data = text;
    t->post = post;
    t->table = table;
    return t;
}

/* Queues ANALYZE of table ti (mu held). */
static void
queue_analyze_locked(pg_restore *rs, size_t ti)
{
    es_buf sql = ES_BUF_INIT;
    rs_task *t;

    rs->tables[ti].post_state = POST_ANALYZING;
    es_buf_puts(&sql, "ANALYZE ");
    pg_buf_qname(&sql, rs->tables[ti].schema, rs->tables[ti].name);
    if (!(t = sql_task(es_buf_detach(&sql, NULL), POST_ANALYZING, ti))) {
        pg_err_set(&rs->err, ENVSYNC_ERR_OTHER, "out of memory");
        return;
    }
    push_locked(rs, t);
}

/* Queues the attachment of table ti's keys to the unique indexes built for
 * them, if any, else its ANALYZE (mu held). */
static void
queue_attach_locked(pg_restore *rs, size_t ti)
{
    rs_table *tb = &rs->tables[ti];
    rs_task *t;

    if (!tb->attach.len) {
        queue_analyze_locked(rs, ti);
        return;
    }
    tb->post_state = POST_ATTACHING;
    if (!(t = sql_task(es_buf_detach(&tb->attach, NULL), POST_ATTACHING, ti))) {
        pg_err_set(&rs->err, ENVSYNC_ERR_OTHER, "out of memory");
        return;
    }
    push_locked(rs, t);
}

/* Starts table ti's index and key builds once its data is complete (every
 * COPY done) and the post-data statements are known; ANALYZE follows the
 * last build (mu held).  So one table's indexes build while the next
 * table loads, instead of all of them after the whole load. */
static void
schedule_post_locked(pg_restore *rs, size_t ti)
{
    rs_table *tb = &rs->tables[ti];
    size_t i;

    if (!rs->post_known || !tb->data_done || tb->copies || tb->post_state != POST_WAITING)
        return;
    tb->post_state = POST_BUILDING;
    for (i = 0; i < tb->nstmts; i++) {
        char *text = tb->stmts[i];
        rs_task *t;

        tb->stmts[i] = NULL;
        /* ADD PRIMARY KEY / UNIQUE takes an ACCESS EXCLUSIVE lock for its
         * whole index build, so the table's other builds would wait for
         * it: build its index as a plain CREATE UNIQUE INDEX beside them
         * and attach the constraint to it afterwards (instant).  Not on a
         * partitioned parent, which cannot attach a key that way. */
        if (tb->had_data && text) {
            es_buf create = ES_BUF_INIT, attach = ES_BUF_INIT;
            int rc = pg_split_key_stmt(text, strlen(text), &create, &attach);
            if (rc > 0 && es_buf_append(&tb->attach, attach.data, attach.len) == 0 &&
                es_buf_puts(&tb->attach, "\n;\n") == 0) {
                free(text);
                text = es_buf_detach(&create, NULL);
                rs->keys_split++;
            }
            es_buf_free(&create);
            es_buf_free(&attach);
        }
        if (!(t = sql_task(text, POST_BUILDING, ti))) {
            pg_err_set(&rs->err, ENVSYNC_ERR_OTHER, "out of memory");
            return;
        }
        tb->builds++;
        rs->builds_total++;
        push_locked(rs, t);
    }
    if (!tb->builds)
        queue_attach_locked(rs, ti);
}

/* Bookkeeping after a worker ran (or skipped) t (mu held). */
static void
task_done_locked(pg_restore *rs, const rs_task *t)
{
    if (t->kind == TASK_COPY) {
        rs->tables[t->table].copies--;
        schedule_post_locked(rs, t->table);
    } else if (t->kind == TASK_SQL && t->post == POST_BUILDING && t->table != (size_t)-1) {
        if (--rs->tables[t->table].builds == 0)
            queue_attach_locked(rs, t->table);
    } else if (t->kind == TASK_SQL && t->post == POST_ATTACHING) {
        queue_analyze_locked(rs, t->table);
    } else if (t->kind == TASK_SQL && t->post == POST_ANALYZING) {
        rs->analyzed++;
    }
}

static void *
rs_worker(void *arg)
{
    pg_restore *rs = arg;
    PGconn *conn = pg_connect(&rs->s->c, rs->loaddb, &rs->err);
    size_t me;

    pthread_mutex_lock(&rs->mu);
    me = rs->nstarted++;
    if (conn)
        rs->cancels[me] = PQgetCancel(conn);
    pthread_mutex_unlock(&rs->mu);
    if (conn) {
        PGresult *res = PQexec(conn, "SET session_replication_role = replica");
        if (PQresultStatus(res) != PGRES_COMMAND_OK)
            pg_host->log(rs->ctx, ENVSYNC_LOG_DEBUG, "session_replication_role = replica "
                         "not permitted; loading without it");
        PQclear(res);
        pg_exec(conn, "SET synchronous_commit = off", &rs->err, "session settings");
        if (rs->s->c.maintenance_work_mem) {
            es_buf sql = ES_BUF_INIT;
            es_buf_puts(&sql, "SET maintenance_work_mem = ");
            pg_buf_literal(&sql, rs->s->c.maintenance_work_mem);
            pg_exec(conn, sql.data ? sql.data : "", &rs->err, "maintenance_work_mem");
            es_buf_free(&sql);
        }
    }
    for (;;) {
        rs_task *t;
        pthread_mutex_lock(&rs->mu);
        while (!rs->head && !rs->closing)
            pthread_cond_wait(&rs->cv_get, &rs->mu);
        t = rs->head;
        if (!t) {
            pthread_mutex_unlock(&rs->mu);
            break;
        }
        rs->head = t->next;
        if (!rs->head)
            rs->tail = NULL;
        rs->queued--;
        rs->busy++;
        pthread_cond_signal(&rs->cv_put);
        pthread_mutex_unlock(&rs->mu);

        if (conn && pg_err_get(&rs->err) == ENVSYNC_OK && !pg_host->cancelled(rs->ctx)) {
            if (t->kind == TASK_COPY)
                run_copy(rs, conn, t);
            else if (t->kind == TASK_SQL)
                run_sql(rs, conn, t);
            else
                run_count(rs, conn, t);
        }
        pthread_mutex_lock(&rs->mu);
        task_done_locked(rs, t);     /* may queue the table's next step */
        pool_put(rs, t);
        rs->busy--;
        if (!rs->head && rs->busy == 0)
            pthread_cond_broadcast(&rs->cv_idle);
        pthread_cond_broadcast(&rs->cv_put);
        pthread_mutex_unlock(&rs->mu);
        free_task(t);
    }
    PQfinish(conn);
    return NULL;
}

static envsync_status
start_workers(pg_restore *rs)
{
    size_t i, n = (size_t)rs->s->c.jobs;

    rs->threads = calloc(n, sizeof *rs->threads);
    rs->cancels = calloc(n, sizeof *rs->cancels);
    if (!rs->threads || !rs->cancels)
        return pg_host->error(rs->ctx, ENVSYNC_ERR_OTHER, "out of memory");
    /* memory: (cap + jobs) chunks at most.  Reading and decompressing the
     * next entry is much quicker than loading one, so a short queue keeps
     * every worker busy. */
    rs->cap = 1 + n / 4;
    /* the chunks in flight: queued, loading, and the one being copied */
    es_chunkpool_set_keep(&rs->pool, rs->cap + n + 1);
    for (i = 0; i < n; i++) {
        if (pthread_create(&rs->threads[i], NULL, rs_worker, rs) != 0)
            return pg_host->error(rs->ctx, ENVSYNC_ERR_OTHER, "cannot start worker thread");
        rs->nthreads++;
    }
    return ENVSYNC_OK;
}

static void
stop_workers(pg_restore *rs)
{
    size_t i;

    pthread_mutex_lock(&rs->mu);
    rs->closing = 1;
    pthread_cond_broadcast(&rs->cv_get);
    pthread_mutex_unlock(&rs->mu);
    for (i = 0; i < rs->nthreads; i++)
        pthread_join(rs->threads[i], NULL);
    for (i = 0; i < rs->nstarted; i++)
        if (rs->cancels[i])
            PQfreeCancel(rs->cancels[i]);
    rs->nthreads = rs->nstarted = 0;
    free(rs->threads);
    free(rs->cancels);
    rs->threads = NULL;
    rs->cancels = NULL;
}

/* Interrupts whatever the workers run (the run was cancelled). */
static void
cancel_workers(pg_restore *rs)
{
    char buf[256];
    size_t i;

    pthread_mutex_lock(&rs->mu);
    for (i = 0; i < rs->nstarted; i++)
        if (rs->cancels[i])
            PQcancel(rs->cancels[i], buf, sizeof buf);
    pthread_mutex_unlock(&rs->mu);
}

/* Waits (rs->mu held) until the queue has room, the run failed or the
 * workers are gone; the run's status. */
static envsync_status
wait_room_locked(pg_restore *rs)
{
    envsync_status st;

    while (rs->queued >= rs->cap && pg_err_get(&rs->err) == ENVSYNC_OK && rs->nthreads) {
        struct timespec ts;
        envsync_status cst;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 200 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&rs->cv_put, &rs->mu, &ts);
        if ((cst = pg_host->cancelled(rs->ctx)) != ENVSYNC_OK) {
            pthread_mutex_unlock(&rs->mu);
            pg_err_set(&rs->err, cst, "restore cancelled");
            cancel_workers(rs);
            pthread_mutex_lock(&rs->mu);
        }
    }
    st = pg_err_get(&rs->err);
    if (st == ENVSYNC_OK && !rs->nthreads)
        st = ENVSYNC_ERR_OTHER;
    return st;
}

/* Before copying a chunk: wait for room first, so that the copy is not
 * one more chunk held in memory while the queue is full. */
static envsync_status
wait_room(pg_restore *rs)
{
    envsync_status st;

    pthread_mutex_lock(&rs->mu);
    st = wait_room_locked(rs);
    pthread_mutex_unlock(&rs->mu);
    return st;
}

/* Queues a task; blocks while the queue is full.  Takes ownership. */
static envsync_status
enqueue(pg_restore *rs, rs_task *t)
{
    envsync_status st;

    pthread_mutex_lock(&rs->mu);
    if ((st = wait_room_locked(rs)) != ENVSYNC_OK) {
        pthread_mutex_unlock(&rs->mu);
        free_task(t);
        return st;
    }
    if (t->kind == TASK_COPY)
        rs->tables[t->table].copies++;
    push_locked(rs, t);
    pthread_mutex_unlock(&rs->mu);
    return ENVSYNC_OK;
}

/* Waits until every queued task ran; the first failure, if any. */
static envsync_status
wait_idle(pg_restore *rs)
{
    envsync_status st;
    int cancelled = 0;

    pthread_mutex_lock(&rs->mu);
    while ((rs->head || rs->busy) && rs->nthreads) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 200 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&rs->cv_idle, &rs->mu, &ts);
        if (!cancelled && (st = pg_host->cancelled(rs->ctx)) != ENVSYNC_OK) {
            /* long index builds: interrupt them rather than wait */
            cancelled = 1;
            pthread_mutex_unlock(&rs->mu);
            pg_err_set(&rs->err, st, "restore cancelled");
            cancel_workers(rs);
            pthread_mutex_lock(&rs->mu);
        }
    }
    pthread_mutex_unlock(&rs->mu);
    return pg_err_get(&rs->err);
}

/* ---------------------------------------------------------------- helpers */

static envsync_status
fail(pg_restore *rs)
{
    envsync_status st = pg_err_report(&rs->err, rs->ctx);
    return st != ENVSYNC_OK ? st : pg_host->error(rs->ctx, ENVSYNC_ERR_OTHER, "restore failed");
}

/* Runs p1 "id1" p2 ["id2" p3] on the maintenance connection. */
static int
maint_exec(pg_restore *rs, const char *what, const char *p1, const char *id1, const char *p2,
           const char *id2, const char *p3)
{
    es_buf sql = ES_BUF_INIT;
    int rc;

    es_buf_puts(&sql, p1);
    pg_buf_ident(&sql, id1);
    es_buf_puts(&sql, p2);
    if (id2) {
        pg_buf_ident(&sql, id2);
        es_buf_puts(&sql, p3 ? p3 : "");
    }
    rc = pg_exec(rs->maint, sql.data ? sql.data : "", &rs->err, what);
    es_buf_free(&sql);
    return rc;
}

static int
db_exists(pg_restore *rs, const char *name, int *allowconn)
{
    const char *params[1] = { name };
    PGresult *res = PQexecParams(rs->maint, "SELECT datallowconn FROM pg_catalog.pg_database"
                                 " WHERE datname = $1", 1, NULL, params, NULL, NULL, 0);
    int n = -1;

    if (PQresultStatus(res) == PGRES_TUPLES_OK) {
        n = PQntuples(res);
        if (n > 0 && allowconn)
            *allowconn = PQgetvalue(res, 0, 0)[0] == 't';
    } else {
        char msg[PG_ERRLEN];
        pg_err_set(&rs->err, pg_classify(rs->maint, res), "reading pg_database: %s",
                   pg_message(rs->maint, res, msg, sizeof msg));
    }
    PQclear(res);
    return n;
}

static envsync_status
ensure_maint(pg_restore *rs)
{
    if (rs->maint && PQstatus(rs->maint) == CONNECTION_OK)
        return ENVSYNC_OK;
    PQfinish(rs->maint);
    rs->maint = pg_connect(&rs->s->c, rs->s->c.maintenance_db, &rs->err);
    return rs->maint ? ENVSYNC_OK : ENVSYNC_ERR_CONNECT;
}

static int
drop_db(pg_restore *rs, const char *name, const char *what)
{
    return maint_exec(rs, what, "DROP DATABASE IF EXISTS ", name, " WITH (FORCE)", NULL, NULL);
}

/* ---------------------------------------------------------------- begin */

envsync_status
pg_restore_begin(envsync_ctx *ctx, void *state)
{
    pg_state *s = state;
    pg_restore *rs;
    const char *engine = pg_host->artifact_engine(ctx);
    int allow = 1;

    if (pg_host->is_production(ctx) && !pg_host->allow_production(ctx))
        return pg_host->error(ctx, ENVSYNC_ERR_REFUSED,
                              "environment \"%s\" is production: refusing to restore into "
                              "database \"%s\" (set envsync.allow_production_restore = true "
                              "to allow it)", pg_host->environment(ctx), s->c.dbname);
    if (engine && strcmp(engine, PG_ENGINE) != 0)
        return pg_host->error(ctx, ENVSYNC_ERR_REFUSED,
                              "the artifact holds a \"%s\" backup; the postgres plugin "
                              "restores only \"%s\" artifacts", engine, PG_ENGINE);
    if (strcmp(s->c.dbname, s->c.maintenance_db) == 0)
        return pg_host->error(ctx, ENVSYNC_ERR_CONFIG,
                              "%s: cannot restore into \"%s\", the maintenance database "
                              "(set maintenance_db to another database)",
                              pg_host->opt_where(ctx, "database"), s->c.dbname);
    pg_restore_free(s->rs);
    rs = s->rs = calloc(1, sizeof *rs);
    if (!rs)
        return pg_host->error(ctx, ENVSYNC_ERR_OTHER, "out of memory");
    rs->ctx = ctx;
    rs->s = s;
    pthread_mutex_init(&rs->mu, NULL);
    es_chunkpool_init(&rs->pool, 0);
    pthread_cond_init(&rs->cv_put, NULL);
    pthread_cond_init(&rs->cv_get, NULL);
    pthread_cond_init(&rs->cv_idle, NULL);
    pg_err_init(&rs->err);
    snprintf(rs->target, sizeof rs->target, "%s", s->c.dbname);
    snprintf(rs->newdb, sizeof rs->newdb, "%s%s", s->c.dbname, PG_NEW_SUFFIX);
    snprintf(rs->olddb, sizeof rs->olddb, "%s%s", s->c.dbname, PG_OLD_SUFFIX);
    rs->replace = strcmp(s->c.mode, "replace") == 0;
    rs->loaddb = rs->replace ? rs->target : rs->newdb;
    s->c.client_encoding = NULL;

    if (ensure_maint(rs) != ENVSYNC_OK)
        return fail(rs);
    /* leftovers of a killed run */
    if (db_exists(rs, rs->newdb, NULL) > 0) {
        pg_host->log(ctx, ENVSYNC_LOG_WARN, "dropping leftover database \"%s\" of an "
                     "earlier run", rs->newdb);
        if (db_exists(rs, rs->target, &allow) > 0 && !allow) {
            /* a run killed in the middle of its swap refused connections */
            pg_host->log(ctx, ENVSYNC_LOG_WARN, "database \"%s\" refuses connections "
                         "(left so by an interrupted swap): allowing them again", rs->target);
            maint_exec(rs, "re-allowing connections", "ALTER DATABASE ", rs->target, " WITH ALLOW_CONNECTIONS true", NULL, NULL);
        }
        if (drop_db(rs, rs->newdb, "dropping the leftover database") != 0)
            return fail(rs);
    }
    if (!s->c.keep_previous && db_exists(rs, rs->olddb, NULL) > 0) {
        pg_host->log(ctx, ENVSYNC_LOG_WARN, "dropping leftover database \"%s\"", rs->olddb);
        if (drop_db(rs, rs->olddb, "dropping the leftover database") != 0)
            return fail(rs);
    }
    if (pg_err_get(&rs->err))
        return fail(rs);
    return ENVSYNC_OK;
}

/* ---------------------------------------------------------------- entries */

static envsync_status
read_meta(pg_restore *rs, const void *data, size_t len)
{
    json_error_t jerr;
    json_t *o = json_loadb(data, len, 0, &jerr), *v;
    json_int_t format;
    envsync_status st;

    if (!o || !json_is_object(o)) {
        json_decref(o);
        return pg_host->error(rs->ctx, ENVSYNC_ERR_INTEGRITY,
                              "META database entry is not a JSON object: %s", jerr.text);
    }
    format = json_integer_value(json_object_get(o, "format"));
    if (format > PG_META_FORMAT) {
        json_decref(o);
        return pg_host->error(rs->ctx, ENVSYNC_ERR_REFUSED,
                              "the artifact's postgres metadata is format %lld; this plugin "
                              "reads format %d and older: upgrade envsync", (long long)format,
                              PG_META_FORMAT);
    }
#define GET(field, key) do { v = json_object_get(o, key); free(rs->field); \
        rs->field = json_is_string(v) ? strdup(json_string_value(v)) : NULL; } while (0)
    GET(encoding, "encoding");
    GET(lc_collate, "lc_collate");
    GET(lc_ctype, "lc_ctype");
    GET(provider, "locale_provider");
    GET(icu_locale, "icu_locale");
#undef GET
    v = json_object_get(o, "server_version");
    pg_host->log(rs->ctx, ENVSYNC_LOG_INFO, "source: PostgreSQL %s, encoding %s, collation %s",
                 json_is_string(v) ? json_string_value(v) : "?",
                 rs->encoding ? rs->encoding : "?", rs->lc_collate ? rs->lc_collate : "?");
    pg_dbsettings_free(rs->dbsettings);
    st = pg_dbsettings_read(rs->ctx, &rs->s->c, rs->maint, o, &rs->dbsettings);
    json_decref(o);
    return st;
}

static envsync_status
ensure_db(pg_restore *rs)
{
    const pg_conf *c = &rs->s->c;
    const char *enc = c->encoding ? c->encoding : rs->encoding;
    const char *coll = c->lc_collate ? c->lc_collate : rs->lc_collate;
    const char *ctype = c->lc_ctype ? c->lc_ctype : rs->lc_ctype;
    es_buf sql = ES_BUF_INIT;
    int rc;

    if (rs->created)
        return ENVSYNC_OK;
    if (rs->replace) {
        pg_host->log(rs->ctx, ENVSYNC_LOG_WARN, "mode replace: dropping database \"%s\" "
                     "and loading into it in place (not atomic)", rs->target);
        if (drop_db(rs, rs->target, "dropping the target (mode replace)") != 0)
            return fail(rs);
    }
    es_buf_puts(&sql, "CREATE DATABASE ");
    pg_buf_ident(&sql, rs->loaddb);
    es_buf_puts(&sql, " TEMPLATE ");
    pg_buf_ident(&sql, c->template_db);
    if (enc) {
        es_buf_puts(&sql, " ENCODING ");
        pg_buf_literal(&sql, enc);
    }
    if (coll) {
        es_buf_puts(&sql, " LC_COLLATE ");
        pg_buf_literal(&sql, coll);
    }
    if (ctype) {
        es_buf_puts(&sql, " LC_CTYPE ");
        pg_buf_literal(&sql, ctype);
    }
    if (rs->provider && strcmp(rs->provider, "i") == 0 && rs->icu_locale &&
        PQserverVersion(rs->maint) >= 150000) {
        es_buf_puts(&sql, " LOCALE_PROVIDER icu ICU_LOCALE ");
        pg_buf_literal(&sql, rs->icu_locale);
    }
    rc = pg_exec(rs->maint, sql.data ? sql.data : "", &rs->err, "creating the new database");
    es_buf_free(&sql);
    if (rc != 0) {
        char tmp[PG_ERRLEN];
        snprintf(tmp, sizeof tmp, "%s", rs->err.msg);
        return pg_host->error(rs->ctx, rs->err.st, "database \"%s\": %s", rs->loaddb, tmp);
    }
    rs->created = 1;
    pg_host->log(rs->ctx, ENVSYNC_LOG_INFO, "created database \"%s\" (%s)", rs->loaddb,
                 enc ? enc : "default encoding");
    rs->s->c.client_encoding = enc;
    rs->db = pg_connect(c, rs->loaddb, &rs->err);
    if (!rs->db)
        return fail(rs);
    return start_workers(rs);
}

/* Statements run one by one, or (batch) up to BATCH_STMTS at a time in
 * one multi-statement query: one round trip instead of hundreds for
 * pg_dump's many small statements.  A multi-statement query is one
 * implicit transaction, so a failed batch left nothing behind and is
 * replayed one statement at a time to name the statement that fails
 * (or to run one that refuses to share a query string). */
#define BATCH_STMTS 200
#define BATCH_BYTES ((size_t)1 << 20)

typedef struct exec_ctx {
    pg_restore *rs;
    PGconn *conn;
    const char *what;
    uint64_t n;
    int batch;
    es_buf buf;                  /* batched statements, "\n;\n"-separated */
    size_t count;
    uint64_t first_n;            /* number of the batch's first statement */
} exec_ctx;

static int exec_stmt(void *arg, const char *stmt, size_t len);

static int
exec_flush(exec_ctx *x)
{
    PGresult *res;
    ExecStatusType s;
    exec_ctx one;
    int rc;

    if (!x->count)
        return 0;
    res = PQexec(x->conn, x->buf.data);
    s = PQresultStatus(res);
    PQclear(res);
    if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK || s == PGRES_EMPTY_QUERY) {
        es_buf_reset(&x->buf);
        x->count = 0;
        return 0;
    }
    if (PQstatus(x->conn) == CONNECTION_BAD)
        return pg_err_set(&x->rs->err, ENVSYNC_ERR_CONNECT, "%s: connection lost", x->what);
    memset(&one, 0, sizeof one);
    one.rs = x->rs;
    one.conn = x->conn;
    one.what = x->what;
    one.n = x->first_n - 1;
    rc = pg_split_sql(x->buf.data, x->buf.len, exec_stmt, &one);
    es_buf_reset(&x->buf);
    x->count = 0;
    return rc;
}

static int
exec_stmt(void *arg, const char *stmt, size_t len)
{
    exec_ctx *x = arg;
    char *sql, msg[PG_ERRLEN];
    PGresult *res;
    ExecStatusType s;

    x->n++;
    if ((x->rs->s->c.no_owner && pg_is_owner_stmt(stmt, len)) ||
        (x->rs->s->c.no_privileges && pg_is_privilege_stmt(stmt, len)))
        return 0;
    if (x->batch) {
        if (!x->count)
            x->first_n = x->n;
        if (es_buf_append(&x->buf, stmt, len) != 0 || es_buf_puts(&x->buf, "\n;\n") != 0)
            return pg_err_set(&x->rs->err, ENVSYNC_ERR_OTHER, "out of memory");
        if (++x->count >= BATCH_STMTS || x->buf.len >= BATCH_BYTES)
            return exec_flush(x);
        return 0;
    }
    sql = strndup(stmt, len);
    if (!sql)
        return pg_err_set(&x->rs->err, ENVSYNC_ERR_OTHER, "out of memory");
    if (pg_host->cancelled(x->rs->ctx)) {
        free(sql);
        return pg_err_set(&x->rs->err, pg_host->cancelled(x->rs->ctx), "cancelled");
    }
    res = PQexec(x->conn, sql);
    s = PQresultStatus(res);
    if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK) {
        envsync_status st = pg_err_set(&x->rs->err, pg_classify(x->conn, res),
                                       "%s statement %" PRIu64 " \"%.160s\": %s", x->what,
                                       x->n, sql, pg_message(x->conn, res, msg, sizeof msg));
        PQclear(res);
        free(sql);
        return st;
    }
    PQclear(res);
    free(sql);
    return 0;
}

static envsync_status
exec_script(pg_restore *rs, PGconn *conn, const char *what, const char *sql, size_t len,
            int batch)
{
    exec_ctx x;

    memset(&x, 0, sizeof x);
    x.rs = rs;
    x.conn = conn;
    x.what = what;
    x.batch = batch;
    if (pg_split_sql(sql, len, exec_stmt, &x) != 0 || exec_flush(&x) != 0) {
        es_buf_free(&x.buf);
        return fail(rs);
    }
    es_buf_free(&x.buf);
    pg_host->log(rs->ctx, ENVSYNC_LOG_DEBUG, "%s: %" PRIu64 " statements", what, x.n);
    return ENVSYNC_OK;
}

/* Autovacuum would vacuum and analyze the freshly loaded tables while
 * their indexes and keys are built, and its lock holds those statements up
 * (for up to deadlock_timeout, when it is cancelled).  So it is switched
 * off on the new database's tables until just before the swap; a table
 * whose source set autovacuum_enabled itself keeps that setting. */
static envsync_status
autovacuum_hold(pg_restore *rs)
{
    es_buf sql = ES_BUF_INIT;
    PGresult *res;
    envsync_status st = ENVSYNC_OK;
    int i, n;

    res = pg_query(rs->db, "SELECT pg_catalog.format('%I.%I', n.nspname, c.relname)"
                   " FROM pg_catalog.pg_class c"
                   " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
                   " WHERE c.relkind = 'r' AND n.nspname <> 'information_schema'"
                   " AND n.nspname !~ '^pg_' AND NOT EXISTS (SELECT 1 FROM"
                   " pg_catalog.unnest(c.reloptions) o WHERE o LIKE 'autovacuum\\_enabled=%')",
                   &rs->err, "listing the new tables");
    if (!res)
        return fail(rs);
    n = PQntuples(res);
    for (i = 0; i < n; i++) {
        es_buf_printf(&sql, "ALTER TABLE %s SET (autovacuum_enabled = false)\n;\n",
                      PQgetvalue(res, i, 0));
        es_buf_printf(&rs->autovac, "ALTER TABLE IF EXISTS %s RESET (autovacuum_enabled)\n;\n",
                      PQgetvalue(res, i, 0));
    }
    PQclear(res);
    if (sql.len)
        st = exec_script(rs, rs->db, "autovacuum off while loading", sql.data, sql.len, 1);
    es_buf_free(&sql);
    return st;
}

static envsync_status
autovacuum_release(pg_restore *rs)
{
    envsync_status st = ENVSYNC_OK;

    if (rs->autovac.len)
        st = exec_script(rs, rs->db, "autovacuum back on", rs->autovac.data, rs->autovac.len, 1);
    es_buf_reset(&rs->autovac);
    return st;
}

static envsync_status
restore_blob(pg_restore *rs, const envsync_entry *e, const void *data, size_t len)
{
    const char *owner = NULL, *offset = "0";
    char msg[PG_ERRLEN];
    size_t i;
    PGresult *res;

    for (i = 0; i < e->nattrs; i++) {
        if (strcmp(e->attrs[i].key, "owner") == 0)
            owner = e->attrs[i].value;
        else if (strcmp(e->attrs[i].key, "offset") == 0)
            offset = e->attrs[i].value;
    }
    if (!e->object)
        return pg_host->error(rs->ctx, ENVSYNC_ERR_INTEGRITY, "BLOB entry without an object");
    if (e->seq == 0) {
        const char *p[1] = { e->object };
        res = PQexecParams(rs->db, "SELECT pg_catalog.lo_create($1::pg_catalog.oid)", 1,
                           NULL, p, NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_TUPLES_OK) {
            envsync_status st = pg_classify(rs->db, res);
            pg_message(rs->db, res, msg, sizeof msg);
            PQclear(res);
            return pg_host->error(rs->ctx, st, "large object %s: %s", e->object, msg);
        }
        PQclear(res);
        if (owner && *owner && !rs->s->c.no_owner) {
            es_buf sql = ES_BUF_INIT;
            es_buf_printf(&sql, "ALTER LARGE OBJECT %s OWNER TO ", e->object);
            pg_buf_ident(&sql, owner);
            res = PQexec(rs->db, sql.data ? sql.data : "");
            if (PQresultStatus(res) != PGRES_COMMAND_OK)
                pg_host->log(rs->ctx, ENVSYNC_LOG_WARN, "large object %s: owner %s not set: %s",
                             e->object, owner, pg_message(rs->db, res, msg, sizeof msg));
            PQclear(res);
            es_buf_free(&sql);
        }
    }
    if (len > 0) {
        const char *p[3] = { e->object, offset, data };
        int lens[3] = { 0, 0, (int)len }, fmts[3] = { 0, 0, 1 };
        res = PQexecParams(rs->db, "SELECT pg_catalog.lo_put($1::pg_catalog.oid,"
                           " $2::pg_catalog.int8, $3::pg_catalog.bytea)", 3, NULL, p, lens,
                           fmts, 0);
        if (PQresultStatus(res) != PGRES_TUPLES_OK) {
            envsync_status st = pg_classify(rs->db, res);
            pg_message(rs->db, res, msg, sizeof msg);
            PQclear(res);
            return pg_host->error(rs->ctx, st, "large object %s: %s", e->object, msg);
        }
        PQclear(res);
    }
    pg_host->progress(rs->ctx, len, 0);
    return ENVSYNC_OK;
}

/* Post-data's parallel statements (index and key builds) go to their
 * tables, to start when each table's data is complete; the rest stays in
 * rs->post for finish, in order. */
static int
distribute_stmt(void *arg, const char *stmt, size_t len)
{
    pg_restore *rs = arg;
    char schema[256], name[256], *text;
    size_t ti = (size_t)-1;

    if (!pg_is_parallel_stmt(stmt, len))
        return 0;
    if (!(text = strndup(stmt, len)))
        return -1;
    if (pg_parallel_target(stmt, len, schema, sizeof schema, name, sizeof name) == 0 &&
        (ti = table_index(rs, schema, name)) == (size_t)-1) {
        free(text);
        return -1;
    }
    pthread_mutex_lock(&rs->mu);
    if (ti != (size_t)-1 && rs->tables[ti].post_state == POST_WAITING) {
        rs_table *tb = &rs->tables[ti];
        if (strv_push(&tb->stmts, &tb->nstmts, text) == 0)
            text = NULL;
    } else if (strv_push(&rs->orphans, &rs->norphans, text) == 0) {
        text = NULL;
    }
    pthread_mutex_unlock(&rs->mu);
    if (text) {
        free(text);
        return -1;
    }
    return 0;
}

static envsync_status
distribute_post(pg_restore *rs, const void *data, size_t len)
{
    size_t i;

    if (pg_split_sql(data, len, distribute_stmt, rs) != 0)
        return pg_host->error(rs->ctx, ENVSYNC_ERR_OTHER, "out of memory");
    pthread_mutex_lock(&rs->mu);
    rs->post_known = 1;
    for (i = 0; i < rs->ntables; i++)
        schedule_post_locked(rs, i);
    pthread_mutex_unlock(&rs->mu);
    return pg_err_get(&rs->err) ? fail(rs) : ENVSYNC_OK;
}

static int
append_sql(es_buf *b, const void *data, size_t len)
{
    if (es_buf_append(b, data, len) != 0)
        return -1;
    return es_buf_puts(b, "\n;\n");
}

envsync_status
pg_restore_entry(envsync_ctx *ctx, void *state, const envsync_entry *e, const void *data,
                 size_t len)
{
    pg_state *s = state;
    pg_restore *rs = s->rs;
    envsync_status st;
    const char *sect = e->section ? e->section : "";

    if (!rs)
        return pg_host->error(ctx, ENVSYNC_ERR_OTHER, "restore_entry before restore_begin");
    if ((st = pg_err_get(&rs->err)) != ENVSYNC_OK)
        return fail(rs);
    if ((st = pg_host->cancelled(ctx)) != ENVSYNC_OK)
        return st;
    switch (e->kind) {
    case ENVSYNC_ENTRY_META:
        if (e->object && strcmp(e->object, "database") == 0) {
            if (rs->created) {
                pg_host->log(ctx, ENVSYNC_LOG_WARN, "META database entry after the database "
                             "was created: ignored");
                return ENVSYNC_OK;
            }
            return read_meta(rs, data, len);
        }
        pg_host->log(ctx, ENVSYNC_LOG_DEBUG, "META %s: ignored", e->object ? e->object : "?");
        return ENVSYNC_OK;
    case ENVSYNC_ENTRY_SCHEMA:
        if (strcmp(sect, "pre-data") == 0) {
            if ((st = ensure_db(rs)) != ENVSYNC_OK)
                return st;
            if ((st = exec_script(rs, rs->db, "pre-data", data, len, 1)) != ENVSYNC_OK)
                return st;
            return autovacuum_hold(rs);
        }
        if (strcmp(sect, "post-data") == 0) {
            if (append_sql(&rs->post, data, len) != 0)
                return pg_host->error(ctx, ENVSYNC_ERR_OTHER, "out of memory");
            return distribute_post(rs, data, len);
        }
        return pg_host->error(ctx, ENVSYNC_ERR_INTEGRITY, "SCHEMA entry with unknown section "
                              "\"%s\"", sect);
    case ENVSYNC_ENTRY_DATA: {
        rs_task *t;
        size_t ti;
        if (!e->schema || !e->object)
            return pg_host->error(ctx, ENVSYNC_ERR_INTEGRITY, "DATA entry without schema "
                                  "and table names");
        if ((st = ensure_db(rs)) != ENVSYNC_OK)
            return st;
        ti = table_index(rs, e->schema, e->object);
        if (ti == (size_t)-1)
            return pg_host->error(ctx, ENVSYNC_ERR_OTHER, "out of memory");
        pthread_mutex_lock(&rs->mu);
        rs->tables[ti].had_data = 1;
        pthread_mutex_unlock(&rs->mu);
        if (len == 0 && e->rows == 0) {
            /* end of the table's data (or an empty table) */
            pthread_mutex_lock(&rs->mu);
            rs->tables[ti].data_done = 1;
            schedule_post_locked(rs, ti);
            pthread_mutex_unlock(&rs->mu);
            return ENVSYNC_OK;
        }
        if ((st = wait_room(rs)) != ENVSYNC_OK)
            return fail(rs);
        t = calloc(1, sizeof *t);
        /* Chunk copies of 1 MiB and more are mapped buffers from a pool
         * bounded by the chunks in flight (lib/chunkpool.h: why not
         * malloc, why not a fresh mapping each). */
        if (t && len >= ((size_t)1 << 20)) {
            t->data = es_chunk_get(&rs->pool, len, &t->mapped);
        } else if (t) {
            t->data = malloc(len ? len : 1);
        }
        if (!t || !t->data || !(t->columns = strdup(e->columns ? e->columns : ""))) {
            free_task(t);
            return pg_host->error(ctx, ENVSYNC_ERR_OTHER, "out of memory");
        }
        memcpy(t->data, data, len);
        t->kind = TASK_COPY;
        t->len = len;
        t->rows = e->rows;
        t->seq = e->seq;
        t->table = ti;
        if (enqueue(rs, t) != ENVSYNC_OK)
            return fail(rs);
        return ENVSYNC_OK;
    }
    case ENVSYNC_ENTRY_BLOB:
        if ((st = ensure_db(rs)) != ENVSYNC_OK)
            return st;
        return restore_blob(rs, e, data, len);
    case ENVSYNC_ENTRY_POSTLOAD: {
        es_buf *b = strcmp(sect, "sequences") == 0 ? &rs->seqs
                    : strcmp(sect, "refresh") == 0 ? &rs->refresh : &rs->user;
        if (append_sql(b, data, len) != 0)
            return pg_host->error(ctx, ENVSYNC_ERR_OTHER, "out of memory");
        return ENVSYNC_OK;
    }
    default:
        return pg_host->error(ctx, ENVSYNC_ERR_INTEGRITY, "unexpected entry kind %d for a "
                              "PostgreSQL restore (%s)", (int)e->kind,
                              e->object ? e->object : "");
    }
}

/* ---------------------------------------------------------------- finish */

typedef struct post_ctx {
    pg_restore *rs;
    exec_ctx ex;                 /* batched */
    es_buf add, validate;        /* a foreign key, split (pg_split_fk_stmt) */
    char **validates;            /* VALIDATE CONSTRAINT statements, for later */
    size_t nvalidates;
} post_ctx;

static int
post_stmt(void *arg, const char *stmt, size_t len)
{
    post_ctx *x = arg;
    int r;

    if (pg_is_parallel_stmt(stmt, len)) {
        x->ex.n++;               /* keep statement numbers as in the text */
        return 0;
    }
    /* foreign keys: added NOT VALID in order, checked in parallel after */
    if ((r = pg_split_fk_stmt(stmt, len, &x->add, &x->validate)) != 0) {
        char *v = r > 0 ? strdup(x->validate.data) : NULL;
        if (!v || strv_push(&x->validates, &x->nvalidates, v) != 0) {
            free(v);
            return pg_err_set(&x->rs->err, ENVSYNC_ERR_OTHER, "out of memory");
        }
        return exec_stmt(&x->ex, x->add.data, x->add.len);
    }
    return exec_stmt(&x->ex, stmt, len);
}

static void
post_ctx_free(post_ctx *x)
{
    es_buf_free(&x->ex.buf);
    es_buf_free(&x->add);
    es_buf_free(&x->validate);
    free_strv(x->validates, x->nvalidates);
}

/* The foreign keys' checks, on the worker connections. */
static envsync_status
validate_fks(pg_restore *rs, post_ctx *x)
{
    size_t i;

    for (i = 0; i < x->nvalidates; i++) {
        rs_task *t = sql_task(x->validates[i], 0, (size_t)-1);
        x->validates[i] = NULL;
        if (!t)
            return pg_host->error(rs->ctx, ENVSYNC_ERR_OTHER, "out of memory");
        if (enqueue(rs, t) != ENVSYNC_OK)
            return fail(rs);
    }
    if (wait_idle(rs) != ENVSYNC_OK)
        return fail(rs);
    if (x->nvalidates)
        pg_host->log(rs->ctx, ENVSYNC_LOG_INFO, "post-data: %zu foreign keys added NOT VALID, "
                     "then validated on %lld connections", x->nvalidates,
                     (long long)rs->s->c.jobs);
    return ENVSYNC_OK;
}

/* The index and key builds not started during the load (tables without an
 * end-of-data entry, statements whose table is not known), every table's
 * ANALYZE, then the rest of post-data in order on one connection. */
static envsync_status
run_post_data(pg_restore *rs)
{
    post_ctx x;
    uint64_t early;
    size_t i;
    envsync_status st;

    pthread_mutex_lock(&rs->mu);
    early = rs->builds_total;
    rs->post_known = 1;
    for (i = 0; i < rs->ntables; i++) {
        rs->tables[i].data_done = 1;
        schedule_post_locked(rs, i);
    }
    for (i = 0; i < rs->norphans; i++) {
        rs_task *t = sql_task(rs->orphans[i], POST_BUILDING, (size_t)-1);
        rs->orphans[i] = NULL;
        if (!t) {
            pg_err_set(&rs->err, ENVSYNC_ERR_OTHER, "out of memory");
            break;
        }
        rs->builds_total++;
        push_locked(rs, t);
    }
    rs->norphans = 0;
    pthread_mutex_unlock(&rs->mu);
    if (wait_idle(rs))
        return fail(rs);
    pg_host->log(rs->ctx, ENVSYNC_LOG_INFO, "post-data: %" PRIu64 " index and key builds on "
                 "%lld connections (%" PRIu64 " started during the load, %" PRIu64
                 " keys built as unique indexes and attached), %" PRIu64 " tables analyzed",
                 rs->builds_total, (long long)rs->s->c.jobs, early, rs->keys_split,
                 rs->analyzed);
    if (!rs->post.len)
        return ENVSYNC_OK;
    memset(&x, 0, sizeof x);
    x.rs = rs;
    x.ex.rs = rs;
    x.ex.conn = rs->db;
    x.ex.what = "post-data";
    x.ex.batch = 1;
    if (pg_split_sql(rs->post.data, rs->post.len, post_stmt, &x) != 0 ||
        exec_flush(&x.ex) != 0) {
        post_ctx_free(&x);
        return fail(rs);
    }
    st = validate_fks(rs, &x);
    post_ctx_free(&x);
    return st;
}

static envsync_status
check_counts(pg_restore *rs)
{
    size_t i;

    for (i = 0; i < rs->ntables; i++) {
        rs_table *t = &rs->tables[i];
        uint64_t rows;
        if (pg_host->expected_rows(rs->ctx, t->schema, t->name, &rows) != 0) {
            pg_host->log(rs->ctx, ENVSYNC_LOG_DEBUG, "table %s.%s: not in the manifest",
                         t->schema, t->name);
            continue;
        }
        t->expected = rows;
        t->has_expected = 1;
        if (t->loaded != rows)
            return pg_host->error(rs->ctx, ENVSYNC_ERR_INTEGRITY, "table %s.%s: loaded %" PRIu64
                                  " rows, the manifest expects %" PRIu64, t->schema, t->name,
                                  t->loaded, rows);
    }
    if (!rs->s->c.verify_counts)
        return ENVSYNC_OK;
    for (i = 0; i < rs->ntables; i++) {
        rs_task *t;
        if (!rs->tables[i].has_expected)
            continue;
        t = calloc(1, sizeof *t);
        if (!t)
            return pg_host->error(rs->ctx, ENVSYNC_ERR_OTHER, "out of memory");
        t->kind = TASK_COUNT;
        t->table = i;
        if (enqueue(rs, t) != ENVSYNC_OK)
            return fail(rs);
    }
    if (wait_idle(rs) != ENVSYNC_OK)
        return fail(rs);
    pg_host->log(rs->ctx, ENVSYNC_LOG_INFO, "row counts of %zu tables match the manifest",
                 rs->ntables);
    return ENVSYNC_OK;
}

static envsync_status
analyze(pg_restore *rs)
{
    size_t i;

    for (i = 0; i < rs->ntables; i++) {
        rs_task *t = calloc(1, sizeof *t);
        es_buf sql = ES_BUF_INIT;
        if (!t)
            return pg_host->error(rs->ctx, ENVSYNC_ERR_OTHER, "out of memory");
        es_buf_puts(&sql, "ANALYZE ");
        pg_buf_qname(&sql, rs->tables[i].schema, rs->tables[i].name);
        t->kind = TASK_SQL;
        t->post = POST_ANALYZING;
        t->data = es_buf_detach(&sql, NULL);
        if (enqueue(rs, t) != ENVSYNC_OK)
            return fail(rs);
    }
    if (wait_idle(rs) != ENVSYNC_OK)
        return fail(rs);
    return ENVSYNC_OK;
}

static void
terminate_sessions(pg_restore *rs, const char *db)
{
    const char *params[1] = { db };
    PGresult *res = PQexecParams(rs->maint, "SELECT pid FROM pg_catalog.pg_stat_activity"
                                 " WHERE datname = $1 AND pid <> pg_catalog.pg_backend_pid()",
                                 1, NULL, params, NULL, NULL, 0);
    int i;

    if (PQresultStatus(res) == PGRES_TUPLES_OK) {
        for (i = 0; i < PQntuples(res); i++) {
            const char *p[1] = { PQgetvalue(res, i, 0) };
            PGresult *r2 = PQexecParams(rs->maint, "SELECT pg_catalog.pg_terminate_backend($1::int)",
                                        1, NULL, p, NULL, NULL, 0);
            if (PQresultStatus(r2) != PGRES_TUPLES_OK) {
                char msg[PG_ERRLEN];
                pg_host->log(rs->ctx, ENVSYNC_LOG_WARN, "cannot end session %s on \"%s\": %s",
                             p[0], db, pg_message(rs->maint, r2, msg, sizeof msg));
            }
            PQclear(r2);
        }
    }
    PQclear(res);
}

/* One attempt: terminate, then both renames in one transaction (RENAME
 * waits up to 5 s for terminated sessions to go). */
static int
swap_once(pg_restore *rs, char *msg, size_t mlen)
{
    es_buf sql = ES_BUF_INIT;
    PGresult *res;
    int ok;

    terminate_sessions(rs, rs->target);
    es_buf_puts(&sql, "BEGIN; ALTER DATABASE ");
    pg_buf_ident(&sql, rs->target);
    es_buf_puts(&sql, " RENAME TO ");
    pg_buf_ident(&sql, rs->olddb);
    es_buf_puts(&sql, "; ALTER DATABASE ");
    pg_buf_ident(&sql, rs->newdb);
    es_buf_puts(&sql, " RENAME TO ");
    pg_buf_ident(&sql, rs->target);
    es_buf_puts(&sql, "; COMMIT");
    res = PQexec(rs->maint, sql.data ? sql.data : "");
    es_buf_free(&sql);
    ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    if (!ok)
        pg_message(rs->maint, res, msg, mlen);
    PQclear(res);
    if (!ok) {
        res = PQexec(rs->maint, "ROLLBACK");
        PQclear(res);
    }
    return ok;
}

static envsync_status
swap(pg_restore *rs)
{
    const pg_conf *c = &rs->s->c;
    char msg[PG_ERRLEN] = "";
    int64_t attempt;
    int exists = db_exists(rs, rs->target, NULL), allow = 1;

    if (exists < 0)
        return fail(rs);
    if (!exists) {
        if (maint_exec(rs, "renaming the new database", "ALTER DATABASE ", rs->newdb, " RENAME TO ", rs->target, "") != 0)
            return fail(rs);
        rs->swapped = 1;
        pg_host->log(rs->ctx, ENVSYNC_LOG_INFO, "database \"%s\" created", rs->target);
        return ENVSYNC_OK;
    }
    if (db_exists(rs, rs->olddb, NULL) > 0 &&
        drop_db(rs, rs->olddb, "dropping the previous kept copy") != 0)
        return fail(rs);
    /* refuse new connections first; if we may not, terminating still works */
    if (db_exists(rs, rs->target, &allow) > 0 && allow) {
        PGresult *res;
        es_buf sql = ES_BUF_INIT;
        es_buf_puts(&sql, "ALTER DATABASE ");
        pg_buf_ident(&sql, rs->target);
        es_buf_puts(&sql, " WITH ALLOW_CONNECTIONS false");
        res = PQexec(rs->maint, sql.data ? sql.data : "");
        if (PQresultStatus(res) == PGRES_COMMAND_OK)
            rs->conns_refused = 1;
        else
            pg_host->log(rs->ctx, ENVSYNC_LOG_WARN, "cannot refuse connections to \"%s\": %s",
                         rs->target, pg_message(rs->maint, res, msg, sizeof msg));
        PQclear(res);
        es_buf_free(&sql);
    }
    for (attempt = 1; attempt <= c->swap_retries; attempt++) {
        if (swap_once(rs, msg, sizeof msg)) {
            rs->swapped = 1;
            break;
        }
        if (pg_host->cancelled(rs->ctx))
            break;
        if (attempt < c->swap_retries) {
            pg_host->log(rs->ctx, ENVSYNC_LOG_WARN, "swap attempt %lld/%lld failed: %s; "
                         "retrying in %lld ms", (long long)attempt, (long long)c->swap_retries,
                         msg, (long long)c->swap_delay_ms);
            pg_sleep_ms(rs->ctx, c->swap_delay_ms);
        }
    }
    if (rs->conns_refused) {
        /* after the swap that name is the old copy */
        maint_exec(rs, "re-allowing connections", "ALTER DATABASE ", rs->swapped ? rs->olddb : rs->target, " WITH ALLOW_CONNECTIONS true", NULL, NULL);
        rs->conns_refused = 0;
    }
    if (!rs->swapped) {
        envsync_status st = pg_host->cancelled(rs->ctx);
        return pg_host->error(rs->ctx, st ? st : ENVSYNC_ERR_RETRY,
                              "database \"%s\" still in use after %lld swap attempts (%s); "
                              "it was left as it was", rs->target, (long long)c->swap_retries, msg);
    }
    pg_host->log(rs->ctx, ENVSYNC_LOG_INFO, "swapped: \"%s\" is the restored copy", rs->target);
    if (c->keep_previous) {
        pg_host->log(rs->ctx, ENVSYNC_LOG_INFO, "previous copy kept as \"%s\"", rs->olddb);
    } else if (drop_db(rs, rs->olddb, "dropping the previous copy") == 0) {
        pg_host->log(rs->ctx, ENVSYNC_LOG_INFO, "dropped the previous copy");
    } else {
        /* the swap is done: a failure here is a warning, not a failed run */
        pg_host->log(rs->ctx, ENVSYNC_LOG_WARN, "%s", rs->err.msg);
        pthread_mutex_lock(&rs->err.mu);
        rs->err.st = ENVSYNC_OK;
        rs->err.msg[0] = '\0';
        pthread_mutex_unlock(&rs->err.mu);
    }
    return ENVSYNC_OK;
}

envsync_status
pg_restore_finish(envsync_ctx *ctx, void *state)
{
    pg_state *s = state;
    pg_restore *rs = s->rs;
    envsync_status st;

    if (!rs)
        return pg_host->error(ctx, ENVSYNC_ERR_OTHER, "restore_finish before restore_begin");
    if ((st = ensure_db(rs)) != ENVSYNC_OK)
        return st;
    if (wait_idle(rs) != ENVSYNC_OK)
        return fail(rs);
    pg_host->log(ctx, ENVSYNC_LOG_INFO, "data loaded into \"%s\": %zu tables", rs->loaddb,
                 rs->ntables);
    if ((st = run_post_data(rs)) != ENVSYNC_OK)
        return st;
    if (rs->seqs.len && (st = exec_script(rs, rs->db, "sequences", rs->seqs.data,
                                          rs->seqs.len, 1)) != ENVSYNC_OK)
        return st;
    if ((st = check_counts(rs)) != ENVSYNC_OK)
        return st;
    /* post-load SQL is not batched: a script may rely on statement-level
     * transactions (VACUUM, CREATE INDEX CONCURRENTLY, its own BEGIN) */
    if (rs->user.len && (st = exec_script(rs, rs->db, "post-load", rs->user.data,
                                          rs->user.len, 0)) != ENVSYNC_OK)
        return st;
    if (rs->refresh.len && (st = exec_script(rs, rs->db, "materialized view refresh",
                                             rs->refresh.data, rs->refresh.len, 0)) != ENVSYNC_OK)
        return st;
    /* every table was analyzed after its builds; post-load SQL may have
     * changed the data since */
    if (rs->user.len && (st = analyze(rs)) != ENVSYNC_OK)
        return st;
    if ((st = autovacuum_release(rs)) != ENVSYNC_OK)
        return st;
    stop_workers(rs);
    PQfinish(rs->db);
    rs->db = NULL;
    if ((st = pg_host->cancelled(ctx)) != ENVSYNC_OK)
        return pg_host->error(ctx, st, "restore cancelled before the swap");
    /* after post-load SQL: a setting such as default_transaction_read_only
     * must not apply to the load */
    if ((st = pg_dbsettings_apply(ctx, &s->c, rs->maint, rs->loaddb, rs->dbsettings)) != ENVSYNC_OK)
        return st;
    if (s->c.owner && maint_exec(rs, "setting the owner", "ALTER DATABASE ", rs->loaddb, " OWNER TO ", s->c.owner, "") != 0)
        return fail(rs);
    if (rs->replace) {
        rs->swapped = 1;
        pg_host->log(ctx, ENVSYNC_LOG_INFO, "database \"%s\" restored in place", rs->target);
        return ENVSYNC_OK;
    }
    return swap(rs);
}

void
pg_restore_abort(envsync_ctx *ctx, void *state)
{
    pg_state *s = state;
    pg_restore *rs = s->rs;

    if (!rs)
        return;
    pg_err_set(&rs->err, ENVSYNC_ERR_INTERRUPTED, "restore aborted");
    if (rs->nthreads)
        cancel_workers(rs);
    stop_workers(rs);
    PQfinish(rs->db);
    rs->db = NULL;
    if (rs->swapped)
        return;
    pthread_mutex_lock(&rs->err.mu);      /* cleanup reports its own errors */
    rs->err.st = ENVSYNC_OK;
    rs->err.msg[0] = '\0';
    pthread_mutex_unlock(&rs->err.mu);
    if (ensure_maint(rs) != ENVSYNC_OK) {
        pg_host->log(ctx, ENVSYNC_LOG_ERROR, "cannot remove \"%s\": %s (the next run drops it)",
                     rs->loaddb, rs->err.msg);
        return;
    }
    if (rs->conns_refused) {
        maint_exec(rs, "re-allowing connections", "ALTER DATABASE ", rs->target, " WITH ALLOW_CONNECTIONS true", NULL, NULL);
        rs->conns_refused = 0;
    }
    if (rs->replace) {
        if (rs->created)
            pg_host->log(ctx, ENVSYNC_LOG_ERROR, "mode replace: database \"%s\" is incomplete "
                         "after the failed restore", rs->target);
        return;
    }
    if (rs->created) {
        if (drop_db(rs, rs->newdb, "dropping the new database") != 0)
            pg_host->log(ctx, ENVSYNC_LOG_ERROR, "%s (the next run drops it)", rs->err.msg);
        else
            pg_host->log(ctx, ENVSYNC_LOG_INFO, "dropped \"%s\"; \"%s\" untouched", rs->newdb,
                         rs->target);
    }
}

void
pg_restore_free(pg_restore *rs)
{
    rs_task *t;
    size_t i;

    if (!rs)
        return;
    if (rs->nthreads)
        stop_workers(rs);
    while ((t = rs->head) != NULL) {
        rs->head = t->next;
        free_task(t);
    }
    es_chunkpool_destroy(&rs->pool);
    PQfinish(rs->db);
    PQfinish(rs->maint);
    for (i = 0; i < rs->ntables; i++) {
        free(rs->tables[i].schema);
        free(rs->tables[i].name);
        free_strv(rs->tables[i].stmts, rs->tables[i].nstmts);
        es_buf_free(&rs->tables[i].attach);
    }
    free(rs->tables);
    free_strv(rs->orphans, rs->norphans);
    free(rs->encoding);
    free(rs->lc_collate);
    free(rs->lc_ctype);
    free(rs->provider);
    free(rs->icu_locale);
    pg_dbsettings_free(rs->dbsettings);
    es_buf_free(&rs->post);
    es_buf_free(&rs->seqs);
    es_buf_free(&rs->user);
    es_buf_free(&rs->refresh);
    es_buf_free(&rs->autovac);
    pg_err_destroy(&rs->err);
    pthread_mutex_destroy(&rs->mu);
    pthread_cond_destroy(&rs->cv_put);
    pthread_cond_destroy(&rs->cv_get);
    pthread_cond_destroy(&rs->cv_idle);
    free(rs);
}
