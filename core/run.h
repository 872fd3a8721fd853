/*
 * run.h - one run of one job, and the contexts handed to plugins.
 *
 * A run owns: the job's plugin instances (each an envsync_ctx with the
 * plugin's state), a cancellation status shared by every thread, progress
 * counters, a scratch directory, and a watchdog thread that turns signals
 * and the job deadline into cancellation and prints progress lines.
 *
 * Cancellation: the first failure anywhere (plugin, core, signal, deadline)
 * stores its status in run->cancel; every sink put() and host->cancelled()
 * then returns it, so parallel producers stop and the pipeline unwinds
 * through the abort paths.
 */
#ifndef ES_RUN_H
#define ES_RUN_H

#include <pthread.h>
#include <stdatomic.h>
#include <signal.h>
#include <envsync/plugin.h>
#include "conf.h"

extern volatile sig_atomic_t es_signal_received;
extern const envsync_host es_host;

typedef struct es_counts es_counts;   /* (schema, object) -> rows */

typedef struct es_run {
    es_conf *conf;
    es_job *job;
    char *tmpdir;
    atomic_int cancel;               /* envsync_status, 0 = running */
    atomic_int reported;             /* the first failure was logged */
    atomic_uint_fast64_t bytes;      /* progress of the current phase */
    atomic_uint_fast64_t rows;
    const char *phase;               /* current phase for progress lines */
    int64_t start_ms;
    int64_t phase_start_ms;
    int64_t deadline_ms;             /* monotonic; 0 = none */
    es_counts *expected;             /* rows delivered to restore */
    char *artifact_engine;
    char *artifact_header;
    pthread_t watchdog;
    int watchdog_running;
    pthread_mutex_t wd_lock;
    pthread_cond_t wd_cond;
    int stopping;
    time_t start_wall;
    struct {
        const char *name;
        int64_t ms;
        uint64_t bytes, rows;
    } phases[8];                     /* finished phases, for metrics */
    size_t nphases;
    uint64_t artifact_size;          /* stored or fetched artifact */
    char fail_msg[1024];             /* the first failure's message */
    int timeout_logged;
} es_run;

struct envsync_ctx {
    es_run *run;                     /* NULL for storage-only commands */
    es_conf *conf;
    const char *job;                 /* job name or NULL */
    const char *phase;               /* "backup", "store", ... */
    es_instance *inst;
    void *state;                     /* plugin's, from init() */
    int initialised;
    pthread_mutex_t lock;
    envsync_status err_status;
    char err[1024];
};

/* Context for an instance; calls the plugin's init().  On failure the
 * context is still returned (for its message) but not initialised. */
envsync_status es_ctx_open(envsync_ctx *ctx, es_run *run, es_conf *conf,
                           const char *job, const char *phase, es_instance *inst);
void es_ctx_close(envsync_ctx *ctx);
/* Record an error from the core on a context (like host->error). */
envsync_status es_ctx_error(envsync_ctx *ctx, envsync_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
const char *es_ctx_message(envsync_ctx *ctx);

/* Cancellation shared by the run. First status wins. */
void es_run_fail(es_run *run, envsync_status st);
envsync_status es_run_cancelled(es_run *run);

/* Counts table. */
es_counts *es_counts_new(void);
void es_counts_add(es_counts *c, const char *schema, const char *object, uint64_t rows);
int es_counts_get(es_counts *c, const char *schema, const char *object, uint64_t *rows);
void es_counts_free(es_counts *c);

typedef struct es_run_opts {
    const char *select;              /* --at TIMESTAMP overrides fetch.select */
    int dry_run;
    int force_unlock;                /* --force-unlock */
} es_run_opts;

envsync_status es_run_job(es_conf *conf, es_job *job, const es_run_opts *opts);
/* `envsync check`: pass the schema of the artifact the job would fetch
 * through its transforms (nothing restored, nothing stored); deep reads
 * the whole artifact (post-data DDL too) and verifies it. */
envsync_status es_run_check_schema(es_conf *conf, es_job *job, int deep);

const char *es_status_name(envsync_status st);

#endif
