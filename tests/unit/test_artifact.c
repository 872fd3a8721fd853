/*
 * test_artifact.c - unit tests of the artifact layer (core/artifact.c,
 * core/artifact_crypt.c): round trips, corruption, encryption, limits.
 */
#include <check.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <archive.h>
#include <archive_entry.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "artifact.h"
#include "artifact_crypt.h"
#include "artifact_testlib.h"

static const unsigned char KEY[32] = {
    1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
    17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32
};
static const unsigned char KEY2[32] = { 9 };

/* ------------------------------------------------------------- helpers */
typedef struct tentry {
    envsync_entry e;
    const char *data;
    size_t len;
} tentry;

static const envsync_attr ATTRS[] = {
    { "format", "copy-text" }, { "x.y-z_1", "h\xc3\xa9llo = world\nline2\t" }
};

static tentry *
add_entry(tentry *t, size_t *n, envsync_entry_kind k)
{
    tentry *x = &t[(*n)++];

    ENVSYNC_ENTRY_INIT(x->e, k);
    return x;
}

/* One entry of every kind, attrs, empty payloads, NULL names. */
static size_t
sample_entries(tentry *t)
{
    size_t n = 0;

    memset(t, 0, 8 * sizeof *t);
#define ADD(k) add_entry(t, &n, k)
    {
        tentry *x = ADD(ENVSYNC_ENTRY_SCHEMA);
        x->e.section = "pre-data";
        x->data = "CREATE TABLE app.users (id int, name text);\n";
    }
    {
        tentry *x = ADD(ENVSYNC_ENTRY_DATA);
        x->e.schema = "app";
        x->e.object = "users";
        x->e.columns = "id\tname";
        x->e.rows = 3;
        x->data = "1\talice\n2\t\\N\n3\tb\\tob\n";
        x->e.attrs = ATTRS;
        x->e.nattrs = 2;
    }
    {
        tentry *x = ADD(ENVSYNC_ENTRY_DATA);
        x->e.schema = "app";
        x->e.object = "users";
        x->e.columns = "id\tname";
        x->e.rows = 0;
        x->e.seq = 1;
        x->data = "";        /* empty chunk */
    }
    {
        tentry *x = ADD(ENVSYNC_ENTRY_DOCS);
        x->e.object = "../../etc/passwd";     /* names are sanitised */
        x->e.rows = 2;
        x->data = "{\"a\":1}\n{\"b\":\"\\u00e9\"}\n";
    }
    {
        tentry *x = ADD(ENVSYNC_ENTRY_POSTLOAD);
        x->e.section = "post-data";
        x->data = "ANALYZE;\n";
    }
    {
        tentry *x = ADD(ENVSYNC_ENTRY_META);
        x->e.schema = "app";
        x->e.object = "users_id_seq";
        x->data = "{\"last_value\": 42}";
    }
    {
        tentry *x = ADD(ENVSYNC_ENTRY_BLOB);
        x->e.schema = "/abs";
        x->e.object = "blob one";
        x->data = "\0\1\2\3binary";
        x->len = 10;
    }
    {
        tentry *x = ADD(ENVSYNC_ENTRY_META);
        x->data = "";        /* no names at all */
    }
#undef ADD
    for (size_t i = 0; i < n; i++)
        if (!t[i].len)
            t[i].len = strlen(t[i].data);
    return n;
}

static es_artifact_opts
mkopts(es_compression c, int encrypt)
{
    es_artifact_opts o;

    memset(&o, 0, sizeof o);
    o.compression = c;
    o.level = -1;
    o.key = encrypt ? KEY : NULL;
    o.key_id = encrypt ? "test-key-2026" : NULL;
    return o;
}

/* Writes entries into m; returns the writer's stats. */
static es_artifact_stats
write_artifact(const es_artifact_opts *o, const tentry *t, size_t n, memsink *m,
               char **manifest)
{
    es_artifact_writer *w;
    es_artifact_stats st;
    char err[ES_ERRLEN];
    envsync_status s;

    s = es_artifact_writer_new(&w, o, "{\"engine\":\"postgres\",\"created\":\"2026-11-25T03:15:00Z\"}",
                               memsink_write, m, err, sizeof err);
    ck_assert_msg(s == ENVSYNC_OK, "writer_new: %d %s", s, err);
    for (size_t i = 0; i < n; i++) {
        s = es_artifact_write_entry(w, &t[i].e, t[i].data, t[i].len, err, sizeof err);
        ck_assert_msg(s == ENVSYNC_OK, "write_entry %zu: %d %s", i, s, err);
    }
    s = es_artifact_writer_finish(w, "{\"engine\":\"postgres\",\"entries\":-1}", manifest, &st,
                                  err, sizeof err);
    ck_assert_msg(s == ENVSYNC_OK, "finish: %d %s", s, err);
    es_artifact_writer_free(w);
    return st;
}

static void
sha256_hex(const void *p, size_t n, char out[65])
{
    unsigned char md[32];
    unsigned len = 0;

    EVP_Digest(p, n, md, &len, EVP_sha256(), NULL);
    for (unsigned i = 0; i < len; i++)
        sprintf(out + 2 * i, "%02x", md[i]);
}

static int
streq0(const char *a, const char *b)
{
    if (!a || !b)
        return a == b;
    return !strcmp(a, b);
}

/* Reads a whole artifact; returns the status, compares entries with t when
 * t != NULL.  *nread = entries read. */
static envsync_status
read_artifact(const es_artifact_opts *o, const unsigned char *p, size_t len, size_t chunk,
              const tentry *t, size_t n, size_t *nread, char *err, size_t errlen,
              es_artifact_stats *stats)
{
    memsrc src = { p, len, 0, chunk, 0, ENVSYNC_OK };
    es_artifact_reader *r;
    const char *hdr;
    envsync_status s;
    size_t k = 0;

    if (nread)
        *nread = 0;
    s = es_artifact_reader_new(&r, o, memsrc_read, &src, &hdr, err, errlen);
    if (s != ENVSYNC_OK)
        return s;
    ck_assert_ptr_nonnull(hdr);
    for (;;) {
        envsync_entry e;
        const void *d;
        size_t dl;
        int more;

        s = es_artifact_next(r, &e, &d, &dl, &more, err, errlen);
        if (s != ENVSYNC_OK || !more)
            break;
        ck_assert_uint_eq(e.struct_size, sizeof e);
        if (t) {
            ck_assert_uint_lt(k, n);
            ck_assert_int_eq(e.kind, t[k].e.kind);
            ck_assert(streq0(e.schema, t[k].e.schema));
            ck_assert(streq0(e.object, t[k].e.object));
            ck_assert(streq0(e.section, t[k].e.section));
            ck_assert(streq0(e.columns, t[k].e.columns));
            ck_assert_uint_eq(e.rows, t[k].e.rows);
            ck_assert_uint_eq(e.seq, t[k].e.seq);
            ck_assert_uint_eq(e.nattrs, t[k].e.nattrs);
            for (size_t a = 0; a < e.nattrs; a++) {
                ck_assert_str_eq(e.attrs[a].key, t[k].e.attrs[a].key);
                ck_assert_str_eq(e.attrs[a].value, t[k].e.attrs[a].value);
            }
            ck_assert_uint_eq(dl, t[k].len);
            ck_assert(dl == 0 || memcmp(d, t[k].data, dl) == 0);
        }
        k++;
    }
    if (nread)
        *nread = k;
    if (s == ENVSYNC_OK) {
        ck_assert_ptr_nonnull(es_artifact_manifest(r));
        if (t)
            ck_assert_uint_eq(k, n);
    }
    if (stats)
        es_artifact_reader_stats(r, stats);
    es_artifact_reader_free(r);
    return s;
}

