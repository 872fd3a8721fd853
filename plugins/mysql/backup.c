/*
 * backup.c - consistent, parallel dump of one database.
 *
 * Snapshot: every worker connection runs START TRANSACTION WITH CONSISTENT
 * SNAPSHOT.  With more than one worker the snapshots are taken while the
 * coordinator holds the shortest global lock the server grants (MariaDB
 * BACKUP STAGE BLOCK_COMMIT, else FLUSH TABLES WITH READ LOCK), so all
 * workers see the same committed state; the lock is released as soon as
 * the last snapshot exists.  A server that refuses both (managed services
 * without RELOAD) gets one worker and a warning.  Option snapshot_lock
 * forces one kind of lock (refused = error) or none (always one worker).
 *
 * Entries, in order: META "database" (charset, collation, sql_mode,
 * versions), SCHEMA pre-data per table (SHOW CREATE TABLE, AUTO_INCREMENT
 * kept), SCHEMA post-data per view, trigger, routine and event (with the
 * sql_mode and charsets they were created under as attributes), then DATA
 * chunks of at most ~chunk_size bytes, every table's spread evenly over
 * the artifact (item_cmp) and interleaved as the workers produce them.
 * Every table with data gets at least one DATA
 * entry (possibly empty), so its row count is in the manifest.
 *
 * Tables with a single integer primary key and more data than one chunk
 * are split into key ranges so several workers dump one table.  The first
 * and last ranges are open-ended, so the ranges cover the key space
 * whatever the bounds were when they were computed.
 */
#include "my.h"

#include <inttypes.h>
#include <jansson.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rowcodec.h"

#define MAX_RANGES 256

typedef struct bk_table {
    char *name;
    char *qname;            /* `name` */
    es_buf select;          /* select list */
    es_buf columns;         /* TAB-separated stored column names */
    const char *where;      /* option `where`, or NULL */
    char *pk;               /* quoted single integer PK column, or NULL */
    int pk_unsigned;
    uint64_t data_length, index_length;  /* the server's estimates */
    int no_data;
    /* guarded by bk.mu */
    uint64_t seq;
    int remaining;
} bk_table;

typedef struct bk_item {
    bk_table *t;
    int has_lo, has_hi;
    char lo[24], hi[24];
    uint64_t k, parts;      /* this is range k of the table's parts */
} bk_item;

typedef struct bk {
    envsync_ctx *ctx;
    my_state *st;
    envsync_sink *out;
    const char *db;
    bk_table *t;
    size_t nt;
    bk_item *items;
    size_t nitems;
    pthread_mutex_t mu;
    size_t next;            /* next item */
    envsync_status fail;
    MYSQL **w;
    int nw;
} bk;

typedef struct bk_worker {
    bk *b;
    MYSQL *m;
    int id;
} bk_worker;

static int
matches_any(envsync_ctx *ctx, const char *opt, const char *name)
{
    size_t i, n = my_host->opt_list_count(ctx, opt);

    for (i = 0; i < n; i++)
        if (my_glob(my_host->opt_list_item(ctx, opt, i), name))
            return 1;
    return 0;
}

static int
included(envsync_ctx *ctx, const char *name)
{
    if (my_host->opt_list_count(ctx, "include") && !matches_any(ctx, "include", name))
        return 0;
    return !matches_any(ctx, "exclude", name);
}

static void
set_fail(bk *b, envsync_status s)
{
    pthread_mutex_lock(&b->mu);
    if (b->fail == ENVSYNC_OK)
        b->fail = s;
    pthread_mutex_unlock(&b->mu);
}

static envsync_status
failed(bk *b)
{
    envsync_status s;

    pthread_mutex_lock(&b->mu);
    s = b->fail;
    pthread_mutex_unlock(&b->mu);
    if (s == ENVSYNC_OK)
        s = my_host->cancelled(b->ctx);
    return s;
}

/* Put one DATA entry; seq is assigned under the lock so a table's chunks
 * reach the sink in seq order even when several workers dump it. */
static envsync_status
emit(bk *b, bk_table *t, const char *data, size_t len, uint64_t rows)
{
    envsync_entry e;
    envsync_status s;

    ENVSYNC_ENTRY_INIT(e, ENVSYNC_ENTRY_DATA);
    e.schema = b->db;
    e.object = t->name;
    e.columns = t->columns.data ? t->columns.data : "";
    e.rows = rows;
    pthread_mutex_lock(&b->mu);
    e.seq = t->seq++;
    s = b->out->put(b->out, &e, len ? data : "", len);
    pthread_mutex_unlock(&b->mu);
    return s;
}

