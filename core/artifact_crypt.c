/*
 * artifact_crypt.c - AES-256-GCM framing (see artifact_crypt.h).
 */
#include "artifact_crypt.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#define NONCE_PREFIX_LEN 8
#define AAD_PREFIX_LEN 9        /* u64 frame index, u8 final flag */

static void
seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
seterr(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (!err || !errlen)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static void
put_be(unsigned char *p, uint64_t v, int n)
{
    int i;

    for (i = n - 1; i >= 0; i--) {
        p[i] = (unsigned char)(v & 0xff);
        v >>= 8;
    }
}

static uint64_t
get_be(const unsigned char *p, int n)
{
    uint64_t v = 0;
    int i;

    for (i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

int
es_crypt_is_magic(const void *p, size_t len)
{
    return len >= ES_CRYPT_MAGIC_LEN && memcmp(p, ES_CRYPT_MAGIC, ES_CRYPT_MAGIC_LEN) == 0;
}

/* One AES-256-GCM operation over a whole frame.  enc: 1 encrypt (tag
 * written), 0 decrypt (tag checked).  Returns 0, or -1 on failure
 * (authentication failure when decrypting). */
static int
gcm_frame(EVP_CIPHER_CTX *ctx, int enc, const unsigned char *key,
          const unsigned char *prefix, uint32_t idx, int final,
          const unsigned char *hdr, size_t hdrlen,
          const unsigned char *in, size_t len, unsigned char *out,
          unsigned char *tag)
{
    unsigned char nonce[12], aad[AAD_PREFIX_LEN];
    int n, ok = 0;

    memcpy(nonce, prefix, NONCE_PREFIX_LEN);
    put_be(nonce + NONCE_PREFIX_LEN, idx, 4);
    put_be(aad, idx, 8);
    aad[8] = final ? 1 : 0;
    if (len > (size_t)0x7fffffff)
        return -1;
    if (!EVP_CIPHER_CTX_reset(ctx))
        return -1;
    if (!EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL, enc))
        goto done;
    if (!EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, 12, NULL))
        goto done;
    if (!EVP_CipherInit_ex(ctx, NULL, NULL, key, nonce, enc))
        goto done;
    if (!EVP_CipherUpdate(ctx, NULL, &n, aad, sizeof aad))
        goto done;
    if (!EVP_CipherUpdate(ctx, NULL, &n, hdr, (int)hdrlen))
        goto done;
    if (len && !EVP_CipherUpdate(ctx, out, &n, in, (int)len))
        goto done;
    if (!enc && !EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, ES_CRYPT_TAG_LEN, tag))
        goto done;
    if (!EVP_CipherFinal_ex(ctx, out + len, &n))
        goto done;
    if (enc && !EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, ES_CRYPT_TAG_LEN, tag))
        goto done;
    ok = 1;
done:
    return ok ? 0 : -1;
}

/* ================================================================ encrypt */
struct es_crypt_enc {
    unsigned char key[ES_CRYPT_KEY_LEN];
    unsigned char prefix[NONCE_PREFIX_LEN];
    unsigned char *hdr;
    size_t hdrlen;
    size_t frame;
    unsigned char *pt;          /* frame plaintext being filled */
    size_t ptlen;
    unsigned char *fb;          /* u32 length, ciphertext, tag */
    uint64_t idx;
    int finished;
    EVP_CIPHER_CTX *ctx;
    es_write_fn out;
    void *arg;
};

