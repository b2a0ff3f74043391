/*
 * Unit tests for coordinator/dcv_dns_params.c and dcv_account_params.c through request_parse:
 * the echo of every DNS method with defaults and fixed values filled in (all keys present),
 * forced fields, record-type combinations, case rules, prefixes, IP and wildcard targets,
 * malformed expected IPs and URIs, and issuer lists.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "request.h"

static const char *const default_caa[] = {"example-ca.test"};

static const struct request_limits *lim(void)
{
    static struct request_limits l = {
        .nperspectives = 6,
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

/* A DCV body for target with params written with ' for " (readability). */
static char *body(const char *target, const char *params)
{
    static char buf[8192];
    snprintf(buf, sizeof(buf),
             "{\"check_type\":\"dcv\",\"domain_or_ip_target\":\"%s\",\"dcv_check_parameters\":%s}",
             target, params);
    for (char *p = buf; *p; p++) {
        if (*p == '\'') *p = '"';
    }
    return buf;
}

/* Parses and compares the echo (dcv_check_parameters) with want (' for "). */
static void expect_echo(const char *target, const char *params, const char *want)
{
    struct api_request r;
    json_t *issues = NULL;
    const char *b = body(target, params);
    char wantbuf[4096];
    char *got;

    if (request_parse(b, strlen(b), lim(), &r, &issues) != 0) {
        char *s = json_dumps(issues, JSON_COMPACT);
        print_error("unexpected issues for %s: %s\n", b, s);
        free(s);
        json_decref(issues);
        fail();
    }
    snprintf(wantbuf, sizeof(wantbuf), "%s", want);
    for (char *p = wantbuf; *p; p++) {
        if (*p == '\'') *p = '"';
    }
    got = json_dumps(r.check_params, JSON_COMPACT);
    if (strcmp(got, wantbuf) != 0) print_error("got  %s\nwant %s\n", got, wantbuf);
    assert_string_equal(got, wantbuf);
    free(got);
    request_free(&r);
}

static void expect_issue(const char *target, const char *params, const char *type,
                         const char *field)
{
    struct api_request r;
    json_t *issues = NULL;
    const char *b = body(target, params);
    size_t i;
    json_t *it;
    bool found = false;

    assert_int_equal(request_parse(b, strlen(b), lim(), &r, &issues), -1);
    json_array_foreach(issues, i, it) {
        if (strcmp(json_string_value(json_object_get(it, "issue_type")), type) == 0 &&
            strcmp(json_string_value(json_object_get(it, "field")), field) == 0)
            found = true;
    }
    if (!found) {
        char *s = json_dumps(issues, JSON_COMPACT);
        print_error("no %s issue for %s in %s\nbody: %s\n", type, field, s, b);
        free(s);
    }
    json_decref(issues);
    assert_true(found);
}

#define F(x) "dcv_check_parameters." x

