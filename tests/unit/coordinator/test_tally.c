/*
 * Tests for coordinator/tally.c: tally_parse over hand-built hiredis reply trees shaped like
 * the lua/record.lua and lua/tally.lua replies (valid ones and every kind of corruption),
 * tally_judge / tally_reason on the parsed result, and a tally built at admission (tally_init)
 * that outcomes are added to (tally_add).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tally.h"

static redisReply *mk_str(const char *s)
{
    redisReply *r = calloc(1, sizeof(*r));
    r->type = REDIS_REPLY_STRING;
    r->len = strlen(s);
    r->str = strdup(s);
    return r;
}

static redisReply *mk_other(int type)
{
    redisReply *r = calloc(1, sizeof(*r));
    r->type = type;
    r->integer = 3;
    if (type == REDIS_REPLY_STATUS || type == REDIS_REPLY_ERROR) {
        r->str = strdup("3");
        r->len = 1;
    }
    return r;
}

/* Array reply of the NULL-terminated strings. */
static redisReply *mk(const char *first, ...)
{
    redisReply *r = calloc(1, sizeof(*r));
    va_list ap;
    const char *s;

    r->type = REDIS_REPLY_ARRAY;
    r->element = calloc(64, sizeof(redisReply *));
    va_start(ap, first);
    for (s = first; s != NULL; s = va_arg(ap, const char *)) r->element[r->elements++] = mk_str(s);
    va_end(ap);
    return r;
}

/* Replaces element i with a reply of another type. */
static void set_elem(redisReply *r, size_t i, redisReply *e)
{
    freeReplyObject(r->element[i]);
    r->element[i] = e;
}

static int parse_and_free(redisReply *r, struct tally *t)
{
    int rc = tally_parse(r, t);
    freeReplyObject(r);
    return rc;
}

#define HEAD(state) "ok", state, "3", "2", "us-east-1,eu-west-1,ap-south-1", "0,1,2", "1700000000000"

static void test_parse_valid(void **state)
{
    struct tally t;
    (void)state;

    assert_int_equal(parse_and_free(mk(HEAD("open"), "eu-west-1", "P", "ap-south-1", "F", NULL), &t),
                     0);
    assert_int_equal(t.state, TALLY_OPEN);
    assert_int_equal(t.n, 3);
    assert_int_equal(t.q, 2);
    assert_true(t.deadline_ms == 1700000000000);
    assert_int_equal(t.count, 2);
    assert_string_equal(t.codes[0], "us-east-1");
    assert_string_equal(t.codes[1], "eu-west-1");
    assert_string_equal(t.codes[2], "ap-south-1");
    assert_int_equal(t.members[0].rir, RIR_ARIN);
    assert_int_equal(t.members[1].rir, RIR_RIPE_NCC);
    assert_int_equal(t.members[2].rir, RIR_APNIC);
    assert_int_equal(t.members[0].outcome, QUORUM_OUTCOME_PENDING);
    assert_int_equal(t.members[1].outcome, QUORUM_OUTCOME_PASSED);
    assert_int_equal(t.members[2].outcome, QUORUM_OUTCOME_FAILED);

    /* "dup" replies and the other states parse the same way; no outcomes yet is fine */
    assert_int_equal(parse_and_free(mk("dup", "decided", "3", "3", "us-east-1,eu-west-1,ap-south-1",
                                       "0,1,2", "5", "us-east-1", "E", NULL),
                                    &t),
                     0);
    assert_int_equal(t.state, TALLY_DECIDED);
    assert_int_equal(t.members[0].outcome, QUORUM_OUTCOME_ERROR);
    assert_int_equal(t.count, 1);
    assert_int_equal(parse_and_free(mk(HEAD("replied"), NULL), &t), 0);
    assert_int_equal(t.state, TALLY_REPLIED);
    assert_int_equal(t.count, 0);
    for (int i = 0; i < 3; i++) assert_int_equal(t.members[i].outcome, QUORUM_OUTCOME_PENDING);

    /* a one-member cohort and the largest one */
    assert_int_equal(parse_and_free(mk("ok", "open", "1", "1", "a", "4", "0", "a", "P", NULL), &t),
                     0);
    assert_int_equal(t.members[0].rir, RIR_AFRINIC);
    {
        char codes[COHORT_MAX * 4], rirs[COHORT_MAX * 2], n[8];
        size_t co = 0, ro = 0;
        for (int i = 0; i < COHORT_MAX; i++) {
            co += (size_t)snprintf(codes + co, sizeof(codes) - co, "%sp%d", i ? "," : "", i);
            ro += (size_t)snprintf(rirs + ro, sizeof(rirs) - ro, "%s%d", i ? "," : "", i % 5);
        }
        snprintf(n, sizeof(n), "%d", COHORT_MAX);
        assert_int_equal(parse_and_free(mk("ok", "open", n, n, codes, rirs, "1", "p31", "P", NULL),
                                        &t),
                         0);
        assert_int_equal(t.n, COHORT_MAX);
        assert_int_equal(t.members[31].outcome, QUORUM_OUTCOME_PASSED);
        assert_int_equal(t.members[31].rir, 31 % 5);
        snprintf(n, sizeof(n), "%d", COHORT_MAX + 1);
        assert_int_equal(parse_and_free(mk("ok", "open", n, "1", codes, rirs, "1", NULL), &t), -1);
    }
}

