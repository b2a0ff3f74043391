/*
 * Target cooldown keys (see cooldown.h): <prefix>:cooldown:{<target>} = the epoch ms the
 * cooldown started, PX target_cooldown_ms. Checked with one PTTL before admission.
 */
#include "cooldown.h"

#include <event2/keyvalq_struct.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"
#include "log.h"
#include "util.h"

struct cooldown_op {
    cooldown_cb cb;
    void *arg;
};

/* called by redis_client with the PTTL reply */
static void cooldown_pttl_cb(void *arg, redisReply *reply, const char *errstr)
{
    struct cooldown_op *op = arg;

    if (reply == NULL || reply->type != REDIS_REPLY_INTEGER) {
        log_warn("cooldown check failed: %s",
                 reply && reply->type == REDIS_REPLY_ERROR ? reply->str : errstr);
        op->cb(op->arg, -1);
    } else {
        op->cb(op->arg, reply->integer > 0 ? reply->integer : 0);
    }
    free(op);
}

void cooldown_check(struct coord *co, const char *target, cooldown_cb cb, void *arg)
{
    struct cooldown_op *op = util_xcalloc(1, sizeof(*op));
    char key[KEYS_MAX];

    op->cb = cb;
    op->arg = arg;
    keys_cooldown(key, sizeof(key), co->cfg->key_prefix, target);
    redis_client_command(co->cmd, cooldown_pttl_cb, op, 0, "PTTL %s", key);
}

static const char *field(const json_t *record, const char *name)
{
    return json_string_value(json_object_get(record, name));
}

static bool cooldown_applies(const struct coord *co, const json_t *record)
{
    const char *verdict = field(record, "verdict");
    return co->cfg->target_cooldown_ms > 0 && verdict != NULL && strcmp(verdict, "invalid") == 0 &&
           field(record, "jtarget") != NULL;
}

void cooldown_note(struct coord *co, const json_t *record)
{
    char key[KEYS_MAX], px[24];
    const char *since = field(record, "replied_at");

    if (!cooldown_applies(co, record)) return;
    keys_cooldown(key, sizeof(key), co->cfg->key_prefix, field(record, "jtarget"));
    snprintf(px, sizeof(px), "%d", co->cfg->target_cooldown_ms);
    redis_client_command(co->cmd, redis_client_ignore_reply, NULL, 0, "SET %s %s PX %s", key,
                         since ? since : "0", px);
}

void cooldown_add_header(const struct coord *co, const json_t *record,
                         struct evhttp_request *req)
{
    int64_t since;
    char until[24];

    if (!cooldown_applies(co, record) || field(record, "replied_at") == NULL ||
        util_parse_int64(field(record, "replied_at"), 0, INT64_MAX, &since) != 0)
        return;
    snprintf(until, sizeof(until), "%lld", (long long)(since + co->cfg->target_cooldown_ms));
    evhttp_add_header(evhttp_request_get_output_headers(req), "X-Mpic-Cooldown-Until", until);
}
