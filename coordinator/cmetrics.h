/*
 * The coordinator's metrics (GET /metrics, Prometheus text format): request, attempt and
 * per-perspective counters fed by admission and by verdict_watch, per-perspective anomaly
 * ratios over a sliding window, and stream/Redis gauges sampled by a timer (bounded cost:
 * a few commands per job stream every metrics.stream_sample_ms). Names: docs/metrics.md.
 */
#ifndef MPIC_CMETRICS_H
#define MPIC_CMETRICS_H

#include <event2/http.h>
#include <stdbool.h>
#include <stddef.h>

#include "coord.h"

/** Disagreement of one perspective with the verdict of its request. */
enum cmetrics_disagreement {
    CMETRICS_AGREES = 0,               /* agreed, or did not report */
    CMETRICS_FAILED_WHILE_VALID = 1,   /* completed and failed; the quorum passed */
    CMETRICS_ERROR_WHILE_VALID = 2,    /* did not complete; the quorum passed */
    CMETRICS_PASSED_WHILE_INVALID = 3, /* passed; the quorum failed */
};

/** What became of one perspective's result, as seen when its request was published. */
struct cmetrics_perspective_result {
    const char *code;
    const char *outcome;    /* "passed", "failed", "error" or "missing" */
    const char *error_type; /* first error type (sanitized), "none" */
    double latency_s;       /* admission to check completion; < 0 when unknown */
    enum cmetrics_disagreement disagreement;
    bool dnssec_failure;
};

/** Registers every family and starts the sampler. Safe to call once per process. */
void cmetrics_init(struct coord *co);
/** Stops the sampler and frees the registry (after the Redis clients were freed). */
void cmetrics_shutdown(void);
/** called by evhttp for /metrics */
void cmetrics_http_cb(struct evhttp_request *req, void *arg);

/** One attempt admitted (jobs written) for check type "caa"/"dcv". */
void cmetrics_attempt(const char *check_type);
/** A retry scheduled (reserved for the retry scheduler). */
void cmetrics_retry(const char *check_type);
/** A request refused because its target is in cooldown (reserved for the cooldown check). */
void cmetrics_cooldown_rejection(const char *check_type);
/** Results of dead coordinators taken over with XAUTOCLAIM. */
void cmetrics_results_reclaimed(size_t n);
/** A verdict judged ahead of lua/record's reply; confirmed: Redis stored the predicted tally. */
void cmetrics_judged_ahead(bool confirmed);
/** One published request: verdict "valid"/"invalid", duration admission → publication. */
void cmetrics_request_done(const char *check_type, const char *method, const char *verdict,
                           double duration_s, bool anomalous);
/** One perspective of a published request (feeds counters and the anomaly window). */
void cmetrics_perspective(const char *check_type, const struct cmetrics_perspective_result *r);
/** Security alerts: result is "published" or "stream_failed". */
void cmetrics_alert(const char *result);
/** Webhook delivery events: what is "delivered", "given_up", "dropped", "attempt_failed". */
void cmetrics_webhook(const char *what);
/** Webhook deliveries not finished yet (gauge). */
void cmetrics_webhook_queue(size_t n);

#endif
