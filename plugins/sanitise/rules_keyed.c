/*
 * rules_keyed.c - rules derived from HMAC-SHA256(key, value): hash, email,
 * name, phone, ip.
 *
 * The key is set once per run (sr_env_init); each value costs one HMAC.
 * An empty key is allowed here (unit tests); the plugin refuses keyed
 * rules without a key before anything runs.
 * Every rule except `hash` prefixes the value with a tag ("email\0",
 * "name\0", ...) so that knowing one rule's output tells nothing about
 * another's; `hash` hashes the bare value so the same column hashed in two
 * tables joins.
 */
#include "rules.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The one-shot EVP_MAC interface costs a context copy, a cleanse and an
 * allocation per value; with precomputed inner and outer SHA-256 states
 * (RFC 2104) an HMAC of a short value is two compression calls and two
 * struct copies.  SHA256_* are deprecated in OpenSSL 3 but remain the
 * supported low-level interface to the same (SHA-NI accelerated) code. */
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include <openssl/sha.h>

typedef struct hmac_pre {
    SHA256_CTX inner, outer;
} hmac_pre;

int
sr_env_init(sr_env *env, const unsigned char *key, size_t keylen,
            double now, char *err, size_t errlen)
{
    hmac_pre *h;
    unsigned char k0[64], pad[64];
    size_t i;

    memset(env, 0, sizeof(*env));
    env->key = key;
    env->keylen = keylen;
    env->now = now;
    es_buf_init(&env->tmp, 0);
    es_buf_init(&env->tmp2, 0);
    h = calloc(1, sizeof(*h));
    if (!h) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    memset(k0, 0, sizeof(k0));
    if (key && keylen > 64)
        SHA256(key, keylen, k0);
    else if (key && keylen)
        memcpy(k0, key, keylen);
    for (i = 0; i < 64; i++)
        pad[i] = k0[i] ^ 0x36;
    if (!SHA256_Init(&h->inner) || !SHA256_Update(&h->inner, pad, 64)) {
        free(h);
        snprintf(err, errlen, "OpenSSL: SHA-256 init failed");
        return -1;
    }
    for (i = 0; i < 64; i++)
        pad[i] = k0[i] ^ 0x5c;
    SHA256_Init(&h->outer);
    SHA256_Update(&h->outer, pad, 64);
    memset(k0, 0, sizeof(k0));
    memset(pad, 0, sizeof(pad));
    env->mac = h;
    return 0;
}

void
sr_env_free(sr_env *env)
{
    if (env->mac) {
        memset(env->mac, 0, sizeof(hmac_pre));
        free(env->mac);
    }
    es_buf_free(&env->tmp);
    es_buf_free(&env->tmp2);
    env->mac = NULL;
}

void
sr_hmac(sr_env *env, const char *tag, const void *p, size_t len, unsigned char out[32])
{
    const hmac_pre *h = env->mac;
    SHA256_CTX c = h->inner;
    unsigned char ih[32];

    if (tag)
        SHA256_Update(&c, tag, strlen(tag) + 1);
    SHA256_Update(&c, p, len);
    SHA256_Final(ih, &c);
    c = h->outer;
    SHA256_Update(&c, ih, 32);
    SHA256_Final(out, &c);
}

static const char hexd[] = "0123456789abcdef";
static const char b32[] = "abcdefghijklmnopqrstuvwxyz234567";

int
sr_rule_hash(sr_env *env, const sr_rule *r, const char *in, size_t len, es_buf *dst)
{
    unsigned char h[32];
    char o[64];
    size_t n = 0, i;

    sr_hmac(env, NULL, in, len, h);
    switch (r->enc) {
    case SR_ENC_BASE32: {
        unsigned acc = 0;
        int bits = 0;

        for (i = 0; i < 32; i++) {
            acc = (acc << 8) | h[i];
            bits += 8;
            while (bits >= 5) {
                o[n++] = b32[(acc >> (bits - 5)) & 31];
                bits -= 5;
            }
        }
        if (bits > 0)
            o[n++] = b32[(acc << (5 - bits)) & 31];
        break;
    }
    case SR_ENC_DECIMAL: {
        uint64_t v = 0, mod = 1;
        int len10 = r->length ? r->length : 18, k;

        for (i = 0; i < 8; i++)
            v = (v << 8) | h[i];
        for (k = 0; k < len10; k++)
            mod *= 10;
        v %= mod;
        if (v == 0)
            v = 1;
        n = (size_t)snprintf(o, sizeof(o), "%llu", (unsigned long long)v);
        return es_buf_append(dst, o, n);
    }
    default:
        for (i = 0; i < 32; i++) {
            o[n++] = hexd[h[i] >> 4];
            o[n++] = hexd[h[i] & 15];
        }
        break;
    }
    if (r->length && (size_t)r->length < n)
        n = (size_t)r->length;
    return es_buf_append(dst, o, n);
}

