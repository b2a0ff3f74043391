/*
 * Verdict decision and publication (see due.h). An operation is a small chain of Redis
 * calls owned by a struct due_op: [tally] -> [finalize] -> [publish] -> [notify holder];
 * its callback runs exactly once at the end of the chain or at the first Redis failure.
 */
#include "due.h"

#include <event2/event_struct.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "audit.h"
#include "pending.h"
#include "published.h"
#include "reqview.h"
#include "retry.h"
#include "tallycache.h"
#include "clock.h"
#include "log.h"
#include "scripts.h"
#include "util.h"

#define DUE_SWEEP_MS 250
#define DUE_SWEEP_LAG_MS 1000 /* leave an entry to its owner for this long ... */
#define DUE_MAX_TRIES 8       /* finalize retries when results keep arriving */
#define DUE_POST_TAKEOVER_RTTS 3 /* follow-up work unfinished after 3 command timeouts */
#define DUE_EARLY_MS 20 /* a deadline timer firing this early still judges finally */
#define DUE_PUT_RETRY_MS 250 /* resend a due entry's ZADD while Redis is unreachable */
#define DUE_LEASE_MS 10000   /* a claimed entry comes back to the sweepers after this */

/* What lua/finalize answered, when publication was pipelined behind it. */
enum due_fin {
    DUE_FIN_NONE = 0,    /* not pipelined, or no answer yet */
    DUE_FIN_FAILED = 1,  /* Redis failed */
    DUE_FIN_CHANGED = 2, /* more outcomes were recorded since the tally: judge again */
    DUE_FIN_OURS = 3,    /* we decided */
    DUE_FIN_THEIRS = 4,  /* already decided (or answered, or gone) */
};

/* What lua/publish answered. */
enum due_pub {
    DUE_PUB_NONE = 0,     /* no answer yet */
    DUE_PUB_FAILED = 1,   /* Redis failed */
    DUE_PUB_LOST = 2,     /* published by someone else, or not decided */
    DUE_PUB_DEFERRED = 3, /* published; its unfinished follow-up work is not overdue yet */
    DUE_PUB_WON = 4,      /* we published: the follow-up work and notification are ours */
};

struct due_op {
    struct coord *co;
    char rid[48];
    bool due_reached;
    bool final;       /* judged at or after the deadline */
    bool anomalous;   /* the perspectives disagreed */
    enum quorum_verdict verdict;
    struct tally tally; /* the tally judged */
    int tries;
    bool pipelined; /* lua/publish and the read were sent right behind lua/finalize */
    bool ahead;     /* judged a predicted tally (due_judge_ahead): the scripts check it */
    uint32_t attempt; /* ahead: the attempt judged */
    bool republished; /* a pipelined publication was redone on its own */
    enum due_fin fin;
    enum due_pub pub;
    int replies; /* publication replies still expected: [finalize,] publish, read */
    char holder[64]; /* DUE_PUB_WON: the coordinator that holds the HTTP request */
    due_done_cb cb;
    void *arg;
    char req_key[KEYS_MAX];
    char st_key[KEYS_MAX];
};

struct due_timer {
    struct pending_entry entry; /* keyed by request id in due_timer_index; first member */
    struct coord *co;
    char rid[48];
    struct event ev;
    struct due_timer *prev, *next; /* armed grace timers, freed at shutdown */
};

/* An overdue entry being claimed, then worked on under its lease (lua/lease). */
struct due_claim {
    struct coord *co;
    char rid[48];
    char lease_end[24]; /* the entry's time while we hold it (epoch ms) */
};

/* A due_reschedule whose ZADD is not answered yet (or waits to be resent). */
struct due_put {
    struct coord *co;
    char rid[48];
    char score[24];
    const char *why;    /* for the log */
    bool only_existing; /* ZADD XX: move the entry, never bring back one that was removed */
    struct event retry; /* resend timer */
    int failures;       /* ZADDs that failed (logged once) */
    bool sending;       /* a ZADD is outstanding: its reply callback owns the memory */
    bool orphaned;      /* due_shutdown ran: the reply callback only frees it */
    struct due_put *prev, *next; /* in due_puts until due_shutdown */
};

static struct event *due_sweep_event;
static struct due_timer *due_timers; /* armed straggler-grace timers */
static struct due_put *due_puts; /* due entries waiting for Redis, freed at shutdown */
static bool due_stopped;         /* due_shutdown ran: no new due entries */
static struct pending_table *due_timer_index; /* the same timers by request id */

