/*
 * Stale consumer removal (see group_gc.h). XGROUP DELCONSUMER is only sent for consumers with
 * zero pending entries, so no job or result can be lost by it.
 */
#include "group_gc.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"

struct group_gc {
    struct redis_client *rc;
    char *stream;
    char *group;
    char *self;
    int64_t min_idle_ms;
};

/* called by redis_client with the XINFO CONSUMERS reply: [[name, n, pending, p, idle, ms, ...]] */
static void group_gc_info_cb(void *arg, redisReply *reply, const char *errstr)
{
    struct group_gc *g = arg;
    (void)errstr;
    for (size_t i = 0; reply && reply->type == REDIS_REPLY_ARRAY && i < reply->elements; i++) {
        const redisReply *c = reply->element[i];
        const char *name = NULL;
        long long pending = -1, idle = -1;
        if (c->type != REDIS_REPLY_ARRAY) continue;
        for (size_t k = 0; k + 1 < c->elements; k += 2) {
            const redisReply *key = c->element[k], *val = c->element[k + 1];
            if (key->type != REDIS_REPLY_STRING) continue;
            if (strcmp(key->str, "name") == 0 && val->type == REDIS_REPLY_STRING) name = val->str;
            if (strcmp(key->str, "pending") == 0 && val->type == REDIS_REPLY_INTEGER)
                pending = val->integer;
            if (strcmp(key->str, "idle") == 0 && val->type == REDIS_REPLY_INTEGER)
                idle = val->integer;
        }
        if (name == NULL || strcmp(name, g->self) == 0 || pending != 0 || idle < g->min_idle_ms)
            continue;
        log_info("removing stale consumer %s from %s/%s (idle %lld ms)", name, g->stream,
                 g->group, idle);
        redis_client_command(g->rc, redis_client_ignore_reply, NULL, 0, "XGROUP DELCONSUMER %s %s %s",
                             g->stream, g->group, name);
    }
    free(g->stream);
    free(g->group);
    free(g->self);
    free(g);
}

void group_gc_run(struct redis_client *rc, const char *stream, const char *group,
                  const char *self, int64_t min_idle_ms)
{
    struct group_gc *g = util_xcalloc(1, sizeof(*g));
    g->rc = rc;
    g->stream = util_xstrdup(stream);
    g->group = util_xstrdup(group);
    g->self = util_xstrdup(self);
    g->min_idle_ms = min_idle_ms;
    redis_client_command(rc, group_gc_info_cb, g, 0, "XINFO CONSUMERS %s %s", stream, group);
}
