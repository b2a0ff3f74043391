/*
 * Unit tests for worker/dns_names.c: RFC 4648 base32 test vectors (lower case, unpadded), the
 * dns-account-01 label (the draft's example account), reverse names for IPv4 / IPv6 and the
 * arpa-name recognizer.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "dns_names.h"

static void b32(const char *in, const char *want)
{
    char out[64];
    dns_names_base32((const unsigned char *)in, strlen(in), out);
    assert_string_equal(out, want);
}

static void test_base32_vectors(void **state)
{
    b32("", "");
    b32("f", "my");
    b32("fo", "mzxq");
    b32("foo", "mzxw6");
    b32("foob", "mzxw6yq");
    b32("fooba", "mzxw6ytb");
    b32("foobar", "mzxw6ytboi");
}

static void test_account_label(void **state)
{
    char out[DNS_NAMES_ACCOUNT_LABEL_LEN + 1];

    assert_int_equal(
        dns_names_account_label("https://example.com/acme/acct/ExampleAccount", out, sizeof(out)),
        0);
    assert_string_equal(out, "_ujmmovf2vn55tgye");
    assert_int_equal(dns_names_account_label("https://ca.mpic.test/acct/1", out, sizeof(out)), 0);
    assert_string_equal(out, "_44gl562u7c3ci7rr");
    assert_int_equal(strlen(out), DNS_NAMES_ACCOUNT_LABEL_LEN);
    assert_int_equal(dns_names_account_label(NULL, out, sizeof(out)), -1);
    assert_int_equal(dns_names_account_label("x", out, 5), -1);
}

static void test_reverse(void **state)
{
    char out[DNS_NAMES_REVERSE_MAX];

    assert_int_equal(dns_names_reverse("192.0.2.10", out, sizeof(out)), 0);
    assert_string_equal(out, "10.2.0.192.in-addr.arpa");
    assert_int_equal(dns_names_reverse("2001:db8::567:89ab", out, sizeof(out)), 0);
    assert_string_equal(out, "b.a.9.8.7.6.5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2."
                             "ip6.arpa");
    assert_int_equal(dns_names_reverse("::", out, sizeof(out)), 0);
    assert_int_equal(strlen(out), DNS_NAMES_REVERSE_MAX - 1);
    assert_int_equal(dns_names_reverse("example.com", out, sizeof(out)), -1);
    assert_int_equal(dns_names_reverse("1.2.3.04", out, sizeof(out)), -1);
    assert_int_equal(dns_names_reverse("1.2.3.4", out, 10), -1);
}

static void test_is_arpa(void **state)
{
    assert_true(dns_names_is_arpa("10.2.0.192.in-addr.arpa"));
    assert_true(dns_names_is_arpa("10.2.0.192.IN-ADDR.ARPA."));
    assert_true(dns_names_is_arpa("in-addr.arpa"));
    assert_true(dns_names_is_arpa("1.0.ip6.arpa"));
    assert_false(dns_names_is_arpa("xin-addr.arpa"));
    assert_false(dns_names_is_arpa("arpa"));
    assert_false(dns_names_is_arpa("example.com"));
    assert_false(dns_names_is_arpa(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_base32_vectors),
        cmocka_unit_test(test_account_label),
        cmocka_unit_test(test_reverse),
        cmocka_unit_test(test_is_arpa),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
