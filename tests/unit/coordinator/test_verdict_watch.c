/*
 * Unit tests for coordinator/verdict_watch's pure part: disagreement of each perspective with
 * the verdict (failed/error while valid, passed while invalid, missing never), when an alert
 * is due, latency from the worker timestamp, and the alert document's fields.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "verdict_watch.h"

static json_t *cr(int completed, int passed, const char *error_type, int64_t ts_ns)
{
    json_t *errors = json_array();
    if (error_type)
        json_array_append_new(errors, json_pack("{s:s, s:s}", "error_type", error_type,
                                                "error_message", "details"));
    return json_pack("{s:b, s:b, s:o, s:I, s:s, s:{s:s}}", "check_completed", completed,
                     "check_passed", passed, "errors", errors, "timestamp_ns",
                     (json_int_t)ts_ns, "check_type", "dcv", "details", "validation_method",
                     "acme-http-01");
}

static json_t *record(const char *verdict)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "verdict",
                     verdict, "cohort", "a,b,c,d", "rirs", "0,0,1,2", "check_type", "dcv",
                     "echo",
                     "{\"dcv_check_parameters\":{\"validation_method\":\"acme-http-01\"}}",
                     "n", "4", "q", "3", "created", "1000000", "target", "x.mpic.test",
                     "trace", "t-1", "attempt", "1");
}

static void test_valid_with_failures(void **state)
{
    json_t *req = record("valid");
    json_t *res = json_object();
    struct verdict_analysis a;

    (void)state;
    json_object_set_new(res, "a", cr(1, 1, NULL, INT64_C(1000250) * 1000000));
    json_object_set_new(res, "b", cr(1, 1, NULL, INT64_C(1000300) * 1000000));
    json_object_set_new(res, "c", cr(1, 0, "mpic_error:dcv_checker:mismatch", 0));
    /* d missing */
    assert_int_equal(verdict_watch_analyze(req, res, 1002000, &a), 0);
    assert_true(a.valid);
    assert_true(a.dcv);
    assert_string_equal(a.method, "acme-http-01");
    assert_int_equal(a.count, 4);
    assert_int_equal(a.passed, 2);
    assert_int_equal(a.reported, 3);
    assert_true(a.duration_s == 2.0);
    assert_true(a.p[0].latency_s == 0.25);
    assert_true(a.p[2].latency_s < 0); /* timestamp before admission: unknown */
    assert_int_equal(a.p[0].disagreement, CMETRICS_AGREES);
    assert_int_equal(a.p[2].disagreement, CMETRICS_FAILED_WHILE_VALID);
    assert_string_equal(a.p[2].error_type, "mpic_error:dcv_checker:mismatch");
    assert_string_equal(a.p[3].outcome, "missing");
    assert_int_equal(a.p[3].disagreement, CMETRICS_AGREES);
    assert_int_equal(a.p[2].rir, 1);
    assert_true(a.anomalous);
    assert_false(a.alert); /* the corroboration passed */
    json_decref(req);
    json_decref(res);
}

static void test_invalid_with_passes_alerts(void **state)
{
    json_t *req = record("invalid");
    json_t *res = json_object();
    struct verdict_analysis a;
    json_t *alert;

    (void)state;
    json_object_set_new(res, "a", cr(1, 1, NULL, 0));
    json_object_set_new(res, "b", cr(1, 0, "mpic_error:dcv_checker:mismatch", 0));
    json_object_set_new(res, "c", cr(0, 0, "mpic_error:dcv_checker:lookup", 0));
    json_object_set_new(res, "d", cr(1, 0, "mpic_error:dcv_checker:mismatch", 0));
    assert_int_equal(verdict_watch_analyze(req, res, 1001000, &a), 0);
    assert_false(a.valid);
    assert_int_equal(a.p[0].disagreement, CMETRICS_PASSED_WHILE_INVALID);
    assert_int_equal(a.p[2].disagreement, CMETRICS_AGREES);
    assert_true(a.alert);
    alert = verdict_watch_alert("rid1", "c-1", req, res, &a, 1001000);
    assert_string_equal(json_string_value(json_object_get(alert, "alert")),
                        "mpic.corroboration_disagreement");
    assert_string_equal(json_string_value(json_object_get(alert, "quorum")), "1/4");
    assert_string_equal(json_string_value(json_object_get(alert, "time")),
                        "1970-01-01T00:16:41.000Z");
    assert_string_equal(json_string_value(json_object_get(alert, "trace_identifier")), "t-1");
    assert_string_equal(json_string_value(json_object_get(alert, "domain_or_ip_target")),
                        "x.mpic.test");
    assert_int_equal(json_array_size(json_object_get(alert, "passed_perspectives")), 1);
    assert_int_equal(json_array_size(json_object_get(alert, "failed_perspectives")), 3);
    assert_string_equal(
        json_string_value(json_object_get(
            json_array_get(json_object_get(alert, "perspectives"), 2), "rir")),
        "RIPE NCC");
    json_decref(alert);

    /* all failed: no disagreement, no alert */
    json_object_set_new(res, "a", cr(1, 0, "mpic_error:dcv_checker:mismatch", 0));
    assert_int_equal(verdict_watch_analyze(req, res, 1001000, &a), 0);
    assert_false(a.alert);
    assert_false(a.anomalous);
    json_decref(req);
    json_decref(res);
}

static void test_no_verdict(void **state)
{
    json_t *req = json_pack("{s:s}", "cohort", "a");
    struct verdict_analysis a;
    (void)state;
    assert_int_equal(verdict_watch_analyze(req, NULL, 0, &a), -1);
    json_decref(req);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_with_failures),
        cmocka_unit_test(test_invalid_with_passes_alerts),
        cmocka_unit_test(test_no_verdict),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
