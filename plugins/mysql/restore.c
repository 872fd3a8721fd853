/*
 * restore.c - load beside the target, check, swap atomically.
 *
 *   begin:   drop leftovers <db>_envsync_new / <db>_envsync_old, create
 *            <db>_envsync_new;
 *   entries: META sets the charset; tables are created at once (secondary
 *            indexes and foreign keys stripped when defer_indexes); DATA
 *            chunks are copied into a bounded queue and loaded by `jobs`
 *            worker connections with LOAD DATA LOCAL INFILE fed from memory,
 *            or multi-row INSERTs (literal.c) for a dominant AUTO_INCREMENT
 *            table (choose_load), with option load = "insert", and for every
 *            table when the server refuses LOCAL INFILE;
 *            views, triggers, routines, events and POSTLOAD SQL are kept;
 *   finish:  indexes built in parallel, foreign keys added, row counts
 *            compared with the manifest, POSTLOAD run, then one RENAME
 *            TABLE moves every live table to <db>_envsync_old and every new
 *            one into <db>; views, triggers, routines and events are then
 *            recreated in <db> and the old schema dropped.
 *   abort:   workers stopped, <db>_envsync_new dropped; the target is
 *            untouched unless the swap already happened.
 *
 * Triggers cannot move between databases with RENAME TABLE, so the
 * target's triggers are dropped right before the RENAME (and put back if it
 * fails): between that moment and the end of the swap, writes to the
 * target do not fire triggers.  mode = "replace" drops the target database
 * and renames the new tables into a fresh one: not atomic.
 *
 * Memory: at most `jobs` queued chunks plus one per worker.
 */
#include "my.h"

#include <errmsg.h>
#include <jansson.h>
#include <mysqld_error.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "literal.h"
#include "rowcodec.h"

typedef struct rs_col {
    char *name;
    int kind;
} rs_col;

typedef struct rs_table {
    char *name;
    char *qname;                 /* `newdb`.`name` */
    es_buf indexes, fulltext, fks;
    rs_col *cols;
    size_t ncols;
    int done_ok;
    int autoinc;                 /* InnoDB table with an AUTO_INCREMENT column */
    int insert;                  /* loaded with multi-row INSERTs */
    uint64_t data_length;        /* the source server's estimate (0: unknown) */
} rs_table;

typedef struct rs_obj {
    char *type, *name, *ddl;
    char *sql_mode, *cs_client, *coll_conn, *time_zone;
} rs_obj;

typedef struct rs_job {
    rs_table *t;
    char *columns;
    uint64_t rows, seq;
    char *data;
    size_t len;
    size_t mapped;                   /* size of data's mapping (chunkpool) */
    struct rs_job *next;
} rs_job;

struct my_restore {
    envsync_ctx *ctx;
    my_state *st;
    MYSQL *m;
    char *db, *newdb, *olddb;        /* plain names */
    char *qdb, *qnew, *qold;         /* quoted */
    char *srcdb;                     /* schema named in the artifact */
    char *charset, *collation;
    rs_table *t;
    size_t nt, capt;
    rs_obj *o;
    size_t no, capo;
    char **postload;
    size_t npost;
    /* work queue */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    rs_job *head, *tail;
    size_t qlen, qmax;
    es_chunkpool pool;               /* chunk copies (lib/chunkpool.h) */
    int closing;
    envsync_status fail;
    pthread_t *th;
    int nth;
    size_t next_table;               /* index phase */
    int no_infile;
    int autoinc_lock_mode;           /* @@innodb_autoinc_lock_mode */
    int swapped;
    size_t inline_indexes;           /* tables whose keys stayed in place */
};

/* ---------------------------------------------------------------- helpers */

static void
rs_set_fail(struct my_restore *rs, envsync_status s)
{
    pthread_mutex_lock(&rs->mu);
    if (rs->fail == ENVSYNC_OK)
        rs->fail = s;
    pthread_cond_broadcast(&rs->cv);
    pthread_mutex_unlock(&rs->mu);
}

static envsync_status
rs_failed(struct my_restore *rs)
{
    envsync_status s;

    pthread_mutex_lock(&rs->mu);
    s = rs->fail;
    pthread_mutex_unlock(&rs->mu);
    return s;
}

static rs_table *
rs_find(struct my_restore *rs, const char *name)
{
    size_t i;

    for (i = 0; i < rs->nt; i++)
        if (!strcmp(rs->t[i].name, name))
            return &rs->t[i];
    return NULL;
}

static char *
qualified(const char *qdb, const char *name)
{
    char *qn = my_qid(name);
    es_buf b = ES_BUF_INIT;

    if (!qn)
        return NULL;
    es_buf_printf(&b, "%s.%s", qdb, qn);
    free(qn);
    return b.data ? es_buf_detach(&b, NULL) : NULL;
}