static envsync_status
dump_item(bk *b, MYSQL *m, bk_item *it, es_buf *buf)
{
    bk_table *t = it->t;
    es_buf q = ES_BUF_INIT;
    MYSQL_RES *res;
    MYSQL_ROW row;
    uint64_t rows = 0, total = 0;
    unsigned nf, i;
    envsync_status s = ENVSYNC_OK;
    int last;
    char what[400];

    snprintf(what, sizeof(what), "backup of table %s.%s", b->db, t->name);
    es_buf_printf(&q, "SELECT %s FROM %s", t->select.data, t->qname);
    if (it->has_lo || it->has_hi || t->where) {
        const char *sep = " WHERE ";

        if (it->has_lo) {
            es_buf_printf(&q, "%s%s >= %s", sep, t->pk, it->lo);
            sep = " AND ";
        }
        if (it->has_hi) {
            es_buf_printf(&q, "%s%s < %s", sep, t->pk, it->hi);
            sep = " AND ";
        }
        if (t->where)
            es_buf_printf(&q, "%s(%s)", sep, t->where);
    }
    if (!q.data) {
        return my_host->error(b->ctx, ENVSYNC_ERR_OTHER, "%s: out of memory", what);
    }
    if (mysql_real_query(m, q.data, (unsigned long)q.len)) {
        es_buf_free(&q);
        return my_fail(b->ctx, m, what);
    }
    es_buf_free(&q);
    res = mysql_use_result(m);
    if (!res)
        return my_fail(b->ctx, m, what);
    nf = mysql_num_fields(res);
    es_buf_reset(buf);
    while ((row = mysql_fetch_row(res))) {
        unsigned long *lens = mysql_fetch_lengths(res);
        size_t row_start = buf->len;

        for (i = 0; i < nf; i++) {
            if ((i && es_buf_putc(buf, '\t') < 0)
                || es_row_escape(buf, row[i], row[i] ? lens[i] : 0) < 0) {
                s = my_host->error(b->ctx, ENVSYNC_ERR_OTHER, "%s: out of memory", what);
                goto out;
            }
        }
        if (es_buf_putc(buf, '\n') < 0) {
            s = my_host->error(b->ctx, ENVSYNC_ERR_OTHER, "%s: out of memory", what);
            goto out;
        }
        rows++;
        if (buf->len > b->st->c.chunk_size && row_start > 0) {
            /* this row would make the chunk too big: it starts the next */
            if ((s = emit(b, t, buf->data, row_start, rows - 1)) != ENVSYNC_OK)
                goto out;
            total += rows - 1;
            memmove(buf->data, buf->data + row_start, buf->len - row_start);
            buf->len -= row_start;
            buf->data[buf->len] = '\0';
            rows = 1;
        } else if (buf->len >= b->st->c.chunk_size) {
            /* exactly full, or one row alone larger than a chunk */
            if ((s = emit(b, t, buf->data, buf->len, rows)) != ENVSYNC_OK)
                goto out;
            total += rows;
            rows = 0;
            es_buf_reset(buf);
        }
        if ((rows & 1023) == 0 && (s = failed(b)) != ENVSYNC_OK)
            goto out;
    }
    if (mysql_errno(m)) {
        s = my_fail(b->ctx, m, what);
        goto out;
    }
    total += rows;
    if (rows > 0 && (s = emit(b, t, buf->data, buf->len, rows)) != ENVSYNC_OK)
        goto out;
    /* every table gets at least one entry: when the last range of a table
     * finishes and nothing was emitted for it, emit an empty chunk */
    pthread_mutex_lock(&b->mu);
    last = --t->remaining == 0 && t->seq == 0;
    pthread_mutex_unlock(&b->mu);
    es_buf_reset(buf);
    if (last)
        s = emit(b, t, "", 0, 0);
    if (s == ENVSYNC_OK)
        my_host->log(b->ctx, ENVSYNC_LOG_DEBUG, "table %s%s%s%s%s: %llu rows", t->name,
                     it->has_lo ? " from " : "", it->has_lo ? it->lo : "",
                     it->has_hi ? " below " : "", it->has_hi ? it->hi : "",
                     (unsigned long long)total);
out:
    mysql_free_result(res);
    return s;
}

static void *
worker_main(void *arg)
{
    bk_worker *wk = arg;
    bk *b = wk->b;
    es_buf buf = ES_BUF_INIT;

    for (;;) {
        bk_item *it = NULL;
        envsync_status s;

        pthread_mutex_lock(&b->mu);
        if (b->fail == ENVSYNC_OK && b->next < b->nitems)
            it = &b->items[b->next++];
        pthread_mutex_unlock(&b->mu);
        if (!it)
            break;
        if ((s = my_host->cancelled(b->ctx)) != ENVSYNC_OK) {
            set_fail(b, s);
            break;
        }
        s = dump_item(b, wk->m, it, &buf);
        if (s != ENVSYNC_OK) {
            set_fail(b, s);
            break;
        }
    }
    es_buf_free(&buf);
    return NULL;
}

