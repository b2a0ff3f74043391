/*
 * Retry advance (see retry.h): HMGET of the fields the next attempt needs, cohort selection
 * for attempt A+1, lua/advance, then the jobs and the due entry. States of one operation:
 * READING -> ADVANCING -> ENQUEUEING -> done; the callback runs exactly once.
 */
#include "retry.h"

#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "cmetrics.h"
#include "cohort.h"
#include "due.h"
#include "jobs.h"
#include "keys.h"
#include "log.h"
#include "perspective.h"
#include "response.h"
#include "scripts.h"
#include "util.h"

enum retry_state {
    RETRY_READING = 0,
    RETRY_ADVANCING = 1,
    RETRY_ENQUEUEING = 2,
};

/* The HMGET fields, in order. */
enum retry_field {
    RF_STATE, RF_ATTEMPT, RF_RETRY_AT, RF_N, RF_JTARGET, RF_WILDCARD, RF_BUDGET, RF_TRACE,
    RF_ECHO, RF_CHECK_TYPE, RF_COUNT
};

struct retry_op {
    struct coord *co;
    enum retry_state state;
    char rid[48];
    char req_key[KEYS_MAX];
    int attempt; /* the attempt that failed */
    int64_t deadline_ms;
    int outstanding;
    bool failed;
    struct cohort cohort;
    struct jobs_attempt job;
    char target[256];
    char trace[260];
    json_t *echo;
    retry_done_cb cb;
    void *arg;
};

static void retry_done(struct retry_op *op, bool ok)
{
    op->cb(op->arg, ok);
    json_decref(op->echo);
    free(op);
}

/* called by redis_client with each job XADD reply */
static void retry_enqueued_cb(void *arg, redisReply *reply, const char *errstr)
{
    struct retry_op *op = arg;

    if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
        log_warn("request %s: enqueueing attempt %d failed: %s", op->rid, op->attempt + 1,
                 reply ? reply->str : errstr);
        op->failed = true;
    }
    if (--op->outstanding > 0) return;
    /* a lost job is judged as a missing perspective at the new deadline: fails safe */
    retry_done(op, true);
}

/* called by redis_client with the lua/advance reply */
static void retry_advance_cb(void *arg, redisReply *reply, const char *errstr)
{
    struct retry_op *op = arg;
    struct coord *co = op->co;
    char dl_s[24];

    if (reply == NULL || reply->type != REDIS_REPLY_INTEGER) {
        log_warn("request %s: advance failed: %s", op->rid,
                 reply && reply->type == REDIS_REPLY_ERROR ? reply->str : errstr);
        retry_done(op, false);
        return;
    }
    if (reply->integer != 1) { /* someone else advanced it, or it is not due yet */
        retry_done(op, true);
        return;
    }
    log_info("request %s: attempt %d started", op->rid, op->attempt + 1);
    cmetrics_retry(check_type_name(op->job.check_type));
    cmetrics_attempt(check_type_name(op->job.check_type));
    snprintf(dl_s, sizeof(dl_s), "%lld", (long long)op->deadline_ms);
    redis_client_command(co->cmd, redis_client_ignore_reply, NULL, 0, "ZADD %s %s %s",
                         co->due_key, dl_s, op->rid);
    due_arm(co, op->rid, op->deadline_ms);
    op->state = RETRY_ENQUEUEING;
    op->outstanding = op->cohort.n + (op->job.primary != NULL ? 1 : 0);
    if (jobs_enqueue(co, &op->job, &op->cohort, retry_enqueued_cb, op) > 0) op->failed = true;
}

static const char *rf(const redisReply *r, enum retry_field f)
{
    const redisReply *e = r->element[f];
    return e->type == REDIS_REPLY_STRING ? e->str : NULL;
}

