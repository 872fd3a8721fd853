/*
 * conn.c - libpq connections, error classification and quoting.
 *
 * Connections are opened with PQconnectdbParams() and expand_dbname = 0, so
 * a database name is never parsed as a conninfo string and the password is
 * never part of any text we build.  libpq's own messages do not echo the
 * password; the core redacts it anyway (the option is SECRET).
 */
#include "config.h"
#include "pg.h"
#include "rowcodec.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void
pg_err_init(pg_err *e)
{
    pthread_mutex_init(&e->mu, NULL);
    e->st = ENVSYNC_OK;
    e->msg[0] = '\0';
}

void
pg_err_destroy(pg_err *e)
{
    pthread_mutex_destroy(&e->mu);
}

envsync_status
pg_err_set(pg_err *e, envsync_status st, const char *fmt, ...)
{
    va_list ap;

    pthread_mutex_lock(&e->mu);
    if (e->st == ENVSYNC_OK) {
        e->st = st;
        va_start(ap, fmt);
        vsnprintf(e->msg, sizeof e->msg, fmt, ap);
        va_end(ap);
    }
    pthread_mutex_unlock(&e->mu);
    return st;
}

envsync_status
pg_err_get(pg_err *e)
{
    envsync_status st;

    pthread_mutex_lock(&e->mu);
    st = e->st;
    pthread_mutex_unlock(&e->mu);
    return st;
}

envsync_status
pg_err_report(pg_err *e, envsync_ctx *ctx)
{
    envsync_status st = pg_err_get(e);

    if (st == ENVSYNC_OK)
        return ENVSYNC_OK;
    return pg_host->error(ctx, st, "%s", e->msg);
}

/* One line: libpq messages end with '\n' and may carry DETAIL lines. */
const char *
pg_message(PGconn *conn, const PGresult *res, char *buf, size_t len)
{
    const char *m = NULL;
    size_t i, o = 0;

    if (res)
        m = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    if (!m || !*m)
        m = res ? PQresultErrorMessage(res) : NULL;
    if ((!m || !*m) && conn)
        m = PQerrorMessage(conn);
    if (!m || !*m)
        m = "unknown error";
    if (strncmp(m, "ERROR:  ", 8) == 0)
        m += 8;
    else if (strncmp(m, "FATAL:  ", 8) == 0)
        m += 8;
    for (i = 0; m[i] && o + 1 < len; i++) {
        char ch = m[i];
        if (ch == '\n' || ch == '\t' || ch == '\r') {
            if (!m[i + 1])
                break;
            if (o > 0 && buf[o - 1] == ' ')
                continue;
            ch = ' ';
        }
        buf[o++] = ch;
    }
    while (o > 0 && buf[o - 1] == ' ')
        o--;
    buf[o] = '\0';
    return buf;
}

envsync_status
pg_classify(PGconn *conn, const PGresult *res)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *m;

    if (state) {
        if (strncmp(state, "28", 2) == 0 || strcmp(state, "42501") == 0)
            return ENVSYNC_ERR_AUTH;
        if (strncmp(state, "08", 2) == 0 || strcmp(state, "3D000") == 0 ||
            strncmp(state, "57P0", 4) == 0)
            return ENVSYNC_ERR_CONNECT;
    }
    if (conn && PQstatus(conn) == CONNECTION_BAD) {
        m = PQerrorMessage(conn);
        if (PQconnectionNeedsPassword(conn) ||
            strstr(m, "password authentication failed") ||
            strstr(m, "authentication failed") ||
            strstr(m, "no password supplied") ||
            strstr(m, "pg_hba.conf rejects") ||
            (strstr(m, "role \"") && strstr(m, "does not exist")) ||
            strstr(m, "permission denied"))
            return ENVSYNC_ERR_AUTH;
        return ENVSYNC_ERR_CONNECT;
    }
    return ENVSYNC_ERR_OTHER;
}

