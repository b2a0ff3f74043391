/*
 * Reading stream entries out of XREADGROUP, XREAD and XAUTOCLAIM replies: each entry is
 * [id, [field, value, ...]] (or nil, or a short array, for entries trimmed meanwhile).
 */
#ifndef MPIC_STREAM_REPLY_H
#define MPIC_STREAM_REPLY_H

#include <hiredis/hiredis.h>
#include <stddef.h>

/**
 * For one entry: sets *id and, when the entry has `field`, *val and *len to its value (else
 * *val = NULL). Returns 0, or -1 when the entry is malformed or was deleted.
 */
int stream_reply_entry(const redisReply *e, const char *field, const char **id, const char **val,
                       size_t *len);

#endif
