/*
 * Unit tests for coordinator/request: every field with wrong types and bad values yields an
 * issue naming that field, issues are collected (not only the first), defaults are filled in
 * exactly as the config contract says, the quorum is checked without perspective_count, the
 * BR minimum comes from the injected limits, and hostile bodies (huge, duplicate keys,
 * non-object, invalid JSON) are rejected cleanly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dcv_params.h"
#include "request.h"

static const char *const default_caa[] = {"example-ca.test"};

static struct request_limits limits(void)
{
    struct request_limits l = {
        .nperspectives = 9,
        .default_perspective_count = 6,
        .min_perspective_count = 2,
        .absolute_max_attempts = 3,
        .default_deadline_ms = 10000,
        .min_deadline_ms = 500,
        .max_deadline_ms = 60000,
        .caa_domains = default_caa,
        .ncaa_domains = 1,
    };
    return l;
}

static const struct request_limits *lim_std(void)
{
    static struct request_limits l;
    l = limits();
    return &l;
}

static void parse_ok_lim(const char *body, const struct request_limits *lim,
                         struct api_request *req)
{
    json_t *issues = NULL;
    int rc = request_parse(body, strlen(body), lim, req, &issues);

    if (rc != 0) {
        char *s = json_dumps(issues, JSON_COMPACT);
        print_error("unexpected issues for %s: %s\n", body, s);
        free(s);
        json_decref(issues);
    }
    assert_int_equal(rc, 0);
    assert_null(issues);
}

static void parse_ok(const char *body, struct api_request *req)
{
    parse_ok_lim(body, lim_std(), req);
}

static json_t *parse_fail_len(const char *body, size_t len, const struct request_limits *lim)
{
    struct api_request req;
    json_t *issues = NULL;

    assert_int_equal(request_parse(body, len, lim, &req, &issues), -1);
    assert_non_null(issues);
    assert_true(json_is_array(issues));
    assert_true(json_array_size(issues) > 0);
    /* The request is left empty. */
    assert_null(req.target_raw);
    assert_null(req.check_params);
    assert_null(req.orchestration_echo);
    return issues;
}

/* Finds an issue with this type and field (type NULL = any); also checks the issue shape. */
static const json_t *find_issue(const json_t *issues, const char *type, const char *field)
{
    size_t i;
    const json_t *it;

    json_array_foreach(issues, i, it) {
        assert_int_equal(json_object_size(it), 3);
        assert_true(json_is_string(json_object_get(it, "issue_type")));
        assert_true(json_is_string(json_object_get(it, "field")));
        assert_true(json_is_string(json_object_get(it, "message")));
        if ((type == NULL ||
             strcmp(json_string_value(json_object_get(it, "issue_type")), type) == 0) &&
            strcmp(json_string_value(json_object_get(it, "field")), field) == 0) {
            return it;
        }
    }
    return NULL;
}

static void expect_issue_lim(const char *body, const struct request_limits *lim, const char *type,
                             const char *field)
{
    json_t *issues = parse_fail_len(body, strlen(body), lim);

    if (find_issue(issues, type, field) == NULL) {
        char *s = json_dumps(issues, JSON_COMPACT);
        print_error("no %s issue for %s in %s\nbody: %s\n", type, field, s, body);
        free(s);
        json_decref(issues);
        fail();
    }
    json_decref(issues);
}

static void expect_issue(const char *body, const char *type, const char *field)
{
    expect_issue_lim(body, lim_std(), type, field);
}

static void assert_json_eq(const json_t *v, const char *want)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

    if (strcmp(s, want) != 0) print_error("got  %s\nwant %s\n", s, want);
    assert_string_equal(s, want);
    free(s);
}

#define CAA_PRE "{\"check_type\":\"caa\",\"domain_or_ip_target\":\"example.com\""
#define DCV_PRE "{\"check_type\":\"dcv\",\"domain_or_ip_target\":\"example.com\""
#define HTTP01 "\"dcv_check_parameters\":{\"validation_method\":\"acme-http-01\"," \
               "\"token\":\"tok-EN_1\",\"key_authorization\":\"tok-EN_1.thumb\""
#define DNS01 "\"dcv_check_parameters\":{\"validation_method\":\"acme-dns-01\"," \
              "\"key_authorization_hash\":\"7FwkJPsKf-TH54wu4eiIFA3nhzYaevsL7953ihy-tpo\""

