/*
 * Unit tests for worker/dns_match.c: substring vs whole-value matching, case rules, NUL and
 * non-ASCII bytes, IP addresses compared as parsed addresses (every IPv6 spelling, malformed
 * notations rejected, family mismatch) and CAA tag comparison.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <string.h>

#include "dns_match.h"
#include "dns_msg.h"

static bool text(const char *val, const char *exp, bool exact, bool exact_case)
{
    return dns_match_text((const unsigned char *)val, strlen(val), exp, strlen(exp), exact,
                          exact_case);
}

static void test_substring_and_exact(void **state)
{
    assert_true(text("abc-token-xyz", "token", false, true));
    assert_false(text("abc-token-xyz", "token", true, true));
    assert_true(text("token", "token", true, true));
    assert_true(text("token", "token", false, true));
    assert_false(text("toke", "token", false, true));
    assert_false(text("", "token", false, true));
    assert_false(text(" token", "token", true, true)); /* no trimming */
    assert_false(text("token ", "token", true, true));
    assert_true(text("xxtokentoken", "tokent", false, true));
    /* an empty expected value never matches */
    assert_false(dns_match_text((const unsigned char *)"abc", 3, "", 0, false, false));
    assert_false(dns_match_text(NULL, 0, "a", 1, false, false));
}

static void test_case_rules(void **state)
{
    assert_false(text("ABC-Token", "token", false, true));
    assert_true(text("ABC-Token", "token", false, false));
    assert_false(text("TOKEN", "token", true, true));
    assert_true(text("TOKEN", "token", true, false));
    assert_true(text("Admin@Example.COM", "admin@example.com", true, false));
    /* non-ASCII bytes are not folded */
    assert_false(text("CAF\xc3\x89", "caf\xc3\xa9", true, false));
    assert_true(text("CAF\xc3\xa9", "caf\xc3\xa9", true, false));
}

static void test_nul_bytes(void **state)
{
    static const unsigned char v[] = {'\0', 'v', 'a', 'l'};
    assert_false(dns_match_text(v, sizeof(v), "val", 3, true, true));
    assert_true(dns_match_text(v, sizeof(v), "val", 3, false, true));
}

static void test_ip(void **state)
{
    unsigned char a[16];
    unsigned char v4[4] = {1, 2, 3, 4};
    unsigned char v6[16];

    assert_true(dns_match_parse_ip("1.2.3.4", AF_INET, a));
    assert_true(dns_match_ip(DNS_MSG_TYPE_A, v4, 4, a));
    assert_false(dns_match_ip(DNS_MSG_TYPE_AAAA, v4, 4, a));
    assert_false(dns_match_ip(DNS_MSG_TYPE_A, v4, 3, a));
    assert_true(dns_match_parse_ip("1.2.3.5", AF_INET, a));
    assert_false(dns_match_ip(DNS_MSG_TYPE_A, v4, 4, a));

    assert_int_equal(inet_pton(AF_INET6, "2001:4860:4860::8888", v6), 1);
    assert_true(dns_match_parse_ip("2001:4860:4860:0:00:000:0000:8888", AF_INET6, a));
    assert_true(dns_match_ip(DNS_MSG_TYPE_AAAA, v6, 16, a));
    assert_true(dns_match_parse_ip("2001:4860:4860::8888", AF_INET6, a));
    assert_true(dns_match_ip(DNS_MSG_TYPE_AAAA, v6, 16, a));
    assert_true(dns_match_parse_ip("2001:4860:4860::8889", AF_INET6, a));
    assert_false(dns_match_ip(DNS_MSG_TYPE_AAAA, v6, 16, a));

    /* malformed notations and family mismatches */
    assert_false(dns_match_parse_ip("1.2.00.3", AF_INET, a));
    assert_false(dns_match_parse_ip("1.2.3", AF_INET, a));
    assert_false(dns_match_parse_ip("1.2.3.4", AF_INET6, a));
    assert_false(dns_match_parse_ip("::1", AF_INET, a));
    assert_false(dns_match_parse_ip("2001:4860:4860:0:0:0:0:0:8889", AF_INET6, a));
    assert_false(dns_match_parse_ip("2001:4860:4860::00000", AF_INET6, a));
    assert_false(dns_match_parse_ip("[::1]", AF_INET6, a));
    assert_false(dns_match_parse_ip(NULL, AF_INET, a));
    assert_true(dns_match_parse_ip("::ffff:1.2.3.4", AF_INET6, a));
}

static void test_tag(void **state)
{
    assert_true(dns_match_tag((const unsigned char *)"contactemail", 12, "contactemail"));
    assert_true(dns_match_tag((const unsigned char *)"ContactEmail", 12, "contactemail"));
    assert_false(dns_match_tag((const unsigned char *)"contactemai", 11, "contactemail"));
    assert_false(dns_match_tag((const unsigned char *)"contactphone", 12, "contactemail"));
    assert_false(dns_match_tag(NULL, 0, "contactemail"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_substring_and_exact), cmocka_unit_test(test_case_rules),
        cmocka_unit_test(test_nul_bytes),           cmocka_unit_test(test_ip),
        cmocka_unit_test(test_tag),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
