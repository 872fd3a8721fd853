#include "rowcodec.h"

#include <string.h>

int
es_row_escape(es_buf *out, const void *vp, size_t len)
{
    const unsigned char *p = vp, *run;
    size_t i;

    if (!p)
        return es_buf_append(out, "\\N", 2);
    /* worst case doubles */
    if (es_buf_reserve(out, len * 2) < 0)
        return -1;
    run = p;
    for (i = 0; i < len; i++) {
        const char *esc;

        switch (p[i]) {
        case '\\': esc = "\\\\"; break;
        case '\t': esc = "\\t"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        case '\0': esc = "\\0"; break;
        default: continue;
        }
        memcpy(out->data + out->len, run, (size_t)(p + i - run));
        out->len += (size_t)(p + i - run);
        out->data[out->len++] = esc[0];
        out->data[out->len++] = esc[1];
        run = p + i + 1;
    }
    memcpy(out->data + out->len, run, (size_t)(p + len - run));
    out->len += (size_t)(p + len - run);
    out->data[out->len] = '\0';
    return 0;
}

long
es_row_split(const char *row, size_t len, es_field *fields, size_t max)
{
    size_t n = 0, i = 0, start = 0;
    int overflow = 0;

    for (;;) {
        /* scan one field */
        while (i < len && row[i] != '\t') {
            if (row[i] == '\\') {
                if (i + 1 >= len)
                    return -2;
                i += 2;
            } else {
                i++;
            }
        }
        if (n < max) {
            fields[n].p = row + start;
            fields[n].len = i - start;
            fields[n].is_null = (i - start == 2 && row[start] == '\\' && row[start + 1] == 'N');
        } else {
            overflow = 1;
        }
        n++;
        if (i >= len)
            break;
        i++;            /* skip TAB */
        start = i;
    }
    return overflow ? -1 : (long)n;
}

static int
hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

const char *
es_escape_decode(const char *p, const char *end, char *out)
{
    switch (*p) {
    case 't': *out = '\t'; return p + 1;
    case 'n': *out = '\n'; return p + 1;
    case 'r': *out = '\r'; return p + 1;
    case 'b': *out = '\b'; return p + 1;
    case 'f': *out = '\f'; return p + 1;
    case 'v': *out = '\v'; return p + 1;
    case 'x': {
        int v = 0, k = 0, h;

        p++;
        while (k < 2 && p < end && (h = hexval((unsigned char)*p)) >= 0) {
            v = v * 16 + h;
            p++;
            k++;
        }
        *out = k ? (char)v : 'x';
        return p;
    }
    case '0':
        /* always exactly NUL, as MySQL reads it: es_row_escape() writes
         * NUL as \0 even before a digit */
        *out = '\0';
        return p + 1;
    default:
        if (*p >= '1' && *p <= '7') {
            int v = 0, k = 0;

            while (k < 3 && p < end && *p >= '0' && *p <= '7') {
                v = v * 8 + (*p - '0');
                p++;
                k++;
            }
            *out = (char)(v & 0xff);
            return p;
        }
        *out = *p;
        return p + 1;
    }
}

size_t
es_field_unescape(const es_field *f, char *out)
{
    const char *p = f->p, *end = f->p + f->len;
    size_t o = 0;

    while (p < end) {
        const char *bs = memchr(p, '\\', (size_t)(end - p));

        if (!bs) {
            memcpy(out + o, p, (size_t)(end - p));
            o += (size_t)(end - p);
            break;
        }
        memcpy(out + o, p, (size_t)(bs - p));
        o += (size_t)(bs - p);
        p = bs + 1;
        if (p >= end)
            break;      /* malformed trailing backslash: dropped */
        p = es_escape_decode(p, end, out + o);
        o++;
    }
    return o;
}

const char *
es_row_end(const char *p, size_t len)
{
    const char *nl = memchr(p, '\n', len);

    return nl ? nl : p + len;
}
