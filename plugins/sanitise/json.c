/*
 * json.c - rules addressed by JSON path, with jansson: the json() column
 * rule and index-document rules.
 *
 * A path selects zero or more nodes ([*] and .* fan out).  At a selected
 * node: remove deletes it from its parent, null sets JSON null, keep does
 * nothing, json(...) applies its rules inside it (parsing a string that
 * holds JSON), and every other rule is applied to each scalar below the
 * node: strings as their text, numbers as their decimal text; booleans and
 * nulls are left alone except by set and empty.
 */
#include "apply.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct jctx {
    sr_env *env;
    sz *z;                 /* for the "made" list; NULL in column mode */
    es_buf *dst;           /* rule output scratch */
} jctx;

static void
made_add(jctx *c, json_t *v)
{
    sz *z = c->z;

    if (!z || !v)
        return;
    if (z->nmade == z->capmade) {
        size_t nc = z->capmade ? z->capmade * 2 : 16;
        void **na = realloc(z->made, nc * sizeof(*na));

        if (!na)
            return;        /* only affects scanning precision */
        z->made = na;
        z->capmade = nc;
    }
    z->made[z->nmade++] = v;
}

static int
is_made(const sz *z, const json_t *v)
{
    size_t i;

    for (i = 0; i < z->nmade; i++)
        if (z->made[i] == v)
            return 1;
    return 0;
}

/* Replace node in its parent; steals v. */
static void
set_in_parent(json_t *parent, const char *key, size_t idx, json_t *v)
{
    if (!v)
        return;
    if (json_is_object(parent))
        json_object_set_new(parent, key, v);
    else if (json_is_array(parent))
        json_array_set_new(parent, idx, v);
    else
        json_decref(v);
}

static int apply_json_rules(jctx *c, const sr_rule *r, json_t *root);

