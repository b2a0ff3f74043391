/*
 * Unit tests for coordinator/record_echo: the compact echo a request record stores, and the
 * full echo rebuilt from it and the record's other fields byte for byte as response_echo_new
 * builds it (key order included), for CAA, DCV, wildcard, trace and orchestration variants;
 * a stored full echo is read as is; records that lack a field give NULL.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonout.h"
#include "record_echo.h"
#include "request_fixture.h"
#include "response.h"

/* The record fields api_admit writes that the echo is rebuilt from (trace only when set). */
static json_t *record_for(const struct api_request *r, const char *echo_s)
{
    char n[8], q[8];
    json_t *rec = json_object();

    snprintf(n, sizeof(n), "%d", r->perspective_count);
    snprintf(q, sizeof(q), "%d", r->quorum_count);
    json_object_set_new(rec, "check_type", json_string(check_type_name(r->check_type)));
    json_object_set_new(rec, "target", json_string(r->target_raw));
    json_object_set_new(rec, "n", json_string(n));
    json_object_set_new(rec, "q", json_string(q));
    if (r->trace_id != NULL && r->trace_id[0] != '\0')
        json_object_set_new(rec, "trace", json_string(r->trace_id));
    json_object_set_new(rec, "echo", json_string(echo_s));
    return rec;
}

/* compact → record → load gives exactly response_echo_new's text; returns the compact size. */
static size_t round_trip(const char *body)
{
    struct api_request r;
    json_t *full, *rec, *loaded;
    char *want, *got, *compact;
    size_t clen;

    fixture_parse(body, &r);
    full = response_echo_new(&r, 1);
    compact = record_echo_compact(&r);
    assert_non_null(compact);
    rec = record_for(&r, compact);
    loaded = record_echo_load(rec);
    assert_non_null(loaded);
    want = jsonout_dumps(full, NULL);
    got = jsonout_dumps(loaded, NULL);
    if (strcmp(want, got) != 0) print_error("got  %s\nwant %s\n", got, want);
    assert_string_equal(got, want);
    clen = strlen(compact);
    assert_true(clen < strlen(want));
    free(want);
    free(got);
    free(compact);
    json_decref(full);
    json_decref(rec);
    json_decref(loaded);
    request_free(&r);
    return clen;
}

static void test_round_trip_caa(void **state)
{
    (void)state;
    round_trip("{\"check_type\":\"caa\",\"domain_or_ip_target\":\"www.example.com\"}");
    round_trip("{\"check_type\":\"caa\",\"domain_or_ip_target\":\"*.Example.COM.\","
               "\"trace_identifier\":\"t-1\",\"orchestration_parameters\":"
               "{\"perspective_count\":3,\"quorum_count\":2},\"caa_check_parameters\":"
               "{\"certificate_type\":\"tls-server\",\"caa_domains\":[\"ca.example\"]}}");
}

static void test_round_trip_dcv(void **state)
{
    size_t clen;
    (void)state;
    clen = round_trip("{\"check_type\":\"dcv\",\"domain_or_ip_target\":\"www.example.com\","
                      "\"dcv_check_parameters\":{\"validation_method\":\"acme-http-01\","
                      "\"token\":\"tok\",\"key_authorization\":\"tok.thumb\"}}");
    /* what is left is the parameters object and its key: the rest comes from the record */
    assert_true(clen < 160);
    round_trip("{\"check_type\":\"dcv\",\"domain_or_ip_target\":\"192.0.2.7\","
               "\"trace_identifier\":\"abc\",\"dcv_check_parameters\":{\"validation_method\":"
               "\"acme-http-01\",\"token\":\"t\",\"key_authorization\":\"t.k\"}}");
    round_trip("{\"check_type\":\"dcv\",\"domain_or_ip_target\":\"*.example.org\","
               "\"dcv_check_parameters\":{\"validation_method\":\"acme-dns-01\","
               "\"key_authorization_hash\":\"7FwkJPsKf-TH54wu4eiIFA3nhzYaevsL7953ihy-tpo\"}}");
}

