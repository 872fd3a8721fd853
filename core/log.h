/*
 * log.h - the core's logger: human text on a terminal, JSON lines for
 * Kubernetes.  Every line carries job, phase and plugin (empty when not
 * applicable).  Every message passes through redaction of registered
 * secrets before it is written.  Thread-safe.
 */
#ifndef ES_LOG_H
#define ES_LOG_H

#include <stdarg.h>
#include <envsync/plugin.h>

typedef enum es_log_format { ES_LOG_TEXT = 0, ES_LOG_JSON = 1 } es_log_format;

void es_log_setup(es_log_format fmt, int level);
int es_log_level_from_name(const char *name);     /* -1 if unknown */
void es_log_set_format(es_log_format fmt);
void es_log_set_level(int level);

/* Register a secret: any later message containing it shows "***". */
void es_redact_add(const char *secret);
/* Redact into a malloc'd copy. */
char *es_redact(const char *msg);

/* job, phase, plugin may be NULL. `extra_json` (may be NULL) is a string of
 * additional JSON members (`"bytes":12,"rows":3`) added to JSON lines. */
void es_logv(int level, const char *job, const char *phase, const char *plugin,
             const char *extra_json, const char *fmt, va_list ap);
void es_log(int level, const char *job, const char *phase, const char *plugin,
            const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void es_log_extra(int level, const char *job, const char *phase,
                  const char *plugin, const char *extra_json,
                  const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* Shorthands for messages without job context. */
#define es_error(...) es_log(ENVSYNC_LOG_ERROR, NULL, NULL, NULL, __VA_ARGS__)
#define es_warn(...)  es_log(ENVSYNC_LOG_WARN, NULL, NULL, NULL, __VA_ARGS__)
#define es_info(...)  es_log(ENVSYNC_LOG_INFO, NULL, NULL, NULL, __VA_ARGS__)

#endif
