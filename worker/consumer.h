/*
 * The worker's job loop for one perspective: a dedicated blocking connection reads the
 * region's job stream with XREADGROUP (consumer group "workers", many workers per region),
 * jobs run concurrently up to max_inflight_jobs, each result is XADDed to the results stream
 * and only then XACKed. In-flight jobs are kept alive with XCLAIM heartbeats; jobs of dead
 * workers are taken over with XAUTOCLAIM once idle longer than the visibility timeout.
 */
#ifndef MPIC_CONSUMER_H
#define MPIC_CONSUMER_H

#include <stdbool.h>

#include "check.h"
#include "config.h"

struct consumer;

/** Creates the consumer and starts connecting; env is borrowed and must outlive it. */
struct consumer *consumer_new(struct event_base *base, const struct config *cfg,
                              const struct perspective *self, const struct check_env *env);
/** True when both Redis connections are ready and the consumer group exists. */
bool consumer_is_healthy(const struct consumer *c);
/** Stops reading new jobs; in-flight jobs still finish and report. */
void consumer_stop_reading(struct consumer *c);
int consumer_inflight(const struct consumer *c);
void consumer_free(struct consumer *c);

#endif
