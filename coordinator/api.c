/*
 * HTTP API (see api.h). A held request (struct held) is referenced by its outstanding Redis
 * callbacks and timers; it answers exactly once (held_respond) and is freed when the answer
 * was sent and no callback references it any more.
 */
#include "api.h"

#include <event2/buffer.h>
#include <event2/event_struct.h>
#include <event2/keyvalq_struct.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "apiauth.h"
#include "clock.h"
#include "cmetrics.h"
#include "cooldown.h"
#include "cohort.h"
#include "connguard.h"
#include "due.h"
#include "httpd.h"
#include "jobs.h"
#include "jsonout.h"
#include "log.h"
#include "msg.h"
#include "pending.h"
#include "quorum.h"
#include "record_echo.h"
#include "record_render.h"
#include "reqview.h"
#include "request.h"
#include "response.h"
#include "status_api.h"
#include "tallycache.h"
#include "util.h"

#define API_HARD_MARGIN_MS 1000
/* how long a step of a request can wait for a sweeper when its coordinator died: due.c's
 * sweep lag (1 s) and lease (10 s), with room for the sweep itself */
#define API_TAKEOVER_SLACK_MS 15000

enum held_state {
    HELD_ADMITTING = 0, /* request record and jobs being written to Redis */
    HELD_WAITING = 1,   /* waiting for publication or the deadline */
    HELD_RENDERING = 2, /* reading the verdict and results to build the response */
    HELD_DONE = 3,      /* answered */
};

struct held {
    struct pending_entry entry; /* rid; first member (container cast) */
    struct coord *co;
    struct evhttp_request *req;
    enum held_state state;
    int refs;        /* outstanding callbacks + 1 while not answered */
    int outstanding; /* admission or render replies still expected */
    bool failed;
    bool async;      /* Prefer: respond-async: answer 202 once admitted */
    int budget_ms;   /* one attempt's deadline budget */
    int max_attempts;
    char failure[160];
    int64_t deadline_ms;
    struct event deadline_timer;
    struct event hard_timer;
};

static void held_unref(struct held *h)
{
    if (--h->refs > 0) return;
    free(h);
}

static void held_respond(struct held *h, int code, json_t *body)
{
    struct coord *co = h->co;
    if (h->state == HELD_DONE) {
        json_decref(body);
        return;
    }
    h->state = HELD_DONE;
    evtimer_del(&h->deadline_timer);
    evtimer_del(&h->hard_timer);
    pending_table_remove(co->pending, &h->entry);
    evhttp_add_header(evhttp_request_get_output_headers(h->req), "X-Mpic-Request-Id",
                      h->entry.rid);
    if (code == 503)
        evhttp_add_header(evhttp_request_get_output_headers(h->req), "Retry-After", "1");
    httpd_send_json(h->req, code, body);
    h->req = NULL;
    held_unref(h);
}

static void held_unavailable(struct held *h, const char *why)
{
    log_warn("request %s: answering 503: %s", h->entry.rid, why);
    held_respond(h, 503, response_error("service-unavailable", why));
}

/* ---- rendering ---- */

static void held_note_failure(struct held *h, const redisReply *reply, const char *errstr)
{
    if (!h->failed)
        snprintf(h->failure, sizeof(h->failure), "Redis: %s",
                 reply && reply->type == REDIS_REPLY_ERROR ? reply->str : errstr);
    h->failed = true;
}

/*
 * The record shows an attempt still running or a retry waiting for its cooldown: go back to
 * waiting, with the deadline timer at the record's next due time. False when it is decided.
 */
static bool held_keep_waiting(struct held *h, const struct reqview *v)
{
    enum record_state st = record_render_state(v->req);
    const char *at_s = reqview_field(v, st == RECORD_RETRYING ? "retry_at" : "deadline");
    int64_t at = 0, delay;
    struct timeval tv;

    if (st != RECORD_OPEN && st != RECORD_RETRYING) return false;
    if (at_s == NULL || util_parse_int64(at_s, 0, INT64_MAX, &at) != 0) return false;
    h->state = HELD_WAITING;
    delay = at - clock_now_ms();
    if (delay < 0) delay = 0;
    delay += 50; /* past the due time, so the judgement there is final */
    tv = util_ms_timeval(delay);
    evtimer_add(&h->deadline_timer, &tv);
    return true;
}

