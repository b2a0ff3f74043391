/*
 * Unit tests for worker/caa_policy.c: the decision table on one RRset. Critical flags (128,
 * 130, 1), tag case, issuewild precedence for wildcards, issuemail for S/MIME, RFC 8657
 * accounturi / validationmethods (incl. duplicates and malformed lists), malformed values,
 * issue ";", additive records and a 1000-record set.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caa_policy.h"

static const char *const issuers[] = {"ca.example", "second-ca.example"};

static struct caa_policy_record rec(uint8_t flags, const char *tag, const char *value)
{
    struct caa_policy_record r;
    r.flags = flags;
    r.tag = tag;
    r.taglen = strlen(tag);
    r.value = value;
    r.valuelen = strlen(value);
    return r;
}

static struct caa_policy_request tls(bool wildcard)
{
    struct caa_policy_request q;
    memset(&q, 0, sizeof(q));
    q.cert_type = CAA_POLICY_TLS_SERVER;
    q.wildcard = wildcard;
    q.issuers = issuers;
    q.nissuers = 2;
    return q;
}

static struct caa_policy_decision decide(const struct caa_policy_record *r, size_t n,
                                         const struct caa_policy_request *q)
{
    struct caa_policy_decision d;
    caa_policy_decide(r, n, q, &d);
    return d;
}

#define DECIDE(q, ...)                                                                             \
    ({                                                                                             \
        const struct caa_policy_record rs_[] = {__VA_ARGS__};                                      \
        decide(rs_, sizeof(rs_) / sizeof(rs_[0]), (q));                                            \
    })

static void test_no_relevant_records(void **state)
{
    struct caa_policy_request q = tls(false);
    struct caa_policy_decision d = decide(NULL, 0, &q);
    assert_true(d.permitted);
    assert_int_equal(d.reason, CAA_POLICY_NO_RELEVANT);

    d = DECIDE(&q, rec(0, "iodef", "mailto:sec@example.test"), rec(0, "contactemail", "a@b"));
    assert_true(d.permitted);
    assert_int_equal(d.reason, CAA_POLICY_NO_RELEVANT);

    /* unknown tag without critical bits, and flags 2..126 (reserved) on an unknown tag */
    d = DECIDE(&q, rec(0, "tbs", "x"), rec(2, "other", "y"), rec(64, "more", "z"));
    assert_true(d.permitted);
    assert_string_equal(caa_policy_reason_name(d.reason), "no relevant records");
}

static void test_issue_basic_and_case(void **state)
{
    struct caa_policy_request q = tls(false);
    struct caa_policy_decision d;

    d = DECIDE(&q, rec(0, "issue", "ca.example"));
    assert_true(d.permitted);
    assert_int_equal(d.reason, CAA_POLICY_AUTHORIZED);

    d = DECIDE(&q, rec(0, "issue", "other.example"));
    assert_false(d.permitted);
    assert_int_equal(d.reason, CAA_POLICY_UNAUTHORIZED);
    assert_string_equal(d.relevant_tag, "issue");
    assert_int_equal(d.nrelevant, 1);

    assert_true(DECIDE(&q, rec(0, "ISSUE", "ca.example")).permitted);
    assert_true(DECIDE(&q, rec(0, "IsSuE", "ca.example")).permitted);
    assert_false(DECIDE(&q, rec(0, "ISSUE", "other.example")).permitted);
    /* issuer compared case-insensitively */
    assert_true(DECIDE(&q, rec(0, "issue", "CA.Example")).permitted);
    /* prefix / suffix of an accepted issuer is not a match */
    assert_false(DECIDE(&q, rec(0, "issue", "ca.exampl")).permitted);
    assert_false(DECIDE(&q, rec(0, "issue", "sub.ca.example")).permitted);
    /* the second configured issuer */
    assert_true(DECIDE(&q, rec(0, "issue", "second-ca.example")).permitted);

    /* no accepted issuers configured: any issue record denies */
    q.nissuers = 0;
    assert_false(DECIDE(&q, rec(0, "issue", "ca.example")).permitted);
}

