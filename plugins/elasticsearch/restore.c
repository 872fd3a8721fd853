/*
 * restore.c - logical restore: load beside, check, swap aliases.
 *
 * For every index X in the artifact:
 *   restore_entry(META X)   PUT /X-envsync-<ts> with the saved settings and
 *                           mappings, replicas 0 and refresh off
 *   restore_entry(DOCS X)   bulk batches of batch_size documents, sent by
 *                           bulk_concurrency threads through a bounded queue
 *                           (memory: about 2 x concurrency batches); items
 *                           rejected with 429 are re-sent with backoff, any
 *                           other item error fails the restore, naming the
 *                           first document and its reason
 *   restore_finish          settings back, refresh, _count against the
 *                           manifest, then ONE POST /_aliases for all
 *                           indices (see es_swap_aliases)
 *   restore_abort           delete the new indices; the old ones still serve
 * action.auto_create_index is false from begin to finish/abort, so that an
 * application writing during the restore cannot recreate an index under a
 * name the swap is about to take; it is put back even on failure.
 */
#include "es.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct batch {
    struct batch *next;
    char *index;                 /* target index name (new) */
    es_buf body;                 /* NDJSON: action + source per op */
    size_t *ops;                 /* offset of each op in body, plus end */
    size_t nops, capops;
} batch;

typedef struct es_restore {
    char suffix[32];
    json_t *plan;                /* array of {original,new,aliases,settings_after,loaded} */
    json_t *byname;              /* original name -> plan element */
    json_t *bynew;               /* new name -> plan element (guarded by mu) */
    json_t *snapref;             /* snapshot mode: the reference entry */
    int guard;                   /* auto_create_index changed */
    json_t *prior;               /* {"persistent":v|null,"transient":v|null} */

    /* bulk pool */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    batch *head, *tail;
    int queued, cap;
    int stop;
    int nthreads;
    pthread_t *tids;
    envsync_status err;          /* first worker failure */
    uint64_t loaded;

    batch *cur;                  /* being filled by restore_entry */
} es_restore;

/* ------------------------------------------------------------ guard */

envsync_status
es_auto_create_guard(es_state *st, int on)
{
    es_restore *R = st->restore;
    json_t *cur = NULL, *body;
    envsync_status s;
    const char *scope;

    if (on) {
        json_t *p, *t;
        s = es_json(st->cl, "GET", "/_cluster/settings?flat_settings=true", NULL, 0, NULL, &cur,
                    "read cluster settings");
        if (s != ENVSYNC_OK)
            return s;
        p = json_object_get(json_object_get(cur, "persistent"), "action.auto_create_index");
        t = json_object_get(json_object_get(cur, "transient"), "action.auto_create_index");
        R->prior = json_pack("{s:O?,s:O?}", "persistent", p, "transient", t);
        json_decref(cur);
        body = json_object();
        json_object_set_new(body, "persistent", json_pack("{s:s}", "action.auto_create_index", "false"));
        if (t)
            json_object_set_new(body, "transient", json_pack("{s:s}", "action.auto_create_index", "false"));
        s = es_json(st->cl, "PUT", "/_cluster/settings", body, 0, NULL, NULL,
                    "set action.auto_create_index=false");
        json_decref(body);
        if (s == ENVSYNC_OK)
            R->guard = 1;
        return s;
    }
    if (!R->guard)
        return ENVSYNC_OK;
    body = json_object();
    for (scope = "persistent";; scope = "transient") {
        json_t *v = json_object_get(R->prior, scope);
        if (strcmp(scope, "persistent") == 0 || v)
            json_object_set_new(body, scope, json_pack("{s:O}", "action.auto_create_index",
                                                       v ? v : json_null()));
        if (strcmp(scope, "transient") == 0)
            break;
    }
    s = es_json(st->cl, "PUT", "/_cluster/settings", body, 0, NULL, NULL,
                "reset action.auto_create_index");
    json_decref(body);
    if (s == ENVSYNC_OK)
        R->guard = 0;
    return s;
}

/* ------------------------------------------------------------ bulk pool */

static void
batch_free(batch *b)
{
    if (!b)
        return;
    free(b->index);
    es_buf_free(&b->body);
    free(b->ops);
    free(b);
}

