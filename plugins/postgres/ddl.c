/*
 * ddl.c - schema DDL from pg_dump, and splitting SQL text into statements.
 *
 * pg_dump runs as a child (posix_spawn: safe while worker threads run);
 * connection parameters reach it through its environment (PGHOST, ...,
 * PGPASSWORD), never through argv, where `ps` would show them.
 */
#include "config.h"
#include "pg.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define STDERR_MAX 4096

/* environ minus the variables we set, plus ours. */
static char **
child_env(const pg_conf *c)
{
    static const char *const ours[] = { "PGHOST=", "PGPORT=", "PGUSER=", "PGPASSWORD=",
                                        "PGDATABASE=", "PGSSLMODE=", "PGCONNECT_TIMEOUT=",
                                        "PGAPPNAME=", "PGOPTIONS=", "PGSERVICE=" };
    size_t n = 0, i, j, o = 0;
    char **env;
    char timeout[48];

    while (environ[n])
        n++;
    env = calloc(n + 12, sizeof *env);
    if (!env)
        return NULL;
    for (i = 0; i < n; i++) {
        int skip = 0;
        for (j = 0; j < sizeof ours / sizeof ours[0]; j++)
            if (strncmp(environ[i], ours[j], strlen(ours[j])) == 0)
                skip = 1;
        if (!skip)
            env[o++] = strdup(environ[i]);
    }
#define SETV(name, v) do { if (v) { es_buf b = ES_BUF_INIT; \
            es_buf_printf(&b, "%s=%s", name, v); env[o++] = es_buf_detach(&b, NULL); } } while (0)
    SETV("PGHOST", c->host);
    SETV("PGPORT", c->port);
    SETV("PGUSER", c->user);
    SETV("PGPASSWORD", c->password);
    SETV("PGDATABASE", c->dbname);
    SETV("PGSSLMODE", c->sslmode);
    SETV("PGAPPNAME", "envsync-pg_dump");
    if (c->connect_timeout_ms > 0) {
        snprintf(timeout, sizeof timeout, "%lld",
                 (long long)((c->connect_timeout_ms + 999) / 1000 < 2 ? 2
                             : (c->connect_timeout_ms + 999) / 1000));
        {
            es_buf b = ES_BUF_INIT;
            es_buf_printf(&b, "PGCONNECT_TIMEOUT=%s", timeout);
            env[o++] = es_buf_detach(&b, NULL);
        }
    }
#undef SETV
    env[o] = NULL;
    return env;
}

static void
free_env(char **env)
{
    size_t i;

    if (!env)
        return;
    for (i = 0; env[i]; i++) {
        /* the password was in here: wipe before freeing */
        memset(env[i], 0, strlen(env[i]));
        free(env[i]);
    }
    free(env);
}

static void
trim_stderr(es_buf *b)
{
    size_t i;

    for (i = 0; i < b->len; i++)
        if (b->data[i] == '\n')
            b->data[i] = ' ';
    while (b->len > 0 && b->data[b->len - 1] == ' ')
        b->data[--b->len] = '\0';
}