/* --------------------------------------------------------- round trips */
static void
roundtrip(es_compression c, int encrypt)
{
    tentry t[8];
    size_t n = sample_entries(t), chunks[] = { 0, 1, 7, 4093 };
    es_artifact_opts o = mkopts(c, encrypt);
    memsink m = { 0 };
    char *manifest = NULL, err[ES_ERRLEN], sha[65];
    es_artifact_stats ws, rs;
    json_t *j;

    ws = write_artifact(&o, t, n, &m, &manifest);
    sha256_hex(m.p, m.len, sha);
    ck_assert_str_eq(ws.sha256, sha);
    ck_assert_uint_eq(ws.stored_bytes, m.len);
    ck_assert_uint_eq(ws.entries, n);
    ck_assert_uint_eq(ws.rows, 5);
    if (c == ES_COMP_ZSTD)
        ck_assert(!memcmp(m.p + (encrypt ? 0 : 0), encrypt ? "ENVSYNC" : "\x28\xb5\x2f\xfd", 4));
    for (size_t i = 0; i < sizeof chunks / sizeof chunks[0]; i++) {
        envsync_status s = read_artifact(&o, m.p, m.len, chunks[i], t, n, NULL, err, sizeof err, &rs);

        ck_assert_msg(s == ENVSYNC_OK, "read (chunk %zu): %d %s", chunks[i], s, err);
        ck_assert_str_eq(rs.sha256, sha);
        ck_assert_uint_eq(rs.stored_bytes, m.len);
        ck_assert_uint_eq(rs.entries, n);
        ck_assert_uint_eq(rs.rows, 5);
        ck_assert_uint_eq(rs.tar_bytes, ws.tar_bytes);
    }
    /* the manifest */
    j = json_loads(manifest, 0, NULL);
    ck_assert_ptr_nonnull(j);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "entries")), (json_int_t)n);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "rows")), 5);
    ck_assert_str_eq(json_string_value(json_object_get(j, "engine")), "postgres");
    ck_assert_str_eq(json_string_value(json_object_get(j, "compression")), es_compression_name(c));
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(j, "format"), "major")), 1);
    {
        json_t *objs = json_object_get(j, "objects"), *u = json_array_get(objs, 1);

        ck_assert_uint_eq(json_array_size(objs), 7);   /* 8 entries, users twice */
        ck_assert_str_eq(json_string_value(json_object_get(u, "kind")), "data");
        ck_assert_str_eq(json_string_value(json_object_get(u, "object")), "users");
        ck_assert_int_eq(json_integer_value(json_object_get(u, "rows")), 3);
        ck_assert_int_eq(json_integer_value(json_object_get(u, "chunks")), 2);
        ck_assert(json_is_null(json_object_get(json_array_get(objs, 0), "schema")));
    }
    if (encrypt)
        ck_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "encryption"), "key_id")),
                         "test-key-2026");
    else
        ck_assert(json_is_null(json_object_get(j, "encryption")));
    json_decref(j);
    free(manifest);
    memsink_free(&m);
}

START_TEST(test_roundtrip)
{
    roundtrip((es_compression)(_i / 2), _i % 2);
}
END_TEST

START_TEST(test_header_fields)
{
    tentry t[8];
    size_t n = sample_entries(t);
    es_artifact_opts o = mkopts(ES_COMP_GZIP, 1);
    memsink m = { 0 };
    memsrc src;
    es_artifact_reader *r;
    const char *hdr;
    char err[ES_ERRLEN];
    json_t *h;

    write_artifact(&o, t, n, &m, NULL);
    src = (memsrc){ m.p, m.len, 0, 0, 0, ENVSYNC_OK };
    ck_assert_int_eq(es_artifact_reader_new(&r, &o, memsrc_read, &src, &hdr, err, sizeof err),
                     ENVSYNC_OK);
    h = json_loads(hdr, 0, NULL);
    ck_assert_ptr_nonnull(h);
    ck_assert_str_eq(json_string_value(json_object_get(h, "engine")), "postgres");
    ck_assert_str_eq(json_string_value(json_object_get(h, "compression")), "gzip");
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(h, "encryption"), "cipher")),
                     "aes-256-gcm");
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(h, "format"), "minor")), 0);
    json_decref(h);
    ck_assert_ptr_null(es_artifact_manifest(r));
    es_artifact_reader_free(r);
    memsink_free(&m);
}
END_TEST

/* The tar is readable by plain libarchive, with sane member names. */
START_TEST(test_tar_names)
{
    tentry t[8];
    size_t n = sample_entries(t);
    es_artifact_opts o = mkopts(ES_COMP_NONE, 0);
    memsink m = { 0 };
    struct archive *a = archive_read_new();
    struct archive_entry *ae;
    const char *want[] = {
        "envsync.json", "schema/000000-pre-data.sql", "data/app.users/000000.tsv",
        "data/app.users/000001.tsv", "docs/.._.._etc_passwd/000000.ndjson",
        "postload/000005.sql", "meta/app.users_id_seq/000006.json",
        "blob/_abs.blob_one/000007", "meta/_/000008.json", "manifest.json"
    };
    size_t k = 0;

    write_artifact(&o, t, n, &m, NULL);
    archive_read_support_format_tar(a);
    ck_assert_int_eq(archive_read_open_memory(a, m.p, m.len), ARCHIVE_OK);
    while (archive_read_next_header(a, &ae) == ARCHIVE_OK) {
        ck_assert_uint_lt(k, sizeof want / sizeof want[0]);
        ck_assert_str_eq(archive_entry_pathname(ae), want[k]);
        ck_assert_int_eq(archive_entry_perm(ae), 0644);
        ck_assert_int_eq(archive_entry_uid(ae), 0);
        ck_assert_int_eq(archive_entry_mtime(ae), 1795576500);   /* 2026-11-25T03:15:00Z */
        k++;
    }
    ck_assert_uint_eq(k, sizeof want / sizeof want[0]);
    archive_read_free(a);
    memsink_free(&m);
}
END_TEST

