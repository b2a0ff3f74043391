/*
 * Results consumer (see reducer.h). Each stream entry becomes a struct reducer_entry that
 * lives until its XACK is sent; entries are processed concurrently (bounded), and the next
 * XREADGROUP is issued as soon as there is room.
 */
#include "reducer.h"

#include <event2/event_struct.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ackbatch.h"
#include "clock.h"
#include "cmetrics.h"
#include "due.h"
#include "group_gc.h"
#include "log.h"
#include "msg.h"
#include "response.h"
#include "sealmsg.h"
#include "scripts.h"
#include "stream_reply.h"
#include "tally.h"
#include "tallycache.h"
#include "util.h"

#define REDUCER_BLOCK_MS 1000
#define REDUCER_READ_MAX 128
#define REDUCER_MAX_INFLIGHT 4096

struct reducer {
    struct coord *co;
    bool reading;
    bool reclaiming;
    char reclaim_cursor[48]; /* where the next XAUTOCLAIM scan continues ("0-0": from the start) */
    bool creating_group; /* an XGROUP CREATE after NOGROUP is outstanding */
    int inflight;
    int64_t next_gc_ms; /* monotonic time of the next stale-consumer cleanup */
    struct event retry_timer;
    struct event reclaim_timer;
    struct ackbatch *acks; /* handled entries: one XACK per event-loop turn */
};

struct reducer_entry {
    struct reducer *r;
    char id[48];
};

/* One result opened from its stream entry, waiting to be grouped with the batch's others. */
struct reducer_item {
    struct reducer_entry *e;
    char rid[MSG_RID_MAX + 1];
    uint32_t attempt;
    char perspective[PERSPECTIVE_CODE_MAX];
    const char *outcome; /* "P", "F" or "E" */
    char *blob;          /* plain msgpack result, owned */
    size_t len;
    bool replay_check; /* authentic (opened from a sealed envelope): an orphan is a replay */
    bool grouped;
};

/* A group member: its entry is acknowledged when the group's judgement is done. */
struct reducer_member {
    struct reducer_entry *e;
    bool replay_check;
    char code[PERSPECTIVE_CODE_MAX];
    const char *outcome;
};

/*
 * The results of one request attempt read in one batch: one lua/record call and one
 * judgement serve them all (fewer scripts, and no finalize races between them).
 */
struct reducer_group {
    struct reducer *r;
    char rid[MSG_RID_MAX + 1];
    uint32_t attempt;
    bool ahead;  /* judged ahead (due_judge_ahead): its record reply and judgement both end it */
    int waiting; /* ahead: replies still awaited of those two */
    bool ok;     /* ahead: neither failed */
    int n;
    struct reducer_member m[];
};

static void reducer_read(struct reducer *r);

/* called by ackbatch once e's XACK was answered (or failed: e is reclaimed and redone) */
static void reducer_acked_cb(void *arg, void *item, bool ok)
{
    struct reducer *r = arg;
    (void)ok; /* recording is idempotent */
    free(item);
    r->inflight--;
    reducer_read(r);
}

/* Queues e's XACK; entries handled in the same event-loop turn share one XACK. */
static void reducer_ack(struct reducer_entry *e)
{
    ackbatch_add(e->r->acks, e->id, e);
}

static void reducer_group_ack(struct reducer_group *g)
{
    for (int i = 0; i < g->n; i++) reducer_ack(g->m[i].e);
    free(g);
}

/* called by due_evaluate / due_judge_ahead when the judgement finished, and by
 * reducer_record_cb for a group judged ahead */
static void reducer_judged_cb(void *arg, bool ok)
{
    struct reducer_group *g = arg;
    struct reducer *r = g->r;

    if (g->ahead) { /* ends when both the record reply and the judgement are in */
        g->ok = g->ok && ok;
        if (--g->waiting > 0) return;
        ok = g->ok;
    }
    if (ok) {
        reducer_group_ack(g);
        return;
    }
    /* Redis failed mid-way: leave the entries pending; they are reclaimed and redone */
    for (int i = 0; i < g->n; i++) free(g->m[i].e);
    r->inflight -= g->n;
    free(g);
    reducer_read(r);
}

