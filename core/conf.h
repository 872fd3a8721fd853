/*
 * conf.h - the configuration model (envsync.conf(5)).
 *
 * es_conf_load() reads a libconfig file (with @include), interpolates
 * ${VAR}, loads every plugin the file names (loader.h), and validates every
 * group against the core's own keys and the plugins' option tables before
 * anything runs.  Every error names file:line.  After a successful load the
 * model below is complete and immutable; the libconfig tree is gone.
 */
#ifndef ES_CONF_H
#define ES_CONF_H

#include <stdint.h>
#include <envsync/plugin.h>
#include "artifact.h"
#include "loader.h"

/* One validated option of a plugin instance. */
typedef struct es_optval {
    const envsync_option *def;
    int isset;               /* given in the config (not a default) */
    char *str;               /* STRING value (interpolated), else NULL */
    int64_t num;             /* INT, BOOL, SIZE, DURATION(ms) */
    char **list;             /* LIST items */
    size_t nlist;
    char *where;             /* "file:line" or "" */
} es_optval;

/* One plugin instance: a storage, or one phase of a job. */
typedef struct es_instance {
    char *label;             /* "storage upstream", "job app: restore" */
    char *where;             /* file:line of the group */
    es_plugin *plugin;       /* loaded, owned by the loader */
    es_optval *opts;         /* one per row of plugin->desc.options */
    size_t nopts;
    int enabled;
} es_instance;

typedef struct es_storage {
    char *name;
    char *prefix;            /* "" or "a/b" without trailing slash */
    es_instance inst;
} es_storage;

typedef struct es_job {
    char *name;
    char *where;
    int enabled;
    int64_t timeout_ms;      /* 0 = none */
    es_artifact_opts art;
    unsigned char key[32];   /* encryption key when art.key != NULL */
    char *key_id;

    es_instance *backup;     /* NULL when absent */
    es_instance *restore;
    es_instance *transforms;
    size_t ntransforms;
    struct {
        es_storage *storage;
        int enabled;
        char *where;
    } store;
    struct {
        es_storage *storage; /* where the run lock and last-run state live */
        int enabled;
        int64_t ttl_ms;
        int64_t wait_ms;
    } lock;
    struct {
        es_storage *storage;
        int enabled;
        char *job;           /* source job name in storage (default: name) */
        char *select;        /* "latest" or a timestamp */
        char *where;
    } fetch;
} es_job;

typedef struct es_conf {
    char *file;
    char *environment;
    char *plugin_dir;
    char *tmpdir;
    int log_format;          /* es_log_format */
    int log_level;
    int64_t progress_interval_ms;
    int allow_production_restore;
    char *metrics_pushgateway;   /* base URL, or NULL */
    char *metrics_textfile;      /* node-exporter textfile path, or NULL */
    char *webhook_url;           /* JSON POST on failure and recovery, or NULL */
    es_storage *storages;
    size_t nstorages;
    es_job *jobs;
    size_t njobs;
} es_conf;

/* Loads and validates.  On failure returns ENVSYNC_ERR_CONFIG or
 * ENVSYNC_ERR_PLUGIN with the message in err ("file:line: ...").
 * `overrides` may set log format/level from the command line (NULL ok). */
envsync_status es_conf_load(const char *file, es_loader *loader,
                            es_conf **out, char *err, size_t errlen);
void es_conf_free(es_conf *c);

es_job *es_conf_job(es_conf *c, const char *name);
es_storage *es_conf_storage(es_conf *c, const char *name);

/* Option lookup for host services. */
es_optval *es_instance_opt(es_instance *in, const char *name);

/* Does `environment` name production?  (contains "prod", any case) */
int es_env_is_production(const char *environment);

#endif
