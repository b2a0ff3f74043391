/*
 * Worker job loop (see consumer.h). Two Redis connections: `block` only ever carries the
 * XREADGROUP BLOCK read (so it never delays other commands), `cmd` carries XADD/XACK/XCLAIM/
 * XAUTOCLAIM. A job completes exactly once: result XADDed, then XACKed; if the XADD fails the
 * job stays pending and is redelivered through XAUTOCLAIM, so no job is lost.
 */
#include "consumer.h"

#include <event2/event_struct.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ackbatch.h"
#include "clock.h"
#include "group_gc.h"
#include "keys.h"
#include "log.h"
#include "msg.h"
#include "redis_client.h"
#include "sealmsg.h"
#include "stream_reply.h"
#include "util.h"
#include "wmetrics.h"

#define CONSUMER_REPORT_MARGIN_MS 150 /* time to seal and XADD a result before the deadline */
#define CONSUMER_BLOCK_MS 1000
#define CONSUMER_READ_MAX 64
#define CONSUMER_RETRY_MS 100

enum job_state {
    JOB_RUNNING = 0,   /* check in progress */
    JOB_REPORTING = 1, /* result XADD sent */
    JOB_RETRYING = 2,  /* result XADD failed; resent when the command connection is back */
    JOB_ACKING = 3,    /* XACK queued or sent */
};

struct consumer_job {
    struct consumer *c;
    char id[48];        /* stream entry id */
    enum job_state state;
    struct msg_job job;
    char *blob;         /* encoded result while reporting */
    size_t bloblen;
    struct event retry; /* JOB_RETRYING: resend timer */
    double started_s;   /* monotonic: check started (metrics) */
    double sent_s;      /* monotonic: result XADD sent (metrics) */
    struct consumer_job *prev, *next;
};

struct consumer {
    struct event_base *base;
    const struct config *cfg;
    const struct perspective *self;
    const struct check_env *env;
    struct redis_client *block; /* XREADGROUP BLOCK only */
    struct redis_client *cmd;   /* everything else */
    char stream[KEYS_MAX];
    char results[KEYS_MAX];
    char results_maxlen[24]; /* cfg->results_maxlen as text, for every result's XADD */
    char consumer_name[96];
    bool group_ready;
    bool reading;    /* an XREADGROUP is outstanding */
    bool stopped;    /* consumer_stop_reading() called */
    bool reclaiming; /* an XAUTOCLAIM is outstanding */
    char reclaim_cursor[48]; /* where the next XAUTOCLAIM scan continues ("0-0": from the start) */
    bool group_pending; /* an XGROUP CREATE is outstanding */
    int64_t next_gc_ms;  /* monotonic time of the next stale-consumer cleanup */
    int inflight;
    struct consumer_job *jobs;
    struct event retry_timer;
    struct event reclaim_timer;
    struct event heartbeat_timer;
    struct ackbatch *acks; /* finished jobs: one XACK per event-loop turn */
};

static void consumer_read(struct consumer *c);

static void consumer_job_unlink_free(struct consumer_job *j)
{
    struct consumer *c = j->c;
    if (j->state == JOB_RETRYING) evtimer_del(&j->retry);
    if (j->prev) j->prev->next = j->next;
    else c->jobs = j->next;
    if (j->next) j->next->prev = j->prev;
    c->inflight--;
    msg_job_free(&j->job);
    free(j->blob);
    free(j);
    consumer_read(c); /* a slot became free */
}

/* called by ackbatch once j's XACK was answered (or failed: the job is delivered again) */
static void consumer_acked_cb(void *arg, void *item, bool ok)
{
    (void)arg;
    (void)ok;
    consumer_job_unlink_free(item);
}

/* Queues j's XACK; jobs finished in the same event-loop turn share one XACK. */
static void consumer_ack(struct consumer_job *j)
{
    j->state = JOB_ACKING;
    ackbatch_add(j->c->acks, j->id, j);
}

static void consumer_send_result(struct consumer_job *j);

