/*
 * Unit tests for coordinator/dcv_tls_params through request_parse(): the acme-tls-alpn-01
 * echo has every key with the defaults filled in, IP targets are accepted (RFC 8738), and a
 * bad key_authorization_hash, require_exact_case true or a wildcard target is a 400 issue
 * naming the field.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "request.h"

#define HASH "7f0924fb0a7fe4c7e78c2ee1e2088140de7873361a7afb0bef79de23cbe2da9a"
#define TLS_BODY(target, extra)                                                              \
    "{\"check_type\":\"dcv\",\"domain_or_ip_target\":\"" target "\","                        \
    "\"dcv_check_parameters\":{\"validation_method\":\"acme-tls-alpn-01\"" extra "}}"

static const char *const default_caa[] = {"example-ca.test"};

static const struct request_limits *lim(void)
{
    static const struct request_limits l = {
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
    return &l;
}

static void expect_params(const char *body, const char *want)
{
    struct api_request r;
    json_t *issues = NULL;
    char *s;

    if (request_parse(body, strlen(body), lim(), &r, &issues) != 0) {
        s = json_dumps(issues, JSON_COMPACT);
        print_error("unexpected issues for %s: %s\n", body, s);
        free(s);
        json_decref(issues);
        fail();
    }
    s = json_dumps(r.check_params, JSON_COMPACT);
    if (strcmp(s, want) != 0) print_error("got  %s\nwant %s\n", s, want);
    assert_string_equal(s, want);
    free(s);
    request_free(&r);
}

/* The body fails with an issue of this type naming field; the message mentions `words`. */
static void expect_issue(const char *body, const char *type, const char *field,
                         const char *words)
{
    struct api_request r;
    json_t *issues = NULL;
    const json_t *it;
    size_t i;
    bool found = false;

    assert_int_equal(request_parse(body, strlen(body), lim(), &r, &issues), -1);
    json_array_foreach(issues, i, it) {
        const char *t = json_string_value(json_object_get(it, "issue_type"));
        const char *f = json_string_value(json_object_get(it, "field"));
        const char *m = json_string_value(json_object_get(it, "message"));
        if (strcmp(t, type) == 0 && strcmp(f, field) == 0 &&
            (words == NULL || strstr(m, words) != NULL)) {
            found = true;
        }
    }
    if (!found) {
        char *s = json_dumps(issues, JSON_COMPACT);
        print_error("no %s issue for %s (\"%s\") in %s\nbody: %s\n", type, field,
                    words ? words : "", s, body);
        free(s);
    }
    json_decref(issues);
    assert_true(found);
}

static void test_accepted_forms(void **state)
{
    (void)state;
    expect_params(TLS_BODY("example.com", ",\"key_authorization_hash\":\"" HASH "\""),
                  "{\"validation_method\":\"acme-tls-alpn-01\",\"require_exact_case\":false,"
                  "\"key_authorization_hash\":\"" HASH "\"}");
    expect_params(TLS_BODY("example.com", ",\"require_exact_case\":null,"
                                          "\"key_authorization_hash\":\"" HASH "\""),
                  "{\"validation_method\":\"acme-tls-alpn-01\",\"require_exact_case\":false,"
                  "\"key_authorization_hash\":\"" HASH "\"}");
    expect_params(TLS_BODY("example.com", ",\"require_exact_case\":false,"
                                          "\"key_authorization_hash\":"
                                          "\"7F0924FB0A7FE4C7E78C2EE1E2088140"
                                          "DE7873361A7AFB0BEF79DE23CBE2DA9A\""),
                  "{\"validation_method\":\"acme-tls-alpn-01\",\"require_exact_case\":false,"
                  "\"key_authorization_hash\":\"7F0924FB0A7FE4C7E78C2EE1E2088140"
                  "DE7873361A7AFB0BEF79DE23CBE2DA9A\"}");
    /* RFC 8738: IPv4 and IPv6 targets */
    expect_params(TLS_BODY("192.0.2.7", ",\"key_authorization_hash\":\"" HASH "\""),
                  "{\"validation_method\":\"acme-tls-alpn-01\",\"require_exact_case\":false,"
                  "\"key_authorization_hash\":\"" HASH "\"}");
    expect_params(TLS_BODY("[2001:db8::7]", ",\"key_authorization_hash\":\"" HASH "\""),
                  "{\"validation_method\":\"acme-tls-alpn-01\",\"require_exact_case\":false,"
                  "\"key_authorization_hash\":\"" HASH "\"}");
}

static void test_bad_hash(void **state)
{
    const char *f = "dcv_check_parameters.key_authorization_hash";
    (void)state;

    expect_issue(TLS_BODY("example.com", ""), "missing-field", f, NULL);
    expect_issue(TLS_BODY("example.com", ",\"key_authorization_hash\":null"), "missing-field",
                 f, NULL);
    expect_issue(TLS_BODY("example.com", ",\"key_authorization_hash\":5"), "invalid-type", f,
                 NULL);
    expect_issue(TLS_BODY("example.com", ",\"key_authorization_hash\":\"\""), "invalid-value",
                 f, "64 hex digits");
    /* 63 and 65 digits */
    expect_issue(TLS_BODY("example.com", ",\"key_authorization_hash\":\"" HASH "0\""),
                 "invalid-value", f, "64 hex digits");
    expect_issue(TLS_BODY("example.com", ",\"key_authorization_hash\":"
                                         "\"7f0924fb0a7fe4c7e78c2ee1e2088140de7873361a7afb0bef79"
                                         "de23cbe2da9\""),
                 "invalid-value", f, "64 hex digits");
    /* the acme-dns-01 form (base64url) is not hex */
    expect_issue(TLS_BODY("example.com", ",\"key_authorization_hash\":"
                                         "\"7FwkJPsKf-TH54wu4eiIFA3nhzYaevsL7953ihy-tpo\""),
                 "invalid-value", f, "hex");
    expect_issue(TLS_BODY("example.com", ",\"key_authorization_hash\":"
                                         "\"7f0924fb0a7fe4c7e78c2ee1e2088140de7873361a7afb0bef79"
                                         "de23cbe2da9g\""),
                 "invalid-value", f, "hex");
}

static void test_exact_case_true_rejected(void **state)
{
    (void)state;
    expect_issue(TLS_BODY("example.com", ",\"require_exact_case\":true,"
                                         "\"key_authorization_hash\":\"" HASH "\""),
                 "invalid-value", "dcv_check_parameters.require_exact_case", "must be false");
    expect_issue(TLS_BODY("example.com", ",\"require_exact_case\":\"no\","
                                         "\"key_authorization_hash\":\"" HASH "\""),
                 "invalid-type", "dcv_check_parameters.require_exact_case", NULL);
}

static void test_wildcard_rejected(void **state)
{
    (void)state;
    expect_issue(TLS_BODY("*.example.com", ",\"key_authorization_hash\":\"" HASH "\""),
                 "invalid-wildcard", "domain_or_ip_target", "wildcard");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepted_forms),
        cmocka_unit_test(test_bad_hash),
        cmocka_unit_test(test_exact_case_true_rejected),
        cmocka_unit_test(test_wildcard_rejected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
