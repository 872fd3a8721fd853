/*
 * backup.c - one snapshot, many COPY streams.
 *
 * The coordinator connection opens a REPEATABLE READ READ ONLY transaction,
 * exports its snapshot, reads the catalog in it and takes ACCESS SHARE
 * locks on every table it will copy (so a concurrent DROP or ALTER waits
 * for the backup instead of breaking it).  `jobs` worker threads each open
 * a connection, adopt the snapshot (SET TRANSACTION SNAPSHOT), take the
 * same locks and pull tables from a shared list (largest first), streaming
 * `COPY ... TO STDOUT` and cutting the rows into DATA entries of at most
 * chunk_size bytes.  pg_dump, given the same snapshot, supplies the DDL.
 *
 * Entry order in the artifact (restore relies on it):
 *   META database, SCHEMA pre-data, SCHEMA post-data, DATA and BLOB
 *   (interleaved; after a table's last chunk an empty DATA entry says its
 *   data is complete, so a restore can build its indexes while other
 *   tables still load), POSTLOAD sequences, POSTLOAD refresh.
 *
 * Locks: nothing requests a new table lock once the workers run (see
 * pg_backup), so a DROP TABLE issued during the backup waits for it and
 * cannot wedge it.
 */
#include "config.h"
#include "pg.h"
#include "dbsettings.h"

#include <fnmatch.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct bk_table {
    char *schema, *name, *cols;  /* cols: TAB-separated, plain names */
    char *where;                 /* row filter or NULL */
    int data;                    /* copy rows */
    int64_t pages;               /* pg_relation_size / block size */
    uint64_t next_seq;           /* next chunk number (under bk_run.mu) */
    size_t units_left;           /* parts not yet copied (under bk_run.mu) */
} bk_table;

/* A unit of work: a whole table, or a range of its pages (big tables are
 * copied in parts in parallel; TID range scans, PostgreSQL 14+). */
typedef struct bk_unit {
    size_t table;
    int64_t from, to;            /* pages [from, to); from < 0: whole table;
                                  * to < 0: to the end */
} bk_unit;

typedef struct bk_run {
    envsync_ctx *ctx;
    pg_state *s;
    envsync_sink *out;
    char snapshot[128];
    bk_table *tables;
    size_t ntables, next;
    bk_unit *units;
    size_t nunits;
    char *lock_sql;
    int lock_each;               /* workers lock per table, NOWAIT (many tables) */
    pthread_mutex_t mu;
    pg_err err;
} bk_run;

int
pg_pattern_match(const char *pattern, const char *schema, const char *name)
{
    es_buf full = ES_BUF_INIT;
    int m;

    if (!strchr(pattern, '.'))
        return fnmatch(pattern, name, 0) == 0;
    es_buf_printf(&full, "%s.%s", schema, name);
    m = full.data && fnmatch(pattern, full.data, 0) == 0;
    es_buf_free(&full);
    return m;
}

static int
list_match(envsync_ctx *ctx, const char *opt, const char *schema, const char *name,
           const char *rschema, const char *rname)
{
    size_t i, n = pg_host->opt_list_count(ctx, opt);

    for (i = 0; i < n; i++) {
        const char *p = pg_host->opt_list_item(ctx, opt, i);
        if (pg_pattern_match(p, schema, name) || pg_pattern_match(p, rschema, rname))
            return 1;
    }
    return 0;
}

static int
selected(envsync_ctx *ctx, const char *schema, const char *name, const char *rschema,
         const char *rname)
{
    if (pg_host->opt_list_count(ctx, "include") > 0 &&
        !list_match(ctx, "include", schema, name, rschema, rname))
        return 0;
    return !list_match(ctx, "exclude", schema, name, rschema, rname);
}

/* "schema.table: predicate" -> predicate for the first matching item. */
static char *
where_for(envsync_ctx *ctx, const char *schema, const char *name, const char *rschema,
          const char *rname)
{
    size_t i, n = pg_host->opt_list_count(ctx, "where");

    for (i = 0; i < n; i++) {
        const char *item = pg_host->opt_list_item(ctx, "where", i);
        const char *colon = strchr(item, ':');
        char *pat;
        size_t pl;
        int m;
        if (!colon)
            continue;
        pl = (size_t)(colon - item);
        while (pl > 0 && (item[pl - 1] == ' ' || item[pl - 1] == '\t'))
            pl--;
        pat = strndup(item, pl);
        if (!pat)
            return NULL;
        m = pg_pattern_match(pat, schema, name) || pg_pattern_match(pat, rschema, rname);
        free(pat);
        if (m) {
            colon++;
            while (*colon == ' ' || *colon == '\t')
                colon++;
            return strdup(colon);
        }
    }
    return NULL;
}

static envsync_status
check_where_syntax(envsync_ctx *ctx)
{
    size_t i, n = pg_host->opt_list_count(ctx, "where");

    for (i = 0; i < n; i++) {
        const char *item = pg_host->opt_list_item(ctx, "where", i);
        const char *colon = strchr(item, ':');
        if (!colon || colon == item || !colon[1])
            return pg_host->error(ctx, ENVSYNC_ERR_CONFIG,
                                  "%s: where item \"%s\" is not \"schema.table: predicate\"",
                                  pg_host->opt_where(ctx, "where"), item);
    }
    return ENVSYNC_OK;
}

