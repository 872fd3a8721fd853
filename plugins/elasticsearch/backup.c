/*
 * backup.c - logical backup of indices.
 *
 * Per selected index, in name order: one META entry (settings without the
 * non-copyable ones, typeless mappings, aliases), then DOCS entries: NDJSON
 * lines {"_id":..,"_routing":..,"_source":{..}} cut into chunks of about
 * chunk_size bytes.  `jobs` sliced readers read each index in parallel:
 *
 *   Elasticsearch >= 7.15, OpenSearch >= 3.3:  point in time + search_after
 *       on _shard_doc (idempotent pages, so a retried request is safe)
 *   older servers, OpenSearch 1.x/2.x:         sliced scroll, cleared after
 *       (OpenSearch before 3.3 has PIT but no _shard_doc tiebreaker; sorting
 *       a PIT on _id would load _id fielddata on every shard.)
 *
 * A retried scroll request may have advanced the scroll on the server, so
 * every reader compares what it read with the total its first page
 * announced; a mismatch fails the backup instead of losing documents.
 */
#include "es.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Settings never copied: identity and history of the source index, and
 * its placement on the source cluster's nodes. */
static const char *const skip_prefixes[] = {
    "index.uuid", "index.creation_date", "index.version.", "index.provided_name",
    "index.routing.allocation.", "index.resize.", "index.history.uuid",
    "index.verified_before_close", "index.frozen", "index.store.snapshot.",
    "index.blocks.", "index.lifecycle.indexing_complete", NULL
};

static int
skip_setting(const char *k)
{
    size_t i;
    for (i = 0; skip_prefixes[i]; i++) {
        size_t n = strlen(skip_prefixes[i]);
        if (strncmp(k, skip_prefixes[i], n) == 0 &&
            (skip_prefixes[i][n - 1] == '.' || k[n] == '\0'))
            return 1;
    }
    return 0;
}

static int
use_pit(const es_state *st)
{
    if (st->opensearch)
        return st->major > 3 || (st->major == 3 && st->minor >= 3);
    /* _shard_doc arrived in 7.12, sliced PITs in 7.15 */
    return st->major > 7 || (st->major == 7 && st->minor >= 15);
}

/* ------------------------------------------------------------ selection */

static int
listed(es_state *st, const char *opt, const char *name, int *explicit_dot)
{
    size_t i, n = st->host->opt_list_count(st->ctx, opt);
    for (i = 0; i < n; i++) {
        const char *p = st->host->opt_list_item(st->ctx, opt, i);
        if (es_name_matches(name, p)) {
            if (explicit_dot)
                *explicit_dot = p[0] == '.' || strcmp(p, name) == 0;
            return 1;
        }
    }
    return 0;
}