static void due_put_start(struct coord *co, const char *rid, int64_t at_ms, const char *why,
                          bool only_existing);

static void due_timer_unlink(struct due_timer *t)
{
    pending_table_remove(due_timer_index, &t->entry);
    if (t->prev) t->prev->next = t->next;
    else due_timers = t->next;
    if (t->next) t->next->prev = t->prev;
}

static struct due_op *due_op_new(struct coord *co, const char *rid, bool due_reached,
                                 due_done_cb cb, void *arg)
{
    struct due_op *op = util_xcalloc(1, sizeof(*op));
    op->co = co;
    util_strlcpy(op->rid, rid, sizeof(op->rid));
    op->due_reached = due_reached;
    op->cb = cb;
    op->arg = arg;
    keys_req(op->req_key, sizeof(op->req_key), co->cfg->key_prefix, rid);
    keys_st(op->st_key, sizeof(op->st_key), co->cfg->key_prefix, rid);
    return op;
}

static void due_op_done(struct due_op *op, bool ok)
{
    if (op->cb) op->cb(op->arg, ok);
    free(op);
}

static void due_publish(struct due_op *op, bool read_behind);
static void due_fetch_tally(struct due_op *op);
static void due_publish_step(struct due_op *op, const struct reqview *v, const char *err,
                             bool have_view);
static void due_cancel_timers(const char *rid);

/* called by redis_client with the notification XADD reply */
static void due_notify_cb(void *arg, redisReply *reply, const char *errstr)
{
    struct due_op *op = arg;
    if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
        log_warn("request %s: notifying its coordinator failed: %s", op->rid,
                 reply ? reply->str : errstr);
        due_op_done(op, false);
        return;
    }
    due_op_done(op, true);
}

/* called by redis_client with the lua/publish reply: the holder's id when we won */
static void due_publish_cb(void *arg, redisReply *reply, const char *errstr)
{
    struct due_op *op = arg;
    struct coord *co = op->co;

    if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
        if (op->fin != DUE_FIN_CHANGED && op->fin != DUE_FIN_FAILED)
            log_warn("request %s: publish failed: %s", op->rid, reply ? reply->str : errstr);
        op->pub = DUE_PUB_FAILED;
    } else if (reply->type == REDIS_REPLY_INTEGER) {
        /* published, its follow-up work unfinished and not yet overdue: move the due entry
         * to then, so that a sweeper takes it over (a lease's release leaves it there). Only
         * if it is still there: the publisher removes it once the work is done, maybe just
         * before this ZADD arrives, and a revived entry would be taken over for nothing */
        due_put_start(co, op->rid, reply->integer, "unfinished follow-up work", true);
        op->pub = DUE_PUB_DEFERRED;
    } else if (reply->type != REDIS_REPLY_STRING || reply->len >= sizeof(op->holder)) {
        op->pub = DUE_PUB_LOST; /* already published by someone else */
    } else {
        util_strlcpy(op->holder, reply->str, sizeof(op->holder));
        op->pub = DUE_PUB_WON;
    }
    due_publish_step(op, NULL, NULL, false);
}

/* called by reqview_load with the request as it stood right after lua/publish */
static void due_view_cb(void *arg, const struct reqview *v, const char *err)
{
    due_publish_step(arg, v, err, true);
}

/*
 * Counts the publication's replies; the last one finishes it. The read of the request is
 * pipelined behind lua/publish so that the winner needs no further round trip: normally it
 * is the last reply and the view (borrowed, have_view) serves the follow-up work. When a
 * script was reloaded after NOSCRIPT its reply comes after the read; the winner then loads
 * the request again.
 */