/* An authentic result for no open request/attempt of its perspective: a replay. */
static void reducer_replay(const struct reducer_group *g, int i, const char *why)
{
    if (!g->m[i].replay_check) return;
    seal_count_reject(SEAL_ERR_REPLAY);
    log_warn("result %s rejected (replay: %s) for request %s", g->m[i].e->id, why, g->rid);
}

/*
 * The lua/record reply (status: its first element) of a group judged ahead: its judgement
 * (finalize/publish, guarded) is already on the wire behind it and ends the group, so this
 * only counts replays and tells whether the prediction held.
 */
static void reducer_record_ahead(struct reducer_group *g, redisReply *reply,
                                 const char *status)
{
    bool confirmed = true;
    struct tally t;

    if (reply->element[0]->len != (size_t)g->n) {
        confirmed = false; /* gone, closed, stale (or malformed) */
        if (strcmp(status, "gone") == 0 || strcmp(status, "stale") == 0)
            for (int i = 0; i < g->n; i++) reducer_replay(g, i, status);
    } else {
        for (int i = 0; i < g->n; i++) {
            if (status[i] == 'f') reducer_replay(g, i, "foreign");
            if (status[i] != 'o') confirmed = false;
        }
        if (confirmed && (tally_parse(reply, &t) != 0 || !tally_all_reported(&t)))
            confirmed = false;
    }
    cmetrics_judged_ahead(confirmed);
    if (!confirmed)
        log_debug("request %s: the tally judged ahead was not the stored one (%s)", g->rid,
                  status);
    reducer_judged_cb(g, true);
}

/* called by redis_client with the lua/record reply for a group */
static void reducer_record_cb(void *arg, redisReply *reply, const char *errstr)
{
    struct reducer_group *g = arg;
    struct tally t;
    const char *status;
    bool judge = false;

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY || reply->elements < 1 ||
        reply->element[0]->type != REDIS_REPLY_STRING) {
        log_warn("%d result(s) for request %s not recorded: %s", g->n, g->rid,
                 reply && reply->type == REDIS_REPLY_ERROR ? reply->str : errstr);
        reducer_judged_cb(g, false);
        return;
    }
    status = reply->element[0]->str;
    if (g->ahead) {
        reducer_record_ahead(g, reply, status);
        return;
    }
    if (strcmp(status, "gone") == 0 || strcmp(status, "stale") == 0 ||
        strcmp(status, "closed") == 0) {
        for (int i = 0; i < g->n && status[0] != 'c'; i++) reducer_replay(g, i, status);
        log_debug("%d result(s) for request %s ignored: %s", g->n, g->rid, status);
        tallycache_close(g->r->co->tallies, g->rid, g->attempt);
        reducer_group_ack(g);
        return;
    }
    if (reply->element[0]->len != (size_t)g->n) {
        log_error("request %s: lua/record answered %s for %d results", g->rid, status, g->n);
        reducer_group_ack(g);
        return;
    }
    for (int i = 0; i < g->n; i++) {
        if (status[i] == 'f') reducer_replay(g, i, "foreign");
        else judge = true; /* stored, or a duplicate: judge again (a reclaimed result) */
    }
    if (!judge) {
        reducer_group_ack(g);
        return;
    }
    if (tally_parse(reply, &t) != 0) {
        log_error("request %s: malformed tally from lua/record", g->rid);
        reducer_group_ack(g);
        return;
    }
    /* kept so that the results still to come can be judged ahead of their record reply */
    if ((t.state == TALLY_OPEN || t.state == TALLY_DECIDED) && !tally_all_reported(&t))
        tallycache_merge(g->r->co->tallies, g->rid, g->attempt, &t);
    else
        tallycache_close(g->r->co->tallies, g->rid, g->attempt);
    due_evaluate(g->r->co, g->rid, &t, false, reducer_judged_cb, g);
}