static void test_caa_defaults(void **state)
{
    struct api_request r;
    (void)state;

    parse_ok(CAA_PRE "}", &r);
    assert_int_equal(r.check_type, CHECK_TYPE_CAA);
    assert_string_equal(r.target_raw, "example.com");
    assert_string_equal(r.target, "example.com");
    assert_int_equal(r.target_kind, DNSNAME_DOMAIN);
    assert_false(r.wildcard);
    assert_int_equal(r.perspective_count, 6);
    assert_int_equal(r.quorum_count, 4);
    assert_int_equal(r.max_attempts, 1);
    assert_int_equal(r.cohort_for_single_attempt, 0);
    assert_int_equal(r.deadline_ms, 10000);
    assert_null(r.trace_id);
    assert_true(json_is_null(r.orchestration_echo));
    assert_json_eq(r.check_params, "{\"certificate_type\":\"tls-server\",\"caa_domains\":"
                   "[\"example-ca.test\"],\"allow_lookup_failure\":false,\"account_uri\":null,"
                   "\"validation_method\":null}");
    request_free(&r);
    assert_null(r.check_params);

    /* Explicit nulls and an empty domain list give the same defaults. */
    parse_ok(CAA_PRE ",\"orchestration_parameters\":null,\"trace_identifier\":null,"
             "\"caa_check_parameters\":{\"certificate_type\":null,\"caa_domains\":[],"
             "\"allow_lookup_failure\":null,\"account_uri\":null},\"dcv_check_parameters\":null}",
             &r);
    assert_json_eq(r.check_params, "{\"certificate_type\":\"tls-server\",\"caa_domains\":"
                   "[\"example-ca.test\"],\"allow_lookup_failure\":false,\"account_uri\":null,"
                   "\"validation_method\":null}");
    assert_true(json_is_null(r.orchestration_echo));
    request_free(&r);
}

static void test_caa_full(void **state)
{
    struct api_request r;
    (void)state;

    parse_ok("{\"check_type\":\"caa\",\"domain_or_ip_target\":\"*.Bücher.DE.\","
             "\"orchestration_parameters\":{\"perspective_count\":5,\"quorum_count\":5,"
             "\"max_attempts\":10,\"deadline_ms\":2500,\"future\":1},"
             "\"trace_identifier\":\"trace-1\",\"unknown_top\":{\"x\":1},"
             "\"caa_check_parameters\":{\"certificate_type\":\"s-mime\",\"caa_domains\":"
             "[\"CA.Example.\",\"other-ca.test\"],\"allow_lookup_failure\":true,"
             "\"account_uri\":\"https://ca.example/acct/1\",\"validation_method\":\"dns-01\","
             "\"extra\":true}}", &r);
    assert_string_equal(r.target_raw, "*.Bücher.DE.");
    assert_string_equal(r.target, "xn--bcher-kva.de");
    assert_true(r.wildcard);
    assert_int_equal(r.perspective_count, 5);
    assert_int_equal(r.quorum_count, 5);
    assert_int_equal(r.max_attempts, 3); /* capped by absolute_max_attempts */
    assert_int_equal(r.deadline_ms, 2500);
    assert_string_equal(r.trace_id, "trace-1");
    assert_json_eq(r.orchestration_echo, "{\"perspective_count\":5,\"quorum_count\":5,"
                   "\"max_attempts\":10,\"cohort_for_single_attempt\":null}");
    assert_json_eq(r.check_params, "{\"certificate_type\":\"s-mime\",\"caa_domains\":"
                   "[\"ca.example\",\"other-ca.test\"],\"allow_lookup_failure\":true,"
                   "\"account_uri\":\"https://ca.example/acct/1\",\"validation_method\":"
                   "\"dns-01\"}");
    request_free(&r);

    parse_ok(CAA_PRE ",\"orchestration_parameters\":{\"cohort_for_single_attempt\":2,"
             "\"max_attempts\":3}}", &r);
    assert_int_equal(r.cohort_for_single_attempt, 2);
    assert_int_equal(r.max_attempts, 1);
    assert_json_eq(r.orchestration_echo, "{\"perspective_count\":null,\"quorum_count\":null,"
                   "\"max_attempts\":3,\"cohort_for_single_attempt\":2}");
    request_free(&r);

    parse_ok("{\"check_type\":\"caa\",\"domain_or_ip_target\":\"[2001:DB8::1]\"}", &r);
    assert_string_equal(r.target, "2001:db8::1");
    assert_int_equal(r.target_kind, DNSNAME_IPV6);
    request_free(&r);
}

static void test_http01_defaults(void **state)
{
    struct api_request r;
    (void)state;

    parse_ok(DCV_PRE "," HTTP01 "}}", &r);
    assert_int_equal(r.check_type, CHECK_TYPE_DCV);
    assert_json_eq(r.check_params, "{\"validation_method\":\"acme-http-01\","
                   "\"require_exact_case\":true,\"token\":\"tok-EN_1\",\"key_authorization\":"
                   "\"tok-EN_1.thumb\",\"http_headers\":null}");
    request_free(&r);

    parse_ok(DCV_PRE "," HTTP01 ",\"require_exact_case\":true,\"http_headers\":"
             "{\"User-Agent\":\"x y\",\"X-Test\":\"\"},\"other\":1},\"caa_check_parameters\":null}",
             &r);
    assert_json_eq(r.check_params, "{\"validation_method\":\"acme-http-01\","
                   "\"require_exact_case\":true,\"token\":\"tok-EN_1\",\"key_authorization\":"
                   "\"tok-EN_1.thumb\",\"http_headers\":{\"User-Agent\":\"x y\",\"X-Test\":\"\"}}");
    request_free(&r);

    /* http-01 on an IP literal is allowed (RFC 8738). */
    parse_ok("{\"check_type\":\"dcv\",\"domain_or_ip_target\":\"192.0.2.7\"," HTTP01 "}}", &r);
    assert_int_equal(r.target_kind, DNSNAME_IPV4);
    request_free(&r);
}