static void due_publish_step(struct due_op *op, const struct reqview *v, const char *err,
                             bool have_view)
{
    struct coord *co = op->co;
    char key[KEYS_MAX], maxlen[24];

    if (--op->replies > 0) return;
    if (op->fin == DUE_FIN_FAILED) {
        due_op_done(op, false);
        return;
    }
    if (op->fin == DUE_FIN_CHANGED) { /* the publication was a no-op: judge the new tally */
        if (op->tries++ < DUE_MAX_TRIES) {
            due_fetch_tally(op);
            return;
        }
        due_op_done(op, true); /* still changing: the due entry brings it back */
        return;
    }
    switch (op->pub) {
    case DUE_PUB_WON:
        break;
    case DUE_PUB_LOST:
        if (op->fin == DUE_FIN_OURS && !op->republished) {
            /* we decided, yet the publication behind it found nothing to publish: it ran
             * first (a script reloaded after NOSCRIPT); publish again, on its own */
            op->republished = true;
            op->pipelined = false;
            op->fin = DUE_FIN_NONE;
            due_publish(op, true);
            return;
        }
        due_op_done(op, true);
        return;
    case DUE_PUB_DEFERRED:
        due_op_done(op, true);
        return;
    case DUE_PUB_NONE: /* cannot happen: replies come in order */
    case DUE_PUB_FAILED:
    default:
        due_op_done(op, false);
        return;
    }
    /* we published: audit, cooldown, metrics, alerts; the due entry goes with the audit */
    due_cancel_timers(op->rid);
    if (strcmp(op->holder, co->id) == 0) { /* we hold it too: the same read answers it */
        if (have_view) published_handle_view(co, op->rid, v, err, true);
        else published_handle(co, op->rid, true);
        due_op_done(op, true);
        return;
    }
    if (have_view) published_handle_view(co, op->rid, v, err, false);
    else published_handle(co, op->rid, false);
    keys_replies(key, sizeof(key), co->cfg->key_prefix, op->holder);
    snprintf(maxlen, sizeof(maxlen), "%d", co->cfg->replies_maxlen);
    redis_client_command(co->cmd, due_notify_cb, op, 0, "XADD %s MAXLEN ~ %s * r %s", key,
                         maxlen, op->rid);
    redis_client_command(co->cmd, redis_client_ignore_reply, NULL, 0, "EXPIRE %s 3600", key);
}

/*
 * lua/publish; with read_behind, the read of the request pipelined right behind it (when this
 * caller is expected to win; a takeover of unfinished follow-up work reads after winning).
 */
static void due_publish(struct due_op *op, bool read_behind)
{
    char now[24], takeover[24], att[16], count[16];
    const char *args[6];
    size_t lens[6];
    int nargs = 3, nkeys = 1;

    snprintf(now, sizeof(now), "%lld", (long long)clock_now_ms());
    /* the winner's follow-up work takes two round trips (read, audit XADD) */
    snprintf(takeover, sizeof(takeover), "%d",
             DUE_POST_TAKEOVER_RTTS * redis_client_command_timeout(op->co->cmd));
    args[0] = op->req_key;
    args[1] = now;
    args[2] = takeover;
    if (op->ahead) { /* publish only if the record in front of us completed the tally */
        snprintf(att, sizeof(att), "%u", op->attempt);
        snprintf(count, sizeof(count), "%d", op->tally.count);
        args[1] = op->st_key;
        args[2] = now;
        args[3] = takeover;
        args[4] = att;
        args[5] = count;
        nargs = 6;
        nkeys = 2;
    }
    for (int i = 0; i < nargs; i++) lens[i] = strlen(args[i]);
    /* a straggler reduced after this is not judged ahead: it would find the request closed */
    tallycache_close(op->co->tallies, op->rid, TALLYCACHE_ANSWERED);
    op->pub = DUE_PUB_NONE;
    op->replies = (op->pipelined ? 1 : 0) + 1 + (read_behind ? 1 : 0);
    scripts_eval(op->co->cmd, SCRIPT_PUBLISH, nkeys, nargs, args, lens, due_publish_cb, op);
    if (read_behind) reqview_load(op->co, op->rid, due_view_cb, op);
}

/* called by libevent when a straggler grace period ends */
static void due_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct due_timer *t = arg;
    due_timer_unlink(t);
    due_process(t->co, t->rid, true, NULL, NULL);
    free(t);
}

/*
 * Drops this process's timers for rid once we published it: the decider's grace timer would
 * otherwise only find the request published (a tally and a publish script for nothing).
 */
static void due_cancel_timers(const char *rid)
{
    struct pending_entry *e;

    while (due_timer_index != NULL && (e = pending_table_find(due_timer_index, rid)) != NULL) {
        struct due_timer *t = (struct due_timer *)e; /* entry is the first member */
        evtimer_del(&t->ev);
        due_timer_unlink(t);
        free(t);
    }
}

