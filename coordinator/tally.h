/*
 * A request's tally as returned by lua/record.lua and lua/tally.lua — state, cohort with
 * RIRs, n, q, deadline and the outcomes recorded so far — and its judgement with the one
 * quorum implementation (common/quorum). Lua never decides; this module does.
 */
#ifndef MPIC_TALLY_H
#define MPIC_TALLY_H

#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stdint.h>

#include "cohort.h"
#include "perspective.h"
#include "quorum.h"

enum tally_state {
    TALLY_OPEN = 0,    /* collecting results, no verdict yet */
    TALLY_DECIDED = 1, /* verdict stored, waiting for stragglers / publication */
    TALLY_REPLIED = 2, /* the holder was notified; closed */
    TALLY_RETRYING = 3, /* the attempt failed; the next one starts after a cooldown */
};

struct tally {
    enum tally_state state;
    int n;
    int q;
    int64_t deadline_ms;
    int count;                                /* outcomes recorded (remotes and primary) */
    char codes[COHORT_MAX][PERSPECTIVE_CODE_MAX];
    struct quorum_member members[COHORT_MAX]; /* in cohort order */
    bool has_primary;                         /* a primary perspective must pass as well */
    char primary[PERSPECTIVE_CODE_MAX];
    enum quorum_outcome primary_outcome;      /* PENDING until the primary reported */
};

/**
 * Parses elements [1..] of a record/tally script reply: state, n, q, cohort ("a,b,c"),
 * rirs ("0,1,2"), deadline, then code/outcome pairs. A pair whose code is "@" + a code is the
 * primary perspective (outcome "-" while it has not reported). Returns 0, or -1 when malformed.
 */
int tally_parse(const redisReply *r, struct tally *t);
/**
 * A tally with no outcome yet: the cohort's codes and RIR numbers as comma lists (as the
 * request record stores them). Returns 0, or -1 when they do not make n members.
 */
int tally_init(struct tally *t, enum tally_state state, int64_t n, int64_t q,
               const char *codes, const char *rirs, int64_t deadline_ms);
/** Adds the primary perspective (pending) to a tally; -1 when it is a member or already set. */
int tally_expect_primary(struct tally *t, const char *code);
/**
 * Adds the outcome ("P", "F" or "E") a perspective reported to t. Returns false, changing
 * nothing, when the code is not expected (not in the cohort, not the primary) or already
 * reported, or the outcome is not one of those letters.
 */
bool tally_add(struct tally *t, const char *code, const char *outcome);
/** The letter lua/record stores for an outcome ("P", "F", "E"; "-" when not reported). */
const char *tally_letter(enum quorum_outcome o);
/** quorum_evaluate over the members, combined with the primary's outcome when there is one. */
enum quorum_verdict tally_judge(const struct tally *t, bool final);
/** True when the perspectives disagree: some passed and some did not (an anomaly). */
bool tally_anomalous(const struct tally *t);
/** True when every expected perspective (the cohort, plus the primary if any) has reported. */
bool tally_all_reported(const struct tally *t);
/** Human-readable reason for the audit trail ("4/6 passed, RIRs: ARIN, RIPE NCC"). */
void tally_reason(const struct tally *t, bool final, char *out, size_t len);

#endif