static void test_dns01_defaults(void **state)
{
    struct api_request r;
    (void)state;

    parse_ok(DCV_PRE "," DNS01 "}}", &r);
    assert_json_eq(r.check_params, "{\"validation_method\":\"acme-dns-01\","
                   "\"require_exact_case\":true,\"key_authorization_hash\":"
                   "\"7FwkJPsKf-TH54wu4eiIFA3nhzYaevsL7953ihy-tpo\",\"dns_record_type\":\"TXT\","
                   "\"dns_name_prefix\":\"_acme-challenge\"}");
    request_free(&r);
    parse_ok("{\"check_type\":\"dcv\",\"domain_or_ip_target\":\"*.example.com\"," DNS01
             ",\"dns_record_type\":\"TXT\",\"dns_name_prefix\":\"_acme-challenge\","
             "\"require_exact_case\":true}}", &r);
    assert_true(r.wildcard);
    assert_string_equal(r.target, "example.com");
    request_free(&r);
}

static void test_top_level_fields(void **state)
{
    char body[1024];
    char longtrace[300];
    (void)state;

    expect_issue("{\"domain_or_ip_target\":\"example.com\"}", "missing-field", "check_type");
    expect_issue("{\"check_type\":null,\"domain_or_ip_target\":\"example.com\"}",
                 "missing-field", "check_type");
    expect_issue("{\"check_type\":5,\"domain_or_ip_target\":\"example.com\"}", "invalid-type",
                 "check_type");
    expect_issue("{\"check_type\":\"CAA\",\"domain_or_ip_target\":\"example.com\"}",
                 "invalid-check-type", "check_type");
    expect_issue("{\"check_type\":\"caa\"}", "missing-field", "domain_or_ip_target");
    expect_issue("{\"check_type\":\"caa\",\"domain_or_ip_target\":[\"a.com\"]}", "invalid-type",
                 "domain_or_ip_target");
    expect_issue("{\"check_type\":\"caa\",\"domain_or_ip_target\":\"bad..example\"}",
                 "invalid-target", "domain_or_ip_target");
    expect_issue("{\"check_type\":\"caa\",\"domain_or_ip_target\":\"*.192.0.2.1\"}",
                 "invalid-target", "domain_or_ip_target");
    expect_issue("{\"check_type\":\"caa\",\"domain_or_ip_target\":\"\"}",
                 "invalid-target", "domain_or_ip_target");
    expect_issue(CAA_PRE ",\"trace_identifier\":5}", "invalid-type", "trace_identifier");
    memset(longtrace, 'x', 257);
    longtrace[257] = '\0';
    snprintf(body, sizeof(body), CAA_PRE ",\"trace_identifier\":\"%s\"}", longtrace);
    expect_issue(body, "invalid-value", "trace_identifier");
    longtrace[256] = '\0';
    snprintf(body, sizeof(body), CAA_PRE ",\"trace_identifier\":\"%s\"}", longtrace);
    struct api_request r;
    parse_ok(body, &r);
    assert_int_equal(strlen(r.trace_id), 256);
    request_free(&r);
}

static void test_orchestration_types(void **state)
{
    static const char *const fields[] = {"perspective_count", "quorum_count", "max_attempts",
                                         "cohort_for_single_attempt", "deadline_ms"};
    static const char *const bad[] = {"\"3\"", "true", "false", "3.0", "[]", "{}"};
    char body[512];
    char field[128];
    (void)state;

    expect_issue(CAA_PRE ",\"orchestration_parameters\":\"x\"}", "invalid-type",
                 "orchestration_parameters");
    expect_issue(CAA_PRE ",\"orchestration_parameters\":[]}", "invalid-type",
                 "orchestration_parameters");
    for (size_t f = 0; f < sizeof(fields) / sizeof(fields[0]); f++) {
        snprintf(field, sizeof(field), "orchestration_parameters.%s", fields[f]);
        for (size_t b = 0; b < sizeof(bad) / sizeof(bad[0]); b++) {
            snprintf(body, sizeof(body), CAA_PRE ",\"orchestration_parameters\":{\"%s\":%s}}",
                     fields[f], bad[b]);
            expect_issue(body, "invalid-type", field);
        }
        snprintf(body, sizeof(body), CAA_PRE ",\"orchestration_parameters\":{\"%s\":"
                 "99999999999}}", fields[f]);
        expect_issue(body, "invalid-value", field);
    }
}

