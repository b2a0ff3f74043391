/*
 * The one implementation of the BR §3.2.2.9 quorum rules, used by request validation and by
 * the reducer: allowed non-corroborations per cohort size, the date-phased minimum number of
 * remote perspectives, and the verdict from per-perspective outcomes (enough passes AND the
 * passing perspectives span >= 2 RIRs). Early decision: a verdict is reported as soon as the
 * perspectives that have not reported yet can no longer change it.
 */
#ifndef MPIC_QUORUM_H
#define MPIC_QUORUM_H

#include <stdbool.h>
#include <stdint.h>

#include "perspective.h"

enum quorum_outcome {
    QUORUM_OUTCOME_PENDING = 0, /* has not reported (yet) */
    QUORUM_OUTCOME_PASSED = 1,  /* check_completed && check_passed: corroborates */
    QUORUM_OUTCOME_FAILED = 2,  /* completed but did not pass: non-corroboration */
    QUORUM_OUTCOME_ERROR = 3,   /* did not complete: non-corroboration */
};

enum quorum_verdict {
    QUORUM_UNDECIDED = 0, /* pending perspectives could still change the verdict */
    QUORUM_VALID = 1,
    QUORUM_INVALID = 2,
};

struct quorum_member {
    enum rir rir;
    enum quorum_outcome outcome;
};

/** BR table: 2..5 perspectives allow 1 non-corroboration, 6+ allow 2. n < 2 → 0. */
int quorum_allowed_failures(int n);
/** Default quorum for n perspectives: n - quorum_allowed_failures(n). */
int quorum_default(int n);
/** True when q is allowed for n: n - allowed_failures(n) <= q <= n. */
bool quorum_count_valid(int n, int q);
/**
 * BR phase-in minimum number of remote perspectives at wall time now_ms (epoch ms, UTC):
 * 2 before 2026-03-15, 3 from 2026-03-15, 4 from 2026-06-15, 5 from 2026-12-15.
 */
int quorum_min_remote(int64_t now_ms);
/**
 * Evaluates n members against quorum q. With final=false, PENDING members may still pass or
 * fail and the result is UNDECIDED unless every completion of them gives the same verdict.
 * With final=true, PENDING counts as a non-corroboration. Never returns UNDECIDED when final.
 */
enum quorum_verdict quorum_evaluate(const struct quorum_member *members, int n, int q, bool final);
/** Counts members with outcome PASSED / not-completed (ERROR, plus PENDING when final). */
int quorum_count_passed(const struct quorum_member *members, int n);
int quorum_count_incomplete(const struct quorum_member *members, int n, bool final);
/**
 * Boulder's rule with a primary perspective (BR §3.2.2.9: remotes corroborate the primary):
 * combines the remote cohort's verdict with the primary's own outcome. A failed or errored
 * primary is INVALID at once; a pending primary keeps the verdict UNDECIDED (or INVALID when
 * final, or when the remotes alone are already INVALID); a passed primary leaves the remote
 * verdict unchanged.
 */
enum quorum_verdict quorum_with_primary(enum quorum_verdict remote, enum quorum_outcome primary,
                                        bool final);
const char *quorum_verdict_name(enum quorum_verdict v);

#endif
