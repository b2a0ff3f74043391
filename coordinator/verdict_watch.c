/*
 * Post-publication observation of one request (see verdict_watch.h): a pure analysis of the
 * stored record and results (loaded once by published.c) feeding cmetrics and, for failed
 * corroborations with disagreeing perspectives, the alert document handed to alerts.c.
 */
#include "verdict_watch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alerts.h"
#include "clock.h"
#include "log.h"
#include "msg.h"
#include "record_echo.h"
#include "util.h"

#define VERDICT_WATCH_MAX_ERRORS 4      /* errors copied per perspective into an alert */
#define VERDICT_WATCH_MAX_MESSAGE 512   /* bytes of each error message copied */
#define VERDICT_WATCH_MAX_DETAILS 4096  /* larger details are replaced by a marker */

static int64_t verdict_watch_int(const json_t *req, const char *field, int64_t dflt)
{
    const char *s = json_string_value(json_object_get(req, field));
    int64_t v;
    if (s == NULL || util_parse_int64(s, INT64_MIN, INT64_MAX, &v) != 0) return dflt;
    return v;
}

int verdict_watch_analyze(const json_t *req, const json_t *res, int64_t now_ms,
                          struct verdict_analysis *a)
{
    json_t *echo = record_echo_load(req);
    int rc = verdict_watch_analyze_echo(req, echo, res, now_ms, a);

    json_decref(echo);
    return rc;
}

int verdict_watch_analyze_echo(const json_t *req, const json_t *echo, const json_t *res,
                               int64_t now_ms, struct verdict_analysis *a)
{
    const char *verdict = json_string_value(json_object_get(req, "verdict"));
    const char *cohort = json_string_value(json_object_get(req, "cohort"));
    const char *rirs = json_string_value(json_object_get(req, "rirs"));
    const char *ct = json_string_value(json_object_get(req, "check_type"));
    int64_t created = verdict_watch_int(req, "created", -1);

    memset(a, 0, sizeof(*a));
    if (verdict == NULL || cohort == NULL) return -1;
    a->valid = strcmp(verdict, "valid") == 0;
    a->dcv = ct != NULL && strcmp(ct, "dcv") == 0;
    obs_label_method(a->dcv, json_object_get(echo, "dcv_check_parameters"), a->method,
                     sizeof(a->method));
    a->n = (int)verdict_watch_int(req, "n", 0);
    a->q = (int)verdict_watch_int(req, "q", 0);
    a->duration_s = created > 0 && now_ms >= created ? (double)(now_ms - created) / 1000.0 : -1;

    for (const char *p = cohort, *r = rirs; *p && a->count < COHORT_MAX;) {
        struct verdict_perspective *vp = &a->p[a->count++];
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        const json_t *cr;
        json_t *ts;

        if (len >= sizeof(vp->code)) len = sizeof(vp->code) - 1;
        memcpy(vp->code, p, len);
        vp->code[len] = '\0';
        vp->rir = -1;
        if (r != NULL && *r >= '0' && *r <= '9') {
            vp->rir = *r - '0';
            r = strchr(r, ',');
            if (r) r++;
        }
        cr = json_object_get(res, vp->code);
        vp->outcome = obs_label_outcome(cr);
        obs_label_error_type(cr, vp->error_type, sizeof(vp->error_type));
        vp->dnssec_failure = cr != NULL && obs_label_dnssec_failure(cr);
        ts = json_object_get(cr, "timestamp_ns");
        vp->latency_s = -1;
        if (json_is_integer(ts) && created > 0) {
            int64_t done_ms = (int64_t)(json_integer_value(ts) / 1000000);
            if (done_ms >= created) vp->latency_s = (double)(done_ms - created) / 1000.0;
        }
        if (cr != NULL) a->reported++;
        if (strcmp(vp->outcome, "passed") == 0) a->passed++;
        if (a->valid && strcmp(vp->outcome, "failed") == 0)
            vp->disagreement = CMETRICS_FAILED_WHILE_VALID;
        else if (a->valid && strcmp(vp->outcome, "error") == 0)
            vp->disagreement = CMETRICS_ERROR_WHILE_VALID;
        else if (!a->valid && strcmp(vp->outcome, "passed") == 0)
            vp->disagreement = CMETRICS_PASSED_WHILE_INVALID;
        if (vp->disagreement != CMETRICS_AGREES) a->anomalous = true;
        if (!comma) break;
        p = comma + 1;
    }
    a->alert = !a->valid && a->passed > 0;
    return 0;
}

/* A copy of the perspective's errors, bounded in count and message size. */
static json_t *verdict_watch_errors(const json_t *cr)
{
    json_t *out = json_array();
    const json_t *errors = json_object_get(cr, "errors");
    size_t i;
    const json_t *e;
    if (!json_is_array(errors)) return out;
    json_array_foreach(errors, i, e) {
        const char *t = json_string_value(json_object_get(e, "error_type"));
        const char *m = json_string_value(json_object_get(e, "error_message"));
        if (i >= VERDICT_WATCH_MAX_ERRORS) break;
        json_array_append_new(out, json_pack("{s:s?, s:s%}", "error_type", t, "error_message",
                                             m ? m : "",
                                             m ? strnlen(m, VERDICT_WATCH_MAX_MESSAGE) : 0));
    }
    return out;
}