/* called by reqview_load with the request record and its results */
static void held_view_cb(void *arg, const struct reqview *v, const char *err)
{
    struct held *h = arg;
    char why[160];
    json_t *body;

    if (h->state == HELD_RENDERING) {
        if (v == NULL) {
            snprintf(why, sizeof(why), "Redis: %s", err);
            held_unavailable(h, why);
        } else if (held_keep_waiting(h, v)) {
            /* another attempt runs: the publication notifies us, the timer re-checks */
        } else if ((body = record_render_response_echo(v->req, v->echo, v->res, v->prev, why,
                                                       sizeof(why))) == NULL) {
            if (record_render_state(v->req) == RECORD_CORRUPT &&
                reqview_field(v, "verdict") != NULL) {
                held_respond(h, 500, response_error("internal-error", why));
            } else {
                held_unavailable(h, record_render_state(v->req) == RECORD_MISSING
                                        ? why
                                        : "no verdict could be reached before the deadline "
                                          "(Redis unavailable or overloaded)");
            }
        } else {
            log_info("request %s trace %s: %s (attempt %s)", h->entry.rid,
                     reqview_field(v, "trace") && *reqview_field(v, "trace")
                         ? reqview_field(v, "trace")
                         : "-",
                     reqview_field(v, "verdict"),
                     reqview_field(v, "attempt") ? reqview_field(v, "attempt") : "1");
            cooldown_add_header(h->co, v->req, h->req);
            held_respond(h, 200, body);
        }
    }
    held_unref(h);
}

static void held_render(struct held *h)
{
    if (h->state != HELD_WAITING) return;
    h->state = HELD_RENDERING;
    h->refs++;
    reqview_load(h->co, h->entry.rid, held_view_cb, h);
}

void api_render_view(struct coord *co, const struct reqview *v)
{
    struct held *h = (struct held *)pending_table_find(co->pending, v->rid);

    if (h == NULL || h->state != HELD_WAITING) return;
    h->state = HELD_RENDERING;
    h->refs++;
    held_view_cb(h, v, NULL);
}

void api_notify_replied(struct coord *co, const char *rid)
{
    struct pending_entry *e = pending_table_find(co->pending, rid);
    if (e != NULL) held_render((struct held *)e);
}

/* called by due_process when the deadline handling finished */
static void held_due_cb(void *arg, bool ok)
{
    struct held *h = arg;
    if (h->state == HELD_WAITING) {
        if (ok)
            held_render(h);
        else
            held_unavailable(h, "Redis unavailable at the deadline");
    }
    held_unref(h);
}

/* called by libevent at the request's deadline */
static void held_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
    struct held *h = arg;
    if (h->state != HELD_WAITING) return;
    h->refs++;
    due_process(h->co, h->entry.rid, true, held_due_cb, h);
}

/* called by libevent when even the deadline handling did not produce an answer */
static void held_hard_cb(evutil_socket_t fd, short what, void *arg)
{
    held_unavailable(arg, "no verdict within the deadline");
}

/* ---- admission ---- */

/*
 * An admitted async request: nothing holds it from now on. A local timer judges it at its
 * deadline (the due set covers this process dying), GET /mpic/<id> reads the outcome.
 */
static void held_accept_async(struct held *h)
{
    struct evkeyvalq *out = evhttp_request_get_output_headers(h->req);
    char location[80];
    json_t *body = json_object();

    due_arm(h->co, h->entry.rid, h->deadline_ms);
    snprintf(location, sizeof(location), "/mpic/%s", h->entry.rid);
    evhttp_add_header(out, "Location", location);
    evhttp_add_header(out, "Preference-Applied", "respond-async");
    json_object_set_new(body, "request_id", json_string(h->entry.rid));
    json_object_set_new(body, "status", json_string("running"));
    json_object_set_new(body, "location", json_string(location));
    held_respond(h, 202, body);
}

/* The longest time retries can add after the first attempt's deadline. */
static int64_t api_retry_budget_ms(const struct config *cfg, int max_attempts, int budget_ms)
{
    int64_t total = 0, cooldown = cfg->retry_cooldown_ms;

    for (int a = 1; a < max_attempts; a++) {
        int64_t c = cooldown < cfg->retry_cooldown_max_ms ? cooldown : cfg->retry_cooldown_max_ms;
        total += c + c / 2 + budget_ms + API_HARD_MARGIN_MS;
        if (cooldown < cfg->retry_cooldown_max_ms) cooldown *= 2; /* 100 attempts: no overflow */
    }
    return total;
}

/*
 * How long past its first deadline a request can take to be answered: the deadline path's
 * sequential round trips (tally, finalize, publish, render), each bounded by the command
 * timeout, and the retries with their cooldowns. A synchronous holder gives up after it.
 */
