/*
 * artifact.h - the envsync artifact, format v1 (docs/artifact-format.md).
 *
 * Writing:  entries -> pax tar (libarchive) -> compression (zstd | gzip |
 *           none) -> optional AES-256-GCM framing -> SHA-256 + byte count
 *           -> es_write_fn (a storage writer).
 * Reading:  es_read_fn -> SHA-256 + byte count -> decryption (detected by
 *           magic) -> decompression (detected by magic) -> tar -> entries.
 *
 * The first tar member is the header (`envsync.json`), the last is the
 * trailing manifest (`manifest.json`) with per-object counts.  The reader
 * checks the header's format version (unknown major -> integrity error),
 * that the counts observed while reading equal the trailing manifest's, and
 * that nothing follows the manifest.  A truncated, bit-flipped or
 * wrong-version artifact is always ENVSYNC_ERR_INTEGRITY.
 *
 * Memory: one entry payload at a time (bounded by ES_ARTIFACT_MAX_ENTRY)
 * plus fixed filter buffers, whatever the artifact size.
 *
 * Errors: functions return an envsync_status and write a one-line message
 * into err (never containing key material).  The caller adds job/object.
 */
#ifndef ES_ARTIFACT_H
#define ES_ARTIFACT_H

#include <envsync/plugin.h>

#define ES_ARTIFACT_FORMAT_MAJOR 1
#define ES_ARTIFACT_FORMAT_MINOR 0
/* Largest entry payload a reader accepts; writers must chunk below it. */
#define ES_ARTIFACT_MAX_ENTRY ((size_t)1 << 30)
#define ES_ERRLEN 1024

typedef enum es_compression {
    ES_COMP_ZSTD = 0,            /* default */
    ES_COMP_GZIP = 1,
    ES_COMP_NONE = 2
} es_compression;

typedef struct es_artifact_opts {
    es_compression compression;
    int level;                   /* compression level; -1 = the codec's default
                                  * (zstd 3, gzip 6) */
    int threads;                 /* zstd worker threads; 0 = none */
    const unsigned char *key;    /* 32-byte AES-256 key, or NULL = no encryption */
    const char *key_id;          /* recorded in the stream and manifest; may be NULL */
} es_artifact_opts;

/* Bytes leave the writer through this (called from the thread that calls
 * es_artifact_write_*); non-OK aborts the writer. */
typedef envsync_status (*es_write_fn)(void *arg, const void *data, size_t len);
/* The reader pulls bytes; *got = 0 means end of stream. */
typedef envsync_status (*es_read_fn)(void *arg, void *buf, size_t cap, size_t *got);

typedef struct es_artifact_stats {
    uint64_t stored_bytes;       /* bytes after compression/encryption */
    char sha256[65];             /* hex SHA-256 of those bytes */
    uint64_t tar_bytes;          /* uncompressed tar size */
    uint64_t entries;            /* entries, header and manifest excluded */
    uint64_t rows;               /* sum of DATA/DOCS rows */
} es_artifact_stats;

/* ---------------------------------------------------------------- writer */
typedef struct es_artifact_writer es_artifact_writer;

/* header_json: a JSON object text; the writer adds "format" =
 * {"major":1,"minor":0} and "compression"/"encryption" fields itself. */
envsync_status es_artifact_writer_new(es_artifact_writer **w,
                                      const es_artifact_opts *opts,
                                      const char *header_json,
                                      es_write_fn out, void *arg,
                                      char *err, size_t errlen);
/* Not thread-safe: the core serialises calls. */
envsync_status es_artifact_write_entry(es_artifact_writer *w,
                                       const envsync_entry *e,
                                       const void *data, size_t len,
                                       char *err, size_t errlen);
/* Writes the trailing manifest (the writer's own counts merged into
 * extra_json, an object or NULL), flushes every filter, fills *stats.
 * The manifest JSON written is returned in *manifest_json (malloc'd). */
envsync_status es_artifact_writer_finish(es_artifact_writer *w,
                                         const char *extra_json,
                                         char **manifest_json,
                                         es_artifact_stats *stats,
                                         char *err, size_t errlen);
void es_artifact_writer_free(es_artifact_writer *w);

/* ---------------------------------------------------------------- reader */
typedef struct es_artifact_reader es_artifact_reader;

/* opts->key is used only if the stream is encrypted (no key given for an
 * encrypted stream -> ENVSYNC_ERR_CONFIG naming the key id; wrong key ->
 * ENVSYNC_ERR_INTEGRITY).  Reads up to and including the header member;
 * *header_json points into the reader. */
envsync_status es_artifact_reader_new(es_artifact_reader **r,
                                      const es_artifact_opts *opts,
                                      es_read_fn in, void *arg,
                                      const char **header_json,
                                      char *err, size_t errlen);
/* Next entry: returns OK with *more = 1 and the entry/payload (valid until
 * the next call), or OK with *more = 0 at the verified end (manifest read,
 * counts matched, stream exhausted).  String fields of *e point into the
 * reader. */
envsync_status es_artifact_next(es_artifact_reader *r, envsync_entry *e,
                                const void **data, size_t *len, int *more,
                                char *err, size_t errlen);
/* After the end: the trailing manifest JSON and what was read. */
const char *es_artifact_manifest(es_artifact_reader *r);
void es_artifact_reader_stats(es_artifact_reader *r, es_artifact_stats *stats);
void es_artifact_reader_free(es_artifact_reader *r);

/* Parse "zstd" / "gzip" / "none". -1 if unknown. */
int es_compression_from_name(const char *name);
const char *es_compression_name(es_compression c);

#endif
