/*
 * Tests for the benchmark histogram (bench/hist.c): bucket indexes are contiguous and cover
 * every uint64_t, small values are exact, and percentiles of log-uniform random samples
 * (1 us .. 100 s) are within 1 % of the exact order statistics and never below them.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hist.h"

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void test_buckets_contiguous(void **state)
{
    uint64_t prev_hi = 0;
    (void)state;
    for (unsigned i = 0; i < HIST_BUCKETS; i++) {
        uint64_t lo, hi;
        hist_bucket_range(i, &lo, &hi);
        if (i > 0) assert_true(lo == prev_hi + 1);
        assert_true(hi >= lo);
        assert_int_equal(hist_index(lo), i);
        assert_int_equal(hist_index(hi), i);
        /* the bucket width relative to its lowest value is the error bound */
        if (lo > 0) assert_true((double)(hi - lo) / (double)lo <= 1.0 / HIST_SUB_COUNT);
        prev_hi = hi;
    }
    assert_true(prev_hi == UINT64_MAX);
    assert_int_equal(hist_index(UINT64_MAX), HIST_BUCKETS - 1);
}

static void test_small_values_exact(void **state)
{
    static struct hist h;
    (void)state;
    hist_reset(&h);
    assert_true(hist_percentile(&h, 50) == 0);
    for (uint64_t v = 1; v <= 100; v++)
        hist_record(&h, v);
    assert_true(hist_percentile(&h, 50) == 50);
    assert_true(hist_percentile(&h, 99) == 99);
    assert_true(hist_percentile(&h, 100) == 100);
    assert_true(hist_percentile(&h, 0) == 1);
    assert_true(h.min == 1 && h.max == 100 && h.total == 100);
    assert_true(fabs(hist_mean(&h) - 50.5) < 1e-9);
}

static void test_percentile_error_bound(void **state)
{
    static const double pcts[] = {1, 10, 25, 50, 75, 90, 99, 99.9, 99.99, 100};
    enum { N = 200000 };
    static struct hist h, a, b;
    uint64_t *vals = malloc(N * sizeof(*vals));
    (void)state;
    assert_non_null(vals);
    srand(12345);
    hist_reset(&h);
    hist_reset(&a);
    hist_reset(&b);
    for (int i = 0; i < N; i++) {
        double u = (double)rand() / RAND_MAX;
        vals[i] = (uint64_t)exp(u * log(1e8)); /* 1 .. 1e8 (us), log-uniform */
        hist_record(&h, vals[i]);
        hist_record(i % 2 ? &a : &b, vals[i]);
    }
    hist_merge(&a, &b);
    qsort(vals, N, sizeof(*vals), cmp_u64);
    for (size_t k = 0; k < sizeof(pcts) / sizeof(pcts[0]); k++) {
        uint64_t rank = (uint64_t)ceil(pcts[k] / 100.0 * N);
        uint64_t exact = vals[(rank ? rank : 1) - 1];
        uint64_t got = hist_percentile(&h, pcts[k]);
        assert_true(got >= exact);
        assert_true((double)(got - exact) <= 0.01 * (double)exact);
        assert_true(hist_percentile(&a, pcts[k]) == got);
    }
    assert_true(a.total == h.total && a.min == h.min && a.max == h.max);
    free(vals);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buckets_contiguous),
        cmocka_unit_test(test_small_values_exact),
        cmocka_unit_test(test_percentile_error_bound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
