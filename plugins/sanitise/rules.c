/*
 * rules.c - the rules file parser (grammar in docs/sanitise.md).
 *
 * Line based: one statement per logical line; a line whose parentheses are
 * still open continues on the next one.  `#` starts a comment outside
 * quotes.  Statements:
 *
 *     table NAME [truncate | drop]
 *     index PATTERN [truncate | drop]
 *     filter PRED                       (inside a block)
 *     COLUMN[, COLUMN...] RULE [when PRED]
 *
 * Every error is "file:line: message" and parsing stops at the first one.
 */
#include "rules.h"

#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_RULES_FILE (16u << 20)

typedef enum tok_kind {
    T_END, T_WORD, T_STR, T_LP, T_RP, T_COMMA, T_COLON, T_OP, T_PIPE
} tok_kind;

typedef struct tok {
    tok_kind kind;
    char *text;          /* WORD, STR (unquoted), OP */
    size_t len;
} tok;

typedef struct parser {
    const char *name;
    int line;
    tok *toks;
    size_t ntoks, captoks;
    size_t pos;
    char *err;
    size_t errlen;
    int failed;
    sr_ruleset *rs;
    sr_table *table;     /* current block (index into rs arrays via ptr) */
    size_t table_i;
    sr_index *index;
    size_t index_i;
    int in_table, in_index;
} parser;

static int
perr(parser *ps, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (ps->failed)
        return -1;
    ps->failed = 1;
    n = snprintf(ps->err, ps->errlen, "%s:%d: ", ps->name, ps->line);
    if (n < 0 || (size_t)n >= ps->errlen)
        return -1;
    va_start(ap, fmt);
    vsnprintf(ps->err + n, ps->errlen - (size_t)n, fmt, ap);
    va_end(ap);
    return -1;
}

static char *
xstrndup(const char *p, size_t n)
{
    char *s = malloc(n + 1);

    if (s) {
        memcpy(s, p, n);
        s[n] = '\0';
    }
    return s;
}

static void *
grow(void *arr, size_t *cap, size_t n, size_t elem)
{
    size_t nc;
    void *na;

    if (n < *cap)
        return arr;
    nc = *cap ? *cap * 2 : 8;
    na = realloc(arr, nc * elem);
    if (!na)
        return NULL;
    memset((char *)na + *cap * elem, 0, (nc - *cap) * elem);
    *cap = nc;
    return na;
}

/* ------------------------------------------------------------ tokenizer */
static void
toks_clear(parser *ps)
{
    size_t i;

    for (i = 0; i < ps->ntoks; i++)
        free(ps->toks[i].text);
    ps->ntoks = 0;
    ps->pos = 0;
}

static int
tok_push(parser *ps, tok_kind k, const char *p, size_t len)
{
    tok *t;
    void *na = grow(ps->toks, &ps->captoks, ps->ntoks, sizeof(tok));

    if (!na)
        return perr(ps, "out of memory");
    ps->toks = na;
    t = &ps->toks[ps->ntoks];
    t->kind = k;
    t->text = p ? xstrndup(p, len) : NULL;
    t->len = len;
    if (p && !t->text)
        return perr(ps, "out of memory");
    ps->ntoks++;
    return 0;
}

static int
is_word_char(int c)
{
    return c > ' ' && c != 0x7f && !strchr("(),'\"=<>!#:|", c);
}

/* Tokenize one logical line. */
static int
tokenize(parser *ps, const char *s, size_t len)
{
    size_t i = 0;
    es_buf sb = ES_BUF_INIT;

    while (i < len) {
        char c = s[i];

        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
            i++;
            continue;
        }
        if (c == '#')
            break;
        if (c == '(' || c == ')' || c == ',' || c == ':' || c == '|') {
            if (tok_push(ps, c == '(' ? T_LP : c == ')' ? T_RP :
                         c == ',' ? T_COMMA : c == '|' ? T_PIPE : T_COLON, NULL, 0) < 0)
                goto fail;
            i++;
            continue;
        }
        if (c == '\'' || c == '"') {
            char q = c;

            es_buf_reset(&sb);
            i++;
            for (;;) {
                if (i >= len) {
                    perr(ps, "unterminated %s string", q == '\'' ? "'" : "\"");
                    goto fail;
                }
                c = s[i++];
                if (c == q) {
                    if (i < len && s[i] == q) {     /* doubled quote */
                        i++;
                    } else {
                        break;
                    }
                }
                /* no backslash escapes: regexes and replacements keep
                 * theirs; a quote is doubled ('it''s') */
                if (es_buf_putc(&sb, c) < 0) {
                    perr(ps, "out of memory");
                    goto fail;
                }
            }
            if (tok_push(ps, T_STR, sb.data ? sb.data : "", sb.len) < 0)
                goto fail;
            continue;
        }
        if (c == '=' || c == '<' || c == '>' || c == '!') {
            size_t st = i++;

            if (i < len && (s[i] == '=' || (c == '<' && s[i] == '>')))
                i++;
            if (i - st == 1 && c == '!') {
                perr(ps, "unexpected '!' (did you mean '!=')");
                goto fail;
            }
            if (tok_push(ps, T_OP, s + st, i - st) < 0)
                goto fail;
            continue;
        }
        if (is_word_char((unsigned char)c)) {
            size_t st = i;

            while (i < len) {
                c = s[i];
                if (c == '[') {
                    /* JSON path / glob bracket: up to the matching ']',
                     * quotes inside allowed */
                    char q = 0;

                    i++;
                    while (i < len && (q || s[i] != ']')) {
                        if (q && s[i] == '\\' && i + 1 < len)
                            i++;
                        else if (q && s[i] == q)
                            q = 0;
                        else if (!q && (s[i] == '"' || s[i] == '\''))
                            q = s[i];
                        i++;
                    }
                    if (i >= len) {
                        perr(ps, "unterminated '['");
                        goto fail;
                    }
                    i++;
                    continue;
                }
                if (!is_word_char((unsigned char)c))
                    break;
                i++;
            }
            if (tok_push(ps, T_WORD, s + st, i - st) < 0)
                goto fail;
            continue;
        }
        perr(ps, "unexpected character 0x%02x", (unsigned char)c);
        goto fail;
    }
    es_buf_free(&sb);
    return tok_push(ps, T_END, NULL, 0);
fail:
    es_buf_free(&sb);
    return -1;
}

