/*
 * The worker's metrics (GET /metrics on the --listen server, Prometheus text format): checks
 * by outcome, check latency histograms, error types, DNSSEC failures, reclaimed jobs, the
 * Redis round trip of result writes and in-flight jobs, all labelled with this perspective;
 * and the health listener's accept pauses.
 */
#ifndef MPIC_WMETRICS_H
#define MPIC_WMETRICS_H

#include <event2/http.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/** Registers every family for perspective code (copied). Once per process. */
void wmetrics_init(const char *perspective);
void wmetrics_shutdown(void);
/** Answers GET /metrics; inflight is the number of jobs running now, accept_pauses the
 * health listener's acceptguard_pauses. */
void wmetrics_reply(struct evhttp_request *req, int inflight, unsigned long accept_pauses);
/** Monotonic seconds (for durations). */
double wmetrics_now_s(void);
/** One finished check: dcv or caa, its parameters (for the method), its check_response. */
void wmetrics_check_done(bool dcv, const json_t *params, const json_t *check_response,
                         double duration_s);
/** Jobs of dead workers taken over with XAUTOCLAIM. */
void wmetrics_reclaimed(size_t n);
/** Round trip of one result XADD; ok false when it failed (and will be retried). */
void wmetrics_result_write(double rtt_s, bool ok);

#endif
