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
                return es_buf_append(out, "", 0);
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
    return es_buf_append(out, "", 0);
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
/* The first word of a column type, lower case ("character varying(10)"
 * -> "character", "int(11) unsigned" -> "int", "text[]" -> "text[]"). */
static void
type_word(cur *el, es_buf *out)
{
    const char *p;

    skip_ws(el);
    for (p = el->p; p < el->end && (isalnum((unsigned char)*p) || *p == '_' || *p == '.' ||
                                    *p == '"'); p++)
        if (*p != '"')
            es_buf_putc(out, (char)tolower((unsigned char)*p));
    /* an array suffix after an optional (n) */
    while (p < el->end && *p == '(') {
        while (p < el->end && *p != ')')
            p++;
        if (p < el->end)
            p++;
    }
    if (p + 1 < el->end && p[0] == '[')
        es_buf_puts(out, "[]");
}

/* "(`a`)" or "(a)" holding exactly one plain column: its name into out. */
static int
single_column(cur *c, es_buf *out)
{
    skip_ws(c);
    if (c->p >= c->end || *c->p != '(')
        return -1;
    c->p++;
    if (ident(c, out) != 0)
        return -1;
    skip_ws(c);
    return c->p < c->end && *c->p == ')' ? 0 : -1;
}

static void
one_table(cur *c, const char *schema, sz_ddl_fn cb, void *arg)
{
    es_buf a = ES_BUF_INIT, b = ES_BUF_INIT, name = ES_BUF_INIT, cols = ES_BUF_INIT,
           qual = ES_BUF_INIT, types = ES_BUF_INIT, uniq = ES_BUF_INIT;
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
        es_buf_append(&qual, "", 0);
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
                    /* PRIMARY KEY (`a`), UNIQUE [KEY `n`] (`a`) */
                    if (!strcmp(not_columns[i], "PRIMARY") || !strcmp(not_columns[i], "UNIQUE")) {
                        cur u = el;

                        kw(&u, "KEY");
                        kw(&u, "INDEX");
                        skip_ws(&u);
                        if (u.p < u.end && *u.p != '(' && ident(&u, &b) != 0)
                            break;
                        if (single_column(&u, &b) == 0)
                            es_buf_printf(&uniq, "%s%s", uniq.len ? "\t" : "", b.data);
                    }
                    break;
                }
            if (!skip && ident(&el, &a) == 0) {
                size_t rest = (size_t)(el.end - el.p);

                /* generated columns are not in the row data */
                if (contains_ci(el.p, rest, "GENERATED ALWAYS AS") ||
                    ((contains_ci(el.p, rest, " AS (") || contains_ci(el.p, rest, " AS(")) &&
                     (contains_ci(el.p, rest, "VIRTUAL") || contains_ci(el.p, rest, "STORED") ||
                      contains_ci(el.p, rest, "PERSISTENT")))) {
                    ;
                } else {
                    es_buf_printf(&cols, "%s%s", cols.len ? "\t" : "", a.data);
                    if (types.len || cols.len > a.len)
                        es_buf_putc(&types, '\t');
                    type_word(&el, &types);
                    if (contains_ci(el.p, rest, " PRIMARY KEY") || contains_ci(el.p, rest, " UNIQUE"))
                        es_buf_printf(&uniq, "%s%s", uniq.len ? "\t" : "", a.data);
                }
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
    if (sch && *sch && (uniq.len || (complete && cols.len))) {
        sz_ddl_info t;

        es_buf_append(&uniq, "", 0);
        es_buf_append(&types, "", 0);
        t.schema = sch;
        t.table = name.data;
        t.columns = complete && cols.len ? cols.data : NULL;
        t.types = complete && cols.len ? types.data : NULL;
        t.unique = uniq.data;
        cb(arg, &t);
    }
out:
    es_buf_free(&qual);
    es_buf_free(&types);
    es_buf_free(&uniq);
    es_buf_free(&a);
    es_buf_free(&b);
    es_buf_free(&name);
    es_buf_free(&cols);
}