static char *
xstrdup(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* ---------------------------------------------------------------- loading */

typedef struct infile_src {
    const char *p;
    size_t len, pos;
} infile_src;

static int
infile_init(void **ptr, const char *filename, void *userdata)
{
    (void)filename;
    *ptr = userdata;
    return 0;
}

static int
infile_read(void *ptr, char *buf, unsigned int len)
{
    infile_src *src = ptr;
    size_t n = src->len - src->pos;

    if (n > len)
        n = len;
    memcpy(buf, src->p + src->pos, n);
    src->pos += n;
    return (int)n;
}

static void
infile_end(void *ptr)
{
    (void)ptr;
}

static int
infile_error(void *ptr, char *msg, unsigned int len)
{
    (void)ptr;
    snprintf(msg, len, "envsync: in-memory LOCAL INFILE failed");
    return CR_UNKNOWN_ERROR;
}

static int
col_kind(const rs_table *t, const char *name)
{
    size_t i;

    for (i = 0; i < t->ncols; i++)
        if (!strcmp(t->cols[i].name, name))
            return t->cols[i].kind;
    return MY_COL_PLAIN;
}

/* Split the entry's TAB-separated column names into an array (in place
 * copy); returns the count. */
static size_t
split_columns(char *cols, char ***out)
{
    size_t n = 1, i = 0;
    char *p;

    for (p = cols; *p; p++)
        if (*p == '\t')
            n++;
    *out = calloc(n, sizeof(char *));
    if (!*out)
        return 0;
    (*out)[i++] = cols;
    for (p = cols; *p; p++)
        if (*p == '\t') {
            *p = '\0';
            (*out)[i++] = p + 1;
        }
    return n;
}

static void
log_warnings(struct my_restore *rs, MYSQL *m, const char *what)
{
    MYSQL_RES *res;
    MYSQL_ROW row;

    if (mysql_query(m, "SHOW WARNINGS LIMIT 3") || !(res = mysql_store_result(m)))
        return;
    while ((row = mysql_fetch_row(res)))
        my_host->log(rs->ctx, ENVSYNC_LOG_WARN, "%s: %s %s: %s", what, row[0] ? row[0] : "",
                     row[1] ? row[1] : "", row[2] ? row[2] : "");
    mysql_free_result(res);
}

/* Two loads into one table can deadlock (InnoDB's AUTO-INC and gap
 * locks); the statement was rolled back as a whole, so run it again. */
static int
retryable(struct my_restore *rs, MYSQL *m, const char *what, int attempt)
{
    unsigned err = mysql_errno(m);

    if ((err != ER_LOCK_DEADLOCK && err != ER_LOCK_WAIT_TIMEOUT) || attempt >= 10)
        return 0;
    my_host->log(rs->ctx, ENVSYNC_LOG_DEBUG, "%s: %s (attempt %d), retrying", what,
                 mysql_error(m), attempt);
    return 1;
}

/* One INSERT statement's size: large enough that the per-statement work
 * is small next to the rows, well under max_allowed_packet's default
 * (16 MiB on MariaDB 10.11, 64 MiB on MySQL 8). */
#define INSERT_STMT_BYTES (1u << 20)

static envsync_status
load_insert(struct my_restore *rs, MYSQL *m, rs_job *j, char **names, size_t ncol,
            const char *what)
{
    es_buf stmt = ES_BUF_INIT, prefix = ES_BUF_INIT;
    es_field *f = calloc(ncol, sizeof(*f));
    const char *p = j->data, *end = j->data + j->len;
    uint64_t done = 0, batch = 0;
    envsync_status s = ENVSYNC_OK;
    int *kinds = calloc(ncol, sizeof(int));
    int attempt, failed, r;
    size_t i;

    if (!f || !kinds) {
        s = my_host->error(rs->ctx, ENVSYNC_ERR_OTHER, "%s: out of memory", what);
        goto out;
    }
    es_buf_printf(&prefix, "INSERT INTO %s (", j->t->qname);
    for (i = 0; i < ncol; i++) {
        kinds[i] = col_kind(j->t, names[i]);
        if (i)
            es_buf_putc(&prefix, ',');
        my_qident(&prefix, names[i]);
    }
    es_buf_puts(&prefix, ") VALUES ");
    while (p < end) {
        const char *e = es_row_end(p, (size_t)(end - p));
        long nf = es_row_split(p, (size_t)(e - p), f, ncol);

        if (nf != (long)ncol) {
            s = my_host->error(rs->ctx, ENVSYNC_ERR_INTEGRITY,
                               "%s: row %llu has %ld fields, expected %zu", what,
                               (unsigned long long)(done + batch + 1), nf, ncol);
            goto out;
        }
        if (stmt.len)
            r = es_buf_append(&stmt, ",(", 2);
        else if ((r = es_buf_append(&stmt, prefix.data, prefix.len)) == 0)
            r = es_buf_putc(&stmt, '(');
        /* on a failure, i stays at the column that failed */
        for (i = 0; i < ncol && r == 0; i++) {
            if (i && (r = es_buf_putc(&stmt, ',')) < 0)
                break;
            if ((r = my_field_literal(&stmt, &f[i], kinds[i])) != 0)
                break;
        }
        if (r == 0)
            r = es_buf_putc(&stmt, ')');
        if (r == -2) {
            s = my_host->error(rs->ctx, ENVSYNC_ERR_INTEGRITY,
                               "%s: row %llu: BIT column %s: value is not a number", what,
                               (unsigned long long)(done + batch + 1), names[i]);
            goto out;
        }
        if (r < 0) {
            s = my_host->error(rs->ctx, ENVSYNC_ERR_OTHER, "%s: out of memory", what);
            goto out;
        }
        batch++;
        p = e < end ? e + 1 : end;
        if (stmt.len >= INSERT_STMT_BYTES || p >= end) {
            for (attempt = 1;; attempt++) {
                failed = mysql_real_query(m, stmt.data, (unsigned long)stmt.len) != 0;
                if (!failed || !retryable(rs, m, what, attempt))
                    break;
            }
            if (failed) {
                s = my_fail(rs->ctx, m, what);
                goto out;
            }
            if (mysql_affected_rows(m) != batch) {
                s = my_host->error(rs->ctx, ENVSYNC_ERR_INTEGRITY,
                                   "%s: inserted %llu rows, expected %llu", what,
                                   (unsigned long long)mysql_affected_rows(m),
                                   (unsigned long long)batch);
                goto out;
            }
            if (mysql_warning_count(m))
                log_warnings(rs, m, what);
            done += batch;
            batch = 0;
            es_buf_reset(&stmt);
        }
    }
    if (done != j->rows)
        s = my_host->error(rs->ctx, ENVSYNC_ERR_INTEGRITY,
                           "%s: chunk holds %llu rows, its header says %llu", what,
                           (unsigned long long)done, (unsigned long long)j->rows);
out:
    free(f);
    free(kinds);
    es_buf_free(&stmt);
    es_buf_free(&prefix);
    return s;
}

static int
infile_refused(unsigned err)
{
    return err == ER_NOT_ALLOWED_COMMAND          /* 1148 */
        || err == 3948                            /* MySQL 8: local files disabled */
        || err == 2068                            /* CR_LOAD_DATA_LOCAL_INFILE_REJECTED */
        || err == 4166;                           /* MariaDB: capability disabled */
}

static envsync_status
load_job(struct my_restore *rs, MYSQL *m, rs_job *j)
{
    es_buf q = ES_BUF_INIT, set = ES_BUF_INIT;
    char *cols = xstrdup(j->columns);
    char **names = NULL;
    size_t ncol, i;
    envsync_status s = ENVSYNC_OK;
    char what[400];
    infile_src src;
    int no_infile, attempt, failed;

    snprintf(what, sizeof(what), "load of table %s.%s chunk %llu", rs->newdb, j->t->name,
             (unsigned long long)j->seq);
    if (j->len == 0 && j->rows == 0) {
        free(cols);
        return ENVSYNC_OK;
    }
    if (!cols || !(ncol = split_columns(cols, &names))) {
        free(cols);
        return my_host->error(rs->ctx, ENVSYNC_ERR_OTHER, "%s: out of memory", what);
    }
    pthread_mutex_lock(&rs->mu);
    no_infile = rs->no_infile || j->t->insert;
    pthread_mutex_unlock(&rs->mu);
    if (!no_infile) {
        es_buf_printf(&q, "LOAD DATA LOCAL INFILE 'envsync' INTO TABLE %s CHARACTER SET binary"
                      " FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\'"
                      " LINES TERMINATED BY '\\n' (", j->t->qname);
        for (i = 0; i < ncol; i++) {
            int kind = col_kind(j->t, names[i]);

            if (i)
                es_buf_putc(&q, ',');
            if (kind == MY_COL_PLAIN || kind == MY_COL_NUMBER) {
                my_qident(&q, names[i]);
                continue;
            }
            es_buf_printf(&q, "@v%zu", i);
            es_buf_puts(&set, set.len ? ", " : " SET ");
            my_qident(&set, names[i]);
            if (kind == MY_COL_BIT)
                es_buf_printf(&set, " = CAST(@v%zu AS UNSIGNED)", i);
            else
                es_buf_printf(&set, " = @v%zu", i);
        }
        es_buf_putc(&q, ')');
        if (set.len)
            es_buf_append(&q, set.data, set.len);
        if (!q.data) {
            s = my_host->error(rs->ctx, ENVSYNC_ERR_OTHER, "%s: out of memory", what);
            goto out;
        }
        for (attempt = 1;; attempt++) {
            src.p = j->data;
            src.len = j->len;
            src.pos = 0;
            mysql_set_local_infile_handler(m, infile_init, infile_read, infile_end,
                                           infile_error, &src);
            failed = mysql_real_query(m, q.data, (unsigned long)q.len) != 0;
            if (!failed || !retryable(rs, m, what, attempt))
                break;
        }
        if (failed) {
            unsigned err = mysql_errno(m);

            if (!infile_refused(err)) {
                s = my_fail(rs->ctx, m, what);
                goto out;
            }
            pthread_mutex_lock(&rs->mu);
            if (!rs->no_infile)
                my_host->log(rs->ctx, ENVSYNC_LOG_WARN,
                             "the server refused LOAD DATA LOCAL INFILE (%s, error %u); "
                             "loading with batched INSERTs instead (slower)",
                             mysql_error(m), err);
            rs->no_infile = 1;
            pthread_mutex_unlock(&rs->mu);
            no_infile = 1;
        } else {
            if (mysql_affected_rows(m) != j->rows) {
                s = my_host->error(rs->ctx, ENVSYNC_ERR_INTEGRITY,
                                   "%s: loaded %llu rows, the chunk holds %llu", what,
                                   (unsigned long long)mysql_affected_rows(m),
                                   (unsigned long long)j->rows);
                goto out;
            }
            if (mysql_warning_count(m))
                log_warnings(rs, m, what);
        }
    }
    if (no_infile)
        s = load_insert(rs, m, j, names, ncol, what);
out:
    es_buf_free(&q);
    es_buf_free(&set);
    free(names);
    free(cols);
    return s;
}

static envsync_status
worker_session(struct my_restore *rs, const char *what, MYSQL **m)
{
    envsync_status s = my_connect(rs->ctx, &rs->st->c, NULL, what, m);

    if (s != ENVSYNC_OK)
        return s;
    /* binary client charset: the INSERT path's string literals are the
     * dump's bytes, as LOAD DATA ... CHARACTER SET binary reads them */
    return my_exec(rs->ctx, *m, what,
                   "SET NAMES binary; SET SESSION foreign_key_checks = 0,"
                   " SESSION unique_checks = 0");
}

static void *
load_worker(void *arg)
{
    struct my_restore *rs = arg;
    MYSQL *m = NULL;
    envsync_status s = worker_session(rs, "restore worker", &m);

    if (s != ENVSYNC_OK)
        rs_set_fail(rs, s);
    for (;;) {
        rs_job *j;

        pthread_mutex_lock(&rs->mu);
        while (!rs->head && !rs->closing && rs->fail == ENVSYNC_OK)
            pthread_cond_wait(&rs->cv, &rs->mu);
        if (rs->fail != ENVSYNC_OK || !rs->head) {
            pthread_mutex_unlock(&rs->mu);
            break;
        }
        j = rs->head;
        rs->head = j->next;
        if (!rs->head)
            rs->tail = NULL;
        rs->qlen--;
        pthread_cond_broadcast(&rs->cv);
        pthread_mutex_unlock(&rs->mu);
        s = (s == ENVSYNC_OK) ? my_host->cancelled(rs->ctx) : s;
        if (s == ENVSYNC_OK)
            s = load_job(rs, m, j);
        es_chunk_put(&rs->pool, j->data, j->mapped);
        free(j->columns);
        free(j);
        if (s != ENVSYNC_OK) {
            rs_set_fail(rs, s);
            break;
        }
    }
    if (m)
        mysql_close(m);
    return NULL;
}

/* Which tables take multi-row INSERTs instead of LOAD DATA (option load).
 * InnoDB serialises LOAD DATA statements into one table with an
 * AUTO_INCREMENT column on a table-level AUTO-INC lock held to the end of
 * each statement, even when every row brings its own value
 * (innodb_autoinc_lock_mode 0 and 1, MariaDB's default; MySQL 8's default
 * 2 does not), while multi-row INSERTs only take a short mutex.  A table
 * holding more than 1/jobs of the data is loaded by several workers at a
 * time whatever the order of the chunks, so for such a table parallel
 * INSERTs beat serialised LOAD DATA, though each INSERT row costs the
 * server more to parse.  Measured on MariaDB 10.11, 2 connections, 683 MiB
 * of 911 MiB in one such table, chunks interleaved by the backup: restore
 * 10.4-11.1 s against 11.8-14.9 s with LOAD DATA everywhere, in
 * alternating runs.  Also sending every AUTO_INCREMENT table over one
 * chunk as INSERTs was no better (measured before the interleaving): the
 * smaller ones are mostly loaded beside other tables. */
static void
choose_load(struct my_restore *rs)
{
    uint64_t total = 0;
    size_t i;
    uint64_t jobs = (uint64_t)rs->st->c.jobs;

    if (rs->st->c.load == MY_LOAD_INSERT) {
        for (i = 0; i < rs->nt; i++)
            rs->t[i].insert = 1;
        my_host->log(rs->ctx, ENVSYNC_LOG_INFO, "loading every table with multi-row INSERTs"
                     " (load = \"insert\")");
        return;
    }
    if (rs->st->c.load != MY_LOAD_AUTO || jobs < 2)
        return;
    for (i = 0; i < rs->nt; i++)
        total += rs->t[i].data_length;
    for (i = 0; i < rs->nt; i++) {
        rs_table *t = &rs->t[i];

        if (!t->autoinc || !total || t->data_length * jobs <= total)
            continue;
        if (rs->autoinc_lock_mode == 2) {
            my_host->log(rs->ctx, ENVSYNC_LOG_INFO,
                         "table %s: loading with LOAD DATA although it holds %.0f%% of the"
                         " data: innodb_autoinc_lock_mode = 2 lets parallel LOAD DATA into"
                         " it run side by side", t->name,
                         100.0 * (double)t->data_length / (double)total);
            continue;
        }
        t->insert = 1;
        my_host->log(rs->ctx, ENVSYNC_LOG_INFO,
                     "table %s: loading with multi-row INSERTs: it holds %.0f%% of the data and"
                     " has an AUTO_INCREMENT column, and parallel LOAD DATA into it would"
                     " serialise on InnoDB's AUTO-INC lock (innodb_autoinc_lock_mode = %d)",
                     t->name, 100.0 * (double)t->data_length / (double)total,
                     rs->autoinc_lock_mode);
    }
}

static envsync_status
start_workers(struct my_restore *rs)
{
    int i, n = rs->st->c.jobs;

    choose_load(rs);

    rs->th = calloc((size_t)n, sizeof(*rs->th));
    if (!rs->th)
        return my_host->error(rs->ctx, ENVSYNC_ERR_OTHER, "out of memory");
    /* the chunks in flight: queued, loading, and the one being copied */
    es_chunkpool_set_keep(&rs->pool, rs->qmax + (size_t)n + 1);
    for (i = 0; i < n; i++) {
        if (pthread_create(&rs->th[i], NULL, load_worker, rs))
            return my_host->error(rs->ctx, ENVSYNC_ERR_OTHER, "cannot start a thread");
        rs->nth++;
    }
    return ENVSYNC_OK;
}

static void
stop_workers(struct my_restore *rs)
{
    int i;

    pthread_mutex_lock(&rs->mu);
    rs->closing = 1;
    pthread_cond_broadcast(&rs->cv);
    pthread_mutex_unlock(&rs->mu);
    for (i = 0; i < rs->nth; i++)
        pthread_join(rs->th[i], NULL);
    rs->nth = 0;
    free(rs->th);
    rs->th = NULL;
    /* free anything left in the queue (failure) */
    while (rs->head) {
        rs_job *j = rs->head;

        rs->head = j->next;
        es_chunk_put(&rs->pool, j->data, j->mapped);
        free(j->columns);
        free(j);
    }
    rs->tail = NULL;
    rs->qlen = 0;
}

/* ---------------------------------------------------------------- entries */

static envsync_status
read_columns(struct my_restore *rs, rs_table *t)
{
    MYSQL_RES *res;
    MYSQL_ROW row;
    char *qn = my_qs(rs->m, t->name), *qd = my_qs(rs->m, rs->newdb);
    envsync_status s;
    size_t n = 0;

    s = my_query(rs->ctx, rs->m, "column types", &res,
                 "SELECT c.COLUMN_NAME, c.DATA_TYPE,"
                 " c.EXTRA LIKE '%%auto_increment%%' AND t.ENGINE = 'InnoDB'"
                 " FROM information_schema.COLUMNS c JOIN information_schema.TABLES t"
                 " USING (TABLE_SCHEMA, TABLE_NAME)"
                 " WHERE c.TABLE_SCHEMA = %s AND c.TABLE_NAME = %s", qd, qn);
    free(qn);
    free(qd);
    if (s != ENVSYNC_OK)
        return s;
    t->cols = calloc(res ? mysql_num_rows(res) + 1 : 1, sizeof(*t->cols));
    while (t->cols && res && (row = mysql_fetch_row(res))) {
        const char *ty = row[1];

        t->cols[n].name = strdup(row[0]);
        if (row[2] && !strcmp(row[2], "1"))
            t->autoinc = 1;
        if (!strcmp(ty, "bit"))
            t->cols[n].kind = MY_COL_BIT;
        else if (!strcmp(ty, "tinyint") || !strcmp(ty, "smallint") || !strcmp(ty, "mediumint")
                 || !strcmp(ty, "int") || !strcmp(ty, "bigint") || !strcmp(ty, "decimal"))
            t->cols[n].kind = MY_COL_NUMBER;
        else if (!strcmp(ty, "geometry") || !strcmp(ty, "point") || !strcmp(ty, "linestring")
                 || !strcmp(ty, "polygon") || !strcmp(ty, "multipoint")
                 || !strcmp(ty, "multilinestring") || !strcmp(ty, "multipolygon")
                 || !strcmp(ty, "geometrycollection"))
            t->cols[n].kind = MY_COL_GEOM;
        n++;
    }
    t->ncols = n;
    if (res)
        mysql_free_result(res);
    return ENVSYNC_OK;
}

/* Whether building a table's secondary indexes after its load is quicker
 * than keeping them up while loading.  The build is one more pass over
 * the whole table, sorted per index: it pays when the indexes are a good
 * part of the table (narrow rows, many keys), not for wide rows under a
 * few small keys, where the pass costs more than the inserts into the
 * index trees (measured on MariaDB 10.11, 683 MiB of 2 kB rows under
 * 27 MiB of keys: 3.1 s of build after the load, against 1.5 s more load
 * with the keys in place).  The backup records the server's size
 * estimates; without them (older artifacts) everything is deferred. */
static int
defer_pays(const envsync_entry *e)
{
    const char *dl = my_attr(e, "data_length"), *il = my_attr(e, "index_length");
    unsigned long long d, i;

    if (!dl || !il)
        return 1;
    d = strtoull(dl, NULL, 10);
    i = strtoull(il, NULL, 10);
    /* small tables: either way is quick; keep the parallel build */
    if (d < (64ULL << 20))
        return 1;
    return i * 8 >= d;
}

static envsync_status
create_table(struct my_restore *rs, const envsync_entry *e, const char *ddl)
{
    rs_table *t;
    es_buf create = ES_BUF_INIT;
    char what[400];
    envsync_status s;

    if (rs_find(rs, e->object))
        return my_host->error(rs->ctx, ENVSYNC_ERR_INTEGRITY,
                              "table %s appears twice in the artifact", e->object);
    if (rs->nt == rs->capt) {
        rs_table *nt = realloc(rs->t, (rs->capt = rs->capt ? rs->capt * 2 : 64) * sizeof(*nt));

        if (!nt)
            return my_host->error(rs->ctx, ENVSYNC_ERR_OTHER, "out of memory");
        rs->t = nt;
    }
    t = &rs->t[rs->nt++];
    memset(t, 0, sizeof(*t));
    t->name = strdup(e->object);
    t->qname = qualified(rs->qnew, e->object);
    snprintf(what, sizeof(what), "creation of table %s.%s", rs->newdb, e->object);
    if (rs->st->c.defer_indexes
        && my_split_create(ddl, &create, &t->indexes, &t->fulltext, &t->fks) == 0) {
        s = my_exec_len(rs->ctx, rs->m, what, create.data, create.len);
        if (s != ENVSYNC_OK && mysql_errno(rs->m) == ER_WRONG_AUTO_KEY) {
            /* an AUTO_INCREMENT column needs one of the stripped keys */
            es_buf_reset(&t->indexes);
            es_buf_reset(&t->fulltext);
            es_buf_reset(&t->fks);
            s = my_exec_len(rs->ctx, rs->m, what, ddl, strlen(ddl));
        }
    } else {
        es_buf_reset(&t->indexes);
        es_buf_reset(&t->fulltext);
        es_buf_reset(&t->fks);
        s = my_exec_len(rs->ctx, rs->m, what, ddl, strlen(ddl));
    }
    es_buf_free(&create);
    if (s == ENVSYNC_OK && t->indexes.len && !defer_pays(e)) {
        /* wide rows, small indexes: keeping them up during the load costs
         * less than a second pass over the table (the foreign keys still
         * come after the load) */
        snprintf(what, sizeof(what), "secondary indexes of %s.%s", rs->newdb, e->object);
        s = my_exec(rs->ctx, rs->m, what, "ALTER TABLE %s %s", t->qname, t->indexes.data);
        es_buf_reset(&t->indexes);
        rs->inline_indexes++;
    }
    if (s != ENVSYNC_OK)
        return s;
    if (my_attr(e, "data_length"))
        t->data_length = strtoull(my_attr(e, "data_length"), NULL, 10);
    return read_columns(rs, t);
}

/* SHOW CREATE VIEW leaves same-database names unqualified, except in
 * some cases (MariaDB qualifies column references when the view's definer
 * does not exist): drop "`<source db>`." so the view refers to the tables
 * it is restored beside. */
static void
unqualify(char *ddl, const char *srcdb)
{
    char *q = my_qid(srcdb), *p;
    size_t n;

    if (!q)
        return;
    n = strlen(q);
    p = ddl;
    while ((p = strstr(p, q))) {
        if (p[n] == '.') {
            memmove(p, p + n + 1, strlen(p + n + 1) + 1);
        } else {
            p += n;
        }
    }
    free(q);
}

static envsync_status
keep_object(struct my_restore *rs, const envsync_entry *e, const char *ddl, const char *type)
{
    rs_obj *o;

    if (rs->no == rs->capo) {
        rs_obj *no = realloc(rs->o, (rs->capo = rs->capo ? rs->capo * 2 : 32) * sizeof(*no));

        if (!no)
            return my_host->error(rs->ctx, ENVSYNC_ERR_OTHER, "out of memory");
        rs->o = no;
    }
    o = &rs->o[rs->no++];
    memset(o, 0, sizeof(*o));
    o->type = strdup(type);
    o->name = strdup(e->object ? e->object : "");
    o->ddl = strdup(ddl);
    if (o->ddl && rs->st->c.strip_definers)
        my_strip_definer(o->ddl);
    if (o->ddl && !strcmp(type, "view") && e->schema)
        unqualify(o->ddl, e->schema);
    o->sql_mode = xstrdup(my_attr(e, "sql_mode"));
    o->cs_client = xstrdup(my_attr(e, "character_set_client"));
    o->coll_conn = xstrdup(my_attr(e, "collation_connection"));
    o->time_zone = xstrdup(my_attr(e, "time_zone"));
    return ENVSYNC_OK;
}

static envsync_status
apply_meta(struct my_restore *rs, const void *data, size_t len)
{
    json_error_t jerr;
    json_t *j = json_loadb(data, len, 0, &jerr);
    const char *cs = NULL, *coll = NULL;

    if (!j)
        return my_host->error(rs->ctx, ENVSYNC_ERR_INTEGRITY,
                              "META database entry is not JSON: %s", jerr.text);
    json_unpack(j, "{s?s, s?s}", "character_set", &cs, "collation", &coll);
    if (cs && *cs && coll && *coll) {
        free(rs->charset);
        free(rs->collation);
        rs->charset = strdup(cs);
        rs->collation = strdup(coll);
    }
    json_decref(j);
    if (rs->charset && rs->collation)
        return my_exec(rs->ctx, rs->m, "charset of the new database",
                       "ALTER DATABASE %s CHARACTER SET %s COLLATE %s", rs->qnew,
                       rs->charset, rs->collation);
    return ENVSYNC_OK;
}

envsync_status
my_restore_entry(envsync_ctx *ctx, void *state, const envsync_entry *e,
                 const void *data, size_t len)
{
    my_state *st = state;
    struct my_restore *rs = st->rs;
    envsync_status s;
    char *ddl;

    if (!rs)
        return my_host->error(ctx, ENVSYNC_ERR_OTHER, "restore_entry before restore_begin");
    if ((s = rs_failed(rs)) != ENVSYNC_OK)
        return s;
    if (e->schema && !rs->srcdb)
        rs->srcdb = strdup(e->schema);
    switch (e->kind) {
    case ENVSYNC_ENTRY_META:
        if (e->object && !strcmp(e->object, "database"))
            return apply_meta(rs, data, len);
        return ENVSYNC_OK;
    case ENVSYNC_ENTRY_SCHEMA: {
        const char *type = my_attr(e, "type");

        if (!e->object || !type)
            return my_host->error(ctx, ENVSYNC_ERR_INTEGRITY,
                                  "SCHEMA entry without object or type attribute");
        ddl = malloc(len + 1);
        if (!ddl)
            return my_host->error(ctx, ENVSYNC_ERR_OTHER, "out of memory");
        memcpy(ddl, data, len);
        ddl[len] = '\0';
        if (!strcmp(type, "table"))
            s = create_table(rs, e, ddl);
        else
            s = keep_object(rs, e, ddl, type);
        free(ddl);
        return s;
    }
    case ENVSYNC_ENTRY_POSTLOAD: {
        char **np = realloc(rs->postload, (rs->npost + 1) * sizeof(*np));

        if (!np)
            return my_host->error(ctx, ENVSYNC_ERR_OTHER, "out of memory");
        rs->postload = np;
        if (!(np[rs->npost] = malloc(len + 1)))
            return my_host->error(ctx, ENVSYNC_ERR_OTHER, "out of memory");
        memcpy(np[rs->npost], data, len);
        np[rs->npost][len] = '\0';
        rs->npost++;
        return ENVSYNC_OK;
    }
    case ENVSYNC_ENTRY_DATA: {
        rs_table *t = e->object ? rs_find(rs, e->object) : NULL;
        rs_job *j;

        if (!t)
            return my_host->error(ctx, ENVSYNC_ERR_INTEGRITY,
                                  "DATA entry for table %s, which has no schema entry",
                                  e->object ? e->object : "(none)");
        if (!rs->th && (s = start_workers(rs)) != ENVSYNC_OK)
            return s;
        /* wait for room before copying, so that the copy is not one more
         * chunk in memory while the queue is full (only this thread
         * queues, so the room is still there after the copy) */
        pthread_mutex_lock(&rs->mu);
        while (rs->qlen >= rs->qmax && rs->fail == ENVSYNC_OK)
            pthread_cond_wait(&rs->cv, &rs->mu);
        s = rs->fail;
        pthread_mutex_unlock(&rs->mu);
        if (s != ENVSYNC_OK)
            return s;
        j = calloc(1, sizeof(*j));
        if (!j)
            return my_host->error(ctx, ENVSYNC_ERR_OTHER, "out of memory");
        j->t = t;
        j->rows = e->rows;
        j->seq = e->seq;
        j->len = len;
        j->columns = strdup(e->columns ? e->columns : "");
        /* a copy: the core reuses its buffer for the next entry */
        j->data = es_chunk_get(&rs->pool, len, &j->mapped);
        if (!j->columns || !j->data) {
            free(j->columns);
            es_chunk_put(&rs->pool, j->data, j->mapped);
            free(j);
            return my_host->error(ctx, ENVSYNC_ERR_OTHER, "out of memory");
        }
        memcpy(j->data, data, len);
        pthread_mutex_lock(&rs->mu);
        s = rs->fail;
        if (s == ENVSYNC_OK) {
            if (rs->tail)
                rs->tail->next = j;
            else
                rs->head = j;
            rs->tail = j;
            rs->qlen++;
            pthread_cond_broadcast(&rs->cv);
        }
        pthread_mutex_unlock(&rs->mu);
        if (s != ENVSYNC_OK) {
            free(j->columns);
            es_chunk_put(&rs->pool, j->data, j->mapped);
            free(j);
        }
        return s;
    }
    default:
        my_host->log(ctx, ENVSYNC_LOG_DEBUG, "entry kind %d ignored", (int)e->kind);
        return ENVSYNC_OK;
    }
}

/* ---------------------------------------------------------------- begin */

/* @@innodb_autoinc_lock_mode, or 1 (the default of MariaDB and MySQL 5.7)
 * when the server does not say */
static int
autoinc_lock_mode(struct my_restore *rs)
{
    MYSQL_RES *res = NULL;
    MYSQL_ROW row;
    int mode = 1;

    if (!mysql_query(rs->m, "SELECT @@innodb_autoinc_lock_mode")
        && (res = mysql_store_result(rs->m)) && (row = mysql_fetch_row(res)) && row[0])
        mode = atoi(row[0]);
    if (res)
        mysql_free_result(res);
    return mode;
}

static envsync_status
drop_leftovers(struct my_restore *rs)
{
    envsync_status s;

    s = my_exec(rs->ctx, rs->m, "removal of leftover schemas",
                "DROP DATABASE IF EXISTS %s; DROP DATABASE IF EXISTS %s", rs->qnew, rs->qold);
    return s;
}

envsync_status
my_restore_begin(envsync_ctx *ctx, void *state)
{
    my_state *st = state;
    struct my_restore *rs;
    const char *engine = my_host->artifact_engine(ctx);
    envsync_status s;
    char name[80];

    if (engine && strcmp(engine, MY_ENGINE))
        return my_host->error(ctx, ENVSYNC_ERR_REFUSED,
                              "artifact was written by engine \"%s\"; the mysql plugin "
                              "restores only \"%s\" artifacts", engine, MY_ENGINE);
    if (my_host->is_production(ctx) && !my_host->allow_production(ctx))
        return my_host->error(ctx, ENVSYNC_ERR_REFUSED,
                              "environment \"%s\" is production: restore into database %s "
                              "refused (set allow_production_restore = true to allow)",
                              my_host->environment(ctx), st->c.database);
    my_restore_free(st->rs);
    rs = st->rs = calloc(1, sizeof(*rs));
    if (!rs)
        return my_host->error(ctx, ENVSYNC_ERR_OTHER, "out of memory");
    rs->ctx = ctx;
    rs->st = st;
    pthread_mutex_init(&rs->mu, NULL);
    pthread_cond_init(&rs->cv, NULL);
    es_chunkpool_init(&rs->pool, 0);
    /* one chunk waiting is enough to keep the workers busy (decoding a
     * chunk is much faster than loading it); memory stays at about
     * chunk_size x (jobs + 1) plus the core's read buffer */
    rs->qmax = 1;
    rs->db = strdup(st->c.database);
    snprintf(name, sizeof(name), "%s_envsync_new", st->c.database);
    rs->newdb = strdup(name);
    snprintf(name, sizeof(name), "%s_envsync_old", st->c.database);
    rs->olddb = strdup(name);
    rs->qdb = my_qid(rs->db);
    rs->qnew = my_qid(rs->newdb);
    rs->qold = my_qid(rs->olddb);
    if (!rs->db || !rs->newdb || !rs->olddb || !rs->qdb || !rs->qnew || !rs->qold)
        return my_host->error(ctx, ENVSYNC_ERR_OTHER, "out of memory");
    if ((s = my_connect(ctx, &st->c, NULL, "restore", &rs->m)) != ENVSYNC_OK)
        return s;
    if ((s = my_exec(ctx, rs->m, "restore session", "SET SESSION foreign_key_checks = 0"))
        != ENVSYNC_OK)
        return s;
    if ((s = drop_leftovers(rs)) != ENVSYNC_OK)
        return s;
    rs->autoinc_lock_mode = autoinc_lock_mode(rs);
    if ((s = my_exec(ctx, rs->m, "creation of the new database", "CREATE DATABASE %s; USE %s",
                     rs->qnew, rs->qnew)) != ENVSYNC_OK)
        return s;
    my_host->log(ctx, ENVSYNC_LOG_INFO, "loading into %s with %d connection%s", rs->newdb,
                 st->c.jobs, st->c.jobs > 1 ? "s" : "");
    return ENVSYNC_OK;
}

/* ---------------------------------------------------------------- finish */

static void *
index_worker(void *arg)
{
    struct my_restore *rs = arg;
    MYSQL *m = NULL;
    envsync_status s = worker_session(rs, "index worker", &m);

    while (s == ENVSYNC_OK) {
        rs_table *t = NULL;
        char what[400];
        uint64_t expected, got;
        MYSQL_RES *res;
        MYSQL_ROW row;

        pthread_mutex_lock(&rs->mu);
        if (rs->fail == ENVSYNC_OK && rs->next_table < rs->nt)
            t = &rs->t[rs->next_table++];
        pthread_mutex_unlock(&rs->mu);
        if (!t)
            break;
        if ((s = my_host->cancelled(rs->ctx)) != ENVSYNC_OK)
            break;
        snprintf(what, sizeof(what), "index build of table %s.%s", rs->newdb, t->name);
        if (t->indexes.len)
            s = my_exec(rs->ctx, m, what, "ALTER TABLE %s %s", t->qname, t->indexes.data);
        if (s == ENVSYNC_OK && t->fulltext.len) {
            char *p = t->fulltext.data;

            while (s == ENVSYNC_OK && p && *p) {
                char *nl = strchr(p, '\n');

                if (nl)
                    *nl = '\0';
                s = my_exec(rs->ctx, m, what, "ALTER TABLE %s %s", t->qname, p);
                p = nl ? nl + 1 : NULL;
            }
        }
        if (s != ENVSYNC_OK)
            break;
        if (my_host->expected_rows(rs->ctx, rs->srcdb, t->name, &expected) != 0) {
            my_host->log(rs->ctx, ENVSYNC_LOG_DEBUG, "table %s: no row count in the manifest",
                         t->name);
            continue;
        }
        snprintf(what, sizeof(what), "row count of table %s.%s", rs->newdb, t->name);
        s = my_query(rs->ctx, m, what, &res, "SELECT COUNT(*) FROM %s", t->qname);
        if (s != ENVSYNC_OK)
            break;
        row = res ? mysql_fetch_row(res) : NULL;
        got = row && row[0] ? strtoull(row[0], NULL, 10) : 0;
        if (res)
            mysql_free_result(res);
        if (got != expected) {
            s = my_host->error(rs->ctx, ENVSYNC_ERR_INTEGRITY,
                               "table %s.%s holds %llu rows after the load, the manifest "
                               "expects %llu", rs->newdb, t->name, (unsigned long long)got,
                               (unsigned long long)expected);
            break;
        }
    }
    if (s != ENVSYNC_OK)
        rs_set_fail(rs, s);
    if (m)
        mysql_close(m);
    return NULL;
}

static envsync_status
build_indexes(struct my_restore *rs)
{
    int i, n = rs->st->c.jobs, started = 0;
    pthread_t *th = calloc((size_t)n, sizeof(*th));
    envsync_status s;
    size_t k;

    if (!th)
        return my_host->error(rs->ctx, ENVSYNC_ERR_OTHER, "out of memory");
    rs->next_table = 0;
    for (i = 0; i < n; i++) {
        if (pthread_create(&th[i], NULL, index_worker, rs)) {
            rs_set_fail(rs, my_host->error(rs->ctx, ENVSYNC_ERR_OTHER, "cannot start a thread"));
            break;
        }
        started++;
    }
    for (i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    free(th);
    if ((s = rs_failed(rs)) != ENVSYNC_OK)
        return s;
    /* foreign keys last: they need the referenced tables' keys */
    for (k = 0; k < rs->nt; k++) {
        char what[400];

        if (!rs->t[k].fks.len)
            continue;
        snprintf(what, sizeof(what), "foreign keys of table %s.%s", rs->newdb, rs->t[k].name);
        s = my_exec(rs->ctx, rs->m, what, "ALTER TABLE %s %s", rs->t[k].qname,
                    rs->t[k].fks.data);
        if (s != ENVSYNC_OK)
            return s;
    }
    return ENVSYNC_OK;
}

/* Run DDL under the session settings the object was created with. */
static envsync_status
create_object(struct my_restore *rs, rs_obj *o, int quiet, const char *dbname)
{
    envsync_status s;
    char what[400];
    es_buf set = ES_BUF_INIT;

    snprintf(what, sizeof(what), "creation of %s %s.%s", o->type, dbname, o->name);
    es_buf_puts(&set, "SET SESSION sql_mode = ");
    my_qstr(&set, rs->m, o->sql_mode ? o->sql_mode : "NO_AUTO_VALUE_ON_ZERO");
    if (o->cs_client) {
        es_buf_puts(&set, ", SESSION character_set_client = ");
        my_qstr(&set, rs->m, o->cs_client);
    }
    if (o->coll_conn) {
        es_buf_puts(&set, ", SESSION collation_connection = ");
        my_qstr(&set, rs->m, o->coll_conn);
    }
    if (o->time_zone) {
        es_buf_puts(&set, ", SESSION time_zone = ");
        my_qstr(&set, rs->m, o->time_zone);
    }
    s = my_exec_len(rs->ctx, rs->m, what, set.data, set.len);
    es_buf_free(&set);
    if (s != ENVSYNC_OK)
        return s;
    if (quiet) {
        if (mysql_real_query(rs->m, o->ddl, (unsigned long)strlen(o->ddl)))
            s = ENVSYNC_ERR_OTHER;
    } else {
        s = my_exec_len(rs->ctx, rs->m, what, o->ddl, strlen(o->ddl));
    }
    /* back to the plugin's session */
    if (my_exec(rs->ctx, rs->m, what,
                "SET NAMES %s; SET SESSION sql_mode = 'NO_AUTO_VALUE_ON_ZERO',"
                " SESSION time_zone = '+00:00'",
                rs->st->c.charset ? rs->st->c.charset : "utf8mb4") != ENVSYNC_OK
        && s == ENVSYNC_OK)
        s = ENVSYNC_ERR_OTHER;
    return s;
}

static envsync_status
create_objects(struct my_restore *rs, const char *qdb, const char *dbname, int rehearsal)
{
    /* routines first (views may call functions; routine bodies are not
     * resolved at creation), then views, triggers, events */
    static const char *first[] = { "procedure", "function" };
    static const char *order[] = { "trigger", "event" };
    char *done = calloc(rs->no + 1, 1);
    size_t i, left = 0, k;
    envsync_status s = ENVSYNC_OK;
    int progress = 1;

    if (!done)
        return my_host->error(rs->ctx, ENVSYNC_ERR_OTHER, "out of memory");
    if ((s = my_exec(rs->ctx, rs->m, "target database", "USE %s", qdb)) != ENVSYNC_OK)
        goto out;
    for (k = 0; k < sizeof(first) / sizeof(first[0]); k++)
        for (i = 0; i < rs->no; i++)
            if (!strcmp(rs->o[i].type, first[k])
                && (s = create_object(rs, &rs->o[i], 0, dbname)) != ENVSYNC_OK)
                goto out;
    /* views: create those whose dependencies exist, until no progress */
    for (i = 0; i < rs->no; i++)
        if (!strcmp(rs->o[i].type, "view"))
            left++;
    while (left && progress) {
        progress = 0;
        for (i = 0; i < rs->no; i++) {
            if (done[i] || strcmp(rs->o[i].type, "view"))
                continue;
            if (create_object(rs, &rs->o[i], 1, dbname) == ENVSYNC_OK) {
                done[i] = 1;
                left--;
                progress = 1;
            }
        }
    }
    for (i = 0; i < rs->no && left; i++)
        if (!done[i] && !strcmp(rs->o[i].type, "view")) {
            /* report the real error */
            s = create_object(rs, &rs->o[i], 0, dbname);
            if (s == ENVSYNC_OK)
                s = my_host->error(rs->ctx, ENVSYNC_ERR_OTHER, "view %s.%s: cannot be created",
                                   dbname, rs->o[i].name);
            goto out;
        }
    for (k = 0; k < sizeof(order) / sizeof(order[0]); k++) {
        /* a rehearsal leaves events out: an enabled one could fire in the
         * new database before the swap */
        if (rehearsal && !strcmp(order[k], "event"))
            continue;
        for (i = 0; i < rs->no; i++)
            if (!strcmp(rs->o[i].type, order[k])
                && (s = create_object(rs, &rs->o[i], 0, dbname)) != ENVSYNC_OK)
                goto out;
    }
    /* triggers cannot travel with RENAME TABLE: the rehearsal's go again */
    for (i = 0; rehearsal && i < rs->no; i++)
        if (!strcmp(rs->o[i].type, "trigger")) {
            char *qn = qualified(qdb, rs->o[i].name);

            s = my_exec(rs->ctx, rs->m, "removal of a rehearsed trigger", "DROP TRIGGER %s",
                        qn ? qn : "``");
            free(qn);
            if (s != ENVSYNC_OK)
                goto out;
        }
out:
    free(done);
    return s;
}

/* Drop the views, routines and events of the target (new ones follow). */
static envsync_status
drop_target_objects(struct my_restore *rs)
{
    MYSQL_RES *res;
    MYSQL_ROW row;
    char *qd = my_qs(rs->m, rs->db);
    envsync_status s;
    es_buf sql = ES_BUF_INIT;

    s = my_query(rs->ctx, rs->m, "objects of the target", &res,
                 "SELECT 'VIEW', TABLE_NAME FROM information_schema.VIEWS WHERE TABLE_SCHEMA = %s"
                 " UNION ALL SELECT ROUTINE_TYPE, ROUTINE_NAME FROM information_schema.ROUTINES"
                 " WHERE ROUTINE_SCHEMA = %s AND ROUTINE_TYPE IN ('PROCEDURE', 'FUNCTION')"
                 " UNION ALL SELECT 'EVENT', EVENT_NAME FROM information_schema.EVENTS"
                 " WHERE EVENT_SCHEMA = %s", qd, qd, qd);
    free(qd);
    if (s != ENVSYNC_OK)
        return s;
    while (res && (row = mysql_fetch_row(res))) {
        es_buf_printf(&sql, "%sDROP %s IF EXISTS %s.", sql.len ? "; " : "", row[0], rs->qdb);
        my_qident(&sql, row[1]);
    }
    if (res)
        mysql_free_result(res);
    if (sql.len)
        s = my_exec_len(rs->ctx, rs->m, "removal of the target's views and routines",
                        sql.data, sql.len);
    es_buf_free(&sql);
    return s;
}

static void
free_obj(rs_obj *o)
{
    free(o->type);
    free(o->name);
    free(o->ddl);
    free(o->sql_mode);
    free(o->cs_client);
    free(o->coll_conn);
    free(o->time_zone);
}

/* Triggers cannot follow their table across databases: save and drop the
 * target's triggers before the RENAME. */
static envsync_status
take_target_triggers(struct my_restore *rs, rs_obj **out, size_t *nout)
{
    MYSQL_RES *res, *r2;
    MYSQL_ROW row, r = NULL;
    char *qd = my_qs(rs->m, rs->db);
    envsync_status s;
    size_t n = 0;

    *out = NULL;
    *nout = 0;
    s = my_query(rs->ctx, rs->m, "triggers of the target", &res,
                 "SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = %s"
                 " ORDER BY EVENT_OBJECT_TABLE, EVENT_MANIPULATION, ACTION_TIMING, ACTION_ORDER",
                 qd);
    free(qd);
    if (s != ENVSYNC_OK || !res)
        return s;
    *out = calloc(mysql_num_rows(res) + 1, sizeof(rs_obj));
    if (!*out) {
        mysql_free_result(res);
        return my_host->error(rs->ctx, ENVSYNC_ERR_OTHER, "out of memory");
    }
    while ((row = mysql_fetch_row(res))) {
        char *qn = qualified(rs->qdb, row[0]);
        char what[300];

        snprintf(what, sizeof(what), "trigger %s.%s", rs->db, row[0]);
        s = my_query(rs->ctx, rs->m, what, &r2, "SHOW CREATE TRIGGER %s", qn);
        if (s == ENVSYNC_OK && (!r2 || !(r = mysql_fetch_row(r2)) || mysql_num_fields(r2) < 5))
            s = my_host->error(rs->ctx, ENVSYNC_ERR_OTHER, "%s: SHOW CREATE TRIGGER: no result",
                               what);
        if (s == ENVSYNC_OK)
            s = my_exec(rs->ctx, rs->m, what, "DROP TRIGGER %s", qn);
        if (s == ENVSYNC_OK) {
            rs_obj *o = &(*out)[n++];

            o->type = strdup("trigger");
            o->name = strdup(row[0]);
            o->sql_mode = xstrdup(r[1]);
            o->ddl = xstrdup(r[2]);
            o->cs_client = xstrdup(r[3]);
            o->coll_conn = xstrdup(r[4]);
        }
        if (r2)
            mysql_free_result(r2);
        free(qn);
        if (s != ENVSYNC_OK)
            break;
    }
    *nout = n;
    mysql_free_result(res);
    return s;
}

/* After a failed swap: the target's triggers back (best effort); the
 * connection may be the one that was killed. */
static void
put_back_triggers(struct my_restore *rs, rs_obj *trig, size_t ntrig)
{
    size_t i;

    if (mysql_ping(rs->m) != 0) {
        MYSQL *m2 = NULL;

        if (my_connect(rs->ctx, &rs->st->c, NULL, "restore (trigger rollback)", &m2)
            != ENVSYNC_OK) {
            my_host->log(rs->ctx, ENVSYNC_LOG_ERROR,
                         "%zu trigger(s) of %s could not be put back after the failed swap",
                         ntrig, rs->db);
            return;
        }
        mysql_close(rs->m);
        rs->m = m2;
    }
    if (mysql_query(rs->m, "SET SESSION foreign_key_checks = 0") == 0
        && my_exec(rs->ctx, rs->m, "rollback", "USE %s", rs->qdb) == ENVSYNC_OK) {
        for (i = 0; i < ntrig; i++)
            if (create_object(rs, &trig[i], 0, rs->db) != ENVSYNC_OK)
                my_host->log(rs->ctx, ENVSYNC_LOG_ERROR,
                             "trigger %s.%s could not be put back: %s", rs->db,
                             trig[i].name, mysql_error(rs->m));
        my_host->log(rs->ctx, ENVSYNC_LOG_INFO, "%zu trigger(s) of %s put back", ntrig, rs->db);
    }
}

static envsync_status
swap(struct my_restore *rs)
{
    const my_conf *c = &rs->st->c;
    MYSQL_RES *res;
    MYSQL_ROW row;
    es_buf ren = ES_BUF_INIT, cs = ES_BUF_INIT;
    char *qd;
    envsync_status s;
    rs_obj *trig = NULL;
    size_t ntrig = 0, i;
    int replace = !strcmp(c->mode, "replace");

    if (rs->charset && rs->collation)
        es_buf_printf(&cs, " CHARACTER SET %s COLLATE %s", rs->charset, rs->collation);
    else
        es_buf_puts(&cs, "");
    if (replace) {
        s = my_exec(rs->ctx, rs->m, "replacement of the target database",
                    "DROP DATABASE IF EXISTS %s; CREATE DATABASE %s%s", rs->qdb, rs->qdb, cs.data);
    } else {
        s = my_exec(rs->ctx, rs->m, "preparation of the swap",
                    "CREATE DATABASE IF NOT EXISTS %s%s; CREATE DATABASE %s%s",
                    rs->qdb, cs.data, rs->qold, cs.data);
        if (s == ENVSYNC_OK && cs.len)
            s = my_exec(rs->ctx, rs->m, "charset of the target database",
                        "ALTER DATABASE %s%s", rs->qdb, cs.data);
    }
    if (s != ENVSYNC_OK)
        goto out;
    if (!replace && (s = take_target_triggers(rs, &trig, &ntrig)) != ENVSYNC_OK)
        goto out;
    s = my_host->cancelled(rs->ctx);
    if (s != ENVSYNC_OK)
        goto out;
    qd = my_qs(rs->m, rs->db);
    s = my_query(rs->ctx, rs->m, "tables of the target", &res,
                 "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s"
                 " AND TABLE_TYPE <> 'VIEW'", qd);
    free(qd);
    if (s != ENVSYNC_OK)
        goto out;
    while (res && (row = mysql_fetch_row(res))) {
        es_buf_puts(&ren, ren.len ? ", " : "RENAME TABLE ");
        es_buf_printf(&ren, "%s.", rs->qdb);
        my_qident(&ren, row[0]);
        es_buf_printf(&ren, " TO %s.", rs->qold);
        my_qident(&ren, row[0]);
    }
    if (res)
        mysql_free_result(res);
    for (i = 0; i < rs->nt; i++) {
        es_buf_puts(&ren, ren.len ? ", " : "RENAME TABLE ");
        es_buf_printf(&ren, "%s TO %s.", rs->t[i].qname, rs->qdb);
        my_qident(&ren, rs->t[i].name);
    }
    if (ren.len) {
        char what[300];

        snprintf(what, sizeof(what), "swap of %s and %s (RENAME TABLE)", rs->db, rs->newdb);
        s = my_exec_len(rs->ctx, rs->m, what, ren.data, ren.len);
        if (s != ENVSYNC_OK) {
            goto out;
        }
    }
    rs->swapped = 1;
    my_host->log(rs->ctx, ENVSYNC_LOG_INFO, "%s: %zu tables swapped in", rs->db, rs->nt);
    if ((s = drop_target_objects(rs)) != ENVSYNC_OK)
        goto out;
    if ((s = create_objects(rs, rs->qdb, rs->db, 0)) != ENVSYNC_OK)
        goto out;
    if (!replace) {
        if (c->keep_previous)
            my_host->log(rs->ctx, ENVSYNC_LOG_INFO, "previous tables kept in %s", rs->olddb);
        else
            s = my_exec(rs->ctx, rs->m, "removal of the previous tables",
                        "DROP DATABASE IF EXISTS %s", rs->qold);
    }
    if (s == ENVSYNC_OK)
        s = my_exec(rs->ctx, rs->m, "removal of the new database",
                    "DROP DATABASE IF EXISTS %s", rs->qnew);
out:
    if (s != ENVSYNC_OK && !rs->swapped && ntrig)
        put_back_triggers(rs, trig, ntrig);
    for (i = 0; i < ntrig; i++)
        free_obj(&trig[i]);
    free(trig);
    es_buf_free(&ren);
    es_buf_free(&cs);
    return s;
}

envsync_status
my_restore_finish(envsync_ctx *ctx, void *state)
{
    my_state *st = state;
    struct my_restore *rs = st->rs;
    envsync_status s;
    size_t i;

    if (!rs)
        return my_host->error(ctx, ENVSYNC_ERR_OTHER, "restore_finish before restore_begin");
    stop_workers(rs);
    if ((s = rs_failed(rs)) != ENVSYNC_OK)
        return s;
    if ((s = my_host->cancelled(ctx)) != ENVSYNC_OK)
        return s;
    if (rs->inline_indexes)
        my_host->log(ctx, ENVSYNC_LOG_INFO, "data loaded into %s; building indexes (%zu wide "
                     "table%s kept %s secondary indexes during the load)", rs->newdb,
                     rs->inline_indexes, rs->inline_indexes > 1 ? "s" : "",
                     rs->inline_indexes > 1 ? "their" : "its");
    else
        my_host->log(ctx, ENVSYNC_LOG_INFO, "data loaded into %s; building indexes", rs->newdb);
    if ((s = build_indexes(rs)) != ENVSYNC_OK)
        return s;
    for (i = 0; i < rs->npost; i++) {
        char what[300];

        snprintf(what, sizeof(what), "post-load SQL #%zu in %s", i + 1, rs->newdb);
        if ((s = my_exec(ctx, rs->m, what, "USE %s", rs->qnew)) != ENVSYNC_OK)
            return s;
        if ((s = my_exec_len(ctx, rs->m, what, rs->postload[i], strlen(rs->postload[i])))
            != ENVSYNC_OK)
            return s;
    }
    /* Create the views, triggers and routines in the new database first:
     * a definer the restoring user may not use, a missing privilege or a
     * dangling reference fails here, before the swap, with the target
     * untouched. */
    if ((s = create_objects(rs, rs->qnew, rs->newdb, 1)) != ENVSYNC_OK)
        return s;
    if ((s = my_host->cancelled(ctx)) != ENVSYNC_OK)
        return s;
    return swap(rs);
}

void
my_restore_abort(envsync_ctx *ctx, void *state)
{
    my_state *st = state;
    struct my_restore *rs = st->rs;
    MYSQL *m = NULL;

    if (!rs)
        return;
    rs_set_fail(rs, ENVSYNC_ERR_INTERRUPTED);
    stop_workers(rs);
    if (rs->m && mysql_ping(rs->m) == 0) {
        m = rs->m;
    } else if (my_connect(ctx, &rs->st->c, NULL, "restore cleanup", &m) != ENVSYNC_OK) {
        my_host->log(ctx, ENVSYNC_LOG_ERROR,
                     "cannot reconnect to remove %s; it will be removed by the next run",
                     rs->newdb);
        return;
    }
    if (mysql_query(m, "SET SESSION foreign_key_checks = 0") == 0) {
        es_buf q = ES_BUF_INIT;
        int bad;

        es_buf_printf(&q, "DROP DATABASE IF EXISTS %s", rs->qnew);
        bad = !q.data || mysql_real_query(m, q.data, (unsigned long)q.len);
        if (!bad && !rs->swapped) {
            /* created empty right before the failed swap */
            es_buf_reset(&q);
            es_buf_printf(&q, "DROP DATABASE IF EXISTS %s", rs->qold);
            bad = !q.data || mysql_real_query(m, q.data, (unsigned long)q.len);
        }
        if (bad)
            my_host->log(ctx, ENVSYNC_LOG_WARN, "removal of %s failed: %s", rs->newdb,
                         mysql_error(m));
        else
            my_host->log(ctx, ENVSYNC_LOG_INFO, "restore aborted; %s removed%s%s", rs->newdb,
                         rs->swapped ? "; the new tables are in place, the previous ones in "
                                     : ", target untouched",
                         rs->swapped ? rs->olddb : "");
        es_buf_free(&q);
    }
    if (m != rs->m)
        mysql_close(m);
}

void
my_restore_free(struct my_restore *rs)
{
    size_t i, k;

    if (!rs)
        return;
    if (rs->nth)
        stop_workers(rs);
    if (rs->m)
        mysql_close(rs->m);
    for (i = 0; i < rs->nt; i++) {
        free(rs->t[i].name);
        free(rs->t[i].qname);
        es_buf_free(&rs->t[i].indexes);
        es_buf_free(&rs->t[i].fulltext);
        es_buf_free(&rs->t[i].fks);
        for (k = 0; k < rs->t[i].ncols; k++)
            free(rs->t[i].cols[k].name);
        free(rs->t[i].cols);
    }
    free(rs->t);
    for (i = 0; i < rs->no; i++)
        free_obj(&rs->o[i]);
    free(rs->o);
    for (i = 0; i < rs->npost; i++)
        free(rs->postload[i]);
    free(rs->postload);
    free(rs->db);
    free(rs->newdb);
    free(rs->olddb);
    free(rs->qdb);
    free(rs->qnew);
    free(rs->qold);
    free(rs->srcdb);
    free(rs->charset);
    free(rs->collation);
    es_chunkpool_destroy(&rs->pool);
    pthread_mutex_destroy(&rs->mu);
    pthread_cond_destroy(&rs->cv);
    free(rs);
}
