/*
 * The last tally the reducer saw for each request attempt still collecting results (a bounded
 * FIFO: the oldest entry makes room for a new one). It lets the reducer predict the tally that
 * a lua/record call will leave, and judge it ahead of the reply (due_judge_ahead). Only a hint:
 * the scripts check every prediction against what Redis stores. A closed request attempt keeps
 * a tombstone, so that a reply to an earlier record cannot bring its tally back and have a
 * late straggler judged ahead. A NULL cache holds nothing.
 */
#ifndef MPIC_TALLYCACHE_H
#define MPIC_TALLYCACHE_H

#include <stdbool.h>
#include <stdint.h>

#include "tally.h"

struct tallycache;

/** A cache of at most cap tallies. */
struct tallycache *tallycache_new(int cap);
void tallycache_free(struct tallycache *c);
/** Attempt value for tallycache_close: the request is answered, every attempt is closed. */
#define TALLYCACHE_ANSWERED UINT32_MAX

/** Stores (replaces) rid's tally for attempt; ignored when that attempt is closed. */
void tallycache_put(struct tallycache *c, const char *rid, uint32_t attempt, const struct tally *t);
/** Copies rid's tally into out when one is stored for this attempt; true when found. */
bool tallycache_get(struct tallycache *c, const char *rid, uint32_t attempt, struct tally *out);
/**
 * Folds a tally just read from Redis into rid's entry: Redis' outcomes win, and outcomes this
 * process sent since (tallycache_note) and Redis has not yet answered for are kept.
 */
void tallycache_merge(struct tallycache *c, const char *rid, uint32_t attempt,
                      const struct tally *t);
/** Notes an outcome being recorded for rid's attempt (when there is an entry for it; tally_add). */
void tallycache_note(struct tallycache *c, const char *rid, uint32_t attempt, const char *code,
                     const char *outcome);
/**
 * No more predictions for rid's attempts up to `attempt` (TALLYCACHE_ANSWERED: all of them):
 * its tally is forgotten and a tombstone keeps later puts, merges and notes of those attempts
 * out. A later attempt (a retry) starts a new entry.
 */
void tallycache_close(struct tallycache *c, const char *rid, uint32_t attempt);
#endif