static void due_schedule_publish(struct coord *co, const char *rid, int64_t at_ms)
{
    struct due_timer *t = util_xcalloc(1, sizeof(*t));
    int64_t delay = at_ms - clock_now_ms();
    struct timeval tv;
    char score[24];

    if (delay < 0) delay = 0;
    t->co = co;
    util_strlcpy(t->rid, rid, sizeof(t->rid));
    util_strlcpy(t->entry.rid, rid, sizeof(t->entry.rid));
    if (due_timer_index == NULL) due_timer_index = pending_table_new();
    pending_table_insert(due_timer_index, &t->entry);
    t->next = due_timers;
    if (due_timers) due_timers->prev = t;
    due_timers = t;
    evtimer_assign(&t->ev, co->base, due_timer_cb, t);
    tv = util_ms_timeval(delay);
    evtimer_add(&t->ev, &tv);
    /* so that another coordinator publishes it if this process dies; only an entry that is
     * still there (XX): one that another coordinator removed belongs to a finished request */
    snprintf(score, sizeof(score), "%lld", (long long)at_ms);
    redis_client_command(co->cmd, redis_client_ignore_reply, NULL, 0, "ZADD %s XX LT %s %s",
                         co->due_key, score, rid);
}

/* called by redis_client with the lua/finalize reply: 1 decided by us, 0 not open, -1 retry */
static void due_finalize_cb(void *arg, redisReply *reply, const char *errstr)
{
    struct due_op *op = arg;
    if (op->pipelined) { /* the publication and read behind it finish the operation */
        if (reply == NULL || reply->type != REDIS_REPLY_INTEGER) {
            log_warn("request %s: finalize failed: %s", op->rid,
                     reply && reply->type == REDIS_REPLY_ERROR ? reply->str : errstr);
            op->fin = DUE_FIN_FAILED;
        } else {
            op->fin = reply->integer == -1  ? DUE_FIN_CHANGED
                      : reply->integer == 1 ? DUE_FIN_OURS
                                            : DUE_FIN_THEIRS;
        }
        due_publish_step(op, NULL, NULL, false);
        return;
    }
    if (reply == NULL || reply->type != REDIS_REPLY_INTEGER) {
        log_warn("request %s: finalize failed: %s", op->rid,
                 reply && reply->type == REDIS_REPLY_ERROR ? reply->str : errstr);
        due_op_done(op, false);
        return;
    }
    if (reply->integer == -1) {
        if (op->tries++ < DUE_MAX_TRIES) {
            due_fetch_tally(op); /* more results arrived: judge the new tally */
            return;
        }
        due_op_done(op, true); /* still changing: the due entry brings it back */
        return;
    }
    /* decided, by us (1) or by another coordinator (0), with perspectives still to come
     * (with nothing left to wait for, the publication was pipelined behind the finalize):
     * the decider's grace timer or the last straggler's record publishes */
    due_op_done(op, true);
}

static void due_finalize(struct due_op *op);
static void due_try_retry(struct due_op *op);

/* called by retry_advance when the next attempt was started (or was not ours to start) */
static void due_advanced_cb(void *arg, bool ok)
{
    due_op_done(arg, ok);
}

static void due_run(struct due_op *op, const struct tally *t)
{
    struct coord *co = op->co;
    int64_t now = clock_now_ms();
    bool final = now >= t->deadline_ms;

    /* A timer or a sweeper claim says a due time passed: for a decided request that is the
     * end of its straggler grace. An open attempt is judged final only at its own deadline
     * (a timer may fire a few ms early): a timer armed for the retry time of the previous
     * attempt, firing just after another coordinator started this one, must not judge the
     * new attempt with every perspective missing. */
    if (op->due_reached && (t->state != TALLY_OPEN || now >= t->deadline_ms - DUE_EARLY_MS))
        final = true;

    if (t->state == TALLY_REPLIED) {
        /* a due entry left after publication: the winner's follow-up work (audit record,
         * notification) may not have happened; lua/publish hands it over when it is overdue */
        if (op->due_reached) due_publish(op, false);
        else due_op_done(op, true);
        return;
    }
    if (t->state == TALLY_DECIDED) {
        if (final || tally_all_reported(t)) {
            due_publish(op, true);
            return;
        }
        due_op_done(op, true); /* the decider's grace timer publishes it */
        return;
    }
    if (t->state == TALLY_RETRYING) {
        retry_advance(co, op->rid, due_advanced_cb, op);
        return;
    }
    enum quorum_verdict v = tally_judge(t, final);
    if (v == QUORUM_UNDECIDED) {
        due_op_done(op, true);
        return;
    }
    op->verdict = v;
    op->final = final;
    op->anomalous = tally_anomalous(t);
    op->tally = *t;
    if (v == QUORUM_INVALID || op->anomalous) {
        due_try_retry(op);
        return;
    }
    due_finalize(op);
}

