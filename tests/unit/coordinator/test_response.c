/*
 * Unit tests for coordinator/response: the admission echo and full response key order with
 * every null present, mpic_completed from the check_completed flags (including members that
 * are absent from the list), synthesized check responses for perspectives that never
 * reported (per check type and validation method), and the error bodies.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "request_fixture.h"
#include "response.h"

static void assert_json_eq(const json_t *v, const char *want)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

    if (strcmp(s, want) != 0) print_error("got  %s\nwant %s\n", s, want);
    assert_string_equal(s, want);
    free(s);
}

/* Asserts the object's keys are exactly `keys` in this order. */
static void assert_keys(const json_t *obj, const char *const *keys, size_t nkeys)
{
    size_t i = 0;
    void *it;

    assert_true(json_is_object(obj));
    for (it = json_object_iter((json_t *)obj); it != NULL;
         it = json_object_iter_next((json_t *)obj, it), i++) {
        assert_true(i < nkeys);
        assert_string_equal(json_object_iter_key(it), keys[i]);
    }
    assert_int_equal(i, nkeys);
}

/* A perspective entry with the given completion flag. */
static json_t *entry(const char *code, bool completed, bool passed)
{
    return json_pack("{s:s, s:{s:b, s:b, s:n, s:I, s:s, s:{s:b, s:n, s:n}}}",
                     "perspective_code", code, "check_response", "check_completed", completed,
                     "check_passed", passed, "errors", "timestamp_ns", (json_int_t)1749700000,
                     "check_type", "caa", "details", "caa_record_present", false, "found_at",
                     "records_seen");
}

static void test_echo_caa(void **state)
{
    struct api_request r;
    json_t *echo;
    (void)state;

    fixture_parse("{\"check_type\":\"caa\",\"domain_or_ip_target\":\"*.Example.com\","
                  "\"orchestration_parameters\":{\"perspective_count\":3,\"quorum_count\":2}}", &r);
    echo = response_echo_new(&r, 1);
    request_free(&r);
    assert_json_eq(echo, "{\"request_orchestration_parameters\":{\"perspective_count\":3,"
                   "\"quorum_count\":2,\"max_attempts\":null,\"cohort_for_single_attempt\":null},"
                   "\"actual_orchestration_parameters\":{\"perspective_count\":3,"
                   "\"quorum_count\":2,\"attempt_count\":1},\"check_type\":\"caa\","
                   "\"domain_or_ip_target\":\"*.Example.com\",\"trace_identifier\":null,"
                   "\"caa_check_parameters\":{\"certificate_type\":\"tls-server\",\"caa_domains\":"
                   "[\"example-ca.test\"],\"allow_lookup_failure\":false,\"account_uri\":null,"
                   "\"validation_method\":null}}");
    json_decref(echo);
}

