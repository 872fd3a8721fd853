/*
 * apply.c - row and document rewriting (see apply.h).
 *
 * Rows: a field that no rule changes is never decoded: the escaped bytes
 * between changed fields are copied in runs, so a table whose columns are
 * mostly `keep` costs little more than a memcpy.  A changed field is
 * decoded (only if it holds a backslash), rewritten and re-escaped.
 * Conditions and filters read the original values of the same row.
 */
#include "apply.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
sz_init(sz *z, sr_ruleset *rs, const unsigned char *key, size_t keylen,
        double now, int verify, char *err, size_t errlen)
{
    memset(z, 0, sizeof(*z));
    z->rs = rs;
    z->verify = verify;
    es_buf_init(&z->out, 0);
    es_buf_init(&z->scratch, 0);
    es_buf_init(&z->pscratch, 0);
    return sr_env_init(&z->env, key, keylen, now, err, errlen);
}

static void
plan_free(sz_plan *p)
{
    size_t i, j;

    for (i = 0; p->cols && i < p->ncols; i++) {
        for (j = 0; p->cols[i].when_idx && j < p->cols[i].nrules; j++)
            free(p->cols[i].when_idx[j]);
        free(p->cols[i].when_idx);
        free(p->cols[i].rules);
    }
    if (p->filter_idx && p->table)
        for (i = 0; i < p->table->nfilters; i++)
            free(p->filter_idx[i]);
    free(p->filter_idx);
    free(p->cols);
    free(p->colbuf);
    free(p->active);
    free(p->flags);
    free(p->missing);
    free(p->schema);
    free(p->object);
    free(p->columns);
    free(p->display);
    free(p);
}

void
sz_free(sz *z)
{
    while (z->plans) {
        sz_plan *n = z->plans->next;

        plan_free(z->plans);
        z->plans = n;
    }
    while (z->iplans) {
        sz_iplan *n = z->iplans->next;

        free(z->iplans->name);
        free(z->iplans);
        z->iplans = n;
    }
    es_buf_free(&z->out);
    es_buf_free(&z->scratch);
    es_buf_free(&z->pscratch);
    free(z->fields);
    free(z->made);
    sr_env_free(&z->env);
}

int
sz_personal_name(const char *col)
{
    static const char *const subs[] = {
        "mail", "phone", "mobile", "name", "address", "street", "postcode",
        "zip", "token", "password", "passwd", "secret", "birth", "ssn",
        "iban", "card", "salt", "national_insurance", "passport", "lat", "lon"
    };
    static const char *const words[] = { "ip", "tel", "dob", "ni", "key", "addr" };
    char low[256], *w, *save = NULL;
    size_t i;

    for (i = 0; col[i] && i < sizeof(low) - 1; i++)
        low[i] = (char)tolower((unsigned char)col[i]);
    low[i] = '\0';
    for (i = 0; i < sizeof(subs) / sizeof(subs[0]); i++)
        if (strstr(low, subs[i]))
            return 1;
    for (w = strtok_r(low, "_-. ", &save); w; w = strtok_r(NULL, "_-. ", &save))
        for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
            if (!strcmp(w, words[i]))
                return 1;
    return 0;
}

static int
col_index(const sz_plan *p, const char *name)
{
    size_t i;

    for (i = 0; i < p->ncols; i++)
        if (!strcmp(p->cols[i].name, name))
            return (int)i;
    return -1;
}

static int *
resolve_pred(const sz_plan *p, const sr_pred *pr, const char *file, const char *what,
             char *err, size_t errlen)
{
    int *idx = calloc(pr->n ? pr->n : 1, sizeof(int));
    size_t i;

    if (!idx) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    for (i = 0; i < pr->n; i++) {
        idx[i] = col_index(p, pr->cmps[i].column);
        if (idx[i] < 0) {
            snprintf(err, errlen, "%s:%d: %s column '%s' is not a column of table %s",
                     file, pr->line, what, pr->cmps[i].column, p->display);
            free(idx);
            return NULL;
        }
    }
    return idx;
}

static char *
xstrdup0(const char *s)
{
    return strdup(s ? s : "");
}