/* called by libevent while a result waits for the command connection to come back */
static void consumer_retry_result_cb(evutil_socket_t fd, short what, void *arg)
{
    struct consumer_job *j = arg;
    struct timeval tv = {0, CONSUMER_RETRY_MS * 1000};

    if (clock_now_ms() >= j->job.deadline_ms) {
        log_warn("job %s (request %s): result not stored before the deadline; left pending",
                 j->id, j->job.rid);
        consumer_job_unlink_free(j);
        return;
    }
    if (!redis_client_is_ready(j->c->cmd)) {
        evtimer_add(&j->retry, &tv);
        return;
    }
    consumer_send_result(j);
}

/* called by redis_client with the result XADD reply */
static void consumer_report_cb(void *arg, redisReply *reply, const char *errstr)
{
    struct consumer_job *j = arg;
    struct consumer *c = j->c;
    struct timeval tv = {0, CONSUMER_RETRY_MS * 1000};

    wmetrics_result_write(wmetrics_now_s() - j->sent_s,
                          reply != NULL && reply->type != REDIS_REPLY_ERROR);
    if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
        log_warn("job %s (request %s): result not stored (%s); retrying until its deadline",
                 j->id, j->job.rid ? j->job.rid : "?", reply ? reply->str : errstr);
        j->state = JOB_RETRYING;
        evtimer_assign(&j->retry, c->base, consumer_retry_result_cb, j);
        evtimer_add(&j->retry, &tv);
        return;
    }
    consumer_ack(j);
}

static void consumer_send_result(struct consumer_job *j)
{
    struct consumer *c = j->c;
    /* argv: formatted by hiredis without a printf pass per result */
    const char *argv[] = {"XADD", c->results, "MAXLEN", "~", c->results_maxlen, "*", "r",
                          j->blob};
    size_t argvlen[MPIC_ARRAY_LEN(argv)];

    for (size_t i = 0; i + 1 < MPIC_ARRAY_LEN(argv); i++) argvlen[i] = strlen(argv[i]);
    argvlen[MPIC_ARRAY_LEN(argv) - 1] = j->bloblen;
    j->state = JOB_REPORTING;
    j->sent_s = wmetrics_now_s();
    redis_client_commandargv(c->cmd, consumer_report_cb, j, 0, (int)MPIC_ARRAY_LEN(argv), argv,
                             argvlen);
}

static void consumer_report(struct consumer_job *j, json_t *check_response)
{
    struct consumer *c = j->c;
    struct msg_result r;

    memset(&r, 0, sizeof(r));
    r.rid = j->job.rid;
    r.attempt = j->job.attempt;
    r.perspective = (char *)c->self->code;
    r.check_type = j->job.check_type;
    r.check_response = check_response;
    if (sealmsg_result_encode(&c->cfg->sec.keyring, &r, j->job.deadline_ms, &j->blob,
                              &j->bloblen) != 0) {
        log_error("job %s: cannot encode the result; acknowledging it unreported", j->id);
        json_decref(check_response);
        consumer_ack(j);
        return;
    }
    json_decref(check_response);
    consumer_send_result(j);
}

/* called by the check (check_start) exactly once with the outcome */
static void consumer_check_done(void *arg, struct check_result *res)
{
    struct consumer_job *j = arg;
    json_t *cr = check_result_to_json(res, j->job.check_type);
    wmetrics_check_done(j->job.check_type == CHECK_TYPE_DCV, j->job.params, cr,
                        wmetrics_now_s() - j->started_s);
    log_debug("job %s request %s trace %s attempt %u %s %s: completed=%d passed=%d", j->id,
              j->job.rid, j->job.trace_id ? j->job.trace_id : "-", (unsigned)j->job.attempt,
              check_type_name(j->job.check_type), j->job.target, res->completed,
              res->completed && res->passed);
    check_result_clear(res);
    consumer_report(j, cr);
}

