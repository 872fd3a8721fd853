/*
 * artifact.c - the envsync artifact, format v1 (see artifact.h and
 * docs/artifact-format.md).
 *
 * Writer (push): tar members (libarchive, pax) -> compression (zstd, gzip,
 * none; done here, not by libarchive) -> optional AES-256-GCM framing
 * (artifact_crypt.c) -> SHA-256 + byte count -> es_write_fn.
 *
 * Reader (pull): libarchive's read callback pulls from the decompressor,
 * which pulls from the decryptor (or the raw source), which pulls from
 * es_read_fn through SHA-256 + byte count.  Each layer owns one fixed
 * buffer; the only variable-size allocation is the current entry payload
 * (bounded by ES_ARTIFACT_MAX_ENTRY).
 *
 * Failures are sticky: once a writer or reader failed, every later call
 * returns the same status and message.
 */
#include "artifact.h"
#include "artifact_crypt.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <archive.h>
#include <archive_entry.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <zlib.h>
#include <zstd.h>

#define BUFSZ ((size_t)1 << 20)                 /* every filter buffer */
#define HEADER_MAX ((size_t)1 << 20)            /* envsync.json */
#define MANIFEST_MAX ((size_t)64 << 20)         /* manifest.json */
#define TAIL_KEEP 4096                          /* tar bytes kept across reads */
#define MAX_XATTRS 4096                         /* per member */
#define MEMBER_MODE 0644
#define ZSTD_WINDOWLOG_MAX_READ 27                /* 128 MiB: zstd's default limit */

#define KIND_HEADER "header"
#define KIND_MANIFEST "manifest"
#define XA_PREFIX "envsync."
#define XA_ATTR_PREFIX "envsync.attr."

static const char *const kind_names[] = {
    NULL, "schema", "data", "docs", "postload", "meta", "blob"
};
#define NKINDS ((int)(sizeof kind_names / sizeof kind_names[0]))

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

int
es_compression_from_name(const char *name)
{
    if (!name)
        return -1;
    if (!strcmp(name, "zstd"))
        return ES_COMP_ZSTD;
    if (!strcmp(name, "gzip"))
        return ES_COMP_GZIP;
    if (!strcmp(name, "none"))
        return ES_COMP_NONE;
    return -1;
}

const char *
es_compression_name(es_compression c)
{
    switch (c) {
    case ES_COMP_ZSTD: return "zstd";
    case ES_COMP_GZIP: return "gzip";
    case ES_COMP_NONE: return "none";
    }
    return "unknown";
}

static const char *
kind_name(int kind)
{
    return kind > 0 && kind < NKINDS ? kind_names[kind] : NULL;
}

static int
kind_from_name(const char *s)
{
    int k;

    for (k = 1; k < NKINDS; k++)
        if (!strcmp(s, kind_names[k]))
            return k;
    return 0;
}

static void
hex(const unsigned char *p, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    size_t i;

    for (i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = '\0';
}

/* ================================================================ objects
 * Per-(kind, schema, object) counts in first-seen order, with a small open
 * addressing index so a backup of many tables stays linear. */
typedef struct objrec {
    int kind;
    char *schema;               /* NULL allowed */
    char *object;
    uint64_t rows, chunks, bytes;
} objrec;

typedef struct objtab {
    objrec *v;
    size_t n, cap;
    size_t *slots;              /* index + 1; 0 = empty */
    size_t nslots;
} objtab;

static int
streq_null(const char *a, const char *b)
{
    if (!a || !b)
        return a == b;
    return strcmp(a, b) == 0;
}

static uint64_t
fnv(uint64_t h, const char *s)
{
    if (!s)
        return (h ^ 0xffu) * 1099511628211ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return (h ^ 0xfeu) * 1099511628211ull;
}

static size_t
obj_hash(int kind, const char *schema, const char *object)
{
    uint64_t h = 14695981039346656037ull;

    h = (h ^ (unsigned)kind) * 1099511628211ull;
    h = fnv(h, schema);
    h = fnv(h, object);
    return (size_t)h;
}

static int
objtab_rehash(objtab *t, size_t nslots)
{
    size_t *s = calloc(nslots, sizeof *s), i;

    if (!s)
        return -1;
    for (i = 0; i < t->n; i++) {
        size_t j = obj_hash(t->v[i].kind, t->v[i].schema, t->v[i].object) & (nslots - 1);

        while (s[j])
            j = (j + 1) & (nslots - 1);
        s[j] = i + 1;
    }
    free(t->slots);
    t->slots = s;
    t->nslots = nslots;
    return 0;
}

static char *
dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* Adds one chunk; 0 ok, -1 out of memory. */
static int
objtab_add(objtab *t, int kind, const char *schema, const char *object,
           uint64_t rows, uint64_t bytes)
{
    size_t j;
    objrec *o;

    if ((t->n + 1) * 2 > t->nslots &&
        objtab_rehash(t, t->nslots ? t->nslots * 2 : 64) < 0)
        return -1;
    j = obj_hash(kind, schema, object) & (t->nslots - 1);
    while (t->slots[j]) {
        o = &t->v[t->slots[j] - 1];
        if (o->kind == kind && streq_null(o->schema, schema) &&
            streq_null(o->object, object))
            goto found;
        j = (j + 1) & (t->nslots - 1);
    }
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 32;
        objrec *v = realloc(t->v, cap * sizeof *v);

        if (!v)
            return -1;
        t->v = v;
        t->cap = cap;
    }
    o = &t->v[t->n];
    memset(o, 0, sizeof *o);
    o->kind = kind;
    o->schema = dup_or_null(schema);
    o->object = dup_or_null(object);
    if ((schema && !o->schema) || (object && !o->object)) {
        free(o->schema);
        free(o->object);
        return -1;
    }
    t->slots[j] = ++t->n;
found:
    o->rows += rows;
    o->chunks++;
    o->bytes += bytes;
    return 0;
}

static void
objtab_free(objtab *t)
{
    size_t i;

    for (i = 0; i < t->n; i++) {
        free(t->v[i].schema);
        free(t->v[i].object);
    }
    free(t->v);
    free(t->slots);
    memset(t, 0, sizeof *t);
}

static const char *
obj_label(const objrec *o, char *buf, size_t len)
{
    snprintf(buf, len, "%s %s%s%s", kind_name(o->kind),
             o->schema ? o->schema : "", o->schema ? "." : "",
             o->object ? o->object : "-");
    return buf;
}

static json_t *
json_str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

static json_t *
format_json(void)
{
    return json_pack("{s:i,s:i}", "major", ES_ARTIFACT_FORMAT_MAJOR,
                     "minor", ES_ARTIFACT_FORMAT_MINOR);
}

/* Checks a "format" member of a header or manifest object. */
static envsync_status
check_format(json_t *obj, const char *what, char *err, size_t errlen)
{
    json_t *f = json_object_get(obj, "format");
    json_t *maj = json_object_get(f, "major"), *min = json_object_get(f, "minor");
    long long major, minor;

    if (!json_is_object(f) || !json_is_integer(maj)) {
        seterr(err, errlen, "artifact %s has no format version", what);
        return ENVSYNC_ERR_INTEGRITY;
    }
    major = json_integer_value(maj);
    minor = json_is_integer(min) ? json_integer_value(min) : 0;
    if (major > ES_ARTIFACT_FORMAT_MAJOR) {
        seterr(err, errlen, "artifact format %lld.%lld is newer than this envsync supports (%d.x)",
               major, minor, ES_ARTIFACT_FORMAT_MAJOR);
        return ENVSYNC_ERR_INTEGRITY;
    }
    if (major != ES_ARTIFACT_FORMAT_MAJOR) {
        seterr(err, errlen, "artifact format %lld.%lld is not supported by this envsync (%d.x)",
               major, minor, ES_ARTIFACT_FORMAT_MAJOR);
        return ENVSYNC_ERR_INTEGRITY;
    }
    return ENVSYNC_OK;
}

/* "2026-11-25T03:15:00Z" or seconds since the epoch. */
static int
parse_created(json_t *v, time_t *out)
{
    struct tm tm;
    char z = 0;

    if (json_is_integer(v) && json_integer_value(v) >= 0) {
        *out = (time_t)json_integer_value(v);
        return 0;
    }
    if (!json_is_string(v))
        return -1;
    memset(&tm, 0, sizeof tm);
    if (sscanf(json_string_value(v), "%4d-%2d-%2dT%2d:%2d:%2d%c", &tm.tm_year,
               &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &z) != 7 ||
        z != 'Z')
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    *out = timegm(&tm);
    return *out == (time_t)-1 ? -1 : 0;
}

