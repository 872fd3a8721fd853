/*
 * conn.c - connections, error classification, quoting.
 *
 * Invariant: messages never contain the password (the core redacts the
 * secret too, but we never format it in the first place).
 */
#include "my.h"

#include <errmsg.h>
#include <mysqld_error.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

envsync_status
my_errno_status(unsigned err)
{
    switch (err) {
    case CR_CONNECTION_ERROR:          /* 2002 */
    case CR_CONN_HOST_ERROR:           /* 2003 */
    case CR_UNKNOWN_HOST:              /* 2005 */
    case CR_SERVER_GONE_ERROR:         /* 2006 */
    case CR_SERVER_LOST:               /* 2013 */
    case CR_SERVER_LOST_EXTENDED:      /* 2055 */
    case CR_SSL_CONNECTION_ERROR:      /* 2026 */
    case ER_CONNECTION_KILLED:         /* 1927 */
    case ER_SERVER_SHUTDOWN:           /* 1053 */
    case ER_QUERY_INTERRUPTED:         /* 1317: KILL QUERY */
    case ER_CON_COUNT_ERROR:           /* 1040 */
        return ENVSYNC_ERR_CONNECT;
    case ER_ACCESS_DENIED_ERROR:       /* 1045 */
    case ER_DBACCESS_DENIED_ERROR:     /* 1044 */
    case ER_TABLEACCESS_DENIED_ERROR:  /* 1142 */
    case ER_COLUMNACCESS_DENIED_ERROR: /* 1143 */
    case ER_SPECIFIC_ACCESS_DENIED_ERROR: /* 1227 */
    case ER_PROCACCESS_DENIED_ERROR:   /* 1370 */
    case 1698:                         /* ER_ACCESS_DENIED_NO_PASSWORD_ERROR */
        return ENVSYNC_ERR_AUTH;
    case ER_BAD_DB_ERROR:              /* 1049 */
        return ENVSYNC_ERR_CONFIG;
    case ER_LOCK_WAIT_TIMEOUT:         /* 1205 */
    case 1969:                         /* ER_STATEMENT_TIMEOUT */
        return ENVSYNC_ERR_TIMEOUT;
    case ER_TABLE_DEF_CHANGED:         /* 1412: altered during backup */
        return ENVSYNC_ERR_INTEGRITY;
    default:
        return ENVSYNC_ERR_OTHER;
    }
}

envsync_status
my_fail(envsync_ctx *ctx, MYSQL *m, const char *what)
{
    unsigned err = mysql_errno(m);
    envsync_status s = my_errno_status(err);

    if (err == ER_BAD_DB_ERROR)
        return my_host->error(ctx, s, "%s: database does not exist: %s (MySQL error %u)",
                              what, mysql_error(m), err);
    if (s == ENVSYNC_ERR_AUTH)
        return my_host->error(ctx, s, "%s: permission denied: %s (MySQL error %u)",
                              what, mysql_error(m), err);
    return my_host->error(ctx, s, "%s: %s (MySQL error %u)", what, mysql_error(m), err);
}