static void consumer_job_start(struct consumer *c, const char *id, const char *blob, size_t len)
{
    struct consumer_job *j;
    struct check_request req;
    enum seal_status st;
    char err[128];

    j = util_xcalloc(1, sizeof(*j));
    j->c = c;
    util_strlcpy(j->id, id, sizeof(j->id));
    j->state = JOB_RUNNING;
    j->next = c->jobs;
    if (c->jobs) c->jobs->prev = j;
    c->jobs = j;
    c->inflight++;

    if (blob == NULL) {
        st = SEAL_ERR_MALFORMED;
        util_strlcpy(err, "no job field", sizeof(err));
    } else {
        st = sealmsg_job_open(&c->cfg->sec.keyring, blob, len, c->self->code, clock_now_ms(),
                              &j->job, err, sizeof(err));
    }
    if (st != SEAL_OK) {
        seal_count_reject(st);
        log_error("job %s on %s rejected (%s: %s); acknowledged and dropped", id, c->stream,
                  seal_status_name(st), err);
        consumer_ack(j);
        return;
    }
    if (strcmp(j->job.perspective, c->self->code) != 0) {
        log_error("job %s for perspective %s arrived at %s; acknowledged and dropped", id,
                  j->job.perspective, c->self->code);
        consumer_ack(j);
        return;
    }
    if (clock_now_ms() >= j->job.deadline_ms) {
        struct check_result res;
        memset(&res, 0, sizeof(res));
        res.details = json_object();
        check_result_add_error(&res, "mpic_error:coordinator:deadline",
                               "perspective %s received the job for %s after its deadline",
                               c->self->code, j->job.target);
        res.timestamp_ns = clock_real_ns();
        consumer_report(j, check_result_to_json(&res, j->job.check_type));
        check_result_clear(&res);
        return;
    }
    memset(&req, 0, sizeof(req));
    req.check_type = j->job.check_type;
    req.target = j->job.target;
    req.wildcard = j->job.wildcard;
    req.params = j->job.params;
    /* finish early enough for the result to be written before the job's (sealed) deadline:
     * a result written later is discarded, and the check's own timeout error would be lost */
    req.deadline_ms = j->job.deadline_ms - CONSUMER_REPORT_MARGIN_MS;
    req.trace_id = j->job.trace_id;
    log_debug("job %s request %s trace %s: %s %s", id, j->job.rid,
              j->job.trace_id ? j->job.trace_id : "-", check_type_name(j->job.check_type),
              j->job.target);
    j->started_s = wmetrics_now_s();
    check_start(c->env, &req, consumer_check_done, j);
}

/* Starts every entry of an XREADGROUP or XAUTOCLAIM entry list [[id, [field, value, ...]], ...]. */
static void consumer_start_entries(struct consumer *c, const redisReply *entries)
{
    if (entries == NULL || entries->type != REDIS_REPLY_ARRAY) return;
    for (size_t i = 0; i < entries->elements; i++) {
        const char *id, *blob;
        size_t len;
        if (stream_reply_entry(entries->element[i], "j", &id, &blob, &len) == 0)
            consumer_job_start(c, id, blob, len);
    }
}

/* called by redis_client with the XREADGROUP reply (NIL when BLOCK expired) */
static void consumer_read_cb(void *arg, redisReply *reply, const char *errstr)
{
    struct consumer *c = arg;
    struct timeval tv = {0, CONSUMER_RETRY_MS * 1000};

    c->reading = false;
    if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
        if (c->stopped && reply == NULL) return; /* shutting down */
        log_warn("XREADGROUP on %s failed: %s", c->stream, reply ? reply->str : errstr);
        if (reply && strncmp(reply->str, "NOGROUP", 7) == 0) c->group_ready = false;
        evtimer_add(&c->retry_timer, &tv);
        return;
    }
    if (reply->type == REDIS_REPLY_ARRAY) {
        for (size_t s = 0; s < reply->elements; s++) {
            const redisReply *st = reply->element[s];
            if (st->type == REDIS_REPLY_ARRAY && st->elements == 2)
                consumer_start_entries(c, st->element[1]);
        }
    }
    consumer_read(c);
}

/* called by redis_client with the XGROUP CREATE reply */
static void consumer_group_cb(void *arg, redisReply *reply, const char *errstr)
{
    struct consumer *c = arg;
    struct timeval tv = {0, CONSUMER_RETRY_MS * 1000};
    c->group_pending = false;
    if (reply == NULL ||
        (reply->type == REDIS_REPLY_ERROR && strncmp(reply->str, "BUSYGROUP", 9) != 0)) {
        log_warn("XGROUP CREATE %s failed: %s", c->stream, reply ? reply->str : errstr);
        evtimer_add(&c->retry_timer, &tv);
        return;
    }
    if (!c->group_ready) log_info("consuming %s as %s", c->stream, c->consumer_name);
    c->group_ready = true;
    consumer_read(c);
}