/* Sends one lua/record for items[first] and every later ungrouped item of the same attempt. */
static void reducer_record_group(struct reducer *r, struct reducer_item *items, int nitems,
                                 int first)
{
    struct coord *co = r->co;
    const struct reducer_item *it = &items[first];
    char req_key[KEYS_MAX], res_key[KEYS_MAX], st_key[KEYS_MAX], att[16];
    struct reducer_group *g;
    const char **args;
    size_t *lens;
    int n = 0, nargs;
    struct tally pred;
    bool predicted;

    for (int i = first; i < nitems; i++)
        if (!items[i].grouped && items[i].attempt == it->attempt &&
            strcmp(items[i].rid, it->rid) == 0)
            n++;
    g = util_xcalloc(1, sizeof(*g) + (size_t)n * sizeof(g->m[0]));
    g->r = r;
    g->attempt = it->attempt;
    util_strlcpy(g->rid, it->rid, sizeof(g->rid));
    nargs = 4 + 3 * n;
    args = util_xcalloc((size_t)nargs, sizeof(*args));
    lens = util_xcalloc((size_t)nargs, sizeof(*lens));
    keys_req(req_key, sizeof(req_key), co->cfg->key_prefix, it->rid);
    keys_res(res_key, sizeof(res_key), co->cfg->key_prefix, it->rid);
    keys_st(st_key, sizeof(st_key), co->cfg->key_prefix, it->rid);
    snprintf(att, sizeof(att), "%u", it->attempt);
    args[0] = req_key;
    args[1] = res_key;
    args[2] = st_key;
    args[3] = att;
    for (int i = 0; i < 4; i++) lens[i] = strlen(args[i]);
    for (int i = first; i < nitems; i++) {
        struct reducer_item *x = &items[i];
        int a = 4 + 3 * g->n;
        if (x->grouped || x->attempt != it->attempt || strcmp(x->rid, it->rid) != 0) continue;
        x->grouped = true;
        g->m[g->n].e = x->e;
        g->m[g->n].replay_check = x->replay_check;
        util_strlcpy(g->m[g->n].code, x->perspective, sizeof(g->m[g->n].code));
        g->m[g->n].outcome = x->outcome;
        g->n++;
        args[a] = x->perspective;
        lens[a] = strlen(x->perspective);
        args[a + 1] = x->outcome;
        lens[a + 1] = 1;
        args[a + 2] = x->blob; /* binary */
        lens[a + 2] = x->len;
    }
    predicted = tallycache_get(r->co->tallies, g->rid, g->attempt, &pred);
    for (int i = 0; predicted && i < g->n; i++)
        predicted = tally_add(&pred, g->m[i].code, g->m[i].outcome);
    scripts_eval(co->cmd, SCRIPT_RECORD, 3, nargs, args, lens, reducer_record_cb, g);
    free(args);
    free(lens);
    if (predicted) {
        /* the tally this record completes, judged now: finalize and publish go right behind
         * it in the same round trip (guarded: a wrong prediction is refused by the scripts) */
        g->ahead = true;
        g->waiting = 2;
        g->ok = true;
        if (due_judge_ahead(co, g->rid, g->attempt, &pred, reducer_judged_cb, g)) {
            tallycache_close(r->co->tallies, g->rid, g->attempt);
            return;
        }
        g->ahead = false;
    }
    for (int i = 0; i < g->n; i++) /* so that the next batch can predict before our reply */
        tallycache_note(r->co->tallies, g->rid, g->attempt, g->m[i].code, g->m[i].outcome);
}