static envsync_status
put_entry(bk_run *r, envsync_entry_kind kind, const char *schema, const char *object,
          const char *section, const char *text, size_t len)
{
    envsync_entry e;

    ENVSYNC_ENTRY_INIT(e, kind);
    e.schema = schema;
    e.object = object;
    e.section = section;
    return r->out->put(r->out, &e, text, len);
}

/* ---------------------------------------------------------------- workers */

static envsync_status
flush_chunk(bk_run *r, bk_table *t, es_buf *chunk, uint64_t rows)
{
    envsync_entry e;
    envsync_status st;
    uint64_t seq;

    pthread_mutex_lock(&r->mu);
    seq = t->next_seq++;
    pthread_mutex_unlock(&r->mu);

    ENVSYNC_ENTRY_INIT(e, ENVSYNC_ENTRY_DATA);
    e.schema = t->schema;
    e.object = t->name;
    e.columns = t->cols;
    e.rows = rows;
    e.seq = seq;
    st = r->out->put(r->out, &e, chunk->data ? chunk->data : "", chunk->len);
    if (st != ENVSYNC_OK)
        return pg_err_set(&r->err, st, "table %s.%s: output refused the chunk %" PRIu64,
                          t->schema, t->name, seq);
    pg_host->progress(r->ctx, chunk->len, rows);
    es_buf_reset(chunk);
    return ENVSYNC_OK;
}

static int
copy_table(bk_run *r, PGconn *conn, const bk_unit *u, es_buf *chunk)
{
    es_buf sql = ES_BUF_INIT;
    PGresult *res;
    char msg[PG_ERRLEN], *row;
    bk_table *t = &r->tables[u->table];
    uint64_t rows = 0, total_rows = 0, total_bytes = 0;
    size_t max = (size_t)r->s->c.chunk_size;
    int n, rc = -1, last;

    if (t->where || u->from >= 0) {
        es_buf_puts(&sql, "COPY (SELECT ");
        if (!*t->cols)
            es_buf_puts(&sql, "*");
        else if (pg_buf_columns(&sql, t->cols) != 0)
            es_buf_free(&sql);
        es_buf_puts(&sql, " FROM ONLY ");
        pg_buf_qname(&sql, t->schema, t->name);
        es_buf_puts(&sql, " WHERE true");
        if (u->from >= 0) {
            es_buf_printf(&sql, " AND ctid >= '(%lld,0)'::pg_catalog.tid", (long long)u->from);
            if (u->to >= 0)
                es_buf_printf(&sql, " AND ctid < '(%lld,0)'::pg_catalog.tid", (long long)u->to);
        }
        if (t->where)
            es_buf_printf(&sql, " AND (%s)", t->where);
        es_buf_puts(&sql, ") TO STDOUT");
    } else {
        es_buf_puts(&sql, "COPY ");
        pg_buf_qname(&sql, t->schema, t->name);
        if (*t->cols) {
            es_buf_puts(&sql, " (");
            pg_buf_columns(&sql, t->cols);
            es_buf_puts(&sql, ")");
        }
        es_buf_puts(&sql, " TO STDOUT");
    }
    if (!sql.data) {
        pg_err_set(&r->err, ENVSYNC_ERR_OTHER, "out of memory");
        return -1;
    }
    if (r->lock_each) {
        /* NOWAIT: queueing behind a waiting DROP/ALTER would deadlock with
         * the coordinator, which holds its lock until we finish */
        es_buf lk = ES_BUF_INIT;
        int lrc;
        es_buf_puts(&lk, "LOCK TABLE ");
        pg_buf_qname(&lk, t->schema, t->name);
        es_buf_puts(&lk, " IN ACCESS SHARE MODE NOWAIT");
        res = PQexec(conn, lk.data ? lk.data : "");
        es_buf_free(&lk);
        lrc = PQresultStatus(res) == PGRES_COMMAND_OK;
        if (!lrc)
            pg_err_set(&r->err, pg_classify(conn, res), "table %s.%s: %s (a DROP or ALTER "
                       "issued during the backup is waiting for it; run again)", t->schema,
                       t->name, pg_message(conn, res, msg, sizeof msg));
        PQclear(res);
        if (!lrc) {
            es_buf_free(&sql);
            return -1;
        }
    }
    res = PQexec(conn, sql.data);
    es_buf_free(&sql);
    if (PQresultStatus(res) != PGRES_COPY_OUT) {
        pg_err_set(&r->err, pg_classify(conn, res), "table %s.%s: COPY TO failed: %s",
                   t->schema, t->name, pg_message(conn, res, msg, sizeof msg));
        PQclear(res);
        return -1;
    }
    PQclear(res);
    es_buf_reset(chunk);
    while ((n = PQgetCopyData(conn, &row, 0)) > 0) {
        if (chunk->len > 0 && chunk->len + (size_t)n > max) {
            if (flush_chunk(r, t, chunk, rows) != ENVSYNC_OK) {
                PQfreemem(row);
                return -1;  /* caller drops the connection mid-COPY */
            }
            rows = 0;
            if (pg_host->cancelled(r->ctx) || pg_err_get(&r->err)) {
                PQfreemem(row);
                pg_err_set(&r->err, pg_host->cancelled(r->ctx) ? pg_host->cancelled(r->ctx)
                           : ENVSYNC_ERR_OTHER, "table %s.%s: cancelled", t->schema, t->name);
                return -1;
            }
        }
        if (es_buf_append(chunk, row, (size_t)n) != 0) {
            /* a single row larger than chunk_size gets a chunk of its own */
            int rc2 = -1;
            if (chunk->len == 0) {
                es_buf big = ES_BUF_INIT;
                if (es_buf_append(&big, row, (size_t)n) == 0) {
                    PQfreemem(row);
                    rows++;
                    total_rows++;
                    total_bytes += (uint64_t)n;
                    rc2 = flush_chunk(r, t, &big, rows) == ENVSYNC_OK ? 0 : -2;
                    es_buf_free(&big);
                    rows = 0;
                    if (rc2 == 0)
                        continue;
                    return -1;
                }
                es_buf_free(&big);
            }
            PQfreemem(row);
            pg_err_set(&r->err, ENVSYNC_ERR_OTHER, "table %s.%s: out of memory", t->schema,
                       t->name);
            return -1;
        }
        PQfreemem(row);
        rows++;
        total_rows++;
        total_bytes += (uint64_t)n;
    }
    if (n == -2) {
        pg_err_set(&r->err, pg_classify(conn, NULL) == ENVSYNC_ERR_OTHER ? ENVSYNC_ERR_CONNECT
                   : pg_classify(conn, NULL), "table %s.%s: COPY TO failed: %s",
                   t->schema, t->name, pg_message(conn, NULL, msg, sizeof msg));
        return -1;
    }
    res = PQgetResult(conn);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        pg_err_set(&r->err, pg_classify(conn, res), "table %s.%s: COPY TO failed: %s",
                   t->schema, t->name, pg_message(conn, res, msg, sizeof msg));
        PQclear(res);
        return -1;
    }
    PQclear(res);
    while ((res = PQgetResult(conn)) != NULL)
        PQclear(res);
    if (chunk->len > 0 && flush_chunk(r, t, chunk, rows) != ENVSYNC_OK)
        return -1;
    /* the table's last part: an empty entry marks the end of its data (and
     * gives an empty table the entry that records its 0 rows) */
    pthread_mutex_lock(&r->mu);
    last = --t->units_left == 0;
    pthread_mutex_unlock(&r->mu);
    if (last && flush_chunk(r, t, chunk, 0) != ENVSYNC_OK)
        return -1;
    if (u->from < 0)
        pg_host->log(r->ctx, ENVSYNC_LOG_INFO, "table %s.%s: %" PRIu64 " rows, %" PRIu64
                     " bytes", t->schema, t->name, total_rows, total_bytes);
    else if (u->to < 0)
        pg_host->log(r->ctx, ENVSYNC_LOG_INFO, "table %s.%s pages %lld-end: %" PRIu64 " rows, %"
                     PRIu64 " bytes", t->schema, t->name, (long long)u->from, total_rows,
                     total_bytes);
    else
        pg_host->log(r->ctx, ENVSYNC_LOG_INFO, "table %s.%s pages %lld-%lld: %" PRIu64 " rows, %"
                     PRIu64 " bytes", t->schema, t->name, (long long)u->from,
                     (long long)u->to - 1, total_rows, total_bytes);
    rc = 0;
    return rc;
}