static void
set_err(es_restore *R, envsync_status s)
{
    pthread_mutex_lock(&R->mu);
    if (R->err == ENVSYNC_OK)
        R->err = s;
    pthread_cond_broadcast(&R->cv);
    pthread_mutex_unlock(&R->mu);
}

static void
nap_ms(es_state *st, long ms)
{
    while (ms > 0 && st->host->cancelled(st->ctx) == ENVSYNC_OK) {
        long d = ms > 100 ? 100 : ms;
        struct timespec ts = { 0, d * 1000000L };
        nanosleep(&ts, NULL);
        ms -= d;
    }
}

/* Send one batch; re-send items rejected with 429. */
static envsync_status
send_batch(es_state *st, es_client *cl, batch *b, uint64_t *ok)
{
    const envsync_host *h = st->host;
    es_buf body = ES_BUF_INIT;
    size_t *idx = malloc(b->nops * sizeof *idx), n = b->nops, i;
    int attempt;
    envsync_status s = ENVSYNC_OK;
    char what[300];

    snprintf(what, sizeof what, "bulk load into %s", b->index);
    for (i = 0; i < n; i++)
        idx[i] = i;
    for (attempt = 0;; attempt++) {
        es_reply r;
        const char *errs;
        size_t en, nretry = 0;
        json_t *j, *items;

        es_buf_reset(&body);
        if (n == b->nops)
            es_buf_append(&body, b->body.data, b->body.len);
        else
            for (i = 0; i < n; i++)
                es_buf_append(&body, b->body.data + b->ops[idx[i]],
                              b->ops[idx[i] + 1] - b->ops[idx[i]]);
        s = es_call(cl, "POST", "/_bulk", body.data, body.len, "application/x-ndjson", &r);
        if (s != ENVSYNC_OK)
            break;
        if (r.status != 200) {
            s = es_fail(cl, &r, what);
            break;
        }
        if (es_jfind(r.body, r.body + r.len, "errors", &errs, &en) == 0 && en == 5 &&
            memcmp(errs, "false", 5) == 0) {
            *ok += n;
            break;
        }
        j = json_loadb(r.body, r.len, 0, NULL);
        items = json_object_get(j, "items");
        if (!json_is_array(items) || json_array_size(items) != n) {
            json_decref(j);
            s = h->error(st->ctx, ENVSYNC_ERR_INTEGRITY, "%s: bulk response has %zu items for %zu "
                         "documents", what, json_array_size(items), n);
            break;
        }
        for (i = 0; i < n; i++) {
            json_t *it = json_array_get(items, i), *res = NULL;
            const char *k;
            long status;
            json_object_foreach(it, k, res) break;
            status = (long)json_integer_value(json_object_get(res, "status"));
            if (status >= 200 && status < 300) {
                (*ok)++;
            } else if (status == 429) {
                idx[nretry++] = idx[i];
            } else if (s == ENVSYNC_OK) {
                json_t *err = json_object_get(res, "error");
                const char *type = json_string_value(json_object_get(err, "type"));
                const char *reason = json_string_value(json_object_get(err, "reason"));
                const char *cause = json_string_value(json_object_get(json_object_get(err, "caused_by"),
                                                                      "reason"));
                const char *id = json_string_value(json_object_get(res, "_id"));
                s = h->error(st->ctx, ENVSYNC_ERR_INTEGRITY,
                             "%s: document _id=%s rejected: HTTP %ld %s: %s%s%s", what,
                             id ? id : "?", status, type ? type : "error", reason ? reason : "",
                             cause ? " (caused by: " : "", cause ? cause : "");
                if (cause)
                    h->log(st->ctx, ENVSYNC_LOG_DEBUG, "%s)", cause);
            }
        }
        json_decref(j);
        if (s != ENVSYNC_OK || nretry == 0)
            break;
        if (attempt >= st->conn.http.retries) {
            s = h->error(st->ctx, ENVSYNC_ERR_RETRY, "%s: %zu documents still rejected (429) after "
                         "%d retries", what, nretry, attempt);
            break;
        }
        h->log(st->ctx, ENVSYNC_LOG_DEBUG, "%s: %zu documents rejected (429), retrying", what, nretry);
        n = nretry;
        nap_ms(st, es_http_backoff_ms(&st->conn.http, attempt));
        if ((s = h->cancelled(st->ctx)) != ENVSYNC_OK)
            break;
    }
    free(idx);
    es_buf_free(&body);
    return s;
}