static void test_parse_malformed(void **state)
{
    struct tally t;
    redisReply *r;
    (void)state;

    assert_int_equal(tally_parse(NULL, &t), -1);
    /* status-only replies */
    assert_int_equal(parse_and_free(mk("gone", NULL), &t), -1);
    assert_int_equal(parse_and_free(mk("ok", "open", "3", "2", "a,b,c", "0,1", NULL), &t), -1);
    /* not an array */
    r = mk_str("ok");
    assert_int_equal(parse_and_free(r, &t), -1);
    r = mk_other(REDIS_REPLY_NIL);
    assert_int_equal(parse_and_free(r, &t), -1);
    /* unknown state */
    assert_int_equal(parse_and_free(mk(HEAD("closed"), NULL), &t), -1);
    assert_int_equal(parse_and_free(mk(HEAD("OPEN"), NULL), &t), -1);
    /* n and q */
    assert_int_equal(parse_and_free(mk("ok", "open", "0", "1", "", "", "1", NULL), &t), -1);
    assert_int_equal(parse_and_free(mk("ok", "open", "x", "1", "a", "0", "1", NULL), &t), -1);
    assert_int_equal(parse_and_free(mk("ok", "open", "1", "0", "a", "0", "1", NULL), &t), -1);
    assert_int_equal(parse_and_free(mk("ok", "open", "1", "33", "a", "0", "1", NULL), &t), -1);
    assert_int_equal(parse_and_free(mk("ok", "open", " 1", "1", "a", "0", "1", NULL), &t), -1);
    /* cohort / rirs length mismatches */
    assert_int_equal(parse_and_free(mk("ok", "open", "3", "2", "a,b", "0,1,2", "1", NULL), &t), -1);
    assert_int_equal(parse_and_free(mk("ok", "open", "3", "2", "a,b,c", "0,1", "1", NULL), &t), -1);
    assert_int_equal(parse_and_free(mk("ok", "open", "2", "2", "a,b,c", "0,1,2", "1", NULL), &t),
                     -1);
    assert_int_equal(parse_and_free(mk("ok", "open", "2", "2", "a,,b", "0,1", "1", NULL), &t), -1);
    assert_int_equal(parse_and_free(mk("ok", "open", "2", "2", "a,b,", "0,1", "1", NULL), &t), -1);
    assert_int_equal(parse_and_free(mk("ok", "open", "2", "2", ",a,b", "0,1", "1", NULL), &t), -1);
    assert_int_equal(parse_and_free(mk("ok", "open", "2", "2", "a,b", "0,1,", "1", NULL), &t), -1);
    /* bad RIR numbers */
    assert_int_equal(parse_and_free(mk("ok", "open", "2", "2", "a,b", "0,5", "1", NULL), &t), -1);
    assert_int_equal(parse_and_free(mk("ok", "open", "2", "2", "a,b", "0,-1", "1", NULL), &t), -1);
    assert_int_equal(parse_and_free(mk("ok", "open", "2", "2", "a,b", "0,x", "1", NULL), &t), -1);
    assert_int_equal(parse_and_free(mk("ok", "open", "2", "2", "a,b", "0,ARIN", "1", NULL), &t),
                     -1);
    /* deadline */
    assert_int_equal(parse_and_free(mk("ok", "open", "2", "2", "a,b", "0,1", "-1", NULL), &t), -1);
    assert_int_equal(parse_and_free(mk("ok", "open", "2", "2", "a,b", "0,1", "soon", NULL), &t),
                     -1);
    /* outcome pairs: odd count, unknown code, bad letters */
    assert_int_equal(parse_and_free(mk(HEAD("open"), "us-east-1", NULL), &t), -1);
    assert_int_equal(parse_and_free(mk(HEAD("open"), "us-west-2", "P", NULL), &t), -1);
    assert_int_equal(parse_and_free(mk(HEAD("open"), "us-east", "P", NULL), &t), -1);
    assert_int_equal(parse_and_free(mk(HEAD("open"), "us-east-1", "X", NULL), &t), -1);
    assert_int_equal(parse_and_free(mk(HEAD("open"), "us-east-1", "p", NULL), &t), -1);
    assert_int_equal(parse_and_free(mk(HEAD("open"), "us-east-1", "PP", NULL), &t), -1);
    assert_int_equal(parse_and_free(mk(HEAD("open"), "us-east-1", "", NULL), &t), -1);
    /* a code longer than a perspective code can be */
    {
        char longcode[PERSPECTIVE_CODE_MAX + 2];
        memset(longcode, 'a', sizeof(longcode) - 1);
        longcode[sizeof(longcode) - 1] = '\0';
        assert_int_equal(parse_and_free(mk("ok", "open", "1", "1", longcode, "0", "1", NULL), &t),
                         -1);
    }
}

