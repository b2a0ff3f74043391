/*
 * Undelivered and trimmed-before-delivery counts of a consumer group (see streamlag.h). Two
 * cases are exact: the group read everything (0 waiting; Redis' lag is then the trimmed
 * count), and the group's cursor is behind the stream's first entry (everything retained
 * waits). In between, Redis' lag minus the trimmed count last learned, within [1, length].
 */
#include "streamlag.h"

#include <string.h>

/* Reads the decimal digits at *p up to a non-digit into out (at most INT64_MAX); 0 or -1. */
static int streamlag_digits(const char **p, uint64_t *out)
{
    const char *s = *p;
    uint64_t v = 0;

    if (*s < '0' || *s > '9') return -1;
    for (; *s >= '0' && *s <= '9'; s++) {
        if (v > (uint64_t)(INT64_MAX - (*s - '0')) / 10) return -1;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    *p = s;
    *out = v;
    return 0;
}

int streamlag_parse_id(const char *s, struct streamlag_id *out)
{
    struct streamlag_id id = {0, 0};

    if (s == NULL || streamlag_digits(&s, &id.ms) != 0) return -1;
    if (*s == '-') {
        s++;
        if (streamlag_digits(&s, &id.seq) != 0) return -1;
    }
    if (*s != '\0') return -1;
    *out = id;
    return 0;
}

int streamlag_cmp(const struct streamlag_id *a, const struct streamlag_id *b)
{
    if (a->ms != b->ms) return a->ms < b->ms ? -1 : 1;
    if (a->seq != b->seq) return a->seq < b->seq ? -1 : 1;
    return 0;
}

static bool streamlag_is_name(const redisReply *f, const char *name)
{
    return (f->type == REDIS_REPLY_STRING || f->type == REDIS_REPLY_STATUS) &&
           strcmp(f->str, name) == 0;
}

int streamlag_parse_stream(const redisReply *reply, struct streamlag_stream *out)
{
    bool have_len = false, have_last = false, have_first = false;

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY) return -1;
    memset(out, 0, sizeof(*out));
    for (size_t k = 0; k + 1 < reply->elements; k += 2) {
        const redisReply *f = reply->element[k], *v = reply->element[k + 1];
        if (streamlag_is_name(f, "length") && v->type == REDIS_REPLY_INTEGER) {
            out->length = v->integer;
            have_len = true;
        } else if (streamlag_is_name(f, "last-generated-id") && v->type == REDIS_REPLY_STRING) {
            have_last = streamlag_parse_id(v->str, &out->last_generated) == 0;
        } else if (streamlag_is_name(f, "first-entry") && v->type == REDIS_REPLY_ARRAY &&
                   v->elements >= 1 && v->element[0]->type == REDIS_REPLY_STRING) {
            have_first = streamlag_parse_id(v->element[0]->str, &out->first) == 0;
        }
    }
    if (!have_len || !have_last || out->length < 0) return -1;
    if (out->length > 0 && !have_first) return -1;
    return 0;
}

int streamlag_parse_group(const redisReply *reply, const char *name, struct streamlag_group *out)
{
    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY) return -1;
    for (size_t g = 0; g < reply->elements; g++) {
        const redisReply *grp = reply->element[g];
        bool ours = false, have_delivered = false;
        if (grp->type != REDIS_REPLY_ARRAY) continue;
        memset(out, 0, sizeof(*out));
        for (size_t k = 0; k + 1 < grp->elements; k += 2) {
            const redisReply *f = grp->element[k], *v = grp->element[k + 1];
            if (streamlag_is_name(f, "name") && v->type == REDIS_REPLY_STRING) {
                ours = strcmp(v->str, name) == 0;
            } else if (streamlag_is_name(f, "lag") && v->type == REDIS_REPLY_INTEGER) {
                out->lag_known = true;
                out->lag = v->integer;
            } else if (streamlag_is_name(f, "last-delivered-id") &&
                       v->type == REDIS_REPLY_STRING) {
                have_delivered = streamlag_parse_id(v->str, &out->delivered) == 0;
            }
        }
        if (ours) return have_delivered ? 0 : -1;
    }
    return -1;
}

long long streamlag_undelivered(const struct streamlag_stream *s,
                                const struct streamlag_id *delivered, bool lag_known,
                                long long lag, struct streamlag_state *st)
{
    long long n;

    if (streamlag_cmp(delivered, &s->last_generated) >= 0 || s->length == 0) {
        /* nothing after the cursor is retained: whatever Redis still counts was trimmed */
        if (lag_known && lag >= 0) {
            st->trimmed = lag;
            st->trimmed_known = true;
        }
        return 0;
    }
    if (streamlag_cmp(delivered, &s->first) < 0) return s->length; /* trimmed past the cursor */
    if (!lag_known) return s->length;
    n = lag - (st->trimmed_known ? st->trimmed : 0);
    if (n > s->length) n = s->length;
    if (n < 1) n = 1; /* the cursor is before the last entry: at least that one waits */
    return n;
}
