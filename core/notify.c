/*
 * notify.c - what a run tells the outside: Prometheus metrics (pushed to a
 * Pushgateway or written in node-exporter textfile format) at the start and
 * end of every job, and an optional webhook on failure and on recovery.
 *
 * Metric families (every one carries job and environment; engine where
 * known):
 *   envsync_job_state{state="started|succeeded|failed"}   1 for the current state
 *   envsync_job_start_timestamp_seconds, envsync_job_end_timestamp_seconds
 *   envsync_job_last_success_timestamp_seconds            only on success
 *   envsync_job_duration_seconds, envsync_job_exit_code
 *   envsync_phase_duration_seconds{phase}, envsync_bytes_total{phase},
 *   envsync_rows_total{phase}
 *   envsync_artifact_size_bytes
 * The Pushgateway push uses POST to /metrics/job/<job>/environment/<env>,
 * which replaces only the families pushed, so a failed run keeps the last
 * success timestamp of the one before.
 */
#include "config.h"
#include "notify.h"
#include "log.h"
#include "util.h"
#include "buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

/* label value escaping per the exposition format */
static void
put_label(es_buf *b, const char *name, const char *value)
{
    const char *p;

    es_buf_printf(b, "%s=\"", name);
    for (p = value ? value : ""; *p; p++) {
        if (*p == '\\' || *p == '"')
            es_buf_putc(b, '\\');
        if (*p == '\n') {
            es_buf_puts(b, "\\n");
            continue;
        }
        es_buf_putc(b, *p);
    }
    es_buf_putc(b, '"');
}

typedef struct expo {
    es_buf b;
    const es_run *run;
    int with_identity;            /* job/environment labels in the lines */
    const char *last_family;
} expo;

static void
family(expo *e, const char *name, const char *type, const char *help)
{
    es_buf_printf(&e->b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
    e->last_family = name;
}

/* One sample: extra labels as "k","v",... NULL-terminated. */
static void
sample(expo *e, const char *name, double value, ...)
{
    va_list ap;
    const char *k;
    int first = 1;

    es_buf_puts(&e->b, name);
    es_buf_putc(&e->b, '{');
    if (e->with_identity) {
        put_label(&e->b, "job", e->run->job->name);
        es_buf_putc(&e->b, ',');
        put_label(&e->b, "environment", e->run->conf->environment);
        first = 0;
    }
    if (e->run->artifact_engine) {
        if (!first)
            es_buf_putc(&e->b, ',');
        put_label(&e->b, "engine", e->run->artifact_engine);
        first = 0;
    }
    va_start(ap, value);
    while ((k = va_arg(ap, const char *)) != NULL) {
        const char *v = va_arg(ap, const char *);

        if (!first)
            es_buf_putc(&e->b, ',');
        put_label(&e->b, k, v);
        first = 0;
    }
    va_end(ap);
    es_buf_printf(&e->b, "} %.17g\n", value);
}

static char *
exposition(const es_run *run, const char *state, envsync_status st, int with_identity)
{
    static const char *const states[] = { "started", "succeeded", "failed" };
    expo e;
    size_t i;
    time_t now = time(NULL);

    memset(&e, 0, sizeof e);
    es_buf_init(&e.b, 0);
    e.run = run;
    e.with_identity = with_identity;
    family(&e, "envsync_job_state", "gauge", "1 for the job's current state (started, succeeded, failed)");
    for (i = 0; i < 3; i++)
        sample(&e, "envsync_job_state", strcmp(states[i], state) == 0 ? 1 : 0, "state", states[i], NULL);
    family(&e, "envsync_job_start_timestamp_seconds", "gauge", "when the last run started");
    sample(&e, "envsync_job_start_timestamp_seconds", (double)run->start_wall, NULL);
    if (strcmp(state, "started") != 0) {
        family(&e, "envsync_job_end_timestamp_seconds", "gauge", "when the last run ended");
        sample(&e, "envsync_job_end_timestamp_seconds", (double)now, NULL);
        family(&e, "envsync_job_duration_seconds", "gauge", "duration of the last run");
        sample(&e, "envsync_job_duration_seconds", (double)(es_now_ms() - run->start_ms) / 1000.0, NULL);
        family(&e, "envsync_job_exit_code", "gauge", "exit code of the last run (0 = success)");
        sample(&e, "envsync_job_exit_code", (double)st, NULL);
        if (st == ENVSYNC_OK) {
            family(&e, "envsync_job_last_success_timestamp_seconds", "gauge", "when the job last succeeded");
            sample(&e, "envsync_job_last_success_timestamp_seconds", (double)now, NULL);
        }
        if (run->nphases) {
            family(&e, "envsync_phase_duration_seconds", "gauge", "duration of each phase of the last run");
            for (i = 0; i < run->nphases; i++)
                sample(&e, "envsync_phase_duration_seconds", (double)run->phases[i].ms / 1000.0,
                       "phase", run->phases[i].name, NULL);
            family(&e, "envsync_bytes_total", "gauge", "bytes processed by each phase of the last run");
            for (i = 0; i < run->nphases; i++)
                sample(&e, "envsync_bytes_total", (double)run->phases[i].bytes, "phase", run->phases[i].name, NULL);
            family(&e, "envsync_rows_total", "gauge", "rows processed by each phase of the last run");
            for (i = 0; i < run->nphases; i++)
                sample(&e, "envsync_rows_total", (double)run->phases[i].rows, "phase", run->phases[i].name, NULL);
        }
        if (run->artifact_size) {
            family(&e, "envsync_artifact_size_bytes", "gauge", "size of the artifact stored or fetched");
            sample(&e, "envsync_artifact_size_bytes", (double)run->artifact_size, NULL);
        }
    }
    return es_buf_detach(&e.b, NULL);
}

static size_t
discard(char *p, size_t s, size_t n, void *arg)
{
    es_buf *b = arg;

    if (b->len < 512)
        es_buf_append(b, p, s * n < 512 ? s * n : 512);
    return s * n;
}

/* POST body to url; 0 ok. The URL may hold a token: it is registered
 * for redaction when configured. */
static int
http_post(const es_run *run, const char *what, const char *url, const char *ctype,
          const char *body, long timeout_ms)
{
    CURL *c = curl_easy_init();
    struct curl_slist *h = NULL;
    es_buf resp = ES_BUF_INIT;
    CURLcode rc;
    long code = 0;
    char hdr[128];

    if (!c)
        return -1;
    snprintf(hdr, sizeof hdr, "Content-Type: %s", ctype);
    h = curl_slist_append(h, hdr);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &resp);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "envsync/" PACKAGE_VERSION);
    rc = curl_easy_perform(c);
    if (rc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    if (rc != CURLE_OK || code < 200 || code >= 300) {
        /* a monitoring outage must not fail the sync: warn and go on */
        if (rc != CURLE_OK)
            es_log(ENVSYNC_LOG_WARN, run->job->name, NULL, NULL, "%s failed: %s", what,
                   curl_easy_strerror(rc));
        else
            es_log(ENVSYNC_LOG_WARN, run->job->name, NULL, NULL, "%s failed: HTTP %ld %.200s", what,
                   code, resp.data ? resp.data : "");
        es_buf_free(&resp);
        return -1;
    }
    es_buf_free(&resp);
    return 0;
}

