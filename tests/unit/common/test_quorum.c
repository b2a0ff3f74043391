/*
 * Unit tests for common/quorum: the BR allowed non-corroborations table, allowed quorum values,
 * the verdict with early decisions and the two-RIR rule for every cohort size 2..9, final
 * mode, and the phase-in minimum at the exact boundary instants.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "quorum.h"

#define MAXN 9

/* Phase-in instants computed independently (date -u -d ... +%s). */
static const int64_t phase3_ms = INT64_C(1773532800) * 1000; /* 2026-03-15T00:00:00Z */
static const int64_t phase4_ms = INT64_C(1781481600) * 1000; /* 2026-06-15T00:00:00Z */
static const int64_t phase5_ms = INT64_C(1797292800) * 1000; /* 2026-12-15T00:00:00Z */

/* Members alternate ARIN / RIPE NCC so any two consecutive members span two RIRs. */
static void fill(struct quorum_member *m, int n, enum quorum_outcome o)
{
    for (int i = 0; i < n; i++) {
        m[i].rir = (i % 2 == 0) ? RIR_ARIN : RIR_RIPE_NCC;
        m[i].outcome = o;
    }
}

static void test_allowed_failures_table(void **state)
{
    (void)state;
    assert_int_equal(quorum_allowed_failures(0), 0);
    assert_int_equal(quorum_allowed_failures(1), 0);
    for (int n = 2; n <= 5; n++) assert_int_equal(quorum_allowed_failures(n), 1);
    for (int n = 6; n <= 40; n++) assert_int_equal(quorum_allowed_failures(n), 2);
}

static void test_default_quorum(void **state)
{
    static const int expect[MAXN + 1] = {0, 0, 1, 2, 3, 4, 4, 5, 6, 7};
    (void)state;
    for (int n = 2; n <= MAXN; n++) assert_int_equal(quorum_default(n), expect[n]);
}

static void test_count_valid(void **state)
{
    static const int lowest[MAXN + 1] = {0, 0, 1, 2, 3, 4, 4, 5, 6, 7};
    (void)state;
    for (int n = 2; n <= MAXN; n++) {
        for (int q = -1; q <= n + 2; q++) {
            bool want = q >= lowest[n] && q <= n;
            assert_int_equal(quorum_count_valid(n, q), want);
        }
    }
    assert_false(quorum_count_valid(6, 3));
    assert_true(quorum_count_valid(6, 4));
    assert_false(quorum_count_valid(3, 0));
}

/* For every n: exact quorum passes with the rest failed is VALID; one fewer is INVALID. */
static void test_evaluate_final_counts(void **state)
{
    struct quorum_member m[MAXN];
    (void)state;
    for (int n = 2; n <= MAXN; n++) {
        for (int q = quorum_default(n); q <= n; q++) {
            fill(m, n, QUORUM_OUTCOME_FAILED);
            for (int i = 0; i < q; i++) m[i].outcome = QUORUM_OUTCOME_PASSED;
            /* q == 1 (n == 2): a single pass spans one RIR, so it is never enough. */
            enum quorum_verdict want = q >= 2 ? QUORUM_VALID : QUORUM_INVALID;
            assert_int_equal(quorum_evaluate(m, n, q, false), want);
            assert_int_equal(quorum_evaluate(m, n, q, true), want);
            m[q - 1].outcome = QUORUM_OUTCOME_ERROR;
            assert_int_equal(quorum_evaluate(m, n, q, false), QUORUM_INVALID);
            assert_int_equal(quorum_evaluate(m, n, q, true), QUORUM_INVALID);
            assert_int_equal(quorum_count_passed(m, n), q - 1);
        }
    }
}

