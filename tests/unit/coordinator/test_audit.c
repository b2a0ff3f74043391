/*
 * Unit tests of the audit record builder: fields taken from a stored request record and its
 * results, quorum "p/n", RIR names, missing perspectives synthesized, BR sections by method.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "audit.h"

static json_t *record(const char *verdict)
{
    json_t *req = json_object();
    json_object_set_new(req, "state", json_string("replied"));
    json_object_set_new(req, "attempt", json_string("1"));
    json_object_set_new(req, "cohort", json_string("a,b,c"));
    json_object_set_new(req, "rirs", json_string("0,1,2"));
    json_object_set_new(req, "n", json_string("3"));
    json_object_set_new(req, "q", json_string("2"));
    json_object_set_new(req, "created", json_string("1000"));
    json_object_set_new(req, "deadline", json_string("9000"));
    json_object_set_new(req, "decided_at", json_string("1500"));
    json_object_set_new(req, "check_type", json_string("dcv"));
    json_object_set_new(req, "target", json_string("Example.COM"));
    json_object_set_new(req, "trace", json_string("tr-1"));
    json_object_set_new(req, "verdict", json_string(verdict));
    json_object_set_new(req, "reason", json_string("2 of 3 passed"));
    json_object_set_new(req, "echo",
                        json_string("{\"check_type\":\"dcv\",\"dcv_check_parameters\":"
                                    "{\"validation_method\":\"acme-dns-01\","
                                    "\"key_authorization_hash\":\"h\"}}"));
    return req;
}

static json_t *result(bool passed, long long ts_ns)
{
    return json_pack("{s:b, s:b, s:n, s:I, s:s, s:{s:[s]}}", "check_completed", 1,
                     "check_passed", passed, "errors", "timestamp_ns", (json_int_t)ts_ns,
                     "check_type", "dcv", "details", "records_seen", "h");
}

static void test_build_fields(void **state)
{
    json_t *req = record("valid"), *res = json_object(), *rec, *cohort, *p;
    (void)state;

    json_object_set_new(res, "a", result(true, 1200LL * 1000000));
    json_object_set_new(res, "c", result(true, 1300LL * 1000000));
    rec = audit_build("rid-1", req, res);
    assert_string_equal(json_string_value(json_object_get(rec, "request_id")), "rid-1");
    assert_string_equal(json_string_value(json_object_get(rec, "trace_identifier")), "tr-1");
    assert_string_equal(json_string_value(json_object_get(rec, "validation_method")),
                        "acme-dns-01");
    assert_string_equal(json_string_value(json_object_get(rec, "br_section")), "3.2.2.4.7");
    assert_string_equal(json_string_value(json_object_get(rec, "br_version")), "TLS BR 2.2.6");
    assert_string_equal(json_string_value(json_object_get(rec, "quorum")), "2/3");
    assert_int_equal(json_integer_value(json_object_get(rec, "quorum_required")), 2);
    assert_int_equal(json_integer_value(json_object_get(rec, "decided_ms")), 1500);
    assert_string_equal(json_string_value(json_object_get(rec, "verdict")), "valid");
    cohort = json_object_get(rec, "cohort");
    assert_int_equal(json_array_size(cohort), 3);
    p = json_array_get(cohort, 0);
    assert_string_equal(json_string_value(json_object_get(p, "rir")), "ARIN");
    assert_int_equal(json_integer_value(json_object_get(p, "elapsed_ms")), 200);
    assert_true(json_is_array(json_object_get(json_object_get(p, "seen"), "records_seen")));
    p = json_array_get(cohort, 1); /* b never reported: synthesized deadline failure */
    assert_string_equal(json_string_value(json_object_get(p, "perspective_code")), "b");
    assert_string_equal(json_string_value(json_object_get(p, "rir")), "RIPE NCC");
    assert_true(json_is_false(json_object_get(p, "check_completed")));
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(p, "errors"), 0), "error_type")),
                        "mpic_error:coordinator:deadline");
    assert_string_equal(json_string_value(json_object_get(json_array_get(cohort, 2), "rir")),
                        "APNIC");
    json_decref(rec);
    json_decref(req);
    json_decref(res);
}

static void test_build_damaged_record(void **state)
{
    json_t *req = json_object(), *res = json_object(), *rec;
    (void)state;

    json_object_set_new(req, "rirs", json_string("9,x"));
    rec = audit_build("rid-2", req, res);
    assert_string_equal(json_string_value(json_object_get(rec, "quorum")), "0/0");
    assert_true(json_is_null(json_object_get(rec, "verdict")));
    assert_true(json_is_null(json_object_get(rec, "created_ms")));
    json_decref(rec);
    json_decref(req);
    json_decref(res);
}

static void test_br_sections(void **state)
{
    (void)state;
    assert_string_equal(audit_br_section("caa", NULL), "3.2.2.8");
    assert_string_equal(audit_br_section("dcv", "acme-http-01"), "3.2.2.4.19");
    assert_string_equal(audit_br_section("dcv", "website-change"), "3.2.2.4.18");
    assert_string_equal(audit_br_section("dcv", "acme-tls-alpn-01"), "3.2.2.4.20");
    assert_string_equal(audit_br_section("dcv", "dns-persistent"), "3.2.2.4.22");
    assert_string_equal(audit_br_section("dcv", "reverse-address-lookup"), "3.2.2.5.3");
    assert_null(audit_br_section("dcv", "no-such-method"));
    assert_null(audit_br_section("dcv", NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_build_fields),
        cmocka_unit_test(test_build_damaged_record),
        cmocka_unit_test(test_br_sections),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