static void *
bulk_worker(void *arg)
{
    es_state *st = arg;
    es_restore *R = st->restore;
    es_client *cl = es_client_new(&st->conn);

    for (;;) {
        batch *b;
        uint64_t ok = 0;
        envsync_status s;

        pthread_mutex_lock(&R->mu);
        while (!R->head && !R->stop)
            pthread_cond_wait(&R->cv, &R->mu);
        b = R->head;
        if (b) {
            R->head = b->next;
            if (!R->head)
                R->tail = NULL;
            R->queued--;
            pthread_cond_broadcast(&R->cv);
        }
        pthread_mutex_unlock(&R->mu);
        if (!b)
            break;
        if (R->err != ENVSYNC_OK || !cl) {
            batch_free(b);
            continue;
        }
        s = send_batch(st, cl, b, &ok);
        pthread_mutex_lock(&R->mu);
        R->loaded += ok;
        {
            json_t *p = json_object_get(R->bynew, b->index);
            json_int_t was = json_integer_value(json_object_get(p, "sent"));
            if (p)
                json_object_set_new(p, "sent", json_integer(was + (json_int_t)ok));
        }
        pthread_mutex_unlock(&R->mu);
        batch_free(b);
        if (s != ENVSYNC_OK)
            set_err(R, s);
    }
    es_client_free(cl);
    return NULL;
}

static envsync_status
enqueue(es_state *st, batch *b)
{
    es_restore *R = st->restore;
    envsync_status s;

    pthread_mutex_lock(&R->mu);
    while (R->queued >= R->cap && R->err == ENVSYNC_OK) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 200000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&R->cv, &R->mu, &ts);
        if (st->host->cancelled(st->ctx) != ENVSYNC_OK)
            break;
    }
    s = R->err;
    if (s == ENVSYNC_OK && (s = st->host->cancelled(st->ctx)) == ENVSYNC_OK) {
        b->next = NULL;
        if (R->tail)
            R->tail->next = b;
        else
            R->head = b;
        R->tail = b;
        R->queued++;
        pthread_cond_broadcast(&R->cv);
        b = NULL;
    }
    pthread_mutex_unlock(&R->mu);
    batch_free(b);
    return s;
}

static envsync_status
drain(es_state *st)
{
    es_restore *R = st->restore;
    int i;

    if (!R->tids)
        return R->err;
    pthread_mutex_lock(&R->mu);
    R->stop = 1;
    pthread_cond_broadcast(&R->cv);
    pthread_mutex_unlock(&R->mu);
    for (i = 0; i < R->nthreads; i++)
        pthread_join(R->tids[i], NULL);
    free(R->tids);
    R->tids = NULL;
    return R->err;
}

/* ------------------------------------------------------------ begin */

envsync_status
es_restore_begin(es_state *st)
{
    const envsync_host *h = st->host;
    es_restore *R;
    const char *engine = h->artifact_engine(st->ctx);
    envsync_status s;
    int i;

    if (engine && strcmp(engine, "elasticsearch") != 0)
        return h->error(st->ctx, ENVSYNC_ERR_INTEGRITY,
                        "the artifact was made by engine \"%s\", not elasticsearch", engine);
    s = es_detect_version(st);
    if (s != ENVSYNC_OK)
        return s;
    R = calloc(1, sizeof *R);
    st->restore = R;
    es_suffix(R->suffix);
    R->plan = json_array();
    R->byname = json_object();
    R->bynew = json_object();
    pthread_mutex_init(&R->mu, NULL);
    pthread_cond_init(&R->cv, NULL);
    R->cap = st->bulk_concurrency * 2;
    R->nthreads = st->bulk_concurrency;
    s = es_auto_create_guard(st, 1);
    if (s != ENVSYNC_OK)
        return s;
    R->tids = calloc((size_t)R->nthreads, sizeof *R->tids);
    for (i = 0; i < R->nthreads; i++)
        if (pthread_create(&R->tids[i], NULL, bulk_worker, st) != 0) {
            R->nthreads = i;
            es_auto_create_guard(st, 0);
            return h->error(st->ctx, ENVSYNC_ERR_OTHER, "cannot start bulk threads");
        }
    return ENVSYNC_OK;
}