/* ================================================================ writer */
struct es_artifact_writer {
    es_compression comp;
    es_write_fn out;
    void *arg;
    EVP_MD_CTX *sha;
    uint64_t stored;
    es_crypt_enc *enc;
    ZSTD_CCtx *zc;
    z_stream zs;
    int zs_init;
    unsigned char *cout;        /* compressed bytes waiting for the next layer */
    size_t coutlen;
    struct archive *ar;
    uint64_t tar_bytes;
    time_t mtime;
    json_t *encryption;         /* header/manifest "encryption" value */
    objtab objs;
    uint64_t entries, rows, members;
    int finished, closed, aborting;
    envsync_status st;          /* sticky failure */
    char err[ES_ERRLEN];
};

static envsync_status
w_fail(es_artifact_writer *w, envsync_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static envsync_status
w_fail(es_artifact_writer *w, envsync_status st, const char *fmt, ...)
{
    va_list ap;

    if (w->st != ENVSYNC_OK)
        return w->st;
    w->st = st;
    va_start(ap, fmt);
    vsnprintf(w->err, sizeof w->err, fmt, ap);
    va_end(ap);
    return st;
}

/* SHA-256 + count -> out */
static envsync_status
sink_write(void *vw, const void *p, size_t n)
{
    es_artifact_writer *w = vw;
    envsync_status st;

    if (w->st != ENVSYNC_OK)
        return w->st;
    if (!n)
        return ENVSYNC_OK;
    if (!EVP_DigestUpdate(w->sha, p, n))
        return w_fail(w, ENVSYNC_ERR_OTHER, "SHA-256 failed (OpenSSL)");
    w->stored += n;
    st = w->out(w->arg, p, n);
    if (st != ENVSYNC_OK)
        return w_fail(w, st, "writing the artifact failed");
    return ENVSYNC_OK;
}

/* compressed bytes -> encryption or sink */
static envsync_status
plain_write(es_artifact_writer *w, const void *p, size_t n)
{
    envsync_status st;
    char e[ES_ERRLEN];

    if (!w->enc)
        return sink_write(w, p, n);
    st = es_crypt_enc_write(w->enc, p, n, e, sizeof e);
    if (st != ENVSYNC_OK)
        return w_fail(w, st, "%s", e);
    return ENVSYNC_OK;
}

static envsync_status
cout_flush(es_artifact_writer *w)
{
    envsync_status st = ENVSYNC_OK;

    if (w->coutlen)
        st = plain_write(w, w->cout, w->coutlen);
    w->coutlen = 0;
    return st;
}

/* tar bytes -> compression; end = 1 flushes the codec's last frame */
static envsync_status
comp_write(es_artifact_writer *w, const void *p, size_t n, int end)
{
    envsync_status st;

    switch (w->comp) {
    case ES_COMP_NONE:
        while (n) {
            size_t k = BUFSZ - w->coutlen;

            if (k > n)
                k = n;
            memcpy(w->cout + w->coutlen, p, k);
            w->coutlen += k;
            p = (const char *)p + k;
            n -= k;
            if (w->coutlen == BUFSZ && (st = cout_flush(w)) != ENVSYNC_OK)
                return st;
        }
        return ENVSYNC_OK;
    case ES_COMP_ZSTD: {
        ZSTD_inBuffer in = { p, n, 0 };

        for (;;) {
            ZSTD_outBuffer o = { w->cout, BUFSZ, w->coutlen };
            size_t r = ZSTD_compressStream2(w->zc, &o, &in, end ? ZSTD_e_end : ZSTD_e_continue);

            w->coutlen = o.pos;
            if (ZSTD_isError(r))
                return w_fail(w, ENVSYNC_ERR_OTHER, "zstd: %s", ZSTD_getErrorName(r));
            if (w->coutlen == BUFSZ && (st = cout_flush(w)) != ENVSYNC_OK)
                return st;
            if (end ? r == 0 : in.pos == in.size)
                return ENVSYNC_OK;
        }
    }
    case ES_COMP_GZIP:
        for (;;) {
            size_t k = n > ((size_t)1 << 30) ? ((size_t)1 << 30) : n;
            int r;

            w->zs.next_in = (Bytef *)(uintptr_t)p;
            w->zs.avail_in = (uInt)k;
            w->zs.next_out = w->cout + w->coutlen;
            w->zs.avail_out = (uInt)(BUFSZ - w->coutlen);
            r = deflate(&w->zs, end && k == n ? Z_FINISH : Z_NO_FLUSH);
            w->coutlen = BUFSZ - w->zs.avail_out;
            p = (const char *)p + (k - w->zs.avail_in);
            n -= k - w->zs.avail_in;
            if (r == Z_STREAM_ERROR)
                return w_fail(w, ENVSYNC_ERR_OTHER, "gzip: deflate failed");
            if (w->coutlen == BUFSZ && (st = cout_flush(w)) != ENVSYNC_OK)
                return st;
            if (end ? r == Z_STREAM_END : n == 0)
                return ENVSYNC_OK;
        }
    }
    return w_fail(w, ENVSYNC_ERR_OTHER, "unknown compression");
}

static la_ssize_t
tar_write_cb(struct archive *a, void *arg, const void *buf, size_t n)
{
    es_artifact_writer *w = arg;

    if (w->aborting) {
        archive_set_error(a, EIO, "aborted");
        return -1;
    }
    if (w->st != ENVSYNC_OK || comp_write(w, buf, n, 0) != ENVSYNC_OK) {
        archive_set_error(a, EIO, "%s", w->err);
        return -1;
    }
    w->tar_bytes += n;
    return (la_ssize_t)n;
}

static envsync_status
w_tar_fail(es_artifact_writer *w, const char *what)
{
    if (w->st != ENVSYNC_OK)
        return w->st;
    return w_fail(w, ENVSYNC_ERR_OTHER, "tar: %s: %s", what,
                  archive_error_string(w->ar) ? archive_error_string(w->ar) : "failed");
}

/* One name component: [A-Za-z0-9._-], never empty, "." or "..". */
static void
name_part(char *dst, size_t cap, const char *s)
{
    size_t i, o = 0;

    if (!s || !*s)
        s = "_";
    for (i = 0; s[i] && o + 1 < cap && o < 100; i++) {
        unsigned char c = (unsigned char)s[i];

        dst[o++] = ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-') ? (char)c : '_';
    }
    dst[o] = '\0';
    if (!strcmp(dst, ".") || !strcmp(dst, ".."))
        memset(dst, '_', strlen(dst));
}

static void
member_name(const es_artifact_writer *w, const envsync_entry *e, char *out, size_t len)
{
    char schema[128], object[128], section[128], qual[300];
    unsigned long long seq = (unsigned long long)e->seq;
    unsigned long long n = (unsigned long long)w->members;

    name_part(schema, sizeof schema, e->schema);
    name_part(object, sizeof object, e->object);
    name_part(section, sizeof section, e->section ? e->section : "schema");
    if (e->schema)
        snprintf(qual, sizeof qual, "%s.%s", schema, object);
    else
        snprintf(qual, sizeof qual, "%s", object);
    switch (e->kind) {
    case ENVSYNC_ENTRY_SCHEMA: snprintf(out, len, "schema/%06llu-%s.sql", seq, section); break;
    case ENVSYNC_ENTRY_DATA: snprintf(out, len, "data/%s/%06llu.tsv", qual, seq); break;
    case ENVSYNC_ENTRY_DOCS: snprintf(out, len, "docs/%s/%06llu.ndjson", object, seq); break;
    case ENVSYNC_ENTRY_POSTLOAD: snprintf(out, len, "postload/%06llu.sql", n); break;
    case ENVSYNC_ENTRY_META: snprintf(out, len, "meta/%s/%06llu.json", qual, n); break;
    case ENVSYNC_ENTRY_BLOB: snprintf(out, len, "blob/%s/%06llu", qual, n); break;
    }
}

typedef struct xattr {
    const char *key;
    const char *value;
} xattr;

static envsync_status
write_member(es_artifact_writer *w, const char *name, const xattr *xa, size_t nxa,
             const envsync_entry *e, const void *data, size_t len)
{
    struct archive_entry *ae = archive_entry_new();
    char key[256];
    size_t i;
    la_ssize_t n;

    if (!ae)
        return w_fail(w, ENVSYNC_ERR_OTHER, "out of memory");
    archive_entry_set_pathname(ae, name);
    archive_entry_set_filetype(ae, AE_IFREG);
    archive_entry_set_perm(ae, MEMBER_MODE);
    archive_entry_set_uid(ae, 0);
    archive_entry_set_gid(ae, 0);
    archive_entry_set_mtime(ae, w->mtime, 0);
    archive_entry_set_size(ae, (la_int64_t)len);
    for (i = 0; i < nxa; i++)
        if (xa[i].value)
            archive_entry_xattr_add_entry(ae, xa[i].key, xa[i].value, strlen(xa[i].value));
    for (i = 0; e && e->attrs && i < e->nattrs; i++) {
        snprintf(key, sizeof key, XA_ATTR_PREFIX "%s", e->attrs[i].key);
        archive_entry_xattr_add_entry(ae, key, e->attrs[i].value ? e->attrs[i].value : "",
                                      e->attrs[i].value ? strlen(e->attrs[i].value) : 0);
    }
    if (archive_write_header(w->ar, ae) < ARCHIVE_WARN) {
        archive_entry_free(ae);
        return w_tar_fail(w, name);
    }
    archive_entry_free(ae);
    while (len) {
        n = archive_write_data(w->ar, data, len);
        if (n <= 0)
            return w_tar_fail(w, name);
        data = (const char *)data + n;
        len -= (size_t)n;
    }
    if (archive_write_finish_entry(w->ar) < ARCHIVE_WARN)
        return w_tar_fail(w, name);
    w->members++;
    return w->st;
}

void
es_artifact_writer_free(es_artifact_writer *w)
{
    if (!w)
        return;
    if (w->ar) {
        /* not archive_write_fail(): libarchive 3.6 then leaks its client
         * filter state; closing with a callback that refuses every byte
         * frees everything and writes nothing */
        w->aborting = !w->closed;
        archive_write_free(w->ar);
    }
    es_crypt_enc_free(w->enc);
    ZSTD_freeCCtx(w->zc);
    if (w->zs_init)
        deflateEnd(&w->zs);
    EVP_MD_CTX_free(w->sha);
    json_decref(w->encryption);
    objtab_free(&w->objs);
    free(w->cout);
    free(w);
}

static envsync_status
w_return(es_artifact_writer *w, char *err, size_t errlen)
{
    if (w->st != ENVSYNC_OK)
        seterr(err, errlen, "%s", w->err);
    return w->st;
}

envsync_status
es_artifact_writer_new(es_artifact_writer **wp, const es_artifact_opts *opts,
                       const char *header_json, es_write_fn out, void *arg,
                       char *err, size_t errlen)
{
    es_artifact_writer *w;
    json_t *h = NULL;
    json_error_t je;
    char *text = NULL;
    int level;
    envsync_status st;
    static const es_artifact_opts defaults = { ES_COMP_ZSTD, -1, 0, NULL, NULL };
    xattr xa[] = { { XA_PREFIX "kind", KIND_HEADER } };

    *wp = NULL;
    if (!opts)
        opts = &defaults;
    if (opts->compression != ES_COMP_ZSTD && opts->compression != ES_COMP_GZIP &&
        opts->compression != ES_COMP_NONE) {
        seterr(err, errlen, "unknown compression %d", (int)opts->compression);
        return ENVSYNC_ERR_CONFIG;
    }
    w = calloc(1, sizeof *w);
    if (!w || !(w->cout = malloc(BUFSZ)) || !(w->sha = EVP_MD_CTX_new())) {
        es_artifact_writer_free(w);
        seterr(err, errlen, "out of memory");
        return ENVSYNC_ERR_OTHER;
    }
    w->comp = opts->compression;
    w->out = out;
    w->arg = arg;
    if (!EVP_DigestInit_ex(w->sha, EVP_sha256(), NULL)) {
        w_fail(w, ENVSYNC_ERR_OTHER, "SHA-256 unavailable (OpenSSL)");
        goto fail;
    }

    /* header JSON first: a bad header must not produce any output */
    h = json_loads(header_json ? header_json : "{}", 0, &je);
    if (!json_is_object(h)) {
        w_fail(w, ENVSYNC_ERR_OTHER, "artifact header is not a JSON object%s%s",
               h ? "" : ": ", h ? "" : je.text);
        goto fail;
    }
    if (parse_created(json_object_get(h, "created"), &w->mtime) < 0) {
        char iso[32];

        w->mtime = time(NULL);
        strftime(iso, sizeof iso, "%Y-%m-%dT%H:%M:%SZ", gmtime(&w->mtime));
        if (!json_object_get(h, "created"))
            json_object_set_new(h, "created", json_string(iso));
    }
    w->encryption = opts->key
        ? json_pack("{s:s,s:o}", "cipher", "aes-256-gcm", "key_id", json_str_or_null(opts->key_id))
        : json_null();
    if (!w->encryption ||
        json_object_set_new(h, "format", format_json()) < 0 ||
        json_object_set_new(h, "compression", json_string(es_compression_name(w->comp))) < 0 ||
        json_object_set(h, "encryption", w->encryption) < 0 ||
        !(text = json_dumps(h, JSON_INDENT(2)))) {
        w_fail(w, ENVSYNC_ERR_OTHER, "artifact header: cannot build JSON (key id not UTF-8?)");
        goto fail;
    }
    if (strlen(text) > HEADER_MAX) {
        w_fail(w, ENVSYNC_ERR_OTHER, "artifact header larger than %zu bytes", HEADER_MAX);
        goto fail;
    }

    /* compression */
    level = opts->level;
    if (w->comp == ES_COMP_ZSTD) {
        size_t r;

        if (level == -1 || level == 0)
            level = 3;
        if (level < ZSTD_minCLevel() || level > ZSTD_maxCLevel()) {
            w_fail(w, ENVSYNC_ERR_CONFIG, "zstd level %d out of range (%d..%d)",
                   level, ZSTD_minCLevel(), ZSTD_maxCLevel());
            goto fail;
        }
        if (!(w->zc = ZSTD_createCCtx())) {
            w_fail(w, ENVSYNC_ERR_OTHER, "out of memory");
            goto fail;
        }
        r = ZSTD_CCtx_setParameter(w->zc, ZSTD_c_compressionLevel, level);
        if (!ZSTD_isError(r))
            r = ZSTD_CCtx_setParameter(w->zc, ZSTD_c_checksumFlag, 1);
        if (ZSTD_isError(r)) {
            w_fail(w, ENVSYNC_ERR_OTHER, "zstd: %s", ZSTD_getErrorName(r));
            goto fail;
        }
        /* a libzstd built without threads refuses: compress in this thread */
        if (opts->threads > 0)
            (void)ZSTD_CCtx_setParameter(w->zc, ZSTD_c_nbWorkers, opts->threads);
    } else if (w->comp == ES_COMP_GZIP) {
        if (level == -1)
            level = 6;
        if (level < 0 || level > 9) {
            w_fail(w, ENVSYNC_ERR_CONFIG, "gzip level %d out of range (0..9)", level);
            goto fail;
        }
        if (deflateInit2(&w->zs, level, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
            w_fail(w, ENVSYNC_ERR_OTHER, "gzip: deflateInit failed");
            goto fail;
        }
        w->zs_init = 1;
    }

    /* encryption (writes the stream header) */
    if (opts->key) {
        char e[ES_ERRLEN];

        st = es_crypt_enc_new(&w->enc, opts->key, opts->key_id, 0, sink_write, w, e, sizeof e);
        if (st != ENVSYNC_OK) {
            w_fail(w, st, "%s", e);
            goto fail;
        }
    }

    /* tar */
    w->ar = archive_write_new();
    if (!w->ar ||
        archive_write_set_format_pax(w->ar) != ARCHIVE_OK ||
        archive_write_set_format_option(w->ar, "pax", "xattrheader", "SCHILY") != ARCHIVE_OK ||
        archive_write_set_bytes_per_block(w->ar, 0) != ARCHIVE_OK ||
        archive_write_open2(w->ar, w, NULL, tar_write_cb, NULL, NULL) != ARCHIVE_OK) {
        if (w->ar)
            w_tar_fail(w, "open");
        else
            w_fail(w, ENVSYNC_ERR_OTHER, "out of memory");
        goto fail;
    }
    if (write_member(w, "envsync.json", xa, 1, NULL, text, strlen(text)) != ENVSYNC_OK)
        goto fail;
    free(text);
    json_decref(h);
    *wp = w;
    return ENVSYNC_OK;
fail:
    free(text);
    json_decref(h);
    st = w_return(w, err, errlen);
    es_artifact_writer_free(w);
    return st;
}

static int
attr_key_ok(const char *k)
{
    if (!k || !*k || strlen(k) > 200)
        return 0;
    for (; *k; k++)
        if (!((*k >= 'a' && *k <= 'z') || (*k >= 'A' && *k <= 'Z') ||
              (*k >= '0' && *k <= '9') || *k == '_' || *k == '.' || *k == '-'))
            return 0;
    return 1;
}

envsync_status
es_artifact_write_entry(es_artifact_writer *w, const envsync_entry *e,
                        const void *data, size_t len, char *err, size_t errlen)
{
    char name[1024], rows[24], seq[24];
    const char *kn;
    size_t i;
    xattr xa[7];

    if (w->st != ENVSYNC_OK)
        return w_return(w, err, errlen);
    if (w->finished) {
        seterr(err, errlen, "artifact writer: entry after finish");
        return ENVSYNC_ERR_OTHER;
    }
    kn = e ? kind_name(e->kind) : NULL;
    if (!kn) {
        seterr(err, errlen, "artifact writer: unknown entry kind %d", e ? (int)e->kind : -1);
        return ENVSYNC_ERR_OTHER;
    }
    if (len > ES_ARTIFACT_MAX_ENTRY) {
        seterr(err, errlen, "entry of %zu bytes exceeds the %zu-byte limit", len,
               ES_ARTIFACT_MAX_ENTRY);
        return ENVSYNC_ERR_OTHER;
    }
    if (len && !data) {
        seterr(err, errlen, "artifact writer: payload missing");
        return ENVSYNC_ERR_OTHER;
    }
    for (i = 0; e->attrs && i < e->nattrs; i++)
        if (!attr_key_ok(e->attrs[i].key)) {
            seterr(err, errlen, "entry attribute key '%s' is not [a-z0-9_.-]+",
                   e->attrs[i].key ? e->attrs[i].key : "(null)");
            return ENVSYNC_ERR_OTHER;
        }
    snprintf(rows, sizeof rows, "%llu", (unsigned long long)e->rows);
    snprintf(seq, sizeof seq, "%llu", (unsigned long long)e->seq);
    xa[0] = (xattr){ XA_PREFIX "kind", kn };
    xa[1] = (xattr){ XA_PREFIX "schema", e->schema };
    xa[2] = (xattr){ XA_PREFIX "object", e->object };
    xa[3] = (xattr){ XA_PREFIX "section", e->section };
    xa[4] = (xattr){ XA_PREFIX "columns", e->columns };
    xa[5] = (xattr){ XA_PREFIX "rows", rows };
    xa[6] = (xattr){ XA_PREFIX "seq", seq };
    /* the manifest must be valid JSON: names must be UTF-8 */
    {
        json_t *a = json_str_or_null(e->schema), *b = json_str_or_null(e->object);
        int ok = a && b;

        json_decref(a);
        json_decref(b);
        if (!ok) {
            seterr(err, errlen, "entry schema/object name is not valid UTF-8");
            return ENVSYNC_ERR_OTHER;
        }
    }
    member_name(w, e, name, sizeof name);
    if (write_member(w, name, xa, 7, e, data, len) != ENVSYNC_OK)
        return w_return(w, err, errlen);
    if (objtab_add(&w->objs, e->kind, e->schema, e->object, e->rows, len) < 0) {
        w_fail(w, ENVSYNC_ERR_OTHER, "out of memory");
        return w_return(w, err, errlen);
    }
    w->entries++;
    if (e->kind == ENVSYNC_ENTRY_DATA || e->kind == ENVSYNC_ENTRY_DOCS)
        w->rows += e->rows;
    return ENVSYNC_OK;
}

static json_t *
objects_json(const objtab *t)
{
    json_t *a = json_array();
    size_t i;

    for (i = 0; a && i < t->n; i++) {
        const objrec *o = &t->v[i];
        json_t *r = json_pack("{s:s,s:o,s:o,s:I,s:I,s:I}", "kind", kind_name(o->kind),
                              "schema", json_str_or_null(o->schema),
                              "object", json_str_or_null(o->object),
                              "rows", (json_int_t)o->rows, "chunks", (json_int_t)o->chunks,
                              "bytes", (json_int_t)o->bytes);

        if (!r || json_array_append_new(a, r) < 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

envsync_status
es_artifact_writer_finish(es_artifact_writer *w, const char *extra_json,
                          char **manifest_json, es_artifact_stats *stats,
                          char *err, size_t errlen)
{
    json_t *m = NULL, *extra = NULL, *objs;
    json_error_t je;
    char *text = NULL;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    envsync_status st;
    xattr xa[] = { { XA_PREFIX "kind", KIND_MANIFEST } };

    if (manifest_json)
        *manifest_json = NULL;
    if (w->st != ENVSYNC_OK)
        return w_return(w, err, errlen);
    if (w->finished) {
        seterr(err, errlen, "artifact writer: finished twice");
        return ENVSYNC_ERR_OTHER;
    }
    if (extra_json) {
        extra = json_loads(extra_json, 0, &je);
        if (!json_is_object(extra)) {
            json_decref(extra);
            seterr(err, errlen, "manifest extra is not a JSON object");
            return ENVSYNC_ERR_OTHER;
        }
    }
    /* the writer's keys first; extra keys may not override them */
    objs = objects_json(&w->objs);
    m = json_pack("{s:o,s:s,s:O,s:I,s:I,s:I,s:o}",
                  "format", format_json(),
                  "compression", es_compression_name(w->comp),
                  "encryption", w->encryption,
                  "entries", (json_int_t)w->entries,
                  "rows", (json_int_t)w->rows,
                  "tar_bytes", (json_int_t)w->tar_bytes,
                  "objects", objs);
    if (!m || (extra && json_object_update_missing(m, extra) < 0) ||
        !(text = json_dumps(m, JSON_INDENT(2)))) {
        json_decref(m);
        json_decref(extra);
        seterr(err, errlen, "manifest: cannot build JSON");
        return ENVSYNC_ERR_OTHER;
    }
    json_decref(m);
    json_decref(extra);
    if (strlen(text) > MANIFEST_MAX) {
        free(text);
        seterr(err, errlen, "manifest larger than %zu bytes", MANIFEST_MAX);
        return ENVSYNC_ERR_OTHER;
    }
    st = write_member(w, "manifest.json", xa, 1, NULL, text, strlen(text));
    if (st == ENVSYNC_OK) {
        if (archive_write_close(w->ar) != ARCHIVE_OK)
            st = w_tar_fail(w, "close");
        else
            w->closed = 1;
    }
    w->finished = 1;
    if (st == ENVSYNC_OK)
        st = comp_write(w, NULL, 0, 1);
    if (st == ENVSYNC_OK)
        st = cout_flush(w);
    if (st == ENVSYNC_OK && w->enc) {
        char e[ES_ERRLEN];

        st = es_crypt_enc_finish(w->enc, e, sizeof e);
        if (st != ENVSYNC_OK)
            w_fail(w, st, "%s", e);
    }
    if (st == ENVSYNC_OK && !EVP_DigestFinal_ex(w->sha, md, &mdlen))
        st = w_fail(w, ENVSYNC_ERR_OTHER, "SHA-256 failed (OpenSSL)");
    if (st != ENVSYNC_OK) {
        free(text);
        return w_return(w, err, errlen);
    }
    if (stats) {
        memset(stats, 0, sizeof *stats);
        stats->stored_bytes = w->stored;
        hex(md, mdlen, stats->sha256);
        stats->tar_bytes = w->tar_bytes;
        stats->entries = w->entries;
        stats->rows = w->rows;
    }
    if (manifest_json)
        *manifest_json = text;
    else
        free(text);
    return ENVSYNC_OK;
}

/* ================================================================ reader */
struct es_artifact_reader {
    es_read_fn in;
    void *in_arg;
    EVP_MD_CTX *sha;
    uint64_t stored;
    int src_eof;
    unsigned char peek[ES_CRYPT_MAGIC_LEN];
    size_t peek_len, peek_pos;
    es_crypt_dec *dec;
    /* plaintext (compressed) input of the decompressor */
    unsigned char *cin;
    size_t cin_len, cin_pos;
    int plain_eof;
    es_compression comp;
    ZSTD_DCtx *zd;
    size_t zret;                /* last ZSTD_decompressStream result: 0 = frame done */
    z_stream zs;
    int zs_init, gz_end;
    /* tar bytes handed to libarchive */
    unsigned char *tbuf;
    size_t tbuf_len;
    uint64_t tbuf_off;
    unsigned char tail[TAIL_KEEP]; /* end of the previous tbuf */
    size_t tail_len;
    uint64_t tar_bytes;
    int tar_eof;
    struct archive *ar;
    char *header;
    char *manifest;
    unsigned char *pay;
    size_t pay_cap;
    /* current entry's strings */
    char *schema, *object, *section, *columns;
    envsync_attr *attrs;
    size_t nattrs, attrs_cap;
    objtab objs;
    uint64_t entries, rows;
    int done;
    char sha256[65];
    envsync_status st;
    char err[ES_ERRLEN];
};

static envsync_status
r_fail(es_artifact_reader *r, envsync_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static envsync_status
r_fail(es_artifact_reader *r, envsync_status st, const char *fmt, ...)
{
    va_list ap;

    if (r->st != ENVSYNC_OK)
        return r->st;
    r->st = st;
    va_start(ap, fmt);
    vsnprintf(r->err, sizeof r->err, fmt, ap);
    va_end(ap);
    return st;
}

static envsync_status
r_return(es_artifact_reader *r, char *err, size_t errlen)
{
    if (r->st != ENVSYNC_OK)
        seterr(err, errlen, "%s", r->err);
    return r->st;
}

/* es_read_fn -> SHA-256 + count */
static envsync_status
src_pull(es_artifact_reader *r, void *buf, size_t cap, size_t *got)
{
    envsync_status st;

    *got = 0;
    if (r->st != ENVSYNC_OK)
        return r->st;
    if (r->src_eof || !cap)
        return ENVSYNC_OK;
    st = r->in(r->in_arg, buf, cap, got);
    if (st != ENVSYNC_OK) {
        *got = 0;
        return r_fail(r, st, "reading the artifact failed");
    }
    if (*got > cap) {
        *got = 0;
        return r_fail(r, ENVSYNC_ERR_OTHER, "artifact source returned more bytes than asked");
    }
    if (*got == 0) {
        r->src_eof = 1;
        return ENVSYNC_OK;
    }
    if (!EVP_DigestUpdate(r->sha, buf, *got))
        return r_fail(r, ENVSYNC_ERR_OTHER, "SHA-256 failed (OpenSSL)");
    r->stored += *got;
    return ENVSYNC_OK;
}

/* the raw stream, magic peek first (es_read_fn for the decryptor) */
static envsync_status
raw_read(void *vr, void *buf, size_t cap, size_t *got)
{
    es_artifact_reader *r = vr;

    if (r->peek_pos < r->peek_len) {
        size_t n = r->peek_len - r->peek_pos;

        if (n > cap)
            n = cap;
        memcpy(buf, r->peek + r->peek_pos, n);
        r->peek_pos += n;
        *got = n;
        return ENVSYNC_OK;
    }
    return src_pull(r, buf, cap, got);
}

/* the plaintext stream (decrypted or raw) */
static envsync_status
plain_read(es_artifact_reader *r, void *buf, size_t cap, size_t *got)
{
    envsync_status st;

    *got = 0;
    if (r->plain_eof)
        return ENVSYNC_OK;
    if (r->dec) {
        st = es_crypt_dec_read(r->dec, buf, cap, got);
        if (st != ENVSYNC_OK)
            return r_fail(r, st, "%s", es_crypt_dec_error(r->dec));
    } else {
        st = raw_read(r, buf, cap, got);
        if (st != ENVSYNC_OK)
            return st;
    }
    if (*got == 0)
        r->plain_eof = 1;
    return ENVSYNC_OK;
}

static envsync_status
cin_fill(es_artifact_reader *r)
{
    size_t got;
    envsync_status st;

    if (r->cin_pos < r->cin_len || r->plain_eof)
        return ENVSYNC_OK;
    r->cin_pos = r->cin_len = 0;
    st = plain_read(r, r->cin, BUFSZ, &got);
    r->cin_len = got;
    return st;
}

/* Decompresses up to BUFSZ tar bytes into tbuf; *n = 0 at the end. */
static envsync_status
tar_produce(es_artifact_reader *r, size_t *n)
{
    envsync_status st;

    *n = 0;
    switch (r->comp) {
    case ES_COMP_NONE:
        if (r->cin_pos < r->cin_len) {
            *n = r->cin_len - r->cin_pos;
            memcpy(r->tbuf, r->cin + r->cin_pos, *n);
            r->cin_pos = r->cin_len;
            return ENVSYNC_OK;
        }
        return plain_read(r, r->tbuf, BUFSZ, n);
    case ES_COMP_ZSTD:
        for (;;) {
            ZSTD_inBuffer in;
            ZSTD_outBuffer out = { r->tbuf, BUFSZ, 0 };
            size_t ret;

            if ((st = cin_fill(r)) != ENVSYNC_OK)
                return st;
            in.src = r->cin + r->cin_pos;
            in.size = r->cin_len - r->cin_pos;
            in.pos = 0;
            if (in.size == 0 && r->zret == 0)
                return ENVSYNC_OK;      /* input ended between frames */
            ret = ZSTD_decompressStream(r->zd, &out, &in);
            r->cin_pos += in.pos;
            if (ZSTD_isError(ret))
                return r_fail(r, ENVSYNC_ERR_INTEGRITY, "zstd: %s (corrupt artifact)",
                              ZSTD_getErrorName(ret));
            r->zret = ret;
            if (out.pos) {
                *n = out.pos;
                return ENVSYNC_OK;
            }
            if (r->cin_pos == r->cin_len && r->plain_eof) {
                if (r->zret != 0)
                    return r_fail(r, ENVSYNC_ERR_INTEGRITY,
                                  "zstd: compressed stream truncated");
                return ENVSYNC_OK;
            }
        }
    case ES_COMP_GZIP:
        for (;;) {
            int ret;
            size_t avail;

            if ((st = cin_fill(r)) != ENVSYNC_OK)
                return st;
            avail = r->cin_len - r->cin_pos;
            if (r->gz_end) {
                if (avail == 0)
                    return ENVSYNC_OK;
                /* another gzip member follows */
                if (inflateReset(&r->zs) != Z_OK)
                    return r_fail(r, ENVSYNC_ERR_OTHER, "gzip: inflateReset failed");
                r->gz_end = 0;
            }
            r->zs.next_in = r->cin + r->cin_pos;
            r->zs.avail_in = (uInt)avail;
            r->zs.next_out = r->tbuf;
            r->zs.avail_out = (uInt)BUFSZ;
            ret = inflate(&r->zs, Z_NO_FLUSH);
            r->cin_pos += avail - r->zs.avail_in;
            *n = BUFSZ - r->zs.avail_out;
            if (ret == Z_STREAM_END)
                r->gz_end = 1;
            else if (ret != Z_OK && ret != Z_BUF_ERROR)
                return r_fail(r, ENVSYNC_ERR_INTEGRITY, "gzip: %s (corrupt artifact)",
                              r->zs.msg ? r->zs.msg : "inflate failed");
            if (*n)
                return ENVSYNC_OK;
            if (!r->gz_end && r->cin_pos == r->cin_len && r->plain_eof)
                return r_fail(r, ENVSYNC_ERR_INTEGRITY, "gzip: compressed stream truncated");
        }
    }
    return r_fail(r, ENVSYNC_ERR_OTHER, "unknown compression");
}

/* Next tar chunk into tbuf, remembering the end of the previous one. */
static envsync_status
tar_fill(es_artifact_reader *r, size_t *n)
{
    envsync_status st;
    size_t keep;

    *n = 0;
    if (r->st != ENVSYNC_OK)
        return r->st;
    if (r->tar_eof)
        return ENVSYNC_OK;
    /* keep the last TAIL_KEEP tar bytes seen: the end-of-archive check
     * looks at bytes libarchive already consumed */
    keep = r->tbuf_len < TAIL_KEEP ? r->tbuf_len : TAIL_KEEP;
    if (keep < TAIL_KEEP && r->tail_len) {
        size_t old = r->tail_len + keep > TAIL_KEEP ? TAIL_KEEP - keep : r->tail_len;

        memmove(r->tail, r->tail + r->tail_len - old, old);
        r->tail_len = old;
    } else {
        r->tail_len = 0;
    }
    memcpy(r->tail + r->tail_len, r->tbuf + r->tbuf_len - keep, keep);
    r->tail_len += keep;
    r->tbuf_len = 0;
    r->tbuf_off = r->tar_bytes;
    st = tar_produce(r, n);
    if (st != ENVSYNC_OK) {
        *n = 0;
        return st;
    }
    r->tbuf_len = *n;
    r->tar_bytes += *n;
    if (*n == 0)
        r->tar_eof = 1;
    return ENVSYNC_OK;
}

static la_ssize_t
tar_read_cb(struct archive *a, void *arg, const void **buf)
{
    es_artifact_reader *r = arg;
    size_t n;

    if (tar_fill(r, &n) != ENVSYNC_OK) {
        archive_set_error(a, EIO, "%s", r->err);
        return -1;
    }
    *buf = r->tbuf;
    return (la_ssize_t)n;
}

static envsync_status
r_tar_fail(es_artifact_reader *r, const char *what)
{
    const char *m;

    if (r->st != ENVSYNC_OK)
        return r->st;
    m = archive_error_string(r->ar);
    return r_fail(r, ENVSYNC_ERR_INTEGRITY, "tar: %s: %s (corrupt or truncated artifact)",
                  what, m ? m : "read failed");
}

static void
clear_entry_strings(es_artifact_reader *r)
{
    size_t i;

    free(r->schema);
    free(r->object);
    free(r->section);
    free(r->columns);
    r->schema = r->object = r->section = r->columns = NULL;
    for (i = 0; i < r->nattrs; i++) {
        free((char *)(uintptr_t)r->attrs[i].key);
        free((char *)(uintptr_t)r->attrs[i].value);
    }
    r->nattrs = 0;
}

static int
parse_u64(const char *s, uint64_t *out)
{
    uint64_t v = 0;

    if (!*s)
        return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > (UINT64_MAX - 9) / 10)
            return -1;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    *out = v;
    return 0;
}

/* Member metadata from its pax xattrs.  kind: 0 unknown/missing, -1
 * header, -2 manifest, else an entry kind. */
static envsync_status
member_meta(es_artifact_reader *r, struct archive_entry *ae, int *kind,
            uint64_t *rows, uint64_t *seq)
{
    const char *name, *path = archive_entry_pathname(ae);
    const void *value;
    size_t size, count = 0;
    char *kindstr = NULL;

    if (!path)
        path = "?";
    clear_entry_strings(r);
    *kind = 0;
    *rows = *seq = 0;
    archive_entry_xattr_reset(ae);
    while (archive_entry_xattr_next(ae, &name, &value, &size) == ARCHIVE_OK) {
        char *v, **slot = NULL;

        if (++count > MAX_XATTRS) {
            free(kindstr);
            return r_fail(r, ENVSYNC_ERR_INTEGRITY, "member %.200s: too many attributes", path);
        }
        if (!name || strncmp(name, XA_PREFIX, strlen(XA_PREFIX)) != 0)
            continue;
        if (!value)
            size = 0;
        if (size > HEADER_MAX || (size && memchr(value, '\0', size))) {
            free(kindstr);
            return r_fail(r, ENVSYNC_ERR_INTEGRITY, "member %.200s: bad attribute %.100s",
                          path, name);
        }
        v = malloc(size + 1);
        if (!v) {
            free(kindstr);
            return r_fail(r, ENVSYNC_ERR_OTHER, "out of memory");
        }
        if (size)
            memcpy(v, value, size);
        v[size] = '\0';
        if (!strcmp(name, XA_PREFIX "kind"))
            slot = &kindstr;
        else if (!strcmp(name, XA_PREFIX "schema"))
            slot = &r->schema;
        else if (!strcmp(name, XA_PREFIX "object"))
            slot = &r->object;
        else if (!strcmp(name, XA_PREFIX "section"))
            slot = &r->section;
        else if (!strcmp(name, XA_PREFIX "columns"))
            slot = &r->columns;
        else if (!strcmp(name, XA_PREFIX "rows") || !strcmp(name, XA_PREFIX "seq")) {
            int bad = parse_u64(v, !strcmp(name, XA_PREFIX "rows") ? rows : seq) < 0;

            free(v);
            if (bad) {
                free(kindstr);
                return r_fail(r, ENVSYNC_ERR_INTEGRITY, "member %.200s: bad %.100s", path, name);
            }
            continue;
        } else if (!strncmp(name, XA_ATTR_PREFIX, strlen(XA_ATTR_PREFIX)) &&
                   name[strlen(XA_ATTR_PREFIX)]) {
            char *k = strdup(name + strlen(XA_ATTR_PREFIX));

            if (!k || (r->nattrs == r->attrs_cap && r->attrs_cap >= MAX_XATTRS)) {
                free(k);
                free(v);
                free(kindstr);
                return r_fail(r, ENVSYNC_ERR_OTHER, "out of memory");
            }
            if (r->nattrs == r->attrs_cap) {
                size_t cap = r->attrs_cap ? r->attrs_cap * 2 : 8;
                envsync_attr *a = realloc(r->attrs, cap * sizeof *a);

                if (!a) {
                    free(k);
                    free(v);
                    free(kindstr);
                    return r_fail(r, ENVSYNC_ERR_OTHER, "out of memory");
                }
                r->attrs = a;
                r->attrs_cap = cap;
            }
            r->attrs[r->nattrs].key = k;
            r->attrs[r->nattrs].value = v;
            r->nattrs++;
            continue;
        } else {
            free(v);            /* unknown envsync.* key: a newer minor version */
            continue;
        }
        free(*slot);            /* a repeated key: the last one wins */
        *slot = v;
    }
    if (!kindstr)
        return r_fail(r, ENVSYNC_ERR_INTEGRITY, "member %.200s: no envsync.kind attribute", path);
    if (!strcmp(kindstr, KIND_HEADER))
        *kind = -1;
    else if (!strcmp(kindstr, KIND_MANIFEST))
        *kind = -2;
    else if (!(*kind = kind_from_name(kindstr))) {
        r_fail(r, ENVSYNC_ERR_INTEGRITY, "member %.200s: unknown entry kind '%.100s'",
               path, kindstr);
        free(kindstr);
        return r->st;
    }
    free(kindstr);
    return ENVSYNC_OK;
}

/* Next tar member header; checks it is a plain file. */
static envsync_status
next_member(es_artifact_reader *r, struct archive_entry **ae, int *eof)
{
    int ret = archive_read_next_header(r->ar, ae);
    const char *path;

    *eof = 0;
    if (ret == ARCHIVE_EOF) {
        *eof = 1;
        return r->st;
    }
    if (ret != ARCHIVE_OK && ret != ARCHIVE_WARN)
        return r_tar_fail(r, "reading member header");
    path = archive_entry_pathname(*ae);
    if (!path)
        path = "?";
    if (archive_entry_filetype(*ae) != AE_IFREG || archive_entry_hardlink(*ae) ||
        archive_entry_symlink(*ae) || archive_entry_sparse_count(*ae) > 0)
        return r_fail(r, ENVSYNC_ERR_INTEGRITY, "member %.200s is not a regular file", path);
    if (!archive_entry_size_is_set(*ae) || archive_entry_size(*ae) < 0)
        return r_fail(r, ENVSYNC_ERR_INTEGRITY, "member %.200s has no size", path);
    return ENVSYNC_OK;
}

/* The current member's payload into r->pay (NUL-terminated), growing the
 * buffer as data arrives so a lying size cannot reserve memory. */
static envsync_status
read_payload(es_artifact_reader *r, struct archive_entry *ae, size_t max, size_t *lenp)
{
    la_int64_t sz = archive_entry_size(ae);
    const char *path = archive_entry_pathname(ae);
    size_t want, have = 0;

    if (!path)
        path = "?";
    *lenp = 0;
    if (sz < 0 || (uint64_t)sz > max)
        return r_fail(r, ENVSYNC_ERR_INTEGRITY,
                      "member %.200s: %lld bytes exceed the %zu-byte limit",
                      path, (long long)sz, max);
    want = (size_t)sz;
    while (have < want) {
        la_ssize_t n;
        size_t room;

        if (r->pay_cap <= have + 1) {
            size_t cap = r->pay_cap * 2;
            unsigned char *p;

            if (cap > want + 1)
                cap = want + 1;
            p = realloc(r->pay, cap);
            if (!p)
                return r_fail(r, ENVSYNC_ERR_OTHER, "out of memory (member of %zu bytes)", want);
            r->pay = p;
            r->pay_cap = cap;
        }
        room = r->pay_cap - 1 - have;
        if (room > want - have)
            room = want - have;
        n = archive_read_data(r->ar, r->pay + have, room);
        if (n < 0)
            return r_tar_fail(r, path);
        if (n == 0)
            return r_fail(r, ENVSYNC_ERR_INTEGRITY, "member %.200s truncated", path);
        have += (size_t)n;
    }
    r->pay[have] = '\0';
    *lenp = have;
    return ENVSYNC_OK;
}

/* Bytes [from, tar_bytes) of the tar stream, as far as still held, must be
 * zero (end-of-archive blocks, block padding). */
static int
tail_is_zero(const es_artifact_reader *r, uint64_t from)
{
    uint64_t tail_off = r->tbuf_off - r->tail_len, i;

    if (from < tail_off)
        return 0;               /* not held any more: cannot vouch for it */
    for (i = from; i < r->tbuf_off; i++)
        if (r->tail[i - tail_off])
            return 0;
    for (i = from > r->tbuf_off ? from : r->tbuf_off; i < r->tar_bytes; i++)
        if (r->tbuf[i - r->tbuf_off])
            return 0;
    return 1;
}

static long long
jint(json_t *o, const char *k, int *ok)
{
    json_t *v = json_object_get(o, k);

    if (!json_is_integer(v)) {
        *ok = 0;
        return -1;
    }
    return json_integer_value(v);
}

static envsync_status
check_count(es_artifact_reader *r, const char *what, uint64_t seen, json_t *o, const char *k)
{
    int ok = 1;
    long long v = jint(o, k, &ok);

    if (!ok)
        return r_fail(r, ENVSYNC_ERR_INTEGRITY, "manifest: %s has no '%s'", what, k);
    if (v < 0 || (uint64_t)v != seen)
        return r_fail(r, ENVSYNC_ERR_INTEGRITY,
                      "manifest mismatch: %s: %llu %s read, manifest says %lld",
                      what, (unsigned long long)seen, k, v);
    return ENVSYNC_OK;
}

static int
json_streq(json_t *v, const char *s)
{
    if (!s)
        return json_is_null(v) || !v;
    return json_is_string(v) && !strcmp(json_string_value(v), s);
}

static envsync_status
check_manifest(es_artifact_reader *r, const char *text, uint64_t manifest_pos)
{
    json_error_t je;
    json_t *m = json_loads(text, 0, &je), *objs;
    envsync_status st = ENVSYNC_OK;
    char e[ES_ERRLEN], label[600];
    size_t i;

    if (!json_is_object(m)) {
        json_decref(m);
        return r_fail(r, ENVSYNC_ERR_INTEGRITY, "manifest is not a JSON object");
    }
    if ((st = check_format(m, "manifest", e, sizeof e)) != ENVSYNC_OK) {
        r_fail(r, st, "%s", e);
        goto out;
    }
    if ((st = check_count(r, "artifact", r->entries, m, "entries")) != ENVSYNC_OK ||
        (st = check_count(r, "artifact", r->rows, m, "rows")) != ENVSYNC_OK ||
        (st = check_count(r, "artifact", manifest_pos, m, "tar_bytes")) != ENVSYNC_OK)
        goto out;
    objs = json_object_get(m, "objects");
    if (!json_is_array(objs)) {
        st = r_fail(r, ENVSYNC_ERR_INTEGRITY, "manifest has no 'objects' list");
        goto out;
    }
    if (json_array_size(objs) != r->objs.n) {
        st = r_fail(r, ENVSYNC_ERR_INTEGRITY,
                    "manifest mismatch: %zu objects read, manifest lists %zu",
                    r->objs.n, json_array_size(objs));
        goto out;
    }
    for (i = 0; i < r->objs.n; i++) {
        const objrec *o = &r->objs.v[i];
        json_t *j = json_array_get(objs, i);

        obj_label(o, label, sizeof label);
        if (!json_is_object(j) || !json_streq(json_object_get(j, "kind"), kind_name(o->kind)) ||
            !json_streq(json_object_get(j, "schema"), o->schema) ||
            !json_streq(json_object_get(j, "object"), o->object)) {
            st = r_fail(r, ENVSYNC_ERR_INTEGRITY,
                        "manifest mismatch: object #%zu read is %s, manifest differs", i + 1,
                        label);
            goto out;
        }
        if ((st = check_count(r, label, o->rows, j, "rows")) != ENVSYNC_OK ||
            (st = check_count(r, label, o->chunks, j, "chunks")) != ENVSYNC_OK ||
            (st = check_count(r, label, o->bytes, j, "bytes")) != ENVSYNC_OK)
            goto out;
    }
out:
    json_decref(m);
    return st;
}

/* After the manifest: end of tar, only zeros to the end of the stream,
 * compression and encryption complete, source exhausted. */
static envsync_status
finish_stream(es_artifact_reader *r)
{
    struct archive_entry *ae;
    int eof;
    uint64_t end_pos;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    size_t n;
    envsync_status st;

    st = next_member(r, &ae, &eof);
    if (st != ENVSYNC_OK)
        return st;
    if (!eof)
        return r_fail(r, ENVSYNC_ERR_INTEGRITY, "member %.200s follows the manifest",
                      archive_entry_pathname(ae) ? archive_entry_pathname(ae) : "?");
    end_pos = (uint64_t)archive_read_header_position(r->ar);
    if (!tail_is_zero(r, end_pos))
        return r_fail(r, ENVSYNC_ERR_INTEGRITY, "data after the end of the tar archive");
    do {
        size_t i;

        if ((st = tar_fill(r, &n)) != ENVSYNC_OK)
            return st;
        for (i = 0; i < n; i++)
            if (r->tbuf[i])
                return r_fail(r, ENVSYNC_ERR_INTEGRITY, "data after the end of the tar archive");
    } while (n);
    if (r->tar_bytes < end_pos + 1024)
        return r_fail(r, ENVSYNC_ERR_INTEGRITY, "tar end-of-archive marker missing (truncated)");
    /* the decryptor and decompressors only report the end once complete;
     * make sure the source itself is exhausted too */
    if (!r->src_eof) {
        unsigned char extra;

        if ((st = raw_read(r, &extra, 1, &n)) != ENVSYNC_OK)
            return st;
        if (n)
            return r_fail(r, ENVSYNC_ERR_INTEGRITY, "data after the end of the artifact");
    }
    if (!EVP_DigestFinal_ex(r->sha, md, &mdlen))
        return r_fail(r, ENVSYNC_ERR_OTHER, "SHA-256 failed (OpenSSL)");
    hex(md, mdlen, r->sha256);
    return ENVSYNC_OK;
}

envsync_status
es_artifact_reader_new(es_artifact_reader **rp, const es_artifact_opts *opts,
                       es_read_fn in, void *arg, const char **header_json,
                       char *err, size_t errlen)
{
    es_artifact_reader *r;
    struct archive_entry *ae;
    envsync_status st;
    size_t got, len;
    int kind, eof;
    uint64_t rows, seq;
    json_t *h;
    json_error_t je;
    char e[ES_ERRLEN];

    *rp = NULL;
    if (header_json)
        *header_json = NULL;
    r = calloc(1, sizeof *r);
    if (!r || !(r->sha = EVP_MD_CTX_new()) || !(r->cin = malloc(BUFSZ)) ||
        !(r->tbuf = malloc(BUFSZ)) || !(r->pay = malloc(BUFSZ))) {
        es_artifact_reader_free(r);
        seterr(err, errlen, "out of memory");
        return ENVSYNC_ERR_OTHER;
    }
    r->pay_cap = BUFSZ;
    r->in = in;
    r->in_arg = arg;
    if (!EVP_DigestInit_ex(r->sha, EVP_sha256(), NULL)) {
        r_fail(r, ENVSYNC_ERR_OTHER, "SHA-256 unavailable (OpenSSL)");
        goto fail;
    }

    /* encryption: magic at the start of the stream */
    while (r->peek_len < sizeof r->peek) {
        if ((st = src_pull(r, r->peek + r->peek_len, sizeof r->peek - r->peek_len, &got)) != ENVSYNC_OK)
            goto fail;
        if (!got)
            break;
        r->peek_len += got;
    }
    if (es_crypt_is_magic(r->peek, r->peek_len)) {
        st = es_crypt_dec_new(&r->dec, raw_read, r, e, sizeof e);
        if (st != ENVSYNC_OK) {
            r_fail(r, st, "%s", e);
            goto fail;
        }
        if (!opts || !opts->key) {
            const char *id = es_crypt_dec_key_id(r->dec);

            r_fail(r, ENVSYNC_ERR_CONFIG,
                   "artifact is encrypted (key id '%.200s') but no encryption key is configured",
                   *id ? id : "(none)");
            goto fail;
        }
        es_crypt_dec_set_key(r->dec, opts->key);
    }

    /* compression: magic at the start of the plaintext */
    while (r->cin_len < 4 && !r->plain_eof) {
        if ((st = plain_read(r, r->cin + r->cin_len, 4 - r->cin_len, &got)) != ENVSYNC_OK)
            goto fail;
        r->cin_len += got;
    }
    if (r->cin_len == 0) {
        r_fail(r, ENVSYNC_ERR_INTEGRITY, "artifact is empty");
        goto fail;
    }
    if (r->cin_len >= 4 && !memcmp(r->cin, "\x28\xb5\x2f\xfd", 4)) {
        r->comp = ES_COMP_ZSTD;
        if (!(r->zd = ZSTD_createDCtx())) {
            r_fail(r, ENVSYNC_ERR_OTHER, "out of memory");
            goto fail;
        }
        ZSTD_DCtx_setParameter(r->zd, ZSTD_d_windowLogMax, ZSTD_WINDOWLOG_MAX_READ);
        r->zret = 1;
    } else if (r->cin_len >= 2 && r->cin[0] == 0x1f && r->cin[1] == 0x8b) {
        r->comp = ES_COMP_GZIP;
        if (inflateInit2(&r->zs, 31) != Z_OK) {
            r_fail(r, ENVSYNC_ERR_OTHER, "gzip: inflateInit failed");
            goto fail;
        }
        r->zs_init = 1;
    } else {
        r->comp = ES_COMP_NONE;
    }

    r->ar = archive_read_new();
    if (!r->ar || archive_read_support_format_tar(r->ar) != ARCHIVE_OK) {
        r_fail(r, ENVSYNC_ERR_OTHER, "libarchive: cannot set up the tar reader");
        goto fail;
    }
    if (archive_read_open(r->ar, r, NULL, tar_read_cb, NULL) != ARCHIVE_OK) {
        r_tar_fail(r, "not an envsync artifact");
        goto fail;
    }
    if ((st = next_member(r, &ae, &eof)) != ENVSYNC_OK)
        goto fail;
    if (eof) {
        r_fail(r, ENVSYNC_ERR_INTEGRITY, "artifact has no header member (empty tar)");
        goto fail;
    }
    if ((st = member_meta(r, ae, &kind, &rows, &seq)) != ENVSYNC_OK)
        goto fail;
    if (kind != -1) {
        r_fail(r, ENVSYNC_ERR_INTEGRITY, "artifact does not start with its header member");
        goto fail;
    }
    if ((st = read_payload(r, ae, HEADER_MAX, &len)) != ENVSYNC_OK)
        goto fail;
    h = json_loadb((const char *)r->pay, len, 0, &je);
    if (!json_is_object(h)) {
        json_decref(h);
        r_fail(r, ENVSYNC_ERR_INTEGRITY, "artifact header is not a JSON object");
        goto fail;
    }
    st = check_format(h, "header", e, sizeof e);
    json_decref(h);
    if (st != ENVSYNC_OK) {
        r_fail(r, st, "%s", e);
        goto fail;
    }
    if (!(r->header = malloc(len + 1))) {
        r_fail(r, ENVSYNC_ERR_OTHER, "out of memory");
        goto fail;
    }
    memcpy(r->header, r->pay, len + 1);
    if (header_json)
        *header_json = r->header;
    *rp = r;
    return ENVSYNC_OK;
fail:
    st = r_return(r, err, errlen);
    es_artifact_reader_free(r);
    return st;
}

envsync_status
es_artifact_next(es_artifact_reader *r, envsync_entry *e, const void **data,
                 size_t *len, int *more, char *err, size_t errlen)
{
    struct archive_entry *ae;
    envsync_status st;
    int kind, eof;
    uint64_t rows, seq, pos;
    size_t n;

    *more = 0;
    *data = NULL;
    *len = 0;
    memset(e, 0, sizeof *e);
    e->struct_size = sizeof *e;
    if (r->st != ENVSYNC_OK)
        return r_return(r, err, errlen);
    if (r->done)
        return ENVSYNC_OK;
    if ((st = next_member(r, &ae, &eof)) != ENVSYNC_OK)
        return r_return(r, err, errlen);
    if (eof) {
        r_fail(r, ENVSYNC_ERR_INTEGRITY, "artifact ends without its manifest (truncated)");
        return r_return(r, err, errlen);
    }
    pos = (uint64_t)archive_read_header_position(r->ar);
    if ((st = member_meta(r, ae, &kind, &rows, &seq)) != ENVSYNC_OK)
        return r_return(r, err, errlen);
    if (kind == -1) {
        r_fail(r, ENVSYNC_ERR_INTEGRITY, "second header member in the artifact");
        return r_return(r, err, errlen);
    }
    if (kind == -2) {
        if ((st = read_payload(r, ae, MANIFEST_MAX, &n)) != ENVSYNC_OK ||
            (st = check_manifest(r, (const char *)r->pay, pos)) != ENVSYNC_OK ||
            (st = finish_stream(r)) != ENVSYNC_OK)
            return r_return(r, err, errlen);
        if (!(r->manifest = strdup((const char *)r->pay))) {
            r_fail(r, ENVSYNC_ERR_OTHER, "out of memory");
            return r_return(r, err, errlen);
        }
        clear_entry_strings(r);
        r->done = 1;
        return ENVSYNC_OK;
    }
    if ((st = read_payload(r, ae, ES_ARTIFACT_MAX_ENTRY, &n)) != ENVSYNC_OK)
        return r_return(r, err, errlen);
    if (objtab_add(&r->objs, kind, r->schema, r->object, rows, n) < 0) {
        r_fail(r, ENVSYNC_ERR_OTHER, "out of memory");
        return r_return(r, err, errlen);
    }
    r->entries++;
    if (kind == ENVSYNC_ENTRY_DATA || kind == ENVSYNC_ENTRY_DOCS)
        r->rows += rows;
    e->kind = (envsync_entry_kind)kind;
    e->schema = r->schema;
    e->object = r->object;
    e->section = r->section;
    e->columns = r->columns;
    e->rows = rows;
    e->seq = seq;
    e->attrs = r->nattrs ? r->attrs : NULL;
    e->nattrs = r->nattrs;
    *data = r->pay;
    *len = n;
    *more = 1;
    return ENVSYNC_OK;
}

const char *
es_artifact_manifest(es_artifact_reader *r)
{
    return r->manifest;
}

void
es_artifact_reader_stats(es_artifact_reader *r, es_artifact_stats *stats)
{
    memset(stats, 0, sizeof *stats);
    stats->stored_bytes = r->stored;
    memcpy(stats->sha256, r->sha256, sizeof stats->sha256);
    stats->tar_bytes = r->tar_bytes;
    stats->entries = r->entries;
    stats->rows = r->rows;
}

void
es_artifact_reader_free(es_artifact_reader *r)
{
    if (!r)
        return;
    if (r->ar)
        archive_read_free(r->ar);
    clear_entry_strings(r);
    free(r->attrs);
    es_crypt_dec_free(r->dec);
    ZSTD_freeDCtx(r->zd);
    if (r->zs_init)
        inflateEnd(&r->zs);
    EVP_MD_CTX_free(r->sha);
    objtab_free(&r->objs);
    free(r->cin);
    free(r->tbuf);
    free(r->header);
    free(r->manifest);
    free(r->pay);
    free(r);
}