/* called by redis_client with the HMGET of the request record */
static void retry_read_cb(void *arg, redisReply *reply, const char *errstr)
{
    struct retry_op *op = arg;
    struct coord *co = op->co;
    const struct config *cfg = co->cfg;
    char codes[COHORT_MAX * PERSPECTIVE_CODE_MAX], rirs[COHORT_MAX * 4], err[256];
    char attempt_s[16], now_s[24], dl_s[24];
    int64_t attempt, retry_at, n, budget, now = clock_now_ms();
    const char *params_key, *args[6];
    size_t lens[6];

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY || reply->elements != RF_COUNT) {
        log_warn("request %s: reading it for a retry failed: %s", op->rid,
                 reply && reply->type == REDIS_REPLY_ERROR ? reply->str : errstr);
        retry_done(op, false);
        return;
    }
    if (rf(reply, RF_STATE) == NULL || strcmp(rf(reply, RF_STATE), "retrying") != 0) {
        retry_done(op, true);
        return;
    }
    if (rf(reply, RF_ATTEMPT) == NULL || rf(reply, RF_RETRY_AT) == NULL ||
        rf(reply, RF_N) == NULL || rf(reply, RF_JTARGET) == NULL ||
        rf(reply, RF_BUDGET) == NULL || rf(reply, RF_ECHO) == NULL ||
        rf(reply, RF_CHECK_TYPE) == NULL ||
        util_parse_int64(rf(reply, RF_ATTEMPT), 1, 100, &attempt) != 0 ||
        util_parse_int64(rf(reply, RF_RETRY_AT), 0, INT64_MAX, &retry_at) != 0 ||
        util_parse_int64(rf(reply, RF_N), 2, COHORT_MAX, &n) != 0 ||
        util_parse_int64(rf(reply, RF_BUDGET), 1, 3600000, &budget) != 0 ||
        check_type_parse(rf(reply, RF_CHECK_TYPE), &op->job.check_type) != 0) {
        log_error("request %s: its record cannot be retried (fields missing)", op->rid);
        retry_done(op, true);
        return;
    }
    if (now < retry_at) { /* early: come back at the due time */
        due_arm(co, op->rid, retry_at);
        retry_done(op, true);
        return;
    }
    op->attempt = (int)attempt;
    op->echo = json_loads(rf(reply, RF_ECHO), 0, NULL);
    params_key = response_params_key(op->job.check_type);
    util_strlcpy(op->target, rf(reply, RF_JTARGET), sizeof(op->target));
    util_strlcpy(op->trace, rf(reply, RF_TRACE) ? rf(reply, RF_TRACE) : "", sizeof(op->trace));
    if (op->echo == NULL || json_object_get(op->echo, params_key) == NULL ||
        cohort_select_remote(cfg->perspectives, cfg->nperspectives, jobs_primary_index(cfg),
                             (int)n, (const unsigned char *)cfg->cohort_secret,
                             strlen(cfg->cohort_secret), op->target, op->attempt + 1,
                             &op->cohort, err, sizeof(err)) != 0) {
        log_error("request %s: no cohort for attempt %d: %s", op->rid, op->attempt + 1,
                  op->echo ? err : "stored echo invalid");
        retry_done(op, true);
        return;
    }
    op->deadline_ms = now + budget;
    op->job.rid = op->rid;
    op->job.attempt = op->attempt + 1;
    op->job.target = op->target;
    op->job.wildcard = rf(reply, RF_WILDCARD) && strcmp(rf(reply, RF_WILDCARD), "1") == 0;
    op->job.deadline_ms = op->deadline_ms;
    op->job.trace_id = op->trace[0] ? op->trace : NULL;
    op->job.params = json_object_get(op->echo, params_key);
    op->job.primary = config_primary(cfg);
    jobs_cohort_strings(co, &op->cohort, codes, sizeof(codes), rirs, sizeof(rirs));
    snprintf(attempt_s, sizeof(attempt_s), "%d", op->attempt);
    snprintf(now_s, sizeof(now_s), "%lld", (long long)now);
    snprintf(dl_s, sizeof(dl_s), "%lld", (long long)op->deadline_ms);
    args[0] = op->req_key;
    args[1] = attempt_s;
    args[2] = now_s;
    args[3] = codes;
    args[4] = rirs;
    args[5] = dl_s;
    for (int i = 0; i < 6; i++) lens[i] = strlen(args[i]);
    op->state = RETRY_ADVANCING;
    scripts_eval(co->cmd, SCRIPT_ADVANCE, 1, 6, args, lens, retry_advance_cb, op);
}

void retry_advance(struct coord *co, const char *rid, retry_done_cb cb, void *arg)
{
    struct retry_op *op = util_xcalloc(1, sizeof(*op));

    op->co = co;
    op->state = RETRY_READING;
    op->cb = cb;
    op->arg = arg;
    util_strlcpy(op->rid, rid, sizeof(op->rid));
    keys_req(op->req_key, sizeof(op->req_key), co->cfg->key_prefix, rid);
    redis_client_command(co->cmd, retry_read_cb, op, 0,
                         "HMGET %s state attempt retry_at n jtarget wildcard budget trace echo "
                         "check_type",
                         op->req_key);
}
