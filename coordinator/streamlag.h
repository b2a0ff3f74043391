/*
 * How many entries of a stream wait for a consumer group, and how many were trimmed (MAXLEN)
 * before the group read them. Redis' own "lag" (XINFO GROUPS) counts trimmed entries as
 * waiting forever (Redis 7.0: entries-added − entries-read), so after one backlog deeper than
 * the stream's cap it never returns to 0; the stream sampler (cmetrics.c) corrects it with
 * XINFO STREAM and keeps what it learned about the trimmed entries between samples.
 */
#ifndef MPIC_STREAMLAG_H
#define MPIC_STREAMLAG_H

#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stdint.h>

/** A stream entry id "<ms>-<seq>". */
struct streamlag_id {
    uint64_t ms, seq;
};

/** What XINFO STREAM says of a stream. */
struct streamlag_stream {
    long long length;
    struct streamlag_id last_generated;
    struct streamlag_id first; /* valid when length > 0 */
};

/** What XINFO GROUPS says of one consumer group. */
struct streamlag_group {
    struct streamlag_id delivered; /* its last delivered entry */
    bool lag_known;                /* Redis gave a lag (it may give nil) */
    long long lag;
};

/** What one watcher learned of a group across samples (zero-initialised: nothing yet). */
struct streamlag_state {
    bool trimmed_known;
    long long trimmed; /* entries added and never delivered to the group */
};

/** Parses "<ms>-<seq>" (or "<ms>"); 0, or -1 when it is no id. */
int streamlag_parse_id(const char *s, struct streamlag_id *out);
/** Compares two ids like strcmp. */
int streamlag_cmp(const struct streamlag_id *a, const struct streamlag_id *b);
/** Reads an XINFO STREAM reply (RESP2 field/value array); 0, or -1 when it lacks a field. */
int streamlag_parse_stream(const redisReply *reply, struct streamlag_stream *out);
/**
 * Finds group `name` in an XINFO GROUPS reply (RESP2: an array of field/value arrays); 0, or
 * -1 when it is not there or has no last delivered id.
 */
int streamlag_parse_group(const redisReply *reply, const char *name, struct streamlag_group *out);
/**
 * The entries of s waiting for a group whose last delivered entry is `delivered`, given
 * Redis' lag (lag_known false when XINFO GROUPS gave none). Updates st: once the group has
 * read everything, Redis' lag is exactly what was trimmed before delivery.
 */
long long streamlag_undelivered(const struct streamlag_stream *s,
                                const struct streamlag_id *delivered, bool lag_known,
                                long long lag, struct streamlag_state *st);

#endif