static tok *
peek(parser *ps)
{
    return &ps->toks[ps->pos];
}

static tok *
next(parser *ps)
{
    tok *t = &ps->toks[ps->pos];

    if (t->kind != T_END)
        ps->pos++;
    return t;
}

static int
is_kw(const tok *t, const char *kw)
{
    return t->kind == T_WORD && strcasecmp(t->text, kw) == 0;
}

static const char *
tok_desc(const tok *t)
{
    switch (t->kind) {
    case T_END: return "end of line";
    case T_LP: return "'('";
    case T_RP: return "')'";
    case T_COMMA: return "','";
    case T_COLON: return "':'";
    case T_PIPE: return "'|'";
    default: return t->text;
    }
}

/* ------------------------------------------------------------ time */
static int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
    /* Howard Hinnant's algorithm: days since 1970-01-01 */
    int64_t era;
    unsigned yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = (unsigned)(y - era * 400);
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static int
digits(const char *s, const char *end, int n, int *v)
{
    int i, x = 0;

    if (end - s < n)
        return -1;
    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        x = x * 10 + (s[i] - '0');
    }
    *v = x;
    return 0;
}

int
sr_parse_time(const char *s, size_t len, double *secs)
{
    const char *p = s, *end = s + len;
    int y, mo, d, h = 0, mi = 0, se = 0;
    double frac = 0, off = 0;

    while (p < end && *p == ' ')
        p++;
    while (end > p && end[-1] == ' ')
        end--;
    if (p == end)
        return -1;
    /* plain epoch seconds */
    {
        const char *q = p + (*p == '-');
        int alldig = q < end;

        for (; q < end; q++)
            if (*q < '0' || *q > '9') {
                alldig = 0;
                break;
            }
        if (alldig && end - p <= 15) {
            char tmp[24];

            memcpy(tmp, p, (size_t)(end - p));
            tmp[end - p] = '\0';
            *secs = (double)strtoll(tmp, NULL, 10);
            return 0;
        }
    }
    if (digits(p, end, 4, &y) < 0 || end - p < 10 || p[4] != '-' ||
        digits(p + 5, end, 2, &mo) < 0 || p[7] != '-' ||
        digits(p + 8, end, 2, &d) < 0)
        return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > 31)
        return -1;
    p += 10;
    if (p < end && (*p == ' ' || *p == 'T' || *p == 't')) {
        p++;
        if (digits(p, end, 2, &h) < 0 || end - p < 5 || p[2] != ':' ||
            digits(p + 3, end, 2, &mi) < 0)
            return -1;
        p += 5;
        if (p < end && *p == ':') {
            if (digits(p + 1, end, 2, &se) < 0)
                return -1;
            p += 3;
            if (p < end && *p == '.') {
                double scale = 0.1;

                p++;
                while (p < end && *p >= '0' && *p <= '9') {
                    frac += (*p - '0') * scale;
                    scale /= 10;
                    p++;
                }
            }
        }
        if (h > 24 || mi > 59 || se > 60)
            return -1;
    }
    if (p < end && (*p == 'Z' || *p == 'z')) {
        p++;
    } else if (p < end && (*p == '+' || *p == '-')) {
        int sign = *p == '-' ? -1 : 1, oh, om = 0;

        p++;
        if (digits(p, end, 2, &oh) < 0)
            return -1;
        p += 2;
        if (p < end && *p == ':')
            p++;
        if (p < end && digits(p, end, 2, &om) == 0)
            p += 2;
        off = sign * (oh * 3600.0 + om * 60.0);
    }
    if (p != end)
        return -1;
    *secs = (double)days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400.0 +
            h * 3600.0 + mi * 60.0 + se + frac - off;
    return 0;
}

/* ------------------------------------------------------------ predicates */
static const struct { const char *name; double secs; } units[] = {
    { "second", 1 }, { "seconds", 1 }, { "sec", 1 }, { "secs", 1 }, { "s", 1 },
    { "minute", 60 }, { "minutes", 60 }, { "min", 60 }, { "mins", 60 },
    { "hour", 3600 }, { "hours", 3600 }, { "h", 3600 },
    { "day", 86400 }, { "days", 86400 }, { "d", 86400 },
    { "week", 604800 }, { "weeks", 604800 },
    { "month", 2592000 }, { "months", 2592000 },     /* 30 days */
    { "year", 31536000 }, { "years", 31536000 },     /* 365 days */
};

static int
parse_number(const char *s, double *v)
{
    char *end;

    if (!*s)
        return -1;
    errno = 0;
    *v = strtod(s, &end);
    if (*end || errno)
        return -1;
    /* reject inf/nan spelled as words */
    if (!(isdigit((unsigned char)s[0]) || s[0] == '-' || s[0] == '+' || s[0] == '.'))
        return -1;
    return 0;
}