static void test_critical_flags(void **state)
{
    struct caa_policy_request q = tls(false);
    struct caa_policy_decision d;

    d = DECIDE(&q, rec(0, "issue", "ca.example"), rec(128, "tbs", "unknown"));
    assert_false(d.permitted);
    assert_int_equal(d.reason, CAA_POLICY_CRITICAL_UNKNOWN);

    d = DECIDE(&q, rec(130, "caatestsuitedummyproperty", "test"), rec(0, "issue", "ca.example"));
    assert_false(d.permitted);
    assert_int_equal(d.reason, CAA_POLICY_CRITICAL_UNKNOWN);

    d = DECIDE(&q, rec(1, "tbs", "x"), rec(0, "issue", "ca.example"));
    assert_false(d.permitted);
    assert_int_equal(d.reason, CAA_POLICY_CRITICAL_UNKNOWN);

    /* critical flag on known tags is fine, in any case */
    d = DECIDE(&q, rec(128, "issue", "ca.example"), rec(128, "IODEF", "mailto:x@y"),
               rec(129, "issuemail", "ca.example"), rec(128, "contactphone", "+1"));
    assert_true(d.permitted);
    assert_int_equal(d.reason, CAA_POLICY_AUTHORIZED);

    /* critical unknown also denies S/MIME and wildcard requests */
    q.wildcard = true;
    assert_false(DECIDE(&q, rec(128, "x", "y"), rec(0, "issuewild", "ca.example")).permitted);
    q.cert_type = CAA_POLICY_SMIME;
    assert_false(DECIDE(&q, rec(128, "x", "y")).permitted);
}

static void test_wildcard_precedence(void **state)
{
    struct caa_policy_request wild = tls(true);
    struct caa_policy_request plain = tls(false);
    struct caa_policy_decision d;

    /* issue permits, issuewild forbids: wildcard denied, plain permitted */
    d = DECIDE(&wild, rec(0, "issue", "ca.example"), rec(0, "issuewild", ";"));
    assert_false(d.permitted);
    assert_string_equal(d.relevant_tag, "issuewild");
    assert_true(DECIDE(&plain, rec(0, "issue", "ca.example"), rec(0, "issuewild", ";")).permitted);

    /* issue forbids, issuewild permits: wildcard permitted, plain denied */
    assert_true(DECIDE(&wild, rec(0, "issue", ";"), rec(0, "issuewild", "ca.example")).permitted);
    assert_false(DECIDE(&plain, rec(0, "issue", ";"), rec(0, "issuewild", "ca.example")).permitted);

    /* only issuewild: plain names are unrestricted */
    d = DECIDE(&plain, rec(0, "issuewild", "other.example"));
    assert_true(d.permitted);
    assert_int_equal(d.reason, CAA_POLICY_NO_RELEVANT);

    /* no issuewild: wildcard falls back to issue */
    assert_true(DECIDE(&wild, rec(0, "issue", "ca.example")).permitted);
    assert_false(DECIDE(&wild, rec(0, "issue", "other.example")).permitted);

    /* issuewild tag case-insensitive, and an issuewild for another CA blocks */
    assert_false(
        DECIDE(&wild, rec(0, "issue", "ca.example"), rec(0, "IssueWild", "other.example"))
            .permitted);
}

