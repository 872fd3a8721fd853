/*
 * rules_text.c - unkeyed text rules (mask, lorem, replace), the email
 * scanner, and sr_apply(), the one entry point that dispatches a rule.
 */
#include "rules.h"

#include <stdlib.h>
#include <string.h>

/* Length in bytes of the UTF-8 sequence starting at p (1 for an invalid
 * byte, so invalid input is counted byte by byte and never overrun). */
static size_t
u8len(const unsigned char *p, const unsigned char *end)
{
    size_t n, i;

    if (*p < 0x80)
        return 1;
    if ((*p & 0xe0) == 0xc0)
        n = 2;
    else if ((*p & 0xf0) == 0xe0)
        n = 3;
    else if ((*p & 0xf8) == 0xf0)
        n = 4;
    else
        return 1;
    if ((size_t)(end - p) < n)
        return 1;
    for (i = 1; i < n; i++)
        if ((p[i] & 0xc0) != 0x80)
            return 1;
    return n;
}

static size_t
u8count(const char *in, size_t len)
{
    const unsigned char *p = (const unsigned char *)in, *end = p + len;
    size_t n = 0;

    while (p < end) {
        p += u8len(p, end);
        n++;
    }
    return n;
}

int
sr_rule_mask(const sr_rule *r, const char *in, size_t len, es_buf *dst)
{
    const unsigned char *p = (const unsigned char *)in, *end = p + len;
    size_t n = u8count(in, len), i, masked;

    masked = n > (size_t)r->keep_last ? n - (size_t)r->keep_last : 0;
    if (es_buf_reserve(dst, len + masked) < 0)
        return -1;
    for (i = 0; i < masked; i++) {
        p += u8len(p, end);
        dst->data[dst->len++] = r->mask_char;
    }
    memcpy(dst->data + dst->len, p, (size_t)(end - p));
    dst->len += (size_t)(end - p);
    dst->data[dst->len] = '\0';
    return 0;
}

static const char lorem_text[] =
    "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod "
    "tempor incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam, "
    "quis nostrud exercitation ullamco laboris nisi ut aliquip ex ea commodo "
    "consequat. Duis aute irure dolor in reprehenderit in voluptate velit esse "
    "cillum dolore eu fugiat nulla pariatur. Excepteur sint occaecat cupidatat "
    "non proident, sunt in culpa qui officia deserunt mollit anim id est laborum. ";

/* As many ASCII characters as the input has characters (so it fits any
 * column the original fitted, in bytes or in characters). */
int
sr_rule_lorem(const char *in, size_t len, es_buf *dst)
{
    size_t n = u8count(in, len), L = sizeof(lorem_text) - 1;

    if (es_buf_reserve(dst, n) < 0)
        return -1;
    while (n > 0) {
        size_t k = n < L ? n : L;

        memcpy(dst->data + dst->len, lorem_text, k);
        dst->len += k;
        n -= k;
    }
    /* no trailing space: trim to a letter where that keeps the length */
    if (dst->len && dst->data[dst->len - 1] == ' ')
        dst->data[dst->len - 1] = '.';
    dst->data[dst->len] = '\0';
    return 0;
}

/* POSIX extended regex, every match replaced; \0-\9 in the replacement are
 * the match and its groups, \\ a backslash.  REG_STARTEND lets the value
 * contain NUL bytes. */
static int replace_run(const sr_rule *r, const char *in, size_t len, es_buf *dst);

/* regexec() gets a NUL-terminated copy: glibc honours REG_STARTEND, but
 * other implementations (and sanitizer interceptors) call strlen(). */
int
sr_rule_replace(const sr_rule *r, const char *in, size_t len, es_buf *dst)
{
    char small[512], *copy = len < sizeof(small) ? small : malloc(len + 1);
    int rc;

    if (!copy)
        return -1;
    memcpy(copy, in, len);
    copy[len] = '\0';
    rc = replace_run(r, copy, len, dst);
    if (copy != small)
        free(copy);
    return rc;
}

static int
replace_run(const sr_rule *r, const char *in, size_t len, es_buf *dst)
{
    regmatch_t m[10];
    size_t off = 0;
    int eflags = 0;

    while (off <= len) {
        const char *s;
        int i;

        m[0].rm_so = (regoff_t)off;
        m[0].rm_eo = (regoff_t)len;
        if (regexec(&r->re, in, 10, m, eflags | REG_STARTEND) != 0)
            break;
        if (es_buf_append(dst, in + off, (size_t)m[0].rm_so - off) < 0)
            return -1;
        for (s = r->repl; *s; s++) {
            if (*s == '\\' && s[1] >= '0' && s[1] <= '9') {
                i = s[1] - '0';
                s++;
                if (m[i].rm_so >= 0 &&
                    es_buf_append(dst, in + m[i].rm_so, (size_t)(m[i].rm_eo - m[i].rm_so)) < 0)
                    return -1;
            } else if (*s == '\\' && s[1] == '\\') {
                s++;
                if (es_buf_putc(dst, '\\') < 0)
                    return -1;
            } else if (es_buf_putc(dst, *s) < 0) {
                return -1;
            }
        }
        if (m[0].rm_eo == m[0].rm_so) {
            /* empty match: copy one byte and move on */
            if ((size_t)m[0].rm_eo < len && es_buf_putc(dst, in[m[0].rm_eo]) < 0)
                return -1;
            off = (size_t)m[0].rm_eo + 1;
        } else {
            off = (size_t)m[0].rm_eo;
        }
        eflags = REG_NOTBOL;
    }
    if (off < len)
        return es_buf_append(dst, in + off, len - off);
    if (!dst->data)
        return es_buf_append(dst, "", 0);
    return 0;
}