/* ---------------------------------------------------------------- schema */

static envsync_status
put_schema(bk *b, const char *section, const char *object, const char *type,
           const char *ddl, envsync_attr *extra, size_t nextra)
{
    envsync_entry e;
    envsync_attr attrs[8];
    size_t n = 0, i;

    ENVSYNC_ENTRY_INIT(e, ENVSYNC_ENTRY_SCHEMA);
    e.schema = b->db;
    e.object = object;
    e.section = section;
    attrs[n].key = "type";
    attrs[n++].value = type;
    for (i = 0; i < nextra && n < 8; i++)
        if (extra[i].value)
            attrs[n++] = extra[i];
    e.attrs = attrs;
    e.nattrs = n;
    return b->out->put(b->out, &e, ddl, strlen(ddl));
}

/* SHOW CREATE <kind> for one object: the DDL is in column `ddl_col`; the
 * columns named in keys[] (result column names) become attributes, and so
 * do the nextra attributes in extra. */
static envsync_status
dump_object(bk *b, MYSQL *m, const char *kind, const char *type, const char *name,
            const envsync_attr *extra, size_t nextra)
{
    static const struct { const char *col, *attr; } map[] = {
        { "sql_mode", "sql_mode" },
        { "character_set_client", "character_set_client" },
        { "collation_connection", "collation_connection" },
        { "Database Collation", "collation_database" },
        { "time_zone", "time_zone" },
    };
    MYSQL_RES *res;
    MYSQL_ROW row;
    MYSQL_FIELD *f;
    unsigned nf, i, k;
    char *q = my_qid(name);
    char what[300];
    envsync_attr attrs[8];
    size_t na = 0;
    const char *ddl = NULL;
    envsync_status s;

    snprintf(what, sizeof(what), "SHOW CREATE %s %s.%s", kind, b->db, name);
    s = my_query(b->ctx, m, what, &res, "SHOW CREATE %s %s", kind, q ? q : "``");
    free(q);
    if (s != ENVSYNC_OK)
        return s;
    row = res ? mysql_fetch_row(res) : NULL;
    if (!row) {
        if (res)
            mysql_free_result(res);
        return my_host->error(b->ctx, ENVSYNC_ERR_INTEGRITY, "%s: no result", what);
    }
    nf = mysql_num_fields(res);
    f = mysql_fetch_fields(res);
    for (i = 0; i < nf; i++) {
        if (!strncmp(f[i].name, "Create ", 7) || !strcmp(f[i].name, "SQL Original Statement"))
            ddl = row[i];
        for (k = 0; k < sizeof(map) / sizeof(map[0]); k++)
            if (!strcmp(f[i].name, map[k].col) && na < 8) {
                attrs[na].key = map[k].attr;
                attrs[na++].value = row[i] ? row[i] : "";
            }
    }
    if (!ddl) {
        mysql_free_result(res);
        return my_host->error(b->ctx, ENVSYNC_ERR_AUTH,
                              "%s: definition not visible (missing privilege?)", what);
    }
    for (i = 0; i < nextra && na < 8; i++)
        attrs[na++] = extra[i];
    s = put_schema(b, !strcmp(type, "table") ? "pre-data" : "post-data", name, type,
                   ddl, attrs, na);
    mysql_free_result(res);
    return s;
}

static envsync_status
dump_post_objects(bk *b, MYSQL *m, char **views, size_t nviews)
{
    MYSQL_RES *res;
    MYSQL_ROW row;
    envsync_status s;
    size_t i;

    for (i = 0; i < nviews; i++)
        if ((s = dump_object(b, m, "VIEW", "view", views[i], NULL, 0)) != ENVSYNC_OK)
            return s;
    s = my_query(b->ctx, m, "list of triggers", &res,
                 "SELECT TRIGGER_NAME, EVENT_OBJECT_TABLE FROM information_schema.TRIGGERS"
                 " WHERE TRIGGER_SCHEMA = DATABASE() ORDER BY EVENT_OBJECT_TABLE,"
                 " EVENT_MANIPULATION, ACTION_TIMING, ACTION_ORDER");
    if (s != ENVSYNC_OK)
        return s;
    while (res && (row = mysql_fetch_row(res))) {
        if (!included(b->ctx, row[1]))
            continue;
        if ((s = dump_object(b, m, "TRIGGER", "trigger", row[0], NULL, 0)) != ENVSYNC_OK) {
            mysql_free_result(res);
            return s;
        }
    }
    if (res)
        mysql_free_result(res);
    s = my_query(b->ctx, m, "list of routines", &res,
                 "SELECT ROUTINE_TYPE, ROUTINE_NAME FROM information_schema.ROUTINES"
                 " WHERE ROUTINE_SCHEMA = DATABASE()"
                 " AND ROUTINE_TYPE IN ('PROCEDURE', 'FUNCTION')"
                 " ORDER BY ROUTINE_TYPE, ROUTINE_NAME");
    if (s != ENVSYNC_OK)
        return s;
    while (res && (row = mysql_fetch_row(res))) {
        int proc = !strcmp(row[0], "PROCEDURE");

        s = dump_object(b, m, proc ? "PROCEDURE" : "FUNCTION", proc ? "procedure" : "function",
                        row[1], NULL, 0);
        if (s != ENVSYNC_OK) {
            mysql_free_result(res);
            return s;
        }
    }
    if (res)
        mysql_free_result(res);
    s = my_query(b->ctx, m, "list of events", &res,
                 "SELECT EVENT_NAME FROM information_schema.EVENTS"
                 " WHERE EVENT_SCHEMA = DATABASE() ORDER BY EVENT_NAME");
    if (s != ENVSYNC_OK)
        return s;
    while (res && (row = mysql_fetch_row(res))) {
        if ((s = dump_object(b, m, "EVENT", "event", row[0], NULL, 0)) != ENVSYNC_OK) {
            mysql_free_result(res);
            return s;
        }
    }
    if (res)
        mysql_free_result(res);
    return ENVSYNC_OK;
}

