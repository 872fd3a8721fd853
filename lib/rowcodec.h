/*
 * rowcodec.h - the shared row format (docs/artifact-format.md, "Rows").
 *
 * One row per line, fields separated by TAB, lines ended by LF.  A field
 * that is exactly `\N` is SQL NULL.  Inside a field a backslash starts an
 * escape: \\ \t \n \r \b \f \v, \0 (NUL, whatever follows), \NNN (1-3 octal
 * digits, the first one 1-7), \xHH (1-2 hex digits); a backslash before any
 * other character stands for that character.  PostgreSQL's COPY text format
 * and MySQL's LOAD DATA default format both read what es_row_escape()
 * writes (it only emits \\ \t \n \r and \0), so rows need no re-encoding
 * between database and artifact.
 *
 * All functions are pure (no allocation except through es_buf) and take
 * explicit lengths: a field may contain NUL bytes.
 */
#ifndef ES_ROWCODEC_H
#define ES_ROWCODEC_H

#include <stddef.h>
#include "buf.h"

typedef struct es_field {
    const char *p;      /* escaped bytes inside the row (not terminated) */
    size_t len;         /* escaped length */
    int is_null;        /* field was exactly \N */
} es_field;

/* Append `len` raw bytes as one escaped field (no separator); p == NULL
 * appends \N.  Returns 0, or -1 if the buffer's maximum is reached. */
int es_row_escape(es_buf *out, const void *p, size_t len);

/* Split one row (without its LF) into fields.  Returns the number of
 * fields, or -1 if there are more than max (fields[0..max) still filled).
 * A row ending in an odd backslash is malformed: returns -2. */
long es_row_split(const char *row, size_t len, es_field *fields, size_t max);

/* Decode an escaped field into out (capacity >= f->len bytes; decoding never
 * grows).  Returns the decoded length. */
size_t es_field_unescape(const es_field *f, char *out);

/* Decode the one escape whose character is at p (just after its
 * backslash; p < end) into *out; returns the position after it. */
const char *es_escape_decode(const char *p, const char *end, char *out);

/* Find the end of the row starting at p (the LF, or p+len if none).  An LF
 * is never escaped-as-is inside a field, so this is a plain memchr. */
const char *es_row_end(const char *p, size_t len);

#endif
