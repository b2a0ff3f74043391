/*
 * Request view loading: HGETALL of the request record and of its results hash, pipelined on
 * the command connection. Results are decoded from their msgpack blobs; an undecodable blob is
 * logged and left out (the perspective then shows as not reported).
 */
#include "reqview.h"

#include <stdlib.h>
#include <string.h>

#include "keys.h"
#include "log.h"
#include "msg.h"
#include "record_echo.h"
#include "util.h"

struct reqview_op {
    struct reqview v;
    int outstanding; /* replies still expected */
    bool failed;
    char err[160];
    reqview_cb cb;
    void *arg;
};

static void reqview_note_failure(struct reqview_op *op, const redisReply *reply,
                                 const char *errstr)
{
    if (!op->failed) {
        util_strlcpy(op->err,
                     reply && reply->type == REDIS_REPLY_ERROR ? reply->str
                                                               : (errstr ? errstr : "no reply"),
                     sizeof(op->err));
    }
    op->failed = true;
}

static void reqview_step(struct reqview_op *op)
{
    if (--op->outstanding > 0) return;
    if (!op->failed) op->v.echo = record_echo_load(op->v.req);
    op->cb(op->arg, op->failed ? NULL : &op->v, op->err);
    json_decref(op->v.req);
    json_decref(op->v.res);
    json_decref(op->v.prev);
    json_decref(op->v.echo);
    free(op);
}

/* called by redis_client with HGETALL of the request record */
static void reqview_req_cb(void *arg, redisReply *reply, const char *errstr)
{
    struct reqview_op *op = arg;

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY) {
        reqview_note_failure(op, reply, errstr);
    } else {
        for (size_t i = 0; i + 1 < reply->elements; i += 2) {
            const redisReply *k = reply->element[i], *val = reply->element[i + 1];
            json_t *s;
            if (k->type != REDIS_REPLY_STRING || val->type != REDIS_REPLY_STRING) continue;
            s = json_stringn(val->str, val->len);
            if (s) json_object_set_new(op->v.req, k->str, s);
        }
    }
    reqview_step(op);
}

/* called by redis_client with HGETALL of the result blobs */
static void reqview_res_cb(void *arg, redisReply *reply, const char *errstr)
{
    struct reqview_op *op = arg;

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY) {
        reqview_note_failure(op, reply, errstr);
    } else {
        for (size_t i = 0; i + 1 < reply->elements; i += 2) {
            const redisReply *k = reply->element[i], *val = reply->element[i + 1];
            struct msg_result r;
            char err[128];
            if (k->type != REDIS_REPLY_STRING || val->type != REDIS_REPLY_STRING) continue;
            if (msg_result_decode(val->str, val->len, &r, err, sizeof(err)) != 0) {
                log_warn("request %s: stored result of %s undecodable: %s", op->v.rid, k->str,
                         err);
                continue;
            }
            json_object_set(op->v.res, k->str, r.check_response);
            msg_result_free(&r);
        }
    }
    reqview_step(op);
}

/* The entry of attempt a in prev ("<a>" -> {cohort, anomalous, results}), created on demand. */
static json_t *reqview_prev_attempt(json_t *prev, const char *a, size_t alen)
{
    char key[16];
    json_t *e;

    if (alen == 0 || alen >= sizeof(key)) return NULL;
    memcpy(key, a, alen);
    key[alen] = '\0';
    e = json_object_get(prev, key);
    if (e == NULL) {
        e = json_pack("{s:s, s:b, s:{}}", "cohort", "", "anomalous", 0, "results");
        json_object_set_new(prev, key, e);
    }
    return e;
}

/* called by redis_client with HGETALL of the earlier attempts' results */
static void reqview_prev_cb(void *arg, redisReply *reply, const char *errstr)
{
    struct reqview_op *op = arg;

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY) {
        reqview_note_failure(op, reply, errstr);
        reqview_step(op);
        return;
    }
    for (size_t i = 0; i + 1 < reply->elements; i += 2) {
        const redisReply *k = reply->element[i], *val = reply->element[i + 1];
        const char *colon;
        json_t *e;
        struct msg_result r;
        char err[128];

        if (k->type != REDIS_REPLY_STRING || val->type != REDIS_REPLY_STRING) continue;
        colon = strchr(k->str, ':');
        if (colon == NULL) continue;
        e = reqview_prev_attempt(op->v.prev, k->str, (size_t)(colon - k->str));
        if (e == NULL) continue;
        if (strcmp(colon + 1, "cohort") == 0) {
            json_object_set_new(e, "cohort", json_stringn(val->str, val->len));
        } else if (strcmp(colon + 1, "anomalous") == 0) {
            json_object_set_new(e, "anomalous", json_boolean(val->len == 1 && val->str[0] == '1'));
        } else if (msg_result_decode(val->str, val->len, &r, err, sizeof(err)) == 0) {
            json_object_set(json_object_get(e, "results"), colon + 1, r.check_response);
            msg_result_free(&r);
        }
    }
    reqview_step(op);
}

void reqview_load(struct coord *co, const char *rid, reqview_cb cb, void *arg)
{
    struct reqview_op *op = util_xcalloc(1, sizeof(*op));
    char key[KEYS_MAX];
    const char *argv[] = {"HGETALL", key}; /* argv: formatted by hiredis without printf */

    util_strlcpy(op->v.rid, rid, sizeof(op->v.rid));
    op->v.req = json_object();
    op->v.res = json_object();
    op->v.prev = json_object();
    op->cb = cb;
    op->arg = arg;
    op->outstanding = 3;
    keys_req(key, sizeof(key), co->cfg->key_prefix, rid);
    redis_client_commandargv(co->cmd, reqview_req_cb, op, 0, 2, argv, NULL);
    keys_res(key, sizeof(key), co->cfg->key_prefix, rid);
    redis_client_commandargv(co->cmd, reqview_res_cb, op, 0, 2, argv, NULL);
    keys_prev(key, sizeof(key), co->cfg->key_prefix, rid);
    redis_client_commandargv(co->cmd, reqview_prev_cb, op, 0, 2, argv, NULL);
}

const char *reqview_field(const struct reqview *v, const char *name)
{
    return json_string_value(json_object_get(v->req, name));
}
