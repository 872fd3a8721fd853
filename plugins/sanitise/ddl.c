/*
 * ddl.c - column lists from CREATE TABLE statements (pg_dump output,
 * MySQL/MariaDB SHOW CREATE TABLE), so policy strict can refuse a run
 * from the schema entries, before any row reaches the restore.
 *
 * Conservative by design: a statement it does not fully understand
 * yields nothing (the per-table check on the first DATA chunk still
 * applies).  Skipped: constraints and index lines, generated columns
 * (never in the row data), typed tables (OF type), partitions (PARTITION
 * OF), and tables with INHERITS or LIKE (their column list is incomplete).
 */
#include "apply.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct cur {
    const char *p, *end;
} cur;

static void
skip_ws(cur *c)
{
    for (;;) {
        while (c->p < c->end && isspace((unsigned char)*c->p))
            c->p++;
        if (c->end - c->p >= 2 && c->p[0] == '-' && c->p[1] == '-') {
            while (c->p < c->end && *c->p != '\n')
                c->p++;
            continue;
        }
        if (c->end - c->p >= 2 && c->p[0] == '/' && c->p[1] == '*') {
            const char *e = c->p + 2;

            while (e + 1 < c->end && !(e[0] == '*' && e[1] == '/'))
                e++;
            c->p = e + 1 < c->end ? e + 2 : c->end;
            continue;
        }
        return;
    }
}

static int
kw(cur *c, const char *word)
{
    size_t n = strlen(word);

    skip_ws(c);
    if ((size_t)(c->end - c->p) >= n && strncasecmp(c->p, word, n) == 0 &&
        (c->p + n == c->end || !(isalnum((unsigned char)c->p[n]) || c->p[n] == '_'))) {
        c->p += n;
        return 1;
    }
    return 0;
}

/* An identifier (bare, "quoted" or `quoted`) into out; 0 on success. */
static int
ident(cur *c, es_buf *out)
{
    skip_ws(c);
    es_buf_reset(out);
    if (c->p >= c->end)
        return -1;
    if (*c->p == '"' || *c->p == '`') {
        char q = *c->p++;

        while (c->p < c->end) {
            if (*c->p == q) {
                if (c->p + 1 < c->end && c->p[1] == q) {
                    es_buf_putc(out, q);
                    c->p += 2;
                    continue;
                }
                c->p++;
                return es_buf_reserve(out, 1);
            }
            es_buf_putc(out, *c->p++);
        }
        return -1;
    }
    if (!(isalpha((unsigned char)*c->p) || *c->p == '_' || (unsigned char)*c->p >= 0x80))
        return -1;
    while (c->p < c->end && (isalnum((unsigned char)*c->p) || *c->p == '_' || *c->p == '$' ||
                             (unsigned char)*c->p >= 0x80))
        es_buf_putc(out, *c->p++);
    return es_buf_reserve(out, 1);
}

/* End of the table element starting at c->p: the ',' or ')' at depth 0,
 * outside quotes.  Returns NULL if unbalanced. */
static const char *
element_end(const char *p, const char *end)
{
    int depth = 0;

    while (p < end) {
        char ch = *p;

        if (ch == '\'' || ch == '"' || ch == '`') {
            p++;
            while (p < end && *p != ch) {
                if (*p == '\\' && ch == '\'' && p + 1 < end)
                    p++;
                p++;
            }
            if (p >= end)
                return NULL;
        } else if (ch == '(') {
            depth++;
        } else if (ch == ')') {
            if (depth == 0)
                return p;
            depth--;
        } else if (ch == ',' && depth == 0) {
            return p;
        }
        p++;
    }
    return NULL;
}

static int
contains_ci(const char *p, size_t n, const char *w)
{
    size_t k = strlen(w), i;

    for (i = 0; i + k <= n; i++)
        if (strncasecmp(p + i, w, k) == 0)
            return 1;
    return 0;
}

static const char *const not_columns[] = {
    "CONSTRAINT", "PRIMARY", "UNIQUE", "KEY", "INDEX", "FOREIGN", "CHECK",
    "FULLTEXT", "SPATIAL", "EXCLUDE", "LIKE", "PERIOD", "SYSTEM", NULL
};

/* One CREATE TABLE after the keywords; calls cb if the column list is
 * complete.  Leaves c after the statement's closing parenthesis. */
