/*
 * literal.h - row-format fields as MySQL SQL literals, for the restore's
 * multi-row INSERT path (restore.c).
 *
 * The session that runs the statements must read string literals as bytes
 * (SET NAMES binary) with backslash escapes on (no NO_BACKSLASH_ESCAPES in
 * sql_mode): then the server stores exactly the bytes es_field_unescape()
 * decodes, as LOAD DATA ... CHARACTER SET binary would.
 */
#ifndef MY_LITERAL_H
#define MY_LITERAL_H

#include "buf.h"
#include "rowcodec.h"

/* how a column's values are written */
enum {
    MY_COL_PLAIN = 0,   /* quoted string */
    MY_COL_BIT = 1,     /* BIT: the dump holds its value as a decimal number */
    MY_COL_GEOM = 2,    /* geometry: WKB bytes, quoted */
    MY_COL_NUMBER = 3   /* integer or DECIMAL: bare when it is a plain number */
};

/* Append field f of a column of the given kind as one SQL literal: NULL,
 * a bare number, or a quoted string.  The string is the field's own
 * escaped bytes wherever MySQL reads an escape as the row format does
 * (\\ \t \n \r \b \0), other escapes decoded, quotes escaped: no decode and
 * re-encode of the whole field.  Returns 0, -1 when the buffer's maximum is
 * reached, -2 when a BIT value is not a decimal number. */
int my_field_literal(es_buf *out, const es_field *f, int kind);

#endif
