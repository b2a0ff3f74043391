/*
 * Garbage collection of stream consumers: every worker and coordinator process joins its
 * consumer group under a fresh name, so names of processes that are gone would pile up in
 * Redis. This removes consumers that have no pending entries and have been idle for long.
 */
#ifndef MPIC_GROUP_GC_H
#define MPIC_GROUP_GC_H

#include <stdint.h>

#include "redis_client.h"

#define GROUP_GC_INTERVAL_MS 60000    /* how often callers run it */
#define GROUP_GC_MIN_IDLE_MS 600000   /* consumers idle this long with nothing pending go */

/** Lists the group's consumers (XINFO CONSUMERS) and deletes the stale ones other than self. */
void group_gc_run(struct redis_client *rc, const char *stream, const char *group,
                  const char *self, int64_t min_idle_ms);

#endif
