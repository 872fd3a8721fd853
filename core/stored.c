#include "config.h"
#include "stored.h"
#include "log.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SMALL_MAX (16u << 20)
#define INCOMPLETE_GRACE_S (24 * 3600)

char *
es_key(const es_storage *s, const char *job, const char *name)
{
    if (s->prefix && *s->prefix)
        return es_asprintf("%s/%s/%s", s->prefix, job, name);
    return es_asprintf("%s/%s", job, name);
}

char *
es_key_artifact(const es_storage *s, const char *job, const char *ts)
{
    char name[32];

    snprintf(name, sizeof name, "%s.envsync", ts);
    return es_key(s, job, name);
}

char *
es_key_manifest(const es_storage *s, const char *job, const char *ts)
{
    char name[32];

    snprintf(name, sizeof name, "%s.manifest", ts);
    return es_key(s, job, name);
}

static const envsync_plugin *
desc(envsync_ctx *ctx)
{
    return &ctx->inst->plugin->desc;
}

envsync_status
es_put_small(envsync_ctx *ctx, const char *key, const void *data, size_t len)
{
    const envsync_plugin *d = desc(ctx);
    void *w = NULL;
    envsync_status st;

    st = d->write_open(ctx, ctx->state, key, 0, &w);
    if (st != ENVSYNC_OK)
        return st;
    st = d->write(ctx, w, data, len);
    if (st == ENVSYNC_OK)
        st = d->write_commit(ctx, w);
    else
        d->write_abort(ctx, w);
    return st;
}

envsync_status
es_get_small(envsync_ctx *ctx, const char *key, char **data, size_t *lenp)
{
    const envsync_plugin *d = desc(ctx);
    void *r = NULL;
    uint64_t size = UINT64_MAX;
    size_t len = 0, cap = 4096, got;
    char *buf;
    envsync_status st;

    st = d->read_open(ctx, ctx->state, key, &size, &r);
    if (st != ENVSYNC_OK)
        return st;
    buf = es_malloc(cap + 1);
    for (;;) {
        if (len == cap) {
            if (cap >= SMALL_MAX) {
                d->read_close(ctx, r);
                free(buf);
                return es_ctx_error(ctx, ENVSYNC_ERR_INTEGRITY, "object %s is larger than %u bytes",
                                    key, SMALL_MAX);
            }
            cap *= 2;
            buf = es_realloc(buf, cap + 1);
        }
        st = d->read(ctx, r, buf + len, cap - len, &got);
        if (st != ENVSYNC_OK) {
            d->read_close(ctx, r);
            free(buf);
            return st;
        }
        if (got == 0)
            break;
        len += got;
    }
    d->read_close(ctx, r);
    buf[len] = '\0';
    *data = buf;
    if (lenp)
        *lenp = len;
    return ENVSYNC_OK;
}

typedef struct list_arg {
    es_stored_list *l;
    size_t dirlen;
    int have_latest_key;
} list_arg;

static es_stored *
slot_for(es_stored_list *l, const char *ts)
{
    size_t i;

    for (i = 0; i < l->n; i++)
        if (strcmp(l->items[i].ts, ts) == 0)
            return &l->items[i];
    l->items = es_realloc(l->items, (l->n + 1) * sizeof *l->items);
    memset(&l->items[l->n], 0, sizeof *l->items);
    memcpy(l->items[l->n].ts, ts, 17);
    l->items[l->n].mtime = -1;
    return &l->items[l->n++];
}

static envsync_status
list_cb(void *varg, const envsync_object_info *obj)
{
    list_arg *a = varg;
    const char *name;
    char ts[17];
    time_t t;
    es_stored *s;

    if (strlen(obj->key) < a->dirlen)
        return ENVSYNC_OK;
    name = obj->key + a->dirlen;
    if (strcmp(name, "latest") == 0) {
        a->have_latest_key = 1;
        return ENVSYNC_OK;
    }
    if (strlen(name) < 17 || strchr(name, '/'))
        return ENVSYNC_OK;
    memcpy(ts, name, 16);
    ts[16] = '\0';
    if (es_parse_timestamp(ts, &t) < 0)
        return ENVSYNC_OK;
    if (strcmp(name + 16, ".envsync") == 0) {
        s = slot_for(a->l, ts);
        s->has_artifact = 1;
        s->size = obj->size;
        if (obj->mtime >= 0)
            s->mtime = obj->mtime;
    } else if (strcmp(name + 16, ".manifest") == 0) {
        s = slot_for(a->l, ts);
        s->has_manifest = 1;
        if (s->mtime < 0)
            s->mtime = obj->mtime;
    }
    return ENVSYNC_OK;
}

static int
cmp_newest(const void *a, const void *b)
{
    return strcmp(((const es_stored *)b)->ts, ((const es_stored *)a)->ts);
}

