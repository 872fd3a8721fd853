/*
 * scan.c - the verification scan: does the output still hold values that
 * look like real personal data?  Heuristics, tuned to miss little and to
 * stay quiet on ordinary keys, dates and amounts:
 *
 * - email: an address (sr_find_email) whose domain is not reserved for
 *   documentation (example.*, *.invalid, *.test, ...);
 * - phone: a whole value made of an optional '+', digits and the
 *   separators " -()", 9 to 15 digits, that starts with '+' or '0' or
 *   contains a separator (bare integers are ids, not phones); inside
 *   text, a run starting with '+' or '0' holding 10 to 15 digits;
 * - card: a run of 13 to 19 digits (single spaces or dashes allowed
 *   between groups) starting with 2-6 and passing the Luhn check.
 */
#include "apply.h"

#include <string.h>

int
sz_luhn(const char *d, size_t n)
{
    unsigned sum = 0;
    size_t i;
    int dbl = 0;

    for (i = n; i-- > 0;) {
        unsigned v = (unsigned)(d[i] - '0');

        if (dbl) {
            v *= 2;
            if (v > 9)
                v -= 9;
        }
        sum += v;
        dbl = !dbl;
    }
    return sum % 10 == 0;
}

static int
isdig(char c)
{
    return c >= '0' && c <= '9';
}

static int
looks_phone(const char *p, size_t len)
{
    size_t i, nd = 0;
    int sep = 0;

    while (len && *p == ' ')
        p++, len--;
    while (len && p[len - 1] == ' ')
        len--;
    if (len < 9 || len > 24)
        return 0;
    if (!(isdig(p[0]) || p[0] == '+' || p[0] == '('))
        return 0;
    for (i = 0; i < len; i++) {
        char c = p[i];

        if (isdig(c))
            nd++;
        else if (c == ' ' || c == '-' || c == '(' || c == ')')
            sep = 1;
        else if (!(c == '+' && i == 0))
            return 0;
    }
    /* a date like 2024-01-02 has 8 digits: below the minimum anyway */
    return nd >= 9 && nd <= 15 && (p[0] == '+' || p[0] == '0' || sep);
}

static uint64_t
count_cards(const char *p, size_t len)
{
    const char *start = p, *end = p + len;
    uint64_t n = 0;

    while (p < end) {
        char dig[20];
        size_t nd = 0;
        const char *q;

        if (!isdig(*p)) {
            p++;
            continue;
        }
        /* a run must not continue a word or a longer number */
        if (p > start && (isdig(p[-1]) || ((p[-1] | 0x20) >= 'a' && (p[-1] | 0x20) <= 'z'))) {
            while (p < end && isdig(*p))
                p++;
            continue;
        }
        q = p;
        while (q < end) {
            if (isdig(*q)) {
                if (nd == sizeof(dig))
                    break;
                dig[nd++] = *q++;
            } else if ((*q == ' ' || *q == '-') && q + 1 < end && isdig(q[1]) && nd > 0) {
                q++;
            } else {
                break;
            }
        }
        if (nd >= 13 && nd <= 19 && (q == end || !isdig(*q)) &&
            dig[0] >= '2' && dig[0] <= '6' && sz_luhn(dig, nd))
            n++;
        p = q > p ? q : p + 1;
        while (p < end && isdig(*p))
            p++;
    }
    return n;
}

/* Phone numbers inside text: a run starting with '+' or '0' (after a
 * non-alphanumeric), of digits and " -()", with 10 to 15 digits. */
static uint64_t
count_text_phones(const char *p, size_t len)
{
    const char *start = p, *end = p + len;
    uint64_t n = 0;

    while (p < end) {
        const char *q;
        size_t nd = 0;

        if (!(*p == '+' || *p == '0') ||
            (p > start && (isdig(p[-1]) || ((p[-1] | 0x20) >= 'a' && (p[-1] | 0x20) <= 'z')))) {
            p++;
            continue;
        }
        q = p + (*p == '+');
        while (q < end && (isdig(*q) || *q == ' ' || *q == '-' || *q == '(' || *q == ')')) {
            if (isdig(*q))
                nd++;
            else if (q + 1 < end && !isdig(q[1]) && q[1] != '(')
                break;                  /* a separator must lead to a digit */
            q++;
        }
        if (nd >= 10 && nd <= 15 && (q == end || !((*q | 0x20) >= 'a' && (*q | 0x20) <= 'z')))
            n++;
        p = q > p ? q : p + 1;
    }
    return n;
}

void
sz_scan_value(sz_scan *s, const char *p, size_t len)
{
    const char *q = p, *end = p + len, *a;
    size_t alen;

    while ((a = sr_find_email(q, end, &alen)) != NULL) {
        const char *at = memchr(a, '@', alen);

        if (!sr_reserved_domain(at + 1, alen - (size_t)(at + 1 - a)))
            s->emails++;
        q = a + alen;
    }
    if (looks_phone(p, len))
        s->phones++;
    else
        s->phones += count_text_phones(p, len);
    s->cards += count_cards(p, len);
}
