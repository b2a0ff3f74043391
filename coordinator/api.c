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

#include "clock.h"
#include "cohort.h"
#include "due.h"
#include "httpd.h"
#include "log.h"
#include "msg.h"
#include "pending.h"
#include "quorum.h"
#include "request.h"
#include "response.h"
#include "util.h"

#define API_HARD_MARGIN_MS 1000

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
    char failure[160];
    int64_t deadline_ms;
    int deadline_budget_ms;
    struct event deadline_timer;
    struct event hard_timer;
    json_t *req_hash; /* render: request record as {field: string} */
    json_t *res_map;  /* render: {code: check_response} */
};

static void held_unref(struct held *h)
{
    if (--h->refs > 0) return;
    json_decref(h->req_hash);
    json_decref(h->res_map);
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

/* {"perspective_code", "check_response"} from the stored results, or a deadline placeholder. */
static json_t *held_perspective_item(const struct held *h, enum check_type ct,
                                     const json_t *params, const char *code)
{
    json_t *cr = json_object_get(h->res_map, code);
    json_t *item = json_object();

    if (cr != NULL) {
        json_incref(cr);
    } else {
        char msg[256];
        snprintf(msg, sizeof(msg), "perspective %.63s did not report before the deadline (%d ms)",
                 code, h->deadline_budget_ms);
        cr = response_missing_check(ct, params, "mpic_error:coordinator:deadline", msg);
    }
    json_object_set_new(item, "perspective_code", json_string(code));
    json_object_set_new(item, "check_response", cr);
    return item;
}

static void held_render_finish(struct held *h)
{
    const char *state, *verdict, *echo_s, *cohort, *primary;
    json_t *echo = NULL, *perspectives = NULL, *params, *body;
    enum check_type ct;
    char codes[COHORT_MAX][PERSPECTIVE_CODE_MAX];
    int ncodes = 0;

    if (h->failed) {
        held_unavailable(h, h->failure);
        return;
    }
    state = json_string_value(json_object_get(h->req_hash, "state"));
    verdict = json_string_value(json_object_get(h->req_hash, "verdict"));
    echo_s = json_string_value(json_object_get(h->req_hash, "echo"));
    cohort = json_string_value(json_object_get(h->req_hash, "cohort"));
    if (state == NULL || echo_s == NULL || cohort == NULL) {
        held_unavailable(h, "the request record expired or was removed from Redis");
        return;
    }
    if (verdict == NULL || (strcmp(state, "decided") && strcmp(state, "replied"))) {
        held_unavailable(h, "no verdict could be reached before the deadline (Redis "
                            "unavailable or overloaded)");
        return;
    }
    echo = json_loads(echo_s, 0, NULL);
    if (echo == NULL) {
        held_respond(h, 500, response_error("internal-error", "stored request echo is invalid"));
        return;
    }
    for (const char *p = cohort; *p && ncodes < COHORT_MAX;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len >= PERSPECTIVE_CODE_MAX) len = PERSPECTIVE_CODE_MAX - 1;
        memcpy(codes[ncodes], p, len);
        codes[ncodes++][len] = '\0';
        if (!comma) break;
        p = comma + 1;
    }
    if (check_type_parse(json_string_value(json_object_get(echo, "check_type")), &ct) != 0)
        ct = CHECK_TYPE_CAA;
    params = json_object_get(echo, ct == CHECK_TYPE_CAA ? "caa_check_parameters"
                                                        : "dcv_check_parameters");
    perspectives = json_array();
    for (int i = 0; i < ncodes; i++)
        json_array_append_new(perspectives, held_perspective_item(h, ct, params, codes[i]));
    log_info("request %s: %s", h->entry.rid, verdict);
    body = response_build(echo, strcmp(verdict, "valid") == 0, perspectives);
    primary = json_string_value(json_object_get(h->req_hash, "primary"));
    response_set_primary(body, primary != NULL && primary[0] != '\0'
                                   ? held_perspective_item(h, ct, params, primary)
                                   : NULL);
    held_respond(h, 200, body);
    json_decref(perspectives);
    json_decref(echo);
}

static void held_note_failure(struct held *h, const redisReply *reply, const char *errstr)
{
    if (!h->failed)
        snprintf(h->failure, sizeof(h->failure), "Redis: %s",
                 reply && reply->type == REDIS_REPLY_ERROR ? reply->str : errstr);
    h->failed = true;
}

/* One of the two render replies arrived: finish when both are in. */
static void held_render_step(struct held *h)
{
    if (--h->outstanding == 0 && h->state == HELD_RENDERING) held_render_finish(h);
    held_unref(h);
}