envsync_status
es_crypt_enc_new(es_crypt_enc **cp, const unsigned char *key, const char *key_id,
                 size_t frame_size, es_write_fn out, void *arg,
                 char *err, size_t errlen)
{
    es_crypt_enc *c;
    size_t idlen = key_id ? strlen(key_id) : 0;
    envsync_status st;
    unsigned char *p;

    *cp = NULL;
    if (!key) {
        seterr(err, errlen, "encryption: no key");
        return ENVSYNC_ERR_CONFIG;
    }
    if (idlen > ES_CRYPT_KEYID_MAX) {
        seterr(err, errlen, "encryption: key id longer than %d bytes", ES_CRYPT_KEYID_MAX);
        return ENVSYNC_ERR_CONFIG;
    }
    if (!frame_size)
        frame_size = ES_CRYPT_FRAME_DEFAULT;
    if (frame_size > ES_CRYPT_FRAME_MAX) {
        seterr(err, errlen, "encryption: frame size %zu too large", frame_size);
        return ENVSYNC_ERR_CONFIG;
    }
    c = calloc(1, sizeof *c);
    if (!c)
        goto nomem;
    c->frame = frame_size;
    c->out = out;
    c->arg = arg;
    memcpy(c->key, key, ES_CRYPT_KEY_LEN);
    c->hdrlen = ES_CRYPT_MAGIC_LEN + 2 + idlen + 4 + NONCE_PREFIX_LEN;
    c->hdr = malloc(c->hdrlen);
    c->pt = malloc(frame_size);
    c->fb = malloc(4 + frame_size + ES_CRYPT_TAG_LEN);
    c->ctx = EVP_CIPHER_CTX_new();
    if (!c->hdr || !c->pt || !c->fb || !c->ctx)
        goto nomem;
    if (RAND_bytes(c->prefix, NONCE_PREFIX_LEN) != 1) {
        es_crypt_enc_free(c);
        seterr(err, errlen, "encryption: no random bytes for the nonce");
        return ENVSYNC_ERR_OTHER;
    }
    p = c->hdr;
    memcpy(p, ES_CRYPT_MAGIC, ES_CRYPT_MAGIC_LEN);
    p += ES_CRYPT_MAGIC_LEN;
    put_be(p, idlen, 2);
    p += 2;
    if (idlen)
        memcpy(p, key_id, idlen);
    p += idlen;
    put_be(p, frame_size, 4);
    p += 4;
    memcpy(p, c->prefix, NONCE_PREFIX_LEN);
    st = out(arg, c->hdr, c->hdrlen);
    if (st != ENVSYNC_OK) {
        es_crypt_enc_free(c);
        seterr(err, errlen, "writing the artifact failed");
        return st;
    }
    *cp = c;
    return ENVSYNC_OK;
nomem:
    es_crypt_enc_free(c);
    seterr(err, errlen, "encryption: out of memory");
    return ENVSYNC_ERR_OTHER;
}

static envsync_status
enc_emit(es_crypt_enc *c, int final, char *err, size_t errlen)
{
    envsync_status st;

    if (c->idx > UINT32_MAX) {
        seterr(err, errlen, "encryption: too many frames");
        return ENVSYNC_ERR_OTHER;
    }
    put_be(c->fb, c->ptlen, 4);
    if (gcm_frame(c->ctx, 1, c->key, c->prefix, (uint32_t)c->idx, final,
                  c->hdr, c->hdrlen, c->pt, c->ptlen, c->fb + 4,
                  c->fb + 4 + c->ptlen) < 0) {
        seterr(err, errlen, "encryption failed (OpenSSL)");
        return ENVSYNC_ERR_OTHER;
    }
    st = c->out(c->arg, c->fb, 4 + c->ptlen + ES_CRYPT_TAG_LEN);
    if (st != ENVSYNC_OK) {
        seterr(err, errlen, "writing the artifact failed");
        return st;
    }
    c->idx++;
    c->ptlen = 0;
    return ENVSYNC_OK;
}

envsync_status
es_crypt_enc_write(es_crypt_enc *c, const void *data, size_t len,
                   char *err, size_t errlen)
{
    const unsigned char *p = data;
    envsync_status st;

    if (c->finished) {
        seterr(err, errlen, "encryption: write after finish");
        return ENVSYNC_ERR_OTHER;
    }
    while (len) {
        size_t n;

        /* A full frame is emitted only once more data follows, so the
         * final frame is always the one emitted by finish. */
        if (c->ptlen == c->frame) {
            st = enc_emit(c, 0, err, errlen);
            if (st != ENVSYNC_OK)
                return st;
        }
        n = c->frame - c->ptlen;
        if (n > len)
            n = len;
        memcpy(c->pt + c->ptlen, p, n);
        c->ptlen += n;
        p += n;
        len -= n;
    }
    return ENVSYNC_OK;
}

envsync_status
es_crypt_enc_finish(es_crypt_enc *c, char *err, size_t errlen)
{
    envsync_status st;

    if (c->finished) {
        seterr(err, errlen, "encryption: finished twice");
        return ENVSYNC_ERR_OTHER;
    }
    st = enc_emit(c, 1, err, errlen);
    c->finished = 1;
    return st;
}

void
es_crypt_enc_free(es_crypt_enc *c)
{
    if (!c)
        return;
    OPENSSL_cleanse(c->key, sizeof c->key);
    if (c->pt)
        OPENSSL_cleanse(c->pt, c->frame);
    EVP_CIPHER_CTX_free(c->ctx);
    free(c->hdr);
    free(c->pt);
    free(c->fb);
    free(c);
}