/* ------------------------------------------------------------ entries */

static envsync_status
create_index(es_state *st, json_t *meta, json_t **plan_out)
{
    const envsync_host *h = st->host;
    es_restore *R = st->restore;
    const char *name = json_string_value(json_object_get(meta, "index"));
    json_t *settings = json_object_get(meta, "settings"), *mappings = json_object_get(meta, "mappings");
    json_t *body, *s2 = json_object(), *after = json_object(), *v, *plan;
    const char *k, *tn = json_string_value(json_object_get(meta, "type_name"));
    es_buf newname = ES_BUF_INIT, path = ES_BUF_INIT;
    envsync_status s;

    json_object_foreach(settings, k, v) {
        if (strcmp(k, "index.number_of_replicas") == 0 || strcmp(k, "index.refresh_interval") == 0 ||
            strcmp(k, "index.auto_expand_replicas") == 0)
            continue;
        /* 7.x+ refuses to create indices with these */
        if (strcmp(k, "index.soft_deletes.enabled") == 0 && st->major >= 8 && !st->opensearch)
            continue;
        json_object_set(s2, k, v);
    }
    json_object_set_new(s2, "index.number_of_replicas", json_string("0"));
    json_object_set_new(s2, "index.refresh_interval", json_string("-1"));
    json_object_set(after, "index.number_of_replicas",
                    json_object_get(settings, "index.number_of_replicas")
                        ? json_object_get(settings, "index.number_of_replicas") : json_string("1"));
    json_object_set(after, "index.refresh_interval",
                    json_object_get(settings, "index.refresh_interval")
                        ? json_object_get(settings, "index.refresh_interval") : json_null());
    if (json_object_get(settings, "index.auto_expand_replicas"))
        json_object_set(after, "index.auto_expand_replicas",
                        json_object_get(settings, "index.auto_expand_replicas"));
    body = json_object();
    json_object_set_new(body, "settings", s2);
    if (json_object_size(mappings)) {
        if (!st->opensearch && st->major == 6)
            json_object_set_new(body, "mappings", json_pack("{s:O}", tn ? tn : "_doc", mappings));
        else
            json_object_set(body, "mappings", mappings);
    }
    es_buf_printf(&newname, "%s%s", name, R->suffix);
    es_buf_putc(&path, '/');
    es_path_escape(&path, newname.data);
    s = es_json(st->cl, "PUT", path.data, body, 0, NULL, NULL, newname.data);
    json_decref(body);
    es_buf_free(&path);
    if (s != ENVSYNC_OK) {
        json_decref(after);
        es_buf_free(&newname);
        return s;
    }
    plan = json_pack("{s:s,s:s,s:O,s:o,s:s,s:O}", "original", name, "new", newname.data,
                     "aliases", json_object_get(meta, "aliases") ? json_object_get(meta, "aliases")
                                                                 : json_object(),
                     "settings_after", after, "type_name", tn ? tn : "_doc",
                     "docs", json_object_get(meta, "docs") ? json_object_get(meta, "docs")
                                                           : json_integer(0));
    pthread_mutex_lock(&R->mu);
    json_array_append_new(R->plan, plan);
    json_object_set(R->byname, name, plan);
    json_object_set(R->bynew, newname.data, plan);
    pthread_mutex_unlock(&R->mu);
    *plan_out = plan;
    h->log(st->ctx, ENVSYNC_LOG_INFO, "index %s: loading into %s", name, newname.data);
    es_buf_free(&newname);
    return ENVSYNC_OK;
}

static envsync_status
flush_batch(es_state *st)
{
    es_restore *R = st->restore;
    batch *b = R->cur;

    R->cur = NULL;
    if (!b)
        return ENVSYNC_OK;
    if (b->nops == 0) {
        batch_free(b);
        return ENVSYNC_OK;
    }
    b->ops[b->nops] = b->body.len;
    return enqueue(st, b);
}