/* anon-<16 hex>@domain: 64 bits, so distinct inputs stay distinct in any
 * realistic table (a collision needs ~4 billion addresses). */
static int
email_of(sr_env *env, const char *domain, const char *in, size_t len, es_buf *dst)
{
    unsigned char h[32];
    char o[21 + 1];
    size_t i;

    sr_hmac(env, "email", in, len, h);
    memcpy(o, "anon-", 5);
    for (i = 0; i < 8; i++) {
        o[5 + 2 * i] = hexd[h[i] >> 4];
        o[6 + 2 * i] = hexd[h[i] & 15];
    }
    o[21] = '@';
    if (es_buf_append(dst, o, 22) < 0)
        return -1;
    return es_buf_puts(dst, domain ? domain : "example.invalid");
}

int
sr_rule_email(sr_env *env, const sr_rule *r, const char *in, size_t len, es_buf *dst)
{
    return email_of(env, r->domain, in, len, dst);
}

static const char *const first_names[] = {
    "Alex", "Sam", "Jordan", "Taylor", "Morgan", "Casey", "Riley", "Jamie",
    "Robin", "Charlie", "Avery", "Quinn", "Harper", "Rowan", "Emery", "Finley",
    "Ada", "Alan", "Grace", "Edsger", "Barbara", "Donald", "Frances", "Niklaus",
    "Margaret", "Dennis", "Radia", "Ken", "Hedy", "Tim", "Karen", "John",
    "Mary", "Peter", "Anna", "David", "Sofia", "Omar", "Priya", "Chen",
    "Fatima", "Lucas", "Amara", "Mateo", "Yuki", "Ines", "Kofi", "Elena",
    "Noah", "Leah", "Ivan", "Zara", "Ravi", "Mei", "Tomas", "Nadia",
    "Oscar", "Lina", "Hugo", "Maya", "Felix", "Iris", "Arlo", "Nora"
};
static const char *const last_names[] = {
    "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies",
    "Robinson", "Wright", "Thompson", "Evans", "Walker", "White", "Roberts", "Green",
    "Hall", "Wood", "Jackson", "Clarke", "Patel", "Khan", "Lewis", "James",
    "Phillips", "Mason", "Mitchell", "Rose", "Davis", "Rodriguez", "Cox", "Alexander",
    "Lovelace", "Turing", "Hopper", "Dijkstra", "Liskov", "Knuth", "Allen", "Wirth",
    "Hamilton", "Ritchie", "Perlman", "Thompson", "Lamarr", "Berners", "Sparck", "McCarthy",
    "Okafor", "Nguyen", "Kowalski", "Silva", "Haddad", "Tanaka", "Novak", "Costa",
    "Fischer", "Moreau", "Rossi", "Larsen", "Ivanova", "Murphy", "Kelly", "Byrne"
};

int
sr_rule_name(sr_env *env, const sr_rule *r, const char *in, size_t len, es_buf *dst)
{
    unsigned char h[32];
    const char *f, *l;

    sr_hmac(env, "name", in, len, h);
    f = first_names[((unsigned)h[0] << 8 | h[1]) % (sizeof(first_names) / sizeof(first_names[0]))];
    l = last_names[((unsigned)h[2] << 8 | h[3]) % (sizeof(last_names) / sizeof(last_names[0]))];
    switch (r->part) {
    case SR_PART_FIRST:
        return es_buf_puts(dst, f);
    case SR_PART_LAST:
        return es_buf_puts(dst, l);
    default:
        return es_buf_printf(dst, "%s %s", f, l);
    }
}

/* Formatting (spaces, dashes, parentheses, a leading +) is kept; every
 * digit is replaced by one derived from the HMAC, so the length and shape
 * survive validation in the application. */
