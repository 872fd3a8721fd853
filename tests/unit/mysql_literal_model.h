/*
 * mysql_literal_model.h - a model of how MySQL/MariaDB read one SQL
 * literal under the default sql_mode (backslash escapes on) with a binary
 * client charset, for checking plugins/mysql/literal.c: the unit test and
 * the fuzz target decode what my_field_literal() wrote and compare it with
 * es_field_unescape().
 *
 * Quoted strings: '' is a quote; \0 \' \" \b \n \r \t \Z \\ are NUL, ', ",
 * BS, LF, CR, TAB, 0x1A and a backslash; \% and \_ stay two bytes; any
 * other \c is c (MariaDB's Lex_input_stream::unescape).  NULL and bare
 * numbers are reported as such.
 */
#ifndef MYSQL_LITERAL_MODEL_H
#define MYSQL_LITERAL_MODEL_H

#include <stddef.h>
#include <string.h>

enum { MODEL_BAD = -1, MODEL_NULL = 0, MODEL_STRING = 1, MODEL_BARE = 2 };

/* Decode the literal lit[0..len) into out (capacity >= len); *outlen gets
 * the decoded length.  Returns a MODEL_ kind; MODEL_BAD when the text is
 * not exactly one literal. */
static inline int
model_literal(const char *lit, size_t len, char *out, size_t *outlen)
{
    size_t i = 1, o = 0;

    *outlen = 0;
    if (len == 4 && !memcmp(lit, "NULL", 4))
        return MODEL_NULL;
    if (len == 0)
        return MODEL_BAD;
    if (lit[0] != '\'') {
        for (i = 0; i < len; i++)
            if (!strchr("0123456789+-.", lit[i]) || lit[i] == '\0')
                return MODEL_BAD;
        memcpy(out, lit, len);
        *outlen = len;
        return MODEL_BARE;
    }
    while (i < len) {
        char c = lit[i++];

        if (c == '\'') {
            if (i < len && lit[i] == '\'') {
                out[o++] = '\'';
                i++;
                continue;
            }
            if (i != len)
                return MODEL_BAD;       /* text after the closing quote */
            *outlen = o;
            return MODEL_STRING;
        }
        if (c != '\\') {
            out[o++] = c;
            continue;
        }
        if (i >= len)
            return MODEL_BAD;
        c = lit[i++];
        switch (c) {
        case '0': out[o++] = '\0'; break;
        case 'b': out[o++] = '\b'; break;
        case 'n': out[o++] = '\n'; break;
        case 'r': out[o++] = '\r'; break;
        case 't': out[o++] = '\t'; break;
        case 'Z': out[o++] = '\032'; break;
        case '%': case '_': out[o++] = '\\'; out[o++] = c; break;
        default: out[o++] = c;
        }
    }
    return MODEL_BAD;                   /* no closing quote */
}

#endif