static void test_orchestration_values(void **state)
{
    const char *pc = "orchestration_parameters.perspective_count";
    const char *qc = "orchestration_parameters.quorum_count";
    struct api_request r;
    (void)state;

    expect_issue(CAA_PRE ",\"orchestration_parameters\":{\"perspective_count\":1}}",
                 "invalid-perspective-count", pc);
    expect_issue(CAA_PRE ",\"orchestration_parameters\":{\"perspective_count\":-4}}",
                 "invalid-perspective-count", pc);
    expect_issue(CAA_PRE ",\"orchestration_parameters\":{\"perspective_count\":10}}",
                 "invalid-perspective-count", pc);
    expect_issue(CAA_PRE ",\"orchestration_parameters\":{\"perspective_count\":3,"
                 "\"quorum_count\":5}}", "invalid-quorum-count", qc);
    expect_issue(CAA_PRE ",\"orchestration_parameters\":{\"perspective_count\":3,"
                 "\"quorum_count\":1}}", "invalid-quorum-count", qc);
    expect_issue(CAA_PRE ",\"orchestration_parameters\":{\"perspective_count\":7,"
                 "\"quorum_count\":4}}", "invalid-quorum-count", qc);
    expect_issue(CAA_PRE ",\"orchestration_parameters\":{\"max_attempts\":0}}",
                 "invalid-value", "orchestration_parameters.max_attempts");
    expect_issue(CAA_PRE ",\"orchestration_parameters\":{\"cohort_for_single_attempt\":0}}",
                 "invalid-value", "orchestration_parameters.cohort_for_single_attempt");
    expect_issue(CAA_PRE ",\"orchestration_parameters\":{\"deadline_ms\":499}}",
                 "invalid-deadline", "orchestration_parameters.deadline_ms");
    expect_issue(CAA_PRE ",\"orchestration_parameters\":{\"deadline_ms\":60001}}",
                 "invalid-deadline", "orchestration_parameters.deadline_ms");

    /* Every allowed quorum for every count from 2 to 9. */
    static const int lowest[10] = {0, 0, 1, 2, 3, 4, 4, 5, 6, 7};
    for (int n = 2; n <= 9; n++) {
        for (int q = 0; q <= n + 1; q++) {
            char body[256];
            snprintf(body, sizeof(body), CAA_PRE ",\"orchestration_parameters\":"
                     "{\"perspective_count\":%d,\"quorum_count\":%d}}", n, q);
            if (q >= lowest[n] && q <= n) {
                parse_ok(body, &r);
                assert_int_equal(r.perspective_count, n);
                assert_int_equal(r.quorum_count, q);
                request_free(&r);
            } else {
                expect_issue(body, "invalid-quorum-count", qc);
            }
        }
        char body[256];
        snprintf(body, sizeof(body), CAA_PRE ",\"orchestration_parameters\":"
                 "{\"perspective_count\":%d}}", n);
        parse_ok(body, &r);
        assert_int_equal(r.quorum_count, lowest[n]);
        request_free(&r);
    }
    parse_ok(CAA_PRE ",\"orchestration_parameters\":{\"deadline_ms\":500}}", &r);
    assert_int_equal(r.deadline_ms, 500);
    request_free(&r);
}

/* quorum_count is checked against the default perspective count too (unlike Open MPIC). */
static void test_quorum_without_perspective_count(void **state)
{
    const char *qc = "orchestration_parameters.quorum_count";
    struct api_request r;
    (void)state;

    expect_issue(CAA_PRE ",\"orchestration_parameters\":{\"quorum_count\":3}}",
                 "invalid-quorum-count", qc);
    expect_issue(CAA_PRE ",\"orchestration_parameters\":{\"quorum_count\":7}}",
                 "invalid-quorum-count", qc);
    expect_issue(CAA_PRE ",\"orchestration_parameters\":{\"quorum_count\":0}}",
                 "invalid-quorum-count", qc);
    parse_ok(CAA_PRE ",\"orchestration_parameters\":{\"quorum_count\":5}}", &r);
    assert_int_equal(r.perspective_count, 6);
    assert_int_equal(r.quorum_count, 5);
    request_free(&r);
}