/* Every element position with a non-string reply is rejected. */
static void test_parse_non_string_elements(void **state)
{
    static const int types[] = {REDIS_REPLY_INTEGER, REDIS_REPLY_NIL, REDIS_REPLY_ARRAY,
                                REDIS_REPLY_STATUS, REDIS_REPLY_ERROR};
    struct tally t;
    (void)state;

    for (size_t pos = 1; pos < 11; pos++) {
        for (size_t k = 0; k < sizeof(types) / sizeof(types[0]); k++) {
            redisReply *r = mk(HEAD("open"), "eu-west-1", "P", "ap-south-1", "F", NULL);
            set_elem(r, pos, mk_other(types[k]));
            if (parse_and_free(r, &t) != -1) fail_msg("type %d at %zu accepted", types[k], pos);
        }
    }
}

static struct tally parsed(const char *cohort, const char *rirs, int n, int q, const char *o1,
                           const char *v1, const char *o2, const char *v2, const char *o3,
                           const char *v3)
{
    struct tally t;
    char ns[8], qs[8];
    redisReply *r;

    snprintf(ns, sizeof(ns), "%d", n);
    snprintf(qs, sizeof(qs), "%d", q);
    r = mk("ok", "open", ns, qs, cohort, rirs, "1", o1, v1, o2, v2, o3, v3, NULL);
    assert_int_equal(parse_and_free(r, &t), 0);
    return t;
}

