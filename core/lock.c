#include "config.h"
#include "lock.h"
#include "log.h"
#include "stored.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/rand.h>

/* How long to wait after writing a lease before reading it back: covers a
 * concurrent writer on a store without atomic create-if-absent. */
#define SETTLE_MS 750
#define POLL_MS 2000

struct es_lock {
    es_run *run;
    es_storage *sto;
    envsync_ctx ctx;             /* own plugin instance: used by the heartbeat thread */
    char *key;
    char owner[160];
    int64_t ttl_ms;
    pthread_t thread;
    int thread_running;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop;
};

static void
sleep_ms(int64_t ms)
{
    struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };

    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

static char *
lease_text(es_lock *l, const char *acquired)
{
    char host[128] = "?";
    json_t *o;
    char *s;

    gethostname(host, sizeof host - 1);
    o = json_pack("{s:s, s:s, s:i, s:s, s:I, s:s}", "owner", l->owner, "host", host,
                  "pid", (int)getpid(), "acquired", acquired,
                  "expires", (json_int_t)(time(NULL) + l->ttl_ms / 1000 + 1),
                  "job", l->run->job->name);
    s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    return s;
}

/* Reads the lease: 1 present (owner/expires filled), 0 absent, <0 error status. */
static int
read_lease(es_lock *l, char *owner, size_t olen, int64_t *expires, char *desc, size_t dlen)
{
    char *text = NULL;
    envsync_status st = es_get_small(&l->ctx, l->key, &text, NULL);
    json_t *o;

    if (st == ENVSYNC_ERR_NOTFOUND) {
        l->ctx.err_status = ENVSYNC_OK;
        return 0;
    }
    if (st != ENVSYNC_OK)
        return -(int)st;
    o = json_loads(text, 0, NULL);
    free(text);
    if (!o || !json_is_string(json_object_get(o, "owner"))) {
        json_decref(o);
        snprintf(owner, olen, "?");
        *expires = 0;          /* unreadable lease: treat as stale */
        snprintf(desc, dlen, "an unreadable lease");
        return 1;
    }
    snprintf(owner, olen, "%s", json_string_value(json_object_get(o, "owner")));
    *expires = json_integer_value(json_object_get(o, "expires"));
    snprintf(desc, dlen, "%s (pid %lld, since %s)",
             json_is_string(json_object_get(o, "host")) ? json_string_value(json_object_get(o, "host")) : "?",
             (long long)json_integer_value(json_object_get(o, "pid")),
             json_is_string(json_object_get(o, "acquired")) ? json_string_value(json_object_get(o, "acquired")) : "?");
    json_decref(o);
    return 1;
}

static void *
heartbeat(void *arg)
{
    es_lock *l = arg;
    int64_t every = l->ttl_ms / 3 > 1000 ? l->ttl_ms / 3 : 1000;
    char acquired[21];

    es_iso8601(time(NULL), acquired);
    pthread_mutex_lock(&l->mu);
    while (!l->stop) {
        struct timespec ts;
        char owner[160], desc[256];
        int64_t exp;
        int r;

        es_abstime_in(every, &ts);
        pthread_cond_timedwait(&l->cv, &l->mu, &ts);
        if (l->stop)
            break;
        pthread_mutex_unlock(&l->mu);
        r = read_lease(l, owner, sizeof owner, &exp, desc, sizeof desc);
        if (r == 1 && strcmp(owner, l->owner) != 0) {
            es_log(ENVSYNC_LOG_ERROR, l->run->job->name, "lock", l->sto->inst.plugin->name,
                   "the run lock %s was taken over by %s: aborting", l->key, desc);
            es_run_fail(l->run, ENVSYNC_ERR_LOCKED);
        } else if (r >= 0) {
            char *text = lease_text(l, acquired);

            if (es_put_small(&l->ctx, l->key, text, strlen(text)) != ENVSYNC_OK)
                es_log(ENVSYNC_LOG_WARN, l->run->job->name, "lock", l->sto->inst.plugin->name,
                       "renewing the run lock %s failed: %s", l->key, es_ctx_message(&l->ctx));
            l->ctx.err_status = ENVSYNC_OK;
            free(text);
        }
        pthread_mutex_lock(&l->mu);
    }
    pthread_mutex_unlock(&l->mu);
    return NULL;
}