static void test_dns_change(void **state)
{
    expect_echo("example.com",
                "{'validation_method':'dns-change','challenge_value':'v1','dns_record_type':'TXT'}",
                "{'validation_method':'dns-change','require_exact_case':true,"
                "'challenge_value':'v1','dns_record_type':'TXT','dns_name_prefix':null,"
                "'require_exact_match':false}");
    expect_echo("*.example.com",
                "{'validation_method':'dns-change','challenge_value':'v1','dns_record_type':'TXT',"
                "'dns_name_prefix':'_dcv.x','require_exact_match':true,'require_exact_case':false}",
                "{'validation_method':'dns-change','require_exact_case':false,"
                "'challenge_value':'v1','dns_record_type':'TXT','dns_name_prefix':'_dcv.x',"
                "'require_exact_match':true}");
    expect_echo("example.com",
                "{'validation_method':'dns-change','challenge_value':'v1.',"
                "'dns_record_type':'CNAME','dns_name_prefix':''}",
                "{'validation_method':'dns-change','require_exact_case':false,"
                "'challenge_value':'v1.','dns_record_type':'CNAME','dns_name_prefix':'',"
                "'require_exact_match':false}");
    expect_echo("example.com",
                "{'validation_method':'dns-change','challenge_value':'v1','dns_record_type':'CAA',"
                "'require_exact_case':false}",
                "{'validation_method':'dns-change','require_exact_case':false,"
                "'challenge_value':'v1','dns_record_type':'CAA','dns_name_prefix':null,"
                "'require_exact_match':false}");
    /* errors */
    expect_issue("example.com", "{'validation_method':'dns-change','challenge_value':'v'}",
                 "missing-field", F("dns_record_type"));
    expect_issue("example.com",
                 "{'validation_method':'dns-change','challenge_value':'v','dns_record_type':'A'}",
                 "invalid-validation-method-record-type-combination", F("dns_record_type"));
    expect_issue("example.com",
                 "{'validation_method':'dns-change','challenge_value':'','dns_record_type':'TXT'}",
                 "empty-challenge-value", F("challenge_value"));
    expect_issue("example.com", "{'validation_method':'dns-change','dns_record_type':'TXT'}",
                 "missing-field", F("challenge_value"));
    expect_issue("example.com",
                 "{'validation_method':'dns-change','challenge_value':'v','dns_record_type':'CAA',"
                 "'require_exact_case':true}",
                 "invalid-value", F("require_exact_case"));
    expect_issue("example.com",
                 "{'validation_method':'dns-change','challenge_value':'v','dns_record_type':'TXT',"
                 "'require_exact_match':'yes'}",
                 "invalid-type", F("require_exact_match"));
    expect_issue("1.2.3.4",
                 "{'validation_method':'dns-change','challenge_value':'v','dns_record_type':'TXT'}",
                 "invalid-target", "domain_or_ip_target");
    static const char *const bad_prefixes[] = {".x", "x.", "a..b", "a b", "a/b", "*"};
    for (size_t i = 0; i < sizeof(bad_prefixes) / sizeof(bad_prefixes[0]); i++) {
        char params[256];
        snprintf(params, sizeof(params),
                 "{'validation_method':'dns-change','challenge_value':'v',"
                 "'dns_record_type':'TXT','dns_name_prefix':'%s'}",
                 bad_prefixes[i]);
        expect_issue("example.com", params, "invalid-value", F("dns_name_prefix"));
    }
    char params[512];
    char label[70];
    memset(label, 'a', 64);
    label[64] = '\0';
    snprintf(params, sizeof(params),
             "{'validation_method':'dns-change','challenge_value':'v','dns_record_type':'TXT',"
             "'dns_name_prefix':'%s'}", label);
    expect_issue("example.com", params, "invalid-value", F("dns_name_prefix"));
}