static void *
bk_worker(void *arg)
{
    bk_run *r = arg;
    es_buf sql = ES_BUF_INIT, chunk = ES_BUF_INIT;
    PGconn *conn = pg_connect(&r->s->c, NULL, &r->err);

    if (!conn)
        return NULL;
    if (pg_exec(conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", &r->err,
                "worker: begin") != 0)
        goto out;
    es_buf_puts(&sql, "SET TRANSACTION SNAPSHOT ");
    pg_buf_literal(&sql, r->snapshot);
    if (!sql.data || pg_exec(conn, sql.data, &r->err, "worker: adopt the exported snapshot") != 0)
        goto out;
    if (r->lock_sql && !r->lock_each &&
        pg_exec(conn, r->lock_sql, &r->err, "worker: lock the tables") != 0)
        goto out;
    /* exactly chunk_size: es_buf would otherwise double past it */
    es_buf_init(&chunk, (size_t)r->s->c.chunk_size);
    for (;;) {
        bk_unit *u = NULL;
        if (pg_err_get(&r->err) || pg_host->cancelled(r->ctx))
            break;
        pthread_mutex_lock(&r->mu);
        if (r->next < r->nunits)
            u = &r->units[r->next++];
        pthread_mutex_unlock(&r->mu);
        if (!u)
            break;
        if (copy_table(r, conn, u, &chunk) != 0)
            goto out;
    }
    if (!pg_err_get(&r->err))
        pg_exec(conn, "COMMIT", &r->err, "worker: commit");
out:
    es_buf_free(&sql);
    es_buf_free(&chunk);
    PQfinish(conn);
    return NULL;
}

/* ---------------------------------------------------------------- catalog */

