/*
 * Coordinator metrics (see cmetrics.h). One process-wide registry; the stream sampler sends,
 * every metrics.stream_sample_ms, per job stream (and the results stream) XINFO STREAM, XINFO
 * GROUPS (undelivered and trimmed entries, streamlag.c) and the XPENDING summary, plus one PING
 * whose round trip is the Redis latency and one INFO memory (used and maximum memory). A new
 * round starts only when the previous one completed, so the cost is bounded.
 */
#include "cmetrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "acceptguard.h"
#include "buildinfo.h"
#include "clock.h"
#include "connguard.h"
#include "log.h"
#include "metrics.h"
#include "pending.h"
#include "slidewin.h"
#include "streamlag.h"
#include "util.h"

#define CMETRICS_STREAMS (CONFIG_MAX_PERSPECTIVES + 1)

/* one stream the sampler watches; static storage, so late Redis callbacks stay valid */
struct cmetrics_probe {
    char key[KEYS_MAX];
    const char *stream; /* "jobs" or "results" */
    const char *region; /* region, "" for results */
    const char *group;
    bool info_ok; /* info holds this round's XINFO STREAM */
    struct streamlag_stream info;
    struct streamlag_state lag; /* what earlier rounds learned of the group */
};

static struct {
    struct coord *co;
    struct metrics_registry *reg;
    struct event *sampler;
    int outstanding; /* sampler replies still expected in this round */
    char redis_addr[METRICS_LABEL_VALUE_MAX]; /* label of the Redis gauges: "host:port" */
    double ping_sent_s;
    int nprobes;
    struct cmetrics_probe probes[CMETRICS_STREAMS];
    struct slidewin windows[CONFIG_MAX_PERSPECTIVES];
    struct metrics_family *requests, *attempts, *retries, *cooldown, *request_duration,
        *anomalous, *persp_results, *persp_latency, *disagreements, *dnssec, *anomaly_ratio,
        *window_results, *stream_length, *stream_undelivered, *stream_trimmed, *stream_pending,
        *stream_oldest_age, *redis_rtt, *redis_used, *redis_max, *inflight, *reclaimed, *ahead,
        *alerts, *webhooks, *webhook_queue, *sample_errors;
    struct metrics_family *http_conns, *http_closed; /* connguard.c */
    unsigned long http_timeouts_seen, http_refused_seen;
    struct metrics_family *accept_pauses; /* acceptguard.c */
    unsigned long accept_pauses_seen;
} cm;

static const char *const L_CT[] = {"check_type", NULL};
static const char *const L_REQ[] = {"check_type", "method", "verdict", NULL};
static const char *const L_DUR[] = {"check_type", "verdict", NULL};
static const char *const L_PRES[] = {"perspective", "check_type", "outcome", "error_type", NULL};
static const char *const L_PLAT[] = {"perspective", "check_type", NULL};
static const char *const L_DIS[] = {"perspective", "kind", NULL};
static const char *const L_P[] = {"perspective", NULL};
static const char *const L_STREAM[] = {"stream", "region", NULL};
static const char *const L_RESULT[] = {"result", NULL};
static const char *const L_EVENT[] = {"event", NULL};
static const char *const L_REDIS[] = {"redis", NULL};
static const char *const L_REASON[] = {"reason", NULL};

