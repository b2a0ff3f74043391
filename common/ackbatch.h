/*
 * Batched stream acknowledgements: a consumer queues the entries it finished, and one
 * XACK <stream> <group> id1 id2 ... per event-loop turn (or per ACKBATCH_MAX entries)
 * acknowledges them all. Used by the worker's job consumer and the coordinator's reducer.
 */
#ifndef MPIC_ACKBATCH_H
#define MPIC_ACKBATCH_H

#include <event2/event.h>
#include <stdbool.h>

#include "redis_client.h"

#define ACKBATCH_MAX 128 /* entry ids per XACK */

/**
 * Called once per queued item after its XACK was answered (ok) or failed (the entry stays
 * pending and is reclaimed later), or with ok=false by ackbatch_free for items never sent.
 */
typedef void (*ackbatch_done_cb)(void *arg, void *item, bool ok);

struct ackbatch;

/** stream and group are copied; rc must outlive every XACK sent (free the batcher first). */
struct ackbatch *ackbatch_new(struct event_base *base, struct redis_client *rc,
                              const char *stream, const char *group, ackbatch_done_cb cb,
                              void *arg);
/** Queues item's entry id (borrowed: it must stay valid until the item's callback). */
void ackbatch_add(struct ackbatch *b, const char *id, void *item);
/** Items queued but not sent yet complete with ok=false; XACKs already sent still complete. */
void ackbatch_free(struct ackbatch *b);

#endif