/* called by redis_client with HGETALL of the request record */
static void held_req_hash_cb(void *arg, redisReply *reply, const char *errstr)
{
    struct held *h = arg;
    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY) {
        held_note_failure(h, reply, errstr);
    } else {
        h->req_hash = json_object();
        for (size_t i = 0; i + 1 < reply->elements; i += 2) {
            const redisReply *k = reply->element[i], *v = reply->element[i + 1];
            json_t *s;
            if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING) continue;
            s = json_stringn(v->str, v->len);
            if (s) json_object_set_new(h->req_hash, k->str, s);
        }
    }
    held_render_step(h);
}

/* called by redis_client with HGETALL of the result blobs */
static void held_res_hash_cb(void *arg, redisReply *reply, const char *errstr)
{
    struct held *h = arg;
    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY) {
        held_note_failure(h, reply, errstr);
    } else {
        h->res_map = json_object();
        for (size_t i = 0; i + 1 < reply->elements; i += 2) {
            const redisReply *k = reply->element[i], *v = reply->element[i + 1];
            struct msg_result r;
            char err[128];
            if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING) continue;
            if (msg_result_decode(v->str, v->len, &r, err, sizeof(err)) != 0) {
                log_warn("request %s: stored result of %s undecodable: %s", h->entry.rid, k->str,
                         err);
                continue;
            }
            json_object_set(h->res_map, k->str, r.check_response);
            msg_result_free(&r);
        }
    }
    held_render_step(h);
}

