/*
 * The coordinator's process-wide context, shared by its modules (api, admission, reducer,
 * due, replies): configuration, identity, the event base and the three Redis connections.
 * Nothing in here matters after an HTTP reply: all request state lives in Redis.
 */
#ifndef MPIC_COORD_H
#define MPIC_COORD_H

#include <event2/event.h>
#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "keys.h"
#include "redis_client.h"

struct pending_table;
struct tallycache;
struct acceptguard;
struct connguard;

struct coord {
    struct event_base *base;
    const struct config *cfg;
    char id[40];                  /* "c-<hex>", unique per process start */
    struct redis_client *cmd;     /* admission, scripts, acks: never blocks */
    struct redis_client *rblock;  /* reducer: XREADGROUP BLOCK on the results stream */
    struct redis_client *pblock;  /* reply listener: XREAD BLOCK on our replies stream */
    bool groups_ready;            /* consumer groups exist (jobs per region, results) */
    bool draining;                /* SIGTERM received: answer new requests with 503 */
    struct pending_table *pending; /* HTTP requests this process holds, by request id */
    struct tallycache *tallies;    /* the reducer's hint: last tally per open attempt */
    struct connguard *http_guard;  /* listener guard: read deadline, TLS (NULL in tests) */
    struct acceptguard *accept_guard; /* pauses accepting when accept() fails (NULL in tests) */
    char results_key[KEYS_MAX];
    char due_key[KEYS_MAX];
    char replies_key[KEYS_MAX];
};

#endif