static char *
url_escape_segment(const char *s)
{
    CURL *c = curl_easy_init();
    char *e = c ? curl_easy_escape(c, s, 0) : NULL;
    char *out = es_strdup(e ? e : s);

    curl_free(e);
    if (c)
        curl_easy_cleanup(c);
    return out;
}

void
es_notify_metrics(const es_run *run, const char *state, envsync_status st)
{
    const es_conf *c = run->conf;

    if (c->metrics_pushgateway) {
        char *body = exposition(run, state, st, 0);
        char *j = url_escape_segment(run->job->name), *env = url_escape_segment(c->environment);
        const char *base = c->metrics_pushgateway;
        size_t bl = strlen(base);
        char *url = es_asprintf("%.*s/metrics/job/%s/environment/%s",
                                (int)(bl && base[bl - 1] == '/' ? bl - 1 : bl), base, j, env);

        http_post(run, "pushing metrics to the Pushgateway", url, "text/plain; version=0.0.4", body, 10000);
        free(url);
        free(j);
        free(env);
        free(body);
    }
    if (c->metrics_textfile) {
        char *body = exposition(run, state, st, 1);
        char *tmp = es_asprintf("%s.tmp.%d", c->metrics_textfile, (int)getpid());
        FILE *f = fopen(tmp, "w");

        if (!f || fputs(body, f) < 0 || fclose(f) != 0 || rename(tmp, c->metrics_textfile) != 0) {
            es_log(ENVSYNC_LOG_WARN, run->job->name, NULL, NULL, "writing metrics to %s failed",
                   c->metrics_textfile);
            unlink(tmp);
        }
        free(tmp);
        free(body);
    }
}

void
es_notify_webhook(const es_run *run, const char *event, envsync_status st, const char *message)
{
    const es_conf *c = run->conf;
    char host[128] = "?", started[21];
    json_t *o;
    char *body;

    if (!c->webhook_url)
        return;
    gethostname(host, sizeof host - 1);
    es_iso8601(run->start_wall, started);
    o = json_pack("{s:s, s:s, s:s, s:i, s:s, s:s, s:s, s:f, s:s}", "event", event,
                  "job", run->job->name, "environment", c->environment, "exit_code", (int)st,
                  "status", es_status_name(st), "message", message ? message : "",
                  "started", started, "duration_seconds", (double)(es_now_ms() - run->start_ms) / 1000.0,
                  "host", host);
    if (run->artifact_engine)
        json_object_set_new(o, "engine", json_string(run->artifact_engine));
    if (strcmp(event, "failure") == 0)
        json_object_set_new(o, "text", json_sprintf("envsync: job %s in %s failed (%s): %s", run->job->name,
                                                    c->environment, es_status_name(st),
                                                    message ? message : ""));
    else
        json_object_set_new(o, "text", json_sprintf("envsync: job %s in %s recovered", run->job->name,
                                                    c->environment));
    body = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    {
        char *safe = es_redact(body);

        http_post(run, "webhook", c->webhook_url, "application/json", safe, 10000);
        free(safe);
    }
    free(body);
}