static int64_t api_after_deadline_ms(const struct coord *co, int max_attempts, int budget_ms)
{
    return 4 * (int64_t)redis_client_command_timeout(co->cmd) + API_HARD_MARGIN_MS +
           api_retry_budget_ms(co->cfg, max_attempts, budget_ms);
}

/*
 * The longest a request can stay unfinished: its first deadline, what can follow it, and
 * per attempt the straggler grace and a takeover by a sweeper. The request's keys expire
 * result_retention_s after that, so no record vanishes while its request still runs
 * (docs/configuration.md).
 */
static int64_t api_longest_life_ms(const struct coord *co, int max_attempts, int budget_ms)
{
    return budget_ms + api_after_deadline_ms(co, max_attempts, budget_ms) +
           (int64_t)max_attempts * (co->cfg->straggler_grace_ms + API_TAKEOVER_SLACK_MS);
}

/* called by redis_client with each admission command's reply */
static void held_admit_cb(void *arg, redisReply *reply, const char *errstr)
{
    struct held *h = arg;
    struct timeval tv;
    int64_t delay;

    if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
        held_note_failure(h, reply, errstr);
    } else if (reply->type == REDIS_REPLY_NIL) {
        held_note_failure(h, NULL, "the request record transaction was aborted");
    } else if (reply->type == REDIS_REPLY_ARRAY) { /* EXEC: one reply per queued command */
        for (size_t i = 0; i < reply->elements; i++)
            if (reply->element[i]->type == REDIS_REPLY_ERROR)
                held_note_failure(h, reply->element[i], errstr);
    }
    if (--h->outstanding == 0 && h->state == HELD_ADMITTING) {
        if (h->failed) {
            held_unavailable(h, h->failure);
        } else if (h->async) {
            held_accept_async(h);
        } else {
            h->state = HELD_WAITING;
            delay = h->deadline_ms - clock_now_ms();
            if (delay < 0) delay = 0;
            tv = util_ms_timeval(delay);
            evtimer_add(&h->deadline_timer, &tv);
            delay += api_after_deadline_ms(h->co, h->max_attempts, h->budget_ms);
            tv = util_ms_timeval(delay);
            evtimer_add(&h->hard_timer, &tv);
        }
    }
    held_unref(h);
}

static int api_read_body(struct evhttp_request *req, char **out, size_t *len)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t n = evbuffer_get_length(in);
    if (n > REQUEST_MAX_BODY) return -1;
    *out = util_xmalloc(n + 1);
    evbuffer_remove(in, *out, n);
    (*out)[n] = '\0';
    *len = n;
    return 0;
}

static void api_request_limits(const struct coord *co, struct request_limits *lim,
                               const char **domains)
{
    const struct config *cfg = co->cfg;
    int pool[CONFIG_MAX_PERSPECTIVES];
    memset(lim, 0, sizeof(*lim));
    lim->nperspectives = cohort_remote_pool(cfg->perspectives, cfg->nperspectives,
                                            jobs_primary_index(cfg), pool);
    lim->default_perspective_count = cfg->default_perspective_count;
    lim->min_perspective_count =
        cfg->enforce_br_phase_in ? quorum_min_remote(clock_policy_now_ms()) : 2;
    lim->absolute_max_attempts = cfg->absolute_max_attempts;
    lim->default_deadline_ms = cfg->deadline_ms;
    lim->min_deadline_ms = cfg->min_deadline_ms;
    lim->max_deadline_ms = cfg->max_deadline_ms;
    for (int i = 0; i < cfg->ncaa_domains; i++) domains[i] = cfg->caa_domains[i];
    lim->caa_domains = domains;
    lim->ncaa_domains = cfg->ncaa_domains;
}

/* True when a Prefer header (RFC 7240) asks for respond-async. */
static bool api_prefers_async(struct evhttp_request *req)
{
    struct evkeyvalq *in = evhttp_request_get_input_headers(req);
    struct evkeyval *kv;

    for (kv = in->tqh_first; kv != NULL; kv = kv->next.tqe_next) {
        const char *p;
        if (strcasecmp(kv->key, "Prefer") != 0) continue;
        for (p = kv->value; *p;) {
            size_t len;
            while (*p == ' ' || *p == '\t' || *p == ',') p++;
            len = strcspn(p, " \t,;=");
            if (len == strlen("respond-async") && strncasecmp(p, "respond-async", len) == 0)
                return true;
            p += strcspn(p, ",");
        }
    }
    return false;
}