envsync_status
pg_dump_run(envsync_ctx *ctx, const pg_conf *c, const char *exe,
            const char *const *args, size_t nargs, es_buf *out, pg_err *err)
{
    int outp[2] = { -1, -1 }, errp[2] = { -1, -1 }, status = 0, rc;
    posix_spawn_file_actions_t fa;
    char **argv = NULL, **env = NULL;
    es_buf errbuf = ES_BUF_INIT;
    pid_t pid = -1;
    size_t i;
    int open_fds;
    envsync_status st = ENVSYNC_OK;

    argv = calloc(nargs + 2, sizeof *argv);
    env = child_env(c);
    /* close-on-exec everywhere: two pg_dumps may start at once, and neither
     * may inherit the other's pipe (dup2 onto 1 and 2 clears the flag) */
    if (!argv || !env || pipe2(outp, O_CLOEXEC) != 0 || pipe2(errp, O_CLOEXEC) != 0) {
        st = pg_err_set(err, ENVSYNC_ERR_OTHER, "pg_dump: cannot set up the child: %s",
                        strerror(errno));
        goto done;
    }
    argv[0] = (char *)exe;
    for (i = 0; i < nargs; i++)
        argv[i + 1] = (char *)args[i];
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, outp[1], 1);
    posix_spawn_file_actions_adddup2(&fa, errp[1], 2);
    posix_spawn_file_actions_addclose(&fa, outp[1]);
    posix_spawn_file_actions_addclose(&fa, errp[1]);
    rc = posix_spawnp(&pid, exe, &fa, NULL, argv, env);
    posix_spawn_file_actions_destroy(&fa);
    close(outp[1]);
    close(errp[1]);
    outp[1] = errp[1] = -1;
    if (rc != 0) {
        pid = -1;
        st = pg_err_set(err, ENVSYNC_ERR_CONFIG, "cannot run pg_dump \"%s\": %s "
                        "(install postgresql-client or set the pg_dump option)",
                        exe, strerror(rc));
        goto done;
    }
    open_fds = 2;
    while (open_fds > 0) {
        struct pollfd pf[2];
        char tmp[65536];
        int k, np = 0;
        if (outp[0] >= 0)
            pf[np++] = (struct pollfd){ outp[0], POLLIN, 0 };
        if (errp[0] >= 0)
            pf[np++] = (struct pollfd){ errp[0], POLLIN, 0 };
        if (pg_host->cancelled(ctx)) {
            kill(pid, SIGTERM);
            st = pg_err_set(err, pg_host->cancelled(ctx), "pg_dump: run cancelled");
            break;
        }
        rc = poll(pf, (nfds_t)np, 200);
        if (rc < 0 && errno != EINTR) {
            st = pg_err_set(err, ENVSYNC_ERR_OTHER, "pg_dump: poll: %s", strerror(errno));
            kill(pid, SIGTERM);
            break;
        }
        for (k = 0; rc > 0 && k < np; k++) {
            ssize_t n;
            if (!(pf[k].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            n = read(pf[k].fd, tmp, sizeof tmp);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0) {
                close(pf[k].fd);
                if (pf[k].fd == outp[0])
                    outp[0] = -1;
                else
                    errp[0] = -1;
                open_fds--;
                continue;
            }
            if (pf[k].fd == outp[0]) {
                if (es_buf_append(out, tmp, (size_t)n) != 0 && st == ENVSYNC_OK) {
                    st = pg_err_set(err, ENVSYNC_ERR_OTHER, "pg_dump: output too large");
                    kill(pid, SIGTERM);
                }
            } else if (errbuf.len < STDERR_MAX) {
                es_buf_append(&errbuf, tmp, (size_t)n);
            }
        }
    }
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    pid = -1;
    if (st == ENVSYNC_OK && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
        envsync_status cls = ENVSYNC_ERR_OTHER;
        trim_stderr(&errbuf);
        if (errbuf.data && (strstr(errbuf.data, "authentication failed") ||
                            strstr(errbuf.data, "permission denied")))
            cls = ENVSYNC_ERR_AUTH;
        else if (errbuf.data && (strstr(errbuf.data, "connection to server") ||
                                 strstr(errbuf.data, "could not connect")))
            cls = ENVSYNC_ERR_CONNECT;
        st = pg_err_set(err, cls, "pg_dump failed (%s %d): %s",
                        WIFEXITED(status) ? "exit" : "signal",
                        WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status),
                        errbuf.data ? errbuf.data : "");
    }
done:
    if (pid > 0)
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
    for (i = 0; i < 2; i++) {
        if (outp[i] >= 0)
            close(outp[i]);
        if (errp[i] >= 0)
            close(errp[i]);
    }
    es_buf_free(&errbuf);
    free(argv);
    free_env(env);
    return st;
}