static int
parse_cmp(parser *ps, sr_cmp *c)
{
    tok *t = next(ps);

    if (t->kind != T_WORD && t->kind != T_STR)
        return perr(ps, "expected a column name in condition, got %s", tok_desc(t));
    c->column = xstrndup(t->text, t->len);
    if (!c->column)
        return perr(ps, "out of memory");
    t = next(ps);
    if (is_kw(t, "is")) {
        t = next(ps);
        c->op = SR_OP_ISNULL;
        if (is_kw(t, "not")) {
            c->op = SR_OP_NOTNULL;
            t = next(ps);
        }
        if (!is_kw(t, "null"))
            return perr(ps, "expected 'null' after 'is', got %s", tok_desc(t));
        return 0;
    }
    if (t->kind != T_OP)
        return perr(ps, "expected a comparison (= != < <= > >= is) after '%s', got %s",
                    c->column, tok_desc(t));
    if (!strcmp(t->text, "=") || !strcmp(t->text, "=="))
        c->op = SR_OP_EQ;
    else if (!strcmp(t->text, "!=") || !strcmp(t->text, "<>"))
        c->op = SR_OP_NE;
    else if (!strcmp(t->text, "<"))
        c->op = SR_OP_LT;
    else if (!strcmp(t->text, "<="))
        c->op = SR_OP_LE;
    else if (!strcmp(t->text, ">"))
        c->op = SR_OP_GT;
    else if (!strcmp(t->text, ">="))
        c->op = SR_OP_GE;
    else
        return perr(ps, "unknown comparison '%s'", t->text);
    t = next(ps);
    if (t->kind == T_STR) {
        double secs;

        c->str = xstrndup(t->text, t->len);
        c->slen = t->len;
        if (!c->str)
            return perr(ps, "out of memory");
        if (sr_parse_time(t->text, t->len, &secs) == 0 && t->len >= 10) {
            c->lit = SR_LIT_TIME;
            c->secs = secs;
        } else {
            c->lit = SR_LIT_STR;
        }
        return 0;
    }
    if (t->kind != T_WORD)
        return perr(ps, "expected a value after '%s', got %s", c->column, tok_desc(t));
    if (is_kw(t, "null"))
        return perr(ps, "compare with NULL using 'is null' / 'is not null'");
    if (is_kw(t, "now")) {
        tok *sign = peek(ps);
        double n;
        size_t u;

        c->lit = SR_LIT_TIME;
        c->rel = 1;
        c->secs = 0;
        if (sign->kind != T_WORD || (strcmp(sign->text, "-") && strcmp(sign->text, "+")))
            return 0;
        next(ps);
        t = next(ps);
        if (t->kind != T_WORD || parse_number(t->text, &n) < 0)
            return perr(ps, "expected a number after 'now %s', got %s", sign->text, tok_desc(t));
        t = next(ps);
        if (t->kind != T_WORD)
            return perr(ps, "expected a time unit (seconds, minutes, hours, days, weeks, months, years) after 'now %s %g', got %s",
                        sign->text, n, tok_desc(t));
        for (u = 0; u < sizeof(units) / sizeof(units[0]); u++)
            if (!strcasecmp(t->text, units[u].name))
                break;
        if (u == sizeof(units) / sizeof(units[0]))
            return perr(ps, "unknown time unit '%s' (seconds, minutes, hours, days, weeks, months, years)", t->text);
        c->secs = n * units[u].secs * (sign->text[0] == '-' ? -1 : 1);
        return 0;
    }
    if (parse_number(t->text, &c->num) < 0)
        return perr(ps, "'%s' is not a number; quote strings ('%s')", t->text, t->text);
    c->lit = SR_LIT_NUM;
    c->str = xstrndup(t->text, t->len);
    c->slen = t->len;
    if (!c->str)
        return perr(ps, "out of memory");
    return 0;
}

static sr_pred *
parse_pred(parser *ps)
{
    sr_pred *pr = calloc(1, sizeof(*pr));
    sr_pred **np;
    size_t cap = 0;
    void *na;

    /* register first, so a half-built predicate is freed with the set */
    np = pr ? realloc(ps->rs->preds, (ps->rs->npreds + 1) * sizeof(*np)) : NULL;
    if (!np) {
        free(pr);
        perr(ps, "out of memory");
        return NULL;
    }
    ps->rs->preds = np;
    np[ps->rs->npreds++] = pr;
    pr->line = ps->line;
    for (;;) {
        na = grow(pr->cmps, &cap, pr->n, sizeof(sr_cmp));
        if (!na) {
            perr(ps, "out of memory");
            return NULL;
        }
        pr->cmps = na;
        memset(&pr->cmps[pr->n], 0, sizeof(sr_cmp));
        pr->n++;
        if (parse_cmp(ps, &pr->cmps[pr->n - 1]) < 0)
            return NULL;
        if (!is_kw(peek(ps), "and"))
            break;
        next(ps);
    }
    return pr;
}

/* ------------------------------------------------------------ JSON paths */
static int
parse_jpath(parser *ps, const char *s, size_t len, sr_jpath *jp)
{
    size_t i = 0, cap = 0, first;

    jp->text = xstrndup(s, len);
    if (!jp->text)
        return perr(ps, "out of memory");
    if (i < len && s[i] == '$')
        i++;
    first = i;
    if (i == len)
        return perr(ps, "empty JSON path '%s'", jp->text);
    while (i < len) {
        sr_jseg seg;
        void *na;

        memset(&seg, 0, sizeof(seg));
        if (s[i] == '.' || (i == first && s[i] != '[')) {
            size_t st;

            if (s[i] == '.')
                i++;
            st = i;
            while (i < len && s[i] != '.' && s[i] != '[')
                i++;
            if (i == st)
                return perr(ps, "empty key in JSON path '%s'", jp->text);
            if (i - st == 1 && s[st] == '*') {
                seg.kind = SR_JSEG_ANY;
            } else {
                seg.kind = SR_JSEG_KEY;
                seg.key = xstrndup(s + st, i - st);
                if (!seg.key)
                    return perr(ps, "out of memory");
            }
        } else if (s[i] == '[') {
            i++;
            if (i < len && (s[i] == '"' || s[i] == '\'')) {
                char q = s[i++];
                es_buf kb = ES_BUF_INIT;

                while (i < len && s[i] != q) {
                    if (s[i] == '\\' && i + 1 < len)
                        i++;
                    if (es_buf_putc(&kb, s[i++]) < 0) {
                        es_buf_free(&kb);
                        return perr(ps, "out of memory");
                    }
                }
                if (i + 1 >= len || s[i + 1] != ']') {
                    es_buf_free(&kb);
                    return perr(ps, "bad quoted key in JSON path '%s'", jp->text);
                }
                i += 2;
                seg.kind = SR_JSEG_KEY;
                seg.key = es_buf_detach(&kb, NULL);
            } else if (i < len && s[i] == '*') {
                if (i + 1 >= len || s[i + 1] != ']')
                    return perr(ps, "bad '[*' in JSON path '%s'", jp->text);
                i += 2;
                seg.kind = SR_JSEG_ANY;
            } else {
                size_t v = 0, st = i;

                while (i < len && s[i] >= '0' && s[i] <= '9' && i - st < 9)
                    v = v * 10 + (size_t)(s[i++] - '0');
                if (i == st || i >= len || s[i] != ']')
                    return perr(ps, "bad index in JSON path '%s' (use [N], [*] or [\"key\"])", jp->text);
                i++;
                seg.kind = SR_JSEG_INDEX;
                seg.index = v;
            }
        } else {
            return perr(ps, "bad JSON path '%s'", jp->text);
        }
        na = grow(jp->segs, &cap, jp->n, sizeof(sr_jseg));
        if (!na) {
            free(seg.key);
            return perr(ps, "out of memory");
        }
        jp->segs = na;
        jp->segs[jp->n++] = seg;
    }
    if (jp->n == 0)
        return perr(ps, "empty JSON path '%s'", jp->text);
    return 0;
}