static void reducer_item_set(struct reducer_item *it, struct reducer_entry *e, const char *rid,
                             uint32_t attempt, const char *perspective, const char *outcome)
{
    it->e = e;
    util_strlcpy(it->rid, rid, sizeof(it->rid));
    it->attempt = attempt;
    util_strlcpy(it->perspective, perspective, sizeof(it->perspective));
    it->outcome = outcome;
}

/*
 * A result that did not open (forged, tampered, replayed into another request, sealed with
 * another perspective's key, late): counted, logged, and recorded as an error of the
 * perspective it claims, so it can only ever make that perspective fail, never pass.
 * Returns 0 when it became an item to record, -1 when it was acknowledged and dropped.
 */
static int reducer_reject(struct reducer_entry *e, enum seal_status st,
                          const struct seal_ad *claimed, const char *why,
                          struct reducer_item *it)
{
    struct msg_result res;
    char msg[256], type[64];

    seal_count_reject(st);
    if (claimed->rid[0] == '\0' || claimed->perspective[0] == '\0') {
        log_warn("result %s rejected (%s: %s), claims no request; acknowledged and dropped",
                 e->id, seal_status_name(st), why);
        reducer_ack(e);
        return -1;
    }
    log_warn("result %s rejected (%s: %s); request %s attempt %u perspective %s counts as "
             "failed", e->id, seal_status_name(st), why, claimed->rid, claimed->attempt,
             claimed->perspective);
    snprintf(type, sizeof(type), "mpic_error:seal:%s", seal_status_name(st));
    snprintf(msg, sizeof(msg), "the result of perspective %s was rejected by the sealed "
             "channel (%s)", claimed->perspective, seal_status_name(st));
    memset(&res, 0, sizeof(res));
    res.rid = (char *)claimed->rid;
    res.attempt = claimed->attempt;
    res.perspective = (char *)claimed->perspective;
    res.check_type = claimed->check_type;
    res.check_response = response_missing_check(claimed->check_type, NULL, type, msg);
    if (msg_result_encode(&res, &it->blob, &it->len) != 0) {
        json_decref(res.check_response);
        reducer_ack(e);
        return -1;
    }
    json_decref(res.check_response);
    reducer_item_set(it, e, claimed->rid, claimed->attempt, claimed->perspective, "E");
    return 0;
}

/*
 * When the result was written: the millisecond part of its stream entry id (Redis assigns it
 * at XADD). A result is late when it was written after its sealed expiry, not when a reducer
 * gets to it: results of a dead reducer are reclaimed after the deadline on purpose.
 */
static int64_t reducer_entry_time_ms(const char *id)
{
    char ms[24];
    const char *dash = strchr(id, '-');
    int64_t v;
    if (dash == NULL || (size_t)(dash - id) >= sizeof(ms)) return clock_now_ms();
    memcpy(ms, id, (size_t)(dash - id));
    ms[dash - id] = '\0';
    if (util_parse_int64(ms, 0, INT64_MAX, &v) != 0) return clock_now_ms();
    return v;
}

/* Opens one stream entry into it; returns -1 when it was acknowledged and dropped instead. */
static int reducer_open(struct reducer *r, const char *id, const char *blob, size_t len,
                        struct reducer_item *it)
{
    struct coord *co = r->co;
    struct reducer_entry *e = util_xcalloc(1, sizeof(*e));
    struct msg_result res;
    struct seal_ad claimed;
    enum seal_status st;
    char err[128];
    const char *outcome;
    json_t *cr;