int
pg_dump_major(const char *exe)
{
    es_buf out = ES_BUF_INIT;
    const char *p;
    int major = -1;

    /* no context: this child is quick and needs no cancellation */
    {
        int outp[2];
        posix_spawn_file_actions_t fa;
        char *argv[] = { (char *)exe, (char *)"--version", NULL };
        pid_t pid;
        int status;
        char tmp[512];
        ssize_t n;

        if (pipe2(outp, O_CLOEXEC) != 0)
            goto out;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, outp[1], 1);
        posix_spawn_file_actions_addclose(&fa, outp[0]);
        posix_spawn_file_actions_addclose(&fa, outp[1]);
        if (posix_spawnp(&pid, exe, &fa, NULL, argv, environ) != 0) {
            posix_spawn_file_actions_destroy(&fa);
            close(outp[0]);
            close(outp[1]);
            goto out;
        }
        posix_spawn_file_actions_destroy(&fa);
        close(outp[1]);
        while ((n = read(outp[0], tmp, sizeof tmp)) > 0 || (n < 0 && errno == EINTR))
            if (n > 0)
                es_buf_append(&out, tmp, (size_t)n);
        close(outp[0]);
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
    }
    /* "pg_dump (PostgreSQL) 15.20 (Debian ...)" */
    if (out.data && (p = strstr(out.data, ") ")) != NULL && isdigit((unsigned char)p[2]))
        major = atoi(p + 2);
out:
    es_buf_free(&out);
    return major;
}

static int
ident_char(char ch)
{
    return isalnum((unsigned char)ch) || ch == '_' || ch == '$' || (unsigned char)ch >= 0x80;
}

/* Length of a dollar-quote tag at p ("$$" or "$tag$"), or 0. */
static size_t
dollar_tag(const char *p, const char *end)
{
    const char *q = p + 1;

    if (q < end && *q == '$')
        return 2;
    if (q >= end || !(isalpha((unsigned char)*q) || *q == '_' || (unsigned char)*q >= 0x80))
        return 0;
    while (q < end && (isalnum((unsigned char)*q) || *q == '_' || (unsigned char)*q >= 0x80))
        q++;
    if (q < end && *q == '$')
        return (size_t)(q - p) + 1;
    return 0;
}

int
pg_split_sql(const char *sql, size_t len, pg_stmt_cb cb, void *arg)
{
    const char *p = sql, *end = sql + len, *start = NULL;
    int rc;

    while (p < end) {
        if (!start) {
            /* between statements: whitespace, comments, meta-commands */
            if (isspace((unsigned char)*p) || *p == ';') {
                p++;
                continue;
            }
            if (*p == '-' && p + 1 < end && p[1] == '-') {
                while (p < end && *p != '\n')
                    p++;
                continue;
            }
            if (*p == '/' && p + 1 < end && p[1] == '*') {
                int depth = 1;
                for (p += 2; p < end && depth > 0; p++) {
                    if (*p == '/' && p + 1 < end && p[1] == '*') {
                        depth++;
                        p++;
                    } else if (*p == '*' && p + 1 < end && p[1] == '/') {
                        depth--;
                        p++;
                    }
                }
                continue;
            }
            if (*p == '\\' && (p == sql || p[-1] == '\n')) {
                while (p < end && *p != '\n')
                    p++;
                continue;
            }
            start = p;
        }
        if (*p == ';') {
            rc = cb(arg, start, (size_t)(p - start));
            if (rc)
                return rc;
            start = NULL;
            p++;
        } else if (*p == '\'') {
            int esc = p > start && (p[-1] == 'E' || p[-1] == 'e') &&
                      !(p - 1 > start && ident_char(p[-2]));
            for (p++; p < end; p++) {
                if (esc && *p == '\\' && p + 1 < end) {
                    p++;
                } else if (*p == '\'') {
                    if (p + 1 < end && p[1] == '\'')
                        p++;
                    else
                        break;
                }
            }
            p++;
        } else if (*p == '"') {
            for (p++; p < end; p++) {
                if (*p == '"') {
                    if (p + 1 < end && p[1] == '"')
                        p++;
                    else
                        break;
                }
            }
            p++;
        } else if (*p == '-' && p + 1 < end && p[1] == '-') {
            while (p < end && *p != '\n')
                p++;
        } else if (*p == '/' && p + 1 < end && p[1] == '*') {
            int depth = 1;
            for (p += 2; p < end && depth > 0; p++) {
                if (*p == '/' && p + 1 < end && p[1] == '*') {
                    depth++;
                    p++;
                } else if (*p == '*' && p + 1 < end && p[1] == '/') {
                    depth--;
                    p++;
                }
            }
        } else if (*p == '$' && !(p > start && ident_char(p[-1])) && dollar_tag(p, end)) {
            size_t tl = dollar_tag(p, end);
            const char *tag = p;
            for (p += tl; p < end; p++)
                if (*p == '$' && (size_t)(end - p) >= tl && memcmp(p, tag, tl) == 0)
                    break;
            p += tl;
        } else {
            p++;
        }
    }
    if (start) {
        const char *e = end;
        while (e > start && isspace((unsigned char)e[-1]))
            e--;
        if (e > start)
            return cb(arg, start, (size_t)(e - start));
    }
    return 0;
}

