/*
 * artifact_crypt.h - AES-256-GCM framing of an envsync artifact
 * (docs/artifact-format.md, "Encryption").
 *
 * Stream layout (all integers big-endian):
 *   header  magic "ENVSYNC\0AESGCM1\0" (16 bytes), u16 key-id length,
 *           key-id bytes, u32 frame size F (plaintext bytes per full frame),
 *           8-byte random nonce prefix
 *   frames  u32 ciphertext length L (<= F), L bytes ciphertext, 16-byte tag
 * Frame i (from 0) uses nonce = prefix || u32 i and AAD = u64 i || u8 final
 * || the whole stream header.  Every frame but the last carries exactly F
 * bytes; the last frame (final = 1, possibly empty) is followed by nothing.
 * A reader learns that a frame is the last one by looking one byte ahead:
 * truncation at a frame boundary, dropped, reordered or appended frames all
 * fail authentication.
 *
 * Messages never contain key material.
 */
#ifndef ES_ARTIFACT_CRYPT_H
#define ES_ARTIFACT_CRYPT_H

#include "artifact.h"

#define ES_CRYPT_MAGIC "ENVSYNC\0AESGCM1\0"
#define ES_CRYPT_MAGIC_LEN 16
#define ES_CRYPT_KEY_LEN 32
#define ES_CRYPT_TAG_LEN 16
#define ES_CRYPT_FRAME_DEFAULT ((size_t)1 << 20)
#define ES_CRYPT_FRAME_MAX ((size_t)16 << 20)   /* readers refuse larger */
#define ES_CRYPT_KEYID_MAX 1024                 /* bytes */

/* 1 if the first len bytes (len >= 16) start an encrypted stream. */
int es_crypt_is_magic(const void *p, size_t len);

/* ---------------------------------------------------------------- encrypt */
typedef struct es_crypt_enc es_crypt_enc;

/* Writes the stream header through out at once.  frame_size 0 = default. */
envsync_status es_crypt_enc_new(es_crypt_enc **c, const unsigned char *key,
                                const char *key_id, size_t frame_size,
                                es_write_fn out, void *arg,
                                char *err, size_t errlen);
envsync_status es_crypt_enc_write(es_crypt_enc *c, const void *data, size_t len,
                                  char *err, size_t errlen);
/* Emits the final frame.  No writes afterwards. */
envsync_status es_crypt_enc_finish(es_crypt_enc *c, char *err, size_t errlen);
void es_crypt_enc_free(es_crypt_enc *c);

/* ---------------------------------------------------------------- decrypt */
typedef struct es_crypt_dec es_crypt_dec;

/* Reads and checks the stream header from in (which must deliver the
 * stream from its first byte).  Bad header -> ENVSYNC_ERR_INTEGRITY. */
envsync_status es_crypt_dec_new(es_crypt_dec **d, es_read_fn in, void *arg,
                                char *err, size_t errlen);
/* The key id recorded in the stream ("" if none). */
const char *es_crypt_dec_key_id(const es_crypt_dec *d);
void es_crypt_dec_set_key(es_crypt_dec *d, const unsigned char *key);
/* es_read_fn-compatible: plaintext of authenticated frames only; *got = 0
 * once the final frame was verified and the input ended.  On failure the
 * message is in es_crypt_dec_error(). */
envsync_status es_crypt_dec_read(void *d, void *buf, size_t cap, size_t *got);
const char *es_crypt_dec_error(const es_crypt_dec *d);
void es_crypt_dec_free(es_crypt_dec *d);

#endif
