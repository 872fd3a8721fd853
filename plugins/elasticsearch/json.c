/*
 * json.c - find values in JSON text without building a tree.
 *
 * Search responses are scanned, not parsed: each hit's _id, _routing and
 * _source are copied as raw byte spans, so documents reach the artifact
 * (and later the bulk body) exactly as the cluster returned them: no float
 * reformatting, no integer overflow, no key reordering.  The scanner checks
 * structure (nesting, string escapes) but not every lexical detail of
 * numbers and literals; the cluster produced the text.
 */
#include "es.h"

#include <string.h>

static const char *
ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

static const char *
skip_string(const char *p, const char *end)
{
    /* p at the opening quote */
    for (p++; p < end; p++) {
        if (*p == '\\') {
            p++;
            continue;
        }
        if (*p == '"')
            return p + 1;
    }
    return NULL;
}

static const char *
skip_value(const char *p, const char *end)
{
    int depth = 0;

    p = ws(p, end);
    if (p >= end)
        return NULL;
    do {
        if (p >= end)
            return NULL;
        switch (*p) {
        case '"':
            p = skip_string(p, end);
            if (!p)
                return NULL;
            break;
        case '{':
        case '[':
            depth++;
            p++;
            break;
        case '}':
        case ']':
            depth--;
            p++;
            if (depth < 0)
                return NULL;
            break;
        default:
            if (depth == 0) {
                /* scalar: number, true, false, null */
                const char *s = p;
                while (p < end && *p != ',' && *p != '}' && *p != ']' &&
                       *p != ' ' && *p != '\n' && *p != '\r' && *p != '\t')
                    p++;
                return p > s ? p : NULL;
            }
            p++;
            break;
        }
    } while (depth > 0);
    return p;
}

size_t
es_jskip(const char *p, const char *end)
{
    const char *q = skip_value(p, end);
    return q ? (size_t)(q - p) : 0;
}

int
es_jfind(const char *p, const char *end, const char *key, const char **v, size_t *vn)
{
    size_t klen = strlen(key);

    p = ws(p, end);
    if (p >= end || *p != '{')
        return -1;
    p = ws(p + 1, end);
    if (p < end && *p == '}')
        return -1;
    while (p < end) {
        const char *ks, *ke, *vs, *ve;
        if (*p != '"')
            return -1;
        ks = p + 1;
        p = skip_string(p, end);
        if (!p)
            return -1;
        ke = p - 1;
        p = ws(p, end);
        if (p >= end || *p != ':')
            return -1;
        vs = ws(p + 1, end);
        ve = skip_value(vs, end);
        if (!ve)
            return -1;
        /* keys the cluster sends carry no escapes */
        if ((size_t)(ke - ks) == klen && memcmp(ks, key, klen) == 0) {
            *v = vs;
            *vn = (size_t)(ve - vs);
            return 0;
        }
        p = ws(ve, end);
        if (p < end && *p == ',') {
            p = ws(p + 1, end);
            continue;
        }
        return -1;
    }
    return -1;
}

int
es_jnext(const char **it, const char *end, const char **v, size_t *vn)
{
    const char *p = ws(*it, end), *ve;

    if (p >= end)
        return -1;
    if (*p == '[' || *p == ',')
        p = ws(p + 1, end);
    else if (*p != ']')
        return -1;
    if (p < end && *p == ']') {
        *it = p;
        return 0;
    }
    ve = skip_value(p, end);
    if (!ve)
        return -1;
    *v = p;
    *vn = (size_t)(ve - p);
    *it = ws(ve, end);
    if (*it >= end || (**it != ',' && **it != ']'))
        return -1;
    return 1;
}

int
es_jappend_flat(es_buf *b, const char *v, size_t n)
{
    const char *p = v, *end = v + n;

    if (!memchr(v, '\n', n) && !memchr(v, '\r', n))
        return es_buf_append(b, v, n);
    while (p < end) {
        const char *q = p;
        while (q < end && *q != '\n' && *q != '\r')
            q++;
        if (es_buf_append(b, p, (size_t)(q - p)) < 0)
            return -1;
        p = q < end ? q + 1 : q;
    }
    return 0;
}
