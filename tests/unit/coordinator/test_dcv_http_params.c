/*
 * Unit tests for coordinator/dcv_http_params.c (website-change) through request_parse(): the
 * echo with every default filled in, each field's 400 issue naming the field (token path,
 * scheme, regex, empty challenge, wildcard, value inside the request), and common/pkipath's
 * path and regex rules on their own.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pkipath.h"
#include "request.h"

static const char *const default_caa[] = {"example-ca.test"};

static const struct request_limits *lim(void)
{
    static struct request_limits l;
    memset(&l, 0, sizeof(l));
    l.nperspectives = 9;
    l.default_perspective_count = 6;
    l.min_perspective_count = 2;
    l.absolute_max_attempts = 3;
    l.default_deadline_ms = 10000;
    l.min_deadline_ms = 500;
    l.max_deadline_ms = 60000;
    l.caa_domains = default_caa;
    l.ncaa_domains = 1;
    return &l;
}

/* Builds a website-change request for target with the given parameter members. */
static char *body(const char *target, const char *members)
{
    char *b = malloc(4096);
    snprintf(b, 4096,
             "{\"check_type\":\"dcv\",\"domain_or_ip_target\":\"%s\",\"dcv_check_parameters\":"
             "{\"validation_method\":\"website-change\"%s%s}}",
             target, members[0] != '\0' ? "," : "", members);
    return b;
}

static char *echo_of(const char *target, const char *members)
{
    struct api_request req;
    json_t *issues = NULL;
    char *b = body(target, members);
    char *s;
    int rc = request_parse(b, strlen(b), lim(), &req, &issues);

    if (rc != 0) {
        s = json_dumps(issues, JSON_COMPACT);
        fail_msg("unexpected issues for %s: %s", b, s);
    }
    s = json_dumps(req.check_params, JSON_COMPACT | JSON_PRESERVE_ORDER);
    request_free(&req);
    free(b);
    return s;
}

/* Asserts a 400 with an issue of type on field; returns nothing. */
static void expect_issue(const char *target, const char *members, const char *type,
                         const char *field)
{
    struct api_request req;
    json_t *issues = NULL;
    char *b = body(target, members);
    size_t i;
    json_t *it;
    bool found = false;

    assert_int_equal(request_parse(b, strlen(b), lim(), &req, &issues), -1);
    json_array_foreach(issues, i, it)
    {
        const char *t = json_string_value(json_object_get(it, "issue_type"));
        const char *f = json_string_value(json_object_get(it, "field"));
        if (t != NULL && f != NULL && strcmp(t, type) == 0 && strcmp(f, field) == 0) found = true;
    }
    if (!found) {
        char *s = json_dumps(issues, JSON_COMPACT);
        fail_msg("no %s issue for %s in %s (body %s)", type, field, s, b);
    }
    json_decref(issues);
    free(b);
}

static void test_echo_defaults(void **state)
{
    char *s = echo_of("example.com", "\"challenge_value\":\"rv-123\","
                                     "\"http_token_path\":\"file.txt\"");
    assert_string_equal(s, "{\"validation_method\":\"website-change\","
                           "\"require_exact_case\":true,\"challenge_value\":\"rv-123\","
                           "\"http_token_path\":\"file.txt\",\"url_scheme\":\"http\","
                           "\"http_headers\":null,\"match_regex\":null}");
    free(s);
    s = echo_of("192.0.2.7", "\"challenge_value\":\"\",\"http_token_path\":\"a/b-c_~.txt\","
                             "\"url_scheme\":\"https\",\"match_regex\":\"^rv-[0-9]+$\","
                             "\"require_exact_case\":false,"
                             "\"http_headers\":{\"User-Agent\":\"ua/1\"}");
    assert_string_equal(s, "{\"validation_method\":\"website-change\","
                           "\"require_exact_case\":false,\"challenge_value\":\"\","
                           "\"http_token_path\":\"a/b-c_~.txt\",\"url_scheme\":\"https\","
                           "\"http_headers\":{\"User-Agent\":\"ua/1\"},"
                           "\"match_regex\":\"^rv-[0-9]+$\"}");
    free(s);
    /* explicit nulls are the defaults */
    s = echo_of("[2001:db8::1]", "\"challenge_value\":\"rv\",\"http_token_path\":\"f\","
                                 "\"url_scheme\":null,\"match_regex\":null,"
                                 "\"require_exact_case\":null,\"http_headers\":null");
    assert_non_null(strstr(s, "\"url_scheme\":\"http\""));
    assert_non_null(strstr(s, "\"require_exact_case\":true"));
    free(s);
}

static void test_required_fields(void **state)
{
    const char *cv = "dcv_check_parameters.challenge_value";
    const char *path = "dcv_check_parameters.http_token_path";

    expect_issue("example.com", "\"http_token_path\":\"f\"", "missing-field", cv);
    expect_issue("example.com", "\"challenge_value\":\"rv\"", "missing-field", path);
    expect_issue("example.com", "\"challenge_value\":5,\"http_token_path\":\"f\"",
                 "invalid-type", cv);
    expect_issue("example.com", "\"challenge_value\":\"rv\",\"http_token_path\":[]",
                 "invalid-type", path);
    expect_issue("example.com", "\"challenge_value\":\"\",\"http_token_path\":\"f\"",
                 "empty-challenge-value", cv);
    expect_issue("example.com", "\"challenge_value\":\"a\\u0001b\",\"http_token_path\":\"f\"",
                 "invalid-value", cv);
    expect_issue("*.example.com", "\"challenge_value\":\"rv\",\"http_token_path\":\"f\"",
                 "invalid-wildcard", "domain_or_ip_target");
}