static void test_br_minimum(void **state)
{
    struct request_limits l = limits();
    struct api_request r;
    json_t *issues;
    const json_t *it;
    const char *body = CAA_PRE ",\"orchestration_parameters\":{\"perspective_count\":4}}";
    (void)state;

    l.min_perspective_count = 5;
    issues = parse_fail_len(body, strlen(body), &l);
    it = find_issue(issues, "invalid-perspective-count",
                    "orchestration_parameters.perspective_count");
    assert_non_null(it);
    assert_non_null(strstr(json_string_value(json_object_get(it, "message")), "BR minimum"));
    json_decref(issues);

    parse_ok_lim(CAA_PRE ",\"orchestration_parameters\":{\"perspective_count\":5}}", &l, &r);
    assert_int_equal(r.perspective_count, 5);
    request_free(&r);

    /* A configured default below the minimum is raised to it. */
    l.default_perspective_count = 3;
    parse_ok_lim(CAA_PRE "}", &l, &r);
    assert_int_equal(r.perspective_count, 5);
    assert_int_equal(r.quorum_count, 4);
    request_free(&r);

    /* Fewer perspectives configured than the minimum: nothing can be served. */
    l.nperspectives = 4;
    expect_issue_lim(CAA_PRE "}", &l, "invalid-perspective-count",
                     "orchestration_parameters.perspective_count");
}

static void test_caa_params(void **state)
{
    const char *p = "caa_check_parameters";
    char body[2048];
    char uri[1100];
    (void)state;

    expect_issue(CAA_PRE ",\"caa_check_parameters\":\"x\"}", "invalid-type", p);
    expect_issue(CAA_PRE ",\"caa_check_parameters\":[]}", "invalid-type", p);
    expect_issue(CAA_PRE ",\"caa_check_parameters\":{\"certificate_type\":5}}", "invalid-type",
                 "caa_check_parameters.certificate_type");
    expect_issue(CAA_PRE ",\"caa_check_parameters\":{\"certificate_type\":\"ev\"}}",
                 "invalid-certificate-type", "caa_check_parameters.certificate_type");
    expect_issue(CAA_PRE ",\"caa_check_parameters\":{\"caa_domains\":\"ca.test\"}}",
                 "invalid-type", "caa_check_parameters.caa_domains");
    expect_issue(CAA_PRE ",\"caa_check_parameters\":{\"caa_domains\":[\"ok.test\",5]}}",
                 "invalid-type", "caa_check_parameters.caa_domains[1]");
    expect_issue(CAA_PRE ",\"caa_check_parameters\":{\"caa_domains\":[\"\"]}}",
                 "invalid-value", "caa_check_parameters.caa_domains[0]");
    expect_issue(CAA_PRE ",\"caa_check_parameters\":{\"caa_domains\":[\"bad..ca\"]}}",
                 "invalid-value", "caa_check_parameters.caa_domains[0]");
    expect_issue(CAA_PRE ",\"caa_check_parameters\":{\"caa_domains\":[\"192.0.2.1\"]}}",
                 "invalid-value", "caa_check_parameters.caa_domains[0]");
    expect_issue(CAA_PRE ",\"caa_check_parameters\":{\"caa_domains\":[\"*.ca.test\"]}}",
                 "invalid-value", "caa_check_parameters.caa_domains[0]");
    expect_issue(CAA_PRE ",\"caa_check_parameters\":{\"allow_lookup_failure\":\"yes\"}}",
                 "invalid-type", "caa_check_parameters.allow_lookup_failure");
    expect_issue(CAA_PRE ",\"caa_check_parameters\":{\"allow_lookup_failure\":0}}",
                 "invalid-type", "caa_check_parameters.allow_lookup_failure");
    expect_issue(CAA_PRE ",\"caa_check_parameters\":{\"account_uri\":5}}", "invalid-type",
                 "caa_check_parameters.account_uri");
    expect_issue(CAA_PRE ",\"caa_check_parameters\":{\"account_uri\":\"no-scheme\"}}",
                 "invalid-value", "caa_check_parameters.account_uri");
    expect_issue(CAA_PRE ",\"caa_check_parameters\":{\"account_uri\":\"https://a b\"}}",
                 "invalid-value", "caa_check_parameters.account_uri");
    memset(uri, 'a', 1030);
    memcpy(uri, "https://", 8);
    uri[1030] = '\0';
    snprintf(body, sizeof(body), CAA_PRE ",\"caa_check_parameters\":{\"account_uri\":\"%s\"}}",
             uri);
    expect_issue(body, "invalid-value", "caa_check_parameters.account_uri");
    expect_issue(CAA_PRE ",\"caa_check_parameters\":{\"validation_method\":\"http 01\"}}",
                 "invalid-value", "caa_check_parameters.validation_method");
    expect_issue(CAA_PRE ",\"caa_check_parameters\":{\"validation_method\":\"\"}}",
                 "invalid-value", "caa_check_parameters.validation_method");
    expect_issue(CAA_PRE ",\"caa_check_parameters\":{\"validation_method\":1}}",
                 "invalid-type", "caa_check_parameters.validation_method");
    expect_issue(CAA_PRE ",\"dcv_check_parameters\":{\"validation_method\":\"acme-dns-01\"}}",
                 "unexpected-field", "dcv_check_parameters");

    /* More than 64 issuer domains. */
    size_t off = (size_t)snprintf(body, sizeof(body), CAA_PRE ",\"caa_check_parameters\":"
                                  "{\"caa_domains\":[");
    for (int i = 0; i < 65; i++) {
        off += (size_t)snprintf(body + off, sizeof(body) - off, "%s\"c%d.test\"", i ? "," : "",
                                i);
    }
    snprintf(body + off, sizeof(body) - off, "]}}");
    expect_issue(body, "invalid-value", "caa_check_parameters.caa_domains");
}