static void
jpath_free(sr_jpath *jp)
{
    size_t i;

    for (i = 0; i < jp->n; i++)
        free(jp->segs[i].key);
    free(jp->segs);
    free(jp->text);
}

/* ------------------------------------------------------------ rules */
static const struct { const char *name; sr_kind kind; int keyed; } rule_names[] = {
    { "keep", SR_KEEP, 0 }, { "null", SR_NULL, 0 }, { "empty", SR_EMPTY, 0 },
    { "set", SR_SET, 0 }, { "hash", SR_HASH, 1 }, { "email", SR_EMAIL, 1 },
    { "name", SR_NAME, 1 }, { "phone", SR_PHONE, 1 }, { "ip", SR_IP, 1 },
    { "mask", SR_MASK, 0 }, { "lorem", SR_LOREM, 0 },
    { "replace", SR_REPLACE, 0 }, { "replace_emails", SR_REPLACE_EMAILS, 1 },
    { "json", SR_JSON, 0 }, { "remove", SR_REMOVE, 0 },
};

static const char *
rule_list(void)
{
    return "keep, null, empty, set, hash, email, name, phone, ip, mask, lorem, "
           "replace, replace_emails, json";
}

static sr_rule *parse_rule(parser *ps, int in_json);

/* Tokens [from, to) as text, for reports. */
static char *
tok_text(parser *ps, size_t from, size_t to)
{
    es_buf tb = ES_BUF_INIT;
    size_t i;

    for (i = from; i < to; i++) {
        const tok *x = &ps->toks[i];

        switch (x->kind) {
        case T_LP: es_buf_putc(&tb, '('); break;
        case T_RP: es_buf_putc(&tb, ')'); break;
        case T_COMMA: es_buf_puts(&tb, ", "); break;
        case T_COLON: es_buf_puts(&tb, ": "); break;
        case T_PIPE: es_buf_puts(&tb, " | "); break;
        case T_STR: {
            size_t k;

            es_buf_putc(&tb, '\'');
            for (k = 0; k < x->len; k++) {
                if (x->text[k] == '\'')
                    es_buf_putc(&tb, '\'');
                es_buf_putc(&tb, x->text[k]);
            }
            es_buf_putc(&tb, '\'');
            break;
        }
        default: es_buf_puts(&tb, x->text ? x->text : ""); break;
        }
    }
    return es_buf_detach(&tb, NULL);
}

static sr_rule *
rule_new(parser *ps, sr_kind kind)
{
    sr_rule *r = calloc(1, sizeof(*r));
    sr_rule **nr;

    if (!r) {
        perr(ps, "out of memory");
        return NULL;
    }
    nr = realloc(ps->rs->rules, (ps->rs->nrules + 1) * sizeof(*nr));
    if (!nr) {
        free(r);
        perr(ps, "out of memory");
        return NULL;
    }
    ps->rs->rules = nr;
    nr[ps->rs->nrules++] = r;
    r->kind = kind;
    r->line = ps->line;
    r->mask_char = '*';
    return r;
}

/* An argument value: a quoted string or a bare word/number. */
static tok *
arg_value(parser *ps, const char *rule, const char *what)
{
    tok *t = next(ps);

    if (t->kind != T_STR && t->kind != T_WORD) {
        perr(ps, "%s(): expected a value for %s, got %s", rule, what, tok_desc(t));
        return NULL;
    }
    return t;
}

static int
arg_int(parser *ps, const tok *t, const char *rule, const char *what, int lo, int hi, int *v)
{
    char *end;
    long x;

    errno = 0;
    x = strtol(t->text, &end, 10);
    if (!*t->text || *end || errno || x < lo || x > hi)
        return perr(ps, "%s(): %s must be an integer from %d to %d, got '%s'",
                    rule, what, lo, hi, t->text);
    *v = (int)x;
    return 0;
}

static int
parse_json_args(parser *ps, sr_rule *r)
{
    size_t cap = 0;

    for (;;) {
        tok *t = next(ps);
        sr_jrule *jr;
        void *na;

        if (t->kind != T_WORD && t->kind != T_STR)
            return perr(ps, "json(): expected a JSON path, got %s", tok_desc(t));
        na = grow(r->json, &cap, r->njson, sizeof(sr_jrule));
        if (!na)
            return perr(ps, "out of memory");
        r->json = na;
        jr = &r->json[r->njson++];
        memset(jr, 0, sizeof(*jr));
        jr->line = ps->line;
        if (parse_jpath(ps, t->text, t->len, &jr->path) < 0)
            return -1;
        t = next(ps);
        if (t->kind != T_COLON)
            return perr(ps, "json(): expected ':' after path '%s', got %s",
                        jr->path.text, tok_desc(t));
        jr->rule = parse_rule(ps, 1);
        if (!jr->rule)
            return -1;
        t = next(ps);
        if (t->kind == T_RP)
            return 0;
        if (t->kind != T_COMMA)
            return perr(ps, "json(): expected ',' or ')', got %s", tok_desc(t));
    }
}