static void test_full_response_key_order(void **state)
{
    static const char *const keys[] = {
        "mpic_completed", "request_orchestration_parameters", "actual_orchestration_parameters",
        "check_type", "domain_or_ip_target", "is_valid", "trace_identifier", "perspectives",
        "dcv_check_parameters", "previous_attempt_results",
    };
    static const char *const cr_keys[] = {
        "check_completed", "check_passed", "errors", "timestamp_ns", "check_type", "details",
    };
    struct api_request r;
    json_t *echo;
    json_t *persp = json_array();
    json_t *resp;
    json_t *missing;
    (void)state;

    fixture_parse("{\"check_type\":\"dcv\",\"domain_or_ip_target\":\"example.com\","
                  "\"trace_identifier\":\"t-1\",\"dcv_check_parameters\":{\"validation_method\":"
                  "\"acme-http-01\",\"token\":\"tok\",\"key_authorization\":\"tok.k\"}}", &r);
    echo = response_echo_new(&r, 1);
    for (int i = 0; i < 5; i++) {
        char code[16];
        snprintf(code, sizeof(code), "p%d", i);
        json_array_append_new(persp, entry(code, true, true));
    }
    missing = response_missing_check(r.check_type, r.check_params,
                                     "mpic_error:coordinator:remote_check", "no result");
    json_array_append_new(persp, json_pack("{s:s, s:o}", "perspective_code", "p5",
                                           "check_response", missing));
    request_free(&r);

    resp = response_build(echo, true, persp);
    assert_keys(resp, keys, sizeof(keys) / sizeof(keys[0]));
    assert_true(json_is_true(json_object_get(resp, "mpic_completed")));
    assert_true(json_is_true(json_object_get(resp, "is_valid")));
    assert_true(json_is_null(json_object_get(resp, "request_orchestration_parameters")));
    assert_true(json_is_null(json_object_get(resp, "previous_attempt_results")));
    assert_string_equal(json_string_value(json_object_get(resp, "trace_identifier")), "t-1");
    assert_string_equal(json_string_value(json_object_get(resp, "check_type")), "dcv");
    assert_json_eq(json_object_get(resp, "actual_orchestration_parameters"),
                   "{\"perspective_count\":6,\"quorum_count\":4,\"attempt_count\":1}");
    assert_int_equal(json_array_size(json_object_get(resp, "perspectives")), 6);
    json_t *last = json_array_get(json_object_get(resp, "perspectives"), 5);
    assert_keys(json_object_get(last, "check_response"), cr_keys, 6);
    /* The response shares the inputs: they are not modified or consumed. */
    assert_int_equal(json_array_size(persp), 6);
    json_decref(persp);
    json_decref(echo);
    json_decref(resp);
}

/* mpic_completed: #incomplete <= n - q, with absent members counted as incomplete. */
static void test_mpic_completed(void **state)
{
    struct api_request r;
    (void)state;

    for (int n = 2; n <= 9; n++) {
        char body[256];
        snprintf(body, sizeof(body), "{\"check_type\":\"caa\",\"domain_or_ip_target\":"
                 "\"example.com\",\"orchestration_parameters\":{\"perspective_count\":%d}}", n);
        fixture_parse(body, &r);
        json_t *echo = response_echo_new(&r, 1);
        int q = r.quorum_count;
        request_free(&r);
        for (int bad = 0; bad <= n; bad++) {
            json_t *persp = json_array();
            for (int i = 0; i < n; i++) json_array_append_new(persp, entry("p", i >= bad, true));
            json_t *resp = response_build(echo, false, persp);
            assert_int_equal(json_is_true(json_object_get(resp, "mpic_completed")),
                             bad <= n - q);
            json_decref(resp);
            /* The same count of members simply absent from the list. */
            while (json_array_size(persp) > (size_t)(n - bad)) {
                json_array_remove(persp, 0);
            }
            for (size_t i = 0; i < json_array_size(persp); i++) {
                json_object_set_new(json_object_get(json_array_get(persp, i), "check_response"),
                                    "check_completed", json_true());
            }
            resp = response_build(echo, false, persp);
            assert_int_equal(json_is_true(json_object_get(resp, "mpic_completed")),
                             bad <= n - q);
            json_decref(resp);
            json_decref(persp);
        }
        json_decref(echo);
    }
}

