/*
 * sigv4.h - AWS Signature Version 4, computed by hand with OpenSSL.
 *
 * Pure functions: no I/O, no global state, no clock (the caller passes the
 * signing time), so every step is unit-tested against AWS's published
 * vectors (plugins/s3/tests/test_sigv4.c).
 *
 * Encoding rules (the part that breaks signers):
 * - Paths are given as they go on the wire, as raw bytes.  The canonical
 *   URI encodes every byte outside the RFC 3986 unreserved set
 *   (A-Z a-z 0-9 - . _ ~) once, keeping '/'.  S3 wants exactly that (no
 *   normalisation, no double encoding): build the request URL with
 *   es_sigv4_uri_encode(..., keep_slash=1) over the raw key and sign the
 *   raw key.  Other services also want "." / ".." / "//" normalised:
 *   set `normalize_path`.
 * - The query string is split on '&' and '=', each part percent-decoded
 *   and re-encoded with the unreserved set, then sorted by key, then value
 *   (byte order).  So an already-encoded query canonicalises to itself.
 * - Header names are lowercased, values trimmed with inner runs of spaces
 *   collapsed; repeated names are joined with ',' in the given order.
 *
 * Memory: results are written into caller-owned es_buf's (lib/buf.h).
 */
#ifndef ES_SIGV4_H
#define ES_SIGV4_H

#include <stddef.h>
#include <time.h>

#include "buf.h"

#define ES_SHA256_HEX_LEN 64
#define ES_SIGV4_EMPTY_SHA256 \
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define ES_SIGV4_UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"

typedef struct es_sigv4_header {
    const char *name;    /* any case */
    const char *value;   /* untrimmed is fine */
} es_sigv4_header;

typedef struct es_sigv4_request {
    const char *method;          /* "GET" */
    const char *path;            /* wire path, raw bytes: "/bucket/a b.txt" */
    const char *query;           /* wire query without '?', or NULL / "" */
    const es_sigv4_header *headers; /* headers to sign; must include host
                                     * and x-amz-date (see es_sigv4_sign) */
    size_t nheaders;
    const char *payload_hash;    /* hex SHA-256 of the body, or
                                  * UNSIGNED-PAYLOAD; NULL = empty body */
    const char *region;          /* "us-east-1" */
    const char *service;         /* "s3" */
    time_t when;                 /* signing time (UTC seconds) */
    const char *access_key;
    const char *secret_key;
    int normalize_path;          /* non-S3 services: remove . .. // */
} es_sigv4_request;

/* What es_sigv4_sign computed; each buffer may be NULL if not wanted.
 * `authorization` receives the full header value
 * "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...". */
typedef struct es_sigv4_result {
    es_buf *canonical_request;
    es_buf *string_to_sign;
    es_buf *authorization;
    char signature[ES_SHA256_HEX_LEN + 1];
} es_sigv4_result;

/* Hex SHA-256 of a buffer into out[65]. */
void es_sha256_hex(const void *data, size_t len, char out[ES_SHA256_HEX_LEN + 1]);
/* Raw SHA-256 / MD5 digests. */
void es_sha256(const void *data, size_t len, unsigned char out[32]);
void es_md5(const void *data, size_t len, unsigned char out[16]);
/* HMAC-SHA256 into out[32]. */
void es_hmac_sha256(const void *key, size_t keylen, const void *msg,
                    size_t msglen, unsigned char out[32]);
/* Lowercase hex of n bytes into out (2n+1 bytes). */
void es_hex(const unsigned char *in, size_t n, char *out);
/* Standard base64 (with padding) of n bytes into out (4*ceil(n/3)+1). */
void es_base64(const unsigned char *in, size_t n, char *out);

/* "20150830T123600Z" (x-amz-date) into out[17]; date part is the first 8. */
void es_sigv4_amz_date(time_t when, char out[17]);

/* Append s[0..n) percent-encoded (unreserved set kept, uppercase hex);
 * keep_slash keeps '/' (paths).  Returns 0, or -1 if `out` is full. */
int es_sigv4_uri_encode(es_buf *out, const char *s, size_t n, int keep_slash);

/* Canonical pieces, appended to `out`; 0 or -1 (buffer limit, bad input). */
int es_sigv4_canonical_uri(es_buf *out, const char *path, int normalize);
int es_sigv4_canonical_query(es_buf *out, const char *query);

/* Sign.  Returns 0, or -1 on a missing field or allocation failure. */
int es_sigv4_sign(const es_sigv4_request *req, es_sigv4_result *res);

#endif