/* Exhaustive loops (every truncation point) step by $ENVSYNC_TEST_STRIDE
 * (default 1: every point; 13 when $ENVSYNC_TEST_VALGRIND is set, as
 * scripts/test-all.sh does for the valgrind run only, where each read costs ~100x; the ASan run and plain
 * `make check` still try every point. */
static size_t
stride(void)
{
    const char *s = getenv("ENVSYNC_TEST_STRIDE");
    long v = s ? strtol(s, NULL, 10) : getenv("ENVSYNC_TEST_VALGRIND") ? 13 : 1;

    return v > 0 ? (size_t)v : 1;
}

/* 40 MiB in one entry, zstd with two workers, read back in odd chunks. */
START_TEST(test_large_payload)
{
    size_t len = (size_t)(stride() > 1 ? 8 : 40) << 20;
    char *big = malloc(len);
    tentry t[1];
    es_artifact_opts o = mkopts(ES_COMP_ZSTD, _i);
    memsink m = { 0 };
    char err[ES_ERRLEN];
    envsync_status s;
    uint32_t x = 12345;

    ck_assert_ptr_nonnull(big);
    for (size_t i = 0; i < len; i++) {
        x = x * 1103515245u + 12345u;
        big[i] = (i & 63) == 63 ? '\n' : (char)('a' + ((x >> 16) % 16));
    }
    memset(t, 0, sizeof t);
    ENVSYNC_ENTRY_INIT(t[0].e, ENVSYNC_ENTRY_DATA);
    t[0].e.schema = "s";
    t[0].e.object = "big";
    t[0].e.rows = len / 64;
    t[0].data = big;
    t[0].len = len;
    o.level = 1;
    o.threads = 2;
    write_artifact(&o, t, 1, &m, NULL);
    s = read_artifact(&o, m.p, m.len, 100003, t, 1, NULL, err, sizeof err, NULL);
    ck_assert_msg(s == ENVSYNC_OK, "%d %s", s, err);
    memsink_free(&m);
    free(big);
}
END_TEST

/* ---------------------------------------------------------- corruption */
static void
small_artifact(es_compression c, int encrypt, memsink *m)
{
    tentry t[8];
    size_t n = sample_entries(t);
    es_artifact_opts o = mkopts(c, encrypt);

    write_artifact(&o, t, n, m, NULL);
}

/* Every proper prefix of an artifact is an integrity error. */
START_TEST(test_truncation)
{
    es_compression c = (es_compression)(_i / 2);
    es_artifact_opts o = mkopts(c, _i % 2);
    memsink m = { 0 };
    char err[ES_ERRLEN];

    small_artifact(c, _i % 2, &m);
    for (size_t cut = 0; cut < m.len; cut += stride()) {
        envsync_status s = read_artifact(&o, m.p, cut, 0, NULL, 0, NULL, err, sizeof err, NULL);

        ck_assert_msg(s == ENVSYNC_ERR_INTEGRITY, "%s: cut at %zu of %zu: status %d (%s)",
                      es_compression_name(c), cut, m.len, s, s ? err : "ok");
    }
    memsink_free(&m);
}
END_TEST

/* One flipped bit anywhere: an integrity error, or (for the few header
 * fields no codec protects, like gzip's MTIME) identical content; the
 * stored SHA-256 always differs.  "none" has no inner checksums for
 * payloads: there the artifact's stored SHA-256 is what detects flips. */
START_TEST(test_bitflip)
{
    es_compression c = (es_compression)(_i / 2);
    int encrypt = _i % 2;
    es_artifact_opts o = mkopts(c, encrypt);
    memsink m = { 0 };
    tentry t[8];
    size_t n = sample_entries(t), benign = 0, step;
    char err[ES_ERRLEN], sha[65];
    unsigned char *copy;
    es_artifact_stats ws;

    ws = write_artifact(&o, t, n, &m, NULL);
    copy = malloc(m.len);
    step = m.len > 3000 ? 3 : 1;
    for (size_t pos = 0; pos < m.len; pos += step) {
        int bit = (int)(pos % 8);
        envsync_status s;
        es_artifact_stats rs;

        memcpy(copy, m.p, m.len);
        copy[pos] ^= (unsigned char)(1u << bit);
        s = read_artifact(&o, copy, m.len, 0, NULL, 0, NULL, err, sizeof err, &rs);
        if (s == ENVSYNC_OK) {
            /* accepted: only if the content is unchanged (zstd/gzip: a
             * match offset now pointing at other, identical bytes; gzip
             * header MTIME/XFL/OS) -- except with "none", where payload
             * and pax records carry no checksum of their own -- and
             * always with a different SHA-256, which the core checks */
            size_t k;

            ck_assert_str_ne(rs.sha256, ws.sha256);
            if (getenv("ARTIFACT_TEST_VERBOSE"))
                fprintf(stderr, "accepted flip: %s%s at %zu/%zu bit %d\n", es_compression_name(c),
                        encrypt ? "+aes" : "", pos, m.len, bit);
            benign++;
            if (c == ES_COMP_NONE)
                continue;
            s = read_artifact(&o, copy, m.len, 0, t, n, &k, err, sizeof err, NULL);
            ck_assert_msg(s == ENVSYNC_OK && k == n,
                          "flip at %zu bit %d accepted with changed content", pos, bit);
            continue;
        }
        ck_assert_msg(s == ENVSYNC_ERR_INTEGRITY, "%s%s: flip at %zu: status %d (%s)",
                      es_compression_name(c), encrypt ? "+aes" : "", pos, s, err);
    }
    sha256_hex(m.p, m.len, sha);
    ck_assert_str_eq(sha, ws.sha256);
    if (encrypt)
        ck_assert_uint_eq(benign, 0);
    free(copy);
    memsink_free(&m);
}
END_TEST

/* Flips in the tar structure of an uncompressed artifact are caught by
 * tar checksums, the manifest comparison or the end check. */
