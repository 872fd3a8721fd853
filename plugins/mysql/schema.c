#define _GNU_SOURCE 1  /* memmem */
/*
 * schema.c - rewriting SHOW CREATE TABLE output for deferred indexes.
 *
 * SHOW CREATE TABLE prints one table element per line, each indented by
 * two spaces and ended by a comma except the last; string literals inside
 * (defaults, comments) have their newlines escaped.  A raw newline can only
 * come from an expression (generated column, CHECK), so a line that does
 * not start a new element is glued to the previous one.
 */
#include "my.h"

#include <stdlib.h>
#include <string.h>

static int
starts(const char *s, size_t n, const char *prefix)
{
    size_t k = strlen(prefix);

    return n >= k && !memcmp(s, prefix, k);
}

/* does this line start a new table element? */
static int
element_start(const char *s, size_t n)
{
    if (n < 3 || s[0] != ' ' || s[1] != ' ')
        return 0;
    if (s[2] == '`')
        return 1;
    return s[2] >= 'A' && s[2] <= 'Z';
}

/* skip a backquoted identifier at p (p points at '`'); returns the char
 * after it, or NULL */
static const char *
skip_ident(const char *p, const char *end)
{
    if (p >= end || *p != '`')
        return NULL;
    for (p++; p < end; p++) {
        if (*p == '`') {
            if (p + 1 < end && p[1] == '`') {
                p++;
                continue;
            }
            return p + 1;
        }
    }
    return NULL;
}

typedef struct elem {
    const char *p;
    size_t n;           /* without trailing comma */
} elem;

enum { E_KEEP, E_INDEX, E_FULLTEXT, E_FK };

static int
classify(const elem *e, const char *ai_col, size_t ai_len)
{
    const char *p = e->p + 2, *end = e->p + e->n, *q;
    size_t n = (size_t)(end - p);

    if (starts(p, n, "CONSTRAINT ")) {
        q = skip_ident(p + 11, end);
        if (q && starts(q, (size_t)(end - q), " FOREIGN KEY "))
            return E_FK;
        return E_KEEP;
    }
    if (starts(p, n, "FULLTEXT KEY ") || starts(p, n, "FULLTEXT INDEX "))
        return E_FULLTEXT;
    if (!starts(p, n, "KEY ") && !starts(p, n, "UNIQUE KEY ") && !starts(p, n, "SPATIAL KEY ")
        && !starts(p, n, "INDEX ") && !starts(p, n, "UNIQUE INDEX "))
        return E_KEEP;
    if (ai_col) {
        /* the AUTO_INCREMENT column must stay the first column of a key */
        q = memchr(p, '`', n);
        q = q ? skip_ident(q, end) : NULL;
        while (q && q < end && *q == ' ')
            q++;
        if (q && q < end && *q == '(' && (size_t)(end - q) > ai_len + 1
            && !memcmp(q + 1, ai_col, ai_len))
            return E_KEEP;
    }
    return E_INDEX;
}

int
my_split_create(const char *ddl, es_buf *create, es_buf *indexes, es_buf *fulltext,
                es_buf *fks)
{
    const char *body = strchr(ddl, '\n'), *p, *tail = NULL;
    elem *els = NULL;
    size_t nel = 0, cap = 0, i, kept = 0;
    const char *ai_col = NULL;
    size_t ai_len = 0;
    int rc = -1;

    if (!body || strncmp(ddl, "CREATE TABLE ", 13))
        return -1;
    body++;
    /* collect elements until the closing line ")..." */
    for (p = body; *p; ) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);

        if (n > 0 && p[0] == ')') {
            tail = p;
            break;
        }
        if (element_start(p, n) || nel == 0) {
            if (nel == cap) {
                elem *ne = realloc(els, (cap = cap ? cap * 2 : 32) * sizeof(*els));

                if (!ne)
                    goto out;
                els = ne;
            }
            els[nel].p = p;
            els[nel].n = n;
            nel++;
        } else {
            els[nel - 1].n = (size_t)(p + n - els[nel - 1].p);
        }
        if (!nl)
            break;
        p = nl + 1;
    }
    if (!tail || nel == 0)
        goto out;
    for (i = 0; i < nel; i++) {
        if (els[i].n && els[i].p[els[i].n - 1] == ',')
            els[i].n--;
        if (!ai_col && els[i].p[2] == '`') {
            const char *end = els[i].p + els[i].n;
            const char *q = skip_ident(els[i].p + 2, end);
            static const char ai[] = " AUTO_INCREMENT";

            if (q && (size_t)(end - els[i].p) > sizeof(ai)
                && (!memcmp(end - (sizeof(ai) - 1), ai, sizeof(ai) - 1)
                    || memmem(els[i].p, els[i].n, " AUTO_INCREMENT ", 16))) {
                ai_col = els[i].p + 2;
                ai_len = (size_t)(q - ai_col);
            }
        }
    }
    if (es_buf_append(create, ddl, (size_t)(body - ddl)) < 0)
        goto out;
    for (i = 0; i < nel; i++) {
        int k = classify(&els[i], ai_col, ai_len);
        es_buf *dst = NULL;

        if (k == E_KEEP) {
            if ((kept++ && es_buf_puts(create, ",\n") < 0)
                || es_buf_append(create, els[i].p, els[i].n) < 0)
                goto out;
            continue;
        }
        dst = k == E_INDEX ? indexes : k == E_FK ? fks : fulltext;
        if (dst->len && es_buf_puts(dst, k == E_FULLTEXT ? "\n" : ", ") < 0)
            goto out;
        if (es_buf_puts(dst, "ADD ") < 0
            || es_buf_append(dst, els[i].p + 2, els[i].n - 2) < 0)
            goto out;
    }
    if (es_buf_putc(create, '\n') < 0 || es_buf_puts(create, tail) < 0)
        goto out;
    rc = 0;
out:
    free(els);
    return rc;
}

/* skip `ident` or 'ident'; returns the char after it, or NULL */
static char *
skip_quoted(char *p)
{
    char q = *p;

    if (q != '`' && q != '\'')
        return NULL;
    for (p++; *p; p++) {
        if (*p == q) {
            if (p[1] == q) {
                p++;
                continue;
            }
            return p + 1;
        }
        if (q == '\'' && *p == '\\' && p[1])
            p++;
    }
    return NULL;
}

int
my_strip_definer(char *ddl)
{
    /* the clause sits between CREATE and the object keyword, within the
     * statement's head: DEFINER=`user`@`host` or DEFINER=`role` */
    static const char *const kws[] = { " VIEW ", " TRIGGER ", " PROCEDURE ", " FUNCTION ",
                                       " EVENT ", " AGGREGATE ", " PACKAGE " };
    char *d = strstr(ddl, " DEFINER=");
    char *head_end = NULL, *p;
    size_t i;

    for (i = 0; i < sizeof(kws) / sizeof(kws[0]); i++) {
        char *k = strstr(ddl, kws[i]);

        if (k && (!head_end || k < head_end))
            head_end = k;
    }
    if (!d || !head_end || d > head_end)
        return 0;
    p = skip_quoted(d + 9);
    if (!p)
        return 0;
    if (*p == '@') {
        p = skip_quoted(p + 1);
        if (!p)
            return 0;
    }
    memmove(d, p, strlen(p) + 1);
    return 1;
}