/* ================================================================ decrypt */
struct es_crypt_dec {
    unsigned char key[ES_CRYPT_KEY_LEN];
    int have_key;
    unsigned char prefix[NONCE_PREFIX_LEN];
    unsigned char *hdr;
    size_t hdrlen;
    char *key_id;
    size_t frame;
    unsigned char *ct;          /* ciphertext + tag of the current frame */
    unsigned char *pt;
    size_t ptlen, ptpos;
    uint64_t idx;
    int final_seen;             /* final frame authenticated */
    int la_have;                /* look-ahead byte pending */
    unsigned char la;
    envsync_status failed;
    EVP_CIPHER_CTX *ctx;
    es_read_fn in;
    void *arg;
    char err[ES_ERRLEN];
};

/* Reads exactly n bytes unless the input ends; *got tells how many. */
static envsync_status
read_full(es_crypt_dec *d, unsigned char *buf, size_t n, size_t *got)
{
    size_t have = 0;

    if (n && d->la_have) {
        buf[0] = d->la;
        d->la_have = 0;
        have = 1;
    }
    while (have < n) {
        size_t g = 0;
        envsync_status st = d->in(d->arg, buf + have, n - have, &g);

        if (st != ENVSYNC_OK) {
            snprintf(d->err, sizeof d->err, "reading the artifact failed");
            return st;
        }
        if (g == 0)
            break;
        if (g > n - have) {
            snprintf(d->err, sizeof d->err, "reader returned more bytes than asked");
            return ENVSYNC_ERR_OTHER;
        }
        have += g;
    }
    *got = have;
    return ENVSYNC_OK;
}

static envsync_status
dec_fail(es_crypt_dec *d, envsync_status st, const char *msg)
{
    if (msg)
        snprintf(d->err, sizeof d->err, "%s", msg);
    d->failed = st;
    return st;
}

envsync_status
es_crypt_dec_new(es_crypt_dec **dp, es_read_fn in, void *arg,
                 char *err, size_t errlen)
{
    es_crypt_dec *d;
    unsigned char fixed[ES_CRYPT_MAGIC_LEN + 2], tail[4 + NONCE_PREFIX_LEN];
    size_t idlen, got;
    envsync_status st;
    uint64_t frame;

    *dp = NULL;
    d = calloc(1, sizeof *d);
    if (!d || !(d->ctx = EVP_CIPHER_CTX_new())) {
        free(d);
        seterr(err, errlen, "decryption: out of memory");
        return ENVSYNC_ERR_OTHER;
    }
    d->in = in;
    d->arg = arg;
    st = read_full(d, fixed, sizeof fixed, &got);
    if (st != ENVSYNC_OK)
        goto fail;
    if (got < sizeof fixed || !es_crypt_is_magic(fixed, got)) {
        snprintf(d->err, sizeof d->err, "encrypted artifact: truncated or bad header");
        st = ENVSYNC_ERR_INTEGRITY;
        goto fail;
    }
    idlen = (size_t)get_be(fixed + ES_CRYPT_MAGIC_LEN, 2);
    if (idlen > ES_CRYPT_KEYID_MAX) {
        snprintf(d->err, sizeof d->err, "encrypted artifact: key id too long (%zu bytes)", idlen);
        st = ENVSYNC_ERR_INTEGRITY;
        goto fail;
    }
    d->hdrlen = sizeof fixed + idlen + sizeof tail;
    d->hdr = malloc(d->hdrlen);
    d->key_id = malloc(idlen + 1);
    if (!d->hdr || !d->key_id) {
        snprintf(d->err, sizeof d->err, "decryption: out of memory");
        st = ENVSYNC_ERR_OTHER;
        goto fail;
    }
    memcpy(d->hdr, fixed, sizeof fixed);
    st = read_full(d, d->hdr + sizeof fixed, idlen + sizeof tail, &got);
    if (st != ENVSYNC_OK)
        goto fail;
    if (got < idlen + sizeof tail) {
        snprintf(d->err, sizeof d->err, "encrypted artifact: truncated header");
        st = ENVSYNC_ERR_INTEGRITY;
        goto fail;
    }
    memcpy(d->key_id, d->hdr + sizeof fixed, idlen);
    d->key_id[idlen] = '\0';
    if (memchr(d->key_id, '\0', idlen)) {
        snprintf(d->err, sizeof d->err, "encrypted artifact: bad key id");
        st = ENVSYNC_ERR_INTEGRITY;
        goto fail;
    }
    memcpy(tail, d->hdr + sizeof fixed + idlen, sizeof tail);
    frame = get_be(tail, 4);
    if (frame == 0 || frame > ES_CRYPT_FRAME_MAX) {
        snprintf(d->err, sizeof d->err, "encrypted artifact: bad frame size %llu",
                 (unsigned long long)frame);
        st = ENVSYNC_ERR_INTEGRITY;
        goto fail;
    }
    d->frame = (size_t)frame;
    memcpy(d->prefix, tail + 4, NONCE_PREFIX_LEN);
    d->ct = malloc(d->frame + ES_CRYPT_TAG_LEN);
    d->pt = malloc(d->frame + 16);
    if (!d->ct || !d->pt) {
        snprintf(d->err, sizeof d->err, "decryption: out of memory");
        st = ENVSYNC_ERR_OTHER;
        goto fail;
    }
    *dp = d;
    return ENVSYNC_OK;
fail:
    seterr(err, errlen, "%s", d->err);
    es_crypt_dec_free(d);
    return st;
}