/* names -> object index name -> GET /<index> body for it */
envsync_status
es_select_indices(es_state *st, json_t **out)
{
    const envsync_host *h = st->host;
    int include_hidden = (int)h->opt_int(st->ctx, "include_hidden");
    size_t ninc = h->opt_list_count(st->ctx, "include");
    json_t *cat = NULL, *sel = json_object(), *row;
    size_t i;
    envsync_status s;

    *out = NULL;
    s = es_json(st->cl, "GET",
                st->major >= 7 || st->opensearch
                    ? "/_cat/indices?format=json&h=index,status&expand_wildcards=all"
                    : "/_cat/indices?format=json&h=index,status",
                NULL, 0, NULL, &cat, "list indices (_cat/indices)");
    if (s != ENVSYNC_OK) {
        json_decref(sel);
        return s;
    }
    /* sort by name so the artifact order is stable */
    {
        size_t n = json_array_size(cat);
        const char **names = calloc(n + 1, sizeof *names);
        for (i = 0; i < n; i++)
            names[i] = json_string_value(json_object_get(json_array_get(cat, i), "index"));
        for (i = 1; i < n; i++) {
            size_t j = i;
            while (j > 0 && names[j - 1] && names[j] && strcmp(names[j - 1], names[j]) > 0) {
                const char *t = names[j];
                names[j] = names[j - 1];
                names[j - 1] = t;
                j--;
            }
        }
        for (i = 0; i < n && s == ENVSYNC_OK; i++) {
            const char *name = names[i];
            const char *status = NULL;
            int dot = 0;
            size_t k;
            json_t *info = NULL, *ix, *settings;
            es_buf path = ES_BUF_INIT;

            if (!name)
                continue;
            for (k = 0; k < n; k++) {
                row = json_array_get(cat, k);
                if (strcmp(json_string_value(json_object_get(row, "index")), name) == 0)
                    status = json_string_value(json_object_get(row, "status"));
            }
            if (ninc && !listed(st, "include", name, &dot))
                continue;
            if (listed(st, "exclude", name, NULL))
                continue;
            if (name[0] == '.' && !include_hidden && !dot)
                continue;
            if (status && strcmp(status, "open") != 0) {
                h->log(st->ctx, ENVSYNC_LOG_WARN, "index %s is %s: skipped", name, status);
                continue;
            }
            es_buf_putc(&path, '/');
            es_path_escape(&path, name);
            es_buf_puts(&path, "?flat_settings=true");
            s = es_json(st->cl, "GET", path.data, NULL, 0, NULL, &info, name);
            es_buf_free(&path);
            if (s != ENVSYNC_OK)
                break;
            ix = json_object_get(info, name);
            settings = json_object_get(ix, "settings");
            if (!json_is_object(ix)) {
                json_decref(info);
                continue;   /* deleted meanwhile */
            }
            if (json_is_string(json_object_get(settings, "index.hidden")) &&
                strcmp(json_string_value(json_object_get(settings, "index.hidden")), "true") == 0 &&
                !include_hidden && !dot) {
                json_decref(info);
                continue;
            }
            json_object_set(sel, name, ix);
            json_decref(info);
        }
        free(names);
    }
    json_decref(cat);
    if (s != ENVSYNC_OK) {
        json_decref(sel);
        return s;
    }
    *out = sel;
    return ENVSYNC_OK;
}

/* Typeless mappings and the 6.x type name. */
static json_t *
typeless(es_state *st, json_t *mappings, const char **type_name)
{
    const char *k;
    json_t *v;

    *type_name = "_doc";
    if (!json_is_object(mappings) || json_object_size(mappings) == 0)
        return json_object();
    if (!st->opensearch && st->major == 6 && json_object_size(mappings) == 1) {
        json_object_foreach(mappings, k, v) {
            *type_name = k;
            return json_deep_copy(v);
        }
    }
    return json_deep_copy(mappings);
}

static json_t *
build_meta(es_state *st, const char *name, json_t *ix, uint64_t count)
{
    json_t *settings = json_object_get(ix, "settings");
    json_t *meta = json_object(), *s = json_object(), *v;
    const char *k, *tn;

    json_object_foreach(settings, k, v) {
        if (!skip_setting(k))
            json_object_set(s, k, v);
    }
    json_object_set_new(meta, "format", json_integer(1));
    json_object_set_new(meta, "index", json_string(name));
    json_object_set_new(meta, "settings", s);
    json_object_set_new(meta, "mappings", typeless(st, json_object_get(ix, "mappings"), &tn));
    json_object_set_new(meta, "type_name", json_string(tn));
    json_object_set(meta, "aliases", json_object_get(ix, "aliases") ? json_object_get(ix, "aliases")
                                                                     : json_object());
    json_object_set_new(meta, "docs", json_integer((json_int_t)count));
    json_object_set_new(meta, "source_version", json_string(st->version));
    json_object_set_new(meta, "source_distribution",
                        json_string(st->opensearch ? "opensearch" : "elasticsearch"));
    return meta;
}

/* ------------------------------------------------------------ readers */