/* Seeds the reducer's tally cache with the new attempt, so that a batch holding all of its
 * results can already be judged ahead of its record reply (tallycache.h). */
static void api_expect_tally(struct coord *co, const char *rid, const char *codes,
                             const char *rirs, const struct api_request *ar,
                             int64_t deadline_ms, const struct perspective *primary)
{
    struct tally t;

    if (tally_init(&t, TALLY_OPEN, ar->perspective_count, ar->quorum_count, codes, rirs,
                   deadline_ms) != 0)
        return;
    if (primary != NULL && tally_expect_primary(&t, primary->code) != 0) return;
    tallycache_put(co->tallies, rid, 1, &t);
}

/* Appends one field and its value to the request record's HSET argv (api_admit sizes it). */
static void api_hset_add(const char **argv, int *n, const char *field, const char *value)
{
    argv[(*n)++] = field;
    argv[(*n)++] = value;
}

static void api_admit(struct coord *co, struct evhttp_request *req, struct api_request *ar,
                      const struct cohort *cohort)
{
    const struct perspective *primary = config_primary(co->cfg);
    const struct config *cfg = co->cfg;
    struct held *h = util_xcalloc(1, sizeof(*h));
    unsigned char rnd[16];
    char req_key[KEYS_MAX], codes[COHORT_MAX * PERSPECTIVE_CODE_MAX];
    char rirs[COHORT_MAX * 4], n_s[8], q_s[8], dl_s[24], now_s[24], ttl_s[24];
    char ma_s[8], bud_s[16];
    struct jobs_attempt job;
    char *echo_s = record_echo_compact(ar);
    const char *hset[40];
    int nh = 0;
    int64_t now = clock_now_ms();

    util_random_bytes(rnd, sizeof(rnd));
    util_hex_encode(rnd, sizeof(rnd), h->entry.rid);
    h->co = co;
    h->req = req;
    h->async = api_prefers_async(req);
    h->state = HELD_ADMITTING;
    h->refs = 1;
    h->deadline_ms = now + ar->deadline_ms;
    h->budget_ms = ar->deadline_ms;
    h->max_attempts = ar->max_attempts;
    evtimer_assign(&h->deadline_timer, co->base, held_deadline_cb, h);
    evtimer_assign(&h->hard_timer, co->base, held_hard_cb, h);
    pending_table_insert(co->pending, &h->entry);

    jobs_cohort_strings(co, cohort, codes, sizeof(codes), rirs, sizeof(rirs));
    snprintf(n_s, sizeof(n_s), "%d", ar->perspective_count);
    snprintf(q_s, sizeof(q_s), "%d", ar->quorum_count);
    snprintf(dl_s, sizeof(dl_s), "%lld", (long long)h->deadline_ms);
    snprintf(now_s, sizeof(now_s), "%lld", (long long)now);
    snprintf(ttl_s, sizeof(ttl_s), "%lld",
             (long long)cfg->result_retention_s * 1000 +
                 api_longest_life_ms(co, ar->max_attempts, ar->deadline_ms));
    snprintf(ma_s, sizeof(ma_s), "%d", ar->max_attempts);
    snprintf(bud_s, sizeof(bud_s), "%d", ar->deadline_ms);
    keys_req(req_key, sizeof(req_key), cfg->key_prefix, h->entry.rid);

    /*
     * Pipelined on one connection, so Redis applies them in this order. The record and its TTL
     * are one transaction: a connection lost between them would leave a record that never
     * expires and that nothing else removes.
     */
    h->outstanding = 5 + cohort->n + (primary != NULL ? 1 : 0);
    h->refs += h->outstanding;
    /* argv commands: hiredis formats them several times faster than printf-style ones */
    const char *multi[] = {"MULTI"}, *exec[] = {"EXEC"};
    /* fields with nothing to say are left out (every reader takes absent as the default):
     * per in-flight validation, each byte here is one byte of Redis memory */
    api_hset_add(hset, &nh, "HSET", req_key);
    api_hset_add(hset, &nh, "state", "open");
    api_hset_add(hset, &nh, "attempt", "1");
    api_hset_add(hset, &nh, "cohort", codes);
    api_hset_add(hset, &nh, "rirs", rirs);
    api_hset_add(hset, &nh, "n", n_s);
    api_hset_add(hset, &nh, "q", q_s);
    api_hset_add(hset, &nh, "deadline", dl_s);
    api_hset_add(hset, &nh, "holder", co->id);
    api_hset_add(hset, &nh, "check_type", check_type_name(ar->check_type));
    api_hset_add(hset, &nh, "target", ar->target_raw);
    if (ar->trace_id != NULL && ar->trace_id[0] != '\0')
        api_hset_add(hset, &nh, "trace", ar->trace_id);
    api_hset_add(hset, &nh, "created", now_s);
    api_hset_add(hset, &nh, "echo", echo_s ? echo_s : "{}");
    api_hset_add(hset, &nh, "max_attempts", ma_s);
    api_hset_add(hset, &nh, "budget", bud_s);
    /* always written, also when it equals "target": retries and cooldowns of coordinators
     * from before the compact record read it */
    api_hset_add(hset, &nh, "jtarget", ar->target);
    if (ar->wildcard) api_hset_add(hset, &nh, "wildcard", "1");
    if (primary != NULL) api_hset_add(hset, &nh, "primary", primary->code);
    const char *pexpire[] = {"PEXPIRE", req_key, ttl_s};
    const char *zadd[] = {"ZADD", co->due_key, dl_s, h->entry.rid};
    redis_client_commandargv(co->cmd, held_admit_cb, h, 0, 1, multi, NULL);
    redis_client_commandargv(co->cmd, held_admit_cb, h, 0, nh, hset, NULL);
    redis_client_commandargv(co->cmd, held_admit_cb, h, 0, 3, pexpire, NULL);
    redis_client_commandargv(co->cmd, held_admit_cb, h, 0, 1, exec, NULL);
    redis_client_commandargv(co->cmd, held_admit_cb, h, 0, 4, zadd, NULL);
    job.rid = h->entry.rid;
    job.attempt = 1;
    job.check_type = ar->check_type;
    job.target = ar->target;
    job.wildcard = ar->wildcard;
    job.deadline_ms = h->deadline_ms;
    job.trace_id = ar->trace_id;
    job.params = ar->check_params;
    job.primary = primary; /* not part of the remote quorum */
    if (jobs_enqueue(co, &job, cohort, held_admit_cb, h) > 0) {
        h->failed = true;
        util_strlcpy(h->failure, "job too large to encode", sizeof(h->failure));
    }
    api_expect_tally(co, h->entry.rid, codes, rirs, ar, h->deadline_ms, primary);
    cmetrics_attempt(check_type_name(ar->check_type));
    log_info("request %s trace %s: admitted %s %s cohort %s (n=%d q=%d) primary %s%s",
             h->entry.rid, ar->trace_id ? ar->trace_id : "-", check_type_name(ar->check_type),
             ar->target, codes, ar->perspective_count, ar->quorum_count,
             primary != NULL ? primary->code : "none", h->async ? " (async)" : "");
    free(echo_s);
}

