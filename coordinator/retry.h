/*
 * Starting the next attempt of a request whose attempt failed or was anomalous, once its
 * cooldown passed: a fresh cohort (the next one for the target, never an earlier attempt's
 * results or lookups), a compare-and-set in lua/advance, then the jobs and the new deadline.
 * Any coordinator can do it; the due set brings it back if this one dies on the way.
 */
#ifndef MPIC_RETRY_H
#define MPIC_RETRY_H

#include <stdbool.h>

#include "coord.h"

/** Called once by retry_advance: ok false when Redis failed (the due entry stays). */
typedef void (*retry_done_cb)(void *arg, bool ok);

void retry_advance(struct coord *co, const char *rid, retry_done_cb cb, void *arg);

#endif
