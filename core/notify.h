/*
 * notify.h - metrics (Pushgateway / textfile) and webhook notifications.
 * Failures to notify are logged as warnings and never fail the run.
 */
#ifndef ES_NOTIFY_H
#define ES_NOTIFY_H

#include "run.h"

/* state: "started", "succeeded" or "failed". */
void es_notify_metrics(const es_run *run, const char *state, envsync_status st);
/* event: "failure" or "recovery". */
void es_notify_webhook(const es_run *run, const char *event, envsync_status st, const char *message);

#endif
