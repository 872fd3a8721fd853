/*
 * literal.c - row-format fields as MySQL SQL literals (literal.h).
 *
 * MySQL's string literal escapes (default sql_mode): \0 \' \" \b \n \r \t
 * \Z \\, plus \% and \_ which keep their backslash; any other \c is c.
 * The row format (rowcodec.h) shares \\ \t \n \r \b \0 \' \" with it;
 * \f \v \NNN \xHH and \c for other c are decoded here and the byte written
 * so that MySQL reads it back unchanged (\Z, \% and \_ differ in meaning,
 * so they take that path too).
 */
#include "literal.h"

#include <string.h>

/* a decoded byte inside a quoted literal */
static char *
put_byte(char *o, char c)
{
    switch (c) {
    case '\0': *o++ = '\\'; *o++ = '0'; break;
    case '\\': *o++ = '\\'; *o++ = '\\'; break;
    case '\'': *o++ = '\\'; *o++ = '\''; break;
    default: *o++ = c;
    }
    return o;
}

/* a plain decimal number: [-+]digits[.digits] (no exponent, no spaces) */
static int
plain_number(const char *p, size_t len)
{
    size_t i = 0, digits = 0;

    if (i < len && (p[i] == '-' || p[i] == '+'))
        i++;
    while (i < len && p[i] >= '0' && p[i] <= '9')
        i++, digits++;
    if (!digits)
        return 0;
    if (i < len && p[i] == '.') {
        size_t frac = 0;

        i++;
        while (i < len && p[i] >= '0' && p[i] <= '9')
            i++, frac++;
        if (!frac)
            return 0;
    }
    return i == len;
}

int
my_field_literal(es_buf *out, const es_field *f, int kind)
{
    const char *p = f->p, *end = f->p + f->len;
    char *o;

    if (f->is_null)
        return es_buf_append(out, "NULL", 4);
    if (kind == MY_COL_BIT) {
        size_t i;

        for (i = 0; i < f->len; i++)
            if (p[i] < '0' || p[i] > '9')
                return -2;
        return f->len ? es_buf_append(out, p, f->len) : -2;
    }
    if (kind == MY_COL_NUMBER && plain_number(p, f->len))
        return es_buf_append(out, p, f->len);
    /* every input byte gives at most two output bytes (a quote or a
     * decoded escape), plus the two quotes */
    if (es_buf_reserve(out, f->len * 2 + 3) < 0)
        return -1;
    o = out->data + out->len;
    *o++ = '\'';
    while (p < end) {
        char c = *p++;

        if (c == '\'' || c == '\0') {
            o = put_byte(o, c);
        } else if (c != '\\') {
            *o++ = c;
        } else if (p < end) {
            switch (*p) {
            /* same meaning in both (\0 is NUL even before a digit) */
            case '\\': case 't': case 'n': case 'r': case 'b': case '0': case '\'': case '"':
                *o++ = '\\';
                *o++ = *p++;
                break;
            default: {
                char v;

                p = es_escape_decode(p, end, &v);
                o = put_byte(o, v);
            }
            }
        }
        /* a trailing lone backslash is dropped, as es_field_unescape does */
    }
    *o++ = '\'';
    out->len = (size_t)(o - out->data);
    out->data[out->len] = '\0';
    return 0;
}