static void
lock_free(es_lock *l)
{
    es_ctx_close(&l->ctx);
    free(l->key);
    pthread_mutex_destroy(&l->mu);
    pthread_cond_destroy(&l->cv);
    free(l);
}

envsync_status
es_lock_acquire(es_run *run, es_storage *sto, int64_t ttl_ms, int64_t wait_ms, int force, es_lock **out)
{
    const char *job = run->job->name;
    es_lock *l = es_calloc(1, sizeof *l);
    int64_t give_up = es_now_ms() + wait_ms;
    unsigned char nonce[6];
    char host[128] = "?", acquired[21];
    envsync_status st;

    *out = NULL;
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->cv, NULL);
    l->run = run;
    l->sto = sto;
    l->ttl_ms = ttl_ms;
    l->key = es_key(sto, job, "lock");
    gethostname(host, sizeof host - 1);
    RAND_bytes(nonce, sizeof nonce);
    snprintf(l->owner, sizeof l->owner, "%s:%d:%02x%02x%02x%02x%02x%02x", host, (int)getpid(),
             nonce[0], nonce[1], nonce[2], nonce[3], nonce[4], nonce[5]);
    st = es_ctx_open(&l->ctx, run, run->conf, job, "lock", &sto->inst);
    if (st != ENVSYNC_OK) {
        es_log(ENVSYNC_LOG_ERROR, job, "lock", sto->inst.plugin->name, "%s", es_ctx_message(&l->ctx));
        lock_free(l);
        return st;
    }
    if (force) {
        st = sto->inst.plugin->desc.remove ? sto->inst.plugin->desc.remove(&l->ctx, l->ctx.state, l->key)
                                           : ENVSYNC_ERR_PLUGIN;
        if (st != ENVSYNC_OK && st != ENVSYNC_ERR_NOTFOUND) {
            es_log(ENVSYNC_LOG_ERROR, job, "lock", sto->inst.plugin->name, "--force-unlock: %s",
                   es_ctx_message(&l->ctx));
            lock_free(l);
            return st;
        }
        l->ctx.err_status = ENVSYNC_OK;
        es_log(ENVSYNC_LOG_WARN, job, "lock", sto->inst.plugin->name, "--force-unlock: removed %s", l->key);
    }
    for (;;) {
        char owner[160], desc[256];
        int64_t exp;
        int r = read_lease(l, owner, sizeof owner, &exp, desc, sizeof desc);
        char *text;

        if (r < 0) {
            es_log(ENVSYNC_LOG_ERROR, job, "lock", sto->inst.plugin->name, "reading the run lock %s: %s",
                   l->key, es_ctx_message(&l->ctx));
            lock_free(l);
            return (envsync_status)-r;
        }
        if (r == 1 && exp > (int64_t)time(NULL)) {
            if (es_now_ms() >= give_up || (st = es_run_cancelled(run)) != ENVSYNC_OK) {
                es_log(ENVSYNC_LOG_ERROR, job, "lock", sto->inst.plugin->name,
                       "job %s is already running: the run lock %s is held by %s until %lld "
                       "(in %llds); if that run is dead, wait for the lease to expire or use "
                       "`envsync run %s --force-unlock`", job, l->key, desc, (long long)exp,
                       (long long)(exp - time(NULL)), job);
                lock_free(l);
                return st ? st : ENVSYNC_ERR_LOCKED;
            }
            sleep_ms(POLL_MS);
            continue;
        }
        if (r == 1) {
            es_log(ENVSYNC_LOG_WARN, job, "lock", sto->inst.plugin->name,
                   "taking over the stale run lock %s of %s (expired %llds ago)", l->key, desc,
                   (long long)(time(NULL) - exp));
            if (sto->inst.plugin->desc.remove)
                sto->inst.plugin->desc.remove(&l->ctx, l->ctx.state, l->key);
            l->ctx.err_status = ENVSYNC_OK;
        }
        es_iso8601(time(NULL), acquired);
        text = lease_text(l, acquired);
        {
            const envsync_plugin *d = &sto->inst.plugin->desc;
            void *w = NULL;

            st = d->write_open(&l->ctx, l->ctx.state, l->key, ENVSYNC_WRITE_EXCLUSIVE, &w);
            if (st == ENVSYNC_OK) {
                st = d->write(&l->ctx, w, text, strlen(text));
                if (st == ENVSYNC_OK)
                    st = d->write_commit(&l->ctx, w);
                else
                    d->write_abort(&l->ctx, w);
            }
        }
        free(text);
        if (st == ENVSYNC_ERR_LOCKED) {
            l->ctx.err_status = ENVSYNC_OK;
            continue;        /* someone created it between our read and write */
        }
        if (st != ENVSYNC_OK) {
            es_log(ENVSYNC_LOG_ERROR, job, "lock", sto->inst.plugin->name, "writing the run lock %s: %s",
                   l->key, es_ctx_message(&l->ctx));
            lock_free(l);
            return st;
        }
        if (sto->inst.plugin->desc.storage_caps & ENVSYNC_STORAGE_ATOMIC_CREATE)
            break;       /* the create itself decided the race */
        sleep_ms(SETTLE_MS);
        r = read_lease(l, owner, sizeof owner, &exp, desc, sizeof desc);
        if (r == 1 && strcmp(owner, l->owner) == 0)
            break;
        if (r < 0) {
            lock_free(l);
            return (envsync_status)-r;
        }
        /* lost a race with a concurrent writer: wait like everyone else */
    }
    if (pthread_create(&l->thread, NULL, heartbeat, l) == 0)
        l->thread_running = 1;
    es_log(ENVSYNC_LOG_INFO, job, "lock", sto->inst.plugin->name, "run lock %s taken (lease %llds)",
           l->key, (long long)(ttl_ms / 1000));
    *out = l;
    return ENVSYNC_OK;
}