/* An empty trace_identifier is echoed as "" although the record's "trace" is left out. */
static void test_empty_trace(void **state)
{
    struct api_request r;
    json_t *rec, *loaded;
    char *compact;
    (void)state;

    fixture_parse("{\"check_type\":\"caa\",\"domain_or_ip_target\":\"a.example\","
                  "\"trace_identifier\":\"\"}", &r);
    compact = record_echo_compact(&r);
    rec = record_for(&r, compact);
    assert_null(json_object_get(rec, "trace"));
    loaded = record_echo_load(rec);
    assert_string_equal(json_string_value(json_object_get(loaded, "trace_identifier")), "");
    json_decref(loaded);
    json_decref(rec);
    free(compact);
    request_free(&r);
    round_trip("{\"check_type\":\"caa\",\"domain_or_ip_target\":\"a.example\","
               "\"trace_identifier\":\"\"}");
}

/* A record written before the echo was compacted holds the full echo: it is used as is. */
static void test_full_echo_as_stored(void **state)
{
    const char *full = "{\"request_orchestration_parameters\":null,"
                       "\"actual_orchestration_parameters\":{\"perspective_count\":4,"
                       "\"quorum_count\":3,\"attempt_count\":1},\"check_type\":\"caa\","
                       "\"domain_or_ip_target\":\"old.example\",\"trace_identifier\":null,"
                       "\"caa_check_parameters\":{\"caa_domains\":[\"x\"]}}";
    json_t *rec = json_pack("{s:s}", "echo", full), *loaded;
    char *s;
    (void)state;

    loaded = record_echo_load(rec); /* no n, q, target or check_type needed */
    assert_non_null(loaded);
    s = jsonout_dumps(loaded, NULL);
    assert_string_equal(s, full);
    free(s);
    json_decref(loaded);
    json_decref(rec);
}

static void expect_null(json_t *rec)
{
    assert_null(record_echo_load(rec));
    json_decref(rec);
}

static void test_incomplete_records(void **state)
{
    const char *e = "{\"caa_check_parameters\":{}}";
    (void)state;

    expect_null(json_object());
    expect_null(json_pack("{s:s,s:s,s:s,s:s}", "check_type", "caa", "target", "a", "n", "3",
                          "q", "2")); /* no echo */
    expect_null(json_pack("{s:s,s:s,s:s,s:s,s:s}", "echo", "not json", "check_type", "caa",
                          "target", "a", "n", "3", "q", "2"));
    expect_null(json_pack("{s:s,s:s,s:s,s:s}", "echo", e, "target", "a", "n", "3", "q", "2"));
    expect_null(json_pack("{s:s,s:s,s:s,s:s}", "echo", e, "check_type", "caa", "n", "3", "q",
                          "2"));
    expect_null(json_pack("{s:s,s:s,s:s,s:s,s:s}", "echo", e, "check_type", "caa", "target",
                          "a", "n", "x", "q", "2"));
    expect_null(json_pack("{s:s,s:s,s:s,s:s,s:s}", "echo", e, "check_type", "caa", "target",
                          "a", "n", "3", "q", "0"));
    /* the parameters of the other check type */
    expect_null(json_pack("{s:s,s:s,s:s,s:s,s:s}", "echo", e, "check_type", "dcv", "target",
                          "a", "n", "3", "q", "2"));
    expect_null(json_pack("{s:s,s:s,s:s,s:s,s:s}", "echo", "[1]", "check_type", "caa",
                          "target", "a", "n", "3", "q", "2"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_caa),
        cmocka_unit_test(test_round_trip_dcv),
        cmocka_unit_test(test_empty_trace),
        cmocka_unit_test(test_full_echo_as_stored),
        cmocka_unit_test(test_incomplete_records),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