    e->r = r;
    util_strlcpy(e->id, id, sizeof(e->id));
    r->inflight++;
    if (blob == NULL) {
        log_error("result %s has no result field; acknowledged and dropped", id);
        reducer_ack(e);
        return -1;
    }
    st = sealmsg_result_open(&co->cfg->sec.keyring, blob, len, reducer_entry_time_ms(id), &res,
                             &it->blob, &it->len, &claimed, err, sizeof(err));
    if (st != SEAL_OK) return reducer_reject(e, st, &claimed, err, it);
    cr = res.check_response;
    if (!json_is_true(json_object_get(cr, "check_completed")))
        outcome = "E";
    else if (json_is_true(json_object_get(cr, "check_passed")))
        outcome = "P";
    else
        outcome = "F";
    reducer_item_set(it, e, res.rid, res.attempt, res.perspective, outcome);
    it->replay_check = sealmsg_enabled(&co->cfg->sec.keyring);
    msg_result_free(&res);
    return 0;
}

/* Opens a batch of entries and records them with one lua/record per request attempt. */
static void reducer_entries(struct reducer *r, const redisReply *entries)
{
    struct reducer_item *items;
    int n = 0;

    if (entries == NULL || entries->type != REDIS_REPLY_ARRAY || entries->elements == 0) return;
    items = util_xcalloc(entries->elements, sizeof(*items));
    for (size_t i = 0; i < entries->elements; i++) {
        const char *id, *blob;
        size_t len;
        if (stream_reply_entry(entries->element[i], "r", &id, &blob, &len) == 0 &&
            reducer_open(r, id, blob, len, &items[n]) == 0)
            n++;
    }
    for (int i = 0; i < n; i++)
        if (!items[i].grouped) reducer_record_group(r, items, n, i);
    for (int i = 0; i < n; i++) free(items[i].blob);
    free(items);
}

/* called by redis_client with the XGROUP CREATE reply sent after a NOGROUP error */
static void reducer_group_cb(void *arg, redisReply *reply, const char *errstr)
{
    struct reducer *r = arg;
    r->creating_group = false;
    if (reply == NULL ||
        (reply->type == REDIS_REPLY_ERROR && strncmp(reply->str, "BUSYGROUP", 9) != 0))
        log_warn("recreating group %s on %s failed: %s", KEYS_GROUP_REDUCERS, r->co->results_key,
                 reply ? reply->str : errstr);
    else
        log_info("recreated group %s on %s", KEYS_GROUP_REDUCERS, r->co->results_key);
}

/*
 * The results stream or its group vanished while the connections stayed up (eviction, FLUSHDB,
 * DEL): recreate the group, or no result would ever be read again. Workers do the same for
 * their job streams.
 */
static void reducer_recreate_group(struct reducer *r)
{
    struct coord *co = r->co;
    if (r->creating_group) return;
    r->creating_group = true;
    redis_client_command(co->cmd, reducer_group_cb, r, 0, "XGROUP CREATE %s %s 0 MKSTREAM",
                         co->results_key, KEYS_GROUP_REDUCERS);
}

/* called by redis_client with the XREADGROUP reply (NIL when BLOCK expired) */
static void reducer_read_cb(void *arg, redisReply *reply, const char *errstr)
{
    struct reducer *r = arg;
    struct timeval tv = {0, 100000};

    r->reading = false;
    if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
        if (r->co->draining && reply == NULL) return; /* shutting down */
        log_warn("XREADGROUP on %s failed: %s", r->co->results_key, reply ? reply->str : errstr);
        if (reply != NULL && strncmp(reply->str, "NOGROUP", 7) == 0) reducer_recreate_group(r);
        evtimer_add(&r->retry_timer, &tv);
        return;
    }
    if (reply->type == REDIS_REPLY_ARRAY)
        for (size_t s = 0; s < reply->elements; s++)
            if (reply->element[s]->type == REDIS_REPLY_ARRAY && reply->element[s]->elements == 2)
                reducer_entries(r, reply->element[s]->element[1]);
    reducer_read(r);
}

