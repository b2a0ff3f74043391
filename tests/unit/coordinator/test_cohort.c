/*
 * Unit tests for coordinator/cohort: the 500 km rule from real (AWS region) coordinates, RIR
 * diversity, the HMAC ranking (recomputed here with OpenSSL), determinism, variation with
 * secret / target / attempt, and clear errors for configurations that cannot give a cohort.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cohort.h"

#define SECRET ((const unsigned char *)"test-secret")
#define SECRETLEN 11

/* Real region coordinates (approximate data-centre locations). */
static const struct perspective world[] = {
    {"us-east-1", "us-east-1", RIR_ARIN, 38.9, -77.4},           /* N. Virginia */
    {"us-east-2", "us-east-2", RIR_ARIN, 40.0, -83.0},           /* Ohio: 496 km from us-east-1 */
    {"us-west-1", "us-west-1", RIR_ARIN, 37.4, -121.9},          /* N. California */
    {"us-west-2", "us-west-2", RIR_ARIN, 45.8, -119.7},          /* Oregon */
    {"ca-central-1", "ca-central-1", RIR_ARIN, 45.5, -73.6},     /* Montreal */
    {"eu-west-1", "eu-west-1", RIR_RIPE_NCC, 53.3, -6.3},        /* Dublin */
    {"eu-west-2", "eu-west-2", RIR_RIPE_NCC, 51.5, -0.1},        /* London: 466 km from Dublin */
    {"eu-central-1", "eu-central-1", RIR_RIPE_NCC, 50.1, 8.7},   /* Frankfurt */
    {"eu-west-3", "eu-west-3", RIR_RIPE_NCC, 48.86, 2.35},       /* Paris: 341 km from London */
    {"eu-north-1", "eu-north-1", RIR_RIPE_NCC, 59.3, 18.1},      /* Stockholm */
    {"ap-northeast-1", "ap-northeast-1", RIR_APNIC, 35.7, 139.7},/* Tokyo */
    {"ap-northeast-3", "ap-northeast-3", RIR_APNIC, 34.7, 135.5},/* Osaka: 397 km from Tokyo */
    {"ap-southeast-1", "ap-southeast-1", RIR_APNIC, 1.35, 103.8},/* Singapore */
    {"sa-east-1", "sa-east-1", RIR_LACNIC, -23.5, -46.6},        /* Sao Paulo */
    {"af-south-1", "af-south-1", RIR_AFRINIC, -33.9, 18.4},      /* Cape Town */
};
#define NWORLD ((int)(sizeof(world) / sizeof(world[0])))

/* Asserts the cohort invariants: size, distinct members, 500 km pairwise, >= 2 RIRs. */
static void assert_valid_cohort(const struct perspective *all, int nall, const struct cohort *c,
                                int n)
{
    bool two_rirs = false;

    assert_int_equal(c->n, n);
    for (int i = 0; i < n; i++) {
        assert_in_range(c->idx[i], 0, nall - 1);
        if (all[c->idx[i]].rir != all[c->idx[0]].rir) two_rirs = true;
        for (int j = i + 1; j < n; j++) {
            assert_int_not_equal(c->idx[i], c->idx[j]);
            assert_true(perspective_distance_km(&all[c->idx[i]], &all[c->idx[j]]) >= 500.0);
        }
    }
    assert_true(two_rirs);
}

static bool cohort_same(const struct cohort *a, const struct cohort *b)
{
    return a->n == b->n && memcmp(a->idx, b->idx, sizeof(int) * (size_t)a->n) == 0;
}

static bool has_member(const struct cohort *c, const struct perspective *all, const char *code)
{
    for (int i = 0; i < c->n; i++) {
        if (strcmp(all[c->idx[i]].code, code) == 0) return true;
    }
    return false;
}

static void test_distances_from_coordinates(void **state)
{
    (void)state;
    /* The close pairs in the table really are closer than 500 km. */
    assert_true(perspective_distance_km(&world[0], &world[1]) < 500.0);
    assert_true(perspective_distance_km(&world[5], &world[6]) < 500.0);
    assert_true(perspective_distance_km(&world[6], &world[8]) < 500.0);
    assert_true(perspective_distance_km(&world[10], &world[11]) < 500.0);
    assert_true(perspective_distance_km(&world[0], &world[4]) > 500.0);
}

/* Across many targets and sizes, no cohort ever holds a too-close pair. */
static void test_valid_cohorts_many_targets(void **state)
{
    char target[64];
    char err[256];
    struct cohort c;
    (void)state;

    for (int n = 2; n <= 7; n++) {
        for (int t = 0; t < 200; t++) {
            snprintf(target, sizeof(target), "host%d.example.com", t);
            assert_int_equal(cohort_select(world, NWORLD, n, SECRET, SECRETLEN, target, 1, &c,
                                           err, sizeof(err)), 0);
            assert_valid_cohort(world, NWORLD, &c, n);
        }
    }
}