static bk_table *
find_table(bk *b, const char *name)
{
    size_t i;

    for (i = 0; i < b->nt; i++)
        if (!strcmp(b->t[i].name, name))
            return &b->t[i];
    return NULL;
}

/* Columns, select lists and single-column integer primary keys. */
static envsync_status
load_columns(bk *b, MYSQL *m)
{
    MYSQL_RES *res;
    MYSQL_ROW row;
    envsync_status s;

    s = my_query(b->ctx, m, "list of columns", &res,
                 "SELECT TABLE_NAME, COLUMN_NAME, DATA_TYPE,"
                 " (EXTRA LIKE '%%VIRTUAL%%' OR EXTRA LIKE '%%STORED%%'"
                 "  OR EXTRA LIKE '%%PERSISTENT%%') AS gen, COLUMN_TYPE"
                 " FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE()"
                 " ORDER BY TABLE_NAME, ORDINAL_POSITION");
    if (s != ENVSYNC_OK)
        return s;
    while (res && (row = mysql_fetch_row(res))) {
        bk_table *t = find_table(b, row[0]);
        char *q;

        if (!t || !strcmp(row[3], "1"))
            continue;
        q = my_qid(row[1]);
        if (!q) {
            mysql_free_result(res);
            return my_host->error(b->ctx, ENVSYNC_ERR_OTHER, "out of memory");
        }
        if (t->select.len)
            es_buf_putc(&t->select, ',');
        if (t->columns.len)
            es_buf_putc(&t->columns, '\t');
        es_buf_puts(&t->columns, row[1]);
        if (!strcmp(row[2], "float"))
            es_buf_printf(&t->select, "CAST(%s AS DOUBLE)", q);
        else if (!strcmp(row[2], "bit"))
            es_buf_printf(&t->select, "%s+0", q);
        else
            es_buf_puts(&t->select, q);
        free(q);
    }
    if (res)
        mysql_free_result(res);

    s = my_query(b->ctx, m, "list of primary keys", &res,
                 "SELECT k.TABLE_NAME, MIN(k.COLUMN_NAME), COUNT(*), MIN(c.DATA_TYPE),"
                 " MIN(c.COLUMN_TYPE LIKE '%%unsigned%%')"
                 " FROM information_schema.STATISTICS k JOIN information_schema.COLUMNS c"
                 " ON c.TABLE_SCHEMA = k.TABLE_SCHEMA AND c.TABLE_NAME = k.TABLE_NAME"
                 " AND c.COLUMN_NAME = k.COLUMN_NAME"
                 " WHERE k.TABLE_SCHEMA = DATABASE() AND k.INDEX_NAME = 'PRIMARY'"
                 " GROUP BY k.TABLE_NAME");
    if (s != ENVSYNC_OK)
        return s;
    while (res && (row = mysql_fetch_row(res))) {
        bk_table *t = find_table(b, row[0]);

        if (!t || strcmp(row[2], "1"))
            continue;
        if (strcmp(row[3], "tinyint") && strcmp(row[3], "smallint")
            && strcmp(row[3], "mediumint") && strcmp(row[3], "int")
            && strcmp(row[3], "bigint"))
            continue;
        t->pk = my_qid(row[1]);
        t->pk_unsigned = row[4] && !strcmp(row[4], "1");
    }
    if (res)
        mysql_free_result(res);
    return ENVSYNC_OK;
}