static void test_contact(void **state)
{
    expect_echo("*.example.com",
                "{'validation_method':'contact-email-txt','challenge_value':'a@example.com'}",
                "{'validation_method':'contact-email-txt','require_exact_case':false,"
                "'challenge_value':'a@example.com','dns_record_type':'TXT',"
                "'dns_name_prefix':'_validation-contactemail'}");
    expect_echo("example.com",
                "{'validation_method':'contact-phone-txt','challenge_value':'+1 555',"
                "'dns_name_prefix':'_validation-contactphone','require_exact_case':false}",
                "{'validation_method':'contact-phone-txt','require_exact_case':false,"
                "'challenge_value':'+1 555','dns_record_type':'TXT',"
                "'dns_name_prefix':'_validation-contactphone'}");
    expect_echo("example.com",
                "{'validation_method':'contact-email-caa','challenge_value':'a@example.com'}",
                "{'validation_method':'contact-email-caa','require_exact_case':false,"
                "'challenge_value':'a@example.com','dns_record_type':'CAA',"
                "'dns_name_prefix':null}");
    expect_echo("example.com",
                "{'validation_method':'contact-phone-caa','challenge_value':'+1',"
                "'dns_name_prefix':'sub'}",
                "{'validation_method':'contact-phone-caa','require_exact_case':false,"
                "'challenge_value':'+1','dns_record_type':'CAA','dns_name_prefix':'sub'}");
    expect_issue("example.com",
                 "{'validation_method':'contact-email-txt','challenge_value':'a',"
                 "'dns_name_prefix':'_other'}",
                 "invalid-value", F("dns_name_prefix"));
    expect_issue("example.com",
                 "{'validation_method':'contact-phone-txt','challenge_value':'a',"
                 "'dns_record_type':'CAA'}",
                 "invalid-value", F("dns_record_type"));
    expect_issue("example.com",
                 "{'validation_method':'contact-email-caa','challenge_value':'a',"
                 "'require_exact_case':true}",
                 "invalid-value", F("require_exact_case"));
    expect_issue("example.com",
                 "{'validation_method':'contact-phone-caa','challenge_value':'a',"
                 "'dns_record_type':'TXT'}",
                 "invalid-value", F("dns_record_type"));
    expect_issue("::1", "{'validation_method':'contact-email-caa','challenge_value':'a'}",
                 "invalid-target", "domain_or_ip_target");
}

