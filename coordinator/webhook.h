/*
 * Alert webhooks: POSTs JSON documents to operator-configured URLs with libcurl multi on the
 * coordinator's event loop. A bounded queue (the oldest waiting delivery is dropped when it is
 * full), at most WEBHOOK_MAX_SENDING requests at a time, and retries with exponential backoff
 * and jitter until a 2xx answer or max_tries. Nothing ever waits for a delivery.
 */
#ifndef MPIC_WEBHOOK_H
#define MPIC_WEBHOOK_H

#include <event2/event.h>
#include <stddef.h>

#define WEBHOOK_MAX_SENDING 8
#define WEBHOOK_MAX_BACKOFF_MS 60000

struct webhook_opts {
    int timeout_ms;   /* whole request */
    int max_tries;    /* attempts per delivery, >= 1 */
    int backoff_ms;   /* delay before the 2nd attempt; doubles per attempt, ±25 % jitter */
    int queue_max;    /* deliveries queued, sending or waiting to retry */
};

struct webhook;

/** NULL when curl cannot be initialized. */
struct webhook *webhook_new(struct event_base *base, const struct webhook_opts *o);
/** Abandons every delivery (counted as dropped) and frees. NULL is a no-op. */
void webhook_free(struct webhook *wh);
/** Queues one POST of body (copied) to url (copied). */
void webhook_post(struct webhook *wh, const char *url, const char *body);
/** Deliveries not finished (queued, sending or backing off). */
size_t webhook_queued(const struct webhook *wh);

#endif
