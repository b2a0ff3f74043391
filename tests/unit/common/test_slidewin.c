/*
 * Unit tests for common/slidewin (the anomaly window) and common/obs_label (label values
 * from check responses): events expire after the window, slots are reused, ratios; outcome,
 * error type sanitizing, DNSSEC detection, method labels.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "obs_label.h"
#include "slidewin.h"

static void test_window_expiry(void **state)
{
    struct slidewin w;
    uint64_t total, hits;
    const int64_t t0 = 1000000; /* monotonic ms */

    (void)state;
    slidewin_init(&w, 60000); /* 60 slots of 1 s */
    assert_true(slidewin_ratio(&w, t0) == 0.0);
    slidewin_add(&w, t0, 1, 1);
    slidewin_add(&w, t0 + 500, 3, 0);
    slidewin_add(&w, t0 + 30000, 4, 1);
    slidewin_sum(&w, t0 + 30000, &total, &hits);
    assert_int_equal(total, 8);
    assert_int_equal(hits, 2);
    assert_true(slidewin_ratio(&w, t0 + 30000) == 0.25);
    /* 59 s later the first slot is still inside; at 60 s it has left the window */
    slidewin_sum(&w, t0 + 59000, &total, &hits);
    assert_int_equal(total, 8);
    slidewin_sum(&w, t0 + 60000, &total, &hits);
    assert_int_equal(total, 4);
    assert_int_equal(hits, 1);
    /* a full lap later, the reused slot holds only the new events */
    slidewin_add(&w, t0 + 120000, 2, 2);
    slidewin_sum(&w, t0 + 120000, &total, &hits);
    assert_int_equal(total, 2);
    assert_int_equal(hits, 2);
    assert_true(slidewin_ratio(&w, t0 + 120000) == 1.0);
    /* nothing at all long after */
    slidewin_sum(&w, t0 + 10000000, &total, &hits);
    assert_int_equal(total, 0);
}

static void test_window_tiny(void **state)
{
    struct slidewin w;
    uint64_t total, hits;
    (void)state;
    slidewin_init(&w, 1); /* slot of 1 ms, window of 60 ms */
    slidewin_add(&w, 10, 1, 1);
    slidewin_sum(&w, 69, &total, &hits);
    assert_int_equal(total, 1);
    slidewin_sum(&w, 70, &total, &hits);
    assert_int_equal(total, 0);
}

static void test_labels(void **state)
{
    json_t *passed = json_pack("{s:b, s:b, s:[]}", "check_completed", 1, "check_passed", 1,
                               "errors");
    json_t *failed = json_pack("{s:b, s:b, s:[{s:s, s:s}]}", "check_completed", 1,
                               "check_passed", 0, "errors", "error_type",
                               "mpic_error:caa_checker:not_permitted", "error_message", "no");
    json_t *dnssec = json_pack("{s:b, s:b, s:[{s:s},{s:s}]}", "check_completed", 0,
                               "check_passed", 0, "errors", "error_type", "mpic_error:lookup",
                               "error_type", "mpic_error:caa_checker:DNSSEC-bogus");
    json_t *evil = json_pack("{s:b, s:[{s:s}]}", "check_completed", 0, "errors", "error_type",
                             "example.com evil{label}");
    json_t *dcv = json_pack("{s:s}", "validation_method", "acme-http-01");
    json_t *dcv_bad = json_pack("{s:s}", "validation_method", "a b");
    char out[OBS_LABEL_MAX];

    (void)state;
    assert_string_equal(obs_label_outcome(passed), "passed");
    assert_string_equal(obs_label_outcome(failed), "failed");
    assert_string_equal(obs_label_outcome(dnssec), "error");
    assert_string_equal(obs_label_outcome(NULL), "missing");
    obs_label_error_type(passed, out, sizeof(out));
    assert_string_equal(out, "none");
    obs_label_error_type(failed, out, sizeof(out));
    assert_string_equal(out, "mpic_error:caa_checker:not_permitted");
    obs_label_error_type(evil, out, sizeof(out));
    assert_string_equal(out, "other");
    assert_false(obs_label_dnssec_failure(failed));
    assert_true(obs_label_dnssec_failure(dnssec));
    obs_label_method(false, NULL, out, sizeof(out));
    assert_string_equal(out, "caa");
    obs_label_method(true, dcv, out, sizeof(out));
    assert_string_equal(out, "acme-http-01");
    obs_label_method(true, dcv_bad, out, sizeof(out));
    assert_string_equal(out, "other");
    json_decref(passed);
    json_decref(failed);
    json_decref(dnssec);
    json_decref(evil);
    json_decref(dcv);
    json_decref(dcv_bad);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_window_expiry),
        cmocka_unit_test(test_window_tiny),
        cmocka_unit_test(test_labels),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