static void reducer_read(struct reducer *r)
{
    struct coord *co = r->co;
    char count[16], block[16];
    int room = REDUCER_MAX_INFLIGHT - r->inflight;

    if (r->reading || !co->groups_ready || !redis_client_is_ready(co->rblock) || room <= 0)
        return;
    snprintf(count, sizeof(count), "%d", room < REDUCER_READ_MAX ? room : REDUCER_READ_MAX);
    snprintf(block, sizeof(block), "%d", REDUCER_BLOCK_MS);
    r->reading = true;
    redis_client_command(co->rblock, reducer_read_cb, r,
                         REDUCER_BLOCK_MS + redis_client_command_timeout(co->rblock),
                         "XREADGROUP GROUP %s %s COUNT %s BLOCK %s STREAMS %s >",
                         KEYS_GROUP_REDUCERS, co->id, count, block, co->results_key);
}

/* called by libevent after a failed read */
static void reducer_retry_cb(evutil_socket_t fd, short what, void *arg)
{
    reducer_read(arg);
}

/* called by redis_client with the XAUTOCLAIM reply {next, entries, deleted} */
static void reducer_reclaim_cb(void *arg, redisReply *reply, const char *errstr)
{
    struct reducer *r = arg;
    r->reclaiming = false;
    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY || reply->elements < 2) return;
    if (reply->element[0]->type == REDIS_REPLY_STRING)
        util_strlcpy(r->reclaim_cursor, reply->element[0]->str, sizeof(r->reclaim_cursor));
    if (reply->element[1]->type == REDIS_REPLY_ARRAY && reply->element[1]->elements > 0) {
        log_info("reclaimed %zu result(s) left by another coordinator",
                 reply->element[1]->elements);
        cmetrics_results_reclaimed(reply->element[1]->elements);
    }
    reducer_entries(r, reply->element[1]);
}

/* called by libevent periodically: take over results a dead coordinator left pending */
static void reducer_reclaim_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct reducer *r = arg;
    struct coord *co = r->co;
    char idle[16];
    if (r->reclaiming || !co->groups_ready || !redis_client_is_ready(co->cmd) ||
        r->inflight >= REDUCER_MAX_INFLIGHT)
        return;
    if (clock_mono_ms() >= r->next_gc_ms) {
        r->next_gc_ms = clock_mono_ms() + GROUP_GC_INTERVAL_MS;
        group_gc_run(co->cmd, co->results_key, KEYS_GROUP_REDUCERS, co->id, GROUP_GC_MIN_IDLE_MS);
    }
    snprintf(idle, sizeof(idle), "%d", co->cfg->result_visibility_timeout_ms);
    r->reclaiming = true;
    redis_client_command(co->cmd, reducer_reclaim_cb, r, 0, "XAUTOCLAIM %s %s %s %s %s COUNT 64",
                         co->results_key, KEYS_GROUP_REDUCERS, co->id, idle, r->reclaim_cursor);
}

struct reducer *reducer_new(struct coord *co)
{
    struct reducer *r = util_xcalloc(1, sizeof(*r));
    int half = co->cfg->result_visibility_timeout_ms / 2;
    struct timeval tv = {half / 1000, (half % 1000) * 1000};
    r->co = co;
    util_strlcpy(r->reclaim_cursor, "0-0", sizeof(r->reclaim_cursor));
    evtimer_assign(&r->retry_timer, co->base, reducer_retry_cb, r);
    r->acks = ackbatch_new(co->base, co->cmd, co->results_key, KEYS_GROUP_REDUCERS,
                           reducer_acked_cb, r);
    event_assign(&r->reclaim_timer, co->base, -1, EV_PERSIST, reducer_reclaim_timer_cb, r);
    event_add(&r->reclaim_timer, &tv);
    return r;
}

void reducer_kick(struct reducer *r)
{
    reducer_read(r);
}

void reducer_free(struct reducer *r)
{
    if (r == NULL) return;
    event_del(&r->retry_timer);
    event_del(&r->reclaim_timer);
    /* entries not yet acknowledged stay pending in Redis: another reducer reclaims them */
    ackbatch_free(r->acks);
    free(r);
}