static const char tables_sql[] =
    "SELECT n.nspname, c.relname, c.relkind,"
    " COALESCE(rn.nspname, n.nspname), COALESCE(rc.relname, c.relname),"
    " COALESCE((SELECT pg_catalog.string_agg(pg_catalog.replace(pg_catalog.replace("
    "   pg_catalog.replace(pg_catalog.replace(a.attname::text, '\\', '\\\\'), E'\\t', '\\t'),"
    "   E'\\n', '\\n'), E'\\r', '\\r'), E'\\t' ORDER BY a.attnum)"
    "   FROM pg_catalog.pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0"
    "   AND NOT a.attisdropped AND a.attgenerated = ''), ''),"
    " pg_catalog.pg_relation_size(c.oid) / pg_catalog.current_setting('block_size')::int8"
    " FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
    " LEFT JOIN pg_catalog.pg_class rc ON c.relispartition AND rc.oid = pg_catalog.pg_partition_root(c.oid)"
    " LEFT JOIN pg_catalog.pg_namespace rn ON rn.oid = rc.relnamespace"
    " WHERE c.relkind IN ('r', 'p', 'm') AND c.relpersistence <> 't'"
    " AND n.nspname <> 'information_schema' AND n.nspname !~ '^pg_'"
    " AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d"
    "   WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objid = c.oid"
    "   AND d.deptype = 'e')"
    " ORDER BY pg_catalog.pg_indexes_size(c.oid) DESC, pg_catalog.pg_relation_size(c.oid) DESC,"
    " n.nspname, c.relname";

static const char sequences_sql[] =
    "SELECT n.nspname, c.relname, NULL, NULL, tn.nspname, t.relname"
    " FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
    " LEFT JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass"
    "   AND d.objid = c.oid AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass"
    "   AND d.deptype IN ('a', 'i')"
    " LEFT JOIN pg_catalog.pg_class t ON t.oid = d.refobjid"
    " LEFT JOIN pg_catalog.pg_namespace tn ON tn.oid = t.relnamespace"
    " WHERE c.relkind = 'S' AND n.nspname <> 'information_schema' AND n.nspname !~ '^pg_'"
    " AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend e"
    "   WHERE e.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND e.objid = c.oid"
    "   AND e.deptype = 'e')"
    " ORDER BY n.nspname, c.relname";

static const char matviews_sql[] =
    "SELECT n.nspname, c.relname FROM pg_catalog.pg_class c"
    " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
    " WHERE c.relkind = 'm' AND c.relispopulated AND n.nspname !~ '^pg_'"
    " ORDER BY c.oid";

static char *
database_meta(PGconn *conn, pg_err *err, char **info)
{
    int v = PQserverVersion(conn);
    const char *icu = v >= 170000 ? "d.datlocale" : v >= 150000 ? "d.daticulocale" : "NULL";
    const char *prov = v >= 150000 ? "d.datlocprovider::text" : "'c'";
    es_buf sql = ES_BUF_INIT;
    PGresult *res;
    json_t *o;
    char *text;

    es_buf_printf(&sql, "SELECT pg_catalog.pg_encoding_to_char(d.encoding), d.datcollate,"
                  " d.datctype, %s, %s, pg_catalog.current_setting('server_version'),"
                  " pg_catalog.current_database()"
                  " FROM pg_catalog.pg_database d WHERE d.datname = pg_catalog.current_database()",
                  prov, icu);
    res = sql.data ? pg_query(conn, sql.data, err, "reading the database's encoding") : NULL;
    es_buf_free(&sql);
    if (!res)
        return NULL;
    if (PQntuples(res) != 1) {
        pg_err_set(err, ENVSYNC_ERR_OTHER, "current database not found in pg_database");
        PQclear(res);
        return NULL;
    }
    o = json_pack("{s:i, s:s, s:s, s:s, s:s, s:s?, s:s, s:i, s:s}",
                  "format", PG_META_FORMAT,
                  "encoding", PQgetvalue(res, 0, 0),
                  "lc_collate", PQgetvalue(res, 0, 1),
                  "lc_ctype", PQgetvalue(res, 0, 2),
                  "locale_provider", PQgetvalue(res, 0, 3),
                  "icu_locale", PQgetisnull(res, 0, 4) ? NULL : PQgetvalue(res, 0, 4),
                  "server_version", PQgetvalue(res, 0, 5),
                  "server_version_num", v,
                  "database", PQgetvalue(res, 0, 6));
    PQclear(res);
    if (!o) {
        pg_err_set(err, ENVSYNC_ERR_OTHER, "cannot build the database metadata");
        return NULL;
    }
    if (pg_dbsettings_backup(conn, o, err) != 0) {
        json_decref(o);
        return NULL;
    }
    text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    *info = text ? strdup(text) : NULL;
    json_decref(o);
    return text;
}

/* Work units, biggest first: tables above split_size in page ranges of
 * about split_size (PostgreSQL 14+: TID range scans), else whole.
 *
 * A page-range part costs the server more than a whole-table COPY: a TID
 * range scan reads through the shared buffer pool instead of the small
 * ring a sequential scan uses, so it evicts the source's working set and
 * (measured on PostgreSQL 15, 164 MiB of data, jobs 2) burns ~50 % more
 * CPU for the same rows.  So by default (split_size unset) a table is cut
 * only when it alone would outlast the other workers: when it is bigger
 * than its share of the work, all table data / jobs (and 32 MiB), and then
 * into parts of about that share. */