START_TEST(test_bitflip_tar_headers)
{
    es_artifact_opts o = mkopts(ES_COMP_NONE, 0);
    memsink m = { 0 };
    char err[ES_ERRLEN];
    unsigned char *copy;
    struct archive *a = archive_read_new();
    struct archive_entry *ae;
    size_t nhdr = 0, benign = 0;
    tentry t[8];
    size_t n = sample_entries(t);

    write_artifact(&o, t, n, &m, NULL);
    copy = malloc(m.len);
    archive_read_support_format_tar(a);
    ck_assert_int_eq(archive_read_open_memory(a, m.p, m.len), ARCHIVE_OK);
    while (archive_read_next_header(a, &ae) == ARCHIVE_OK) {
        /* the ustar header of the pax extended header of this member */
        size_t hpos = (size_t)archive_read_header_position(a);

        for (size_t off = 0; off < 512; off += 5) {
            envsync_status s;

            if (off >= 345 && off < 500)
                continue;       /* ustar prefix field: unused (NULs) */
            memcpy(copy, m.p, m.len);
            copy[hpos + off] ^= 0x10;
            s = read_artifact(&o, copy, m.len, 0, NULL, 0, NULL, err, sizeof err, NULL);
            if (s == ENVSYNC_OK) {
                /* e.g. the checksum field's terminator: harmless */
                s = read_artifact(&o, copy, m.len, 0, t, n, NULL, err, sizeof err, NULL);
                ck_assert_msg(s == ENVSYNC_OK, "flip at header %zu + %zu changed content", hpos, off);
                benign++;
                continue;
            }
            ck_assert_msg(s == ENVSYNC_ERR_INTEGRITY, "flip at header %zu + %zu: %d", hpos, off, s);
        }
        nhdr++;
    }
    ck_assert_uint_eq(nhdr, 10);
    ck_assert_uint_le(benign, nhdr);
    /* the end-of-archive blocks */
    for (size_t back = 1; back <= 1024; back += 17) {
        memcpy(copy, m.p, m.len);
        copy[m.len - back] = 'x';
        ck_assert_int_eq(read_artifact(&o, copy, m.len, 0, NULL, 0, NULL, err, sizeof err, NULL),
                         ENVSYNC_ERR_INTEGRITY);
    }
    /* appended garbage; appended zeros are block padding and fine */
    {
        unsigned char *more = malloc(m.len + 10240);

        memcpy(more, m.p, m.len);
        memset(more + m.len, 0, 10240);
        ck_assert_int_eq(read_artifact(&o, more, m.len + 10240, 0, NULL, 0, NULL, err, sizeof err, NULL),
                         ENVSYNC_OK);
        more[m.len + 9000] = 1;
        ck_assert_int_eq(read_artifact(&o, more, m.len + 10240, 0, NULL, 0, NULL, err, sizeof err, NULL),
                         ENVSYNC_ERR_INTEGRITY);
        free(more);
    }
    archive_read_free(a);
    free(copy);
    memsink_free(&m);
}
END_TEST

START_TEST(test_trailing_garbage)
{
    es_compression c = (es_compression)(_i / 2);
    es_artifact_opts o = mkopts(c, _i % 2);
    memsink m = { 0 };
    char err[ES_ERRLEN];
    envsync_status s;

    small_artifact(c, _i % 2, &m);
    memsink_write(&m, "\x28\xb5\x2f\xfd garbage", 12);
    s = read_artifact(&o, m.p, m.len, 0, NULL, 0, NULL, err, sizeof err, NULL);
    ck_assert_msg(s == ENVSYNC_ERR_INTEGRITY, "%d %s", s, err);
    memsink_free(&m);
}
END_TEST

/* ------------------------------------------------- crafted tar streams */
typedef struct member {
    const char *name;
    const char *kind;           /* envsync.kind, NULL = none */
    const char *data;
    int symlink;
    const char *rows;
} member;

static void
craft(const member *mem, size_t n, memsink *m)
{
    struct archive *a;

    {
        size_t cap = 1 << 20, used = 0;
        unsigned char *buf = calloc(1, cap);

        a = archive_write_new();
        archive_write_set_format_pax(a);
        archive_write_set_format_option(a, "pax", "xattrheader", "SCHILY");
        archive_write_set_bytes_per_block(a, 0);
        ck_assert_int_eq(archive_write_open_memory(a, buf, cap, &used), ARCHIVE_OK);
        for (size_t i = 0; i < n; i++) {
            struct archive_entry *e = archive_entry_new();
            size_t len = mem[i].data ? strlen(mem[i].data) : 0;

            archive_entry_set_pathname(e, mem[i].name);
            if (mem[i].symlink) {
                archive_entry_set_filetype(e, AE_IFLNK);
                archive_entry_set_symlink(e, "/etc/passwd");
                len = 0;
            } else {
                archive_entry_set_filetype(e, AE_IFREG);
                archive_entry_set_size(e, (la_int64_t)len);
            }
            archive_entry_set_perm(e, 0644);
            if (mem[i].kind)
                archive_entry_xattr_add_entry(e, "envsync.kind", mem[i].kind, strlen(mem[i].kind));
            if (mem[i].rows)
                archive_entry_xattr_add_entry(e, "envsync.rows", mem[i].rows, strlen(mem[i].rows));
            ck_assert_int_eq(archive_write_header(a, e), ARCHIVE_OK);
            if (len)
                ck_assert_int_eq(archive_write_data(a, mem[i].data, len), (la_ssize_t)len);
            archive_entry_free(e);
        }
        ck_assert_int_eq(archive_write_close(a), ARCHIVE_OK);
        archive_write_free(a);
        memsink_write(m, buf, used);
        free(buf);
    }
}

#define HDR_OK "{\"format\":{\"major\":1,\"minor\":0}}"
#define MAN_EMPTY "{\"format\":{\"major\":1,\"minor\":0},\"entries\":0,\"rows\":0,\"tar_bytes\":%s,\"objects\":[]}"

static envsync_status
read_crafted(const member *mem, size_t n, char *err, size_t errlen)
{
    memsink m = { 0 };
    es_artifact_opts o = mkopts(ES_COMP_NONE, 0);
    envsync_status s;

    craft(mem, n, &m);
    s = read_artifact(&o, m.p, m.len, 0, NULL, 0, NULL, err, errlen, NULL);
    memsink_free(&m);
    return s;
}

/* tar_bytes of a manifest following exactly one header member */
static const char *
man_after_header(char *buf, size_t len, const char *hdr)
{
    memsink m = { 0 };
    member one[] = { { "envsync.json", "header", hdr, 0, NULL } };

    craft(one, 1, &m);
    snprintf(buf, len, MAN_EMPTY, "0");
    {
        char pos[32];

        snprintf(pos, sizeof pos, "%zu", m.len - 1024);
        snprintf(buf, len, MAN_EMPTY, pos);
    }
    memsink_free(&m);
    return buf;
}

START_TEST(test_crafted_minimal_ok)
{
    char man[512], err[ES_ERRLEN];
    member mem[] = {
        { "envsync.json", "header", HDR_OK, 0, NULL },
        { "manifest.json", "manifest", man_after_header(man, sizeof man, HDR_OK), 0, NULL },
    };
    envsync_status s = read_crafted(mem, 2, err, sizeof err);

    ck_assert_msg(s == ENVSYNC_OK, "%d %s", s, err);
}
END_TEST

