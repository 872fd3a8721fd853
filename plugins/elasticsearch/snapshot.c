/*
 * snapshot.c - snapshot mode: the cluster snapshots itself into a
 * repository it already has registered (as the reference system does);
 * envsync carries only a small reference, so storage, `latest` selection
 * and retention of artifacts work as for logical backups.
 *
 * Backup:  PUT /_snapshot/<repo>/envsync-<job>-<ts>, poll until a final
 *          state or snapshot_timeout; SUCCESS is the only good one
 *          (FAILED, PARTIAL, INCOMPATIBLE fail the job); then keep the
 *          newest keep_snapshots snapshots of this job.
 * Restore: the referenced snapshot, or the newest SUCCESS of the job if it
 *          is gone; restore_mode "swap" restores under <name>-envsync-<ts>
 *          and swaps aliases like a logical restore; "replace" closes and
 *          deletes the indices, then restores them under their own names
 *          (the reference system's way: not atomic, kept for parity).
 */
#include "es.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void
snap_prefix(es_state *st, es_buf *b)
{
    const char *j = st->host->job(st->ctx);
    es_buf_puts(b, "envsync-");
    for (; j && *j; j++) {
        unsigned char c = (unsigned char)*j;
        es_buf_putc(b, isalnum(c) ? (char)tolower(c) : '-');
    }
    es_buf_putc(b, '-');
}

static const char *
repo_name(es_state *st)
{
    const char *r = st->host->opt_string(st->ctx, "snapshot_repository");
    return r && *r ? r : NULL;
}

static envsync_status
register_repo(es_state *st, const char *repo)
{
    const char *type = st->host->opt_string(st->ctx, "snapshot_repository_type");
    const char *settings = st->host->opt_string(st->ctx, "snapshot_repository_settings");
    json_error_t je;
    json_t *js, *body;
    es_buf path = ES_BUF_INIT;
    envsync_status s;

    if (!settings || !*settings)
        return ENVSYNC_OK;
    js = json_loads(settings, 0, &je);
    if (!json_is_object(js)) {
        json_decref(js);
        return st->host->error(st->ctx, ENVSYNC_ERR_CONFIG,
                               "%s: snapshot_repository_settings must be a JSON object: %s",
                               st->host->opt_where(st->ctx, "snapshot_repository_settings"),
                               js ? "not an object" : je.text);
    }
    body = json_pack("{s:s,s:o}", "type", type && *type ? type : "s3", "settings", js);
    es_buf_puts(&path, "/_snapshot/");
    es_path_escape(&path, repo);
    s = es_json(st->cl, "PUT", path.data, body, 0, NULL, NULL, "register snapshot repository");
    es_buf_free(&path);
    json_decref(body);
    return s;
}

static void
snap_path(es_buf *b, const char *repo, const char *snap, const char *tail)
{
    es_buf_reset(b);
    es_buf_puts(b, "/_snapshot/");
    es_path_escape(b, repo);
    if (snap) {
        es_buf_putc(b, '/');
        es_path_escape(b, snap);
    }
    if (tail)
        es_buf_puts(b, tail);
}

static int
cmp_start_desc(const void *a, const void *b)
{
    json_int_t x = json_integer_value(json_object_get(*(json_t *const *)a, "start_time_in_millis"));
    json_int_t y = json_integer_value(json_object_get(*(json_t *const *)b, "start_time_in_millis"));
    return x < y ? 1 : x > y ? -1 : 0;
}

/* This job's snapshots, newest first (array of borrowed references kept
 * alive by *all). */
static envsync_status
list_job_snapshots(es_state *st, const char *repo, const char *prefix, json_t **all,
                   json_t ***out, size_t *n)
{
    es_buf path = ES_BUF_INIT;
    json_t *snaps, *sn;
    size_t i, k = 0;
    envsync_status s;

    *out = NULL;
    *n = 0;
    snap_path(&path, repo, "_all", NULL);
    s = es_json(st->cl, "GET", path.data, NULL, 0, NULL, all, "list snapshots");
    es_buf_free(&path);
    if (s != ENVSYNC_OK)
        return s;
    snaps = json_object_get(*all, "snapshots");
    *out = calloc(json_array_size(snaps) + 1, sizeof **out);
    json_array_foreach(snaps, i, sn) {
        const char *name = json_string_value(json_object_get(sn, "snapshot"));
        if (name && strncmp(name, prefix, strlen(prefix)) == 0)
            (*out)[k++] = sn;
    }
    qsort(*out, k, sizeof **out, cmp_start_desc);
    *n = k;
    return ENVSYNC_OK;
}