/* ------------------------------------------------------------ emails */
static int
local_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '_' || c == '%' || c == '+' || c == '-' || c == '\'';
}

static int
domain_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '-';
}

static int
alpha(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

const char *
sr_find_email(const char *p, const char *end, size_t *alen)
{
    const char *at;

    while (p < end && (at = memchr(p, '@', (size_t)(end - p))) != NULL) {
        const char *s = at, *e = at + 1, *lastdot = NULL, *q;

        while (s > p && local_char((unsigned char)s[-1]))
            s--;
        while (s < at && (*s == '.' || *s == '\''))   /* no leading dot */
            s++;
        while (e < end && domain_char((unsigned char)*e))
            e++;
        /* trailing dots/dashes belong to the sentence, not the domain */
        while (e > at + 1 && (e[-1] == '.' || e[-1] == '-'))
            e--;
        for (q = at + 1; q < e; q++)
            if (*q == '.')
                lastdot = q;
        if (s < at && lastdot && lastdot > at + 1 && e - lastdot >= 3 &&
            alpha((unsigned char)lastdot[1]) && alpha((unsigned char)e[-1])) {
            *alen = (size_t)(e - s);
            return s;
        }
        p = at + 1;
    }
    return NULL;
}

static int
ends_with(const char *d, size_t n, const char *suf)
{
    size_t k = strlen(suf);

    return n >= k && strncasecmp(d + n - k, suf, k) == 0 &&
           (n == k || d[n - k - 1] == '.' || suf[0] == '.');
}

int
sr_reserved_domain(const char *d, size_t n)
{
    if (n >= 8 && strncasecmp(d, "example.", 8) == 0)
        return 1;
    return ends_with(d, n, ".invalid") || ends_with(d, n, ".test") ||
           ends_with(d, n, ".example") || ends_with(d, n, ".localhost") ||
           ends_with(d, n, "example.com") || ends_with(d, n, "example.org") ||
           ends_with(d, n, "example.net");
}

/* ------------------------------------------------------------ dispatch */
static int apply_one(sr_env *env, const sr_rule *r, const char *in, size_t inlen,
                     const char **out, size_t *outlen, es_buf *dst);

int
sr_apply(sr_env *env, const sr_rule *r, const char *in, size_t inlen,
         const char **out, size_t *outlen, es_buf *dst)
{
    es_buf prev = ES_BUF_INIT;
    int rc = apply_one(env, r, in, inlen, out, outlen, dst);

    /* a pipeline: the previous result moves to a private buffer (dst is
     * rewritten by the next rule; nested json() pipelines make a shared
     * scratch unsafe) */
    for (r = r->next; r && rc == 0; r = r->next) {
        const char *p = *out;

        if (p) {
            es_buf_reset(&prev);
            if (es_buf_append(&prev, p, *outlen) < 0 || es_buf_append(&prev, "", 0) < 0) {
                rc = -1;
                break;
            }
            p = prev.data;
        }
        rc = apply_one(env, r, p, p ? prev.len : 0, out, outlen, dst);
        if (rc == 0 && *out == prev.data && *out) {
            /* the rule kept its input: copy it out before prev is freed */
            es_buf_reset(dst);
            if (es_buf_append(dst, prev.data, prev.len) < 0 || es_buf_append(dst, "", 0) < 0)
                rc = -1;
            *out = dst->data;
            *outlen = dst->len;
        }
    }
    es_buf_free(&prev);
    return rc;
}

static int
apply_one(sr_env *env, const sr_rule *r, const char *in, size_t inlen,
          const char **out, size_t *outlen, es_buf *dst)
{
    int rc = 0;

    switch (r->kind) {
    case SR_KEEP:
        *out = in;
        *outlen = inlen;
        return 0;
    case SR_NULL:
    case SR_REMOVE:
        *out = NULL;
        *outlen = 0;
        return 0;
    case SR_EMPTY:
        *out = "";
        *outlen = 0;
        return 0;
    case SR_SET:
        *out = r->value;
        *outlen = r->vlen;
        return 0;
    default:
        break;
    }
    if (!in) {
        *out = NULL;
        *outlen = 0;
        return 0;
    }
    es_buf_reset(dst);
    switch (r->kind) {
    case SR_HASH: rc = sr_rule_hash(env, r, in, inlen, dst); break;
    case SR_EMAIL: rc = sr_rule_email(env, r, in, inlen, dst); break;
    case SR_NAME: rc = sr_rule_name(env, r, in, inlen, dst); break;
    case SR_PHONE: rc = sr_rule_phone(env, r, in, inlen, dst); break;
    case SR_IP: rc = sr_rule_ip(env, r, in, inlen, dst); break;
    case SR_MASK: rc = sr_rule_mask(r, in, inlen, dst); break;
    case SR_LOREM: rc = sr_rule_lorem(in, inlen, dst); break;
    case SR_REPLACE: rc = sr_rule_replace(r, in, inlen, dst); break;
    case SR_REPLACE_EMAILS: rc = sr_rule_replace_emails(env, r, in, inlen, dst); break;
    case SR_JSON: rc = sr_rule_json(env, r, in, inlen, dst); break;
    default: rc = -1; break;
    }
    if (rc == 0 && !dst->data)
        rc = es_buf_append(dst, "", 0);
    *out = dst->data;
    *outlen = dst->len;
    return rc;
}