static envsync_status
plan_units(bk_run *r, int server_version)
{
    int64_t split = r->s->c.split_size, per;
    size_t i, n = 0, cap = 0;

    if (split < 0) {
        int64_t total = 0;
        for (i = 0; i < r->ntables; i++)
            if (r->tables[i].data)
                total += r->tables[i].pages * 8192;
        split = r->s->c.jobs > 1 ? total / r->s->c.jobs : 0;
        if (split > 0 && split < ((int64_t)32 << 20))
            split = (int64_t)32 << 20;
    }
    for (i = 0; i < r->ntables; i++) {
        const bk_table *t = &r->tables[i];
        int64_t parts = 1, k;
        if (!t->data)
            continue;
        if (split > 0 && server_version >= 140000 && t->pages * 8192 > split)
            parts = (t->pages * 8192 + split - 1) / split;
        if (parts > 256)
            parts = 256;
        if (n + (size_t)parts > cap) {
            bk_unit *nu;
            cap = (n + (size_t)parts) * 2;
            nu = realloc(r->units, cap * sizeof *nu);
            if (!nu)
                return pg_host->error(r->ctx, ENVSYNC_ERR_OTHER, "out of memory");
            r->units = nu;
        }
        r->tables[i].units_left = (size_t)parts;
        per = (t->pages + parts - 1) / parts;
        for (k = 0; k < parts; k++) {
            bk_unit *u = &r->units[n++];
            u->table = i;
            u->from = parts > 1 ? k * per : -1;
            u->to = parts > 1 && k < parts - 1 ? (k + 1) * per : -1;
        }
    }
    /* tables come biggest first, so the units do too */
    r->nunits = n;
    return ENVSYNC_OK;
}

static void
free_tables(bk_run *r)
{
    size_t i;

    for (i = 0; i < r->ntables; i++) {
        free(r->tables[i].schema);
        free(r->tables[i].name);
        free(r->tables[i].cols);
        free(r->tables[i].where);
    }
    free(r->tables);
    free(r->units);
    r->tables = NULL;
    r->units = NULL;
    r->ntables = r->nunits = 0;
}

/* Reads the table list, applies include/exclude/exclude_data/where, adds
 * `--exclude-table=` arguments for pg_dump and builds the LOCK statement. */
static envsync_status
list_tables(bk_run *r, PGconn *conn, char ***xargs, size_t *nx)
{
    envsync_ctx *ctx = r->ctx;
    PGresult *res = pg_query(conn, tables_sql, &r->err, "listing tables");
    es_buf lock = ES_BUF_INIT;
    int i, n, nlock = 0;

    if (!res)
        return pg_err_report(&r->err, ctx);
    n = PQntuples(res);
    r->tables = calloc((size_t)n + 1, sizeof *r->tables);
    *xargs = calloc((size_t)n + 1, sizeof **xargs);
    if (!r->tables || !*xargs) {
        PQclear(res);
        return pg_host->error(ctx, ENVSYNC_ERR_OTHER, "out of memory");
    }
    es_buf_puts(&lock, "LOCK TABLE ");
    for (i = 0; i < n; i++) {
        const char *schema = PQgetvalue(res, i, 0), *name = PQgetvalue(res, i, 1);
        char kind = PQgetvalue(res, i, 2)[0];
        const char *rs = PQgetvalue(res, i, 3), *rn = PQgetvalue(res, i, 4);
        bk_table *t;

        if (!selected(ctx, schema, name, rs, rn)) {
            es_buf x = ES_BUF_INIT;
            es_buf_puts(&x, "--exclude-table=");
            pg_buf_qname(&x, schema, name);
            (*xargs)[(*nx)++] = es_buf_detach(&x, NULL);
            pg_host->log(ctx, ENVSYNC_LOG_INFO, "table %s.%s: excluded", schema, name);
            continue;
        }
        if (kind != 'r')
            continue;
        t = &r->tables[r->ntables++];
        t->schema = strdup(schema);
        t->name = strdup(name);
        t->cols = strdup(PQgetvalue(res, i, 5));
        t->where = where_for(ctx, schema, name, rs, rn);
        t->data = !list_match(ctx, "exclude_data", schema, name, rs, rn);
        t->pages = strtoll(PQgetvalue(res, i, 6), NULL, 10);
        if (!t->schema || !t->name || !t->cols) {
            PQclear(res);
            es_buf_free(&lock);
            return pg_host->error(ctx, ENVSYNC_ERR_OTHER, "out of memory");
        }
        if (!t->data)
            pg_host->log(ctx, ENVSYNC_LOG_INFO, "table %s.%s: definition only (exclude_data)",
                         schema, name);
        else if (t->where)
            pg_host->log(ctx, ENVSYNC_LOG_INFO, "table %s.%s: rows where %s", schema, name,
                         t->where);
        if (t->data) {
            if (nlock++)
                es_buf_puts(&lock, ", ");
            pg_buf_qname(&lock, schema, name);
        }
    }
    PQclear(res);
    es_buf_puts(&lock, " IN ACCESS SHARE MODE");
    if (!lock.data)
        return pg_host->error(ctx, ENVSYNC_ERR_OTHER, "out of memory");
    if (nlock)
        r->lock_sql = es_buf_detach(&lock, NULL);
    es_buf_free(&lock);
    return ENVSYNC_OK;
}