static sr_rule *
parse_one(parser *ps, int in_json)
{
    tok *t = next(ps), *v;
    size_t k;
    sr_rule *r;
    size_t start = ps->pos - 1;
    int npos = 0;
    const char *name;

    if (t->kind != T_WORD) {
        perr(ps, "expected a rule (%s), got %s", rule_list(), tok_desc(t));
        return NULL;
    }
    for (k = 0; k < sizeof(rule_names) / sizeof(rule_names[0]); k++)
        if (!strcasecmp(t->text, rule_names[k].name))
            break;
    if (k == sizeof(rule_names) / sizeof(rule_names[0])) {
        perr(ps, "unknown rule '%s' (rules: %s)", t->text, rule_list());
        return NULL;
    }
    name = rule_names[k].name;
    if (rule_names[k].kind == SR_REMOVE && !in_json) {
        perr(ps, "rule 'remove' only applies to JSON paths (inside json() or an index block)");
        return NULL;
    }
    r = rule_new(ps, rule_names[k].kind);
    if (!r)
        return NULL;
    if (rule_names[k].keyed)
        ps->rs->needs_key = 1;
    if (r->kind == SR_EMAIL || r->kind == SR_REPLACE_EMAILS)
        r->domain = strdup("example.invalid");
    if ((r->kind == SR_EMAIL || r->kind == SR_REPLACE_EMAILS) && !r->domain) {
        perr(ps, "out of memory");
        return NULL;
    }

    if (peek(ps)->kind == T_LP) {
        next(ps);
        if (r->kind == SR_JSON) {
            if (parse_json_args(ps, r) < 0)
                return NULL;
            goto done;
        }
        if (peek(ps)->kind == T_RP) {
            next(ps);
            goto done;
        }
        for (;;) {
            tok *key = NULL;

            t = peek(ps);
            if (t->kind == T_WORD && ps->toks[ps->pos + 1].kind == T_OP &&
                !strcmp(ps->toks[ps->pos + 1].text, "=")) {
                key = next(ps);
                next(ps);
            }
            v = arg_value(ps, name, key ? key->text : "its argument");
            if (!v)
                return NULL;
#define KEYIS(s) (key ? !strcasecmp(key->text, (s)) : 0)
            switch (r->kind) {
            case SR_SET:
                if (key || npos > 0) {
                    perr(ps, "set(): takes one value, e.g. set('x') or set(0)");
                    return NULL;
                }
                r->value = xstrndup(v->text, v->len);
                r->vlen = v->len;
                if (!r->value) {
                    perr(ps, "out of memory");
                    return NULL;
                }
                break;
            case SR_HASH:
                if (KEYIS("length") || (!key && npos == 0)) {
                    if (arg_int(ps, v, name, "length", 1, 64, &r->length) < 0)
                        return NULL;
                } else if (KEYIS("encoding")) {
                    if (!strcasecmp(v->text, "hex"))
                        r->enc = SR_ENC_HEX;
                    else if (!strcasecmp(v->text, "base32"))
                        r->enc = SR_ENC_BASE32;
                    else if (!strcasecmp(v->text, "decimal"))
                        r->enc = SR_ENC_DECIMAL;
                    else {
                        perr(ps, "hash(): encoding must be hex, base32 or decimal, got '%s'", v->text);
                        return NULL;
                    }
                } else {
                    perr(ps, "hash(): unknown argument '%s' (length, encoding)",
                         key ? key->text : v->text);
                    return NULL;
                }
                break;
            case SR_EMAIL:
            case SR_REPLACE_EMAILS:
                if (KEYIS("domain") || (!key && npos == 0)) {
                    if (!v->len || memchr(v->text, '@', v->len) || memchr(v->text, ' ', v->len)) {
                        perr(ps, "%s(): bad domain '%s'", name, v->text);
                        return NULL;
                    }
                    free(r->domain);
                    r->domain = xstrndup(v->text, v->len);
                    if (!r->domain) {
                        perr(ps, "out of memory");
                        return NULL;
                    }
                } else {
                    perr(ps, "%s(): unknown argument '%s' (domain)", name,
                         key ? key->text : v->text);
                    return NULL;
                }
                break;
            case SR_NAME:
                if (KEYIS("part") || (!key && npos == 0)) {
                    if (!strcasecmp(v->text, "full"))
                        r->part = SR_PART_FULL;
                    else if (!strcasecmp(v->text, "first"))
                        r->part = SR_PART_FIRST;
                    else if (!strcasecmp(v->text, "last"))
                        r->part = SR_PART_LAST;
                    else {
                        perr(ps, "name(): part must be full, first or last, got '%s'", v->text);
                        return NULL;
                    }
                } else {
                    perr(ps, "name(): unknown argument '%s' (part)", key ? key->text : v->text);
                    return NULL;
                }
                break;
            case SR_MASK:
                if (KEYIS("keep_last") || (!key && npos == 0)) {
                    if (arg_int(ps, v, name, "keep_last", 0, 1000000, &r->keep_last) < 0)
                        return NULL;
                } else if (KEYIS("char")) {
                    if (v->len != 1 || v->text[0] == '\\' || (unsigned char)v->text[0] < ' ') {
                        perr(ps, "mask(): char must be one printable ASCII character, got '%s'", v->text);
                        return NULL;
                    }
                    r->mask_char = v->text[0];
                } else {
                    perr(ps, "mask(): unknown argument '%s' (keep_last, char)", key ? key->text : v->text);
                    return NULL;
                }
                break;
            case SR_REPLACE:
                if (key) {
                    perr(ps, "replace(): takes two values, replace('regex', 'replacement')");
                    return NULL;
                }
                if (npos == 0) {
                    int rc = regcomp(&r->re, v->text, REG_EXTENDED);

                    if (rc != 0) {
                        char msg[256];

                        regerror(rc, &r->re, msg, sizeof(msg));
                        perr(ps, "replace(): bad regular expression '%s': %s", v->text, msg);
                        return NULL;
                    }
                    r->re_compiled = 1;
                } else if (npos == 1) {
                    r->repl = xstrndup(v->text, v->len);
                    if (!r->repl) {
                        perr(ps, "out of memory");
                        return NULL;
                    }
                } else {
                    perr(ps, "replace(): takes two values, replace('regex', 'replacement')");
                    return NULL;
                }
                break;
            default:
                perr(ps, "rule '%s' takes no arguments", name);
                return NULL;
            }
#undef KEYIS
            if (!key)
                npos++;
            t = next(ps);
            if (t->kind == T_RP)
                break;
            if (t->kind != T_COMMA) {
                perr(ps, "%s(): expected ',' or ')', got %s", name, tok_desc(t));
                return NULL;
            }
        }
    }
done:
    if (r->kind == SR_SET && !r->value) {
        perr(ps, "set() needs a value, e.g. set('x')");
        return NULL;
    }
    if (r->kind == SR_REPLACE && (!r->re_compiled || !r->repl)) {
        perr(ps, "replace() needs two values, replace('regex', 'replacement')");
        return NULL;
    }
    if (r->kind == SR_JSON && r->njson == 0) {
        perr(ps, "json() needs path: rule pairs, e.g. json($.email: email)");
        return NULL;
    }
    if (r->kind == SR_HASH && r->enc == SR_ENC_DECIMAL && r->length > 18) {
        perr(ps, "hash(): decimal encoding allows at most length=18 (fits a bigint)");
        return NULL;
    }
    if (r->kind == SR_HASH && r->enc == SR_ENC_BASE32 && r->length > 52) {
        perr(ps, "hash(): base32 encoding allows at most length=52");
        return NULL;
    }
    r->text = tok_text(ps, start, ps->pos);
    return r;
}