static int
parse_i128(const char *s, __int128 *v)
{
    int neg = 0;
    __int128 r = 0;

    if (!s || !*s)
        return -1;
    if (*s == '-') {
        neg = 1;
        s++;
    }
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        r = r * 10 + (*s - '0');
    }
    *v = neg ? -r : r;
    return 0;
}

static void
fmt_i128(char *out, size_t cap, __int128 v, int is_unsigned)
{
    if (is_unsigned)
        snprintf(out, cap, "%llu", (unsigned long long)v);
    else
        snprintf(out, cap, "%lld", (long long)v);
}

/*
 * Work order: range k of a table split into P ranges sits at k/P of the
 * way through the dump, so every table's chunks are spread evenly over
 * the artifact instead of coming one table after another.  The restore
 * takes chunks in artifact order; two adjacent chunks of one table would
 * make its workers wait on each other (InnoDB's table-level AUTO-INC lock
 * serialises LOAD DATA into one table), chunks of different tables load
 * side by side.  Ties, among them every table's first range at 0, go to
 * the bigger table first, so a large table that cannot be split starts
 * at once and does not finish the dump alone.
 */
static int
item_cmp(const void *a, const void *b)
{
    const bk_item *x = a, *y = b;
    unsigned __int128 px = (unsigned __int128)x->k * y->parts;
    unsigned __int128 py = (unsigned __int128)y->k * x->parts;

    if (px != py)
        return px < py ? -1 : 1;
    if (x->t->data_length != y->t->data_length)
        return x->t->data_length > y->t->data_length ? -1 : 1;
    return x->t < y->t ? -1 : x->t > y->t ? 1 : 0;
}

static envsync_status
plan(bk *b, MYSQL *m)
{
    size_t i, n = 0, cap = b->nt + 16;
    envsync_status s;

    b->items = calloc(cap, sizeof(*b->items));
    if (!b->items)
        return my_host->error(b->ctx, ENVSYNC_ERR_OTHER, "out of memory");
    for (i = 0; i < b->nt; i++) {
        bk_table *t = &b->t[i];
        uint64_t parts = 1;
        __int128 lo = 0, hi = 0;

        if (t->no_data || !t->select.len)
            continue;
        if (t->pk && b->nw > 1 && t->data_length > b->st->c.chunk_size) {
            MYSQL_RES *res;
            MYSQL_ROW row;
            char what[300];

            snprintf(what, sizeof(what), "key range of %s.%s", b->db, t->name);
            s = my_query(b->ctx, m, what, &res, "SELECT MIN(%s), MAX(%s) FROM %s",
                         t->pk, t->pk, t->qname);
            if (s != ENVSYNC_OK)
                return s;
            row = res ? mysql_fetch_row(res) : NULL;
            if (row && !parse_i128(row[0], &lo) && !parse_i128(row[1], &hi) && hi > lo) {
                parts = t->data_length / b->st->c.chunk_size + 1;
                if (parts > MAX_RANGES)
                    parts = MAX_RANGES;
                if ((__int128)parts > hi - lo)
                    parts = (uint64_t)(hi - lo);
            }
            if (res)
                mysql_free_result(res);
        }
        if (n + parts > cap) {
            bk_item *ni = realloc(b->items, (cap = n + parts + 16) * sizeof(*ni));

            if (!ni)
                return my_host->error(b->ctx, ENVSYNC_ERR_OTHER, "out of memory");
            b->items = ni;
        }
        t->remaining = (int)parts;
        if (parts == 1) {
            memset(&b->items[n], 0, sizeof(b->items[n]));
            b->items[n].t = t;
            b->items[n].parts = 1;
            n++;
        } else {
            __int128 step = (hi - lo) / (__int128)parts + 1;
            uint64_t k;

            for (k = 0; k < parts; k++) {
                bk_item *it = &b->items[n++];

                memset(it, 0, sizeof(*it));
                it->t = t;
                it->k = k;
                it->parts = parts;
                if (k > 0) {
                    it->has_lo = 1;
                    fmt_i128(it->lo, sizeof(it->lo), lo + step * (__int128)k, t->pk_unsigned);
                }
                if (k + 1 < parts) {
                    it->has_hi = 1;
                    fmt_i128(it->hi, sizeof(it->hi), lo + step * (__int128)(k + 1),
                             t->pk_unsigned);
                }
            }
        }
    }
    b->nitems = n;
    qsort(b->items, n, sizeof(*b->items), item_cmp);
    return ENVSYNC_OK;
}

/* ---------------------------------------------------------------- snapshot */

typedef enum { LOCK_NONE, LOCK_BACKUP_STAGE, LOCK_FTWRL } lock_kind;

/* A lock forced by snapshot_lock was refused: the error names the
 * database, the setting and the statement, with the server's reason
 * (1227 "you need the RELOAD privilege" maps to exit 6).  Read before any
 * cleanup statement overwrites the connection's error. */