static envsync_status
sequences_postload(bk_run *r, PGconn *conn, es_buf *sql)
{
    PGresult *res = pg_query(conn, sequences_sql, &r->err, "reading sequence values");
    int i;

    if (!res)
        return pg_err_report(&r->err, r->ctx);
    for (i = 0; i < PQntuples(res); i++) {
        es_buf q = ES_BUF_INIT, sel = ES_BUF_INIT;
        const char *schema = PQgetvalue(res, i, 0), *name = PQgetvalue(res, i, 1);
        PGresult *v;

        if (!PQgetisnull(res, i, 5) &&
            !selected(r->ctx, PQgetvalue(res, i, 4), PQgetvalue(res, i, 5),
                      PQgetvalue(res, i, 4), PQgetvalue(res, i, 5)))
            continue;
        /* sequences are not transactional: this reads their state now */
        pg_buf_qname(&q, schema, name);
        es_buf_printf(&sel, "SELECT last_value, is_called FROM %s", q.data ? q.data : "");
        v = sel.data ? pg_query(conn, sel.data, &r->err, "reading a sequence") : NULL;
        es_buf_free(&sel);
        if (!v) {
            es_buf_free(&q);
            PQclear(res);
            return pg_err_report(&r->err, r->ctx);
        }
        es_buf_puts(sql, "SELECT pg_catalog.setval(");
        pg_buf_literal(sql, q.data ? q.data : "");
        es_buf_printf(sql, ", %s, %s);\n", PQgetvalue(v, 0, 0),
                      PQgetvalue(v, 0, 1)[0] == 't' ? "true" : "false");
        PQclear(v);
        es_buf_free(&q);
    }
    PQclear(res);
    return ENVSYNC_OK;
}

static envsync_status
matviews_postload(bk_run *r, PGconn *conn, es_buf *sql)
{
    PGresult *res = pg_query(conn, matviews_sql, &r->err, "listing materialized views");
    int i;

    if (!res)
        return pg_err_report(&r->err, r->ctx);
    for (i = 0; i < PQntuples(res); i++) {
        if (!selected(r->ctx, PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
                      PQgetvalue(res, i, 0), PQgetvalue(res, i, 1)))
            continue;
        es_buf_puts(sql, "REFRESH MATERIALIZED VIEW ");
        pg_buf_qname(sql, PQgetvalue(res, i, 0), PQgetvalue(res, i, 1));
        es_buf_puts(sql, ";\n");
    }
    PQclear(res);
    return ENVSYNC_OK;
}

/* Large objects, read inside the snapshot in chunk_size pieces.  BLOB
 * entries: object = OID, seq = piece, attrs owner and offset. */
static envsync_status
large_objects(bk_run *r, PGconn *conn)
{
    PGresult *res = pg_query(conn, "SELECT m.oid, pg_catalog.pg_get_userbyid(m.lomowner)"
                             " FROM pg_catalog.pg_largeobject_metadata m ORDER BY m.oid",
                             &r->err, "listing large objects");
    int i;
    char msg[PG_ERRLEN];

    if (!res)
        return pg_err_report(&r->err, r->ctx);
    for (i = 0; i < PQntuples(res) && !pg_err_get(&r->err); i++) {
        const char *oid = PQgetvalue(res, i, 0);
        uint64_t off = 0, seq = 0;
        for (;;) {
            char offs[32], lens[32];
            const char *params[3] = { oid, offs, lens };
            envsync_attr attrs[2];
            envsync_entry e;
            PGresult *piece;
            size_t got;
            envsync_status st;

            snprintf(offs, sizeof offs, "%" PRIu64, off);
            snprintf(lens, sizeof lens, "%lld", (long long)r->s->c.chunk_size);
            piece = PQexecParams(conn, "SELECT pg_catalog.lo_get($1::pg_catalog.oid,"
                                 " $2::pg_catalog.int8, $3::pg_catalog.int4)",
                                 3, NULL, params, NULL, NULL, 1);
            if (PQresultStatus(piece) != PGRES_TUPLES_OK || PQntuples(piece) != 1) {
                pg_err_set(&r->err, pg_classify(conn, piece), "large object %s: %s", oid,
                           pg_message(conn, piece, msg, sizeof msg));
                PQclear(piece);
                break;
            }
            got = (size_t)PQgetlength(piece, 0, 0);
            if (got == 0 && seq > 0) {
                PQclear(piece);
                break;
            }
            attrs[0] = (envsync_attr){ "owner", PQgetvalue(res, i, 1) };
            attrs[1] = (envsync_attr){ "offset", offs };
            ENVSYNC_ENTRY_INIT(e, ENVSYNC_ENTRY_BLOB);
            e.object = oid;
            e.section = "large-object";
            e.seq = seq++;
            e.attrs = attrs;
            e.nattrs = 2;
            st = r->out->put(r->out, &e, PQgetvalue(piece, 0, 0), got);
            PQclear(piece);
            if (st != ENVSYNC_OK) {
                pg_err_set(&r->err, st, "large object %s: output refused it", oid);
                break;
            }
            pg_host->progress(r->ctx, got, 0);
            off += got;
            if (got < (size_t)r->s->c.chunk_size)
                break;
        }
    }
    PQclear(res);
    return pg_err_get(&r->err);
}

static void
strip_meta_lines(es_buf *b)
{
    size_t i = 0, o = 0;

    while (i < b->len) {
        const char *line = b->data + i;
        const char *nl = memchr(line, '\n', b->len - i);
        size_t l = nl ? (size_t)(nl - line) + 1 : b->len - i;
        if (!(strncmp(line, "\\restrict ", 10) == 0 || strncmp(line, "\\unrestrict ", 12) == 0)) {
            memmove(b->data + o, line, l);
            o += l;
        }
        i += l;
    }
    b->len = o;
    if (b->data)
        b->data[o] = '\0';
}

