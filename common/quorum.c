/*
 * BR §3.2.2.9 quorum rules: the allowed non-corroborations table, the date-phased minimum
 * number of remote perspectives, and the verdict (enough passes AND >= 2 RIRs among the
 * passing perspectives), decided early when pending perspectives can no longer change it.
 */
#include "quorum.h"

/* Phase-in instants (epoch ms, 00:00 UTC): 2026-03-15, 2026-06-15, 2026-12-15. */
#define QUORUM_PHASE_3_MS INT64_C(1773532800000)
#define QUORUM_PHASE_4_MS INT64_C(1781481600000)
#define QUORUM_PHASE_5_MS INT64_C(1797292800000)

int quorum_allowed_failures(int n)
{
    if (n < 2) return 0;
    if (n <= 5) return 1;
    return 2;
}

int quorum_default(int n)
{
    return n - quorum_allowed_failures(n);
}

bool quorum_count_valid(int n, int q)
{
    if (n < 1 || q < 1) return false;
    return q >= n - quorum_allowed_failures(n) && q <= n;
}

int quorum_min_remote(int64_t now_ms)
{
    if (now_ms >= QUORUM_PHASE_5_MS) return 5;
    if (now_ms >= QUORUM_PHASE_4_MS) return 4;
    if (now_ms >= QUORUM_PHASE_3_MS) return 3;
    return 2;
}

/* Number of distinct RIRs in a bit mask of (1 << rir). */
static int rir_mask_count(unsigned mask)
{
    int c = 0;
    for (int i = 0; i < RIR_COUNT; i++) {
        if (mask & (1u << i)) c++;
    }
    return c;
}

static unsigned rir_bit(enum rir rir)
{
    if ((int)rir < 0 || rir >= RIR_COUNT) return 0;
    return 1u << (unsigned)rir;
}

enum quorum_verdict quorum_evaluate(const struct quorum_member *members, int n, int q, bool final)
{
    int passed = 0;
    int pending = 0;
    unsigned passed_rirs = 0;
    unsigned possible_rirs = 0; /* RIRs of passed members plus members that may still pass */

    for (int i = 0; i < n && members != NULL; i++) {
        switch (members[i].outcome) {
        case QUORUM_OUTCOME_PASSED:
            passed++;
            passed_rirs |= rir_bit(members[i].rir);
            possible_rirs |= rir_bit(members[i].rir);
            break;
        case QUORUM_OUTCOME_PENDING:
            if (!final) {
                pending++;
                possible_rirs |= rir_bit(members[i].rir);
            }
            break;
        case QUORUM_OUTCOME_FAILED:
        case QUORUM_OUTCOME_ERROR:
        default:
            break;
        }
    }
    if (passed >= q && rir_mask_count(passed_rirs) >= 2) return QUORUM_VALID;
    if (passed + pending < q || rir_mask_count(possible_rirs) < 2) return QUORUM_INVALID;
    if (pending == 0) return QUORUM_INVALID; /* nothing left that could change it */
    return QUORUM_UNDECIDED;
}

int quorum_count_passed(const struct quorum_member *members, int n)
{
    int c = 0;
    for (int i = 0; i < n && members != NULL; i++) {
        if (members[i].outcome == QUORUM_OUTCOME_PASSED) c++;
    }
    return c;
}

int quorum_count_incomplete(const struct quorum_member *members, int n, bool final)
{
    int c = 0;
    for (int i = 0; i < n && members != NULL; i++) {
        if (members[i].outcome == QUORUM_OUTCOME_ERROR ||
            (final && members[i].outcome == QUORUM_OUTCOME_PENDING)) {
            c++;
        }
    }
    return c;
}

enum quorum_verdict quorum_with_primary(enum quorum_verdict remote, enum quorum_outcome primary,
                                        bool final)
{
    switch (primary) {
    case QUORUM_OUTCOME_PASSED:
        return remote;
    case QUORUM_OUTCOME_PENDING:
        if (final || remote == QUORUM_INVALID) return QUORUM_INVALID;
        return QUORUM_UNDECIDED;
    case QUORUM_OUTCOME_FAILED:
    case QUORUM_OUTCOME_ERROR:
    default:
        return QUORUM_INVALID;
    }
}

const char *quorum_verdict_name(enum quorum_verdict v)
{
    switch (v) {
    case QUORUM_UNDECIDED: return "undecided";
    case QUORUM_VALID: return "valid";
    case QUORUM_INVALID: return "invalid";
    }
    return "unknown";
}
