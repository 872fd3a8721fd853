#include "buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
es_buf_init(es_buf *b, size_t max)
{
    b->data = NULL;
    b->len = b->cap = 0;
    b->max = max;
}

int
es_buf_reserve(es_buf *b, size_t extra)
{
    size_t need, cap;
    char *p;

    if (extra > (size_t)-1 - b->len - 1)
        return -1;
    need = b->len + extra + 1;
    if (b->max && need > b->max + 1)
        return -1;
    if (need <= b->cap)
        return 0;
    cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap = cap > ((size_t)-1) / 2 ? need : cap * 2;
    if (b->max && cap > b->max + 1)
        cap = b->max + 1;
    p = realloc(b->data, cap);
    if (!p)
        return -1;
    b->data = p;
    b->cap = cap;
    return 0;
}

int
es_buf_append(es_buf *b, const void *p, size_t n)
{
    if (es_buf_reserve(b, n) < 0)
        return -1;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int
es_buf_putc(es_buf *b, char c)
{
    return es_buf_append(b, &c, 1);
}

int
es_buf_puts(es_buf *b, const char *s)
{
    return es_buf_append(b, s, strlen(s));
}

int
es_buf_vprintf(es_buf *b, const char *fmt, va_list ap)
{
    va_list cp;
    int n;

    va_copy(cp, ap);
    n = vsnprintf(NULL, 0, fmt, cp);
    va_end(cp);
    if (n < 0 || es_buf_reserve(b, (size_t)n) < 0)
        return -1;
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return 0;
}

int
es_buf_printf(es_buf *b, const char *fmt, ...)
{
    va_list ap;
    int r;

    va_start(ap, fmt);
    r = es_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return r;
}

void
es_buf_reset(es_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

void
es_buf_free(es_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

char *
es_buf_detach(es_buf *b, size_t *len)
{
    char *p = b->data;

    if (len)
        *len = b->len;
    if (!p)
        p = strdup("");
    b->data = NULL;
    b->len = b->cap = 0;
    return p;
}