START_TEST(test_format_major)
{
    const char *hdr = "{\"format\":{\"major\":2,\"minor\":0},\"x\":1}";
    char man[512], err[ES_ERRLEN];
    member mem[] = {
        { "envsync.json", "header", hdr, 0, NULL },
        { "manifest.json", "manifest", man_after_header(man, sizeof man, hdr), 0, NULL },
    };
    envsync_status s = read_crafted(mem, 2, err, sizeof err);

    ck_assert_int_eq(s, ENVSYNC_ERR_INTEGRITY);
    ck_assert_msg(strstr(err, "artifact format 2.0 is newer than this envsync supports (1.x)"),
                  "%s", err);
}
END_TEST

START_TEST(test_format_minor_newer)
{
    const char *hdr = "{\"format\":{\"major\":1,\"minor\":7},\"future\":true}";
    char man[512], err[ES_ERRLEN];
    member mem[] = {
        { "envsync.json", "header", hdr, 0, NULL },
        { "manifest.json", "manifest", man_after_header(man, sizeof man, hdr), 0, NULL },
    };
    envsync_status s = read_crafted(mem, 2, err, sizeof err);

    ck_assert_msg(s == ENVSYNC_OK, "%d %s", s, err);
}
END_TEST

START_TEST(test_format_missing)
{
    const char *hdr = "{\"engine\":\"x\"}";
    char man[512], err[ES_ERRLEN];
    member mem[] = {
        { "envsync.json", "header", hdr, 0, NULL },
        { "manifest.json", "manifest", man_after_header(man, sizeof man, hdr), 0, NULL },
    };

    ck_assert_int_eq(read_crafted(mem, 2, err, sizeof err), ENVSYNC_ERR_INTEGRITY);
    ck_assert_msg(strstr(err, "no format version"), "%s", err);
}
END_TEST

START_TEST(test_crafted_errors)
{
    char man[512], err[ES_ERRLEN];
    const char *okman = man_after_header(man, sizeof man, HDR_OK);
    struct {
        member mem[4];
        size_t n;
        const char *msg;
    } cases[] = {
        { { { "data/x", "data", "1\n", 0, "1" } }, 1, "does not start with its header" },
        { { { "envsync.json", NULL, HDR_OK, 0, NULL } }, 1, "no envsync.kind" },
        { { { "envsync.json", "header", HDR_OK, 0, NULL } }, 1, "without its manifest" },
        { { { "envsync.json", "header", "[1,2]", 0, NULL } }, 1, "not a JSON object" },
        { { { "envsync.json", "header", HDR_OK, 0, NULL },
            { "x", "header", HDR_OK, 0, NULL } }, 2, "second header" },
        { { { "envsync.json", "header", HDR_OK, 0, NULL },
            { "x", "table", "", 0, NULL } }, 2, "unknown entry kind" },
        { { { "envsync.json", "header", HDR_OK, 0, NULL },
            { "x", "data", "", 0, "12x" } }, 2, "bad envsync.rows" },
        { { { "envsync.json", "header", HDR_OK, 0, NULL },
            { "link", "data", NULL, 1, NULL } }, 2, "not a regular file" },
        { { { "envsync.json", "header", HDR_OK, 0, NULL },
            { "manifest.json", "manifest", okman, 0, NULL },
            { "late", "data", "", 0, NULL } }, 3, "follows the manifest" },
        { { { "envsync.json", "header", HDR_OK, 0, NULL },
            { "manifest.json", "manifest", "{\"format\":{\"major\":1},\"entries\":0,\"rows\":0,"
              "\"tar_bytes\":1,\"objects\":[]}", 0, NULL } }, 2, "tar_bytes" },
        { { { "envsync.json", "header", HDR_OK, 0, NULL },
            { "data/a", "data", "1\n", 0, "1" },
            { "manifest.json", "manifest", "{\"format\":{\"major\":1},\"entries\":1,\"rows\":2,"
              "\"tar_bytes\":0,\"objects\":[]}", 0, NULL } }, 3, "1 rows read, manifest says 2" },
        { { { "envsync.json", "header", HDR_OK, 0, NULL },
            { "manifest.json", "manifest", "{\"entries\":0}", 0, NULL } }, 2, "no format version" },
        { { { "envsync.json", "header", HDR_OK, 0, NULL },
            { "manifest.json", "manifest", "not json", 0, NULL } }, 2, "not a JSON object" },
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        envsync_status s = read_crafted(cases[i].mem, cases[i].n, err, sizeof err);

        ck_assert_msg(s == ENVSYNC_ERR_INTEGRITY, "case %zu: status %d (%s)", i, s, err);
        ck_assert_msg(strstr(err, cases[i].msg), "case %zu: '%s' lacks '%s'", i, err, cases[i].msg);
    }
}
END_TEST

/* A member claiming a huge size is refused before memory is reserved. */
START_TEST(test_entry_limits)
{
    memsink m = { 0 };
    member mem[] = { { "envsync.json", "header", HDR_OK, 0, NULL } };
    char err[ES_ERRLEN];
    es_artifact_opts o = mkopts(ES_COMP_NONE, 0);
    unsigned char *p;
    envsync_status s;

    craft(mem, 1, &m);
    /* a second member header: copy the first (pax header + ustar header)
     * and patch its size field to 2 GiB (octal) */
    p = malloc(m.len + 4096);
    memcpy(p, m.p, m.len - 1024);
    {
        /* the header member is: pax 'x' header (512) + pax data (512) +
         * ustar header (512) + payload (512); patch the ustar size */
        size_t ustar = 1024, sum = 0;

        memcpy(p + m.len - 1024, m.p, 2048);
        memcpy(p + m.len - 1024 + ustar + 124, "20000000000", 11);
        memset(p + m.len - 1024 + ustar + 148, ' ', 8);
        for (size_t i = 0; i < 512; i++)
            sum += p[m.len - 1024 + ustar + i];
        snprintf((char *)p + m.len - 1024 + ustar + 148, 8, "%06zo", sum);
        memset(p + m.len - 1024 + 2048, 0, 2048);
    }
    s = read_artifact(&o, p, m.len + 3072, 0, NULL, 0, NULL, err, sizeof err, NULL);
    ck_assert_msg(s == ENVSYNC_ERR_INTEGRITY, "%d %s", s, err);
    free(p);
    memsink_free(&m);
}
END_TEST