envsync_status
my_connect(envsync_ctx *ctx, const my_conf *c, const char *db, const char *what,
           MYSQL **out)
{
    MYSQL *m = mysql_init(NULL);
    unsigned timeout = c->connect_timeout, rw_timeout = 3600;
    unsigned local_infile = 1;
    my_bool yes = 1, no = 0;
    unsigned long flags = CLIENT_MULTI_STATEMENTS | CLIENT_MULTI_RESULTS | CLIENT_FOUND_ROWS;
    char where[300];

    *out = NULL;
    if (!m)
        return my_host->error(ctx, ENVSYNC_ERR_OTHER, "%s: out of memory", what);
    mysql_optionsv(m, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
    mysql_optionsv(m, MYSQL_OPT_READ_TIMEOUT, &rw_timeout);
    mysql_optionsv(m, MYSQL_OPT_WRITE_TIMEOUT, &rw_timeout);
    mysql_optionsv(m, MYSQL_OPT_LOCAL_INFILE, &local_infile);
    mysql_optionsv(m, MYSQL_SET_CHARSET_NAME, c->charset ? c->charset : "utf8mb4");
    if (c->ssl_mode && !strcmp(c->ssl_mode, "disabled")) {
        /* nothing: plain connection */
    } else if (c->ssl_ca || (c->ssl_mode && strcmp(c->ssl_mode, "preferred"))) {
        mysql_ssl_set(m, NULL, NULL, c->ssl_ca, NULL, NULL);
        if (c->ssl_mode && strcmp(c->ssl_mode, "preferred"))
            mysql_optionsv(m, MYSQL_OPT_SSL_ENFORCE, &yes);
        if (c->ssl_mode && (!strcmp(c->ssl_mode, "verify_ca")
                            || !strcmp(c->ssl_mode, "verify_identity")))
            mysql_optionsv(m, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &yes);
        else
            mysql_optionsv(m, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &no);
    }
    if (c->socket)
        snprintf(where, sizeof(where), "%s (socket %s)", what, c->socket);
    else
        snprintf(where, sizeof(where), "%s (%s@%s:%u)", what, c->user ? c->user : "",
                 c->host ? c->host : "localhost", c->port);
    if (!mysql_real_connect(m, c->socket ? "localhost" : c->host, c->user, c->password,
                            db, c->port, c->socket, flags)) {
        envsync_status s = my_fail(ctx, m, where);

        mysql_close(m);
        return s;
    }
    /* Connector/C 3.3 quietly falls back to a plain connection when only
     * MYSQL_OPT_SSL_ENFORCE is set and the server has no TLS: refuse it
     * here for ssl_mode = required and above. */
    if (c->ssl_mode && strcmp(c->ssl_mode, "disabled") && strcmp(c->ssl_mode, "preferred")
        && !mysql_get_ssl_cipher(m)) {
        mysql_close(m);
        return my_host->error(ctx, ENVSYNC_ERR_CONNECT,
                              "%s: ssl_mode = %s but the server does not support TLS", where,
                              c->ssl_mode);
    }
    /* Known session: UTC timestamps, backquoted identifiers in SHOW CREATE,
     * no strictness surprises, long network timeouts (a worker may wait on
     * a busy sink while its result set is half read). */
    if (my_exec(ctx, m, where,
                "SET SESSION time_zone = '+00:00', SESSION sql_mode = 'NO_AUTO_VALUE_ON_ZERO',"
                " SESSION net_write_timeout = 3600, SESSION net_read_timeout = 3600,"
                " SESSION wait_timeout = 86400") != ENVSYNC_OK) {
        mysql_close(m);
        return my_host->error(ctx, ENVSYNC_ERR_OTHER, "%s: session setup failed", where);
    }
    *out = m;
    return ENVSYNC_OK;
}

static envsync_status
drain(envsync_ctx *ctx, MYSQL *m, const char *what)
{
    int r;

    do {
        MYSQL_RES *res = mysql_store_result(m);

        if (res)
            mysql_free_result(res);
        else if (mysql_field_count(m) != 0)
            return my_fail(ctx, m, what);
        r = mysql_next_result(m);
        if (r > 0)
            return my_fail(ctx, m, what);
    } while (r == 0);
    return ENVSYNC_OK;
}

envsync_status
my_exec_len(envsync_ctx *ctx, MYSQL *m, const char *what, const char *sql, size_t len)
{
    if (mysql_real_query(m, sql, (unsigned long)len))
        return my_fail(ctx, m, what);
    return drain(ctx, m, what);
}

envsync_status
my_exec(envsync_ctx *ctx, MYSQL *m, const char *what, const char *fmt, ...)
{
    es_buf b = ES_BUF_INIT;
    va_list ap;
    envsync_status s;

    va_start(ap, fmt);
    if (es_buf_vprintf(&b, fmt, ap) < 0) {
        va_end(ap);
        es_buf_free(&b);
        return my_host->error(ctx, ENVSYNC_ERR_OTHER, "%s: out of memory", what);
    }
    va_end(ap);
    s = my_exec_len(ctx, m, what, b.data, b.len);
    es_buf_free(&b);
    return s;
}

envsync_status
my_query(envsync_ctx *ctx, MYSQL *m, const char *what, MYSQL_RES **res,
         const char *fmt, ...)
{
    es_buf b = ES_BUF_INIT;
    va_list ap;

    *res = NULL;
    va_start(ap, fmt);
    if (es_buf_vprintf(&b, fmt, ap) < 0) {
        va_end(ap);
        es_buf_free(&b);
        return my_host->error(ctx, ENVSYNC_ERR_OTHER, "%s: out of memory", what);
    }
    va_end(ap);
    if (mysql_real_query(m, b.data, (unsigned long)b.len)) {
        es_buf_free(&b);
        return my_fail(ctx, m, what);
    }
    es_buf_free(&b);
    *res = mysql_store_result(m);
    if (!*res && mysql_field_count(m) != 0)
        return my_fail(ctx, m, what);
    return ENVSYNC_OK;
}

int
my_qident(es_buf *b, const char *name)
{
    const char *p;

    if (es_buf_putc(b, '`') < 0)
        return -1;
    for (p = name; *p; p++) {
        if (*p == '`' && es_buf_putc(b, '`') < 0)
            return -1;
        if (es_buf_putc(b, *p) < 0)
            return -1;
    }
    return es_buf_putc(b, '`');
}

int
my_qstr(es_buf *b, MYSQL *m, const char *s)
{
    size_t n = strlen(s);

    if (es_buf_reserve(b, n * 2 + 3) < 0)
        return -1;
    b->data[b->len++] = '\'';
    b->len += mysql_real_escape_string(m, b->data + b->len, s, (unsigned long)n);
    b->data[b->len++] = '\'';
    b->data[b->len] = '\0';
    return 0;
}

char *
my_qid(const char *name)
{
    es_buf b = ES_BUF_INIT;

    if (my_qident(&b, name) < 0) {
        es_buf_free(&b);
        return NULL;
    }
    return es_buf_detach(&b, NULL);
}

char *
my_qs(MYSQL *m, const char *s)
{
    es_buf b = ES_BUF_INIT;

    if (my_qstr(&b, m, s) < 0) {
        es_buf_free(&b);
        return NULL;
    }
    return es_buf_detach(&b, NULL);
}

int
my_glob(const char *pat, const char *s)
{
    while (*pat) {
        if (*pat == '*') {
            while (*pat == '*')
                pat++;
            if (!*pat)
                return 1;
            for (; *s; s++)
                if (my_glob(pat, s))
                    return 1;
            return 0;
        }
        if (!*s || (*pat != '?' && *pat != *s))
            return 0;
        pat++;
        s++;
    }
    return *s == '\0';
}

const char *
my_attr(const envsync_entry *e, const char *key)
{
    size_t i;

    if (!e->attrs)
        return NULL;
    for (i = 0; i < e->nattrs; i++)
        if (e->attrs[i].key && !strcmp(e->attrs[i].key, key))
            return e->attrs[i].value;
    return NULL;
}