/* A validated request waiting for its target's cooldown lookup. */
struct api_pending_admit {
    struct coord *co;
    struct evhttp_request *req;
    struct api_request ar;
    struct cohort cohort;
};

/* called by cooldown_check with the target's remaining cooldown */
static void api_cooldown_cb(void *arg, int64_t ttl_ms)
{
    struct api_pending_admit *pa = arg;
    struct evkeyvalq *out = evhttp_request_get_output_headers(pa->req);
    char retry_s[24], msg[384];

    if (ttl_ms < 0) {
        evhttp_add_header(out, "Retry-After", "1");
        httpd_send_json(pa->req, 503, response_error("service-unavailable",
                                                     "Redis failed during admission"));
    } else if (ttl_ms > 0) {
        snprintf(retry_s, sizeof(retry_s), "%lld", (long long)((ttl_ms + 999) / 1000));
        evhttp_add_header(out, "Retry-After", retry_s);
        snprintf(msg, sizeof(msg),
                 "%.200s failed corroboration recently; retry after %s s, or set "
                 "orchestration_parameters.ignore_cooldown",
                 pa->ar.target_raw, retry_s);
        cmetrics_cooldown_rejection(check_type_name(pa->ar.check_type));
        httpd_send_json(pa->req, 429, response_error("target-in-cooldown", msg));
    } else {
        api_admit(pa->co, pa->req, &pa->ar, &pa->cohort);
    }
    request_free(&pa->ar);
    free(pa);
}

