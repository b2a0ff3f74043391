/*
 * Unit tests for common/metrics: exact Prometheus text output of counters, gauges and
 * histograms (cumulative buckets, le="+Inf", _sum/_count), HELP and label value escaping,
 * number formatting, invalid definitions, the per-family series cap and the collect hook.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "metrics.h"

static const char *const DROPPED =
    "# HELP mpic_metrics_series_dropped_total Metric updates refused because a family reached "
    "its series cap.\n"
    "# TYPE mpic_metrics_series_dropped_total counter\n";

/* Renders r and checks that it equals expect followed by the dropped-series footer. */
static void assert_render(struct metrics_registry *r, const char *expect, unsigned dropped)
{
    size_t len = 0;
    char *text = metrics_render(r, &len);
    char *want = NULL;
    size_t n = strlen(expect) + strlen(DROPPED) + 64;
    want = malloc(n);
    snprintf(want, n, "%s%smpic_metrics_series_dropped_total %u\n", expect, DROPPED, dropped);
    assert_string_equal(text, want);
    assert_int_equal(len, strlen(want));
    free(text);
    free(want);
}

static void test_counter_and_gauge(void **state)
{
    static const char *const labels[] = {"check_type", "verdict", NULL};
    struct metrics_registry *r = metrics_registry_new();
    struct metrics_family *c =
        metrics_family_new(r, METRICS_COUNTER, "mpic_requests_total", "Requests.", labels, NULL,
                           0);
    struct metrics_family *g =
        metrics_family_new(r, METRICS_GAUGE, "mpic_inflight", "In flight.", NULL, NULL, 0);
    const char *v1[] = {"caa", "valid"}, *v2[] = {"dcv", "invalid"};

    (void)state;
    assert_non_null(c);
    assert_non_null(g);
    metrics_add(c, v1, 1);
    metrics_add(c, v1, 2);
    metrics_add(c, v2, 1);
    metrics_add(c, v2, -5); /* counters never go down */
    metrics_set(g, NULL, 7);
    metrics_add(g, NULL, -2.5);
    assert_true(metrics_value(c, v1) == 3);
    assert_render(r,
                  "# HELP mpic_requests_total Requests.\n"
                  "# TYPE mpic_requests_total counter\n"
                  "mpic_requests_total{check_type=\"caa\",verdict=\"valid\"} 3\n"
                  "mpic_requests_total{check_type=\"dcv\",verdict=\"invalid\"} 1\n"
                  "# HELP mpic_inflight In flight.\n"
                  "# TYPE mpic_inflight gauge\n"
                  "mpic_inflight 4.5\n",
                  0);
    metrics_registry_free(r);
}

static void test_counter_from_a_running_total(void **state)
{
    struct metrics_registry *r = metrics_registry_new();
    struct metrics_family *c =
        metrics_family_new(r, METRICS_COUNTER, "mpic_pauses_total", "Pauses.", NULL, NULL, 0);
    unsigned long seen = 0;

    (void)state;
    metrics_add_since(c, NULL, 3, &seen);
    assert_true(metrics_value(c, NULL) == 3 && seen == 3);
    metrics_add_since(c, NULL, 3, &seen); /* nothing new */
    metrics_add_since(c, NULL, 10, &seen);
    assert_true(metrics_value(c, NULL) == 10 && seen == 10);
    metrics_registry_free(r);
}

static void test_histogram_buckets(void **state)
{
    static const char *const labels[] = {"perspective", NULL};
    static const double b[] = {0.1, 0.5, 1};
    struct metrics_registry *r = metrics_registry_new();
    struct metrics_family *h = metrics_family_new(r, METRICS_HISTOGRAM, "mpic_lat_seconds",
                                                  "Latency.", labels, b, 3);
    const char *p[] = {"us-east-1"};

    (void)state;
    metrics_observe(h, p, 0.05);
    metrics_observe(h, p, 0.1); /* le is inclusive */
    metrics_observe(h, p, 0.7);
    metrics_observe(h, p, 3);
    metrics_observe(h, p, NAN); /* ignored */
    assert_render(r,
                  "# HELP mpic_lat_seconds Latency.\n"
                  "# TYPE mpic_lat_seconds histogram\n"
                  "mpic_lat_seconds_bucket{perspective=\"us-east-1\",le=\"0.1\"} 2\n"
                  "mpic_lat_seconds_bucket{perspective=\"us-east-1\",le=\"0.5\"} 2\n"
                  "mpic_lat_seconds_bucket{perspective=\"us-east-1\",le=\"1\"} 3\n"
                  "mpic_lat_seconds_bucket{perspective=\"us-east-1\",le=\"+Inf\"} 4\n"
                  "mpic_lat_seconds_sum{perspective=\"us-east-1\"} 3.85\n"
                  "mpic_lat_seconds_count{perspective=\"us-east-1\"} 4\n",
                  0);
    metrics_registry_free(r);
}