static void test_smime(void **state)
{
    struct caa_policy_request q = tls(false);
    struct caa_policy_decision d;

    q.cert_type = CAA_POLICY_SMIME;
    assert_true(DECIDE(&q, rec(0, "issuemail", "ca.example")).permitted);
    d = DECIDE(&q, rec(0, "issuemail", "other.example"), rec(0, "issue", "ca.example"));
    assert_false(d.permitted);
    assert_string_equal(d.relevant_tag, "issuemail");
    /* issue-only RRset does not restrict S/MIME */
    d = DECIDE(&q, rec(0, "issue", "other.example"));
    assert_true(d.permitted);
    assert_int_equal(d.reason, CAA_POLICY_NO_RELEVANT);
    assert_false(DECIDE(&q, rec(0, "ISSUEMAIL", ";")).permitted);

    /* issuemail does not restrict TLS */
    q.cert_type = CAA_POLICY_TLS_SERVER;
    assert_true(DECIDE(&q, rec(0, "issuemail", "other.example")).permitted);
}

static void test_accounturi(void **state)
{
    struct caa_policy_request q = tls(false);
    const char *v = "ca.example; accounturi=https://acme.example/acct/1234";
    struct caa_policy_decision d;

    /* absent from the request: does not restrict */
    assert_true(DECIDE(&q, rec(0, "issue", v)).permitted);
    q.account_uri = "https://acme.example/acct/1234";
    assert_true(DECIDE(&q, rec(0, "issue", v)).permitted);
    q.account_uri = "https://acme.example/acct/9999";
    d = DECIDE(&q, rec(0, "issue", v));
    assert_false(d.permitted);
    assert_int_equal(d.nmismatch, 1);
    /* parameter tag case-insensitive */
    assert_false(
        DECIDE(&q, rec(0, "issue", "ca.example; AccountURI=https://acme.example/acct/1"))
            .permitted);
    /* duplicates are unsatisfiable even when both match, and even with no account given */
    q.account_uri = "https://acme.example/acct/1234";
    const char *dup = "ca.example; accounturi=https://acme.example/acct/1234; "
                      "accounturi=https://acme.example/acct/1234";
    assert_false(DECIDE(&q, rec(0, "issue", dup)).permitted);
    q.account_uri = NULL;
    assert_false(DECIDE(&q, rec(0, "issue", dup)).permitted);
    /* another CA's domain with our account URI is still unauthorized */
    q.account_uri = "https://acme.example/acct/1234";
    assert_false(
        DECIDE(&q, rec(0, "issue", "other.example; accounturi=https://acme.example/acct/1234"))
            .permitted);
    /* additive: a restricted record for another account plus an unrestricted one */
    assert_true(DECIDE(&q, rec(0, "issue", "ca.example; accounturi=https://x/acct/2"),
                       rec(0, "issue", "ca.example"))
                    .permitted);
}

static void test_validationmethods(void **state)
{
    struct caa_policy_request q = tls(false);
    const char *v = "ca.example; validationmethods=dns-01,http-01";

    assert_true(DECIDE(&q, rec(0, "issue", v)).permitted); /* absent: any method */
    q.validation_method = "dns-01";
    assert_true(DECIDE(&q, rec(0, "issue", v)).permitted);
    q.validation_method = "http-01";
    assert_true(DECIDE(&q, rec(0, "issue", v)).permitted);
    q.validation_method = "tls-alpn-01";
    assert_false(DECIDE(&q, rec(0, "issue", v)).permitted);
    q.validation_method = "dns";
    assert_false(DECIDE(&q, rec(0, "issue", v)).permitted);

    /* malformed lists are unsatisfiable even when the request names no method */
    q.validation_method = NULL;
    assert_false(DECIDE(&q, rec(0, "issue", "ca.example; validationmethods=dns-01,,http-01"))
                     .permitted);
    assert_false(
        DECIDE(&q, rec(0, "issue", "ca.example; validationmethods=dns-01,")).permitted);
    assert_false(
        DECIDE(&q, rec(0, "issue", "ca.example; validationmethods=dns_01")).permitted);
    assert_false(
        DECIDE(&q, rec(0, "issue", "ca.example; validationmethods=,dns-01")).permitted);
    /* duplicate parameter: unsatisfiable */
    assert_false(DECIDE(&q, rec(0, "issue",
                                "ca.example; validationmethods=dns-01; validationmethods=dns-01"))
                     .permitted);
    /* empty list: no method matches a named method; nothing restricts when none is named */
    assert_true(DECIDE(&q, rec(0, "issue", "ca.example; validationmethods=")).permitted);
    q.validation_method = "dns-01";
    assert_false(DECIDE(&q, rec(0, "issue", "ca.example; validationmethods=")).permitted);
    /* combined with accounturi: both must match */
    q.account_uri = "https://a/1";
    assert_true(
        DECIDE(&q, rec(0, "issue", "ca.example; accounturi=https://a/1; validationmethods=dns-01"))
            .permitted);
    assert_false(
        DECIDE(&q, rec(0, "issue", "ca.example; accounturi=https://a/2; validationmethods=dns-01"))
            .permitted);
    /* unknown parameters are ignored */
    assert_true(DECIDE(&q, rec(0, "issue", "ca.example; policy=ev")).permitted);
}