/* Appends t's reported outcomes to args as lua/finalize's field, outcome pairs (the primary's
 * field is "@" + its code, as lua/record stores it, written into primary_field). */
static int due_tally_pairs(const struct tally *t, char primary_field[2 + PERSPECTIVE_CODE_MAX],
                           const char **args, int nargs)
{
    for (int i = 0; i < t->n; i++) {
        if (t->members[i].outcome == QUORUM_OUTCOME_PENDING) continue;
        args[nargs++] = t->codes[i];
        args[nargs++] = tally_letter(t->members[i].outcome);
    }
    if (t->has_primary && t->primary_outcome != QUORUM_OUTCOME_PENDING) {
        snprintf(primary_field, 2 + PERSPECTIVE_CODE_MAX, "@%s", t->primary);
        args[nargs++] = primary_field;
        args[nargs++] = tally_letter(t->primary_outcome);
    }
    return nargs;
}

/* Stores the verdict judged from op->tally (lua/finalize), arming the stragglers' grace. */
static void due_finalize(struct due_op *op)
{
    struct coord *co = op->co;
    const struct tally *t = &op->tally;
    int64_t now = clock_now_ms();
    char reason[256], now_s[24], count_s[16], att_s[16];
    char primary_field[2 + PERSPECTIVE_CODE_MAX];
    const char *args[7 + 2 * (COHORT_MAX + 1)];
    size_t lens[7 + 2 * (COHORT_MAX + 1)];
    int nargs = 6;

    tally_reason(t, op->final, reason, sizeof(reason));
    snprintf(now_s, sizeof(now_s), "%lld", (long long)now);
    snprintf(count_s, sizeof(count_s), "%d", t->count);
    args[0] = op->req_key;
    args[1] = op->st_key;
    args[2] = op->verdict == QUORUM_VALID ? "valid" : "invalid";
    args[3] = reason;
    args[4] = now_s;
    args[5] = count_s;
    if (op->ahead) { /* the tally was predicted: finalize checks it is the stored one */
        snprintf(att_s, sizeof(att_s), "%u", op->attempt);
        args[nargs++] = att_s;
        nargs = due_tally_pairs(t, primary_field, args, nargs);
    }
    for (int i = 0; i < nargs; i++) lens[i] = strlen(args[i]);
    log_debug("request %s: %s (%s)", op->rid, args[2], reason);
    /* nothing left to wait for (every perspective reported, or the deadline passed): publish
     * in the same round trip (a no-op unless decided); else after the stragglers' grace */
    op->pipelined = op->final || tally_all_reported(t);
    if (!op->pipelined) {
        int64_t at = now + co->cfg->straggler_grace_ms;
        due_schedule_publish(co, op->rid, at < t->deadline_ms ? at : t->deadline_ms);
    }
    op->fin = DUE_FIN_NONE;
    scripts_eval(co->cmd, SCRIPT_FINALIZE, 2, nargs, args, lens, due_finalize_cb, op);
    if (op->pipelined) due_publish(op, true);
}

/* called by redis_client with the lua/retry reply */
static void due_retry_cb(void *arg, redisReply *reply, const char *errstr)
{
    struct due_op *op = arg;
    struct coord *co = op->co;
    const char *status;

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY || reply->elements < 1 ||
        reply->element[0]->type != REDIS_REPLY_STRING) {
        log_warn("request %s: retry script failed: %s", op->rid,
                 reply && reply->type == REDIS_REPLY_ERROR ? reply->str : errstr);
        due_op_done(op, false);
        return;
    }
    status = reply->element[0]->str;
    if (strcmp(status, "final") == 0) {
        due_finalize(op);
    } else if (strcmp(status, "changed") == 0) {
        if (op->tries++ < DUE_MAX_TRIES) {
            due_fetch_tally(op);
            return;
        }
        due_op_done(op, true);
    } else if (strcmp(status, "retry") == 0 && reply->elements == 3 &&
               reply->element[1]->type == REDIS_REPLY_INTEGER &&
               reply->element[2]->type == REDIS_REPLY_INTEGER) {
        int64_t at = reply->element[2]->integer;
        log_info("request %s: attempt %lld %s; retrying with a new cohort at %lld", op->rid,
                 (long long)reply->element[1]->integer,
                 op->verdict == QUORUM_INVALID ? "failed" : "was anomalous", (long long)at);
        due_reschedule(co, op->rid, at, "next attempt");
        due_schedule_publish(co, op->rid, at);
        audit_record_attempt(co, op->rid, (int)reply->element[1]->integer);
        due_op_done(op, true);
    } else {
        due_op_done(op, true); /* closed: decided or retried by someone else */
    }
}