static void test_escaping_and_numbers(void **state)
{
    static const char *const labels[] = {"x", NULL};
    struct metrics_registry *r = metrics_registry_new();
    struct metrics_family *g = metrics_family_new(r, METRICS_GAUGE, "m", "a\\b\nc \"q\"",
                                                  labels, NULL, 0);
    const char *v1[] = {"back\\slash \"quoted\"\nline"}, *v2[] = {"inf"}, *v3[] = {"ninf"},
               *v4[] = {"nan"}, *v5[] = {"small"};

    (void)state;
    metrics_set(g, v1, 1e20);
    metrics_set(g, v2, INFINITY);
    metrics_set(g, v3, -INFINITY);
    metrics_set(g, v4, NAN);
    metrics_set(g, v5, 0.000125);
    assert_render(r,
                  "# HELP m a\\\\b\\nc \"q\"\n"
                  "# TYPE m gauge\n"
                  "m{x=\"back\\\\slash \\\"quoted\\\"\\nline\"} 1e+20\n"
                  "m{x=\"inf\"} +Inf\n"
                  "m{x=\"ninf\"} -Inf\n"
                  "m{x=\"nan\"} NaN\n"
                  "m{x=\"small\"} 0.000125\n",
                  0);
    metrics_registry_free(r);
}

static void test_invalid_definitions(void **state)
{
    static const char *const bad_label[] = {"9x", NULL};
    static const char *const reserved[] = {"__name", NULL};
    static const char *const le[] = {"le", NULL};
    static const char *const five[] = {"a", "b", "c", "d", "e", NULL};
    static const double unsorted[] = {1, 0.5};
    static const double b[] = {1};
    struct metrics_registry *r = metrics_registry_new();

    (void)state;
    assert_null(metrics_family_new(r, METRICS_COUNTER, "bad-name", "", NULL, NULL, 0));
    assert_null(metrics_family_new(r, METRICS_COUNTER, "", "", NULL, NULL, 0));
    assert_null(metrics_family_new(r, METRICS_COUNTER, "ok", "", bad_label, NULL, 0));
    assert_null(metrics_family_new(r, METRICS_COUNTER, "ok", "", reserved, NULL, 0));
    assert_null(metrics_family_new(r, METRICS_COUNTER, "ok", "", five, NULL, 0));
    assert_null(metrics_family_new(r, METRICS_HISTOGRAM, "ok", "", le, b, 1));
    assert_null(metrics_family_new(r, METRICS_HISTOGRAM, "ok", "", NULL, unsorted, 2));
    assert_null(metrics_family_new(r, METRICS_HISTOGRAM, "ok", "", NULL, NULL, 0));
    assert_non_null(metrics_family_new(r, METRICS_COUNTER, "ok", "", NULL, NULL, 0));
    assert_null(metrics_family_new(r, METRICS_GAUGE, "ok", "", NULL, NULL, 0)); /* duplicate */
    /* a NULL family is a no-op everywhere */
    metrics_add(NULL, NULL, 1);
    metrics_observe(NULL, NULL, 1);
    metrics_set(NULL, NULL, 1);
    metrics_registry_free(r);
}

static void test_series_cap_and_truncation(void **state)
{
    static const char *const labels[] = {"k", NULL};
    struct metrics_registry *r = metrics_registry_new();
    struct metrics_family *c = metrics_family_new(r, METRICS_COUNTER, "c_total", "", labels,
                                                  NULL, 0);
    char name[32], longv[200];
    size_t len;
    char *text;

    (void)state;
    for (int i = 0; i < METRICS_MAX_SERIES + 10; i++) {
        const char *v[] = {name};
        snprintf(name, sizeof(name), "v%d", i);
        metrics_add(c, v, 1);
    }
    assert_int_equal(metrics_dropped(r), 10);
    /* existing series still count after the cap */
    {
        const char *v[] = {"v0"};
        metrics_add(c, v, 1);
        assert_true(metrics_value(c, v) == 2);
    }
    memset(longv, 'a', sizeof(longv) - 1);
    longv[sizeof(longv) - 1] = '\0';
    text = metrics_render(r, &len);
    assert_non_null(strstr(text, "mpic_metrics_series_dropped_total 10\n"));
    assert_null(strstr(text, "k=\"v520\""));
    free(text);
    metrics_registry_free(r);

    /* label values longer than the cap are truncated, so equal prefixes share a series */
    r = metrics_registry_new();
    c = metrics_family_new(r, METRICS_COUNTER, "c_total", "", labels, NULL, 0);
    {
        const char *v[] = {longv};
        metrics_add(c, v, 1);
        longv[150] = 'b';
        metrics_add(c, v, 1);
        assert_true(metrics_value(c, v) == 2);
    }
    metrics_registry_free(r);
}

static int collected;

/* called by metrics_render */
static void collect_cb(void *arg)
{
    metrics_set(arg, NULL, ++collected);
}

static void test_collect_hook_and_touch(void **state)
{
    static const char *const labels[] = {"check_type", NULL};
    struct metrics_registry *r = metrics_registry_new();
    struct metrics_family *g = metrics_family_new(r, METRICS_GAUGE, "g", "G.", NULL, NULL, 0);
    struct metrics_family *c = metrics_family_new(r, METRICS_COUNTER, "retries_total", "R.",
                                                  labels, NULL, 0);
    const char *caa[] = {"caa"};

    (void)state;
    metrics_registry_set_collect(r, collect_cb, g);
    metrics_touch(c, caa);
    assert_render(r,
                  "# HELP g G.\n# TYPE g gauge\ng 1\n"
                  "# HELP retries_total R.\n# TYPE retries_total counter\n"
                  "retries_total{check_type=\"caa\"} 0\n",
                  0);
    assert_int_equal(collected, 1);
    metrics_registry_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counter_and_gauge),
        cmocka_unit_test(test_counter_from_a_running_total),
        cmocka_unit_test(test_histogram_buckets),
        cmocka_unit_test(test_escaping_and_numbers),
        cmocka_unit_test(test_invalid_definitions),
        cmocka_unit_test(test_series_cap_and_truncation),
        cmocka_unit_test(test_collect_hook_and_touch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
