#include "config.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

static void
oom(void)
{
    static const char msg[] = "envsync: out of memory\n";

    if (write(2, msg, sizeof msg - 1) < 0) {
        /* nothing more to do */
    }
    abort();
}

void *
es_malloc(size_t n)
{
    void *p = malloc(n ? n : 1);

    if (!p)
        oom();
    return p;
}

void *
es_calloc(size_t n, size_t m)
{
    void *p = calloc(n ? n : 1, m ? m : 1);

    if (!p)
        oom();
    return p;
}

void *
es_realloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (!p)
        oom();
    return p;
}

char *
es_strdup(const char *s)
{
    return es_strndup(s, strlen(s));
}

char *
es_strndup(const char *s, size_t n)
{
    char *p = es_malloc(n + 1);

    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *
es_asprintf(const char *fmt, ...)
{
    va_list ap;
    char *p;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        oom();
    p = es_malloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

/* number followed by an optional unit from the table; mult per unit */
static int
parse_scaled(const char *s, const char *const *units, const int64_t *mult,
             int64_t dflt_mult, int64_t *out)
{
    char *end;
    long long v;
    size_t i;

    if (!s || !*s)
        return -1;
    while (isspace((unsigned char)*s))
        s++;
    if (!isdigit((unsigned char)*s))
        return -1;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno || v < 0)
        return -1;
    while (isspace((unsigned char)*end))
        end++;
    if (!*end) {
        if (v > INT64_MAX / dflt_mult)
            return -1;
        *out = v * dflt_mult;
        return 0;
    }
    for (i = 0; units[i]; i++) {
        if (strcasecmp(end, units[i]) == 0) {
            if (v > INT64_MAX / mult[i])
                return -1;
            *out = v * mult[i];
            return 0;
        }
    }
    return -1;
}

int
es_parse_size(const char *s, int64_t *out)
{
    static const char *const units[] = {
        "b", "k", "kb", "kib", "m", "mb", "mib", "g", "gb", "gib", "t", "tb", "tib", NULL
    };
    static const int64_t mult[] = {
        1, 1LL << 10, 1LL << 10, 1LL << 10, 1LL << 20, 1LL << 20, 1LL << 20,
        1LL << 30, 1LL << 30, 1LL << 30, 1LL << 40, 1LL << 40, 1LL << 40
    };

    return parse_scaled(s, units, mult, 1, out);
}

int
es_parse_duration(const char *s, int64_t *out_ms)
{
    static const char *const units[] = { "ms", "s", "m", "min", "h", "d", NULL };
    static const int64_t mult[] = { 1, 1000, 60000, 60000, 3600000, 86400000 };

    return parse_scaled(s, units, mult, 1000, out_ms);
}

const char *
es_fmt_bytes(uint64_t n, char *buf, size_t len)
{
    static const char *const u[] = { "B", "KiB", "MiB", "GiB", "TiB" };
    double v = (double)n;
    int i = 0;

    while (v >= 1024 && i < 4) {
        v /= 1024;
        i++;
    }
    if (i == 0)
        snprintf(buf, len, "%llu B", (unsigned long long)n);
    else
        snprintf(buf, len, "%.1f %s", v, u[i]);
    return buf;
}

const char *
es_fmt_duration(int64_t ms, char *buf, size_t len)
{
    int64_t s = ms / 1000;

    if (ms < 10000)
        snprintf(buf, len, "%.2fs", (double)ms / 1000);
    else
        snprintf(buf, len, "%02lld:%02lld:%02lld", (long long)(s / 3600),
                 (long long)(s / 60 % 60), (long long)(s % 60));
    return buf;
}

int64_t
es_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
es_abstime_in(int64_t ms, struct timespec *ts)
{
    clock_gettime(CLOCK_REALTIME, ts);
    ts->tv_sec += (time_t)(ms / 1000);
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

void
es_timestamp(time_t t, char out[17])
{
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
}

int
es_parse_timestamp(const char *s, time_t *out)
{
    struct tm tm;
    const char *end;

    if (!s || strlen(s) != 16 || s[8] != 'T' || s[15] != 'Z')
        return -1;
    memset(&tm, 0, sizeof tm);
    end = strptime(s, "%Y%m%dT%H%M%SZ", &tm);
    if (!end || *end)
        return -1;
    *out = timegm(&tm);
    return 0;
}

void
es_iso8601(time_t t, char out[21])
{
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

char *
es_read_file(const char *path, size_t max, int strip_nl, size_t *lenp)
{
    struct stat st;
    char *buf;
    size_t len = 0;
    ssize_t n;
    int fd;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    if (fstat(fd, &st) < 0 || (size_t)st.st_size > max) {
        if (errno == 0 || (size_t)st.st_size > max)
            errno = EFBIG;
        close(fd);
        return NULL;
    }
    buf = es_malloc((size_t)st.st_size + 1);
    while ((n = read(fd, buf + len, (size_t)st.st_size - len)) > 0)
        len += (size_t)n;
    close(fd);
    if (n < 0) {
        free(buf);
        return NULL;
    }
    if (strip_nl && len && buf[len - 1] == '\n') {
        len--;
        if (len && buf[len - 1] == '\r')
            len--;
    }
    buf[len] = '\0';
    if (lenp)
        *lenp = len;
    return buf;
}

int
es_glob_match(const char *p, const char *s)
{
    const char *star = NULL, *ss = NULL;

    while (*s) {
        if (*p == '?' || *p == *s) {
            p++;
            s++;
        } else if (*p == '*') {
            star = p++;
            ss = s;
        } else if (star) {
            p = star + 1;
            s = ++ss;
        } else {
            return 0;
        }
    }
    while (*p == '*')
        p++;
    return *p == '\0';
}

static int
hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* 64 hex digits or base64 of 32 bytes. */
int
es_decode_key(const char *text, unsigned char key[32])
{
    size_t n = strlen(text), i;

    if (n == 64) {
        for (i = 0; i < 32; i++) {
            int hi = hexval((unsigned char)text[2 * i]), lo = hexval((unsigned char)text[2 * i + 1]);

            if (hi < 0 || lo < 0)
                break;
            key[i] = (unsigned char)(hi * 16 + lo);
        }
        if (i == 32)
            return 0;
    }
    if (n == 44) {
        unsigned char out[48];
        int got = EVP_DecodeBlock(out, (const unsigned char *)text, 44);

        /* 44 chars with one '=' pad decode to 33 bytes minus the pad */
        if (got == 33 && text[43] == '=' && text[42] != '=') {
            memcpy(key, out, 32);
            OPENSSL_cleanse(out, sizeof out);
            return 0;
        }
        OPENSSL_cleanse(out, sizeof out);
    }
    return -1;
}