int
pg_is_owner_stmt(const char *stmt, size_t len)
{
    const char *p, *last = NULL;

    if (len < 16 || strncmp(stmt, "ALTER ", 6) != 0)
        return 0;
    for (p = stmt; p + 10 <= stmt + len; p++)
        if (memcmp(p, " OWNER TO ", 10) == 0)
            last = p;
    if (!last)
        return 0;
    p = last + 10;
    if (p < stmt + len && *p == '"') {
        for (p++; p < stmt + len; p++)
            if (*p == '"') {
                if (p + 1 < stmt + len && p[1] == '"')
                    p++;
                else
                    break;
            }
        p++;
    } else {
        while (p < stmt + len && !isspace((unsigned char)*p))
            p++;
    }
    while (p < stmt + len && isspace((unsigned char)*p))
        p++;
    return p >= stmt + len;
}

int
pg_is_privilege_stmt(const char *stmt, size_t len)
{
    return (len > 6 && strncmp(stmt, "GRANT ", 6) == 0) ||
           (len > 7 && strncmp(stmt, "REVOKE ", 7) == 0) ||
           (len > 29 && strncmp(stmt, "ALTER DEFAULT PRIVILEGES ", 25) == 0);
}

/* Index builds and PRIMARY KEY / UNIQUE / EXCLUDE constraints: they depend
 * only on tables and can run in parallel; everything else keeps its order. */
int
pg_is_parallel_stmt(const char *s, size_t len)
{
    const char *p, *end = s + len;

    if (len > 13 && strncasecmp(s, "CREATE INDEX ", 13) == 0)
        return 1;
    if (len > 20 && strncasecmp(s, "CREATE UNIQUE INDEX ", 20) == 0)
        return 1;
    if (len < 12 || strncasecmp(s, "ALTER TABLE ", 12) != 0)
        return 0;
    for (p = s; p + 16 < end; p++)
        if (strncmp(p, "\n    ADD CONSTRAINT ", 20) == 0 || strncmp(p, " ADD CONSTRAINT ", 16) == 0)
            break;
    if (p + 16 >= end)
        return 0;
    p = strstr(p, "ADD CONSTRAINT ") + 15;
    if (*p == '"') {
        for (p++; p < end; p++)
            if (*p == '"') {
                if (p + 1 < end && p[1] == '"')
                    p++;
                else
                    break;
            }
        p++;
    } else {
        while (p < end && !isspace((unsigned char)*p))
            p++;
    }
    while (p < end && isspace((unsigned char)*p))
        p++;
    return (end - p > 12 && strncmp(p, "PRIMARY KEY ", 12) == 0) ||
           (end - p > 7 && strncmp(p, "UNIQUE ", 7) == 0) ||
           (end - p > 8 && strncmp(p, "EXCLUDE ", 8) == 0);
}

/* ------------------------------------------------------- statement targets */

/* Skips whitespace; then, if the text at *pp is the keyword kw followed by
 * whitespace, moves past it and returns 1. */
static int
take_word(const char **pp, const char *end, const char *kw)
{
    const char *p = *pp;
    size_t n = strlen(kw);

    while (p < end && isspace((unsigned char)*p))
        p++;
    if ((size_t)(end - p) <= n || strncasecmp(p, kw, n) != 0 || !isspace((unsigned char)p[n]))
        return 0;
    *pp = p + n;
    return 1;
}

/* Reads one identifier, quoted ("" doubles a quote) or bare, into out
 * (unquoted, NUL-terminated).  Returns 0, or -1 if there is none or it does
 * not fit. */
