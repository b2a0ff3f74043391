/*
 * Batched stream acknowledgements (see ackbatch.h). Each sent XACK owns a copy of its items,
 * so a batcher can be freed while XACKs are outstanding: their replies still complete the
 * items, through the callback the batch captured.
 */
#include "ackbatch.h"

#include <event2/event_struct.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"

struct ackbatch {
    struct redis_client *rc;
    char *stream;
    char *group;
    ackbatch_done_cb cb;
    void *arg;
    const char *ids[ACKBATCH_MAX];
    void *items[ACKBATCH_MAX];
    int n;
    struct event flush_event; /* flushes at the end of the event-loop turn */
    bool armed;
};

/* One XACK in flight and the items it completes. */
struct ackbatch_sent {
    ackbatch_done_cb cb;
    void *arg;
    int n;
    void *items[ACKBATCH_MAX];
};

/* called by redis_client with the reply of one XACK */
static void ackbatch_reply_cb(void *arg, redisReply *reply, const char *errstr)
{
    struct ackbatch_sent *s = arg;
    bool ok = reply != NULL && reply->type != REDIS_REPLY_ERROR;

    if (!ok)
        log_warn("XACK of %d entr%s failed (%s); they stay pending and are delivered again",
                 s->n, s->n == 1 ? "y" : "ies", reply ? reply->str : errstr);
    for (int i = 0; i < s->n; i++) s->cb(s->arg, s->items[i], ok);
    free(s);
}

static void ackbatch_flush(struct ackbatch *b)
{
    struct ackbatch_sent *s;
    const char *argv[3 + ACKBATCH_MAX];
    size_t lens[3 + ACKBATCH_MAX];

    if (b->n == 0) return;
    s = util_xcalloc(1, sizeof(*s));
    s->cb = b->cb;
    s->arg = b->arg;
    s->n = b->n;
    memcpy(s->items, b->items, (size_t)b->n * sizeof(b->items[0]));
    argv[0] = "XACK";
    argv[1] = b->stream;
    argv[2] = b->group;
    for (int i = 0; i < b->n; i++) argv[3 + i] = b->ids[i];
    for (int i = 0; i < 3 + b->n; i++) lens[i] = strlen(argv[i]);
    b->n = 0;
    redis_client_commandargv(b->rc, ackbatch_reply_cb, s, 0, 3 + s->n, argv, lens);
}

/* called by libevent at the end of the loop turn in which entries were queued */
static void ackbatch_event_cb(evutil_socket_t fd, short what, void *arg)
{
    struct ackbatch *b = arg;
    (void)fd;
    (void)what;
    b->armed = false;
    ackbatch_flush(b);
}

struct ackbatch *ackbatch_new(struct event_base *base, struct redis_client *rc,
                              const char *stream, const char *group, ackbatch_done_cb cb,
                              void *arg)
{
    struct ackbatch *b = util_xcalloc(1, sizeof(*b));
    b->rc = rc;
    b->stream = util_xstrdup(stream);
    b->group = util_xstrdup(group);
    b->cb = cb;
    b->arg = arg;
    event_assign(&b->flush_event, base, -1, 0, ackbatch_event_cb, b);
    return b;
}

void ackbatch_add(struct ackbatch *b, const char *id, void *item)
{
    b->ids[b->n] = id;
    b->items[b->n] = item;
    b->n++;
    if (b->n == ACKBATCH_MAX) {
        ackbatch_flush(b);
    } else if (!b->armed) {
        b->armed = true;
        event_active(&b->flush_event, EV_TIMEOUT, 0);
    }
}

void ackbatch_free(struct ackbatch *b)
{
    if (b == NULL) return;
    event_del(&b->flush_event);
    for (int i = 0; i < b->n; i++) b->cb(b->arg, b->items[i], false);
    free(b->stream);
    free(b->group);
    free(b);
}