/* Text of a scalar for rules: returns 0 with p/len, or -1 if not scalar. */
static int
scalar_text(json_t *v, char *buf, size_t cap, const char **p, size_t *len)
{
    int n;

    switch (json_typeof(v)) {
    case JSON_STRING:
        *p = json_string_value(v);
        *len = json_string_length(v);
        return 0;
    case JSON_INTEGER:
        n = snprintf(buf, cap, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        break;
    case JSON_REAL:
        n = snprintf(buf, cap, "%.17g", json_real_value(v));
        break;
    case JSON_TRUE:
        n = snprintf(buf, cap, "true");
        break;
    case JSON_FALSE:
        n = snprintf(buf, cap, "false");
        break;
    default:
        return -1;
    }
    *p = buf;
    *len = (size_t)n;
    return 0;
}

/* Apply a value rule to one scalar; returns 1 if it changed. */
static int
apply_scalar(jctx *c, const sr_rule *r, json_t *node, json_t *parent,
             const char *key, size_t idx)
{
    char nb[64];
    const char *in, *out;
    size_t inlen, outlen;
    json_t *nv;
    int is_num = json_is_number(node);

    if (json_is_null(node) || json_is_boolean(node)) {
        if (r->kind != SR_SET && r->kind != SR_EMPTY)
            return 0;
        in = "";
        inlen = 0;
    } else if (scalar_text(node, nb, sizeof(nb), &in, &inlen) < 0) {
        return 0;
    }
    if (sr_apply(c->env, r, in, inlen, &out, &outlen, c->dst) < 0)
        return 0;
    if (out && out == in && outlen == inlen)
        return 0;
    if (out && json_is_string(node) && outlen == inlen && memcmp(out, in, inlen) == 0)
        return 0;
    if (!out) {
        nv = json_null();
    } else if (is_num && (r->kind == SR_SET || (r->kind == SR_HASH && r->enc == SR_ENC_DECIMAL))) {
        /* keep numbers numeric where the result is a number */
        char tmp[32], *end;
        long long ll;

        nv = NULL;
        if (outlen > 0 && outlen < sizeof(tmp)) {
            memcpy(tmp, out, outlen);
            tmp[outlen] = '\0';
            ll = strtoll(tmp, &end, 10);
            if (!*end)
                nv = json_integer((json_int_t)ll);
        }
        if (!nv)
            nv = json_stringn(out, outlen);
    } else {
        nv = json_stringn(out, outlen);
        if (!nv)                                 /* not UTF-8 */
            nv = json_null();
    }
    if (json_is_number(node) && json_is_integer(nv) &&
        json_integer_value(nv) == json_integer_value(node) && json_is_integer(node)) {
        json_decref(nv);
        return 0;
    }
    made_add(c, nv);
    set_in_parent(parent, key, idx, nv);
    return 1;
}

static uint64_t
apply_deep(jctx *c, const sr_rule *r, json_t *node, json_t *parent,
           const char *key, size_t idx)
{
    uint64_t n = 0;

    if (json_is_object(node)) {
        const char *k;
        json_t *v;
        void *tmp;

        json_object_foreach_safe(node, tmp, k, v)
            n += apply_deep(c, r, v, node, k, 0);
    } else if (json_is_array(node)) {
        size_t i;

        for (i = 0; i < json_array_size(node); i++)
            n += apply_deep(c, r, json_array_get(node, i), node, NULL, i);
    } else {
        n += (uint64_t)apply_scalar(c, r, node, parent, key, idx);
    }
    return n;
}

static uint64_t
apply_leaf(jctx *c, const sr_rule *r, json_t *node, json_t *parent,
           const char *key, size_t idx)
{
    json_t *nv;

    if (r->next)                 /* a pipeline works on scalars */
        return apply_deep(c, r, node, parent, key, idx);
    switch (r->kind) {
    case SR_KEEP:
        return 0;
    case SR_REMOVE:
        if (json_is_object(parent))
            json_object_del(parent, key);
        else if (json_is_array(parent))
            json_array_remove(parent, idx);
        return 1;
    case SR_NULL:
        if (json_is_null(node))
            return 0;
        nv = json_null();
        set_in_parent(parent, key, idx, nv);
        return 1;
    case SR_JSON:
        if (json_is_object(node) || json_is_array(node))
            return (uint64_t)apply_json_rules(c, r, node);
        if (json_is_string(node)) {
            json_t *inner = json_loadb(json_string_value(node), json_string_length(node),
                                       JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
            char *s;
            int ch;

            if (!inner)
                return 0;
            ch = apply_json_rules(c, r, inner);
            if (ch) {
                s = json_dumps(inner, sz_json_flags(inner));
                if (s) {
                    nv = json_string(s);
                    free(s);
                    made_add(c, nv);
                    set_in_parent(parent, key, idx, nv);
                }
            }
            json_decref(inner);
            return (uint64_t)ch;
        }
        return 0;
    default:
        return apply_deep(c, r, node, parent, key, idx);
    }
}

/* Walk path segments from node; parent/key/idx locate node. */
static uint64_t
walk(jctx *c, const sr_jpath *jp, size_t i, const sr_rule *r, json_t *node,
     json_t *parent, const char *key, size_t idx)
{
    const sr_jseg *s;
    uint64_t n = 0;

    if (i == jp->n)
        return apply_leaf(c, r, node, parent, key, idx);
    s = &jp->segs[i];
    switch (s->kind) {
    case SR_JSEG_KEY:
        if (json_is_object(node)) {
            json_t *ch = json_object_get(node, s->key);

            if (ch)
                n += walk(c, jp, i + 1, r, ch, node, s->key, 0);
        }
        break;
    case SR_JSEG_INDEX:
        if (json_is_array(node) && s->index < json_array_size(node))
            n += walk(c, jp, i + 1, r, json_array_get(node, s->index), node, NULL, s->index);
        break;
    case SR_JSEG_ANY:
        if (json_is_object(node)) {
            const char *k;
            json_t *v;
            void *tmp;

            json_object_foreach_safe(node, tmp, k, v)
                n += walk(c, jp, i + 1, r, v, node, k, 0);
        } else if (json_is_array(node)) {
            size_t j = json_array_size(node);

            while (j-- > 0)       /* backwards: remove keeps indexes valid */
                n += walk(c, jp, i + 1, r, json_array_get(node, j), node, NULL, j);
        }
        break;
    }
    return n;
}

static int
apply_json_rules(jctx *c, const sr_rule *r, json_t *root)
{
    size_t i;
    int changed = 0;

    for (i = 0; i < r->njson; i++) {
        uint64_t n = walk(c, &r->json[i].path, 0, r->json[i].rule, root, NULL, NULL, 0);

        /* counters live in the (const) ruleset; a cast is the honest way
         * to count through it */
        ((sr_jrule *)&r->json[i])->changed += n;
        changed |= n > 0;
    }
    return changed;
}

static int
dump_cb(const char *buf, size_t size, void *data)
{
    return es_buf_append(data, buf, size);
}

/* jansson prints reals with 17 significant digits (0.1 -> 0.10000000000000001),
 * which changes values that a jsonb (numeric) column would keep.  The
 * shortest precision at which every real of the document reads back as
 * the same double is used instead. */
static int
real_digits(double d)
{
    char b[40];
    int p;

    /* %g drops trailing zeros, so the first of 15, 16, 17 digits that
     * round-trips prints the shortest form of any value written with at
     * most that many significant digits */
    for (p = 15; p < 17; p++) {
        snprintf(b, sizeof(b), "%.*g", p, d);
        if (strtod(b, NULL) == d)
            return p;
    }
    return 17;
}

static int
max_real_digits(json_t *v)
{
    int m = 15, x;

    if (json_is_real(v))
        return real_digits(json_real_value(v));
    if (json_is_object(v)) {
        const char *k;
        json_t *c;

        json_object_foreach(v, k, c)
            if ((x = max_real_digits(c)) > m)
                m = x;
    } else if (json_is_array(v)) {
        size_t i;
        json_t *c;

        json_array_foreach(v, i, c)
            if ((x = max_real_digits(c)) > m)
                m = x;
    }
    return m;
}

size_t
sz_json_flags(json_t *root)
{
    return JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(max_real_digits(root));
}

int
sr_rule_json(sr_env *env, const sr_rule *r, const char *in, size_t len, es_buf *dst)
{
    json_t *root = json_loadb(in, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    es_buf local = ES_BUF_INIT;
    jctx c;
    int rc;

    if (!root)          /* not JSON: nothing we can trust to keep */
        return es_buf_puts(dst, "null");
    c.env = env;
    c.z = NULL;
    c.dst = &local;
    if (!apply_json_rules(&c, r, root)) {
        json_decref(root);
        es_buf_free(&local);
        return es_buf_append(dst, in, len);
    }
    rc = json_dump_callback(root, dump_cb, dst, sz_json_flags(root));
    json_decref(root);
    es_buf_free(&local);
    return rc == 0 ? 0 : -1;
}

/* ------------------------------------------------------------ documents */
typedef struct dget {
    json_t *root;
    char nb[64];
} dget;

/* Predicate columns in index blocks are JSON paths kept as text: the
 * dotted form with [N] indexes is resolved here, per document. */
static json_t *
lookup_text(json_t *root, const char *path)
{
    char key[256];
    const char *p = path;
    json_t *node = root;

    if (*p == '$')
        p++;
    if (*p == '.')
        p++;
    while (node && *p) {
        size_t k = 0;

        if (*p == '[') {
            char *end;
            unsigned long ix = strtoul(p + 1, &end, 10);

            if (*end != ']' || end == p + 1)
                return NULL;
            node = json_is_array(node) ? json_array_get(node, ix) : NULL;
            p = end + 1;
            if (*p == '.')
                p++;
            continue;
        }
        while (*p && *p != '.' && *p != '[' && k < sizeof(key) - 1)
            key[k++] = *p++;
        key[k] = '\0';
        if (*p == '.')
            p++;
        node = json_is_object(node) ? json_object_get(node, key) : NULL;
    }
    return node;
}

static int
doc_get(void *arg, size_t i, const sr_cmp *c, const char **p, size_t *len)
{
    dget *g = arg;
    json_t *v = lookup_text(g->root, c->column);

    (void)i;
    if (!v || json_is_null(v) || json_is_object(v) || json_is_array(v))
        return 0;
    return scalar_text(v, g->nb, sizeof(g->nb), p, len) == 0 ? 1 : 0;
}

int
sz_doc_filter(sz *z, sr_index *ix, json_t *root)
{
    dget g;
    size_t i;

    memset(&g, 0, sizeof(g));
    g.root = root;
    for (i = 0; i < ix->nfilters; i++)
        if (sr_pred_eval(ix->filters[i], z->env.now, doc_get, &g) != 1)
            return 0;
    return 1;
}

int
sz_doc_rules(sz *z, sr_index *ix, json_t *root)
{
    jctx c;
    size_t i;
    int changed = 0;

    c.env = &z->env;
    c.z = z;
    c.dst = &z->env.tmp2;
    z->nmade = 0;
    for (i = 0; i < ix->nrules; i++) {
        sr_jrule *jr = &ix->rules[i];
        uint64_t n;

        if (jr->when) {
            dget g;

            memset(&g, 0, sizeof(g));
            g.root = root;
            if (sr_pred_eval(jr->when, z->env.now, doc_get, &g) != 1)
                continue;
        }
        n = walk(&c, &jr->path, 0, jr->rule, root, NULL, NULL, 0);
        jr->changed += n;
        changed |= n > 0;
    }
    return changed;
}

void
sz_doc_scan(sz *z, json_t *node, sz_scan *s)
{
    if (is_made(z, node))
        return;
    if (json_is_object(node)) {
        const char *k;
        json_t *v;

        json_object_foreach(node, k, v)
            sz_doc_scan(z, v, s);
    } else if (json_is_array(node)) {
        size_t i;
        json_t *v;

        json_array_foreach(node, i, v)
            sz_doc_scan(z, v, s);
    } else if (json_is_string(node)) {
        sz_scan_value(s, json_string_value(node), json_string_length(node));
    } else if (json_is_integer(node)) {
        char nb[32];
        int n = snprintf(nb, sizeof(nb), "%" JSON_INTEGER_FORMAT, json_integer_value(node));

        sz_scan_value(s, nb, (size_t)n);
    }
}
