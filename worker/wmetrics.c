/*
 * Worker metrics (see wmetrics.h): one process-wide registry; every series carries the
 * perspective label so that scrapes of many workers aggregate without relabelling.
 */
#include "wmetrics.h"

#include <string.h>
#include <time.h>

#include "buildinfo.h"
#include "metrics.h"
#include "obs_label.h"
#include "perspective.h"
#include "util.h"

static struct {
    struct metrics_registry *reg;
    char perspective[PERSPECTIVE_CODE_MAX];
    struct metrics_family *checks, *duration, *errors, *dnssec, *reclaimed, *inflight, *rtt,
        *write_failures, *accept_pauses;
    unsigned long accept_pauses_seen;
} wm;

static const double B_CHECK[] = {0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 45};
static const double B_REDIS[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                 0.5, 1, 2.5};

double wmetrics_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void wmetrics_init(const char *perspective)
{
    static const char *const l_checks[] = {"perspective", "check_type", "method", "outcome",
                                           NULL};
    static const char *const l_dur[] = {"perspective", "check_type", "method", NULL};
    static const char *const l_err[] = {"perspective", "check_type", "error_type", NULL};
    static const char *const l_p[] = {"perspective", NULL};
    const char *p[] = {perspective};

    if (wm.reg != NULL) return;
    util_strlcpy(wm.perspective, perspective, sizeof(wm.perspective));
    wm.reg = metrics_registry_new();
    buildinfo_register(wm.reg);
    wm.checks = metrics_family_new(wm.reg, METRICS_COUNTER, "mpic_worker_checks_total",
                                   "Checks run by this worker by outcome (passed, failed, "
                                   "error: did not complete).",
                                   l_checks, NULL, 0);
    wm.duration = metrics_family_new(wm.reg, METRICS_HISTOGRAM,
                                     "mpic_worker_check_duration_seconds",
                                     "Duration of one check at this perspective.", l_dur,
                                     B_CHECK, (int)MPIC_ARRAY_LEN(B_CHECK));
    wm.errors = metrics_family_new(wm.reg, METRICS_COUNTER, "mpic_worker_check_errors_total",
                                   "Checks that reported an error, by first error type.", l_err,
                                   NULL, 0);
    wm.dnssec = metrics_family_new(wm.reg, METRICS_COUNTER, "mpic_worker_dnssec_failures_total",
                                   "Checks that failed DNSSEC validation.", l_p, NULL, 0);
    wm.reclaimed = metrics_family_new(wm.reg, METRICS_COUNTER,
                                      "mpic_worker_jobs_reclaimed_total",
                                      "Jobs of dead workers taken over with XAUTOCLAIM.", l_p,
                                      NULL, 0);
    wm.inflight = metrics_family_new(wm.reg, METRICS_GAUGE, "mpic_worker_inflight_jobs",
                                     "Jobs running in this worker.", l_p, NULL, 0);
    wm.rtt = metrics_family_new(wm.reg, METRICS_HISTOGRAM, "mpic_worker_redis_roundtrip_seconds",
                                "Round trip of the result XADD to Redis.", l_p, B_REDIS,
                                (int)MPIC_ARRAY_LEN(B_REDIS));
    wm.write_failures = metrics_family_new(wm.reg, METRICS_COUNTER,
                                           "mpic_worker_result_write_failures_total",
                                           "Result XADDs that failed and were retried.", l_p,
                                           NULL, 0);
    wm.accept_pauses = metrics_family_new(wm.reg, METRICS_COUNTER,
                                          "mpic_http_accept_pauses_total",
                                          "Times the health listener stopped accepting for "
                                          "100 ms because accept() failed (out of file "
                                          "descriptors or kernel memory).",
                                          NULL, NULL, 0);
    metrics_touch(wm.accept_pauses, NULL);
    metrics_touch(wm.dnssec, p);
    metrics_touch(wm.reclaimed, p);
    metrics_touch(wm.inflight, p);
    metrics_touch(wm.write_failures, p);
}

void wmetrics_shutdown(void)
{
    metrics_registry_free(wm.reg);
    wm.reg = NULL;
}

void wmetrics_reply(struct evhttp_request *req, int inflight, unsigned long accept_pauses)
{
    const char *p[] = {wm.perspective};
    metrics_set(wm.inflight, p, inflight);
    metrics_add_since(wm.accept_pauses, NULL, accept_pauses, &wm.accept_pauses_seen);
    metrics_http_reply(wm.reg, req);
}

void wmetrics_check_done(bool dcv, const json_t *params, const json_t *cr, double duration_s)
{
    char method[OBS_LABEL_MAX], error_type[OBS_LABEL_MAX];
    const char *ct = dcv ? "dcv" : "caa";
    const char *outcome = obs_label_outcome(cr);
    if (wm.reg == NULL) return;
    obs_label_method(dcv, params, method, sizeof(method));
    obs_label_error_type(cr, error_type, sizeof(error_type));
    {
        const char *c[] = {wm.perspective, ct, method, outcome};
        const char *d[] = {wm.perspective, ct, method};
        metrics_add(wm.checks, c, 1);
        metrics_observe(wm.duration, d, duration_s);
    }
    if (strcmp(error_type, "none") != 0) {
        const char *e[] = {wm.perspective, ct, error_type};
        metrics_add(wm.errors, e, 1);
    }
    if (obs_label_dnssec_failure(cr)) {
        const char *p[] = {wm.perspective};
        metrics_add(wm.dnssec, p, 1);
    }
}

void wmetrics_reclaimed(size_t n)
{
    const char *p[] = {wm.perspective};
    if (wm.reg) metrics_add(wm.reclaimed, p, (double)n);
}

void wmetrics_result_write(double rtt_s, bool ok)
{
    const char *p[] = {wm.perspective};
    if (wm.reg == NULL) return;
    if (ok) metrics_observe(wm.rtt, p, rtt_s);
    else metrics_add(wm.write_failures, p, 1);
}
