/*
 * Target cooldown: after a final is_valid false, the target is in cooldown for
 * coordinator.target_cooldown_ms (a key with that TTL in Redis, shared by every coordinator);
 * new requests for it answer 429 with Retry-After unless they opt out
 * (orchestration_parameters.ignore_cooldown). Off when target_cooldown_ms is 0.
 */
#ifndef MPIC_COOLDOWN_H
#define MPIC_COOLDOWN_H

#include <event2/http.h>
#include <jansson.h>
#include <stdint.h>

#include "coord.h"

/** Called once by cooldown_check: ttl_ms > 0 in cooldown, 0 not, -1 Redis failed. */
typedef void (*cooldown_cb)(void *arg, int64_t ttl_ms);

/** Looks up target's cooldown (normalized target). */
void cooldown_check(struct coord *co, const char *target, cooldown_cb cb, void *arg);
/** Starts the cooldown of a published record's target when its verdict is invalid. */
void cooldown_note(struct coord *co, const json_t *record);
/** Adds X-Mpic-Cooldown-Until (epoch ms) for an invalid published record, when enabled. */
void cooldown_add_header(const struct coord *co, const json_t *record,
                         struct evhttp_request *req);

#endif