static void
one_table(cur *c, const char *schema, sz_ddl_fn cb, void *arg)
{
    es_buf a = ES_BUF_INIT, b = ES_BUF_INIT, name = ES_BUF_INIT, cols = ES_BUF_INIT,
           qual = ES_BUF_INIT;
    const char *sch = schema;
    int complete = 1;

    if (kw(c, "IF") && kw(c, "NOT"))
        kw(c, "EXISTS");
    if (ident(c, &a) != 0)
        goto out;
    skip_ws(c);
    if (c->p < c->end && *c->p == '.') {
        c->p++;
        if (ident(c, &b) != 0)
            goto out;
        es_buf_append(&qual, a.data, a.len);
        es_buf_reserve(&qual, 1);
        sch = qual.data;
        es_buf_append(&name, b.data, b.len);
    } else {
        es_buf_append(&name, a.data, a.len);
    }
    skip_ws(c);
    if (c->p >= c->end || *c->p != '(')
        goto out;               /* OF type, PARTITION OF, AS SELECT ... */
    c->p++;
    for (;;) {
        const char *e = element_end(c->p, c->end);
        cur el;
        size_t i;

        if (!e)
            goto out;
        el.p = c->p;
        el.end = e;
        skip_ws(&el);
        if (el.p < el.end) {
            int skip = 0;

            for (i = 0; not_columns[i]; i++)
                if (kw(&el, not_columns[i])) {
                    skip = 1;
                    if (!strcmp(not_columns[i], "LIKE"))
                        complete = 0;
                    break;
                }
            if (!skip && ident(&el, &a) == 0) {
                /* generated columns are not in the row data */
                if (contains_ci(el.p, (size_t)(el.end - el.p), "GENERATED ALWAYS AS") ||
                    ((contains_ci(el.p, (size_t)(el.end - el.p), " AS (") ||
                      contains_ci(el.p, (size_t)(el.end - el.p), " AS(")) &&
                     (contains_ci(el.p, (size_t)(el.end - el.p), "VIRTUAL") ||
                      contains_ci(el.p, (size_t)(el.end - el.p), "STORED") ||
                      contains_ci(el.p, (size_t)(el.end - el.p), "PERSISTENT"))))
                    ;
                else
                    es_buf_printf(&cols, "%s%s", cols.len ? "\t" : "", a.data);
            } else if (!skip) {
                complete = 0;
            }
        }
        c->p = e + 1;
        if (*e == ')')
            break;
    }
    /* inherited columns are not listed; a partitioned parent holds no rows
     * of its own (its partitions do, under their names) */
    if (kw(c, "INHERITS") || kw(c, "PARTITION"))
        complete = 0;
    /* without a schema the table cannot be matched reliably: no verdict */
    if (complete && cols.len && sch && *sch)
        cb(arg, sch, name.data, cols.data);
out:
    es_buf_free(&qual);
    es_buf_free(&a);
    es_buf_free(&b);
    es_buf_free(&name);
    es_buf_free(&cols);
}

void
sz_ddl_tables(const char *ddl, size_t len, const char *schema, sz_ddl_fn cb, void *arg)
{
    cur c;

    c.p = ddl;
    c.end = ddl + len;
    while (c.p < c.end) {
        skip_ws(&c);
        if (c.p >= c.end)
            break;
        if (kw(&c, "CREATE")) {
            kw(&c, "UNLOGGED");
            if (kw(&c, "TABLE")) {
                one_table(&c, schema, cb, arg);
                continue;
            }
        }
        /* skip to the end of the statement (outside quotes) */
        while (c.p < c.end && *c.p != ';') {
            if (*c.p == '\'' || *c.p == '"' || *c.p == '`') {
                char q = *c.p++;

                while (c.p < c.end && *c.p != q)
                    c.p += (*c.p == '\\' && q == '\'' && c.p + 1 < c.end) ? 2 : 1;
            } else if (*c.p == '$') {
                /* PostgreSQL dollar quoting: $tag$ ... $tag$ */
                const char *t = c.p + 1;

                while (t < c.end && (isalnum((unsigned char)*t) || *t == '_'))
                    t++;
                if (t < c.end && *t == '$') {
                    size_t tl = (size_t)(t - c.p + 1);
                    const char *q = t + 1;

                    while (q + tl <= c.end && memcmp(q, c.p, tl) != 0)
                        q++;
                    c.p = q + tl <= c.end ? q + tl - 1 : c.end;
                }
            }
            if (c.p < c.end)
                c.p++;
        }
        if (c.p < c.end)
            c.p++;
    }
}