static envsync_status
prune(es_state *st, const char *repo, const char *prefix)
{
    int keep = (int)st->host->opt_int(st->ctx, "keep_snapshots");
    json_t *all = NULL, **list;
    size_t n, i;
    es_buf path = ES_BUF_INIT;
    envsync_status s;

    if (keep <= 0)
        return ENVSYNC_OK;
    s = list_job_snapshots(st, repo, prefix, &all, &list, &n);
    if (s != ENVSYNC_OK)
        return s;
    for (i = (size_t)keep; i < n && s == ENVSYNC_OK; i++) {
        const char *name = json_string_value(json_object_get(list[i], "snapshot"));
        snap_path(&path, repo, name, NULL);
        s = es_json(st->cl, "DELETE", path.data, NULL, 0, NULL, NULL, name);
        if (s == ENVSYNC_OK)
            st->host->log(st->ctx, ENVSYNC_LOG_INFO, "snapshot %s:%s deleted (keep_snapshots = %d)",
                          repo, name, keep);
    }
    es_buf_free(&path);
    free(list);
    json_decref(all);
    return s;
}

static envsync_status
wait_snapshot(es_state *st, const char *repo, const char *snap, json_t **info)
{
    const envsync_host *h = st->host;
    int64_t timeout = h->opt_int(st->ctx, "snapshot_timeout");
    struct timespec t0, now;
    es_buf path = ES_BUF_INIT;
    long delay = 200;
    envsync_status s = ENVSYNC_OK;

    *info = NULL;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    snap_path(&path, repo, snap, NULL);
    for (;;) {
        json_t *j = NULL, *sn;
        const char *state;
        int64_t el;

        if ((s = h->cancelled(st->ctx)) != ENVSYNC_OK)
            break;
        s = es_json(st->cl, "GET", path.data, NULL, 0, NULL, &j, snap);
        if (s != ENVSYNC_OK)
            break;
        sn = json_array_get(json_object_get(j, "snapshots"), 0);
        state = json_string_value(json_object_get(sn, "state"));
        if (state && strcmp(state, "IN_PROGRESS") != 0 && strcmp(state, "STARTED") != 0) {
            *info = json_incref(sn);
            json_decref(j);
            break;
        }
        json_decref(j);
        clock_gettime(CLOCK_MONOTONIC, &now);
        el = (int64_t)(now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000;
        if (timeout > 0 && el >= timeout) {
            s = h->error(st->ctx, ENVSYNC_ERR_TIMEOUT,
                         "snapshot %s:%s still IN_PROGRESS after snapshot_timeout (%lld ms)",
                         repo, snap, (long long)timeout);
            break;
        }
        {
            long ms = delay;
            while (ms > 0 && h->cancelled(st->ctx) == ENVSYNC_OK) {
                struct timespec ts = { 0, (ms > 100 ? 100 : ms) * 1000000L };
                nanosleep(&ts, NULL);
                ms -= 100;
            }
        }
        if (delay < 5000)
            delay *= 2;
    }
    es_buf_free(&path);
    return s;
}

envsync_status
es_snapshot_backup(es_state *st, envsync_sink *out)
{
    const envsync_host *h = st->host;
    const char *repo = repo_name(st);
    json_t *sel = NULL, *ix, *indices, *aliases, *body, *info = NULL, *ref;
    es_buf prefix = ES_BUF_INIT, snap = ES_BUF_INIT, path = ES_BUF_INIT, list = ES_BUF_INIT;
    const char *name, *state;
    char ts[32];
    time_t now = time(NULL);
    struct tm tm;
    envsync_status s;
    envsync_entry e;
    char *text;

    if (!repo)
        return h->error(st->ctx, ENVSYNC_ERR_CONFIG, "mode = \"snapshot\" needs snapshot_repository");
    if ((s = register_repo(st, repo)) != ENVSYNC_OK)
        return s;
    if ((s = es_select_indices(st, &sel)) != ENVSYNC_OK)
        return s;
    if (json_object_size(sel) == 0) {
        json_decref(sel);
        return h->error(st->ctx, ENVSYNC_ERR_OTHER, "no index matches include/exclude: nothing to snapshot");
    }
    indices = json_array();
    aliases = json_object();
    json_object_foreach(sel, name, ix) {
        json_array_append_new(indices, json_string(name));
        json_object_set(aliases, name, json_object_get(ix, "aliases"));
        if (list.len)
            es_buf_putc(&list, ',');
        es_buf_puts(&list, name);
    }
    json_decref(sel);
    gmtime_r(&now, &tm);
    strftime(ts, sizeof ts, "%Y%m%d%H%M%S", &tm);
    snap_prefix(st, &prefix);
    es_buf_printf(&snap, "%s%s", prefix.data, ts);
    body = json_pack("{s:s,s:b,s:b}", "indices", list.data, "include_global_state", 0,
                     "ignore_unavailable", 0);
    snap_path(&path, repo, snap.data, "?wait_for_completion=false");
    s = es_json(st->cl, "PUT", path.data, body, 0, NULL, NULL, "create snapshot");
    json_decref(body);
    if (s == ENVSYNC_OK) {
        h->log(st->ctx, ENVSYNC_LOG_INFO, "snapshot %s:%s of %zu index(es) started", repo, snap.data,
               json_array_size(indices));
        s = wait_snapshot(st, repo, snap.data, &info);
    }
    if (s == ENVSYNC_OK) {
        state = json_string_value(json_object_get(info, "state"));
        if (!state || strcmp(state, "SUCCESS") != 0) {
            json_t *f = json_array_get(json_object_get(info, "failures"), 0);
            const char *why = json_string_value(json_object_get(f, "reason"));
            if (!why)
                why = json_string_value(json_object_get(info, "reason"));
            s = h->error(st->ctx, ENVSYNC_ERR_OTHER, "snapshot %s:%s ended %s%s%s", repo, snap.data,
                         state ? state : "(no state)", why ? ": " : "", why ? why : "");
        }
    }
    if (s == ENVSYNC_OK) {
        ref = json_pack("{s:i,s:s,s:s,s:s,s:O,s:O,s:s,s:s,s:s}", "format", 1, "mode", "snapshot",
                        "repository", repo, "snapshot", snap.data, "indices", indices,
                        "aliases", aliases, "job_prefix", prefix.data, "source_version", st->version,
                        "source_distribution", st->opensearch ? "opensearch" : "elasticsearch");
        if (json_object_get(info, "uuid"))
            json_object_set(ref, "uuid", json_object_get(info, "uuid"));
        text = json_dumps(ref, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(ref);
        ENVSYNC_ENTRY_INIT(e, ENVSYNC_ENTRY_META);
        e.object = "_snapshot";
        e.section = "snapshot";
        s = out->put(out, &e, text, strlen(text));
        free(text);
    }
    if (s == ENVSYNC_OK) {
        h->log(st->ctx, ENVSYNC_LOG_INFO, "snapshot %s:%s SUCCESS", repo, snap.data);
        s = prune(st, repo, prefix.data);
    }
    json_decref(info);
    json_decref(indices);
    json_decref(aliases);
    es_buf_free(&prefix);
    es_buf_free(&snap);
    es_buf_free(&path);
    es_buf_free(&list);
    return s;
}

/* The snapshot to restore: the referenced one if it still exists and
 * succeeded, else the newest SUCCESS of the job. */
static envsync_status
pick_snapshot(es_state *st, const char *repo, json_t *ref, char **snap)
{
    const envsync_host *h = st->host;
    const char *want = json_string_value(json_object_get(ref, "snapshot"));
    const char *prefix = json_string_value(json_object_get(ref, "job_prefix"));
    es_buf path = ES_BUF_INIT;
    json_t *j = NULL, *all = NULL, **list = NULL;
    long status = 0;
    size_t n, i;
    envsync_status s;

    *snap = NULL;
    if (want) {
        snap_path(&path, repo, want, NULL);
        s = es_json(st->cl, "GET", path.data, NULL, 404, &status, &j, want);
        es_buf_free(&path);
        if (s != ENVSYNC_OK)
            return s;
        if (status == 200) {
            const char *state = json_string_value(json_object_get(
                json_array_get(json_object_get(j, "snapshots"), 0), "state"));
            if (state && strcmp(state, "SUCCESS") == 0)
                *snap = strdup(want);
        }
        json_decref(j);
        if (*snap)
            return ENVSYNC_OK;
        h->log(st->ctx, ENVSYNC_LOG_WARN, "snapshot %s:%s is gone or not SUCCESS; taking the newest "
               "successful one", repo, want);
    }
    if (!prefix)
        return h->error(st->ctx, ENVSYNC_ERR_NOTFOUND, "no snapshot to restore in %s", repo);
    s = list_job_snapshots(st, repo, prefix, &all, &list, &n);
    for (i = 0; s == ENVSYNC_OK && i < n; i++) {
        const char *state = json_string_value(json_object_get(list[i], "state"));
        if (state && strcmp(state, "SUCCESS") == 0) {
            *snap = strdup(json_string_value(json_object_get(list[i], "snapshot")));
            break;
        }
    }
    free(list);
    json_decref(all);
    if (s == ENVSYNC_OK && !*snap)
        s = h->error(st->ctx, ENVSYNC_ERR_NOTFOUND, "no successful snapshot %s* in repository %s",
                     prefix, repo);
    return s;
}

envsync_status
es_snapshot_restore(es_state *st, json_t *ref, json_t *plan)
{
    const envsync_host *h = st->host;
    const char *repo = repo_name(st);
    const char *mode = h->opt_string(st->ctx, "restore_mode");
    int replace = mode && strcmp(mode, "replace") == 0;
    json_t *indices = json_object_get(ref, "indices"), *aliases = json_object_get(ref, "aliases");
    json_t *body, *el;
    es_buf path = ES_BUF_INIT, list = ES_BUF_INIT, repl = ES_BUF_INIT;
    char *snap = NULL, suffix[32];
    size_t i;
    envsync_status s;

    if (!repo)
        repo = json_string_value(json_object_get(ref, "repository"));
    if (!repo || !json_is_array(indices))
        return h->error(st->ctx, ENVSYNC_ERR_INTEGRITY, "snapshot reference without repository or indices");
    if ((s = register_repo(st, repo)) != ENVSYNC_OK)
        return s;
    if ((s = pick_snapshot(st, repo, ref, &snap)) != ENVSYNC_OK)
        return s;
    json_array_foreach(indices, i, el) {
        if (list.len)
            es_buf_putc(&list, ',');
        es_buf_puts(&list, json_string_value(el));
    }
    if (replace) {
        /* the reference system's way: close, delete, restore in place */
        json_array_foreach(indices, i, el) {
            const char *n = json_string_value(el);
            es_reply r;
            es_buf_reset(&path);
            es_buf_putc(&path, '/');
            es_path_escape(&path, n);
            if ((s = es_call(st->cl, "HEAD", path.data, NULL, 0, NULL, &r)) != ENVSYNC_OK)
                break;
            if (r.status == 404)
                continue;
            es_buf_puts(&path, "/_close");
            if ((s = es_json(st->cl, "POST", path.data, NULL, 0, NULL, NULL, n)) != ENVSYNC_OK)
                break;
            es_buf_reset(&path);
            es_buf_putc(&path, '/');
            es_path_escape(&path, n);
            if ((s = es_json(st->cl, "DELETE", path.data, NULL, 0, NULL, NULL, n)) != ENVSYNC_OK)
                break;
            h->log(st->ctx, ENVSYNC_LOG_INFO, "index %s closed and deleted (restore_mode = replace)", n);
        }
        body = json_pack("{s:s,s:b,s:b}", "indices", list.data, "include_aliases", 1,
                         "include_global_state", 0);
    } else {
        es_suffix(suffix);
        es_buf_printf(&repl, "$1%s", suffix);
        body = json_pack("{s:s,s:b,s:b,s:s,s:s}", "indices", list.data, "include_aliases", 0,
                         "include_global_state", 0, "rename_pattern", "^(.+)$",
                         "rename_replacement", repl.data);
    }
    if (s == ENVSYNC_OK && !replace) {
        /* in the plan before the restore, so that abort removes whatever
         * a failed restore left behind */
        json_array_foreach(indices, i, el) {
            const char *n = json_string_value(el);
            es_buf nw = ES_BUF_INIT;
            json_t *a = json_object_get(aliases, n);
            es_buf_printf(&nw, "%s%s", n, suffix);
            json_array_append_new(plan, json_pack("{s:s,s:s,s:o}", "original", n, "new", nw.data,
                                                  "aliases", a ? json_incref(a) : json_object()));
            es_buf_free(&nw);
        }
    }
    if (s == ENVSYNC_OK) {
        snap_path(&path, repo, snap, "/_restore?wait_for_completion=true");
        s = es_json(st->cl, "POST", path.data, body, 0, NULL, NULL, "restore snapshot");
    }
    json_decref(body);
    if (s == ENVSYNC_OK)
        h->log(st->ctx, ENVSYNC_LOG_INFO, "snapshot %s:%s restored (%s)", repo, snap,
               replace ? "replace" : "renamed, aliases swapped next");
    free(snap);
    es_buf_free(&path);
    es_buf_free(&list);
    es_buf_free(&repl);
    return s;
}