static int
same(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

int
sz_plan_get(sz *z, const char *schema, const char *object, const char *columns,
            sz_plan **out, char *err, size_t errlen)
{
    sz_plan *p;
    size_t i, j, n;
    char *s;
    es_buf miss = ES_BUF_INIT;

    for (p = z->plans; p; p = p->next)
        if (same(p->object, object) && same(p->schema, schema) && same(p->columns, columns)) {
            *out = p;
            return 0;
        }
    p = calloc(1, sizeof(*p));
    if (!p)
        goto oom;
    p->schema = xstrdup0(schema);
    p->object = xstrdup0(object);
    p->columns = xstrdup0(columns);
    p->colbuf = xstrdup0(columns);
    if (!p->schema || !p->object || !p->columns || !p->colbuf)
        goto oom;
    if (schema && *schema) {
        p->display = malloc(strlen(schema) + strlen(p->object) + 2);
        if (p->display)
            sprintf(p->display, "%s.%s", schema, p->object);
    } else {
        p->display = strdup(p->object);
    }
    if (!p->display)
        goto oom;
    n = 1;
    for (s = p->colbuf; *s; s++)
        n += *s == '\t';
    if (!*p->colbuf)
        n = 0;
    p->cols = calloc(n ? n : 1, sizeof(sz_col));
    p->active = calloc(n ? n : 1, sizeof(size_t));
    p->flags = calloc(n ? n : 1, 1);
    if (!p->cols || !p->active || !p->flags)
        goto oom;
    p->ncols = n;
    s = p->colbuf;
    for (i = 0; i < n; i++) {
        char *tab = strchr(s, '\t');

        if (tab)
            *tab = '\0';
        p->cols[i].name = s;
        s = tab ? tab + 1 : s + strlen(s);
    }
    p->table = sr_find_table(z->rs, schema, object);
    if (p->table) {
        sr_table *t = p->table;

        for (i = 0; i < n; i++) {
            sz_col *c = &p->cols[i];
            int nonkeep = 0;

            for (j = 0; j < t->ncols; j++)
                if (!strcmp(t->cols[j].column, c->name))
                    c->nrules++;
            if (!c->nrules)
                continue;
            c->classified = 1;
            c->rules = calloc(c->nrules, sizeof(*c->rules));
            c->when_idx = calloc(c->nrules, sizeof(*c->when_idx));
            if (!c->rules || !c->when_idx)
                goto oom;
            c->nrules = 0;
            for (j = 0; j < t->ncols; j++) {
                sr_colrule *cr = &t->cols[j];

                if (strcmp(cr->column, c->name))
                    continue;
                if (cr->when) {
                    c->when_idx[c->nrules] = resolve_pred(p, cr->when, z->rs->file,
                                                          "condition", err, errlen);
                    if (!c->when_idx[c->nrules])
                        goto fail;
                }
                if (cr->rule->kind != SR_KEEP || cr->rule->next)
                    nonkeep = 1;
                c->rules[c->nrules++] = cr;
            }
            if (nonkeep)
                p->active[p->nactive++] = i;
        }
        /* rules naming columns this table does not have */
        for (j = 0; j < t->ncols; j++) {
            if (col_index(p, t->cols[j].column) >= 0)
                continue;
            for (i = 0; i < j; i++)
                if (!strcmp(t->cols[i].column, t->cols[j].column))
                    break;
            if (i < j)
                continue;
            es_buf_printf(&miss, "%s%s (line %d)", miss.len ? ", " : "",
                          t->cols[j].column, t->cols[j].line);
        }
        if (t->nfilters) {
            p->filter_idx = calloc(t->nfilters, sizeof(int *));
            if (!p->filter_idx)
                goto oom;
            for (j = 0; j < t->nfilters; j++) {
                p->filter_idx[j] = resolve_pred(p, t->filters[j], z->rs->file,
                                                "filter", err, errlen);
                if (!p->filter_idx[j])
                    goto fail;
            }
        }
    }
    for (i = 0; i < n; i++) {
        if (!p->cols[i].classified) {
            p->nunclassified++;
            p->cols[i].personal = sz_personal_name(p->cols[i].name);
        }
    }
    p->missing = miss.len ? es_buf_detach(&miss, NULL) : NULL;
    es_buf_free(&miss);
    p->passthrough = (!p->table || p->table->action == SR_TABLE_ROWS) &&
                     p->nactive == 0 && (!p->table || p->table->nfilters == 0) && !z->verify;
    p->next = z->plans;
    z->plans = p;
    *out = p;
    return 0;
oom:
    snprintf(err, errlen, "out of memory");
fail:
    es_buf_free(&miss);
    if (p)
        plan_free(p);       /* index arrays are calloc'd: unfilled = NULL */
    return -1;
}

/* ------------------------------------------------------------ rows */
/* es_row_split() semantics (a backslash escapes the next byte, so only an
 * unescaped TAB separates fields), but fields are found with memchr: the
 * escape-aware slow step only runs where the row holds a backslash. */
static long
split_row(const char *row, size_t len, es_field *f, size_t max)
{
    const char *p = row, *end = row + len;
    const char *bs = memchr(row, '\\', len);
    size_t n = 0;

    for (;;) {
        const char *start = p;

        for (;;) {
            const char *tab = memchr(p, '\t', (size_t)(end - p));
            const char *fe = tab ? tab : end;

            if (!bs || bs >= fe) {
                p = fe;
                break;
            }
            if (bs + 1 >= end)
                return -2;
            p = bs + 2;
            bs = p < end ? memchr(p, '\\', (size_t)(end - p)) : NULL;
        }
        if (n < max) {
            f[n].p = start;
            f[n].len = (size_t)(p - start);
            f[n].is_null = p - start == 2 && start[0] == '\\' && start[1] == 'N';
        }
        n++;
        if (p >= end)
            break;
        p++;
    }
    return n > max ? -1 : (long)n;
}

typedef struct rget {
    sz *z;
    const es_field *f;
    const int *idx;
} rget;

static int
row_get(void *arg, size_t i, const sr_cmp *c, const char **p, size_t *len)
{
    rget *g = arg;
    const es_field *f = &g->f[g->idx[i]];
    es_buf *b = &g->z->pscratch;
    size_t n;

    (void)c;
    if (f->is_null)
        return 0;
    if (!memchr(f->p, '\\', f->len)) {
        *p = f->p;
        *len = f->len;
        return 1;
    }
    b->len = 0;
    if (es_buf_reserve(b, f->len + 1) < 0)
        return -1;
    n = es_field_unescape(f, b->data);
    b->data[n] = '\0';
    *p = b->data;
    *len = n;
    return 1;
}

/* Rules whose output may still hold original text (so the scan reads it);
 * a pipeline is partial when every step is. */
static int
is_partial(const sr_rule *r)
{
    for (; r; r = r->next)
        if (!(r->kind == SR_KEEP || r->kind == SR_REPLACE || r->kind == SR_REPLACE_EMAILS ||
              r->kind == SR_JSON))
            return 0;
    return 1;
}

static void
scan_add(sz *z, sz_col *c, const char *p, size_t len)
{
    sz_scan before = z->found;

    sz_scan_value(&z->found, p, len);
    c->found.emails += z->found.emails - before.emails;
    c->found.phones += z->found.phones - before.phones;
    c->found.cards += z->found.cards - before.cards;
}

/* Hand the buffered lines (n of them) to emit and start an empty chunk. */
static int
flush_chunk(sz_emit_fn emit, void *arg, es_buf *out, uint64_t *n)
{
    int rc = emit(arg, out->data, out->len, *n);

    es_buf_reset(out);
    *n = 0;
    return rc;
}

int
sz_rows(sz *z, sz_plan *p, const char *data, size_t len, size_t flush_at,
        sz_emit_fn emit, void *arg, char *err, size_t errlen)
{
    const char *row = data, *end = data + len;
    uint64_t rowno = 0, chunk_rows = 0;
    sr_table *t = p->table;
    es_buf *out = &z->out;
    size_t need = p->ncols + 1;

    if (p->passthrough) {
        const char *q = data;
        uint64_t n = 0;

        while (q < end && (q = memchr(q, '\n', (size_t)(end - q))) != NULL) {
            n++;
            q++;
        }
        if (len && data[len - 1] != '\n')
            n++;
        p->rows_in += n;
        p->rows_out += n;
        if (t) {
            t->rows_in += n;
            t->rows_out += n;
        }
        return n ? emit(arg, data, len, n) : 0;
    }
    if (z->nfields_cap < need) {
        es_field *nf = realloc(z->fields, need * sizeof(es_field));

        if (!nf) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        z->fields = nf;
        z->nfields_cap = need;
    }
    es_buf_reset(out);
    while (row < end) {
        const char *re = memchr(row, '\n', (size_t)(end - row));
        const char *pending;
        size_t rl, a, i;
        long nf;
        int keep = 1;

        if (!re)
            re = end;
        rl = (size_t)(re - row);
        rowno++;
        nf = split_row(row, rl, z->fields, need);
        if (nf == -2) {
            snprintf(err, errlen, "row %llu: ends in a lone backslash",
                     (unsigned long long)rowno);
            return -1;
        }
        if (nf != (long)p->ncols) {
            snprintf(err, errlen, "row %llu: %s%ld fields, expected %zu",
                     (unsigned long long)rowno, nf < 0 ? "more than " : "",
                     nf < 0 ? (long)need : nf, p->ncols);
            return -1;
        }
        p->rows_in++;
        if (t)
            t->rows_in++;
        if (t && t->nfilters) {
            rget g;
            size_t k;

            g.z = z;
            g.f = z->fields;
            for (k = 0; k < t->nfilters && keep; k++) {
                int r;

                g.idx = p->filter_idx[k];
                r = sr_pred_eval(t->filters[k], z->env.now, row_get, &g);
                if (r < 0) {
                    snprintf(err, errlen, "out of memory");
                    return -1;
                }
                keep = r == 1;
            }
        }
        if (!keep) {
            row = re + (re < end);
            continue;
        }
        if (z->verify)
            memset(p->flags, 0, p->ncols);
        pending = row;
        for (a = 0; a < p->nactive; a++) {
            size_t ci = p->active[a];
            sz_col *c = &p->cols[ci];
            const es_field *f = &z->fields[ci];
            sr_colrule *cr = NULL;
            const char *in, *o;
            size_t inlen, olen;

            for (i = 0; i < c->nrules; i++) {
                if (c->rules[i]->when) {
                    rget g;
                    int r;

                    g.z = z;
                    g.f = z->fields;
                    g.idx = c->when_idx[i];
                    r = sr_pred_eval(c->rules[i]->when, z->env.now, row_get, &g);
                    if (r < 0) {
                        snprintf(err, errlen, "out of memory");
                        return -1;
                    }
                    if (r != 1)
                        continue;
                }
                cr = c->rules[i];
                break;
            }
            if (!cr || (cr->rule->kind == SR_KEEP && !cr->rule->next))
                continue;
            if (!is_partial(cr->rule))
                p->flags[ci] = 1;          /* fully replaced: not scanned */
            if (f->is_null) {
                in = NULL;
                inlen = 0;
            } else if (!memchr(f->p, '\\', f->len)) {
                in = f->p;
                inlen = f->len;
            } else {
                z->scratch.len = 0;
                if (es_buf_reserve(&z->scratch, f->len + 1) < 0) {
                    snprintf(err, errlen, "out of memory");
                    return -1;
                }
                inlen = es_field_unescape(f, z->scratch.data);
                z->scratch.data[inlen] = '\0';
                in = z->scratch.data;
            }
            if (sr_apply(&z->env, cr->rule, in, inlen, &o, &olen, &z->env.tmp) < 0) {
                snprintf(err, errlen, "row %llu, column %s: rule '%s' (%s:%d) failed",
                         (unsigned long long)rowno, c->name, cr->rule->text,
                         z->rs->file, cr->line);
                return -1;
            }
            if (z->verify && is_partial(cr->rule) && o) {
                scan_add(z, c, o, olen);
                p->flags[ci] = 1;
            }
            if ((o == NULL) == (in == NULL) && olen == inlen &&
                (olen == 0 || o == in || memcmp(o, in, olen) == 0))
                continue;                  /* unchanged: stays in the run */
            cr->changed++;
            if (es_buf_append(out, pending, (size_t)(f->p - pending)) < 0 ||
                es_row_escape(out, o, olen) < 0) {
                snprintf(err, errlen, "out of memory");
                return -1;
            }
            pending = f->p + f->len;
        }
        if (es_buf_append(out, pending, (size_t)(re - pending)) < 0 ||
            es_buf_putc(out, '\n') < 0) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        if (z->verify) {
            for (i = 0; i < p->ncols; i++)
                if (!p->flags[i] && !z->fields[i].is_null)
                    scan_add(z, &p->cols[i], z->fields[i].p, z->fields[i].len);
        }
        p->rows_out++;
        if (t)
            t->rows_out++;
        chunk_rows++;
        row = re + (re < end);
        if (out->len >= flush_at) {
            int rc = flush_chunk(emit, arg, out, &chunk_rows);

            if (rc)
                return rc;
        }
    }
    return chunk_rows ? flush_chunk(emit, arg, out, &chunk_rows) : 0;
}

/* ------------------------------------------------------------ documents */
sz_iplan *
sz_iplan_get(sz *z, const char *index)
{
    sz_iplan *ip;

    for (ip = z->iplans; ip; ip = ip->next)
        if (same(ip->name, index))
            return ip;
    ip = calloc(1, sizeof(*ip));
    if (!ip)
        return NULL;
    ip->name = xstrdup0(index);
    if (!ip->name) {
        free(ip);
        return NULL;
    }
    ip->index = sr_find_index(z->rs, index);
    ip->next = z->iplans;
    z->iplans = ip;
    return ip;
}

static int
dump_cb(const char *buf, size_t size, void *data)
{
    return es_buf_append(data, buf, size);
}

int
sz_docs(sz *z, sz_iplan *ip, const char *data, size_t len, size_t flush_at,
        sz_emit_fn emit, void *arg, char *err, size_t errlen)
{
    const char *line = data, *end = data + len;
    uint64_t lineno = 0, chunk_docs = 0;
    sr_index *ix = ip->index;
    es_buf *out = &z->out;

    if (!z->verify && (!ix || (ix->nrules == 0 && ix->nfilters == 0))) {
        const char *q = data;
        uint64_t n = 0;

        while (q < end && (q = memchr(q, '\n', (size_t)(end - q))) != NULL) {
            n++;
            q++;
        }
        if (len && data[len - 1] != '\n')
            n++;
        ip->docs_in += n;
        ip->docs_out += n;
        return n ? emit(arg, data, len, n) : 0;
    }
    es_buf_reset(out);
    while (line < end) {
        const char *le = memchr(line, '\n', (size_t)(end - line));
        json_error_t jerr;
        json_t *root;
        int changed = 0;

        if (!le)
            le = end;
        lineno++;
        if (le == line) {
            line = le + (le < end);
            continue;
        }
        root = json_loadb(line, (size_t)(le - line), JSON_ALLOW_NUL, &jerr);
        if (!root) {
            snprintf(err, errlen, "document %llu: invalid JSON at column %d: %s",
                     (unsigned long long)lineno, jerr.column, jerr.text);
            return -1;
        }
        ip->docs_in++;
        if (ix)
            ix->docs_in++;
        if (ix && !sz_doc_filter(z, ix, root)) {
            json_decref(root);
            line = le + (le < end);
            continue;
        }
        z->nmade = 0;
        if (ix)
            changed = sz_doc_rules(z, ix, root);
        if (z->verify) {
            sz_scan before = z->found;

            sz_doc_scan(z, root, &z->found);
            ip->found.emails += z->found.emails - before.emails;
            ip->found.phones += z->found.phones - before.phones;
            ip->found.cards += z->found.cards - before.cards;
        }
        if (changed) {
            if (json_dump_callback(root, dump_cb, out, sz_json_flags(root)) != 0) {
                json_decref(root);
                snprintf(err, errlen, "document %llu: cannot encode the rewritten document",
                         (unsigned long long)lineno);
                return -1;
            }
        } else if (es_buf_append(out, line, (size_t)(le - line)) < 0) {
            json_decref(root);
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        json_decref(root);
        if (es_buf_putc(out, '\n') < 0) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        ip->docs_out++;
        if (ix)
            ix->docs_out++;
        chunk_docs++;
        line = le + (le < end);
        if (out->len >= flush_at) {
            int rc = flush_chunk(emit, arg, out, &chunk_docs);

            if (rc)
                return rc;
        }
    }
    return chunk_docs ? flush_chunk(emit, arg, out, &chunk_docs) : 0;
}