static envsync_status
add_docs(es_state *st, const envsync_entry *e, const char *data, size_t len)
{
    const envsync_host *h = st->host;
    es_restore *R = st->restore;
    json_t *plan = json_object_get(R->byname, e->object);
    const char *newname, *tn, *p = data, *end = data + len;
    int typed = !st->opensearch && st->major == 6;
    uint64_t line = 0;
    envsync_status s;

    if (!plan)
        return h->error(st->ctx, ENVSYNC_ERR_INTEGRITY,
                        "documents for index %s before its META entry (chunk %llu)", e->object,
                        (unsigned long long)e->seq);
    newname = json_string_value(json_object_get(plan, "new"));
    tn = json_string_value(json_object_get(plan, "type_name"));
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p)), *le = nl ? nl : end;
        const char *id, *rt, *src;
        size_t idn, rtn, srcn;
        batch *b;

        line++;
        if (le == p) {
            p = le + 1;
            continue;
        }
        if (es_jfind(p, le, "_id", &id, &idn) < 0 || *id != '"' ||
            es_jfind(p, le, "_source", &src, &srcn) < 0 || *src != '{')
            return h->error(st->ctx, ENVSYNC_ERR_INTEGRITY,
                            "index %s chunk %llu line %llu: not a document line "
                            "({\"_id\":..,\"_source\":{..}})", e->object,
                            (unsigned long long)e->seq, (unsigned long long)line);
        if (R->cur && (R->cur->nops >= (size_t)st->batch_size || R->cur->body.len >= st->bulk_bytes ||
                       strcmp(R->cur->index, newname) != 0)) {
            if ((s = flush_batch(st)) != ENVSYNC_OK)
                return s;
        }
        if (!R->cur) {
            b = calloc(1, sizeof *b);
            b->index = strdup(newname);
            b->capops = (size_t)st->batch_size + 1;
            b->ops = malloc(b->capops * sizeof *b->ops);
            R->cur = b;
        }
        b = R->cur;
        b->ops[b->nops++] = b->body.len;
        es_buf_puts(&b->body, "{\"index\":{\"_index\":");
        {
            json_t *js = json_string(newname);
            char *t = json_dumps(js, JSON_ENCODE_ANY);
            es_buf_puts(&b->body, t);
            free(t);
            json_decref(js);
        }
        if (typed)
            es_buf_printf(&b->body, ",\"_type\":\"%s\"", tn ? tn : "_doc");
        es_buf_puts(&b->body, ",\"_id\":");
        es_buf_append(&b->body, id, idn);
        if (es_jfind(p, le, "_routing", &rt, &rtn) == 0 && *rt == '"') {
            es_buf_puts(&b->body, ",\"routing\":");
            es_buf_append(&b->body, rt, rtn);
        }
        es_buf_puts(&b->body, "}}\n");
        es_jappend_flat(&b->body, src, srcn);
        if (es_buf_putc(&b->body, '\n') < 0)
            return h->error(st->ctx, ENVSYNC_ERR_OTHER, "out of memory");
        p = le + (nl ? 1 : 0);
    }
    h->progress(st->ctx, len, e->rows);
    return ENVSYNC_OK;
}

envsync_status
es_restore_entry(es_state *st, const envsync_entry *e, const void *data, size_t len)
{
    const envsync_host *h = st->host;
    es_restore *R = st->restore;
    envsync_status s;

    if ((s = h->cancelled(st->ctx)) != ENVSYNC_OK)
        return s;
    pthread_mutex_lock(&R->mu);
    s = R->err;
    pthread_mutex_unlock(&R->mu);
    if (s != ENVSYNC_OK)
        return s;
    if (e->kind == ENVSYNC_ENTRY_META) {
        json_error_t je;
        json_t *meta = json_loadb(data, len, 0, &je), *plan = NULL;
        if (!meta)
            return h->error(st->ctx, ENVSYNC_ERR_INTEGRITY, "META entry %s: invalid JSON: %s",
                            e->object ? e->object : "?", je.text);
        if (e->section && strcmp(e->section, "snapshot") == 0) {
            json_decref(R->snapref);
            R->snapref = meta;
            return ENVSYNC_OK;
        }
        if (!e->section || strcmp(e->section, "index") != 0) {
            /* not ours (e.g. a transform's report) */
            h->log(st->ctx, ENVSYNC_LOG_DEBUG, "ignoring META entry %s (section %s)",
                   e->object ? e->object : "?", e->section ? e->section : "none");
            json_decref(meta);
            return ENVSYNC_OK;
        }
        if (!json_is_string(json_object_get(meta, "index"))) {
            json_decref(meta);
            return h->error(st->ctx, ENVSYNC_ERR_INTEGRITY, "META entry %s: no index name",
                            e->object ? e->object : "?");
        }
        if ((s = flush_batch(st)) == ENVSYNC_OK)
            s = create_index(st, meta, &plan);
        json_decref(meta);
        return s;
    }
    if (e->kind == ENVSYNC_ENTRY_DOCS)
        return add_docs(st, e, data, len);
    h->log(st->ctx, ENVSYNC_LOG_WARN, "ignoring entry kind %d for %s", (int)e->kind,
           e->object ? e->object : "?");
    return ENVSYNC_OK;
}