const char *
es_crypt_dec_key_id(const es_crypt_dec *d)
{
    return d->key_id;
}

void
es_crypt_dec_set_key(es_crypt_dec *d, const unsigned char *key)
{
    memcpy(d->key, key, ES_CRYPT_KEY_LEN);
    d->have_key = 1;
}

const char *
es_crypt_dec_error(const es_crypt_dec *d)
{
    return d->err;
}

static envsync_status
dec_next_frame(es_crypt_dec *d)
{
    unsigned char lenb[4];
    size_t got, len;
    envsync_status st;
    int final;

    st = read_full(d, lenb, 4, &got);
    if (st != ENVSYNC_OK)
        return dec_fail(d, st, NULL);
    if (got < 4)
        return dec_fail(d, ENVSYNC_ERR_INTEGRITY,
                        "decryption failed: wrong key or tampered data (stream truncated)");
    len = (size_t)get_be(lenb, 4);
    if (len > d->frame)
        return dec_fail(d, ENVSYNC_ERR_INTEGRITY,
                        "decryption failed: wrong key or tampered data (bad frame length)");
    st = read_full(d, d->ct, len + ES_CRYPT_TAG_LEN, &got);
    if (st != ENVSYNC_OK)
        return dec_fail(d, st, NULL);
    if (got < len + ES_CRYPT_TAG_LEN)
        return dec_fail(d, ENVSYNC_ERR_INTEGRITY,
                        "decryption failed: wrong key or tampered data (stream truncated)");
    /* look one byte ahead: the last frame is the one followed by nothing */
    st = read_full(d, &d->la, 1, &got);
    if (st != ENVSYNC_OK)
        return dec_fail(d, st, NULL);
    d->la_have = got == 1;
    final = !d->la_have;
    if (d->idx > UINT32_MAX)
        return dec_fail(d, ENVSYNC_ERR_INTEGRITY,
                        "decryption failed: too many frames");
    if (gcm_frame(d->ctx, 0, d->key, d->prefix, (uint32_t)d->idx, final,
                  d->hdr, d->hdrlen, d->ct, len, d->pt,
                  d->ct + len) < 0)
        return dec_fail(d, ENVSYNC_ERR_INTEGRITY,
                        "decryption failed: wrong key or tampered data");
    d->idx++;
    d->ptlen = len;
    d->ptpos = 0;
    d->final_seen = final;
    return ENVSYNC_OK;
}

envsync_status
es_crypt_dec_read(void *vd, void *buf, size_t cap, size_t *got)
{
    es_crypt_dec *d = vd;

    *got = 0;
    if (d->failed)
        return d->failed;
    if (!d->have_key)
        return dec_fail(d, ENVSYNC_ERR_CONFIG, "decryption: no key");
    while (d->ptpos == d->ptlen) {
        envsync_status st;

        if (d->final_seen)
            return ENVSYNC_OK;          /* end of stream */
        st = dec_next_frame(d);
        if (st != ENVSYNC_OK)
            return st;
    }
    if (cap > d->ptlen - d->ptpos)
        cap = d->ptlen - d->ptpos;
    memcpy(buf, d->pt + d->ptpos, cap);
    d->ptpos += cap;
    *got = cap;
    return ENVSYNC_OK;
}

void
es_crypt_dec_free(es_crypt_dec *d)
{
    if (!d)
        return;
    OPENSSL_cleanse(d->key, sizeof d->key);
    if (d->pt)
        OPENSSL_cleanse(d->pt, d->frame);
    EVP_CIPHER_CTX_free(d->ctx);
    free(d->hdr);
    free(d->key_id);
    free(d->ct);
    free(d->pt);
    free(d);
}