static void test_dcv_common(void **state)
{
    static const char *const methods[] = {
        "website-change", "acme-http-01", "acme-tls-alpn-01", "acme-dns-01", "dns-change",
        "dns-persistent", "dns-account-01", "contact-email-txt", "contact-phone-txt",
        "contact-email-caa", "contact-phone-caa", "ip-address", "reverse-address-lookup",
    };
    const char *vm = "dcv_check_parameters.validation_method";
    (void)state;

    expect_issue(DCV_PRE "}", "missing-field", "dcv_check_parameters");
    expect_issue(DCV_PRE ",\"dcv_check_parameters\":null}", "missing-field",
                 "dcv_check_parameters");
    expect_issue(DCV_PRE ",\"dcv_check_parameters\":\"x\"}", "invalid-type",
                 "dcv_check_parameters");
    expect_issue(DCV_PRE ",\"dcv_check_parameters\":{}}", "missing-field", vm);
    expect_issue(DCV_PRE ",\"dcv_check_parameters\":{\"validation_method\":5}}", "invalid-type",
                 vm);
    expect_issue(DCV_PRE ",\"dcv_check_parameters\":{\"validation_method\":\"acme-http-02\"}}",
                 "invalid-validation-method", vm);
    /* every validation method of the Open MPIC API (and dns-account-01) is implemented */
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
        assert_true(dcv_params_supported(methods[i]));
    assert_false(dcv_params_supported("acme-http-02"));
    expect_issue(DCV_PRE "," HTTP01 "},\"caa_check_parameters\":{}}", "unexpected-field",
                 "caa_check_parameters");
}

static void test_http01_fields(void **state)
{
    char body[4096];
    char big[300];
    (void)state;

    expect_issue(DCV_PRE ",\"dcv_check_parameters\":{\"validation_method\":\"acme-http-01\","
                 "\"key_authorization\":\"k\"}}", "missing-field", "dcv_check_parameters.token");
    expect_issue(DCV_PRE ",\"dcv_check_parameters\":{\"validation_method\":\"acme-http-01\","
                 "\"token\":5,\"key_authorization\":\"k\"}}", "invalid-type",
                 "dcv_check_parameters.token");
    expect_issue(DCV_PRE ",\"dcv_check_parameters\":{\"validation_method\":\"acme-http-01\","
                 "\"token\":\"a/b\",\"key_authorization\":\"k\"}}", "invalid-value",
                 "dcv_check_parameters.token");
    expect_issue(DCV_PRE ",\"dcv_check_parameters\":{\"validation_method\":\"acme-http-01\","
                 "\"token\":\"\",\"key_authorization\":\"k\"}}", "invalid-value",
                 "dcv_check_parameters.token");
    memset(big, 'A', 257);
    big[257] = '\0';
    snprintf(body, sizeof(body), DCV_PRE ",\"dcv_check_parameters\":{\"validation_method\":"
             "\"acme-http-01\",\"token\":\"%s\",\"key_authorization\":\"k\"}}", big);
    expect_issue(body, "invalid-value", "dcv_check_parameters.token");
    expect_issue(DCV_PRE ",\"dcv_check_parameters\":{\"validation_method\":\"acme-http-01\","
                 "\"token\":\"t\"}}", "missing-field", "dcv_check_parameters.key_authorization");
    expect_issue(DCV_PRE ",\"dcv_check_parameters\":{\"validation_method\":\"acme-http-01\","
                 "\"token\":\"t\",\"key_authorization\":\"\"}}", "invalid-value",
                 "dcv_check_parameters.key_authorization");
    expect_issue(DCV_PRE ",\"dcv_check_parameters\":{\"validation_method\":\"acme-http-01\","
                 "\"token\":\"t\",\"key_authorization\":[]}}", "invalid-type",
                 "dcv_check_parameters.key_authorization");

    const char *hh = "dcv_check_parameters.http_headers";
    expect_issue(DCV_PRE "," HTTP01 ",\"http_headers\":\"x\"}}", "invalid-type", hh);
    expect_issue(DCV_PRE "," HTTP01 ",\"http_headers\":[]}}", "invalid-type", hh);
    expect_issue(DCV_PRE "," HTTP01 ",\"http_headers\":{\"Bad Name\":\"v\"}}}", "invalid-value",
                 hh);
    expect_issue(DCV_PRE "," HTTP01 ",\"http_headers\":{\"\":\"v\"}}}", "invalid-value", hh);
    expect_issue(DCV_PRE "," HTTP01 ",\"http_headers\":{\"Host\":\"evil.test\"}}}",
                 "invalid-value", hh);
    expect_issue(DCV_PRE "," HTTP01 ",\"http_headers\":{\"X-A\":5}}}", "invalid-type", hh);
    expect_issue(DCV_PRE "," HTTP01 ",\"http_headers\":{\"X-A\":\"a\\u0001b\"}}}", "invalid-value",
                 hh);
    expect_issue(DCV_PRE "," HTTP01 ",\"http_headers\":{\"X-A\":\"a\\r\\nX-B: c\"}}}",
                 "invalid-value", hh);
    size_t off = (size_t)snprintf(body, sizeof(body), DCV_PRE "," HTTP01 ",\"http_headers\":{");
    for (int i = 0; i < 33; i++) {
        off += (size_t)snprintf(body + off, sizeof(body) - off, "%s\"X-H%d\":\"v\"",
                                i ? "," : "", i);
    }
    snprintf(body + off, sizeof(body) - off, "}}}");
    expect_issue(body, "invalid-value", hh);

    expect_issue(DCV_PRE "," HTTP01 ",\"require_exact_case\":false}}", "invalid-value",
                 "dcv_check_parameters.require_exact_case");
    expect_issue(DCV_PRE "," HTTP01 ",\"require_exact_case\":\"true\"}}", "invalid-type",
                 "dcv_check_parameters.require_exact_case");
    expect_issue("{\"check_type\":\"dcv\",\"domain_or_ip_target\":\"*.example.com\"," HTTP01
                 "}}", "invalid-wildcard", "domain_or_ip_target");
}