START_TEST(test_not_an_artifact)
{
    char err[ES_ERRLEN];
    es_artifact_opts o = mkopts(ES_COMP_ZSTD, 0);
    const char *inputs[] = { "", "x", "hello world, this is not a tar file at all",
                             "\x28\xb5\x2f\xfd", "\x1f\x8b\x08\x00", "ENVSYNC\0AESGCM1\0" };
    size_t lens[] = { 0, 1, 42, 4, 4, 16 };

    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        envsync_status s = read_artifact(&o, (const unsigned char *)inputs[i], lens[i], 0,
                                         NULL, 0, NULL, err, sizeof err, NULL);

        ck_assert_msg(s == ENVSYNC_ERR_INTEGRITY, "input %zu: %d %s", i, s, err);
    }
    {
        unsigned char zeros[10240] = { 0 };

        ck_assert_int_eq(read_artifact(&o, zeros, sizeof zeros, 0, NULL, 0, NULL, err,
                                       sizeof err, NULL), ENVSYNC_ERR_INTEGRITY);
    }
}
END_TEST

/* ------------------------------------------------------------ encryption */
START_TEST(test_wrong_key)
{
    memsink m = { 0 };
    es_artifact_opts o = mkopts(ES_COMP_ZSTD, 1);
    char err[ES_ERRLEN];
    envsync_status s;

    small_artifact(ES_COMP_ZSTD, 1, &m);
    o.key = KEY2;
    s = read_artifact(&o, m.p, m.len, 0, NULL, 0, NULL, err, sizeof err, NULL);
    ck_assert_int_eq(s, ENVSYNC_ERR_INTEGRITY);
    ck_assert_msg(strstr(err, "decryption failed: wrong key or tampered data"), "%s", err);
    memsink_free(&m);
}
END_TEST

START_TEST(test_missing_key)
{
    memsink m = { 0 };
    es_artifact_opts o = mkopts(ES_COMP_ZSTD, 0);
    char err[ES_ERRLEN];
    envsync_status s;

    small_artifact(ES_COMP_ZSTD, 1, &m);
    s = read_artifact(&o, m.p, m.len, 0, NULL, 0, NULL, err, sizeof err, NULL);
    ck_assert_int_eq(s, ENVSYNC_ERR_CONFIG);
    ck_assert_msg(strstr(err, "test-key-2026"), "%s", err);
    s = read_artifact(NULL, m.p, m.len, 0, NULL, 0, NULL, err, sizeof err, NULL);
    ck_assert_int_eq(s, ENVSYNC_ERR_CONFIG);
    memsink_free(&m);
}
END_TEST

/* Splits an encrypted stream into header and frames (offsets, lengths). */
static size_t
split_frames(const unsigned char *p, size_t len, size_t *off, size_t *flen, size_t max)
{
    size_t pos = 16 + 2 + ((size_t)p[16] << 8 | p[17]) + 4 + 8, n = 0;

    off[n] = 0;
    flen[n++] = pos;
    while (pos + 4 <= len && n < max) {
        size_t l = (size_t)p[pos] << 24 | (size_t)p[pos + 1] << 16 | (size_t)p[pos + 2] << 8 | p[pos + 3];

        off[n] = pos;
        flen[n++] = 4 + l + 16;
        pos += 4 + l + 16;
    }
    ck_assert_uint_eq(pos, len);
    return n;
}

/* A multi-frame encrypted artifact: reorder, drop, duplicate, truncate. */
START_TEST(test_frames_tampered)
{
    size_t len = (size_t)3 << 20, off[16], flen[16], nf;
    unsigned char *pay = malloc(len), *copy;
    tentry t[1];
    es_artifact_opts o = mkopts(ES_COMP_NONE, 1);
    memsink m = { 0 };
    char err[ES_ERRLEN];
    uint32_t x = 1;

    for (size_t i = 0; i < len; i++) {
        x = x * 1664525u + 1013904223u;
        pay[i] = (unsigned char)(x >> 24);
    }
    memset(t, 0, sizeof t);
    ENVSYNC_ENTRY_INIT(t[0].e, ENVSYNC_ENTRY_BLOB);
    t[0].e.object = "rand";
    t[0].data = (const char *)pay;
    t[0].len = len;
    write_artifact(&o, t, 1, &m, NULL);
    nf = split_frames(m.p, m.len, off, flen, 16);
    ck_assert_uint_ge(nf, 5);   /* header + 4 frames */
    ck_assert_int_eq(read_artifact(&o, m.p, m.len, 0, t, 1, NULL, err, sizeof err, NULL), ENVSYNC_OK);
    copy = malloc(m.len * 2);
    /* swap frames 1 and 2 (both full frames: same length) */
    {
        size_t a = off[1], b = off[2], l = flen[1];

        memcpy(copy, m.p, m.len);
        memcpy(copy + a, m.p + b, l);
        memcpy(copy + b, m.p + a, l);
        ck_assert_int_eq(read_artifact(&o, copy, m.len, 0, NULL, 0, NULL, err, sizeof err, NULL),
                         ENVSYNC_ERR_INTEGRITY);
        ck_assert_msg(strstr(err, "decryption failed"), "%s", err);
    }
    /* drop frame 2 */
    {
        size_t a = off[2], l = flen[2];

        memcpy(copy, m.p, a);
        memcpy(copy + a, m.p + a + l, m.len - a - l);
        ck_assert_int_eq(read_artifact(&o, copy, m.len - l, 0, NULL, 0, NULL, err, sizeof err, NULL),
                         ENVSYNC_ERR_INTEGRITY);
    }
    /* duplicate frame 1 */
    {
        size_t a = off[2];

        memcpy(copy, m.p, a);
        memcpy(copy + a, m.p + off[1], flen[1]);
        memcpy(copy + a + flen[1], m.p + a, m.len - a);
        ck_assert_int_eq(read_artifact(&o, copy, m.len + flen[1], 0, NULL, 0, NULL, err, sizeof err, NULL),
                         ENVSYNC_ERR_INTEGRITY);
    }
    /* truncated at each frame boundary (the final frame missing) */
    for (size_t i = 1; i < nf; i++)
        ck_assert_int_eq(read_artifact(&o, m.p, off[i], 0, NULL, 0, NULL, err, sizeof err, NULL),
                         ENVSYNC_ERR_INTEGRITY);
    /* the final frame appended twice */
    memcpy(copy, m.p, m.len);
    memcpy(copy + m.len, m.p + off[nf - 1], flen[nf - 1]);
    ck_assert_int_eq(read_artifact(&o, copy, m.len + flen[nf - 1], 0, NULL, 0, NULL, err, sizeof err, NULL),
                     ENVSYNC_ERR_INTEGRITY);
    /* tampered ciphertext, tag, length and key id */
    {
        size_t spots[] = { off[1] + 100, off[2] + flen[2] - 3, off[3] + 1, 20, 16 + 2 + 13 + 4 + 3 };

        for (size_t i = 0; i < sizeof spots / sizeof spots[0]; i++) {
            memcpy(copy, m.p, m.len);
            copy[spots[i]] ^= 0x40;
            ck_assert_msg(read_artifact(&o, copy, m.len, 0, NULL, 0, NULL, err, sizeof err, NULL)
                          == ENVSYNC_ERR_INTEGRITY, "spot %zu", i);
        }
    }
    free(copy);
    free(pay);
    memsink_free(&m);
}
END_TEST