/* ------------------------------------------------------------ finish */

static int
is_member(json_t *arr, const char *s)
{
    size_t i;
    for (i = 0; i < json_array_size(arr); i++)
        if (strcmp(json_string_value(json_array_get(arr, i)), s) == 0)
            return 1;
    return 0;
}

/* Holders of alias `name` (array), or NULL when no alias has that name. */
static envsync_status
alias_holders(es_state *st, const char *name, json_t **out)
{
    es_buf path = ES_BUF_INIT;
    json_t *j = NULL, *v;
    const char *k;
    long status = 0;
    envsync_status s;

    *out = NULL;
    es_buf_puts(&path, "/_alias/");
    es_path_escape(&path, name);
    s = es_json(st->cl, "GET", path.data, NULL, 404, &status, &j, name);
    es_buf_free(&path);
    if (s != ENVSYNC_OK || status == 404)
        return s;
    *out = json_array();
    json_object_foreach(j, k, v)
        json_array_append_new(*out, json_string(k));
    json_decref(j);
    return ENVSYNC_OK;
}

static envsync_status
index_exists(es_state *st, const char *name, int *exists)
{
    es_buf path = ES_BUF_INIT;
    es_reply r;
    envsync_status s;

    es_buf_putc(&path, '/');
    es_path_escape(&path, name);
    s = es_call(st->cl, "HEAD", path.data, NULL, 0, NULL, &r);
    es_buf_free(&path);
    if (s != ENVSYNC_OK)
        return s;
    if (r.status != 200 && r.status != 404)
        return es_fail(st->cl, &r, name);
    *exists = r.status == 200;
    return ENVSYNC_OK;
}

/*
 * One POST /_aliases for every index of the plan:
 *   - remove_index: the concrete index named like the original (if any) and
 *     every index the alias of that name pointed to (earlier copies);
 *   - remove: each saved alias from indices that keep living;
 *   - add: each saved alias, and an alias named like the original, to the
 *     new index.
 * Elasticsearch applies the request as one cluster-state update: readers of
 * the alias see either the old or the new index, never neither.
 */