static int
take_ident(const char **pp, const char *end, char *out, size_t cap)
{
    const char *p = *pp;
    size_t n = 0;

    while (p < end && isspace((unsigned char)*p))
        p++;
    if (p < end && *p == '"') {
        for (p++;; p++) {
            if (p >= end)
                return -1;
            if (*p == '"') {
                if (p + 1 < end && p[1] == '"')
                    p++;
                else
                    break;
            }
            if (n + 1 >= cap)
                return -1;
            out[n++] = *p;
        }
        p++;
    } else {
        while (p < end && ident_char(*p)) {
            if (n + 1 >= cap)
                return -1;
            out[n++] = *p++;
        }
    }
    if (n == 0)
        return -1;
    out[n] = '\0';
    *pp = p;
    return 0;
}

int
pg_parallel_target(const char *stmt, size_t len, char *schema, size_t scap, char *name,
                   size_t ncap)
{
    const char *p = stmt, *end = stmt + len;
    char idx[256];

    if (take_word(&p, end, "CREATE")) {
        (void)take_word(&p, end, "UNIQUE");
        if (!take_word(&p, end, "INDEX") || take_ident(&p, end, idx, sizeof idx) != 0 ||
            !take_word(&p, end, "ON"))
            return -1;
    } else if (!take_word(&p, end, "ALTER") || !take_word(&p, end, "TABLE")) {
        return -1;
    }
    (void)take_word(&p, end, "ONLY");
    if (take_ident(&p, end, schema, scap) != 0 || p >= end || *p != '.')
        return -1;
    p++;
    return take_ident(&p, end, name, ncap);
}

/* Moves *pp past a parenthesised group starting at *pp ('(' expected),
 * quotes and nesting respected.  0, or -1 if unbalanced. */
static int
skip_parens(const char **pp, const char *end)
{
    const char *p = *pp;
    int depth = 0;

    if (p >= end || *p != '(')
        return -1;
    for (; p < end; p++) {
        if (*p == '"' || *p == '\'') {
            char q = *p;
            for (p++; p < end && *p != q; p++)
                ;
            if (p >= end)
                return -1;
        } else if (*p == '(') {
            depth++;
        } else if (*p == ')' && --depth == 0) {
            *pp = p + 1;
            return 0;
        }
    }
    return -1;
}

/* The raw text of one identifier (quotes kept) at *pp; NULL if none. */
static const char *
raw_ident(const char **pp, const char *end, size_t *len)
{
    const char *p = *pp, *start;

    while (p < end && isspace((unsigned char)*p))
        p++;
    start = p;
    if (p < end && *p == '"') {
        for (p++;; p++) {
            if (p >= end)
                return NULL;
            if (*p == '"') {
                if (p + 1 < end && p[1] == '"')
                    p++;
                else
                    break;
            }
        }
        p++;
    } else {
        while (p < end && ident_char(*p))
            p++;
    }
    if (p == start)
        return NULL;
    *len = (size_t)(p - start);
    *pp = p;
    return start;
}