static void held_render(struct held *h)
{
    struct coord *co = h->co;
    char key[KEYS_MAX];

    if (h->state != HELD_WAITING) return;
    h->state = HELD_RENDERING;
    h->failed = false;
    h->outstanding = 2;
    h->refs += 2;
    keys_req(key, sizeof(key), co->cfg->key_prefix, h->entry.rid);
    redis_client_command(co->cmd, held_req_hash_cb, h, 0, "HGETALL %s", key);
    keys_res(key, sizeof(key), co->cfg->key_prefix, h->entry.rid);
    redis_client_command(co->cmd, held_res_hash_cb, h, 0, "HGETALL %s", key);
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
        } else {
            h->state = HELD_WAITING;
            delay = h->deadline_ms - clock_now_ms();
            if (delay < 0) delay = 0;
            tv.tv_sec = delay / 1000;
            tv.tv_usec = (delay % 1000) * 1000;
            evtimer_add(&h->deadline_timer, &tv);
            /* the deadline path makes a few sequential round trips (tally, finalize,
             * publish, render), each bounded by the command timeout */
            delay += 4 * redis_client_command_timeout(h->co->cmd) + API_HARD_MARGIN_MS;
            tv.tv_sec = delay / 1000;
            tv.tv_usec = (delay % 1000) * 1000;
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

/* Index of the primary perspective in the configuration, or -1 when there is none. */
static int api_primary_index(const struct config *cfg)
{
    const struct perspective *p = config_primary(cfg);
    return p != NULL ? (int)(p - cfg->perspectives) : -1;
}

static void api_request_limits(const struct coord *co, struct request_limits *lim,
                               const char **domains)
{
    const struct config *cfg = co->cfg;
    int pool[CONFIG_MAX_PERSPECTIVES];
    memset(lim, 0, sizeof(*lim));
    lim->nperspectives = cohort_remote_pool(cfg->perspectives, cfg->nperspectives,
                                            api_primary_index(cfg), pool);
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

/* Queues one perspective's job on its region stream (one admission reply, always). */
static void api_enqueue_job(struct held *h, struct api_request *ar,
                            const struct perspective *p)
{
    const struct config *cfg = h->co->cfg;
    struct msg_job job;
    char key[KEYS_MAX], maxlen_s[24];
    char *blob = NULL;
    size_t bloblen = 0;

    memset(&job, 0, sizeof(job));
    job.rid = h->entry.rid;
    job.attempt = 1;
    job.perspective = (char *)p->code;
    job.check_type = ar->check_type;
    job.target = ar->target;
    job.wildcard = ar->wildcard;
    job.deadline_ms = h->deadline_ms;
    job.trace_id = ar->trace_id;
    job.params = ar->check_params;
    keys_jobs(key, sizeof(key), cfg->key_prefix, p->region);
    snprintf(maxlen_s, sizeof(maxlen_s), "%d", cfg->jobs_maxlen);
    if (msg_job_encode(&job, &blob, &bloblen) != 0) {
        redis_client_command(h->co->cmd, held_admit_cb, h, 0, "PING"); /* keep the count */
        h->failed = true;
        util_strlcpy(h->failure, "job too large to encode", sizeof(h->failure));
        return;
    }
    redis_client_command(h->co->cmd, held_admit_cb, h, 0, "XADD %s MAXLEN ~ %s * j %b", key,
                         maxlen_s, blob, bloblen);
    free(blob);
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
    json_t *echo = response_echo_new(ar, 1);
    char *echo_s = json_dumps(echo, JSON_COMPACT);
    int64_t now = clock_now_ms();

    json_decref(echo);
    util_random_bytes(rnd, sizeof(rnd));
    util_hex_encode(rnd, sizeof(rnd), h->entry.rid);
    h->co = co;
    h->req = req;
    h->state = HELD_ADMITTING;
    h->refs = 1;
    h->deadline_budget_ms = ar->deadline_ms;
    h->deadline_ms = now + ar->deadline_ms;
    evtimer_assign(&h->deadline_timer, co->base, held_deadline_cb, h);
    evtimer_assign(&h->hard_timer, co->base, held_hard_cb, h);
    pending_table_insert(co->pending, &h->entry);

    codes[0] = rirs[0] = '\0';
    for (int i = 0; i < cohort->n; i++) {
        const struct perspective *p = &cfg->perspectives[cohort->idx[i]];
        size_t off = strlen(codes), roff = strlen(rirs);
        snprintf(codes + off, sizeof(codes) - off, "%s%s", i ? "," : "", p->code);
        snprintf(rirs + roff, sizeof(rirs) - roff, "%s%d", i ? "," : "", (int)p->rir);
    }
    snprintf(n_s, sizeof(n_s), "%d", ar->perspective_count);
    snprintf(q_s, sizeof(q_s), "%d", ar->quorum_count);
    snprintf(dl_s, sizeof(dl_s), "%lld", (long long)h->deadline_ms);
    snprintf(now_s, sizeof(now_s), "%lld", (long long)now);
    snprintf(ttl_s, sizeof(ttl_s), "%lld", (long long)cfg->result_retention_s * 1000);
    keys_req(req_key, sizeof(req_key), cfg->key_prefix, h->entry.rid);

    /*
     * Pipelined on one connection, so Redis applies them in this order. The record and its TTL
     * are one transaction: a connection lost between them would leave a record that never
     * expires and that nothing else removes.
     */
    h->outstanding = 5 + cohort->n + (primary != NULL ? 1 : 0);
    h->refs += h->outstanding;
    redis_client_command(co->cmd, held_admit_cb, h, 0, "MULTI");
    redis_client_command(co->cmd, held_admit_cb, h, 0,
                         "HSET %s state open attempt 1 cohort %s rirs %s n %s q %s deadline %s "
                         "holder %s check_type %s target %s trace %s created %s echo %s "
                         "primary %s",
                         req_key, codes, rirs, n_s, q_s, dl_s, co->id,
                         check_type_name(ar->check_type), ar->target_raw,
                         ar->trace_id ? ar->trace_id : "", now_s, echo_s ? echo_s : "{}",
                         primary != NULL ? primary->code : "");
    redis_client_command(co->cmd, held_admit_cb, h, 0, "PEXPIRE %s %s", req_key, ttl_s);
    redis_client_command(co->cmd, held_admit_cb, h, 0, "EXEC");
    redis_client_command(co->cmd, held_admit_cb, h, 0, "ZADD %s %s %s", co->due_key, dl_s,
                         h->entry.rid);
    if (primary != NULL) api_enqueue_job(h, ar, primary); /* not part of the remote quorum */
    for (int i = 0; i < cohort->n; i++) api_enqueue_job(h, ar, &cfg->perspectives[cohort->idx[i]]);
    log_debug("request %s: %s %s cohort %s (n=%d q=%d) primary %s", h->entry.rid,
              check_type_name(ar->check_type), ar->target, codes, ar->perspective_count,
              ar->quorum_count, primary != NULL ? primary->code : "none");
    free(echo_s);
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
                             api_primary_index(co->cfg), ar.perspective_count,
                             (const unsigned char *)co->cfg->cohort_secret,
                             strlen(co->cfg->cohort_secret), ar.target,
                             ar.cohort_for_single_attempt > 0 ? ar.cohort_for_single_attempt : 1,
                             &cohort, err, sizeof(err)) != 0) {
        request_free(&ar);
        httpd_send_json(req, 500, response_error("cohort-selection-failed", err));
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

/* called by evhttp for every other path */
static void api_notfound_cb(struct evhttp_request *req, void *arg)
{
    httpd_send_json(req, 404, response_error("not-found", "unknown path; use POST /mpic"));
}

void api_register(struct coord *co, struct evhttp *http)
{
    evhttp_set_cb(http, "/mpic", api_mpic_cb, co);
    evhttp_set_cb(http, "/healthz", api_healthz_cb, co);
    evhttp_set_gencb(http, api_notfound_cb, co);
}