int
sr_rule_phone(sr_env *env, const sr_rule *r, const char *in, size_t len, es_buf *dst)
{
    unsigned char h[32];
    size_t i, d = 0, ndig = 0;

    (void)r;
    sr_hmac(env, "phone", in, len, h);
    for (i = 0; i < len; i++)
        ndig += in[i] >= '0' && in[i] <= '9';
    if (ndig == 0) {
        /* not a phone number at all: a made-up 11-digit one */
        for (i = 0; i < 11; i++)
            if (es_buf_putc(dst, (char)('0' + h[i] % 10)) < 0)
                return -1;
        return 0;
    }
    if (es_buf_reserve(dst, len) < 0)
        return -1;
    for (i = 0; i < len; i++) {
        char c = in[i];

        if (c >= '0' && c <= '9') {
            if (d > 0 && d % 32 == 0)          /* very long: rehash */
                sr_hmac(env, "phone", h, 32, h);
            c = (char)('0' + h[d % 32] % 10);
            d++;
        }
        dst->data[dst->len++] = c;
    }
    dst->data[dst->len] = '\0';
    return 0;
}

/* IPv4 -> 10.x.y.z, IPv6 -> fdxx:...; a /prefix suffix is kept and the
 * host bits below it cleared, so `cidr` columns still accept the value. */
int
sr_rule_ip(sr_env *env, const sr_rule *r, const char *in, size_t len, es_buf *dst)
{
    unsigned char h[32], a[16];
    char tmp[64], o[INET6_ADDRSTRLEN];
    const char *slash;
    long prefix = -1;
    int v6 = 0, i;

    (void)r;
    sr_hmac(env, "ip", in, len, h);
    slash = memchr(in, '/', len);
    if (slash && (size_t)(slash - in) < sizeof(tmp)) {
        char *end;
        char pb[8];
        size_t pl = len - (size_t)(slash - in) - 1;

        if (pl > 0 && pl < sizeof(pb)) {
            memcpy(pb, slash + 1, pl);
            pb[pl] = '\0';
            prefix = strtol(pb, &end, 10);
            if (*end || prefix < 0 || prefix > 128)
                prefix = -1;
        }
        len = (size_t)(slash - in);
    }
    if (len < sizeof(tmp)) {
        memcpy(tmp, in, len);
        tmp[len] = '\0';
        if (strchr(tmp, ':') && inet_pton(AF_INET6, tmp, a) == 1)
            v6 = 1;
    }
    if (v6) {
        a[0] = 0xfd;
        memcpy(a + 1, h, 15);
        if (prefix >= 0) {
            for (i = 0; i < 16; i++) {
                int keep = (int)prefix - i * 8;

                if (keep <= 0)
                    a[i] = 0;
                else if (keep < 8)
                    a[i] &= (unsigned char)(0xff << (8 - keep));
            }
        }
        inet_ntop(AF_INET6, a, o, sizeof(o));
    } else {
        if (prefix > 32)
            prefix = -1;
        a[0] = 10;
        memcpy(a + 1, h, 3);
        if (prefix >= 0) {
            for (i = 0; i < 4; i++) {
                int keep = (int)prefix - i * 8;

                if (keep <= 0)
                    a[i] = 0;
                else if (keep < 8)
                    a[i] &= (unsigned char)(0xff << (8 - keep));
            }
        }
        snprintf(o, sizeof(o), "%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
    }
    if (es_buf_puts(dst, o) < 0)
        return -1;
    if (prefix >= 0)
        return es_buf_printf(dst, "/%ld", prefix);
    return 0;
}

int
sr_rule_replace_emails(sr_env *env, const sr_rule *r, const char *in, size_t len, es_buf *dst)
{
    const char *p = in, *end = in + len, *a;
    size_t alen;

    while ((a = sr_find_email(p, end, &alen)) != NULL) {
        const char *at = memchr(a, '@', alen);

        if (es_buf_append(dst, p, (size_t)(a - p)) < 0)
            return -1;
        if (sr_reserved_domain(at + 1, alen - (size_t)(at + 1 - a))) {
            if (es_buf_append(dst, a, alen) < 0)
                return -1;
        } else if (email_of(env, r->domain, a, alen, dst) < 0) {
            return -1;
        }
        p = a + alen;
    }
    return es_buf_append(dst, p, (size_t)(end - p));
}