/* Recomputes the HMAC ranking: with all-distinct-far perspectives the cohort is the top n. */
static void test_hmac_order(void **state)
{
    static const struct perspective far[] = {
        {"us-east-1", "us-east-1", RIR_ARIN, 38.9, -77.4},
        {"us-west-2", "us-west-2", RIR_ARIN, 45.8, -119.7},
        {"eu-central-1", "eu-central-1", RIR_RIPE_NCC, 50.1, 8.7},
        {"ap-northeast-1", "ap-northeast-1", RIR_APNIC, 35.7, 139.7},
        {"sa-east-1", "sa-east-1", RIR_LACNIC, -23.5, -46.6},
        {"af-south-1", "af-south-1", RIR_AFRINIC, -33.9, 18.4},
    };
    /* the keyed context is cached per secret: switch secrets, come back, use the empty one */
    static const char *const secrets[] = {"test-secret", "another-secret", "test-secret", "",
                                          "test-secret"};
    unsigned char mac[6][32];
    int order[6];
    char msg[128];
    char err[256];
    struct cohort c;
    (void)state;

    for (size_t k = 0; k < sizeof(secrets) / sizeof(secrets[0]); k++) {
        const unsigned char *secret = (const unsigned char *)secrets[k];
        size_t secretlen = strlen(secrets[k]);
        for (int i = 0; i < 6; i++) {
            unsigned int len = 0;
            int m = snprintf(msg, sizeof(msg), "%s\n%d\n%s", "example.org", 3, far[i].code);
            assert_non_null(HMAC(EVP_sha256(), secretlen ? secret : (const unsigned char *)"",
                                 (int)secretlen, (unsigned char *)msg, (size_t)m, mac[i], &len));
            order[i] = i;
        }
        for (int i = 0; i < 6; i++) { /* selection sort by MAC */
            for (int j = i + 1; j < 6; j++) {
                if (memcmp(mac[order[j]], mac[order[i]], 32) < 0) {
                    int t = order[i];
                    order[i] = order[j];
                    order[j] = t;
                }
            }
        }
        /* All RIRs but ARIN differ, so the top 4 always span >= 2 RIRs. */
        assert_int_equal(cohort_select(far, 6, 4, secret, secretlen, "example.org", 3, &c, err,
                                       sizeof(err)), 0);
        for (int i = 0; i < 4; i++) assert_int_equal(c.idx[i], order[i]);
    }
}

static void test_deterministic(void **state)
{
    struct cohort a;
    struct cohort b;
    char err[256];
    (void)state;

    for (int n = 2; n <= 6; n++) {
        assert_int_equal(cohort_select(world, NWORLD, n, SECRET, SECRETLEN, "example.com", 1, &a,
                                       err, sizeof(err)), 0);
        assert_int_equal(cohort_select(world, NWORLD, n, SECRET, SECRETLEN, "example.com", 1, &b,
                                       err, sizeof(err)), 0);
        assert_true(cohort_same(&a, &b));
    }
}

/* Changing the secret, the target or the attempt changes the cohort (for some inputs). */
static void test_varies_with_inputs(void **state)
{
    struct cohort base;
    struct cohort other;
    char target[64];
    char err[256];
    int diff_secret = 0, diff_target = 0, diff_attempt = 0;
    (void)state;

    for (int t = 0; t < 20; t++) {
        snprintf(target, sizeof(target), "t%d.example.net", t);
        assert_int_equal(cohort_select(world, NWORLD, 4, SECRET, SECRETLEN, target, 1, &base, err,
                                       sizeof(err)), 0);
        assert_int_equal(cohort_select(world, NWORLD, 4, (const unsigned char *)"other", 5,
                                       target, 1, &other, err, sizeof(err)), 0);
        diff_secret += !cohort_same(&base, &other);
        assert_int_equal(cohort_select(world, NWORLD, 4, SECRET, SECRETLEN, target, 2, &other,
                                       err, sizeof(err)), 0);
        diff_attempt += !cohort_same(&base, &other);
        assert_int_equal(cohort_select(world, NWORLD, 4, SECRET, SECRETLEN, "fixed.example.net",
                                       1, &other, err, sizeof(err)), 0);
        diff_target += !cohort_same(&base, &other);
    }
    assert_true(diff_secret >= 10);
    assert_true(diff_attempt >= 10);
    assert_true(diff_target >= 10);
    /* An empty or NULL secret still works and is deterministic. */
    assert_int_equal(cohort_select(world, NWORLD, 3, NULL, 0, "x.example", 1, &base, err,
                                   sizeof(err)), 0);
    assert_int_equal(cohort_select(world, NWORLD, 3, (const unsigned char *)"", 0, "x.example",
                                   1, &other, err, sizeof(err)), 0);
    assert_true(cohort_same(&base, &other));
}

