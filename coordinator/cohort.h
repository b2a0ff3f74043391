/*
 * Cohort selection: pick `n` of the configured perspectives such that every pair is at least
 * COHORT_MIN_DISTANCE_KM apart (great-circle, from coordinates) and they span >= 2 RIRs.
 * The choice is deterministic per (secret, normalized target, attempt) and unpredictable
 * without the secret: perspectives are ordered by HMAC-SHA256(secret, target "\n" attempt
 * "\n" code) and the first valid combination in that order is taken (bounded backtracking).
 */
#ifndef MPIC_COHORT_H
#define MPIC_COHORT_H

#include <stddef.h>

#include "perspective.h"

#define COHORT_MAX 32
#define COHORT_MIN_DISTANCE_KM 500.0

struct cohort {
    int n;
    int idx[COHORT_MAX]; /* indexes into the configured perspective array, in selection order */
};

/**
 * Returns 0 and fills *out, or -1 with a message naming why no valid cohort exists (too few
 * perspectives, fewer than 2 RIRs, no combination >= 500 km apart).
 */
int cohort_select(const struct perspective *all, int nall, int n, const unsigned char *secret,
                  size_t secretlen, const char *target, int attempt, struct cohort *out,
                  char *err, size_t errlen);

/**
 * The perspectives eligible as remotes when `primary` (an index into all, or -1 for none) is
 * the primary perspective: every other perspective at least COHORT_MIN_DISTANCE_KM from it
 * (BR §3.2.2.9: remote = distinct from the primary). Fills idx (capacity nall) and returns
 * the count.
 */
int cohort_remote_pool(const struct perspective *all, int nall, int primary, int *idx);

/** cohort_select over cohort_remote_pool(): the primary never joins its own remote cohort. */
int cohort_select_remote(const struct perspective *all, int nall, int primary, int n,
                         const unsigned char *secret, size_t secretlen, const char *target,
                         int attempt, struct cohort *out, char *err, size_t errlen);

#endif