/* Early decisions: VALID as soon as q passes over 2 RIRs; INVALID once too many failed. */
static void test_evaluate_early(void **state)
{
    struct quorum_member m[MAXN];
    (void)state;
    for (int n = 2; n <= MAXN; n++) {
        int q = quorum_default(n);
        int allowed = n - q;

        int need = q >= 2 ? q : 2; /* passes needed to reach two RIRs as well */

        fill(m, n, QUORUM_OUTCOME_PENDING);
        assert_int_equal(quorum_evaluate(m, n, q, false), QUORUM_UNDECIDED);
        for (int i = 0; i < need - 1; i++) m[i].outcome = QUORUM_OUTCOME_PASSED;
        assert_int_equal(quorum_evaluate(m, n, q, false), QUORUM_UNDECIDED);
        m[need - 1].outcome = QUORUM_OUTCOME_PASSED;
        assert_int_equal(quorum_evaluate(m, n, q, false), QUORUM_VALID);

        fill(m, n, QUORUM_OUTCOME_PENDING);
        if (n == 2) {
            /* One failure leaves a single RIR among the rest: INVALID at once. */
            m[1].outcome = QUORUM_OUTCOME_FAILED;
            assert_int_equal(quorum_evaluate(m, n, q, false), QUORUM_INVALID);
            continue;
        }
        for (int i = 0; i < allowed; i++) m[n - 1 - i].outcome = QUORUM_OUTCOME_FAILED;
        assert_int_equal(quorum_evaluate(m, n, q, false), QUORUM_UNDECIDED);
        m[0].outcome = QUORUM_OUTCOME_ERROR;
        assert_int_equal(quorum_evaluate(m, n, q, false), QUORUM_INVALID);
    }
}

/* Pending members count as failed when final; final never returns UNDECIDED. */
static void test_evaluate_final_mode(void **state)
{
    struct quorum_member m[MAXN];
    (void)state;
    for (int n = 2; n <= MAXN; n++) {
        int q = quorum_default(n);

        fill(m, n, QUORUM_OUTCOME_PENDING);
        assert_int_equal(quorum_evaluate(m, n, q, true), QUORUM_INVALID);
        assert_int_equal(quorum_count_incomplete(m, n, true), n);
        assert_int_equal(quorum_count_incomplete(m, n, false), 0);
        for (int i = 0; i < q - 1; i++) m[i].outcome = QUORUM_OUTCOME_PASSED;
        assert_int_equal(quorum_evaluate(m, n, q, false), QUORUM_UNDECIDED);
        assert_int_equal(quorum_evaluate(m, n, q, true), QUORUM_INVALID);
        assert_int_equal(quorum_count_incomplete(m, n, true), n - (q - 1));
        m[q - 1].outcome = QUORUM_OUTCOME_PASSED;
        assert_int_equal(quorum_evaluate(m, n, q, true), q >= 2 ? QUORUM_VALID : QUORUM_INVALID);
        for (int i = q; i < n; i++) m[i].outcome = QUORUM_OUTCOME_PASSED;
        assert_int_equal(quorum_evaluate(m, n, q, true), QUORUM_VALID);
    }
}

/* Passing perspectives must span two RIRs, whatever the count. */
static void test_evaluate_rir_rule(void **state)
{
    struct quorum_member m[MAXN];
    (void)state;
    for (int n = 2; n <= MAXN; n++) {
        int q = quorum_default(n);

        /* All in one RIR: never valid, decided at once. */
        for (int i = 0; i < n; i++) {
            m[i].rir = RIR_APNIC;
            m[i].outcome = QUORUM_OUTCOME_PENDING;
        }
        assert_int_equal(quorum_evaluate(m, n, q, false), QUORUM_INVALID);
        for (int i = 0; i < n; i++) m[i].outcome = QUORUM_OUTCOME_PASSED;
        assert_int_equal(quorum_evaluate(m, n, q, false), QUORUM_INVALID);
        assert_int_equal(quorum_count_passed(m, n), n);

        /* Only the last member is in another RIR: quorum of passes is not enough alone. */
        m[n - 1].rir = RIR_LACNIC;
        for (int i = 0; i < n; i++) m[i].outcome = QUORUM_OUTCOME_PENDING;
        for (int i = 0; i < q && i < n - 1; i++) m[i].outcome = QUORUM_OUTCOME_PASSED;
        if (q <= n - 1) {
            assert_int_equal(quorum_evaluate(m, n, q, false), QUORUM_UNDECIDED);
            assert_int_equal(quorum_evaluate(m, n, q, true), QUORUM_INVALID);
            m[n - 1].outcome = QUORUM_OUTCOME_FAILED;
            assert_int_equal(quorum_evaluate(m, n, q, false), QUORUM_INVALID);
            m[n - 1].outcome = QUORUM_OUTCOME_PASSED;
            assert_int_equal(quorum_evaluate(m, n, q, false), QUORUM_VALID);
        }
    }
}

/* Out-of-range RIR values do not count as a second RIR. */
static void test_evaluate_bad_rir(void **state)
{
    struct quorum_member m[3] = {
        {RIR_ARIN, QUORUM_OUTCOME_PASSED},
        {(enum rir)17, QUORUM_OUTCOME_PASSED},
        {RIR_ARIN, QUORUM_OUTCOME_PASSED},
    };
    (void)state;
    assert_int_equal(quorum_evaluate(m, 3, 2, true), QUORUM_INVALID);
    assert_int_equal(quorum_evaluate(NULL, 0, 1, true), QUORUM_INVALID);
}