typedef struct reader_job {
    es_state *st;
    envsync_sink *out;
    const char *index;
    const char *pit;            /* shared PIT id, or NULL for scroll */
    int slice, nslices;
    pthread_mutex_t *mu;        /* guards *seq, *failed, *docs */
    uint64_t *seq;
    uint64_t *docs;
    int *failed;
    envsync_status status;
} reader_job;

static envsync_status
flush_chunk(reader_job *j, es_buf *chunk, uint64_t rows)
{
    envsync_entry e;
    uint64_t seq;

    if (rows == 0)
        return ENVSYNC_OK;
    pthread_mutex_lock(j->mu);
    seq = (*j->seq)++;
    pthread_mutex_unlock(j->mu);
    ENVSYNC_ENTRY_INIT(e, ENVSYNC_ENTRY_DOCS);
    e.object = j->index;
    e.rows = rows;
    e.seq = seq;
    return j->out->put(j->out, &e, chunk->data, chunk->len);
}

static uint64_t
parse_total(const char *body, size_t len, int *ok)
{
    const char *hits, *tot, *v;
    size_t hn, tn, vn;

    *ok = 0;
    if (es_jfind(body, body + len, "hits", &hits, &hn) < 0 ||
        es_jfind(hits, hits + hn, "total", &tot, &tn) < 0)
        return 0;
    if (*tot == '{') {
        if (es_jfind(tot, tot + tn, "value", &v, &vn) < 0)
            return 0;
        *ok = 1;
        return strtoull(v, NULL, 10);
    }
    *ok = 1;
    return strtoull(tot, NULL, 10);
}

static int
failed_elsewhere(reader_job *j)
{
    int f;
    pthread_mutex_lock(j->mu);
    f = *j->failed;
    pthread_mutex_unlock(j->mu);
    return f;
}