void
es_lock_release(es_lock *l)
{
    char owner[160], desc[256];
    int64_t exp;

    if (!l)
        return;
    if (l->thread_running) {
        pthread_mutex_lock(&l->mu);
        l->stop = 1;
        pthread_cond_signal(&l->cv);
        pthread_mutex_unlock(&l->mu);
        pthread_join(l->thread, NULL);
    }
    /* The run may be failing or cancelled: release regardless, so detach
     * the context from the run's cancellation. */
    l->ctx.run = NULL;
    l->ctx.err_status = ENVSYNC_OK;
    if (read_lease(l, owner, sizeof owner, &exp, desc, sizeof desc) == 1 && strcmp(owner, l->owner) == 0 &&
        l->sto->inst.plugin->desc.remove)
        l->sto->inst.plugin->desc.remove(&l->ctx, l->ctx.state, l->key);
    lock_free(l);
}

char *
es_state_get(es_run *run, es_storage *sto, const char *name)
{
    envsync_ctx ctx;
    char *key, *text = NULL;

    if (es_ctx_open(&ctx, NULL, run->conf, run->job->name, "state", &sto->inst) != ENVSYNC_OK) {
        es_ctx_close(&ctx);
        return NULL;
    }
    key = es_key(sto, run->job->name, name);
    if (es_get_small(&ctx, key, &text, NULL) != ENVSYNC_OK)
        text = NULL;
    free(key);
    es_ctx_close(&ctx);
    return text;
}

void
es_state_put(es_run *run, es_storage *sto, const char *name, const char *text)
{
    envsync_ctx ctx;
    char *key;

    if (es_ctx_open(&ctx, NULL, run->conf, run->job->name, "state", &sto->inst) == ENVSYNC_OK) {
        key = es_key(sto, run->job->name, name);
        if (es_put_small(&ctx, key, text, strlen(text)) != ENVSYNC_OK)
            es_log(ENVSYNC_LOG_WARN, run->job->name, "state", sto->inst.plugin->name,
                   "writing %s failed: %s", key, es_ctx_message(&ctx));
        free(key);
    }
    es_ctx_close(&ctx);
}