/* RULE [| RULE]...: a pipeline, each rule applied to the previous result
 * (e.g. replace_emails | replace('0[0-9 ]{10,}', '(phone)')). */
static sr_rule *
parse_rule(parser *ps, int in_json)
{
    size_t start = ps->pos;
    sr_rule *head = parse_one(ps, in_json), *last = head;

    while (last && peek(ps)->kind == T_PIPE) {
        next(ps);
        last->next = parse_one(ps, in_json);
        last = last->next;
        if (last && (last->kind == SR_REMOVE || last->kind == SR_JSON || head->kind == SR_REMOVE)) {
            perr(ps, "'%s' cannot be part of a pipeline ('|')", last->kind == SR_JSON ? "json" :
                 "remove");
            return NULL;
        }
    }
    if (!last)
        return NULL;
    if (head->next) {
        free(head->text);
        head->text = tok_text(ps, start, ps->pos);
    }
    return head;
}

/* ------------------------------------------------------------ statements */
static int
has_glob(const char *s)
{
    return strpbrk(s, "*?[") != NULL;
}

static int
stmt_block(parser *ps, int is_index)
{
    tok *t = next(ps), *a;
    sr_taction act = SR_TABLE_ROWS;
    char *pat;
    size_t i;

    if (t->kind != T_WORD && t->kind != T_STR)
        return perr(ps, "expected a %s name after '%s', got %s",
                    is_index ? "index" : "table", is_index ? "index" : "table", tok_desc(t));
    a = next(ps);
    if (is_kw(a, "truncate"))
        act = SR_TABLE_TRUNCATE;
    else if (is_kw(a, "drop"))
        act = SR_TABLE_DROP;
    else if (is_kw(a, "keep") || a->kind == T_END)
        act = SR_TABLE_ROWS;
    else
        return perr(ps, "expected 'truncate', 'drop' or end of line after %s '%s', got %s",
                    is_index ? "index" : "table", t->text, tok_desc(a));
    if (a->kind != T_END && next(ps)->kind != T_END)
        return perr(ps, "unexpected %s after '%s %s'", tok_desc(&ps->toks[ps->pos - 1]),
                    t->text, a->text);
    pat = xstrndup(t->text, t->len);
    if (!pat)
        return perr(ps, "out of memory");
    if (is_index) {
        sr_index *ix;
        void *na;
        size_t cap = ps->rs->nindexes;

        for (i = 0; i < ps->rs->nindexes; i++)
            if (!strcmp(ps->rs->indexes[i].pattern, pat)) {
                free(pat);
                return perr(ps, "index '%s' already has a block at line %d",
                            t->text, ps->rs->indexes[i].line);
            }
        na = realloc(ps->rs->indexes, (cap + 1) * sizeof(sr_index));
        if (!na) {
            free(pat);
            return perr(ps, "out of memory");
        }
        ps->rs->indexes = na;
        ix = &ps->rs->indexes[ps->rs->nindexes++];
        memset(ix, 0, sizeof(*ix));
        ix->pattern = pat;
        ix->has_glob = has_glob(pat);
        ix->action = act;
        ix->line = ps->line;
        ps->in_index = 1;
        ps->in_table = 0;
        ps->index_i = ps->rs->nindexes - 1;
    } else {
        sr_table *tb;
        void *na;

        for (i = 0; i < ps->rs->ntables; i++)
            if (!strcmp(ps->rs->tables[i].pattern, pat)) {
                free(pat);
                return perr(ps, "table '%s' already has a block at line %d",
                            t->text, ps->rs->tables[i].line);
            }
        na = realloc(ps->rs->tables, (ps->rs->ntables + 1) * sizeof(sr_table));
        if (!na) {
            free(pat);
            return perr(ps, "out of memory");
        }
        ps->rs->tables = na;
        tb = &ps->rs->tables[ps->rs->ntables++];
        memset(tb, 0, sizeof(*tb));
        tb->pattern = pat;
        tb->has_glob = has_glob(pat);
        tb->qualified = strchr(pat, '.') != NULL;
        tb->action = act;
        tb->line = ps->line;
        ps->in_table = 1;
        ps->in_index = 0;
        ps->table_i = ps->rs->ntables - 1;
    }
    return 0;
}

static int
add_filter(parser *ps, sr_pred ***arr, size_t *n)
{
    sr_pred *pr = parse_pred(ps);
    sr_pred **na;

    if (!pr)
        return -1;
    if (peek(ps)->kind != T_END)
        return perr(ps, "unexpected %s after filter condition", tok_desc(peek(ps)));
    na = realloc(*arr, (*n + 1) * sizeof(*na));
    if (!na)
        return perr(ps, "out of memory");
    *arr = na;
    na[(*n)++] = pr;
    return 0;
}

static int
stmt_column(parser *ps)
{
    sr_table *tb = &ps->rs->tables[ps->table_i];
    const char *names[256];
    size_t nn = 0, i, j;
    sr_rule *r;
    sr_pred *when = NULL;
    tok *t;

    if (tb->action != SR_TABLE_ROWS)
        return perr(ps, "table '%s' is %s (line %d): column rules do not apply",
                    tb->pattern, tb->action == SR_TABLE_DROP ? "dropped" : "truncated",
                    tb->line);
    for (;;) {
        t = next(ps);
        if (t->kind != T_WORD && t->kind != T_STR)
            return perr(ps, "expected a column name, got %s", tok_desc(t));
        if (nn == sizeof(names) / sizeof(names[0]))
            return perr(ps, "too many columns on one line (at most 256)");
        names[nn++] = t->text;
        if (peek(ps)->kind != T_COMMA)
            break;
        next(ps);
    }
    r = parse_rule(ps, 0);
    if (!r)
        return -1;
    if (is_kw(peek(ps), "when")) {
        next(ps);
        when = parse_pred(ps);
        if (!when)
            return -1;
    }
    if (peek(ps)->kind != T_END)
        return perr(ps, "unexpected %s after rule '%s'%s", tok_desc(peek(ps)), r->text,
                    when ? "" : " (a condition starts with 'when')");
    for (i = 0; i < nn; i++) {
        sr_colrule *cr;
        void *na;

        for (j = 0; j < tb->ncols; j++)
            if (!strcmp(tb->cols[j].column, names[i]) && !tb->cols[j].when)
                return perr(ps, "column '%s' already has an unconditional rule at line %d; "
                            "put conditional rules ('when') before it",
                            names[i], tb->cols[j].line);
        na = realloc(tb->cols, (tb->ncols + 1) * sizeof(sr_colrule));
        if (!na)
            return perr(ps, "out of memory");
        tb->cols = na;
        cr = &tb->cols[tb->ncols++];
        memset(cr, 0, sizeof(*cr));
        cr->column = strdup(names[i]);
        if (!cr->column)
            return perr(ps, "out of memory");
        cr->rule = r;
        cr->when = when;
        cr->line = ps->line;
    }
    return 0;
}