static envsync_status
read_slice(reader_job *j, es_client *cl)
{
    es_state *st = j->st;
    const envsync_host *h = st->host;
    es_buf req = ES_BUF_INIT, chunk = ES_BUF_INIT, path = ES_BUF_INIT;
    es_buf after = ES_BUF_INIT, scroll_id = ES_BUF_INIT, pit = ES_BUF_INIT;
    uint64_t rows = 0, read = 0, total = 0;
    int have_total = 0, first = 1;
    envsync_status s = ENVSYNC_OK;
    char what[512];

    snprintf(what, sizeof what, "read index %s (slice %d/%d)", j->index, j->slice, j->nslices);
    if (j->pit)
        es_buf_puts(&pit, j->pit);
    for (;;) {
        es_reply r;
        const char *end, *hits, *arr, *it, *hit;
        size_t hn, an, hitn, npage = 0;
        uint64_t bytes0 = chunk.len;

        if ((s = h->cancelled(st->ctx)) != ENVSYNC_OK)
            break;
        if (failed_elsewhere(j)) {
            s = ENVSYNC_ERR_OTHER;
            break;
        }
        es_buf_reset(&req);
        es_buf_reset(&path);
        if (j->pit) {
            es_buf_printf(&req, "{\"size\":%d,\"pit\":{\"id\":", st->batch_size);
            {
                json_t *js = json_string(pit.data);
                char *t = json_dumps(js, JSON_ENCODE_ANY);
                es_buf_puts(&req, t);
                free(t);
                json_decref(js);
            }
            es_buf_printf(&req, ",\"keep_alive\":\"%s\"},\"sort\":[{\"_shard_doc\":\"asc\"}]",
                          st->keep_alive);
            if (first)
                es_buf_puts(&req, ",\"track_total_hits\":true");
            else
                es_buf_puts(&req, ",\"track_total_hits\":false");
            if (after.len)
                es_buf_printf(&req, ",\"search_after\":%s", after.data);
            if (j->nslices > 1)
                es_buf_printf(&req, ",\"slice\":{\"id\":%d,\"max\":%d}", j->slice, j->nslices);
            es_buf_putc(&req, '}');
            es_buf_puts(&path, "/_search");
        } else if (first) {
            es_buf_printf(&req, "{\"size\":%d,\"sort\":[\"_doc\"]", st->batch_size);
            if (st->major >= 7 || st->opensearch)
                es_buf_puts(&req, ",\"track_total_hits\":true");
            if (j->nslices > 1)
                es_buf_printf(&req, ",\"slice\":{\"id\":%d,\"max\":%d}", j->slice, j->nslices);
            es_buf_putc(&req, '}');
            es_buf_putc(&path, '/');
            es_path_escape(&path, j->index);
            es_buf_printf(&path, "/_search?scroll=%s", st->keep_alive);
        } else {
            json_t *js = json_string(scroll_id.data);
            char *t = json_dumps(js, JSON_ENCODE_ANY);
            es_buf_printf(&req, "{\"scroll\":\"%s\",\"scroll_id\":%s}", st->keep_alive, t);
            free(t);
            json_decref(js);
            es_buf_puts(&path, "/_search/scroll");
        }
        s = es_call(cl, "POST", path.data, req.data, req.len, NULL, &r);
        if (s != ENVSYNC_OK)
            break;
        if (r.status != 200) {
            s = es_fail(cl, &r, what);
            if (!j->pit && !first && r.status == 404)
                h->error(st->ctx, s, "%s: the scroll context expired or was lost "
                         "(raise request_timeout or lower batch_size)", what);
            break;
        }
        end = r.body + r.len;
        if (first) {
            total = parse_total(r.body, r.len, &have_total);
            first = 0;
        }
        if (j->pit) {
            const char *v;
            size_t vn;
            if (es_jfind(r.body, end, "pit_id", &v, &vn) == 0 && vn >= 2 && *v == '"') {
                es_buf_reset(&pit);
                es_buf_append(&pit, v + 1, vn - 2);
            }
        } else {
            const char *v;
            size_t vn;
            if (es_jfind(r.body, end, "_scroll_id", &v, &vn) == 0 && vn >= 2) {
                es_buf_reset(&scroll_id);
                es_buf_append(&scroll_id, v + 1, vn - 2);
            }
        }
        if (es_jfind(r.body, end, "hits", &hits, &hn) < 0 ||
            es_jfind(hits, hits + hn, "hits", &arr, &an) < 0 || *arr != '[') {
            s = h->error(st->ctx, ENVSYNC_ERR_INTEGRITY, "%s: search response without hits", what);
            break;
        }
        it = arr;
        for (;;) {
            const char *id, *src, *rt, *srt;
            size_t idn, srcn, rtn, srtn;
            int k = es_jnext(&it, arr + an, &hit, &hitn);
            if (k == 0)
                break;
            if (k < 0 || es_jfind(hit, hit + hitn, "_id", &id, &idn) < 0 ||
                es_jfind(hit, hit + hitn, "_source", &src, &srcn) < 0) {
                s = h->error(st->ctx, ENVSYNC_ERR_INTEGRITY,
                             "%s: malformed hit (no _id or _source; is _source disabled "
                             "in the mapping?)", what);
                break;
            }
            es_buf_puts(&chunk, "{\"_id\":");
            es_buf_append(&chunk, id, idn);
            if (es_jfind(hit, hit + hitn, "_routing", &rt, &rtn) == 0) {
                es_buf_puts(&chunk, ",\"_routing\":");
                es_buf_append(&chunk, rt, rtn);
            }
            es_buf_puts(&chunk, ",\"_source\":");
            if (es_jappend_flat(&chunk, src, srcn) < 0 || es_buf_puts(&chunk, "}\n") < 0) {
                s = h->error(st->ctx, ENVSYNC_ERR_OTHER, "%s: out of memory", what);
                break;
            }
            if (j->pit && es_jfind(hit, hit + hitn, "sort", &srt, &srtn) == 0) {
                es_buf_reset(&after);
                es_buf_append(&after, srt, srtn);
            }
            rows++;
            npage++;
        }
        if (s != ENVSYNC_OK)
            break;
        read += npage;
        h->progress(st->ctx, chunk.len - bytes0, npage);
        if (chunk.len >= st->chunk_size) {
            s = flush_chunk(j, &chunk, rows);
            es_buf_reset(&chunk);
            rows = 0;
            if (s != ENVSYNC_OK)
                break;
        }
        if (npage == 0 || (j->pit && npage < (size_t)st->batch_size))
            break;
    }
    if (s == ENVSYNC_OK)
        s = flush_chunk(j, &chunk, rows);
    if (s == ENVSYNC_OK && have_total && read != total)
        s = h->error(st->ctx, ENVSYNC_ERR_INTEGRITY,
                     "%s: read %llu documents but the search announced %llu "
                     "(a retried request lost or repeated a page); run the backup again",
                     what, (unsigned long long)read, (unsigned long long)total);
    if (!j->pit && scroll_id.len) {
        es_reply r;
        json_t *body = json_pack("{s:[s]}", "scroll_id", scroll_id.data);
        char *t = json_dumps(body, JSON_COMPACT);
        if (es_call(cl, "DELETE", "/_search/scroll", t, strlen(t), NULL, &r) != ENVSYNC_OK ||
            (r.status != 200 && r.status != 404))
            h->log(st->ctx, ENVSYNC_LOG_WARN, "%s: could not clear the scroll (it expires by itself)",
                   what);
        free(t);
        json_decref(body);
    }
    pthread_mutex_lock(j->mu);
    *j->docs += read;
    pthread_mutex_unlock(j->mu);
    es_buf_free(&req);
    es_buf_free(&chunk);
    es_buf_free(&path);
    es_buf_free(&after);
    es_buf_free(&scroll_id);
    es_buf_free(&pit);
    return s;
}

