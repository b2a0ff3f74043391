/*
 * After a request's verdict was published (the one publish.lua winner, on whichever
 * coordinator), given its stored record and results, feeds the request and
 * per-perspective metrics (outcomes, latency, disagreement with the verdict, DNSSEC failures,
 * the anomaly window) and raises a security alert when the corroboration failed while some
 * perspectives passed. Fire-and-forget: nothing waits for it, and a Redis failure only costs
 * the metrics of that request.
 */
#ifndef MPIC_VERDICT_WATCH_H
#define MPIC_VERDICT_WATCH_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "cmetrics.h"
#include "cohort.h"
#include "coord.h"
#include "obs_label.h"
#include "perspective.h"

struct verdict_perspective {
    char code[PERSPECTIVE_CODE_MAX];
    int rir; /* enum rir, -1 unknown */
    const char *outcome; /* static string, see obs_label_outcome */
    char error_type[OBS_LABEL_MAX];
    double latency_s; /* < 0 unknown */
    enum cmetrics_disagreement disagreement;
    bool dnssec_failure;
};

struct verdict_analysis {
    bool valid;
    bool dcv;
    char method[OBS_LABEL_MAX];
    int n, q, passed, reported;
    double duration_s; /* admission to now; < 0 unknown */
    bool anomalous;    /* at least one perspective disagreed with the verdict */
    bool alert;        /* failed corroboration where some perspectives passed */
    int count;
    struct verdict_perspective p[COHORT_MAX];
};

/**
 * Reports request rid, just published by this process, from its stored record and results
 * (read once by published.c; echo is the record's parsed echo, or NULL): metrics, and a
 * security alert when one is due.
 */
void verdict_watch_report(struct coord *co, const char *rid, const json_t *req,
                          const json_t *echo, const json_t *res);
/**
 * Analyzes a request record ({field: string}) and its results ({code: check_response}) at
 * wall time now_ms. Returns 0, or -1 when the record has no verdict or cohort.
 */
int verdict_watch_analyze(const json_t *req, const json_t *res, int64_t now_ms,
                          struct verdict_analysis *a);
/** verdict_watch_analyze with the record's echo already parsed (may be NULL). */
int verdict_watch_analyze_echo(const json_t *req, const json_t *echo, const json_t *res,
                               int64_t now_ms, struct verdict_analysis *a);
/** The alert document (docs/alerts.md), new reference. */
json_t *verdict_watch_alert(const char *rid, const char *coordinator_id, const json_t *req,
                            const json_t *res, const struct verdict_analysis *a, int64_t now_ms);

#endif