static const double B_REQUEST[] = {0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
static const double B_CHECK[] = {0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 45};
static const double B_REDIS[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                 0.5, 1, 2.5};

static double cmetrics_mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmetrics_perspective_index(const char *code)
{
    for (int i = 0; cm.co && i < cm.co->cfg->nperspectives; i++)
        if (strcmp(cm.co->cfg->perspectives[i].code, code) == 0) return i;
    return -1;
}

/* called by metrics_render before every scrape: gauges computed from process state */
static void cmetrics_collect(void *arg)
{
    struct coord *co = arg;
    int64_t now = clock_mono_ms();
    metrics_set(cm.inflight, NULL, (double)pending_table_count(co->pending));
    if (co->http_guard != NULL) {
        static const char *const timeout[] = {"read_timeout"}, *const cap[] = {"max_connections"};
        metrics_set(cm.http_conns, NULL, (double)connguard_count(co->http_guard));
        metrics_add_since(cm.http_closed, timeout, connguard_timeouts(co->http_guard),
                          &cm.http_timeouts_seen);
        metrics_add_since(cm.http_closed, cap, connguard_refused(co->http_guard),
                          &cm.http_refused_seen);
    }
    if (co->accept_guard != NULL)
        metrics_add_since(cm.accept_pauses, NULL, acceptguard_pauses(co->accept_guard),
                          &cm.accept_pauses_seen);
    for (int i = 0; i < co->cfg->nperspectives; i++) {
        const char *v[] = {co->cfg->perspectives[i].code};
        uint64_t total, hits;
        slidewin_sum(&cm.windows[i], now, &total, &hits);
        metrics_set(cm.anomaly_ratio, v, total ? (double)hits / (double)total : 0.0);
        metrics_set(cm.window_results, v, (double)total);
    }
}

/* ---- stream sampler ---- */

static void cmetrics_sample_done(void)
{
    if (cm.outstanding > 0) cm.outstanding--;
}

static bool cmetrics_reply_ok(const redisReply *reply)
{
    if (reply != NULL && reply->type != REDIS_REPLY_ERROR) return true;
    if (cm.reg) metrics_add(cm.sample_errors, NULL, 1);
    return false;
}

/* called by redis_client with XINFO STREAM of one stream (sent right before XINFO GROUPS) */
static void cmetrics_xinfo_stream_cb(void *arg, redisReply *reply, const char *errstr)
{
    struct cmetrics_probe *p = arg;
    const char *v[] = {p->stream, p->region};
    cmetrics_sample_done();
    p->info_ok = false;
    if (cm.reg == NULL || !cmetrics_reply_ok(reply)) return;
    if (streamlag_parse_stream(reply, &p->info) != 0) return; /* not what XINFO STREAM gives */
    p->info_ok = true;
    metrics_set(cm.stream_length, v, (double)p->info.length);
}

/* called by redis_client with XINFO GROUPS of one stream: the undelivered and trimmed gauges */
static void cmetrics_xinfo_cb(void *arg, redisReply *reply, const char *errstr)
{
    struct cmetrics_probe *p = arg;
    const char *v[] = {p->stream, p->region};
    struct streamlag_group g;

    cmetrics_sample_done();
    if (cm.reg == NULL || !cmetrics_reply_ok(reply)) return;
    if (streamlag_parse_group(reply, p->group, &g) != 0) return;
    if (p->info_ok) {
        metrics_set(cm.stream_undelivered, v,
                    (double)streamlag_undelivered(&p->info, &g.delivered, g.lag_known, g.lag,
                                                  &p->lag));
        if (p->lag.trimmed_known) metrics_set(cm.stream_trimmed, v, (double)p->lag.trimmed);
    } else if (g.lag_known) {
        metrics_set(cm.stream_undelivered, v, (double)g.lag);
    }
}

/* called by redis_client with the XPENDING summary [count, min-id, max-id, consumers] */
static void cmetrics_xpending_cb(void *arg, redisReply *reply, const char *errstr)
{
    struct cmetrics_probe *p = arg;
    const char *v[] = {p->stream, p->region};
    double age = 0;
    cmetrics_sample_done();
    if (cm.reg == NULL || !cmetrics_reply_ok(reply) || reply->type != REDIS_REPLY_ARRAY ||
        reply->elements < 2 || reply->element[0]->type != REDIS_REPLY_INTEGER)
        return;
    metrics_set(cm.stream_pending, v, (double)reply->element[0]->integer);
    if (reply->element[1]->type == REDIS_REPLY_STRING) {
        char ms[24];
        const char *dash = strchr(reply->element[1]->str, '-');
        size_t n = dash ? (size_t)(dash - reply->element[1]->str) : reply->element[1]->len;
        int64_t id_ms;
        if (n < sizeof(ms)) {
            memcpy(ms, reply->element[1]->str, n);
            ms[n] = '\0';
            if (util_parse_int64(ms, 0, INT64_MAX, &id_ms) == 0 && clock_now_ms() > id_ms)
                age = (double)(clock_now_ms() - id_ms) / 1000.0;
        }
    }
    metrics_set(cm.stream_oldest_age, v, age);
}

/* called by redis_client with the PING reply of the sampler */
static void cmetrics_ping_cb(void *arg, redisReply *reply, const char *errstr)
{
    cmetrics_sample_done();
    if (cm.reg == NULL || !cmetrics_reply_ok(reply)) return;
    metrics_observe(cm.redis_rtt, NULL, cmetrics_mono_s() - cm.ping_sent_s);
}

/* called by redis_client with the INFO memory text of the sampler */
static void cmetrics_info_cb(void *arg, redisReply *reply, const char *errstr)
{
    const char *v[] = {cm.redis_addr};
    int64_t used, max;

    cmetrics_sample_done();
    if (cm.reg == NULL || !cmetrics_reply_ok(reply)) return;
    if (reply->type != REDIS_REPLY_STRING && reply->type != REDIS_REPLY_STATUS) return;
    if (redis_client_info_int(reply->str, reply->len, "used_memory", &used) == 0)
        metrics_set(cm.redis_used, v, (double)used);
    if (redis_client_info_int(reply->str, reply->len, "maxmemory", &max) == 0)
        metrics_set(cm.redis_max, v, (double)max);
}

/* called by libevent every metrics.stream_sample_ms */
static void cmetrics_sampler_cb(evutil_socket_t fd, short what, void *arg)
{
    struct coord *co = arg;
    if (cm.outstanding > 0 || !redis_client_is_ready(co->cmd)) return;
    cm.outstanding = 2 + 3 * cm.nprobes;
    cm.ping_sent_s = cmetrics_mono_s();
    redis_client_command(co->cmd, cmetrics_ping_cb, NULL, 0, "PING");
    redis_client_command(co->cmd, cmetrics_info_cb, NULL, 0, "INFO memory");
    for (int i = 0; i < cm.nprobes; i++) {
        struct cmetrics_probe *p = &cm.probes[i];
        redis_client_command(co->cmd, cmetrics_xinfo_stream_cb, p, 0, "XINFO STREAM %s",
                             p->key);
        redis_client_command(co->cmd, cmetrics_xinfo_cb, p, 0, "XINFO GROUPS %s", p->key);
        redis_client_command(co->cmd, cmetrics_xpending_cb, p, 0, "XPENDING %s %s", p->key,
                             p->group);
    }
}

/* ---- registration ---- */

static struct metrics_family *fam(enum metrics_type t, const char *name, const char *help,
                                  const char *const *labels, const double *b, int nb)
{
    return metrics_family_new(cm.reg, t, name, help, labels, b, nb);
}

void cmetrics_init(struct coord *co)
{
    const struct config *cfg = co->cfg;
    int sample = cfg->metrics_stream_sample_ms;
    struct timeval tv = {sample / 1000, (sample % 1000) * 1000};

    if (cm.reg != NULL) return;
    cm.co = co;
    {
        bool v6 = strchr(cfg->redis.host, ':') != NULL;
        int n = snprintf(cm.redis_addr, sizeof(cm.redis_addr), "%s%s%s:%d", v6 ? "[" : "",
                         cfg->redis.host, v6 ? "]" : "", cfg->redis.port);
        if (n < 0 || (size_t)n >= sizeof(cm.redis_addr)) /* a label value is capped anyway */
            log_warn("redis address %s truncated in the metrics label", cfg->redis.host);
    }
    cm.reg = metrics_registry_new();
    metrics_registry_set_collect(cm.reg, cmetrics_collect, co);
    buildinfo_register(cm.reg);
    cm.requests = fam(METRICS_COUNTER, "mpic_requests_total",
                      "Published corroborations by check type, validation method and verdict.",
                      L_REQ, NULL, 0);
    cm.attempts = fam(METRICS_COUNTER, "mpic_attempts_total",
                      "Corroboration attempts admitted (jobs written to the perspectives).",
                      L_CT, NULL, 0);
    cm.retries = fam(METRICS_COUNTER, "mpic_retries_total",
                     "Retries of a corroboration with a fresh cohort.", L_CT, NULL, 0);
    cm.cooldown = fam(METRICS_COUNTER, "mpic_cooldown_rejections_total",
                      "Requests refused because the target is in its retry cooldown.", L_CT,
                      NULL, 0);
    cm.request_duration = fam(METRICS_HISTOGRAM, "mpic_request_duration_seconds",
                              "Time from admission to publication of the verdict.", L_DUR,
                              B_REQUEST, (int)MPIC_ARRAY_LEN(B_REQUEST));
    cm.anomalous = fam(METRICS_COUNTER, "mpic_anomalous_requests_total",
                       "Published corroborations where at least one perspective disagreed "
                       "with the verdict.",
                       L_DUR, NULL, 0);
    cm.persp_results = fam(METRICS_COUNTER, "mpic_perspective_results_total",
                           "Perspective results of published requests by outcome and first "
                           "error type (missing: did not report before publication).",
                           L_PRES, NULL, 0);
    cm.persp_latency = fam(METRICS_HISTOGRAM, "mpic_perspective_check_duration_seconds",
                           "Time from admission to the perspective's check completion "
                           "(queueing included; worker timestamp).",
                           L_PLAT, B_CHECK, (int)MPIC_ARRAY_LEN(B_CHECK));
    cm.disagreements = fam(METRICS_COUNTER, "mpic_perspective_disagreements_total",
                           "Perspective results that disagreed with the verdict of their "
                           "request.",
                           L_DIS, NULL, 0);
    cm.dnssec = fam(METRICS_COUNTER, "mpic_perspective_dnssec_failures_total",
                    "Perspective results that failed DNSSEC validation.", L_P, NULL, 0);
    cm.anomaly_ratio = fam(METRICS_GAUGE, "mpic_perspective_anomaly_ratio",
                           "Fraction of the perspective's reported results in the sliding "
                           "window (metrics.anomaly_window_s) that disagreed with the verdict.",
                           L_P, NULL, 0);
    cm.window_results = fam(METRICS_GAUGE, "mpic_perspective_window_results",
                            "Reported results of the perspective in the sliding window.", L_P,
                            NULL, 0);
    cm.stream_length = fam(METRICS_GAUGE, "mpic_stream_length",
                           "XLEN of a stream (entries retained, delivered or not).", L_STREAM,
                           NULL, 0);
    cm.stream_undelivered = fam(METRICS_GAUGE, "mpic_stream_undelivered",
                                "Entries not yet delivered to the consumer group (after the "
                                "group's last delivered id; entries trimmed by MAXLEN not "
                                "counted).",
                                L_STREAM, NULL, 0);
    cm.stream_trimmed = fam(METRICS_GAUGE, "mpic_stream_trimmed_undelivered",
                            "Entries trimmed by MAXLEN before the consumer group read them, "
                            "since the group was created (known once the group caught up).",
                            L_STREAM, NULL, 0);
    cm.stream_pending = fam(METRICS_GAUGE, "mpic_stream_pending",
                            "Entries delivered but not acknowledged (XPENDING).", L_STREAM,
                            NULL, 0);
    cm.stream_oldest_age = fam(METRICS_GAUGE, "mpic_stream_oldest_pending_age_seconds",
                               "Age of the oldest unacknowledged entry (from its stream id), 0 "
                               "when none.",
                               L_STREAM, NULL, 0);
    cm.redis_rtt = fam(METRICS_HISTOGRAM, "mpic_redis_roundtrip_seconds",
                       "Round trip of a PING on the coordinator's command connection "
                       "(queueing behind other commands included).",
                       NULL, B_REDIS, (int)MPIC_ARRAY_LEN(B_REDIS));
    cm.redis_used = fam(METRICS_GAUGE, "mpic_redis_used_memory_bytes",
                        "used_memory of the Redis this coordinator uses (INFO memory), sampled "
                        "with the streams.",
                        L_REDIS, NULL, 0);
    cm.redis_max = fam(METRICS_GAUGE, "mpic_redis_maxmemory_bytes",
                       "maxmemory of the Redis this coordinator uses (INFO memory); 0 when it "
                       "has no limit.",
                       L_REDIS, NULL, 0);
    cm.http_conns = fam(METRICS_GAUGE, "mpic_http_connections",
                        "Open HTTP(S) connections of the coordinator listener.", NULL, NULL, 0);
    cm.http_closed = fam(METRICS_COUNTER, "mpic_http_connections_closed_total",
                         "Connections the listener closed: read_timeout (no complete request "
                         "within coordinator.request_read_timeout_ms), max_connections.",
                         L_REASON, NULL, 0);
    cm.accept_pauses = fam(METRICS_COUNTER, "mpic_http_accept_pauses_total",
                           "Times the listener stopped accepting for 100 ms because accept() "
                           "failed (out of file descriptors or kernel memory).",
                           NULL, NULL, 0);
    cm.inflight = fam(METRICS_GAUGE, "mpic_inflight_requests",
                      "HTTP requests this coordinator holds while waiting for a verdict.", NULL,
                      NULL, 0);
    cm.reclaimed = fam(METRICS_COUNTER, "mpic_results_reclaimed_total",
                       "Results left unacknowledged by another coordinator and taken over.",
                       NULL, NULL, 0);
    cm.ahead = fam(METRICS_COUNTER, "mpic_verdicts_judged_ahead_total",
                   "Verdicts judged and published right behind the lua/record that completed "
                   "their tally (one round trip less), by whether Redis confirmed the "
                   "prediction.",
                   L_RESULT, NULL, 0);
    cm.alerts = fam(METRICS_COUNTER, "mpic_alerts_total",
                    "Security alerts (failed corroborations with disagreeing perspectives).",
                    L_RESULT, NULL, 0);
    cm.webhooks = fam(METRICS_COUNTER, "mpic_alert_webhook_events_total",
                      "Alert webhook deliveries: delivered, given_up, dropped (queue full), "
                      "attempt_failed.",
                      L_EVENT, NULL, 0);
    cm.webhook_queue = fam(METRICS_GAUGE, "mpic_alert_webhook_queue_length",
                           "Alert webhook deliveries queued, sending or waiting to retry.",
                           NULL, NULL, 0);
    cm.sample_errors = fam(METRICS_COUNTER, "mpic_metrics_sample_errors_total",
                           "Stream sampler commands that failed.", NULL, NULL, 0);

    for (int i = 0; i < 2; i++) {
        const char *ct[] = {i ? "dcv" : "caa"};
        metrics_touch(cm.attempts, ct);
        metrics_touch(cm.retries, ct);
        metrics_touch(cm.cooldown, ct);
    }
    metrics_touch(cm.reclaimed, NULL);
    metrics_touch(cm.inflight, NULL);
    metrics_touch(cm.accept_pauses, NULL);
    metrics_touch(cm.sample_errors, NULL);
    metrics_touch(cm.webhook_queue, NULL);
    {
        const char *r[] = {"published"};
        metrics_touch(cm.alerts, r);
    }
    for (int i = 0; i < cfg->nperspectives; i++) {
        struct cmetrics_probe *p = &cm.probes[cm.nprobes++];
        slidewin_init(&cm.windows[i], (int64_t)cfg->metrics_anomaly_window_s * 1000);
        keys_jobs(p->key, sizeof(p->key), cfg->key_prefix, cfg->perspectives[i].region);
        p->stream = "jobs";
        p->region = cfg->perspectives[i].region;
        p->group = KEYS_GROUP_WORKERS;
    }
    cm.probes[cm.nprobes].stream = "results";
    cm.probes[cm.nprobes].region = "";
    cm.probes[cm.nprobes].group = KEYS_GROUP_REDUCERS;
    util_strlcpy(cm.probes[cm.nprobes].key, co->results_key, sizeof(cm.probes[0].key));
    cm.nprobes++;

    cm.sampler = event_new(co->base, -1, EV_PERSIST, cmetrics_sampler_cb, co);
    event_add(cm.sampler, &tv);
}

void cmetrics_shutdown(void)
{
    if (cm.sampler) event_free(cm.sampler);
    cm.sampler = NULL;
    metrics_registry_free(cm.reg);
    cm.reg = NULL;
}

/* called by evhttp for GET /metrics (registered by api_register) */
void cmetrics_http_cb(struct evhttp_request *req, void *arg)
{
    metrics_http_reply(cm.reg, req);
}

/* ---- events ---- */

void cmetrics_attempt(const char *check_type)
{
    const char *v[] = {check_type};
    if (cm.reg) metrics_add(cm.attempts, v, 1);
}

void cmetrics_retry(const char *check_type)
{
    const char *v[] = {check_type};
    if (cm.reg) metrics_add(cm.retries, v, 1);
}

void cmetrics_cooldown_rejection(const char *check_type)
{
    const char *v[] = {check_type};
    if (cm.reg) metrics_add(cm.cooldown, v, 1);
}

void cmetrics_judged_ahead(bool confirmed)
{
    const char *v[] = {confirmed ? "confirmed" : "refuted"};
    if (cm.reg) metrics_add(cm.ahead, v, 1);
}

void cmetrics_results_reclaimed(size_t n)
{
    if (cm.reg) metrics_add(cm.reclaimed, NULL, (double)n);
}

void cmetrics_request_done(const char *check_type, const char *method, const char *verdict,
                           double duration_s, bool anomalous)
{
    const char *v[] = {check_type, method, verdict};
    const char *d[] = {check_type, verdict};
    if (cm.reg == NULL) return;
    metrics_add(cm.requests, v, 1);
    if (duration_s >= 0) metrics_observe(cm.request_duration, d, duration_s);
    if (anomalous) metrics_add(cm.anomalous, d, 1);
    else metrics_touch(cm.anomalous, d);
}

void cmetrics_perspective(const char *check_type, const struct cmetrics_perspective_result *r)
{
    static const char *const kinds[] = {"", "failed_while_valid", "error_while_valid",
                                        "passed_while_invalid"};
    const char *res[] = {r->code, check_type, r->outcome, r->error_type};
    const char *lat[] = {r->code, check_type};
    const char *p[] = {r->code};
    int idx;

    if (cm.reg == NULL) return;
    metrics_add(cm.persp_results, res, 1);
    if (r->latency_s >= 0) metrics_observe(cm.persp_latency, lat, r->latency_s);
    if (r->disagreement != CMETRICS_AGREES) {
        const char *dv[] = {r->code, kinds[r->disagreement]};
        metrics_add(cm.disagreements, dv, 1);
    }
    if (r->dnssec_failure) metrics_add(cm.dnssec, p, 1);
    else metrics_touch(cm.dnssec, p);
    idx = cmetrics_perspective_index(r->code);
    if (idx >= 0 && strcmp(r->outcome, "missing") != 0)
        slidewin_add(&cm.windows[idx], clock_mono_ms(), 1,
                     r->disagreement != CMETRICS_AGREES ? 1 : 0);
}

void cmetrics_alert(const char *result)
{
    const char *v[] = {result};
    if (cm.reg) metrics_add(cm.alerts, v, 1);
}

void cmetrics_webhook(const char *what)
{
    const char *v[] = {what};
    if (cm.reg) metrics_add(cm.webhooks, v, 1);
}

void cmetrics_webhook_queue(size_t n)
{
    if (cm.reg) metrics_set(cm.webhook_queue, NULL, (double)n);
}