PGconn *
pg_connect(const pg_conf *c, const char *dbname, pg_err *err)
{
    const char *keys[12], *vals[12];
    char timeout[32], msg[PG_ERRLEN];
    int n = 0;
    PGconn *conn;
    es_buf sql = ES_BUF_INIT;

    if (!dbname)
        dbname = c->dbname;
#define KV(k, v) do { if (v) { keys[n] = (k); vals[n] = (v); n++; } } while (0)
    KV("host", c->host);
    KV("port", c->port);
    KV("user", c->user);
    KV("password", c->password);
    KV("dbname", dbname);
    KV("sslmode", c->sslmode);
    if (c->connect_timeout_ms > 0) {
        int64_t s = (c->connect_timeout_ms + 999) / 1000;
        snprintf(timeout, sizeof timeout, "%lld", (long long)(s < 2 ? 2 : s));
        keys[n] = "connect_timeout";
        vals[n++] = timeout;
    }
    KV("application_name", "envsync");
#undef KV
    keys[n] = vals[n] = NULL;
    conn = PQconnectdbParams(keys, vals, 0);
    if (!conn) {
        pg_err_set(err, ENVSYNC_ERR_OTHER, "out of memory connecting to PostgreSQL");
        return NULL;
    }
    if (PQstatus(conn) != CONNECTION_OK) {
        envsync_status st = pg_classify(conn, NULL);
        pg_err_set(err, st, "cannot connect to PostgreSQL database \"%s\" on %s:%s as %s: %s",
                   dbname ? dbname : "", c->host ? c->host : "(default host)",
                   c->port ? c->port : "(default port)",
                   c->user ? c->user : "(default user)",
                   pg_message(conn, NULL, msg, sizeof msg));
        PQfinish(conn);
        return NULL;
    }
    es_buf_puts(&sql, "SET datestyle = 'ISO, YMD'; SET intervalstyle = 'postgres';"
                " SET extra_float_digits = 3; SET bytea_output = 'hex';"
                " SET timezone = 'UTC'; SET row_security = off;"
                " SET statement_timeout = 0; SET idle_in_transaction_session_timeout = 0;");
    if (c->lock_timeout_ms > 0)
        es_buf_printf(&sql, " SET lock_timeout = %lld;", (long long)c->lock_timeout_ms);
    if (c->client_encoding) {
        es_buf_puts(&sql, " SET client_encoding = ");
        pg_buf_literal(&sql, c->client_encoding);
        es_buf_puts(&sql, ";");
    } else {
        es_buf_puts(&sql, " SELECT pg_catalog.set_config('client_encoding',"
                    " pg_catalog.current_setting('server_encoding'), false);");
    }
    if (!sql.data || pg_exec(conn, sql.data, err, "session settings") != 0) {
        es_buf_free(&sql);
        PQfinish(conn);
        return NULL;
    }
    es_buf_free(&sql);
    return conn;
}

static int
result_failed(PGconn *conn, PGresult *res, pg_err *err, const char *what)
{
    char msg[PG_ERRLEN];
    ExecStatusType s = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;

    if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK)
        return 0;
    pg_err_set(err, pg_classify(conn, res), "%s: %s", what,
               pg_message(conn, res, msg, sizeof msg));
    return -1;
}

int
pg_exec(PGconn *conn, const char *sql, pg_err *err, const char *what)
{
    PGresult *res = PQexec(conn, sql);
    int rc = result_failed(conn, res, err, what);

    PQclear(res);
    return rc;
}

PGresult *
pg_query(PGconn *conn, const char *sql, pg_err *err, const char *what)
{
    PGresult *res = PQexec(conn, sql);

    if (result_failed(conn, res, err, what) != 0) {
        PQclear(res);
        return NULL;
    }
    return res;
}

int
pg_buf_ident(es_buf *b, const char *s)
{
    int rc = es_buf_putc(b, '"');

    for (; *s && rc == 0; s++)
        rc = *s == '"' ? es_buf_puts(b, "\"\"") : es_buf_putc(b, *s);
    return rc ? rc : es_buf_putc(b, '"');
}

/* Standard-conforming literal; E'' when it contains a backslash so the
 * text means the same whatever standard_conforming_strings says. */
int
pg_buf_literal(es_buf *b, const char *s)
{
    int rc = 0;

    if (strchr(s, '\\'))
        rc = es_buf_putc(b, 'E');
    rc = rc ? rc : es_buf_putc(b, '\'');
    for (; *s && rc == 0; s++) {
        if (*s == '\'')
            rc = es_buf_puts(b, "''");
        else if (*s == '\\')
            rc = es_buf_puts(b, "\\\\");
        else
            rc = es_buf_putc(b, *s);
    }
    return rc ? rc : es_buf_putc(b, '\'');
}

int
pg_buf_qname(es_buf *b, const char *schema, const char *name)
{
    if (schema && *schema) {
        if (pg_buf_ident(b, schema) || es_buf_putc(b, '.'))
            return -1;
    }
    return pg_buf_ident(b, name);
}

void
pg_sleep_ms(envsync_ctx *ctx, int64_t ms)
{
    while (ms > 0 && !pg_host->cancelled(ctx)) {
        int64_t step = ms > 100 ? 100 : ms;
        struct timespec ts = { (time_t)(step / 1000), (long)(step % 1000) * 1000000L };
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
            ;
        ms -= step;
    }
}

int
pg_buf_columns(es_buf *b, const char *cols)
{
    size_t len = strlen(cols), i;
    long n;
    es_field *f;
    int rc = 0;

    if (!len)
        return 0;
    f = calloc(len + 1, sizeof *f);
    if (!f)
        return -1;
    n = es_row_split(cols, len, f, len + 1);
    if (n < 0) {
        free(f);
        return -1;
    }
    for (i = 0; i < (size_t)n && rc == 0; i++) {
        char *name = malloc(f[i].len + 1);
        size_t l;
        if (!name) {
            rc = -1;
            break;
        }
        l = es_field_unescape(&f[i], name);
        name[l] = '\0';
        if (i)
            rc = es_buf_puts(b, ", ");
        rc = rc ? rc : pg_buf_ident(b, name);
        free(name);
    }
    free(f);
    return rc;
}