static int
stmt_path(parser *ps)
{
    sr_index *ix = &ps->rs->indexes[ps->index_i];
    tok *paths[64];
    size_t np = 0, i;
    sr_rule *r;
    sr_pred *when = NULL;
    tok *t;

    if (ix->action != SR_TABLE_ROWS)
        return perr(ps, "index '%s' is %s (line %d): path rules do not apply",
                    ix->pattern, ix->action == SR_TABLE_DROP ? "dropped" : "truncated",
                    ix->line);
    for (;;) {
        t = next(ps);
        if (t->kind != T_WORD && t->kind != T_STR)
            return perr(ps, "expected a JSON path, got %s", tok_desc(t));
        if (np == sizeof(paths) / sizeof(paths[0]))
            return perr(ps, "too many paths on one line (at most 64)");
        paths[np++] = t;
        if (peek(ps)->kind != T_COMMA)
            break;
        next(ps);
    }
    r = parse_rule(ps, 1);
    if (!r)
        return -1;
    if (is_kw(peek(ps), "when")) {
        next(ps);
        when = parse_pred(ps);
        if (!when)
            return -1;
    }
    if (peek(ps)->kind != T_END)
        return perr(ps, "unexpected %s after rule '%s'", tok_desc(peek(ps)), r->text);
    for (i = 0; i < np; i++) {
        sr_jrule *jr;
        void *na = realloc(ix->rules, (ix->nrules + 1) * sizeof(sr_jrule));

        if (!na)
            return perr(ps, "out of memory");
        ix->rules = na;
        jr = &ix->rules[ix->nrules++];
        memset(jr, 0, sizeof(*jr));
        jr->rule = r;
        jr->when = when;
        jr->line = ps->line;
        if (parse_jpath(ps, paths[i]->text, paths[i]->len, &jr->path) < 0)
            return -1;
    }
    return 0;
}

static int
statement(parser *ps)
{
    tok *t = peek(ps);

    if (t->kind == T_END)
        return 0;
    if (is_kw(t, "table") || is_kw(t, "index")) {
        next(ps);
        return stmt_block(ps, is_kw(t, "index"));
    }
    if (!ps->in_table && !ps->in_index)
        return perr(ps, "expected 'table NAME' or 'index PATTERN' before %s",
                    tok_desc(t));
    if (is_kw(t, "filter")) {
        next(ps);
        if (ps->in_table) {
            sr_table *tb = &ps->rs->tables[ps->table_i];

            if (tb->action != SR_TABLE_ROWS)
                return perr(ps, "table '%s' is %s: a filter does not apply", tb->pattern,
                            tb->action == SR_TABLE_DROP ? "dropped" : "truncated");
            return add_filter(ps, &tb->filters, &tb->nfilters);
        } else {
            sr_index *ix = &ps->rs->indexes[ps->index_i];

            if (ix->action != SR_TABLE_ROWS)
                return perr(ps, "index '%s' is %s: a filter does not apply", ix->pattern,
                            ix->action == SR_TABLE_DROP ? "dropped" : "truncated");
            return add_filter(ps, &ix->filters, &ix->nfilters);
        }
    }
    return ps->in_table ? stmt_column(ps) : stmt_path(ps);
}

/* Paren depth of a physical line, outside quotes and comments. */
static int
paren_delta(const char *s, size_t len)
{
    int d = 0;
    char q = 0;
    size_t i;

    for (i = 0; i < len; i++) {
        char c = s[i];

        if (q) {
            if (c == '\\')
                i++;
            else if (c == q)
                q = 0;
        } else if (c == '\'' || c == '"') {
            q = c;
        } else if (c == '#') {
            break;
        } else if (c == '(') {
            d++;
        } else if (c == ')') {
            d--;
        }
    }
    return d;
}

int
sr_parse_buffer(const char *name, const char *text, size_t len,
                sr_ruleset **out, char *err, size_t errlen)
{
    parser ps;
    size_t i = 0;
    int line = 0;
    es_buf lb = ES_BUF_INIT;

    memset(&ps, 0, sizeof(ps));
    ps.name = name;
    ps.err = err;
    ps.errlen = errlen;
    if (errlen)
        err[0] = '\0';
    *out = NULL;
    ps.rs = calloc(1, sizeof(sr_ruleset));
    if (!ps.rs || !(ps.rs->file = strdup(name))) {
        free(ps.rs);
        snprintf(err, errlen, "%s: out of memory", name);
        return -1;
    }
    if (memchr(text, '\0', len)) {
        const char *z = memchr(text, '\0', len);
        const char *q;

        ps.line = 1;
        for (q = text; q < z; q++)
            ps.line += *q == '\n';
        perr(&ps, "NUL byte in rules file");
        goto fail;
    }
    while (i < len) {
        int depth = 0, first;

        es_buf_reset(&lb);
        first = line + 1;
        do {
            const char *nl = memchr(text + i, '\n', len - i);
            size_t l = nl ? (size_t)(nl - (text + i)) : len - i;

            line++;
            depth += paren_delta(text + i, l);
            if (es_buf_append(&lb, text + i, l) < 0 || es_buf_putc(&lb, '\n') < 0) {
                ps.line = line;
                perr(&ps, "out of memory");
                goto fail;
            }
            i += l + (nl != NULL);
        } while (depth > 0 && i < len);
        ps.line = first;
        toks_clear(&ps);
        if (tokenize(&ps, lb.data, lb.len) < 0 || statement(&ps) < 0)
            goto fail;
        if (peek(&ps)->kind != T_END) {
            perr(&ps, "unexpected %s", tok_desc(peek(&ps)));
            goto fail;
        }
    }
    toks_clear(&ps);
    free(ps.toks);
    es_buf_free(&lb);
    *out = ps.rs;
    return 0;
fail:
    toks_clear(&ps);
    free(ps.toks);
    es_buf_free(&lb);
    sr_ruleset_free(ps.rs);
    return -1;
}

