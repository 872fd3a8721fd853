#include "config.h"
#include "log.h"
#include "util.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/time.h>
#include <unistd.h>

#include <jansson.h>

/* Secrets shorter than this are not redacted: replacing every "a" in every
 * message would make logs useless while protecting nothing real. */
#define MIN_SECRET 4

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static es_log_format log_format = ES_LOG_TEXT;
static int log_level = ENVSYNC_LOG_INFO;
static char **secrets;
static size_t nsecrets;

static const char *const level_names[] = { "error", "warn", "info", "debug" };

void
es_log_setup(es_log_format fmt, int level)
{
    log_format = fmt;
    log_level = level;
}

void
es_log_set_format(es_log_format fmt)
{
    log_format = fmt;
}

void
es_log_set_level(int level)
{
    log_level = level;
}

int
es_log_level_from_name(const char *name)
{
    int i;

    for (i = 0; i < 4; i++)
        if (strcmp(name, level_names[i]) == 0)
            return i;
    if (strcmp(name, "warning") == 0)
        return ENVSYNC_LOG_WARN;
    return -1;
}

void
es_redact_add(const char *secret)
{
    size_t i;

    if (!secret || strlen(secret) < MIN_SECRET)
        return;
    pthread_mutex_lock(&log_lock);
    for (i = 0; i < nsecrets; i++)
        if (strcmp(secrets[i], secret) == 0)
            break;
    if (i == nsecrets) {
        secrets = es_realloc(secrets, (nsecrets + 1) * sizeof *secrets);
        secrets[nsecrets++] = es_strdup(secret);
    }
    pthread_mutex_unlock(&log_lock);
}

/* caller holds log_lock */
static char *
redact_locked(const char *msg)
{
    char *out = es_strdup(msg);
    size_t i;

    for (i = 0; i < nsecrets; i++) {
        const char *sec = secrets[i];
        size_t slen = strlen(sec);
        char *hit;

        while ((hit = strstr(out, sec)) != NULL) {
            size_t pre = (size_t)(hit - out);
            char *n = es_asprintf("%.*s***%s", (int)pre, out, hit + slen);

            free(out);
            out = n;
        }
    }
    return out;
}

char *
es_redact(const char *msg)
{
    char *r;

    pthread_mutex_lock(&log_lock);
    r = redact_locked(msg);
    pthread_mutex_unlock(&log_lock);
    return r;
}

/* A JSON string of msg; invalid UTF-8 bytes become '?'. */
static json_t *
json_text(const char *msg)
{
    json_t *j = json_string(msg);
    char *copy, *p;

    if (j)
        return j;
    copy = es_strdup(msg);
    for (p = copy; *p; p++)
        if ((unsigned char)*p >= 0x80)
            *p = '?';
    j = json_string(copy);
    free(copy);
    return j;
}

void
es_logv(int level, const char *job, const char *phase, const char *plugin,
        const char *extra_json, const char *fmt, va_list ap)
{
    char raw[4096], ts[32], *msg;
    struct timeval tv;
    struct tm tm;

    if (level > log_level)
        return;
    vsnprintf(raw, sizeof raw, fmt, ap);
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    strftime(ts, 21, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(ts + 19, sizeof ts - 19, ".%03dZ", (int)(tv.tv_usec / 1000));

    pthread_mutex_lock(&log_lock);
    msg = redact_locked(raw);
    if (log_format == ES_LOG_JSON) {
        json_t *o = json_object();
        char *line;

        json_object_set_new(o, "ts", json_string(ts));
        json_object_set_new(o, "level", json_string(level_names[level]));
        if (job)
            json_object_set_new(o, "job", json_string(job));
        if (phase)
            json_object_set_new(o, "phase", json_string(phase));
        if (plugin)
            json_object_set_new(o, "plugin", json_string(plugin));
        json_object_set_new(o, "msg", json_text(msg));
        if (extra_json && *extra_json) {
            char *wrapped = es_asprintf("{%s}", extra_json);
            json_t *x = json_loads(wrapped, 0, NULL);

            if (x)
                json_object_update(o, x);
            json_decref(x);
            free(wrapped);
        }
        line = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (line) {
            char *safe = redact_locked(line);

            fprintf(stderr, "%s\n", safe);
            free(safe);
            free(line);
        }
        json_decref(o);
    } else {
        char ctx[512] = "";

        if (job || phase || plugin)
            snprintf(ctx, sizeof ctx, " [%s%s%s%s%s]", job ? job : "",
                     phase ? "/" : "", phase ? phase : "",
                     plugin ? ":" : "", plugin ? plugin : "");
        fprintf(stderr, "%s %-5s%s %s\n", ts, level_names[level], ctx, msg);
    }
    fflush(stderr);
    free(msg);
    pthread_mutex_unlock(&log_lock);
}

void
es_log(int level, const char *job, const char *phase, const char *plugin,
       const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    es_logv(level, job, phase, plugin, NULL, fmt, ap);
    va_end(ap);
}

void
es_log_extra(int level, const char *job, const char *phase, const char *plugin,
             const char *extra_json, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    es_logv(level, job, phase, plugin, extra_json, fmt, ap);
    va_end(ap);
}
