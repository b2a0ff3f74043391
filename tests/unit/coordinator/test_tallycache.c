/*
 * Tests for coordinator/tallycache.c: storing the tally a lua/record call will leave, merging a
 * tally read from Redis with outcomes still on the wire, closed attempts (tombstones), FIFO
 * eviction at the cap, attempts, a NULL cache.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "tallycache.h"

static void seed(struct tally *t, bool primary)
{
    assert_int_equal(tally_init(t, TALLY_OPEN, 3, 2, "a,b,c", "0,1,2", 5000), 0);
    if (primary) assert_int_equal(tally_expect_primary(t, "pr"), 0);
}

static void test_get_put_close_and_attempts(void **state)
{
    struct tallycache *c = tallycache_new(4);
    struct tally t, got;
    (void)state;
    seed(&t, false);
    assert_false(tallycache_get(c, "r1", 1, &got));
    tallycache_put(c, "r1", 1, &t);
    assert_true(tallycache_get(c, "r1", 1, &got));
    assert_false(tallycache_get(c, "r1", 2, &got)); /* another attempt */
    tallycache_note(c, "r1", 1, "b", "P");
    tallycache_note(c, "r1", 2, "c", "P"); /* another attempt: ignored */
    tallycache_note(c, "r9", 1, "c", "P"); /* no entry: ignored */
    assert_true(tallycache_get(c, "r1", 1, &got));
    assert_int_equal(got.count, 1);
    assert_int_equal(got.members[1].outcome, QUORUM_OUTCOME_PASSED);
    tallycache_close(c, "r1", 1);
    tallycache_close(c, "r1", 1); /* again: no effect */
    assert_false(tallycache_get(c, "r1", 1, &got));
    tallycache_put(c, "r1", 1, &t); /* a closed attempt stays closed */
    assert_false(tallycache_get(c, "r1", 1, &got));
    tallycache_close(c, "r8", 1); /* no entry: a tombstone */
    tallycache_put(c, "r8", 1, &t);
    assert_false(tallycache_get(c, "r8", 1, &got));
    /* an id too long for the index is not kept */
    tallycache_put(c, "0123456789012345678901234567890123456789xyz", 1, &t);
    assert_false(tallycache_get(c, "0123456789012345678901234567890123456789xyz", 1, &got));
    tallycache_free(c);
}

static void test_merge_keeps_outcomes_on_the_wire(void **state)
{
    struct tallycache *c = tallycache_new(4);
    struct tally t, reply, got;
    (void)state;
    seed(&t, true);
    tallycache_put(c, "r1", 1, &t);
    tallycache_note(c, "r1", 1, "a", "P");  /* first record sent */
    tallycache_note(c, "r1", 1, "pr", "P"); /* second record sent */
    tallycache_note(c, "r1", 1, "b", "P");
    /* the first reply: Redis stored a, and c (another reducer's), not yet pr or b */
    reply = t;
    assert_true(tally_add(&reply, "a", "P"));
    assert_true(tally_add(&reply, "c", "E"));
    reply.state = TALLY_DECIDED;
    tallycache_merge(c, "r1", 1, &reply);
    assert_true(tallycache_get(c, "r1", 1, &got));
    assert_int_equal(got.state, TALLY_DECIDED);
    assert_int_equal(got.count, 4);
    assert_true(tally_all_reported(&got));
    assert_int_equal(got.members[2].outcome, QUORUM_OUTCOME_ERROR);
    assert_int_equal(got.primary_outcome, QUORUM_OUTCOME_PASSED);
    /* Redis' outcome wins over ours for the same perspective */
    tallycache_put(c, "r2", 1, &t);
    tallycache_note(c, "r2", 1, "a", "P");
    reply = t;
    assert_true(tally_add(&reply, "a", "F"));
    tallycache_merge(c, "r2", 1, &reply);
    assert_true(tallycache_get(c, "r2", 1, &got));
    assert_int_equal(got.members[0].outcome, QUORUM_OUTCOME_FAILED);
    assert_int_equal(got.count, 1);
    /* a reply for another attempt replaces the entry */
    reply = t;
    tallycache_merge(c, "r2", 2, &reply);
    assert_false(tallycache_get(c, "r2", 1, &got));
    assert_true(tallycache_get(c, "r2", 2, &got));
    assert_int_equal(got.count, 0);
    tallycache_free(c);
}