/* [ONLY] [schema.]table into sch/name; 0 on success. */
static int
table_name(cur *c, const char *schema, es_buf *sch, es_buf *name)
{
    es_buf a = ES_BUF_INIT;
    int rc = -1;

    kw(c, "ONLY");
    if (ident(c, &a) != 0)
        goto out;
    skip_ws(c);
    es_buf_reset(sch);
    es_buf_reset(name);
    if (c->p < c->end && *c->p == '.') {
        c->p++;
        es_buf_append(sch, a.data, a.len);
        if (ident(c, &a) != 0)
            goto out;
    } else if (schema) {
        es_buf_puts(sch, schema);
    }
    es_buf_append(name, a.data, a.len);
    rc = es_buf_append(sch, "", 0) | es_buf_append(name, "", 0);
out:
    es_buf_free(&a);
    return rc;
}

static void
report_unique(sz_ddl_fn cb, void *arg, es_buf *sch, es_buf *name, es_buf *col)
{
    sz_ddl_info t;

    if (!sch->len)
        return;
    t.schema = sch->data;
    t.table = name->data;
    t.columns = t.types = NULL;
    t.unique = col->data;
    cb(arg, &t);
}

void
sz_ddl_tables(const char *ddl, size_t len, const char *schema, sz_ddl_fn cb, void *arg)
{
    cur c;
    es_buf sch = ES_BUF_INIT, name = ES_BUF_INIT, col = ES_BUF_INIT, tmp = ES_BUF_INIT;

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
            /* CREATE UNIQUE INDEX n ON [ONLY] t [USING m] (col) */
            if (kw(&c, "UNIQUE") && kw(&c, "INDEX")) {
                kw(&c, "CONCURRENTLY");
                if (kw(&c, "IF") && kw(&c, "NOT"))
                    kw(&c, "EXISTS");
                if (ident(&c, &tmp) == 0 && kw(&c, "ON") &&
                    table_name(&c, schema, &sch, &name) == 0) {
                    if (kw(&c, "USING"))
                        ident(&c, &tmp);
                    if (single_column(&c, &col) == 0)
                        report_unique(cb, arg, &sch, &name, &col);
                }
            }
        } else if (kw(&c, "ALTER")) {
            /* ALTER TABLE [ONLY] t ADD CONSTRAINT n PRIMARY KEY|UNIQUE (col) */
            if (kw(&c, "TABLE") && table_name(&c, schema, &sch, &name) == 0 &&
                kw(&c, "ADD") && kw(&c, "CONSTRAINT") && ident(&c, &tmp) == 0 &&
                ((kw(&c, "PRIMARY") && kw(&c, "KEY")) || kw(&c, "UNIQUE")) &&
                single_column(&c, &col) == 0)
                report_unique(cb, arg, &sch, &name, &col);
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
    es_buf_free(&sch);
    es_buf_free(&name);
    es_buf_free(&col);
    es_buf_free(&tmp);
}

/* ------------------------------------------------------------ rule checks */
typedef enum fam {
    F_UNKNOWN, F_TEXT, F_BINARY, F_NUMERIC, F_TEMPORAL, F_BOOL, F_NETWORK,
    F_UUID, F_JSON, F_ARRAY, F_ENUM
} fam;