int
sr_parse_file(const char *path, sr_ruleset **out, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    es_buf b;
    char chunk[8192];
    size_t n;
    int rc;

    *out = NULL;
    if (!f) {
        snprintf(err, errlen, "%s: cannot open rules file: %s", path, strerror(errno));
        return -1;
    }
    es_buf_init(&b, MAX_RULES_FILE);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (es_buf_append(&b, chunk, n) < 0) {
            snprintf(err, errlen, "%s: rules file larger than %u bytes", path, MAX_RULES_FILE);
            fclose(f);
            es_buf_free(&b);
            return -1;
        }
    }
    if (ferror(f)) {
        snprintf(err, errlen, "%s: read error: %s", path, strerror(errno));
        fclose(f);
        es_buf_free(&b);
        return -1;
    }
    fclose(f);
    rc = sr_parse_buffer(path, b.data ? b.data : "", b.len, out, err, errlen);
    es_buf_free(&b);
    return rc;
}

static void
pred_free(sr_pred *pr)
{
    size_t i;

    if (!pr)
        return;
    for (i = 0; i < pr->n; i++) {
        free(pr->cmps[i].column);
        free(pr->cmps[i].str);
    }
    free(pr->cmps);
    free(pr);
}

void
sr_ruleset_free(sr_ruleset *rs)
{
    size_t i, j;

    if (!rs)
        return;
    for (i = 0; i < rs->ntables; i++) {
        sr_table *t = &rs->tables[i];

        for (j = 0; j < t->ncols; j++)
            free(t->cols[j].column);
        free(t->cols);
        free(t->filters);
        free(t->pattern);
    }
    free(rs->tables);
    for (i = 0; i < rs->nindexes; i++) {
        sr_index *x = &rs->indexes[i];

        for (j = 0; j < x->nrules; j++)
            jpath_free(&x->rules[j].path);
        free(x->rules);
        free(x->filters);
        free(x->pattern);
    }
    free(rs->indexes);
    for (i = 0; i < rs->nrules; i++) {
        sr_rule *r = rs->rules[i];

        free(r->text);
        free(r->value);
        free(r->domain);
        free(r->repl);
        if (r->re_compiled)
            regfree(&r->re);
        for (j = 0; j < r->njson; j++)
            jpath_free(&r->json[j].path);
        free(r->json);
        free(r);
    }
    free(rs->rules);
    for (i = 0; i < rs->npreds; i++)
        pred_free(rs->preds[i]);
    free(rs->preds);
    free(rs->file);
    free(rs);
}

/* ------------------------------------------------------------ lookup */
sr_table *
sr_find_table(sr_ruleset *rs, const char *schema, const char *object)
{
    char full[1024];
    sr_table *glob = NULL;
    size_t i;

    if (!object)
        return NULL;
    if (schema && *schema)
        snprintf(full, sizeof(full), "%s.%s", schema, object);
    else
        snprintf(full, sizeof(full), "%s", object);
    for (i = 0; i < rs->ntables; i++) {
        sr_table *t = &rs->tables[i];
        const char *subject = t->qualified ? full : object;

        if (!t->has_glob) {
            if (!strcmp(t->pattern, subject))
                return t;
        } else if (!glob && fnmatch(t->pattern, subject, 0) == 0) {
            glob = t;
        }
    }
    return glob;
}

sr_index *
sr_find_index(sr_ruleset *rs, const char *name)
{
    sr_index *glob = NULL;
    size_t i;

    if (!name)
        return NULL;
    for (i = 0; i < rs->nindexes; i++) {
        sr_index *x = &rs->indexes[i];

        if (!x->has_glob) {
            if (!strcmp(x->pattern, name))
                return x;
        } else if (!glob && fnmatch(x->pattern, name, 0) == 0) {
            glob = x;
        }
    }
    return glob;
}

/* ------------------------------------------------------------ evaluation */
static int
cmp_result(sr_op op, int c)
{
    switch (op) {
    case SR_OP_EQ: return c == 0;
    case SR_OP_NE: return c != 0;
    case SR_OP_LT: return c < 0;
    case SR_OP_LE: return c <= 0;
    case SR_OP_GT: return c > 0;
    case SR_OP_GE: return c >= 0;
    default: return 0;
    }
}

static int
value_number(const char *p, size_t len, double *v)
{
    char tmp[64];
    char *end;

    while (len && (*p == ' '))
        p++, len--;
    if (len == 0 || len >= sizeof(tmp))
        return -1;
    memcpy(tmp, p, len);
    tmp[len] = '\0';
    errno = 0;
    *v = strtod(tmp, &end);
    while (*end == ' ')
        end++;
    return (*end || errno == ERANGE) ? -1 : 0;
}

int
sr_pred_eval(const sr_pred *pr, double now, sr_get_fn get, void *arg)
{
    size_t i;

    for (i = 0; i < pr->n; i++) {
        const sr_cmp *c = &pr->cmps[i];
        const char *p;
        size_t len;
        int got = get(arg, i, c, &p, &len), r;

        if (got < 0)
            return -1;
        if (c->op == SR_OP_ISNULL) {
            if (got != 0)
                return 0;
            continue;
        }
        if (c->op == SR_OP_NOTNULL) {
            if (got == 0)
                return 0;
            continue;
        }
        if (got == 0)
            return 0;           /* NULL never compares */
        switch (c->lit) {
        case SR_LIT_NUM: {
            double v;

            if (value_number(p, len, &v) < 0)
                return 0;
            r = cmp_result(c->op, v < c->num ? -1 : v > c->num ? 1 : 0);
            break;
        }
        case SR_LIT_TIME: {
            double v, t = c->rel ? now + c->secs : c->secs;

            if (sr_parse_time(p, len, &v) < 0)
                return 0;
            r = cmp_result(c->op, v < t ? -1 : v > t ? 1 : 0);
            break;
        }
        default: {
            size_t m = len < c->slen ? len : c->slen;
            int x = memcmp(p, c->str, m);

            if (x == 0)
                x = len < c->slen ? -1 : len > c->slen ? 1 : 0;
            r = cmp_result(c->op, x);
            break;
        }
        }
        if (!r)
            return 0;
    }
    return 1;
}