/* Ends the attempt without a verdict when attempts remain (lua/retry), else finalizes. */
static void due_try_retry(struct due_op *op)
{
    struct coord *co = op->co;
    char count_s[16], now_s[24], base_s[16], max_s[16], jitter_s[24];
    char res_key[KEYS_MAX], prev_key[KEYS_MAX];
    const char *args[10];
    size_t lens[10];
    uint32_t rnd;

    util_random_bytes((unsigned char *)&rnd, sizeof(rnd));
    snprintf(count_s, sizeof(count_s), "%d", op->tally.count);
    snprintf(now_s, sizeof(now_s), "%lld", (long long)clock_now_ms());
    snprintf(base_s, sizeof(base_s), "%d", co->cfg->retry_cooldown_ms);
    snprintf(max_s, sizeof(max_s), "%d", co->cfg->retry_cooldown_max_ms);
    snprintf(jitter_s, sizeof(jitter_s), "%.6f", (double)rnd / 4294967296.0);
    keys_res(res_key, sizeof(res_key), co->cfg->key_prefix, op->rid);
    keys_prev(prev_key, sizeof(prev_key), co->cfg->key_prefix, op->rid);
    args[0] = op->req_key;
    args[1] = res_key;
    args[2] = op->st_key;
    args[3] = prev_key;
    args[4] = count_s;
    args[5] = now_s;
    args[6] = base_s;
    args[7] = max_s;
    args[8] = jitter_s;
    args[9] = op->anomalous ? "1" : "0";
    for (int i = 0; i < 10; i++) lens[i] = strlen(args[i]);
    scripts_eval(co->cmd, SCRIPT_RETRY, 4, 10, args, lens, due_retry_cb, op);
}

/* called by redis_client with the lua/tally reply */
static void due_tally_cb(void *arg, redisReply *reply, const char *errstr)
{
    struct due_op *op = arg;
    struct tally t;

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY || reply->elements < 1) {
        log_warn("request %s: reading the tally failed: %s", op->rid,
                 reply && reply->type == REDIS_REPLY_ERROR ? reply->str : errstr);
        due_op_done(op, false);
        return;
    }
    if (reply->element[0]->type == REDIS_REPLY_STRING &&
        strcmp(reply->element[0]->str, "gone") == 0) {
        due_op_done(op, true);
        return;
    }
    if (tally_parse(reply, &t) != 0) {
        log_error("request %s: malformed tally in Redis", op->rid);
        due_op_done(op, true);
        return;
    }
    due_run(op, &t);
}

static void due_fetch_tally(struct due_op *op)
{
    op->ahead = false; /* what is read next is the stored tally: no guard needed */
    const char *args[2] = {op->req_key, op->st_key};
    size_t lens[2] = {strlen(op->req_key), strlen(op->st_key)};
    scripts_eval(op->co->cmd, SCRIPT_TALLY, 2, 2, args, lens, due_tally_cb, op);
}

void due_evaluate(struct coord *co, const char *rid, const struct tally *t, bool due_reached,
                  due_done_cb cb, void *arg)
{
    due_run(due_op_new(co, rid, due_reached, cb, arg), t);
}