static fam
family(const char *t)
{
    static const struct { const char *name; fam f; } map[] = {
        { "text", F_TEXT }, { "character", F_TEXT }, { "varchar", F_TEXT }, { "char", F_TEXT },
        { "citext", F_TEXT }, { "tinytext", F_TEXT }, { "mediumtext", F_TEXT },
        { "longtext", F_TEXT }, { "nvarchar", F_TEXT }, { "nchar", F_TEXT },
        { "national", F_TEXT }, { "name", F_TEXT }, { "bpchar", F_TEXT },
        { "bytea", F_BINARY }, { "blob", F_BINARY }, { "tinyblob", F_BINARY },
        { "mediumblob", F_BINARY }, { "longblob", F_BINARY }, { "binary", F_BINARY },
        { "varbinary", F_BINARY },
        { "smallint", F_NUMERIC }, { "integer", F_NUMERIC }, { "int", F_NUMERIC },
        { "bigint", F_NUMERIC }, { "tinyint", F_NUMERIC }, { "mediumint", F_NUMERIC },
        { "numeric", F_NUMERIC }, { "decimal", F_NUMERIC }, { "real", F_NUMERIC },
        { "double", F_NUMERIC }, { "float", F_NUMERIC }, { "int2", F_NUMERIC },
        { "int4", F_NUMERIC }, { "int8", F_NUMERIC }, { "float4", F_NUMERIC },
        { "float8", F_NUMERIC }, { "money", F_NUMERIC }, { "year", F_NUMERIC },
        { "date", F_TEMPORAL }, { "time", F_TEMPORAL }, { "timestamp", F_TEMPORAL },
        { "timestamptz", F_TEMPORAL }, { "timetz", F_TEMPORAL }, { "datetime", F_TEMPORAL },
        { "interval", F_TEMPORAL },
        { "boolean", F_BOOL }, { "bool", F_BOOL },
        { "inet", F_NETWORK }, { "cidr", F_NETWORK },
        { "uuid", F_UUID }, { "json", F_JSON }, { "jsonb", F_JSON },
        { "enum", F_ENUM }, { "set", F_ENUM },
    };
    size_t i, n = strlen(t);

    if (n >= 2 && !strcmp(t + n - 2, "[]"))
        return F_ARRAY;
    if (!strncmp(t, "pg_catalog.", 11))
        t += 11;
    for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (!strcmp(t, map[i].name))
            return map[i].f;
    return F_UNKNOWN;
}

static const char *
one_problem(const sr_rule *r, fam f)
{
    switch (r->kind) {
    case SR_KEEP:
    case SR_NULL:
        return NULL;
    case SR_SET:
        if (f == F_NUMERIC) {
            char *end;

            strtod(r->value, &end);
            if (!*r->value || *end)
                return "the value is not a number";
        }
        return NULL;
    case SR_EMPTY:
        return f == F_TEXT || f == F_BINARY || f == F_ENUM ? NULL :
               "an empty string is not a value of this type";
    case SR_HASH:
        if (r->enc == SR_ENC_DECIMAL)
            return f == F_NUMERIC || f == F_TEXT || f == F_BINARY ? NULL :
                   "hash(encoding=decimal) produces a number";
        return f == F_TEXT || f == F_BINARY ? NULL : "hash produces text";
    case SR_IP:
        return f == F_TEXT || f == F_BINARY || f == F_NETWORK ? NULL : "ip produces an address";
    case SR_JSON:
        return f == F_TEXT || f == F_JSON || f == F_BINARY ? NULL : "json() needs a JSON or text column";
    default:
        return f == F_TEXT || f == F_BINARY ? NULL : "the rule produces text";
    }
}

const char *
sz_rule_type_problem(const sr_rule *r, const char *type)
{
    fam f = family(type ? type : "");
    const char *p;

    if (f == F_UNKNOWN)
        return NULL;
    if (f == F_ARRAY) {
        for (; r; r = r->next)
            if (r->kind != SR_KEEP && r->kind != SR_NULL && r->kind != SR_SET)
                return "array columns take only keep, null or set";
        return NULL;
    }
    for (; r; r = r->next)
        if ((p = one_problem(r, f)) != NULL)
            return p;
    return NULL;
}

int
sz_rule_not_injective(const sr_rule *r)
{
    for (; r; r = r->next)
        if (r->kind == SR_SET || r->kind == SR_EMPTY || r->kind == SR_LOREM ||
            r->kind == SR_MASK || r->kind == SR_NAME)
            return 1;
    return 0;
}