static void consumer_read(struct consumer *c)
{
    int count = c->cfg->max_inflight_jobs - c->inflight;
    char countbuf[16], blockbuf[16];

    if (c->stopped || c->reading || !redis_client_is_ready(c->block) ||
        !redis_client_is_ready(c->cmd))
        return; /* a job taken now could not report until the command connection is back */
    if (!c->group_ready) {
        if (c->group_pending) return;
        c->group_pending = true;
        redis_client_command(c->block, consumer_group_cb, c, 0,
                             "XGROUP CREATE %s %s 0 MKSTREAM", c->stream, KEYS_GROUP_WORKERS);
        return;
    }
    if (count <= 0) return;
    if (count > CONSUMER_READ_MAX) count = CONSUMER_READ_MAX;
    snprintf(countbuf, sizeof(countbuf), "%d", count);
    snprintf(blockbuf, sizeof(blockbuf), "%d", CONSUMER_BLOCK_MS);
    c->reading = true;
    redis_client_command(c->block, consumer_read_cb, c,
                         CONSUMER_BLOCK_MS + redis_client_command_timeout(c->block),
                         "XREADGROUP GROUP %s %s COUNT %s BLOCK %s STREAMS %s >",
                         KEYS_GROUP_WORKERS, c->consumer_name, countbuf, blockbuf, c->stream);
}

/* called by libevent after a failed read or group setup, to try again */
static void consumer_retry_cb(evutil_socket_t fd, short what, void *arg)
{
    consumer_read(arg);
}

/* called by redis_client when either connection becomes ready or is lost */
static void consumer_block_state_cb(void *arg, bool ready)
{
    struct consumer *c = arg;
    if (ready) consumer_read(c);
}

/* called by redis_client with the XAUTOCLAIM reply: {next-id, entries, deleted-ids} */
static void consumer_reclaim_cb(void *arg, redisReply *reply, const char *errstr)
{
    struct consumer *c = arg;
    c->reclaiming = false;
    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY || reply->elements < 2) {
        if (reply && reply->type == REDIS_REPLY_ERROR)
            log_warn("XAUTOCLAIM on %s failed: %s", c->stream, reply->str);
        return;
    }
    if (reply->element[0]->type == REDIS_REPLY_STRING)
        util_strlcpy(c->reclaim_cursor, reply->element[0]->str, sizeof(c->reclaim_cursor));
    if (reply->element[1]->type == REDIS_REPLY_ARRAY && reply->element[1]->elements > 0) {
        log_info("reclaimed %zu job(s) idle for more than %d ms on %s",
                 reply->element[1]->elements, c->cfg->job_visibility_timeout_ms, c->stream);
        wmetrics_reclaimed(reply->element[1]->elements);
    }
    consumer_start_entries(c, reply->element[1]);
}

/* called by libevent every visibility/2 ms: take over jobs of workers that died */
static void consumer_reclaim_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct consumer *c = arg;
    int free_slots = c->cfg->max_inflight_jobs - c->inflight;
    char idle[16], count[16];

    if (c->stopped || c->reclaiming || !c->group_ready || free_slots <= 0 ||
        !redis_client_is_ready(c->cmd))
        return;
    if (clock_mono_ms() >= c->next_gc_ms) {
        c->next_gc_ms = clock_mono_ms() + GROUP_GC_INTERVAL_MS;
        group_gc_run(c->cmd, c->stream, KEYS_GROUP_WORKERS, c->consumer_name,
                     GROUP_GC_MIN_IDLE_MS);
    }
    snprintf(idle, sizeof(idle), "%d", c->cfg->job_visibility_timeout_ms);
    snprintf(count, sizeof(count), "%d", free_slots < 16 ? free_slots : 16);
    c->reclaiming = true;
    redis_client_command(c->cmd, consumer_reclaim_cb, c, 0, "XAUTOCLAIM %s %s %s %s %s COUNT %s",
                         c->stream, KEYS_GROUP_WORKERS, c->consumer_name, idle,
                         c->reclaim_cursor, count);
}