envsync_status
es_swap_aliases(es_state *st, json_t *plan)
{
    json_t *actions = json_array(), *removed = json_array(), *el, *body;
    size_t i;
    envsync_status s = ENVSYNC_OK;

    json_array_foreach(plan, i, el) {
        const char *orig = json_string_value(json_object_get(el, "original"));
        const char *nw = json_string_value(json_object_get(el, "new"));
        json_t *holders = NULL;
        size_t k;
        int exists = 0;

        if ((s = alias_holders(st, orig, &holders)) != ENVSYNC_OK)
            break;
        if (holders) {
            for (k = 0; k < json_array_size(holders); k++) {
                const char *hn = json_string_value(json_array_get(holders, k));
                if (strcmp(hn, nw) != 0 && !is_member(removed, hn))
                    json_array_append_new(removed, json_string(hn));
            }
            json_decref(holders);
        } else {
            if ((s = index_exists(st, orig, &exists)) != ENVSYNC_OK)
                break;
            if (exists && !is_member(removed, orig)) {
                json_array_append_new(removed, json_string(orig));
                st->host->log(st->ctx, ENVSYNC_LOG_INFO,
                              "index %s is a concrete index: it is deleted and replaced by an "
                              "alias in the same _aliases request", orig);
            }
        }
    }
    if (s == ENVSYNC_OK)
        json_array_foreach(removed, i, el)
            json_array_append_new(actions, json_pack("{s:{s:O}}", "remove_index", "index", el));
    if (s == ENVSYNC_OK)
        json_array_foreach(plan, i, el) {
            const char *orig = json_string_value(json_object_get(el, "original"));
            const char *nw = json_string_value(json_object_get(el, "new"));
            json_t *aliases = json_object_get(el, "aliases"), *props;
            const char *a;

            json_object_foreach(aliases, a, props) {
                json_t *holders = NULL, *add;
                size_t k;
                const char *pk;
                json_t *pv;

                if (strcmp(a, orig) == 0)
                    continue;
                if ((s = alias_holders(st, a, &holders)) != ENVSYNC_OK)
                    break;
                for (k = 0; holders && k < json_array_size(holders); k++) {
                    const char *hn = json_string_value(json_array_get(holders, k));
                    if (!is_member(removed, hn) && strcmp(hn, nw) != 0)
                        json_array_append_new(actions, json_pack("{s:{s:s,s:s}}", "remove",
                                                                 "index", hn, "alias", a));
                }
                json_decref(holders);
                add = json_pack("{s:s,s:s}", "index", nw, "alias", a);
                json_object_foreach(props, pk, pv) {
                    if (strcmp(pk, "filter") == 0 || strcmp(pk, "index_routing") == 0 ||
                        strcmp(pk, "search_routing") == 0 || strcmp(pk, "is_write_index") == 0 ||
                        strcmp(pk, "is_hidden") == 0)
                        json_object_set(add, pk, pv);
                }
                json_array_append_new(actions, json_pack("{s:o}", "add", add));
            }
            if (s != ENVSYNC_OK)
                break;
            json_array_append_new(actions, json_pack("{s:{s:s,s:s}}", "add", "index", nw,
                                                     "alias", orig));
        }
    if (s == ENVSYNC_OK && json_array_size(actions)) {
        body = json_pack("{s:O}", "actions", actions);
        s = es_json(st->cl, "POST", "/_aliases", body, 0, NULL, NULL, "swap aliases (POST /_aliases)");
        json_decref(body);
        if (s == ENVSYNC_OK)
            st->host->log(st->ctx, ENVSYNC_LOG_INFO, "aliases swapped (%zu actions, %zu old "
                          "indices removed)", json_array_size(actions), json_array_size(removed));
    }
    json_decref(actions);
    json_decref(removed);
    return s;
}

envsync_status
es_delete_indices(es_state *st, json_t *names)
{
    size_t i;
    json_t *n;
    envsync_status s = ENVSYNC_OK;

    json_array_foreach(names, i, n) {
        es_buf path = ES_BUF_INIT;
        long status = 0;
        envsync_status s2;
        es_buf_putc(&path, '/');
        es_path_escape(&path, json_string_value(n));
        s2 = es_json(st->cl, "DELETE", path.data, NULL, 404, &status, NULL, json_string_value(n));
        es_buf_free(&path);
        if (s2 != ENVSYNC_OK && s == ENVSYNC_OK)
            s = s2;
    }
    return s;
}