static void *
reader_main(void *arg)
{
    reader_job *j = arg;
    es_client *cl = es_client_new(&j->st->conn);

    if (!cl) {
        j->status = j->st->host->error(j->st->ctx, ENVSYNC_ERR_OTHER, "out of memory");
    } else {
        j->status = read_slice(j, cl);
        es_client_free(cl);
    }
    if (j->status != ENVSYNC_OK) {
        pthread_mutex_lock(j->mu);
        *j->failed = 1;
        pthread_mutex_unlock(j->mu);
    }
    return NULL;
}

static envsync_status
open_pit(es_state *st, const char *name, char **id)
{
    es_buf path = ES_BUF_INIT;
    json_t *j = NULL;
    const char *v;
    envsync_status s;

    *id = NULL;
    es_buf_putc(&path, '/');
    es_path_escape(&path, name);
    es_buf_printf(&path, st->opensearch ? "/_search/point_in_time?keep_alive=%s"
                                        : "/_pit?keep_alive=%s", st->keep_alive);
    s = es_json(st->cl, "POST", path.data, NULL, 0, NULL, &j, name);
    es_buf_free(&path);
    if (s != ENVSYNC_OK)
        return s;
    v = json_string_value(json_object_get(j, st->opensearch ? "pit_id" : "id"));
    if (v)
        *id = strdup(v);
    json_decref(j);
    if (!*id)
        return st->host->error(st->ctx, ENVSYNC_ERR_OTHER, "%s: no point-in-time id in response", name);
    return ENVSYNC_OK;
}

static void
close_pit(es_state *st, const char *name, const char *id)
{
    json_t *body = st->opensearch ? json_pack("{s:[s]}", "pit_id", id) : json_pack("{s:s}", "id", id);
    long status = 0;

    if (es_json(st->cl, "DELETE", st->opensearch ? "/_search/point_in_time" : "/_pit", body, 404,
                &status, NULL, name) != ENVSYNC_OK)
        st->host->log(st->ctx, ENVSYNC_LOG_WARN, "%s: could not close the point in time "
                      "(it expires by itself)", name);
    json_decref(body);
}

