/*
 * buf.h - growable byte buffer with a hard maximum.
 *
 * Invariants: `data` is NULL or malloc'd with `cap` bytes; `len <= cap`;
 * when data != NULL, data[len] == '\0' (a terminator kept outside len, so
 * text can be used as a C string).  Growth beyond `max` (0 = unlimited)
 * fails instead of allocating: every buffer fed from outside has a maximum.
 */
#ifndef ES_BUF_H
#define ES_BUF_H

#include <stddef.h>
#include <stdarg.h>

typedef struct es_buf {
    char *data;
    size_t len;
    size_t cap;
    size_t max;
} es_buf;

#define ES_BUF_INIT { NULL, 0, 0, 0 }

void es_buf_init(es_buf *b, size_t max);
/* 0 on success, -1 when max would be exceeded or malloc fails. */
int es_buf_reserve(es_buf *b, size_t extra);
int es_buf_append(es_buf *b, const void *p, size_t n);
int es_buf_putc(es_buf *b, char c);
int es_buf_puts(es_buf *b, const char *s);
int es_buf_printf(es_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int es_buf_vprintf(es_buf *b, const char *fmt, va_list ap);
void es_buf_reset(es_buf *b);           /* len = 0, keeps memory */
void es_buf_free(es_buf *b);            /* releases memory */
/* Hands the memory to the caller (never NULL: "" if empty); resets b. */
char *es_buf_detach(es_buf *b, size_t *len);

#endif
