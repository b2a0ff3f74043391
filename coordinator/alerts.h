/*
 * Security alerts: each alert document (built by verdict_watch) is appended to the Redis
 * stream <prefix>:alerts (XADD MAXLEN ~ alerts.stream_maxlen, field "a": the JSON) and queued
 * for every configured webhook (webhook.c). Format: docs/alerts.md. Never blocks validation.
 */
#ifndef MPIC_ALERTS_H
#define MPIC_ALERTS_H

#include <jansson.h>

#include "coord.h"

/** Creates the webhook client when alerts.webhooks is not empty. Once per process. */
void alerts_init(struct coord *co);
/** Abandons queued webhook deliveries and frees. */
void alerts_shutdown(void);
/** Publishes one alert (borrowed) to the stream and the webhooks. */
void alerts_raise(struct coord *co, const json_t *alert);

#endif