static void test_judge_and_reason(void **state)
{
    struct tally t;
    char reason[256];
    (void)state;

    /* 2 of 3 passed across ARIN and RIPE: valid early */
    t = parsed("a,b,c", "0,1,2", 3, 2, "a", "P", "b", "P", NULL, NULL);
    assert_int_equal(tally_judge(&t, false), QUORUM_VALID);
    tally_reason(&t, false, reason, sizeof(reason));
    assert_non_null(strstr(reason, "2/3 passed"));
    assert_non_null(strstr(reason, "quorum 2"));
    assert_non_null(strstr(reason, "ARIN"));
    assert_non_null(strstr(reason, "RIPE NCC"));
    assert_null(strstr(reason, "APNIC"));
    assert_null(strstr(reason, "deadline"));

    /* 2 passes in the same RIR, third pending: undecided; at the deadline invalid */
    t = parsed("a,b,c", "0,0,2", 3, 2, "a", "P", "b", "P", NULL, NULL);
    assert_int_equal(t.count, 2);
    assert_int_equal(tally_judge(&t, false), QUORUM_UNDECIDED);
    assert_int_equal(tally_judge(&t, true), QUORUM_INVALID);
    tally_reason(&t, true, reason, sizeof(reason));
    assert_non_null(strstr(reason, "at the deadline"));
    /* each RIR is listed once */
    assert_non_null(strstr(reason, "ARIN"));
    assert_null(strstr(strstr(reason, "ARIN") + 1, "ARIN"));

    /* two failures of three with q=2: invalid before the last reports */
    t = parsed("a,b,c", "0,1,2", 3, 2, "a", "F", "b", "E", NULL, NULL);
    assert_int_equal(tally_judge(&t, false), QUORUM_INVALID);
    tally_reason(&t, false, reason, sizeof(reason));
    assert_non_null(strstr(reason, "0/3 passed"));

    /* all three passed */
    t = parsed("a,b,c", "0,1,2", 3, 3, "c", "P", "b", "P", "a", "P");
    assert_int_equal(t.count, 3);
    assert_int_equal(tally_judge(&t, false), QUORUM_VALID);
    assert_int_equal(tally_judge(&t, true), QUORUM_VALID);

    /* a tiny buffer is truncated, terminated and not overrun */
    memset(reason, 'Z', sizeof(reason));
    tally_reason(&t, false, reason, 10);
    assert_int_equal(strlen(reason), 9);
    assert_int_equal(reason[10], 'Z');
    memset(reason, 'Z', sizeof(reason));
    tally_reason(&t, false, reason, 36);
    assert_true(strlen(reason) <= 35);
    assert_int_equal(reason[36], 'Z');
}

/* The primary's pair "@code": pending ("-") then reported; judged with Boulder's rule. */
static void test_parse_primary(void **state)
{
    struct tally t;
    char reason[256];
    (void)state;

    /* all remotes passed, primary pending: undecided, not all reported */
    assert_int_equal(parse_and_free(mk(HEAD("open"), "@sa-east-1", "-", "us-east-1", "P",
                                       "eu-west-1", "P", "ap-south-1", "P", NULL), &t), 0);
    assert_true(t.has_primary);
    assert_string_equal(t.primary, "sa-east-1");
    assert_int_equal(t.primary_outcome, QUORUM_OUTCOME_PENDING);
    assert_int_equal(t.count, 3);
    assert_false(tally_all_reported(&t));
    assert_int_equal(tally_judge(&t, false), QUORUM_UNDECIDED);
    assert_int_equal(tally_judge(&t, true), QUORUM_INVALID);

    /* the primary failed: invalid although every remote passed */
    assert_int_equal(parse_and_free(mk(HEAD("open"), "us-east-1", "P", "eu-west-1", "P",
                                       "ap-south-1", "P", "@sa-east-1", "F", NULL), &t), 0);
    assert_int_equal(t.count, 4);
    assert_true(tally_all_reported(&t));
    assert_int_equal(tally_judge(&t, false), QUORUM_INVALID);
    tally_reason(&t, false, reason, sizeof(reason));
    assert_non_null(strstr(reason, "primary sa-east-1 failed"));

    /* the primary passed early: the remotes decide */
    assert_int_equal(parse_and_free(mk(HEAD("open"), "@sa-east-1", "P", "us-east-1", "P",
                                       "eu-west-1", "P", NULL), &t), 0);
    assert_int_equal(tally_judge(&t, false), QUORUM_VALID);

    /* malformed: two primaries, a primary in the cohort, "-" for a remote, bad code */
    assert_int_equal(parse_and_free(mk(HEAD("open"), "@a", "-", "@b", "P", NULL), &t), -1);
    assert_int_equal(parse_and_free(mk(HEAD("open"), "@us-east-1", "-", NULL), &t), -1);
    assert_int_equal(parse_and_free(mk(HEAD("open"), "us-east-1", "-", NULL), &t), -1);
    assert_int_equal(parse_and_free(mk(HEAD("open"), "@", "P", NULL), &t), -1);
    assert_int_equal(parse_and_free(mk(HEAD("open"), "@A_B", "P", NULL), &t), -1);

    /* no primary: all reported at n */
    assert_int_equal(parse_and_free(mk(HEAD("open"), "us-east-1", "P", "eu-west-1", "P",
                                       "ap-south-1", "F", NULL), &t), 0);
    assert_false(t.has_primary);
    assert_true(tally_all_reported(&t));
}