/* called by evhttp for /mpic */
static void api_mpic_cb(struct evhttp_request *req, void *arg)
{
    struct coord *co = arg;
    struct request_limits lim;
    const char *domains[CONFIG_MAX_CAA_DOMAINS];
    struct api_request ar;
    struct cohort cohort;
    json_t *issues = NULL;
    char *body = NULL;
    size_t len = 0;
    char err[256];

    if (!apiauth_check(&co->cfg->sec, req, SECCONF_ROUTE_MPIC)) return;
    if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "POST");
        httpd_send_json(req, 405, response_error("method-not-allowed", "use POST /mpic"));
        return;
    }
    if (api_read_body(req, &body, &len) != 0) {
        httpd_send_json(req, 413, response_error("request-too-large",
                                                 "the request body exceeds 65536 bytes"));
        return;
    }
    if (co->draining) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", "1");
        httpd_send_json(req, 503, response_error("shutting-down",
                                                 "this coordinator is shutting down"));
        free(body);
        return;
    }
    if (!redis_client_is_ready(co->cmd) || !co->groups_ready) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", "1");
        httpd_send_json(req, 503, response_error("service-unavailable",
                                                 "Redis is not reachable from this coordinator"));
        free(body);
        return;
    }
    if (pending_table_count(co->pending) >= (size_t)co->cfg->max_inflight_requests) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", "1");
        httpd_send_json(req, 503, response_error("overloaded",
                                                 "too many requests in flight; retry later"));
        free(body);
        return;
    }
    api_request_limits(co, &lim, domains);
    if (request_parse(body, len, &lim, &ar, &issues) != 0) {
        free(body);
        httpd_send_json(req, 400, response_validation_failed(issues));
        return;
    }
    free(body);
    if (cohort_select_remote(co->cfg->perspectives, co->cfg->nperspectives,
                             jobs_primary_index(co->cfg), ar.perspective_count,
                             (const unsigned char *)co->cfg->cohort_secret,
                             strlen(co->cfg->cohort_secret), ar.target,
                             ar.cohort_for_single_attempt > 0 ? ar.cohort_for_single_attempt : 1,
                             &cohort, err, sizeof(err)) != 0) {
        request_free(&ar);
        httpd_send_json(req, 500, response_error("cohort-selection-failed", err));
        return;
    }
    if (co->cfg->target_cooldown_ms > 0 && !ar.ignore_cooldown) {
        struct api_pending_admit *pa = util_xcalloc(1, sizeof(*pa));
        pa->co = co;
        pa->req = req;
        pa->ar = ar;
        pa->cohort = cohort;
        cooldown_check(co, ar.target, api_cooldown_cb, pa);
        return;
    }
    api_admit(co, req, &ar, &cohort);
    request_free(&ar);
}

/* called by evhttp for /healthz */
static void api_healthz_cb(struct evhttp_request *req, void *arg)
{
    struct coord *co = arg;
    enum evhttp_cmd_type m = evhttp_request_get_command(req);
    if (!apiauth_check(&co->cfg->sec, req, SECCONF_ROUTE_HEALTHZ)) return;
    if (m != EVHTTP_REQ_GET && m != EVHTTP_REQ_HEAD) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET, HEAD");
        httpd_send_json(req, 405, response_error("method-not-allowed", "use GET /healthz"));
        return;
    }
    bool ok = co->groups_ready && redis_client_is_ready(co->cmd) &&
              redis_client_is_ready(co->rblock) && redis_client_is_ready(co->pblock);
    json_t *body = json_pack("{s:s, s:s, s:b, s:i}", "status", ok ? "healthy" : "unhealthy",
                             "coordinator", co->id, "redis", redis_client_is_ready(co->cmd),
                             "in_flight", (int)pending_table_count(co->pending));
    httpd_send_json(req, ok ? 200 : 503, body);
}

/* called by evhttp for every other path (and /mpic/<id>, which evhttp cannot route) */
static void api_notfound_cb(struct evhttp_request *req, void *arg)
{
    const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));

    if (path != NULL && strncmp(path, "/mpic/", 6) == 0) {
        status_api_get(arg, req, path + 6);
        return;
    }
    httpd_send_json(req, 404, response_error("not-found", "unknown path; use POST /mpic"));
}

void api_register(struct coord *co, struct evhttp *http)
{
    connguard_set_cb(co->http_guard, http, "/mpic", api_mpic_cb, co);
    connguard_set_cb(co->http_guard, http, "/healthz", api_healthz_cb, co);
    connguard_set_cb(co->http_guard, http, "/metrics", cmetrics_http_cb, co);
    connguard_set_cb(co->http_guard, http, NULL, api_notfound_cb, co);
}