static void test_bad_optional_fields(void **state)
{
    const char *base = "\"challenge_value\":\"rv\",\"http_token_path\":\"f\",";
    char m[1024];

    snprintf(m, sizeof(m), "%s\"url_scheme\":\"ftp\"", base);
    expect_issue("example.com", m, "invalid-value", "dcv_check_parameters.url_scheme");
    snprintf(m, sizeof(m), "%s\"url_scheme\":\"HTTP\"", base);
    expect_issue("example.com", m, "invalid-value", "dcv_check_parameters.url_scheme");
    snprintf(m, sizeof(m), "%s\"match_regex\":\"(unclosed\"", base);
    expect_issue("example.com", m, "invalid-value", "dcv_check_parameters.match_regex");
    snprintf(m, sizeof(m), "%s\"match_regex\":\"((a{1,100}){1,100}){1,100}\"", base);
    expect_issue("example.com", m, "invalid-value", "dcv_check_parameters.match_regex");
    snprintf(m, sizeof(m), "%s\"match_regex\":7", base);
    expect_issue("example.com", m, "invalid-type", "dcv_check_parameters.match_regex");
    snprintf(m, sizeof(m), "%s\"require_exact_case\":\"no\"", base);
    expect_issue("example.com", m, "invalid-type", "dcv_check_parameters.require_exact_case");
    snprintf(m, sizeof(m), "%s\"http_headers\":{\"Host\":\"evil.example\"}", base);
    expect_issue("example.com", m, "invalid-value", "dcv_check_parameters.http_headers");
}

static void test_token_paths(void **state)
{
    static const char *const bad[] = {
        "/f", "../etc/passwd", "a/../b", "a//b", "a?b=1", "a#b", "a b", "%2e%2e/x", "a%2Fb",
        "a%zz", "a%4", "./a", "a/./b", "a/.", ".", "a\\\\b", "\\u00e9t\\u00e9",
    };
    char m[256];

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(m, sizeof(m), "\"challenge_value\":\"rv\",\"http_token_path\":\"%s\"", bad[i]);
        expect_issue("example.com", m, "invalid-value", "dcv_check_parameters.http_token_path");
    }
    free(echo_of("example.com", "\"challenge_value\":\"rv\","
                                "\"http_token_path\":\"dir/sub/f%41.txt;v=1\""));
}

static void test_value_not_in_request(void **state)
{
    const char *cv = "dcv_check_parameters.challenge_value";

    expect_issue("example.com", "\"challenge_value\":\"secret\",\"http_token_path\":\"Secret.txt\"",
                 "challenge-value-in-request", cv);
    expect_issue("secret.example.com", "\"challenge_value\":\"secret\",\"http_token_path\":\"f\"",
                 "challenge-value-in-request", cv);
    expect_issue("example.com", "\"challenge_value\":\"secret\",\"http_token_path\":\"f\","
                                "\"http_headers\":{\"X-A\":\"my-secret\"}",
                 "challenge-value-in-request", cv);
}

static void test_pkipath_rules(void **state)
{
    char err[200];
    char big[PKIPATH_MAX_PATH + 2];

    assert_int_equal(pkipath_check_path("a.txt", err, sizeof(err)), 0);
    assert_int_equal(pkipath_check_path("a%20b", err, sizeof(err)), 0);
    assert_int_equal(pkipath_check_path("", err, sizeof(err)), -1);
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(pkipath_check_path(big, err, sizeof(err)), -1);
    big[PKIPATH_MAX_PATH] = '\0';
    assert_int_equal(pkipath_check_path(big, err, sizeof(err)), 0);

    assert_int_equal(pkipath_check_regex("^rv-[0-9a-f]{1,64}$", err, sizeof(err)), 0);
    assert_int_equal(pkipath_check_regex("(a{64}){64}", err, sizeof(err)), 0);
    assert_int_equal(pkipath_check_regex("(a{64}){65}", err, sizeof(err)), -1);
    assert_int_equal(pkipath_check_regex("a{256}", err, sizeof(err)), -1);
    assert_int_equal(pkipath_check_regex("(a)\\1", err, sizeof(err)), -1);
    assert_int_equal(pkipath_check_regex("[", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "POSIX"));
    assert_int_equal(pkipath_check_regex("", err, sizeof(err)), -1);
    assert_int_equal(pkipath_check_regex("a\tb", err, sizeof(err)), -1);
    memset(big, 'a', sizeof(big) - 1);
    big[PKIPATH_MAX_REGEX + 1] = '\0';
    assert_int_equal(pkipath_check_regex(big, err, sizeof(err)), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_echo_defaults),
        cmocka_unit_test(test_required_fields),
        cmocka_unit_test(test_bad_optional_fields),
        cmocka_unit_test(test_token_paths),
        cmocka_unit_test(test_value_not_in_request),
        cmocka_unit_test(test_pkipath_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