/* Only one non-ARIN perspective: every cohort must include it. */
static void test_rir_diversity_forced(void **state)
{
    static const struct perspective p[] = {
        {"us-east-1", "us-east-1", RIR_ARIN, 38.9, -77.4},
        {"us-west-2", "us-west-2", RIR_ARIN, 45.8, -119.7},
        {"us-west-1", "us-west-1", RIR_ARIN, 37.4, -121.9},
        {"ca-central-1", "ca-central-1", RIR_ARIN, 45.5, -73.6},
        {"eu-central-1", "eu-central-1", RIR_RIPE_NCC, 50.1, 8.7},
    };
    char target[64];
    char err[256];
    struct cohort c;
    (void)state;

    for (int t = 0; t < 50; t++) {
        snprintf(target, sizeof(target), "r%d.example", t);
        assert_int_equal(cohort_select(p, 5, 3, SECRET, SECRETLEN, target, 1, &c, err,
                                       sizeof(err)), 0);
        assert_valid_cohort(p, 5, &c, 3);
        assert_true(has_member(&c, p, "eu-central-1"));
    }
}

static void expect_error(const struct perspective *p, int np, int n, const char *needle)
{
    char err[256] = "";
    struct cohort c;

    assert_int_equal(cohort_select(p, np, n, SECRET, SECRETLEN, "example.com", 1, &c, err,
                                   sizeof(err)), -1);
    if (strstr(err, needle) == NULL) {
        print_error("error \"%s\" lacks \"%s\"\n", err, needle);
        fail();
    }
}

static void test_impossible_configs(void **state)
{
    static const struct perspective one_rir[] = {
        {"us-east-1", "us-east-1", RIR_ARIN, 38.9, -77.4},
        {"us-west-2", "us-west-2", RIR_ARIN, 45.8, -119.7},
        {"us-west-1", "us-west-1", RIR_ARIN, 37.4, -121.9},
    };
    /* Any 3 of these hold the Virginia/Ohio pair or the London/Paris pair (< 500 km). */
    static const struct perspective too_close[] = {
        {"us-east-1", "us-east-1", RIR_ARIN, 38.9, -77.4},
        {"us-east-2", "us-east-2", RIR_ARIN, 40.0, -83.0},
        {"eu-west-2", "eu-west-2", RIR_RIPE_NCC, 51.5, -0.1},
        {"eu-west-3", "eu-west-3", RIR_RIPE_NCC, 48.86, 2.35},
    };
    (void)state;

    expect_error(world, 3, 5, "cannot construct a cohort of 5 perspectives: only 3 configured");
    expect_error(one_rir, 3, 3, "cannot construct a cohort of 3 perspectives: perspectives span "
                 "only one RIR");
    expect_error(too_close, 4, 3, "cannot construct a cohort of 3 perspectives: no 3 perspectives "
                 "are pairwise at least 500 km apart with 2 RIRs");
    expect_error(world, NWORLD, 1, "cannot construct a cohort of 1 perspectives");
    expect_error(world, NWORLD, COHORT_MAX + 1, "cannot construct a cohort");
    /* A cohort of 2 is still possible from the too-close set (cross-Atlantic pairs). */
    struct cohort c;
    char err[128];
    assert_int_equal(cohort_select(too_close, 4, 2, SECRET, SECRETLEN, "a.example", 1, &c, err,
                                   sizeof(err)), 0);
    assert_valid_cohort(too_close, 4, &c, 2);
}

/* 5 far-apart clusters of 8 close perspectives: a cohort of 6 needs a bounded search. */
static void test_search_limit(void **state)
{
    struct perspective p[40];
    (void)state;

    memset(p, 0, sizeof(p));
    for (int i = 0; i < 40; i++) {
        int cluster = i / 8;
        snprintf(p[i].code, sizeof(p[i].code), "p%d", i);
        snprintf(p[i].region, sizeof(p[i].region), "p%d", i);
        p[i].rir = (enum rir)(cluster % 2);
        p[i].lat = 0.0 + 0.1 * (i % 8);
        p[i].lon = -150.0 + 60.0 * cluster;
    }
    expect_error(p, 40, 6, "cannot construct a cohort of 6 perspectives");
    expect_error(p, 40, 6, "search limit");
    /* 5 clusters: a cohort of 5 exists and is found. */
    struct cohort c;
    char err[128];
    assert_int_equal(cohort_select(p, 40, 5, SECRET, SECRETLEN, "a.example", 1, &c, err,
                                   sizeof(err)), 0);
    assert_valid_cohort(p, 40, &c, 5);
    /* With 2 clusters of 3 the exhaustive search ends without hitting the limit. */
    expect_error(p + 5, 6, 3, "pairwise at least 500 km");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_distances_from_coordinates),
        cmocka_unit_test(test_valid_cohorts_many_targets),
        cmocka_unit_test(test_hmac_order),
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_varies_with_inputs),
        cmocka_unit_test(test_rir_diversity_forced),
        cmocka_unit_test(test_impossible_configs),
        cmocka_unit_test(test_search_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