bool due_judge_ahead(struct coord *co, const char *rid, uint32_t attempt, const struct tally *t,
                     due_done_cb cb, void *arg)
{
    struct due_op *op;

    if (!tally_all_reported(t) || clock_now_ms() >= t->deadline_ms - DUE_EARLY_MS) return false;
    if (t->state == TALLY_OPEN &&
        (tally_judge(t, false) != QUORUM_VALID || tally_anomalous(t)))
        return false; /* a failed or anomalous attempt may be retried: the normal path */
    if (t->state != TALLY_OPEN && t->state != TALLY_DECIDED) return false;
    op = due_op_new(co, rid, false, cb, arg);
    op->ahead = true;
    op->attempt = attempt;
    op->tally = *t;
    if (t->state == TALLY_DECIDED) { /* decided earlier: only the publication is left */
        due_publish(op, true);
        return true;
    }
    op->verdict = QUORUM_VALID;
    op->final = false;
    op->anomalous = false;
    due_finalize(op);
    return true;
}

void due_process(struct coord *co, const char *rid, bool due_reached, due_done_cb cb, void *arg)
{
    due_fetch_tally(due_op_new(co, rid, due_reached, cb, arg));
}

void due_arm(struct coord *co, const char *rid, int64_t at_ms)
{
    due_schedule_publish(co, rid, at_ms);
}

static void due_put_send(struct due_put *u);

static void due_put_unlink(struct due_put *u)
{
    evtimer_del(&u->retry);
    if (u->prev) u->prev->next = u->next;
    else due_puts = u->next;
    if (u->next) u->next->prev = u->prev;
}

/* Sends u's ZADD again in DUE_PUT_RETRY_MS (Redis unreachable, or the last one failed). */
static void due_put_later(struct due_put *u)
{
    struct timeval tv = util_ms_timeval(DUE_PUT_RETRY_MS);
    evtimer_add(&u->retry, &tv);
}

/* called by libevent when a due entry's ZADD is to be resent */
static void due_put_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    due_put_send(arg);
}

/* called by redis_client with the reply of a due entry's ZADD */
static void due_put_cb(void *arg, redisReply *reply, const char *errstr)
{
    struct due_put *u = arg;
    u->sending = false;
    if (u->orphaned) { /* the coordinator is stopping (due_shutdown logged it) */
        free(u);
        return;
    }
    if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
        if (u->failures++ == 0)
            log_warn("request %s: storing its due entry (%s) failed (%s); retrying every %d ms",
                     u->rid, u->why, reply ? reply->str : errstr, DUE_PUT_RETRY_MS);
        due_put_later(u);
        return;
    }
    if (u->failures > 0) log_info("request %s: due entry (%s) stored", u->rid, u->why);
    due_put_unlink(u);
    free(u);
}

static void due_put_send(struct due_put *u)
{
    if (!redis_client_is_ready(u->co->cmd)) {
        due_put_later(u);
        return;
    }
    u->sending = true;
    /* (hiredis splits arguments at the format's own spaces only) */
    redis_client_command(u->co->cmd, due_put_cb, u, 0,
                         u->only_existing ? "ZADD %s XX %s %s" : "ZADD %s %s %s",
                         u->co->due_key, u->score, u->rid);
}

static void due_put_start(struct coord *co, const char *rid, int64_t at_ms, const char *why,
                          bool only_existing)
{
    struct due_put *u;
    if (due_stopped) {
        log_warn("request %s: stopping; its due entry (%s) is not stored", rid, why);
        return;
    }
    u = util_xcalloc(1, sizeof(*u));
    u->co = co;
    util_strlcpy(u->rid, rid, sizeof(u->rid));
    snprintf(u->score, sizeof(u->score), "%lld", (long long)at_ms);
    u->why = why;
    u->only_existing = only_existing;
    evtimer_assign(&u->retry, co->base, due_put_timer_cb, u);
    u->next = due_puts;
    if (due_puts) due_puts->prev = u;
    due_puts = u;
    due_put_send(u);
}

void due_reschedule(struct coord *co, const char *rid, int64_t at_ms, const char *why)
{
    due_put_start(co, rid, at_ms, why, false);
}

/* lua/lease with one mode; args: "claim" rid overdue-before lease-end | "release" rid end */
static void due_lease(struct coord *co, int nargs, const char *const *argv,
                      redis_client_reply_cb cb, void *arg)
{
    const char *args[5];
    size_t lens[5];
    args[0] = co->due_key;
    for (int i = 0; i < nargs; i++) args[1 + i] = argv[i];
    for (int i = 0; i <= nargs; i++) lens[i] = strlen(args[i]);
    scripts_eval(co->cmd, SCRIPT_LEASE, 1, 1 + nargs, args, lens, cb, arg);
}