static void test_min_remote_phase_in(void **state)
{
    (void)state;
    assert_int_equal(quorum_min_remote(0), 2);
    assert_int_equal(quorum_min_remote(phase3_ms - 1), 2);
    assert_int_equal(quorum_min_remote(phase3_ms), 3);
    assert_int_equal(quorum_min_remote(phase4_ms - 1), 3);
    assert_int_equal(quorum_min_remote(phase4_ms), 4);
    assert_int_equal(quorum_min_remote(phase5_ms - 1), 4);
    assert_int_equal(quorum_min_remote(phase5_ms), 5);
    assert_int_equal(quorum_min_remote(INT64_MAX), 5);
}

static void test_verdict_names(void **state)
{
    (void)state;
    assert_string_equal(quorum_verdict_name(QUORUM_VALID), "valid");
    assert_string_equal(quorum_verdict_name(QUORUM_INVALID), "invalid");
    assert_string_equal(quorum_verdict_name(QUORUM_UNDECIDED), "undecided");
}

/* Boulder's rule: the primary must pass AND the remote quorum must hold. */
static void test_with_primary(void **state)
{
    const enum quorum_verdict vs[] = {QUORUM_UNDECIDED, QUORUM_VALID, QUORUM_INVALID};
    (void)state;
    for (int i = 0; i < 3; i++) {
        for (int final = 0; final < 2; final++) {
            /* a failed or errored primary is invalid whatever the remotes say */
            assert_int_equal(quorum_with_primary(vs[i], QUORUM_OUTCOME_FAILED, final),
                             QUORUM_INVALID);
            assert_int_equal(quorum_with_primary(vs[i], QUORUM_OUTCOME_ERROR, final),
                             QUORUM_INVALID);
            /* a passed primary leaves the remote verdict */
            assert_int_equal(quorum_with_primary(vs[i], QUORUM_OUTCOME_PASSED, final), vs[i]);
        }
    }
    /* a pending primary: wait, unless the remotes already failed or the deadline passed */
    assert_int_equal(quorum_with_primary(QUORUM_VALID, QUORUM_OUTCOME_PENDING, false),
                     QUORUM_UNDECIDED);
    assert_int_equal(quorum_with_primary(QUORUM_UNDECIDED, QUORUM_OUTCOME_PENDING, false),
                     QUORUM_UNDECIDED);
    assert_int_equal(quorum_with_primary(QUORUM_INVALID, QUORUM_OUTCOME_PENDING, false),
                     QUORUM_INVALID);
    assert_int_equal(quorum_with_primary(QUORUM_VALID, QUORUM_OUTCOME_PENDING, true),
                     QUORUM_INVALID);
}

/* A full remote quorum with a failing primary: invalid early, before the stragglers. */
static void test_with_primary_full_quorum(void **state)
{
    struct quorum_member m[4] = {{RIR_ARIN, QUORUM_OUTCOME_PASSED},
                                 {RIR_RIPE_NCC, QUORUM_OUTCOME_PASSED},
                                 {RIR_APNIC, QUORUM_OUTCOME_PASSED},
                                 {RIR_ARIN, QUORUM_OUTCOME_PASSED}};
    enum quorum_verdict remote = quorum_evaluate(m, 4, 3, false);
    (void)state;
    assert_int_equal(remote, QUORUM_VALID);
    assert_int_equal(quorum_with_primary(remote, QUORUM_OUTCOME_FAILED, false), QUORUM_INVALID);
    assert_int_equal(quorum_with_primary(remote, QUORUM_OUTCOME_PASSED, false), QUORUM_VALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_allowed_failures_table),
        cmocka_unit_test(test_default_quorum),
        cmocka_unit_test(test_count_valid),
        cmocka_unit_test(test_evaluate_final_counts),
        cmocka_unit_test(test_evaluate_early),
        cmocka_unit_test(test_evaluate_final_mode),
        cmocka_unit_test(test_evaluate_rir_rule),
        cmocka_unit_test(test_evaluate_bad_rir),
        cmocka_unit_test(test_min_remote_phase_in),
        cmocka_unit_test(test_verdict_names),
        cmocka_unit_test(test_with_primary),
        cmocka_unit_test(test_with_primary_full_quorum),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