/* Picks a pg_dump at least as new as the server: unless the pg_dump option
 * names one, Debian's versioned binaries first (the server's major, then
 * newer; calling them directly skips the pg_wrapper script), then PATH. */
static envsync_status
find_pg_dump(envsync_ctx *ctx, const pg_conf *c, int server_major, char *exe, size_t len)
{
    int m, v;

    if (!c->pg_dump_set) {
        for (v = server_major; v < server_major + 10; v++) {
            char alt[256];
            snprintf(alt, sizeof alt, "/usr/lib/postgresql/%d/bin/pg_dump", v);
            if (access(alt, X_OK) == 0 && pg_dump_major(alt) >= server_major) {
                snprintf(exe, len, "%s", alt);
                return ENVSYNC_OK;
            }
        }
    }
    m = pg_dump_major(c->pg_dump);
    snprintf(exe, len, "%s", c->pg_dump);
    if (m >= server_major)
        return ENVSYNC_OK;
    if (m < 0)
        return pg_host->error(ctx, ENVSYNC_ERR_CONFIG,
                              "cannot run \"%s --version\": install postgresql-client-%d or "
                              "set the pg_dump option", c->pg_dump, server_major);
    return pg_host->error(ctx, ENVSYNC_ERR_CONFIG,
                          "%s is pg_dump %d but the server is PostgreSQL %d: pg_dump must be "
                          "at least the server's major version (install postgresql-client-%d "
                          "or set the pg_dump option)", c->pg_dump, m, server_major, server_major);
}

static envsync_status
run_pg_dump(bk_run *r, const char *exe, const char *section, char **xargs, size_t nx,
            es_buf *out)
{
    const char **args = calloc(nx + 8, sizeof *args);
    char sect[64], snap[200], lockw[64];
    size_t n = 0, i;
    envsync_status st;

    if (!args)
        return pg_err_set(&r->err, ENVSYNC_ERR_OTHER, "out of memory");
    snprintf(sect, sizeof sect, "--section=%s", section);
    snprintf(snap, sizeof snap, "--snapshot=%s", r->snapshot);
    snprintf(lockw, sizeof lockw, "--lock-wait-timeout=%lldms",
             (long long)(r->s->c.lock_timeout_ms > 0 ? r->s->c.lock_timeout_ms : 0));
    args[n++] = "--schema-only";
    args[n++] = sect;
    args[n++] = snap;
    args[n++] = "--no-tablespaces";
    args[n++] = "--no-subscriptions";
    if (r->s->c.lock_timeout_ms > 0)
        args[n++] = lockw;
    for (i = 0; i < nx; i++)
        args[n++] = xargs[i];
    st = pg_dump_run(r->ctx, &r->s->c, exe, args, n, out, &r->err);
    free(args);
    strip_meta_lines(out);
    return st;
}

typedef struct dump_job {
    bk_run *r;
    const char *exe;
    char **xargs;
    size_t nx;
    es_buf *out;
} dump_job;

static void *
dump_post_main(void *arg)
{
    dump_job *j = arg;

    (void)run_pg_dump(j->r, j->exe, "post-data", j->xargs, j->nx, j->out);
    return NULL;
}

/* pre-data and post-data DDL from two pg_dumps at once (each takes a
 * second or more on a big schema).  Failures land in r->err. */
static envsync_status
dump_sections(bk_run *r, const char *exe, char **xargs, size_t nx, es_buf *pre, es_buf *post)
{
    dump_job j = { r, exe, xargs, nx, post };
    pthread_t th;
    int threaded = pthread_create(&th, NULL, dump_post_main, &j) == 0;

    (void)run_pg_dump(r, exe, "pre-data", xargs, nx, pre);
    if (threaded)
        pthread_join(th, NULL);
    else
        (void)run_pg_dump(r, exe, "post-data", xargs, nx, post);
    return pg_err_get(&r->err);
}