static envsync_status
lock_refused(bk *b, MYSQL *m, const char *setting, const char *stmt)
{
    char what[300];

    snprintf(what, sizeof(what), "database %s: snapshot_lock = \"%s\": %s", b->db, setting,
             stmt);
    return my_fail(b->ctx, m, what);
}

/* Take the global lock that makes the workers' snapshots start at the same
 * committed state.  snapshot_lock = auto tries BACKUP STAGE, then FTWRL,
 * and when the server refuses both sets *lk = LOCK_NONE with a warning
 * (the caller dumps with one connection).  backup_stage and ftwrl try
 * their statement only and fail when it is refused: someone who chose a
 * lock wants to hear that it cannot be had, not get a slower dump. */
static envsync_status
take_lock(bk *b, MYSQL *m, lock_kind *lk)
{
    my_snapshot_lock mode = b->st->c.snapshot_lock;

    *lk = LOCK_NONE;
    if (mode == MY_SNAPSHOT_LOCK_AUTO || mode == MY_SNAPSHOT_LOCK_BACKUP_STAGE) {
        if (!mysql_query(m, "BACKUP STAGE START")) {
            if (!mysql_query(m, "BACKUP STAGE BLOCK_COMMIT")) {
                *lk = LOCK_BACKUP_STAGE;
                return ENVSYNC_OK;
            }
            if (mode == MY_SNAPSHOT_LOCK_BACKUP_STAGE) {
                envsync_status s = lock_refused(b, m, "backup_stage",
                                                "BACKUP STAGE BLOCK_COMMIT");

                (void)mysql_query(m, "BACKUP STAGE END");
                return s;
            }
            my_host->log(b->ctx, ENVSYNC_LOG_DEBUG, "BACKUP STAGE BLOCK_COMMIT refused: %s",
                         mysql_error(m));
            (void)mysql_query(m, "BACKUP STAGE END");
        } else if (mode == MY_SNAPSHOT_LOCK_BACKUP_STAGE) {
            return lock_refused(b, m, "backup_stage", "BACKUP STAGE START");
        } else {
            my_host->log(b->ctx, ENVSYNC_LOG_DEBUG, "BACKUP STAGE START refused: %s",
                         mysql_error(m));
        }
    }
    if (!mysql_query(m, "FLUSH TABLES WITH READ LOCK")) {
        *lk = LOCK_FTWRL;
        return ENVSYNC_OK;
    }
    if (mode == MY_SNAPSHOT_LOCK_FTWRL)
        return lock_refused(b, m, "ftwrl", "FLUSH TABLES WITH READ LOCK");
    my_host->log(b->ctx, ENVSYNC_LOG_WARN,
                 "database %s: the server refused a global lock (%s); dumping with one "
                 "connection instead of %d to keep the snapshot consistent",
                 b->db, mysql_error(m), b->nw);
    return ENVSYNC_OK;
}

static void
release_lock(MYSQL *m, lock_kind k)
{
    if (k == LOCK_BACKUP_STAGE)
        (void)mysql_query(m, "BACKUP STAGE END");
    else if (k == LOCK_FTWRL)
        (void)mysql_query(m, "UNLOCK TABLES");
}

static envsync_status
start_snapshots(bk *b, MYSQL *coord)
{
    my_conf *c = &b->st->c;
    envsync_status s;
    lock_kind lk = LOCK_NONE;
    int i, n = c->jobs;

    if (c->snapshot_lock == MY_SNAPSHOT_LOCK_NONE && n > 1) {
        my_host->log(b->ctx, ENVSYNC_LOG_INFO,
                     "database %s: snapshot_lock = \"none\": dumping with one connection "
                     "instead of %d, without a global lock", b->db, n);
        n = 1;
    }
    b->w = calloc((size_t)n, sizeof(*b->w));
    if (!b->w)
        return my_host->error(b->ctx, ENVSYNC_ERR_OTHER, "out of memory");
    for (i = 0; i < n; i++) {
        char what[64];

        snprintf(what, sizeof(what), "backup worker %d", i + 1);
        if ((s = my_connect(b->ctx, c, b->db, what, &b->w[i])) != ENVSYNC_OK)
            return s;
        b->nw = i + 1;
    }
    /* one connection needs no lock, whatever snapshot_lock says */
    if (b->nw > 1) {
        if ((s = take_lock(b, coord, &lk)) != ENVSYNC_OK)
            return s;
        if (lk == LOCK_NONE) {
            while (b->nw > 1)
                mysql_close(b->w[--b->nw]);
        }
    }
    for (i = 0; i < b->nw; i++) {
        s = my_exec(b->ctx, b->w[i], "start of the snapshot transaction",
                    "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ;"
                    " START TRANSACTION WITH CONSISTENT SNAPSHOT;"
                    " SET SESSION character_set_results = binary");
        if (s != ENVSYNC_OK) {
            release_lock(coord, lk);
            return s;
        }
    }
    release_lock(coord, lk);
    my_host->log(b->ctx, ENVSYNC_LOG_INFO, "snapshot of %s taken by %d connection%s%s", b->db,
                 b->nw, b->nw > 1 ? "s" : "",
                 lk == LOCK_BACKUP_STAGE ? " under BACKUP STAGE BLOCK_COMMIT"
                 : lk == LOCK_FTWRL ? " under FLUSH TABLES WITH READ LOCK" : "");
    return ENVSYNC_OK;
}

