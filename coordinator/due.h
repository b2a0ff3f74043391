/*
 * Deciding and publishing verdicts, wherever the trigger comes from: a recorded result (the
 * reducer), the holder's deadline timer, a straggler-grace timer, or the sweeper that claims
 * overdue entries of the <prefix>:due sorted set left by a coordinator that died. Every
 * state change goes through a compare-and-set script (lua/finalize, lua/publish), so any
 * number of coordinators can run this concurrently and each request is decided and
 * published exactly once.
 */
#ifndef MPIC_DUE_H
#define MPIC_DUE_H

#include <stdbool.h>
#include <stdint.h>

#include "coord.h"
#include "tally.h"

/** Called exactly once per due_* operation; ok=false means Redis could not be reached. */
typedef void (*due_done_cb)(void *arg, bool ok);

/**
 * Acts on a tally just read from Redis: decides the verdict when the quorum rules allow it
 * (or at the deadline, with missing perspectives as non-corroborations), then publishes when
 * every perspective reported, the grace period ended or the deadline passed. due_reached says
 * the caller's timer for this request fired. cb may be NULL.
 */
void due_evaluate(struct coord *co, const char *rid, const struct tally *t, bool due_reached,
                  due_done_cb cb, void *arg);
/**
 * Judges, before lua/record has answered, the tally that the record just sent for attempt
 * will complete (t: the last tally the reducer saw plus the results it is recording). When
 * every perspective will have reported and the attempt passes (or was decided earlier), it
 * sends lua/finalize and lua/publish with a guard (the stored outcomes must be exactly t's,
 * at that attempt) and the read behind them, so the verdict goes out one round trip after
 * the last result instead of two; a wrong prediction makes finalize ask for a fresh tally
 * (the normal path). Returns false, calling nothing, when t does not allow it.
 */
bool due_judge_ahead(struct coord *co, const char *rid, uint32_t attempt, const struct tally *t,
                     due_done_cb cb, void *arg);
/** Reads the tally (lua/tally) and calls due_evaluate. */
void due_process(struct coord *co, const char *rid, bool due_reached, due_done_cb cb, void *arg);
/**
 * Arms a local timer that judges rid as due (due_process with due_reached) at at_ms, and moves
 * its due-set entry no later than at_ms so another coordinator does it if this one dies.
 * Used for async requests, which no HTTP exchange holds until their deadline.
 */
void due_arm(struct coord *co, const char *rid, int64_t at_ms);
/**
 * Sets rid's due-set entry to at_ms (a plain ZADD), resending it every 250 ms until Redis
 * answers: the entry is what brings rid back to a sweeper (next attempt, unfinished follow-up
 * work), and it also moves an entry a sweeper holds on lease, so that the lease's release
 * (lua/lease) leaves it in place. why names it in the log. After due_shutdown: logged only.
 */
void due_reschedule(struct coord *co, const char *rid, int64_t at_ms, const char *why);
/**
 * Starts the sweeper (every 250 ms) that claims entries overdue by more than 1 s plus the
 * result visibility timeout (so a dead holder's unrecorded results are reclaimed first).
 */
void due_start_sweeper(struct coord *co);
/** Stops the sweeper and drops armed grace timers (other coordinators take their entries). */
void due_shutdown(struct coord *co);

#endif
