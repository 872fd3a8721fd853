/*
 * util.h - small helpers shared by the core: parsing sizes and durations,
 * timestamps, allocation that cannot fail silently, secret files.
 */
#ifndef ES_UTIL_H
#define ES_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Allocation: abort with a message on out-of-memory (the only sane reaction
 * in a batch tool; memory use is bounded by configuration anyway). */
void *es_malloc(size_t n);
void *es_calloc(size_t n, size_t m);
void *es_realloc(void *p, size_t n);
char *es_strdup(const char *s);
char *es_strndup(const char *s, size_t n);
char *es_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* "16M", "1G", "512k", "4096" -> bytes (binary multiples). 0 ok, -1 bad. */
int es_parse_size(const char *s, int64_t *out);
/* "250ms", "5s", "10m", "2h", "1d", "30" (seconds) -> milliseconds. */
int es_parse_duration(const char *s, int64_t *out_ms);
/* Human formats into caller's buffer. */
const char *es_fmt_bytes(uint64_t n, char *buf, size_t len);
const char *es_fmt_duration(int64_t ms, char *buf, size_t len);

/* Monotonic milliseconds. */
int64_t es_now_ms(void);
/* The CLOCK_REALTIME instant ms from now, for pthread_cond_timedwait. */
void es_abstime_in(int64_t ms, struct timespec *ts);
/* UTC timestamp for stored keys: "20261125T031500Z". */
void es_timestamp(time_t t, char out[17]);
/* Parse such a timestamp; 0 ok, -1 bad. */
int es_parse_timestamp(const char *s, time_t *out);
/* ISO 8601 UTC "2026-11-25T03:15:00Z" (for logs, JSON). */
void es_iso8601(time_t t, char out[21]);

/* Read a whole small file (secret, rules) up to max bytes; strips one
 * trailing newline if strip_nl.  Returns malloc'd text or NULL with errno. */
char *es_read_file(const char *path, size_t max, int strip_nl, size_t *len);

/* An AES-256 key written as 64 hex digits or 44 base64 characters.
 * 0 ok, -1 not a 32-byte key. */
int es_decode_key(const char *text, unsigned char key[32]);

/* Simple glob match supporting '*' and '?' (no classes). */
int es_glob_match(const char *pattern, const char *s);

#endif