static void test_missing_check_templates(void **state)
{
    json_t *p;
    json_t *m;
    (void)state;

    m = response_missing_check(CHECK_TYPE_CAA, NULL, "mpic_error:coordinator:remote_check",
                               "timed out");
    assert_json_eq(m, "{\"check_completed\":false,\"check_passed\":false,\"errors\":"
                   "[{\"error_type\":\"mpic_error:coordinator:remote_check\",\"error_message\":"
                   "\"timed out\"}],\"timestamp_ns\":null,\"check_type\":\"caa\",\"details\":"
                   "{\"caa_record_present\":null,\"found_at\":null,\"records_seen\":null,"
                   "\"ad_flag\":null}}");
    json_decref(m);

    p = json_pack("{s:s}", "validation_method", "acme-http-01");
    m = response_missing_check(CHECK_TYPE_DCV, p, "e", "m");
    assert_json_eq(json_object_get(m, "details"),
                   "{\"validation_method\":\"acme-http-01\",\"response_history\":null,"
                   "\"response_url\":null,\"response_status_code\":null,\"response_page\":null}");
    assert_string_equal(json_string_value(json_object_get(m, "check_type")), "dcv");
    json_decref(m);
    json_decref(p);

    p = json_pack("{s:s}", "validation_method", "acme-dns-01");
    m = response_missing_check(CHECK_TYPE_DCV, p, "e", "m");
    assert_json_eq(json_object_get(m, "details"),
                   "{\"validation_method\":\"acme-dns-01\",\"records_seen\":null,"
                   "\"response_code\":null,\"ad_flag\":null,\"found_at\":null,"
                   "\"cname_chain\":null}");
    json_decref(m);
    json_decref(p);

    p = json_pack("{s:s}", "validation_method", "acme-tls-alpn-01");
    m = response_missing_check(CHECK_TYPE_DCV, p, "e", "m");
    assert_json_eq(json_object_get(m, "details"),
                   "{\"validation_method\":\"acme-tls-alpn-01\",\"common_name\":null}");
    json_decref(m);
    json_decref(p);

    m = response_missing_check(CHECK_TYPE_DCV, NULL, NULL, "bad \xff utf-8");
    assert_true(json_is_string(json_object_get(json_array_get(json_object_get(m, "errors"), 0),
                                               "error_message")));
    assert_true(json_is_null(json_object_get(json_object_get(m, "details"),
                                             "validation_method")));
    json_decref(m);
}

static void test_error_bodies(void **state)
{
    json_t *v;
    json_t *issues;
    (void)state;

    v = response_error("internal-error", "cannot construct a cohort");
    assert_json_eq(v, "{\"error\":\"internal-error\",\"message\":\"cannot construct a cohort\"}");
    json_decref(v);

    issues = json_pack("[{s:s, s:s, s:s}]", "issue_type", "invalid-quorum-count", "field",
                       "orchestration_parameters.quorum_count", "message", "Invalid quorum");
    v = response_validation_failed(issues); /* steals issues */
    assert_json_eq(v, "{\"error\":\"request-validation-failed\",\"validation_issues\":"
                   "[{\"issue_type\":\"invalid-quorum-count\",\"field\":"
                   "\"orchestration_parameters.quorum_count\",\"message\":\"Invalid quorum\"}]}");
    json_decref(v);

    v = response_validation_failed(NULL);
    assert_json_eq(v, "{\"error\":\"request-validation-failed\",\"validation_issues\":[]}");
    json_decref(v);
}

/* A CAA response built without a perspectives list still has every key. */
static void test_build_without_perspectives(void **state)
{
    static const char *const keys[] = {
        "mpic_completed", "request_orchestration_parameters", "actual_orchestration_parameters",
        "check_type", "domain_or_ip_target", "is_valid", "trace_identifier", "perspectives",
        "caa_check_parameters", "previous_attempt_results",
    };
    struct api_request r;
    json_t *echo;
    json_t *resp;
    (void)state;

    fixture_parse("{\"check_type\":\"caa\",\"domain_or_ip_target\":\"example.com\"}", &r);
    echo = response_echo_new(&r, 2);
    request_free(&r);
    resp = response_build(echo, false, NULL);
    assert_keys(resp, keys, sizeof(keys) / sizeof(keys[0]));
    assert_false(json_is_true(json_object_get(resp, "mpic_completed")));
    assert_int_equal(json_array_size(json_object_get(resp, "perspectives")), 0);
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(resp, "actual_orchestration_parameters"),
                         "attempt_count")), 2);
    json_decref(resp);
    json_decref(echo);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_echo_caa),
        cmocka_unit_test(test_full_response_key_order),
        cmocka_unit_test(test_mpic_completed),
        cmocka_unit_test(test_missing_check_templates),
        cmocka_unit_test(test_error_bodies),
        cmocka_unit_test(test_build_without_perspectives),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
