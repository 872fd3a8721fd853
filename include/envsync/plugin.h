/*
 * envsync/plugin.h - the one header an envsync plugin includes.
 *
 * A plugin is a shared object (libtool module) that exports exactly one
 * symbol, envsync_plugin_entry().  The core dlopen()s it, calls the entry
 * with its host services table, and checks the returned descriptor's
 * abi_version and struct_size before touching anything else.
 *
 * Invariants
 * - Plugins link no core symbols: everything the core offers reaches them
 *   through `envsync_host` (a vtable) and the opaque `envsync_ctx`.
 * - Structs crossing the boundary start with a size (or version) field and
 *   only ever grow at the end.  A field is never removed or reordered.
 * - Every callback that can fail returns an envsync_status and, on failure,
 *   has called host->error() on the context (the core adds job and plugin).
 *   No longjmp, no exit(), no signal handlers inside plugins.
 * - Strings handed to a plugin stay valid for the plugin instance's
 *   lifetime unless a comment says otherwise; data buffers only for the call.
 *
 * ABI history (ENVSYNC_ABI_VERSION):
 *   1  first version: backup, store, fetch, transform, restore phases,
 *      entry sinks, storage objects, option tables.
 */
#ifndef ENVSYNC_PLUGIN_H
#define ENVSYNC_PLUGIN_H

#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ENVSYNC_ABI_VERSION 1

/* ------------------------------------------------------------------ status
 * Status codes double as the process exit codes (envsync(1) EXIT STATUS).
 * Never renumber; append only. */
typedef enum envsync_status {
    ENVSYNC_OK = 0,
    ENVSYNC_ERR_OTHER = 1,       /* anything not classified below */
    ENVSYNC_ERR_USAGE = 2,       /* bad command line */
    ENVSYNC_ERR_CONFIG = 3,      /* config file invalid (file:line given) */
    ENVSYNC_ERR_PLUGIN = 4,      /* plugin missing, wrong ABI, phase missing */
    ENVSYNC_ERR_CONNECT = 5,     /* server unreachable, connection lost */
    ENVSYNC_ERR_AUTH = 6,        /* authentication / permission refused */
    ENVSYNC_ERR_INTEGRITY = 7,   /* checksum, size, row count, format */
    ENVSYNC_ERR_TIMEOUT = 8,     /* job or request deadline passed */
    ENVSYNC_ERR_INTERRUPTED = 9, /* SIGTERM / SIGINT */
    ENVSYNC_ERR_STORAGE = 10,    /* storage unwritable, full, object missing */
    ENVSYNC_ERR_REFUSED = 11,    /* a safety rule refused the run
                                  * (production guard, sanitise policy) */
    ENVSYNC_ERR_LOCKED = 12,     /* another run holds the job's lock */
    ENVSYNC_ERR_NOTFOUND = 13,   /* storage: no such object (not fatal by itself) */
    ENVSYNC_ERR_RETRY = 14       /* transient; the caller may try again */
} envsync_status;

/* ------------------------------------------------------------------ phases */
enum envsync_phase {
    ENVSYNC_PHASE_BACKUP    = 1u << 0,
    ENVSYNC_PHASE_STORE     = 1u << 1,
    ENVSYNC_PHASE_FETCH     = 1u << 2,
    ENVSYNC_PHASE_TRANSFORM = 1u << 3,
    ENVSYNC_PHASE_RESTORE   = 1u << 4
};

/* ------------------------------------------------------------------ options
 * A plugin declares its options as a table ending with a zeroed row.  The
 * core checks the config group against it before the plugin is initialised:
 * unknown key, wrong type, missing required key are config errors with
 * file:line.  The plugin reads values with host->opt_*(). */
typedef enum envsync_opt_type {
    ENVSYNC_OPT_END = 0,
    ENVSYNC_OPT_STRING,      /* "text"; ${VAR} interpolated */
    ENVSYNC_OPT_INT,         /* integer (64-bit) */
    ENVSYNC_OPT_BOOL,        /* true / false */
    ENVSYNC_OPT_SIZE,        /* integer bytes or "16M", "1G", "512k" */
    ENVSYNC_OPT_DURATION,    /* integer seconds or "5s", "10m", "2h", "250ms";
                              * read back in milliseconds */
    ENVSYNC_OPT_LIST         /* list or array of strings: ( "a", "b" ) */
} envsync_opt_type;

