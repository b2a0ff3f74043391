/*
 * The last tally the reducer saw for each request attempt still collecting results (a bounded
 * FIFO: the oldest entry makes room for a new one). It lets the reducer predict the tally that
 * a lua/record call will leave, and judge it ahead of the reply (due_judge_ahead). Only a hint:
 * the scripts check every prediction against what Redis stores. A NULL cache holds nothing.
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
/** Stores (replaces) rid's tally for attempt. */
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
/** Forgets rid (any attempt). */
void tallycache_drop(struct tallycache *c, const char *rid);
#endif