static envsync_status
finish_index(es_state *st, json_t *plan)
{
    const envsync_host *h = st->host;
    const char *orig = json_string_value(json_object_get(plan, "original"));
    const char *nw = json_string_value(json_object_get(plan, "new"));
    es_buf path = ES_BUF_INIT;
    json_t *cnt = NULL, *body;
    uint64_t expected = 0, got;
    envsync_status s;
    char what[300];

    snprintf(what, sizeof what, "index %s (loaded into %s)", orig, nw);
    es_buf_putc(&path, '/');
    es_path_escape(&path, nw);
    es_buf_puts(&path, "/_settings");
    body = json_pack("{s:O}", "index", json_object_get(plan, "settings_after"));
    {
        /* flat keys inside "index": strip the prefix */
        json_t *inner = json_object(), *v;
        const char *k;
        json_object_foreach(json_object_get(plan, "settings_after"), k, v)
            json_object_set(inner, strncmp(k, "index.", 6) == 0 ? k + 6 : k, v);
        json_object_set_new(body, "index", inner);
    }
    s = es_json(st->cl, "PUT", path.data, body, 0, NULL, NULL, what);
    json_decref(body);
    es_buf_reset(&path);
    if (s == ENVSYNC_OK) {
        es_buf_putc(&path, '/');
        es_path_escape(&path, nw);
        es_buf_puts(&path, "/_refresh");
        s = es_json(st->cl, "POST", path.data, NULL, 0, NULL, NULL, what);
        es_buf_reset(&path);
    }
    if (s == ENVSYNC_OK) {
        es_buf_putc(&path, '/');
        es_path_escape(&path, nw);
        es_buf_puts(&path, "/_count");
        s = es_json(st->cl, "GET", path.data, NULL, 0, NULL, &cnt, what);
    }
    es_buf_free(&path);
    if (s != ENVSYNC_OK)
        return s;
    got = (uint64_t)json_integer_value(json_object_get(cnt, "count"));
    json_decref(cnt);
    /* the manifest's count after transforms; without one (an index a
     * transform emptied), what the cluster acknowledged */
    if (h->expected_rows(st->ctx, NULL, orig, &expected) < 0)
        expected = (uint64_t)json_integer_value(json_object_get(plan, "sent"));
    if (got != expected)
        return h->error(st->ctx, ENVSYNC_ERR_INTEGRITY,
                        "%s: %llu documents after load, %llu expected", what,
                        (unsigned long long)got, (unsigned long long)expected);
    h->log(st->ctx, ENVSYNC_LOG_INFO, "%s: %llu documents, count verified", what,
           (unsigned long long)got);
    return ENVSYNC_OK;
}


envsync_status
es_restore_finish(es_state *st)
{
    es_restore *R = st->restore;
    envsync_status s, s2;
    json_t *el;
    size_t i;

    s = flush_batch(st);
    s2 = drain(st);
    if (s == ENVSYNC_OK)
        s = s2;
    if (s == ENVSYNC_OK && R->snapref) {
        /* swap mode appends the renamed indices to the plan (so abort
         * removes them); replace mode leaves it empty */
        s = es_snapshot_restore(st, R->snapref, R->plan);
    } else if (s == ENVSYNC_OK) {
        json_array_foreach(R->plan, i, el) {
            if ((s = finish_index(st, el)) != ENVSYNC_OK)
                break;
        }
    }
    if (s == ENVSYNC_OK && json_array_size(R->plan))
        s = es_swap_aliases(st, R->plan);
    if (s == ENVSYNC_OK) {
        json_array_clear(R->plan);   /* swapped: nothing left to abort */
        s = es_auto_create_guard(st, 0);
    }
    return s;
}

void
es_restore_abort(es_state *st)
{
    es_restore *R = st->restore;
    json_t *names, *el;
    size_t i;

    if (!R)
        return;
    st->conn.ignore_cancel = 1;
    if (R->tids) {
        pthread_mutex_lock(&R->mu);
        if (R->err == ENVSYNC_OK)
            R->err = ENVSYNC_ERR_INTERRUPTED;
        pthread_mutex_unlock(&R->mu);
        drain(st);
    }
    batch_free(R->cur);
    R->cur = NULL;
    names = json_array();
    json_array_foreach(R->plan, i, el)
        json_array_append(names, json_object_get(el, "new"));
    if (json_array_size(names)) {
        st->host->log(st->ctx, ENVSYNC_LOG_INFO, "abort: deleting %zu new index(es); the old "
                      "ones are untouched", json_array_size(names));
        es_delete_indices(st, names);
    }
    json_decref(names);
    json_array_clear(R->plan);
    if (es_auto_create_guard(st, 0) != ENVSYNC_OK)
        st->host->log(st->ctx, ENVSYNC_LOG_ERROR, "could not reset action.auto_create_index: "
                      "check the cluster setting by hand");
}

void
es_restore_free(es_state *st)
{
    es_restore *R = st->restore;

    if (!R)
        return;
    drain(st);
    batch_free(R->cur);
    while (R->head) {
        batch *b = R->head;
        R->head = b->next;
        batch_free(b);
    }
    json_decref(R->plan);
    json_decref(R->byname);
    json_decref(R->bynew);
    json_decref(R->snapref);
    json_decref(R->prior);
    pthread_mutex_destroy(&R->mu);
    pthread_cond_destroy(&R->cv);
    free(R);
    st->restore = NULL;
}