/* The crypt layer alone with tiny frames. */
static envsync_status
dec_all(const unsigned char *p, size_t len, const unsigned char *key, memsink *out, char *err)
{
    memsrc src = { p, len, 0, 3, 0, ENVSYNC_OK };
    es_crypt_dec *d;
    envsync_status s;
    unsigned char buf[37];
    size_t got;

    s = es_crypt_dec_new(&d, memsrc_read, &src, err, ES_ERRLEN);
    if (s != ENVSYNC_OK)
        return s;
    es_crypt_dec_set_key(d, key);
    do {
        s = es_crypt_dec_read(d, buf, sizeof buf, &got);
        if (s == ENVSYNC_OK)
            memsink_write(out, buf, got);
    } while (s == ENVSYNC_OK && got);
    if (s != ENVSYNC_OK)
        snprintf(err, ES_ERRLEN, "%s", es_crypt_dec_error(d));
    es_crypt_dec_free(d);
    return s;
}

START_TEST(test_crypt_frames)
{
    size_t sizes[] = { 0, 1, 63, 64, 65, 128, 1000 };
    char err[ES_ERRLEN];

    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        memsink m = { 0 }, out = { 0 };
        es_crypt_enc *c;
        unsigned char pt[1000];
        size_t off[64], flen[64], nf;

        for (size_t i = 0; i < sizes[k]; i++)
            pt[i] = (unsigned char)(i * 7);
        ck_assert_int_eq(es_crypt_enc_new(&c, KEY, "k", 64, memsink_write, &m, err, sizeof err), ENVSYNC_OK);
        for (size_t i = 0; i < sizes[k]; i += 10)
            ck_assert_int_eq(es_crypt_enc_write(c, pt + i, sizes[k] - i < 10 ? sizes[k] - i : 10,
                                                err, sizeof err), ENVSYNC_OK);
        ck_assert_int_eq(es_crypt_enc_finish(c, err, sizeof err), ENVSYNC_OK);
        es_crypt_enc_free(c);
        nf = split_frames(m.p, m.len, off, flen, 64);
        ck_assert_uint_eq(nf - 1, sizes[k] / 64 + (sizes[k] % 64 || !sizes[k] ? 1 : 0));
        ck_assert_int_eq(dec_all(m.p, m.len, KEY, &out, err), ENVSYNC_OK);
        ck_assert_uint_eq(out.len, sizes[k]);
        ck_assert(!sizes[k] || !memcmp(out.p, pt, sizes[k]));
        memsink_free(&out);
        /* wrong key */
        ck_assert_int_eq(dec_all(m.p, m.len, KEY2, &out, err), ENVSYNC_ERR_INTEGRITY);
        memsink_free(&out);
        /* every truncation */
        for (size_t cut = 0; cut < m.len; cut += stride()) {
            ck_assert_int_eq(dec_all(m.p, cut, KEY, &out, err), ENVSYNC_ERR_INTEGRITY);
            memsink_free(&out);
        }
        /* swap first two frames if there are two */
        if (nf >= 3 && flen[1] == flen[2]) {
            unsigned char *cp = malloc(m.len);

            memcpy(cp, m.p, m.len);
            memcpy(cp + off[1], m.p + off[2], flen[1]);
            memcpy(cp + off[2], m.p + off[1], flen[1]);
            ck_assert_int_eq(dec_all(cp, m.len, KEY, &out, err), ENVSYNC_ERR_INTEGRITY);
            memsink_free(&out);
            free(cp);
        }
        memsink_free(&m);
    }
}
END_TEST

/* ---------------------------------------------------------------- errors */
START_TEST(test_writer_sink_fails)
{
    size_t fails[] = { 1, 100, (size_t)1 << 20, (size_t)2 << 20 };

    for (size_t f = 0; f < sizeof fails / sizeof fails[0]; f++) {
        for (int enc = 0; enc <= 1; enc++) {
            memsink m = { 0 };
            es_artifact_opts o = mkopts(ES_COMP_NONE, enc);
            es_artifact_writer *w = NULL;
            envsync_status s;
            char err[ES_ERRLEN];
            size_t len = (size_t)3 << 20;
            char *pay = calloc(1, len);
            envsync_entry e;
            char *man = NULL;
            es_artifact_stats st;

            m.fail_at = fails[f];
            m.fail_status = ENVSYNC_ERR_STORAGE;
            ENVSYNC_ENTRY_INIT(e, ENVSYNC_ENTRY_BLOB);
            s = es_artifact_writer_new(&w, &o, "{}", memsink_write, &m, err, sizeof err);
            if (s == ENVSYNC_OK)
                s = es_artifact_write_entry(w, &e, pay, len, err, sizeof err);
            if (s == ENVSYNC_OK)
                s = es_artifact_writer_finish(w, NULL, &man, &st, err, sizeof err);
            ck_assert_msg(s == ENVSYNC_ERR_STORAGE, "fail_at %zu enc %d: %d", fails[f], enc, s);
            ck_assert_ptr_null(man);
            /* sticky */
            if (w) {
                ck_assert_int_eq(es_artifact_write_entry(w, &e, "x", 1, err, sizeof err),
                                 ENVSYNC_ERR_STORAGE);
                ck_assert_int_eq(es_artifact_writer_finish(w, NULL, NULL, &st, err, sizeof err),
                                 ENVSYNC_ERR_STORAGE);
            }
            es_artifact_writer_free(w);
            free(pay);
            memsink_free(&m);
        }
    }
}
END_TEST

START_TEST(test_reader_source_fails)
{
    memsink m = { 0 };
    es_artifact_opts o = mkopts(ES_COMP_ZSTD, 0);
    char err[ES_ERRLEN];

    small_artifact(ES_COMP_ZSTD, 0, &m);
    for (size_t at = 1; at < m.len; at += 97) {
        memsrc src = { m.p, m.len, 0, 50, at, ENVSYNC_ERR_CONNECT };
        es_artifact_reader *r = NULL;
        const char *h;
        envsync_status s = es_artifact_reader_new(&r, &o, memsrc_read, &src, &h, err, sizeof err);

        if (s != ENVSYNC_OK)
            ck_assert_ptr_null(r);
        while (s == ENVSYNC_OK) {
            envsync_entry e;
            const void *d;
            size_t l;
            int more;

            s = es_artifact_next(r, &e, &d, &l, &more, err, sizeof err);
            if (s == ENVSYNC_OK && !more)
                break;
        }
        ck_assert_msg(s == ENVSYNC_ERR_CONNECT, "fail at %zu: %d %s", at, s, err);
        es_artifact_reader_free(r);
    }
    memsink_free(&m);
}
END_TEST