json_t *verdict_watch_alert(const char *rid, const char *coordinator_id, const json_t *req,
                            const json_t *res, const struct verdict_analysis *a, int64_t now_ms)
{
    json_t *alert = json_object(), *persp = json_array();
    json_t *passed = json_array(), *failed = json_array(), *missing = json_array();
    const char *trace = json_string_value(json_object_get(req, "trace"));
    const char *target = json_string_value(json_object_get(req, "target"));
    const char *reason = json_string_value(json_object_get(req, "reason"));
    char when[40], quorum[24];
    time_t secs = (time_t)(now_ms / 1000);
    struct tm tm;

    gmtime_r(&secs, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(when + strlen(when), sizeof(when) - strlen(when), ".%03dZ", (int)(now_ms % 1000));
    snprintf(quorum, sizeof(quorum), "%d/%d", a->passed, a->n);
    for (int i = 0; i < a->count; i++) {
        const struct verdict_perspective *vp = &a->p[i];
        const json_t *cr = json_object_get(res, vp->code);
        json_t *item = json_object(), *details = json_object_get(cr, "details");
        char *dump = details ? json_dumps(details, JSON_COMPACT) : NULL;

        json_object_set_new(item, "perspective_code", json_string(vp->code));
        json_object_set_new(item, "rir", vp->rir >= 0 ? json_string(perspective_rir_name(
                                                            (enum rir)vp->rir))
                                                      : json_null());
        json_object_set_new(item, "outcome", json_string(vp->outcome));
        json_object_set_new(item, "errors", verdict_watch_errors(cr));
        if (dump != NULL && strlen(dump) <= VERDICT_WATCH_MAX_DETAILS)
            json_object_set(item, "details", details);
        else if (dump != NULL)
            json_object_set_new(item, "details", json_pack("{s:b}", "truncated", 1));
        else
            json_object_set_new(item, "details", json_null());
        free(dump);
        json_object_set(item, "timestamp_ns",
                        json_is_integer(json_object_get(cr, "timestamp_ns"))
                            ? json_object_get(cr, "timestamp_ns")
                            : json_null());
        json_array_append_new(persp, item);
        if (strcmp(vp->outcome, "passed") == 0)
            json_array_append_new(passed, json_string(vp->code));
        else if (strcmp(vp->outcome, "missing") == 0)
            json_array_append_new(missing, json_string(vp->code));
        else
            json_array_append_new(failed, json_string(vp->code));
    }
    json_object_set_new(alert, "alert", json_string("mpic.corroboration_disagreement"));
    json_object_set_new(alert, "version", json_integer(1));
    json_object_set_new(alert, "time", json_string(when));
    json_object_set_new(alert, "request_id", json_string(rid));
    json_object_set_new(alert, "trace_identifier",
                        trace && *trace ? json_string(trace) : json_null());
    json_object_set_new(alert, "coordinator", json_string(coordinator_id));
    json_object_set_new(alert, "check_type", json_string(a->dcv ? "dcv" : "caa"));
    json_object_set_new(alert, "validation_method", json_string(a->method));
    json_object_set_new(alert, "domain_or_ip_target", target ? json_string(target) : json_null());
    json_object_set_new(alert, "attempt", json_integer(verdict_watch_int(req, "attempt", 1)));
    json_object_set_new(alert, "is_valid", json_boolean(a->valid));
    json_object_set_new(alert, "quorum", json_string(quorum));
    json_object_set_new(alert, "perspective_count", json_integer(a->n));
    json_object_set_new(alert, "quorum_count", json_integer(a->q));
    json_object_set_new(alert, "reason", reason ? json_string(reason) : json_null());
    json_object_set_new(alert, "passed_perspectives", passed);
    json_object_set_new(alert, "failed_perspectives", failed);
    json_object_set_new(alert, "missing_perspectives", missing);
    json_object_set_new(alert, "perspectives", persp);
    return alert;
}

void verdict_watch_report(struct coord *co, const char *rid, const json_t *req,
                          const json_t *echo, const json_t *res)
{
    struct verdict_analysis a;
    int64_t now = clock_now_ms();
    const char *ct;

    if (verdict_watch_analyze_echo(req, echo, res, now, &a) != 0) {
        log_debug("request %s: no verdict in the record; not counted", rid);
        return;
    }
    ct = a.dcv ? "dcv" : "caa";
    cmetrics_request_done(ct, a.method, a.valid ? "valid" : "invalid", a.duration_s,
                          a.anomalous);
    for (int i = 0; i < a.count; i++) {
        struct cmetrics_perspective_result r;
        r.code = a.p[i].code;
        r.outcome = a.p[i].outcome;
        r.error_type = a.p[i].error_type;
        r.latency_s = a.p[i].latency_s;
        r.disagreement = a.p[i].disagreement;
        r.dnssec_failure = a.p[i].dnssec_failure;
        cmetrics_perspective(ct, &r);
    }
    if (a.alert) {
        json_t *alert = verdict_watch_alert(rid, co->id, req, res, &a, now);
        log_warn("request %s: SECURITY ALERT: corroboration failed with %d/%d perspectives "
                 "passing",
                 rid, a.passed, a.n);
        alerts_raise(co, alert);
        json_decref(alert);
    }
}