int
pg_split_key_stmt(const char *stmt, size_t len, es_buf *create, es_buf *attach)
{
    const char *p = stmt, *end = stmt + len, *alter_end, *tab, *name, *cols, *incl = NULL,
               *with = NULL;
    size_t tablen, namelen, colslen, incllen = 0, withlen = 0;
    int pk, nnd = 0;

    if (!take_word(&p, end, "ALTER") || !take_word(&p, end, "TABLE"))
        return 0;
    (void)take_word(&p, end, "ONLY");
    tab = p;
    while (tab < end && isspace((unsigned char)*tab))
        tab++;
    if (!raw_ident(&p, end, &tablen) || p >= end || *p != '.' || (p++, !raw_ident(&p, end, &tablen)))
        return 0;
    tablen = (size_t)(p - tab);
    alter_end = p;
    if (!take_word(&p, end, "ADD") || !take_word(&p, end, "CONSTRAINT") ||
        !(name = raw_ident(&p, end, &namelen)))
        return 0;
    if (take_word(&p, end, "PRIMARY") && take_word(&p, end, "KEY"))
        pk = 1;
    else if (take_word(&p, end, "UNIQUE"))
        pk = 0;
    else
        return 0;
    if (!pk && take_word(&p, end, "NULLS")) {
        if (!take_word(&p, end, "NOT") || !take_word(&p, end, "DISTINCT"))
            return 0;
        nnd = 1;
    }
    while (p < end && isspace((unsigned char)*p))
        p++;
    cols = p;
    if (skip_parens(&p, end) != 0)
        return 0;
    colslen = (size_t)(p - cols);
    /* then only INCLUDE (...) and WITH (...), in that order; anything else
     * (DEFERRABLE, USING INDEX TABLESPACE) stays a plain ADD CONSTRAINT */
    if (take_word(&p, end, "INCLUDE") || (p + 8 < end && strncasecmp(p, " INCLUDE(", 9) == 0 && (p += 8))) {
        while (p < end && isspace((unsigned char)*p))
            p++;
        incl = p;
        if (skip_parens(&p, end) != 0)
            return 0;
        incllen = (size_t)(p - incl);
    }
    if (take_word(&p, end, "WITH")) {
        while (p < end && isspace((unsigned char)*p))
            p++;
        with = p;
        if (skip_parens(&p, end) != 0)
            return 0;
        withlen = (size_t)(p - with);
    }
    while (p < end && isspace((unsigned char)*p))
        p++;
    if (p != end)
        return 0;
    es_buf_reset(create);
    es_buf_puts(create, "CREATE UNIQUE INDEX ");
    es_buf_append(create, name, namelen);
    es_buf_puts(create, " ON ");
    es_buf_append(create, tab, tablen);
    es_buf_puts(create, " USING btree ");
    es_buf_append(create, cols, colslen);
    if (incl) {
        es_buf_puts(create, " INCLUDE ");
        es_buf_append(create, incl, incllen);
    }
    if (nnd)
        es_buf_puts(create, " NULLS NOT DISTINCT");
    if (with) {
        es_buf_puts(create, " WITH ");
        es_buf_append(create, with, withlen);
    }
    es_buf_reset(attach);
    es_buf_append(attach, stmt, (size_t)(alter_end - stmt));
    es_buf_puts(attach, " ADD CONSTRAINT ");
    es_buf_append(attach, name, namelen);
    es_buf_puts(attach, pk ? " PRIMARY KEY USING INDEX " : " UNIQUE USING INDEX ");
    es_buf_append(attach, name, namelen);
    return create->data && attach->data ? 1 : -1;
}

int
pg_split_fk_stmt(const char *stmt, size_t len, es_buf *add, es_buf *validate)
{
    const char *p = stmt, *end = stmt + len, *tab, *name, *q;
    size_t tablen, namelen;

    /* ONLY: pg_dump leaves it out for a partitioned table, where NOT VALID
     * foreign keys are refused */
    if (!take_word(&p, end, "ALTER") || !take_word(&p, end, "TABLE") ||
        !take_word(&p, end, "ONLY"))
        return 0;
    while (p < end && isspace((unsigned char)*p))
        p++;
    tab = p;
    if (!raw_ident(&p, end, &tablen) || p >= end || *p != '.' || (p++, !raw_ident(&p, end, &tablen)))
        return 0;
    tablen = (size_t)(p - tab);
    if (!take_word(&p, end, "ADD") || !take_word(&p, end, "CONSTRAINT") ||
        !(name = raw_ident(&p, end, &namelen)) || !take_word(&p, end, "FOREIGN") ||
        !take_word(&p, end, "KEY"))
        return 0;
    for (q = end; q > p && isspace((unsigned char)q[-1]); q--)
        ;
    if (q - p >= 9 && strncasecmp(q - 9, "NOT VALID", 9) == 0)
        return 0;                /* stays not valid, as in the source */
    es_buf_reset(add);
    es_buf_append(add, stmt, (size_t)(q - stmt));
    es_buf_puts(add, " NOT VALID");
    es_buf_reset(validate);
    es_buf_puts(validate, "ALTER TABLE ONLY ");
    es_buf_append(validate, tab, tablen);
    es_buf_puts(validate, " VALIDATE CONSTRAINT ");
    es_buf_append(validate, name, namelen);
    return add->data && validate->data ? 1 : -1;
}