/* called by due_process when a claimed entry was handled */
static void due_claimed_done_cb(void *arg, bool ok)
{
    struct due_claim *t = arg;
    if (ok) { /* done: remove the entry unless the work moved it (next attempt, follow-up) */
        const char *argv[] = {"release", t->rid, t->lease_end};
        due_lease(t->co, 3, argv, redis_client_ignore_reply, NULL);
    } else { /* Redis failed mid-way: the lease runs out and a sweeper tries again */
        log_warn("request %s: takeover failed; a sweeper retries it when its lease ends (%s)",
                 t->rid, t->lease_end);
    }
    free(t);
}

/* called by redis_client with the lua/lease claim of one overdue entry */
static void due_claim_cb(void *arg, redisReply *reply, const char *errstr)
{
    struct due_claim *t = arg;
    if (reply != NULL && reply->type == REDIS_REPLY_INTEGER && reply->integer == 1) {
        log_info("request %s: taken over from its coordinator (overdue)", t->rid);
        due_process(t->co, t->rid, true, due_claimed_done_cb, t);
        return;
    }
    /* another sweeper holds it, it was rescheduled or is gone; or the claim failed (when it
     * took effect all the same, its lease runs out and a sweeper tries again) */
    if (reply == NULL || reply->type == REDIS_REPLY_ERROR)
        log_warn("request %s: claiming its due entry failed: %s", t->rid,
                 reply ? reply->str : errstr);
    free(t);
}

/*
 * Entries at or before this time are overdue: left to their owner for DUE_SWEEP_LAG_MS, plus
 * the result visibility timeout so that results a dead holder had read but not yet recorded
 * are reclaimed by the reducers before its requests are judged.
 */
static int64_t due_overdue_before(const struct coord *co)
{
    return clock_now_ms() - DUE_SWEEP_LAG_MS - co->cfg->result_visibility_timeout_ms;
}

/* called by redis_client with the overdue entries of the due set */
static void due_sweep_cb(void *arg, redisReply *reply, const char *errstr)
{
    struct coord *co = arg;
    char before[24];
    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY) return;
    snprintf(before, sizeof(before), "%lld", (long long)due_overdue_before(co));
    for (size_t i = 0; i < reply->elements; i++) {
        const redisReply *e = reply->element[i];
        struct due_claim *t;
        if (e->type != REDIS_REPLY_STRING || e->len >= sizeof(t->rid)) continue;
        t = util_xcalloc(1, sizeof(*t));
        t->co = co;
        util_strlcpy(t->rid, e->str, sizeof(t->rid));
        snprintf(t->lease_end, sizeof(t->lease_end), "%lld",
                 (long long)(clock_now_ms() + DUE_LEASE_MS));
        const char *argv[] = {"claim", t->rid, before, t->lease_end};
        due_lease(co, 4, argv, due_claim_cb, t);
    }
}

/* called by libevent every DUE_SWEEP_MS */
static void due_sweep_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct coord *co = arg;
    char max[24];
    if (!redis_client_is_ready(co->cmd)) return;
    snprintf(max, sizeof(max), "%lld", (long long)due_overdue_before(co));
    redis_client_command(co->cmd, due_sweep_cb, co, 0, "ZRANGEBYSCORE %s -inf %s LIMIT 0 32",
                         co->due_key, max);
}

void due_start_sweeper(struct coord *co)
{
    struct timeval tv = {0, DUE_SWEEP_MS * 1000};
    due_stopped = false;
    due_sweep_event = event_new(co->base, -1, EV_PERSIST, due_sweep_timer_cb, co);
    event_add(due_sweep_event, &tv);
}

void due_shutdown(struct coord *co)
{
    (void)co;
    if (due_sweep_event) event_free(due_sweep_event);
    due_sweep_event = NULL;
    /* the entries stay in the due set: another coordinator's sweeper publishes them */
    while (due_timers != NULL) {
        struct due_timer *t = due_timers;
        due_timers = t->next;
        evtimer_del(&t->ev);
        free(t);
    }
    pending_table_free(due_timer_index);
    due_timer_index = NULL;
    due_stopped = true;
    while (due_puts != NULL) {
        struct due_put *u = due_puts;
        log_warn("request %s: stopping with its due entry (%s) not confirmed stored", u->rid,
                 u->why);
        due_put_unlink(u);
        if (u->sending) u->orphaned = true; /* freed by its reply callback */
        else free(u);
    }
}
