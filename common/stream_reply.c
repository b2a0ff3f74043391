/*
 * Stream entry parsing (see stream_reply.h); checks every element's type before use.
 */
#include "stream_reply.h"

#include <string.h>

int stream_reply_entry(const redisReply *e, const char *field, const char **id, const char **val,
                       size_t *len)
{
    const redisReply *f;

    *val = NULL;
    *len = 0;
    if (e == NULL || e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
        e->element[0]->type != REDIS_REPLY_STRING)
        return -1;
    *id = e->element[0]->str;
    f = e->element[1];
    for (size_t k = 0; f->type == REDIS_REPLY_ARRAY && k + 1 < f->elements; k += 2) {
        if (f->element[k]->type == REDIS_REPLY_STRING && strcmp(f->element[k]->str, field) == 0 &&
            f->element[k + 1]->type == REDIS_REPLY_STRING) {
            *val = f->element[k + 1]->str;
            *len = f->element[k + 1]->len;
        }
    }
    return 0;
}