static envsync_status
backup_index(es_state *st, envsync_sink *out, const char *name, json_t *ix)
{
    const envsync_host *h = st->host;
    es_buf path = ES_BUF_INIT;
    json_t *cnt = NULL, *meta;
    uint64_t count = 0, seq = 0, docs = 0;
    char *text, *pit = NULL;
    envsync_entry e;
    envsync_status s;
    int n = st->jobs > 0 ? st->jobs : 1, i, k, started = 0, failed = 0;
    reader_job *jobs;
    pthread_t *tids;
    pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

    es_buf_putc(&path, '/');
    es_path_escape(&path, name);
    es_buf_puts(&path, "/_count");
    s = es_json(st->cl, "GET", path.data, NULL, 0, NULL, &cnt, name);
    es_buf_free(&path);
    if (s != ENVSYNC_OK)
        return s;
    count = (uint64_t)json_integer_value(json_object_get(cnt, "count"));
    json_decref(cnt);

    meta = build_meta(st, name, ix, count);
    text = json_dumps(meta, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(meta);
    ENVSYNC_ENTRY_INIT(e, ENVSYNC_ENTRY_META);
    e.object = name;
    e.section = "index";
    s = out->put(out, &e, text, strlen(text));
    free(text);
    if (s != ENVSYNC_OK)
        return s;
    if (count == 0)
        n = 1;
    if (use_pit(st) && (s = open_pit(st, name, &pit)) != ENVSYNC_OK)
        return s;
    h->log(st->ctx, ENVSYNC_LOG_INFO, "index %s: %llu documents, %d reader(s), %s", name,
           (unsigned long long)count, n, pit ? "point in time" : "scroll");
    jobs = calloc((size_t)n, sizeof *jobs);
    tids = calloc((size_t)n, sizeof *tids);
    for (i = 0; i < n; i++) {
        jobs[i].st = st;
        jobs[i].out = out;
        jobs[i].index = name;
        jobs[i].pit = pit;
        jobs[i].slice = i;
        jobs[i].nslices = n;
        jobs[i].mu = &mu;
        jobs[i].seq = &seq;
        jobs[i].docs = &docs;
        jobs[i].failed = &failed;
        if (n == 1) {
            reader_main(&jobs[i]);
        } else if (pthread_create(&tids[i], NULL, reader_main, &jobs[i]) != 0) {
            jobs[i].status = h->error(st->ctx, ENVSYNC_ERR_OTHER, "cannot start reader thread");
            pthread_mutex_lock(&mu);
            failed = 1;
            pthread_mutex_unlock(&mu);
            break;
        } else {
            started++;
        }
    }
    for (k = 0; k < started; k++)
        pthread_join(tids[k], NULL);
    s = ENVSYNC_OK;
    for (k = 0; k < n && k <= started; k++)
        if (jobs[k].status != ENVSYNC_OK) {
            s = jobs[k].status;
            break;
        }
    if (pit) {
        close_pit(st, name, pit);
        free(pit);
    }
    free(jobs);
    free(tids);
    if (s == ENVSYNC_OK && docs != count)
        h->log(st->ctx, ENVSYNC_LOG_WARN, "index %s: %llu documents read, %llu counted before "
               "(the index is being written to)", name, (unsigned long long)docs,
               (unsigned long long)count);
    return s;
}

envsync_status
es_backup_logical(es_state *st, envsync_sink *out)
{
    json_t *sel = NULL, *ix;
    const char *name;
    envsync_status s;

    s = es_select_indices(st, &sel);
    if (s != ENVSYNC_OK)
        return s;
    if (json_object_size(sel) == 0)
        st->host->log(st->ctx, ENVSYNC_LOG_WARN, "no index matches include/exclude");
    json_object_foreach(sel, name, ix) {
        s = backup_index(st, out, name, ix);
        if (s != ENVSYNC_OK)
            break;
    }
    json_decref(sel);
    return s;
}