/* called by libevent every visibility/3 ms: reset the idle time of our running jobs */
static void consumer_heartbeat_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct consumer *c = arg;
    const char *argv[6 + 100];
    size_t lens[6 + 100];
    int argc = 0;
    struct consumer_job *j = c->jobs;

    if (!redis_client_is_ready(c->cmd)) return;
    while (j != NULL) {
        argc = 0;
        argv[argc++] = "XCLAIM";
        argv[argc++] = c->stream;
        argv[argc++] = KEYS_GROUP_WORKERS;
        argv[argc++] = c->consumer_name;
        argv[argc++] = "0";
        for (; j != NULL && argc < 5 + 100; j = j->next)
            if (j->state != JOB_ACKING) argv[argc++] = j->id;
        if (argc == 5) break;
        argv[argc++] = "JUSTID";
        for (int i = 0; i < argc; i++) lens[i] = strlen(argv[i]);
        redis_client_commandargv(c->cmd, redis_client_ignore_reply, c, 0, argc, argv, lens);
    }
}

struct consumer *consumer_new(struct event_base *base, const struct config *cfg,
                              const struct perspective *self, const struct check_env *env)
{
    struct consumer *c = util_xcalloc(1, sizeof(*c));
    struct redis_client_opts o;
    unsigned char rnd[6];
    char hex[13], hostname[64] = "host";
    struct timeval tv;

    c->base = base;
    c->cfg = cfg;
    util_strlcpy(c->reclaim_cursor, "0-0", sizeof(c->reclaim_cursor));
    c->self = self;
    c->env = env;
    keys_jobs(c->stream, sizeof(c->stream), cfg->key_prefix, self->region);
    keys_results(c->results, sizeof(c->results), cfg->key_prefix);
    snprintf(c->results_maxlen, sizeof(c->results_maxlen), "%d", cfg->results_maxlen);
    util_random_bytes(rnd, sizeof(rnd));
    util_hex_encode(rnd, sizeof(rnd), hex);
    gethostname(hostname, sizeof(hostname) - 1);
    snprintf(c->consumer_name, sizeof(c->consumer_name), "%.40s-%d-%s", hostname, (int)getpid(),
             hex);

    memset(&o, 0, sizeof(o));
    o.host = cfg->redis.host;
    o.port = cfg->redis.port;
    o.connect_timeout_ms = cfg->redis_connect_timeout_ms;
    o.command_timeout_ms = cfg->redis_command_timeout_ms;
    o.username = cfg->redis_username;
    o.password = cfg->redis_password;
    o.name = "worker-block";
    c->block = redis_client_new(base, &o);
    o.name = "worker-cmd";
    c->cmd = redis_client_new(base, &o);
    redis_client_set_state_cb(c->block, consumer_block_state_cb, c);
    redis_client_set_state_cb(c->cmd, consumer_block_state_cb, c);
    c->acks = ackbatch_new(base, c->cmd, c->stream, KEYS_GROUP_WORKERS, consumer_acked_cb, c);

    evtimer_assign(&c->retry_timer, base, consumer_retry_cb, c);
    event_assign(&c->reclaim_timer, base, -1, EV_PERSIST, consumer_reclaim_timer_cb, c);
    event_assign(&c->heartbeat_timer, base, -1, EV_PERSIST, consumer_heartbeat_timer_cb, c);
    tv = util_ms_timeval(cfg->job_visibility_timeout_ms / 2);
    event_add(&c->reclaim_timer, &tv);
    tv = util_ms_timeval(cfg->job_visibility_timeout_ms / 3);
    event_add(&c->heartbeat_timer, &tv);

    redis_client_start(c->block);
    redis_client_start(c->cmd);
    return c;
}

bool consumer_is_healthy(const struct consumer *c)
{
    return c->group_ready && redis_client_is_ready(c->block) && redis_client_is_ready(c->cmd);
}

void consumer_stop_reading(struct consumer *c)
{
    c->stopped = true;
    event_del(&c->reclaim_timer);
}

int consumer_inflight(const struct consumer *c)
{
    return c->inflight;
}

void consumer_free(struct consumer *c)
{
    if (c == NULL) return;
    c->stopped = true;
    /* clients first: their pending callbacks may still arm our timers */
    redis_client_free(c->block);
    redis_client_free(c->cmd);
    event_del(&c->retry_timer);
    event_del(&c->reclaim_timer);
    event_del(&c->heartbeat_timer);
    /* jobs never acknowledged stay pending in Redis: another worker reclaims them */
    ackbatch_free(c->acks);
    free(c);
}