/* ---------------------------------------------------------------- main */

static envsync_status
emit_meta(bk *b, MYSQL *m, char **info)
{
    MYSQL_RES *res;
    MYSQL_ROW row;
    envsync_status s;
    json_t *meta;
    char *text;
    envsync_entry e;

    s = my_query(b->ctx, m, "server settings", &res,
                 "SELECT VERSION(), @@GLOBAL.sql_mode, @@character_set_database,"
                 " @@collation_database, @@version_comment");
    if (s != ENVSYNC_OK)
        return s;
    row = res ? mysql_fetch_row(res) : NULL;
    if (!row) {
        if (res)
            mysql_free_result(res);
        return my_host->error(b->ctx, ENVSYNC_ERR_OTHER, "server settings: no result");
    }
    meta = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}",
                     "database", b->db, "server_version", row[0] ? row[0] : "",
                     "sql_mode", row[1] ? row[1] : "", "character_set", row[2] ? row[2] : "",
                     "collation", row[3] ? row[3] : "", "time_zone", "+00:00");
    *info = NULL;
    {
        json_t *inf = json_pack("{s:s, s:s, s:s}", "server_version", row[0] ? row[0] : "",
                                "server", row[4] ? row[4] : "", "database", b->db);

        if (inf) {
            *info = json_dumps(inf, JSON_COMPACT);
            json_decref(inf);
        }
    }
    mysql_free_result(res);
    if (!meta)
        return my_host->error(b->ctx, ENVSYNC_ERR_OTHER, "out of memory");
    text = json_dumps(meta, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(meta);
    if (!text)
        return my_host->error(b->ctx, ENVSYNC_ERR_OTHER, "out of memory");
    ENVSYNC_ENTRY_INIT(e, ENVSYNC_ENTRY_META);
    e.schema = b->db;
    e.object = "database";
    s = b->out->put(b->out, &e, text, strlen(text));
    free(text);
    return s;
}

static envsync_status
list_tables(bk *b, MYSQL *m, char ***views, size_t *nviews)
{
    MYSQL_RES *res;
    MYSQL_ROW row;
    envsync_status s;
    size_t cap = 0;

    s = my_query(b->ctx, m, "list of tables", &res,
                 "SELECT TABLE_NAME, TABLE_TYPE, COALESCE(DATA_LENGTH, 0),"
                 " COALESCE(INDEX_LENGTH, 0)"
                 " FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()"
                 " ORDER BY TABLE_NAME");
    if (s != ENVSYNC_OK)
        return s;
    b->t = calloc(res ? mysql_num_rows(res) + 1 : 1, sizeof(*b->t));
    *views = calloc(res ? mysql_num_rows(res) + 1 : 1, sizeof(**views));
    if (!b->t || !*views) {
        if (res)
            mysql_free_result(res);
        return my_host->error(b->ctx, ENVSYNC_ERR_OTHER, "out of memory");
    }
    (void)cap;
    while (res && (row = mysql_fetch_row(res))) {
        if (!included(b->ctx, row[0]))
            continue;
        if (!strcmp(row[1], "VIEW")) {
            (*views)[(*nviews)++] = strdup(row[0]);
        } else if (!strcmp(row[1], "BASE TABLE") || !strcmp(row[1], "SYSTEM VERSIONED")) {
            bk_table *t = &b->t[b->nt++];

            t->name = strdup(row[0]);
            t->qname = my_qid(row[0]);
            t->data_length = strtoull(row[2], NULL, 10);
            t->index_length = strtoull(row[3], NULL, 10);
            t->no_data = matches_any(b->ctx, "exclude_data", row[0]);
        } else {
            my_host->log(b->ctx, ENVSYNC_LOG_WARN, "%s.%s: %s not supported, left out",
                         b->db, row[0], row[1]);
        }
    }
    if (res)
        mysql_free_result(res);
    return ENVSYNC_OK;
}