static void test_malformed_and_semicolon(void **state)
{
    struct caa_policy_request q = tls(false);
    struct caa_policy_decision d;

    d = DECIDE(&q, rec(0, "issue", ";"));
    assert_false(d.permitted);
    assert_int_equal(d.reason, CAA_POLICY_UNAUTHORIZED);
    assert_false(DECIDE(&q, rec(0, "issue", "")).permitted);

    d = DECIDE(&q, rec(0, "issue", "ca.example."));
    assert_false(d.permitted);
    assert_int_equal(d.nmalformed, 1);
    assert_false(DECIDE(&q, rec(0, "issue", "<script>ca.example</script>")).permitted);
    assert_false(DECIDE(&q, rec(0, "issue", "ca.example; a=b;")).permitted);

    /* additive: ";" plus a permitting record permits; malformed plus permitting permits */
    assert_true(DECIDE(&q, rec(0, "issue", ";"), rec(0, "issue", "ca.example")).permitted);
    d = DECIDE(&q, rec(0, "issue", "ca.example."), rec(0, "issue", " ca.example "));
    assert_true(d.permitted);
    assert_int_equal(d.nmalformed, 1);
    assert_int_equal(d.nrelevant, 2);

    /* a value with an embedded NUL permits nothing */
    struct caa_policy_record r = rec(0, "issue", "ca.example");
    r.valuelen = 11; /* includes the terminating NUL byte */
    assert_false(decide(&r, 1, &q).permitted);
}

static void test_large_set(void **state)
{
    struct caa_policy_request q = tls(false);
    struct caa_policy_record *rs = calloc(1000, sizeof(*rs));
    char (*vals)[32] = calloc(1000, sizeof(*vals));
    struct caa_policy_decision d;

    assert_non_null(rs);
    assert_non_null(vals);
    for (int i = 0; i < 1000; i++) {
        snprintf(vals[i], sizeof(vals[i]), "ca%d.example", i);
        rs[i] = rec(0, "issue", vals[i]);
    }
    d = decide(rs, 1000, &q);
    assert_false(d.permitted);
    assert_int_equal(d.nrelevant, 1000);
    rs[999] = rec(0, "issue", "ca.example");
    d = decide(rs, 1000, &q);
    assert_true(d.permitted);
    assert_int_equal(d.reason, CAA_POLICY_AUTHORIZED);
    rs[500] = rec(128, "unknowntag", "x");
    assert_false(decide(rs, 1000, &q).permitted);
    free(rs);
    free(vals);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_relevant_records),
        cmocka_unit_test(test_issue_basic_and_case),
        cmocka_unit_test(test_critical_flags),
        cmocka_unit_test(test_wildcard_precedence),
        cmocka_unit_test(test_smime),
        cmocka_unit_test(test_accounturi),
        cmocka_unit_test(test_validationmethods),
        cmocka_unit_test(test_malformed_and_semicolon),
        cmocka_unit_test(test_large_set),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
