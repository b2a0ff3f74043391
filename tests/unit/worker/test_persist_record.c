/*
 * Unit tests for worker/persist_record.c: valid dns-persistent records (issuer case, unknown
 * parameters, whitespace, persistUntil in the future), each rejection reason (other issuer,
 * missing / different / duplicate accounturi, expired, wildcard without policy=wildcard) and the
 * malformed shapes of the reference (";;;", trailing ";", empty tag, parameter without "=",
 * NUL bytes, bad persistUntil).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "persist_record.h"

static const char *const issuers[] = {"ca.example", "other-ca.example"};
#define URI "https://ca.example/acct/123"
#define NOW 1800000000

static enum persist_record_verdict check_w(const char *txt, bool wildcard)
{
    struct persist_record_expect e = {issuers, 2, URI, wildcard, NOW};
    return persist_record_check((const unsigned char *)txt, strlen(txt), &e);
}

static enum persist_record_verdict check(const char *txt)
{
    return check_w(txt, false);
}

static void test_valid(void **state)
{
    assert_int_equal(check("ca.example; accounturi=" URI), PERSIST_RECORD_MATCH);
    assert_int_equal(check("CA.Example;accounturi=" URI), PERSIST_RECORD_MATCH);
    assert_int_equal(check("other-ca.example; accounturi=" URI), PERSIST_RECORD_MATCH);
    assert_int_equal(check("  ca.example ; AccountURI = " URI " ; foo=bar  "),
                     PERSIST_RECORD_MATCH);
    assert_int_equal(check("ca.example; accounturi=" URI "; persistUntil=1800000000"),
                     PERSIST_RECORD_MATCH);
    assert_int_equal(check("ca.example; accounturi=" URI "; persistuntil=4102444800"),
                     PERSIST_RECORD_MATCH);
    assert_int_equal(check("ca.example; unknown-param=x; accounturi=" URI "; policy=other"),
                     PERSIST_RECORD_MATCH);
    assert_int_equal(check("ca.example; accounturi=" URI "; empty="), PERSIST_RECORD_MATCH);
}

static void test_rejections(void **state)
{
    assert_int_equal(check("evil.example; accounturi=" URI), PERSIST_RECORD_OTHER_ISSUER);
    assert_int_equal(check("sub.ca.example; accounturi=" URI), PERSIST_RECORD_OTHER_ISSUER);
    assert_int_equal(check("; accounturi=" URI), PERSIST_RECORD_OTHER_ISSUER);
    assert_int_equal(check("ca.example"), PERSIST_RECORD_NO_ACCOUNT);
    assert_int_equal(check("ca.example; policy=wildcard"), PERSIST_RECORD_NO_ACCOUNT);
    assert_int_equal(check("ca.example; accounturi=https://ca.example/acct/1234"),
                     PERSIST_RECORD_ACCOUNT_MISMATCH);
    assert_int_equal(check("ca.example; accounturi=HTTPS://CA.EXAMPLE/ACCT/123"),
                     PERSIST_RECORD_ACCOUNT_MISMATCH);
    assert_int_equal(check("ca.example; accounturi="), PERSIST_RECORD_ACCOUNT_MISMATCH);
    assert_int_equal(check("ca.example; accounturi=" URI "; persistUntil=1799999999"),
                     PERSIST_RECORD_EXPIRED);
    assert_int_equal(check("ca.example; accounturi=" URI "; persistUntil=0"),
                     PERSIST_RECORD_EXPIRED);
}

static void test_wildcard_policy(void **state)
{
    assert_int_equal(check_w("ca.example; accounturi=" URI, true),
                     PERSIST_RECORD_NO_WILDCARD_POLICY);
    assert_int_equal(check_w("ca.example; accounturi=" URI "; policy=other", true),
                     PERSIST_RECORD_NO_WILDCARD_POLICY);
    assert_int_equal(check_w("ca.example; accounturi=" URI "; policy=wildcard", true),
                     PERSIST_RECORD_MATCH);
    assert_int_equal(check_w("ca.example; accounturi=" URI "; Policy=WildCard", true),
                     PERSIST_RECORD_MATCH);
    /* a non-wildcard name does not need (but accepts) the policy */
    assert_int_equal(check_w("ca.example; accounturi=" URI "; policy=wildcard", false),
                     PERSIST_RECORD_MATCH);
}

static void test_malformed(void **state)
{
    static const char *const bad[] = {
        ";;;",
        "ca.example;",
        "ca.example; ",
        "ca.example; accounturi=" URI ";",
        "ca.example; =value",
        "ca.example; accounturi=" URI "; badparam",
        "ca.example; accounturi=" URI ";; foo=bar",
        "ca.example; accounturi=" URI "; accounturi=" URI,
        "ca.example; accounturi=" URI "; persistUntil=1; persistUntil=2",
        "ca.example; accounturi=" URI "; policy=wildcard; POLICY=wildcard",
        "ca.example; accounturi=" URI "; persistUntil=soon",
        "ca.example; accounturi=" URI "; persistUntil=-5",
        "ca.example; accounturi=" URI "; persistUntil=",
        "ca.example; accounturi=" URI "; persistUntil=99999999999999999999999",
        "ca.example accounturi=" URI,
        "ca.example.; accounturi=" URI,
        "ca.example; accounturi=" URI " x",
        "ca.example; acc_ounturi=" URI,
        "ca.example; accounturi=caf\xc3\xa9",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (check(bad[i]) != PERSIST_RECORD_MALFORMED) fail_msg("not malformed: %s", bad[i]);
    }
    /* NUL bytes inside the value */
    static const unsigned char nul[] = "ca.example; accounturi=" URI "\0";
    struct persist_record_expect e = {issuers, 2, URI, false, NOW};
    assert_int_equal(persist_record_check(nul, sizeof(nul) - 1, &e), PERSIST_RECORD_MALFORMED);
    assert_int_equal(persist_record_check(NULL, 0, &e), PERSIST_RECORD_MALFORMED);
}

static void test_names(void **state)
{
    assert_string_equal(persist_record_verdict_name(PERSIST_RECORD_MATCH), "match");
    assert_string_equal(persist_record_verdict_name(PERSIST_RECORD_MALFORMED), "malformed");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),           cmocka_unit_test(test_rejections),
        cmocka_unit_test(test_wildcard_policy), cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