START_TEST(test_writer_bad_input)
{
    memsink m = { 0 };
    es_artifact_opts o = mkopts(ES_COMP_ZSTD, 0);
    es_artifact_writer *w;
    char err[ES_ERRLEN];
    envsync_entry e;
    envsync_attr bad[] = { { "has space", "v" } };

    ck_assert_int_eq(es_artifact_writer_new(&w, &o, "[1]", memsink_write, &m, err, sizeof err),
                     ENVSYNC_ERR_OTHER);
    ck_assert_int_eq(m.len, 0);
    o.level = 99;
    ck_assert_int_eq(es_artifact_writer_new(&w, &o, "{}", memsink_write, &m, err, sizeof err),
                     ENVSYNC_ERR_CONFIG);
    o = mkopts(ES_COMP_GZIP, 0);
    o.level = 10;
    ck_assert_int_eq(es_artifact_writer_new(&w, &o, "{}", memsink_write, &m, err, sizeof err),
                     ENVSYNC_ERR_CONFIG);
    o = mkopts((es_compression)7, 0);
    ck_assert_int_eq(es_artifact_writer_new(&w, &o, "{}", memsink_write, &m, err, sizeof err),
                     ENVSYNC_ERR_CONFIG);
    o = mkopts(ES_COMP_NONE, 0);
    ck_assert_int_eq(es_artifact_writer_new(&w, &o, NULL, memsink_write, &m, err, sizeof err),
                     ENVSYNC_OK);
    memset(&e, 0, sizeof e);
    e.struct_size = sizeof e;
    e.kind = (envsync_entry_kind)42;
    ck_assert_int_eq(es_artifact_write_entry(w, &e, "", 0, err, sizeof err), ENVSYNC_ERR_OTHER);
    ENVSYNC_ENTRY_INIT(e, ENVSYNC_ENTRY_DATA);
    e.attrs = bad;
    e.nattrs = 1;
    ck_assert_int_eq(es_artifact_write_entry(w, &e, "", 0, err, sizeof err), ENVSYNC_ERR_OTHER);
    ck_assert_msg(strstr(err, "has space"), "%s", err);
    e.nattrs = 0;
    e.object = "\xff\xfe";
    ck_assert_int_eq(es_artifact_write_entry(w, &e, "", 0, err, sizeof err), ENVSYNC_ERR_OTHER);
    /* rejected entries leave the writer usable */
    e.object = "ok";
    ck_assert_int_eq(es_artifact_write_entry(w, &e, "", 0, err, sizeof err), ENVSYNC_OK);
    ck_assert_int_eq(es_artifact_writer_finish(w, "[]", NULL, NULL, err, sizeof err), ENVSYNC_ERR_OTHER);
    ck_assert_int_eq(es_artifact_writer_finish(w, NULL, NULL, NULL, err, sizeof err), ENVSYNC_OK);
    ck_assert_int_eq(es_artifact_writer_finish(w, NULL, NULL, NULL, err, sizeof err), ENVSYNC_ERR_OTHER);
    es_artifact_writer_free(w);
    /* free without finish (abort) */
    ck_assert_int_eq(es_artifact_writer_new(&w, NULL, "{}", memsink_write, &m, err, sizeof err),
                     ENVSYNC_OK);
    es_artifact_writer_free(w);
    memsink_free(&m);
}
END_TEST

START_TEST(test_compression_names)
{
    ck_assert_int_eq(es_compression_from_name("zstd"), ES_COMP_ZSTD);
    ck_assert_int_eq(es_compression_from_name("gzip"), ES_COMP_GZIP);
    ck_assert_int_eq(es_compression_from_name("none"), ES_COMP_NONE);
    ck_assert_int_eq(es_compression_from_name("lz4"), -1);
    ck_assert_int_eq(es_compression_from_name(NULL), -1);
    ck_assert_str_eq(es_compression_name(ES_COMP_GZIP), "gzip");
}
END_TEST

static Suite *
artifact_suite(void)
{
    Suite *s = suite_create("artifact");
    TCase *tc = tcase_create("roundtrip"), *big = tcase_create("large"),
          *bad = tcase_create("corruption"), *enc = tcase_create("encryption");

    tcase_set_timeout(tc, 600);
    tcase_set_timeout(big, 1800);
    tcase_set_timeout(bad, 1800);
    tcase_set_timeout(enc, 1800);
    tcase_add_loop_test(tc, test_roundtrip, 0, 6);
    tcase_add_test(tc, test_header_fields);
    tcase_add_test(tc, test_tar_names);
    tcase_add_test(tc, test_compression_names);
    tcase_add_test(tc, test_writer_bad_input);
    tcase_add_test(tc, test_writer_sink_fails);
    tcase_add_test(tc, test_reader_source_fails);
    tcase_add_loop_test(big, test_large_payload, 0, 2);
    tcase_add_loop_test(bad, test_truncation, 0, 6);
    tcase_add_loop_test(bad, test_bitflip, 0, 6);
    tcase_add_test(bad, test_bitflip_tar_headers);
    tcase_add_loop_test(bad, test_trailing_garbage, 0, 6);
    tcase_add_test(bad, test_crafted_minimal_ok);
    tcase_add_test(bad, test_format_major);
    tcase_add_test(bad, test_format_minor_newer);
    tcase_add_test(bad, test_format_missing);
    tcase_add_test(bad, test_crafted_errors);
    tcase_add_test(bad, test_entry_limits);
    tcase_add_test(bad, test_not_an_artifact);
    tcase_add_test(enc, test_wrong_key);
    tcase_add_test(enc, test_missing_key);
    tcase_add_test(enc, test_frames_tampered);
    tcase_add_test(enc, test_crypt_frames);
    suite_add_tcase(s, tc);
    suite_add_tcase(s, big);
    suite_add_tcase(s, bad);
    suite_add_tcase(s, enc);
    return s;
}

int
main(void)
{
    SRunner *sr;
    int failed;

#ifdef __GLIBC__
    /* thousands of readers with 1 MiB buffers: keep glibc from mapping
     * and trimming them every time (20 s of system time otherwise) */
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 64 << 20);
    mallopt(M_TOP_PAD, 16 << 20);
#endif
    sr = srunner_create(artifact_suite());

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
