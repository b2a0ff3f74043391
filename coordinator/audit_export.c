/*
 * Audit export: XRANGE over <prefix>:audit in batches, exclusive of the last id seen, each
 * entry's JSON record printed with its stream id added. Blocking hiredis with connect and
 * command timeouts: this runs as a one-shot command, never inside the event loop.
 */
#include "audit_export.h"

#include <hiredis/hiredis.h>
#include <jansson.h>
#include <string.h>
#include <sys/time.h>

#include "keys.h"
#include "util.h"

#define AUDIT_EXPORT_BATCH 500
#define AUDIT_EXPORT_TIMEOUT_MS 10000

static redisContext *audit_export_connect(const struct config *cfg)
{
    struct timeval tv = {AUDIT_EXPORT_TIMEOUT_MS / 1000, 0};
    redisContext *rc = redisConnectWithTimeout(cfg->redis.host, cfg->redis.port, tv);
    redisReply *r = NULL;

    if (rc == NULL || rc->err) {
        fprintf(stderr, "mpic-coordinator: --export-audit: cannot connect to Redis %s:%d: %s\n",
                cfg->redis.host, cfg->redis.port, rc ? rc->errstr : "out of memory");
        goto fail;
    }
    redisSetTimeout(rc, tv);
    if (cfg->redis_password[0] != '\0') {
        r = cfg->redis_username[0] != '\0'
                ? redisCommand(rc, "AUTH %s %s", cfg->redis_username, cfg->redis_password)
                : redisCommand(rc, "AUTH %s", cfg->redis_password);
        if (r == NULL || r->type == REDIS_REPLY_ERROR) {
            fprintf(stderr, "mpic-coordinator: --export-audit: AUTH failed: %s\n",
                    r ? r->str : rc->errstr);
            goto fail;
        }
        freeReplyObject(r);
    }
    return rc;
fail:
    if (r) freeReplyObject(r);
    if (rc) redisFree(rc);
    return NULL;
}

/* Prints one stream entry [id, [field, value, ...]]; returns false when it is malformed. */
static bool audit_export_entry(const redisReply *e, FILE *out)
{
    const redisReply *id, *fv;
    json_t *rec = NULL;

    if (e->type != REDIS_REPLY_ARRAY || e->elements != 2) return false;
    id = e->element[0];
    fv = e->element[1];
    if (id->type != REDIS_REPLY_STRING || fv->type != REDIS_REPLY_ARRAY) return false;
    for (size_t i = 0; i + 1 < fv->elements; i += 2) {
        if (fv->element[i]->type == REDIS_REPLY_STRING && strcmp(fv->element[i]->str, "a") == 0)
            rec = json_loadb(fv->element[i + 1]->str, fv->element[i + 1]->len, 0, NULL);
    }
    if (!json_is_object(rec)) {
        json_decref(rec);
        rec = json_object();
        json_object_set_new(rec, "error", json_string("unreadable audit entry"));
    }
    json_object_set_new(rec, "audit_id", json_string(id->str));
    json_dumpf(rec, out, JSON_COMPACT);
    fputc('\n', out);
    json_decref(rec);
    return true;
}

long audit_export_run(const struct config *cfg, const char *since, FILE *out)
{
    redisContext *rc = audit_export_connect(cfg);
    char key[KEYS_MAX], start[64];
    long written = 0;

    if (rc == NULL) return -1;
    keys_audit(key, sizeof(key), cfg->key_prefix);
    if (since == NULL || strcmp(since, "-") == 0)
        util_strlcpy(start, "-", sizeof(start));
    else
        snprintf(start, sizeof(start), "(%s", since);
    for (;;) {
        redisReply *r = redisCommand(rc, "XRANGE %s %s + COUNT %d", key, start,
                                     AUDIT_EXPORT_BATCH);
        size_t n;

        if (r == NULL || r->type != REDIS_REPLY_ARRAY) {
            fprintf(stderr, "mpic-coordinator: --export-audit: XRANGE failed: %s\n",
                    r && r->type == REDIS_REPLY_ERROR ? r->str : rc->errstr);
            if (r) freeReplyObject(r);
            redisFree(rc);
            return -1;
        }
        n = r->elements;
        for (size_t i = 0; i < n; i++) {
            if (audit_export_entry(r->element[i], out)) written++;
        }
        if (n > 0) {
            const redisReply *last = r->element[n - 1];
            if (last->type == REDIS_REPLY_ARRAY && last->elements == 2 &&
                last->element[0]->type == REDIS_REPLY_STRING)
                snprintf(start, sizeof(start), "(%s", last->element[0]->str);
            else
                n = 0;
        }
        freeReplyObject(r);
        if (n < AUDIT_EXPORT_BATCH) break;
    }
    fflush(out);
    redisFree(rc);
    return ferror(out) ? -1 : written;
}