/* BR 3.2.2.6: a wildcard's base name must not be an ICANN public suffix (libpsl). */
static void test_wildcard_public_suffix(void **state)
{
    struct api_request r;
    (void)state;

    expect_issue("{\"check_type\":\"caa\",\"domain_or_ip_target\":\"*.co.uk\"}",
                 "invalid-wildcard", "domain_or_ip_target");
    expect_issue("{\"check_type\":\"caa\",\"domain_or_ip_target\":\"*.CO.UK.\"}",
                 "invalid-wildcard", "domain_or_ip_target");
    expect_issue("{\"check_type\":\"caa\",\"domain_or_ip_target\":\"*.com.au\"}",
                 "invalid-wildcard", "domain_or_ip_target");
    /* a registrable name under a public suffix is fine, and so is a non-wildcard suffix */
    parse_ok("{\"check_type\":\"caa\",\"domain_or_ip_target\":\"*.example.co.uk\"}", &r);
    assert_true(r.wildcard);
    assert_string_equal(r.target, "example.co.uk");
    request_free(&r);
    parse_ok("{\"check_type\":\"caa\",\"domain_or_ip_target\":\"co.uk\"}", &r);
    assert_false(r.wildcard);
    request_free(&r);
}

static void test_dns01_fields(void **state)
{
    const char *kh = "dcv_check_parameters.key_authorization_hash";
    (void)state;

    expect_issue(DCV_PRE ",\"dcv_check_parameters\":{\"validation_method\":\"acme-dns-01\"}}",
                 "missing-field", kh);
    expect_issue(DCV_PRE ",\"dcv_check_parameters\":{\"validation_method\":\"acme-dns-01\","
                 "\"key_authorization_hash\":5}}", "invalid-type", kh);
    expect_issue(DCV_PRE ",\"dcv_check_parameters\":{\"validation_method\":\"acme-dns-01\","
                 "\"key_authorization_hash\":\"\"}}", "invalid-value", kh);
    expect_issue(DCV_PRE "," DNS01 ",\"dns_record_type\":\"CNAME\"}}", "invalid-value",
                 "dcv_check_parameters.dns_record_type");
    expect_issue(DCV_PRE "," DNS01 ",\"dns_record_type\":16}}", "invalid-type",
                 "dcv_check_parameters.dns_record_type");
    expect_issue(DCV_PRE "," DNS01 ",\"dns_name_prefix\":\"_other\"}}", "invalid-value",
                 "dcv_check_parameters.dns_name_prefix");
    expect_issue(DCV_PRE "," DNS01 ",\"dns_name_prefix\":true}}", "invalid-type",
                 "dcv_check_parameters.dns_name_prefix");
    expect_issue(DCV_PRE "," DNS01 ",\"require_exact_case\":false}}", "invalid-value",
                 "dcv_check_parameters.require_exact_case");
    expect_issue("{\"check_type\":\"dcv\",\"domain_or_ip_target\":\"192.0.2.1\"," DNS01 "}}",
                 "invalid-target", "domain_or_ip_target");
}