enum envsync_opt_flags {
    ENVSYNC_OPT_REQUIRED = 1u << 0,
    /* A secret: never logged, redacted from every message, and may be given
     * as `<name>_file = "/path"` (file content, trailing newline stripped)
     * instead of inline. */
    ENVSYNC_OPT_SECRET   = 1u << 1
};

typedef struct envsync_option {
    const char *name;
    envsync_opt_type type;
    unsigned flags;
    const char *default_value;   /* as config text; NULL = no default */
    const char *help;            /* one line, for `envsync plugins --describe` */
} envsync_option;

/* ------------------------------------------------------------------ entries
 * Backup, transform and restore exchange entries.  An entry is a header
 * (this struct) and a byte payload of known size.  In the artifact each
 * entry becomes one member of a pax tar (see docs/artifact-format.md).
 *
 * Kinds and their payloads:
 *   SCHEMA    DDL text in the engine's dialect; `section` is "pre-data" or
 *             "post-data" (or another engine-defined section).
 *   DATA      table rows in the shared row format: fields separated by TAB,
 *             rows ended by LF, NULL as \N, and backslash escapes
 *             (\\ \t \n \r \b \f \v and \NNN octal).  `columns` names
 *             the fields (TAB-separated), `rows` counts them.  An entry
 *             with no rows and no bytes marks the end of a table's data:
 *             a backup may send one after a table's last chunk (it also
 *             records an empty table), a restore may start that table's
 *             index builds then, and a transform passes it on.  It is a
 *             hint: a restore stays correct if more rows follow.
 *   DOCS      index documents, one JSON object per line (NDJSON); `rows`
 *             counts documents.
 *   POSTLOAD  SQL (or engine request) to run after the load, before swap.
 *   META      engine-defined metadata (JSON), e.g. sequences, settings.
 *   BLOB      opaque bytes (large objects, snapshot references).
 * HEADER and MANIFEST members are written by the core; plugins never see
 * them as entries (the manifest's counts reach them through the host). */
typedef enum envsync_entry_kind {
    ENVSYNC_ENTRY_SCHEMA = 1,
    ENVSYNC_ENTRY_DATA = 2,
    ENVSYNC_ENTRY_DOCS = 3,
    ENVSYNC_ENTRY_POSTLOAD = 4,
    ENVSYNC_ENTRY_META = 5,
    ENVSYNC_ENTRY_BLOB = 6
} envsync_entry_kind;

typedef struct envsync_attr {
    const char *key;     /* [a-z0-9_.-]+, plugin-defined */
    const char *value;   /* UTF-8 text */
} envsync_attr;

typedef struct envsync_entry {
    size_t struct_size;          /* sizeof(envsync_entry) of the producer */
    envsync_entry_kind kind;
    const char *schema;          /* namespace: SQL schema, ES index; may be NULL */
    const char *object;          /* table, index, sequence...; may be NULL */
    const char *section;         /* SCHEMA/POSTLOAD: section name; may be NULL */
    const char *columns;         /* DATA: TAB-separated column names */
    uint64_t rows;               /* DATA/DOCS: rows or documents in payload */
    uint64_t seq;                /* chunk number within (schema, object), from 0 */
    const envsync_attr *attrs;   /* extra key/values, may be NULL */
    size_t nattrs;
} envsync_entry;

/* Initialise an entry header on the stack: ENVSYNC_ENTRY_INIT(e, kind). */
#define ENVSYNC_ENTRY_INIT(e, k) do { \
        memset(&(e), 0, sizeof(e)); (e).struct_size = sizeof(e); (e).kind = (k); \
    } while (0)

typedef struct envsync_ctx envsync_ctx;   /* opaque, owned by the core */

/* A sink accepts whole entries.  put() is safe to call from several threads
 * at once (the core serialises); it blocks while downstream is busy, which is
 * how memory stays bounded.  It returns non-OK when the run is failing or
 * cancelled: stop producing and return that status. */
typedef struct envsync_sink envsync_sink;
struct envsync_sink {
    envsync_status (*put)(envsync_sink *sink, const envsync_entry *entry,
                          const void *data, size_t len);
    void *priv;                  /* the core's */
};

/* ------------------------------------------------------------------ storage
 * Storage plugins move bytes.  Keys are '/'-separated relative names; the
 * core adds the configured prefix and job name.  A writer's object becomes
 * visible only at commit() (file: rename; S3: CompleteMultipartUpload);
 * abort() leaves nothing visible and nothing orphaned. */