static void test_ip_address(void **state)
{
    expect_echo("example.com",
                "{'validation_method':'ip-address','challenge_value':'1.2.3.4',"
                "'dns_record_type':'A'}",
                "{'validation_method':'ip-address','require_exact_case':false,"
                "'challenge_value':'1.2.3.4','dns_record_type':'A','dns_name_prefix':null}");
    expect_echo("example.com",
                "{'validation_method':'ip-address','challenge_value':"
                "'2001:4860:4860:0:00:000:0000:8888','dns_record_type':'AAAA'}",
                "{'validation_method':'ip-address','require_exact_case':false,'challenge_value':"
                "'2001:4860:4860:0:00:000:0000:8888','dns_record_type':'AAAA',"
                "'dns_name_prefix':null}");
    static const char *const bad[][2] = {
        {"1.2.00.3", "A"},
        {"1.2.3", "A"},
        {"1.2.3.4", "AAAA"},
        {"::1", "A"},
        {"2001:4860:4860:0:0:0:0:0:8889", "AAAA"},
        {"2001:4860:4860::00000", "AAAA"},
        {"[::1]", "AAAA"},
        {"example.com", "A"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char params[256];
        snprintf(params, sizeof(params),
                 "{'validation_method':'ip-address','challenge_value':'%s',"
                 "'dns_record_type':'%s'}",
                 bad[i][0], bad[i][1]);
        expect_issue("example.com", params, "invalid-value", F("challenge_value"));
    }
    expect_issue("example.com",
                 "{'validation_method':'ip-address','challenge_value':'1.2.3.4',"
                 "'dns_record_type':'TXT'}",
                 "invalid-validation-method-record-type-combination", F("dns_record_type"));
    expect_issue("*.example.com",
                 "{'validation_method':'ip-address','challenge_value':'1.2.3.4',"
                 "'dns_record_type':'A'}",
                 "invalid-wildcard", "domain_or_ip_target");
}

static void test_reverse(void **state)
{
    /* BR 3.2.2.5.3 ends on 2027-03-15 (SC-091): the policy clock decides, not today's date */
    clock_set_override(INT64_C(1805068800000) - 60000); /* 2027-03-14T23:59Z */
    expect_echo("192.0.2.10",
                "{'validation_method':'reverse-address-lookup','challenge_value':'h.example.'}",
                "{'validation_method':'reverse-address-lookup','require_exact_case':false,"
                "'challenge_value':'h.example.','dns_record_type':'PTR',"
                "'dns_name_prefix':null}");
    clock_set_override(INT64_C(1805068800000)); /* 2027-03-15T00:00:00Z */
    expect_issue("192.0.2.10",
                 "{'validation_method':'reverse-address-lookup','challenge_value':'h.example.'}",
                 "method-sunset", "dcv_check_parameters.validation_method");
    clock_set_override(INT64_C(1793491200000)); /* 2026-11-01, as the other cases assume */
    expect_echo("192.0.2.10",
                "{'validation_method':'reverse-address-lookup','challenge_value':'host.example.'}",
                "{'validation_method':'reverse-address-lookup','require_exact_case':false,"
                "'challenge_value':'host.example.','dns_record_type':'PTR',"
                "'dns_name_prefix':null}");
    expect_echo("[2001:db8::1]",
                "{'validation_method':'reverse-address-lookup','challenge_value':'Host.Example'}",
                "{'validation_method':'reverse-address-lookup','require_exact_case':false,"
                "'challenge_value':'Host.Example','dns_record_type':'PTR',"
                "'dns_name_prefix':null}");
    expect_echo("10.2.0.192.in-addr.arpa",
                "{'validation_method':'reverse-address-lookup','challenge_value':'h.example.'}",
                "{'validation_method':'reverse-address-lookup','require_exact_case':false,"
                "'challenge_value':'h.example.','dns_record_type':'PTR',"
                "'dns_name_prefix':null}");
    expect_issue("example.com",
                 "{'validation_method':'reverse-address-lookup','challenge_value':'h.example.'}",
                 "invalid-target", "domain_or_ip_target");
    expect_issue("*.2.0.192.in-addr.arpa",
                 "{'validation_method':'reverse-address-lookup','challenge_value':'h.example.'}",
                 "invalid-wildcard", "domain_or_ip_target");
    expect_issue("192.0.2.10",
                 "{'validation_method':'reverse-address-lookup','challenge_value':'not a name'}",
                 "invalid-value", F("challenge_value"));
    expect_issue("192.0.2.10",
                 "{'validation_method':'reverse-address-lookup','challenge_value':'h\\u00e9.com'}",
                 "invalid-value", F("challenge_value"));
    expect_issue("192.0.2.10",
                 "{'validation_method':'reverse-address-lookup','challenge_value':'h.example',"
                 "'dns_record_type':'A'}",
                 "invalid-value", F("dns_record_type"));
}

static void test_dns_persistent(void **state)
{
    expect_echo("*.example.com",
                "{'validation_method':'dns-persistent','issuer_domain_names':['CA.Example.',"
                "'other.example'],'expected_account_uri':'https://ca.example/acct/1'}",
                "{'validation_method':'dns-persistent','require_exact_case':false,"
                "'issuer_domain_names':['ca.example','other.example'],"
                "'expected_account_uri':'https://ca.example/acct/1','dns_record_type':'TXT',"
                "'dns_name_prefix':'_validation-persist'}");
    expect_issue("example.com",
                 "{'validation_method':'dns-persistent','expected_account_uri':'https://a/b'}",
                 "missing-field", F("issuer_domain_names"));
    expect_issue("example.com",
                 "{'validation_method':'dns-persistent','issuer_domain_names':[],"
                 "'expected_account_uri':'https://a/b'}",
                 "invalid-value", F("issuer_domain_names"));
    expect_issue("example.com",
                 "{'validation_method':'dns-persistent','issuer_domain_names':'ca.example',"
                 "'expected_account_uri':'https://a/b'}",
                 "invalid-type", F("issuer_domain_names"));
    expect_issue("example.com",
                 "{'validation_method':'dns-persistent','issuer_domain_names':['*.ca.example'],"
                 "'expected_account_uri':'https://a/b'}",
                 "invalid-value", F("issuer_domain_names[0]"));
    expect_issue("example.com",
                 "{'validation_method':'dns-persistent','issuer_domain_names':['ca.example', 5],"
                 "'expected_account_uri':'https://a/b'}",
                 "invalid-type", F("issuer_domain_names[1]"));
    static const char *const bad_uris[] = {"", "not a uri", "https://a/b;c", "://x", "https://",
                                           "1ttp://x"};
    for (size_t i = 0; i < sizeof(bad_uris) / sizeof(bad_uris[0]); i++) {
        char params[256];
        snprintf(params, sizeof(params),
                 "{'validation_method':'dns-persistent','issuer_domain_names':['ca.example'],"
                 "'expected_account_uri':'%s'}",
                 bad_uris[i]);
        expect_issue("example.com", params, "invalid-value", F("expected_account_uri"));
    }
    expect_issue("example.com",
                 "{'validation_method':'dns-persistent','issuer_domain_names':['ca.example'],"
                 "'expected_account_uri':'https://a/b','dns_name_prefix':'_x'}",
                 "invalid-value", F("dns_name_prefix"));
    expect_issue("example.com",
                 "{'validation_method':'dns-persistent','issuer_domain_names':['ca.example'],"
                 "'expected_account_uri':'https://a/b','require_exact_case':true}",
                 "invalid-value", F("require_exact_case"));
    expect_issue("192.0.2.1",
                 "{'validation_method':'dns-persistent','issuer_domain_names':['ca.example'],"
                 "'expected_account_uri':'https://a/b'}",
                 "invalid-target", "domain_or_ip_target");
}

static void test_dns_account01(void **state)
{
    expect_echo("*.example.com",
                "{'validation_method':'dns-account-01','account_uri':'https://ca.example/acct/1',"
                "'key_authorization_hash':'abc-DEF_1'}",
                "{'validation_method':'dns-account-01','require_exact_case':true,"
                "'account_uri':'https://ca.example/acct/1','key_authorization_hash':'abc-DEF_1',"
                "'dns_record_type':'TXT'}");
    expect_issue("example.com",
                 "{'validation_method':'dns-account-01','key_authorization_hash':'x'}",
                 "missing-field", F("account_uri"));
    expect_issue("example.com",
                 "{'validation_method':'dns-account-01','account_uri':'https://a/b'}",
                 "missing-field", F("key_authorization_hash"));
    expect_issue("example.com",
                 "{'validation_method':'dns-account-01','account_uri':'https://a/b',"
                 "'key_authorization_hash':'x','require_exact_case':false}",
                 "invalid-value", F("require_exact_case"));
    expect_issue("example.com",
                 "{'validation_method':'dns-account-01','account_uri':'https://a/b',"
                 "'key_authorization_hash':'x','dns_record_type':'CNAME'}",
                 "invalid-value", F("dns_record_type"));
    expect_issue("2001:db8::1",
                 "{'validation_method':'dns-account-01','account_uri':'https://a/b',"
                 "'key_authorization_hash':'x'}",
                 "invalid-target", "domain_or_ip_target");
}

static void test_acme_dns01_unchanged(void **state)
{
    expect_echo("*.example.com",
                "{'validation_method':'acme-dns-01','key_authorization_hash':'h'}",
                "{'validation_method':'acme-dns-01','require_exact_case':true,"
                "'key_authorization_hash':'h','dns_record_type':'TXT',"
                "'dns_name_prefix':'_acme-challenge'}");
    expect_issue("example.com",
                 "{'validation_method':'acme-dns-01','key_authorization_hash':'h',"
                 "'dns_name_prefix':'_other'}",
                 "invalid-value", F("dns_name_prefix"));
}

int main(void)
{
    clock_set_override(INT64_C(1793491200000)); /* 2026-11-01: no test depends on today */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dns_change),       cmocka_unit_test(test_contact),
        cmocka_unit_test(test_ip_address),       cmocka_unit_test(test_reverse),
        cmocka_unit_test(test_dns_persistent),   cmocka_unit_test(test_dns_account01),
        cmocka_unit_test(test_acme_dns01_unchanged),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