envsync_status
es_stored_list_job(envsync_ctx *ctx, const es_storage *s, const char *job, es_stored_list *out)
{
    char *dir = es_key(s, job, "");
    list_arg a;
    envsync_status st;

    memset(out, 0, sizeof *out);
    a.l = out;
    a.dirlen = strlen(dir);
    a.have_latest_key = 0;
    st = desc(ctx)->list(ctx, ctx->state, dir, list_cb, &a);
    if (st != ENVSYNC_OK) {
        free(dir);
        return st;
    }
    qsort(out->items, out->n, sizeof *out->items, cmp_newest);
    if (a.have_latest_key) {
        char *key = es_key(s, job, "latest"), *data = NULL;
        time_t t;

        st = es_get_small(ctx, key, &data, NULL);
        if (st == ENVSYNC_OK) {
            char *nl = strpbrk(data, "\r\n");

            if (nl)
                *nl = '\0';
            if (es_parse_timestamp(data, &t) == 0)
                memcpy(out->latest, data, 17);
            else
                es_log(ENVSYNC_LOG_WARN, ctx->job, ctx->phase, ctx->inst->plugin->name,
                       "pointer %s does not hold a timestamp; ignoring it", key);
        } else if (st != ENVSYNC_ERR_NOTFOUND) {
            free(key);
            free(dir);
            es_stored_list_free(out);
            return st;
        }
        free(data);
        free(key);
    }
    free(dir);
    return ENVSYNC_OK;
}

void
es_stored_list_free(es_stored_list *l)
{
    free(l->items);
    memset(l, 0, sizeof *l);
}

envsync_status
es_stored_select(envsync_ctx *ctx, const es_storage *s, const char *job,
                 const char *select, char ts[17])
{
    es_stored_list l;
    envsync_status st;
    size_t i;

    st = es_stored_list_job(ctx, s, job, &l);
    if (st != ENVSYNC_OK)
        return st;
    ts[0] = '\0';
    if (strcmp(select, "latest") == 0 && l.latest[0]) {
        for (i = 0; i < l.n; i++)
            if (strcmp(l.items[i].ts, l.latest) == 0 && l.items[i].has_manifest && l.items[i].has_artifact)
                memcpy(ts, l.latest, 17);
        if (!ts[0])
            es_log(ENVSYNC_LOG_WARN, ctx->job, ctx->phase, ctx->inst->plugin->name,
                   "the latest pointer of %s names %s, which is not complete in storage %s; "
                   "using the newest complete artifact instead", job, l.latest, s->name);
    }
    if (!ts[0] && (strcmp(select, "latest") == 0 || strcmp(select, "newest") == 0)) {
        for (i = 0; i < l.n; i++)
            if (l.items[i].has_manifest && l.items[i].has_artifact) {
                memcpy(ts, l.items[i].ts, 17);
                break;
            }
        if (!ts[0]) {
            es_stored_list_free(&l);
            return es_ctx_error(ctx, ENVSYNC_ERR_NOTFOUND, "no complete artifact of job %s "
                                "in storage %s", job, s->name);
        }
    } else if (!ts[0]) {
        for (i = 0; i < l.n; i++)
            if (strcmp(l.items[i].ts, select) == 0)
                break;
        if (i == l.n || !l.items[i].has_artifact) {
            es_stored_list_free(&l);
            return es_ctx_error(ctx, ENVSYNC_ERR_NOTFOUND, "artifact %s of job %s not found "
                                "in storage %s", select, job, s->name);
        }
        if (!l.items[i].has_manifest) {
            es_stored_list_free(&l);
            return es_ctx_error(ctx, ENVSYNC_ERR_INTEGRITY, "artifact %s of job %s in storage %s "
                                "is incomplete (no manifest): refusing it", select, job, s->name);
        }
        memcpy(ts, select, 17);
    }
    es_stored_list_free(&l);
    return ENVSYNC_OK;
}

static envsync_status
remove_key(envsync_ctx *ctx, const char *key, int dry_run)
{
    envsync_status st;

    printf("%s %s\n", dry_run ? "would remove" : "remove", key);
    if (dry_run)
        return ENVSYNC_OK;
    if (!desc(ctx)->remove)
        return es_ctx_error(ctx, ENVSYNC_ERR_PLUGIN, "storage plugin %s cannot remove objects",
                            ctx->inst->plugin->name);
    st = desc(ctx)->remove(ctx, ctx->state, key);
    if (st == ENVSYNC_ERR_NOTFOUND)
        st = ENVSYNC_OK;
    return st;
}

envsync_status
es_stored_prune(envsync_ctx *ctx, const es_storage *s, const char *job, int keep, int dry_run)
{
    es_stored_list l;
    envsync_status st;
    size_t i;
    int kept = 0;
    time_t now = time(NULL);

    st = es_stored_list_job(ctx, s, job, &l);
    if (st != ENVSYNC_OK)
        return st;
    for (i = 0; i < l.n && st == ENVSYNC_OK; i++) {
        es_stored *it = &l.items[i];
        char *ka = es_key_artifact(s, job, it->ts), *km = es_key_manifest(s, job, it->ts);

        if (it->has_manifest && it->has_artifact) {
            if (kept < keep || strcmp(it->ts, l.latest) == 0) {
                kept += kept < keep;
                printf("keep %s\n", ka);
            } else {
                /* manifest first: a half-removed artifact reads as incomplete */
                st = remove_key(ctx, km, dry_run);
                if (st == ENVSYNC_OK)
                    st = remove_key(ctx, ka, dry_run);
            }
        } else if (it->mtime >= 0 && now - it->mtime > INCOMPLETE_GRACE_S) {
            if (it->has_manifest)
                st = remove_key(ctx, km, dry_run);
            if (st == ENVSYNC_OK && it->has_artifact)
                st = remove_key(ctx, ka, dry_run);
        } else {
            printf("keep %s (incomplete, younger than a day)\n", it->has_artifact ? ka : km);
        }
        free(ka);
        free(km);
    }
    es_stored_list_free(&l);
    return st;
}