typedef struct envsync_object_info {
    const char *key;
    uint64_t size;
    int64_t mtime;               /* seconds since the epoch, or -1 */
} envsync_object_info;

enum envsync_write_flags {
    /* commit() must fail with ENVSYNC_ERR_LOCKED if the key exists
     * (create-if-absent), where the store supports it. */
    ENVSYNC_WRITE_EXCLUSIVE = 1u << 0
};

enum envsync_storage_caps {
    /* write_commit with ENVSYNC_WRITE_EXCLUSIVE is an atomic
     * create-if-absent on every store this plugin talks to: of two
     * concurrent committers exactly one succeeds.  Without it the core
     * reads a lease back after a pause to catch a lost race. */
    ENVSYNC_STORAGE_ATOMIC_CREATE = 1u << 0
};

typedef envsync_status (*envsync_list_cb)(void *arg, const envsync_object_info *obj);

/* ------------------------------------------------------------------ host
 * Services the core offers to plugins.  Check host->struct_size before using
 * a member added after ABI 1 (none yet). */
enum envsync_log_level {
    ENVSYNC_LOG_ERROR = 0,
    ENVSYNC_LOG_WARN = 1,
    ENVSYNC_LOG_INFO = 2,
    ENVSYNC_LOG_DEBUG = 3
};