/*
 * The reducer judged a request ahead (closing its attempt) while the reply to an earlier
 * record was still on the wire: that reply must not bring the tally back, or a late straggler
 * would be judged ahead against a request already answered. A retry's attempt starts afresh
 * until the request is answered.
 */
static void test_closed_attempt_is_not_brought_back(void **state)
{
    struct tallycache *c = tallycache_new(4);
    struct tally t, reply, got;
    (void)state;
    seed(&t, false);
    tallycache_put(c, "r1", 1, &t);
    tallycache_note(c, "r1", 1, "a", "P"); /* first record sent */
    tallycache_note(c, "r1", 1, "b", "P");
    tallycache_note(c, "r1", 1, "c", "P"); /* second record, judged ahead */
    tallycache_close(c, "r1", 1);
    reply = t; /* the first record's reply */
    assert_true(tally_add(&reply, "a", "P"));
    assert_true(tally_add(&reply, "b", "P"));
    tallycache_merge(c, "r1", 1, &reply);
    assert_false(tallycache_get(c, "r1", 1, &got));
    tallycache_note(c, "r1", 1, "c", "P"); /* a straggler: not noted */
    assert_false(tallycache_get(c, "r1", 1, &got));
    /* the next attempt (a retry) is predicted again */
    tallycache_merge(c, "r1", 2, &t);
    tallycache_note(c, "r1", 2, "a", "P");
    assert_true(tallycache_get(c, "r1", 2, &got));
    assert_int_equal(got.count, 1);
    /* answered: no attempt comes back */
    tallycache_close(c, "r1", TALLYCACHE_ANSWERED);
    assert_false(tallycache_get(c, "r1", 2, &got));
    tallycache_merge(c, "r1", 3, &t);
    tallycache_put(c, "r1", 3, &t);
    assert_false(tallycache_get(c, "r1", 3, &got));
    tallycache_close(c, "r1", 2); /* an earlier attempt closed later: no effect */
    assert_false(tallycache_get(c, "r1", 3, &got));
    tallycache_free(c);
}

static void test_fifo_eviction(void **state)
{
    struct tallycache *c = tallycache_new(3);
    struct tally t, got;
    char rid[16];
    (void)state;
    seed(&t, false);
    for (int i = 0; i < 5; i++) {
        snprintf(rid, sizeof(rid), "r%d", i);
        tallycache_put(c, rid, 1, &t);
    }
    assert_false(tallycache_get(c, "r0", 1, &got));
    assert_false(tallycache_get(c, "r1", 1, &got));
    for (int i = 2; i < 5; i++) {
        snprintf(rid, sizeof(rid), "r%d", i);
        assert_true(tallycache_get(c, rid, 1, &got));
    }
    tallycache_put(c, "r3", 1, &t); /* an update keeps its place */
    tallycache_close(c, "r2", 1);   /* a tombstone keeps its slot until evicted */
    assert_false(tallycache_get(c, "r2", 1, &got));
    tallycache_put(c, "r5", 1, &t); /* evicts the oldest, r2's tombstone */
    assert_true(tallycache_get(c, "r3", 1, &got));
    assert_true(tallycache_get(c, "r4", 1, &got));
    assert_true(tallycache_get(c, "r5", 1, &got));
    tallycache_put(c, "r6", 1, &t); /* evicts the oldest, r3 */
    assert_false(tallycache_get(c, "r3", 1, &got));
    assert_true(tallycache_get(c, "r6", 1, &got));
    tallycache_free(c);
}

static void test_null_cache_holds_nothing(void **state)
{
    struct tally t, got;
    (void)state;
    seed(&t, false);
    tallycache_put(NULL, "r1", 1, &t);
    tallycache_note(NULL, "r1", 1, "a", "P");
    tallycache_merge(NULL, "r1", 1, &t);
    tallycache_close(NULL, "r1", 1);
    assert_false(tallycache_get(NULL, "r1", 1, &got));
    tallycache_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get_put_close_and_attempts),
        cmocka_unit_test(test_merge_keeps_outcomes_on_the_wire),
        cmocka_unit_test(test_closed_attempt_is_not_brought_back),
        cmocka_unit_test(test_fifo_eviction),
        cmocka_unit_test(test_null_cache_holds_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