/* Several problems in one body are all reported. */
static void test_multiple_issues(void **state)
{
    const char *body = "{\"check_type\":\"caa\",\"domain_or_ip_target\":5,"
                       "\"orchestration_parameters\":{\"perspective_count\":\"x\","
                       "\"max_attempts\":0,\"deadline_ms\":1},\"trace_identifier\":7,"
                       "\"caa_check_parameters\":{\"certificate_type\":\"ev\","
                       "\"allow_lookup_failure\":1}}";
    json_t *issues = parse_fail_len(body, strlen(body), lim_std());
    (void)state;

    assert_int_equal(json_array_size(issues), 7);
    assert_non_null(find_issue(issues, "invalid-type", "domain_or_ip_target"));
    assert_non_null(find_issue(issues, "invalid-type",
                               "orchestration_parameters.perspective_count"));
    assert_non_null(find_issue(issues, "invalid-value", "orchestration_parameters.max_attempts"));
    assert_non_null(find_issue(issues, "invalid-deadline",
                               "orchestration_parameters.deadline_ms"));
    assert_non_null(find_issue(issues, "invalid-type", "trace_identifier"));
    assert_non_null(find_issue(issues, "invalid-certificate-type",
                               "caa_check_parameters.certificate_type"));
    assert_non_null(find_issue(issues, "invalid-type",
                               "caa_check_parameters.allow_lookup_failure"));
    json_decref(issues);
}

static void test_hostile_bodies(void **state)
{
    static const char *const not_objects[] = {"[]", "\"caa\"", "null", "5", "true"};
    static const char *const broken[] = {"{", "{} x", "{\"a\":}", "{'a':1}",
                                         "{\"check_type\":\"caa\xff\"}",
                                         "{\"a\":\"\\u0000\"}", "{\"a\":123456789012345678901234}"};
    size_t big = REQUEST_MAX_BODY + 1;
    char *body;
    json_t *issues;
    (void)state;

    for (size_t i = 0; i < sizeof(not_objects) / sizeof(not_objects[0]); i++) {
        expect_issue(not_objects[i], "invalid-type", "body");
    }
    for (size_t i = 0; i < sizeof(broken) / sizeof(broken[0]); i++) {
        expect_issue(broken[i], "invalid-json", "body");
    }
    issues = parse_fail_len("", 0, lim_std());
    assert_non_null(find_issue(issues, "invalid-json", "body"));
    json_decref(issues);
    issues = parse_fail_len(NULL, 0, lim_std());
    json_decref(issues);

    expect_issue("{\"check_type\":\"caa\",\"check_type\":\"dcv\","
                 "\"domain_or_ip_target\":\"example.com\"}", "duplicate-key", "body");
    expect_issue(CAA_PRE ",\"orchestration_parameters\":{\"quorum_count\":2,"
                 "\"quorum_count\":3}}", "duplicate-key", "body");

    /* Over the cap: rejected before parsing, even if the JSON would be valid. */
    body = malloc(big + 1);
    assert_non_null(body);
    memset(body, ' ', big);
    memcpy(body, CAA_PRE "}", strlen(CAA_PRE "}"));
    body[big] = '\0';
    issues = parse_fail_len(body, big, lim_std());
    assert_non_null(find_issue(issues, "request-too-large", "body"));
    json_decref(issues);
    /* At the cap it is accepted (trailing whitespace is valid JSON). */
    struct api_request r;
    assert_int_equal(request_parse(body, REQUEST_MAX_BODY, lim_std(), &r, &issues), 0);
    assert_string_equal(r.target, "example.com");
    request_free(&r);
    free(body);

    /* Deep nesting is handled by jansson's depth limit or parsed as an ignored field. */
    size_t depth = 5000;
    body = malloc(2 * depth + 64);
    assert_non_null(body);
    size_t off = (size_t)snprintf(body, 64, "{\"x\":");
    memset(body + off, '[', depth);
    memset(body + off + depth, ']', depth);
    snprintf(body + off + 2 * depth, 64, "}");
    issues = parse_fail_len(body, strlen(body), lim_std());
    json_decref(issues);
    free(body);
}

static void test_limits_null(void **state)
{
    struct api_request r;
    json_t *issues = NULL;
    (void)state;

    assert_int_equal(request_parse(CAA_PRE "}", strlen(CAA_PRE "}"), NULL, &r, &issues), -1);
    assert_non_null(issues);
    json_decref(issues);
    request_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_caa_defaults),
        cmocka_unit_test(test_caa_full),
        cmocka_unit_test(test_http01_defaults),
        cmocka_unit_test(test_dns01_defaults),
        cmocka_unit_test(test_top_level_fields),
        cmocka_unit_test(test_orchestration_types),
        cmocka_unit_test(test_orchestration_values),
        cmocka_unit_test(test_quorum_without_perspective_count),
        cmocka_unit_test(test_br_minimum),
        cmocka_unit_test(test_caa_params),
        cmocka_unit_test(test_dcv_common),
        cmocka_unit_test(test_http01_fields),
        cmocka_unit_test(test_dns01_fields),
        cmocka_unit_test(test_multiple_issues),
        cmocka_unit_test(test_hostile_bodies),
        cmocka_unit_test(test_limits_null),
        cmocka_unit_test(test_wildcard_public_suffix),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