typedef struct envsync_host {
    uint32_t abi_version;
    uint32_t struct_size;

    /* Logging, prefixed with job, phase and plugin; secrets redacted. */
    void (*log)(envsync_ctx *ctx, int level, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
    /* Record the failure message for this context and return `status`, so
     * `return host->error(ctx, ENVSYNC_ERR_CONNECT, "...")` reads naturally.
     * A later call replaces the message only if none is set yet. */
    envsync_status (*error)(envsync_ctx *ctx, envsync_status status,
                            const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

    /* Options (already validated; defaults applied).  opt_string returns
     * NULL for an absent option without default; secrets come back in clear
     * and are registered for redaction. */
    const char *(*opt_string)(envsync_ctx *ctx, const char *name);
    int64_t (*opt_int)(envsync_ctx *ctx, const char *name);  /* INT, SIZE,
                                                   DURATION (ms), BOOL (0/1) */
    int (*opt_isset)(envsync_ctx *ctx, const char *name);  /* given in config */
    size_t (*opt_list_count)(envsync_ctx *ctx, const char *name);
    const char *(*opt_list_item)(envsync_ctx *ctx, const char *name, size_t i);

    /* Where the option was set, "file:line", for plugin-side validation
     * messages; "" when unknown. */
    const char *(*opt_where)(envsync_ctx *ctx, const char *name);

    /* Run facts. */
    const char *(*job)(envsync_ctx *ctx);
    const char *(*environment)(envsync_ctx *ctx);
    /* true when [envsync] allow_production_restore is set */
    int (*allow_production)(envsync_ctx *ctx);
    /* true when `environment` names production (contains "prod") */
    int (*is_production)(envsync_ctx *ctx);
    /* A scratch directory private to this run, removed afterwards. */
    const char *(*tmpdir)(envsync_ctx *ctx);

    /* Non-zero once the run must stop (signal, timeout, failure elsewhere);
     * the value is the status to return.  Poll it in every long loop. */
    envsync_status (*cancelled)(envsync_ctx *ctx);

    /* Progress counters (thread-safe): add bytes and rows just processed. */
    void (*progress)(envsync_ctx *ctx, uint64_t bytes, uint64_t rows);

    /* Restore/transform: rows the core expects for (schema, object) after
     * transforms, from the artifact's manifest.  Returns 0 and sets *rows,
     * or -1 when the object is not in the manifest.  Valid from the first
     * restore_entry until restore_finish. */
    int (*expected_rows)(envsync_ctx *ctx, const char *schema,
                         const char *object, uint64_t *rows);

    /* The engine recorded in the artifact being restored (e.g. "postgres"),
     * and its header JSON, for compatibility checks. NULL in other phases. */
    const char *(*artifact_engine)(envsync_ctx *ctx);
    const char *(*artifact_header)(envsync_ctx *ctx);

    /* Register a value to redact from every message (e.g. a token fetched
     * at run time). */
    void (*redact)(envsync_ctx *ctx, const char *secret);
} envsync_host;

/* ------------------------------------------------------------------ plugin
 * Callbacks receive the context and the instance state returned by init().
 * NULL callbacks mean "phase not provided"; `phases` must agree. */
typedef struct envsync_plugin {
    uint32_t abi_version;        /* ENVSYNC_ABI_VERSION */
    uint32_t struct_size;        /* sizeof(envsync_plugin) */
    const char *name;            /* "postgres" */
    const char *version;         /* "1.0.0" */
    const char *description;     /* one line */
    const char *engine;          /* engine written into artifacts by backup,
                                  * accepted by restore; NULL for storage */
    unsigned phases;             /* ENVSYNC_PHASE_* bitmask */
    const envsync_option *options;

    /* instance life: init after options validated; check probes the
     * connection for `envsync check` (may be NULL); destroy frees. */
    envsync_status (*init)(envsync_ctx *ctx, void **state);
    envsync_status (*check)(envsync_ctx *ctx, void *state);
    void (*destroy)(void *state);

    /* backup: produce every entry into `out`, then return OK.  Engine
     * version information for the header goes through `info` (a short JSON
     * object text, may stay NULL; malloc'd, the core frees it). */
    envsync_status (*backup)(envsync_ctx *ctx, void *state, envsync_sink *out,
                             char **info);

    /* transform: called for each entry in order; emit zero or more entries
     * into `out`.  finish may emit trailing entries. */
    envsync_status (*transform_begin)(envsync_ctx *ctx, void *state);
    envsync_status (*transform_entry)(envsync_ctx *ctx, void *state,
                                      const envsync_entry *entry,
                                      const void *data, size_t len,
                                      envsync_sink *out);
    envsync_status (*transform_finish)(envsync_ctx *ctx, void *state,
                                       envsync_sink *out);

    /* restore: begin (prepare a new database beside the target), one call
     * per entry in artifact order, then finish (verify counts, post-load,
     * swap) only after the whole stream was read and verified.  abort may
     * be called at any point after begin and must leave the target as it
     * was and remove the temporary copy. */
    envsync_status (*restore_begin)(envsync_ctx *ctx, void *state);
    envsync_status (*restore_entry)(envsync_ctx *ctx, void *state,
                                    const envsync_entry *entry,
                                    const void *data, size_t len);
    envsync_status (*restore_finish)(envsync_ctx *ctx, void *state);
    void (*restore_abort)(envsync_ctx *ctx, void *state);

    /* storage (store and fetch phases; list and remove serve selection and
     * retention).  Writers and readers are opaque handles. */
    envsync_status (*write_open)(envsync_ctx *ctx, void *state,
                                 const char *key, unsigned flags,
                                 void **writer);
    envsync_status (*write)(envsync_ctx *ctx, void *writer,
                            const void *data, size_t len);
    envsync_status (*write_commit)(envsync_ctx *ctx, void *writer);
    void (*write_abort)(envsync_ctx *ctx, void *writer);  /* frees writer;
                                             also after a failed commit */
    /* read_open: ENVSYNC_ERR_NOTFOUND if absent; *size set if known
     * (else UINT64_MAX). */
    envsync_status (*read_open)(envsync_ctx *ctx, void *state,
                                const char *key, uint64_t *size,
                                void **reader);
    /* read up to cap bytes; *got = 0 means end of object. */
    envsync_status (*read)(envsync_ctx *ctx, void *reader, void *buf,
                           size_t cap, size_t *got);
    void (*read_close)(envsync_ctx *ctx, void *reader);
    /* list every object whose key starts with prefix (any order). */
    envsync_status (*list)(envsync_ctx *ctx, void *state, const char *prefix,
                           envsync_list_cb cb, void *arg);
    envsync_status (*remove)(envsync_ctx *ctx, void *state, const char *key);

    /* ENVSYNC_STORAGE_* bits (added within ABI 1: plugins built before it
     * have a smaller struct_size and read as 0). */
    unsigned storage_caps;
} envsync_plugin;

/* The one exported symbol.  Returns a static descriptor. */
typedef const envsync_plugin *(*envsync_plugin_entry_fn)(const envsync_host *host);
#define ENVSYNC_PLUGIN_ENTRY "envsync_plugin_entry"
const envsync_plugin *envsync_plugin_entry(const envsync_host *host);

#ifdef __cplusplus
}
#endif
#endif /* ENVSYNC_PLUGIN_H */