/* A tally built as the coordinator seeds it at admission: cohort a,b,c (n 3, q 2). */
static void seed(struct tally *t, bool primary)
{
    assert_int_equal(tally_init(t, TALLY_OPEN, 3, 2, "a,b,c", "0,1,2", 5000), 0);
    if (primary) assert_int_equal(tally_expect_primary(t, "pr"), 0);
}

static void test_init_checks_the_cohort(void **state)
{
    struct tally t;
    (void)state;
    assert_int_equal(tally_init(&t, TALLY_OPEN, 2, 2, "a,b,c", "0,1,2", 1), -1);
    assert_int_equal(tally_init(&t, TALLY_OPEN, 3, 2, "a,b,c", "0,1", 1), -1);
    assert_int_equal(tally_init(&t, TALLY_OPEN, 3, 2, "a,b,c", "0,1,9", 1), -1);
    assert_int_equal(tally_init(&t, TALLY_OPEN, 3, 0, "a,b,c", "0,1,2", 1), -1);
    seed(&t, true);
    assert_int_equal(t.count, 0);
    assert_true(t.has_primary);
    assert_int_equal(t.primary_outcome, QUORUM_OUTCOME_PENDING);
    assert_int_equal(tally_expect_primary(&t, "pr"), -1); /* one primary */
    seed(&t, false);
    assert_int_equal(tally_expect_primary(&t, "b"), -1); /* a member cannot be the primary */
}

static void test_add_predicts_and_refuses(void **state)
{
    struct tally t;
    (void)state;
    seed(&t, true);
    assert_true(tally_add(&t, "a", "P"));
    assert_true(tally_add(&t, "pr", "E"));
    assert_false(tally_add(&t, "a", "P"));  /* already reported: a duplicate */
    assert_false(tally_add(&t, "x", "P"));  /* not in the cohort */
    assert_false(tally_add(&t, "b", "?"));  /* not an outcome */
    assert_false(tally_add(&t, "pr", "P")); /* the primary reported already */
    assert_false(tally_all_reported(&t));
    assert_true(tally_add(&t, "b", "P"));
    assert_true(tally_add(&t, "c", "F"));
    assert_int_equal(t.count, 4);
    assert_true(tally_all_reported(&t));
    assert_int_equal(t.members[2].outcome, QUORUM_OUTCOME_FAILED);
    assert_int_equal(t.primary_outcome, QUORUM_OUTCOME_ERROR);
    assert_string_equal(tally_letter(t.members[0].outcome), "P");
    assert_string_equal(tally_letter(t.members[2].outcome), "F");
    assert_string_equal(tally_letter(t.primary_outcome), "E");
    assert_string_equal(tally_letter(QUORUM_OUTCOME_PENDING), "-");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_valid),
        cmocka_unit_test(test_parse_malformed),
        cmocka_unit_test(test_parse_non_string_elements),
        cmocka_unit_test(test_judge_and_reason),
        cmocka_unit_test(test_parse_primary),
        cmocka_unit_test(test_init_checks_the_cohort),
        cmocka_unit_test(test_add_predicts_and_refuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
