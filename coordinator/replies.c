/*
 * Notification listener (see replies.h). Reads from the last id seen, so a reconnect does not
 * lose notifications that arrived meanwhile (the stream is trimmed and expires when idle).
 */
#include "replies.h"

#include <event2/event_struct.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "log.h"
#include "stream_reply.h"
#include "util.h"

#define REPLIES_BLOCK_MS 1000

struct replies {
    struct coord *co;
    bool reading;
    char last_id[48];
    struct event retry_timer;
};

static void replies_read(struct replies *r);

/* called by redis_client with the XREAD reply (NIL when BLOCK expired) */
static void replies_read_cb(void *arg, redisReply *reply, const char *errstr)
{
    struct replies *r = arg;
    struct timeval tv = {0, 100000};

    r->reading = false;
    if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
        if (r->co->draining && reply == NULL) return; /* shutting down */
        log_warn("XREAD on %s failed: %s", r->co->replies_key, reply ? reply->str : errstr);
        evtimer_add(&r->retry_timer, &tv);
        return;
    }
    if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 1 &&
        reply->element[0]->type == REDIS_REPLY_ARRAY && reply->element[0]->elements == 2) {
        const redisReply *entries = reply->element[0]->element[1];
        for (size_t i = 0; entries->type == REDIS_REPLY_ARRAY && i < entries->elements; i++) {
            const char *id, *rid;
            size_t len;
            if (stream_reply_entry(entries->element[i], "r", &id, &rid, &len) != 0) continue;
            util_strlcpy(r->last_id, id, sizeof(r->last_id));
            if (rid != NULL) api_notify_replied(r->co, rid);
        }
    }
    replies_read(r);
}

static void replies_read(struct replies *r)
{
    struct coord *co = r->co;
    char block[16];
    if (r->reading || !redis_client_is_ready(co->pblock)) return;
    snprintf(block, sizeof(block), "%d", REPLIES_BLOCK_MS);
    r->reading = true;
    redis_client_command(co->pblock, replies_read_cb, r,
                         REPLIES_BLOCK_MS + redis_client_command_timeout(co->pblock),
                         "XREAD COUNT 256 BLOCK %s STREAMS %s %s", block, co->replies_key,
                         r->last_id);
}

/* called by libevent after a failed read */
static void replies_retry_cb(evutil_socket_t fd, short what, void *arg)
{
    replies_read(arg);
}

struct replies *replies_new(struct coord *co)
{
    struct replies *r = util_xcalloc(1, sizeof(*r));
    r->co = co;
    util_strlcpy(r->last_id, "0-0", sizeof(r->last_id));
    evtimer_assign(&r->retry_timer, co->base, replies_retry_cb, r);
    return r;
}

void replies_kick(struct replies *r)
{
    replies_read(r);
}

void replies_free(struct replies *r)
{
    if (r == NULL) return;
    event_del(&r->retry_timer);
    free(r);
}