envsync_status
pg_backup(envsync_ctx *ctx, void *state, envsync_sink *out, char **info)
{
    pg_state *s = state;
    bk_run r;
    PGconn *conn;
    PGresult *res;
    char **xargs = NULL, *meta = NULL, exe[512];
    size_t nx = 0, i, nthreads = 0;
    pthread_t *threads = NULL;
    es_buf pre = ES_BUF_INIT, post = ES_BUF_INIT, seqs = ES_BUF_INIT, mvs = ES_BUF_INIT;
    envsync_status st;

    memset(&r, 0, sizeof r);
    r.ctx = ctx;
    r.s = s;
    r.out = out;
    pthread_mutex_init(&r.mu, NULL);
    pg_err_init(&r.err);
    s->c.client_encoding = NULL;

    if ((st = check_where_syntax(ctx)) != ENVSYNC_OK)
        goto done_noconn;
    conn = pg_connect(&s->c, NULL, &r.err);
    if (!conn) {
        st = pg_err_report(&r.err, ctx);
        goto done_noconn;
    }
    if ((st = find_pg_dump(ctx, &s->c, PQserverVersion(conn) / 10000, exe, sizeof exe)) != ENVSYNC_OK)
        goto done;
    if (pg_exec(conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", &r.err,
                "begin the snapshot transaction") != 0)
        goto fail;
    res = pg_query(conn, "SELECT pg_catalog.pg_export_snapshot()", &r.err, "export the snapshot");
    if (!res)
        goto fail;
    snprintf(r.snapshot, sizeof r.snapshot, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    if ((st = list_tables(&r, conn, &xargs, &nx)) != ENVSYNC_OK)
        goto done;
    if (r.lock_sql && pg_exec(conn, r.lock_sql, &r.err, "lock the tables") != 0)
        goto fail;
    /* Each worker locking every table needs (jobs + 1) x tables lock slots;
     * beyond half the server's lock table, workers lock as they go. */
    res = pg_query(conn, "SELECT pg_catalog.current_setting('max_locks_per_transaction')::int8 *"
                   " (pg_catalog.current_setting('max_connections')::int8 +"
                   " pg_catalog.current_setting('max_prepared_transactions')::int8)",
                   &r.err, "reading max_locks_per_transaction");
    if (!res)
        goto fail;
    if ((long long)r.ntables * (s->c.jobs + 1) > strtoll(PQgetvalue(res, 0, 0), NULL, 10) / 2) {
        r.lock_each = 1;
        pg_host->log(ctx, ENVSYNC_LOG_INFO, "%zu tables: workers lock each table as they copy "
                     "it (NOWAIT), so DDL issued during the backup fails it", r.ntables);
    }
    PQclear(res);
    if ((st = plan_units(&r, PQserverVersion(conn))) != ENVSYNC_OK)
        goto done;
    if (!(meta = database_meta(conn, &r.err, info)))
        goto fail;
    pg_host->log(ctx, ENVSYNC_LOG_INFO, "snapshot %s: %zu tables, %lld jobs, DDL by %s",
                 r.snapshot, r.ntables, (long long)s->c.jobs, exe);
    if ((st = put_entry(&r, ENVSYNC_ENTRY_META, NULL, "database", NULL, meta, strlen(meta))) != ENVSYNC_OK)
        goto done;
    /* Everything that takes new table locks runs before the workers: once
     * they hold their locks a concurrent DROP/ALTER just waits for us, but
     * a lock requested after such a waiter would queue behind it (and it
     * behind us).  So the DDL is read here, not overlapped with the data;
     * the two sections' pg_dumps run side by side. */
    if (dump_sections(&r, exe, xargs, nx, &pre, &post) != ENVSYNC_OK)
        goto fail;
    if ((st = put_entry(&r, ENVSYNC_ENTRY_SCHEMA, NULL, "schema", "pre-data",
                        pre.data ? pre.data : "", pre.len)) != ENVSYNC_OK ||
        (st = put_entry(&r, ENVSYNC_ENTRY_SCHEMA, NULL, "schema", "post-data",
                        post.data ? post.data : "", post.len)) != ENVSYNC_OK)
        goto done;
    if ((st = sequences_postload(&r, conn, &seqs)) != ENVSYNC_OK ||
        (st = matviews_postload(&r, conn, &mvs)) != ENVSYNC_OK)
        goto done;

    threads = calloc((size_t)s->c.jobs, sizeof *threads);
    if (!threads) {
        st = pg_host->error(ctx, ENVSYNC_ERR_OTHER, "out of memory");
        goto done;
    }
    for (i = 0; i < (size_t)s->c.jobs; i++) {
        if (pthread_create(&threads[i], NULL, bk_worker, &r) != 0) {
            pg_err_set(&r.err, ENVSYNC_ERR_OTHER, "cannot start worker thread");
            break;
        }
        nthreads++;
    }
    /* meanwhile: large objects on this connection */
    if (!pg_err_get(&r.err))
        large_objects(&r, conn);
    for (i = 0; i < nthreads; i++)
        pthread_join(threads[i], NULL);
    if (pg_err_get(&r.err))
        goto fail;
    if ((st = pg_host->cancelled(ctx)) != ENVSYNC_OK) {
        pg_host->error(ctx, st, "backup cancelled");
        goto done;
    }
    if (seqs.len && (st = put_entry(&r, ENVSYNC_ENTRY_POSTLOAD, NULL, "sequences", "sequences",
                                    seqs.data, seqs.len)) != ENVSYNC_OK)
        goto done;
    if (mvs.len && (st = put_entry(&r, ENVSYNC_ENTRY_POSTLOAD, NULL, "materialized-views",
                                   "refresh", mvs.data, mvs.len)) != ENVSYNC_OK)
        goto done;
    if (pg_exec(conn, "COMMIT", &r.err, "commit the snapshot transaction") != 0)
        goto fail;
    st = ENVSYNC_OK;
    goto done;
fail:
    st = pg_err_report(&r.err, ctx);
    if (st == ENVSYNC_OK)
        st = pg_host->error(ctx, ENVSYNC_ERR_OTHER, "backup failed");
done:
    PQfinish(conn);
done_noconn:
    if (st != ENVSYNC_OK && pg_err_get(&r.err))
        pg_err_report(&r.err, ctx);
    for (i = 0; i < nx; i++)
        free(xargs[i]);
    free(xargs);
    free(threads);
    free(meta);
    free(r.lock_sql);
    free_tables(&r);
    es_buf_free(&pre);
    es_buf_free(&post);
    es_buf_free(&seqs);
    es_buf_free(&mvs);
    pg_err_destroy(&r.err);
    pthread_mutex_destroy(&r.mu);
    if (st != ENVSYNC_OK && *info) {
        free(*info);
        *info = NULL;
    }
    return st;
}