static envsync_status
apply_where(bk *b)
{
    size_t i, n = my_host->opt_list_count(b->ctx, "where");

    for (i = 0; i < n; i++) {
        const char *item = my_host->opt_list_item(b->ctx, "where", i);
        const char *colon = strchr(item, ':');
        char name[256];
        size_t len;
        bk_table *t;

        if (!colon || colon == item || (size_t)(colon - item) >= sizeof(name))
            return my_host->error(b->ctx, ENVSYNC_ERR_CONFIG,
                                  "%s: where item \"%s\" is not \"table: predicate\"",
                                  my_host->opt_where(b->ctx, "where"), item);
        len = (size_t)(colon - item);
        while (len && item[len - 1] == ' ')
            len--;
        memcpy(name, item, len);
        name[len] = '\0';
        colon++;
        while (*colon == ' ')
            colon++;
        t = find_table(b, name);
        if (!t) {
            my_host->log(b->ctx, ENVSYNC_LOG_WARN, "%s: where: table %s.%s not dumped",
                         my_host->opt_where(b->ctx, "where"), b->db, name);
            continue;
        }
        t->where = colon;
    }
    return ENVSYNC_OK;
}

envsync_status
my_backup(envsync_ctx *ctx, void *state, envsync_sink *out, char **info)
{
    my_state *st = state;
    bk b;
    MYSQL *m = NULL;
    envsync_status s;
    char **views = NULL;
    size_t nviews = 0, i;
    pthread_t *th = NULL;
    bk_worker *wk = NULL;
    int started = 0, k;

    memset(&b, 0, sizeof(b));
    b.ctx = ctx;
    b.st = st;
    b.out = out;
    b.db = st->c.database;
    pthread_mutex_init(&b.mu, NULL);

    if ((s = my_connect(ctx, &st->c, b.db, "backup", &m)) != ENVSYNC_OK)
        goto out;
    if ((s = list_tables(&b, m, &views, &nviews)) != ENVSYNC_OK)
        goto out;
    if ((s = apply_where(&b)) != ENVSYNC_OK)
        goto out;
    if ((s = start_snapshots(&b, m)) != ENVSYNC_OK)
        goto out;
    if ((s = emit_meta(&b, m, info)) != ENVSYNC_OK)
        goto out;
    for (i = 0; i < b.nt; i++) {
        es_buf_init(&b.t[i].select, 0);
        es_buf_init(&b.t[i].columns, 0);
        /* size estimates: the restore decides per table whether building
         * the secondary indexes after the load pays */
        char dl[24], il[24];
        envsync_attr sz[2] = { { "data_length", dl }, { "index_length", il } };
        snprintf(dl, sizeof dl, "%" PRIu64, b.t[i].data_length);
        snprintf(il, sizeof il, "%" PRIu64, b.t[i].index_length);
        if ((s = dump_object(&b, m, "TABLE", "table", b.t[i].name, sz, 2)) != ENVSYNC_OK)
            goto out;
    }
    if ((s = dump_post_objects(&b, m, views, nviews)) != ENVSYNC_OK)
        goto out;
    if ((s = load_columns(&b, m)) != ENVSYNC_OK)
        goto out;
    if ((s = plan(&b, m)) != ENVSYNC_OK)
        goto out;
    my_host->log(ctx, ENVSYNC_LOG_INFO, "dumping %zu tables (%zu work items) with %d worker%s",
                 b.nt, b.nitems, b.nw, b.nw > 1 ? "s" : "");
    th = calloc((size_t)b.nw, sizeof(*th));
    wk = calloc((size_t)b.nw, sizeof(*wk));
    if (!th || !wk) {
        s = my_host->error(ctx, ENVSYNC_ERR_OTHER, "out of memory");
        goto out;
    }
    for (k = 0; k < b.nw; k++) {
        wk[k].b = &b;
        wk[k].m = b.w[k];
        wk[k].id = k;
        if (pthread_create(&th[k], NULL, worker_main, &wk[k])) {
            set_fail(&b, my_host->error(ctx, ENVSYNC_ERR_OTHER, "cannot start a thread"));
            break;
        }
        started++;
    }
    for (k = 0; k < started; k++)
        pthread_join(th[k], NULL);
    s = b.fail;
    if (s == ENVSYNC_OK)
        s = my_host->cancelled(ctx);
out:
    free(th);
    free(wk);
    for (k = 0; k < b.nw; k++)
        if (b.w[k])
            mysql_close(b.w[k]);
    free(b.w);
    if (m)
        mysql_close(m);
    for (i = 0; i < b.nt; i++) {
        free(b.t[i].name);
        free(b.t[i].qname);
        free(b.t[i].pk);
        es_buf_free(&b.t[i].select);
        es_buf_free(&b.t[i].columns);
    }
    free(b.t);
    free(b.items);
    for (i = 0; i < nviews; i++)
        free(views[i]);
    free(views);
    pthread_mutex_destroy(&b.mu);
#ifdef __GLIBC__
    /* the workers' chunk buffers came from per-thread arenas: give the
     * memory back before a restore in the same process needs its own */
    malloc_trim(0);
#endif
    return s;
}
